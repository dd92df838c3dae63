//! Flexible-β linkage (Lance & Williams 1967, "A general theory of
//! classificatory sorting strategies: 1. Hierarchical systems", Comput. J. 9,
//! 373–380), as in R `mdendro::linkage(d, method = "flexible", par.method = β)`.
//!
//! Agglomerative; after merging clusters i and j into k, for every other
//! cluster h the Lance–Williams update (their eq. for the flexible strategy)
//!
//! `d(k,h) = α_i d(i,h) + α_j d(j,h) + β d(i,j)`,  γ = 0,
//!
//! with, for the *weighted* form, `α_i = α_j = (1 − β)/2` (Lance & Williams'
//! original; mdendro `weighted = TRUE`; R `cluster::agnes(method = "flexible",
//! par.method = (1 − β)/2)`), and for the *unweighted* form
//! `α_i = (1 − β) n_i/(n_i + n_j)`, `α_j = (1 − β) n_j/(n_i + n_j)` (Belbin,
//! Faith & Milligan 1992; mdendro's default `weighted = FALSE`; agnes
//! `method = "gaverage", par.method = β`). The update acts on the distances
//! themselves, not their squares (mdendro: "all the linkage methods are meant
//! to be used with non-squared proximity data"). ASRP uses β = −0.25.
//!
//! Pair selection and leaf order follow mdendro's pair-group algorithm: each
//! cluster is represented by its smallest object index; the pair with the
//! smallest distance is merged, ties going to the lexicographically first
//! (representative) pair; `Merge.a` is the cluster with the smaller
//! representative, so `leaf_order()` is mdendro's (and agnes') `$order`.
//! mdendro additionally rounds distances to the data's number of significant
//! digits before comparing, which only matters for near-ties; not replicated.

use ndarray::ArrayView2;

use crate::cluster::{Merge, Tree};

/// Which Lance–Williams weights the flexible strategy uses (see module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlexibleWeighting {
    /// `α_i = α_j = (1 − β)/2` (Lance & Williams 1967; agnes "flexible").
    Weighted,
    /// `α_i = (1 − β) n_i/(n_i + n_j)` (mdendro default; agnes "gaverage").
    Unweighted,
}

/// The β of the ASRP `flexible` variant.
pub const ASRP_BETA: f64 = -0.25;

/// Flexible-β linkage of a square distance matrix. O(n³).
pub fn flexible(d: ArrayView2<'_, f64>, beta: f64, weighting: FlexibleWeighting) -> Tree {
    let n = d.nrows();
    assert_eq!(d.ncols(), n, "distance matrix must be square");
    let mut dm = d.to_owned();
    let mut active = vec![true; n];
    let mut node = (0..n).collect::<Vec<usize>>(); // representative -> tree node
    let mut size = vec![1usize; n];
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    let a1 = 1.0 - beta;
    let half = (1.0 - beta) / 2.0;
    for k in 0..n.saturating_sub(1) {
        let (mut bi, mut bj, mut best) = (usize::MAX, usize::MAX, f64::INFINITY);
        for i in 0..n {
            if !active[i] {
                continue;
            }
            for j in (i + 1)..n {
                if active[j] && (dm[(i, j)] < best || bi == usize::MAX) {
                    best = dm[(i, j)];
                    bi = i;
                    bj = j;
                }
            }
        }
        let dij = dm[(bi, bj)];
        let (ti, tj) = (size[bi] as f64, size[bj] as f64);
        let (fi, fj) = match weighting {
            FlexibleWeighting::Weighted => (half, half),
            FlexibleWeighting::Unweighted => (a1 * ti / (ti + tj), a1 * tj / (ti + tj)),
        };
        for h in 0..n {
            if active[h] && h != bi && h != bj {
                let v = fi * dm[(bi, h)] + fj * dm[(bj, h)] + beta * dij;
                dm[(bi, h)] = v;
                dm[(h, bi)] = v;
            }
        }
        active[bj] = false;
        size[bi] += size[bj];
        merges.push(Merge {
            a: node[bi],
            b: node[bj],
            height: dij,
            size: size[bi],
        });
        node[bi] = n + k;
    }
    Tree { n, merges }
}
