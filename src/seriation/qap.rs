//! `QAP_2SUM`, `QAP_BAR`, `QAP_Inertia`, `QAP_LS`: seriation as a quadratic
//! assignment problem min_π Σ_ij A_ij B_π(i)π(j) (Hahsler 2017, §3), solved with the
//! simulated-annealing heuristic of Burkard & Rendl (1984) as R's `qap::qapSA`
//! (Fortran `qaph4`, defaults rep = 1, miter = 2n, fiter = 1.1, ft = 0.5,
//! maxsteps = 50). The loop is bounded by `maxsteps` temperature steps, but the
//! schedule makes ~2326 n transpositions of O(n) each per repetition (9·10⁹ at
//! n = 2000) and the polishing descent O(n³) per pass, so the methods also take a
//! work budget `max_work` (corrmc, not R; [`super::Budget`]): see [`qap_method`].

use super::{Dm, Seriation, SeriationError, random_permutation, registry::Control, unif};
use rand::rngs::ChaCha8Rng;

/// The (A, B) pair of each QAP method (R `seriate_dist_2SUM`, `_BAR`, `_Inertia`, `_LS`).
pub fn qap_matrices(
    name: &str,
    d: &Dm,
    bar_b: Option<usize>,
) -> Result<(Vec<f64>, Vec<f64>), SeriationError> {
    let n = d.n;
    let nf = n as f64;
    let gap = |i: usize, j: usize| (i as f64 - j as f64).abs();
    let a: Vec<f64> = match name {
        "QAP_2SUM" => (0..n * n).map(|k| gap(k / n, k % n).powi(2)).collect(),
        "QAP_LS" => (0..n * n).map(|k| nf - gap(k / n, k % n)).collect(),
        "QAP_Inertia" => (0..n * n)
            .map(|k| nf * nf - gap(k / n, k % n).powi(2))
            .collect(),
        "QAP_BAR" => {
            let b = bar_b.unwrap_or((n / 5).max(1));
            if b < 1 || b >= n {
                return Err(SeriationError::InvalidControl(format!(
                    "BAR bandwidth b = {b} needs 1 <= b < n = {n}"
                )));
            }
            (0..n * n)
                .map(|k| (b as f64 + 1.0 - gap(k / n, k % n)).max(0.0))
                .collect()
        }
        _ => return Err(SeriationError::UnknownMethod(name.to_string())),
    };
    let b = if name == "QAP_2SUM" {
        d.similarity().v
    } else {
        d.v.clone()
    };
    Ok((a, b))
}

/// corrmc's default number of annealing runs (R's qap: 1): with the polishing
/// descent, 3 runs keep the best of three local optima, which puts corrmc's median
/// at or above R's single run on the fixtures (issue 11). `rep = 1, polish = FALSE`
/// is R's algorithm.
pub const DEFAULT_REP: usize = 3;

/// Default `max_work` of the `QAP_*` methods: 2·10⁹ multiply-adds for the annealing
/// (all repetitions together; the polishing descent has its own `polish_work`). The
/// default schedule costs ~7000 n² (3 repetitions): the budget binds above n ≈ 530.
pub const QAP_MAX_WORK: f64 = 2e9;

/// Budget (corrmc): `max_work` (default [`QAP_MAX_WORK`]) counts multiply-adds, n per
/// transposition tried (the O(n) Δ of Burkard & Rendl's move). The annealing checks it
/// before each transposition and the repetitions share it (a repetition that would
/// start with the budget spent is skipped, the first always starts); the polishing
/// descent has its own budget `polish_work` ([`super::polish::finish`]). Stopped by either, the best order found is
/// returned with `exact = Some(false)`; otherwise the result is unchanged.
pub fn qap_method(
    name: &str,
    d: &Dm,
    rng: &mut ChaCha8Rng,
    c: &Control,
) -> Result<Seriation, SeriationError> {
    let n = d.n;
    let mut budget = super::Budget::from_control(c, name, QAP_MAX_WORK)?;
    let mut polish_budget =
        super::Budget::from_key(c, name, "polish_work", super::polish::POLISH_MAX_WORK)?;
    let bar_b = match c.0.get("b") {
        Some(_) => Some(c.f64("b", 0.0)?.floor() as usize),
        None => None,
    };
    let (a, b) = qap_matrices(name, d, bar_b)?;
    let rep = c.usize("rep", DEFAULT_REP)?.max(1);
    let miter = c.usize("miter", 2 * n)?;
    let fiter = c.f64("fiter", 1.1)?;
    let ft = c.f64("ft", 0.5)?;
    if !(0.0..1.0).contains(&ft) {
        return Err(SeriationError::InvalidControl(
            "ft needs to be in (0, 1)".into(),
        ));
    }
    let maxsteps = c.usize("maxsteps", 50)?;
    // Round k runs ⌊miter·fiter^k⌋ transpositions; R's Fortran counts them in an integer,
    // so the last round must stay within R's largest integer (else the run has no end).
    let last = miter as f64 * fiter.max(1.0).powf(maxsteps as f64);
    if !(fiter.is_finite() && fiter > 0.0) || last > super::registry::MAX_COUNT as f64 {
        return Err(SeriationError::InvalidControl(format!(
            "fiter = {fiter} must be positive and keep miter·fiter^maxsteps = {last:e} \
             iterations per round within {}",
            super::registry::MAX_COUNT
        )));
    }
    let polish = super::polish::polish_control(c)?;
    let mut best = (f64::INFINITY, Vec::new());
    let mut stopped = false;
    for r in 0..rep {
        if r > 0 && budget.spent() {
            stopped = true;
            break;
        }
        let perm = random_permutation(n, rng);
        let (obj, ope, complete) = qaph4(
            n,
            &a,
            &b,
            Schedule {
                miter,
                fiter,
                ft,
                maxsteps,
            },
            perm,
            rng,
            &mut budget,
        );
        stopped |= !complete;
        if obj < best.0 || best.1.is_empty() {
            best = (obj, ope);
        }
    }
    if polish {
        // corrmc's finishing descent on the best repetition (see `polish`).
        let (_, complete) = super::polish::interchange_descent(
            n,
            &a,
            &b,
            &mut best.1,
            super::polish::MAX_PASSES,
            &mut polish_budget,
        );
        stopped |= !complete;
    }
    Ok(Seriation {
        order: best.1,
        exact: if stopped { Some(false) } else { None },
    })
}

