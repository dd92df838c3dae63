//! Minimum-variance portfolios.
use super::{Allocator, Context, Estimate};
use crate::error::{MethodError, MethodErrorKind};
use crate::linalg;
use ndarray::Array1;

/// Closed-form global minimum variance `w = Σ⁻¹1 / 1ᵀΣ⁻¹1` (shorts allowed), as in
/// the blog study. Needs Σ positive definite: with T ≤ n or duplicated assets it
/// reports `NotPositiveDefinite` instead of returning a pseudo-inverse portfolio.
pub struct MinVar;

impl Allocator for MinVar {
    fn name(&self) -> &str {
        "MinVar"
    }
    fn allocate(&self, est: &Estimate, _: &Context) -> Result<Array1<f64>, MethodError> {
        est.variances()?;
        let n = est.n();
        let x = linalg::solve_spd(est.cov().view(), Array1::ones(n).view()).ok_or_else(|| {
            MethodError::new(
                MethodErrorKind::NotPositiveDefinite,
                "covariance is not positive definite (fewer observations than assets, or duplicated assets?)",
            )
        })?;
        // A numerically singular Σ can pass Cholesky with a rounding-sized pivot: Σ⁻¹1 then
        // overflows or its sum cancels to 0, and the weights would be ±inf or NaN.
        let s = x.sum();
        let w = x / s;
        if !(s.is_finite() && s != 0.0) || w.iter().any(|v| !v.is_finite()) {
            return Err(MethodError::new(
                MethodErrorKind::NotPositiveDefinite,
                "covariance is numerically singular (Σ⁻¹1 is not finite or sums to 0)",
            ));
        }
        Ok(w)
    }
}
