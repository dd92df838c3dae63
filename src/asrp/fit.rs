//! Fit of a tree to the distances it was built from: the cophenetic
//! (ultrametric) matrix, clue's distance-fit measures (Hornik 2005) and
//! mdendro's descriptors (Fernández & Gómez 2020).
//!
//! All pairwise measures run over the `m = n(n−1)/2` pairs `i < j` (an R `dist`
//! object), never over the full square matrix, as clue does.

use ndarray::ArrayView2;

use crate::cluster::Tree;

/// Cophenetic matrix of a tree (R `cophenetic`), shared with the seriation code.
pub use crate::cluster::cophenetic;

/// clue's condition for a tree to have an ultrametric at all
/// (`is.cl_dendrogram.hclust`: `!is.unsorted(height)`): merge heights
/// non-decreasing in merge order. Trees with inversions (centroid, median)
/// fail it, and clue then returns NA for every measure; see
/// [`super::select::FitMeasure::eval`].
pub fn heights_sorted(tree: &Tree) -> bool {
    tree.merges.windows(2).all(|w| w[0].height <= w[1].height)
}

fn pairs<'a>(
    u: ArrayView2<'a, f64>,
    v: ArrayView2<'a, f64>,
) -> impl Iterator<Item = (f64, f64)> + 'a {
    let n = u.nrows();
    assert_eq!(v.dim(), (n, n));
    (0..n).flat_map(move |i| ((i + 1)..n).map(move |j| (u[(i, j)], v[(i, j)])))
}

/// clue `cl_dissimilarity(x, y, "euclidean")`: `sqrt(Σ_{i<j} (u_ij − v_ij)²)`.
pub fn euclidean(u: ArrayView2<'_, f64>, v: ArrayView2<'_, f64>) -> f64 {
    pairs(u, v)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt()
}

/// clue `cl_dissimilarity(x, y, "manhattan")`: `Σ_{i<j} |u_ij − v_ij|`.
pub fn manhattan(u: ArrayView2<'_, f64>, v: ArrayView2<'_, f64>) -> f64 {
    pairs(u, v).map(|(a, b)| (a - b).abs()).sum()
}

/// clue `cl_agreement(x, y, "cophenetic")`: Pearson correlation of the pairs
/// `(u_ij, v_ij)`, i < j (the cophenetic correlation of Sokal & Rohlf 1962).
/// clue's *dissimilarity* "cophenetic" is `1 − cor²`. Two-pass (centred) sums.
/// NaN when either side is constant.
pub fn cophenetic_correlation(u: ArrayView2<'_, f64>, v: ArrayView2<'_, f64>) -> f64 {
    let m = pairs(u, v).count() as f64;
    let (su, sv) = pairs(u, v).fold((0.0, 0.0), |(x, y), (a, b)| (x + a, y + b));
    let (mu, mv) = (su / m, sv / m);
    let (mut suv, mut suu, mut svv) = (0.0, 0.0, 0.0);
    for (a, b) in pairs(u, v) {
        let (x, y) = (a - mu, b - mv);
        suv += x * y;
        suu += x * x;
        svv += y * y;
    }
    suv / (suu.sqrt() * svv.sqrt())
}

/// clue `cl_dissimilarity(x, y, "gamma")`, clue's exact value: the C routine
/// `clue_dissimilarity_count_inversions` counts *ordered* pairs of pairs
/// `(p, q)`, p ≠ q, with `sign(u_p − u_q) · sign(v_p − v_q) < 0` (each
/// discordant unordered pair twice) and divides by `choose(m, 2)`. So this is
/// `2 · #discordant / choose(m, 2)`, twice the rate of inversions (Hubert's
/// Γ-type count, ties in either never count). Computed in O(m log m): sort the
/// pairs by (u, v), then count strict inversions of v by merge sort.
pub fn gamma(u: ArrayView2<'_, f64>, v: ArrayView2<'_, f64>) -> f64 {
    let mut p: Vec<(f64, f64)> = pairs(u, v).collect();
    let m = p.len();
    if m < 2 {
        return f64::NAN;
    }
    p.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
    let mut vals: Vec<f64> = p.into_iter().map(|x| x.1).collect();
    let mut buf = vec![0.0; m];
    let disc = count_strict_inversions(&mut vals, &mut buf);
    2.0 * disc as f64 / (m as f64 * (m as f64 - 1.0) / 2.0)
}

