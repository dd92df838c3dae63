//! Minimum-variance portfolios.
use super::{Allocator, Context, Estimate};
use crate::error::{MethodError, MethodErrorKind};
use crate::linalg;
use ndarray::Array1;

/// How [`MinVar`] computes `Σ⁻¹1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MinVarSolver {
    /// Cholesky solve, after refusing estimates whose reciprocal condition number
    /// is below `rcond_min` (the default policy).
    Cholesky { rcond_min: f64 },
    /// The blog's `np.linalg.inv(Σ)` (LU with partial pivoting) and no refusal: a
    /// numerically singular estimate gives whatever the rounding errors give.
    Inverse,
}

/// Closed-form global minimum variance `w = Σ⁻¹1 / 1ᵀΣ⁻¹1` (shorts allowed), as in
/// the blog study.
///
/// Policy on singular estimates (issue 11): by default the estimate's reciprocal
/// condition number `rcond = λ_min(C) / λ_max(C)` is computed from the eigenvalues of
/// its correlation matrix `C = D^{-1/2} Σ D^{-1/2}` (the 2-norm condition number,
/// invariant to the assets' volatilities; by van der Sluis' theorem it is what
/// governs the accuracy of a Cholesky solve up to diagonal scaling). Below
/// [`MinVar::RCOND_MIN`] (1e-10: a solve would lose more than ~6 of 16 digits, and
/// a sample covariance with T > n + 1 observations is far above it) the method
/// reports `NotPositiveDefinite` instead of a portfolio. Exactly singular estimates
/// (T ≤ n, duplicated assets, returns simulated from a singular correlation such as
/// CorrGAN's exact nearest-correlation repair) have `rcond` of order 1e-16 or a
/// negative `λ_min`, and are always refused. `[control.MinVar] solver = "inverse"`
/// reproduces the blog's `np.linalg.inv` without refusing. Either way the per-trial
/// note (`/method_info`) is the `rcond` of the estimate.
pub struct MinVar {
    pub solver: MinVarSolver,
}

impl Default for MinVar {
    fn default() -> Self {
        MinVar {
            solver: MinVarSolver::Cholesky {
                rcond_min: Self::RCOND_MIN,
            },
        }
    }
}

impl MinVar {
    /// Default refusal threshold on the reciprocal condition number.
    pub const RCOND_MIN: f64 = 1e-10;

    /// Builds from `[control.MinVar]`: `solver = "cholesky" | "inverse"`,
    /// `rcond_min` in [0, 1) (cholesky only).
    pub fn from_control(control: &super::Control) -> Result<Self, String> {
        let mut solver = "cholesky";
        let mut rcond_min = None;
        for (k, v) in &control.0 {
            match k.as_str() {
                "solver" => {
                    solver = match v.as_str() {
                        "cholesky" => "cholesky",
                        "inverse" => "inverse",
                        other => {
                            return Err(format!(
                                "MinVar solver = '{other}' is not valid (valid: \"cholesky\" refuses estimates with reciprocal condition number below rcond_min, \"inverse\" is the blog's np.linalg.inv without refusing)"
                            ));
                        }
                    }
                }
                "rcond_min" => {
                    let x: f64 = v.parse().map_err(|_| {
                        format!(
                            "MinVar rcond_min = '{v}' is not a number (valid: 0 <= rcond_min < 1)"
                        )
                    })?;
                    if !(0.0..1.0).contains(&x) {
                        return Err(format!(
                            "MinVar rcond_min = {x} is out of range (valid: 0 <= rcond_min < 1)"
                        ));
                    }
                    rcond_min = Some(x);
                }
                other => {
                    return Err(format!(
                        "unknown MinVar control '{other}' (valid: solver = \"cholesky\" | \"inverse\", rcond_min = number in [0, 1))"
                    ));
                }
            }
        }
        let solver = match (solver, rcond_min) {
            ("inverse", Some(_)) => {
                return Err(
                    "MinVar rcond_min applies only to solver = \"cholesky\" (\"inverse\" never refuses)"
                        .into(),
                );
            }
            ("inverse", None) => MinVarSolver::Inverse,
            (_, r) => MinVarSolver::Cholesky {
                rcond_min: r.unwrap_or(Self::RCOND_MIN),
            },
        };
        Ok(MinVar { solver })
    }

