//! The 57 ASRP variants (Schwendner et al. 2021): registry, equality with HRP's
//! bisection on R's own orders (fixtures/asrp, scripts/fixtures_asrp.R), adaptive
//! selection against brute force, hand-checkable cases, reproducibility.

use corrmc::alloc::asrp::{self, CANDIDATES, CRITERIA};
use corrmc::alloc::hrp::recursive_bisection;
use corrmc::alloc::{self, Allocator, Context, Control, Estimate};
use corrmc::asrp::select::{Direction, FitMeasure, select_best};
use corrmc::corr::CorrSource;
use ndarray::{Array1, Array2};
use serde_json::Value;

mod common;

const CTX: Context = Context {
    seed: 5,
    trial: 3,
    out_of_sample: false,
};

fn block_cov(n: usize, trial: u64) -> Array2<f64> {
    let src = corrmc::corr::block::BlockModel::new(corrmc::corr::block::BlockParams {
        n,
        sectors: 3,
        subsectors: 2,
        ..Default::default()
    })
    .unwrap();
    let c = src.sample(1, trial).unwrap().corr;
    let p = corrmc::simulate::SimParams {
        in_sample_days: 200,
        out_of_sample_days: 10,
        vol: corrmc::simulate::VolModel::Uniform {
            low: 0.01,
            high: 0.03,
        },
        returns: Default::default(),
    };
    corrmc::simulate::simulate(c, &p, 1, trial).unwrap().cov_is
}

#[test]
fn registry_has_the_57_variants_by_family() {
    let fam = |f: &str| alloc::resolve(&[f.to_string()]).unwrap().len();
    assert_eq!(fam("asrp:seriation"), 21);
    assert_eq!(fam("asrp:tree"), 19);
    assert_eq!(fam("asrp:adaptive-fit"), 9);
    assert_eq!(fam("asrp:adaptive-criterion"), 8);
    let all = alloc::resolve(&["asrp:all".to_string()]).unwrap();
    assert_eq!(all.len(), 57);
    for name in [
        "HRP_ser_ARSA",
        "HRP_hcs_ward.D2",
        "HRP_hcs-adaptive_clue_cophenetic",
        "HRP_hcs-adaptive_criterions_Inertia_max",
    ] {
        assert!(all.contains(&name), "{name}");
    }
    assert!(
        !all.contains(&"HRP_hcs_single"),
        "single is the registry's HRP"
    );
    assert_eq!(alloc::registry().len(), 64); // 62 + DHRP + DHRP_paper
}

/// `HRP_hcs_<tree>` and every `HRP_ser_<method>` on a deterministic method (VAT,
/// Identity and the eigenvector methods Spectral, Spectral_norm, MDS, MDS_metric,
/// MDS_angle, R2E, MDS_nonmetric, whose orientation comes from LAPACK dsyevr's
/// signs) give R's order exactly and the weights of HRP's bisection (written in R)
/// on it to 1e-12.
#[test]
fn variants_equal_bisection_on_r_orders() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/asrp/hrp_on_r_orders.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let fx: Value = serde_json::from_str(&text).unwrap();
    let covs = common::exact_matrices(&text, "cov");
    let mut checked = 0;
    for (case, rows) in fx["cases"].as_array().unwrap().iter().zip(covs) {
        let n = rows.len();
        let cov = Array2::from_shape_vec((n, n), rows.into_iter().flatten().collect()).unwrap();
        let est = Estimate::new(cov.clone());
        for (name, order) in case["orders"].as_object().unwrap() {
            let expected_order: Vec<usize> = serde_json::from_value(order.clone()).unwrap();
            let v = asrp::variant(name, Control::default()).unwrap();
            let (got, _) = v.order(&est, &CTX).unwrap();
            assert_eq!(got, expected_order, "n = {}: {name} order", case["n"]);
            let w = v.allocate(&est, &CTX).unwrap();
            let r: Vec<f64> = serde_json::from_value(case["weights"][name].clone()).unwrap();
            let diff = w
                .iter()
                .zip(&r)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                diff < 1e-12,
                "n = {}: {name} max |w - w_R| = {diff:.2e}",
                case["n"]
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 3 * 25);
}

