//! `corrmc merge`: combine the shard files of a study into its result file.

use anyhow::Result;
use std::path::PathBuf;

/// `corrmc merge -o OUT SHARD...`.
#[derive(clap::Args, Debug, Clone)]
pub struct MergeArgs {
    /// Shard files of `corrmc run SPEC --shard i/k`, folders holding them, or patterns such as
    /// 'results/study.h5.shard-*' (quoted; `*` and `?` in the file name).
    #[arg(required = true, value_name = "SHARD")]
    pub shards: Vec<PathBuf>,
    /// The result file to write (the study's output, as a single-machine run would write it).
    #[arg(long, short, required = true)]
    pub output: PathBuf,
    /// Replace OUTPUT if it exists and is not this study's merged file (re-merging the same
    /// study replaces it without this flag).
    #[arg(long)]
    pub overwrite: bool,
    /// Do not print the summary table when done.
    #[arg(long)]
    pub no_summary: bool,
}

pub fn run(args: &MergeArgs) -> Result<()> {
    let files = crate::merge::expand_inputs(&args.shards)?;
    eprintln!(
        "corrmc: merging {} shard file(s) into {}",
        files.len(),
        args.output.display()
    );
    let r = crate::merge::merge(&files, &args.output, args.overwrite)?;
    for w in &r.warnings {
        eprintln!("corrmc: warning: {w}");
    }
    eprintln!(
        "corrmc: merged {} shards ({} units, {} trials) -> {}{}",
        r.shards,
        r.units,
        r.trials,
        r.output.display(),
        if r.failures > 0 {
            format!(" ({} per-method failures recorded in /errors)", r.failures)
        } else {
            String::new()
        }
    );
    if !args.no_summary {
        let s = crate::summary::summarize(&r.output)?;
        print!(
            "{}",
            crate::summary::render(&s, "spec").map_err(anyhow::Error::msg)?
        );
    }
    Ok(())
}