    /// `λ_min(C) / λ_max(C)` of the estimate's correlation matrix (negative when
    /// rounding makes a singular estimate indefinite).
    pub fn rcond(est: &Estimate) -> Result<f64, MethodError> {
        // Only the two extreme eigenvalues: tridiagonalization plus Sturm bisection
        // (`linalg::extreme_eigvalsh`), not the whole spectrum.
        let (lo, hi) = linalg::extreme_eigvalsh(est.corr()?.view()).ok_or_else(|| {
            MethodError::new(
                MethodErrorKind::NonFinite,
                "eigenvalues of the correlation are not finite",
            )
        })?;
        Ok(lo / hi)
    }

    /// Whether the estimate's rcond is certainly at least `rcond_min`, by one
    /// Cholesky factorization (n³/3 flops, against ~4n³/3 for the tridiagonal form behind the rcond):
    /// if `C − δI` factors, then `λ_min(C) ≥ δ − ‖E‖` with the backward error
    /// `‖E‖₂ ≤ n·γ_{n+1} ≈ n²u` for a unit diagonal (Higham 2002, Thm. 10.5),
    /// and `λ_max(C) ≤ Λ = min(n, max_i Σ_j |c_ij|)`. With
    /// `δ = 2·rcond_min·Λ + 10·n²u` the eigenvalue route (also backward stable,
    /// error ≤ p(n)·u·‖C‖ ≤ p(n)·n·u) then computes an rcond above `rcond_min`
    /// too, so the decision, hence the weights, are the same. False means "not
    /// certain" (e.g. λ_min below δ): the caller computes the rcond.
    fn surely_conditioned(est: &Estimate, rcond_min: f64) -> bool {
        use faer::dyn_stack::{MemBuffer, MemStack};
        use faer::linalg::cholesky::llt::factor::{
            LltRegularization, cholesky_in_place, cholesky_in_place_scratch,
        };
        let Ok(c) = est.corr() else { return false };
        let n = c.nrows();
        let nf = n as f64;
        let Some(cs) = c.as_slice() else { return false };
        let row_sum = cs
            .chunks_exact(n.max(1))
            .map(|r| r.iter().map(|x| x.abs()).sum::<f64>())
            .fold(0.0, f64::max);
        let lambda = nf.min(row_sum) * (1.0 + 1e-12);
        let delta = 2.0 * rcond_min * lambda + 10.0 * nf * nf * f64::EPSILON;
        if !(delta < 1.0) {
            return false;
        }
        // Row-major C is its own transpose: read as column-major, the same matrix.
        let mut a = faer::Mat::<f64>::from_fn(n, n, |i, j| {
            cs[j * n + i] - if i == j { delta } else { 0.0 }
        });
        let mut buf = MemBuffer::new(cholesky_in_place_scratch::<f64>(
            n,
            faer::Par::Seq,
            Default::default(),
        ));
        cholesky_in_place(
            a.as_mut(),
            LltRegularization::default(),
            faer::Par::Seq,
            MemStack::new(&mut buf),
            Default::default(),
        )
        .is_ok_and(|_| (0..n).all(|i| a[(i, i)].is_finite() && a[(i, i)] > 0.0))
    }

    /// `Σ⁻¹1 / 1ᵀΣ⁻¹1` by Cholesky, for an estimate already accepted.
    fn cholesky_weights(est: &Estimate) -> Result<Array1<f64>, MethodError> {
        let n = est.n();
        let x = linalg::solve_spd(est.cov().view(), Array1::ones(n).view()).ok_or_else(|| {
            MethodError::new(
                MethodErrorKind::NotPositiveDefinite,
                "covariance is not positive definite (fewer observations than assets, or duplicated assets?)",
            )
        })?;
        normalized(x)
    }
}

