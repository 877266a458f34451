#!/usr/bin/env bash
# Side-by-side timing of `ddpm bench` (ours) and PyTorch eager on the same DDPM U-Net steps.
#
# Usage: Benchmarks/compare_pytorch.sh [--quick] [--pytorch-only]
#   --quick         1 round, 3 timed iterations, 1 warm-up (a smoke test, not a measurement)
#   --pytorch-only  skip building and running ours (results go to results/pytorch-only.*, not latest.*)
# Environment (defaults): ROUNDS=5 ITERATIONS=10 WARMUP=3 THREADS=2
#   IDLE_WAIT=300  before each run, wait up to this many seconds for the CPUs to be ≥ 90% idle
#                  for 3 s in a row (the machine may be shared; 0 disables the wait)
#   TORCH_SPEC="torch==2.13.0+cpu"  what to install into Benchmarks/.venv when torch is missing
#   TORCH_INDEX=https://download.pytorch.org/whl/cpu  fallback index for the CPU-only wheel
#
# Configurations: train fashion batch 64, train cifar10 batch 16, sample fashion batch 64,
# sample cifar10 batch 16. Each round runs every configuration once per side, each run in its own
# process, the two sides alternating (odd rounds ours first, even rounds PyTorch first). Both sides
# run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from their environment (this environment
# sets them and they force slower kernels); nothing else is changed.
#
# Writes Benchmarks/results/latest.jsonl (every run's JSON line, tagged with "implementation" and
# "round", plus the GEMM ceiling) and Benchmarks/results/latest.md (the table). The table reports,
# per configuration, the median over rounds of each run's median seconds per step, images/s =
# batch / that, the ratio PyTorch time / our time (> 1: ours is faster) and the median peak RSS.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

ROUNDS="${ROUNDS:-5}"
ITERATIONS="${ITERATIONS:-10}"
WARMUP="${WARMUP:-3}"
THREADS="${THREADS:-2}"
IDLE_WAIT="${IDLE_WAIT:-300}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0+cpu}"
TORCH_INDEX="${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
pytorch_only=0

die() { echo "compare_pytorch.sh: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) ROUNDS=1; ITERATIONS=3; WARMUP=1 ;;
    --pytorch-only) pytorch_only=1 ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
  shift
done
[[ "$IDLE_WAIT" =~ ^[0-9]+$ ]] || die "IDLE_WAIT must be a non-negative integer, got '$IDLE_WAIT'"
for v in ROUNDS ITERATIONS THREADS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer, got '$WARMUP'"

command -v python3 >/dev/null 2>&1 || die "python3 not found; install Python 3.9+ (it is needed for the PyTorch side only)"
if [ "$pytorch_only" -eq 0 ]; then
  command -v swift >/dev/null 2>&1 || die "swift not found; install a Swift 6 toolchain, or run with --pytorch-only"
fi

# --- PyTorch environment ------------------------------------------------------------------------
venv="$here/.venv"
py="$venv/bin/python"
if [ ! -x "$py" ]; then
  echo "Creating $venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
fi
if ! "$py" -c "import torch" >/dev/null 2>&1; then
  echo "Installing $TORCH_SPEC into $venv"
  "$py" -m pip install -q "$TORCH_SPEC" \
    || "$py" -m pip install -q "$TORCH_SPEC" --index-url "$TORCH_INDEX" \
    || die "could not install $TORCH_SPEC (set TORCH_SPEC / TORCH_INDEX to a CPU-only torch wheel you can reach)"
fi

# --- Our tool -----------------------------------------------------------------------------------
ddpm="$root/.build/release/ddpm"
if [ "$pytorch_only" -eq 0 ]; then
  echo "Building ddpm (release, -target-cpu native)"
  swift build -c release -Xswiftc -target-cpu -Xswiftc native --product ddpm >&2 \
    || die "swift build failed"
  [ -x "$ddpm" ] || die "$ddpm was not produced by the build"
  "$ddpm" bench --help >/dev/null 2>&1 || die "'ddpm bench' is not available in this build (no bench subcommand yet?)"
fi

