//! Pieces shared by several commands: matrix readers and checks, generator options.

use crate::Error;
use crate::corr::corrgan::{CorrGanParams, DEFAULT_MODEL};
use crate::onnx::Backend;
use anyhow::{Result, bail};
use ndarray::Array2;
use std::path::{Path, PathBuf};

/// Reads a square 2-D float64 or float32 `.npy` matrix.
pub fn read_npy_matrix(path: &Path) -> Result<Array2<f64>, Error> {
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

/// Generator options shared by `sample` and `inspect`.
#[derive(clap::Args, Debug, Clone)]
pub struct GeneratorArgs {
    /// ONNX generator file (default: the shipped 50-asset generator, embedded in the binary).
    #[arg(long, default_value = DEFAULT_MODEL)]
    pub model: PathBuf,
    /// ONNX backend: tract (pure Rust) or ort (ONNX Runtime, needs --ort-library or ORT_DYLIB_PATH).
    #[arg(long, default_value = "tract")]
    pub backend: String,
    /// ONNX Runtime shared library (see scripts/setup-onnxruntime.sh).
    #[arg(long)]
    pub ort_library: Option<PathBuf>,
    /// Trials per generator call (1 to 4096).
    #[arg(long, default_value_t = 64, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub batch: usize,
    /// Study seed: trial i's latent vector depends only on (seed, i).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl GeneratorArgs {
    pub fn params(&self) -> Result<CorrGanParams, Error> {
        let mut model = self.model.clone();
        if model.is_relative()
            && !model.exists()
            && let Some(shipped) = crate::shipped::materialize(&model.display().to_string())
        {
            model = shipped?;
        }
        Ok(CorrGanParams {
            backend: Backend::parse(&self.backend)
                .map_err(|e| Error::Other(format!("--backend: {e}")))?,
            batch: self.batch,
            ort_library: self.ort_library.clone(),
            ..CorrGanParams::default_50d(model)
        })
    }
}

/// Square, finite, symmetric (relative 1e-10), non-negative diagonal.
pub fn check_covariance(m: &Array2<f64>) -> Result<()> {
    let n = m.nrows();
    for i in 0..n {
        for j in 0..n {
            let v = m[(i, j)];
            if !v.is_finite() {
                bail!("entry ({i}, {j}) is {v}; all entries must be finite");
            }
            let scale = (m[(i, i)].abs() * m[(j, j)].abs())
                .sqrt()
                .max(f64::MIN_POSITIVE);
            if (v - m[(j, i)]).abs() > 1e-10 * scale {
                bail!(
                    "not symmetric: ({i}, {j}) = {v} but ({j}, {i}) = {}",
                    m[(j, i)]
                );
            }
        }
        if m[(i, i)] < 0.0 {
            bail!("diagonal entry ({i}, {i}) = {} is negative", m[(i, i)]);
        }
    }
    Ok(())
}

/// A rayon pool with `threads` workers (default: all cores), refusing absurd counts before any
/// thread starts.
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        pool = pool.num_threads(t);
    }
    Ok(pool.build()?)
}
