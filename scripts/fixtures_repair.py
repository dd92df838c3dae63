#!/usr/bin/env python3
"""Reference fixtures for the nearest-correlation repair (src/nearest.rs).

For each test matrix G this script computes, in float64 with numpy only, the nearest
correlation matrix in Frobenius norm

    X* = argmin ||X - G||_F  s.t.  diag(X) = 1,  X >= floor * I   (floor = 0 by default)

by the semismooth Newton method of Qi & Sun (2006) on the dual

    theta(y) = 1/2 ||(G - floor I + diag y)_+||_F^2 - (1 - floor) e'y,

with the *explicit* generalized Jacobian (Qi & Sun eq. (3.3)-(3.5), formed as an n x n matrix,
O(n^4)) and a dense solve: an implementation independent of the matrix-free CG one in Rust.
It iterates until ||F(y)||_2 <= 1e-14 and then certifies the result independently:

  * KKT: X = (G - floor I + diag y)_+ + floor I  with  ||diag X - 1||_inf <= 1e-13  (dual feasibility
    and complementarity hold by construction of the projection);
  * Higham (2002) alternating projections with Dykstra's correction, run from scratch for many
    iterations, must land within 1e-9 of X* (a second algorithm, linear convergence).

Writes fixtures/repair/<case>_input.npy, <case>_expected.npy and manifest.json.
Run from the repository root:  python3 scripts/fixtures_repair.py
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "repair")


def proj_psd(a):
    w, v = np.linalg.eigh(a)
    return (v * np.maximum(w, 0.0)) @ v.T, w, v


def qi_sun_reference(g, floor=0.0, tol=1e-14, max_iter=200):
    n = g.shape[0]
    g0 = g - floor * np.eye(n)
    b = (1.0 - floor) * np.ones(n)
    y = b - np.diag(g0)
    for it in range(max_iter):
        x, w, v = proj_psd(g0 + np.diag(y))
        f = np.diag(x) - b
        if np.linalg.norm(f) <= tol:
            break
        pos = w > 0
        # Qi & Sun (2006) eq. (3.5): Omega_kl = 1 (both eigenvalues positive), 0 (both not),
        # (lam_k^+ - lam_l^+) / (lam_k - lam_l) otherwise (the denominator is then nonzero).
        lp = np.maximum(w, 0.0)
        mixed = pos[:, None] != pos[None, :]
        denom = np.where(mixed, w[:, None] - w[None, :], 1.0)
        omega = np.where(mixed, (lp[:, None] - lp[None, :]) / denom,
                         (pos[:, None] & pos[None, :]).astype(float))
        # V_ij = sum_kl P_ik P_il Omega_kl P_jk P_jl
        q = np.einsum("ik,il->ikl", v, v).reshape(n, n * n)
        jac = q @ (omega.reshape(n * n, 1) * q.T)
        d = np.linalg.solve(jac + 1e-15 * np.eye(n), -f)
        # Armijo line search on theta
        theta = 0.5 * np.sum(x * x) - b @ y
        alpha = 1.0
        for _ in range(60):
            xn, _, _ = proj_psd(g0 + np.diag(y + alpha * d))
            if 0.5 * np.sum(xn * xn) - b @ (y + alpha * d) <= theta + 1e-4 * alpha * (f @ d):
                break
            # Near the solution theta's decrease falls below its rounding error: accept a step
            # that halves the gradient norm (the quadratically convergent regime).
            if np.linalg.norm(np.diag(xn) - b) <= 0.5 * np.linalg.norm(f):
                break
            alpha *= 0.5
        y = y + alpha * d
    else:
        raise RuntimeError("reference Newton did not converge")
    x = x + floor * np.eye(n)
    return 0.5 * (x + x.T), y, it


def higham_dykstra(g, iters=20000):
    y = g.copy()
    ds = np.zeros_like(g)
    for _ in range(iters):
        r = y - ds
        x, _, _ = proj_psd(r)
        ds = x - r
        y_old, y = y, x.copy()
        np.fill_diagonal(y, 1.0)
        if np.linalg.norm(y - y_old) <= 1e-15 * np.linalg.norm(y):
            break
    return y


def unit_diag_sym(a):
    a = np.triu(a) + np.triu(a, 1).T
    np.fill_diagonal(a, 1.0)
    return a


def cases():
    rng = np.random.default_rng(20260522)
    out = {}
    # Higham (2002), section 4: the 4x4 tridiagonal example.
    out["higham_4"] = (np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]], float), 0.0)
    # Symmetric, unit diagonal, uniform off-diagonal entries: very indefinite.
    out["uniform_10"] = (unit_diag_sym(rng.uniform(-1, 1, (10, 10))), 0.0)
    out["uniform_50"] = (unit_diag_sym(rng.uniform(-1, 1, (50, 50))), 0.0)
    # A valid correlation matrix plus noise: a few small negative eigenvalues (CorrGAN-like).
    for n in (50, 100):
        f = rng.standard_normal((n, 3))
        c = f @ f.T + np.diag(rng.uniform(0.2, 1.0, n))
        d = 1 / np.sqrt(np.diag(c))
        c = c * d[:, None] * d[None, :]
        out[f"noisy_{n}"] = (unit_diag_sym(c + 0.08 * rng.standard_normal((n, n))), 0.0)
    # Same kind of input with an eigenvalue floor.
    out["noisy_50_floor"] = (out["noisy_50"][0], 1e-4)
    # Already a correlation matrix: must come back unchanged.
    f = rng.standard_normal((20, 40))
    c = np.corrcoef(f)
    out["valid_20"] = (0.5 * (c + c.T), 0.0)
    np.fill_diagonal(out["valid_20"][0], 1.0)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {}
    for name, (g, floor) in cases().items():
        x, y, it = qi_sun_reference(g, floor)
        assert np.max(np.abs(np.diag(x) - 1)) <= 1e-13, name
        mine = np.linalg.eigvalsh(x).min()
        assert mine >= floor - 1e-13, (name, mine)
        if floor == 0.0:
            xh = higham_dykstra(g)
            err = np.max(np.abs(xh - x))
            assert err <= 1e-9, (name, err)
        else:
            err = None
        np.save(os.path.join(OUT, f"{name}_input.npy"), g)
        np.save(os.path.join(OUT, f"{name}_expected.npy"), x)
        manifest[name] = {
            "n": g.shape[0],
            "eig_floor": floor,
            "frobenius_distance": float(np.linalg.norm(x - g)),
            "min_eig_before": float(np.linalg.eigvalsh(g).min()),
            "min_eig_after": float(mine),
            "newton_iterations": it,
            "higham_dykstra_max_abs_diff": err,
        }
        print(name, manifest[name])
    manifest["_generator"] = "scripts/fixtures_repair.py (numpy %s)" % np.__version__
    with open(os.path.join(OUT, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
