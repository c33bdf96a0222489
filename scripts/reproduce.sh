#!/usr/bin/env bash
# The main job: picks the data and prints which and why, runs the whole study
# and prints where report.html is. `make reproduce` calls it after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/flawprobe
worker=target/release/flawprobe-torch

if [ -n "${FLAWPROBE_PIPELINE:-}" ]; then
  pipeline=$FLAWPROBE_PIPELINE
  echo "reproduce: running $pipeline (FLAWPROBE_PIPELINE is set)"
elif [ -d "${DTD_DIR:-data/dtd}/images" ]; then
  pipeline=pipelines/dtd-inception.toml
  echo "reproduce: the full DTD is at ${DTD_DIR:-data/dtd}, so this runs the study's setting ($pipeline)"
  if ! "$worker" info | grep -q '"cuda_available": *true'; then
    echo "reproduce: warning: libtorch sees no GPU, and InceptionV3 at 299 px on a CPU would take days (an estimate)." >&2
    echo "reproduce: set FLAWPROBE_PIPELINE=pipelines/dtd10.toml for the CPU-sized study." >&2
  fi
elif [ -d ../shared/datasets/dtd10/images ]; then
  pipeline=pipelines/dtd10.toml
  echo "reproduce: no full DTD in data/dtd (see \`make data\`); using the 10 DTD classes at ../shared/datasets/dtd10 ($pipeline)"
else
  pipeline=pipelines/synthetic.toml
  echo "reproduce: neither data/dtd nor ../shared/datasets/dtd10 exists; using the built-in synthetic textures ($pipeline)"
  "$bin" synth --out data/synthetic --per-class 60 --size 128 --seed 0
fi

start=$(date +%s)
"$bin" run "$pipeline"
name=$(basename "$pipeline" .toml)
echo
echo "reproduce: finished in $(( $(date +%s) - start )) s"
if [ -f "results/$name/summary.md" ]; then
  sed -n '1,60p' "results/$name/summary.md"
fi
echo
echo "report: $(pwd)/results/$name/report.html"
