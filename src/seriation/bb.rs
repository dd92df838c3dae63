//! `BBURCG`, `BBWRCG`: branch-and-bound maximisation of the unweighted / weighted
//! row-and-column gradient index (Brusco & Stahl 2005, "Branch-and-Bound
//! Applications in Combinatorial Data Analysis", ch. 8; Brusco 2002), a port of
//! seriation's `bburcg.f` / `bbwrcg.f`.
//!
//! Phase 1: 20 random starts improved by pairwise interchange give an initial
//! bound. Phase 2: depth-first branch-and-bound over prefixes with R's insertion,
//! interchange and bound tests and its symmetry fathom (object 2 only after object 1).
//!
//! Phase 1 always completes and is not counted against the budget. Interchange
//! moves are evaluated incrementally: the weighted objective is pairwise,
//! sum_{p<r} a(q_p, q_r) (3 (r - p) - n - 1), so a swap costs O(n); the unweighted
//! one uses R's delta with the anchors left of the first position pre-summed (no
//! O(n) formula is known; one pass is O(n^4) small-integer lookups). corrmc (not R)
//! also improves the OLO order of an average-linkage tree and keeps it if strictly
//! better than every start (control `olo_seed`, default 1; 0 = R's phase 1). This
//! only matters under a budget: phase 2 returns the first optimum in depth-first
//! order whatever the incumbent, so exact runs return R's order (when unique).
//! Controls `starts` (default 20, R) and `max_passes` (0 = until no swap improves,
//! R) make phase 1 cheaper.
//!
//! Budget: phase 2 is exponential (R needs > 60 s at n = 30), so corrmc counts its
//! work units — lookups of the precomputed triple table — and stops after
//! `max_nodes` of them (default 4·10⁸, about a second). The result is then the best
//! order found (never worse than the phase-1 incumbent) and `exact = Some(false)`;
//! `exact = Some(true)` means phase 2 finished and the order is optimal. The count
//! is deterministic, so results are reproducible. [`bb_report`] also returns the
//! incumbent, its criterion and the work spent.
//!
//! Memory: phase 2 precomputes two n³ tables (16·n³ bytes), so corrmc refuses
//! n > [`BB_MAX_N`] (250: 250 MB; n = 2000 would need 128 GB) with an error naming
//! the limit, before allocating anything.
//!
//! Study budget (Monte Carlo, many calls): `starts = 0, max_passes = 2,
//! max_nodes = 1e5` — about 10 ms per call at n = 50 (BBURCG and BBWRCG), 20 ms
//! (BBWRCG) / 100 ms (BBURCG) at n = 100; phase 2 rarely improves the incumbent at
//! n >= 50, so a larger `max_nodes` buys little. R's default phase 1 (20 starts)
//! costs ~150 ms (BBURCG) / ~15 ms (BBWRCG) at n = 50, ~5 s / ~250 ms at n = 100.

use super::{Dm, Seriation, SeriationError, registry::Control, unif};
use crate::cluster::{Linkage, hclust, olo};
use rand::rngs::ChaCha8Rng;

/// Largest n branch and bound accepts: its two n³ tables take 16·n³ bytes
/// (250 MB at n = 250).
pub const BB_MAX_N: usize = 250;

/// Full result of one branch-and-bound run.
#[derive(Clone, Debug, PartialEq)]
pub struct BbReport {
    /// The returned order (0-based), as in [`Seriation::order`].
    pub order: Vec<usize>,
    /// `true` only when phase 2 finished, i.e. `order` is optimal.
    pub exact: bool,
    /// Phase-1 incumbent (0-based): best interchange-improved start.
    pub incumbent: Vec<usize>,
    /// Gradient criterion of the incumbent (the triple-table objective, which is
    /// R's `Gradient_raw` / `Gradient_weighted`).
    pub incumbent_value: f64,
    /// Whether the incumbent came from the OLO seed rather than a random start.
    pub incumbent_from_olo: bool,
    /// Gradient criterion of `order`.
    pub value: f64,
    /// Phase-2 work units spent (triple-table lookups).
    pub nodes: u64,
}

