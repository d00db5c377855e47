//! `--compare FILE`: each benchmark's change against an earlier run, flagged only when the
//! two 95 % intervals of the mean do not overlap (anything else is noise on this evidence).

use super::ratios::ns;
use super::results::Run;
use std::fmt::Write;

/// The comparison as text, one line per benchmark present in both runs.
pub fn changes(earlier: &Run, now: &Run) -> String {
    let mut out = format!(
        "\nchanges against {} ({}):\n",
        earlier.revision, earlier.timestamp
    );
    if earlier.host.id != now.host.id {
        let _ = writeln!(
            out,
            "warning: the earlier run is from host {}, this one from {}: differences may be the machine's",
            earlier.host.id, now.host.id
        );
    }
    for new in &now.benchmarks {
        let Some(old) = earlier.benchmark(&new.id) else {
            let _ = writeln!(out, "  {:<40} new", new.id);
            continue;
        };
        let change = (new.mean / old.mean - 1.0) * 100.0;
        let overlap = new.ci95[0] <= old.ci95[1] && old.ci95[0] <= new.ci95[1];
        let verdict = match (overlap, change > 0.0) {
            (true, _) => "no change (intervals overlap)",
            (false, true) => "SLOWER",
            (false, false) => "FASTER",
        };
        let _ = writeln!(
            out,
            "  {:<40} {:>12} -> {:>12} {change:+7.2} %  {verdict}",
            new.id,
            ns(old.mean),
            ns(new.mean)
        );
    }
    out
}
