#!/usr/bin/env python3
"""scipy's optimal_leaf_ordering is not optimal (issue 11, item 4).

For every fixture matrix (fixtures/seriation/*.json, R seriation 1.4.1) and the four
OLO linkages, takes R's own hclust tree (the fixture's merge/height), reorders its
leaves with scipy.cluster.hierarchy.optimal_leaf_ordering, and compares the
Hamiltonian path length sum_k d(o_k, o_k+1) of scipy's order with that of R's
OLO_<linkage> order on the same tree (which corrmc's OLO reproduces exactly,
tests/seriation.rs). OLO (Bar-Joseph et al. 2001) minimizes exactly this path length
over the 2^(n-1) flips of the tree, so a longer scipy path is a non-optimal answer.

Run from the repository root: python3 scripts/olo_scipy_vs_r.py
(scipy pinned in scripts/requirements-fixtures.txt). Prints a Markdown table.
"""
import glob
import json
import os

import numpy as np
import scipy
from scipy.cluster.hierarchy import leaves_list, optimal_leaf_ordering
from scipy.spatial.distance import squareform

ROOT = os.path.join(os.path.dirname(__file__), "..")
LINKS = {"OLO_single": "single", "OLO_complete": "complete", "OLO_average": "average", "OLO_ward": "ward.D2"}


def r_tree_to_scipy(merge, height, n):
    """R hclust merge (1-based, negative = singleton) -> scipy linkage matrix."""
    z = np.zeros((n - 1, 4))
    size = {}
    for k, ((a, b), h) in enumerate(zip(merge, height)):
        def idx(x):
            return -x - 1 if x < 0 else n + x - 1
        ia, ib = idx(a), idx(b)
        sa = 1 if ia < n else size[ia]
        sb = 1 if ib < n else size[ib]
        z[k] = [ia, ib, h, sa + sb]
        size[n + k] = sa + sb
    return z


def path_length(d, o):
    return float(sum(d[o[k], o[k + 1]] for k in range(len(o) - 1)))


def brute_force_optimum(z, d):
    """Shortest path over all 2^(n-1) flips of the tree (n <= 17 only)."""
    import itertools

    n = d.shape[0]
    children = {n + k: (int(z[k, 0]), int(z[k, 1])) for k in range(n - 1)}

    def leaves(node, flips):
        if node < n:
            return [node]
        a, b = children[node]
        la, lb = leaves(a, flips), leaves(b, flips)
        return lb + la if flips[node - n] else la + lb

    return min(path_length(d, leaves(2 * n - 2, f)) for f in itertools.product([0, 1], repeat=n - 1))


def main():
    rows = []
    for path in sorted(glob.glob(os.path.join(ROOT, "fixtures/seriation/*.json"))):
        with open(path) as fh:
            j = json.load(fh)
        d = np.array(j["d"], dtype=float)
        n = d.shape[0]
        for method, link in LINKS.items():
            t = j["hclust"][link]
            z = r_tree_to_scipy(t["merge"], t["height"], n)
            o_sp = leaves_list(optimal_leaf_ordering(z, squareform(d, checks=False)))
            o_r = np.array(j["orders"][method]) - 1
            pl_sp, pl_r = path_length(d, o_sp), path_length(d, o_r)
            bf = brute_force_optimum(z, d) if n <= 17 else float("nan")
            rows.append((j["name"], method, pl_r, pl_sp, bf))
    print(f"scipy {scipy.__version__} optimal_leaf_ordering vs R seriation {j['seriation_version']} OLO, same tree\n")
    print("| matrix | method | R / corrmc path length | scipy path length | scipy excess | optimum (all flips, n <= 17) |")
    print("|---|---|---:|---:|---:|---:|")
    worse = 0
    for name, m, r, s, bf in rows:
        ex = (s - r) / r
        worse += ex > 1e-12
        print(f"| {name} | {m} | {r:.6f} | {s:.6f} | {100 * ex:+.3f} % | {bf:.6f} |")
    shorter = sum(1 for _, _, r, s, _ in rows if s < r - 1e-12 * r)
    bad_r = sum(1 for _, _, r, _, bf in rows if bf == bf and abs(r - bf) > 1e-12 * r)
    print(f"\nR / corrmc differ from the brute-force optimum on {bad_r} (n <= 17)")
    print(f"\nscipy longer on {worse} of {len(rows)}, shorter on {shorter}")


if __name__ == "__main__":
    main()
