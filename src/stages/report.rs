//! Stage `report`: gathers the training logs into `training.parquet` and
//! draws the figures, `report.html` and `summary.md` from it and from
//! `probes.parquet` (see [`crate::report::write_report`]).

use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use serde::Serialize;

use super::train::LOG_FILE;
use crate::engine::{Stage, StageContext};
use crate::table::column;

pub const TRAINING_FILE: &str = "training.parquet";

/// One trained run whose log goes into the report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportedRun {
    pub variant: String,
    pub corruption: f64,
    pub seed: u64,
    /// Input role of the train entry.
    pub train: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportStage {
    pub title: String,
    pub runs: Vec<ReportedRun>,
}

/// Log columns copied into `training.parquet`.
const LOG_COLUMNS: [&str; 7] = [
    "loss",
    "train_acc",
    "val_acc",
    "changed_acc_true",
    "changed_acc_train",
    "unchanged_acc_true",
    "unchanged_acc_train",
];

impl Stage for ReportStage {
    fn name(&self) -> &'static str {
        "report"
    }

    fn version(&self) -> u32 {
        1
    }

    fn params(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<()> {
        let probes = ctx.input_file("probe", super::probe::FILE)?;
        let training = if self.runs.is_empty() {
            None
        } else {
            let path = ctx.out_dir().join(TRAINING_FILE);
            self.write_training(ctx, &path)?;
            Some(path)
        };
        let summary = crate::report::write_report(&probes, training.as_deref(), ctx.out_dir(), &self.title)?;
        for skipped in &summary.skipped {
            tracing::warn!("report: figure {} not drawn: {}", skipped.name, skipped.reason);
        }
        Ok(())
    }
}

impl ReportStage {
    fn write_training(&self, ctx: &StageContext<'_>, path: &std::path::Path) -> Result<()> {
        let mut batches = Vec::new();
        let mut schema = None;
        for run in &self.runs {
            let log_path = ctx.input_file(&run.train, LOG_FILE)?;
            let log = crate::table::read(&log_path)?;
            let n = log.num_rows();
            let epoch = log
                .column_by_name("epoch")
                .with_context(|| format!("{}: missing column \"epoch\"", log_path.display()))?;
            let epochs = arrow::compute::cast(epoch, &DataType::Int64)?;
            let mut fields = vec![
                Field::new("variant", DataType::Utf8, false),
                Field::new("corruption", DataType::Float64, false),
                Field::new("seed", DataType::Int64, false),
                Field::new("epoch", DataType::Int64, true),
            ];
            let mut columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from(vec![run.variant.as_str(); n])),
                Arc::new(Float64Array::from(vec![run.corruption; n])),
                Arc::new(Int64Array::from(vec![run.seed as i64; n])),
                epochs,
            ];
            for name in LOG_COLUMNS {
                let values = column::<Float64Array>(&log, name, &log_path)?;
                fields.push(Field::new(name, DataType::Float64, true));
                columns.push(Arc::new(values.clone()));
            }
            let batch_schema = Arc::new(Schema::new(fields));
            batches.push(RecordBatch::try_new(batch_schema.clone(), columns)?);
            schema = Some(batch_schema);
        }
        let Some(schema) = schema else { return Ok(()) };
        crate::table::write_batches(path, schema, &batches)
    }
}
