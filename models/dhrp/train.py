"""Train DHRP on `corrmc export-training` data, export ONNX, check it.

    python train.py --config config.toml --data train_50.h5 --out DIR

Writes DIR/<export name> (ONNX), DIR/dhrp_hrp_init_<n>.onnx (the untrained layer, = HRP)
and DIR/report.json (config, seeds, timings, validation numbers). Asserts on the way:
the untrained layer reproduces the engine's HRP weights (1e-9), the ONNX model agrees
with the numpy/autograd forward (1e-5, float64), weights are >= 0 and sum to 1.
"""

import argparse
import json
import math
import os
import sys
import time
import tomllib

import autograd.numpy as np
import h5py
import numpy as onp
from autograd import grad

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dhrp  # noqa: E402

HRP_TOL = 1e-9
ONNX_TOL = 1e-5


def load(path):
    with h5py.File(path, "r") as f:
        d = {k: f[k][...] for k in ("cov_is", "features", "sigma_true", "cov_oos", "w_hrp", "split")}
        d["feature_names"] = f["features"].attrs["names"]
        d["source"] = f.attrs["source"]
        d["in_sample_days"] = int(f.attrs["in_sample_days"])
        link = str(f.attrs.get("linkage", "single"))
    if link != "single":
        # The served DHRP orders by single linkage (src/alloc/dhrp.rs); DHRP_paper takes Ward.
        raise SystemExit(f"{path}: exported with --linkage {link}; the variance-trained DHRP is served "
                         "on the single-linkage order (train the paper's layer with train_paper.py)")
    return d


def subset(d, mask):
    return {k: (v[mask] if isinstance(v, onp.ndarray) else v) for k, v in d.items()}


def quad(w, S):
    return np.sum(np.matmul(S, w[..., None])[..., 0] * w, axis=-1)


def hrp_weight(step, total, c):
    """Eq. 8 curriculum: lambda decreases from hrp_start to hrp_end (cosine)."""
    t = min(step / max(total, 1), 1.0)
    return c["hrp_end"] + (c["hrp_start"] - c["hrp_end"]) * 0.5 * (1 + math.cos(math.pi * t))


def make_loss(st, norm, c, n):
    def loss(p, S, feats, target, w_hrp, lam):
        w = dhrp.forward(p, S, feats, st, norm)
        v_hrp = quad(w_hrp, target)
        ratio = quad(w, target) / v_hrp  # out-of-sample variance relative to HRP's
        total = (c["variance"] + 0.5 * c["crra_gamma"]) * np.mean(ratio)
        total = total + lam * np.mean(n * np.sum((w - w_hrp) ** 2, axis=-1))
        if c["entropy"] != 0.0:
            ent = -np.sum(w * np.log(w + 1e-300), axis=-1) / math.log(n)
            total = total - c["entropy"] * np.mean(ent)
        return total

    return loss


def adamw_step(p, g, state, lr, cfg, step):
    b1, b2, eps = cfg["beta1"], cfg["beta2"], 1e-8
    for k in p:
        m = state["m"][k] = b1 * state["m"][k] + (1 - b1) * g[k]
        v = state["v"][k] = b2 * state["v"][k] + (1 - b2) * g[k] ** 2
        mh = m / (1 - b1**step)
        vh = v / (1 - b2**step)
        decay = cfg["weight_decay"] if onp.ndim(p[k]) == 2 else 0.0  # matrices only
        p[k] = p[k] * (1 - lr * decay) - lr * mh / (onp.sqrt(vh) + eps)


def cosine_lr(step, total, cfg):
    if step <= cfg["warmup_steps"]:
        return cfg["lr"] * step / max(cfg["warmup_steps"], 1)
    t = (step - cfg["warmup_steps"]) / max(total - cfg["warmup_steps"], 1)
    return cfg["lr_min"] + 0.5 * (cfg["lr"] - cfg["lr_min"]) * (1 + math.cos(math.pi * min(t, 1.0)))


