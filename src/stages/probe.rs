//! Stage `probe`: linear probes of every (model, layer) of the pipeline.
//!
//! For each probed model (a variant at one epoch) and each layer, the
//! layer's pooled activations of the probe images (by default the
//! validation and test splits) are the features. Ridge regression probes
//! each concept measure, and the class probes (ridge classifier and
//! logistic regression) probe the true label. For memorising models the
//! class probes also run on the training rows against the permuted
//! training labels (`train_label`), which is what those networks were
//! fitted to. Every probe has a shuffled-target control.
//!
//! Writes `probes.parquet`: the model's columns `variant`, `corruption`,
//! `seed`, `epoch`, `layer`, `layer_index`, `randomised_from`, then
//! `target`, `target_kind` (`concept` or `class`) and the probe result
//! columns of [`crate::probe::rows_to_batch`] (`probe`, `alpha`, `metric`,
//! `mean`, `std`, `control_mean`, `selectivity`, `best_alpha`, `n_rows`,
//! `n_features`, `n_folds`).

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use arrow::array::{
    Array, ArrayRef, FixedSizeListArray, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, UInt32Array,
};
use arrow::datatypes::{DataType, Field, Schema};
use ndarray::Array2;
use rayon::prelude::*;
use serde::Serialize;

use super::activations::activation_file;
use super::split::{SplitTable, FILE as SPLIT_FILE};
use crate::concepts::CONCEPT_NAMES;
use crate::engine::{Stage, StageContext};
use crate::probe::{rows_to_batch, run_probes, Folds, ProbeData, ProbeKind, ProbeRow, ProbeSpec};
use crate::table::column;

pub const FILE: &str = "probes.parquet";

/// One probed model: which variant it is, and the input roles holding its
/// activations and its training labels.
#[derive(Debug, Clone, Serialize)]
pub struct ProbedModel {
    pub variant: String,
    pub corruption: f64,
    pub seed: u64,
    pub epoch: u32,
    pub randomised_from: Option<String>,
    /// Input role of the activations entry.
    pub activations: String,
    /// Input role of the permute entry whose labels trained it.
    pub labels: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProbeStage {
    pub models: Vec<ProbedModel>,
    /// Tapped layers, from the input towards the output.
    pub layers: Vec<String>,
    /// Splits whose images are the probe rows.
    pub splits: Vec<String>,
    pub probes: Vec<String>,
    pub alphas: Vec<f64>,
    pub folds: usize,
    pub fold_seed: u64,
    pub standardize: bool,
    pub control_seed: u64,
}

impl Stage for ProbeStage {
    fn name(&self) -> &'static str {
        "probe"
    }

    fn version(&self) -> u32 {
        1
    }

    fn params(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<()> {
        let split = SplitTable::read(&ctx.input_file("split", SPLIT_FILE)?)?;
        let concepts_path = ctx.input_file("concepts", super::concepts::FILE)?;
        let concepts = read_concepts(&concepts_path)?;
        let spec = self.spec()?;

        let jobs: Vec<(usize, usize)> = (0..self.models.len())
            .flat_map(|m| (0..self.layers.len()).map(move |l| (m, l)))
            .collect();
        let progress = crate::progress::bar(jobs.len() as u64, "probe");
        let batches = jobs
            .par_iter()
            .map(|&(m, l)| {
                let batch = self.probe_one(ctx, &split, &concepts, &spec, m, l);
                progress.inc(1);
                batch
            })
            .collect::<Result<Vec<_>>>()?;
        progress.finish_and_clear();

        let Some(first) = batches.first() else { bail!("the probe stage has no model to probe") };
        let schema = first.schema();
        crate::table::write_batches(&ctx.out_dir().join(FILE), schema, &batches)
    }
}

impl ProbeStage {
    fn spec(&self) -> Result<ProbeSpec> {
        let probes = self
            .probes
            .iter()
            .map(|name| ProbeKind::parse(name).with_context(|| format!("unknown probe kind {name:?}")))
            .collect::<Result<Vec<_>>>()?;
        Ok(ProbeSpec {
            probes,
            alphas: self.alphas.clone(),
            standardize: self.standardize,
            control_seed: self.control_seed,
        })
    }

