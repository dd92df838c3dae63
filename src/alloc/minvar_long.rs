//! Long-only minimum variance at scale: `min wᵀΣw` s.t. `1ᵀw = 1, w ≥ 0`, solved
//! exactly at a cost close to one Cholesky factorization of Σ.
//!
//! Substituting `w = v / 1ᵀv` turns the problem into the bound-constrained QP
//! `min ½vᵀQv − 1ᵀv, v ≥ 0` with `Q = Σ / mean(diag Σ)` (KKT: `Qv − 1 = μ ≥ 0`,
//! `μ ⊥ v`; then `Σw = (1 + μ)/1ᵀv` are the original KKT conditions with
//! multiplier `2/1ᵀv`).
//!
//! **Why not a primal active set.** On sample covariances with T = 2n about 70 %
//! of the assets are held, so a primal active set that adds one variable per
//! step takes ~0.7 n steps of O(n·k) matrix-vector work (BLAS-2): at n = 400 that
//! was 150× the closed-form MinVar. Block principal pivoting (Júdice & Pires 1994;
//! Kim & Park 2011, "Fast nonnegative matrix factorization: an active-set-like
//! method", SIAM J. Sci. Comput. 33(6), Alg. 2) exchanges whole blocks and
//! converges in ~8 steps here, but refactoring the free block `Q_FF` (k ≈ 0.7 n)
//! every step would cost ~0.3 Cholesky factorizations per step.
//!
//! **What we do instead.** Factor `Q = LLᵀ` once (the closed-form MinVar's cost)
//! and run block principal pivoting on the *bound* set `B` (≈ 0.3 n) through the
//! Schur complement: with `P = Q⁻¹`, `a = P1`, the solution with `v_B = 0` is
//! `v = a + P_{:,B} μ_B`, `P_BB μ_B = −a_B`, and `μ_B` are exactly the gradients
//! `(Qv − 1)_B`. `P_BB = YᵀY` with `Y = L⁻¹E_B` (the columns of `L⁻¹` for the
//! bound assets, zero above their own index, computed in blocks by BLAS-3
//! triangular solves and cached with their Gram matrix as `B` grows). A step
//! then costs one small Cholesky of `P_BB` (|B|³/3, ~3 % of the big one) plus
//! O(n·|B|) work. Kim & Park's backup rule (single exchange of the largest
//! infeasible index after three non-improving block exchanges) guarantees
//! termination (Murty 1974).
//!
//! If Σ is not positive definite (T ≤ n, duplicated assets) or pivoting does not
//! settle, the Lawson & Hanson (1974, ch. 23) primal active set (the previous
//! solver, exact on singular Σ) is used. Either way the answer is certified by
//! the KKT residual of the original problem scaled by `λ = wᵀΣw` (see
//! [`kkt_residual`]), which must be below `kkt_tol`.
use super::{Allocator, Context, Estimate};
use crate::error::{MethodError, MethodErrorKind};
use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Accum, Mat, Par, Side};
use ndarray::{Array1, Array2};

/// Long-only minimum variance, exact (see the module documentation).
pub struct MinVarLong {
    /// Largest accepted scaled KKT residual.
    pub kkt_tol: f64,
}

impl Default for MinVarLong {
    fn default() -> Self {
        MinVarLong { kkt_tol: 1e-10 }
    }
}

/// Scaled KKT residual of `w` for `min wᵀΣw, 1ᵀw = 1, w ≥ 0`:
/// `max(|1ᵀw − 1|, (−w_i)⁺, |(Σw)_i − λ|/λ over held i, (λ − (Σw)_i)⁺/λ over
/// unheld i)` with `λ = wᵀΣw`.
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
        let cs = cov.as_standard_layout();
        let cs = cs.as_slice().expect("standard layout");
        let certify = |v: &[f64]| -> Result<Array1<f64>, String> {
            let total: f64 = v.iter().sum();
            let w = Array1::from_iter(v.iter().map(|x| x / total));
            let res = kkt_residual(cov, &w);
            if res <= self.kkt_tol {
                Ok(w)
            } else {
                Err(format!("KKT residual {res:.2e} above {:.0e}", self.kkt_tol))
            }
        };
        if n > 0 {
            // Likely-held assets first, likely-excluded last (see `predicted_order`);
            // the scaled, permuted copy is what gets factored in place.
            let (order, excluded) = predicted_order(cs, n);
            let inv = 1.0 / scale;
            let qp = Mat::<f64>::from_fn(n, n, |i, j| cs[order[j] * n + order[i]] * inv);
            if let Some(mut bpp) = DualPivoting::new(qp)
                && bpp.run(n - excluded)
            {
                // Up to two refinement steps if rounding left the certificate short.
                for _ in 0..3 {
                    let mut v = vec![0.0; n];
                    for (p, &i) in order.iter().enumerate() {
                        v[i] = bpp.v[p];
                    }
                    match certify(&v) {
                        Ok(w) => return Ok(w),
                        Err(_) => {
                            // Residual 1 − Qv in the factor's order.
                            let qv = cov.dot(&Array1::from(v)) / scale;
                            let r: Vec<f64> = order.iter().map(|&i| 1.0 - qv[i]).collect();
                            if !bpp.refine(&r) {
                                break;
                            }
                        }
                    }
                }
            }
        }
        let q = (cov / scale).as_standard_layout().into_owned();
        let v = lawson_hanson(&q)?;
        certify(&v).map_err(|m| MethodError::new(MethodErrorKind::NoConvergence, m))
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

