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
//! **What we do.** Projected coordinate descent (16–32 sweeps, O(n²) each)
//! predicts the held set F; block principal pivoting then runs on the *free*
//! set ([`FreeSetPivoting`]): one Cholesky factor of `Q_FF` (|F| ≈ 0.7 n, a
//! third of the flops of a full factorization), updated in O(|F|²) per asset
//! that enters (a new last row) or leaves (a rank-one update of the trailing
//! block) instead of refactored; it converges in 2–5 exchanges of a few assets.
//! At n = 100 … 1600 this costs less than the closed-form MinVar's Cholesky
//! solve of Σ (benches/scaling.rs).
//!
//! **Fallback 1** (a block of Q not numerically positive definite, or pivoting
//! that does not settle or certify): pivoting on the *bound* set `B` through
//! the Schur complement of one Cholesky `Q = LLᵀ` ([`DualPivoting`]): with
//! `P = Q⁻¹`, `a = P1`, the solution with `v_B = 0` is
//! `v = a + P_{:,B} μ_B`, `P_BB μ_B = −a_B`, and `μ_B` are exactly the gradients
//! `(Qv − 1)_B`. `P_BB = YᵀY` with `Y = L⁻¹E_B` (the columns of `L⁻¹` for the
//! bound assets, zero above their own index, computed in blocks by BLAS-3
//! triangular solves and cached with their Gram matrix as `B` grows). A step
//! then costs one small Cholesky of `P_BB` plus O(n·|B|) work. Kim & Park's
//! backup rule (single exchange of the largest infeasible index after three
//! non-improving block exchanges) guarantees termination (Murty 1974) in both.
//!
//! **Fallback 2**: if Σ is not positive definite (T ≤ n, duplicated assets) or
//! neither pivoting settles, the Lawson & Hanson (1974, ch. 23) primal active set (the previous
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
            // Likely-held assets from a few sweeps of coordinate descent; then the
            // primal block pivoting on the free set (see `FreeSetPivoting`).
            let (cd, cd_grad) = coordinate_descent(cs, n);
            let inv = 1.0 / scale;
            if let Some(mut fsp) = FreeSetPivoting::new(cs, n, inv, &cd)
                && let Some(v) = fsp.run()
            {
                match certify(&v) {
                    Ok(w) => return Ok(w),
                    Err(_) => {
                        // One step of iterative refinement on the final free set.
                        if let Some(v) = fsp.refine(&v)
                            && let Ok(w) = certify(&v)
                        {
                            return Ok(w);
                        }
                    }
                }
            }
            // Fallback: pivoting on the bound set through one Cholesky of Q.
            // Likely-held assets first, likely-excluded last (see `predicted_order`);
            // the scaled, permuted copy is what gets factored in place.
            let (order, excluded) = predicted_order(&cd, &cd_grad);
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

crate::avx2_dispatch! {
/// A few sweeps of projected coordinate descent (O(n²) each) on
/// `min ½vᵀΣv − 1ᵀv, v ≥ 0` (unscaled Σ: scaling changes v by a constant
/// factor, not its support). Returns `v` and `Σv`. 16 to 32 sweeps leave the
/// support within a few percent of the optimum's on sample covariances (T = 2n,
/// n = 100 … 1600): a sweep costs about as much as one free-set exchange, and
/// measured (benches/scaling.rs, `SCALING_PROFILE`) fewer sweeps cost more
/// exchanges than they save. Half of MinVar_long's time at n = 100 is the update
/// `r += d·row`, elementwise: compiled four lanes wide under AVX2 with the same bits.
fn coordinate_descent(cov: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let sweeps = (n / 12).clamp(16, 32);
    let mut v = vec![0.0; n];
    let mut r = vec![0.0; n]; // Σv
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
    (v, r)
}
}

