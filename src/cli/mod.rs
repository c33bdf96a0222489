//! The command line: parses arguments, sets up logging, and hands each
//! command to the library. Errors are printed once, here.

mod concepts_cmd;
mod pipeline_cmds;
mod probe_cmd;
mod show_table;
mod synth_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Break CNNs on purpose and probe what their layers still encode.
#[derive(Debug, Parser)]
#[command(name = "flawprobe", version, about)]
struct Cli {
    /// More log output on stderr (repeat for debug traces of cache hits and misses).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    /// The stage store.
    #[arg(long, global = true, env = "FLAWPROBE_CACHE", default_value = "cache")]
    cache: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a pipeline: compute what is not cached, link outputs under results/.
    Run(pipeline_cmds::RunArgs),
    /// Say which stage instances are cached and why the others will run.
    Status(pipeline_cmds::StatusArgs),
    /// Print the pipeline's DAG of stage instances (DOT or Mermaid).
    Dag(pipeline_cmds::DagArgs),
    /// Print the schema and first rows of an output file or a stage's outputs.
    Show(pipeline_cmds::ShowArgs),
    /// Remove cache entries no pipeline references, and stale temporary files.
    Gc(pipeline_cmds::GcArgs),
    /// Run one stage instance whose inputs are cached (for cluster executors).
    ExecStage(pipeline_cmds::ExecStageArgs),
    /// Compute the concept measures of image files or folders.
    Concepts(concepts_cmd::Args),
    /// Fit cross-validated linear probes of targets from features.
    Probe(probe_cmd::Args),
    /// Write the built-in seeded texture dataset (DTD layout).
    Synth(synth_cmd::Args),
}

/// Runs the command line and turns its outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let cache = cli.cache;
    let outcome = match cli.command {
        Command::Run(args) => pipeline_cmds::run(&cache, args),
        Command::Status(args) => pipeline_cmds::status(&cache, args),
        Command::Dag(args) => pipeline_cmds::dag(&cache, args),
        Command::Show(args) => pipeline_cmds::show(&cache, args),
        Command::Gc(args) => pipeline_cmds::gc(&cache, args),
        Command::ExecStage(args) => pipeline_cmds::exec_stage(&cache, args),
        Command::Concepts(args) => concepts_cmd::run(args),
        Command::Probe(args) => probe_cmd::run(args),
        Command::Synth(args) => synth_cmd::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "flawprobe=info",
        1 => "flawprobe=debug",
        _ => "flawprobe=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLAWPROBE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .init();
}
