"""The paper's DHRP layer (Amador, "Differentiable Hierarchical Risk Parity", §3.2-3.3,
Eq. 2-5), float64, in numpy + `autograd`; `to_onnx` emits the same computation op for op.

Inputs per trial (all in the tree's leaf order, i.e. "HRP's order" under the export's
linkage, Ward by default as the paper's HRP, §4.2):
  cov  [n, n]  in-sample covariance Σ
  moments [3, n]  in-sample per-asset signals: row 0 the mean daily return, row 1 momentum
                  (return over the last 21 days minus the return over the 21 days before),
                  row 2 the volatility regime (sd of the last 21 days / sd of the window)
Output: weights [n] in that order.

  x   = §3.3 features: annualized means clip [-2, 2], annualized vols clip [0.01, 2],
        momentum, volatility regime, average pairwise correlation (d = 4n + 1);
        standardized with training statistics
  h   = LayerNorm(x + f_cov(vech(Σ / ‖Σ‖∞)))                                  (Eq. 3)
  π_k = softmax((−log V_L + δ_k(h), −log V_R) / τ),  δ = gate network of h      (Eq. 2)
  p   = Π over the path of π_k[d]                                               (Eq. 4)
  b   ∝ p · exp(θ_leaf)                        (the leaves' learnable logits, §3.2)
  w   = α b + (1 − α) IV,  α = sigmoid(θ_α),  IV ∝ 1/σ                          (Eq. 5)

At δ = 0 (the gate heads start at zero), τ = 1, θ_leaf = 0 and θ_α = 40 (sigmoid(40) is
1.0 in float64), π_k[L] = 1 − V_L/(V_L + V_R), HRP's split factor: the layer is HRP.
"""

import autograd.numpy as np
import numpy as onp

from dhrp import EPS_LN, Structure  # noqa: F401  (shared tree masks / LayerNorm epsilon)

ALPHA_EXACT_LOGIT = 40.0  # 1/(1 + e^-40) == 1.0 in float64: α = 1 exactly


def feature_names(n):
    fam = ("mean_ann", "vol_ann", "momentum", "vol_regime")
    return [f"{f}_{i}" for f in fam for i in range(n)] + ["avg_corr"]


def raw_features(S, M, ann):
    """§3.3 feature families from the in-sample path: [B, 4n + 1]. M = moments [B, 3, n]."""
    n = S.shape[-1]
    mean = M[:, 0, :]
    d = np.sum(S * onp.eye(n), axis=-1)
    vol = np.minimum(np.maximum(np.sqrt(ann * d), 0.01), 2.0)
    mu = np.minimum(np.maximum(ann * mean, -2.0), 2.0)
    sd = np.sqrt(d)
    corr = S / (sd[:, :, None] * sd[:, None, :])
    avg = (np.sum(np.sum(corr, axis=-1), axis=-1) - n) / (n * (n - 1))
    return np.concatenate([mu, vol, M[:, 1, :], M[:, 2, :], avg[:, None]], axis=-1)


def vech_index(n):
    iu = onp.triu_indices(n)
    return iu, (iu[0] * n + iu[1]).astype(onp.int64)


def init_params(n, hidden=64, seed=0, alpha_logit=ALPHA_EXACT_LOGIT):
    """Parameters at the HRP point (gate heads, leaf logits zero; τ = 1; α = 1)."""
    rng = onp.random.default_rng(seed)
    d = 4 * n + 1
    P = n * (n + 1) // 2
    K = n - 1
    return {
        # Eq. 3: f_cov, a one-hidden-layer MLP on vech(Σ/‖Σ‖∞), and LayerNorm.
        "Wc1": rng.normal(0, 1 / onp.sqrt(P), (P, hidden)),
        "bc1": onp.zeros(hidden),
        "Wc2": rng.normal(0, 1 / onp.sqrt(hidden), (hidden, d)),
        "bc2": onp.zeros(d),
        "ln_gamma": onp.ones(d),
        "ln_beta": onp.zeros(d),
        # Eq. 2: gate network g(h): shared hidden layer, one head per internal node k.
        "Wg1": rng.normal(0, 1 / onp.sqrt(d), (d, hidden)),
        "bg1": onp.zeros(hidden),
        "Wg2": onp.zeros((hidden, K)),
        "bg2": onp.zeros(K),
        "log_tau": onp.zeros(()),
        # §3.2 leaf logits and Eq. 5 blend.
        "leaf": onp.zeros(n),
        "theta_alpha": onp.asarray(float(alpha_logit)),
    }


