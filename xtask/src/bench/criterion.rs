//! Reads criterion's own output: for every `<id>/new/benchmark.json` under a criterion
//! directory, the benchmark's full id and its `estimates.json` (mean, median and the 95 %
//! interval of the mean, in nanoseconds). It knows nothing of which benchmarks exist.

use super::results::Estimate;
use anyhow::Context;
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
struct Benchmark {
    full_id: String,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Statistic,
    median: Statistic,
}

#[derive(Deserialize)]
struct Statistic {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct Interval {
    confidence_level: f64,
    lower_bound: f64,
    upper_bound: f64,
}

/// Every benchmark under `criterion_dir`, sorted by id; none when the directory is missing.
pub fn read_all(criterion_dir: &Path) -> anyhow::Result<Vec<Estimate>> {
    let mut estimates = Vec::new();
    if criterion_dir.is_dir() {
        collect(criterion_dir, &mut estimates)?;
    }
    estimates.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(estimates)
}

fn collect(dir: &Path, estimates: &mut Vec<Estimate>) -> anyhow::Result<()> {
    let new = dir.join("new");
    if new.join("benchmark.json").is_file() {
        estimates.push(read_one(&new)?);
    }
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() && !matches!(name, "new" | "base" | "change" | "report") {
            collect(&path, estimates)?;
        }
    }
    Ok(())
}

fn read_one(new: &Path) -> anyhow::Result<Estimate> {
    let benchmark: Benchmark = read_json(&new.join("benchmark.json"))?;
    let estimates: Estimates = read_json(&new.join("estimates.json"))?;
    let interval = &estimates.mean.confidence_interval;
    anyhow::ensure!(
        (interval.confidence_level - 0.95).abs() < 1e-9,
        "{} has a {} confidence interval, expected 0.95",
        new.display(),
        interval.confidence_level
    );
    Ok(Estimate {
        id: benchmark.full_id,
        mean: estimates.mean.point_estimate,
        median: estimates.median.point_estimate,
        ci95: [interval.lower_bound, interval.upper_bound],
        unit: "ns".to_owned(),
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_benchmark_of_the_fixture_with_its_interval() {
        let estimates = read_all(&super::super::tests::fixture_dir()).unwrap();
        let ids: Vec<&str> = estimates.iter().map(|e| e.id.as_str()).collect();
        assert!(ids.contains(&"call/add_numbers/dlopen"), "{ids:?}");
        assert!(ids.contains(&"fib/25/hotswap_cached"), "{ids:?}");
        assert!(
            ids.windows(2).all(|pair| pair[0] < pair[1]),
            "sorted: {ids:?}"
        );
        for estimate in &estimates {
            assert!(estimate.ci95[0] <= estimate.mean && estimate.mean <= estimate.ci95[1]);
            assert_eq!(estimate.unit, "ns");
        }
    }

    #[test]
    fn a_missing_directory_has_no_benchmarks() {
        assert!(
            read_all(Path::new("/nonexistent/criterion"))
                .unwrap()
                .is_empty()
        );
    }
}
