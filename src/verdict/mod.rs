//! The stability verdict of a study: which allocator is more stable out of sample,
//! by how much, and how sure we are.
//!
//! - [`study`] reads one study group of a result file (the root of a plain run or
//!   `/points/<k>` of a sweep), never the whole file at once;
//! - [`paired`] compares every method with a baseline (paired differences, t and
//!   bootstrap intervals, win rates), ranks methods with intervals and describes
//!   each measure's distribution by quantiles;
//! - [`bootstrap`] is the seeded paired trial bootstrap (percentile intervals);
//! - [`dist`] is Student's t.
//!
//! `corrmc summary FILE --baseline M` prints it; `corrmc report` draws it.

pub mod bootstrap;
pub mod dist;
pub mod paired;
pub mod study;
pub mod taxonomy;
pub mod text;

use crate::Error;
use serde::Serialize;
use std::path::Path;

pub use paired::{Options, StudyVerdict, verdict};
pub use study::{Better, FileInfo, MEASURES, Measure, Study};

/// The verdict of every study group of a file.
#[derive(Clone, Debug, Serialize)]
pub struct FileVerdict {
    pub file: FileInfo,
    /// One per study group, in grid order; `params` are the swept values.
    pub studies: Vec<PointVerdict>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PointVerdict {
    pub params: Vec<String>,
    #[serde(flatten)]
    pub verdict: StudyVerdict,
}

/// Reads `path` group by group and computes each group's verdict.
pub fn analyse(path: &Path, opts: &Options) -> Result<FileVerdict, Error> {
    opts.validate().map_err(Error::Other)?;
    let f = study::open(path)?;
    let info = study::file_info(path, &f)?;
    let mut studies = Vec::new();
    for (g, params) in info.groups.iter().zip(&info.params) {
        let s = Study::read(path, &f, g)?;
        let v = verdict(&s, opts, info.seed).map_err(|e| Error::io(path, e))?;
        studies.push(PointVerdict {
            params: params.clone(),
            verdict: v,
        });
    }
    Ok(FileVerdict {
        file: info,
        studies,
    })
}
