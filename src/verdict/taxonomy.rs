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
use ndarray::{Array1, Array2, Array3, ArrayView2};
use rand::RngExt;
use serde::Serialize;

/// `ρ_ab` for every pair of methods; a method without weights (`None`) or with a
/// zero-variance portfolio gives NaN in its row and column.
pub fn portfolio_correlations(
    weights: &[Option<Array1<f64>>],
    s: ArrayView2<'_, f64>,
) -> Array2<f64> {
    let m = weights.len();
    // S·w for every method in one pass over the rows of S (the same bits as `s.dot(w)`).
    let present: Vec<&Array1<f64>> = weights.iter().flatten().collect();
    let mut products = crate::linalg::mat_vecs(s, &present).into_iter();
    let sw: Vec<Option<Array1<f64>>> = weights
        .iter()
        .map(|w| w.as_ref().and_then(|_| products.next()))
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

/// Trials per block of `/method_similarity_blocks`. Blocks sit on absolute trial
/// indices (block b = trials `100·b .. 100·b + 99`), so they do not depend on
/// `chunk_trials`; a block may span work units.
pub const SIMILARITY_BLOCK: u64 = 100;

/// Bits after the binary point of the fixed-point similarity sums: a trial adds
/// `round(ρ · 2^96)`. |ρ| ≤ 1 and at most [`crate::spec::MAX_TRIALS`] = 10^9 < 2^30
/// trials, so any partial or total sum is below 2^126 in magnitude and fits an i128
/// (2^96 rather than 2^100: 10^9 · 2^100 would not fit). The rounding is exact for
/// |ρ| ≥ 2^-43 (an f64's 53 bits then end at or above 2^-96), within 2^-97 otherwise.
pub const FIXED_POINT_BITS: i32 = 96;

/// Pairs `a ≤ b` of `m` methods: the stored upper triangle with its diagonal.
pub fn pair_count(m: usize) -> usize {
    m * (m + 1) / 2
}

/// The blocks of [`SIMILARITY_BLOCK`] trials that `trials` touches.
pub fn blocks_of(trials: &std::ops::Range<u64>) -> std::ops::Range<u64> {
    if trials.is_empty() {
        let b = trials.start / SIMILARITY_BLOCK;
        return b..b;
    }
    trials.start / SIMILARITY_BLOCK..(trials.end - 1) / SIMILARITY_BLOCK + 1
}

/// Per block of trials, exact sums of the per-trial portfolio correlations
/// ([`portfolio_correlations`]) and the number of trials in which each pair had a
/// finite ρ.
///
/// Why fixed point: each work unit (later, each shard) stores its partial sums and
/// the study adds them at the end. Floating-point addition is not associative, so
/// f64 partial sums would make `/method_similarity` depend on where the units cut
/// the trials (`chunk_trials`). Integer addition is associative and commutative: the
/// sums of `round(ρ·2^96)` are the same however the trials are grouped and in
/// whatever order the groups are added. Wrapping addition keeps that even through an
/// intermediate overflow, and the true totals fit (see [`FIXED_POINT_BITS`]), so
/// they come out exact. A unit of c trials touches at most ⌈(c − 1)/100⌉ + 1 blocks;
/// a block spanning two units is complete once both units' sums are added.
#[derive(Clone, Debug, PartialEq)]
pub struct SimilaritySums {
    /// Number of methods M; pairs `a ≤ b` in row-major order ([`pair_count`]).
    pub methods: usize,
    /// Absolute index of the first block covered.
    pub first_block: u64,
    /// [blocks × 2 × pairs]: Σ round(ρ·2^96) (wrapping); side 0 under the
    /// in-sample covariance, 1 under the out-of-sample one (the sides of `/errors`).
    pub sum: Array3<i128>,
    /// [blocks × 2 × pairs]: trials with a finite ρ (both methods succeeded).
    pub count: Array3<u64>,
}

fn to_fixed(x: f64) -> i128 {
    // Scaling by a power of two is exact; the rounding is deterministic.
    (x * 2f64.powi(FIXED_POINT_BITS)).round() as i128
}

fn mean_of(sum: i128, count: u64) -> f64 {
    if count == 0 {
        f64::NAN
    } else {
        sum as f64 / count as f64 * 2f64.powi(-FIXED_POINT_BITS)
    }
}

impl SimilaritySums {
    /// Zero sums over the blocks that `trials` touches.
    pub fn covering(methods: usize, trials: std::ops::Range<u64>) -> SimilaritySums {
        let b = blocks_of(&trials);
        let shape = ((b.end - b.start) as usize, 2, pair_count(methods));
        SimilaritySums {
            methods,
            first_block: b.start,
            sum: Array3::zeros(shape),
            count: Array3::zeros(shape),
        }
    }

    pub fn blocks(&self) -> usize {
        self.sum.dim().0
    }

    /// Adds trial `trial`'s correlations `[in-sample, out-of-sample]` (M × M);
    /// NaN entries (a method failed) are not counted.
    pub fn add_trial(&mut self, trial: u64, rho: &[Array2<f64>; 2]) {
        let b = (trial / SIMILARITY_BLOCK)
            .checked_sub(self.first_block)
            .filter(|&b| b < self.blocks() as u64)
            .expect("trial inside the blocks covered") as usize;
        for (side, r) in rho.iter().enumerate() {
            assert_eq!(r.dim(), (self.methods, self.methods));
            let mut p = 0;
            for i in 0..self.methods {
                for j in i..self.methods {
                    let v = r[(i, j)];
                    if v.is_finite() {
                        let s = &mut self.sum[(b, side, p)];
                        *s = s.wrapping_add(to_fixed(v));
                        self.count[(b, side, p)] += 1;
                    }
                    p += 1;
                }
            }
        }
    }

    /// Adds `other`'s sums into this one's blocks (exact, in any order); an error
    /// if `other` has other methods or blocks outside this one's.
    pub fn absorb(&mut self, other: &SimilaritySums) -> Result<(), String> {
        let off = other
            .first_block
            .checked_sub(self.first_block)
            .filter(|&o| o.saturating_add(other.blocks() as u64) <= self.blocks() as u64);
        let Some(off) = off.filter(|_| other.methods == self.methods) else {
            return Err(format!(
                "similarity sums of {} methods over blocks {}..{} do not fit {} methods over \
                 blocks {}..{}",
                other.methods,
                other.first_block,
                other.first_block.saturating_add(other.blocks() as u64),
                self.methods,
                self.first_block,
                self.first_block + self.blocks() as u64
            ));
        };
        for ((b, side, p), v) in other.sum.indexed_iter() {
            let at = (off as usize + b, side, p);
            self.sum[at] = self.sum[at].wrapping_add(*v);
            self.count[at] += other.count[(b, side, p)];
        }
        Ok(())
    }

    /// Blocks `r` (indices into this one's blocks) on their own.
    pub fn sub_blocks(&self, r: std::ops::Range<usize>) -> SimilaritySums {
        use ndarray::s;
        SimilaritySums {
            methods: self.methods,
            first_block: self.first_block + r.start as u64,
            sum: self.sum.slice(s![r.clone(), .., ..]).to_owned(),
            count: self.count.slice(s![r, .., ..]).to_owned(),
        }
    }

    /// All blocks summed into one (numbered 0): the totals over the trials covered.
    pub fn collapsed(&self) -> SimilaritySums {
        let mut one = SimilaritySums::covering(self.methods, 0..1);
        for side in 0..2 {
            let (s, c) = self.totals(side);
            for k in 0..s.len() {
                one.sum[(0, side, k)] = s[k];
                one.count[(0, side, k)] = c[k];
            }
        }
        one
    }

    /// The M × M matrix of per-pair values (mirrored: exactly symmetric).
    fn square<T: Copy>(&self, v: &[T]) -> Array2<T> {
        let m = self.methods;
        // Row-major index of pair (i, j), i ≤ j, in the upper triangle.
        let at = |i: usize, j: usize| i * m - i * (i + 1) / 2 + j;
        Array2::from_shape_fn((m, m), |(a, b)| v[at(a.min(b), a.max(b))])
    }

    /// Sums and counts per pair over all blocks of one side.
    fn totals(&self, side: usize) -> (Vec<i128>, Vec<u64>) {
        let p = pair_count(self.methods);
        let (mut s, mut c) = (vec![0i128; p], vec![0u64; p]);
        for b in 0..self.blocks() {
            for k in 0..p {
                s[k] = s[k].wrapping_add(self.sum[(b, side, k)]);
                c[k] += self.count[(b, side, k)];
            }
        }
        (s, c)
    }

    /// Mean ρ over all blocks (M × M; NaN where a pair never had a finite ρ);
    /// side 0 under the in-sample covariance, 1 out-of-sample.
    pub fn mean(&self, side: usize) -> Array2<f64> {
        let (s, c) = self.totals(side);
        let v: Vec<f64> = s.iter().zip(&c).map(|(&s, &c)| mean_of(s, c)).collect();
        self.square(&v)
    }

    /// Trials per pair with a finite ρ (M × M).
    pub fn counts(&self, side: usize) -> Array2<u64> {
        self.square(&self.totals(side).1)
    }

    /// Mean ρ per block ([blocks × M × M]; NaN where a pair had no finite ρ).
    pub fn block_means(&self, side: usize) -> Array3<f64> {
        let m = self.methods;
        let mut out = Array3::from_elem((self.blocks(), m, m), f64::NAN);
        for b in 0..self.blocks() {
            let v: Vec<f64> = (0..pair_count(m))
                .map(|k| mean_of(self.sum[(b, side, k)], self.count[(b, side, k)]))
                .collect();
            out.index_axis_mut(ndarray::Axis(0), b)
                .assign(&self.square(&v));
        }
        out
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

    /// Random covariances (A Aᵀ, some rank-deficient) and long/short weights: the
    /// diagonal is exactly 1, every ρ lies in [−1, 1], the matrix is symmetric, and
    /// ρ agrees with the definition computed term by term.
    #[test]
    fn correlations_are_bounded_with_a_unit_diagonal() {
        let mut rng = stream(5, Purpose::Bootstrap, 0);
        for case in 0..200 {
            let (n, k) = (2 + case % 7, 1 + case % 9);
            let a = Array2::from_shape_simple_fn((n, k), || rng.random_range(-1.0..1.0));
            let s = a.dot(&a.t());
            let w: Vec<Option<Array1<f64>>> = (0..5)
                .map(|_| {
                    Some(Array1::from_shape_simple_fn(n, || {
                        rng.random_range(-0.5..1.0)
                    }))
                })
                .collect();
            let r = portfolio_correlations(&w, s.view());
            for i in 0..5 {
                let wi = w[i].as_ref().unwrap();
                let vi = wi.dot(&s.dot(wi));
                assert!(r[(i, i)] == 1.0 || (vi <= 0.0 && r[(i, i)].is_nan()));
                for j in 0..5 {
                    assert_eq!(r[(i, j)].to_bits(), r[(j, i)].to_bits());
                    let v = r[(i, j)];
                    assert!(v.is_nan() || (-1.0..=1.0).contains(&v), "{v}");
                    let wj = w[j].as_ref().unwrap();
                    let vj = wj.dot(&s.dot(wj));
                    let mut c = 0.0;
                    for p in 0..n {
                        for q in 0..n {
                            c += wi[p] * s[(p, q)] * wj[q];
                        }
                    }
                    if i != j && v.is_finite() {
                        let direct = (c / (vi * vj).sqrt()).clamp(-1.0, 1.0);
                        assert!((v - direct).abs() < 1e-12, "{v} vs {direct}");
                    }
                }
            }
        }
    }

    /// The fixed-point sums do not depend on how the trials are cut into units
    /// nor on the order the units are added; f64 sums would.
    #[test]
    fn similarity_sums_are_exact_for_any_chunking() {
        use rand::seq::SliceRandom;
        let mut rng = stream(9, Purpose::Bootstrap, 0);
        let (m, t) = (3, 250u64);
        let rho: Vec<[Array2<f64>; 2]> = (0..t)
            .map(|_| {
                let mut x = Array2::from_shape_simple_fn((m, m), || rng.random_range(-1.0..1.0));
                x[(1, 2)] = if rng.random_range(0.0..1.0) < 0.2 {
                    f64::NAN
                } else {
                    x[(1, 2)]
                };
                let x = Array2::from_shape_fn((m, m), |(i, j)| x[(i.min(j), i.max(j))]);
                [x.clone(), x.mapv(|v| -v / 3.0)]
            })
            .collect();
        let whole = {
            let mut s = SimilaritySums::covering(m, 0..t);
            for (i, r) in rho.iter().enumerate() {
                s.add_trial(i as u64, r);
            }
            s
        };
        assert_eq!(whole.blocks(), 3);
        for chunk in [1u64, 7, 64, 99, 100, 101, 250] {
            let mut units: Vec<SimilaritySums> = (0..t.div_ceil(chunk))
                .map(|u| {
                    let r = u * chunk..((u + 1) * chunk).min(t);
                    let mut s = SimilaritySums::covering(m, r.clone());
                    for i in r {
                        s.add_trial(i, &rho[i as usize]);
                    }
                    s
                })
                .collect();
            units.shuffle(&mut rng);
            let mut total = SimilaritySums::covering(m, 0..t);
            for u in &units {
                total.absorb(u).unwrap();
            }
            assert_eq!(total, whole, "chunk {chunk}");
        }
        // The means: the count-weighted f64 mean to rounding; NaN trials skipped.
        let mean = whole.mean(0);
        let (mut s, mut c) = (0.0, 0);
        for r in &rho {
            if r[0][(1, 2)].is_finite() {
                s += r[0][(1, 2)];
                c += 1;
            }
        }
        assert_eq!(whole.counts(0)[(2, 1)], c);
        assert!((mean[(2, 1)] - s / c as f64).abs() < 1e-14);
        assert_eq!(mean[(1, 2)].to_bits(), mean[(2, 1)].to_bits());
        let b = whole.block_means(1);
        assert_eq!(b.dim(), (3, m, m));
        let last: f64 = rho[200..].iter().map(|r| r[1][(0, 0)]).sum::<f64>() / 50.0;
        assert!((b[(2, 0, 0)] - last).abs() < 1e-14);
        // Sums outside the covered blocks, or of other methods, are refused.
        let mut small = SimilaritySums::covering(m, 0..100);
        assert!(
            small
                .absorb(&SimilaritySums::covering(m, 100..101))
                .is_err()
        );
        assert!(small.absorb(&SimilaritySums::covering(2, 0..1)).is_err());
        // The extremes fit: 10^9 trials of ρ = 1 sum to 10^9 · 2^96 < 2^127.
        let top = (crate::spec::MAX_TRIALS as i128) << FIXED_POINT_BITS;
        assert!(top.checked_mul(2).is_some());
        assert_eq!(to_fixed(1.0), 1i128 << 96);
        assert_eq!(to_fixed(-2f64.powi(-43)), -(1i128 << 53));
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
