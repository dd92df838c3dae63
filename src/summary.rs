//! `corrmc summary`: per-method distributions of a result file.

use crate::Error;
use crate::metrics::{METRICS, N_METRICS_V1};
use crate::output::h5err;
use hdf5::types::VarLenUnicode;
use ndarray::{Array2, Axis};
use serde::Serialize;
use std::path::Path;

/// Mean, median and standard deviation (ddof = 1) over the trials where the
/// method succeeded.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Stats {
    pub mean: f64,
    pub median: f64,
    pub std: f64,
}

impl Stats {
    pub fn of(values: &[f64]) -> Stats {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Stats {
                mean: f64::NAN,
                median: f64::NAN,
                std: f64::NAN,
            };
        }
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            0.5 * (v[n / 2 - 1] + v[n / 2])
        };
        let std = if n > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Stats { mean, median, std }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct MethodSummary {
    pub method: String,
    pub trials_ok: usize,
    pub trials_failed: usize,
    pub is_vol: Stats,
    pub oos_vol: Stats,
    pub true_vol: Stats,
    /// Per-trial out-of-sample / in-sample volatility ratio.
    pub oos_is_ratio: Stats,
    pub turnover: Stats,
    pub n_eff: Stats,
    pub max_weight: Stats,
    /// Annualized mean returns and Sharpe ratios (NaN in files written before the
    /// return metrics).
    pub is_mean: Stats,
    pub oos_mean: Stats,
    pub true_mean: Stats,
    pub is_sharpe: Stats,
    pub oos_sharpe: Stats,
    pub true_sharpe: Stats,
    /// Annualized CRRA certainty equivalent of the out-of-sample returns.
    pub oos_crra_ce: Stats,
}

/// The summary of a plain result file, or of every point of a sweep.
#[derive(Clone, Debug)]
pub struct Summary {
    pub file: String,
    pub name: String,
    pub trials: usize,
    pub complete: bool,
    /// Per method (plain file; empty for a sweep).
    pub methods: Vec<MethodSummary>,
    /// The swept keys (empty for a plain file).
    pub keys: Vec<String>,
    /// Per grid point of a sweep.
    pub points: Vec<PointSummary>,
}

/// One grid point of a sweep.
#[derive(Clone, Debug)]
pub struct PointSummary {
    pub point: usize,
    /// The point's value of each swept key (JSON, as stored in `/sweep/values`).
    pub values: Vec<serde_json::Value>,
    pub trials: usize,
    pub complete: bool,
    pub methods: Vec<MethodSummary>,
}

impl Serialize for Summary {
    /// A plain file: `{file, name, trials, complete, methods: [...]}`. A sweep, in
    /// long format: `{file, name, complete, keys, rows: [...]}` with one row per
    /// (point, method) holding `point`, the swept keys as columns, then the method's
    /// statistics (`pandas.json_normalize(doc["rows"])` gives one long table).
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("file", &self.file)?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("trials", &self.trials)?;
        m.serialize_entry("complete", &self.complete)?;
        if self.keys.is_empty() && self.points.is_empty() {
            m.serialize_entry("methods", &self.methods)?;
        } else {
            m.serialize_entry("keys", &self.keys)?;
            let mut rows = Vec::new();
            for p in &self.points {
                for ms in &p.methods {
                    let mut row = serde_json::Map::new();
                    row.insert("point".into(), p.point.into());
                    for (k, v) in self.keys.iter().zip(&p.values) {
                        row.insert(k.clone(), v.clone());
                    }
                    row.insert("trials".into(), p.trials.into());
                    row.insert("complete".into(), p.complete.into());
                    if let serde_json::Value::Object(stats) =
                        serde_json::to_value(ms).map_err(serde::ser::Error::custom)?
                    {
                        row.extend(stats);
                    }
                    rows.push(serde_json::Value::Object(row));
                }
            }
            m.serialize_entry("rows", &rows)?;
        }
        m.end()
    }
}

fn open(path: &Path) -> Result<hdf5::File, Error> {
    if !path.exists() {
        return Err(Error::io(path, "file not found"));
    }
    hdf5::File::open(path).map_err(|err| {
        if let Some(what) = crate::journal::not_a_result_file(path) {
            Error::io(path, what)
        } else {
            Error::io(path, format!("not an HDF5 file: {err}"))
        }
    })
}

/// Reads the metrics of a group holding the single-run layout (the root of a
/// plain file, `/points/<k>` of a sweep): (method names, metric name → [trials × methods]).
/// Files written before the return metrics lack those after the first
/// [`N_METRICS_V1`]: they read as NaN.
pub fn read_group_metrics(
    g: &hdf5::Group,
    path: &Path,
) -> Result<(Vec<String>, Vec<(String, Array2<f64>)>), Error> {
    let e = h5err(path);
    let methods: Vec<String> = g
        .dataset("methods")
        .and_then(|d| d.read_1d::<VarLenUnicode>())
        .map_err(|_| Error::io(path, "not a corrmc result file (no /methods dataset)"))?
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let mut metrics: Vec<(String, Array2<f64>)> = Vec::new();
    for (k, (name, _)) in METRICS.iter().enumerate() {
        let key = format!("metrics/{name}");
        let a = if k >= N_METRICS_V1 && !g.link_exists(&key) {
            Array2::from_elem(metrics[0].1.dim(), f64::NAN)
        } else {
            g.dataset(&key)
                .and_then(|d| d.read_2d::<f64>())
                .map_err(&e)?
        };
        metrics.push((name.to_string(), a));
    }
    Ok((methods, metrics))
}