/// An elimination order for [`DualPivoting`] from the coordinate-descent iterate
/// `v` (and `r = Σv`): assets it holds come first, by weight descending; the
/// excluded ones last, by multiplier ascending. The factor's columns `L⁻¹e_i`
/// for assets late in the order are short (support `n − i`), so the more of the
/// final excluded set sits at the end, the cheaper the pivoting; the order never
/// changes the answer.
fn predicted_order(v: &[f64], r: &[f64]) -> (Vec<usize>, usize) {
    let n = v.len();
    let mut order: Vec<usize> = (0..n).collect();
    let key = |i: usize| if v[i] > 0.0 { -v[i] } else { r[i] - 1.0 };
    order.sort_by(|&a, &b| {
        let (ha, hb) = (v[a] > 0.0, v[b] > 0.0);
        hb.cmp(&ha).then(key(a).total_cmp(&key(b)))
    });
    let excluded = v.iter().filter(|&&x| x == 0.0).count();
    (order, excluded)
}

/// `aᵀb` in four independent partial sums (vectorizes; the order is fixed).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for q in 0..4 {
            acc[q] += x[q] * y[q];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail
}

/// Block principal pivoting on the *free* set (Kim & Park 2011, Alg. 2, with
/// their backup rule), for `min ½vᵀQv − 1ᵀv, v ≥ 0`, `Q = Σ/scale`: `v_F` solves
/// `Q_FF v_F = 1`, `v_B = 0`, and the exchange rule moves free assets with
/// `v_i < 0` to the bound set and bound assets with gradient `(Qv − 1)_j < 0` to
/// the free set. Started from the coordinate-descent support, which on sample
/// covariances is within a few assets of the optimum, so the first factor of
/// `Q_FF` (|F| ≈ 0.7 n: a third of a full Cholesky) is usually the only one:
/// later exchanges are applied to it as O(|F|²) row/column appends and
/// deletions (a deletion is a rank-one Cholesky update of the trailing block,
/// Golub & Van Loan 2013, §6.5.4), and it is refactored only when an exchange
/// moves more than an eighth of the free set.
struct FreeSetPivoting<'a> {
    n: usize,
    /// Row-major Σ and `1/scale`.
    cov: &'a [f64],
    inv: f64,
    /// Free assets in factor order.
    fidx: Vec<usize>,
    free: Vec<bool>,
    /// Column-major Cholesky factor of `Q_FF` (leading dimension n; lower
    /// triangle of the leading |F| × |F| block).
    l: Vec<f64>,
}

impl<'a> FreeSetPivoting<'a> {
    /// Free set from the coordinate-descent iterate `cd` (held assets, by weight
    /// descending: likely deletions sit near the end, where they are cheapest),
    /// factored; `None` if the factor is not numerically positive definite.
    fn new(cov: &'a [f64], n: usize, inv: f64, cd: &[f64]) -> Option<Self> {
        let mut fidx: Vec<usize> = (0..n).filter(|&i| cd[i] > 0.0).collect();
        fidx.sort_by(|&a, &b| cd[b].total_cmp(&cd[a]));
        if fidx.is_empty() {
            return None;
        }
        let mut free = vec![false; n];
        for &i in &fidx {
            free[i] = true;
        }
        let mut s = FreeSetPivoting {
            n,
            cov,
            inv,
            fidx,
            free,
            l: vec![0.0; n * n],
        };
        s.factor().then_some(s)
    }

    /// `Q(i, j)` of the scaled problem.
    #[inline]
    fn q(&self, i: usize, j: usize) -> f64 {
        self.cov[i * self.n + j] * self.inv
    }

