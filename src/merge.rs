//! `corrmc merge`: the shard files of one study (from `corrmc run --shard i/k`)
//! into the study's result file, dataset for dataset the file a single-machine
//! run writes.
//!
//! Why it is identical: a trial's numbers depend only on (seed, trial index),
//! a unit's rows are stored verbatim (bit patterns) in the shard journals, and
//! the HDF5 file is assembled by the same code as a single run
//! ([`crate::engine::assemble_study`]) from the same units in the same order.
//! Only the run-specific root attributes (`threads`, `elapsed_s`, and
//! `spec_origin` if the shards named the spec differently) and the attribute-only
//! `/provenance` groups differ.
//!
//! Checks, each naming the files: every input is a complete shard (a `DONE`
//! record after its last unit), of the same study (fingerprint), whose records
//! pass their checksums, and the shards' unit ranges tile the study exactly (no
//! gap, no overlap). Memory: one unit's rows at a time, plus a few words per unit.

use crate::Error;
use crate::checkpoint::Fingerprint;
use crate::engine::{self, UnitSources};
use crate::journal::{Journal, Meta, Scan, Shard};
use crate::output::RunInfo;
use crate::sweep::Study;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What `merge` reports.
#[derive(Debug)]
pub struct MergeReport {
    pub output: PathBuf,
    pub shards: usize,
    pub units: u64,
    pub trials: u64,
    /// Non-fatal findings (e.g. shards computed on different CPU kinds).
    pub warnings: Vec<String>,
    /// Per-method failures recorded in `/errors`.
    pub failures: usize,
}

/// Whether a file name looks like a shard (`*.shard-<i>-of-<k>`, possibly `.partial`).
pub fn is_shard_name(name: &str) -> bool {
    let name = name.strip_suffix(".partial").unwrap_or(name);
    name.rsplit_once(".shard-").is_some_and(|(_, tail)| {
        tail.split_once("-of-").is_some_and(|(i, k)| {
            !i.is_empty()
                && !k.is_empty()
                && i.bytes().all(|b| b.is_ascii_digit())
                && k.bytes().all(|b| b.is_ascii_digit())
        })
    })
}

/// Whether `pattern` (`*`, `?`) matches `name`.
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_match(&pattern[1..], name) || (!name.is_empty() && glob_match(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob_match(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob_match(&pattern[1..], &name[1..]),
        _ => false,
    }
}

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, format!("cannot list: {e}")))?;
    let mut v = Vec::new();
    for e in rd {
        let e = e.map_err(|e| Error::io(dir, format!("cannot list: {e}")))?;
        v.push(e.path());
    }
    v.sort();
    Ok(v)
}

/// The shard files named by `inputs`: files as given, a folder's shard files
/// (`*.shard-<i>-of-<k>` and their `.partial`s, so that an unfinished one is
/// reported), and shell-style patterns in the last path component (for shells or
/// batch systems that pass them unexpanded).
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out: Vec<PathBuf> = Vec::new();
    for input in inputs {
        let text = input.to_string_lossy();
        if input.is_dir() {
            let found: Vec<PathBuf> = list_dir(input)?
                .into_iter()
                .filter(|p| {
                    p.is_file()
                        && p.file_name()
                            .is_some_and(|n| is_shard_name(&n.to_string_lossy()))
                })
                .collect();
            if found.is_empty() {
                return Err(Error::io(
                    input,
                    "holds no shard files (named <output>.shard-<i>-of-<k> by `corrmc run --shard`)",
                ));
            }
            out.extend(found);
        } else if !input.exists() && text.contains(['*', '?']) {
            let dir = input
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let pat = input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if dir.to_string_lossy().contains(['*', '?']) {
                return Err(Error::io(
                    input,
                    "patterns are supported in the file name only, not in folders",
                ));
            }
            let found: Vec<PathBuf> = list_dir(dir)?
                .into_iter()
                .filter(|p| {
                    p.is_file()
                        && p.file_name()
                            .is_some_and(|n| glob_match(pat.as_bytes(), n.as_encoded_bytes()))
                })
                .collect();
            if found.is_empty() {
                return Err(Error::io(input, "the pattern matches no file"));
            }
            out.extend(found);
        } else if !input.exists() {
            return Err(Error::io(input, "no such shard file"));
        } else {
            out.push(input.clone());
        }
    }
    // The same file named twice (a folder and a pattern, say) counts once.
    let mut seen = BTreeSet::new();
    out.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(out)
}

