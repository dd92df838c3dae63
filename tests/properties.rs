//! Property-based robustness tests (issue 14): random and adversarial inputs to the spec
//! loader, the matrix loaders, the nearest-correlation repair, every allocator, every
//! seriation method and criterion, and the control-string parser. Each property asserts
//! that nothing panics and that every call gives either a valid result (checked against
//! the documented contract) or an `Err`.
//!
//! Reproducible: every property runs a fixed number of cases from a fixed RNG seed
//! ([`config`]), and proptest's failure-persistence files are disabled, so a run is the
//! same run everywhere; a failure prints the shrunk input, which is then kept below as a
//! plain regression `#[test]`.

use corrmc::alloc::{self, Context, Control as AllocControl, Estimate};
use corrmc::nearest::{NearestParams, RepairMethod, nearest_correlation};
use corrmc::seriation::{self, Control, criteria, validate_order};
use corrmc::spec::{self, SourceSpec, Spec, VolSpec};
use ndarray::{Array2, ArrayD, Dimension, IxDyn};
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, RngSeed, TestRunner};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use std::cell::Cell;

/// Fixed-seed configuration with `cases` cases and no persistence file.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x1457_c0de),
        max_shrink_iters: 2048,
        ..ProptestConfig::default()
    }
}

/// Runs `test` on `cases` inputs drawn from `strategy` under [`config`]; panics with the
/// shrunk input on the first failure. Returns the number of cases for which `test`
/// returned `Ok(k)` summed over `k` (the valid results seen), so that each property can
/// also check that it reaches the success path, not only the errors.
fn run<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<usize, TestCaseError>,
) -> usize {
    let oks = Cell::new(0);
    let mut runner = TestRunner::new(config(cases));
    if let Err(e) = runner.run(&strategy, |v| {
        oks.set(oks.get() + test(v)?);
        Ok(())
    }) {
        panic!("{e}");
    }
    eprintln!("{cases} cases, {} valid results", oks.get());
    oks.get()
}

// ---------------------------------------------------------------------------------------
// 1. Spec loader
// ---------------------------------------------------------------------------------------

/// Adversarial TOML literals of every type.
const POOL: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "50",
    "1e308",
    "-1e308",
    "1e-300",
    "5e-324",
    "1e-16",
    "nan",
    "inf",
    "-inf",
    "-0.0",
    "0.5",
    "1e6",
    "1e18",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "4611686018427387904",
    "\"\"",
    "\"x\"",
    "\"ü🙂\\u0000\"",
    "\"models/corrgan/generator_50d.onnx\"",
    "\"models/dhrp/dhrp_50.onnx\"",
    "\"Cargo.toml\"",
    "\"/\"",
    "\"nope.npy\"",
    "\"x.h5:/d\"",
    "\"ort\"",
    "\"tract\"",
    "\"higham_dykstra\"",
    "\"qi_sun_newton\"",
    "true",
    "false",
    "[]",
    "[1.0, 2.0]",
    "[0.9, 0.1]",
    "[0.1, 0.9]",
    "[0.0, 0.0]",
    "[-1, 2]",
    "[0.5, 0.5, 0.5]",
    "[\"a\", 1]",
    "{a = 1}",
    "1979-05-27",
];

/// A TOML value as text: adversarial literals of every type, and random numbers.
fn toml_value() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(POOL).prop_map(str::to_string),
        1 => any::<i64>().prop_map(|i| i.to_string()),
        1 => (0i64..100).prop_map(|i| i.to_string()),
        1 => any::<f64>().prop_map(toml_float),
        1 => (-2.0f64..2.0).prop_map(toml_float),
    ]
    .boxed()
}

fn toml_float(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        // `{:?}` always writes a decimal point or an exponent, as TOML floats need.
        format!("{x:?}")
    }
}

/// One key of a table: its valid value, and what the case does with it.
#[derive(Clone, Debug)]
enum Slot {
    Good,
    Random(String),
    Absent,
}

fn slot(keep: u32) -> impl Strategy<Value = Slot> {
    prop_oneof![
        keep => Just(Slot::Good),
        3 => toml_value().prop_map(Slot::Random),
        1 => Just(Slot::Absent),
    ]
}

/// Keys of the top level, with a valid value (`None`: absent in the valid spec).
const TOP: &[(&str, Option<&str>)] = &[
    ("name", Some("\"t\"")),
    ("description", None),
    ("seed", Some("1")),
    ("trials", Some("4")),
    ("assets", Some("5")),
    ("in_sample_days", Some("30")),
    ("out_of_sample_days", Some("30")),
    ("annualization", None),
    ("methods", Some("[\"EW\", \"HRP\"]")),
    ("output", None),
    ("store_weights", None),
    ("chunk_trials", None),
];

/// Keys of every source kind, each with a valid value for that kind.
const SOURCE_KEYS: &[(&str, &str)] = &[
    ("eta", "1.0"),
    ("sectors", "2"),
    ("subsectors", "2"),
    ("market", "[0.3, 0.5]"),
    ("sector", "[0.2, 0.4]"),
    ("subsector", "[0.1, 0.3]"),
    ("path", "\"nope.npy\""),
    ("dataset", "\"/corr\""),
    ("cycle", "true"),
    ("model", "\"models/corrgan/generator_50d.onnx\""),
    ("backend", "\"tract\""),
    ("ort_library", "\"nope.so\""),
    ("batch", "4"),
    ("repair", "\"higham_dykstra\""),
    ("repair_tol", "1e-10"),
    ("eig_floor", "0.0"),
];

