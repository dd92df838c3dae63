//! The report's "stylized facts of the correlation matrices used" section.
//!
//! A result file does not store the true correlation matrices, but it stores what
//! made them: every study group's resolved spec text (`spec` attribute) and seed,
//! and a trial's matrix depends only on (seed, trial) (the [`CorrSource`] contract).
//! The report therefore rebuilds the source from the stored spec
//! ([`crate::spec::Spec::build_source`], as `corrmc run` does) and samples the
//! matrices of the first trials that were run, then computes the facts of
//! [`crate::inspect`] (Marti, "CorrGAN", ICASSP 2020, §4): mean correlation,
//! first-eigenvalue share, Perron–Frobenius share, MST degrees, cophenetic
//! correlations. `corrmc inspect SPEC.toml --count N` on the same spec gives the
//! same numbers (trials 0..N, tested to 1e-12).
//!
//! How many matrices: the first `--facts-trials` trials run (default
//! [`DEFAULT_FACTS_TRIALS`] = 200), at most `FACTS_WORK / n³` of them (at least one)
//! because each costs an n × n eigendecomposition and two linkages: 200 up to
//! n ≈ 270, 62 at n = 400, 4 at n = 1000, 1 at n = 2000.
//!
//! When the source cannot be rebuilt (a file or bank source whose file moved, a
//! model no longer found, a spec this version no longer accepts) the section says
//! why and the report still renders. When the rebuilt source describes itself
//! differently from the recorded `source` attribute, the section says so too.

use crate::Error;
use crate::corr::{CorrSample, CorrSource};
use crate::inspect::{FactsSummary, matrix_facts, summarize};
use crate::verdict::study::{read_str_attr, read_u64_attr};
use rayon::prelude::*;
use serde::Serialize;
use std::path::Path;

/// Default number of trials whose matrices the report samples per study group.
pub const DEFAULT_FACTS_TRIALS: usize = 200;

/// Cap on `matrices × n³`: the facts of one matrix cost an O(n³) eigendecomposition.
pub const FACTS_WORK: f64 = 4e9;

/// The facts of one study group's matrices, or why there are none.
#[derive(Clone, Debug, Serialize)]
pub struct SourceFacts {
    pub group: String,
    /// The source as the run recorded it (`source` attribute).
    pub recorded_source: String,
    /// The rebuilt source's description (empty when it could not be rebuilt).
    pub rebuilt_source: String,
    /// Whether the two descriptions agree.
    pub matches_record: bool,
    pub seed: u64,
    /// Trials sampled: the first `trials_used` trials that were run, from
    /// `first_trial` to `last_trial`.
    pub trials_used: usize,
    pub first_trial: Option<u64>,
    pub last_trial: Option<u64>,
    /// The summary (absent when the source could not be rebuilt).
    pub facts: Option<FactsSummary>,
    /// Why there are no facts.
    pub error: Option<String>,
    /// For a sweep point whose source, dimension, seed and trials equal an earlier
    /// point's: that point's index (the facts are the same matrices', copied).
    pub same_as_point: Option<usize>,
}

/// How many of `run` trials to sample at dimension `n` when `requested` are asked for.
pub fn trials_to_sample(requested: usize, run: usize, n: usize) -> usize {
    let cap = (FACTS_WORK / (n.max(2) as f64).powi(3)).floor().max(1.0) as usize;
    requested.min(run).min(cap)
}

/// Draws the matrices of `trials` (ascending) in source-preferred batches of
/// consecutive trials, in parallel (as the engine does; a batched source gives the
/// same matrices whatever the batch).
fn sample_trials(
    source: &dyn CorrSource,
    seed: u64,
    trials: &[u64],
) -> Result<Vec<CorrSample>, Error> {
    let b = source.preferred_batch().max(1) as u64;
    let mut runs: Vec<std::ops::Range<u64>> = Vec::new();
    for &t in trials {
        match runs.last_mut() {
            Some(r) if r.end == t && r.end - r.start < b => r.end = t + 1,
            _ => runs.push(t..t + 1),
        }
    }
    let batches: Result<Vec<Vec<CorrSample>>, Error> = runs
        .par_iter()
        .map(|r| source.sample_batch(seed, r.clone()))
        .collect();
    Ok(batches?.into_iter().flatten().collect())
}

/// Facts already computed in this file: (source key, point index, summary).
pub type Seen = Vec<(String, usize, FactsSummary)>;

/// Rebuilds `group`'s source from its stored spec and computes the facts of the
/// matrices of its first `requested` trials among `trials_run` (sorted); `seen` holds
/// earlier sweep points' facts, reused when a point samples the same matrices (same
/// source table, n, seed and trials), and gets this group's. Never fails: a source
/// that cannot be rebuilt or sampled is reported in `error`.
pub fn source_facts(
    f: &hdf5::File,
    group: &str,
    point: usize,
    trials_run: &[usize],
    requested: usize,
    seen: &mut Seen,
) -> SourceFacts {
    let loc: Option<hdf5::Group> = f.group(group).ok();
    let attr = |n: &str| loc.as_ref().and_then(|g| read_str_attr(g, n));
    let recorded = attr("source").unwrap_or_default();
    let seed = loc
        .as_ref()
        .and_then(|g| read_u64_attr(g, "seed"))
        .unwrap_or(0);
    let mut out = SourceFacts {
        group: group.to_string(),
        recorded_source: recorded.clone(),
        rebuilt_source: String::new(),
        matches_record: false,
        seed,
        trials_used: 0,
        first_trial: None,
        last_trial: None,
        facts: None,
        error: None,
        same_as_point: None,
    };
    let fail = |mut o: SourceFacts, e: String| {
        o.error = Some(e);
        o
    };
    let Some(text) = attr("spec") else {
        return fail(out, "the file stores no spec for this group".into());
    };
    let origin = attr("spec_origin").unwrap_or_default();
    // A sweep point's origin reads "FILE [sweep point k (...)]": its input paths were
    // made absolute when the sweep resolved it; a plain spec's relative paths resolve
    // against its folder, as when it ran.
    let origin_file = origin.split(" [").next().unwrap_or_default();
    let base = Path::new(origin_file)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let source = crate::spec::Spec::parse_in(&text, &origin, Some(base))
        .and_then(|s| Ok((s.build_source()?, s.raw.source.clone(), s.raw.assets)));
    let (source, raw, n) = match source {
        Ok(x) => x,
        Err(e) => return fail(out, format!("the source cannot be rebuilt: {e}")),
    };
    out.rebuilt_source = source.describe();
    out.matches_record = out.rebuilt_source == recorded;
    let count = trials_to_sample(requested, trials_run.len(), n);
    let trials: Vec<u64> = trials_run[..count].iter().map(|&t| t as u64).collect();
    out.trials_used = count;
    out.first_trial = trials.first().copied();
    out.last_trial = trials.last().copied();
    let key = format!("{raw:?}|{n}|{seed}|{trials:?}");
    if count == 0 {
        return fail(out, "no trial was run".into());
    }
    if let Some((_, p, x)) = seen.iter().find(|(k, _, _)| *k == key) {
        out.same_as_point = Some(*p);
        out.facts = Some(x.clone());
        return out;
    }
    let mats = match sample_trials(source.as_ref(), seed, &trials) {
        Ok(m) => m,
        Err(e) => return fail(out, format!("the source cannot be sampled: {e}")),
    };
    let facts: Vec<_> = mats
        .par_iter()
        .map(|m| matrix_facts(m.corr.view()))
        .collect();
    let summary = summarize("matrices used", n, &facts);
    seen.push((key, point, summary.clone()));
    out.facts = Some(summary);
    out
}
