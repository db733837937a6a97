#!/usr/bin/env bash
# Whole-process times of one-shot command lines (README, "Whole-process times"): bin/vecloss
# cross-entropy on a (1000, 1000) and a (100000, 1000) float32 .npy file with int64 targets,
# against a Python script that loads the same files with NumPy and calls
# torch.nn.functional.cross_entropy. The runs alternate (vecloss, Python, vecloss, ...), the
# files are in the page cache (read once before), and each figure is the median of RUNS wall
# times (date +%s.%N around the process). Prints a Markdown table and the values, which agree.
#
# usage: tools/startup_times.sh [RUNS]          (RUNS: 7 by default)
# environment: PYTHON (python3) with numpy and torch; DATA (a folder for the 400 MB of files,
#              $TMPDIR/vecloss-startup by default, kept for the next run); VECLOSS_OPTS is
#              passed on to bin/vecloss as usual; SIZES ("1000 100000") the row counts.
set -eu
runs=${1:-7}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
python=${PYTHON:-python3}
data=${DATA:-${TMPDIR:-/tmp}/vecloss-startup}
sizes=${SIZES:-1000 100000}
mkdir -p "$data"

for n in $sizes; do
    if [ ! -f "$data/x$n.npy" ] || [ ! -f "$data/y$n.npy" ]; then
        "$python" -c "
import numpy as np
r = np.random.default_rng($n)
np.save('$data/x$n.npy', r.standard_normal(($n, 1000), dtype=np.float32))
np.save('$data/y$n.npy', r.integers(0, 1000, $n))"
    fi
done

cat >"$data/cross_entropy.py" <<'EOF'
# What a user of PyTorch would write: load the files, compute the mean cross-entropy, print it.
import sys
import numpy as np
import torch
import torch.nn.functional as F
x = torch.from_numpy(np.load(sys.argv[1]))
y = torch.from_numpy(np.load(sys.argv[2]))
print(F.cross_entropy(x, y).item())
EOF

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR] = $1} END {printf "%.2f", a[int((NR + 1) / 2)]}'; }

printf '| input | bin/vecloss cross-entropy | Python + PyTorch | ratio |\n|---|---|---|---|\n'
values=
for n in $sizes; do
    x=$data/x$n.npy
    y=$data/y$n.npy
    cat "$x" "$y" >/dev/null # into the page cache
    v=()
    p=()
    for ((i = 0; i < runs; i++)); do
        s=$(now)
        vout=$("$root/bin/vecloss" cross-entropy --input "$x" --target "$y")
        e=$(now)
        v+=("$(echo "$e - $s" | bc)")
        s=$(now)
        pout=$("$python" "$data/cross_entropy.py" "$x" "$y")
        e=$(now)
        p+=("$(echo "$e - $s" | bc)")
    done
    vm=$(printf '%s\n' "${v[@]}" | median)
    pm=$(printf '%s\n' "${p[@]}" | median)
    printf '| (%d, 1000) float32, %d MB | %s s | %s s | %.1fx |\n' "$n" $((n * 4000 / 1000000)) "$vm" "$pm" \
        "$(echo "$pm / $vm" | bc -l)"
    values+="($n, 1000): vecloss $vout, PyTorch $pout"$'\n'
done
printf '\nmedian of %d runs each; %s; %s; load average %s\n' "$runs" \
    "$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //') x $(nproc 2>/dev/null)" \
    "$("$python" -c 'import torch; print("torch", torch.__version__)')" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
printf '%s' "$values"
