//! Ridge regression with an intercept over a whole alpha path, one
//! factorisation per fold.
//!
//! With training features `X` (centred, and standardised when asked) and
//! centred targets `Y`, ridge minimises `‖Y − X W‖² + α ‖W‖²`, so
//! `W = (XᵀX + αI)⁻¹ XᵀY`, or in the dual form `W = Xᵀ (XXᵀ + αI)⁻¹ Y`
//! when there are more features than training rows. The smaller Gram
//! matrix `S` is reduced once per fold to tridiagonal form `S = Q T Qᵀ`
//! (Householder, LAPACK `dsytrd`); then for every alpha and every target
//! `(S + αI)⁻¹ B = Q (T + αI)⁻¹ Qᵀ B` costs a tridiagonal solve, which is
//! linear in the order. This is the same solution scikit-learn's `Ridge`
//! computes (its Cholesky solver), to rounding.

use ndarray::{s, Array1, Array2, Array3, ArrayView2, Axis, ShapeBuilder};

use std::sync::atomic::{AtomicUsize, Ordering};

use super::lapack::{blas_threads, gram, set_blas_threads, Gram, Tridiagonal};
use super::{check_alphas, check_finite, check_rows, Folds, ProbeError, Role};

/// Per-column centring and scaling learnt on the training rows of a fold,
/// as scikit-learn's `StandardScaler` does it: population standard
/// deviation, and scale 1 for a column whose variance is within rounding
/// of zero. Without standardisation the scale is 1 throughout, so the
/// columns are only centred (which is how scikit-learn's `Ridge` fits an
/// intercept).
pub(crate) struct Scaler {
    mean: Array1<f64>,
    scale: Array1<f64>,
}

impl Scaler {
    pub(crate) fn fit(x: ArrayView2<f64>, rows: &[usize], standardize: bool) -> Scaler {
        let columns = x.ncols();
        let count = rows.len() as f64;
        let mut mean = Array1::<f64>::zeros(columns);
        for &row in rows {
            mean += &x.row(row);
        }
        mean /= count;
        let mut scale = Array1::<f64>::ones(columns);
        if standardize {
            let mut squares = Array1::<f64>::zeros(columns);
            let mut residual = Array1::<f64>::zeros(columns);
            for &row in rows {
                let centred = &x.row(row) - &mean;
                residual += &centred;
                squares += &(&centred * &centred);
            }
            for j in 0..columns {
                // The correction term removes the rounding error of the mean.
                let variance = (squares[j] - residual[j] * residual[j] / count) / count;
                if !is_constant(variance, mean[j], count) {
                    scale[j] = variance.sqrt();
                }
            }
        }
        Scaler { mean, scale }
    }

    /// The scaled rows `rows` of `x`, in standard layout.
    pub(crate) fn transform(&self, x: ArrayView2<f64>, rows: &[usize]) -> Array2<f64> {
        let mut out = Array2::<f64>::zeros((rows.len(), x.ncols()));
        for (i, &row) in rows.iter().enumerate() {
            let mut target = out.row_mut(i);
            target.assign(&x.row(row));
            target -= &self.mean;
            target /= &self.scale;
        }
        out
    }
}

/// scikit-learn's test for a feature whose variance is only rounding noise
/// (`_is_constant_feature` in `sklearn.preprocessing._data`).
fn is_constant(variance: f64, mean: f64, count: f64) -> bool {
    let eps = f64::EPSILON;
    let bound = count * eps * variance + (count * mean * eps).powi(2);
    variance <= bound
}

/// Held-out predictions of ridge regressions of every column of `y` on
/// `x`, for every alpha: entry `[a, i, t]` predicts `y[i, t]` with
/// `alphas[a]` from a model fitted on the other folds than row `i`'s.
///
/// Shapes: `x` is rows × features, `y` rows × targets. Fails on
/// non-finite values, mismatched row counts, fewer rows than folds and
/// alphas that are not finite and positive.
pub fn ridge_heldout_predictions(
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    folds: &Folds,
    alphas: &[f64],
    standardize: bool,
) -> Result<Array3<f64>, ProbeError> {
    check_rows(x, y.nrows(), "targets", folds)?;
    check_alphas(alphas)?;
    check_finite(x, Role::Feature, &|j| format!("{j}"))?;
    check_finite(y, Role::Target, &|j| format!("{j}"))?;
    heldout_predictions(x, y, folds, alphas, standardize)
}

