//! Return paths and their sample moments.
//!
//! Daily returns are `x_t = μ + s_t F z_t` with `z_t` i.i.d. N(0, I_n), `F Fᵀ = Σ`
//! (Cholesky of the true covariance; an eigen square root if Σ is only
//! semidefinite), `μ` the expected returns of the return model (0 by default) and
//! `s_t` the tail mixing (1 for normal paths; see [`Tails`]). Every allocator and
//! metric of the study uses a path only through its sample mean, its sample
//! covariance (ddof = 1) and, for the CRRA certainty equivalent, the portfolio
//! returns `wᵀx_t` of the out-of-sample path. With `y_t = s_t z_t`,
//! `cov(X) = F cov(Y) Fᵀ` and `x̄ = μ + F ȳ` exactly, and `wᵀx_t = wᵀμ + y_tᵀ(Fᵀw)`,
//! so we form `cov(Y)` and `ȳ` and transform them instead of materializing `X`.
//! Same numbers up to rounding.
//!
//! Flops per trial (n assets, T_is + T_oos days, multiply and add counted
//! separately): the factor of Σ, n³/3; per path, `cov(Y)` as a symmetric
//! rank-T update (lower triangle only), T·n²; the congruence `F cov(Y) Fᵀ` with
//! triangular F, n³ for `F·S` plus n³/3 for the lower triangle of `(FS)Fᵀ`.
//! Total `(T_is + T_oos)·n² + 3n³` (with T = 2n: 7n³), against
//! `2(T_is + T_oos)·n² + 8n³ + n³/3` (16n³) with full products. Drawing the
//! `(T_is + T_oos)·n` normals is the rest; the means cost T·n per path and each
//! method's out-of-sample portfolio returns n² + T_oos·n.
//!
//! The default return model (zero mean, normal tails) draws exactly what it drew
//! before return models existed: the expected returns and the tail mixing come
//! from their own streams ([`Purpose::ExpectedReturns`], [`Purpose::InSampleTails`],
//! [`Purpose::OutOfSampleTails`]), never from the path streams, so zero-mean normal
//! studies are bit-identical and a Student-t study shares its normals with the
//! normal study of the same seed.
use crate::linalg;
use crate::rng::{Purpose, stream};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::RngExt;
use rand_distr::{ChiSquared, Distribution, StandardNormal};

/// How per-asset daily volatilities are set.
#[derive(Clone, Debug, PartialEq)]
pub enum VolModel {
    /// σ_i = 1: the correlation matrix is the covariance (as in the blog study).
    Unit,
    /// σ_i ~ U[low, high] daily, independently per trial (as in mlfinlab's
    /// CorrGAN studies).
    Uniform { low: f64, high: f64 },
}

/// Expected daily returns μ (spec `[returns] model`).
#[derive(Clone, Debug, PartialEq)]
pub enum MeanModel {
    /// μ = 0 (the blog's setting, and corrmc's only one before issue 13; the default).
    Zero,
    /// Per-asset annualized Sharpe ratios `SR_i = mean + sd·ε_i`, ε_i i.i.d.
    /// N(0, 1) per trial, and daily means `μ_i = SR_i·σ_i/√A` (σ_i the asset's daily
    /// volatility, A the annualization), plus a CAPM premium on the equal-weight
    /// market portfolio `m = 1/n` with annualized Sharpe ratio `market`:
    /// `μ_i += β_i·market·σ_m/√A`, `β_i = cov(r_i, r_m)/σ_m² = n(Σ1)_i/(1ᵀΣ1)`,
    /// `σ_m² = 1ᵀΣ1/n²` (Sharpe 1964). The market term alone gives the
    /// equal-weight portfolio the Sharpe ratio `market` exactly (`mᵀβ = 1`). If
    /// `1ᵀΣ1 = 0` (a riskless equal-weight portfolio, possible only for a singular
    /// Σ) β is undefined and no premium is added.
    Sharpe {
        mean: f64,
        sd: f64,
        market: f64,
        /// Periods per year A (the spec's `annualization`).
        annualization: f64,
    },
}

