//! Stage `split`: assigns every image of the dataset to the train,
//! validation or test split and writes `split.arrow`.
//!
//! Columns: `image_id` (UInt32, 0.. in path order), `path` (Utf8, relative to
//! `images/`), `class` (Utf8), `label` (Int32, index of the class in sorted
//! order), `split` (Utf8: `train`, `val` or `test`), `hash` (Utf8, blake3 of
//! the image file). The schema metadata `flawprobe.classes` lists the class
//! names as JSON.

use std::collections::HashMap;
use std::fs;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::engine::{Stage, StageContext};

pub const FILE: &str = "split.arrow";
pub const SPLITS: [&str; 3] = ["train", "val", "test"];

/// How images are assigned to splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum SplitRule {
    /// DTD's official split number `index`: `labels/trainN.txt`, `valN.txt`
    /// and `testN.txt`. Images listed in none of them are left out.
    Official { index: u32 },
    /// Per class, a seeded shuffle cut into train, validation and test parts
    /// of the given fractions (rounded to whole images; test takes the rest).
    Stratified { train: f64, val: f64, test: f64, seed: u64 },
}

impl SplitRule {
    /// Checks the fractions of a stratified rule.
    pub fn validate(&self) -> Result<()> {
        if let SplitRule::Stratified { train, val, test, .. } = self {
            for (name, value) in [("train", train), ("val", val), ("test", test)] {
                if !(0.0..=1.0).contains(value) {
                    bail!("split fraction {name} = {value} is outside [0, 1]");
                }
            }
            let sum = train + val + test;
            if (sum - 1.0).abs() > 1e-9 {
                bail!("split fractions train + val + test add up to {sum}, not 1");
            }
        }
        Ok(())
    }
}

pub struct SplitStage {
    pub rule: SplitRule,
    pub dataset: Arc<Dataset>,
}

impl Stage for SplitStage {
    fn name(&self) -> &'static str {
        "split"
    }

    fn version(&self) -> u32 {
        1
    }

    fn params(&self) -> serde_json::Value {
        serde_json::to_value(&self.rule).unwrap_or_default()
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<()> {
        let assignment = match &self.rule {
            SplitRule::Official { index } => official_assignment(&self.dataset, *index)?,
            SplitRule::Stratified { train, val, seed, .. } => {
                stratified_assignment(&self.dataset, *train, *val, *seed)
            }
        };
        let batch = split_batch(&self.dataset, &assignment)?;
        crate::table::write(&ctx.out_dir().join(FILE), &batch)
    }
}

/// Per image (in dataset order), its split, or `None` when left out.
fn stratified_assignment(dataset: &Dataset, train: f64, val: f64, seed: u64) -> Vec<Option<&'static str>> {
    let mut assignment = vec![None; dataset.images.len()];
    for label in 0..dataset.classes.len() {
        let mut members: Vec<usize> = (0..dataset.images.len())
            .filter(|&i| dataset.images[i].label == label as i32)
            .collect();
        // One stream per class, so adding a class leaves the others' splits alone.
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(label as u64);
        members.shuffle(&mut rng);
        let n = members.len() as f64;
        let n_train = (n * train).round() as usize;
        let n_val = ((n * val).round() as usize).min(members.len() - n_train);
        for (rank, &image) in members.iter().enumerate() {
            let split = if rank < n_train {
                "train"
            } else if rank < n_train + n_val {
                "val"
            } else {
                "test"
            };
            assignment[image] = Some(split);
        }
    }
    assignment
}

