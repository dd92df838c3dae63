//! `corrmc run`: run (or resume) a spec or a sweep.

use crate::engine::{self, ProgressMode, StudyOptions};
use crate::spec::Spec;
use crate::sweep::Study;
use anyhow::Result;
use std::io::IsTerminal;
use std::path::PathBuf;

/// `corrmc run [SPEC] [--threads N] [--output PATH] [--overwrite | --resume] [--force] [--trials K] [--no-summary]`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Experiment spec (TOML), e.g. experiments/blog-replication.toml (a `[sweep]` runs every
    /// grid point into one file); without it, the embedded quick-start experiment.
    pub spec: Option<PathBuf>,
    /// Worker threads, 1 to 4x the cores (default: all cores). Results do not depend on it.
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65536))]
    pub threads: Option<usize>,
    /// Output file (default: the spec's `output`, else results/<name>.h5).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Replace the output file if it exists, or discard an interrupted run's `.partial`.
    #[arg(long)]
    pub overwrite: bool,
    /// Continue an interrupted run from `<output>.partial`: units whose checksums verify are
    /// kept, the rest recomputed (a fresh run if there is none; a no-op if already complete).
    #[arg(long)]
    pub resume: bool,
    /// Run even if the estimated memory or output size exceeds what this machine has.
    #[arg(long)]
    pub force: bool,
    /// Run only this many trials per grid point (overrides the spec's `trials`; 1 to 1e9).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=crate::spec::MAX_TRIALS))]
    pub trials: Option<u64>,
    /// Do not print the summary table when done.
    #[arg(long)]
    pub no_summary: bool,
    /// Compute only shard INDEX of COUNT (0-based, e.g. 2/8): a contiguous slice of the
    /// study's work units, written to `<output>.shard-INDEX-of-COUNT`; combine the COUNT
    /// shards with `corrmc merge`. Resumable with --resume like any run.
    #[arg(long, value_name = "INDEX/COUNT", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// Memory budget for the trials sampled and computed at once (e.g. 4G, 512M, 2.5GB; default:
    /// half the available memory): peak memory stays flat in the number of trials. Results
    /// do not depend on it.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory: Option<f64>,
    /// Under `mpirun -n K`: split the units over the K ranks (each with --threads workers);
    /// rank 0 writes the output, identical to a single-machine run. Needs a corrmc built
    /// with `--features mpi` (as `./dev` builds it).
    #[arg(long)]
    pub mpi: bool,
}

/// Parses a size in bytes: a number with an optional K, M, G or T suffix (powers of 1024,
/// optionally followed by B or iB).
pub fn parse_size(s: &str) -> Result<f64, String> {
    let bad = || {
        format!("expected a size such as 512M, 4G or 2.5GB (K, M, G, T: powers of 1024), got '{s}'")
    };
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1024f64,
                'M' => 1024f64.powi(2),
                'G' => 1024f64.powi(3),
                'T' => 1024f64.powi(4),
                _ => return Err(bad()),
            };
            (&t[..i], m)
        }
        _ => (t, 1.0),
    };
    let v: f64 = num.trim().parse().map_err(|_| bad())?;
    let bytes = v * mult;
    if !(bytes >= 1.0 && bytes.is_finite()) {
        return Err(bad());
    }
    Ok(bytes)
}

/// Parses `--shard INDEX/COUNT` (0 <= INDEX < COUNT).
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || {
        format!(
            "expected INDEX/COUNT with 0 <= INDEX < COUNT <= 1000000 (0-based), e.g. 0/4; got '{s}'"
        )
    };
    let (i, k) = s.split_once('/').ok_or_else(bad)?;
    let i: u64 = i.trim().parse().map_err(|_| bad())?;
    let k: u64 = k.trim().parse().map_err(|_| bad())?;
    crate::engine::check_shard(i, k).map_err(|_| bad())?;
    Ok((i, k))
}

