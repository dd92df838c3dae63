//! Allocators at n = 100 on a 756-day sample covariance, one full trial, and the
//! simulation alone. `cargo bench --bench allocators` (add `-- --quick` for a
//! short run).

use corrmc::alloc::{self, Context, Estimate};
use corrmc::corr::{CorrSource, onion::Onion};
use corrmc::simulate::{SimParams, VolModel, simulate};
use corrmc::spec::Spec;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn data(n: usize) -> corrmc::simulate::TrialData {
    let src = Onion::new(n, 1.0).unwrap();
    let c = src.sample(1, 0).unwrap().corr;
    let p = SimParams {
        in_sample_days: 756,
        out_of_sample_days: 756,
        vol: VolModel::Unit,
        returns: Default::default(),
    };
    simulate(c, &p, 1, 0).unwrap()
}

fn allocators(c: &mut Criterion) {
    let d = data(100);
    let ctx = Context {
        seed: 1,
        trial: 0,
        out_of_sample: false,
    };
    let mut g = c.benchmark_group("allocate_n100");
    for m in alloc::registry().into_iter().take(5) {
        let a = alloc::build(m.name).unwrap();
        g.bench_function(m.name, |b| {
            b.iter(|| {
                // A fresh estimate per call: derived quantities (distance, tree)
                // are part of each method's cost.
                let est = Estimate::new(d.cov_is.clone());
                black_box(a.allocate(&est, &ctx).unwrap())
            })
        });
    }
    g.finish();
}

fn trial(c: &mut Criterion) {
    let spec = Spec::parse(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/experiments/blog-replication.toml"
        ))
        .unwrap(),
        "blog-replication.toml",
    )
    .unwrap();
    let src = spec.build_source().unwrap();
    let allocs: Vec<_> = spec
        .methods
        .iter()
        .map(|m| alloc::build(m).unwrap())
        .collect();
    let mut g = c.benchmark_group("trial_n100");
    g.bench_function("correlation_onion", |b| {
        b.iter(|| black_box(src.sample(1, 3).unwrap()))
    });
    g.bench_function("simulate_756+756", |b| {
        let s = src.sample(1, 3).unwrap();
        b.iter(|| black_box(simulate(s.corr.clone(), &spec.sim, 1, 3).unwrap()))
    });
    g.bench_function("full_trial_5_methods", |b| {
        b.iter(|| {
            let s = src.sample(1, 3).unwrap();
            black_box(corrmc::engine::run_trial(&spec, &allocs, 3, s, false).unwrap())
        })
    });
    g.finish();
}

/// Per-trial cost of each ASRP family at n = 50 and n = 100: every variant of the
/// family on one shared estimate (the distance, candidate trees and cophenetic
/// matrices are built once per estimate, as in a study). BB variants use their
/// study defaults (`alloc::asrp::STUDY_BB_CONTROL`).
fn asrp_families(c: &mut Criterion) {
    let mut g = c.benchmark_group("asrp_family_per_trial");
    g.sample_size(10);
    for n in [50, 100] {
        let d = data(n);
        let ctx = Context {
            seed: 1,
            trial: 0,
            out_of_sample: false,
        };
        for fam in [
            "asrp:seriation",
            "asrp:tree",
            "asrp:adaptive-fit",
            "asrp:adaptive-criterion",
        ] {
            let names = alloc::resolve(&[fam.to_string()]).unwrap();
            let allocs: Vec<_> = names.iter().map(|m| alloc::build(m).unwrap()).collect();
            g.bench_function(format!("{fam}/n{n}"), |b| {
                b.iter(|| {
                    let est = Estimate::new(d.cov_is.clone());
                    for a in &allocs {
                        black_box(a.allocate(&est, &ctx).unwrap());
                    }
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, allocators, trial, asrp_families);
criterion_main!(benches);
