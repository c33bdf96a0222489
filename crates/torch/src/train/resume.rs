//! The resume state a training run keeps in its work directory.
//!
//! After every epoch the run writes `state-NNNN.safetensors` (weights,
//! running statistics and optimiser moments) and then `state.json`, which
//! names that file and holds the epoch, the optimiser's step count, the
//! config and the log so far. Both are written to a temporary name and
//! renamed, and `state.json` only ever names a complete tensor file, so a
//! run killed at any moment leaves the previous epoch's state intact. The
//! shuffling and augmentation of an epoch are drawn from a generator seeded
//! by (seed, epoch), so the state needs no generator state.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use super::log::LogRow;
use super::optim::Optimizer;
use super::TrainConfig;

const STATE_FILE: &str = "state.json";

/// The bookkeeping half of the resume state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResumeState {
    /// The last finished epoch.
    pub epoch: u32,
    /// Optimiser steps taken up to the end of `epoch`.
    pub step: i64,
    pub config: TrainConfig,
    pub log: Vec<LogRow>,
    /// The tensor file, relative to the work directory.
    pub tensors: String,
}

/// Reads the resume state of `work_dir`, if there is one.
pub fn load_state(work_dir: &Path) -> Result<Option<ResumeState>> {
    let path = work_dir.join(STATE_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let state = serde_json::from_str(&text)
        .with_context(|| format!("{}: invalid resume state; delete the work directory to start over", path.display()))?;
    Ok(Some(state))
}

/// Restores the weights and optimiser moments that `state` names.
pub fn restore(work_dir: &Path, state: &ResumeState, vs: &mut nn::VarStore, optimizer: &mut Optimizer) -> Result<()> {
    let path = work_dir.join(&state.tensors);
    let tensors: HashMap<String, Tensor> = Tensor::read_safetensors(&path)
        .with_context(|| format!("cannot read resume tensors {}", path.display()))?
        .into_iter()
        .collect();
    let mut model = HashMap::new();
    let mut moments = HashMap::new();
    for (name, tensor) in tensors {
        if let Some(var) = name.strip_prefix("model/") {
            model.insert(var.to_string(), tensor);
        } else if let Some(moment) = name.strip_prefix("optimizer/") {
            moments.insert(moment.to_string(), tensor);
        }
    }
    tch::no_grad(|| -> Result<()> {
        for (name, mut var) in vs.variables() {
            let src = model
                .get(&name)
                .with_context(|| format!("{}: variable {name} is missing", path.display()))?;
            var.f_copy_(src).with_context(|| format!("{}: variable {name}", path.display()))?;
        }
        Ok(())
    })?;
    optimizer
        .load_state(&moments, state.step)
        .with_context(|| format!("cannot restore the optimiser from {}", path.display()))
}

/// Writes the state after `state.epoch`, then removes older tensor files.
pub fn save_state(work_dir: &Path, state: &ResumeState, vs: &nn::VarStore, optimizer: &Optimizer) -> Result<()> {
    let mut named: Vec<(String, Tensor)> =
        vs.variables().into_iter().map(|(name, t)| (format!("model/{name}"), t)).collect();
    named.extend(optimizer.state().into_iter().map(|(name, t)| (format!("optimizer/{name}"), t)));
    write_tensors(&work_dir.join(&state.tensors), &mut named)?;

    let json = serde_json::to_string_pretty(state)?;
    write_atomically(&work_dir.join(STATE_FILE), json.as_bytes())?;

    for entry in fs::read_dir(work_dir).with_context(|| format!("cannot list {}", work_dir.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with("state-") && name.ends_with(".safetensors") && name != state.tensors {
            let old = work_dir.join(&name);
            fs::remove_file(&old).with_context(|| format!("cannot remove {}", old.display()))?;
        }
    }
    Ok(())
}

/// Names the tensor file of the state after `epoch`.
pub fn tensor_file_name(epoch: u32) -> String {
    format!("state-{epoch:04}.safetensors")
}

/// Writes named tensors, sorted by name, to a safetensors file through a
/// temporary file and a rename.
pub fn write_tensors(path: &Path, named: &mut [(String, Tensor)]) -> Result<()> {
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let contiguous: Vec<(&str, Tensor)> = named.iter().map(|(n, t)| (n.as_str(), t.contiguous())).collect();
    let tmp = temporary_path(path)?;
    Tensor::write_safetensors(&contiguous, &tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

/// Writes all variables of `vs` as a checkpoint at `path`.
pub fn write_checkpoint(path: &Path, vs: &nn::VarStore) -> Result<()> {
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    write_tensors(path, &mut named)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_path(path)?;
    fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

fn temporary_path(path: &Path) -> Result<PathBuf> {
    let Some(name) = path.file_name() else {
        bail!("{} has no file name", path.display());
    };
    Ok(path.with_file_name(format!(".{}.tmp", name.to_string_lossy())))
}
