//! CorrGAN throughput (issue 12): where a CorrGAN study's time goes, next to the same study on
//! the uniform source measured in the same run.
//!
//! 1. Model load and raw inference per matrix at batch 1, 8 and 64, for tract and — where the
//!    library is found (`ORT_DYLIB_PATH`) — ONNX Runtime.
//! 2. Post-processing per matrix: symmetrize + Qi–Sun Newton repair (n = 50, the generator's
//!    own outputs), with Newton iterations per matrix.
//! 3. One trial's work (simulate 756 + 756 days, EW/RP/MinVar/HRP, metrics) on a repaired matrix.
//! 4. The end-to-end study `experiments/corrgan-50.toml` (CORRGAN_TRIALS trials, default 400;
//!    CORRGAN_THREADS threads, default 2) against the same spec with `[source] kind = "uniform"`,
//!    wall and process CPU, for each backend.
//!
//! CORRGAN_PARTS=inference,repair,study (default: all three) picks the parts; CORRGAN_BATCHES
//! (default 1,2,4,8,16,64) the inference batch sizes.
//!
//!   cargo bench --locked --features mpi --bench corrgan
//!   ORT_DYLIB_PATH=$(scripts/setup-onnxruntime.sh | tail -n1) cargo bench --locked --features mpi --bench corrgan
//!
//! Parts 1–3 are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), the minimum over repeats, so
//! other load on the machine inflates them less than wall time; part 4 reports wall time and
//! the process's CPU time (user + system, getrusage), which load inflates less than wall.

use corrmc::corr::CorrSource;
use corrmc::corr::corrgan::{CorrGan, CorrGanParams, symmetrize_upper};
use corrmc::engine::{RunOptions, build_allocators, run_trial};
use corrmc::nearest::{NearestParams, nearest_correlation};
use corrmc::onnx::tract::TractGenerator;
use corrmc::onnx::{Backend, Generator, GeneratorOptions, load_generator};
use corrmc::spec::Spec;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

#[path = "common/mod.rs"]
mod common;
use common::thread_cpu;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model() -> PathBuf {
    root().join("models/corrgan/generator_50d.onnx")
}