    /// Factors `Q_FF` from scratch.
    fn factor(&mut self) -> bool {
        use faer::dyn_stack::{MemBuffer, MemStack};
        use faer::linalg::cholesky::llt::factor::{
            LltRegularization, cholesky_in_place, cholesky_in_place_scratch,
        };
        let (n, k) = (self.n, self.fidx.len());
        for (c, &j) in self.fidx.iter().enumerate() {
            let row = &self.cov[j * n..(j + 1) * n];
            let col = &mut self.l[c * n..c * n + k];
            for r in c..k {
                col[r] = row[self.fidx[r]] * self.inv;
            }
        }
        let mut buf = MemBuffer::new(cholesky_in_place_scratch::<f64>(
            k,
            Par::Seq,
            Default::default(),
        ));
        let lm = faer::MatMut::from_column_major_slice_with_stride_mut(&mut self.l, k, k, n);
        if cholesky_in_place(
            lm,
            LltRegularization::default(),
            Par::Seq,
            MemStack::new(&mut buf),
            Default::default(),
        )
        .is_err()
        {
            return false;
        }
        // Relative pivot floor: a numerically singular block goes to the fallback.
        let dmax = (0..k).map(|i| self.l[i * n + i]).fold(0.0, f64::max);
        (0..k).all(|i| {
            let d = self.l[i * n + i];
            d.is_finite() && d > 1e-7 * dmax
        })
    }

    /// Solves `Q_FF y = b` in place (factor order).
    fn solve(&self, b: &mut [f64]) {
        let (n, k) = (self.n, self.fidx.len());
        let lm = faer::MatRef::from_column_major_slice_with_stride(&self.l, k, k, n);
        let bm = faer::MatMut::from_column_major_slice_mut(b, k, 1);
        solve_lower_triangular_in_place(lm, bm, Par::Seq);
        let bm = faer::MatMut::from_column_major_slice_mut(b, k, 1);
        solve_upper_triangular_in_place(lm.transpose(), bm, Par::Seq);
    }

    /// Appends asset `j` as the factor's last row and column (forward
    /// substitution, O(|F|²)); false if its pivot is below the floor.
    fn append(&mut self, j: usize) -> bool {
        let (n, k) = (self.n, self.fidx.len());
        let mut y: Vec<f64> = self.fidx.iter().map(|&i| self.q(j, i)).collect();
        for c in 0..k {
            let col = &self.l[c * n..c * n + k];
            let yc = y[c] / col[c];
            y[c] = yc;
            for (yr, &lr) in y[c + 1..].iter_mut().zip(&col[c + 1..]) {
                *yr -= yc * lr;
            }
        }
        let d = self.q(j, j) - y.iter().map(|v| v * v).sum::<f64>();
        if !(d.is_finite() && d > 1e-14 * self.q(j, j)) {
            return false;
        }
        for (c, &yc) in y.iter().enumerate() {
            self.l[c * n + k] = yc;
        }
        self.l[k * n + k] = d.sqrt();
        self.fidx.push(j);
        self.free[j] = true;
        true
    }

    /// Deletes the factor's row and column `p`: the rows below shift up, and the
    /// trailing block absorbs the deleted column by a rank-one update (O(|F|²)).
    fn delete(&mut self, p: usize) {
        let (n, k) = (self.n, self.fidx.len());
        let mut x: Vec<f64> = self.l[p * n + p + 1..p * n + k].to_vec();
        for c in 0..p {
            self.l.copy_within(c * n + p + 1..c * n + k, c * n + p);
        }
        for c in p + 1..k {
            self.l
                .copy_within(c * n + c..c * n + k, (c - 1) * n + (c - 1));
        }
        // L̃L̃ᵀ = LLᵀ + xxᵀ on the trailing block, column by column.
        let m = k - 1 - p;
        for i in 0..m {
            let c0 = (p + i) * n + p;
            let a = self.l[c0 + i];
            let b = x[i];
            let r = (a * a + b * b).sqrt();
            let (c, s) = (r / a, b / a);
            self.l[c0 + i] = r;
            let col = &mut self.l[c0 + i + 1..c0 + m];
            for (lj, xj) in col.iter_mut().zip(&mut x[i + 1..m]) {
                let nl = (*lj + s * *xj) / c;
                *xj = c * *xj - s * nl;
                *lj = nl;
            }
        }
        let i = self.fidx.remove(p);
        self.free[i] = false;
    }

