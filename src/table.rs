//! Reading and writing the tables stages exchange: Arrow IPC files
//! (`.arrow`) and Parquet files (`.parquet`), chosen by extension.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// A table file format, taken from a path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Arrow,
    Parquet,
}

impl Format {
    /// Picks the format from the extension: `.arrow`, `.ipc` or `.feather`
    /// for Arrow IPC files, `.parquet` or `.pq` for Parquet.
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("arrow" | "ipc" | "feather") => Ok(Format::Arrow),
            Some("parquet" | "pq") => Ok(Format::Parquet),
            _ => bail!(
                "{}: unknown table format (expected a .arrow or .parquet extension)",
                path.display()
            ),
        }
    }
}

/// Writes one record batch to `path` in the format its extension names.
pub fn write(path: &Path, batch: &RecordBatch) -> Result<()> {
    write_batches(path, batch.schema(), std::slice::from_ref(batch))
}

/// Writes record batches sharing `schema` to `path`.
pub fn write_batches(path: &Path, schema: Arc<Schema>, batches: &[RecordBatch]) -> Result<()> {
    let format = Format::from_path(path)?;
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let out = BufWriter::new(file);
    match format {
        Format::Arrow => {
            let mut writer = FileWriter::try_new(out, &schema)?;
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
        Format::Parquet => {
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .build();
            let mut writer = ArrowWriter::try_new(out, schema, Some(props))?;
            for batch in batches {
                writer.write(batch)?;
            }
            writer.close()?;
        }
    }
    Ok(())
}

/// Reads a whole Arrow or Parquet file into one batch.
pub fn read(path: &Path) -> Result<RecordBatch> {
    let (schema, batches) = read_batches(path)?;
    arrow::compute::concat_batches(&schema, &batches)
        .with_context(|| format!("{}: cannot concatenate its record batches", path.display()))
}

/// Reads the schema and all record batches of an Arrow or Parquet file.
pub fn read_batches(path: &Path) -> Result<(Arc<Schema>, Vec<RecordBatch>)> {
    let format = Format::from_path(path)?;
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let context = || format!("{}: not a readable {format:?} file", path.display());
    match format {
        Format::Arrow => {
            let reader = FileReader::try_new(BufReader::new(file), None).with_context(context)?;
            let schema = reader.schema();
            let batches = reader.collect::<Result<Vec<_>, _>>().with_context(context)?;
            Ok((schema, batches))
        }
        Format::Parquet => {
            let builder = ParquetRecordBatchReaderBuilder::try_new(file).with_context(context)?;
            let schema = builder.schema().clone();
            let reader = builder.build().with_context(context)?;
            let batches = reader.collect::<Result<Vec<_>, _>>().with_context(context)?;
            Ok((schema, batches))
        }
    }
}

/// The column `name` of `batch` as array type `T`, with an error naming the
/// file, the column and the expected type when it is missing, differs or
/// has null values.
pub fn column<'a, T: arrow::array::Array + 'static>(
    batch: &'a RecordBatch,
    name: &str,
    file: &Path,
) -> Result<&'a T> {
    let Some(array) = batch.column_by_name(name) else {
        bail!("{}: missing column {name:?}", file.display());
    };
    if array.null_count() > 0 {
        bail!("{}: column {name:?} has null values", file.display());
    }
    array.as_any().downcast_ref::<T>().with_context(|| {
        format!(
            "{}: column {name:?} has type {}, expected {}",
            file.display(),
            array.data_type(),
            std::any::type_name::<T>().rsplit("::").next().unwrap_or("another type")
        )
    })
}
