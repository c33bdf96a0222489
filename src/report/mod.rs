//! The report: figures (PNG and SVG), a self-contained `report.html` and
//! `summary.md`, drawn from the probe table and, when given, the training
//! logs.
//!
//! Every number is taken at the best alpha of its probe group (the rows
//! whose `best_alpha` is true) and, except in the per-epoch figures, at the
//! final epoch probed for each model. Seeds are aggregated as in
//! [`data::Estimate`]: the mean of the fold means, the population std of the
//! seed means for tables, and the std over all seed × fold scores for the
//! error bars of the final-epoch figures.

mod analysis;
mod data;
mod figures;
mod html;
mod plot;
mod summary;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub use analysis::{ConceptGroup, COLOUR_CONCEPTS, TEXTURE_CONCEPTS};
pub use data::{Estimate, Model};

pub const HTML_FILE: &str = "report.html";
pub const SUMMARY_FILE: &str = "summary.md";

/// The files a report run wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSummary {
    pub html: PathBuf,
    pub summary: PathBuf,
    pub figures: Vec<FigureFiles>,
    /// Figures left out, with the reason (also stated in the HTML).
    pub skipped: Vec<SkippedFigure>,
}

/// One figure's two renderings, sharing a basename.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureFiles {
    pub name: String,
    pub png: PathBuf,
    pub svg: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SkippedFigure {
    pub name: String,
    pub reason: String,
}

/// Writes the figures, `report.html` and `summary.md` into `out_dir`
/// (created when missing).
///
/// Fails when a table cannot be read or lacks a required column (the error
/// names the file and the column), or when a file cannot be written. A
/// figure whose data is absent, such as the training curves without a
/// training table, is skipped with a note instead.
pub fn write_report(
    probes: &Path,
    training: Option<&Path>,
    out_dir: &Path,
    title: &str,
) -> Result<ReportSummary> {
    let table = data::read_probes(probes)?;
    let training_rows = training.map(data::read_training).transpose()?;
    fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create the report folder {}", out_dir.display()))?;

    let analysis = analysis::Analysis::new(&table);
    let sections = figures::plan(&analysis, training_rows.as_deref());
    let mut written = Vec::new();
    let mut skipped = Vec::new();
    let mut svgs = Vec::new();
    for section in &sections {
        match &section.figure {
            Ok(figure) => {
                let (files, svg) = write_figure(figure, out_dir)?;
                written.push(files);
                svgs.push(Some(svg));
            }
            Err(reason) => {
                tracing::info!("report: skipping figure {}: {reason}", section.name);
                skipped.push(SkippedFigure { name: section.name.to_string(), reason: reason.clone() });
                svgs.push(None);
            }
        }
    }

    let summary = summary::summarise(&analysis);
    let embedded: Vec<html::Embedded> = sections
        .iter()
        .zip(&svgs)
        .map(|(section, svg)| html::Embedded { section, svg: svg.as_deref() })
        .collect();
    let html_path = out_dir.join(HTML_FILE);
    write_text(&html_path, &html::render(title, &analysis, &summary, &embedded))?;
    let summary_path = out_dir.join(SUMMARY_FILE);
    write_text(&summary_path, &summary::to_markdown(title, &summary, &analysis, &sections))?;

    Ok(ReportSummary { html: html_path, summary: summary_path, figures: written, skipped })
}

/// Writes `<name>.svg` and `<name>.png` and returns the SVG text for
/// embedding.
fn write_figure(figure: &plot::Figure, out_dir: &Path) -> Result<(FigureFiles, String)> {
    let svg_path = out_dir.join(format!("{}.svg", figure.name));
    let png_path = out_dir.join(format!("{}.png", figure.name));
    let svg = plot::render_svg(figure).with_context(|| format!("figure {}", figure.name))?;
    write_text(&svg_path, &svg)?;
    plot::write_png(figure, &png_path).with_context(|| format!("figure {}", figure.name))?;
    let files = FigureFiles { name: figure.name.clone(), png: png_path, svg: svg_path };
    Ok((files, svg))
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
