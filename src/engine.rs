//! The Monte Carlo loop: rayon-parallel over the trials of a work unit, units
//! checkpointed to HDF5 one by one (see [`crate::checkpoint`]).
//!
//! Reproducibility: trial *i* draws only from streams keyed by (seed, i) (see
//! [`crate::rng`]) and every kernel is sequential inside a trial, so the datasets
//! are bit-identical for any thread count, chunk size, interruption and resume,
//! and each sweep point equals a standalone run of its resolved spec.

use crate::Error;
use crate::alloc::{self, Allocator, Context, Estimate};
use crate::checkpoint::{Fingerprint, UnitRows, unit_count, unit_trials};
use crate::corr::{CorrSample, CorrSource};
use crate::error::MethodError;
use crate::journal::{Journal, Meta, Shard};
use crate::metrics::{N_METRICS, measure_many};
use crate::output::{
    Header, PointWriter, ResultFile, RunInfo, TrialResult, h5err, num_attr, partial_path,
    set_num_attr, set_str_attr, str_attr,
};
use crate::simulate::simulate_with;
use crate::spec::Spec;
use crate::stop;
use crate::sweep::Study;
use crate::verdict::taxonomy::portfolio_correlations;
use hdf5::types::VarLenUnicode;
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Command-line overrides of a run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// Output path (default: the spec's `output`).
    pub output: Option<PathBuf>,
    /// Replace an existing output file.
    pub overwrite: bool,
    /// Draw a progress bar (only shown on a terminal).
    pub progress: bool,
    /// Override the spec's `trials` (e.g. a quick look at a big spec).
    pub trials: Option<u64>,
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub output: PathBuf,
    pub trials: u64,
    pub threads: usize,
    pub elapsed_s: f64,
    pub failures: usize,
}

/// Computes one trial: simulate, allocate in and out of sample, measure.
pub fn run_trial(
    spec: &Spec,
    allocators: &[Box<dyn Allocator>],
    trial: u64,
    sample: CorrSample,
    keep_weights: bool,
) -> Result<TrialResult, Error> {
    let seed = spec.raw.seed;
    let signals = allocators.iter().any(|a| a.uses_path_signals());
    let mut data = simulate_with(sample.corr, &spec.sim, seed, trial, signals)
        .map_err(|m| Error::matrix(format!("trial {trial}"), m))?;
    // The estimates own the sample covariances while the methods run (no copies); they
    // are handed back to `data` for the metrics.
    let mut est_is =
        Estimate::new(std::mem::take(&mut data.cov_is)).with_mean(data.mean_is.clone());
    let mut est_oos =
        Estimate::new(std::mem::take(&mut data.cov_oos)).with_mean(data.mean_oos.clone());
    if signals {
        est_is = est_is.with_signals(data.signals_is.clone());
        est_oos = est_oos.with_signals(data.signals_oos.clone());
    }
    let n = data.corr.nrows();
    let m = allocators.len();
    let mut res = TrialResult {
        metrics: Vec::with_capacity(m),
        status: Vec::with_capacity(m),
        status_oos: Vec::with_capacity(m),
        weights: keep_weights.then(Vec::new),
        notes: Vec::with_capacity(m),
        diagnostics: sample.diagnostics,
        errors: Vec::new(),
        similarity: [Array2::zeros((0, 0)), Array2::zeros((0, 0))],
    };
    // In-sample weights of the methods that succeeded, for the strategy taxonomy.
    let mut kept: Vec<Option<Array1<f64>>> = Vec::with_capacity(m);
    let weights =
        |a: &dyn Allocator, est: &Estimate, oos: bool| -> Result<(Array1<f64>, f64), MethodError> {
            let ctx = Context {
                seed,
                trial,
                out_of_sample: oos,
            };
            // Only the in-sample note is stored: the out-of-sample side asks for
            // none, which spares e.g. MinVar's eigenvalues (same weights).
            let (w, note) = if oos {
                (a.allocate(est, &ctx)?, f64::NAN)
            } else {
                a.allocate_noted(est, &ctx)?
            };
            alloc::check_weights(&w, n)?;
            Ok((w, note))
        };
    // Every method on both estimates first, then the metrics of all of them in one pass
    // over each matrix (`measure_many`: the same numbers as one `measure` per method).
    let outcomes: Vec<_> = allocators
        .iter()
        .map(|a| {
            let noted = weights(a.as_ref(), &est_is, false);
            let w_oos = weights(a.as_ref(), &est_oos, true).map(|x| x.0);
            (noted, w_oos)
        })
        .collect();
    data.cov_is = est_is.into_cov();
    data.cov_oos = est_oos.into_cov();
    let succeeded: Vec<_> = outcomes
        .iter()
        .filter_map(|(noted, w_oos)| noted.as_ref().ok().map(|x| (&x.0, w_oos.as_ref().ok())))
        .collect();
    let mut measured = measure_many(&succeeded, &data, &spec.metric_params()).into_iter();
    for (mi, (noted, w_oos)) in outcomes.into_iter().enumerate() {
        res.notes.push(noted.as_ref().map_or(f64::NAN, |x| x.1));
        let w_is = noted.map(|x| x.0);
        let code =
            |r: &Result<Array1<f64>, MethodError>| r.as_ref().map_or_else(|e| e.kind.code(), |_| 0);
        res.status.push(code(&w_is));
        res.status_oos.push(code(&w_oos));
        let mut w_is = w_is;
        match &w_is {
            Ok(_) => {
                let m = measured.next().expect("one measurement per success");
                // A volatility that is not finite is a failure, never a result.
                if m[..3].iter().all(|v| v.is_finite()) {
                    res.metrics.push(m);
                } else {
                    res.metrics.push([f64::NAN; N_METRICS]);
                    let e = MethodError::new(
                        crate::error::MethodErrorKind::NonFinite,
                        format!(
                            "volatility not finite (is {}, oos {}, true {}): variances overflow f64",
                            m[0], m[1], m[2]
                        ),
                    );
                    *res.status.last_mut().expect("pushed above") = e.kind.code();
                    w_is = Err(e);
                }
            }
            Err(_) => res.metrics.push([f64::NAN; N_METRICS]),
        }
        kept.push(w_is.as_ref().ok().cloned());
        if let Some(ws) = res.weights.as_mut() {
            ws.push(
                w_is.as_ref()
                    .map_or_else(|_| Array1::from_elem(n, f64::NAN), |w| w.clone()),
            );
        }
        if let Err(e) = w_is {
            res.errors.push((mi, false, e));
        }
        if let Err(e) = w_oos {
            res.errors.push((mi, true, e));
        }
    }
    res.similarity = [
        portfolio_correlations(&kept, data.cov_is.view()),
        portfolio_correlations(&kept, data.cov_oos.view()),
    ];
    Ok(res)
}

