//! DHRP: a trained differentiable hierarchical risk parity layer served from ONNX
//! (after Amador, "Differentiable Hierarchical Risk Parity"; adapted to this study as
//! described in `models/dhrp/README.md`).
//!
//! The model sees the in-sample covariance *in HRP's order* (single-linkage leaf
//! order, [`Estimate::single_linkage`]) and a few global features ([`features`]); it
//! returns weights in that order, which are un-permuted here. The same
//! [`dhrp_inputs`] builds the training data (`corrmc export-training`), so training
//! and serving cannot disagree on the inputs.
//!
//! The ONNX contract (checked on load, naming the file): inputs `cov` f64
//! `[B, n, n]` and `features` f64 `[B, F]` with `F = FEATURE_NAMES.len()`, output
//! `weights` f64 `[B, n]`.
//!
//! `DHRP_paper` ([`build_paper`]) is the paper's layer (Amador, Eq. 2–5, §3.3): its
//! tree is HRP's tree under a chosen linkage ([`TreeLinkage`], Ward by default as in the
//! paper's §4.2), and its second input is the in-sample path's per-asset signals
//! (`moments` f64 `[B, 3, n]`, same order: mean daily return, momentum, volatility
//! regime; [`crate::simulate::path_signals`]), from which the graph itself computes the
//! §3.3 features (annualized means and volatilities, clipped, momentum, volatility regime
//! and the average pairwise correlation).

use super::{Allocator, Context, Estimate};
use crate::Error;
use crate::error::{MethodError, MethodErrorKind};
use ndarray::{Array1, Array2};
use std::path::{Path, PathBuf};

/// Names of the global features (Eq. 3's input), in order. All are invariant to the
/// asset order and to a common rescaling of the covariance, and need no expected
/// returns.
pub const FEATURE_NAMES: [&str; 6] = [
    "mean_offdiag_corr",
    "sd_offdiag_corr",
    "top_eigenvalue_share",
    "second_eigenvalue_share",
    "effective_rank_share",
    "sd_log_variance",
];

/// Global features of an estimate (see [`FEATURE_NAMES`]): mean and standard
/// deviation of the off-diagonal correlations, the two largest eigenvalues of the
/// correlation matrix over n, its effective rank `exp(entropy(λ/Σλ))` over n, and the
/// standard deviation of the log variances.
pub fn features(est: &Estimate) -> Result<Array1<f64>, MethodError> {
    let c = est.corr()?;
    let n = est.n();
    let var = est.variances()?;
    let mut off = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in (i + 1)..n {
            off.push(c[(i, j)]);
        }
    }
    let (m_rho, sd_rho) = mean_sd(&off);
    let lam = crate::linalg::eigvalsh(c.view()).ok_or_else(|| {
        MethodError::new(
            MethodErrorKind::NonFinite,
            "eigenvalues of the correlation matrix did not converge",
        )
    })?;
    let mut lam: Vec<f64> = lam.iter().map(|&l| l.max(0.0)).collect();
    lam.sort_by(|a, b| b.total_cmp(a));
    let total: f64 = lam.iter().sum();
    let nf = n as f64;
    let l1 = lam.first().copied().unwrap_or(0.0) / nf;
    let l2 = lam.get(1).copied().unwrap_or(0.0) / nf;
    let entropy: f64 = lam
        .iter()
        .filter(|&&l| l > 0.0)
        .map(|&l| {
            let p = l / total;
            -p * p.ln()
        })
        .sum();
    let logv: Vec<f64> = var.iter().map(|v| v.ln()).collect();
    let (_, sd_logv) = mean_sd(&logv);
    Ok(Array1::from(vec![
        m_rho,
        sd_rho,
        l1,
        l2,
        entropy.exp() / nf,
        sd_logv,
    ]))
}

fn mean_sd(x: &[f64]) -> (f64, f64) {
    if x.is_empty() {
        return (0.0, 0.0);
    }
    let m = x.iter().sum::<f64>() / x.len() as f64;
    let v = x.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / x.len() as f64;
    (m, v.sqrt())
}

