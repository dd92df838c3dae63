//! The checkpoint journal: `<output>.partial`, an append-only file of work-unit
//! records that survives `kill -9` at any instant.
//!
//! Why not checkpoint inside the HDF5 file: HDF5 writes its metadata (B-trees,
//! heaps, the superblock's end-of-allocation) in cache order, not dependency
//! order, so a process killed during `H5Fflush` can leave a file whose earlier,
//! flushed units are unreadable (measured: "addr overflow … eoa" after a kill).
//! An append-only log only ever adds bytes after what is already there: a kill
//! leaves at worst a torn last record, detected by its checksum and cut off on
//! resume. The finished study is then assembled into the HDF5 result file (the
//! layout of README "Output layout"), and the journal removed.
//!
//! Format (little-endian):
//! - header: `CORRMC-JOURNAL-1\n`, u64 length, the study [`Fingerprint`] as
//!   JSON, u64 FNV-1a of that JSON;
//! - records: a 4-byte tag, u32 point, u64 unit, u64 payload length, payload,
//!   u64 FNV-1a checksum. Tags: `UNIT` (a unit's rows, see [`encode`]; checksum of
//!   (point, unit, payload)); `PROV` (a run session's provenance as JSON, see
//!   [`crate::provenance::session`]) and `DONE` (a finished shard, JSON), both
//!   with point = unit = 0 and the checksum of (tag, payload).
//!
//! The header JSON also carries [`Meta`]: where the spec came from (so that
//! `corrmc merge` can rebuild the layout from shard files alone), the `--trials`
//! override and, for a shard, its slice of the global unit range. A shard file
//! is a journal with a `DONE` record after its last unit, renamed from
//! `<shard>.partial` to `<shard>` (README "Running on a cluster").
//!
//! The payload ends with the unit's similarity sums: u64 first block, u64 blocks,
//! then i128 sums and u64 counts, each [blocks × 2 × M(M+1)/2].
//!
//! A unit may appear more than once (recomputed after its record was found
//! corrupt); the last valid record wins. Each append is followed by
//! `fdatasync`, so a unit reported done also survives a machine crash.

use crate::Error;
use crate::checkpoint::{ErrorRows, Fingerprint, Fnv64, UnitRows};
use crate::verdict::taxonomy::{FIXED_POINT_BITS, SIMILARITY_BLOCK, SimilaritySums, pair_count};
use ndarray::{Array1, Array2, Array3};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"CORRMC-JOURNAL-1\n";
const UNIT: &[u8; 4] = b"UNIT";
const PROV: &[u8; 4] = b"PROV";
const DONE: &[u8; 4] = b"DONE";
const TAGS: [&[u8; 4]; 3] = [UNIT, PROV, DONE];
/// Magic, point, unit, length.
const RECORD_HEAD: usize = 4 + 4 + 8 + 8;

