//! Allocators: an in-sample covariance estimate in, portfolio weights out (or a
//! [`MethodError`] for that trial).
//!
//! Composable in the skfolio sense: an [`Estimate`] lazily derives, once per trial
//! and shared by all methods, the quantities several methods need (variances,
//! correlation, the distance `sqrt((1 − ρ)/2)`, the single-linkage tree). Methods
//! are registered by name in [`registry`]; specs select them by name or family.

pub mod asrp;
pub mod dhrp;
pub mod hrp;
pub mod minvar;
pub mod minvar_long;
pub mod naive;

use crate::cluster::{KodamaLinkage, Tree, corr_to_dist};
use crate::error::{MethodError, MethodErrorKind};
use ndarray::{Array1, Array2};
use std::cell::OnceCell;

/// A covariance estimate and what is derived from it, computed on first use.
pub struct Estimate {
    cov: Array2<f64>,
    var: Array1<f64>,
    /// First non-finite entry of `cov`, if any.
    non_finite: Option<(usize, usize)>,
    corr: OnceCell<Result<Array2<f64>, MethodError>>,
    dist: OnceCell<Result<Array2<f64>, MethodError>>,
    single: OnceCell<Result<Tree, MethodError>>,
    ward: OnceCell<Result<Tree, MethodError>>,
    /// Sample mean returns of the path the covariance was estimated on, if the caller
    /// has them (the engine does; DHRP_paper's features need them).
    mean: Option<Array1<f64>>,
    /// Momentum and volatility regime of that path (DHRP_paper's §3.3 features).
    signals: Option<crate::simulate::Signals>,
    /// Candidate trees of the ASRP variants, shared by all of them.
    asrp: asrp::Cache,
}

