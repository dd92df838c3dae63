//! The binary: clear errors and non-zero exits on bad input, never a panic.

use std::path::Path;
use std::process::{Command, Output};

fn corrmc(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corrmc"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn no_panic(o: &Output) {
    let e = stderr(o);
    assert!(!e.contains("panicked"), "panicked: {e}");
}

fn write_npy(path: &Path, a: &ndarray::Array2<f64>) {
    corrmc::npy::write_npy(path, a).unwrap();
}

#[test]
fn malformed_and_invalid_specs() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "name = \"x\"\nseed = \n").unwrap();
    let o = corrmc(&["run", p.to_str().unwrap()], dir.path());
    assert!(!o.status.success());
    no_panic(&o);
    let e = stderr(&o);
    assert!(e.contains("bad.toml") && e.contains("line 2"), "{e}");

    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/experiments/quickstart.toml"
    ))
    .unwrap();
    std::fs::write(
        &p,
        spec.replace("trials = 500", "trials = 500\nthreads = 4"),
    )
    .unwrap();
    let o = corrmc(&["run", p.to_str().unwrap()], dir.path());
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("unknown field `threads`") && e.contains("expected one of"),
        "{e}"
    );
    assert!(
        !dir.path().join("results").exists(),
        "nothing may be written for an invalid spec"
    );

    let o = corrmc(&["run", "does-not-exist.toml"], dir.path());
    assert!(!o.status.success() && stderr(&o).contains("does-not-exist.toml"));
}

#[test]
fn bad_matrix_files() {
    let dir = tempfile::tempdir().unwrap();
    let nan = dir.path().join("nan.npy");
    write_npy(&nan, &ndarray::array![[1.0, f64::NAN], [f64::NAN, 1.0]]);
    let o = corrmc(
        &[
            "allocate",
            "--method",
            "HRP",
            "--cov",
            nan.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    no_panic(&o);
    assert!(
        stderr(&o).contains("nan.npy") && stderr(&o).contains("finite"),
        "{}",
        stderr(&o)
    );

    let asym = dir.path().join("asym.npy");
    write_npy(&asym, &ndarray::array![[1.0, 0.5], [0.2, 1.0]]);
    let o = corrmc(
        &[
            "allocate",
            "--method",
            "HRP",
            "--cov",
            asym.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(
        !o.status.success() && stderr(&o).contains("not symmetric"),
        "{}",
        stderr(&o)
    );

    // A file source with a non-symmetric matrix is refused before the run starts.
    let spec = dir.path().join("file.toml");
    std::fs::write(
        &spec,
        format!(
            "name = \"f\"\nseed = 1\ntrials = 1\nassets = 2\nin_sample_days = 10\nout_of_sample_days = 10\nmethods = [\"EW\"]\n[source]\nkind = \"file\"\npath = \"{}\"\n",
            asym.display()
        ),
    )
    .unwrap();
    let o = corrmc(&["run", spec.to_str().unwrap()], dir.path());
    assert!(!o.status.success());
    no_panic(&o);
    let e = stderr(&o);
    assert!(
        e.contains("asym.npy") && e.contains("matrix 0") && e.contains("not symmetric"),
        "{e}"
    );
    assert!(!dir.path().join("results").exists());
}

#[test]
fn allocate_and_methods() {
    let dir = tempfile::tempdir().unwrap();
    let cov = dir.path().join("cov.csv");
    std::fs::write(&cov, "1.0, 0.0\n0.0, 4.0\n").unwrap();
    let o = corrmc(
        &[
            "allocate",
            "--method",
            "RP",
            "--cov",
            cov.to_str().unwrap(),
            "--json",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["RP"][0].as_f64().unwrap(), 0.8);
    assert_eq!(v["RP"][1].as_f64().unwrap(), 0.2);
    let o = corrmc(&["methods", "--json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().unwrap().iter().any(|m| m["name"] == "HRP"));
    let o = corrmc(
        &[
            "allocate",
            "--method",
            "HPR",
            "--cov",
            cov.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(!o.status.success() && stderr(&o).contains("did you mean 'HRP'"));
}

#[test]
fn run_and_summary_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.h5");
    let o = corrmc(
        &["run", "--trials", "20", "-o", out.to_str().unwrap()],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("MinVar_long") && table.contains("HRP"));
    let o = corrmc(&["summary", out.to_str().unwrap(), "--json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["trials"], 20);
    assert_eq!(v["complete"], true);
    // Unknown sort key: clear error.
    let o = corrmc(
        &["summary", out.to_str().unwrap(), "--sort", "sharpe"],
        dir.path(),
    );
    assert!(!o.status.success() && stderr(&o).contains("valid: spec, oos_vol"));
    // Not a result file.
    let junk = dir.path().join("junk.h5");
    std::fs::write(&junk, b"not hdf5").unwrap();
    let o = corrmc(&["summary", junk.to_str().unwrap()], dir.path());
    assert!(!o.status.success());
    no_panic(&o);
}