/// `x / 1ᵀx`, refusing what is not finite.
fn normalized(x: Array1<f64>) -> Result<Array1<f64>, MethodError> {
    // A numerically singular Σ can pass Cholesky with a rounding-sized pivot (or the blog's
    // inverse can overflow): Σ⁻¹1 then overflows or its sum cancels to 0, and the weights
    // would be ±inf or NaN. That is a failure, never a result.
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

/// `[control.MinVar]` builder for the registry.
pub fn build(control: &super::Control) -> Result<Box<dyn Allocator>, String> {
    Ok(Box::new(MinVar::from_control(control)?))
}

impl Allocator for MinVar {
    fn name(&self) -> &str {
        "MinVar"
    }
    /// Without the note: under the default policy, an estimate that is certainly
    /// conditioned enough ([`MinVar::surely_conditioned`]) skips the eigenvalues
    /// (the engine asks for no note on the out-of-sample estimate). Same weights
    /// and the same refusals as [`Allocator::allocate_noted`].
    fn allocate(&self, est: &Estimate, ctx: &Context) -> Result<Array1<f64>, MethodError> {
        if let MinVarSolver::Cholesky { rcond_min } = self.solver {
            est.variances()?;
            if Self::surely_conditioned(est, rcond_min) {
                return Self::cholesky_weights(est);
            }
        }
        self.allocate_noted(est, ctx).map(|x| x.0)
    }
    fn allocate_noted(
        &self,
        est: &Estimate,
        _: &Context,
    ) -> Result<(Array1<f64>, f64), MethodError> {
        est.variances()?;
        let n = est.n();
        let rcond = Self::rcond(est)?;
        let x = match self.solver {
            MinVarSolver::Cholesky { rcond_min } => {
                if rcond.is_nan() || rcond < rcond_min {
                    return Err(MethodError::new(
                        MethodErrorKind::NotPositiveDefinite,
                        format!(
                            "covariance is not positive definite (numerically singular): reciprocal condition number {rcond:.2e} of the correlation is below rcond_min = {rcond_min:.0e} (solver = \"inverse\" computes the blog's np.linalg.inv anyway)"
                        ),
                    ));
                }
                return Ok((Self::cholesky_weights(est)?, rcond));
            }
            MinVarSolver::Inverse => {
                // The blog: inv = np.linalg.inv(S); inv·1 / 1ᵀ(inv·1).
                let inv = linalg::inverse_lu(est.cov().view()).ok_or_else(|| {
                    MethodError::new(
                        MethodErrorKind::NotPositiveDefinite,
                        "exactly singular: LU found a zero pivot (np.linalg.inv raises LinAlgError here)",
                    )
                })?;
                inv.dot(&Array1::<f64>::ones(n))
            }
        };
        Ok((normalized(x)?, rcond))
    }
    fn note_description(&self) -> Option<String> {
        let mode = match self.solver {
            MinVarSolver::Cholesky { rcond_min } => {
                format!("solver = cholesky, estimates below rcond_min = {rcond_min:e} refused")
            }
            MinVarSolver::Inverse => "solver = inverse (np.linalg.inv, never refuses)".into(),
        };
        Some(format!(
            "reciprocal condition number λ_min/λ_max of the estimate's correlation matrix ({mode})"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// The note-free path (Cholesky certificate) and the noted path (eigenvalue
    /// rcond) give the same weights, bit for bit, and the same refusals, on
    /// equicorrelated matrices whose rcond `(1 − ρ)/(1 + (n − 1)ρ)` sweeps
    /// through the thresholds, for several `rcond_min`.
    #[test]
    fn certificate_path_matches_the_rcond_path() {
        let ctx = Context {
            seed: 0,
            trial: 0,
            out_of_sample: true,
        };
        let mut skipped = 0;
        for n in [5, 60] {
            for e in 0..=28 {
                let rho = 1.0 - 10f64.powf(-(e as f64) / 2.0);
                let vols: Vec<f64> = (0..n).map(|i| 0.5 + 0.03 * i as f64).collect();
                let cov = Array2::from_shape_fn((n, n), |(i, j)| {
                    vols[i] * vols[j] * if i == j { 1.0 } else { rho }
                });
                for rcond_min in [0.0, 1e-12, 1e-10, 1e-6, 1e-3] {
                    let m = MinVar {
                        solver: MinVarSolver::Cholesky { rcond_min },
                    };
                    let est = Estimate::new(cov.clone());
                    skipped += usize::from(MinVar::surely_conditioned(&est, rcond_min));
                    let a = m.allocate(&est, &ctx);
                    let b = m.allocate_noted(&Estimate::new(cov.clone()), &ctx);
                    match (a, b) {
                        (Ok(wa), Ok((wb, _))) => assert_eq!(wa, wb, "n {n} rho {rho}"),
                        (Err(ea), Err(eb)) => assert_eq!(ea.kind, eb.kind),
                        (a, b) => panic!("n {n} rho {rho} rcond_min {rcond_min}: {a:?} vs {b:?}"),
                    }
                }
            }
        }
        // The certificate did its job on the well-conditioned cases.
        assert!(skipped > 50, "{skipped}");
    }
}