/// Number of index pairs i < j with `a[i] > a[j]` (strictly); sorts `a`.
fn count_strict_inversions(a: &mut [f64], buf: &mut [f64]) -> u64 {
    let n = a.len();
    if n < 2 {
        return 0;
    }
    let mid = n / 2;
    let mut c = {
        let (l, r) = a.split_at_mut(mid);
        let (bl, br) = buf.split_at_mut(mid);
        count_strict_inversions(l, bl) + count_strict_inversions(r, br)
    };
    let (mut i, mut j, mut k) = (0, mid, 0);
    while i < mid && j < n {
        if a[i] <= a[j] {
            buf[k] = a[i];
            i += 1;
        } else {
            buf[k] = a[j];
            c += (mid - i) as u64;
            j += 1;
        }
        k += 1;
    }
    buf[k..k + mid - i].copy_from_slice(&a[i..mid]);
    k += mid - i;
    buf[k..k + n - j].copy_from_slice(&a[j..n]);
    a.copy_from_slice(&buf[..n]);
    c
}

/// clue `cl_dissimilarity(x, y, "spectral")`: largest singular value of the
/// symmetric zero-diagonal matrix `u − v` (clue: `svd(as.matrix(u - v))$d[1]`),
/// computed as the largest |eigenvalue|.
pub fn spectral(u: ArrayView2<'_, f64>, v: ArrayView2<'_, f64>) -> f64 {
    let n = u.nrows();
    let mut w = &u - &v;
    for i in 0..n {
        w[(i, i)] = 0.0;
    }
    match crate::linalg::eigvalsh(w.view()) {
        Some(ev) if n > 0 => ev[0].abs().max(ev[n - 1].abs()),
        _ => f64::NAN,
    }
}

/// mdendro's space distortion ratio (Fernández & Gómez 2020, §5; mdendro
/// `linkage()$sdr`): `(max u − min u) / (max v − min v)` over the pairs i < j.
/// Values above 1 mean space dilation, below 1 contraction.
pub fn space_distortion_ratio(u: ArrayView2<'_, f64>, v: ArrayView2<'_, f64>) -> f64 {
    let (mut umin, mut umax, mut vmin, mut vmax) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (a, b) in pairs(u, v) {
        umin = umin.min(a);
        umax = umax.max(a);
        vmin = vmin.min(b);
        vmax = vmax.max(b);
    }
    (umax - umin) / (vmax - vmin)
}

/// Agglomerative coefficient (Rousseeuw 1986; Kaufman & Rousseeuw 1990 §5.5),
/// as mdendro computes it for distances: `ac = 1 − Σ_i h_i / (n · h_top)` with
/// `h_i` the height of the merge in which leaf `i` first joins a cluster and
/// `h_top` the height of the last merge. For monotone trees this equals
/// `cluster::coef.hclust` / agnes' `ac` (and diana's `dc` for a diana tree).
pub fn agglomerative_coefficient(tree: &Tree) -> f64 {
    let n = tree.n;
    if n < 2 {
        return f64::NAN;
    }
    let mut sum = 0.0;
    for m in &tree.merges {
        if m.a < n {
            sum += m.height;
        }
        if m.b < n {
            sum += m.height;
        }
    }
    let top = tree.merges[n - 2].height;
    1.0 - sum / (n as f64 * top)
}

/// Chaining coefficient (Williams, Lambert & Lance 1966; mdendro `cc`):
/// `Σ_merges |n_a − n_b| / ((n − 1)(n − 2)/2)`, the size difference of the two
/// merging clusters summed over all merges, divided by its maximum (reached by
/// a pure chain). 0 for n < 3.
pub fn chaining_coefficient(tree: &Tree) -> f64 {
    let n = tree.n;
    if n < 3 {
        return 0.0;
    }
    let size = node_sizes(tree);
    let diff: usize = tree
        .merges
        .iter()
        .map(|m| size[m.a].abs_diff(size[m.b]))
        .sum();
    diff as f64 / ((n - 2) * (n - 1) / 2) as f64
}

/// Tree balance (Fernández & Gómez 2020, §5; mdendro `tb`): the mean over the
/// n − 1 merges of the normalized Shannon entropy of the merging clusters'
/// sizes, `−Σ p ln p / ln 2` with `p = n_a/(n_a+n_b), n_b/(n_a+n_b)`; 1 for a
/// perfectly balanced tree.
pub fn tree_balance(tree: &Tree) -> f64 {
    let size = node_sizes(tree);
    let mut s = 0.0;
    for m in &tree.merges {
        let t = (size[m.a] + size[m.b]) as f64;
        let mut h = 0.0;
        for c in [size[m.a], size[m.b]] {
            let p = c as f64 / t;
            h -= p * p.ln();
        }
        s += h / 2f64.ln();
    }
    s / tree.merges.len() as f64
}

fn node_sizes(tree: &Tree) -> Vec<usize> {
    let n = tree.n;
    let mut size = vec![1usize; 2 * n.max(1) - 1];
    for (k, m) in tree.merges.iter().enumerate() {
        size[n + k] = size[m.a] + size[m.b];
    }
    size
}
