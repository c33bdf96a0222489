//! Stage `decode`: the pixels the network sees. Every image of the split is
//! loaded as 8-bit RGB, resized so its shorter side is `size` (bilinear)
//! and centre-cropped to `size` × `size`.
//!
//! Writes `images.arrow`: `image_id` (UInt32, as in `split.arrow`) and
//! `pixels` (FixedSizeBinary of `size * size * 3` bytes, RGB, rows top to
//! bottom). Schema metadata: `flawprobe.size`, and `flawprobe.mean` and
//! `flawprobe.std` (JSON lists of three numbers, per channel in 0..1 pixel
//! units, over the training split) used to normalise the network's input.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use arrow::array::{Array, ArrayRef, FixedSizeBinaryArray, RecordBatch, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use rayon::prelude::*;
use serde::Serialize;

use super::split::{SplitTable, FILE as SPLIT_FILE};
use crate::engine::{Stage, StageContext};
use crate::imageio;

pub const FILE: &str = "images.arrow";

/// Resize-and-crop to a square of `size` pixels.
#[derive(Debug, Clone, Serialize)]
pub struct DecodeStage {
    pub size: u32,
    /// The resize rule, named so that a future rule gets a new key.
    pub rule: &'static str,
    /// Where the split's relative paths point; not part of the key, since
    /// the split's key already covers every image's content.
    #[serde(skip)]
    pub images_root: PathBuf,
}

/// The only resize rule at present.
pub const RESIZE_RULE: &str = "shorter-side-bilinear-center-crop";

impl DecodeStage {
    pub fn new(size: u32, images_root: PathBuf) -> Result<DecodeStage> {
        if !(8..=1024).contains(&size) {
            bail!("decode.size = {size} is outside 8..=1024 pixels");
        }
        Ok(DecodeStage { size, rule: RESIZE_RULE, images_root })
    }
}

impl Stage for DecodeStage {
    fn name(&self) -> &'static str {
        "decode"
    }

    fn version(&self) -> u32 {
        1
    }

    fn params(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<()> {
        let split = SplitTable::read(&ctx.input_file("split", SPLIT_FILE)?)?;
        // NOTE: every decoded image is held in memory until the file is
        // written: about 1.5 GB for the full DTD at 299 px.
        let progress = crate::progress::bar(split.len() as u64, "decode");
        let images = split
            .paths
            .par_iter()
            .map(|relative| {
                let path = self.images_root.join(relative);
                let image = imageio::load_rgb(&path)?;
                progress.inc(1);
                Ok(imageio::resize_shorter_center_crop(&image, self.size).pixels)
            })
            .collect::<Result<Vec<Vec<u8>>>>()?;
        progress.finish_and_clear();

        let (mean, std) = channel_statistics(&images, &split.rows_in("train"));
        let metadata = HashMap::from([
            ("flawprobe.size".to_string(), self.size.to_string()),
            ("flawprobe.mean".to_string(), serde_json::to_string(&mean)?),
            ("flawprobe.std".to_string(), serde_json::to_string(&std)?),
        ]);
        let width = (self.size * self.size * 3) as i32;
        let schema = Schema::new(vec![
            Field::new("image_id", DataType::UInt32, false),
            Field::new("pixels", DataType::FixedSizeBinary(width), false),
        ])
        .with_metadata(metadata);
        let pixels = FixedSizeBinaryArray::try_from_iter(images.iter())
            .context("cannot pack the decoded pixels")?;
        let columns: Vec<ArrayRef> = vec![
            Arc::new((0..split.len() as u32).collect::<UInt32Array>()),
            Arc::new(pixels),
        ];
        let batch = RecordBatch::try_new(Arc::new(schema), columns)?;
        crate::table::write(&ctx.out_dir().join(FILE), &batch)
    }
}

/// Per-channel mean and population standard deviation of the given rows'
/// pixels, in 0..1 units. All images when `rows` is empty.
fn channel_statistics(images: &[Vec<u8>], rows: &[usize]) -> ([f64; 3], [f64; 3]) {
    let all: Vec<usize>;
    let rows = if rows.is_empty() {
        all = (0..images.len()).collect();
        &all
    } else {
        rows
    };
    let mut sum = [0f64; 3];
    let mut sum_sq = [0f64; 3];
    let mut count = 0f64;
    for &row in rows {
        for pixel in images[row].chunks_exact(3) {
            for channel in 0..3 {
                let value = pixel[channel] as f64 / 255.0;
                sum[channel] += value;
                sum_sq[channel] += value * value;
            }
            count += 1.0;
        }
    }
    let mut mean = [0f64; 3];
    let mut std = [1f64; 3];
    if count > 0.0 {
        for channel in 0..3 {
            mean[channel] = sum[channel] / count;
            let variance = (sum_sq[channel] / count - mean[channel] * mean[channel]).max(0.0);
            // A constant channel keeps scale 1 instead of dividing by zero.
            std[channel] = if variance > 0.0 { variance.sqrt() } else { 1.0 };
        }
    }
    (mean, std)
}

/// The decoded images of an `images.arrow` file.
pub struct DecodedImages {
    pub size: usize,
    pixels: FixedSizeBinaryArray,
}

impl DecodedImages {
    pub fn read(path: &std::path::Path) -> Result<DecodedImages> {
        let batch = crate::table::read(path)?;
        let pixels = crate::table::column::<FixedSizeBinaryArray>(&batch, "pixels", path)?.clone();
        let size = batch
            .schema()
            .metadata()
            .get("flawprobe.size")
            .and_then(|s| s.parse::<usize>().ok())
            .with_context(|| format!("{}: missing schema metadata flawprobe.size", path.display()))?;
        Ok(DecodedImages { size, pixels })
    }

    pub fn len(&self) -> usize {
        self.pixels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }

    /// The RGB bytes of image `image_id`.
    pub fn pixels(&self, image_id: usize) -> &[u8] {
        self.pixels.value(image_id)
    }
}
