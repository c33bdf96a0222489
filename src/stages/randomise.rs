//! Stage `randomise`: cascading randomisation of a trained network (as in
//! Adebayo et al., "Sanity checks for saliency maps", NeurIPS 2018). For
//! each listed tap, the layers from the head down to that tap's block are
//! re-initialised with fresh seeded weights, giving one model per tap.
//!
//! Writes `randomised-<tap>.safetensors` per tap.

use anyhow::Result;
use serde::Serialize;

use super::worker::{arg, run_worker};
use crate::engine::{Resource, Stage, StageContext};

#[derive(Debug, Clone, Serialize)]
pub struct RandomiseStage {
    pub model: String,
    pub num_classes: i64,
    /// The trained checkpoint, relative to the train entry.
    pub checkpoint: String,
    pub taps: Vec<String>,
    pub seed: u64,
}

/// File name of the model randomised down to `tap`.
pub fn randomised_file(tap: &str) -> String {
    format!("randomised-{tap}.safetensors")
}

impl Stage for RandomiseStage {
    fn name(&self) -> &'static str {
        "randomise"
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

    fn run(&self, ctx: &StageContext<'_>) -> Result<()> {
        run_worker(&[
            "randomise".into(),
            "--model".into(),
            self.model.clone(),
            "--num-classes".into(),
            self.num_classes.to_string(),
            "--checkpoint".into(),
            arg(&ctx.input_file("model", &self.checkpoint)?),
            "--tap".into(),
            self.taps.join(","),
            "--seed".into(),
            self.seed.to_string(),
            "--out-dir".into(),
            arg(ctx.out_dir()),
        ])
    }
}