/// The trials `range` cut into the source's preferred batches (the last one shorter).
fn source_batches(
    source: &dyn CorrSource,
    range: std::ops::Range<u64>,
) -> Vec<std::ops::Range<u64>> {
    let b = source.preferred_batch().max(1) as u64;
    (range.start..range.end)
        .step_by(b as usize)
        .map(|s| s..(s + b).min(range.end))
        .collect()
}

/// The spec's allocators with their control parameters.
pub fn build_allocators(spec: &Spec) -> Result<Vec<Box<dyn Allocator>>, Error> {
    spec.methods
        .iter()
        .map(|m| {
            let c = spec.controls.get(*m).cloned().unwrap_or_default();
            alloc::build_with(m, &c)
                .map_err(|e| Error::spec(&spec.origin, format!("key `control.{m}`: {e}")))
        })
        .collect()
}

/// Checks `--threads` (1 to 4× the cores) and `--trials` (1 to [`crate::spec::MAX_TRIALS`])
/// before any thread starts; returns the thread count to use.
pub fn check_options(opts: &RunOptions) -> Result<usize, Error> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = opts.threads.unwrap_or(cores);
    let max = 4 * cores;
    if !(1..=max).contains(&threads) {
        return Err(Error::Other(format!(
            "--threads {threads}: must be between 1 and {max} (4x the {cores} cores available)"
        )));
    }
    if let Some(t) = opts.trials
        && !(1..=crate::spec::MAX_TRIALS).contains(&t)
    {
        return Err(Error::Other(format!(
            "--trials {t}: must be between 1 and {}",
            crate::spec::MAX_TRIALS
        )));
    }
    Ok(threads)
}

/// Bytes one worker holds while it computes a trial: the T×n normals of the longer
/// path, about a dozen n×n matrices and the methods' weights.
fn worker_bytes(spec: &Spec) -> f64 {
    let n = spec.raw.assets as f64;
    let t = spec.raw.in_sample_days.max(spec.raw.out_of_sample_days) as f64;
    let m = spec.methods.len() as f64;
    8.0 * (n * t + 12.0 * n * n + 4.0 * m * n)
}

/// Bytes per trial in flight: its sampled correlation matrix and its results (with
/// the two M×M portfolio-correlation matrices).
fn in_flight_bytes(spec: &Spec) -> f64 {
    let n = spec.raw.assets as f64;
    let m = spec.methods.len() as f64;
    8.0 * (n * n + m * (10.0 + n) + 2.0 * m * m)
}

/// The source's inference batch (CorrGAN), 1 for the others.
fn source_batch(spec: &Spec) -> u64 {
    match &spec.raw.source {
        crate::spec::SourceSpec::Corrgan { batch, .. } => (*batch).max(1) as u64,
        _ => 1,
    }
}

/// Fraction of the available memory a run's trials in flight may take by default.
pub const DEFAULT_MEMORY_SHARE: f64 = 0.5;

/// How many trials of a unit are sampled and computed at once: the whole unit
/// (`chunk_trials`) unless the memory budget (`budget` bytes, default
/// [`DEFAULT_MEMORY_SHARE`] of the available memory) holds fewer, but at least one
/// per thread; a multiple of the source's batch, so that the source's batches (and
/// hence every number) are those of the whole unit. Peak memory is then
/// `threads · worker_bytes + in_flight · in_flight_bytes`: flat in the number of
/// trials and linear in n² × threads once the budget binds.
pub fn trials_in_flight(spec: &Spec, threads: usize, trials: u64, budget: Option<f64>) -> u64 {
    let chunk = (spec.chunk_trials as u64).min(trials).max(1);
    let b = source_batch(spec);
    let Some(budget) = budget.or_else(|| available_memory().map(|a| a * DEFAULT_MEMORY_SHARE))
    else {
        return chunk;
    };
    let fit = ((budget - threads as f64 * worker_bytes(spec)) / in_flight_bytes(spec)).max(0.0);
    let fit = (fit as u64).max(threads as u64);
    let fit = (fit.div_ceil(b) * b).max(b);
    fit.min(chunk)
}

/// Bytes a run holds at its peak: per worker one trial's paths and matrices, plus the
/// trials in flight ([`trials_in_flight`]) with their sampled matrices and results.
pub fn estimate_memory(spec: &Spec, threads: usize, trials: u64, budget: Option<f64>) -> f64 {
    threads as f64 * worker_bytes(spec)
        + trials_in_flight(spec, threads, trials, budget) as f64 * in_flight_bytes(spec)
}

/// Available memory (bytes) from /proc/meminfo's MemAvailable, if readable.
pub fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// Refuses, before any work, a study whose working memory cannot fit: an allocation that
/// large would abort the process mid-run.
pub fn check_memory(
    spec: &Spec,
    threads: usize,
    trials: u64,
    budget: Option<f64>,
) -> Result<(), Error> {
    let need = estimate_memory(spec, threads, trials, budget);
    if let Some(b) = budget
        && need > b
    {
        let sz = |x: f64| crate::plan::bytes(x as u64);
        return Err(Error::Other(format!(
            "--memory {} is below what {} needs with {threads} threads: about {} ({threads} \
             workers at {} each and {} trials in flight at {} each); raise --memory or lower \
             --threads",
            sz(b),
            spec.origin,
            sz(need),
            sz(worker_bytes(spec)),
            trials_in_flight(spec, threads, trials, budget),
            sz(in_flight_bytes(spec))
        )));
    }
    if let Some(avail) = available_memory()
        && need > avail
    {
        return Err(Error::spec(
            &spec.origin,
            format!(
                "the study needs about {:.1} GB of memory ({} assets, {} days, {threads} threads, \
                 chunk_trials = {}) but {:.1} GB are available; lower `assets`, \
                 `in_sample_days`/`out_of_sample_days`, `chunk_trials` or --threads",
                need / 1e9,
                spec.raw.assets,
                spec.raw.in_sample_days.max(spec.raw.out_of_sample_days),
                spec.chunk_trials,
                avail / 1e9
            ),
        ));
    }
    Ok(())
}

