//! Per-trial, per-method measurements.
//!
//! With `A` the annualization factor, `w` the weights estimated on the
//! in-sample path, `S` a path's sample covariance (ddof = 1), `x̄` its sample
//! mean and `μ`, `Σ` the true expected returns and covariance:
//! - `is_vol`   = sqrt(A · wᵀ S_is w): in-sample volatility (what the allocator saw);
//! - `oos_vol`  = sqrt(A · wᵀ S_oos w): the same weights on the out-of-sample path;
//! - `true_vol` = sqrt(A · wᵀ Σ w): volatility under the true covariance;
//! - `turnover` = ½ Σ |w − w_oos|, with `w_oos` the method's weights re-estimated on
//!   the out-of-sample path (how much the allocation moves between two samples of
//!   the same market);
//! - `n_eff`    = 1 / Σ w² (effective number of assets);
//! - `max_weight` = max_i w_i;
//! - `gross`    = Σ |w_i| (1 for long-only portfolios; > 1 when shorting);
//!
//! and, appended with the return models (issue 13; earlier files stop at `gross`):
//! - `is_mean`, `oos_mean` = A · wᵀx̄: annualized (arithmetic) mean portfolio return
//!   of each path; `true_mean` = A · wᵀμ;
//! - `is_sharpe`, `oos_sharpe` = A · wᵀx̄ / sqrt(A · wᵀSw) = √A · mean / sd (ddof = 1)
//!   of the path's daily portfolio returns: the annualized Sharpe ratio with a zero
//!   risk-free rate (returns are excess returns), as the DHRP paper (§4.2) and the
//!   ASRP paper report it; `true_sharpe` = A · wᵀμ / sqrt(A · wᵀΣw);
//! - `oos_crra_ce`: the annualized certainty equivalent of CRRA utility (DHRP paper,
//!   Eq. 6) of the out-of-sample daily portfolio returns `r_t = wᵀx_t`, see [`crra_ce`].
//!
//! Under the zero-mean model the true mean and Sharpe ratio are exactly 0 and the
//! sample ones are pure estimation noise; they are still defined and stored.

use crate::linalg::quad_forms;
use crate::simulate::TrialData;
use ndarray::Array1;

/// Metric names in storage order, with descriptions. New metrics are appended, so
/// index `k` means the same quantity in every file that has it.
pub const METRICS: [(&str, &str); 14] = [
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
    ("is_mean", "annualized in-sample mean return A wᵀx̄_is"),
    ("oos_mean", "annualized out-of-sample mean return A wᵀx̄_oos"),
    ("true_mean", "annualized expected return A wᵀμ"),
    (
        "is_sharpe",
        "annualized in-sample Sharpe ratio A wᵀx̄_is / sqrt(A wᵀS_is w)",
    ),
    (
        "oos_sharpe",
        "annualized out-of-sample Sharpe ratio A wᵀx̄_oos / sqrt(A wᵀS_oos w)",
    ),
    (
        "true_sharpe",
        "annualized true Sharpe ratio A wᵀμ / sqrt(A wᵀΣw)",
    ),
    (
        "oos_crra_ce",
        "annualized CRRA certainty equivalent A·CE of the daily out-of-sample portfolio \
         returns, CE = mean((1+r)^(1−γ))^(1/(1−γ)) − 1, γ = [returns] crra_gamma",
    ),
];

pub const N_METRICS: usize = METRICS.len();

/// Metrics in files written before the return models (issue 13): readers treat the
/// later ones as missing (NaN) in such files.
pub const N_METRICS_V1: usize = 7;

/// The index of metric `name` in [`METRICS`].
pub fn index(name: &str) -> Option<usize> {
    METRICS.iter().position(|(n, _)| *n == name)
}

/// Default CRRA relative risk aversion γ: the DHRP paper's value for developed
/// markets (§3.4, after Eq. 6).
pub const DEFAULT_CRRA_GAMMA: f64 = 2.5;

/// How the metrics are computed, from the spec.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricParams {
    /// Periods per year A.
    pub annualization: f64,
    /// CRRA relative risk aversion γ > 0 of `oos_crra_ce`.
    pub crra_gamma: f64,
}