const KINDS: &[&str] = &[
    "\"uniform\"",
    "\"block\"",
    "\"file\"",
    "\"corrgan\"",
    "\"bank\"",
    "\"bogus\"",
    "1",
];

/// Which source keys belong to which kind (by index into `SOURCE_KEYS`).
fn kind_keys(kind: &str) -> &'static [usize] {
    match kind {
        "\"uniform\"" => &[0],
        "\"block\"" => &[1, 2, 3, 4, 5],
        "\"file\"" => &[6, 7, 8],
        "\"corrgan\"" => &[9, 10, 11, 12, 13, 14, 15],
        "\"bank\"" => &[6, 8],
        _ => &[],
    }
}

const METHODS_FOR_CONTROL: &[&str] = &[
    "EW",
    "HRP",
    "HRP_ser_BBURCG",
    "HRP_ser_ARSA",
    "HRP_ser_TSP",
    "DHRP",
    "Nope",
];
const CONTROL_KEYS: &[&str] = &[
    "max_nodes",
    "reps",
    "cool",
    "tmin",
    "model",
    "eps",
    "method",
    "starts",
    "rep",
    "bogus",
];

/// Where a random extra key goes.
#[derive(Clone, Debug)]
enum Extra {
    Top,
    Source,
    /// After the `[volatility]` table (TOML puts it inside that table).
    Volatility,
}

#[derive(Clone, Debug)]
struct SpecCase {
    top: Vec<Slot>,
    kind: Slot,
    kind_pick: usize,
    source: Vec<(bool, Slot)>,
    vol_model: Option<(usize, Vec<Slot>)>,
    control: Option<(usize, Vec<(usize, String)>)>,
    extras: Vec<(Extra, String, String)>,
    truncate: Option<prop::sample::Index>,
}

fn spec_case() -> impl Strategy<Value = SpecCase> {
    // About one mutation per spec on average, so that most cases probe one key's
    // validation and a fair share stays valid.
    let top = prop::collection::vec(slot(60), TOP.len());
    let source = prop::collection::vec((prop::bool::weighted(0.01), slot(40)), SOURCE_KEYS.len());
    let vol = prop::option::weighted(0.4, (0usize..4, prop::collection::vec(slot(20), 3)));
    let control = prop::option::weighted(
        0.15,
        (
            0..METHODS_FOR_CONTROL.len(),
            prop::collection::vec((0..CONTROL_KEYS.len(), toml_value()), 0..3),
        ),
    );
    let extras = prop::option::weighted(
        0.2,
        (
            prop_oneof![
                Just(Extra::Top),
                Just(Extra::Source),
                Just(Extra::Volatility)
            ],
            "[a-z_]{1,8}",
            toml_value(),
        ),
    )
    .prop_map(|e| e.into_iter().collect::<Vec<_>>());
    (
        top,
        slot(20),
        0..KINDS.len(),
        source,
        vol,
        control,
        extras,
        prop::option::weighted(0.1, any::<prop::sample::Index>()),
    )
        .prop_map(
            |(top, kind, kind_pick, source, vol_model, control, extras, truncate)| SpecCase {
                top,
                kind,
                kind_pick,
                source,
                vol_model,
                control,
                extras,
                truncate,
            },
        )
}

