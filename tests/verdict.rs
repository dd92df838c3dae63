//! The verdict's statistics against references: paired means, t-intervals and
//! t-tests against scipy (`scripts/fixtures_verdict.py` → fixtures/verdict/), the
//! bootstrap's reproducibility and its coverage on simulated studies with a known
//! difference, and pairwise exclusion of failures.

use corrmc::verdict::dist::{t_cdf, t_quantile};
use corrmc::verdict::paired::{Distribution, Options, paired_t, verdict};
use corrmc::verdict::study::{RAW, Study, derive};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn fixtures() -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/verdict/paired.json");
    let text =
        std::fs::read_to_string(&p).expect("fixtures missing: run scripts/fixtures_verdict.py");
    serde_json::from_str(&text).unwrap()
}

fn arr(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn close(a: f64, b: f64, abs: f64, what: &str) {
    assert!(
        (a - b).abs() <= abs,
        "{what}: {a} vs scipy {b} (|Δ| = {:e})",
        (a - b).abs()
    );
}

#[test]
fn paired_t_matches_scipy() {
    let f = fixtures();
    for c in f["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let (x, y) = (arr(&c["x"]), arr(&c["y"]));
        let t95 = paired_t(&x, &y, 0.95);
        let t90 = paired_t(&x, &y, 0.90);
        assert_eq!(t95.n as u64, c["n"].as_u64().unwrap(), "{name}");
        assert_eq!(t95.excluded, x.len() - t95.n, "{name}");
        // Means, spreads and interval ends: absolute 1e-12.
        close(t95.mean_x, c["mean_x"].as_f64().unwrap(), 1e-12, name);
        close(t95.mean_y, c["mean_y"].as_f64().unwrap(), 1e-12, name);
        close(t95.diff, c["diff"].as_f64().unwrap(), 1e-12, name);
        close(t95.sd, c["sd"].as_f64().unwrap(), 1e-12, name);
        for (got, key) in [(t95.ci, "ci_95"), (t90.ci, "ci_90")] {
            let want = arr(&c[key]);
            close(got[0], want[0], 1e-12, &format!("{name} {key} low"));
            close(got[1], want[1], 1e-12, &format!("{name} {key} high"));
        }
        // The statistic can be large (near-constant differences): relative 1e-9.
        let tw = c["t"].as_f64().unwrap();
        close(t95.t, tw, 1e-9 * tw.abs(), &format!("{name} t"));
        let pw = c["p_value"].as_f64().unwrap();
        close(t95.p_value, pw, 1e-12 + 1e-9 * pw, &format!("{name} p"));
        // Type-7 quantiles of x.
        let d = Distribution::of(&x);
        let q = &c["quantiles_x"];
        for (got, key) in [
            (d.min, "0.0"),
            (d.q05, "0.05"),
            (d.q25, "0.25"),
            (d.median, "0.5"),
            (d.q75, "0.75"),
            (d.q95, "0.95"),
            (d.max, "1.0"),
        ] {
            close(
                got,
                q[key].as_f64().unwrap(),
                1e-12,
                &format!("{name} q{key}"),
            );
        }
    }
}

#[test]
fn student_t_matches_scipy() {
    let f = fixtures();
    for r in f["t"].as_array().unwrap() {
        let df = r["df"].as_f64().unwrap();
        if let Some(want) = r["ppf"].as_f64() {
            let p = r["p"].as_f64().unwrap();
            let got = t_quantile(p, df);
            close(
                got,
                want,
                1e-12 * want.abs().max(1.0),
                &format!("t.ppf({p}, {df})"),
            );
        } else {
            let t = r["t"].as_f64().unwrap();
            let want = r["cdf"].as_f64().unwrap();
            close(t_cdf(t, df), want, 1e-14, &format!("t.cdf({t}, {df})"));
        }
    }
}

/// A two-method study with the given oos_vol columns (other metrics constant 1).
fn study(oos: Array2<f64>, status: Array2<u8>) -> Study {
    let raw: BTreeMap<&'static str, Array2<f64>> = RAW
        .iter()
        .map(|&n| {
            let a = if n == "oos_vol" {
                oos.clone()
            } else {
                Array2::from_elem(oos.dim(), 1.0)
            };
            (n, a)
        })
        .collect();
    let values = derive(raw, &status);
    Study {
        group: "/".into(),
        methods: vec!["HRP".into(), "A".into()],
        planned: oos.nrows(),
        trials: (0..oos.nrows()).collect(),
        values,
        status_oos: status.clone(),
        status,
        codes: BTreeMap::new(),
        messages: BTreeMap::new(),
    }
}

/// Trials where A = HRP + δ + skewed noise (exponential − 1): the mean difference is δ.
fn simulated(n: usize, delta: f64, seed: u64) -> Study {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let oos = Array2::from_shape_fn((n, 2), |_| 0.0);
    let mut oos = oos;
    for i in 0..n {
        let b = 0.08 + 0.01 * rng.random::<f64>();
        let e: f64 = -(1.0 - rng.random::<f64>()).ln() - 1.0;
        oos[(i, 0)] = b;
        oos[(i, 1)] = b + delta + 0.004 * e;
    }
    study(oos, Array2::zeros((n, 2)))
}

fn oos_pair(v: &corrmc::verdict::StudyVerdict) -> &corrmc::verdict::paired::Paired {
    v.paired
        .iter()
        .find(|p| p.measure == "oos_vol" && p.method == "A")
        .unwrap()
}

#[test]
fn bootstrap_is_reproducible_for_a_seed() {
    let s = simulated(150, -0.001, 1);
    let o = |seed| Options {
        seed: Some(seed),
        resamples: 500,
        ..Options::default()
    };
    let a = verdict(&s, &o(7), 0).unwrap();
    let b = verdict(&s, &o(7), 0).unwrap();
    let c = verdict(&s, &o(8), 0).unwrap();
    assert_eq!(oos_pair(&a).boot_ci, oos_pair(&b).boot_ci);
    assert_eq!(oos_pair(&a).rel_boot_ci, oos_pair(&b).rel_boot_ci);
    assert_ne!(oos_pair(&a).boot_ci, oos_pair(&c).boot_ci);
    // The study seed is the default bootstrap seed.
    let d = verdict(&s, &Options { seed: None, ..o(0) }, 7).unwrap();
    assert_eq!(oos_pair(&a).boot_ci, oos_pair(&d).boot_ci);
    // And the interval is a sensible one around the mean difference.
    let p = oos_pair(&a);
    assert!(p.boot_ci[0] < p.t.diff && p.t.diff < p.boot_ci[1]);
    let (wb, wt) = (p.boot_ci[1] - p.boot_ci[0], p.t.ci[1] - p.t.ci[0]);
    assert!(
        (wb / wt - 1.0).abs() < 0.15,
        "bootstrap width {wb} vs t width {wt}"
    );
}

#[test]
fn intervals_cover_a_known_difference() {
    // 300 simulated studies of 120 trials with skewed paired noise; the true mean
    // difference is δ. A 95 % interval should cover it in about 95 % of studies
    // (binomial sd 1.3 %; the percentile interval undercovers slightly at n = 120).
    let delta = -0.0015;
    let (mut boot, mut t) = (0, 0);
    let reps = 300;
    for r in 0..reps {
        let s = simulated(120, delta, 1000 + r);
        let v = verdict(
            &s,
            &Options {
                resamples: 400,
                seed: Some(r),
                ..Options::default()
            },
            0,
        )
        .unwrap();
        let p = oos_pair(&v);
        boot += (p.boot_ci[0] <= delta && delta <= p.boot_ci[1]) as usize;
        t += (p.t.ci[0] <= delta && delta <= p.t.ci[1]) as usize;
    }
    let (cb, ct) = (boot as f64 / reps as f64, t as f64 / reps as f64);
    assert!((0.91..=0.985).contains(&cb), "bootstrap coverage {cb}");
    assert!((0.91..=0.985).contains(&ct), "t coverage {ct}");
}

#[test]
fn failures_are_excluded_pairwise_and_counted() {
    let mut s = simulated(50, -0.001, 3);
    // Rebuild with failures: HRP fails in trials 0, 1; A in trials 1, 2, 3.
    let mut oos = Array2::zeros((50, 2));
    oos.column_mut(0).assign(&s.values["oos_vol"].column(0));
    oos.column_mut(1).assign(&s.values["oos_vol"].column(1));
    let mut status = Array2::<u8>::zeros((50, 2));
    for (t, j) in [(0, 0), (1, 0), (1, 1), (2, 1), (3, 1)] {
        status[(t, j)] = 4;
    }
    s = study(oos.clone(), status);
    let v = verdict(&s, &Options::default(), 5).unwrap();
    let p = oos_pair(&v);
    assert_eq!((p.t.n, p.t.excluded), (46, 4));
    let ok: Vec<usize> = (4..50).collect();
    let d: f64 = ok.iter().map(|&i| oos[(i, 1)] - oos[(i, 0)]).sum::<f64>() / 46.0;
    assert!((p.t.diff - d).abs() < 1e-15);
    assert_eq!(v.methods[0].trials_failed, 2);
    assert_eq!(v.methods[1].trials_failed, 3);
    // Win rate: A is better (lower oos_vol) in every used trial but ties none.
    assert!(p.win_rate > 0.5 && p.tie_rate == 0.0);
    // The ranking puts A first with a rank interval and an unknown baseline is a clear error.
    let r = v.rankings.iter().find(|r| r.measure == "oos_vol").unwrap();
    assert_eq!(r.entries[0].method, "A");
    assert!(r.entries[0].rank_ci[0] >= 1.0 && r.entries[0].rank_ci[1] <= 2.0);
    let e = verdict(
        &s,
        &Options {
            baseline: Some("HPR".into()),
            ..Options::default()
        },
        5,
    )
    .unwrap_err();
    assert!(e.contains("'HPR'") && e.contains("HRP, A"), "{e}");
}

/// A small real study (block source, 5 methods) written by the engine.
/// Held while a test of this binary writes a result file in-process or runs a child
/// process: a child forked while the writer's HDF5 file is open inherits that descriptor
/// (HDF5 does not set close-on-exec) and with it the file's write lock, until the child
/// exits; a test reading its own fresh file then fails with "unable to lock file".
static WRITE_OR_CHILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    WRITE_OR_CHILD.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn small_study(dir: &std::path::Path, trials: u64) -> PathBuf {
    small_study_with(dir, trials, 1, 10)
}

/// The same study on `threads` threads, written in chunks of `chunk` trials.
pub fn small_study_with(
    dir: &std::path::Path,
    trials: u64,
    threads: usize,
    chunk: usize,
) -> PathBuf {
    const SPEC: &str = r#"
name = "verdict-small"
seed = 77
trials = 40
assets = 12
in_sample_days = 60
out_of_sample_days = 60
methods = ["EW", "RP", "MinVar", "MinVar_long", "HRP"]
chunk_trials = 10
[source]
kind = "block"
sectors = 3
subsectors = 2
[volatility]
model = "uniform"
low = 0.01
high = 0.02
"#;
    let spec = corrmc::spec::Spec::parse(
        &SPEC.replace("chunk_trials = 10", &format!("chunk_trials = {chunk}")),
        "verdict-small.toml",
    )
    .unwrap();
    let out = dir.join("small.h5");
    let _one = exclusive();
    corrmc::engine::run(
        &spec,
        &corrmc::engine::RunOptions {
            threads: Some(threads),
            output: Some(out.clone()),
            trials: Some(trials),
            ..Default::default()
        },
    )
    .unwrap();
    out
}

#[test]
fn verdict_of_a_result_file_plain_and_partial() {
    let dir = tempfile::tempdir().unwrap();
    let out = small_study(dir.path(), 40);
    let v = corrmc::verdict::analyse(&out, &Options::default()).unwrap();
    assert!(!v.file.partial);
    assert_eq!(v.studies.len(), 1);
    let s = &v.studies[0].verdict;
    assert_eq!(
        (s.baseline.as_str(), s.trials_run, s.resamples),
        ("HRP", 40, 2000)
    );
    // 4 methods × 12 judged measures (7 of risk, 5 of returns).
    assert_eq!(s.paired.len(), 4 * 12);
    assert_eq!(s.bootstrap_seed, 77);
    // Means agree with the per-method summary of the same file.
    let sum = corrmc::summary::summarize(&out).unwrap();
    for (ms, m) in s.methods.iter().zip(&sum.methods) {
        let d = &ms
            .distributions
            .iter()
            .find(|d| d.0 == "oos_vol")
            .unwrap()
            .1;
        assert!((d.mean - m.oos_vol.mean).abs() < 1e-15 && d.n == m.trials_ok);
    }
    // The text report names every method and the baseline.
    let text = corrmc::verdict::text::render(s, &[]);
    assert!(text.contains("oos_vol − HRP") && text.contains("MinVar_long"));
    assert!(text.contains("ranking by oos_vol") && text.contains("oos_is_ratio: quantiles"));

    // An unfinished run: rows never run (status 255) are dropped, the file is marked partial.
    let partial = dir.path().join("small.h5.partial");
    std::fs::copy(&out, &partial).unwrap();
    {
        let _one = exclusive();
        let f = hdf5::File::open_rw(&partial).unwrap();
        f.attr("complete").unwrap().write_scalar(&0u8).unwrap();
        let st = f.dataset("status").unwrap();
        st.write_slice(
            &Array2::<u8>::from_elem((15, 5), 255),
            ndarray::s![25..40, ..],
        )
        .unwrap();
    }
    let p = corrmc::verdict::analyse(&partial, &Options::default()).unwrap();
    assert!(p.file.partial);
    let ps = &p.studies[0].verdict;
    assert_eq!((ps.trials_run, ps.trials_planned), (25, 40));
    assert!(ps.paired.iter().all(|x| x.t.n + x.t.excluded == 25));

    // Errors name what is wrong before any work.
    let bad = corrmc::verdict::analyse(
        &out,
        &Options {
            baseline: Some("Nope".into()),
            ..Options::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        bad.contains("'Nope'") && bad.contains("EW, RP, MinVar"),
        "{bad}"
    );
    let bad = corrmc::verdict::analyse(
        &out,
        &Options {
            level: 1.5,
            ..Options::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(bad.contains("--level"), "{bad}");
    let junk = dir.path().join("junk.h5");
    std::fs::write(&junk, b"not hdf5").unwrap();
    assert!(corrmc::verdict::analyse(&junk, &Options::default()).is_err());
}

/// Copies a plain result file's study into `/points/<k>` of a sweep file with the
/// given `/sweep/keys` and `/sweep/values` (the layout of the sweeps issue).
pub fn make_sweep(
    plain: &std::path::Path,
    out: &std::path::Path,
    keys: &[&str],
    values: &[&[&str]],
) {
    use hdf5::types::VarLenUnicode;
    use std::str::FromStr;
    let src = hdf5::File::open(plain).unwrap();
    let _one = exclusive();
    let dst = hdf5::File::create(out).unwrap();
    for a in ["name", "spec", "source", "corrmc_version", "git_revision"] {
        let v = src.attr(a).unwrap().read_scalar::<VarLenUnicode>().unwrap();
        dst.new_attr::<VarLenUnicode>()
            .shape(())
            .create(a)
            .unwrap()
            .write_scalar(&v)
            .unwrap();
    }
    dst.new_attr::<u64>()
        .shape(())
        .create("seed")
        .unwrap()
        .write_scalar(&77u64)
        .unwrap();
    dst.new_attr::<u8>()
        .shape(())
        .create("complete")
        .unwrap()
        .write_scalar(&1u8)
        .unwrap();
    let sweep = dst.create_group("sweep").unwrap();
    let s = |v: &[&str]| -> ndarray::Array1<VarLenUnicode> {
        v.iter()
            .map(|x| VarLenUnicode::from_str(x).unwrap())
            .collect()
    };
    sweep
        .new_dataset_builder()
        .with_data(&s(keys))
        .create("keys")
        .unwrap();
    let flat: Vec<&str> = values.iter().flat_map(|r| r.iter().copied()).collect();
    let vals = s(&flat)
        .into_shape_with_order((values.len(), keys.len()))
        .unwrap();
    sweep
        .new_dataset_builder()
        .with_data(&vals)
        .create("values")
        .unwrap();
    let points = dst.create_group("points").unwrap();
    let methods = src
        .dataset("methods")
        .unwrap()
        .read_1d::<VarLenUnicode>()
        .unwrap();
    for k in 0..values.len() {
        let g = points.create_group(&k.to_string()).unwrap();
        g.new_dataset_builder()
            .with_data(&methods)
            .create("methods")
            .unwrap();
        for name in ["status", "status_oos"] {
            let d = src.dataset(name).unwrap();
            let a = d.read_2d::<u8>().unwrap();
            let o = g.new_dataset_builder().with_data(&a).create(name).unwrap();
            if let Ok(c) = d.attr("codes") {
                let c = c.read_scalar::<VarLenUnicode>().unwrap();
                o.new_attr::<VarLenUnicode>()
                    .shape(())
                    .create("codes")
                    .unwrap()
                    .write_scalar(&c)
                    .unwrap();
            }
        }
        let mg = g.create_group("metrics").unwrap();
        for name in RAW.iter().chain(&["gross"]) {
            // Scale volatilities by point so that points differ.
            let mut a = src
                .dataset(&format!("metrics/{name}"))
                .unwrap()
                .read_2d::<f64>()
                .unwrap();
            if name.ends_with("vol") {
                a *= 1.0 + k as f64;
            }
            mg.new_dataset_builder()
                .with_data(&a)
                .create(*name)
                .unwrap();
        }
    }
}

#[test]
fn verdict_of_a_sweep_reads_every_point() {
    let dir = tempfile::tempdir().unwrap();
    let plain = small_study(dir.path(), 20);
    let sw = dir.path().join("sweep.h5");
    make_sweep(
        &plain,
        &sw,
        &["assets", "source.eta"],
        &[&["12", "1"], &["12", "4"], &["24", "1"]],
    );
    let v = corrmc::verdict::analyse(
        &sw,
        &Options {
            resamples: 100,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(v.file.sweep_keys, ["assets", "source.eta"]);
    assert_eq!(v.studies.len(), 3);
    assert_eq!(v.studies[2].params, ["24", "1"]);
    assert_eq!(v.studies[1].verdict.group, "/points/1");
    let m = |k: usize| {
        let r = &v.studies[k].verdict.rankings[0];
        assert_eq!(r.measure, "oos_vol");
        r.entries.iter().map(|e| e.mean).sum::<f64>()
    };
    assert!((m(1) / m(0) - 2.0).abs() < 1e-12 && (m(2) / m(0) - 3.0).abs() < 1e-12);
}

/// Checks a report directory: the page is well-formed XML (so every tag is closed and
/// every SVG inline is well-formed), every linked file exists, every SVG file parses,
/// and returns (figure name → number of series) from report.json, checked against the
/// SVG files themselves.
fn check_report(dir: &std::path::Path) -> (String, BTreeMap<String, usize>) {
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("report.html is not well-formed: {e}"));
    let mut links = 0;
    for n in doc.descendants().filter(|n| n.has_tag_name("a")) {
        let href = n.attribute("href").unwrap();
        assert!(!href.contains("://"), "external link {href}");
        assert!(dir.join(href).exists(), "linked file {href} missing");
        links += 1;
    }
    assert!(links > 0);
    // No external resources: no src attributes, no stylesheet links.
    assert!(doc.descendants().all(|n| n.attribute("src").is_none()));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let mut series = BTreeMap::new();
    for f in json["figures"].as_array().unwrap() {
        let svg_path = dir.join(f["svg"].as_str().unwrap());
        let svg = std::fs::read_to_string(&svg_path).unwrap();
        let d = roxmltree::Document::parse(&svg)
            .unwrap_or_else(|e| panic!("{} is not well-formed: {e}", svg_path.display()));
        let n = d
            .descendants()
            .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some("series"))
            .count();
        assert_eq!(n as u64, f["series"].as_u64().unwrap());
        if let Some(p) = f["png"].as_str() {
            let b = std::fs::read(dir.join(p)).unwrap();
            assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
        }
        series.insert(f["name"].as_str().unwrap().to_string(), n);
    }
    // The inline SVGs are the same figures.
    let inline = doc
        .descendants()
        .filter(|n| n.has_tag_name(("http://www.w3.org/2000/svg", "svg")))
        .count();
    assert_eq!(inline, series.len());
    (html, series)
}

#[test]
fn report_of_a_small_study_and_its_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = small_study(dir.path(), 30);
    let rep = dir.path().join("rep");
    let opts = corrmc::report::ReportOptions {
        verdict: Options {
            resamples: 200,
            ..Options::default()
        },
        ..Default::default()
    };
    corrmc::report::write_report(&out, &rep, &opts).unwrap();
    let (html, series) = check_report(&rep);
    let m = 5;
    assert_eq!(series["histograms"], 2 * m); // in- and out-of-sample per method
    assert_eq!(series["ranking-oos_vol"], 1);
    assert_eq!(series["paired-oos_vol"], 2); // t and bootstrap intervals
    assert_eq!(series["dist-oos_is_ratio"], 1);
    assert_eq!(series["dist-turnover"], 1);
    for s in [
        "Setup",
        "Verdict",
        "Failures per method and reason",
        "MinVar_long",
        "git revision",
    ] {
        assert!(html.contains(s), "report lacks {s}");
    }
    assert!(!html.contains("INCOMPLETE"));
    let svg = std::fs::read_to_string(rep.join("histograms.svg")).unwrap();
    assert!(svg.contains(r#"data-name="HRP out-of-sample""#));

    // A partial file is reported, clearly marked.
    let partial = dir.path().join("small.h5.partial");
    std::fs::copy(&out, &partial).unwrap();
    {
        let _one = exclusive();
        let f = hdf5::File::open_rw(&partial).unwrap();
        f.attr("complete").unwrap().write_scalar(&0u8).unwrap();
    }
    let rep2 = dir.path().join("rep2");
    corrmc::report::write_report(&partial, &rep2, &opts).unwrap();
    let (html, _) = check_report(&rep2);
    assert!(html.contains("INCOMPLETE RUN"));

    // A bad baseline fails before the directory is created.
    let rep3 = dir.path().join("rep3");
    let bad = corrmc::report::ReportOptions {
        verdict: Options {
            baseline: Some("XYZ".into()),
            ..Options::default()
        },
        ..Default::default()
    };
    let e = corrmc::report::write_report(&out, &rep3, &bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("'XYZ'") && !rep3.exists(), "{e}");
}

#[test]
fn report_of_a_sweep_draws_each_measure_against_each_key() {
    let dir = tempfile::tempdir().unwrap();
    let plain = small_study(dir.path(), 20);
    let sw = dir.path().join("sweep.h5");
    make_sweep(
        &plain,
        &sw,
        &["assets", "source.kind"],
        &[
            &["12", "block"],
            &["24", "block"],
            &["48", "block"],
            &["12", "onion"],
        ],
    );
    let rep = dir.path().join("rep");
    let opts = corrmc::report::ReportOptions {
        verdict: Options {
            resamples: 100,
            ..Options::default()
        },
        png: false,
        ..Default::default()
    };
    let w = corrmc::report::write_report(&sw, &rep, &opts).unwrap();
    assert!(w.figures.iter().all(|f| f.png.is_none()));
    let (html, series) = check_report(&rep);
    // One line per method in every sweep chart; numeric and categorical keys.
    for m in ["oos_vol", "oos_is_ratio", "turnover", "true_vol"] {
        assert_eq!(series[&format!("sweep-{m}-assets")], 5);
        assert_eq!(series[&format!("sweep-{m}-source_kind")], 5);
    }
    // The assets slice (at source.kind = block) has 3 points: 3 markers per method line.
    let svg = std::fs::read_to_string(rep.join("sweep-oos_vol-assets.svg")).unwrap();
    let d = roxmltree::Document::parse(&svg).unwrap();
    let g = d
        .descendants()
        .find(|n| n.attribute("data-name") == Some("HRP"))
        .unwrap();
    assert_eq!(
        g.children().filter(|n| n.has_tag_name("polyline")).count(),
        1
    );
    assert_eq!(
        g.children().filter(|n| n.has_tag_name("polygon")).count(),
        1 + 3
    ); // band + dots
    for k in 0..4 {
        assert!(html.contains(&format!("Point {k} (/points/{k})")));
    }
    assert!(series.contains_key("p0-histograms") && !series.contains_key("p1-histograms"));
}

#[test]
fn report_draws_the_strategy_taxonomy_when_the_file_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = small_study(dir.path(), 20);
    // Two groups of methods: {EW, RP} and {MinVar, MinVar_long, HRP}; 8 blocks.
    let g = [0, 0, 1, 1, 1];
    let rho = Array2::from_shape_fn((5, 5), |(i, j)| {
        if i == j {
            1.0
        } else if g[i] == g[j] {
            0.9
        } else {
            0.4
        }
    });
    let blocks = ndarray::Array3::from_shape_fn((8, 5, 5), |(k, i, j)| {
        if i == j {
            1.0
        } else {
            rho[(i, j)] + 0.002 * (k as f64 - 3.5)
        }
    });
    {
        let _one = exclusive();
        let f = hdf5::File::open_rw(&out).unwrap();
        // Replace what the engine recorded with a known structure.
        f.unlink("method_similarity").unwrap();
        f.unlink("method_similarity_blocks").unwrap();
        f.new_dataset_builder()
            .with_data(&rho)
            .create("method_similarity")
            .unwrap();
        f.new_dataset_builder()
            .with_data(&blocks)
            .create("method_similarity_blocks")
            .unwrap();
    }
    let rep = dir.path().join("rep");
    let opts = corrmc::report::ReportOptions {
        verdict: Options {
            resamples: 100,
            ..Options::default()
        },
        ..Default::default()
    };
    corrmc::report::write_report(&out, &rep, &opts).unwrap();
    let (html, series) = check_report(&rep);
    assert_eq!(series["taxonomy-dendrogram"], 1);
    assert_eq!(series["taxonomy-heatmap"], 1);
    assert!(html.contains("over 100 resamples of trial blocks"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rep.join("report.json")).unwrap()).unwrap();
    let t = &json["taxonomy"][0];
    assert!(t["cophenetic_correlation"].as_f64().unwrap() > 0.9);
    // The dendrogram has M − 1 merges, the top one at sqrt((1 − 0.4)/2).
    let merges = t["merges"].as_array().unwrap();
    assert_eq!(merges.len(), 4);
    assert!((merges[3][2].as_f64().unwrap() - 0.3f64.sqrt()).abs() < 1e-12);
    // The heatmap has M² cells.
    let svg = std::fs::read_to_string(rep.join("taxonomy-heatmap.svg")).unwrap();
    let d = roxmltree::Document::parse(&svg).unwrap();
    let cells = d
        .descendants()
        .find(|n| n.attribute("data-name") == Some("similarity"))
        .unwrap()
        .children()
        .filter(|n| n.has_tag_name("polygon"))
        .count();
    assert_eq!(cells, 25);
}

/// 250 trials (blocks of 100, 100 and 50) of 12 assets with 13 in-sample days:
/// the estimate's rcond spreads over 1e-8 .. 1e-2, and MinVar refuses those below
/// 4e-4, so it fails in about two thirds of the trials (167 of 250 with the 1-norm
/// rcond estimate; 125 with the λ_min/λ_max of before 2026-12-04).
const SIMILARITY_SPEC: &str = r#"
name = "similarity"
seed = 11
trials = 250
assets = 12
in_sample_days = 13
out_of_sample_days = 40
methods = ["EW", "RP", "MinVar", "HRP"]
store_weights = true
chunk_trials = 7
[source]
kind = "block"
sectors = 3
subsectors = 2
[volatility]
model = "uniform"
low = 0.01
high = 0.02
[control.MinVar]
rcond_min = 4e-4
"#;

const SIMILARITY_SETS: [&str; 5] = [
    "method_similarity",
    "method_similarity_is",
    "method_similarity_count",
    "method_similarity_is_count",
    "method_similarity_blocks",
];

/// Runs SIMILARITY_SPEC with `chunk_trials = chunk` on `threads` threads into
/// `dir/name.h5`; with `first`, stops after that many units, then resumes.
fn similarity_run(
    dir: &std::path::Path,
    name: &str,
    threads: usize,
    chunk: usize,
    first: Option<u64>,
) -> PathBuf {
    use corrmc::engine::{StudyOptions, run_study};
    let _one = exclusive();
    let text = SIMILARITY_SPEC.replace("chunk_trials = 7", &format!("chunk_trials = {chunk}"));
    let study = corrmc::sweep::Study::parse(&text, "similarity.toml").unwrap();
    let out = dir.join(format!("{name}.h5"));
    let opts = StudyOptions {
        threads: Some(threads),
        output: Some(out.clone()),
        ..Default::default()
    };
    if let Some(k) = first {
        let r = run_study(
            &study,
            &StudyOptions {
                max_units: Some(k),
                ..opts.clone()
            },
        )
        .unwrap();
        assert!(!r.complete && r.units_done == k, "{r:?}");
        let r = run_study(
            &study,
            &StudyOptions {
                resume: true,
                ..opts.clone()
            },
        )
        .unwrap();
        assert!(r.complete && r.units_kept == k, "{r:?}");
    } else {
        assert!(run_study(&study, &opts).unwrap().complete);
    }
    out
}

fn read_f64(p: &std::path::Path, name: &str) -> Vec<f64> {
    let f = hdf5::File::open(p).unwrap();
    f.dataset(name).unwrap().read_raw::<f64>().unwrap()
}

fn read_u64(p: &std::path::Path, name: &str) -> Vec<u64> {
    let f = hdf5::File::open(p).unwrap();
    f.dataset(name).unwrap().read_raw::<u64>().unwrap()
}

fn raw_bytes(p: &std::path::Path, name: &str) -> (Vec<usize>, Vec<u8>) {
    let f = hdf5::File::open(p).unwrap();
    let d = f.dataset(name).unwrap();
    let bytes = if name.ends_with("count") {
        d.read_raw::<u64>()
            .unwrap()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    } else {
        d.read_raw::<f64>()
            .unwrap()
            .iter()
            .flat_map(|v| v.to_bits().to_le_bytes())
            .collect()
    };
    (d.shape(), bytes)
}

#[test]
fn engine_records_method_similarity_independent_of_threads_and_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Chunks of 64 and 7 cut the 100-trial blocks in different places (unit 14 of
    // 7 trials is 98..105, across blocks 0 and 1); 250 is one unit; the last run
    // is stopped after 5 units of 7 and resumed.
    let reference = similarity_run(d, "t1-c64", 1, 64, None);
    let others = [
        similarity_run(d, "t2-c7", 2, 7, None),
        similarity_run(d, "t2-c250", 2, 250, None),
        similarity_run(d, "t2-c7-resumed", 2, 7, Some(5)),
    ];
    for o in &others {
        for n in SIMILARITY_SETS {
            assert_eq!(
                raw_bytes(&reference, n),
                raw_bytes(o, n),
                "{n}: {} vs {}",
                reference.display(),
                o.display()
            );
        }
    }
    let m = 4;
    let rho = read_f64(&reference, "method_similarity");
    let rho_is = read_f64(&reference, "method_similarity_is");
    let count = read_u64(&reference, "method_similarity_count");
    let count_is = read_u64(&reference, "method_similarity_is_count");
    assert_eq!((rho.len(), count.len()), (m * m, m * m));
    // A pair's count is the number of trials where both methods' in-sample
    // weights succeeded (/status 0): every successful portfolio has a positive
    // variance under either covariance.
    let status = read_status(&reference);
    let both = |a: usize, b: usize| {
        (0..250)
            .filter(|&t| status[t * m + a] == 0 && status[t * m + b] == 0)
            .count() as u64
    };
    let minvar_ok = both(2, 2);
    assert!(
        minvar_ok > 0 && minvar_ok < 250,
        "MinVar succeeded in {minvar_ok} of 250 trials: the test wants partial failures"
    );
    for a in 0..m {
        for b in 0..m {
            let (ab, ba) = (a * m + b, b * m + a);
            assert_eq!(
                (count[ab], count_is[ab]),
                (both(a, b), both(a, b)),
                "{a},{b}"
            );
            for r in [&rho, &rho_is] {
                assert_eq!(r[ab].to_bits(), r[ba].to_bits(), "symmetric");
                if a == b {
                    assert_eq!(r[ab], 1.0);
                } else {
                    assert!((-1.0..=1.0).contains(&r[ab]), "{a},{b}: {}", r[ab]);
                }
            }
        }
    }
    // EW and HRP are both long-only, diversified portfolios: strongly alike.
    assert!(rho[3] > 0.5, "EW vs HRP {}", rho[3]);
    // Blocks of 100, 100 and 50 trials: the overall mean is their count-weighted mean.
    let blocks = read_f64(&reference, "method_similarity_blocks");
    assert_eq!(blocks.len(), 3 * m * m);
    let (a, b) = (0, 3);
    let w = (100.0 * (blocks[a * m + b] + blocks[m * m + a * m + b])
        + 50.0 * blocks[2 * m * m + a * m + b])
        / 250.0;
    assert!(
        (w - rho[a * m + b]).abs() < 1e-14,
        "{w} vs {}",
        rho[a * m + b]
    );
}

fn read_status(p: &std::path::Path) -> Vec<u8> {
    let f = hdf5::File::open(p).unwrap();
    f.dataset("status").unwrap().read_raw::<u8>().unwrap()
}

/// The recorded means against a direct computation: each trial's covariances
/// re-simulated from (seed, trial), the stored in-sample weights, ρ by its
/// definition, averaged in f64 over the trials where both methods have weights.
#[test]
fn method_similarity_matches_a_direct_computation() {
    let dir = tempfile::tempdir().unwrap();
    let out = similarity_run(dir.path(), "direct", 2, 7, None);
    let spec = corrmc::spec::Spec::parse(SIMILARITY_SPEC, "similarity.toml").unwrap();
    let source = spec.build_source().unwrap();
    let (t_all, m, n) = (250usize, 4usize, 12usize);
    let w = read_f64(&out, "weights");
    // [side][a][b]: (Σρ, count) overall and for block 1 (trials 100..199).
    let mut sum = vec![[0.0f64; 2]; 2 * m * m];
    let mut block1 = vec![(0.0f64, 0u64); m * m];
    for t in 0..t_all {
        let corr = source.sample(spec.raw.seed, t as u64).unwrap().corr;
        let data = corrmc::simulate::simulate(corr, &spec.sim, spec.raw.seed, t as u64).unwrap();
        let wt = |a: usize| ndarray::Array1::from(w[(t * m + a) * n..(t * m + a + 1) * n].to_vec());
        for (side, s) in [&data.cov_is, &data.cov_oos].into_iter().enumerate() {
            for a in 0..m {
                for b in 0..m {
                    let (wa, wb) = (wt(a), wt(b));
                    if wa.iter().chain(wb.iter()).any(|x| !x.is_finite()) {
                        continue;
                    }
                    let r =
                        wa.dot(&s.dot(&wb)) / (wa.dot(&s.dot(&wa)) * wb.dot(&s.dot(&wb))).sqrt();
                    sum[side * m * m + a * m + b][0] += r;
                    sum[side * m * m + a * m + b][1] += 1.0;
                    if side == 1 && (100..200).contains(&t) {
                        block1[a * m + b].0 += r;
                        block1[a * m + b].1 += 1;
                    }
                }
            }
        }
    }
    for (side, name) in [(0, "method_similarity_is"), (1, "method_similarity")] {
        let got = read_f64(&out, name);
        for k in 0..m * m {
            let [s, c] = sum[side * m * m + k];
            if c == 0.0 {
                assert!(got[k].is_nan(), "{name}[{k}]: {} with no trials", got[k]);
            } else {
                assert!(
                    (got[k] - s / c).abs() < 1e-13,
                    "{name}[{k}]: {} vs direct {}",
                    got[k],
                    s / c
                );
            }
        }
    }
    let blocks = read_f64(&out, "method_similarity_blocks");
    for k in 0..m * m {
        let (s, c) = block1[k];
        let got = blocks[m * m + k];
        assert!(
            (c == 0 && got.is_nan()) || (got - s / c as f64).abs() < 1e-13,
            "block 1 [{k}]: {got} vs direct {}",
            s / c as f64
        );
    }
}

/// Runs `spec_text` (written to `dir/name.toml`) with the engine into `dir/name.h5`.
fn run_spec_file(dir: &std::path::Path, name: &str, spec_text: &str) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, spec_text).unwrap();
    let spec = corrmc::spec::Spec::from_file(&p).unwrap();
    let out = dir.join(format!("{name}.h5"));
    let _one = exclusive();
    corrmc::engine::run(
        &spec,
        &corrmc::engine::RunOptions {
            threads: Some(2),
            output: Some(out.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    out
}

/// `corrmc inspect ARGS --json`.
fn inspect_json(args: &[&str], cwd: &std::path::Path) -> serde_json::Value {
    let _one = exclusive();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_corrmc"))
        .arg("inspect")
        .args(args)
        .arg("--json")
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Every number of `corrmc inspect`'s summary equals the report's to 1e-12.
fn assert_same_facts(report: &serde_json::Value, inspect: &serde_json::Value) {
    let mut checked = 0;
    for key in [
        "mean_corr",
        "first_eig_share",
        "pf_share",
        "mst_max_degree",
        "cophenetic_single",
        "cophenetic_average",
    ] {
        for q in ["mean", "std", "q05", "q25", "q50", "q75", "q95"] {
            let (a, b) = (
                report[key][q].as_f64().unwrap(),
                inspect[key][q].as_f64().unwrap(),
            );
            assert!((a - b).abs() <= 1e-12, "{key}.{q}: report {a}, inspect {b}");
            checked += 1;
        }
    }
    for k in 0..6 {
        let (a, b) = (
            report["mst_degree_shares"][k].as_f64().unwrap(),
            inspect["mst_degree_shares"][k].as_f64().unwrap(),
        );
        assert!((a - b).abs() <= 1e-12, "MST degree share {k}: {a} vs {b}");
    }
    assert_eq!(
        report["frac_one_signed_first_evec"],
        inspect["frac_one_signed_first_evec"]
    );
    assert_eq!(report["n"], inspect["n"]);
    assert_eq!(report["count"], inspect["count"]);
    assert_eq!(checked, 42);
}

const UNIFORM_STUDY: &str = r#"
name = "facts-uniform"
seed = 4242
trials = 24
assets = 15
in_sample_days = 40
out_of_sample_days = 40
methods = ["EW", "MinVar", "HRP"]
chunk_trials = 8
[source]
kind = "uniform"
eta = 1.5
"#;

#[test]
fn report_facts_of_the_matrices_used_equal_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_spec_file(dir.path(), "facts", UNIFORM_STUDY);
    let rep = dir.path().join("rep");
    let opts = corrmc::report::ReportOptions {
        verdict: Options {
            resamples: 50,
            ..Options::default()
        },
        png: false,
        ..Default::default()
    };
    corrmc::report::write_report(&out, &rep, &opts).unwrap();
    let (html, series) = check_report(&rep);
    assert!(html.contains("Stylized facts of the correlation matrices used"));
    assert!(html.contains("trials 0–23 (24 trials"), "{html}");
    assert_eq!(series["stylized-facts"], 6); // one histogram per fact
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rep.join("report.json")).unwrap()).unwrap();
    let sf = &json["stylized_facts"][0];
    assert_eq!(sf["trials_used"], 24);
    assert_eq!(sf["matches_record"], true, "{sf}");
    assert!(sf["error"].is_null());
    // Same spec, trials 0..24: the same matrices, the same facts.
    let ins = inspect_json(&["facts.toml", "--count", "24"], dir.path());
    assert_same_facts(&sf["facts"], &ins[0]);
    // A different sample (other trials) differs: the comparison can fail.
    let other = inspect_json(&["facts.toml", "--count", "23"], dir.path());
    assert_ne!(
        sf["facts"]["mean_corr"]["mean"],
        other[0]["mean_corr"]["mean"]
    );

    // --facts-trials: the first 10 trials only; 0 skips the section.
    let rep10 = dir.path().join("rep10");
    corrmc::report::write_report(
        &out,
        &rep10,
        &corrmc::report::ReportOptions {
            facts_trials: 10,
            ..opts.clone()
        },
    )
    .unwrap();
    let j10: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rep10.join("report.json")).unwrap()).unwrap();
    let ins10 = inspect_json(&["facts.toml", "--count", "10"], dir.path());
    assert_same_facts(&j10["stylized_facts"][0]["facts"], &ins10[0]);
    let rep0 = dir.path().join("rep0");
    corrmc::report::write_report(
        &out,
        &rep0,
        &corrmc::report::ReportOptions {
            facts_trials: 0,
            ..opts
        },
    )
    .unwrap();
    let (html0, series0) = check_report(&rep0);
    assert!(html0.contains("--facts-trials 0") && !series0.contains_key("stylized-facts"));
}

#[test]
fn report_renders_when_the_source_cannot_be_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let n = 6;
    let m = Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            1.0
        } else {
            0.3 + 0.05 * ((i + j) % 3) as f64
        }
    });
    corrmc::npy::write_npy(&dir.path().join("m.npy"), &m).unwrap();
    let spec = UNIFORM_STUDY
        .replace("assets = 15", &format!("assets = {n}"))
        .replace(
            "kind = \"uniform\"\neta = 1.5",
            "kind = \"file\"\npath = \"m.npy\"\ncycle = true",
        );
    let out = run_spec_file(dir.path(), "fromfile", &spec);
    let opts = corrmc::report::ReportOptions {
        verdict: Options {
            resamples: 0,
            ..Options::default()
        },
        png: false,
        ..Default::default()
    };
    // While the file is there: every trial's matrix is `m`.
    let rep = dir.path().join("rep");
    corrmc::report::write_report(&out, &rep, &opts).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rep.join("report.json")).unwrap()).unwrap();
    let f = &json["stylized_facts"][0]["facts"];
    let mean = (m.sum() - n as f64) / (n * (n - 1)) as f64;
    assert!((f["mean_corr"]["mean"].as_f64().unwrap() - mean).abs() < 1e-14);
    assert!(f["mean_corr"]["std"].as_f64().unwrap() < 1e-14); // one matrix, 24 times
    // The file moved: the section says so and the report still renders.
    std::fs::rename(dir.path().join("m.npy"), dir.path().join("moved.npy")).unwrap();
    let rep2 = dir.path().join("rep2");
    corrmc::report::write_report(&out, &rep2, &opts).unwrap();
    let (html, series) = check_report(&rep2);
    assert!(
        html.contains("Not available: the source cannot be rebuilt") && html.contains("m.npy"),
        "{html}"
    );
    assert!(!series.contains_key("stylized-facts"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rep2.join("report.json")).unwrap()).unwrap();
    assert!(json["stylized_facts"][0]["facts"].is_null());
    assert!(
        json["stylized_facts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("m.npy")
    );
}
