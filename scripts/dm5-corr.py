"""Correlation matrices like the DHRP paper's developed-market ETF universe (Amador, §4.1:
SPY, EFA, TLT, GLD, UUP), for experiments/dhrp-paper-{train-,}5.toml (`[source] kind = "file"`).

    python scripts/dm5-corr.py --count K --seed S -o FILE.npy

C0 below is a rough daily correlation matrix of these ETFs over 2015-2025 (our approximation,
not from the paper, whose Fig. 2 shows the matrix but gives no numbers): two highly
correlated equity funds, long bonds negatively correlated with equities, gold mildly
positive with bonds and negative with the dollar, the dollar negative with international
equity. Each matrix is the correlation of a Wishart(C0 / df, df) draw, so matrices vary
around C0 (entries' sd about (1 - ρ²)/√df, ≈ 0.13 at df = 50) as one-year correlations
of these ETFs do between regimes (e.g. SPY-TLT moved between about -0.5 and +0.3).
"""

import argparse

import numpy as np

NAMES = ["SPY", "EFA", "TLT", "GLD", "UUP"]
C0 = np.array([
    [1.00, 0.85, -0.25, 0.05, -0.20],
    [0.85, 1.00, -0.20, 0.15, -0.45],
    [-0.25, -0.20, 1.00, 0.30, -0.05],
    [0.05, 0.15, 0.30, 1.00, -0.40],
    [-0.20, -0.45, -0.05, -0.40, 1.00],
])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--df", type=int, default=50)
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    assert np.linalg.eigvalsh(C0).min() > 0, "C0 must be positive definite"
    rng = np.random.default_rng(a.seed)
    L = np.linalg.cholesky(C0)
    out = np.empty((a.count, 5, 5))
    for k in range(a.count):
        z = rng.standard_normal((a.df, 5)) @ L.T
        s = z.T @ z
        d = 1.0 / np.sqrt(np.diag(s))
        c = s * d[:, None] * d[None, :]
        c = 0.5 * (c + c.T)
        np.fill_diagonal(c, 1.0)
        out[k] = c
    np.save(a.out, out)
    off = out[:, ~np.eye(5, dtype=bool)]
    print(f"{a.out}: {a.count} matrices, mean correlation {off.mean():.3f}, "
          f"min eigenvalue {min(np.linalg.eigvalsh(m).min() for m in out):.3g}, C0 eig {np.linalg.eigvalsh(C0).round(3)}")


if __name__ == "__main__":
    main()
