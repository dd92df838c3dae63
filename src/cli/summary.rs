//! `corrmc summary FILE [--baseline M]`: per-method statistics and the paired
//! verdict against a baseline, for a plain run or every point of a sweep.

use crate::verdict::{self, Options, bootstrap::DEFAULT_RESAMPLES};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Result file (`.h5`, or a `.partial` one of an unfinished run).
    pub file: PathBuf,
    /// Rank the per-method table by: spec (no ranking), oos_vol, ratio, turnover, true_vol.
    #[arg(long, default_value = "spec")]
    pub sort: String,
    /// Machine-readable output (the per-method table's fields, plus `verdict`).
    #[arg(long)]
    pub json: bool,
    /// Compare every method with this one (default: HRP when present, else the first method).
    #[arg(long)]
    pub baseline: Option<String>,
    /// Show only these measures (repeatable): oos_vol, true_vol, oos_is_ratio,
    /// is_true_gap, turnover, n_eff, max_weight. Default: all.
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

impl Args {
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

pub fn run(args: &Args) -> Result<()> {
    let opts = args.options()?;
    let v = verdict::analyse(&args.file, &opts)?;
    let plain = v.file.sweep_keys.is_empty() && v.file.groups == ["/"];
    let table = if plain {
        Some(crate::summary::summarize(&args.file)?)
    } else {
        None
    };
    if args.json {
        let mut out = match &table {
            Some(s) => serde_json::to_value(s)?,
            None => {
                serde_json::json!({"file": v.file.path, "name": v.file.name, "complete": !v.file.partial})
            }
        };
        out["verdict"] = serde_json::to_value(&v)?;
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if let Some(s) = &table {
        print!(
            "{}",
            crate::summary::render(s, &args.sort).map_err(anyhow::Error::msg)?
        );
    } else {
        println!(
            "{} ({}; sweep over {}; {} points{})",
            v.file.name,
            v.file.path,
            v.file.sweep_keys.join(", "),
            v.studies.len(),
            if v.file.partial {
                "; INCOMPLETE run"
            } else {
                ""
            }
        );
    }
    for p in &v.studies {
        if !plain {
            let kv: Vec<String> = v
                .file
                .sweep_keys
                .iter()
                .zip(&p.params)
                .map(|(k, x)| format!("{k} = {x}"))
                .collect();
            println!("\n== {} {}", p.verdict.group, kv.join(", "));
        }
        print!("{}", verdict::text::render(&p.verdict, &args.metrics));
    }
    Ok(())
}
