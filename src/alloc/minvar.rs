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

/// How [`MinVar`] measures the conditioning of an estimate (`[control.MinVar]
/// rcond_method`): the number it refuses on and records as its note.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RcondMethod {
    /// `rcond = 1/(‖C‖₁·‖C⁻¹‖₁)`, the 1-norm reciprocal condition number of the
    /// correlation C, with `‖C⁻¹‖₁` estimated from the Cholesky factor the weights are
    /// solved with (Hager 1984; Higham 1988, Alg. 4.1: [`linalg::one_norm_estimate`]),
    /// as LAPACK's `dpocon` and R's `rcond`/`solve` do. ~10n² flops beyond the
    /// factorization. The estimate is a lower bound on `‖C⁻¹‖₁`, usually exact (so the
    /// rcond an upper bound, usually exact). With `solver = "inverse"` `‖C⁻¹‖₁` is
    /// computed exactly from the inverse. The default.
    OneNormEstimate,
    /// `rcond = λ_min(C)/λ_max(C)`, the 2-norm reciprocal condition number, exact, from
    /// the tridiagonal form (`linalg::extreme_eigvalsh`, 4n³/3 flops: about one floor
    /// kernel of a trial at n ≥ 400, the previous default).
    Eigenvalues,
}

/// Closed-form global minimum variance `w = Σ⁻¹1 / 1ᵀΣ⁻¹1` (shorts allowed), as in
/// the blog study.
///
/// Policy on singular estimates (issue 11): by default the estimate is factored by
/// Cholesky and the reciprocal condition number of its correlation matrix
/// `C = D^{-1/2} Σ D^{-1/2}` (invariant to the assets' volatilities; by van der Sluis'
/// theorem what governs the accuracy of a Cholesky solve up to diagonal scaling) is
/// estimated in the 1-norm from that factor, as R's `solve` does before it refuses
/// ("system is computationally singular: reciprocal condition number = …"). Below
/// [`MinVar::RCOND_MIN`] (1e-10: a solve would lose more than ~6 of 16 digits, and a
/// sample covariance with T > n + 1 observations is far above it), or when Cholesky
/// fails, the method reports `NotPositiveDefinite` instead of a portfolio. Exactly
/// singular estimates (T ≤ n, duplicated assets, returns simulated from a singular
/// correlation such as CorrGAN's exact nearest-correlation repair) have `rcond` of
/// order 1e-16 or fail to factor, and are always refused. `rcond_method =
/// "eigenvalues"` measures `λ_min/λ_max` exactly instead ([`RcondMethod`]).
/// `[control.MinVar] solver = "inverse"` reproduces the blog's `np.linalg.inv` without
/// refusing. Either way the per-trial note (`/method_info`) is the `rcond` of the
/// in-sample estimate.
pub struct MinVar {
    pub solver: MinVarSolver,
    pub rcond: RcondMethod,
}

impl Default for MinVar {
    fn default() -> Self {
        MinVar {
            solver: MinVarSolver::Cholesky {
                rcond_min: Self::RCOND_MIN,
            },
            rcond: RcondMethod::OneNormEstimate,
        }
    }
}

impl MinVar {
    /// Default refusal threshold on the reciprocal condition number.
    pub const RCOND_MIN: f64 = 1e-10;

