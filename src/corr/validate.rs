//! Checks that a matrix is a valid correlation matrix.
use ndarray::ArrayView2;

/// Tolerances for [`validate_correlation`].
#[derive(Clone, Copy, Debug)]
pub struct ValidationTolerance {
    /// Largest allowed |a_ij − a_ji|.
    pub symmetry: f64,
    /// Largest allowed |a_ii − 1|.
    pub diagonal: f64,
    /// Smallest allowed eigenvalue is `−psd`.
    pub psd: f64,
}

impl Default for ValidationTolerance {
    fn default() -> Self {
        ValidationTolerance {
            symmetry: 1e-12,
            diagonal: 1e-12,
            psd: 1e-10,
        }
    }
}

/// Err(message) unless `a` is square, finite, symmetric, has unit diagonal, entries
/// in [−1, 1] and is positive semidefinite (within `tol`).
pub fn validate_correlation(
    a: ArrayView2<'_, f64>,
    tol: ValidationTolerance,
) -> Result<(), String> {
    let (r, c) = a.dim();
    if r != c {
        return Err(format!(
            "matrix is {r}x{c}, a correlation matrix must be square"
        ));
    }
    if r == 0 {
        return Err("matrix is empty".into());
    }
    if let Some(((i, j), v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(format!(
            "entry ({i}, {j}) is {v}; all entries must be finite"
        ));
    }
    for i in 0..r {
        if (a[(i, i)] - 1.0).abs() > tol.diagonal {
            return Err(format!(
                "diagonal entry ({i}, {i}) is {}, must be 1",
                a[(i, i)]
            ));
        }
        for j in 0..i {
            if (a[(i, j)] - a[(j, i)]).abs() > tol.symmetry {
                return Err(format!(
                    "not symmetric: entry ({i}, {j}) = {} but ({j}, {i}) = {}",
                    a[(i, j)],
                    a[(j, i)]
                ));
            }
            if a[(i, j)].abs() > 1.0 + tol.diagonal {
                return Err(format!(
                    "entry ({i}, {j}) = {} lies outside [-1, 1]",
                    a[(i, j)]
                ));
            }
        }
    }
    // Cholesky is ~30x cheaper than an eigendecomposition; only singular or
    // indefinite matrices fall through to the eigenvalue check.
    if crate::linalg::cholesky(a).is_some() {
        return Ok(());
    }
    let vals = crate::linalg::eigvalsh(a).ok_or("eigendecomposition failed")?;
    if vals[0] < -tol.psd {
        return Err(format!(
            "not positive semidefinite: smallest eigenvalue {:.3e} < -{:.0e}",
            vals[0], tol.psd
        ));
    }
    Ok(())
}
