//! Empirical correlation matrices: the sample correlation of rolling windows of a returns
//! panel (e.g. the Kenneth R. French 49 industry portfolios, daily), optionally restricted
//! to a date range and to a random subset of n assets per trial — the way the CorrGAN
//! paper (Marti 2020, `../shared/papers/blog-hrp-part3-corrgan.md`) samples real matrices.
//!
//! Panel format: a CSV with a header row of asset names and a first column of dates
//! (`YYYY-MM-DD`, `YYYYMMDD` or `m/d/yy[yy]`, two-digit years below 50 in 20xx), or a
//! `.npy`/HDF5 [T, N] array (no dates, so no date range). Missing values — empty cells,
//! `NaN`/`NA`, and the French library's codes −99.99 and −999 — are NaN.
//!
//! Missing-value rule: a window is used only if every asset of the panel has a value on
//! every day of it and no asset is constant over it (its correlation would be undefined);
//! the other windows are skipped and counted ([`Empirical::skipped`]). A column constant
//! over the whole panel, a panel shorter than one window, or a panel left with no usable
//! window is refused at load.
//!
//! Per trial *i* (stream `(seed, Correlation, i)` only): the window — `sequential` (window
//! i; as many trials as windows), `cycle` (i mod W) or `random` (uniform) — then, when
//! `assets` < N, a uniformly random subset of n assets (kept in panel order). The matrix
//! is the numpy `corrcoef` of that window and those assets.

use super::{CorrSample, CorrSource, Diagnostic};
use crate::Error;
use crate::rng::{Purpose, stream};
use ndarray::{Array2, ArrayView2, s};
use rand::RngExt;
use std::path::{Path, PathBuf};

/// A returns panel: T days × N assets (NaN = missing).
#[derive(Clone, Debug)]
pub struct Panel {
    pub origin: String,
    pub names: Vec<String>,
    /// Dates as YYYYMMDD, if the panel has a date column.
    pub dates: Option<Vec<u32>>,
    pub returns: Array2<f64>,
}

/// How trial i picks its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowChoice {
    Sequential,
    Cycle,
    Random,
}

impl WindowChoice {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "sequential" => Ok(Self::Sequential),
            "cycle" => Ok(Self::Cycle),
            "random" => Ok(Self::Random),
            _ => Err(format!(
                "unknown window choice '{s}' (valid: sequential, cycle, random)"
            )),
        }
    }
}

/// Validated parameters of the empirical source.
#[derive(Clone, Debug)]
pub struct EmpiricalParams {
    /// Assets per matrix (≤ the panel's columns).
    pub n: usize,
    /// Window length in rows (days).
    pub window: usize,
    /// Rows between window starts.
    pub step: usize,
    pub choice: WindowChoice,
    /// First and last date (YYYYMMDD, inclusive) of the panel rows used.
    pub start: Option<u32>,
    pub end: Option<u32>,
}

/// The named panels a spec may use (`panel = "french49-vw"`), extracted by
/// `scripts/setup-french49.sh` into the data folder ([`data_dir`]).
pub const NAMED_PANELS: &[(&str, &str)] = &[
    ("french49-vw", "french49/value_weighted.csv"),
    ("french49-ew", "french49/equal_weighted.csv"),
    // The 49 value-weighted industries plus the market as a 50th column: the panel the
    // French-49 CorrGAN (models/corrgan/MODEL_CARD_french49.md) is trained on.
    ("french49-mkt", "french49/with_market_vw.csv"),
];

/// Where named panels live: `CORRMC_DATA_DIR`, else the repository's `data/`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("CORRMC_DATA_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("data"))
}

/// The file of a named panel, or an error saying how to set it up.
pub fn named_panel(name: &str) -> Option<Result<PathBuf, String>> {
    let (_, rel) = NAMED_PANELS.iter().find(|(n, _)| *n == name)?;
    let p = data_dir().join(rel);
    Some(if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "panel '{name}' is not set up ({} missing): run scripts/setup-french49.sh (./dev setup does), \
             or set CORRMC_DATA_DIR to the folder holding {rel}",
            p.display()
        ))
    })
}