/// The distribution of the daily shocks (spec `[returns] tails`).
#[derive(Clone, Debug, PartialEq)]
pub enum Tails {
    /// `x_t = μ + F z_t`.
    Normal,
    /// Multivariate Student-t with ν > 2 degrees of freedom scaled to covariance Σ:
    /// `x_t = μ + √W_t F z_t`, `W_t = (ν − 2)/χ²_ν` independent of z_t, so
    /// `cov(x_t) = E[W_t] Σ = Σ` (E[1/χ²_ν] = 1/(ν − 2)). Each asset's marginal is a
    /// scaled t_ν, with kurtosis 3 + 6/(ν − 4) for ν > 4; the common W_t also makes
    /// large moves simultaneous across assets (tail dependence), as in crises.
    /// Kotz & Nadarajah (2004), *Multivariate t Distributions*, §1.
    StudentT { nu: f64 },
}

/// The return model of a study: expected returns and tails.
#[derive(Clone, Debug, PartialEq)]
pub struct ReturnModel {
    pub mean: MeanModel,
    pub tails: Tails,
}

impl Default for ReturnModel {
    fn default() -> Self {
        ReturnModel {
            mean: MeanModel::Zero,
            tails: Tails::Normal,
        }
    }
}

/// Study dimensions shared by all trials.
#[derive(Clone, Debug)]
pub struct SimParams {
    pub in_sample_days: usize,
    pub out_of_sample_days: usize,
    pub vol: VolModel,
    pub returns: ReturnModel,
}

/// A path kept in factored form: `x_t = μ + F y_t` with the rows `y_t` of `shocks`.
#[derive(Clone, Debug)]
pub struct FactoredPath {
    /// `F` with `F Fᵀ = Σ`.
    pub factor: Array2<f64>,
    /// Whether `factor` is lower triangular (skips its zero triangle).
    pub factor_lower: bool,
    /// `y_t = s_t z_t`, T × n.
    pub shocks: Array2<f64>,
}

impl FactoredPath {
    /// The daily portfolio returns `r_t = wᵀx_t = wᵀμ + y_tᵀ(Fᵀw)` for weights `w`
    /// and expected returns `mu` (n² + T·n flops, no T × n product).
    pub fn portfolio_returns(&self, w: &Array1<f64>, mu: &Array1<f64>) -> Array1<f64> {
        self.portfolio_returns_many(&[w], mu).remove(0)
    }

    /// [`Self::portfolio_returns`] of several weight vectors, reading F and the shocks once
    /// for all of them; each result has the single call's bits.
    pub fn portfolio_returns_many(
        &self,
        ws: &[&Array1<f64>],
        mu: &Array1<f64>,
    ) -> Vec<Array1<f64>> {
        let vs = factor_t_products(self.factor.view(), self.factor_lower, ws);
        // r_t = y_t·v + wᵀμ, the shocks read once for all weight vectors.
        let mut out = linalg::mat_vecs(self.shocks.view(), &vs.iter().collect::<Vec<_>>());
        for (o, w) in out.iter_mut().zip(ws) {
            let drift = w.dot(mu);
            *o += drift;
        }
        out
    }
}

crate::avx2_dispatch! {
/// `Fᵀw` for each `w`: `(Fᵀw)_j = Σ_i F_ij w_i`, accumulated over the rows of F (contiguous)
/// in ascending i, the same additions in the same order as a sum per column, hence the
/// same bits (the update is elementwise, so also under AVX2). Columns j > i of a lower
/// triangular F (`lower`) are zero and skipped.
fn factor_t_products(factor: ArrayView2<'_, f64>, lower: bool, ws: &[&Array1<f64>]) -> Vec<Array1<f64>> {
    let n = factor.ncols();
    let f = factor.as_standard_layout();
    let f = f.as_slice().expect("standard layout");
    let mut vs = vec![vec![-0.0f64; n]; ws.len()];
    for i in 0..factor.nrows() {
        let end = if lower { i + 1 } else { n };
        let row = &f[i * n..i * n + end];
        for (v, w) in vs.iter_mut().zip(ws) {
            let wi = w[i];
            for (vj, &fij) in v[..end].iter_mut().zip(row) {
                *vj += fij * wi;
            }
        }
    }
    vs.into_iter().map(Array1::from).collect()
}
}

