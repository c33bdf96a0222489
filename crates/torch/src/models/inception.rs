//! `inception-v3`: Inception-v3 (Szegedy, Vanhoucke, Ioffe, Shlens and
//! Wojna, "Rethinking the Inception Architecture for Computer Vision",
//! CVPR 2016) as Keras builds it in `keras.applications.InceptionV3`, the
//! network the flawed-model study trained from scratch.
//!
//! Facts kept from the Keras model: every convolution has no bias and is
//! followed by batch normalisation with a shift (β) but no scale
//! (`scale=False`), ε = 1e-3 and momentum 0.99, then ReLU; the
//! average-pooling branches use `same` padding that leaves the padded cells
//! out of the mean; kernels start Glorot-uniform. The eleven
//! concatenations are the taps `mixed0` … `mixed10`. There is no auxiliary
//! classifier; the head is global average pooling and one dense layer
//! (`predictions`). At 299×299 input the taps are 35×35 (`mixed0`–`mixed2`),
//! 17×17 (`mixed3`–`mixed7`) and 8×8 (`mixed8`–`mixed10`).

use anyhow::Result;
use tch::{nn, Tensor};

use super::layers::{ConvBn, ConvBnConfig, Head};
use super::{LayerGroup, TapCollector, TappedModel};

/// The stem and the two stride-2 blocks shrink 75 pixels to a 1×1 map.
pub const MIN_IMAGE_SIZE: i64 = 75;

/// Channels of the last block's output, the head's input.
const FEATURES: i64 = 2048;

/// Builds a Keras-style conv–BN–ReLU layer with a `rows`×`cols` kernel.
fn conv(path: nn::Path, in_c: i64, out_c: i64, [rows, cols]: [i64; 2], stride: i64, same: bool) -> ConvBn {
    let config = ConvBnConfig {
        kernel: [rows, cols],
        stride,
        same,
        scale: false,
        eps: 1e-3,
        momentum: 0.01,
    };
    ConvBn::new(path, in_c, out_c, config)
}

/// A stride-1 `same` convolution, the common case.
fn conv_same(path: nn::Path, in_c: i64, out_c: i64, kernel: [i64; 2]) -> ConvBn {
    conv(path, in_c, out_c, kernel, 1, true)
}

fn run(layers: &[ConvBn], x: &Tensor, train: bool) -> Tensor {
    let mut h = x.shallow_clone();
    for layer in layers {
        h = layer.forward(&h, train);
    }
    h
}

fn max_pool_3x3_s2(x: &Tensor) -> Tensor {
    x.max_pool2d([3, 3], [2, 2], [0, 0], [1, 1], false)
}

/// Keras' `AveragePooling2D((3, 3), strides=(1, 1), padding='same')`: the
/// padded cells do not count towards the mean.
fn avg_pool_3x3_same(x: &Tensor) -> Tensor {
    x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None)
}

/// The five stem convolutions and two max-pools before `mixed0`.
#[derive(Debug)]
struct Stem {
    convs: [ConvBn; 5],
}

impl Stem {
    fn new(p: nn::Path) -> Stem {
        let convs = [
            conv(&p / "conv1a_3x3", 3, 32, [3, 3], 2, false),
            conv(&p / "conv2a_3x3", 32, 32, [3, 3], 1, false),
            conv(&p / "conv2b_3x3", 32, 64, [3, 3], 1, true),
            conv(&p / "conv3b_1x1", 64, 80, [1, 1], 1, false),
            conv(&p / "conv4a_3x3", 80, 192, [3, 3], 1, false),
        ];
        Stem { convs }
    }

    fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let h = run(&self.convs[..3], x, train);
        let h = max_pool_3x3_s2(&h);
        let h = run(&self.convs[3..], &h, train);
        max_pool_3x3_s2(&h)
    }
}

