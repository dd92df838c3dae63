//! Tree builders and tree-fit measures for the ASRP variants (Schwendner et al.
//! 2021, see `shared/ASRP.md`): family 2's "other tree builders" (minimax,
//! DIANA, MST_community, flexible-β) and the fit measures of family 3 (clue's
//! distance-fit measures and mdendro's descriptors), plus the per-trial
//! candidate selection of families 3 and 4.
//!
//! Every builder takes the square distance matrix `d_ij = sqrt((1 − ρ_ij)/2)`
//! and returns a [`Tree`]. For the trees built here, `Merge.a` / `Merge.b` are
//! the left / right child *in display order* (not necessarily `a < b` as in
//! the kodama trees), so `Tree::leaf_order()` (depth first, `a` first) is the
//! reference package's leaf order. Merges are listed in agglomeration order
//! (non-decreasing height for all builders here), each one's children listed
//! before it.

pub mod diana;
pub mod fit;
pub mod flexible;
pub mod minimax;
pub mod mst_community;
pub mod select;

use crate::cluster::{Merge, Tree};

/// Rebuild a [`Tree`] from an R `hclust` merge matrix (1-based; negative =
/// leaf `-m - 1`, positive = the cluster created in row `m - 1`) and heights.
/// `a` / `b` are R's first / second column, so `leaf_order()` is R's `$order`
/// whenever R's order is the depth-first order of its merge matrix (hclust,
/// protoclust, diana, agnes, igraph's `as.hclust`).
pub fn tree_from_r_merge(n: usize, merge: &[[i64; 2]], height: &[f64]) -> Tree {
    assert_eq!(merge.len(), n.saturating_sub(1));
    assert_eq!(height.len(), merge.len());
    let mut size = vec![1usize; 2 * n.max(1) - 1];
    let node = |m: i64| -> usize {
        if m < 0 {
            (-m - 1) as usize
        } else {
            n + m as usize - 1
        }
    };
    let merges = merge
        .iter()
        .zip(height)
        .enumerate()
        .map(|(k, (row, &h))| {
            let (a, b) = (node(row[0]), node(row[1]));
            size[n + k] = size[a] + size[b];
            Merge {
                a,
                b,
                height: h,
                size: size[n + k],
            }
        })
        .collect();
    Tree { n, merges }
}

/// Put an agglomerative tree in R `hclust`'s canonical form (Murtagh's HCASS2,
/// also what `protoclust` produces): merges sorted by height (a stable sort, so
/// tied merges keep their agglomeration order), and in each merge a singleton
/// before a cluster, two singletons with the smaller index first, two clusters
/// with the earlier-created one first. `leaf_order()` of the result is R's
/// `$order`. The input's merges must list children before parents and have
/// non-decreasing heights along every root path (true for all monotone
/// linkages), so that the sorted list still does.
pub fn hclust_canonical(tree: &Tree) -> Tree {
    let n = tree.n;
    if n <= 1 {
        return tree.clone();
    }
    let mut perm: Vec<usize> = (0..n - 1).collect();
    perm.sort_by(|&x, &y| {
        tree.merges[x]
            .height
            .partial_cmp(&tree.merges[y].height)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    // new index of old merge k
    let mut rank = vec![0usize; n - 1];
    for (r, &k) in perm.iter().enumerate() {
        rank[k] = r;
    }
    let relabel = |c: usize| if c < n { c } else { n + rank[c - n] };
    let merges = perm
        .iter()
        .map(|&k| {
            let m = tree.merges[k];
            let (x, y) = (relabel(m.a), relabel(m.b));
            // singletons (< n) sort before clusters, both by label
            let (a, b) = if x <= y { (x, y) } else { (y, x) };
            Merge {
                a,
                b,
                height: m.height,
                size: m.size,
            }
        })
        .collect();
    Tree { n, merges }
}

/// The four "other tree builders" of ASRP family 2 with the ASRP settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtherTree {
    /// [`minimax::minimax`] (protoclust).
    Minimax,
    /// [`diana::diana`] (cluster::diana).
    Diana,
    /// [`mst_community::mst_community`] with [`mst_community::MstWeights::Similarity`].
    MstCommunity,
    /// [`flexible::flexible`] with β = −0.25 and
    /// [`flexible::FlexibleWeighting::Unweighted`]: mdendro's default
    /// (`weighted = FALSE`, size-weighted Lance–Williams coefficients, =
    /// agnes `gaverage`), since ASRP.md asks for flexible-β "as in R mdendro".
    Flexible,
}

impl OtherTree {
    pub const ALL: [OtherTree; 4] = [
        OtherTree::Minimax,
        OtherTree::Diana,
        OtherTree::MstCommunity,
        OtherTree::Flexible,
    ];

    /// Suggested `<tree>` part of `HRP_hcs_<tree>`.
    pub fn name(self) -> &'static str {
        match self {
            OtherTree::Minimax => "minimax",
            OtherTree::Diana => "diana",
            OtherTree::MstCommunity => "MST_community",
            OtherTree::Flexible => "flexible",
        }
    }

    /// Build the tree of a square distance matrix.
    pub fn build(self, d: ndarray::ArrayView2<'_, f64>) -> Tree {
        match self {
            OtherTree::Minimax => minimax::minimax(d).tree,
            OtherTree::Diana => diana::diana(d).tree,
            OtherTree::MstCommunity => {
                mst_community::mst_community(d, mst_community::MstWeights::Similarity).tree
            }
            OtherTree::Flexible => flexible::flexible(
                d,
                flexible::ASRP_BETA,
                flexible::FlexibleWeighting::Unweighted,
            ),
        }
    }
}
