//! The 16 seriation criteria R's `seriation` 1.4.1 defines for `dist` objects
//! (`list_criterion_methods("dist")`), computed for any order.
//!
//! Each kernel follows R's C/Fortran code loop for loop (src/criterion.c,
//! src/stress.c, src/optimal.c, src/bea.f), so values agree with R to rounding.
//! `ME`, `Moore_stress`, `Neumann_stress`, `Cor_R` and `2SUM` are computed, as in R,
//! on the similarity `1 / (1 + d)`. `ME` is computed in single precision, as R does
//! (`mode(x) <- "single"` before calling the Fortran routine `energy`).

use super::{Dm, SeriationError, validate_dist, validate_order};
use ndarray::ArrayView2;

/// A criterion of the registry.
#[derive(Clone, Debug)]
pub struct CriterionInfo {
    /// R name (`criterion(x, method = name)`).
    pub name: &'static str,
    pub description: &'static str,
    /// `true` when larger values are better (R's `merit`).
    pub merit: bool,
    /// Extra argument defaults, as in R.
    pub note: &'static str,
}

const TABLE: [(&str, &str, bool, &str); 16] = [
    ("2SUM", "2-SUM objective value (QAP)", false, ""),
    ("AR_deviations", "Anti-Robinson deviations", false, ""),
    ("AR_events", "Anti-Robinson events", false, ""),
    (
        "BAR",
        "Banded Anti-Robinson Form",
        false,
        "b = max(1, floor(n/5))",
    ),
    (
        "Cor_R",
        "Correlation coefficient R",
        true,
        "computed on 1/(1+d)",
    ),
    ("Gradient_raw", "Gradient measure", true, ""),
    ("Gradient_weighted", "Gradient measure (weighted)", true, ""),
    ("Inertia", "Inertia criterion", true, ""),
    ("Lazy_path_length", "Lazy path length", false, ""),
    ("Least_squares", "Least squares criterion", false, ""),
    ("LS", "Linear seriation objective value (QAP)", false, ""),
    (
        "ME",
        "Measure of effectiveness",
        true,
        "computed on 1/(1+d), single precision",
    ),
    (
        "Moore_stress",
        "Stress (Moore neighborhood)",
        false,
        "computed on 1/(1+d)",
    ),
    (
        "Neumann_stress",
        "Stress (Neumann neighborhood)",
        false,
        "computed on 1/(1+d)",
    ),
    ("Path_length", "Hamiltonian path length", false, ""),
    (
        "RGAR",
        "Relative generalized anti-Robinson events",
        false,
        "w = n - 1, relative = TRUE",
    ),
];

/// The 16 criteria, in R's order.
pub fn criteria() -> Vec<CriterionInfo> {
    TABLE
        .iter()
        .map(|&(name, description, merit, note)| CriterionInfo {
            name,
            description,
            merit,
            note,
        })
        .collect()
}

/// Whether larger is better for criterion `name`.
pub fn merit(name: &str) -> Result<bool, SeriationError> {
    TABLE
        .iter()
        .find(|t| t.0 == name)
        .map(|t| t.2)
        .ok_or_else(|| SeriationError::UnknownCriterion(name.to_string()))
}

/// Value of criterion `name` (R name) for distance matrix `d` in order `order`.
pub fn criterion(
    name: &str,
    d: ArrayView2<'_, f64>,
    order: &[usize],
) -> Result<f64, SeriationError> {
    let dm = Dm::new(d);
    validate_order(order, dm.n)?;
    eval(name, &dm, order).and_then(|v| defined(name, v))
}

/// A criterion value, or why there is none: a NaN or infinite value (e.g. `Cor_R` of a
/// single object or of equal distances, a correlation with a constant) is undefined, and
/// is reported as such rather than returned as a number.
fn defined(name: &str, v: f64) -> Result<f64, SeriationError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(SeriationError::Failed(format!(
            "{name} is undefined for this input (evaluates to {v}; e.g. a correlation \
             with constant similarities, or too few objects)"
        )))
    }
}

