#!/usr/bin/env bash
# Concept-measure throughput: flawprobe against the OpenCV + scikit-image
# reference, on the same images in one invocation. Run from the crate root
# (`make bench` does). IMAGES overrides the folder; the reference needs
# .venv with opencv-python-headless and scikit-image (`make bench` installs them).
set -euo pipefail

IMAGES=${IMAGES:-../shared/datasets/dtd10/images}
PYTHON=${PYTHON:-.venv/bin/python}
export LIBTORCH_USE_PYTORCH=${LIBTORCH_USE_PYTORCH:-1}

if [ ! -d "$IMAGES" ]; then
    echo "concepts benchmark skipped: $IMAGES not found" >&2
    exit 0
fi

cargo build --release --locked --quiet --bin bench-concepts
ours=$(target/release/bench-concepts "$IMAGES")
reference=$("$PYTHON" bench/concepts_reference.py "$IMAGES")

# Each input line: "<run> images=N mpixels=M seconds=S threads=T".
summarise() {
    awk -v who="$1" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%-10s %-11s %7d %9.1f %8.2f %10.1f %9.1f %7d\n",
            who, $1, v["images"], v["mpixels"], v["seconds"],
            v["mpixels"] / v["seconds"], v["images"] / v["seconds"], v["threads"]
    }'
}

echo "concept measures on $IMAGES ($(nproc) cores, $(uname -m))"
printf "%-10s %-11s %7s %9s %8s %10s %9s %7s\n" \
    who run images Mpixel seconds "Mpixel/s" "images/s" threads
echo "$ours" | summarise flawprobe
echo "$reference" | summarise reference

# Speed-up per run: reference seconds / flawprobe seconds.
paste <(echo "$ours") <(echo "$reference") | awk '{
    for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "seconds") s[++n] = kv[2] }
    printf "speed-up %-11s %.1fx\n", $1, s[2] / s[1]; n = 0
}'
