#!/usr/bin/env python3
"""Reference fixtures for the return metrics of src/metrics.rs (tests/returns.rs).

Each case is a small study trial in factored form, as the engine holds it: the
true correlation C and daily volatilities σ (Σ = D C D), its Cholesky factor F,
expected daily returns μ, and the shocks Y_is, Y_oos (T × n; normal, or Student-t
scaled to unit variance for the fat-tailed case). numpy materializes the paths
X = μ + Y Fᵀ and computes, for each weight vector w (with its out-of-sample
re-estimate w_oos) and each CRRA γ, every metric of corrmc's METRICS list from the
daily portfolio returns r = X w directly (not from covariance matrices):

- is_vol/oos_vol = √A · std(r, ddof=1); true_vol = sqrt(A wᵀΣw);
- turnover = ½Σ|w − w_oos|; n_eff = 1/Σw²; max_weight; gross = Σ|w|;
- is_mean/oos_mean = A · mean(r); true_mean = A wᵀμ;
- is_sharpe/oos_sharpe = √A · mean(r)/std(r, ddof=1); true_sharpe = A wᵀμ / sqrt(A wᵀΣw);
- oos_crra_ce = A · ((mean((1 + r)^(1−γ)))^(1/(1−γ)) − 1), γ = 1: A · (exp(mean(log(1 + r))) − 1),
  with 1 + r floored at 0 (the "ruin" case has a day losing more than everything:
  CE = −1 per day for γ ≥ 1).

Writes fixtures/returns/metrics.json. Run from the repository root with numpy 2.4.6
(scripts/requirements-fixtures.txt):
    python3 scripts/fixtures_returns.py
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "returns")
GAMMAS = [0.5, 1.0, 2.5, 7.0]


def crra_ce(r, gamma):
    g = np.maximum(1.0 + r, 0.0)
    with np.errstate(divide="ignore"):
        if gamma == 1.0:
            return np.exp(np.mean(np.log(g))) - 1.0
        return np.mean(g ** (1.0 - gamma)) ** (1.0 / (1.0 - gamma)) - 1.0


def metrics(x_is, x_oos, sigma, mu, w, w_oos, a, gamma):
    r_is, r_oos = x_is @ w, x_oos @ w
    is_vol = np.sqrt(a) * np.std(r_is, ddof=1)
    oos_vol = np.sqrt(a) * np.std(r_oos, ddof=1)
    true_vol = np.sqrt(a * w @ sigma @ w)
    is_mean, oos_mean, true_mean = a * r_is.mean(), a * r_oos.mean(), a * (w @ mu)
    return [
        is_vol,
        oos_vol,
        true_vol,
        0.5 * np.abs(w - w_oos).sum(),
        1.0 / (w @ w),
        w.max(),
        np.abs(w).sum(),
        is_mean,
        oos_mean,
        true_mean,
        is_mean / is_vol,
        oos_mean / oos_vol,
        true_mean / true_vol,
        a * crra_ce(r_oos, gamma),
    ]


def case(name, rng, n, t_is, t_oos, vol_range, sharpe, a, tails_nu=None):
    # A random correlation matrix from a random factor model (well conditioned).
    b = rng.normal(size=(n, 2)) * 0.5
    c = b @ b.T + 1.3 * np.eye(n)
    d = 1.0 / np.sqrt(np.diag(c))
    corr = c * d[:, None] * d[None, :]
    vols = rng.uniform(*vol_range, size=n)
    sigma = corr * vols[:, None] * vols[None, :]
    f = np.linalg.cholesky(sigma)
    mu = sharpe * vols / np.sqrt(a)

    def shocks(t):
        if tails_nu is None:
            return rng.normal(size=(t, n))
        # Multivariate t scaled to unit covariance: sqrt((ν − 2)/χ²_ν) z.
        w = (tails_nu - 2.0) / rng.chisquare(tails_nu, size=t)
        return rng.normal(size=(t, n)) * np.sqrt(w)[:, None]

    y_is, y_oos = shocks(t_is), shocks(t_oos)
    x_is, x_oos = mu + y_is @ f.T, mu + y_oos @ f.T
    weights = [
        (np.full(n, 1.0 / n), np.full(n, 1.0 / n)),
        (rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))),
        # A long-short portfolio (MinVar can short).
        (np.array([1.4, -0.6] + [0.2 / (n - 2)] * (n - 2)), rng.dirichlet(np.ones(n))),
    ]
    expected = []
    for w, w_oos in weights:
        expected.append(
            {
                "w": w.tolist(),
                "w_oos": w_oos.tolist(),
                "metrics": {
                    str(g): [float(v) for v in metrics(x_is, x_oos, sigma, mu, w, w_oos, a, g)]
                    for g in GAMMAS
                },
            }
        )
    return {
        "name": name,
        "annualization": a,
        "corr": corr.tolist(),
        "vols": vols.tolist(),
        "sigma": sigma.tolist(),
        "factor": f.tolist(),
        "mu": mu.tolist(),
        "y_is": y_is.tolist(),
        "y_oos": y_oos.tolist(),
        "weights": expected,
    }


def main():
    rng = np.random.default_rng(20251113)
    cases = [
        case("normal drift", rng, 5, 60, 80, (0.005, 0.03), rng.normal(0.5, 0.3, size=5), 252.0),
        case("student-t nu=4", rng, 4, 50, 120, (0.01, 0.04), np.full(4, 0.3), 252.0, tails_nu=4.0),
        case("monthly, negative drift", rng, 6, 36, 24, (0.03, 0.08), np.full(6, -0.4), 12.0),
        # Daily volatility near 1 (the unit model's scale): some days lose more than everything.
        case("ruin", rng, 3, 20, 30, (0.6, 0.9), np.zeros(3), 252.0),
    ]
    os.makedirs(OUT, exist_ok=True)
    doc = {
        "generator": "scripts/fixtures_returns.py",
        "numpy": np.__version__,
        "gammas": GAMMAS,
        "metric_order": [
            "is_vol", "oos_vol", "true_vol", "turnover", "n_eff", "max_weight", "gross",
            "is_mean", "oos_mean", "true_mean", "is_sharpe", "oos_sharpe", "true_sharpe",
            "oos_crra_ce",
        ],
        "cases": cases,
    }
    with open(os.path.join(OUT, "metrics.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
