use std::fmt;

/// What a column of probe input is used as; errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Feature,
    Target,
    Label,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Feature => "feature",
            Role::Target => "target",
            Role::Label => "label",
        })
    }
}

/// Why a probe could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{role} column `{column}` has the non-finite value {value} in row {row}")]
    NonFinite { role: Role, column: String, row: usize, value: f64 },

    #[error("{rows} rows are too few for {folds} folds: every fold needs at least one row")]
    TooFewRows { rows: usize, folds: usize },

    #[error("cross-validation needs at least 2 folds, got {folds}")]
    TooFewFolds { folds: usize },

    #[error("the features have {features} rows but the {what} has {other}")]
    RowMismatch { what: String, features: usize, other: usize },

    #[error("fold column: fold {fold} is empty (fold values must be 0..k with every value used)")]
    EmptyFold { fold: usize },

    #[error("fold column: invalid fold value {value} in row {row} (expected 0..{folds})")]
    InvalidFold { value: i64, row: usize, folds: usize },

    #[error("label column `{column}` has a single class ({class}); a class probe needs at least two")]
    SingleClass { column: String, class: i64 },

    #[error(
        "label column `{column}`: the training rows of fold {fold} have a single class ({class}); \
         use fewer folds or more rows per class"
    )]
    SingleClassInFold { column: String, fold: usize, class: i64 },

    #[error("invalid alpha {alpha}: a penalty must be finite and greater than 0")]
    InvalidAlpha { alpha: f64 },

    #[error("no alphas given")]
    NoAlphas,

    #[error("no feature columns")]
    NoFeatures,

    #[error("{count} names given for {columns} {role} columns")]
    NameCount { role: Role, count: usize, columns: usize },

    #[error("a matrix of order {size} is too large for LAPACK's 32-bit sizes")]
    TooLarge { size: usize },

    #[error("LAPACK routine {routine} failed (info = {info})")]
    Lapack { routine: &'static str, info: i32 },

    #[error("internal error: a matrix passed to LAPACK has an unexpected memory layout")]
    Layout,

    #[error("internal error: a thread fitting ridge folds panicked")]
    WorkerPanicked,
}