struct Work {
    used: u64,
    max: u64,
}
impl Work {
    #[inline]
    fn spend(&mut self, k: u64) -> bool {
        self.used += k;
        self.max != 0 && self.used > self.max
    }
}

pub fn bb(
    d: &Dm,
    rng: &mut ChaCha8Rng,
    c: &Control,
    weighted: bool,
) -> Result<Seriation, SeriationError> {
    let r = bb_report(d, rng, c, weighted)?;
    Ok(Seriation {
        order: r.order,
        exact: Some(r.exact),
    })
}

/// As [`bb`], with the phase-1 incumbent and the work spent.
pub fn bb_report(
    d: &Dm,
    rng: &mut ChaCha8Rng,
    c: &Control,
    weighted: bool,
) -> Result<BbReport, SeriationError> {
    let n = d.n;
    if n > BB_MAX_N {
        return Err(SeriationError::Failed(format!(
            "branch and bound needs 16·n³ bytes for its tables ({:.1} GB at n = {n}); \
             refused above n = {BB_MAX_N} (use another seriation method)",
            16.0 * (n as f64).powi(3) / 1e9
        )));
    }
    let eps = c.f64("eps", 1e-7)?;
    let max = c.f64("max_nodes", 4e8)?;
    if max < 0.0 {
        return Err(SeriationError::InvalidControl(
            "max_nodes must be >= 0 (0 = unlimited)".into(),
        ));
    }
    let mut work = Work {
        used: 0,
        max: max as u64,
    };
    // 1-based arrays as in the Fortran code; a(i, j) with zero diagonal.
    let a = |i: usize, j: usize| if i == j { 0.0 } else { d.at(i - 1, j - 1) };
    let ix = |i: usize, j: usize, k: usize| ((i - 1) * n + (j - 1)) * n + (k - 1);
    let mut dt = vec![0.0f64; n * n * n];
    for i in 1..=n {
        for j in 1..=n {
            if i == j {
                continue;
            }
            for k in 1..=n {
                if k == i || k == j {
                    continue;
                }
                let v = if weighted {
                    2.0 * a(i, k) - a(i, j) - a(j, k)
                } else {
                    let mut v = 0.0;
                    if a(i, k) > a(i, j) + eps {
                        v = 1.0;
                    }
                    if a(i, k) < a(i, j) - eps {
                        v = -1.0;
                    }
                    if a(i, k) > a(j, k) + eps {
                        v += 1.0;
                    }
                    if a(i, k) < a(j, k) - eps {
                        v -= 1.0;
                    }
                    v
                };
                dt[ix(i, j, k)] = v;
            }
        }
    }
    let dd = |i: usize, j: usize, k: usize| dt[ix(i, j, k)];
    let mut ddmax = vec![0.0f64; n * n * n];
    for i in 1..=n {
        for j in 1..=n {
            if i == j {
                continue;
            }
            for k in 1..=n {
                if k == i || k == j {
                    continue;
                }
                ddmax[ix(i, j, k)] = dd(i, j, k).max(dd(i, k, j)).max(dd(j, i, k));
            }
        }
    }
    let objective = |q: &[usize]| {
        let mut z = 0.0;
        for i in 1..=n.saturating_sub(2) {
            for j in (i + 1)..n {
                for k in (j + 1)..=n {
                    z += dd(q[i], q[j], q[k]);
                }
            }
        }
        z
    };

    // Phase 1 (not counted against `max_nodes`): R's 20 random starts, each improved
    // by pairwise interchange; corrmc adds the OLO order of an average-linkage tree.
    let p1 = phase1(d, rng, c, weighted, &dt)?;
    let zbest = p1.value;
    let heur: Vec<usize> = std::iter::once(0)
        .chain(p1.order.iter().map(|&v| v + 1))
        .collect();

    // Phase 2: branch and bound.
    let mut z = zbest - 1.0;
    let mut x: Option<Vec<usize>> = None;
    let mut q = vec![0usize; n + 1];
    let mut s = vec![0u8; n + 1];
    let mut m = 1usize;
    q[1] = 1;
    s[1] = 1;
    let mut trig = true;
    enum L {
        One,
        Two,
        Seven,
    }
    let mut state = L::One;
    let mut finished = true;
    'bb: loop {
        match state {
            L::One => {
                m += 1;
                state = L::Two;
            }
            L::Seven => {
                if q[m] == 1 {
                    trig = false;
                }
                if q[m] <= n {
                    s[q[m]] = 0;
                }
                q[m] = 0;
                m -= 1;
                if q[m] == 1 {
                    trig = false;
                }
                s[q[m]] = 0;
                state = L::Two;
            }
            L::Two => {
                q[m] += 1;
                if q[m] <= n && s[q[m]] == 1 {
                    continue;
                }
                if m == 1 && q[m] > n {
                    break 'bb;
                }
                if m > 1 && q[m] > n {
                    state = L::Seven;
                    continue;
                }
                if !trig && q[m] == 2 {
                    continue;
                }
                s[q[m]] = 1;
                if m == 1 {
                    state = L::One;
                    continue;
                }
                if work.spend((m * n) as u64) {
                    finished = false;
                    break 'bb;
                }
                if m == n - 1 {
                    let last = (1..=n)
                        .find(|&i| !q[1..n].contains(&i))
                        .expect("one object left");
                    q[n] = last;
                    let zbd = objective(&q);
                    if zbd > z {
                        z = zbd;
                        x = Some(q.clone());
                    }
                    q[n] = 0;
                    s[q[m]] = 0;
                    continue;
                }
                // Insertion test
                let r3 = q[m];
                let mut pruned = false;
                for mm in (1..m).rev() {
                    let (mut idx1, mut idx2) = (0.0, 0.0);
                    for i in 1..mm {
                        let r1 = q[i];
                        for j in mm..m {
                            let r4 = q[j];
                            idx1 += dd(r1, r4, r3);
                            idx2 += dd(r1, r3, r4);
                        }
                    }
                    for r5 in 1..=n {
                        if s[r5] == 1 {
                            continue;
                        }
                        for j in mm..m {
                            let r4 = q[j];
                            idx1 += dd(r4, r3, r5);
                            idx2 += dd(r3, r4, r5);
                        }
                    }
                    for j in mm..m.saturating_sub(1) {
                        for jj in (j + 1)..m {
                            let (r4a, r4b) = (q[j], q[jj]);
                            idx1 += dd(r4a, r4b, r3);
                            idx2 += dd(r3, r4a, r4b);
                        }
                    }
                    if work.spend(((m - mm) * n + (m - mm) * (m - mm) / 2) as u64) {
                        finished = false;
                        break 'bb;
                    }
                    if idx1 < idx2 {
                        pruned = true;
                        break;
                    }
                }
                if pruned {
                    s[q[m]] = 0;
                    continue;
                }
                // Interchange test
                for mm in (1..m.saturating_sub(1)).rev() {
                    let r2 = q[mm];
                    let (mut idx1, mut idx2) = (0.0, 0.0);
                    for j in (mm + 1)..m {
                        let r4 = q[j];
                        idx1 += dd(r2, r4, r3);
                        idx2 += dd(r3, r4, r2);
                    }
                    for i in 1..mm {
                        let r1 = q[i];
                        idx1 += dd(r1, r2, r3);
                        idx2 += dd(r1, r3, r2);
                        for j in (mm + 1)..m {
                            let r4 = q[j];
                            idx1 += dd(r1, r2, r4);
                            idx2 += dd(r1, r3, r4);
                            idx1 += dd(r1, r4, r3);
                            idx2 += dd(r1, r4, r2);
                        }
                    }
                    for r5 in 1..=n {
                        if s[r5] == 1 {
                            continue;
                        }
                        idx1 += dd(r2, r3, r5);
                        idx2 += dd(r3, r2, r5);
                        for j in (mm + 1)..m {
                            let r4 = q[j];
                            idx1 += dd(r2, r4, r5);
                            idx2 += dd(r3, r4, r5);
                            idx1 += dd(r4, r3, r5);
                            idx2 += dd(r4, r2, r5);
                        }
                    }
                    for j in (mm + 1)..m.saturating_sub(1) {
                        for jj in (j + 1)..m {
                            let (r4a, r4b) = (q[j], q[jj]);
                            idx1 += dd(r4a, r4b, r3);
                            idx2 += dd(r4a, r4b, r2);
                            idx1 += dd(r2, r4a, r4b);
                            idx2 += dd(r3, r4a, r4b);
                        }
                    }
                    if work.spend(((m - mm) * n * 2 + (m - mm) * mm * 2) as u64) {
                        finished = false;
                        break 'bb;
                    }
                    if idx1 < idx2 {
                        pruned = true;
                        break;
                    }
                }
                if pruned {
                    s[q[m]] = 0;
                    continue;
                }
                // Bound
                let mut z1 = 0.0;
                for i in 1..m.saturating_sub(1) {
                    for j in (i + 1)..m {
                        for k in (j + 1)..=m {
                            z1 += dd(q[i], q[j], q[k]);
                        }
                    }
                }
                let mut z2 = 0.0;
                for i in 1..m {
                    for j in (i + 1)..=m {
                        for r3 in 1..=n {
                            if s[r3] == 0 {
                                z2 += dd(q[i], q[j], r3);
                            }
                        }
                    }
                }
                let mut z3 = 0.0;
                for i in 1..n {
                    if s[i] == 1 {
                        continue;
                    }
                    for j in (i + 1)..=n {
                        if s[j] == 1 {
                            continue;
                        }
                        let (mut za, mut zb) = (0.0, 0.0);
                        for k in 1..=m {
                            za += dd(q[k], i, j);
                            zb += dd(q[k], j, i);
                        }
                        z3 += za.max(zb);
                    }
                }
                let mut n4 = 0.0;
                for i in 1..n.saturating_sub(1) {
                    if s[i] == 1 {
                        continue;
                    }
                    for j in (i + 1)..n {
                        if s[j] == 1 {
                            continue;
                        }
                        for k in (j + 1)..=n {
                            if s[k] == 0 {
                                n4 += ddmax[ix(i, j, k)];
                            }
                        }
                    }
                }
                if work
                    .spend((m * m * m / 6 + m * m * n / 2 + n * n * m / 2 + n * n * n / 6) as u64)
                {
                    finished = false;
                    break 'bb;
                }
                if z1 + z2 + z3 + n4 <= z {
                    s[q[m]] = 0;
                    continue;
                }
                if q[m] == 1 {
                    trig = true;
                }
                state = L::One;
            }
        }
    }
    // Under a budget the search may stop with an order below the phase-1 one.
    let best = match x {
        Some(x) if finished || objective(&x) >= objective(&heur) => x,
        _ => heur,
    };
    Ok(BbReport {
        order: best[1..].iter().map(|&v| v - 1).collect(),
        exact: finished,
        value: objective(&best),
        incumbent: p1.order,
        incumbent_value: p1.value,
        incumbent_from_olo: p1.from_olo,
        nodes: work.used,
    })
}

