//! Cross-validated linear probes: how well a layer's activations predict
//! continuous concept measures (ridge regression, held-out R²) and class
//! labels (ridge classifier and multinomial logistic regression, held-out
//! accuracy), following Graziani, Müller and Andrearczyk, *Interpreting
//! Intentionally Flawed Models with Linear Probes* (ICCV 2019 workshops).
//!
//! Protocol, matching scikit-learn 1.9 (`StandardScaler`, `Ridge`,
//! `RidgeClassifier`, `LogisticRegression`, `r2_score`):
//!
//! * The rows are split into K folds ([`Folds`]: seeded or from a column).
//!   Each fold is held out once; the other folds train.
//! * With standardisation, features are centred and divided by the training
//!   folds' population standard deviation (a constant column keeps scale 1).
//!   Without, ridge still centres them to fit its intercept.
//! * Ridge fits every target and alpha of a fold from one tridiagonal
//!   reduction of the fold's Gram matrix (see [`ridge`]).
//! * Logistic regression uses `C = 1/alpha`.
//! * Scores are averaged over folds; the standard deviation is the
//!   population one (`ddof = 0`).
//! * Control: the same probe on targets and labels whose rows are shuffled
//!   with a seeded permutation; selectivity = score − control score.
//!
//! A constant target is not an error: scikit-learn's `r2_score` gives 1.0
//! on a held-out fold whose constant value is predicted exactly (ridge
//! predicts the training mean, so this is what a target constant over all
//! rows gets) and 0.0 when the prediction misses it.
//!
//! # Output table
//!
//! [`rows_to_batch`] turns [`ProbeRow`]s into a record batch with one row
//! per (target, probe, alpha):
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `target` | utf8 | target column name (the label column for class probes) |
//! | `probe` | utf8 | `ridge`, `ridge-classifier` or `logistic` |
//! | `alpha` | f64 | penalty strength |
//! | `metric` | utf8 | `r2` or `accuracy` |
//! | `mean` | f64 | mean held-out score over folds |
//! | `std` | f64 | population standard deviation over folds |
//! | `control_mean` | f64 | mean score of the same probe on shuffled rows |
//! | `selectivity` | f64 | `mean − control_mean` |
//! | `best_alpha` | bool | true on the alpha with the highest mean for this target and probe |
//! | `n_rows` | u64 | rows probed |
//! | `n_features` | u64 | feature columns |
//! | `n_folds` | u64 | folds |

mod classify;
mod error;
mod folds;
mod lapack;
mod logistic;
mod ridge;

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use ndarray::{concatenate, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use classify::{classify_cv, ClassProbe, Classes, ClassifyCvResult};
pub use error::{ProbeError, Role};
pub use folds::Folds;
pub use logistic::LogisticOptions;
pub use ridge::{mean_std, r2_score, ridge_cv, ridge_heldout_predictions, RidgeCvResult};

/// The alphas probed when none are given.
pub const DEFAULT_ALPHAS: [f64; 5] = [0.001, 0.1, 1.0, 10.0, 100.0];

/// A kind of probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    Ridge,
    RidgeClassifier,
    Logistic,
}

impl ProbeKind {
    /// The name used on the command line and in output tables.
    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::Ridge => "ridge",
            ProbeKind::RidgeClassifier => "ridge-classifier",
            ProbeKind::Logistic => "logistic",
        }
    }

    /// Parses a name as [`ProbeKind::name`] writes it (`_` may replace `-`).
    pub fn parse(name: &str) -> Option<ProbeKind> {
        match name.trim().replace('_', "-").as_str() {
            "ridge" => Some(ProbeKind::Ridge),
            "ridge-classifier" => Some(ProbeKind::RidgeClassifier),
            "logistic" => Some(ProbeKind::Logistic),
            _ => None,
        }
    }

    /// The score this probe reports: `r2` or `accuracy`.
    pub fn metric(self) -> &'static str {
        match self {
            ProbeKind::Ridge => "r2",
            _ => "accuracy",
        }
    }
}

