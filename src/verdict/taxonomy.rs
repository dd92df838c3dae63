//! Strategy taxonomy (Schwendner et al., ASRP paper, Exhibit 9): how alike the
//! methods' out-of-sample portfolios are, clustered by single linkage.
//!
//! In a trial with in-sample weights `w_a` and a sample covariance `S`, the
//! correlation of two methods' portfolio returns over that path is
//! `ρ_ab = w_aᵀ S w_b / sqrt(w_aᵀ S w_a · w_bᵀ S w_b)`, so no return path needs
//! storing. The study's similarity is the mean of `ρ` over trials (each pair over
//! the trials where both methods succeeded); the dendrogram is single linkage on
//! `d = sqrt((1 − ρ)/2)` (the paper's distance), and its stability is the mean
//! cophenetic correlation between trees of bootstrap resamples (of blocks of
//! trials) and the full-sample tree.

use crate::cluster::{Linkage, Tree, cophenetic, corr_to_dist, hclust};
use crate::rng::{Purpose, stream};
use ndarray::{Array1, Array2, ArrayView2};
use rand::RngExt;
use serde::Serialize;

/// `ρ_ab` for every pair of methods; a method without weights (`None`) or with a
/// zero-variance portfolio gives NaN in its row and column.
pub fn portfolio_correlations(
    weights: &[Option<Array1<f64>>],
    s: ArrayView2<'_, f64>,
) -> Array2<f64> {
    let m = weights.len();
    let sw: Vec<Option<Array1<f64>>> = weights
        .iter()
        .map(|w| w.as_ref().map(|w| s.dot(w)))
        .collect();
    let var: Vec<f64> = weights
        .iter()
        .zip(&sw)
        .map(|(w, sw)| match (w, sw) {
            (Some(w), Some(sw)) => w.dot(sw),
            _ => f64::NAN,
        })
        .collect();
    let pair = |a: usize, b: usize| match (&weights[a], &sw[b]) {
        (Some(wa), Some(swb)) if var[a] > 0.0 && var[b] > 0.0 => {
            if a == b {
                1.0
            } else {
                (wa.dot(swb) / (var[a] * var[b]).sqrt()).clamp(-1.0, 1.0)
            }
        }
        _ => f64::NAN,
    };
    // Computed for a ≤ b and mirrored, so the matrix is exactly symmetric.
    Array2::from_shape_fn((m, m), |(a, b)| pair(a.min(b), a.max(b)))
}

/// Mean of per-trial matrices, entry by entry over the finite values.
#[derive(Clone, Debug)]
pub struct MeanAccumulator {
    pub sum: Array2<f64>,
    pub count: Array2<u64>,
}

impl MeanAccumulator {
    pub fn new(m: usize) -> Self {
        MeanAccumulator {
            sum: Array2::zeros((m, m)),
            count: Array2::zeros((m, m)),
        }
    }

    pub fn add(&mut self, x: &Array2<f64>) {
        for ((i, j), v) in x.indexed_iter() {
            if v.is_finite() {
                self.sum[(i, j)] += v;
                self.count[(i, j)] += 1;
            }
        }
    }

    pub fn mean(&self) -> Array2<f64> {
        Array2::from_shape_fn(self.sum.dim(), |ij| {
            if self.count[ij] > 0 {
                self.sum[ij] / self.count[ij] as f64
            } else {
                f64::NAN
            }
        })
    }
}

