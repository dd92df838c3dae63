//! `corrmc seriate`: order a matrix with an R `seriation` method; `--list` lists methods and criteria.

use crate::seriation::{Control, criteria, methods, seriate_with};
use anyhow::{Context, Result, bail};
use ndarray::Array2;
use std::path::{Path, PathBuf};

/// `corrmc seriate --method NAME --input MATRIX.npy [--criteria all] [--seed S] [--json]`,
/// or `corrmc seriate --list`.
#[derive(clap::Args, Debug, Clone)]
pub struct SeriateArgs {
    /// Seriation method, by its R name (see --list).
    #[arg(long, required_unless_present = "list")]
    pub method: Option<String>,
    /// Square f64 matrix in .npy format: a correlation matrix (default) or, with
    /// --distance, a distance matrix.
    #[arg(long, required_unless_present = "list")]
    pub input: Option<PathBuf>,
    /// The input is already a distance matrix (else d = sqrt((1 − ρ)/2)).
    #[arg(long)]
    pub distance: bool,
    /// Criteria to report: "all" or a comma-separated list of R names.
    #[arg(long)]
    pub criteria: Option<String>,
    /// Seed of the method's random stream (stochastic methods).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Control parameter override, KEY=VALUE (repeatable), e.g. max_nodes=1e9.
    #[arg(long = "control", value_name = "KEY=VALUE")]
    pub control: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// List methods and criteria with their descriptions.
    #[arg(long)]
    pub list: bool,
}

/// A criterion's value, or why it is undefined for this input.
pub(crate) type CriterionValue = (&'static str, Result<f64, String>);

pub(crate) fn print_criteria(vals: &[CriterionValue]) {
    for (k, v) in vals {
        let merit = if criteria::merit(k).unwrap_or(false) {
            "larger is better"
        } else {
            "smaller is better"
        };
        match v {
            Ok(v) => println!("  {k:18} {v:>22.12}   ({merit})"),
            Err(why) => println!("  {k:18} {:>22}   ({why})", "undefined"),
        }
    }
}

/// JSON of criterion values: (`{name: value}`, `{name: reason undefined}`).
pub(crate) fn criteria_json(vals: &[CriterionValue]) -> (serde_json::Value, serde_json::Value) {
    let mut ok = serde_json::Map::new();
    let mut undefined = serde_json::Map::new();
    for (k, v) in vals {
        match v {
            Ok(v) => ok.insert(k.to_string(), serde_json::json!(v)),
            Err(why) => undefined.insert(k.to_string(), serde_json::json!(why)),
        };
    }
    (ok.into(), undefined.into())
}

/// Every criterion of `order`, each on its own (see [`criteria::each_criterion`]).
pub(crate) fn evaluate(d: &Array2<f64>, order: &[usize]) -> Result<Vec<CriterionValue>> {
    Ok(criteria::each_criterion(d.view(), order)?
        .into_iter()
        .map(|(k, v)| (k, v.map_err(|e| e.to_string())))
        .collect())
}

pub fn run(args: &SeriateArgs) -> Result<()> {
    if args.list {
        let ms = methods();
        let cs = criteria::criteria();
        if args.json {
            let m: Vec<_> = ms
                .iter()
                .map(|m| serde_json::json!({"name": m.name, "description": m.description,
                    "control": m.control.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<std::collections::BTreeMap<_,_>>(),
                    "stochastic": m.stochastic}))
                .collect();
            let c: Vec<_> = cs
                .iter()
                .map(|c| serde_json::json!({"name": c.name, "description": c.description, "merit": c.merit, "note": c.note}))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"methods": m, "criteria": c}))?
            );
        } else {
            println!("Seriation methods ({}), R seriation 1.4.1 names:", ms.len());
            for m in &ms {
                let ctl: Vec<String> = m.control.iter().map(|(k, v)| format!("{k}={v}")).collect();
                println!(
                    "  {:14} {}{}\n  {:14} {}",
                    m.name,
                    if m.stochastic { "[stochastic] " } else { "" },
                    m.description.lines().next().unwrap_or(""),
                    "",
                    if ctl.is_empty() {
                        "control: none".to_string()
                    } else {
                        format!("control: {}", ctl.join(", "))
                    }
                );
            }
            println!("\nCriteria ({}):", cs.len());
            for c in &cs {
                println!(
                    "  {:18} {} ({}){}",
                    c.name,
                    c.description,
                    if c.merit {
                        "larger is better"
                    } else {
                        "smaller is better"
                    },
                    if c.note.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", c.note)
                    }
                );
            }
        }
        return Ok(());
    }
    let method = args.method.as_deref().context("--method is required")?;
    let input = args.input.as_deref().context("--input is required")?;
    if let Some(list) = args.criteria.as_deref().filter(|l| *l != "all") {
        let known: Vec<&str> = criteria::criteria().iter().map(|c| c.name).collect();
        if let Some(bad) = list.split(',').map(str::trim).find(|n| !known.contains(n)) {
            bail!(
                "--criteria: unknown criterion '{bad}'; valid: all, or a comma-separated list of: {}",
                known.join(", ")
            );
        }
    }
    let d = read_distance(input, args.distance)?;
    let control = Control::parse(&args.control).context("--control")?;
    let mut rng = crate::rng::method_stream(args.seed, method, 0);
    let t = std::time::Instant::now();
    let s = seriate_with(method, d.view(), &mut rng, &control)
        .with_context(|| format!("seriate {method}"))?;
    let secs = t.elapsed().as_secs_f64();
    let known: Vec<&str> = criteria::criteria().iter().map(|c| c.name).collect();
    let wanted: Option<Vec<String>> = match args.criteria.as_deref() {
        None => None,
        Some("all") => Some(known.iter().map(|c| c.to_string()).collect()),
        Some(list) => Some(list.split(',').map(|x| x.trim().to_string()).collect()),
    };
    let mut vals = Vec::new();
    if let Some(w) = &wanted {
        vals = evaluate(&d, &s.order)?
            .into_iter()
            .filter(|(k, _)| w.iter().any(|x| x == k))
            .collect();
    }
    if args.json {
        let (crit, undefined) = criteria_json(&vals);
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "method": method, "n": d.nrows(), "seed": args.seed, "order": s.order,
                "exact": s.exact, "seconds": secs, "criteria": crit, "undefined": undefined}))?
        );
    } else {
        println!(
            "method {method} (n = {}, seed {}): {:.3} ms",
            d.nrows(),
            args.seed,
            secs * 1e3
        );
        if let Some(e) = s.exact {
            println!(
                "exact: {e}{}",
                if e {
                    ""
                } else {
                    " (stopped at its budget; best order found)"
                }
            );
        }
        println!("order (0-based): {}", serde_json::to_string(&s.order)?);
        if !vals.is_empty() {
            println!("criteria:");
            print_criteria(&vals);
        }
    }
    Ok(())
}

