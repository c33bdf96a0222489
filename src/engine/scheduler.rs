//! The local executor: runs the selected instances of a DAG on a pool of
//! threads, each as soon as its inputs are committed, at most one libtorch
//! stage at a time.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use super::dag::{Dag, Input, Instance};
use super::stage::{Resource, StageContext};
use super::store::{unix_now, Lookup, Manifest, Store};

/// The outcome of one instance in a run.
#[derive(Debug)]
pub enum Outcome {
    /// A valid entry was already there.
    Cached,
    /// Computed by this run, in the given time.
    Computed(Duration),
    /// Computed by another process while this one waited for the key lock.
    ComputedElsewhere,
    Failed(anyhow::Error),
    /// Not run because an input failed.
    Skipped,
}

impl Outcome {
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Cached | Outcome::Computed(_) | Outcome::ComputedElsewhere)
    }
}

/// How to run.
pub struct RunOptions {
    pub jobs: usize,
    /// Per instance: recompute even when a valid entry exists.
    pub force: Vec<bool>,
}

/// Runs every instance with `selected[i]`, returning one outcome per
/// instance (`None` for those not selected).
pub fn execute(dag: &Dag, store: &Store, selected: &[bool], options: &RunOptions) -> Vec<Option<Outcome>> {
    let count = dag.len();
    let mut outcomes: Vec<Option<Outcome>> = (0..count).map(|_| None).collect();
    let mut started = vec![false; count];
    let mut torch_busy = false;
    let mut running = 0usize;
    let jobs = options.jobs.max(1);
    let (sender, receiver) = mpsc::channel::<(usize, Outcome)>();

    std::thread::scope(|scope| loop {
        // Start every ready instance the slots allow.
        for index in 0..count {
            if running >= jobs {
                break;
            }
            if !selected[index] || started[index] {
                continue;
            }
            let instance = dag.get(index);
            let inputs_state = input_state(instance, &outcomes);
            if inputs_state == InputState::Failed {
                started[index] = true;
                outcomes[index] = Some(Outcome::Skipped);
                continue;
            }
            if inputs_state == InputState::Waiting {
                continue;
            }
            let needs_torch = instance.stage.resource() == Resource::Torch;
            if needs_torch && torch_busy {
                continue;
            }
            started[index] = true;
            running += 1;
            torch_busy |= needs_torch;
            let sender = sender.clone();
            let force = options.force.get(index).copied().unwrap_or(false);
            scope.spawn(move || {
                let outcome = match run_instance(dag, store, index, force) {
                    Ok(outcome) => outcome,
                    Err(err) => Outcome::Failed(err),
                };
                sender.send((index, outcome)).ok();
            });
        }

        if running == 0 {
            let pending = (0..count).any(|i| selected[i] && !started[i]);
            if !pending {
                break;
            }
            // Nothing runs and nothing can start: only skipped work is left.
            for index in 0..count {
                if selected[index] && !started[index] {
                    outcomes[index] = Some(Outcome::Skipped);
                    started[index] = true;
                }
            }
            break;
        }

        let Ok((index, outcome)) = receiver.recv() else { break };
        running -= 1;
        if dag.get(index).stage.resource() == Resource::Torch {
            torch_busy = false;
        }
        report(dag.get(index), &outcome);
        outcomes[index] = Some(outcome);
    });
    outcomes
}

#[derive(PartialEq, Eq)]
enum InputState {
    Ready,
    Waiting,
    Failed,
}

fn input_state(instance: &Instance, outcomes: &[Option<Outcome>]) -> InputState {
    let mut state = InputState::Ready;
    for upstream in instance.upstream() {
        match &outcomes[upstream] {
            Some(outcome) if outcome.is_done() => {}
            Some(_) => return InputState::Failed,
            None => state = InputState::Waiting,
        }
    }
    state
}

fn report(instance: &Instance, outcome: &Outcome) {
    let key = instance.key.short();
    match outcome {
        Outcome::Cached => tracing::debug!(instance = %instance.name, %key, "cache hit"),
        Outcome::Computed(took) => {
            tracing::info!("computed {} ({key}) in {:.1} s", instance.name, took.as_secs_f64())
        }
        Outcome::ComputedElsewhere => {
            tracing::info!("{} ({key}) was computed by another run meanwhile", instance.name)
        }
        Outcome::Failed(err) => tracing::error!("{} failed: {err:#}", instance.name),
        Outcome::Skipped => {}
    }
}

