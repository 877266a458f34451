#!/usr/bin/env bash
# Side-by-side timing of `ddpm bench` (ours) and PyTorch eager, in every mode a PyTorch user would
# pick on CPU, on the same DDPM U-Net steps, with this machine's FP32 and BF16 arithmetic peaks.
#
# Usage: Benchmarks/compare_pytorch.sh [--quick | --smoke] [--pytorch-only]
#   --quick         1 round, 3 timed iterations, 1 warm-up (a smoke test, not a measurement);
#                   writes results/quick.*
#   --smoke         1 round, 1 timed iteration, 1 warm-up, tiny batches (train fashion 2, train
#                   cifar10 1, sample fashion 2, sample cifar10 1), no idle wait, short peak and
#                   GEMM runs: checks in a few minutes that everything runs; writes results/smoke.*
#   --pytorch-only  skip building and running ours (results go to results/pytorch-only.*)
# Environment (defaults): ROUNDS=5 ITERATIONS=10 WARMUP=3 THREADS=2
#   IDLE_WAIT=300  before each run, wait up to this many seconds for the CPUs to be ≥ 90% idle
#                  for 3 s in a row (the machine may be shared; 0 disables the wait)
#   TORCH_MODES="fp32:contiguous fp32:channels_last bf16:contiguous bf16:channels_last"
#                  the PyTorch modes, precision:layout (bf16 = torch.autocast("cpu", torch.bfloat16))
#   CONFIGS="train fashion 64;train cifar10 16;sample fashion 64;sample cifar10 16"
#   ADAM=default   torch.optim.Adam implementation of the PyTorch side (default|foreach|fused)
#   DDPM=          a ddpm binary to use as it is (no `swift build`); empty: build .build/release/ddpm
#   PYTHON=        a Python with torch; empty: Benchmarks/.venv, else scripts/reference/.venv,
#                  whichever imports torch, else Benchmarks/.venv is created and torch installed
#   PEAK=1         run Benchmarks/peak/peak.c (needs gcc with -mavx512bf16; 0 skips it)
#   PEAK_SECONDS=0.3 PEAK_REPEATS=5  length and count of each peak measurement (best is the peak)
#   GEMM_SIZE=2048 the n³ GEMM ceilings (FP32 and BF16 torch.matmul)
#   OUTPUT=        file stem under Benchmarks/results (default latest, quick, smoke or pytorch-only)
#   TORCH_SPEC="torch==2.13.0+cpu"  what to install into Benchmarks/.venv when no Python has torch
#   TORCH_INDEX=https://download.pytorch.org/whl/cpu  fallback index for the CPU-only wheel
#
# Each round runs every configuration once per variant — ours FP32 (`ddpm bench`), ours BF16
# (`ddpm bench --precision bf16`, only if `ddpm bench --help` lists --precision with bf16) and each
# PyTorch mode — each run in its own process, one after the other, never two at once; odd rounds
# in that order (ours first), even rounds in the reverse order (ours last), so that over two rounds
# every variant has had the same mean position. Both sides run with OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE removed from their environment (this environment sets them and they force
# slower kernels); nothing else is changed.
#
# Writes Benchmarks/results/<stem>.jsonl (every run's JSON line, tagged with "implementation",
# "precision", "layout" and "round", plus the GEMM ceilings and the peaks) and <stem>.md (the
# tables): per configuration and variant the median over rounds of each run's median seconds per
# step, images/s; the ratios PyTorch time / our time (> 1: ours is faster) against PyTorch's
# fastest mode overall and its fastest mode of the same precision; GFLOPS (the same FLOP count for
# every variant) as a share of the matching peak; median peak RSS.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

ROUNDS="${ROUNDS:-5}"
ITERATIONS="${ITERATIONS:-10}"
WARMUP="${WARMUP:-3}"
THREADS="${THREADS:-2}"
IDLE_WAIT="${IDLE_WAIT:-300}"
TORCH_MODES="${TORCH_MODES:-fp32:contiguous fp32:channels_last bf16:contiguous bf16:channels_last}"
CONFIGS="${CONFIGS:-train fashion 64;train cifar10 16;sample fashion 64;sample cifar10 16}"
ADAM="${ADAM:-default}"
DDPM="${DDPM:-}"
PYTHON="${PYTHON:-}"
PEAK="${PEAK:-1}"
PEAK_SECONDS="${PEAK_SECONDS:-0.3}"
PEAK_REPEATS="${PEAK_REPEATS:-5}"
GEMM_SIZE="${GEMM_SIZE:-2048}"
OUTPUT="${OUTPUT:-}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0+cpu}"
TORCH_INDEX="${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
pytorch_only=0
preset=""

