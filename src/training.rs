//! `corrmc export-training`: per-trial inputs and targets for training DHRP
//! (`models/dhrp/`), drawn from any spec's correlation source exactly as `corrmc run`
//! draws them (same seeds, same in-sample/out-of-sample paths).
//!
//! HDF5 layout (N trials, n assets, F features; matrices in HRP's order):
//!
//! | dataset | shape | meaning |
//! | --- | --- | --- |
//! | `cov_is` | `[N, n, n]` f64 | in-sample sample covariance, HRP-ordered (model input) |
//! | `features` | `[N, F]` f64 | global features of the in-sample estimate (model input; names in attribute `names`) |
//! | `sigma_true` | `[N, n, n]` f64 | true covariance, same order (target) |
//! | `cov_oos` | `[N, n, n]` f64 | out-of-sample sample covariance, same order (target) |
//! | `order` | `[N, n]` u32 | HRP leaf order: position k holds original asset `order[k]` |
//! | `w_hrp` | `[N, n]` f64 | HRP weights of the in-sample estimate, HRP-ordered (engine's recursive bisection) |
//! | `mean_is` | `[N, n]` f64 | in-sample sample mean daily returns, same order (DHRP_paper's input, §3.3 features) |
//! | `momentum_is` | `[N, n]` f64 | in-sample momentum (last 21 days' return minus the 21 before; `simulate::path_signals`), same order |
//! | `vol_ratio_is` | `[N, n]` f64 | in-sample volatility regime (sd of the last 21 days / sd of the window), same order |
//! | `mu` | `[N, n]` f64 | true expected daily returns, same order (evaluation: ex-ante Sharpe, CRRA CE) |
//! | `ret_fwd` | `[N, n]` f64 | realized forward return of the first `horizon_days` out-of-sample days, Σ_t x_t, same order (the r_{t+1} of Amador's Eq. 6–7) |
//! | `split` | `[N]` u8 | 0 = train, 1 = validation, 2 = test, by trial index |
//! | `trial` | `[N]` u64 | trial index (the engine's seed stream key) |
//!
//! Root attributes: `spec`, `spec_origin`, `source`, `seed`, `assets`, `trials`,
//! `in_sample_days`, `out_of_sample_days`, `annualization`, `linkage` (the tree whose
//! leaf order is "HRP's order": `single`, the default, or `ward`), `horizon_days`,
//! `val_fraction`, `test_fraction`, `corrmc_version`, `git_revision`.

use crate::Error;
use crate::alloc::Estimate;
use crate::alloc::dhrp::{FEATURE_NAMES, TreeLinkage, dhrp_inputs_with};
use crate::alloc::hrp::recursive_bisection;
use crate::output::{h5err, set_num_attr, set_str_attr};
use crate::simulate::simulate;
use crate::spec::Spec;
use ndarray::{Array1, Array2, Array3, s};
use rayon::prelude::*;
use std::path::Path;

/// What else an export takes: the tree's linkage and the forward-return horizon.
#[derive(Clone, Copy, Debug)]
pub struct ExportOptions {
    pub linkage: TreeLinkage,
    /// Days of the out-of-sample path summed into `ret_fwd` (1 ..= out_of_sample_days).
    pub horizon_days: usize,
}

impl Default for ExportOptions {
    fn default() -> Self {
        // 21 days: the paper's holding period (Amador §4.1).
        ExportOptions {
            linkage: TreeLinkage::Single,
            horizon_days: 21,
        }
    }
}

/// Split of trials by index: the first `1 − val − test` fraction trains, the next
/// `val` validates, the last `test` tests.
#[derive(Clone, Copy, Debug)]
pub struct Splits {
    pub val: f64,
    pub test: f64,
}

