//! `corrmc criteria`: all 16 seriation criteria of a given order.

use super::seriate::{criteria_json, evaluate, print_criteria, read_distance};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// `corrmc criteria --input MATRIX.npy --order ORDER`: all 16 criteria of an order.
#[derive(clap::Args, Debug, Clone)]
pub struct CriteriaArgs {
    /// Square f64 matrix in .npy format (correlation, or distance with --distance).
    #[arg(long)]
    pub input: PathBuf,
    /// The order: a file holding a JSON list or one index per line (0-based), or an
    /// inline JSON list such as "[2,0,1]".
    #[arg(long)]
    pub order: String,
    /// The input is already a distance matrix.
    #[arg(long)]
    pub distance: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// An order given inline as a JSON list, or as a file holding a JSON list or one 0-based
/// index per line.
fn parse_order(spec: &str) -> Result<Vec<usize>> {
    let path = Path::new(spec);
    let inline = spec.trim_start().starts_with('[');
    let text = if !inline && path.is_file() {
        std::fs::read_to_string(path).with_context(|| format!("--order: reading {spec}"))?
    } else if !inline
        && !spec
            .trim()
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace())
    {
        bail!(
            "--order: file '{spec}' not found; give a file (JSON list or one 0-based index per line) \
             or an inline JSON list such as \"[2,0,1]\""
        );
    } else {
        spec.to_string()
    };
    let t = text.trim();
    if t.is_empty() {
        bail!("--order {spec}: empty order");
    }
    if t.starts_with('[') {
        return serde_json::from_str::<Vec<usize>>(t).with_context(|| {
            format!("--order {spec}: not a JSON list of 0-based indices such as [2,0,1]")
        });
    }
    t.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim().parse::<usize>().with_context(|| {
                format!("--order {spec}: '{l}' is not a 0-based index (one per line)")
            })
        })
        .collect()
}

pub fn run(args: &CriteriaArgs) -> Result<()> {
    let d = read_distance(&args.input, args.distance)?;
    let order = parse_order(&args.order)?;
    crate::seriation::validate_order(&order, d.nrows())
        .with_context(|| format!("order for {}", args.input.display()))?;
    let vals = evaluate(&d, &order)?;
    if args.json {
        let (crit, undefined) = criteria_json(&vals);
        let mut out = crit.as_object().cloned().unwrap_or_default();
        if undefined.as_object().is_some_and(|u| !u.is_empty()) {
            out.insert("undefined".into(), undefined);
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::Value::Object(out))?
        );
    } else {
        print_criteria(&vals);
    }
    Ok(())
}
