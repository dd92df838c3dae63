//! `corrmc methods`: the registered allocators.

use crate::alloc;
use anyhow::Result;

/// `corrmc methods [--json]`.
#[derive(clap::Args, Debug, Clone)]
pub struct MethodsArgs {
    /// Print JSON (name, family, description, reference) instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &MethodsArgs) -> Result<()> {
    let reg = alloc::registry();
    if args.json {
        let v: Vec<_> = reg
            .iter()
            .map(|m| serde_json::json!({"name": m.name, "family": m.family, "description": m.description, "reference": m.reference}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let w = reg.iter().map(|m| m.name.len()).max().unwrap_or(4).max(4);
        let f = reg.iter().map(|m| m.family.len()).max().unwrap_or(6).max(6);
        println!("{:<w$} {:<f$} description [reference]", "name", "family");
        for m in reg {
            println!(
                "{:<w$} {:<f$} {} [{}]",
                m.name, m.family, m.description, m.reference
            );
        }
    }
    Ok(())
}