# --- Runs ---------------------------------------------------------------------------------------
results="$here/results"
mkdir -p "$results"
if [ "$pytorch_only" -eq 1 ]; then stem="pytorch-only"; else stem="latest"; fi
jsonl="$(mktemp)"
trap 'rm -f "$jsonl"' EXIT

# Both sides without the OpenBLAS overrides of this environment (only in the child's environment).
clean_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)

load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
if python3 -c "import sys; sys.exit(0 if float('$load') > 0.5 else 1)"; then
  echo "warning: 1-minute load average is $load; other processes will distort the timings" >&2
fi

# tag IMPLEMENTATION ROUND: reads one JSON object on stdin, appends it with the tags to $jsonl.
tag() {
  python3 -c '
import json, sys
impl, rnd, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = [l for l in sys.stdin.read().splitlines() if l.strip().startswith("{")]
if not lines:
    sys.exit("no JSON object in the output of " + impl)
obj = json.loads(lines[-1])
obj["implementation"] = impl
obj["round"] = rnd
with open(path, "a") as f:
    f.write(json.dumps(obj) + "\n")
s = obj["seconds"]
print("  {:8s} {:8s} {:6s} batch {:3d}: {:.4f} s/step, {:.1f} images/s, {:.0f} MiB".format(
    impl, obj["model"], obj["mode"], obj["batch_size"], s["median"], obj["images_per_second"],
    obj["peak_rss_bytes"] / 2**20)
    + ("" if "cpu_utilization" not in obj else ", CPU utilisation {:.2f}".format(obj["cpu_utilization"])))
' "$1" "$2" "$jsonl"
}

# wait_idle: returns once the CPUs were ≥ 90% idle for 3 consecutive seconds, or after $IDLE_WAIT s.
wait_idle() {
  local waited=0 quiet=0 a b
  [ "$IDLE_WAIT" -eq 0 ] && return 0
  while [ "$waited" -lt "$IDLE_WAIT" ]; do
    read -r -a a </proc/stat; sleep 1; read -r -a b </proc/stat
    waited=$((waited + 1))
    local total=0 i
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    local idle=$((b[4] + b[5] - a[4] - a[5]))
    if [ "$total" -gt 0 ] && [ $((100 * idle / total)) -ge 90 ]; then quiet=$((quiet + 1)); else quiet=0; fi
    [ "$quiet" -ge 3 ] && return 0
  done
  echo "warning: the CPUs were still busy after ${IDLE_WAIT}s; timing anyway" >&2
}

run_ours() {  # mode model batch round
  wait_idle
  "${clean_env[@]}" "$ddpm" bench --model "$2" --mode "$1" --batch-size "$3" \
    --iterations "$ITERATIONS" --warmup "$WARMUP" --threads "$THREADS" --json | tag ours "$4"
}
run_torch() {  # mode model batch round
  wait_idle
  "${clean_env[@]}" "$py" "$here/pytorch/bench_torch.py" --model "$2" --mode "$1" --batch-size "$3" \
    --iterations "$ITERATIONS" --warmup "$WARMUP" --threads "$THREADS" --json | tag pytorch "$4"
}

configs=("train fashion 64" "train cifar10 16" "sample fashion 64" "sample cifar10 16")
echo "Rounds $ROUNDS, $ITERATIONS timed iterations per run, $THREADS threads"
for ((round = 1; round <= ROUNDS; round++)); do
  echo "Round $round/$ROUNDS"
  for config in "${configs[@]}"; do
    read -r mode model batch <<<"$config"
    if [ "$pytorch_only" -eq 1 ]; then
      run_torch "$mode" "$model" "$batch" "$round"
    elif ((round % 2 == 1)); then
      run_ours "$mode" "$model" "$batch" "$round"
      run_torch "$mode" "$model" "$batch" "$round"
    else
      run_torch "$mode" "$model" "$batch" "$round"
      run_ours "$mode" "$model" "$batch" "$round"
    fi
  done
done

echo "GEMM ceiling (2048³ SGEMM, torch.matmul, $THREADS threads)"
wait_idle
"${clean_env[@]}" "$py" "$here/pytorch/gemm_ceiling.py" --size 2048 --threads "$THREADS" \
  | python3 -c 'import json, sys; o = json.loads(sys.stdin.read()); o["implementation"] = "pytorch"; print(json.dumps(o))' \
  >>"$jsonl"

