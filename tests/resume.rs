//! Checkpoints and resume: a run killed or stopped at any moment resumes to a
//! file whose every dataset equals an uninterrupted run's, byte for byte.

mod common;

use common::{assert_same_datasets, open};
use corrmc::engine::{self, StudyOptions};
use corrmc::journal::Journal;
use corrmc::sweep::Study;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// MinVar fails on every trial (in-sample days < assets), so every unit has
/// /errors rows; weights are stored.
const SPEC: &str = r#"
name = "resume"
seed = 7
trials = 24
assets = 12
in_sample_days = 10
out_of_sample_days = 30
methods = ["EW", "RP", "MinVar", "HRP"]
store_weights = true
chunk_trials = 5
[source]
kind = "block"
sectors = 3
subsectors = 2
[volatility]
model = "uniform"
low = 0.01
high = 0.02
"#;

fn study(text: &str) -> Study {
    Study::parse(text, "resume.toml").unwrap()
}

fn opts(out: &Path) -> StudyOptions {
    StudyOptions {
        threads: Some(2),
        output: Some(out.to_path_buf()),
        ..Default::default()
    }
}

fn partial(out: &Path) -> PathBuf {
    corrmc::output::partial_path(out)
}

/// An uninterrupted run of `text` into `dir/reference.h5`.
fn reference(text: &str, dir: &Path) -> PathBuf {
    let out = dir.join("reference.h5");
    let r = engine::run_study(&study(text), &opts(&out)).unwrap();
    assert!(r.complete && r.units == 5 && r.units_kept == 0);
    out
}

#[test]
fn partial_is_never_deleted_without_being_asked_and_resumes_exactly() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let refp = reference(SPEC, dir.path());
    let out = dir.path().join("r.h5");
    let s = study(SPEC);
    let r = engine::run_study(
        &s,
        &StudyOptions {
            max_units: Some(2),
            ..opts(&out)
        },
    )
    .unwrap();
    assert!(!r.complete && r.units_done == 2 && r.trials_done == 10);
    assert!(partial(&out).exists() && !out.exists());
    let before = std::fs::read(partial(&out)).unwrap();
    // A plain re-run refuses and leaves the partial untouched.
    let e = engine::run_study(&s, &opts(&out)).unwrap_err().to_string();
    assert!(e.contains("--resume") && e.contains("--overwrite"), "{e}");
    assert_eq!(std::fs::read(partial(&out)).unwrap(), before);
    // --resume and --overwrite together are contradictory.
    let e = engine::run_study(
        &s,
        &StudyOptions {
            resume: true,
            overwrite: true,
            ..opts(&out)
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("contradict"), "{e}");
    // Resume: the two verified units are kept, three computed.
    let r = engine::run_study(
        &s,
        &StudyOptions {
            resume: true,
            ..opts(&out)
        },
    )
    .unwrap();
    assert!(r.complete, "{r:?}");
    assert_eq!(
        (r.units_kept, r.units_corrupt, r.trials_computed),
        (2, 0, 14)
    );
    assert!(out.exists() && !partial(&out).exists());
    assert_same_datasets(&open(&out), &open(&refp), "resumed vs uninterrupted");
    // MinVar fails in sample on (nearly) every trial: T = 10 < n = 12.
    let f = open(&out);
    let trials = f
        .dataset("errors/trial")
        .unwrap()
        .read_raw::<u64>()
        .unwrap();
    assert!(
        trials.len() >= 20 && trials.windows(2).all(|w| w[0] <= w[1]),
        "{trials:?}"
    );
    // --resume on a finished file is a no-op, not an error.
    let r = engine::run_study(
        &s,
        &StudyOptions {
            resume: true,
            ..opts(&out)
        },
    )
    .unwrap();
    assert!(r.complete && r.trials_computed == 0);
    // --overwrite discards a partial and starts again.
    engine::run_study(
        &s,
        &StudyOptions {
            max_units: Some(1),
            overwrite: true,
            ..opts(&out)
        },
    )
    .unwrap();
    assert!(partial(&out).exists());
    let r = engine::run_study(
        &s,
        &StudyOptions {
            overwrite: true,
            ..opts(&out)
        },
    )
    .unwrap();
    assert!(r.complete && r.units_kept == 0 && r.trials_computed == 24);
}

