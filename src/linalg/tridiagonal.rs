//! The extreme eigenvalues of a symmetric matrix through its tridiagonal form: Householder
//! tridiagonalization (faer's blocked `tridiag_in_place`), then Sturm-sequence bisection.
//!
//! Why not faer's `self_adjoint_eigenvalues` when only λ_min and λ_max are wanted (MinVar's
//! rcond): its tridiagonal stage is the QR algorithm, whose deflation scan calls `hypot` on
//! every off-diagonal at every iteration (O(n²) `hypot` calls, about half of the call at
//! n = 100), while bisection needs O(n) divisions per step, for the two eigenvalues only.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd::tridiag;
use faer::{Mat, Par};
use ndarray::ArrayView2;

/// `T` of `A = Q T Qᵀ`: the diagonal and the subdiagonal (`e[i] = T[i+1, i]`, `e[n-1] = 0`).
struct Tridiagonal {
    d: Vec<f64>,
    e: Vec<f64>,
}

/// Householder tridiagonalization of the lower triangle of the symmetric `a`
/// (Golub & Van Loan 2013, §8.3.1), sequential.
/// `a` is multiplied by `scale` on the way in (a power of two: exact).
fn tridiagonalize(a: ArrayView2<'_, f64>, scale: f64) -> Tridiagonal {
    let n = a.nrows();
    // The lower triangle of a row-major matrix read column-major is its upper triangle:
    // for a symmetric input the same numbers, and copying element-wise keeps any layout.
    let mut trid = Mat::<f64>::from_fn(n, n, |i, j| a[(i, j)] * scale);
    let bs = faer::linalg::qr::no_pivoting::factor::recommended_block_size::<f64>(n, n);
    let mut factor = Mat::<f64>::zeros(bs, n.saturating_sub(1));
    if n > 1 {
        let mut buf = MemBuffer::new(tridiag::tridiag_in_place_scratch::<f64>(
            n,
            Par::Seq,
            Default::default(),
        ));
        tridiag::tridiag_in_place(
            trid.as_mut(),
            factor.as_mut(),
            Par::Seq,
            MemStack::new(&mut buf),
            Default::default(),
        );
    }
    let d = (0..n).map(|i| trid[(i, i)]).collect();
    let e = (0..n)
        .map(|i| if i + 1 < n { trid[(i + 1, i)] } else { 0.0 })
        .collect();
    Tridiagonal { d, e }
}

impl Tridiagonal {
    /// Numbers of eigenvalues of `T` below `x1` and below `x2`, by the signs of the LDLᵀ
    /// pivots of `T − xI` (Sturm; Demmel 1997, §5.3.4). Two shifts per pass: each pivot
    /// waits on the previous division, so two independent chains run in the time of one. A
    /// pivot smaller than `pivmin` is replaced by `−pivmin`, as LAPACK's `dlaebz` does, which
    /// keeps the count that of a matrix within a few ulps of `T`.
    fn counts_below(&self, x1: f64, x2: f64, pivmin: f64) -> (usize, usize) {
        let n = self.d.len();
        let (mut c1, mut c2) = (0, 0);
        let (mut q1, mut q2) = (self.d[0] - x1, self.d[0] - x2);
        let mut i = 0;
        loop {
            if q1.abs() < pivmin {
                q1 = -pivmin;
            }
            if q2.abs() < pivmin {
                q2 = -pivmin;
            }
            c1 += (q1 < 0.0) as usize;
            c2 += (q2 < 0.0) as usize;
            if i + 1 == n {
                break;
            }
            let e2 = self.e[i] * self.e[i];
            q1 = self.d[i + 1] - x1 - e2 / q1;
            q2 = self.d[i + 1] - x2 - e2 / q2;
            i += 1;
        }
        (c1, c2)
    }

    /// The smallest and largest eigenvalues of `T`, each by bisection on the Sturm count to
    /// an absolute accuracy of a few `u·‖T‖`, the accuracy of any backward stable solver.
    /// `None` for a non-finite `T`.
    pub fn extreme_eigenvalues(&self) -> Option<(f64, f64)> {
        let n = self.d.len();
        if n == 0 || !self.d.iter().chain(&self.e).all(|v| v.is_finite()) {
            return None;
        }
        // Gershgorin interval of T.
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut emax2: f64 = 0.0;
        for i in 0..n {
            let r = self.e[i].abs() + if i > 0 { self.e[i - 1].abs() } else { 0.0 };
            lo = lo.min(self.d[i] - r);
            hi = hi.max(self.d[i] + r);
            emax2 = emax2.max(self.e[i] * self.e[i]);
        }
        let norm = lo.abs().max(hi.abs());
        if norm == 0.0 {
            return Some((0.0, 0.0));
        }
        let pivmin = f64::MIN_POSITIVE * emax2.max(1.0);
        // Widened so that the count is certainly 0 at lo and n at hi.
        let pad = 2.0 * f64::EPSILON * norm * n as f64 + 2.0 * pivmin;
        let (lo, hi) = (lo - pad, hi + pad);
        let tol = 2.0 * f64::EPSILON * norm;
        // λ_min is the least x with count_below(x) ≥ 1, λ_max the least with count = n;
        // both intervals are halved in the same pass.
        let ([mut a1, mut b1], [mut a2, mut b2]) = ([lo, hi], [lo, hi]);
        loop {
            let (m1, m2) = (0.5 * (a1 + b1), 0.5 * (a2 + b2));
            let open1 = b1 - a1 > tol && m1 > a1 && m1 < b1;
            let open2 = b2 - a2 > tol && m2 > a2 && m2 < b2;
            if !(open1 || open2) {
                break;
            }
            let (c1, c2) = self.counts_below(m1, m2, pivmin);
            if open1 {
                if c1 >= 1 {
                    b1 = m1;
                } else {
                    a1 = m1;
                }
            }
            if open2 {
                if c2 >= n {
                    b2 = m2;
                } else {
                    a2 = m2;
                }
            }
        }
        Some((0.5 * (a1 + b1), 0.5 * (a2 + b2)))
    }
}

