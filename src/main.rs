//! The `corrmc` command line.
use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use corrmc::alloc::{self, Context, Estimate};
use corrmc::engine::{self, RunOptions};
use corrmc::spec::Spec;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "corrmc",
    version,
    about = "Monte Carlo engine for synthetic correlation studies: which allocator is stable out of sample?"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an experiment spec (TOML); with no spec, the embedded quick-start experiment.
    Run {
        /// Experiment spec, e.g. experiments/blog-replication.toml.
        spec: Option<PathBuf>,
        /// Worker threads (default: all cores). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Output file (default: the spec's `output`).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Replace the output file if it exists.
        #[arg(long)]
        overwrite: bool,
        /// Run only this many trials (overrides the spec).
        #[arg(long)]
        trials: Option<u64>,
        /// Print the summary table when done.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        summary: bool,
    },
    /// Per-method statistics of a result file.
    Summary {
        file: PathBuf,
        /// Rank methods by: spec (no ranking), oos_vol, ratio, turnover, true_vol.
        #[arg(long, default_value = "spec")]
        sort: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List the registered allocation methods.
    Methods {
        #[arg(long)]
        json: bool,
    },
    /// Order a distance (or correlation) matrix with an R `seriation` method; `--list` lists methods and criteria.
    Seriate(corrmc::seriation::cli::SeriateArgs),
    /// All 16 seriation criteria of a given order.
    Criteria(corrmc::seriation::cli::CriteriaArgs),
    /// Repair a matrix to the nearest correlation matrix (Frobenius norm) and print the diagnostics.
    Repair(corrmc::cli_corrgan::RepairArgs),
    /// Write a bank of repaired correlation matrices (e.g. CorrGAN samples) to HDF5.
    Sample(corrmc::cli_corrgan::SampleArgs),
    /// Stylized facts of a correlation source or bank (mean correlation, first eigenvalue, MST degrees, ...).
    Inspect(corrmc::cli_corrgan::InspectArgs),
    /// Weights of one allocator for a covariance matrix (.npy or CSV).
    Allocate {
        #[arg(long, short)]
        method: String,
        /// Covariance matrix, .npy (f64/f32) or CSV.
        #[arg(long)]
        cov: String,
        #[arg(long)]
        json: bool,
        /// Seed for stochastic methods.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Write DHRP training data (HRP-ordered in-sample covariances, features, true and
    /// out-of-sample covariances, train/validation/test split) for a spec; see models/dhrp/README.md.
    ExportTraining {
        /// Experiment spec whose source, seed and sample lengths are used.
        spec: PathBuf,
        #[arg(long, short)]
        output: PathBuf,
        /// Number of trials (default: the spec's `trials`).
        #[arg(long)]
        trials: Option<u64>,
        /// Fraction of trials (by index, after the training ones) for validation.
        #[arg(long, default_value_t = 0.1)]
        val_fraction: f64,
        /// Fraction of trials (the last ones) held out for testing.
        #[arg(long, default_value_t = 0.1)]
        test_fraction: f64,
        #[arg(long)]
        overwrite: bool,
        /// Worker threads (default: all cores). The file does not depend on it.
        #[arg(long)]
        threads: Option<usize>,
    },
}

fn main() {
    // Die quietly on a closed pipe (`corrmc seriate --list | head`) like other Unix tools,
    // instead of panicking in println!.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    if let Err(e) = dispatch(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run {
            spec,
            threads,
            output,
            overwrite,
            trials,
            summary,
        } => {
            let spec = match spec {
                Some(p) => Spec::from_file(&p)?,
                None => Spec::quickstart(),
            };
            let opts = RunOptions {
                threads,
                output,
                overwrite,
                progress: std::io::stderr().is_terminal(),
                trials,
            };
            eprintln!(
                "corrmc: running '{}' ({} trials, {} assets, {} methods) from {}",
                spec.raw.name,
                trials.unwrap_or(spec.raw.trials),
                spec.raw.assets,
                spec.methods.len(),
                spec.origin
            );
            let report = engine::run(&spec, &opts)?;
            eprintln!(
                "corrmc: {} trials in {:.2} s on {} threads ({:.0} trials/s) -> {}{}",
                report.trials,
                report.elapsed_s,
                report.threads,
                report.trials as f64 / report.elapsed_s,
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
            if summary {
                let s = corrmc::summary::summarize(&report.output)?;
                print!(
                    "{}",
                    corrmc::summary::render(&s, "spec").map_err(anyhow::Error::msg)?
                );
            }
        }
        Command::Summary { file, sort, json } => {
            let s = corrmc::summary::summarize(&file)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                print!(
                    "{}",
                    corrmc::summary::render(&s, &sort).map_err(anyhow::Error::msg)?
                );
            }
        }
        Command::ExportTraining {
            spec,
            output,
            trials,
            val_fraction,
            test_fraction,
            overwrite,
            threads,
        } => {
            let spec = Spec::from_file(&spec)?;
            let trials = trials.unwrap_or(spec.raw.trials);
            let splits = corrmc::training::Splits {
                val: val_fraction,
                test: test_fraction,
            };
            let mut pool = rayon::ThreadPoolBuilder::new();
            if let Some(t) = threads {
                pool = pool.num_threads(t);
            }
            let pool = pool.build()?;
            let r = pool
                .install(|| corrmc::training::export(&spec, &output, trials, splits, overwrite))?;
            eprintln!(
                "corrmc: {} trials ({} train, {} validation, {} test) in {:.2} s -> {}",
                r.trials,
                r.train,
                r.val,
                r.test,
                r.elapsed_s,
                output.display()
            );
        }
        Command::Repair(args) => corrmc::cli_corrgan::run_repair(&args)?,
        Command::Sample(args) => corrmc::cli_corrgan::run_sample(&args)?,
        Command::Inspect(args) => corrmc::cli_corrgan::run_inspect(&args)?,
        Command::Seriate(args) => corrmc::seriation::cli::run_seriate(&args)?,
        Command::Criteria(args) => corrmc::seriation::cli::run_criteria(&args)?,
        Command::Methods { json } => {
            let reg = alloc::registry();
            if json {
                let v: Vec<_> = reg
                    .iter()
                    .map(|m| serde_json::json!({"name": m.name, "family": m.family, "description": m.description, "reference": m.reference}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{:<16} {:<18} description [reference]", "name", "family");
                for m in reg {
                    println!(
                        "{:<16} {:<18} {} [{}]",
                        m.name, m.family, m.description, m.reference
                    );
                }
            }
        }
        Command::Allocate {
            method,
            cov,
            json,
            seed,
        } => {
            let names =
                alloc::resolve(std::slice::from_ref(&method)).map_err(anyhow::Error::msg)?;
            let m = corrmc::npy::read_matrix(&cov)?;
            check_covariance(&m)
                .with_context(|| format!("{cov}: not a valid covariance matrix"))?;
            let est = Estimate::new(m);
            let mut out = Vec::new();
            for name in names {
                let a = alloc::build_with(name, &alloc::Control::default())
                    .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
                let w = a
                    .allocate(
                        &est,
                        &Context {
                            seed,
                            trial: 0,
                            out_of_sample: false,
                        },
                    )
                    .map_err(|e| anyhow::anyhow!("{name}: {}", e.message))?;
                alloc::check_weights(&w, est.n())
                    .map_err(|e| anyhow::anyhow!("{name}: {}", e.message))?;
                out.push((name, w));
            }
            if json {
                let v: serde_json::Map<String, serde_json::Value> = out
                    .iter()
                    .map(|(n, w)| (n.to_string(), serde_json::json!(w.to_vec())))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for (n, w) in out {
                    println!(
                        "{n}: {}",
                        w.iter()
                            .map(|x| format!("{x:.10}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                }
            }
        }
    }
    Ok(())
}

/// Square, finite, symmetric (relative 1e-10), non-negative diagonal.
fn check_covariance(m: &ndarray::Array2<f64>) -> Result<()> {
    let n = m.nrows();
    for i in 0..n {
        for j in 0..n {
            let v = m[(i, j)];
            if !v.is_finite() {
                bail!("entry ({i}, {j}) is {v}; all entries must be finite");
            }
            let scale = (m[(i, i)].abs() * m[(j, j)].abs())
                .sqrt()
                .max(f64::MIN_POSITIVE);
            if (v - m[(j, i)]).abs() > 1e-10 * scale {
                bail!(
                    "not symmetric: ({i}, {j}) = {v} but ({j}, {i}) = {}",
                    m[(j, i)]
                );
            }
        }
        if m[(i, i)] < 0.0 {
            bail!("diagonal entry ({i}, {i}) = {} is negative", m[(i, i)]);
        }
    }
    Ok(())
}
