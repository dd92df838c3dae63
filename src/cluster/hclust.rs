//! R's `stats::hclust` (Murtagh's Lance–Williams algorithm with nearest-neighbour
//! lists, R 4.2 `hclust.f`), optimal leaf ordering (Bar-Joseph, Gifford & Jaakkola
//! 2001) and the Gruvaeus–Wainer (1972) reordering as in R's `gclus`.
//!
//! Why not kodama for everything: R's `ward.D` applies Ward's update to unsquared
//! distances, and R's `centroid`/`median` apply their updates to the distances as
//! given (scipy and kodama square them first), so those three are other methods.
//! Porting R's loop also reproduces R's merge order and tie-breaking (first pair
//! found in index order) for all eight linkages.

use super::{Merge, Tree};
use ndarray::{Array2, ArrayView2};

/// R `hclust` agglomeration methods, with R's definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Linkage {
    Single,
    Complete,
    /// UPGMA.
    Average,
    /// WPGMA (scipy `weighted`).
    Mcquitty,
    /// Ward's update on the distances as given (R `ward.D`; Murtagh & Legendre 2014).
    WardD,
    /// Ward's update on squared distances, heights square-rooted (R `ward.D2` = scipy `ward`).
    WardD2,
    /// Centroid update on the distances as given (R; scipy squares them).
    Centroid,
    /// Median (Gower's WPGMC) update on the distances as given (R).
    Median,
}

impl Linkage {
    pub const ALL: [Linkage; 8] = [
        Linkage::Single,
        Linkage::Complete,
        Linkage::Average,
        Linkage::Mcquitty,
        Linkage::WardD,
        Linkage::WardD2,
        Linkage::Centroid,
        Linkage::Median,
    ];
    /// R's method name (`hclust(method = ...)`).
    pub fn r_name(self) -> &'static str {
        match self {
            Linkage::Single => "single",
            Linkage::Complete => "complete",
            Linkage::Average => "average",
            Linkage::Mcquitty => "mcquitty",
            Linkage::WardD => "ward.D",
            Linkage::WardD2 => "ward.D2",
            Linkage::Centroid => "centroid",
            Linkage::Median => "median",
        }
    }
    /// Parses an R method name (R's aliases `ward` = `ward.D`, `upgma`/`wpgma` accepted).
    pub fn from_r_name(s: &str) -> Result<Linkage, super::ClusterError> {
        Ok(match s {
            "single" => Linkage::Single,
            "complete" => Linkage::Complete,
            "average" | "upgma" => Linkage::Average,
            "mcquitty" | "wpgma" => Linkage::Mcquitty,
            "ward.D" | "ward" => Linkage::WardD,
            "ward.D2" => Linkage::WardD2,
            "centroid" => Linkage::Centroid,
            "median" => Linkage::Median,
            _ => {
                return Err(super::ClusterError::UnknownLinkage(format!(
                    "unknown hclust method '{s}' (single, complete, average, mcquitty, ward.D, ward.D2, centroid, median)"
                )));
            }
        })
    }
}

