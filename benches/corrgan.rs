//! Generator throughput (matrices/s at batch 1 and 64, tract and — where the library is
//! present — ONNX Runtime) and nearest-correlation repair time at n = 50 and n = 100.
//!
//!   cargo bench --bench corrgan -- --quick
//!   ORT_DYLIB_PATH=$(scripts/setup-onnxruntime.sh | tail -n1) cargo bench --bench corrgan

use corrmc::corr::corrgan::{CorrGan, CorrGanParams};
use corrmc::nearest::{NearestParams, RepairMethod, nearest_correlation};
use corrmc::onnx::Backend;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;
use std::hint::black_box;
use std::path::PathBuf;

fn model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/corrgan/generator_50d.onnx")
}

fn generators(c: &mut Criterion) {
    let mut group = c.benchmark_group("corrgan_generate");
    let mut backends = vec![(Backend::Tract, None)];
    match corrmc::onnx::ort::library_path(None) {
        Some(lib) => backends.push((Backend::Ort, Some(lib))),
        None => eprintln!("ORT_DYLIB_PATH not set: ONNX Runtime not benchmarked"),
    }
    for (backend, lib) in backends {
        for batch in [1usize, 64] {
            let params = CorrGanParams {
                backend,
                batch,
                ort_library: lib.clone(),
                ..CorrGanParams::default_50d(model())
            };
            let gan = CorrGan::new(params).unwrap();
            let noise = gan.noise(1, 0..batch as u64);
            group.throughput(Throughput::Elements(batch as u64));
            // Raw inference only.
            group.bench_with_input(
                BenchmarkId::new(format!("{}_raw", backend.label()), batch),
                &batch,
                |b, _| b.iter(|| black_box(gan.raw(1, 0..batch as u64).unwrap())),
            );
            let _ = noise;
            // Inference + symmetrize + repair (what a study pays per matrix).
            group.bench_with_input(
                BenchmarkId::new(format!("{}_repaired", backend.label()), batch),
                &batch,
                |b, _| b.iter(|| black_box(gan.sample_repaired(1, 0..batch as u64).unwrap())),
            );
        }
    }
    group.finish();
}

/// A unit-diagonal symmetric matrix of CorrGAN-like indefiniteness: a 3-factor correlation
/// matrix plus symmetric noise (as in scripts/fixtures_repair.py).
fn noisy_corr(n: usize, seed: u64) -> Array2<f64> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let mut z = || -> f64 { StandardNormal.sample(&mut rng) };
    let f = Array2::from_shape_fn((n, 3), |_| z());
    let mut c = f.dot(&f.t());
    for i in 0..n {
        c[(i, i)] += 0.6;
    }
    let d: Vec<f64> = (0..n).map(|i| 1.0 / c[(i, i)].sqrt()).collect();
    let mut a = Array2::from_shape_fn((n, n), |(i, j)| c[(i, j)] * d[i] * d[j]);
    for i in 0..n {
        for j in 0..i {
            let e = 0.08 * z();
            a[(i, j)] += e;
            a[(j, i)] = a[(i, j)];
        }
        a[(i, i)] = 1.0;
    }
    a
}

fn repair(c: &mut Criterion) {
    let mut group = c.benchmark_group("nearest_correlation");
    for n in [50usize, 100] {
        let a = noisy_corr(n, 7);
        for method in [RepairMethod::QiSunNewton, RepairMethod::HighamDykstra] {
            let params = NearestParams {
                method,
                tol: if method == RepairMethod::HighamDykstra {
                    1e-10
                } else {
                    1e-12
                },
                ..Default::default()
            };
            let (_, d) = nearest_correlation(a.view(), &params).unwrap();
            eprintln!(
                "n={n} {}: {} iterations, distance {:.4}",
                method.label(),
                d.iterations,
                d.frobenius_distance
            );
            group.bench_with_input(BenchmarkId::new(method.label(), n), &n, |b, _| {
                b.iter(|| black_box(nearest_correlation(a.view(), &params).unwrap()))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, repair, generators);
criterion_main!(benches);
