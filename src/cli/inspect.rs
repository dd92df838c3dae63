//! `corrmc inspect`: stylized facts of correlation sources and banks.

use super::common::GeneratorArgs;
use crate::Error;
use crate::corr::CorrSource;
use crate::corr::bank::Bank;
use crate::corr::corrgan::CorrGan;
use crate::inspect::{matrix_facts, render_table, summarize};
use ndarray::{Array2, Axis};
use rayon::prelude::*;
use std::path::Path;

/// `corrmc inspect`: stylized facts of sources or banks.
#[derive(clap::Args, Debug, Clone)]
pub struct InspectArgs {
    /// Sources to inspect: `corrgan`, `uniform`, `block` (sampled on the fly), a bank file
    /// (.h5), or an experiment spec (.toml: its correlation source).
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// Dimension for `uniform` and `block` (2 to 5000).
    #[arg(long, default_value_t = 50, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=5000))]
    pub assets: usize,
    /// Matrices to sample for on-the-fly sources (1 to 1,000,000).
    #[arg(long, default_value_t = 500, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub count: usize,
    /// Print JSON instead of the text table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub generator: GeneratorArgs,
}

/// Matrices of one inspect target.
/// `count` matrices from the uniform (LKJ, η = 1) or default block source of
/// dimension `n`, or from the correlation source of an experiment spec.
fn source_matrices(
    target: &str,
    n: usize,
    count: usize,
    seed: u64,
) -> Result<Vec<Array2<f64>>, Error> {
    let (source, seed): (Box<dyn crate::corr::CorrSource>, u64) = match target {
        "uniform" => (
            Box::new(crate::corr::onion::Onion::new(n, 1.0).map_err(Error::Other)?),
            seed,
        ),
        "block" => {
            let p = crate::corr::block::BlockParams {
                n,
                ..Default::default()
            };
            let m = crate::corr::block::BlockModel::new(p)
                .map_err(|(k, m)| Error::Other(format!("block {k}: {m}")))?;
            (Box::new(m), seed)
        }
        spec => {
            let s = crate::spec::Spec::from_file(Path::new(spec))?;
            (s.build_source()?, s.raw.seed)
        }
    };
    (0..count as u64)
        .into_par_iter()
        .map(|t| source.sample(seed, t).map(|x| x.corr))
        .collect()
}

pub fn inspect_matrices(
    target: &str,
    count: usize,
    generator: &GeneratorArgs,
) -> Result<Vec<Array2<f64>>, Error> {
    if target == "corrgan" {
        let gan = CorrGan::new(generator.params()?)?;
        let mut out = Vec::with_capacity(count);
        let batch = gan.preferred_batch() as u64;
        let mut t = 0u64;
        while (out.len()) < count {
            let end = (t + batch).min(count as u64);
            out.extend(
                gan.sample_repaired(generator.seed, t..end)?
                    .into_iter()
                    .map(|(m, _)| m),
            );
            t = end;
        }
        Ok(out)
    } else {
        let path = Path::new(target);
        if !path.exists() {
            return Err(Error::Other(format!(
                "inspect: '{target}' is neither 'corrgan' nor an existing bank file"
            )));
        }
        let bank = Bank::open(path)?;
        Ok(bank.corr.axis_iter(Axis(0)).map(|m| m.to_owned()).collect())
    }
}

pub fn run(args: &InspectArgs) -> Result<(), Error> {
    let mut summaries = Vec::new();
    for target in &args.targets {
        let mats = if matches!(target.as_str(), "uniform" | "block") || target.ends_with(".toml") {
            source_matrices(target, args.assets, args.count, args.generator.seed)?
        } else {
            inspect_matrices(target, args.count, &args.generator)?
        };
        let n = mats.first().map_or(0, |m| m.nrows());
        let facts: Vec<_> = mats.par_iter().map(|m| matrix_facts(m.view())).collect();
        summaries.push(summarize(target, n, &facts));
    }
    crate::inspect::compare_to_first(&mut summaries);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summaries).unwrap());
    } else {
        print!("{}", render_table(&summaries));
    }
    Ok(())
}
