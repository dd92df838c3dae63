//! Eigenvector methods: `Spectral`, `Spectral_norm` (Ding & He 2004), `MDS`,
//! `MDS_metric`, `MDS_angle` (Friendly 2002), `MDS_nonmetric` (Kruskal 1964, via
//! MASS `isoMDS`), `R2E` (rank-two ellipse, Chen 2002).
//!
//! The sign of an eigenvector is whatever the eigensolver returns, and these methods
//! order by the vectors as returned; to give R's orders (not only up to reversal)
//! every eigenvector here comes from [`r_eigen::eigen_sym`] — LAPACK `dsyevr`, as
//! R's `eigen` — applied to matrices built with R's arithmetic (long-double
//! `rowSums` and `cor`, BLAS products that are exact for diagonal factors). Each
//! method also reports the smallest relative gap between an eigenvalue it uses and
//! a neighbour ([`EigenOrder::gap`]): below [`DEGENERATE_GAP`] the order is
//! arbitrary (README, "Seriation").

use super::r_eigen::{self, eigen_sym, ld_sum};
use super::{Dm, SeriationError, order_by};
use ndarray::Array2;

/// Relative eigenvalue gap under which an eigenvector order is called degenerate:
/// a perturbation of the matrix of relative size ε rotates the eigenvectors by
/// about ε / gap, so at 1e-8 a last-bit difference (1e-16) in the input can move
/// them by 1e-8 — enough to swap objects whose coordinates are that close — and
/// at exact degeneracy any rotation is as valid.
pub const DEGENERATE_GAP: f64 = 1e-8;

/// An order computed from eigenvectors, with the smallest relative gap
/// (`|λ_k − λ_l| / max|λ|`) between a used eigenvalue and its neighbours.
#[derive(Clone, Debug, PartialEq)]
pub struct EigenOrder {
    pub order: Vec<usize>,
    pub gap: f64,
}

impl EigenOrder {
    /// Whether the order rests on (nearly) repeated eigenvalues.
    pub fn degenerate(&self) -> bool {
        self.gap < DEGENERATE_GAP
    }
}

/// Smallest relative gap between eigenvalue `k` (R's decreasing order) and its
/// neighbours.
fn gap_at(values: &[f64], k: usize) -> f64 {
    let mut g = f64::INFINITY;
    if k > 0 {
        g = g.min(r_eigen::rel_gap(values, k, k - 1));
    }
    if k + 1 < values.len() {
        g = g.min(r_eigen::rel_gap(values, k, k + 1));
    }
    g
}

/// `Spectral`: order of the Fiedler vector (eigenvector of the second-smallest
/// eigenvalue) of the Laplacian L = D − W of the similarity W = 1/(1+d)
/// (Ding & He 2004, §2; R `seriate_dist_spectral`: `eigen(L)$vectors[, n − 1]`).
pub fn spectral(d: &Dm) -> Result<Vec<usize>, SeriationError> {
    spectral_noted(d).map(|e| e.order)
}

/// [`spectral`] with its eigenvalue gap.
pub fn spectral_noted(d: &Dm) -> Result<EigenOrder, SeriationError> {
    let n = d.n;
    let w = d.similarity().to_array();
    // R: D <- diag(rowSums(W)); L <- D - W.
    let l = Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            ld_sum(w.row(i).iter().copied()) - w[(i, j)]
        } else {
            0.0 - w[(i, j)]
        }
    });
    let (vals, v) = eigen_sym(&l)?;
    Ok(EigenOrder {
        order: order_by(&v.column(n - 2).to_vec()),
        gap: gap_at(&vals, n - 2),
    })
}

/// `Spectral_norm`: R's normalized variant. As in R 1.4.1, D_s = diag(rowSums(1/√W)),
/// L = D_s W D_s, and the order is that of D_s z₂, z₂ the eigenvector of L's
/// second-largest eigenvalue.
pub fn spectral_norm(d: &Dm) -> Result<Vec<usize>, SeriationError> {
    spectral_norm_noted(d).map(|e| e.order)
}