struct Input {
    path: PathBuf,
    /// `path` made absolute before `merge` enters the run's working directory.
    abs: PathBuf,
    fp: Fingerprint,
    meta: Meta,
    shard: Shard,
    scan: Scan,
}

fn name(p: &Path) -> String {
    p.display().to_string()
}

/// The command that (re)computes a shard.
fn resume_hint(meta: &Meta, s: Shard) -> String {
    format!(
        "corrmc run {} --shard {} --resume{}",
        meta.spec_origin,
        s.label(),
        meta.trials_override
            .map_or(String::new(), |t| format!(" --trials {t}"))
    )
}

/// Reads and checks one shard file.
fn read_input(path: &Path) -> Result<Input, Error> {
    let (fp, meta) = Journal::read_head(path)?.ok_or_else(|| {
        Error::io(
            path,
            "not a corrmc shard file (expected a file written by `corrmc run SPEC --shard i/k`)",
        )
    })?;
    let Some(shard) = meta.shard else {
        return Err(Error::io(
            path,
            "is an interrupted run's checkpoint journal, not a shard; finish it with \
             `corrmc run SPEC --resume` (no merge needed)",
        ));
    };
    let scan = Journal::scan(path)?;
    if scan.corrupt > 0 {
        return Err(Error::io(
            path,
            format!(
                "{} record(s) fail their checksums; recompute them with `{}`",
                scan.corrupt,
                resume_hint(&meta, shard)
            ),
        ));
    }
    let (offsets, total) = engine::unit_offsets(&fp);
    let mine = scan
        .units
        .keys()
        .filter(|&&(k, u)| {
            offsets
                .get(k as usize)
                .is_some_and(|o| (shard.start..shard.end).contains(&(o + u)))
        })
        .count() as u64;
    if shard.end > total || shard.start > shard.end {
        return Err(Error::io(
            path,
            format!(
                "claims units {}..{} of a study of {total} units",
                shard.start, shard.end
            ),
        ));
    }
    let partial = path.to_string_lossy().ends_with(".partial");
    if scan.done.is_none() || mine != shard.end - shard.start || partial {
        return Err(Error::io(
            path,
            format!(
                "incomplete shard {} ({} of {} units done{}); finish it with `{}`",
                shard.label(),
                mine,
                shard.end - shard.start,
                if partial {
                    ", still running or interrupted"
                } else {
                    ""
                },
                resume_hint(&meta, shard)
            ),
        ));
    }
    Ok(Input {
        path: path.to_path_buf(),
        abs: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        fp,
        meta,
        shard,
        scan,
    })
}

