//! Paired comparisons of every method with a baseline, per-method distributions
//! and rankings, with confidence intervals.
//!
//! Every method of a study sees the same trials (same true matrix, same paths), so
//! the comparison of method `a` with baseline `b` on a measure uses the per-trial
//! differences `d_i = x_a,i − x_b,i` over the trials where both succeeded (a trial
//! where either failed — status ≠ 0 or a non-finite value — is excluded and
//! counted). For `d`:
//! - the mean and its t-interval `d̄ ± t_{1−α/2, n−1} s_d / √n` with the paired
//!   t-test (Student 1908; identical to `scipy.stats.ttest_rel`, tested);
//! - the relative difference `d̄ / x̄_b`; its t-interval divides the one of `d̄` by
//!   `x̄_b` (treats the baseline mean as fixed), its bootstrap interval resamples
//!   the ratio itself;
//! - the paired bootstrap percentile interval (see [`super::bootstrap`]);
//! - the win rate: the share of used trials where the method is strictly better
//!   by the measure's [`Better`] rule (ties — e.g. EW's zero turnover against
//!   itself — are reported apart).
//!
//! Rankings order methods by the mean per-trial loss ([`Better::loss`]) over each
//! method's own successful trials, with t and bootstrap intervals of the mean
//! value and the 2.5–97.5 % range of the method's rank across bootstrap resamples.

use super::bootstrap::{DEFAULT_RESAMPLES, Resamples, percentile_interval, quantile_sorted};
use super::dist::{t_cdf, t_quantile};
use super::study::{Better, Study};
use ndarray::Array2;
use rayon::prelude::*;
use serde::Serialize;

/// The paired t statistics of `x − y` over the pairs where both are finite.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct PairedT {
    /// Pairs used.
    pub n: usize,
    /// Pairs excluded because either value is missing.
    pub excluded: usize,
    pub mean_x: f64,
    pub mean_y: f64,
    /// Mean paired difference.
    pub diff: f64,
    /// Standard deviation of the differences (ddof = 1).
    pub sd: f64,
    /// `d̄ ± t_{1−α/2, n−1} sd / √n`.
    pub ci: [f64; 2],
    /// `d̄ / (sd / √n)`; ±∞ when every difference is equal and nonzero, 0 when all are 0.
    pub t: f64,
    /// Two-sided p-value of the paired t-test.
    pub p_value: f64,
}

/// Paired t statistics at confidence `level` (e.g. 0.95). With fewer than two
/// pairs the spread, interval and test are NaN.
pub fn paired_t(x: &[f64], y: &[f64], level: f64) -> PairedT {
    assert_eq!(x.len(), y.len());
    let pairs: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (*a, *b))
        .collect();
    let n = pairs.len();
    let nf = n as f64;
    let mean = |f: &dyn Fn(&(f64, f64)) -> f64| pairs.iter().map(f).sum::<f64>() / nf;
    let mean_x = mean(&|p| p.0);
    let mean_y = mean(&|p| p.1);
    let diff = mean(&|p| p.0 - p.1);
    let (sd, ci, t, p_value) = if n >= 2 {
        let ss: f64 = pairs.iter().map(|p| (p.0 - p.1 - diff).powi(2)).sum();
        let sd = (ss / (nf - 1.0)).sqrt();
        let se = sd / nf.sqrt();
        let q = t_quantile(0.5 + 0.5 * level, nf - 1.0);
        let t = if se > 0.0 {
            diff / se
        } else if diff == 0.0 {
            0.0
        } else {
            diff.signum() * f64::INFINITY
        };
        let p = 2.0 * t_cdf(-t.abs(), nf - 1.0);
        (sd, [diff - q * se, diff + q * se], t, p)
    } else {
        (f64::NAN, [f64::NAN; 2], f64::NAN, f64::NAN)
    };
    PairedT {
        n,
        excluded: x.len() - n,
        mean_x,
        mean_y,
        diff,
        sd,
        ci,
        t,
        p_value,
    }
}

