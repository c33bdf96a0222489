//! Parity of the probes with scikit-learn 1.9 on the ridge fixture: 400
//! rows, 64 non-negative features (one all zero, one constant), 17
//! targets, a 10-class label and a fixed fold column.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int32Type};
use flawprobe::probe::{classify_cv, ridge_cv, ridge_heldout_predictions, ClassProbe, Folds};
use ndarray::Array2;

const RIDGE_TOLERANCE: f64 = 1e-8;
const LOGISTIC_TOLERANCE: f64 = 0.01;
const ALPHAS: [f64; 5] = [0.001, 0.1, 1.0, 10.0, 100.0];

fn fixture_dir() -> Option<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/ridge"));
    if dir.join("data.parquet").exists() {
        Some(dir.to_path_buf())
    } else {
        eprintln!("skipping: the ridge fixture is not at {}", dir.display());
        None
    }
}

struct Fixture {
    x: Array2<f64>,
    y: Array2<f64>,
    labels: Vec<i64>,
    folds: Folds,
}

fn matrix(batch: &RecordBatch, prefix: &str, count: usize) -> Array2<f64> {
    let mut out = Array2::zeros((batch.num_rows(), count));
    for j in 0..count {
        let column = batch.column_by_name(&format!("{prefix}{j}")).expect("fixture column");
        let column = column.as_primitive::<Float64Type>();
        for i in 0..batch.num_rows() {
            out[[i, j]] = column.value(i);
        }
    }
    out
}

fn ints(batch: &RecordBatch, name: &str) -> Vec<i64> {
    let column = batch.column_by_name(name).expect("fixture column");
    column.as_primitive::<Int32Type>().values().iter().map(|&v| v as i64).collect()
}

fn load(dir: &Path) -> Fixture {
    let batch = flawprobe::table::read(&dir.join("data.parquet")).expect("read data.parquet");
    let folds = Folds::from_column(&ints(&batch, "fold")).expect("fold column");
    Fixture { x: matrix(&batch, "x", 64), y: matrix(&batch, "y", 17), labels: ints(&batch, "label"), folds }
}

/// (probe, standardize, alpha, target) → (mean, std) from reference.csv.
fn reference(dir: &Path) -> HashMap<(String, bool, String, String), (f64, f64)> {
    let text = std::fs::read_to_string(dir.join("reference.csv")).expect("read reference.csv");
    let mut out = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let alpha: f64 = f[2].parse().expect("alpha");
        let key = (f[0].to_string(), f[1] == "1", format!("{alpha}"), f[3].to_string());
        out.insert(key, (f[4].parse().expect("mean"), f[5].parse().expect("std")));
    }
    out
}

fn expected(table: &HashMap<(String, bool, String, String), (f64, f64)>, probe: &str, standardize: bool, alpha: f64, target: &str) -> (f64, f64) {
    let key = (probe.to_string(), standardize, format!("{alpha}"), target.to_string());
    *table.get(&key).unwrap_or_else(|| panic!("reference.csv has no row {key:?}"))
}

#[test]
fn ridge_matches_sklearn_for_all_targets_and_alphas() {
    let Some(dir) = fixture_dir() else { return };
    let data = load(&dir);
    let table = reference(&dir);
    for standardize in [false, true] {
        let result = ridge_cv(data.x.view(), data.y.view(), &data.folds, &ALPHAS, standardize).unwrap();
        for t in 0..17 {
            for (a, &alpha) in ALPHAS.iter().enumerate() {
                let (mean, std) = result.summary(t, a);
                let (want_mean, want_std) = expected(&table, "ridge", standardize, alpha, &format!("y{t}"));
                assert!((mean - want_mean).abs() < RIDGE_TOLERANCE, "ridge y{t} alpha {alpha} standardize {standardize}: mean {mean} vs {want_mean}");
                assert!((std - want_std).abs() < RIDGE_TOLERANCE, "ridge y{t} alpha {alpha} standardize {standardize}: std {std} vs {want_std}");
            }
        }
    }
}

#[test]
fn ridge_classifier_matches_sklearn() {
    let Some(dir) = fixture_dir() else { return };
    let data = load(&dir);
    let table = reference(&dir);
    for standardize in [false, true] {
        let result = classify_cv(data.x.view(), &data.labels, &data.folds, &ALPHAS, standardize, ClassProbe::RidgeClassifier).unwrap();
        for (a, &alpha) in ALPHAS.iter().enumerate() {
            let (mean, std) = result.summary(a);
            let (want_mean, want_std) = expected(&table, "ridge_classifier", standardize, alpha, "label");
            assert!((mean - want_mean).abs() < RIDGE_TOLERANCE, "alpha {alpha} standardize {standardize}: mean {mean} vs {want_mean}");
            assert!((std - want_std).abs() < RIDGE_TOLERANCE, "alpha {alpha} standardize {standardize}: std {std} vs {want_std}");
        }
    }
}

#[test]
fn logistic_matches_sklearn_accuracy() {
    let Some(dir) = fixture_dir() else { return };
    let data = load(&dir);
    let table = reference(&dir);
    for standardize in [false, true] {
        let result = classify_cv(data.x.view(), &data.labels, &data.folds, &ALPHAS, standardize, ClassProbe::Logistic).unwrap();
        for (a, &alpha) in ALPHAS.iter().enumerate() {
            let (mean, _) = result.summary(a);
            let (want_mean, _) = expected(&table, "logistic", standardize, alpha, "label");
            eprintln!("logistic alpha {alpha} standardize {standardize}: {mean} vs {want_mean}");
            assert!((mean - want_mean).abs() <= LOGISTIC_TOLERANCE, "alpha {alpha} standardize {standardize}: accuracy {mean} vs {want_mean}");
        }
    }
}

#[test]
fn heldout_predictions_match_sklearn() {
    let Some(dir) = fixture_dir() else { return };
    let data = load(&dir);
    let batch = flawprobe::table::read(&dir.join("ridge_predictions_standardized_alpha1.parquet")).unwrap();
    let want = matrix(&batch, "y", 17);
    let got = ridge_heldout_predictions(data.x.view(), data.y.view(), &data.folds, &[1.0], true).unwrap();
    for i in 0..want.nrows() {
        for t in 0..17 {
            let (g, w) = (got[[0, i, t]], want[[i, t]]);
            assert!((g - w).abs() < RIDGE_TOLERANCE, "row {i} y{t}: {g} vs {w}");
        }
    }
}
