//! `corrmc export-training`: DHRP training data for a spec (layout in models/dhrp/README.md).

use crate::spec::Spec;
use anyhow::Result;
use std::path::PathBuf;

/// `corrmc export-training SPEC -o train.h5`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExportTrainingArgs {
    /// Experiment spec whose source, seed and sample lengths are used.
    pub spec: PathBuf,
    /// Output HDF5 file (refused if it exists, unless --overwrite).
    #[arg(long, short)]
    pub output: PathBuf,
    /// Number of trials (default: the spec's `trials`; 1 to 1e9).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=crate::spec::MAX_TRIALS))]
    pub trials: Option<u64>,
    /// Fraction of trials (by index, after the training ones) for validation.
    #[arg(long, default_value_t = 0.1)]
    pub val_fraction: f64,
    /// Fraction of trials (the last ones) held out for testing.
    #[arg(long, default_value_t = 0.1)]
    pub test_fraction: f64,
    /// Tree whose leaf order is "HRP's order" in the file: "single" (López de Prado;
    /// DHRP) or "ward" (Amador's HRP; DHRP_paper's default).
    #[arg(long, default_value = "single")]
    pub linkage: String,
    /// Out-of-sample days summed into the forward return `ret_fwd` (default 21, the
    /// paper's holding period; 1 to the spec's out_of_sample_days).
    #[arg(long, default_value_t = 21)]
    pub horizon_days: usize,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub overwrite: bool,
    /// Worker threads, 1 to 4x the cores (default: all cores). The file does not depend on it.
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65536))]
    pub threads: Option<usize>,
}

pub fn run(args: &ExportTrainingArgs) -> Result<()> {
    for (flag, v) in [
        ("--val-fraction", args.val_fraction),
        ("--test-fraction", args.test_fraction),
    ] {
        if !(0.0..1.0).contains(&v) {
            anyhow::bail!("{flag} {v}: must lie in [0, 1)");
        }
    }
    if args.val_fraction + args.test_fraction >= 1.0 {
        anyhow::bail!(
            "--val-fraction + --test-fraction = {}: must be below 1 so that some trials are left for training",
            args.val_fraction + args.test_fraction
        );
    }
    let linkage = crate::alloc::dhrp::TreeLinkage::parse(&args.linkage)
        .map_err(|e| anyhow::anyhow!("--linkage: {e}"))?;
    let threads = crate::engine::check_options(&crate::engine::RunOptions {
        threads: args.threads,
        trials: args.trials,
        ..Default::default()
    })?;
    crate::output::check_output(&args.output, args.overwrite)?;
    let spec = Spec::from_file(&args.spec)?;
    let trials = args.trials.unwrap_or(spec.raw.trials);
    let splits = crate::training::Splits {
        val: args.val_fraction,
        test: args.test_fraction,
    };
    let opts = crate::training::ExportOptions {
        linkage,
        horizon_days: args.horizon_days,
    };
    let pool = super::common::thread_pool(Some(threads))?;
    let r = pool.install(|| {
        crate::training::export(&spec, &args.output, trials, splits, opts, args.overwrite)
    })?;
    eprintln!(
        "corrmc: {} trials ({} train, {} validation, {} test) in {:.2} s -> {}",
        r.trials,
        r.train,
        r.val,
        r.test,
        r.elapsed_s,
        args.output.display()
    );
    Ok(())
}