# --- Table --------------------------------------------------------------------------------------
cp "$jsonl" "$results/$stem.jsonl"
python3 - "$results/$stem.jsonl" "$results/$stem.md" "$THREADS" "$ITERATIONS" "$WARMUP" <<'EOF'
import json, platform, statistics, subprocess, sys, time
path, out, threads, iterations, warmup = sys.argv[1:6]
runs = [json.loads(l) for l in open(path) if l.strip()]
gemm = [r for r in runs if "gemm" in r]
steps = [r for r in runs if "gemm" not in r]
order = [("train", "fashion", 64), ("train", "cifar10", 16), ("sample", "fashion", 64), ("sample", "cifar10", 16)]

def summary(impl, mode, model, batch):
    sel = [r for r in steps if r["implementation"] == impl and r["mode"] == mode
           and r["model"] == model and r["batch_size"] == batch]
    if not sel:
        return None
    sec = statistics.median(r["seconds"]["median"] for r in sel)
    rss = statistics.median(r["peak_rss_bytes"] for r in sel)
    gf = statistics.median(r["gflops"] for r in sel)
    util = [r["cpu_utilization"] for r in sel if "cpu_utilization" in r]
    return dict(sec=sec, ips=batch / sec, rss=rss, gflops=gf, n=len(sel), util=min(util) if util else None)

def cell(s):
    return f"{s['sec']:.3f} s, {s['ips']:.1f} img/s" if s else "—"

def mib(s):
    return f"{s['rss'] / 2**20:.0f} MiB" if s else "—"

cpu = "unknown CPU"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass
torch_version = next((r.get("torch") for r in runs if r.get("torch")), "?")
rounds = max((r.get("round", 0) for r in steps), default=0)
lines = [
    "# DDPM U-Net steps: ours vs PyTorch eager (CPU)",
    "",
    f"{time.strftime('%Y-%m-%d %H:%M')}; {cpu}, {threads} threads; PyTorch {torch_version} "
    f"(channels_last, Adam default); rounds: {rounds}, timed iterations per run: {iterations} "
    f"({warmup} warm-up steps first, both sides). Seconds are per step (median over rounds of each run's median).",
    "",
    "| configuration | ours (s/step, images/s) | PyTorch (s/step, images/s) | ratio (PyTorch / ours) | peak RSS ours | peak RSS PyTorch |",
    "|---|---|---|---|---|---|",
]
for mode, model, batch in order:
    o, p = summary("ours", mode, model, batch), summary("pytorch", mode, model, batch)
    ratio = f"{p['sec'] / o['sec']:.2f}×" if (o and p) else "—"
    lines.append(f"| {mode} {model} batch {batch} | {cell(o)} | {cell(p)} | {ratio} | {mib(o)} | {mib(p)} |")
lines.append("")
for mode, model, batch in order:
    o, p = summary("ours", mode, model, batch), summary("pytorch", mode, model, batch)
    parts = [f"{name} {s['gflops']:.0f}" for name, s in (("ours", o), ("PyTorch", p)) if s]
    util = f" (PyTorch's lowest CPU utilisation over its runs: {p['util']:.2f})" if p and p["util"] is not None else ""
    lines.append(f"- {mode} {model} batch {batch}: GFLOPS " + ", ".join(parts) + util)
conv = next((r.get("convolution") for r in steps if r["implementation"] == "ours" and r.get("convolution")), None)
if conv:
    lines.append(f"- our convolutions: {conv}" + (" (Winograd F(4×4, 3×3) for the 3×3 stride-1 ones, direct for the rest)" if conv == "winograd" else ""))
lines.append("- GFLOPS count the direct convolutions' multiply-adds (×2) for both sides, so with Winograd (fewer "
             "multiplications) ours is an effective rate and can exceed the SGEMM ceiling below")
for g in gemm:
    lines.append(f"- GEMM ceiling: {g['gemm']}³ SGEMM with torch.matmul on {g['threads']} threads: "
                 f"{g['gflops']['median']:.0f} GFLOPS median, {g['gflops']['best']:.0f} best")
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print()
print(text, end="")
EOF
echo
echo "Wrote $results/$stem.jsonl and $results/$stem.md"
