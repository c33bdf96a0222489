//! `flawprobe concepts`: concept measures of a user's own images.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::concepts::{self, ConceptValues, Semantics};
use crate::imageio;

/// Images decoded and measured per parallel batch. Only the worker threads'
/// current images are held in memory; the batch bounds how far the run
/// goes past the first bad file when `--skip-bad` is not set.
const BATCH_SIZE: usize = 256;

/// Arguments of `flawprobe concepts`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Image files or folders (searched recursively for JPEG and PNG files).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,

    /// Output table: one row per image, a `path` column and one column per
    /// concept (.parquet or .arrow).
    #[arg(long, short)]
    pub out: PathBuf,

    /// Definitions of `red` and `colorfulness`: `corrected`, or
    /// `reference-code` to reproduce the study's published code.
    #[arg(long, default_value_t = Semantics::Corrected)]
    pub semantics: Semantics,

    /// Skip files that cannot be decoded, list them on stderr and exit with
    /// success; without it the first bad file stops the run.
    #[arg(long)]
    pub skip_bad: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::table::Format::from_path(&args.out)?;
    let files = imageio::list_images(&args.paths).context("cannot list the input images")?;
    if files.is_empty() {
        bail!("no JPEG or PNG files found in the given paths");
    }

    let progress = progress_bar(files.len());
    let mut rows: Vec<(String, ConceptValues)> = Vec::with_capacity(files.len());
    let mut skipped = Vec::new();
    for batch in files.chunks(BATCH_SIZE) {
        let results: Vec<_> = batch
            .par_iter()
            .map(|path| {
                let outcome = measure_file(path, args.semantics);
                progress.inc(1);
                (path, outcome)
            })
            .collect();
        for (path, outcome) in results {
            match outcome {
                Ok(values) => rows.push((path.to_string_lossy().into_owned(), values)),
                Err(reason) if args.skip_bad => skipped.push(reason),
                Err(reason) => {
                    progress.abandon();
                    bail!("{reason} (pass --skip-bad to skip such files)");
                }
            }
        }
    }
    progress.finish_and_clear();

    write_table(&args.out, &rows)?;
    report_skipped(&skipped);
    tracing::info!(
        "wrote concepts of {} images to {}",
        rows.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Loads and measures one file; the error message names the file.
fn measure_file(path: &Path, semantics: Semantics) -> Result<ConceptValues, String> {
    let image = imageio::load_rgb(path).map_err(|err| err.to_string())?;
    concepts::measure(&image.pixels, image.width as usize, image.height as usize, semantics)
        .map_err(|err| format!("{}: {err}", path.display()))
}

fn progress_bar(length: usize) -> ProgressBar {
    let bar = ProgressBar::new(length as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} images, {per_sec}, eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

fn write_table(out: &Path, rows: &[(String, ConceptValues)]) -> anyhow::Result<()> {
    let mut fields = vec![Field::new("path", DataType::Utf8, false)];
    fields.extend(concepts::concept_fields());
    let schema = Arc::new(Schema::new(fields));

    let paths: StringArray = rows.iter().map(|(path, _)| Some(path.as_str())).collect();
    let values: Vec<ConceptValues> = rows.iter().map(|(_, values)| *values).collect();
    let mut columns: Vec<ArrayRef> = vec![Arc::new(paths)];
    columns.extend(concepts::concept_columns(&values));

    let batch = RecordBatch::try_new(schema, columns).context("cannot assemble the concepts table")?;
    crate::table::write(out, &batch).with_context(|| format!("cannot write {}", out.display()))
}

/// Prints the reasons (each naming its file) of the skipped images.
fn report_skipped(reasons: &[String]) {
    if reasons.is_empty() {
        return;
    }
    eprintln!("skipped {} files that could not be measured:", reasons.len());
    for reason in reasons {
        eprintln!("  {reason}");
    }
}
