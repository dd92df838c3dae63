#!/usr/bin/env python3
"""Reference fixtures for the paired statistics of src/verdict/ (tests/verdict.rs).

For several paired samples (x, y) — some with missing values, which are dropped
pairwise — scipy computes the paired t-test (`scipy.stats.ttest_rel`) with its
confidence interval of the mean difference at 95 % and 90 %, numpy the mean of each
side and of the differences, the standard deviation (ddof = 1) and the type-7
quantiles (`np.quantile`, method="linear") of x; and scipy.stats.t gives CDF values
and quantiles on a grid of degrees of freedom.

Writes fixtures/verdict/paired.json. Run from the repository root with the pinned
versions of scripts/requirements-fixtures.txt (scipy 1.17.1, numpy 2.4.6):
    python3 scripts/fixtures_verdict.py
"""
import json
import os

import numpy as np
import scipy
from scipy import stats

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "verdict")


def case(name, x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    xs, ys = x[ok], y[ok]
    d = xs - ys
    out = {
        "name": name,
        "x": [None if not np.isfinite(v) else float(v) for v in x],
        "y": [None if not np.isfinite(v) else float(v) for v in y],
        "n": int(ok.sum()),
        "mean_x": float(xs.mean()),
        "mean_y": float(ys.mean()),
        "diff": float(d.mean()),
        "sd": float(d.std(ddof=1)),
    }
    r = stats.ttest_rel(xs, ys)
    out["t"] = float(r.statistic)
    out["p_value"] = float(r.pvalue)
    for level in (0.95, 0.90):
        ci = r.confidence_interval(confidence_level=level)
        out[f"ci_{int(level * 100)}"] = [float(ci.low), float(ci.high)]
    fx = x[np.isfinite(x)]
    out["quantiles_x"] = {str(p): float(np.quantile(fx, p)) for p in (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)}
    return out


def main():
    rng = np.random.default_rng(20261202)
    cases = []
    # Two pairs (smallest n with a t-interval).
    cases.append(case("n2", [0.11, 0.13], [0.10, 0.125]))
    # Small, symmetric.
    x = rng.normal(0.10, 0.02, 7)
    cases.append(case("n7_normal", x, x + rng.normal(-0.003, 0.004, 7)))
    # Volatility-like: strongly correlated pair, small mean difference, n = 2000.
    base = rng.lognormal(np.log(0.085), 0.12, 2000)
    meth = base * np.exp(rng.normal(-0.02, 0.03, 2000))
    cases.append(case("vols_2000", meth, base))
    # Skewed differences with missing values on both sides (pairwise exclusion).
    x = rng.lognormal(0.0, 1.0, 300)
    y = rng.lognormal(0.1, 0.8, 300)
    x[[3, 50, 51, 299]] = np.nan
    y[[50, 120]] = np.nan
    cases.append(case("skewed_missing_300", x, y))
    # Large t (differences almost constant).
    x = rng.normal(1.0, 0.1, 40)
    cases.append(case("near_constant_40", x + 0.5 + rng.normal(0, 1e-6, 40), x))
    t_grid = []
    for df in (1, 2, 3, 5, 10, 29, 30, 99, 299, 1999, 19999):
        for p in (0.5, 0.9, 0.95, 0.975, 0.995, 0.9995):
            t_grid.append({"df": df, "p": p, "ppf": float(stats.t.ppf(p, df))})
        for tv in (-4.0, -1.5, 0.3, 2.0, 7.5):
            t_grid.append({"df": df, "t": tv, "cdf": float(stats.t.cdf(tv, df))})
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "paired.json"), "w") as f:
        json.dump({"generator": f"scipy {scipy.__version__}, numpy {np.__version__}",
                   "cases": cases, "t": t_grid}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
