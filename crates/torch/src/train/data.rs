//! Reading the tables the earlier stages wrote (`split.arrow`,
//! `images.arrow`, `labels.arrow`) and turning pixels into batches.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use arrow::array::{
    BooleanArray, FixedSizeBinaryArray, Int32Array, StringArray, UInt32Array,
};
use rand::Rng;
use tch::{Device, Kind, Tensor};

use flawprobe::table::{self, column};

/// Decoded images: uint8 RGB pixels (H×W×3 per image) and the per-channel
/// mean and standard deviation of the training split, in 0..1 units.
pub struct Images {
    pub size: i64,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pixels: FixedSizeBinaryArray,
    row_of_id: HashMap<u32, usize>,
}

impl Images {
    /// Reads `images.arrow`: columns `image_id` (UInt32) and `pixels`
    /// (FixedSizeBinary(size·size·3)), schema metadata `flawprobe.size`,
    /// `flawprobe.mean` and `flawprobe.std`.
    pub fn read(path: &Path) -> Result<Images> {
        let batch = table::read(path)?;
        let schema = batch.schema();
        let metadata = schema.metadata();
        let meta = |key: &str| {
            metadata
                .get(key)
                .with_context(|| format!("{}: schema metadata {key} is missing", path.display()))
        };
        let size: i64 = meta("flawprobe.size")?
            .parse()
            .with_context(|| format!("{}: flawprobe.size is not an integer", path.display()))?;
        let mean = parse_rgb(meta("flawprobe.mean")?)
            .with_context(|| format!("{}: invalid flawprobe.mean", path.display()))?;
        let std = parse_rgb(meta("flawprobe.std")?)
            .with_context(|| format!("{}: invalid flawprobe.std", path.display()))?;
        if std.iter().any(|&s| s <= 0.0 || !s.is_finite()) {
            bail!("{}: flawprobe.std {std:?} must be positive", path.display());
        }

        let ids = column::<UInt32Array>(&batch, "image_id", path)?;
        let pixels = column::<FixedSizeBinaryArray>(&batch, "pixels", path)?.clone();
        let expected = (size * size * 3) as i32;
        if pixels.value_length() != expected {
            bail!(
                "{}: pixels hold {} bytes per image, expected {expected} for {size}×{size} RGB",
                path.display(),
                pixels.value_length()
            );
        }
        let row_of_id = ids.values().iter().enumerate().map(|(row, &id)| (id, row)).collect();
        Ok(Images { size, mean, std, pixels, row_of_id })
    }

    /// Returns the row holding `image_id`, or an error naming `source`.
    pub fn row(&self, image_id: u32, source: &Path) -> Result<usize> {
        self.row_of_id.get(&image_id).copied().with_context(|| {
            format!("image {image_id} of {} is not in images.arrow", source.display())
        })
    }

    /// Builds a normalised N×3×size×size float batch of the given rows,
    /// transformed by `augment` (one entry per row) when given.
    pub fn batch(&self, rows: &[usize], augment: Option<&[Augment]>, device: Device) -> Tensor {
        let side = self.size as usize;
        let plane = side * side;
        let lut = self.normalisation_table();
        let mut data = vec![0f32; rows.len() * 3 * plane];
        for (i, &row) in rows.iter().enumerate() {
            let src = self.pixels.value(row);
            let out = &mut data[i * 3 * plane..(i + 1) * 3 * plane];
            match augment.map(|a| a[i]) {
                None => copy_plain(src, out, side, &lut),
                Some(aug) => copy_augmented(src, out, side, &lut, aug),
            }
        }
        let size = self.size;
        Tensor::from_slice(&data).view([rows.len() as i64, 3, size, size]).to_device(device)
    }

    /// Maps each byte value of each channel to its normalised float.
    fn normalisation_table(&self) -> [[f32; 256]; 3] {
        let mut lut = [[0f32; 256]; 3];
        for (c, table) in lut.iter_mut().enumerate() {
            for (value, entry) in table.iter_mut().enumerate() {
                *entry = (value as f32 / 255.0 - self.mean[c]) / self.std[c];
            }
        }
        lut
    }
}

/// One image's random transform: a crop offset into the zero-padded image
/// and a horizontal flip.
#[derive(Debug, Clone, Copy)]
pub struct Augment {
    pub dy: i64,
    pub dx: i64,
    pub flip: bool,
}

