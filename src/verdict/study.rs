//! Reading a result file for the verdict, one *study group* at a time.
//!
//! A study group holds the single-run layout (README "Output layout": `/methods`,
//! `/metrics/<name>`, `/status`, `/status_oos`, `/errors`): the file root of a
//! plain run, or `/points/<k>` of a sweep (whose `/sweep` group describes the
//! grid). Only the metric and status tables are read — never `/weights` — one
//! group at a time, so memory is a few `T × M` tables whatever the file's size.
//!
//! Trials that were never run (status 255 for every method: the unfinished tail of
//! a `.partial` file) are dropped; failures (status ≠ 0 or a non-finite value) stay
//! as NaN and are excluded per comparison by [`super::paired`].

use crate::Error;
use crate::output::h5err;
use hdf5::types::VarLenUnicode;
use ndarray::{Array2, Axis};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Per-trial quantities the verdict analyses; how each is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Smaller is better (volatility, turnover, concentration).
    Lower,
    /// Larger is better (effective number of assets).
    Higher,
    /// Closer to 1 is better (out-of-sample / in-sample volatility: "they should
    /// closely match", blog part 3).
    CloserToOne,
    /// Closer to 0 is better (in-sample minus true volatility: estimation optimism).
    CloserToZero,
    /// Descriptive only (in-sample volatility is what the allocator saw).
    NotJudged,
}

impl Better {
    /// The per-trial loss whose mean ranks methods and whose comparison decides a
    /// win: the value, its negative, or its distance to the target.
    pub fn loss(self, x: f64) -> f64 {
        match self {
            Better::Lower | Better::NotJudged => x,
            Better::Higher => -x,
            Better::CloserToOne => (x - 1.0).abs(),
            Better::CloserToZero => x.abs(),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Better::Lower => "lower is better",
            Better::Higher => "higher is better",
            Better::CloserToOne => "closer to 1 is better",
            Better::CloserToZero => "closer to 0 is better",
            Better::NotJudged => "descriptive",
        }
    }
}

/// A per-trial quantity of the verdict.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Measure {
    pub name: &'static str,
    pub description: &'static str,
    pub better: Better,
}

/// The verdict's quantities, in display order. Derived ones are computed per trial
/// from the stored metrics (`/metrics/<name>`, see `crate::metrics`).
pub const MEASURES: [Measure; 15] = [
    Measure {
        name: "oos_vol",
        description: "annualized out-of-sample volatility of the in-sample weights",
        better: Better::Lower,
    },
    Measure {
        name: "true_vol",
        description: "annualized volatility under the true covariance",
        better: Better::Lower,
    },
    Measure {
        name: "oos_is_ratio",
        description: "oos_vol / is_vol per trial (1: the in-sample estimate held)",
        better: Better::CloserToOne,
    },
    Measure {
        name: "is_true_gap",
        description: "is_vol − true_vol per trial (negative: in-sample risk optimistic)",
        better: Better::CloserToZero,
    },
    Measure {
        name: "turnover",
        description: "½Σ|w_is − w_oos|: weights re-estimated on the out-of-sample path",
        better: Better::Lower,
    },
    Measure {
        name: "n_eff",
        description: "effective number of assets 1/Σw²",
        better: Better::Higher,
    },
    Measure {
        name: "max_weight",
        description: "largest weight",
        better: Better::Lower,
    },
    Measure {
        name: "oos_sharpe",
        description: "annualized out-of-sample Sharpe ratio of the in-sample weights",
        better: Better::Higher,
    },
    Measure {
        name: "true_sharpe",
        description: "annualized Sharpe ratio under the true means and covariance",
        better: Better::Higher,
    },
    Measure {
        name: "oos_crra_ce",
        description: "annualized CRRA certainty equivalent of the out-of-sample daily returns",
        better: Better::Higher,
    },
    Measure {
        name: "oos_mean",
        description: "annualized out-of-sample mean return of the in-sample weights",
        better: Better::Higher,
    },
    Measure {
        name: "true_mean",
        description: "annualized expected return under the true means",
        better: Better::Higher,
    },
    Measure {
        name: "is_vol",
        description: "annualized in-sample volatility (what the allocator saw)",
        better: Better::NotJudged,
    },
    Measure {
        name: "is_sharpe",
        description: "annualized in-sample Sharpe ratio (what the allocator saw)",
        better: Better::NotJudged,
    },
    Measure {
        name: "is_mean",
        description: "annualized in-sample mean return (what the allocator saw)",
        better: Better::NotJudged,
    },
];