/// [`ridge_heldout_predictions`] without the input checks.
///
/// Fits the folds side by side on as many threads as OpenBLAS may use,
/// each calling a single-threaded OpenBLAS. A fold's tridiagonal reduction
/// is a long chain of matrix-vector products, so BLAS threads spend much of
/// it waiting on each other (measured on 2 cores: 1.5 s against 1.05 s).
pub(crate) fn heldout_predictions(
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    folds: &Folds,
    alphas: &[f64],
    standardize: bool,
) -> Result<Array3<f64>, ProbeError> {
    let smallest_train = (0..folds.count()).map(|fold| folds.rows() - folds.split(fold).1.len()).min();
    let shared = match smallest_train {
        Some(rows) if x.ncols() <= rows => Some(SharedGram::new(x)?),
        _ => None,
    };
    let threads = blas_threads();
    let workers = threads.min(folds.count()).max(1);
    let next = AtomicUsize::new(0);
    let fit_next = || -> Result<Vec<(usize, Array3<f64>)>, ProbeError> {
        let mut fitted = Vec::new();
        loop {
            let fold = next.fetch_add(1, Ordering::Relaxed);
            if fold >= folds.count() {
                return Ok(fitted);
            }
            let (train, test) = folds.split(fold);
            fitted.push((fold, fit_fold(x, y, &train, &test, alphas, standardize, shared.as_ref())?));
        }
    };
    let results: Vec<Result<Vec<(usize, Array3<f64>)>, ProbeError>> = if workers > 1 {
        set_blas_threads(1);
        let results = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers).map(|_| scope.spawn(fit_next)).collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap_or_else(|_| Err(ProbeError::WorkerPanicked)))
                .collect()
        });
        set_blas_threads(threads);
        results
    } else {
        vec![fit_next()]
    };

    let mut predictions = Array3::<f64>::zeros((alphas.len(), x.nrows(), y.ncols()));
    for result in results {
        for (fold, fitted) in result? {
            let (_, test) = folds.split(fold);
            for (a, block) in fitted.axis_iter(Axis(0)).enumerate() {
                for (i, &row) in test.iter().enumerate() {
                    predictions.slice_mut(s![a, row, ..]).assign(&block.row(i));
                }
            }
        }
    }
    Ok(predictions)
}

/// The Gram matrix of all rows of the features, each centred on the mean
/// of all rows. A fold's primal Gram matrix follows from it by subtracting
/// the Gram matrix of the fold's test rows. With five folds that costs a
/// quarter of forming it from the training rows, plus this one product.
struct SharedGram {
    centre: Array1<f64>,
    gram: Array2<f64>,
}

impl SharedGram {
    fn new(x: ArrayView2<f64>) -> Result<SharedGram, ProbeError> {
        let all: Vec<usize> = (0..x.nrows()).collect();
        let centre = Scaler::fit(x, &all, false).mean;
        let gram = gram((&x - &centre).view(), Gram::Columns)?;
        Ok(SharedGram { centre, gram })
    }

    /// Returns `X̃ᵀX̃` for the training rows `X̃` of a fold as `scaler`
    /// centres and scales them, given the fold's `test` rows.
    fn fold_gram(
        &self,
        x: ArrayView2<f64>,
        scaler: &Scaler,
        test: &[usize],
        train_count: usize,
    ) -> Result<Array2<f64>, ProbeError> {
        let centred_test = &x.select(Axis(0), test) - &self.centre;
        let mut system = self.gram.clone();
        system -= &gram(centred_test.view(), Gram::Columns)?;

        // Σ (x − c)(x − c)ᵀ over the training rows exceeds the sum centred
        // on their own mean μ by n (μ − c)(μ − c)ᵀ.
        let shift = &scaler.mean - &self.centre;
        let count = train_count as f64;
        let columns = system.ncols();
        for j in 0..columns {
            for i in 0..columns {
                let centred = system[[i, j]] - count * shift[i] * shift[j];
                system[[i, j]] = centred / (scaler.scale[i] * scaler.scale[j]);
            }
        }
        Ok(system)
    }
}