def evaluate(p, d, st, norm, target_key):
    w = onp.asarray(dhrp.forward(p, d["cov_is"], d["features"], st, norm))
    S = d[target_key]
    n = st.n
    iv = 1.0 / onp.einsum("bii->bi", d["cov_is"])
    w_rp = iv / iv.sum(1, keepdims=True)
    var = {"DHRP": quad(w, S), "HRP": quad(d["w_hrp"], S), "RP": quad(w_rp, S)}
    out = {}
    for k, v in var.items():
        out[k] = {
            "mean_var_ratio_to_HRP": float(onp.mean(v / var["HRP"])),
            "mean_ann_vol": float(onp.mean(onp.sqrt(252 * v))),
        }
    diff = onp.log(onp.sqrt(var["DHRP"])) - onp.log(onp.sqrt(var["HRP"]))
    se = diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    out["paired_log_vol_DHRP_minus_HRP"] = {
        "mean": float(diff.mean()),
        "ci95": [float(diff.mean() - 1.96 * se), float(diff.mean() + 1.96 * se)],
        "trials": int(len(diff)),
    }
    out["DHRP"]["min_weight"] = float(w.min())
    out["DHRP"]["max_abs_sum_minus_1"] = float(onp.abs(w.sum(1) - 1).max())
    out["DHRP"]["mean_abs_diff_to_HRP"] = float(onp.mean(onp.abs(w - d["w_hrp"])))
    del n
    return out, w