def alpha_of(p):
    return 1.0 / (1.0 + np.exp(-p["theta_alpha"]))


def forward(p, S, M, st, norm, ann):
    """Weights [B, n]. norm = (mean, sd) of the raw features on the training split."""
    n = st.n
    d = np.sum(S * st.eye, axis=-1)
    ivar = 1.0 / d
    v = {}
    for side, C in (("l", st.L), ("r", st.R)):
        u = C[None, :, :] * ivar[:, None, :]
        W = u / np.sum(u, axis=-1, keepdims=True)
        v[side] = np.sum(np.matmul(W, S) * W, axis=-1)  # cluster variances (getClusterVar)
    zlog = np.log(v["r"]) - np.log(v["l"])
    x = (raw_features(S, M, ann) - norm[0]) / norm[1]
    # Eq. 3. ‖Σ‖∞ = max row sum of |Σ| (the induced ∞-norm); vech: Σ is symmetric, the
    # upper triangle carries all of vec(Σ).
    nrm = np.max(np.sum(np.abs(S), axis=-1), axis=-1)
    iu, _ = vech_index(n)
    u = (S / nrm[:, None, None])[:, iu[0], iu[1]]
    a = np.maximum(np.matmul(u, p["Wc1"]) + p["bc1"], 0.0)
    f = np.matmul(a, p["Wc2"]) + p["bc2"]
    y = x + f
    m = np.mean(y, axis=-1, keepdims=True)
    c = y - m
    var = np.mean(c * c, axis=-1, keepdims=True)
    h = (c / np.sqrt(var + EPS_LN)) * p["ln_gamma"] + p["ln_beta"]
    # Eq. 2: node logits, HRP's plus the gate network's correction, over τ.
    g = np.maximum(np.matmul(h, p["Wg1"]) + p["bg1"], 0.0)
    delta = np.matmul(g, p["Wg2"]) + p["bg2"]
    z = (zlog + delta) * np.exp(-p["log_tau"])
    logp_l = -np.log(1.0 + np.exp(-z))
    logp_r = -np.log(1.0 + np.exp(z))
    # Eq. 4 path products with the leaf logits, renormalized.
    b = np.exp(np.matmul(logp_l, st.L) + np.matmul(logp_r, st.R) + p["leaf"])
    b = b / np.sum(b, axis=-1, keepdims=True)
    # Eq. 5.
    iv = 1.0 / np.sqrt(d)
    iv = iv / np.sum(iv, axis=-1, keepdims=True)
    al = alpha_of(p)
    w = b * al + iv * (1.0 - al)
    return w / np.sum(w, axis=-1, keepdims=True)