    /// Pivoting until the sign conditions hold; `v` (asset order, `v ≥ 0`) or
    /// `None` if it does not settle or a factor is not positive definite.
    fn run(&mut self) -> Option<Vec<f64>> {
        let n = self.n;
        let (mut best, mut backup) = (n + 1, 3);
        for _ in 0..(3 * n + 50) {
            let mut x = vec![1.0; self.fidx.len()];
            self.solve(&mut x);
            if x.iter().any(|v| !v.is_finite()) {
                return None;
            }
            let vmax = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            // Sign tolerances of the scaled problem (gradients are O(1)); the
            // KKT certificate of the result is checked by the caller.
            let (tv, tm) = (1e-14 * vmax, 1e-13);
            // Infeasible free positions, and bound assets with a negative gradient.
            let drop: Vec<usize> = (0..x.len()).filter(|&p| x[p] < -tv).collect();
            // Gradients of the bound assets by dense dot products with the
            // scattered iterate (contiguous rows vectorize; a gather does not).
            let mut vfull = vec![0.0; n];
            for (&i, &xi) in self.fidx.iter().zip(&x) {
                vfull[i] = xi;
            }
            let mut add = Vec::new();
            for j in (0..n).filter(|&j| !self.free[j]) {
                let row = &self.cov[j * n..(j + 1) * n];
                if dot(row, &vfull) * self.inv - 1.0 < -tm {
                    add.push(j);
                }
            }
            let count = drop.len() + add.len();
            if count == 0 {
                let mut v = vec![0.0; n];
                for (&i, &xi) in self.fidx.iter().zip(&x) {
                    v[i] = xi.max(0.0);
                }
                return v.iter().any(|&t| t > 0.0).then_some(v);
            }
            let (drop, add) = if count < best {
                best = count;
                backup = 3;
                (drop, add)
            } else if backup > 0 {
                backup -= 1;
                (drop, add)
            } else {
                // Single exchange of the infeasible asset with the largest index.
                let top_drop = drop.iter().map(|&p| self.fidx[p]).max();
                let top_add = add.iter().copied().max();
                if top_add > top_drop {
                    (Vec::new(), vec![top_add.expect("count > 0")])
                } else {
                    let t = top_drop.expect("count > 0");
                    (
                        drop.into_iter().filter(|&p| self.fidx[p] == t).collect(),
                        Vec::new(),
                    )
                }
            };
            if !self.exchange(&drop, &add) {
                return None;
            }
        }
        None
    }

    /// Moves the free positions `drop` to the bound set and the assets `add` to
    /// the free set: by updates when few, else by refactoring.
    fn exchange(&mut self, drop: &[usize], add: &[usize]) -> bool {
        let k = self.fidx.len();
        if 8 * (drop.len() + add.len()) > k.max(8) {
            let gone: Vec<usize> = drop.iter().map(|&p| self.fidx[p]).collect();
            for i in gone {
                self.free[i] = false;
            }
            self.fidx.retain(|&i| self.free[i]);
            for &j in add {
                self.free[j] = true;
                self.fidx.push(j);
            }
            return !self.fidx.is_empty() && self.factor();
        }
        // Deletions from the back, so earlier positions stay valid.
        for &p in drop.iter().rev() {
            self.delete(p);
        }
        for &j in add {
            if !self.append(j) {
                return false;
            }
        }
        !self.fidx.is_empty()
    }

    /// One step of iterative refinement of `v` on the final free set:
    /// `v_F += Q_FF⁻¹(1 − Q_FF v_F)`, clipped at 0.
    fn refine(&self, v: &[f64]) -> Option<Vec<f64>> {
        let n = self.n;
        let mut r: Vec<f64> = self
            .fidx
            .iter()
            .map(|&i| {
                let row = &self.cov[i * n..(i + 1) * n];
                1.0 - self.fidx.iter().map(|&j| row[j] * v[j]).sum::<f64>() * self.inv
            })
            .collect();
        self.solve(&mut r);
        let mut out = v.to_vec();
        for (&i, d) in self.fidx.iter().zip(&r) {
            out[i] = (v[i] + d).max(0.0);
        }
        out.iter().all(|t| t.is_finite()).then_some(out)
    }
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
    use crate::corr::CorrSource;
    use crate::simulate::{SimParams, VolModel, simulate};
    use ndarray::array;

