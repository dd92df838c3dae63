//! The HDF5 result file (layout documented in README "Output layout").
//!
//! Results stream to `<output>.partial` work unit by work unit (memory stays flat
//! in the number of trials; see [`crate::checkpoint`]); only a finished run is
//! renamed to `<output>` and carries the root attribute `complete = 1`. Neither an
//! existing output nor an interrupted run's `.partial` is ever replaced unless
//! asked, so results already written are never lost.

use crate::Error;
use crate::checkpoint::{ErrorRows, UnitRows};
use crate::error::MethodError;
use crate::metrics::{METRICS, N_METRICS};
use crate::verdict::taxonomy::{SIMILARITY_BLOCK, SimilaritySums, blocks_of, pair_count};
use hdf5::types::VarLenUnicode;
use ndarray::{Array1, Array2, Array3, Array4, s};
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
    /// Correlations of the methods' portfolio returns (M × M, in-sample weights)
    /// under `[in-sample, out-of-sample]` covariance; NaN for a method that failed
    /// ([`crate::verdict::taxonomy::portfolio_correlations`]).
    pub similarity: [Array2<f64>; 2],
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

/// Writes a numeric attribute, replacing it if present.
pub(crate) fn put_num_attr<T: hdf5::H5Type>(
    loc: &hdf5::Location,
    name: &str,
    value: T,
) -> hdf5::Result<()> {
    if loc.attr(name).is_ok() {
        loc.delete_attr(name)?;
    }
    set_num_attr(loc, name, value)
}

pub(crate) fn str_attr(loc: &hdf5::Location, name: &str) -> hdf5::Result<String> {
    loc.attr(name)?
        .read_scalar::<VarLenUnicode>()
        .map(|s| s.as_str().to_string())
}

pub(crate) fn num_attr<T: hdf5::H5Type>(loc: &hdf5::Location, name: &str) -> hdf5::Result<T> {
    loc.attr(name)?.read_scalar::<T>()
}

/// Header information of one grid point (for a plain run: of the file).
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

/// Free bytes on the file system that would hold `path` (its folder, or the nearest
/// existing ancestor), if known.
pub fn free_disk(path: &Path) -> Option<f64> {
    let mut dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    while !dir.exists() {
        dir = dir
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
    }
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then_some(st.f_bavail as f64 * st.f_frsize as f64)
}