def to_onnx(p, st, norm, ann, path, linkage):
    """The forward pass as an ONNX graph (float64, opset 13, batch symbolic)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    D = TensorProto.DOUBLE
    inits, nodes, cnt = [], [], [0]

    def const(name, arr, dtype=onp.float64):
        inits.append(numpy_helper.from_array(onp.asarray(arr, dtype=dtype), name))
        return name

    def op(kind, inputs, **attrs):
        cnt[0] += 1
        out = f"{kind.lower()}_{cnt[0]}"
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    p = {k: onp.asarray(v, dtype=onp.float64) for k, v in p.items()}
    n = st.n
    one = const("one", 1.0)
    ax_last = const("ax_last", [-1], onp.int64)
    ax1 = const("ax1", [1], onp.int64)
    ax2 = const("ax2", [2], onp.int64)

    def rsum(x, keep):
        return op("ReduceSum", [x, ax_last], keepdims=keep)

    def clip(x, lo, hi, tag):
        return op("Min", [op("Max", [x, const(tag + "_lo", lo)]), const(tag + "_hi", hi)])

    def relu_lin(x, W, b, tag, relu=True):
        y = op("Add", [op("MatMul", [x, const(tag + "_W", W)]), const(tag + "_b", b)])
        return op("Relu", [y]) if relu else y

    S = "cov"
    d = rsum(op("Mul", [S, const("eye", st.eye)]), 0)
    ivar = op("Div", [one, d])
    ivar_u = op("Unsqueeze", [ivar, ax1])
    v = {}
    for side, C in (("l", st.L), ("r", st.R)):
        Cn = const("mask_" + side, C)
        u = op("Mul", [Cn, ivar_u])
        W = op("Div", [u, rsum(u, 1)])
        v[side] = rsum(op("Mul", [op("MatMul", [W, S]), W]), 0)
    zlog = op("Sub", [op("Log", [v["r"]]), op("Log", [v["l"]])])
    annc = const("ann", ann)
    sd = op("Sqrt", [d])
    vol = clip(op("Sqrt", [op("Mul", [d, annc])]), 0.01, 2.0, "vol")
    row = [op("Gather", ["moments", const(f"row{k}", k, onp.int64)], axis=1) for k in range(3)]
    mu = clip(op("Mul", [row[0], annc]), -2.0, 2.0, "mu")
    corr = op("Div", [S, op("Mul", [op("Unsqueeze", [sd, ax2]), op("Unsqueeze", [sd, ax1])])])
    tot = op("ReduceSum", [op("Reshape", [corr, const("shape_flat", [-1, n * n], onp.int64)]), ax_last],
             keepdims=1)
    avg = op("Mul", [op("Sub", [tot, const("n_f", float(n))]), const("inv_pairs", 1.0 / (n * (n - 1)))])
    x = op("Concat", [mu, vol, row[1], row[2], avg], axis=1)
    x = op("Div", [op("Sub", [x, const("x_mean", norm[0])]), const("x_sd", norm[1])])
    nrm = op("ReduceMax", [rsum(op("Abs", [S]), 0)], axes=[-1], keepdims=1)  # [B, 1]
    flat = op("Reshape", [S, "shape_flat"])
    _, idx = vech_index(n)
    u = op("Div", [op("Gather", [flat, const("vech_idx", idx, onp.int64)], axis=1), nrm])
    a = relu_lin(u, p["Wc1"], p["bc1"], "c1")
    f = relu_lin(a, p["Wc2"], p["bc2"], "c2", relu=False)
    y = op("Add", [x, f])
    m = op("ReduceMean", [y], axes=[-1], keepdims=1)
    c = op("Sub", [y, m])
    var = op("ReduceMean", [op("Mul", [c, c])], axes=[-1], keepdims=1)
    h = op("Div", [c, op("Sqrt", [op("Add", [var, const("eps_ln", EPS_LN)])])])
    h = op("Add", [op("Mul", [h, const("ln_gamma", p["ln_gamma"])]), const("ln_beta", p["ln_beta"])])
    g = relu_lin(h, p["Wg1"], p["bg1"], "g1")
    delta = relu_lin(g, p["Wg2"], p["bg2"], "g2", relu=False)
    z = op("Mul", [op("Add", [zlog, delta]), const("inv_tau", onp.exp(-p["log_tau"]))])
    logp_l = op("Neg", [op("Log", [op("Add", [one, op("Exp", [op("Neg", [z])])])])])
    logp_r = op("Neg", [op("Log", [op("Add", [one, op("Exp", [z])])])])
    logb = op("Add", [op("Add", [op("MatMul", [logp_l, "mask_l"]), op("MatMul", [logp_r, "mask_r"])]),
                      const("leaf", p["leaf"])])
    b = op("Exp", [logb])
    b = op("Div", [b, rsum(b, 1)])
    iv = op("Div", [one, sd])
    iv = op("Div", [iv, rsum(iv, 1)])
    al = float(1.0 / (1.0 + onp.exp(-p["theta_alpha"])))
    w = op("Add", [op("Mul", [b, const("alpha", al)]), op("Mul", [iv, const("one_minus_alpha", 1.0 - al)])])
    nodes.append(helper.make_node("Div", [w, rsum(w, 1)], ["weights"]))
    graph = helper.make_graph(
        nodes,
        f"dhrp_paper_{linkage}",
        [helper.make_tensor_value_info("cov", D, ["B", n, n]),
         helper.make_tensor_value_info("moments", D, ["B", 3, n])],
        [helper.make_tensor_value_info("weights", D, ["B", n])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="corrmc-dhrp-paper")
    model.ir_version = 8
    model.doc_string = (
        f"DHRP_paper (Amador Eq. 2-5) for n = {n} assets, float64, tree linkage {linkage}. Inputs: cov "
        f"[B, n, n] (in-sample covariance in the {linkage}-linkage leaf order), moments [B, 3, n] "
        f"(in-sample mean daily return, 21-day momentum, volatility regime per asset, same order; "
        f"annualized x{ann:g} inside). Output: weights [B, n] in that "
        "order. See models/dhrp/README.md."
    )
    onnx.helper.set_model_props(model, {"linkage": linkage, "annualization": str(ann)})
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path
