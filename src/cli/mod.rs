//! Subcommands, one module each: a clap `Args` struct and `run(&Args)`.

pub mod plan;
pub mod run;
