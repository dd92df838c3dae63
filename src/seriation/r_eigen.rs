//! R's `eigen(x, symmetric = TRUE)` and the few R reductions the eigenvector methods
//! feed it, reproduced bit for bit where that decides an order.
//!
//! The sign of an eigenvector is not a property of the matrix: it is whatever the
//! algorithm returns. R's `eigen` calls LAPACK `dsyevr` (`La_rs`: JOBZ = "V",
//! RANGE = "A", UPLO = "L", ABSTOL = 0) and reverses the columns to decreasing
//! eigenvalues; `Spectral`, `Spectral_norm`, `MDS*` and `R2E` then order objects by
//! those vectors as returned, so a flipped sign reverses an order (and for `R2E`
//! moves the cut of its circle). HRP's bisection takes ⌊k/2⌋ on the left, so a
//! reversed order gives other ASRP weights (issue 11). Here the same `dsyevr` is
//! called, from the system LAPACK (Debian `liblapack-dev`, reference LAPACK 3.11 —
//! what Debian's R links), on a matrix built with R's arithmetic. faer stays on
//! every other path.
//!
//! When two eigenvalues are (nearly) equal the eigenvectors are not determined by
//! the matrix, and any last-bit difference in the input (another BLAS, another
//! summation order) can rotate them: [`rel_gap`] measures that.

use super::SeriationError;
use ndarray::Array2;
use std::os::raw::{c_char, c_int};

#[link(name = "lapack")]
unsafe extern "C" {
    /// LAPACK `DSYEVR` (gfortran calling convention: trailing hidden lengths of the
    /// three CHARACTER arguments).
    fn dsyevr_(
        jobz: *const c_char,
        range: *const c_char,
        uplo: *const c_char,
        n: *const c_int,
        a: *mut f64,
        lda: *const c_int,
        vl: *const f64,
        vu: *const f64,
        il: *const c_int,
        iu: *const c_int,
        abstol: *const f64,
        m: *mut c_int,
        w: *mut f64,
        z: *mut f64,
        ldz: *const c_int,
        isuppz: *mut c_int,
        work: *mut f64,
        lwork: *const c_int,
        iwork: *mut c_int,
        liwork: *const c_int,
        info: *mut c_int,
        jobz_len: usize,
        range_len: usize,
        uplo_len: usize,
    );
}

