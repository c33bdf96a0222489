//! Stage `permute`: corrupts training labels for memorising networks.
//!
//! Each training row is selected with probability `p` (a seeded draw per
//! row, in image id order), and the labels of the selected rows are then
//! shuffled among themselves. The label histogram of the training split is
//! therefore unchanged; a selected row may keep its label by chance, so
//! `changed` (label differs) is a subset of `selected`. With `p = 0` no row
//! is selected; with `p = 1` every training label takes part.
//!
//! Writes `labels.arrow`, one row per image of the split: `image_id`
//! (UInt32), `split` (Utf8), `true_label` (Int32), `train_label` (Int32),
//! `selected` (Boolean), `changed` (Boolean). Rows outside the training
//! split are never selected.

use std::sync::Arc;

use anyhow::{bail, Result};
use arrow::array::{ArrayRef, BooleanArray, Int32Array, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::split::{SplitTable, FILE as SPLIT_FILE};
use crate::engine::{Stage, StageContext};

pub const FILE: &str = "labels.arrow";

/// The corruption of one memorising variant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PermuteStage {
    /// Probability in [0, 1] that a training row takes part in the shuffle.
    pub p: f64,
    pub seed: u64,
}

impl PermuteStage {
    pub fn new(p: f64, seed: u64) -> Result<PermuteStage> {
        if !(0.0..=1.0).contains(&p) {
            bail!("corruption fraction p = {p} is outside [0, 1]");
        }
        Ok(PermuteStage { p, seed })
    }
}

impl Stage for PermuteStage {
    fn name(&self) -> &'static str {
        "permute"
    }

    fn version(&self) -> u32 {
        1
    }

    fn params(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<()> {
        let split = SplitTable::read(&ctx.input_file("split", SPLIT_FILE)?)?;
        let corruption = permute_labels(&split, self.p, self.seed);
        crate::table::write(&ctx.out_dir().join(FILE), &labels_batch(&split, &corruption)?)
    }
}

/// The corrupted labels, per image id.
#[derive(Debug, Clone, PartialEq)]
pub struct Corruption {
    pub train_labels: Vec<i32>,
    pub selected: Vec<bool>,
}

/// Selects each training row with probability `p` and shuffles the labels
/// of the selected rows among themselves.
pub fn permute_labels(split: &SplitTable, p: f64, seed: u64) -> Corruption {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut selected = vec![false; split.len()];
    let mut chosen = Vec::new();
    for row in split.rows_in("train") {
        // `gen` draws from [0, 1), so p = 1 selects every row.
        if rng.gen::<f64>() < p {
            selected[row] = true;
            chosen.push(row);
        }
    }
    let mut shuffled: Vec<i32> = chosen.iter().map(|&row| split.labels[row]).collect();
    shuffled.shuffle(&mut rng);

    let mut train_labels = split.labels.clone();
    for (&row, &label) in chosen.iter().zip(&shuffled) {
        train_labels[row] = label;
    }
    Corruption { train_labels, selected }
}

fn labels_batch(split: &SplitTable, corruption: &Corruption) -> Result<RecordBatch> {
    let changed: BooleanArray = (0..split.len())
        .map(|row| Some(corruption.train_labels[row] != split.labels[row]))
        .collect();
    let schema = Schema::new(vec![
        Field::new("image_id", DataType::UInt32, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("true_label", DataType::Int32, false),
        Field::new("train_label", DataType::Int32, false),
        Field::new("selected", DataType::Boolean, false),
        Field::new("changed", DataType::Boolean, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new((0..split.len() as u32).collect::<UInt32Array>()),
        Arc::new(split.splits.iter().map(Some).collect::<StringArray>()),
        Arc::new(Int32Array::from(split.labels.clone())),
        Arc::new(Int32Array::from(corruption.train_labels.clone())),
        Arc::new(BooleanArray::from(corruption.selected.clone())),
        Arc::new(changed),
    ];
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy_split(n: usize) -> SplitTable {
        SplitTable {
            paths: (0..n).map(|i| format!("c/{i}.jpg")).collect(),
            classes: vec!["c".into(); n],
            labels: (0..n).map(|i| (i % 5) as i32).collect(),
            splits: (0..n).map(|i| if i % 4 == 3 { "val" } else { "train" }.to_string()).collect(),
            hashes: vec![String::new(); n],
            class_names: vec![],
        }
    }

    fn histogram(labels: &[i32], rows: &[usize]) -> Vec<usize> {
        let mut counts = vec![0; 5];
        for &row in rows {
            counts[labels[row] as usize] += 1;
        }
        counts
    }

    #[test]
    fn permutation_keeps_the_label_histogram() {
        let split = toy_split(400);
        let train = split.rows_in("train");
        let corruption = permute_labels(&split, 0.5, 3);
        assert_eq!(histogram(&corruption.train_labels, &train), histogram(&split.labels, &train));
    }

    #[test]
    fn zero_p_selects_nothing_and_full_p_selects_every_training_row() {
        let split = toy_split(100);
        let none = permute_labels(&split, 0.0, 1);
        assert!(none.selected.iter().all(|s| !s));
        assert_eq!(none.train_labels, split.labels);

        let all = permute_labels(&split, 1.0, 1);
        for row in 0..split.len() {
            assert_eq!(all.selected[row], split.splits[row] == "train");
        }
    }

    #[test]
    fn validation_rows_are_never_changed() {
        let split = toy_split(100);
        let corruption = permute_labels(&split, 1.0, 9);
        for row in split.rows_in("val") {
            assert_eq!(corruption.train_labels[row], split.labels[row]);
        }
    }

    #[test]
    fn half_p_selects_about_half() {
        let split = toy_split(4000);
        let corruption = permute_labels(&split, 0.5, 7);
        let fraction = corruption.selected.iter().filter(|s| **s).count() as f64 / 3000.0;
        assert!((fraction - 0.5).abs() < 0.05, "selected fraction {fraction}");
    }
}