/// Everything one trial's allocators and metrics need.
#[derive(Clone, Debug)]
pub struct TrialData {
    /// True correlation.
    pub corr: Array2<f64>,
    /// True daily volatilities.
    pub vols: Array1<f64>,
    /// True covariance Σ = D C D.
    pub sigma: Array2<f64>,
    /// Sample covariance of the in-sample path.
    pub cov_is: Array2<f64>,
    /// Sample covariance of the out-of-sample path.
    pub cov_oos: Array2<f64>,
    /// True expected daily returns μ (zero for the zero-mean model).
    pub mu: Array1<f64>,
    /// Sample mean of the in-sample path.
    pub mean_is: Array1<f64>,
    /// Sample mean of the out-of-sample path.
    pub mean_oos: Array1<f64>,
    /// Momentum and volatility regime of the in-sample path ([`path_signals`]); empty
    /// when not asked for ([`simulate_with`]).
    pub signals_is: Signals,
    /// The same of the out-of-sample path.
    pub signals_oos: Signals,
    /// The out-of-sample path in factored form (portfolio returns for the CRRA
    /// certainty equivalent).
    pub oos_path: FactoredPath,
}

/// A square root `F` with `F Fᵀ = Σ`: Cholesky, or, when Σ is singular (e.g. a
/// nearest-correlation repair with zero eigenvalues), the symmetric PSD root
/// `V diag(√λ̃) Vᵀ` with `λ̃ = λ` above `n·u·λ_max` and 0 below (eigenvalues that small are
/// zero to working precision).
///
/// Why the symmetric root and not `V diag(√λ)`: the latter depends on the eigensolver's
/// choices (each column's sign, and any basis of a repeated eigenvalue such as the ~8 zero
/// eigenvalues of a repaired CorrGAN matrix), which a rounding-level change in Σ (another
/// machine's SIMD kernels, a change in the repair) can flip, redrawing every path of the
/// trial. `V diag(√λ̃) Vᵀ` is unique, so the paths are a continuous function of Σ.
pub fn sqrt_factor(sigma: &Array2<f64>) -> Option<Array2<f64>> {
    sqrt_factor_tagged(sigma).map(|(f, _)| f)
}

/// [`sqrt_factor`] and whether the factor is lower triangular (Cholesky).
fn sqrt_factor_tagged(sigma: &Array2<f64>) -> Option<(Array2<f64>, bool)> {
    if let Some(l) = linalg::cholesky(sigma.view()) {
        return Some((l, true));
    }
    let (vals, vecs) = linalg::eigh(sigma.view())?;
    let zero = vals.len() as f64 * f64::EPSILON * vals.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    // Σ_k √λ̃_k v_k v_kᵀ as the Gram product of V diag(λ̃^{1/4}).
    let scale: Vec<f64> = vals
        .iter()
        .map(|&l| if l > zero { l.sqrt().sqrt() } else { 0.0 })
        .collect();
    let f = linalg::scaled_eigvec_gram(&vecs, &scale);
    Some((f, false))
}

/// `T × n` standard normals from `rng`, row-major, drawn in one pass into one
/// buffer (the order, hence the values, is that of the row-major layout).
pub fn normals<R: rand::Rng>(rng: &mut R, t: usize, n: usize) -> Array2<f64> {
    let mut buf = vec![0.0f64; t * n];
    for x in buf.iter_mut() {
        *x = StandardNormal.sample(rng);
    }
    Array2::from_shape_vec((t, n), buf).expect("t·n buffer")
}

