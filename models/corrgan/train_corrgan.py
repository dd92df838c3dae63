"""Train a CorrGAN generator (Marti 2020 DCGAN) for n assets and export it as ONNX.

    python train_corrgan.py --config tiny.toml --data corrs.npy --out DIR
    python train_corrgan.py --config config.toml --data returns.csv --out DIR

Data: a `.npy` stack [M, n, n] of correlation matrices (used as is), or a returns CSV
(header row; rows = dates in time order; a first column that is not numeric, e.g. a date, is
dropped): rolling windows (`[data] window`, `step`) give correlation matrices; when the CSV
has more than n columns each window uses n columns drawn at random (seeded). `[data] order`
= "none" keeps the column order; "eigvec" sorts each matrix's assets by their loading on the
first eigenvector (a documented, deterministic rule; Marti orders by hierarchical clustering).

Writes DIR/generator_<n>d.onnx (contract of models/README.md: input `noise` f32 [N, latent],
output `corr` f32 [N, n, n], raw tanh output) and DIR/report.json. BatchNorm is folded into
the preceding layer with population statistics recomputed after training on a fixed noise
batch ("precise BN"); the script asserts folded == unfolded inference forward (float64, 1e-9)
and onnxruntime == numpy forward (float32, 1e-5).

numpy + autograd instead of PyTorch (see TRAINING.md): same stack as models/dhrp.
"""

import argparse
import json
import os
import sys
import time
import tomllib

import autograd.numpy as np
import numpy as onp
from autograd import value_and_grad

ONNX_TOL = 1e-5
FOLD_TOL = 1e-9
BN_EPS = 1e-3  # Keras default, as in the pretrained generator
LEAK = 0.3


# ---------------------------------------------------------------- data


def load_data(path, cfg, n, rng):
    d = cfg.get("data", {})
    if path.endswith(".npy"):
        x = onp.load(path).astype(onp.float64)
        if x.ndim != 3 or x.shape[1:] != (n, n):
            sys.exit(f"{path}: expected a stack [M, {n}, {n}], found {list(x.shape)}")
        source = "npy"
    else:
        x = windows_from_csv(path, n, int(d.get("window", 60)), int(d.get("step", 5)), rng)
        source = "csv"
    x = onp.array([order(c, d.get("order", "none")) for c in x])
    bad = onp.abs(onp.diagonal(x, axis1=1, axis2=2) - 1).max()
    if not onp.all(onp.isfinite(x)) or bad > 1e-6 or onp.abs(x - x.transpose(0, 2, 1)).max() > 1e-6:
        sys.exit(f"{path}: matrices must be finite, symmetric, with unit diagonal")
    return x, source


def windows_from_csv(path, n, window, step, rng):
    with open(path) as f:
        header = f.readline().strip().split(",")
        rows = [line.strip().split(",") for line in f if line.strip()]
    try:
        float(rows[0][0])
        first = 0
    except ValueError:
        first = 1  # date column
    r = onp.array([[float(v) for v in row[first:]] for row in rows])
    T, A = r.shape
    if A < n:
        sys.exit(f"{path}: {A} asset columns < n = {n}")
    if T < window:
        sys.exit(f"{path}: {T} rows < window = {window}")
    out = []
    for start in range(0, T - window + 1, step):
        cols = onp.arange(n) if A == n else onp.sort(rng.choice(A, n, replace=False))
        c = onp.corrcoef(r[start : start + window, cols], rowvar=False)
        if onp.all(onp.isfinite(c)):
            out.append(c)
    print(f"{path}: {len(out)} windows of {window} days (step {step}), {len(header) - first} assets", file=sys.stderr)
    return onp.array(out)


def order(c, rule):
    if rule == "none":
        return c
    if rule == "eigvec":
        v = onp.linalg.eigh(c)[1][:, -1]
        v = v * onp.sign(v.sum() or 1.0)
        p = onp.argsort(-v, kind="stable")
        return c[onp.ix_(p, p)]
    sys.exit(f"unknown [data] order '{rule}': expected none or eigvec")