/// Reads a plain result file's metrics: (method names, metric name → [trials × methods]).
pub fn read_metrics(
    path: &Path,
) -> Result<(Vec<String>, Vec<(String, Array2<f64>)>, hdf5::File), Error> {
    let f = open(path)?;
    let (methods, metrics) = read_group_metrics(&f, path)?;
    Ok((methods, metrics, f))
}

fn complete_attr(loc: &hdf5::Location) -> bool {
    loc.attr("complete")
        .and_then(|a| a.read_scalar::<u8>())
        .map(|v| v == 1)
        .unwrap_or(false)
}

/// Per-method statistics of one group: (trials, methods).
fn summarize_group(g: &hdf5::Group, path: &Path) -> Result<(usize, Vec<MethodSummary>), Error> {
    let e = h5err(path);
    let (methods, metrics) = read_group_metrics(g, path)?;
    let status = g
        .dataset("status")
        .and_then(|d| d.read_2d::<u8>())
        .map_err(&e)?;
    let get = |metric: &str| &metrics.iter().find(|(n, _)| n == metric).unwrap().1;
    let col = |metric: &str, j: usize| get(metric).index_axis(Axis(1), j).to_vec();
    let mut out = Vec::new();
    for (j, m) in methods.iter().enumerate() {
        let ok = status.column(j).iter().filter(|&&s| s == 0).count();
        let failed = status
            .column(j)
            .iter()
            .filter(|&&s| s != 0 && s != 255)
            .count();
        let is = col("is_vol", j);
        let oos = col("oos_vol", j);
        let ratio: Vec<f64> = is.iter().zip(&oos).map(|(a, b)| b / a).collect();
        out.push(MethodSummary {
            method: m.clone(),
            trials_ok: ok,
            trials_failed: failed,
            is_vol: Stats::of(&is),
            oos_vol: Stats::of(&oos),
            true_vol: Stats::of(&col("true_vol", j)),
            oos_is_ratio: Stats::of(&ratio),
            turnover: Stats::of(&col("turnover", j)),
            n_eff: Stats::of(&col("n_eff", j)),
            max_weight: Stats::of(&col("max_weight", j)),
            is_mean: Stats::of(&col("is_mean", j)),
            oos_mean: Stats::of(&col("oos_mean", j)),
            true_mean: Stats::of(&col("true_mean", j)),
            is_sharpe: Stats::of(&col("is_sharpe", j)),
            oos_sharpe: Stats::of(&col("oos_sharpe", j)),
            true_sharpe: Stats::of(&col("true_sharpe", j)),
            oos_crra_ce: Stats::of(&col("oos_crra_ce", j)),
        });
    }
    Ok((status.nrows(), out))
}

/// Summarizes a plain result file or a sweep (one block per point).
pub fn summarize(path: &Path) -> Result<Summary, Error> {
    let e = h5err(path);
    let f = open(path)?;
    let complete = complete_attr(&f);
    let name = f
        .attr("name")
        .and_then(|a| a.read_scalar::<VarLenUnicode>())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    if !f.link_exists("points") {
        let (trials, methods) = summarize_group(&f, path)?;
        return Ok(Summary {
            file: path.display().to_string(),
            name,
            trials,
            complete,
            methods,
            keys: Vec::new(),
            points: Vec::new(),
        });
    }
    let keys: Vec<String> = f
        .dataset("sweep/keys")
        .and_then(|d| d.read_1d::<VarLenUnicode>())
        .map_err(&e)?
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let values = f
        .dataset("sweep/values")
        .and_then(|d| d.read_2d::<VarLenUnicode>())
        .map_err(&e)?;
    let mut points = Vec::new();
    let mut trials = 0;
    for (k, row) in values.rows().into_iter().enumerate() {
        let g = f.group(&format!("points/{k}")).map_err(&e)?;
        let (t, methods) = summarize_group(&g, path)?;
        trials += t;
        points.push(PointSummary {
            point: k,
            values: row
                .iter()
                .map(|v| serde_json::from_str(v.as_str()).unwrap_or(serde_json::Value::Null))
                .collect(),
            trials: t,
            complete: complete_attr(&g),
            methods,
        });
    }
    Ok(Summary {
        file: path.display().to_string(),
        name,
        trials,
        complete,
        methods: Vec::new(),
        keys,
        points,
    })
}

/// Whether a study has expected returns: some method's true mean is not 0 (it is
/// exactly 0 under the zero-mean model, NaN in files without return metrics).
pub fn has_expected_returns(methods: &[MethodSummary]) -> bool {
    methods
        .iter()
        .any(|m| m.true_mean.mean != 0.0 && m.true_mean.mean.is_finite())
}

