//! `HC*`, `GW*`, `OLO*`: leaf orders of R `hclust` trees (seriation's
//! `seriate_dist_hc`, `seriate_dist_gw`, `seriate_dist_olo`). `HC`, `GW` and `OLO`
//! take control `method` (default `"complete"`); the `_ward` variants use `ward.D2`.

use super::Dm;
use crate::cluster::{Linkage, gruvaeus_wainer, hclust, olo};

/// `HC_*`: the dendrogram's leaf order (R `hclust(d, method)$order`).
pub fn hc_method(d: &Dm, l: Linkage) -> Vec<usize> {
    hclust(d.to_array().view(), l).leaf_order()
}

/// `GW_*`: the tree reordered by Gruvaeus & Wainer (1972).
pub fn gw_method(d: &Dm, l: Linkage) -> Vec<usize> {
    let a = d.to_array();
    gruvaeus_wainer(&hclust(a.view(), l), a.view())
}

/// `OLO_*`: the tree's optimal leaf ordering (Bar-Joseph et al. 2001).
pub fn olo_method(d: &Dm, l: Linkage) -> Vec<usize> {
    let a = d.to_array();
    olo(&hclust(a.view(), l), a.view())
}