    /// Probes one layer of one model and returns its rows as a batch.
    fn probe_one(
        &self,
        ctx: &StageContext<'_>,
        split: &SplitTable,
        concepts: &Array2<f64>,
        spec: &ProbeSpec,
        model_index: usize,
        layer_index: usize,
    ) -> Result<RecordBatch> {
        let model = &self.models[model_index];
        let layer = &self.layers[layer_index];
        let acts_path = ctx.input_file(&model.activations, &activation_file(layer))?;
        let (ids, features) = read_activations(&acts_path)?;
        let mut rows_by_id = vec![None; split.len()];
        for (row, &id) in ids.iter().enumerate() {
            if let Some(slot) = rows_by_id.get_mut(id as usize) {
                *slot = Some(row);
            }
        }
        let row_of = |image_id: usize| rows_by_id.get(image_id).copied().flatten();

        // Concepts and true labels on the probe splits.
        let probe_ids: Vec<usize> = (0..split.len())
            .filter(|&i| self.splits.iter().any(|s| *s == split.splits[i]))
            .collect();
        let rows = lookup_rows(&probe_ids, &row_of, &acts_path)?;
        let x = features.select(ndarray::Axis(0), &rows);
        let y = concepts.select(ndarray::Axis(0), &probe_ids);
        let labels: Vec<i64> = probe_ids.iter().map(|&i| split.labels[i] as i64).collect();
        let target_names: Vec<String> = CONCEPT_NAMES.iter().map(|s| s.to_string()).collect();
        let feature_names: Vec<String> = (0..x.ncols()).map(|j| format!("{layer}[{j}]")).collect();
        let data = ProbeData {
            features: x.view(),
            feature_names: &feature_names,
            targets: y.view(),
            target_names: &target_names,
            labels: Some(("label", &labels)),
        };
        let folds = Folds::seeded(x.nrows(), self.folds, self.fold_seed)?;
        let context = || format!("probing {layer} of {} ({})", model.variant, acts_path.display());
        let mut results = run_probes(&data, &folds, spec).with_context(context)?;

        // Memorising models: class probes of the permuted labels they fitted.
        if model.variant == "memorising" {
            results.extend(self.probe_training_labels(ctx, model, &features, &row_of, &acts_path, spec)?);
        }
        self.with_model_columns(&results, model, layer, layer_index)
    }

    fn probe_training_labels(
        &self,
        ctx: &StageContext<'_>,
        model: &ProbedModel,
        features: &Array2<f64>,
        row_of: &dyn Fn(usize) -> Option<usize>,
        acts_path: &std::path::Path,
        spec: &ProbeSpec,
    ) -> Result<Vec<ProbeRow>> {
        let labels_path = ctx.input_file(&model.labels, super::permute::FILE)?;
        let batch = crate::table::read(&labels_path)?;
        let splits = column::<StringArray>(&batch, "split", &labels_path)?;
        let train_labels = column::<Int32Array>(&batch, "train_label", &labels_path)?;
        let train_ids: Vec<usize> = (0..batch.num_rows()).filter(|&i| splits.value(i) == "train").collect();
        if train_ids.iter().any(|&id| row_of(id).is_none()) {
            tracing::warn!(
                "{} has no training rows, so the permuted labels of {} are not probed (add \"train\" to activations.splits)",
                acts_path.display(),
                model.variant
            );
            return Ok(Vec::new());
        }
        let rows = lookup_rows(&train_ids, row_of, acts_path)?;
        let x = features.select(ndarray::Axis(0), &rows);
        let labels: Vec<i64> = train_ids.iter().map(|&i| train_labels.value(i) as i64).collect();
        let class_spec = ProbeSpec {
            probes: spec.probes.iter().copied().filter(|p| *p != ProbeKind::Ridge).collect(),
            ..spec.clone()
        };
        let feature_names: Vec<String> = (0..x.ncols()).map(|j| format!("f{j}")).collect();
        let no_targets = Array2::<f64>::zeros((x.nrows(), 0));
        let data = ProbeData {
            features: x.view(),
            feature_names: &feature_names,
            targets: no_targets.view(),
            target_names: &[],
            labels: Some(("train_label", &labels)),
        };
        let folds = Folds::seeded(x.nrows(), self.folds, self.fold_seed)?;
        run_probes(&data, &folds, &class_spec)
            .with_context(|| format!("probing training labels with {}", acts_path.display()))
    }

