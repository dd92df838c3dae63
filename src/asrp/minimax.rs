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
//! Implementation: a port of protoclust's C routine (`hier.c`): a
//! nearest-neighbour chain (valid because the linkage is reducible), with
//! protoclust's `dmax` table `dmax[x][C] = max_{y ∈ C} d(x, y)`, so that
//! `d(G, H) = min_{x ∈ G∪H} max(dmax[x][G], dmax[x][H])`; ties in the nearest
//! neighbour go to the smaller complete linkage, then to the first slot; the
//! merged cluster keeps the larger slot. O(n³).
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
    let at = |i: usize, j: usize| if i == j { 0.0 } else { d[(i, j)] };
    // dmax[x * n + c] = max_{y in cluster slot c} d(x, y)
    let mut dmax: Vec<f64> = (0..n * n).map(|k| at(k / n, k % n)).collect();
    // dd[i * n + j]: linkage between the clusters in slots i and j
    let mut dd = dmax.clone();
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    // protoclust's labels: -(i+1) singleton, k+1 cluster of chain step k, 0 gone
    let mut label: Vec<i64> = (0..n).map(|i| -(i as i64) - 1).collect();
    let mut node: Vec<usize> = (0..n).collect();
    let mut inchain = vec![false; n];
    let mut chain: Vec<usize> = Vec::with_capacity(n);
    let mut raw = Vec::with_capacity(n - 1);
    let mut protos_raw = Vec::with_capacity(n - 1);

    let completelink = |dmax: &[f64], members: &[Vec<usize>], g: usize, h: usize| {
        let mut m = 0.0f64;
        for &x in &members[g] {
            m = m.max(dmax[x * n + h]);
        }
        for &x in &members[h] {
            m = m.max(dmax[x * n + g]);
        }
        m
    };

    for k in 0..n - 1 {
        if chain.is_empty() {
            let i = (0..n).find(|&i| label[i] != 0).expect("an active cluster");
            chain.push(i);
        }
        // grow the nearest-neighbour chain until a reciprocal pair
        loop {
            let i = *chain.last().unwrap();
            let mut mind = f64::INFINITY;
            let mut nn = usize::MAX;
            let mut mincomplete = 0.0;
            for j in (0..n).filter(|&j| j != i) {
                if label[j] == 0 || inchain[j] {
                    continue;
                }
                let v = dd[i * n + j];
                if v < mind || nn == usize::MAX {
                    mind = v;
                    nn = j;
                    mincomplete = 0.0;
                } else if v == mind {
                    // protoclust's tie-break: smaller complete linkage
                    if mincomplete == 0.0 {
                        mincomplete = completelink(&dmax, &members, nn, i);
                    }
                    let dcomp = completelink(&dmax, &members, j, i);
                    if dcomp < mincomplete {
                        mincomplete = dcomp;
                        nn = j;
                    }
                }
            }
            let e = chain.len() - 1;
            if e > 0 {
                if nn == chain[e - 1] {
                    break;
                }
                inchain[chain[e - 1]] = true;
            }
            chain.push(nn);
        }
        let e = chain.len() - 1;
        let (imerge, jmerge) = if chain[e] < chain[e - 1] {
            (chain[e - 1], chain[e])
        } else {
            (chain[e], chain[e - 1])
        };
        inchain[chain[e]] = false;
        inchain[chain[e - 1]] = false;
        if e > 1 {
            inchain[chain[e - 2]] = false;
        }
        if e > 2 {
            inchain[chain[e - 3]] = false;
        }
        chain.truncate(e - 1);

        let height = dd[imerge * n + jmerge];
        let reverse = label[imerge] > label[jmerge] || (label[imerge] < 0 && label[jmerge] < 0);
        let (left, right) = if reverse {
            (node[jmerge], node[imerge])
        } else {
            (node[imerge], node[jmerge])
        };
        let mj = std::mem::take(&mut members[jmerge]);
        if reverse {
            let mi = std::mem::replace(&mut members[imerge], mj);
            members[imerge].extend(mi);
        } else {
            members[imerge].extend(mj);
        }
        label[imerge] = k as i64 + 1;
        label[jmerge] = 0;
        node[imerge] = n + k;
        for x in 0..n {
            let v = dmax[x * n + jmerge];
            if dmax[x * n + imerge] < v {
                dmax[x * n + imerge] = v;
            }
        }
        // prototype: first member with the smallest max distance
        let mut proto = members[imerge][0];
        let mut pr = f64::INFINITY;
        for &x in &members[imerge] {
            if dmax[x * n + imerge] < pr {
                pr = dmax[x * n + imerge];
                proto = x;
            }
        }
        protos_raw.push(proto);
        for j in 0..n {
            if label[j] == 0 || j == imerge {
                continue;
            }
            let mut v = f64::INFINITY;
            for &x in members[j].iter().chain(members[imerge].iter()) {
                let m = dmax[x * n + j].max(dmax[x * n + imerge]);
                if m < v {
                    v = m;
                }
            }
            dd[imerge * n + j] = v;
            dd[j * n + imerge] = v;
        }
        raw.push(Merge {
            a: left,
            b: right,
            height,
            size: members[imerge].len(),
        });
    }
    let raw = Tree { n, merges: raw };
    // protoclust sorts the merges by height, ties by chain step (stable)
    let mut perm: Vec<usize> = (0..n - 1).collect();
    perm.sort_by(|&x, &y| raw.merges[x].height.total_cmp(&raw.merges[y].height));
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