/// `T` draws `y_t = s_t z_t`: `z_t` ~ N(0, I_n) from `rng` (exactly the draws of a
/// normal path), `s_t = √W_t` from `tails_rng` for Student-t tails (untouched for
/// normal tails).
fn draw_shocks<R: rand::Rng, Q: rand::Rng>(
    rng: &mut R,
    tails_rng: &mut Q,
    t: usize,
    n: usize,
    tails: &Tails,
) -> Result<Array2<f64>, String> {
    let mut y = normals(rng, t, n);
    if let Tails::StudentT { nu } = *tails {
        scale_rows_student_t(&mut y, tails_rng, nu)?;
    }
    Ok(y)
}

/// The sample covariance `F cov(Y) Fᵀ` and sample mean `μ + F ȳ` of the path
/// `x_t = μ + F y_t` (`f_lower`: F is lower triangular), without materializing it.
pub fn path_moments(
    y: &Array2<f64>,
    f: &Array2<f64>,
    f_lower: bool,
    mu: &Array1<f64>,
) -> (Array2<f64>, Array1<f64>) {
    let (sy, ybar) = linalg::sample_cov_and_mean(y.view());
    let cov = linalg::congruence(f.view(), sy.view(), f_lower);
    (cov, f.dot(&ybar) + mu)
}

/// Days in each of the two windows of [`path_signals`] (one month, as the paper's holding
/// period, Amador §4.1).
pub const SIGNAL_WINDOW: usize = 21;

/// Per-asset path signals of Amador's DHRP features (§3.3): "short-term momentum signals
/// computed as the difference between recent and prior period returns" and "volatility
/// regime indicators measuring the ratio of recent to long-term volatility".
#[derive(Clone, Debug, PartialEq)]
pub struct Signals {
    /// Return over the last k days minus the return over the k days before (sums of
    /// daily returns), k = min([`SIGNAL_WINDOW`], T/2).
    pub momentum: Array1<f64>,
    /// Sample sd of the last k days over the sample sd of the whole path (1 when k < 2
    /// or the path's sd is 0).
    pub vol_ratio: Array1<f64>,
}

/// [`Signals`] of the path `x_t = μ + F y_t` (rows of `y`), with `var` the whole path's
/// sample variances. Only the last 2k rows are materialized (2k·n² flops).
pub fn path_signals(
    y: &Array2<f64>,
    f: &Array2<f64>,
    mu: &Array1<f64>,
    var: &Array1<f64>,
) -> Signals {
    let (t, n) = y.dim();
    let k = SIGNAL_WINDOW.min(t / 2);
    let x = y.slice(ndarray::s![t - 2 * k.., ..]).dot(&f.t()) + mu;
    let mut momentum = Array1::zeros(n);
    let mut vol_ratio = Array1::ones(n);
    for i in 0..n {
        let col = x.column(i);
        let prior: f64 = col.iter().take(k).sum();
        let recent: f64 = col.iter().skip(k).sum();
        momentum[i] = recent - prior;
        if k >= 2 && var[i] > 0.0 {
            let m = recent / k as f64;
            let v = col.iter().skip(k).map(|a| (a - m) * (a - m)).sum::<f64>() / (k - 1) as f64;
            vol_ratio[i] = (v / var[i]).sqrt();
        }
    }
    Signals {
        momentum,
        vol_ratio,
    }
}

/// Multiplies row t of `z` by `√W_t`, `W_t = (ν − 2)/χ²_ν` drawn from `rng` in row
/// order (see [`Tails::StudentT`]).
pub fn scale_rows_student_t<R: rand::Rng>(
    z: &mut Array2<f64>,
    rng: &mut R,
    nu: f64,
) -> Result<(), String> {
    let chi2 = ChiSquared::new(nu).map_err(|e| format!("Student-t tails with ν = {nu}: {e}"))?;
    for mut row in z.rows_mut() {
        let q: f64 = chi2.sample(rng);
        row *= ((nu - 2.0) / q).sqrt();
    }
    Ok(())
}

