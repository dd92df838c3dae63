//! corrmc: a Monte Carlo engine for synthetic correlation studies.
//!
//! Per trial: draw a true correlation matrix ([`corr`]), simulate in-sample and
//! out-of-sample Gaussian returns ([`simulate`]), compute each allocator's weights
//! on the in-sample estimate ([`alloc`]) and record in-sample, out-of-sample and
//! true volatility and stability measures ([`metrics`]), streamed to HDF5
//! ([`output`]). See README.md for the file layout and the CLI.

pub mod alloc;
pub mod asrp;
pub mod checkpoint;
pub mod cli;
pub mod cluster;
pub mod corr;
pub mod engine;
pub mod error;
pub mod inspect;
pub mod journal;
pub mod linalg;
pub mod merge;
pub mod metrics;
#[cfg(feature = "mpi")]
pub mod mpirun;
pub mod nearest;
pub mod npy;
pub mod onnx;
pub mod output;
pub mod plan;
pub mod provenance;
pub mod report;
pub mod rng;
pub mod seriation;
pub mod shipped;
pub mod simd;
pub mod simulate;
pub mod spec;
pub mod stop;
pub mod summary;
pub mod sweep;
pub mod training;
pub mod verdict;

pub use error::{Error, MethodError, MethodErrorKind};