/// [`spectral_norm`] with its eigenvalue gap.
pub fn spectral_norm_noted(d: &Dm) -> Result<EigenOrder, SeriationError> {
    let n = d.n;
    let w = d.similarity().to_array();
    // R: rowSums(1/W^0.5) in long double; W^0.5 is C pow(w, 0.5).
    let ds: Vec<f64> = (0..n)
        .map(|i| ld_sum(w.row(i).iter().map(|x| 1.0 / x.powf(0.5))))
        .collect();
    // D_sqrt %*% W %*% D_sqrt: BLAS dgemm with a diagonal factor adds exact zeros,
    // so each entry is (ds_i w_ij) ds_j.
    let l = Array2::from_shape_fn((n, n), |(i, j)| (ds[i] * w[(i, j)]) * ds[j]);
    let (vals, v) = eigen_sym(&l)?;
    let z: Vec<f64> = (0..n).map(|i| v[(i, 1)] * ds[i]).collect();
    Ok(EigenOrder {
        order: order_by(&z),
        gap: gap_at(&vals, 1),
    })
}

/// Classical (Torgerson) scaling as R's `cmdscale(d, k)`: the top-k eigenvectors of
/// −½ J d² J, scaled by √eigenvalue (only positive eigenvalues kept); also returns
/// the smallest relative gap at the k used eigenvalues.
pub(crate) fn cmdscale(d: &Dm, k: usize) -> Result<(Vec<Vec<f64>>, f64), SeriationError> {
    let n = d.n;
    let mut x = Array2::from_shape_fn((n, n), |(i, j)| d.at(i, j) * d.at(i, j));
    // R's DoubleCentre: plain double sums in index order (not ndarray's unrolled
    // `sum`), rows first, then columns.
    let seq_sum = |it: ndarray::iter::Iter<'_, f64, ndarray::Ix1>| it.fold(0.0, |s, v| s + v);
    for i in 0..n {
        let m = seq_sum(x.row(i).iter()) / n as f64;
        x.row_mut(i).mapv_inplace(|v| v - m);
    }
    for j in 0..n {
        let m = seq_sum(x.column(j).iter()) / n as f64;
        x.column_mut(j).mapv_inplace(|v| v - m);
    }
    x.mapv_inplace(|v| -v / 2.0);
    let (vals, vecs) = eigen_sym(&x)?;
    let mut out = Vec::new();
    let mut gap = f64::INFINITY;
    for c in 0..k {
        let ev = vals[c];
        if ev > 0.0 {
            out.push((0..n).map(|i| vecs[(i, c)] * ev.sqrt()).collect());
            gap = gap.min(gap_at(&vals, c));
        }
    }
    if out.len() < k {
        return Err(SeriationError::Failed(format!(
            "cmdscale: fewer than {k} positive eigenvalues"
        )));
    }
    Ok((out, gap))
}

/// `MDS` / `MDS_metric`: order of the first classical-scaling coordinate.
pub fn mds_metric(d: &Dm) -> Result<Vec<usize>, SeriationError> {
    mds_metric_noted(d).map(|e| e.order)
}

/// [`mds_metric`] with its eigenvalue gap.
pub fn mds_metric_noted(d: &Dm) -> Result<EigenOrder, SeriationError> {
    let (sc, gap) = cmdscale(d, 1)?;
    Ok(EigenOrder {
        order: order_by(&sc[0]),
        gap,
    })
}

/// `MDS_angle` (Friendly 2002): order by the angle atan2(x₁, x₂) in the plane of the
/// first two scaling coordinates, cut at the largest angular gap (R `.order_angle`).
pub fn mds_angle(d: &Dm) -> Result<Vec<usize>, SeriationError> {
    mds_angle_noted(d).map(|e| e.order)
}

/// [`mds_angle`] with its eigenvalue gap.
pub fn mds_angle_noted(d: &Dm) -> Result<EigenOrder, SeriationError> {
    let (sc, gap) = cmdscale(d, 2)?;
    Ok(EigenOrder {
        order: order_angle(&sc[0], &sc[1]),
        gap,
    })
}

pub(crate) fn order_angle(x1: &[f64], x2: &[f64]) -> Vec<usize> {
    let n = x1.len();
    let alpha: Vec<f64> = (0..n).map(|i| x1[i].atan2(x2[i])).collect();
    let o = order_by(&alpha);
    let mut a: Vec<f64> = o.iter().map(|&i| alpha[i]).collect();
    a.push(alpha[o[0]] + 2.0 * std::f64::consts::PI);
    let mut cut = 0;
    let mut best = f64::NEG_INFINITY;
    for k in 0..n {
        let g = (a[k + 1] - a[k]).abs();
        if g > best {
            best = g;
            cut = k;
        }
    }
    // R: cut is 1-based position k+1; if cut == n keep o, else rotate after it.
    if cut == n - 1 {
        o
    } else {
        o[cut + 1..]
            .iter()
            .chain(o[..=cut].iter())
            .copied()
            .collect()
    }
}

