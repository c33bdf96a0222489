#!/usr/bin/env bash
# Training and activation-dump throughput of flawprobe-torch beside the
# same architectures in PyTorch (bench/train_reference.py), with the same
# batch size and thread count, on the CPU. Each measurement is one warm-up
# batch and STEPS timed batches of random inputs.
#
# Usage: bash bench/train.sh   (THREADS, STEPS and DEVICE override)
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-2}
STEPS=${STEPS:-3}
DEVICE=${DEVICE:-cpu}
export LIBTORCH_USE_PYTORCH=1 PATH="$PWD/.venv/bin:$PATH"
cargo build --release --locked --quiet -p flawprobe-torch
WORKER=target/release/flawprobe-torch

printf '%-13s %5s %5s | %12s %12s %6s | %12s %12s %6s\n' \
    model size batch "train rust" "train torch" ratio "dump rust" "dump torch" ratio
for spec in "small-cnn 96 32" "inception-v3 128 16"; do
    read -r model size batch <<<"$spec"
    rust=$("$WORKER" bench --model "$model" --image-size "$size" --batch-size "$batch" \
        --steps "$STEPS" --threads "$THREADS" --device "$DEVICE")
    torch=$(python bench/train_reference.py --model "$model" --image-size "$size" \
        --batch-size "$batch" --steps "$STEPS" --threads "$THREADS")
    python - "$rust" "$torch" <<'PY'
import json, sys
r, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
tr, tt = r["train_images_per_s"], t["train_images_per_s"]
dr, dt = r["dump_images_per_s"], t["dump_images_per_s"]
print(f'{r["model"]:<13} {r["image_size"]:5d} {r["batch_size"]:5d} | {tr:12.1f} {tt:12.1f} {tr/tt:6.2f} | {dr:12.1f} {dt:12.1f} {dr/dt:6.2f}')
PY
done
echo "images/s; ratio = flawprobe-torch / PyTorch; threads=$THREADS steps=$STEPS device=$DEVICE"
