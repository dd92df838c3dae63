//! `SPIN_NH` and `SPIN_STS`: Sorting Points Into Neighborhoods (Tsafrir et al. 2005,
//! Bioinformatics 21(10)), as R seriation's `seriate_dist_SPIN` and
//! `seriate_dist_SPIN_STS`. Both run a fixed number of iterations (R's defaults:
//! 10 σ values × 5 steps; 10 starts × 25 steps), but each step costs O(n²)
//! (`SPIN_STS`) or O(n³) (`SPIN_NH`: a product D W, and W's Sinkhorn balancing), and
//! the polishing descent O(n³) per pass, so at n = 2000 they take minutes: both
//! take a work budget `max_work` (corrmc, not R; see [`super::Budget`]), by default
//! large enough never to bind at the fixtures' sizes (n ≤ 100, where the full runs
//! cost ~10⁸ units).

use super::{Dm, Seriation, SeriationError, random_permutation, registry::Control};
use rand::rngs::ChaCha8Rng;

/// R's `create_W`: Gaussian band W_ij = exp(−(i−j)²/(nσ)) made doubly stochastic by
/// Sinkhorn balancing (Tsafrir et al. 2005, §2.3), at most 1000 sweeps, stopping
/// when all row and column sums round to 1 at 5 decimals.
pub fn create_w(n: usize, sigma: f64) -> Vec<f64> {
    create_w_counted(
        n,
        sigma,
        &mut super::Budget {
            used: 0.0,
            max: 0.0,
        },
    )
}

/// [`create_w`], adding its work to `budget` (5 n² per Sinkhorn sweep; it never stops
/// early: a W that is not doubly stochastic would change the method).
pub(crate) fn create_w_counted(n: usize, sigma: f64, budget: &mut super::Budget) -> Vec<f64> {
    let mut w: Vec<f64> = (0..n * n)
        .map(|k| {
            let (i, j) = ((k / n) as f64, (k % n) as f64);
            (-(i - j) * (i - j) / n as f64 / sigma).exp()
        })
        .collect();
    let round5 = |x: f64| (x * 1e5).round() / 1e5;
    for _ in 0..1000 {
        budget.add(5.0 * (n * n) as f64);
        for i in 0..n {
            let s: f64 = w[i * n..(i + 1) * n].iter().sum();
            w[i * n..(i + 1) * n].iter_mut().for_each(|x| *x /= s);
        }
        let mut cs = vec![0.0; n];
        for i in 0..n {
            for j in 0..n {
                cs[j] += w[i * n + j];
            }
        }
        for i in 0..n {
            for j in 0..n {
                w[i * n + j] /= cs[j];
            }
        }
        let rows_ok = (0..n).all(|i| round5(w[i * n..(i + 1) * n].iter().sum()) == 1.0);
        let cols_ok = (0..n).all(|j| round5((0..n).map(|i| w[i * n + j]).sum()) == 1.0);
        if rows_ok && cols_ok {
            break;
        }
    }
    w
}

fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let av = ndarray::ArrayView2::from_shape((n, n), a).expect("square");
    let bv = ndarray::ArrayView2::from_shape((n, n), b).expect("square");
    crate::linalg::a_b(av, bv).into_raw_vec_and_offset().0
}

/// Sorts `key` ascending (or descending), ties broken by a random permutation, as
/// R's `order(key, sample(1:n))`.
fn order_random_ties(key: &[f64], rng: &mut ChaCha8Rng, decreasing: bool) -> Vec<usize> {
    let n = key.len();
    let tie = random_permutation(n, rng);
    let mut o: Vec<usize> = (0..n).collect();
    o.sort_by(|&a, &b| {
        let c = key[a]
            .partial_cmp(&key[b])
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(tie[a].cmp(&tie[b]));
        if decreasing { c.reverse() } else { c }
    });
    o
}

/// SPIN energy tr(D_oo W) = Σ_ij d(o_i, o_j) W_ji of order `o` for weights `w`.
pub fn spin_energy(d: &Dm, o: &[usize], w: &[f64]) -> f64 {
    let n = d.n;
    let mut e = 0.0;
    for i in 0..n {
        let ri = d.row(o[i]);
        for j in 0..n {
            e += ri[o[j]] * w[j * n + i];
        }
    }
    e
}

