//! `corrmc run`: run an experiment spec and print its summary.

use crate::engine::{self, RunOptions};
use crate::spec::Spec;
use anyhow::Result;
use std::io::IsTerminal;
use std::path::PathBuf;

/// `corrmc run [SPEC] [--threads N] [--output PATH] [--overwrite] [--trials K] [--no-summary]`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Experiment spec (TOML), e.g. experiments/blog-replication.toml; without it, the embedded
    /// quick-start experiment.
    pub spec: Option<PathBuf>,
    /// Worker threads, 1 to 4x the cores (default: all cores). Results do not depend on it.
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65536))]
    pub threads: Option<usize>,
    /// Output file (default: the spec's `output`, else results/<name>.h5).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub overwrite: bool,
    /// Run only this many trials (overrides the spec's `trials`; 1 to 1e9).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=crate::spec::MAX_TRIALS))]
    pub trials: Option<u64>,
    /// Do not print the summary table when done.
    #[arg(long)]
    pub no_summary: bool,
}

pub fn run(args: &RunArgs) -> Result<()> {
    let opts = RunOptions {
        threads: args.threads,
        output: args.output.clone(),
        overwrite: args.overwrite,
        progress: std::io::stderr().is_terminal(),
        trials: args.trials,
    };
    engine::check_options(&opts)?;
    let spec = match &args.spec {
        Some(p) => Spec::from_file(p)?,
        None => Spec::quickstart(),
    };
    eprintln!(
        "corrmc: running '{}' ({} trials, {} assets, {} methods) from {}",
        spec.raw.name,
        args.trials.unwrap_or(spec.raw.trials),
        spec.raw.assets,
        spec.methods.len(),
        spec.origin
    );
    let report = engine::run(&spec, &opts)?;
    eprintln!(
        "corrmc: {} trials in {:.2} s on {} threads ({:.0} trials/s) -> {}{}",
        report.trials,
        report.elapsed_s,
        report.threads,
        report.trials as f64 / report.elapsed_s,
        report.output.display(),
        if report.failures > 0 {
            format!(
                " ({} per-method failures recorded in /errors)",
                report.failures
            )
        } else {
            String::new()
        }
    );
    if !args.no_summary {
        let s = crate::summary::summarize(&report.output)?;
        print!(
            "{}",
            crate::summary::render(&s, "spec").map_err(anyhow::Error::msg)?
        );
    }
    Ok(())
}
