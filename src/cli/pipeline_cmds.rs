//! The pipeline commands: `run`, `status`, `dag`, `show`, `gc` and
//! `exec-stage`.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::engine::{self, Dag, Lookup, Outcome, RunOptions, Store};
use crate::engine::history::History;
use crate::pipeline::{self, Pipeline, Plan};

pub const DEFAULT_PIPELINE: &str = "pipelines/dtd10.toml";

/// Arguments of `flawprobe run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The pipeline file.
    #[arg(default_value = DEFAULT_PIPELINE)]
    pub pipeline: PathBuf,
    /// Run only the instances of this stage and what they need.
    #[arg(long, value_name = "STAGE")]
    pub until: Option<String>,
    /// Recompute the instances of this stage even when cached (repeatable).
    #[arg(long, value_name = "STAGE")]
    pub force: Vec<String>,
    /// Print what would run and why, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How many stage instances may run at once.
    #[arg(long, short, default_value_t = default_jobs())]
    pub jobs: usize,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Arguments of `flawprobe status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[arg(default_value = DEFAULT_PIPELINE)]
    pub pipeline: PathBuf,
}

/// Output formats of `flawprobe dag`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DagFormat {
    Dot,
    Mermaid,
}

/// Arguments of `flawprobe dag`.
#[derive(Debug, clap::Args)]
pub struct DagArgs {
    #[arg(default_value = DEFAULT_PIPELINE)]
    pub pipeline: PathBuf,
    #[arg(long, value_enum, default_value = "dot")]
    pub format: DagFormat,
}

/// Arguments of `flawprobe show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// An Arrow or Parquet file, or a stage name of the pipeline.
    pub target: String,
    /// The pipeline whose stage to show.
    #[arg(long, default_value = DEFAULT_PIPELINE)]
    pub pipeline: PathBuf,
    /// How many rows to print.
    #[arg(long, default_value_t = 10)]
    pub rows: usize,
}

/// Arguments of `flawprobe gc`.
#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// The folder of pipeline files whose entries are kept.
    #[arg(long, default_value = "pipelines")]
    pub pipelines: PathBuf,
    /// List what would be removed, and remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `flawprobe exec-stage`.
#[derive(Debug, clap::Args)]
pub struct ExecStageArgs {
    pub pipeline: PathBuf,
    /// The instance name as `status` prints it, or its key.
    pub instance: String,
}

fn open_plan(cache: &Path, pipeline: &Path) -> Result<(Store, Plan)> {
    let store = Store::open(cache)?;
    let pipeline = Pipeline::load(pipeline)?;
    let plan = pipeline::plan(pipeline, &store)?;
    Ok((store, plan))
}

pub fn run(cache: &Path, args: RunArgs) -> Result<ExitCode> {
    let store = Store::open(cache)?;
    let removed = store.clean_stale()?;
    if removed > 0 {
        tracing::info!("removed {removed} temporary directories left by interrupted runs");
    }
    let pipeline = Pipeline::load(&args.pipeline)?;
    let plan = pipeline::plan(pipeline, &store)?;
    let dag = &plan.dag;

    let selected = match &args.until {
        Some(stage) => dag.with_upstream(&stage_instances(dag, stage)?),
        None => vec![true; dag.len()],
    };
    let mut force = vec![false; dag.len()];
    for stage in &args.force {
        for index in stage_instances(dag, stage)? {
            force[index] = true;
        }
    }

    if args.dry_run {
        print_status(&store, &plan, &selected, &force)?;
        store.stat_cache().save()?;
        return Ok(ExitCode::SUCCESS);
    }

    let options = RunOptions { jobs: args.jobs, force };
    let outcomes = engine::execute(dag, &store, &selected, &options);
    let done: Vec<bool> = outcomes.iter().map(|o| o.as_ref().is_some_and(Outcome::is_done)).collect();

    let mut history = History::load(cache, &plan.pipeline.name);
    history.update(dag, &done);
    history.save(cache, &plan.pipeline.name)?;
    store.stat_cache().save()?;
    materialise(&store, &plan, &done)?;

    summarise(dag, &outcomes)
}

fn summarise(dag: &Dag, outcomes: &[Option<Outcome>]) -> Result<ExitCode> {
    let (mut computed, mut cached, mut failed, mut skipped) = (0, 0, 0, 0);
    let mut elsewhere = 0;
    for outcome in outcomes.iter().flatten() {
        match outcome {
            Outcome::Cached => cached += 1,
            Outcome::Computed(_) => computed += 1,
            Outcome::ComputedElsewhere => elsewhere += 1,
            Outcome::Failed(_) => failed += 1,
            Outcome::Skipped => skipped += 1,
        }
    }
    if elsewhere > 0 {
        tracing::info!("{elsewhere} computed by another run meanwhile");
    }
    tracing::info!("{computed} computed, {cached} cached, {failed} failed, {skipped} skipped");
    let errors: Vec<String> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(index, outcome)| match outcome {
            Some(Outcome::Failed(err)) => Some(format!("{}: {err:#}", dag.get(index).name)),
            _ => None,
        })
        .collect();
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        bail!("{} stage instance(s) failed:\n  {}", errors.len(), errors.join("\n  "))
    }
}