/// Parses a date cell into YYYYMMDD.
pub fn parse_date(s: &str) -> Option<u32> {
    let s = s.trim().trim_matches('"');
    let ymd = |y: u32, m: u32, d: u32| {
        ((1..=12).contains(&m) && (1..=31).contains(&d) && (1000..=9999).contains(&y))
            .then_some(y * 10000 + m * 100 + d)
    };
    if let Some((y, rest)) = s.split_once('-') {
        let (m, d) = rest.split_once('-')?;
        // Timestamps such as "2001-01-03 00:00:00" keep their date part.
        let d = d.split_whitespace().next()?;
        return ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    }
    if let Some((m, rest)) = s.split_once('/') {
        let (d, y) = rest.split_once('/')?;
        let y: u32 = y.parse().ok()?;
        let y = match y {
            0..=49 => 2000 + y,
            50..=99 => 1900 + y,
            _ => y,
        };
        return ymd(y, m.parse().ok()?, d.parse().ok()?);
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        let v: u32 = s.parse().ok()?;
        return ymd(v / 10000, v / 100 % 100, v % 100);
    }
    None
}

fn parse_value(s: &str) -> Result<f64, ()> {
    let t = s.trim().trim_matches('"');
    if t.is_empty() || t.eq_ignore_ascii_case("nan") || t.eq_ignore_ascii_case("na") {
        return Ok(f64::NAN);
    }
    let v: f64 = t.parse().map_err(|_| ())?;
    // The French data library marks missing returns with -99.99 (percent) or -999.
    if v == -99.99 || v == -999.0 || !v.is_finite() {
        return Ok(f64::NAN);
    }
    Ok(v)
}

impl Panel {
    /// Reads a CSV (header of names, first column of dates), `.npy` or HDF5 panel.
    pub fn read(path: &Path, dataset: Option<&str>) -> Result<Panel, Error> {
        if !path.is_file() {
            return Err(Error::io(path, "panel file not found"));
        }
        let lower = path.display().to_string().to_ascii_lowercase();
        if lower.ends_with(".csv") || lower.ends_with(".txt") {
            return Self::read_csv(path);
        }
        let returns: Array2<f64> = if lower.ends_with(".npy") {
            ndarray_npy::read_npy(path).map_err(|e| {
                Error::io(
                    path,
                    format!("cannot read a 2-D float64 [days, assets] .npy: {e}"),
                )
            })?
        } else {
            let ds = dataset.ok_or_else(|| {
                Error::io(
                    path,
                    "an HDF5 panel needs `dataset` (the [days, assets] array)",
                )
            })?;
            let f = hdf5::File::open(path)
                .map_err(|e| Error::io(path, format!("cannot open as HDF5: {e}")))?;
            f.dataset(ds)
                .and_then(|d| d.read_2d::<f64>())
                .map_err(|e| Error::io(path, format!("dataset '{ds}': {e}")))?
        };
        let returns = returns.mapv(|v| if v.is_finite() { v } else { f64::NAN });
        Ok(Panel {
            origin: path.display().to_string(),
            names: (0..returns.ncols()).map(|j| format!("asset{j}")).collect(),
            dates: None,
            returns,
        })
    }

    fn read_csv(path: &Path) -> Result<Panel, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines
            .next()
            .ok_or_else(|| Error::io(path, "empty panel file"))?;
        let head: Vec<&str> = header.split(',').collect();
        if head.len() < 3 {
            return Err(Error::io(
                path,
                "a panel CSV needs a header row: a date column then at least 2 asset columns",
            ));
        }
        let names: Vec<String> = head[1..].iter().map(|s| s.trim().to_string()).collect();
        let n = names.len();
        let mut dates = Vec::new();
        let mut values = Vec::new();
        for (ln, line) in lines {
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != n + 1 {
                return Err(Error::io(
                    path,
                    format!(
                        "line {}: {} cells, the header has {}",
                        ln + 1,
                        cells.len(),
                        n + 1
                    ),
                ));
            }
            let d = parse_date(cells[0]).ok_or_else(|| {
                Error::io(
                    path,
                    format!(
                        "line {}: '{}' is not a date (YYYY-MM-DD, YYYYMMDD or m/d/yy)",
                        ln + 1,
                        cells[0]
                    ),
                )
            })?;
            if dates.last().is_some_and(|&p| d <= p) {
                return Err(Error::io(
                    path,
                    format!(
                        "line {}: dates must increase ({} after {})",
                        ln + 1,
                        d,
                        dates.last().unwrap()
                    ),
                ));
            }
            dates.push(d);
            for (j, c) in cells[1..].iter().enumerate() {
                values.push(parse_value(c).map_err(|()| {
                    Error::io(
                        path,
                        format!(
                            "line {}, column '{}': '{}' is not a number",
                            ln + 1,
                            names[j],
                            c.trim()
                        ),
                    )
                })?);
            }
        }
        let t = dates.len();
        let returns = Array2::from_shape_vec((t, n), values).expect("t rows of n values");
        Ok(Panel {
            origin: path.display().to_string(),
            names,
            dates: Some(dates),
            returns,
        })
    }
}