/// All 16 criteria, in R's order (the similarity matrix is built once).
pub fn all_criteria(
    d: ArrayView2<'_, f64>,
    order: &[usize],
) -> Result<Vec<(&'static str, f64)>, SeriationError> {
    each_criterion(d, order)?
        .into_iter()
        .map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

/// Every criterion of `order` on its own: a criterion undefined for this input (e.g. BAR
/// and RGAR need 3 objects) gives its reason without hiding the others. Only an invalid
/// order or an invalid distance matrix (see [`validate_dist`]) fails the whole call.
pub fn each_criterion(
    d: ArrayView2<'_, f64>,
    order: &[usize],
) -> Result<Vec<(&'static str, Result<f64, SeriationError>)>, SeriationError> {
    validate_dist(d)?;
    let dm = Dm::new(d);
    validate_order(order, dm.n)?;
    let sim = dm.similarity();
    Ok(TABLE
        .iter()
        .map(|t| {
            let v = match t.0 {
                "ME" => Ok(me(&sim, order)),
                "Moore_stress" => Ok(stress(&sim, order, true)),
                "Neumann_stress" => Ok(stress(&sim, order, false)),
                "Cor_R" => Ok(cor_r(&sim, order)),
                "2SUM" => Ok(two_sum_sim(&sim, order)),
                _ => eval(t.0, &dm, order),
            };
            (t.0, v.and_then(|v| defined(t.0, v)))
        })
        .collect())
}

pub(crate) fn eval(name: &str, d: &Dm, o: &[usize]) -> Result<f64, SeriationError> {
    let n = d.n;
    if n < 3 && matches!(name, "BAR" | "RGAR") {
        return Err(SeriationError::InvalidInput(format!(
            "{name} needs at least 3 objects"
        )));
    }
    Ok(match name {
        "2SUM" => two_sum_sim(&d.similarity(), o),
        "AR_deviations" => ar(d, o, false),
        "AR_events" => ar(d, o, true),
        "BAR" => bar(d, o, (n / 5).max(1)),
        "Cor_R" => cor_r(&d.similarity(), o),
        "Gradient_raw" => gradient(d, o, false),
        "Gradient_weighted" => gradient(d, o, true),
        "Inertia" => inertia(d, o),
        "Lazy_path_length" => lazy_path_length(d, o),
        "Least_squares" => least_squares(d, o),
        "LS" => ls(d, o),
        "ME" => me(&d.similarity(), o),
        "Moore_stress" => stress(&d.similarity(), o, true),
        "Neumann_stress" => stress(&d.similarity(), o, false),
        "Path_length" => path_length(d, o),
        "RGAR" => rgar(d, o, n - 1),
        _ => return Err(SeriationError::UnknownCriterion(name.to_string())),
    })
}

/// Neumaier-compensated sum: R's `sum()` accumulates in long double, which plain
/// f64 summation would miss by up to ~n·eps.
#[derive(Default, Clone, Copy)]
pub(crate) struct Ksum {
    s: f64,
    c: f64,
}
impl Ksum {
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.s + x;
        if self.s.abs() >= x.abs() {
            self.c += (self.s - t) + x;
        } else {
            self.c += (x - t) + self.s;
        }
        self.s = t;
    }
    pub fn value(&self) -> f64 {
        self.s + self.c
    }
}

/// 2-SUM (Barnard, Pothen & Simon 1993) as R computes it: `qap.obj(A, 1/(1+d), o)`
/// with `A_ij = (i − j)²`, i.e. Σ_ij (i−j)² s(o_i, o_j) on similarities `s`.
pub(crate) fn two_sum_sim(s: &Dm, o: &[usize]) -> f64 {
    let n = o.len();
    let mut tot = Ksum::default();
    for i in 0..n {
        let row = s.row(o[i]);
        let mut acc = 0.0;
        for (k, &ok) in o.iter().enumerate() {
            let a = (i as f64 - k as f64) * (i as f64 - k as f64);
            acc += a * row[ok];
        }
        tot.add(acc);
    }
    tot.value()
}

