//! Minimax linkage (Bien & Tibshirani 2011, "Hierarchical clustering with
//! prototypes via minimax linkage", JASA 106(495), 1075–1084), as R
//! `protoclust::protoclust`.
//!
//! Agglomerative with the linkage (their eq. 1–2)
//!
//! `d(G, H) = min_{x ∈ G∪H} max_{y ∈ G∪H} d(x, y)`,
//!
//! the radius of the smallest ball centred at a member that covers G∪H (the
//! minimizing x is the merged cluster's prototype). Minimax linkage has no
//! inversions (their Prop. 1), so heights are non-decreasing.
//!
//! Implementation: O(n³) with protoclust's `dmax` table,
//! `dmax[x][C] = max_{y ∈ C} d(x, y)`, so that
//! `d(G, H) = min_{x ∈ G∪H} max(dmax[x][G], dmax[x][H])`; at each step the
//! active pair with the smallest linkage is merged (ties: the lexicographically
//! first pair of cluster slots, a slot being the smaller slot of the two merged).
//! protoclust finds the same merges through a nearest-neighbour chain (valid
//! because the linkage is reducible); without ties the set of merges is the same.
//!
//! Output in R `hclust` form, which protoclust returns: merges sorted by height,
//! in each merge a singleton before a cluster, two singletons by index, two
//! clusters by creation step (see [`super::hclust_canonical`]); `leaf_order()`
//! is then protoclust's `$order`. (protoclust is not installable here; this is
//! tested against a brute-force evaluation of the definition.)

use ndarray::ArrayView2;

use crate::cluster::{Merge, Tree};

/// Minimax linkage tree and the prototype (0-based object index) of each merge.
#[derive(Clone, Debug)]
pub struct Minimax {
    pub tree: Tree,
    /// `protos[k]`: prototype of the cluster created by `tree.merges[k]`
    /// (protoclust's `$protos`, 0-based; ties to the first member in
    /// the cluster's member list).
    pub protos: Vec<usize>,
}

/// Minimax linkage of a square distance matrix.
pub fn minimax(d: ArrayView2<'_, f64>) -> Minimax {
    let n = d.nrows();
    assert_eq!(d.ncols(), n, "distance matrix must be square");
    if n <= 1 {
        return Minimax {
            tree: Tree {
                n,
                merges: Vec::new(),
            },
            protos: Vec::new(),
        };
    }
    // dmax[x * n + c]: max distance of object x to cluster slot c.
    let mut dmax = vec![0.0; n * n];
    for x in 0..n {
        for c in 0..n {
            dmax[x * n + c] = if x == c { 0.0 } else { d[(x, c)] };
        }
    }
    // linkage between active slots (upper triangle used)
    let mut link = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            link[i * n + j] = if i == j { 0.0 } else { d[(i, j)] };
        }
    }
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    let mut active = vec![true; n];
    let mut node: Vec<usize> = (0..n).collect();
    let mut merges = Vec::with_capacity(n - 1);
    let mut protos_raw = Vec::with_capacity(n - 1);
    for k in 0..n - 1 {
        let (mut bi, mut bj, mut best) = (usize::MAX, usize::MAX, f64::INFINITY);
        for i in 0..n {
            if !active[i] {
                continue;
            }
            for j in (i + 1)..n {
                if active[j] && (link[i * n + j] < best || bi == usize::MAX) {
                    best = link[i * n + j];
                    bi = i;
                    bj = j;
                }
            }
        }
        // merge slot bj into bi
        for x in 0..n {
            let v = dmax[x * n + bj];
            if dmax[x * n + bi] < v {
                dmax[x * n + bi] = v;
            }
        }
        let mb = std::mem::take(&mut members[bj]);
        members[bi].extend(mb);
        active[bj] = false;
        let mut proto = members[bi][0];
        let mut pr = f64::INFINITY;
        for &x in &members[bi] {
            if dmax[x * n + bi] < pr {
                pr = dmax[x * n + bi];
                proto = x;
            }
        }
        protos_raw.push(proto);
        for h in 0..n {
            if !active[h] || h == bi {
                continue;
            }
            let mut v = f64::INFINITY;
            for &x in members[bi].iter().chain(members[h].iter()) {
                let m = dmax[x * n + bi].max(dmax[x * n + h]);
                if m < v {
                    v = m;
                }
            }
            link[bi * n + h] = v;
            link[h * n + bi] = v;
        }
        merges.push(Merge {
            a: node[bi],
            b: node[bj],
            height: best,
            size: members[bi].len(),
        });
        node[bi] = n + k;
    }
    let raw = Tree { n, merges };
    // hclust_canonical sorts stably by height; carry the prototypes along.
    let mut perm: Vec<usize> = (0..n - 1).collect();
    perm.sort_by(|&x, &y| {
        raw.merges[x]
            .height
            .partial_cmp(&raw.merges[y].height)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let protos = perm.iter().map(|&k| protos_raw[k]).collect();
    Minimax {
        tree: super::hclust_canonical(&raw),
        protos,
    }
}

/// Minimax linkage between two explicit clusters, straight from the
/// definition: `min_{x ∈ G∪H} max_{y ∈ G∪H} d(x, y)`. O(|G∪H|²).
pub fn minimax_linkage(d: ArrayView2<'_, f64>, g: &[usize], h: &[usize]) -> f64 {
    let all: Vec<usize> = g.iter().chain(h.iter()).copied().collect();
    all.iter()
        .map(|&x| all.iter().map(|&y| d[(x, y)]).fold(0.0f64, f64::max))
        .fold(f64::INFINITY, f64::min)
}
