//! Adaptive Seriational Risk Parity (Schwendner, Papenbrock, Jaeger & Krügel,
//! "Adaptive Seriational Risk Parity and Other Extensions for Heuristic
//! Portfolio Construction Using Machine Learning and Graph Theory", J. Financial
//! Data Science 3(4), 2021).
//!
//! Every variant is HRP with another quasi-diagonalization: an ordering step
//! ([`Step`]) followed by HRP's unchanged recursive bisection
//! ([`super::hrp::recursive_bisection`]). Four families (names as in
//! `shared/ASRP.md`; distance everywhere `d = sqrt((1 − ρ)/2)`):
//!
//! 1. `HRP_ser_<method>`: an R `seriation` method on `d` (21 non-tree methods);
//! 2. `HRP_hcs_<tree>`: the leaf order of one fixed tree builder (19);
//! 3. `HRP_hcs-adaptive_<clue|mdendro>_<measure>`: per trial, the candidate tree
//!    whose ultrametric best fits `d` (9);
//! 4. `HRP_hcs-adaptive_criterions_<criterion>_<min|max>`: per trial, the candidate
//!    order that optimizes a seriation criterion on `d` (8).
//!
//! The 20 candidates of the adaptive families are `single` followed by the 19 trees
//! of family 2, in [`CANDIDATES`] order; ties go to the earlier candidate. Each
//! candidate is built at most once per estimate and shared by all variants
//! ([`Cache`]). Linkage trees use R `hclust` (merge order and leaf order as R),
//! including `single` (R's order, which may differ from classical `HRP`'s scipy
//! order for the same tree).

use super::hrp::recursive_bisection;
use super::{Allocator, Context, Estimate};
use crate::asrp::OtherTree;
use crate::asrp::select::{Direction, FitMeasure, select_best};
use crate::cluster::{Linkage, Tree, cophenetic, gruvaeus_wainer, hclust, olo};
use crate::error::{MethodError, MethodErrorKind};
use crate::seriation::{self, Control};
use ndarray::{Array1, Array2};
use std::cell::OnceCell;

/// Family 1: the 21 non-tree seriation methods of R `seriation` for `dist`.
pub const SERIATION_METHODS: [&str; 21] = [
    "ARSA",
    "BBURCG",
    "BBWRCG",
    "Identity",
    "MDS",
    "MDS_angle",
    "MDS_metric",
    "MDS_nonmetric",
    "QAP_2SUM",
    "QAP_BAR",
    "QAP_Inertia",
    "QAP_LS",
    "R2E",
    "Random",
    "SA",
    "Spectral",
    "Spectral_norm",
    "SPIN_NH",
    "SPIN_STS",
    "TSP",
    "VAT",
];

/// The 20 candidate trees of the adaptive families, in tie-breaking order:
/// `single`, then family 2.
pub const CANDIDATES: [&str; 20] = [
    "single",
    "complete",
    "average",
    "mcquitty",
    "ward.D",
    "ward.D2",
    "centroid",
    "median",
    "GW_single",
    "GW_complete",
    "GW_average",
    "GW_ward",
    "OLO_single",
    "OLO_complete",
    "OLO_average",
    "OLO_ward",
    "minimax",
    "DIANA",
    "MST_community",
    "flexible",
];

/// Family 4: seriation criteria and their direction.
pub const CRITERIA: [(&str, bool); 8] = [
    ("AR_events", false),
    ("AR_deviations", false),
    ("Gradient_raw", true),
    ("Gradient_weighted", true),
    ("Inertia", true),
    ("Least_squares", false),
    ("Path_length", false),
    ("BAR", false),
];

/// Controls of `HRP_ser_BBURCG` / `HRP_ser_BBWRCG` inside a study (R's defaults
/// remain those of `corrmc seriate`): no random starts, the OLO(average) seed
/// improved by two interchange passes, 1e5 units of branch-and-bound work.
pub const STUDY_BB_CONTROL: [(&str, &str); 3] = [
    ("starts", "0"),
    ("max_passes", "2"),
    ("max_nodes", "100000"),
];

