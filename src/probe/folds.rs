use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::ProbeError;

/// The assignment of rows to cross-validation folds: `fold_of(row)` is in
/// `0..count()`, and every fold has at least one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folds {
    assignment: Vec<usize>,
    count: usize,
}

impl Folds {
    /// Assigns `rows` rows to `k` folds of balanced size (sizes differ by at
    /// most one) in a seeded random order.
    ///
    /// The order is the Fisher–Yates shuffle of `0..rows` by rand 0.8's
    /// `SliceRandom::shuffle` driven by `ChaCha8Rng::seed_from_u64(seed)`;
    /// the row at shuffled position `i` goes to fold `i % k`. The same
    /// (rows, k, seed) always gives the same folds.
    pub fn seeded(rows: usize, k: usize, seed: u64) -> Result<Folds, ProbeError> {
        if k < 2 {
            return Err(ProbeError::TooFewFolds { folds: k });
        }
        if rows < k {
            return Err(ProbeError::TooFewRows { rows, folds: k });
        }
        let mut order: Vec<usize> = (0..rows).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let mut assignment = vec![0; rows];
        for (position, &row) in order.iter().enumerate() {
            assignment[row] = position % k;
        }
        Ok(Folds { assignment, count: k })
    }

    /// Takes the folds from a column of fold numbers `0..k`, where k is
    /// one more than the largest value; every fold must have a row.
    pub fn from_column(values: &[i64]) -> Result<Folds, ProbeError> {
        let max = values.iter().copied().max().unwrap_or(-1);
        let count = usize::try_from(max + 1).unwrap_or(0);
        let mut assignment = Vec::with_capacity(values.len());
        for (row, &value) in values.iter().enumerate() {
            match usize::try_from(value) {
                Ok(fold) => assignment.push(fold),
                Err(_) => return Err(ProbeError::InvalidFold { value, row, folds: count }),
            }
        }
        if count < 2 {
            return Err(ProbeError::TooFewFolds { folds: count });
        }
        let mut sizes = vec![0usize; count];
        for &fold in &assignment {
            sizes[fold] += 1;
        }
        if let Some(fold) = sizes.iter().position(|&size| size == 0) {
            return Err(ProbeError::EmptyFold { fold });
        }
        Ok(Folds { assignment, count })
    }

    /// The number of folds.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The number of rows assigned.
    pub fn rows(&self) -> usize {
        self.assignment.len()
    }

    pub fn fold_of(&self, row: usize) -> usize {
        self.assignment[row]
    }

    /// The training rows (all other folds) and held-out rows of `fold`, in
    /// row order.
    pub fn split(&self, fold: usize) -> (Vec<usize>, Vec<usize>) {
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for (row, &assigned) in self.assignment.iter().enumerate() {
            if assigned == fold {
                test.push(row);
            } else {
                train.push(row);
            }
        }
        (train, test)
    }
}
