//! Cluster scale-out: `run --shard i/k` + `merge`, and `mpirun … run --mpi`, give
//! the single-machine file dataset for dataset, byte for byte; `merge` refuses
//! malformed shard sets naming the files.

mod common;

use common::{assert_same_datasets, open};
use corrmc::engine::{self, StudyOptions};
use corrmc::sweep::Study;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// 3 points × 3 units (chunk 4 over 9 trials) with stored weights; MinVar fails on
/// the in_sample_days = 10 points, so shards carry /errors rows too.
const SWEEP: &str = r#"
name = "grid"
seed = 5
trials = 9
assets = 12
in_sample_days = 20
out_of_sample_days = 30
methods = ["EW", "RP", "MinVar", "HRP"]
store_weights = true
chunk_trials = 4
[source]
kind = "block"
sectors = 2
subsectors = 1

[sweep]
in_sample_days = [10, 40, 60]
"#;

/// A plain spec: 7 units of 3 trials (the last one 2).
const PLAIN: &str = r#"
name = "plain"
seed = 11
trials = 20
assets = 10
in_sample_days = 30
out_of_sample_days = 30
methods = ["EW", "RP", "MinVar_long", "HRP"]
chunk_trials = 3
[source]
kind = "uniform"
eta = 2.0
"#;

fn study(text: &str) -> Study {
    Study::parse(text, "cluster.toml").unwrap()
}

fn opts(out: &Path, shard: Option<(u64, u64)>) -> StudyOptions {
    StudyOptions {
        threads: Some(2),
        output: Some(out.to_path_buf()),
        shard,
        ..Default::default()
    }
}

fn single(text: &str, dir: &Path) -> PathBuf {
    let out = dir.join("single.h5");
    let r = engine::run_study(&study(text), &opts(&out, None)).unwrap();
    assert!(r.complete);
    out
}

/// Runs every shard of a `k`-way split of `text` writing `dir/sharded.h5.shard-*`.
fn shards(text: &str, dir: &Path, k: u64) -> Vec<PathBuf> {
    let out = dir.join("sharded.h5");
    (0..k)
        .map(|i| {
            let r = engine::run_study(&study(text), &opts(&out, Some((i, k)))).unwrap();
            assert!(r.complete, "shard {i}/{k}");
            assert_eq!(r.output, engine::shard_path(&out, i, k));
            r.output
        })
        .collect()
}

fn root_attrs(f: &hdf5::File) -> Vec<String> {
    let mut v = f.attr_names().unwrap();
    v.sort();
    v
}

#[test]
fn merged_shards_equal_the_single_machine_file() {
    let _s = common::serial();
    for (text, what) in [(PLAIN, "plain"), (SWEEP, "sweep")] {
        let dir = tempfile::tempdir().unwrap();
        let reference = single(text, dir.path());
        let units = engine::unit_offsets(&engine::fingerprint(&study(text), None)).1;
        for k in [1, 2, 3, 7, units + 2] {
            let sub = dir.path().join(format!("k{k}"));
            std::fs::create_dir(&sub).unwrap();
            let files = shards(text, &sub, k);
            let merged = sub.join("merged.h5");
            let r = corrmc::merge::merge(&files, &merged, false).unwrap();
            assert_eq!((r.shards, r.units), (k as usize, units));
            assert!(r.warnings.is_empty(), "{:?}", r.warnings);
            let (a, b) = (open(&reference), open(&merged));
            assert_same_datasets(&a, &b, &format!("{what}, k = {k}"));
            // Root attributes: the same names, the same values except the run-specific ones.
            assert_eq!(root_attrs(&a), root_attrs(&b));
            for name in root_attrs(&a) {
                if ["threads", "elapsed_s"].contains(&name.as_str()) {
                    continue;
                }
                let (x, y) = (a.attr(&name).unwrap(), b.attr(&name).unwrap());
                let (x, y) = (x.read_raw::<u8>().ok(), y.read_raw::<u8>().ok());
                if x.is_some() {
                    assert_eq!(x, y, "{what}, k = {k}: root attribute {name}");
                }
            }
            for s in ["spec", "fingerprint", "git_revision", "spec_origin"] {
                if a.attr(s).is_ok() {
                    let r = |f: &hdf5::File| {
                        f.attr(s)
                            .unwrap()
                            .read_scalar::<hdf5::types::VarLenUnicode>()
                            .unwrap()
                            .to_string()
                    };
                    assert_eq!(r(&a), r(&b), "{what}, k = {k}: root attribute {s}");
                }
            }
            // One provenance session per shard, with the CPU facts.
            let p = b.group("provenance").unwrap();
            let n: u64 = p.attr("sessions").unwrap().read_scalar().unwrap();
            assert_eq!(n, k);
            let s0 = p.group("0").unwrap();
            for key in ["host", "cpu_model", "simd_level", "cpu_features", "shard"] {
                assert!(s0.attr(key).is_ok(), "provenance lacks {key}");
            }
            // A merge can be re-run over its own output.
            corrmc::merge::merge(&files, &merged, false).unwrap();
            assert_same_datasets(&a, &open(&merged), &format!("{what}, k = {k}, re-merged"));
        }
    }
}