/// How a run shows progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProgressMode {
    #[default]
    Hidden,
    /// A progress bar (for a terminal).
    Bar,
    /// A line on stderr every ~10 s or 5 % (for batch logs).
    Lines,
}

/// Options of [`run_study`].
#[derive(Clone, Debug, Default)]
pub struct StudyOptions {
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// Output path (default: the study's `output`).
    pub output: Option<PathBuf>,
    /// Replace an existing output file or discard an interrupted run's `.partial`.
    pub overwrite: bool,
    /// Continue an interrupted run from its `.partial` (a fresh run if there is none).
    pub resume: bool,
    /// Run even if the estimated memory or output size exceeds what the machine has.
    pub force: bool,
    pub progress: ProgressMode,
    /// Override every point's `trials`.
    pub trials: Option<u64>,
    /// Stop gracefully on SIGINT/SIGTERM (the CLI); a library caller may leave it off.
    pub handle_signals: bool,
    /// Compute at most this many units in this invocation, then stop like a graceful
    /// stop (the file stays resumable). For time-boxed jobs and tests.
    pub max_units: Option<u64>,
    /// Compute only shard `index` of `count` (0-based) of the study's units and
    /// write a shard file (`<output>.shard-<index>-of-<count>`) for `corrmc merge`.
    pub shard: Option<(u64, u64)>,
    /// Memory budget in bytes for the trials in flight ([`trials_in_flight`]; default
    /// half the available memory). Results do not depend on it.
    pub memory: Option<f64>,
}

/// What a (possibly interrupted) study run reports.
#[derive(Clone, Debug)]
pub struct StudyReport {
    /// The final file if complete, else the `.partial`.
    pub output: PathBuf,
    pub complete: bool,
    /// The signal that stopped the run, if one did.
    pub stopped_by: Option<i32>,
    pub trials: u64,
    /// Trials in units marked done (safe on disk).
    pub trials_done: u64,
    /// Trials computed by this invocation.
    pub trials_computed: u64,
    pub units: u64,
    pub units_done: u64,
    /// Units kept from an earlier run (verified by checksum).
    pub units_kept: u64,
    /// Units marked done whose checksum failed (recomputed).
    pub units_corrupt: u64,
    pub threads: usize,
    pub elapsed_s: f64,
    /// Per-method failures recorded in `/errors` (over the units done).
    pub failures: usize,
}

/// Runs a study and writes its result file (legacy entry point: no resume, no
/// signal handling; an interruption is an error).
pub fn run(spec: &Spec, opts: &RunOptions) -> Result<RunReport, Error> {
    let study = Study::single(spec.clone());
    let r = run_study(
        &study,
        &StudyOptions {
            threads: opts.threads,
            output: opts.output.clone(),
            overwrite: opts.overwrite,
            progress: if opts.progress {
                ProgressMode::Bar
            } else {
                ProgressMode::Hidden
            },
            trials: opts.trials,
            ..Default::default()
        },
    )?;
    if !r.complete {
        return Err(Error::Other(format!(
            "run stopped after {} of {} trials; {} is resumable",
            r.trials_done,
            r.trials,
            r.output.display()
        )));
    }
    Ok(RunReport {
        output: r.output,
        trials: r.trials,
        threads: r.threads,
        elapsed_s: r.elapsed_s,
        failures: r.failures,
    })
}

/// The fingerprint this run would give the study.
pub fn fingerprint(study: &Study, trials: Option<u64>) -> Fingerprint {
    Fingerprint::of(
        &study.text,
        study
            .points
            .iter()
            .map(|p| trials.unwrap_or(p.spec.raw.trials))
            .collect(),
        study
            .points
            .iter()
            .map(|p| p.spec.chunk_trials as u64)
            .collect(),
    )
}

/// The shard file of shard `index` of `count` of the study writing `output`.
pub fn shard_path(output: &Path, index: u64, count: u64) -> PathBuf {
    let mut p = output.as_os_str().to_owned();
    p.push(format!(".shard-{index}-of-{count}"));
    PathBuf::from(p)
}

/// Global unit numbering: the first global index of each point's units, and the total.
pub fn unit_offsets(fp: &Fingerprint) -> (Vec<u64>, u64) {
    let mut base = Vec::with_capacity(fp.trials.len());
    let mut total = 0u64;
    for (&t, &c) in fp.trials.iter().zip(&fp.chunk_trials) {
        base.push(total);
        total += unit_count(t, c);
    }
    (base, total)
}

/// The fingerprint stored in a result file (plain or sweep).
pub fn stored_fingerprint(file: &hdf5::File, path: &Path) -> Result<Fingerprint, Error> {
    let e = |err: hdf5::Error| {
        Error::io(
            path,
            format!("not a resumable corrmc result file (missing study attributes: {err})"),
        )
    };
    let mut trials = Vec::new();
    let mut chunks = Vec::new();
    for g in point_groups(file).map_err(e)? {
        trials.push(num_attr::<u64>(&g, "trials").map_err(e)?);
        chunks.push(num_attr::<u64>(&g, "chunk_trials").map_err(e)?);
    }
    Ok(Fingerprint {
        spec: str_attr(file, "spec").map_err(e)?,
        corrmc_version: str_attr(file, "corrmc_version").map_err(e)?,
        git_revision: str_attr(file, "git_revision").map_err(e)?,
        trials,
        chunk_trials: chunks,
    })
}

