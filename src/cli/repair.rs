//! `corrmc repair`: the nearest correlation matrix of a user's matrix, with diagnostics.

use super::common::read_npy_matrix;
use crate::Error;
use crate::nearest::{NearestParams, RepairMethod, nearest_correlation};
use std::path::PathBuf;
use std::time::Instant;

/// `corrmc repair`: nearest correlation matrix of a user's matrix.
#[derive(clap::Args, Debug, Clone)]
pub struct RepairArgs {
    /// Input matrix (.npy, square, float64 or float32).
    #[arg(long)]
    pub input: PathBuf,
    /// Output file for the repaired matrix (.npy, float64; refused if it exists, unless --overwrite).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Replace the output (and --display) files if they exist.
    #[arg(long)]
    pub overwrite: bool,
    /// Accept a non-symmetric input and repair its symmetric part (A + Aᵀ)/2; the distance to
    /// the input itself is reported beside the distance to the symmetric part.
    #[arg(long)]
    pub symmetrize: bool,
    /// Print the diagnostics as JSON.
    #[arg(long)]
    pub json: bool,
    /// qi_sun_newton (default, falls back to higham_dykstra) or higham_dykstra.
    #[arg(long, default_value = "qi_sun_newton")]
    pub method: String,
    /// Tolerance, in (0, 1e-2) (Newton: on max |diag X - 1|).
    #[arg(long, default_value_t = 1e-12, allow_negative_numbers = true)]
    pub tol: f64,
    /// Lower bound on the eigenvalues of the result, in [0, 1).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub eig_floor: f64,
    /// Also write the result reordered for display (Ward tree + optimal leaf ordering) here.
    #[arg(long)]
    pub display: Option<PathBuf>,
}

pub fn run(args: &RepairArgs) -> Result<(), Error> {
    let params = NearestParams {
        method: RepairMethod::parse(&args.method)
            .map_err(|e| Error::Other(format!("--method: {e}")))?,
        tol: args.tol,
        eig_floor: args.eig_floor,
        ..Default::default()
    };
    if !(params.tol > 0.0 && params.tol < 1e-2) {
        return Err(Error::Other(format!(
            "--tol {}: must lie in (0, 1e-2), e.g. 1e-12",
            args.tol
        )));
    }
    if !(0.0..1.0).contains(&params.eig_floor) {
        return Err(Error::Other(format!(
            "--eig-floor {}: must lie in [0, 1) (a correlation matrix's eigenvalues average 1)",
            args.eig_floor
        )));
    }
    crate::output::check_output(&args.output, args.overwrite)?;
    if let Some(p) = &args.display {
        crate::output::check_output(p, args.overwrite)?;
        if p == &args.output {
            return Err(Error::Other(
                "--display must name another file than --output".into(),
            ));
        }
    }
    let a = read_npy_matrix(&args.input)?;
    let n = a.nrows();
    if n == 0 {
        return Err(Error::matrix(
            args.input.display().to_string(),
            "empty matrix; need a square n x n matrix with n >= 1",
        ));
    }
    if let Some(((i, j), v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::matrix(
            args.input.display().to_string(),
            format!("entry ({i}, {j}) is {v}; all entries must be finite"),
        ));
    }
    // Asymmetry beyond rounding is refused: the repair works on (A + Aᵀ)/2, so its distance
    // would describe another matrix than the one given.
    let mut worst = (0.0f64, 0, 0);
    for i in 0..n {
        for j in (i + 1)..n {
            let d = (a[(i, j)] - a[(j, i)]).abs();
            if d > worst.0 {
                worst = (d, i, j);
            }
        }
    }
    let sym_tol = 1e-12 * a.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    if worst.0 > sym_tol && !args.symmetrize {
        let (_, i, j) = worst;
        return Err(Error::matrix(
            args.input.display().to_string(),
            format!(
                "not symmetric: ({i}, {j}) = {} but ({j}, {i}) = {} (largest difference {:.3e}); \
                 pass --symmetrize to repair the symmetric part (A + Aᵀ)/2",
                a[(i, j)],
                a[(j, i)],
                worst.0
            ),
        ));
    }
    let t0 = Instant::now();
    let (x, d) = nearest_correlation(a.view(), &params).map_err(|e| match e {
        Error::Matrix { message, .. } => Error::matrix(args.input.display().to_string(), message),
        other => other,
    })?;
    let secs = t0.elapsed().as_secs_f64();
    let distance_to_input = (&x - &a).mapv(|v| v * v).sum().sqrt();
    write_npy_atomic(&args.output, &x)?;
    let order = match &args.display {
        Some(p) => {
            let order = crate::inspect::display_order(x.view());
            let shown = crate::inspect::permute(x.view(), &order);
            write_npy_atomic(p, &shown)?;
            Some(order)
        }
        None => None,
    };
    if args.json {
        let v = serde_json::json!({
            "input": args.input, "output": args.output, "n": a.nrows(),
            "tol": params.tol, "eig_floor": params.eig_floor, "seconds": secs, "diagnostics": d, "display_order": order,
            "distance_to_input": distance_to_input, "symmetrized": worst.0 > sym_tol,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap());
    } else {
        println!(
            "repaired {n}x{n} matrix {} -> {}",
            args.input.display(),
            args.output.display(),
            n = a.nrows()
        );
        println!(
            "  method               {}{}",
            d.method.label(),
            if d.fell_back { " (Newton failed)" } else { "" }
        );
        println!("  iterations           {}", d.iterations);
        println!("  Frobenius distance   {:.6e}", d.frobenius_distance);
        if worst.0 > sym_tol {
            println!(
                "  distance to input    {distance_to_input:.6e} (input symmetrized: the distance above is to (A + Aᵀ)/2)"
            );
        }
        println!(
            "  min eigenvalue       {:.6e} -> {:.6e}",
            d.min_eig_before, d.min_eig_after
        );
        println!(
            "  eigenvalues at floor {} (rank deficit of the result)",
            d.eigs_at_floor
        );
        println!(
            "  residual             {:.3e} (tol {:.0e})",
            d.residual, params.tol
        );
        println!("  time                 {:.2} ms", secs * 1e3);
    }
    Ok(())
}

/// Writes an `.npy` next to its final name and renames it, so that a failure never leaves a
/// truncated file under the name asked for.
fn write_npy_atomic(path: &std::path::Path, a: &ndarray::Array2<f64>) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    ndarray_npy::write_npy(&tmp, a).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
