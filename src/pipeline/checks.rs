//! Checks of the model half of a pipeline file, made before anything runs,
//! so a typo fails at once with the file, section and key instead of after
//! the stages above it have computed. The torch worker checks again.

use anyhow::{bail, Result};

use super::config::PipelineFile;
use crate::probe::ProbeKind;
use crate::stages::split::SPLITS;

const SMALL_CNN_TAPS: [&str; 4] = ["block1", "block2", "block3", "block4"];

/// Tap names of an architecture, or `None` for an unknown one.
fn taps_of(model: &str) -> Option<Vec<String>> {
    match model {
        "small-cnn" => Some(SMALL_CNN_TAPS.iter().map(|t| t.to_string()).collect()),
        "inception-v3" => Some((0..=10).map(|i| format!("mixed{i}")).collect()),
        _ => None,
    }
}

fn is_device(text: &str) -> bool {
    match text {
        "auto" | "cpu" | "cuda" => true,
        _ => text.strip_prefix("cuda:").is_some_and(|n| n.parse::<usize>().is_ok()),
    }
}

fn check_splits(key: &str, splits: &[String]) -> Result<()> {
    if splits.is_empty() {
        bail!("{key} is empty (expected some of \"train\", \"val\", \"test\")");
    }
    if let Some(bad) = splits.iter().find(|s| !SPLITS.contains(&s.as_str())) {
        bail!("{key} contains {bad:?}, which is not one of \"train\", \"val\", \"test\"");
    }
    Ok(())
}

fn check_layers(key: &str, layers: &[String], taps: &[String], model: &str) -> Result<()> {
    if layers.is_empty() {
        bail!("{key} is empty (expected tap names of {model})");
    }
    if let Some(bad) = layers.iter().find(|l| !taps.contains(l)) {
        bail!("{key} contains {bad:?}, which is not a tap of {model} (its taps: {})", taps.join(", "));
    }
    Ok(())
}

/// Checks the `[train]`, `[activations]`, `[randomised]` and `[probe]`
/// sections. Errors name the section and key; the caller adds the file.
pub fn check_model_sections(file: &PipelineFile) -> Result<()> {
    let Some(train) = &file.train else { return Ok(()) };
    let Some(taps) = taps_of(&train.model) else {
        bail!("[train] model = {:?} is not one of \"small-cnn\", \"inception-v3\"", train.model);
    };
    if !["adam", "sgd"].contains(&train.optimizer.as_str()) {
        bail!("[train] optimizer = {:?} is not one of \"adam\", \"sgd\"", train.optimizer);
    }
    if !["constant", "cosine"].contains(&train.lr_schedule.as_str()) {
        bail!("[train] lr_schedule = {:?} is not one of \"constant\", \"cosine\"", train.lr_schedule);
    }
    if !(train.lr > 0.0 && train.lr.is_finite()) {
        bail!("[train] lr = {} must be a positive number", train.lr);
    }
    if train.batch_size < 2 {
        bail!("[train] batch_size = {} must be at least 2 (batch normalisation needs two images)", train.batch_size);
    }
    if train.epochs == 0 {
        bail!("[train] epochs must be at least 1");
    }
    if !is_device(&train.device) {
        bail!("[train] device = {:?} is not one of \"auto\", \"cpu\", \"cuda\", \"cuda:N\"", train.device);
    }

    let Some(acts) = &file.activations else { return Ok(()) };
    check_layers("[activations] layers", &acts.layers, &taps, &train.model)?;
    check_splits("[activations] splits", &acts.splits)?;
    if acts.batch_size == 0 {
        bail!("[activations] batch_size must be at least 1");
    }
    if let Some(randomised) = &file.randomised {
        check_layers("[randomised] layers", &randomised.layers, &taps, &train.model)?;
    }
    let Some(probe) = &file.probe else { return Ok(()) };
    if probe.alphas.is_empty() {
        bail!("[probe] alphas is empty");
    }
    if let Some(bad) = probe.alphas.iter().find(|a| !(**a > 0.0 && a.is_finite())) {
        bail!("[probe] alphas contains {bad}, but every alpha must be a positive number");
    }
    if probe.folds < 2 {
        bail!("[probe] folds = {} must be at least 2", probe.folds);
    }
    if let Some(bad) = probe.probes.iter().find(|p| ProbeKind::parse(p).is_none()) {
        bail!("[probe] probes contains {bad:?}, which is not one of \"ridge\", \"ridge-classifier\", \"logistic\"");
    }
    check_splits("[probe] splits", &probe.splits)?;
    if let Some(missing) = probe.splits.iter().find(|s| !acts.splits.contains(s)) {
        bail!("[probe] splits contains {missing:?}, but [activations] splits does not dump it");
    }
    Ok(())
}
