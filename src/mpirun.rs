//! `corrmc run SPEC --mpi` under `mpirun -n K`: the study's work units split
//! over K MPI ranks (contiguous slices of the global unit range, as `--shard r/K`),
//! rayon threads inside each rank, and rank 0 writing the one result file —
//! identical to a single-machine run, since rank 0 appends the units it receives
//! to the same checkpoint journal a single run writes and assembles it the same
//! way (README "Running on a cluster").
//!
//! MPI is initialized with `MPI_THREAD_FUNNELED`: only each rank's main thread
//! calls MPI; rayon's workers only compute. Protocol (all to rank 0 except the
//! start broadcast):
//! - rank 0 reads the journal (`--resume`) and broadcasts a go flag and, per
//!   global unit, whether it is still to do (a refusal broadcasts "no go" and
//!   every rank exits with the error printed once, by rank 0);
//! - every other rank sends its session provenance ([`TAG_SESSION`]), each unit it
//!   computes as an encoded journal payload ([`TAG_UNIT`]), then either
//!   [`TAG_FINISHED`] or, on an error, [`TAG_FAILED`] with the message;
//! - rank 0 appends what it receives between its own units and, after them,
//!   waits for every rank. A failed rank makes rank 0 print the rank, its host
//!   and its error, and abort the job (`MPI_Abort`); every unit received so far is
//!   synced in the journal, so `--resume` continues from there.

use crate::Error;
use crate::engine::{self, Peers, ProgressMode, StudyOptions, StudyReport};
use crate::journal::{Journal, Shard};
use crate::sweep::Study;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

const TAG_UNIT: i32 = 1;
const TAG_FAILED: i32 = 2;
const TAG_FINISHED: i32 = 3;
const TAG_SESSION: i32 = 4;

/// What one rank reports when it is done.
pub enum Outcome {
    /// Rank 0: the study's report.
    Root(StudyReport),
    /// Another rank: nothing to print.
    Worker,
    /// Another rank, released because rank 0 refused the run (and printed why).
    Refused,
}

/// This rank's place in the job, for messages.
pub fn whoami(world: &SimpleCommunicator) -> String {
    format!(
        "rank {} of {} on {}",
        world.rank(),
        world.size(),
        crate::provenance::host()
    )
}

struct Rank0<'a> {
    world: &'a SimpleCommunicator,
    started: bool,
    finished: Vec<bool>,
    hosts: Vec<String>,
}

impl Rank0<'_> {
    fn broadcast_start(&mut self, todo: Option<&[bool]>) {
        let root = self.world.process_at_rank(0);
        let mut go: u8 = u8::from(todo.is_some());
        root.broadcast_into(&mut go);
        if let Some(todo) = todo {
            let mut n = todo.len() as u64;
            root.broadcast_into(&mut n);
            let mut flags: Vec<u8> = todo.iter().map(|&t| u8::from(t)).collect();
            root.broadcast_into(&mut flags[..]);
        }
        self.started = true;
    }

    fn handle(
        &mut self,
        msg: (mpi::point_to_point::Message, mpi::point_to_point::Status),
        journal: &mut Journal,
        got: &mut Vec<(u32, u64)>,
    ) -> Result<(), Error> {
        let (bytes, status) = msg.matched_receive_vec::<u8>();
        let rank = status.source_rank() as usize;
        match status.tag() {
            TAG_UNIT => {
                if bytes.len() < 12 {
                    return Err(Error::Other(format!(
                        "MPI rank {rank} sent a truncated unit"
                    )));
                }
                let point = u32::from_le_bytes(bytes[..4].try_into().unwrap_or_default());
                let unit = u64::from_le_bytes(bytes[4..12].try_into().unwrap_or_default());
                journal.append_encoded(point, unit, &bytes[12..])?;
                got.push((point, unit));
            }
            TAG_SESSION => {
                let v: serde_json::Value =
                    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
                if let Some(h) = v.get("host").and_then(|h| h.as_str()) {
                    self.hosts[rank] = h.to_string();
                }
                journal.append_session(&v)?;
            }
            TAG_FINISHED => self.finished[rank] = true,
            TAG_FAILED => {
                return Err(Error::Other(format!(
                    "MPI rank {rank} (on {}) failed: {}",
                    self.hosts[rank],
                    String::from_utf8_lossy(&bytes)
                )));
            }
            t => {
                return Err(Error::Other(format!(
                    "MPI rank {rank} sent unknown tag {t}"
                )));
            }
        }
        Ok(())
    }
}