/// The measure called `name`, or an error listing the valid names.
pub fn measure(name: &str) -> Result<Measure, String> {
    MEASURES
        .iter()
        .find(|m| m.name == name)
        .copied()
        .ok_or_else(|| {
            format!(
                "unknown metric '{name}'; valid: {}",
                MEASURES.map(|m| m.name).join(", ")
            )
        })
}

/// The measures of returns (issue 13): absent from files written before the return
/// metrics, and not shown by default for studies without expected returns (under the
/// zero-mean model they are estimation noise around 0).
pub const RETURN_MEASURES: [&str; 7] = [
    "oos_sharpe",
    "true_sharpe",
    "oos_crra_ce",
    "oos_mean",
    "true_mean",
    "is_sharpe",
    "is_mean",
];

/// Whether `name` is one of [`RETURN_MEASURES`].
pub fn is_return_measure(name: &str) -> bool {
    RETURN_MEASURES.contains(&name)
}

/// The stored metrics the measures derive from. The first [`RAW_REQUIRED`] are in
/// every result file; the return metrics after them may be missing (files written
/// before them), which drops [`RETURN_MEASURES`].
pub const RAW: [&str; 13] = [
    "is_vol",
    "oos_vol",
    "true_vol",
    "turnover",
    "n_eff",
    "max_weight",
    "is_mean",
    "oos_mean",
    "true_mean",
    "is_sharpe",
    "oos_sharpe",
    "true_sharpe",
    "oos_crra_ce",
];

/// How many of [`RAW`] every result file has.
pub const RAW_REQUIRED: usize = 6;

/// Every measure of [`MEASURES`] whose stored metrics are in `raw` (`[trials ×
/// methods]`, see [`RAW`]), NaN wherever the in-sample status is not 0 or a value
/// is not finite.
pub fn derive(
    mut raw: BTreeMap<&'static str, Array2<f64>>,
    status: &Array2<u8>,
) -> BTreeMap<&'static str, Array2<f64>> {
    for a in raw.values_mut() {
        for ((r, c), v) in a.indexed_iter_mut() {
            if status[(r, c)] != 0 || !v.is_finite() {
                *v = f64::NAN;
            }
        }
    }
    let mut values = BTreeMap::new();
    for ms in MEASURES {
        let v = match ms.name {
            "oos_is_ratio" => &raw["oos_vol"] / &raw["is_vol"],
            "is_true_gap" => &raw["is_vol"] - &raw["true_vol"],
            n => match raw.get(n) {
                Some(a) => a.clone(),
                None => continue,
            },
        };
        values.insert(
            ms.name,
            v.mapv(|x| if x.is_finite() { x } else { f64::NAN }),
        );
    }
    values
}

/// File-level facts (root attributes) and where the study groups are.
#[derive(Clone, Debug, Serialize)]
pub struct FileInfo {
    pub path: String,
    /// A `.partial` file or one without `complete = 1`: results so far only.
    pub partial: bool,
    pub name: String,
    pub spec: String,
    pub spec_origin: String,
    pub source: String,
    pub corrmc_version: String,
    pub git_revision: String,
    pub seed: u64,
    pub trials: u64,
    pub assets: u64,
    pub elapsed_s: Option<f64>,
    pub threads: Option<u64>,
    /// Swept keys (empty for a plain run).
    pub sweep_keys: Vec<String>,
    /// Study groups: `/` for a plain run, `/points/<k>` for a sweep, in grid order.
    pub groups: Vec<String>,
    /// Per group, the swept values (as written in `/sweep/values`).
    pub params: Vec<Vec<String>>,
}

/// One study group's tables, restricted to the trials that were run.
#[derive(Clone, Debug)]
pub struct Study {
    pub group: String,
    pub methods: Vec<String>,
    /// Rows of the group's tables (the planned trials).
    pub planned: usize,
    /// Trial index of each kept row.
    pub trials: Vec<usize>,
    /// `measure name → [trials × methods]`, NaN where the method failed.
    pub values: BTreeMap<&'static str, Array2<f64>>,
    /// Status codes (in-sample weights, out-of-sample re-estimate) per kept row.
    pub status: Array2<u8>,
    pub status_oos: Array2<u8>,
    /// `code → label` from the status table's `codes` attribute.
    pub codes: BTreeMap<u8, String>,
    /// First recorded message per (method, code), from `/errors` when present.
    pub messages: BTreeMap<(usize, u8), String>,
}

pub(crate) fn read_str_attr(loc: &hdf5::Location, name: &str) -> Option<String> {
    loc.attr(name)
        .ok()?
        .read_scalar::<VarLenUnicode>()
        .ok()
        .map(|s| s.as_str().to_string())
}

pub(crate) fn read_u64_attr(loc: &hdf5::Location, name: &str) -> Option<u64> {
    loc.attr(name).ok()?.read_scalar::<u64>().ok()
}

