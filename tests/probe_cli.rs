//! `flawprobe probe` run as a binary on files in a temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");

fn fixture() -> Option<PathBuf> {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/ridge/data.parquet"));
    if path.exists() && Path::new(PYTHON).exists() {
        Some(path)
    } else {
        eprintln!("skipping: needs {} and {PYTHON}", path.display());
        None
    }
}

fn flawprobe(dir: &Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_flawprobe"))
        .arg("probe")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run flawprobe");
    eprintln!(
        "flawprobe probe {}\nstatus {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn python(dir: &Path, script: &str) -> String {
    let output = Command::new(PYTHON).arg("-c").arg(script).current_dir(dir).output().expect("run python");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python failed:\n{script}\n{stderr}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn cli_writes_sklearn_scores() {
    let Some(data) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = data.to_str().unwrap();
    let output = flawprobe(dir.path(), &[
        "--features", data, "--feature-columns", "x", "--target-columns", "y",
        "--label-column", "label", "--fold-column", "fold", "--out", "probes.parquet",
    ]);
    assert!(output.status.success());
    let summary = python(dir.path(), r#"
import pyarrow.parquet as pq
t = pq.read_table('probes.parquet').to_pylist()
names = pq.read_schema('probes.parquet').names
print(','.join(names))
print(len(t))
r = [x for x in t if x['target'] == 'y0' and x['probe'] == 'ridge' and x['alpha'] == 0.001][0]
print(repr(r['mean']), r['metric'], r['n_rows'], r['n_features'], r['n_folds'])
c = [x for x in t if x['probe'] == 'ridge-classifier' and x['alpha'] == 100.0][0]
print(repr(c['mean']), c['best_alpha'], sum(x['best_alpha'] for x in t))
"#);
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines[0], "target,probe,alpha,metric,mean,std,control_mean,selectivity,best_alpha,n_rows,n_features,n_folds");
    assert_eq!(lines[1], "95");
    let fields: Vec<&str> = lines[2].split(' ').collect();
    let mean: f64 = fields[0].parse().unwrap();
    // scikit-learn, standardised, alpha 0.001.
    assert!((mean - 0.9994059598303341).abs() < 1e-8, "y0 ridge mean {mean}");
    assert_eq!(&fields[1..], ["r2", "400", "64", "5"]);
    let fields: Vec<&str> = lines[3].split(' ').collect();
    let accuracy: f64 = fields[0].parse().unwrap();
    assert!((accuracy - 0.7125).abs() < 1e-8, "ridge classifier accuracy {accuracy}");
    assert_eq!(fields[1], "True");
    assert_eq!(fields[2], "19");
}

#[test]
fn cli_reads_activation_list_and_npy() {
    let Some(_) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    python(dir.path(), r#"
import numpy as np, pyarrow as pa, pyarrow.feather as feather
rng = np.random.default_rng(0)
x = rng.random((120, 8)).astype(np.float32)
y = 3 * x[:, 1].astype(np.float64) - x[:, 4]
acts = pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), 8)
feather.write_feather(pa.table({'activation': acts}), 'acts.arrow', compression='uncompressed')
feather.write_feather(pa.table({'hue': y, 'label': (y > np.median(y)).astype(np.int64)}), 'concepts.arrow', compression='uncompressed')
np.save('acts.npy', x)
"#);
    for features in ["acts.arrow", "acts.npy"] {
        let output = flawprobe(dir.path(), &[
            "--features", features, "--targets", "concepts.arrow", "--label-column", "label",
            "--alphas", "0.01,1", "--out", "out.parquet",
        ]);
        assert!(output.status.success(), "{features}");
        let best = python(dir.path(), r#"
import pyarrow.parquet as pq
t = pq.read_table('out.parquet').to_pylist()
print(max(x['mean'] for x in t if x['target'] == 'hue'), len(t), t[0]['n_features'])
"#);
        let fields: Vec<&str> = best.split(' ').collect();
        let r2: f64 = fields[0].parse().unwrap();
        assert!(r2 > 0.999, "{features}: hue R² {r2}");
        assert_eq!(fields[1..], ["6", "8"], "{features}");
    }
}

fn assert_fails_naming(output: &Output, parts: &[&str]) {
    assert!(!output.status.success(), "expected a failure");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for part in parts {
        assert!(stderr.contains(part), "stderr lacks `{part}`: {stderr}");
    }
}

fn write_tables(dir: &Path, body: &str) {
    python(dir, &format!("import numpy as np, pyarrow as pa, pyarrow.parquet as pq\nrng = np.random.default_rng(1)\n{body}"));
}

#[test]
fn cli_names_column_with_nan() {
    let Some(_) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path(), "x = rng.random((50, 3)); x[7, 2] = np.nan\npq.write_table(pa.table({'f0': x[:, 0], 'f1': x[:, 1], 'f2': x[:, 2], 'y': rng.random(50)}), 't.parquet')");
    let output = flawprobe(dir.path(), &["--features", "t.parquet", "--feature-columns", "f", "--target-columns", "y", "--out", "o.parquet"]);
    assert_fails_naming(&output, &["t.parquet", "`f2`", "NaN", "row 7"]);
}

#[test]
fn cli_names_column_with_infinity() {
    let Some(_) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path(), "y = rng.random(50); y[3] = np.inf\npq.write_table(pa.table({'f0': rng.random(50), 'hue': y}), 't.parquet')");
    let output = flawprobe(dir.path(), &["--features", "t.parquet", "--feature-columns", "f0", "--target-columns", "hue", "--out", "o.parquet"]);
    assert_fails_naming(&output, &["t.parquet", "target column `hue`", "inf"]);
}

