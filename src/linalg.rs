//! Dense linear algebra on the hot path, over `ndarray` storage.
//!
//! Backend: faer (pure Rust, sequential). `benches/linalg.rs` compares it with
//! ndarray-linalg on OpenBLAS (one BLAS thread) on exactly these kernels at n = 100;
//! faer was faster for every one (figures in README, "Linear algebra"), so the
//! product never calls BLAS and there is nothing to oversubscribe inside rayon
//! workers. faer is built without its `rayon` feature: every call is sequential.

mod norm_estimate;
mod tridiagonal;
pub use norm_estimate::one_norm_estimate;
pub use tridiagonal::extreme_eigvalsh;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatRef, Par, Side};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

/// A faer view of a row-major (standard layout) ndarray matrix. Copies only if the
/// input is not contiguous.
fn with_faer<R>(a: ArrayView2<'_, f64>, f: impl FnOnce(MatRef<'_, f64>) -> R) -> R {
    let (r, c) = a.dim();
    match a.as_slice() {
        Some(s) => f(MatRef::from_row_major_slice(s, r, c)),
        None => {
            let owned = a.as_standard_layout().into_owned();
            f(MatRef::from_row_major_slice(
                owned.as_slice().unwrap(),
                r,
                c,
            ))
        }
    }
}

