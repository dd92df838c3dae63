//! The registry of the 36 seriation methods R's `seriation` 1.4.1 registers for
//! `dist` objects (`list_seriation_methods("dist")`), under their R names, with R's
//! descriptions and default control parameters. corrmc adds budget parameters
//! (`max_nodes`, and phase-1 controls `starts`, `olo_seed`, `max_passes` for
//! `BBURCG`/`BBWRCG`, see [`bb`]; `max_evals` for `SA`): counts, never wall
//! time, so results stay reproducible. `QAP_*`, `ARSA`, `SPIN_*` and `SA` take
//! `polish` (default TRUE; SA: FALSE): a swap/insertion (SA: insertion) descent on
//! the method's own objective after R's algorithm ([`polish`]); and corrmc runs `QAP_*` with `rep = 3`,
//! `ARSA` with `reps = 2` and `SA` with `reps = 3` (R: 1; SA's `reps` is corrmc's). `polish = FALSE` with R's `rep`/`reps` is R's
//! algorithm as is (issue 11: corrmc's median criterion is then R's up to RNG).

use super::{
    Dm, Seriation, SeriationError, arsa, bb, hierarchical, polish, qap, spectral, spin, tsp,
    validate_dist, vat,
};
use ndarray::ArrayView2;
use rand::rngs::ChaCha8Rng;
use std::collections::BTreeMap;

/// A method of the registry.
#[derive(Clone, Debug)]
pub struct MethodInfo {
    /// R name (`seriate(x, method = name)`).
    pub name: &'static str,
    /// R's description.
    pub description: &'static str,
    /// Control parameters and their defaults, written as in R.
    pub control: Vec<(&'static str, String)>,
    /// Whether the result depends on the random stream.
    pub stochastic: bool,
}

type Row = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    bool,
);