/// Checks that the shards' ranges tile `0..total`, naming the offending files.
fn check_tiling(inputs: &[Input], total: u64) -> Result<(), Error> {
    let mut order: Vec<&Input> = inputs
        .iter()
        .filter(|i| i.shard.end > i.shard.start)
        .collect();
    order.sort_by_key(|i| (i.shard.start, i.shard.end));
    let counts: BTreeSet<u64> = inputs.iter().map(|i| i.shard.count).collect();
    let missing = |from: u64, to: u64| -> String {
        // Name the missing shards when every file comes from one split.
        if let [count] = counts.iter().copied().collect::<Vec<_>>()[..] {
            let names: Vec<String> = (0..count)
                .map(|i| Shard::of(i, count, total))
                .filter(|s| s.start < to && s.end > from && s.end > s.start)
                .map(|s| s.label())
                .collect();
            if !names.is_empty() {
                return format!(" (missing shard {})", names.join(", "));
            }
        }
        String::new()
    };
    let mut next = 0u64;
    let mut prev: Option<&Input> = None;
    for i in order {
        if i.shard.start < next {
            let p = prev.expect("an overlap needs an earlier shard");
            return Err(Error::io(
                &i.path,
                format!(
                    "shard {} (units {}..{}) overlaps {} (shard {}, units {}..{}); pass each \
                     shard once, from one split",
                    i.shard.label(),
                    i.shard.start,
                    i.shard.end,
                    name(&p.path),
                    p.shard.label(),
                    p.shard.start,
                    p.shard.end
                ),
            ));
        }
        if i.shard.start > next {
            return Err(Error::Other(format!(
                "units {next}..{} of the study are in none of the shards given{}; \
                 the shards given are {}",
                i.shard.start,
                missing(next, i.shard.start),
                inputs
                    .iter()
                    .map(|i| name(&i.path))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        next = i.shard.end;
        prev = Some(i);
    }
    if next < total {
        return Err(Error::Other(format!(
            "units {next}..{total} of the study are in none of the shards given{}; the shards \
             given are {}",
            missing(next, total),
            inputs
                .iter()
                .map(|i| name(&i.path))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

/// Refuses an existing `output` unless `overwrite`, or unless it is this very
/// study's merged file (so that a merge can simply be re-run).
fn check_existing_output(output: &Path, fp: &Fingerprint, overwrite: bool) -> Result<(), Error> {
    if !output.exists() || overwrite || output.is_dir() {
        return crate::output::check_output(output, true);
    }
    let same = hdf5::File::open(output).ok().is_some_and(|f| {
        engine::stored_fingerprint(&f, output).is_ok_and(|have| fp.difference(&have).is_none())
    });
    if !same {
        return Err(Error::io(
            output,
            "exists and is not this study's result; pass --overwrite to replace it, or choose \
             another output path",
        ));
    }
    crate::output::check_output(output, true)
}

/// Restores the working directory when dropped.
struct Cwd(PathBuf);

impl Cwd {
    fn enter(dir: &Path) -> Option<Cwd> {
        let old = std::env::current_dir().ok()?;
        std::env::set_current_dir(dir).ok()?;
        Some(Cwd(old))
    }
}

impl Drop for Cwd {
    fn drop(&mut self) {
        let _ = std::env::set_current_dir(&self.0);
    }
}

/// Merges shard files into the study's result file at `output`.
pub fn merge(files: &[PathBuf], output: &Path, overwrite: bool) -> Result<MergeReport, Error> {
    if files.is_empty() {
        return Err(Error::Other(
            "no shard files given; pass the files of `corrmc run SPEC --shard i/k`, their folder \
             or a pattern such as 'results/study.h5.shard-*'"
                .into(),
        ));
    }
    let inputs = files
        .iter()
        .map(|p| read_input(p))
        .collect::<Result<Vec<_>, Error>>()?;
    let first = &inputs[0];
    for i in &inputs[1..] {
        if let Some(diff) = first.fp.difference(&i.fp) {
            return Err(Error::io(
                &i.path,
                format!(
                    "belongs to another study than {}: {diff}",
                    name(&first.path)
                ),
            ));
        }
        if i.meta.trials_override != first.meta.trials_override {
            return Err(Error::io(
                &i.path,
                format!(
                    "was run with --trials {:?}, {} with --trials {:?}",
                    i.meta.trials_override,
                    name(&first.path),
                    first.meta.trials_override
                ),
            ));
        }
    }
    let fp = &first.fp;
    let (_, total) = engine::unit_offsets(fp);
    check_tiling(&inputs, total)?;
    // Resolve the spec from the run's working directory, as the run did (same path strings
    // in the file); the output path is made absolute first so that it still means what the
    // user typed.
    let output = &std::path::absolute(output).unwrap_or_else(|_| output.to_path_buf());
    let _cwd = first
        .meta
        .cwd
        .as_deref()
        .map(Path::new)
        .filter(|d| d.is_dir())
        .and_then(Cwd::enter);
    let base = first.meta.spec_base.as_deref().map(Path::new);
    let study = Study::parse_in(&fp.spec, &first.meta.spec_origin, base).map_err(|e| {
        Error::io(
            &first.path,
            format!(
                "cannot rebuild the study from the shard's spec text: {e} (its input files must \
                 be readable at {})",
                base.map_or(".".into(), |b| b.display().to_string())
            ),
        )
    })?;
    let rebuilt = engine::fingerprint(&study, first.meta.trials_override);
    if let Some(diff) = rebuilt.difference(fp) {
        return Err(Error::io(
            &first.path,
            format!("this binary cannot rebuild the shards' study: {diff}"),
        ));
    }
    check_existing_output(output, fp, overwrite)?;
    let mut sources = UnitSources::default();
    for i in &inputs {
        sources.add(&i.abs, &i.scan);
    }
    let mut warnings = Vec::new();
    let levels: BTreeSet<String> = sources
        .sessions
        .iter()
        .filter_map(|(_, v)| v.get("simd_level")?.as_str().map(String::from))
        .collect();
    if levels.len() > 1 {
        let hosts: Vec<String> = sources
            .sessions
            .iter()
            .filter_map(|(fi, v)| {
                Some(format!(
                    "{} on {} ({})",
                    v.get("simd_level")?.as_str()?,
                    v.get("host")?.as_str()?,
                    name(&sources.files[*fi])
                ))
            })
            .collect();
        warnings.push(format!(
            "the shards were computed on CPUs of different SIMD levels ({}): faer and tract pick \
             kernels by CPU, so values may differ in the last bits from a single-machine run \
             (README \"Running on a cluster\": run all shards on one CPU kind to be bit-identical)",
            hosts.join("; ")
        ));
    }
    // Run-specific attributes of a merged file: the threads of all shards' last sessions and
    // the longest shard's computing time (the wall time had they all run at once).
    let mut threads = 0u64;
    let mut elapsed = 0f64;
    for i in &inputs {
        threads += i
            .scan
            .sessions
            .last()
            .and_then(|v| v.get("threads")?.as_u64())
            .unwrap_or(1);
        elapsed = elapsed.max(
            i.scan
                .done
                .as_ref()
                .and_then(|v| v.get("elapsed_s")?.as_f64())
                .unwrap_or(0.0),
        );
    }
    let (path, failures) = engine::assemble_study(
        &study,
        output,
        &sources,
        first.meta.trials_override,
        RunInfo {
            threads: threads as usize,
            elapsed_s: elapsed,
        },
    )?;
    Ok(MergeReport {
        output: path,
        shards: inputs.len(),
        units: total,
        trials: fp.trials.iter().sum(),
        warnings,
        failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_names_and_patterns() {
        assert!(is_shard_name("study.h5.shard-0-of-3"));
        assert!(is_shard_name("study.h5.shard-12-of-30.partial"));
        assert!(!is_shard_name("study.h5"));
        assert!(!is_shard_name("study.h5.shard-a-of-3"));
        assert!(!is_shard_name("study.h5.shard-1-of-"));
        assert!(glob_match(b"s.h5.shard-*", b"s.h5.shard-1-of-3"));
        assert!(glob_match(b"s.h5.shard-?-of-3", b"s.h5.shard-1-of-3"));
        assert!(!glob_match(b"s.h5.shard-?-of-3", b"s.h5.shard-10-of-3"));
        assert!(!glob_match(b"*.toml", b"s.h5"));
    }
}