/// Linear seriation criterion (Hubert & Schultz 1976) as R's `qap.obj(A_LS, d, o)`:
/// Σ_ij (n − |i−j|) d(o_i, o_j).
pub(crate) fn ls(d: &Dm, o: &[usize]) -> f64 {
    let n = o.len();
    let mut tot = Ksum::default();
    for i in 0..n {
        let row = d.row(o[i]);
        let mut acc = 0.0;
        for (k, &ok) in o.iter().enumerate() {
            let a = n as f64 - (i as f64 - k as f64).abs();
            acc += a * row[ok];
        }
        tot.add(acc);
    }
    tot.value()
}

/// Anti-Robinson events / deviations (Chen 2002; Streng & Schönfelder 1978):
/// counts (or sums |d_ij − d_ik| over) violations of d_ij ≤ d_ik for j < k < i and
/// d_ij ≤ d_ik for i < j < k. R: `ar()` in src/criterion.c.
pub(crate) fn ar(d: &Dm, o: &[usize], events: bool) -> f64 {
    let p = o.len();
    let mut sum = 0.0;
    for i in 3..=p {
        let ri = d.row(o[i - 1]);
        for k in 2..i {
            let dik = ri[o[k - 1]];
            for j in 1..k {
                let dij = ri[o[j - 1]];
                if dij < dik {
                    sum += if events { 1.0 } else { (dij - dik).abs() };
                }
            }
        }
    }
    for i in 1..p.saturating_sub(1) {
        let ri = d.row(o[i - 1]);
        for j in (i + 1)..p {
            let dij = ri[o[j - 1]];
            for k in (j + 1)..=p {
                let dik = ri[o[k - 1]];
                if dij > dik {
                    sum += if events { 1.0 } else { (dij - dik).abs() };
                }
            }
        }
    }
    sum
}

/// Relative generalized anti-Robinson events (Tien et al. 2008) with window `w`:
/// AR events within the window divided by the number of triples checked.
pub(crate) fn rgar(d: &Dm, o: &[usize], w: usize) -> f64 {
    let n = o.len() as i64;
    let w = w as i64;
    let (mut ar, mut total) = (0u64, 0u64);
    for i in 3..=n {
        let ri = d.row(o[(i - 1) as usize]);
        for k in (i - w + 1).max(2)..i {
            let dik = ri[o[(k - 1) as usize]];
            for j in (i - w).max(1)..k {
                let dij = ri[o[(j - 1) as usize]];
                total += 1;
                if dij < dik {
                    ar += 1;
                }
            }
        }
    }
    for i in 1..=(n - 2) {
        let ri = d.row(o[(i - 1) as usize]);
        for j in (i + 1)..=(i + w - 1).min(n - 1) {
            let dij = ri[o[(j - 1) as usize]];
            for k in (j + 1)..=(i + w).min(n) {
                let dik = ri[o[(k - 1) as usize]];
                total += 1;
                if dij > dik {
                    ar += 1;
                }
            }
        }
    }
    ar as f64 / total as f64
}

/// Gradient measures (Hubert, Arabie & Meulman 2001): over i < k < j, the sign
/// (raw) or size (weighted) of d_ij − d_ik and d_ij − d_kj. R: `gradient()`.
pub(crate) fn gradient(d: &Dm, o: &[usize], weighted: bool) -> f64 {
    let p = o.len();
    let mut sum = 0.0;
    for i in 1..=p.saturating_sub(2) {
        let ri = d.row(o[i - 1]);
        for k in (i + 1)..p {
            let dik = ri[o[k - 1]];
            let rk = d.row(o[k - 1]);
            for j in (k + 1)..=p {
                let dij = ri[o[j - 1]];
                let diff = dij - dik;
                if weighted {
                    sum += diff;
                } else if diff > 0.0 {
                    sum += 1.0;
                } else if diff < 0.0 {
                    sum -= 1.0;
                }
                let dkj = rk[o[j - 1]];
                let diff = dij - dkj;
                if weighted {
                    sum += diff;
                } else if diff > 0.0 {
                    sum += 1.0;
                } else if diff < 0.0 {
                    sum -= 1.0;
                }
            }
        }
    }
    sum
}

