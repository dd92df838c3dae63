//! Running an ONNX generator: one interface ([`Generator`]), two backends.
//!
//! * [`tract`] — pure Rust (`tract-onnx`), always built: the model is loaded with a fixed
//!   batch size ([`tract::PLAN_BATCH`] rows) and optimized into a plan shared by all threads.
//! * [`ort`] — real ONNX Runtime through the `ort` crate with `load-dynamic`: the shared
//!   library (`libonnxruntime.so.*` from the PyPI `onnxruntime` wheel, see
//!   `scripts/setup-onnxruntime.sh`) is loaded at run time from a path the user gives (or
//!   `ORT_DYLIB_PATH`); nothing is downloaded at build time.
//!
//! Both refuse a model whose shapes do not match the generator contract
//! ([`ModelContract`]: one f32 input `[N, latent]`, one f32 output `[N, n, n]`), naming the
//! file and the shapes.

pub mod ort;
pub mod tract;

use crate::Error;
use ndarray::{Array2, Array3};
use std::path::{Path, PathBuf};

/// Which inference engine produced the matrices (recorded in outputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Tract,
    Ort,
}

impl Backend {
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "tract" => Ok(Backend::Tract),
            "ort" | "onnxruntime" => Ok(Backend::Ort),
            other => Err(Error::Other(format!(
                "unknown ONNX backend '{other}': expected tract or ort"
            ))),
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Backend::Tract => "tract",
            Backend::Ort => "ort",
        }
    }
}

/// The generator contract: input `noise` f32 `[N, latent]` (standard normal), output
/// `corr` f32 `[N, dim, dim]` (raw generator output). Names are informative; shapes are checked.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ModelContract {
    pub input_name: String,
    pub output_name: String,
    pub latent_dim: usize,
    pub dim: usize,
}

impl ModelContract {
    /// Checks that `noise` has the model's latent width (both backends call this).
    pub fn check_noise(&self, path: &Path, noise: &Array2<f32>) -> Result<(), Error> {
        let latent = noise.ncols();
        if latent != self.latent_dim {
            return Err(model_err(
                path,
                "noise",
                format!("has {latent} columns, model wants {}", self.latent_dim),
            ));
        }
        Ok(())
    }
}

/// A model error naming the file and what was wrong.
pub(crate) fn model_err(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Model {
        path: path.to_path_buf(),
        message: format!("{what}: {e}"),
    }
}

/// A loaded generator.
pub trait Generator: Send + Sync {
    fn backend(&self) -> Backend;
    fn contract(&self) -> &ModelContract;
    fn path(&self) -> &Path;
    /// Runs the model on `noise` (`[N, latent]`); returns the raw output `[N, dim, dim]`.
    /// Row `i` of the output depends on row `i` of the input only.
    fn generate(&self, noise: &Array2<f32>) -> Result<Array3<f32>, Error>;
}

/// How to load a generator.
#[derive(Clone, Debug)]
pub struct GeneratorOptions {
    pub backend: Backend,
    /// Rows the caller groups per [`Generator::generate`] call. The tract plan is built for
    /// `min(batch, tract::PLAN_BATCH)` rows (see [`tract::PLAN_BATCH`]); ONNX Runtime runs the
    /// rows it is given.
    pub batch: usize,
    /// ONNX Runtime shared library (ort backend); `None` reads `ORT_DYLIB_PATH`.
    pub ort_library: Option<PathBuf>,
    /// Threads inside one inference (ort intra-op threads; tract ignores it).
    pub threads: usize,
    /// If set, the model's matrix dimension must equal it.
    pub expected_dim: Option<usize>,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        GeneratorOptions {
            backend: Backend::Tract,
            batch: 64,
            ort_library: None,
            threads: 1,
            expected_dim: None,
        }
    }
}

/// Loads `path` with the chosen backend, checking that it exists and matches the contract.
pub fn load_generator(path: &Path, opts: &GeneratorOptions) -> Result<Box<dyn Generator>, Error> {
    if opts.batch == 0 {
        return Err(Error::Other(
            "generator batch size must be at least 1".into(),
        ));
    }
    if !path.is_file() {
        return Err(Error::Model {
            path: path.to_path_buf(),
            message: "file not found (the 50-asset CorrGAN generator ships as models/corrgan/generator_50d.onnx)".into(),
        });
    }
    let g: Box<dyn Generator> = match opts.backend {
        Backend::Tract => Box::new(tract::TractGenerator::load(
            path,
            opts.batch.min(tract::PLAN_BATCH),
        )?),
        Backend::Ort => Box::new(ort::OrtGenerator::load(path, opts)?),
    };
    if let Some(n) = opts.expected_dim
        && g.contract().dim != n
    {
        return Err(Error::Model {
            path: path.to_path_buf(),
            message: format!(
                "generates {d}x{d} matrices but the study asks for n = {n}",
                d = g.contract().dim
            ),
        });
    }
    Ok(g)
}

/// Checks input/output shapes (`None` = symbolic dimension) against the contract.
pub(crate) fn check_contract(
    path: &Path,
    input: (&str, &[Option<i64>]),
    output: (&str, &[Option<i64>]),
) -> Result<ModelContract, Error> {
    let show = |s: &[Option<i64>]| {
        let v: Vec<String> = s
            .iter()
            .map(|d| d.map_or("N".to_string(), |x| x.to_string()))
            .collect();
        format!("[{}]", v.join(", "))
    };
    let bad = |why: &str| Error::Model {
        path: path.to_path_buf(),
        message: format!(
            "input '{}' has shape {}, output '{}' has shape {}; a CorrGAN generator needs input [N, latent] and output [N, n, n] ({why})",
            input.0,
            show(input.1),
            output.0,
            show(output.1)
        ),
    };
    let (ish, osh) = (input.1, output.1);
    if ish.len() != 2 || osh.len() != 3 {
        return Err(bad("wrong rank"));
    }
    let latent = match ish[1] {
        Some(l) if l > 0 => l as usize,
        _ => return Err(bad("latent dimension unknown")),
    };
    let dim = match (osh[1], osh[2]) {
        (Some(a), Some(b)) if a == b && a > 0 => a as usize,
        _ => return Err(bad("output matrices are not square")),
    };
    if let (Some(a), Some(b)) = (ish[0], osh[0])
        && a != b
    {
        return Err(bad("batch dimensions differ"));
    }
    Ok(ModelContract {
        input_name: input.0.to_string(),
        output_name: output.0.to_string(),
        latent_dim: latent,
        dim,
    })
}