fn read_f64_attr(loc: &hdf5::Location, name: &str) -> Option<f64> {
    loc.attr(name).ok()?.read_scalar::<f64>().ok()
}

fn read_strings(g: &hdf5::Group, name: &str) -> hdf5::Result<Vec<String>> {
    Ok(g.dataset(name)?
        .read_raw::<VarLenUnicode>()?
        .iter()
        .map(|s| s.as_str().to_string())
        .collect())
}

/// Opens a result file read-only with a clear error.
pub fn open(path: &Path) -> Result<hdf5::File, Error> {
    if !path.exists() {
        return Err(Error::io(path, "file not found"));
    }
    hdf5::File::open(path).map_err(|e| {
        if let Some(what) = crate::journal::not_a_result_file(path) {
            return Error::io(path, what);
        }
        Error::io(
            path,
            format!(
                "cannot open as HDF5 ({e}); if a run is still writing it, set HDF5_USE_FILE_LOCKING=FALSE to read it anyway"
            ),
        )
    })
}

/// Reads the root attributes and locates the study groups.
pub fn file_info(path: &Path, f: &hdf5::File) -> Result<FileInfo, Error> {
    let root: &hdf5::Location = f;
    let is_sweep = f.link_exists("sweep");
    let mut groups = Vec::new();
    let mut params = Vec::new();
    let mut sweep_keys = Vec::new();
    if is_sweep {
        let e = h5err(path);
        let points = f.group("points").map_err(|_| {
            Error::io(
                path,
                "has /sweep but no /points group: not a corrmc sweep file",
            )
        })?;
        let mut names: Vec<(u64, String)> = points
            .member_names()
            .map_err(&e)?
            .into_iter()
            .filter_map(|n| n.parse::<u64>().ok().map(|k| (k, n)))
            .collect();
        names.sort();
        let sweep = f.group("sweep").map_err(&e)?;
        sweep_keys = read_strings(&sweep, "keys").unwrap_or_default();
        // `/sweep/values` [points × keys], strings or numbers; absent → index only.
        let values: Option<Vec<String>> = read_strings(&sweep, "values").ok().or_else(|| {
            sweep
                .dataset("values")
                .and_then(|d| d.read_raw::<f64>())
                .ok()
                .map(|v| v.iter().map(|x| format!("{x}")).collect())
        });
        let k = sweep_keys.len().max(1);
        for (i, (_, n)) in names.iter().enumerate() {
            groups.push(format!("/points/{n}"));
            params.push(match &values {
                Some(v) if v.len() == names.len() * sweep_keys.len() && !sweep_keys.is_empty() => {
                    v[i * k..(i + 1) * k].to_vec()
                }
                _ => Vec::new(),
            });
        }
        if groups.is_empty() {
            return Err(Error::io(path, "sweep file has no points under /points"));
        }
    } else {
        if !f.link_exists("methods") {
            return Err(Error::io(
                path,
                "not a corrmc result file (no /methods dataset and no /sweep group)",
            ));
        }
        groups.push("/".to_string());
        params.push(Vec::new());
    }
    let complete = root
        .attr("complete")
        .and_then(|a| a.read_scalar::<u8>())
        .map(|v| v == 1)
        .unwrap_or(false);
    let s = |n: &str| read_str_attr(root, n).unwrap_or_default();
    Ok(FileInfo {
        path: path.display().to_string(),
        partial: !complete || path.extension().is_some_and(|x| x == "partial"),
        name: s("name"),
        spec: s("spec"),
        spec_origin: s("spec_origin"),
        source: s("source"),
        corrmc_version: s("corrmc_version"),
        git_revision: s("git_revision"),
        seed: read_u64_attr(root, "seed").unwrap_or(0),
        trials: read_u64_attr(root, "trials").unwrap_or(0),
        assets: read_u64_attr(root, "assets").unwrap_or(0),
        elapsed_s: read_f64_attr(root, "elapsed_s"),
        threads: read_u64_attr(root, "threads"),
        sweep_keys,
        groups,
        params,
    })
}

fn parse_codes(text: &str) -> BTreeMap<u8, String> {
    text.split(',')
        .filter_map(|p| {
            let (c, l) = p.trim().split_once('=')?;
            Some((c.trim().parse().ok()?, l.trim().to_string()))
        })
        .collect()
}

