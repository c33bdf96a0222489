//! One module per stage. Each implements [`crate::engine::Stage`]: it
//! declares its name, version and parameters and writes its files; the
//! engine decides whether it runs.

pub mod concepts;
pub mod decode;
pub mod permute;
pub mod split;
