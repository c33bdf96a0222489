//! `flawprobe probe`: linear probes on a user's own feature and target tables.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `flawprobe probe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Features table (Arrow, Parquet or .npy).
    #[arg(long)]
    pub features: PathBuf,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the probe command is not built yet")
}
