//! Adam and SGD with momentum, written on tensors so that their state can
//! be saved beside the weights and a killed run resumes exactly.
//!
//! The update rules are PyTorch's `torch.optim.Adam` and `torch.optim.SGD`
//! (weight decay added to the gradient, no dampening, no Nesterov).

use std::collections::HashMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

/// Adam's β₁, β₂ and ε, PyTorch's defaults.
const ADAM_BETA1: f64 = 0.9;
const ADAM_BETA2: f64 = 0.999;
const ADAM_EPS: f64 = 1e-8;

/// The optimiser of a training run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Adam,
    Sgd,
}

/// An optimiser over the trainable variables of a variable store.
pub struct Optimizer {
    kind: OptimizerKind,
    lr: f64,
    momentum: f64,
    weight_decay: f64,
    /// Trainable variables by name, sorted by name.
    params: Vec<(String, Tensor)>,
    /// First moments (Adam) or momentum buffers (SGD), one per parameter.
    first: Vec<Tensor>,
    /// Second moments (Adam only).
    second: Vec<Tensor>,
    /// Steps taken so far, for Adam's bias correction.
    pub step: i64,
}

impl Optimizer {
    pub fn new(vs: &nn::VarStore, kind: OptimizerKind, lr: f64, momentum: f64, weight_decay: f64) -> Self {
        let mut params: Vec<(String, Tensor)> =
            vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let zeros = |params: &[(String, Tensor)]| params.iter().map(|(_, p)| p.zeros_like()).collect();
        let first = zeros(&params);
        let second = if kind == OptimizerKind::Adam { zeros(&params) } else { Vec::new() };
        Optimizer { kind, lr, momentum, weight_decay, params, first, second, step: 0 }
    }

    /// Clears the gradients of all parameters.
    /// Sets the learning rate of the following steps.
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            p.zero_grad();
        }
    }

    /// Applies one update from the current gradients.
    pub fn step(&mut self) {
        self.step += 1;
        tch::no_grad(|| match self.kind {
            OptimizerKind::Adam => self.adam_step(),
            OptimizerKind::Sgd => self.sgd_step(),
        });
    }

    fn gradient(&self, p: &Tensor) -> Option<Tensor> {
        let g = p.grad();
        if !g.defined() {
            return None;
        }
        Some(if self.weight_decay != 0.0 { g + p * self.weight_decay } else { g })
    }

    fn adam_step(&mut self) {
        let bias1 = 1.0 - ADAM_BETA1.powi(self.step as i32);
        let bias2 = 1.0 - ADAM_BETA2.powi(self.step as i32);
        for i in 0..self.params.len() {
            let Some(g) = self.gradient(&self.params[i].1) else { continue };
            let _ = self.first[i].lerp_(&g, 1.0 - ADAM_BETA1);
            let _ = self.second[i].g_mul_scalar_(ADAM_BETA2);
            let _ = self.second[i].g_add_(&(&g * &g * (1.0 - ADAM_BETA2)));
            let denom = self.second[i].sqrt() / bias2.sqrt() + ADAM_EPS;
            let update = &self.first[i] / denom * (self.lr / bias1);
            let _ = self.params[i].1.g_sub_(&update);
        }
    }

    fn sgd_step(&mut self) {
        for i in 0..self.params.len() {
            let Some(g) = self.gradient(&self.params[i].1) else { continue };
            let _ = self.first[i].g_mul_scalar_(self.momentum);
            let _ = self.first[i].g_add_(&g);
            let update = &self.first[i] * self.lr;
            let _ = self.params[i].1.g_sub_(&update);
        }
    }

    /// Returns the state tensors named `first.<param>` and `second.<param>`.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, (name, _)) in self.params.iter().enumerate() {
            out.push((format!("first.{name}"), self.first[i].shallow_clone()));
            if let Some(second) = self.second.get(i) {
                out.push((format!("second.{name}"), second.shallow_clone()));
            }
        }
        out
    }

    /// Restores the moment tensors that [`state`](Self::state) returned.
    pub fn load_state(&mut self, saved: &HashMap<String, Tensor>, step: i64) -> Result<()> {
        tch::no_grad(|| -> Result<()> {
            for (i, (name, _)) in self.params.iter().enumerate() {
                let key = format!("first.{name}");
                let src = saved.get(&key).with_context(|| format!("optimiser state {key} is missing"))?;
                self.first[i].f_copy_(src).with_context(|| format!("optimiser state {key}"))?;
                if let Some(second) = self.second.get_mut(i) {
                    let key = format!("second.{name}");
                    let src =
                        saved.get(&key).with_context(|| format!("optimiser state {key} is missing"))?;
                    second.f_copy_(src).with_context(|| format!("optimiser state {key}"))?;
                }
            }
            Ok(())
        })?;
        self.step = step;
        Ok(())
    }
}