/// Serializes a unit's rows (the record payload).
pub fn encode(r: &UnitRows) -> Vec<u8> {
    let (k, m) = r.status.dim();
    let mut b = Vec::new();
    let u = |b: &mut Vec<u8>, v: u64| b.extend_from_slice(&v.to_le_bytes());
    let f = |b: &mut Vec<u8>, v: &mut dyn Iterator<Item = &f64>| {
        for x in v {
            b.extend_from_slice(&x.to_bits().to_le_bytes());
        }
    };
    u(&mut b, k as u64);
    u(&mut b, m as u64);
    u(&mut b, r.metrics.len() as u64);
    for a in &r.metrics {
        f(&mut b, &mut a.iter());
    }
    b.extend(r.status.iter());
    b.extend(r.status_oos.iter());
    f(&mut b, &mut r.method_info.iter());
    match &r.weights {
        Some(w) => {
            u(&mut b, w.dim().2 as u64);
            f(&mut b, &mut w.iter());
        }
        None => u(&mut b, u64::MAX),
    }
    u(&mut b, r.diagnostics.len() as u64);
    for d in &r.diagnostics {
        f(&mut b, &mut d.iter());
    }
    let e = &r.errors;
    u(&mut b, e.len() as u64);
    for i in 0..e.len() {
        for v in [e.trial[i], e.method[i], e.side[i], e.code[i]] {
            u(&mut b, v);
        }
        u(&mut b, e.message[i].len() as u64);
        b.extend_from_slice(e.message[i].as_bytes());
    }
    let sim = &r.similarity;
    u(&mut b, sim.first_block);
    u(&mut b, sim.blocks() as u64);
    for v in &sim.sum {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for &c in &sim.count {
        u(&mut b, c);
    }
    b
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len())?;
        let s = &self.b[self.at..end];
        self.at = end;
        Some(s)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn len(&mut self, per: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        // A length that cannot fit in what is left is corruption, not an allocation.
        (n.checked_mul(per)? <= self.b.len() - self.at).then_some(n)
    }
    fn f64s(&mut self, n: usize) -> Option<Vec<f64>> {
        let s = self.take(n.checked_mul(8)?)?;
        Some(
            s.chunks_exact(8)
                .map(|c| f64::from_bits(u64::from_le_bytes(c.try_into().unwrap())))
                .collect(),
        )
    }
}

/// Parses a payload written by [`encode`] (None if malformed).
pub fn decode(b: &[u8]) -> Option<UnitRows> {
    let mut c = Cursor { b, at: 0 };
    let k = c.len(1)?;
    let m = c.len(1)?;
    let km = k.checked_mul(m)?;
    let nm = c.len(km.max(1) * 8)?;
    let mut metrics = Vec::with_capacity(nm);
    for _ in 0..nm {
        metrics.push(Array2::from_shape_vec((k, m), c.f64s(km)?).ok()?);
    }
    let status = Array2::from_shape_vec((k, m), c.take(km)?.to_vec()).ok()?;
    let status_oos = Array2::from_shape_vec((k, m), c.take(km)?.to_vec()).ok()?;
    let method_info = Array2::from_shape_vec((k, m), c.f64s(km)?).ok()?;
    let na = c.u64()?;
    let weights = if na == u64::MAX {
        None
    } else {
        let n = usize::try_from(na).ok()?;
        let len = km.checked_mul(n)?;
        Some(Array3::from_shape_vec((k, m, n), c.f64s(len)?).ok()?)
    };
    let nd = c.len(k.max(1) * 8)?;
    let mut diagnostics = Vec::with_capacity(nd);
    for _ in 0..nd {
        diagnostics.push(Array1::from(c.f64s(k)?));
    }
    let ne = c.len(40)?;
    let mut errors = ErrorRows::default();
    for _ in 0..ne {
        errors.trial.push(c.u64()?);
        errors.method.push(c.u64()?);
        errors.side.push(c.u64()?);
        errors.code.push(c.u64()?);
        let l = c.len(1)?;
        errors
            .message
            .push(String::from_utf8(c.take(l)?.to_vec()).ok()?);
    }
    // Similarity sums (blocks × 2 sides × pairs): as many blocks as k trials can
    // touch, each count at most the block's trials, each sum within ±count·2^96.
    let first_block = c.u64()?;
    let pairs = pair_count(m);
    let nb = c.len(2 * pairs.max(1) * 24)?;
    let max_blocks = match k {
        0 => 0,
        _ => (k as u64 - 1).div_ceil(SIMILARITY_BLOCK) as usize + 1,
    };
    if (k > 0 && nb == 0) || nb > max_blocks {
        return None;
    }
    let n = nb * 2 * pairs;
    let sum: Vec<i128> = c
        .take(n * 16)?
        .chunks_exact(16)
        .map(|x| i128::from_le_bytes(x.try_into().unwrap()))
        .collect();
    let mut count = Vec::with_capacity(n);
    for _ in 0..n {
        count.push(c.u64()?);
    }
    let bound = k.min(SIMILARITY_BLOCK as usize) as u64;
    let plausible = sum
        .iter()
        .zip(&count)
        .all(|(&s, &n)| n <= bound && s.unsigned_abs() <= (n as u128) << FIXED_POINT_BITS);
    let similarity = SimilaritySums {
        methods: m,
        first_block,
        sum: Array3::from_shape_vec((nb, 2, pairs), sum).ok()?,
        count: Array3::from_shape_vec((nb, 2, pairs), count).ok()?,
    };
    (plausible && c.at == b.len()).then_some(UnitRows {
        metrics,
        status,
        status_oos,
        method_info,
        weights,
        diagnostics,
        errors,
        similarity,
    })
}