/// Runs one instance: uses a valid entry when there is one, else takes the
/// key's lock, checks again, computes into a temporary directory and
/// commits. `flawprobe exec-stage` calls this for a single instance, which is
/// the seam a cluster executor would use.
pub fn run_instance(dag: &Dag, store: &Store, index: usize, force: bool) -> Result<Outcome> {
    let instance = dag.get(index);
    let stage_name = instance.stage.name();
    let key = instance.key;
    if !force && check_entry(store, instance)? {
        return Ok(Outcome::Cached);
    }

    let _lock = store.lock_key(stage_name, &key)?;
    if !force && check_entry(store, instance)? {
        return Ok(Outcome::ComputedElsewhere);
    }
    tracing::info!("running {} ({})", instance.name, key.short());
    tracing::debug!(instance = %instance.name, key = %key, "cache miss");

    let mut inputs = BTreeMap::new();
    let mut input_keys = BTreeMap::new();
    for (role, input) in &instance.inputs {
        match input {
            Input::Instance(upstream) => {
                let upstream = dag.get(*upstream);
                inputs.insert(role.clone(), store.entry_dir(upstream.stage.name(), &upstream.key));
                input_keys.insert(role.clone(), upstream.key);
            }
            Input::Content(digest) => {
                input_keys.insert(role.clone(), *digest);
            }
        }
    }

    let pending = store.begin(stage_name, &key)?;
    let started = Instant::now();
    let context = StageContext {
        out_dir: pending.dir(),
        scratch_dir: store.scratch_dir(stage_name, &key),
        inputs,
        instance: &instance.name,
        store,
        key,
    };
    if let Err(err) = instance.stage.run(&context) {
        // The scratch folder stays for a resume; the half-written outputs go.
        store.discard(pending);
        return Err(anyhow!("stage {}: {err:#}", instance.name));
    }
    let took = started.elapsed();
    pause_for_fault_injection(stage_name);

    let manifest = Manifest {
        stage: stage_name.to_string(),
        key,
        version: instance.stage.version(),
        instance: instance.name.clone(),
        params: instance.stage.params(),
        inputs: input_keys,
        files: BTreeMap::new(),
        device: instance.stage.device(),
        seconds: took.as_secs_f64(),
        created_unix: unix_now(),
        flawprobe_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    if force && store.entry_dir(stage_name, &key).exists() {
        store.remove(stage_name, &key)?;
    }
    store.commit(pending, manifest)?;
    Ok(Outcome::Computed(took))
}

/// True when a valid entry exists; a damaged one is reported and moved
/// aside so it gets recomputed.
fn check_entry(store: &Store, instance: &Instance) -> Result<bool> {
    let stage = instance.stage.name();
    match store.lookup(stage, &instance.key) {
        Lookup::Valid(_) => Ok(true),
        Lookup::Missing => Ok(false),
        Lookup::Damaged(reason) => {
            tracing::warn!(
                "cache entry of {} ({}) is damaged and will be recomputed: {reason}",
                instance.name,
                instance.key.short()
            );
            let moved = store.set_aside(stage, &instance.key)?;
            tracing::warn!("moved the damaged entry to {}", moved.display());
            Ok(false)
        }
    }
}

/// Test hook: `FLAWPROBE_TEST_PAUSE=<stage>:<milliseconds>` sleeps after the
/// stage wrote its outputs and before they are committed, so tests can kill
/// a run at its most delicate point.
fn pause_for_fault_injection(stage: &str) {
    let Ok(spec) = std::env::var("FLAWPROBE_TEST_PAUSE") else { return };
    let Some((name, millis)) = spec.split_once(':') else { return };
    if name == stage {
        if let Ok(millis) = millis.parse::<u64>() {
            tracing::info!("pausing {millis} ms before committing {stage} (FLAWPROBE_TEST_PAUSE)");
            std::thread::sleep(Duration::from_millis(millis));
        }
    }
}
