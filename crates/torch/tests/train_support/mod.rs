//! Synthetic `split.arrow`, `images.arrow` and `labels.arrow` for the
//! training tests: small images whose class is a colour and stripe pattern
//! with seeded noise, so that a network can learn them in a few epochs.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, FixedSizeBinaryArray, Int32Array, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const CLASSES: usize = 4;

/// Paths of a synthetic dataset.
pub struct Synthetic {
    pub split: PathBuf,
    pub images: PathBuf,
    pub labels: PathBuf,
    pub num_images: usize,
}

fn split_of(i: usize) -> &'static str {
    match i % 5 {
        0 => "val",
        1 => "test",
        _ => "train",
    }
}

/// Writes `num_images` images of `size` pixels into `dir`; `corruption` is
/// the fraction of training rows whose label is moved to the next class.
pub fn write_dataset(dir: &Path, num_images: usize, size: usize, corruption: f64) -> Synthetic {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let labels: Vec<i32> = (0..num_images).map(|i| (i / 5 % CLASSES) as i32).collect();
    let splits: Vec<&str> = (0..num_images).map(split_of).collect();

    let mut pixels = Vec::with_capacity(num_images * size * size * 3);
    for &label in &labels {
        for y in 0..size {
            for x in 0..size {
                let stripe = if label % 2 == 0 { (x / 4) % 2 } else { (y / 4) % 2 };
                let base = [(label as usize * 60) % 256, 120 + 60 * stripe, 200 - 40 * (label as usize % 3)];
                for c in base {
                    pixels.push((c as i32 + rng.gen_range(-30..=30)).clamp(0, 255) as u8);
                }
            }
        }
    }

    let ids: Vec<u32> = (0..num_images as u32).collect();
    let split = batch(vec![
        ("image_id", Arc::new(UInt32Array::from(ids.clone())) as ArrayRef),
        ("path", Arc::new(StringArray::from(ids.iter().map(|i| format!("img{i}.png")).collect::<Vec<_>>()))),
        ("class", Arc::new(StringArray::from(labels.iter().map(|l| format!("class{l}")).collect::<Vec<_>>()))),
        ("label", Arc::new(Int32Array::from(labels.clone()))),
        ("split", Arc::new(StringArray::from(splits.clone()))),
        ("hash", Arc::new(StringArray::from(ids.iter().map(|i| format!("{i:064x}")).collect::<Vec<_>>()))),
    ]);

    let images_array = FixedSizeBinaryArray::try_from_iter(pixels.chunks(size * size * 3)).unwrap();
    let metadata: HashMap<String, String> = [
        ("flawprobe.size".to_string(), size.to_string()),
        ("flawprobe.mean".to_string(), "[0.4, 0.55, 0.6]".to_string()),
        ("flawprobe.std".to_string(), "[0.25, 0.2, 0.15]".to_string()),
    ]
    .into_iter()
    .collect();
    let image_schema = Schema::new(vec![
        Field::new("image_id", DataType::UInt32, false),
        Field::new("pixels", DataType::FixedSizeBinary((size * size * 3) as i32), false),
    ])
    .with_metadata(metadata);
    let images = RecordBatch::try_new(
        Arc::new(image_schema),
        vec![Arc::new(UInt32Array::from(ids.clone())), Arc::new(images_array)],
    )
    .unwrap();

    let mut train_labels = labels.clone();
    let mut selected = vec![false; num_images];
    let mut changed = vec![false; num_images];
    for i in 0..num_images {
        if splits[i] == "train" && rng.gen_bool(corruption) {
            selected[i] = true;
            changed[i] = true;
            train_labels[i] = (labels[i] + 1) % CLASSES as i32;
        }
    }
    let label_table = batch(vec![
        ("image_id", Arc::new(UInt32Array::from(ids)) as ArrayRef),
        ("split", Arc::new(StringArray::from(splits))),
        ("true_label", Arc::new(Int32Array::from(labels))),
        ("train_label", Arc::new(Int32Array::from(train_labels))),
        ("selected", Arc::new(BooleanArray::from(selected))),
        ("changed", Arc::new(BooleanArray::from(changed))),
    ]);

    let out = Synthetic {
        split: dir.join("split.arrow"),
        images: dir.join("images.arrow"),
        labels: dir.join("labels.arrow"),
        num_images,
    };
    flawprobe::table::write(&out.split, &split).unwrap();
    flawprobe::table::write(&out.images, &images).unwrap();
    flawprobe::table::write(&out.labels, &label_table).unwrap();
    out
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

/// Counts the images of `split` in the synthetic layout.
pub fn count_split(num_images: usize, split: &str) -> usize {
    (0..num_images).filter(|&i| split_of(i) == split).count()
}

/// The path of the venv's Python, for pyarrow checks.
pub fn python() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python"))
}