/// Inertia (Caraux & Pinloche 2005): Σ_ij d(o_i, o_j) |i − j|².
pub(crate) fn inertia(d: &Dm, o: &[usize]) -> f64 {
    let p = o.len();
    let mut sum = 0.0;
    for i in 1..=p {
        let ri = d.row(o[i - 1]);
        for j in 1..i {
            let x = (i - j) as f64;
            sum += ri[o[j - 1]] * x * x;
        }
    }
    2.0 * sum
}

/// Least squares (Caraux & Pinloche 2005): Σ_ij (d(o_i, o_j) − |i − j|)².
pub(crate) fn least_squares(d: &Dm, o: &[usize]) -> f64 {
    let p = o.len();
    let mut sum = 0.0;
    for i in 1..=p {
        let ri = d.row(o[i - 1]);
        for j in 1..i {
            let x = ri[o[j - 1]] - (i - j) as f64;
            sum += x * x;
        }
    }
    2.0 * sum
}

/// Hamiltonian path length: Σ_k d(o_k, o_{k+1}).
pub(crate) fn path_length(d: &Dm, o: &[usize]) -> f64 {
    let mut z = 0.0;
    for w in o.windows(2) {
        z += d.at(w[0], w[1]);
    }
    z
}

/// Lazy path length (Earle & Hurley 2015): Σ_k (n − k) d(o_k, o_{k+1}).
pub(crate) fn lazy_path_length(d: &Dm, o: &[usize]) -> f64 {
    let n = o.len();
    let mut z = 0.0;
    for i in 1..n {
        z += (n - i) as f64 * d.at(o[i - 1], o[i]);
    }
    z
}

/// Banded anti-Robinson form (Earle & Hurley 2015, eq. 2): Σ_{0<j−i≤b} (b+1−(j−i)) d.
pub(crate) fn bar(d: &Dm, o: &[usize], b: usize) -> f64 {
    let n = o.len();
    let mut s = 0.0;
    for i in 1..n {
        let ri = d.row(o[i - 1]);
        for j in (i + 1)..=(i + b).min(n) {
            s += (b + 1 - (j - i)) as f64 * ri[o[j - 1]];
        }
    }
    s
}

/// Measure of effectiveness (McCormick, Schweitzer & White 1972): half the sum of
/// products of each cell with its 4 neighbours, in single precision like R's
/// Fortran `energy` (bea.f).
pub(crate) fn me(s: &Dm, o: &[usize]) -> f64 {
    let n = o.len();
    let m = n;
    if n < 2 {
        return 0.0;
    }
    // b(i, j), 1-based, f32 as in R.
    let b = |i: usize, j: usize| s.at(o[i - 1], o[j - 1]) as f32;
    let mut e: f32 = 0.0;
    e += b(1, 1) * (b(1, 2) + b(2, 1));
    e += b(1, m) * (b(1, m - 1) + b(2, m));
    e += b(n, 1) * (b(n - 1, 1) + b(n, 2));
    e += b(n, m) * (b(n - 1, m) + b(n, m - 1));
    for j in 2..m {
        e += b(1, j) * (b(1, j - 1) + b(1, j + 1) + b(2, j));
        e += b(n, j) * (b(n, j - 1) + b(n, j + 1) + b(n - 1, j));
    }
    for i in 2..n {
        e += b(i, 1) * (b(i - 1, 1) + b(i + 1, 1) + b(i, 2));
        e += b(i, m) * (b(i - 1, m) + b(i + 1, m) + b(i, m - 1));
    }
    for i in 2..n {
        for j in 2..m {
            e += b(i, j) * (b(i - 1, j) + b(i + 1, j) + b(i, j - 1) + b(i, j + 1));
        }
    }
    0.5 * e as f64
}