#[test]
fn a_killed_shard_resumes_and_the_merge_still_matches() {
    let _s = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let reference = single(SWEEP, dir.path());
    let out = dir.path().join("sharded.h5");
    let s = study(SWEEP);
    // Shard 1/2 stops after one unit, like a preempted array task.
    let mut o = opts(&out, Some((1, 2)));
    o.max_units = Some(1);
    let r = engine::run_study(&s, &o).unwrap();
    assert!(!r.complete);
    let unfinished = engine::shard_path(&out, 1, 2);
    let partial = corrmc::output::partial_path(&unfinished);
    assert!(partial.exists() && !unfinished.exists());
    let done0 = engine::run_study(&s, &opts(&out, Some((0, 2)))).unwrap();
    // Merging now names the unfinished shard and says how to finish it.
    let e = corrmc::merge::merge(
        &[done0.output.clone(), partial.clone()],
        &dir.path().join("m.h5"),
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("incomplete shard 1/2") && e.contains("--shard 1/2 --resume"),
        "{e}"
    );
    // Resuming it as another study (other --trials) is refused, naming what differs.
    let mut wrong = opts(&out, Some((1, 2)));
    wrong.resume = true;
    wrong.trials = Some(8);
    let e = engine::run_study(&s, &wrong).unwrap_err().to_string();
    assert!(
        e.contains("--trials") && e.contains("refusing to resume"),
        "{e}"
    );
    let mut o = opts(&out, Some((1, 2)));
    o.resume = true;
    let r = engine::run_study(&s, &o).unwrap();
    assert!(r.complete && r.units_kept == 1);
    // Resuming a complete shard is a no-op.
    let again = engine::run_study(&s, &o).unwrap();
    assert!(again.complete && again.trials_computed == 0);
    let merged = dir.path().join("merged.h5");
    corrmc::merge::merge(&[done0.output, r.output], &merged, false).unwrap();
    assert_same_datasets(&open(&reference), &open(&merged), "resumed shard");
}

fn err(files: &[PathBuf], out: &Path) -> String {
    corrmc::merge::merge(files, out, false)
        .unwrap_err()
        .to_string()
}

