//! The DAG of stage instances a pipeline expands into. Every instance's key
//! is known before anything runs, because keys depend on parameters and
//! input keys, not on output content.

use std::collections::HashMap;
use std::sync::Arc;

use super::key::{Key, KeyBuilder};
use super::stage::Stage;

/// Where an instance's input comes from.
#[derive(Debug, Clone)]
pub enum Input {
    /// The entry of an earlier instance (by index in the DAG).
    Instance(usize),
    /// Outside content, by its digest (for example the dataset's images).
    Content(Key),
}

/// One stage configured with its parameters and inputs.
pub struct Instance {
    /// A readable name such as `permute[p=0.5,seed=1]`.
    pub name: String,
    pub stage: Arc<dyn Stage>,
    /// Inputs by role.
    pub inputs: Vec<(String, Input)>,
    pub key: Key,
}

impl Instance {
    /// The sweep coordinates inside the name's brackets (`p=0.5,seed=1`), or
    /// an empty string for an instance without any.
    pub fn coordinates(&self) -> &str {
        match (self.name.find('['), self.name.rfind(']')) {
            (Some(open), Some(close)) if close > open => &self.name[open + 1..close],
            _ => "",
        }
    }

    pub fn upstream(&self) -> impl Iterator<Item = usize> + '_ {
        self.inputs.iter().filter_map(|(_, input)| match input {
            Input::Instance(index) => Some(*index),
            Input::Content(_) => None,
        })
    }
}

/// Stage instances in an order where every input comes first.
#[derive(Default)]
pub struct Dag {
    instances: Vec<Instance>,
    by_key: HashMap<Key, usize>,
}

impl Dag {
    pub fn new() -> Dag {
        Dag::default()
    }

    /// Adds an instance and returns its index. Inputs must already be in the
    /// DAG. An instance whose key is already present is not added twice: the
    /// existing index is returned, so shared stages run once.
    pub fn add(&mut self, name: String, stage: Arc<dyn Stage>, inputs: Vec<(String, Input)>) -> usize {
        let mut builder = KeyBuilder::new(stage.name(), stage.version()).params(&stage.params());
        for (role, input) in &inputs {
            let key = match input {
                Input::Instance(index) => self.instances[*index].key,
                Input::Content(digest) => *digest,
            };
            builder = builder.input(role, &key);
        }
        let key = builder.finish();
        if let Some(&existing) = self.by_key.get(&key) {
            return existing;
        }
        self.instances.push(Instance { name, stage, inputs, key });
        let index = self.instances.len() - 1;
        self.by_key.insert(key, index);
        index
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    pub fn get(&self, index: usize) -> &Instance {
        &self.instances[index]
    }

    pub fn len(&self) -> usize {
        self.instances.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// The instances `roots` need, themselves included, as a mask.
    pub fn with_upstream(&self, roots: &[usize]) -> Vec<bool> {
        let mut selected = vec![false; self.instances.len()];
        let mut stack = roots.to_vec();
        while let Some(index) = stack.pop() {
            if selected[index] {
                continue;
            }
            selected[index] = true;
            stack.extend(self.instances[index].upstream());
        }
        selected
    }

    /// Indices of the instances of one stage.
    pub fn of_stage(&self, stage: &str) -> Vec<usize> {
        (0..self.instances.len())
            .filter(|&i| self.instances[i].stage.name() == stage)
            .collect()
    }

    /// The stage names in DAG order, each once.
    pub fn stage_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        for instance in &self.instances {
            let name = instance.stage.name();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }
}
