//! Experiment specs (TOML). Parsing rejects unknown keys and wrong types with the
//! line and column; validation rejects impossible values naming the key and what
//! is valid. See `experiments/*.toml` and README "Experiment specs".

use crate::Error;
use crate::corr::CorrSource;
use crate::metrics::{DEFAULT_CRRA_GAMMA, MetricParams};
use crate::simulate::{MeanModel, ReturnModel, SimParams, Tails, VolModel};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The default experiment, embedded in the binary (`corrmc run` with no spec).
pub const QUICKSTART: &str = include_str!("../experiments/quickstart.toml");

fn default_annualization() -> f64 {
    252.0
}
fn default_eta() -> f64 {
    1.0
}

/// The spec file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub seed: u64,
    pub trials: u64,
    pub assets: usize,
    pub in_sample_days: usize,
    pub out_of_sample_days: usize,
    #[serde(default = "default_annualization")]
    pub annualization: f64,
    pub methods: Vec<String>,
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub store_weights: bool,
    #[serde(default)]
    pub chunk_trials: Option<usize>,
    pub source: SourceSpec,
    #[serde(default)]
    pub volatility: VolSpec,
    /// `[returns]`: expected returns, tails and the CRRA γ of the metrics (absent:
    /// zero mean, normal tails, γ = 2.5).
    #[serde(default)]
    pub returns: Option<ReturnsSpec>,
    /// `[regime]`: keep only the source's matrices whose mean correlation and/or
    /// first-eigenvalue share lie in a range (`src/corr/regime.rs`).
    #[serde(default)]
    pub regime: Option<RegimeSpec>,
    /// `[control.<method>]`: control parameters of a method (e.g. the node budget
    /// of `HRP_ser_BBURCG`), by the method's own parameter names.
    #[serde(default)]
    pub control: std::collections::BTreeMap<String, toml::Table>,
}

/// `[regime]`: rejection of the source's matrices outside a range of mean correlation
/// and/or first-eigenvalue share (`src/corr/regime.rs`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegimeSpec {
    /// Mean off-diagonal correlation, [lo, hi].
    #[serde(default)]
    pub mean_corr: Option<[f64; 2]>,
    /// First-eigenvalue share λ₁/n, [lo, hi].
    #[serde(default)]
    pub first_eig_share: Option<[f64; 2]>,
    /// Draws per trial before the study is refused (default 1000).
    #[serde(default)]
    pub max_draws: Option<u32>,
}

/// `[source]`: where true correlation matrices come from.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SourceSpec {
    /// LKJ(η) by the onion method (η = 1: uniform).
    Uniform {
        #[serde(default = "default_eta")]
        eta: f64,
    },
    /// Market + sector + sub-sector factor model.
    Block {
        #[serde(default)]
        sectors: Option<usize>,
        #[serde(default)]
        subsectors: Option<usize>,
        #[serde(default)]
        market: Option<[f64; 2]>,
        #[serde(default)]
        sector: Option<[f64; 2]>,
        #[serde(default)]
        subsector: Option<[f64; 2]>,
    },
    /// Matrices from a `.npy`/CSV file or an HDF5 dataset.
    File {
        path: String,
        #[serde(default)]
        dataset: Option<String>,
        #[serde(default)]
        cycle: bool,
    },
    /// CorrGAN generator sampled on the fly (`models/README.md`; `src/corr/corrgan.rs`).
    Corrgan {
        #[serde(default = "default_corrgan_model")]
        model: String,
        /// `tract` (pure Rust) or `ort` (ONNX Runtime; needs `ort_library` or ORT_DYLIB_PATH).
        #[serde(default = "default_corrgan_backend")]
        backend: String,
        #[serde(default)]
        ort_library: Option<String>,
        /// Trials per generator call.
        #[serde(default = "default_corrgan_batch")]
        batch: usize,
        /// `qi_sun_newton` (default) or `higham_dykstra`.
        #[serde(default)]
        repair: Option<String>,
        #[serde(default)]
        repair_tol: Option<f64>,
        /// Lower bound on the eigenvalues of the repaired matrices (default 0).
        #[serde(default)]
        eig_floor: Option<f64>,
    },
    /// Rolling-window correlations of a returns panel (`src/corr/empirical.rs`).
    Empirical {
        /// A CSV/.npy/HDF5 returns panel, or a named panel (`french49-vw`, `french49-ew`, `french49-mkt`).
        panel: String,
        #[serde(default)]
        dataset: Option<String>,
        /// Window length in days.
        window: usize,
        /// Days between window starts (default: the window length).
        #[serde(default)]
        step: Option<usize>,
        /// `sequential`, `cycle` or `random` (default).
        #[serde(default)]
        choice: Option<String>,
        /// First and last date used, `YYYY-MM-DD`.
        #[serde(default)]
        start: Option<String>,
        #[serde(default)]
        end: Option<String>,
    },
    /// A matrix bank written by `corrmc sample` (trial i replays matrix i).
    Bank {
        path: String,
        #[serde(default)]
        cycle: bool,
    },
}