impl Peers for Rank0<'_> {
    fn my_range(&self, total: u64) -> std::ops::Range<u64> {
        let s = Shard::of(0, self.world.size() as u64, total);
        s.start..s.end
    }

    fn start(&mut self, todo: &[bool]) -> Result<(), Error> {
        self.broadcast_start(Some(todo));
        Ok(())
    }

    fn collect(&mut self, journal: &mut Journal, wait: bool) -> Result<Vec<(u32, u64)>, Error> {
        let mut got = Vec::new();
        let any = self.world.any_process();
        while let Some(msg) = any.immediate_matched_probe() {
            self.handle(msg, journal, &mut got)?;
        }
        if wait {
            while self.finished.iter().skip(1).any(|f| !f) {
                let msg = any.matched_probe();
                self.handle(msg, journal, &mut got)?;
            }
        }
        Ok(got)
    }
}

/// Runs this rank's part of the study. Errors on rank 0 are the job's errors;
/// on other ranks, `Err` has been reported to rank 0 (or the job was refused
/// before it started, which rank 0 reports).
pub fn run(
    world: &SimpleCommunicator,
    study: &Study,
    opts: &StudyOptions,
) -> Result<Outcome, Error> {
    if world.rank() == 0 {
        let mut root = Rank0 {
            world,
            started: false,
            finished: vec![false; world.size() as usize],
            hosts: vec!["?".to_string(); world.size() as usize],
        };
        let r = engine::run_study_with(study, opts, Some(&mut root));
        if r.is_err() && !root.started {
            // Refused before any work: release the other ranks.
            root.broadcast_start(None);
        }
        return r.map(Outcome::Root);
    }
    worker(world, study, opts)
}

/// A rank other than 0: computes its slice of the units still to do and sends them.
fn worker(
    world: &SimpleCommunicator,
    study: &Study,
    opts: &StudyOptions,
) -> Result<Outcome, Error> {
    let root = world.process_at_rank(0);
    let mut go = 0u8;
    root.broadcast_into(&mut go);
    if go == 0 {
        return Ok(Outcome::Refused);
    }
    let mut n = 0u64;
    root.broadcast_into(&mut n);
    let mut todo = vec![0u8; n as usize];
    root.broadcast_into(&mut todo[..]);
    let result = compute_slice(world, study, opts, &todo);
    match &result {
        Ok(()) => root.send_with_tag(&[0u8][..], TAG_FINISHED),
        Err(e) => root.send_with_tag(e.to_string().as_bytes(), TAG_FAILED),
    }
    result.map(|()| Outcome::Worker)
}

fn compute_slice(
    world: &SimpleCommunicator,
    study: &Study,
    opts: &StudyOptions,
    todo: &[u8],
) -> Result<(), Error> {
    let root = world.process_at_rank(0);
    let threads = engine::check_options(&engine::RunOptions {
        threads: opts.threads,
        trials: opts.trials,
        ..Default::default()
    })?;
    let session = crate::provenance::session(
        threads,
        Some(format!("mpi rank {}/{}", world.rank(), world.size())),
    );
    root.send_with_tag(session.to_string().as_bytes(), TAG_SESSION);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Other(format!("cannot start {threads} worker threads: {e}")))?;
    let fp = engine::fingerprint(study, opts.trials);
    let (offsets, total) = engine::unit_offsets(&fp);
    if total as usize != todo.len() {
        return Err(Error::Other(format!(
            "rank 0 has {} units, this rank's study has {total}: do all ranks read the same spec?",
            todo.len()
        )));
    }
    let mine = Shard::of(world.rank() as u64, world.size() as u64, total);
    let _guard = opts.handle_signals.then(crate::stop::install);
    let progress = engine::Progress::new(ProgressMode::Hidden, 0, 0, 0, 0);
    for (k, pt) in study.points.iter().enumerate() {
        let (t, c) = (fp.trials[k], fp.chunk_trials[k]);
        let units: Vec<u64> = (0..crate::checkpoint::unit_count(t, c))
            .filter(|&u| {
                let g = offsets[k] + u;
                (mine.start..mine.end).contains(&g) && todo[g as usize] == 1
            })
            .collect();
        if units.is_empty() {
            continue;
        }
        let pr = engine::prepare(&pt.spec)?;
        for u in units {
            if opts.handle_signals && crate::stop::requested().is_some() {
                return Ok(());
            }
            let r = crate::checkpoint::unit_trials(t, c, u);
            let n_diag = pr.n_diagnostics();
            let Some(rows) = engine::compute_unit(
                &pt.spec,
                &pr,
                &pool,
                r,
                engine::trials_in_flight(&pt.spec, threads, t, opts.memory),
                n_diag,
                opts.handle_signals,
                &progress,
            )?
            else {
                return Ok(());
            };
            let mut b = Vec::new();
            b.extend_from_slice(&(k as u32).to_le_bytes());
            b.extend_from_slice(&u.to_le_bytes());
            b.extend_from_slice(&crate::journal::encode(&rows));
            root.send_with_tag(&b[..], TAG_UNIT);
        }
    }
    Ok(())
}