fn record_sum(tag: &[u8], point: u32, unit: u64, payload: &[u8]) -> u64 {
    let mut h = Fnv64::default();
    // Unit records hash as they always did; the others include their tag.
    if tag != UNIT {
        h.write(tag);
    }
    h.write(&point.to_le_bytes());
    h.write_u64(unit);
    h.write(payload);
    h.finish()
}

/// Where each unit's last valid record lies.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    /// (point, unit) → (payload offset, payload length).
    pub units: BTreeMap<(u32, u64), (u64, u64)>,
    /// Records whose checksum or framing failed (their units are recomputed).
    pub corrupt: u64,
    /// End of the last valid record: anything after it is a torn append.
    pub valid_end: u64,
    /// The provenance of every run session, in order.
    pub sessions: Vec<serde_json::Value>,
    /// The last `DONE` record, if no unit record follows it.
    pub done: Option<serde_json::Value>,
}

impl Scan {
    fn record(
        &mut self,
        tag: &[u8; 4],
        point: u32,
        unit: u64,
        off: u64,
        len: usize,
        payload: &[u8],
    ) {
        if tag == UNIT {
            self.units.insert((point, unit), (off, len as u64));
            self.done = None;
        } else {
            let v = serde_json::from_slice(payload).unwrap_or(serde_json::Value::Null);
            if tag == PROV {
                self.sessions.push(v);
            } else {
                self.done = Some(v);
            }
        }
    }

    /// Scans `all` (the file's bytes from offset `base`), skipping damaged records.
    fn scan_bytes(&mut self, all: &[u8], base: u64) {
        let mut at = 0usize;
        while at < all.len() {
            match parse_record(all, at) {
                Some((tag, point, unit, off, len, end)) => {
                    self.record(
                        tag,
                        point,
                        unit,
                        base + off as u64,
                        len,
                        &all[off..off + len],
                    );
                    self.valid_end = base + end as u64;
                    at = end;
                }
                None => {
                    // Resynchronize at the next record tag; a torn tail has none.
                    match all[at + 1..]
                        .windows(4)
                        .position(|w| TAGS.iter().any(|t| w == *t))
                    {
                        Some(p) => {
                            self.corrupt += 1;
                            at += 1 + p;
                        }
                        None => break,
                    }
                }
            }
        }
    }
}

/// A shard: the slice `start..end` of the study's global unit range (units
/// numbered point by point), shard `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
    pub start: u64,
    pub end: u64,
}

impl Shard {
    /// Shard `index` of `count` over `units` units: the contiguous slice
    /// `⌊index·units/count⌋ .. ⌊(index+1)·units/count⌋` (empty when count > units).
    pub fn of(index: u64, count: u64, units: u64) -> Shard {
        let at = |i: u64| ((i as u128 * units as u128) / count.max(1) as u128) as u64;
        Shard {
            index,
            count,
            start: at(index),
            end: at(index + 1),
        }
    }

    pub fn label(&self) -> String {
        format!("{}/{}", self.index, self.count)
    }
}

