//! Seriation at n = 100: every method's time (criterion), then a table beside R
//! seriation 1.4.1's median times measured by `scripts/fixtures_seriation.R` on the
//! same matrix (fixtures/seriation/block_100.json), with the criterion each method
//! optimizes. `cargo bench --bench seriation`.

use corrmc::rng::method_stream;
use corrmc::seriation::{self, criteria};
use criterion::Criterion;
use ndarray::Array2;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn fixture(name: &str) -> (Array2<f64>, serde_json::Value) {
    let p = format!(
        "{}/fixtures/seriation/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let rows = j["d"].as_array().unwrap();
    let n = rows.len();
    let d = Array2::from_shape_fn((n, n), |(r, c)| rows[r][c].as_f64().unwrap());
    (d, j)
}

fn bench(c: &mut Criterion) {
    let (d, _) = fixture("block_100");
    let mut g = c.benchmark_group("seriate_n100");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for m in seriation::methods() {
        g.bench_function(m.name, |b| {
            let mut rng = method_stream(1, m.name, 0);
            b.iter(|| seriation::seriate(m.name, black_box(d.view()), &mut rng).unwrap())
        });
    }
    let o: Vec<usize> = (0..100).collect();
    g.bench_function("criteria_all16", |b| {
        b.iter(|| criteria::all_criteria(black_box(d.view()), &o).unwrap())
    });
    g.finish();
}

/// Median wall time of `reps` calls, in ms.
fn time_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[reps / 2]
}

fn table() {
    let (d, j) = fixture("block_100");
    let r = &j["timings_ms"];
    let objective = |m: &str| match m {
        "ARSA" | "QAP_LS" => "LS",
        "QAP_2SUM" => "2SUM",
        "QAP_BAR" => "BAR",
        "QAP_Inertia" => "Inertia",
        "TSP" => "Path_length",
        "SA" | "BBURCG" => "Gradient_raw",
        "BBWRCG" => "Gradient_weighted",
        _ => "Path_length",
    };
    println!(
        "\n| method | corrmc ms | R ms | criterion | corrmc | R (median of 15 seeds for stochastic) |"
    );
    println!("|---|---:|---:|---|---:|---:|");
    for m in seriation::methods() {
        let mut rng = method_stream(1, m.name, 0);
        let reps = if matches!(m.name, "BBURCG" | "BBWRCG" | "SA") {
            3
        } else {
            21
        };
        let ms = time_ms(reps, || {
            black_box(seriation::seriate(m.name, d.view(), &mut rng).unwrap());
        });
        let crit = objective(m.name);
        let ours = seriation::seriate(m.name, d.view(), &mut method_stream(1, m.name, 0)).unwrap();
        let ov = seriation::criterion(crit, d.view(), &ours.order).unwrap();
        let rv = if let Some(st) = j["stochastic"].get(m.name) {
            let mut v: Vec<f64> = st["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    let o: Vec<usize> = o
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_u64().unwrap() as usize - 1)
                        .collect();
                    seriation::criterion(crit, d.view(), &o).unwrap()
                })
                .collect();
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            format!("{:.4}", v[v.len() / 2])
        } else if let Some(o) = j["orders"].get(m.name) {
            let o: Vec<usize> = o
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize - 1)
                .collect();
            format!("{:.4}", seriation::criterion(crit, d.view(), &o).unwrap())
        } else {
            "—".into()
        };
        let rt = r
            .get(m.name)
            .and_then(|v| v.as_f64())
            .map(|v| format!("{v:.2}"))
            .unwrap_or("> 60 000".into());
        println!("| {} | {ms:.3} | {rt} | {crit} | {ov:.4} | {rv} |", m.name);
    }
    let o: Vec<usize> = (0..100).collect();
    let ms = time_ms(21, || {
        black_box(criteria::all_criteria(d.view(), &o).unwrap());
    });
    println!(
        "| (all 16 criteria) | {ms:.3} | {:.2} | | | |",
        r["criteria_all16"].as_f64().unwrap_or(f64::NAN)
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    table();
}