/// Eigen-decomposition of a symmetric matrix as R's `eigen(a, symmetric = TRUE)`:
/// eigenvalues decreasing, eigenvector `k` (R's column k + 1) in column `k`. Only
/// the lower triangle `a[(i, j)], i ≥ j` is read (R's UPLO = "L"), as in R when a
/// matrix is symmetric only to `isSymmetric`'s tolerance.
pub fn eigen_sym(a: &Array2<f64>) -> Result<(Vec<f64>, Array2<f64>), SeriationError> {
    let n = a.nrows();
    if n == 0 || a.ncols() != n || a.iter().any(|v| !v.is_finite()) {
        return Err(SeriationError::Failed(
            "eigen: matrix is empty, not square or not finite".into(),
        ));
    }
    let ni = c_int::try_from(n)
        .map_err(|_| SeriationError::Failed(format!("eigen: n = {n} too large for LAPACK")))?;
    // Column-major copy: element (i, j) at i + j n.
    let mut x = vec![0.0; n * n];
    for j in 0..n {
        for i in 0..n {
            x[i + j * n] = a[(i, j)];
        }
    }
    let (jobz, range, uplo) = (b'V' as c_char, b'A' as c_char, b'L' as c_char);
    let (vl, vu, il, iu, abstol) = (0.0f64, 0.0f64, 0 as c_int, 0 as c_int, 0.0f64);
    let mut m: c_int = 0;
    let mut w = vec![0.0; n];
    let mut z = vec![0.0; n * n];
    let mut isuppz = vec![0 as c_int; 2 * n];
    let mut call = |work: &mut [f64], lwork: c_int, iwork: &mut [c_int], liwork: c_int| {
        // SAFETY: every pointer refers to a live buffer of the size DSYEVR requires
        // for JOBZ = 'V', RANGE = 'A' (A, Z: n×n with leading dimension n; W: n;
        // ISUPPZ: 2n; WORK/IWORK: at least LWORK/LIWORK, or 1 for the size query).
        let mut info: c_int = 0;
        unsafe {
            dsyevr_(
                &jobz,
                &range,
                &uplo,
                &ni,
                x.as_mut_ptr(),
                &ni,
                &vl,
                &vu,
                &il,
                &iu,
                &abstol,
                &mut m,
                w.as_mut_ptr(),
                z.as_mut_ptr(),
                &ni,
                isuppz.as_mut_ptr(),
                work.as_mut_ptr(),
                &lwork,
                iwork.as_mut_ptr(),
                &liwork,
                &mut info,
                1,
                1,
                1,
            )
        };
        info
    };
    // Workspace query, then the call (as R's La_rs).
    let mut wq = [0.0f64];
    let mut iq = [0 as c_int];
    let info = call(&mut wq, -1, &mut iq, -1);
    if info != 0 {
        return Err(SeriationError::Failed(format!(
            "eigen: dsyevr workspace query failed (info = {info})"
        )));
    }
    let lwork = wq[0] as c_int;
    let liwork = iq[0];
    let mut work = vec![0.0; lwork.max(1) as usize];
    let mut iwork = vec![0 as c_int; liwork.max(1) as usize];
    let info = call(&mut work, lwork, &mut iwork, liwork);
    if info != 0 || m as usize != n {
        return Err(SeriationError::Failed(format!(
            "eigen: dsyevr failed (info = {info}, {m} of {n} eigenvalues)"
        )));
    }
    // dsyevr: ascending; R: decreasing.
    let values: Vec<f64> = w.iter().rev().copied().collect();
    let vectors = Array2::from_shape_fn((n, n), |(i, k)| z[i + (n - 1 - k) * n]);
    Ok((values, vectors))
}

/// Relative gap `|λ_k − λ_l| / max|λ|` between two eigenvalues: when it is near
/// the rounding level the eigenvectors of `k` and `l` are not determined by the
/// matrix (any rotation within their plane is as good), so an order built on them
/// is arbitrary.
pub fn rel_gap(values: &[f64], k: usize, l: usize) -> f64 {
    let scale = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if scale == 0.0 {
        return 0.0;
    }
    (values[k] - values[l]).abs() / scale
}

/// Double-double accumulator: sums as R's `rowSums`, `mean` and `cor` do in x87
/// long double, then rounds once. Error-free TwoSum keeps ~106 bits, so the
/// rounded result equals the correctly rounded sum, which is what R's 64-bit
/// extended accumulation gives for these sums except in rare double-rounding ties.
#[derive(Clone, Copy, Default)]
pub(crate) struct Dd {
    hi: f64,
    lo: f64,
}

impl Dd {
    pub(crate) fn add(&mut self, x: f64) {
        let s = self.hi + x;
        let bp = s - self.hi;
        let err = (self.hi - (s - bp)) + (x - bp);
        let lo = self.lo + err;
        // renormalize
        let hi = s + lo;
        self.lo = lo - (hi - s);
        self.hi = hi;
    }
    pub(crate) fn value(self) -> f64 {
        self.hi + self.lo
    }
    /// `self / k`, in double-double.
    pub(crate) fn div(self, k: f64) -> Dd {
        let q = self.hi / k;
        // remainder self − q·k, exactly via fma
        let p = q * k;
        let perr = q.mul_add(k, -p);
        let r = ((self.hi - p) - perr) + self.lo;
        let q2 = r / k;
        let hi = q + q2;
        Dd {
            hi,
            lo: q2 - (hi - q),
        }
    }
    /// `x − self` for a double `x`, in double-double.
    pub(crate) fn rsub(self, x: f64) -> Dd {
        let mut d = Dd { hi: x, lo: 0.0 };
        d.add(-self.hi);
        d.add(-self.lo);
        d
    }
}

/// Sum with R's long-double accumulation (see [`Dd`]).
pub fn ld_sum(xs: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = Dd::default();
    for x in xs {
        s.add(x);
    }
    s.value()
}

