//! Stylized facts of empirical correlation matrices (Marti, "CorrGAN", ICASSP 2020, §4;
//! Marti et al., "A review of two decades of correlations, hierarchies, networks and
//! clustering in financial markets", 2021), computed per matrix and summarized over a sample:
//!
//! * mean off-diagonal correlation (empirical matrices: clearly positive);
//! * share of variance of the first eigenvalue, `λ_max / n` (the "market mode");
//! * whether the first eigenvector is one-signed (Perron–Frobenius property of a market mode);
//! * degree distribution of the minimum spanning tree of `d_ij = sqrt(2(1 − ρ_ij))`
//!   (empirical MSTs are scale-free-like: many leaves, a few hubs);
//! * cophenetic correlation of the single- and average-linkage trees on the same distance
//!   (how well a hierarchy describes the matrix).

use crate::cluster::{KodamaLinkage, Tree};
use ndarray::{Array2, ArrayView2};
use serde::Serialize;

/// The facts of one matrix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatrixFacts {
    pub mean_corr: f64,
    pub first_eig_share: f64,
    pub first_evec_one_signed: bool,
    /// Perron–Frobenius share: the fraction of first-eigenvector loadings with the sign of
    /// their sum (1 when the "market mode" loads every asset the same way).
    pub pf_share: f64,
    /// Degree of each node in the MST.
    pub mst_degrees: Vec<usize>,
    pub cophenetic_single: f64,
    pub cophenetic_average: f64,
}

/// `sqrt(2(1 − ρ_ij))`, clipped at 0 against round-off.
pub fn mantegna_distance(corr: ArrayView2<'_, f64>) -> Array2<f64> {
    let n = corr.nrows();
    Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            0.0
        } else {
            (2.0 * (1.0 - corr[(i, j)])).max(0.0).sqrt()
        }
    })
}

/// Node degrees of the minimum spanning tree of a dense distance matrix (Prim, O(n²)).
pub fn mst_degrees(d: ArrayView2<'_, f64>) -> Vec<usize> {
    let n = d.nrows();
    let mut deg = vec![0usize; n];
    if n < 2 {
        return deg;
    }
    let mut in_tree = vec![false; n];
    let mut best = vec![f64::INFINITY; n];
    let mut parent = vec![0usize; n];
    in_tree[0] = true;
    for j in 1..n {
        best[j] = d[(0, j)];
    }
    for _ in 1..n {
        let (mut k, mut bk) = (usize::MAX, f64::INFINITY);
        for j in 0..n {
            if !in_tree[j] && (best[j] < bk || k == usize::MAX) {
                k = j;
                bk = best[j];
            }
        }
        in_tree[k] = true;
        deg[k] += 1;
        deg[parent[k]] += 1;
        for j in 0..n {
            if !in_tree[j] && d[(k, j)] < best[j] {
                best[j] = d[(k, j)];
                parent[j] = k;
            }
        }
    }
    deg
}

/// Cophenetic distances of a tree: height of the merge that first joins `i` and `j`.
pub fn cophenetic(tree: &Tree) -> Array2<f64> {
    let n = tree.n;
    let mut c = Array2::<f64>::zeros((n, n));
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    for m in &tree.merges {
        let (a, b) = (
            std::mem::take(&mut members[m.a]),
            std::mem::take(&mut members[m.b]),
        );
        for &i in &a {
            for &j in &b {
                c[(i, j)] = m.height;
                c[(j, i)] = m.height;
            }
        }
        let mut joined = a;
        joined.extend(b);
        members.push(joined);
    }
    c
}

/// Pearson correlation of the upper triangles of two matrices.
fn upper_pearson(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let n = a.nrows();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for i in 0..n {
        for j in i + 1..n {
            xs.push(a[(i, j)]);
            ys.push(b[(i, j)]);
        }
    }
    let m = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / m, ys.iter().sum::<f64>() / m);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(&ys) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// Cophenetic correlation coefficient of a linkage on distance `d` (scipy `cophenet`).
