#!/usr/bin/env bash
# Times `flawprobe probe` (ridge grid) against scikit-learn on synthetic
# activations; run from the crate root (`make bench` does).
set -euo pipefail
export OPENBLAS_NUM_THREADS=2
binary=target/release/flawprobe
if [[ ! -x $binary ]]; then
    echo "bench/probe.sh: $binary is missing; run make build first" >&2
    exit 1
fi
.venv/bin/python bench/probe_reference.py --binary "$binary" "$@"
