//! Nearest-correlation repair against the committed reference fixtures
//! (`scripts/fixtures_repair.py`: explicit-Jacobian Qi–Sun Newton to ‖F‖ ≤ 1e-14 in numpy,
//! cross-checked with 20,000 Higham–Dykstra iterations).

use corrmc::nearest::{NearestParams, RepairMethod, nearest_correlation};
use ndarray::Array2;
use ndarray_npy::read_npy;
use std::path::PathBuf;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/repair")
}

fn manifest() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture_dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn cases() -> Vec<(String, Array2<f64>, Array2<f64>, serde_json::Value)> {
    let m = manifest();
    let obj = m.as_object().unwrap();
    let mut out = Vec::new();
    for (name, meta) in obj.iter().filter(|(k, _)| !k.starts_with('_')) {
        let input: Array2<f64> = read_npy(fixture_dir().join(format!("{name}_input.npy"))).unwrap();
        let expected: Array2<f64> =
            read_npy(fixture_dir().join(format!("{name}_expected.npy"))).unwrap();
        out.push((name.clone(), input, expected, meta.clone()));
    }
    assert!(
        out.len() >= 6,
        "fixtures missing: run scripts/fixtures_repair.py"
    );
    out
}

fn max_abs_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn qi_sun_newton_matches_reference_to_1e10() {
    for (name, input, expected, meta) in cases() {
        let params = NearestParams {
            eig_floor: meta["eig_floor"].as_f64().unwrap(),
            ..Default::default()
        };
        let (x, d) = nearest_correlation(input.view(), &params).unwrap();
        let err = max_abs_diff(&x, &expected);
        assert!(err <= 1e-10, "{name}: max |X - X_ref| = {err:.3e}");
        assert!(!d.fell_back, "{name}: Newton fell back to Higham-Dykstra");
        assert_eq!(d.method, RepairMethod::QiSunNewton);
        let dist = meta["frobenius_distance"].as_f64().unwrap();
        assert!(
            (d.frobenius_distance - dist).abs() <= 1e-10,
            "{name}: distance {} vs {dist}",
            d.frobenius_distance
        );
        let before = meta["min_eig_before"].as_f64().unwrap();
        assert!((d.min_eig_before - before).abs() <= 1e-10, "{name}");
        assert!(
            d.min_eig_after >= params.eig_floor - 1e-12,
            "{name}: min eig {}",
            d.min_eig_after
        );
        assert!(x.diag().iter().all(|&v| v == 1.0), "{name}: diagonal not 1");
        assert!(
            x.iter().zip(x.t().iter()).all(|(a, b)| a == b),
            "{name}: not symmetric"
        );
        eprintln!(
            "{name}: max |X - X_ref| = {err:.1e}, {} iterations",
            d.iterations
        );
        // The nearest correlation matrix of an indefinite matrix lies on the boundary of the
        // PSD cone (Higham 2002, Theorem 2.5): at least one eigenvalue sits at the floor.
        if before < params.eig_floor {
            assert!(d.eigs_at_floor >= 1, "{name}: no eigenvalue at the floor");
        } else {
            assert_eq!(d.eigs_at_floor, 0, "{name}");
        }
        if meta["newton_iterations"].as_u64().unwrap() > 0 {
            assert!(
                d.iterations >= 1 && d.iterations <= 20,
                "{name}: {} iterations",
                d.iterations
            );
        }
    }
}

#[test]
fn higham_dykstra_matches_reference() {
    // Linear convergence: at tol 1e-13 the iterate is within ~1e-10 of the solution on these cases.
    for (name, input, expected, meta) in cases() {
        if input.nrows() > 50 {
            continue; // keep test time small
        }
        let params = NearestParams {
            method: RepairMethod::HighamDykstra,
            tol: 1e-13,
            eig_floor: meta["eig_floor"].as_f64().unwrap(),
            ..Default::default()
        };
        let (x, d) = nearest_correlation(input.view(), &params).unwrap();
        let err = max_abs_diff(&x, &expected);
        assert!(
            err <= 1e-9,
            "{name}: max |X - X_ref| = {err:.3e} after {} iterations",
            d.iterations
        );
    }
}

#[test]
fn non_symmetric_input_is_repaired_as_its_symmetric_part() {
    let (_, input, expected, _) = cases().into_iter().find(|c| c.0 == "uniform_10").unwrap();
    let mut skew = input.clone();
    for i in 0..10 {
        for j in 0..i {
            skew[(i, j)] += 0.3;
            skew[(j, i)] -= 0.3;
        }
    }
    let (x, _) = nearest_correlation(skew.view(), &NearestParams::default()).unwrap();
    assert!(max_abs_diff(&x, &expected) <= 1e-10);
}

#[test]
fn non_square_and_nan_inputs_are_errors() {
    let a = Array2::<f64>::zeros((3, 4));
    let e = nearest_correlation(a.view(), &NearestParams::default()).unwrap_err();
    assert!(e.to_string().contains("3x4"), "{e}");
    let mut b = Array2::<f64>::eye(4);
    b[(2, 1)] = f64::NAN;
    let e = nearest_correlation(b.view(), &NearestParams::default()).unwrap_err();
    assert!(e.to_string().contains("NaN"), "{e}");
}

#[test]
fn newton_failure_falls_back_to_higham_dykstra() {
    // One Newton iteration cannot reach 1e-12 on this input: the fallback must take over.
    let (_, input, expected, _) = cases().into_iter().find(|c| c.0 == "uniform_50").unwrap();
    let params = NearestParams {
        max_iter: 1,
        tol: 1e-11,
        ..Default::default()
    };
    let (x, d) = nearest_correlation(input.view(), &params).unwrap();
    assert!(
        d.fell_back && d.method == RepairMethod::HighamDykstra,
        "{d:?}"
    );
    assert!(max_abs_diff(&x, &expected) <= 1e-8);
    // Neither method within budget: a clear error.
    let params = NearestParams {
        max_iter: 1,
        higham_max_iter: 3,
        ..Default::default()
    };
    let e = nearest_correlation(input.view(), &params)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no convergence"), "{e}");
}
