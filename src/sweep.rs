//! Sweeps: a `[sweep]` table turns one spec into a grid of specs.
//!
//! ```toml
//! [sweep]
//! assets = [25, 50, 100]
//! "source.eta" = [0.5, 1.0, 4.0]     # or: source.eta = [...] (dotted TOML key)
//! [[sweep.source]]                    # whole [source] tables (vary the kind)
//! kind = "block"
//! ```
//!
//! Each key is a spec key in dotted form and each value a non-empty list; a list
//! of tables replaces the whole table at that key (`[[sweep.source]]`,
//! `[[sweep.volatility]]`). The grid is the Cartesian product of the lists in the
//! order the keys are written, the first key varying slowest (nested loops).
//!
//! Every point is the base spec (without `[sweep]`) with its values set, written
//! back as TOML text — the point's *resolved spec* — and parsed and validated by
//! [`Spec::parse`] exactly as a standalone spec, when the sweep loads. A point
//! therefore runs exactly as its resolved spec would alone: trial *i* of every
//! point draws from the streams keyed by (seed, *i*) (common random numbers), so
//! differences between points come from the parameters, not from sampling noise.

use crate::Error;
use crate::spec::Spec;
use std::path::{Path, PathBuf};

/// More points than this is almost certainly a mistake (the file holds one
/// group per point); say so rather than resolving millions of specs.
pub const MAX_POINTS: usize = 10_000;

/// One grid point.
#[derive(Debug, Clone)]
pub struct Point {
    /// (dotted key, value) for every swept key, in key order.
    pub values: Vec<(String, toml::Value)>,
    /// The resolved, validated spec (its `text` is the resolved TOML).
    pub spec: Spec,
}

impl Point {
    /// `assets = 50, source.eta = 0.5`.
    pub fn label(&self) -> String {
        label(&self.values)
    }
}

fn label(values: &[(String, toml::Value)]) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{k} = {}", inline(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value as inline TOML (tables as `{ kind = "block", ... }`).
pub fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            let parts: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{k} = {}", inline(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        toml::Value::Array(a) => {
            format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", "))
        }
        other => other.to_string(),
    }
}

/// A study: one spec, or a sweep's grid of resolved specs.
#[derive(Debug, Clone)]
pub struct Study {
    /// The study file's text (for a sweep: with its `[sweep]` table).
    pub text: String,
    pub origin: String,
    pub name: String,
    /// Where the study's one result file goes.
    pub output: PathBuf,
    /// The folder relative input paths resolved against, as given (None: the
    /// working directory or an embedded spec); kept so that shard files can be
    /// merged without the original command line.
    pub base: Option<PathBuf>,
    /// The swept keys (empty: a plain spec, written in the single-run layout).
    pub keys: Vec<String>,
    pub points: Vec<Point>,
}

impl Study {
    /// A plain spec as a one-point study.
    pub fn single(spec: Spec) -> Study {
        Study {
            text: spec.text.clone(),
            origin: spec.origin.clone(),
            name: spec.raw.name.clone(),
            output: spec.output.clone(),
            base: None,
            keys: Vec::new(),
            points: vec![Point {
                values: Vec::new(),
                spec,
            }],
        }
    }

