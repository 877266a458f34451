#!/bin/sh
# Quality versus steps: for every sampler and step count, 1,000 samples of a model (the same seed,
# so the same x_T for every configuration) and their FID against reference statistics; then the
# time of one batch of 64 per configuration, measured one after another on an otherwise idle
# machine; then the table and plot (SamplerStudy).
#
#   Benchmarks/sampler_study.sh RUN REFERENCE_STATS WEIGHTS [OUT]
#
# RUN: a `ddpm train` folder; REFERENCE_STATS: `ddpm fid --save-stats` of the test set; WEIGHTS:
# pytorch-fid's Inception weights (.pth or safetensors). Configurations already done in OUT are
# skipped, so the study can be run in sittings.
set -eu
RUN=$1
STATS=$2
WEIGHTS=$3
OUT=${4:-$RUN/sampler-study}
DDPM=${DDPM:-.build/release/ddpm}
COUNT=${COUNT:-1000}
STEPS=${STEPS:-"10 20 5 15 50"}
mkdir -p "$OUT"

configurations() {  # name and flags, one configuration per line
    for k in $STEPS; do
        echo "ddim-$k --sampler ddim --steps $k"
        echo "dpmpp2m-$k --sampler dpm-solver++ --order 2 --steps $k"
        echo "dpmpp3m-$k --sampler dpm-solver++ --order 3 --steps $k"
        echo "sde-dpmpp2m-$k --sampler sde-dpm-solver++ --order 2 --steps $k"
        echo "unipc-$k --sampler unipc --order 2 --steps $k"
    done
}

configurations | while read -r name flags; do
    [ -f "$OUT/fid-$name.json" ] && continue
    # shellcheck disable=SC2086
    [ -f "$OUT/s-$name/samples.npz" ] || $DDPM sample --checkpoint "$RUN" --count "$COUNT" --batch-size 64 --seed 1 \
        --format npz --output "$OUT/s-$name" $flags
    $DDPM fid "$OUT/s-$name" --reference "$STATS" --weights "$WEIGHTS" --output "$OUT/fid-$name.json"
done

# Wall time of one batch of 64 per configuration (the FID runs above are not timed).
: > "$OUT/timing.txt"
configurations | while read -r name flags; do
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    $DDPM sample --checkpoint "$RUN" --count 64 --batch-size 64 --seed 1 --format npy --output "$OUT/timing" $flags 2>/dev/null
    end=$(date +%s.%N)
    echo "$name $(echo "$end - $start" | bc)" >> "$OUT/timing.txt"
done
rm -rf "$OUT/timing"
swift run -c release SamplerStudy "$OUT" | tee "$OUT/study.md"
