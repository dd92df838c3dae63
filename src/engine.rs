//! The Monte Carlo loop: rayon-parallel over trials, streamed to HDF5 in chunks.
//!
//! Reproducibility: trial *i* draws only from streams keyed by (seed, i) (see
//! [`crate::rng`]), every kernel is sequential inside a trial, and chunks are
//! written in trial order, so the metric datasets are bit-identical for any
//! thread count or chunk size.

use crate::Error;
use crate::alloc::{self, Allocator, Context, Estimate};
use crate::corr::{CorrSample, CorrSource};
use crate::error::MethodError;
use crate::metrics::{N_METRICS, measure};
use crate::output::{Header, RunInfo, TrialResult, Writer};
use crate::simulate::simulate;
use crate::spec::Spec;
use crate::verdict::taxonomy::portfolio_correlations;
use ndarray::Array1;
use rayon::prelude::*;
use std::path::PathBuf;
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
    let data = simulate(sample.corr, &spec.sim, seed, trial)
        .map_err(|m| Error::matrix(format!("trial {trial}"), m))?;
    let est_is = Estimate::new(data.cov_is.clone());
    let est_oos = Estimate::new(data.cov_oos.clone());
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
        similarity: None,
    };
    let mut kept: Vec<Option<Array1<f64>>> = Vec::with_capacity(m);
    let weights =
        |a: &dyn Allocator, est: &Estimate, oos: bool| -> Result<(Array1<f64>, f64), MethodError> {
            let ctx = Context {
                seed,
                trial,
                out_of_sample: oos,
            };
            let (w, note) = a.allocate_noted(est, &ctx)?;
            alloc::check_weights(&w, n)?;
            Ok((w, note))
        };
    for (mi, a) in allocators.iter().enumerate() {
        let noted = weights(a.as_ref(), &est_is, false);
        res.notes.push(noted.as_ref().map_or(f64::NAN, |x| x.1));
        let w_is = noted.map(|x| x.0);
        let w_oos = weights(a.as_ref(), &est_oos, true).map(|x| x.0);
        let code =
            |r: &Result<Array1<f64>, MethodError>| r.as_ref().map_or_else(|e| e.kind.code(), |_| 0);
        res.status.push(code(&w_is));
        res.status_oos.push(code(&w_oos));
        match &w_is {
            Ok(w) => res.metrics.push(measure(
                w,
                w_oos.as_ref().ok(),
                &data,
                spec.raw.annualization,
            )),
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
    res.similarity = Some([
        portfolio_correlations(&kept, data.cov_oos.view()),
        portfolio_correlations(&kept, data.cov_is.view()),
    ]);
    Ok(res)
}

/// Draws the matrices of trials `range` in source-preferred batches, in parallel.
fn sample_range(
    source: &dyn CorrSource,
    seed: u64,
    range: std::ops::Range<u64>,
) -> Result<Vec<CorrSample>, Error> {
    let b = source.preferred_batch().max(1) as u64;
    let starts: Vec<u64> = (range.start..range.end).step_by(b as usize).collect();
    let batches: Result<Vec<Vec<CorrSample>>, Error> = starts
        .par_iter()
        .map(|&s| source.sample_batch(seed, s..(s + b).min(range.end)))
        .collect();
    Ok(batches?.into_iter().flatten().collect())
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

/// Runs a study and writes its result file.
pub fn run(spec: &Spec, opts: &RunOptions) -> Result<RunReport, Error> {
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        return Err(Error::Other("--threads must be at least 1".into()));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Other(format!("cannot start {threads} worker threads: {e}")))?;
    let trials = opts.trials.unwrap_or(spec.raw.trials);
    let source = spec.build_source()?;
    let allocators = build_allocators(spec)?;
    let output = opts.output.clone().unwrap_or_else(|| spec.output.clone());
    let describe = source.describe();
    let notes: Vec<(String, String)> = allocators
        .iter()
        .filter_map(|a| a.note_description().map(|d| (a.name().to_string(), d)))
        .collect();
    let diagnostics = source.diagnostics();
    let header = Header {
        spec_text: &spec.text,
        spec_origin: &spec.origin,
        name: &spec.raw.name,
        seed: spec.raw.seed,
        trials,
        assets: spec.raw.assets,
        annualization: spec.raw.annualization,
        source: &describe,
        methods: &spec.methods,
        diagnostics: &diagnostics,
        notes: &notes,
        store_weights: spec.raw.store_weights,
        chunk_trials: spec.chunk_trials,
    };
    let mut writer = Writer::create(&output, &header, opts.overwrite)?;
    let bar = if opts.progress {
        let pb = indicatif::ProgressBar::with_draw_target(
            Some(trials),
            indicatif::ProgressDrawTarget::stderr(),
        );
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} trials  {per_sec}  ETA {eta}",
            )
            .unwrap(),
        );
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut failures = 0;
    let chunk = spec.chunk_trials as u64;
    let mut start = 0u64;
    while start < trials {
        let end = (start + chunk).min(trials);
        let results: Result<Vec<TrialResult>, Error> = pool.install(|| {
            let samples = sample_range(source.as_ref(), spec.raw.seed, start..end)?;
            samples
                .into_par_iter()
                .enumerate()
                .map(|(k, s)| {
                    let r = run_trial(
                        spec,
                        &allocators,
                        start + k as u64,
                        s,
                        spec.raw.store_weights,
                    );
                    bar.inc(1);
                    r
                })
                .collect()
        });
        let results = results?;
        failures += results.iter().map(|r| r.errors.len()).sum::<usize>();
        writer.write_chunk(start as usize, &results)?;
        start = end;
    }
    bar.finish_and_clear();
    let elapsed_s = started.elapsed().as_secs_f64();
    let output = writer.finish(RunInfo { threads, elapsed_s })?;
    Ok(RunReport {
        output,
        trials,
        threads,
        elapsed_s,
        failures,
    })
}