/// An elimination order for [`DualPivoting`]: assets that a few sweeps of
/// projected coordinate descent (O(n²) each) leave held come first, by weight
/// descending; the excluded ones last, by multiplier ascending. The factor's
/// columns `L⁻¹e_i` for assets late in the order are short (support `n − i`),
/// so the more of the final excluded set sits at the end, the cheaper the
/// pivoting; the order never changes the answer.
fn predicted_order(cov: &[f64], n: usize) -> (Vec<usize>, usize) {
    // Sweeps: enough to place most of the excluded set at n ≥ 400, where the
    // sweeps cost a few % of the factorization; fewer at small n. Run on the
    // unscaled Σ: scaling changes v by a constant factor, not its support.
    let sweeps = (n / 25).clamp(2, 16);
    let mut v = vec![0.0; n];
    let mut r = vec![0.0; n]; // Qv
    for _ in 0..sweeps {
        for (i, row) in cov.chunks_exact(n).enumerate() {
            let new = (v[i] + (1.0 - r[i]) / row[i]).max(0.0);
            let d = new - v[i];
            if d != 0.0 {
                v[i] = new;
                for (rj, &qij) in r.iter_mut().zip(row) {
                    *rj += d * qij;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    let key = |i: usize| if v[i] > 0.0 { -v[i] } else { r[i] - 1.0 };
    order.sort_by(|&a, &b| {
        let (ha, hb) = (v[a] > 0.0, v[b] > 0.0);
        hb.cmp(&ha).then(key(a).total_cmp(&key(b)))
    });
    let excluded = v.iter().filter(|&&x| x == 0.0).count();
    (order, if sweeps == 0 { 0 } else { excluded })
}

/// Block principal pivoting on the bound set through `P = Q⁻¹` (module docs).
struct DualPivoting {
    n: usize,
    /// Cholesky factor of `Q` in the lower triangle (the strict upper triangle
    /// still holds `Q`'s and is never read).
    l: Mat<f64>,
    /// `a = Q⁻¹1`.
    a: Vec<f64>,
    /// Current iterate: `v_B = 0`, `v_F = a_F + P_FB μ_B`.
    v: Vec<f64>,
    /// Bound-set membership and the multipliers `μ_i` of bound assets.
    bound: Vec<bool>,
    mu: Vec<f64>,
    /// Cache column of each asset ever bound (`usize::MAX` if none).
    slot: Vec<usize>,
    /// Cached assets in cache order.
    cached: Vec<usize>,
    /// `Y[:, s] = L⁻¹ e_cached[s]` (zero above row `cached[s]`).
    y: Mat<f64>,
    /// Gram matrix `G = YᵀY = P` restricted to the cached assets.
    g: Mat<f64>,
}

impl DualPivoting {
    /// Factors `Q` in place; `None` if it is not numerically positive definite.
    fn new(mut l: Mat<f64>) -> Option<Self> {
        use faer::dyn_stack::{MemBuffer, MemStack};
        use faer::linalg::cholesky::llt::factor::{
            LltRegularization, cholesky_in_place, cholesky_in_place_scratch,
        };
        let n = l.nrows();
        let mut buf = MemBuffer::new(cholesky_in_place_scratch::<f64>(
            n,
            Par::Seq,
            Default::default(),
        ));
        cholesky_in_place(
            l.as_mut(),
            LltRegularization::default(),
            Par::Seq,
            MemStack::new(&mut buf),
            Default::default(),
        )
        .ok()?;
        // Relative pivot floor: a numerically singular Q goes to the fallback.
        let dmax = (0..n).map(|i| l[(i, i)]).fold(0.0, f64::max);
        if (0..n).any(|i| l[(i, i)].is_nan() || l[(i, i)] <= 1e-7 * dmax) {
            return None;
        }
        let mut a = Mat::<f64>::from_fn(n, 1, |_, _| 1.0);
        solve_lower_triangular_in_place(l.as_ref(), a.as_mut(), Par::Seq);
        solve_upper_triangular_in_place(l.transpose(), a.as_mut(), Par::Seq);
        let a: Vec<f64> = a.col_as_slice(0).to_vec();
        if a.iter().any(|x| !x.is_finite()) {
            return None;
        }
        Some(DualPivoting {
            n,
            l,
            v: a.clone(),
            a,
            bound: vec![false; n],
            mu: vec![0.0; n],
            slot: vec![usize::MAX; n],
            cached: Vec::new(),
            y: Mat::zeros(n, 0),
            g: Mat::zeros(0, 0),
        })
    }

    /// Adds `L⁻¹e_i` for the assets `new` (sorted ascending) to the cache and
    /// extends the Gram matrix: blocks of 32 right-hand sides solved on the
    /// trailing block of `L` below their smallest index.
    fn cache(&mut self, new: &[usize]) {
        let n = self.n;
        let old = self.cached.len();
        let m = old + new.len();
        self.y.resize_with(n, m, |_, _| 0.0);
        for (c0, chunk) in new.chunks(32).enumerate() {
            let s = chunk[0];
            let mut rhs = Mat::<f64>::zeros(n - s, chunk.len());
            for (c, &i) in chunk.iter().enumerate() {
                rhs[(i - s, c)] = 1.0;
            }
            solve_lower_triangular_in_place(
                self.l.as_ref().submatrix(s, s, n - s, n - s),
                rhs.as_mut(),
                Par::Seq,
            );
            for (c, &i) in chunk.iter().enumerate() {
                let col = old + 32 * c0 + c;
                self.y.col_as_slice_mut(col)[s..].copy_from_slice(rhs.col_as_slice(c));
                self.slot[i] = col;
                self.cached.push(i);
            }
        }
        // New rows of G: Y_newᵀ Y (all cached columns), per chunk over the rows
        // where the chunk's columns can be nonzero (below its smallest index).
        self.g.resize_with(m, m, |_, _| 0.0);
        for (c0, chunk) in new.chunks(32).enumerate() {
            let s = chunk[0];
            let first = old + 32 * c0;
            let mut rows = Mat::<f64>::zeros(chunk.len(), m);
            matmul(
                rows.as_mut(),
                Accum::Replace,
                self.y
                    .as_ref()
                    .submatrix(s, first, n - s, chunk.len())
                    .transpose(),
                self.y.as_ref().subrows(s, n - s),
                1.0,
                Par::Seq,
            );
            for r in 0..chunk.len() {
                for c in 0..m {
                    self.g[(first + r, c)] = rows[(r, c)];
                    self.g[(c, first + r)] = rows[(r, c)];
                }
            }
        }
    }

    /// Solves for the current bound set: `P_BB μ_B = −rhs_B`, then
    /// `v = base + P_{:,B} μ_B` with `v_B = 0`. Writes `μ_B` into `mu` and
    /// returns the correction `P_{:,B} μ_B`, or `None` if `P_BB` lost definiteness.
    fn schur_solve(&mut self, bset: &[usize], rhs: &[f64]) -> Option<Vec<f64>> {
        let n = self.n;
        let k = bset.len();
        let mut z = vec![0.0; n];
        if k == 0 {
            return Some(z);
        }
        let gbb = Mat::<f64>::from_fn(k, k, |r, c| {
            self.g[(self.slot[bset[r]], self.slot[bset[c]])]
        });
        let llt = gbb.as_ref().llt(Side::Lower).ok()?;
        let mut mu = Mat::<f64>::from_fn(k, 1, |r, _| -rhs[bset[r]]);
        use faer::linalg::solvers::Solve;
        llt.solve_in_place(mu.as_mut());
        // z = P_{:,B} μ_B = L⁻ᵀ (Y_B μ_B).
        let mut w = Mat::<f64>::zeros(n, 1);
        {
            let ws = w.col_as_slice_mut(0);
            for (r, &i) in bset.iter().enumerate() {
                let m = mu[(r, 0)];
                self.mu[i] = m;
                let col = &self.y.col_as_slice(self.slot[i])[i..];
                for (dst, &yv) in ws[i..].iter_mut().zip(col) {
                    *dst += m * yv;
                }
            }
        }
        solve_upper_triangular_in_place(self.l.transpose(), w.as_mut(), Par::Seq);
        z.copy_from_slice(w.col_as_slice(0));
        z.iter().all(|x| x.is_finite()).then_some(z)
    }

    /// Sets `v` for the bound set `bset` from `a`.
    fn update(&mut self, bset: &[usize]) -> bool {
        let new: Vec<usize> = bset
            .iter()
            .copied()
            .filter(|&i| self.slot[i] == usize::MAX)
            .collect();
        if !new.is_empty() {
            self.cache(&new);
        }
        let a = std::mem::take(&mut self.a);
        let z = self.schur_solve(bset, &a);
        self.a = a;
        let Some(z) = z else { return false };
        for (i, (v, zi)) in self.v.iter_mut().zip(z).enumerate() {
            *v = if self.bound[i] { 0.0 } else { self.a[i] + zi };
        }
        true
    }

    /// Block principal pivoting with Kim & Park's backup rule; true when the
    /// iterate satisfies the sign conditions (then `v ≥ 0` exactly).
    fn run(&mut self, start: usize) -> bool {
        let n = self.n;
        if start < n {
            let bset: Vec<usize> = (start..n).collect();
            for &i in &bset {
                self.bound[i] = true;
            }
            if !self.update(&bset) {
                return false;
            }
        }
        let (mut best, mut backup) = (n + 1, 3);
        for _ in 0..(3 * n + 50) {
            let vmax = self.v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            // Sign tolerances of the scaled problem (gradients are O(1)); the
            // KKT certificate of the result is checked by the caller.
            let (tv, tm) = (1e-14 * vmax, 1e-13);
            let infeasible: Vec<usize> = (0..n)
                .filter(|&i| {
                    if self.bound[i] {
                        self.mu[i] < -tm
                    } else {
                        self.v[i] < -tv
                    }
                })
                .collect();
            if infeasible.is_empty() {
                for x in self.v.iter_mut() {
                    *x = x.max(0.0);
                }
                return self.v.iter().any(|&x| x > 0.0);
            }
            if infeasible.len() < best {
                best = infeasible.len();
                backup = 3;
                self.flip(&infeasible);
            } else if backup > 0 {
                backup -= 1;
                self.flip(&infeasible);
            } else {
                self.flip(&infeasible[infeasible.len() - 1..]);
            }
            let bset: Vec<usize> = (0..n).filter(|&i| self.bound[i]).collect();
            if !self.update(&bset) {
                return false;
            }
        }
        false
    }

    fn flip(&mut self, idx: &[usize]) {
        for &i in idx {
            self.bound[i] = !self.bound[i];
            self.mu[i] = 0.0;
        }
    }

    /// One step of iterative refinement of `v` on the final free set: solves
    /// `Q_FF d = r_F` (`r = 1 − Qv`, in the factor's order) through the same
    /// Schur complement.
    fn refine(&mut self, resid: &[f64]) -> bool {
        let n = self.n;
        let mut r = Mat::<f64>::from_fn(n, 1, |i, _| if self.bound[i] { 0.0 } else { resid[i] });
        solve_lower_triangular_in_place(self.l.as_ref(), r.as_mut(), Par::Seq);
        solve_upper_triangular_in_place(self.l.transpose(), r.as_mut(), Par::Seq);
        let pr: Vec<f64> = r.col_as_slice(0).to_vec();
        let bset: Vec<usize> = (0..n).filter(|&i| self.bound[i]).collect();
        let mu_saved = self.mu.clone();
        let Some(z) = self.schur_solve(&bset, &pr) else {
            return false;
        };
        self.mu = mu_saved;
        for i in 0..n {
            if !self.bound[i] {
                self.v[i] = (self.v[i] + pr[i] + z[i]).max(0.0);
            }
        }
        true
    }
}

/// Lawson & Hanson (1974, ch. 23) primal active set on `min ½vᵀQv − 1ᵀv, v ≥ 0`:
/// variables enter one at a time by largest negative gradient; the equality
/// subproblem on the free set is solved by a Cholesky factor grown a row at a
/// time. Exact on singular `Q` (a variable whose block would be singular never
/// has a negative gradient), O(n³); used when `Q` is not positive definite.
fn lawson_hanson(q: &Array2<f64>) -> Result<Vec<f64>, MethodError> {
    let n = q.nrows();
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
        if !chol.push(q, j) {
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
            if !chol.rebuild(q, &keep) {
                return Err(singular(keep.len()));
            }
        }
    }
    Ok(v)
}

/// Cholesky factor of `Q` restricted to an ordered free set, grown one variable at
/// a time in O(k²) (a new last row by forward substitution) and rebuilt when a
/// variable leaves.
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
        if d.is_nan() || d <= 1e-14 * q[(j, j)] || !d.is_finite() {
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
            let row = &self.l[i * c..i * c + i];
            let s = y[i] - row.iter().zip(&y[..i]).map(|(l, y)| l * y).sum::<f64>();
            y[i] = s / self.l[i * c + i];
        }
        for i in (0..k).rev() {
            let s = y[i] - ((i + 1)..k).map(|m| self.l[m * c + i] * y[m]).sum::<f64>();
            y[i] = s / self.l[i * c + i];
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn factor(q: &Array2<f64>) -> Option<DualPivoting> {
        DualPivoting::new(Mat::from_fn(q.nrows(), q.ncols(), |i, j| q[(i, j)]))
    }

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

    /// Block pivoting and the Lawson–Hanson active set reach the same optimum
    /// (to 1e-12 on weights) on sample covariances where ~30 % of the assets are
    /// excluded, and pivoting alone certifies (no fallback).
    #[test]
    fn pivoting_matches_lawson_hanson_on_sample_covariances() {
        use crate::corr::CorrSource;
        use crate::simulate::{SimParams, VolModel, simulate};
        let n = 80;
        let src = crate::corr::onion::Onion::new(n, 1.0).unwrap();
        let p = SimParams {
            in_sample_days: 2 * n,
            out_of_sample_days: 2 * n,
            vol: VolModel::Uniform {
                low: 0.5,
                high: 2.0,
            },
            returns: Default::default(),
        };
        for t in 0..10 {
            let d = simulate(src.sample(4, t).unwrap().corr, &p, 4, t).unwrap();
            let cov = &d.cov_is;
            let scale = cov.diag().mean().unwrap();
            let q = cov / scale;
            let mut bpp = factor(&q).unwrap();
            assert!(bpp.run(n), "trial {t}: pivoting did not settle");
            let held = bpp.v.iter().filter(|&&x| x > 0.0).count();
            assert!(held < n * 9 / 10 && held > n / 3, "trial {t}: {held} held");
            let total: f64 = bpp.v.iter().sum();
            let w_bpp = Array1::from_iter(bpp.v.iter().map(|x| x / total));
            assert!(kkt_residual(cov, &w_bpp) < 1e-10);
            let v = lawson_hanson(&q).unwrap();
            let total: f64 = v.iter().sum();
            let w_lh = Array1::from_iter(v.iter().map(|x| x / total));
            let diff = (&w_bpp - &w_lh).iter().fold(0.0f64, |m, x| m.max(x.abs()));
            assert!(diff < 1e-12, "trial {t}: {diff:.2e}");
            // The public path (predicted order and starting set) agrees too.
            let w = MinVarLong::default().solve(cov).unwrap();
            let diff = (&w - &w_lh).iter().fold(0.0f64, |m, x| m.max(x.abs()));
            assert!(diff < 1e-12, "trial {t}: {diff:.2e}");
        }
    }

    /// A singular Σ (duplicated asset) is solved exactly by the fallback.
    #[test]
    fn singular_covariance_uses_the_active_set() {
        let cov = array![[1.0, 1.0, 0.2], [1.0, 1.0, 0.2], [0.2, 0.2, 1.0]];
        assert!(factor(&cov).is_none());
        let w = MinVarLong::default().solve(&cov).unwrap();
        assert!(kkt_residual(&cov, &w) < 1e-12);
        assert!((w[0] + w[1] - w[2]).abs() < 1e-12); // two symmetric halves
        // Fewer observations than assets (rank 19 of 30): still exact.
        use crate::corr::CorrSource;
        use crate::simulate::{SimParams, VolModel, simulate};
        let src = crate::corr::onion::Onion::new(30, 1.0).unwrap();
        let p = SimParams {
            in_sample_days: 20,
            out_of_sample_days: 20,
            vol: VolModel::Unit,
            returns: Default::default(),
        };
        let d = simulate(src.sample(2, 0).unwrap().corr, &p, 2, 0).unwrap();
        let w = MinVarLong::default().solve(&d.cov_is).unwrap();
        assert!(kkt_residual(&d.cov_is, &w) < 1e-10);
    }
}
