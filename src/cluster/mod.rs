//! Distances and hierarchical clustering trees.
//!
//! The distance of López de Prado (2016, eq. in §4.1 step 1) is
//! `d_ij = sqrt((1 − ρ_ij) / 2)`. Trees use scipy's linkage-matrix convention:
//! leaves are `0..n`, merge *k* creates cluster `n + k`, and each merge lists the
//! smaller label first, which makes the leaf order (pre-order, left first) equal
//! to `scipy.cluster.hierarchy.leaves_list` / `to_tree(...).pre_order()`.

mod hclust;

/// Errors of the clustering layer (below `seriation/`, which builds orders on these trees).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    #[error("{0}")]
    UnknownLinkage(String),
}

pub use hclust::{Linkage, cophenetic, gruvaeus_wainer, hclust, olo};

use ndarray::{Array2, ArrayView2};

crate::avx2_dispatch! {
/// `d_ij = sqrt(clip((1 − ρ_ij)/2, 0, 1))` (López de Prado 2016). Clipping only
/// guards against round-off (|ρ| may exceed 1 by an ulp), as PyPortfolioOpt does.
pub fn corr_to_dist(corr: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut d = corr.as_standard_layout().into_owned();
    // A plain loop over the slice vectorizes (the square roots dominate).
    for v in d.as_slice_mut().expect("standard layout") {
        *v = ((1.0 - *v) / 2.0).clamp(0.0, 1.0).sqrt();
    }
    for i in 0..d.nrows() {
        d[(i, i)] = 0.0;
    }
    d
}
}

/// Upper triangle of a square matrix, row by row (scipy's condensed form).
pub fn condensed(d: ArrayView2<'_, f64>) -> Vec<f64> {
    let n = d.nrows();
    let mut out = Vec::with_capacity(n * (n.saturating_sub(1)) / 2);
    for i in 0..n {
        for j in (i + 1)..n {
            out.push(d[(i, j)]);
        }
    }
    out
}

/// One agglomeration step: clusters `a < b` merged at `height`, `size` leaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Merge {
    pub a: usize,
    pub b: usize,
    pub height: f64,
    pub size: usize,
}

/// A binary hierarchical clustering tree over `n` leaves (scipy linkage layout).
#[derive(Clone, Debug, PartialEq)]
pub struct Tree {
    pub n: usize,
    pub merges: Vec<Merge>,
}

/// Linkage methods available through `kodama` with scipy's (= R's, for these)
/// definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KodamaLinkage {
    Single,
    Complete,
    Average,
    /// WPGMA (R `mcquitty`, scipy `weighted`).
    Weighted,
    /// Ward on plain distances (R `ward.D2`, scipy `ward`).
    Ward,
}

impl Tree {
    /// Single linkage of a *symmetric* distance matrix: the tree of
    /// `Tree::kodama(d, KodamaLinkage::Single)`, merge for merge (kodama's Prim
    /// algorithm, `mst_with`, and its relabelling: stable sort by height, union-find
    /// labels), read from the rows of the dense matrix instead of a condensed copy
    /// through kodama's active set (a third of HRP's time at n = 100). Kodama reads
    /// `d[min(i, j)][max(i, j)]`; this reads row `i`: the same numbers only when `d` is
    /// exactly symmetric, as an estimate's distance matrix is (its correlation is
    /// mirrored).
    pub fn single_linkage_symmetric(d: ArrayView2<'_, f64>) -> Tree {
        let n = d.nrows();
        if n <= 1 {
            return Tree {
                n,
                merges: Vec::new(),
            };
        }
        let d = d.as_standard_layout();
        let ds = d.as_slice().expect("standard layout");
        let mut active: Vec<usize> = (1..n).collect();
        let mut min_d = vec![f64::INFINITY; n];
        let mut steps: Vec<(usize, usize, f64)> = Vec::with_capacity(n - 1);
        let mut cluster = 0;
        while !active.is_empty() {
            let row = &ds[cluster * n..(cluster + 1) * n];
            // kodama: start from the first active observation's distance before the
            // update, then the first strictly smaller one in ascending order wins.
            let (mut pos, mut best) = (0, min_d[active[0]]);
            for (p, &x) in active.iter().enumerate() {
                let slot = &mut min_d[x];
                if row[x] < *slot {
                    *slot = row[x];
                }
                if *slot < best {
                    best = *slot;
                    pos = p;
                }
            }
            let obs = active.remove(pos);
            steps.push((obs, cluster, best));
            cluster = obs;
        }
        // Equal for NaN, where kodama would panic (an estimate's distances are finite).
        steps.sort_by(|a, b| a.2.partial_cmp(&b.2).unwrap_or(std::cmp::Ordering::Equal));
        let mut parent: Vec<usize> = (0..2 * n - 1).collect();
        let find = |parent: &mut Vec<usize>, mut c: usize| {
            let mut root = c;
            while parent[root] != root {
                root = parent[root];
            }
            while parent[c] != root {
                let next = parent[c];
                parent[c] = root;
                c = next;
            }
            root
        };
        let mut merges: Vec<Merge> = Vec::with_capacity(n - 1);
        for (k, &(c1, c2, height)) in steps.iter().enumerate() {
            let (a, b) = (find(&mut parent, c1), find(&mut parent, c2));
            parent[a] = n + k;
            parent[b] = n + k;
            let size = |c: usize, merges: &[Merge]| if c < n { 1 } else { merges[c - n].size };
            let size = size(a, &merges) + size(b, &merges);
            merges.push(Merge {
                a: a.min(b),
                b: a.max(b),
                height,
                size,
            });
        }
        Tree { n, merges }
    }

