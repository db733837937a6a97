#!/usr/bin/env python3
"""Turn JMH JSON results into G logits/s.

    java --add-modules jdk.incubator.vector -jar jmh/target/benchmarks.jar -rf json -rff jmh-result.json
    python3 jmh/report.py jmh-result.json

G logits/s = ops/s * N*C(*H*W) / 1e9, with the sizes of Workload.java (keep them in step);
ExpCeilingBenchmark counts 2^24 elements per operation.
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


def main(path):
    with open(path) as f:
        results = json.load(f)
    print("| benchmark | workload | threads | ops/s | ± | G logits/s |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        bench = r["benchmark"].rsplit(".", 2)
        name = bench[-2] + "." + bench[-1]
        params = r.get("params", {})
        workload = params.get("workload", "2^24 floats")
        elements = ELEMENTS.get(workload, M)
        m = r["primaryMetric"]
        if m["scoreUnit"] != "ops/s":
            sys.exit("expected ops/s, got %s (run in the default Throughput mode, -tu s)" % m["scoreUnit"])
        err = m.get("scoreError")
        print("| %s | %s | %s | %.3f | %s | %.3f |" % (
            name, workload, params.get("threads", "1"), m["score"],
            "%.3f" % err if isinstance(err, (int, float)) and err == err else "-", m["score"] * elements / 1e9))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