/// Phase-1 incumbent.
struct Phase1 {
    order: Vec<usize>,
    value: f64,
    from_olo: bool,
}

fn phase1(
    d: &Dm,
    rng: &mut ChaCha8Rng,
    c: &Control,
    weighted: bool,
    dt: &[f64],
) -> Result<Phase1, SeriationError> {
    let n = d.n;
    let starts = c.usize("starts", 20)?;
    let seed = c.usize("olo_seed", 1)?;
    let passes = match c.usize("max_passes", 0)? {
        0 => usize::MAX,
        k => k,
    };
    if seed > 1 {
        return Err(SeriationError::InvalidControl(
            "olo_seed must be 0 or 1".into(),
        ));
    }
    if starts == 0 && seed == 0 {
        return Err(SeriationError::InvalidControl(
            "starts = 0 needs olo_seed = 1 (phase 1 needs an order)".into(),
        ));
    }
    let dd8: Vec<i8> = if weighted {
        Vec::new()
    } else {
        dt.iter().map(|&v| v as i8).collect()
    };
    let improve = |q: &mut [usize]| {
        if weighted {
            improve_weighted(&d.v, n, q, passes);
        } else {
            improve_unweighted(&dd8, n, q, passes);
        }
        triple_objective(dt, n, q)
    };
    let mut best: Option<Phase1> = None;
    for _ in 0..starts {
        // R's draw: q(nnsel) = a uniformly chosen unselected object, from the end.
        let mut unsel: Vec<usize> = (0..=n).collect();
        let mut q = vec![0usize; n];
        let mut nnsel = n;
        while nnsel > 0 {
            let isel = ((1.0 + unif(rng) * nnsel as f64) as usize).min(nnsel);
            q[nnsel - 1] = unsel[isel] - 1;
            unsel.remove(isel);
            nnsel -= 1;
        }
        let z = improve(&mut q);
        if best.as_ref().is_none_or(|b| z > b.value) {
            best = Some(Phase1 {
                order: q,
                value: z,
                from_olo: false,
            });
        }
    }
    if seed == 1 {
        let a = d.to_array();
        let mut q = olo(&hclust(a.view(), Linkage::Average), a.view());
        let z = improve(&mut q);
        if best.as_ref().is_none_or(|b| z > b.value) {
            best = Some(Phase1 {
                order: q,
                value: z,
                from_olo: true,
            });
        }
    }
    Ok(best.expect("at least one start"))
}