def block_model(m, n, rng):
    """Synthetic data set: m block-model correlation matrices (2-3 blocks, random levels)."""
    out = []
    for _ in range(m):
        k = rng.integers(2, 4)
        labels = onp.sort(rng.integers(0, k, n))
        rho_in, rho_out = rng.uniform(0.4, 0.8), rng.uniform(0.0, 0.3)
        c = onp.where(labels[:, None] == labels[None, :], rho_in, rho_out)
        onp.fill_diagonal(c, 1.0)
        out.append(c)
    return onp.array(out)


# ---------------------------------------------------------------- model


def geometry(cfg):
    m = cfg["model"]
    n, s0 = int(m["n"]), int(m["seed_size"])
    strides = [int(v) for v in m["strides"]]
    if len(strides) != 2 or s0 * strides[0] * strides[1] != n:
        sys.exit(f"seed_size * strides[0] * strides[1] must equal n ({s0} * {strides} != {n})")
    return n, s0, strides, int(m["kernel"]), [int(v) for v in m["widths"]], int(m.get("latent", 100))


def init_params(cfg, rng):
    n, s0, strides, k, (c0, c1, c2), latent = geometry(cfg)
    dh = [int(v) for v in cfg["model"]["disc_hidden"]]

    def glorot(shape, fan_in, fan_out):
        lim = onp.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-lim, lim, shape)

    g = {
        "dense": glorot((latent, s0 * s0 * c0), latent, s0 * s0 * c0),
        "ct1": glorot((k, k, c0, c1), k * k * c0, k * k * c1),
        "ct2": glorot((k, k, c1, c2), k * k * c1, k * k * c2),
        "ct3": glorot((k, k, c2, 1), k * k * c2, k * k),
        "ct3_b": onp.zeros(1),  # the last layer has a bias (Keras default; no BN after it)
    }
    for name, c in (("bn0", s0 * s0 * c0), ("bn1", c1), ("bn2", c2)):
        g[name + "_g"] = onp.ones(c)
        g[name + "_b"] = onp.zeros(c)
    # The minibatch standard deviation feature (below) is one more input of the first layer.
    d, prev = {}, n * n + (1 if mbstd(cfg) else 0)
    for i, h in enumerate(dh + [1]):
        d[f"w{i}"] = glorot((prev, h), prev, h)
        d[f"b{i}"] = onp.zeros(h)
        prev = h
    return g, d


def leaky(x):
    return np.where(x > 0, x, LEAK * x)


