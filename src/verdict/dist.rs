//! Student's t distribution (CDF and quantile) for the t-intervals and paired
//! t-tests of [`super::paired`].
//!
//! `F_ν(t) = 1 − ½ I_x(ν/2, ½)` for `t > 0`, `x = ν / (ν + t²)` (Abramowitz & Stegun
//! 26.7.1 with 26.5.27), with the regularized incomplete beta `I_x(a, b)` from its
//! continued fraction (A&S 26.5.8, evaluated by the modified Lentz method; Press et
//! al., *Numerical Recipes* 3rd ed. §6.4) and `ln Γ` by Lanczos' series
//! (g = 607/128, 15 terms; relative error below 1e-15). The quantile is the root of
//! `F_ν(t) = p`, found by Newton steps kept inside a bisection bracket, so it is as
//! accurate as the CDF. Checked against scipy's `stats.t` in `tests/verdict.rs`.

use std::f64::consts::PI;

/// Lanczos coefficients for g = 607/128 (Godfrey), as used by Boost and R.
const LANCZOS_G: f64 = 607.0 / 128.0;
const LANCZOS: [f64; 15] = [
    0.999_999_999_999_997_1,
    57.156_235_665_862_92,
    -59.597_960_355_475_49,
    14.136_097_974_741_746,
    -0.491_913_816_097_620_2,
    3.399_464_998_481_189e-5,
    4.652_362_892_704_858e-5,
    -9.837_447_530_487_956e-5,
    1.580_887_032_249_125e-4,
    -2.102_644_417_241_049e-4,
    2.174_396_181_152_126_4e-4,
    -1.643_181_065_367_639e-4,
    8.441_822_398_385_275e-5,
    -2.619_083_840_158_141e-5,
    3.689_918_265_953_163e-6,
];

/// ln Γ(x) for x > 0.
pub fn ln_gamma(x: f64) -> f64 {
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = LANCZOS[0];
    let t = x + LANCZOS_G + 0.5;
    for (i, c) in LANCZOS.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Stirling's correction ln Γ(x) − [(x − ½) ln x − x + ½ ln 2π] for x ≥ 50
/// (A&S 6.1.41; the first omitted term is below 4e-22 there).
fn stirling_correction(x: f64) -> f64 {
    let r = 1.0 / x;
    let r2 = r * r;
    r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 * (1.0 / 1680.0 - r2 / 1188.0))))
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). When the larger argument is big
/// (the t distribution's ν/2 for many trials) the difference ln Γ(a) − ln Γ(a + b)
/// is formed from Stirling's series term by term, so that two large, nearly equal
/// logarithms (≈ 6000 at ν = 2000) are never subtracted.
fn ln_beta(a: f64, b: f64) -> f64 {
    let (small, big) = if a < b { (a, b) } else { (b, a) };
    if big < 50.0 {
        return ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
    }
    let s = big + small;
    // ln Γ(big) − ln Γ(s) = (big − ½) ln(big/s) − small ln s + small + Δcorrection.
    let diff =
        -(big - 0.5) * (small / big).ln_1p() - small * s.ln() + small + stirling_correction(big)
            - stirling_correction(s);
    ln_gamma(small) + diff
}

/// Continued fraction of I_x(a, b) (A&S 26.5.8), modified Lentz.
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..10_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// Regularized incomplete beta I_x(a, b), a, b > 0, 0 ≤ x ≤ 1.
pub fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    let y = 1.0 - x;
    beta_inc_xy(a, b, x, y, x.ln(), y.ln())
}

/// I_x(a, b) with `y = 1 − x` given separately, so that x near 1 keeps its
/// precision (the t tail needs t²/(ν + t²) exactly, not 1 − ν/(ν + t²)), and
/// with their logarithms: `a ln x` with a = ν/2 amplifies the rounding of x by
/// ν/2, so the t tail passes `ln x = −ln1p(t²/ν)`.
fn beta_inc_xy(a: f64, b: f64, x: f64, y: f64, ln_x: f64, ln_y: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    let front = (a * ln_x + b * ln_y - ln_beta(a, b)).exp();
    // The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry
    // I_x(a, b) = 1 − I_y(b, a) otherwise.
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, y) / b
    }
}

/// P(T > |t|) = ½ I_x(ν/2, ½), x = ν/(ν + t²), without cancellation in either tail.
fn t_tail(t: f64, nu: f64) -> f64 {
    let t2 = t * t;
    let d = nu + t2;
    if t2 == 0.0 {
        return 0.5;
    }
    let ln_x = -(t2 / nu).ln_1p();
    let ln_y = t2.ln() - d.ln();
    0.5 * beta_inc_xy(0.5 * nu, 0.5, nu / d, t2 / d, ln_x, ln_y)
}

/// P(T ≤ t) for Student's t with `nu` > 0 degrees of freedom.
pub fn t_cdf(t: f64, nu: f64) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let tail = t_tail(t, nu);
    if t > 0.0 { 1.0 - tail } else { tail }
}

/// Density of Student's t.
pub fn t_pdf(t: f64, nu: f64) -> f64 {
    (ln_gamma(0.5 * (nu + 1.0)) - ln_gamma(0.5 * nu) - 0.5 * (nu * PI).ln()
        + (-0.5 * (nu + 1.0)) * (t * t / nu).ln_1p())
    .exp()
}

/// The `p`-quantile of Student's t with `nu` degrees of freedom (0 < p < 1).
pub fn t_quantile(p: f64, nu: f64) -> f64 {
    if p.is_nan() || p <= 0.0 || p >= 1.0 || nu.is_nan() || nu <= 0.0 {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, nu);
    }
    // Solve tail(q) = 1 − p (exact for p ≥ ½) for q > 0: bracket [lo, hi] with
    // tail(hi) ≤ target, then Newton steps kept inside the bracket.
    let target = 1.0 - p;
    let mut lo = 0.0;
    let mut hi = 1.0;
    while t_tail(hi, nu) > target {
        lo = hi;
        hi *= 2.0;
        if hi > 1e300 {
            return f64::INFINITY;
        }
    }
    let mut q = 0.5 * (lo + hi);
    for _ in 0..200 {
        let f = t_tail(q, nu) - target;
        if f == 0.0 {
            return q;
        }
        if f > 0.0 {
            lo = q;
        } else {
            hi = q;
        }
        let mut next = q + f / t_pdf(q, nu);
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        if (next - q).abs() <= 1e-15 * q.abs() || hi - lo <= 1e-15 * hi {
            return next;
        }
        q = next;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // ln Γ(n) = ln (n−1)!, Γ(½) = √π.
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - PI.sqrt().ln()).abs() < 1e-14);
        // Cauchy (ν = 1): F(1) = 3/4, quantile(0.975) = tan(0.475π).
        assert!((t_cdf(1.0, 1.0) - 0.75).abs() < 1e-15);
        let q = t_quantile(0.975, 1.0);
        assert!((q - (0.475 * PI).tan()).abs() < 1e-12 * q);
        // ν = 2: F(t) = ½ + t / (2 √(2 + t²)).
        for t in [-3.0, -0.2, 0.7, 5.0] {
            let exact = 0.5 + t / (2.0 * (2.0f64 + t * t).sqrt());
            assert!((t_cdf(t, 2.0) - exact).abs() < 1e-15, "t = {t}");
        }
        assert!(t_quantile(1.5, 3.0).is_nan());
    }
}