    /// Builds from `[control.MinVar]`: `solver = "cholesky" | "inverse"`,
    /// `rcond_min` in [0, 1) (cholesky only), `rcond_method = "estimate" |
    /// "eigenvalues"`.
    pub fn from_control(control: &super::Control) -> Result<Self, String> {
        let mut solver = "cholesky";
        let mut rcond_min = None;
        let mut rcond = RcondMethod::OneNormEstimate;
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
                "rcond_method" => {
                    rcond = match v.as_str() {
                        "estimate" => RcondMethod::OneNormEstimate,
                        "eigenvalues" => RcondMethod::Eigenvalues,
                        other => {
                            return Err(format!(
                                "MinVar rcond_method = '{other}' is not valid (valid: \"estimate\" is the 1-norm reciprocal condition number estimated from the Cholesky factor as R's rcond, \"eigenvalues\" is λ_min/λ_max exactly at 4n³/3 flops)"
                            ));
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "unknown MinVar control '{other}' (valid: solver = \"cholesky\" | \"inverse\", rcond_min = number in [0, 1), rcond_method = \"estimate\" | \"eigenvalues\")"
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
        Ok(MinVar { solver, rcond })
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
    /// Without the note. Under the 1-norm estimate the note costs O(n²) and is computed
    /// anyway (it decides the refusal). Under `rcond_method = "eigenvalues"`, an
    /// estimate that is certainly conditioned enough ([`MinVar::surely_conditioned`])
    /// skips the eigenvalues (the engine asks for no note on the out-of-sample
    /// estimate). Same weights and the same refusals as [`Allocator::allocate_noted`].
    fn allocate(&self, est: &Estimate, ctx: &Context) -> Result<Array1<f64>, MethodError> {
        if let (MinVarSolver::Cholesky { rcond_min }, RcondMethod::Eigenvalues) =
            (self.solver, self.rcond)
        {
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
        let var = est.variances()?;
        let n = est.n();
        let refuse = |rcond: f64, rcond_min: f64| {
            MethodError::new(
                MethodErrorKind::NotPositiveDefinite,
                format!(
                    "covariance is not positive definite (numerically singular): reciprocal condition number {rcond:.2e} of the correlation is below rcond_min = {rcond_min:.0e} (solver = \"inverse\" computes the blog's np.linalg.inv anyway)"
                ),
            )
        };
        match (self.solver, self.rcond) {
            (MinVarSolver::Cholesky { rcond_min }, RcondMethod::OneNormEstimate) => {
                let chol = linalg::Cholesky::new(est.cov().view()).ok_or_else(|| {
                    MethodError::new(
                        MethodErrorKind::NotPositiveDefinite,
                        format!(
                            "covariance is not positive definite (numerically singular): its Cholesky factorization fails, so its reciprocal condition number is 0 < rcond_min = {rcond_min:.0e} (solver = \"inverse\" computes the blog's np.linalg.inv anyway)"
                        ),
                    )
                })?;
                let s: Vec<f64> = var.iter().map(|v| v.sqrt()).collect();
                let inv_norm = linalg::one_norm_estimate(n, |x| {
                    x.iter_mut().zip(&s).for_each(|(x, s)| *x *= s);
                    chol.solve_in_place(x);
                    x.iter_mut().zip(&s).for_each(|(x, s)| *x *= s);
                });
                let rcond = one_norm_rcond(est.cov(), &s, inv_norm);
                if rcond.is_nan() || rcond < rcond_min {
                    return Err(refuse(rcond, rcond_min));
                }
                let x = chol.solve(Array1::ones(n).view()).ok_or_else(not_pd)?;
                Ok((normalized(x)?, rcond))
            }
            (MinVarSolver::Cholesky { rcond_min }, RcondMethod::Eigenvalues) => {
                let rcond = Self::rcond(est)?;
                if rcond.is_nan() || rcond < rcond_min {
                    return Err(refuse(rcond, rcond_min));
                }
                Ok((Self::cholesky_weights(est)?, rcond))
            }
            (MinVarSolver::Inverse, method) => {
                let eig = match method {
                    RcondMethod::Eigenvalues => Some(Self::rcond(est)?),
                    RcondMethod::OneNormEstimate => None,
                };
                // The blog: inv = np.linalg.inv(S); inv·1 / 1ᵀ(inv·1).
                let inv = linalg::inverse_lu(est.cov().view()).ok_or_else(|| {
                    MethodError::new(
                        MethodErrorKind::NotPositiveDefinite,
                        "exactly singular: LU found a zero pivot (np.linalg.inv raises LinAlgError here)",
                    )
                })?;
                let rcond = eig.unwrap_or_else(|| {
                    // ‖C⁻¹‖₁ exactly: C⁻¹ = D^{1/2} Σ⁻¹ D^{1/2}.
                    let s: Vec<f64> = var.iter().map(|v| v.sqrt()).collect();
                    one_norm_rcond(est.cov(), &s, scaled_one_norm(&inv, &s))
                });
                Ok((normalized(inv.dot(&Array1::<f64>::ones(n)))?, rcond))
            }
        }
    }
    fn note_description(&self) -> Option<String> {
        let mode = match self.solver {
            MinVarSolver::Cholesky { rcond_min } => {
                format!("solver = cholesky, estimates below rcond_min = {rcond_min:e} refused")
            }
            MinVarSolver::Inverse => "solver = inverse (np.linalg.inv, never refuses)".into(),
        };
        let what = match (self.rcond, self.solver) {
            (RcondMethod::Eigenvalues, _) => {
                "2-norm reciprocal condition number λ_min/λ_max of the estimate's correlation matrix C (rcond_method = eigenvalues, exact)"
            }
            (RcondMethod::OneNormEstimate, MinVarSolver::Cholesky { .. }) => {
                "1-norm reciprocal condition number 1/(‖C‖₁‖C⁻¹‖₁) of the estimate's correlation matrix C, ‖C⁻¹‖₁ estimated from the Cholesky factor (Higham 1988; as LAPACK dpocon and R's rcond)"
            }
            (RcondMethod::OneNormEstimate, MinVarSolver::Inverse) => {
                "1-norm reciprocal condition number 1/(‖C‖₁‖C⁻¹‖₁) of the estimate's correlation matrix C, ‖C⁻¹‖₁ from the computed inverse"
            }
        };
        Some(format!("{what} ({mode})"))
    }
}

fn not_pd() -> MethodError {
    MethodError::new(
        MethodErrorKind::NotPositiveDefinite,
        "covariance is not positive definite (fewer observations than assets, or duplicated assets?)",
    )
}

/// `max_j Σ_i |s_i a_ij s_j|`: the 1-norm of `S A S` for `S = diag(s)`, without
/// forming it.
fn scaled_one_norm(a: &ndarray::Array2<f64>, s: &[f64]) -> f64 {
    let mut col = vec![0.0f64; s.len()];
    for (row, &si) in a.outer_iter().zip(s) {
        for ((c, &v), &sj) in col.iter_mut().zip(row.iter()).zip(s) {
            *c += (si * v * sj).abs();
        }
    }
    col.into_iter().fold(0.0, f64::max)
}

/// `1/(‖C‖₁·inv_norm)` for the correlation `C = D^{-1/2} Σ D^{-1/2}` of `cov` (`s` the
/// volatilities) and an estimate or value of `‖C⁻¹‖₁`, in LAPACK's order of operations
/// (`dpocon`: `(1/ainvnm)/anorm`); 0 when either norm is 0.
fn one_norm_rcond(cov: &ndarray::Array2<f64>, s: &[f64], inv_norm: f64) -> f64 {
    let r: Vec<f64> = s.iter().map(|v| 1.0 / v).collect();
    let c_norm = scaled_one_norm(cov, &r);
    if inv_norm == 0.0 || c_norm == 0.0 {
        return 0.0;
    }
    (1.0 / inv_norm) / c_norm
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
                        rcond: RcondMethod::Eigenvalues,
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

    #[link(name = "lapack")]
    unsafe extern "C" {
        fn dpotrf_(uplo: *const u8, n: *const i32, a: *mut f64, lda: *const i32, info: *mut i32);
        #[allow(clippy::too_many_arguments)]
        fn dpocon_(
            uplo: *const u8,
            n: *const i32,
            a: *const f64,
            lda: *const i32,
            anorm: *const f64,
            rcond: *mut f64,
            work: *mut f64,
            iwork: *mut i32,
            info: *mut i32,
        );
    }

    /// LAPACK's `dpotrf` + `dpocon` on the correlation C (Debian's LAPACK, which the
    /// crate links for R's `dsyevr`): the reference for the default note.
    fn lapack_rcond(c: &Array2<f64>) -> f64 {
        let n = c.nrows() as i32;
        let mut a: Vec<f64> = c.iter().copied().collect();
        let anorm = c
            .columns()
            .into_iter()
            .map(|col| col.iter().map(|v| v.abs()).sum::<f64>())
            .fold(0.0, f64::max);
        let (mut info, mut rcond) = (0i32, 0.0f64);
        let mut work = vec![0.0f64; 3 * c.nrows()];
        let mut iwork = vec![0i32; c.nrows()];
        // SAFETY: `a` is n × n column-major (C is symmetric), work sizes as documented.
        unsafe {
            dpotrf_(b"L".as_ptr(), &n, a.as_mut_ptr(), &n, &mut info);
            assert_eq!(info, 0, "dpotrf");
            dpocon_(
                b"L".as_ptr(),
                &n,
                a.as_ptr(),
                &n,
                &anorm,
                &mut rcond,
                work.as_mut_ptr(),
                iwork.as_mut_ptr(),
                &mut info,
            );
        }
        assert_eq!(info, 0, "dpocon");
        rcond
    }

    fn noted(m: &MinVar, cov: &Array2<f64>) -> Result<(Array1<f64>, f64), MethodError> {
        let ctx = Context {
            seed: 0,
            trial: 0,
            out_of_sample: false,
        };
        m.allocate_noted(&Estimate::new(cov.clone()), &ctx)
    }

    /// Sample covariances of T days of n assets with volatilities over [0.5, 3] and a
    /// common factor of strength `beta`: rcond from ~1e-4 to ~0.3.
    fn sample_covariance(n: usize, t: usize, beta: f64, seed: u64) -> Array2<f64> {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
        let mut x = Array2::<f64>::zeros((t, n));
        for mut row in x.rows_mut() {
            let m: f64 = StandardNormal.sample(&mut rng);
            for (j, v) in row.iter_mut().enumerate() {
                let e: f64 = StandardNormal.sample(&mut rng);
                *v = (0.5 + 2.5 * j as f64 / n as f64) * (beta * m + e);
            }
        }
        crate::linalg::sample_cov(x.view())
    }

    /// The default note equals LAPACK's `dpocon` on the correlation to rounding (the
    /// same estimator steps, another but equivalent factor: `Σ`'s scaled instead of
    /// C's), is an upper bound on the exact 1-norm rcond (from the inverse, which
    /// `solver = "inverse"` records) and within a factor 2 of it; the weights are those
    /// of the previous default, bit for bit (one factor serves the estimate and the
    /// solve).
    #[test]
    fn one_norm_estimate_matches_lapack_and_bounds_the_exact_rcond() {
        let est_mode = MinVar::default();
        let inv_mode = MinVar {
            solver: MinVarSolver::Inverse,
            rcond: RcondMethod::OneNormEstimate,
        };
        let mut exact_hits = 0;
        let mut count = 0;
        for (k, &(n, t, beta)) in [(5, 12, 0.5), (30, 40, 1.0), (60, 65, 2.0), (100, 200, 0.3)]
            .iter()
            .enumerate()
        {
            for r in 0..10u64 {
                let cov = sample_covariance(n, t, beta, 100 * k as u64 + r);
                let s: Vec<f64> = cov.diag().iter().map(|v| v.sqrt()).collect();
                let c = Array2::from_shape_fn((n, n), |(i, j)| cov[(i, j)] / (s[i] * s[j]));
                let (w, note) = noted(&est_mode, &cov).unwrap();
                let lapack = lapack_rcond(&c);
                assert!(
                    (note - lapack).abs() <= 1e-10 * lapack,
                    "n {n} r {r}: {note:e} vs LAPACK {lapack:e}"
                );
                let (_, exact) = noted(&inv_mode, &cov).unwrap();
                assert!(
                    note >= exact * (1.0 - 1e-9),
                    "n {n} r {r}: {note:e} < {exact:e}"
                );
                assert!(note <= 2.0 * exact, "n {n} r {r}: {note:e} vs {exact:e}");
                exact_hits += usize::from(note <= exact * (1.0 + 1e-9));
                count += 1;
                let previous = MinVar::cholesky_weights(&Estimate::new(cov.clone())).unwrap();
                assert_eq!(w, previous);
            }
        }
        // 24 of 40 exact here, the others within 1.55× (Higham's bound of thumb: 3×).
        assert!(exact_hits * 2 >= count, "exact on {exact_hits} of {count}");
    }

    /// Equicorrelation ρ: C⁻¹ = (I − a11ᵀ)/(1 − ρ), a = ρ/(1 + (n − 1)ρ), every column
    /// of C⁻¹ has the same 1-norm, and Hager's second step finds it: the note is
    /// `(1 − ρ)/((1 + (n − 1)ρ)(1 − a + (n − 1)|a|))` to rounding; refusals follow it.
    #[test]
    fn one_norm_rcond_of_equicorrelation_is_exact() {
        for n in [2usize, 7, 50] {
            for rho in [-0.5 / n as f64, 0.0, 0.3, 0.9, 1.0 - 1e-6, 1.0 - 1e-9] {
                let nf = n as f64;
                let vols: Vec<f64> = (0..n).map(|i| 0.5 + 0.1 * i as f64).collect();
                let cov = Array2::from_shape_fn((n, n), |(i, j)| {
                    vols[i] * vols[j] * if i == j { 1.0 } else { rho }
                });
                let a = rho / (1.0 + (nf - 1.0) * rho);
                let want = (1.0 - rho)
                    / ((1.0 + (nf - 1.0) * rho.abs()) * ((1.0 - a).abs() + (nf - 1.0) * a.abs()));
                let any = MinVar {
                    solver: MinVarSolver::Cholesky { rcond_min: 0.0 },
                    rcond: RcondMethod::OneNormEstimate,
                };
                let (_, note) = noted(&any, &cov).unwrap();
                let tol = 1e-13 / want.min(1.0);
                assert!(
                    (note - want).abs() <= tol * want,
                    "n {n} ρ {rho}: {note:e} vs {want:e}"
                );
                let strict = MinVar {
                    solver: MinVarSolver::Cholesky {
                        rcond_min: want * 1.01,
                    },
                    rcond: RcondMethod::OneNormEstimate,
                };
                let e = noted(&strict, &cov).unwrap_err();
                assert_eq!(e.kind, MethodErrorKind::NotPositiveDefinite);
                assert!(e.message.contains("rcond_min"), "{}", e.message);
            }
        }
    }

    /// Both conditioning measures refuse what Cholesky cannot factor, and the default
    /// says so; `rcond_method` is validated.
    #[test]
    fn rcond_method_control() {
        use super::super::Control;
        let m = MinVar::from_control(&Control::new().with("rcond_method", "eigenvalues")).unwrap();
        assert_eq!(m.rcond, RcondMethod::Eigenvalues);
        assert_eq!(
            MinVar::from_control(&Control::new()).unwrap().rcond,
            RcondMethod::OneNormEstimate
        );
        let e = MinVar::from_control(&Control::new().with("rcond_method", "svd"))
            .err()
            .unwrap();
        assert!(
            e.contains("rcond_method = 'svd' is not valid") && e.contains("eigenvalues"),
            "{e}"
        );
        // Two equal assets: exactly singular.
        let dup = ndarray::array![[1.0, 1.0, 0.2], [1.0, 1.0, 0.2], [0.2, 0.2, 1.0]];
        for m in [MinVar::default(), m] {
            let e = noted(&m, &dup).unwrap_err();
            assert_eq!(
                e.kind,
                MethodErrorKind::NotPositiveDefinite,
                "{}",
                e.message
            );
        }
        // Eigenvalue mode notes λ_min/λ_max: (1 − ρ)/(1 + (n − 1)ρ).
        let cov = Array2::from_shape_fn((4, 4), |(i, j)| if i == j { 1.0 } else { 0.5 });
        let eig = MinVar {
            solver: MinVarSolver::Cholesky { rcond_min: 0.0 },
            rcond: RcondMethod::Eigenvalues,
        };
        let (_, note) = noted(&eig, &cov).unwrap();
        assert!((note - 0.5 / 2.5).abs() < 1e-15, "{note}");
    }
}
