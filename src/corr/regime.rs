//! Regime targeting: keep only the matrices of a source whose mean correlation (and/or
//! first-eigenvalue share λ₁/n) lies in a chosen range (`[regime]` in a spec).
//!
//! A generator trained on several market regimes (calm and crisis windows) mixes them;
//! a study about one regime conditions on it by rejection. Trial *i*'s matrix is the first
//! of the draws k = 0, 1, 2, … in range, where draw k is the inner source's matrix for
//! (seed_k, i) with seed_0 = the study seed and seed_k = splitmix64(seed ⊕ tag ⊕ k) after;
//! so the result depends only on (seed, trial) and an in-range draw 0 is exactly the
//! unfiltered source's matrix. Rejection sampling leaves the conditional distribution
//! exact: the accepted matrices follow the source's law restricted to the range.

use super::{CorrSample, CorrSource, Diagnostic};
use crate::Error;
use std::ops::Range;

/// What `[regime]` asks for: closed ranges of the statistics and a draw budget per trial.
#[derive(Clone, Debug, PartialEq)]
pub struct RegimeParams {
    /// Mean off-diagonal correlation, [lo, hi].
    pub mean_corr: Option<[f64; 2]>,
    /// First-eigenvalue share λ₁/n, [lo, hi].
    pub first_eig_share: Option<[f64; 2]>,
    /// Draws per trial before the trial is refused.
    pub max_draws: u32,
}

/// Default draw budget: enough for a range holding ~2 % of the source's mass with
/// a failure probability below 1e-8 per trial ((0.98)^1000 ≈ 2e-9).
pub const DEFAULT_MAX_DRAWS: u32 = 1000;

impl RegimeParams {
    /// Checks the ranges once; errors name the key (relative to `[regime]`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.mean_corr.is_none() && self.first_eig_share.is_none() {
            return Err((
                "regime".into(),
                "give mean_corr = [lo, hi] and/or first_eig_share = [lo, hi]".into(),
            ));
        }
        if let Some([lo, hi]) = self.mean_corr
            && !(lo.is_finite() && hi.is_finite() && -1.0 <= lo && lo < hi && hi <= 1.0)
        {
            return Err((
                "regime.mean_corr".into(),
                format!("must be [lo, hi] with -1 <= lo < hi <= 1, got [{lo}, {hi}]"),
            ));
        }
        if let Some([lo, hi]) = self.first_eig_share
            && !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo < hi && hi <= 1.0)
        {
            return Err((
                "regime.first_eig_share".into(),
                format!("must be [lo, hi] with 0 <= lo < hi <= 1, got [{lo}, {hi}]"),
            ));
        }
        if self.max_draws == 0 {
            return Err(("regime.max_draws".into(), "must be at least 1".into()));
        }
        Ok(())
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some([lo, hi]) = self.mean_corr {
            parts.push(format!("mean_corr in [{lo}, {hi}]"));
        }
        if let Some([lo, hi]) = self.first_eig_share {
            parts.push(format!("first_eig_share in [{lo}, {hi}]"));
        }
        parts.join(", ")
    }
}

/// Mean off-diagonal entry of a correlation matrix.
pub fn mean_corr(c: &ndarray::Array2<f64>) -> f64 {
    let n = c.nrows();
    if n < 2 {
        return 0.0;
    }
    let total: f64 = c.iter().sum();
    let diag: f64 = c.diag().iter().sum();
    (total - diag) / (n * (n - 1)) as f64
}

/// λ₁/n: the share of the trace carried by the largest eigenvalue.
pub fn first_eig_share(c: &ndarray::Array2<f64>) -> f64 {
    let n = c.nrows();
    match crate::linalg::eigvalsh(c.view()) {
        Some(eig) => eig.iter().cloned().fold(f64::NEG_INFINITY, f64::max) / n as f64,
        None => f64::NAN, // never in range: the draw is rejected
    }
}