/// What to fit: probe kinds, alphas, standardisation and the control seed.
#[derive(Debug, Clone)]
pub struct ProbeSpec {
    pub probes: Vec<ProbeKind>,
    pub alphas: Vec<f64>,
    pub standardize: bool,
    /// Seed of the row permutation of the control probes.
    pub control_seed: u64,
}

impl Default for ProbeSpec {
    fn default() -> Self {
        ProbeSpec {
            probes: vec![ProbeKind::Ridge, ProbeKind::RidgeClassifier, ProbeKind::Logistic],
            alphas: DEFAULT_ALPHAS.to_vec(),
            standardize: true,
            control_seed: 0,
        }
    }
}

/// The data one probe run sees: features (rows × features), continuous
/// targets (rows × targets) and optionally integer class labels, all with
/// names for messages and output.
pub struct ProbeData<'a> {
    pub features: ArrayView2<'a, f64>,
    pub feature_names: &'a [String],
    pub targets: ArrayView2<'a, f64>,
    pub target_names: &'a [String],
    /// The label column's name and values.
    pub labels: Option<(&'a str, &'a [i64])>,
}

/// One probe result: a row of the output table (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRow {
    pub target: String,
    pub probe: ProbeKind,
    pub alpha: f64,
    pub mean: f64,
    pub std: f64,
    pub control_mean: f64,
    pub selectivity: f64,
    pub best_alpha: bool,
    pub n_rows: usize,
    pub n_features: usize,
    pub n_folds: usize,
    /// The held-out score of each fold.
    pub fold_scores: Vec<f64>,
}

/// Runs every probe of `spec` on `data`: ridge on each target and the
/// class probes on the labels, plus their shuffled-row controls.
///
/// All ridge fits (targets, ridge-classifier one-vs-all columns and their
/// controls) share one factorisation per fold.
pub fn run_probes(data: &ProbeData, folds: &Folds, spec: &ProbeSpec) -> Result<Vec<ProbeRow>, ProbeError> {
    check_data(data, folds, spec)?;
    let classes = match data.labels {
        Some((column, labels)) if wants_classes(spec) => {
            let classes = Classes::encode(labels, column)?;
            classes.check_folds(folds, column)?;
            Some(classes)
        }
        _ => None,
    };
    let permutation = control_permutation(folds.rows(), spec.control_seed);
    let control_classes = classes.as_ref().map(|c| Classes {
        values: c.values.clone(),
        indices: permutation.iter().map(|&row| c.indices[row]).collect(),
    });

    let mut rows = Vec::new();
    let ridge_targets = spec.probes.contains(&ProbeKind::Ridge);
    let ridge_classes = spec.probes.contains(&ProbeKind::RidgeClassifier);

    // One ridge solve for every column: targets, one-vs-all, and controls.
    let mut blocks = Vec::new();
    if ridge_targets {
        blocks.push(data.targets.to_owned());
        blocks.push(data.targets.select(Axis(0), &permutation));
    }
    if let (true, Some(classes), Some(control)) = (ridge_classes, &classes, &control_classes) {
        blocks.push(classes.one_vs_all());
        blocks.push(control.one_vs_all());
    }
    if !blocks.is_empty() {
        let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
        let stacked = concatenate(Axis(1), &views).map_err(|_| ProbeError::Layout)?;
        let predictions =
            ridge::heldout_predictions(data.features, stacked.view(), folds, &spec.alphas, spec.standardize)?;
        let mut offset = 0;
        if ridge_targets {
            let count = data.targets.ncols();
            let real = predictions.slice(ndarray::s![.., .., offset..offset + count]).to_owned();
            let shuffled = predictions.slice(ndarray::s![.., .., offset + count..offset + 2 * count]).to_owned();
            let scores = ridge::r2_by_fold(data.targets, &real, folds);
            let control_targets = &blocks[1];
            let control = ridge::r2_by_fold(control_targets.view(), &shuffled, folds);
            offset += 2 * count;
            for t in 0..count {
                let real_scores = scores.index_axis(Axis(0), t).to_owned();
                let control_scores = control.index_axis(Axis(0), t).to_owned();
                let name = &data.target_names[t];
                rows.extend(summarise(data, folds, spec, name, ProbeKind::Ridge, &real_scores, &control_scores));
            }
        }
        if let (true, Some(classes), Some(control)) = (ridge_classes, &classes, &control_classes) {
            let count = classes.count();
            let real = predictions.slice(ndarray::s![.., .., offset..offset + count]).to_owned();
            let shuffled = predictions.slice(ndarray::s![.., .., offset + count..offset + 2 * count]).to_owned();
            let scores = classify::ridge_classifier_accuracy(&real, classes, folds);
            let control_scores = classify::ridge_classifier_accuracy(&shuffled, control, folds);
            let name = data.labels.map(|(n, _)| n).unwrap_or("label");
            rows.extend(summarise(data, folds, spec, name, ProbeKind::RidgeClassifier, &scores, &control_scores));
        }
    }

    if let (true, Some(classes), Some(control)) =
        (spec.probes.contains(&ProbeKind::Logistic), &classes, &control_classes)
    {
        let options = LogisticOptions::default();
        let scores = classify::logistic_accuracy(data.features, classes, folds, &spec.alphas, spec.standardize, options);
        let control_scores =
            classify::logistic_accuracy(data.features, control, folds, &spec.alphas, spec.standardize, options);
        let name = data.labels.map(|(n, _)| n).unwrap_or("label");
        rows.extend(summarise(data, folds, spec, name, ProbeKind::Logistic, &scores, &control_scores));
    }
    Ok(rows)
}

