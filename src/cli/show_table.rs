//! Prints the schema and first rows of an Arrow or Parquet file.

use std::path::Path;

use anyhow::Result;
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// Longest cell text printed; longer cells (pixel buffers, activation
/// vectors) are cut with an ellipsis.
const MAX_CELL_CHARS: usize = 48;

pub fn print_table(path: &Path, rows: usize) -> Result<()> {
    let batch = crate::table::read(path)?;
    let schema = batch.schema();
    println!("{} — {} rows", path.display(), batch.num_rows());
    println!("schema:");
    for field in schema.fields() {
        let nullable = if field.is_nullable() { ", nullable" } else { "" };
        println!("  {}: {}{nullable}", field.name(), field.data_type());
    }
    for (name, value) in schema.metadata() {
        println!("  metadata {name} = {}", shorten(value));
    }

    let shown = rows.min(batch.num_rows());
    if shown == 0 {
        return Ok(());
    }
    let options = FormatOptions::default().with_null("null");
    let formatters = batch
        .columns()
        .iter()
        .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()?;
    let mut table: Vec<Vec<String>> = vec![schema.fields().iter().map(|f| f.name().clone()).collect()];
    for row in 0..shown {
        table.push(formatters.iter().map(|f| shorten(&f.value(row).to_string())).collect());
    }
    let widths: Vec<usize> = (0..table[0].len())
        .map(|col| table.iter().map(|r| r[col].chars().count()).max().unwrap_or(0))
        .collect();
    println!("first {shown} rows:");
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("  {}", cells.join("  ").trim_end());
    }
    Ok(())
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_CELL_CHARS {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX_CELL_CHARS - 1).collect();
    format!("{cut}…")
}
