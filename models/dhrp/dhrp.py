"""DHRP layer (after Amador, "Differentiable Hierarchical Risk Parity"), adapted to
corrmc's exchangeable-asset study; see README.md in this folder.

Written in numpy + `autograd` (no PyTorch: see README.md, "Why not PyTorch"), float64
throughout. The same computation is emitted as an ONNX graph by `to_onnx`, op for op.

Inputs per trial: `cov` [n, n], the in-sample covariance in HRP's order (single-linkage
leaf order), and `features` [F], global features computed by the engine
(`corrmc::alloc::dhrp::features`). Output: weights in that order.

Tree: the bisection tree of the ordered list (HRP's recursive bisection: a node over k
items gives floor(k/2) to its left child), fixed for fixed n; internal nodes k = 0..n-2.
"""

import autograd.numpy as np
import numpy as onp

EPS_LN = 1e-5
NODE_FEATURES = [
    "log_vL_minus_log_vR",
    "mean_within_corr_L",
    "mean_within_corr_R",
    "mean_between_corr",
    "log_size_L",
    "log_size_R",
]


def bisection_tree(n):
    """Masks L, R [K, n] (1 where asset i is in node k's left/right child)."""
    nodes = []
    stack = [(0, n)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        m = a + (b - a) // 2
        nodes.append((a, m, b))
        stack.append((m, b))
        stack.append((a, m))
    K = len(nodes)
    L = onp.zeros((K, n))
    R = onp.zeros((K, n))
    for k, (a, m, b) in enumerate(nodes):
        L[k, a:m] = 1.0
        R[k, m:b] = 1.0
    return L, R


class Structure:
    """Constants of the tree for n assets."""

    def __init__(self, n):
        self.n = n
        self.L, self.R = bisection_tree(n)
        self.K = self.L.shape[0]
        self.size_l = self.L.sum(1)
        self.size_r = self.R.sum(1)
        self.inv_den_l = 1.0 / onp.maximum(self.size_l * (self.size_l - 1), 1.0)
        self.inv_den_r = 1.0 / onp.maximum(self.size_r * (self.size_r - 1), 1.0)
        self.inv_lr = 1.0 / (self.size_l * self.size_r)
        self.eye = onp.eye(n)


def init_params(F, hidden=16, gate_hidden=16, seed=0):
    """Parameters at the HRP point: gate output layer zero, tau = 1, alpha = 0."""
    rng = onp.random.default_rng(seed)
    nf = len(NODE_FEATURES)
    return {
        # Eq. 3: global features -> h (MLP with LayerNorm).
        "W1": rng.normal(0, 1 / onp.sqrt(F), (F, hidden)),
        "b1": onp.zeros(hidden),
        "ln_gamma": onp.ones(hidden),
        "ln_beta": onp.zeros(hidden),
        # Eq. 2: gate MLP on [node features, h]; its output layer starts at zero.
        "Wx": rng.normal(0, 1 / onp.sqrt(nf + hidden), (nf, gate_hidden)),
        "Wh": rng.normal(0, 1 / onp.sqrt(nf + hidden), (hidden, gate_hidden)),
        "bg1": onp.zeros(gate_hidden),
        "wg2": onp.zeros(gate_hidden),
        "bg2": onp.zeros(()),
        # Temperature tau = exp(log_tau); blend alpha = clip(a_alpha, 0, 1) (Eq. 5).
        "log_tau": onp.zeros(()),
        "a_alpha": onp.zeros(()),
    }


def alpha_of(p):
    """alpha = min(max(a, 0), 1). At a = 0 autograd's max passes half the gradient, so
    training can turn the blend on from the HRP point (np.clip would pass none)."""
    return np.minimum(np.maximum(p["a_alpha"], 0.0), 1.0)


def node_quantities(S, st):
    """Per node: log cluster variances and correlation summaries. S [B, n, n]."""
    d = np.sum(S * st.eye, axis=-1)  # [B, n]
    ivar = 1.0 / d
    out = {}
    for side, C in (("l", st.L), ("r", st.R)):
        u = C[None, :, :] * ivar[:, None, :]  # [B, K, n]
        W = u / np.sum(u, axis=-1, keepdims=True)
        out["v" + side] = np.sum(np.matmul(W, S) * W, axis=-1)  # [B, K]
    sd = np.sqrt(d)
    corr = S / (sd[:, :, None] * sd[:, None, :])
    LC = np.matmul(st.L, corr)  # [B, K, n]
    RC = np.matmul(st.R, corr)
    out["within_l"] = (np.sum(LC * st.L, axis=-1) - st.size_l) * st.inv_den_l
    out["within_r"] = (np.sum(RC * st.R, axis=-1) - st.size_r) * st.inv_den_r
    out["between"] = np.sum(LC * st.R, axis=-1) * st.inv_lr
    out["sd"] = sd
    return out


def forward(p, S, feats, st, norm, return_parts=False):
    """Weights [B, n] in the given (HRP) order. norm = (mean, sd) of the features."""
    q = node_quantities(S, st)
    log_vl = np.log(q["vl"])
    log_vr = np.log(q["vr"])
    zlog = log_vr - log_vl  # HRP logit: softmax(-log vL, -log vR) = 1 - vL/(vL+vR)
    # Eq. 3: h = ReLU(LayerNorm(W1 g + b1)), g standardized with training statistics.
    g = (feats - norm[0]) / norm[1]
    a1 = np.matmul(g, p["W1"]) + p["b1"]
    m = np.mean(a1, axis=-1, keepdims=True)
    c = a1 - m
    var = np.mean(c * c, axis=-1, keepdims=True)
    h = np.maximum((c / np.sqrt(var + EPS_LN)) * p["ln_gamma"] + p["ln_beta"], 0.0)
    # Eq. 2: node gate logit = (HRP logit + MLP correction) / tau.
    x = np.stack([-zlog, q["within_l"], q["within_r"], q["between"]], axis=-1)  # [B, K, 4]
    const_kg = (
        onp.log(st.size_l)[:, None] * p["Wx"][4]
        + onp.log(st.size_r)[:, None] * p["Wx"][5]
        + p["bg1"]
    )  # [K, G]
    pre = np.matmul(x, p["Wx"][:4]) + const_kg + np.matmul(h, p["Wh"])[:, None, :]
    gh = np.maximum(pre, 0.0)
    delta = np.sum(gh * p["wg2"], axis=-1) + p["bg2"]  # [B, K]
    z = (zlog + delta) * np.exp(-p["log_tau"])
    # Eq. 4: leaf budget = product of the gates on its path (in log space).
    logp_l = -np.log(1.0 + np.exp(-z))
    logp_r = -np.log(1.0 + np.exp(z))
    w_tree = np.exp(np.matmul(logp_l, st.L) + np.matmul(logp_r, st.R))
    # Eq. 5: blend with inverse-volatility weights.
    iv = 1.0 / q["sd"]
    w_iv = iv / np.sum(iv, axis=-1, keepdims=True)
    a = alpha_of(p)
    w = w_tree * (1.0 - a) + w_iv * a
    w = w / np.sum(w, axis=-1, keepdims=True)
    if return_parts:
        return w, {"z": z, "delta": delta}
    return w


# ---------------------------------------------------------------- ONNX export


def to_onnx(p, st, norm, path, F):
    """Writes the forward pass as an ONNX graph (float64, opset 13, batch symbolic)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    D = TensorProto.DOUBLE
    inits = []
    nodes = []
    cnt = [0]

    def const(name, arr, dtype=onp.float64):
        inits.append(numpy_helper.from_array(onp.asarray(arr, dtype=dtype), name))
        return name

    def op(kind, inputs, **attrs):
        cnt[0] += 1
        out = f"{kind.lower()}_{cnt[0]}"
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    p = {k: onp.asarray(v, dtype=onp.float64) for k, v in p.items()}
    one = const("one", 1.0)
    ax_last = const("ax_last", [-1], onp.int64)
    ax1 = const("ax1", [1], onp.int64)
    ax2 = const("ax2", [2], onp.int64)

    def rsum(x, keep):
        return op("ReduceSum", [x, ax_last], keepdims=keep)

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
    sd = op("Sqrt", [d])
    corr = op("Div", [S, op("Mul", [op("Unsqueeze", [sd, ax2]), op("Unsqueeze", [sd, ax1])])])
    LC = op("MatMul", ["mask_l", corr])
    RC = op("MatMul", ["mask_r", corr])
    w_l = op("Mul", [op("Sub", [rsum(op("Mul", [LC, "mask_l"]), 0), const("size_l", st.size_l)]),
                     const("inv_den_l", st.inv_den_l)])
    w_r = op("Mul", [op("Sub", [rsum(op("Mul", [RC, "mask_r"]), 0), const("size_r", st.size_r)]),
                     const("inv_den_r", st.inv_den_r)])
    btw = op("Mul", [rsum(op("Mul", [LC, "mask_r"]), 0), const("inv_lr", st.inv_lr)])
    zlog = op("Sub", [op("Log", [v["r"]]), op("Log", [v["l"]])])
    g = op("Div", [op("Sub", ["features", const("feat_mean", norm[0])]), const("feat_sd", norm[1])])
    a1 = op("Add", [op("MatMul", [g, const("W1", p["W1"])]), const("b1", p["b1"])])
    m = op("ReduceMean", [a1], axes=[-1], keepdims=1)
    c = op("Sub", [a1, m])
    var = op("ReduceMean", [op("Mul", [c, c])], axes=[-1], keepdims=1)
    ln = op("Div", [c, op("Sqrt", [op("Add", [var, const("eps_ln", EPS_LN)])])])
    ln = op("Add", [op("Mul", [ln, const("ln_gamma", p["ln_gamma"])]), const("ln_beta", p["ln_beta"])])
    h = op("Relu", [ln])
    neg_zlog = op("Neg", [zlog])
    x = op("Concat", [op("Unsqueeze", [t, ax2]) for t in (neg_zlog, w_l, w_r, btw)], axis=2)
    const_kg = (
        onp.log(st.size_l)[:, None] * p["Wx"][4]
        + onp.log(st.size_r)[:, None] * p["Wx"][5]
        + p["bg1"]
    )
    pre = op("Add", [op("MatMul", [x, const("Wx4", p["Wx"][:4])]), const("const_kg", const_kg)])
    hh = op("Unsqueeze", [op("MatMul", [h, const("Wh", p["Wh"])]), ax1])
    gh = op("Relu", [op("Add", [pre, hh])])
    delta = op("Add", [rsum(op("Mul", [gh, const("wg2", p["wg2"])]), 0), const("bg2", p["bg2"])])
    z = op("Mul", [op("Add", [zlog, delta]), const("inv_tau", onp.exp(-p["log_tau"]))])
    logp_l = op("Neg", [op("Log", [op("Add", [one, op("Exp", [op("Neg", [z])])])])])
    logp_r = op("Neg", [op("Log", [op("Add", [one, op("Exp", [z])])])])
    logw = op("Add", [op("MatMul", [logp_l, "mask_l"]), op("MatMul", [logp_r, "mask_r"])])
    w_tree = op("Exp", [logw])
    iv = op("Div", [one, sd])
    w_iv = op("Div", [iv, rsum(iv, 1)])
    a = float(onp.clip(p["a_alpha"], 0.0, 1.0))
    w = op("Add", [op("Mul", [w_tree, const("one_minus_alpha", 1.0 - a)]),
                   op("Mul", [w_iv, const("alpha", a)])])
    nodes.append(helper.make_node("Div", [w, rsum(w, 1)], ["weights"]))
    n = st.n
    graph = helper.make_graph(
        nodes,
        "dhrp",
        [
            helper.make_tensor_value_info("cov", D, ["B", n, n]),
            helper.make_tensor_value_info("features", D, ["B", F]),
        ],
        [helper.make_tensor_value_info("weights", D, ["B", n])],
        initializer=inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="corrmc-dhrp"
    )
    model.ir_version = 8
    model.doc_string = (
        f"DHRP (differentiable HRP) for n = {n} assets, float64. Inputs: cov [B, n, n] "
        f"(in-sample covariance in HRP order), features [B, {F}] (corrmc::alloc::dhrp::features). "
        "Output: weights [B, n] in that order. See models/dhrp/README.md."
    )
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path
