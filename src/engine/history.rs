//! What each instance of a pipeline looked like at its last successful run,
//! so `status` can say why an instance will run: which parameter, input or
//! version changed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::dag::{Dag, Input, Instance};
use super::key::Key;

/// The recorded state of one instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub stage: String,
    pub key: Key,
    pub version: u32,
    pub params: serde_json::Value,
    /// Input keys by role.
    pub inputs: BTreeMap<String, Key>,
}

/// The records of one pipeline, stored under `cache/.runs/<pipeline>.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct History {
    pub instances: BTreeMap<String, Record>,
}

impl History {
    fn path(cache: &Path, pipeline: &str) -> PathBuf {
        cache.join(".runs").join(format!("{pipeline}.json"))
    }

    /// Loads the records; a missing or unreadable file gives no records.
    pub fn load(cache: &Path, pipeline: &str) -> History {
        fs::read_to_string(History::path(cache, pipeline))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Records the given instances of `dag` (those that are now cached).
    pub fn update(&mut self, dag: &Dag, done: &[bool]) {
        for (instance, _) in dag.instances().iter().zip(done).filter(|(_, done)| **done) {
            self.instances.insert(instance.name.clone(), record_of(dag, instance));
        }
    }

    pub fn save(&self, cache: &Path, pipeline: &str) -> Result<()> {
        let path = History::path(cache, pipeline);
        fs::create_dir_all(path.parent().unwrap_or(cache))?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        fs::write(&tmp, serde_json::to_string_pretty(self)?)?;
        fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Says why `instance`, which has no valid entry, will run.
    pub fn explain(&self, dag: &Dag, instance: &Instance) -> String {
        let now = record_of(dag, instance);
        let Some(before) = self.instances.get(&instance.name) else {
            return "new: no earlier run of this pipeline had this instance".to_string();
        };
        if before.key == now.key {
            return "its entry is missing from the cache".to_string();
        }
        let mut reasons = Vec::new();
        if before.version != now.version {
            reasons.push(format!("stage version changed {} -> {}", before.version, now.version));
        }
        reasons.extend(param_changes(&before.params, &now.params));
        for (role, key) in &now.inputs {
            match before.inputs.get(role) {
                Some(old) if old == key => {}
                Some(_) => reasons.push(format!("input {role} changed")),
                None => reasons.push(format!("new input {role}")),
            }
        }
        if reasons.is_empty() {
            reasons.push("its key changed".to_string());
        }
        reasons.join("; ")
    }
}

fn record_of(dag: &Dag, instance: &Instance) -> Record {
    let inputs = instance
        .inputs
        .iter()
        .map(|(role, input)| {
            let key = match input {
                Input::Instance(index) => dag.get(*index).key,
                Input::Content(digest) => *digest,
            };
            (role.clone(), key)
        })
        .collect();
    Record {
        stage: instance.stage.name().to_string(),
        key: instance.key,
        version: instance.stage.version(),
        params: instance.stage.params(),
        inputs,
    }
}

fn param_changes(before: &serde_json::Value, now: &serde_json::Value) -> Vec<String> {
    let (Some(before), Some(now)) = (before.as_object(), now.as_object()) else {
        return vec!["parameters changed".to_string()];
    };
    let mut changes = Vec::new();
    for (name, value) in now {
        match before.get(name) {
            Some(old) if old == value => {}
            Some(old) => changes.push(format!("parameter {name} changed {old} -> {value}")),
            None => changes.push(format!("new parameter {name} = {value}")),
        }
    }
    for name in before.keys().filter(|name| !now.contains_key(*name)) {
        changes.push(format!("parameter {name} removed"));
    }
    changes
}
