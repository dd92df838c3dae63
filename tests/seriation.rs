//! Parity of corrmc's seriation module with R seriation 1.4.1, on fixtures written by
//! `scripts/fixtures_seriation.R` (no R needed to run these tests).

use corrmc::cluster::{Linkage, hclust};
use corrmc::rng::method_stream;
use corrmc::seriation::r_rng::RMersenneTwister;
use corrmc::seriation::{self, Dm, arsa, criteria, spectral, spin};
use ndarray::Array2;
use serde_json::Value;

mod common;

struct Fixture {
    name: String,
    n: usize,
    d: Array2<f64>,
    j: Value,
}

fn fixtures() -> Vec<Fixture> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/seriation");
    let mut out = Vec::new();
    for kind in ["block", "unif"] {
        for n in [8, 17, 30, 100] {
            let name = format!("{kind}_{n}");
            let text = std::fs::read_to_string(format!("{dir}/{name}.json")).expect("fixture");
            let j: Value = serde_json::from_str(&text).expect("json");
            let rows = common::exact_matrices(&text, "d").remove(0);
            let d = Array2::from_shape_fn((n, n), |(r, c)| rows[r][c]);
            out.push(Fixture { name, n, d, j });
        }
    }
    out
}

/// R orders are 1-based.
fn order0(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("order")
        .iter()
        .map(|x| x.as_u64().expect("int") as usize - 1)
        .collect()
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

#[test]
fn all_16_criteria_match_r_on_every_fixture_order() {
    let mut checked = 0;
    let mut worst: (f64, String) = (0.0, String::new());
    for f in fixtures() {
        for rec in f.j["criteria"].as_array().unwrap() {
            let o = order0(&rec["order"]);
            let ours = criteria::all_criteria(f.d.view(), &o).unwrap();
            assert_eq!(ours.len(), 16);
            for (name, v) in ours {
                let r = rec["criteria"][name]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{name} missing"));
                let tol = if name == "ME" { 1e-6 } else { 1e-12 };
                let e = rel(v, r);
                // Near-zero correlations: compare relative to the scale of R's terms.
                let e = if name == "Cor_R" {
                    (v - r).abs().min(e)
                } else {
                    e
                };
                assert!(
                    e <= tol,
                    "{} order {}: {name} = {v:e}, R = {r:e} (rel {e:e})",
                    f.name,
                    rec["label"]
                );
                if e > worst.0 {
                    worst = (e, format!("{} {} {name}", f.name, rec["label"]));
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 16 * 8 * 30, "only {checked} values checked");
    eprintln!(
        "criteria: {checked} values, worst relative error {:e} ({})",
        worst.0, worst.1
    );
}

#[test]
fn single_criterion_api_agrees_and_validates() {
    let f = &fixtures()[1];
    let o: Vec<usize> = (0..f.n).rev().collect();
    for c in seriation::criteria() {
        let a = seriation::criterion(c.name, f.d.view(), &o).unwrap();
        let all = criteria::all_criteria(f.d.view(), &o).unwrap();
        let b = all.iter().find(|x| x.0 == c.name).unwrap().1;
        assert!(rel(a, b) < 1e-14, "{}", c.name);
    }
    assert!(seriation::criterion("nope", f.d.view(), &o).is_err());
    assert!(seriation::criterion("LS", f.d.view(), &o[1..]).is_err());
    let mut dup = o.clone();
    dup[0] = dup[1];
    assert!(seriation::criterion("LS", f.d.view(), &dup).is_err());
}

#[test]
fn hclust_matches_r_for_all_eight_linkages() {
    for f in fixtures() {
        for l in Linkage::ALL {
            let t = hclust(f.d.view(), l);
            let r = &f.j["hclust"][l.r_name()];
            let n = f.n;
            let merge = r["merge"].as_array().unwrap();
            let height = r["height"].as_array().unwrap();
            for (k, m) in t.merges.iter().enumerate() {
                let enc = |x: usize| {
                    if x < n {
                        -(x as i64 + 1)
                    } else {
                        (x - n) as i64 + 1
                    }
                };
                let rm = (merge[k][0].as_i64().unwrap(), merge[k][1].as_i64().unwrap());
                assert_eq!(
                    (enc(m.a), enc(m.b)),
                    rm,
                    "{} {} merge {k}",
                    f.name,
                    l.r_name()
                );
                let h = height[k].as_f64().unwrap();
                assert!(
                    rel(m.height, h) < 1e-12,
                    "{} {} height {k}: {} vs {h}",
                    f.name,
                    l.r_name(),
                    m.height
                );
            }
            assert_eq!(
                t.leaf_order(),
                order0(&r["order"]),
                "{} {} order",
                f.name,
                l.r_name()
            );
        }
    }
}

fn ours(name: &str, f: &Fixture, seed: u64) -> Vec<usize> {
    let mut rng = method_stream(seed, name, 0);
    let s = seriation::seriate(name, f.d.view(), &mut rng)
        .unwrap_or_else(|e| panic!("{name} on {}: {e}", f.name));
    seriation::validate_order(&s.order, f.n).unwrap();
    s.order
}

#[test]
fn tree_and_vat_methods_give_rs_order() {
    let names = [
        "HC",
        "HC_average",
        "HC_complete",
        "HC_single",
        "HC_ward",
        "GW",
        "GW_average",
        "GW_complete",
        "GW_single",
        "GW_ward",
        "OLO",
        "OLO_average",
        "OLO_complete",
        "OLO_single",
        "OLO_ward",
        "VAT",
        "Identity",
    ];
    for f in fixtures() {
        for m in names {
            let r = order0(&f.j["orders"][m]);
            assert_eq!(ours(m, &f, 1), r, "{m} on {}", f.name);
        }
    }
}

/// The eigenvector methods give R's order exactly — orientation included — on every
/// fixture: their eigenvectors come from the LAPACK dsyevr R calls, so the signs
/// agree. No fixture is degenerate (smallest relative eigenvalue gap ≥ 1e-8 at the
/// eigenvalues used); the gaps are printed.
#[test]
fn eigenvector_methods_give_rs_order() {
    let noted: [(
        &str,
        fn(&Dm) -> Result<spectral::EigenOrder, seriation::SeriationError>,
    ); 5] = [
        ("Spectral", spectral::spectral_noted),
        ("Spectral_norm", spectral::spectral_norm_noted),
        ("MDS_metric", spectral::mds_metric_noted),
        ("MDS_angle", spectral::mds_angle_noted),
        ("R2E", spectral::r2e_noted),
    ];
    for f in fixtures() {
        let dm = Dm::new(f.d.view());
        for (m, g) in noted {
            let r = order0(&f.j["orders"][m]);
            let e = g(&dm).unwrap();
            assert!(!e.degenerate(), "{m} on {}: gap {:e}", f.name, e.gap);
            assert_eq!(e.order, r, "{m} on {}", f.name);
            assert_eq!(ours(m, &f, 1), r, "{m} on {} via the registry", f.name);
            eprintln!("{m:14} {:10} smallest eigenvalue gap {:.2e}", f.name, e.gap);
        }
        for m in ["MDS", "MDS_nonmetric"] {
            assert_eq!(
                ours(m, &f, 1),
                order0(&f.j["orders"][m]),
                "{m} on {}",
                f.name
            );
        }
    }
}

/// R2E orders by R's rule: e₁ ≥ 0 by decreasing e₂, then e₁ < 0 by increasing e₂ —
/// so flipping either eigenvector's sign gives another order, and only dsyevr's signs
/// give R's.
#[test]
fn r2e_order_depends_on_eigenvector_signs() {
    let e1 = [0.5, -0.2, 0.1, -0.7, 0.0];
    let e2 = [0.3, 0.9, -0.4, -0.1, 0.2];
    assert_eq!(spectral::r2e_order(&e1, &e2), vec![0, 4, 2, 3, 1]);
    let neg = |v: &[f64]| v.iter().map(|x| -x).collect::<Vec<_>>();
    assert_eq!(spectral::r2e_order(&neg(&e1), &e2), vec![1, 4, 3, 2, 0]);
    assert_eq!(spectral::r2e_order(&e1, &neg(&e2)), vec![2, 4, 0, 1, 3]);
}

/// Equidistant objects: every eigenvalue but one is repeated, so the orders are
/// arbitrary and flagged degenerate.
#[test]
fn repeated_eigenvalues_are_flagged_degenerate() {
    let n = 6;
    let d = Array2::from_shape_fn((n, n), |(i, j)| if i == j { 0.0 } else { 1.0 });
    let dm = Dm::new(d.view());
    assert!(spectral::spectral_noted(&dm).unwrap().degenerate());
    assert!(spectral::spectral_norm_noted(&dm).unwrap().degenerate());
    assert!(spectral::mds_metric_noted(&dm).unwrap().degenerate());
    let f = &fixtures()[2]; // block_17
    let dm = Dm::new(f.d.view());
    assert!(!spectral::spectral_noted(&dm).unwrap().degenerate());
}

/// (criterion-or-energy, larger is better) each stochastic method optimizes.
fn objective(method: &str, f: &Fixture, o: &[usize]) -> (f64, bool) {
    let dm = Dm::new(f.d.view());
    let c = |name: &str| {
        (
            seriation::criterion(name, f.d.view(), o).unwrap(),
            criteria::merit(name).unwrap(),
        )
    };
    match method {
        "ARSA" | "QAP_LS" => c("LS"),
        "QAP_2SUM" => c("2SUM"),
        "QAP_BAR" => c("BAR"),
        "QAP_Inertia" => c("Inertia"),
        "SA" => c("Gradient_raw"),
        "TSP" => c("Path_length"),
        "SPIN_STS" => (spin::sts_energy(&dm, o), false),
        "SPIN_NH" => (spin::spin_energy(&dm, o, &spin::create_w(f.n, 1.0)), false),
        _ => unreachable!(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let k = v.len();
    if k % 2 == 1 {
        v[k / 2]
    } else {
        (v[k / 2 - 1] + v[k / 2]) / 2.0
    }
}

/// Issue 11's bar, at n = 30 and 100: over 15 seeds, the median of the criterion
/// (or energy) each stochastic method optimizes is at least as good as the median
/// over R's 15 seeds (SA: n = 30; R did not run it at n = 100). At n = 8 and 17, where
/// both reach a few discrete local optima, the best of our 15 seeds must reach R's
/// median (medians are printed).
#[test]
fn stochastic_methods_reach_rs_median_criterion() {
    let methods = [
        "ARSA",
        "QAP_2SUM",
        "QAP_BAR",
        "QAP_Inertia",
        "QAP_LS",
        "SPIN_NH",
        "SPIN_STS",
        "TSP",
        "SA",
    ];
    let mut failures = Vec::new();
    for f in fixtures() {
        for m in methods {
            let Some(st) = f.j["stochastic"].get(m) else {
                continue;
            };
            let r_vals: Vec<f64> = st["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| objective(m, &f, &order0(o)).0)
                .collect();
            assert!(
                r_vals.len() >= 15,
                "{m} on {}: {} R seeds",
                f.name,
                r_vals.len()
            );
            let merit = objective(m, &f, &(0..f.n).collect::<Vec<_>>()).1;
            let r_med = median(r_vals);
            let our_vals: Vec<f64> = (1..=15)
                .map(|s| objective(m, &f, &ours(m, &f, s)).0)
                .collect();
            let our_med = median(our_vals.clone());
            let tol = 1e-9 * r_med.abs().max(1.0);
            let our_best = if merit {
                our_vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            } else {
                our_vals.iter().cloned().fold(f64::INFINITY, f64::min)
            };
            // What must reach R's median, and how far short it may fall.
            let v = if f.n >= 30 { our_med } else { our_best };
            let ok = if merit {
                v >= r_med - tol
            } else {
                v <= r_med + tol
            };
            let better = if merit {
                (our_med - r_med) / r_med.abs()
            } else {
                (r_med - our_med) / r_med.abs()
            };
            eprintln!(
                "{m:12} {:10} R median {r_med:16.6} ours median {our_med:16.6} ({:+.3} %) {}",
                f.name,
                100.0 * better,
                if our_med == r_med || ok == (better >= 0.0) {
                    ""
                } else {
                    "below R's median"
                }
            );
            if !ok {
                failures.push(format!(
                    "{m} on {}: our median {our_med} vs R median {r_med}",
                    f.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// corrmc's SA is R's algorithm: one annealing run ([`arsa::anneal`]) drawing from
/// R's own generator (`set.seed(s)`, Mersenne-Twister, `sample.int`'s rejection
/// sampling) ends at R's order for every fixture seed — so a gap between the medians
/// of corrmc and R is the random stream's, not the algorithm's (issue 11).
#[test]
fn sa_replays_rs_runs_exactly_with_rs_generator() {
    let p = arsa::SaParams::from_control(&seriation::Control::new()).unwrap();
    let mut replayed = 0;
    for f in fixtures() {
        let Some(st) = f.j["stochastic"].get("SA") else {
            continue;
        };
        let dm = Dm::new(f.d.view());
        let init = spectral::spectral(&dm).unwrap();
        let seeds = st["seeds"].as_array().unwrap();
        let orders = st["orders"].as_array().unwrap();
        assert_eq!(seeds.len(), orders.len());
        for (s, o) in seeds.iter().zip(orders) {
            let seed = s.as_u64().unwrap() as u32;
            let mut r = RMersenneTwister::set_seed(seed);
            let mut evals = 0;
            let run = arsa::anneal(&dm, init.clone(), &mut r, &p, usize::MAX, &mut evals).unwrap();
            assert!(run.complete);
            assert_eq!(run.last, order0(o), "SA on {} seed {seed}", f.name);
            let g = |o: &[usize]| seriation::criterion("Gradient_raw", f.d.view(), o).unwrap();
            assert!(g(&run.best) >= g(&run.last));
            replayed += 1;
        }
    }
    assert_eq!(replayed, 6 * 15);
}

#[test]
fn stochastic_methods_are_reproducible_and_seed_dependent() {
    let f = &fixtures()[3]; // block_100
    for m in ["Random", "ARSA", "QAP_LS", "SPIN_STS", "TSP"] {
        let a = ours(m, f, 7);
        assert_eq!(a, ours(m, f, 7), "{m} not reproducible");
        assert_ne!(a, ours(m, f, 8), "{m} ignores the seed");
    }
}

#[test]
fn branch_and_bound_reaches_rs_optimum_where_r_finished() {
    for f in fixtures() {
        for (m, crit) in [("BBURCG", "Gradient_raw"), ("BBWRCG", "Gradient_weighted")] {
            let Some(r) = f.j["orders"].get(m) else {
                continue;
            };
            let r = order0(r);
            // Unlimited work here: R finished on these, so must we, with an optimum.
            let mut rng = method_stream(1, m, 0);
            let ctl = seriation::Control::new().with("max_nodes", 0);
            let s = seriation::seriate_with(m, f.d.view(), &mut rng, &ctl).unwrap();
            assert_eq!(s.exact, Some(true), "{m} on {} did not finish", f.name);
            if f.n <= 8 {
                let mut rng = method_stream(1, m, 0);
                let t = seriation::seriate(m, f.d.view(), &mut rng).unwrap();
                assert_eq!(
                    t.exact,
                    Some(true),
                    "{m} on {}: default budget too small",
                    f.name
                );
            }
            let ov = seriation::criterion(crit, f.d.view(), &s.order).unwrap();
            let rv = seriation::criterion(crit, f.d.view(), &r).unwrap();
            assert!(
                rel(ov, rv) < 1e-12,
                "{m} on {}: {crit} {ov} vs R {rv}",
                f.name
            );
        }
    }
}

#[test]
fn every_registered_method_runs_at_n100() {
    let f = &fixtures()[7]; // unif_100
    let ms = seriation::methods();
    assert_eq!(ms.len(), 36);
    for m in ms {
        let mut rng = method_stream(3, m.name, 0);
        let s = seriation::seriate(m.name, f.d.view(), &mut rng)
            .unwrap_or_else(|e| panic!("{}: {e}", m.name));
        seriation::validate_order(&s.order, f.n).unwrap();
        // Budgeted methods say whether they finished; BB cannot prove optimality at n = 100.
        match m.name {
            "BBURCG" | "BBWRCG" => assert_eq!(s.exact, Some(false), "{}", m.name),
            "SA" => assert!(s.exact.is_some()),
            _ => assert_eq!(s.exact, None, "{}", m.name),
        }
    }
}

#[test]
fn cli_reads_npy_and_rejects_bad_matrices() {
    use corrmc::cli::criteria::{CriteriaArgs, run as run_criteria};
    use corrmc::cli::seriate::{SeriateArgs, read_distance, run as run_seriate};
    let dir = tempfile::tempdir().unwrap();
    let f = &fixtures()[0]; // block_8 distances
    let good = dir.path().join("d.npy");
    ndarray_npy::write_npy(&good, &f.d).unwrap();
    let d = read_distance(&good, true).unwrap();
    assert_eq!(d, f.d);
    // correlation input: d = sqrt((1 - rho)/2)
    let rho = f.d.mapv(|x| 1.0 - 2.0 * x * x);
    let corr = dir.path().join("c.npy");
    ndarray_npy::write_npy(&corr, &rho).unwrap();
    let dc = read_distance(&corr, false).unwrap();
    assert!(
        dc.iter()
            .zip(f.d.iter())
            .all(|(a, b)| (a - b).abs() < 1e-12)
    );
    let args = SeriateArgs {
        method: Some("OLO".into()),
        input: Some(good.clone()),
        distance: true,
        criteria: Some("all".into()),
        seed: 1,
        control: vec![],
        json: true,
        list: false,
    };
    run_seriate(&args).unwrap();
    run_seriate(&SeriateArgs {
        list: true,
        method: None,
        input: None,
        ..args.clone()
    })
    .unwrap();
    let bad_method = SeriateArgs {
        method: Some("NoSuch".into()),
        ..args.clone()
    };
    assert!(run_seriate(&bad_method).is_err());
    let bad_ctl = SeriateArgs {
        control: vec!["nope=1".into()],
        ..args.clone()
    };
    assert!(run_seriate(&bad_ctl).is_err());
    let ca = CriteriaArgs {
        input: good.clone(),
        order: "[7,6,5,4,3,2,1,0]".into(),
        distance: true,
        json: false,
    };
    run_criteria(&ca).unwrap();
    let lines = dir.path().join("o.txt");
    std::fs::write(&lines, "0\n1\n2\n3\n4\n5\n6\n7\n").unwrap();
    run_criteria(&CriteriaArgs {
        order: lines.to_string_lossy().into(),
        ..ca.clone()
    })
    .unwrap();
    assert!(
        run_criteria(&CriteriaArgs {
            order: "[0,1,2]".into(),
            ..ca.clone()
        })
        .is_err()
    );
    // wrong shape, NaN, asymmetric: errors naming the file
    let rect = dir.path().join("rect.npy");
    ndarray_npy::write_npy(&rect, &Array2::<f64>::zeros((3, 4))).unwrap();
    let e = read_distance(&rect, true).unwrap_err().to_string();
    assert!(e.contains("rect.npy") && e.contains("not square"), "{e}");
    let mut nan = f.d.clone();
    nan[(1, 2)] = f64::NAN;
    let p = dir.path().join("nan.npy");
    ndarray_npy::write_npy(&p, &nan).unwrap();
    assert!(
        read_distance(&p, true)
            .unwrap_err()
            .to_string()
            .contains("nan.npy")
    );
    let mut asym = f.d.clone();
    asym[(1, 2)] += 0.1;
    let p = dir.path().join("asym.npy");
    ndarray_npy::write_npy(&p, &asym).unwrap();
    assert!(
        read_distance(&p, true)
            .unwrap_err()
            .to_string()
            .contains("not symmetric")
    );
}
