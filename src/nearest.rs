//! The nearest correlation matrix in Frobenius norm:
//!
//! ```text
//! X* = argmin ‖X − G‖_F   subject to   diag(X) = 1,  X ⪰ δ I      (δ = `eig_floor`, default 0)
//! ```
//!
//! Two exact methods:
//!
//! * [`qi_sun_newton`] — the quadratically convergent semismooth Newton method of Qi & Sun,
//!   "A quadratically convergent Newton method for computing the nearest correlation matrix",
//!   SIAM J. Matrix Anal. Appl. 28(2), 2006. It minimizes the convex dual (their eq. (2.6))
//!   `θ(y) = ½‖(G₀ + diag y)₊‖²_F − bᵀy` whose gradient is `F(y) = diag((G₀ + diag y)₊) − b`
//!   (eq. (2.7)), with `G₀ = G − δI`, `b = (1 − δ)e`. Newton directions solve `V d = −F(y)` for
//!   an element `V` of the generalized Jacobian (eqs. (3.3)–(3.5)) by preconditioned conjugate
//!   gradients, matrix-free; Armijo line search on θ (Algorithm 5.1). Each iteration costs one
//!   symmetric eigendecomposition plus a few matrix products; 4–8 iterations in practice. The
//!   result's spectrum (`min_eig_after`, `eigs_at_floor`) is read off the last one.
//! * [`higham_dykstra`] — Higham, "Computing the nearest correlation matrix — a problem from
//!   finance", IMA J. Numer. Anal. 22, 2002, Algorithm 3.3: alternating projections onto the
//!   PSD cone and the unit-diagonal subspace with Dykstra's correction. Linearly convergent;
//!   used as the fallback when Newton fails, or on request.
//!
//! [`nearest_correlation`] runs the chosen method and records [`RepairDiagnostics`] (Frobenius
//! distance of the repair, iterations, smallest eigenvalue before and after).
//!
//! Stated tolerance: Newton stops when `‖diag(X(y)) − 1‖_∞ ≤ tol` (default `1e-12`); the
//! diagonal is then set to exactly 1. Against the independent reference of
//! `scripts/fixtures_repair.py` (explicit-Jacobian Newton to 1e-14, cross-checked with 20,000
//! Higham–Dykstra iterations) the result agrees to 1e-10 entrywise (`tests/repair.rs`).

use crate::Error;
use crate::linalg;
use ndarray::{Array1, Array2, ArrayView2, Zip};
use serde::Serialize;

/// Which algorithm computes the nearest correlation matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairMethod {
    /// Qi & Sun (2006) semismooth Newton, falling back to Higham–Dykstra if it fails.
    QiSunNewton,
    /// Higham (2002) alternating projections with Dykstra's correction.
    HighamDykstra,
}

impl RepairMethod {
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "qi_sun_newton" | "newton" => Ok(RepairMethod::QiSunNewton),
            "higham_dykstra" | "higham" => Ok(RepairMethod::HighamDykstra),
            other => Err(Error::Other(format!(
                "unknown repair method '{other}': expected qi_sun_newton or higham_dykstra"
            ))),
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            RepairMethod::QiSunNewton => "qi_sun_newton",
            RepairMethod::HighamDykstra => "higham_dykstra",
        }
    }
}

/// Parameters of [`nearest_correlation`]. Checked by [`NearestParams::validate`].
#[derive(Clone, Debug)]
pub struct NearestParams {
    pub method: RepairMethod,
    /// Newton: stop when `‖diag X − 1‖_∞ ≤ tol`. Higham–Dykstra: stop when the relative
    /// change of the iterates and the gap between the two projections are `≤ tol`.
    pub tol: f64,
    /// Iteration budget of Newton (Higham–Dykstra gets `higham_max_iter`).
    pub max_iter: usize,
    /// Iteration budget of Higham–Dykstra (as method or fallback).
    pub higham_max_iter: usize,
    /// Lower bound δ on the eigenvalues of the result (`X ⪰ δI`), in `[0, 1)`.
    pub eig_floor: f64,
}

impl Default for NearestParams {
    fn default() -> Self {
        NearestParams {
            method: RepairMethod::QiSunNewton,
            tol: 1e-12,
            max_iter: 100,
            higham_max_iter: 20_000,
            eig_floor: 0.0,
        }
    }
}