/// The groups holding the single-run layout: the root, or `/points/<k>` in order.
pub fn point_groups(file: &hdf5::File) -> hdf5::Result<Vec<hdf5::Group>> {
    if file.link_exists("points") {
        let n: u64 = num_attr(file, "points")?;
        (0..n).map(|k| file.group(&format!("points/{k}"))).collect()
    } else {
        Ok(vec![(**file).clone()])
    }
}

fn check_fingerprint(file: &hdf5::File, path: &Path, want: &Fingerprint) -> Result<(), Error> {
    let have = stored_fingerprint(file, path)?;
    if let Some(diff) = want.difference(&have) {
        let name = str_attr(file, "name").unwrap_or_default();
        let origin = str_attr(file, "spec_origin").unwrap_or_default();
        return Err(Error::io(
            path,
            format!(
                "refusing to resume: this file belongs to another study ('{name}' from {origin}): \
                 {diff}. Pass --overwrite to discard it and start again, or --output to write elsewhere"
            ),
        ));
    }
    Ok(())
}

pub(crate) struct PointRun {
    source: Box<dyn CorrSource>,
    allocators: Vec<Box<dyn Allocator>>,
}

impl PointRun {
    /// The number of per-trial source diagnostics the point records.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub(crate) fn n_diagnostics(&self) -> usize {
        self.source.diagnostics().len()
    }
}

pub(crate) fn prepare(spec: &Spec) -> Result<PointRun, Error> {
    Ok(PointRun {
        source: spec.build_source()?,
        allocators: build_allocators(spec)?,
    })
}

/// What the file records about a point's source and methods (checked by
/// building them, before any file is created).
struct PointInfo {
    describe: String,
    diagnostics: Vec<crate::corr::Diagnostic>,
    notes: Vec<(String, String)>,
}

fn point_info(spec: &Spec) -> Result<PointInfo, Error> {
    let pr = prepare(spec)?;
    Ok(PointInfo {
        describe: pr.source.describe(),
        diagnostics: pr.source.diagnostics(),
        notes: pr
            .allocators
            .iter()
            .filter_map(|a| a.note_description().map(|d| (a.name().to_string(), d)))
            .collect(),
    })
}

fn header<'a>(
    spec: &'a Spec,
    trials: u64,
    describe: &'a str,
    diagnostics: &'a [crate::corr::Diagnostic],
    notes: &'a [(String, String)],
) -> Header<'a> {
    Header {
        spec_text: &spec.text,
        spec_origin: &spec.origin,
        name: &spec.raw.name,
        seed: spec.raw.seed,
        trials,
        assets: spec.raw.assets,
        annualization: spec.raw.annualization,
        source: describe,
        methods: &spec.methods,
        diagnostics,
        notes,
        store_weights: spec.raw.store_weights,
        chunk_trials: spec.chunk_trials,
    }
}

fn strings(v: impl IntoIterator<Item = String>) -> ndarray::Array1<VarLenUnicode> {
    v.into_iter()
        .map(|s| VarLenUnicode::from_str(&s).unwrap())
        .collect()
}

/// Writes the study attributes and every point's datasets into a new result file.
fn write_layout(
    study: &Study,
    infos: &[PointInfo],
    rf: &ResultFile,
    trials: Option<u64>,
    fp: &Fingerprint,
) -> Result<Vec<PointWriter>, Error> {
    let path = rf.partial().to_path_buf();
    let e = h5err(&path);
    let file = rf.file();
    let mut writers = Vec::new();
    if study.is_sweep() {
        let root: &hdf5::Location = file;
        set_str_attr(root, "corrmc_version", env!("CARGO_PKG_VERSION")).map_err(&e)?;
        set_str_attr(root, "git_revision", env!("CORRMC_GIT_REV")).map_err(&e)?;
        set_str_attr(root, "name", &study.name).map_err(&e)?;
        set_str_attr(root, "spec", &study.text).map_err(&e)?;
        set_str_attr(root, "spec_origin", &study.origin).map_err(&e)?;
        set_num_attr(root, "points", study.points.len() as u64).map_err(&e)?;
        set_num_attr(root, "complete", 0u8).map_err(&e)?;
        let g = file.create_group("sweep").map_err(&e)?;
        set_str_attr(
            &g,
            "description",
            "keys: swept spec keys; values[point, key]: the point's value as JSON; \
             spec[point]: the point's resolved spec (run alone, it gives /points/<k> bit for bit)",
        )
        .map_err(&e)?;
        g.new_dataset_builder()
            .with_data(&strings(study.keys.iter().cloned()))
            .create("keys")
            .map_err(&e)?;
        let (p, k) = (study.points.len(), study.keys.len());
        let values = strings(study.points.iter().flat_map(|pt| {
            pt.values
                .iter()
                .map(|(_, v)| serde_json::to_string(v).unwrap_or_default())
                .collect::<Vec<_>>()
        }))
        .into_shape_with_order((p, k))
        .map_err(|err| Error::Other(format!("sweep values: {err}")))?;
        g.new_dataset_builder()
            .with_data(&values)
            .create("values")
            .map_err(&e)?;
        g.new_dataset_builder()
            .with_data(&strings(study.points.iter().map(|pt| pt.spec.text.clone())))
            .create("spec")
            .map_err(&e)?;
        file.create_group("points").map_err(&e)?;
    }
    set_str_attr(file, "fingerprint", &fp.digest()).map_err(&e)?;
    for (k, (pt, info)) in study.points.iter().zip(infos).enumerate() {
        let spec = &pt.spec;
        let t = trials.unwrap_or(spec.raw.trials);
        let h = header(spec, t, &info.describe, &info.diagnostics, &info.notes);
        let group = if study.is_sweep() {
            file.create_group(&format!("points/{k}")).map_err(&e)?
        } else {
            (**file).clone()
        };
        writers.push(PointWriter::create(&group, &h, &path)?);
    }
    file.flush().map_err(&e)?;
    Ok(writers)
}

/// Progress for a terminal (bar) or a batch log (a line every ~10 s or 5 %).
pub(crate) struct Progress {
    mode: ProgressMode,
    bar: indicatif::ProgressBar,
    total: u64,
    base: u64,
    units: u64,
    done: AtomicU64,
    units_done: AtomicU64,
    started: Instant,
    last: Mutex<(Instant, u64)>,
}