/// Hierarchical clustering of a square distance matrix exactly as R's `hclust`
/// (merge order, heights, tie-breaking). The tree's merge list equals R's `merge`
/// (leaf `j` ↔ R's `-(j+1)`, cluster `n+k` ↔ R's `k+1`) and `leaf_order()` equals
/// R's `order`.
pub fn hclust(d: ArrayView2<'_, f64>, method: Linkage) -> Tree {
    let n = d.nrows();
    if n <= 1 {
        return Tree {
            n,
            merges: Vec::new(),
        };
    }
    // Upper-triangle storage as R's IOFFST (0-based i < j).
    let idx = |i: usize, j: usize| -> usize { j + i * n - (i + 1) * (i + 2) / 2 };
    // R's `as.dist` keeps the lower triangle: d[j][i] for i < j.
    let mut diss: Vec<f64> = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in (i + 1)..n {
            diss.push(d[(j, i)]);
        }
    }
    let is_ward = matches!(method, Linkage::WardD | Linkage::WardD2);
    if method == Linkage::WardD2 {
        for x in diss.iter_mut() {
            *x *= *x;
        }
    }
    const INF: f64 = 1e300;
    let mut flag = vec![true; n];
    let mut membr = vec![1.0f64; n];
    let mut nn = vec![0usize; n];
    let mut disnn = vec![INF; n];
    for i in 0..n - 1 {
        let mut dmin = INF;
        let mut jm = 0;
        for j in (i + 1)..n {
            let x = diss[idx(i, j)];
            if dmin > x {
                dmin = x;
                jm = j;
            }
        }
        nn[i] = jm;
        disnn[i] = dmin;
    }
    let mut label: Vec<usize> = (0..n).collect();
    let mut merges = Vec::with_capacity(n - 1);
    let mut sizes = vec![1usize; n];
    let mut jj = 0usize;
    for step in 0..n - 1 {
        let mut dmin = INF;
        let (mut im, mut jm) = (0, 0);
        for i in 0..n - 1 {
            if flag[i] && disnn[i] < dmin {
                dmin = disnn[i];
                im = i;
                jm = nn[i];
            }
        }
        let i2 = im.min(jm);
        let j2 = im.max(jm);
        let height = if method == Linkage::WardD2 {
            dmin.sqrt()
        } else {
            dmin
        };
        let (a, b) = (label[i2].min(label[j2]), label[i2].max(label[j2]));
        sizes[i2] += sizes[j2];
        merges.push(Merge {
            a,
            b,
            height,
            size: sizes[i2],
        });
        label[i2] = n + step;
        flag[j2] = false;
        let mut dmin = INF;
        let d12 = diss[idx(i2, j2)];
        for k in 0..n {
            if !flag[k] || k == i2 {
                continue;
            }
            let ind1 = if i2 < k { idx(i2, k) } else { idx(k, i2) };
            let ind2 = if j2 < k { idx(j2, k) } else { idx(k, j2) };
            let (mi, mj, mk) = (membr[i2], membr[j2], membr[k]);
            let (d1, d2) = (diss[ind1], diss[ind2]);
            diss[ind1] = if is_ward {
                ((mi + mk) * d1 + (mj + mk) * d2 - mk * d12) / (mi + mj + mk)
            } else {
                match method {
                    Linkage::Single => d1.min(d2),
                    Linkage::Complete => d1.max(d2),
                    Linkage::Average => (mi * d1 + mj * d2) / (mi + mj),
                    Linkage::Mcquitty => (d1 + d2) / 2.0,
                    Linkage::Median => ((d1 + d2) - d12 / 2.0) / 2.0,
                    Linkage::Centroid => {
                        (mi * d1 + mj * d2 - mi * mj * d12 / (mi + mj)) / (mi + mj)
                    }
                    Linkage::WardD | Linkage::WardD2 => unreachable!(),
                }
            };
            if i2 < k {
                if diss[ind1] < dmin {
                    dmin = diss[ind1];
                    jj = k;
                }
            } else if diss[ind1] < disnn[k] {
                // R's fix for non-monotone methods: i2 may become k's nearest neighbour.
                disnn[k] = diss[ind1];
                nn[k] = i2;
            }
        }
        membr[i2] += membr[j2];
        disnn[i2] = dmin;
        nn[i2] = jj;
        for i in 0..n - 1 {
            if flag[i] && (nn[i] == i2 || nn[i] == j2) {
                let mut dmin = INF;
                for j in (i + 1)..n {
                    if flag[j] {
                        let x = diss[idx(i, j)];
                        if x < dmin {
                            dmin = x;
                            jj = j;
                        }
                    }
                }
                nn[i] = jj;
                disnn[i] = dmin;
            }
        }
    }
    Tree { n, merges }
}

/// Cophenetic distances: the height at which two leaves first share a cluster.
pub fn cophenetic(tree: &Tree) -> Array2<f64> {
    let n = tree.n;
    let mut u = Array2::<f64>::zeros((n, n));
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    members.resize(2 * n.max(1) - 1, Vec::new());
    for (k, m) in tree.merges.iter().enumerate() {
        let a = std::mem::take(&mut members[m.a]);
        let b = std::mem::take(&mut members[m.b]);
        for &i in &a {
            for &j in &b {
                u[(i, j)] = m.height;
                u[(j, i)] = m.height;
            }
        }
        let mut ab = a;
        ab.extend(b);
        members[n + k] = ab;
    }
    u
}