/// Adaptive variants choose what a brute-force evaluation over the 20 candidates
/// chooses (ties to the earlier candidate), record the choice, and return the
/// bisection weights of the chosen order.
#[test]
fn adaptive_selection_matches_brute_force() {
    for trial in 0..4 {
        let cov = block_cov(30, trial);
        let est = Estimate::new(cov.clone());
        let orders = est.asrp_candidate_orders().unwrap();
        assert_eq!(orders.len(), 20);
        let d = est.dist().unwrap().clone();
        for (crit, max) in CRITERIA {
            let values: Vec<f64> = orders
                .iter()
                .map(|o| corrmc::seriation::criterion(crit, d.view(), o).unwrap())
                .collect();
            // Brute force written independently of select_best.
            let mut best = 0;
            for i in 1..values.len() {
                if (max && values[i] > values[best]) || (!max && values[i] < values[best]) {
                    best = i;
                }
            }
            let name = format!(
                "HRP_hcs-adaptive_criterions_{crit}_{}",
                if max { "max" } else { "min" }
            );
            let a = alloc::build(&name).unwrap();
            let (w, note) = a.allocate_noted(&est, &CTX).unwrap();
            assert_eq!(note as usize, best, "{name}");
            assert_eq!(
                w,
                recursive_bisection(&cov, &orders[best]).unwrap(),
                "{name}"
            );
        }
        for m in FitMeasure::ALL {
            let values: Vec<f64> = (0..20)
                .map(|i| {
                    let (t, u) = est.asrp_candidate_tree(i).unwrap();
                    m.eval(t, u.view(), d.view())
                })
                .collect();
            let key = |x: f64| match m.direction() {
                Direction::Min => x,
                Direction::Max => -x,
                Direction::ClosestToOne => (x - 1.0).abs(),
            };
            let best = (0..20)
                .filter(|&i| values[i].is_finite())
                .min_by(|&a, &b| key(values[a]).total_cmp(&key(values[b])).then(a.cmp(&b)))
                .unwrap();
            assert_eq!(select_best(&values, m.direction()), Some(best));
            let a = alloc::build(&format!("HRP_hcs-adaptive_{}", m.name())).unwrap();
            let (_, note) = a.allocate_noted(&est, &CTX).unwrap();
            assert_eq!(note as usize, best, "{}", m.name());
        }
    }
}

/// Hand-checkable: two uncorrelated blocks of two equally volatile, strongly
/// correlated assets. Every tree keeps the blocks together, so every tree-based
/// and adaptive variant gives 1/4 each; the seriation methods that keep blocks
/// contiguous do too.
#[test]
fn block_diagonal_gives_equal_weights() {
    let cov = ndarray::array![
        [1.0, 0.0, 0.9, 0.0],
        [0.0, 1.0, 0.0, 0.9],
        [0.9, 0.0, 1.0, 0.0],
        [0.0, 0.9, 0.0, 1.0]
    ];
    let est = Estimate::new(cov);
    let names = alloc::resolve(&[
        "asrp:tree".into(),
        "asrp:adaptive-fit".into(),
        "asrp:adaptive-criterion".into(),
    ])
    .unwrap();
    for name in names {
        let w = alloc::build(name).unwrap().allocate(&est, &CTX).unwrap();
        assert!(w.iter().all(|&x| (x - 0.25).abs() < 1e-14), "{name}: {w}");
    }
    // Identity keeps the given order [0,1,2,3]: halves {0,1}, {2,3} mix the blocks
    // but the halves are symmetric, so α = 1/2 and weights are again 1/4.
    let w = alloc::build("HRP_ser_Identity")
        .unwrap()
        .allocate(&est, &CTX)
        .unwrap();
    assert!(w.iter().all(|&x| (x - 0.25).abs() < 1e-14), "{w}");
}

/// Every variant runs at n = 100 with its study defaults and returns valid
/// weights; budgeted BB records that it could not prove optimality.
#[test]
fn every_variant_runs_at_n100() {
    let cov = block_cov(100, 0);
    let est = Estimate::new(cov);
    for name in alloc::resolve(&["asrp:all".to_string()]).unwrap() {
        let a = alloc::build(name).unwrap();
        let (w, note) = a
            .allocate_noted(&est, &CTX)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        alloc::check_weights(&w, 100).unwrap();
        assert!(w.iter().all(|&x| x >= 0.0), "{name}");
        if name.starts_with("HRP_ser_BB") {
            assert_eq!(
                note, 0.0,
                "{name}: a 100-asset search cannot finish in 1e5 work units"
            );
        }
    }
}

