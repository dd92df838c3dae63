"""Train the paper's DHRP (dhrp_paper.py) on `corrmc export-training --linkage L` data
with the paper's loss (Amador Eq. 6-10) and optimizer (§3.5), export ONNX, check it.

    python train_paper.py --config config_paper.toml --data train.h5 --out DIR

Writes DIR/dhrp_paper_<linkage>_<n>.onnx (trained), DIR/dhrp_paper_<linkage>_hrp_init_<n>.onnx
(the untrained layer, = HRP under that linkage) and DIR/report.json. Asserts on the way:
the untrained layer reproduces the export's HRP weights (1e-9) in autograd and in ONNX
Runtime, the trained ONNX graph agrees with autograd (1e-5), weights are >= 0, sum to 1.
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
import dhrp_paper as dp  # noqa: E402
from train import HRP_TOL, ONNX_TOL, adamw_step, cosine_lr, hrp_weight, quad, subset  # noqa: E402

KEYS = ("cov_is", "mean_is", "momentum_is", "vol_ratio_is", "mu", "ret_fwd", "sigma_true", "cov_oos", "w_hrp", "split")


def load(path):
    with h5py.File(path, "r") as f:
        missing = [k for k in KEYS if k not in f]
        if missing:
            raise SystemExit(f"{path}: missing datasets {missing}; re-export with this corrmc "
                             "(`corrmc export-training SPEC --linkage ward -o FILE`)")
        d = {k: f[k][...] for k in KEYS}
        for k in ("source", "linkage"):
            d[k] = str(f.attrs[k])
        d["annualization"] = float(f.attrs["annualization"])
        d["horizon_days"] = int(f.attrs["horizon_days"])
    d["moments"] = onp.stack([d["mean_is"], d["momentum_is"], d["vol_ratio_is"]], axis=1)
    return d


def make_loss(st, norm, ann, c):
    gamma = c["crra_gamma"]

    def loss(p, S, M, ret, target, w_hrp, lam_h):
        w = dp.forward(p, S, M, st, norm, ann)
        r = np.sum(w * ret, axis=-1)  # r_t^p = w_t' r_{t+1}
        # Eq. 6 CRRA (log utility at γ = 1). 1 + r is floored at 1e-3: the forward
        # return is a sum of daily simple returns and could in principle pass -100 %.
        g1 = np.maximum(1.0 + r, 1e-3)
        if abs(gamma - 1.0) < 1e-12:
            u = np.log(g1)
        else:
            u = (g1 ** (1.0 - gamma) - 1.0) / (1.0 - gamma)
        total = -np.mean(u)
        # Eq. 7 smooth Sharpe over the batch.
        if c["sharpe"] != 0.0:
            mr = np.mean(r)
            sr = np.sqrt(np.mean((r - mr) ** 2))
            total = total - c["sharpe"] * mr / (sr + 1e-6)
        # Eq. 8 HRP proximity, λ_H from the curriculum.
        total = total + lam_h * np.mean(np.sum((w - w_hrp) ** 2, axis=-1))
        # Eq. 9 entropy *bonus* (subtracted: the printed sign would penalize entropy).
        if c["entropy"] != 0.0:
            ent = -np.sum(w * np.log(w + 1e-12), axis=-1)
            total = total - c["entropy"] * np.mean(ent)
        # L_var (§3.4 "variance penalty"): annualized portfolio variance.
        if c["variance"] != 0.0:
            total = total + c["variance"] * ann * np.mean(quad(w, target))
        return total  # Eq. 10: the sum

    return loss


def paired(a, b):
    diff = a - b
    se = diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    return {"mean": float(diff.mean()), "ci95": [float(diff.mean() - 1.96 * se), float(diff.mean() + 1.96 * se)]}


def evaluate(p, d, st, norm, ann, gamma, target_key):
    w = onp.asarray(dp.forward(p, d["cov_is"], d["moments"], st, norm, ann))
    S, mu = d[target_key], d["mu"]
    iv = 1.0 / onp.sqrt(onp.einsum("bii->bi", d["cov_is"]))
    ws = {"DHRP_paper": w, "HRP": d["w_hrp"], "IV": iv / iv.sum(1, keepdims=True)}
    out, per = {}, {}
    for k, x in ws.items():
        var = quad(x, S)
        m = onp.sum(x * mu, axis=-1)
        vol = onp.sqrt(ann * var)
        sharpe = ann * m / vol  # ex-ante annualized Sharpe under the true (μ, Σ)
        ce = ann * m - 0.5 * gamma * ann * var  # CRRA certainty equivalent, 2nd order
        r = onp.sum(x * d["ret_fwd"], axis=-1)
        per[k] = {"vol": vol, "sharpe": sharpe, "ce": ce}
        out[k] = {"mean_ann_vol": float(vol.mean()), "mean_sharpe": float(sharpe.mean()),
                  "mean_crra_ce": float(ce.mean()),
                  "fwd_return_batch_sharpe": float(r.mean() / (r.std() + 1e-12))}
    for k in ("vol", "sharpe", "ce"):
        out[f"paired_{k}_DHRP_paper_minus_HRP"] = paired(per["DHRP_paper"][k], per["HRP"][k])
    out["DHRP_paper"]["min_weight"] = float(w.min())
    out["DHRP_paper"]["max_abs_sum_minus_1"] = float(onp.abs(w.sum(1) - 1).max())
    out["DHRP_paper"]["mean_abs_diff_to_HRP"] = float(onp.mean(onp.abs(w - d["w_hrp"])))
    return out, w


def onnx_weights(path, d):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return sess.run(["weights"], {"cov": d["cov_is"], "moments": d["moments"]})[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-seconds", type=float, default=None, help="stop training after this long")
    a = ap.parse_args(argv)
    with open(a.config, "rb") as fh:
        cfg = tomllib.load(fh)
    mc, tc, lc = cfg["model"], cfg["train"], cfg["loss"]
    target_key = {"true": "sigma_true", "oos": "cov_oos"}[lc["target"]]
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    data = load(a.data)
    ann, link = data["annualization"], data["linkage"]
    n = data["cov_is"].shape[1]
    tr = subset(data, data["split"] == 0)
    va = subset(data, data["split"] == 1)
    if len(va["split"]) == 0:
        raise SystemExit(f"{a.data}: no validation trials (split == 1)")
    st = dhrp.Structure(n)
    xf = dp.raw_features(tr["cov_is"], tr["moments"], ann)
    sd = xf.std(0)
    norm = (xf.mean(0), onp.where(sd > 1e-12, sd, 1.0))
    p = dp.init_params(n, mc["hidden"], seed=tc["seed"], alpha_logit=mc.get("alpha_init_logit", dp.ALPHA_EXACT_LOGIT))
    gamma = lc["crra_gamma"]

    # The untrained layer is HRP (under the export's linkage): check and export it.
    ev0, w0 = evaluate(p, va, st, norm, ann, gamma, target_key)
    err_hrp = float(onp.abs(w0 - va["w_hrp"]).max())
    assert err_hrp <= HRP_TOL, f"untrained DHRP_paper differs from the export's HRP by {err_hrp}"
    init_path = os.path.join(a.out, f"dhrp_paper_{link}_hrp_init_{n}.onnx")
    dp.to_onnx(p, st, norm, ann, init_path, link)
    err_init_onnx_hrp = float(onp.abs(onnx_weights(init_path, va) - va["w_hrp"]).max())
    assert err_init_onnx_hrp <= HRP_TOL, f"{init_path}: ONNX HRP-init differs from HRP by {err_init_onnx_hrp}"

    loss = make_loss(st, norm, ann, lc)
    dloss = grad(loss)
    rng = onp.random.default_rng(tc["seed"])
    ntr = len(tr["split"])
    bs = min(tc["batch"], ntr)
    steps_per_epoch = max(ntr // bs, 1)
    total = tc["epochs"] * steps_per_epoch
    state = {"m": {k: onp.zeros_like(v) for k, v in p.items()}, "v": {k: onp.zeros_like(v) for k, v in p.items()}}

    def val_objective(p):
        # Model selection: the loss without the HRP term, on the whole validation split.
        return float(loss(p, va["cov_is"], va["moments"], va["ret_fwd"], va[target_key], va["w_hrp"], 0.0))

    best = (val_objective(p), {k: v.copy() for k, v in p.items()}, 0)
    history, step, stopped = [], 0, False
    for epoch in range(1, tc["epochs"] + 1):
        perm = rng.permutation(ntr)
        for b in range(steps_per_epoch):
            idx = perm[b * bs:(b + 1) * bs]
            step += 1
            lam = hrp_weight(step, total, lc)
            g = dloss(p, tr["cov_is"][idx], tr["moments"][idx], tr["ret_fwd"][idx], tr[target_key][idx],
                      tr["w_hrp"][idx], lam)
            gn = math.sqrt(sum(float(onp.sum(v**2)) for v in g.values()))
            if gn > tc["clip_norm"]:
                g = {k: v * (tc["clip_norm"] / gn) for k, v in g.items()}
            adamw_step(p, g, state, cosine_lr(step, total, tc), tc, step)
        vo = val_objective(p)
        ev = evaluate(p, va, st, norm, ann, gamma, target_key)[0]["DHRP_paper"]
        history.append({"epoch": epoch, "lambda_hrp": lam, "val_objective": vo, "val_sharpe": ev["mean_sharpe"],
                        "val_vol": ev["mean_ann_vol"], "tau": float(onp.exp(p["log_tau"])),
                        "alpha": float(dp.alpha_of(p))})
        print(f"epoch {epoch:3d}  lambda_hrp {lam:.3f}  val objective {vo:.6f}  Sharpe {ev['mean_sharpe']:.4f}  "
              f"vol {ev['mean_ann_vol']:.4f}  tau {history[-1]['tau']:.3f}  alpha {history[-1]['alpha']:.6f}",
              flush=True)
        if vo < best[0]:
            best = (vo, {k: v.copy() for k, v in p.items()}, epoch)
        if a.max_seconds is not None and time.time() - t0 > a.max_seconds:
            stopped = True
            print(f"stopping after epoch {epoch}: --max-seconds {a.max_seconds}", flush=True)
            break
    p = best[1]
    train_s = time.time() - t0
    ev, w_val = evaluate(p, va, st, norm, ann, gamma, target_key)
    assert ev["DHRP_paper"]["min_weight"] >= 0.0 and ev["DHRP_paper"]["max_abs_sum_minus_1"] <= 1e-12
    te = subset(data, data["split"] == 2)
    ev_test = evaluate(p, te, st, norm, ann, gamma, target_key)[0] if len(te["split"]) else None
    out_path = os.path.join(a.out, f"dhrp_paper_{link}_{n}.onnx")
    dp.to_onnx(p, st, norm, ann, out_path, link)
    err_onnx = float(onp.abs(onnx_weights(out_path, va) - w_val).max())
    assert err_onnx <= ONNX_TOL, f"{out_path}: ONNX vs autograd max |dw| = {err_onnx}"
    report = {
        "config": cfg,
        "data": {"path": os.path.abspath(a.data), "source": data["source"], "n": n, "linkage": link,
                 "annualization": ann, "horizon_days": data["horizon_days"],
                 "train": int(ntr), "validation": int(len(va["split"])), "test": int(len(te["split"]))},
        "objective_variance_target": target_key,
        "best_epoch": best[2],
        "epochs_run": len(history),
        "stopped_by_time_limit": stopped,
        "train_seconds": round(train_s, 1),
        "steps": step,
        "checks": {"hrp_init_max_abs_diff": err_hrp, "hrp_init_onnx_vs_engine_hrp": err_init_onnx_hrp,
                   "onnx_vs_autograd": err_onnx},
        "validation_at_init": ev0,
        "validation": ev,
        "test": ev_test,
        "history": history,
        "tau": float(onp.exp(p["log_tau"])),
        "alpha": float(dp.alpha_of(p)),
    }
    with open(os.path.join(a.out, "report.json"), "w") as fh:
        json.dump(report, fh, indent=2, default=str)
    v = ev
    print(f"validation ({len(va['split'])} trials): ann. vol DHRP_paper {v['DHRP_paper']['mean_ann_vol']:.5f} "
          f"HRP {v['HRP']['mean_ann_vol']:.5f}; Sharpe {v['DHRP_paper']['mean_sharpe']:.4f} vs HRP "
          f"{v['HRP']['mean_sharpe']:.4f}; CRRA CE {v['DHRP_paper']['mean_crra_ce']:.5f} vs "
          f"{v['HRP']['mean_crra_ce']:.5f}")
    print(f"checks: HRP init {err_hrp:.1e} (autograd), {err_init_onnx_hrp:.1e} (ONNX); ONNX vs autograd "
          f"{err_onnx:.1e}; {train_s:.1f} s -> {out_path}")
    return report


if __name__ == "__main__":
    main()