/// User + system CPU seconds of the whole process (all threads, finished or not).
fn process_cpu() -> f64 {
    // SAFETY: getrusage fills one rusage struct through a valid pointer.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Minimum thread-CPU seconds of `f` over `reps` runs.
fn min_time<R>(reps: usize, mut f: impl FnMut() -> R) -> f64 {
    (0..reps)
        .map(|_| {
            let t0 = thread_cpu();
            black_box(f());
            thread_cpu() - t0
        })
        .fold(f64::INFINITY, f64::min)
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .map(|s| {
            s.parse()
                .unwrap_or_else(|_| panic!("{key}: cannot parse '{s}'"))
        })
        .unwrap_or(default)
}

fn backends() -> Vec<(Backend, Option<PathBuf>)> {
    let mut v = vec![(Backend::Tract, None)];
    match corrmc::onnx::ort::library_path(None) {
        Some(lib) => v.push((Backend::Ort, Some(lib))),
        None => eprintln!("ORT_DYLIB_PATH not set: ONNX Runtime not measured"),
    }
    v
}

fn gan(backend: Backend, lib: &Option<PathBuf>, batch: usize) -> CorrGan {
    CorrGan::new(CorrGanParams {
        backend,
        batch,
        ort_library: lib.clone(),
        ..CorrGanParams::default_50d(model())
    })
    .expect("load the committed generator")
}

/// The corrgan-50 spec with `trials`, for `backend` (or the uniform source when `None`).
fn study_spec(backend: Option<(Backend, &Option<PathBuf>)>, trials: u64) -> Spec {
    let text = std::fs::read_to_string(root().join("experiments/corrgan-50.toml"))
        .expect("experiments/corrgan-50.toml");
    let text = text
        .replace("trials = 2000", &format!("trials = {trials}"))
        .replace(
            "models/corrgan/generator_50d.onnx",
            &model().display().to_string(),
        );
    let text = match backend {
        None => {
            // Same study, uniform source: drop every CorrGAN key of [source].
            let mut out = String::new();
            let mut in_source = false;
            for line in text.lines() {
                if line.starts_with('[') {
                    in_source = line.trim() == "[source]";
                    out.push_str(line);
                    out.push('\n');
                    if in_source {
                        out.push_str("kind = \"uniform\"\n");
                    }
                    continue;
                }
                if in_source && !line.trim_start().starts_with('#') && line.contains('=') {
                    continue;
                }
                out.push_str(line);
                out.push('\n');
            }
            out
        }
        Some((Backend::Tract, _)) => text,
        Some((Backend::Ort, lib)) => text.replace(
            "backend = \"tract\"",
            &format!(
                "backend = \"ort\"\nort_library = \"{}\"",
                lib.as_ref().expect("ort library").display()
            ),
        ),
    };
    Spec::parse(&text, "corrgan bench").expect("bench spec")
}

fn inference(backends: &[(Backend, Option<PathBuf>)]) {
    println!("## inference (raw generator output, thread CPU per matrix, min over repeats)");
    println!(
        "{:>7} {:>6} {:>10} {:>12}",
        "backend", "batch", "load ms", "ms/matrix"
    );
    let latent = 100;
    let noise = ndarray::Array2::from_shape_fn((64, latent), |(i, j)| {
        corrmc::corr::corrgan::latent_noise(1, i as u64, latent)[j]
    });
    // CORRGAN_BATCHES=1,64 picks the batch sizes (default 1, 2, 4, 8, 16, 64).
    let batches: Vec<usize> = std::env::var("CORRGAN_BATCHES")
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().parse().expect("CORRGAN_BATCHES: batch sizes"))
                .collect()
        })
        .unwrap_or_else(|_| vec![1, 2, 4, 8, 16, 64]);
    for (backend, lib) in backends {
        for &batch in &batches {
            // The backend itself at this batch (tract: a plan built for `batch` rows).
            let t0 = thread_cpu();
            let g: Box<dyn Generator> = match backend {
                Backend::Tract => Box::new(TractGenerator::load(&model(), batch).unwrap()),
                Backend::Ort => load_generator(
                    &model(),
                    &GeneratorOptions {
                        backend: Backend::Ort,
                        batch,
                        ort_library: lib.clone(),
                        ..Default::default()
                    },
                )
                .unwrap(),
            };
            let load = thread_cpu() - t0;
            // 64 matrices per measurement whatever the batch, so each batch size does the same work.
            let chunks: Vec<_> = (0..64)
                .step_by(batch)
                .filter(|s| s + batch <= 64)
                .map(|s| noise.slice(ndarray::s![s..s + batch, ..]).to_owned())
                .collect();
            let t = min_time(env_or("CORRGAN_REPEATS", 5), || {
                for c in &chunks {
                    black_box(g.generate(c).unwrap());
                }
            });
            println!(
                "{:>7} {:>6} {:>10.1} {:>12.3}",
                backend.label(),
                batch,
                1e3 * load,
                1e3 * t / 64.0
            );
        }
    }
}