    pub fn is_sweep(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Reads a spec file; relative input paths resolve against its folder (as
    /// [`Spec::from_file`]).
    pub fn from_file(path: &Path) -> Result<Study, Error> {
        let (text, base) = crate::spec::read_spec_file(path)?;
        Study::parse_in(&text, &path.display().to_string(), Some(base))
    }

    /// Parses a spec with or without `[sweep]`, resolving and validating every point.
    pub fn parse(text: &str, origin: &str) -> Result<Study, Error> {
        Study::parse_in(text, origin, None)
    }

    /// As [`Study::parse`], relative input paths resolving against `base`.
    pub fn parse_in(text: &str, origin: &str, base: Option<&Path>) -> Result<Study, Error> {
        let mut s = Study::parse_points(text, origin, base)?;
        s.base = base.map(Path::to_path_buf);
        Ok(s)
    }

    fn parse_points(text: &str, origin: &str, base: Option<&Path>) -> Result<Study, Error> {
        let mut table: toml::Table = match text.parse() {
            Ok(t) => t,
            // Let the spec parser give its usual message (line, column, key).
            Err(_) => return Ok(Study::single(Spec::parse_in(text, origin, base)?)),
        };
        let Some(sweep) = table.remove("sweep") else {
            return Ok(Study::single(Spec::parse_in(text, origin, base)?));
        };
        let bad = |key: &str, msg: String| Error::spec(origin, format!("key `{key}`: {msg}"));
        let toml::Value::Table(sweep) = sweep else {
            return Err(bad("sweep", "must be a table of key = [values]".into()));
        };
        let axes = axes(text, &sweep, origin)?;
        if axes.is_empty() {
            return Err(bad(
                "sweep",
                "is empty; list at least one key, e.g. `assets = [25, 50]`".into(),
            ));
        }
        for (key, values) in &axes {
            let root = key.split('.').next().unwrap_or_default();
            if matches!(root, "output" | "sweep" | "chunk_trials") {
                return Err(bad(
                    &format!("sweep.{key}"),
                    format!(
                        "cannot be swept: a sweep writes one file with one layout; set `{root}` \
                         outside [sweep]"
                    ),
                ));
            }
            if values.is_empty() {
                return Err(bad(
                    &format!("sweep.{key}"),
                    "must list at least one value".into(),
                ));
            }
        }
        let count = axes
            .iter()
            .try_fold(1usize, |acc, (_, v)| acc.checked_mul(v.len()))
            .filter(|&c| c <= MAX_POINTS)
            .ok_or_else(|| {
                bad(
                    "sweep",
                    format!(
                        "the grid has more than {MAX_POINTS} points; split the study into several sweeps"
                    ),
                )
            })?;
        let base_output = table
            .get("output")
            .and_then(|v| v.as_str())
            .map(PathBuf::from);
        let name = table
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let output = base_output
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("results/{name}.h5")));
        let mut points = Vec::with_capacity(count);
        for k in 0..count {
            // Mixed radix, last key fastest: the order of nested loops.
            let mut rest = k;
            let mut idx = vec![0; axes.len()];
            for (j, (_, v)) in axes.iter().enumerate().rev() {
                idx[j] = rest % v.len();
                rest /= v.len();
            }
            let values: Vec<(String, toml::Value)> = axes
                .iter()
                .zip(&idx)
                .map(|((key, v), &i)| (key.clone(), v[i].clone()))
                .collect();
            let what = format!("sweep point {k} ({})", label(&values));
            let mut t = table.clone();
            for (key, v) in &values {
                set(&mut t, key, v.clone())
                    .map_err(|m| Error::spec(origin, format!("{what}: key `{key}`: {m}")))?;
            }
            if let Some(b) = base {
                absolutize_inputs(&mut t, b);
            }
            // A standalone run of the resolved spec writes next to the sweep file.
            t.insert(
                "output".into(),
                toml::Value::String(point_output(&output, k).display().to_string()),
            );
            let resolved = toml::to_string(&t)
                .map_err(|e| Error::spec(origin, format!("{what}: cannot write it back: {e}")))?;
            let spec = Spec::parse_in(&resolved, &format!("{origin} [{what}]"), base)?;
            points.push(Point { values, spec });
        }
        Ok(Study {
            text: text.to_string(),
            origin: origin.to_string(),
            name,
            output,
            base: None,
            keys: axes.into_iter().map(|(k, _)| k).collect(),
            points,
        })
    }

    /// Total trials over all points.
    pub fn total_trials(&self, trials_override: Option<u64>) -> u64 {
        self.points
            .iter()
            .map(|p| trials_override.unwrap_or(p.spec.raw.trials))
            .sum()
    }
}

/// `results/x.h5`, point 3 → `results/x.point3.h5` (where `plan --expand` specs write).
pub fn point_output(output: &Path, k: usize) -> PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "study".into());
    output.with_file_name(format!("{stem}.point{k}.h5"))
}

