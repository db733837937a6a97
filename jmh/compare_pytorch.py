#!/usr/bin/env python3
"""Compare vecloss with torch.nn.functional.cross_entropy (and JAX/optax when importable).

Writes the JMH workloads (same names and sizes as Workload.java) as .npy files with a fixed seed
in a temporary directory, times PyTorch with 1 and 2 threads, JAX/optax (jit) if it imports,
and vecloss through dev.vecloss.bench.CompareDriver in one JVM, then prints a Markdown table of
G logits/s (N*C[*H*W] / seconds per call / 1e9).

Timing, the same on every side: 2 warm-up calls (vecloss: 2 s of warm-up, for the JIT), then
REPS >= 5 timed runs of as many calls as fill --min-rep seconds; the median run counts.

    ./mvnw -q -f jmh/pom.xml package                 # builds jmh/target/benchmarks.jar
    python3 jmh/compare_pytorch.py --quick                     # smoke run, tiny sizes
    python3 jmh/compare_pytorch.py --out results.md            # full sizes (~2.5 GB of .npy)

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


def workloads(quick):
    """name -> dict(shape, weight, ignore_index, label_smoothing, grad, prob, ignored)."""
    m = 1 << (14 if quick else 24)
    n1000 = 64 if quick else 65536
    base = dict(weight=False, ignore_index=-100, label_smoothing=0.0, grad=False, prob=False, ignored=0.0)
    w = {
        "c1000": dict(base, shape=(n1000, 1000)),
        "c32000": dict(base, shape=(4 if quick else 2048, 32000)),
        "c100": dict(base, shape=(m // 100, 100)),
        "c10": dict(base, shape=(m // 10, 10)),
        "c21": dict(base, shape=(m // 21, 21)),
        "wls1000": dict(base, shape=(n1000, 1000), weight=True, ignore_index=0, label_smoothing=0.1),
        "nchw": dict(base, shape=(2, 21, 32, 32) if quick else (8, 21, 512, 512), ignore_index=255, ignored=0.1),
        "grad1000": dict(base, shape=(n1000, 1000), grad=True),
        "prob1000": dict(base, shape=(n1000, 1000), prob=True),
    }
    return w


def elements(spec):
    return int(np.prod(spec["shape"]))


def generate(dirname, specs):
    rng = np.random.default_rng(SEED)
    for name, s in specs.items():
        shape = s["shape"]
        c = shape[1]
        x = rng.uniform(-4, 4, size=shape).astype(np.float32)
        np.save(os.path.join(dirname, name + ".input.npy"), x)
        if s["prob"]:
            q = rng.random(size=shape)
            t = (q / q.sum(axis=1, keepdims=True)).astype(np.float32)
        else:
            tshape = (shape[0],) + tuple(shape[2:])
            t = rng.integers(0, c, size=tshape, dtype=np.int64)
            if s["ignored"] > 0:
                t[rng.random(size=tshape) < s["ignored"]] = s["ignore_index"]
        np.save(os.path.join(dirname, name + ".target.npy"), t)
        if s["weight"]:
            np.save(os.path.join(dirname, name + ".weight.npy"), rng.uniform(0.5, 1.5, size=c).astype(np.float32))
        with open(os.path.join(dirname, name + ".opts"), "w") as f:
            f.write("ignore_index=%d\nlabel_smoothing=%r\ngrad=%s\n"
                    % (s["ignore_index"], s["label_smoothing"], "true" if s["grad"] else "false"))
    with open(os.path.join(dirname, "workloads.txt"), "w") as f:
        f.write("\n".join(specs) + "\n")


def load(dirname, name):
    x = np.load(os.path.join(dirname, name + ".input.npy"))
    t = np.load(os.path.join(dirname, name + ".target.npy"))
    wf = os.path.join(dirname, name + ".weight.npy")
    return x, t, (np.load(wf) if os.path.exists(wf) else None)


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


def time_torch(dirname, specs, min_rep):
    import torch
    import torch.nn.functional as F
    out, losses = {}, {}
    for name, s in specs.items():
        x, t, w = load(dirname, name)
        x, t = torch.from_numpy(x), torch.from_numpy(t)
        w = torch.from_numpy(w) if w is not None else None
        kw = dict(weight=w, ignore_index=s["ignore_index"], label_smoothing=s["label_smoothing"])
        if s["grad"]:
            x.requires_grad_(True)

            def fn():
                x.grad = None
                loss = F.cross_entropy(x, t, **kw)
                loss.backward()
                return loss
        else:
            def fn():
                with torch.no_grad():
                    return F.cross_entropy(x, t, **kw)
        for n in THREADS:
            torch.set_num_threads(n)
            if n == THREADS[0]:
                losses[name] = float(fn().detach())
            out[(name, n)] = time_calls(fn, min_rep)
    return out, losses, torch.__version__


JAX_WORKER = r"""
import os, sys, json, time, statistics
n = int(sys.argv[2])
os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:n])
import numpy as np, jax, jax.numpy as jnp, optax
sys.path.insert(0, sys.argv[4])
from compare_pytorch import workloads, load, time_calls
import compare_pytorch
compare_pytorch.REPS = int(sys.argv[5])
d, quick, min_rep = sys.argv[1], sys.argv[3] == "1", float(sys.argv[6])
res = {}
for name, s in workloads(quick).items():
    if s["weight"] or s["label_smoothing"]:
        continue  # optax has no class weights; not comparable
    x, t, _ = load(d, name)
    x, t = jnp.asarray(x), jnp.asarray(t)
    if s["prob"]:
        f = lambda x, t: optax.softmax_cross_entropy(x, t, axis=1).mean()
    else:
        ii = s["ignore_index"]
        def f(x, t, ii=ii):
            keep = t != ii
            l = optax.softmax_cross_entropy_with_integer_labels(x, jnp.where(keep, t, 0), axis=1)
            return jnp.sum(jnp.where(keep, l, 0)) / jnp.sum(keep)
    g = jax.jit(jax.value_and_grad(f) if s["grad"] else f)
    res[name] = time_calls(lambda: jax.block_until_ready(g(x, t)), min_rep)
