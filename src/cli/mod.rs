//! The `corrmc` command line: one module per subcommand, each with its clap arguments and a
//! `run` function; `src/main.rs` only parses and dispatches.

pub mod allocate;
pub mod common;
pub mod criteria;
pub mod export_training;
pub mod inspect;
pub mod merge;
pub mod methods;
pub mod plan;
pub mod repair;
pub mod report;
pub mod run;
pub mod sample;
pub mod seriate;
pub mod summary;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "corrmc",
    version,
    about = "Monte Carlo engine for synthetic correlation studies: which allocator is stable out of sample?"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run an experiment spec (TOML); with no spec, the embedded quick-start experiment.
    Run(run::RunArgs),
    /// Combine the shard files of `run --shard i/k` into the study's result file.
    Merge(merge::MergeArgs),
    /// Grid points, work units and estimated memory, output size and CPU time of a spec or sweep.
    Plan(plan::PlanArgs),
    /// Per-method statistics and the paired verdict against a baseline (a sweep: one block per grid point).
    Summary(summary::SummaryArgs),
    /// HTML report, figures (SVG, PNG) and report.json of a result file.
    Report(report::ReportArgs),
    /// List the registered allocation methods.
    Methods(methods::MethodsArgs),
    /// Weights of one allocator for a covariance matrix (.npy or CSV).
    Allocate(allocate::AllocateArgs),
    /// Repair a matrix to the nearest correlation matrix (Frobenius norm) and print the diagnostics.
    Repair(repair::RepairArgs),
    /// Write a bank of repaired correlation matrices (e.g. CorrGAN samples) to HDF5.
    Sample(sample::SampleArgs),
    /// Stylized facts of a correlation source or bank (mean correlation, first eigenvalue, MST degrees, ...).
    Inspect(inspect::InspectArgs),
    /// Write DHRP training data (HRP-ordered in-sample covariances, features, true and
    /// out-of-sample covariances, train/validation/test split) for a spec; see models/dhrp/README.md.
    ExportTraining(export_training::ExportTrainingArgs),
    /// Order a distance (or correlation) matrix with an R `seriation` method; `--list` lists methods and criteria.
    Seriate(seriate::SeriateArgs),
    /// All 16 seriation criteria of a given order.
    Criteria(criteria::CriteriaArgs),
}

/// Runs one parsed command.
pub fn dispatch(cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Run(a) => run::run(a),
        Command::Merge(a) => merge::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Summary(a) => summary::run(a),
        Command::Report(a) => report::run(a),
        Command::Methods(a) => methods::run(a),
        Command::Allocate(a) => allocate::run(a),
        Command::Repair(a) => Ok(repair::run(a)?),
        Command::Sample(a) => Ok(sample::run(a)?),
        Command::Inspect(a) => Ok(inspect::run(a)?),
        Command::ExportTraining(a) => export_training::run(a),
        Command::Seriate(a) => seriate::run(a),
        Command::Criteria(a) => criteria::run(a),
    }
}