/// Sum over position triples i < j < k of the triple table (0-based objects).
fn triple_objective(dt: &[f64], n: usize, q: &[usize]) -> f64 {
    let mut z = 0.0;
    for i in 0..n {
        for j in (i + 1)..n {
            let row = &dt[(q[i] * n + q[j]) * n..][..n];
            for &k in &q[(j + 1)..] {
                z += row[k];
            }
        }
    }
    z
}

/// R's pairwise interchange (first improvement, passes until none improves) for
/// the unweighted gradient, with R's delta formula except that the anchors left
/// of `ii` are summed once per `ii` into `p[a][b] = sum_{i<ii} dd(q_i, a, b)`.
/// `dd` is the triple table as integers (values in -2..=2).
fn improve_unweighted(dd: &[i8], n: usize, q: &mut [usize], passes: usize) {
    let mut p = vec![0i32; n * n];
    for _ in 0..passes {
        let mut itrig = false;
        p.fill(0);
        for ii in 0..n.saturating_sub(1) {
            for jj in (ii + 1)..n {
                if swap_delta_unweighted(dd, &p, n, q, ii, jj) > 0 {
                    q.swap(ii, jj);
                    itrig = true;
                }
            }
            let base = q[ii] * n * n;
            for (pv, &dv) in p.iter_mut().zip(&dd[base..base + n * n]) {
                *pv += dv as i32;
            }
        }
        if !itrig {
            break;
        }
    }
}

