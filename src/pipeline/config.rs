//! Pipeline files: TOML under `pipelines/`. Unknown keys are rejected with
//! their name and line. A field written as a list is a sweep: the engine
//! runs one instance per value (per combination, when several fields of a
//! section are lists).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// A value or a list of values to sweep over.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Sweep<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Clone> Sweep<T> {
    /// The values in the order written.
    pub fn values(&self) -> Vec<T> {
        match self {
            Sweep::One(value) => vec![value.clone()],
            Sweep::Many(values) => values.clone(),
        }
    }
}

/// A whole pipeline file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    pub dataset: DatasetSection,
    #[serde(default)]
    pub split: SplitSection,
    pub permute: Option<PermuteSection>,
    pub decode: Option<DecodeSection>,
    pub concepts: Option<ConceptsSection>,
}

/// `[decode]`: the square input size of the network.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodeSection {
    /// Side of the square crop, in pixels.
    pub size: u32,
}

/// `[concepts]`: which semantics of the concept measures to compute.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConceptsSection {
    /// `corrected` (default) or `reference-code`.
    #[serde(default = "default_semantics")]
    pub semantics: String,
}

fn default_semantics() -> String {
    "corrected".to_string()
}

/// `[dataset]`: where the images are.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSection {
    /// The dataset folder (DTD layout). A relative path is taken from the
    /// directory flawprobe runs in.
    pub root: PathBuf,
    /// An environment variable that, when set, replaces `root`.
    pub root_env: Option<String>,
}

/// `[split]`: the split rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSection {
    /// `stratified` (default) or `official`.
    #[serde(default = "default_rule")]
    pub rule: String,
    /// Train, validation and test fractions for `stratified`.
    #[serde(default = "default_fractions")]
    pub fractions: [f64; 3],
    #[serde(default)]
    pub seed: u64,
    /// The official split number N (`labels/trainN.txt`, …) for `official`.
    #[serde(default = "default_official")]
    pub official: u32,
}

impl Default for SplitSection {
    fn default() -> Self {
        SplitSection {
            rule: default_rule(),
            fractions: default_fractions(),
            seed: 0,
            official: default_official(),
        }
    }
}

fn default_rule() -> String {
    "stratified".to_string()
}

fn default_fractions() -> [f64; 3] {
    [0.6, 0.2, 0.2]
}

fn default_official() -> u32 {
    1
}

/// `[permute]`: label corruption fractions and seeds to sweep.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermuteSection {
    pub p: Sweep<f64>,
    #[serde(default = "default_seeds")]
    pub seed: Sweep<u64>,
}

fn default_seeds() -> Sweep<u64> {
    Sweep::One(0)
}

/// A parsed pipeline file with its name (the file stem).
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    pub path: PathBuf,
    pub file: PipelineFile,
}

impl Pipeline {
    /// Reads and checks a pipeline file.
    pub fn load(path: &Path) -> Result<Pipeline> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the pipeline file {}", path.display()))?;
        let file: PipelineFile = toml::from_str(&text)
            .map_err(|err| anyhow::anyhow!("{}: {}", path.display(), err.to_string().trim_end()))?;
        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().to_string())
            .with_context(|| format!("{}: a pipeline file needs a file name", path.display()))?;
        if !["stratified", "official"].contains(&file.split.rule.as_str()) {
            bail!(
                "{}: split.rule = {:?} is not one of \"stratified\", \"official\"",
                path.display(),
                file.split.rule
            );
        }
        Ok(Pipeline {
            name,
            path: path.to_path_buf(),
            file,
        })
    }

    /// The dataset root, after the environment override.
    pub fn dataset_root(&self) -> PathBuf {
        let section = &self.file.dataset;
        if let Some(variable) = &section.root_env {
            if let Some(value) = std::env::var_os(variable).filter(|v| !v.is_empty()) {
                return PathBuf::from(value);
            }
        }
        section.root.clone()
    }
}