/// How a variant orders the assets.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// An R seriation method by name (family 1).
    Seriation(&'static str),
    /// Candidate `i` of [`CANDIDATES`] (family 2; `single` only inside adaptive sets).
    Candidate(usize),
    /// The candidate whose tree best fits `d` by a clue or mdendro measure (family 3).
    Fit(FitMeasure),
    /// The candidate whose order optimizes a seriation criterion (family 4).
    Criterion { name: &'static str, maximize: bool },
}

/// A candidate's leaf order.
struct Candidate {
    order: Vec<usize>,
}

/// Number of distinct trees behind the 20 candidates: the 8 R `hclust` linkages
/// (GW_* and OLO_* only reorder their leaves) and the 4 other builders.
const TREES: usize = 12;

/// Per-estimate lazy cache: each tree, candidate order and cophenetic matrix is
/// computed at most once per trial, whatever number of variants use it.
pub struct Cache {
    trees: [OnceCell<Tree>; TREES],
    coph: [OnceCell<Array2<f64>>; TREES],
    candidates: [OnceCell<Candidate>; 20],
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            trees: Default::default(),
            coph: Default::default(),
            candidates: std::array::from_fn(|_| OnceCell::new()),
        }
    }
}

/// The R linkage behind a candidate name (`GW_ward`/`OLO_ward` use ward.D2, as R
/// seriation's `_ward` methods).
fn linkage_of(name: &str) -> Option<Linkage> {
    let base = name
        .strip_prefix("GW_")
        .or_else(|| name.strip_prefix("OLO_"))
        .unwrap_or(name);
    let base = if base == "ward" { "ward.D2" } else { base };
    Linkage::ALL.iter().copied().find(|l| l.r_name() == base)
}

/// Index into [`Cache::trees`] of candidate `i`'s tree.
fn tree_index(i: usize) -> usize {
    match linkage_of(CANDIDATES[i]) {
        Some(l) => Linkage::ALL.iter().position(|&x| x == l).unwrap(),
        None => 8 + (i - 16),
    }
}

/// Tree `t` of [`Cache::trees`]: the 8 R linkages, then [`OtherTree::ALL`]
/// (minimax, DIANA, MST_community, flexible), in [`CANDIDATES`] order.
fn build_tree(t: usize, d: ndarray::ArrayView2<'_, f64>) -> Tree {
    if t < 8 {
        hclust(d, Linkage::ALL[t])
    } else {
        OtherTree::ALL[t - 8].build(d)
    }
}

fn failed(e: impl std::fmt::Display) -> MethodError {
    MethodError::new(MethodErrorKind::Unsupported, e.to_string())
}

impl Estimate {
    fn asrp_tree(&self, t: usize) -> Result<&Tree, MethodError> {
        let d = self.dist()?;
        Ok(self.asrp.trees[t].get_or_init(|| build_tree(t, d.view())))
    }

    fn asrp_candidate(&self, i: usize) -> Result<&Candidate, MethodError> {
        let d = self.dist()?;
        let tree = self.asrp_tree(tree_index(i))?;
        Ok(self.asrp.candidates[i].get_or_init(|| {
            let name = CANDIDATES[i];
            let order = if name.starts_with("GW_") {
                gruvaeus_wainer(tree, d.view())
            } else if name.starts_with("OLO_") {
                olo(tree, d.view())
            } else {
                tree.leaf_order()
            };
            Candidate { order }
        }))
    }

    /// The leaf orders of the 20 candidates of [`CANDIDATES`] (built and cached
    /// on first use), for inspection and tests.
    pub fn asrp_candidate_orders(&self) -> Result<Vec<Vec<usize>>, MethodError> {
        (0..CANDIDATES.len())
            .map(|i| Ok(self.asrp_candidate(i)?.order.clone()))
            .collect()
    }

    /// The tree and cophenetic matrix of candidate `i`.
    pub fn asrp_candidate_tree(&self, i: usize) -> Result<(&Tree, &Array2<f64>), MethodError> {
        Ok((self.asrp_tree(tree_index(i))?, self.asrp_cophenetic(i)?))
    }

    /// Cophenetic matrix of candidate `i`'s tree.
    fn asrp_cophenetic(&self, i: usize) -> Result<&Array2<f64>, MethodError> {
        let t = tree_index(i);
        let tree = self.asrp_tree(t)?;
        Ok(self.asrp.coph[t].get_or_init(|| cophenetic(tree)))
    }
}

/// One ASRP variant.
pub struct Asrp {
    name: &'static str,
    step: Step,
    control: Control,
}