def conv_t(x, w, s, bias=None):
    """TF/Keras Conv2DTranspose, padding 'same', NHWC: out [N, H*s, W*s, Cout].

    Scatter form: full[i*s + a, j*s + b] += x[i, j] @ w[a, b]; then crop pad_before =
    max(k - s, 0) // 2 at the start and keep H*s (zeros past the full output when k < s).

    Computed as one matrix product for all k² taps, then the taps are placed on the coarse grid:
    tap a = q*s + r (a padded to Q*s, Q = ceil(k/s)) lands on row (i + q)*s + r, so only Q²
    shifted adds of output-sized arrays remain (1 for the stride-5 layer). `conv_t_scatter`
    below is the literal scatter form; the two agree to rounding (checked by --self-check)."""
    N, H, W, cin = x.shape
    k, cout = w.shape[0], w.shape[3]
    pb = max(k - s, 0) // 2
    Q = -(-k // s)
    wm = np.reshape(np.transpose(w, (2, 0, 1, 3)), (cin, k * k * cout))
    y = np.reshape(np.dot(np.reshape(x, (N * H * W, cin)), wm), (N, H, W, k, k, cout))
    if Q * s > k:
        y = np.pad(y, ((0, 0), (0, 0), (0, 0), (0, Q * s - k), (0, Q * s - k), (0, 0)), "constant")
    y = np.reshape(y, (N, H, W, Q, s, Q, s, cout))
    full = None
    for q1 in range(Q):
        for q2 in range(Q):
            t = np.transpose(y[:, :, :, q1, :, q2, :, :], (0, 1, 3, 2, 4, 5))  # [N, H, s, W, s, cout]
            if Q > 1:
                t = np.pad(t, ((0, 0), (q1, Q - 1 - q1), (0, 0), (q2, Q - 1 - q2), (0, 0), (0, 0)), "constant")
            full = t if full is None else full + t
    full = np.reshape(full, (N, (H + Q - 1) * s, (W + Q - 1) * s, cout))
    return full[:, pb : pb + H * s, pb : pb + W * s, :]


def conv_t_scatter(x, w, s):
    """The literal scatter form of `conv_t` (slow; the reference for --self-check)."""
    N, H, W, _ = x.shape
    k, cout = w.shape[0], w.shape[3]
    pb = max(k - s, 0) // 2
    full = onp.zeros((N, (H - 1) * s + k + s, (W - 1) * s + k + s, cout))
    for a in range(k):
        for b in range(k):
            full[:, a : a + H * s : s, b : b + W * s : s, :] += onp.dot(x, w[a, b])
    return full[:, pb : pb + H * s, pb : pb + W * s, :]


def bn_train(x, g, b, axes):
    mu = np.mean(x, axis=axes, keepdims=True)
    var = np.mean((x - mu) ** 2, axis=axes, keepdims=True)
    return g * (x - mu) / np.sqrt(var + BN_EPS) + b


def gen_forward(g, z, cfg, stats=None):
    """Generator. stats=None: training mode (batch statistics); else inference with stats."""
    n, s0, (sa, sb), k, (c0, c1, c2), _ = geometry(cfg)

    def bn(x, name, axes):
        if stats is None:
            return bn_train(x, g[name + "_g"], g[name + "_b"], axes)
        mu, var = stats[name]
        return g[name + "_g"] * (x - mu) / np.sqrt(var + BN_EPS) + g[name + "_b"]

    h = leaky(bn(np.dot(z, g["dense"]), "bn0", (0,)))
    h = np.transpose(np.reshape(h, (-1, c0, s0, s0)), (0, 2, 3, 1))  # NCHW order of the dense units
    h = leaky(bn(conv_t(h, g["ct1"], sa), "bn1", (0, 1, 2)))
    h = leaky(bn(conv_t(h, g["ct2"], sb), "bn2", (0, 1, 2)))
    return np.tanh(conv_t(h, g["ct3"], 1) + g["ct3_b"])[..., 0]  # [N, n, n]


def population_stats(g, cfg, z):
    """Precise BN: batch statistics of each BN input over a large fixed noise batch."""
    n, s0, (sa, sb), k, (c0, c1, c2), _ = geometry(cfg)
    st = {}
    x = onp.dot(z, g["dense"])
    st["bn0"] = (x.mean(0), x.var(0))
    h = leaky(bn_train(x, g["bn0_g"], g["bn0_b"], (0,)))
    h = onp.transpose(onp.reshape(h, (-1, c0, s0, s0)), (0, 2, 3, 1))
    x = conv_t(h, g["ct1"], sa)
    st["bn1"] = (x.mean((0, 1, 2)), x.var((0, 1, 2)))
    h = leaky(bn_train(x, g["bn1_g"], g["bn1_b"], (0, 1, 2)))
    x = conv_t(h, g["ct2"], sb)
    st["bn2"] = (x.mean((0, 1, 2)), x.var((0, 1, 2)))
    return st


def fold(g, st):
    """BatchNorm folded into the preceding (bias-free) layer: W' = W * scale, b' = beta - mu * scale."""
    f = {}
    for layer, bn in (("dense", "bn0"), ("ct1", "bn1"), ("ct2", "bn2")):
        mu, var = st[bn]
        scale = g[bn + "_g"] / onp.sqrt(var + BN_EPS)
        f[layer] = g[layer] * scale  # last axis = output units/channels
        f[layer + "_b"] = g[bn + "_b"] - mu * scale
    f["ct3"], f["ct3_b"] = g["ct3"], g["ct3_b"]
    return f


def folded_forward(f, z, cfg):
    n, s0, (sa, sb), k, (c0, c1, c2), _ = geometry(cfg)
    h = leaky(onp.dot(z, f["dense"]) + f["dense_b"])
    h = onp.transpose(onp.reshape(h, (-1, c0, s0, s0)), (0, 2, 3, 1))
    h = leaky(conv_t(h, f["ct1"], sa) + f["ct1_b"])
    h = leaky(conv_t(h, f["ct2"], sb) + f["ct2_b"])
    return onp.tanh(conv_t(h, f["ct3"], 1) + f["ct3_b"])[..., 0]


def mbstd(cfg):
    """`[model] disc_minibatch_std`: the discriminator also sees the batch's spread."""
    return bool(cfg["model"].get("disc_minibatch_std", False))


def batch_std(h):
    """Minibatch standard deviation (Karras et al. 2018, §3): the standard deviation of each input over the
    batch, averaged over inputs, appended to every row as one more feature. A generator that collapses to a few
    matrices gives a batch far less spread than the data's, which the discriminator then sees directly."""
    mu = np.mean(h, axis=0, keepdims=True)
    s = np.mean(np.sqrt(np.mean((h - mu) ** 2, axis=0) + 1e-8))
    return np.concatenate([h, s * np.ones((h.shape[0], 1), dtype=h.dtype)], axis=1)


def disc_forward(d, x):
    h = np.reshape(x, (x.shape[0], -1))
    if d["w0"].shape[0] == h.shape[1] + 1:  # trained with disc_minibatch_std
        h = batch_std(h)
    L = len(d) // 2
    for i in range(L):
        h = np.dot(h, d[f"w{i}"]) + d[f"b{i}"]
        if i < L - 1:
            h = leaky(h)
    return h[:, 0]  # logits


def softplus(x):
    return np.logaddexp(0.0, x)


# ---------------------------------------------------------------- training


class Adam:
    def __init__(self, p, lr, b1, b2):
        self.lr, self.b1, self.b2, self.t = lr, b1, b2, 0
        self.m = {k: onp.zeros_like(v) for k, v in p.items()}
        self.v = {k: onp.zeros_like(v) for k, v in p.items()}

    def step(self, p, gr):
        self.t += 1
        for k in p:
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * gr[k]
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * gr[k] ** 2
            mh = self.m[k] / (1 - self.b1**self.t)
            vh = self.v[k] / (1 - self.b2**self.t)
            p[k] = (p[k] - self.lr * mh / (onp.sqrt(vh) + 1e-8)).astype(p[k].dtype)


def offdiag_mean(x):
    """Mean off-diagonal entry of each matrix in a stack [M, n, n] (the mean correlation)."""
    n = x.shape[1]
    return (x.sum(axis=(1, 2)) - onp.trace(x, axis1=1, axis2=2)) / (n * (n - 1))


def train(g, d, data, cfg, rng, max_seconds=None):
    """Alternating D and G Adam steps. Returns the per-epoch history and whether the time budget
    (`max_seconds`, checked after each epoch) stopped training early."""
    t = cfg["train"]
    batch, epochs = int(t["batch"]), int(t["epochs"])
    latent = geometry(cfg)[5]
    dt = dtype(cfg)
    og = Adam(g, float(t["lr"]), float(t.get("beta1", 0.5)), float(t.get("beta2", 0.999)))
    od = Adam(d, float(t.get("lr_disc", t["lr"])), float(t.get("beta1", 0.5)), float(t.get("beta2", 0.999)))

    def d_loss(d, g, real, z):
        fake = gen_forward(g, z, cfg)
        return np.mean(softplus(-disc_forward(d, real))) + np.mean(softplus(disc_forward(d, fake)))

    lam = moment_weight(cfg)
    upper = onp.triu(onp.ones((geometry(cfg)[0],) * 2), 1).astype(dt)

    def g_loss(g, d, z, real):  # non-saturating, plus the optional moment term
        fake = gen_forward(g, z, cfg)
        loss = np.mean(softplus(-disc_forward(d, fake)))
        if lam > 0:
            loss = loss + lam * moment_gap(np.sum(fake * upper, axis=(1, 2)), onp.sum(real * upper, axis=(1, 2)), upper.sum())
        return loss

    gd, gg = value_and_grad(d_loss), value_and_grad(g_loss)
    data = data.astype(dt)
    zmon = rng.standard_normal((256, latent)).astype(dt)  # fixed noise: the generator's spread per epoch
    hist = []
    t0 = time.time()
    early = False
    for ep in range(epochs):
        perm = rng.permutation(len(data))
        ld = lg = 0.0
        steps = 0
        for i in range(0, len(data) - batch + 1, batch):
            real = data[perm[i : i + batch]]
            z = rng.standard_normal((batch, latent)).astype(dt)
            v, gr = gd(d, g, real, z)
            od.step(d, gr)
            ld += float(v)
            z = rng.standard_normal((batch, latent)).astype(dt)
            v, gr = gg(g, d, z, real)
            og.step(g, gr)
            lg += float(v)
            steps += 1
        steps = max(steps, 1)
        mc = offdiag_mean(gen_forward(g, zmon, cfg))
        hist.append({"epoch": ep + 1, "d_loss": ld / steps, "g_loss": lg / steps, "seconds": time.time() - t0,
                     "gen_mean_corr_mean": float(mc.mean()), "gen_mean_corr_sd": float(mc.std())})
        print(f"epoch {ep + 1}/{epochs}: D {ld / steps:.4f}  G {lg / steps:.4f}  generated mean corr "
              f"{mc.mean():.3f} +- {mc.std():.3f}  ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
        if max_seconds is not None and time.time() - t0 > max_seconds and ep + 1 < epochs:
            early = True
            print(f"time budget reached after epoch {ep + 1}: stopping", file=sys.stderr)
            break
    return hist, early


def train_torch(g, d, data, cfg, rng, max_seconds=None, threads=None):
    """`train` with PyTorch's CPU kernels (`--backend torch`, optional). Same parameters (numpy
    layout), same loss, same Adam and the same random numbers (noise and batches drawn from
    `rng` in the same order), so the two backends differ only by rounding; `gen_forward` and
    the export below stay the numpy reference."""
    import torch
    import torch.nn.functional as F

    if threads:
        torch.set_num_threads(int(threads))
    t = cfg["train"]
    batch, epochs = int(t["batch"]), int(t["epochs"])
    n, s0, (sa, sb), k, (c0, c1, c2), latent = geometry(cfg)
    dt = dtype(cfg)
    tdt = torch.float32 if dt == onp.float32 else torch.float64
    G = {key: torch.tensor(v, dtype=tdt, requires_grad=True) for key, v in g.items()}
    D = {key: torch.tensor(v, dtype=tdt, requires_grad=True) for key, v in d.items()}
    betas = (float(t.get("beta1", 0.5)), float(t.get("beta2", 0.999)))
    og = torch.optim.Adam(list(G.values()), lr=float(t["lr"]), betas=betas, eps=1e-8)
    od = torch.optim.Adam(list(D.values()), lr=float(t.get("lr_disc", t["lr"])), betas=betas, eps=1e-8)

    def bn(x, name, dims):
        mu = x.mean(dim=dims, keepdim=True)
        var = ((x - mu) ** 2).mean(dim=dims, keepdim=True)
        shape = (1, -1) + (1,) * (x.dim() - 2)  # per unit (dense) or per channel (NCHW)
        return G[name + "_g"].view(shape) * (x - mu) / torch.sqrt(var + BN_EPS) + G[name + "_b"].view(shape)

    def ct(x, w, s):  # TF 'same' Conv2DTranspose in NCHW; w in the numpy layout [k, k, cin, cout]
        H = x.shape[2]
        pb = max(k - s, 0) // 2
        y = F.conv_transpose2d(x, w.permute(2, 3, 0, 1), stride=s)
        short = pb + H * s - y.shape[2]
        if short > 0:
            y = F.pad(y, (0, short, 0, short))
        return y[:, :, pb : pb + H * s, pb : pb + H * s]

    def gen(z):
        h = F.leaky_relu(bn(z @ G["dense"], "bn0", (0,)), LEAK)
        h = h.reshape(-1, c0, s0, s0)  # the dense units in NCHW order, as in gen_forward
        h = F.leaky_relu(bn(ct(h, G["ct1"], sa), "bn1", (0, 2, 3)), LEAK)
        h = F.leaky_relu(bn(ct(h, G["ct2"], sb), "bn2", (0, 2, 3)), LEAK)
        return torch.tanh(ct(h, G["ct3"], 1) + G["ct3_b"].view(1, -1, 1, 1))[:, 0]

    def disc(x):
        h = x.reshape(x.shape[0], -1)
        if D["w0"].shape[0] == h.shape[1] + 1:  # batch_std, as in disc_forward
            s = torch.sqrt(((h - h.mean(dim=0, keepdim=True)) ** 2).mean(dim=0) + 1e-8).mean()
            h = torch.cat([h, s * torch.ones((h.shape[0], 1), dtype=h.dtype)], dim=1)
        L = len(D) // 2
        for i in range(L):
            h = h @ D[f"w{i}"] + D[f"b{i}"]
            if i < L - 1:
                h = F.leaky_relu(h, LEAK)
        return h[:, 0]

    lam = moment_weight(cfg)
    upper = torch.triu(torch.ones((n, n), dtype=tdt), 1)
    data_t = torch.tensor(data.astype(dt))
    zmon = torch.tensor(rng.standard_normal((256, latent)).astype(dt))
    hist = []
    t0 = time.time()
    early = False
    for ep in range(epochs):
        perm = rng.permutation(len(data))
        ld = lg = 0.0
        steps = 0
        for i in range(0, len(data) - batch + 1, batch):
            real = data_t[torch.from_numpy(perm[i : i + batch])]
            z = torch.tensor(rng.standard_normal((batch, latent)).astype(dt))
            od.zero_grad()
            loss = F.softplus(-disc(real)).mean() + F.softplus(disc(gen(z).detach())).mean()
            loss.backward()
            od.step()
            ld += float(loss)
            z = torch.tensor(rng.standard_normal((batch, latent)).astype(dt))
            og.zero_grad()
            fake = gen(z)
            loss = F.softplus(-disc(fake)).mean()
            if lam > 0:
                loss = loss + lam * moment_gap((fake * upper).sum(dim=(1, 2)), (real * upper).sum(dim=(1, 2)), float(upper.sum()))
            loss.backward()
            og.step()
            lg += float(loss)
            steps += 1
        steps = max(steps, 1)
        with torch.no_grad():
            mc = offdiag_mean(gen(zmon).numpy().astype(onp.float64))
        hist.append({"epoch": ep + 1, "d_loss": ld / steps, "g_loss": lg / steps, "seconds": time.time() - t0,
                     "gen_mean_corr_mean": float(mc.mean()), "gen_mean_corr_sd": float(mc.std())})
        print(f"epoch {ep + 1}/{epochs}: D {ld / steps:.4f}  G {lg / steps:.4f}  generated mean corr "
              f"{mc.mean():.3f} +- {mc.std():.3f}  ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
        if max_seconds is not None and time.time() - t0 > max_seconds and ep + 1 < epochs:
            early = True
            print(f"time budget reached after epoch {ep + 1}: stopping", file=sys.stderr)
            break
    for key in g:
        g[key] = G[key].detach().numpy().copy()
    for key in d:
        d[key] = D[key].detach().numpy().copy()
    return hist, early


def moment_weight(cfg):
    """`[train] moment_weight` λ ≥ 0 (default 0): the generator's loss gains λ·moment_gap (below)."""
    v = float(cfg["train"].get("moment_weight", 0.0))
    if not v >= 0:
        sys.exit(f"[train] moment_weight = {v}: expected a number >= 0")
    return v


def moment_gap(fake_sum, real_sum, count):
    """Squared gaps between the batch mean and the batch standard deviation of the mean correlation (upper
    triangle, the part corrmc reads) of generated and real matrices. The adversarial loss alone let the
    generated mean correlation collapse to a narrow band (MODEL_CARD_french49.md); this term asks the
    generator to span the data's range of market regimes. Works on numpy/autograd and torch arrays alike."""
    mf, mr = fake_sum / count, real_sum / count
    af, ar = mf.mean(), mr.mean()
    sf = (((mf - af) ** 2).mean() + 1e-12) ** 0.5
    sr = (((mr - ar) ** 2).mean() + 1e-12) ** 0.5
    return (af - ar) ** 2 + (sf - sr) ** 2


def dtype(cfg):
    """Training precision, `[train] dtype`: float64 (default) or float32 (about twice as fast).
    Export, BN statistics and the checks always run in float64."""
    v = cfg["train"].get("dtype", "float64")
    if v not in ("float64", "float32"):
        sys.exit(f"[train] dtype = '{v}': expected float64 or float32")
    return onp.dtype(v)


# ---------------------------------------------------------------- export


def conv_t_attrs(k, s):
    """ONNX ConvTranspose pads/output_padding reproducing TF 'same' (output = H*s)."""
    pb = max(k - s, 0) // 2
    pe = k - s - pb
    op = 0
    if pe < 0:
        op, pe = -pe, 0
    return {"kernel_shape": [k, k], "strides": [s, s], "pads": [pb, pb, pe, pe], "output_padding": [op, op]}


def to_onnx(f, cfg, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n, s0, (sa, sb), k, (c0, c1, c2), latent = geometry(cfg)
    F = onp.float32
    inits = [
        numpy_helper.from_array(f["dense"].astype(F), "dense_w"),
        numpy_helper.from_array(f["dense_b"].astype(F), "dense_b"),
        numpy_helper.from_array(onp.array([-1, c0, s0, s0], onp.int64), "seed_shape"),
        numpy_helper.from_array(onp.array([1], onp.int64), "squeeze_axes"),
    ]
    for name in ("ct1", "ct2", "ct3"):  # [k, k, cin, cout] -> ONNX [cin, cout, k, k]
        inits.append(numpy_helper.from_array(f[name].transpose(2, 3, 0, 1).astype(F), name + "_w"))
    inits.append(numpy_helper.from_array(f["ct1_b"].astype(F), "ct1_b"))
    inits.append(numpy_helper.from_array(f["ct2_b"].astype(F), "ct2_b"))
    inits.append(numpy_helper.from_array(f["ct3_b"].astype(F), "ct3_b"))
    mk = helper.make_node
    nodes = [
        mk("Gemm", ["noise", "dense_w", "dense_b"], ["h0"]),
        mk("LeakyRelu", ["h0"], ["a0"], alpha=LEAK),
        mk("Reshape", ["a0", "seed_shape"], ["r0"]),  # [N, c0, s0, s0]
        mk("ConvTranspose", ["r0", "ct1_w", "ct1_b"], ["h1"], **conv_t_attrs(k, sa)),
        mk("LeakyRelu", ["h1"], ["a1"], alpha=LEAK),
        mk("ConvTranspose", ["a1", "ct2_w", "ct2_b"], ["h2"], **conv_t_attrs(k, sb)),
        mk("LeakyRelu", ["h2"], ["a2"], alpha=LEAK),
        mk("ConvTranspose", ["a2", "ct3_w", "ct3_b"], ["h3"], **conv_t_attrs(k, 1)),
        mk("Tanh", ["h3"], ["t3"]),
        mk("Squeeze", ["t3", "squeeze_axes"], ["corr"]),
    ]
    graph = helper.make_graph(
        nodes,
        f"corrgan_generator_{n}d",
        [helper.make_tensor_value_info("noise", TensorProto.FLOAT, ["N", latent])],
        [helper.make_tensor_value_info("corr", TensorProto.FLOAT, ["N", n, n])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="corrmc-corrgan-train")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    return sorted({nd.op_type for nd in nodes})


def check_pretrained(path, cfg_path):
    """The pretrained generator's weights in this script's (folded) forward vs onnxruntime on
    its ONNX file: checks the architecture and the TF 'same' Conv2DTranspose semantics here."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    with open(cfg_path, "rb") as fh:
        cfg = tomllib.load(fh)
    W = {i.name: numpy_helper.to_array(i).astype(onp.float64) for i in onnx.load(path).graph.initializer}
    f = {"dense": W["dense_w_1"], "dense_b": W["dense_b_1"]}
    for j, name in enumerate(("ct1", "ct2", "ct3"), 1):
        f[name] = W[f"deconv_w_{j}"].transpose(2, 3, 0, 1)
        f[name + "_b"] = W[f"deconv_b_{j}"]
    z = onp.random.default_rng(0).standard_normal((8, int(cfg["model"].get("latent", 100))))
    ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"noise": z.astype(onp.float32)})[0]
    diff = float(onp.abs(folded_forward(f, z, cfg) - ref).max())
    print(json.dumps({"pretrained": path, "numpy_vs_onnxruntime": diff}))
    assert diff <= ONNX_TOL, diff


def torch_version(backend):
    if backend != "torch":
        return {}
    import torch

    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--data", help="returns CSV or .npy stack [M, n, n] of correlation matrices")
    ap.add_argument("--synthetic", type=int, metavar="M", help="instead of --data: M block-model matrices")
    ap.add_argument("--out")
    ap.add_argument("--backend", choices=["numpy", "torch"], default="numpy",
                    help="training kernels: numpy + autograd (default, the reference) or PyTorch on the CPU (optional, much faster; same parameters and random numbers)")
    ap.add_argument("--threads", type=int, help="PyTorch threads (--backend torch)")
    ap.add_argument("--max-minutes", type=float, help="stop after the first epoch that ends past this budget (recorded in the report)")
    ap.add_argument("--check-pretrained", metavar="ONNX", help="only check this script's forward on a pretrained generator (--config of its size)")
    a = ap.parse_args()
    if a.check_pretrained:
        return check_pretrained(a.check_pretrained, a.config)
    if not a.out:
        sys.exit("give --out")
    with open(a.config, "rb") as fh:
        cfg = tomllib.load(fh)
    n, s0, strides, k, widths, latent = geometry(cfg)
    seed = int(cfg["train"]["seed"])
    rng = onp.random.default_rng(seed)
    t0 = time.time()
    if a.synthetic:
        data, source = block_model(a.synthetic, n, rng), f"synthetic block model ({a.synthetic})"
    elif a.data:
        data, source = load_data(a.data, cfg, n, rng)
    else:
        sys.exit("give --data or --synthetic")
    if len(data) < int(cfg["train"]["batch"]):
        sys.exit(f"{len(data)} matrices < batch {cfg['train']['batch']}")
    g, d = init_params(cfg, rng)
    dt = dtype(cfg)
    g = {k: v.astype(dt) for k, v in g.items()}
    d = {k: v.astype(dt) for k, v in d.items()}
    budget = None if a.max_minutes is None else 60.0 * a.max_minutes
    if a.backend == "torch":
        hist, early = train_torch(g, d, data, cfg, rng, budget, a.threads)
    else:
        hist, early = train(g, d, data, cfg, rng, budget)
    t_train = time.time() - t0
    g = {k: v.astype(onp.float64) for k, v in g.items()}

    # Export: precise BN statistics, fold, checks.
    st = population_stats(g, cfg, rng.standard_normal((int(cfg["train"].get("bn_samples", 1024)), latent)))
    f = fold(g, st)
    zc = rng.standard_normal((16, latent))
    fold_diff = float(onp.abs(folded_forward(f, zc, cfg) - gen_forward(g, zc, cfg, stats=st)).max())
    assert fold_diff <= FOLD_TOL, f"folded vs unfolded forward: {fold_diff}"
    os.makedirs(a.out, exist_ok=True)
    name = f"generator_{n}d.onnx"
    path = os.path.join(a.out, name)
    ops = to_onnx(f, cfg, path)
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    diffs = {}
    for b in (1, 16):
        z = zc[:b].astype(onp.float32)
        out = sess.run(["corr"], {"noise": z})[0]
        assert out.shape == (b, n, n), out.shape
        diffs[b] = float(onp.abs(out - folded_forward(f, z.astype(onp.float64), cfg)).max())
        assert diffs[b] <= ONNX_TOL, f"onnxruntime vs numpy forward (batch {b}): {diffs[b]}"
    sample = folded_forward(f, rng.standard_normal((256, latent)), cfg)
    iu = onp.triu_indices(n, 1)
    report = {
        "config": cfg,
        "data": {"source": source, "matrices": int(len(data)), "n": n, "mean_offdiag": float(data[:, iu[0], iu[1]].mean())},
        "model": {"file": name, "latent": latent, "seed_size": s0, "strides": strides, "kernel": k, "widths": widths,
                  "ops": ops, "generator_params": int(sum(v.size for v in g.values())),
                  "bn": "folded; population statistics over bn_samples noise vectors after training"},
        "history": hist,
        "stopped_early": {"by_time_budget": early, "epochs_run": len(hist), "max_minutes": a.max_minutes},
        "checks": {"fold_max_abs_diff": fold_diff, "onnx_vs_numpy_batch1": diffs[1], "onnx_vs_numpy_batch16": diffs[16]},
        "sample_mean_offdiag_raw": float(sample[:, iu[0], iu[1]].mean()),
        "seconds": {"train": t_train, "total": time.time() - t0},
        "backend": a.backend,
        "versions": {"numpy": onp.__version__, "onnxruntime": ort.__version__, **torch_version(a.backend)},
    }
    with open(os.path.join(a.out, "report.json"), "w") as fh:
        json.dump(report, fh, indent=2)
    print(f"wrote {path} (onnx vs numpy {max(diffs.values()):.2e}) in {time.time() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
