//! `corrmc summary FILE [--baseline M]`: per-method statistics and the paired
//! verdict against a baseline, for a plain run or every point of a sweep.

use crate::verdict::{self, Options, bootstrap::DEFAULT_RESAMPLES};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct SummaryArgs {
    /// Result file written by `corrmc run` (`.h5`, or the `.partial` of an unfinished run; a sweep
    /// gives one block per grid point).
    pub file: PathBuf,
    /// Rank the per-method table by: spec (no ranking), oos_vol, ratio, turnover, true_vol
    /// (ascending), oos_sharpe, true_sharpe, oos_crra_ce (descending).
    #[arg(long, default_value = "spec")]
    pub sort: String,
    /// Print JSON: the per-method table's fields (a sweep: long format, `rows`, one row per
    /// point and method), `verdict` (nested per point) and `verdict_rows` (long format: one
    /// row per point, method and measure, the swept keys as fields).
    #[arg(long)]
    pub json: bool,
    /// Compare every method with this one (default: HRP when present, else the first method).
    #[arg(long)]
    pub baseline: Option<String>,
    /// Show only these measures (repeatable): oos_vol, true_vol, oos_is_ratio,
    /// is_true_gap, turnover, n_eff, max_weight, oos_sharpe, true_sharpe, oos_crra_ce,
    /// oos_mean, true_mean. Default: all, the return measures (oos_sharpe … true_mean) only
    /// for a study with expected returns ([returns] model = "sharpe").
    #[arg(long = "metric")]
    pub metrics: Vec<String>,
    /// Bootstrap resamples of trials (0: t-intervals only).
    #[arg(long, default_value_t = DEFAULT_RESAMPLES)]
    pub resamples: usize,
    /// Bootstrap seed (default: the study's seed).
    #[arg(long)]
    pub bootstrap_seed: Option<u64>,
    /// Confidence level of every interval.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
}

impl SummaryArgs {
    pub fn options(&self) -> Result<Options> {
        for m in &self.metrics {
            verdict::study::measure(m).map_err(|e| anyhow::anyhow!("--metric: {e}"))?;
        }
        if !crate::summary::SORT_KEYS.contains(&self.sort.as_str()) {
            anyhow::bail!(
                "unknown sort key '{}'; valid: {}",
                self.sort,
                crate::summary::SORT_KEYS.join(", ")
            );
        }
        let o = Options {
            baseline: self.baseline.clone(),
            resamples: self.resamples,
            seed: self.bootstrap_seed,
            level: self.level,
        };
        o.validate().map_err(anyhow::Error::msg)?;
        Ok(o)
    }
}

pub fn run(args: &SummaryArgs) -> Result<()> {
    let opts = args.options()?;
    let table = crate::summary::summarize(&args.file)?;
    let v = verdict::analyse(&args.file, &opts)?;
    let plain = v.file.sweep_keys.is_empty() && v.file.groups == ["/"];
    if args.json {
        let mut out = serde_json::to_value(&table)?;
        out["verdict"] = serde_json::to_value(&v)?;
        out["verdict_rows"] = serde_json::Value::Array(verdict::long_rows(&v));
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    print!(
        "{}",
        crate::summary::render(&table, &args.sort).map_err(anyhow::Error::msg)?
    );
    for p in &v.studies {
        if !plain {
            let kv: Vec<String> = v
                .file
                .sweep_keys
                .iter()
                .zip(&p.params)
                .map(|(k, x)| format!("{k} = {x}"))
                .collect();
            println!("\n== verdict, {} {}", p.verdict.group, kv.join(", "));
        }
        print!("{}", verdict::text::render(&p.verdict, &args.metrics));
    }
    Ok(())
}
