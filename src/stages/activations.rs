//! Stage `activations`: globally average-pooled activations of each tap of
//! one checkpoint, for the images of the listed splits, computed in the
//! libtorch worker in evaluation mode without gradients.
//!
//! Writes `acts-<tap>.arrow` per tap: `image_id` (UInt32) and `activation`
//! (FixedSizeList of Float32, the tap's channel count).

use anyhow::Result;
use serde::Serialize;

use super::worker::{arg, run_worker};
use crate::engine::{Resource, Stage, StageContext};

#[derive(Debug, Clone, Serialize)]
pub struct ActivationsStage {
    pub model: String,
    pub image_size: i64,
    pub num_classes: i64,
    /// The checkpoint file, relative to the `model` input's entry.
    pub checkpoint: String,
    pub taps: Vec<String>,
    pub splits: Vec<String>,
    pub batch_size: usize,
    #[serde(skip)]
    pub device: String,
    #[serde(skip)]
    pub threads: usize,
}

/// File name of one tap's activations.
pub fn activation_file(tap: &str) -> String {
    format!("acts-{tap}.arrow")
}

impl Stage for ActivationsStage {
    fn name(&self) -> &'static str {
        "activations"
    }

    fn version(&self) -> u32 {
        1
    }

    fn params(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn resource(&self) -> Resource {
        Resource::Torch
    }

    fn device(&self) -> String {
        self.device.clone()
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<()> {
        let config = serde_json::json!({
            "model": self.model,
            "image_size": self.image_size,
            "num_classes": self.num_classes,
            "splits": self.splits,
            "taps": self.taps,
            "device": self.device,
            "batch_size": self.batch_size,
            "threads": self.threads,
        });
        let config_path = ctx.scratch_dir()?.join("config.json");
        std::fs::write(&config_path, serde_json::to_string_pretty(&config)?)?;
        run_worker(&[
            "activations".into(),
            "--config".into(),
            arg(&config_path),
            "--checkpoint".into(),
            arg(&ctx.input_file("model", &self.checkpoint)?),
            "--images".into(),
            arg(&ctx.input_file("decode", super::decode::FILE)?),
            "--split".into(),
            arg(&ctx.input_file("split", super::split::FILE)?),
            "--out".into(),
            arg(ctx.out_dir()),
        ])
    }
}
