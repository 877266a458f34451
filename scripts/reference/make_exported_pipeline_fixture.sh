#!/usr/bin/env bash
# The `ddpm export` fixture: a tiny run trained with the release `ddpm` binary, exported as a
# diffusers DDPMPipeline folder, then loaded by diffusers' DDPMPipeline.from_pretrained and sampled
# with DDIM-10 (eta 0) from a seeded x_T (make_diffusers_scheduler_fixture.py --check-export).
#
#   make build && scripts/reference/make_exported_pipeline_fixture.sh
#
# Writes (replacing them):
#   Tests/DDPMTrainingTests/Fixtures/exported-pipeline/            what `ddpm export` wrote
#   Tests/DDPMTrainingTests/Fixtures/exported-pipeline-diffusers/  source-run.json (the run's run.json),
#       x_T.npy, ddim10{,_trajectory,_f32,_f32_trajectory}.npy and ddim10.json (what diffusers loaded
#       and printed, its scheduler config, the timesteps, versions)
#
# The run: 8×8 grey dead leaves, DDPM's process (linear β 1e-4…0.02, T = 1000, ε, fixed-large), 20
# steps at lr 2e-3, EMA 0.9 with warm-up, seed 1, one thread. The tiny preset (ch 16, 160k
# parameters, 640 kB) is shrunk in run.json to ch 8 with 4 groups, attention at 4×4 and in the
# middle (44,969 parameters, 194 kB of weights; attention makes the export name every kind of
# tensor), then trained from step 0 with `--resume`. Environment: DDPM (default
# .build/release/ddpm), PYTHON (default scripts/reference/.venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/../.."
DDPM=${DDPM:-.build/release/ddpm}
PYTHON=${PYTHON:-scripts/reference/.venv/bin/python}
FIXTURES=Tests/DDPMTrainingTests/Fixtures
EXPORT=$FIXTURES/exported-pipeline
CHECK=$FIXTURES/exported-pipeline-diffusers
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The run: run.json from the tiny preset, its U-Net shrunk, trained from step 0.
"$DDPM" train --data deadleaves,size=8,count=16 --model tiny --steps 20 --batch-size 8 --learning-rate 2e-3 \
    --warmup 0 --ema-decay 0.9 --ema-warmup --seed 1 --threads 1 --output "$work/run" > /dev/null
rm -rf "$work"/run/checkpoint* "$work/run/log.jsonl"
"$PYTHON" - "$work/run/run.json" <<'PY'
import json, sys
path = sys.argv[1]
run = json.load(open(path))
run["model"]["unet"]["_0"].update(blockOutChannels=[8, 16], normGroups=4, downBlockAttention=[False, True],
                                  upBlockAttention=[True, False], midBlockAttention=True)
json.dump(run, open(path, "w"), indent=2, sort_keys=True)
PY
"$DDPM" train --output "$work/run" --resume --threads 1 > /dev/null

# 2. The export.
rm -rf "$EXPORT" "$CHECK"
"$DDPM" export --checkpoint "$work/run" --output "$EXPORT"
mkdir -p "$CHECK"
cp "$work/run/run.json" "$CHECK/source-run.json"

# 3. diffusers loads it and samples DDIM-10 from x_T in float64 and float32.
"$PYTHON" scripts/reference/make_diffusers_scheduler_fixture.py --check-export "$EXPORT" \
    --x-t "$CHECK/x_T.npy" --write-x-t --out "$CHECK/ddim10.npy"
du -ab "$EXPORT" "$CHECK" | tail -n 20
