//! `corrmc plan`: grid points, work units and estimated memory, output size and
//! CPU time of a study, before anything runs.

use crate::plan;
use crate::spec::Spec;
use crate::sweep::{self, Study};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct PlanArgs {
    /// Experiment spec (with or without `[sweep]`); with none, the embedded quick start.
    pub spec: Option<PathBuf>,
    /// Write each grid point's resolved spec to DIR/point-<k>.toml (run alone, each gives
    /// the sweep file's /points/<k> bit for bit).
    #[arg(long, value_name = "DIR")]
    pub expand: Option<PathBuf>,
    /// Trials per point (as `run --trials`).
    #[arg(long)]
    pub trials: Option<u64>,
    /// Worker threads the run will use (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Output file (as `run --output`), for the free-disk check.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Seconds of single-thread calibration per point for the CPU-time estimate (0: skip).
    #[arg(long, default_value_t = 1.0)]
    pub calibrate_s: f64,
    /// Show how `run --shard i/K` splits the units over K shards, with each shard's trials and
    /// expected wall time on --threads threads (1 to 1000000).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub shards: Option<u64>,
}

pub fn run(args: &PlanArgs) -> Result<()> {
    let study = match &args.spec {
        Some(p) => Study::from_file(p)?,
        None => Study::single(Spec::quickstart()),
    };
    if args.trials == Some(0) {
        anyhow::bail!("--trials must be at least 1");
    }
    if !(args.calibrate_s >= 0.0 && args.calibrate_s.is_finite()) {
        anyhow::bail!(
            "--calibrate-s must be a non-negative number of seconds, got {}",
            args.calibrate_s
        );
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        anyhow::bail!("--threads must be at least 1");
    }
    let output = args.output.clone().unwrap_or_else(|| study.output.clone());
    if let Some(dir) = &args.expand {
        let paths = sweep::expand(&study, dir)?;
        eprintln!(
            "corrmc: wrote {} resolved spec(s) to {}",
            paths.len(),
            dir.display()
        );
    }
    let est = plan::estimate(&study, args.trials, threads);
    let cal = if args.calibrate_s > 0.0 {
        Some(plan::calibrate(&study, args.calibrate_s, 16)?)
    } else {
        None
    };
    print!(
        "{}",
        plan::render(&study, &est, cal.as_deref(), threads, &output)
    );
    if let Some(k) = args.shards {
        print!(
            "{}",
            plan::render_shards(&study, args.trials, k, cal.as_deref(), threads, &output)
        );
    }
    match plan::check_resources(&study, args.trials, threads, &output) {
        Ok(()) => println!("resources: fits this machine"),
        Err(e) => println!("resources: `corrmc run` would refuse: {e}"),
    }
    Ok(())
}