/// What a journal's header carries besides the study fingerprint.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Meta {
    /// The spec's origin as the run named it (root attribute `spec_origin`).
    pub spec_origin: String,
    /// The folder relative input paths resolved against, as the run named it
    /// (None: the working directory, or an embedded spec).
    pub spec_base: Option<String>,
    /// The run's working directory (absolute): `merge` resolves the spec from
    /// there, so that path strings in the file come out as the run wrote them.
    pub cwd: Option<String>,
    /// `--trials`, if given.
    pub trials_override: Option<u64>,
    /// The slice of the work this file holds (None: all of it).
    pub shard: Option<Shard>,
}

/// An open journal, positioned for appending.
pub struct Journal {
    file: File,
    path: PathBuf,
    end: u64,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, format!("checkpoint journal: {e}"))
}

fn header_json(fp: &Fingerprint, meta: &Meta) -> Vec<u8> {
    serde_json::json!({
        "spec": fp.spec,
        "corrmc_version": fp.corrmc_version,
        "git_revision": fp.git_revision,
        "trials": fp.trials,
        "chunk_trials": fp.chunk_trials,
        "spec_origin": meta.spec_origin,
        "spec_base": meta.spec_base,
        "cwd": meta.cwd,
        "trials_override": meta.trials_override,
        "shard": meta.shard.map(|s| serde_json::json!({
            "index": s.index, "count": s.count, "start": s.start, "end": s.end,
        })),
    })
    .to_string()
    .into_bytes()
}

