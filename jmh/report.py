#!/usr/bin/env python3
"""Turn JMH JSON results into G logits/s (G elements/s for LossBenchmark).

    java --add-modules jdk.incubator.vector -jar jmh/target/benchmarks.jar -rf json -rff jmh-result.json
    python3 jmh/report.py jmh-result.json

G logits/s = ops/s * N*C(*H*W) / 1e9, with the sizes of Workload.java (keep them in step);
ExpCeilingBenchmark counts 2^24 elements per operation; LossBenchmark (params loss and size)
2^26 or 2^18 elements, 65536 x 1000 or 256 x 1000 for its row losses (keep them in step).
"""
import json
import sys

M = 1 << 24
ELEMENTS = {
    "c1000": 65536 * 1000,
    "c1000heap": 65536 * 1000,
    "c32000": 2048 * 32000,
    "c100": (M // 100) * 100,
    "c10": (M // 10) * 10,
    "c21": (M // 21) * 21,
    "wls1000": 65536 * 1000,
    "nchw": 8 * 21 * 512 * 512,
    "grad1000": 65536 * 1000,
    "prob1000": 65536 * 1000,
}
LOSS_ROWS = ("multi_margin", "softmax_focal")  # LossBenchmark.rowLoss


def elements(params):
    if "loss" in params:  # LossBenchmark
        large = params.get("size") == "large"
        if params["loss"] in LOSS_ROWS:
            return (65536 if large else 256) * 1000
        return 1 << (26 if large else 18)
    return ELEMENTS.get(params.get("workload"), M)


def main(path):
    with open(path) as f:
        results = json.load(f)
    print("| benchmark | workload | threads | ops/s | ± | G logits (elements)/s |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        bench = r["benchmark"].rsplit(".", 2)
        name = bench[-2] + "." + bench[-1]
        params = r.get("params", {})
        workload = params.get("workload") or (params["loss"] + "/" + params["size"] if "loss" in params
                                              else "2^24 floats")
        m = r["primaryMetric"]
        if m["scoreUnit"] != "ops/s":
            sys.exit("expected ops/s, got %s (run in the default Throughput mode, -tu s)" % m["scoreUnit"])
        err = m.get("scoreError")
        print("| %s | %s | %s | %.3f | %s | %.3f |" % (
            name, workload, params.get("threads", "1"), m["score"],
            "%.3f" % err if isinstance(err, (int, float)) and err == err else "-", m["score"] * elements(params) / 1e9))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