/// Leaves of every node (`0..2n-1`), each in the tree's left-first order.
fn node_leaves(tree: &Tree) -> Vec<Vec<usize>> {
    let n = tree.n;
    let mut leaves: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    for m in &tree.merges {
        let mut v = leaves[m.a].clone();
        v.extend_from_slice(&leaves[m.b]);
        leaves.push(v);
    }
    leaves
}

/// Optimal leaf ordering (Bar-Joseph, Gifford & Jaakkola 2001, §2–3): among the
/// 2^(n−1) leaf orders consistent with `tree` (flipping children), the one with the
/// smallest sum of distances between neighbouring leaves, in O(n³).
///
/// For each internal node v = (L, R) and leaves i ∈ L, j ∈ R, M(v; i, j) is the
/// shortest path from i to j through all leaves of v (eq. 1). Each leaf pair has one
/// lowest common ancestor, so one n×n table holds M for all nodes. The order starts
/// in the root's left subtree, as in R's `order_optimal` (seriation src/optimal.c);
/// ties go to the first candidate in leaf order (R breaks them at random).
pub fn olo(tree: &Tree, d: ArrayView2<'_, f64>) -> Vec<usize> {
    let n = tree.n;
    if n < 3 {
        return tree.leaf_order();
    }
    let leaves = node_leaves(tree);
    let dd = |i: usize, j: usize| d[(i.max(j), i.min(j))];
    // m[i*n+j]: optimal path length from i to j within their LCA;
    // inner[i*n+j]: the leaf next to the L|R boundary on i's side on that path.
    let mut m = vec![0.0f64; n * n];
    let mut inner = vec![usize::MAX; n * n];
    // Leaves of the child subtree "opposite" to the one containing i, inside node v.
    let other = |v: usize, i: usize, leaves: &Vec<Vec<usize>>| -> Vec<usize> {
        if v < n {
            return vec![v];
        }
        let mg = &tree.merges[v - n];
        if leaves[mg.a].contains(&i) {
            leaves[mg.b].clone()
        } else {
            leaves[mg.a].clone()
        }
    };
    let mut tmp = vec![0.0f64; n * n];
    let mut tmp_arg = vec![0usize; n * n];
    for (k, mg) in tree.merges.iter().enumerate() {
        let _v = n + k;
        let (l, r) = (mg.a, mg.b);
        let (ll, rl) = (&leaves[l], &leaves[r]);
        // tmp(i, q) = min_{h ∈ other_L(i)} M(L; i, h) + d(h, q), for i ∈ L, q ∈ R.
        for &i in ll {
            let hs = other(l, i, &leaves);
            for &q in rl {
                let mut best = f64::INFINITY;
                let mut arg = usize::MAX;
                for &h in &hs {
                    let s = if l < n { 0.0 } else { m[i * n + h] } + dd(h, q);
                    if s < best {
                        best = s;
                        arg = h;
                    }
                }
                tmp[i * n + q] = best;
                tmp_arg[i * n + q] = arg;
            }
        }
        // M(v; i, j) = min_{q ∈ other_R(j)} tmp(i, q) + M(R; q, j).
        for &j in rl {
            let qs = other(r, j, &leaves);
            for &i in ll {
                let mut best = f64::INFINITY;
                let mut arg = usize::MAX;
                for &q in &qs {
                    let s = tmp[i * n + q] + if r < n { 0.0 } else { m[q * n + j] };
                    if s < best {
                        best = s;
                        arg = q;
                    }
                }
                m[i * n + j] = best;
                m[j * n + i] = best;
                inner[i * n + j] = tmp_arg[i * n + arg];
                inner[j * n + i] = arg;
            }
        }
    }
    let root = &tree.merges[n - 2];
    let (mut best, mut a, mut b) = (f64::INFINITY, 0, 0);
    for &i in &leaves[root.a] {
        for &j in &leaves[root.b] {
            if m[i * n + j] < best {
                best = m[i * n + j];
                a = i;
                b = j;
            }
        }
    }
    // Unroll: path(i, j) = path(i, inner[i][j]) ++ path(inner[j][i], j).
    let mut order = Vec::with_capacity(n);
    let mut stack = vec![(a, b)];
    while let Some((i, j)) = stack.pop() {
        if i == j {
            order.push(i);
            continue;
        }
        let (k, q) = (inner[i * n + j], inner[j * n + i]);
        stack.push((q, j));
        stack.push((i, k));
    }
    order
}

