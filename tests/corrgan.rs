//! CorrGAN source: model contract checks, batch invariance, post-processing, bank round trip,
//! and tract vs ONNX Runtime.

mod common;

use corrmc::Error;
use corrmc::corr::bank::{Bank, BankSource, write_bank};
use corrmc::corr::corrgan::{CorrGan, CorrGanParams, latent_noise, symmetrize_upper};
use corrmc::corr::{CorrSource, ValidationTolerance, validate_correlation};
use corrmc::onnx::{Backend, GeneratorOptions, load_generator};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model() -> PathBuf {
    root().join("models/corrgan/generator_50d.onnx")
}

fn gan(batch: usize) -> CorrGan {
    CorrGan::new(CorrGanParams {
        batch,
        ..CorrGanParams::default_50d(model())
    })
    .unwrap()
}

fn load_err(path: &Path, opts: &GeneratorOptions) -> String {
    match load_generator(path, opts) {
        Ok(_) => panic!("{} loaded but should have been refused", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn committed_model_matches_the_contract() {
    let g = load_generator(
        &model(),
        &GeneratorOptions {
            batch: 4,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(g.contract().latent_dim, 100);
    assert_eq!(g.contract().dim, 50);
    assert_eq!(g.backend(), Backend::Tract);
}

#[test]
fn bad_models_are_refused_with_clear_errors() {
    let opts = GeneratorOptions::default();
    let e = load_err(&root().join("models/corrgan/no_such_model.onnx"), &opts);
    assert!(
        e.contains("no_such_model.onnx") && e.contains("not found"),
        "{e}"
    );

    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.onnx");
    let mut bytes = std::fs::read(model()).unwrap();
    bytes.truncate(1000);
    bytes.extend_from_slice(b"garbage");
    std::fs::write(&corrupt, &bytes).unwrap();
    let e = load_err(&corrupt, &opts);
    assert!(
        e.contains("corrupt.onnx") && e.contains("cannot read"),
        "{e}"
    );

    let e = load_err(&root().join("fixtures/models/nonsquare_output.onnx"), &opts);
    assert!(
        e.contains("nonsquare_output.onnx") && e.contains("[N, 4, 25]") && e.contains("[N, 100]"),
        "{e}"
    );
    let e = load_err(&root().join("fixtures/models/rank2_output.onnx"), &opts);
    assert!(
        e.contains("rank2_output.onnx") && e.contains("wrong rank"),
        "{e}"
    );

    let e = load_err(
        &model(),
        &GeneratorOptions {
            backend: Backend::Ort,
            ort_library: Some(root().join("no/libonnxruntime.so")),
            ..Default::default()
        },
    );
    assert!(
        e.contains("libonnxruntime.so") && e.contains("setup-onnxruntime.sh"),
        "{e}"
    );
    let e = load_err(
        &model(),
        &GeneratorOptions {
            expected_dim: Some(100),
            ..Default::default()
        },
    );
    assert!(e.contains("50x50") && e.contains("n = 100"), "{e}");
    assert!(matches!(
        load_generator(
            &model(),
            &GeneratorOptions {
                expected_dim: Some(100),
                ..Default::default()
            }
        ),
        Err(Error::Model { .. })
    ));
}

#[test]
fn noise_depends_only_on_seed_and_trial() {
    let a = latent_noise(7, 3, 100);
    assert_eq!(a, latent_noise(7, 3, 100));
    assert_ne!(a, latent_noise(7, 4, 100));
    assert_ne!(a, latent_noise(8, 3, 100));
    let g = gan(5);
    let z = g.noise(7, 1..6);
    assert_eq!(z.row(2).to_vec(), a);
    // Standard normal: sample moments of 10,000 draws.
    let big: Vec<f32> = (0..100).flat_map(|t| latent_noise(1, t, 100)).collect();
    let m = big.iter().map(|&x| x as f64).sum::<f64>() / big.len() as f64;
    let v = big.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / big.len() as f64;
    assert!(m.abs() < 0.05 && (v - 1.0).abs() < 0.05, "mean {m} var {v}");
}

#[test]
fn matrices_do_not_depend_on_batch_size_or_grouping() {
    let seed = 11;
    let reference: Vec<_> = gan(64).sample_batch(seed, 0..9).unwrap();
    for batch in [1usize, 4, 7] {
        let g = gan(batch);
        let got = g.sample_batch(seed, 0..9).unwrap();
        for (t, (a, b)) in reference.iter().zip(&got).enumerate() {
            assert_eq!(a.corr, b.corr, "batch {batch}, trial {t}: matrices differ");
            assert_eq!(a.diagnostics, b.diagnostics);
        }
        let single = g.sample(seed, 6).unwrap();
        assert_eq!(single.corr, reference[6].corr);
        let mid = g.sample_batch(seed, 3..8).unwrap();
        assert_eq!(mid[0].corr, reference[3].corr);
    }
}

#[test]
fn tract_plans_of_any_batch_give_identical_rows() {
    // corrmc builds tract plans for onnx::tract::PLAN_BATCH rows whatever `batch` a spec
    // asks for; plans for other batches (as corrmc built before) must give the same bits.
    use corrmc::onnx::Generator;
    use corrmc::onnx::tract::{PLAN_BATCH, TractGenerator};
    let noise = gan(8).noise(11, 0..9);
    let reference = TractGenerator::load(&model(), PLAN_BATCH)
        .unwrap()
        .generate(&noise)
        .unwrap();
    for batch in [2usize, 5, 64] {
        let g = TractGenerator::load(&model(), batch).unwrap();
        assert_eq!(g.batch(), batch);
        assert_eq!(
            g.generate(&noise).unwrap(),
            reference,
            "a tract plan for {batch} rows differs from one for {PLAN_BATCH}"
        );
    }
}

#[test]
fn post_processing_gives_valid_correlation_matrices() {
    let g = gan(8);
    let raw = g.raw(3, 0..8).unwrap();
    let samples = g.sample_batch(3, 0..8).unwrap();
    let mut repaired_any = false;
    for (k, s) in samples.iter().enumerate() {
        validate_correlation(s.corr.view(), ValidationTolerance::default()).unwrap();
        let sym = symmetrize_upper(raw.index_axis(ndarray::Axis(0), k));
        assert!(sym.iter().all(|v| v.abs() <= 1.0));
        let dist = (&s.corr - &sym).iter().map(|v| v * v).sum::<f64>().sqrt();
        let d = &s.diagnostics;
        assert_eq!(d.len(), g.diagnostics().len());
        assert!(
            (d[0] - dist).abs() < 1e-12,
            "recorded distance {} vs {dist}",
            d[0]
        );
        assert!(d[3] >= -1e-12, "min eigenvalue after repair {}", d[3]);
        if d[2] < 0.0 {
            repaired_any = true;
            assert!(d[0] > 0.0 && d[1] >= 1.0);
        }
    }
    // The raw CorrGAN output is typically not PSD: the repair must actually be exercised.
    assert!(repaired_any, "no sample needed a repair");
    assert!(g.describe().contains("backend=tract"));
}

#[test]
fn bank_round_trip_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.h5");
    let g = gan(4);
    write_bank(&g, 5, 10, 6, &path, None).unwrap();
    let bank = Bank::open(&path).unwrap();
    assert_eq!((bank.len(), bank.dim(), bank.seed), (6, 50, 5));
    assert_eq!(bank.trial.to_vec(), (10..16).collect::<Vec<u64>>());
    assert_eq!(bank.backend, "tract");
    let direct = g.sample_batch(5, 10..16).unwrap();
    let src = BankSource::from_bank(bank, false);
    for (k, s) in direct.iter().enumerate() {
        let b = src.sample(999, k as u64).unwrap();
        assert_eq!(b.corr, s.corr);
        assert_eq!(b.diagnostics, s.diagnostics);
    }
    let e = src.sample(0, 6).unwrap_err().to_string();
    assert!(e.contains("holds 6 matrices"), "{e}");
    let wrapped = BankSource::open(&path, true).unwrap();
    assert_eq!(wrapped.sample(0, 7).unwrap().corr, direct[1].corr);
    let not_bank = dir.path().join("other.h5");
    hdf5::File::create(&not_bank).unwrap();
    let e = Bank::open(&not_bank).unwrap_err().to_string();
    assert!(e.contains("not a corrmc matrix bank"), "{e}");
}

/// The ONNX Runtime library: ORT_DYLIB_PATH, or `.onnxruntime/` filled by the set-up script
/// (run here if needed: pip downloads the wheel from PyPI).
fn ort_library() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let out = common::no_inherited_fds(&mut std::process::Command::new("bash"))
        .arg(root().join("scripts/setup-onnxruntime.sh"))
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "setup-onnxruntime.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()?
        .trim()
        .to_string();
    Some(PathBuf::from(last)).filter(|p| p.is_file())
}

#[test]
fn tract_and_onnx_runtime_agree() {
    let Some(lib) = ort_library() else {
        if std::env::var_os("CORRMC_SKIP_ORT").is_some() {
            eprintln!(
                "\n*** SKIPPED tract_and_onnx_runtime_agree: no ONNX Runtime library (CORRMC_SKIP_ORT set) ***\n"
            );
            return;
        }
        panic!(
            "no ONNX Runtime library: run scripts/setup-onnxruntime.sh (needs pip + PyPI) or set ORT_DYLIB_PATH; \
             set CORRMC_SKIP_ORT=1 to skip this test explicitly"
        );
    };
    let ort = CorrGan::new(CorrGanParams {
        backend: Backend::Ort,
        ort_library: Some(lib),
        batch: 16,
        ..CorrGanParams::default_50d(model())
    })
    .unwrap();
    assert_eq!(ort.backend(), Backend::Ort);
    assert!(ort.describe().contains("backend=ort"));
    let tract = gan(16);
    let (ra, rb) = (tract.raw(21, 0..16).unwrap(), ort.raw(21, 0..16).unwrap());
    let raw_diff = ra
        .iter()
        .zip(rb.iter())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(raw_diff <= 2e-6, "raw outputs differ by {raw_diff}");
    let (sa, sb) = (
        tract.sample_batch(21, 0..16).unwrap(),
        ort.sample_batch(21, 0..16).unwrap(),
    );
    let mut diff = 0f64;
    for (a, b) in sa.iter().zip(&sb) {
        diff = diff.max(
            a.corr
                .iter()
                .zip(b.corr.iter())
                .fold(0.0, |m, (x, y)| m.max((x - y).abs())),
        );
    }
    assert!(diff <= 1e-5, "repaired matrices differ by {diff}");
    eprintln!("tract vs ort: raw max diff {raw_diff:.2e}, repaired max diff {diff:.2e}");
    // ORT itself is batch-invariant too: one row per run, blocks of
    // onnx::ort::CALL_BATCH rows (the 16 above), and a short last block.
    let one = ort.sample(21, 5).unwrap();
    assert_eq!(one.corr, sb[5].corr);
    let rb_short = ort.raw(21, 3..14).unwrap();
    for t in 0..16u64 {
        let single = ort.raw(21, t..t + 1).unwrap();
        assert_eq!(
            single.index_axis(ndarray::Axis(0), 0),
            rb.index_axis(ndarray::Axis(0), t as usize),
            "ort: trial {t} differs between a 1-row run and 16 rows"
        );
        if (3..14).contains(&t) {
            assert_eq!(
                rb_short.index_axis(ndarray::Axis(0), (t - 3) as usize),
                rb.index_axis(ndarray::Axis(0), t as usize),
                "ort: trial {t} differs between rows 3..14 and 0..16"
            );
        }
    }
}

fn study_spec_chunked(batch: usize, chunk: Option<usize>, model: &Path) -> corrmc::spec::Spec {
    let trials = match chunk {
        Some(c) => format!("trials = 40\nchunk_trials = {c}"),
        None => "trials = 40".to_string(),
    };
    let text = std::fs::read_to_string(root().join("experiments/corrgan-50.toml"))
        .unwrap()
        .replace("trials = 2000", &trials)
        .replace("batch = 64", &format!("batch = {batch}"))
        .replace(
            "models/corrgan/generator_50d.onnx",
            &model.display().to_string(),
        );
    corrmc::spec::Spec::parse(&text, "corrgan-50 (test)").unwrap()
}

fn all_datasets(path: &Path) -> Vec<(String, Vec<f64>)> {
    let f = hdf5::File::open(path).unwrap();
    let mut out = Vec::new();
    for g in ["metrics", "source"] {
        for name in f.group(g).unwrap().member_names().unwrap() {
            let d = f.dataset(&format!("{g}/{name}")).unwrap();
            out.push((format!("{g}/{name}"), d.read_raw::<f64>().unwrap()));
        }
    }
    out
}

#[test]
fn study_is_identical_across_threads_batch_sizes_and_chunkings() {
    let dir = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    // (threads, source batch, chunk_trials): the reference, then other thread counts,
    // batches and chunkings (units of 16 and 13 trials cut batches short and overlap the
    // drawing of one batch with the trials of another differently).
    let configs = [
        (1usize, 7usize, None),
        (2, 64, None),
        (2, 64, Some(16)),
        (2, 5, Some(13)),
    ];
    for (threads, batch, chunk) in configs {
        let out = dir
            .path()
            .join(format!("t{threads}_b{batch}_c{chunk:?}.h5"));
        let opts = corrmc::engine::RunOptions {
            threads: Some(threads),
            output: Some(out.clone()),
            ..Default::default()
        };
        corrmc::engine::run(&study_spec_chunked(batch, chunk, &model()), &opts).unwrap();
        results.push(all_datasets(&out));
    }
    let names: Vec<&str> = results[0].iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "source/repair_frobenius",
        "source/repair_iterations",
        "source/min_eig_before",
        "source/min_eig_after",
    ] {
        assert!(
            names.contains(&want),
            "{want} missing from the output: {names:?}"
        );
    }
    for (k, other) in results.iter().enumerate().skip(1) {
        assert_eq!(other.len(), results[0].len());
        for ((n, a), (_, b)) in results[0].iter().zip(other) {
            let (a, b): (Vec<u64>, Vec<u64>) = (
                a.iter().map(|x| x.to_bits()).collect(),
                b.iter().map(|x| x.to_bits()).collect(),
            );
            assert_eq!(
                a, b,
                "{n} differs between {:?} and {:?} (threads, batch, chunk_trials)",
                configs[0], configs[k]
            );
        }
    }
}

#[test]
fn spec_refuses_a_generator_of_the_wrong_size() {
    let text = std::fs::read_to_string(root().join("experiments/corrgan-50.toml"))
        .unwrap()
        .replace("assets = 50", "assets = 60")
        .replace(
            "models/corrgan/generator_50d.onnx",
            &model().display().to_string(),
        );
    let e = corrmc::spec::Spec::parse(&text, "x")
        .unwrap_err()
        .to_string();
    assert!(e.contains("50x50") && e.contains("n = 60"), "{e}");
}

#[test]
fn cli_repair_sample_and_inspect() {
    use corrmc::cli::common::GeneratorArgs;
    use corrmc::cli::inspect::{InspectArgs, run as run_inspect};
    use corrmc::cli::repair::{RepairArgs, run as run_repair};
    use corrmc::cli::sample::{SampleArgs, run as run_sample};
    let dir = tempfile::tempdir().unwrap();
    let input = root().join("fixtures/repair/noisy_50_input.npy");
    let output = dir.path().join("out.npy");
    run_repair(&RepairArgs {
        input: input.clone(),
        output: output.clone(),
        json: true,
        method: "qi_sun_newton".into(),
        tol: 1e-12,
        eig_floor: 0.0,
        display: Some(dir.path().join("shown.npy")),
        overwrite: false,
        symmetrize: false,
    })
    .unwrap();
    let x: ndarray::Array2<f64> = ndarray_npy::read_npy(&output).unwrap();
    let want: ndarray::Array2<f64> =
        ndarray_npy::read_npy(root().join("fixtures/repair/noisy_50_expected.npy")).unwrap();
    assert!(
        x.iter()
            .zip(want.iter())
            .all(|(a, b)| (a - b).abs() <= 1e-10)
    );
    // A NaN matrix: a clear error naming the file.
    let nan = dir.path().join("nan.npy");
    let mut m = ndarray::Array2::<f64>::eye(3);
    m[(0, 2)] = f64::NAN;
    ndarray_npy::write_npy(&nan, &m).unwrap();
    let e = run_repair(&RepairArgs {
        input: nan,
        output: dir.path().join("o2.npy"),
        json: false,
        method: "qi_sun_newton".into(),
        tol: 1e-12,
        eig_floor: 0.0,
        display: None,
        overwrite: false,
        symmetrize: false,
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("nan.npy") && e.contains("NaN"), "{e}");

    let generator = GeneratorArgs {
        model: model(),
        backend: "tract".into(),
        ort_library: None,
        batch: 8,
        seed: 3,
    };
    let bank = dir.path().join("bank.h5");
    run_sample(&SampleArgs {
        source: "corrgan".into(),
        count: 20,
        output: bank.clone(),
        start: 0,
        generator: generator.clone(),
        overwrite: false,
    })
    .unwrap();
    assert_eq!(Bank::open(&bank).unwrap().len(), 20);
    run_inspect(&InspectArgs {
        targets: vec![bank.display().to_string(), "uniform".into(), "block".into()],
        assets: 20,
        count: 20,
        json: false,
        generator: generator.clone(),
    })
    .unwrap();
    let e = run_inspect(&InspectArgs {
        targets: vec!["no-such-bank.h5".into()],
        assets: 20,
        count: 5,
        json: false,
        generator,
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("no-such-bank.h5"), "{e}");
}

/// The French-49 generator (models/corrgan/MODEL_CARD_french49.md) is served through the
/// shipped-model path and keeps the model card's regime claim: the spread of mean correlation
/// is at least half the training windows' (0.119, measured by `corrmc inspect` on
/// experiments/empirical-french49-mkt.toml) and its 5–95 % range covers at least half of
/// theirs ([0.311, 0.754]). 400 matrices; the card's 1,000-sample figures are 0.109 and 79 %.
#[test]
fn french49_generator_spans_the_windows_mean_correlations() {
    let path = corrmc::shipped::materialize("models/corrgan/generator_50d_french49.onnx")
        .expect("the French-49 generator is a shipped model")
        .unwrap();
    let g = CorrGan::new(CorrGanParams {
        batch: 8,
        ..CorrGanParams::default_50d(path)
    })
    .unwrap();
    let mut m: Vec<f64> = g
        .sample_batch(20261203, 0..400)
        .unwrap()
        .iter()
        .map(|s| {
            validate_correlation(s.corr.view(), ValidationTolerance::default()).unwrap();
            corrmc::corr::regime::mean_corr(&s.corr)
        })
        .collect();
    m.sort_by(f64::total_cmp);
    let mean = m.iter().sum::<f64>() / m.len() as f64;
    let sd = (m.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m.len() as f64).sqrt();
    let (q05, q95) = (m[20], m[379]);
    let (lo, hi) = (0.311, 0.754);
    let overlap = (q95.min(hi) - q05.max(lo)).max(0.0) / (hi - lo);
    assert!(sd >= 0.5 * 0.119, "sd of mean correlation {sd}");
    assert!(
        overlap >= 0.5,
        "5-95 % range [{q05}, {q95}] overlaps {overlap}"
    );
    assert!((0.45..0.7).contains(&mean), "mean {mean}");
}
