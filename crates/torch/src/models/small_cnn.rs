//! `small-cnn`: four conv–BN–ReLU–max-pool blocks and a linear head after
//! global average pooling, small enough to train on two CPU cores in
//! minutes at 96×96 pixels. The first convolution has stride 2, which
//! quarters the cost of every block at the price of detail the probes of
//! texture concepts may miss.

use anyhow::Result;
use tch::{nn, Tensor};

use super::layers::{ConvBn, ConvBnConfig, Head};
use super::{LayerGroup, TapCollector, TappedModel};

/// Output channels of the blocks `block1` … `block4`.
pub const BLOCK_CHANNELS: [i64; 4] = [16, 32, 64, 128];

/// The strided first convolution and each block's pooling halve the side,
/// so 32 pixels give a 1×1 map after the fourth block.
pub const MIN_IMAGE_SIZE: i64 = 32;

const CONV: ConvBnConfig = ConvBnConfig {
    kernel: [3, 3],
    stride: 1,
    same: true,
    scale: true,
    eps: 1e-5,
    momentum: 0.1,
};

/// The network; its taps are the block outputs after pooling.
#[derive(Debug)]
pub struct SmallCnn {
    blocks: Vec<ConvBn>,
    head: Head,
}

impl SmallCnn {
    /// Builds the network under `path`: variables `block<i>.conv.weight`,
    /// `block<i>.bn.{weight,bias,running_mean,running_var}`,
    /// `head.{weight,bias}`.
    pub fn new(path: &nn::Path, num_classes: i64) -> SmallCnn {
        let mut blocks = Vec::with_capacity(BLOCK_CHANNELS.len());
        let mut in_channels = 3;
        for (i, &out_channels) in BLOCK_CHANNELS.iter().enumerate() {
            let name = format!("block{}", i + 1);
            let config = if i == 0 { ConvBnConfig { stride: 2, ..CONV } } else { CONV };
            blocks.push(ConvBn::new(path / name.as_str(), in_channels, out_channels, config));
            in_channels = out_channels;
        }
        let head = Head::new(path / "head", in_channels, num_classes);
        SmallCnn { blocks, head }
    }
}

impl TappedModel for SmallCnn {
    fn forward_taps(
        &self,
        x: &Tensor,
        train: bool,
        taps: &[String],
    ) -> Result<(Tensor, Vec<(String, Tensor)>)> {
        let mut collector = TapCollector::new(taps);
        let mut h = x.shallow_clone();
        for (i, block) in self.blocks.iter().enumerate() {
            h = block.forward(&h, train).max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
            collector.offer(&format!("block{}", i + 1), &h);
        }
        let logits = self.head.forward(&h);
        Ok((logits, collector.finish()?))
    }

    fn tap_names(&self) -> Vec<String> {
        (1..=self.blocks.len()).map(|i| format!("block{i}")).collect()
    }

    fn layers_top_down(&self) -> Vec<LayerGroup> {
        let mut groups = vec![LayerGroup { name: "head".into(), tap: None }];
        for tap in self.tap_names().into_iter().rev() {
            groups.push(LayerGroup { name: tap.clone(), tap: Some(tap) });
        }
        groups
    }
}
