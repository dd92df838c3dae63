//! `corrmc summary`: per-method statistics of a result file.

use anyhow::Result;
use std::path::PathBuf;

/// `corrmc summary FILE.h5 [--sort KEY] [--json]`.
#[derive(clap::Args, Debug, Clone)]
pub struct SummaryArgs {
    /// Result file written by `corrmc run` (HDF5; a sweep gives one block per grid point).
    pub file: PathBuf,
    /// Rank methods by: spec (no ranking), oos_vol, ratio, turnover, true_vol.
    #[arg(long, default_value = "spec")]
    pub sort: String,
    /// Print JSON instead of the table (a sweep: long format, one row per point and method).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &SummaryArgs) -> Result<()> {
    let s = crate::summary::summarize(&args.file)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print!(
            "{}",
            crate::summary::render(&s, &args.sort).map_err(anyhow::Error::msg)?
        );
    }
    Ok(())
}
