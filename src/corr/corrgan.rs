//! CorrGAN (Marti, "CorrGAN: Sampling realistic financial correlation matrices using
//! generative adversarial networks", ICASSP 2020) as a correlation source.
//!
//! Trial `i`: draw the latent vector `z_i ~ N(0, I)` from `rng::stream(seed, Correlation, i)`
//! only (f64 standard normals rounded to f32), run the generator on a batch of latent vectors
//! in one call, then per matrix (as in the CorrGAN papers): keep the upper triangle of the raw
//! output and mirror it, set the diagonal to 1, and repair to the nearest correlation matrix in
//! Frobenius norm ([`crate::nearest`]). Repairs fan out over rayon. The result for trial `i`
//! does not depend on the batch size or on how trials are grouped (rows of the generator are
//! independent: no batch statistics at inference; checked in `tests/corrgan.rs`).

use super::{CorrSample, CorrSource, Diagnostic};
use crate::Error;
use crate::nearest::{NearestParams, RepairDiagnostics, nearest_correlation};
use crate::onnx::{Backend, Generator, GeneratorOptions, load_generator};
use crate::rng::{self, Purpose};
use ndarray::{Array2, ArrayView2};
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::ops::Range;
use std::path::PathBuf;

/// The generator shipped with corrmc (relative to the repository root / working directory).
pub const DEFAULT_MODEL: &str = "models/corrgan/generator_50d.onnx";

/// Everything needed to build a [`CorrGan`] source.
#[derive(Clone, Debug)]
pub struct CorrGanParams {
    /// ONNX generator file (contract: see `models/README.md`).
    pub model: PathBuf,
    pub backend: Backend,
    /// Trials per generator call.
    pub batch: usize,
    /// ONNX Runtime library for the ort backend (`None`: `ORT_DYLIB_PATH`).
    pub ort_library: Option<PathBuf>,
    /// Threads inside one inference (ort only).
    pub threads: usize,
    /// If set, the model must generate `n x n` matrices.
    pub expected_dim: Option<usize>,
    pub repair: NearestParams,
}

impl CorrGanParams {
    /// The committed 50-asset generator with the tract backend.
    pub fn default_50d(model: PathBuf) -> Self {
        CorrGanParams {
            model,
            backend: Backend::Tract,
            batch: 64,
            ort_library: None,
            threads: 1,
            expected_dim: None,
            repair: NearestParams::default(),
        }
    }
}

/// The CorrGAN correlation source.
pub struct CorrGan {
    params: CorrGanParams,
    generator: Box<dyn Generator>,
}

/// Keeps the upper triangle of a raw generator output, mirrors it and sets the diagonal to 1.
pub fn symmetrize_upper(raw: ArrayView2<'_, f32>) -> Array2<f64> {
    let n = raw.nrows();
    Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            1.0
        } else if i < j {
            raw[(i, j)] as f64
        } else {
            raw[(j, i)] as f64
        }
    })
}

/// Latent vector of trial `trial`: `latent` standard normals from the trial's correlation stream.
pub fn latent_noise(seed: u64, trial: u64, latent: usize) -> Vec<f32> {
    let mut rng = rng::stream(seed, Purpose::Correlation, trial);
    (0..latent)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            z as f32
        })
        .collect()
}

impl CorrGan {
    pub fn new(params: CorrGanParams) -> Result<Self, Error> {
        params.repair.validate()?;
        let opts = GeneratorOptions {
            backend: params.backend,
            batch: params.batch,
            ort_library: params.ort_library.clone(),
            threads: params.threads,
            expected_dim: params.expected_dim,
        };
        let generator = load_generator(&params.model, &opts)?;
        Ok(CorrGan { params, generator })
    }

    pub fn backend(&self) -> Backend {
        self.generator.backend()
    }
    pub fn latent_dim(&self) -> usize {
        self.generator.contract().latent_dim
    }
    pub fn params(&self) -> &CorrGanParams {
        &self.params
    }

    /// Latent vectors of `trials`, one per row.
    pub fn noise(&self, seed: u64, trials: Range<u64>) -> Array2<f32> {
        let latent = self.latent_dim();
        let rows = (trials.end - trials.start) as usize;
        let mut z = Array2::<f32>::zeros((rows, latent));
        for (k, t) in trials.enumerate() {
            z.row_mut(k)
                .assign(&ndarray::Array1::from(latent_noise(seed, t, latent)));
        }
        z
    }

    /// Raw generator outputs of `trials` (`[N, n, n]`, f32, before any post-processing).
    pub fn raw(&self, seed: u64, trials: Range<u64>) -> Result<ndarray::Array3<f32>, Error> {
        self.generator.generate(&self.noise(seed, trials))
    }

    /// Repaired matrices with their repair diagnostics.
    pub fn sample_repaired(
        &self,
        seed: u64,
        trials: Range<u64>,
    ) -> Result<Vec<(Array2<f64>, RepairDiagnostics)>, Error> {
        let raw = self.raw(seed, trials.clone())?;
        let views: Vec<_> = raw.outer_iter().zip(trials).collect();
        views
            .into_par_iter()
            .map(|(m, t)| {
                let sym = symmetrize_upper(m);
                nearest_correlation(sym.view(), &self.params.repair).map_err(|e| {
                    Error::matrix(
                        format!("CorrGAN trial {t} ({})", self.params.model.display()),
                        e.to_string(),
                    )
                })
            })
            .collect()
    }
}

impl CorrSource for CorrGan {
    fn describe(&self) -> String {
        format!(
            "corrgan(model={}, backend={}, n={}, repair={}, tol={:e})",
            self.params.model.display(),
            self.backend().label(),
            self.dim(),
            self.params.repair.method.label(),
            self.params.repair.tol
        )
    }
    fn dim(&self) -> usize {
        self.generator.contract().dim
    }
    fn sample(&self, seed: u64, trial: u64) -> Result<CorrSample, Error> {
        Ok(self.sample_batch(seed, trial..trial + 1)?.pop().unwrap())
    }
    fn sample_batch(&self, seed: u64, trials: Range<u64>) -> Result<Vec<CorrSample>, Error> {
        Ok(self
            .sample_repaired(seed, trials)?
            .into_iter()
            .map(|(corr, d)| CorrSample {
                corr,
                diagnostics: d.as_values(),
            })
            .collect())
    }
    fn preferred_batch(&self) -> usize {
        self.params.batch
    }
    fn diagnostics(&self) -> Vec<Diagnostic> {
        repair_diagnostics()
    }
}

/// The per-matrix repair diagnostics, in the order of [`RepairDiagnostics::as_values`].
pub fn repair_diagnostics() -> Vec<Diagnostic> {
    let desc = [
        "Frobenius distance of the nearest-correlation repair",
        "iterations of the repair",
        "smallest eigenvalue before the repair",
        "smallest eigenvalue after the repair",
        "eigenvalues at the floor after the repair (rank deficit; floor 0 by default)",
    ];
    RepairDiagnostics::NAMES
        .iter()
        .zip(desc)
        .map(|(&name, description)| Diagnostic { name, description })
        .collect()
}