fn stage_instances(dag: &Dag, stage: &str) -> Result<Vec<usize>> {
    let instances = dag.of_stage(stage);
    if instances.is_empty() {
        bail!(
            "this pipeline has no stage {stage:?}; its stages are: {}",
            dag.stage_names().join(", ")
        );
    }
    Ok(instances)
}

pub fn status(cache: &Path, args: StatusArgs) -> Result<ExitCode> {
    let (store, plan) = open_plan(cache, &args.pipeline)?;
    let selected = vec![true; plan.dag.len()];
    let force = vec![false; plan.dag.len()];
    print_status(&store, &plan, &selected, &force)?;
    store.stat_cache().save()?;
    Ok(ExitCode::SUCCESS)
}

/// Prints one line per selected instance: `cached` or `will run` with the
/// reason. Looks entries up without moving damaged ones.
fn print_status(store: &Store, plan: &Plan, selected: &[bool], force: &[bool]) -> Result<()> {
    let history = History::load(store.root(), &plan.pipeline.name);
    let mut out = std::io::stdout().lock();
    let mut to_run = 0;
    for (index, instance) in plan.dag.instances().iter().enumerate() {
        if !selected[index] {
            continue;
        }
        let key = instance.key.short();
        let reason = match store.lookup(instance.stage.name(), &instance.key) {
            Lookup::Valid(_) if !force[index] => None,
            Lookup::Valid(_) => Some("forced with --force".to_string()),
            Lookup::Damaged(reason) => Some(format!("its entry is damaged ({reason})")),
            Lookup::Missing => Some(upstream_or_history(plan, &history, index)),
        };
        match reason {
            None => writeln!(out, "cached    {} ({key})", instance.name)?,
            Some(reason) => {
                to_run += 1;
                writeln!(out, "will run  {} ({key}): {reason}", instance.name)?
            }
        }
    }
    if to_run == 0 {
        writeln!(out, "everything is cached")?;
    } else {
        writeln!(out, "{to_run} stage instance(s) will run")?;
    }
    Ok(())
}

fn upstream_or_history(plan: &Plan, history: &History, index: usize) -> String {
    history.explain(&plan.dag, plan.dag.get(index))
}

