//! Class probes: the ridge classifier and multinomial logistic regression,
//! both scored by held-out accuracy.

use ndarray::{Array2, Array3, ArrayView2, Axis};

use super::logistic::{Logistic, LogisticOptions};
use super::ridge::{best_index, heldout_predictions, mean_std, Scaler};
use super::{check_alphas, check_finite, check_rows, Folds, ProbeError, Role};

/// A linear classifier probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassProbe {
    /// scikit-learn's `RidgeClassifier`: ridge regression of ±1 one-vs-all
    /// targets, the class with the highest score wins.
    RidgeClassifier,
    /// scikit-learn's `LogisticRegression(C = 1/alpha)` with lbfgs.
    Logistic,
}

/// The distinct labels in ascending order and every row's index into them.
#[derive(Debug, Clone)]
pub struct Classes {
    pub values: Vec<i64>,
    pub indices: Vec<usize>,
}

impl Classes {
    /// Encodes `labels`; fails when fewer than two classes occur.
    pub fn encode(labels: &[i64], column: &str) -> Result<Classes, ProbeError> {
        let mut values = labels.to_vec();
        values.sort_unstable();
        values.dedup();
        if values.len() < 2 {
            let class = values.first().copied().unwrap_or(0);
            return Err(ProbeError::SingleClass { column: column.to_string(), class });
        }
        let indices = labels
            .iter()
            .map(|label| values.binary_search(label).unwrap_or(0))
            .collect();
        Ok(Classes { values, indices })
    }

    pub fn count(&self) -> usize {
        self.values.len()
    }

    /// The ±1 one-vs-all target matrix, rows × classes.
    pub fn one_vs_all(&self) -> Array2<f64> {
        let mut targets = Array2::<f64>::from_elem((self.indices.len(), self.count()), -1.0);
        for (row, &class) in self.indices.iter().enumerate() {
            targets[[row, class]] = 1.0;
        }
        targets
    }

    /// Which classes occur among `rows`.
    fn present(&self, rows: &[usize]) -> Vec<bool> {
        let mut present = vec![false; self.count()];
        for &row in rows {
            present[self.indices[row]] = true;
        }
        present
    }

    /// Fails when the training rows of some fold hold a single class.
    pub fn check_folds(&self, folds: &Folds, column: &str) -> Result<(), ProbeError> {
        for fold in 0..folds.count() {
            let (train, _) = folds.split(fold);
            let present = self.present(&train);
            if present.iter().filter(|&&p| p).count() < 2 {
                let class = train.first().map(|&row| self.values[self.indices[row]]).unwrap_or(0);
                return Err(ProbeError::SingleClassInFold {
                    column: column.to_string(),
                    fold,
                    class,
                });
            }
        }
        Ok(())
    }
}

/// Held-out accuracies of a class probe: `scores[[alpha, fold]]`.
#[derive(Debug, Clone)]
pub struct ClassifyCvResult {
    pub alphas: Vec<f64>,
    pub scores: Array2<f64>,
}

impl ClassifyCvResult {
    /// Mean and population standard deviation over folds for one alpha.
    pub fn summary(&self, alpha: usize) -> (f64, f64) {
        mean_std(&self.scores.row(alpha).to_vec())
    }

    /// The index of the alpha with the highest mean accuracy (first on ties).
    pub fn best_alpha(&self) -> usize {
        let means: Vec<f64> = (0..self.alphas.len()).map(|a| self.summary(a).0).collect();
        best_index(&means)
    }
}

/// Cross-validates a class probe of `labels` from `x` for every alpha.
pub fn classify_cv(
    x: ArrayView2<f64>,
    labels: &[i64],
    folds: &Folds,
    alphas: &[f64],
    standardize: bool,
    probe: ClassProbe,
) -> Result<ClassifyCvResult, ProbeError> {
    check_rows(x, labels.len(), "labels", folds)?;
    check_alphas(alphas)?;
    check_finite(x, Role::Feature, &|j| format!("{j}"))?;
    let classes = Classes::encode(labels, "label")?;
    classes.check_folds(folds, "label")?;
    let scores = match probe {
        ClassProbe::RidgeClassifier => {
            let targets = classes.one_vs_all();
            let predictions = heldout_predictions(x, targets.view(), folds, alphas, standardize)?;
            ridge_classifier_accuracy(&predictions, &classes, folds)
        }
        ClassProbe::Logistic => {
            logistic_accuracy(x, &classes, folds, alphas, standardize, LogisticOptions::default())
        }
    };
    Ok(ClassifyCvResult { alphas: alphas.to_vec(), scores })
}

/// Accuracy per (alpha, fold) from held-out one-vs-all ridge scores shaped
/// (alphas, rows, classes). A class absent from a fold's training rows is
/// never predicted for that fold, as it is unknown to scikit-learn's fit.
pub(crate) fn ridge_classifier_accuracy(
    predictions: &Array3<f64>,
    classes: &Classes,
    folds: &Folds,
) -> Array2<f64> {
    let alphas = predictions.dim().0;
    let mut scores = Array2::<f64>::zeros((alphas, folds.count()));
    for fold in 0..folds.count() {
        let (train, test) = folds.split(fold);
        let present = classes.present(&train);
        for a in 0..alphas {
            let correct = test
                .iter()
                .filter(|&&row| {
                    let row_scores = predictions.index_axis(Axis(0), a);
                    let row_scores = row_scores.row(row);
                    let mut best: Option<usize> = None;
                    for (class, &score) in row_scores.iter().enumerate() {
                        if present[class] && best.is_none_or(|b| score > row_scores[b]) {
                            best = Some(class);
                        }
                    }
                    best == Some(classes.indices[row])
                })
                .count();
            scores[[a, fold]] = correct as f64 / test.len() as f64;
        }
    }
    scores
}

/// Accuracy per (alpha, fold) of logistic regression.
pub(crate) fn logistic_accuracy(
    x: ArrayView2<f64>,
    classes: &Classes,
    folds: &Folds,
    alphas: &[f64],
    standardize: bool,
    options: LogisticOptions,
) -> Array2<f64> {
    let mut scores = Array2::<f64>::zeros((alphas.len(), folds.count()));
    for fold in 0..folds.count() {
        let (train, test) = folds.split(fold);
        let scaler = Scaler::fit(x, &train, standardize);
        let x_train = scaler.transform(x, &train);
        let x_test = scaler.transform(x, &test);

        // The fit knows only the classes of its training rows.
        let present = classes.present(&train);
        let known: Vec<usize> = (0..classes.count()).filter(|&c| present[c]).collect();
        let mut local = vec![usize::MAX; classes.count()];
        for (position, &class) in known.iter().enumerate() {
            local[class] = position;
        }
        let train_labels: Vec<usize> = train.iter().map(|&row| local[classes.indices[row]]).collect();

        for (a, &alpha) in alphas.iter().enumerate() {
            let model = Logistic::fit(x_train.view(), &train_labels, known.len(), alpha, options);
            let predicted = model.predict(x_test.view());
            let correct = test
                .iter()
                .zip(&predicted)
                .filter(|(&row, &p)| known[p] == classes.indices[row])
                .count();
            scores[[a, fold]] = correct as f64 / test.len() as f64;
        }
    }
    scores
}
