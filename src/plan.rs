//! `corrmc plan`: what a study will cost before it runs, and the resource check
//! `run` makes (refusing, unless `--force`, a study that cannot fit).
//!
//! Cost model (bytes; n assets, M methods, c = chunk_trials, T trials, P threads,
//! T_is/T_oos the path lengths), documented in README "Sweeps and checkpoints":
//! - peak memory = 64 MiB (process, libraries, HDF5 caches) + the largest point's
//!   [`crate::engine::estimate_memory`] (per worker one trial's paths and matrices,
//!   plus the unit's sampled matrices and results in flight) + `2·c·M·n·8` with
//!   stored weights (results and their rows) + the source's resident data
//!   (file/bank size on disk, CorrGAN model size plus `3·batch·n²·8`). Points run
//!   one after another.
//! - output size (uncompressed, an upper bound: deflate only shrinks it) =
//!   Σ points `T·M·((N_METRICS + 2)·8 + 2)` (N_METRICS = 14: `T·M·130`) +
//!   `T·M·n·8` with weights + `T·8` per source diagnostic, plus the error
//!   messages, plus the similarity sums: per unit and block of 100 trials it
//!   touches (at most units + K, K = ⌈T/100⌉) `2·M(M+1)/2·24` (i128 sum and u64
//!   count per side and pair), and the final `/method_similarity*` `(K + 4)·M²·8`.
//! - CPU time: measured by running a few trials of every point on one thread
//!   (`calibrate`), the same trials a run starts with.

use crate::Error;
use crate::checkpoint::unit_count;
use crate::metrics::N_METRICS;
use crate::spec::{SourceSpec, Spec};
use crate::sweep::Study;
use std::path::Path;
use std::time::Instant;

const MIB: u64 = 1 << 20;
/// Process, libraries and HDF5 chunk caches.
const BASE_MEMORY: u64 = 64 * MIB;

/// Estimates of one grid point.
#[derive(Clone, Debug)]
pub struct PointEstimate {
    pub trials: u64,
    pub units: u64,
    pub chunk_trials: u64,
    pub memory: u64,
    pub output: u64,
}

/// Estimates of a study.
#[derive(Clone, Debug)]
pub struct Estimate {
    pub points: Vec<PointEstimate>,
    pub trials: u64,
    pub units: u64,
    pub peak_memory: u64,
    pub output: u64,
}

fn file_size(p: &str) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

fn point_estimate(spec: &Spec, trials: u64, threads: usize) -> PointEstimate {
    let n = spec.raw.assets as u64;
    let m = spec.methods.len() as u64;
    let c = (spec.chunk_trials as u64).min(trials).max(1);
    let per_row = m * ((N_METRICS as u64 + 2) * 8 + 2);
    let weights_row = if spec.raw.store_weights { m * n * 8 } else { 0 };
    let source = match &spec.raw.source {
        SourceSpec::File { path, .. } | SourceSpec::Bank { path, .. } => file_size(path),
        SourceSpec::Corrgan { model, batch, .. } => {
            file_size(model) + 3 * (*batch as u64) * n * n * 8
        }
        _ => 0,
    };
    let diagnostics = match &spec.raw.source {
        SourceSpec::Corrgan { .. } | SourceSpec::File { .. } | SourceSpec::Bank { .. } => 4,
        _ => 0,
    };
    let memory = crate::engine::estimate_memory(spec, threads, trials, None) as u64
        + c * 2 * weights_row
        + source;
    let units = unit_count(trials, c);
    let blocks = trials.div_ceil(crate::verdict::taxonomy::SIMILARITY_BLOCK);
    let pairs = m * (m + 1) / 2;
    let similarity = (units.saturating_add(blocks))
        .saturating_mul(2 * pairs * 24)
        .saturating_add((blocks + 4).saturating_mul(m * m * 8));
    let output = trials
        .saturating_mul(per_row + weights_row + diagnostics * 8)
        .saturating_add(units * 9)
        .saturating_add(similarity);
    PointEstimate {
        trials,
        units,
        chunk_trials: c,
        memory,
        output,
    }
}

/// The cost-model estimates of a study run on `threads` workers.
pub fn estimate(study: &Study, trials: Option<u64>, threads: usize) -> Estimate {
    let points: Vec<PointEstimate> = study
        .points
        .iter()
        .map(|p| point_estimate(&p.spec, trials.unwrap_or(p.spec.raw.trials), threads))
        .collect();
    Estimate {
        trials: points.iter().map(|p| p.trials).fold(0, u64::saturating_add),
        units: points.iter().map(|p| p.units).sum(),
        peak_memory: BASE_MEMORY + points.iter().map(|p| p.memory).max().unwrap_or(0),
        output: points.iter().map(|p| p.output).fold(0, u64::saturating_add),
        points,
    }
}

