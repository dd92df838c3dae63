//! Fixed-width text tables of a verdict (`corrmc summary --baseline`).

use super::paired::StudyVerdict;
use super::study::{MEASURES, is_return_measure};
use std::fmt::Write as _;

/// Measures whose distributions the quantile table shows.
pub const QUANTILE_MEASURES: [&str; 4] = ["oos_is_ratio", "is_true_gap", "turnover", "n_eff"];

fn iv(ci: [f64; 2], scale: f64, prec: usize) -> String {
    format!("[{:+.p$}, {:+.p$}]", ci[0] * scale, ci[1] * scale, p = prec)
}

/// The paired table, rankings and quantiles of `measures` (if empty: all judged ones,
/// but the return measures only for a study with expected returns).
pub fn render(v: &StudyVerdict, measures: &[String]) -> String {
    let want = |m: &str| {
        if measures.is_empty() {
            v.expected_returns || !is_return_measure(m)
        } else {
            measures.iter().any(|x| x == m)
        }
    };
    let w = v
        .methods
        .iter()
        .map(|m| m.method.len())
        .max()
        .unwrap_or(6)
        .clamp(6, 44);
    let pct = 100.0 * v.level;
    let mut t = String::new();
    let boot = if v.resamples > 0 {
        format!(
            "bootstrap: {} resamples of trials, {} interval, seed {}",
            v.resamples, "percentile", v.bootstrap_seed
        )
    } else {
        "no bootstrap".to_string()
    };
    let _ = writeln!(
        t,
        "\npaired differences vs {} ({pct:.0}% intervals; t: paired t-interval; {boot}; {} of {} trials run)",
        v.baseline, v.trials_run, v.trials_planned
    );
    for ms in MEASURES.iter().filter(|m| want(m.name)) {
        let rows: Vec<_> = v.paired.iter().filter(|p| p.measure == ms.name).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            t,
            "{} − {} ({}; win: share of trials strictly better)",
            ms.name,
            v.baseline,
            ms.better.describe()
        );
        let _ = writeln!(
            t,
            "{:<w$} {:>5} {:>4} {:>9} {:>9} {:>21} {:>21} {:>7} {:>17} {:>17} {:>5}",
            "method",
            "n",
            "excl",
            "mean",
            "diff",
            "t-interval",
            "bootstrap",
            "rel%",
            "rel% t-int",
            "rel% bootstrap",
            "win%"
        );
        for p in rows {
            let _ = writeln!(
                t,
                "{:<w$} {:>5} {:>4} {:>9.5} {:>+9.5} {:>21} {:>21} {:>+7.2} {:>17} {:>17} {:>5.1}",
                p.method,
                p.t.n,
                p.t.excluded,
                p.t.mean_x,
                p.t.diff,
                iv(p.t.ci, 1.0, 5),
                iv(p.boot_ci, 1.0, 5),
                100.0 * p.rel,
                iv(p.rel_t_ci, 100.0, 2),
                iv(p.rel_boot_ci, 100.0, 2),
                100.0 * p.win_rate
            );
        }
    }
    for r in v.rankings.iter().filter(|r| want(r.measure)) {
        let _ = writeln!(
            t,
            "\nranking by {} ({}; key: mean per-trial loss; rank interval over bootstrap resamples)",
            r.measure,
            r.better.describe()
        );
        let _ = writeln!(
            t,
            "{:>4} {:<w$} {:>5} {:>9} {:>21} {:>21} {:>11}",
            "rank", "method", "n", "mean", "t-interval", "bootstrap", "rank int."
        );
        for e in &r.entries {
            let _ = writeln!(
                t,
                "{:>4} {:<w$} {:>5} {:>9.5} {:>21} {:>21} {:>11}",
                e.rank,
                e.method,
                e.n,
                e.mean,
                iv(e.t_ci, 1.0, 5),
                iv(e.boot_ci, 1.0, 5),
                if e.rank_ci[0].is_finite() {
                    format!("[{:.0}, {:.0}]", e.rank_ci[0], e.rank_ci[1])
                } else {
                    "-".into()
                }
            );
        }
    }
    for name in QUANTILE_MEASURES.iter().filter(|m| want(m)) {
        let _ = writeln!(t, "\n{name}: quantiles per method");
        let _ = writeln!(
            t,
            "{:<w$} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "method", "n", "mean", "q05", "q25", "median", "q75", "q95", "sd"
        );
        for m in &v.methods {
            if let Some((_, d)) = m.distributions.iter().find(|(n, _)| n == name) {
                let _ = writeln!(
                    t,
                    "{:<w$} {:>5} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4}",
                    m.method, d.n, d.mean, d.q05, d.q25, d.median, d.q75, d.q95, d.sd
                );
            }
        }
    }
    t
}