impl NearestParams {
    pub fn validate(&self) -> Result<(), Error> {
        if !(self.tol > 0.0 && self.tol < 1e-2) {
            return Err(Error::Other(format!(
                "repair tol = {} must lie in (0, 1e-2)",
                self.tol
            )));
        }
        if !(0.0..1.0).contains(&self.eig_floor) {
            return Err(Error::Other(format!(
                "repair eig_floor = {} must lie in [0, 1)",
                self.eig_floor
            )));
        }
        if self.max_iter == 0 || self.higham_max_iter == 0 {
            return Err(Error::Other(
                "repair iteration budgets must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// What a repair did, recorded per matrix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RepairDiagnostics {
    /// Method that produced the result (Newton, or Higham–Dykstra after a Newton failure).
    pub method: RepairMethod,
    /// `‖X − G‖_F`, with `G` the symmetric part of the input.
    pub frobenius_distance: f64,
    /// Iterations of the method that produced the result (0 if `G` was already valid).
    pub iterations: usize,
    /// Smallest eigenvalue of `G`.
    pub min_eig_before: f64,
    /// Smallest eigenvalue of `X`.
    pub min_eig_after: f64,
    /// Eigenvalues of `X` within 1e-10 of the floor δ (0 by default): the rank deficit the
    /// repair creates (the nearest correlation matrix of an indefinite input is singular).
    pub eigs_at_floor: usize,
    /// Final residual: Newton `‖diag X(y) − 1‖_∞`; Higham–Dykstra `‖X_k − Y_k‖_F / ‖Y_k‖_F`.
    pub residual: f64,
    /// True if Newton failed and Higham–Dykstra produced the result.
    pub fell_back: bool,
}

impl RepairDiagnostics {
    /// Names of [`Self::as_values`], in order.
    pub const NAMES: [&'static str; 5] = [
        "repair_frobenius",
        "repair_iterations",
        "min_eig_before",
        "min_eig_after",
        "eigs_at_floor",
    ];
    /// The per-matrix values stored in outputs.
    pub fn as_values(&self) -> Vec<f64> {
        vec![
            self.frobenius_distance,
            self.iterations as f64,
            self.min_eig_before,
            self.min_eig_after,
            self.eigs_at_floor as f64,
        ]
    }
}

/// Checks and symmetrizes the input: square, non-empty, every entry finite.
fn prepare(a: ArrayView2<'_, f64>) -> Result<Array2<f64>, Error> {
    let origin = "nearest correlation input";
    let (r, c) = a.dim();
    if r != c || r == 0 {
        return Err(Error::matrix(
            origin,
            format!("matrix is {r}x{c}, must be square and non-empty"),
        ));
    }
    if let Some(((i, j), v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::matrix(
            origin,
            format!("entry ({i}, {j}) is {v}: a matrix with non-finite entries cannot be repaired"),
        ));
    }
    let mut g = a.to_owned();
    linalg::symmetrize(&mut g);
    Ok(g)
}

/// Nearest correlation matrix to (the symmetric part of) `a`, with diagnostics.
///
/// The nearest correlation matrix to a non-symmetric `A` is the one nearest to
/// `(A + Aᵀ)/2` (the skew part is orthogonal to all symmetric matrices), so the input is
/// symmetrized first; the reported distance is to that symmetric part. Errors: non-square
/// or non-finite input (e.g. NaN), invalid parameters, or no convergence of either method.
pub fn nearest_correlation(
    a: ArrayView2<'_, f64>,
    params: &NearestParams,
) -> Result<(Array2<f64>, RepairDiagnostics), Error> {
    params.validate()?;
    let g = prepare(a)?;
    // Newton's first dual point is G₀ + diag(y₀) with y₀ = b − diag(G₀): when that is `G`
    // itself bit for bit (unit diagonal and δ = 0, e.g. every CorrGAN output), one full
    // eigendecomposition serves both the diagnostic and Newton's first step. For n < 128 faer
    // computes eigenvalues with and without eigenvectors by the same tridiagonal QR, so
    // `min_eig_before` has the same bits as from the eigenvalues-only call used otherwise.
    let newton_start = (params.method == RepairMethod::QiSunNewton
        && initial_dual_matrix(&g, params) == g)
        .then(|| linalg::eigh(g.view()))
        .flatten();
    let eigs_before = match &newton_start {
        Some((vals, _)) => vals.clone(),
        None => linalg::eigvalsh(g.view()).ok_or_else(|| {
            Error::matrix("nearest correlation input", "eigendecomposition failed")
        })?,
    };
    let min_eig_before = eigs_before[0];
    let unit_diag = g.diag().iter().all(|&d| d == 1.0);
    if unit_diag && min_eig_before >= params.eig_floor {
        let diag = RepairDiagnostics {
            method: params.method,
            frobenius_distance: 0.0,
            iterations: 0,
            min_eig_before,
            min_eig_after: min_eig_before,
            eigs_at_floor: eigs_before
                .iter()
                .filter(|&&l| l <= params.eig_floor + 1e-10)
                .count(),
            residual: 0.0,
            fell_back: false,
        };
        return Ok((g, diag));
    }
    // `final_vals`: Newton's eigenvalues of its last dual matrix, which give the spectrum of
    // the result without another decomposition (see below); `None` after Higham–Dykstra.
    let (x, method, iterations, residual, fell_back, final_vals) = match params.method {
        RepairMethod::QiSunNewton => match qi_sun_newton_from(g.view(), params, newton_start) {
            Ok((r, vals)) => (
                r.x,
                RepairMethod::QiSunNewton,
                r.iterations,
                r.residual,
                false,
                Some(vals),
            ),
            Err(_) => {
                let r = higham_dykstra(g.view(), params)?;
                (
                    r.x,
                    RepairMethod::HighamDykstra,
                    r.iterations,
                    r.residual,
                    true,
                    None,
                )
            }
        },
        RepairMethod::HighamDykstra => {
            let r = higham_dykstra(g.view(), params)?;
            (
                r.x,
                RepairMethod::HighamDykstra,
                r.iterations,
                r.residual,
                false,
                None,
            )
        }
    };
    let eigs_after = match final_vals {
        // Newton's result is X = D^{-1/2} (X₊ + δI) D^{-1/2}, X₊ = (G₀ + diag y)₊ with the
        // eigenvalues λ of its last dual matrix, D = diag(X₊ + δI) = I + diag F(y). The
        // spectrum of X₊ + δI is max(λ, 0) + δ exactly; by Ostrowski's theorem (Horn &
        // Johnson, Matrix Analysis, Thm 4.5.9) λ_k(X) = θ_k λ_k(X₊ + δI) with θ_k between the
        // extreme 1/D_ii, i.e. |θ_k − 1| ≲ ‖F‖_∞ ≤ tol: the same quantity to relative `tol`,
        // and without the ~1e-15‖X‖ rounding a fresh decomposition of X puts on the zero
        // eigenvalues (which therefore now read exactly 0, or δ). Saves one decomposition.
        Some(vals) => vals.mapv(|l| l.max(0.0) + params.eig_floor),
        None => linalg::eigvalsh(x.view()).ok_or_else(|| {
            Error::matrix("nearest correlation result", "eigendecomposition failed")
        })?,
    };
    let min_eig_after = eigs_after[0];
    let eigs_at_floor = eigs_after
        .iter()
        .filter(|&&l| l <= params.eig_floor + 1e-10)
        .count();
    let frobenius_distance = (&x - &g).iter().map(|v| v * v).sum::<f64>().sqrt();
    let diag = RepairDiagnostics {
        method,
        frobenius_distance,
        iterations,
        min_eig_before,
        min_eig_after,
        eigs_at_floor,
        residual,
        fell_back,
    };
    Ok((x, diag))
}

/// Result of one algorithm: the matrix (unit diagonal, symmetric), iterations, residual.
#[derive(Clone, Debug)]
pub struct Solved {
    pub x: Array2<f64>,
    pub iterations: usize,
    pub residual: f64,
}

/// `P diag(max(λ, 0)) Pᵀ` for eigenvalues `λ` and eigenvectors `P` (columns): only the
/// columns with a positive eigenvalue contribute.
fn psd_part(vals: &Array1<f64>, vecs: &Array2<f64>) -> Array2<f64> {
    let scale: Vec<f64> = vals
        .iter()
        .map(|&l| if l > 0.0 { l.sqrt() } else { 0.0 })
        .collect();
    linalg::scaled_eigvec_gram(vecs, &scale)
}

/// Eigen-decomposition of `G₀ + diag(y)`, the dual value θ and gradient F (the PSD part
/// itself is formed only at the solution).
struct DualPoint {
    vals: Array1<f64>,
    vecs: Array2<f64>,
    theta: f64,
    grad: Array1<f64>,
}

/// `G₀ + diag(y)`.
fn dual_matrix(g0: &Array2<f64>, y: &Array1<f64>) -> Array2<f64> {
    let mut m = g0.clone();
    for (i, &yi) in y.iter().enumerate() {
        m[(i, i)] += yi;
    }
    m
}

/// `G₀`, `b` and the starting `y₀ = b − diag(G₀)` of Newton (δ = `eig_floor`).
fn dual_start(g: ArrayView2<'_, f64>, params: &NearestParams) -> (Array2<f64>, f64, Array1<f64>) {
    let delta = params.eig_floor;
    let b = 1.0 - delta;
    let mut g0 = g.to_owned();
    for i in 0..g.nrows() {
        g0[(i, i)] -= delta;
    }
    let y = g0.diag().mapv(|d| b - d);
    (g0, b, y)
}

/// Newton's first dual matrix `G₀ + diag(y₀)` (equal to `G` when diag G = 1 and δ = 0).
fn initial_dual_matrix(g: &Array2<f64>, params: &NearestParams) -> Array2<f64> {
    let (g0, _, y) = dual_start(g.view(), params);
    dual_matrix(&g0, &y)
}

fn dual_point(g0: &Array2<f64>, y: &Array1<f64>, b: f64) -> Option<DualPoint> {
    let (vals, vecs) = linalg::eigh(dual_matrix(g0, y).view())?;
    Some(dual_point_from(vals, vecs, y, b))
}

/// The dual point of `y` from the eigendecomposition of `G₀ + diag(y)`.
fn dual_point_from(vals: Array1<f64>, vecs: Array2<f64>, y: &Array1<f64>, b: f64) -> DualPoint {
    // ‖X₊‖²_F = Σ λ₊² (exact in exact arithmetic, cheaper and better rounded than entrywise).
    let norm2: f64 = vals
        .iter()
        .map(|&l| if l > 0.0 { l * l } else { 0.0 })
        .sum();
    let theta = 0.5 * norm2 - b * y.sum();
    // diag(X₊)_i = Σ_k λ_k⁺ P_ik²: O(n²), where forming X₊ (only needed once, at the
    // solution) costs a Gram product per line-search point.
    let grad = Array1::from_iter(vecs.rows().into_iter().map(|row| {
        row.iter()
            .zip(vals.iter())
            .map(|(&p, &l)| if l > 0.0 { l * p * p } else { 0.0 })
            .sum::<f64>()
            - b
    }));
    DualPoint {
        vals,
        vecs,
        theta,
        grad,
    }
}

/// Qi & Sun (2006) eq. (3.5): `Ω_kl = 1` if `λ_k, λ_l > 0`, `0` if both `≤ 0`, otherwise
/// `(λ_k⁺ − λ_l⁺)/(λ_k − λ_l)` (the denominator is then nonzero). The whole matrix, for the
/// direct forms the tests check [`Jacobian`] against.
#[cfg(test)]
fn omega(vals: &Array1<f64>) -> Array2<f64> {
    let n = vals.len();
    Array2::from_shape_fn((n, n), |(k, l)| {
        let (a, b) = (vals[k], vals[l]);
        match (a > 0.0, b > 0.0) {
            (true, true) => 1.0,
            (false, false) => 0.0,
            _ => (a.max(0.0) - b.max(0.0)) / (a - b),
        }
    })
}

/// The generalized-Jacobian product of Qi & Sun (2006) eq. (3.3):
/// `V h = diag(P (Ω ∘ (Pᵀ diag(h) P)) Pᵀ)`, plus a `1e-10 h` regularization (as in the
/// authors' code) that keeps `V` positive definite. The direct form (4n³ flops), kept as
/// the reference of [`Jacobian::times`].
#[cfg(test)]
fn jacobian_times(p: &Array2<f64>, om: &Array2<f64>, h: &Array1<f64>) -> Array1<f64> {
    let mut hp = p.clone();
    for (mut row, &hi) in hp.rows_mut().into_iter().zip(h.iter()) {
        row.mapv_inplace(|v| v * hi);
    }
    let mut w = linalg::at_b(p.view(), hp.view(), 1.0);
    Zip::from(&mut w).and(om).for_each(|w, &o| *w *= o);
    let pw = linalg::a_b(p.view(), w.view());
    let mut out = Array1::zeros(h.len());
    Zip::from(&mut out)
        .and(pw.rows())
        .and(p.rows())
        .for_each(|o, a, b| *o = a.dot(&b));
    out.scaled_add(1e-10, h);
    out
}

/// `V` of eq. (3.3) at one Newton point, for products in O(n²k) flops, k the size of the
/// smaller of the two eigenvalue sets α = {λ > 0} and β = {λ ≤ 0} (Qi & Sun's own code
/// switches the same way). With `M = Pᵀ diag(h) P`, Ω is 1 on α×α and 0 on β×β, so only
/// the blocks touching the small set s matter:
/// - s = β: `V h = h − diag(P ((E − Ω) ∘ M) Pᵀ)` (as `P Pᵀ = I` gives `diag(P M Pᵀ) = h`),
///   and `E − Ω` is 1 on β×β, `1 − ω` on α×β, 0 on α×α;
/// - s = α: `V h = diag(P (Ω ∘ M) Pᵀ)` with Ω 1 on α×α, ω on β×α, 0 on β×β.
///
/// Either way `diag(P Y Pᵀ)_i = Σ_{m∈s} P_im (P_s Y_ss + 2 P_L Y_Ls)_im` for Y supported on
/// the s rows and columns (L the large set). A CorrGAN repair has ~8 of 50 eigenvalues at
/// or below 0: ~70k flops per product instead of the direct form's 4n³ = 500k.
struct Jacobian {
    /// Columns of P in the small set, n × k.
    ps: Array2<f64>,
    /// Columns of P in the large set, n × (n − k).
    pl: Array2<f64>,
    /// `(1 − ω)` (s = β) or `ω` (s = α) on L × s.
    a_ls: Array2<f64>,
    /// Whether s = β (the product is `h − …`).
    complement: bool,
}

impl Jacobian {
    fn new(p: &Array2<f64>, vals: &Array1<f64>) -> Self {
        let n = vals.len();
        let (pos, neg): (Vec<usize>, Vec<usize>) = (0..n).partition(|&k| vals[k] > 0.0);
        let complement = neg.len() <= pos.len();
        let (small, large) = if complement { (neg, pos) } else { (pos, neg) };
        let ps = p.select(ndarray::Axis(1), &small);
        let pl = p.select(ndarray::Axis(1), &large);
        let a_ls = Array2::from_shape_fn((large.len(), small.len()), |(a, b)| {
            let (x, y) = (vals[large[a]], vals[small[b]]);
            let w = (x.max(0.0) - y.max(0.0)) / (x - y);
            if complement { 1.0 - w } else { w }
        });
        Jacobian {
            ps,
            pl,
            a_ls,
            complement,
        }
    }

    /// Diagonal of `V` (the Jacobi preconditioner), `V_ii = Σ_kl P_ik² Ω_kl P_il²`, over the
    /// same blocks as [`Self::times`] (rows of `P∘P` sum to 1); clamped at 0 against
    /// rounding, plus the regularization.
    fn diag(&self) -> Array1<f64> {
        let qs = self.ps.mapv(|v| v * v);
        let ql = self.pl.mapv(|v| v * v);
        let mut z = linalg::a_b(ql.view(), self.a_ls.view()) * 2.0;
        for (mut zr, qr) in z.rows_mut().into_iter().zip(qs.rows()) {
            let sum = qr.sum();
            zr.mapv_inplace(|v| v + sum);
        }
        let mut d = Array1::zeros(self.ps.nrows());
        Zip::from(&mut d)
            .and(z.rows())
            .and(qs.rows())
            .for_each(|o, a, b| *o = a.dot(&b));
        if self.complement {
            d.mapv_inplace(|v| 1.0 - v);
        }
        d.mapv(|v| v.max(0.0) + 1e-10)
    }

    /// `V h` (with the `1e-10 h` regularization of [`jacobian_times`]).
    fn times(&self, h: &Array1<f64>) -> Array1<f64> {
        let mut hs = self.ps.clone();
        for (mut row, &hi) in hs.rows_mut().into_iter().zip(h.iter()) {
            row.mapv_inplace(|v| v * hi);
        }
        let mss = linalg::at_b(self.ps.view(), hs.view(), 1.0);
        let mut yls = linalg::at_b(self.pl.view(), hs.view(), 2.0);
        Zip::from(&mut yls)
            .and(&self.a_ls)
            .for_each(|y, &a| *y *= a);
        let z = linalg::a_b(self.ps.view(), mss.view()) + linalg::a_b(self.pl.view(), yls.view());
        let mut out = Array1::zeros(h.len());
        Zip::from(&mut out)
            .and(z.rows())
            .and(self.ps.rows())
            .for_each(|o, a, b| *o = a.dot(&b));
        if self.complement {
            out = h - &out;
        }
        out.scaled_add(1e-10, h);
        out
    }
}

/// Diagonal of `V` (Jacobi preconditioner): `V_ii = Σ_kl P_ik² Ω_kl P_il²`, the direct
/// form, kept as the reference of [`Jacobian::diag`].
#[cfg(test)]
fn jacobian_diag(p: &Array2<f64>, om: &Array2<f64>) -> Array1<f64> {
    let q = p.mapv(|v| v * v);
    let qo = linalg::a_b(q.view(), om.view());
    let mut d = Array1::zeros(p.nrows());
    Zip::from(&mut d)
        .and(qo.rows())
        .and(q.rows())
        .for_each(|o, a, b| *o = a.dot(&b) + 1e-10);
    d
}

/// Preconditioned conjugate gradients for `V d = rhs`, stopping at relative residual `rtol`.
fn pcg(
    p: &Array2<f64>,
    vals: &Array1<f64>,
    rhs: &Array1<f64>,
    rtol: f64,
    max_iter: usize,
) -> Array1<f64> {
    let jac = Jacobian::new(p, vals);
    let pre = jac.diag();
    let n = rhs.len();
    let mut x = Array1::zeros(n);
    let mut r = rhs.clone();
    let mut z = &r / &pre;
    let mut dir = z.clone();
    let mut rz = r.dot(&z);
    let stop = rtol * rhs.dot(rhs).sqrt();
    for _ in 0..max_iter {
        if r.dot(&r).sqrt() <= stop {
            break;
        }
        let vd = jac.times(&dir);
        let dvd = dir.dot(&vd);
        if dvd <= 0.0 {
            break;
        }
        let alpha = rz / dvd;
        x.scaled_add(alpha, &dir);
        r.scaled_add(-alpha, &vd);
        z = &r / &pre;
        let rz_new = r.dot(&z);
        let beta = rz_new / rz;
        rz = rz_new;
        dir = &z + &(beta * &dir);
    }
    x
}

fn inf_norm(v: &Array1<f64>) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Qi & Sun (2006), Algorithm 5.1 (inexact semismooth Newton with Armijo line search on the
/// dual θ). Input `g` must be symmetric and finite. Returns `X` with unit diagonal.
pub fn qi_sun_newton(g: ArrayView2<'_, f64>, params: &NearestParams) -> Result<Solved, Error> {
    qi_sun_newton_from(g, params, None).map(|(s, _)| s)
}

/// [`qi_sun_newton`], given (if known) the eigendecomposition of the first dual matrix
/// `G₀ + diag(y₀)` ([`initial_dual_matrix`]); also returns the eigenvalues (ascending) of the
/// last dual matrix `G₀ + diag(y)`, whose PSD part the result rescales.
fn qi_sun_newton_from(
    g: ArrayView2<'_, f64>,
    params: &NearestParams,
    first: Option<(Array1<f64>, Array2<f64>)>,
) -> Result<(Solved, Array1<f64>), Error> {
    let n = g.nrows();
    let delta = params.eig_floor;
    let (g0, b, mut y) = dual_start(g, params);
    let fail = |m: String| Error::matrix("nearest correlation (Qi-Sun Newton)", m);
    let mut pt = match first {
        Some((vals, vecs)) => dual_point_from(vals, vecs, &y, b),
        None => dual_point(&g0, &y, b).ok_or_else(|| fail("eigendecomposition failed".into()))?,
    };
    let (mu, rho) = (1e-4, 0.5);
    for it in 0..=params.max_iter {
        let res = inf_norm(&pt.grad);
        if res <= params.tol {
            // X = (G₀ + diag y)₊ + δI has diag X = 1 + F(y), |F| ≤ tol. Rescale by the
            // congruence D^{-1/2} X D^{-1/2} (D = diag X): keeps X positive semidefinite
            // (overwriting the diagonal could not) and moves entries by O(tol).
            let mut x = psd_part(&pt.vals, &pt.vecs);
            for i in 0..n {
                x[(i, i)] += delta;
            }
            let s: Vec<f64> = (0..n).map(|i| 1.0 / x[(i, i)].sqrt()).collect();
            for ((i, j), v) in x.indexed_iter_mut() {
                *v = if i == j { 1.0 } else { *v * s[i] * s[j] };
            }
            return Ok((
                Solved {
                    x,
                    iterations: it,
                    residual: res,
                },
                pt.vals,
            ));
        }
        if it == params.max_iter {
            break;
        }
        let fnorm = pt.grad.dot(&pt.grad).sqrt();
        // Inexact Newton: relative CG tolerance min(0.1, ‖F‖) gives quadratic convergence.
        let rhs = -&pt.grad;
        // min/max rather than clamp: a NaN residual norm must give the floor, not NaN.
        #[allow(clippy::manual_clamp)]
        let d = pcg(&pt.vecs, &pt.vals, &rhs, fnorm.min(0.1).max(1e-14), 200);
        let slope = pt.grad.dot(&d);
        let mut alpha = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let y_new = &y + &(alpha * &d);
            let cand = dual_point(&g0, &y_new, b)
                .ok_or_else(|| fail("eigendecomposition failed".into()))?;
            let armijo = cand.theta <= pt.theta + mu * alpha * slope;
            // Near the solution θ's decrease drops below its rounding error: then accept a
            // step that halves ‖F‖ (the quadratically convergent regime).
            let halves = cand.grad.dot(&cand.grad).sqrt() <= 0.5 * fnorm;
            if armijo || halves {
                accepted = Some((y_new, cand));
                break;
            }
            alpha *= rho;
        }
        match accepted {
            Some((y_new, cand)) => {
                y = y_new;
                pt = cand;
            }
            None => {
                return Err(fail(format!(
                    "line search failed at iteration {it}, residual {res:.3e}"
                )));
            }
        }
    }
    Err(fail(format!(
        "no convergence in {} iterations (residual {:.3e} > tol {:.1e})",
        params.max_iter,
        inf_norm(&pt.grad),
        params.tol
    )))
}

/// Higham (2002), Algorithm 3.3: `R = Y − ΔS; X = P_S(R); ΔS = X − R; Y = P_U(X)`, with
/// `P_S` the projection onto `{X ⪰ δI}` and `P_U` setting the diagonal to 1. Stops when
/// `‖X − Y‖_F/‖Y‖_F ≤ tol` and the relative change of `Y` is `≤ tol`.
pub fn higham_dykstra(g: ArrayView2<'_, f64>, params: &NearestParams) -> Result<Solved, Error> {
    let n = g.nrows();
    let delta = params.eig_floor;
    let mut y = g.to_owned();
    let mut ds = Array2::<f64>::zeros((n, n));
    let fail = |m: String| Error::matrix("nearest correlation (Higham-Dykstra)", m);
    let mut res = f64::INFINITY;
    for it in 1..=params.higham_max_iter {
        let r = &y - &ds;
        let (vals, vecs) =
            linalg::eigh(r.view()).ok_or_else(|| fail("eigendecomposition failed".into()))?;
        let shifted = vals.mapv(|l| l - delta);
        let mut x = psd_part(&shifted, &vecs);
        for i in 0..n {
            x[(i, i)] += delta;
        }
        ds = &x - &r;
        let mut y_new = x.clone();
        for i in 0..n {
            y_new[(i, i)] = 1.0;
        }
        let ynorm = y_new.iter().map(|v| v * v).sum::<f64>().sqrt();
        let gap = (&x - &y_new).iter().map(|v| v * v).sum::<f64>().sqrt() / ynorm;
        let change = (&y_new - &y).iter().map(|v| v * v).sum::<f64>().sqrt() / ynorm;
        y = y_new;
        res = gap;
        if gap <= params.tol && change <= params.tol {
            return Ok(Solved {
                x: y,
                iterations: it,
                residual: gap,
            });
        }
    }
    Err(fail(format!(
        "no convergence in {} iterations (relative gap {res:.3e} > tol {:.1e})",
        params.higham_max_iter, params.tol
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// A unit-diagonal, indefinite 4×4 matrix: Newton needs several iterations.
    fn indefinite_4() -> Array2<f64> {
        array![
            [1.0, 0.9, 0.7, -0.2],
            [0.9, 1.0, -0.4, 0.8],
            [0.7, -0.4, 1.0, 0.9],
            [-0.2, 0.8, 0.9, 1.0]
        ]
    }

    #[test]
    fn valid_matrix_is_returned_unchanged() {
        let a = array![[1.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.0]];
        let (x, d) = nearest_correlation(a.view(), &NearestParams::default()).unwrap();
        assert_eq!(x, a);
        assert_eq!(d.iterations, 0);
        assert_eq!(d.frobenius_distance, 0.0);
    }

    #[test]
    fn nan_is_a_clear_error() {
        let a = array![[1.0, f64::NAN], [0.5, 1.0]];
        let e = nearest_correlation(a.view(), &NearestParams::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("NaN") && e.contains("(0, 1)"), "{e}");
    }

    /// `nearest_correlation` takes `min_eig_before` from the full eigendecomposition when it
    /// can reuse it for Newton; below faer's divide-and-conquer threshold (n < 128) that must
    /// give the bits of the eigenvalues-only call used before, so that no output changes.
    #[test]
    fn eigh_and_eigvalsh_give_the_same_eigenvalue_bits_below_128() {
        for (n, seed) in [(3usize, 1u64), (50, 2), (50, 3), (127, 4)] {
            let mut state = seed;
            let mut next = || {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            };
            let mut a = Array2::<f64>::zeros((n, n));
            for i in 0..n {
                for j in 0..i {
                    let v = next();
                    a[(i, j)] = v;
                    a[(j, i)] = v;
                }
                a[(i, i)] = 1.0;
            }
            let (vals, _) = linalg::eigh(a.view()).unwrap();
            let only = linalg::eigvalsh(a.view()).unwrap();
            let bits = |v: &Array1<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&vals), bits(&only), "n = {n}");
        }
    }

    /// Newton started from a supplied first eigendecomposition gives the bits of Newton
    /// started from scratch.
    #[test]
    fn reusing_the_first_eigendecomposition_changes_no_bit() {
        let a = indefinite_4();
        let p = NearestParams::default();
        assert_eq!(initial_dual_matrix(&a, &p), a);
        let (x, d) = nearest_correlation(a.view(), &p).unwrap();
        let plain = qi_sun_newton(a.view(), &p).unwrap();
        assert!(d.iterations > 0);
        assert_eq!(x, plain.x);
        assert_eq!(d.iterations, plain.iterations);
        assert_eq!(
            d.min_eig_before.to_bits(),
            linalg::eigvalsh(a.view()).unwrap()[0].to_bits()
        );
    }

    /// Newton's diagnostics of the result's spectrum (from its last dual eigenvalues) agree
    /// with a fresh decomposition of the result to rounding, with and without a floor δ.
    #[test]
    fn newton_spectrum_diagnostics_match_a_fresh_decomposition() {
        let a = indefinite_4();
        for eig_floor in [0.0, 0.05] {
            let p = NearestParams {
                eig_floor,
                ..Default::default()
            };
            let (x, d) = nearest_correlation(a.view(), &p).unwrap();
            assert_eq!(d.method, RepairMethod::QiSunNewton);
            let fresh = linalg::eigvalsh(x.view()).unwrap();
            assert!(
                (d.min_eig_after - fresh[0]).abs() < 1e-13,
                "δ = {eig_floor}: {} vs {}",
                d.min_eig_after,
                fresh[0]
            );
            let at_floor = fresh.iter().filter(|&&l| l <= eig_floor + 1e-10).count();
            assert_eq!(d.eigs_at_floor, at_floor, "δ = {eig_floor}");
            assert!(
                d.eigs_at_floor >= 1,
                "the repair of an indefinite input is singular"
            );
        }
    }

    #[test]
    fn bad_params_are_rejected() {
        let p = NearestParams {
            eig_floor: 1.5,
            ..Default::default()
        };
        assert!(nearest_correlation(ndarray::Array2::eye(2).view(), &p).is_err());
    }

    /// The small-set Jacobian product equals the direct form of eq. (3.3) to rounding, for
    /// every split of the spectrum (all positive, all non-positive, each set the smaller).
    #[test]
    fn jacobian_small_set_matches_the_direct_form() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(9);
        for n in [1usize, 2, 5, 12, 50] {
            for shift in [-10.0, -0.5, 0.0, 0.5, 10.0] {
                let a = Array2::from_shape_fn((n, n), |_| rng.random_range(-1.0..1.0));
                let mut g = &a + &a.t();
                for i in 0..n {
                    g[(i, i)] += shift;
                }
                let (vals, vecs) = linalg::eigh(g.view()).unwrap();
                let h = Array1::from_shape_fn(n, |_| rng.random_range(-1.0..1.0));
                let want = jacobian_times(&vecs, &omega(&vals), &h);
                let jac = Jacobian::new(&vecs, &vals);
                let got = jac.times(&h);
                let err = (&got - &want).iter().fold(0.0f64, |m, v| m.max(v.abs()));
                assert!(err <= 1e-13 * (n as f64), "n {n} shift {shift}: {err:e}");
                let want = jacobian_diag(&vecs, &omega(&vals));
                let err = (&jac.diag() - &want)
                    .iter()
                    .fold(0.0f64, |m, v| m.max(v.abs()));
                assert!(
                    err <= 1e-13 * (n as f64),
                    "diag n {n} shift {shift}: {err:e}"
                );
            }
        }
    }
}
