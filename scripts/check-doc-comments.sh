#!/usr/bin/env bash
# Lists every public declaration of the library modules that has no `///` doc comment directly
# above it (attributes may sit in between); exits 1 when there is one. Run by `make lint`.
set -euo pipefail
cd "$(dirname "$0")/.."
folders=("$@")
[ ${#folders[@]} -gt 0 ] || folders=(Sources/DDPMTensors Sources/DDPMDiffusion Sources/DDPMNeuralNetworks Sources/DDPMModels
    Sources/DDPMDatasets Sources/DDPMImaging Sources/DDPMTraining Sources/DDPMDistributed Sources/DDPMMetrics)
missing=$(find "${folders[@]}" -name '*.swift' -print0 | sort -z | xargs -0 awk '
    FNR == 1 { previous = "" }
    /^[ \t]*(@[A-Za-z_]+(\([^)]*\))? +)*(nonisolated(\(unsafe\))? +)?(public|open) / {
        if (previous !~ /^[ \t]*(\/\/\/|\*\/|@)/) { sub(/^[ \t]+/, ""); print FILENAME ":" FNR ": " $0 }
    }
    $0 !~ /^[ \t]*$/ { previous = $0 }')
if [ -n "$missing" ]; then
    echo "$missing"
    echo "$(echo "$missing" | wc -l) public declarations without a doc comment (///)." >&2
    exit 1
fi
echo "every public declaration has a doc comment"
