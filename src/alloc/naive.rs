//! Baselines that ignore correlations.
use super::{Allocator, Context, Estimate};
use crate::error::MethodError;
use ndarray::Array1;

/// Equal weight, `w_i = 1/n`.
pub struct EqualWeight;

impl Allocator for EqualWeight {
    fn name(&self) -> &str {
        "EW"
    }
    fn allocate(&self, est: &Estimate, _: &Context) -> Result<Array1<f64>, MethodError> {
        let n = est.n();
        Ok(Array1::from_elem(n, 1.0 / n as f64))
    }
}

/// Inverse-variance portfolio `w_i = σ_i⁻² / Σ_j σ_j⁻²`, the "risk parity" of the
/// blog study and the within-cluster allocation of HRP (López de Prado 2016).
pub struct InverseVariance;

/// Inverse-variance weights of the given variances.
pub fn inverse_variance(var: &Array1<f64>) -> Array1<f64> {
    let inv = var.mapv(|v| 1.0 / v);
    let s = inv.sum();
    inv / s
}

impl Allocator for InverseVariance {
    fn name(&self) -> &str {
        "RP"
    }
    fn allocate(&self, est: &Estimate, _: &Context) -> Result<Array1<f64>, MethodError> {
        Ok(inverse_variance(est.variances()?))
    }
}
