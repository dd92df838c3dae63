//! `BBURCG`, `BBWRCG`: branch-and-bound maximisation of the unweighted / weighted
//! row-and-column gradient index (Brusco & Stahl 2005, "Branch-and-Bound
//! Applications in Combinatorial Data Analysis", ch. 8; Brusco 2002), a port of
//! seriation's `bburcg.f` / `bbwrcg.f`.
//!
//! Phase 1: 20 random starts improved by pairwise interchange give an initial
//! bound. Phase 2: depth-first branch-and-bound over prefixes with R's insertion,
//! interchange and bound tests and its symmetry fathom (object 2 only after object 1).
//!
//! Budget: both phases are exponential/polynomial of high degree (R needs > 60 s at
//! n = 30), so corrmc counts work units — lookups of the precomputed triple table —
//! and stops after `max_nodes` of them (default 4·10⁸, about a second). The result
//! is then the best order found so far (the phase-1 order if the search found none
//! better) and `exact = Some(false)`; `exact = Some(true)` means the search finished
//! and the order is optimal. The count is deterministic, so results are reproducible.

use super::{Dm, Seriation, SeriationError, registry::Control, unif};
use rand::rngs::ChaCha8Rng;

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
    let n = d.n;
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

    // Phase 1: interchange heuristic from 20 random starts.
    let mut zbest = 0.0;
    let mut heur_best: Option<(f64, Vec<usize>)> = None;
    let mut out_of_budget = false;
    'starts: for _ in 0..20 {
        let mut unsel: Vec<usize> = (0..=n).collect();
        let mut q = vec![0usize; n + 1];
        let mut nnsel = n;
        while nnsel > 0 {
            let isel = ((1.0 + unif(rng) * nnsel as f64) as usize).min(nnsel);
            q[nnsel] = unsel[isel];
            unsel.remove(isel);
            nnsel -= 1;
        }
        let mut z = objective(&q);
        loop {
            let mut itrig = false;
            for ii in 1..n {
                for jj in (ii + 1)..=n {
                    let (r3, r2) = (q[jj], q[ii]);
                    let mut delta = 0.0;
                    for i in 1..ii {
                        let r1 = q[i];
                        delta += dd(r1, r3, r2) - dd(r1, r2, r3);
                        for j in (ii + 1)..jj {
                            let r4 = q[j];
                            delta += dd(r1, r3, r4) - dd(r1, r2, r4);
                            delta += dd(r1, r4, r2) - dd(r1, r4, r3);
                        }
                    }
                    for j in (ii + 1)..jj {
                        let r4 = q[j];
                        delta += dd(r3, r4, r2) - dd(r2, r4, r3);
                        for k in (jj + 1)..=n {
                            let r5 = q[k];
                            delta += dd(r4, r2, r5) - dd(r4, r3, r5);
                            delta += dd(r3, r4, r5) - dd(r2, r4, r5);
                        }
                    }
                    for k in (jj + 1)..=n {
                        let r5 = q[k];
                        delta += dd(r3, r2, r5) - dd(r2, r3, r5);
                    }
                    for i in (ii + 1)..jj.saturating_sub(1) {
                        for j in (i + 1)..jj {
                            let (r4a, r4b) = (q[i], q[j]);
                            delta += dd(r4a, r4b, r2) - dd(r4a, r4b, r3);
                            delta += dd(r3, r4a, r4b) - dd(r2, r4a, r4b);
                        }
                    }
                    let span = (jj - ii) as u64;
                    if work.spend(2 + 4 * span * (n as u64) + span * span) {
                        out_of_budget = true;
                    }
                    if delta > 0.0 {
                        z += delta;
                        q[ii] = r3;
                        q[jj] = r2;
                        itrig = true;
                    }
                    if out_of_budget {
                        break;
                    }
                }
                if out_of_budget {
                    break;
                }
            }
            if !itrig || out_of_budget {
                break;
            }
        }
        if z > zbest {
            zbest = z;
        }
        if heur_best.as_ref().is_none_or(|h| z > h.0) {
            heur_best = Some((z, q.clone()));
        }
        if out_of_budget {
            break 'starts;
        }
    }
    let heur = heur_best.expect("at least one start").1;
    if out_of_budget {
        return Ok(Seriation {
            order: heur[1..].iter().map(|&x| x - 1).collect(),
            exact: Some(false),
        });
    }

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
    Ok(Seriation {
        order: best[1..].iter().map(|&v| v - 1).collect(),
        exact: Some(finished),
    })
}
