//! flawprobe: break a CNN on purpose, dump its activations, and fit linear
//! probes that show which image concepts each layer still encodes.
//!
//! The crate is a pipeline of content-hashed stages. [`engine`] holds the
//! keys, the store and the scheduler; [`stages`] has one module per stage;
//! the domain code the stages call lives beside them ([`dataset`],
//! [`imageio`], [`concepts`], [`probe`], [`synth`], [`report`]). The models,
//! training and activation dumps live in the `flawprobe-torch` crate, whose
//! worker binary the libtorch stages run.

pub mod cli;
pub mod concepts;
pub mod dataset;
pub mod engine;
pub mod imageio;
pub mod pipeline;
pub mod probe;
pub mod progress;
pub mod report;
pub mod stages;
pub mod synth;
pub mod table;