impl Asrp {
    pub fn new(name: &'static str, step: Step, control: Control) -> Result<Self, String> {
        let mut control = control;
        if let Step::Seriation("BBURCG" | "BBWRCG") = &step {
            // Study defaults for the exponential branch and bound: R's phase 1 (20
            // random starts, interchange to convergence) alone costs ~1 s per call at
            // n = 50 on sample estimates, twice per trial. The OLO(average) seed with
            // two interchange passes and a 1e5 work budget gives better
            // budget-limited orders in ~10 ms (see seriation::bb). Spec controls
            // override each key.
            for (k, v) in STUDY_BB_CONTROL {
                if !control.0.contains_key(k) {
                    control = control.with(k, v);
                }
            }
        }
        if let Step::Seriation(m) = &step {
            // Validate controls once, on a 3×3 matrix, so a bad key fails at spec load.
            let d = ndarray::array![[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]];
            let mut rng = crate::rng::method_stream(0, name, 0);
            seriation::seriate_with(m, d.view(), &mut rng, &control).map_err(|e| e.to_string())?;
        } else if !control.0.is_empty() {
            return Err(format!("{name} takes no control parameters"));
        }
        Ok(Asrp {
            name,
            step,
            control,
        })
    }

    /// The order and the per-trial note (budgeted search: 1 exact / 0 not;
    /// adaptive: index of the chosen candidate).
    pub fn order(&self, est: &Estimate, ctx: &Context) -> Result<(Vec<usize>, f64), MethodError> {
        match &self.step {
            Step::Seriation(m) if self.control.0.is_empty() && eigen_noted(m).is_some() => {
                // Eigenvector methods: R's order, plus the smallest relative
                // eigenvalue gap as the note (below 1e-8 the order is arbitrary).
                let d = est.dist()?;
                if d.nrows() <= 2 {
                    return Ok(((0..d.nrows()).collect(), f64::NAN));
                }
                let f = eigen_noted(m).expect("checked");
                let e = f(&seriation::Dm::new(d.view())).map_err(failed)?;
                Ok((e.order, e.gap))
            }
            Step::Seriation(m) => {
                let d = est.dist()?;
                let mut rng = ctx.rng(self.name);
                let s = seriation::seriate_with(m, d.view(), &mut rng, &self.control)
                    .map_err(failed)?;
                let note = s.exact.map_or(f64::NAN, |e| e as u8 as f64);
                Ok((s.order, note))
            }
            Step::Candidate(i) => Ok((est.asrp_candidate(*i)?.order.clone(), f64::NAN)),
            Step::Fit(m) => {
                let d = est.dist()?;
                let mut values = Vec::with_capacity(CANDIDATES.len());
                for i in 0..CANDIDATES.len() {
                    // GW_*/OLO_* share their linkage's tree: equal values, so the
                    // plain linkage (earlier) wins the tie, as documented.
                    let tree = est.asrp_tree(tree_index(i))?;
                    let u = est.asrp_cophenetic(i)?;
                    values.push(m.eval(tree, u.view(), d.view()));
                }
                let i = select_best(&values, m.direction()).ok_or_else(|| {
                    failed(format!(
                        "{} is undefined for every candidate tree",
                        m.name()
                    ))
                })?;
                Ok((est.asrp_candidate(i)?.order.clone(), i as f64))
            }
            Step::Criterion { name, maximize } => {
                let d = est.dist()?;
                let mut values = Vec::with_capacity(CANDIDATES.len());
                for i in 0..CANDIDATES.len() {
                    let order = &est.asrp_candidate(i)?.order;
                    values.push(seriation::criterion(name, d.view(), order).map_err(failed)?);
                }
                let dir = if *maximize {
                    Direction::Max
                } else {
                    Direction::Min
                };
                let i = select_best(&values, dir)
                    .ok_or_else(|| failed(format!("{name} is undefined for every candidate")))?;
                Ok((est.asrp_candidate(i)?.order.clone(), i as f64))
            }
        }
    }
}