fn default_corrgan_model() -> String {
    crate::corr::corrgan::DEFAULT_MODEL.to_string()
}
fn default_corrgan_backend() -> String {
    "tract".to_string()
}
fn default_corrgan_batch() -> usize {
    64
}

/// `[volatility]`: per-asset daily volatilities.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "model", rename_all = "lowercase", deny_unknown_fields)]
pub enum VolSpec {
    /// σ = 1 (a struct variant so that unknown keys beside `model = "unit"` are refused).
    Unit {},
    Uniform {
        low: f64,
        high: f64,
    },
}

/// `[returns] model`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Default)]
#[serde(rename_all = "lowercase")]
pub enum MeanKind {
    /// μ = 0 (the default).
    #[default]
    Zero,
    /// Per-asset Sharpe ratios, see [`MeanModel::Sharpe`].
    Sharpe,
}

/// `[returns] tails`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Default)]
#[serde(rename_all = "snake_case")]
pub enum TailsKind {
    #[default]
    Normal,
    /// Multivariate Student-t scaled to Σ, see [`Tails::StudentT`].
    StudentT,
}

/// `[returns]`: the return model (`src/simulate.rs`) and the CRRA γ of the metrics.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ReturnsSpec {
    #[serde(default)]
    pub model: MeanKind,
    /// Mean of the per-asset annualized Sharpe ratios (`model = "sharpe"`, required).
    #[serde(default)]
    pub sharpe_mean: Option<f64>,
    /// Their standard deviation across assets and trials (default 0: all equal).
    #[serde(default)]
    pub sharpe_sd: Option<f64>,
    /// Annualized Sharpe ratio of the CAPM premium on the equal-weight market (default 0).
    #[serde(default)]
    pub market_sharpe: Option<f64>,
    #[serde(default)]
    pub tails: TailsKind,
    /// Degrees of freedom of Student-t tails (required with `tails = "student_t"`).
    #[serde(default)]
    pub nu: Option<f64>,
    /// Relative risk aversion γ of the `oos_crra_ce` metric (default 2.5).
    #[serde(default)]
    pub crra_gamma: Option<f64>,
}

/// Largest |annualized Sharpe ratio| of `[returns]` keys: 10 is far beyond any asset's.
pub const MAX_ABS_SHARPE: f64 = 10.0;
/// Range of Student-t degrees of freedom: ν > 2 for a finite covariance; beyond 1e6
/// the tails are normal to f64 precision.
pub const MAX_NU: f64 = 1e6;
/// Largest CRRA γ.
pub const MAX_CRRA_GAMMA: f64 = 100.0;

