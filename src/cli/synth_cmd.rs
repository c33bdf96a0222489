//! `flawprobe synth`: writes the built-in seeded texture dataset in the DTD
//! layout, so the pipeline runs where no real dataset is available.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::synth::{generate, SynthConfig};

/// Arguments of `flawprobe synth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder; receives images/<class>/*.png and concepts.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// Images per class.
    #[arg(long, default_value_t = SynthConfig::default().per_class)]
    pub per_class: usize,
    /// Side of the square images, in pixels.
    #[arg(long, default_value_t = SynthConfig::default().size)]
    pub size: u32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let config = SynthConfig { per_class: args.per_class, size: args.size, seed: args.seed };
    let summary = generate(&config, &args.out)?;
    tracing::info!(
        "wrote {} images of {} classes to {}",
        summary.images,
        summary.classes.len(),
        summary.images_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
