//! `flawprobe concepts`: concept measures of a user's own images.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `flawprobe concepts`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Image files or folders (searched recursively for JPEG and PNG files).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the concepts command is not built yet")
}
