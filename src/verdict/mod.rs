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

/// The verdict in long format: one record per (study group, method, measure), with
/// `point` (the group's index), the swept keys as fields (their values as JSON, as in
/// `/sweep/values`), then the method's distribution of the measure (`n`, `mean`, `sd`,
/// `min`, `q05` … `max`), its ranking (`rank`, `rank_ci`, `mean_t_ci`, `mean_boot_ci`,
/// `mean_loss`; judged measures only) and the paired comparison with the baseline
/// (`diff`, `diff_t_ci`, `diff_boot_ci`, `rel`, `rel_t_ci`, `rel_boot_ci`, `win_rate`,
/// `tie_rate`, `pairs`, `pairs_excluded`, `t`, `p_value`; absent for the baseline and
/// for descriptive measures). `pandas.DataFrame(doc["verdict_rows"])` is one long table.
pub fn long_rows(v: &FileVerdict) -> Vec<serde_json::Value> {
    use serde_json::{Map, Value, json};
    let mut rows = Vec::new();
    for (k, p) in v.studies.iter().enumerate() {
        let sv = &p.verdict;
        for ms in &sv.methods {
            for (measure, d) in &ms.distributions {
                let mut r = Map::new();
                r.insert("point".into(), k.into());
                r.insert("group".into(), sv.group.clone().into());
                for (key, x) in v.file.sweep_keys.iter().zip(&p.params) {
                    let val = serde_json::from_str::<Value>(x).unwrap_or_else(|_| x.clone().into());
                    r.insert(key.clone(), val);
                }
                r.insert("method".into(), ms.method.clone().into());
                r.insert("measure".into(), (*measure).into());
                r.insert("baseline".into(), sv.baseline.clone().into());
                r.insert("is_baseline".into(), (ms.method == sv.baseline).into());
                r.insert("trials_run".into(), sv.trials_run.into());
                r.insert("trials_failed".into(), ms.trials_failed.into());
                r.insert("level".into(), sv.level.into());
                if let Value::Object(o) = json!(d) {
                    r.extend(o);
                }
                let ranked = sv
                    .rankings
                    .iter()
                    .find(|x| x.measure == *measure)
                    .and_then(|x| {
                        x.entries
                            .iter()
                            .find(|e| e.method == ms.method)
                            .map(|e| (x.better, e))
                    });
                if let Some((better, e)) = ranked {
                    r.insert("better".into(), json!(better));
                    r.insert("rank".into(), e.rank.into());
                    r.insert("rank_ci".into(), json!(e.rank_ci));
                    r.insert("mean_t_ci".into(), json!(e.t_ci));
                    r.insert("mean_boot_ci".into(), json!(e.boot_ci));
                    r.insert("mean_loss".into(), json!(e.mean_loss));
                }
                if let Some(x) = sv
                    .paired
                    .iter()
                    .find(|x| x.measure == *measure && x.method == ms.method)
                {
                    r.insert("diff".into(), json!(x.t.diff));
                    r.insert("diff_t_ci".into(), json!(x.t.ci));
                    r.insert("diff_boot_ci".into(), json!(x.boot_ci));
                    r.insert("rel".into(), json!(x.rel));
                    r.insert("rel_t_ci".into(), json!(x.rel_t_ci));
                    r.insert("rel_boot_ci".into(), json!(x.rel_boot_ci));
                    r.insert("win_rate".into(), json!(x.win_rate));
                    r.insert("tie_rate".into(), json!(x.tie_rate));
                    r.insert("pairs".into(), x.t.n.into());
                    r.insert("pairs_excluded".into(), x.t.excluded.into());
                    r.insert("t".into(), json!(x.t.t));
                    r.insert("p_value".into(), json!(x.t.p_value));
                }
                rows.push(Value::Object(r));
            }
        }
    }
    rows
}