/// R's `cor(x)` (Pearson, complete data; `cov_complete1` in R's cov.c): column
/// means by the two-pass long-double mean, covariances as long-double sums of
/// double products divided by n − 1, then `cov_ij / (sd_i sd_j)` capped at 1.
pub(crate) fn r_cor(x: &Array2<f64>) -> Array2<f64> {
    let n = x.nrows();
    let p = x.ncols();
    let nf = n as f64;
    let xm: Vec<f64> = (0..p)
        .map(|j| {
            let mut s = Dd::default();
            for i in 0..n {
                s.add(x[(i, j)]);
            }
            let tmp = s.div(nf);
            if !tmp.value().is_finite() {
                return tmp.value();
            }
            let mut s2 = Dd::default();
            for i in 0..n {
                let d = tmp.rsub(x[(i, j)]);
                s2.add(d.hi);
                s2.add(d.lo);
            }
            let corr = s2.div(nf);
            let mut t = tmp;
            t.add(corr.hi);
            t.add(corr.lo);
            t.value()
        })
        .collect();
    // Centered columns (double, as R computes xx[k] − xxm).
    let c: Vec<Vec<f64>> = (0..p)
        .map(|j| (0..n).map(|i| x[(i, j)] - xm[j]).collect())
        .collect();
    let n1 = nf - 1.0;
    let mut ans = Array2::zeros((p, p));
    for i in 0..p {
        for j in 0..=i {
            let mut s = Dd::default();
            for (a, b) in c[i].iter().zip(&c[j]) {
                s.add(a * b);
            }
            let v = s.div(n1).value();
            ans[(i, j)] = v;
            ans[(j, i)] = v;
        }
    }
    let sd: Vec<f64> = (0..p).map(|i| ans[(i, i)].sqrt()).collect();
    for i in 0..p {
        for j in 0..i {
            let mut v = ans[(i, j)] / (sd[i] * sd[j]);
            if v > 1.0 {
                v = 1.0;
            }
            ans[(i, j)] = v;
            ans[(j, i)] = v;
        }
        ans[(i, i)] = 1.0;
    }
    ans
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn decomposes_and_orders_like_r() {
        let a = array![[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]];
        let (v, z) = eigen_sym(&a).unwrap();
        // Eigenvalues 2 + √2, 2, 2 − √2, decreasing.
        let s = 2f64.sqrt();
        for (x, y) in v.iter().zip([2.0 + s, 2.0, 2.0 - s]) {
            assert!((x - y).abs() < 1e-14, "{v:?}");
        }
        for (k, &vk) in v.iter().enumerate() {
            let col = z.column(k);
            let r = a.dot(&col) - &col * vk;
            assert!(r.iter().all(|e| e.abs() < 1e-14));
            assert!((col.dot(&col) - 1.0).abs() < 1e-14);
        }
        assert!(rel_gap(&v, 0, 1) > 0.4);
    }

    #[test]
    fn reads_only_the_lower_triangle() {
        let a = array![[2.0, 1.0], [1.0, 2.0]];
        let mut b = a.clone();
        b[(0, 1)] = 99.0;
        assert_eq!(eigen_sym(&a).unwrap(), eigen_sym(&b).unwrap());
    }

    #[test]
    fn long_double_sums_are_correctly_rounded() {
        // 1 + 2⁻⁵³ + 2⁻⁵³ is 1 + 2⁻⁵² exactly; naive f64 summation gives 1.
        let e = f64::EPSILON / 2.0;
        assert_eq!(ld_sum([1.0, e, e]), 1.0 + 2.0 * e);
        assert_eq!([1.0, e, e].iter().sum::<f64>(), 1.0);
        let d = Dd { hi: 1.0, lo: 0.0 }.div(3.0);
        assert_eq!(d.value(), 1.0 / 3.0);
        let c = r_cor(&array![[1.0, 2.0], [2.0, 4.5], [3.0, 5.0]]);
        assert_eq!(c[(0, 0)], 1.0);
        assert_eq!(c[(0, 1)], 0.933_256_525_257_382_7, "{c}");
    }
}
