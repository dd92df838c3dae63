//! Correlation matrices read from a file: a `.npy` stack [k, n, n] (or one
//! [n, n] matrix), a CSV matrix, or an HDF5 dataset. Every matrix is validated at
//! load (symmetric, unit diagonal, finite, positive semidefinite) and errors name
//! the file and the matrix index. Trial *i* uses matrix *i* (or *i mod k* with
//! `cycle = true`).

use super::{CorrSample, CorrSource, ValidationTolerance, validate_correlation};
use crate::Error;
use ndarray::{Array3, Axis};

#[derive(Clone, Debug)]
pub struct FileSource {
    origin: String,
    stack: Array3<f64>,
    cycle: bool,
}

impl FileSource {
    /// Loads and validates all matrices. Tolerances are loose enough for
    /// matrices stored in float32 (1e-6) but still reject real asymmetry.
    pub fn load(path: &str, dataset: Option<&str>, cycle: bool) -> Result<Self, Error> {
        let stack = crate::npy::read_stack(path, dataset)?;
        let origin = match dataset {
            Some(d) => format!("{path}:{d}"),
            None => path.to_string(),
        };
        let tol = ValidationTolerance {
            symmetry: 1e-6,
            diagonal: 1e-6,
            psd: 1e-8,
        };
        for (k, m) in stack.outer_iter().enumerate() {
            validate_correlation(m, tol)
                .map_err(|msg| Error::matrix(&origin, format!("matrix {k}: {msg}")))?;
        }
        Ok(FileSource {
            origin,
            stack,
            cycle,
        })
    }

    pub fn len(&self) -> usize {
        self.stack.len_of(Axis(0))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn cycles(&self) -> bool {
        self.cycle
    }
}

impl CorrSource for FileSource {
    fn describe(&self) -> String {
        format!(
            "file({}, {} matrices{})",
            self.origin,
            self.len(),
            if self.cycle { ", cycled" } else { "" }
        )
    }
    fn dim(&self) -> usize {
        self.stack.len_of(Axis(1))
    }
    fn sample(&self, _seed: u64, trial: u64) -> Result<CorrSample, Error> {
        let k = self.len() as u64;
        if !self.cycle && trial >= k {
            return Err(Error::matrix(
                &self.origin,
                format!(
                    "trial {trial} needs matrix {trial}, file has {k}; set cycle = true to reuse matrices"
                ),
            ));
        }
        let mut corr = self
            .stack
            .index_axis(Axis(0), (trial % k) as usize)
            .to_owned();
        // Stored matrices may be float32-symmetric only; make them exactly so.
        crate::linalg::symmetrize(&mut corr);
        for i in 0..corr.nrows() {
            corr[(i, i)] = 1.0;
        }
        Ok(CorrSample {
            corr,
            diagnostics: vec![(trial % k) as f64],
        })
    }
    fn diagnostics(&self) -> Vec<super::Diagnostic> {
        vec![super::Diagnostic {
            name: "matrix_index",
            description: "index of the matrix in the file",
        }]
    }
}
