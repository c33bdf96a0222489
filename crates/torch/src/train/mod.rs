//! Training the flawed variants, cascading randomisation and activation
//! dumps: the library side of the `flawprobe-torch` worker binary.
//!
//! The main `flawprobe` binary never calls into this module (libtorch
//! slows its start-up); its train and activations stages spawn
//! `flawprobe-torch`, which does.

mod activations;
mod bench;
pub mod data;
mod fit;
mod log;
pub mod optim;
mod randomise;
mod resume;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::models::ModelKind;

pub use activations::{dump_activations, ActivationConfig};
pub use bench::{measure_throughput, Throughput};
pub use fit::train;
pub use log::LogRow;
pub use optim::OptimizerKind;
pub use randomise::randomise_cascade;

/// Everything that decides what a training run computes, plus where it
/// runs (`device`, `threads`), which does not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub model: ModelKind,
    /// Input side in pixels; must equal the `flawprobe.size` of the images.
    pub image_size: i64,
    pub num_classes: i64,
    pub optimizer: OptimizerKind,
    /// Learning rate, > 0.
    pub lr: f64,
    /// How the learning rate changes over epochs.
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// SGD momentum in [0, 1); ignored by Adam.
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// L2 penalty added to the gradient (PyTorch's `weight_decay`), ≥ 0.
    #[serde(default)]
    pub weight_decay: f64,
    /// Images per step, ≥ 2 (batch normalisation needs two).
    pub batch_size: usize,
    /// Passes over the training rows.
    pub epochs: u32,
    /// Epochs after which to write a checkpoint; 0 is the untrained network.
    #[serde(default)]
    pub checkpoint_epochs: Vec<u32>,
    /// Random crop and flip of every training image, see
    /// [`data::Augment`]: a shift of up to ⌊(size+4)/8⌋ pixels on each axis
    /// with zero (mean-colour) fill, then a horizontal flip with
    /// probability ½. Evaluation never augments.
    #[serde(default)]
    pub augment: bool,
    pub seed: u64,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    #[serde(default = "default_device")]
    pub device: String,
    /// Intra-op threads for libtorch; 0 keeps libtorch's default.
    #[serde(default)]
    pub threads: usize,
}

/// Learning-rate schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// `lr` throughout.
    #[default]
    Constant,
    /// Cosine annealing from `lr` in the first epoch towards 0 in the last:
    /// epoch e (1-based) of E uses lr · (1 + cos(π (e − 1) / E)) / 2.
    Cosine,
}

impl LrSchedule {
    /// The learning rate of `epoch` (1-based) of `epochs`.
    pub fn lr_at(self, lr: f64, epoch: u32, epochs: u32) -> f64 {
        match self {
            LrSchedule::Constant => lr,
            LrSchedule::Cosine => {
                let progress = f64::from(epoch.saturating_sub(1)) / f64::from(epochs.max(1));
                lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

fn default_momentum() -> f64 {
    0.9
}

fn default_device() -> String {
    "auto".to_string()
}

impl TrainConfig {
    /// Checks ranges that would otherwise fail deep inside a run.
    pub fn validate(&self) -> Result<()> {
        self.model.check_image_size(self.image_size)?;
        if self.num_classes < 1 {
            bail!("num_classes is {}, expected at least 1", self.num_classes);
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            bail!("lr is {}, expected a positive number", self.lr);
        }
        if !(0.0..1.0).contains(&self.momentum) {
            bail!("momentum is {}, expected a value in [0, 1)", self.momentum);
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            bail!("weight_decay is {}, expected a number ≥ 0", self.weight_decay);
        }
        if self.batch_size < 2 {
            bail!("batch_size is {}, expected at least 2", self.batch_size);
        }
        if let Some(&late) = self.checkpoint_epochs.iter().find(|&&e| e > self.epochs) {
            bail!("checkpoint epoch {late} is after the last epoch {}", self.epochs);
        }
        parse_device(&self.device)?;
        Ok(())
    }

    /// Whether `other` computes the same thing (device and threads may
    /// differ), so that a resume state written under it can be continued.
    pub fn same_run(&self, other: &TrainConfig) -> bool {
        let strip = |c: &TrainConfig| TrainConfig { device: String::new(), threads: 0, ..c.clone() };
        strip(self) == strip(other)
    }
}

/// Parses `auto` (CUDA when libtorch sees a GPU, else CPU), `cpu`, `cuda`
/// (the first GPU) or `cuda:N`.
pub fn parse_device(text: &str) -> Result<Device> {
    match text {
        "auto" => return Ok(Device::cuda_if_available()),
        "cpu" => return Ok(Device::Cpu),
        _ => {}
    }
    let index = match text.strip_prefix("cuda") {
        Some("") => 0,
        Some(rest) => rest
            .strip_prefix(':')
            .and_then(|n| n.parse::<usize>().ok())
            .with_context(|| format!("invalid device {text:?} (expected auto, cpu, cuda or cuda:N)"))?,
        None => bail!("invalid device {text:?} (expected auto, cpu, cuda or cuda:N)"),
    };
    let count = tch::Cuda::device_count() as usize;
    if index >= count {
        bail!("device {text:?} is not available: libtorch sees {count} CUDA device(s)");
    }
    Ok(Device::Cuda(index))
}

/// Applies a thread count (0 keeps libtorch's default) and, on CUDA,
/// disables cuDNN's benchmark mode, whose kernel choice varies between runs.
pub fn configure_runtime(device: Device, threads: usize) {
    if threads > 0 {
        tch::set_num_threads(threads as i32);
    }
    if device.is_cuda() {
        tch::Cuda::cudnn_set_benchmark(false);
    }
}

/// Formats a checkpoint file name: `epoch-0005.safetensors`.
pub fn checkpoint_name(epoch: u32) -> String {
    format!("epoch-{epoch:04}.safetensors")
}