impl ReturnsSpec {
    /// The validated return model and CRRA γ; errors name the key (`returns.<key>`)
    /// and the valid range.
    pub fn resolve(&self, annualization: f64) -> Result<(ReturnModel, f64), (String, String)> {
        let bad = |k: &str, m: String| Err((format!("returns.{k}"), m));
        let sharpe = |k: &str, v: f64, lo: f64| -> Result<f64, (String, String)> {
            if v.is_finite() && (lo..=MAX_ABS_SHARPE).contains(&v) {
                Ok(v)
            } else {
                Err((
                    format!("returns.{k}"),
                    format!(
                        "an annualized Sharpe ratio between {lo} and {MAX_ABS_SHARPE}, got {v}"
                    ),
                ))
            }
        };
        let mean = match self.model {
            MeanKind::Zero => {
                for (k, v) in [
                    ("sharpe_mean", self.sharpe_mean),
                    ("sharpe_sd", self.sharpe_sd),
                    ("market_sharpe", self.market_sharpe),
                ] {
                    if v.is_some() {
                        return bad(
                            k,
                            "applies only with model = \"sharpe\" (the model here is \"zero\")"
                                .into(),
                        );
                    }
                }
                MeanModel::Zero
            }
            MeanKind::Sharpe => {
                let Some(m) = self.sharpe_mean else {
                    return bad(
                        "sharpe_mean",
                        "required with model = \"sharpe\": the mean annualized Sharpe ratio \
                         of the assets, e.g. sharpe_mean = 0.3"
                            .into(),
                    );
                };
                MeanModel::Sharpe {
                    mean: sharpe("sharpe_mean", m, -MAX_ABS_SHARPE)?,
                    sd: sharpe("sharpe_sd", self.sharpe_sd.unwrap_or(0.0), 0.0)?,
                    market: sharpe(
                        "market_sharpe",
                        self.market_sharpe.unwrap_or(0.0),
                        -MAX_ABS_SHARPE,
                    )?,
                    annualization,
                }
            }
        };
        let tails = match (self.tails, self.nu) {
            (TailsKind::Normal, None) => Tails::Normal,
            (TailsKind::Normal, Some(_)) => {
                return bad(
                    "nu",
                    "applies only with tails = \"student_t\" (the tails here are \"normal\")"
                        .into(),
                );
            }
            (TailsKind::StudentT, None) => {
                return bad(
                    "nu",
                    "required with tails = \"student_t\": degrees of freedom > 2, e.g. nu = 5"
                        .into(),
                );
            }
            (TailsKind::StudentT, Some(nu)) => {
                if !(nu.is_finite() && nu > 2.0 && nu <= MAX_NU) {
                    return bad(
                        "nu",
                        format!(
                            "degrees of freedom must be > 2 (finite covariance) and at most \
                             {MAX_NU}, got {nu}"
                        ),
                    );
                }
                Tails::StudentT { nu }
            }
        };
        let gamma = self.crra_gamma.unwrap_or(DEFAULT_CRRA_GAMMA);
        if !(gamma.is_finite() && gamma > 0.0 && gamma <= MAX_CRRA_GAMMA) {
            return bad(
                "crra_gamma",
                format!(
                    "relative risk aversion must be > 0 and at most {MAX_CRRA_GAMMA} \
                     (1 = log utility; the DHRP paper uses 2.5 and 1.2), got {gamma}"
                ),
            );
        }
        Ok((ReturnModel { mean, tails }, gamma))
    }
}

/// Reads a spec file: its text and the folder its relative input paths resolve against.
pub fn read_spec_file(path: &Path) -> Result<(String, &Path), Error> {
    if path.is_dir() {
        return Err(Error::io(path, "is a folder, not a spec file (.toml)"));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(path, format!("cannot read spec: {e}")))?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok((text, base))
}

/// Resolves one input path of a spec: absolute as is, relative against `base`. A path that
/// does not exist there but names a shipped model (e.g. `models/corrgan/generator_50d.onnx`)
/// is served from the copy embedded in the binary ([`crate::shipped`]).
fn resolve_input(base: Option<&Path>, key: &str, p: &str) -> Result<String, (String, String)> {
    let given = Path::new(p);
    let path = match base {
        Some(b) if given.is_relative() => b.join(given),
        _ => given.to_path_buf(),
    };
    if path.exists() {
        return Ok(path.display().to_string());
    }
    if let Some(shipped) = crate::shipped::materialize(p) {
        return shipped
            .map(|q| q.display().to_string())
            .map_err(|e| (key.to_string(), e.to_string()));
    }
    let how = match base {
        Some(b) if given.is_relative() => format!(
            " (relative paths in a spec resolve against the spec's folder '{}')",
            b.display()
        ),
        _ => String::new(),
    };
    Err((
        key.to_string(),
        format!("file '{}' not found{how}", path.display()),
    ))
}

/// Resolves every input path of the spec in place (see [`resolve_input`]).
fn resolve_paths(raw: &mut RawSpec, base: Option<&Path>) -> Result<(), (String, String)> {
    match &mut raw.source {
        SourceSpec::File { path, dataset, .. } => {
            let (file, inline) = match crate::npy::split_h5_spec(path) {
                Some((f, d)) => (f.to_string(), Some(d.to_string())),
                None => (path.clone(), None),
            };
            let resolved = resolve_input(base, "source.path", &file)?;
            let lower = file.to_ascii_lowercase();
            let is_h5 = [".h5", ".hdf5", ".hdf"].iter().any(|e| lower.ends_with(e));
            if is_h5 && inline.is_none() && dataset.is_none() {
                return Err((
                    "source.dataset".into(),
                    format!(
                        "required for the HDF5 file '{file}': the path of the dataset holding the \
                         [k, n, n] or [n, n] matrices, e.g. dataset = \"/corr\""
                    ),
                ));
            }
            *path = match inline {
                Some(d) => format!("{resolved}:{d}"),
                None => resolved,
            };
        }
        SourceSpec::Bank { path, .. } => *path = resolve_input(base, "source.path", path)?,
        SourceSpec::Corrgan {
            model, ort_library, ..
        } => {
            *model = resolve_input(base, "source.model", model)?;
            if let Some(lib) = ort_library {
                *lib = resolve_input(base, "source.ort_library", lib)?;
            }
        }
        SourceSpec::Empirical { panel, .. } => {
            *panel = match crate::corr::empirical::named_panel(panel) {
                Some(r) => r
                    .map(|p| p.display().to_string())
                    .map_err(|m| ("source.panel".to_string(), m))?,
                None => resolve_input(base, "source.panel", panel)?,
            };
        }
        SourceSpec::Uniform { .. } | SourceSpec::Block { .. } => {}
    }
    for (method, table) in raw.control.iter_mut() {
        if let Some(toml::Value::String(m)) = table.get_mut("model") {
            *m = resolve_input(base, &format!("control.{method}.model"), m)?;
        }
    }
    Ok(())
}