    /// In-sample covariances of trials `0..count` (seed `seed`) on uniform (onion) correlations
    /// with T = 2n days and volatilities uniform in [0.5, 2].
    fn sample_covariances(n: usize, seed: u64, count: u64) -> Vec<Array2<f64>> {
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
        (0..count)
            .map(|t| {
                simulate(src.sample(seed, t).unwrap().corr, &p, seed, t)
                    .unwrap()
                    .cov_is
            })
            .collect()
    }

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
        let n = 80;
        for (t, cov) in sample_covariances(n, 4, 10).iter().enumerate() {
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

    /// Appending and deleting rows of the free-set factor gives the factor of
    /// the new block (to rounding), wherever the deleted row sits.
    #[test]
    fn free_set_updates_match_refactoring() {
        use crate::corr::CorrSource;
        let n = 40;
        let src = crate::corr::onion::Onion::new(n, 1.0).unwrap();
        let c = src.sample(3, 0).unwrap().corr;
        let cs = c.as_slice().unwrap();
        let cd: Vec<f64> = (0..n)
            .map(|i| if i % 3 == 0 { 0.0 } else { 1.0 + i as f64 })
            .collect();
        let mut a = FreeSetPivoting::new(cs, n, 0.5, &cd).unwrap();
        // First, middle, second-to-last and last positions of the current factor.
        for back in [None, Some(7), Some(2), Some(1)] {
            let k = a.fidx.len();
            a.delete(back.map_or(0, |b| if b == 7 { 7 } else { k - b }));
        }
        for j in [0, 9, 33] {
            assert!(a.append(j));
        }
        let mut b = FreeSetPivoting::new(cs, n, 0.5, &cd).unwrap();
        b.fidx = a.fidx.clone();
        assert!(b.factor());
        let k = a.fidx.len();
        for col in 0..k {
            for row in col..k {
                let (x, y) = (a.l[col * n + row], b.l[col * n + row]);
                assert!((x - y).abs() < 1e-13, "({row}, {col}): {x} vs {y}");
            }
        }
        // Solves agree with a dense solve of the block.
        let mut x = vec![1.0; k];
        a.solve(&mut x);
        for (r, &i) in a.fidx.iter().enumerate() {
            let qx: f64 = a
                .fidx
                .iter()
                .zip(&x)
                .map(|(&j, v)| 0.5 * c[(i, j)] * v)
                .sum();
            assert!((qx - 1.0).abs() < 1e-12, "row {r}: {qx}");
        }
    }

    /// The free-set pivoting alone (no fallback) certifies and matches the
    /// Lawson–Hanson optimum on sample covariances, from the coordinate-descent
    /// start and from a deliberately poor one (everything free).
    #[test]
    fn free_set_pivoting_matches_lawson_hanson() {
        for n in [30, 120] {
            for (t, cov) in sample_covariances(n, 5, 6).iter().enumerate() {
                let scale = cov.diag().mean().unwrap();
                let cs = cov.as_slice().unwrap();
                let v_lh = lawson_hanson(&(cov / scale)).unwrap();
                let w_lh = Array1::from(v_lh.clone()) / v_lh.iter().sum::<f64>();
                let (cd, _) = coordinate_descent(cs, n);
                for start in [cd, vec![1.0; n]] {
                    let mut f = FreeSetPivoting::new(cs, n, 1.0 / scale, &start).unwrap();
                    let v = f.run().expect("settles");
                    let w = Array1::from(v.clone()) / v.iter().sum::<f64>();
                    assert!(kkt_residual(cov, &w) < 1e-10, "n {n} trial {t}");
                    let diff = (&w - &w_lh).iter().fold(0.0f64, |m, x| m.max(x.abs()));
                    assert!(diff < 1e-12, "n {n} trial {t}: {diff:.2e}");
                    let held = |x: &Array1<f64>| x.iter().map(|&y| y > 0.0).collect::<Vec<_>>();
                    assert_eq!(held(&w), held(&w_lh), "n {n} trial {t}: active sets");
                }
            }
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
