//! Pipeline files and their expansion into a DAG of stage instances.

mod checks;
pub mod config;
mod models;

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::dataset::Dataset;
use crate::engine::{Dag, Input, Store};
use crate::stages::concepts::ConceptsStage;
use crate::stages::decode::DecodeStage;
use crate::stages::permute::PermuteStage;
use crate::stages::split::{SplitRule, SplitStage};

pub use config::Pipeline;

/// DAG indices of the shared upstream instances the model stages need.
pub(crate) struct Upstream {
    pub split: usize,
    pub decode: usize,
    pub concepts: Option<usize>,
    /// (p, seed, index) of each permute instance.
    pub permutes: Vec<(f64, u64, usize)>,
}

/// A pipeline expanded into stage instances.
pub struct Plan {
    pub pipeline: Pipeline,
    pub dag: Dag,
    pub dataset: Arc<Dataset>,
}

/// Scans the dataset and expands the pipeline into its DAG. Shared stages
/// (one split for every variant) appear once.
pub fn plan(pipeline: Pipeline, store: &Store) -> Result<Plan> {
    checks::check_model_sections(&pipeline.file).with_context(|| format!("{}", pipeline.path.display()))?;
    let root = pipeline.dataset_root();
    let dataset = Dataset::scan(&root, store.stat_cache())
        .with_context(|| format!("pipeline {}: dataset", pipeline.path.display()))?;
    let dataset = Arc::new(dataset);
    let mut dag = Dag::new();

    let rule = split_rule(&pipeline)?;
    let split = dag.add(
        "split".to_string(),
        Arc::new(SplitStage { rule, dataset: dataset.clone() }),
        vec![("images".to_string(), Input::Content(dataset.digest))],
    );

    let mut permutes = Vec::new();
    if let Some(section) = &pipeline.file.permute {
        for p in section.p.values() {
            for seed in section.seed.values() {
                let stage = PermuteStage::new(p, seed)
                    .with_context(|| format!("{}: [permute]", pipeline.path.display()))?;
                let index = dag.add(
                    format!("permute[p={p},seed={seed}]"),
                    Arc::new(stage),
                    vec![("split".to_string(), Input::Instance(split))],
                );
                permutes.push((p, seed, index));
            }
        }
    }

    if let Some(section) = &pipeline.file.decode {
        let images_root = dataset.root.join("images");
        let stage = DecodeStage::new(section.size, images_root)
            .with_context(|| format!("{}: [decode]", pipeline.path.display()))?;
        let decode = dag.add(
            "decode".to_string(),
            Arc::new(stage),
            vec![("split".to_string(), Input::Instance(split))],
        );
        let mut concepts = None;
        if let Some(section) = &pipeline.file.concepts {
            let stage = ConceptsStage::new(&section.semantics)
                .with_context(|| format!("{}: [concepts]", pipeline.path.display()))?;
            concepts = Some(dag.add(
                "concepts".to_string(),
                Arc::new(stage),
                vec![("decode".to_string(), Input::Instance(decode))],
            ));
        }
        let inputs = Upstream { split, decode, concepts, permutes };
        models::plan_models(&pipeline, &dataset, &mut dag, &inputs)?;
    }

    Ok(Plan { pipeline, dag, dataset })
}

fn split_rule(pipeline: &Pipeline) -> Result<SplitRule> {
    let section = &pipeline.file.split;
    let rule = match section.rule.as_str() {
        "official" => SplitRule::Official { index: section.official },
        _ => {
            let [train, val, test] = section.fractions;
            SplitRule::Stratified { train, val, test, seed: section.seed }
        }
    };
    rule.validate()
        .with_context(|| format!("{}: [split]", pipeline.path.display()))?;
    Ok(rule)
}
