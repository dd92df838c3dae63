//! ONNX Runtime backend: the `ort` crate (2.0.0-rc.15, API 1.31) with `load-dynamic`.
//!
//! The shared library is loaded at run time from the path the user gives, or from
//! `ORT_DYLIB_PATH`; it is checked to exist before `ort` is touched (ort panics on first use
//! when no library can be found). `scripts/setup-onnxruntime.sh` extracts the library from the
//! PyPI `onnxruntime` wheel. One environment per process (the first library loaded wins); one
//! session per concurrent caller (`Session::run` needs exclusive access), kept in a pool.

use super::{Backend, Generator, GeneratorOptions, ModelContract, check_contract};
use crate::Error;
use ndarray::{Array2, Array3};
use ort::session::Session;
use ort::value::{Tensor, ValueType};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

static ENV: OnceLock<Result<(PathBuf, ort::environment::Environment), String>> = OnceLock::new();

/// The ONNX Runtime library to use: `explicit`, else `ORT_DYLIB_PATH`; `None` if neither is set.
pub fn library_path(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("ORT_DYLIB_PATH")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    })
}

/// Loads ONNX Runtime from `lib` once per process and returns the environment.
fn environment(lib: &Path) -> Result<ort::environment::Environment, Error> {
    let lib_err = |m: String| Error::Io {
        path: lib.to_path_buf(),
        message: m,
    };
    if !lib.is_file() {
        return Err(lib_err(
            "ONNX Runtime library not found (run scripts/setup-onnxruntime.sh, then pass --ort-library or set ORT_DYLIB_PATH)".into(),
        ));
    }
    let entry = ENV.get_or_init(|| {
        let env = ort::init_from(lib)
            .map_err(|e| format!("cannot load ONNX Runtime: {e}"))?
            .with_name("corrmc")
            .build()
            .map_err(|e| format!("cannot create an ONNX Runtime environment: {e}"))?;
        Ok((lib.to_path_buf(), env))
    });
    match entry {
        Ok((loaded, env)) => {
            if loaded.canonicalize().ok() != lib.canonicalize().ok() {
                return Err(lib_err(format!(
                    "this process already loaded ONNX Runtime from {}; one library per process",
                    loaded.display()
                )));
            }
            Ok(env.clone())
        }
        Err(m) => Err(lib_err(m.clone())),
    }
}

/// Rows per `Session::run`: a call of `N` rows runs the session on blocks of at most this many.
/// Measured (`benches/corrgan.rs`, 50-asset generator, one intra-op thread, two runs on a
/// loaded machine): 8 rows per run cost 0.61–0.80 ms per matrix against 0.81–0.88 ms at 64
/// rows, whose activations (41 MB for the second ConvTranspose) leave the cache and grow each
/// session's memory arena (peak RSS of corrgan-50 at 2 threads: 437 MB with 64-row runs,
/// 123 MB with 8-row runs). Rows are independent, so the blocking changes no number
/// (`tests/corrgan.rs` checks bit-identity across call sizes).
pub const CALL_BATCH: usize = 8;

/// A generator run by ONNX Runtime.
pub struct OrtGenerator {
    path: PathBuf,
    library: PathBuf,
    contract: ModelContract,
    env: ort::environment::Environment,
    threads: usize,
    pool: Mutex<Vec<Session>>,
}

use super::model_err;

fn outlet_dims(t: &ValueType) -> Option<Vec<Option<i64>>> {
    match t {
        ValueType::Tensor { shape, .. } => {
            Some(shape.iter().map(|&d| (d >= 0).then_some(d)).collect())
        }
        _ => None,
    }
}

impl OrtGenerator {
    pub fn load(path: &Path, opts: &GeneratorOptions) -> Result<Self, Error> {
        let library = library_path(opts.ort_library.as_deref()).ok_or_else(|| {
            Error::Other(
                "the ort backend needs the ONNX Runtime library: run scripts/setup-onnxruntime.sh, then pass --ort-library PATH or set ORT_DYLIB_PATH (or use the tract backend)".into(),
            )
        })?;
        let env = environment(&library)?;
        let threads = opts.threads.max(1);
        let session = Self::session(&env, path, threads)?;
        let (ni, no) = (session.inputs().len(), session.outputs().len());
        if ni != 1 || no != 1 {
            return Err(model_err(
                path,
                "wrong interface",
                format!("{ni} inputs and {no} outputs, expected 1 and 1"),
            ));
        }
        let (i, o) = (&session.inputs()[0], &session.outputs()[0]);
        let idims =
            outlet_dims(i.dtype()).ok_or_else(|| model_err(path, "input", "not a tensor"))?;
        let odims =
            outlet_dims(o.dtype()).ok_or_else(|| model_err(path, "output", "not a tensor"))?;
        let contract = check_contract(path, (i.name(), &idims), (o.name(), &odims))?;
        Ok(OrtGenerator {
            path: path.to_path_buf(),
            library,
            contract,
            env,
            threads,
            pool: Mutex::new(vec![session]),
        })
    }

    fn session(
        env: &ort::environment::Environment,
        path: &Path,
        threads: usize,
    ) -> Result<Session, Error> {
        Session::builder(env)
            .and_then(|b| b.with_intra_threads(threads).map_err(Into::into))
            .and_then(|mut b| b.commit_from_file(path))
            .map_err(|e| model_err(path, "ONNX Runtime cannot load it (corrupt or not ONNX)", e))
    }

    /// The ONNX Runtime library in use.
    pub fn library(&self) -> &Path {
        &self.library
    }
}

impl Generator for OrtGenerator {
    fn backend(&self) -> Backend {
        Backend::Ort
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
        let taken = self.pool.lock().unwrap().pop();
        let mut session = match taken {
            Some(s) => s,
            None => Self::session(&self.env, &self.path, self.threads)?,
        };
        let result = (|| {
            let mut out = Array3::<f32>::zeros((rows, n, n));
            let flat = noise.as_standard_layout();
            let flat = flat.as_slice().expect("standard layout");
            let out_flat = out.as_slice_mut().expect("standard layout");
            for start in (0..rows).step_by(CALL_BATCH) {
                let take = (rows - start).min(CALL_BATCH);
                let input = Tensor::from_array((
                    [take, latent],
                    flat[start * latent..(start + take) * latent].to_vec(),
                ))
                .map_err(|e| model_err(&self.path, "input", e))?;
                let outputs = session
                    .run(ort::inputs![self.contract.input_name.as_str() => input])
                    .map_err(|e| model_err(&self.path, "inference failed", e))?;
                let (shape, data) = outputs[0]
                    .try_extract_tensor::<f32>()
                    .map_err(|e| model_err(&self.path, "output", e))?;
                let want = [take as i64, n as i64, n as i64];
                if shape.iter().as_slice() != want {
                    return Err(model_err(
                        &self.path,
                        "output",
                        format!("shape {shape:?}, expected {want:?}"),
                    ));
                }
                out_flat[start * n * n..(start + take) * n * n].copy_from_slice(data);
            }
            Ok(out)
        })();
        self.pool.lock().unwrap().push(session);
        result
    }
}
