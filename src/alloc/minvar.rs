//! Minimum-variance portfolios.
use super::{Allocator, Context, Estimate};
use crate::error::{MethodError, MethodErrorKind};
use crate::linalg;
use ndarray::{Array1, Array2};

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
        let ev = linalg::eigvalsh(est.corr()?.view()).ok_or_else(|| {
            MethodError::new(
                MethodErrorKind::NonFinite,
                "eigenvalues of the correlation did not converge",
            )
        })?;
        let n = ev.len();
        Ok(ev[0] / ev[n - 1])
    }
}

/// `[control.MinVar]` builder for the registry.
pub fn build(control: &super::Control) -> Result<Box<dyn Allocator>, String> {
    Ok(Box::new(MinVar::from_control(control)?))
}

impl Allocator for MinVar {
    fn name(&self) -> &str {
        "MinVar"
    }
    fn allocate(&self, est: &Estimate, ctx: &Context) -> Result<Array1<f64>, MethodError> {
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
                linalg::solve_spd(est.cov().view(), Array1::ones(n).view()).ok_or_else(|| {
                    MethodError::new(
                        MethodErrorKind::NotPositiveDefinite,
                        "covariance is not positive definite (fewer observations than assets, or duplicated assets?)",
                    )
                })?
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
        let s = x.sum();
        Ok((x / s, rcond))
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

/// Long-only minimum variance: `min wᵀΣw` s.t. `1ᵀw = 1, w ≥ 0`, solved exactly.
///
/// Substituting `w = v / 1ᵀv` turns it into the bound-constrained QP
/// `min ½vᵀΣv − 1ᵀv, v ≥ 0` (KKT: `Σv − 1 = μ ≥ 0`, `μ ⊥ v`; then
/// `Σw = (1 + μ)/1ᵀv` are the original KKT conditions with multiplier
/// `2/1ᵀv`). That QP is solved by the Lawson & Hanson (1974, ch. 23) active-set
/// method: variables enter one at a time by largest negative gradient, and the
/// equality subproblem on the free set is solved by Cholesky. The answer is
/// certified by the KKT residual of the original problem, scaled by `λ = wᵀΣw`:
/// `max(|(Σw)_i − λ|/λ over free i, (λ − (Σw)_i)⁺/λ over bound i)`, which must be
/// below `kkt_tol`.
pub struct MinVarLong {
    /// Largest accepted scaled KKT residual.
    pub kkt_tol: f64,
}

impl Default for MinVarLong {
    fn default() -> Self {
        MinVarLong { kkt_tol: 1e-10 }
    }
}

/// Cholesky factor of `Q` restricted to an ordered free set, grown one variable at
/// a time in O(k²) (a new last row by forward substitution) and rebuilt when a
/// variable leaves. This keeps the whole active-set solve at O(n³) instead of
/// O(n⁴) for refactorizing every step.
struct FreeSetCholesky {
    p: Vec<usize>,
    /// Row-major lower factor with row stride `cap`.
    l: Vec<f64>,
    cap: usize,
}

impl FreeSetCholesky {
    fn new(cap: usize) -> Self {
        FreeSetCholesky {
            p: Vec::with_capacity(cap),
            l: vec![0.0; cap * cap],
            cap,
        }
    }

    /// Appends variable `j`; false if the extended block is not positive definite.
    fn push(&mut self, q: &Array2<f64>, j: usize) -> bool {
        let (k, c) = (self.p.len(), self.cap);
        let mut d = q[(j, j)];
        for i in 0..k {
            let mut s = q[(j, self.p[i])];
            for m in 0..i {
                s -= self.l[k * c + m] * self.l[i * c + m];
            }
            let v = s / self.l[i * c + i];
            self.l[k * c + i] = v;
            d -= v * v;
        }
        // Relative pivot test: a pivot lost to cancellation means a singular block.
        if !(d > 1e-14 * q[(j, j)]) || !d.is_finite() {
            return false;
        }
        self.l[k * c + k] = d.sqrt();
        self.p.push(j);
        true
    }

    /// Rebuilds the factor for a new free set (in the given order).
    fn rebuild(&mut self, q: &Array2<f64>, p: &[usize]) -> bool {
        self.p.clear();
        p.iter().all(|&j| self.push(q, j))
    }

    /// Solves `Q_PP x = 1`.
    fn solve_ones(&self) -> Vec<f64> {
        let (k, c) = (self.p.len(), self.cap);
        let mut y = vec![1.0; k];
        for i in 0..k {
            let mut s = y[i];
            for m in 0..i {
                s -= self.l[i * c + m] * y[m];
            }
            y[i] = s / self.l[i * c + i];
        }
        for i in (0..k).rev() {
            let mut s = y[i];
            for m in (i + 1)..k {
                s -= self.l[m * c + i] * y[m];
            }
            y[i] = s / self.l[i * c + i];
        }
        y
    }
}

/// Scaled KKT residual of `w` for `min wᵀΣw, 1ᵀw = 1, w ≥ 0` (see [`MinVarLong`]).
pub fn kkt_residual(cov: &Array2<f64>, w: &Array1<f64>) -> f64 {
    let r = cov.dot(w);
    let lambda = w.dot(&r);
    let mut res = (w.sum() - 1.0).abs();
    for i in 0..w.len() {
        res = res.max((-w[i]).max(0.0));
        let v = if w[i] > 0.0 {
            (r[i] - lambda).abs()
        } else {
            (lambda - r[i]).max(0.0)
        };
        res = res.max(v / lambda);
    }
    res
}

impl MinVarLong {
    /// Weights, or why there are none.
    pub fn solve(&self, cov: &Array2<f64>) -> Result<Array1<f64>, MethodError> {
        let n = cov.nrows();
        let scale = cov.diag().mean().unwrap_or(0.0);
        if !(scale > 0.0 && scale.is_finite()) {
            return Err(MethodError::new(
                MethodErrorKind::ZeroVariance,
                format!("mean variance is {scale}"),
            ));
        }
        let q = cov / scale;
        let mut v = vec![0.0; n];
        let mut chol = FreeSetCholesky::new(n);
        let singular = |k: usize| {
            MethodError::new(
                MethodErrorKind::NotPositiveDefinite,
                format!("covariance restricted to the {k} free assets is singular"),
            )
        };
        // Gradient tolerance of the scaled problem; the exact KKT check follows.
        let tol = 1e-13;
        let max_iter = 10 * n + 10;
        let mut iters = 0;
        loop {
            // Enter the bound variable with the largest negative gradient 1 − Qv.
            let mut best = None;
            let mut best_g = tol;
            for j in 0..n {
                if v[j] == 0.0 && !chol.p.contains(&j) {
                    let g = 1.0 - chol.p.iter().map(|&m| q[(j, m)] * v[m]).sum::<f64>();
                    if g > best_g {
                        best_g = g;
                        best = Some(j);
                    }
                }
            }
            let Some(j) = best else { break };
            if !chol.push(&q, j) {
                return Err(singular(chol.p.len() + 1));
            }
            loop {
                iters += 1;
                if iters > max_iter {
                    return Err(MethodError::new(
                        MethodErrorKind::NoConvergence,
                        format!("active set did not settle in {max_iter} steps"),
                    ));
                }
                let s = chol.solve_ones();
                let p = chol.p.clone();
                if s.iter().all(|&x| x > 0.0) {
                    for (a, &i) in p.iter().enumerate() {
                        v[i] = s[a];
                    }
                    break;
                }
                // Step from v toward s until the first free variable hits zero,
                // then drop the variables at zero and refactor.
                let mut alpha = f64::INFINITY;
                let mut hit = p[0];
                for (a, &i) in p.iter().enumerate() {
                    if s[a] <= 0.0 {
                        let t = v[i] / (v[i] - s[a]);
                        if t < alpha {
                            alpha = t;
                            hit = i;
                        }
                    }
                }
                for (a, &i) in p.iter().enumerate() {
                    v[i] += alpha * (s[a] - v[i]);
                }
                let keep: Vec<usize> = p
                    .iter()
                    .copied()
                    .filter(|&i| i != hit && v[i] > 0.0)
                    .collect();
                for &i in &p {
                    if !keep.contains(&i) {
                        v[i] = 0.0;
                    }
                }
                if !chol.rebuild(&q, &keep) {
                    return Err(singular(keep.len()));
                }
            }
        }
        let total: f64 = v.iter().sum();
        let w = Array1::from_iter(v.iter().map(|x| x / total));
        let res = kkt_residual(cov, &w);
        if !(res <= self.kkt_tol) {
            return Err(MethodError::new(
                MethodErrorKind::NoConvergence,
                format!("KKT residual {res:.2e} above {:.0e}", self.kkt_tol),
            ));
        }
        Ok(w)
    }
}

impl Allocator for MinVarLong {
    fn name(&self) -> &str {
        "MinVar_long"
    }
    fn allocate(&self, est: &Estimate, _: &Context) -> Result<Array1<f64>, MethodError> {
        est.variances()?;
        self.solve(est.cov())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn unconstrained_optimum_is_kept_when_long() {
        let cov = array![[1.0, 0.2, 0.1], [0.2, 2.0, 0.3], [0.1, 0.3, 1.5]];
        let a = MinVarLong::default().solve(&cov).unwrap();
        let x = crate::linalg::solve_spd(cov.view(), Array1::ones(3).view()).unwrap();
        let b = &x / x.sum();
        assert!(b.iter().all(|&v| v > 0.0));
        assert!((&a - &b).iter().all(|v| v.abs() < 1e-14));
    }

    #[test]
    fn hand_checked_corner() {
        // Asset 1 is asset 0 plus extra risk and strongly correlated: long-only
        // minvar puts everything in 0 and the closed form shorts asset 1.
        let cov = array![[1.0, 1.2], [1.2, 2.0]];
        let w = MinVarLong::default().solve(&cov).unwrap();
        assert_eq!(w[1], 0.0);
        assert!((w[0] - 1.0).abs() < 1e-15);
        assert!(kkt_residual(&cov, &w) < 1e-12);
    }

    #[test]
    fn random_problems_satisfy_kkt_and_beat_ew() {
        use crate::corr::CorrSource;
        let src = crate::corr::onion::Onion::new(60, 1.0).unwrap();
        for t in 0..20 {
            let c = src.sample(9, t).unwrap().corr;
            let w = MinVarLong::default().solve(&c).unwrap();
            assert!(kkt_residual(&c, &w) < 1e-10);
            assert!(w.iter().all(|&x| x >= 0.0));
            let ew = Array1::from_elem(60, 1.0 / 60.0);
            assert!(w.dot(&c.dot(&w)) <= ew.dot(&c.dot(&ew)));
        }
    }
}