/// The certainty equivalent per period of CRRA utility with relative risk aversion
/// `gamma` > 0 over the period returns `r`, i.e. the sure return whose utility
/// equals the mean utility of the returns (DHRP paper, Eq. 6, with wealth 1 + r_t):
///
/// `CE = (mean_t (1 + r_t)^{1−γ})^{1/(1−γ)} − 1` for γ ≠ 1, `exp(mean_t ln(1 + r_t)) − 1`
/// for γ = 1 (log utility, the limit).
///
/// Computed exactly from the returns, not by the second-order expansion
/// `CE ≈ μ − γσ²/2`, which ignores skewness and kurtosis — the point of the
/// Student-t paths. Evaluated in logs for accuracy and range:
/// `CE = expm1(LSE_t((1−γ)·ln1p(r_t)) − ln T)/(1−γ))` with LSE the log-sum-exp,
/// so neither `(1 + r)^{1−γ}` overflows at large γ nor `… − 1` cancels at daily
/// scale. A gross return `1 + r_t ≤ 0` (a loss of everything or more, possible only
/// with unrealistically large daily volatilities such as the unit model's) is
/// floored at 0 — limited liability: wealth cannot go negative. Then the utility of
/// that period is −∞ for γ ≥ 1 and the CE is −1 (the IEEE limits give exactly that);
/// for γ < 1 it is finite. NaN if any return is NaN or `r` is empty.
pub fn crra_ce(r: &[f64], gamma: f64) -> f64 {
    if r.is_empty() || r.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    let t = r.len() as f64;
    // ln(1 + r) with 1 + r floored at 0 (ln 0 = −∞).
    let ln_g = |x: f64| {
        if x <= -1.0 {
            f64::NEG_INFINITY
        } else {
            x.ln_1p()
        }
    };
    if gamma == 1.0 {
        let m = r.iter().map(|&x| ln_g(x)).sum::<f64>() / t;
        return m.exp_m1();
    }
    let k = 1.0 - gamma;
    // L_t = (1 − γ) ln(1 + r_t); with ln(1 + r_t) = −∞, L_t = +∞ (γ > 1) or −∞ (γ < 1).
    let l: Vec<f64> = r.iter().map(|&x| k * ln_g(x)).collect();
    let top = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let log_mean = if top == f64::INFINITY {
        f64::INFINITY
    } else if top == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else {
        top + (l.iter().map(|&v| (v - top).exp()).sum::<f64>() / t).ln()
    };
    // CE = exp(log_mean / (1 − γ)) − 1: +∞/(negative) = −∞ → CE = −1.
    (log_mean / k).exp_m1()
}

/// The metrics of [`METRICS`] for one trial and method. `w_oos = None` (the method
/// failed on the out-of-sample estimate) leaves turnover NaN; the failure itself
/// is recorded in the output's status tables.
pub fn measure(
    w: &Array1<f64>,
    w_oos: Option<&Array1<f64>>,
    d: &TrialData,
    p: &MetricParams,
) -> [f64; N_METRICS] {
    measure_many(&[(w, w_oos)], d, p)[0]
}