die() { echo "compare_pytorch.sh: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) preset=quick; ROUNDS=1; ITERATIONS=3; WARMUP=1 ;;
    --smoke)
      preset=smoke; ROUNDS=1; ITERATIONS=1; WARMUP=1; IDLE_WAIT=0
      CONFIGS="train fashion 2;train cifar10 1;sample fashion 2;sample cifar10 1"
      PEAK_SECONDS=0.05; PEAK_REPEATS=1; GEMM_SIZE=512 ;;
    --pytorch-only) pytorch_only=1 ;;
    -h|--help) sed -n '2,42p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
  shift
done
[[ "$IDLE_WAIT" =~ ^[0-9]+$ ]] || die "IDLE_WAIT must be a non-negative integer, got '$IDLE_WAIT'"
for v in ROUNDS ITERATIONS THREADS PEAK_REPEATS GEMM_SIZE; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer, got '$WARMUP'"
[[ "$PEAK" =~ ^[01]$ ]] || die "PEAK must be 0 or 1, got '$PEAK'"
[[ "$PEAK_SECONDS" =~ ^[0-9]*\.?[0-9]+$ ]] || die "PEAK_SECONDS must be a positive number, got '$PEAK_SECONDS'"
case "$ADAM" in default|foreach|fused) ;; *) die "ADAM must be default, foreach or fused, got '$ADAM'" ;; esac
read -r -a torch_modes <<<"$TORCH_MODES"
[ "${#torch_modes[@]}" -gt 0 ] || die "TORCH_MODES is empty"
for m in "${torch_modes[@]}"; do
  [[ "$m" =~ ^(fp32|bf16):(contiguous|channels_last)$ ]] || die "TORCH_MODES: '$m' is not precision:layout (fp32|bf16 : contiguous|channels_last)"
done
IFS=';' read -r -a configs <<<"$CONFIGS"
[ "${#configs[@]}" -gt 0 ] || die "CONFIGS is empty"
for c in "${configs[@]}"; do
  [[ "$c" =~ ^\ *(train|sample)\ +(fashion|cifar10)\ +[1-9][0-9]*\ *$ ]] || die "CONFIGS: '$c' is not 'train|sample fashion|cifar10 BATCH'"
done

command -v python3 >/dev/null 2>&1 || die "python3 not found; install Python 3.9+ (it is needed for the PyTorch side only)"
if [ "$pytorch_only" -eq 0 ] && [ -z "$DDPM" ]; then
  command -v swift >/dev/null 2>&1 || die "swift not found; install a Swift 6 toolchain, set DDPM to a built ddpm, or run with --pytorch-only"
fi

# --- PyTorch environment ------------------------------------------------------------------------
has_torch() { [ -x "$1" ] && "$1" -c "import torch" >/dev/null 2>&1; }
if [ -n "$PYTHON" ]; then
  py="$PYTHON"
  has_torch "$py" || die "PYTHON=$py cannot import torch"
else
  py=""
  for candidate in "$here/.venv/bin/python" "$root/scripts/reference/.venv/bin/python"; do
    if has_torch "$candidate"; then py="$candidate"; break; fi
  done
  if [ -z "$py" ]; then
    venv="$here/.venv"
    py="$venv/bin/python"
    if [ ! -x "$py" ]; then
      echo "Creating $venv"
      python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    fi
    echo "Installing $TORCH_SPEC into $venv"
    "$py" -m pip install -q "$TORCH_SPEC" \
      || "$py" -m pip install -q "$TORCH_SPEC" --index-url "$TORCH_INDEX" \
      || die "could not install $TORCH_SPEC (set TORCH_SPEC / TORCH_INDEX to a CPU-only torch wheel you can reach, or PYTHON to a Python with torch)"
  fi
fi
echo "PyTorch side: $py (torch $("$py" -c 'import torch; print(torch.__version__)'))"

