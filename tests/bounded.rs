//! Every method bounded at large n (issue 12): branch and bound refuses above its
//! documented n before allocating its n³ tables, and ARSA stops at its work budget;
//! both are reported as results/errors, never as a panic or an abort.

use corrmc::alloc::{self, Context, Estimate};
use corrmc::seriation::{Control, bb::BB_MAX_N, seriate_with};
use ndarray::Array2;

/// A valid distance matrix sqrt((1 − ρ)/2) of an equicorrelated-plus-noise model.
fn dist(n: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            0.0
        } else {
            let rho = 0.3 + 0.2 * (((i * 31 + j * 31) % 17) as f64 / 17.0);
            ((1.0 - rho) / 2.0).sqrt()
        }
    })
}

#[test]
fn branch_and_bound_refuses_above_its_limit() {
    let d = dist(BB_MAX_N + 1);
    for m in ["BBURCG", "BBWRCG"] {
        let mut rng = corrmc::rng::method_stream(1, m, 0);
        let e = seriate_with(m, d.view(), &mut rng, &Control::new()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("refused above n = 250"), "{m}: {msg}");
    }
    // Inside a study: the ASRP variant records a per-method error for the trial.
    let n = BB_MAX_N + 1;
    let cov = Array2::from_shape_fn((n, n), |(i, j)| if i == j { 1.0 } else { 0.2 });
    let a = alloc::build("HRP_ser_BBURCG").unwrap();
    let ctx = Context {
        seed: 1,
        trial: 0,
        out_of_sample: false,
    };
    let e = a.allocate(&Estimate::new(cov), &ctx).unwrap_err();
    assert!(e.message.contains("refused above n = 250"), "{}", e.message);
}

#[test]
fn arsa_stops_at_its_work_budget() {
    let d = dist(120);
    let mut rng = corrmc::rng::method_stream(3, "ARSA", 0);
    let c = Control::new().with("max_work", 1e6);
    let s = seriate_with("ARSA", d.view(), &mut rng, &c).unwrap();
    assert_eq!(s.exact, Some(false), "budget not reported");
    let mut sorted = s.order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..120).collect::<Vec<_>>());
    // At small n the default budget never binds: the schedule completes.
    let d = dist(30);
    let mut rng = corrmc::rng::method_stream(3, "ARSA", 0);
    let s = seriate_with("ARSA", d.view(), &mut rng, &Control::new()).unwrap();
    assert_eq!(s.exact, None);
    let mut rng = corrmc::rng::method_stream(3, "ARSA", 0);
    let bad = Control::new().with("max_work", -1);
    assert!(seriate_with("ARSA", d.view(), &mut rng, &bad).is_err());
}

/// Every iterative seriation method takes `max_work` (and, when it polishes, `polish_work`):
/// at a tiny budget it stops, returns
/// a permutation and says so (`exact = Some(false)`); with the default budget at small n
/// it completes (`exact = None`) and gives exactly the unbudgeted result (`max_work = 0`);
/// a negative or non-numeric budget is refused, naming the method and the control.
#[test]
fn iterative_seriation_methods_stop_at_their_work_budget() {
    let methods = [
        "SPIN_NH",
        "SPIN_STS",
        "TSP",
        "QAP_LS",
        "QAP_2SUM",
        "QAP_BAR",
        "QAP_Inertia",
    ];
    let n = 60;
    let d = dist(n);
    for m in methods {
        let run = |c: &Control| {
            let mut rng = corrmc::rng::method_stream(3, m, 0);
            seriate_with(m, d.view(), &mut rng, c)
        };
        let tiny = run(&Control::new().with("max_work", 1000)).unwrap();
        assert_eq!(tiny.exact, Some(false), "{m}: budget not reported");
        let mut sorted = tiny.order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "{m}");
        // The polishing descent has its own budget: alone it stops the method too.
        if m != "TSP" {
            let p = run(&Control::new().with("polish_work", 1)).unwrap();
            assert_eq!(p.exact, Some(false), "{m}: polish budget not reported");
            let e = run(&Control::new().with("polish_work", -2))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("{m} polish_work = -2")), "{e}");
        }
        let default = run(&Control::new()).unwrap();
        assert_eq!(default.exact, None, "{m}: default budget binds at n = {n}");
        let unlimited = run(&Control::new().with("max_work", 0)).unwrap();
        assert_eq!(
            default, unlimited,
            "{m}: the default budget changed the result"
        );
        for bad in ["-1", "NaN", "lots"] {
            let e = run(&Control::new().with("max_work", bad))
                .unwrap_err()
                .to_string();
            assert!(e.contains("max_work"), "{m} max_work={bad}: {e}");
        }
    }
}

/// Inside a study, a budget-limited seriation is recorded in `method_info` as 0
/// (not exact), like ARSA's.
#[test]
fn budget_limited_seriation_is_noted_per_trial() {
    let n = 40;
    let cov = Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            1.0
        } else {
            0.2 + 0.3 * (((i * 7 + j * 7) % 11) as f64 / 11.0)
        }
    });
    let ctx = Context {
        seed: 1,
        trial: 0,
        out_of_sample: false,
    };
    let tiny = Control::new().with("max_work", 100);
    let a = alloc::build_with("HRP_ser_QAP_LS", &tiny).unwrap();
    let (_, note) = a.allocate_noted(&Estimate::new(cov.clone()), &ctx).unwrap();
    assert_eq!(note, 0.0, "budget-limited: note 0");
    assert!(a.note_description().unwrap().contains("max_work"));
    let a = alloc::build("HRP_ser_QAP_LS").unwrap();
    let (_, note) = a.allocate_noted(&Estimate::new(cov), &ctx).unwrap();
    assert!(note.is_nan(), "complete: no note");
}
