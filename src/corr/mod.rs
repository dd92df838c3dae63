//! Sources of true correlation matrices, one per trial.
//!
//! A source draws trial *i*'s matrix from `rng::stream(seed, Purpose::Correlation, i)`
//! only, so any trial can be regenerated alone. Sources that run a model in
//! batches (CorrGAN) override [`CorrSource::sample_batch`]; the result must not
//! depend on how trials are grouped into batches.

pub mod bank;
pub mod block;
pub mod corrgan;
pub mod empirical;
pub mod file;
pub mod onion;
pub mod regime;
pub mod validate;

use ndarray::Array2;
use std::ops::Range;

pub use validate::{ValidationTolerance, validate_correlation};

/// One drawn correlation matrix and the source's per-trial diagnostics (values in
/// the order of [`CorrSource::diagnostics`]).
#[derive(Clone, Debug)]
pub struct CorrSample {
    pub corr: Array2<f64>,
    pub diagnostics: Vec<f64>,
}

/// A per-trial diagnostic a source records (e.g. the Frobenius distance of a
/// nearest-correlation repair), stored as `/source/<name>` in the output.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub name: &'static str,
    pub description: &'static str,
}

/// A generator of true correlation matrices.
pub trait CorrSource: Send + Sync {
    /// Short description recorded in the output (e.g. `uniform(onion, eta=1)`).
    fn describe(&self) -> String;
    /// Matrix dimension.
    fn dim(&self) -> usize;
    /// Trial `trial`'s matrix. Must depend only on `(seed, trial)`.
    fn sample(&self, seed: u64, trial: u64) -> Result<CorrSample, crate::Error>;
    /// Several consecutive trials at once. The default calls [`Self::sample`] per
    /// trial; batched sources override it and must give the same matrices.
    fn sample_batch(&self, seed: u64, trials: Range<u64>) -> Result<Vec<CorrSample>, crate::Error> {
        trials.map(|t| self.sample(seed, t)).collect()
    }
    /// How many trials [`Self::sample_batch`] prefers per call.
    fn preferred_batch(&self) -> usize {
        1
    }
    /// Names of the diagnostics each sample carries.
    fn diagnostics(&self) -> Vec<Diagnostic> {
        Vec::new()
    }
}
