//! The HDF5 result file (layout documented in README "Output layout").
//!
//! Results stream to `<output>.partial` chunk by chunk (memory stays flat in the
//! number of trials); only a finished run is renamed to `<output>` and carries
//! the root attribute `complete = 1`. An existing output is never overwritten
//! unless asked, so results already written are never lost.

use crate::Error;
use crate::error::MethodError;
use crate::metrics::{METRICS, N_METRICS};
use crate::verdict::taxonomy::MeanAccumulator;
use hdf5::types::VarLenUnicode;
use ndarray::{Array1, Array2, Array3, s};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// One trial's results for every method (in spec order).
#[derive(Clone, Debug)]
pub struct TrialResult {
    pub metrics: Vec<[f64; N_METRICS]>,
    /// 0 = ok, else [`crate::MethodErrorKind`] code, for the in-sample weights.
    pub status: Vec<u8>,
    /// The same for the weights re-estimated out of sample (turnover).
    pub status_oos: Vec<u8>,
    /// In-sample weights per method (NaN where the method failed), if stored.
    pub weights: Option<Vec<Array1<f64>>>,
    pub diagnostics: Vec<f64>,
    /// Per-method note of the in-sample allocation (NaN: none), see `/method_info`.
    pub notes: Vec<f64>,
    /// (method index, out-of-sample?, error).
    pub errors: Vec<(usize, bool, MethodError)>,
    /// Portfolio-return correlations between methods under the out-of-sample and
    /// the in-sample covariance ([`crate::verdict::taxonomy`]); averaged by the writer.
    pub similarity: Option<[Array2<f64>; 2]>,
}

/// Trials per block of `/method_similarity_blocks` (fixed, so the file does not
/// depend on the chunk size).
pub const SIMILARITY_BLOCK: usize = 100;

/// Run-level facts stored as root attributes.
pub struct RunInfo {
    pub threads: usize,
    pub elapsed_s: f64,
}

pub(crate) fn h5err(path: &Path) -> impl Fn(hdf5::Error) -> Error + '_ {
    move |e| Error::io(path, format!("HDF5: {e}"))
}

pub(crate) fn set_str_attr(loc: &hdf5::Location, name: &str, value: &str) -> hdf5::Result<()> {
    let v =
        VarLenUnicode::from_str(value).map_err(|e| hdf5::Error::from(e.to_string().as_str()))?;
    loc.new_attr::<VarLenUnicode>()
        .shape(())
        .create(name)?
        .write_scalar(&v)
}

pub(crate) fn set_num_attr<T: hdf5::H5Type>(
    loc: &hdf5::Location,
    name: &str,
    value: T,
) -> hdf5::Result<()> {
    loc.new_attr::<T>()
        .shape(())
        .create(name)?
        .write_scalar(&value)
}

fn strings(v: &[&str]) -> Array1<VarLenUnicode> {
    Array1::from_iter(v.iter().map(|s| VarLenUnicode::from_str(s).unwrap()))
}

/// Streaming writer of a result file.
pub struct Writer {
    file: Option<hdf5::File>,
    partial: PathBuf,
    path: PathBuf,
    trials: usize,
    methods: usize,
    metrics: Vec<hdf5::Dataset>,
    status: hdf5::Dataset,
    status_oos: hdf5::Dataset,
    method_info: hdf5::Dataset,
    weights: Option<hdf5::Dataset>,
    diagnostics: Vec<hdf5::Dataset>,
    errors: Vec<(u64, usize, bool, MethodError)>,
    /// Running means of the method similarity (out-of-sample, in-sample) and the
    /// out-of-sample one per block of [`SIMILARITY_BLOCK`] trials, summed in trial order.
    similarity: Option<[MeanAccumulator; 2]>,
    similarity_blocks: Vec<MeanAccumulator>,
}