#[test]
fn merge_refuses_malformed_shard_sets_naming_the_files() {
    let _s = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let three = shards(PLAIN, d, 3);
    let out = d.join("merged.h5");
    let name = |p: &Path| p.display().to_string();
    // A gap: shard 1/3 missing.
    let e = err(&[three[0].clone(), three[2].clone()], &out);
    assert!(
        e.contains("missing shard 1/3") && e.contains("units 2..4"),
        "{e}"
    );
    // A gap at the end.
    let e = err(&three[..2], &out);
    assert!(e.contains("missing shard 2/3"), "{e}");
    // An overlap: shard 0/2 (units 0..3) with 1/3 (units 2..4) and 2/3.
    let sub = d.join("two");
    std::fs::create_dir(&sub).unwrap();
    let two = shards(PLAIN, &sub, 2);
    let e = err(&[two[0].clone(), three[1].clone(), three[2].clone()], &out);
    assert!(
        e.contains("overlaps") && (e.contains(&name(&two[0])) || e.contains(&name(&three[1]))),
        "{e}"
    );
    // Another study (a different seed): names the file and what differs.
    let other = d.join("other");
    std::fs::create_dir(&other).unwrap();
    let o = shards(&PLAIN.replace("seed = 11", "seed = 12"), &other, 3);
    let e = err(&[three[0].clone(), o[1].clone(), three[2].clone()], &out);
    assert!(
        e.contains(&name(&o[1])) && e.contains("another study") && e.contains("seed"),
        "{e}"
    );
    // A corrupted record: checksum failure, named, with the command that recomputes it.
    let bad = d.join("bad.h5.shard-1-of-3");
    let mut b = std::fs::read(&three[1]).unwrap();
    let scan = corrmc::journal::Journal::scan(&three[1]).unwrap();
    let (&_, &(off, len)) = scan.units.iter().next().unwrap();
    b[(off + len / 2) as usize] ^= 0x5a;
    std::fs::write(&bad, &b).unwrap();
    let e = err(&[three[0].clone(), bad.clone(), three[2].clone()], &out);
    assert!(
        e.contains(&name(&bad)) && e.contains("checksum") && e.contains("--resume"),
        "{e}"
    );
    // Not a shard at all.
    let junk = d.join("junk.h5.shard-0-of-1");
    std::fs::write(&junk, b"hello").unwrap();
    let e = err(std::slice::from_ref(&junk), &out);
    assert!(
        e.contains(&name(&junk)) && e.contains("not a corrmc shard"),
        "{e}"
    );
    // Nothing was written by any refusal.
    assert!(!out.exists());
    // An existing file of another kind is not replaced without --overwrite.
    std::fs::write(&out, b"precious").unwrap();
    let e = err(&three, &out);
    assert!(e.contains("--overwrite"), "{e}");
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    corrmc::merge::merge(&three, &out, true).unwrap();
}

fn corrmc(args: &[&str], cwd: &Path) -> Output {
    common::no_inherited_fds(&mut Command::new(env!("CARGO_BIN_EXE_corrmc")))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn the_cli_shards_merges_folders_and_patterns_and_plans_shards() {
    let _s = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("plain.toml"), PLAIN).unwrap();
    let o = corrmc(&["run", "plain.toml", "-o", "ref.h5", "--no-summary"], d);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for i in 0..3 {
        let s = format!("{i}/3");
        let o = corrmc(&["run", "plain.toml", "-o", "out/s.h5", "--shard", &s], d);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("corrmc merge -o out/s.h5"), "{err}");
    }
    // summary and report on a shard say what it is and what to do.
    for cmd in [
        vec!["summary", "out/s.h5.shard-1-of-3"],
        vec!["report", "out/s.h5.shard-1-of-3", "-o", "rep"],
    ] {
        let o = corrmc(&cmd, d);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{e}");
        assert!(
            e.contains("is shard 1/3") && e.contains("corrmc merge"),
            "{e}"
        );
    }
    // A folder, then a pattern: the same file.
    let o = corrmc(&["merge", "-o", "m1.h5", "out", "--no-summary"], d);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = corrmc(&["merge", "-o", "m2.h5", "out/s.h5.shard-*"], d);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("HRP"));
    let r = open(&d.join("ref.h5"));
    assert_same_datasets(&r, &open(&d.join("m1.h5")), "merge of a folder");
    assert_same_datasets(&r, &open(&d.join("m2.h5")), "merge of a pattern");
    // Bad shard arguments are refused before any work, with what is valid.
    for bad in ["3/3", "1/0", "a/3", "2", "-1/3"] {
        let o = corrmc(
            &["run", "plain.toml", "-o", "x.h5", &format!("--shard={bad}")],
            d,
        );
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "--shard {bad}: {e}");
        assert!(
            e.contains("INDEX/COUNT") && e.contains("0 <= INDEX < COUNT"),
            "{e}"
        );
    }
    assert!(!d.join("x.h5").exists());
    let o = corrmc(&["merge", "-o", "m3.h5", "nothing-here"], d);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing-here"));
    // plan --shards: one line per shard, units tiling the study.
    let o = corrmc(
        &[
            "plan",
            "plain.toml",
            "--shards",
            "3",
            "--calibrate-s",
            "0.2",
        ],
        d,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    for line in ["0/3", "0..2", "1/3", "2..4", "2/3", "4..7", "longest shard"] {
        assert!(out.contains(line), "{line} missing in:\n{out}");
    }
}