/// The clustered view of a similarity matrix.
#[derive(Clone, Debug, Serialize)]
pub struct Taxonomy {
    /// Methods included (those with a finite similarity to every other one).
    pub methods: Vec<String>,
    /// Leaf order of the single-linkage dendrogram (indices into `methods`).
    pub order: Vec<usize>,
    /// Merges (a, b, height) in scipy's linkage layout.
    pub merges: Vec<(usize, usize, f64)>,
    /// Cophenetic correlation of the tree with the distances it was built from.
    pub cophenetic_correlation: f64,
    /// Mean cophenetic correlation between bootstrap trees and the full tree
    /// (None without block data), with the number of resamples.
    pub stability: Option<(f64, usize)>,
    /// Methods left out (no usable similarity).
    pub excluded: Vec<String>,
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

fn upper(a: &Array2<f64>) -> Vec<f64> {
    crate::cluster::condensed(a.view())
}

fn tree_of(rho: &Array2<f64>) -> (Tree, Array2<f64>) {
    let d = corr_to_dist(rho.view());
    (hclust(d.view(), Linkage::Single), d)
}

/// Taxonomy of `rho` (mean similarity, M × M). `blocks`, if given, are per-block
/// mean similarities (blocks of consecutive trials) resampled `resamples` times
/// with the bootstrap streams of `seed` for the stability.
pub fn taxonomy(
    methods: &[String],
    rho: ArrayView2<'_, f64>,
    blocks: Option<&[Array2<f64>]>,
    resamples: usize,
    seed: u64,
) -> Taxonomy {
    // A method that never succeeded has a NaN row and column: leave it out, then
    // keep the methods whose similarity to every remaining one is known.
    let cand: Vec<usize> = (0..methods.len())
        .filter(|&i| rho[(i, i)].is_finite())
        .collect();
    let keep: Vec<usize> = cand
        .iter()
        .copied()
        .filter(|&i| cand.iter().all(|&j| rho[(i, j)].is_finite()))
        .collect();
    let sub = |a: ArrayView2<'_, f64>| {
        Array2::from_shape_fn((keep.len(), keep.len()), |(i, j)| a[(keep[i], keep[j])])
    };
    let r = sub(rho);
    let excluded = (0..methods.len())
        .filter(|i| !keep.contains(i))
        .map(|i| methods[i].clone())
        .collect();
    let names: Vec<String> = keep.iter().map(|&i| methods[i].clone()).collect();
    if keep.len() < 3 {
        return Taxonomy {
            order: (0..keep.len()).collect(),
            methods: names,
            merges: Vec::new(),
            cophenetic_correlation: f64::NAN,
            stability: None,
            excluded,
        };
    }
    let (tree, d) = tree_of(&r);
    let coph = upper(&cophenetic(&tree));
    let cc = pearson(&coph, &upper(&d));
    let stability = blocks.filter(|b| b.len() >= 2 && resamples > 0).map(|b| {
        let k = b.len();
        let mut total = 0.0;
        let mut used = 0;
        for rep in 0..resamples {
            let mut rng = stream(seed, Purpose::Bootstrap, rep as u64);
            let mut acc = MeanAccumulator::new(keep.len());
            for _ in 0..k {
                acc.add(&sub(b[rng.random_range(0..k)].view()));
            }
            let m = acc.mean();
            if m.iter().all(|v| v.is_finite()) {
                let (t, _) = tree_of(&m);
                let c = pearson(&upper(&cophenetic(&t)), &coph);
                if c.is_finite() {
                    total += c;
                    used += 1;
                }
            }
        }
        (total / used.max(1) as f64, used)
    });
    Taxonomy {
        order: tree.leaf_order(),
        methods: names,
        merges: tree.merges.iter().map(|m| (m.a, m.b, m.height)).collect(),
        cophenetic_correlation: cc,
        stability,
        excluded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn correlations_of_portfolios() {
        let s = array![[0.04, 0.01, 0.0], [0.01, 0.09, 0.0], [0.0, 0.0, 0.01]];
        let w = vec![
            Some(array![1.0, 0.0, 0.0]),
            Some(array![0.0, 1.0, 0.0]),
            Some(array![0.5, 0.5, 0.0]),
            None,
        ];
        let r = portfolio_correlations(&w, s.view());
        // Single assets: ρ = 0.01 / (0.2 · 0.3).
        assert!((r[(0, 1)] - 0.01 / 0.06).abs() < 1e-15);
        assert_eq!(r[(0, 0)], 1.0);
        assert!((r[(1, 2)] - r[(2, 1)]).abs() < 1e-15);
        assert!(r[(3, 0)].is_nan() && r[(0, 3)].is_nan());
        // Same weights → ρ = 1; a hand-computed mixed pair.
        let w2 = vec![w[2].clone(), w[2].clone()];
        assert!((portfolio_correlations(&w2, s.view())[(0, 1)] - 1.0).abs() < 1e-15);
        let cov = 0.5 * 0.04 + 0.5 * 0.01;
        let var_mix: f64 = 0.25 * 0.04 + 0.25 * 0.09 + 0.5 * 0.01;
        assert!((r[(0, 2)] - cov / (0.2 * var_mix.sqrt())).abs() < 1e-15);
    }

    #[test]
    fn two_clear_groups_and_a_stable_tree() {
        let names: Vec<String> = ["a1", "a2", "b1", "b2", "b3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let g = [0, 0, 1, 1, 1];
        let rho = Array2::from_shape_fn((5, 5), |(i, j)| {
            if i == j {
                1.0
            } else if g[i] == g[j] {
                0.95 - 0.01 * (i + j) as f64
            } else {
                0.3
            }
        });
        let blocks: Vec<Array2<f64>> = (0..10)
            .map(|k| {
                rho.mapv(|v| {
                    if v < 1.0 {
                        v + 0.001 * (k as f64 - 4.5)
                    } else {
                        v
                    }
                })
            })
            .collect();
        // A sixth method that never succeeded is left out, not the others.
        let mut names6 = names.clone();
        names6.push("failed".into());
        let rho6 = Array2::from_shape_fn((6, 6), |(i, j)| {
            if i < 5 && j < 5 {
                rho[(i, j)]
            } else {
                f64::NAN
            }
        });
        let t6 = taxonomy(&names6, rho6.view(), None, 0, 1);
        assert_eq!(
            (t6.methods.len(), t6.excluded.clone()),
            (5, vec!["failed".to_string()])
        );
        let t = taxonomy(&names, rho.view(), Some(&blocks), 50, 1);
        // The groups are contiguous in the leaf order.
        let pos: Vec<usize> = (0..5)
            .map(|i| t.order.iter().position(|&o| o == i).unwrap())
            .collect();
        assert_eq!(pos[0].abs_diff(pos[1]), 1, "order {:?}", t.order);
        assert!(
            pos[0].min(pos[1]) == 0 || pos[0].max(pos[1]) == 4,
            "order {:?}",
            t.order
        );
        let last = t.merges.last().unwrap();
        assert!(
            (last.2 - (0.35f64).sqrt()).abs() < 1e-12,
            "top merge at d(0.3)"
        );
        assert!(t.cophenetic_correlation > 0.9);
        let (s, n) = t.stability.unwrap();
        assert_eq!(n, 50);
        assert!(s > 0.99, "stability {s}");
    }
}