/// Change of the unweighted objective when positions `ii < jj` swap; `p` holds
/// the left anchors' sums (see [`improve_unweighted`]).
fn swap_delta_unweighted(dd: &[i8], p: &[i32], n: usize, q: &[usize], ii: usize, jj: usize) -> i32 {
    let row = |a: usize, b: usize| &dd[(a * n + b) * n..][..n];
    let t = |a: usize, b: usize, c: usize| dd[(a * n + b) * n + c] as i32;
    let (r2, r3) = (q[ii], q[jj]);
    let right = &q[(jj + 1)..];
    let mut delta = p[r3 * n + r2] - p[r2 * n + r3];
    {
        let (a, b) = (row(r3, r2), row(r2, r3));
        for &r5 in right {
            delta += a[r5] as i32 - b[r5] as i32;
        }
    }
    for j in (ii + 1)..jj {
        let r4 = q[j];
        delta += p[r3 * n + r4] - p[r2 * n + r4] + p[r4 * n + r2] - p[r4 * n + r3];
        delta += t(r3, r4, r2) - t(r2, r4, r3);
        let (a, b, c, e) = (row(r4, r2), row(r4, r3), row(r3, r4), row(r2, r4));
        let mut s = 0i32;
        for &r5 in right {
            s += a[r5] as i32 - b[r5] as i32 + c[r5] as i32 - e[r5] as i32;
        }
        delta += s;
        let (f, g) = (row(r3, r4), row(r2, r4));
        let mut s = 0i32;
        for &r4b in &q[(j + 1)..jj] {
            let h = row(r4, r4b);
            s += h[r2] as i32 - h[r3] as i32 + f[r4b] as i32 - g[r4b] as i32;
        }
        delta += s;
    }
    delta
}