/// Checks, before any work, that a result can be written to `path`: not a folder, not an
/// existing file unless `overwrite` (and then one that can be replaced), in a folder that
/// exists or can be created and is writable. Creates missing parent folders.
pub fn check_output(path: &Path, overwrite: bool) -> Result<(), Error> {
    if path.as_os_str().is_empty() {
        return Err(Error::io(
            path,
            "empty output path; name a file such as results/study.h5",
        ));
    }
    if path.is_dir() {
        return Err(Error::io(
            path,
            "is a folder; the output must name a file (e.g. FOLDER/study.h5)",
        ));
    }
    if path.exists() {
        if !overwrite {
            return Err(Error::io(
                path,
                "output exists; pass --overwrite to replace it, or choose another output path",
            ));
        }
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, format!("exists and cannot be replaced: {e}")))?;
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if dir.exists() && !dir.is_dir() {
        return Err(Error::io(
            dir,
            "is a file, not a folder; choose another output path",
        ));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(dir, format!("cannot create output folder: {e}")))?;
    let probe = dir.join(format!(".corrmc-probe-{}", std::process::id()));
    std::fs::File::create(&probe)
        .map_err(|e| Error::io(dir, format!("output folder is not writable: {e}")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The datasets of one grid point: the single-run layout, in the file's root
/// group for a plain run or in `/points/<k>/` for a sweep, plus `checkpoint/`
/// (per-unit done flags, checksums and error rows).
pub struct PointWriter {
    group: hdf5::Group,
    path: PathBuf,
    trials: u64,
    chunk: u64,
    methods: usize,
    assets: usize,
    metrics: Vec<hdf5::Dataset>,
    status: hdf5::Dataset,
    status_oos: hdf5::Dataset,
    method_info: hdf5::Dataset,
    weights: Option<hdf5::Dataset>,
    diagnostics: Vec<hdf5::Dataset>,
    done: hdf5::Dataset,
    checksum: hdf5::Dataset,
}

impl PointWriter {
    /// Creates the point's datasets in `group` (filled with NaN / 255 until written)
    /// and its attributes. `path` names the file in errors.
    pub fn create(group: &hdf5::Group, h: &Header<'_>, path: &Path) -> Result<PointWriter, Error> {
        let e = h5err(path);
        let (t, m) = (h.trials as usize, h.methods.len());
        let ct = h.chunk_trials.min(t).max(1);
        let root: &hdf5::Location = group;
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
        set_num_attr(root, "chunk_trials", h.chunk_trials as u64).map_err(&e)?;
        set_num_attr(root, "complete", 0u8).map_err(&e)?;
        group
            .new_dataset_builder()
            .with_data(&strings(h.methods))
            .create("methods")
            .map_err(&e)?;
        let g = group.create_group("metrics").map_err(&e)?;
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
            let ds = group
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
        mk_status(
            "status",
            "per trial and method: weights on the in-sample estimate",
        )
        .map_err(&e)?;
        mk_status(
            "status_oos",
            "per trial and method: weights re-estimated out of sample (turnover)",
        )
        .map_err(&e)?;
        let method_info = group
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
        if h.store_weights {
            let ds = group
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
        }
        if !h.diagnostics.is_empty() {
            let g = group.create_group("source").map_err(&e)?;
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
            }
        }
        let units = crate::checkpoint::unit_count(h.trials, h.chunk_trials as u64) as usize;
        let cp = group.create_group("checkpoint").map_err(&e)?;
        set_str_attr(
            &cp,
            "description",
            "work units of chunk_trials trials: done (1 = rows written and verified by checksum), \
             checksum (FNV-1a 64 of the unit's rows), errors/<unit>/ (the unit's /errors rows), \
             similarity/<unit>/ (the unit's fixed-point sums of /method_similarity)",
        )
        .map_err(&e)?;
        let uc = units.clamp(1, 4096);
        cp.new_dataset::<u8>()
            .chunk(uc)
            .fill_value(0u8)
            .shape(units)
            .create("done")
            .map_err(&e)?;
        cp.new_dataset::<u64>()
            .chunk(uc)
            .fill_value(0u64)
            .shape(units)
            .create("checksum")
            .map_err(&e)?;
        cp.create_group("errors").map_err(&e)?;
        cp.create_group("similarity").map_err(&e)?;
        drop(e);
        let names: Vec<&str> = h.diagnostics.iter().map(|d| d.name).collect();
        PointWriter::open(group, path, &names)
    }

    /// Opens the datasets of a point written by [`PointWriter::create`];
    /// `diagnostics` names its source's diagnostics in order.
    pub fn open(
        group: &hdf5::Group,
        path: &Path,
        diagnostics: &[&str],
    ) -> Result<PointWriter, Error> {
        let e = |what: &str| {
            let what = what.to_string();
            move |err: hdf5::Error| {
                Error::io(
                    path,
                    format!("not a corrmc checkpointed result ({what}: {err})"),
                )
            }
        };
        let trials: u64 = num_attr(group, "trials").map_err(e("attribute trials"))?;
        let chunk: u64 = num_attr(group, "chunk_trials").map_err(e("attribute chunk_trials"))?;
        let assets: u64 = num_attr(group, "assets").map_err(e("attribute assets"))?;
        let metrics = METRICS
            .iter()
            .map(|(name, _)| group.dataset(&format!("metrics/{name}")))
            .collect::<hdf5::Result<Vec<_>>>()
            .map_err(e("metrics"))?;
        let status = group.dataset("status").map_err(e("status"))?;
        let methods = status.shape().get(1).copied().unwrap_or(0);
        let weights = group
            .link_exists("weights")
            .then(|| group.dataset("weights"))
            .transpose()
            .map_err(e("weights"))?;
        let diagnostics = diagnostics
            .iter()
            .map(|n| group.dataset(&format!("source/{n}")))
            .collect::<hdf5::Result<Vec<_>>>()
            .map_err(e("source"))?;
        Ok(PointWriter {
            group: group.clone(),
            path: path.to_path_buf(),
            trials,
            chunk,
            methods,
            assets: assets as usize,
            metrics,
            status_oos: group.dataset("status_oos").map_err(e("status_oos"))?,
            status,
            method_info: group.dataset("method_info").map_err(e("method_info"))?,
            weights,
            diagnostics,
            done: group.dataset("checkpoint/done").map_err(e("checkpoint"))?,
            checksum: group
                .dataset("checkpoint/checksum")
                .map_err(e("checkpoint"))?,
        })
    }

    pub fn trials(&self) -> u64 {
        self.trials
    }
    pub fn chunk_trials(&self) -> u64 {
        self.chunk
    }
    pub fn methods(&self) -> usize {
        self.methods
    }
    pub fn assets(&self) -> usize {
        self.assets
    }
    pub fn stores_weights(&self) -> bool {
        self.weights.is_some()
    }
    pub fn n_diagnostics(&self) -> usize {
        self.diagnostics.len()
    }
    pub fn units(&self) -> u64 {
        crate::checkpoint::unit_count(self.trials, self.chunk)
    }

    /// Writes unit `u`'s rows and error rows and marks it done with its checksum
    /// (which a reader, e.g. a merge of shards, can verify with [`Self::verify`]).
    pub fn write_unit(&self, u: u64, rows: &UnitRows) -> Result<(), Error> {
        let e = h5err(&self.path);
        let r = crate::checkpoint::unit_trials(self.trials, self.chunk, u);
        let (a, b) = (r.start as usize, r.end as usize);
        assert_eq!(rows.status.nrows(), b - a, "unit {u} row count");
        for (ds, x) in self.metrics.iter().zip(&rows.metrics) {
            ds.write_slice(x, s![a..b, ..]).map_err(&e)?;
        }
        self.status
            .write_slice(&rows.status, s![a..b, ..])
            .map_err(&e)?;
        self.status_oos
            .write_slice(&rows.status_oos, s![a..b, ..])
            .map_err(&e)?;
        self.method_info
            .write_slice(&rows.method_info, s![a..b, ..])
            .map_err(&e)?;
        if let (Some(ds), Some(w)) = (&self.weights, &rows.weights) {
            ds.write_slice(w, s![a..b, .., ..]).map_err(&e)?;
        }
        for (ds, x) in self.diagnostics.iter().zip(&rows.diagnostics) {
            ds.write_slice(x, s![a..b]).map_err(&e)?;
        }
        let name = format!("checkpoint/errors/{u}");
        if self.group.link_exists(&name) {
            self.group.unlink(&name).map_err(&e)?;
        }
        if !rows.errors.is_empty() {
            let g = self.group.create_group(&name).map_err(&e)?;
            write_error_rows(&g, &rows.errors).map_err(&e)?;
        }
        let sim = &rows.similarity;
        self.check_similarity(u, sim)?;
        let name = format!("checkpoint/similarity/{u}");
        if self.group.link_exists(&name) {
            self.group.unlink(&name).map_err(&e)?;
        }
        write_similarity(&self.group.create_group(&name).map_err(&e)?, sim).map_err(&e)?;
        self.checksum
            .write_slice(
                &Array1::from_elem(1, rows.checksum()),
                s![u as usize..u as usize + 1],
            )
            .map_err(&e)?;
        self.done
            .write_slice(&Array1::from_elem(1, 1u8), s![u as usize..u as usize + 1])
            .map_err(&e)?;
        Ok(())
    }

    /// Reads unit `u`'s rows back from the file.
    pub fn read_unit(&self, u: u64) -> Result<UnitRows, Error> {
        let e = h5err(&self.path);
        let r = crate::checkpoint::unit_trials(self.trials, self.chunk, u);
        let (a, b) = (r.start as usize, r.end as usize);
        let metrics = self
            .metrics
            .iter()
            .map(|ds| ds.read_slice_2d::<f64, _>(s![a..b, ..]))
            .collect::<hdf5::Result<Vec<_>>>()
            .map_err(&e)?;
        let weights = self
            .weights
            .as_ref()
            .map(|ds| ds.read_slice::<f64, _, ndarray::Ix3>(s![a..b, .., ..]))
            .transpose()
            .map_err(&e)?;
        let diagnostics = self
            .diagnostics
            .iter()
            .map(|ds| ds.read_slice_1d::<f64, _>(s![a..b]))
            .collect::<hdf5::Result<Vec<_>>>()
            .map_err(&e)?;
        let name = format!("checkpoint/errors/{u}");
        let errors = if self.group.link_exists(&name) {
            read_error_rows(&self.group.group(&name).map_err(&e)?).map_err(&e)?
        } else {
            ErrorRows::default()
        };
        let similarity = self.read_similarity(u)?;
        Ok(UnitRows {
            metrics,
            status: self
                .status
                .read_slice_2d::<u8, _>(s![a..b, ..])
                .map_err(&e)?,
            status_oos: self
                .status_oos
                .read_slice_2d::<u8, _>(s![a..b, ..])
                .map_err(&e)?,
            method_info: self
                .method_info
                .read_slice_2d::<f64, _>(s![a..b, ..])
                .map_err(&e)?,
            weights,
            diagnostics,
            errors,
            similarity,
        })
    }

    /// Unit `u`'s similarity sums as written by [`Self::write_unit`].
    fn read_similarity(&self, u: u64) -> Result<SimilaritySums, Error> {
        let name = format!("checkpoint/similarity/{u}");
        let g = self.group.group(&name).map_err(|err| {
            Error::io(
                &self.path,
                format!("{name}: {err} (written by a corrmc without /method_similarity?)"),
            )
        })?;
        let sim = read_similarity(&g, self.methods)
            .map_err(|err| Error::io(&self.path, format!("{name}: {err}")))?;
        self.check_similarity(u, &sim)?;
        Ok(sim)
    }

    /// Unit `u`'s similarity sums cover exactly the blocks its trials touch.
    fn check_similarity(&self, u: u64, sim: &SimilaritySums) -> Result<(), Error> {
        let want = blocks_of(&crate::checkpoint::unit_trials(self.trials, self.chunk, u));
        if sim.methods != self.methods
            || sim.first_block != want.start
            || sim.blocks() as u64 != want.end - want.start
        {
            return Err(Error::io(
                &self.path,
                format!(
                    "unit {u}: similarity sums of {} methods over blocks {}..{}, expected {} \
                     methods over blocks {}..{} (a damaged checkpoint)",
                    sim.methods,
                    sim.first_block,
                    sim.first_block + sim.blocks() as u64,
                    self.methods,
                    want.start,
                    want.end
                ),
            ));
        }
        Ok(())
    }

    /// The units marked done whose rows still hash to their stored checksum, and
    /// the number marked done that do not (corrupted; they are recomputed).
    /// Also returns the error rows of the verified units, for the report.
    pub fn verify(&self) -> Result<(Vec<bool>, u64, usize), Error> {
        let e = h5err(&self.path);
        let done = self.done.read_1d::<u8>().map_err(&e)?;
        let sums = self.checksum.read_1d::<u64>().map_err(&e)?;
        let mut ok = vec![false; done.len()];
        let (mut corrupt, mut failures) = (0, 0);
        for u in 0..done.len() {
            if done[u] != 1 {
                continue;
            }
            // An unreadable unit (e.g. a damaged compressed chunk) is as corrupt as
            // one that reads but does not match.
            match self.read_unit(u as u64) {
                Ok(rows) if rows.checksum() == sums[u] => {
                    ok[u] = true;
                    failures += rows.errors.len();
                }
                _ => corrupt += 1,
            }
        }
        Ok((ok, corrupt, failures))
    }

    /// Assembles `/errors` from the units' error rows (in trial order) and
    /// `/method_similarity*` from their similarity sums, and marks the point complete.
    pub fn finish(&self) -> Result<usize, Error> {
        let e = h5err(&self.path);
        let mut all = ErrorRows::default();
        for u in 0..self.units() {
            let name = format!("checkpoint/errors/{u}");
            if self.group.link_exists(&name) {
                all.extend(&read_error_rows(&self.group.group(&name).map_err(&e)?).map_err(&e)?);
            }
        }
        if self.group.link_exists("errors") {
            // Left by a run killed while finishing; rebuilt identically.
            self.group.unlink("errors").map_err(&e)?;
        }
        let g = self.group.create_group("errors").map_err(&e)?;
        set_str_attr(
            &g,
            "description",
            "one row per failed (trial, method, side); side 0 = in-sample, 1 = out-of-sample",
        )
        .map_err(&e)?;
        write_error_rows(&g, &all).map_err(&e)?;
        self.write_method_similarity()?;
        put_num_attr(&self.group, "complete", 1u8).map_err(&e)?;
        Ok(all.len())
    }

    /// `/method_similarity` and its companions from the units' exact sums (the
    /// same whatever the chunking: see [`SimilaritySums`]). Streams unit by unit:
    /// memory holds one unit's blocks, not the study's.
    fn write_method_similarity(&self) -> Result<(), Error> {
        let e = h5err(&self.path);
        let m = self.methods;
        for name in [
            "method_similarity",
            "method_similarity_is",
            "method_similarity_count",
            "method_similarity_is_count",
            "method_similarity_blocks",
        ] {
            if self.group.link_exists(name) {
                // Left by a run killed while finishing; rebuilt identically.
                self.group.unlink(name).map_err(&e)?;
            }
        }
        let k = blocks_of(&(0..self.trials)).end as usize;
        let blocks = self
            .group
            .new_dataset::<f64>()
            .fill_value(f64::NAN)
            .shape((k, m, m))
            .create("method_similarity_blocks")
            .map_err(&e)?;
        set_str_attr(
            &blocks,
            "description",
            &format!(
                "[blocks x M x M] method_similarity per block of {SIMILARITY_BLOCK} consecutive \
                 trials (block b: trials {SIMILARITY_BLOCK}b to {SIMILARITY_BLOCK}b + {}, the \
                 last one possibly shorter), for the bootstrap stability of the taxonomy",
                SIMILARITY_BLOCK - 1
            ),
        )
        .map_err(&e)?;
        set_num_attr(&blocks, "block_trials", SIMILARITY_BLOCK).map_err(&e)?;
        let write_blocks = |s: &SimilaritySums| -> Result<(), Error> {
            let a = s.first_block as usize;
            blocks
                .write_slice(&s.block_means(1), s![a..a + s.blocks(), .., ..])
                .map_err(&e)
        };
        // Units follow each other in trial order, so a unit shares at most its
        // first block with the one before: carry that unit's last block until the
        // next unit has added its share.
        let mut total = SimilaritySums::covering(m, 0..1);
        let mut carry: Option<SimilaritySums> = None;
        for u in 0..self.units() {
            let mut sim = self.read_similarity(u)?;
            total
                .absorb(&sim.collapsed())
                .map_err(|err| Error::io(&self.path, format!("unit {u}: {err}")))?;
            if let Some(c) = carry.take() {
                if c.first_block == sim.first_block {
                    sim.absorb(&c)
                        .map_err(|err| Error::io(&self.path, format!("unit {u}: {err}")))?;
                } else {
                    write_blocks(&c)?;
                }
            }
            let nb = sim.blocks();
            write_blocks(&sim.sub_blocks(0..nb - 1))?;
            carry = Some(sim.sub_blocks(nb - 1..nb));
        }
        if let Some(c) = carry {
            write_blocks(&c)?;
        }
        let means = [
            (
                "method_similarity",
                total.mean(1),
                "[M x M] mean over trials of the correlation of two methods' portfolio returns \
                 under the out-of-sample covariance S, w_a'S w_b / sqrt(w_a'S w_a w_b'S w_b) with \
                 the in-sample weights; each pair over the trials where both succeeded (their \
                 number in method_similarity_count), NaN where there were none. Summed exactly \
                 in fixed point (round(rho * 2^96) as integers), so independent of threads and \
                 chunking",
            ),
            (
                "method_similarity_is",
                total.mean(0),
                "[M x M] the same under the in-sample covariance (trials in \
                 method_similarity_is_count)",
            ),
        ];
        for (name, a, desc) in &means {
            let ds = self
                .group
                .new_dataset_builder()
                .with_data(a)
                .create(*name)
                .map_err(&e)?;
            set_str_attr(&ds, "description", desc).map_err(&e)?;
        }
        let counts = [
            (
                "method_similarity_count",
                total.counts(1),
                "[M x M] trials in the mean of method_similarity",
            ),
            (
                "method_similarity_is_count",
                total.counts(0),
                "[M x M] trials in the mean of method_similarity_is",
            ),
        ];
        for (name, a, desc) in &counts {
            let ds = self
                .group
                .new_dataset_builder()
                .with_data(a)
                .create(*name)
                .map_err(&e)?;
            set_str_attr(&ds, "description", desc).map_err(&e)?;
        }
        Ok(())
    }
}

/// A unit's similarity sums as HDF5 (only unsigned types, which every reader
/// handles): attribute `first_block`; `sum` u64 [blocks × 2 × pairs × 2], the
/// i128 sums as (low, high) 64-bit halves of their two's complement; `count` u64
/// [blocks × 2 × pairs]. Side 0 in-sample, 1 out-of-sample; pairs a ≤ b row-major.
fn write_similarity(g: &hdf5::Group, s: &SimilaritySums) -> hdf5::Result<()> {
    let (nb, sides, p) = s.sum.dim();
    let halves = Array4::from_shape_fn((nb, sides, p, 2), |(b, k, i, h)| {
        (s.sum[(b, k, i)] as u128 >> (64 * h)) as u64
    });
    let rows = nb.clamp(1, 64);
    g.new_dataset_builder()
        .chunk((rows, sides, p.max(1), 2))
        .deflate(4)
        .with_data(&halves)
        .create("sum")?;
    g.new_dataset_builder()
        .chunk((rows, sides, p.max(1)))
        .deflate(4)
        .with_data(&s.count)
        .create("count")?;
    set_num_attr(g, "first_block", s.first_block)
}

fn read_similarity(g: &hdf5::Group, methods: usize) -> hdf5::Result<SimilaritySums> {
    let first_block: u64 = num_attr(g, "first_block")?;
    let halves = g.dataset("sum")?.read::<u64, ndarray::Ix4>()?;
    let count = g.dataset("count")?.read::<u64, ndarray::Ix3>()?;
    let (nb, sides, p, two) = halves.dim();
    if (sides, p, two) != (2, pair_count(methods), 2) || count.dim() != (nb, sides, p) {
        return Err(hdf5::Error::from(
            format!(
                "shapes {:?} and {:?} do not fit {methods} methods",
                halves.shape(),
                count.shape()
            )
            .as_str(),
        ));
    }
    let sum = Array3::from_shape_fn((nb, sides, p), |(b, k, i)| {
        (halves[(b, k, i, 0)] as u128 | (halves[(b, k, i, 1)] as u128) << 64) as i128
    });
    Ok(SimilaritySums {
        methods,
        first_block,
        sum,
        count,
    })
}

fn write_error_rows(g: &hdf5::Group, rows: &ErrorRows) -> hdf5::Result<()> {
    let col = |name: &str, a: &[u64]| {
        g.new_dataset_builder()
            .with_data(&Array1::from(a.to_vec()))
            .create(name)
            .map(|_| ())
    };
    col("trial", &rows.trial)?;
    col("method", &rows.method)?;
    col("side", &rows.side)?;
    col("code", &rows.code)?;
    let msgs: Array1<VarLenUnicode> = rows
        .message
        .iter()
        .map(|m| {
            VarLenUnicode::from_str(m)
                .unwrap_or_else(|_| VarLenUnicode::from_str(&m.replace('\0', "\u{fffd}")).unwrap())
        })
        .collect();
    g.new_dataset_builder()
        .with_data(&msgs)
        .create("message")
        .map(|_| ())
}

fn read_error_rows(g: &hdf5::Group) -> hdf5::Result<ErrorRows> {
    let col = |name: &str| g.dataset(name).and_then(|d| d.read_raw::<u64>());
    Ok(ErrorRows {
        trial: col("trial")?,
        method: col("method")?,
        side: col("side")?,
        code: col("code")?,
        message: g
            .dataset("message")?
            .read_raw::<VarLenUnicode>()?
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
    })
}

/// Run-level facts stored as root attributes.
pub struct RunInfo {
    pub threads: usize,
    pub elapsed_s: f64,
}

/// The path of the in-progress file of `output`.
pub fn partial_path(output: &Path) -> PathBuf {
    let mut p = output.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

/// A result file being assembled at `<output>.assembling` until
/// [`ResultFile::finish`] moves it into place.
pub struct ResultFile {
    file: Option<hdf5::File>,
    tmp: PathBuf,
    path: PathBuf,
}

impl ResultFile {
    /// Creates `<path>.assembling` (replacing one left by a killed assembly: it
    /// holds nothing the journal does not).
    pub fn create(path: &Path) -> Result<ResultFile, Error> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".assembling");
        let tmp = PathBuf::from(tmp);
        if tmp.exists() {
            std::fs::remove_file(&tmp)
                .map_err(|e| Error::io(&tmp, format!("cannot remove: {e}")))?;
        }
        let file = hdf5::File::create_excl(&tmp)
            .map_err(|err| Error::io(&tmp, format!("cannot create output file: {err}")))?;
        Ok(ResultFile {
            file: Some(file),
            tmp,
            path: path.to_path_buf(),
        })
    }

    pub fn file(&self) -> &hdf5::File {
        self.file.as_ref().unwrap()
    }

    /// Where the file is being written.
    pub fn partial(&self) -> &Path {
        &self.tmp
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the run info, marks the file complete and moves it to its final name.
    pub fn finish(mut self, info: RunInfo) -> Result<PathBuf, Error> {
        let file = self.file.take().unwrap();
        let e = h5err(&self.tmp);
        let root: &hdf5::Location = &file;
        put_num_attr(root, "threads", info.threads as u64).map_err(&e)?;
        put_num_attr(root, "elapsed_s", info.elapsed_s).map_err(&e)?;
        put_num_attr(root, "complete", 1u8).map_err(&e)?;
        file.flush().map_err(&e)?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(|err| {
            Error::io(
                &self.path,
                format!("cannot move finished results into place: {err}"),
            )
        })?;
        Ok(self.path.clone())
    }
}