/// The empirical source: every usable window's correlation matrix, computed at load.
#[derive(Clone, Debug)]
pub struct Empirical {
    origin: String,
    params: EmpiricalParams,
    /// Panel columns.
    total: usize,
    /// Correlation matrix [N × N] of each usable window.
    windows: Vec<Array2<f64>>,
    /// First date (YYYYMMDD) or row of each usable window.
    starts: Vec<f64>,
    skipped: usize,
}

/// `corrcoef` of the rows of `x` (days × assets); `None` if an asset is constant.
pub fn window_corr(x: ArrayView2<'_, f64>) -> Option<Array2<f64>> {
    let (t, n) = x.dim();
    let mean = x.mean_axis(ndarray::Axis(0))?;
    let mut c = x.to_owned();
    for mut row in c.rows_mut() {
        row -= &mean;
    }
    let g = crate::linalg::at_b(c.view(), c.view(), 1.0 / (t as f64 - 1.0));
    let sd: Vec<f64> = (0..n).map(|i| g[(i, i)].sqrt()).collect();
    if sd.iter().any(|&v| !(v > 0.0) || !v.is_finite()) {
        return None;
    }
    let mut r = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let v = if i == j {
                1.0
            } else {
                (g[(i, j)] / (sd[i] * sd[j])).clamp(-1.0, 1.0)
            };
            r[(i, j)] = v;
            r[(j, i)] = v;
        }
    }
    Some(r)
}

impl Empirical {
    /// Builds the source; errors are `(key, message)` for the spec to name.
    pub fn new(panel: &Panel, p: EmpiricalParams) -> Result<Self, (String, String)> {
        let bad = |k: &str, m: String| Err((k.to_string(), m));
        let (_, total) = panel.returns.dim();
        if total < 2 {
            return bad(
                "source.panel",
                format!("{}: needs at least 2 assets", panel.origin),
            );
        }
        if p.n > total {
            return bad(
                "assets",
                format!("{} but panel {} has {total} assets", p.n, panel.origin),
            );
        }
        if p.window < 2 {
            return bad(
                "source.window",
                format!("must be at least 2 days, got {}", p.window),
            );
        }
        if p.step < 1 {
            return bad("source.step", "must be at least 1 day".into());
        }
        // Rows inside the date range.
        let (lo, hi) = match (&panel.dates, p.start, p.end) {
            (None, None, None) => (0, panel.returns.nrows()),
            (None, _, _) => {
                return bad(
                    "source.start",
                    format!(
                        "panel {} has no date column, so no date range",
                        panel.origin
                    ),
                );
            }
            (Some(d), s, e) => {
                if let (Some(s), Some(e)) = (s, e)
                    && s > e
                {
                    return bad("source.start", format!("{s} is after source.end {e}"));
                }
                let lo = s.map_or(0, |s| d.partition_point(|&x| x < s));
                let hi = e.map_or(d.len(), |e| d.partition_point(|&x| x <= e));
                (lo, hi.max(lo))
            }
        };
        let x = panel.returns.slice(s![lo..hi, ..]);
        let rows = x.nrows();
        if rows < p.window {
            return bad(
                "source.window",
                format!(
                    "{} days but panel {} has {rows} rows{}",
                    p.window,
                    panel.origin,
                    if p.start.is_some() || p.end.is_some() {
                        " in the date range"
                    } else {
                        ""
                    }
                ),
            );
        }
        for j in 0..total {
            let col = x.column(j);
            let first = col.iter().find(|v| v.is_finite());
            match first {
                None => {
                    return bad(
                        "source.panel",
                        format!(
                            "{}: column '{}' has no values",
                            panel.origin, panel.names[j]
                        ),
                    );
                }
                Some(&f) if col.iter().all(|v| !v.is_finite() || *v == f) => {
                    return bad(
                        "source.panel",
                        format!(
                            "{}: column '{}' is constant; its correlation is undefined (drop it)",
                            panel.origin, panel.names[j]
                        ),
                    );
                }
                _ => {}
            }
        }
        let mut windows = Vec::new();
        let mut starts = Vec::new();
        let mut skipped = 0;
        let mut start = 0;
        while start + p.window <= rows {
            let w = x.slice(s![start..start + p.window, ..]);
            match w
                .iter()
                .all(|v| v.is_finite())
                .then(|| window_corr(w))
                .flatten()
            {
                Some(c) => {
                    windows.push(c);
                    starts.push(match &panel.dates {
                        Some(d) => d[lo + start] as f64,
                        None => (lo + start) as f64,
                    });
                }
                None => skipped += 1,
            }
            start += p.step;
        }
        if windows.is_empty() {
            return bad(
                "source.window",
                format!(
                    "no usable window in {}: all {skipped} have a missing value or a constant asset",
                    panel.origin
                ),
            );
        }
        Ok(Empirical {
            origin: panel.origin.clone(),
            params: p,
            total,
            windows,
            starts,
            skipped,
        })
    }