/// Range checks of the top-level keys that need no source or method (each names the key
/// and the valid range).
fn validate_ranges(raw: &RawSpec) -> Result<(), (String, String)> {
    let bad = |k: &str, m: String| Err((k.to_string(), m));
    if raw.trials > MAX_TRIALS {
        return bad(
            "trials",
            format!("must be at most {MAX_TRIALS}, got {}", raw.trials),
        );
    }
    if raw.assets > MAX_ASSETS {
        return bad(
            "assets",
            format!("must be at most {MAX_ASSETS}, got {}", raw.assets),
        );
    }
    for (k, v) in [
        ("in_sample_days", raw.in_sample_days),
        ("out_of_sample_days", raw.out_of_sample_days),
    ] {
        if v > MAX_DAYS {
            return bad(k, format!("must be at most {MAX_DAYS}, got {v}"));
        }
    }
    let a = raw.annualization;
    if !(a.is_finite() && (MIN_ANNUALIZATION..=MAX_ANNUALIZATION).contains(&a)) {
        return bad(
            "annualization",
            format!(
                "periods per year, between {MIN_ANNUALIZATION} and {MAX_ANNUALIZATION} \
                 (252 for daily, 52 weekly, 12 monthly data), got {a}"
            ),
        );
    }
    if let Some(c) = raw.chunk_trials
        && !(1..=MAX_CHUNK_TRIALS).contains(&c)
    {
        return bad(
            "chunk_trials",
            format!("must be between 1 and {MAX_CHUNK_TRIALS}, got {c}"),
        );
    }
    if let VolSpec::Uniform { low, high } = raw.volatility
        && !(low.is_finite()
            && high.is_finite()
            && low >= MIN_DAILY_VOL
            && high <= MAX_DAILY_VOL
            && low <= high)
    {
        return bad(
            "volatility",
            format!(
                "uniform needs {MIN_DAILY_VOL} <= low <= high <= {MAX_DAILY_VOL} \
                 (daily volatilities, e.g. low = 0.005, high = 0.03), got low = {low}, high = {high}"
            ),
        );
    }
    if let SourceSpec::Uniform { eta } = raw.source
        && !(eta.is_finite() && (MIN_ETA..=MAX_ETA).contains(&eta))
    {
        return bad(
            "source.eta",
            format!(
                "must be between {MIN_ETA} and {MAX_ETA} (1 = uniform over correlation matrices; \
                 smaller spreads correlations towards ±1, larger concentrates them at 0), got {eta}"
            ),
        );
    }
    Ok(())
}

/// Largest `trials` a spec may ask for (a u64 trial index and HDF5 extents stay far from
/// overflow; larger studies are sweeps or several seeds).
pub const MAX_TRIALS: u64 = 1_000_000_000;
/// Largest `assets`: n² matrices of 8 bytes at n = 20000 are 3.2 GB each.
pub const MAX_ASSETS: usize = 20_000;
/// Longest path (days) per sample.
pub const MAX_DAYS: usize = 10_000_000;
/// Range of `annualization` (periods per year).
pub const MIN_ANNUALIZATION: f64 = 0.01;
pub const MAX_ANNUALIZATION: f64 = 1e6;
/// Largest `chunk_trials`.
pub const MAX_CHUNK_TRIALS: usize = 1_000_000;
/// Range of daily volatilities of the `uniform` model: beyond these, variances overflow
/// or underflow f64 in the metrics.
pub const MIN_DAILY_VOL: f64 = 1e-8;
pub const MAX_DAILY_VOL: f64 = 10.0;
/// Range of the LKJ η of the uniform source: below the minimum the onion method's Beta
/// parameters underflow.
pub const MIN_ETA: f64 = 1e-3;
pub const MAX_ETA: f64 = 1e6;

