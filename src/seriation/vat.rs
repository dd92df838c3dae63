//! `VAT` (Bezdek & Hathaway 2002): Prim's minimum-spanning-tree insertion order,
//! starting from a row of the largest distance.

use super::Dm;

/// R's `seriate_dist_VAT`: start at the row of the first maximum in column-major
/// order; then repeatedly add the unselected object nearest to the selected set,
/// ties to the smallest index (R's `which(D2 == min(D2))[1]` in column-major order).
pub fn vat(d: &Dm) -> Vec<usize> {
    let n = d.n;
    let mut maxv = f64::NEG_INFINITY;
    let mut start = 0;
    for j in 0..n {
        for i in 0..n {
            if d.at(i, j) > maxv {
                maxv = d.at(i, j);
                start = i;
            }
        }
    }
    let mut sel = vec![false; n];
    let mut near = vec![f64::INFINITY; n];
    let mut order = Vec::with_capacity(n);
    let mut cur = start;
    for _ in 0..n {
        sel[cur] = true;
        order.push(cur);
        let row = d.row(cur);
        let mut best = f64::INFINITY;
        let mut next = usize::MAX;
        for c in 0..n {
            if sel[c] {
                continue;
            }
            if row[c] < near[c] {
                near[c] = row[c];
            }
            if near[c] < best {
                best = near[c];
                next = c;
            }
        }
        if next == usize::MAX {
            break;
        }
        cur = next;
    }
    order
}