impl Splits {
    /// 0 = train, 1 = validation, 2 = test.
    pub fn of(&self, trial: u64, trials: u64) -> u8 {
        let train_end = ((1.0 - self.val - self.test) * trials as f64).round() as u64;
        let val_end = ((1.0 - self.test) * trials as f64).round() as u64;
        if trial < train_end {
            0
        } else if trial < val_end {
            1
        } else {
            2
        }
    }
}

/// One trial's record.
struct Row {
    cov_is: Array2<f64>,
    features: Array1<f64>,
    sigma: Array2<f64>,
    cov_oos: Array2<f64>,
    order: Vec<usize>,
    w_hrp: Array1<f64>,
    mean_is: Array1<f64>,
    momentum_is: Array1<f64>,
    vol_ratio_is: Array1<f64>,
    mu: Array1<f64>,
    ret_fwd: Array1<f64>,
}

fn row(spec: &Spec, trial: u64, corr: Array2<f64>, opts: ExportOptions) -> Result<Row, Error> {
    let data = simulate(corr, &spec.sim, spec.raw.seed, trial)
        .map_err(|m| Error::matrix(format!("trial {trial}"), m))?;
    let est = Estimate::new(data.cov_is.clone());
    let inp = dhrp_inputs_with(&est, opts.linkage)
        .map_err(|e| Error::matrix(format!("trial {trial}"), e.message))?;
    // Realized forward return over the first h out-of-sample days, Σ_t (μ + F y_t)
    // = h μ + F Σ_t y_t (the path is kept factored).
    let h = opts.horizon_days;
    let path = &data.oos_path;
    let ysum = path.shocks.slice(s![..h, ..]).sum_axis(ndarray::Axis(0));
    let fwd = path.factor.dot(&ysum) + &data.mu * h as f64;
    let pv = |v: &Array1<f64>| Array1::from_iter(inp.order.iter().map(|&i| v[i]));
    let n = inp.order.len();
    let ident: Vec<usize> = (0..n).collect();
    let w_hrp = recursive_bisection(&inp.cov, &ident)
        .map_err(|e| Error::matrix(format!("trial {trial}"), e.message))?;
    let p = |m: &Array2<f64>| crate::alloc::dhrp::permute(m, &inp.order);
    Ok(Row {
        sigma: p(&data.sigma),
        cov_oos: p(&data.cov_oos),
        cov_is: inp.cov,
        features: inp.features,
        mean_is: pv(&data.mean_is),
        momentum_is: pv(&data.signals_is.momentum),
        vol_ratio_is: pv(&data.signals_is.vol_ratio),
        mu: pv(&data.mu),
        ret_fwd: pv(&fwd),
        order: inp.order,
        w_hrp,
    })
}

/// What an export wrote.
#[derive(Clone, Debug)]
pub struct ExportReport {
    pub trials: u64,
    pub train: u64,
    pub val: u64,
    pub test: u64,
    pub elapsed_s: f64,
}