/// Stochastic seriation variants are reproducible from (seed, trial, method) and
/// differ between trials.
#[test]
fn stochastic_variants_are_reproducible() {
    let cov = block_cov(40, 1);
    for name in [
        "HRP_ser_Random",
        "HRP_ser_ARSA",
        "HRP_ser_QAP_LS",
        "HRP_ser_SPIN_STS",
        "HRP_ser_TSP",
    ] {
        let a = alloc::build(name).unwrap();
        let w1 = a.allocate(&Estimate::new(cov.clone()), &CTX).unwrap();
        let w2 = a.allocate(&Estimate::new(cov.clone()), &CTX).unwrap();
        assert_eq!(w1, w2, "{name}");
    }
    let a = alloc::build("HRP_ser_Random").unwrap();
    let other = Context { trial: 4, ..CTX };
    let w3: Array1<f64> = a.allocate(&Estimate::new(cov.clone()), &other).unwrap();
    assert_ne!(a.allocate(&Estimate::new(cov), &CTX).unwrap(), w3);
}

#[test]
fn candidates_are_listed_in_tie_breaking_order() {
    assert_eq!(CANDIDATES[0], "single");
    assert_eq!(CANDIDATES.len(), 20);
    for c in &CANDIDATES[1..] {
        assert!(alloc::build(&format!("HRP_hcs_{c}")).is_some(), "{c}");
    }
}

/// Inside a study the branch-and-bound variants run with `STUDY_BB_CONTROL`
/// (R's phase 1 costs about a second per call at n = 50): the order equals the
/// seriation method's with exactly those controls, and a spec control overrides.
#[test]
fn bb_variants_use_study_defaults() {
    let cov = block_cov(30, 2);
    let est = Estimate::new(cov);
    let d = est.dist().unwrap().clone();
    for m in ["BBURCG", "BBWRCG"] {
        let name = format!("HRP_ser_{m}");
        let mut c = Control::new();
        for (k, v) in asrp::STUDY_BB_CONTROL {
            c = c.with(k, v);
        }
        let expected = corrmc::seriation::seriate_with(m, d.view(), &mut CTX.rng(&name), &c)
            .unwrap()
            .order;
        let (order, exact) = asrp::variant(&name, Control::default())
            .unwrap()
            .order(&est, &CTX)
            .unwrap();
        assert_eq!(order, expected, "{name}");
        assert_eq!(
            exact, 0.0,
            "{name}: 1e5 work units cannot prove optimality at n = 30"
        );
        // A spec control replaces that key only; a tiny budget still returns a permutation.
        let v = asrp::variant(&name, Control::new().with("max_nodes", 10)).unwrap();
        let (o, _) = v.order(&est, &CTX).unwrap();
        let mut sorted = o.clone();
        sorted.sort();
        assert_eq!(sorted, (0..30).collect::<Vec<_>>());
    }
}

/// Eigenvector variants note the smallest relative eigenvalue gap: well above 1e-8
/// on a block covariance, below it on an equicorrelated one, where every order is
/// as valid as any other (README, "Seriation").
#[test]
fn eigenvector_variants_note_their_eigenvalue_gap() {
    let cov = block_cov(20, 4);
    let eq = Array2::from_shape_fn((8, 8), |(i, j)| if i == j { 1.0 } else { 0.3 });
    for m in [
        "Spectral",
        "Spectral_norm",
        "MDS",
        "MDS_metric",
        "MDS_angle",
        "R2E",
    ] {
        let name = format!("HRP_ser_{m}");
        let a = alloc::build(&name).unwrap();
        assert!(
            a.note_description().unwrap().contains("eigenvalue"),
            "{name}"
        );
        let (w, gap) = a.allocate_noted(&Estimate::new(cov.clone()), &CTX).unwrap();
        assert!(gap > 1e-8 && gap <= 1.0, "{name}: gap {gap}");
        let v = asrp::variant(&name, Control::default()).unwrap();
        let (o, _) = v.order(&Estimate::new(cov.clone()), &CTX).unwrap();
        let b = recursive_bisection(&cov, &o).unwrap();
        assert_eq!(w, b, "{name}");
        if m != "R2E" {
            let (_, g) = a.allocate_noted(&Estimate::new(eq.clone()), &CTX).unwrap();
            assert!(g < 1e-8, "{name}: equicorrelated gap {g}");
        }
    }
}
