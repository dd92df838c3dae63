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
        let s = x.sum();
        Ok(x / s)
    }
}