impl Journal {
    /// Creates a journal holding only its header (atomically: written to a
    /// temporary name, synced, renamed), failing if `path` exists.
    pub fn create(path: &Path, fp: &Fingerprint, meta: &Meta) -> Result<Journal, Error> {
        let e = io(path);
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let json = header_json(fp, meta);
        let mut h = Fnv64::default();
        h.write(&json);
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&(json.len() as u64).to_le_bytes());
        b.extend_from_slice(&json);
        b.extend_from_slice(&h.finish().to_le_bytes());
        {
            let mut f = File::create(&tmp).map_err(io(&tmp))?;
            f.write_all(&b).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        if path.exists() {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(path, "exists"));
        }
        std::fs::rename(&tmp, path).map_err(&e)?;
        let file = OpenOptions::new().append(true).open(path).map_err(&e)?;
        Ok(Journal {
            file,
            path: path.to_path_buf(),
            end: b.len() as u64,
        })
    }

    /// Reads a journal's fingerprint (None: not a corrmc journal).
    pub fn read_fingerprint(path: &Path) -> Result<Option<Fingerprint>, Error> {
        Ok(Journal::read_head(path)?.map(|(fp, _)| fp))
    }

    /// Reads a journal's fingerprint and meta (None: not a corrmc journal).
    pub fn read_head(path: &Path) -> Result<Option<(Fingerprint, Meta)>, Error> {
        let mut f = File::open(path).map_err(io(path))?;
        Ok(read_header(&mut f).map(|(fp, meta, _)| (fp, meta)))
    }

    /// Scans every record (the file is not modified), streaming: memory holds one
    /// record at a time, except after a damaged record, where the rest of the file
    /// is read to find the next record tag.
    pub fn scan(path: &Path) -> Result<Scan, Error> {
        let mut f = File::open(path).map_err(io(path))?;
        let (_, _, start) = read_header(&mut f)
            .ok_or_else(|| Error::io(path, "not a corrmc checkpoint journal"))?;
        let len = f.metadata().map_err(io(path))?.len();
        f.seek(SeekFrom::Start(start)).map_err(io(path))?;
        let mut r = std::io::BufReader::with_capacity(1 << 20, f);
        let mut s = Scan {
            valid_end: start,
            ..Default::default()
        };
        let mut at = start;
        while at < len {
            let mut head = [0u8; RECORD_HEAD];
            let ok = r.read_exact(&mut head).is_ok();
            let parsed = ok
                .then(|| {
                    let plen = u64::from_le_bytes(head[16..24].try_into().ok()?);
                    let rest = len - at - RECORD_HEAD as u64;
                    (TAGS.iter().any(|t| head[..4] == t[..]) && plen.checked_add(8)? <= rest)
                        .then_some(plen)
                })
                .flatten()
                .and_then(|plen| {
                    let mut rec = head.to_vec();
                    rec.resize(RECORD_HEAD + plen as usize + 8, 0);
                    r.read_exact(&mut rec[RECORD_HEAD..]).ok()?;
                    parse_record(&rec, 0).map(|p| (p, rec))
                });
            match parsed {
                Some(((tag, point, unit, off, plen, end), rec)) => {
                    s.record(
                        tag,
                        point,
                        unit,
                        at + off as u64,
                        plen,
                        &rec[off..off + plen],
                    );
                    at += end as u64;
                    s.valid_end = at;
                }
                None => {
                    // Damaged or torn: resynchronize in memory from here.
                    let mut f = File::open(path).map_err(io(path))?;
                    f.seek(SeekFrom::Start(at)).map_err(io(path))?;
                    let mut rest = Vec::new();
                    f.read_to_end(&mut rest).map_err(io(path))?;
                    s.scan_bytes(&rest, at);
                    break;
                }
            }
        }
        Ok(s)
    }

    /// Reopens a journal for appending after cutting off a torn last record.
    pub fn reopen(path: &Path, valid_end: u64) -> Result<Journal, Error> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io(path))?;
        if file.metadata().map_err(io(path))?.len() > valid_end {
            file.set_len(valid_end).map_err(io(path))?;
            file.sync_all().map_err(io(path))?;
        }
        Ok(Journal {
            file,
            path: path.to_path_buf(),
            end: valid_end,
        })
    }

    /// Appends unit `unit` of `point` and syncs it to disk.
    pub fn append(&mut self, point: u32, unit: u64, rows: &UnitRows) -> Result<(), Error> {
        self.append_record(UNIT, point, unit, &encode(rows))
    }

    /// Appends a unit record already encoded by [`encode`] (e.g. received from
    /// another MPI rank), after checking that it decodes.
    pub fn append_encoded(&mut self, point: u32, unit: u64, payload: &[u8]) -> Result<(), Error> {
        if decode(payload).is_none() {
            return Err(Error::io(
                &self.path,
                format!("refusing a malformed record for unit {unit} of point {point}"),
            ));
        }
        self.append_record(UNIT, point, unit, payload)
    }

    /// Appends a run session's provenance ([`crate::provenance::session`]).
    pub fn append_session(&mut self, v: &serde_json::Value) -> Result<(), Error> {
        self.append_json(PROV, v)
    }

    /// Marks a shard complete (JSON: when, how long, how many units).
    pub fn append_done(&mut self, v: &serde_json::Value) -> Result<(), Error> {
        self.append_json(DONE, v)
    }

    fn append_json(&mut self, tag: &[u8; 4], v: &serde_json::Value) -> Result<(), Error> {
        self.append_record(tag, 0, 0, v.to_string().as_bytes())
    }

    /// Frames one record (tag, point, unit, length, payload, checksum) and syncs it.
    fn append_record(
        &mut self,
        tag: &[u8; 4],
        point: u32,
        unit: u64,
        payload: &[u8],
    ) -> Result<(), Error> {
        let mut b = Vec::with_capacity(payload.len() + RECORD_HEAD + 8);
        b.extend_from_slice(tag);
        b.extend_from_slice(&point.to_le_bytes());
        b.extend_from_slice(&unit.to_le_bytes());
        b.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        b.extend_from_slice(payload);
        b.extend_from_slice(&record_sum(tag, point, unit, payload).to_le_bytes());
        self.write_synced(&b)
    }

    fn write_synced(&mut self, b: &[u8]) -> Result<(), Error> {
        self.file.write_all(b).map_err(io(&self.path))?;
        self.file.sync_data().map_err(io(&self.path))?;
        self.end += b.len() as u64;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// If `path` is a checkpoint journal or a shard file rather than a result file,
/// what it is and what to do with it (for commands that read result files).
pub fn not_a_result_file(path: &Path) -> Option<String> {
    let (_, meta) = Journal::read_head(path).ok()??;
    Some(match meta.shard {
        Some(s) => {
            let complete = Journal::scan(path).is_ok_and(|sc| sc.done.is_some());
            format!(
                "is shard {} of a study (units {}..{}, {}), not a result file; merge the {} \
                 shards with `corrmc merge -o OUT FILES...`",
                s.label(),
                s.start,
                s.end,
                if complete { "complete" } else { "incomplete" },
                s.count
            )
        }
        None => "is an interrupted run's checkpoint journal, not a result file; finish it with \
                 `corrmc run SPEC --resume` (same spec and --output)"
            .to_string(),
    })
}

/// Reads the rows of one record found by [`Journal::scan`].
pub fn read_unit(path: &Path, offset: u64, len: u64) -> Result<UnitRows, Error> {
    let mut f = File::open(path).map_err(io(path))?;
    f.seek(SeekFrom::Start(offset)).map_err(io(path))?;
    let mut b = vec![0u8; len as usize];
    f.read_exact(&mut b).map_err(io(path))?;
    decode(&b).ok_or_else(|| {
        Error::io(
            path,
            "checkpoint journal: a verified record does not decode",
        )
    })
}

fn read_header(f: &mut File) -> Option<(Fingerprint, Meta, u64)> {
    let mut magic = vec![0u8; MAGIC.len()];
    f.read_exact(&mut magic).ok()?;
    if magic != MAGIC {
        return None;
    }
    let mut n = [0u8; 8];
    f.read_exact(&mut n).ok()?;
    let n = u64::from_le_bytes(n);
    if n > (1 << 32) {
        return None;
    }
    let mut json = vec![0u8; n as usize];
    f.read_exact(&mut json).ok()?;
    let mut sum = [0u8; 8];
    f.read_exact(&mut sum).ok()?;
    let mut h = Fnv64::default();
    h.write(&json);
    if h.finish() != u64::from_le_bytes(sum) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&json).ok()?;
    let list = |k: &str| -> Option<Vec<u64>> {
        v.get(k)?.as_array()?.iter().map(|x| x.as_u64()).collect()
    };
    let s = |k: &str| -> Option<String> { Some(v.get(k)?.as_str()?.to_string()) };
    let shard = match v.get("shard") {
        None | Some(serde_json::Value::Null) => None,
        Some(o) => {
            let g = |k: &str| o.get(k).and_then(|x| x.as_u64());
            Some(Shard {
                index: g("index")?,
                count: g("count")?,
                start: g("start")?,
                end: g("end")?,
            })
        }
    };
    Some((
        Fingerprint {
            spec: s("spec")?,
            corrmc_version: s("corrmc_version")?,
            git_revision: s("git_revision")?,
            trials: list("trials")?,
            chunk_trials: list("chunk_trials")?,
        },
        Meta {
            spec_origin: s("spec_origin").unwrap_or_default(),
            spec_base: s("spec_base"),
            cwd: s("cwd"),
            trials_override: v.get("trials_override").and_then(|x| x.as_u64()),
            shard,
        },
        (MAGIC.len() + 8 + n as usize + 8) as u64,
    ))
}