const TABLE: &[Row] = &[
    ("ARSA", "Minimize the linear seriation criterion using simulated annealing (Brusco et al, 2008).
control parameters:
 - cool (cooling rate)
 - tmin (minimum temperature)
 - swap_to_inversion (proportion of swaps to inversions for local neighborhood search)
 - try_multiplier (local search tries per temperature; multiplied with the number of objects)
 - reps (repeat the algorithm with random initialization)", &[("cool", "0.5"), ("tmin", "0.0001"), ("swap_to_inversion", "0.5"), ("try_multiplier", "100"), ("reps", "2"), ("polish", "TRUE"), ("max_work", "2e9"), ("polish_work", "2e9")], true),
    ("BBURCG", "Minimize the unweighted row/column gradient by branch-and-bound (Brusco and Stahl 2005). This is only feasible for a relatively small number of objects.", &[("eps", "1e-07"), ("max_nodes", "400000000"), ("starts", "20"), ("olo_seed", "1"), ("max_passes", "0")], false),
    ("BBWRCG", "Minimize the weighted row/column gradient by branch-and-bound (Brusco and Stahl 2005). This is only feasible for a relatively small number of objects.", &[("eps", "1e-07"), ("max_nodes", "400000000"), ("starts", "20"), ("olo_seed", "1"), ("max_passes", "0")], false),
    ("GW", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering and reordered by the Gruvaeus and Wainer (1972) heuristic", &[("hclust", "NULL"), ("method", "complete")], false),
    ("GW_average", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering and reordered by the Gruvaeus and Wainer (1972) heuristic (avg.link)", &[], false),
    ("GW_complete", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering and reordered by the Gruvaeus and Wainer (1972) heuristic (complete link)", &[], false),
    ("GW_single", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering and reordered by the Gruvaeus and Wainer (1972) heuristic (single link)", &[], false),
    ("GW_ward", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering and reordered by the Gruvaeus and Wainer (1972) heuristic (Ward's method)", &[], false),
    ("HC", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering", &[("hclust", "NULL"), ("method", "complete")], false),
    ("HC_average", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering (avg. link).", &[], false),
    ("HC_complete", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering (complete link).", &[], false),
    ("HC_single", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering (single link)", &[], false),
    ("HC_ward", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering (Ward's method).", &[], false),
    ("Identity", "Identity permutation", &[], false),
    ("MDS", "Order using the first component found by multidimensional scaling. Element method in control can be \"cmdscale\", \"isoMDS\" or \"sammon\".", &[("method", "cmdscale")], false),
    ("MDS_angle", "Order by the angle in this space given by the first two components found by MDS (Friendly, 2002).", &[], false),
    ("MDS_metric", "Order using the first component found by metric multidimensional scaling (cmdscsale).", &[], false),
    ("MDS_nonmetric", "Order using the first component found by non-metric multidimensional scaling (isoMDS).", &[], false),
    ("OLO", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering and reordered by with optimal leaf ordering (Bar-Joseph et al., 2001)", &[("hclust", "NULL"), ("method", "complete")], false),
    ("OLO_average", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering and reordered by with optimal leaf ordering (Bar-Joseph et al., 2001) (avg. link)", &[], false),
    ("OLO_complete", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering and reordered by with optimal leaf ordering (Bar-Joseph et al., 2001) (complete link)", &[], false),
    ("OLO_single", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering and reordered by with optimal leaf ordering (Bar-Joseph et al., 2001) (single link)", &[], false),
    ("OLO_ward", "Using the order of the leaf nodes in a dendrogram obtained by hierarchical clustering and reordered by with optimal leaf ordering (Bar-Joseph et al., 2001) (Ward's method)", &[], false),
    ("QAP_2SUM", "Quadratic assignment problem formulation for seriation solved using a simulated annealing solver to minimize the 2-Sum Problem criterion (Barnard, Pothen, and Simon 1993). Control arguments are passed to qap in package qap.", &[("rep", "3"), ("miter", "2 * n"), ("fiter", "1.1"), ("ft", "0.5"), ("maxsteps", "50"), ("polish", "TRUE"), ("max_work", "2e9"), ("polish_work", "2e9")], true),
    ("QAP_BAR", "Quadratic assignment problem formulation for seriation solved using a simulated annealing solver to minimize the banded anti-Robinson form (BAR). Control argument b is the BAR bandwidth (either a function of n or a number). The default for b is n/5. Additional control arguments are passed to qap in package qap.", &[("b", "max(1, floor(n/5))"), ("rep", "3"), ("miter", "2 * n"), ("fiter", "1.1"), ("ft", "0.5"), ("maxsteps", "50"), ("polish", "TRUE"), ("max_work", "2e9"), ("polish_work", "2e9")], true),
    ("QAP_Inertia", "Quadratic assignment problem formulation for seriation solved using a simulated annealing solver to minimize the Inertia criterion. Control arguments are passed to qap in package qap.", &[("rep", "3"), ("miter", "2 * n"), ("fiter", "1.1"), ("ft", "0.5"), ("maxsteps", "50"), ("polish", "TRUE"), ("max_work", "2e9"), ("polish_work", "2e9")], true),
    ("QAP_LS", "Quadratic assignment problem formulation for seriation solved using a simulated annealing solver to minimize the Linear Seriation Problem (LS) criterion (Hubert and Schultz 1976).Control arguments are passed to qap in package qap.", &[("rep", "3"), ("miter", "2 * n"), ("fiter", "1.1"), ("ft", "0.5"), ("maxsteps", "50"), ("polish", "TRUE"), ("max_work", "2e9"), ("polish_work", "2e9")], true),
    ("R2E", "Rank-two ellipse seriation", &[], false),
    ("Random", "Random permutation", &[], true),
    ("SA", "Minimize a specified seriation measure (criterion) using simulated annealing.
Control parameters:
 - criterion to optimize
 - init (initial order; use \"Random\" for no warm start
 - localsearch (neighborhood function; Built-in functions are LS_insert, LS_swap, LS_reverse, and LS_mix (1/3 insertion, 1/3 swap and 1/3 reverse)
 - cool (cooling rate)
 - tmin (minimum temperature)
 - swap_to_inversion (proportion of swaps to inversions)
 - nlocal (number of objects times nlocal is the number of search tries per temperature", &[("criterion", "Gradient_raw"), ("init", "Spectral"), ("localsearch", "LS_insert"), ("cool", "0.5"), ("tmin", "0.0001"), ("nlocal", "10"), ("reps", "3"), ("max_evals", "200000"), ("polish", "FALSE")], true),
    ("Spectral", "Spectral seriation (Ding and He 2004)  uses a relaxation to minimize the 2-Sum Problem (Barnard, Pothen, and Simon 1993). It uses the order of the Fiedler vector of the similarity matrix's Laplacian.", &[], false),
    ("Spectral_norm", "Spectral seriation (Ding and He 2004)  uses a relaxation to minimize the 2-Sum Problem (Barnard, Pothen, and Simon 1993). It uses the order of the Fiedler vector of the similarity matrix's normalized Laplacian.", &[], false),
    ("SPIN_NH", "Sorting Points Into Neighborhoods (SPIN) (Tsafrir 2005). Nighborhood algorithm to concentrate low distance values around the diagonal with a Gaussian weight matrix W_{ij} = exp(-(i-j)^2/(n*sigma)), where n is the size of the dissimilarity matrix and sigma is the variance around the diagonal that control the influence of global (large sigma) or local (small sigma) structure.", &[("sigma", "seq(20, 1, length.out = 10)"), ("step", "5"), ("W_function", "NULL"), ("polish", "TRUE"), ("max_work", "2e10"), ("polish_work", "2e9")], true),
    ("SPIN_STS", "Sorting Points Into Neighborhoods (SPIN) (Tsafrir 2005). Side-to-Side algorithm which tries to push out large distance values.", &[("step", "25"), ("nstart", "10"), ("X", "1:n - (n + 1)/2"), ("polish", "TRUE"), ("max_work", "2e9"), ("polish_work", "2e9")], true),
    ("TSP", "Minimize Hamiltonian path length with a TSP solver (see solve_TSP in package TSP for available methods).", &[("method", "arbitrary insertion"), ("rep", "10"), ("two_opt", "TRUE"), ("max_work", "2e9")], true),
    ("VAT", "Visual assesment of clustering tendency (Bezdek and Hathaway (2002). Creates an order based on Prim's algorithm for finding a minimum spanning tree (MST) in a weighted connected graph representing the distance matrix. The order is given by the order in which the nodes (objects) are added to the MST.", &[], false),
];

/// All 36 methods, in R's (alphabetical) order.
pub fn methods() -> Vec<MethodInfo> {
    TABLE
        .iter()
        .map(|&(name, description, control, stochastic)| MethodInfo {
            name,
            description,
            control: control.iter().map(|&(k, v)| (k, v.to_string())).collect(),
            stochastic,
        })
        .collect()
}

/// Largest count control (R's `.Machine$integer.max`).
pub const MAX_COUNT: usize = 2_147_483_647;

/// Control parameter overrides, by R name (values as text: numbers, method or
/// criterion names). Unset parameters take the registry default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Control(pub BTreeMap<String, String>);

impl Control {
    pub fn new() -> Self {
        Control::default()
    }
    /// Sets `key` to `value` (builder style).
    pub fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.0.insert(key.to_string(), value.to_string());
        self
    }
    /// Parses `key=value` pairs (CLI `--control`).
    pub fn parse(pairs: &[String]) -> Result<Self, SeriationError> {
        let mut c = Control::new();
        for p in pairs {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| SeriationError::InvalidControl(format!("'{p}' is not key=value")))?;
            c.0.insert(k.trim().to_string(), v.trim().to_string());
        }
        Ok(c)
    }
    pub fn f64(&self, key: &str, default: f64) -> Result<f64, SeriationError> {
        match self.0.get(key) {
            None => Ok(default),
            Some(v) => v.parse::<f64>().map_err(|_| {
                SeriationError::InvalidControl(format!("{key} = '{v}' is not a number"))
            }),
        }
    }
    /// A count (repetitions, iterations, steps, a seed): an integer in `0..=MAX_COUNT`.
    /// R's controls are R integers, whose largest value is `MAX_COUNT`; larger values
    /// (e.g. `miter=1e19`) would only turn a budget into a run without end.
    pub fn usize(&self, key: &str, default: usize) -> Result<usize, SeriationError> {
        let x = self.f64(key, default as f64)?;
        if !(x >= 0.0 && x.fract() == 0.0 && x <= MAX_COUNT as f64) {
            return Err(SeriationError::InvalidControl(format!(
                "{key} = {x} is not an integer between 0 and {MAX_COUNT}"
            )));
        }
        Ok(x as usize)
    }
    pub fn str<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.0.get(key).map(String::as_str).unwrap_or(default)
    }
    fn check_keys(&self, name: &str) -> Result<(), SeriationError> {
        let row = TABLE.iter().find(|r| r.0 == name).expect("registered");
        for k in self.0.keys() {
            if !row.2.iter().any(|(c, _)| c == k) {
                let known: Vec<&str> = row.2.iter().map(|c| c.0).collect();
                return Err(SeriationError::InvalidControl(format!(
                    "{name} has no control parameter '{k}' (known: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        }
        Ok(())
    }
}

/// Seriates distance matrix `d` with method `name` (R name) and R's default controls.
pub fn seriate(
    name: &str,
    d: ArrayView2<'_, f64>,
    rng: &mut ChaCha8Rng,
) -> Result<Seriation, SeriationError> {
    seriate_with(name, d, rng, &Control::default())
}

/// As [`seriate`], with control parameters overriding the defaults.
pub fn seriate_with(
    name: &str,
    d: ArrayView2<'_, f64>,
    rng: &mut ChaCha8Rng,
    control: &Control,
) -> Result<Seriation, SeriationError> {
    if !TABLE.iter().any(|r| r.0 == name) {
        return Err(SeriationError::UnknownMethod(name.to_string()));
    }
    control.check_keys(name)?;
    validate_dist(d)?;
    let dm = Dm::new(d);
    let n = dm.n;
    if n <= 2 && name != "Random" {
        // Every order of 0, 1 or 2 objects is equivalent; R returns the identity.
        return Ok(Seriation::plain((0..n).collect()));
    }
    dispatch(name, &dm, rng, control)
}

fn dispatch(
    name: &str,
    d: &Dm,
    rng: &mut ChaCha8Rng,
    c: &Control,
) -> Result<Seriation, SeriationError> {
    use crate::cluster::Linkage;
    let hc = |l: Linkage| hierarchical::hc_method(d, l);
    let plain = |o: Vec<usize>| Ok(Seriation::plain(o));
    let linkage = |c: &Control| Linkage::from_r_name(c.str("method", "complete"));
    match name {
        "HC" => plain(hierarchical::hc_method(d, linkage(c)?)),
        "HC_average" => plain(hc(Linkage::Average)),
        "HC_complete" => plain(hc(Linkage::Complete)),
        "HC_single" => plain(hc(Linkage::Single)),
        "HC_ward" => plain(hc(Linkage::WardD2)),
        "GW" => plain(hierarchical::gw_method(d, linkage(c)?)),
        "GW_average" => plain(hierarchical::gw_method(d, Linkage::Average)),
        "GW_complete" => plain(hierarchical::gw_method(d, Linkage::Complete)),
        "GW_single" => plain(hierarchical::gw_method(d, Linkage::Single)),
        "GW_ward" => plain(hierarchical::gw_method(d, Linkage::WardD2)),
        "OLO" => plain(hierarchical::olo_method(d, linkage(c)?)),
        "OLO_average" => plain(hierarchical::olo_method(d, Linkage::Average)),
        "OLO_complete" => plain(hierarchical::olo_method(d, Linkage::Complete)),
        "OLO_single" => plain(hierarchical::olo_method(d, Linkage::Single)),
        "OLO_ward" => plain(hierarchical::olo_method(d, Linkage::WardD2)),
        "VAT" => plain(vat::vat(d)),
        "Identity" => plain((0..d.n).collect()),
        "Random" => plain(super::random_permutation(d.n, rng)),
        "Spectral" => plain(spectral::spectral(d)?),
        "Spectral_norm" => plain(spectral::spectral_norm(d)?),
        "MDS" => match c.str("method", "cmdscale") {
            "cmdscale" => plain(spectral::mds_metric(d)?),
            "isoMDS" => plain(spectral::mds_nonmetric(d)?),
            m => Err(SeriationError::InvalidControl(format!(
                "MDS method '{m}' (corrmc has cmdscale, isoMDS)"
            ))),
        },
        "MDS_metric" => plain(spectral::mds_metric(d)?),
        "MDS_angle" => plain(spectral::mds_angle(d)?),
        "MDS_nonmetric" => plain(spectral::mds_nonmetric(d)?),
        "R2E" => plain(spectral::r2e(d)?),
        "QAP_2SUM" | "QAP_BAR" | "QAP_Inertia" | "QAP_LS" => qap::qap_method(name, d, rng, c),
        "ARSA" => polish::finish(name, d, c, arsa::arsa(d, rng, c)?),
        "SA" => arsa::sa(d, rng, c),
        "SPIN_NH" => polish::finish(name, d, c, spin::spin_nh(d, rng, c)?),
        "SPIN_STS" => polish::finish(name, d, c, spin::spin_sts(d, rng, c)?),
        "TSP" => tsp::tsp(d, rng, c),
        "BBURCG" => bb::bb(d, rng, c, false),
        "BBWRCG" => bb::bb(d, rng, c, true),
        _ => Err(SeriationError::UnknownMethod(name.to_string())),
    }
}

/// Seriation of an already validated matrix with default controls (SA's `init`).
pub(crate) fn seriate_dm(
    name: &str,
    d: &Dm,
    rng: &mut ChaCha8Rng,
) -> Result<Seriation, SeriationError> {
    if !TABLE.iter().any(|r| r.0 == name) {
        return Err(SeriationError::UnknownMethod(name.to_string()));
    }
    dispatch(name, d, rng, &Control::default())
}