    /// Usable windows.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// Windows skipped for a missing value or a constant asset.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    pub fn choice(&self) -> WindowChoice {
        self.params.choice
    }

    /// Full-panel correlation of window `k` (all N assets).
    pub fn window(&self, k: usize) -> &Array2<f64> {
        &self.windows[k]
    }
}

impl CorrSource for Empirical {
    fn describe(&self) -> String {
        format!(
            "empirical({}, window {} step {}, {} of {} windows usable, {}, {} of {} assets)",
            self.origin,
            self.params.window,
            self.params.step,
            self.len(),
            self.len() + self.skipped,
            match self.params.choice {
                WindowChoice::Sequential => "sequential",
                WindowChoice::Cycle => "cycled",
                WindowChoice::Random => "random windows",
            },
            self.params.n,
            self.total
        )
    }
    fn dim(&self) -> usize {
        self.params.n
    }
    fn sample(&self, seed: u64, trial: u64) -> Result<CorrSample, Error> {
        let w = self.len() as u64;
        let mut rng = stream(seed, Purpose::Correlation, trial);
        let k = match self.params.choice {
            WindowChoice::Sequential if trial >= w => {
                return Err(Error::matrix(
                    &self.origin,
                    format!(
                        "trial {trial} needs window {trial}, the panel has {w}; use choice = \"cycle\" or \"random\""
                    ),
                ));
            }
            WindowChoice::Sequential => trial,
            WindowChoice::Cycle => trial % w,
            WindowChoice::Random => rng.random_range(0..w),
        } as usize;
        let n = self.params.n;
        let full = &self.windows[k];
        let idx: Vec<usize> = if n == self.total {
            (0..n).collect()
        } else {
            // Partial Fisher–Yates: the first n of a uniform permutation, kept in panel order.
            let mut all: Vec<usize> = (0..self.total).collect();
            for i in 0..n {
                let j = rng.random_range(i..self.total);
                all.swap(i, j);
            }
            let mut pick = all[..n].to_vec();
            pick.sort_unstable();
            pick
        };
        let corr = Array2::from_shape_fn((n, n), |(i, j)| full[(idx[i], idx[j])]);
        let mean = if n > 1 {
            (corr.sum() - n as f64) / (n * (n - 1)) as f64
        } else {
            0.0
        };
        Ok(CorrSample {
            corr,
            diagnostics: vec![k as f64, self.starts[k], mean],
        })
    }
    fn diagnostics(&self) -> Vec<Diagnostic> {
        vec![
            Diagnostic {
                name: "window",
                description: "index of the usable window the matrix comes from",
            },
            Diagnostic {
                name: "window_start",
                description: "first date of the window (YYYYMMDD), or its first row if the panel has no dates",
            },
            Diagnostic {
                name: "mean_corr",
                description: "mean off-diagonal correlation of the matrix",
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("2008-09-15"), Some(20080915));
        assert_eq!(parse_date("2001-01-03 00:00:00"), Some(20010103));
        assert_eq!(parse_date("19690701"), Some(19690701));
        assert_eq!(parse_date("7/1/69"), Some(19690701));
        assert_eq!(parse_date("12/31/21"), Some(20211231));
        assert_eq!(parse_date("13/1/2000"), None);
        assert_eq!(parse_date("x"), None);
    }

    #[test]
    fn missing_codes_are_nan() {
        assert!(parse_value("-99.99").unwrap().is_nan());
        assert!(parse_value("").unwrap().is_nan());
        assert!(parse_value("NA").unwrap().is_nan());
        assert_eq!(parse_value("0.25").unwrap(), 0.25);
        assert!(parse_value("abc").is_err());
    }
}
