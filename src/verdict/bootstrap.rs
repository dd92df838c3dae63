//! The paired (trial) bootstrap: resample whole trials with replacement, so every
//! method keeps its pairing with the baseline inside a resample (Efron & Tibshirani,
//! *An Introduction to the Bootstrap*, 1993, §6 and §13: percentile interval).
//!
//! Resample `b` draws `n` trial indices uniformly from
//! `rng::stream(seed, Purpose::Bootstrap, b)`, so the resamples — and every interval
//! computed from them — depend only on (seed, number of trials, b), not on threads
//! or on which methods or metrics are analysed. One set of resamples is shared by all
//! methods and metrics of a study: the rank intervals are then joint.
//!
//! A statistic of a resample is a ratio of count-weighted sums, `Σ c_bi x_i / Σ c_bi
//! y_i` (a mean over the successful trials is `x = value·ok`, `y = ok`), and the sums
//! of all series are one matrix product `C X` (`C` the B × n count matrix), done in
//! blocks of trials so that memory stays `B × block` whatever `n`.

use crate::rng::{Purpose, stream};
use ndarray::{Array2, ArrayView2, s};
use rand::RngExt;

/// Default number of bootstrap resamples (enough for 95 % percentile intervals
/// whose Monte Carlo error is small against their width: Efron & Tibshirani §19.3).
pub const DEFAULT_RESAMPLES: usize = 2000;

/// Trial multiplicities of `b` bootstrap resamples of `n` trials.
pub struct Resamples {
    b: usize,
    n: usize,
    /// Row-major `b × n`.
    counts: Vec<u32>,
}

impl Resamples {
    /// `b` resamples of `n` trials drawn from the bootstrap streams of `seed`.
    pub fn new(n: usize, b: usize, seed: u64) -> Resamples {
        let mut counts = vec![0u32; b * n];
        if n > 0 {
            for (r, row) in counts.chunks_mut(n).enumerate() {
                let mut rng = stream(seed, Purpose::Bootstrap, r as u64);
                for _ in 0..n {
                    row[rng.random_range(0..n)] += 1;
                }
            }
        }
        Resamples { b, n, counts }
    }

    pub fn len(&self) -> usize {
        self.b
    }

    pub fn is_empty(&self) -> bool {
        self.b == 0
    }

    pub fn trials(&self) -> usize {
        self.n
    }

    /// Multiplicity of trial `i` in resample `r`.
    pub fn count(&self, r: usize, i: usize) -> u32 {
        self.counts[r * self.n + i]
    }

    /// `C X`: the count-weighted column sums of `x` (n × k) in every resample (b × k).
    pub fn weighted_sums(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        assert_eq!(x.nrows(), self.n, "weighted_sums: rows must be trials");
        const BLOCK: usize = 2048;
        let mut out = Array2::<f64>::zeros((self.b, x.ncols()));
        let mut start = 0;
        while start < self.n {
            let end = (start + BLOCK).min(self.n);
            let c = Array2::from_shape_fn((self.b, end - start), |(r, i)| {
                self.counts[r * self.n + start + i] as f64
            });
            out += &crate::linalg::a_b(c.view(), x.slice(s![start..end, ..]));
            start = end;
        }
        out
    }
}

/// Type-7 (linear interpolation, numpy's default) quantile of sorted finite data.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Percentile interval at `level` (e.g. 0.95) of bootstrap replicates; non-finite
/// replicates (a resample with no usable trial) are dropped.
pub fn percentile_interval(replicates: &[f64], level: f64) -> [f64; 2] {
    let mut v: Vec<f64> = replicates
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    v.sort_by(f64::total_cmp);
    let a = 0.5 * (1.0 - level);
    [quantile_sorted(&v, a), quantile_sorted(&v, 1.0 - a)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn resamples_draw_n_trials_and_repeat_for_a_seed() {
        let a = Resamples::new(37, 50, 9);
        let b = Resamples::new(37, 50, 9);
        let c = Resamples::new(37, 50, 10);
        assert_eq!(a.counts, b.counts);
        assert_ne!(a.counts, c.counts);
        for r in 0..50 {
            assert_eq!((0..37).map(|i| a.count(r, i)).sum::<u32>(), 37);
        }
    }

    #[test]
    fn weighted_sums_match_a_direct_loop_across_blocks() {
        let n = 5000; // more than one block
        let r = Resamples::new(n, 7, 3);
        let x = Array2::from_shape_fn((n, 2), |(i, j)| (i as f64).sin() + j as f64);
        let s = r.weighted_sums(x.view());
        for b in 0..7 {
            for j in 0..2 {
                let direct: f64 = (0..n).map(|i| r.count(b, i) as f64 * x[(i, j)]).sum();
                assert!((s[(b, j)] - direct).abs() < 1e-9 * direct.abs().max(1.0));
            }
        }
    }

    #[test]
    fn type7_quantiles() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert!((quantile_sorted(&v, 0.1) - 1.3).abs() < 1e-15);
    }
}