fn repair_and_trial() {
    println!("\n## post-processing and trial work (thread CPU per matrix / trial)");
    let g = gan(Backend::Tract, &None, 64);
    let raw = g.raw(1, 0..64).unwrap();
    let params = NearestParams::default();
    let syms: Vec<_> = raw.outer_iter().map(symmetrize_upper).collect();
    let t_sym = min_time(5, || {
        for m in raw.outer_iter() {
            black_box(symmetrize_upper(m));
        }
    });
    let mut iters = 0usize;
    let t_rep = min_time(3, || {
        iters = 0;
        for s in &syms {
            let (_, d) = nearest_correlation(s.view(), &params).unwrap();
            iters += d.iterations;
        }
    });
    // The repair's building block: one symmetric eigendecomposition of an n = 50 matrix.
    let t_eigh = min_time(3, || {
        for s in &syms {
            black_box(corrmc::linalg::eigh(s.view()).unwrap());
        }
    });
    let t_eigvals = min_time(3, || {
        for s in &syms {
            black_box(corrmc::linalg::eigvalsh(s.view()).unwrap());
        }
    });
    let spec = study_spec(Some((Backend::Tract, &None)), 64);
    let allocators = build_allocators(&spec).unwrap();
    let samples = g.sample_batch(spec.raw.seed, 0..16).unwrap();
    let t_trial = min_time(3, || {
        for (t, s) in samples.iter().enumerate() {
            black_box(run_trial(&spec, &allocators, t as u64, s.clone(), false).unwrap());
        }
    });
    println!(
        "symmetrize {:.3} ms, Qi-Sun Newton repair {:.3} ms ({:.1} Newton iterations/matrix), trial work {:.3} ms",
        1e3 * t_sym / 64.0,
        1e3 * t_rep / 64.0,
        iters as f64 / 64.0,
        1e3 * t_trial / 16.0
    );
    println!(
        "n = 50 eigendecomposition: eigh {:.3} ms, eigenvalues only {:.3} ms",
        1e3 * t_eigh / 64.0,
        1e3 * t_eigvals / 64.0
    );
}

fn studies(backends: &[(Backend, Option<PathBuf>)]) {
    let trials: u64 = env_or("CORRGAN_TRIALS", 400);
    let threads: usize = env_or("CORRGAN_THREADS", 2);
    println!("\n## end-to-end study, {trials} trials, {threads} threads (wall / process CPU)");
    let dir = tempfile::tempdir().unwrap();
    let run = |label: &str, spec: &Spec| -> (f64, f64) {
        let out = dir.path().join(format!("{label}.h5"));
        let opts = RunOptions {
            threads: Some(threads),
            output: Some(out),
            overwrite: true,
            ..Default::default()
        };
        let (w0, c0) = (Instant::now(), process_cpu());
        corrmc::engine::run(spec, &opts).unwrap();
        (w0.elapsed().as_secs_f64(), process_cpu() - c0)
    };
    let uniform = study_spec(None, trials);
    let mut rows: Vec<(String, f64, f64)> = Vec::new();
    // Interleave uniform and CorrGAN runs so that load changes hit both alike.
    let (wu, cu) = run("uniform", &uniform);
    rows.push(("uniform".into(), wu, cu));
    for (backend, lib) in backends {
        let spec = study_spec(Some((*backend, lib)), trials);
        let (w, c) = run(backend.label(), &spec);
        rows.push((format!("corrgan {}", backend.label()), w, c));
    }
    let (wu2, cu2) = run("uniform2", &uniform);
    rows.push(("uniform (again)".into(), wu2, cu2));
    let (wu, cu) = (0.5 * (wu + wu2), 0.5 * (cu + cu2));
    println!(
        "{:>16} {:>8} {:>8} {:>12} {:>11}",
        "source", "wall s", "CPU s", "wall/uniform", "CPU/uniform"
    );
    for (label, w, c) in rows {
        println!(
            "{label:>16} {w:>8.2} {c:>8.2} {:>12.2} {:>11.2}",
            w / wu,
            c / cu
        );
    }
}

fn main() {
    // `cargo bench` passes --bench; ignore arguments.
    let b = backends();
    // CORRGAN_PARTS=inference,repair,study (default all) picks what to run.
    let parts = std::env::var("CORRGAN_PARTS").unwrap_or_else(|_| "inference,repair,study".into());
    let parts: Vec<&str> = parts.split(',').map(str::trim).collect();
    if parts.contains(&"inference") {
        inference(&b);
    }
    if parts.contains(&"repair") {
        repair_and_trial();
    }
    if parts.contains(&"study") {
        studies(&b);
    }
    let mut load = [0f64; 3];
    // SAFETY: getloadavg writes up to 3 doubles into a valid buffer.
    unsafe { libc::getloadavg(load.as_mut_ptr(), 3) };
    println!(
        "\nload average {:.2} {:.2} {:.2}",
        load[0], load[1], load[2]
    );
}
