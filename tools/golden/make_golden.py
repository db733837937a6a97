#!/usr/bin/env python3
"""Regenerates the PyTorch golden values of vecloss's cross-entropy family.

How to run (from the repository root; CI has no Python, so the output is committed):

    python3 -m venv V && V/bin/pip install torch numpy && V/bin/python tools/golden/make_golden.py

Debian's python3-torch (torch 1.13) works too: the script uses no API newer than that.
It writes src/test/resources/dev/vecloss/golden/{cross_entropy,nll_loss}.txt, read by
src/test/java/dev/vecloss/GoldenTest.java.

File format: line based, one token per value, whitespace separated. Lines starting with '#'
are comments. Each case is a block

    case NAME                  unique name
    op cross_entropy|nll_loss
    note TEXT                  optional, free text
    deviation TEXT             optional: where the expected values are the library's and not
                               PyTorch's (LOSSES.md 1.3), and why
    input_dtype float32|float64
    input_shape D0 D1 ...      empty for a 0-d tensor
    input V V ...              C order; values as Python repr of a float64 (exact round trip),
                               or nan, inf, -inf. float32 inputs are float32-representable.
    target_dtype int64|int32|uint8|float32|float64
    target_shape D0 ...        index targets: input shape without axis 1; probabilities: input's
    target V V ...             integers, or floats as for input
    weight V V ...             optional (absent = no weight); of the input's dtype
    ignore_index I
    label_smoothing EPS        0 for nll_loss
    reduction none|mean|sum
    expected_loss V            the returned value: the reduced loss, for none the sum
    expected_losses V V ...    the per-position losses (reduction none), whatever the reduction
    expected_grad V V ...      gradient of the returned value w.r.t. the input, input's shape
    torch_float32_loss V       optional, float32 cases: PyTorch's own float32 result, for the
                               record (the test compares with the float64 reference)
    end

The expected values are always PyTorch's float64 result on the (float32-rounded, for float32
cases) inputs: the float32 cases measure the library's float32 path against the exact answer of
the same float32 numbers, not against PyTorch's float32 rounding.

Inputs come from numpy.random.RandomState seeded by a CRC of the case name (stable across numpy
versions) and are stored in the file, so Java never reproduces numpy's generator.
"""

import datetime
import math
import os
import platform
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "src", "test", "resources", "dev", "vecloss", "golden"))

FLOAT_DTYPES = ("float32", "float64")
INDEX_DTYPES = ("int64", "int32", "uint8")


