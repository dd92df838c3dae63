//! The bad-input table: every case runs the binary in a fresh folder and must exit non-zero
//! with a message that contains a given phrase (naming the key, file or argument), never
//! panic, and leave none of the files it was asked to write (nor a `.partial`). Files that
//! existed before a case must be unchanged after it.
//!
//! Exit codes: 2 for command-line usage errors (clap), 1 for everything else.

mod common;

use ndarray::{Array2, array};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A good spec that later cases perturb: small, fast, valid.
const GOOD: &str = r#"name = "t"
seed = 1
trials = 4
assets = 5
in_sample_days = 30
out_of_sample_days = 30
methods = ["EW", "HRP"]

[source]
kind = "uniform"
eta = 1.0

[volatility]
model = "unit"
"#;

/// What a case writes into its folder before running.
enum File {
    Text(&'static str, String),
    Npy(&'static str, Array2<f64>),
    Dir(&'static str),
    /// A tiny valid result file (from a short run done by the case setup).
    Result(&'static str),
    /// A HDF5 file with one dataset `/x` (not a corrmc file of any kind).
    H5(&'static str),
}

struct Case {
    name: &'static str,
    files: Vec<File>,
    args: Vec<String>,
    code: i32,
    phrase: &'static str,
    /// Paths (relative to the case folder) that must not exist afterwards.
    absent: Vec<&'static str>,
}

fn spec_with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "GOOD has no '{from}'");
    GOOD.replacen(from, to, 1)
}

fn source(table: &str) -> String {
    let start = GOOD.find("[source]").unwrap();
    let end = GOOD.find("[volatility]").unwrap();
    format!("{}[source]\n{table}\n\n{}", &GOOD[..start], &GOOD[end..])
}

/// GOOD with a `[returns]` table.
fn returns(table: &str) -> String {
    format!("{GOOD}\n[returns]\n{table}\n")
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// A `run` case on spec text: writes `s.toml`, runs it to `out.h5`.
fn run_spec(name: &'static str, text: String, phrase: &'static str) -> Case {
    Case {
        name,
        files: vec![File::Text("s.toml", text)],
        args: args(&["run", "s.toml", "-o", "out.h5", "--no-summary"]),
        code: 1,
        phrase,
        absent: vec!["out.h5", "out.h5.partial", "results"],
    }
}

fn usage(name: &'static str, a: &[&str], phrase: &'static str) -> Case {
    Case {
        name,
        files: vec![],
        args: args(a),
        code: 2,
        phrase,
        absent: vec![],
    }
}

/// The empirical source's fixture panel (260 days × 6 assets).
fn panel() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/empirical/panel.csv"
    ))
    .unwrap()
}

fn corr5() -> Array2<f64> {
    let mut c = Array2::<f64>::eye(5);
    for i in 0..5 {
        for j in 0..5 {
            if i != j {
                c[(i, j)] = 0.3;
            }
        }
    }
    c
}

fn cases() -> Vec<Case> {
    let mut v = vec![
        // --- spec syntax and types
        run_spec(
            "malformed toml",
            "name = \"t\"\nseed = \n".into(),
            "invalid spec",
        ),
        run_spec(
            "unknown top-level key",
            spec_with("seed = 1", "seed = 1\ntrails = 3"),
            "unknown field `trails`",
        ),
        run_spec(
            "trials wrong type",
            spec_with("trials = 4", "trials = \"ten\""),
            "trials",
        ),
        run_spec(
            "trials zero",
            spec_with("trials = 4", "trials = 0"),
            "key `trials`: must be at least 1",
        ),
        run_spec(
            "trials negative",
            spec_with("trials = 4", "trials = -1"),
            "trials",
        ),
        run_spec(
            "trials absurd",
            spec_with("trials = 4", "trials = 1000000000000"),
            "key `trials`: must be at most",
        ),
        run_spec(
            "assets one",
            spec_with("assets = 5", "assets = 1"),
            "key `assets`",
        ),
        run_spec(
            "assets absurd",
            spec_with("assets = 5", "assets = 100000000"),
            "key `assets`: must be at most",
        ),
        run_spec(
            "in-sample one day",
            spec_with("in_sample_days = 30", "in_sample_days = 1"),
            "key `in_sample_days`",
        ),
        run_spec(
            "in-sample absurd",
            spec_with("in_sample_days = 30", "in_sample_days = 10000000000"),
            "key `in_sample_days`: must be at most",
        ),
        run_spec(
            "out-of-sample zero",
            spec_with("out_of_sample_days = 30", "out_of_sample_days = 0"),
            "key `out_of_sample_days`",
        ),
        run_spec(
            "annualization zero",
            spec_with("seed = 1", "seed = 1\nannualization = 0"),
            "key `annualization`",
        ),
        run_spec(
            "annualization huge",
            spec_with("seed = 1", "seed = 1\nannualization = 1e308"),
            "key `annualization`",
        ),
        run_spec(
            "annualization tiny",
            spec_with("seed = 1", "seed = 1\nannualization = 1e-300"),
            "key `annualization`",
        ),
        run_spec(
            "annualization nan",
            spec_with("seed = 1", "seed = 1\nannualization = nan"),
            "key `annualization`",
        ),
        run_spec(
            "no methods",
            spec_with("methods = [\"EW\", \"HRP\"]", "methods = []"),
            "at least one method",
        ),
        run_spec(
            "misspelt method",
            spec_with("\"HRP\"]", "\"HPR\"]"),
            "did you mean 'HRP'",
        ),
        run_spec(
            "unknown family",
            spec_with("\"HRP\"]", "\"asrp:bogus\"]"),
            "key `methods`",
        ),
        run_spec(
            "chunk_trials zero",
            spec_with("seed = 1", "seed = 1\nchunk_trials = 0"),
            "key `chunk_trials`",
        ),
        run_spec("negative seed", spec_with("seed = 1", "seed = -5"), "seed"),
        run_spec(
            "empty name",
            spec_with("name = \"t\"", "name = \"  \""),
            "key `name`",
        ),
        run_spec(
            "store_weights wrong type",
            spec_with("seed = 1", "seed = 1\nstore_weights = \"yes\""),
            "store_weights",
        ),
        // --- sources
        run_spec(
            "unknown source kind",
            source("kind = \"gan\""),
            "unknown variant `gan`",
        ),
        run_spec(
            "eta zero",
            source("kind = \"uniform\"\neta = 0.0"),
            "key `source.eta`",
        ),
        run_spec(
            "eta 1e-300",
            source("kind = \"uniform\"\neta = 1e-300"),
            "key `source.eta`",
        ),
        run_spec(
            "eta 1e-16",
            source("kind = \"uniform\"\neta = 1e-16"),
            "key `source.eta`",
        ),
        run_spec(
            "eta negative",
            source("kind = \"uniform\"\neta = -1.0"),
            "key `source.eta`",
        ),
        run_spec(
            "eta infinite",
            source("kind = \"uniform\"\neta = inf"),
            "key `source.eta`",
        ),
        run_spec(
            "uniform with block key",
            source("kind = \"uniform\"\nsectors = 3"),
            "unknown field `sectors`",
        ),
        run_spec(
            "block zero sectors",
            source("kind = \"block\"\nsectors = 0"),
            "source.sectors",
        ),
        run_spec(
            "block reversed range",
            source("kind = \"block\"\nsectors = 1\nsubsectors = 1\nmarket = [0.9, 0.1]"),
            "source.market",
        ),
        run_spec(
            "block communality",
            source("kind = \"block\"\nsectors = 1\nsubsectors = 1\nmarket = [0.8, 0.9]"),
            "communality",
        ),
        run_spec(
            "file missing",
            source("kind = \"file\"\npath = \"nope.npy\""),
            "key `source.path`: file",
        ),
        Case {
            name: "file h5 without dataset",
            files: vec![
                File::H5("m.h5"),
                File::Text("s.toml", source("kind = \"file\"\npath = \"m.h5\"")),
            ],
            ..run_spec("", String::new(), "key `source.dataset`")
        },
        Case {
            name: "file h5 dataset missing",
            files: vec![
                File::H5("m.h5"),
                File::Text(
                    "s.toml",
                    source("kind = \"file\"\npath = \"m.h5\"\ndataset = \"/corr\""),
                ),
            ],
            ..run_spec("", String::new(), "no dataset '/corr'")
        },
        Case {
            name: "file wrong dimension",
            files: vec![
                File::Npy("m.npy", Array2::eye(3)),
                File::Text("s.toml", source("kind = \"file\"\npath = \"m.npy\"")),
            ],
            ..run_spec("", String::new(), "assets")
        },
        Case {
            name: "file with NaN",
            files: vec![
                File::Npy("m.npy", {
                    let mut c = corr5();
                    c[(0, 1)] = f64::NAN;
                    c
                }),
                File::Text("s.toml", source("kind = \"file\"\npath = \"m.npy\"")),
            ],
            ..run_spec("", String::new(), "m.npy")
        },
        Case {
            name: "file not symmetric",
            files: vec![
                File::Npy("m.npy", {
                    let mut c = corr5();
                    c[(0, 1)] = 0.1;
                    c
                }),
                File::Text("s.toml", source("kind = \"file\"\npath = \"m.npy\"")),
            ],
            ..run_spec("", String::new(), "symmetric")
        },
        Case {
            name: "file not PSD",
            files: vec![
                File::Npy("m.npy", {
                    let mut c = Array2::<f64>::eye(5);
                    for i in 0..5 {
                        for j in 0..5 {
                            if i != j {
                                c[(i, j)] = -0.9;
                            }
                        }
                    }
                    c
                }),
                File::Text("s.toml", source("kind = \"file\"\npath = \"m.npy\"")),
            ],
            ..run_spec("", String::new(), "m.npy")
        },
        Case {
            name: "file too few matrices",
            files: vec![
                File::Npy("m.npy", corr5()),
                File::Text("s.toml", source("kind = \"file\"\npath = \"m.npy\"")),
            ],
            ..run_spec("", String::new(), "source.cycle")
        },
        run_spec(
            "bank missing",
            source("kind = \"bank\"\npath = \"bank.h5\""),
            "key `source.path`: file",
        ),
        Case {
            name: "bank without datasets",
            files: vec![
                File::H5("bank.h5"),
                File::Text("s.toml", source("kind = \"bank\"\npath = \"bank.h5\"")),
            ],
            ..run_spec("", String::new(), "bank.h5")
        },
        run_spec(
            "corrgan model missing",
            source("kind = \"corrgan\"\nmodel = \"nope.onnx\""),
            "key `source.model`: file",
        ),
        run_spec(
            "corrgan bad backend",
            source("kind = \"corrgan\"\nbackend = \"cuda\""),
            "key `source.backend`",
        ),
        run_spec(
            "corrgan batch zero",
            source("kind = \"corrgan\"\nbatch = 0"),
            "key `source.batch`",
        ),
        run_spec(
            "corrgan eig_floor 2",
            source("kind = \"corrgan\"\neig_floor = 2.0"),
            "key `source.eig_floor`",
        ),
        run_spec(
            "corrgan negative repair_tol",
            source("kind = \"corrgan\"\nrepair_tol = -1.0"),
            "key `source.repair_tol`",
        ),
        run_spec(
            "corrgan unknown repair",
            source("kind = \"corrgan\"\nrepair = \"magic\""),
            "key `source.repair`",
        ),
        run_spec(
            "corrgan wrong assets",
            source("kind = \"corrgan\""),
            "key `assets`",
        ),
        Case {
            name: "corrgan model not onnx",
            files: vec![
                File::Text("fake.onnx", "not a model".into()),
                File::Text(
                    "s.toml",
                    source("kind = \"corrgan\"\nmodel = \"fake.onnx\"")
                        .replace("assets = 5", "assets = 50"),
                ),
            ],
            ..run_spec("", String::new(), "fake.onnx")
        },
        // --- volatility
        run_spec(
            "unit volatility with unknown key",
            spec_with("model = \"unit\"", "model = \"unit\"\nbogus = 1"),
            "unknown field `bogus`",
        ),
        run_spec(
            "top-level key placed inside [volatility]",
            spec_with("model = \"unit\"", "model = \"unit\"\nstore_weights = true"),
            "unknown field `store_weights`",
        ),
        run_spec(
            "volatility overflow",
            spec_with(
                "model = \"unit\"",
                "model = \"uniform\"\nlow = 1e200\nhigh = 1e300",
            ),
            "key `volatility`",
        ),
        run_spec(
            "volatility low above high",
            spec_with(
                "model = \"unit\"",
                "model = \"uniform\"\nlow = 0.02\nhigh = 0.01",
            ),
            "key `volatility`",
        ),
        run_spec(
            "volatility missing high",
            spec_with("model = \"unit\"", "model = \"uniform\"\nlow = 0.01"),
            "high",
        ),
        run_spec(
            "volatility unknown model",
            spec_with("model = \"unit\"", "model = \"garch\""),
            "unknown variant `garch`",
        ),
        // --- returns (issue 13)
        run_spec(
            "returns unknown key",
            returns("model = \"zero\"\nbogus = 1"),
            "unknown field `bogus`",
        ),
        run_spec(
            "returns unknown model",
            returns("model = \"drift\""),
            "unknown variant `drift`",
        ),
        run_spec(
            "returns model of the wrong type",
            returns("model = 1"),
            "model",
        ),
        run_spec(
            "returns is not a table",
            format!("returns = 3\n{GOOD}"),
            "returns",
        ),
        run_spec(
            "returns sharpe without sharpe_mean",
            returns("model = \"sharpe\""),
            "key `returns.sharpe_mean`: required",
        ),
        run_spec(
            "returns sharpe_mean of the wrong type",
            returns("model = \"sharpe\"\nsharpe_mean = \"high\""),
            "sharpe_mean",
        ),
        run_spec(
            "returns sharpe_mean out of range",
            returns("model = \"sharpe\"\nsharpe_mean = 20"),
            "key `returns.sharpe_mean`: an annualized Sharpe ratio between -10 and 10",
        ),
        run_spec(
            "returns sharpe_mean not finite",
            returns("model = \"sharpe\"\nsharpe_mean = nan"),
            "key `returns.sharpe_mean`",
        ),
        run_spec(
            "returns sharpe_sd negative",
            returns("model = \"sharpe\"\nsharpe_mean = 0.3\nsharpe_sd = -0.1"),
            "key `returns.sharpe_sd`: an annualized Sharpe ratio between 0 and 10",
        ),
        run_spec(
            "returns sharpe_sd of the wrong type",
            returns("model = \"sharpe\"\nsharpe_mean = 0.3\nsharpe_sd = [0.1]"),
            "sharpe_sd",
        ),
        run_spec(
            "returns market_sharpe out of range",
            returns("model = \"sharpe\"\nsharpe_mean = 0.3\nmarket_sharpe = -11"),
            "key `returns.market_sharpe`",
        ),
        run_spec(
            "returns market_sharpe of the wrong type",
            returns("model = \"sharpe\"\nsharpe_mean = 0.3\nmarket_sharpe = true"),
            "market_sharpe",
        ),
        run_spec(
            "returns sharpe keys with the zero model",
            returns("sharpe_mean = 0.3"),
            "key `returns.sharpe_mean`: applies only with model = \"sharpe\"",
        ),
        run_spec(
            "returns market_sharpe with the zero model",
            returns("model = \"zero\"\nmarket_sharpe = 0.3"),
            "key `returns.market_sharpe`: applies only",
        ),
        run_spec(
            "returns unknown tails",
            returns("tails = \"cauchy\""),
            "unknown variant `cauchy`",
        ),
        run_spec(
            "returns student_t without nu",
            returns("tails = \"student_t\""),
            "key `returns.nu`: required",
        ),
        run_spec(
            "returns nu at 2",
            returns("tails = \"student_t\"\nnu = 2"),
            "key `returns.nu`: degrees of freedom must be > 2",
        ),
        run_spec(
            "returns nu too large",
            returns("tails = \"student_t\"\nnu = 1e7"),
            "key `returns.nu`",
        ),
        run_spec(
            "returns nu of the wrong type",
            returns("tails = \"student_t\"\nnu = \"five\""),
            "nu",
        ),
        run_spec(
            "returns nu with normal tails",
            returns("nu = 5"),
            "key `returns.nu`: applies only with tails = \"student_t\"",
        ),
        run_spec(
            "returns crra_gamma zero",
            returns("crra_gamma = 0"),
            "key `returns.crra_gamma`: relative risk aversion must be > 0",
        ),
        run_spec(
            "returns crra_gamma too large",
            returns("crra_gamma = 1000"),
            "key `returns.crra_gamma`",
        ),
        run_spec(
            "returns crra_gamma of the wrong type",
            returns("crra_gamma = \"high\""),
            "crra_gamma",
        ),
        // --- controls and methods
        run_spec(
            "control for a method not run",
            format!("{GOOD}\n[control.HRP_ser_BBURCG]\nmax_nodes = 10\n"),
            "not among",
        ),
        run_spec(
            "control for a method without controls",
            format!("{GOOD}\n[control.HRP]\nfoo = 1\n"),
            "no control parameters",
        ),
        run_spec(
            "unknown control parameter",
            format!(
                "{}\n[control.HRP_ser_BBURCG]\nmax_node = 10\n",
                spec_with("\"HRP\"]", "\"HRP_ser_BBURCG\"]")
            ),
            "no control parameter 'max_node'",
        ),
        run_spec(
            "control value is an array",
            format!(
                "{}\n[control.HRP_ser_BBURCG]\nmax_nodes = [1, 2]\n",
                spec_with("\"HRP\"]", "\"HRP_ser_BBURCG\"]")
            ),
            "control.HRP_ser_BBURCG.max_nodes",
        ),
        run_spec(
            "negative seriation work budget",
            format!(
                "{}\n[control.HRP_ser_QAP_LS]\nmax_work = -1\n",
                spec_with("\"HRP\"]", "\"HRP_ser_QAP_LS\"]")
            ),
            "QAP_LS max_work = -1: must be a number >= 0",
        ),
        run_spec(
            "seriation work budget not a number",
            format!(
                "{}\n[control.HRP_ser_SPIN_STS]\nmax_work = \"lots\"\n",
                spec_with("\"HRP\"]", "\"HRP_ser_SPIN_STS\"]")
            ),
            "max_work = 'lots' is not a number",
        ),
        run_spec(
            "MinVar rcond_method not known",
            format!(
                "{}\n[control.MinVar]\nrcond_method = \"svd\"\n",
                spec_with("\"HRP\"]", "\"MinVar\"]")
            ),
            "key `control.MinVar`: MinVar rcond_method = 'svd' is not valid (valid: \"estimate\"",
        ),
        run_spec(
            "MinVar rcond_min out of range",
            format!(
                "{}\n[control.MinVar]\nrcond_min = 2\n",
                spec_with("\"HRP\"]", "\"MinVar\"]")
            ),
            "MinVar rcond_min = 2 is out of range (valid: 0 <= rcond_min < 1)",
        ),
        run_spec(
            "DHRP at the wrong n",
            spec_with("\"HRP\"]", "\"DHRP\"]"),
            "trained for n = 50",
        ),
        run_spec(
            "DHRP model missing",
            format!(
                "{}\n[control.DHRP]\nmodel = \"nope.onnx\"\n",
                spec_with("\"HRP\"]", "\"DHRP\"]")
            ),
            "key `control.DHRP.model`: file",
        ),
        run_spec(
            "DHRP_paper at the wrong n",
            spec_with("\"HRP\"]", "\"DHRP_paper\"]"),
            "trained for n = 50",
        ),
        run_spec(
            "DHRP_paper unknown linkage",
            format!(
                "{}\n[control.DHRP_paper]\nlinkage = \"complete\"\n",
                spec_with("\"HRP\"]", "\"DHRP_paper\"]")
            ),
            "unknown linkage 'complete' (valid: \"ward\"",
        ),
        run_spec(
            "DHRP_paper unknown control",
            format!(
                "{}\n[control.DHRP_paper]\nmodle = \"x.onnx\"\n",
                spec_with("\"HRP\"]", "\"DHRP_paper\"]")
            ),
            "unknown DHRP_paper control 'modle'",
        ),
        run_spec(
            "DHRP_paper single-linkage model not shipped",
            format!(
                "{}\n[control.DHRP_paper]\nlinkage = \"single\"\n",
                spec_with("\"HRP\"]", "\"DHRP_paper\"]")
            ),
            "dhrp_paper_single_50.onnx",
        ),
        // --- run arguments and outputs
        usage("run --trials 0", &["run", "--trials", "0"], "--trials"),
        usage(
            "run --trials u64::MAX",
            &["run", "--trials", "18446744073709551615"],
            "--trials",
        ),
        usage("run --threads 0", &["run", "--threads", "0"], "--threads"),
        usage(
            "run --threads 100000",
            &["run", "--threads", "100000"],
            "--threads",
        ),
        Case {
            name: "run --threads 5000",
            files: vec![File::Text("s.toml", GOOD.into())],
            args: args(&["run", "s.toml", "--threads", "5000", "-o", "out.h5"]),
            code: 1,
            phrase: "--threads 5000: must be between 1 and",
            absent: vec!["out.h5", "out.h5.partial"],
        },
        usage("run unknown flag", &["run", "--bogus"], "--bogus"),
        usage(
            "run --shard 3/3",
            &["run", "--shard", "3/3"],
            "0 <= INDEX < COUNT",
        ),
        usage("run --shard 1/0", &["run", "--shard", "1/0"], "INDEX/COUNT"),
        usage("run --shard x", &["run", "--shard", "x"], "INDEX/COUNT"),
        usage(
            "run --shard 1/2/3",
            &["run", "--shard", "1/2/3"],
            "INDEX/COUNT",
        ),
        usage("plan --shards 0", &["plan", "--shards", "0"], "--shards"),
        usage("run --memory 0", &["run", "--memory", "0"], "512M"),
        usage("run --memory 4Q", &["run", "--memory", "4Q"], "512M"),
        Case {
            name: "run --memory below one trial per worker",
            files: vec![File::Text("s.toml", GOOD.into())],
            args: args(&["run", "s.toml", "--memory", "1K", "-o", "out.h5"]),
            code: 1,
            phrase: "--memory",
            absent: vec!["out.h5", "out.h5.partial"],
        },
        usage("merge without shards", &["merge", "-o", "m.h5"], "SHARD"),
        usage(
            "merge without output",
            &["merge", "a.shard-0-of-1"],
            "--output",
        ),
        Case {
            name: "merge missing shard file",
            files: vec![],
            args: args(&["merge", "-o", "m.h5", "gone.h5.shard-0-of-2"]),
            code: 1,
            phrase: "gone.h5.shard-0-of-2: no such shard file",
            absent: vec!["m.h5"],
        },
        Case {
            name: "merge a pattern that matches nothing",
            files: vec![],
            args: args(&["merge", "-o", "m.h5", "x.h5.shard-*"]),
            code: 1,
            phrase: "matches no file",
            absent: vec!["m.h5"],
        },
        Case {
            name: "merge a folder without shards",
            files: vec![File::Dir("d")],
            args: args(&["merge", "-o", "m.h5", "d"]),
            code: 1,
            phrase: "holds no shard files",
            absent: vec!["m.h5"],
        },
        Case {
            name: "merge a file that is not a shard",
            files: vec![File::Text("s.toml", GOOD.into())],
            args: args(&["merge", "-o", "m.h5", "s.toml"]),
            code: 1,
            phrase: "not a corrmc shard file",
            absent: vec!["m.h5"],
        },
        usage(
            "run --summary takes no value",
            &["run", "--summary", "false"],
            "--summary",
        ),
        Case {
            name: "run missing spec",
            files: vec![],
            args: args(&["run", "nope.toml"]),
            code: 1,
            phrase: "nope.toml",
            absent: vec!["results"],
        },
        Case {
            name: "run spec is a folder",
            files: vec![File::Dir("d.toml")],
            args: args(&["run", "d.toml"]),
            code: 1,
            phrase: "is a folder",
            absent: vec!["results"],
        },
        Case {
            name: "run output is a folder",
            files: vec![File::Text("s.toml", GOOD.into()), File::Dir("outdir")],
            args: args(&["run", "s.toml", "-o", "outdir", "--overwrite"]),
            code: 1,
            phrase: "is a folder",
            absent: vec!["outdir.partial"],
        },
        Case {
            name: "run output exists",
            files: vec![
                File::Text("s.toml", GOOD.into()),
                File::Text("out.h5", "keep me".into()),
            ],
            args: args(&["run", "s.toml", "-o", "out.h5"]),
            code: 1,
            phrase: "--overwrite",
            absent: vec!["out.h5.partial"],
        },
        Case {
            name: "run output under a file",
            files: vec![
                File::Text("s.toml", GOOD.into()),
                File::Text("f", "x".into()),
            ],
            args: args(&["run", "s.toml", "-o", "f/out.h5"]),
            code: 1,
            phrase: "f",
            absent: vec!["f/out.h5.partial"],
        },
        // --- summary
        Case {
            name: "summary missing file",
            files: vec![],
            args: args(&["summary", "nope.h5"]),
            code: 1,
            phrase: "nope.h5",
            absent: vec![],
        },
        Case {
            name: "summary of a non-HDF5 file",
            files: vec![File::Text("x.h5", "text".into())],
            args: args(&["summary", "x.h5"]),
            code: 1,
            phrase: "x.h5",
            absent: vec![],
        },
        Case {
            name: "summary of a foreign HDF5 file",
            files: vec![File::H5("x.h5")],
            args: args(&["summary", "x.h5"]),
            code: 1,
            phrase: "x.h5",
            absent: vec![],
        },
        Case {
            name: "summary --sort bogus",
            files: vec![File::Result("r.h5")],
            args: args(&["summary", "r.h5", "--sort", "bogus"]),
            code: 1,
            phrase: "oos_vol",
            absent: vec![],
        },
        usage("summary without file", &["summary"], "FILE"),
        // --- allocate
        usage(
            "allocate without method",
            &["allocate", "--cov", "c.npy"],
            "--method",
        ),
        Case {
            name: "allocate unknown method",
            files: vec![File::Npy("c.npy", corr5())],
            args: args(&["allocate", "--method", "Foo", "--cov", "c.npy"]),
            code: 1,
            phrase: "--method",
            absent: vec![],
        },
        Case {
            name: "allocate missing matrix",
            files: vec![],
            args: args(&["allocate", "--method", "HRP", "--cov", "c.npy"]),
            code: 1,
            phrase: "c.npy",
            absent: vec![],
        },
        Case {
            name: "allocate 0x0",
            files: vec![File::Npy("c.npy", Array2::zeros((0, 0)))],
            args: args(&["allocate", "--method", "HRP", "--cov", "c.npy"]),
            code: 1,
            phrase: "at least 2 assets",
            absent: vec![],
        },
        Case {
            name: "allocate not symmetric",
            files: vec![File::Npy("c.npy", array![[1.0, 0.5], [0.2, 1.0]])],
            args: args(&["allocate", "--method", "HRP", "--cov", "c.npy"]),
            code: 1,
            phrase: "not symmetric",
            absent: vec![],
        },
        Case {
            name: "allocate NaN",
            files: vec![File::Npy("c.npy", array![[1.0, f64::NAN], [f64::NAN, 1.0]])],
            args: args(&["allocate", "--method", "HRP", "--cov", "c.npy"]),
            code: 1,
            phrase: "NaN",
            absent: vec![],
        },
        Case {
            name: "allocate indefinite",
            files: vec![File::Npy(
                "c.npy",
                array![[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]],
            )],
            args: args(&["allocate", "--method", "MinVar_long", "--cov", "c.npy"]),
            code: 1,
            phrase: "not positive semidefinite",
            absent: vec![],
        },
        Case {
            name: "allocate non-square CSV",
            files: vec![File::Text("c.csv", "1,0\n0,1\n0,0\n".into())],
            args: args(&["allocate", "--method", "HRP", "--cov", "c.csv"]),
            code: 1,
            phrase: "c.csv",
            absent: vec![],
        },
        Case {
            name: "allocate negative variance",
            files: vec![File::Npy("c.npy", array![[-1.0, 0.0], [0.0, 1.0]])],
            args: args(&["allocate", "--method", "RP", "--cov", "c.npy"]),
            code: 1,
            phrase: "negative",
            absent: vec![],
        },
        // --- repair
        Case {
            name: "repair missing input",
            files: vec![],
            args: args(&["repair", "--input", "m.npy", "-o", "r.npy"]),
            code: 1,
            phrase: "m.npy",
            absent: vec!["r.npy", "r.npy.partial"],
        },
        Case {
            name: "repair non-symmetric",
            files: vec![File::Npy("m.npy", array![[1.0, 0.5], [0.29, 1.0]])],
            args: args(&["repair", "--input", "m.npy", "-o", "r.npy"]),
            code: 1,
            phrase: "--symmetrize",
            absent: vec!["r.npy", "r.npy.partial"],
        },
        Case {
            name: "repair negative tol",
            files: vec![File::Npy("m.npy", corr5())],
            args: args(&["repair", "--input", "m.npy", "-o", "r.npy", "--tol", "-1"]),
            code: 1,
            phrase: "--tol -1",
            absent: vec!["r.npy", "r.npy.partial"],
        },
        Case {
            name: "repair eig_floor 2",
            files: vec![File::Npy("m.npy", corr5())],
            args: args(&[
                "repair",
                "--input",
                "m.npy",
                "-o",
                "r.npy",
                "--eig-floor",
                "2",
            ]),
            code: 1,
            phrase: "--eig-floor 2",
            absent: vec!["r.npy", "r.npy.partial"],
        },
        Case {
            name: "repair output exists",
            files: vec![
                File::Npy("m.npy", corr5()),
                File::Text("r.npy", "keep".into()),
            ],
            args: args(&["repair", "--input", "m.npy", "-o", "r.npy"]),
            code: 1,
            phrase: "--overwrite",
            absent: vec!["r.npy.partial"],
        },
        Case {
            name: "repair unknown method",
            files: vec![File::Npy("m.npy", corr5())],
            args: args(&[
                "repair", "--input", "m.npy", "-o", "r.npy", "--method", "magic",
            ]),
            code: 1,
            phrase: "--method",
            absent: vec!["r.npy", "r.npy.partial"],
        },
        Case {
            name: "repair NaN",
            files: vec![File::Npy("m.npy", array![[1.0, f64::NAN], [f64::NAN, 1.0]])],
            args: args(&["repair", "--input", "m.npy", "-o", "r.npy"]),
            code: 1,
            phrase: "finite",
            absent: vec!["r.npy", "r.npy.partial"],
        },
        Case {
            name: "repair output is a folder",
            files: vec![File::Npy("m.npy", corr5()), File::Dir("out")],
            args: args(&["repair", "--input", "m.npy", "-o", "out", "--overwrite"]),
            code: 1,
            phrase: "is a folder",
            absent: vec!["out.partial"],
        },
        Case {
            name: "repair not .npy",
            files: vec![File::Text("m.npy", "1,0\n0,1\n".into())],
            args: args(&["repair", "--input", "m.npy", "-o", "r.npy"]),
            code: 1,
            phrase: "m.npy",
            absent: vec!["r.npy", "r.npy.partial"],
        },
        // --- sample
        usage(
            "sample --count 0",
            &["sample", "--count", "0", "-o", "b.h5"],
            "--count",
        ),
        Case {
            name: "sample output exists",
            files: vec![File::Text("b.h5", "keep".into())],
            args: args(&["sample", "--count", "2", "-o", "b.h5"]),
            code: 1,
            phrase: "--overwrite",
            absent: vec!["b.h5.partial"],
        },
        Case {
            name: "sample from uniform",
            files: vec![],
            args: args(&[
                "sample", "--source", "uniform", "--count", "2", "-o", "b.h5",
            ]),
            code: 1,
            phrase: "only 'corrgan'",
            absent: vec!["b.h5", "b.h5.partial"],
        },
        Case {
            name: "sample model missing",
            files: vec![],
            args: args(&[
                "sample",
                "--count",
                "2",
                "-o",
                "b.h5",
                "--model",
                "nope.onnx",
            ]),
            code: 1,
            phrase: "nope.onnx",
            absent: vec!["b.h5", "b.h5.partial"],
        },
        Case {
            name: "sample bad backend",
            files: vec![],
            args: args(&["sample", "--count", "2", "-o", "b.h5", "--backend", "cuda"]),
            code: 1,
            phrase: "--backend",
            absent: vec!["b.h5", "b.h5.partial"],
        },
        usage(
            "sample --batch 0",
            &["sample", "--count", "2", "-o", "b.h5", "--batch", "0"],
            "--batch",
        ),
        // --- inspect
        usage(
            "inspect --count 0",
            &["inspect", "uniform", "--count", "0"],
            "--count",
        ),
        usage(
            "inspect --assets 1",
            &["inspect", "uniform", "--assets", "1"],
            "--assets",
        ),
        Case {
            name: "inspect missing bank",
            files: vec![],
            args: args(&["inspect", "nope.h5"]),
            code: 1,
            phrase: "nope.h5",
            absent: vec![],
        },
        Case {
            name: "inspect bank without datasets",
            files: vec![File::H5("b.h5")],
            args: args(&["inspect", "b.h5"]),
            code: 1,
            phrase: "b.h5",
            absent: vec![],
        },
        // --- seriate and criteria
        Case {
            name: "seriate unknown method",
            files: vec![File::Npy("m.npy", corr5())],
            args: args(&["seriate", "--method", "Foo", "--input", "m.npy"]),
            code: 1,
            phrase: "unknown seriation method",
            absent: vec![],
        },
        Case {
            name: "seriate unknown criterion lists valid ones",
            files: vec![File::Npy("m.npy", corr5())],
            args: args(&[
                "seriate",
                "--method",
                "OLO",
                "--input",
                "m.npy",
                "--criteria",
                "Foo",
            ]),
            code: 1,
            phrase: "valid: all, or a comma-separated list of: ",
            absent: vec![],
        },
        Case {
            name: "seriate missing input",
            files: vec![],
            args: args(&["seriate", "--method", "OLO", "--input", "m.npy"]),
            code: 1,
            phrase: "m.npy",
            absent: vec![],
        },
        Case {
            name: "seriate malformed control",
            files: vec![File::Npy("m.npy", corr5())],
            args: args(&[
                "seriate",
                "--method",
                "OLO",
                "--input",
                "m.npy",
                "--control",
                "oops",
            ]),
            code: 1,
            phrase: "--control",
            absent: vec![],
        },
        Case {
            name: "seriate negative work budget",
            files: vec![File::Npy("m.npy", corr5())],
            args: args(&[
                "seriate",
                "--method",
                "TSP",
                "--input",
                "m.npy",
                "--control",
                "max_work=-5",
            ]),
            code: 1,
            phrase: "TSP max_work = -5: must be a number >= 0",
            absent: vec![],
        },
        Case {
            name: "seriate negative polishing budget",
            files: vec![File::Npy("m.npy", corr5())],
            args: args(&[
                "seriate",
                "--method",
                "QAP_LS",
                "--input",
                "m.npy",
                "--control",
                "polish_work=-1",
            ]),
            code: 1,
            phrase: "QAP_LS polish_work = -1: must be a number >= 0",
            absent: vec![],
        },
        Case {
            name: "seriate work budget on a method without one",
            files: vec![File::Npy("m.npy", corr5())],
            args: args(&[
                "seriate",
                "--method",
                "OLO",
                "--input",
                "m.npy",
                "--control",
                "max_work=5",
            ]),
            code: 1,
            phrase: "OLO has no control parameter 'max_work'",
            absent: vec![],
        },
        usage(
            "seriate without method",
            &["seriate", "--input", "m.npy"],
            "--method",
        ),
        Case {
            name: "criteria missing order file",
            files: vec![File::Npy("m.npy", corr5())],
            args: args(&["criteria", "--input", "m.npy", "--order", "order.txt"]),
            code: 1,
            phrase: "file 'order.txt' not found",
            absent: vec![],
        },
        Case {
            name: "criteria repeated index",
            files: vec![File::Npy("m.npy", corr5())],
            args: args(&["criteria", "--input", "m.npy", "--order", "[0,0,1,2,3]"]),
            code: 1,
            phrase: "order",
            absent: vec![],
        },
        Case {
            name: "criteria short order",
            files: vec![File::Npy("m.npy", corr5())],
            args: args(&["criteria", "--input", "m.npy", "--order", "[0,1]"]),
            code: 1,
            phrase: "order",
            absent: vec![],
        },
        Case {
            name: "criteria order not indices",
            files: vec![
                File::Npy("m.npy", corr5()),
                File::Text("o.txt", "0\n1\nx\n".into()),
            ],
            args: args(&["criteria", "--input", "m.npy", "--order", "o.txt"]),
            code: 1,
            phrase: "'x' is not a 0-based index",
            absent: vec![],
        },
        // --- export-training and methods
        Case {
            name: "export-training bad fraction",
            files: vec![File::Text("s.toml", GOOD.into())],
            args: args(&[
                "export-training",
                "s.toml",
                "-o",
                "t.h5",
                "--val-fraction",
                "1.5",
            ]),
            code: 1,
            phrase: "--val-fraction 1.5",
            absent: vec!["t.h5", "t.h5.partial"],
        },
        Case {
            name: "export-training bad linkage",
            files: vec![File::Text("s.toml", GOOD.into())],
            args: args(&[
                "export-training",
                "s.toml",
                "-o",
                "t.h5",
                "--linkage",
                "average",
            ]),
            code: 1,
            phrase: "--linkage: unknown linkage 'average'",
            absent: vec!["t.h5", "t.h5.partial"],
        },
        Case {
            name: "export-training horizon beyond the out-of-sample path",
            files: vec![File::Text("s.toml", GOOD.into())],
            args: args(&[
                "export-training",
                "s.toml",
                "-o",
                "t.h5",
                "--horizon-days",
                "100000",
            ]),
            code: 1,
            phrase: "--horizon-days 100000: must lie in 1..=",
            absent: vec!["t.h5", "t.h5.partial"],
        },
        Case {
            name: "export-training output exists",
            files: vec![
                File::Text("s.toml", GOOD.into()),
                File::Text("t.h5", "keep".into()),
            ],
            args: args(&["export-training", "s.toml", "-o", "t.h5"]),
            code: 1,
            phrase: "--overwrite",
            absent: vec!["t.h5.partial"],
        },
        // --- sweeps, plan, summary's verdict, report (added with issues 9, 15)
        run_spec(
            "sweep with an invalid point",
            format!("{GOOD}\n[sweep]\nassets = [5, 1]\n"),
            "sweep point 1 (assets = 1)",
        ),
        run_spec(
            "sweep over an unknown key",
            format!("{GOOD}\n[sweep]\nbogus = [1, 2]\n"),
            "unknown field `bogus`",
        ),
        run_spec(
            "sweep value not a list",
            format!("{GOOD}\n[sweep]\nassets = 5\n"),
            "key `sweep.assets`: must be a list",
        ),
        Case {
            name: "plan missing spec",
            files: vec![],
            args: args(&["plan", "nope.toml"]),
            code: 1,
            phrase: "nope.toml",
            absent: vec![],
        },
        Case {
            name: "summary unknown baseline",
            files: vec![File::Result("r.h5")],
            args: args(&["summary", "r.h5", "--baseline", "Foo"]),
            code: 1,
            phrase: "method 'Foo' is not in this file",
            absent: vec![],
        },
        Case {
            name: "summary unknown metric",
            files: vec![File::Result("r.h5")],
            args: args(&["summary", "r.h5", "--metric", "foo"]),
            code: 1,
            phrase: "--metric: unknown metric 'foo'; valid:",
            absent: vec![],
        },
        Case {
            name: "summary metric misspelled (the return measures are listed)",
            files: vec![File::Result("r.h5")],
            args: args(&["summary", "r.h5", "--metric", "sharpe"]),
            code: 1,
            phrase: "oos_sharpe, true_sharpe, oos_crra_ce",
            absent: vec![],
        },
        Case {
            name: "summary --sort sharpe (the return keys are listed)",
            files: vec![File::Result("r.h5")],
            args: args(&["summary", "r.h5", "--sort", "sharpe"]),
            code: 1,
            phrase: "oos_sharpe, true_sharpe, oos_crra_ce",
            absent: vec![],
        },
        Case {
            name: "summary level out of range",
            files: vec![File::Result("r.h5")],
            args: args(&["summary", "r.h5", "--level", "2"]),
            code: 1,
            phrase: "--level",
            absent: vec![],
        },
        Case {
            name: "report missing file",
            files: vec![],
            args: args(&["report", "nope.h5", "-o", "rep"]),
            code: 1,
            phrase: "nope.h5",
            absent: vec!["rep"],
        },
        Case {
            name: "report into an existing file",
            files: vec![File::Result("r.h5")],
            args: args(&["report", "r.h5", "-o", "r.h5"]),
            code: 1,
            phrase: "report directory",
            absent: vec![],
        },
        // --- the empirical source (issue 16)
        run_spec(
            "empirical without window",
            source("kind = \"empirical\"\npanel = \"p.csv\""),
            "missing field `window`",
        ),
        Case {
            name: "empirical step zero",
            files: vec![
                File::Text("p.csv", panel()),
                File::Text(
                    "s.toml",
                    source("kind = \"empirical\"\npanel = \"p.csv\"\nwindow = 60\nstep = 0"),
                ),
            ],
            ..run_spec("", String::new(), "key `source.step`")
        },
        Case {
            name: "empirical start after end",
            files: vec![
                File::Text("p.csv", panel()),
                File::Text(
                    "s.toml",
                    source(
                        "kind = \"empirical\"\npanel = \"p.csv\"\nwindow = 60\nstart = \"2008-01-01\"\nend = \"2007-01-01\"",
                    ),
                ),
            ],
            ..run_spec("", String::new(), "key `source.start`")
        },
        Case {
            name: "empirical window longer than the panel",
            files: vec![
                File::Text("p.csv", panel()),
                File::Text(
                    "s.toml",
                    source("kind = \"empirical\"\npanel = \"p.csv\"\nwindow = 5000"),
                ),
            ],
            ..run_spec("", String::new(), "key `source.window`")
        },
        run_spec(
            "empirical panel missing",
            source("kind = \"empirical\"\npanel = \"nope.csv\"\nwindow = 60"),
            "key `source.panel`",
        ),
        // --- the [regime] filter (issue 16)
        run_spec(
            "regime without a range",
            format!("{GOOD}\n[regime]\nmax_draws = 10\n"),
            "key `regime`",
        ),
        run_spec(
            "regime mean_corr reversed",
            format!("{GOOD}\n[regime]\nmean_corr = [0.5, 0.2]\n"),
            "key `regime.mean_corr`",
        ),
        run_spec(
            "regime first_eig_share above 1",
            format!("{GOOD}\n[regime]\nfirst_eig_share = [0.5, 1.5]\n"),
            "key `regime.first_eig_share`",
        ),
        run_spec(
            "regime max_draws zero",
            format!("{GOOD}\n[regime]\nmean_corr = [0.0, 0.5]\nmax_draws = 0\n"),
            "key `regime.max_draws`",
        ),
        run_spec(
            "regime unknown key",
            format!("{GOOD}\n[regime]\nmean_correlation = [0.0, 0.5]\n"),
            "mean_correlation",
        ),
        run_spec(
            "regime unreachable range",
            format!("{GOOD}\n[regime]\nmean_corr = [0.95, 1.0]\nmax_draws = 20\n"),
            "in 20 draws",
        ),
        Case {
            name: "regime on a fixed file source",
            files: vec![
                File::Npy("c.npy", corr5()),
                File::Text(
                    "s.toml",
                    format!(
                        "{}\n[regime]\nmean_corr = [0.0, 0.5]\n",
                        source("kind = \"file\"\npath = \"c.npy\"\ncycle = true")
                    ),
                ),
            ],
            ..run_spec("", String::new(), "key `regime`")
        },
        usage("methods unknown flag", &["methods", "--bogus"], "--bogus"),
        usage("unknown command", &["frobnicate"], "frobnicate"),
    ];
    for c in v.iter_mut() {
        // Cases built with `..run_spec("", ...)` keep run_spec's arguments and outputs.
        if c.args.is_empty() {
            c.args = args(&["run", "s.toml", "-o", "out.h5", "--no-summary"]);
        }
    }
    v
}

fn write_files(dir: &Path, files: &[File], result: &Path) {
    for f in files {
        match f {
            File::Text(n, t) => std::fs::write(dir.join(n), t).unwrap(),
            File::Npy(n, a) => ndarray_npy::write_npy(dir.join(n), a).unwrap(),
            File::Dir(n) => std::fs::create_dir_all(dir.join(n)).unwrap(),
            File::Result(n) => {
                std::fs::copy(result, dir.join(n)).unwrap();
            }
            File::H5(n) => {
                let f = hdf5::File::create(dir.join(n)).unwrap();
                f.new_dataset_builder()
                    .with_data(&ndarray::arr1(&[1.0f64, 2.0]))
                    .create("x")
                    .unwrap();
            }
        }
    }
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in walk(dir) {
        if e.is_file() {
            out.push((e.clone(), std::fs::read(&e).unwrap()));
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn bad_input_table() {
    let cases = cases();
    assert!(cases.len() >= 80, "only {} cases", cases.len());
    let bin = env!("CARGO_BIN_EXE_corrmc");
    let shared = tempfile::tempdir().unwrap();
    // One small valid result file for the cases that need one.
    std::fs::write(shared.path().join("s.toml"), GOOD).unwrap();
    let o = common::no_inherited_fds(&mut Command::new(bin))
        .args(["run", "s.toml", "-o", "r.h5", "--no-summary"])
        .current_dir(shared.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let result = shared.path().join("r.h5");
    let cache = shared.path().join("cache");
    let mut failures = Vec::new();
    for c in &cases {
        let dir = tempfile::tempdir().unwrap();
        write_files(dir.path(), &c.files, &result);
        let before = snapshot(dir.path());
        let o = common::no_inherited_fds(&mut Command::new(bin))
            .args(&c.args)
            .current_dir(dir.path())
            .env("CORRMC_CACHE_DIR", &cache)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        let mut problems = Vec::new();
        if o.status.code() != Some(c.code) {
            problems.push(format!("exit {:?}, expected {}", o.status.code(), c.code));
        }
        if !err.contains(c.phrase) {
            problems.push(format!("message lacks '{}'", c.phrase));
        }
        if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
            problems.push("panicked".into());
        }
        for a in &c.absent {
            if dir.path().join(a).exists() {
                problems.push(format!("left '{a}' behind"));
            }
        }
        for (p, bytes) in &before {
            if std::fs::read(p).ok().as_ref() != Some(bytes) {
                problems.push(format!("changed pre-existing {}", p.display()));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {} (args {:?})\n    stderr: {}",
                c.name,
                problems.join("; "),
                c.args,
                err.trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad-input cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("bad-input table: {} cases passed", cases.len());
}

/// `allocate --method all` at n = 2: methods undefined there report their own error and the
/// others still print (exit 0).
#[test]
fn allocate_all_reports_per_method_errors() {
    let dir = tempfile::tempdir().unwrap();
    ndarray_npy::write_npy(dir.path().join("c.npy"), &array![[1.0, 0.2], [0.2, 2.0]]).unwrap();
    let o = common::no_inherited_fds(&mut Command::new(env!("CARGO_BIN_EXE_corrmc")))
        .args(["allocate", "--method", "all", "--cov", "c.npy", "--json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = v.as_object().unwrap();
    assert!(m.len() > 50, "{} methods", m.len());
    let ok = m.values().filter(|x| x.is_array()).count();
    assert!(ok > 0 && m["HRP"].is_array() && m["EW"].is_array(), "{v}");
    for (k, x) in m {
        if let Some(w) = x.as_array() {
            let s: f64 = w.iter().map(|y| y.as_f64().unwrap()).sum();
            assert!((s - 1.0).abs() < 1e-9, "{k}: weights sum to {s}");
        } else {
            assert!(x["error"].is_string(), "{k}: {x}");
        }
    }
}

/// Every option of every command has a description in `--help`.
#[test]
fn every_option_is_described() {
    use clap::CommandFactory;
    let cmd = corrmc::cli::Cli::command();
    let mut missing = Vec::new();
    for sub in cmd.get_subcommands() {
        if sub.get_about().is_none() {
            missing.push(sub.get_name().to_string());
        }
        for a in sub.get_arguments() {
            let id = a.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            if a.get_help().is_none() && a.get_long_help().is_none() {
                missing.push(format!("{} {}", sub.get_name(), id));
            }
        }
    }
    assert!(missing.is_empty(), "undescribed: {missing:?}");
}

/// `repair --symmetrize` reports the distance to the input as well.
#[test]
fn repair_symmetrize_reports_distance_to_input() {
    let dir = tempfile::tempdir().unwrap();
    let a = array![[1.0, 0.5], [0.29, 1.0]];
    ndarray_npy::write_npy(dir.path().join("m.npy"), &a).unwrap();
    let o = common::no_inherited_fds(&mut Command::new(env!("CARGO_BIN_EXE_corrmc")))
        .args([
            "repair",
            "--input",
            "m.npy",
            "-o",
            "r.npy",
            "--symmetrize",
            "--json",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let to_input = v["distance_to_input"].as_f64().unwrap();
    let x: Array2<f64> = ndarray_npy::read_npy(dir.path().join("r.npy")).unwrap();
    let direct = (&x - &a).mapv(|d| d * d).sum().sqrt();
    assert!((to_input - direct).abs() < 1e-12, "{to_input} vs {direct}");
    assert!(to_input > 0.1, "{to_input}");
}
