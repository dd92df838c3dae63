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
    let o = common::no_inherited_fds(&mut Command::new(env!("CARGO_BIN_EXE_corrmc")))
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

    // The verdict in long format: one row per point × method × measure, the swept
    // values as fields, equal to the nested `verdict`.
    let vr = v["verdict_rows"].as_array().unwrap();
    let per = vr
        .iter()
        .filter(|r| r["point"] == 0 && r["method"] == "EW")
        .count();
    assert!(per >= 7, "{per} measures");
    assert_eq!(vr.len(), 8 * 4 * per);
    let find = |p: u64, m: &str, ms: &str| {
        vr.iter()
            .find(|r| r["point"] == p && r["method"] == m && r["measure"] == ms)
            .unwrap_or_else(|| panic!("no row {p} {m} {ms}"))
    };
    let r = find(5, "RP", "oos_vol");
    assert_eq!(r["assets"], 12);
    assert_eq!(r["in_sample_days"], 10);
    assert_eq!(r["source"]["kind"], "block");
    assert_eq!(r["baseline"], "HRP");
    assert_eq!(r["is_baseline"], false);
    let nested = v["verdict"]["studies"][5]["paired"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["method"] == "RP" && p["measure"] == "oos_vol")
        .unwrap();
    assert_eq!(r["diff"], nested["diff"]);
    assert_eq!(r["diff_boot_ci"], nested["boot_ci"]);
    assert_eq!(r["win_rate"], nested["win_rate"]);
    assert!(r["rank"].as_u64().unwrap() >= 1 && r["mean"].as_f64().unwrap() > 0.0);
    let b = find(5, "HRP", "oos_vol");
    assert_eq!(b["is_baseline"], true);
    assert!(b.get("diff").is_none() && b.get("rank").is_some());

    // The report's stylized facts: per point, from the rebuilt source; points that
    // share the source (0 and 2: in-sample days differ) share the matrices; the
    // facts equal `corrmc inspect` on the point's resolved spec.
    corrmc(
        &[
            "report",
            "grid.h5",
            "-o",
            "rep",
            "--no-png",
            "--resamples",
            "0",
        ],
        dir.path(),
    );
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("rep/report.json")).unwrap())
            .unwrap();
    let sf = j["stylized_facts"].as_array().unwrap();
    assert_eq!(sf.len(), 8);
    assert!(sf.iter().all(|x| x["facts"]["count"] == 9), "{sf:?}");
    assert_eq!(sf[2]["same_as_point"], 0);
    assert!(sf[1]["same_as_point"].is_null());
    assert_eq!(sf[2]["facts"], sf[0]["facts"]);
    let o = corrmc(
        &["inspect", "points/point-3.toml", "--count", "9", "--json"],
        dir.path(),
    );
    let ins: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in ["mean_corr", "first_eig_share", "cophenetic_average"] {
        for q in ["mean", "std", "q05", "q95"] {
            let (a, b) = (
                sf[3]["facts"][key][q].as_f64().unwrap(),
                ins[0][key][q].as_f64().unwrap(),
            );
            assert!((a - b).abs() <= 1e-12, "point 3 {key}.{q}: {a} vs {b}");
        }
    }
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
    let o = common::no_inherited_fds(&mut Command::new(env!("CARGO_BIN_EXE_corrmc")))
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
