//! The empirical source against numpy (`scripts/fixtures_empirical.py`): rolling-window
//! correlations equal `np.corrcoef` to 1e-12, windows with a missing value are skipped,
//! the date range selects the right rows, draws depend only on (seed, trial), and bad
//! panels are refused with the key named.

use corrmc::corr::CorrSource;
use corrmc::spec::Spec;
use ndarray::Array2;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn expected() -> serde_json::Value {
    let t = std::fs::read_to_string(root().join("fixtures/empirical/expected.json")).unwrap();
    serde_json::from_str(&t).unwrap()
}

fn matrix(v: &serde_json::Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    let n = rows.len();
    Array2::from_shape_fn((n, n), |(i, j)| rows[i][j])
}

fn spec(source: &str, assets: usize, trials: u64) -> String {
    format!(
        r#"name = "emp"
seed = 7
trials = {trials}
assets = {assets}
in_sample_days = 40
out_of_sample_days = 40
methods = ["EW", "HRP", "MinVar_long"]

[source]
kind = "empirical"
panel = "{}"
{source}
"#,
        root().join("fixtures/empirical/panel.csv").display()
    )
}

fn source(text: &str) -> Box<dyn CorrSource> {
    Spec::parse(text, "emp.toml")
        .unwrap()
        .build_source()
        .unwrap()
}

