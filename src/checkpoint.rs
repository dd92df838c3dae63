//! Work units, their checksums and the study fingerprint: what makes a run
//! resumable (and, later, splittable into shards).
//!
//! A study is a list of grid points (one for a plain spec); point *p* with *T*
//! trials and `chunk_trials` = *c* has ⌈T / c⌉ units, unit *u* covering trials
//! `u·c .. min((u+1)·c, T)`. Units are numbered point by point ("global unit
//! index"), so any contiguous range of global indices is a well-defined slice of
//! the work, independent of threads or machines. Boundaries sit on multiples of
//! `chunk_trials` of the point's own spec, so the datasets do not depend on how
//! the units are scheduled.
//!
//! A unit also carries exact (fixed-point) sums of the per-trial portfolio-return
//! correlations of its trials, per absolute block of 100 trials
//! ([`SimilaritySums`]): integer sums add up to the same `/method_similarity`
//! whatever the unit boundaries, and in whatever order units are combined.
//!
//! When a unit completes, its rows and a done flag with an FNV-1a checksum of
//! those rows are written (the flag last) and flushed; on resume a unit counts as
//! done only if its rows, read back from disk, hash to the stored checksum.

use crate::metrics::N_METRICS;
use crate::verdict::taxonomy::SimilaritySums;
use ndarray::{Array1, Array2, Array3};
use std::ops::Range;

/// 64-bit FNV-1a (Fowler–Noll–Vo): a simple, dependency-free hash that detects
/// accidental corruption (torn writes, flipped bytes); not a cryptographic MAC.
#[derive(Clone, Copy, Debug)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    pub fn write_u64(&mut self, v: u64) {
        self.write(&v.to_le_bytes());
    }
    /// Hashes a length first, so that adjacent fields cannot alias.
    pub fn write_str(&mut self, s: &str) {
        self.write_u64(s.len() as u64);
        self.write(s.as_bytes());
    }
    pub fn write_f64s<'a>(&mut self, v: impl IntoIterator<Item = &'a f64>) {
        for x in v {
            self.write(&x.to_bits().to_le_bytes());
        }
    }
    pub fn finish(self) -> u64 {
        self.0
    }
}

/// Number of units of a point with `trials` trials in chunks of `chunk`.
pub fn unit_count(trials: u64, chunk: u64) -> u64 {
    trials.div_ceil(chunk.max(1))
}

/// The trials of unit `u`.
pub fn unit_trials(trials: u64, chunk: u64, u: u64) -> Range<u64> {
    let start = u * chunk;
    start..(start + chunk).min(trials)
}

/// The per-method error rows of one unit, in trial order (within a trial: method
/// order, in-sample before out-of-sample), the order of the final `/errors`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ErrorRows {
    pub trial: Vec<u64>,
    pub method: Vec<u64>,
    pub side: Vec<u64>,
    pub code: Vec<u64>,
    pub message: Vec<String>,
}

impl ErrorRows {
    pub fn len(&self) -> usize {
        self.trial.len()
    }
    pub fn is_empty(&self) -> bool {
        self.trial.is_empty()
    }
    pub fn extend(&mut self, other: &ErrorRows) {
        self.trial.extend_from_slice(&other.trial);
        self.method.extend_from_slice(&other.method);
        self.side.extend_from_slice(&other.side);
        self.code.extend_from_slice(&other.code);
        self.message.extend(other.message.iter().cloned());
    }
}

/// Everything a unit stores, exactly as written to (or read back from) the file.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitRows {
    /// Per metric (order of [`crate::metrics::METRICS`]): [trials × methods].
    pub metrics: Vec<Array2<f64>>,
    pub status: Array2<u8>,
    pub status_oos: Array2<u8>,
    pub method_info: Array2<f64>,
    /// [trials × methods × assets], if the study stores weights.
    pub weights: Option<Array3<f64>>,
    /// Per source diagnostic: [trials].
    pub diagnostics: Vec<Array1<f64>>,
    pub errors: ErrorRows,
    /// Fixed-point sums of the methods' portfolio-return correlations per block of
    /// 100 trials that the unit touches (exact, so units add up to the same
    /// `/method_similarity` however the trials are chunked).
    pub similarity: SimilaritySums,
}

