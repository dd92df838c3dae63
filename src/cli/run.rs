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
    engine::check_options(&engine::RunOptions {
        threads: args.threads,
        trials: args.trials,
        ..Default::default()
    })?;
    let study = match &args.spec {
        Some(p) => Study::from_file(p)?,
        None => Study::single(Spec::quickstart()),
    };
    let opts = StudyOptions {
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
    };
    let first = &study.points[0].spec;
    if study.is_sweep() {
        eprintln!(
            "corrmc: running sweep '{}' ({} points over {}; {} trials) from {}",
            study.name,
            study.points.len(),
            study.keys.join(", "),
            study.total_trials(args.trials),
            study.origin
        );
    } else {
        eprintln!(
            "corrmc: running '{}' ({} trials, {} assets, {} methods) from {}",
            first.raw.name,
            args.trials.unwrap_or(first.raw.trials),
            first.raw.assets,
            first.methods.len(),
            study.origin
        );
    }
    let report = engine::run_study(&study, &opts)?;
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
    eprintln!(
        "corrmc: {} trials in {:.2} s on {} threads ({:.0} trials/s) -> {}{}",
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
