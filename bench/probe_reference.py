"""Times `flawprobe probe` against scikit-learn on the same synthetic data.

For each feature width, writes seeded non-negative features (ReLU of a
low-rank Gaussian mix, like globally average-pooled activations, stored as
f32 .npy) and 17 linear targets with a balanced fold column, then times
the 5-fold x 5-alpha ridge grid three ways:

* flawprobe: the `probe` command (ridge only, standardised, with its
  shuffled-row control), wall-clock including file reading;
* scikit-learn multi-output: StandardScaler + Ridge(alpha) on all 17
  targets, one fit per (fold, alpha);
* scikit-learn per target: one fit per (fold, alpha, target); measured on
  fold 0 with alpha 1 and multiplied by folds x alphas, so it is an
  estimate (the full loop takes many minutes on a 2-core machine).

It also reports the largest difference between the two mean R² tables.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.preprocessing import StandardScaler

ALPHAS = [0.001, 0.1, 1.0, 10.0, 100.0]
FOLDS = 5
TARGETS = 17


def make_data(rows, width, seed):
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((rows, 64))
    mixing = rng.standard_normal((64, width)) / 8.0
    features = np.maximum(latent @ mixing + 0.3 * rng.standard_normal((rows, width)), 0.0)
    features = features.astype(np.float32)
    weights = rng.standard_normal((width, TARGETS)) * (rng.random((width, TARGETS)) < 0.05)
    targets = features.astype(np.float64) @ weights + rng.standard_normal((rows, TARGETS))
    folds = rng.permutation(np.arange(rows) % FOLDS)
    return features, targets, folds


def sklearn_multi_output(x, y, folds):
    means = np.zeros((TARGETS, len(ALPHAS)))
    for fold in range(FOLDS):
        train, test = folds != fold, folds == fold
        scaler = StandardScaler().fit(x[train])
        x_train, x_test = scaler.transform(x[train]), scaler.transform(x[test])
        for a, alpha in enumerate(ALPHAS):
            predicted = Ridge(alpha=alpha).fit(x_train, y[train]).predict(x_test)
            for t in range(TARGETS):
                means[t, a] += r2_score(y[test, t], predicted[:, t]) / FOLDS
    return means


def sklearn_per_target_one_fit(x, y, folds):
    train, test = folds != 0, folds == 0
    scaler = StandardScaler().fit(x[train])
    x_train, x_test = scaler.transform(x[train]), scaler.transform(x[test])
    for t in range(TARGETS):
        predicted = Ridge(alpha=1.0).fit(x_train, y[train, t]).predict(x_test)
        r2_score(y[test, t], predicted)


def timed(function, *args, **keywords):
    start = time.perf_counter()
    result = function(*args, **keywords)
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True, help="path of the flawprobe binary")
    parser.add_argument("--rows", type=int, default=1880)
    parser.add_argument("--widths", default="256,768,1280,2048")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"rows {args.rows}, {FOLDS} folds x {len(ALPHAS)} alphas x {TARGETS} targets, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print(f"{'width':>6} {'flawprobe s':>12} {'sklearn multi s':>16} {'speed-up':>9} "
          f"{'sklearn per-target s (est.)':>28} {'max |dR2|':>10}")
    with tempfile.TemporaryDirectory() as folder:
        for width in (int(w) for w in args.widths.split(",")):
            x, y, folds = make_data(args.rows, width, args.seed)
            np.save(os.path.join(folder, "acts.npy"), x)
            table = {f"y{t}": y[:, t] for t in range(TARGETS)}
            table["fold"] = folds.astype(np.int64)
            pq.write_table(pa.table(table), os.path.join(folder, "targets.parquet"))

            command = [os.path.abspath(args.binary), "probe", "--features", "acts.npy", "--targets", "targets.parquet",
                       "--fold-column", "fold", "--probes", "ridge", "--out", "out.parquet",
                       "--alphas", ",".join(str(a) for a in ALPHAS)]
            ours, run = timed(subprocess.run, command, cwd=folder, capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f"flawprobe failed at width {width}:\n{run.stderr}")

            x64 = x.astype(np.float64)
            multi, reference = timed(sklearn_multi_output, x64, y, folds)
            per_target = timed(sklearn_per_target_one_fit, x64, y, folds)[0] * FOLDS * len(ALPHAS)

            rows = pq.read_table(os.path.join(folder, "out.parquet")).to_pylist()
            difference = max(abs(r["mean"] - reference[int(r["target"][1:]), ALPHAS.index(r["alpha"])])
                             for r in rows)
            print(f"{width:>6} {ours:>12.3f} {multi:>16.3f} {multi / ours:>8.1f}x {per_target:>28.2f} "
                  f"{difference:>10.1e}", flush=True)


if __name__ == "__main__":
    main()
