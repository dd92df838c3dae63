//! Per-trial, per-method measurements.
//!
//! With `A` the annualization factor and `w` the weights estimated on the
//! in-sample path:
//! - `is_vol`   = sqrt(A · wᵀ S_is w): in-sample volatility (what the allocator saw);
//! - `oos_vol`  = sqrt(A · wᵀ S_oos w): the same weights on the out-of-sample path;
//! - `true_vol` = sqrt(A · wᵀ Σ w): volatility under the true covariance;
//! - `turnover` = ½ Σ |w − w_oos|, with `w_oos` the method's weights re-estimated on
//!   the out-of-sample path (how much the allocation moves between two samples of
//!   the same market);
//! - `n_eff`    = 1 / Σ w² (effective number of assets);
//! - `max_weight` = max_i w_i;
//! - `gross`    = Σ |w_i| (1 for long-only portfolios; > 1 when shorting).

use crate::linalg::quad_form;
use crate::simulate::TrialData;
use ndarray::Array1;

/// Metric names in storage order, with descriptions.
pub const METRICS: [(&str, &str); 7] = [
    ("is_vol", "annualized in-sample volatility sqrt(A wᵀS_is w)"),
    (
        "oos_vol",
        "annualized out-of-sample volatility sqrt(A wᵀS_oos w)",
    ),
    ("true_vol", "annualized true volatility sqrt(A wᵀΣw)"),
    (
        "turnover",
        "½Σ|w_is − w_oos| between weights estimated in and out of sample",
    ),
    ("n_eff", "effective number of assets 1/Σw²"),
    ("max_weight", "largest weight"),
    ("gross", "gross exposure Σ|w|"),
];

pub const N_METRICS: usize = METRICS.len();

/// The metrics of [`METRICS`] for one trial and method. `w_oos = None` (the method
/// failed on the out-of-sample estimate) leaves turnover NaN; the failure itself
/// is recorded in the output's status tables.
pub fn measure(
    w: &Array1<f64>,
    w_oos: Option<&Array1<f64>>,
    d: &TrialData,
    annualization: f64,
) -> [f64; N_METRICS] {
    // A PSD covariance gives wᵀSw ≥ 0 up to rounding, so tiny negatives are clamped; NaN and
    // ±∞ (overflow) stay non-finite and the engine records the trial as failed for the method.
    let vol = |s: &ndarray::Array2<f64>| {
        let q = quad_form(s.view(), w.view());
        if q.is_nan() {
            f64::NAN
        } else {
            (annualization * q.max(0.0)).sqrt()
        }
    };
    let turnover = w_oos.map_or(f64::NAN, |o| 0.5 * (w - o).mapv(f64::abs).sum());
    [
        vol(&d.cov_is),
        vol(&d.cov_oos),
        vol(&d.sigma),
        turnover,
        1.0 / w.dot(w),
        w.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        w.mapv(f64::abs).sum(),
    ]
}