    fn with_model_columns(
        &self,
        results: &[ProbeRow],
        model: &ProbedModel,
        layer: &str,
        layer_index: usize,
    ) -> Result<RecordBatch> {
        let n = results.len();
        let result_batch = rows_to_batch(results)?;
        let kinds: StringArray = results
            .iter()
            .map(|r| Some(if r.probe == ProbeKind::Ridge { "concept" } else { "class" }))
            .collect();
        let mut fields = vec![
            Field::new("variant", DataType::Utf8, false),
            Field::new("corruption", DataType::Float64, false),
            Field::new("seed", DataType::Int64, false),
            Field::new("epoch", DataType::Int64, false),
            Field::new("layer", DataType::Utf8, false),
            Field::new("layer_index", DataType::Int64, false),
            Field::new("randomised_from", DataType::Utf8, true),
        ];
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![model.variant.as_str(); n])),
            Arc::new(Float64Array::from(vec![model.corruption; n])),
            Arc::new(Int64Array::from(vec![model.seed as i64; n])),
            Arc::new(Int64Array::from(vec![model.epoch as i64; n])),
            Arc::new(StringArray::from(vec![layer; n])),
            Arc::new(Int64Array::from(vec![layer_index as i64; n])),
            Arc::new(StringArray::from(vec![model.randomised_from.as_deref(); n])),
        ];
        for (field, array) in result_batch.schema().fields().iter().zip(result_batch.columns()) {
            // Counts become Int64, which every Arrow reader handles alike.
            let array = if field.data_type() == &DataType::UInt64 {
                arrow::compute::cast(array, &DataType::Int64)?
            } else {
                array.clone()
            };
            fields.push(Field::new(field.name(), array.data_type().clone(), field.is_nullable()));
            columns.push(array);
            if field.name() == "target" {
                fields.push(Field::new("target_kind", DataType::Utf8, false));
                columns.push(Arc::new(kinds.clone()));
            }
        }
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
    }
}

fn lookup_rows(
    image_ids: &[usize],
    row_of: &dyn Fn(usize) -> Option<usize>,
    path: &std::path::Path,
) -> Result<Vec<usize>> {
    image_ids
        .iter()
        .map(|&id| row_of(id).with_context(|| format!("{}: no activation row for image {id}", path.display())))
        .collect()
}

/// Reads the 17 concept columns of `concepts.arrow` (row = image id).
fn read_concepts(path: &std::path::Path) -> Result<Array2<f64>> {
    let batch = crate::table::read(path)?;
    let mut values = Array2::<f64>::zeros((batch.num_rows(), CONCEPT_NAMES.len()));
    for (j, name) in CONCEPT_NAMES.iter().enumerate() {
        let array = column::<Float64Array>(&batch, name, path)?;
        for (i, value) in array.values().iter().enumerate() {
            values[[i, j]] = *value;
        }
    }
    Ok(values)
}

/// Reads an activation file: image ids and an (images × channels) matrix.
fn read_activations(path: &std::path::Path) -> Result<(Vec<u32>, Array2<f64>)> {
    let batch = crate::table::read(path)?;
    let ids = column::<UInt32Array>(&batch, "image_id", path)?.values().to_vec();
    let lists = column::<FixedSizeListArray>(&batch, "activation", path)?;
    let width = lists.value_length() as usize;
    let values = lists
        .values()
        .as_any()
        .downcast_ref::<Float32Array>()
        .with_context(|| format!("{}: activation values are not Float32", path.display()))?;
    if values.len() != ids.len() * width || values.null_count() > 0 {
        bail!("{}: activation column has missing values", path.display());
    }
    let matrix = Array2::from_shape_fn((ids.len(), width), |(i, j)| values.value(i * width + j) as f64);
    Ok((ids, matrix))
}
