//! The training loop.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{nn, Device};

use super::data::{label_tensor, read_labels, read_split, Augment, Images};
use super::log::{write_log, LogRow};
use super::optim::Optimizer;
use super::resume::{load_state, restore, save_state, tensor_file_name, write_checkpoint, ResumeState};
use super::{checkpoint_name, configure_runtime, parse_device, TrainConfig};
use crate::models::TappedModel;

/// One image as training and evaluation see it.
struct Example {
    /// Row in `images.arrow`.
    row: usize,
    train_label: i64,
    true_label: i64,
    changed: bool,
}

/// The images and the rows of the training and validation splits.
struct TrainingData {
    images: Images,
    train: Vec<Example>,
    val: Vec<Example>,
}

/// Trains `cfg.model` from scratch on the training rows of `labels_path`
/// (their `train_label`), writing `out_dir/checkpoints/epoch-NNNN.safetensors`
/// for each of `cfg.checkpoint_epochs` and `out_dir/log.arrow` (see
/// [`LogRow`]).
///
/// `work_dir` persists across attempts: it holds the resume state and the
/// checkpoints written so far, and a run that finds a state there continues
/// after its epoch (printing "resuming from epoch k" to stderr). A state
/// written under a different config is an error.
///
/// On CPU with the same `threads`, the same config gives bit-identical
/// checkpoints: the network is initialised on the CPU from
/// `tch::manual_seed(seed)`, and each epoch's shuffle and augmentation come
/// from ChaCha8 seeded with `seed` on stream `epoch`. On CUDA, libtorch's
/// convolution kernels are not bit-reproducible in general.
///
/// NOTE: the CUDA path compiles and follows the same code, but has not yet
/// been run on a GPU.
pub fn train(
    cfg: &TrainConfig,
    split_path: &Path,
    images_path: &Path,
    labels_path: &Path,
    work_dir: &Path,
    out_dir: &Path,
) -> Result<()> {
    cfg.validate()?;
    let device = parse_device(&cfg.device)?;
    configure_runtime(device, cfg.threads);
    let data = TrainingData::load(cfg, split_path, images_path, labels_path)?;
    let checkpoints = work_dir.join("checkpoints");
    fs::create_dir_all(&checkpoints).with_context(|| format!("cannot create {}", checkpoints.display()))?;

    // Initialise on the CPU so that the weights do not depend on the device.
    tch::manual_seed(cfg.seed as i64);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let model = cfg.model.build(&vs.root(), cfg.num_classes);
    vs.set_device(device);
    let mut optimizer = Optimizer::new(&vs, cfg.optimizer, cfg.lr, cfg.momentum, cfg.weight_decay);

    let mut log = match load_state(work_dir)? {
        Some(state) => {
            if !state.config.same_run(cfg) {
                bail!(
                    "{} holds the state of a different training config; delete it to start over",
                    work_dir.display()
                );
            }
            restore(work_dir, &state, &mut vs, &mut optimizer)?;
            eprintln!("resuming from epoch {}", state.epoch);
            state.log
        }
        None => Vec::new(),
    };
    let first_epoch = log.last().map_or(0, |row| row.epoch + 1);

    for epoch in first_epoch..=cfg.epochs {
        let started = Instant::now();
        let loss = if epoch == 0 { f64::NAN } else { run_epoch(model.as_ref(), &mut optimizer, &data, cfg, epoch, device)? };
        let mut row = evaluate(model.as_ref(), &data, cfg.batch_size, device)?;
        row.epoch = epoch;
        row.loss = loss;
        row.seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "epoch {epoch}: loss {loss:.4}, train acc {:.3}, val acc {:.3} ({:.1} s)",
            row.train_acc, row.val_acc, row.seconds
        );
        log.push(row);

        if cfg.checkpoint_epochs.contains(&epoch) {
            write_checkpoint(&checkpoints.join(checkpoint_name(epoch)), &vs)?;
        }
        let state = ResumeState {
            epoch,
            step: optimizer.step,
            config: cfg.clone(),
            log: log.clone(),
            tensors: tensor_file_name(epoch),
        };
        save_state(work_dir, &state, &vs, &optimizer)?;
    }

    publish(cfg, work_dir, out_dir, &log)
}