impl Progress {
    pub(crate) fn new(
        mode: ProgressMode,
        total: u64,
        base: u64,
        units: u64,
        units_done: u64,
    ) -> Progress {
        let bar = if mode == ProgressMode::Bar {
            let pb = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr(),
            );
            pb.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} trials  {per_sec}  ETA {eta}",
                )
                .unwrap(),
            );
            pb.set_position(base);
            pb
        } else {
            indicatif::ProgressBar::hidden()
        };
        Progress {
            mode,
            bar,
            total,
            base,
            units,
            done: AtomicU64::new(base),
            units_done: AtomicU64::new(units_done),
            started: Instant::now(),
            last: Mutex::new((Instant::now(), base)),
        }
    }

    fn trial(&self) {
        self.add(1);
    }

    /// A unit computed elsewhere (an MPI rank) arrived with its `trials`.
    fn remote_unit(&self, trials: u64) {
        self.unit();
        self.add(trials);
    }

    fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        self.bar.inc(n);
        // The last line is `finish`'s, once the last unit is on disk too.
        if self.mode == ProgressMode::Lines && done < self.total {
            let mut last = self.last.lock().unwrap();
            let step = (self.total / 20).max(1);
            if last.0.elapsed().as_secs_f64() >= 10.0 || done >= last.1 + step {
                *last = (Instant::now(), done);
                drop(last);
                self.line(done);
            }
        }
    }

    fn unit(&self) {
        self.units_done.fetch_add(1, Ordering::Relaxed);
    }

    fn line(&self, done: u64) {
        let secs = self.started.elapsed().as_secs_f64();
        let rate = (done - self.base) as f64 / secs.max(1e-9);
        let eta = if rate > 0.0 {
            format_duration((self.total - done) as f64 / rate)
        } else {
            "?".into()
        };
        eprintln!(
            "corrmc: {done}/{} trials ({}/{} units done), {rate:.1} trials/s, ETA {eta}",
            self.total,
            self.units_done.load(Ordering::Relaxed),
            self.units
        );
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
        let done = self.done.load(Ordering::Relaxed);
        if self.mode == ProgressMode::Lines && done > self.base {
            self.line(done);
        }
    }
}

