//! `TSP`: shortest Hamiltonian path via a travelling-salesperson tour through the
//! objects plus one dummy city at distance 0 from all, cut at the dummy (R
//! seriation's `seriate_dist_tsp` with TSP's defaults: arbitrary insertion
//! (Rosenkrantz, Stearns & Lewis 1977) refined by 2-opt (first improvement), best of `rep` = 10 starts).
//!
//! Budget (corrmc, not R; [`super::Budget`]): `max_work` (default [`TSP_MAX_WORK`])
//! counts distance lookups: 3 per insertion position tried (m²/2 positions per
//! insertion tour of m = n + 1 cities) and 4 per pair a 2-opt sweep examines (m²/2
//! per sweep). 2-opt sweeps repeat until none improves, O(n) sweeps of O(n²), so a
//! start costs O(n³) at worst. The budget is checked before each start after the
//! first and before each row of a 2-opt sweep; when spent, the shortest tour so far
//! (each tour stays a valid tour) is cut as usual and `exact = Some(false)`.

/// Default `max_work` of `TSP`: 2·10⁹ distance lookups (never binds at the
/// fixtures' n ≤ 100, where ten starts cost ~10⁶–10⁷).
pub const TSP_MAX_WORK: f64 = 2e9;

use super::{Dm, Seriation, SeriationError, registry::Control};
use rand::RngExt;
use rand::rngs::ChaCha8Rng;

pub fn tsp(d: &Dm, rng: &mut ChaCha8Rng, c: &Control) -> Result<Seriation, SeriationError> {
    let method = c.str("method", "arbitrary insertion");
    if method != "arbitrary insertion" {
        return Err(SeriationError::InvalidControl(format!(
            "TSP method '{method}': corrmc implements 'arbitrary insertion' (+ two_opt)"
        )));
    }
    let rep = c.usize("rep", 10)?.max(1);
    let mut budget = super::Budget::from_control(c, "TSP", TSP_MAX_WORK)?;
    let mut stopped = false;
    let two_opt_on = !matches!(c.str("two_opt", "TRUE"), "FALSE" | "false" | "0");
    let n = d.n;
    let m = n + 1; // city n is the dummy
    // Flat (n+1)² table: the dummy row/column is zero.
    let mut tab = vec![0.0f64; m * m];
    for i in 0..n {
        tab[i * m..i * m + n].copy_from_slice(d.row(i));
    }
    let dist = |i: usize, j: usize| tab[i * m + j];
    let mut best: Option<(f64, Vec<usize>)> = None;
    for r in 0..rep {
        if r > 0 && budget.spent() {
            stopped = true;
            break;
        }
        budget.add(1.5 * (m * m) as f64);
        let mut tour = arbitrary_insertion(m, &dist, rng);
        if two_opt_on && !two_opt(&mut tour, &dist, &mut budget) {
            stopped = true;
        }
        let len: f64 = (0..m).map(|k| dist(tour[k], tour[(k + 1) % m])).sum();
        if best.as_ref().is_none_or(|b| len < b.0) {
            best = Some((len, tour));
        }
    }
    let tour = best.expect("rep >= 1").1;
    let cut = tour.iter().position(|&c| c == n).expect("dummy in tour");
    let order: Vec<usize> = (1..m).map(|k| tour[(cut + k) % m]).collect();
    Ok(Seriation {
        order,
        exact: if stopped { Some(false) } else { None },
    })
}

/// Arbitrary insertion: random start city, then each remaining city in random order
/// is inserted where it lengthens the tour least.
fn arbitrary_insertion(
    m: usize,
    dist: &impl Fn(usize, usize) -> f64,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let mut rest: Vec<usize> = (0..m).collect();
    let first = rest.swap_remove(rng.random_range(0..m));
    let mut tour = vec![first];
    while !rest.is_empty() {
        let k = rest.swap_remove(rng.random_range(0..rest.len()));
        let t = tour.len();
        let mut best = (f64::INFINITY, 0);
        for p in 0..t {
            let (i, j) = (tour[p], tour[(p + 1) % t]);
            let cost = dist(i, k) + dist(k, j) - if t > 1 { dist(i, j) } else { 0.0 };
            if cost < best.0 {
                best = (cost, p + 1);
            }
        }
        tour.insert(best.1, k);
    }
    tour
}

/// 2-opt with first-improvement sweeps until no reversal shortens the tour, or
/// until `budget` is spent (checked before each row; returns false then).
fn two_opt(
    tour: &mut [usize],
    dist: &impl Fn(usize, usize) -> f64,
    budget: &mut super::Budget,
) -> bool {
    let m = tour.len();
    if m < 4 {
        return true;
    }
    let mut improved = true;
    while improved {
        improved = false;
        for i in 0..m - 1 {
            if budget.spent() {
                return false;
            }
            budget.add(4.0 * (m - i) as f64);
            for j in (i + 2)..m {
                let (a, b) = (tour[i], tour[i + 1]);
                let (c, d) = (tour[j], tour[(j + 1) % m]);
                if d == a {
                    continue;
                }
                if dist(a, c) + dist(b, d) < dist(a, b) + dist(c, d) - 1e-12 {
                    tour[i + 1..=j].reverse();
                    improved = true;
                }
            }
        }
    }
    true
}