/// Header information of a result file.
pub struct Header<'a> {
    pub spec_text: &'a str,
    pub spec_origin: &'a str,
    pub name: &'a str,
    pub seed: u64,
    pub trials: u64,
    pub assets: usize,
    pub annualization: f64,
    pub source: &'a str,
    pub methods: &'a [&'a str],
    pub diagnostics: &'a [crate::corr::Diagnostic],
    /// (method, meaning of its note) for methods that keep a per-trial note.
    pub notes: &'a [(String, String)],
    pub store_weights: bool,
    pub chunk_trials: usize,
}

impl Writer {
    /// Creates `<path>.partial` with every dataset sized for all trials (filled
    /// with NaN / 255 until written). Fails before any computation if the path
    /// exists (unless `overwrite`) or cannot be written.
    pub fn create(path: &Path, h: &Header<'_>, overwrite: bool) -> Result<Writer, Error> {
        if path.exists() && !overwrite {
            return Err(Error::io(
                path,
                "output exists; pass --overwrite to replace it, or choose another --output",
            ));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(dir, format!("cannot create output directory: {e}")))?;
        }
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let e = h5err(&partial);
        let file = hdf5::File::create(&partial)
            .map_err(|err| Error::io(&partial, format!("cannot create output file: {err}")))?;
        let (t, m) = (h.trials as usize, h.methods.len());
        let ct = h.chunk_trials.min(t).max(1);
        let root: &hdf5::Location = &file;
        set_str_attr(root, "corrmc_version", env!("CARGO_PKG_VERSION")).map_err(&e)?;
        set_str_attr(root, "git_revision", env!("CORRMC_GIT_REV")).map_err(&e)?;
        set_str_attr(root, "name", h.name).map_err(&e)?;
        set_str_attr(root, "spec", h.spec_text).map_err(&e)?;
        set_str_attr(root, "spec_origin", h.spec_origin).map_err(&e)?;
        set_str_attr(root, "source", h.source).map_err(&e)?;
        set_num_attr(root, "seed", h.seed).map_err(&e)?;
        set_num_attr(root, "trials", h.trials).map_err(&e)?;
        set_num_attr(root, "assets", h.assets as u64).map_err(&e)?;
        set_num_attr(root, "annualization", h.annualization).map_err(&e)?;
        set_num_attr(root, "complete", 0u8).map_err(&e)?;
        file.new_dataset_builder()
            .with_data(&strings(h.methods))
            .create("methods")
            .map_err(&e)?;
        let g = file.create_group("metrics").map_err(&e)?;
        let mut metrics = Vec::new();
        for (name, desc) in METRICS {
            let ds = g
                .new_dataset::<f64>()
                .chunk((ct, m))
                .deflate(4)
                .fill_value(f64::NAN)
                .shape((t, m))
                .create(name)
                .map_err(&e)?;
            set_str_attr(&ds, "description", desc).map_err(&e)?;
            metrics.push(ds);
        }
        let codes: Vec<String> = std::iter::once("0=ok".to_string())
            .chain(
                crate::MethodErrorKind::ALL
                    .iter()
                    .map(|k| format!("{}={}", k.code(), k.label())),
            )
            .chain(std::iter::once("255=not run".to_string()))
            .collect();
        let mk_status = |name: &str, desc: &str| -> hdf5::Result<hdf5::Dataset> {
            let ds = file
                .new_dataset::<u8>()
                .chunk((ct, m))
                .deflate(4)
                .fill_value(255u8)
                .shape((t, m))
                .create(name)?;
            set_str_attr(&ds, "codes", &codes.join(", "))?;
            set_str_attr(&ds, "description", desc)?;
            Ok(ds)
        };
        let status = mk_status(
            "status",
            "per trial and method: weights on the in-sample estimate",
        )
        .map_err(&e)?;
        let status_oos = mk_status(
            "status_oos",
            "per trial and method: weights re-estimated out of sample (turnover)",
        )
        .map_err(&e)?;
        let method_info = file
            .new_dataset::<f64>()
            .chunk((ct, m))
            .deflate(4)
            .fill_value(f64::NAN)
            .shape((t, m))
            .create("method_info")
            .map_err(&e)?;
        let meaning: Vec<String> = h.notes.iter().map(|(m, d)| format!("{m}: {d}")).collect();
        set_str_attr(
            &method_info,
            "description",
            &format!(
                "per trial and method: a note of the in-sample allocation (NaN: none). {}",
                meaning.join("; ")
            ),
        )
        .map_err(&e)?;
        let weights = if h.store_weights {
            let ds = file
                .new_dataset::<f64>()
                .chunk((ct.min(64), m, h.assets))
                .deflate(4)
                .fill_value(f64::NAN)
                .shape((t, m, h.assets))
                .create("weights")
                .map_err(&e)?;
            set_str_attr(
                &ds,
                "description",
                "[trial, method, asset] in-sample weights",
            )
            .map_err(&e)?;
            Some(ds)
        } else {
            None
        };
        let mut diagnostics = Vec::new();
        if !h.diagnostics.is_empty() {
            let g = file.create_group("source").map_err(&e)?;
            for d in h.diagnostics {
                let ds = g
                    .new_dataset::<f64>()
                    .chunk(ct)
                    .deflate(4)
                    .fill_value(f64::NAN)
                    .shape(t)
                    .create(d.name)
                    .map_err(&e)?;
                set_str_attr(&ds, "description", d.description).map_err(&e)?;
                diagnostics.push(ds);
            }
        }
        drop(e);
        Ok(Writer {
            file: Some(file),
            partial: partial.clone(),
            path: path.to_path_buf(),
            trials: t,
            methods: m,
            metrics,
            status,
            status_oos,
            method_info,
            weights,
            diagnostics,
            errors: Vec::new(),
            similarity: None,
            similarity_blocks: Vec::new(),
        })
    }

    /// Writes trials `start .. start + results.len()`.
    pub fn write_chunk(&mut self, start: usize, results: &[TrialResult]) -> Result<(), Error> {
        let e = h5err(&self.partial);
        let (k, m) = (results.len(), self.methods);
        let end = start + k;
        assert!(end <= self.trials);
        for (j, ds) in self.metrics.iter().enumerate() {
            let a = Array2::from_shape_fn((k, m), |(r, c)| results[r].metrics[c][j]);
            ds.write_slice(&a, s![start..end, ..]).map_err(&e)?;
        }
        let st = Array2::from_shape_fn((k, m), |(r, c)| results[r].status[c]);
        self.status
            .write_slice(&st, s![start..end, ..])
            .map_err(&e)?;
        let st = Array2::from_shape_fn((k, m), |(r, c)| results[r].status_oos[c]);
        self.status_oos
            .write_slice(&st, s![start..end, ..])
            .map_err(&e)?;
        let a = Array2::from_shape_fn((k, m), |(r, c)| results[r].notes[c]);
        self.method_info
            .write_slice(&a, s![start..end, ..])
            .map_err(&e)?;
        if let Some(ds) = &self.weights {
            let n = ds.shape()[2];
            let a = Array3::from_shape_fn((k, m, n), |(r, c, i)| {
                results[r].weights.as_ref().map_or(f64::NAN, |w| w[c][i])
            });
            ds.write_slice(&a, s![start..end, .., ..]).map_err(&e)?;
        }
        for (j, ds) in self.diagnostics.iter().enumerate() {
            let a = Array1::from_iter(
                results
                    .iter()
                    .map(|r| r.diagnostics.get(j).copied().unwrap_or(f64::NAN)),
            );
            ds.write_slice(&a, s![start..end]).map_err(&e)?;
        }
        for (r, res) in results.iter().enumerate() {
            if let Some([oos, is]) = &res.similarity {
                let acc = self
                    .similarity
                    .get_or_insert_with(|| [MeanAccumulator::new(m), MeanAccumulator::new(m)]);
                acc[0].add(oos);
                acc[1].add(is);
                let b = (start + r) / SIMILARITY_BLOCK;
                while self.similarity_blocks.len() <= b {
                    self.similarity_blocks.push(MeanAccumulator::new(m));
                }
                self.similarity_blocks[b].add(oos);
            }
            for (mi, oos, err) in &res.errors {
                self.errors
                    .push(((start + r) as u64, *mi, *oos, err.clone()));
            }
        }
        // Flush so a crash later leaves every chunk written so far readable.
        self.file.as_ref().unwrap().flush().map_err(&e)?;
        Ok(())
    }

    /// Writes the error table and run info, marks the file complete and moves it
    /// to its final name.
    pub fn finish(mut self, info: RunInfo) -> Result<PathBuf, Error> {
        let file = self.file.take().unwrap();
        let e = h5err(&self.partial);
        let g = file.create_group("errors").map_err(&e)?;
        set_str_attr(
            &g,
            "description",
            "one row per failed (trial, method, side); side 0 = in-sample, 1 = out-of-sample",
        )
        .map_err(&e)?;
        let col = |name: &str, a: Array1<u64>| {
            g.new_dataset_builder()
                .with_data(&a)
                .create(name)
                .map(|_| ())
        };
        col("trial", self.errors.iter().map(|x| x.0).collect()).map_err(&e)?;
        col("method", self.errors.iter().map(|x| x.1 as u64).collect()).map_err(&e)?;
        col("side", self.errors.iter().map(|x| x.2 as u64).collect()).map_err(&e)?;
        col(
            "code",
            self.errors.iter().map(|x| x.3.kind.code() as u64).collect(),
        )
        .map_err(&e)?;
        let msgs: Array1<VarLenUnicode> = self
            .errors
            .iter()
            .map(|x| VarLenUnicode::from_str(&x.3.message).unwrap())
            .collect();
        g.new_dataset_builder()
            .with_data(&msgs)
            .create("message")
            .map_err(&e)?;
        if let Some([oos, is]) = &self.similarity {
            for (name, acc, desc) in [
                (
                    "method_similarity",
                    oos,
                    "[M x M] mean over trials of the correlation of two methods' portfolio returns under the out-of-sample covariance, w_a'S w_b / sqrt(w_a'S w_a w_b'S w_b) (in-sample weights; pairs over trials where both succeeded)",
                ),
                (
                    "method_similarity_is",
                    is,
                    "[M x M] the same under the in-sample covariance",
                ),
            ] {
                let ds = file
                    .new_dataset_builder()
                    .with_data(&acc.mean())
                    .create(name)
                    .map_err(&e)?;
                set_str_attr(&ds, "description", desc).map_err(&e)?;
            }
            let (k, m) = (self.similarity_blocks.len(), self.methods);
            let means: Vec<Array2<f64>> = self.similarity_blocks.iter().map(|b| b.mean()).collect();
            let a = Array3::from_shape_fn((k, m, m), |(b, i, j)| means[b][(i, j)]);
            let ds = file
                .new_dataset_builder()
                .with_data(&a)
                .create("method_similarity_blocks")
                .map_err(&e)?;
            set_str_attr(
                &ds,
                "description",
                &format!("[blocks x M x M] method_similarity per block of {SIMILARITY_BLOCK} consecutive trials (bootstrap stability of the taxonomy)"),
            )
            .map_err(&e)?;
        }
        let root: &hdf5::Location = &file;
        set_num_attr(root, "threads", info.threads as u64).map_err(&e)?;
        set_num_attr(root, "elapsed_s", info.elapsed_s).map_err(&e)?;
        root.attr("complete")
            .and_then(|a| a.write_scalar(&1u8))
            .map_err(&e)?;
        file.flush().map_err(&e)?;
        drop(file);
        std::fs::rename(&self.partial, &self.path).map_err(|err| {
            Error::io(
                &self.path,
                format!("cannot move finished results into place: {err}"),
            )
        })?;
        Ok(self.path.clone())
    }
}
