//! Matrix banks: repaired CorrGAN matrices written once to HDF5 and replayed as a
//! correlation source.
//!
//! Layout (`format = "corrmc-bank-1"`):
//!
//! | path | type | what |
//! |---|---|---|
//! | `/corr` | f64 `[N, n, n]` | repaired correlation matrices (chunk = one matrix, deflate 4) |
//! | `/trial` | u64 `[N]` | trial index whose latent vector produced the matrix |
//! | `/noise` | f32 `[N, latent]` | that latent vector (`rng::stream(seed, Correlation, trial)`) |
//! | `/diagnostics/<name>` | f64 `[N]` | repair diagnostics ([`RepairDiagnostics::NAMES`]) |
//! | attributes on `/` | | `format`, `source`, `backend`, `model`, `seed`, `repair_method`, `repair_tol`, `corrmc_version` |
//!
//! The bank source replays matrix `i` for trial `i` whatever the study seed (the bank's own
//! seed is recorded in the file); with `wrap` it cycles through the bank.

use super::corrgan::{CorrGan, repair_diagnostics};
use super::{CorrSample, CorrSource, Diagnostic, ValidationTolerance, validate_correlation};
use crate::Error;
use crate::nearest::RepairDiagnostics;
use hdf5::types::VarLenUnicode;
use ndarray::{Array1, Array2, Array3, Axis, s};
use std::path::{Path, PathBuf};

pub const BANK_FORMAT: &str = "corrmc-bank-1";

fn h5err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::io(path, format!("HDF5: {e}"))
}

fn write_str_attr(loc: &hdf5::Location, path: &Path, name: &str, value: &str) -> Result<(), Error> {
    let v: VarLenUnicode = value
        .parse()
        .map_err(|e| h5err(path, format!("attribute {name}: {e:?}")))?;
    loc.new_attr::<VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .map_err(|e| h5err(path, e))
}

fn read_str_attr(loc: &hdf5::Location, name: &str) -> Option<String> {
    loc.attr(name)
        .ok()?
        .read_scalar::<VarLenUnicode>()
        .ok()
        .map(|v| v.as_str().to_string())
}

/// Progress callback: (matrices written so far, total).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Samples trials `start .. start + count` from `source` and writes them to a bank at `path`.
pub fn write_bank(
    source: &CorrGan,
    seed: u64,
    start: u64,
    count: usize,
    path: &Path,
    progress: Option<Progress<'_>>,
) -> Result<(), Error> {
    if count == 0 {
        return Err(Error::Other("bank size must be at least 1".into()));
    }
    // Written as `<path>.partial` and renamed when complete, so that a failure never leaves
    // a bank that looks finished.
    let final_path = path;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let path = partial.as_path();
    let n = source.dim();
    let latent = source.latent_dim();
    let file = hdf5::File::create(path).map_err(|e| h5err(path, e))?;
    let corr = file
        .new_dataset::<f64>()
        .shape([count, n, n])
        .chunk([1, n, n])
        .deflate(4)
        .create("corr")
        .map_err(|e| h5err(path, e))?;
    let noise_ds = file
        .new_dataset::<f32>()
        .shape([count, latent])
        .create("noise")
        .map_err(|e| h5err(path, e))?;
    let trials: Array1<u64> = (start..start + count as u64).collect();
    file.new_dataset_builder()
        .with_data(&trials)
        .create("trial")
        .map_err(|e| h5err(path, e))?;
    let mut diag = Array2::<f64>::zeros((count, RepairDiagnostics::NAMES.len()));
    let batch = source.preferred_batch().max(1);
    let mut done = 0usize;
    while done < count {
        let take = batch.min(count - done);
        let range = start + done as u64..start + (done + take) as u64;
        let noise = source.noise(seed, range.clone());
        let repaired = source.sample_repaired(seed, range)?;
        let mut block = Array3::<f64>::zeros((take, n, n));
        for (k, (m, d)) in repaired.iter().enumerate() {
            block.index_axis_mut(Axis(0), k).assign(m);
            diag.row_mut(done + k).assign(&Array1::from(d.as_values()));
        }
        corr.write_slice(&block, s![done..done + take, .., ..])
            .map_err(|e| h5err(path, e))?;
        noise_ds
            .write_slice(&noise, s![done..done + take, ..])
            .map_err(|e| h5err(path, e))?;
        done += take;
        if let Some(p) = progress {
            p(done, count);
        }
    }
    let g = file
        .create_group("diagnostics")
        .map_err(|e| h5err(path, e))?;
    for (j, name) in RepairDiagnostics::NAMES.iter().enumerate() {
        let col = diag.column(j).to_owned();
        g.new_dataset_builder()
            .with_data(&col)
            .create(*name)
            .map_err(|e| h5err(path, e))?;
    }
    let p = source.params();
    write_str_attr(&file, path, "format", BANK_FORMAT)?;
    write_str_attr(&file, path, "source", &source.describe())?;
    write_str_attr(&file, path, "backend", source.backend().label())?;
    write_str_attr(&file, path, "model", &p.model.display().to_string())?;
    write_str_attr(&file, path, "repair_method", p.repair.method.label())?;
    write_str_attr(&file, path, "corrmc_version", env!("CARGO_PKG_VERSION"))?;
    file.new_attr::<u64>()
        .create("seed")
        .and_then(|a| a.write_scalar(&seed))
        .map_err(|e| h5err(path, e))?;
    file.new_attr::<f64>()
        .create("repair_tol")
        .and_then(|a| a.write_scalar(&p.repair.tol))
        .map_err(|e| h5err(path, e))?;
    file.close().map_err(|e| h5err(path, e))?;
    std::fs::rename(path, final_path).map_err(|e| Error::io(final_path, e))?;
    Ok(())
}