/// What the DHRP model sees for one estimate.
#[derive(Clone, Debug)]
pub struct DhrpInputs {
    /// HRP's order: position `k` holds asset `order[k]`.
    pub order: Vec<usize>,
    /// The covariance permuted to that order.
    pub cov: Array2<f64>,
    /// [`features`].
    pub features: Array1<f64>,
}

/// Permutes `m` to `order` (rows and columns).
pub fn permute(m: &Array2<f64>, order: &[usize]) -> Array2<f64> {
    let n = order.len();
    Array2::from_shape_fn((n, n), |(i, j)| m[(order[i], order[j])])
}

/// The linkage of the tree whose leaf order (quasi-diagonalization) the bisection
/// follows: single as López de Prado (2016), Ward as Amador's HRP benchmark (§4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeLinkage {
    Single,
    Ward,
}

impl TreeLinkage {
    /// `"single"` or `"ward"`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "single" => Ok(TreeLinkage::Single),
            "ward" => Ok(TreeLinkage::Ward),
            other => Err(format!(
                "unknown linkage '{other}' (valid: \"ward\" (Amador's HRP), \"single\" (López de Prado))"
            )),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            TreeLinkage::Single => "single",
            TreeLinkage::Ward => "ward",
        }
    }
    /// The leaf order of the estimate's tree under this linkage.
    pub fn order(self, est: &Estimate) -> Result<Vec<usize>, MethodError> {
        Ok(match self {
            TreeLinkage::Single => est.single_linkage()?.leaf_order(),
            TreeLinkage::Ward => est.ward_linkage()?.leaf_order(),
        })
    }
}

/// HRP's order, the ordered covariance and the features.
pub fn dhrp_inputs(est: &Estimate) -> Result<DhrpInputs, MethodError> {
    dhrp_inputs_with(est, TreeLinkage::Single)
}

/// [`dhrp_inputs`] with the tree of `linkage`.
pub fn dhrp_inputs_with(est: &Estimate, linkage: TreeLinkage) -> Result<DhrpInputs, MethodError> {
    let order = linkage.order(est)?;
    let feats = features(est)?;
    Ok(DhrpInputs {
        cov: permute(est.cov(), &order),
        order,
        features: feats,
    })
}

/// A loaded DHRP model: ordered covariance and features in, weights in that order out.
pub trait DhrpModel: Send + Sync {
    /// Number of assets the model was exported for.
    fn n(&self) -> usize;
    fn path(&self) -> &Path;
    /// Weights for the ordered covariance and the second input: the features
    /// ([`ModelKind::Features`]) or the flattened `[3, n]` moments ([`ModelKind::Paper`]).
    fn weights(&self, cov: &Array2<f64>, features: &Array1<f64>) -> Result<Array1<f64>, Error>;
}

/// The default model file, relative to the crate root.
pub const DEFAULT_MODEL: &str = "models/dhrp/dhrp_50.onnx";

