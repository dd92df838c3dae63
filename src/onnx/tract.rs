//! Pure-Rust ONNX backend: `tract-onnx`, model loaded with a fixed batch size and optimized
//! into a plan (`into_optimized`), shared by all threads. Single-threaded inside one call.
//!
//! The plan is built for [`PLAN_BATCH`] rows whatever batch the caller asks for: a call of
//! `N` rows runs the plan `N / PLAN_BATCH` times. Measured (`benches/corrgan.rs`, the 50-asset
//! generator): per matrix, a batch-64 plan costs 1.4–1.9× a batch-1 plan. The batch-64
//! activations (the second ConvTranspose alone writes 64 × 64 × 50 × 50 f32 = 41 MB) do not
//! fit in cache and are freshly allocated per call (page faults, ~15 % of the time), while
//! the batch-1 ones (640 kB) stay in L2, and the matrix-product kernels run no faster on the
//! larger operands. Batches 2 to 16 measured within ±12 % of batch 1 (noise on a loaded
//! machine); 1 keeps the least memory (peak RSS of corrgan-50 at 2 threads: 311 MB with a
//! batch-64 plan, 72 MB with a batch-1 plan). Results do not depend on
//! the plan's batch (rows are independent; `tests/corrgan.rs` checks bit-identity).

use super::{Backend, Generator, ModelContract, check_contract};
use crate::Error;
use ndarray::{Array2, Array3};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

/// Rows per tract plan run (see the module documentation for the measurement).
pub const PLAN_BATCH: usize = 1;

/// A generator run by tract.
pub struct TractGenerator {
    path: PathBuf,
    contract: ModelContract,
    batch: usize,
    plan: Arc<TypedRunnableModel>,
    /// Execution states of the plan, one per concurrent caller, kept between calls: a state
    /// holds the ops' scratch buffers, so reusing it saves re-creating them per call.
    states: Mutex<Vec<TypedSimpleState>>,
}

use super::model_err;

fn dims(shape: &tract_onnx::tract_hir::infer::ShapeFactoid) -> Vec<Option<i64>> {
    shape
        .dims()
        .map(|d| d.concretize().and_then(|t| t.as_i64()))
        .collect()
}

impl TractGenerator {
    /// Loads and checks the model, then builds an optimized plan for batches of `batch`.
    pub fn load(path: &Path, batch: usize) -> Result<Self, Error> {
        let model = tract_onnx::onnx().model_for_path(path).map_err(|e| {
            model_err(
                path,
                "cannot read as an ONNX model (corrupt or not ONNX)",
                e,
            )
        })?;
        let (ni, no) = (
            model.input_outlets().map_or(0, |o| o.len()),
            model.output_outlets().map_or(0, |o| o.len()),
        );
        if ni != 1 || no != 1 {
            return Err(model_err(
                path,
                "wrong interface",
                format!("{ni} inputs and {no} outputs, expected 1 and 1"),
            ));
        }
        let in_name = model
            .node(model.input_outlets().unwrap()[0].node)
            .name
            .clone();
        let out_outlet = model.output_outlets().unwrap()[0];
        let out_name = model
            .outlet_label(out_outlet)
            .map(str::to_string)
            .unwrap_or_else(|| model.node(out_outlet.node).name.clone());
        let ifact = model
            .input_fact(0)
            .map_err(|e| model_err(path, "input", e))?;
        let in_dims = dims(&ifact.shape);
        // The output shape is known only after type inference: fix the batch, infer, optimize.
        let latent = match in_dims.as_slice() {
            [_, Some(l)] if *l > 0 => *l as usize,
            _ => {
                return Err(
                    check_contract(path, (&in_name, &in_dims), (&out_name, &[])).unwrap_err()
                );
            }
        };
        let plan = model
            .with_input_fact(0, f32::fact([batch, latent]).into())
            .and_then(|m| m.into_optimized())
            .map_err(|e| model_err(path, "cannot build an optimized plan", e))?;
        let out_shape = plan
            .output_fact(0)
            .ok()
            .and_then(|f| f.shape.as_concrete().map(|s| s.to_vec()));
        let Some(out_shape) = out_shape else {
            return Err(model_err(
                path,
                "output",
                "shape not determined by type inference",
            ));
        };
        // Show the batch dimension as N, as the model declares it.
        let out_dims: Vec<Option<i64>> = out_shape
            .iter()
            .enumerate()
            .map(|(k, &d)| {
                if k == 0 && d == batch {
                    None
                } else {
                    Some(d as i64)
                }
            })
            .collect();
        let contract = check_contract(path, (&in_name, &in_dims), (&out_name, &out_dims))?;
        let plan = plan
            .into_runnable()
            .map_err(|e| model_err(path, "cannot build a plan", e))?;
        Ok(TractGenerator {
            path: path.to_path_buf(),
            contract,
            batch,
            plan,
            states: Mutex::new(Vec::new()),
        })
    }

    pub fn batch(&self) -> usize {
        self.batch
    }
}

impl Generator for TractGenerator {
    fn backend(&self) -> Backend {
        Backend::Tract
    }
    fn contract(&self) -> &ModelContract {
        &self.contract
    }
    fn path(&self) -> &Path {
        &self.path
    }
    fn generate(&self, noise: &Array2<f32>) -> Result<Array3<f32>, Error> {
        let (rows, latent) = noise.dim();
        let n = self.contract.dim;
        self.contract.check_noise(&self.path, noise)?;
        let noise = noise.as_standard_layout();
        let flat = noise.as_slice().unwrap();
        let mut out = Array3::<f32>::zeros((rows, n, n));
        let taken = self.states.lock().unwrap().pop();
        let mut state = match taken {
            Some(s) => s,
            None => self
                .plan
                .spawn()
                .map_err(|e| model_err(&self.path, "cannot start the plan", e))?,
        };
        let result = self.run_rows(&mut state, flat, rows, latent, out.as_slice_mut().unwrap());
        self.states.lock().unwrap().push(state);
        result.map(|()| out)
    }
}

impl TractGenerator {
    /// Runs `rows` latent vectors (`flat`, row-major) through the plan, `self.batch` at a
    /// time, into `out_flat` (`rows` matrices, row-major).
    fn run_rows(
        &self,
        state: &mut TypedSimpleState,
        flat: &[f32],
        rows: usize,
        latent: usize,
        out_flat: &mut [f32],
    ) -> Result<(), Error> {
        let per = self.contract.dim * self.contract.dim;
        let mut buf = vec![0f32; self.batch * latent];
        for start in (0..rows).step_by(self.batch) {
            let take = (rows - start).min(self.batch);
            // Pad the last chunk with zeros: rows are independent (no batch statistics at inference).
            buf.fill(0.0);
            buf[..take * latent].copy_from_slice(&flat[start * latent..(start + take) * latent]);
            let input = Tensor::from_shape(&[self.batch, latent], &buf)
                .map_err(|e| model_err(&self.path, "input", e))?;
            let result = state
                .run(tvec!(input.into()))
                .map_err(|e| model_err(&self.path, "inference failed", e))?;
            let view = result[0]
                .to_plain_array_view::<f32>()
                .map_err(|e| model_err(&self.path, "output", e))?;
            let s = view
                .as_slice()
                .ok_or_else(|| model_err(&self.path, "output", "not contiguous"))?;
            out_flat[start * per..(start + take) * per].copy_from_slice(&s[..take * per]);
        }
        Ok(())
    }
}