pub fn cophenetic_correlation(d: ArrayView2<'_, f64>, method: KodamaLinkage) -> f64 {
    let tree = Tree::kodama(d, method);
    upper_pearson(&d.to_owned(), &cophenetic(&tree))
}

/// Display order of a correlation matrix: Ward (R `ward.D2`) tree on `sqrt(2(1 − ρ))`,
/// reordered by optimal leaf ordering (Bar-Joseph, Gifford & Jaakkola 2001). For display only:
/// nothing in a study depends on asset order.
pub fn display_order(corr: ArrayView2<'_, f64>) -> Vec<usize> {
    let d = mantegna_distance(corr);
    crate::cluster::olo(
        &crate::cluster::hclust(d.view(), crate::cluster::Linkage::WardD2),
        d.view(),
    )
}

/// `corr[order, order]`.
pub fn permute(corr: ArrayView2<'_, f64>, order: &[usize]) -> Array2<f64> {
    Array2::from_shape_fn((order.len(), order.len()), |(i, j)| {
        corr[(order[i], order[j])]
    })
}

/// All facts of one correlation matrix.
pub fn matrix_facts(corr: ArrayView2<'_, f64>) -> MatrixFacts {
    let n = corr.nrows();
    let off: f64 = corr.iter().sum::<f64>() - corr.diag().sum();
    let mean_corr = off / (n * (n - 1)) as f64;
    let (vals, vecs) =
        crate::linalg::eigh(corr).expect("eigendecomposition of a correlation matrix");
    let v1 = vecs.column(n - 1);
    let one_signed = v1.iter().all(|&x| x >= 0.0) || v1.iter().all(|&x| x <= 0.0);
    let sign = if v1.sum() >= 0.0 { 1.0 } else { -1.0 };
    let pf_share = v1.iter().filter(|&&x| x * sign >= 0.0).count() as f64 / n as f64;
    let d = mantegna_distance(corr);
    MatrixFacts {
        mean_corr,
        first_eig_share: vals[n - 1] / n as f64,
        first_evec_one_signed: one_signed,
        pf_share,
        mst_degrees: mst_degrees(d.view()),
        cophenetic_single: cophenetic_correlation(d.view(), KodamaLinkage::Single),
        cophenetic_average: cophenetic_correlation(d.view(), KodamaLinkage::Average),
    }
}

/// Summary statistics of a scalar over the sample.
#[derive(Clone, Debug, Serialize)]
pub struct Dist {
    pub mean: f64,
    pub std: f64,
    pub q05: f64,
    pub q25: f64,
    pub q50: f64,
    pub q75: f64,
    pub q95: f64,
}

impl Dist {
    pub fn of(values: &[f64]) -> Dist {
        let mut v: Vec<f64> = values.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let m = v.len() as f64;
        let mean = v.iter().sum::<f64>() / m;
        let var = if v.len() > 1 {
            v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (m - 1.0)
        } else {
            0.0
        };
        // Linear interpolation between order statistics (numpy's default quantile).
        let q = |p: f64| {
            let h = p * (m - 1.0);
            let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
            v[lo] + (h - lo as f64) * (v[hi] - v[lo])
        };
        Dist {
            mean,
            std: var.sqrt(),
            q05: q(0.05),
            q25: q(0.25),
            q50: q(0.5),
            q75: q(0.75),
            q95: q(0.95),
        }
    }
}

