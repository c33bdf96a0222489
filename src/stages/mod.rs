//! One module per stage. Each implements [`crate::engine::Stage`]: it
//! declares its name, version and parameters and writes its files; the
//! engine decides whether it runs. The libtorch stages (train, randomise,
//! activations) hand their work to the `flawprobe-torch` worker.

pub mod activations;
pub mod concepts;
pub mod decode;
pub mod permute;
pub mod probe;
pub mod randomise;
pub mod report;
pub mod split;
pub mod train;
pub mod worker;
