//! Pipeline files: TOML under `pipelines/`. Unknown keys are rejected with
//! their name and line. A field written as a list is a sweep: the engine
//! runs one instance per value (per combination, when several fields of a
//! section are lists).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// A value or a list of values to sweep over.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged, expecting = "a value or a list of values")]
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
    pub train: Option<TrainSection>,
    pub activations: Option<ActivationsSection>,
    pub randomised: Option<RandomisedSection>,
    pub probe: Option<ProbeSection>,
    pub report: Option<ReportSection>,
}

/// `[train]`: one network per permute instance, seeded with its seed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    /// `small-cnn` or `inception-v3`.
    pub model: String,
    /// `adam` or `sgd`.
    #[serde(default = "default_optimizer")]
    pub optimizer: String,
    pub lr: f64,
    /// `constant` (default) or `cosine` (annealed towards 0 by the last epoch).
    #[serde(default = "default_lr_schedule")]
    pub lr_schedule: String,
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    #[serde(default)]
    pub weight_decay: f64,
    pub batch_size: usize,
    pub epochs: u32,
    /// Epochs to keep a checkpoint of; epoch 0 is the untrained network.
    /// Default: 0, every `checkpoint_every` epochs, and the last.
    pub checkpoint_epochs: Option<Vec<u32>>,
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: u32,
    /// Random shifts and horizontal flips of the training images.
    #[serde(default = "default_true")]
    pub augment: bool,
    /// `auto`, `cpu` or `cuda:N` (not part of any key).
    #[serde(default = "default_device")]
    pub device: String,
    /// libtorch threads; 0 lets libtorch choose (not part of any key).
    #[serde(default)]
    pub threads: usize,
}

fn default_optimizer() -> String {
    "adam".to_string()
}

fn default_lr_schedule() -> String {
    "constant".to_string()
}

fn default_momentum() -> f64 {
    0.9
}

fn default_checkpoint_every() -> u32 {
    10
}

fn default_true() -> bool {
    true
}

fn default_device() -> String {
    "auto".to_string()
}

/// `[activations]`: which taps of each checkpoint to dump, for which splits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationsSection {
    /// Tap names, from the input towards the output.
    pub layers: Vec<String>,
    #[serde(default = "default_activation_splits")]
    pub splits: Vec<String>,
    #[serde(default = "default_activation_batch")]
    pub batch_size: usize,
}

fn default_activation_splits() -> Vec<String> {
    vec!["train".to_string(), "val".to_string(), "test".to_string()]
}

fn default_activation_batch() -> usize {
    64
}

/// `[randomised]`: cascading randomisation of the generalising networks'
/// last checkpoint, down to each listed layer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomisedSection {
    pub layers: Vec<String>,
    /// Added to each run's training seed to seed its fresh weights.
    #[serde(default)]
    pub seed: u64,
}

/// `[probe]`: the probe protocol.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSection {
    #[serde(default = "default_alphas")]
    pub alphas: Vec<f64>,
    #[serde(default = "default_folds")]
    pub folds: usize,
    #[serde(default)]
    pub fold_seed: u64,
    #[serde(default = "default_true")]
    pub standardize: bool,
    #[serde(default = "default_probes")]
    pub probes: Vec<String>,
    /// Splits whose images are the probe rows.
    #[serde(default = "default_probe_splits")]
    pub splits: Vec<String>,
    #[serde(default)]
    pub control_seed: u64,
}

fn default_alphas() -> Vec<f64> {
    vec![0.1, 1.0, 10.0, 100.0, 1000.0]
}

fn default_folds() -> usize {
    5
}

fn default_probes() -> Vec<String> {
    vec!["ridge".to_string(), "ridge-classifier".to_string(), "logistic".to_string()]
}

fn default_probe_splits() -> Vec<String> {
    vec!["val".to_string(), "test".to_string()]
}

/// `[report]`: the report's title.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    pub title: Option<String>,
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
