//! Expands the model half of a pipeline: one training run per permute
//! instance, activation dumps of its checkpoints, cascading randomisation
//! of the generalising runs, and the probe and report stages over all of
//! them.

use std::sync::Arc;

use anyhow::{bail, Context, Result};

use super::{Pipeline, Upstream};
use crate::dataset::Dataset;
use crate::engine::{Dag, Input};
use crate::stages::activations::ActivationsStage;
use crate::stages::probe::{ProbeStage, ProbedModel};
use crate::stages::randomise::{randomised_file, RandomiseStage};
use crate::stages::report::{ReportStage, ReportedRun};
use crate::stages::train::{checkpoint_file, TrainParams, TrainStage};

/// Names the variant that a checkpoint of a run with corruption `p` belongs to.
fn variant_of(p: f64, epoch: u32) -> &'static str {
    if epoch == 0 {
        "random"
    } else if p == 0.0 {
        "generalising"
    } else {
        "memorising"
    }
}

pub(crate) fn plan_models(pipeline: &Pipeline, dataset: &Dataset, dag: &mut Dag, upstream: &Upstream) -> Result<()> {
    let file = &pipeline.file;
    let Some(train) = &file.train else { return Ok(()) };
    let section_context = |section: &str| format!("{}: [{section}]", pipeline.path.display());
    if upstream.permutes.is_empty() {
        bail!("{}: [train] needs a [permute] section (use p = 0 for the generalising network)", pipeline.path.display());
    }
    let Some(decode_section) = &file.decode else {
        bail!("{}: [train] needs a [decode] section", pipeline.path.display());
    };
    let checkpoints = checkpoint_epochs(train)
        .with_context(|| section_context("train"))?;
    let last_epoch = *checkpoints.last().unwrap_or(&0);
    let num_classes = dataset.classes.len() as i64;
    let image_size = decode_section.size as i64;

    let mut runs = Vec::new();
    for &(p, seed, permute) in &upstream.permutes {
        let params = TrainParams {
            model: train.model.clone(),
            image_size,
            num_classes,
            optimizer: train.optimizer.clone(),
            lr: train.lr,
            lr_schedule: train.lr_schedule.clone(),
            momentum: train.momentum,
            weight_decay: train.weight_decay,
            batch_size: train.batch_size,
            epochs: train.epochs,
            checkpoint_epochs: checkpoints.clone(),
            augment: train.augment,
            seed,
        };
        let stage = TrainStage { params, device: train.device.clone(), threads: train.threads };
        let index = dag.add(
            format!("train[p={p},seed={seed}]"),
            Arc::new(stage),
            vec![
                ("split".to_string(), Input::Instance(upstream.split)),
                ("decode".to_string(), Input::Instance(upstream.decode)),
                ("labels".to_string(), Input::Instance(permute)),
            ],
        );
        runs.push((p, seed, permute, index));
    }

    let Some(acts) = &file.activations else { return Ok(()) };
    let dump = |dag: &mut Dag, name: String, model: usize, checkpoint: String| {
        let stage = ActivationsStage {
            model: train.model.clone(),
            image_size,
            num_classes,
            checkpoint,
            taps: acts.layers.clone(),
            splits: acts.splits.clone(),
            batch_size: acts.batch_size,
            device: train.device.clone(),
            threads: train.threads,
        };
        dag.add(
            name,
            Arc::new(stage),
            vec![
                ("model".to_string(), Input::Instance(model)),
                ("decode".to_string(), Input::Instance(upstream.decode)),
                ("split".to_string(), Input::Instance(upstream.split)),
            ],
        )
    };

    // The untrained network depends on the seed only, so epoch 0 is dumped
    // once per seed, from the least corrupted run.
    let least_p = runs.iter().map(|r| r.0).fold(f64::INFINITY, f64::min);
    let mut probed: Vec<(ProbedModel, usize, usize)> = Vec::new();
    for &(p, seed, permute, train_index) in &runs {
        for &epoch in &checkpoints {
            if epoch == 0 && p != least_p {
                continue;
            }
            let index = dump(dag, format!("activations[p={p},seed={seed},epoch={epoch}]"), train_index, checkpoint_file(epoch));
            let model = ProbedModel {
                variant: variant_of(p, epoch).to_string(),
                corruption: p,
                seed,
                epoch,
                randomised_from: None,
                activations: String::new(),
                labels: String::new(),
            };
            probed.push((model, index, permute));
        }
    }

    if let Some(randomised) = &file.randomised {
        for &(p, seed, permute, train_index) in runs.iter().filter(|r| r.0 == 0.0 && last_epoch > 0) {
            let stage = RandomiseStage {
                model: train.model.clone(),
                num_classes,
                checkpoint: checkpoint_file(last_epoch),
                taps: randomised.layers.clone(),
                // Each trained network gets its own fresh weights, so the
                // spread over seeds covers the re-initialisation too.
                seed: randomised.seed.wrapping_add(seed),
            };
            let randomise = dag.add(
                format!("randomise[p={p},seed={seed}]"),
                Arc::new(stage),
                vec![("model".to_string(), Input::Instance(train_index))],
            );
            for tap in &randomised.layers {
                let index = dump(dag, format!("activations[p={p},seed={seed},randomised={tap}]"), randomise, randomised_file(tap));
                let model = ProbedModel {
                    variant: "randomised".to_string(),
                    corruption: p,
                    seed,
                    epoch: last_epoch,
                    randomised_from: Some(tap.clone()),
                    activations: String::new(),
                    labels: String::new(),
                };
                probed.push((model, index, permute));
            }
        }
    }

    let (Some(probe), Some(concepts)) = (&file.probe, upstream.concepts) else { return Ok(()) };
    let mut inputs = vec![
        ("split".to_string(), Input::Instance(upstream.split)),
        ("concepts".to_string(), Input::Instance(concepts)),
    ];
    let mut models = Vec::new();
    for (i, (mut model, acts_index, permute)) in probed.into_iter().enumerate() {
        model.activations = format!("acts{i}");
        model.labels = format!("labels{i}");
        inputs.push((model.activations.clone(), Input::Instance(acts_index)));
        inputs.push((model.labels.clone(), Input::Instance(permute)));
        models.push(model);
    }
    let stage = ProbeStage {
        models,
        layers: acts.layers.clone(),
        splits: probe.splits.clone(),
        probes: probe.probes.clone(),
        alphas: probe.alphas.clone(),
        folds: probe.folds,
        fold_seed: probe.fold_seed,
        standardize: probe.standardize,
        control_seed: probe.control_seed,
    };
    let probe_index = dag.add("probe".to_string(), Arc::new(stage), inputs);

    let Some(report) = &file.report else { return Ok(()) };
    let mut inputs = vec![("probe".to_string(), Input::Instance(probe_index))];
    let mut reported = Vec::new();
    for (i, &(p, seed, _, train_index)) in runs.iter().enumerate() {
        let role = format!("train{i}");
        inputs.push((role.clone(), Input::Instance(train_index)));
        let variant = if p == 0.0 { "generalising" } else { "memorising" };
        reported.push(ReportedRun { variant: variant.to_string(), corruption: p, seed, train: role });
    }
    let title = report
        .title
        .clone()
        .unwrap_or_else(|| format!("flawprobe report: {}", pipeline.name));
    dag.add("report".to_string(), Arc::new(ReportStage { title, runs: reported }), inputs);
    Ok(())
}

/// Returns the sorted checkpoint epochs: the listed ones, or else 0, every
/// `checkpoint_every` epochs and the last.
fn checkpoint_epochs(train: &super::config::TrainSection) -> Result<Vec<u32>> {
    let mut epochs = match &train.checkpoint_epochs {
        Some(list) => list.clone(),
        None => {
            if train.checkpoint_every == 0 {
                bail!("checkpoint_every must be at least 1");
            }
            let mut list: Vec<u32> = (0..=train.epochs).step_by(train.checkpoint_every as usize).collect();
            list.push(train.epochs);
            list
        }
    };
    epochs.sort_unstable();
    epochs.dedup();
    if let Some(late) = epochs.iter().find(|&&e| e > train.epochs) {
        bail!("checkpoint epoch {late} is after the last epoch {}", train.epochs);
    }
    Ok(epochs)
}
