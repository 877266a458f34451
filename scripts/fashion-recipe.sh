#!/bin/sh
# The Fashion-MNIST recipe of the README: trains the `fashion` U-Net on Fashion-MNIST, then runs
# every analysis on it and copies one picture of each into docs/images/.
#
#   scripts/fashion-recipe.sh [RUN_FOLDER] [STEPS]
#
# Training resumes if RUN_FOLDER already holds a checkpoint (Ctrl-C saves one), so the recipe can
# be run in sittings. Needs the Debian package dataset-fashion-mnist (`make deps-data`).
set -eu
RUN=${1:-runs/fashion}
STEPS=${2:-1500}
DDPM=.build/release/ddpm
make build deps-data

if [ -f "$RUN/state.json" ]; then
    $DDPM train --output "$RUN" --resume --steps "$STEPS"
else
    # Batch 64, lr 5e-4 with 100 warm-up steps and EMA 0.995: settings for a short run on a
    # laptop-class CPU (DDPM's own 2e-4, 5000 warm-up steps and EMA 0.9999 suit 800k steps).
    $DDPM train --data fashion-mnist --model fashion --batch-size 64 --steps "$STEPS" \
        --learning-rate 5e-4 --warmup 100 --ema-decay 0.995 --checkpoint-every 250 --sample-every 500 \
        --seed 1 --output "$RUN"
fi

$DDPM sample --checkpoint "$RUN" --count 64 --sampler ddim --steps 50 --seed 1
$DDPM evaluate --checkpoint "$RUN" --count 16 --batch-size 16
$DDPM rate-distortion --checkpoint "$RUN" --count 8 --batch-size 8
$DDPM progressive --checkpoint "$RUN" --count 6 --completions 5 --completion-times 750,500,250
$DDPM interpolate --checkpoint "$RUN" --images 0,1 --times 100,250,500
$DDPM inpaint --checkpoint "$RUN" --images 0,1,2 --mask right --completions 4

mkdir -p docs/images
cp "$RUN/samples/samples.png" docs/images/fashion-samples.png
cp "$RUN/progressive/progressive.png" docs/images/fashion-progressive.png
cp "$RUN/progressive/completions.png" docs/images/fashion-completions.png
cp "$RUN/interpolation/interpolation.png" docs/images/fashion-interpolation.png
cp "$RUN/inpainting/inpaint.png" docs/images/fashion-inpaint.png
cp "$RUN/rate-distortion/rate-distortion.png" docs/images/fashion-rate-distortion.png
