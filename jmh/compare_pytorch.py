#!/usr/bin/env python3
"""Compare vecloss with PyTorch (and JAX/optax when importable) on the same inputs.

Writes the workloads as .npy files with a fixed seed in a temporary directory: the cross-entropy
workloads of Workload.java (same names and sizes), then the binary, focal, margin and divergence
losses at two sizes each: past the caches (2^26 elements, or 65536 x 1000 for the row losses) and
a cache-resident training batch (2^18 elements, or 256 x 1000; names ending in _cache), and the
cache-resident batches of cross-entropy (256 x 1000, 1024 x 1000, 256 x 100, 64 x 32000, ...) and
Lovász (64 x 64 images). Times
PyTorch with 1 and 2 threads, JAX/optax (jit) if it imports, and vecloss through
dev.vecloss.bench.CompareDriver in one JVM, then prints a Markdown table of G elements/s (input
elements per call / seconds per call / 1e9; for cross-entropy the elements are the logits,
N*C[*H*W]), and last the README's table: one row per workload (one thread, its cache-resident
copies under it) with the ratios vs PyTorch and JAX, two threads against one, and issue 10's
target for the row, met or not, ready to paste. Fails if vecloss's loss and torch's differ by more than 1e-4 relative (the region
losses: torch's in float64, since its float32 sums drift over millions of positions), or
(forward + gradient workloads) its gradient by more than 1e-4 of the gradient's largest magnitude.

Timing, the same on every side: 2 warm-up calls with every thread count before any is timed
(vecloss: 2 s of warm-up per thread count, then until the JIT is idle: see CompareDriver), then
REPS >= 5 timed runs of as many calls as fill --min-rep seconds; the median run counts.

    ./mvnw -q -f jmh/pom.xml package -DskipTests               # builds jmh/target/benchmarks.jar
    python3 jmh/compare_pytorch.py --quick                     # smoke run, tiny sizes
    python3 jmh/compare_pytorch.py --out results.md            # full sizes (~7 GB of .npy)

Works with Debian's python3-torch or a pip torch. Needs a JDK 25+: JAVA_HOME if it is one,
else the newest /usr/lib/jvm/* that is.
"""
import argparse
import datetime
import glob
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
JAR = os.path.join(HERE, "target", "benchmarks.jar")
SEED = 0x5EEDCAFE
THREADS = (1, 2)
REPS = 5


# Defaults of every workload; each loss reads the keys it needs (see write_opts and CompareDriver).
REGION = ("dice", "jaccard", "tversky")
BASE = dict(loss="cross_entropy", reduction="mean", grad=False, weight=False, pos_weight=False,
            ignore_index=-100, label_smoothing=0.0, prob=False, ignored=0.0)

# The losses past cross-entropy, in table order: name -> (loss, how the operands are made, options).
# Element losses get a 1-D input of E elements ((E/64, 64) for pos_weight over the last axis), row
# losses an (R, 1000) input.
NEW_LOSSES = {
    "bce_with_logits": dict(loss="bce_with_logits"),
    "bce_with_logits_pos_weight": dict(loss="bce_with_logits", pos_weight=True),
    "bce_with_logits_grad": dict(loss="bce_with_logits", grad=True),
    "bce": dict(loss="bce"),
    "bce_hard": dict(loss="bce", hard=True),
    "sigmoid_focal": dict(loss="sigmoid_focal", alpha=0.25, gamma=2.0),
    "hinge": dict(loss="hinge"),
    "multi_margin": dict(loss="multi_margin", p=1, margin=1.0),
    "softmax_focal": dict(loss="softmax_focal", gamma=2.0),
    "kl_div": dict(loss="kl_div", reduction="batchmean"),
}
ROW_LOSSES = ("multi_margin", "softmax_focal", "kl_div")

# smp's region losses (issue 9), multiclass from logits on 8 x 21 x 512 x 512 (2 x 21 x 32 x 32 with
# --quick) and a cache-resident 2 x 21 x 64 x 64: name -> options (alpha, beta for Tversky).
REGION_LOSSES = {
    "dice": dict(loss="dice", alpha=0.5, beta=0.5),
    "jaccard": dict(loss="jaccard", alpha=1.0, beta=1.0),
    "tversky": dict(loss="tversky", alpha=0.3, beta=0.7),
    "dice_grad": dict(loss="dice", alpha=0.5, beta=0.5, grad=True),
}
# Class counts (issue 9): torch.bincount on 2^26 uint8 labels (2^18 for _cache), 21 classes, about
# 5% of them 255, the ignore index (vecloss skips them; torch.bincount counts them in bin 255,
# which is then dropped). The input is the labels; the value compared is sum_j (j + 1) n_j.
COUNT_WORKLOADS = {"class_weights_u8c21": dict(loss="class_weights", num_classes=21, ignore_index=255)}
# smp's LovaszLoss on segmentation shapes (issue 9): Lovász-softmax 2 x 21 x 256 x 256, batch and
# per image, forward and forward + gradient; the Lovász hinge on 8 x 1 x 256 x 256.
LOVASZ = {
    "lovasz_softmax": dict(loss="lovasz", mode="multiclass", per_image=False),
    "lovasz_softmax_per_image": dict(loss="lovasz", mode="multiclass", per_image=True),
    "lovasz_softmax_grad": dict(loss="lovasz", mode="multiclass", per_image=False, grad=True),
    "lovasz_softmax_per_image_grad": dict(loss="lovasz", mode="multiclass", per_image=True, grad=True),
    "lovasz_hinge": dict(loss="lovasz", mode="binary", per_image=False),
    "lovasz_hinge_grad": dict(loss="lovasz", mode="binary", per_image=False, grad=True),
}