def check_onnx(path, d, w_ref, what):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    w = sess.run(["weights"], {"cov": d["cov_is"], "features": d["features"]})[0]
    err = float(onp.abs(w - w_ref).max())
    assert err <= ONNX_TOL, f"{path}: ONNX vs autograd max |dw| = {err} > {ONNX_TOL} ({what})"
    return err


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    with open(a.config, "rb") as fh:
        cfg = tomllib.load(fh)
    mc, tc, lc = cfg["model"], cfg["train"], cfg["loss"]
    if lc["sharpe"] != 0.0:
        raise SystemExit(
            f"{a.config}: loss.sharpe must be 0: simulated returns have zero mean, so the smooth "
            "Sharpe ratio (Eq. 7) has a zero numerator and no useful gradient"
        )
    target_key = {"true": "sigma_true", "oos": "cov_oos"}[lc["target"]]
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    data = load(a.data)
    n = data["cov_is"].shape[1]
    F = data["features"].shape[1]
    tr = subset(data, data["split"] == 0)
    va = subset(data, data["split"] == 1)
    if len(va["split"]) == 0:
        raise SystemExit(f"{a.data}: no validation trials (split == 1)")
    st = dhrp.Structure(n)
    mu = tr["features"].mean(0)
    sd = tr["features"].std(0)
    norm = (mu, onp.where(sd > 1e-12, sd, 1.0))
    p = dhrp.init_params(F, mc["hidden"], mc["gate_hidden"], seed=tc["seed"])

    # The untrained layer is HRP: check against the engine's weights, export it.
    w0, _ = evaluate(p, va, st, norm, target_key)[1], None
    err_hrp = float(onp.abs(w0 - va["w_hrp"]).max())
    assert err_hrp <= HRP_TOL, f"untrained DHRP differs from the engine's HRP by {err_hrp}"
    init_path = os.path.join(a.out, f"dhrp_hrp_init_{n}.onnx")
    dhrp.to_onnx(p, st, norm, init_path, F)
    err_init_onnx = check_onnx(init_path, va, w0, "HRP init")
    err_init_onnx_hrp = float(
        onp.abs(
            check_onnx_weights(init_path, va) - va["w_hrp"]
        ).max()
    )
    assert err_init_onnx_hrp <= HRP_TOL, f"{init_path}: ONNX HRP-init differs from HRP by {err_init_onnx_hrp}"

    loss = make_loss(st, norm, lc, n)
    dloss = grad(loss)
    rng = onp.random.default_rng(tc["seed"])
    ntr = len(tr["split"])
    bs = min(tc["batch"], ntr)
    steps_per_epoch = max(ntr // bs, 1)
    total = tc["epochs"] * steps_per_epoch
    state = {"m": {k: onp.zeros_like(v) for k, v in p.items()}, "v": {k: onp.zeros_like(v) for k, v in p.items()}}
    best = (evaluate(p, va, st, norm, target_key)[0]["DHRP"]["mean_var_ratio_to_HRP"], {k: v.copy() for k, v in p.items()}, 0)
    history = []
    step = 0
    for epoch in range(1, tc["epochs"] + 1):
        perm = rng.permutation(ntr)
        for b in range(steps_per_epoch):
            idx = perm[b * bs:(b + 1) * bs]
            step += 1
            lam = hrp_weight(step, total, lc)
            g = dloss(p, tr["cov_is"][idx], tr["features"][idx], tr[target_key][idx], tr["w_hrp"][idx], lam)
            gn = math.sqrt(sum(float(onp.sum(v**2)) for v in g.values()))
            if gn > tc["clip_norm"]:
                g = {k: v * (tc["clip_norm"] / gn) for k, v in g.items()}
            adamw_step(p, g, state, cosine_lr(step, total, tc), tc, step)
        ev = evaluate(p, va, st, norm, target_key)[0]
        r = ev["DHRP"]["mean_var_ratio_to_HRP"]
        history.append({"epoch": epoch, "lambda_hrp": lam, "val_var_ratio_to_HRP": r,
                        "tau": float(onp.exp(p["log_tau"])), "alpha": float(dhrp.alpha_of(p))})
        print(f"epoch {epoch:3d}  lambda_hrp {lam:.3f}  val var/HRP {r:.5f}  tau {history[-1]['tau']:.3f}  "
              f"alpha {history[-1]['alpha']:.3f}", flush=True)
        if r < best[0]:
            best = (r, {k: v.copy() for k, v in p.items()}, epoch)
    p = best[1]
    train_s = time.time() - t0
    ev, w_val = evaluate(p, va, st, norm, target_key)
    assert ev["DHRP"]["min_weight"] >= 0.0 and ev["DHRP"]["max_abs_sum_minus_1"] <= 1e-12
    te = subset(data, data["split"] == 2)
    ev_test = evaluate(p, te, st, norm, target_key)[0] if len(te["split"]) else None
    out_path = os.path.join(a.out, cfg["export"]["name"].format(n=n))
    dhrp.to_onnx(p, st, norm, out_path, F)
    err_onnx = check_onnx(out_path, va, w_val, "trained")
    report = {
        "config": cfg,
        "data": {"path": os.path.abspath(a.data), "source": data["source"], "n": n,
                 "features": list(str(data["feature_names"]).split(",")),
                 "in_sample_days": data["in_sample_days"],
                 "train": int(ntr), "validation": int(len(va["split"])), "test": int(len(te["split"]))},
        "objective_target": target_key,
        "best_epoch": best[2],
        "train_seconds": round(train_s, 1),
        "steps": total,
        "checks": {"hrp_init_max_abs_diff": err_hrp, "hrp_init_onnx_vs_autograd": err_init_onnx,
                   "hrp_init_onnx_vs_engine_hrp": err_init_onnx_hrp, "onnx_vs_autograd": err_onnx},
        "validation": ev,
        "test": ev_test,
        "history": history,
        "tau": float(onp.exp(p["log_tau"])),
        "alpha": float(dhrp.alpha_of(p)),
    }
    with open(os.path.join(a.out, "report.json"), "w") as fh:
        json.dump(report, fh, indent=2, default=str)
    v = ev
    print(f"validation ({len(va['split'])} trials, {target_key}): ann. vol DHRP {v['DHRP']['mean_ann_vol']:.5f}  "
          f"HRP {v['HRP']['mean_ann_vol']:.5f}  RP {v['RP']['mean_ann_vol']:.5f}; var/HRP DHRP "
          f"{v['DHRP']['mean_var_ratio_to_HRP']:.5f} RP {v['RP']['mean_var_ratio_to_HRP']:.5f}")
    pc = v["paired_log_vol_DHRP_minus_HRP"]
    print(f"paired log vol DHRP - HRP: {pc['mean']:+.5f}  95% CI [{pc['ci95'][0]:+.5f}, {pc['ci95'][1]:+.5f}]")
    print(f"checks: HRP init {err_hrp:.1e} (autograd), {err_init_onnx_hrp:.1e} (ONNX); ONNX vs autograd "
          f"{err_onnx:.1e}; {train_s:.1f} s -> {out_path}")
    return report


def check_onnx_weights(path, d):
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(["weights"], {"cov": d["cov_is"], "features": d["features"]})[0]


if __name__ == "__main__":
    main()
