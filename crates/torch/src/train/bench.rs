//! Throughput measurement of training steps and activation dumps, for
//! `bench/train.sh` and its PyTorch reference.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use tch::{nn, Device, Kind, Tensor};

use super::optim::{Optimizer, OptimizerKind};
use crate::models::ModelKind;

/// Images per second of one measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub model: String,
    pub image_size: i64,
    pub batch_size: i64,
    pub threads: i32,
    /// Adam steps (forward, backward, update) on random inputs.
    pub train_images_per_s: f64,
    /// Evaluation-mode forward passes without gradients, every tap pooled.
    pub dump_images_per_s: f64,
}

/// Times `steps` training steps and `steps` dump batches after one warm-up
/// of each, on random inputs of `batch_size` images.
pub fn measure_throughput(model: ModelKind, image_size: i64, batch_size: i64, steps: usize, device: Device) -> Result<Throughput> {
    model.check_image_size(image_size)?;
    tch::manual_seed(0);
    let vs = nn::VarStore::new(device);
    let network = model.build(&vs.root(), 10);
    let mut optimizer = Optimizer::new(&vs, OptimizerKind::Adam, 1e-3, 0.9, 0.0);
    let x = Tensor::randn([batch_size, 3, image_size, image_size], (Kind::Float, device));
    let y = Tensor::randint(10, [batch_size], (Kind::Int64, device));
    let taps = network.tap_names();

    let mut train_step = || -> Result<()> {
        let (logits, _) = network.forward_taps(&x, true, &[])?;
        let loss = logits.cross_entropy_for_logits(&y);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        Ok(())
    };
    let train_rate = time_rate(steps, batch_size, device, &mut train_step)?;

    let mut dump_step = || -> Result<()> {
        let (_, acts) = tch::no_grad(|| network.forward_taps(&x, false, &taps))?;
        for (_, act) in acts {
            let _ = act.mean_dim([2i64, 3].as_slice(), false, Kind::Float).to_device(Device::Cpu);
        }
        Ok(())
    };
    let dump_rate = time_rate(steps, batch_size, device, &mut dump_step)?;

    Ok(Throughput {
        model: model.name().to_string(),
        image_size,
        batch_size,
        threads: tch::get_num_threads(),
        train_images_per_s: train_rate,
        dump_images_per_s: dump_rate,
    })
}

fn time_rate(steps: usize, batch_size: i64, device: Device, step: &mut dyn FnMut() -> Result<()>) -> Result<f64> {
    step()?;
    sync(device);
    let started = Instant::now();
    for _ in 0..steps {
        step()?;
    }
    sync(device);
    Ok((steps as f64 * batch_size as f64) / started.elapsed().as_secs_f64())
}

fn sync(device: Device) {
    if let Device::Cuda(index) = device {
        tch::Cuda::synchronize(index as i64);
    }
}