/// A bank read into memory.
#[derive(Clone, Debug)]
pub struct Bank {
    pub path: PathBuf,
    pub corr: Array3<f64>,
    pub trial: Array1<u64>,
    /// `[N, 4]`, columns as [`RepairDiagnostics::NAMES`].
    pub diagnostics: Array2<f64>,
    pub seed: u64,
    pub source: String,
    pub backend: String,
}

impl Bank {
    /// Reads and checks a bank: format tag, shapes, and every matrix a valid correlation
    /// matrix (PSD to 1e-10).
    pub fn open(path: &Path) -> Result<Bank, Error> {
        if !path.is_file() {
            return Err(Error::io(path, "bank file not found"));
        }
        let file = hdf5::File::open(path).map_err(|e| h5err(path, e))?;
        let format = read_str_attr(&file, "format");
        if format.as_deref() != Some(BANK_FORMAT) {
            return Err(Error::io(
                path,
                format!("not a corrmc matrix bank (format = {format:?}, expected {BANK_FORMAT})"),
            ));
        }
        let mut names = vec!["corr".to_string(), "trial".to_string()];
        names.extend(
            RepairDiagnostics::NAMES
                .iter()
                .map(|n| format!("diagnostics/{n}")),
        );
        for name in &names {
            let exists = name
                .split('/')
                .scan(String::new(), |prefix, part| {
                    if !prefix.is_empty() {
                        prefix.push('/');
                    }
                    prefix.push_str(part);
                    Some(file.link_exists(prefix))
                })
                .all(|e| e);
            if !exists {
                return Err(Error::io(
                    path,
                    format!(
                        "bank has no dataset '/{name}' (a corrmc bank holds /corr [k,n,n], /trial [k] and \
                         /diagnostics/*; write one with `corrmc sample`)"
                    ),
                ));
            }
        }
        for attr in ["seed"] {
            if !file.attr_names().is_ok_and(|a| a.iter().any(|x| x == attr)) {
                return Err(Error::io(
                    path,
                    format!("bank has no attribute '{attr}'; write banks with `corrmc sample`"),
                ));
            }
        }
        let corr: Array3<f64> = file
            .dataset("corr")
            .and_then(|d| d.read())
            .map_err(|e| h5err(path, e))?;
        let trial: Array1<u64> = file
            .dataset("trial")
            .and_then(|d| d.read_1d())
            .map_err(|e| h5err(path, e))?;
        let (count, r, c) = corr.dim();
        if r != c || trial.len() != count || count == 0 {
            return Err(Error::io(
                path,
                format!(
                    "inconsistent bank: corr {:?}, trial {}",
                    corr.dim(),
                    trial.len()
                ),
            ));
        }
        let mut diagnostics = Array2::<f64>::zeros((count, RepairDiagnostics::NAMES.len()));
        for (j, name) in RepairDiagnostics::NAMES.iter().enumerate() {
            let col: Array1<f64> = file
                .dataset(&format!("diagnostics/{name}"))
                .and_then(|d| d.read_1d())
                .map_err(|e| h5err(path, e))?;
            if col.len() != count {
                return Err(Error::io(
                    path,
                    format!(
                        "diagnostics/{name} has {} rows, corr has {count}",
                        col.len()
                    ),
                ));
            }
            diagnostics.column_mut(j).assign(&col);
        }
        for (k, m) in corr.outer_iter().enumerate() {
            validate_correlation(m, ValidationTolerance::default())
                .map_err(|msg| Error::matrix(format!("{} matrix {k}", path.display()), msg))?;
        }
        let seed = file
            .attr("seed")
            .and_then(|a| a.read_scalar::<u64>())
            .map_err(|e| h5err(path, e))?;
        Ok(Bank {
            path: path.to_path_buf(),
            corr,
            trial,
            diagnostics,
            seed,
            source: read_str_attr(&file, "source").unwrap_or_default(),
            backend: read_str_attr(&file, "backend").unwrap_or_default(),
        })
    }

    pub fn len(&self) -> usize {
        self.corr.dim().0
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn dim(&self) -> usize {
        self.corr.dim().1
    }
}

/// Replays a bank: trial `i` gets matrix `i` (or `i mod N` with `wrap`).
pub struct BankSource {
    bank: Bank,
    wrap: bool,
}

impl BankSource {
    pub fn open(path: &Path, wrap: bool) -> Result<Self, Error> {
        Ok(BankSource {
            bank: Bank::open(path)?,
            wrap,
        })
    }
    pub fn from_bank(bank: Bank, wrap: bool) -> Self {
        BankSource { bank, wrap }
    }
    pub fn bank(&self) -> &Bank {
        &self.bank
    }
}

impl CorrSource for BankSource {
    fn describe(&self) -> String {
        format!(
            "bank({}, {} matrices, from {})",
            self.bank.path.display(),
            self.bank.len(),
            self.bank.source
        )
    }
    fn dim(&self) -> usize {
        self.bank.dim()
    }
    fn sample(&self, _seed: u64, trial: u64) -> Result<CorrSample, Error> {
        let count = self.bank.len() as u64;
        let k = if trial < count {
            trial
        } else if self.wrap {
            trial % count
        } else {
            return Err(Error::matrix(
                self.bank.path.display().to_string(),
                format!(
                    "trial {trial} asked for, but the bank holds {count} matrices (set wrap to cycle)"
                ),
            ));
        } as usize;
        Ok(CorrSample {
            corr: self.bank.corr.index_axis(Axis(0), k).to_owned(),
            diagnostics: self.bank.diagnostics.row(k).to_vec(),
        })
    }
    fn diagnostics(&self) -> Vec<Diagnostic> {
        repair_diagnostics()
    }
}
