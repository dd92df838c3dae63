//! Interchange-and-insertion descent on a QAP objective, corrmc's finishing step for the
//! stochastic methods whose criterion has QAP form (`QAP_*`, `ARSA`, `SPIN_*`).
//!
//! R's annealers stop where their schedule ends, and SPIN's sorting iterations stop
//! at a fixed point of the sort, neither of which is a local optimum under
//! swapping two objects; issue 11 found corrmc's medians, which followed R's
//! algorithms exactly, behind R's on some inputs by RNG alone. A descent to a
//! swap-local optimum of the very objective the method minimizes can only lower
//! it, so the result is at least as good as the unpolished one for every seed
//! (control `polish = FALSE` gives R's algorithm as is). Objective (Hahsler 2017,
//! §3): f(π) = Σ_ij A_ij B_{π_i π_j}, A and B symmetric, π\[k\] = object at
//! position k.

/// f(π) = Σ_ij A_ij B_{π_i π_j}.
pub(crate) fn objective(n: usize, a: &[f64], b: &[f64], perm: &[usize]) -> f64 {
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| a[i * n + j] * b[perm[i] * n + perm[j]])
                .sum::<f64>()
        })
        .sum()
}

/// Δf of swapping the objects at positions `r` and `s` (A, B symmetric):
/// 2 Σ_{k≠r,s} (A_rk − A_sk)(B_{π_s π_k} − B_{π_r π_k}) + (A_rr − A_ss)(B_{π_s π_s} − B_{π_r π_r}).
#[inline]
fn swap_delta(n: usize, a: &[f64], b: &[f64], perm: &[usize], r: usize, s: usize) -> f64 {
    let (pr, ps) = (perm[r], perm[s]);
    let (ar, as_) = (&a[r * n..(r + 1) * n], &a[s * n..(s + 1) * n]);
    let (br, bs) = (&b[pr * n..(pr + 1) * n], &b[ps * n..(ps + 1) * n]);
    let mut delta = 0.0;
    for k in 0..n {
        if k != r && k != s {
            let pk = perm[k];
            delta += (ar[k] - as_[k]) * (bs[pk] - br[pk]);
        }
    }
    2.0 * delta + (ar[r] - as_[s]) * (bs[ps] - br[pr])
}

/// Descends to an order no single swap of two objects and no move of one object
/// to another position (insertion) improves by more than a relative 1e-12,
/// alternating a sweep over all swaps with a sweep over all insertions, at most
/// `max_passes` times each. An insertion is scanned as a chain of adjacent swaps,
/// so both sweeps cost O(n³). Returns the number of moves made and whether the
/// descent finished (false: stopped by the budget).
///
/// Budget: one Δ costs n work units (multiply-adds); the descent checks `budget`
/// before each object's row of swaps and each object's insertion scan (≤ n Δs each)
/// and stops when it is spent; the order stays a permutation, no worse than before.
/// A full pass costs about 2 n³ units (1.6·10¹⁰ at n = 2000).
pub(crate) fn interchange_descent(
    n: usize,
    a: &[f64],
    b: &[f64],
    perm: &mut [usize],
    max_passes: usize,
    budget: &mut super::Budget,
) -> (usize, bool) {
    let f0 = objective(n, a, b, perm);
    budget.add((n * n) as f64);
    let tol = 1e-12 * f0.abs().max(f64::MIN_POSITIVE);
    let mut moves = 0;
    let row = (n * n) as f64;
    for _ in 0..max_passes {
        let mut improved = false;
        for r in 0..n {
            if budget.spent() {
                return (moves, false);
            }
            budget.add(row);
            for s in (r + 1)..n {
                if swap_delta(n, a, b, perm, r, s) < -tol {
                    perm.swap(r, s);
                    moves += 1;
                    improved = true;
                }
            }
        }
        // Insertions: slide the object at r right, then left, through adjacent
        // swaps, keeping the best cumulative Δ; move it there if that improves.
        for r in 0..n {
            if budget.spent() {
                return (moves, false);
            }
            budget.add(row);
            let (mut best, mut best_at) = (-tol, r);
            let mut cum = 0.0;
            for k in r..n - 1 {
                cum += swap_delta(n, a, b, perm, k, k + 1);
                perm.swap(k, k + 1);
                if cum < best {
                    best = cum;
                    best_at = k + 1;
                }
            }
            perm[r..].rotate_right(1); // undo: the object is back at r
            let mut cum = 0.0;
            for k in (1..=r).rev() {
                cum += swap_delta(n, a, b, perm, k - 1, k);
                perm.swap(k - 1, k);
                if cum < best {
                    best = cum;
                    best_at = k - 1;
                }
            }
            perm[..=r].rotate_left(1); // undo
            if best_at != r {
                if best_at > r {
                    perm[r..=best_at].rotate_left(1);
                } else {
                    perm[best_at..=r].rotate_right(1);
                }
                moves += 1;
                improved = true;
            }
        }
        if !improved {
            break;
        }
    }
    (moves, true)
}