pub fn dag(cache: &Path, args: DagArgs) -> Result<ExitCode> {
    let (_store, plan) = open_plan(cache, &args.pipeline)?;
    let dag = &plan.dag;
    let mut out = std::io::stdout().lock();
    match args.format {
        DagFormat::Dot => {
            writeln!(out, "digraph \"{}\" {{", plan.pipeline.name)?;
            writeln!(out, "  rankdir=LR;")?;
            for (index, instance) in dag.instances().iter().enumerate() {
                writeln!(out, "  n{index} [label=\"{}\"];", instance.name.replace('"', "'"))?;
            }
            for (upstream, index) in edges(dag) {
                writeln!(out, "  n{upstream} -> n{index};")?;
            }
            writeln!(out, "}}")?;
        }
        DagFormat::Mermaid => {
            writeln!(out, "flowchart LR")?;
            for (index, instance) in dag.instances().iter().enumerate() {
                writeln!(out, "  n{index}[\"{}\"]", instance.name.replace('"', "'"))?;
            }
            for (upstream, index) in edges(dag) {
                writeln!(out, "  n{upstream} --> n{index}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The DAG's edges (upstream, downstream), each once, although an instance
/// may take one input under several roles.
fn edges(dag: &Dag) -> Vec<(usize, usize)> {
    let mut edges: Vec<(usize, usize)> = dag
        .instances()
        .iter()
        .enumerate()
        .flat_map(|(index, instance)| instance.upstream().map(move |upstream| (upstream, index)))
        .collect();
    edges.sort_unstable();
    edges.dedup();
    edges
}

pub fn show(cache: &Path, args: ShowArgs) -> Result<ExitCode> {
    let as_path = Path::new(&args.target);
    if as_path.exists() {
        super::show_table::print_table(as_path, args.rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.target.contains('/') || is_table(&args.target) {
        bail!("{}: file not found", args.target);
    }
    let (store, plan) = open_plan(cache, &args.pipeline)?;
    let instances = plan.dag.of_stage(&args.target);
    if instances.is_empty() {
        bail!(
            "{} is neither a file nor a stage of {} (stages: {})",
            args.target,
            plan.pipeline.path.display(),
            plan.dag.stage_names().join(", ")
        );
    }
    for index in instances {
        let instance = plan.dag.get(index);
        let Lookup::Valid(manifest) = store.lookup(instance.stage.name(), &instance.key) else {
            println!("{}: not computed yet (run `flawprobe run` first)", instance.name);
            continue;
        };
        let dir = store.entry_dir(instance.stage.name(), &instance.key);
        for file in manifest.files.keys().filter(|name| is_table(name)) {
            println!("== {} — {file}", instance.name);
            super::show_table::print_table(&dir.join(file), args.rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn is_table(name: &str) -> bool {
    name.ends_with(".arrow") || name.ends_with(".parquet")
}

pub fn gc(cache: &Path, args: GcArgs) -> Result<ExitCode> {
    let store = Store::open(cache)?;
    let mut keep = HashSet::new();
    let mut files: Vec<PathBuf> = fs::read_dir(&args.pipelines)
        .with_context(|| format!("cannot list the pipeline folder {}", args.pipelines.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for file in &files {
        let pipeline = Pipeline::load(file)?;
        let name = pipeline.name.clone();
        match pipeline::plan(pipeline, &store) {
            Ok(plan) => {
                for instance in plan.dag.instances() {
                    keep.insert((instance.stage.name().to_string(), instance.key));
                }
            }
            // A pipeline that cannot expand now (its dataset is elsewhere)
            // keeps the entries of its last recorded run.
            Err(err) => {
                tracing::warn!("{} does not expand ({err:#}); keeping the entries of its last run", file.display());
                for record in History::load(cache, &name).instances.values() {
                    keep.insert((record.stage.clone(), record.key));
                }
            }
        }
    }

    let mut removed = 0;
    for (stage, key) in store.entries()? {
        if keep.contains(&(stage.clone(), key)) {
            continue;
        }
        println!("{} {stage}/{}", if args.dry_run { "would remove" } else { "removed" }, key.short());
        if !args.dry_run {
            store.remove(&stage, &key)?;
        }
        removed += 1;
    }
    if !args.dry_run {
        let stale = store.clean_stale()?;
        let damaged = store.remove_damaged()?;
        let scratch = store.remove_scratch_except(&keep);
        println!(
            "removed {removed} entries, {stale} stale temporary directories, {damaged} damaged entries, {scratch} unused scratch folders"
        );
    } else {
        println!("{removed} entries would be removed");
    }
    store.stat_cache().save()?;
    Ok(ExitCode::SUCCESS)
}

pub fn exec_stage(cache: &Path, args: ExecStageArgs) -> Result<ExitCode> {
    let (store, plan) = open_plan(cache, &args.pipeline)?;
    let dag = &plan.dag;
    let Some(index) = (0..dag.len()).find(|&i| {
        let instance = dag.get(i);
        instance.name == args.instance || instance.key.to_hex().starts_with(&args.instance)
    }) else {
        bail!("{} has no stage instance {:?} (see `flawprobe status`)", args.pipeline.display(), args.instance);
    };
    for upstream in dag.get(index).upstream() {
        let input = dag.get(upstream);
        if !matches!(store.lookup(input.stage.name(), &input.key), Lookup::Valid(_)) {
            bail!("input {} of {} is not cached; run it first", input.name, args.instance);
        }
    }
    let outcome = engine::run_instance(dag, &store, index, false)?;
    store.stat_cache().save()?;
    println!("{}: {:?}", dag.get(index).name, outcome);
    Ok(ExitCode::SUCCESS)
}

/// Links the newest outputs of the pipeline under `results/<pipeline>/`: a
/// stage with one instance directly, the instances of a sweep in one folder
/// each, named by their coordinates.
fn materialise(store: &Store, plan: &Plan, done: &[bool]) -> Result<()> {
    let results = Path::new("results").join(&plan.pipeline.name);
    // Two runs of one pipeline may finish together; one rebuilds the folder
    // at a time.
    let _lock = store.lock_named(&format!("results-{}", plan.pipeline.name))?;
    if results.exists() {
        fs::remove_dir_all(&results).with_context(|| format!("cannot clear {}", results.display()))?;
    }
    let dag = &plan.dag;
    for (index, instance) in dag.instances().iter().enumerate() {
        if !done[index] {
            continue;
        }
        let stage = instance.stage.name();
        let single = dag.of_stage(stage).len() == 1;
        let target_dir = if single {
            results.clone()
        } else {
            results.join(stage).join(instance.coordinates())
        };
        let entry = store.entry_dir(stage, &instance.key);
        let entry = fs::canonicalize(&entry).unwrap_or(entry);
        let Lookup::Valid(manifest) = store.lookup(stage, &instance.key) else { continue };
        for file in manifest.files.keys() {
            let link = target_dir.join(file);
            fs::create_dir_all(link.parent().unwrap_or(&target_dir))?;
            std::os::unix::fs::symlink(entry.join(file), &link)
                .with_context(|| format!("cannot link {}", link.display()))?;
        }
    }
    Ok(())
}
