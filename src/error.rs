//! Errors. Study-level errors ([`Error`]) stop a command with a message that names
//! the file, key or line and what would be valid. Per-method failures
//! ([`MethodError`]) never stop a study: they are recorded for that trial and method.

use std::path::PathBuf;

/// A study-level error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An experiment spec is malformed or asks for something impossible.
    #[error("{file}: {message}")]
    Spec { file: String, message: String },
    /// An input matrix (file or generated) is not what it must be.
    #[error("{origin}: {message}")]
    Matrix { origin: String, message: String },
    /// A model file is missing, corrupt or has the wrong shapes.
    #[error("model {path}: {message}")]
    Model { path: PathBuf, message: String },
    /// Reading or writing a file failed.
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    /// Anything else, with context.
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn spec(file: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Spec {
            file: file.into(),
            message: message.into(),
        }
    }
    pub fn matrix(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Matrix {
            origin: origin.into(),
            message: message.into(),
        }
    }
    pub fn io(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Error::Io {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// Why a method produced no weights for a trial. The discriminant is the status
/// code stored in the output (`/status`, 0 = ok).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MethodErrorKind {
    /// The covariance (or a block of it) is not positive definite (e.g. T < n,
    /// duplicated assets).
    NotPositiveDefinite = 1,
    /// An asset has zero (or negative) estimated variance.
    ZeroVariance = 2,
    /// An input or intermediate value is NaN or infinite.
    NonFinite = 3,
    /// An iterative solver did not reach its tolerance within its budget.
    NoConvergence = 4,
    /// The method cannot handle this input for another stated reason.
    Unsupported = 5,
}

impl MethodErrorKind {
    pub const ALL: [MethodErrorKind; 5] = [
        MethodErrorKind::NotPositiveDefinite,
        MethodErrorKind::ZeroVariance,
        MethodErrorKind::NonFinite,
        MethodErrorKind::NoConvergence,
        MethodErrorKind::Unsupported,
    ];
    pub fn code(self) -> u8 {
        self as u8
    }
    pub fn label(self) -> &'static str {
        match self {
            MethodErrorKind::NotPositiveDefinite => "not_positive_definite",
            MethodErrorKind::ZeroVariance => "zero_variance",
            MethodErrorKind::NonFinite => "non_finite",
            MethodErrorKind::NoConvergence => "no_convergence",
            MethodErrorKind::Unsupported => "unsupported",
        }
    }
}

/// A per-method, per-trial failure.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct MethodError {
    pub kind: MethodErrorKind,
    pub message: String,
}

impl MethodError {
    pub fn new(kind: MethodErrorKind, message: impl Into<String>) -> Self {
        MethodError {
            kind,
            message: message.into(),
        }
    }
}
