#!/usr/bin/env bash
# Fuzzing of the file parsers with libFuzzer and AddressSanitizer (both ship with the Swift
# toolchain on Linux).
#
#   scripts/fuzz.sh [TARGET...]        (default: every Fuzz/Targets/*.swift)
#
# Environment:
#   FUZZ_SECONDS=60      fuzzing time per target (libFuzzer's -max_total_time)
#   FUZZ_SCRATCH=DIR     build and scratch folder (default .build-fuzz)
#   FUZZ_SKIP_KNOWN=1    skip the targets in KNOWN_FINDINGS below (CI: their findings are recorded
#                        under Fuzz/Regressions/ and the parsers are not fixed yet)
#
# The library modules are built once with coverage instrumentation and AddressSanitizer into
# .build-fuzz/ (`swift build --target DDPMTraining`: Training depends on every other parser), then
# each target, which defines LLVMFuzzerTestOneInput and no main, is linked with libFuzzer.
# A target runs on a scratch corpus, .build-fuzz/corpus/TARGET/: its committed seeds
# (Fuzz/Corpus/TARGET/), the small test fixtures of its format and its recorded findings
# (Fuzz/Regressions/TARGET/), which libFuzzer runs first, then what fuzzing adds to it. The
# committed files are never written. A crash, sanitizer report, allocation over
# -malloc_limit_mb, memory over -rss_limit_mb or input slower than -timeout is a finding:
# libFuzzer stops, the input is kept in .build-fuzz/findings/TARGET/ with a minimised copy,
# and the script exits non-zero after the other targets have run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Targets whose findings are recorded but not fixed: FUZZ_SKIP_KNOWN=1 skips them, and otherwise
# they fuzz without their regression inputs (which would stop them at once). Empty this list as
# the parsers are fixed.
KNOWN_FINDINGS=()

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_SKIP_KNOWN=${FUZZ_SKIP_KNOWN:-0}
SCRATCH=${FUZZ_SCRATCH:-.build-fuzz}
BIN=$SCRATCH/release
LIMITS=(-rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
# libFuzzer reports a crash with its own stack trace; the Swift runtime's backtracer would only slow it.
export SWIFT_BACKTRACE=enable=no

# Test fixtures that are seeds too (files of at most 16 KB), by target.
fixtures() {
  case "$1" in
    npy) ls Tests/DDPMModelsTests/Fixtures/*/*.npy 2>/dev/null || true ;;
    run-json) ls Tests/DDPMTrainingTests/Fixtures/*.json Tests/DDPMTrainingTests/Fixtures/*/run.json 2>/dev/null || true ;;
    state-json) ls Tests/DDPMTrainingTests/Fixtures/*/state.json 2>/dev/null || true ;;
    diffusers-config) ls Tests/DDPMModelsTests/Fixtures/*/config.json 2>/dev/null || true ;;
    pytorch-checkpoint) ls Tests/DDPMNeuralNetworksTests/Fixtures/pytorch/*.pth 2>/dev/null || true ;;
    npz) ls Tests/DDPMMetricsTests/Fixtures/fid/*.npz Tests/DDPMDatasetsTests/Fixtures/arrays/*.npz 2>/dev/null || true ;;
    jpeg) ls Tests/DDPMDatasetsTests/Fixtures/jpeg/*.jpg 2>/dev/null || true ;;
  esac
}

# The dictionary of a target, if any (libFuzzer -dict: tokens it splices into inputs).
dictionary() {
  case "$1" in
    safetensors|npy|run-json|state-json|diffusers-config|scheduler-config) echo Fuzz/Dictionaries/json.dict ;;
  esac
}

is_known() {
  local known
  for known in "${KNOWN_FINDINGS[@]}"; do [ "$known" = "$1" ] && return 0; done
  return 1
}

if [ $# -gt 0 ]; then requested=("$@"); else
  requested=()
  for source in Fuzz/Targets/*.swift; do requested+=("$(basename "$source" .swift)"); done
fi
targets=()
summary=()
for target in "${requested[@]}"; do
  if is_known "$target" && [ "$FUZZ_SKIP_KNOWN" = 1 ]; then
    echo "== $target: SKIPPED (known findings in Fuzz/Regressions/$target/ not fixed yet; KNOWN_FINDINGS in $0)"
    summary+=("$(printf '%-18s skipped (known findings)' "$target")")
  else
    targets+=("$target")
  fi
done

# 1. The instrumented library modules.
echo "== building the library modules with -sanitize=fuzzer,address into $SCRATCH/"
mkdir -p "$SCRATCH"
start=$SECONDS
if ! swift build -c release --scratch-path "$SCRATCH" --target DDPMTraining \
    -Xswiftc -sanitize=fuzzer,address >"$SCRATCH/build.log" 2>&1; then
  tail -40 "$SCRATCH/build.log"
  echo "error: the instrumented build failed (log: $SCRATCH/build.log)" >&2
  exit 1
fi
echo "   built in $((SECONDS - start)) s"

# 2. One executable per target.
modules=(DDPMFileSupport DDPMTensors DDPMDiffusion DDPMNeuralNetworks DDPMModels DDPMImaging DDPMDatasets DDPMDistributed DDPMTraining RealModule _NumericsShims)
objects=()
for module in "${modules[@]}"; do objects+=("$BIN/$module.build"/*.o); done
includes=(-I "$BIN/Modules" -I Sources/CDNNL -I Sources/CPNG -I Sources/CTurboJPEG -I Sources/CZlib -I Sources/CFreeType
          -I "$SCRATCH/checkouts/swift-numerics/Sources/_NumericsShims/include")
# FreeType's headers live in their own folder (pkg-config freetype2), for CFreeType's shim.
for flag in $(pkg-config --cflags-only-I freetype2); do includes+=(-Xcc "$flag"); done
mkdir -p "$SCRATCH/targets"
for target in "${targets[@]}"; do
  source=Fuzz/Targets/$target.swift
  [ -f "$source" ] || { echo "error: no fuzz target $source" >&2; exit 1; }
  executable=$SCRATCH/targets/$target
  if [ -x "$executable" ] && [ -z "$(find "$source" Fuzz/Support "${objects[@]}" -newer "$executable" | head -1)" ]; then
    continue
  fi
  echo "== linking $target"
  swiftc -O -sanitize=fuzzer,address -parse-as-library -use-ld=lld -module-name "Fuzz_${target//-/_}" \
    "$source" Fuzz/Support/*.swift "${includes[@]}" "${objects[@]}" -o "$executable"
done

# 3. Each target in turn, one process.
failed=()
for target in "${targets[@]}"; do
  regressions=Fuzz/Regressions/$target
  corpus=$SCRATCH/corpus/$target
  findings=$SCRATCH/findings/$target
  mkdir -p "$corpus" "$findings"
  if is_known "$target"; then
    echo "== $target: its recorded findings are not fixed yet; fuzzing without them"
    regressions=
    rm -f "$corpus"/seed-Fuzz_Regressions_*
  fi
  seeds=(Fuzz/Corpus/"$target"/*)
  if [ -n "$regressions" ]; then seeds+=("$regressions"/*); fi
  while read -r fixture; do
    if [ "$(stat -c %s "$fixture")" -le 16384 ]; then seeds+=("$fixture"); fi
  done < <(fixtures "$target")
  for seed in "${seeds[@]}"; do
    if [ -f "$seed" ]; then cp "$seed" "$corpus/seed-$(echo "$seed" | tr '/' '_')"; fi
  done
  log=$SCRATCH/findings/$target.log
  echo "== $target: fuzzing for $FUZZ_SECONDS s (corpus $corpus, log $log)"
  options=("${LIMITS[@]}")
  dict=$(dictionary "$target")
  if [ -n "$dict" ]; then options+=(-dict="$dict"); fi
  status=0
  "$SCRATCH/targets/$target" "${options[@]}" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
    -artifact_prefix="$findings/" "$corpus" >"$log" 2>&1 || status=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$status" -ne 0 ]; then
    grep -E '^(==[0-9]+==ERROR|SUMMARY|Fatal error|.*Deadly signal|==[0-9]+== ERROR: libFuzzer)' "$log" | head -5 || true
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    if [ -n "$artifact" ] && [ -f "$artifact" ]; then
      echo "   input kept as $artifact; minimising"
      "$SCRATCH/targets/$target" "${LIMITS[@]}" -minimize_crash=1 -max_total_time=60 \
        -exact_artifact_path="$artifact.min" "$artifact" >"$log.min" 2>&1 || true
      [ -f "$artifact.min" ] && echo "   minimised: $artifact.min ($(stat -c %s "$artifact.min") bytes)"
    fi
    failed+=("$target")
    summary+=("$(printf '%-18s %12s executions  FINDING (%s)' "$target" "${executions:-?}" "${artifact:-see $log}")")
  else
    summary+=("$(printf '%-18s %12s executions  no finding' "$target" "${executions:-?}")")
  fi
done

echo "== executions per target"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "error: findings in ${failed[*]}" >&2
  exit 1
fi