/// `mpirun -n 3 corrmc run --mpi` (oversubscribed on this machine) writes the
/// single-machine file. Built and run by `./dev test` (feature `mpi`).
#[cfg(feature = "mpi")]
#[test]
fn mpirun_gives_the_single_machine_bytes() {
    let _s = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("grid.toml"), SWEEP).unwrap();
    let o = corrmc(&["run", "grid.toml", "-o", "ref.h5", "--no-summary"], d);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mpirun = |args: &[&str]| {
        common::no_inherited_fds(&mut Command::new("mpirun"))
            .args(["-n", "3", "--oversubscribe"])
            .args(args)
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .current_dir(d)
            .output()
            .expect("mpirun (OpenMPI) must be installed for the mpi feature: ./dev setup")
    };
    let bin = env!("CARGO_BIN_EXE_corrmc");
    let o = mpirun(&[
        bin,
        "run",
        "grid.toml",
        "-o",
        "mpi.h5",
        "--mpi",
        "--threads",
        "1",
        "--no-summary",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (open(&d.join("ref.h5")), open(&d.join("mpi.h5")));
    assert_same_datasets(&a, &b, "mpirun -n 3");
    let n: u64 = b
        .group("provenance")
        .unwrap()
        .attr("sessions")
        .unwrap()
        .read_scalar()
        .unwrap();
    assert_eq!(n, 3, "one session per rank");
    // A refusal on rank 0 (the output exists) ends the whole job with its message, once.
    let o = mpirun(&[
        bin,
        "run",
        "grid.toml",
        "-o",
        "mpi.h5",
        "--mpi",
        "--no-summary",
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("--overwrite"), "{e}");
}

/// scripts/slurm: the array script run as tasks 0..3 (SLURM's variables set by hand),
/// then the merge script, give the single-machine file; submit.sh asks sbatch for
/// the array and a dependent merge (a stand-in sbatch records the calls).
#[test]
fn the_slurm_scripts_shard_and_merge() {
    let _s = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("plain.toml"), PLAIN).unwrap();
    let bin = env!("CARGO_BIN_EXE_corrmc");
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm");
    let o = corrmc(&["run", "plain.toml", "-o", "ref.h5", "--no-summary"], d);
    assert!(o.status.success());
    let script = |name: &str, envs: &[(&str, String)]| {
        let o = common::no_inherited_fds(&mut Command::new("bash"))
            .arg(scripts.join(name))
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .env("CORRMC", bin)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    for i in 0..3 {
        script(
            "array.sbatch",
            &[
                ("SPEC", "plain.toml".into()),
                ("OUT", "res/study.h5".into()),
                ("SLURM_ARRAY_TASK_ID", i.to_string()),
                ("SLURM_ARRAY_TASK_COUNT", "3".into()),
                ("SLURM_CPUS_PER_TASK", "1".into()),
            ],
        );
    }
    // A requeued task finds its shard complete: a no-op.
    script(
        "array.sbatch",
        &[
            ("SPEC", "plain.toml".into()),
            ("OUT", "res/study.h5".into()),
            ("SLURM_ARRAY_TASK_ID", "1".into()),
            ("SHARDS", "3".into()),
        ],
    );
    script(
        "merge.sbatch",
        &[("OUT", "res/study.h5".into()), ("SHARDS", "3".into())],
    );
    assert_same_datasets(
        &open(&d.join("ref.h5")),
        &open(&d.join("res/study.h5")),
        "SLURM array + merge",
    );
    // submit.sh with a stand-in sbatch.
    let fake = d.join("bin");
    std::fs::create_dir(&fake).unwrap();
    std::fs::write(
        fake.join("sbatch"),
        "#!/bin/sh\necho \"$@\" >> \"$SBATCH_LOG\"\necho 4242\n",
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(fake.join("sbatch"))
        .status()
        .unwrap();
    let o = Command::new("bash")
        .arg(scripts.join("submit.sh"))
        .args(["plain.toml", "res/s.h5", "4", "--cpus-per-task=2"])
        .env(
            "PATH",
            format!("{}:{}", fake.display(), std::env::var("PATH").unwrap()),
        )
        .env("SBATCH_LOG", d.join("sbatch.log"))
        .current_dir(d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(d.join("sbatch.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].contains("--array=0-3")
            && lines[0].contains("SHARDS=4")
            && lines[0].contains("--cpus-per-task=2")
            && lines[0].ends_with("array.sbatch"),
        "{log}"
    );
    assert!(
        lines[1].contains("--dependency=afterok:4242") && lines[1].ends_with("merge.sbatch"),
        "{log}"
    );
    let o = Command::new("bash")
        .arg(scripts.join("submit.sh"))
        .args(["plain.toml", "res/s.h5", "zero"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("K must be a positive integer"));
}

/// Shards computed on CPUs of different SIMD levels merge (the numbers are valid) but
/// `merge` warns, naming the hosts (README "Running on a cluster": determinism).
#[test]
fn merge_warns_when_shards_came_from_different_cpu_kinds() {
    let _s = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let files = shards(PLAIN, dir.path(), 2);
    // Shard 1 was resumed on another machine: its session record says so.
    let scan = corrmc::journal::Journal::scan(&files[1]).unwrap();
    let mut j = corrmc::journal::Journal::reopen(&files[1], scan.valid_end).unwrap();
    let own = corrmc::provenance::simd_level();
    let other = if own == "x86-64-v4" {
        "x86-64-v3"
    } else {
        "x86-64-v4"
    };
    j.append_session(&serde_json::json!({"host": "node-b", "simd_level": other}))
        .unwrap();
    drop(j);
    let r = corrmc::merge::merge(&files, &dir.path().join("m.h5"), false).unwrap();
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    let w = &r.warnings[0];
    assert!(
        w.contains("node-b") && w.contains(other) && w.contains(&own),
        "{w}"
    );
    // Without the foreign session: no warning.
    let c = dir.path().join("c");
    std::fs::create_dir(&c).unwrap();
    let clean = shards(PLAIN, &c, 2);
    let r = corrmc::merge::merge(&clean, &dir.path().join("c/m.h5"), false).unwrap();
    assert!(r.warnings.is_empty());
}

/// `--memory`: a budget that holds fewer trials than a unit makes the engine sample and
/// compute the unit in pieces (aligned on the source's batches); the bytes do not change.
#[test]
fn a_memory_budget_bounds_trials_in_flight_without_changing_results() {
    let _s = common::serial();
    for text in [PLAIN, SWEEP] {
        let dir = tempfile::tempdir().unwrap();
        let reference = single(text, dir.path());
        let s = study(text);
        // Room for the two workers and about one trial each, at the largest point.
        let need = |p: &corrmc::sweep::Point| engine::estimate_memory(&p.spec, 2, 2, Some(1.0));
        let largest = s
            .points
            .iter()
            .max_by(|a, b| need(a).total_cmp(&need(b)))
            .unwrap();
        let budget = need(largest) * 1.01;
        let spec = &largest.spec;
        assert_eq!(engine::trials_in_flight(spec, 2, 9, Some(budget)), 2);
        assert!(engine::trials_in_flight(spec, 2, 9, None) > 2);
        let out = dir.path().join("bounded.h5");
        let mut o = opts(&out, None);
        o.memory = Some(budget);
        assert!(engine::run_study(&s, &o).unwrap().complete);
        assert_same_datasets(&open(&reference), &open(&out), "memory-bounded");
        // A budget below one trial per worker is refused before any file exists.
        let tiny = dir.path().join("tiny.h5");
        let mut o = opts(&tiny, None);
        o.memory = Some(1000.0);
        let e = engine::run_study(&s, &o).unwrap_err().to_string();
        assert!(e.contains("--memory") && e.contains("--threads"), "{e}");
        assert!(!tiny.exists() && !corrmc::output::partial_path(&tiny).exists());
    }
}