fn to_ndarray(m: MatRef<'_, f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// Lower Cholesky factor `L` with `A = L Lᵀ`, or `None` if `A` is not (numerically)
/// positive definite.
pub fn cholesky(a: ArrayView2<'_, f64>) -> Option<Array2<f64>> {
    with_faer(a, |m| {
        m.llt(Side::Lower).ok().map(|llt| to_ndarray(llt.L()))
    })
}

/// Solves `A x = b` for symmetric positive definite `A` (Cholesky), `None` if `A`
/// is not positive definite or the solution is not finite.
pub fn solve_spd(a: ArrayView2<'_, f64>, b: ArrayView1<'_, f64>) -> Option<Array1<f64>> {
    Cholesky::new(a)?.solve(b)
}

/// A Cholesky factorization `A = L Lᵀ` of a symmetric positive definite matrix, kept
/// for several solves (MinVar's weights and its condition estimate share one).
pub struct Cholesky(faer::linalg::solvers::Llt<f64>);

impl Cholesky {
    /// Factors the lower triangle of `a`; `None` if `a` is not (numerically)
    /// positive definite.
    pub fn new(a: ArrayView2<'_, f64>) -> Option<Self> {
        with_faer(a, |m| m.llt(Side::Lower).ok().map(Cholesky))
    }

    /// Overwrites `x` with `A⁻¹x`.
    pub fn solve_in_place(&self, x: &mut [f64]) {
        use faer::linalg::solvers::Solve;
        let n = x.len();
        self.0
            .solve_in_place(faer::MatMut::from_column_major_slice_mut(x, n, 1));
    }

    /// `A⁻¹b`, `None` if not finite.
    pub fn solve(&self, b: ArrayView1<'_, f64>) -> Option<Array1<f64>> {
        let mut x = b.to_vec();
        self.solve_in_place(&mut x);
        x.iter().all(|v| v.is_finite()).then(|| Array1::from(x))
    }
}

/// Inverse of a square matrix by LU with partial pivoting, as `numpy.linalg.inv`
/// (LAPACK `dgesv` on the identity). `None` only if the result is not finite (an
/// exactly zero pivot, where numpy raises `LinAlgError`); a numerically singular
/// matrix gives a huge, meaningless inverse, as it does in numpy.
pub fn inverse_lu(a: ArrayView2<'_, f64>) -> Option<Array2<f64>> {
    use faer::linalg::solvers::Solve;
    with_faer(a, |m| {
        let lu = m.partial_piv_lu();
        let mut x = faer::Mat::<f64>::identity(m.nrows(), m.ncols());
        lu.solve_in_place(x.as_mut());
        let inv = to_ndarray(x.as_ref());
        inv.iter().all(|v| v.is_finite()).then_some(inv)
    })
}

/// Eigen-decomposition of a symmetric matrix: eigenvalues ascending, eigenvectors
/// as columns. `None` if the iteration does not converge (non-finite input).
pub fn eigh(a: ArrayView2<'_, f64>) -> Option<(Array1<f64>, Array2<f64>)> {
    with_faer(a, |m| {
        let evd = m.self_adjoint_eigen(Side::Lower).ok()?;
        let s = evd.S();
        let vals = Array1::from_shape_fn(m.nrows(), |i| s[i]);
        Some((vals, to_ndarray(evd.U())))
    })
}

/// Eigenvalues of a symmetric matrix, ascending.
pub fn eigvalsh(a: ArrayView2<'_, f64>) -> Option<Array1<f64>> {
    with_faer(a, |m| {
        m.self_adjoint_eigenvalues(Side::Lower)
            .ok()
            .map(Array1::from)
    })
}

/// `C = α Aᵀ B` (sequential gemm).
pub fn at_b(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, alpha: f64) -> Array2<f64> {
    let (k, m) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(k, k2, "at_b: inner dimensions differ");
    let mut out = Array2::<f64>::zeros((m, n));
    {
        let os = out.as_slice_mut().unwrap();
        let dst = faer::MatMut::from_row_major_slice_mut(os, m, n);
        with_faer(a, |fa| {
            with_faer(b, |fb| {
                matmul(dst, Accum::Replace, fa.transpose(), fb, alpha, Par::Seq)
            })
        });
    }
    out
}

/// `C = A B` (sequential gemm).
pub fn a_b(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(k, k2, "a_b: inner dimensions differ");
    let mut out = Array2::<f64>::zeros((m, n));
    {
        let os = out.as_slice_mut().unwrap();
        let dst = faer::MatMut::from_row_major_slice_mut(os, m, n);
        with_faer(a, |fa| {
            with_faer(b, |fb| matmul(dst, Accum::Replace, fa, fb, 1.0, Par::Seq))
        });
    }
    out
}

/// Sample covariance (ddof = 1) of the rows of `x` (T observations × n variables).
/// Centers a copy of `x` and forms `XcᵀXc / (T − 1)` as a symmetric rank-T
/// update: only the lower triangle is computed (T·n² flops instead of the 2·T·n²
/// of a full product) and mirrored, so `S[i,j] == S[j,i]` exactly.
pub fn sample_cov(x: ArrayView2<'_, f64>) -> Array2<f64> {
    sample_cov_and_mean(x).0
}

/// [`sample_cov`] and the sample mean it centers with (one pass for the mean).
pub fn sample_cov_and_mean(x: ArrayView2<'_, f64>) -> (Array2<f64>, Array1<f64>) {
    let t = x.nrows();
    assert!(t >= 2, "sample_cov needs at least two observations");
    let mean = x.mean_axis(ndarray::Axis(0)).unwrap();
    let xc = &x - &mean;
    (gram_lower_mirrored(xc.view(), 1.0 / (t as f64 - 1.0)), mean)
}

/// `α XᵀX` from its lower triangle (faer's triangular-output product), mirrored.
pub fn gram_lower_mirrored(x: ArrayView2<'_, f64>, alpha: f64) -> Array2<f64> {
    use faer::linalg::matmul::triangular::{BlockStructure, matmul as tri_matmul};
    let n = x.ncols();
    let mut out = Array2::<f64>::zeros((n, n));
    {
        // Row-major n×n storage seen by faer as its transpose: faer's lower
        // triangle is our upper one, mirrored below.
        let os = out.as_slice_mut().unwrap();
        let dst = faer::MatMut::from_column_major_slice_mut(os, n, n);
        with_faer(x, |fx| {
            tri_matmul(
                dst,
                BlockStructure::TriangularLower,
                Accum::Replace,
                fx.transpose(),
                BlockStructure::Rectangular,
                fx,
                BlockStructure::Rectangular,
                alpha,
                Par::Seq,
            )
        });
    }
    mirror_upper(&mut out);
    out
}

/// `F S Fᵀ` for symmetric `S`, exactly symmetric. With `f_lower` (F lower
/// triangular, e.g. a Cholesky factor) the products skip F's zero triangle:
/// `F S` costs n³ and the lower triangle of `(FS)Fᵀ` n³/3 flops, against 4n³
/// for two full products.
pub fn congruence(f: ArrayView2<'_, f64>, s: ArrayView2<'_, f64>, f_lower: bool) -> Array2<f64> {
    use faer::linalg::matmul::triangular::{BlockStructure, matmul as tri_matmul};
    let n = f.nrows();
    let fs_structure = if f_lower {
        BlockStructure::TriangularLower
    } else {
        BlockStructure::Rectangular
    };
    let mut w = faer::Mat::<f64>::zeros(n, n);
    let mut out = Array2::<f64>::zeros((n, n));
    with_faer(f, |ff| {
        with_faer(s, |fsm| {
            tri_matmul(
                w.as_mut(),
                BlockStructure::Rectangular,
                Accum::Replace,
                ff,
                fs_structure,
                fsm,
                BlockStructure::Rectangular,
                1.0,
                Par::Seq,
            )
        });
        let rhs_structure = if f_lower {
            BlockStructure::TriangularUpper
        } else {
            BlockStructure::Rectangular
        };
        // Lower triangle of W Fᵀ, written into our row-major storage through
        // faer's column-major view of it (its upper = our lower).
        let os = out.as_slice_mut().unwrap();
        let dst = faer::MatMut::from_column_major_slice_mut(os, n, n);
        tri_matmul(
            dst.transpose_mut(),
            BlockStructure::TriangularLower,
            Accum::Replace,
            w.as_ref(),
            BlockStructure::Rectangular,
            ff.transpose(),
            rhs_structure,
            1.0,
            Par::Seq,
        );
    });
    mirror_lower(&mut out);
    out
}

/// Copies the upper triangle of a square matrix onto its lower triangle.
fn mirror_upper(a: &mut Array2<f64>) {
    let n = a.nrows();
    for i in 0..n {
        for j in 0..i {
            a[(i, j)] = a[(j, i)];
        }
    }
}

/// Copies the lower triangle of a square matrix onto its upper triangle.
fn mirror_lower(a: &mut Array2<f64>) {
    let n = a.nrows();
    for i in 0..n {
        for j in 0..i {
            a[(j, i)] = a[(i, j)];
        }
    }
}

/// `Σ_k s_k² p_k p_kᵀ` over the columns `p_k` of `vecs` whose scale `s_k` is nonzero: the
/// Gram product of `P diag(s)` with itself, so exactly symmetric and positive semidefinite by
/// construction. With eigenvectors `P` of `A`: `s = √λ₊` gives `A`'s PSD part (the
/// nearest-correlation projections), `s = λ₊^{1/4}` its PSD square root (the simulation's
/// factor of a singular Σ).
pub fn scaled_eigvec_gram(vecs: &Array2<f64>, scale: &[f64]) -> Array2<f64> {
    let n = vecs.nrows();
    let keep: Vec<usize> = (0..scale.len()).filter(|&k| scale[k] != 0.0).collect();
    if keep.is_empty() {
        return Array2::zeros((n, n));
    }
    // Row r: the kept column keep[r] of P, scaled.
    let st = Array2::from_shape_fn((keep.len(), n), |(r, i)| {
        vecs[(i, keep[r])] * scale[keep[r]]
    });
    let mut x = at_b(st.view(), st.view(), 1.0);
    symmetrize(&mut x);
    x
}

/// Replaces `A` by `(A + Aᵀ)/2`.
pub fn symmetrize(a: &mut Array2<f64>) {
    let n = a.nrows();
    for i in 0..n {
        for j in 0..i {
            let v = 0.5 * (a[(i, j)] + a[(j, i)]);
            a[(i, j)] = v;
            a[(j, i)] = v;
        }
    }
}

/// `wᵀ A w`.
pub fn quad_form(a: ArrayView2<'_, f64>, w: ArrayView1<'_, f64>) -> f64 {
    let mut acc = 0.0;
    for (i, row) in a.outer_iter().enumerate() {
        acc += w[i] * row.dot(&w);
    }
    acc
}

crate::avx2_dispatch! {
/// `A v` for several vectors in one pass over the rows of `A` (each row is read once, while
/// in cache, for all of them); every entry as `a.dot(v)` computes it (`row.dot(v) * 1`), so
/// each result has the single product's bits.
pub fn mat_vecs(a: ArrayView2<'_, f64>, vs: &[&Array1<f64>]) -> Vec<Array1<f64>> {
    let mut out: Vec<Array1<f64>> = vs.iter().map(|_| Array1::zeros(a.nrows())).collect();
    let mut d = vec![0.0; vs.len()];
    let slices: Option<Vec<&[f64]>> = vs.iter().map(|v| v.as_slice()).collect();
    for (i, row) in a.outer_iter().enumerate() {
        row_dots(row, vs, slices.as_deref(), &mut d);
        for (o, d) in out.iter_mut().zip(&d) {
            o[i] = d * 1.0;
        }
    }
    out
}
}

crate::avx2_dispatch! {
/// [`quad_form`] for several vectors in one pass over the rows of `a` (each row is
/// read once, while in cache, for all of them); each result has `quad_form`'s bits.
pub fn quad_forms(a: ArrayView2<'_, f64>, ws: &[&Array1<f64>]) -> Vec<f64> {
    let mut acc = vec![0.0; ws.len()];
    let mut d = vec![0.0; ws.len()];
    let slices: Option<Vec<&[f64]>> = ws.iter().map(|v| v.as_slice()).collect();
    for (i, row) in a.outer_iter().enumerate() {
        row_dots(row, ws, slices.as_deref(), &mut d);
        for ((acc, w), d) in acc.iter_mut().zip(ws).zip(&d) {
            *acc += w[i] * d;
        }
    }
    acc
}
}

/// `out[k] = dot(x, vs[k])` for every k, each with [`dot`]'s bits: four vectors at a time
/// share each load of `x` (every pair keeps its own eight partial sums, in `dot`'s order).
/// `slices`: the vectors' contiguous storage, when all have one.
#[inline(always)]
fn row_dots(
    x: ArrayView1<'_, f64>,
    vs: &[&Array1<f64>],
    slices: Option<&[&[f64]]>,
    out: &mut [f64],
) {
    const K: usize = 4;
    let mut k0 = 0;
    if let (Some(xs), Some(ys)) = (x.as_slice(), slices) {
        while k0 + K <= ys.len() {
            let group: [&[f64]; K] = [ys[k0], ys[k0 + 1], ys[k0 + 2], ys[k0 + 3]];
            out[k0..k0 + K].copy_from_slice(&dots::<K>(xs, group));
            k0 += K;
        }
    }
    for (o, v) in out[k0..].iter_mut().zip(&vs[k0..]) {
        *o = dot(x, v.view());
    }
}

/// [`dot`] of `x` with K vectors at once, each sum in `dot`'s order.
#[inline(always)]
fn dots<const K: usize>(x: &[f64], ys: [&[f64]; K]) -> [f64; K] {
    let n = x.len();
    for y in &ys {
        assert_eq!(y.len(), n, "dot: lengths differ");
    }
    let mut p = [[0.0f64; 8]; K];
    let full = n / 8 * 8;
    let mut c = 0;
    while c < full {
        let xc = &x[c..c + 8];
        for (pk, y) in p.iter_mut().zip(&ys) {
            let yc = &y[c..c + 8];
            for l in 0..8 {
                pk[l] += xc[l] * yc[l];
            }
        }
        c += 8;
    }
    let mut out = [0.0; K];
    for ((o, pk), y) in out.iter_mut().zip(&p).zip(&ys) {
        let mut sum = 0.0;
        sum += pk[0] + pk[4];
        sum += pk[1] + pk[5];
        sum += pk[2] + pk[6];
        sum += pk[3] + pk[7];
        for (&a, &b) in x[full..].iter().zip(&y[full..]) {
            sum += a * b;
        }
        *o = sum;
    }
    out
}

/// `x · y` with the bits of ndarray's `dot` (its eightfold unrolled sum for contiguous
/// vectors, `numeric_util::unrolled_dot`, replayed in the same order), but inlined into its
/// caller so that the callers compiled for AVX2 run it on 4-wide registers: ndarray's
/// own copy is compiled for baseline x86-64 and was ~7 % of a trial at n = 100. The eight
/// partial sums are independent lanes and every operation is a separate multiply and add
/// (no FMA), so vectorizing changes no bit.
#[inline(always)]
pub fn dot(x: ArrayView1<'_, f64>, y: ArrayView1<'_, f64>) -> f64 {
    assert_eq!(x.len(), y.len(), "dot: lengths differ");
    match (x.as_slice(), y.as_slice()) {
        (Some(xs), Some(ys)) => dots::<1>(xs, [ys])[0],
        _ => x.dot(&y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn cholesky_and_solve() {
        let a = array![[4.0, 2.0, 0.4], [2.0, 3.0, 0.5], [0.4, 0.5, 2.0]];
        let l = cholesky(a.view()).unwrap();
        let back = l.dot(&l.t());
        assert!((&back - &a).iter().all(|v| v.abs() < 1e-14));
        let b = array![1.0, 2.0, 3.0];
        let x = solve_spd(a.view(), b.view()).unwrap();
        assert!((a.dot(&x) - &b).iter().all(|v| v.abs() < 1e-13));
        assert!(cholesky(array![[1.0, 2.0], [2.0, 1.0]].view()).is_none());
    }

    #[test]
    fn dot_has_ndarrays_bits() {
        // Every length around the unrolling (tails of 0…7), contiguous and strided views,
        // values whose sums depend on the order: the same bits as ndarray's dot.
        for len in 0..40 {
            let x = Array1::from_shape_fn(len, |i| {
                ((i * 7919 % 113) as f64 - 56.0) * 1e-3 + 1.0 / (i + 1) as f64
            });
            let y =
                Array1::from_shape_fn(len, |i| ((i * 104_729 % 97) as f64 - 48.5).powi(3) * 1.1);
            assert_eq!(
                dot(x.view(), y.view()).to_bits(),
                x.dot(&y).to_bits(),
                "len {len}"
            );
            let wide = Array1::from_shape_fn(2 * len, |i| (i as f64).sin());
            let strided = wide.slice(ndarray::s![..;2]);
            assert_eq!(dot(strided, y.view()).to_bits(), strided.dot(&y).to_bits());
        }
        let a = Array2::from_shape_fn((23, 23), |(i, j)| {
            ((i * 31 + j * 17) % 29) as f64 / 7.0 - 2.0
        });
        // 11 vectors: two groups of four and three single products.
        let vs: Vec<Array1<f64>> = (0..11)
            .map(|k| Array1::from_shape_fn(23, |i| ((i + k) as f64).cos() / (k + 1) as f64))
            .collect();
        let refs: Vec<&Array1<f64>> = vs.iter().collect();
        for (got, v) in mat_vecs(a.view(), &refs).iter().zip(&vs) {
            let want = a.dot(v);
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(g, w)| g.to_bits() == w.to_bits())
            );
        }
        for (got, v) in quad_forms(a.view(), &refs).iter().zip(&vs) {
            assert_eq!(got.to_bits(), quad_form(a.view(), v.view()).to_bits());
        }
    }

    #[test]
    fn symmetric_products_match_full_products() {
        // Gram and congruence from triangles agree with full ndarray products
        // to rounding, and are exactly symmetric.
        let n = 37;
        let x = Array2::from_shape_fn((53, n), |(i, j)| ((i * 7 + j * 13) % 17) as f64 - 8.0);
        let g = gram_lower_mirrored(x.view(), 0.5);
        let full = x.t().dot(&x) * 0.5;
        assert!((&g - &full).iter().all(|v| v.abs() < 1e-10));
        let s = sample_cov(x.view());
        let f = cholesky((&s + &Array2::<f64>::eye(n)).view()).unwrap();
        for lower in [true, false] {
            let c = congruence(f.view(), s.view(), lower);
            let want = f.dot(&s).dot(&f.t());
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!((&c - &want).iter().all(|v| v.abs() < 1e-12 * scale));
            assert!((0..n).all(|i| (0..n).all(|j| c[(i, j)] == c[(j, i)])));
        }
    }

    #[test]
    fn eigh_reconstructs() {
        let a = array![[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]];
        let (vals, vecs) = eigh(a.view()).unwrap();
        assert!(vals[0] < vals[1] && vals[1] < vals[2]);
        let back = vecs.dot(&Array2::from_diag(&vals)).dot(&vecs.t());
        assert!((&back - &a).iter().all(|v| v.abs() < 1e-13));
        assert!((vals[0] - (2.0 - 2f64.sqrt())).abs() < 1e-14);
    }

    #[test]
    fn sample_cov_matches_definition() {
        let x = array![[1.0, 2.0], [2.0, 1.0], [4.0, 7.0], [0.5, -1.0]];
        let s = sample_cov(x.view());
        let m0 = x.column(0).mean().unwrap();
        let m1 = x.column(1).mean().unwrap();
        let c01: f64 = (0..4)
            .map(|t| (x[(t, 0)] - m0) * (x[(t, 1)] - m1))
            .sum::<f64>()
            / 3.0;
        assert!((s[(0, 1)] - c01).abs() < 1e-14);
        assert_eq!(s[(0, 1)], s[(1, 0)]);
        let ab = a_b(x.t(), x.view());
        assert!((&ab - &x.t().dot(&x)).iter().all(|v| v.abs() < 1e-12));
    }
}
