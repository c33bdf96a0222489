//! Reading `probes.parquet` and `training.parquet` into rows, and the
//! aggregation over seeds that every figure and table shares.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::{can_cast_types, cast};
use arrow::datatypes::{DataType, Float64Type, Int64Type};

/// A trained or broken model: one line in the figures.
#[derive(Debug, Clone)]
pub struct Model {
    /// `generalising`, `memorising`, `random` or `randomised`. Other names
    /// are kept as they are.
    pub variant: String,
    /// Label corruption fraction p.
    pub corruption: f64,
    /// For a randomised model, the layer down to which its weights were
    /// re-initialised.
    pub randomised_from: Option<String>,
}

impl Model {
    /// Returns the legend text, e.g. `memorising p=0.5` or `randomised down to block3`.
    pub fn label(&self) -> String {
        let p = format_fraction(self.corruption);
        match (self.variant.as_str(), &self.randomised_from) {
            ("generalising" | "random", _) if self.corruption == 0.0 => self.variant.clone(),
            ("randomised", Some(layer)) if self.corruption == 0.0 => {
                format!("randomised down to {layer}")
            }
            ("randomised", Some(layer)) => format!("randomised down to {layer} (p={p})"),
            (variant, _) => format!("{variant} p={p}"),
        }
    }

    /// Returns whether the model was trained, so that its epochs form a
    /// training trajectory.
    pub fn is_trained(&self) -> bool {
        matches!(self.variant.as_str(), "generalising" | "memorising")
    }

    fn variant_rank(&self) -> usize {
        ["generalising", "memorising", "random", "randomised"]
            .iter()
            .position(|v| *v == self.variant)
            .unwrap_or(4)
    }
}

// Models are map keys: corruption compares with `total_cmp`, so the order is
// total even though the field is a float.
impl Ord for Model {
    fn cmp(&self, other: &Model) -> Ordering {
        self.variant_rank()
            .cmp(&other.variant_rank())
            .then_with(|| self.variant.cmp(&other.variant))
            .then_with(|| self.corruption.total_cmp(&other.corruption))
            .then_with(|| self.randomised_from.cmp(&other.randomised_from))
    }
}

