//! CorrGAN training pipeline (models/corrgan/train_corrgan.py): trains the tiny config on a
//! tiny synthetic data set written here, exports ONNX, and the exported generator loads in
//! corrmc (tract), has the contract shapes and gives valid correlation matrices after repair.
//! Needs models/dhrp/.venv (`./dev setup` creates it; or run models/dhrp/setup.sh).

mod common;

use corrmc::corr::corrgan::{CorrGan, CorrGanParams};
use corrmc::corr::{CorrSource, ValidationTolerance, validate_correlation};
use corrmc::onnx::{GeneratorOptions, load_generator};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    let p = root().join("models/dhrp/.venv/bin/python");
    assert!(
        p.exists(),
        "{} missing: the CorrGAN training test uses the DHRP venv; run models/dhrp/setup.sh (./dev setup does)",
        p.display()
    );
    p
}

/// Deterministic uniform(0, 1) stream (no rand dependency on the test's data).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `m` block-model correlation matrices of size `n` (two blocks, random levels) as .npy f64.
fn write_block_stack(path: &Path, m: usize, n: usize) {
    let mut rng = Lcg(7);
    let mut data = Vec::with_capacity(m * n * n);
    for _ in 0..m {
        let split = 2 + (rng.next() * (n - 3) as f64) as usize;
        let (rin, rout) = (0.4 + 0.4 * rng.next(), 0.3 * rng.next());
        for i in 0..n {
            for j in 0..n {
                data.push(if i == j {
                    1.0
                } else if (i < split) == (j < split) {
                    rin
                } else {
                    rout
                });
            }
        }
    }
    let mut header =
        format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({m}, {n}, {n}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(b"\x93NUMPY\x01\x00").unwrap();
    f.write_all(&(header.len() as u16).to_le_bytes()).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    for v in data {
        f.write_all(&v.to_le_bytes()).unwrap();
    }
}

/// Runs the training script; returns the output directory's report.
fn train(data: &Path, out: &Path) -> serde_json::Value {
    let o = common::no_inherited_fds(&mut Command::new(python()))
        .arg(root().join("models/corrgan/train_corrgan.py"))
        .arg("--config")
        .arg(root().join("models/corrgan/tiny.toml"))
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "train_corrgan.py failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["data"]["n"], 8);
    assert!(r["checks"]["onnx_vs_numpy_batch16"].as_f64().unwrap() <= 1e-5);
    assert!(r["checks"]["fold_max_abs_diff"].as_f64().unwrap() <= 1e-9);
    r
}

/// The exported model loads through tract with the contract shapes and samples valid matrices.
fn check_served(model: &Path) {
    let g = load_generator(
        model,
        &GeneratorOptions {
            batch: 4,
            expected_dim: Some(8),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(g.contract().latent_dim, 100);
    assert_eq!(g.contract().dim, 8);
    let src = CorrGan::new(CorrGanParams {
        batch: 4,
        expected_dim: Some(8),
        ..CorrGanParams::default_50d(model.to_path_buf())
    })
    .unwrap();
    assert_eq!(src.dim(), 8);
    let raw = src.raw(42, 0..6).unwrap();
    assert_eq!(raw.shape(), &[6, 8, 8]);
    assert!(raw.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
    // Raw output is not yet a correlation matrix (diagonal not 1) ...
    assert!((0..6).any(|k| (raw[(k, 0, 0)] - 1.0).abs() > 1e-6));
    // ... after symmetrization and repair it is.
    for s in src.sample_batch(42, 0..6).unwrap() {
        validate_correlation(s.corr.view(), ValidationTolerance::default()).unwrap();
    }
    // Row independence: trial 3 alone equals trial 3 in the batch.
    let one = src.sample(42, 3).unwrap().corr;
    let batch = &src.sample_batch(42, 0..6).unwrap()[3].corr;
    assert!((&one - batch).mapv(f64::abs).fold(0.0f64, |a, &b| a.max(b)) < 1e-9);
    // A study asking for another n refuses it.
    let e = load_generator(
        model,
        &GeneratorOptions {
            expected_dim: Some(50),
            ..Default::default()
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("8x8") && e.contains("n = 50"), "{e}");
}

#[test]
fn tiny_training_on_npy_stack_exports_a_servable_generator() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("blocks.npy");
    write_block_stack(&data, 64, 8);
    let out = dir.path().join("out");
    let r = train(&data, &out);
    assert_eq!(r["data"]["matrices"], 64);
    assert_eq!(r["data"]["source"], "npy");
    check_served(&out.join("generator_8d.onnx"));
}

#[test]
fn tiny_training_on_returns_csv_rolling_windows() {
    // 400 days x 10 assets, one-factor returns; windows of 60 days every 5 (tiny.toml):
    // 69 windows, each on 8 of the 10 assets drawn at random.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("returns.csv");
    let mut rng = Lcg(11);
    let mut normal = move || {
        let (u, v) = (rng.next().max(1e-300), rng.next());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    };
    let mut text = String::from("date");
    for a in 0..10 {
        text.push_str(&format!(",A{a}"));
    }
    text.push('\n');
    for t in 0..400 {
        let f = normal();
        text.push_str(&format!("2020-{:02}-{:02}", 1 + t / 28 % 12, 1 + t % 28));
        for a in 0..10 {
            let beta = 0.3 + 0.1 * a as f64;
            text.push_str(&format!(",{:.6}", 0.01 * (beta * f + normal())));
        }
        text.push('\n');
    }
    std::fs::write(&csv, text).unwrap();
    let out = dir.path().join("out");
    let r = train(&csv, &out);
    assert_eq!(r["data"]["source"], "csv");
    assert_eq!(r["data"]["matrices"], 69);
    check_served(&out.join("generator_8d.onnx"));
}

#[test]
fn script_forward_reproduces_the_pretrained_50d_generator() {
    // The committed generator's weights in the script's numpy forward vs onnxruntime on the
    // file (itself checked against TensorFlow to 4.2e-6): same architecture and TF "same"
    // Conv2DTranspose semantics (incl. stride 5 with a 3x3 kernel) as the training pipeline.
    let o = common::no_inherited_fds(&mut Command::new(python()))
        .arg(root().join("models/corrgan/train_corrgan.py"))
        .arg("--config")
        .arg(root().join("models/corrgan/config.toml"))
        .arg("--check-pretrained")
        .arg(root().join("models/corrgan/generator_50d.onnx"))
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "check failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(r["numpy_vs_onnxruntime"].as_f64().unwrap() <= 1e-5, "{r}");
}
