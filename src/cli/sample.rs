//! `corrmc sample`: a bank of repaired CorrGAN matrices for `kind = "bank"`.

use super::common::GeneratorArgs;
use crate::Error;
use crate::corr::CorrSource;
use crate::corr::bank::{Bank, write_bank};
use crate::corr::corrgan::CorrGan;
use std::path::PathBuf;
use std::time::Instant;

/// `corrmc sample`: write a matrix bank.
#[derive(clap::Args, Debug, Clone)]
pub struct SampleArgs {
    /// Correlation source (only `corrgan` writes banks).
    #[arg(long, default_value = "corrgan")]
    pub source: String,
    /// Number of matrices (1 to 10,000,000).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    pub count: usize,
    /// Output HDF5 bank (refused if it exists, unless --overwrite).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub overwrite: bool,
    /// First trial index (the bank replays trials start, start+1, ...).
    #[arg(long, default_value_t = 0)]
    pub start: u64,
    #[command(flatten)]
    pub generator: GeneratorArgs,
}

pub fn run(args: &SampleArgs) -> Result<(), Error> {
    if args.source != "corrgan" {
        return Err(Error::Other(format!(
            "sample --source {}: only 'corrgan' can write a matrix bank",
            args.source
        )));
    }
    crate::output::check_output(&args.output, args.overwrite)?;
    let gan = CorrGan::new(args.generator.params()?)?;
    let bytes = (args.count as f64) * (gan.dim() as f64).powi(2) * 8.0;
    if let Some(free) = crate::output::free_disk(&args.output)
        && bytes > free
    {
        return Err(Error::io(
            &args.output,
            format!(
                "a bank of {} {n}x{n} matrices needs up to {:.1} GB but {:.1} GB are free there; lower --count",
                args.count,
                bytes / 1e9,
                free / 1e9,
                n = gan.dim()
            ),
        ));
    }
    let t0 = Instant::now();
    write_bank(
        &gan,
        args.generator.seed,
        args.start,
        args.count,
        &args.output,
        None,
    )?;
    let secs = t0.elapsed().as_secs_f64();
    let bank = Bank::open(&args.output)?;
    let d = &bank.diagnostics;
    let col = |j: usize| d.column(j);
    let mean = |j: usize| col(j).mean().unwrap_or(f64::NAN);
    let max = |j: usize| col(j).iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    println!(
        "wrote {} matrices ({}x{}) to {} in {:.1} s ({:.0} matrices/s) with {}",
        bank.len(),
        bank.dim(),
        bank.dim(),
        args.output.display(),
        secs,
        bank.len() as f64 / secs,
        gan.describe()
    );
    println!(
        "repair: Frobenius distance mean {:.4} max {:.4}; iterations mean {:.1} max {}; min eigenvalue before mean {:.4}, after min {:.2e}; eigenvalues at the floor mean {:.2} max {}",
        mean(0),
        max(0),
        mean(1),
        max(1),
        mean(2),
        col(3).iter().cloned().fold(f64::INFINITY, f64::min),
        mean(4),
        max(4)
    );
    Ok(())
}
