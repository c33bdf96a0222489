//! `flawprobe probe`: linear probes on a user's own feature and target tables.
//!
//! Features and targets are read from Arrow or Parquet files (features also
//! from a 2-D `.npy` array of f32 or f64); the two may be the same file.
//! NOTE: rows of the two files are matched by position, not by an id
//! column, so both must list the images in the same order. The result table is
//! described in [`crate::probe`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use ndarray::Array2;

use crate::probe::{self, Folds, ProbeData, ProbeKind, ProbeSpec};

/// Arguments of `flawprobe probe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Features table (Arrow, Parquet or a 2-D .npy array of f32 or f64).
    #[arg(long)]
    pub features: PathBuf,

    /// Targets table (Arrow or Parquet); defaults to the features file.
    #[arg(long)]
    pub targets: Option<PathBuf>,

    /// Output table (.parquet or .arrow), one row per (target, probe, alpha).
    #[arg(long)]
    pub out: PathBuf,

    /// Feature columns: names, or prefixes that match `<prefix><digits>`
    /// (`x` selects x0, x1, …). Default: the fixed-size-list column
    /// `activation`, or else every numeric column of the features file that
    /// is not a target, label or fold column.
    #[arg(long, value_delimiter = ',')]
    pub feature_columns: Vec<String>,

    /// Target columns, chosen like --feature-columns. Default: every float
    /// column of the targets file that is not a feature, label or fold column.
    #[arg(long, value_delimiter = ',')]
    pub target_columns: Vec<String>,

    /// Integer class-label column of the targets file for the class probes.
    #[arg(long)]
    pub label_column: Option<String>,

    /// Number of seeded cross-validation folds.
    #[arg(long, default_value_t = 5, conflicts_with = "fold_column")]
    pub folds: usize,

    /// Integer column (0..k) that assigns each row to a fold, instead of seeded folds.
    #[arg(long)]
    pub fold_column: Option<String>,

    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 0)]
    pub fold_seed: u64,

    /// Penalty strengths, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = probe::DEFAULT_ALPHAS)]
    pub alphas: Vec<f64>,

    /// Fit on raw features instead of standardising them per fold.
    #[arg(long)]
    pub no_standardize: bool,

    /// Probe kinds, comma-separated: ridge, ridge-classifier, logistic.
    #[arg(long, value_delimiter = ',', default_value = "ridge,ridge-classifier,logistic")]
    pub probes: Vec<String>,

    /// Seed of the row shuffle of the control probes.
    #[arg(long, default_value_t = 0)]
    pub control_seed: u64,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let spec = probe_spec(&args)?;
    let targets_path = args.targets.clone().unwrap_or_else(|| args.features.clone());
    let targets_table = crate::table::read(&targets_path)?;
    let features_table = if is_npy(&args.features) {
        None
    } else if targets_path == args.features {
        Some(targets_table.clone())
    } else {
        Some(crate::table::read(&args.features)?)
    };

    let reserved: Vec<&str> = [args.label_column.as_deref(), args.fold_column.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let (features, feature_names) = match &features_table {
        Some(table) => read_features(table, &args.feature_columns, &reserved, &args.target_columns)
            .with_context(|| format!("{}", args.features.display()))?,
        None => read_npy(&args.features)?,
    };
    let mut excluded = reserved.clone();
    if targets_path == args.features {
        excluded.extend(feature_names.iter().map(String::as_str));
    }
    let (targets, target_names) = read_targets(&targets_table, &args.target_columns, &excluded)
        .with_context(|| format!("{}", targets_path.display()))?;
    let labels = match &args.label_column {
        Some(name) => Some(integer_column(&targets_table, name).with_context(|| format!("{}", targets_path.display()))?),
        None => None,
    };
    if target_names.is_empty() && labels.is_none() {
        bail!("{}: no target columns and no --label-column, so there is nothing to probe", targets_path.display());
    }

    let folds = match &args.fold_column {
        Some(name) => {
            let values = integer_column(&targets_table, name).with_context(|| format!("{}", targets_path.display()))?;
            Folds::from_column(&values).with_context(|| format!("{}: fold column `{name}`", targets_path.display()))?
        }
        None => Folds::seeded(features.nrows(), args.folds, args.fold_seed)
            .with_context(|| format!("{}: cannot assign folds", args.features.display()))?,
    };
    let data = ProbeData {
        features: features.view(),
        feature_names: &feature_names,
        targets: targets.view(),
        target_names: &target_names,
        labels: args.label_column.as_deref().zip(labels.as_deref()),
    };
    tracing::info!(
        rows = features.nrows(),
        features = features.ncols(),
        targets = target_names.len(),
        folds = folds.count(),
        "fitting probes"
    );
    let rows = probe::run_probes(&data, &folds, &spec).with_context(|| {
        format!("probing features {} against targets {}", args.features.display(), targets_path.display())
    })?;
    let batch = probe::rows_to_batch(&rows)?;
    crate::table::write(&args.out, &batch)?;
    tracing::info!(rows = rows.len(), out = %args.out.display(), "wrote probe results");
    Ok(ExitCode::SUCCESS)
}