/// `(λ_min, λ_max)` of the symmetric `a` (lower triangle read), by tridiagonalization
/// (4n³/3 flops) and bisection (O(n) per step): 0.5–0.6× the time of faer's
/// eigenvalues-only call at n = 50–200 (`benches/scaling.rs`, `SCALING_DETAIL=1`). Accurate
/// to a few `u·‖A‖`, as any backward stable eigensolver. `None` for a non-finite input.
pub fn extreme_eigvalsh(a: ArrayView2<'_, f64>) -> Option<(f64, f64)> {
    if a.nrows() == 0 || !a.iter().all(|v| v.is_finite()) {
        return None;
    }
    // Scaled by a power of two to max |a_ij| in [1, 2) (exact, and 1 for a correlation
    // matrix), so that the squared off-diagonals of the Sturm recurrence can neither
    // overflow nor underflow; the eigenvalues are scaled back exactly.
    let amax = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if amax == 0.0 {
        return Some((0.0, 0.0));
    }
    let scale = 2f64.powi((-amax.log2().floor() as i32).clamp(-1000, 1000));
    let (lo, hi) = tridiagonalize(a, scale).extreme_eigenvalues()?;
    Some((lo / scale, hi / scale))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{RngExt, SeedableRng};

    fn random_symmetric(n: usize, seed: u64) -> Array2<f64> {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
        let mut a = Array2::<f64>::zeros((n, n));
        for i in 0..n {
            for j in 0..=i {
                let v: f64 = rng.random::<f64>() * 2.0 - 1.0;
                a[(i, j)] = v;
                a[(j, i)] = v;
            }
        }
        a
    }

    /// Against faer's full spectrum, to a few ulps of ‖A‖ (the accuracy both have), from
    /// n = 1 up through faer's divide-and-conquer size.
    #[test]
    fn extremes_match_faer() {
        for (n, seed) in [(1, 1), (2, 2), (3, 3), (10, 4), (50, 5), (100, 6), (150, 7)] {
            let a = random_symmetric(n, seed);
            let reference = crate::linalg::eigvalsh(a.view()).unwrap();
            let norm = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let (lo, hi) = extreme_eigvalsh(a.view()).unwrap();
            let tol = 8.0 * f64::EPSILON * norm * n as f64;
            assert!(
                (lo - reference[0]).abs() <= tol,
                "n {n}: {lo} vs {}",
                reference[0]
            );
            assert!(
                (hi - reference[n - 1]).abs() <= tol,
                "n {n}: {hi} vs {}",
                reference[n - 1]
            );
        }
    }

    #[test]
    fn singular_constant_diagonal_and_non_finite_inputs() {
        // Rank-deficient (8 zero eigenvalues, as the exact nearest-correlation repair
        // produces): λ_min = 0 to rounding, so MinVar's rcond is ~1e-16 and refused.
        let n = 40;
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(9);
        let x = Array2::from_shape_fn((n, n - 8), |_| rng.random::<f64>() - 0.5);
        let a = x.dot(&x.t());
        let top = crate::linalg::eigvalsh(a.view()).unwrap()[n - 1];
        let (lo, hi) = extreme_eigvalsh(a.view()).unwrap();
        assert!(lo.abs() <= 1e-13 * top && (hi - top).abs() <= 1e-13 * top);
        // Diagonal (already tridiagonal), equicorrelated (λ = 1 + 5ρ once, 1 − ρ five times)
        // and the zero matrix.
        let diag = Array2::from_diag(&ndarray::Array1::from(vec![3.0, -1.0, 2.0, 2.0]));
        let (lo, hi) = extreme_eigvalsh(diag.view()).unwrap();
        assert!((lo + 1.0).abs() < 1e-15 && (hi - 3.0).abs() < 1e-15);
        let rho = 0.3;
        let eq = Array2::from_shape_fn((6, 6), |(i, j)| if i == j { 1.0 } else { rho });
        let (lo, hi) = extreme_eigvalsh(eq.view()).unwrap();
        assert!((lo - 0.7).abs() < 1e-14 && (hi - 2.5).abs() < 1e-14);
        assert_eq!(
            extreme_eigvalsh(Array2::<f64>::zeros((3, 3)).view()),
            Some((0.0, 0.0))
        );
        let mut nan = eq.clone();
        nan[(1, 2)] = f64::NAN;
        assert!(extreme_eigvalsh(nan.view()).is_none());
        assert!(extreme_eigvalsh(Array2::<f64>::zeros((0, 0)).view()).is_none());
    }
}
