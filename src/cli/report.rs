//! `corrmc report FILE -o DIR`: HTML report, figures (SVG, PNG) and report.json.

use crate::report::{ReportOptions, write_report};
use crate::verdict::{Options, bootstrap::DEFAULT_RESAMPLES};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// Result file (`.h5`, a sweep, or the `.partial` file of an unfinished run).
    pub file: PathBuf,
    /// Output directory (created if missing): report.html, report.json, *.svg, *.png.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Compare every method with this one (default: HRP when present, else the first method).
    #[arg(long)]
    pub baseline: Option<String>,
    /// Bootstrap resamples of trials (0: t-intervals only).
    #[arg(long, default_value_t = DEFAULT_RESAMPLES)]
    pub resamples: usize,
    /// Bootstrap seed (default: the study's seed).
    #[arg(long)]
    pub bootstrap_seed: Option<u64>,
    /// Write SVG figures only (no PNG).
    #[arg(long)]
    pub no_png: bool,
    /// Bins of the volatility histograms.
    #[arg(long, default_value_t = 60)]
    pub bins: usize,
    /// Stylized facts of the correlation matrices used: sample the matrices of the first N
    /// trials run (per sweep point; at most 4e9 / n³ of them) from the source rebuilt from the
    /// stored spec and seed (0: skip the section; at most 100000).
    #[arg(long, default_value_t = crate::report::facts::DEFAULT_FACTS_TRIALS)]
    pub facts_trials: usize,
}

pub fn run(args: &ReportArgs) -> Result<()> {
    if args.bins == 0 || args.bins > 1000 {
        anyhow::bail!("--bins must be between 1 and 1000, got {}", args.bins);
    }
    if args.facts_trials > 100_000 {
        anyhow::bail!(
            "--facts-trials must be between 0 (no stylized facts) and 100000, got {}",
            args.facts_trials
        );
    }
    let opts = ReportOptions {
        verdict: Options {
            baseline: args.baseline.clone(),
            resamples: args.resamples,
            seed: args.bootstrap_seed,
            level: 0.95,
        },
        png: !args.no_png,
        bins: args.bins,
        facts_trials: args.facts_trials,
    };
    let started = std::time::Instant::now();
    let w = write_report(&args.file, &args.output, &opts)?;
    eprintln!(
        "corrmc: report of {} in {:.2} s -> {} ({} figures, {})",
        args.file.display(),
        started.elapsed().as_secs_f64(),
        w.html.display(),
        w.figures.len(),
        w.json.display()
    );
    Ok(())
}