# --- Our tool -----------------------------------------------------------------------------------
ours_bf16=0
if [ "$pytorch_only" -eq 0 ]; then
  if [ -n "$DDPM" ]; then
    ddpm="$DDPM"
    [ -x "$ddpm" ] || die "DDPM=$ddpm is not an executable"
  else
    ddpm="$root/.build/release/ddpm"
    echo "Building ddpm (release, -target-cpu native)"
    swift build -c release -Xswiftc -target-cpu -Xswiftc native --product ddpm >&2 \
      || die "swift build failed"
    [ -x "$ddpm" ] || die "$ddpm was not produced by the build"
  fi
  bench_help="$("$ddpm" bench --help 2>&1)" || die "'ddpm bench' is not available in $ddpm (no bench subcommand yet?)"
  if grep -q -- '--precision' <<<"$bench_help" && grep -qi 'bf16' <<<"$bench_help"; then
    ours_bf16=1
    echo "ddpm bench has --precision: ours runs in FP32 and in BF16"
  else
    echo "ddpm bench has no --precision bf16: ours runs in FP32 only (its BF16 column reads n/a)"
  fi
fi

# --- Runs ---------------------------------------------------------------------------------------
results="$here/results"
mkdir -p "$results"
if [ -n "$OUTPUT" ]; then stem="$OUTPUT"
elif [ -n "$preset" ]; then stem="$preset"
elif [ "$pytorch_only" -eq 1 ]; then stem="pytorch-only"
else stem="latest"; fi
[[ "$stem" =~ ^[A-Za-z0-9._-]+$ ]] || die "OUTPUT must be a plain file stem, got '$stem'"
[ "$pytorch_only" -eq 1 ] && [ "$stem" = "latest" ] && die "--pytorch-only must not overwrite latest.*; choose another OUTPUT"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
jsonl="$work/runs.jsonl"
: >"$jsonl"

# Both sides without the OpenBLAS overrides of this environment (only in the child's environment).
clean_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)

load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
if python3 -c "import sys; sys.exit(0 if float('$load') > 0.5 else 1)"; then
  echo "warning: 1-minute load average is $load; other processes will distort the timings" >&2
fi

# tag IMPLEMENTATION PRECISION ROUND: reads one JSON object on stdin, appends it with the tags to $jsonl.
tag() {
  python3 -c '
import json, sys
impl, precision, rnd, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
lines = [l for l in sys.stdin.read().splitlines() if l.strip().startswith("{")]
if not lines:
    sys.exit("no JSON object in the output of " + impl)
obj = json.loads(lines[-1])
obj["implementation"] = impl
obj["precision"] = precision  # what the script asked for
obj["round"] = rnd
with open(path, "a") as f:
    f.write(json.dumps(obj) + "\n")
s = obj["seconds"]
variant = impl + " " + obj["precision"] + ("" if impl == "ours" else " " + obj["layout"])
print("  {:28s} {:8s} {:6s} batch {:3d}: {:.4f} s/step, {:.1f} images/s, {:.0f} MiB".format(
    variant, obj["model"], obj["mode"], obj["batch_size"], s["median"], obj["images_per_second"],
    obj["peak_rss_bytes"] / 2**20)
    + ("" if "cpu_utilization" not in obj else ", CPU utilisation {:.2f}".format(obj["cpu_utilization"])))
' "$1" "$2" "$3" "$jsonl"
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
    --iterations "$ITERATIONS" --warmup "$WARMUP" --threads "$THREADS" --json | tag ours fp32 "$4"
}
run_ours_bf16() {  # mode model batch round
  wait_idle
  "${clean_env[@]}" "$ddpm" bench --model "$2" --mode "$1" --batch-size "$3" \
    --iterations "$ITERATIONS" --warmup "$WARMUP" --threads "$THREADS" --precision bf16 --json \
    | tag ours bf16 "$4"
}
run_torch() {  # precision:layout mode model batch round
  local precision="${1%%:*}" layout="${1#*:}"
  wait_idle
  "${clean_env[@]}" "$py" "$here/pytorch/bench_torch.py" --model "$3" --mode "$2" --batch-size "$4" \
    --iterations "$ITERATIONS" --warmup "$WARMUP" --threads "$THREADS" \
    --precision "$precision" --layout "$layout" --adam "$ADAM" --json | tag pytorch "$precision" "$5"
}

# The variants of one configuration, in the order of odd rounds.
variants=()
if [ "$pytorch_only" -eq 0 ]; then
  variants+=("ours")
  [ "$ours_bf16" -eq 1 ] && variants+=("ours-bf16")
fi
for m in "${torch_modes[@]}"; do variants+=("torch:$m"); done

echo "Rounds $ROUNDS, $ITERATIONS timed iterations after $WARMUP warm-up per run, $THREADS threads;" \
  "variants per configuration: ${variants[*]}"