fn wants_classes(spec: &ProbeSpec) -> bool {
    spec.probes.iter().any(|&p| p != ProbeKind::Ridge)
}

/// The seeded row permutation of the controls: rand 0.8's Fisher–Yates
/// shuffle of `0..rows` driven by `ChaCha8Rng::seed_from_u64(seed)`.
pub fn control_permutation(rows: usize, seed: u64) -> Vec<usize> {
    let mut permutation: Vec<usize> = (0..rows).collect();
    permutation.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    permutation
}

/// One output row per alpha from fold scores shaped (alphas, folds).
fn summarise(
    data: &ProbeData,
    folds: &Folds,
    spec: &ProbeSpec,
    target: &str,
    probe: ProbeKind,
    scores: &ndarray::Array2<f64>,
    control_scores: &ndarray::Array2<f64>,
) -> Vec<ProbeRow> {
    let summaries: Vec<(f64, f64)> = scores.rows().into_iter().map(|r| mean_std(&r.to_vec())).collect();
    let means: Vec<f64> = summaries.iter().map(|s| s.0).collect();
    let best = ridge::best_index(&means);
    spec.alphas
        .iter()
        .enumerate()
        .map(|(a, &alpha)| {
            let (mean, std) = summaries[a];
            let control_mean = mean_std(&control_scores.row(a).to_vec()).0;
            ProbeRow {
                target: target.to_string(),
                probe,
                alpha,
                mean,
                std,
                control_mean,
                selectivity: mean - control_mean,
                best_alpha: a == best,
                n_rows: data.features.nrows(),
                n_features: data.features.ncols(),
                n_folds: folds.count(),
                fold_scores: scores.row(a).to_vec(),
            }
        })
        .collect()
}

/// Checks shapes, names, alphas and finiteness of a whole probe input.
fn check_data(data: &ProbeData, folds: &Folds, spec: &ProbeSpec) -> Result<(), ProbeError> {
    check_rows(data.features, data.targets.nrows(), "targets", folds)?;
    if let Some((_, labels)) = data.labels {
        check_rows(data.features, labels.len(), "labels", folds)?;
    }
    check_alphas(&spec.alphas)?;
    check_names(Role::Feature, data.feature_names, data.features.ncols())?;
    check_names(Role::Target, data.target_names, data.targets.ncols())?;
    check_finite(data.features, Role::Feature, &|j| data.feature_names[j].clone())?;
    check_finite(data.targets, Role::Target, &|j| data.target_names[j].clone())
}

