//! `corrmc allocate`: weights of any allocator for a user's covariance matrix.

use super::common::check_covariance;
use crate::alloc::{self, Context, Estimate};
use anyhow::{Context as _, Result, bail};

/// `corrmc allocate --method NAME --cov FILE [--json] [--seed S]`.
#[derive(clap::Args, Debug, Clone)]
pub struct AllocateArgs {
    /// Allocator name (see `corrmc methods`), `family:all` (e.g. `asrp:tree`) or `all`.
    #[arg(long, short)]
    pub method: String,
    /// Covariance matrix, .npy (f64/f32) or CSV.
    #[arg(long)]
    pub cov: String,
    /// Print JSON (method → weights, or → error) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Seed for stochastic methods.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn run(args: &AllocateArgs) -> Result<()> {
    let names = alloc::resolve(std::slice::from_ref(&args.method))
        .map_err(|e| anyhow::anyhow!("--method: {e}"))?;
    let m = crate::npy::read_matrix(&args.cov).with_context(|| "--cov".to_string())?;
    if m.nrows() < 2 {
        bail!(
            "{}: a {}x{} matrix; allocation needs a covariance of at least 2 assets",
            args.cov,
            m.nrows(),
            m.ncols()
        );
    }
    check_covariance(&m).with_context(|| format!("{}: not a valid covariance matrix", args.cov))?;
    check_psd(&m).with_context(|| format!("{}: not a valid covariance matrix", args.cov))?;
    let est = Estimate::new(m);
    let ctx = Context {
        seed: args.seed,
        trial: 0,
        out_of_sample: false,
    };
    // Each method on its own: one undefined method (e.g. at n = 2) does not hide the others.
    let mut out: Vec<(&str, std::result::Result<ndarray::Array1<f64>, String>)> = Vec::new();
    for name in names {
        let w = alloc::build_with(name, &alloc::Control::default()).and_then(|a| {
            a.supports(est.n())?;
            let w = a.allocate(&est, &ctx).map_err(|e| e.message)?;
            alloc::check_weights(&w, est.n()).map_err(|e| e.message)?;
            Ok(w)
        });
        out.push((name, w));
    }
    if args.json {
        let v: serde_json::Map<String, serde_json::Value> = out
            .iter()
            .map(|(n, w)| {
                let v = match w {
                    Ok(w) => serde_json::json!(w.to_vec()),
                    Err(e) => serde_json::json!({ "error": e }),
                };
                (n.to_string(), v)
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for (n, w) in &out {
            match w {
                Ok(w) => println!(
                    "{n}: {}",
                    w.iter()
                        .map(|x| format!("{x:.10}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                Err(e) => eprintln!("{n}: failed: {e}"),
            }
        }
    }
    let failed = out.iter().filter(|(_, w)| w.is_err()).count();
    if failed == out.len() {
        let first = out
            .iter()
            .find_map(|(n, w)| w.as_ref().err().map(|e| format!("{n}: {e}")));
        bail!("{}", first.unwrap_or_default());
    }
    Ok(())
}

/// A covariance matrix must be positive semidefinite: the smallest eigenvalue may be
/// negative only by rounding (1e-10 of the largest).
fn check_psd(m: &ndarray::Array2<f64>) -> Result<()> {
    let ev = crate::linalg::eigvalsh(m.view())
        .ok_or_else(|| anyhow::anyhow!("eigenvalues did not converge"))?;
    let max = ev.iter().cloned().fold(0.0f64, f64::max);
    let min = ev.iter().cloned().fold(f64::INFINITY, f64::min);
    if min < -1e-10 * max.max(f64::MIN_POSITIVE) {
        bail!(
            "not positive semidefinite: smallest eigenvalue {min:.6e} (largest {max:.6e}); \
             repair a correlation matrix with `corrmc repair`"
        );
    }
    Ok(())
}