/// One method against the baseline on one measure.
#[derive(Clone, Debug, Serialize)]
pub struct Paired {
    pub method: String,
    pub measure: &'static str,
    pub better: Better,
    #[serde(flatten)]
    pub t: PairedT,
    /// Paired bootstrap percentile interval of the mean difference.
    pub boot_ci: [f64; 2],
    /// `diff / mean_baseline` (mean_y).
    pub rel: f64,
    pub rel_t_ci: [f64; 2],
    pub rel_boot_ci: [f64; 2],
    /// Share of used trials where the method is strictly better.
    pub win_rate: f64,
    /// Share of used trials where method and baseline are equally good.
    pub tie_rate: f64,
}

/// Quantiles (type 7) and moments of one measure for one method.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Distribution {
    pub n: usize,
    pub mean: f64,
    pub sd: f64,
    pub min: f64,
    pub q05: f64,
    pub q25: f64,
    pub median: f64,
    pub q75: f64,
    pub q95: f64,
    pub max: f64,
}

impl Distribution {
    pub fn of(values: &[f64]) -> Distribution {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            f64::NAN
        };
        let q = |p| quantile_sorted(&v, p);
        Distribution {
            n,
            mean,
            sd,
            min: q(0.0),
            q05: q(0.05),
            q25: q(0.25),
            median: q(0.5),
            q75: q(0.75),
            q95: q(0.95),
            max: q(1.0),
        }
    }
}

/// One method's line in a ranking.
#[derive(Clone, Debug, Serialize)]
pub struct RankEntry {
    pub method: String,
    /// 1 = best by mean loss.
    pub rank: usize,
    pub n: usize,
    pub mean: f64,
    /// t-interval of the mean value.
    pub t_ci: [f64; 2],
    /// Bootstrap percentile interval of the mean value.
    pub boot_ci: [f64; 2],
    /// Mean per-trial loss (the ranking key).
    pub mean_loss: f64,
    /// 2.5 % and 97.5 % quantiles of the rank over bootstrap resamples.
    pub rank_ci: [f64; 2],
}

#[derive(Clone, Debug, Serialize)]
pub struct Ranking {
    pub measure: &'static str,
    pub better: Better,
    pub entries: Vec<RankEntry>,
}

/// Per method: trials, failures and the distribution of every measure.
#[derive(Clone, Debug, Serialize)]
pub struct MethodStats {
    pub method: String,
    pub trials_ok: usize,
    pub trials_failed: usize,
    pub distributions: Vec<(&'static str, Distribution)>,
}

/// How a verdict is computed.
#[derive(Clone, Debug)]
pub struct Options {
    /// Baseline method (default: HRP when present, else the first method).
    pub baseline: Option<String>,
    /// Bootstrap resamples (0: no bootstrap intervals).
    pub resamples: usize,
    /// Bootstrap seed (default: the study's seed).
    pub seed: Option<u64>,
    /// Confidence level of every interval.
    pub level: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            baseline: None,
            resamples: DEFAULT_RESAMPLES,
            seed: None,
            level: 0.95,
        }
    }
}

impl Options {
    /// Checks the options once, naming the bad one.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(format!("--level must be in (0, 1), got {}", self.level));
        }
        if self.resamples == 1 || self.resamples > 1_000_000 {
            return Err(format!(
                "--resamples must be 0 (no bootstrap) or between 2 and 1000000, got {}",
                self.resamples
            ));
        }
        Ok(())
    }
}

/// The verdict of one study group.
#[derive(Clone, Debug, Serialize)]
pub struct StudyVerdict {
    pub group: String,
    pub baseline: String,
    pub level: f64,
    pub interval: &'static str,
    pub resamples: usize,
    pub bootstrap_seed: u64,
    pub trials_planned: usize,
    pub trials_run: usize,
    /// Whether the study has expected returns ([`Study::has_expected_returns`]); without,
    /// the return measures are estimation noise and the text and report skip them.
    pub expected_returns: bool,
    pub methods: Vec<MethodStats>,
    /// Every method but the baseline, on every judged measure.
    pub paired: Vec<Paired>,
    pub rankings: Vec<Ranking>,
}

