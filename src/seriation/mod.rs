//! Seriation of distance matrices, shaped like the R package `seriation` 1.4.1
//! (Hahsler, Hornik & Buchta 2008, "Getting things in order", JSS 25(3); Hahsler 2017,
//! "An experimental comparison of seriation methods", EJOR 257).
//!
//! One file per method family, each method registered under its R name in
//! [`registry`] with R's description and default control parameters:
//!
//! | file | R methods |
//! |---|---|
//! | [`hierarchical`] | `HC*`, `GW*`, `OLO*` (trees from [`crate::cluster::hclust`]) |
//! | [`spectral`] | `Spectral`, `Spectral_norm`, `MDS`, `MDS_metric`, `MDS_angle`, `MDS_nonmetric`, `R2E` |
//! | [`vat`] | `VAT`, `Identity`, `Random` |
//! | [`qap`] | `QAP_2SUM`, `QAP_BAR`, `QAP_Inertia`, `QAP_LS` |
//! | [`arsa`] | `ARSA`, `SA` |
//! | [`spin`] | `SPIN_NH`, `SPIN_STS` |
//! | [`tsp`] | `TSP` |
//! | [`bb`] | `BBURCG`, `BBWRCG` |
//! | [`criteria`] | the 16 criteria for `dist` |
//!
//! Input is a square, symmetric, non-negative distance matrix; output a permutation
//! (0-based): `order[k]` is the object placed at position `k` (R's `get_order`).
//! Stochastic methods draw only from the RNG the caller passes, so a result is a
//! pure function of (matrix, method, control, stream).

pub mod arsa;
pub mod bb;
pub mod criteria;
pub mod hierarchical;
pub mod polish;
pub mod qap;
pub mod r_eigen;
pub mod r_rng;
pub mod registry;
pub mod spectral;
pub mod spin;
pub mod tsp;
pub mod vat;

use ndarray::ArrayView2;

pub use criteria::{CriterionInfo, criteria, criterion};
pub use registry::{Control, MethodInfo, methods, seriate, seriate_with};

/// Result of one seriation.
#[derive(Clone, Debug, PartialEq)]
pub struct Seriation {
    /// `order[k]` = index of the object placed at position `k` (0-based).
    pub order: Vec<usize>,
    /// `Some(true)` when a budgeted method proved its order optimal, `Some(false)`
    /// when it stopped at its budget and returns the best order found; `None` for
    /// methods without a budget.
    pub exact: Option<bool>,
}

impl Seriation {
    pub(crate) fn plain(order: Vec<usize>) -> Self {
        Seriation { order, exact: None }
    }
}

/// A work budget (corrmc, not R) for the iterative methods, so that every method
/// finishes at large n (issue 12): work is counted in the method's elementary
/// operations (distance lookups or multiply-adds, documented per method), never
/// measured in time, so a budget-limited result stays a pure function of (matrix,
/// method, control, stream). A method checks [`Budget::spent`] before each unit of
/// work (an iteration, a pass, a move) and, when spent, returns the best order so far
/// with `exact = Some(false)`; a method whose work stayed within the budget returns
/// exactly what it returned without one. `max_work = 0` means unlimited.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    pub(crate) used: f64,
    pub(crate) max: f64,
}

impl Budget {
    /// The `max_work` control of `method` (default `default`), checked: a number >= 0.
    pub(crate) fn from_control(
        c: &registry::Control,
        method: &str,
        default: f64,
    ) -> Result<Budget, SeriationError> {
        Budget::from_key(c, method, "max_work", default)
    }

    /// The budget in control `key` (`max_work`, `polish_work`), checked: a number >= 0.
    pub(crate) fn from_key(
        c: &registry::Control,
        method: &str,
        key: &str,
        default: f64,
    ) -> Result<Budget, SeriationError> {
        let max = c.f64(key, default)?;
        if max.is_nan() || max < 0.0 {
            return Err(SeriationError::InvalidControl(format!(
                "{method} {key} = {max}: must be a number >= 0 (work units; 0 = unlimited)"
            )));
        }
        Ok(Budget { used: 0.0, max })
    }

    /// Whether the work done has reached the budget (never with `max = 0`).
    #[inline]
    pub(crate) fn spent(&self) -> bool {
        self.max > 0.0 && self.used >= self.max
    }