/// Seconds per trial of each point on one thread, from its first trials (at
/// least one, more until about `budget_s` per point or `max_trials`).
pub fn calibrate(study: &Study, budget_s: f64, max_trials: u64) -> Result<Vec<(f64, u64)>, Error> {
    let mut out = Vec::new();
    for p in &study.points {
        let spec = &p.spec;
        let source = spec.build_source()?;
        let allocators = crate::engine::build_allocators(spec)?;
        let started = Instant::now();
        let mut n = 0u64;
        while n < max_trials.min(spec.raw.trials)
            && (n == 0 || started.elapsed().as_secs_f64() < budget_s)
        {
            let s = source.sample(spec.raw.seed, n)?;
            crate::engine::run_trial(spec, &allocators, n, s, spec.raw.store_weights)?;
            n += 1;
        }
        out.push((started.elapsed().as_secs_f64() / n as f64, n));
    }
    Ok(out)
}

fn available_memory() -> Option<u64> {
    crate::engine::available_memory().map(|b| b as u64)
}

fn free_disk(path: &Path) -> Option<u64> {
    crate::output::free_disk(path).map(|b| b as u64)
}

/// `1.5 GB`, `340 MB`, `12 kB` (decimal units).
pub fn bytes(b: u64) -> String {
    let b = b as f64;
    for (unit, scale) in [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)] {
        if b >= scale {
            return format!("{:.1} {unit}", b / scale);
        }
    }
    format!("{b} B")
}

/// Refuses a study whose estimated peak memory or output size exceeds the free
/// memory or the free disk at `output`, saying what to change.
pub fn check_resources(
    study: &Study,
    trials: Option<u64>,
    threads: usize,
    output: &Path,
) -> Result<(), Error> {
    let est = estimate(study, trials, threads);
    if let Some(avail) = available_memory()
        && est.peak_memory > avail
    {
        return Err(Error::Other(format!(
            "{}: estimated peak memory {} exceeds the {} available; lower chunk_trials (a unit's \
             matrices are held at once), assets or --threads, or pass --force to run anyway \
             (see `corrmc plan`)",
            study.origin,
            bytes(est.peak_memory),
            bytes(avail)
        )));
    }
    // At the end the journal and the assembled result file coexist: twice the rows.
    let existing = std::fs::metadata(crate::output::partial_path(output)).map_or(0, |m| m.len());
    let need = est.output.saturating_mul(2).saturating_sub(existing);
    if let Some(free) = free_disk(output)
        && need > free
    {
        return Err(Error::Other(format!(
            "{}: estimated output size {} ({} trials; twice that while the checkpoint journal \
             is assembled into the result file) exceeds the {} free at {}; lower trials, \
             set store_weights = false, split the sweep, or pass --force to run anyway (see \
             `corrmc plan`)",
            study.origin,
            bytes(est.output),
            est.trials,
            bytes(free),
            output.display()
        )));
    }
    Ok(())
}

/// The plan as text: one row per point, then the totals.
pub fn render(
    study: &Study,
    est: &Estimate,
    calibration: Option<&[(f64, u64)]>,
    threads: usize,
    output: &Path,
) -> String {
    let mut t = format!(
        "study '{}' ({}): {} point{}, {} trials, {} work units -> {}\n",
        study.name,
        study.origin,
        study.points.len(),
        if study.points.len() == 1 { "" } else { "s" },
        est.trials,
        est.units,
        output.display()
    );
    t += &format!(
        "{:>5} {:>9} {:>7} {:>6} {:>7} {:>8} {:>10}  {}\n",
        "point", "trials", "units", "assets", "methods", "s/trial", "output", "values"
    );
    for (k, (p, e)) in study.points.iter().zip(&est.points).enumerate() {
        t += &format!(
            "{:>5} {:>9} {:>7} {:>6} {:>7} {:>8} {:>10}  {}\n",
            k,
            e.trials,
            e.units,
            p.spec.raw.assets,
            p.spec.methods.len(),
            calibration.map_or("-".into(), |c| format!("{:.4}", c[k].0)),
            bytes(e.output),
            if p.values.is_empty() {
                "-".into()
            } else {
                p.label()
            }
        );
    }
    let mem = available_memory().map_or(String::new(), |a| format!(" of {} available", bytes(a)));
    let disk = free_disk(output).map_or(String::new(), |a| format!(" of {} free", bytes(a)));
    t += &format!(
        "peak memory ~ {}{mem} on {threads} threads; output <= {} uncompressed{disk}\n",
        bytes(est.peak_memory),
        bytes(est.output)
    );
    if let Some(c) = calibration {
        let cpu: f64 = c
            .iter()
            .zip(&est.points)
            .map(|((s, _), e)| s * e.trials as f64)
            .sum();
        let n: u64 = c.iter().map(|x| x.1).sum();
        t += &format!(
            "CPU time ~ {} ({} wall on {threads} threads), from {n} calibration trials\n",
            crate::engine::format_duration(cpu),
            crate::engine::format_duration(cpu / threads as f64)
        );
    }
    t
}

