//! Throughput of the concept measures on a folder of images, for
//! `bench/concepts.sh`.
//!
//! Usage: `bench-concepts FOLDER`. Prints two `key=value` lines: `measure`
//! times only [`measure`] on already-decoded pixels (decoding happens in
//! untimed batches so memory stays bounded), `end_to_end` times decoding
//! plus measuring. Both run on rayon's thread pool (`RAYON_NUM_THREADS`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rayon::prelude::*;

use flawprobe::concepts::{measure, Semantics};
use flawprobe::imageio::{list_images, load_rgb, RgbImage};

/// Images decoded per untimed batch of the `measure` run.
const BATCH_SIZE: usize = 64;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let Some(folder) = std::env::args_os().nth(1).map(PathBuf::from) else {
        bail!("usage: bench-concepts FOLDER");
    };
    let files = list_images(&[folder]).context("cannot list the images")?;
    if files.is_empty() {
        bail!("no images found");
    }
    let threads = rayon::current_num_threads();

    let mut measure_time = Duration::ZERO;
    let mut pixels = 0usize;
    for batch in files.chunks(BATCH_SIZE) {
        let images: Vec<RgbImage> = batch
            .par_iter()
            .map(|path| load_rgb(path))
            .collect::<Result<_, _>>()?;
        pixels += images.iter().map(RgbImage::pixel_count).sum::<usize>();

        let start = Instant::now();
        images
            .par_iter()
            .map(|image| {
                let (width, height) = (image.width as usize, image.height as usize);
                measure(&image.pixels, width, height, Semantics::Corrected)
            })
            .collect::<Result<Vec<_>, _>>()?;
        measure_time += start.elapsed();
    }
    report("measure", files.len(), pixels, measure_time, threads);

    let start = Instant::now();
    files
        .par_iter()
        .map(|path| -> anyhow::Result<_> {
            let image = load_rgb(path)?;
            let (width, height) = (image.width as usize, image.height as usize);
            Ok(measure(&image.pixels, width, height, Semantics::Corrected)?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    report("end_to_end", files.len(), pixels, start.elapsed(), threads);
    Ok(())
}

fn report(name: &str, images: usize, pixels: usize, elapsed: Duration, threads: usize) {
    let seconds = elapsed.as_secs_f64();
    println!(
        "{name} images={images} mpixels={:.3} seconds={seconds:.4} threads={threads}",
        pixels as f64 / 1e6
    );
}