impl Default for VolSpec {
    fn default() -> Self {
        VolSpec::Unit {}
    }
}

/// A validated spec.
#[derive(Debug, Clone)]
pub struct Spec {
    pub raw: RawSpec,
    /// Where it came from (file path or `<embedded quickstart>`).
    pub origin: String,
    /// The exact text, stored in the output.
    pub text: String,
    pub methods: Vec<&'static str>,
    pub sim: SimParams,
    pub output: PathBuf,
    pub chunk_trials: usize,
    /// Control parameters per method (empty for defaults).
    pub controls: std::collections::BTreeMap<String, crate::alloc::Control>,
    /// CRRA relative risk aversion γ of the `oos_crra_ce` metric (`[returns] crra_gamma`).
    pub crra_gamma: f64,
}

impl Spec {
    /// Reads, parses and validates a spec file; relative input paths in it (sources, models,
    /// libraries) resolve against the file's folder.
    pub fn from_file(path: &Path) -> Result<Spec, Error> {
        let (text, base) = read_spec_file(path)?;
        Spec::parse_in(&text, &path.display().to_string(), Some(base))
    }

    /// Parses and validates spec text; `origin` names it in errors. Relative input paths
    /// resolve against the working directory.
    pub fn parse(text: &str, origin: &str) -> Result<Spec, Error> {
        Spec::parse_in(text, origin, None)
    }

    /// Parses and validates spec text whose relative input paths resolve against `base`
    /// (the spec file's folder; `None`: the working directory).
    pub fn parse_in(text: &str, origin: &str, base: Option<&Path>) -> Result<Spec, Error> {
        let mut raw: RawSpec =
            toml::from_str(text).map_err(|e| Error::spec(origin, format!("invalid spec: {e}")))?;
        let bad = |key: &str, msg: String| Error::spec(origin, format!("key `{key}`: {msg}"));
        resolve_paths(&mut raw, base).map_err(|(k, m)| bad(&k, m))?;
        validate_ranges(&raw).map_err(|(k, m)| bad(&k, m))?;
        if raw.name.trim().is_empty() {
            return Err(bad("name", "must not be empty".into()));
        }
        if raw.trials < 1 {
            return Err(bad(
                "trials",
                format!("must be at least 1, got {}", raw.trials),
            ));
        }
        if raw.assets < 2 {
            return Err(bad(
                "assets",
                format!("must be at least 2, got {}", raw.assets),
            ));
        }
        if raw.in_sample_days < 2 {
            return Err(bad(
                "in_sample_days",
                format!(
                    "must be at least 2 (a sample covariance needs 2 days), got {}",
                    raw.in_sample_days
                ),
            ));
        }
        if raw.out_of_sample_days < 2 {
            return Err(bad(
                "out_of_sample_days",
                format!("must be at least 2, got {}", raw.out_of_sample_days),
            ));
        }
        if raw.methods.is_empty() {
            return Err(bad(
                "methods",
                "must list at least one method (see `corrmc methods`)".into(),
            ));
        }
        let methods = crate::alloc::resolve(&raw.methods).map_err(|m| bad("methods", m))?;
        let mut controls = std::collections::BTreeMap::new();
        for (method, table) in &raw.control {
            let key = format!("control.{method}");
            if !methods.contains(&method.as_str()) {
                return Err(bad(
                    &key,
                    format!("'{method}' is not among the spec's methods"),
                ));
            }
            let mut c = crate::alloc::Control::new();
            for (k, v) in table {
                let text = match v {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    other => {
                        return Err(bad(
                            &format!("{key}.{k}"),
                            format!("must be a number, string or boolean, got {other}"),
                        ));
                    }
                };
                c = c.with(k, text);
            }
            crate::alloc::build_with(method, &c).map_err(|m| bad(&key, m))?;
            controls.insert(method.clone(), c);
        }
        let chunk_trials = raw.chunk_trials.unwrap_or(256);
        if chunk_trials < 1 {
            return Err(bad("chunk_trials", "must be at least 1".into()));
        }
        let vol = match raw.volatility {
            VolSpec::Unit {} => VolModel::Unit,
            VolSpec::Uniform { low, high } => VolModel::Uniform { low, high },
        };
        let output = PathBuf::from(
            raw.output
                .clone()
                .unwrap_or_else(|| format!("results/{}.h5", raw.name)),
        );
        let (returns, crra_gamma) = raw
            .returns
            .clone()
            .unwrap_or_default()
            .resolve(raw.annualization)
            .map_err(|(k, m)| bad(&k, m))?;
        let sim = SimParams {
            in_sample_days: raw.in_sample_days,
            out_of_sample_days: raw.out_of_sample_days,
            vol,
            returns,
        };
        let spec = Spec {
            origin: origin.to_string(),
            text: text.to_string(),
            methods,
            sim,
            output,
            chunk_trials,
            controls,
            crra_gamma,
            raw,
        };
        // Construct the source once so its parameters are checked now, not mid-run.
        if !matches!(
            spec.raw.source,
            SourceSpec::File { .. } | SourceSpec::Bank { .. }
        ) {
            spec.build_source()?;
        }
        Ok(spec)
    }

