//! The networks flawprobe trains, breaks and probes.
//!
//! Each architecture is a struct of named layers that implements
//! [`TappedModel`]: a forward pass that also returns the activations of the
//! requested taps (the layers whose outputs are probed), and the list of
//! layer groups from the head down, which cascading randomisation walks.
//!
//! Variable-store paths follow the layer names of the reference
//! implementations (`mixed0/branch1x1/conv/weight`, `predictions/bias`, …),
//! so that a checkpoint reads as a map from layer to tensor.

mod inception;
mod layers;
mod small_cnn;

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

pub use inception::InceptionV3;
pub use small_cnn::SmallCnn;

/// An architecture flawprobe can build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelKind {
    /// Four conv–BN–ReLU–max-pool blocks and a linear head, for CPUs.
    #[serde(rename = "small-cnn")]
    SmallCnn,
    /// Keras' InceptionV3 without the auxiliary head.
    #[serde(rename = "inception-v3")]
    InceptionV3,
}

impl ModelKind {
    /// The name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::SmallCnn => "small-cnn",
            ModelKind::InceptionV3 => "inception-v3",
        }
    }

    /// The smallest square input side, in pixels, the architecture accepts.
    pub fn min_image_size(self) -> i64 {
        match self {
            ModelKind::SmallCnn => small_cnn::MIN_IMAGE_SIZE,
            ModelKind::InceptionV3 => inception::MIN_IMAGE_SIZE,
        }
    }

    /// Checks that an input of `image_size`² pixels fits the architecture.
    pub fn check_image_size(self, image_size: i64) -> Result<()> {
        let min = self.min_image_size();
        if image_size < min {
            bail!(
                "image size {image_size} is too small for {}: it needs at least {min} pixels",
                self.name()
            );
        }
        Ok(())
    }

    /// Builds the network with its variables under `path`, freshly
    /// initialised from libtorch's global generator (seed it with
    /// [`tch::manual_seed`] first for a reproducible network).
    pub fn build(self, path: &nn::Path, num_classes: i64) -> Box<dyn TappedModel> {
        match self {
            ModelKind::SmallCnn => Box::new(SmallCnn::new(path, num_classes)),
            ModelKind::InceptionV3 => Box::new(InceptionV3::new(path, num_classes)),
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "small-cnn" => Ok(ModelKind::SmallCnn),
            "inception-v3" => Ok(ModelKind::InceptionV3),
            other => bail!("unknown model {other:?} (expected small-cnn or inception-v3)"),
        }
    }
}

/// A group of layers that cascading randomisation re-initialises together:
/// the head, one block, or the stem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerGroup {
    /// The group's name, which is also its variable-store prefix.
    pub name: String,
    /// The tap whose activation is this group's output, if it has one.
    pub tap: Option<String>,
}

impl LayerGroup {
    /// Whether the variable `var_name` (a full variable-store path) belongs
    /// to this group.
    pub fn owns(&self, var_name: &str) -> bool {
        var_name
            .strip_prefix(self.name.as_str())
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('/'))
    }
}

/// A network whose intermediate activations can be read by tap name.
pub trait TappedModel {
    /// Runs the network on `x` (N×3×H×W, normalised) and returns the logits
    /// (N×classes) and the activations (N×C×h×w) of the requested `taps`,
    /// in the order given. `train` selects batch statistics in batch
    /// normalisation (and updates the running statistics).
    ///
    /// An unknown tap name is an error; check names with [`tap_names`].
    ///
    /// [`tap_names`]: TappedModel::tap_names
    fn forward_taps(
        &self,
        x: &Tensor,
        train: bool,
        taps: &[String],
    ) -> Result<(Tensor, Vec<(String, Tensor)>)>;

    /// All taps, from the input side to the head.
    fn tap_names(&self) -> Vec<String>;

    /// The layer groups from the head down to the stem.
    fn layers_top_down(&self) -> Vec<LayerGroup>;
}

/// Checks that every requested tap is one the model has.
pub fn check_taps(model: &dyn TappedModel, taps: &[String]) -> Result<()> {
    let known = model.tap_names();
    for tap in taps {
        if !known.contains(tap) {
            bail!("unknown tap {tap:?} (this model has {})", known.join(", "));
        }
    }
    Ok(())
}

/// Keeps the activations of the requested taps during a forward pass, so
/// that the others are freed as soon as the next layer has used them.
struct TapCollector<'a> {
    wanted: &'a [String],
    seen: Vec<String>,
    kept: Vec<(String, Tensor)>,
}

impl<'a> TapCollector<'a> {
    fn new(wanted: &'a [String]) -> Self {
        TapCollector { wanted, seen: Vec::new(), kept: Vec::new() }
    }

    /// Records that the layer `name` produced `activation`.
    fn offer(&mut self, name: &str, activation: &Tensor) {
        self.seen.push(name.to_string());
        if self.wanted.iter().any(|tap| tap == name) {
            self.kept.push((name.to_string(), activation.shallow_clone()));
        }
    }

    /// Returns the kept activations in the order the taps were requested.
    fn finish(mut self) -> Result<Vec<(String, Tensor)>> {
        let mut ordered = Vec::with_capacity(self.wanted.len());
        for tap in self.wanted {
            let Some(pos) = self.kept.iter().position(|(name, _)| name == tap) else {
                bail!("unknown tap {tap:?} (this model has {})", self.seen.join(", "));
            };
            let (_, act) = &self.kept[pos];
            ordered.push((tap.clone(), act.shallow_clone()));
        }
        self.kept.clear();
        Ok(ordered)
    }
}
