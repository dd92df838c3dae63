//! The `[regime]` filter (src/corr/regime.rs): accepted matrices lie in the range, each is
//! exactly the inner source's matrix of the recorded draw, draw 0 in range is the
//! unfiltered matrix, batches equal single trials, and a study is reproducible.

use corrmc::corr::CorrSource;
use corrmc::corr::onion::Onion;
use corrmc::corr::regime::{Regime, RegimeParams, draw_seed, first_eig_share, mean_corr};
use std::path::Path;
use std::process::Command;

fn uniform(n: usize) -> Box<dyn CorrSource> {
    Box::new(Onion::new(n, 1.0).unwrap())
}

fn params(mean: Option<[f64; 2]>, eig: Option<[f64; 2]>) -> RegimeParams {
    RegimeParams {
        mean_corr: mean,
        first_eig_share: eig,
        max_draws: 1000,
    }
}

#[test]
fn accepted_matrices_are_the_recorded_draws_in_range() {
    let seed = 11;
    let inner = uniform(6);
    // Uniform 6x6 matrices: mean correlation ~ N(0, ~0.12²); this range keeps about a fifth.
    let range = [0.05, 0.3];
    let reg = Regime::new(uniform(6), params(Some(range), None));
    let names: Vec<_> = reg.diagnostics().iter().map(|d| d.name).collect();
    let at = |name: &str| names.iter().position(|n| *n == name).unwrap();
    let (mut redrawn, mut kept) = (0, 0);
    for trial in 0..60u64 {
        let s = reg.sample(seed, trial).unwrap();
        let m = mean_corr(&s.corr);
        assert!(range[0] <= m && m <= range[1], "trial {trial}: {m}");
        let draws = s.diagnostics[at("regime_draws")];
        assert!(draws >= 1.0 && draws.fract() == 0.0);
        assert_eq!(s.diagnostics[at("regime_mean_corr")], m);
        assert_eq!(
            s.diagnostics[at("regime_first_eig_share")],
            first_eig_share(&s.corr)
        );
        // The matrix is the inner source's for the recorded draw, bit for bit; earlier draws
        // were out of range.
        let k = draws as u32 - 1;
        assert_eq!(
            inner.sample(draw_seed(seed, k), trial).unwrap().corr,
            s.corr
        );
        for j in 0..k {
            let m = mean_corr(&inner.sample(draw_seed(seed, j), trial).unwrap().corr);
            assert!(
                m < range[0] || m > range[1],
                "trial {trial}: draw {j} was in range"
            );
        }
        if k == 0 {
            kept += 1;
        } else {
            redrawn += 1;
        }
    }
    // Both paths ran (the range neither keeps nor rejects everything).
    assert!(kept > 3 && redrawn > 3, "kept {kept}, redrawn {redrawn}");
}

#[test]
fn batches_equal_single_trials_and_both_ranges_apply() {
    let reg = Regime::new(uniform(8), params(Some([0.0, 0.4]), Some([0.2, 0.5])));
    let batch = reg.sample_batch(5, 10..30).unwrap();
    for (i, s) in batch.iter().enumerate() {
        let one = reg.sample(5, 10 + i as u64).unwrap();
        assert_eq!(one.corr, s.corr);
        assert_eq!(one.diagnostics, s.diagnostics);
        let l = first_eig_share(&s.corr);
        assert!((0.2..=0.5).contains(&l), "{l}");
        let m = mean_corr(&s.corr);
        assert!((0.0..=0.4).contains(&m), "{m}");
    }
    // Another seed gives other matrices.
    assert_ne!(reg.sample(6, 10).unwrap().corr, batch[0].corr);
}

#[test]
fn statistics_match_their_definitions() {
    // Equicorrelation ρ: mean ρ, λ₁ = 1 + (n − 1)ρ.
    let n = 7;
    let rho = 0.35;
    let mut c = ndarray::Array2::from_elem((n, n), rho);
    for i in 0..n {
        c[(i, i)] = 1.0;
    }
    assert!((mean_corr(&c) - rho).abs() < 1e-15);
    assert!((first_eig_share(&c) - (1.0 + (n as f64 - 1.0) * rho) / n as f64).abs() < 1e-13);
}

#[test]
fn hopeless_range_is_an_error_not_a_hang() {
    let reg = Regime::new(
        uniform(20),
        RegimeParams {
            mean_corr: Some([0.9, 1.0]),
            first_eig_share: None,
            max_draws: 25,
        },
    );
    let e = reg.sample(1, 0).unwrap_err().to_string();
    assert!(
        e.contains("25 draws") && e.contains("mean_corr in [0.9, 1]"),
        "{e}"
    );
}

#[test]
fn study_with_regime_is_reproducible_across_threads_and_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let spec = r#"name = "regime"
seed = 3
trials = 24
assets = 8
in_sample_days = 40
out_of_sample_days = 40
methods = ["EW", "HRP"]

[source]
kind = "uniform"

[regime]
mean_corr = [0.1, 0.4]
"#;
    std::fs::write(dir.path().join("s.toml"), spec).unwrap();
    let chunked = spec.replace("methods =", "chunk_trials = 5\nmethods =");
    std::fs::write(dir.path().join("c.toml"), chunked).unwrap();
    let run = |out: &str, spec: &str, threads: &str| {
        let st = Command::new(env!("CARGO_BIN_EXE_corrmc"))
            .current_dir(dir.path())
            .args(["run", spec, "-o", out, "--no-summary", "--threads", threads])
            .status()
            .unwrap();
        assert!(st.success());
        dir.path().join(out)
    };
    let a = run("a.h5", "s.toml", "1");
    let b = run("b.h5", "c.toml", "2");
    let read = |p: &Path, name: &str| -> Vec<f64> {
        let f = hdf5::File::open(p).unwrap();
        f.dataset(name).unwrap().read_raw::<f64>().unwrap()
    };
    for name in [
        "/source/regime_mean_corr",
        "/source/regime_draws",
        "/metrics/oos_vol",
    ] {
        assert_eq!(read(&a, name), read(&b, name), "{name}");
    }
    let m = read(&a, "/source/regime_mean_corr");
    assert!(m.iter().all(|&v| (0.1..=0.4).contains(&v)), "{m:?}");
    assert!(read(&a, "/source/regime_draws").iter().any(|&d| d > 1.0));
}
