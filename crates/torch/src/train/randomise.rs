//! Cascading randomisation (Adebayo, Gilmer, Muelly, Goodfellow, Hardt
//! and Kim, "Sanity checks for saliency maps", NeurIPS 2018): a trained
//! network's layers are re-initialised from the head down to a chosen
//! layer, leaving the layers below it trained.

use std::path::Path;

use anyhow::{bail, Context, Result};
use tch::{nn, Device};

use super::fit::load_model;
use super::resume::write_checkpoint;
use crate::models::ModelKind;

/// Re-initialises the head and every block from the top down to and
/// including the block whose output is `down_to_tap`, and writes the result
/// to `out`. Blocks below that tap, and the stem, keep their trained
/// values. Returns the names of the layer groups re-initialised, head first.
///
/// Every variable of a re-initialised group is reset to what a fresh
/// network built after `tch::manual_seed(seed)` holds: weights and biases
/// drawn anew, batch-normalisation running mean 0 and variance 1. With one
/// `seed`, the cascade for a lower tap re-initialises a superset of the
/// variables of a higher one, to the same values.
pub fn randomise_cascade(
    model: ModelKind,
    num_classes: i64,
    checkpoint: &Path,
    down_to_tap: &str,
    seed: u64,
    out: &Path,
) -> Result<Vec<String>> {
    let (trained, network) = load_model(model, num_classes, checkpoint, Device::Cpu)?;
    let groups = network.layers_top_down();
    let Some(last) = groups.iter().position(|g| g.tap.as_deref() == Some(down_to_tap)) else {
        bail!("unknown tap {down_to_tap:?} for {model} (it has {})", network.tap_names().join(", "));
    };
    let groups = &groups[..=last];

    tch::manual_seed(seed as i64);
    let fresh = nn::VarStore::new(Device::Cpu);
    let _fresh_network = model.build(&fresh.root(), num_classes);
    let fresh_vars = fresh.variables();

    tch::no_grad(|| -> Result<()> {
        for (name, mut var) in trained.variables() {
            if !groups.iter().any(|g| g.owns(&name)) {
                continue;
            }
            let src = fresh_vars.get(&name).with_context(|| format!("fresh {model} has no variable {name}"))?;
            var.f_copy_(src).with_context(|| format!("cannot reset variable {name}"))?;
        }
        Ok(())
    })?;

    write_checkpoint(out, &trained)?;
    Ok(groups.iter().map(|g| g.name.clone()).collect())
}