/// Numerical rank as R's `qr(x)$rank`: LINPACK `dqrdc2` Householder QR with
/// limited column pivoting, tolerance 1e-7 relative to each column's norm.
fn qr_rank(x: &Array2<f64>, tol: f64) -> usize {
    let n = x.nrows();
    let p = x.ncols();
    let mut a: Vec<Vec<f64>> = (0..p).map(|j| x.column(j).to_vec()).collect();
    let nrm = |v: &[f64]| v.iter().map(|t| t * t).sum::<f64>().sqrt();
    let mut qraux: Vec<f64> = a.iter().map(|c| nrm(c)).collect();
    let mut work1 = qraux.clone();
    let mut work2: Vec<f64> = qraux
        .iter()
        .map(|&q| if q == 0.0 { 1.0 } else { q })
        .collect();
    let lup = n.min(p);
    let mut k = p + 1; // 1-based as in dqrdc2
    for l in 0..lup {
        // cycle negligible columns to the end
        while l + 1 < k && qraux[l] < work2[l] * tol {
            let col = a.remove(l);
            a.push(col);
            let q = qraux.remove(l);
            qraux.push(q);
            let w1 = work1.remove(l);
            work1.push(w1);
            let w2 = work2.remove(l);
            work2.push(w2);
            k -= 1;
        }
        if l + 1 == n {
            break;
        }
        let mut nrmxl = nrm(&a[l][l..]);
        if nrmxl == 0.0 {
            continue;
        }
        if a[l][l] != 0.0 {
            nrmxl = nrmxl.abs() * a[l][l].signum();
        }
        for v in a[l][l..].iter_mut() {
            *v /= nrmxl;
        }
        a[l][l] += 1.0;
        let (head, tail) = a.split_at_mut(l + 1);
        let hl = &head[l];
        for (jo, col) in tail.iter_mut().enumerate() {
            let j = l + 1 + jo;
            let dot: f64 = (l..n).map(|i| hl[i] * col[i]).sum();
            let t = -dot / hl[l];
            for i in l..n {
                col[i] += t * hl[i];
            }
            if qraux[j] != 0.0 {
                let tt = (1.0 - (col[l].abs() / qraux[j]).powi(2)).max(0.0);
                if tt.abs() < 1e-6 {
                    qraux[j] = nrm(&col[l + 1..]);
                    work1[j] = qraux[j];
                } else {
                    qraux[j] *= tt.sqrt();
                }
            }
        }
        qraux[l] = a[l][l];
        a[l][l] = -nrmxl;
    }
    (k - 1).min(n)
}

/// `R2E` (rank-two ellipse seriation, Chen 2002): iterate correlation matrices of
/// the distance matrix until rank ≤ 2, then split by the sign of the first
/// eigenvector and order each half by the second (R `seriate_dist_chen`).
pub fn r2e(d: &Dm) -> Result<Vec<usize>, SeriationError> {
    r2e_noted(d).map(|e| e.order)
}

/// [`r2e`] with its eigenvalue gap.
pub fn r2e_noted(d: &Dm) -> Result<EigenOrder, SeriationError> {
    let (e1, e2, gap) = r2e_vectors(d)?;
    Ok(EigenOrder {
        order: r2e_order(&e1, &e2),
        gap,
    })
}

/// The two leading eigenvectors R2E orders by (R's `eigen(x)$vectors[, 1:2]`), and
/// the smallest relative gap at their eigenvalues.
pub fn r2e_vectors(d: &Dm) -> Result<(Vec<f64>, Vec<f64>, f64), SeriationError> {
    let n = d.n;
    let mut x = d.to_array();
    let mut it = 0;
    while qr_rank(&x, 1e-7) > 2 {
        x = r_eigen::r_cor(&x);
        it += 1;
        if it > 10_000 || x.iter().any(|v| !v.is_finite()) {
            return Err(SeriationError::Failed(
                "R2E: correlation iteration did not reach rank 2".into(),
            ));
        }
    }
    let (vals, v) = eigen_sym(&x)?;
    Ok((
        (0..n).map(|i| v[(i, 0)]).collect(),
        (0..n).map(|i| v[(i, 1)]).collect(),
        gap_at(&vals, 0).min(gap_at(&vals, 1)),
    ))
}

