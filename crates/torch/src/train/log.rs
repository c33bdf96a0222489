//! The per-epoch training log, `log.arrow`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use arrow::array::{ArrayRef, Float64Array, RecordBatch, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

use flawprobe::table;

/// One epoch of a training run. Accuracies are fractions in [0, 1],
/// measured after the epoch in evaluation mode without augmentation; NaN
/// where there are no rows to measure on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    /// 0 is the untrained network (its `loss` is NaN).
    pub epoch: u32,
    /// Mean cross-entropy of the epoch's training steps (training mode,
    /// augmented inputs, training labels).
    #[serde(with = "nan_as_null")]
    pub loss: f64,
    /// Training rows against their training labels.
    #[serde(with = "nan_as_null")]
    pub train_acc: f64,
    /// Validation rows against their true labels.
    #[serde(with = "nan_as_null")]
    pub val_acc: f64,
    #[serde(with = "nan_as_null")]
    pub changed_acc_true: f64,
    #[serde(with = "nan_as_null")]
    pub changed_acc_train: f64,
    #[serde(with = "nan_as_null")]
    pub unchanged_acc_true: f64,
    #[serde(with = "nan_as_null")]
    pub unchanged_acc_train: f64,
    /// Wall-clock seconds of the epoch (training and evaluation).
    pub seconds: f64,
}

/// JSON has no NaN, so the resume state stores it as `null`.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        if value.is_nan() {
            s.serialize_none()
        } else {
            s.serialize_f64(*value)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// Writes the rows to `path` as `log.arrow`.
pub fn write_log(path: &Path, rows: &[LogRow]) -> Result<()> {
    let float = |name: &str| Field::new(name, DataType::Float64, false);
    let schema = Arc::new(Schema::new(vec![
        Field::new("epoch", DataType::UInt32, false),
        float("loss"),
        float("train_acc"),
        float("val_acc"),
        float("changed_acc_true"),
        float("changed_acc_train"),
        float("unchanged_acc_true"),
        float("unchanged_acc_train"),
        float("seconds"),
    ]));
    let floats = |get: fn(&LogRow) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(rows.iter().map(get).collect::<Vec<_>>()))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(rows.iter().map(|r| r.epoch).collect::<Vec<_>>())),
        floats(|r| r.loss),
        floats(|r| r.train_acc),
        floats(|r| r.val_acc),
        floats(|r| r.changed_acc_true),
        floats(|r| r.changed_acc_train),
        floats(|r| r.unchanged_acc_true),
        floats(|r| r.unchanged_acc_train),
        floats(|r| r.seconds),
    ];
    table::write(path, &RecordBatch::try_new(schema, columns)?)
}