/// Copies the listed checkpoints and writes the log into `out_dir`.
fn publish(cfg: &TrainConfig, work_dir: &Path, out_dir: &Path, log: &[LogRow]) -> Result<()> {
    let out_checkpoints = out_dir.join("checkpoints");
    fs::create_dir_all(&out_checkpoints)
        .with_context(|| format!("cannot create {}", out_checkpoints.display()))?;
    for &epoch in &cfg.checkpoint_epochs {
        let name = checkpoint_name(epoch);
        let from = work_dir.join("checkpoints").join(&name);
        let to = out_checkpoints.join(&name);
        if fs::hard_link(&from, &to).is_err() {
            fs::copy(&from, &to)
                .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
        }
    }
    write_log(&out_dir.join("log.arrow"), log)
}

/// Runs one epoch of training steps and returns the mean loss.
fn run_epoch(
    model: &dyn TappedModel,
    optimizer: &mut Optimizer,
    data: &TrainingData,
    cfg: &TrainConfig,
    epoch: u32,
    device: Device,
) -> Result<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(u64::from(epoch));
    optimizer.set_lr(cfg.lr_schedule.lr_at(cfg.lr, epoch, cfg.epochs));
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    order.shuffle(&mut rng);

    // A last batch of one image is skipped: batch normalisation cannot
    // train on it.
    let batches: Vec<&[usize]> = order.chunks(cfg.batch_size).filter(|b| b.len() >= 2).collect();
    let bar = progress_bar(epoch, cfg.epochs, batches.len());
    let mut loss_sum = 0.0;
    let mut seen = 0usize;
    for batch in batches {
        let rows: Vec<usize> = batch.iter().map(|&i| data.train[i].row).collect();
        let labels: Vec<i64> = batch.iter().map(|&i| data.train[i].train_label).collect();
        let augment: Option<Vec<Augment>> = cfg
            .augment
            .then(|| batch.iter().map(|_| Augment::draw(&mut rng, cfg.image_size)).collect());

        let x = data.images.batch(&rows, augment.as_deref(), device);
        let (logits, _) = model.forward_taps(&x, true, &[])?;
        let loss = logits.cross_entropy_for_logits(&label_tensor(&labels, device));
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();

        let value = loss.double_value(&[]);
        if !value.is_finite() {
            bail!("training diverged in epoch {epoch}: the loss is {value}; try a lower lr");
        }
        loss_sum += value * batch.len() as f64;
        seen += batch.len();
        bar.set_message(format!("{:.4}", loss_sum / seen as f64));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(if seen == 0 { f64::NAN } else { loss_sum / seen as f64 })
}

fn progress_bar(epoch: u32, epochs: u32, batches: usize) -> ProgressBar {
    let bar = ProgressBar::new(batches as u64);
    if let Ok(style) =
        ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} batches, loss {msg}, {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(format!("{epoch}/{epochs}"));
    bar
}

/// Predicts the class of `rows` in evaluation mode.
pub(super) fn predict(
    model: &dyn TappedModel,
    images: &Images,
    rows: &[usize],
    batch_size: usize,
    device: Device,
) -> Result<Vec<i64>> {
    let mut predictions = Vec::with_capacity(rows.len());
    for batch in rows.chunks(batch_size) {
        let x = images.batch(batch, None, device);
        let (logits, _) = tch::no_grad(|| model.forward_taps(&x, false, &[]))?;
        let classes = Vec::<i64>::try_from(logits.argmax(-1, false).to_device(Device::Cpu))?;
        predictions.extend(classes);
    }
    Ok(predictions)
}

