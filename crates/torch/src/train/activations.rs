//! Activation dumps: the globally average-pooled output of each tap for
//! the probe images.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use arrow::array::{ArrayRef, FixedSizeListArray, Float32Array, RecordBatch, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind};

use super::data::{read_split, Images};
use super::fit::load_model;
use super::{configure_runtime, parse_device};
use crate::models::{check_taps, ModelKind};
use flawprobe::table;

/// What to dump and where to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationConfig {
    pub model: ModelKind,
    pub image_size: i64,
    pub num_classes: i64,
    /// The splits whose images are probed; default `val` and `test`.
    #[serde(default = "default_splits")]
    pub splits: Vec<String>,
    pub taps: Vec<String>,
    #[serde(default = "default_device")]
    pub device: String,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Intra-op threads for libtorch; 0 keeps libtorch's default.
    #[serde(default)]
    pub threads: usize,
}

fn default_splits() -> Vec<String> {
    vec!["val".to_string(), "test".to_string()]
}

fn default_device() -> String {
    "auto".to_string()
}

fn default_batch_size() -> usize {
    64
}

/// Runs the images of `cfg.splits` (in `image_id` order) through the
/// checkpoint in evaluation mode without gradients, and writes
/// `out_dir/acts-<tap>.arrow` for each tap: columns `image_id` (UInt32)
/// and `activation` (FixedSizeList<Float32> of the tap's channel count),
/// the tap's output averaged over its spatial positions.
pub fn dump_activations(
    cfg: &ActivationConfig,
    checkpoint: &Path,
    images_path: &Path,
    split_path: &Path,
    out_dir: &Path,
) -> Result<()> {
    if cfg.batch_size == 0 {
        bail!("batch_size must be at least 1");
    }
    cfg.model.check_image_size(cfg.image_size)?;
    let device = parse_device(&cfg.device)?;
    configure_runtime(device, cfg.threads);

    let images = Images::read(images_path)?;
    if images.size != cfg.image_size {
        bail!("{}: images are {} pixels wide, expected {}", images_path.display(), images.size, cfg.image_size);
    }
    let wanted: HashSet<&str> = cfg.splits.iter().map(String::as_str).collect();
    let mut probe: Vec<u32> = read_split(split_path)?
        .into_iter()
        .filter(|r| wanted.contains(r.split.as_str()))
        .map(|r| r.image_id)
        .collect();
    probe.sort_unstable();
    let rows = probe.iter().map(|&id| images.row(id, split_path)).collect::<Result<Vec<_>>>()?;

    let (_vs, model) = load_model(cfg.model, cfg.num_classes, checkpoint, device)?;
    check_taps(model.as_ref(), &cfg.taps)?;

    let mut pooled: Vec<Vec<f32>> = vec![Vec::new(); cfg.taps.len()];
    let mut channels = vec![0i64; cfg.taps.len()];
    let bar = ProgressBar::new(rows.len() as u64);
    for batch in rows.chunks(cfg.batch_size) {
        let x = images.batch(batch, None, device);
        let (_, acts) = tch::no_grad(|| model.forward_taps(&x, false, &cfg.taps))?;
        for (i, (_, act)) in acts.iter().enumerate() {
            let gap = act.mean_dim([2i64, 3].as_slice(), false, Kind::Float).to_device(Device::Cpu);
            channels[i] = gap.size()[1];
            pooled[i].extend(Vec::<f32>::try_from(gap.flatten(0, -1))?);
        }
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();

    fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    for (i, tap) in cfg.taps.iter().enumerate() {
        let path = out_dir.join(format!("acts-{tap}.arrow"));
        write_activations(&path, tap, &probe, channels[i], std::mem::take(&mut pooled[i]))?;
    }
    Ok(())
}

fn write_activations(path: &Path, tap: &str, ids: &[u32], channels: i64, values: Vec<f32>) -> Result<()> {
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let list = FixedSizeListArray::try_new(item.clone(), channels as i32, Arc::new(Float32Array::from(values)), None)
        .with_context(|| format!("cannot build the activations of {tap}"))?;
    let metadata = [
        ("flawprobe.tap".to_string(), tap.to_string()),
        ("flawprobe.pooling".to_string(), "gap".to_string()),
    ];
    let schema = Arc::new(
        Schema::new(vec![
            Field::new("image_id", DataType::UInt32, false),
            Field::new("activation", DataType::FixedSizeList(item, channels as i32), false),
        ])
        .with_metadata(metadata.into_iter().collect::<std::collections::HashMap<_, _>>()),
    );
    let columns: Vec<ArrayRef> = vec![Arc::new(UInt32Array::from(ids.to_vec())), Arc::new(list)];
    table::write(path, &RecordBatch::try_new(schema, columns)?)
}