fn max_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn windows_equal_numpy_corrcoef() {
    let e = expected();
    let usable: Vec<&serde_json::Value> = e["windows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["usable"].as_bool().unwrap())
        .collect();
    let src = source(&spec(
        "window = 60\nstep = 20\nchoice = \"sequential\"",
        6,
        usable.len() as u64,
    ));
    assert!(
        src.describe()
            .contains(&format!("{} of 11 windows usable", usable.len()))
    );
    for (k, w) in usable.iter().enumerate() {
        let s = src.sample(1, k as u64).unwrap();
        let d = max_diff(&s.corr, &matrix(&w["corr"]));
        assert!(d <= 1e-12, "window {k}: max |diff| {d:e}");
        assert_eq!(s.diagnostics[0], k as f64);
        assert_eq!(s.diagnostics[1], w["start_date"].as_f64().unwrap());
    }
    // One window more than usable: refused when the spec loads, naming `trials`.
    let err = Spec::parse(
        &spec(
            "window = 60\nstep = 20\nchoice = \"sequential\"",
            6,
            usable.len() as u64 + 1,
        ),
        "emp.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("key `trials`") && err.contains("usable windows"),
        "{err}"
    );
}

#[test]
fn date_range_selects_rows() {
    let e = expected();
    let ranged = e["ranged"].as_array().unwrap();
    let src = source(&spec(
        "window = 60\nstep = 20\nchoice = \"sequential\"\nstart = \"2007-06-01\"",
        6,
        ranged.len() as u64,
    ));
    for (k, w) in ranged.iter().enumerate() {
        let s = src.sample(3, k as u64).unwrap();
        assert!(
            max_diff(&s.corr, &matrix(&w["corr"])) <= 1e-12,
            "window {k}"
        );
        assert_eq!(s.diagnostics[1], w["start_date"].as_f64().unwrap());
    }
}

#[test]
fn random_windows_and_subsets_depend_only_on_seed_and_trial() {
    let e = expected();
    let usable: Vec<Array2<f64>> = e["windows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["usable"].as_bool().unwrap())
        .map(|w| matrix(&w["corr"]))
        .collect();
    let text = spec("window = 60\nstep = 20", 4, 50);
    let a = source(&text);
    let b = source(&text);
    let mut windows_seen = std::collections::BTreeSet::new();
    for t in [0u64, 1, 7, 49] {
        let x = a.sample(11, t).unwrap();
        let y = b.sample(11, t).unwrap();
        assert_eq!(x.corr, y.corr, "trial {t}");
        assert_eq!(x.corr.dim(), (4, 4));
        // A principal submatrix of the drawn window's full correlation.
        let full = &usable[x.diagnostics[0] as usize];
        let mut found = false;
        for mask in 0u32..64 {
            if mask.count_ones() != 4 {
                continue;
            }
            let idx: Vec<usize> = (0..6).filter(|j| mask >> j & 1 == 1).collect();
            let sub = Array2::from_shape_fn((4, 4), |(i, j)| full[(idx[i], idx[j])]);
            found |= max_diff(&sub, &x.corr) <= 1e-12;
        }
        assert!(
            found,
            "trial {t}: not a submatrix of window {}",
            x.diagnostics[0]
        );
        windows_seen.insert(x.diagnostics[0] as usize);
    }
    // Other trials and seeds draw other matrices.
    assert_ne!(a.sample(11, 0).unwrap().corr, a.sample(11, 1).unwrap().corr);
    assert_ne!(a.sample(11, 0).unwrap().corr, a.sample(12, 0).unwrap().corr);
    assert!(windows_seen.len() > 1, "{windows_seen:?}");
}

fn err_of(text: &str) -> String {
    match Spec::parse(text, "emp.toml") {
        Ok(s) => s
            .build_source()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default(),
        Err(e) => e.to_string(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn bad_panels_are_refused_naming_the_key() {
    let e = err_of(&spec("window = 300", 6, 5));
    assert!(
        e.contains("key `source.window`") && e.contains("260 rows"),
        "{e}"
    );
    let e = err_of(&spec("window = 60", 7, 5));
    assert!(e.contains("key `assets`") && e.contains("6 assets"), "{e}");
    let e = err_of(&spec("window = 60\nchoice = \"shuffle\"", 6, 5));
    assert!(e.contains("key `source.choice`"), "{e}");
    let e = err_of(&spec("window = 60\nstart = \"June\"", 6, 5));
    assert!(e.contains("key `source.start`"), "{e}");
    let e = err_of(&spec("window = 1", 6, 5));
    assert!(e.contains("key `source.window`"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let with_panel = |p: &str, window: usize| {
        spec(&format!("window = {window}"), 2, 3).replace(
            &root()
                .join("fixtures/empirical/panel.csv")
                .display()
                .to_string(),
            p,
        )
    };
    let constant = write(
        dir.path(),
        "c.csv",
        ",A,B,C\n2020-01-01,0.1,0.2,0.0\n2020-01-02,0.2,0.1,0.0\n2020-01-03,0.3,0.5,0.0\n",
    );
    let e = err_of(&with_panel(&constant, 2));
    assert!(e.contains("column 'C' is constant"), "{e}");
    let all_missing = write(
        dir.path(),
        "m.csv",
        ",A,B\n2020-01-01,0.1,\n2020-01-02,0.2,0.1\n2020-01-03,,0.5\n2020-01-04,0.3,0.2\n",
    );
    let e = err_of(&with_panel(&all_missing, 3));
    assert!(e.contains("no usable window"), "{e}");
    let not_date = write(dir.path(), "d.csv", ",A,B\nmonday,0.1,0.2\n");
    let e = err_of(&with_panel(&not_date, 2));
    assert!(e.contains("'monday' is not a date"), "{e}");
    let ragged = write(dir.path(), "r.csv", ",A,B\n2020-01-01,0.1\n");
    let e = err_of(&with_panel(&ragged, 2));
    assert!(e.contains("line 2") && e.contains("cells"), "{e}");
    let text_cell = write(dir.path(), "t.csv", ",A,B\n2020-01-01,0.1,abc\n");
    let e = err_of(&with_panel(&text_cell, 2));
    assert!(e.contains("column 'B'") && e.contains("'abc'"), "{e}");
    let e = err_of(&with_panel("missing.csv", 2));
    assert!(e.contains("key `source.panel`"), "{e}");
    let e = err_of(
        &spec("window = 60", 6, 5).replace(
            &root()
                .join("fixtures/empirical/panel.csv")
                .display()
                .to_string(),
            "french49-nope",
        ),
    );
    assert!(e.contains("key `source.panel`"), "{e}");
}

#[test]
fn a_study_on_the_empirical_source_runs() {
    let dir = tempfile::tempdir().unwrap();
    let s = Spec::parse(&spec("window = 60\nstep = 5", 5, 12), "emp.toml").unwrap();
    let out = dir.path().join("emp.h5");
    let r = corrmc::engine::run(
        &s,
        &corrmc::engine::RunOptions {
            threads: Some(2),
            output: Some(out.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.trials, 12);
    let f = hdf5::File::open(&out).unwrap();
    let w: Vec<f64> = f.dataset("source/window").unwrap().read_raw().unwrap();
    assert_eq!(w.len(), 12);
    assert!(w.iter().all(|&k| (0.0..41.0).contains(&k)), "{w:?}");
}