/// The annealing schedule of [`qaph4`] (R qap's `miter`, `fiter`, `ft`, `maxsteps`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Schedule {
    pub miter: usize,
    pub fiter: f64,
    pub ft: f64,
    pub maxsteps: usize,
}

/// Burkard & Rendl's annealing for symmetric QAP, a port of `qaph4` (R package qap,
/// src/qapsim.f): pairwise transpositions at temperature t, t ← ft·t and
/// m ← ⌊fiter·m⌋ after each round, stop when a round leaves the objective unchanged
/// or after `maxsteps` rounds. Returns (best objective, best permutation, whether
/// the schedule completed). Each transposition tried adds n to `budget`; the run
/// stops (best so far) before a transposition when the budget is spent.
pub(crate) fn qaph4(
    n: usize,
    a: &[f64],
    b: &[f64],
    schedule: Schedule,
    mut perm: Vec<usize>,
    rng: &mut ChaCha8Rng,
    budget: &mut super::Budget,
) -> (f64, Vec<usize>, bool) {
    let Schedule {
        miter,
        fiter,
        ft,
        maxsteps,
    } = schedule;
    let (ia, ib): (f64, f64) = (a.iter().sum(), b.iter().sum());
    let t = ia / ((n * n - n) as f64) * ib;
    let mut ibest = t;
    let mut t1 = t;
    let mut m1 = miter;
    let mut ol = 0.0;
    for i in 0..n {
        for j in 0..n {
            ol += a[i * n + j] * b[perm[i] * n + perm[j]];
        }
    }
    let ol0 = ol;
    // qaph4 leaves `ope` unset when no state beats its initial bound; start from perm.
    let mut ope = perm.clone();
    let mut improved = false;
    let mut step = 0;
    let nf = n as f64;
    let mut complete = true;
    'rounds: loop {
        let mut min = ol;
        let mut max = f64::MIN;
        for _ in 0..m1 {
            if budget.spent() {
                complete = false;
                break 'rounds;
            }
            budget.add(nf);
            let draw =
                |rng: &mut ChaCha8Rng| ((unif(rng) * n as f64 + 0.5) as usize).clamp(1, n) - 1;
            let i1 = draw(rng);
            let i2 = draw(rng);
            if i1 != i2 {
                let (ibild, jbild) = (perm[i1], perm[i2]);
                let (ai1, ai2) = (&a[i1 * n..(i1 + 1) * n], &a[i2 * n..(i2 + 1) * n]);
                let (bi, bj) = (
                    &b[ibild * n..(ibild + 1) * n],
                    &b[jbild * n..(jbild + 1) * n],
                );
                let mut delta = 0.0;
                for j1 in 0..n {
                    if j1 == i1 || j1 == i2 {
                        continue;
                    }
                    let k = perm[j1];
                    delta -= (ai1[j1] - ai2[j1]) * (bi[k] - bj[k]);
                }
                delta = 2.0 * delta - (ai1[i1] - ai2[i2]) * (bi[ibild] - bj[jbild]);
                if delta > 0.0 {
                    let p = if delta / t1 > 10.0 {
                        0.0
                    } else {
                        (-delta / t1).exp()
                    };
                    if unif(rng) > p {
                        continue;
                    }
                }
                perm[i1] = jbild;
                perm[i2] = ibild;
                ol += delta;
            }
            if ol < min {
                min = ol;
            }
            if ol > max {
                max = ol;
            }
            if ibest >= ol {
                ibest = ol;
                ope.copy_from_slice(&perm);
                improved = true;
            }
        }
        t1 *= ft;
        m1 = (m1 as f64 * fiter) as usize;
        step += 1;
        if !(max > min && step < maxsteps) {
            break;
        }
    }
    let obj = if improved { ibest } else { ol0 };
    (obj, ope, complete)
}
