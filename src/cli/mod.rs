//! The command line: parses arguments, sets up logging, and hands each
//! command to the library. Errors are printed once, here.

mod concepts_cmd;
mod probe_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Break CNNs on purpose and probe what their layers still encode.
#[derive(Debug, Parser)]
#[command(name = "flawprobe", version, about)]
struct Cli {
    /// More log output on stderr (repeat for debug traces of cache hits and misses).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compute the concept measures of image files or folders.
    Concepts(concepts_cmd::Args),
    /// Fit cross-validated linear probes of targets from features.
    Probe(probe_cmd::Args),
}

/// Runs the command line and turns its outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let outcome = match cli.command {
        Command::Concepts(args) => concepts_cmd::run(args),
        Command::Probe(args) => probe_cmd::run(args),
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
        .with_target(false)
        .without_time()
        .init();
}