impl UnitRows {
    /// Rows of the trials `start ..` from their results.
    pub fn from_results(
        start: u64,
        results: &[crate::output::TrialResult],
        methods: usize,
        assets: usize,
        store_weights: bool,
        n_diagnostics: usize,
    ) -> UnitRows {
        let (k, m) = (results.len(), methods);
        let metrics = (0..N_METRICS)
            .map(|j| Array2::from_shape_fn((k, m), |(r, c)| results[r].metrics[c][j]))
            .collect();
        let weights = store_weights.then(|| {
            Array3::from_shape_fn((k, m, assets), |(r, c, i)| {
                results[r].weights.as_ref().map_or(f64::NAN, |w| w[c][i])
            })
        });
        let diagnostics = (0..n_diagnostics)
            .map(|j| {
                Array1::from_iter(
                    results
                        .iter()
                        .map(|r| r.diagnostics.get(j).copied().unwrap_or(f64::NAN)),
                )
            })
            .collect();
        let mut errors = ErrorRows::default();
        let mut similarity = SimilaritySums::covering(m, start..start + k as u64);
        for (r, res) in results.iter().enumerate() {
            similarity.add_trial(start + r as u64, &res.similarity);
            for (mi, oos, err) in &res.errors {
                errors.trial.push(start + r as u64);
                errors.method.push(*mi as u64);
                errors.side.push(*oos as u64);
                errors.code.push(err.kind.code() as u64);
                errors.message.push(err.message.clone());
            }
        }
        UnitRows {
            metrics,
            status: Array2::from_shape_fn((k, m), |(r, c)| results[r].status[c]),
            status_oos: Array2::from_shape_fn((k, m), |(r, c)| results[r].status_oos[c]),
            method_info: Array2::from_shape_fn((k, m), |(r, c)| results[r].notes[c]),
            weights,
            diagnostics,
            errors,
            similarity,
        }
    }

    /// FNV-1a over every stored byte (f64 by bit pattern, so NaN payloads count).
    pub fn checksum(&self) -> u64 {
        let mut h = Fnv64::default();
        h.write_u64(self.status.nrows() as u64);
        h.write_u64(self.status.ncols() as u64);
        for a in &self.metrics {
            h.write_f64s(a.iter());
        }
        h.write(&self.status.iter().copied().collect::<Vec<u8>>());
        h.write(&self.status_oos.iter().copied().collect::<Vec<u8>>());
        h.write_f64s(self.method_info.iter());
        if let Some(w) = &self.weights {
            h.write_u64(w.len() as u64);
            h.write_f64s(w.iter());
        }
        for d in &self.diagnostics {
            h.write_f64s(d.iter());
        }
        let e = &self.errors;
        h.write_u64(e.len() as u64);
        for i in 0..e.len() {
            h.write_u64(e.trial[i]);
            h.write_u64(e.method[i]);
            h.write_u64(e.side[i]);
            h.write_u64(e.code[i]);
            h.write_str(&e.message[i]);
        }
        let sim = &self.similarity;
        h.write_u64(sim.first_block);
        h.write_u64(sim.blocks() as u64);
        for v in &sim.sum {
            h.write(&v.to_le_bytes());
        }
        for &c in &sim.count {
            h.write_u64(c);
        }
        // 0 marks "no checksum" in the file; never produce it.
        h.finish().max(1)
    }
}

/// What identifies a study: a result file may only be resumed by the same spec
/// text, corrmc version and git revision, with the same number of trials.
#[derive(Clone, Debug, PartialEq)]
pub struct Fingerprint {
    pub spec: String,
    pub corrmc_version: String,
    pub git_revision: String,
    /// Effective trials per grid point (after `--trials`).
    pub trials: Vec<u64>,
    /// `chunk_trials` per grid point (unit boundaries).
    pub chunk_trials: Vec<u64>,
}