/// A unit whose record changed on disk fails its checksum and is recomputed;
/// the result equals the uninterrupted run.
#[test]
fn corrupted_units_are_detected_and_recomputed() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    // A file source, so that /source/matrix_index is covered too.
    let m = ndarray::Array2::from_shape_fn((12, 12), |(i, j)| if i == j { 1.0 } else { 0.3 });
    let npy = dir.path().join("m.npy");
    corrmc::npy::write_npy(&npy, &m).unwrap();
    let text = SPEC.replace(
        "kind = \"block\"\nsectors = 3\nsubsectors = 2",
        &format!(
            "kind = \"file\"\npath = \"{}\"\ncycle = true",
            npy.display()
        ),
    );
    let refp = reference(&text, dir.path());
    let out = dir.path().join("c.h5");
    let s = study(&text);
    engine::run_study(
        &s,
        &StudyOptions {
            max_units: Some(4),
            ..opts(&out)
        },
    )
    .unwrap();
    // Damage units 1 and 2 on disk: a flipped byte in each record's payload (damage to the
    // last record is indistinguishable from a torn append and also recomputed).
    let scan = Journal::scan(&partial(&out)).unwrap();
    assert_eq!(scan.units.len(), 4);
    let mut bytes = std::fs::read(partial(&out)).unwrap();
    for u in [1u64, 2] {
        let (off, len) = scan.units[&(0, u)];
        bytes[(off + len / 2) as usize] ^= 0x5a;
    }
    std::fs::write(partial(&out), &bytes).unwrap();
    let r = engine::run_study(
        &s,
        &StudyOptions {
            resume: true,
            ..opts(&out)
        },
    )
    .unwrap();
    assert!(r.complete);
    assert_eq!((r.units_kept, r.units_corrupt), (2, 2), "{r:?}");
    assert_same_datasets(&open(&out), &open(&refp), "recomputed vs uninterrupted");
}

#[test]
fn resume_refuses_a_changed_spec_and_another_study() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.h5");
    let s = study(SPEC);
    engine::run_study(
        &s,
        &StudyOptions {
            max_units: Some(1),
            ..opts(&out)
        },
    )
    .unwrap();
    let before = std::fs::read(partial(&out)).unwrap();
    let resume = |text: &str, trials: Option<u64>| {
        engine::run_study(
            &study(text),
            &StudyOptions {
                resume: true,
                trials,
                ..opts(&out)
            },
        )
        .unwrap_err()
        .to_string()
    };
    let e = resume(&SPEC.replace("seed = 7", "seed = 8"), None);
    assert!(
        e.contains("refusing to resume") && e.contains("line 3") && e.contains("seed = 8"),
        "{e}"
    );
    let other = SPEC.replace("name = \"resume\"", "name = \"other\"");
    let e = resume(&other, None);
    assert!(e.contains("another study") && e.contains("'resume'"), "{e}");
    let e = resume(SPEC, Some(20));
    assert!(e.contains("--trials"), "{e}");
    // A file that is not a corrmc result at all.
    let junk = dir.path().join("j.h5");
    std::fs::write(partial(&junk), b"not hdf5").unwrap();
    let e = engine::run_study(
        &s,
        &StudyOptions {
            resume: true,
            ..opts(&junk)
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("cannot reopen") && e.contains("--overwrite"),
        "{e}"
    );
    // Nothing was touched by the refusals.
    assert_eq!(std::fs::read(partial(&out)).unwrap(), before);
}

// ---------------------------------------------------------------------------
// Processes: `corrmc run` killed or stopped from outside.

/// A slower study (tens of ms per unit on one thread) so that kills land mid-run.
const SLOW: &str = r#"
name = "slow"
seed = 11
trials = 200
assets = 80
in_sample_days = 60
out_of_sample_days = 160
methods = ["EW", "RP", "MinVar", "MinVar_long", "HRP"]
store_weights = true
chunk_trials = 8
[source]
kind = "block"
sectors = 4
subsectors = 2
"#;

