//! Behaviour of the probes on seeded synthetic data and on bad input.

use flawprobe::probe::{
    classify_cv, ridge_cv, run_probes, ClassProbe, Folds, ProbeData, ProbeError, ProbeKind, ProbeSpec,
};
use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ALPHAS: [f64; 3] = [0.1, 1.0, 10.0];

/// 300 rows of 40 non-negative features; target 0 is linear in features
/// 3, 7 and 11, target 1 is independent noise.
fn planted() -> (Array2<f64>, Array2<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let x = Array2::from_shape_fn((300, 40), |_| rng.gen::<f64>() * 5.0);
    let mut y = Array2::<f64>::zeros((300, 2));
    for i in 0..300 {
        y[[i, 0]] = 2.0 * x[[i, 3]] - 1.5 * x[[i, 7]] + 0.5 * x[[i, 11]] + 0.01 * rng.gen::<f64>();
        y[[i, 1]] = rng.gen::<f64>();
    }
    (x, y)
}

fn names(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|j| format!("{prefix}{j}")).collect()
}

#[test]
fn planted_concept_is_found_and_noise_is_not() {
    let (x, y) = planted();
    let folds = Folds::seeded(300, 5, 1).unwrap();
    let result = ridge_cv(x.view(), y.view(), &folds, &ALPHAS, true).unwrap();
    let (concept, _) = result.summary(0, 0);
    let (noise, _) = result.summary(1, 0);
    assert!(concept > 0.999, "planted concept R² {concept}");
    assert!(noise < 0.05, "noise R² {noise}");
}

#[test]
fn planted_concept_control_scores_low() {
    let (x, y) = planted();
    let folds = Folds::seeded(300, 5, 1).unwrap();
    let (feature_names, target_names) = (names("x", 40), names("y", 2));
    let data = ProbeData { features: x.view(), feature_names: &feature_names, targets: y.view(), target_names: &target_names, labels: None };
    let spec = ProbeSpec { probes: vec![ProbeKind::Ridge], alphas: ALPHAS.to_vec(), standardize: true, control_seed: 3 };
    let rows = run_probes(&data, &folds, &spec).unwrap();
    assert_eq!(rows.len(), 6);
    let concept = &rows[0];
    assert!(concept.control_mean < 0.05, "control R² {}", concept.control_mean);
    // Fitting 40 features to shuffled rows overfits, so the held-out R² of
    // the control sits somewhat below zero.
    assert!(concept.control_mean > -0.5, "control R² {}", concept.control_mean);
    assert!(concept.selectivity > 0.9, "selectivity {}", concept.selectivity);
    assert_eq!(rows.iter().filter(|r| r.target == "y0" && r.best_alpha).count(), 1);
}

#[test]
fn seeded_folds_are_balanced_and_reproducible() {
    let folds = Folds::seeded(23, 5, 42).unwrap();
    assert_eq!(folds, Folds::seeded(23, 5, 42).unwrap());
    assert_ne!(folds, Folds::seeded(23, 5, 43).unwrap());
    let sizes: Vec<usize> = (0..5).map(|f| folds.split(f).1.len()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 23);
    assert!(sizes.iter().all(|&s| s == 4 || s == 5), "sizes {sizes:?}");
}

#[test]
fn non_finite_feature_is_named() {
    let (mut x, y) = planted();
    x[[12, 5]] = f64::NAN;
    let folds = Folds::seeded(300, 5, 1).unwrap();
    let (feature_names, target_names) = (names("act", 40), names("y", 2));
    let data = ProbeData { features: x.view(), feature_names: &feature_names, targets: y.view(), target_names: &target_names, labels: None };
    let error = run_probes(&data, &folds, &ProbeSpec::default()).unwrap_err();
    assert!(matches!(error, ProbeError::NonFinite { row: 12, .. }), "{error}");
    assert!(error.to_string().contains("`act5`"), "{error}");
}

#[test]
fn infinite_target_is_named() {
    let (x, mut y) = planted();
    y[[3, 1]] = f64::INFINITY;
    let folds = Folds::seeded(300, 5, 1).unwrap();
    let (feature_names, target_names) = (names("x", 40), vec!["hue".to_string(), "contrast".to_string()]);
    let data = ProbeData { features: x.view(), feature_names: &feature_names, targets: y.view(), target_names: &target_names, labels: None };
    let error = run_probes(&data, &folds, &ProbeSpec::default()).unwrap_err();
    assert!(error.to_string().contains("target column `contrast`"), "{error}");
}