/// `3h04m`, `5m10s`, `42s`.
pub fn format_duration(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Refuses a journal that belongs to another study or shard, naming what differs.
fn check_journal(path: &Path, want: &Fingerprint, shard: Option<Shard>) -> Result<(), Error> {
    let (have, meta) = Journal::read_head(path)?.ok_or_else(|| {
        Error::io(
            path,
            "cannot reopen: not a corrmc checkpoint journal (damaged header); pass --overwrite to \
             discard it and start again",
        )
    })?;
    if let Some(diff) = want.difference(&have) {
        let name = have
            .spec
            .lines()
            .find_map(|l| l.trim().strip_prefix("name"))
            .map(|l| {
                l.trim_start_matches([' ', '='])
                    .trim()
                    .trim_matches('"')
                    .to_string()
            })
            .unwrap_or_default();
        return Err(Error::io(
            path,
            format!(
                "refusing to resume: this file belongs to another study ('{name}'): {diff}. Pass \
                 --overwrite to discard it and start again, or --output to write elsewhere"
            ),
        ));
    }
    if meta.shard != shard {
        let show = |s: Option<Shard>| {
            s.map_or("the whole study".to_string(), |s| {
                format!("shard {} (units {}..{})", s.label(), s.start, s.end)
            })
        };
        return Err(Error::io(
            path,
            format!(
                "refusing to resume: this file holds {}, this run asks for {}. Pass the same \
                 --shard, or --overwrite to discard it",
                show(meta.shard),
                show(shard)
            ),
        ));
    }
    Ok(())
}

/// Where each unit's rows are: a list of journals and, per (point, unit), the
/// journal's index, payload offset and length.
#[derive(Debug, Default)]
pub struct UnitSources {
    pub files: Vec<PathBuf>,
    pub units: std::collections::BTreeMap<(u32, u64), (usize, u64, u64)>,
    /// Provenance of every run session: (file index, session JSON).
    pub sessions: Vec<(usize, serde_json::Value)>,
}

impl UnitSources {
    /// The units and sessions of one journal.
    pub fn add(&mut self, path: &Path, scan: &crate::journal::Scan) {
        let i = self.files.len();
        self.files.push(path.to_path_buf());
        for (&key, &(off, len)) in &scan.units {
            self.units.insert(key, (i, off, len));
        }
        self.sessions
            .extend(scan.sessions.iter().map(|v| (i, v.clone())));
    }
}

/// Writes `/provenance`: one group per run session, its facts as attributes
/// (groups of attributes only, so that the file's datasets do not depend on
/// where it was computed).
fn write_provenance(file: &hdf5::File, path: &Path, src: &UnitSources) -> Result<(), Error> {
    let e = h5err(path);
    let g = file.create_group("provenance").map_err(&e)?;
    set_str_attr(
        &g,
        "description",
        "one group per run session (each start or resume of a run, shard or MPI rank): host, \
         CPU model, SIMD features and level, threads, start time, shard; run-specific, not part \
         of the results",
    )
    .map_err(&e)?;
    set_num_attr(&g, "sessions", src.sessions.len() as u64).map_err(&e)?;
    for (k, (fi, v)) in src.sessions.iter().enumerate() {
        let s = g.create_group(&k.to_string()).map_err(&e)?;
        let file_name = src.files[*fi]
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        set_str_attr(&s, "file", &file_name).map_err(&e)?;
        if let Some(o) = v.as_object() {
            for (key, val) in o {
                match val {
                    serde_json::Value::String(t) => set_str_attr(&s, key, t).map_err(&e)?,
                    serde_json::Value::Number(n) if n.is_u64() => {
                        set_num_attr(&s, key, n.as_u64().unwrap_or(0)).map_err(&e)?
                    }
                    serde_json::Value::Number(n) => {
                        set_num_attr(&s, key, n.as_f64().unwrap_or(f64::NAN)).map_err(&e)?
                    }
                    other => set_str_attr(&s, key, &other.to_string()).map_err(&e)?,
                }
            }
        }
    }
    Ok(())
}

/// Builds the HDF5 result file from journal records, unit by unit (memory flat
/// in the study size), and moves it into place. `sources` may span several
/// journals (the shards of `corrmc merge`); the file does not depend on which.
fn assemble(
    study: &Study,
    infos: &[PointInfo],
    output: &Path,
    sources: &UnitSources,
    trials: Option<u64>,
    fp: &Fingerprint,
    info: RunInfo,
) -> Result<(PathBuf, usize), Error> {
    let rf = ResultFile::create(output)?;
    let writers = write_layout(study, infos, &rf, trials, fp)?;
    let mut failures = 0;
    for (k, w) in writers.iter().enumerate() {
        for u in 0..w.units() {
            let &(fi, off, len) = sources.units.get(&(k as u32, u)).ok_or_else(|| {
                Error::io(
                    sources.files.first().map_or(output, |f| f.as_path()),
                    format!(
                        "checkpoint journal lost unit {u} of point {k}; resume to recompute it"
                    ),
                )
            })?;
            let rows = crate::journal::read_unit(&sources.files[fi], off, len)?;
            w.write_unit(u, &rows)?;
        }
        failures += w.finish()?;
    }
    write_provenance(rf.file(), rf.partial(), sources)?;
    Ok((rf.finish(info)?, failures))
}

/// Builds the result file of a study from the units in `sources` (every unit
/// must be there): what `corrmc merge` calls after checking the shards. The
/// study is rebuilt from the fingerprint's spec text, so its sources are opened
/// to describe them, as a run does.
pub fn assemble_study(
    study: &Study,
    output: &Path,
    sources: &UnitSources,
    trials: Option<u64>,
    info: RunInfo,
) -> Result<(PathBuf, usize), Error> {
    let fp = fingerprint(study, trials);
    let infos = study
        .points
        .iter()
        .map(|p| point_info(&p.spec))
        .collect::<Result<Vec<_>, Error>>()?;
    assemble(study, &infos, output, sources, trials, &fp, info)
}

/// Other processes computing units of the same study for this one, which owns
/// the journal (MPI rank 0; see `src/mpirun.rs`).
pub trait Peers {
    /// The slice of the global unit range this process computes itself.
    fn my_range(&self, total: u64) -> std::ops::Range<u64>;
    /// Hands out the work once the journal is read: `todo[g]` is true for every
    /// global unit still to compute.
    fn start(&mut self, todo: &[bool]) -> Result<(), Error>;
    /// Appends the units and session records received from the peers to the
    /// journal, returning the units appended; `wait`: block until every peer has
    /// finished (or stopped), else take only what has arrived.
    fn collect(&mut self, journal: &mut Journal, wait: bool) -> Result<Vec<(u32, u64)>, Error>;
}

/// Runs (or resumes) a study: every unit checkpointed to `<output>.partial`, the
/// result file assembled at the end. With [`StudyOptions::shard`], only that
/// slice of the units, into a shard file for `corrmc merge`.
pub fn run_study(study: &Study, opts: &StudyOptions) -> Result<StudyReport, Error> {
    run_study_with(study, opts, None)
}

/// [`run_study`], with units computed by `peers` too (MPI).
pub fn run_study_with(
    study: &Study,
    opts: &StudyOptions,
    mut peers: Option<&mut dyn Peers>,
) -> Result<StudyReport, Error> {
    let threads = check_options(&RunOptions {
        threads: opts.threads,
        trials: opts.trials,
        ..Default::default()
    })?;
    if opts.resume && opts.overwrite {
        return Err(Error::Other(
            "--resume and --overwrite contradict each other: --resume continues the interrupted run, \
             --overwrite discards it; pass one"
                .into(),
        ));
    }
    if let Some((i, k)) = opts.shard {
        check_shard(i, k)?;
        if peers.is_some() {
            return Err(Error::Other(
                "--shard and --mpi are two ways to split a study; pass one (MPI splits it over \
                 its ranks)"
                    .into(),
            ));
        }
    }
    let output = opts.output.clone().unwrap_or_else(|| study.output.clone());
    let fp = fingerprint(study, opts.trials);
    let (offsets, units_total) = unit_offsets(&fp);
    let shard = opts.shard.map(|(i, k)| Shard::of(i, k, units_total));
    let range = shard.map_or(0..units_total, |s| s.start..s.end);
    let in_range = |k: usize, u: u64| range.contains(&(offsets[k] + u));
    // The trials and units this invocation is responsible for.
    let (mut total, mut units_mine) = (0u64, 0u64);
    for (k, (&t, &c)) in fp.trials.iter().zip(&fp.chunk_trials).enumerate() {
        for u in 0..unit_count(t, c) {
            if in_range(k, u) {
                let r = unit_trials(t, c, u);
                total += r.end - r.start;
                units_mine += 1;
            }
        }
    }
    let target = match opts.shard {
        Some((i, k)) => shard_path(&output, i, k),
        None => output.clone(),
    };
    let partial = partial_path(&target);
    let finished = |kept: u64| StudyReport {
        output: target.clone(),
        complete: true,
        stopped_by: None,
        trials: total,
        trials_done: total,
        trials_computed: 0,
        units: units_mine,
        units_done: units_mine,
        units_kept: kept,
        units_corrupt: 0,
        threads,
        elapsed_s: 0.0,
        failures: 0,
    };
    if opts.resume && target.exists() && !partial.exists() {
        // Re-running a finished job with --resume is a no-op (e.g. a requeued batch task).
        if shard.is_some() {
            check_journal(&target, &fp, shard)?;
            let scan = Journal::scan(&target)?;
            let all_there = scan
                .units
                .keys()
                .filter(|&&(k, u)| in_range(k as usize, u))
                .count() as u64
                == units_mine;
            if scan.done.is_some() && scan.corrupt == 0 && all_there {
                return Ok(finished(units_mine));
            }
            // Damaged since it was finished: reopen it as a partial and recompute what failed.
            std::fs::rename(&target, &partial)
                .map_err(|e| Error::io(&target, format!("cannot reopen the shard: {e}")))?;
        } else {
            let f = hdf5::File::open(&output)
                .map_err(|err| Error::io(&output, format!("cannot open: {err}")))?;
            check_fingerprint(&f, &output, &fp)?;
            if num_attr::<u8>(&f, "complete").unwrap_or(0) != 1 {
                return Err(Error::io(
                    &output,
                    "exists but is not marked complete; pass --overwrite to start again",
                ));
            }
            return Ok(finished(units_mine));
        }
    }
    let resuming = opts.resume && partial.exists();
    if resuming {
        check_journal(&partial, &fp, shard)?;
    }
    for p in &study.points {
        p.spec.check_methods()?;
    }
    if !opts.force {
        for p in &study.points {
            check_memory(
                &p.spec,
                threads,
                opts.trials.unwrap_or(p.spec.raw.trials),
                opts.memory,
            )?;
        }
        crate::plan::check_resources(study, opts.trials, threads, &output)?;
    }
    // Build every point's source and methods now: a bad one fails before any file exists.
    let infos = study
        .points
        .iter()
        .map(|p| point_info(&p.spec))
        .collect::<Result<Vec<_>, Error>>()?;
    if partial.exists() && !opts.overwrite && !resuming {
        return Err(Error::io(
            &partial,
            "an interrupted run's results are here; pass --resume to continue it, or \
             --overwrite to discard them and start again",
        ));
    }
    // Not an existing file unless --overwrite, a writable folder (created if missing).
    crate::output::check_output(&target, opts.overwrite)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Other(format!("cannot start {threads} worker threads: {e}")))?;
    // Which units are safely on disk.
    let mut done: Vec<Vec<bool>> = fp
        .trials
        .iter()
        .zip(&fp.chunk_trials)
        .map(|(&t, &c)| vec![false; unit_count(t, c) as usize])
        .collect();
    let (mut kept, mut corrupt, mut kept_trials) = (0u64, 0u64, 0u64);
    let mut journal = if resuming {
        let scan = Journal::scan(&partial)?;
        corrupt = scan.corrupt;
        for &(k, u) in scan.units.keys() {
            if !in_range(k as usize, u) {
                continue;
            }
            if let Some(d) = done.get_mut(k as usize).and_then(|d| d.get_mut(u as usize)) {
                *d = true;
                kept += 1;
                let r = unit_trials(fp.trials[k as usize], fp.chunk_trials[k as usize], u);
                kept_trials += r.end - r.start;
            }
        }
        Journal::reopen(&partial, scan.valid_end)?
    } else {
        if partial.exists() {
            std::fs::remove_file(&partial)
                .map_err(|e| Error::io(&partial, format!("cannot remove: {e}")))?;
        }
        let meta = Meta {
            spec_origin: study.origin.clone(),
            spec_base: study.base.as_ref().map(|b| b.display().to_string()),
            cwd: std::env::current_dir()
                .ok()
                .map(|d| d.display().to_string()),
            trials_override: opts.trials,
            shard,
        };
        Journal::create(&partial, &fp, &meta)?
    };
    journal.append_session(&crate::provenance::session(
        threads,
        shard.map(|s| s.label()),
    ))?;
    // The units this process computes: its shard, or its MPI rank's slice.
    let mine = peers
        .as_ref()
        .map_or(range.clone(), |p| p.my_range(units_total));
    if let Some(p) = peers.as_deref_mut() {
        let mut todo = vec![false; units_total as usize];
        for (k, d) in done.iter().enumerate() {
            for (u, &dn) in d.iter().enumerate() {
                todo[(offsets[k] + u as u64) as usize] = !dn;
            }
        }
        p.start(&todo)?;
    }
    let _guard = opts.handle_signals.then(stop::install);
    let progress = Progress::new(opts.progress, total, kept_trials, units_mine, kept);
    let started = Instant::now();
    let mut trials_done = kept_trials;
    let mut units_done = kept;
    let mut computed = 0u64;
    let mut stopped_by = None;
    let mut halted = false;
    let computes = |k: usize, u: u64| mine.contains(&(offsets[k] + u));
    // Marks units received from the peers as done.
    let received = |got: Vec<(u32, u64)>,
                    done: &mut Vec<Vec<bool>>,
                    trials_done: &mut u64,
                    units_done: &mut u64| {
        for (k, u) in got {
            let (k, r) = (
                k as usize,
                unit_trials(fp.trials[k as usize], fp.chunk_trials[k as usize], u),
            );
            if let Some(d) = done.get_mut(k).and_then(|d| d.get_mut(u as usize))
                && !*d
            {
                *d = true;
                *trials_done += r.end - r.start;
                *units_done += 1;
                progress.remote_unit(r.end - r.start);
            }
        }
    };
    'points: for (k, pt) in study.points.iter().enumerate() {
        let (t, c) = (fp.trials[k], fp.chunk_trials[k]);
        if (0..unit_count(t, c)).all(|u| done[k][u as usize] || !computes(k, u)) {
            continue;
        }
        let spec = &pt.spec;
        let pr = prepare(spec)?;
        for u in 0..unit_count(t, c) {
            if done[k][u as usize] || !computes(k, u) {
                continue;
            }
            if let Some(s) = stop::requested().filter(|_| opts.handle_signals) {
                stopped_by = Some(s);
                break 'points;
            }
            if opts.max_units.is_some_and(|m| computed >= m) {
                halted = true;
                break 'points;
            }
            let r = unit_trials(t, c, u);
            let in_flight = trials_in_flight(spec, threads, t, opts.memory);
            let n_diag = infos[k].diagnostics.len();
            let compute = || {
                compute_unit(
                    spec,
                    &pr,
                    &pool,
                    r.clone(),
                    in_flight,
                    n_diag,
                    opts.handle_signals,
                    &progress,
                )
            };
            let computed_rows = match peers.as_deref_mut() {
                None => compute()?,
                // MPI rank 0: the unit runs on another thread while this (the only thread
                // that may call MPI) keeps receiving the other ranks' units, so that a rank
                // never waits on a blocking send for rank 0 to finish its own unit.
                Some(p) => std::thread::scope(|sc| -> Result<Option<UnitRows>, Error> {
                    let h = sc.spawn(compute);
                    while !h.is_finished() {
                        let got = p.collect(&mut journal, false)?;
                        received(got, &mut done, &mut trials_done, &mut units_done);
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })?,
            };
            let Some(rows) = computed_rows else {
                // Stopped mid-unit: abandon it (it is recomputed on resume).
                stopped_by = stop::requested();
                break 'points;
            };
            journal.append(k as u32, u, &rows)?;
            done[k][u as usize] = true;
            trials_done += r.end - r.start;
            units_done += 1;
            computed += 1;
            progress.unit();
        }
    }
    if let Some(p) = peers {
        let got = p.collect(&mut journal, true)?;
        received(got, &mut done, &mut trials_done, &mut units_done);
    }
    progress.finish();
    let all_done = done.iter().enumerate().all(|(k, d)| {
        d.iter()
            .enumerate()
            .all(|(u, &x)| x || !in_range(k, u as u64))
    });
    let elapsed_s = started.elapsed().as_secs_f64();
    let mut report = StudyReport {
        output: partial.clone(),
        complete: false,
        stopped_by,
        trials: total,
        trials_done,
        trials_computed: trials_done - kept_trials,
        units: units_mine,
        units_done,
        units_kept: kept,
        units_corrupt: corrupt,
        threads,
        elapsed_s,
        failures: 0,
    };
    if stopped_by.is_some() || halted || !all_done {
        report.stopped_by = report.stopped_by.or_else(stop::requested);
        return Ok(report);
    }
    if let Some(s) = shard {
        journal.append_done(&serde_json::json!({
            "finished": crate::provenance::now(),
            "units": s.end - s.start,
            "elapsed_s": elapsed_s,
        }))?;
        drop(journal);
        std::fs::rename(&partial, &target).map_err(|e| {
            Error::io(
                &target,
                format!("cannot move the finished shard into place: {e}"),
            )
        })?;
        report.output = target;
        report.complete = true;
        return Ok(report);
    }
    drop(journal);
    let mut sources = UnitSources::default();
    sources.add(&partial, &Journal::scan(&partial)?);
    let (path, failures) = assemble(
        study,
        &infos,
        &output,
        &sources,
        opts.trials,
        &fp,
        RunInfo { threads, elapsed_s },
    )?;
    // The result file is in place and complete: the journal has served.
    std::fs::remove_file(&partial)
        .map_err(|e| Error::io(&partial, format!("cannot remove the finished journal: {e}")))?;
    report.output = path;
    report.complete = true;
    report.failures = failures;
    Ok(report)
}