    /// Hierarchical clustering of a square distance matrix with `kodama`.
    pub fn kodama(d: ArrayView2<'_, f64>, method: KodamaLinkage) -> Tree {
        let n = d.nrows();
        if n == 1 {
            return Tree {
                n,
                merges: Vec::new(),
            };
        }
        let mut cond = condensed(d);
        let m = match method {
            KodamaLinkage::Single => kodama::Method::Single,
            KodamaLinkage::Complete => kodama::Method::Complete,
            KodamaLinkage::Average => kodama::Method::Average,
            KodamaLinkage::Weighted => kodama::Method::Weighted,
            KodamaLinkage::Ward => kodama::Method::Ward,
        };
        let dend = kodama::linkage(&mut cond, n, m);
        let merges = dend
            .steps()
            .iter()
            .map(|s| Merge {
                a: s.cluster1.min(s.cluster2),
                b: s.cluster1.max(s.cluster2),
                height: s.dissimilarity,
                size: s.size,
            })
            .collect();
        Tree { n, merges }
    }

    /// Children of internal node `node` (`node >= n`).
    pub fn children(&self, node: usize) -> (usize, usize) {
        let m = &self.merges[node - self.n];
        (m.a, m.b)
    }

    /// Leaf order: depth-first, left child first (scipy `leaves_list`).
    pub fn leaf_order(&self) -> Vec<usize> {
        if self.n <= 1 {
            return (0..self.n).collect();
        }
        let mut order = Vec::with_capacity(self.n);
        let mut stack = vec![2 * self.n - 2];
        while let Some(node) = stack.pop() {
            if node < self.n {
                order.push(node);
            } else {
                let (a, b) = self.children(node);
                stack.push(b);
                stack.push(a);
            }
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn corr_to_dist_has_the_scalar_bits() {
        // The dispatched (AVX2 where the CPU has it) distances equal the formula evaluated
        // one entry at a time, bit for bit, including the clipped entries (|ρ| > 1 by an ulp).
        let n = 23;
        let mut c = Array2::from_shape_fn((n, n), |(i, j)| {
            (((i * 17 + j * 5) % 41) as f64 / 20.0 - 1.0).clamp(-1.0, 1.0)
        });
        c[(0, 1)] = 1.0 + f64::EPSILON;
        c[(1, 0)] = -1.0 - f64::EPSILON;
        let d = corr_to_dist(c.view());
        for ((i, j), &v) in d.indexed_iter() {
            let want = if i == j {
                0.0
            } else {
                ((1.0 - c[(i, j)]) / 2.0).clamp(0.0, 1.0).sqrt()
            };
            assert_eq!(v.to_bits(), want.to_bits(), "({i}, {j})");
        }
    }

    #[test]
    fn single_linkage_leaf_order() {
        // 0 and 2 are close, 1 and 3 are close; the pairs join last.
        let d = array![
            [0.0, 0.9, 0.1, 0.8],
            [0.9, 0.0, 0.85, 0.2],
            [0.1, 0.85, 0.0, 0.7],
            [0.8, 0.2, 0.7, 0.0]
        ];
        let t = Tree::kodama(d.view(), KodamaLinkage::Single);
        assert_eq!(
            t.merges[0],
            Merge {
                a: 0,
                b: 2,
                height: 0.1,
                size: 2
            }
        );
        assert_eq!(
            t.merges[1],
            Merge {
                a: 1,
                b: 3,
                height: 0.2,
                size: 2
            }
        );
        assert_eq!(t.merges[2].height, 0.7);
        assert_eq!(t.leaf_order(), vec![0, 2, 1, 3]);
    }

    #[test]
    fn distance_is_lopez_de_prado() {
        let c = array![[1.0, 0.5], [0.5, 1.0]];
        let d = corr_to_dist(c.view());
        assert!((d[(0, 1)] - 0.5f64).abs() < 1e-15);
        assert_eq!(d[(0, 0)], 0.0);
    }

    /// The dense single linkage gives kodama's tree, merge for merge, on random
    /// symmetric distances and on distances with many ties (quantized to 1/8).
    #[test]
    fn dense_single_linkage_is_kodamas() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(17);
        for n in [1usize, 2, 3, 4, 9, 30, 100] {
            for quantize in [false, true] {
                for _ in 0..5 {
                    let mut d = Array2::<f64>::zeros((n, n));
                    for i in 0..n {
                        for j in 0..i {
                            let mut v: f64 = rng.random_range(0.0..1.0);
                            if quantize {
                                v = (v * 8.0).floor() / 8.0;
                            }
                            d[(i, j)] = v;
                            d[(j, i)] = v;
                        }
                    }
                    let want = Tree::kodama(d.view(), KodamaLinkage::Single);
                    let got = Tree::single_linkage_symmetric(d.view());
                    assert_eq!(got.merges, want.merges, "n {n} quantized {quantize}");
                }
            }
        }
    }
}
