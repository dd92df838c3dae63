//! Command-line pieces for CorrGAN, the repair and the matrix bank: `corrmc repair`,
//! `corrmc sample`, `corrmc inspect`. `src/main.rs` wires the `#[derive(clap::Args)]` structs
//! below into subcommands and calls the `run_*` functions.

use crate::Error;
use crate::corr::CorrSource;
use crate::corr::bank::{Bank, write_bank};
use crate::corr::corrgan::{CorrGan, CorrGanParams};
use crate::inspect::{matrix_facts, render_table, summarize};
use crate::nearest::{NearestParams, RepairMethod, nearest_correlation};
use crate::onnx::Backend;
use ndarray::{Array2, Axis};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The generator shipped with corrmc (relative to the repository root / working directory).
pub const DEFAULT_MODEL: &str = "models/corrgan/generator_50d.onnx";

/// `corrmc repair`: nearest correlation matrix of a user's matrix.
#[derive(clap::Args, Debug, Clone)]
pub struct RepairArgs {
    /// Input matrix (.npy, square, float64 or float32).
    #[arg(long)]
    pub input: PathBuf,
    /// Output file for the repaired matrix (.npy, float64).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Print the diagnostics as JSON.
    #[arg(long)]
    pub json: bool,
    /// qi_sun_newton (default, falls back to higham_dykstra) or higham_dykstra.
    #[arg(long, default_value = "qi_sun_newton")]
    pub method: String,
    /// Tolerance (Newton: on max |diag X - 1|).
    #[arg(long, default_value_t = 1e-12)]
    pub tol: f64,
    /// Lower bound on the eigenvalues of the result.
    #[arg(long, default_value_t = 0.0)]
    pub eig_floor: f64,
    /// Also write the result reordered for display (Ward tree + optimal leaf ordering) here.
    #[arg(long)]
    pub display: Option<PathBuf>,
}

fn read_matrix(path: &Path) -> Result<Array2<f64>, Error> {
    if !path.is_file() {
        return Err(Error::io(path, "file not found"));
    }
    match ndarray_npy::read_npy::<_, Array2<f64>>(path) {
        Ok(a) => Ok(a),
        Err(e64) => match ndarray_npy::read_npy::<_, Array2<f32>>(path) {
            Ok(a) => Ok(a.mapv(f64::from)),
            Err(_) => Err(Error::io(
                path,
                format!("cannot read a 2-D float64/float32 .npy matrix: {e64}"),
            )),
        },
    }
}

pub fn run_repair(args: &RepairArgs) -> Result<(), Error> {
    let params = NearestParams {
        method: RepairMethod::parse(&args.method)?,
        tol: args.tol,
        eig_floor: args.eig_floor,
        ..Default::default()
    };
    let a = read_matrix(&args.input)?;
    let t0 = Instant::now();
    let (x, d) = nearest_correlation(a.view(), &params).map_err(|e| match e {
        Error::Matrix { message, .. } => Error::matrix(args.input.display().to_string(), message),
        other => other,
    })?;
    let secs = t0.elapsed().as_secs_f64();
    ndarray_npy::write_npy(&args.output, &x).map_err(|e| Error::io(&args.output, e))?;
    let order = match &args.display {
        Some(p) => {
            let order = crate::inspect::display_order(x.view());
            let shown = crate::inspect::permute(x.view(), &order);
            ndarray_npy::write_npy(p, &shown).map_err(|e| Error::io(p, e))?;
            Some(order)
        }
        None => None,
    };
    if args.json {
        let v = serde_json::json!({
            "input": args.input, "output": args.output, "n": a.nrows(),
            "tol": params.tol, "eig_floor": params.eig_floor, "seconds": secs, "diagnostics": d, "display_order": order,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap());
    } else {
        println!(
            "repaired {n}x{n} matrix {} -> {}",
            args.input.display(),
            args.output.display(),
            n = a.nrows()
        );
        println!(
            "  method               {}{}",
            d.method.label(),
            if d.fell_back { " (Newton failed)" } else { "" }
        );
        println!("  iterations           {}", d.iterations);
        println!("  Frobenius distance   {:.6e}", d.frobenius_distance);
        println!(
            "  min eigenvalue       {:.6e} -> {:.6e}",
            d.min_eig_before, d.min_eig_after
        );
        println!(
            "  eigenvalues at floor {} (rank deficit of the result)",
            d.eigs_at_floor
        );
        println!(
            "  residual             {:.3e} (tol {:.0e})",
            d.residual, params.tol
        );
        println!("  time                 {:.2} ms", secs * 1e3);
    }
    Ok(())
}

/// Generator options shared by `sample` and `inspect`.
#[derive(clap::Args, Debug, Clone)]
pub struct GeneratorArgs {
    /// ONNX generator file.
    #[arg(long, default_value = DEFAULT_MODEL)]
    pub model: PathBuf,
    /// ONNX backend: tract (pure Rust) or ort (ONNX Runtime, needs --ort-library or ORT_DYLIB_PATH).
    #[arg(long, default_value = "tract")]
    pub backend: String,
    /// ONNX Runtime shared library (see scripts/setup-onnxruntime.sh).
    #[arg(long)]
    pub ort_library: Option<PathBuf>,
    /// Trials per generator call.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Study seed: trial i's latent vector depends only on (seed, i).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl GeneratorArgs {
    pub fn params(&self) -> Result<CorrGanParams, Error> {
        Ok(CorrGanParams {
            backend: Backend::parse(&self.backend)?,
            batch: self.batch,
            ort_library: self.ort_library.clone(),
            ..CorrGanParams::default_50d(self.model.clone())
        })
    }
}

/// `corrmc sample`: write a matrix bank.
#[derive(clap::Args, Debug, Clone)]
pub struct SampleArgs {
    /// Correlation source (only `corrgan` writes banks).
    #[arg(long, default_value = "corrgan")]
    pub source: String,
    /// Number of matrices.
    #[arg(long)]
    pub count: usize,
    /// Output HDF5 bank.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// First trial index.
    #[arg(long, default_value_t = 0)]
    pub start: u64,
    #[command(flatten)]
    pub generator: GeneratorArgs,
}

pub fn run_sample(args: &SampleArgs) -> Result<(), Error> {
    if args.source != "corrgan" {
        return Err(Error::Other(format!(
            "sample --source {}: only 'corrgan' can write a matrix bank",
            args.source
        )));
    }
    let gan = CorrGan::new(args.generator.params()?)?;
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

/// `corrmc inspect`: stylized facts of sources or banks.
#[derive(clap::Args, Debug, Clone)]
pub struct InspectArgs {
    /// Sources to inspect: `corrgan`, `uniform`, `block` (sampled on the fly), a bank file
    /// (.h5), or an experiment spec (.toml: its correlation source).
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// Dimension for `uniform` and `block`.
    #[arg(long, default_value_t = 50)]
    pub assets: usize,
    /// Matrices to sample for on-the-fly sources.
    #[arg(long, default_value_t = 500)]
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

pub fn run_inspect(args: &InspectArgs) -> Result<(), Error> {
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
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summaries).unwrap());
    } else {
        print!("{}", render_table(&summaries));
    }
    Ok(())
}
