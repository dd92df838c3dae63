//! Budget-limited branch and bound (`BBURCG`, `BBWRCG`): phase 1 always completes,
//! so a small `max_nodes` still returns a good order.

use corrmc::rng::method_stream;
use corrmc::seriation::{self, Control, Dm, bb};
use ndarray::Array2;
use rand::RngExt;

/// Correlation distance sqrt((1 - rho) / 2) of `t` x `n` standard-normal-ish data.
fn corr_dist(n: usize, t: usize, seed: u64) -> Array2<f64> {
    let mut rng = method_stream(seed, "bb-test-data", 0);
    // Sum of 12 uniforms - 6: close enough to normal for a test matrix.
    let x = Array2::from_shape_fn((t, n), |_| {
        (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0
    });
    let mut c = Array2::<f64>::zeros((n, n));
    let cols: Vec<Vec<f64>> = (0..n)
        .map(|j| {
            let col: Vec<f64> = x.column(j).to_vec();
            let m = col.iter().sum::<f64>() / t as f64;
            let s = col.iter().map(|v| (v - m) * (v - m)).sum::<f64>().sqrt();
            col.iter().map(|v| (v - m) / s).collect()
        })
        .collect();
    for i in 0..n {
        for j in 0..n {
            let r: f64 = cols[i].iter().zip(&cols[j]).map(|(a, b)| a * b).sum();
            c[(i, j)] = if i == j {
                0.0
            } else {
                ((1.0 - r.clamp(-1.0, 1.0)) / 2.0).sqrt()
            };
        }
    }
    c
}

/// The cheap study configuration documented in `bb.rs`.
fn study(max_nodes: f64) -> Control {
    Control::new()
        .with("max_nodes", max_nodes)
        .with("starts", 0)
        .with("max_passes", 2)
}

#[test]
fn small_budget_beats_phase1_and_cheap_seeds() {
    for (n, ctl) in [
        (50, Control::new().with("max_nodes", 1e5)), // R's 20 starts
        (50, study(1e5)),
        (100, study(1e5)),
    ] {
        let d = corr_dist(n, 300, n as u64);
        let dm = Dm::new(d.view());
        for (m, weighted, crit) in [
            ("BBURCG", false, "Gradient_raw"),
            ("BBWRCG", true, "Gradient_weighted"),
        ] {
            let mut rng = method_stream(1, m, 0);
            let r = bb::bb_report(&dm, &mut rng, &ctl, weighted).unwrap();
            seriation::validate_order(&r.order, n).unwrap();
            assert!(!r.exact, "{m} n={n}: cannot finish on 1e5 work units");
            let v = seriation::criterion(crit, d.view(), &r.order).unwrap();
            assert!(
                (v - r.value).abs() <= 1e-9 * v.abs().max(1.0),
                "{m}: {v} vs {}",
                r.value
            );
            assert!(
                r.value >= r.incumbent_value,
                "{m} n={n}: below its incumbent"
            );
            for seed in ["HC_average", "OLO_average"] {
                let o = seriation::seriate(seed, d.view(), &mut method_stream(1, seed, 0))
                    .unwrap()
                    .order;
                let sv = seriation::criterion(crit, d.view(), &o).unwrap();
                assert!(v >= sv, "{m} n={n}: {crit} {v} below {seed}'s {sv}");
            }
        }
    }
}

#[test]
fn budget_limited_runs_are_deterministic() {
    let d = corr_dist(50, 300, 5);
    for m in ["BBURCG", "BBWRCG"] {
        let ctl = study(1e6);
        let a = seriation::seriate_with(m, d.view(), &mut method_stream(3, m, 0), &ctl).unwrap();
        let b = seriation::seriate_with(m, d.view(), &mut method_stream(3, m, 0), &ctl).unwrap();
        assert_eq!(a, b, "{m}");
        assert_eq!(a.exact, Some(false));
        // With R's random starts the stream matters.
        let ctl = Control::new().with("max_nodes", 1e5).with("olo_seed", 0);
        let a = seriation::seriate_with(m, d.view(), &mut method_stream(3, m, 0), &ctl).unwrap();
        let b = seriation::seriate_with(m, d.view(), &mut method_stream(3, m, 0), &ctl).unwrap();
        assert_eq!(a, b, "{m}");
    }
}

#[test]
fn exact_result_does_not_depend_on_the_incumbent() {
    // The first optimum in depth-first order is returned whatever phase 1 found.
    let d = corr_dist(9, 60, 11);
    for m in ["BBURCG", "BBWRCG"] {
        let run = |ctl: Control| {
            seriation::seriate_with(
                m,
                d.view(),
                &mut method_stream(2, m, 0),
                &ctl.with("max_nodes", 0),
            )
            .unwrap()
        };
        let r = run(Control::new().with("olo_seed", 0));
        assert_eq!(r.exact, Some(true));
        assert_eq!(r, run(Control::new()), "{m}");
        assert_eq!(r, run(Control::new().with("starts", 0)), "{m}");
        assert_eq!(
            r,
            run(Control::new().with("starts", 1).with("max_passes", 1)),
            "{m}"
        );
    }
}

#[test]
fn bad_phase1_controls_are_rejected() {
    let d = corr_dist(10, 40, 1);
    let mut rng = method_stream(1, "BBURCG", 0);
    for ctl in [
        Control::new().with("starts", 0).with("olo_seed", 0),
        Control::new().with("olo_seed", 2),
    ] {
        assert!(seriation::seriate_with("BBURCG", d.view(), &mut rng, &ctl).is_err());
    }
}