#[test]
fn cli_rejects_fewer_rows_than_folds() {
    let Some(_) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path(), "pq.write_table(pa.table({'f0': rng.random(3), 'y': rng.random(3)}), 't.parquet')");
    let output = flawprobe(dir.path(), &["--features", "t.parquet", "--feature-columns", "f0", "--target-columns", "y", "--out", "o.parquet"]);
    assert_fails_naming(&output, &["t.parquet", "3 rows", "5 folds"]);
}

#[test]
fn cli_rejects_row_mismatch() {
    let Some(_) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path(), "pq.write_table(pa.table({'f0': rng.random(40)}), 'f.parquet')\npq.write_table(pa.table({'y': rng.random(30)}), 'c.parquet')");
    let output = flawprobe(dir.path(), &["--features", "f.parquet", "--targets", "c.parquet", "--out", "o.parquet"]);
    assert_fails_naming(&output, &["f.parquet", "c.parquet", "40 rows", "30"]);
}

#[test]
fn cli_rejects_single_class() {
    let Some(_) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path(), "pq.write_table(pa.table({'f0': rng.random(40), 'cls': np.full(40, 2)}), 't.parquet')");
    let output = flawprobe(dir.path(), &["--features", "t.parquet", "--feature-columns", "f0", "--label-column", "cls", "--probes", "logistic", "--out", "o.parquet"]);
    assert_fails_naming(&output, &["t.parquet", "label column `cls`", "single class"]);
}

#[test]
fn cli_scores_constant_target_as_sklearn_does() {
    let Some(_) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_tables(dir.path(), "pq.write_table(pa.table({'f0': rng.random(40), 'f1': rng.random(40), 'flat': np.full(40, 2.0)}), 't.parquet')");
    let output = flawprobe(dir.path(), &["--features", "t.parquet", "--feature-columns", "f", "--target-columns", "flat", "--out", "o.parquet"]);
    assert!(output.status.success());
    let means = python(dir.path(), "import pyarrow.parquet as pq\nprint(set(pq.read_table('o.parquet').column('mean').to_pylist()))");
    assert_eq!(means, "{1.0}");
}