/// Fits one fold for all alphas and returns the predictions for the
/// `test` rows, shaped (alphas, test rows, targets).
fn fit_fold(
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    train: &[usize],
    test: &[usize],
    alphas: &[f64],
    standardize: bool,
    shared: Option<&SharedGram>,
) -> Result<Array3<f64>, ProbeError> {
    let scaler = Scaler::fit(x, train, standardize);
    let x_train = scaler.transform(x, train);
    let x_test = scaler.transform(x, test);
    let y_train = y.select(Axis(0), train);
    let y_mean = y_train.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(y.ncols()));
    let y_centred = &y_train - &y_mean;

    // Primal form on XᵀX when features ≤ training rows, else dual on XXᵀ.
    let primal = x_train.ncols() <= x_train.nrows();
    let (system, rhs) = if primal {
        let system = match shared {
            Some(shared) => shared.fold_gram(x, &scaler, test, train.len())?,
            None => gram(x_train.view(), Gram::Columns)?,
        };
        (system, x_train.t().dot(&y_centred))
    } else {
        (gram(x_train.view(), Gram::Rows)?, y_centred)
    };
    let solutions = solve_shifted(system, rhs.view(), alphas)?;
    let weights = if primal { solutions } else { x_train.t().dot(&solutions) };

    let targets = y.ncols();
    let stacked = x_test.dot(&weights);
    let mut out = Array3::<f64>::zeros((alphas.len(), test.len(), targets));
    for a in 0..alphas.len() {
        let block = stacked.slice(s![.., a * targets..(a + 1) * targets]);
        let mut target = out.index_axis_mut(Axis(0), a);
        target.assign(&block);
        target += &y_mean;
    }
    Ok(out)
}

/// Solves `(S + αI) Z = B` for every alpha with one tridiagonal reduction
/// of the symmetric `S`; returns the solutions side by side, order ×
/// (alphas · columns of B), alpha-major.
fn solve_shifted(
    system: Array2<f64>,
    rhs: ArrayView2<f64>,
    alphas: &[f64],
) -> Result<Array2<f64>, ProbeError> {
    let (order, columns) = rhs.dim();
    let tridiagonal = Tridiagonal::reduce(system)?;
    let mut projected = Array2::<f64>::zeros((order, columns).f());
    projected.assign(&rhs);
    tridiagonal.apply_qt(&mut projected)?;

    let mut solutions = Array2::<f64>::zeros((order, alphas.len() * columns).f());
    for (a, &alpha) in alphas.iter().enumerate() {
        let factor = ShiftedLdl::new(&tridiagonal, alpha);
        for c in 0..columns {
            let mut column = solutions.column_mut(a * columns + c);
            column.assign(&projected.column(c));
            factor.solve_in_place(column.as_slice_mut().ok_or(ProbeError::Layout)?);
        }
    }
    tridiagonal.apply_q(&mut solutions)?;
    Ok(solutions)
}

/// The LDLᵀ factorisation of `T + αI` for a tridiagonal `T` with a
/// positive semi-definite shift target, so every pivot is at least α > 0
/// and no pivoting is needed.
struct ShiftedLdl {
    pivots: Vec<f64>,
    multipliers: Vec<f64>,
}

impl ShiftedLdl {
    fn new(tridiagonal: &Tridiagonal, alpha: f64) -> ShiftedLdl {
        let order = tridiagonal.order();
        let mut pivots = Vec::with_capacity(order);
        let mut multipliers = Vec::with_capacity(order.saturating_sub(1));
        for i in 0..order {
            let mut pivot = tridiagonal.diagonal[i] + alpha;
            if i > 0 {
                let off = tridiagonal.off_diagonal[i - 1];
                let multiplier = off / pivots[i - 1];
                pivot -= multiplier * off;
                multipliers.push(multiplier);
            }
            pivots.push(pivot);
        }
        ShiftedLdl { pivots, multipliers }
    }

