//! Uniform random correlation matrices: the onion method of Lewandowski, Kurowicka
//! & Joe (2009), "Generating random correlation matrices based on vines and
//! extended onion method", J. Multivariate Analysis 100(9), §3.2. With η = 1 the
//! matrices are uniform over the set of correlation matrices (LKJ(1)).
//!
//! The onion method grows the matrix one row at a time with `z = A w`, where
//! `A Aᵀ` is the current matrix; choosing `A` = its Cholesky factor, the new
//! Cholesky row is simply `(w, sqrt(1 − |w|²))`. We therefore build the factor
//! `L` directly and return `C = L Lᵀ` (exactly symmetric, unit diagonal up to
//! rounding, which we set exactly).

use super::{CorrSample, CorrSource};
use crate::rng::{Purpose, stream};
use ndarray::Array2;
use rand::Rng;
use rand_distr::{Beta, Distribution, StandardNormal};

/// LKJ(η) correlation matrices of dimension `n` by the onion method.
#[derive(Clone, Debug)]
pub struct Onion {
    n: usize,
    eta: f64,
    /// Step 1's Beta(β, β) and step 2's Beta(k/2, β_k), k = 2..n−1, built once so that a
    /// parameter the sampler cannot take is refused when the source is built.
    first: Beta<f64>,
    rows: Vec<Beta<f64>>,
}

impl Onion {
    /// `n ≥ 2`, `η > 0` (η = 1: uniform; larger η concentrates near the identity).
    pub fn new(n: usize, eta: f64) -> Result<Self, String> {
        if n < 2 {
            return Err(format!("dimension must be at least 2, got {n}"));
        }
        if !(eta > 0.0 && eta.is_finite()) {
            return Err(format!("eta must be a positive number, got {eta}"));
        }
        let beta_err = |e| {
            format!("eta = {eta} is outside what the Beta sampler accepts ({e}); use eta >= 1e-3")
        };
        let mut beta = eta + (n as f64 - 2.0) / 2.0;
        let first = Beta::new(beta, beta).map_err(beta_err)?;
        let mut rows = Vec::with_capacity(n.saturating_sub(2));
        for k in 2..n {
            beta -= 0.5;
            rows.push(Beta::new(k as f64 / 2.0, beta).map_err(beta_err)?);
        }
        Ok(Onion {
            n,
            eta,
            first,
            rows,
        })
    }

    /// Draws the Cholesky factor `L` of an LKJ(η) matrix (LKJ 2009, §3.2 steps 1–2).
    pub fn sample_cholesky<R: Rng + ?Sized>(&self, rng: &mut R) -> Array2<f64> {
        let n = self.n;
        let mut l = Array2::<f64>::zeros((n, n));
        l[(0, 0)] = 1.0;
        // Step 1: β = η + (d − 2)/2, r12 = 2·Beta(β, β) − 1.
        let r12 = 2.0 * self.first.sample(rng) - 1.0;
        l[(1, 0)] = r12;
        l[(1, 1)] = (1.0 - r12 * r12).max(0.0).sqrt();
        // Step 2: for k = 2..d−1, β ← β − 1/2, y ~ Beta(k/2, β), u uniform on the
        // k-sphere, w = sqrt(y) u; the new row of L is (w, sqrt(1 − y)).
        let mut u = vec![0.0; n];
        for k in 2..n {
            let y = self.rows[k - 2].sample(rng);
            let mut norm2 = 0.0;
            for ui in u.iter_mut().take(k) {
                let z: f64 = StandardNormal.sample(rng);
                *ui = z;
                norm2 += z * z;
            }
            let scale = (y / norm2).sqrt();
            for j in 0..k {
                l[(k, j)] = u[j] * scale;
            }
            l[(k, k)] = (1.0 - y).max(0.0).sqrt();
        }
        l
    }
}

/// `C = L Lᵀ` with the diagonal set to exactly 1.
pub fn corr_from_cholesky(l: &Array2<f64>) -> Array2<f64> {
    let mut c = crate::linalg::a_b(l.view(), l.t());
    crate::linalg::symmetrize(&mut c);
    for i in 0..c.nrows() {
        c[(i, i)] = 1.0;
    }
    c
}

impl CorrSource for Onion {
    fn describe(&self) -> String {
        format!("uniform(onion, eta={})", self.eta)
    }
    fn dim(&self) -> usize {
        self.n
    }
    fn sample(&self, seed: u64, trial: u64) -> Result<CorrSample, crate::Error> {
        let mut rng = stream(seed, Purpose::Correlation, trial);
        let l = self.sample_cholesky(&mut rng);
        Ok(CorrSample {
            corr: corr_from_cholesky(&l),
            diagnostics: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corr::{ValidationTolerance, validate_correlation};

    #[test]
    fn valid_and_reproducible() {
        let src = Onion::new(30, 1.0).unwrap();
        let a = src.sample(1, 5).unwrap().corr;
        let b = src.sample(1, 5).unwrap().corr;
        assert_eq!(a, b);
        validate_correlation(a.view(), ValidationTolerance::default()).unwrap();
        assert_ne!(a, src.sample(1, 6).unwrap().corr);
    }

    /// Under LKJ(η) each off-diagonal entry is marginally 2·Beta(b, b) − 1 with
    /// b = η − 1 + d/2 (LKJ 2009, §3.2), so Var(ρ_ij) = 1/(2b + 1) = 1/(d + 1) at η = 1.
    #[test]
    fn marginal_variance_matches_lkj() {
        let d = 6;
        let src = Onion::new(d, 1.0).unwrap();
        let trials = 4000;
        let mut s2 = vec![0.0; 3];
        let pairs = [(0, 1), (2, 4), (3, 5)];
        for t in 0..trials {
            let c = src.sample(11, t).unwrap().corr;
            for (k, &(i, j)) in pairs.iter().enumerate() {
                s2[k] += c[(i, j)] * c[(i, j)];
            }
        }
        let expected = 1.0 / (d as f64 + 1.0);
        // Standard error of the mean of ρ² is about 0.003 here; allow 5 s.e.
        for v in s2 {
            let var = v / trials as f64;
            assert!((var - expected).abs() < 0.015, "var {var} vs {expected}");
        }
    }
}