/// Pairwise interchange for the weighted gradient. Its objective is pairwise:
/// sum over positions p < r of a(q_p, q_r) (3 (r - p) - n - 1), so a swap's change
/// is O(n): sum over x of (a(v, q_x) - a(u, q_x)) 3 (|ii - x| - |jj - x|).
fn improve_weighted(a: &[f64], n: usize, q: &mut [usize], passes: usize) {
    let amax = a.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
    // Ties (zero true change) must not swap back and forth on rounding noise.
    let tol = 1e-12 * amax * (n * n) as f64;
    for _ in 0..passes {
        let mut itrig = false;
        for ii in 0..n.saturating_sub(1) {
            for jj in (ii + 1)..n {
                if swap_delta_weighted(a, n, q, ii, jj) > tol {
                    q.swap(ii, jj);
                    itrig = true;
                }
            }
        }
        if !itrig {
            break;
        }
    }
}

fn swap_delta_weighted(a: &[f64], n: usize, q: &[usize], ii: usize, jj: usize) -> f64 {
    let (ru, rv) = (&a[q[ii] * n..][..n], &a[q[jj] * n..][..n]);
    let (mut sl, mut sr, mut sb) = (0.0, 0.0, 0.0);
    for &x in &q[..ii] {
        sl += rv[x] - ru[x];
    }
    for &x in &q[(jj + 1)..] {
        sr += rv[x] - ru[x];
    }
    for (k, &x) in q[(ii + 1)..jj].iter().enumerate() {
        let w = (2 * (ii + 1 + k)) as f64 - (ii + jj) as f64;
        sb += w * (rv[x] - ru[x]);
    }
    3.0 * ((jj - ii) as f64 * (sr - sl) + sb)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Triple table and distances of a random symmetric 9 x 9 matrix.
    fn setup(weighted: bool) -> (Vec<f64>, Vec<f64>, usize) {
        let n = 9;
        let mut rng = crate::rng::method_stream(4, "bb-delta", 0);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in (i + 1)..n {
                let v = (unif(&mut rng) * 8.0).floor() / 8.0; // ties on purpose
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
        }
        let mut dt = vec![0.0; n * n * n];
        let s = |x: f64, y: f64| (x > y + 1e-7) as i32 as f64 - (x < y - 1e-7) as i32 as f64;
        for i in 0..n {
            for j in 0..n {
                for k in 0..n {
                    if i != j && j != k && i != k {
                        let (ik, ij, jk) = (a[i * n + k], a[i * n + j], a[j * n + k]);
                        dt[(i * n + j) * n + k] = if weighted {
                            2.0 * ik - ij - jk
                        } else {
                            s(ik, ij) + s(ik, jk)
                        };
                    }
                }
            }
        }
        (a, dt, n)
    }

    #[test]
    fn swap_deltas_match_objective_differences() {
        for weighted in [false, true] {
            let (a, dt, n) = setup(weighted);
            let dd8: Vec<i8> = dt.iter().map(|&v| v as i8).collect();
            let mut rng = crate::rng::method_stream(5, "bb-delta", 0);
            let q = crate::seriation::random_permutation(n, &mut rng);
            for ii in 0..n {
                let mut p = vec![0i32; n * n];
                for &x in &q[..ii] {
                    for ab in 0..n * n {
                        p[ab] += dd8[x * n * n + ab] as i32;
                    }
                }
                for jj in (ii + 1)..n {
                    let mut r = q.clone();
                    r.swap(ii, jj);
                    let want = triple_objective(&dt, n, &r) - triple_objective(&dt, n, &q);
                    let got = if weighted {
                        swap_delta_weighted(&a, n, &q, ii, jj)
                    } else {
                        swap_delta_unweighted(&dd8, &p, n, &q, ii, jj) as f64
                    };
                    assert!(
                        (got - want).abs() < 1e-9,
                        "w={weighted} ({ii},{jj}): {got} vs {want}"
                    );
                }
            }
        }
    }
}