/// `(A + Aᵀ)/2`: the same objective for symmetric `B`, in the symmetric form the
/// descent needs.
pub(crate) fn symmetrized(n: usize, a: &[f64]) -> Vec<f64> {
    (0..n * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            0.5 * (a[i * n + j] + a[j * n + i])
        })
        .collect()
}

/// Passes of [`interchange_descent`] the methods allow (a safety cap; descents from
/// annealed or SPIN orders converge in a handful).
pub(crate) const MAX_PASSES: usize = 100;

/// Default budget of the polishing descent (control `polish_work`), in the units of
/// [`interchange_descent`]: 2·10⁹ multiply-adds.
pub const POLISH_MAX_WORK: f64 = 2e9;

/// The `polish` control: TRUE (default) or FALSE, as R writes logicals.
pub(crate) fn polish_control(c: &super::registry::Control) -> Result<bool, super::SeriationError> {
    polish_control_or(c, true)
}

/// The `polish` control with the given default.
pub(crate) fn polish_control_or(
    c: &super::registry::Control,
    default: bool,
) -> Result<bool, super::SeriationError> {
    match c.str("polish", if default { "TRUE" } else { "FALSE" }) {
        "TRUE" | "true" | "1" => Ok(true),
        "FALSE" | "false" | "0" => Ok(false),
        v => Err(super::SeriationError::InvalidControl(format!(
            "polish = '{v}' (valid: TRUE or FALSE)"
        ))),
    }
}