    /// Builds every method once and checks that it can run at the spec's `assets` (e.g. a DHRP
    /// model trained for another n is refused here, not in every trial). `run` calls it before
    /// any work; `export-training`, which allocates nothing, does not.
    pub fn check_methods(&self) -> Result<(), Error> {
        for &m in &self.methods {
            let c = self.controls.get(m).cloned().unwrap_or_default();
            let a = crate::alloc::build_with(m, &c)
                .map_err(|e| Error::spec(&self.origin, format!("key `methods`: {m}: {e}")))?;
            a.supports(self.raw.assets)
                .map_err(|e| Error::spec(&self.origin, format!("key `methods`: {m}: {e}")))?;
        }
        Ok(())
    }

    /// The parameters of [`crate::metrics::measure`].
    pub fn metric_params(&self) -> MetricParams {
        MetricParams {
            annualization: self.raw.annualization,
            crra_gamma: self.crra_gamma,
        }
    }

    /// The embedded quick-start spec.
    pub fn quickstart() -> Spec {
        Spec::parse(QUICKSTART, "<embedded experiments/quickstart.toml>")
            .expect("embedded quickstart spec is valid")
    }

    /// Builds the correlation source, checking its dimension against `assets`.
    pub fn build_source(&self) -> Result<Box<dyn CorrSource>, Error> {
        let n = self.raw.assets;
        let bad = |key: &str, msg: String| Error::spec(&self.origin, format!("key `{key}`: {msg}"));
        let src: Box<dyn CorrSource> = match &self.raw.source {
            SourceSpec::Uniform { eta } => {
                Box::new(crate::corr::onion::Onion::new(n, *eta).map_err(|m| bad("source", m))?)
            }
            SourceSpec::Block {
                sectors,
                subsectors,
                market,
                sector,
                subsector,
            } => {
                let d = crate::corr::block::BlockParams::default();
                let p = crate::corr::block::BlockParams {
                    n,
                    sectors: sectors.unwrap_or(d.sectors),
                    subsectors: subsectors.unwrap_or(d.subsectors),
                    market: market.unwrap_or(d.market),
                    sector: sector.unwrap_or(d.sector),
                    subsector: subsector.unwrap_or(d.subsector),
                };
                Box::new(
                    crate::corr::block::BlockModel::new(p)
                        .map_err(|(k, m)| bad(&format!("source.{k}"), m))?,
                )
            }
            SourceSpec::File {
                path,
                dataset,
                cycle,
            } => {
                let f = crate::corr::file::FileSource::load(path, dataset.as_deref(), *cycle)?;
                if !cycle && (f.len() as u64) < self.raw.trials {
                    return Err(bad(
                        "trials",
                        format!(
                            "{} trials but {path} holds {} matrices; lower trials or set source.cycle = true",
                            self.raw.trials,
                            f.len()
                        ),
                    ));
                }
                Box::new(f)
            }
            SourceSpec::Corrgan {
                model,
                backend,
                ort_library,
                batch,
                repair,
                repair_tol,
                eig_floor,
            } => {
                let d = crate::nearest::NearestParams::default();
                let repair = crate::nearest::NearestParams {
                    method: match repair {
                        Some(m) => crate::nearest::RepairMethod::parse(m)
                            .map_err(|e| bad("source.repair", e.to_string()))?,
                        None => d.method,
                    },
                    tol: repair_tol.unwrap_or(d.tol),
                    eig_floor: eig_floor.unwrap_or(d.eig_floor),
                    ..d
                };
                if !(repair.tol > 0.0 && repair.tol < 1e-2) {
                    return Err(bad(
                        "source.repair_tol",
                        format!("must lie in (0, 1e-2), got {}", repair.tol),
                    ));
                }
                if !(0.0..1.0).contains(&repair.eig_floor) {
                    return Err(bad(
                        "source.eig_floor",
                        format!(
                            "must lie in [0, 1) (a correlation matrix's eigenvalues average 1), got {}",
                            repair.eig_floor
                        ),
                    ));
                }
                repair
                    .validate()
                    .map_err(|e| bad("source", e.to_string()))?;
                if *batch == 0 {
                    return Err(bad("source.batch", "must be at least 1".into()));
                }
                let p = crate::corr::corrgan::CorrGanParams {
                    model: PathBuf::from(model),
                    backend: crate::onnx::Backend::parse(backend)
                        .map_err(|e| bad("source.backend", e.to_string()))?,
                    batch: *batch,
                    ort_library: ort_library.as_ref().map(PathBuf::from),
                    threads: 1,
                    expected_dim: Some(n),
                    repair,
                };
                Box::new(crate::corr::corrgan::CorrGan::new(p).map_err(|e| match e {
                    // The model loads but makes matrices of another size: the key to change
                    // is `assets` (or the model).
                    Error::Model { message, .. } if message.contains("study asks for") => bad(
                        "assets",
                        format!("{message}; set assets to the model's size or choose another source.model"),
                    ),
                    other => other,
                })?)
            }
            SourceSpec::Empirical {
                panel,
                dataset,
                window,
                step,
                choice,
                start,
                end,
            } => {
                use crate::corr::empirical::{
                    Empirical, EmpiricalParams, Panel, WindowChoice, parse_date,
                };
                let date = |k: &str, v: &Option<String>| -> Result<Option<u32>, Error> {
                    v.as_deref()
                        .map(|d| {
                            parse_date(d)
                                .ok_or_else(|| bad(k, format!("'{d}' is not a date (YYYY-MM-DD)")))
                        })
                        .transpose()
                };
                let params = EmpiricalParams {
                    n,
                    window: *window,
                    step: step.unwrap_or(*window),
                    choice: WindowChoice::parse(choice.as_deref().unwrap_or("random"))
                        .map_err(|m| bad("source.choice", m))?,
                    start: date("source.start", start)?,
                    end: date("source.end", end)?,
                };
                let p = Panel::read(Path::new(panel), dataset.as_deref())?;
                let e = Empirical::new(&p, params).map_err(|(k, m)| bad(&k, m))?;
                if e.choice() == WindowChoice::Sequential && (e.len() as u64) < self.raw.trials {
                    return Err(bad(
                        "trials",
                        format!(
                            "{} trials but the panel has {} usable windows; lower trials or set source.choice = \"cycle\" or \"random\"",
                            self.raw.trials,
                            e.len()
                        ),
                    ));
                }
                Box::new(e)
            }
            SourceSpec::Bank { path, cycle } => {
                let b = crate::corr::bank::BankSource::open(Path::new(path), *cycle)?;
                if b.bank().dim() != n {
                    return Err(bad(
                        "assets",
                        format!(
                            "{n} assets but bank {path} holds {d}x{d} matrices",
                            d = b.bank().dim()
                        ),
                    ));
                }
                if !cycle && (b.bank().len() as u64) < self.raw.trials {
                    return Err(bad(
                        "trials",
                        format!(
                            "{} trials but bank {path} holds {} matrices; lower trials or set source.cycle = true",
                            self.raw.trials,
                            b.bank().len()
                        ),
                    ));
                }
                Box::new(b)
            }
        };
        if src.dim() != n {
            return Err(bad(
                "assets",
                format!(
                    "is {n} but the source produces {}x{} matrices",
                    src.dim(),
                    src.dim()
                ),
            ));
        }
        match &self.raw.regime {
            None => Ok(src),
            Some(r) => self.regime_source(src, r),
        }
    }