/// Stylized facts of a sample of matrices.
#[derive(Clone, Debug, Serialize)]
pub struct FactsSummary {
    pub label: String,
    pub count: usize,
    pub n: usize,
    pub mean_corr: Dist,
    pub first_eig_share: Dist,
    pub frac_one_signed_first_evec: f64,
    pub pf_share: Dist,
    /// Pooled MST degree distribution: share of nodes with degree 1, 2, 3, 4, 5–9, ≥ 10.
    pub mst_degree_shares: [f64; 6],
    pub mst_max_degree: Dist,
    pub cophenetic_single: Dist,
    pub cophenetic_average: Dist,
    /// Per-matrix values of each fact in [`KS_FACTS`] order, for two-sample comparisons.
    #[serde(skip)]
    pub values: Vec<Vec<f64>>,
    /// Two-sample Kolmogorov–Smirnov comparison with the first target (absent for it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ks_vs_first: Vec<KsResult>,
}

/// The facts compared between samples by the two-sample KS test.
pub const KS_FACTS: [&str; 6] = [
    "mean correlation",
    "first eigenvalue share",
    "Perron-Frobenius share",
    "MST max degree",
    "cophenetic corr, single",
    "cophenetic corr, average",
];

/// A two-sample Kolmogorov–Smirnov statistic with its asymptotic p-value.
#[derive(Clone, Debug, Serialize)]
pub struct KsResult {
    pub fact: &'static str,
    pub d: f64,
    pub p_value: f64,
}

/// Two-sample KS statistic D = sup |F_a − F_b| (exact, ties handled by evaluating both ECDFs
/// after each distinct value) and the asymptotic p-value Q_KS((√m + 0.12 + 0.11/√m)·D) with
/// m = n_a·n_b/(n_a + n_b) (Stephens 1970; Numerical Recipes §14.3).
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut x: Vec<f64> = a.to_vec();
    let mut y: Vec<f64> = b.to_vec();
    x.sort_by(f64::total_cmp);
    y.sort_by(f64::total_cmp);
    let (na, nb) = (x.len(), y.len());
    if na == 0 || nb == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0f64);
    while i < na && j < nb {
        let v = x[i].min(y[j]);
        while i < na && x[i] <= v {
            i += 1;
        }
        while j < nb && y[j] <= v {
            j += 1;
        }
        d = d.max((i as f64 / na as f64 - j as f64 / nb as f64).abs());
    }
    let m = (na * nb) as f64 / (na + nb) as f64;
    let lambda = (m.sqrt() + 0.12 + 0.11 / m.sqrt()) * d;
    // The alternating series converges fast for λ ≳ 0.3; below, Q_KS(λ) is 1 to 1e-7
    // (and the series does not converge in 100 terms): p = 1 then, as in Numerical Recipes.
    let mut p = 0.0;
    for k in 1..=100 {
        let term = 2.0 * (-1f64).powi(k - 1) * (-2.0 * (k as f64 * lambda).powi(2)).exp();
        p += term;
        if term.abs() < 1e-12 {
            return (d, p.clamp(0.0, 1.0));
        }
    }
    (d, 1.0)
}

/// Fills `ks_vs_first` of every summary after the first.
pub fn compare_to_first(summaries: &mut [FactsSummary]) {
    if summaries.len() < 2 {
        return;
    }
    let first = summaries[0].values.clone();
    for s in summaries.iter_mut().skip(1) {
        s.ks_vs_first = KS_FACTS
            .iter()
            .enumerate()
            .map(|(k, fact)| {
                let (d, p_value) = ks_two_sample(&first[k], &s.values[k]);
                KsResult { fact, d, p_value }
            })
            .collect();
    }
}

pub const DEGREE_BINS: [&str; 6] = ["1", "2", "3", "4", "5-9", ">=10"];