/// (tag, point, unit, payload offset, payload length, record end) of a valid record at `at`.
fn parse_record(
    all: &[u8],
    at: usize,
) -> Option<(&'static [u8; 4], u32, u64, usize, usize, usize)> {
    let head = all.get(at..at.checked_add(RECORD_HEAD)?)?;
    let tag = *TAGS.iter().find(|t| &head[..4] == t.as_slice())?;
    let point = u32::from_le_bytes(head[4..8].try_into().ok()?);
    let unit = u64::from_le_bytes(head[8..16].try_into().ok()?);
    let len = usize::try_from(u64::from_le_bytes(head[16..24].try_into().ok()?)).ok()?;
    let off = at + RECORD_HEAD;
    let end = off.checked_add(len)?.checked_add(8)?;
    let payload = all.get(off..off + len)?;
    let sum = u64::from_le_bytes(all.get(off + len..end)?.try_into().ok()?);
    let valid = sum == record_sum(tag, point, unit, payload)
        && if tag == UNIT {
            decode(payload).is_some()
        } else {
            serde_json::from_slice::<serde_json::Value>(payload).is_ok()
        };
    valid.then_some((tag, point, unit, off, len, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(seed: f64, weights: bool) -> UnitRows {
        UnitRows {
            metrics: (0..7)
                .map(|j| Array2::from_shape_fn((3, 2), |(r, c)| seed + (j * 6 + r * 2 + c) as f64))
                .collect(),
            status: Array2::from_shape_fn((3, 2), |(r, c)| (r + c) as u8),
            status_oos: Array2::zeros((3, 2)),
            method_info: Array2::from_elem((3, 2), f64::NAN),
            weights: weights.then(|| Array3::from_elem((3, 2, 4), 0.25)),
            diagnostics: vec![Array1::from(vec![1.0, 2.0, 3.0])],
            errors: ErrorRows {
                trial: vec![1],
                method: vec![0],
                side: vec![1],
                code: vec![4],
                message: vec!["no convergence après 3 iterations".into()],
            },
            similarity: sums(seed),
        }
    }

    /// Sums of 3 trials (98..101: blocks 0 and 1) of 2 methods, the second of
    /// which failed, with negative and tiny values to exercise the i128s' bytes.
    fn sums(seed: f64) -> SimilaritySums {
        let mut s = SimilaritySums::covering(2, 98..101);
        let rho = |x: f64| ndarray::array![[1.0, x], [x, f64::NAN]];
        for (t, x) in [(98, -1.0), (99, seed / 10.0), (100, -2f64.powi(-60))] {
            s.add_trial(t, &[rho(x), rho(-x)]);
        }
        s
    }

    #[test]
    fn payload_round_trip_is_exact() {
        for w in [false, true] {
            let r = rows(0.5, w);
            let d = decode(&encode(&r)).unwrap();
            assert_eq!(d.checksum(), r.checksum());
            assert!(d.method_info.iter().all(|x| x.is_nan()));
            assert_eq!(d.errors, r.errors);
        }
        let b = encode(&rows(0.5, true));
        assert!(decode(&b[..b.len() - 1]).is_none());
        let mut long = b.clone();
        long.push(0);
        assert!(decode(&long).is_none());
        // The similarity sums come back exactly (the i128s and counts).
        let r = rows(0.5, false);
        let d = decode(&encode(&r)).unwrap();
        assert_eq!(d.similarity, r.similarity);
        let sim = &d.similarity;
        assert_eq!((sim.first_block, sim.blocks()), (0, 2));
        // Block 1 holds trial 100 alone: ρ = ∓2^-60 is ∓2^36 in fixed point; pair
        // (1, 1) of the failed method is never counted.
        assert_eq!(
            (sim.sum[(1, 0, 1)], sim.sum[(1, 1, 1)]),
            (-(1 << 36), 1 << 36)
        );
        assert_eq!(
            sim.count.slice(ndarray::s![.., 0, ..]),
            ndarray::array![[2, 2, 0], [1, 1, 0]]
        );
        // Implausible sums are refused: a count above the unit's 3 trials, a sum
        // beyond ±count·2^96, more blocks than 3 trials can touch.
        let mut bad = r.clone();
        bad.similarity.count[(0, 0, 0)] = 4;
        assert!(decode(&encode(&bad)).is_none());
        let mut bad = r.clone();
        bad.similarity.sum[(1, 1, 0)] = (1i128 << 96) + 1;
        assert!(decode(&encode(&bad)).is_none());
        let mut bad = r.clone();
        bad.similarity = SimilaritySums::covering(2, 0..300);
        assert!(decode(&encode(&bad)).is_none());
    }

    #[test]
    fn torn_and_corrupt_records_are_skipped_then_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.partial");
        let fp = Fingerprint::of("spec", vec![9], vec![3]);
        let meta = Meta {
            spec_origin: "s.toml".into(),
            spec_base: Some("/tmp".into()),
            cwd: Some("/".into()),
            trials_override: Some(9),
            shard: Some(Shard::of(1, 3, 7)),
        };
        let mut j = Journal::create(&p, &fp, &meta).unwrap();
        assert_eq!(Journal::read_head(&p).unwrap(), Some((fp.clone(), meta)));
        j.append_session(&serde_json::json!({"host": "h"})).unwrap();
        assert_eq!(Journal::read_fingerprint(&p).unwrap(), Some(fp.clone()));
        j.append(0, 0, &rows(1.0, false)).unwrap();
        j.append(0, 1, &rows(2.0, false)).unwrap();
        j.append(0, 2, &rows(3.0, false)).unwrap();
        drop(j);
        let s = Journal::scan(&p).unwrap();
        assert_eq!((s.units.len(), s.corrupt), (3, 0));
        // Flip a byte inside unit 1's payload, and tear the file mid-record.
        let mut b = std::fs::read(&p).unwrap();
        let (off, _) = s.units[&(0, 1)];
        b[off as usize + 30] ^= 0xff;
        let full = b.len();
        let torn: Vec<u8> = b[s.units[&(0, 0)].0 as usize - RECORD_HEAD..][..40].into();
        b.extend_from_slice(&torn);
        std::fs::write(&p, &b).unwrap();
        let s = Journal::scan(&p).unwrap();
        assert_eq!(s.units.keys().collect::<Vec<_>>(), vec![&(0, 0), &(0, 2)]);
        assert_eq!(s.corrupt, 1);
        assert_eq!(s.valid_end, full as u64);
        let mut j = Journal::reopen(&p, s.valid_end).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), full as u64);
        j.append(0, 1, &rows(2.0, false)).unwrap();
        let s = Journal::scan(&p).unwrap();
        assert_eq!(s.units.len(), 3);
        let (o, l) = s.units[&(0, 1)];
        // Bit-exact (NaN payloads included) by checksum.
        assert_eq!(
            read_unit(&p, o, l).unwrap().checksum(),
            rows(2.0, false).checksum()
        );
        assert_eq!(s.sessions.len(), 1);
        assert!(s.done.is_none());
        j.append_done(&serde_json::json!({"units": 3})).unwrap();
        let s = Journal::scan(&p).unwrap();
        assert_eq!(s.done.as_ref().unwrap()["units"], 3);
        // A unit recomputed after the shard was marked done makes it incomplete again.
        j.append_encoded(0, 2, &encode(&rows(3.0, false))).unwrap();
        assert!(Journal::scan(&p).unwrap().done.is_none());
        assert!(j.append_encoded(0, 2, b"garbage").is_err());
        std::fs::write(&p, b"junk").unwrap();
        assert_eq!(Journal::read_fingerprint(&p).unwrap(), None);
    }

    #[test]
    fn shards_tile_the_unit_range() {
        for units in [0u64, 1, 5, 10, 97] {
            for count in [1u64, 2, 3, 7, 200] {
                let mut next = 0;
                for i in 0..count {
                    let s = Shard::of(i, count, units);
                    assert_eq!(s.start, next, "{units} units, {i}/{count}");
                    assert!(s.end >= s.start);
                    // Balanced: sizes differ by at most one unit.
                    assert!(s.end - s.start <= units.div_ceil(count));
                    next = s.end;
                }
                assert_eq!(next, units);
            }
        }
        assert_eq!(Shard::of(1, 3, 10).label(), "1/3");
    }
}