/// Expected daily returns of [`MeanModel`] for volatilities `vols` and true
/// covariance `sigma` (draws from `rng` only for the Sharpe model: n normals).
pub fn expected_returns<R: rand::Rng>(
    model: &MeanModel,
    vols: &Array1<f64>,
    sigma: &Array2<f64>,
    rng: &mut R,
) -> Array1<f64> {
    let n = vols.len();
    match *model {
        MeanModel::Zero => Array1::zeros(n),
        MeanModel::Sharpe {
            mean,
            sd,
            market,
            annualization,
        } => {
            let root_a = annualization.sqrt();
            // Standard normals scaled afterwards, so studies differing only in `sd`
            // share ε (common random numbers across a sweep of sd).
            let eps = normals(rng, 1, n);
            let mut mu = Array1::from_shape_fn(n, |i| (mean + sd * eps[(0, i)]) * vols[i] / root_a);
            let s1 = sigma.sum_axis(Axis(1));
            let total = s1.sum();
            if market != 0.0 && total > 0.0 {
                let sigma_m = total.sqrt() / n as f64;
                for i in 0..n {
                    let beta = n as f64 * s1[i] / total;
                    mu[i] += beta * market * sigma_m / root_a;
                }
            }
            mu
        }
    }
}

/// The floor kernel of a trial, for benchmarks: the normals of both paths and
/// their sample covariances (symmetric rank-T updates), without the transform by
/// F or any allocator. Returns the trace of the two covariances.
pub fn floor_kernel(seed: u64, trial: u64, n: usize, t_is: usize, t_oos: usize) -> f64 {
    let a =
        linalg::sample_cov(normals(&mut stream(seed, Purpose::InSample, trial), t_is, n).view());
    let b = linalg::sample_cov(
        normals(&mut stream(seed, Purpose::OutOfSample, trial), t_oos, n).view(),
    );
    a.diag().sum() + b.diag().sum()
}

/// Simulates trial `trial`: volatilities, in-sample and out-of-sample paths (each
/// from its own stream, so changing T_oos never changes the in-sample draw).
pub fn simulate(
    corr: Array2<f64>,
    p: &SimParams,
    seed: u64,
    trial: u64,
) -> Result<TrialData, String> {
    simulate_with(corr, p, seed, trial, true)
}