/// Polishes the order a stochastic method returned, on the objective that method
/// minimizes, unless its control says `polish = FALSE`:
/// `ARSA` the LS form (A = n − |i − j|, B = d); `SPIN_STS`
/// A = x xᵀ with x = 1..n − (n + 1)/2; `SPIN_NH` A = W for its last σ (energy
/// tr(D_ππ W)). Other methods pass through (`QAP_*` polish each repetition in
/// [`super::qap::qap_method`]).
///
/// The descent has its own budget, control `polish_work` (default
/// [`POLISH_MAX_WORK`]; 0 = unlimited), counted as in [`interchange_descent`]:
/// a pass costs ~2 n³, so the default never binds at n ≤ ~300 (descents converge in a
/// handful of passes) and stops the descent within ~10 s at n = 2000. Stopped by it,
/// the result says `exact = Some(false)`.
pub(crate) fn finish(
    name: &str,
    d: &super::Dm,
    c: &super::registry::Control,
    s: super::Seriation,
) -> Result<super::Seriation, super::SeriationError> {
    let mut budget = super::Budget::from_key(c, name, "polish_work", POLISH_MAX_WORK)?;
    if !polish_control(c)? || d.n < 3 {
        return Ok(s);
    }
    let n = d.n;
    let (a, b) = match name {
        "ARSA" => super::qap::qap_matrices("QAP_LS", d, None)?,
        "SPIN_STS" => {
            let x: Vec<f64> = (1..=n).map(|i| i as f64 - (n as f64 + 1.0) / 2.0).collect();
            (
                (0..n * n).map(|k| x[k / n] * x[k % n]).collect(),
                d.v.clone(),
            )
        }
        "SPIN_NH" => {
            let last = match c.0.get("sigma") {
                Some(v) => v
                    .split(|ch: char| ch == ',' || ch.is_whitespace())
                    .rfind(|t| !t.is_empty())
                    .and_then(|t| t.parse::<f64>().ok())
                    .ok_or_else(|| super::SeriationError::InvalidControl(format!("sigma '{v}'")))?,
                None => 1.0,
            };
            let w = super::spin::create_w_counted(n, last, &mut budget);
            (symmetrized(n, &w), d.v.clone())
        }
        _ => return Ok(s),
    };
    let mut order = s.order;
    let (_, complete) = interchange_descent(n, &a, &b, &mut order, MAX_PASSES, &mut budget);
    Ok(super::Seriation {
        order,
        exact: if complete { s.exact } else { Some(false) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn f(n: usize, a: &[f64], b: &[f64], p: &[usize]) -> f64 {
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| a[i * n + j] * b[p[i] * n + p[j]])
                    .sum::<f64>()
            })
            .sum()
    }

    #[test]
    fn descends_to_a_swap_local_optimum() {
        let n = 12;
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(3);
        let mut b = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..i {
                let v = crate::seriation::unif(&mut rng);
                b[i * n + j] = v;
                b[j * n + i] = v;
            }
        }
        let a: Vec<f64> = (0..n * n)
            .map(|k| ((k / n) as f64 - (k % n) as f64).powi(2))
            .collect();
        let mut p = crate::seriation::random_permutation(n, &mut rng);
        let before = f(n, &a, &b, &p);
        let mut budget = crate::seriation::Budget {
            used: 0.0,
            max: 0.0,
        };
        let (swaps, complete) = interchange_descent(n, &a, &b, &mut p, MAX_PASSES, &mut budget);
        assert!(complete);
        let after = f(n, &a, &b, &p);
        assert!(swaps > 0 && after < before, "{before} -> {after}");
        // No single swap or insertion improves any more, checked by brute force.
        for r in 0..n {
            for s in 0..n {
                let mut q = p.clone();
                q.swap(r, s);
                assert!(f(n, &a, &b, &q) >= after - 1e-9 * after.abs());
                let mut q = p.clone();
                let x = q.remove(r);
                q.insert(s, x);
                assert!(
                    f(n, &a, &b, &q) >= after - 1e-9 * after.abs(),
                    "insert {r} -> {s}"
                );
            }
        }
        let mut sorted = p.clone();
        sorted.sort();
        assert_eq!(sorted, (0..n).collect::<Vec<_>>());
    }

    #[test]
    fn gradient_raw_insert_delta_matches_recomputation() {
        use crate::seriation::{Dm, arsa, criteria};
        let n = 11;
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(5);
        let mut v = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..i {
                let x = crate::seriation::unif(&mut rng);
                v[i * n + j] = x;
                v[j * n + i] = x;
            }
        }
        let d = Dm { n, v };
        let o = crate::seriation::random_permutation(n, &mut rng);
        let g0 = criteria::eval("Gradient_raw", &d, &o).unwrap();
        for p1 in 0..n {
            for p2 in 0..n {
                if p1 == p2 {
                    continue;
                }
                let mut q = o.clone();
                let x = q.remove(p1);
                q.insert(p2, x);
                let g1 = criteria::eval("Gradient_raw", &d, &q).unwrap();
                let fast = arsa::gradient_raw_insert_delta(&d, &o, p1, p2);
                assert_eq!(fast, g1 - g0, "move {p1} -> {p2}");
            }
        }
    }
}
