//! The command line, one module per subcommand (each an `Args` struct and a `run`).

pub mod report;
pub mod summary;