/// Summarizes per-matrix facts.
pub fn summarize(label: &str, n: usize, facts: &[MatrixFacts]) -> FactsSummary {
    let col = |f: &dyn Fn(&MatrixFacts) -> f64| facts.iter().map(f).collect::<Vec<f64>>();
    let mut bins = [0usize; 6];
    let mut total = 0usize;
    for f in facts {
        for &d in &f.mst_degrees {
            let b = match d {
                0 | 1 => 0,
                2..=4 => d - 1,
                5..=9 => 4,
                _ => 5,
            };
            bins[b] += 1;
            total += 1;
        }
    }
    FactsSummary {
        label: label.to_string(),
        count: facts.len(),
        n,
        mean_corr: Dist::of(&col(&|f| f.mean_corr)),
        first_eig_share: Dist::of(&col(&|f| f.first_eig_share)),
        frac_one_signed_first_evec: facts.iter().filter(|f| f.first_evec_one_signed).count() as f64
            / facts.len() as f64,
        mst_degree_shares: bins.map(|b| b as f64 / total.max(1) as f64),
        mst_max_degree: Dist::of(&col(&|f| *f.mst_degrees.iter().max().unwrap_or(&0) as f64)),
        cophenetic_single: Dist::of(&col(&|f| f.cophenetic_single)),
        cophenetic_average: Dist::of(&col(&|f| f.cophenetic_average)),
        pf_share: Dist::of(&col(&|f| f.pf_share)),
        values: vec![
            col(&|f| f.mean_corr),
            col(&|f| f.first_eig_share),
            col(&|f| f.pf_share),
            col(&|f| *f.mst_degrees.iter().max().unwrap_or(&0) as f64),
            col(&|f| f.cophenetic_single),
            col(&|f| f.cophenetic_average),
        ],
        ks_vs_first: Vec::new(),
    }
}

