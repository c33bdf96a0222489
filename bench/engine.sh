#!/usr/bin/env bash
# No-op `flawprobe run` timings: the dtd10 sweep, and a 5,640-image tree (the
# size of the full DTD) built from dtd10 copies in a temporary folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/release/flawprobe"
dtd10="$root/../shared/datasets/dtd10"
python="$root/.venv/bin/python"
if [ ! -d "$dtd10/images" ]; then
  echo "engine benchmark skipped: $dtd10 is absent"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Median wall time of a command over several runs, in seconds.
median() {
  "$python" - "$@" <<'PY'
import statistics, subprocess, sys, time
times = []
for _ in range(15):
    start = time.perf_counter()
    subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times.append(time.perf_counter() - start)
print(f"{statistics.median(times):.3f}")
PY
}

# The dtd10 sweep of split, decode, concepts and 6 permute instances, warm.
# (The model stages would add training time to the first run, not to the
# no-op runs timed here.)
mkdir -p "$work/dtd10/pipelines"
printf '[dataset]\nroot = "%s"\n\n[permute]\np = [0.0, 0.5, 1.0]\nseed = [0, 1]\n\n[decode]\nsize = 96\n\n[concepts]\n' \
  "$dtd10" > "$work/dtd10/pipelines/dtd10.toml"
(cd "$work/dtd10" && "$bin" run pipelines/dtd10.toml 2>/dev/null)
small=$(cd "$work/dtd10" && median "$bin" run pipelines/dtd10.toml)

# 47 classes x 120 images = 5,640 files, cycling through dtd10's classes.
big="$work/dtd-full"
mapfile -t classes < <(ls "$dtd10/images")
for i in $(seq 0 46); do
  source_class=${classes[$((i % ${#classes[@]}))]}
  mkdir -p "$big/images/class$i"
  for file in "$dtd10/images/$source_class"/*; do
    cp "$file" "$big/images/class$i/$(basename "$file")"
  done
done
count=$(find "$big/images" -type f | wc -l)
mkdir -p "$work/full/pipelines"
printf '[dataset]\nroot = "%s"\n\n[permute]\np = [0.0, 0.5, 1.0]\nseed = [0, 1]\n' "$big" > "$work/full/pipelines/full.toml"
(cd "$work/full" && "$bin" run pipelines/full.toml 2>/dev/null)
large=$(cd "$work/full" && median "$bin" run pipelines/full.toml)

echo "== engine: no-op run (median of 15, warm)"
printf '%-44s %10s   %s\n' "case" "flawprobe" "reference"
printf '%-44s %9ss   %s\n' "dtd10 sweep (1,200 images, 9 instances)" "$small" "goal: under 0.1 s"
printf '%-44s %9ss   %s\n' "$count images (size of full DTD)" "$large" "DVC 3.67 one-stage dvc repro: about 0.6 s (quoted, not run here)"
if [ -d "$root/cache/train" ]; then
  full=$(cd "$root" && median "$bin" run pipelines/dtd10.toml)
  printf '%-44s %9ss   %s\n' "whole dtd10 study in ./cache (if computed)" "$full" "goal: under 0.1 s"
fi