fn probe_spec(args: &Args) -> Result<ProbeSpec> {
    let mut probes = Vec::new();
    for name in &args.probes {
        match ProbeKind::parse(name) {
            Some(kind) => probes.push(kind),
            None => bail!("unknown probe `{name}` (expected ridge, ridge-classifier or logistic)"),
        }
    }
    if probes.iter().any(|&p| p != ProbeKind::Ridge) && args.label_column.is_none() {
        tracing::info!("no --label-column given, so the class probes are skipped");
    }
    Ok(ProbeSpec { probes, alphas: args.alphas.clone(), standardize: !args.no_standardize, control_seed: args.control_seed })
}

fn is_npy(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Names of the columns `patterns` select, in table order: a pattern is a
/// column name or a prefix followed only by digits.
fn select_columns(batch: &RecordBatch, patterns: &[String]) -> Result<Vec<String>> {
    let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut chosen = Vec::new();
    for pattern in patterns {
        let matches: Vec<&String> = if names.contains(pattern) {
            names.iter().filter(|n| *n == pattern).collect()
        } else {
            names
                .iter()
                .filter(|n| {
                    n.strip_prefix(pattern.as_str())
                        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
                })
                .collect()
        };
        if matches.is_empty() {
            bail!("no column is named `{pattern}` or matches `{pattern}<digits>`; columns are {}", names.join(", "));
        }
        chosen.extend(matches.into_iter().filter(|m| !chosen.contains(*m)).cloned().collect::<Vec<_>>());
    }
    Ok(chosen)
}

fn is_numeric(data_type: &DataType) -> bool {
    data_type.is_numeric()
}

fn read_features(
    batch: &RecordBatch,
    patterns: &[String],
    reserved: &[&str],
    target_patterns: &[String],
) -> Result<(Array2<f64>, Vec<String>)> {
    let names = if patterns.is_empty() {
        if let Some(column) = batch.column_by_name("activation") {
            return list_column(column, "activation");
        }
        let targets = if target_patterns.is_empty() { Vec::new() } else { select_columns(batch, target_patterns)? };
        numeric_names(batch, |name| !reserved.contains(&name) && !targets.iter().any(|t| t == name))
    } else {
        select_columns(batch, patterns)?
    };
    if names.len() == 1 {
        if let Some(column) = batch.column_by_name(&names[0]) {
            if matches!(column.data_type(), DataType::FixedSizeList(..)) {
                return list_column(column, &names[0]);
            }
        }
    }
    Ok((float_matrix(batch, &names)?, names))
}

fn read_targets(batch: &RecordBatch, patterns: &[String], excluded: &[&str]) -> Result<(Array2<f64>, Vec<String>)> {
    let names = if patterns.is_empty() {
        let floats = |t: &DataType| matches!(t, DataType::Float16 | DataType::Float32 | DataType::Float64);
        batch
            .schema()
            .fields()
            .iter()
            .filter(|f| floats(f.data_type()) && !excluded.contains(&f.name().as_str()))
            .map(|f| f.name().clone())
            .collect()
    } else {
        select_columns(batch, patterns)?
    };
    Ok((float_matrix(batch, &names)?, names))
}

fn numeric_names(batch: &RecordBatch, keep: impl Fn(&str) -> bool) -> Vec<String> {
    batch
        .schema()
        .fields()
        .iter()
        .filter(|f| is_numeric(f.data_type()) && keep(f.name()))
        .map(|f| f.name().clone())
        .collect()
}

/// Reads the named columns as f64, rows × columns. Nulls become NaN so the
/// probe's finiteness check names them.
fn float_matrix(batch: &RecordBatch, names: &[String]) -> Result<Array2<f64>> {
    let mut out = Array2::<f64>::zeros((batch.num_rows(), names.len()));
    for (j, name) in names.iter().enumerate() {
        let values = float_column(batch, name)?;
        out.column_mut(j).assign(&ndarray::Array1::from(values));
    }
    Ok(out)
}

fn float_column(batch: &RecordBatch, name: &str) -> Result<Vec<f64>> {
    let column = batch.column_by_name(name).with_context(|| format!("no column `{name}`"))?;
    if !is_numeric(column.data_type()) {
        bail!("column `{name}` has type {}, expected a number", column.data_type());
    }
    let cast = arrow::compute::cast(column, &DataType::Float64).with_context(|| format!("column `{name}`"))?;
    let values = cast.as_primitive::<Float64Type>();
    Ok((0..values.len()).map(|i| if values.is_null(i) { f64::NAN } else { values.value(i) }).collect())
}

fn integer_column(batch: &RecordBatch, name: &str) -> Result<Vec<i64>> {
    let column = batch.column_by_name(name).with_context(|| format!("no column `{name}`"))?;
    if !column.data_type().is_integer() {
        bail!("column `{name}` has type {}, expected integers", column.data_type());
    }
    let cast = arrow::compute::cast(column, &DataType::Int64).with_context(|| format!("column `{name}`"))?;
    let values = cast.as_primitive::<Int64Type>();
    if let Some(row) = (0..values.len()).find(|&i| values.is_null(i)) {
        bail!("column `{name}` has a null in row {row}");
    }
    Ok(values.values().to_vec())
}

/// A fixed-size-list column of floats (how activation files store a
/// layer's vectors) as rows × list size; feature names are `name[j]`.
fn list_column(column: &ArrayRef, name: &str) -> Result<(Array2<f64>, Vec<String>)> {
    let Some(list) = column.as_fixed_size_list_opt() else {
        bail!("column `{name}` has type {}, expected a fixed-size list of floats", column.data_type());
    };
    let width = list.value_length() as usize;
    if !is_numeric(list.values().data_type()) {
        bail!("column `{name}` holds {}, expected floats", list.values().data_type());
    }
    if list.null_count() > 0 {
        bail!("column `{name}` has null rows");
    }
    let values = arrow::compute::cast(list.values(), &DataType::Float64)?;
    let values = values.as_primitive::<Float64Type>();
    let start = list.offset() * width;
    let flat: Vec<f64> = (start..start + list.len() * width)
        .map(|i| if values.is_null(i) { f64::NAN } else { values.value(i) })
        .collect();
    let matrix = Array2::from_shape_vec((list.len(), width), flat)?;
    Ok((matrix, (0..width).map(|j| format!("{name}[{j}]")).collect()))
}

/// Reads a 2-D little-endian f32 or f64 `.npy` array in C order.
fn read_npy(path: &Path) -> Result<(Array2<f64>, Vec<String>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let invalid = |why: &str| anyhow::anyhow!("{}: not a supported .npy file: {why}", path.display());
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(invalid("missing the NUMPY magic"));
    }
    let (header_len, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return Err(invalid("unknown format version")),
    };
    let header = bytes
        .get(header_start..header_start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| invalid("truncated header"))?;
    let width = if header.contains("'<f4'") {
        4
    } else if header.contains("'<f8'") {
        8
    } else {
        return Err(invalid("dtype must be little-endian f32 or f64"));
    };
    if header.contains("'fortran_order': True") {
        return Err(invalid("Fortran order is not supported; save with np.ascontiguousarray"));
    }
    let shape = header
        .split("'shape':")
        .nth(1)
        .and_then(|rest| rest.split(['(', ')']).nth(1))
        .ok_or_else(|| invalid("no shape"))?;
    let dims: Vec<usize> = shape.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::parse).collect::<Result<_, _>>().map_err(|_| invalid("bad shape"))?;
    let [rows, columns] = dims[..] else {
        return Err(invalid("the array must be 2-D"));
    };
    let data = &bytes[header_start + header_len..];
    if data.len() != rows * columns * width {
        return Err(invalid("data size does not match the shape"));
    }
    let values: Vec<f64> = if width == 4 {
        data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).collect()
    } else {
        data.chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
    };
    let matrix = Array2::from_shape_vec((rows, columns), values)?;
    Ok((matrix, (0..columns).map(|j| format!("column {j}")).collect()))
}