/// Writes the training file for `trials` trials of `spec` (see the module docs).
pub fn export(
    spec: &Spec,
    path: &Path,
    trials: u64,
    splits: Splits,
    opts: ExportOptions,
    overwrite: bool,
) -> Result<ExportReport, Error> {
    if opts.horizon_days == 0 || opts.horizon_days > spec.raw.out_of_sample_days {
        return Err(Error::Other(format!(
            "--horizon-days {}: must lie in 1..={} (the spec's out_of_sample_days)",
            opts.horizon_days, spec.raw.out_of_sample_days
        )));
    }
    if !(0.0..1.0).contains(&splits.val)
        || !(0.0..1.0).contains(&splits.test)
        || splits.val + splits.test >= 1.0
    {
        return Err(Error::Other(format!(
            "validation ({}) and test ({}) fractions must be in [0, 1) and leave trials to train on",
            splits.val, splits.test
        )));
    }
    if path.exists() && !overwrite {
        return Err(Error::io(
            path,
            "output exists; pass --overwrite to replace it",
        ));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(dir, format!("cannot create output directory: {e}")))?;
    }
    let started = std::time::Instant::now();
    let source = spec.build_source()?;
    let n = spec.raw.assets;
    let t = trials as usize;
    let e = h5err(path);
    let file = hdf5::File::create(path)
        .map_err(|err| Error::io(path, format!("cannot create file: {err}")))?;
    let root: &hdf5::Location = &file;
    set_str_attr(root, "corrmc_version", env!("CARGO_PKG_VERSION")).map_err(&e)?;
    set_str_attr(root, "git_revision", env!("CORRMC_GIT_REV")).map_err(&e)?;
    set_str_attr(root, "spec", &spec.text).map_err(&e)?;
    set_str_attr(root, "spec_origin", &spec.origin).map_err(&e)?;
    set_str_attr(root, "source", &source.describe()).map_err(&e)?;
    set_num_attr(root, "seed", spec.raw.seed).map_err(&e)?;
    set_num_attr(root, "assets", n as u64).map_err(&e)?;
    set_num_attr(root, "trials", trials).map_err(&e)?;
    set_num_attr(root, "in_sample_days", spec.raw.in_sample_days as u64).map_err(&e)?;
    set_num_attr(
        root,
        "out_of_sample_days",
        spec.raw.out_of_sample_days as u64,
    )
    .map_err(&e)?;
    set_num_attr(root, "annualization", spec.raw.annualization).map_err(&e)?;
    set_str_attr(root, "linkage", opts.linkage.name()).map_err(&e)?;
    set_num_attr(root, "horizon_days", opts.horizon_days as u64).map_err(&e)?;
    set_num_attr(root, "val_fraction", splits.val).map_err(&e)?;
    set_num_attr(root, "test_fraction", splits.test).map_err(&e)?;
    let mat = |name: &str, desc: &str| -> hdf5::Result<hdf5::Dataset> {
        let ds = file
            .new_dataset::<f64>()
            .chunk((64.min(t).max(1), n, n))
            .shape((t, n, n))
            .create(name)?;
        set_str_attr(&ds, "description", desc)?;
        Ok(ds)
    };
    let d_cov = mat(
        "cov_is",
        "in-sample sample covariance in HRP order (model input)",
    )
    .map_err(&e)?;
    let d_sigma = mat("sigma_true", "true covariance in HRP order (target)").map_err(&e)?;
    let d_oos = mat(
        "cov_oos",
        "out-of-sample sample covariance in HRP order (target)",
    )
    .map_err(&e)?;
    let d_feat = file
        .new_dataset::<f64>()
        .shape((t, FEATURE_NAMES.len()))
        .create("features")
        .map_err(&e)?;
    set_str_attr(&d_feat, "names", &FEATURE_NAMES.join(",")).map_err(&e)?;
    let d_order = file
        .new_dataset::<u32>()
        .shape((t, n))
        .create("order")
        .map_err(&e)?;
    set_str_attr(
        &d_order,
        "description",
        "HRP leaf order: position k holds original asset order[k]",
    )
    .map_err(&e)?;
    let d_hrp = file
        .new_dataset::<f64>()
        .shape((t, n))
        .create("w_hrp")
        .map_err(&e)?;
    set_str_attr(
        &d_hrp,
        "description",
        "HRP weights (engine recursive bisection) in HRP order",
    )
    .map_err(&e)?;
    let vecset = |name: &str, desc: &str| -> hdf5::Result<hdf5::Dataset> {
        let ds = file.new_dataset::<f64>().shape((t, n)).create(name)?;
        set_str_attr(&ds, "description", desc)?;
        Ok(ds)
    };
    let d_mean = vecset(
        "mean_is",
        "in-sample sample mean daily returns in HRP order (DHRP_paper input)",
    )
    .map_err(&e)?;
    let d_mom = vecset(
        "momentum_is",
        "in-sample momentum: return of the last 21 days minus the 21 before, HRP order",
    )
    .map_err(&e)?;
    let d_volr = vecset(
        "vol_ratio_is",
        "in-sample volatility regime: sd of the last 21 days / sd of the window, HRP order",
    )
    .map_err(&e)?;
    let d_mu = vecset("mu", "true expected daily returns in HRP order").map_err(&e)?;
    let d_fwd = vecset(
        "ret_fwd",
        "realized return summed over the first horizon_days out-of-sample days, HRP order",
    )
    .map_err(&e)?;
    let split: Vec<u8> = (0..trials).map(|i| splits.of(i, trials)).collect();
    file.new_dataset_builder()
        .with_data(&split)
        .create("split")
        .map_err(&e)?;
    let idx: Vec<u64> = (0..trials).collect();
    file.new_dataset_builder()
        .with_data(&idx)
        .create("trial")
        .map_err(&e)?;
    let chunk = 256u64;
    let mut start = 0u64;
    while start < trials {
        let end = (start + chunk).min(trials);
        let b = source.preferred_batch().max(1) as u64;
        let starts: Vec<u64> = (start..end).step_by(b as usize).collect();
        let samples: Result<Vec<Vec<_>>, Error> = starts
            .par_iter()
            .map(|&s0| source.sample_batch(spec.raw.seed, s0..(s0 + b).min(end)))
            .collect();
        let samples: Vec<_> = samples?.into_iter().flatten().collect();
        let rows: Result<Vec<Row>, Error> = samples
            .into_par_iter()
            .enumerate()
            .map(|(k, smp)| row(spec, start + k as u64, smp.corr, opts))
            .collect();
        let rows = rows?;
        let m = rows.len();
        let (a, z) = (start as usize, end as usize);
        let stack3 = |f: &dyn Fn(&Row) -> &Array2<f64>| {
            let mut out = Array3::<f64>::zeros((m, n, n));
            for (k, r) in rows.iter().enumerate() {
                out.slice_mut(s![k, .., ..]).assign(f(r));
            }
            out
        };
        d_cov
            .write_slice(&stack3(&|r| &r.cov_is), s![a..z, .., ..])
            .map_err(&e)?;
        d_sigma
            .write_slice(&stack3(&|r| &r.sigma), s![a..z, .., ..])
            .map_err(&e)?;
        d_oos
            .write_slice(&stack3(&|r| &r.cov_oos), s![a..z, .., ..])
            .map_err(&e)?;
        let feats = Array2::from_shape_fn((m, FEATURE_NAMES.len()), |(k, j)| rows[k].features[j]);
        d_feat.write_slice(&feats, s![a..z, ..]).map_err(&e)?;
        let ord = Array2::from_shape_fn((m, n), |(k, j)| rows[k].order[j] as u32);
        d_order.write_slice(&ord, s![a..z, ..]).map_err(&e)?;
        let wh = Array2::from_shape_fn((m, n), |(k, j)| rows[k].w_hrp[j]);
        d_hrp.write_slice(&wh, s![a..z, ..]).map_err(&e)?;
        for (ds, f) in [
            (&d_mean, (|r: &Row| &r.mean_is) as fn(&Row) -> &Array1<f64>),
            (&d_mom, |r: &Row| &r.momentum_is),
            (&d_volr, |r: &Row| &r.vol_ratio_is),
            (&d_mu, |r: &Row| &r.mu),
            (&d_fwd, |r: &Row| &r.ret_fwd),
        ] {
            let m2 = Array2::from_shape_fn((m, n), |(k, j)| f(&rows[k])[j]);
            ds.write_slice(&m2, s![a..z, ..]).map_err(&e)?;
        }
        start = end;
    }
    drop(e);
    let count = |c: u8| split.iter().filter(|&&x| x == c).count() as u64;
    Ok(ExportReport {
        trials,
        train: count(0),
        val: count(1),
        test: count(2),
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}