/// `SPIN_NH` (neighborhood algorithm): with M = D W, assign each object the column
/// where its row of M is smallest, sort by it (random tie-break), keep the best
/// energy tr(P M); σ decreases over `sigma` (R default seq(20, 1, length = 10)),
/// `step` iterations per σ.
///
/// Budget (corrmc): `max_work` (default [`SPIN_NH_MAX_WORK`]) counts multiply-adds:
/// n³ per product D W, 5 n² per Sinkhorn sweep of W, n² per permutation of W. The
/// budget is checked before each iteration after the first; when spent, the best
/// order so far is returned with `exact = Some(false)`. The full R schedule costs
/// ~10⁸ at n = 100 and ~4·10¹¹ at n = 2000 (50 products of 8·10⁹).
pub fn spin_nh(d: &Dm, rng: &mut ChaCha8Rng, c: &Control) -> Result<Seriation, SeriationError> {
    let n = d.n;
    let mut budget = super::Budget::from_control(c, "SPIN_NH", SPIN_NH_MAX_WORK)?;
    let mut stopped = false;
    let step = c.usize("step", 5)?.max(1);
    let sigma: Vec<f64> = match c.0.get("sigma") {
        Some(s) => s
            .split(|ch: char| ch == ',' || ch.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<f64>()
                    .map_err(|_| SeriationError::InvalidControl(format!("sigma '{s}'")))
            })
            .collect::<Result<_, _>>()?,
        None => (0..10).map(|k| 20.0 - k as f64 * 19.0 / 9.0).collect(),
    };
    if sigma.is_empty() {
        return Err(SeriationError::InvalidControl("sigma is empty".into()));
    }
    let mut w_orig = create_w_counted(n, sigma[0], &mut budget);
    let mut w = w_orig.clone();
    let mut energy_best = f64::INFINITY;
    let mut p_best: Vec<usize> = (0..n).collect();
    let total = sigma.len() * step;
    // W ← Pᵀ W_orig: row o[i] of W is row i of W_orig.
    let permute_rows = |p: &[usize], w_orig: &[f64]| {
        let mut w = vec![0.0; n * n];
        for i in 0..n {
            w[p[i] * n..(p[i] + 1) * n].copy_from_slice(&w_orig[i * n..(i + 1) * n]);
        }
        w
    };
    let cube = (n as f64).powi(3);
    let square = (n * n) as f64;
    for i in 1..=total {
        if i > 1 && budget.spent() {
            stopped = true;
            break;
        }
        budget.add(cube + square);
        let m = matmul(&d.v, &w, n);
        let arg: Vec<f64> = (0..n)
            .map(|r| {
                let row = &m[r * n..(r + 1) * n];
                let mut best = 0;
                for (k, &v) in row.iter().enumerate() {
                    if v < row[best] {
                        best = k;
                    }
                }
                best as f64
            })
            .collect();
        let p = order_random_ties(&arg, rng, false);
        let energy_new: f64 = (0..n).map(|k| m[p[k] * n + k]).sum();
        if energy_new < energy_best {
            energy_best = energy_new;
            p_best.copy_from_slice(&p);
        }
        if i % step == 0 && i != total {
            w_orig = create_w_counted(n, sigma[i / step], &mut budget);
            w = permute_rows(&p, &w_orig);
            budget.add(cube);
            let m = matmul(&d.v, &w, n);
            energy_best = (0..n).map(|k| m[p[k] * n + k]).sum();
        } else {
            w = permute_rows(&p, &w_orig);
        }
    }
    Ok(Seriation {
        order: p_best,
        exact: if stopped { Some(false) } else { None },
    })
}

/// Default `max_work` of `SPIN_NH`: 2·10¹⁰ multiply-adds (about two iterations at
/// n = 2000; never binds at n ≤ 500, where the schedule costs ≤ 7·10⁹).
pub const SPIN_NH_MAX_WORK: f64 = 2e10;

/// Default `max_work` of `SPIN_STS`: 2·10⁹ (the schedule costs 510 n²: binds above
/// n ≈ 1980).
pub const SPIN_STS_MAX_WORK: f64 = 2e9;

/// SPIN_STS energy Σ_ij d(o_i, o_j) x_i x_j with x = 1..n − (n+1)/2.
pub fn sts_energy(d: &Dm, o: &[usize]) -> f64 {
    let n = d.n;
    let x: Vec<f64> = (1..=n).map(|i| i as f64 - (n as f64 + 1.0) / 2.0).collect();
    let mut e = 0.0;
    for i in 0..n {
        let ri = d.row(o[i]);
        let mut s = 0.0;
        for j in 0..n {
            s += ri[o[j]] * x[j];
        }
        e += s * x[i];
    }
    e
}

/// `SPIN_STS` (side-to-side): score S = D x for the current position weights x,
/// sort by S decreasing (random tie-break), keep the lowest energy; `nstart` random
/// starts of `step` iterations.
///
/// Budget (corrmc): `max_work` (default [`SPIN_STS_MAX_WORK`]) counts distance
/// lookups: n² per score S = D x and n² per energy. Checked before each iteration
/// (each start's random order is always evaluated, so the first start always
/// contributes); when spent, the best order so far with `exact = Some(false)`.
pub fn spin_sts(d: &Dm, rng: &mut ChaCha8Rng, c: &Control) -> Result<Seriation, SeriationError> {
    let n = d.n;
    let mut budget = super::Budget::from_control(c, "SPIN_STS", SPIN_STS_MAX_WORK)?;
    let square = (n * n) as f64;
    let mut stopped = false;
    let step = c.usize("step", 25)?;
    let nstart = c.usize("nstart", 10)?.max(1);
    let x: Vec<f64> = (1..=n).map(|i| i as f64 - (n as f64 + 1.0) / 2.0).collect();
    let mut best: Option<(f64, Vec<usize>)> = None;
    for _ in 0..nstart {
        if best.is_some() && budget.spent() {
            stopped = true;
            break;
        }
        let mut o = random_permutation(n, rng);
        let mut o_best = o.clone();
        let mut xc: Vec<f64> = o.iter().map(|&k| x[k]).collect();
        budget.add(square);
        let mut e_best = sts_energy(d, &o);
        for _ in 0..step {
            if budget.spent() {
                stopped = true;
                break;
            }
            budget.add(2.0 * square);
            let s: Vec<f64> = (0..n)
                .map(|r| d.row(r).iter().zip(&xc).map(|(a, b)| a * b).sum())
                .collect();
            o = order_random_ties(&s, rng, true);
            xc = o.iter().map(|&k| x[k]).collect();
            let e = sts_energy(d, &o);
            if e < e_best {
                e_best = e;
                o_best.copy_from_slice(&o);
            }
        }
        if best.as_ref().is_none_or(|b| e_best < b.0) {
            best = Some((e_best, o_best));
        }
        if stopped {
            break;
        }
    }
    Ok(Seriation {
        order: best.expect("nstart >= 1").1,
        exact: if stopped { Some(false) } else { None },
    })
}