impl Study {
    /// Reads study group `group` (`/` or `/points/<k>`) of `f`.
    pub fn read(path: &Path, f: &hdf5::File, group: &str) -> Result<Study, Error> {
        let at = |what: &str| {
            let p = PathBuf::from(path);
            let what = what.to_string();
            move |e: hdf5::Error| Error::io(&p, format!("{group}: {what}: {e}"))
        };
        let g = f.group(group).map_err(at("no such group"))?;
        let methods = read_strings(&g, "methods")
            .map_err(at("not a corrmc study group (no readable methods dataset)"))?;
        let m = methods.len();
        let status_ds = g.dataset("status").map_err(at("status"))?;
        let status_all = status_ds.read_2d::<u8>().map_err(at("status"))?;
        let codes = read_str_attr(&status_ds, "codes")
            .map(|t| parse_codes(&t))
            .unwrap_or_default();
        let status_oos_all = g
            .dataset("status_oos")
            .and_then(|d| d.read_2d::<u8>())
            .map_err(at("status_oos"))?;
        if status_all.ncols() != m || status_oos_all.dim() != status_all.dim() {
            return Err(Error::io(
                path,
                format!(
                    "{group}: status is {:?}, status_oos {:?}, but there are {m} methods",
                    status_all.dim(),
                    status_oos_all.dim()
                ),
            ));
        }
        let planned = status_all.nrows();
        let trials: Vec<usize> = (0..planned)
            .filter(|&t| status_all.row(t).iter().any(|&s| s != 255))
            .collect();
        let status = status_all.select(Axis(0), &trials);
        let status_oos = status_oos_all.select(Axis(0), &trials);
        let mut raw: BTreeMap<&'static str, Array2<f64>> = BTreeMap::new();
        for name in RAW {
            let key = format!("metrics/{name}");
            if !RAW[..RAW_REQUIRED].contains(&name) && !g.link_exists(&key) {
                // A file written before the return metrics.
                continue;
            }
            let a = g
                .dataset(&key)
                .and_then(|d| d.read_2d::<f64>())
                .map_err(at(&format!("metrics/{name}")))?;
            if a.dim() != (planned, m) {
                return Err(Error::io(
                    path,
                    format!(
                        "{group}: metrics/{name} is {:?}, expected ({planned}, {m})",
                        a.dim()
                    ),
                ));
            }
            raw.insert(name, a.select(Axis(0), &trials));
        }
        let values = derive(raw, &status);
        let mut messages = BTreeMap::new();
        if let (Ok(mi), Ok(code), Ok(msg)) = (
            g.dataset("errors/method").and_then(|d| d.read_raw::<u64>()),
            g.dataset("errors/code").and_then(|d| d.read_raw::<u64>()),
            read_strings(&g, "errors/message"),
        ) {
            for ((mi, c), s) in mi.iter().zip(&code).zip(msg) {
                messages.entry((*mi as usize, *c as u8)).or_insert(s);
            }
        }
        Ok(Study {
            group: group.to_string(),
            methods,
            planned,
            trials,
            values,
            status,
            status_oos,
            codes,
            messages,
        })
    }

    /// The measures this study has (all of [`MEASURES`] but the return measures in
    /// files written before them), in display order.
    pub fn measures(&self) -> impl Iterator<Item = &'static Measure> + '_ {
        MEASURES.iter().filter(|m| self.values.contains_key(m.name))
    }

    /// Whether the study has expected returns: some successful trial's `true_mean`
    /// is not 0 (it is exactly 0 under the zero-mean model).
    pub fn has_expected_returns(&self) -> bool {
        self.values
            .get("true_mean")
            .is_some_and(|a| a.iter().any(|&x| x.is_finite() && x != 0.0))
    }

    /// Column `j` of measure `name` (NaN where the method failed).
    pub fn column(&self, name: &str, j: usize) -> Vec<f64> {
        self.values[name].column(j).to_vec()
    }

    /// Index of method `name`, or an error listing the methods.
    pub fn method_index(&self, name: &str) -> Result<usize, String> {
        self.methods.iter().position(|m| m == name).ok_or_else(|| {
            format!(
                "method '{name}' is not in {}; its methods: {}",
                if self.group == "/" {
                    "this file"
                } else {
                    &self.group
                },
                self.methods.join(", ")
            )
        })
    }

    /// Failures per method: `(side, code) → count`, side 0 in-sample, 1 out-of-sample.
    pub fn failure_counts(&self) -> Vec<BTreeMap<(u8, u8), usize>> {
        (0..self.methods.len())
            .map(|j| {
                let mut c = BTreeMap::new();
                for (side, st) in [(0u8, &self.status), (1u8, &self.status_oos)] {
                    for &s in st.column(j) {
                        if s != 0 && s != 255 {
                            *c.entry((side, s)).or_insert(0) += 1;
                        }
                    }
                }
                c
            })
            .collect()
    }

    /// The label of a status code.
    pub fn code_label(&self, code: u8) -> String {
        self.codes
            .get(&code)
            .cloned()
            .unwrap_or_else(|| format!("code {code}"))
    }
}