impl Fingerprint {
    /// This binary's fingerprint of a study.
    pub fn of(spec_text: &str, trials: Vec<u64>, chunk_trials: Vec<u64>) -> Fingerprint {
        Fingerprint {
            spec: spec_text.to_string(),
            corrmc_version: env!("CARGO_PKG_VERSION").to_string(),
            git_revision: env!("CORRMC_GIT_REV").to_string(),
            trials,
            chunk_trials,
        }
    }

    /// A short hex digest (stored as the root attribute `fingerprint`).
    pub fn digest(&self) -> String {
        let mut h = Fnv64::default();
        h.write_str("corrmc-study-v1");
        h.write_str(&self.spec);
        h.write_str(&self.corrmc_version);
        h.write_str(&self.git_revision);
        h.write_u64(self.trials.len() as u64);
        for (t, c) in self.trials.iter().zip(&self.chunk_trials) {
            h.write_u64(*t);
            h.write_u64(*c);
        }
        format!("{:016x}", h.finish())
    }

    /// `None` if equal, else what differs (for a refusal message).
    pub fn difference(&self, stored: &Fingerprint) -> Option<String> {
        if self.spec != stored.spec {
            let line = self
                .spec
                .lines()
                .zip(stored.spec.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| self.spec.lines().count().min(stored.spec.lines().count()));
            let show = |t: &str| t.lines().nth(line).unwrap_or("<end of text>").to_string();
            return Some(format!(
                "the spec text differs (first at line {}: file has `{}`, this spec has `{}`)",
                line + 1,
                show(&stored.spec),
                show(&self.spec)
            ));
        }
        if self.corrmc_version != stored.corrmc_version {
            return Some(format!(
                "it was written by corrmc {}, this is corrmc {}",
                stored.corrmc_version, self.corrmc_version
            ));
        }
        if self.git_revision != stored.git_revision {
            return Some(format!(
                "it was written by git revision {}, this binary is {}",
                stored.git_revision, self.git_revision
            ));
        }
        if self.trials != stored.trials {
            return Some(format!(
                "its trials per point are {:?}, this run asks for {:?} (check --trials)",
                stored.trials, self.trials
            ));
        }
        if self.chunk_trials != stored.chunk_trials {
            return Some(format!(
                "its chunk_trials per point are {:?}, this run has {:?}",
                stored.chunk_trials, self.chunk_trials
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_reference_values() {
        // Published FNV-1a 64 test vectors (Fowler/Noll/Vo reference code).
        let h = |s: &[u8]| {
            let mut f = Fnv64::default();
            f.write(s);
            f.finish()
        };
        assert_eq!(h(b""), 0xcbf29ce484222325);
        assert_eq!(h(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(h(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn units_cover_trials_on_chunk_multiples() {
        assert_eq!(unit_count(10, 4), 3);
        assert_eq!(unit_trials(10, 4, 0), 0..4);
        assert_eq!(unit_trials(10, 4, 2), 8..10);
        assert_eq!(unit_count(8, 4), 2);
        assert_eq!(unit_count(1, 256), 1);
    }

    #[test]
    fn fingerprint_names_what_differs() {
        let a = Fingerprint::of("a = 1\nb = 2\n", vec![10], vec![4]);
        assert_eq!(a.difference(&a.clone()), None);
        let b = Fingerprint::of("a = 1\nb = 3\n", vec![10], vec![4]);
        let d = a.difference(&b).unwrap();
        assert!(d.contains("line 2") && d.contains("b = 3"), "{d}");
        assert_ne!(a.digest(), b.digest());
        let mut c = a.clone();
        c.git_revision = "deadbeef".into();
        assert!(a.difference(&c).unwrap().contains("deadbeef"));
        let e = Fingerprint::of("a = 1\nb = 2\n", vec![12], vec![4]);
        assert!(a.difference(&e).unwrap().contains("--trials"));
    }
}
