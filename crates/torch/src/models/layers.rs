//! Building blocks shared by the architectures.

use std::borrow::Borrow;

use tch::{nn, Tensor};

/// Keras' default `glorot_uniform` initialiser for a kernel of the given
/// shape: uniform in ±sqrt(6 / (fan_in + fan_out)), where the fans count
/// the receptive field (Glorot and Bengio 2010).
pub fn glorot_uniform(shape: &[i64]) -> nn::Init {
    let receptive: i64 = shape[2..].iter().product();
    let fan_out = shape[0] * receptive;
    let fan_in = shape[1] * receptive;
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
    nn::Init::Uniform { lo: -limit, up: limit }
}

/// Options of a [`ConvBn`] block.
#[derive(Debug, Clone, Copy)]
pub struct ConvBnConfig {
    /// Kernel height and width.
    pub kernel: [i64; 2],
    pub stride: i64,
    /// `true` pads each side by half the kernel (Keras' `same` for odd
    /// kernels at stride 1), `false` pads nothing (`valid`).
    pub same: bool,
    /// Whether batch normalisation learns a scale (γ) as well as a shift (β).
    pub scale: bool,
    pub eps: f64,
    /// Weight of the new batch statistic in the running estimates (PyTorch's
    /// convention: Keras' momentum 0.99 is 0.01 here).
    pub momentum: f64,
}

/// A bias-free convolution, batch normalisation and ReLU.
///
/// Variables: `conv.weight` (out×in×kh×kw), `bn.bias` (β), `bn.weight` (γ,
/// only with `scale`), `bn.running_mean`, `bn.running_var`.
#[derive(Debug)]
pub struct ConvBn {
    weight: Tensor,
    bn_weight: Option<Tensor>,
    bn_bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    stride: i64,
    padding: [i64; 2],
    eps: f64,
    momentum: f64,
}

impl ConvBn {
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        path: P,
        in_channels: i64,
        out_channels: i64,
        config: ConvBnConfig,
    ) -> ConvBn {
        let path = path.borrow();
        let [kh, kw] = config.kernel;
        let shape = [out_channels, in_channels, kh, kw];
        let conv = path / "conv";
        let bn = path / "bn";
        let padding = if config.same { [kh / 2, kw / 2] } else { [0, 0] };
        ConvBn {
            weight: conv.var("weight", &shape, glorot_uniform(&shape)),
            bn_weight: config.scale.then(|| bn.var("weight", &[out_channels], nn::Init::Const(1.0))),
            bn_bias: bn.var("bias", &[out_channels], nn::Init::Const(0.0)),
            running_mean: bn.zeros_no_train("running_mean", &[out_channels]),
            running_var: bn.ones_no_train("running_var", &[out_channels]),
            stride: config.stride,
            padding,
            eps: config.eps,
            momentum: config.momentum,
        }
    }

    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x.conv2d::<&Tensor>(&self.weight, None, [self.stride; 2], self.padding, [1, 1], 1);
        y.batch_norm(
            self.bn_weight.as_ref(),
            Some(&self.bn_bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            train,
            self.momentum,
            self.eps,
            true,
        )
        .relu()
    }
}

/// A dense layer after global average pooling, initialised as Keras does
/// (Glorot-uniform weights, zero bias).
#[derive(Debug)]
pub struct Head {
    weight: Tensor,
    bias: Tensor,
}

impl Head {
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(path: P, in_features: i64, num_classes: i64) -> Head {
        let path = path.borrow();
        let shape = [num_classes, in_features];
        Head {
            weight: path.var("weight", &shape, glorot_uniform(&shape)),
            bias: path.var("bias", &[num_classes], nn::Init::Const(0.0)),
        }
    }

    /// Averages `x` (N×C×h×w) over space and maps it to N×classes logits.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let pooled = x.mean_dim([2i64, 3].as_slice(), false, x.kind());
        pooled.linear(&self.weight, Some(&self.bias))
    }
}