fn official_assignment(dataset: &Dataset, index: u32) -> Result<Vec<Option<&'static str>>> {
    let by_path: HashMap<&str, usize> = dataset
        .images
        .iter()
        .enumerate()
        .map(|(i, image)| (image.path.as_str(), i))
        .collect();
    let mut assignment = vec![None; dataset.images.len()];
    for split in SPLITS {
        let file = dataset.root.join("labels").join(format!("{split}{index}.txt"));
        let text = fs::read_to_string(&file)
            .with_context(|| format!("official split {index}: cannot read {}", file.display()))?;
        for (line_number, line) in text.lines().enumerate() {
            let path = line.trim();
            if path.is_empty() {
                continue;
            }
            let Some(&image) = by_path.get(path) else {
                bail!(
                    "{}:{}: image {path:?} is not in the dataset's images/ folder",
                    file.display(),
                    line_number + 1
                );
            };
            if let Some(previous) = assignment[image] {
                bail!("{}:{}: image {path:?} is already in split {previous}", file.display(), line_number + 1);
            }
            assignment[image] = Some(split);
        }
    }
    let left_out = assignment.iter().filter(|a| a.is_none()).count();
    if left_out > 0 {
        tracing::warn!("official split {index} leaves out {left_out} images that no label file lists");
    }
    Ok(assignment)
}

fn split_batch(dataset: &Dataset, assignment: &[Option<&'static str>]) -> Result<RecordBatch> {
    let rows: Vec<usize> = (0..dataset.images.len()).filter(|&i| assignment[i].is_some()).collect();
    if rows.is_empty() {
        bail!("the split assigns no image of {} to any split", dataset.root.display());
    }
    let image_ids: UInt32Array = (0..rows.len() as u32).collect();
    let paths: StringArray = rows.iter().map(|&i| Some(dataset.images[i].path.as_str())).collect();
    let classes: StringArray = rows.iter().map(|&i| Some(dataset.images[i].class.as_str())).collect();
    let labels: Int32Array = rows.iter().map(|&i| dataset.images[i].label).collect();
    let splits: StringArray = rows.iter().map(|&i| assignment[i]).collect();
    let hashes: StringArray = rows.iter().map(|&i| Some(dataset.images[i].hash.to_hex())).collect();

    let metadata = HashMap::from([(
        "flawprobe.classes".to_string(),
        serde_json::to_string(&dataset.classes)?,
    )]);
    let schema = Schema::new(vec![
        Field::new("image_id", DataType::UInt32, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("class", DataType::Utf8, false),
        Field::new("label", DataType::Int32, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("hash", DataType::Utf8, false),
    ])
    .with_metadata(metadata);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(image_ids),
        Arc::new(paths),
        Arc::new(classes),
        Arc::new(labels),
        Arc::new(splits),
        Arc::new(hashes),
    ];
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

/// The rows of a `split.arrow` file.
#[derive(Debug, Clone)]
pub struct SplitTable {
    pub paths: Vec<String>,
    pub classes: Vec<String>,
    pub labels: Vec<i32>,
    pub splits: Vec<String>,
    pub hashes: Vec<String>,
    /// Class names, indexed by label.
    pub class_names: Vec<String>,
}

impl SplitTable {
    /// Reads `split.arrow`; row `i` is image id `i`.
    pub fn read(path: &std::path::Path) -> Result<SplitTable> {
        use crate::table::column;
        let batch = crate::table::read(path)?;
        let ids = column::<UInt32Array>(&batch, "image_id", path)?;
        if ids.values().iter().enumerate().any(|(row, &id)| id as usize != row) {
            bail!("{}: image_id is not 0, 1, 2, … in row order", path.display());
        }
        let strings = |name: &str| -> Result<Vec<String>> {
            let array = column::<StringArray>(&batch, name, path)?;
            Ok(array.iter().map(|value| value.unwrap_or_default().to_string()).collect())
        };
        let class_names = batch
            .schema()
            .metadata()
            .get("flawprobe.classes")
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default();
        Ok(SplitTable {
            paths: strings("path")?,
            classes: strings("class")?,
            labels: column::<Int32Array>(&batch, "label", path)?.values().to_vec(),
            splits: strings("split")?,
            hashes: strings("hash")?,
            class_names,
        })
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Image ids of the rows in one split.
    pub fn rows_in(&self, split: &str) -> Vec<usize> {
        (0..self.len()).filter(|&i| self.splits[i] == split).collect()
    }
}