impl Estimate {
    pub fn new(cov: Array2<f64>) -> Self {
        let var = cov.diag().to_owned();
        // In row-major order, as `indexed_iter` visits, over a flat slice (that index
        // iterator cost as much as the rest of the estimate's setup).
        let non_finite = cov
            .as_standard_layout()
            .iter()
            .position(|v| !v.is_finite())
            .map(|k| (k / cov.ncols(), k % cov.ncols()));
        Estimate {
            cov,
            var,
            non_finite,
            corr: OnceCell::new(),
            dist: OnceCell::new(),
            single: OnceCell::new(),
            ward: OnceCell::new(),
            mean: None,
            signals: None,
            asrp: asrp::Cache::default(),
        }
    }
    /// Attaches the sample mean returns of the estimation path (daily, per asset).
    pub fn with_mean(mut self, mean: Array1<f64>) -> Self {
        self.mean = Some(mean);
        self
    }
    /// Attaches the path's momentum and volatility regime ([`crate::simulate::path_signals`]).
    pub fn with_signals(mut self, signals: crate::simulate::Signals) -> Self {
        self.signals = Some(signals);
        self
    }
    /// The path signals, if attached ([`Self::with_signals`]).
    pub fn signals(&self) -> Option<&crate::simulate::Signals> {
        self.signals.as_ref()
    }
    /// The sample mean returns, if attached ([`Self::with_mean`]).
    pub fn mean(&self) -> Option<&Array1<f64>> {
        self.mean.as_ref()
    }
    pub fn cov(&self) -> &Array2<f64> {
        &self.cov
    }
    /// The covariance back, dropping what was derived from it.
    pub fn into_cov(self) -> Array2<f64> {
        self.cov
    }
    pub fn n(&self) -> usize {
        self.cov.nrows()
    }
    /// Variances, checked positive, with the whole matrix checked finite.
    pub fn variances(&self) -> Result<&Array1<f64>, MethodError> {
        if let Some((i, j)) = self.non_finite {
            return Err(MethodError::new(
                MethodErrorKind::NonFinite,
                format!("covariance entry ({i}, {j}) is {}", self.cov[(i, j)]),
            ));
        }
        if let Some((i, v)) = self.var.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(MethodError::new(
                MethodErrorKind::NonFinite,
                format!("variance of asset {i} is {v}"),
            ));
        }
        if let Some((i, v)) = self.var.iter().enumerate().find(|(_, v)| **v <= 0.0) {
            return Err(MethodError::new(
                MethodErrorKind::ZeroVariance,
                format!("asset {i} has variance {v}"),
            ));
        }
        Ok(&self.var)
    }
    /// Correlation `Σ_ij / sqrt(Σ_ii Σ_jj)` (needs positive variances), rounded as
    /// R's `as.dist(cov2cor(Σ))` sees it, `(s_i Σ_ij) s_j` (i > j, mirrored) with
    /// `s = sqrt(1/diag Σ)`: the
    /// eigenvector seriation orders of the ASRP variants are sensitive to the last
    /// bit of the distances, and R's are the reference (issue 11).
    pub fn corr(&self) -> Result<&Array2<f64>, MethodError> {
        self.corr
            .get_or_init(|| {
                let v = self.variances()?;
                let s = v.mapv(|x| (1.0 / x).sqrt());
                let n = self.n();
                // R's `as.dist` keeps the lower triangle (i > j); mirror it so the
                // matrix is exactly symmetric.
                let cov = self.cov.as_standard_layout();
                let cov = cov.as_slice().expect("standard layout");
                let s = s.as_slice().expect("contiguous");
                let mut c = vec![0.0f64; n * n];
                for a in 0..n {
                    let (sa, row) = (s[a], &cov[a * n..a * n + a]);
                    for ((cb, &v), &sb) in c[a * n..a * n + a].iter_mut().zip(row).zip(s) {
                        *cb = (sa * v) * sb;
                    }
                    c[a * n + a] = 1.0;
                }
                for a in 0..n {
                    for b in a + 1..n {
                        c[a * n + b] = c[b * n + a];
                    }
                }
                Ok(Array2::from_shape_vec((n, n), c).expect("n × n"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
    /// Distance `sqrt((1 − ρ)/2)` (López de Prado 2016).
    pub fn dist(&self) -> Result<&Array2<f64>, MethodError> {
        self.dist
            .get_or_init(|| Ok(corr_to_dist(self.corr()?.view())))
            .as_ref()
            .map_err(Clone::clone)
    }
    /// Single-linkage tree of [`Self::dist`] (HRP's tree).
    pub fn single_linkage(&self) -> Result<&Tree, MethodError> {
        self.single
            .get_or_init(|| Ok(Tree::single_linkage_symmetric(self.dist()?.view())))
            .as_ref()
            .map_err(Clone::clone)
    }
    /// Ward-linkage tree of [`Self::dist`] (scipy `ward` = R `ward.D2`), the linkage of
    /// the HRP that Amador's DHRP paper compares with (§4.2).
    pub fn ward_linkage(&self) -> Result<&Tree, MethodError> {
        self.ward
            .get_or_init(|| Ok(Tree::kodama(self.dist()?.view(), KodamaLinkage::Ward)))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Per-call context: which trial and which side (in-sample or out-of-sample
/// estimate) is being allocated, for methods that draw random numbers.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    pub seed: u64,
    pub trial: u64,
    pub out_of_sample: bool,
}

impl Context {
    /// The method's own random stream for this trial and side.
    pub fn rng(&self, method: &str) -> rand::rngs::ChaCha8Rng {
        let tag = if self.out_of_sample {
            format!("{method}/oos")
        } else {
            method.to_string()
        };
        crate::rng::method_stream(self.seed, &tag, self.trial)
    }
}

/// A portfolio construction method.
pub trait Allocator: Send + Sync {
    /// Registry name (what specs use).
    fn name(&self) -> &str;
    /// Weights for the estimate, or why there are none.
    fn allocate(&self, est: &Estimate, ctx: &Context) -> Result<Array1<f64>, MethodError>;
    /// Weights plus a per-trial note stored in `/method_info` (e.g. which candidate
    /// tree an adaptive method chose, or whether a budgeted search was exact).
    /// Default: no note (NaN).
    fn allocate_noted(
        &self,
        est: &Estimate,
        ctx: &Context,
    ) -> Result<(Array1<f64>, f64), MethodError> {
        self.allocate(est, ctx).map(|w| (w, f64::NAN))
    }
    /// What the note of [`Self::allocate_noted`] means, if the method keeps one.
    fn note_description(&self) -> Option<String> {
        None
    }
    /// Whether the method reads the path signals of its estimate
    /// ([`Estimate::signals`]); the engine simulates them only when some method does.
    fn uses_path_signals(&self) -> bool {
        false
    }
    /// Whether the method is defined for `n` assets at all (checked when a spec loads, so
    /// that a study never fails in every trial for a reason known up front).
    fn supports(&self, _n: usize) -> Result<(), String> {
        Ok(())
    }
}

/// Checks what every method must return: n finite weights summing to 1.
pub fn check_weights(w: &Array1<f64>, n: usize) -> Result<(), MethodError> {
    if w.len() != n {
        return Err(MethodError::new(
            MethodErrorKind::Unsupported,
            format!("{} weights for {n} assets", w.len()),
        ));
    }
    if let Some((i, v)) = w.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(MethodError::new(
            MethodErrorKind::NonFinite,
            format!("weight {i} is {v}"),
        ));
    }
    let s = w.sum();
    if (s - 1.0).abs() > 1e-8 {
        return Err(MethodError::new(
            MethodErrorKind::NonFinite,
            format!("weights sum to {s}, not 1"),
        ));
    }
    Ok(())
}

/// A registered method: name, family, one-line description and the reference it
/// implements.
pub struct MethodInfo {
    pub name: &'static str,
    pub family: &'static str,
    pub description: String,
    pub reference: &'static str,
    kind: Kind,
}

enum Kind {
    Plain(fn() -> Box<dyn Allocator>),
    Asrp(asrp::Step),
    /// Built from its control parameters (e.g. a model path).
    Controlled(fn(&Control) -> Result<Box<dyn Allocator>, String>),
}

/// Control parameters of a method (`[control.<method>]` in a spec), as text.
pub use crate::seriation::Control;

fn plain(
    name: &'static str,
    family: &'static str,
    description: &str,
    reference: &'static str,
    make: fn() -> Box<dyn Allocator>,
) -> MethodInfo {
    MethodInfo {
        name,
        family,
        description: description.to_string(),
        reference,
        kind: Kind::Plain(make),
    }
}

/// Every method the engine knows, in display order: baselines, HRP, the ASRP variants.
pub fn registry() -> Vec<MethodInfo> {
    let mut v = vec![
        plain(
            "EW",
            "baseline",
            "equal weight 1/n",
            "DeMiguel, Garlappi & Uppal (2009)",
            || Box::new(naive::EqualWeight),
        ),
        plain(
            "RP",
            "baseline",
            "risk parity as inverse variance, w ∝ 1/σ²",
            "López de Prado (2016), inverse-variance portfolio",
            || Box::new(naive::InverseVariance),
        ),
        MethodInfo {
            name: "MinVar",
            family: "minimum-variance",
            description: "closed-form minimum variance Σ⁻¹1 / 1ᵀΣ⁻¹1 (shorts allowed); refuses estimates that fail Cholesky or whose correlation's reciprocal condition number (1-norm, estimated from the factor as LAPACK dpocon) is < 1e-10 (controls: solver = \"cholesky\" | \"inverse\" for the blog's np.linalg.inv, rcond_min, rcond_method = \"estimate\" | \"eigenvalues\" for the exact λ_min/λ_max)".to_string(),
            reference: "Markowitz (1952); the blog's closed form",
            kind: Kind::Controlled(minvar::build),
        },
        plain(
            "MinVar_long",
            "minimum-variance",
            "long-only minimum variance, exact QP by block principal pivoting on one Cholesky of Σ (KKT residual < 1e-10)",
            "Kim & Park (2011) block principal pivoting on min ½vᵀΣv − 1ᵀv, v ≥ 0; Lawson & Hanson (1974) when Σ is singular",
            || Box::new(minvar_long::MinVarLong::default()),
        ),
        plain(
            "HRP",
            "hierarchical",
            "hierarchical risk parity: single linkage on sqrt((1−ρ)/2), leaf order, recursive bisection",
            "López de Prado (2016), J. Portfolio Management 42(4)",
            || Box::new(hrp::Hrp),
        ),
        MethodInfo {
            name: "DHRP",
            family: "learned",
            description: "differentiable HRP: soft gates on HRP's bisection tree, trained on simulated trials, served from ONNX (control model = path, default models/dhrp/dhrp_50.onnx)".to_string(),
            reference: "Amador, Differentiable Hierarchical Risk Parity; adapted, see models/dhrp/README.md",
            kind: Kind::Controlled(dhrp::build),
        },
        MethodInfo {
            name: "DHRP_paper",
            family: "learned",
            description: "DHRP as Amador's paper builds it: HRP's tree (control linkage = \"ward\" | \"single\", default ward), h = LayerNorm(x + f_cov(vech(Σ/‖Σ‖∞))), per-node gates, leaf logits, α = sigmoid(θ_α), trained on CRRA + smooth Sharpe + HRP proximity + entropy + variance (control model = path, default models/dhrp/dhrp_paper_ward_50.onnx)".to_string(),
            reference: "Amador, Differentiable Hierarchical Risk Parity, Eq. 2-10; adapted, see models/dhrp/README.md",
            kind: Kind::Controlled(dhrp::build_paper),
        },
    ];
    for a in asrp::variants() {
        v.push(MethodInfo {
            name: a.name,
            family: a.family,
            description: a.description.clone(),
            reference: "Schwendner, Papenbrock, Jaeger & Krügel (2021), JFDS 3(4)",
            kind: Kind::Asrp(a.step.clone()),
        });
    }
    v
}

/// Resolves spec method selectors to registered names: an exact name, a family
/// (`asrp:seriation`), `<prefix>:all` (`asrp:all`, `baseline:all`) or `all` (every
/// method except the `learned` family, e.g. DHRP, whose model fixes n).
/// Unknown names give an error listing what is valid.
pub fn resolve(selectors: &[String]) -> Result<Vec<&'static str>, String> {
    let reg = registry();
    let mut out: Vec<&'static str> = Vec::new();
    for sel in selectors {
        let matched: Vec<&'static str> = if sel == "all" {
            // Learned methods need a model trained for the study's n: name them explicitly.
            reg.iter()
                .filter(|m| m.family != "learned")
                .map(|m| m.name)
                .collect()
        } else if let Some(pre) = sel.strip_suffix(":all") {
            reg.iter()
                .filter(|m| {
                    m.family == pre
                        || m.family
                            .strip_prefix(pre)
                            .is_some_and(|r| r.starts_with(':'))
                })
                .map(|m| m.name)
                .collect()
        } else {
            reg.iter()
                .filter(|m| m.name == sel || m.family == sel)
                .map(|m| m.name)
                .collect()
        };
        if matched.is_empty() {
            let names: Vec<&str> = reg.iter().map(|m| m.name).collect();
            let mut fams: Vec<&str> = reg.iter().map(|m| m.family).collect();
            fams.dedup();
            let hint = closest(sel, &names)
                .map(|c| format!(" (did you mean '{c}'?)"))
                .unwrap_or_default();
            return Err(format!(
                "unknown method '{sel}'{hint}; valid: a name from `corrmc methods`, 'all', a family ({}), or 'asrp:all'",
                fams.join(", ")
            ));
        }
        for m in matched {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// Builds the allocator registered as `name` with control parameters.
pub fn build_with(name: &str, control: &Control) -> Result<Box<dyn Allocator>, String> {
    let info = registry()
        .into_iter()
        .find(|m| m.name == name)
        .ok_or_else(|| format!("unknown method '{name}'"))?;
    match info.kind {
        Kind::Plain(make) => {
            if !control.0.is_empty() {
                return Err(format!("{name} takes no control parameters"));
            }
            Ok(make())
        }
        Kind::Asrp(step) => Ok(Box::new(asrp::Asrp::new(info.name, step, control.clone())?)),
        Kind::Controlled(make) => make(control),
    }
}

/// Builds the allocator registered as `name` with default controls.
pub fn build(name: &str) -> Option<Box<dyn Allocator>> {
    build_with(name, &Control::default()).ok()
}

/// The closest name by edit distance, if reasonably close.
pub fn closest<'a>(s: &str, names: &[&'a str]) -> Option<&'a str> {
    fn lev(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.to_lowercase().chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.to_lowercase().chars().enumerate() {
            let mut cur = vec![i + 1; b.len() + 1];
            for j in 0..b.len() {
                cur[j + 1] = (prev[j] + (ca != b[j]) as usize)
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1);
            }
            prev = cur;
        }
        prev[b.len()]
    }
    names
        .iter()
        .map(|n| (lev(s, n), *n))
        .min()
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_names_and_families() {
        assert_eq!(
            resolve(&["HRP".into(), "EW".into(), "HRP".into()]).unwrap(),
            vec!["HRP", "EW"]
        );
        assert_eq!(
            resolve(&["minimum-variance:all".into()]).unwrap(),
            vec!["MinVar", "MinVar_long"]
        );
        let e = resolve(&["HPR".into()]).unwrap_err();
        assert!(e.contains("did you mean 'HRP'"), "{e}");
    }
}