#[test]
fn fewer_rows_than_folds_is_rejected() {
    let error = Folds::seeded(3, 5, 0).unwrap_err();
    assert!(matches!(error, ProbeError::TooFewRows { rows: 3, folds: 5 }), "{error}");
}

#[test]
fn row_mismatch_is_rejected() {
    let (x, y) = planted();
    let folds = Folds::seeded(300, 5, 1).unwrap();
    let short = y.slice(ndarray::s![..200, ..]);
    let error = ridge_cv(x.view(), short, &folds, &ALPHAS, true).unwrap_err();
    assert!(matches!(error, ProbeError::RowMismatch { features: 300, other: 200, .. }), "{error}");
}

#[test]
fn constant_target_scores_one() {
    // scikit-learn's r2_score gives 1.0 when a constant held-out target is
    // predicted exactly, and ridge predicts the training mean here.
    let (x, _) = planted();
    let y = Array2::from_elem((300, 1), 3.0);
    let folds = Folds::seeded(300, 5, 1).unwrap();
    let result = ridge_cv(x.view(), y.view(), &folds, &ALPHAS, true).unwrap();
    assert_eq!(result.summary(0, 1), (1.0, 0.0));
}

#[test]
fn single_class_is_rejected() {
    let (x, _) = planted();
    let labels = vec![4i64; 300];
    let folds = Folds::seeded(300, 5, 1).unwrap();
    let error = classify_cv(x.view(), &labels, &folds, &ALPHAS, true, ClassProbe::Logistic).unwrap_err();
    assert!(matches!(error, ProbeError::SingleClass { class: 4, .. }), "{error}");
}

#[test]
fn planted_classes_are_separated() {
    let (x, _) = planted();
    // The class is the largest of features 3, 7 and 11.
    let labels: Vec<i64> = x
        .axis_iter(Axis(0))
        .map(|row| [row[3], row[7], row[11]].iter().enumerate().fold((0, f64::MIN), |best, (i, &v)| if v > best.1 { (i as i64, v) } else { best }).0)
        .collect();
    let folds = Folds::seeded(300, 5, 1).unwrap();
    for probe in [ClassProbe::RidgeClassifier, ClassProbe::Logistic] {
        let result = classify_cv(x.view(), &labels, &folds, &ALPHAS, true, probe).unwrap();
        let best = result.best_alpha();
        assert!(result.summary(best).0 > 0.8, "{probe:?}: accuracy {}", result.summary(best).0);
    }
}

#[test]
fn invalid_alpha_is_rejected() {
    let (x, y) = planted();
    let folds = Folds::seeded(300, 5, 1).unwrap();
    let error = ridge_cv(x.view(), y.view(), &folds, &[1.0, 0.0], true).unwrap_err();
    assert!(matches!(error, ProbeError::InvalidAlpha { .. }), "{error}");
}

#[test]
fn dual_form_matches_primal_form() {
    // 60 training rows and 80 features: the dual (rows × rows) system.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let x = Array2::from_shape_fn((75, 80), |_| rng.gen::<f64>());
    let y = Array2::from_shape_fn((75, 3), |_| rng.gen::<f64>());
    let folds = Folds::seeded(75, 5, 2).unwrap();
    let wide = ridge_cv(x.view(), y.view(), &folds, &[1.0], true).unwrap();
    // The same fit by normal equations on a fold, solved densely.
    let (train, test) = folds.split(0);
    let xt = x.select(Axis(0), &train);
    let mean = xt.mean_axis(Axis(0)).unwrap();
    let std = xt.std_axis(Axis(0), 0.0);
    let xs = (&xt - &mean) / &std;
    let yt = y.select(Axis(0), &train);
    let ymean = yt.mean_axis(Axis(0)).unwrap();
    let gram = xs.t().dot(&xs) + Array2::<f64>::eye(80);
    let rhs = xs.t().dot(&(&yt - &ymean));
    use ndarray_linalg::Solve;
    let w0 = gram.solve(&rhs.column(0).to_owned()).unwrap();
    let xtest = (&x.select(Axis(0), &test) - &mean) / &std;
    let predicted = xtest.dot(&w0) + ymean[0];
    let truth: Vec<f64> = test.iter().map(|&r| y[[r, 0]]).collect();
    let want = flawprobe::probe::r2_score(&truth, predicted.as_slice().unwrap());
    assert!((wide.scores[[0, 0, 0]] - want).abs() < 1e-9, "{} vs {want}", wide.scores[[0, 0, 0]]);
}