/// A source restricted to a regime by rejection (see the module docs).
pub struct Regime {
    inner: Box<dyn CorrSource>,
    params: RegimeParams,
}

const REGIME_TAG: u64 = 0x7265_6769_6d65; // "regime"

/// The inner source's seed for draw `k` (draw 0 is the study seed itself).
pub fn draw_seed(seed: u64, k: u32) -> u64 {
    if k == 0 {
        seed
    } else {
        crate::rng::splitmix64(seed ^ crate::rng::splitmix64(REGIME_TAG ^ k as u64))
    }
}

impl Regime {
    pub fn new(inner: Box<dyn CorrSource>, params: RegimeParams) -> Self {
        Regime { inner, params }
    }

    /// (mean correlation, λ₁/n) of a matrix in range, None out of range. λ₁/n costs an
    /// eigendecomposition, so it is computed only after the cheap mean test passed.
    fn check(&self, c: &ndarray::Array2<f64>) -> Option<(f64, f64)> {
        let inside = |r: Option<[f64; 2]>, v: f64| r.is_none_or(|[lo, hi]| lo <= v && v <= hi);
        let m = mean_corr(c);
        if !inside(self.params.mean_corr, m) {
            return None;
        }
        let l = first_eig_share(c);
        inside(self.params.first_eig_share, l).then_some((m, l))
    }

    fn finish(&self, mut s: CorrSample, draws: u32, m: f64, l: f64) -> CorrSample {
        s.diagnostics.extend([draws as f64, m, l]);
        s
    }

    /// Draws 1.. of one trial whose draw 0 was rejected.
    fn redraw(&self, seed: u64, trial: u64) -> Result<CorrSample, Error> {
        for k in 1..self.params.max_draws {
            let s = self.inner.sample(draw_seed(seed, k), trial)?;
            if let Some((m, l)) = self.check(&s.corr) {
                return Ok(self.finish(s, k + 1, m, l));
            }
        }
        Err(Error::Other(format!(
            "[regime]: trial {trial} found no matrix with {} in {} draws of {}; widen the range, \
             raise regime.max_draws, or choose a source that reaches this regime (`corrmc inspect` \
             shows the source's distribution of these statistics)",
            self.params.describe(),
            self.params.max_draws,
            self.inner.describe()
        )))
    }
}

impl CorrSource for Regime {
    fn describe(&self) -> String {
        format!(
            "{} | regime: {}",
            self.inner.describe(),
            self.params.describe()
        )
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn sample(&self, seed: u64, trial: u64) -> Result<CorrSample, Error> {
        let s = self.inner.sample(seed, trial)?;
        match self.check(&s.corr) {
            Some((m, l)) => Ok(self.finish(s, 1, m, l)),
            None => self.redraw(seed, trial),
        }
    }
    fn sample_batch(&self, seed: u64, trials: Range<u64>) -> Result<Vec<CorrSample>, Error> {
        // Draw 0 of the whole batch in one call (batched generators), then per-trial redraws.
        let first = self.inner.sample_batch(seed, trials.clone())?;
        first
            .into_iter()
            .zip(trials)
            .map(|(s, trial)| match self.check(&s.corr) {
                Some((m, l)) => Ok(self.finish(s, 1, m, l)),
                None => self.redraw(seed, trial),
            })
            .collect()
    }
    fn preferred_batch(&self) -> usize {
        self.inner.preferred_batch()
    }
    fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut d = self.inner.diagnostics();
        d.extend([
            Diagnostic {
                name: "regime_draws",
                description: "draws of the source until the matrix fell in the [regime] range (1 = the unfiltered draw)",
            },
            Diagnostic {
                name: "regime_mean_corr",
                description: "mean off-diagonal correlation of the accepted matrix",
            },
            Diagnostic {
                name: "regime_first_eig_share",
                description: "first-eigenvalue share lambda_1/n of the accepted matrix",
            },
        ]);
        d
    }
}