for ((round = 1; round <= ROUNDS; round++)); do
  echo "Round $round/$ROUNDS"
  order=("${variants[@]}")
  if ((round % 2 == 0)); then
    order=()
    for ((i = ${#variants[@]} - 1; i >= 0; i--)); do order+=("${variants[i]}"); done
  fi
  for config in "${configs[@]}"; do
    read -r mode model batch <<<"$config"
    for v in "${order[@]}"; do
      case "$v" in
        ours) run_ours "$mode" "$model" "$batch" "$round" ;;
        ours-bf16) run_ours_bf16 "$mode" "$model" "$batch" "$round" ;;
        torch:*) run_torch "${v#torch:}" "$mode" "$model" "$batch" "$round" ;;
      esac
    done
  done
done

for dtype in fp32 bf16; do
  echo "GEMM ceiling (${GEMM_SIZE}³ $dtype GEMM, torch.matmul, $THREADS threads)"
  wait_idle
  "${clean_env[@]}" "$py" "$here/pytorch/gemm_ceiling.py" --size "$GEMM_SIZE" --threads "$THREADS" --dtype "$dtype" \
    | python3 -c 'import json, sys; o = json.loads(sys.stdin.read()); o["implementation"] = "pytorch"; print(json.dumps(o))' \
    >>"$jsonl"
done

if [ "$PEAK" -eq 1 ]; then
  echo "Arithmetic peaks (Benchmarks/peak/peak.c: vfmadd231ps and vdpbf16ps zmm, 1 and $THREADS threads)"
  if gcc -O2 -mavx512f -mavx512bf16 -fopenmp "$here/peak/peak.c" -o "$work/peak" 2>"$work/peak.log"; then
    wait_idle
    if "$work/peak" --threads "$THREADS" --seconds "$PEAK_SECONDS" --repeats "$PEAK_REPEATS" --json >"$work/peak.json"; then
      cat "$work/peak.json" >>"$jsonl"
      cat "$work/peak.json"
    else
      echo "warning: the peak benchmark failed (no AVX-512F?); the table has no share of peak" >&2
    fi
  else
    echo "warning: could not compile Benchmarks/peak/peak.c (gcc with -mavx512bf16 and -fopenmp needed); the table has no share of peak" >&2
    cat "$work/peak.log" >&2
  fi
fi

# --- Tables -------------------------------------------------------------------------------------
cp "$jsonl" "$results/$stem.jsonl"
python3 - "$results/$stem.jsonl" "$results/$stem.md" "$THREADS" "$ITERATIONS" "$WARMUP" "$CONFIGS" \
  "$pytorch_only" "$ours_bf16" "$TORCH_MODES" "$ADAM" <<'EOF'
import json, statistics, sys, time

path, out, threads, iterations, warmup, configs, pytorch_only, ours_bf16, torch_modes, adam = sys.argv[1:11]
threads = int(threads)
runs = [json.loads(l) for l in open(path) if l.strip()]
gemm = [r for r in runs if "gemm" in r]
peak = next((r["peak"] for r in runs if "peak" in r), None)
steps = [r for r in runs if "seconds" in r and "gemm" not in r]
order = []
for c in configs.split(";"):
    mode, model, batch = c.split()
    order.append((mode, model, int(batch)))

# Variants: (implementation, precision, layout or None), with their column labels.
variants = []
if pytorch_only != "1":
    variants += [("ours", "fp32", None), ("ours", "bf16", None)]
for m in torch_modes.split():
    p, l = m.split(":")
    variants.append(("pytorch", p, l))
PREC = {"fp32": "FP32", "bf16": "BF16"}

def label(v, short=False):
    impl, p, l = v
    if impl == "ours":
        return f"ours {PREC[p]}"
    name = f"{PREC[p]}{' autocast' if p == 'bf16' and not short else ''} {l}"
    return name if short else "PyTorch " + name

def select(v, mode, model, batch):
    impl, p, l = v
    return [r for r in steps if r["implementation"] == impl and r.get("precision", "fp32") == p
            and (l is None or r.get("layout") == l)
            and r["mode"] == mode and r["model"] == model and r["batch_size"] == batch]