    /// Wraps the source in the `[regime]` filter, after checking that the source can be
    /// redrawn and that trial 0 reaches the range (so a hopeless range fails before work).
    fn regime_source(
        &self,
        src: Box<dyn CorrSource>,
        r: &RegimeSpec,
    ) -> Result<Box<dyn CorrSource>, Error> {
        use crate::corr::regime::{DEFAULT_MAX_DRAWS, Regime, RegimeParams};
        let bad = |key: &str, msg: String| Error::spec(&self.origin, format!("key `{key}`: {msg}"));
        let params = RegimeParams {
            mean_corr: r.mean_corr,
            first_eig_share: r.first_eig_share,
            max_draws: r.max_draws.unwrap_or(DEFAULT_MAX_DRAWS),
        };
        params.validate().map_err(|(k, m)| bad(&k, m))?;
        let fixed = match &self.raw.source {
            SourceSpec::File { .. } | SourceSpec::Bank { .. } => true,
            SourceSpec::Empirical { choice, .. } => {
                !matches!(choice.as_deref(), None | Some("random"))
            }
            _ => false,
        };
        if fixed {
            return Err(bad(
                "regime",
                "needs a source that draws a new matrix for a new seed (uniform, block, corrgan,                  or empirical with choice = \"random\"); this source gives trial i the same matrix \
                 on every draw. For a period of an empirical panel use source.start / source.end"
                    .into(),
            ));
        }
        let reg = Regime::new(src, params);
        reg.sample(self.raw.seed, 0)
            .map_err(|e| bad("regime", e.to_string()))?;
        Ok(Box::new(reg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
seed = 1
trials = 10
assets = 5
in_sample_days = 20
out_of_sample_days = 20
methods = ["EW", "HRP"]
[source]
kind = "uniform"
"#;

    #[test]
    fn parses_good_spec() {
        let s = Spec::parse(GOOD, "t.toml").unwrap();
        assert_eq!(s.methods, vec!["EW", "HRP"]);
        assert_eq!(s.raw.annualization, 252.0);
        assert_eq!(s.output, PathBuf::from("results/t.h5"));
        assert_eq!(s.sim.vol, VolModel::Unit);
    }

    fn err(text: &str) -> String {
        Spec::parse(text, "x.toml").unwrap_err().to_string()
    }

    #[test]
    fn unknown_keys_wrong_types_and_impossible_values() {
        let e = err(&GOOD.replace("seed = 1", "seed = 1\ntrails = 3"));
        assert!(
            e.contains("x.toml") && e.contains("unknown field `trails`") && e.contains("line"),
            "{e}"
        );
        let e = err(&GOOD.replace("trials = 10", "trials = \"ten\""));
        assert!(e.contains("trials") && e.contains("line 4"), "{e}");
        let e = err(&GOOD.replace("trials = 10", "trials = 0"));
        assert!(
            e.contains("key `trials`") && e.contains("at least 1"),
            "{e}"
        );
        let e = err(&GOOD.replace("kind = \"uniform\"", "kind = \"uniform\"\nsectors = 3"));
        assert!(e.contains("unknown field `sectors`"), "{e}");
        let e = err(&GOOD.replace("kind = \"uniform\"", "kind = \"gan\""));
        assert!(
            e.contains("unknown variant `gan`") && e.contains("uniform"),
            "{e}"
        );
        let e = err(&GOOD.replace("\"HRP\"", "\"HPR\""));
        assert!(
            e.contains("key `methods`") && e.contains("did you mean 'HRP'"),
            "{e}"
        );
        let e = err(&format!(
            "{GOOD}\n[volatility]\nmodel = \"uniform\"\nlow = 2.0\nhigh = 1.0\n"
        ));
        assert!(e.contains("key `volatility`"), "{e}");
        let e = err(&GOOD.replace(
            "kind = \"uniform\"",
            "kind = \"block\"\nsectors = 1\nsubsectors = 1\nmarket = [0.8, 0.9]",
        ));
        assert!(
            e.contains("source.market/sector/subsector") && e.contains("communality"),
            "{e}"
        );
        let e = err(&format!("{GOOD}\n[control.HRP]\nfoo = 1\n"));
        assert!(
            e.contains("key `control.HRP`") && e.contains("no control parameters"),
            "{e}"
        );
        let e = err(&format!(
            "{GOOD}\n[control.HRP_ser_BBURCG]\nmax_nodes = 10\n"
        ));
        assert!(
            e.contains("key `control.HRP_ser_BBURCG`") && e.contains("not among"),
            "{e}"
        );
        let spec = GOOD.replace("\"HRP\"]", "\"HRP_ser_BBURCG\"]");
        let e = err(&format!(
            "{spec}\n[control.HRP_ser_BBURCG]\nmax_node = 10\n"
        ));
        assert!(
            e.contains("no control parameter 'max_node'") && e.contains("max_nodes"),
            "{e}"
        );
        Spec::parse(
            &format!("{spec}\n[control.HRP_ser_BBURCG]\nmax_nodes = 10\n"),
            "x.toml",
        )
        .unwrap();
        let e = err("name = \"t\"\nseed = [1");
        assert!(e.contains("x.toml") && e.contains("invalid spec"), "{e}");
    }

    #[test]
    fn shipped_experiments_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
        let mut count = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "toml") {
                // Sweeps too: every grid point is resolved and validated.
                crate::sweep::Study::from_file(&p).unwrap_or_else(|e| panic!("{e}"));
                count += 1;
            }
        }
        assert!(count >= 2);
        Spec::quickstart();
    }
}