/// R's split: objects with e₁ ≥ 0 by e₂ decreasing, then e₁ < 0 by e₂ increasing.
pub fn r2e_order(e1: &[f64], e2: &[f64]) -> Vec<usize> {
    let n = e1.len();
    let mut right: Vec<usize> = (0..n).filter(|&i| e1[i] >= 0.0).collect();
    right.sort_by(|&a, &b| {
        e2[b]
            .partial_cmp(&e2[a])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut left: Vec<usize> = (0..n).filter(|&i| e1[i] < 0.0).collect();
    left.sort_by(|&a, &b| {
        e2[a]
            .partial_cmp(&e2[b])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    right.extend(left);
    right
}

/// `MDS_nonmetric`: Kruskal's (1964) non-metric scaling in one dimension as MASS
/// `isoMDS(d + 1e-6, k = 1)`: start from `cmdscale`, minimise stress (in percent)
/// with R's BFGS `vmmin` (maxit 50, abstol 1e-2, reltol 1e-3); order the coordinate.
pub fn mds_nonmetric(d: &Dm) -> Result<Vec<usize>, SeriationError> {
    let n = d.n;
    let dp = Dm {
        n,
        v: d.v
            .iter()
            .enumerate()
            .map(|(k, &x)| if k / n == k % n { 0.0 } else { x + 1e-6 })
            .collect(),
    };
    let y0 = cmdscale(&dp, 1)?.0.remove(0);
    // Pairs in R's dist order (i < j, row-major over i): dis, then rank order.
    let mut pairs = Vec::with_capacity(n * (n - 1) / 2);
    let mut dis = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in (i + 1)..n {
            pairs.push((i, j));
            dis.push(dp.at(j, i));
        }
    }
    let ord = order_by(&dis);
    let mut st = Stress {
        n,
        pairs,
        ord,
        y: vec![0.0; dis.len()],
        yf: vec![0.0; dis.len()],
        buf: vec![0.0; dis.len()],
    };
    let mut x = y0;
    vmmin(&mut x, &mut st, 50, 1e-2, 1e-3);
    Ok(order_by(&x))
}

struct Stress {
    n: usize,
    pairs: Vec<(usize, usize)>,
    ord: Vec<usize>,
    y: Vec<f64>,
    yf: Vec<f64>,
    buf: Vec<f64>,
}

impl Stress {
    /// Kruskal stress (percent) and its gradient (MASS `VR_mds_fn`, p = 2).
    fn eval(&mut self, x: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let m = self.pairs.len();
        for (k, &(i, j)) in self.pairs.iter().enumerate() {
            self.y[k] = (x[i] - x[j]).abs();
        }
        // isotonic regression of y in dissimilarity order (pool adjacent violators)
        for k in 0..m {
            self.buf[k] = self.y[self.ord[k]];
        }
        let fit = pava(&self.buf);
        for k in 0..m {
            self.yf[self.ord[k]] = fit[k];
        }
        let (mut sstar, mut tstar) = (0.0, 0.0);
        for k in 0..m {
            let t = self.y[k] - self.yf[k];
            sstar += t * t;
            tstar += self.y[k] * self.y[k];
        }
        let ssq = 100.0 * (sstar / tstar).sqrt();
        if let Some(g) = grad {
            let n = self.n;
            for v in g.iter_mut() {
                *v = 0.0;
            }
            let mut tmp = vec![0.0; n];
            for (k, &(i, j)) in self.pairs.iter().enumerate() {
                let t1 = x[i] - x[j];
                let term = (self.y[k] - self.yf[k]) / sstar - self.y[k] / tstar;
                let s_ij = if t1 >= 0.0 { 1.0 } else { -1.0 };
                // For i: sgn(x_i − x_j); for j: sgn(x_j − x_i) (MASS: >= 0 → +1).
                let s_ji = if -t1 >= 0.0 { 1.0 } else { -1.0 };
                tmp[i] += term * s_ij;
                tmp[j] += term * s_ji;
            }
            for i in 0..n {
                g[i] = tmp[i] * ssq;
            }
        }
        ssq
    }
}

fn pava(y: &[f64]) -> Vec<f64> {
    let mut vals: Vec<f64> = Vec::with_capacity(y.len());
    let mut wts: Vec<f64> = Vec::with_capacity(y.len());
    for &v in y {
        vals.push(v);
        wts.push(1.0);
        while vals.len() > 1 && vals[vals.len() - 2] > vals[vals.len() - 1] {
            let (v2, w2) = (vals.pop().unwrap(), wts.pop().unwrap());
            let (v1, w1) = (vals.pop().unwrap(), wts.pop().unwrap());
            vals.push((v1 * w1 + v2 * w2) / (w1 + w2));
            wts.push(w1 + w2);
        }
    }
    let mut out = Vec::with_capacity(y.len());
    for (v, w) in vals.iter().zip(&wts) {
        for _ in 0..(*w as usize) {
            out.push(*v);
        }
    }
    out
}

/// R's variable-metric minimiser `vmmin` (src/appl/optim.c, Nash 1990 Algorithm 21).
fn vmmin(b: &mut [f64], st: &mut Stress, maxit: usize, abstol: f64, reltol: f64) {
    const STEPREDN: f64 = 0.2;
    const ACCTOL: f64 = 0.0001;
    const RELTEST: f64 = 10.0;
    let n = b.len();
    let mut g = vec![0.0; n];
    let mut t = vec![0.0; n];
    let mut xv = vec![0.0; n];
    let mut c = vec![0.0; n];
    let mut bm = vec![vec![0.0; n]; n];
    let mut f = st.eval(b, None);
    if !f.is_finite() {
        return;
    }
    let mut fmin = f;
    let mut gradcount = 1usize;
    st.eval(b, Some(&mut g));
    let mut iter = 1usize;
    let mut ilast = gradcount;
    loop {
        if ilast == gradcount {
            for i in 0..n {
                for j in 0..i {
                    bm[i][j] = 0.0;
                }
                bm[i][i] = 1.0;
            }
        }
        xv.copy_from_slice(b);
        c.copy_from_slice(&g);
        let mut gradproj = 0.0;
        for i in 0..n {
            let mut s = 0.0;
            for j in 0..=i {
                s -= bm[i][j] * g[j];
            }
            for j in (i + 1)..n {
                s -= bm[j][i] * g[j];
            }
            t[i] = s;
            gradproj += s * g[i];
        }
        let mut count;
        if gradproj < 0.0 {
            let mut steplength = 1.0;
            let mut accpoint = false;
            loop {
                count = 0;
                for i in 0..n {
                    b[i] = xv[i] + steplength * t[i];
                    if RELTEST + xv[i] == RELTEST + b[i] {
                        count += 1;
                    }
                }
                if count < n {
                    f = st.eval(b, None);
                    accpoint = f.is_finite() && f <= fmin + gradproj * steplength * ACCTOL;
                    if !accpoint {
                        steplength *= STEPREDN;
                    }
                }
                if count == n || accpoint {
                    break;
                }
            }
            let enough = f > abstol && (f - fmin).abs() > reltol * (fmin.abs() + reltol);
            if !enough {
                count = n;
                fmin = f;
            }
            if count < n {
                fmin = f;
                st.eval(b, Some(&mut g));
                gradcount += 1;
                iter += 1;
                let mut d1 = 0.0;
                for i in 0..n {
                    t[i] *= steplength;
                    c[i] = g[i] - c[i];
                    d1 += t[i] * c[i];
                }
                if d1 > 0.0 {
                    let mut d2 = 0.0;
                    for i in 0..n {
                        let mut s = 0.0;
                        for j in 0..=i {
                            s += bm[i][j] * c[j];
                        }
                        for j in (i + 1)..n {
                            s += bm[j][i] * c[j];
                        }
                        xv[i] = s;
                        d2 += s * c[i];
                    }
                    d2 = 1.0 + d2 / d1;
                    for i in 0..n {
                        for j in 0..=i {
                            bm[i][j] += (d2 * t[i] * t[j] - xv[i] * t[j] - t[i] * xv[j]) / d1;
                        }
                    }
                } else {
                    ilast = gradcount;
                }
            } else if ilast < gradcount {
                count = 0;
                ilast = gradcount;
            }
        } else {
            count = 0;
            if ilast == gradcount {
                count = n;
            } else {
                ilast = gradcount;
            }
        }
        if iter >= maxit {
            break;
        }
        if gradcount - ilast > 2 * n {
            ilast = gradcount;
        }
        if count == n && ilast == gradcount {
            break;
        }
    }
    // vmmin leaves b at the last evaluated point
}