print(json.dumps(res))
"""


def time_jax(dirname, quick, min_rep):
    """{(name, threads): seconds} from one subprocess per thread count (XLA's pool is sized at
    start-up, so the process is pinned to n cores), or None if JAX/optax do not import."""
    try:
        import jax
        import optax
    except Exception:
        return None, None
    import json
    out = {}
    for n in THREADS:
        if n > len(os.sched_getaffinity(0)):
            continue
        env = dict(os.environ, XLA_FLAGS=os.environ.get("XLA_FLAGS", ""), JAX_PLATFORMS="cpu")
        r = subprocess.run([sys.executable, "-c", JAX_WORKER, dirname, str(n), "1" if quick else "0", HERE,
                            str(REPS), str(min_rep)], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            print("JAX run failed, skipping JAX:\n" + r.stderr[-2000:], file=sys.stderr)
            return None, None
        for name, sec in json.loads(r.stdout.strip().splitlines()[-1]).items():
            out[(name, n)] = sec
    return out, "jax %s, optax %s" % (jax.__version__, optax.__version__)


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes and short timings: a smoke run, no meaning")
    ap.add_argument("--out", help="also write the Markdown table to this file")
    ap.add_argument("--keep", action="store_true", help="keep the directory of .npy files")
    args = ap.parse_args()
    min_rep = 0.01 if args.quick else 0.1
    specs = workloads(args.quick)
    d = tempfile.mkdtemp(prefix="vecloss-compare-")
    try:
        generate(d, specs)
        vl, vl_loss, java = time_vecloss(d, args.quick, min_rep)
        th, th_loss, torch_version = time_torch(d, specs, min_rep)
        jx, jax_version = time_jax(d, args.quick, min_rep)
    finally:
        if args.keep:
            print("kept " + d, file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)

    def g(sec, name):
        return elements(specs[name]) / sec / 1e9

    lines = [
        "# vecloss vs PyTorch%s: cross-entropy throughput" % (" vs JAX" if jx else ""),
        "",
        "- date: %s" % datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "- CPU: %s (%d logical cores)" % (cpu_model(), os.cpu_count()),
        "- torch %s; %s" % (torch_version, jax_version if jx else "JAX/optax not installed (skipped)"),
        "- vecloss: %s" % java,
        "- %s; G logits/s = N*C(*H*W) / seconds per call / 1e9; median of %d runs after warm-up; "
        "forward only except grad1000 (forward + backward)" % ("QUICK smoke sizes, no meaning" if args.quick
                                                             else "full sizes", REPS),
        "",
        "| workload | threads | vecloss G logits/s | torch G/s | vecloss/torch | jax G/s | vecloss/jax |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in specs:
        for n in THREADS:
            v = g(vl[(name, n)], name)
            t = g(th[(name, n)], name)
            j = g(jx[(name, n)], name) if jx and (name, n) in jx else None
            lines.append("| %s | %d | %.3f | %.3f | %.2f | %s | %s |" % (
                name, n, v, t, v / t, "%.3f" % j if j else "n/a", "%.2f" % (v / j) if j else "n/a"))
    worst = max(((abs(vl_loss[k] - th_loss[k]) / abs(th_loss[k]), k) for k in th_loss), default=(0.0, "-"))
    lines += ["", "Loss agreement (vecloss vs torch, threads 1): max relative difference %.2e (%s)." % worst]
    if jx:
        lines.append("JAX: weighted/smoothed workloads (wls1000) have no optax equivalent (n/a); "
                     "threads = cores the process is pinned to.")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    if worst[0] > 1e-4:
        sys.exit("vecloss and torch disagree on %s: relative difference %.2e" % (worst[1], worst[0]))


if __name__ == "__main__":
    main()