/// Measures the accuracies of a [`LogRow`]; epoch, loss and seconds are
/// left for the caller.
fn evaluate(model: &dyn TappedModel, data: &TrainingData, batch_size: usize, device: Device) -> Result<LogRow> {
    let train_rows: Vec<usize> = data.train.iter().map(|e| e.row).collect();
    let val_rows: Vec<usize> = data.val.iter().map(|e| e.row).collect();
    let train_pred = predict(model, &data.images, &train_rows, batch_size, device)?;
    let val_pred = predict(model, &data.images, &val_rows, batch_size, device)?;

    let pairs = |changed: Option<bool>, truth: fn(&Example) -> i64| {
        let hits = data
            .train
            .iter()
            .zip(&train_pred)
            .filter(|(e, _)| changed.is_none_or(|c| e.changed == c))
            .map(|(e, &p)| p == truth(e));
        accuracy(hits)
    };
    let true_label = |e: &Example| e.true_label;
    let train_label = |e: &Example| e.train_label;
    Ok(LogRow {
        epoch: 0,
        loss: f64::NAN,
        train_acc: pairs(None, train_label),
        val_acc: accuracy(data.val.iter().zip(&val_pred).map(|(e, &p)| p == e.true_label)),
        changed_acc_true: pairs(Some(true), true_label),
        changed_acc_train: pairs(Some(true), train_label),
        unchanged_acc_true: pairs(Some(false), true_label),
        unchanged_acc_train: pairs(Some(false), train_label),
        seconds: 0.0,
    })
}

/// The fraction of `true` values; NaN for none.
fn accuracy(hits: impl Iterator<Item = bool>) -> f64 {
    let (mut right, mut total) = (0usize, 0usize);
    for hit in hits {
        right += usize::from(hit);
        total += 1;
    }
    if total == 0 {
        f64::NAN
    } else {
        right as f64 / total as f64
    }
}

impl TrainingData {
    fn load(cfg: &TrainConfig, split_path: &Path, images_path: &Path, labels_path: &Path) -> Result<TrainingData> {
        let images = Images::read(images_path)?;
        if images.size != cfg.image_size {
            bail!(
                "{}: images are {}×{} pixels but the config's image_size is {}",
                images_path.display(),
                images.size,
                images.size,
                cfg.image_size
            );
        }
        let split_of: HashMap<u32, String> =
            read_split(split_path)?.into_iter().map(|r| (r.image_id, r.split)).collect();

        let mut data = TrainingData { images, train: Vec::new(), val: Vec::new() };
        for label in read_labels(labels_path)? {
            if split_of.get(&label.image_id) != Some(&label.split) {
                bail!(
                    "{}: image {} is in split {:?} but {} puts it in {:?}",
                    labels_path.display(),
                    label.image_id,
                    label.split,
                    split_path.display(),
                    split_of.get(&label.image_id)
                );
            }
            for value in [label.true_label, label.train_label] {
                if value < 0 || i64::from(value) >= cfg.num_classes {
                    bail!(
                        "{}: image {} has label {value}, outside 0..{}",
                        labels_path.display(),
                        label.image_id,
                        cfg.num_classes
                    );
                }
            }
            let example = Example {
                row: data.images.row(label.image_id, labels_path)?,
                train_label: i64::from(label.train_label),
                true_label: i64::from(label.true_label),
                changed: label.changed,
            };
            match label.split.as_str() {
                "train" => data.train.push(example),
                "val" => data.val.push(example),
                _ => {}
            }
        }
        if data.train.len() < 2 {
            bail!("{}: {} training rows, expected at least 2", labels_path.display(), data.train.len());
        }
        Ok(data)
    }
}

/// Loads a checkpoint into a freshly built `model` on `device`.
pub(super) fn load_model(
    kind: crate::models::ModelKind,
    num_classes: i64,
    checkpoint: &Path,
    device: Device,
) -> Result<(nn::VarStore, Box<dyn TappedModel>)> {
    let mut vs = nn::VarStore::new(device);
    let model = kind.build(&vs.root(), num_classes);
    vs.load(checkpoint).with_context(|| {
        format!("cannot load {} as a {kind} checkpoint with {num_classes} classes", checkpoint.display())
    })?;
    Ok((vs, model))
}