impl Augment {
    /// Padding on each side for an image of `size` pixels: one eighth of
    /// the side, the 4 pixels of 32 used by the common CIFAR recipe.
    pub fn padding(size: i64) -> i64 {
        (size + 4) / 8
    }

    /// Draws a crop offset in −pad..=pad on each axis and a flip with
    /// probability ½.
    pub fn draw(rng: &mut impl Rng, size: i64) -> Augment {
        let pad = Self::padding(size);
        Augment {
            dy: rng.gen_range(-pad..=pad),
            dx: rng.gen_range(-pad..=pad),
            flip: rng.gen_bool(0.5),
        }
    }
}

fn copy_plain(src: &[u8], out: &mut [f32], side: usize, lut: &[[f32; 256]; 3]) {
    let plane = side * side;
    for p in 0..plane {
        for c in 0..3 {
            out[c * plane + p] = lut[c][src[p * 3 + c] as usize];
        }
    }
}

/// Output pixel (y, x) takes input pixel (y + dy, x' + dx), where x' is x
/// mirrored when flipping; pixels from outside the image are 0 after
/// normalisation, i.e. the training mean colour.
fn copy_augmented(src: &[u8], out: &mut [f32], side: usize, lut: &[[f32; 256]; 3], aug: Augment) {
    let plane = side * side;
    let n = side as i64;
    for y in 0..n {
        let sy = y + aug.dy;
        for x in 0..n {
            let xm = if aug.flip { n - 1 - x } else { x };
            let sx = xm + aug.dx;
            let o = (y * n + x) as usize;
            if sy < 0 || sy >= n || sx < 0 || sx >= n {
                for c in 0..3 {
                    out[c * plane + o] = 0.0;
                }
                continue;
            }
            let s = ((sy * n + sx) * 3) as usize;
            for c in 0..3 {
                out[c * plane + o] = lut[c][src[s + c] as usize];
            }
        }
    }
}

fn parse_rgb(text: &str) -> Result<[f32; 3]> {
    let values: Vec<f32> = serde_json::from_str(text)
        .with_context(|| format!("{text:?} is not a JSON list of three numbers"))?;
    match values.as_slice() {
        &[r, g, b] => Ok([r, g, b]),
        _ => bail!("{text:?} has {} values, expected 3", values.len()),
    }
}

/// One row of `split.arrow`.
#[derive(Debug, Clone)]
pub struct SplitRow {
    pub image_id: u32,
    pub split: String,
    pub label: i32,
}

/// Reads `split.arrow` (columns `image_id`, `split`, `label`).
pub fn read_split(path: &Path) -> Result<Vec<SplitRow>> {
    let batch = table::read(path)?;
    let ids = column::<UInt32Array>(&batch, "image_id", path)?;
    let splits = column::<StringArray>(&batch, "split", path)?;
    let labels = column::<Int32Array>(&batch, "label", path)?;
    Ok((0..batch.num_rows())
        .map(|i| SplitRow {
            image_id: ids.value(i),
            split: splits.value(i).to_string(),
            label: labels.value(i),
        })
        .collect())
}

/// One row of `labels.arrow`: the label an image is trained on and its
/// true class.
#[derive(Debug, Clone)]
pub struct LabelRow {
    pub image_id: u32,
    pub split: String,
    pub true_label: i32,
    pub train_label: i32,
    pub changed: bool,
}

/// Reads `labels.arrow` (columns `image_id`, `split`, `true_label`,
/// `train_label`, `changed`).
pub fn read_labels(path: &Path) -> Result<Vec<LabelRow>> {
    let batch = table::read(path)?;
    let ids = column::<UInt32Array>(&batch, "image_id", path)?;
    let splits = column::<StringArray>(&batch, "split", path)?;
    let true_labels = column::<Int32Array>(&batch, "true_label", path)?;
    let train_labels = column::<Int32Array>(&batch, "train_label", path)?;
    let changed = column::<BooleanArray>(&batch, "changed", path)?;
    Ok((0..batch.num_rows())
        .map(|i| LabelRow {
            image_id: ids.value(i),
            split: splits.value(i).to_string(),
            true_label: true_labels.value(i),
            train_label: train_labels.value(i),
            changed: changed.value(i),
        })
        .collect())
}

/// Returns `labels` as an Int64 tensor on `device`.
pub fn label_tensor(labels: &[i64], device: Device) -> Tensor {
    Tensor::from_slice(labels).to_kind(Kind::Int64).to_device(device)
}