def workloads(quick):
    """name -> spec: BASE's keys, shape, and the loss's own options."""
    m = 1 << (14 if quick else 24)
    n1000 = 64 if quick else 65536
    w = {
        "c1000": dict(BASE, shape=(n1000, 1000)),
        "c32000": dict(BASE, shape=(4 if quick else 2048, 32000)),
        "c100": dict(BASE, shape=(m // 100, 100)),
        "c10": dict(BASE, shape=(m // 10, 10)),
        "c21": dict(BASE, shape=(m // 21, 21)),
        "wls1000": dict(BASE, shape=(n1000, 1000), weight=True, ignore_index=0, label_smoothing=0.1),
        "nchw": dict(BASE, shape=(2, 21, 32, 32) if quick else (8, 21, 512, 512), ignore_index=255, ignored=0.1),
        "grad1000": dict(BASE, shape=(n1000, 1000), grad=True),
        "prob1000": dict(BASE, shape=(n1000, 1000), prob=True),
    }
    sizes = (("", 1 << (14 if quick else 26), 64 if quick else 65536),   # past the caches
             ("_cache", 1 << (10 if quick else 18), 16 if quick else 256))  # a training batch in cache
    for name, opts in NEW_LOSSES.items():
        for suffix, e, rows in sizes:
            if opts["loss"] in ROW_LOSSES:
                shape = (rows, 1000)
            elif opts.get("pos_weight"):
                shape = (e // 64, 64)
            else:
                shape = (e,)
            w[name + suffix] = dict(BASE, shape=shape, **opts)
    for name, opts in REGION_LOSSES.items():
        w[name] = dict(BASE, shape=(2, 21, 32, 32) if quick else (8, 21, 512, 512), **opts)
        w[name + "_cache"] = dict(BASE, shape=(2, 21, 16, 16) if quick else (2, 21, 64, 64), **opts)
    for name, opts in COUNT_WORKLOADS.items():
        for suffix, e, _ in sizes:
            w[name + suffix] = dict(BASE, shape=(e,), **opts)
    for name, opts in LOVASZ.items():
        c = 21 if opts["mode"] == "multiclass" else 1
        n = 2 if c == 21 else 8
        w[name] = dict(BASE, shape=(n, c, 16, 16) if quick else (n, c, 256, 256), **opts)
    # Added after the others so that their operands, drawn in order from one generator, stay the same.
    # Cross-entropy on training batches that stay in cache (issue 10): there PyTorch's extra passes
    # over memory cost little and the kernel itself counts. name -> (base workload, shape).
    rows = 16 if quick else 256
    cache = {
        "c1000_cache": ("c1000", (rows, 1000)),
        "c1000_b1024_cache": ("c1000", (4 * rows, 1000)),
        "c32000_cache": ("c32000", (4 if quick else 64, 32000)),
        "c100_cache": ("c100", (rows, 100)),
        "c10_cache": ("c10", ((1 << (10 if quick else 18)) // 10, 10)),
        "c21_cache": ("c21", ((1 << (10 if quick else 18)) // 21, 21)),
        "wls1000_cache": ("wls1000", (rows, 1000)),
        "nchw_cache": ("nchw", (2, 21, 16, 16) if quick else (2, 21, 64, 64)),
        "grad1000_cache": ("grad1000", (rows, 1000)),
        "prob1000_cache": ("prob1000", (rows, 1000)),
    }
    for name, (base, shape) in cache.items():
        w[name] = dict(w[base], shape=shape)
    for name, opts in LOVASZ.items():
        n, c = (2, 21) if opts["mode"] == "multiclass" else (8, 1)
        w[name + "_cache"] = dict(BASE, shape=(n, c, 8, 8) if quick else (n, c, 64, 64), **opts)
    return w


def elements(spec):
    return int(np.prod(spec["shape"]))


def operands(rng, s):
    """{'input': ..., 'target': ..., optional 'weight', 'pos_weight'} for spec s, from rng."""
    shape, loss = s["shape"], s["loss"]
    f32 = np.float32
    if loss == "cross_entropy":  # the draws of the cross-entropy workloads, in their original order
        c = shape[1]
        x = rng.uniform(-4, 4, size=shape).astype(f32)
        if s["prob"]:
            q = rng.random(size=shape)
            t = (q / q.sum(axis=1, keepdims=True)).astype(f32)
        else:
            tshape = (shape[0],) + tuple(shape[2:])
            t = rng.integers(0, c, size=tshape, dtype=np.int64)
            if s["ignored"] > 0:
                t[rng.random(size=tshape) < s["ignored"]] = s["ignore_index"]
        out = dict(input=x, target=t)
        if s["weight"]:
            out["weight"] = rng.uniform(0.5, 1.5, size=c).astype(f32)
        return out
    if loss in REGION:  # logits, labels (N, H, W)
        return dict(input=rng.uniform(-4, 4, size=shape).astype(f32),
                    target=rng.integers(0, shape[1], size=(shape[0],) + tuple(shape[2:]), dtype=np.int64))
    if loss == "class_weights":  # uint8 labels as the input; the target is unused
        y = rng.integers(0, s["num_classes"], size=shape, dtype=np.uint8)
        y[rng.random(size=shape) < 0.05] = s["ignore_index"]
        return dict(input=y, target=np.zeros(1, dtype=np.int64))
    if loss == "lovasz":
        x = rng.uniform(-4, 4, size=shape).astype(f32)
        if s["mode"] == "multiclass":
            return dict(input=x, target=rng.integers(0, shape[1], size=(shape[0],) + tuple(shape[2:]), dtype=np.int64))
        return dict(input=x, target=rng.integers(0, 2, size=shape).astype(f32))
    if loss in ("multi_margin", "softmax_focal"):
        return dict(input=rng.uniform(-4, 4, size=shape).astype(f32),
                    target=rng.integers(0, shape[1], size=shape[0], dtype=np.int64))
    if loss == "kl_div":
        # log-probabilities of random logits against random distributions, one per row
        z = rng.uniform(-4, 4, size=shape)
        z -= z.max(axis=1, keepdims=True)
        x = (z - np.log(np.exp(z).sum(axis=1, keepdims=True))).astype(f32)
        del z
        q = rng.random(size=shape)
        return dict(input=x, target=(q / q.sum(axis=1, keepdims=True)).astype(f32))
    if loss == "bce":  # probabilities in (0, 1), soft labels (or 0/1 labels: binary classification)
        x = rng.uniform(np.finfo(f32).tiny, 1, size=shape).astype(f32)
        x[x >= 1] = np.nextafter(f32(1), f32(0))
        if s.get("hard"):
            return dict(input=x, target=rng.integers(0, 2, size=shape).astype(f32))
        return dict(input=x, target=rng.random(size=shape).astype(f32))
    x = rng.uniform(-4, 4, size=shape).astype(f32)
    if loss in ("sigmoid_focal", "hinge"):  # 0/1 labels: torchvision's documented targets, Keras's rule
        t = rng.integers(0, 2, size=shape).astype(f32)
    else:  # BCE with logits: soft labels in [0, 1)
        t = rng.random(size=shape).astype(f32)
    out = dict(input=x, target=t)
    if s["pos_weight"]:
        out["pos_weight"] = rng.uniform(0.5, 4, size=shape[-1]).astype(f32)
    return out


def write_opts(f, s):
    """The NAME.opts properties CompareDriver reads."""
    keys = ["loss", "reduction", "grad"] + {
        "cross_entropy": ["ignore_index", "label_smoothing"],
        "softmax_focal": ["ignore_index", "gamma"],
        "sigmoid_focal": ["alpha", "gamma"],
        "multi_margin": ["p", "margin"],
        "dice": ["alpha", "beta"],
        "jaccard": ["alpha", "beta"],
        "tversky": ["alpha", "beta"],
        "class_weights": ["num_classes", "ignore_index"],
        "lovasz": ["mode", "per_image"],
    }.get(s["loss"], [])
    for k in keys:
        v = s[k]
        f.write("%s=%s\n" % (k, ("true" if v else "false") if isinstance(v, bool) else repr(v) if isinstance(v, float)
                             else v))


def generate(dirname, specs):
    rng = np.random.default_rng(SEED)
    for name, s in specs.items():
        for key, a in operands(rng, s).items():
            np.save(os.path.join(dirname, "%s.%s.npy" % (name, key)), a)
        with open(os.path.join(dirname, name + ".opts"), "w") as f:
            write_opts(f, s)
    with open(os.path.join(dirname, "workloads.txt"), "w") as f:
        f.write("\n".join(specs) + "\n")


def load(dirname, name):
    """(input, target, {'weight': ..., 'pos_weight': ...} for those present)."""
    x = np.load(os.path.join(dirname, name + ".input.npy"))
    t = np.load(os.path.join(dirname, name + ".target.npy"))
    extra = {}
    for key in ("weight", "pos_weight"):
        f = os.path.join(dirname, "%s.%s.npy" % (name, key))
        if os.path.exists(f):
            extra[key] = np.load(f)
    return x, t, extra


def time_calls(fn, min_rep):
    """Median seconds per call: 2 warm-up calls, then REPS runs of k calls filling min_rep."""
    fn()
    t0 = time.perf_counter()
    fn()
    per = max(time.perf_counter() - t0, 1e-9)
    k = max(1, int(np.ceil(min_rep / per)))
    runs = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        runs.append((time.perf_counter() - t0) / k)
    return statistics.median(runs)


# A torch port of smp's losses/lovasz.py (segmentation_models_pytorch 0.5), as a user of smp runs
# it: each function names the smp function it ports (the same code as tools/golden/make_golden.py's
# port, without its float64 changes: these workloads are float32).
def smp_lovasz_grad(gt_sorted):  # smp: _lovasz_grad
    import torch  # noqa: F401
    p = len(gt_sorted)
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.float().cumsum(0)
    union = gts + (1 - gt_sorted).float().cumsum(0)
    jaccard = 1.0 - intersection / union
    if p > 1:
        jaccard[1:p] = jaccard[1:p] - jaccard[0:-1]
    return jaccard


def smp_mean(values):  # smp: mean (ignore_nan=False, empty=0)
    values = iter(values)
    try:
        n = 1
        acc = next(values)
    except StopIteration:
        return 0
    for n, v in enumerate(values, 2):
        acc += v
    return acc if n == 1 else acc / n


def smp_lovasz_hinge_flat(logits, labels):  # smp: _lovasz_hinge_flat
    import torch
    import torch.nn.functional as F
    if len(labels) == 0:
        return logits.sum() * 0.0
    signs = 2.0 * labels.float() - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, perm = torch.sort(errors, dim=0, descending=True)
    gt_sorted = labels[perm.data]
    return torch.dot(F.relu(errors_sorted), smp_lovasz_grad(gt_sorted))


def smp_lovasz_hinge(logits, labels, per_image):  # smp: _lovasz_hinge, _flatten_binary_scores (ignore None)
    if per_image:
        return smp_mean(smp_lovasz_hinge_flat(log.reshape(-1), lab.reshape(-1)) for log, lab in zip(logits, labels))
    return smp_lovasz_hinge_flat(logits.reshape(-1), labels.reshape(-1))


def smp_lovasz_softmax_flat(probas, labels):  # smp: _lovasz_softmax_flat, classes='present'
    import torch
    if probas.numel() == 0:
        return probas * 0.0
    losses = []
    for c in range(probas.size(1)):
        fg = (labels == c).type_as(probas)
        if fg.sum() == 0:
            continue
        errors = (fg - probas[:, c]).abs()
        errors_sorted, perm = torch.sort(errors, 0, descending=True)
        losses.append(torch.dot(errors_sorted, smp_lovasz_grad(fg[perm.data])))
    return smp_mean(losses)


def smp_flatten_probas(probas, labels):  # smp: _flatten_probas (ignore None, 4-D input)
    import torch
    c = probas.size(1)
    return torch.movedim(probas, 1, -1).reshape(-1, c), labels.reshape(-1)


def smp_lovasz_loss(x, t, mode, per_image):  # smp: LovaszLoss(mode, per_image).forward
    if mode in ("binary", "multilabel"):
        return smp_lovasz_hinge(x, t, per_image)
    p = x.softmax(dim=1)
    if per_image:
        return smp_mean(smp_lovasz_softmax_flat(*smp_flatten_probas(pi.unsqueeze(0), li.unsqueeze(0)))
                        for pi, li in zip(p, t))
    return smp_lovasz_softmax_flat(*smp_flatten_probas(p, t))


def torch_loss(s, t, extra):
    """The PyTorch code a user would write for spec s: a function of the input, returning the loss."""
    import torch
    import torch.nn.functional as F
    loss = s["loss"]
    if loss == "cross_entropy":
        kw = dict(weight=extra.get("weight"), ignore_index=s["ignore_index"], label_smoothing=s["label_smoothing"])
        return lambda x: F.cross_entropy(x, t, **kw)
    if loss == "bce_with_logits":
        pw = extra.get("pos_weight")
        return lambda x: F.binary_cross_entropy_with_logits(x, t, pos_weight=pw)
    if loss == "bce":
        return lambda x: F.binary_cross_entropy(x, t)
    if loss == "sigmoid_focal":
        alpha, gamma = s["alpha"], s["gamma"]

        def sigmoid_focal(x):
            # torchvision.ops.sigmoid_focal_loss's formula (torchvision does not import with every
            # torch build), reduction="mean"
            p = torch.sigmoid(x)
            ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
            p_t = p * t + (1 - p) * (1 - t)
            focal = ce * ((1 - p_t) ** gamma)
            return ((alpha * t + (1 - alpha) * (1 - t)) * focal).mean()
        return sigmoid_focal
    if loss == "hinge":
        def hinge(x):
            # Keras's hinge: labels become 2y - 1 when every label is 0 or 1 (a check over the
            # whole tensor), then max(1 - y x, 0) averaged over the last axis, then over the rest
            y = 2 * t - 1 if bool(((t == 0) | (t == 1)).all()) else t
            return torch.clamp_min(1 - y * x, 0).mean(dim=-1).mean()
        return hinge
    if loss == "multi_margin":
        return lambda x: F.multi_margin_loss(x, t, p=s["p"], margin=s["margin"])
    if loss == "softmax_focal":
        gamma = s["gamma"]

        def softmax_focal(x):
            # LOSSES.md 5.3: alpha absent, no ignored targets here
            lp = F.log_softmax(x, dim=1).gather(1, t.unsqueeze(1)).squeeze(1)
            return ((1 - lp.exp()) ** gamma * -lp).mean()
        return softmax_focal
    if loss == "kl_div":
        return lambda x: F.kl_div(x, t, reduction=s["reduction"])
    if loss in REGION:
        alpha, beta = s["alpha"], s["beta"]

        def smp_region(x):
            # smp's DiceLoss / JaccardLoss / TverskyLoss.forward, mode multiclass, from_logits,
            # defaults (smooth 0, eps 1e-7, no ignore_index, all classes), ported from its
            # losses/dice.py and losses/_functional.py:soft_tversky_score (see
            # tools/golden/make_golden.py for the full port)
            bs, c = x.size(0), x.size(1)
            p = x.log_softmax(dim=1).exp().reshape(bs, c, -1)
            y = F.one_hot(t.reshape(bs, -1), c).permute(0, 2, 1).type_as(p)
            sp, st = p.sum(dim=(0, 2)), y.sum(dim=(0, 2))
            d = torch.linalg.vector_norm(p - y, ord=1, dim=(0, 2))
            tp = (sp + st - d) / 2
            score = tp / (tp + alpha * (sp - tp) + beta * (st - tp)).clamp_min(1e-7)
            return ((1.0 - score) * (st > 0).to(p.dtype)).mean()
        return smp_region
    if loss == "class_weights":
        c = s["num_classes"]
        j = torch.arange(1, c + 1, dtype=torch.float64)
        # the counts, the ignore index's bin dropped; the checksum costs C operations
        return lambda x: (torch.bincount(x, minlength=c)[:c].to(torch.float64) * j).sum()
    if loss == "lovasz":
        return lambda x: smp_lovasz_loss(x, t, s["mode"], s["per_image"])
    raise ValueError("unknown loss " + loss)


def time_torch(dirname, specs, min_rep):
    """({(name, threads): seconds}, {name: loss}, {name: gradient difference}, torch version).

    The gradient difference of a forward + gradient workload is max |g_vecloss - g_torch| /
    max |g_torch|, against the NAME.grad.out.npy CompareDriver wrote (so vecloss runs first)."""
    import torch
    out, losses, grads = {}, {}, {}
    for name, s in specs.items():
        x, t, extra = load(dirname, name)
        x, t = torch.from_numpy(x), torch.from_numpy(t)
        extra = {k: torch.from_numpy(v) for k, v in extra.items()}
        f = torch_loss(s, t, extra)
        if s["grad"]:
            x.requires_grad_(True)

            def fn():
                x.grad = None
                loss = f(x)
                loss.backward()
                return loss
        else:
            def fn():
                with torch.no_grad():
                    return f(x)
        for n in THREADS:  # every thread count warm before any is timed (the pool's threads started)
            torch.set_num_threads(n)
            fn()
            fn()
        for n in THREADS:
            torch.set_num_threads(n)
            if n == THREADS[0]:
                losses[name] = float(fn().detach())
                if s["loss"] in REGION:
                    # the per-class sums run over up to 2M positions, where torch's float32 sums
                    # drift (3.5e-3 relative at 8 x 21 x 512 x 512): judge against float64 there
                    with torch.no_grad():
                        losses[name] = float(f(x.double()))
                if s["grad"]:
                    gt = x.grad.numpy()
                    gv = np.load(os.path.join(dirname, name + ".grad.out.npy"), mmap_mode="r")
                    grads[name] = float(np.max(np.abs(gv - gt)) / np.max(np.abs(gt)))
                    del gv
            out[(name, n)] = time_calls(fn, min_rep)
        del x, t, extra, f, fn
    return out, losses, grads, torch.__version__


def jax_loss(s, extra):
    """(function of (x, t) returning the loss, how it is written: 'optax', 'jnp', ...) for spec s
    in JAX, or (None, 'n/a') where optax has no equivalent and a few jnp lines would not do."""
    import jax
    import jax.numpy as jnp
    import optax
    loss = s["loss"]
    if loss == "lovasz":
        return None, "n/a"  # neither optax nor a few jnp lines (a sort per class, data-dependent shapes)
    if loss == "cross_entropy":
        if s["weight"] or s["label_smoothing"]:
            return None, "n/a"  # optax has no class weights
        if s["prob"]:
            return (lambda x, t: optax.softmax_cross_entropy(x, t, axis=1).mean()), "optax"
        ii = s["ignore_index"]

        def ce(x, t):
            keep = t != ii
            l = optax.softmax_cross_entropy_with_integer_labels(x, jnp.where(keep, t, 0), axis=1)
            return jnp.sum(jnp.where(keep, l, 0)) / jnp.sum(keep)
        return ce, "optax"
    if loss == "bce_with_logits":
        if "pos_weight" in extra:  # optax has no pos_weight
            pw = jnp.asarray(extra["pos_weight"])
            return (lambda x, t: -jnp.mean(pw * t * jax.nn.log_sigmoid(x) + (1 - t) * jax.nn.log_sigmoid(-x))), "jnp"
        return (lambda x, t: optax.sigmoid_binary_cross_entropy(x, t).mean()), "optax"
    if loss == "bce":  # optax has none on probabilities; PyTorch's clamp of the logs at -100
        return (lambda x, t: -jnp.mean(t * jnp.maximum(jnp.log(x), -100)
                                       + (1 - t) * jnp.maximum(jnp.log1p(-x), -100))), "jnp"
    if loss == "sigmoid_focal":
        return (lambda x, t: optax.sigmoid_focal_loss(x, t, alpha=s["alpha"], gamma=s["gamma"]).mean()), "optax"
    if loss == "hinge":
        def hinge(x, t):  # optax.hinge_loss wants -1/1 labels: Keras's rule in jnp first
            y = jnp.where(jnp.all((t == 0) | (t == 1)), 2 * t - 1, t)
            return optax.hinge_loss(x, y).mean()
        return hinge, "optax + jnp label rule"
    if loss == "multi_margin":  # optax.multiclass_hinge_loss is Crammer-Singer (a max), not this sum
        p, margin = s["p"], s["margin"]

        def multi_margin(x, t):
            m = jnp.maximum(0, margin - jnp.take_along_axis(x, t[:, None], axis=1) + x) ** p
            m = jnp.where(jnp.arange(x.shape[1]) == t[:, None], 0, m)
            return jnp.mean(jnp.sum(m, axis=1)) / x.shape[1]
        return multi_margin, "jnp"
    if loss == "softmax_focal":
        gamma = s["gamma"]

        def softmax_focal(x, t):
            lp = jnp.take_along_axis(jax.nn.log_softmax(x, axis=1), t[:, None], axis=1)[:, 0]
            return jnp.mean((1 - jnp.exp(lp)) ** gamma * -lp)
        return softmax_focal, "jnp"
    if loss == "kl_div":  # batchmean: the per-row divergences' sum over the batch size
        return (lambda x, t: optax.kl_divergence(x, t, axis=-1).sum() / x.shape[0]), "optax"
    if loss in REGION:  # no optax equivalent: smp's formula in jnp, as the torch port
        alpha, beta = s["alpha"], s["beta"]

        def region(x, t):
            bs, c = x.shape[0], x.shape[1]
            p = jnp.exp(jax.nn.log_softmax(x, axis=1)).reshape(bs, c, -1)
            y = jnp.moveaxis(jax.nn.one_hot(t.reshape(bs, -1), c, dtype=p.dtype), 2, 1)
            sp, st = p.sum(axis=(0, 2)), y.sum(axis=(0, 2))
            tp = (sp + st - jnp.abs(p - y).sum(axis=(0, 2))) / 2
            score = tp / jnp.maximum(tp + alpha * (sp - tp) + beta * (st - tp), 1e-7)
            return jnp.mean((1.0 - score) * (st > 0))
        return region, "jnp"
    if loss == "class_weights":
        return None, "n/a"  # not a loss: compared with torch.bincount only
    raise ValueError("unknown loss " + loss)


JAX_WORKER = r"""
import os, sys, json
n = int(sys.argv[2])
os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:n])
import numpy as np, jax
sys.path.insert(0, sys.argv[4])
from compare_pytorch import workloads, load, time_calls, jax_loss
import compare_pytorch
compare_pytorch.REPS = int(sys.argv[5])
d, quick, min_rep = sys.argv[1], sys.argv[3] == "1", float(sys.argv[6])
specs = workloads(quick)
res = {}
for name in open(os.path.join(d, "workloads.txt")).read().split():
    s = specs[name]
    x, t, extra = load(d, name)
    f, how = jax_loss(s, extra)
    if f is None:
        res[name] = [None, None, how]
        continue
    x, t = jax.numpy.asarray(x), jax.numpy.asarray(t)
    g = jax.jit(jax.value_and_grad(f) if s["grad"] else f)
    r = g(x, t)
    loss = float(r[0] if s["grad"] else r)
    res[name] = [time_calls(lambda: jax.block_until_ready(g(x, t)), min_rep), loss, how]
    del x, t, g, r
print(json.dumps(res))
"""


def time_jax(dirname, quick, min_rep):
    """({(name, threads): seconds}, {name: loss}, {name: how}, versions) from one subprocess per
    thread count (XLA's pool is sized at start-up, so the process is pinned to n cores), or
    Nones if JAX/optax do not import."""
    try:
        import jax
        import optax
    except Exception:
        return None, None, None, None
    import json
    out, losses, how = {}, {}, {}
    for n in THREADS:
        if n > len(os.sched_getaffinity(0)):
            continue
        env = dict(os.environ, XLA_FLAGS=os.environ.get("XLA_FLAGS", ""), JAX_PLATFORMS="cpu")
        r = subprocess.run([sys.executable, "-c", JAX_WORKER, dirname, str(n), "1" if quick else "0", HERE,
                            str(REPS), str(min_rep)], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            print("JAX run failed, skipping JAX:\n" + r.stderr[-2000:], file=sys.stderr)
            return None, None, None, None
        for name, (sec, loss, h) in json.loads(r.stdout.strip().splitlines()[-1]).items():
            how[name] = h
            if sec is not None:
                out[(name, n)] = sec
                losses.setdefault(name, loss)
    return out, losses, how, "jax %s, optax %s" % (jax.__version__, optax.__version__)


def java_version(java):
    r = subprocess.run([java, "-version"], capture_output=True, text=True)
    m = re.search(r'version "([^"]+)"', r.stderr)
    if not m:
        return None
    v = m.group(1)
    return int(v.split(".")[0].split("-")[0]), v


def find_java():
    cands = []
    if os.environ.get("JAVA_HOME"):
        cands.append(os.path.join(os.environ["JAVA_HOME"], "bin", "java"))
    cands += sorted(glob.glob("/usr/lib/jvm/*/bin/java"), reverse=True)
    for j in cands:
        if os.access(j, os.X_OK):
            v = java_version(j)
            if v and v[0] >= 25:
                return j, v[1]
    sys.exit("no JDK 25+ found (JAVA_HOME or /usr/lib/jvm/*)")


def time_vecloss(dirname, quick, min_rep):
    if not os.path.exists(JAR):
        sys.exit("%s is missing: run ./mvnw -q -f jmh/pom.xml package first" % JAR)
    java, version = find_java()
    cmd = [java, "--add-modules", "jdk.incubator.vector", "-cp", JAR, "dev.vecloss.bench.CompareDriver", dirname,
           "--threads", ",".join(map(str, THREADS)), "--warmup", "0.3" if quick else "2",
           "--reps", str(REPS), "--min-rep", str(min_rep)]
    print("running: " + " ".join(cmd), file=sys.stderr)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("CompareDriver failed:\n" + r.stderr)
    out, losses, kernels = {}, {}, ""
    for line in r.stdout.splitlines()[1:]:
        name, n, sec = line.split(",")
        out[(name, int(n))] = float(sec)
    for line in r.stderr.splitlines():
        if line.startswith("loss,"):
            _, name, v = line.split(",")
            losses[name] = float(v)
        elif line.startswith("kernels:"):
            kernels = line[len("kernels:"):].strip()
        elif line.startswith("warning:"):
            print("CompareDriver " + line, file=sys.stderr)
    return out, losses, "Java %s (%s)" % (version, kernels)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


TORCH_CODE = {
    "cross_entropy": "F.cross_entropy",
    "bce_with_logits": "F.binary_cross_entropy_with_logits",
    "bce": "F.binary_cross_entropy",
    "sigmoid_focal": "torchvision's sigmoid_focal_loss formula, mean",
    "hinge": "Keras's hinge (0/1 label check over the tensor, clamp_min, mean)",
    "multi_margin": "F.multi_margin_loss",
    "softmax_focal": "F.log_softmax, gather, (1 - p)^2 (-log p), mean",
    "kl_div": "F.kl_div(reduction='batchmean')",
    "dice": "smp DiceLoss port (log_softmax.exp, one_hot, L1 soft_tversky_score)",
    "jaccard": "smp JaccardLoss port (same pipeline, alpha = beta = 1)",
    "tversky": "smp TverskyLoss port (same pipeline)",
    "class_weights": "torch.bincount(labels, minlength=C) (vecloss: ClassWeights.counts)",
    "lovasz": "torch port of smp's LovaszLoss (losses/lovasz.py)",
}


# The README's words for each workload (its size is appended); a cache-resident one reads
# "— cache (shape)" under the workload it is the small copy of.
LABELS = {
    "c1000": "sparse CE", "c32000": "sparse CE", "c100": "sparse CE", "c10": "sparse CE", "c21": "sparse CE",
    "wls1000": "CE, weight + ignore_index + smoothing 0.1", "nchw": "CE, NCHW, ignore_index 255",
    "grad1000": "CE, forward + gradient", "prob1000": "CE, probability targets",
    "bce_with_logits": "BCE with logits, mean", "bce_with_logits_pos_weight": "BCE with logits, pos_weight",
    "bce_with_logits_grad": "BCE with logits, forward + gradient", "bce": "BCE on probabilities",
    "bce_hard": "BCE on probabilities, labels 0 and 1",
    "sigmoid_focal": "sigmoid focal (torchvision)", "hinge": "hinge (Keras label rule)",
    "multi_margin": "multi_margin_loss, p = 1", "softmax_focal": "softmax focal, gamma 2",
    "kl_div": "kl_div batchmean", "dice": "Dice, multiclass from logits", "jaccard": "Jaccard",
    "tversky": "Tversky (0.3, 0.7)", "dice_grad": "Dice, forward + gradient (torch: autograd)",
    "class_weights_u8c21": "class-weight histogram, uint8 labels, C = 21 (`torch.bincount`)",
    "lovasz_softmax": "Lovász-softmax", "lovasz_softmax_per_image": "Lovász-softmax, per_image",
    "lovasz_softmax_grad": "Lovász-softmax, forward + gradient",
    "lovasz_softmax_per_image_grad": "Lovász-softmax, per_image, forward + gradient",
    "lovasz_hinge": "Lovász hinge", "lovasz_hinge_grad": "Lovász hinge, forward + gradient",
}


def base_of(name, specs):
    """The workload a cache-resident one is the small copy of (c1000 for c1000_b1024_cache), or None."""
    if not name.endswith("_cache"):
        return None
    stem = name[:-len("_cache")]
    while stem and stem not in LABELS:
        stem = stem.rpartition("_")[0]
    return stem or None


def shape_text(shape):
    """65536 × 1000; a 1-D power of two as 2^k."""
    if len(shape) == 1 and shape[0] & (shape[0] - 1) == 0:
        return "2^%d" % (shape[0].bit_length() - 1)
    return " × ".join(map(str, shape))


def target(name, spec, cache, vs_torch, vs_jax, scaling):
    """Issue 10's target for this row and whether this run meets it: cross-entropy >= 5x PyTorch
    and >= 2x JAX (>= 2x PyTorch on cache-resident batches), every other loss >= 5x PyTorch (>= 2x
    cache-resident) and >= 2x JAX, two threads >= 1.8x one on large inputs."""
    goals = [("PyTorch", 2.0 if cache else 5.0, vs_torch)]
    if not (cache and spec["loss"] == "cross_entropy") and vs_jax is not None:  # None: JAX has none
        goals.append(("JAX", 2.0, vs_jax))
    if not cache:
        goals.append(("2 threads", 1.8, scaling))
    text = ", ".join("%s ≥ %gx" % (who, g) for who, g, _ in goals)
    missed = ["%s %.2gx" % (who, got) for who, g, got in goals if got is not None and got < g]
    verdict = "not met (%s)" % ", ".join(missed) if missed else "met"
    return "%s: %s" % (text, verdict)


def readme_table(specs, rate, quick):
    """The README's table: one row per workload, one thread (its cache-resident copies under it),
    G elements/s, the ratios vs PyTorch and JAX, two threads against one, issue 10's target.
    rate(side, name, threads) is G elements/s or None."""
    def ratio(a, b):
        return a / b if a is not None and b else None

    def x(r):
        return "" if r is None else "%.2fx" % r if r < 10 else "%.0fx" % r

    def g(r):
        return "n/a" if r is None else "%.3f" % r if r >= 0.01 else "%.2g" % r

    order = []
    for name in specs:
        if base_of(name, specs) in specs:
            continue  # listed under its base
        order.append(name)
        order += [k for k in specs if base_of(k, specs) == name]
    lines = ["| workload | vecloss | PyTorch | vecloss / PyTorch | JAX | vecloss / JAX | 2 threads / 1 "
             "| target (issue 10, one thread unless said) |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for name in order:
        s = specs[name]
        base = base_of(name, specs)
        if base in specs and name != base:
            label = "— cache (%s)" % shape_text(s["shape"])
        elif base:
            label = "%s, cache (%s)" % (LABELS[base], shape_text(s["shape"]))
        else:
            label = "%s, %s" % (LABELS.get(name, name), shape_text(s["shape"]))
        v, t, j = rate("vecloss", name, 1), rate("torch", name, 1), rate("jax", name, 1)
        scaling = ratio(rate("vecloss", name, 2), v)
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, g(v), g(t), x(ratio(v, t)), g(j), x(ratio(v, j)), x(scaling),
            target(name, s, base is not None, ratio(v, t), ratio(v, j), scaling)))
    if quick:
        lines.append("")
        lines.append("(QUICK smoke sizes: no meaning.)")
    return lines


def describe(s):
    """The options of a workload that are not its loss's defaults, for the legend."""
    parts = []
    if s["grad"]:
        parts.append("forward + gradient")
    if s["weight"]:
        parts.append("weight")
    if s["pos_weight"]:
        parts.append("pos_weight (%d)" % s["shape"][-1])
    if s["loss"] in ("cross_entropy", "softmax_focal") and s["ignore_index"] != -100:
        parts.append("ignore_index %d" % s["ignore_index"])
    if s["label_smoothing"]:
        parts.append("label_smoothing %g" % s["label_smoothing"])
    if s["prob"]:
        parts.append("probability targets")
    if s["loss"] == "sigmoid_focal":
        parts.append("alpha %g, gamma %g" % (s["alpha"], s["gamma"]))
    if s["loss"] == "softmax_focal":
        parts.append("gamma %g" % s["gamma"])
    if s["loss"] == "multi_margin":
        parts.append("p %d, margin %g" % (s["p"], s["margin"]))
    if s["loss"] in REGION:
        parts.append("multiclass from logits, alpha %g, beta %g" % (s["alpha"], s["beta"]))
    if s["loss"] == "class_weights":
        parts.append("uint8 labels, %d classes, ~5%% ignore_index %d" % (s["num_classes"], s["ignore_index"]))
    if s["loss"] == "lovasz":
        parts.append(s["mode"] + (", per_image" if s["per_image"] else ""))
    return ", ".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes and short timings: a smoke run, no meaning")
    ap.add_argument("--only", metavar="REGEX", help="only the workloads whose name matches (re.search)")
    ap.add_argument("--out", help="also write the Markdown table to this file")
    ap.add_argument("--keep", action="store_true", help="keep the directory of .npy files")
    args = ap.parse_args()
    min_rep = 0.01 if args.quick else 0.1
    specs = workloads(args.quick)
    if args.only:
        specs = {k: v for k, v in specs.items() if re.search(args.only, k)}
        if not specs:
            sys.exit("no workload matches %r" % args.only)
    d = tempfile.mkdtemp(prefix="vecloss-compare-")
    try:
        generate(d, specs)
        vl, vl_loss, java = time_vecloss(d, args.quick, min_rep)
        th, th_loss, th_grad, torch_version = time_torch(d, specs, min_rep)
        jx, jx_loss, jx_how, jax_version = time_jax(d, args.quick, min_rep)
    finally:
        if args.keep:
            print("kept " + d, file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)

    def g(sec, name):
        return elements(specs[name]) / sec / 1e9

    lines = [
        "# vecloss vs PyTorch%s: loss throughput" % (" vs JAX" if jx else ""),
        "",
        "- date: %s" % datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "- CPU: %s (%d logical cores)" % (cpu_model(), os.cpu_count()),
        "- torch %s; %s" % (torch_version, jax_version if jx else "JAX/optax not installed (skipped)"),
        "- vecloss: %s" % java,
        "- %s; G elements/s = input elements per call (N*C(*H*W) logits for cross-entropy) / seconds per call "
        "/ 1e9; median of %d runs after warm-up; forward only except the grad workloads (forward + backward)"
        % ("QUICK smoke sizes, no meaning" if args.quick else "full sizes", REPS),
        "",
        "| workload | threads | vecloss G/s | torch G/s | vecloss/torch | jax G/s | vecloss/jax |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in specs:
        for n in THREADS:
            v = g(vl[(name, n)], name)
            t = g(th[(name, n)], name)
            j = g(jx[(name, n)], name) if jx and (name, n) in jx else None
            lines.append("| %s | %d | %.3f | %.3f | %.2f | %s | %s |" % (
                name, n, v, t, v / t, "%.3f" % j if j else "n/a", "%.2f" % (v / j) if j else "n/a"))

    def rel(a, b):
        return abs(a - b) / abs(b) if b != 0 else abs(a - b)

    lines += ["", "| workload | input | options | torch | jax | loss (torch) | vecloss rel. diff | jax rel. diff |",
              "|---|---|---|---|---|---:|---:|---:|"]
    for name, s in specs.items():
        jl = jx_loss.get(name) if jx else None
        lines.append("| %s | %s | %s | %s | %s | %.7g | %.1e%s | %s |" % (
            name, " × ".join(map(str, s["shape"])), describe(s), TORCH_CODE[s["loss"]],
            jx_how.get(name, "n/a") if jx else "not run", th_loss[name], rel(vl_loss[name], th_loss[name]),
            " (grad %.1e)" % th_grad[name] if name in th_grad else "",
            "%.1e" % rel(jl, th_loss[name]) if jl is not None else "n/a"))
    worst = max((rel(vl_loss[k], th_loss[k]), k) for k in th_loss)
    worst_grad = max(((v, k) for k, v in th_grad.items()), default=(0.0, "-"))
    lines += ["", "Loss agreement (vecloss vs torch, threads 1): max relative difference %.2e (%s); "
              "gradients: max |g_vecloss - g_torch| / max |g_torch| %.2e (%s)." % (worst + worst_grad)]
    if jx:
        lines.append("JAX: `optax` where optax has the loss, `jnp` where it is written in a few jax.numpy lines, "
                     "n/a where there is no equivalent (class weights); threads = cores the process is pinned to.")
    def rate(side, name, n):
        sec = {"vecloss": vl, "torch": th, "jax": jx or {}}[side].get((name, n))
        return g(sec, name) if sec else None

    lines += ["", "## For the README", "",
              "G elements/s, median of %d runs after warm-up, one thread unless said; %s; %s; torch %s; %s; %s."
              % (REPS, cpu_model(), java, torch_version, jax_version if jx else "no JAX",
                 datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")), ""]
    lines += readme_table(specs, rate, args.quick)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    failed = ["%s (loss, relative difference %.2e)" % (k, rel(vl_loss[k], th_loss[k]))
              for k in th_loss if not rel(vl_loss[k], th_loss[k]) <= 1e-4]
    # not the Lovász gradients: smp's lovasz_grad in float32 differences Jaccard values near 1
    # (J_k - J_{k-1} of 1e-6 from floats of 1e-7 precision), 2e-2 off its own float64 on
    # 8 x 1 x 256 x 256, where vecloss (double) agrees with float64 to 1e-5 (see the README)
    failed += ["%s (gradient, %.2e of its largest magnitude)" % (k, v) for k, v in th_grad.items()
               if not v <= 1e-4 and specs[k]["loss"] != "lovasz"]
    if failed:
        sys.exit("vecloss and torch disagree on " + "; ".join(failed))


if __name__ == "__main__":
    main()