/// How `run --shard i/count` splits the study: per shard its global unit range,
/// trials and (with a calibration) expected CPU and wall time on `threads`.
pub fn render_shards(
    study: &Study,
    trials: Option<u64>,
    count: u64,
    calibration: Option<&[(f64, u64)]>,
    threads: usize,
    output: &Path,
) -> String {
    let fp = crate::engine::fingerprint(study, trials);
    let (offsets, total) = crate::engine::unit_offsets(&fp);
    let mut t = format!(
        "shards: {count} over {total} units (contiguous slices of units numbered point by point; \
         `corrmc run SPEC --shard i/{count}` writes {}.shard-i-of-{count})\n",
        output.display()
    );
    t += &format!(
        "{:>7} {:>15} {:>9} {:>8} {:>10} {:>10}\n",
        "shard", "units", "trials", "points", "CPU", "wall"
    );
    let mut worst: f64 = 0.0;
    for i in 0..count {
        let s = crate::journal::Shard::of(i, count, total);
        let (mut n, mut cpu) = (0u64, 0f64);
        let mut points = std::collections::BTreeSet::new();
        for (k, (&tk, &c)) in fp.trials.iter().zip(&fp.chunk_trials).enumerate() {
            for u in 0..unit_count(tk, c) {
                if (s.start..s.end).contains(&(offsets[k] + u)) {
                    let r = crate::checkpoint::unit_trials(tk, c, u);
                    n += r.end - r.start;
                    points.insert(k);
                    cpu += calibration.map_or(0.0, |cal| cal[k].0 * (r.end - r.start) as f64);
                }
            }
        }
        let wall = cpu / threads as f64;
        worst = worst.max(wall);
        let fmt = |x: f64| {
            if calibration.is_some() {
                crate::engine::format_duration(x)
            } else {
                "-".into()
            }
        };
        t += &format!(
            "{:>7} {:>15} {:>9} {:>8} {:>10} {:>10}\n",
            s.label(),
            format!("{}..{}", s.start, s.end),
            n,
            points.len(),
            fmt(cpu),
            fmt(wall)
        );
    }
    if calibration.is_some() {
        t += &format!(
            "longest shard ~ {} wall on {threads} threads each\n",
            crate::engine::format_duration(worst)
        );
    }
    if total < 4 * count {
        // A unit is the smallest piece of work: with few units per shard the slices are
        // uneven or empty (data do not depend on chunk_trials, only the fingerprint does).
        let trials: u64 = fp.trials.iter().sum();
        t += &format!(
            "note: {total} units for {count} shards ({}); for balanced shards set chunk_trials to \
             at most ~{} (4 units per shard)\n",
            if total < count {
                format!("{} shards get no work", count - total)
            } else {
                "uneven slices".to_string()
            },
            (trials / (4 * count)).max(1)
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
name = "p"
seed = 1
trials = 1000
assets = 10
in_sample_days = 30
out_of_sample_days = 30
methods = ["EW", "HRP"]
chunk_trials = 100
[source]
kind = "uniform"
"#;

    #[test]
    fn cost_model_scales_as_documented() {
        let s = Study::parse(SPEC, "p.toml").unwrap();
        let e = estimate(&s, None, 2);
        assert_eq!(e.trials, 1000);
        assert_eq!(e.units, 10);
        // 2 methods × (14 metrics + 2 f64 + 2 status bytes) per trial, 9 bytes per unit;
        // the similarity sums of 3 pairs on 2 sides for (10 units + 10 blocks), the
        // final 2×2 similarity matrices (10 blocks + 4).
        let sim = (10 + 10) * 2 * 3 * 24 + (10 + 4) * 4 * 8;
        assert_eq!(e.output, 1000 * 2 * (16 * 8 + 2) + 10 * 9 + sim);
        let w = Study::parse(
            &SPEC.replace("chunk_trials", "store_weights = true\nchunk_trials"),
            "p.toml",
        )
        .unwrap();
        assert_eq!(estimate(&w, None, 2).output - e.output, 1000 * 2 * 10 * 8);
        // Memory does not grow with trials, output does.
        let e2 = estimate(&s, Some(100_000), 2);
        assert_eq!(e2.peak_memory, e.peak_memory);
        assert!(e2.output > 90 * e.output);
    }

    #[test]
    fn absurd_studies_are_refused_with_advice() {
        let s = Study::parse(SPEC, "p.toml").unwrap();
        let dir = tempfile::tempdir().unwrap();
        check_resources(&s, None, 2, &dir.path().join("x.h5")).unwrap();
        let e = check_resources(&s, Some(1_000_000_000_000), 2, &dir.path().join("x.h5"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("output size") && e.contains("lower trials") && e.contains("--force"),
            "{e}"
        );
        // n = 20000 is a valid spec but 100 such matrices in flight alone need 320 GB.
        let big = Study::parse(&SPEC.replace("assets = 10", "assets = 20000"), "p.toml").unwrap();
        let e = check_resources(&big, None, 2, &dir.path().join("x.h5"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("peak memory") && e.contains("chunk_trials"),
            "{e}"
        );
    }
}