/// Refuses a shard argument outside `0 <= index < count`.
pub fn check_shard(index: u64, count: u64) -> Result<(), Error> {
    if count == 0 || index >= count || count > 1_000_000 {
        return Err(Error::Other(format!(
            "--shard {index}/{count}: expected INDEX/COUNT with 0 <= INDEX < COUNT <= 1000000 \
             (0-based, e.g. --shard 0/4 .. --shard 3/4; in a SLURM array, \
             --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT with --array=0-3)"
        )));
    }
    Ok(())
}

/// Computes the trials `r` of one unit into its rows, `in_flight` trials at a time
/// (None: stopped by a signal).
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute_unit(
    spec: &Spec,
    pr: &PointRun,
    pool: &rayon::ThreadPool,
    r: std::ops::Range<u64>,
    in_flight: u64,
    n_diag: usize,
    handle_signals: bool,
    progress: &Progress,
) -> Result<Option<UnitRows>, Error> {
    let mut results: Vec<TrialResult> = Vec::with_capacity((r.end - r.start) as usize);
    for start in (r.start..r.end).step_by(in_flight.max(1) as usize) {
        let sub = start..(start + in_flight.max(1)).min(r.end);
        // A batched source (CorrGAN: inference and repair cost as much as a trial): one task
        // per source batch, which draws its matrices, then computes its trials. A worker that
        // finishes its trials takes the next batch (or steals trials) instead of waiting for
        // every batch of the chunk to be drawn, so the source overlaps with the trial work.
        // A source drawing one matrix at a time (microseconds each) draws the chunk's
        // matrices first, in parallel: interleaving them with the trials measured ~10 % more
        // system time (allocation pattern) for nothing to overlap. Trial t's result depends
        // only on (seed, t) and its matrix, which depends only on (seed, t): the grouping
        // changes no number.
        let trial = |t: u64, s: CorrSample| -> Result<Option<TrialResult>, Error> {
            if handle_signals && stop::requested().is_some() {
                return Ok(None);
            }
            let res = run_trial(spec, &pr.allocators, t, s, spec.raw.store_weights)?;
            progress.trial();
            Ok(Some(res))
        };
        let batched = pr.source.preferred_batch() > 1;
        let part: Result<Vec<Vec<Option<TrialResult>>>, Error> = pool.install(|| {
            if batched {
                source_batches(pr.source.as_ref(), sub.clone())
                    .into_par_iter()
                    .map(|batch| {
                        if handle_signals && stop::requested().is_some() {
                            return Ok(vec![None]);
                        }
                        let samples = pr.source.sample_batch(spec.raw.seed, batch.clone())?;
                        samples
                            .into_par_iter()
                            .enumerate()
                            .map(|(i, s)| trial(batch.start + i as u64, s))
                            .collect()
                    })
                    .collect()
            } else {
                let samples: Vec<CorrSample> = sub
                    .clone()
                    .into_par_iter()
                    .map(|t| pr.source.sample(spec.raw.seed, t))
                    .collect::<Result<_, Error>>()?;
                let done: Result<Vec<Option<TrialResult>>, Error> = samples
                    .into_par_iter()
                    .enumerate()
                    .map(|(i, s)| trial(sub.start + i as u64, s))
                    .collect();
                Ok(vec![done?])
            }
        });
        let part = part?.into_iter().flatten();
        let Some(part) = part.collect::<Option<Vec<TrialResult>>>() else {
            return Ok(None);
        };
        results.extend(part);
    }
    Ok(Some(UnitRows::from_results(
        r.start,
        &results,
        spec.methods.len(),
        spec.raw.assets,
        spec.raw.store_weights,
        n_diag,
    )))
}