/// Computes the verdict of a study group. `study_seed` seeds the bootstrap unless
/// `opts.seed` is set.
pub fn verdict(study: &Study, opts: &Options, study_seed: u64) -> Result<StudyVerdict, String> {
    opts.validate()?;
    let baseline = match &opts.baseline {
        Some(b) => b.clone(),
        None if study.methods.iter().any(|m| m == "HRP") => "HRP".to_string(),
        None => study.methods.first().cloned().unwrap_or_default(),
    };
    let jb = study.method_index(&baseline)?;
    let m = study.methods.len();
    let n = study.trials.len();
    let seed = opts.seed.unwrap_or(study_seed);
    let level = opts.level;
    let judged: Vec<_> = study
        .measures()
        .filter(|ms| ms.better != Better::NotJudged)
        .collect();

    // Bootstrap columns: per (measure, method) value·ok, ok, loss·ok; then per
    // (measure, method ≠ baseline) d·ok, base·ok, ok.
    let own_cols = 3;
    let pair_cols = 3;
    let n_own = judged.len() * m * own_cols;
    let others: Vec<usize> = (0..m).filter(|&j| j != jb).collect();
    let n_cols = n_own + judged.len() * others.len() * pair_cols;
    // One measure at a time, so the column matrix stays n × 6M (not n × 42M).
    let boot = if opts.resamples > 0 && n > 0 {
        let r = Resamples::new(n, opts.resamples, seed);
        let mut sums = Array2::<f64>::zeros((opts.resamples, n_cols));
        let (w_own, w_pair) = (m * own_cols, others.len() * pair_cols);
        for (k, ms) in judged.iter().enumerate() {
            let v = &study.values[ms.name];
            let mut x = Array2::<f64>::zeros((n, w_own + w_pair));
            for j in 0..m {
                let c = j * own_cols;
                for i in 0..n {
                    let a = v[(i, j)];
                    if a.is_finite() {
                        x[(i, c)] = a;
                        x[(i, c + 1)] = 1.0;
                        x[(i, c + 2)] = ms.better.loss(a);
                    }
                }
            }
            for (o, &j) in others.iter().enumerate() {
                let c = w_own + o * pair_cols;
                for i in 0..n {
                    let (a, b) = (v[(i, j)], v[(i, jb)]);
                    if a.is_finite() && b.is_finite() {
                        x[(i, c)] = a - b;
                        x[(i, c + 1)] = b;
                        x[(i, c + 2)] = 1.0;
                    }
                }
            }
            // Column blocks in parallel; each block is one sequential product.
            let nc = w_own + w_pair;
            let blocks: Vec<(usize, usize)> =
                (0..nc).step_by(48).map(|s| (s, (s + 48).min(nc))).collect();
            let parts: Vec<Array2<f64>> = blocks
                .par_iter()
                .map(|&(s, e)| r.weighted_sums(x.slice(ndarray::s![.., s..e])))
                .collect();
            let mut sk = Array2::<f64>::zeros((opts.resamples, nc));
            for ((s, e), p) in blocks.iter().zip(parts) {
                sk.slice_mut(ndarray::s![.., *s..*e]).assign(&p);
            }
            let own0 = k * w_own;
            let pair0 = n_own + k * w_pair;
            sums.slice_mut(ndarray::s![.., own0..own0 + w_own])
                .assign(&sk.slice(ndarray::s![.., ..w_own]));
            sums.slice_mut(ndarray::s![.., pair0..pair0 + w_pair])
                .assign(&sk.slice(ndarray::s![.., w_own..]));
        }
        Some(sums)
    } else {
        None
    };
    let col_ratio = |c_num: usize, c_den: usize| -> Vec<f64> {
        boot.as_ref().map_or_else(Vec::new, |s| {
            (0..s.nrows())
                .map(|b| s[(b, c_num)] / s[(b, c_den)])
                .collect()
        })
    };
    let nan2 = [f64::NAN; 2];
    let interval = |reps: &[f64]| {
        if reps.is_empty() {
            nan2
        } else {
            percentile_interval(reps, level)
        }
    };

    let mut paired = Vec::new();
    let mut rankings = Vec::new();
    for (k, ms) in judged.iter().enumerate() {
        let v = &study.values[ms.name];
        let base = v.column(jb).to_vec();
        for (o, &j) in others.iter().enumerate() {
            let x = v.column(j).to_vec();
            let t = paired_t(&x, &base, level);
            let (mut wins, mut ties) = (0usize, 0usize);
            for (a, b) in x.iter().zip(&base) {
                if a.is_finite() && b.is_finite() {
                    let (la, lb) = (ms.better.loss(*a), ms.better.loss(*b));
                    if la < lb {
                        wins += 1;
                    } else if la == lb {
                        ties += 1;
                    }
                }
            }
            let c = n_own + (k * others.len() + o) * pair_cols;
            let diff_reps = col_ratio(c, c + 2);
            let rel_reps = col_ratio(c, c + 1);
            let nf = t.n as f64;
            paired.push(Paired {
                method: study.methods[j].clone(),
                measure: ms.name,
                better: ms.better,
                boot_ci: interval(&diff_reps),
                rel: t.diff / t.mean_y,
                rel_t_ci: [t.ci[0] / t.mean_y, t.ci[1] / t.mean_y],
                rel_boot_ci: interval(&rel_reps),
                win_rate: wins as f64 / nf,
                tie_rate: ties as f64 / nf,
                t,
            });
        }
        // Ranking by mean loss; rank intervals from the joint resamples.
        let mut entries: Vec<RankEntry> = (0..m)
            .map(|j| {
                let x = v.column(j).to_vec();
                let d = Distribution::of(&x);
                let q = t_quantile(0.5 + 0.5 * level, d.n as f64 - 1.0);
                let se = d.sd / (d.n as f64).sqrt();
                let losses: Vec<f64> = x
                    .iter()
                    .filter(|a| a.is_finite())
                    .map(|a| ms.better.loss(*a))
                    .collect();
                let c = (k * m + j) * own_cols;
                RankEntry {
                    method: study.methods[j].clone(),
                    rank: 0,
                    n: d.n,
                    mean: d.mean,
                    t_ci: if d.n >= 2 {
                        [d.mean - q * se, d.mean + q * se]
                    } else {
                        nan2
                    },
                    boot_ci: interval(&col_ratio(c, c + 1)),
                    mean_loss: losses.iter().sum::<f64>() / losses.len() as f64,
                    rank_ci: nan2,
                }
            })
            .collect();
        if let Some(s) = &boot {
            let mut ranks = vec![Vec::with_capacity(s.nrows()); m];
            let mut key: Vec<(f64, usize)> = vec![(0.0, 0); m];
            for b in 0..s.nrows() {
                for (j, kj) in key.iter_mut().enumerate() {
                    let c = (k * m + j) * own_cols;
                    let l = s[(b, c + 2)] / s[(b, c + 1)];
                    *kj = (if l.is_finite() { l } else { f64::INFINITY }, j);
                }
                key.sort_by(|a, b| a.0.total_cmp(&b.0));
                for (r, &(_, j)) in key.iter().enumerate() {
                    ranks[j].push((r + 1) as f64);
                }
            }
            for (e, r) in entries.iter_mut().zip(&ranks) {
                e.rank_ci = percentile_interval(r, level);
            }
        }
        entries.sort_by(|a, b| {
            let ka = if a.mean_loss.is_finite() {
                a.mean_loss
            } else {
                f64::INFINITY
            };
            let kb = if b.mean_loss.is_finite() {
                b.mean_loss
            } else {
                f64::INFINITY
            };
            ka.total_cmp(&kb)
        });
        for (r, e) in entries.iter_mut().enumerate() {
            e.rank = r + 1;
        }
        rankings.push(Ranking {
            measure: ms.name,
            better: ms.better,
            entries,
        });
    }

    let methods = (0..m)
        .map(|j| {
            let ok = study.status.column(j).iter().filter(|&&s| s == 0).count();
            MethodStats {
                method: study.methods[j].clone(),
                trials_ok: ok,
                trials_failed: n - ok,
                distributions: study
                    .measures()
                    .map(|ms| (ms.name, Distribution::of(&study.column(ms.name, j))))
                    .collect(),
            }
        })
        .collect();
    Ok(StudyVerdict {
        group: study.group.clone(),
        baseline,
        level,
        interval: "percentile (paired trial bootstrap)",
        resamples: if boot.is_some() { opts.resamples } else { 0 },
        bootstrap_seed: seed,
        trials_planned: study.planned,
        trials_run: n,
        expected_returns: study.has_expected_returns(),
        methods,
        paired,
        rankings,
    })
}