/// The blocks between the stem and the head, by the shape Keras gives them.
#[derive(Debug)]
enum Block {
    /// `mixed0`–`mixed2` (35×35): 1×1, 5×5, double 3×3 and pooled branches.
    A { b1x1: ConvBn, b5x5: [ConvBn; 2], b3x3dbl: [ConvBn; 3], pool: ConvBn },
    /// `mixed3`: stride-2 reduction to 17×17.
    B { b3x3: ConvBn, b3x3dbl: [ConvBn; 3] },
    /// `mixed4`–`mixed7` (17×17): factorised 7×7 branches.
    C { b1x1: ConvBn, b7x7: [ConvBn; 3], b7x7dbl: [ConvBn; 5], pool: ConvBn },
    /// `mixed8`: stride-2 reduction to 8×8.
    D { b3x3: [ConvBn; 2], b7x7x3: [ConvBn; 4] },
    /// `mixed9`, `mixed10` (8×8): branches that split into 1×3 and 3×1.
    E {
        b1x1: ConvBn,
        b3x3: ConvBn,
        b3x3_split: [ConvBn; 2],
        b3x3dbl: [ConvBn; 2],
        b3x3dbl_split: [ConvBn; 2],
        pool: ConvBn,
    },
}

impl Block {
    fn a(p: nn::Path, in_c: i64, pool_features: i64) -> Block {
        Block::A {
            b1x1: conv_same(&p / "branch1x1", in_c, 64, [1, 1]),
            b5x5: [
                conv_same(&p / "branch5x5_1", in_c, 48, [1, 1]),
                conv_same(&p / "branch5x5_2", 48, 64, [5, 5]),
            ],
            b3x3dbl: [
                conv_same(&p / "branch3x3dbl_1", in_c, 64, [1, 1]),
                conv_same(&p / "branch3x3dbl_2", 64, 96, [3, 3]),
                conv_same(&p / "branch3x3dbl_3", 96, 96, [3, 3]),
            ],
            pool: conv_same(&p / "branch_pool", in_c, pool_features, [1, 1]),
        }
    }

    fn b(p: nn::Path, in_c: i64) -> Block {
        Block::B {
            b3x3: conv(&p / "branch3x3", in_c, 384, [3, 3], 2, false),
            b3x3dbl: [
                conv_same(&p / "branch3x3dbl_1", in_c, 64, [1, 1]),
                conv_same(&p / "branch3x3dbl_2", 64, 96, [3, 3]),
                conv(&p / "branch3x3dbl_3", 96, 96, [3, 3], 2, false),
            ],
        }
    }

    /// `c7` is the width of the factorised 7×7 convolutions.
    fn c(p: nn::Path, in_c: i64, c7: i64) -> Block {
        Block::C {
            b1x1: conv_same(&p / "branch1x1", in_c, 192, [1, 1]),
            b7x7: [
                conv_same(&p / "branch7x7_1", in_c, c7, [1, 1]),
                conv_same(&p / "branch7x7_2", c7, c7, [1, 7]),
                conv_same(&p / "branch7x7_3", c7, 192, [7, 1]),
            ],
            b7x7dbl: [
                conv_same(&p / "branch7x7dbl_1", in_c, c7, [1, 1]),
                conv_same(&p / "branch7x7dbl_2", c7, c7, [7, 1]),
                conv_same(&p / "branch7x7dbl_3", c7, c7, [1, 7]),
                conv_same(&p / "branch7x7dbl_4", c7, c7, [7, 1]),
                conv_same(&p / "branch7x7dbl_5", c7, 192, [1, 7]),
            ],
            pool: conv_same(&p / "branch_pool", in_c, 192, [1, 1]),
        }
    }

    fn d(p: nn::Path, in_c: i64) -> Block {
        Block::D {
            b3x3: [
                conv_same(&p / "branch3x3_1", in_c, 192, [1, 1]),
                conv(&p / "branch3x3_2", 192, 320, [3, 3], 2, false),
            ],
            b7x7x3: [
                conv_same(&p / "branch7x7x3_1", in_c, 192, [1, 1]),
                conv_same(&p / "branch7x7x3_2", 192, 192, [1, 7]),
                conv_same(&p / "branch7x7x3_3", 192, 192, [7, 1]),
                conv(&p / "branch7x7x3_4", 192, 192, [3, 3], 2, false),
            ],
        }
    }

    fn e(p: nn::Path, in_c: i64) -> Block {
        Block::E {
            b1x1: conv_same(&p / "branch1x1", in_c, 320, [1, 1]),
            b3x3: conv_same(&p / "branch3x3_1", in_c, 384, [1, 1]),
            b3x3_split: [
                conv_same(&p / "branch3x3_2a", 384, 384, [1, 3]),
                conv_same(&p / "branch3x3_2b", 384, 384, [3, 1]),
            ],
            b3x3dbl: [
                conv_same(&p / "branch3x3dbl_1", in_c, 448, [1, 1]),
                conv_same(&p / "branch3x3dbl_2", 448, 384, [3, 3]),
            ],
            b3x3dbl_split: [
                conv_same(&p / "branch3x3dbl_3a", 384, 384, [1, 3]),
                conv_same(&p / "branch3x3dbl_3b", 384, 384, [3, 1]),
            ],
            pool: conv_same(&p / "branch_pool", in_c, 192, [1, 1]),
        }
    }

