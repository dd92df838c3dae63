#!/usr/bin/env python3
"""Regenerates fixtures/alloc/*.json: reference weights for the allocators.

References (versions pinned in scripts/requirements-fixtures.txt):
- HRP: PyPortfolioOpt 1.6 `HRPOpt(returns).optimize("single")` -- the faithful
  implementation of Lopez de Prado (2016) (single linkage on the condensed
  distances sqrt((1 - rho)/2), leaf order, recursive bisection). Returns are
  passed (not a covariance) because PyPortfolioOpt rounds the correlation to 6
  decimals when given a covariance, which can change the tree.
- MinVar: numpy closed form inv(S) 1 / (1' inv(S) 1).
- MinVar_long: PyPortfolioOpt EfficientFrontier(None, S, weight_bounds=(0, 1))
  .min_volatility() (cvxpy); accurate to the conic solver's tolerance only.

Each case stores the sample covariance (pandas, ddof = 1) that both sides use.
Run: python3 scripts/fixtures_alloc.py  (from the repository root).
"""
import json
import os

import numpy as np
import pandas as pd
import pypfopt
import scipy
from pypfopt import EfficientFrontier, HRPOpt
from scipy.cluster import hierarchy as sch
from scipy.spatial.distance import squareform

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "alloc")


def lkj_onion(n, rng):
    """Uniform random correlation matrix (onion method, eta = 1)."""
    beta = 1.0 + (n - 2) / 2.0
    L = np.zeros((n, n))
    L[0, 0] = 1.0
    r = 2.0 * rng.beta(beta, beta) - 1.0
    L[1, 0], L[1, 1] = r, np.sqrt(1 - r * r)
    for k in range(2, n):
        beta -= 0.5
        y = rng.beta(k / 2.0, beta)
        u = rng.standard_normal(k)
        u /= np.linalg.norm(u)
        L[k, :k] = np.sqrt(y) * u
        L[k, k] = np.sqrt(1 - y)
    c = L @ L.T
    np.fill_diagonal(c, 1.0)
    return c


def block(n, rng, groups=4):
    g = rng.permutation(np.arange(n) * groups // n)
    bm = rng.uniform(0.3, 0.6, n)
    bs = rng.uniform(0.3, 0.6, n)
    c = np.outer(bm, bm) + (g[:, None] == g[None, :]) * np.outer(bs, bs)
    np.fill_diagonal(c, 1.0)
    return c


def case(name, corr, T, rng, vols=None):
    n = corr.shape[0]
    vols = np.ones(n) if vols is None else vols
    sigma = corr * np.outer(vols, vols)
    X = rng.multivariate_normal(np.zeros(n), sigma, size=T, method="cholesky")
    returns = pd.DataFrame(X, columns=[f"a{i}" for i in range(n)])
    cov = returns.cov()
    hrp = HRPOpt(returns)
    w = hrp.optimize("single")
    order = [int(i) for i in sch.leaves_list(hrp.clusters)]
    out = {
        "name": name,
        "n": n,
        "T": T,
        "cov": [[float(x) for x in row] for row in cov.values],
        "hrp_order": order,
        "hrp_weights": [float(w[c]) for c in returns.columns],
    }
    S = cov.values
    if T > n:
        x = np.linalg.solve(S, np.ones(n))
        out["minvar_weights"] = [float(v) for v in x / x.sum()]
        ef = EfficientFrontier(None, cov, weight_bounds=(0, 1))
        wl = ef.min_volatility()
        out["minvar_long_weights"] = [float(wl[c]) for c in returns.columns]
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261122)
    cases = [
        case("uniform_n10_T252", lkj_onion(10, rng), 252, rng),
        case("uniform_n30_T756", lkj_onion(30, rng), 756, rng),
        case("block_n50_T504_vols", block(50, rng), 504, rng, vols=rng.uniform(0.005, 0.03, 50)),
        case("uniform_n100_T756", lkj_onion(100, rng), 756, rng),
        case("block_n60_T40_singular", block(60, rng), 40, rng),
    ]
    meta = {
        "generator": "scripts/fixtures_alloc.py",
        "pypfopt": pypfopt.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "cases": cases,
    }
    with open(os.path.join(OUT, "reference_weights.json"), "w") as f:
        json.dump(meta, f)
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
