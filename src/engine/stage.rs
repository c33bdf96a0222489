//! What a stage declares to the engine, and what the engine hands a stage
//! when it runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use super::key::Key;
use super::store::Store;

/// Which executor slot a stage instance needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Plain CPU work; as many run at once as `--jobs` allows.
    Cpu,
    /// libtorch work (training, activation dumps): one at a time, so two
    /// never compete for one device or oversubscribe the cores.
    Torch,
}

/// A stage of the pipeline, configured for one instance.
///
/// The engine builds the instance's key from [`Stage::name`],
/// [`Stage::version`], [`Stage::params`] and its inputs' keys; a stage never
/// hashes anything for itself. Fields that must not change the output's
/// identity (paths, thread counts, devices) stay out of `params`.
pub trait Stage: Send + Sync {
    /// The stage name, also the directory under `cache/`.
    fn name(&self) -> &'static str;

    /// The stage's semantic version. Bump it whenever the same parameters and
    /// inputs would produce different output files.
    fn version(&self) -> u32;

    /// The parameters that determine the output, in canonical form.
    fn params(&self) -> serde_json::Value;

    fn resource(&self) -> Resource {
        Resource::Cpu
    }

    /// The device recorded in the manifest (not part of the key).
    fn device(&self) -> String {
        "cpu".to_string()
    }

    /// Computes the outputs into `ctx.out_dir()`.
    fn run(&self, ctx: &StageContext<'_>) -> Result<()>;
}

/// The environment of one stage run.
pub struct StageContext<'a> {
    pub(crate) out_dir: &'a Path,
    pub(crate) scratch_dir: PathBuf,
    pub(crate) inputs: BTreeMap<String, PathBuf>,
    pub(crate) instance: &'a str,
    pub(crate) store: &'a Store,
    pub(crate) key: Key,
}

impl StageContext<'_> {
    /// The temporary directory the stage writes its outputs into.
    pub fn out_dir(&self) -> &Path {
        self.out_dir
    }

    /// A directory kept across failed or killed runs of this key (for
    /// resumable work such as training); removed once the entry commits.
    pub fn scratch_dir(&self) -> Result<&Path> {
        std::fs::create_dir_all(&self.scratch_dir)?;
        Ok(&self.scratch_dir)
    }

    /// The committed entry directory of the input with role `role`.
    pub fn input_dir(&self, role: &str) -> Result<&Path> {
        self.inputs
            .get(role)
            .map(PathBuf::as_path)
            .ok_or_else(|| anyhow!("stage instance {} has no input named {role:?}", self.instance))
    }

    /// A file inside an input entry.
    pub fn input_file(&self, role: &str, file: &str) -> Result<PathBuf> {
        Ok(self.input_dir(role)?.join(file))
    }

    /// The instance's name in the pipeline, for messages.
    pub fn instance(&self) -> &str {
        self.instance
    }

    pub fn key(&self) -> &Key {
        &self.key
    }

    pub fn store(&self) -> &Store {
        self.store
    }
}