/// `corrmc run ARGS` in `cwd`: the built binary.
fn corrmc_run(args: &[&str], cwd: &Path) -> Child {
    common::no_inherited_fds(&mut Command::new(env!("CARGO_BIN_EXE_corrmc")))
        .arg("run")
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait(c: Child) -> (Option<i32>, String) {
    let out = c.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn kill(c: &Child, sig: i32) {
    assert_eq!(unsafe { libc::kill(c.id() as i32, sig) }, 0);
}

/// The units safely in a checkpoint journal, after checking that each one's
/// /errors rows are there (MinVar fails in sample on nearly every trial).
fn done_units(p: &Path) -> usize {
    let scan = Journal::scan(p).unwrap();
    assert_eq!(
        scan.corrupt, 0,
        "a kill must never damage a finished record"
    );
    for (&(_, u), &(off, len)) in &scan.units {
        let rows = corrmc::journal::read_unit(p, off, len).unwrap();
        let t = &rows.errors.trial;
        let range = (u * 8)..(u * 8 + 8);
        assert!(
            !t.is_empty() && t.iter().all(|x| range.contains(x)),
            "unit {u}: error rows {t:?}"
        );
    }
    scan.units.len()
}

#[test]
fn sigkill_at_random_moments_then_resume_matches_uninterrupted() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("slow.toml"), SLOW).unwrap();
    // Reference: uninterrupted, one thread like the children, in process.
    let refp = dir.path().join("ref.h5");
    let r = engine::run_study(
        &Study::parse(SLOW, "slow.toml").unwrap(),
        &StudyOptions {
            threads: Some(1),
            ..opts(&refp)
        },
    )
    .unwrap();
    assert!(r.complete);
    // Kill moments spread over the first 60 % of an uninterrupted run's time (each
    // resume keeps what was done, so later runs are shorter).
    let span_ms = (r.elapsed_s * 600.0) as u64 + 1;
    eprintln!("uninterrupted: {:.3} s", r.elapsed_s);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill moments drawn with seed {seed}");
    let mut rng = seed | 1;
    let mut next = || {
        // xorshift64: the moments only need to be spread out, and reproducible from the seed.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let args = [
        "slow.toml",
        "-o",
        "out.h5",
        "--threads",
        "1",
        "--resume",
        "--no-summary",
    ];
    let (out, part) = (
        dir.path().join("out.h5"),
        partial(&dir.path().join("out.h5")),
    );
    let mut kills = 0;
    let mut last_done = 0;
    let t0 = Instant::now();
    while kills < 5 {
        let c = corrmc_run(&args, dir.path());
        let t_run = Instant::now();
        std::thread::sleep(Duration::from_millis(10 + next() % span_ms));
        kill(&c, libc::SIGKILL);
        let (code, err) = wait(c);
        if code == Some(0) {
            break; // finished before the kill
        }
        assert_eq!(code, None, "killed by a signal: {err}");
        kills += 1;
        eprintln!("kill {kills}: {:?} after start", t_run.elapsed());
        if part.exists() {
            let d = done_units(&part);
            assert!(d >= last_done, "done units went from {last_done} to {d}");
            eprintln!("  {d} units done");
            last_done = d;
        }
        assert!(t0.elapsed() < Duration::from_secs(120));
    }
    if !out.exists() {
        let (code, err) = wait(corrmc_run(&args, dir.path()));
        assert_eq!(code, Some(0), "{err}");
    }
    assert!(kills >= 1, "no kill landed mid-run");
    assert!(!part.exists());
    assert_same_datasets(
        &open(&out),
        &open(&refp),
        "killed and resumed vs uninterrupted",
    );
}

#[test]
fn sigterm_and_sigint_stop_gracefully_and_resume() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("slow.toml"), SLOW).unwrap();
    let refp = dir.path().join("ref.h5");
    engine::run_study(&Study::parse(SLOW, "slow.toml").unwrap(), &opts(&refp)).unwrap();
    let (out, part) = (
        dir.path().join("out.h5"),
        partial(&dir.path().join("out.h5")),
    );
    for (sig, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let args = [
            "slow.toml",
            "-o",
            "out.h5",
            "--threads",
            "1",
            "--resume",
            "--no-summary",
        ];
        let mut c = corrmc_run(&args, dir.path());
        // Wait for the first progress line (handlers installed, computing), then stop it.
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(c.stderr.take().unwrap()).lines();
        let mut err = String::new();
        for l in lines.by_ref() {
            let l = l.unwrap();
            err += &l;
            err += "\n";
            if l.contains("units done") {
                break;
            }
        }
        kill(&c, sig);
        for l in lines {
            err += &l.unwrap();
            err += "\n";
        }
        let got = c.wait().unwrap().code();
        assert_eq!(got, Some(code), "{err}");
        assert!(
            err.contains("are safe in") && err.contains("resume with") && err.contains("--resume"),
            "{err}"
        );
        assert!(part.exists() && !out.exists());
    }
    let (code, err) = wait(corrmc_run(
        &["slow.toml", "-o", "out.h5", "--resume", "--no-summary"],
        dir.path(),
    ));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("kept"), "{err}");
    assert_same_datasets(
        &open(&out),
        &open(&refp),
        "stopped and resumed vs uninterrupted",
    );
}