/// Resolves a model path: absolute, or relative to the working directory if it exists
/// there, else the shipped model of that name (embedded in the binary, see
/// [`crate::shipped`]), else relative to the crate root (which then reports it missing).
pub fn resolve_model_path(p: &str) -> PathBuf {
    let path = PathBuf::from(p);
    if path.is_absolute() || path.exists() {
        return path;
    }
    if let Some(Ok(shipped)) = crate::shipped::materialize(p) {
        return shipped;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The DHRP allocator (the variance-trained `DHRP`, or the paper's `DHRP_paper`).
pub struct Dhrp {
    model: Box<dyn DhrpModel>,
    name: &'static str,
    linkage: TreeLinkage,
    kind: ModelKind,
}

impl Dhrp {
    /// The variance-trained DHRP (single linkage, global features).
    pub fn new(model: Box<dyn DhrpModel>) -> Self {
        Dhrp {
            model,
            name: "DHRP",
            linkage: TreeLinkage::Single,
            kind: ModelKind::Features,
        }
    }
    /// The paper's DHRP on the tree of `linkage` (the model must have been trained on
    /// that linkage's order: `corrmc export-training --linkage`).
    pub fn paper(model: Box<dyn DhrpModel>, linkage: TreeLinkage) -> Self {
        Dhrp {
            model,
            name: "DHRP_paper",
            linkage,
            kind: ModelKind::Paper,
        }
    }
}

impl Allocator for Dhrp {
    fn name(&self) -> &str {
        self.name
    }
    fn uses_path_signals(&self) -> bool {
        self.kind == ModelKind::Paper
    }
    fn supports(&self, n: usize) -> Result<(), String> {
        if n == self.model.n() {
            Ok(())
        } else {
            Err(format!(
                "model {} was trained for n = {} assets, the spec has assets = {n}; set \
                 [control.{name}] model = \"path/to/<model>_{n}.onnx\" (train one with models/dhrp/README.md) \
                 or drop {name} from methods",
                self.model.path().display(),
                self.model.n(),
                name = self.name
            ))
        }
    }
    fn allocate(&self, est: &Estimate, _: &Context) -> Result<Array1<f64>, MethodError> {
        if est.n() != self.model.n() {
            return Err(MethodError::new(
                MethodErrorKind::Unsupported,
                format!(
                    "model {} is for n = {} assets, the estimate has {}",
                    self.model.path().display(),
                    self.model.n(),
                    est.n()
                ),
            ));
        }
        est.variances()?;
        let inp = dhrp_inputs_with(est, self.linkage)?;
        let second = match self.kind {
            ModelKind::Features => inp.features.clone(),
            ModelKind::Paper => paper_moments(est, &inp.order)?,
        };
        if let Some((i, v)) = second.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(MethodError::new(
                MethodErrorKind::NonFinite,
                format!("DHRP input {i} is {v}"),
            ));
        }
        let w_ord = self
            .model
            .weights(&inp.cov, &second)
            .map_err(|e| MethodError::new(MethodErrorKind::NonFinite, e.to_string()))?;
        let mut w = Array1::zeros(est.n());
        for (k, &i) in inp.order.iter().enumerate() {
            w[i] = w_ord[k];
        }
        Ok(w)
    }
}

/// DHRP_paper's second input for an estimate, rows (mean, momentum, volatility regime)
/// in `order`, flattened row-major (`[3, n]`).
pub fn paper_moments(est: &Estimate, order: &[usize]) -> Result<Array1<f64>, MethodError> {
    let missing = || {
        MethodError::new(
            MethodErrorKind::Unsupported,
            "DHRP_paper needs the in-sample mean returns, momentum and volatility regime of the \
             path (its §3.3 features); this estimate has none",
        )
    };
    let m = est.mean().ok_or_else(missing)?;
    let sg = est.signals().ok_or_else(missing)?;
    Ok(Array1::from_iter(
        [m, &sg.momentum, &sg.vol_ratio]
            .iter()
            .flat_map(|v| order.iter().map(move |&i| v[i])),
    ))
}

/// What a DHRP model takes besides the ordered covariance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// `features` `[B, F]`, [`FEATURE_NAMES`] (the variance-trained `DHRP`).
    Features,
    /// `moments` `[B, 3, n]`: the in-sample mean daily return, momentum and volatility
    /// regime per asset (the paper's `DHRP_paper`).
    Paper,
}

/// A DHRP model run by tract (pure Rust), planned for one estimate at a time.
pub struct TractDhrp {
    path: PathBuf,
    n: usize,
    /// Shape of the second input for one estimate.
    second: Vec<usize>,
    plan: std::sync::Arc<tract_onnx::prelude::TypedRunnableModel>,
}

impl TractDhrp {
    /// Loads `path`, checking the contract (inputs `cov` `[B, n, n]` and `features`
    /// `[B, F]`, output `[B, n]`, all f64); `expected_n` (if given) must equal n.
    pub fn load(path: &Path, expected_n: Option<usize>) -> Result<Self, Error> {
        Self::load_kind(path, expected_n, ModelKind::Features)
    }

    /// [`Self::load`] for a model of `kind` (a paper model's second input is `moments`
    /// `[B, 3, n]`).
    pub fn load_kind(
        path: &Path,
        expected_n: Option<usize>,
        kind: ModelKind,
    ) -> Result<Self, Error> {
        use tract_onnx::prelude::*;
        use tract_onnx::tract_hir::infer::Factoid;
        let err = |msg: String| Error::Model {
            path: path.to_path_buf(),
            message: msg,
        };
        if !path.is_file() {
            return Err(err(format!(
                "file not found (the trained model ships as {DEFAULT_MODEL}; retrain with models/dhrp/README.md)"
            )));
        }
        let model = tract_onnx::onnx()
            .model_for_path(path)
            .map_err(|e| err(format!("cannot read as an ONNX model: {e}")))?;
        let inputs = model.input_outlets().map_or(0, |o| o.len());
        let outputs = model.output_outlets().map_or(0, |o| o.len());
        let f = FEATURE_NAMES.len();
        let contract = match kind {
            ModelKind::Features => format!(
                "a DHRP model needs inputs cov [B, n, n] and features [B, {f}] and output weights [B, n], all float64"
            ),
            ModelKind::Paper => "a DHRP_paper model needs inputs cov [B, n, n] and moments [B, 3, n] and output weights [B, n], all float64".to_string(),
        };
        if inputs != 2 || outputs != 1 {
            return Err(err(format!(
                "{inputs} inputs and {outputs} outputs; {contract}"
            )));
        }
        let dims = |i: usize| -> Result<Vec<Option<i64>>, Error> {
            let fact = model
                .input_fact(i)
                .map_err(|e| err(format!("input {i}: {e}")))?;
            if fact.datum_type.concretize() != Some(f64::datum_type()) {
                return Err(err(format!(
                    "input {i} has type {:?}; {contract}",
                    fact.datum_type
                )));
            }
            Ok(fact
                .shape
                .dims()
                .map(|d| d.concretize().and_then(|t| t.as_i64()))
                .collect())
        };
        let show = |s: &[Option<i64>]| {
            let v: Vec<String> = s
                .iter()
                .map(|d| d.map_or("B".to_string(), |x| x.to_string()))
                .collect();
            format!("[{}]", v.join(", "))
        };
        let (d0, d1) = (dims(0)?, dims(1)?);
        let n = match d0.as_slice() {
            [_, Some(a), Some(b)] if a == b && *a > 0 => *a as usize,
            _ => return Err(err(format!("input 0 has shape {}; {contract}", show(&d0)))),
        };
        let second: Vec<usize> = match kind {
            ModelKind::Features => vec![1, f],
            ModelKind::Paper => vec![1, 3, n],
        };
        let ok = d1.len() == second.len()
            && d1
                .iter()
                .zip(&second)
                .skip(1)
                .all(|(d, &want)| *d == Some(want as i64));
        if !ok {
            return Err(err(match kind {
                ModelKind::Features => format!(
                    "input 1 has shape {}; {contract} (F = {f}: {})",
                    show(&d1),
                    FEATURE_NAMES.join(", ")
                ),
                ModelKind::Paper => format!("input 1 has shape {}; {contract}", show(&d1)),
            }));
        }
        if let Some(e) = expected_n.filter(|&e| e != n) {
            return Err(err(format!(
                "the model is for n = {n} assets but the study has n = {e}"
            )));
        }
        let plan = model
            .with_input_fact(0, f64::fact([1, n, n]).into())
            .and_then(|m| m.with_input_fact(1, f64::fact(&second).into()))
            .and_then(|m| m.into_optimized())
            .map_err(|e| err(format!("cannot build an optimized plan: {e}")))?;
        let out = plan
            .output_fact(0)
            .ok()
            .and_then(|o| o.shape.as_concrete().map(|s| (o.datum_type, s.to_vec())));
        match out {
            Some((dt, s)) if dt == f64::datum_type() && s == [1, n] => {}
            other => {
                return Err(err(format!(
                    "output is {other:?} for one estimate, expected F64 [1, {n}]; {contract}"
                )));
            }
        }
        let plan = plan
            .into_runnable()
            .map_err(|e| err(format!("cannot build a plan: {e}")))?;
        Ok(TractDhrp {
            path: path.to_path_buf(),
            n,
            second,
            plan,
        })
    }
}

impl DhrpModel for TractDhrp {
    fn n(&self) -> usize {
        self.n
    }
    fn path(&self) -> &Path {
        &self.path
    }
    fn weights(&self, cov: &Array2<f64>, features: &Array1<f64>) -> Result<Array1<f64>, Error> {
        use tract_onnx::prelude::*;
        let n = self.n;
        let c = Tensor::from_shape(&[1, n, n], cov.as_standard_layout().as_slice().unwrap())
            .map_err(|e| Error::Other(format!("DHRP input: {e}")))?;
        let f = Tensor::from_shape(&self.second, features.to_vec().as_slice())
            .map_err(|e| Error::Other(format!("DHRP input: {e}")))?;
        let out = self
            .plan
            .run(tvec!(c.into(), f.into()))
            .map_err(|e| Error::Other(format!("{}: {e}", self.path.display())))?;
        let w = out[0]
            .to_plain_array_view::<f64>()
            .map_err(|e| Error::Other(format!("{}: {e}", self.path.display())))?;
        Ok(Array1::from_iter(w.iter().copied()))
    }
}

/// Builds the allocator: control `model` (path; default [`DEFAULT_MODEL`], relative
/// paths resolved by [`resolve_model_path`]).
pub fn build(control: &super::Control) -> Result<Box<dyn Allocator>, String> {
    let mut model = DEFAULT_MODEL.to_string();
    for (k, v) in &control.0 {
        match k.as_str() {
            "model" => model = v.clone(),
            other => {
                return Err(format!(
                    "unknown DHRP control '{other}' (valid: model = \"path/to/dhrp_<n>.onnx\")"
                ));
            }
        }
    }
    let m = TractDhrp::load(&resolve_model_path(&model), None).map_err(|e| e.to_string())?;
    Ok(Box::new(Dhrp::new(Box::new(m))))
}

/// The default model of `DHRP_paper` for each linkage (only Ward's ships).
pub fn default_paper_model(linkage: TreeLinkage) -> String {
    format!("models/dhrp/dhrp_paper_{}_50.onnx", linkage.name())
}

/// Builds `DHRP_paper`: controls `linkage` (`"ward"`, default, or `"single"`; must be
/// the linkage the model was trained on) and `model` (path; default
/// [`default_paper_model`] of the linkage).
pub fn build_paper(control: &super::Control) -> Result<Box<dyn Allocator>, String> {
    let mut model = None;
    let mut linkage = TreeLinkage::Ward;
    for (k, v) in &control.0 {
        match k.as_str() {
            "model" => model = Some(v.clone()),
            "linkage" => {
                linkage = TreeLinkage::parse(v).map_err(|e| format!("DHRP_paper control {e}"))?
            }
            other => {
                return Err(format!(
                    "unknown DHRP_paper control '{other}' (valid: model = \"path/to/dhrp_paper_<linkage>_<n>.onnx\", linkage = \"ward\" | \"single\")"
                ));
            }
        }
    }
    let model = model.unwrap_or_else(|| default_paper_model(linkage));
    let m = TractDhrp::load_kind(&resolve_model_path(&model), None, ModelKind::Paper)
        .map_err(|e| e.to_string())?;
    Ok(Box::new(Dhrp::paper(Box::new(m), linkage)))
}