/// Reads a square, finite, symmetric f64 matrix and returns distances.
pub fn read_distance(path: &Path, is_distance: bool) -> Result<Array2<f64>> {
    let m: Array2<f64> = ndarray_npy::read_npy(path)
        .with_context(|| format!("{}: cannot read a 2-D f64 .npy array", path.display()))?;
    let (r, c) = m.dim();
    if r != c {
        bail!("{}: matrix is {r}x{c}, not square", path.display());
    }
    if r < 1 {
        bail!("{}: empty matrix", path.display());
    }
    for ((i, j), &x) in m.indexed_iter() {
        if !x.is_finite() {
            bail!("{}: entry ({i}, {j}) is {x}", path.display());
        }
        let y = m[(j, i)];
        if (x - y).abs() > 1e-10 * (1.0 + x.abs()) {
            bail!(
                "{}: not symmetric: ({i}, {j}) = {x}, ({j}, {i}) = {y}",
                path.display()
            );
        }
    }
    // Symmetrize from the lower triangle (R's as.dist keeps the lower triangle).
    let mut d = if is_distance {
        m
    } else {
        crate::cluster::corr_to_dist(m.view())
    };
    for i in 0..r {
        for j in (i + 1)..r {
            d[(i, j)] = d[(j, i)];
        }
    }
    if let Some(((i, j), x)) = d.indexed_iter().find(|(_, x)| **x < 0.0) {
        bail!("{}: distance ({i}, {j}) = {x} is negative", path.display());
    }
    Ok(d)
}