/// Sort keys accepted by `corrmc summary --sort`: ascending for the volatility keys,
/// descending (best first) for the return keys.
pub const SORT_KEYS: [&str; 8] = [
    "spec",
    "oos_vol",
    "ratio",
    "turnover",
    "true_vol",
    "oos_sharpe",
    "true_sharpe",
    "oos_crra_ce",
];

/// A fixed-width text table, optionally ranked; for a sweep, one block per point.
pub fn render(s: &Summary, sort: &str) -> Result<String, String> {
    if s.points.is_empty() {
        return render_methods(&s.methods, &s.name, &s.file, s.trials, s.complete, sort);
    }
    let mut t = format!(
        "{} ({}; sweep of {} points over {}; {} trials{})\n",
        s.name,
        s.file,
        s.points.len(),
        s.keys.join(", "),
        s.trials,
        if s.complete { "" } else { "; INCOMPLETE run" }
    );
    for p in &s.points {
        let label: Vec<String> = s
            .keys
            .iter()
            .zip(&p.values)
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        t += "\n";
        t += &render_methods(
            &p.methods,
            &format!("point {}: {}", p.point, label.join(", ")),
            &format!("/points/{}", p.point),
            p.trials,
            p.complete,
            sort,
        )?;
    }
    Ok(t)
}

fn render_methods(
    methods: &[MethodSummary],
    name: &str,
    file: &str,
    trials: usize,
    complete: bool,
    sort: &str,
) -> Result<String, String> {
    let mut rows: Vec<&MethodSummary> = methods.iter().collect();
    let key = |m: &MethodSummary| match sort {
        "oos_vol" => m.oos_vol.mean,
        "ratio" => m.oos_is_ratio.mean,
        "turnover" => m.turnover.mean,
        "true_vol" => m.true_vol.mean,
        "oos_sharpe" => -m.oos_sharpe.mean,
        "true_sharpe" => -m.true_sharpe.mean,
        "oos_crra_ce" => -m.oos_crra_ce.mean,
        _ => 0.0,
    };
    if !SORT_KEYS.contains(&sort) {
        return Err(format!(
            "unknown sort key '{sort}'; valid: {}",
            SORT_KEYS.join(", ")
        ));
    }
    if sort != "spec" {
        // NaN (a file without return metrics) sorts last.
        rows.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            ka.is_nan().cmp(&kb.is_nan()).then(ka.total_cmp(&kb))
        });
    }
    let mut t = format!(
        "{} ({}; {} trials{})\n",
        name,
        file,
        trials,
        if complete { "" } else { "; INCOMPLETE run" }
    );
    // The name column fits the longest method name (ASRP names reach 50+ characters).
    let w = rows
        .iter()
        .map(|m| m.method.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    // Return columns only for a study with expected returns (or when ranked by one):
    // under the zero-mean model they are estimation noise around 0.
    let returns = has_expected_returns(methods)
        || matches!(sort, "oos_sharpe" | "true_sharpe" | "oos_crra_ce");
    let mut head = format!(
        "{:<w$} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7}",
        "method",
        "failed",
        "is_vol",
        "oos_vol",
        "oos_sd",
        "oos_med",
        "true_vol",
        "oos/is",
        "turnover",
        "n_eff",
        "max_w"
    );
    if returns {
        head += &format!(
            " {:>8} {:>8} {:>8} {:>8}",
            "oos_mean", "oos_SR", "true_SR", "oos_CE"
        );
    }
    t += &head;
    t += "\n";
    for m in rows {
        t += &format!(
            "{:<w$} {:>6} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>7.2} {:>7.4}",
            m.method,
            m.trials_failed,
            m.is_vol.mean,
            m.oos_vol.mean,
            m.oos_vol.std,
            m.oos_vol.median,
            m.true_vol.mean,
            m.oos_is_ratio.mean,
            m.turnover.mean,
            m.n_eff.mean,
            m.max_weight.mean
        );
        if returns {
            t += &format!(
                " {:>8.4} {:>8.4} {:>8.4} {:>8.4}",
                m.oos_mean.mean, m.oos_sharpe.mean, m.true_sharpe.mean, m.oos_crra_ce.mean
            );
        }
        t += "\n";
    }
    t += "means over trials; oos_sd/oos_med: std and median of oos_vol; oos/is: mean of per-trial ratios; failed: trials without in-sample weights (see /errors)\n";
    if returns {
        t += "oos_mean: annualized out-of-sample mean return; oos_SR/true_SR: annualized out-of-sample and true Sharpe ratios; oos_CE: annualized CRRA certainty equivalent of the out-of-sample returns ([returns] crra_gamma)\n";
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn stats_skip_nan_and_use_ddof1() {
        let s = Stats::of(&[1.0, f64::NAN, 3.0, 2.0]);
        assert_eq!(s.mean, 2.0);
        assert_eq!(s.median, 2.0);
        assert_eq!(s.std, 1.0);
    }
}
