//! `latest.svg`: one horizontal bar per ratio that has a target, drawn with plotters as
//! measured ÷ target on a log scale (turned around for "at least" targets), so a bar that
//! stops left of the line at 1 met its target and one that crosses it missed.

use super::ratios::{Ratio, Target};
use anyhow::Context;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use std::path::Path;

/// A ratio as drawn: its share of the target, below 1 when the target is met.
struct Bar {
    label: String,
    share: f64,
    met: bool,
}

fn bars(ratios: &[Ratio]) -> Vec<Bar> {
    ratios
        .iter()
        .filter_map(|ratio| {
            let value = ratio.value?;
            let limit = ratio.target.limit()?;
            let share = match ratio.target {
                Target::AtLeast(_) => limit / value,
                _ => value / limit,
            };
            (share.is_finite() && share > 0.0).then(|| Bar {
                label: format!(
                    "{}: {value:.3} (target {})",
                    ratio.name,
                    ratio.target.describe()
                ),
                share,
                met: ratio.target.met(value) == Some(true),
            })
        })
        .collect()
}

/// The chart as SVG text.
pub fn svg(ratios: &[Ratio]) -> anyhow::Result<String> {
    let bars = bars(ratios);
    let rows = bars.len().max(1);
    let height = 120 + 34 * rows as u32;
    let low = bars.iter().map(|b| b.share).fold(1.0, f64::min) / 2.0;
    let high = bars.iter().map(|b| b.share).fold(1.0, f64::max) * 2.0;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (1100, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "FastForth: measured ÷ target (left of 1 = target met)",
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(520)
            // Segments 0..=rows-1, one per bar; the first ratio is drawn at the top.
            .build_cartesian_2d((low..high).log_scale(), (0..rows - 1).into_segmented())
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows)
            .y_label_formatter(&|value| match value {
                SegmentValue::CenterOf(row) => bars
                    .get(rows - 1 - *row)
                    .map_or_else(String::new, |b| b.label.clone()),
                _ => String::new(),
            })
            .x_desc("measured ÷ target (log scale)")
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(bars.iter().enumerate().map(|(index, bar)| {
                let row = rows - 1 - index;
                let colour = if bar.met {
                    GREEN.mix(0.7)
                } else {
                    RED.mix(0.7)
                };
                let mut rectangle = Rectangle::new(
                    [
                        (low, SegmentValue::Exact(row)),
                        (bar.share, SegmentValue::Exact(row + 1)),
                    ],
                    colour.filled(),
                );
                rectangle.set_margin(6, 6, 0, 0);
                rectangle
            }))
            .map_err(draw_error)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Last)],
                BLACK.stroke_width(2),
            )))
            .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(text)
}

/// Draws the chart of `ratios` into `path`.
pub fn draw(ratios: &[Ratio], path: &Path) -> anyhow::Result<()> {
    let text = svg(ratios)?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn draw_error(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("cannot draw the ratio chart: {error}")
}