/// Quotes an argument for a POSIX shell when it needs it.
fn shell_quote(a: &str) -> String {
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

/// This invocation with `--resume` (and without `--overwrite`): what continues it.
pub fn resume_command(argv: &[String]) -> String {
    let mut out: Vec<String> = argv
        .iter()
        .filter(|a| a.as_str() != "--overwrite")
        .map(|a| shell_quote(a))
        .collect();
    if !argv.iter().any(|a| a == "--resume") {
        out.push("--resume".into());
    }
    out.join(" ")
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

pub fn run(args: &RunArgs) -> Result<()> {
    if args.mpi {
        #[cfg(feature = "mpi")]
        return run_mpi(args);
        #[cfg(not(feature = "mpi"))]
        anyhow::bail!(
            "--mpi: this corrmc was built without MPI support; build it with \
             `cargo build --release --features mpi` (needs OpenMPI and libclang; `./dev setup` \
             installs them), or split the study with --shard i/k and `corrmc merge`"
        );
    }
    run_local(args, None)
}

/// `run --mpi`: every rank runs this; only rank 0 reports.
#[cfg(feature = "mpi")]
fn run_mpi(args: &RunArgs) -> Result<()> {
    use mpi::traits::Communicator;
    let Some((universe, threading)) = mpi::initialize_with_threading(mpi::Threading::Funneled)
    else {
        anyhow::bail!("--mpi: MPI is already initialized");
    };
    if threading < mpi::Threading::Funneled {
        anyhow::bail!(
            "--mpi: this MPI library grants {threading:?} threading, corrmc needs Funneled \
             (rayon threads compute, the main thread alone calls MPI)"
        );
    }
    let world = universe.world();
    if world.rank() == 0 {
        if let Err(e) = run_local(args, Some(&world)) {
            // The other ranks may be waiting for work: end the whole job (MPI_Abort).
            eprintln!("error: {e:#}");
            world.abort(1);
        }
        return Ok(());
    }
    // A worker's own error (printed with its rank): exit without MPI_Finalize, so that
    // mpirun ends the job and names the rank.
    let failed = |e: anyhow::Error| -> Result<()> {
        eprintln!("error: corrmc ({}): {e:#}", crate::mpirun::whoami(&world));
        std::process::exit(1)
    };
    let study = match load_study(args) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let opts = study_options(args);
    match crate::mpirun::run(&world, &study, &opts) {
        Ok(crate::mpirun::Outcome::Refused) => std::process::exit(1),
        Ok(_) => Ok(()),
        Err(e) => failed(e.into()),
    }
}

fn load_study(args: &RunArgs) -> Result<Study> {
    Ok(match &args.spec {
        Some(p) => Study::from_file(p)?,
        None => Study::single(Spec::quickstart()),
    })
}

fn study_options(args: &RunArgs) -> StudyOptions {
    StudyOptions {
        threads: args.threads,
        output: args.output.clone(),
        overwrite: args.overwrite,
        resume: args.resume,
        force: args.force,
        progress: if std::io::stderr().is_terminal() {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines
        },
        trials: args.trials,
        handle_signals: true,
        max_units: None,
        shard: args.shard,
        memory: args.memory,
    }
}

#[cfg(feature = "mpi")]
type World<'a> = Option<&'a mpi::topology::SimpleCommunicator>;
#[cfg(not(feature = "mpi"))]
type World<'a> = Option<&'a ()>;

/// A run on this machine, or rank 0 of an MPI run (`world`).
fn run_local(args: &RunArgs, world: World<'_>) -> Result<()> {
    engine::check_options(&engine::RunOptions {
        threads: args.threads,
        trials: args.trials,
        ..Default::default()
    })?;
    let study = load_study(args)?;
    let opts = study_options(args);
    let first = &study.points[0].spec;
    let shard_note = args
        .shard
        .map_or(String::new(), |(i, k)| format!(", shard {i}/{k}"));
    if study.is_sweep() {
        eprintln!(
            "corrmc: running sweep '{}' ({} points over {}; {} trials{shard_note}) from {}",
            study.name,
            study.points.len(),
            study.keys.join(", "),
            study.total_trials(args.trials),
            study.origin
        );
    } else {
        eprintln!(
            "corrmc: running '{}' ({} trials, {} assets, {} methods{shard_note}) from {}",
            first.raw.name,
            args.trials.unwrap_or(first.raw.trials),
            first.raw.assets,
            first.methods.len(),
            study.origin
        );
    }
    let report = match world {
        #[cfg(feature = "mpi")]
        Some(w) => match crate::mpirun::run(w, &study, &opts) {
            Ok(crate::mpirun::Outcome::Root(r)) => r,
            Ok(_) => unreachable!("rank 0 always reports"),
            Err(e) => {
                use mpi::traits::Communicator;
                let out = args.output.clone().unwrap_or_else(|| study.output.clone());
                let argv: Vec<String> = std::env::args().collect();
                eprintln!(
                    "error: {e}\ncorrmc: the units received so far are safe in {}; after fixing \
                     the cause, resume with:\n  mpirun ... {}",
                    crate::output::partial_path(&out).display(),
                    resume_command(&argv)
                );
                w.abort(1);
            }
        },
        _ => engine::run_study(&study, &opts)?,
    };
    if report.units_kept > 0 || report.units_corrupt > 0 {
        eprintln!(
            "corrmc: resumed: kept {} of {} units verified by checksum{}",
            report.units_kept,
            report.units,
            if report.units_corrupt > 0 {
                format!("; {} corrupted unit(s) recomputed", report.units_corrupt)
            } else {
                String::new()
            }
        );
    }
    if !report.complete {
        let sig = report.stopped_by.unwrap_or(libc::SIGTERM);
        let argv: Vec<String> = std::env::args().collect();
        eprintln!(
            "corrmc: stopped by {}: {} of {} trials ({} of {} units) are safe in {}\n\
             corrmc: resume with:\n  {}",
            signal_name(sig),
            report.trials_done,
            report.trials,
            report.units_done,
            report.units,
            report.output.display(),
            resume_command(&argv)
        );
        std::process::exit(crate::stop::exit_code(sig));
    }
    #[cfg(feature = "mpi")]
    let ranks = world.map_or(String::new(), |w| {
        use mpi::traits::Communicator;
        format!("{} MPI ranks × ", w.size())
    });
    #[cfg(not(feature = "mpi"))]
    let ranks = world.map_or(String::new(), |_| String::new());
    eprintln!(
        "corrmc: {} trials in {:.2} s on {ranks}{} threads ({:.0} trials/s) -> {}{}",
        report.trials_computed,
        report.elapsed_s,
        report.threads,
        report.trials_computed as f64 / report.elapsed_s.max(1e-9),
        report.output.display(),
        if report.failures > 0 {
            format!(
                " ({} per-method failures recorded in /errors)",
                report.failures
            )
        } else {
            String::new()
        }
    );
    if let Some((i, k)) = args.shard {
        let out = args.output.clone().unwrap_or_else(|| study.output.clone());
        eprintln!(
            "corrmc: shard {i}/{k} complete ({} units). When all {k} shards are done, merge them:\n  \
             corrmc merge -o {} {}",
            report.units,
            shell_quote(&out.display().to_string()),
            shell_quote(&format!("{}.shard-*-of-{k}", out.display()))
        );
        return Ok(());
    }
    if !args.no_summary {
        let s = crate::summary::summarize(&report.output)?;
        print!(
            "{}",
            crate::summary::render(&s, "spec").map_err(anyhow::Error::msg)?
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("512M"), Ok(512.0 * 1024.0 * 1024.0));
        assert_eq!(parse_size("4G"), Ok(4.0 * 1024f64.powi(3)));
        assert_eq!(parse_size("2.5GB"), Ok(2.5 * 1024f64.powi(3)));
        assert_eq!(parse_size("1KiB"), Ok(1024.0));
        assert_eq!(parse_size("1000"), Ok(1000.0));
        for bad in ["", "0", "-1G", "x", "4Q", "G", "nan", "inf"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resume_command_adds_resume_and_drops_overwrite() {
        let argv: Vec<String> = [
            "corrmc",
            "run",
            "my spec.toml",
            "--overwrite",
            "-o",
            "out.h5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            resume_command(&argv),
            "corrmc run 'my spec.toml' -o out.h5 --resume"
        );
        let argv: Vec<String> = ["corrmc", "run", "a.toml", "--resume"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(resume_command(&argv), "corrmc run a.toml --resume");
    }
}