/// Gruvaeus & Wainer (1972) reordering, as R's `gclus::reorder.hclust`: at each
/// merge, flip the subclusters so that the objects at the joined ends are the
/// closest pair among the four candidate end pairs.
pub fn gruvaeus_wainer(tree: &Tree, d: ArrayView2<'_, f64>) -> Vec<usize> {
    let n = tree.n;
    if n < 3 {
        return tree.leaf_order();
    }
    // R merge notation: leaf j -> -(j+1), cluster n+k -> k+1. 1-based rows.
    let enc = |x: usize| -> i64 {
        if x < n {
            -(x as i64 + 1)
        } else {
            (x - n) as i64 + 1
        }
    };
    let nm = n - 1;
    let mut merges: Vec<[i64; 2]> = tree.merges.iter().map(|m| [enc(m.a), enc(m.b)]).collect();
    let dis = |a: i64, b: i64| d[((a - 1) as usize, (b - 1) as usize)];
    let mut endpoints = vec![[0i64; 2]; nm];
    let mut dir = vec![[1i32; 2]; nm];
    for i in 0..nm {
        let (j, k) = (merges[i][0], merges[i][1]);
        if j < 0 && k < 0 {
            endpoints[i] = [-j, -k];
        } else if j < 0 {
            let j = -j;
            endpoints[i][0] = j;
            let (e1, e2) = (
                endpoints[(k - 1) as usize][0],
                endpoints[(k - 1) as usize][1],
            );
            if dis(j, e1) < dis(j, e2) {
                endpoints[i][1] = e2;
            } else {
                endpoints[i][1] = e1;
                dir[i][1] = -1;
            }
        } else if k < 0 {
            let k = -k;
            endpoints[i][1] = k;
            let (e1, e2) = (
                endpoints[(j - 1) as usize][0],
                endpoints[(j - 1) as usize][1],
            );
            if dis(k, e1) < dis(k, e2) {
                endpoints[i][0] = e2;
                dir[i][0] = -1;
            } else {
                endpoints[i][0] = e1;
            }
        } else {
            let (ek1, ek2) = (
                endpoints[(k - 1) as usize][0],
                endpoints[(k - 1) as usize][1],
            );
            let (ej1, ej2) = (
                endpoints[(j - 1) as usize][0],
                endpoints[(j - 1) as usize][1],
            );
            let (d11, d12, d21, d22) = (dis(ej1, ek1), dis(ej1, ek2), dis(ej2, ek1), dis(ej2, ek2));
            let dmin = d11.min(d12).min(d21).min(d22);
            if dmin == d21 {
                endpoints[i] = [ej1, ek2];
            } else if dmin == d11 {
                endpoints[i] = [ej2, ek2];
                dir[i][0] = -1;
            } else if dmin == d12 {
                endpoints[i] = [ej2, ek1];
                dir[i] = [-1, -1];
            } else {
                endpoints[i] = [ej1, ek1];
                dir[i][1] = -1;
            }
        }
    }
    for i in (1..nm).rev() {
        for side in 0..2 {
            if dir[i][side] == -1 {
                let m = merges[i][side];
                if m > 0 {
                    let m = (m - 1) as usize;
                    merges[m].swap(0, 1);
                    if dir[m][0] == dir[m][1] {
                        dir[m] = [-dir[m][0], -dir[m][1]];
                    }
                }
            }
        }
    }
    let mut clusters: Vec<Vec<usize>> = Vec::with_capacity(nm);
    for i in 0..nm {
        let part = |x: i64, clusters: &Vec<Vec<usize>>| -> Vec<usize> {
            if x < 0 {
                vec![(-x - 1) as usize]
            } else {
                clusters[(x - 1) as usize].clone()
            }
        };
        let mut v = part(merges[i][0], &clusters);
        v.extend(part(merges[i][1], &clusters));
        clusters.push(v);
    }
    clusters.pop().expect("n >= 3")
}