/// Text table of one or more summaries (one column per source).
pub fn render_table(summaries: &[FactsSummary]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    // Wide enough for "16.230 ± 1.523 [14.000, 19.000]" or the longest label, plus a gap.
    let w = summaries
        .iter()
        .map(|x| {
            format!("{} (N={}, n={})", x.label, x.count, x.n)
                .chars()
                .count()
                + 2
        })
        .max()
        .unwrap_or(0)
        .max(34);
    let _ = write!(s, "{:<42}", "stylized fact");
    for x in summaries {
        let _ = write!(
            s,
            "{:>w$}",
            format!("{} (N={}, n={})", x.label, x.count, x.n)
        );
    }
    s.push('\n');
    let mut row = |name: &str, f: &dyn Fn(&FactsSummary) -> String| {
        let _ = write!(s, "{name:<42}");
        for x in summaries {
            let _ = write!(s, "{:>w$}", f(x));
        }
        s.push('\n');
    };
    let dist = |d: &Dist| format!("{:.3} ± {:.3} [{:.3}, {:.3}]", d.mean, d.std, d.q05, d.q95);
    row("mean correlation", &|x| dist(&x.mean_corr));
    row("  median", &|x| format!("{:.3}", x.mean_corr.q50));
    row("first eigenvalue share λ1/n", &|x| {
        dist(&x.first_eig_share)
    });
    row("  median", &|x| format!("{:.3}", x.first_eig_share.q50));
    row("one-signed first eigenvector", &|x| {
        format!("{:.3}", x.frac_one_signed_first_evec)
    });
    row("Perron-Frobenius share", &|x| dist(&x.pf_share));
    for (k, bin) in DEGREE_BINS.iter().enumerate() {
        row(&format!("MST degree {bin} (share of nodes)"), &|x| {
            format!("{:.3}", x.mst_degree_shares[k])
        });
    }
    row("MST max degree", &|x| dist(&x.mst_max_degree));
    row("cophenetic corr, single", &|x| dist(&x.cophenetic_single));
    row("cophenetic corr, average", &|x| dist(&x.cophenetic_average));
    if summaries.len() > 1 {
        for (k, fact) in KS_FACTS.iter().enumerate() {
            row(
                &format!("KS D vs first: {fact}"),
                &|x| match x.ks_vs_first.get(k) {
                    Some(r) => format!("{:.3} (p {:.1e})", r.d, r.p_value),
                    None => "-".into(),
                },
            );
        }
    }
    s.push_str("(mean ± std [5%, 95%] over matrices; MST on sqrt(2(1-rho)); KS: two-sample Kolmogorov-Smirnov D against the first column, asymptotic p)\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn ks_statistic_by_hand() {
        // Disjoint samples: D = 1; shifted by half the support: D = 1/2; identical: D = 0.
        assert_eq!(ks_two_sample(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).0, 1.0);
        assert_eq!(
            ks_two_sample(&[1.0, 2.0, 3.0, 4.0], &[3.0, 4.0, 5.0, 6.0]).0,
            0.5
        );
        let (d, p) = ks_two_sample(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 2.0, 3.0]);
        assert_eq!((d, p), (0.0, 1.0));
        // Ties across samples are evaluated after the tied value: F_a(2) = 3/4, F_b(2) = 1/4.
        assert_eq!(
            ks_two_sample(&[1.0, 2.0, 2.0, 9.0], &[2.0, 5.0, 6.0, 7.0]).0,
            0.5
        );
    }

    #[test]
    fn mst_of_a_star_and_a_chain() {
        // Node 0 close to everyone: a star, degree n-1 at 0.
        let c = array![
            [1.0, 0.9, 0.9, 0.9],
            [0.9, 1.0, 0.1, 0.1],
            [0.9, 0.1, 1.0, 0.1],
            [0.9, 0.1, 0.1, 1.0]
        ];
        assert_eq!(
            mst_degrees(mantegna_distance(c.view()).view()),
            vec![3, 1, 1, 1]
        );
        let chain = array![
            [1.0, 0.9, 0.1, 0.0],
            [0.9, 1.0, 0.8, 0.1],
            [0.1, 0.8, 1.0, 0.7],
            [0.0, 0.1, 0.7, 1.0]
        ];
        assert_eq!(
            mst_degrees(mantegna_distance(chain.view()).view()),
            vec![1, 2, 2, 1]
        );
    }

    #[test]
    fn cophenetic_of_an_ultrametric_is_one() {
        // An ultrametric distance is reproduced exactly by single and average linkage.
        let d = array![
            [0.0, 1.0, 3.0, 3.0],
            [1.0, 0.0, 3.0, 3.0],
            [3.0, 3.0, 0.0, 2.0],
            [3.0, 3.0, 2.0, 0.0]
        ];
        for m in [KodamaLinkage::Single, KodamaLinkage::Average] {
            assert!((cophenetic_correlation(d.view(), m) - 1.0).abs() < 1e-12);
        }
        let t = Tree::kodama(d.view(), KodamaLinkage::Single);
        assert_eq!(cophenetic(&t), d);
    }

    #[test]
    fn display_order_groups_blocks() {
        // Two blocks interleaved (0,2,4 | 1,3,5): the display order keeps each block contiguous.
        let c = Array2::from_shape_fn((6, 6), |(i, j)| {
            if i == j {
                1.0
            } else if i % 2 == j % 2 {
                0.7
            } else {
                0.1
            }
        });
        let order = display_order(c.view());
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, (0..6).collect::<Vec<_>>());
        let parity: Vec<usize> = order.iter().map(|i| i % 2).collect();
        assert!(
            parity[..3].iter().all(|&p| p == parity[0])
                && parity[3..].iter().all(|&p| p != parity[0]),
            "{order:?}"
        );
        let p = permute(c.view(), &order);
        assert_eq!(p[(0, 1)], 0.7);
    }

    #[test]
    fn facts_of_equicorrelation() {
        let n = 5;
        let c = Array2::from_shape_fn((n, n), |(i, j)| if i == j { 1.0 } else { 0.4 });
        let f = matrix_facts(c.view());
        assert!((f.mean_corr - 0.4).abs() < 1e-14);
        assert!((f.first_eig_share - (1.0 + 0.4 * 4.0) / 5.0).abs() < 1e-12);
        assert!(f.first_evec_one_signed);
        assert_eq!(f.mst_degrees.iter().sum::<usize>(), 2 * (n - 1));
    }
}