impl Allocator for Asrp {
    fn name(&self) -> &str {
        self.name
    }
    fn allocate(&self, est: &Estimate, ctx: &Context) -> Result<Array1<f64>, MethodError> {
        self.allocate_noted(est, ctx).map(|x| x.0)
    }
    fn allocate_noted(
        &self,
        est: &Estimate,
        ctx: &Context,
    ) -> Result<(Array1<f64>, f64), MethodError> {
        est.variances()?;
        let (order, note) = self.order(est, ctx)?;
        Ok((recursive_bisection(est.cov(), &order)?, note))
    }
    fn note_description(&self) -> Option<String> {
        match &self.step {
            Step::Seriation("BBURCG" | "BBWRCG") => Some(
                "1 = branch and bound proved the order optimal, 0 = stopped at its node budget"
                    .into(),
            ),
            Step::Seriation(m) if self.control.0.is_empty() && eigen_noted(m).is_some() => {
                Some(format!(
                    "smallest relative gap |λ_k − λ_l|/max|λ| between an eigenvalue the order uses and its neighbours; below {:e} the eigenvectors, and so the order, are arbitrary",
                    seriation::spectral::DEGENERATE_GAP
                ))
            }
            Step::Seriation(
                "ARSA" | "SA" | "SPIN_NH" | "SPIN_STS" | "TSP" | "QAP_2SUM" | "QAP_BAR"
                | "QAP_Inertia" | "QAP_LS",
            ) => Some(
                "0 = the search stopped at its work budget (control max_work) and returned the best order found; NaN (SA: 1) = it completed"
                    .into(),
            ),
            Step::Criterion { .. } => Some(format!(
                "index of the chosen candidate in [{}]",
                CANDIDATES.join(", ")
            )),
            _ => None,
        }
    }
}

/// The eigenvector seriation methods that report their eigenvalue gap (`MDS` is
/// `MDS_metric` under its default control).
type EigenNoted =
    fn(&seriation::Dm) -> Result<seriation::spectral::EigenOrder, seriation::SeriationError>;
fn eigen_noted(method: &str) -> Option<EigenNoted> {
    use seriation::spectral as s;
    Some(match method {
        "Spectral" => s::spectral_noted,
        "Spectral_norm" => s::spectral_norm_noted,
        "MDS" | "MDS_metric" => s::mds_metric_noted,
        "MDS_angle" => s::mds_angle_noted,
        "R2E" => s::r2e_noted,
        _ => return None,
    })
}

/// A registered ASRP variant.
#[derive(Clone, Debug)]
pub struct Variant {
    pub name: &'static str,
    pub family: &'static str,
    pub description: String,
    pub step: Step,
}

/// The ASRP variant registered as `name`, built with `control`.
pub fn variant(name: &str, control: Control) -> Result<Asrp, String> {
    let v = variants()
        .iter()
        .find(|v| v.name == name)
        .ok_or_else(|| format!("no ASRP variant '{name}'"))?;
    Asrp::new(v.name, v.step.clone(), control)
}

/// The ASRP variants, in family order (built once per process: names are
/// `&'static str` registry keys).
pub fn variants() -> &'static [Variant] {
    static VARIANTS: std::sync::OnceLock<Vec<Variant>> = std::sync::OnceLock::new();
    VARIANTS.get_or_init(build_variants)
}

fn build_variants() -> Vec<Variant> {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let mut v = Vec::new();
    for m in SERIATION_METHODS {
        v.push(Variant {
            name: leak(format!("HRP_ser_{m}")),
            family: "asrp:seriation",
            description: format!(
                "HRP bisection on the order of R seriation method {m} on sqrt((1-rho)/2)"
            ),
            step: Step::Seriation(m),
        });
    }
    for (i, c) in CANDIDATES.iter().enumerate().skip(1) {
        v.push(Variant {
            name: leak(format!("HRP_hcs_{c}")),
            family: "asrp:tree",
            description: format!("HRP bisection on the leaf order of the {c} tree"),
            step: Step::Candidate(i),
        });
    }
    for m in FitMeasure::ALL {
        let dir = match m.direction() {
            Direction::Min => "smallest",
            Direction::Max => "largest",
            Direction::ClosestToOne => "closest to 1",
        };
        v.push(Variant {
            name: leak(format!("HRP_hcs-adaptive_{}", m.name())),
            family: "asrp:adaptive-fit",
            description: format!(
                "per trial, the candidate tree with the {dir} {} against d",
                m.name()
            ),
            step: Step::Fit(m),
        });
    }
    for (c, max) in CRITERIA {
        let dir = if max { "max" } else { "min" };
        v.push(Variant {
            name: leak(format!("HRP_hcs-adaptive_criterions_{c}_{dir}")),
            family: "asrp:adaptive-criterion",
            description: format!(
                "per trial, the candidate tree order with the {dir}imal {c} criterion"
            ),
            step: Step::Criterion {
                name: c,
                maximize: max,
            },
        });
    }
    assert_eq!(v.len(), 57, "ASRP defines 57 variants");
    v
}