fn check_names(role: Role, names: &[String], columns: usize) -> Result<(), ProbeError> {
    if names.len() == columns {
        Ok(())
    } else {
        Err(ProbeError::NameCount { role, count: names.len(), columns })
    }
}

/// Checks that `x` has features and as many rows as `other_rows` and the
/// folds, and at least one row per fold.
pub(crate) fn check_rows(x: ArrayView2<f64>, other_rows: usize, what: &str, folds: &Folds) -> Result<(), ProbeError> {
    let rows = x.nrows();
    if x.ncols() == 0 {
        return Err(ProbeError::NoFeatures);
    }
    if other_rows != rows {
        return Err(ProbeError::RowMismatch { what: what.to_string(), features: rows, other: other_rows });
    }
    if folds.rows() != rows {
        return Err(ProbeError::RowMismatch { what: "fold assignment".into(), features: rows, other: folds.rows() });
    }
    if rows < folds.count() {
        return Err(ProbeError::TooFewRows { rows, folds: folds.count() });
    }
    Ok(())
}

pub(crate) fn check_alphas(alphas: &[f64]) -> Result<(), ProbeError> {
    if alphas.is_empty() {
        return Err(ProbeError::NoAlphas);
    }
    match alphas.iter().find(|a| !(a.is_finite() && **a > 0.0)) {
        Some(&alpha) => Err(ProbeError::InvalidAlpha { alpha }),
        None => Ok(()),
    }
}

/// Fails on the first NaN or infinite value, naming its column by `name`.
pub(crate) fn check_finite(
    values: ArrayView2<f64>,
    role: Role,
    name: &dyn Fn(usize) -> String,
) -> Result<(), ProbeError> {
    for ((row, column), &value) in values.indexed_iter() {
        if !value.is_finite() {
            return Err(ProbeError::NonFinite { role, column: name(column), row, value });
        }
    }
    Ok(())
}

/// The output table of [`run_probes`]; the columns are listed in the
/// module docs.
pub fn rows_to_batch(rows: &[ProbeRow]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let strings = |f: &dyn Fn(&ProbeRow) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let floats = |f: &dyn Fn(&ProbeRow) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(rows.iter().map(f)))
    };
    let counts = |f: &dyn Fn(&ProbeRow) -> usize| -> ArrayRef {
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| f(r) as u64)))
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("target", strings(&|r| &r.target)),
        ("probe", strings(&|r| r.probe.name())),
        ("alpha", floats(&|r| r.alpha)),
        ("metric", strings(&|r| r.probe.metric())),
        ("mean", floats(&|r| r.mean)),
        ("std", floats(&|r| r.std)),
        ("control_mean", floats(&|r| r.control_mean)),
        ("selectivity", floats(&|r| r.selectivity)),
        ("best_alpha", Arc::new(BooleanArray::from_iter(rows.iter().map(|r| Some(r.best_alpha))))),
        ("n_rows", counts(&|r| r.n_rows)),
        ("n_features", counts(&|r| r.n_features)),
        ("n_folds", counts(&|r| r.n_folds)),
    ];
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), false))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    RecordBatch::try_new(schema, columns.into_iter().map(|(_, a)| a).collect())
}

/// The Arrow type of every output column, for callers that build the
/// schema before the rows exist.
pub fn output_schema() -> Schema {
    let field = |name: &str, data_type: DataType| Field::new(name, data_type, false);
    Schema::new(vec![
        field("target", DataType::Utf8),
        field("probe", DataType::Utf8),
        field("alpha", DataType::Float64),
        field("metric", DataType::Utf8),
        field("mean", DataType::Float64),
        field("std", DataType::Float64),
        field("control_mean", DataType::Float64),
        field("selectivity", DataType::Float64),
        field("best_alpha", DataType::Boolean),
        field("n_rows", DataType::UInt64),
        field("n_features", DataType::UInt64),
        field("n_folds", DataType::UInt64),
    ])
}