/// [`simulate`], with the path signals only if `signals` (otherwise `signals_is` and
/// `signals_oos` are empty). They draw nothing, so every other field is the same either way;
/// the engine asks for them only when a method reads them (2k·n² flops per path saved).
pub fn simulate_with(
    corr: Array2<f64>,
    p: &SimParams,
    seed: u64,
    trial: u64,
    signals: bool,
) -> Result<TrialData, String> {
    let signals_of = |y: &Array2<f64>, f: &Array2<f64>, mu: &Array1<f64>, cov: &Array2<f64>| {
        if signals {
            path_signals(y, f, mu, &cov.diag().to_owned())
        } else {
            Signals {
                momentum: Array1::zeros(0),
                vol_ratio: Array1::zeros(0),
            }
        }
    };
    let n = corr.nrows();
    let vols = match p.vol {
        VolModel::Unit => Array1::ones(n),
        VolModel::Uniform { low, high } => {
            let mut rng = stream(seed, Purpose::Volatility, trial);
            Array1::from_shape_simple_fn(n, || {
                if low == high {
                    low
                } else {
                    rng.random_range(low..high)
                }
            })
        }
    };
    let mut sigma = corr.clone();
    if !matches!(p.vol, VolModel::Unit) {
        // (Unit volatilities multiply by 1·1: exactly Σ = C, nothing to do.)
        for (i, mut row) in sigma.outer_iter_mut().enumerate() {
            for (s, &vj) in row.iter_mut().zip(vols.iter()) {
                *s *= vols[i] * vj;
            }
        }
    }
    let (f, f_lower) = sqrt_factor_tagged(&sigma)
        .ok_or("the true covariance has no real square root (non-finite entries)")?;
    let mu = expected_returns(
        &p.returns.mean,
        &vols,
        &sigma,
        &mut stream(seed, Purpose::ExpectedReturns, trial),
    );
    let y_is = draw_shocks(
        &mut stream(seed, Purpose::InSample, trial),
        &mut stream(seed, Purpose::InSampleTails, trial),
        p.in_sample_days,
        n,
        &p.returns.tails,
    )?;
    let (cov_is, mean_is) = path_moments(&y_is, &f, f_lower, &mu);
    let signals_is = signals_of(&y_is, &f, &mu, &cov_is);
    drop(y_is);
    let y_oos = draw_shocks(
        &mut stream(seed, Purpose::OutOfSample, trial),
        &mut stream(seed, Purpose::OutOfSampleTails, trial),
        p.out_of_sample_days,
        n,
        &p.returns.tails,
    )?;
    let (cov_oos, mean_oos) = path_moments(&y_oos, &f, f_lower, &mu);
    let signals_oos = signals_of(&y_oos, &f, &mu, &cov_oos);
    Ok(TrialData {
        corr,
        vols,
        sigma,
        cov_is,
        cov_oos,
        mu,
        mean_is,
        mean_oos,
        signals_is,
        signals_oos,
        oos_path: FactoredPath {
            factor: f,
            factor_lower: f_lower,
            shocks: y_oos,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// A singular Σ (rank 32 of 40, as a repaired CorrGAN matrix): the factor is the
    /// symmetric root, F Fᵀ = Σ to rounding, and a rounding-level change of Σ (a 1e-15
    /// perturbation, what another machine's kernels or another repair do) moves F by
    /// rounding (3e-15 here). `V diag(√λ)` moved by 2e-8 on this matrix (square roots of
    /// rounding-level eigenvalues along an arbitrary null-space basis), and by O(1) where the
    /// eigensolver flips a column's sign.
    #[test]
    fn singular_factor_is_symmetric_and_continuous() {
        let n = 40;
        let mut rng = stream(3, Purpose::InSample, 0);
        let x = normals(&mut rng, n, n - 8);
        let mut sigma = x.dot(&x.t());
        let d: Vec<f64> = (0..n).map(|i| sigma[(i, i)].sqrt()).collect();
        for i in 0..n {
            for j in 0..n {
                sigma[(i, j)] /= d[i] * d[j];
            }
        }
        linalg::symmetrize(&mut sigma);
        let (f, lower) = sqrt_factor_tagged(&sigma).unwrap();
        assert!(!lower, "a rank-32 matrix must not pass Cholesky");
        assert_eq!(f, f.t());
        let back = f.dot(&f.t());
        let err = (&back - &sigma).iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(err < 1e-13, "F Fᵀ − Σ = {err}");
        let noise = normals(&mut stream(4, Purpose::InSample, 0), n, n);
        for scale in [1e-15, 3e-16] {
            let mut p = &sigma + &(&noise * scale);
            linalg::symmetrize(&mut p);
            let (g, lower) = sqrt_factor_tagged(&p).unwrap();
            assert!(!lower);
            let moved = (&f - &g).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(
                moved < 1e-12,
                "factor moved by {moved} under a {scale} perturbation"
            );
        }
    }

    #[test]
    fn factor_products_have_the_column_sums_bits() {
        // The dispatched (AVX2 where the CPU has it) Fᵀw equals the plain per-column sum
        // in ascending row order, bit for bit, for lower triangular and general F, and
        // lengths around the vector widths.
        for n in [1, 3, 4, 5, 8, 13, 37] {
            let f =
                Array2::from_shape_fn((n, n), |(i, j)| ((i * 31 + j * 7) % 23) as f64 / 9.0 - 1.1);
            let fl = Array2::from_shape_fn((n, n), |(i, j)| if j <= i { f[(i, j)] } else { 0.0 });
            let ws: Vec<Array1<f64>> = (0..5)
                .map(|k| Array1::from_shape_fn(n, |i| ((i + 3 * k) as f64).sin() / (k + 1) as f64))
                .collect();
            let refs: Vec<&Array1<f64>> = ws.iter().collect();
            for (m, lower) in [(&fl, true), (&f, false)] {
                for (got, w) in factor_t_products(m.view(), lower, &refs).iter().zip(&ws) {
                    for j in 0..n {
                        let mut want = -0.0f64;
                        for i in 0..n {
                            if !lower || j <= i {
                                want += m[(i, j)] * w[i];
                            }
                        }
                        assert_eq!(got[j].to_bits(), want.to_bits(), "n {n}, column {j}");
                    }
                }
            }
        }
    }

    #[test]
    fn factor_path_equals_materialized_path() {
        // cov(Z Fᵀ) computed directly must equal F cov(Z) Fᵀ.
        let sigma = array![[1.0, 0.5, 0.2], [0.5, 2.0, 0.3], [0.2, 0.3, 0.5]];
        let (f, lower) = sqrt_factor_tagged(&sigma).unwrap();
        assert!(lower);
        let mu = array![0.1, -0.2, 0.3];
        for tails in [Tails::Normal, Tails::StudentT { nu: 5.0 }] {
            let y = draw_shocks(
                &mut stream(1, Purpose::InSample, 0),
                &mut stream(1, Purpose::InSampleTails, 0),
                50,
                3,
                &tails,
            )
            .unwrap();
            let (s, m) = path_moments(&y, &f, true, &mu);
            // The same with the triangle ignored (general F) agrees too.
            let (g, _) = path_moments(&y, &f, false, &mu);
            assert!((&s - &g).iter().all(|v| v.abs() < 1e-13));
            // The materialized path X = μ + Y Fᵀ, Y the normals scaled per row.
            let mut rng = stream(1, Purpose::InSample, 0);
            let mut z = Array2::from_shape_simple_fn((50, 3), || -> f64 {
                StandardNormal.sample(&mut rng)
            });
            if let Tails::StudentT { nu } = tails {
                scale_rows_student_t(&mut z, &mut stream(1, Purpose::InSampleTails, 0), nu)
                    .unwrap();
            }
            assert_eq!(z, y);
            let x = z.dot(&f.t()) + &mu;
            let direct = linalg::sample_cov(x.view());
            assert!((&s - &direct).iter().all(|v| v.abs() < 1e-13));
            let direct_mean = x.mean_axis(Axis(0)).unwrap();
            assert!((&m - &direct_mean).iter().all(|v| v.abs() < 1e-14));
            // Portfolio returns from the factored path equal X w.
            let w = array![0.5, 0.3, 0.2];
            for lower in [true, false] {
                let fp = FactoredPath {
                    factor: f.clone(),
                    factor_lower: lower,
                    shocks: y.clone(),
                };
                let r = fp.portfolio_returns(&w, &mu);
                assert!((&r - &x.dot(&w)).iter().all(|v| v.abs() < 1e-14));
            }
        }
    }

    #[test]
    fn singular_sigma_has_a_factor() {
        let sigma = array![[1.0, 1.0], [1.0, 1.0]];
        let f = sqrt_factor(&sigma).unwrap();
        assert!((f.dot(&f.t()) - &sigma).iter().all(|v| v.abs() < 1e-12));
    }

    #[test]
    fn sample_cov_converges_to_sigma() {
        let corr = array![[1.0, 0.6], [0.6, 1.0]];
        let p = SimParams {
            in_sample_days: 200_000,
            out_of_sample_days: 10,
            vol: VolModel::Uniform {
                low: 0.5,
                high: 2.0,
            },
            returns: ReturnModel::default(),
        };
        let d = simulate(corr, &p, 3, 0).unwrap();
        for i in 0..2 {
            for j in 0..2 {
                // s.e. of a covariance estimate with T = 2e5 is < 1% of scale.
                assert!((d.cov_is[(i, j)] - d.sigma[(i, j)]).abs() < 0.03 * d.vols[i] * d.vols[j]);
            }
        }
        assert!(d.vols.iter().all(|&v| (0.5..2.0).contains(&v)));
    }
}