    fn solve_in_place(&self, b: &mut [f64]) {
        let order = self.pivots.len();
        for i in 1..order {
            b[i] -= self.multipliers[i - 1] * b[i - 1];
        }
        for i in 0..order {
            b[i] /= self.pivots[i];
        }
        for i in (0..order.saturating_sub(1)).rev() {
            b[i] -= self.multipliers[i] * b[i + 1];
        }
    }
}

/// R² of `predicted` against `truth` as scikit-learn's `r2_score`
/// computes it. When `truth` is constant the score is 1.0 for perfect
/// predictions and 0.0 otherwise (scikit-learn 1.9 with its default
/// `force_finite=True`).
pub fn r2_score(truth: &[f64], predicted: &[f64]) -> f64 {
    let count = truth.len() as f64;
    let mean = truth.iter().sum::<f64>() / count;
    let residual: f64 = truth.iter().zip(predicted).map(|(t, p)| (t - p) * (t - p)).sum();
    let total: f64 = truth.iter().map(|t| (t - mean) * (t - mean)).sum();
    match (residual == 0.0, total == 0.0) {
        (true, _) => 1.0,
        (false, true) => 0.0,
        (false, false) => 1.0 - residual / total,
    }
}

/// Scores of a cross-validated ridge regression:
/// `scores[[target, alpha, fold]]` is the held-out R².
#[derive(Debug, Clone)]
pub struct RidgeCvResult {
    pub alphas: Vec<f64>,
    pub scores: Array3<f64>,
}

impl RidgeCvResult {
    /// The held-out R² of every fold for one target and alpha index.
    pub fn fold_scores(&self, target: usize, alpha: usize) -> Vec<f64> {
        self.scores.slice(s![target, alpha, ..]).to_vec()
    }

    /// Mean and population standard deviation over folds.
    pub fn summary(&self, target: usize, alpha: usize) -> (f64, f64) {
        mean_std(&self.fold_scores(target, alpha))
    }

    /// The index of the alpha with the highest mean R² for `target` (the
    /// first one on ties).
    pub fn best_alpha(&self, target: usize) -> usize {
        let means: Vec<f64> = (0..self.alphas.len()).map(|a| self.summary(target, a).0).collect();
        best_index(&means)
    }
}

/// Cross-validates ridge regressions of every column of `y` on `x` for
/// every alpha and scores each held-out fold with R².
pub fn ridge_cv(
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    folds: &Folds,
    alphas: &[f64],
    standardize: bool,
) -> Result<RidgeCvResult, ProbeError> {
    let predictions = ridge_heldout_predictions(x, y, folds, alphas, standardize)?;
    Ok(RidgeCvResult { alphas: alphas.to_vec(), scores: r2_by_fold(y, &predictions, folds) })
}

/// Held-out R² per (target, alpha, fold) from predictions shaped
/// (alphas, rows, targets).
pub(crate) fn r2_by_fold(y: ArrayView2<f64>, predictions: &Array3<f64>, folds: &Folds) -> Array3<f64> {
    let (alphas, _, targets) = predictions.dim();
    let mut scores = Array3::<f64>::zeros((targets, alphas, folds.count()));
    for fold in 0..folds.count() {
        let (_, test) = folds.split(fold);
        for t in 0..targets {
            let truth: Vec<f64> = test.iter().map(|&row| y[[row, t]]).collect();
            for a in 0..alphas {
                let predicted: Vec<f64> = test.iter().map(|&row| predictions[[a, row, t]]).collect();
                scores[[t, a, fold]] = r2_score(&truth, &predicted);
            }
        }
    }
    scores
}

/// Mean and population standard deviation (`ddof = 0`, numpy's default).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let count = values.len() as f64;
    let mean = values.iter().sum::<f64>() / count;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / count;
    (mean, variance.sqrt())
}

/// The index of the largest value, the first one on ties.
pub(crate) fn best_index(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &value) in values.iter().enumerate() {
        if value > values[best] {
            best = i;
        }
    }
    best
}
