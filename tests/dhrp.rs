//! DHRP: the ONNX layer at its HRP initialization reproduces HRP from Rust (1e-9), the
//! trained model gives valid weights, shapes are checked on load, and the training
//! script runs end to end on a tiny config (needs models/dhrp/.venv: `./dev setup`).

use corrmc::alloc::dhrp::{Dhrp, DhrpModel, TractDhrp, dhrp_inputs};
use corrmc::alloc::{self, Allocator, Context, Estimate};
use corrmc::spec::Spec;
use ndarray::Array2;
use std::path::{Path, PathBuf};
use std::process::Command;

const CTX: Context = Context {
    seed: 0,
    trial: 0,
    out_of_sample: false,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// In-sample covariances of the DHRP study (nested clusters, random volatilities).
fn estimates(n: usize, trials: u64) -> Vec<Array2<f64>> {
    let text = spec_text(n);
    let spec = Spec::parse(&text, "dhrp-block-50 (test)").unwrap();
    let src = spec.build_source().unwrap();
    (0..trials)
        .map(|t| {
            let c = src.sample(spec.raw.seed, t).unwrap().corr;
            corrmc::simulate::simulate(c, &spec.sim, spec.raw.seed, t)
                .unwrap()
                .cov_is
        })
        .collect()
}

/// The block-model DHRP spec at n assets (fewer clusters when n is small).
fn spec_text(n: usize) -> String {
    let t = std::fs::read_to_string(root().join("experiments/dhrp-block-50.toml"))
        .unwrap()
        .replace("assets = 50", &format!("assets = {n}"));
    if n < 30 {
        t.replace("sectors = 5", "sectors = 2")
            .replace("subsectors = 3", "subsectors = 2")
    } else {
        t
    }
}

fn check_valid(w: &ndarray::Array1<f64>, n: usize) {
    assert_eq!(w.len(), n);
    assert!(w.iter().all(|&x| x >= 0.0), "negative weight: {w}");
    assert!((w.sum() - 1.0).abs() < 1e-12, "sum {}", w.sum());
}

#[test]
fn hrp_initialized_onnx_reproduces_hrp_from_rust() {
    let path = root().join("models/dhrp/dhrp_hrp_init_50.onnx");
    let dhrp = Dhrp::new(Box::new(TractDhrp::load(&path, Some(50)).unwrap()));
    let hrp = alloc::build("HRP").unwrap();
    let mut worst = 0.0f64;
    for cov in estimates(50, 20) {
        let est = Estimate::new(cov);
        let w = dhrp.allocate(&est, &CTX).unwrap();
        let h = hrp.allocate(&est, &CTX).unwrap();
        check_valid(&w, 50);
        worst = worst.max((&w - &h).mapv(f64::abs).fold(0.0, |a, &b| a.max(b)));
    }
    // Stated tolerance 1e-9 (float64 graph; observed ~1e-16).
    assert!(worst <= 1e-9, "max |w_DHRP(init) - w_HRP| = {worst}");
}

#[test]
fn trained_model_gives_valid_weights_and_differs_from_hrp() {
    let a = alloc::build("DHRP").expect("models/dhrp/dhrp_50.onnx loads");
    let hrp = alloc::build("HRP").unwrap();
    let mut diff = 0.0f64;
    for cov in estimates(50, 10) {
        let est = Estimate::new(cov);
        let w = a.allocate(&est, &CTX).unwrap();
        check_valid(&w, 50);
        let h = hrp.allocate(&est, &CTX).unwrap();
        diff = diff.max((&w - &h).mapv(f64::abs).fold(0.0, |a, &b| a.max(b)));
    }
    assert!(diff > 1e-4, "trained model is HRP ({diff})");
}

#[test]
fn shapes_checked_on_load_with_the_file_named() {
    let path = root().join("models/dhrp/dhrp_hrp_init_50.onnx");
    let e = TractDhrp::load(&path, Some(30)).err().unwrap().to_string();
    assert!(
        e.contains("dhrp_hrp_init_50.onnx") && e.contains("n = 50") && e.contains("n = 30"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("garbage.onnx");
    std::fs::write(&bad, b"not a model").unwrap();
    let e = TractDhrp::load(&bad, None).err().unwrap().to_string();
    assert!(e.contains("garbage.onnx"), "{e}");
    let e = TractDhrp::load(&dir.path().join("missing.onnx"), None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("missing.onnx") && e.contains("not found"), "{e}");
    // A generator-shaped model (one input) is refused by name.
    let mut c = alloc::Control::default();
    c.0.insert("model".into(), bad.to_string_lossy().into());
    assert!(alloc::build_with("DHRP", &c).is_err());
    c.0.clear();
    c.0.insert("modle".into(), "x".into());
    let e = alloc::build_with("DHRP", &c).err().unwrap();
    assert!(e.contains("unknown DHRP control 'modle'"), "{e}");
}

#[test]
fn model_and_allocator_agree_on_the_order() {
    // The allocator un-permutes the model's output: model(ordered) == allocator weights reordered.
    let m = TractDhrp::load(&root().join("models/dhrp/dhrp_50.onnx"), Some(50)).unwrap();
    let cov = estimates(50, 1).pop().unwrap();
    let est = Estimate::new(cov);
    let inp = dhrp_inputs(&est).unwrap();
    let w_ord = m.weights(&inp.cov, &inp.features).unwrap();
    let a = Dhrp::new(Box::new(m));
    let w = a.allocate(&est, &CTX).unwrap();
    for (k, &i) in inp.order.iter().enumerate() {
        assert_eq!(w[i], w_ord[k]);
    }
}

fn python() -> PathBuf {
    let p = root().join("models/dhrp/.venv/bin/python");
    assert!(
        p.exists(),
        "{} missing: run models/dhrp/setup.sh (./dev setup does)",
        p.display()
    );
    p
}

#[test]
fn tiny_training_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // n = 12, 60 trials: export, train 2 epochs, export ONNX (train.py asserts the HRP-init
    // and ONNX-vs-autograd checks), then serve both ONNX files from Rust.
    let spec = spec_text(12);
    let spec_path = d.join("tiny.toml");
    std::fs::write(&spec_path, spec).unwrap();
    let h5 = d.join("tiny.h5");
    let o = Command::new(env!("CARGO_BIN_EXE_corrmc"))
        .args(["export-training", spec_path.to_str().unwrap(), "-o"])
        .arg(&h5)
        .args(["--trials", "60", "--threads", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = d.join("out");
    let o = Command::new(python())
        .arg(root().join("models/dhrp/train.py"))
        .arg("--config")
        .arg(root().join("models/dhrp/tiny.toml"))
        .arg("--data")
        .arg(&h5)
        .arg("--out")
        .arg(&out)
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "train.py failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["data"]["n"], 12);
    assert!(report["checks"]["hrp_init_max_abs_diff"].as_f64().unwrap() <= 1e-9);
    assert!(report["checks"]["onnx_vs_autograd"].as_f64().unwrap() <= 1e-5);
    check_served(
        &out.join("dhrp_hrp_init_12.onnx"),
        &out.join("dhrp_12.onnx"),
    );
}

fn check_served(init: &Path, trained: &Path) {
    let init = Dhrp::new(Box::new(TractDhrp::load(init, Some(12)).unwrap()));
    let trained = Dhrp::new(Box::new(TractDhrp::load(trained, Some(12)).unwrap()));
    let hrp = alloc::build("HRP").unwrap();
    for cov in estimates(12, 5) {
        let est = Estimate::new(cov);
        let w0 = init.allocate(&est, &CTX).unwrap();
        let h = hrp.allocate(&est, &CTX).unwrap();
        let err = (&w0 - &h).mapv(f64::abs).fold(0.0f64, |a, &b| a.max(b));
        assert!(err <= 1e-9, "n = 12 HRP init vs HRP: {err}");
        check_valid(&trained.allocate(&est, &CTX).unwrap(), 12);
    }
}

#[test]
fn all_selector_leaves_out_learned_methods() {
    let all = alloc::resolve(&["all".into()]).unwrap();
    assert!(!all.contains(&"DHRP") && all.contains(&"HRP"));
    assert_eq!(alloc::resolve(&["learned".into()]).unwrap(), vec!["DHRP"]);
}
