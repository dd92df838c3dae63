//! Sweeps: every grid point of a sweep file equals a standalone run of its
//! resolved spec, byte for byte; plan, summary and resume understand sweeps.

mod common;

use common::{assert_same_datasets, open};
use corrmc::engine::{self, StudyOptions};
use corrmc::sweep::Study;
use hdf5::types::VarLenUnicode;
use std::path::Path;
use std::process::{Command, Output};

const SWEEP: &str = r#"
name = "grid"
seed = 5
trials = 9
assets = 8
in_sample_days = 20
out_of_sample_days = 30
methods = ["EW", "RP", "MinVar", "HRP"]
store_weights = true
chunk_trials = 4
output = "grid.h5"
[source]
kind = "block"
sectors = 2
subsectors = 1

[sweep]
assets = [8, 12]
in_sample_days = [10, 40]
[[sweep.source]]
kind = "uniform"
eta = 2.0
[[sweep.source]]
kind = "block"
sectors = 3
subsectors = 1
"#;

fn corrmc(args: &[&str], cwd: &Path) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_corrmc"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn strings(f: &hdf5::File, name: &str) -> Vec<String> {
    f.dataset(name)
        .unwrap()
        .read_raw::<VarLenUnicode>()
        .unwrap()
        .iter()
        .map(|s| s.as_str().to_string())
        .collect()
}

#[test]
fn every_point_equals_its_standalone_resolved_spec() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("grid.toml"), SWEEP).unwrap();
    let plan = corrmc(
        &[
            "plan",
            "grid.toml",
            "--expand",
            "points",
            "--calibrate-s",
            "0.01",
        ],
        dir.path(),
    );
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("8 points, 72 trials, 24 work units") && text.contains("CPU time"),
        "{text}"
    );
    corrmc(&["run", "grid.toml", "--no-summary"], dir.path());
    let f = open(&dir.path().join("grid.h5"));
    assert_eq!(f.attr("points").unwrap().read_scalar::<u64>().unwrap(), 8);
    assert_eq!(
        strings(&f, "sweep/keys"),
        vec!["assets", "in_sample_days", "source"]
    );
    // Cartesian product in written order, the last key fastest.
    let values = strings(&f, "sweep/values");
    assert_eq!(
        &values[..3],
        &["8", "10", r#"{"eta":2.0,"kind":"uniform"}"#]
    );
    assert_eq!(
        &values[3 * 5..3 * 6],
        &["12", "10", r#"{"kind":"block","sectors":3,"subsectors":1}"#]
    );
    let specs = strings(&f, "sweep/spec");
    for k in 0..8 {
        let p = dir.path().join(format!("points/point-{k}.toml"));
        let resolved = std::fs::read_to_string(&p).unwrap();
        assert_eq!(resolved, specs[k], "point {k}: stored vs expanded spec");
        let alone = dir.path().join(format!("alone-{k}.h5"));
        let r = engine::run_study(
            &Study::from_file(&p).unwrap(),
            &StudyOptions {
                threads: Some(1),
                output: Some(alone.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(r.complete);
        let g = f.group(&format!("points/{k}")).unwrap();
        assert_same_datasets(&g, &open(&alone), &format!("point {k} vs standalone"));
    }
    // Common random numbers: points differing only in the estimation window share
    // the true matrices, so their true-covariance EW volatility is identical.
    let ew_true = |k: usize| {
        f.dataset(&format!("points/{k}/metrics/true_vol"))
            .unwrap()
            .read_2d::<f64>()
            .unwrap()
            .column(0)
            .to_vec()
    };
    assert_eq!(
        ew_true(0),
        ew_true(2),
        "assets 8, uniform: in-sample 10 vs 40"
    );
    assert_ne!(ew_true(0), ew_true(1), "uniform vs block source");

    // summary: one block per point; --json in long format (one row per point × method).
    let o = corrmc(&["summary", "grid.h5"], dir.path());
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(
        t.contains("sweep of 8 points") && t.contains("point 7: assets = 12, in_sample_days = 40"),
        "{t}"
    );
    let o = corrmc(&["summary", "grid.h5", "--json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 8 * 4);
    assert_eq!(rows[5]["point"], 1);
    assert_eq!(rows[5]["method"], "RP");
    assert_eq!(rows[5]["assets"], 8);
    assert_eq!(rows[5]["source"]["kind"], "block");
    assert!(rows[5]["oos_vol"]["mean"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_sweep_resumes_to_the_same_file() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let s = Study::parse(SWEEP, "grid.toml").unwrap();
    let opts = |out: &str| StudyOptions {
        threads: Some(2),
        output: Some(dir.path().join(out)),
        ..Default::default()
    };
    engine::run_study(&s, &opts("ref.h5")).unwrap();
    // Stop inside the fourth point, then resume.
    let r = engine::run_study(
        &s,
        &StudyOptions {
            max_units: Some(10),
            ..opts("r.h5")
        },
    )
    .unwrap();
    assert!(!r.complete && r.units_done == 10 && r.units == 24);
    let r = engine::run_study(
        &s,
        &StudyOptions {
            resume: true,
            ..opts("r.h5")
        },
    )
    .unwrap();
    assert!(r.complete && r.units_kept == 10);
    assert_same_datasets(
        &open(&dir.path().join("r.h5")),
        &open(&dir.path().join("ref.h5")),
        "resumed sweep",
    );
}

#[test]
fn bad_sweeps_fail_before_any_file() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        SWEEP.replace("assets = [8, 12]", "assets = [8, 1]"),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_corrmc"))
        .args(["run", "bad.toml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        e.contains("sweep point 4 (assets = 1, in_sample_days = 10") && e.contains("key `assets`"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing written"
    );
}