/// Stress (Niermann 2005) with Moore (8) or von Neumann (4) neighbourhoods: twice
/// the sum of squared differences between adjacent cells (src/stress.c).
pub(crate) fn stress(x: &Dm, o: &[usize], moore: bool) -> f64 {
    let n = o.len();
    if n < 2 {
        return 0.0;
    }
    let (r, c) = (o, o);
    let v = |i: usize, j: usize| x.at(i, j);
    let mut z = 0.0;
    let mut l = r[0];
    for i in 0..n - 1 {
        let ll = r[i + 1];
        let mut k = c[0];
        for j in 0..n - 1 {
            let kk = c[j + 1];
            let a = v(l, k);
            let d = a - v(ll, k);
            z += d * d;
            if moore {
                let d = a - v(ll, kk);
                z += d * d;
            }
            let d = a - v(l, kk);
            z += d * d;
            if moore {
                let d = v(ll, k) - v(l, kk);
                z += d * d;
            }
            k = kk;
        }
        let d = v(l, k) - v(ll, k);
        l = ll;
        z += d * d;
    }
    let mut k = c[0];
    for j in 0..n - 1 {
        let kk = c[j + 1];
        let d = v(l, k) - v(l, kk);
        k = kk;
        z += d * d;
    }
    2.0 * z
}

/// Correlation coefficient R (Spearman-like association between row and column
/// position weighted by the permuted similarity matrix), R's `criterion_R_matrix`.
pub(crate) fn cor_r(s: &Dm, o: &[usize]) -> f64 {
    let n = o.len();
    let x = |i: usize, j: usize| s.at(o[i], o[j]);
    let pos: Vec<f64> = (1..=n).map(|i| i as f64 / n as f64).collect();
    let mut t = Ksum::default();
    for i in 0..n {
        for j in 0..n {
            t.add(x(i, j));
        }
    }
    let t = t.value();
    // crossprod(x, X_i)_j = Σ_i x_ij X_i; crossprod(t(x), Y_j)_i = Σ_j x_ij Y_j.
    let mut xbar = Ksum::default();
    let mut ybar = Ksum::default();
    for j in 0..n {
        let mut a = 0.0;
        for i in 0..n {
            a += x(i, j) * pos[i];
        }
        xbar.add(a);
    }
    for i in 0..n {
        let mut a = 0.0;
        for j in 0..n {
            a += x(i, j) * pos[j];
        }
        ybar.add(a);
    }
    let xbar = xbar.value() / t;
    let ybar = ybar.value() / t;
    let dx: Vec<f64> = pos.iter().map(|p| p - xbar).collect();
    let dy: Vec<f64> = pos.iter().map(|p| p - ybar).collect();
    let (mut sx, mut sy, mut sxy) = (Ksum::default(), Ksum::default(), Ksum::default());
    for j in 0..n {
        let mut a = 0.0;
        for i in 0..n {
            a += x(i, j) * dx[i] * dx[i];
        }
        sx.add(a);
    }
    for i in 0..n {
        let mut a = 0.0;
        for j in 0..n {
            a += x(i, j) * dy[j] * dy[j];
        }
        sy.add(a);
    }
    for j in 0..n {
        for i in 0..n {
            sxy.add(x(i, j) * (dx[i] * dy[j]));
        }
    }
    let f = 1.0 / (t - 1.0);
    let (sx, sy, sxy) = (f * sx.value(), f * sy.value(), f * sxy.value());
    sxy / (sx.sqrt() * sy.sqrt())
}