impl PartialOrd for Model {
    fn partial_cmp(&self, other: &Model) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Model {
    fn eq(&self, other: &Model) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Model {}

/// Formats a fraction without trailing zeros: 1, 0.5, 0.25.
pub fn format_fraction(p: f64) -> String {
    let text = format!("{p:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One best-alpha row of `probes.parquet`: the fold mean and std of one
/// probe on one layer of one model checkpoint.
#[derive(Debug, Clone)]
pub struct ProbeScore {
    pub model: Model,
    pub seed: i64,
    pub epoch: i64,
    pub layer: String,
    pub target: String,
    /// `concept` or `class`.
    pub target_kind: String,
    pub probe: String,
    /// `r2` or `accuracy`.
    pub metric: String,
    pub mean: f64,
    pub std: f64,
}

/// The best-alpha rows of a probes table and the layer order it records.
#[derive(Debug, Clone)]
pub struct ProbeTable {
    pub scores: Vec<ProbeScore>,
    /// Layer names ordered by `layer_index`, from input to output.
    pub layers: Vec<String>,
    /// Every model present, in legend order.
    pub models: Vec<Model>,
}

/// Reads `probes.parquet` (or `.arrow`), keeping the rows whose `best_alpha`
/// is true. Fails naming the file and column when a required column is
/// missing or cannot be cast to its type. Rows with a null key are skipped.
pub fn read_probes(path: &Path) -> Result<ProbeTable> {
    let batch = crate::table::read(path)?;
    let text = |name| column(&batch, name, &DataType::Utf8, path);
    let float = |name| column(&batch, name, &DataType::Float64, path);
    let int = |name| column(&batch, name, &DataType::Int64, path);

    let variant = text("variant")?;
    let corruption = float("corruption")?;
    let seed = int("seed")?;
    let epoch = int("epoch")?;
    let layer = text("layer")?;
    let layer_index = int("layer_index")?;
    let target = text("target")?;
    let target_kind = text("target_kind")?;
    let probe = text("probe")?;
    let metric = text("metric")?;
    let mean = float("mean")?;
    let std = float("std")?;
    let best_alpha = column(&batch, "best_alpha", &DataType::Boolean, path)?;
    let randomised_from = match batch.column_by_name("randomised_from") {
        Some(_) => Some(text("randomised_from")?),
        None => None,
    };

    let (variant, layer, target) = (variant.as_string::<i32>(), layer.as_string::<i32>(), target.as_string::<i32>());
    let (target_kind, probe, metric) =
        (target_kind.as_string::<i32>(), probe.as_string::<i32>(), metric.as_string::<i32>());
    let (corruption, mean, std) = (
        corruption.as_primitive::<Float64Type>(),
        mean.as_primitive::<Float64Type>(),
        std.as_primitive::<Float64Type>(),
    );
    let (seed, epoch, layer_index) = (
        seed.as_primitive::<Int64Type>(),
        epoch.as_primitive::<Int64Type>(),
        layer_index.as_primitive::<Int64Type>(),
    );
    let best_alpha = best_alpha.as_boolean();
    let randomised_from = randomised_from.as_ref().map(|a| a.as_string::<i32>());

    let mut scores = Vec::new();
    let mut layer_order = BTreeMap::new();
    let mut skipped = 0usize;
    for row in 0..batch.num_rows() {
        let keys_valid = [
            variant.is_valid(row),
            corruption.is_valid(row),
            seed.is_valid(row),
            epoch.is_valid(row),
            layer.is_valid(row),
            target.is_valid(row),
            target_kind.is_valid(row),
            probe.is_valid(row),
            metric.is_valid(row),
        ];
        if !keys_valid.iter().all(|valid| *valid) {
            skipped += 1;
            continue;
        }
        if layer_index.is_valid(row) {
            layer_order.entry(layer.value(row).to_string()).or_insert(layer_index.value(row));
        }
        if !best_alpha.is_valid(row) || !best_alpha.value(row) {
            continue;
        }
        let randomised_from = randomised_from
            .filter(|a| a.is_valid(row))
            .map(|a| a.value(row).to_string());
        scores.push(ProbeScore {
            model: Model {
                variant: variant.value(row).to_string(),
                corruption: corruption.value(row),
                randomised_from,
            },
            seed: seed.value(row),
            epoch: epoch.value(row),
            layer: layer.value(row).to_string(),
            target: target.value(row).to_string(),
            target_kind: target_kind.value(row).to_string(),
            probe: probe.value(row).to_string(),
            metric: metric.value(row).to_string(),
            mean: if mean.is_valid(row) { mean.value(row) } else { f64::NAN },
            std: if std.is_valid(row) { std.value(row) } else { f64::NAN },
        });
    }
    if skipped > 0 {
        tracing::warn!("{}: skipped {skipped} rows with a null key column", path.display());
    }

    let mut layers: Vec<(i64, String)> = layer_order.into_iter().map(|(name, index)| (index, name)).collect();
    layers.sort();
    let layers: Vec<String> = layers.into_iter().map(|(_, name)| name).collect();
    let models = order_models(&scores, &layers);
    Ok(ProbeTable { scores, layers, models })
}

/// Models in legend order: by variant, then corruption, and randomised
/// models from the top layer down.
fn order_models(scores: &[ProbeScore], layers: &[String]) -> Vec<Model> {
    let mut models: Vec<Model> = scores.iter().map(|s| s.model.clone()).collect();
    models.sort();
    models.dedup();
    let depth = |model: &Model| {
        let position = model
            .randomised_from
            .as_ref()
            .and_then(|name| layers.iter().position(|l| l == name));
        std::cmp::Reverse(position)
    };
    models.sort_by(|a, b| {
        (a.variant_rank(), &a.variant)
            .cmp(&(b.variant_rank(), &b.variant))
            .then_with(|| a.corruption.total_cmp(&b.corruption))
            .then_with(|| depth(a).cmp(&depth(b)))
            .then_with(|| a.randomised_from.cmp(&b.randomised_from))
    });
    models
}

/// One row of `training.parquet`: one epoch of one training run (one seed).
#[derive(Debug, Clone)]
pub struct TrainingEpoch {
    pub model: Model,
    pub epoch: i64,
    /// One value per entry of [`TRAINING_CURVES`], NaN where the column is
    /// absent or the value is missing.
    pub values: Vec<f64>,
}

/// The accuracy columns of `training.parquet` drawn as curves, with their
/// legend text. Loss is left out because its scale differs.
pub const TRAINING_CURVES: [(&str, &str); 6] = [
    ("train_acc", "train accuracy (training labels)"),
    ("val_acc", "validation accuracy"),
    ("changed_acc_true", "changed rows vs true labels"),
    ("changed_acc_train", "changed rows vs training labels"),
    ("unchanged_acc_true", "unchanged rows vs true labels"),
    ("unchanged_acc_train", "unchanged rows vs training labels"),
];

/// Reads `training.parquet`. The key columns (variant, corruption, seed,
/// epoch) are required; a missing accuracy column reads as NaN.
pub fn read_training(path: &Path) -> Result<Vec<TrainingEpoch>> {
    let batch = crate::table::read(path)?;
    let variant = column(&batch, "variant", &DataType::Utf8, path)?;
    let corruption = column(&batch, "corruption", &DataType::Float64, path)?;
    let seed = column(&batch, "seed", &DataType::Int64, path)?;
    let epoch = column(&batch, "epoch", &DataType::Int64, path)?;
    let mut curves = Vec::new();
    for (name, _) in TRAINING_CURVES {
        curves.push(match batch.column_by_name(name) {
            Some(_) => Some(column(&batch, name, &DataType::Float64, path)?),
            None => None,
        });
    }

    let variant = variant.as_string::<i32>();
    let corruption = corruption.as_primitive::<Float64Type>();
    let (seed, epoch) = (seed.as_primitive::<Int64Type>(), epoch.as_primitive::<Int64Type>());
    let curves: Vec<_> = curves.iter().map(|c| c.as_ref().map(|a| a.as_primitive::<Float64Type>())).collect();

    let mut rows = Vec::new();
    for row in 0..batch.num_rows() {
        let keys = [variant.is_valid(row), corruption.is_valid(row), seed.is_valid(row), epoch.is_valid(row)];
        if !keys.iter().all(|valid| *valid) {
            continue;
        }
        let values = curves
            .iter()
            .map(|c| match c {
                Some(array) if array.is_valid(row) => array.value(row),
                _ => f64::NAN,
            })
            .collect();
        rows.push(TrainingEpoch {
            model: Model {
                variant: variant.value(row).to_string(),
                corruption: corruption.value(row),
                randomised_from: None,
            },
            epoch: epoch.value(row),
            values,
        });
    }
    Ok(rows)
}

/// Returns the column `name` cast to `expected`, so that Int32 seeds and
/// LargeUtf8 or dictionary strings are accepted. Fails naming the file and
/// the column when it is missing or cannot be cast.
fn column(batch: &RecordBatch, name: &str, expected: &DataType, file: &Path) -> Result<ArrayRef> {
    let Some(array) = batch.column_by_name(name) else {
        bail!("{}: missing column {name:?}", file.display());
    };
    if array.data_type() == expected {
        return Ok(array.clone());
    }
    if !can_cast_types(array.data_type(), expected) {
        bail!(
            "{}: column {name:?} has type {}, expected {expected}",
            file.display(),
            array.data_type()
        );
    }
    cast(array, expected).with_context(|| {
        format!("{}: cannot convert column {name:?} to {expected}", file.display())
    })
}

/// A score aggregated over seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Mean over seeds of the fold means.
    pub mean: f64,
    /// Population standard deviation of the seed means (0 for one seed).
    pub seed_std: f64,
    /// Population standard deviation over all seed × fold scores:
    /// sqrt(mean of the fold variances + variance of the seed means), exact
    /// when every seed has the same number of folds and the fold std is a
    /// population std.
    pub spread: f64,
    pub seeds: usize,
}

impl Estimate {
    /// Aggregates (fold mean, fold std) pairs, one per seed. NaN means are
    /// left out and a NaN std counts as zero. Returns None when no seed is
    /// left.
    pub fn from_seeds(seeds: &[(f64, f64)]) -> Option<Estimate> {
        let valid: Vec<(f64, f64)> = seeds
            .iter()
            .filter(|(mean, _)| mean.is_finite())
            .map(|&(mean, std)| (mean, if std.is_finite() { std } else { 0.0 }))
            .collect();
        if valid.is_empty() {
            return None;
        }
        let n = valid.len() as f64;
        let mean = valid.iter().map(|(m, _)| m).sum::<f64>() / n;
        let seed_variance = valid.iter().map(|(m, _)| (m - mean).powi(2)).sum::<f64>() / n;
        let fold_variance = valid.iter().map(|(_, s)| s * s).sum::<f64>() / n;
        Some(Estimate {
            mean,
            seed_std: seed_variance.sqrt(),
            spread: (fold_variance + seed_variance).sqrt(),
            seeds: valid.len(),
        })
    }

    /// Aggregates plain per-seed values (no fold spread).
    pub fn from_values(values: &[f64]) -> Option<Estimate> {
        let pairs: Vec<(f64, f64)> = values.iter().map(|&v| (v, 0.0)).collect();
        Estimate::from_seeds(&pairs)
    }
}