    #[inline]
    pub(crate) fn add(&mut self, work: f64) {
        self.used += work;
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeriationError {
    #[error("unknown seriation method '{0}' (see `corrmc seriate --list`)")]
    UnknownMethod(String),
    #[error("unknown criterion '{0}' (see `corrmc seriate --list`)")]
    UnknownCriterion(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("invalid control parameter: {0}")]
    InvalidControl(String),
    #[error("{0}")]
    Failed(String),
}

impl From<crate::cluster::ClusterError> for SeriationError {
    fn from(e: crate::cluster::ClusterError) -> Self {
        SeriationError::InvalidControl(e.to_string())
    }
}

/// Dense row-major copy of a distance matrix: the kernels index it in tight loops.
/// Build it with [`Dm::new`] to call the family modules directly.
#[derive(Clone, Debug)]
pub struct Dm {
    pub n: usize,
    pub v: Vec<f64>,
}

impl Dm {
    pub fn new(d: ArrayView2<'_, f64>) -> Dm {
        let n = d.nrows();
        let mut v = Vec::with_capacity(n * n);
        for i in 0..n {
            for j in 0..n {
                v.push(d[(i, j)]);
            }
        }
        Dm { n, v }
    }
    #[inline(always)]
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.v[i * self.n + j]
    }
    #[inline(always)]
    pub fn row(&self, i: usize) -> &[f64] {
        &self.v[i * self.n..(i + 1) * self.n]
    }
    /// `1 / (1 + d)`: the similarity R's seriation uses for `dist` objects (ME,
    /// stress, Cor_R, 2SUM, Spectral).
    pub fn similarity(&self) -> Dm {
        Dm {
            n: self.n,
            v: self.v.iter().map(|x| 1.0 / (1.0 + x)).collect(),
        }
    }
    pub fn to_array(&self) -> ndarray::Array2<f64> {
        ndarray::Array2::from_shape_vec((self.n, self.n), self.v.clone()).expect("square")
    }
}

/// Checks that `d` can be seriated: square, finite, non-negative, symmetric.
pub fn validate_dist(d: ArrayView2<'_, f64>) -> Result<(), SeriationError> {
    let (r, c) = d.dim();
    if r != c {
        return Err(SeriationError::InvalidInput(format!(
            "distance matrix is {r}x{c}, not square"
        )));
    }
    for i in 0..r {
        for j in 0..c {
            let x = d[(i, j)];
            if !x.is_finite() {
                return Err(SeriationError::InvalidInput(format!(
                    "entry ({i}, {j}) is {x}"
                )));
            }
            if x < 0.0 {
                return Err(SeriationError::InvalidInput(format!(
                    "entry ({i}, {j}) = {x} is negative"
                )));
            }
            let y = d[(j, i)];
            if (x - y).abs() > 1e-12 * (1.0 + x.abs()) {
                return Err(SeriationError::InvalidInput(format!(
                    "not symmetric: ({i}, {j}) = {x} but ({j}, {i}) = {y}"
                )));
            }
        }
    }
    Ok(())
}

/// Checks that `order` is a permutation of `0..n`.
pub fn validate_order(order: &[usize], n: usize) -> Result<(), SeriationError> {
    if order.len() != n {
        return Err(SeriationError::InvalidInput(format!(
            "order has {} entries for {n} objects",
            order.len()
        )));
    }
    let mut seen = vec![false; n];
    for &o in order {
        if o >= n || seen[o] {
            return Err(SeriationError::InvalidInput(format!(
                "order is not a permutation of 0..{n} (at {o})"
            )));
        }
        seen[o] = true;
    }
    Ok(())
}

/// R's `order(x)`: indices sorting `x` ascending, ties by index (stable).
pub(crate) fn order_by(x: &[f64]) -> Vec<usize> {
    let mut o: Vec<usize> = (0..x.len()).collect();
    o.sort_by(|&a, &b| x[a].partial_cmp(&x[b]).unwrap_or(std::cmp::Ordering::Equal));
    o
}

/// A uniform draw in [0, 1) (the stand-in for R's `unif_rand`).
#[inline]
pub(crate) fn unif(rng: &mut rand::rngs::ChaCha8Rng) -> f64 {
    use rand::RngExt;
    rng.random::<f64>()
}

/// Uniform random permutation of `0..n` (Fisher–Yates; R's `sample(n)`).
pub(crate) fn random_permutation(n: usize, rng: &mut rand::rngs::ChaCha8Rng) -> Vec<usize> {
    use rand::RngExt;
    let mut o: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        o.swap(i, j);
    }
    o
}
