//! The libtorch half of flawprobe: the models ([`models`]), training of
//! flawed variants, cascading randomisation and activation dumps
//! ([`train`]), and the `flawprobe-torch` worker binary that the pipeline's
//! train, randomise and activations stages run.
//!
//! It is a crate of its own so that the main `flawprobe` binary never
//! links libtorch, whose start-up costs about 0.4 s, which matters for a
//! no-op `flawprobe run`.

pub mod models;
pub mod train;
