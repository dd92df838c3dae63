//! Gaussian return paths and their sample covariances.
//!
//! Daily returns are `X = Z Fᵀ` with `Z` i.i.d. N(0, 1) (T × n) and `F Fᵀ = Σ`
//! (Cholesky of the true covariance; an eigen square root if Σ is only
//! semidefinite). Every allocator and metric of the study uses the path only
//! through its sample covariance (ddof = 1), and `cov(Z Fᵀ) = F cov(Z) Fᵀ`
//! exactly, so we form `cov(Z)` and transform it instead of materializing `X`.
//! Same numbers up to rounding.
//!
//! Flops per trial (n assets, T_is + T_oos days, multiply and add counted
//! separately): the factor of Σ, n³/3; per path, `cov(Z)` as a symmetric
//! rank-T update (lower triangle only), T·n²; the congruence `F cov(Z) Fᵀ` with
//! triangular F, n³ for `F·S` plus n³/3 for the lower triangle of `(FS)Fᵀ`.
//! Total `(T_is + T_oos)·n² + 3n³` (with T = 2n: 7n³), against
//! `2(T_is + T_oos)·n² + 8n³ + n³/3` (16n³) with full products. Drawing the
//! `(T_is + T_oos)·n` normals is the rest.
use crate::linalg;
use crate::rng::{Purpose, stream};
use ndarray::{Array1, Array2};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

/// How per-asset daily volatilities are set.
#[derive(Clone, Debug, PartialEq)]
pub enum VolModel {
    /// σ_i = 1: the correlation matrix is the covariance (as in the blog study).
    Unit,
    /// σ_i ~ U[low, high] daily, independently per trial (as in mlfinlab's
    /// CorrGAN studies).
    Uniform { low: f64, high: f64 },
}

/// Study dimensions shared by all trials.
#[derive(Clone, Debug)]
pub struct SimParams {
    pub in_sample_days: usize,
    pub out_of_sample_days: usize,
    pub vol: VolModel,
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
}

/// A square root `F` with `F Fᵀ = Σ`: Cholesky, or `V diag(sqrt(max(λ, 0)))` when
/// Σ is singular (e.g. a nearest-correlation repair with a zero eigenvalue).
pub fn sqrt_factor(sigma: &Array2<f64>) -> Option<Array2<f64>> {
    sqrt_factor_tagged(sigma).map(|(f, _)| f)
}

/// [`sqrt_factor`] and whether the factor is lower triangular (Cholesky).
fn sqrt_factor_tagged(sigma: &Array2<f64>) -> Option<(Array2<f64>, bool)> {
    if let Some(l) = linalg::cholesky(sigma.view()) {
        return Some((l, true));
    }
    let (vals, mut vecs) = linalg::eigh(sigma.view())?;
    for (j, mut col) in vecs.columns_mut().into_iter().enumerate() {
        col *= vals[j].max(0.0).sqrt();
    }
    Some((vecs, false))
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

/// Sample covariance of `T` draws of `F z`, z ~ N(0, I), from `rng`
/// (`f_lower`: F is lower triangular).
fn path_cov<R: rand::Rng>(rng: &mut R, f: &Array2<f64>, f_lower: bool, t: usize) -> Array2<f64> {
    let z = normals(rng, t, f.nrows());
    let sz = linalg::sample_cov(z.view());
    linalg::congruence(f.view(), sz.view(), f_lower)
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
    for i in 0..n {
        for j in 0..n {
            sigma[(i, j)] *= vols[i] * vols[j];
        }
    }
    let (f, f_lower) = sqrt_factor_tagged(&sigma)
        .ok_or("the true covariance has no real square root (non-finite entries)")?;
    let cov_is = path_cov(
        &mut stream(seed, Purpose::InSample, trial),
        &f,
        f_lower,
        p.in_sample_days,
    );
    let cov_oos = path_cov(
        &mut stream(seed, Purpose::OutOfSample, trial),
        &f,
        f_lower,
        p.out_of_sample_days,
    );
    Ok(TrialData {
        corr,
        vols,
        sigma,
        cov_is,
        cov_oos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn factor_path_equals_materialized_path() {
        // cov(Z Fᵀ) computed directly must equal F cov(Z) Fᵀ.
        let sigma = array![[1.0, 0.5, 0.2], [0.5, 2.0, 0.3], [0.2, 0.3, 0.5]];
        let (f, lower) = sqrt_factor_tagged(&sigma).unwrap();
        assert!(lower);
        let mut rng = stream(1, Purpose::InSample, 0);
        let s = path_cov(&mut rng, &f, true, 50);
        // The same with the triangle ignored (general F) agrees too.
        let mut rng = stream(1, Purpose::InSample, 0);
        let g = path_cov(&mut rng, &f, false, 50);
        assert!((&s - &g).iter().all(|v| v.abs() < 1e-13));
        let mut rng = stream(1, Purpose::InSample, 0);
        let z =
            Array2::from_shape_simple_fn((50, 3), || -> f64 { StandardNormal.sample(&mut rng) });
        let x = z.dot(&f.t());
        let direct = linalg::sample_cov(x.view());
        assert!((&s - &direct).iter().all(|v| v.abs() < 1e-13));
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
