//! Hierarchical Risk Parity (López de Prado 2016, "Building diversified portfolios
//! that outperform out of sample", J. Portfolio Management 42(4), §4).
//!
//! 1. Tree clustering: distance `d_ij = sqrt((1 − ρ_ij)/2)`, single linkage on the
//!    condensed distances. (The code printed in the paper passes the square
//!    matrix to scipy's `linkage`, which treats its rows as observations and
//!    clusters a different, Euclidean-of-distances matrix; we follow the text,
//!    as PyPortfolioOpt does.)
//! 2. Quasi-diagonalization: the tree's leaf order.
//! 3. Recursive bisection ([`recursive_bisection`]): split the ordered list in
//!    halves, give the halves `α = 1 − V_L/(V_L + V_R)` and `1 − α`, where `V` is
//!    the variance of the half's inverse-variance portfolio.
//!
//! The bisection is shared by every variant that only changes the order (the 57
//! ASRP variants of Schwendner et al. 2021).

use super::naive::inverse_variance;
use super::{Allocator, Context, Estimate};
use crate::error::{MethodError, MethodErrorKind};
use ndarray::{Array1, Array2};

/// Variance of the inverse-variance portfolio of the assets `items`
/// (López de Prado 2016, `getClusterVar`).
pub fn cluster_variance(cov: &Array2<f64>, items: &[usize]) -> f64 {
    let var = Array1::from_iter(items.iter().map(|&i| cov[(i, i)]));
    let w = inverse_variance(&var);
    let w = w.as_slice().expect("contiguous");
    // Flat indexing of the standard layout (the same entries in the same order as
    // `cov[(j, i)]`, without the 2-D index checks in the innermost loop; no copy for an
    // estimate, which is standard).
    let n = cov.ncols();
    let c = cov.as_standard_layout();
    let c = c.as_slice().expect("standard layout");
    let mut acc = 0.0;
    for (&wa, &i) in w.iter().zip(items) {
        let mut row = 0.0;
        for (&wb, &j) in w.iter().zip(items) {
            row += wb * c[j * n + i];
        }
        acc += row * wa;
    }
    acc
}

/// Recursive bisection on an order (López de Prado 2016, `getRecBipart`): the
/// first half of a list of k items holds ⌊k/2⌋ of them.
pub fn recursive_bisection(cov: &Array2<f64>, order: &[usize]) -> Result<Array1<f64>, MethodError> {
    let n = cov.nrows();
    let mut seen = vec![false; n];
    if order.len() != n
        || order
            .iter()
            .any(|&i| i >= n || std::mem::replace(&mut seen[i], true))
    {
        return Err(MethodError::new(
            MethodErrorKind::Unsupported,
            format!("order is not a permutation of 0..{n}"),
        ));
    }
    let mut w = Array1::<f64>::ones(n);
    let mut stack: Vec<&[usize]> = vec![order];
    while let Some(items) = stack.pop() {
        if items.len() < 2 {
            continue;
        }
        let (left, right) = items.split_at(items.len() / 2);
        let vl = cluster_variance(cov, left);
        let vr = cluster_variance(cov, right);
        let alpha = 1.0 - vl / (vl + vr);
        if !alpha.is_finite() {
            return Err(MethodError::new(
                MethodErrorKind::NonFinite,
                format!("bisection split factor is {alpha} (cluster variances {vl}, {vr})"),
            ));
        }
        for &i in left {
            w[i] *= alpha;
        }
        for &i in right {
            w[i] *= 1.0 - alpha;
        }
        stack.push(right);
        stack.push(left);
    }
    Ok(w)
}

/// HRP with single linkage, as in the paper.
pub struct Hrp;

impl Allocator for Hrp {
    fn name(&self) -> &str {
        "HRP"
    }
    fn allocate(&self, est: &Estimate, _: &Context) -> Result<Array1<f64>, MethodError> {
        let order = est.single_linkage()?.leaf_order();
        recursive_bisection(est.cov(), &order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn two_assets_is_inverse_variance() {
        // With two assets the bisection gives α = 1 − σ1²/(σ1² + σ2²) = IVP.
        let cov = array![[1.0, 0.3], [0.3, 4.0]];
        let w = recursive_bisection(&cov, &[0, 1]).unwrap();
        assert!((w[0] - 0.8).abs() < 1e-15 && (w[1] - 0.2).abs() < 1e-15);
    }

    #[test]
    fn hand_checked_three_assets() {
        // Order [2, 0, 1]: first split {2} | {0, 1}.
        let cov = array![[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]];
        let w = recursive_bisection(&cov, &[2, 0, 1]).unwrap();
        // V({2}) = 2, V({0,1}) = 0.5 ⇒ α = 1 − 2/2.5 = 0.2 to asset 2.
        assert!((w[2] - 0.2).abs() < 1e-15);
        assert!((w[0] - 0.4).abs() < 1e-15 && (w[1] - 0.4).abs() < 1e-15);
        assert!(recursive_bisection(&cov, &[0, 0, 1]).is_err());
    }
}