/// The swept keys and their lists, in the order the keys are written.
fn axes(
    text: &str,
    sweep: &toml::Table,
    origin: &str,
) -> Result<Vec<(String, Vec<toml::Value>)>, Error> {
    let mut out = Vec::new();
    flatten(sweep, "", &mut out, origin)?;
    // toml's tables are sorted by key; recover the written order from the spans.
    let spans = key_positions(text);
    out.sort_by_key(|(k, _)| {
        spans
            .iter()
            .find(|(p, _)| p == k)
            .map_or(usize::MAX, |x| x.1)
    });
    Ok(out)
}

fn flatten(
    t: &toml::Table,
    prefix: &str,
    out: &mut Vec<(String, Vec<toml::Value>)>,
    origin: &str,
) -> Result<(), Error> {
    for (k, v) in t {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Array(a) => out.push((key, a.clone())),
            toml::Value::Table(sub) => flatten(sub, &key, out, origin)?,
            other => {
                return Err(Error::spec(
                    origin,
                    format!(
                        "key `sweep.{key}`: must be a list of values to sweep, e.g. `{key} = [{other}]`"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// (dotted key under `[sweep]`, byte offset where it is written).
fn key_positions(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let Ok(doc) = toml::de::DeTable::parse(text) else {
        return out;
    };
    fn walk(t: &toml::de::DeTable<'_>, prefix: &str, out: &mut Vec<(String, usize)>) {
        for (k, v) in t.iter() {
            let key = if prefix.is_empty() {
                k.get_ref().to_string()
            } else {
                format!("{prefix}.{}", k.get_ref())
            };
            match v.get_ref() {
                toml::de::DeValue::Table(sub) => walk(sub, &key, out),
                _ => out.push((key, k.span().start)),
            }
        }
    }
    for (k, v) in doc.get_ref().iter() {
        if k.get_ref() == "sweep"
            && let toml::de::DeValue::Table(t) = v.get_ref()
        {
            walk(t, "", &mut out);
        }
    }
    out
}

/// Rewrites the relative input paths of a point (source file, bank or model, a
/// method's model) that exist under `base` as `base`-joined paths, so that its
/// resolved spec runs the same from any folder (`plan --expand`).
fn absolutize_inputs(t: &mut toml::Table, base: &Path) {
    let fix = |v: &mut toml::Value| {
        let Some(p) = v.as_str() else { return };
        let (file, suffix) = match crate::npy::split_h5_spec(p) {
            Some((f, d)) => (f.to_string(), format!(":{d}")),
            None => (p.to_string(), String::new()),
        };
        let joined = base.join(&file);
        if Path::new(&file).is_relative() && joined.exists() {
            *v = toml::Value::String(format!("{}{suffix}", joined.display()));
        }
    };
    if let Some(src) = t.get_mut("source").and_then(|v| v.as_table_mut()) {
        for key in ["path", "model", "ort_library"] {
            if let Some(v) = src.get_mut(key) {
                fix(v);
            }
        }
    }
    if let Some(ctl) = t.get_mut("control").and_then(|v| v.as_table_mut()) {
        for (_, c) in ctl.iter_mut() {
            if let Some(v) = c.as_table_mut().and_then(|c| c.get_mut("model")) {
                fix(v);
            }
        }
    }
}

/// Sets the dotted `key` in `t` to `v` (a table value replaces the whole table).
fn set(t: &mut toml::Table, key: &str, v: toml::Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    let mut cur = t;
    for (i, p) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            cur.insert(p.to_string(), v);
            return Ok(());
        }
        let next = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = next.as_table_mut().ok_or_else(|| {
            format!(
                "`{}` is not a table in the spec, so `{key}` cannot be set",
                parts[..=i].join(".")
            )
        })?;
    }
    Ok(())
}

/// Writes one resolved spec per point into `dir` (`point-<k>.toml`); returns the paths.
pub fn expand(study: &Study, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(dir, format!("cannot create directory: {e}")))?;
    let mut out = Vec::new();
    for (k, p) in study.points.iter().enumerate() {
        let path = dir.join(format!("point-{k}.toml"));
        std::fs::write(&path, &p.spec.text)
            .map_err(|e| Error::io(&path, format!("cannot write: {e}")))?;
        out.push(path);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
name = "s"
seed = 1
trials = 4
assets = 5
in_sample_days = 20
out_of_sample_days = 20
methods = ["EW", "HRP"]
[source]
kind = "uniform"
"#;

    #[test]
    fn plain_spec_is_one_point() {
        let s = Study::parse(BASE, "s.toml").unwrap();
        assert!(!s.is_sweep());
        assert_eq!(s.points.len(), 1);
        assert_eq!(s.points[0].spec.text, BASE);
    }

    #[test]
    fn grid_is_product_in_written_order() {
        // `source.eta` is written before `assets`: it varies slowest.
        let text = format!("{BASE}\n[sweep]\nsource.eta = [0.5, 2.0]\nassets = [5, 6, 7]\n");
        let s = Study::parse(&text, "s.toml").unwrap();
        assert_eq!(s.keys, vec!["source.eta", "assets"]);
        assert_eq!(s.points.len(), 6);
        let got: Vec<(f64, usize)> = s
            .points
            .iter()
            .map(|p| match p.spec.raw.source {
                crate::spec::SourceSpec::Uniform { eta } => (eta, p.spec.raw.assets),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            got,
            vec![(0.5, 5), (0.5, 6), (0.5, 7), (2.0, 5), (2.0, 6), (2.0, 7)]
        );
        assert_eq!(s.points[4].label(), "source.eta = 2.0, assets = 6");
        assert_eq!(s.output, PathBuf::from("results/s.h5"));
        assert_eq!(
            s.points[4].spec.output,
            PathBuf::from("results/s.point4.h5")
        );
        // The resolved text parses to the same spec standalone.
        let again = Spec::parse(&s.points[4].spec.text, "p.toml").unwrap();
        assert_eq!(again.raw.assets, 6);
    }

    #[test]
    fn whole_source_tables() {
        let text = format!(
            "{BASE}\n[sweep]\nassets = [8]\n[[sweep.source]]\nkind = \"uniform\"\neta = 3.0\n\
             [[sweep.source]]\nkind = \"block\"\nsectors = 2\nsubsectors = 1\n"
        );
        let s = Study::parse(&text, "s.toml").unwrap();
        assert_eq!(s.keys, vec!["assets", "source"]);
        assert_eq!(s.points.len(), 2);
        assert!(matches!(
            s.points[1].spec.raw.source,
            crate::spec::SourceSpec::Block {
                sectors: Some(2),
                ..
            }
        ));
        assert!(s.points[1].label().contains("kind = \"block\""));
    }

    #[test]
    fn bad_points_are_named() {
        let e = Study::parse(&format!("{BASE}\n[sweep]\nassets = [5, 1]\n"), "s.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sweep point 1 (assets = 1)") && e.contains("key `assets`"),
            "{e}"
        );
        let e = Study::parse(
            &format!("{BASE}\n[sweep]\nsource.eta = [1.0, -1.0]\n"),
            "s.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("sweep point 1 (source.eta = -1.0)") && e.contains("key `source.eta`"),
            "{e}"
        );
        let e = Study::parse(&format!("{BASE}\n[sweep]\nsource.etta = [1.0]\n"), "s.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `etta`"), "{e}");
        let e = Study::parse(&format!("{BASE}\n[sweep]\nassets = 5\n"), "s.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("key `sweep.assets`") && e.contains("list"),
            "{e}"
        );
        let e = Study::parse(&format!("{BASE}\n[sweep]\noutput = [\"a.h5\"]\n"), "s.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot be swept"), "{e}");
        let e = Study::parse(&format!("{BASE}\n[sweep]\nassets = []\n"), "s.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least one value"), "{e}");
        let e = Study::parse(&format!("{BASE}\n[sweep]\nname.x = [1]\n"), "s.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`name` is not a table"), "{e}");
    }
}