fn render(c: &SpecCase) -> String {
    let mut s = String::new();
    let put = |s: &mut String, k: &str, v: &str| s.push_str(&format!("{k} = {v}\n"));
    for ((k, good), slot) in TOP.iter().zip(&c.top) {
        match (slot, good) {
            (Slot::Good, Some(v)) => put(&mut s, k, v),
            (Slot::Random(v), _) => put(&mut s, k, v),
            _ => {}
        }
    }
    for (e, k, v) in &c.extras {
        if matches!(e, Extra::Top) {
            put(&mut s, k, v);
        }
    }
    s.push_str("\n[source]\n");
    // The kind picked, or (Good) "uniform", the valid one of GOOD.
    let kind = match &c.kind {
        Slot::Good => "\"uniform\"".to_string(),
        Slot::Random(_) | Slot::Absent => KINDS[c.kind_pick].to_string(),
    };
    if !matches!(c.kind, Slot::Absent) || c.kind_pick.is_multiple_of(2) {
        put(&mut s, "kind", &kind);
    }
    let own = kind_keys(&kind);
    for (i, ((k, good), (stray, slot))) in SOURCE_KEYS.iter().zip(&c.source).enumerate() {
        if !(own.contains(&i) || *stray) {
            continue;
        }
        match slot {
            Slot::Good => put(&mut s, k, good),
            Slot::Random(v) => put(&mut s, k, v),
            Slot::Absent => {}
        }
    }
    for (e, k, v) in &c.extras {
        if matches!(e, Extra::Source) {
            put(&mut s, k, v);
        }
    }
    if let Some((m, slots)) = &c.vol_model {
        s.push_str("\n[volatility]\n");
        let model = ["\"unit\"", "\"uniform\"", "\"garch\"", "2"][*m];
        put(&mut s, "model", model);
        for ((k, good), slot) in [("low", "0.005"), ("high", "0.03"), ("bogus", "1")]
            .iter()
            .zip(slots)
        {
            let wanted = *m == 1 || *k == "bogus";
            match slot {
                Slot::Good if wanted && *k != "bogus" => put(&mut s, k, good),
                Slot::Random(v) => put(&mut s, k, v),
                _ => {}
            }
        }
        for (e, k, v) in &c.extras {
            if matches!(e, Extra::Volatility) {
                put(&mut s, k, v);
            }
        }
    }
    if let Some((m, kv)) = &c.control {
        s.push_str(&format!("\n[control.{}]\n", METHODS_FOR_CONTROL[*m]));
        for (k, v) in kv {
            put(&mut s, CONTROL_KEYS[*k], v);
        }
    }
    if let Some(ix) = &c.truncate {
        let mut cut = ix.index(s.len() + 1);
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// What a spec that loads must satisfy (the ranges documented in `src/spec.rs`).
fn check_spec(s: &Spec) -> Result<(), TestCaseError> {
    let r = &s.raw;
    prop_assert!(!r.name.trim().is_empty());
    prop_assert!(
        (1..=spec::MAX_TRIALS).contains(&r.trials),
        "trials {}",
        r.trials
    );
    prop_assert!(
        (2..=spec::MAX_ASSETS).contains(&r.assets),
        "assets {}",
        r.assets
    );
    for d in [r.in_sample_days, r.out_of_sample_days] {
        prop_assert!((2..=spec::MAX_DAYS).contains(&d), "days {d}");
    }
    prop_assert!(
        (spec::MIN_ANNUALIZATION..=spec::MAX_ANNUALIZATION).contains(&r.annualization),
        "annualization {}",
        r.annualization
    );
    prop_assert!((1..=spec::MAX_CHUNK_TRIALS).contains(&s.chunk_trials));
    prop_assert!(!s.methods.is_empty());
    for m in &s.methods {
        prop_assert!(alloc::registry().iter().any(|i| i.name == *m));
    }
    if let VolSpec::Uniform { low, high } = r.volatility {
        prop_assert!(spec::MIN_DAILY_VOL <= low && low <= high && high <= spec::MAX_DAILY_VOL);
    }
    match &r.source {
        SourceSpec::Uniform { eta } => {
            prop_assert!((spec::MIN_ETA..=spec::MAX_ETA).contains(eta), "eta {eta}")
        }
        SourceSpec::Block {
            sectors,
            subsectors,
            market,
            sector,
            subsector,
        } => {
            let n = r.assets;
            let sec = sectors.unwrap_or(1);
            prop_assert!(sec >= 1 && sec <= n, "sectors {sec}");
            if let Some(sub) = subsectors {
                prop_assert!(
                    *sub >= 1 && sec.checked_mul(*sub).is_some_and(|p| p <= n),
                    "sectors {sec} x subsectors {sub} for n = {n}"
                );
            }
            for [lo, hi] in [market, sector, subsector].into_iter().flatten() {
                prop_assert!(0.0 <= *lo && lo <= hi && *hi < 1.0, "range [{lo}, {hi}]");
            }
        }
        SourceSpec::Corrgan {
            batch,
            repair_tol,
            eig_floor,
            ..
        } => {
            prop_assert!(*batch >= 1);
            if let Some(t) = repair_tol {
                prop_assert!(t.is_finite() && *t > 0.0, "repair_tol {t}");
            }
            if let Some(f) = eig_floor {
                prop_assert!(f.is_finite() && (0.0..1.0).contains(f), "eig_floor {f}");
            }
        }
        SourceSpec::Empirical { window, step, .. } => {
            prop_assert!(*window >= 2, "window {window}");
            prop_assert!(step.is_none_or(|s| s >= 1), "step {step:?}");
        }
        SourceSpec::File { .. } | SourceSpec::Bank { .. } => {}
    }
    Ok(())
}

fn check_spec_text(text: &str) -> Result<usize, TestCaseError> {
    match Spec::parse(text, "fuzz.toml") {
        Ok(s) => {
            check_spec(&s)?;
            // Building every method for the spec's n must not panic either.
            let _ = s.check_methods();
            Ok(1)
        }
        Err(e) => {
            prop_assert!(e.to_string().contains("fuzz.toml"), "{e}");
            Ok(0)
        }
    }
}

/// Random mutations of a valid spec (256 cases): every key (top level, source,
/// volatility, control) gets random values of every type or is dropped, random extra keys
/// are added, and the text is sometimes truncated.
#[test]
fn spec_mutations() {
    let ok = run(256, spec_case(), |c| check_spec_text(&render(&c)));
    assert!(ok >= 10, "only {ok} of 256 mutated specs loaded");
}

// ---------------------------------------------------------------------------------------
// 2. Matrix loaders
// ---------------------------------------------------------------------------------------

/// An `.npy` v1.0 file with the given header dictionary and payload.
fn npy_bytes(dict: &str, payload: &[u8]) -> Vec<u8> {
    let mut h = dict.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(payload);
    b
}

/// Files a matrix loader may be given.
#[derive(Clone, Debug)]
enum MatrixFile {
    /// Random bytes under a given extension.
    Bytes(&'static str, Vec<u8>),
    /// A hand-written `.npy` header (any dtype, order and shape) and a random payload.
    Header(&'static str, bool, Vec<u64>, Vec<u8>),
    /// A real `.npy` of f64 (or f32) of any shape, possibly with flipped bytes or cut.
    Odd(
        Vec<usize>,
        bool,
        Vec<(prop::sample::Index, u8)>,
        Option<prop::sample::Index>,
    ),
    /// CSV text from adversarial tokens.
    Csv(&'static str, String),
}

fn matrix_file() -> impl Strategy<Value = MatrixFile> {
    let ext = prop::sample::select(vec!["npy", "csv", "txt", "h5", "dat"]);
    let descr = prop::sample::select(vec!["<f8", "<f4", ">f8", "<i8", "|u1", "<c16", "<U3", "|O"]);
    let dim = prop_oneof![
        4 => 0u64..4,
        1 => Just(1u64 << 31),
        1 => Just(1u64 << 62),
        1 => Just(u64::MAX),
    ];
    let token = prop::sample::select(vec![
        "1", "0", "-0", "0.5", "1e400", "-1e-400", "nan", "NaN", "inf", "-inf", "", " ", ",", ";",
        "\t", "\n", "\n", "\n", "\r\n", "#c\n", "ü", "0x10", "1,", ",1", "1 2", "\u{feff}",
    ]);
    prop_oneof![
        1 => (ext.clone(), prop::collection::vec(any::<u8>(), 0..200))
            .prop_map(|(e, b)| MatrixFile::Bytes(e, b)),
        1 => (
            descr,
            any::<bool>(),
            prop::collection::vec(dim, 0..4),
            prop::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(d, f, s, p)| MatrixFile::Header(d, f, s, p)),
        2 => (
            prop_oneof![
                2 => (0usize..4).prop_map(|n| vec![n, n]),
                1 => (0usize..3, 0usize..4).prop_map(|(k, n)| vec![k, n, n]),
                1 => prop::collection::vec(0usize..4, 0..5),
            ],
            any::<bool>(),
            prop_oneof![
                2 => Just(vec![]),
                1 => prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..3),
            ],
            prop::option::weighted(0.2, any::<prop::sample::Index>())
        )
            .prop_map(|(s, f32, flips, cut)| MatrixFile::Odd(s, f32, flips, cut)),
        1 => (
            prop::sample::select(vec!["csv", "txt"]),
            prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
        )
            .prop_map(|(e, t)| MatrixFile::Csv(e, t)),
        // Well-formed square CSV of random numbers, with an optional odd separator.
        1 => (
            1usize..5,
            prop::collection::vec(-1e3f64..1e3, 16),
            prop::sample::select(vec![",", ";", " ", "\t", ", "])
        )
            .prop_map(|(n, v, sep)| {
                let rows: Vec<String> = (0..n)
                    .map(|i| {
                        let r: Vec<String> = (0..n).map(|j| format!("{}", v[i * 4 + j])).collect();
                        r.join(sep)
                    })
                    .collect();
                MatrixFile::Csv("csv", rows.join("\n"))
            }),
    ]
}

/// Writes the case into `dir`; returns the path.
fn write_matrix_file(dir: &std::path::Path, f: &MatrixFile) -> std::path::PathBuf {
    match f {
        MatrixFile::Bytes(ext, b) => {
            let p = dir.join(format!("m.{ext}"));
            std::fs::write(&p, b).unwrap();
            p
        }
        MatrixFile::Header(descr, fortran, shape, payload) => {
            let dims: Vec<String> = shape.iter().map(|d| format!("{d},")).collect();
            let dict = format!(
                "{{'descr': '{descr}', 'fortran_order': {}, 'shape': ({}), }}",
                if *fortran { "True" } else { "False" },
                dims.join(" ")
            );
            let p = dir.join("m.npy");
            std::fs::write(&p, npy_bytes(&dict, payload)).unwrap();
            p
        }
        MatrixFile::Odd(shape, f32, flips, cut) => {
            let p = dir.join("m.npy");
            let a = ArrayD::from_shape_fn(IxDyn(shape), |ix| {
                ix.slice().iter().sum::<usize>() as f64 / 3.0
            });
            if *f32 {
                ndarray_npy::write_npy(&p, &a.mapv(|v| v as f32)).unwrap();
            } else {
                ndarray_npy::write_npy(&p, &a).unwrap();
            }
            let mut b = std::fs::read(&p).unwrap();
            for (i, v) in flips {
                let k = i.index(b.len());
                b[k] = *v;
            }
            if let Some(c) = cut {
                b.truncate(c.index(b.len() + 1));
            }
            std::fs::write(&p, b).unwrap();
            p
        }
        MatrixFile::Csv(ext, text) => {
            let p = dir.join(format!("m.{ext}"));
            std::fs::write(&p, text).unwrap();
            p
        }
    }
}

fn check_loaders(f: &MatrixFile) -> Result<usize, TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let p = write_matrix_file(dir.path(), f);
    let ps = p.to_str().unwrap();
    let named = |e: &corrmc::error::Error| e.to_string().contains("m.");
    let mut oks = 0;
    match corrmc::npy::read_stack(ps, None) {
        Ok(s) => {
            let (_, r, c) = s.dim();
            prop_assert_eq!(r, c);
            oks += 1;
        }
        Err(e) => prop_assert!(named(&e), "error does not name the file: {e}"),
    }
    match corrmc::npy::read_matrix(ps) {
        Ok(m) => prop_assert_eq!(m.nrows(), m.ncols()),
        Err(e) => prop_assert!(named(&e), "error does not name the file: {e}"),
    }
    if ps.ends_with(".h5") {
        prop_assert!(corrmc::npy::read_stack(ps, Some("/x")).is_err());
        let inline = format!("{ps}:/x");
        prop_assert!(corrmc::npy::read_stack(&inline, None).is_err());
    }
    Ok(oks)
}

/// Random bytes, adversarial `.npy` headers (huge, empty and high-dimensional shapes,
/// foreign dtypes), real `.npy` files of odd shapes (0×0, 1×1, non-square, 3-D, 4-D)
/// with flipped bytes or cut short, and CSV text of adversarial tokens (ragged rows, NaN,
/// empty, unicode): 256 cases.
#[test]
fn matrix_loaders() {
    let ok = run(256, matrix_file(), |f| check_loaders(&f));
    assert!(ok >= 10, "only {ok} of 256 matrix files loaded");
}

// ---------------------------------------------------------------------------------------
// 3. Nearest correlation matrix
// ---------------------------------------------------------------------------------------

/// Random symmetric matrices of n = 1..8: dense ±1e3, all zeros, rank one, scaled
/// identities, constant matrices, each at scales 1e-12..1e12.
fn symmetric() -> impl Strategy<Value = Array2<f64>> {
    (
        1usize..=8,
        0u8..6,
        prop::collection::vec(-1e3f64..1e3, 64),
        -12i32..=12,
    )
        .prop_map(|(n, kind, r, e)| {
            let s = 10f64.powi(e);
            Array2::from_shape_fn((n, n), |(i, j)| {
                let (a, b) = (i.min(j), i.max(j));
                match kind {
                    0 => r[a * 8 + b],
                    1 => 0.0,
                    2 => r[a] * r[b] * s,
                    3 => {
                        if i == j {
                            s
                        } else {
                            0.0
                        }
                    }
                    4 => s,
                    _ => r[a * 8 + b] * s,
                }
            })
        })
}

fn check_correlation(x: &Array2<f64>) -> Result<(), TestCaseError> {
    let n = x.nrows();
    prop_assert_eq!(x.ncols(), n);
    for i in 0..n {
        prop_assert!((x[(i, i)] - 1.0).abs() <= 1e-10, "diag {}", x[(i, i)]);
        for j in 0..n {
            prop_assert!(x[(i, j)].is_finite());
            prop_assert!((x[(i, j)] - x[(j, i)]).abs() <= 1e-12, "not symmetric");
        }
    }
    let eig = corrmc::linalg::eigvalsh(x.view()).expect("eigenvalues");
    prop_assert!(eig[0] >= -1e-10, "min eigenvalue {}", eig[0]);
    Ok(())
}

fn check_nearest(a: &Array2<f64>, higham: bool, floor: f64) -> Result<usize, TestCaseError> {
    let params = NearestParams {
        method: if higham {
            RepairMethod::HighamDykstra
        } else {
            RepairMethod::QiSunNewton
        },
        eig_floor: floor,
        ..NearestParams::default()
    };
    match nearest_correlation(a.view(), &params) {
        Ok((x, d)) => {
            check_correlation(&x)?;
            prop_assert!(d.frobenius_distance.is_finite() && d.frobenius_distance >= 0.0);
            Ok(1)
        }
        Err(e) => {
            prop_assert!(!e.to_string().is_empty());
            Ok(0)
        }
    }
}

/// Both repair methods, with and without an eigenvalue floor (192 cases): an `Ok` is a
/// valid correlation matrix (unit diagonal, symmetric, min eigenvalue ≥ −1e-10).
#[test]
fn nearest_correlation_valid() {
    let floors = prop::sample::select(vec![0.0, 1e-8, 0.1]);
    let ok = run(192, (symmetric(), any::<bool>(), floors), |(a, h, f)| {
        check_nearest(&a, h, f)
    });
    assert!(ok >= 96, "only {ok} of 192 repairs succeeded");
}

// ---------------------------------------------------------------------------------------
// 4. Allocators
// ---------------------------------------------------------------------------------------

/// Random covariance matrices: PSD from k random factors (k < n: singular), plus
/// optional idiosyncratic variance, zero-variance assets, per-asset scales and overall
/// scales 1e-12..1e12; and indefinite or all-zero matrices, which estimates never are but
/// a method must still refuse cleanly.
fn covariance(n: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Array2<f64>> {
    (
        n,
        1usize..=8,
        prop::collection::vec(-1.0f64..1.0, 8 * 50),
        prop::collection::vec(0.0f64..1.0, 50),
        0u8..8,
        -12i32..=12,
        prop::collection::vec(-6i32..=6, 50),
        0usize..50,
    )
        .prop_map(|(n, k, f, idio, kind, e, scales, zero)| {
            let k = k.min(n);
            let fac = |i: usize, j: usize| f[i * 8 + j];
            let mut c = Array2::from_shape_fn((n, n), |(i, j)| {
                (0..k).map(|q| fac(i, q) * fac(j, q)).sum::<f64>()
            });
            match kind {
                // Full rank: factors plus idiosyncratic variance.
                0 | 1 => {
                    for i in 0..n {
                        c[(i, i)] += idio[i];
                    }
                }
                // One (or more) zero-variance assets.
                2 => {
                    for z in [zero % n, (zero / 7) % n] {
                        c.row_mut(z).fill(0.0);
                        c.column_mut(z).fill(0.0);
                    }
                }
                // Per-asset scales over 12 orders of magnitude.
                3 => {
                    for i in 0..n {
                        for j in 0..n {
                            c[(i, j)] *= 10f64.powi(scales[i] + scales[j]);
                        }
                        c[(i, i)] += 10f64.powi(2 * scales[i]) * idio[i];
                    }
                }
                // Indefinite symmetric.
                4 => {
                    c = Array2::from_shape_fn((n, n), |(i, j)| {
                        let (a, b) = (i.min(j), i.max(j));
                        f[(a * 8 + b) % f.len()] * if i == j { 1.0 } else { 2.0 }
                    });
                }
                5 => c.fill(0.0),
                // Perfectly correlated (rank one, all ones).
                6 => c.fill(1.0),
                // Rank-deficient from k factors as is (k < n: singular).
                _ => {}
            }
            c * 10f64.powi(e)
        })
}

fn check_allocators(
    names: &[&'static str],
    cov: &Array2<f64>,
    trial: u64,
) -> Result<usize, TestCaseError> {
    let mut oks = 0;
    let n = cov.nrows();
    let est = Estimate::new(cov.clone());
    let ctx = Context {
        seed: 11,
        trial,
        out_of_sample: false,
    };
    for &name in names {
        let a = alloc::build_with(name, &AllocControl::default()).expect("registered");
        if a.supports(n).is_err() {
            continue;
        }
        match a.allocate_noted(&est, &ctx) {
            Ok((w, _)) => {
                let ok: Result<(), _> = alloc::check_weights(&w, n);
                prop_assert!(ok.is_ok(), "{name} at n = {n}: {:?} ({w})", ok.err());
                oks += 1;
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
    Ok(oks)
}

fn plain_allocators() -> Vec<&'static str> {
    alloc::registry()
        .iter()
        .filter(|m| m.family != "learned")
        .map(|m| m.name)
        .collect()
}

/// Every allocator except the learned family on random covariances at n = 2..8
/// (256 cases, each running every method).
#[test]
fn allocators_weights_or_error() {
    let names = plain_allocators();
    let ok = run(256, (covariance(2..=8), 0u64..1000), |(cov, trial)| {
        check_allocators(&names, &cov, trial)
    });
    assert!(
        ok >= 256 * names.len() / 4,
        "only {ok} of {} allocations succeeded",
        256 * names.len()
    );
}

/// The learned family (DHRP's shipped model is trained for n = 50) at n = 50: 8 cases.
#[test]
fn learned_allocators_at_50() {
    let names: Vec<&'static str> = alloc::registry()
        .iter()
        .filter(|m| m.family == "learned")
        .map(|m| m.name)
        .collect();
    assert!(!names.is_empty());
    let ok = run(8, covariance(50..=50), |cov| {
        check_allocators(&names, &cov, 0)
    });
    assert!(ok >= 4, "only {ok} of 8 learned allocations succeeded");
}

// ---------------------------------------------------------------------------------------
// 5. Seriation methods and criteria
// ---------------------------------------------------------------------------------------

/// Random distance matrices at n = 1..8: uniform random, all equal, all zero, duplicated
/// objects, small-integer ties, Euclidean at scales 1e-12..1e12; sometimes corrupted
/// (NaN, negative, infinite, asymmetric entry), which must be refused.
fn distances() -> impl Strategy<Value = (Array2<f64>, Option<(usize, usize, f64)>)> {
    (
        1usize..=8,
        0u8..6,
        prop::collection::vec(0.0f64..1.0, 64),
        prop::collection::vec(-1.0f64..1.0, 16),
        -12i32..=12,
        prop::option::weighted(
            0.15,
            (
                0usize..64,
                prop::sample::select(vec![f64::NAN, -1.0, f64::INFINITY, 0.5]),
            ),
        ),
    )
        .prop_map(|(n, kind, r, p, e, bad)| {
            let s = 10f64.powi(e);
            let d = Array2::from_shape_fn((n, n), |(i, j)| {
                if i == j {
                    return 0.0;
                }
                let (a, b) = (i.min(j), i.max(j));
                match kind {
                    0 => r[a * 8 + b],
                    1 => s,
                    2 => 0.0,
                    // Objects 2k and 2k+1 coincide.
                    3 => {
                        if a / 2 == b / 2 {
                            0.0
                        } else {
                            r[(a / 2) * 8 + b / 2]
                        }
                    }
                    4 => (r[a * 8 + b] * 3.0).floor(),
                    _ => {
                        ((p[2 * a] - p[2 * b]).powi(2) + (p[2 * a + 1] - p[2 * b + 1]).powi(2))
                            .sqrt()
                            * s
                    }
                }
            });
            let bad = bad.map(|(k, v)| ((k / 8) % n, k % n, v));
            (d, bad)
        })
}

fn check_seriation(
    d: &Array2<f64>,
    bad: Option<(usize, usize, f64)>,
) -> Result<usize, TestCaseError> {
    let mut oks = 0;
    let mut d = d.clone();
    let n = d.nrows();
    let mut valid = true;
    if let Some((i, j, v)) = bad {
        // 0.5 on the diagonal is a valid (if odd) matrix; elsewhere it breaks symmetry.
        if !(v == 0.5 && i == j) {
            valid = v.is_finite() && v >= 0.0 && i == j;
        }
        d[(i, j)] = v;
    }
    for m in seriation::methods() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        match seriation::seriate_with(m.name, d.view(), &mut rng, &Control::default()) {
            Ok(s) => {
                prop_assert!(valid, "{}: accepted an invalid matrix", m.name);
                let ok = validate_order(&s.order, n);
                prop_assert!(ok.is_ok(), "{} at n = {n}: {:?}", m.name, ok.err());
                oks += 1;
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
    let identity: Vec<usize> = (0..n).collect();
    let mut rev = identity.clone();
    rev.reverse();
    for order in [identity, rev] {
        match criteria::each_criterion(d.view(), &order) {
            Ok(values) => {
                prop_assert_eq!(values.len(), criteria::criteria().len());
                for (name, v) in values {
                    if let Ok(v) = v {
                        prop_assert!(valid, "{name}: value {v} for an invalid matrix");
                        prop_assert!(v.is_finite(), "{name} at n = {n}: {v}");
                    }
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
    Ok(oks)
}

/// Every seriation method and every criterion on random distance matrices at n = 1..8
/// (256 cases, each running every method).
#[test]
fn seriation_orders_or_error() {
    let ok = run(256, distances(), |(d, bad)| check_seriation(&d, bad));
    let all = 256 * seriation::methods().len();
    assert!(ok >= all / 2, "only {ok} of {all} seriations succeeded");
}

// ---------------------------------------------------------------------------------------
// 6. Control strings
// ---------------------------------------------------------------------------------------

/// A `KEY=VALUE` string: `KEY` one of the method's own control parameters (or, now and
/// then, a foreign or random one), `VALUE` adversarial text; or no `=` at all.
fn control_pair() -> impl Strategy<Value = (Option<prop::sample::Index>, String)> {
    let key = prop_oneof![
        4 => any::<prop::sample::Index>().prop_map(Some),
        1 => Just(None),
    ];
    let value = prop_oneof![
        3 => prop::sample::select(vec![
            "0", "1", "2", "-1", "0.5", "1e-300", "1e308", "nan", "inf", "-inf", "1e19",
            "18446744073709551616", "0.0001", "TRUE", "FALSE", "complete", "ward", "single",
            "average", "cmdscale", "isoMDS", "sammon", "nearest insertion", "two_opt", "NULL",
            "", " ", "ü",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,6}",
    ];
    let other = prop::sample::select(vec!["bogus", "", " reps ", "max_nodes", "ü", "a=b"]);
    prop_oneof![
        6 => (key, other, value).prop_map(|(k, o, v)| (k, format!("{o}={v}"))),
        1 => "\\PC{0,8}".prop_map(|t| (None, t)),
    ]
}

/// Resolves the pairs of [`control_pair`] for `method` into `--control` strings.
fn control_strings_for(
    method: &seriation::MethodInfo,
    pairs: &[(Option<prop::sample::Index>, String)],
) -> Vec<String> {
    pairs
        .iter()
        .map(|(k, text)| match (k, text.split_once('=')) {
            (Some(ix), Some((_, v))) if !method.control.is_empty() => {
                format!("{}={v}", method.control[ix.index(method.control.len())].0)
            }
            _ => text.clone(),
        })
        .collect()
}

fn check_controls(
    method: usize,
    pairs: &[(Option<prop::sample::Index>, String)],
    r: &[f64],
) -> Result<usize, TestCaseError> {
    let methods = seriation::methods();
    let m = &methods[method % methods.len()];
    let strings = control_strings_for(m, pairs);
    let c = match Control::parse(&strings) {
        Err(_) => {
            prop_assert!(strings.iter().any(|p| !p.contains('=')));
            return Ok(0);
        }
        Ok(c) => c,
    };
    for p in &strings {
        let k = p.split_once('=').unwrap().0.trim();
        prop_assert!(c.0.contains_key(k));
        let _ = (c.f64(k, 1.0), c.usize(k, 1));
    }
    let n = 6;
    let d = Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            0.0
        } else {
            r[i.min(j) * n + i.max(j)]
        }
    });
    let mut oks = 0;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    if let Ok(s) = seriation::seriate_with(m.name, d.view(), &mut rng, &c) {
        let ok = validate_order(&s.order, n);
        prop_assert!(ok.is_ok(), "{}: {:?}", m.name, ok.err());
        oks += 1;
    }
    // The same controls on the matching ASRP allocator, where there is one.
    if let Ok(a) = alloc::build_with(&format!("HRP_ser_{}", m.name), &c) {
        let cov = Array2::from_shape_fn((n, n), |(i, j)| {
            1.0 + 0.2 * d[(i, j)] + if i == j { 1.0 } else { 0.0 }
        });
        let est = Estimate::new(cov);
        let ctx = Context {
            seed: 1,
            trial: 0,
            out_of_sample: false,
        };
        if let Ok(w) = a.allocate(&est, &ctx) {
            let ok = alloc::check_weights(&w, n);
            prop_assert!(ok.is_ok(), "HRP_ser_{}: {:?}", m.name, ok.err());
        }
    }
    Ok(oks)
}

/// `--control KEY=VALUE` strings (192 cases): parsing fails only on a pair without `=`
/// and otherwise keeps every pair (trimmed); the numeric getters never panic; the method
/// run with the controls at n = 6, and its ASRP allocator, give a valid result or an error.
#[test]
fn control_strings() {
    let strategy = (
        0usize..64,
        prop::collection::vec(control_pair(), 0..4),
        prop::collection::vec(0.0f64..1.0, 36),
    );
    let ok = run(192, strategy, |(m, pairs, r)| check_controls(m, &pairs, &r));
    assert!(ok >= 48, "only {ok} of 192 controlled seriations succeeded");
}

// ---------------------------------------------------------------------------------------
// Regressions: shrunk cases the properties found (each a bug fixed in this change).
// ---------------------------------------------------------------------------------------

/// Found by `seriation_orders_or_error`: `Cor_R` of a single object (a correlation of
/// constants) was returned as `Ok(NaN)`; it is now an error naming the criterion.
#[test]
fn cor_r_of_one_object_is_an_error_not_nan() {
    let d = Array2::<f64>::zeros((1, 1));
    let all = criteria::each_criterion(d.view(), &[0]).unwrap();
    let (_, cor) = all.iter().find(|(n, _)| *n == "Cor_R").unwrap();
    let e = cor.as_ref().unwrap_err().to_string();
    assert!(e.contains("Cor_R is undefined"), "{e}");
    assert!(criteria::criterion("Cor_R", d.view(), &[0]).is_err());
    for (name, v) in all {
        if let Ok(v) = v {
            assert!(v.is_finite(), "{name}: {v}");
        }
    }
}

/// Found by `matrix_loaders`: a `.npy` header declaring a shape far larger than the file
/// (here 2^31 × 2 float64) made `ndarray_npy` allocate 32 GiB and abort the process; the
/// loader now compares the declared size with the file before reading.
#[test]
fn npy_header_larger_than_file_is_an_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    for shape in [
        "(2147483648, 2)",
        "(4611686018427387904, 4611686018427387904)",
        "(3, 3)",
    ] {
        let dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
        let p = dir.path().join("big.npy");
        std::fs::write(&p, npy_bytes(&dict, &[0u8; 16])).unwrap();
        let e = corrmc::npy::read_matrix(p.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("big.npy") && e.contains("corrupt .npy"), "{e}");
    }
}

/// Found by `allocators_weights_or_error`: MinVar on a constant (rank-one) covariance of
/// 1e-5 passed Cholesky with a rounding-sized pivot and returned weights ±inf as a
/// result; it is now a `NotPositiveDefinite` error.
#[test]
fn minvar_on_constant_covariance_is_an_error_not_inf() {
    let cov = Array2::from_elem((4, 4), 1e-5);
    let ctx = Context {
        seed: 11,
        trial: 0,
        out_of_sample: false,
    };
    let a = alloc::build("MinVar").unwrap();
    let e = a.allocate(&Estimate::new(cov), &ctx).unwrap_err();
    assert!(e.to_string().contains("singular"), "{e}");
}

/// Found by `control_strings`: `QAP_BAR` with `miter=18446744073709551616` (saturated to
/// `usize::MAX`) and `QAP_Inertia` with `fiter=18446744073709551616` ran without end; count
/// controls are now refused above R's largest integer, and QAP's growth factor must keep
/// the iterations of its last round within it.
#[test]
fn absurd_count_control_is_an_error_not_a_hang() {
    let d = Array2::from_shape_fn((6, 6), |(i, j)| (i as f64 - j as f64).abs());
    for (method, kv) in [
        ("QAP_BAR", "miter=18446744073709551616"),
        ("TSP", "rep=1e19"),
        ("QAP_LS", "maxsteps=inf"),
        ("QAP_Inertia", "fiter=18446744073709551616"),
    ] {
        let c = Control::parse(&[kv.to_string()]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let e = seriation::seriate_with(method, d.view(), &mut rng, &c)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2147483647"), "{method} {kv}: {e}");
    }
}