crate::avx2_dispatch! {
/// [`measure`] for several methods of one trial at once, the same numbers bit for bit:
/// each n×n matrix (S_is, S_oos, Σ, the factor F) and the T×n shocks are read once for
/// all methods instead of once per method (rows outer, methods inner, each method's
/// sums in [`measure`]'s order). From n ≈ 200 those matrices leave the cache, and
/// reading them per method made the metrics cost as much as an allocation.
pub fn measure_many(
    ws: &[(&Array1<f64>, Option<&Array1<f64>>)],
    d: &TrialData,
    p: &MetricParams,
) -> Vec<[f64; N_METRICS]> {
    let a = p.annualization;
    let w: Vec<&Array1<f64>> = ws.iter().map(|x| x.0).collect();
    // A PSD covariance gives wᵀSw ≥ 0 up to rounding, so tiny negatives are clamped; NaN and
    // ±∞ (overflow) stay non-finite and the engine records the trial as failed for the method.
    let vols = |s: &ndarray::Array2<f64>| -> Vec<f64> {
        quad_forms(s.view(), &w)
            .into_iter()
            .map(|q| {
                if q.is_nan() {
                    f64::NAN
                } else {
                    (a * q.max(0.0)).sqrt()
                }
            })
            .collect()
    };
    let (is_vol, oos_vol, true_vol) = (vols(&d.cov_is), vols(&d.cov_oos), vols(&d.sigma));
    let returns = d.oos_path.portfolio_returns_many(&w, &d.mu);
    ws.iter()
        .enumerate()
        .map(|(k, &(w, w_oos))| {
            let turnover = w_oos.map_or(f64::NAN, |o| 0.5 * (w - o).mapv(f64::abs).sum());
            let is_mean = a * w.dot(&d.mean_is);
            let oos_mean = a * w.dot(&d.mean_oos);
            let true_mean = a * w.dot(&d.mu);
            let ce = a * crra_ce(returns[k].as_slice().expect("contiguous"), p.crra_gamma);
            [
                is_vol[k],
                oos_vol[k],
                true_vol[k],
                turnover,
                1.0 / w.dot(w),
                w.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                w.mapv(f64::abs).sum(),
                is_mean,
                oos_mean,
                true_mean,
                is_mean / is_vol[k],
                oos_mean / oos_vol[k],
                true_mean / true_vol[k],
                ce,
            ]
        })
        .collect()
}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crra_ce_limits_and_expansion() {
        // A sure return is its own certainty equivalent, for every γ.
        for g in [0.5, 1.0, 2.5, 10.0] {
            assert!((crra_ce(&[0.01; 5], g) - 0.01).abs() < 1e-15, "{g}");
        }
        // γ → 1 is continuous (log utility).
        let r = [0.02, -0.01, 0.005, 0.03, -0.02];
        let log_ce = crra_ce(&r, 1.0);
        assert!((crra_ce(&r, 1.0 + 1e-7) - log_ce).abs() < 1e-9);
        assert!((crra_ce(&r, 1.0 - 1e-7) - log_ce).abs() < 1e-9);
        // Second order: CE ≈ μ − γσ²/2 (population variance) for small returns.
        let small: Vec<f64> = r.iter().map(|x| x * 0.01).collect();
        let mu = small.iter().sum::<f64>() / 5.0;
        let var = small.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / 5.0;
        let ce = crra_ce(&small, 3.0);
        // (The γσ²/2 term to 1 %: higher-order terms are O(r³).)
        assert!((ce - (mu - 1.5 * var)).abs() < 0.01 * 1.5 * var, "{ce}");
        // More risk aversion, lower CE.
        assert!(crra_ce(&r, 5.0) < crra_ce(&r, 2.0));
        // Ruin: a day losing everything makes the CE −1 for γ ≥ 1, finite for γ < 1.
        let ruin = [0.1, -1.5, 0.2];
        assert_eq!(crra_ce(&ruin, 2.5), -1.0);
        assert_eq!(crra_ce(&ruin, 1.0), -1.0);
        let c = crra_ce(&ruin, 0.5);
        let want = ((1.1f64.sqrt() + 0.0 + 1.2f64.sqrt()) / 3.0).powi(2) - 1.0;
        assert!((c - want).abs() < 1e-15, "{c} {want}");
        // Large γ neither overflows nor loses the result.
        let big = crra_ce(&[-0.5, 0.5], 100.0);
        assert!(big.is_finite() && big > -0.51 && big < -0.49, "{big}");
        assert!(crra_ce(&[], 2.0).is_nan() && crra_ce(&[0.1, f64::NAN], 2.0).is_nan());
    }

    #[test]
    fn metric_names_are_unique_and_v1_prefix_is_stable() {
        let v1 = [
            "is_vol",
            "oos_vol",
            "true_vol",
            "turnover",
            "n_eff",
            "max_weight",
            "gross",
        ];
        let names: Vec<&str> = METRICS[..N_METRICS_V1].iter().map(|m| m.0).collect();
        assert_eq!(names, v1);
        for (i, (n, _)) in METRICS.iter().enumerate() {
            assert_eq!(index(n), Some(i));
        }
    }
}