def fmt(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(v)


def fmt_all(a):
    return " ".join(fmt(v) for v in np.asarray(a, dtype=np.float64).reshape(-1))


def rng_for(name):
    return np.random.RandomState(zlib.crc32(name.encode("utf-8")))


def as_dtype(a, dtype):
    """The float64 values of `a` rounded to `dtype` (float32 or float64)."""
    a = np.asarray(a, dtype=np.float64)
    if dtype == "float32":
        return a.astype(np.float32).astype(np.float64)
    return a


def torch_loss(op, x, t, w, ignore_index, eps, reduction):
    if op == "nll_loss":
        return F.nll_loss(x, t, weight=w, ignore_index=ignore_index, reduction=reduction)
    if eps > 0:
        return F.cross_entropy(x, t, weight=w, ignore_index=ignore_index, reduction=reduction,
                               label_smoothing=eps)
    # no label_smoothing argument at all when it is 0: also runs on torch < 1.10
    return F.cross_entropy(x, t, weight=w, ignore_index=ignore_index, reduction=reduction)


def evaluate(op, x, t, w, ignore_index, eps, reduction, dtype):
    """(returned value, per-position losses, gradient of the returned value) in `dtype`."""
    tdt = torch.float64 if dtype == "float64" else torch.float32
    xt = torch.tensor(x, dtype=tdt, requires_grad=True)
    if t.dtype.kind == "f":
        tt = torch.tensor(t, dtype=tdt)
    else:
        # PyTorch wants int64 class indices; int32 and uint8 are converted here, the file keeps
        # the dtype the Java side is to use.
        tt = torch.tensor(t.astype(np.int64))
    wt = None if w is None else torch.tensor(w, dtype=tdt)
    with torch.no_grad():
        losses = torch_loss(op, xt, tt, wt, ignore_index, eps, "none")
    out = torch_loss(op, xt, tt, wt, ignore_index, eps, reduction)
    if reduction == "none":
        out = out.sum()  # the library returns (and differentiates) the sum for none
    out.backward()
    return out.item(), losses.detach().numpy().astype(np.float64), xt.grad.detach().numpy().astype(np.float64)


CASES = {"cross_entropy": [], "nll_loss": []}


def case(name, op, x, target, input_dtype="float64", target_dtype="int64", weight=None,
         ignore_index=-100, label_smoothing=0.0, reduction="mean", note=None):
    assert input_dtype in FLOAT_DTYPES
    assert all(name != c["name"] for cs in CASES.values() for c in cs), name
    x = as_dtype(x, input_dtype)
    prob = target_dtype in FLOAT_DTYPES
    if prob:
        assert target_dtype == input_dtype
        target = as_dtype(target, target_dtype)
    else:
        assert target_dtype in INDEX_DTYPES
        target = np.asarray(target, dtype=np.int64)
        info = np.iinfo(target_dtype)
        assert target.min(initial=0) >= info.min and target.max(initial=0) <= info.max, name
        assert target.shape == (() if x.ndim == 1 else (x.shape[0],) + x.shape[2:]), name
    w = None if weight is None else as_dtype(weight, input_dtype)

    loss, losses, grad = evaluate(op, x, target, w, ignore_index, label_smoothing, reduction, "float64")

    deviation = None

    torch32 = None
    if input_dtype == "float32":
        torch32, _, _ = evaluate(op, x.astype(np.float32), target.astype(np.float32) if prob else target,
                                 None if w is None else w.astype(np.float32),
                                 ignore_index, label_smoothing, reduction, "float32")

    lines = ["case " + name, "op " + op]
    if note:
        lines.append("note " + note)
    if deviation:
        lines.append("deviation " + deviation)
    lines += [
        "input_dtype " + input_dtype,
        "input_shape " + " ".join(str(d) for d in x.shape),
        "input " + fmt_all(x),
        "target_dtype " + target_dtype,
        "target_shape " + " ".join(str(d) for d in target.shape),
        "target " + (fmt_all(target) if prob else " ".join(str(int(v)) for v in target.reshape(-1))),
    ]
    if w is not None:
        lines.append("weight " + fmt_all(w))
    lines += [
        "ignore_index %d" % ignore_index,
        "label_smoothing " + fmt(label_smoothing),
        "reduction " + reduction,
        "expected_loss " + fmt(loss),
        "expected_losses " + fmt_all(losses),
        "expected_grad " + fmt_all(grad),
    ]
    if torch32 is not None:
        lines.append("torch_float32_loss " + fmt(torch32))
    lines.append("end")
    CASES[op].append({"name": name, "text": "\n".join(lines)})


def logits(name, *shape, scale=3.0):
    return rng_for(name).standard_normal(shape) * scale


def labels(name, n_classes, shape, ignore_index=None, n_ignored=0):
    r = rng_for(name + "/target")
    t = r.randint(0, n_classes, size=shape).astype(np.int64)
    if n_ignored:
        flat = t.reshape(-1)
        flat[r.choice(flat.size, n_ignored, replace=False)] = ignore_index
    return t


def weights(name, c, zero=()):
    w = rng_for(name + "/weight").uniform(0.25, 2.0, size=c)
    for k in zero:
        w[k] = 0.0
    return w


def probabilities(name, shape, axis=1):
    z = rng_for(name + "/prob").standard_normal(shape)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def cross_entropy_cases():
    ce = "cross_entropy"
    # Index targets with weight, ignore_index and label smoothing together, every reduction.
    for red in ("mean", "sum", "none"):
        for dt in FLOAT_DTYPES:
            base = "ce_idx_weight_ignore_smooth"
            x = logits(base, 6, 5)
            t = labels(base, 5, (6,), -100, 2)
            case("%s_%s_%s" % (base, red, dt), ce, x, t, dt, weight=weights(base, 5),
                 label_smoothing=0.1, reduction=red)
    # ignore_index inside [0, C): class 0, and class 3, is skipped as a target but still smooths.
    for red in ("mean", "sum", "none"):
        base = "ce_idx_ignore0_inside_range"
        t = np.array([0, 2, 0, 1, 3, 0, 4])
        case("%s_%s" % (base, red), ce, logits(base, 7, 5), t, weight=weights(base, 5), ignore_index=0,
             label_smoothing=0.15, reduction=red)
    for red in ("mean", "none"):
        base = "ce_idx_ignore3_inside_range"
        t = np.array([3, 6, 3, 0, 1, 5, 3, 2])
        case("%s_%s_float32" % (base, red), ce, logits(base, 8, 7), t, "float32", weight=weights(base, 7),
             ignore_index=3, label_smoothing=0.25, reduction=red)
    case("ce_idx_defaults", ce, logits("ce_idx_defaults", 5, 4), labels("ce_idx_defaults", 4, (5,)))
    case("ce_idx_smooth_one", ce, logits("ce_idx_smooth_one", 4, 6), labels("ce_idx_smooth_one", 6, (4,)),
         weight=weights("ce_idx_smooth_one", 6), label_smoothing=1.0,
         note="label_smoothing 1: the target no longer matters, only the weighted uniform term")

    # Class-probability targets with weight and smoothing.
    for red in ("mean", "sum", "none"):
        for dt in FLOAT_DTYPES:
            base = "ce_prob_weight_smooth"
            case("%s_%s_%s" % (base, red, dt), ce, logits(base, 5, 6), probabilities(base, (5, 6)), dt, dt,
                 weight=weights(base, 6), label_smoothing=0.2, reduction=red)
    base = "ce_prob_unnormalised"
    case(base, ce, logits(base, 4, 5), rng_for(base + "/t").uniform(-0.5, 1.5, size=(4, 5)),
         target_dtype="float64", reduction="sum",
         note="probability targets are used as given: not in [0,1], rows not summing to 1")

    # Spatial inputs: (N,C,H,W) and (N,C,d1,d2,d3).
    base = "ce_spatial_nchw"
    for red, dt in (("mean", "float64"), ("none", "float32"), ("sum", "float32")):
        case("%s_%s_%s" % (base, red, dt), ce, logits(base, 2, 4, 3, 5), labels(base, 4, (2, 3, 5), -1, 4),
             dt, weight=weights(base, 4), ignore_index=-1, label_smoothing=0.05, reduction=red)
    base = "ce_spatial_3d"
    for red, dt in (("sum", "float64"), ("none", "float32"), ("mean", "float32")):
        case("%s_%s_%s" % (base, red, dt), ce, logits(base, 2, 3, 2, 3, 4), labels(base, 3, (2, 2, 3, 4), 255, 5),
             dt, "uint8" if dt == "float32" else "int64", weight=weights(base, 3), ignore_index=255,
             label_smoothing=0.1, reduction=red)
    base = "ce_spatial_prob_nchw"
    case(base + "_mean", ce, logits(base, 2, 3, 4, 2), probabilities(base, (2, 3, 4, 2)), target_dtype="float64",
         weight=weights(base, 3), label_smoothing=0.1)

    # Unbatched (C) input with a 0-d target.
    base = "ce_unbatched"
    for red in ("mean", "none"):
        case("%s_idx_%s" % (base, red), ce, logits(base, 6), np.array(4), weight=weights(base, 6),
             label_smoothing=0.1, reduction=red)
    case(base + "_idx_ignored_mean", ce, logits(base, 6), np.array(2), ignore_index=2,
         note="the only position is ignored: 0/0")
    case(base + "_prob_sum", ce, logits(base, 6), probabilities(base, (6,), axis=0), target_dtype="float64",
         weight=weights(base, 6), label_smoothing=0.3, reduction="sum")

    # All ignored: mean NaN, sum 0.
    base = "ce_all_ignored"
    for red in ("mean", "sum", "none"):
        case("%s_%s" % (base, red), ce, logits(base, 4, 3), np.full(4, -100), weight=weights(base, 3),
             label_smoothing=0.1, reduction=red)
    case(base + "_mean_float32", ce, logits(base, 4, 3), np.full(4, 7), "float32", ignore_index=7)

    # Empty batch N = 0.
    base = "ce_empty"
    for red in ("mean", "sum", "none"):
        case("%s_%s" % (base, red), ce, np.zeros((0, 4)), np.zeros(0, dtype=np.int64), weight=weights(base, 4),
             label_smoothing=0.1, reduction=red)
    case(base + "_prob_mean", ce, np.zeros((0, 4)), np.zeros((0, 4)), target_dtype="float64")
    case(base + "_spatial_mean_float32", ce, np.zeros((2, 3, 0, 4)), np.zeros((2, 0, 4), dtype=np.int64),
         "float32")

    # C = 1: log_softmax is 0, every loss and gradient 0.
    base = "ce_c1"
    for red in ("mean", "sum"):
        case("%s_%s" % (base, red), ce, logits(base, 3, 1), np.array([0, 0, -100]), weight=[2.5],
             label_smoothing=0.2, reduction=red)
    case(base + "_prob_none_float32", ce, logits(base, 3, 1), np.ones((3, 1)), "float32", "float32",
         reduction="none")

    # Confident rows: the target logit leads the others by 20 and by 100.
    for lead in (20, 100):
        base = "ce_confident_lead%d" % lead
        x = logits(base, 4, 10, scale=0.5)
        t = np.array([3, 0, 9, 5])
        for i, y in enumerate(t):
            x[i] -= x[i].max()
            x[i, y] = lead
        x[0, :] = 0.0
        x[0, 3] = lead  # row 0: exactly lead + zeros
        for red, dt in (("mean", "float64"), ("none", "float64"), ("mean", "float32"), ("none", "float32")):
            case("%s_%s_%s" % (base, red, dt), ce, x, t, dt, reduction=red,
                 note="loss = log1p(sum of exp(-lead)...), must not round to 0")

    # Large logits (+-1e4).
    base = "ce_large_logits"
    x = np.sign(rng_for(base).standard_normal((5, 6))) * 1e4
    x[1] = rng_for(base + "/scaled").standard_normal(6) * 1e4
    x[2, :] = 1e4  # a tie at the maximum
    x[3, :] = -1e4
    for red, dt in (("mean", "float64"), ("none", "float32"), ("sum", "float64")):
        case("%s_%s_%s" % (base, red, dt), ce, x, labels(base, 6, (5,)), dt, weight=weights(base, 6),
             label_smoothing=0.1 if red == "sum" else 0.0, reduction=red)

    # Non-finite logits in a row that is read: NaN or +inf -> that row's loss NaN; -inf is fine
    # without smoothing (exp(-inf) = 0) but gives an infinite smoothing term.
    base = "ce_nonfinite"
    x = logits(base, 5, 4)
    x[0, 2] = np.nan
    x[1, 1] = np.inf
    x[2, 0] = -np.inf
    t = np.array([1, 3, 2, 0, 1])
    for red in ("none", "mean"):
        case("%s_%s" % (base, red), ce, x, t, reduction=red)
    case(base + "_smooth_none_float32", ce, x, t, "float32", label_smoothing=0.1, reduction="none")
    case(base + "_prob_none", ce, x, probabilities(base, (5, 4)), target_dtype="float64", reduction="none")

    # NaN (and inf) at an ignored position: no effect on the loss; the gradient there is NaN
    # where the row's softmax is NaN (log_softmax backward: 0 - softmax * 0), as in PyTorch.
    base = "ce_nan_at_ignored"
    x = logits(base, 4, 5)
    x[1, 3] = np.nan
    x[2, :] = np.nan
    x[3, 0] = np.inf
    t = np.array([2, -100, -100, -100])
    t2 = t.copy()
    t2[3] = 4  # row 3 (with +inf) active: NaN
    for red, dt in (("mean", "float64"), ("none", "float32")):
        case("%s_%s_%s" % (base, red, dt), ce, x, t, dt, weight=weights(base, 5), reduction=red)
    case(base + "_smooth_sum", ce, x, t, weight=weights(base, 5), label_smoothing=0.2, reduction="sum")

    # Targets given as int32 and uint8 (PyTorch needs int64; the Java side uses these dtypes).
    base = "ce_target_int32"
    for red in ("mean", "none"):
        case("%s_%s" % (base, red), ce, logits(base, 6, 5), labels(base, 5, (6,), -1, 1), target_dtype="int32",
             weight=weights(base, 5), ignore_index=-1, label_smoothing=0.1, reduction=red)
    base = "ce_target_uint8"
    for red, dt in (("mean", "float32"), ("sum", "float64")):
        case("%s_%s_%s" % (base, red, dt), ce, logits(base, 6, 5), labels(base, 5, (6,), 255, 2), dt, "uint8",
             weight=weights(base, 5), ignore_index=255, label_smoothing=0.1, reduction=red)

    # Zero weights.
    base = "ce_zero_weights"
    for red in ("mean", "none"):
        case("%s_%s" % (base, red), ce, logits(base, 6, 4), np.array([0, 1, 2, 3, 0, 1]),
             weight=weights(base, 4, zero=(0, 2)), label_smoothing=0.1, reduction=red)
    case(base + "_all_active_zero_mean", ce, logits(base, 3, 4), np.array([0, 2, 0]),
         weight=weights(base, 4, zero=(0, 2)), note="every active target has weight 0: W = 0, 0/0")
    x = logits(base, 3, 4)
    x[1, 2] = -np.inf
    case(base + "_neg_inf_target_sum", ce, x, np.array([1, 2, 3]), weight=weights(base, 4, zero=(2,)),
         reduction="sum", note="w_y = 0 and lp_y = -inf: 0 * inf = NaN, kept (LOSSES.md 1.3)")
    case(base + "_prob_mean", ce, logits(base, 3, 4), probabilities(base, (3, 4)), target_dtype="float64",
         weight=weights(base, 4, zero=(1,)), label_smoothing=0.1)

    # Odd class counts.
    for c, rows, dt, red in ((3, 4, "float64", "mean"), (7, 3, "float32", "none"), (13, 3, "float64", "sum"),
                             (31, 3, "float32", "mean"), (100, 3, "float64", "none"),
                             (1021, 2, "float32", "mean"), (1021, 3, "float64", "sum")):
        base = "ce_odd_c%d" % c
        name = "%s_%s_%s" % (base, red, dt)
        case(name, ce, logits(name, rows, c), labels(name, c, (rows,), -100, 1 if rows > 2 else 0), dt,
             weight=weights(name, c), label_smoothing=0.1 if c % 2 else 0.0, reduction=red)
    base = "ce_odd_c13_prob"
    case(base + "_mean_float32", ce, logits(base, 3, 13), probabilities(base, (3, 13)), "float32", "float32",
         weight=weights(base, 13), label_smoothing=0.05)


def nll_cases():
    nll = "nll_loss"

    def logp(name, *shape):
        x = torch.tensor(logits(name, *shape))
        return torch.log_softmax(x, dim=1 if len(shape) > 1 else 0).numpy()

    base = "nll_weight_ignore"
    for red in ("mean", "sum", "none"):
        for dt in FLOAT_DTYPES:
            case("%s_%s_%s" % (base, red, dt), nll, logp(base, 7, 5), labels(base, 5, (7,), -100, 2), dt,
                 weight=weights(base, 5), reduction=red)
    base = "nll_ignore2_inside_range"
    case(base + "_mean", nll, logp(base, 6, 4), np.array([2, 0, 2, 3, 1, 2]), weight=weights(base, 4),
         ignore_index=2)
    case("nll_arbitrary_input_sum", nll, logits("nll_arbitrary_input", 5, 3, scale=50.0),
         labels("nll_arbitrary_input", 3, (5,)), reduction="sum", note="input is not checked to be log-probs")
    base = "nll_spatial_nchw"
    for red, dt in (("mean", "float64"), ("none", "float32")):
        case("%s_%s_%s" % (base, red, dt), nll, logp(base, 2, 3, 4, 3), labels(base, 3, (2, 4, 3), -1, 3), dt,
             weight=weights(base, 3), ignore_index=-1, reduction=red)
    base = "nll_spatial_3d"
    case(base + "_sum", nll, logp(base, 1, 4, 2, 2, 3), labels(base, 4, (1, 2, 2, 3), -100, 2),
         weight=weights(base, 4), reduction="sum")
    base = "nll_unbatched"
    case(base + "_mean", nll, logp(base, 5), np.array(3), weight=weights(base, 5))
    case(base + "_none_float32", nll, logp(base, 5), np.array(1), "float32", reduction="none")
    base = "nll_all_ignored"
    for red in ("mean", "sum"):
        case("%s_%s" % (base, red), nll, logp(base, 3, 4), np.full(3, -100), weight=weights(base, 4), reduction=red)
    base = "nll_empty"
    for red in ("mean", "sum"):
        case("%s_%s" % (base, red), nll, np.zeros((0, 3)), np.zeros(0, dtype=np.int64), reduction=red)
    base = "nll_target_int32"
    case(base + "_mean", nll, logp(base, 5, 6), labels(base, 6, (5,), -1, 1), target_dtype="int32",
         weight=weights(base, 6), ignore_index=-1)
    base = "nll_target_uint8"
    case(base + "_none_float32", nll, logp(base, 5, 6), labels(base, 6, (5,), 255, 2), "float32", "uint8",
         weight=weights(base, 6), ignore_index=255, reduction="none")
    base = "nll_nan_at_ignored"
    x = logp(base, 4, 3)
    x[1, :] = np.nan
    x[3, 2] = np.nan
    case(base + "_mean", nll, x, np.array([0, -100, 2, 1]), weight=weights(base, 3),
         note="row 1 is ignored (no effect); row 3 holds NaN off its target (not read)")
    x2 = x.copy()
    case(base + "_nan_target_mean", nll, x2, np.array([0, -100, 2, 2]), weight=weights(base, 3),
         note="row 3 reads its NaN target entry: NaN")
    base = "nll_zero_weights"
    case(base + "_mean", nll, logp(base, 4, 3), np.array([0, 1, 2, 1]), weight=weights(base, 3, zero=(1,)))
    case(base + "_all_active_zero_mean", nll, logp(base, 4, 3), np.array([1, 1, -100, 1]),
         weight=weights(base, 3, zero=(1,)), note="W = 0: 0/0")
    base = "nll_odd_c1021"
    case(base + "_mean_float32", nll, logp(base, 3, 1021), labels(base, 1021, (3,)), "float32",
         weight=weights(base, 1021))


def main():
    torch.set_num_threads(1)
    cross_entropy_cases()
    nll_cases()
    provenance = ("# generated by tools/golden/make_golden.py with torch %s, numpy %s, python %s, on %s; do not edit"
                  % (torch.__version__, np.__version__, platform.python_version(),
                     datetime.date.today().isoformat()))
    os.makedirs(OUT_DIR, exist_ok=True)
    for op, cases in CASES.items():
        path = os.path.join(OUT_DIR, op + ".txt")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(provenance + "\n")
            f.write("# format: see the docstring of tools/golden/make_golden.py; %d cases\n" % len(cases))
            for c in cases:
                f.write("\n" + c["text"] + "\n")
        print("wrote %d cases to %s" % (len(cases), os.path.relpath(path)))


if __name__ == "__main__":
    main()