def flops_per_step(mode, model, batch):
    """The FLOP count of one step, the same for every variant: PyTorch's hook count, else ours'
    GFLOPS × seconds (both count 2 × the direct multiply-adds; a mismatch is reported)."""
    counts = {}
    for r in steps:
        if (r["mode"], r["model"], r["batch_size"]) != (mode, model, batch):
            continue
        if "flops_per_step" in r:
            counts.setdefault("pytorch", r["flops_per_step"])
        elif "gflops" in r:
            counts.setdefault("ours", r["gflops"] * 1e9 * r["seconds"]["median"])
    return counts.get("pytorch", counts.get("ours")), counts

def summary(v, mode, model, batch):
    sel = select(v, mode, model, batch)
    if not sel:
        return None
    sec = statistics.median(r["seconds"]["median"] for r in sel)
    rss = statistics.median(r["peak_rss_bytes"] for r in sel)
    util = [r["cpu_utilization"] for r in sel if "cpu_utilization" in r]
    return dict(sec=sec, ips=batch / sec, rss=rss, n=len(sel), util=min(util) if util else None)

def peak_of(precision):
    if not peak:
        return None
    table = peak.get(f"{precision}_gflops")
    entry = (table or {}).get(str(threads))
    return entry["best"] if entry else None

def na(v):
    return "n/a" if v[0] == "ours" and v[1] == "bf16" and ours_bf16 != "1" else "—"

cpu = "unknown CPU"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass
torch_version = next((r.get("torch") for r in runs if r.get("torch")), "?")
rounds = max((r.get("round", 0) for r in steps), default=0)
cols = [label(v) for v in variants]

S = {(c, v): summary(v, *c) for c in order for v in variants}

lines = [
    "# DDPM U-Net steps: ours vs PyTorch eager in each of its CPU modes",
    "",
    f"{time.strftime('%Y-%m-%d %H:%M')}; {cpu}, {threads} threads; PyTorch {torch_version} eager "
    f"(Adam {adam}); rounds: {rounds}, timed iterations per run: {iterations} ({warmup} warm-up "
    f"step{'' if warmup == '1' else 's'} first, every variant). Each run is its own process; no two run at once; odd rounds ours first, even rounds ours last. "
    "Seconds are per step: the median over rounds of each run's median. PyTorch BF16 = the FP32 model with its "
    "forward pass under `torch.autocast(\"cpu\", dtype=torch.bfloat16)` (FP32 parameters, gradients and Adam).",
    "",
    "## Seconds per step (images/s)",
    "",
    "| configuration | " + " | ".join(cols) + " |",
    "|---|" + "---|" * len(cols),
]
for c in order:
    cells = []
    for v in variants:
        s = S[(c, v)]
        cells.append(f"{s['sec']:.3f} s, {s['ips']:.1f} img/s" if s else na(v))
    lines.append(f"| {c[0]} {c[1]} batch {c[2]} | " + " | ".join(cells) + " |")