    /// Runs the branches and concatenates them along channels in Keras'
    /// order.
    fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let branches = match self {
            Block::A { b1x1, b5x5, b3x3dbl, pool } => vec![
                b1x1.forward(x, train),
                run(b5x5, x, train),
                run(b3x3dbl, x, train),
                pool.forward(&avg_pool_3x3_same(x), train),
            ],
            Block::B { b3x3, b3x3dbl } => {
                vec![b3x3.forward(x, train), run(b3x3dbl, x, train), max_pool_3x3_s2(x)]
            }
            Block::C { b1x1, b7x7, b7x7dbl, pool } => vec![
                b1x1.forward(x, train),
                run(b7x7, x, train),
                run(b7x7dbl, x, train),
                pool.forward(&avg_pool_3x3_same(x), train),
            ],
            Block::D { b3x3, b7x7x3 } => {
                vec![run(b3x3, x, train), run(b7x7x3, x, train), max_pool_3x3_s2(x)]
            }
            Block::E { b1x1, b3x3, b3x3_split, b3x3dbl, b3x3dbl_split, pool } => {
                let h3 = b3x3.forward(x, train);
                let hd = run(b3x3dbl, x, train);
                vec![
                    b1x1.forward(x, train),
                    b3x3_split[0].forward(&h3, train),
                    b3x3_split[1].forward(&h3, train),
                    b3x3dbl_split[0].forward(&hd, train),
                    b3x3dbl_split[1].forward(&hd, train),
                    pool.forward(&avg_pool_3x3_same(x), train),
                ]
            }
        };
        Tensor::cat(&branches, 1)
    }
}

/// The network: stem, `mixed0` … `mixed10`, and the dense head.
#[derive(Debug)]
pub struct InceptionV3 {
    stem: Stem,
    blocks: Vec<Block>,
    head: Head,
}

impl InceptionV3 {
    /// Builds the network under `path`: variables
    /// `stem.<layer>.{conv,bn}.*`, `mixed<i>.<branch>.{conv,bn}.*` and
    /// `predictions.{weight,bias}`.
    pub fn new(path: &nn::Path, num_classes: i64) -> InceptionV3 {
        let p = |i: usize| path / format!("mixed{i}").as_str();
        let blocks = vec![
            Block::a(p(0), 192, 32),
            Block::a(p(1), 256, 64),
            Block::a(p(2), 288, 64),
            Block::b(p(3), 288),
            Block::c(p(4), 768, 128),
            Block::c(p(5), 768, 160),
            Block::c(p(6), 768, 160),
            Block::c(p(7), 768, 192),
            Block::d(p(8), 768),
            Block::e(p(9), 1280),
            Block::e(p(10), FEATURES),
        ];
        InceptionV3 {
            stem: Stem::new(path / "stem"),
            blocks,
            head: Head::new(path / "predictions", FEATURES, num_classes),
        }
    }
}

impl TappedModel for InceptionV3 {
    fn forward_taps(
        &self,
        x: &Tensor,
        train: bool,
        taps: &[String],
    ) -> Result<(Tensor, Vec<(String, Tensor)>)> {
        let mut collector = TapCollector::new(taps);
        let mut h = self.stem.forward(x, train);
        for (i, block) in self.blocks.iter().enumerate() {
            h = block.forward(&h, train);
            collector.offer(&format!("mixed{i}"), &h);
        }
        let logits = self.head.forward(&h);
        Ok((logits, collector.finish()?))
    }

    fn tap_names(&self) -> Vec<String> {
        (0..self.blocks.len()).map(|i| format!("mixed{i}")).collect()
    }

    fn layers_top_down(&self) -> Vec<LayerGroup> {
        let mut groups = vec![LayerGroup { name: "predictions".into(), tap: None }];
        for tap in self.tap_names().into_iter().rev() {
            groups.push(LayerGroup { name: tap.clone(), tap: Some(tap) });
        }
        groups.push(LayerGroup { name: "stem".into(), tap: None });
        groups
    }
}
