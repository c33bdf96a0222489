//! Stage `train`: trains one network from scratch on the (possibly
//! corrupted) training labels, in the libtorch worker.
//!
//! Writes `checkpoints/epoch-NNNN.safetensors` at the listed epochs (epoch
//! 0 is the untrained network) and `log.arrow` with one row per epoch
//! (loss, training accuracy on the training labels, validation accuracy on
//! true labels, accuracy on changed and unchanged training rows). A run
//! that is killed resumes from its last epoch: the worker keeps its state
//! in the instance's scratch folder, which survives until the entry commits.

use anyhow::Result;
use serde::Serialize;

use super::worker::{arg, run_worker};
use crate::engine::{Resource, Stage, StageContext};

pub const LOG_FILE: &str = "log.arrow";

/// The training settings that determine the weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainParams {
    pub model: String,
    pub image_size: i64,
    pub num_classes: i64,
    pub optimizer: String,
    pub lr: f64,
    /// `constant` or `cosine`.
    pub lr_schedule: String,
    pub momentum: f64,
    pub weight_decay: f64,
    pub batch_size: usize,
    pub epochs: u32,
    pub checkpoint_epochs: Vec<u32>,
    pub augment: bool,
    pub seed: u64,
}

pub struct TrainStage {
    pub params: TrainParams,
    /// `auto`, `cpu` or `cuda:N`; not part of the key.
    pub device: String,
    /// libtorch intra-op threads (0: its default); not part of the key.
    pub threads: usize,
}

/// File name of a checkpoint inside a train entry.
pub fn checkpoint_file(epoch: u32) -> String {
    format!("checkpoints/epoch-{epoch:04}.safetensors")
}

impl Stage for TrainStage {
    fn name(&self) -> &'static str {
        "train"
    }

    /// Bump it whenever the models or the training loop in `crates/torch`
    /// change what they compute, since neither is part of the parameters.
    fn version(&self) -> u32 {
        1
    }

    fn params(&self) -> serde_json::Value {
        serde_json::to_value(&self.params).unwrap_or_default()
    }

    fn resource(&self) -> Resource {
        Resource::Torch
    }

    fn device(&self) -> String {
        self.device.clone()
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<()> {
        let scratch = ctx.scratch_dir()?;
        let mut config = serde_json::to_value(&self.params)?;
        config["device"] = self.device.clone().into();
        config["threads"] = self.threads.into();
        let config_path = scratch.join("config.json");
        std::fs::write(&config_path, serde_json::to_string_pretty(&config)?)?;
        run_worker(&[
            "train".into(),
            "--config".into(),
            arg(&config_path),
            "--split".into(),
            arg(&ctx.input_file("split", super::split::FILE)?),
            "--images".into(),
            arg(&ctx.input_file("decode", super::decode::FILE)?),
            "--labels".into(),
            arg(&ctx.input_file("labels", super::permute::FILE)?),
            "--work-dir".into(),
            arg(&scratch.join("work")),
            "--out".into(),
            arg(ctx.out_dir()),
        ])
    }
}