torch_variants = [v for v in variants if v[0] == "pytorch"]
if pytorch_only != "1" and torch_variants:
    lines += [
        "",
        "## Ratios: PyTorch's seconds per step / ours (> 1: ours is faster)",
        "",
        "| configuration | PyTorch fastest | ours FP32 vs it | ours BF16 vs it | PyTorch fastest FP32 | ours FP32 vs it "
        "| PyTorch fastest BF16 | ours BF16 vs it |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def fastest(c, precision=None):
        cand = [(S[(c, v)]["sec"], v) for v in torch_variants
                if S[(c, v)] and (precision is None or v[1] == precision)]
        return min(cand) if cand else None

    def ratio(f, ours):
        if f is None:
            return "—"
        if ours is None:
            return "n/a" if ours_bf16 != "1" else "—"
        return f"{f[0] / ours['sec']:.2f}×"

    def name(f):
        return f"{label(f[1], short=True)}: {f[0]:.3f} s" if f else "—"

    for c in order:
        o32, o16 = S[(c, ("ours", "fp32", None))], S[(c, ("ours", "bf16", None))]
        fa, f32, f16 = fastest(c), fastest(c, "fp32"), fastest(c, "bf16")
        lines.append(f"| {c[0]} {c[1]} batch {c[2]} | {name(fa)} | {ratio(fa, o32) if o32 else '—'} | {ratio(fa, o16)} "
                     f"| {name(f32)} | {ratio(f32, o32) if o32 else '—'} | {name(f16)} | {ratio(f16, o16)} |")

p32, p16 = peak_of("fp32"), peak_of("bf16")
lines += [
    "",
    "## GFLOPS (share of the matching peak)",
    "",
    "Every variant is credited with the same FLOPs per step: 2 × the multiply-adds of the direct convolutions, "
    "linear layers and attention matmuls (a training step counts 3 forward passes). FP32 variants are divided by "
    f"the FP32 peak, BF16 ones by the BF16 peak, both on {threads} threads"
    + (f" ({p32:.0f} and {p16:.0f} GFLOPS)." if p32 and p16 else f" ({p32:.0f} GFLOPS FP32, no BF16 peak)." if p32 else " (no peak measured)."),
    "",
    "| configuration | GFLOP per step | " + " | ".join(cols) + " |",
    "|---|---|" + "---|" * len(cols),
]
notes = []
for c in order:
    flops, counts = flops_per_step(*c)
    if len(counts) == 2 and abs(counts["ours"] - counts["pytorch"]) > 0.005 * counts["pytorch"]:
        notes.append(f"- {c[0]} {c[1]} batch {c[2]}: FLOP counts differ, ours {counts['ours'] / 1e9:.1f} GFLOP "
                     f"vs PyTorch {counts['pytorch'] / 1e9:.1f} GFLOP per step; the table uses PyTorch's")
    cells = []
    for v in variants:
        s = S[(c, v)]
        if not s or not flops:
            cells.append(na(v) if not s else "—")
            continue
        g = flops / s["sec"] / 1e9
        pk = p32 if v[1] == "fp32" else p16
        cells.append(f"{g:.0f} ({100 * g / pk:.0f} %)" if pk else f"{g:.0f}")
    gf = f"{flops / 1e9:.1f}" if flops else "—"
    lines.append(f"| {c[0]} {c[1]} batch {c[2]} | {gf} | " + " | ".join(cells) + " |")

lines += [
    "",
    "## Peak RSS",
    "",
    "| configuration | " + " | ".join(cols) + " |",
    "|---|" + "---|" * len(cols),
]
for c in order:
    cells = [f"{S[(c, v)]['rss'] / 2**20:.0f} MiB" if S[(c, v)] else na(v) for v in variants]
    lines.append(f"| {c[0]} {c[1]} batch {c[2]} | " + " | ".join(cells) + " |")

lines += ["", "## Notes", ""]
if peak:
    def fmt(precision, instr):
        t = peak.get(f"{precision}_gflops")
        if not t:
            return f"- {PREC[precision]} peak ({instr}): not available on this CPU"
        parts = [f"{t[k]['best']:.0f} GFLOPS on {k} thread{'s' if k != '1' else ''} (median {t[k]['median']:.0f})"
                 for k in sorted(t, key=int)]
        return f"- {PREC[precision]} peak ({instr}, register-only loop, best of the repeats): " + ", ".join(parts)
    lines.append(fmt("fp32", "`vfmadd231ps zmm`, 32 flops per instruction"))
    lines.append(fmt("bf16", "`vdpbf16ps zmm`, 64 flops per instruction"))
for g in gemm:
    dt = g.get("dtype", "fp32")
    pk = p32 if dt == "fp32" else p16
    share = f", {100 * g['gflops']['best'] / pk:.0f} % of the {PREC[dt]} peak" if pk else ""
    lines.append(f"- GEMM ceiling: {g['gemm']}³ {PREC[dt]} GEMM with torch.matmul on {g['threads']} threads: "
                 f"{g['gflops']['median']:.0f} GFLOPS median, {g['gflops']['best']:.0f} best{share}")
conv = next((r.get("convolution") for r in steps if r["implementation"] == "ours" and r.get("convolution")), None)
if conv:
    lines.append(f"- our convolutions: {conv}" + (" (Winograd F(4×4, 3×3) for the 3×3 stride-1 ones, direct for the rest)"
                                                  if conv == "winograd" else ""))
    if conv == "winograd":
        lines.append("- with Winograd ours does fewer multiplications than it is credited with, so its GFLOPS are an "
                     "effective rate and its share of the peak can exceed 100 %")
if pytorch_only != "1" and ours_bf16 != "1":
    lines.append("- ours BF16: n/a (`ddpm bench` has no `--precision bf16` in this build)")
for v in torch_variants:
    utils = [S[(c, v)]["util"] for c in order if S[(c, v)] and S[(c, v)]["util"] is not None]
    if utils:
        lines.append(f"- {label(v)}: lowest CPU utilisation of its runs {min(utils):.2f} "
                     "(CPU time / (wall time × threads); well below 0.95 means the run was contended)")
lines += notes
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print()
print(text, end="")
EOF
echo
echo "Wrote $results/$stem.jsonl and $results/$stem.md"
