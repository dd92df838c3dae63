"""Paired comparison of two methods in a `corrmc run` result file.

    python paired.py results/dhrp-50.h5 DHRP HRP [--metric oos_vol]

Per trial d_i = metric(A) - metric(B) on the same trial (same true matrix, same paths);
prints mean(d), its 95% confidence interval (mean +- 1.96 sd/sqrt(T)), the same relative
to mean(B), and the share of trials where A is lower.
"""

import argparse
import math

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--metric", default="oos_vol")
    x = ap.parse_args()
    with h5py.File(x.file, "r") as f:
        methods = [m.decode() if isinstance(m, bytes) else str(m) for m in f["methods"][...]]
        v = f["metrics"][x.metric][...]
    ia, ib = methods.index(x.a), methods.index(x.b)
    ok = np.isfinite(v[:, ia]) & np.isfinite(v[:, ib])
    d = v[ok, ia] - v[ok, ib]
    t = len(d)
    se = d.std(ddof=1) / math.sqrt(t)
    mb = v[ok, ib].mean()
    lo, hi = d.mean() - 1.96 * se, d.mean() + 1.96 * se
    print(f"{x.metric}: {x.a} - {x.b} over {t} paired trials: {d.mean():+.6f} "
          f"(95% CI [{lo:+.6f}, {hi:+.6f}]), relative {100 * d.mean() / mb:+.2f}% "
          f"[{100 * lo / mb:+.2f}%, {100 * hi / mb:+.2f}%] of {x.b}'s mean {mb:.6f}; "
          f"{x.a} lower in {100 * np.mean(d < 0):.1f}% of trials")


if __name__ == "__main__":
    main()
