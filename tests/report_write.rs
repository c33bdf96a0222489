//! The report module on synthetic probe and training tables: every figure
//! is written and decodes, the HTML page is self-contained, summary.md
//! carries the key table, and missing inputs are handled.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use flawprobe::report::{write_report, Estimate, ReportSummary, COLOUR_CONCEPTS, TEXTURE_CONCEPTS};

const LAYERS: [&str; 4] = ["block1", "block2", "block3", "block4"];
const SEEDS: [i64; 2] = [0, 1];
const TRAINED_EPOCHS: [i64; 3] = [0, 5, 10];
const ALPHAS: [f64; 2] = [0.1, 10.0];
/// The fold std of every synthetic score.
const FOLD_STD: f64 = 0.05;
const ALL_FIGURES: [&str; 5] = [
    "r2-by-layer-colour",
    "r2-by-layer-texture",
    "r2-by-epoch",
    "class-probe-accuracy",
    "training-curves",
];

/// (variant, corruption, randomised_from, epochs probed)
type ModelSpec = (&'static str, f64, Option<&'static str>, &'static [i64]);

const ALL_MODELS: [ModelSpec; 6] = [
    ("generalising", 0.0, None, &TRAINED_EPOCHS),
    ("memorising", 0.5, None, &TRAINED_EPOCHS),
    ("memorising", 1.0, None, &TRAINED_EPOCHS),
    ("random", 0.0, None, &[0]),
    ("randomised", 0.0, Some("block4"), &[10]),
    ("randomised", 0.0, Some("block2"), &[10]),
];

/// The synthetic best-alpha R² of seed 0: colour is easy, texture harder,
/// memorising and random networks a little worse, late layers worse. Seed
/// 1 scores 0.02 more, so the mean over seeds is this + 0.01 and the std
/// over seeds is 0.01.
fn base_r2(variant: &str, corruption: f64, layer: usize, epoch: i64, concept: &str) -> f64 {
    let group = if COLOUR_CONCEPTS.contains(&concept) { 0.8 } else { 0.6 };
    let flaw = match variant {
        "generalising" => 0.0,
        "memorising" => 0.1 * corruption,
        "random" => 0.3,
        _ => 0.2,
    };
    let training = 0.01 * epoch as f64;
    group - flaw - 0.05 * layer as f64 + training
}

#[derive(Default)]
struct ProbeColumns {
    variant: Vec<String>,
    corruption: Vec<f64>,
    seed: Vec<i64>,
    epoch: Vec<i64>,
    layer: Vec<String>,
    layer_index: Vec<i64>,
    randomised_from: Vec<Option<String>>,
    target: Vec<String>,
    target_kind: Vec<String>,
    probe: Vec<String>,
    alpha: Vec<f64>,
    metric: Vec<String>,
    mean: Vec<f64>,
    std: Vec<f64>,
    best_alpha: Vec<bool>,
}

impl ProbeColumns {
    #[allow(clippy::too_many_arguments)]
    fn push(&mut self, model: &ModelSpec, seed: i64, epoch: i64, layer: usize, target: &str, kind: &str, probe: &str, score: f64) {
        for (position, alpha) in ALPHAS.iter().enumerate() {
            let best = position == 0;
            self.variant.push(model.0.to_string());
            self.corruption.push(model.1);
            self.seed.push(seed);
            self.epoch.push(epoch);
            self.layer.push(LAYERS[layer].to_string());
            self.layer_index.push(layer as i64);
            self.randomised_from.push(model.2.map(str::to_string));
            self.target.push(target.to_string());
            self.target_kind.push(kind.to_string());
            self.probe.push(probe.to_string());
            self.alpha.push(*alpha);
            self.metric.push(if kind == "concept" { "r2" } else { "accuracy" }.to_string());
            self.mean.push(if best { score } else { score - 0.3 });
            self.std.push(FOLD_STD);
            self.best_alpha.push(best);
        }
    }

    fn batch(self, leave_out: Option<&str>) -> RecordBatch {
        let n = self.mean.len();
        let text = |v: Vec<String>| Arc::new(StringArray::from(v)) as ArrayRef;
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("variant", text(self.variant)),
            ("corruption", Arc::new(Float64Array::from(self.corruption))),
            ("seed", Arc::new(Int64Array::from(self.seed))),
            ("epoch", Arc::new(Int64Array::from(self.epoch))),
            ("layer", text(self.layer)),
            ("layer_index", Arc::new(Int64Array::from(self.layer_index))),
            ("randomised_from", Arc::new(StringArray::from(self.randomised_from))),
            ("target", text(self.target)),
            ("target_kind", text(self.target_kind)),
            ("probe", text(self.probe)),
            ("alpha", Arc::new(Float64Array::from(self.alpha))),
            ("metric", text(self.metric)),
            ("mean", Arc::new(Float64Array::from(self.mean.clone()))),
            ("std", Arc::new(Float64Array::from(self.std))),
            ("control_mean", Arc::new(Float64Array::from(vec![0.0; n]))),
            ("selectivity", Arc::new(Float64Array::from(self.mean))),
            ("best_alpha", Arc::new(BooleanArray::from(self.best_alpha))),
            ("n_rows", Arc::new(Int64Array::from(vec![240; n]))),
            ("n_features", Arc::new(Int64Array::from(vec![64; n]))),
        ];
        let kept = columns.into_iter().filter(|(name, _)| Some(*name) != leave_out);
        RecordBatch::try_from_iter(kept).expect("synthetic probe columns have one length")
    }
}

/// Writes a synthetic probes table for `models` and returns its path.
fn write_probes(dir: &Path, models: &[ModelSpec], leave_out: Option<&str>) -> PathBuf {
    let mut columns = ProbeColumns::default();
    let concepts = COLOUR_CONCEPTS.iter().chain(TEXTURE_CONCEPTS.iter());
    let concepts: Vec<&str> = concepts.copied().collect();
    for model in models {
        for &seed in &SEEDS {
            for &epoch in model.3 {
                for layer in 0..LAYERS.len() {
                    for concept in &concepts {
                        let score = base_r2(model.0, model.1, layer, epoch, concept) + 0.02 * seed as f64;
                        columns.push(model, seed, epoch, layer, concept, "concept", "ridge", score);
                    }
                    let true_accuracy = 0.9 - 0.2 * model.1 - 0.1 * layer as f64;
                    let train_accuracy = 0.1 + 0.2 * model.1 * layer as f64;
                    for probe in ["ridge-classifier", "logistic"] {
                        columns.push(model, seed, epoch, layer, "label", "class", probe, true_accuracy);
                        columns.push(model, seed, epoch, layer, "train_label", "class", probe, train_accuracy);
                    }
                }
            }
        }
    }
    let path = dir.join("probes.parquet");
    flawprobe::table::write(&path, &columns.batch(leave_out)).expect("write synthetic probes.parquet");
    path
}

/// Writes a synthetic training log for the trained models.
fn write_training(dir: &Path) -> PathBuf {
    let (mut variant, mut corruption, mut seed, mut epoch) = (vec![], vec![], vec![], vec![]);
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); 7];
    for model in ALL_MODELS.iter().filter(|m| m.0 == "generalising" || m.0 == "memorising") {
        for &s in &SEEDS {
            for e in 1..=10i64 {
                let progress = e as f64 / 10.0;
                variant.push(model.0.to_string());
                corruption.push(model.1);
                seed.push(s);
                epoch.push(e);
                // A generalising run changes no label, so it has no changed rows.
                let no_changed_rows = model.1 == 0.0;
                let changed_true = if no_changed_rows { f64::NAN } else { 0.1 };
                let changed_train = if no_changed_rows { f64::NAN } else { 0.1 + 0.8 * progress };
                let row = [
                    2.0 - progress,
                    0.2 + 0.75 * progress,
                    0.7 - 0.5 * model.1 * progress,
                    changed_true,
                    changed_train,
                    0.3 + 0.6 * progress,
                    0.3 + 0.65 * progress,
                ];
                for (column, value) in values.iter_mut().zip(row) {
                    column.push(value + 0.01 * s as f64);
                }
            }
        }
    }
    let names = [
        "loss",
        "train_acc",
        "val_acc",
        "changed_acc_true",
        "changed_acc_train",
        "unchanged_acc_true",
        "unchanged_acc_train",
    ];
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        ("variant", Arc::new(StringArray::from(variant))),
        ("corruption", Arc::new(Float64Array::from(corruption))),
        ("seed", Arc::new(Int64Array::from(seed))),
        ("epoch", Arc::new(Int64Array::from(epoch))),
    ];
    for (name, column) in names.into_iter().zip(values) {
        columns.push((name, Arc::new(Float64Array::from(column))));
    }
    let path = dir.join("training.parquet");
    let batch = RecordBatch::try_from_iter(columns).expect("synthetic training columns have one length");
    flawprobe::table::write(&path, &batch).expect("write synthetic training.parquet");
    path
}

fn full_report(dir: &Path) -> ReportSummary {
    let probes = write_probes(dir, &ALL_MODELS, None);
    let training = write_training(dir);
    let out = dir.join("report");
    write_report(&probes, Some(&training), &out, "Synthetic flawed models").expect("write_report")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn every_figure_is_written_as_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let summary = full_report(dir.path());

    let names: Vec<&str> = summary.figures.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ALL_FIGURES);
    assert!(summary.skipped.is_empty(), "skipped: {:?}", summary.skipped);
    for figure in &summary.figures {
        assert!(std::fs::metadata(&figure.png).unwrap().len() > 0, "{} is empty", figure.png.display());
        let image = image::open(&figure.png).expect("PNG decodes").to_rgb8();
        assert_eq!(image.width(), 1200, "{}", figure.name);
        let first = *image.get_pixel(0, 0);
        let differing = image.pixels().filter(|p| **p != first).count();
        assert!(differing > 10_000, "{} has only {differing} non-background pixels", figure.name);

        let svg = read(&figure.svg);
        assert!(svg.contains("<svg"), "{} is not SVG", figure.svg.display());
        assert!(svg.trim_end().ends_with("</svg>"), "{} is truncated", figure.svg.display());
    }
}

#[test]
fn figures_carry_titles_legends_and_layers() {
    let dir = tempfile::tempdir().unwrap();
    let summary = full_report(dir.path());
    let colour = read(&summary.figures[0].svg);

    for text in ["Colour concepts", "generalising", "memorising p=0.5", "memorising p=1", "random",
        "randomised down to block4", "randomised down to block2", "block1", "block4", "colorfulness", "R²"]
    {
        assert!(colour.contains(text), "r2-by-layer-colour lacks {text:?}");
    }
    let training = read(&summary.figures[4].svg);
    for text in ["validation accuracy", "changed rows vs true labels", "memorising p=1", "epoch"] {
        assert!(training.contains(text), "training-curves lacks {text:?}");
    }
}

#[test]
fn html_is_self_contained_and_embeds_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let summary = full_report(dir.path());
    let html = read(&summary.html);

    for external in ["src=\"http", "href=\"http", "src='http", "href='http", "<script", "<link", "url(http", "@import"] {
        assert!(!html.contains(external), "report.html contains {external:?}");
    }
    for name in ALL_FIGURES {
        assert!(html.contains(&format!("data-figure=\"{name}\"")), "report.html lacks figure {name}");
    }
    assert_eq!(html.matches("<svg").count(), ALL_FIGURES.len());
    assert!(html.contains("<h1>Synthetic flawed models</h1>"));
    assert!(html.contains("<th>colorfulness</th>"));
}

#[test]
fn summary_has_key_table_and_findings() {
    let dir = tempfile::tempdir().unwrap();
    let summary = full_report(dir.path());
    let text = read(&summary.summary);

    assert!(text.contains("| model | layer | red | orange |"), "no key table header:\n{text}");
    // generalising, block1, red at epoch 10: 0.8 + 0.1 = 0.9 for seed 0,
    // 0.92 for seed 1.
    assert!(text.contains("| generalising | block1 | 0.910 ± 0.010 |"), "{text}");
    // memorising p=1, block4, red at epoch 10: 0.8 - 0.1 - 0.15 + 0.1.
    assert!(text.contains("| memorising p=1 | block4 | 0.660 ± 0.010 |"), "{text}");
    // Colour means: generalising 0.91 - 0.05 l, memorising p=1 0.81 - 0.05 l,
    // so 0.835 against 0.735 over layers.
    assert!(
        text.contains("Colour concepts, memorising p=1 against generalising: averaged over layers, the mean colour R² is 0.735 against 0.835 (88 % of it)"),
        "{text}"
    );
    assert!(text.contains("The random network's mean colour R² ranges from 0.360 (block4, 36.0 standard deviations over seeds above zero) to 0.510 (block1)"), "{text}");
    assert!(text.contains("training-curves.png"));
}

#[test]
fn estimate_pools_fold_and_seed_variance() {
    let estimate = Estimate::from_seeds(&[(0.5, 0.1), (0.7, 0.1), (f64::NAN, 0.3)]).unwrap();
    assert_eq!(estimate.seeds, 2);
    assert!((estimate.mean - 0.6).abs() < 1e-12);
    assert!((estimate.seed_std - 0.1).abs() < 1e-12);
    assert!((estimate.spread - 0.02_f64.sqrt()).abs() < 1e-12);
    assert!(Estimate::from_seeds(&[(f64::NAN, 0.1)]).is_none());
}

#[test]
fn missing_training_table_skips_curves_with_note() {
    let dir = tempfile::tempdir().unwrap();
    let probes = write_probes(dir.path(), &ALL_MODELS, None);
    let summary = write_report(&probes, None, &dir.path().join("out"), "No training").unwrap();

    assert_eq!(summary.figures.len(), 4);
    assert_eq!(summary.skipped.len(), 1);
    assert_eq!(summary.skipped[0].name, "training-curves");
    assert!(!dir.path().join("out/training-curves.png").exists());
    let html = read(&summary.html);
    assert!(html.contains("This figure is not drawn, because no training table was given."));
}

#[test]
fn missing_variants_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let models = [ALL_MODELS[3]];
    let probes = write_probes(dir.path(), &models, None);
    let summary = write_report(&probes, None, &dir.path().join("out"), "Random only").unwrap();

    let skipped: Vec<&str> = summary.skipped.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(skipped, ["r2-by-epoch", "training-curves"]);
    let text = read(&summary.summary);
    assert!(text.contains("| random | block1 |"), "{text}");
    assert!(!text.contains("against generalising"), "{text}");
}

#[test]
fn missing_column_is_named_in_error() {
    let dir = tempfile::tempdir().unwrap();
    let probes = write_probes(dir.path(), &ALL_MODELS, Some("layer_index"));
    let error = write_report(&probes, None, &dir.path().join("out"), "x").unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("probes.parquet"), "{message}");
    assert!(message.contains("missing column \"layer_index\""), "{message}");
}

#[test]
fn missing_randomised_from_column_is_optional() {
    let dir = tempfile::tempdir().unwrap();
    let models = [ALL_MODELS[0], ALL_MODELS[2]];
    let probes = write_probes(dir.path(), &models, Some("randomised_from"));
    let summary = write_report(&probes, None, &dir.path().join("out"), "x").unwrap();
    assert_eq!(summary.figures.len(), 4);
}

#[test]
fn extreme_and_missing_scores_still_draw() {
    let dir = tempfile::tempdir().unwrap();
    let probes = write_probes(dir.path(), &ALL_MODELS, None);
    let batch = flawprobe::table::read(&probes).unwrap();
    let means = batch.column_by_name("mean").unwrap().as_any().downcast_ref::<Float64Array>().unwrap();
    // Every third score is NaN, every fifth far below zero and every seventh
    // null.
    let changed: Float64Array = (0..means.len())
        .map(|i| match i {
            i if i % 3 == 0 => Some(f64::NAN),
            i if i % 5 == 0 => Some(-50.0),
            i if i % 7 == 0 => None,
            i => Some(means.value(i)),
        })
        .collect();
    let index = batch.schema().index_of("mean").unwrap();
    let mut columns = batch.columns().to_vec();
    columns[index] = Arc::new(changed);
    let names = batch.schema().fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>();
    let batch = RecordBatch::try_from_iter(names.into_iter().zip(columns)).unwrap();
    flawprobe::table::write(&probes, &batch).unwrap();

    let summary = write_report(&probes, None, &dir.path().join("out"), "Extremes").unwrap();
    assert_eq!(summary.figures.len(), 4);
    // The pattern leaves no finite score for some texture concepts.
    assert!(read(&summary.figures[1].svg).contains("(no data)"));
    for figure in &summary.figures {
        let image = image::open(&figure.png).expect("PNG decodes").to_rgb8();
        assert!(image.height() > 300, "{}", figure.name);
    }
}

#[test]
fn empty_probes_table_skips_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let probes = write_probes(dir.path(), &[], None);
    let summary = write_report(&probes, None, &dir.path().join("out"), "Empty").unwrap();

    assert!(summary.figures.is_empty());
    assert_eq!(summary.skipped.len(), ALL_FIGURES.len());
    let text = read(&summary.summary);
    assert!(text.contains("(no rows)"), "{text}");
    let html = read(&summary.html);
    assert_eq!(html.matches("class=\"skipped\"").count(), ALL_FIGURES.len());
}

/// The Chromium binary, or None (with a message) when it is not installed;
/// Debian's package is `chromium`.
fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/chromium");
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: /usr/bin/chromium is absent (install Debian's `chromium` package)");
        None
    }
}

fn chromium_command(chromium: &Path, profile: &Path) -> Command {
    let mut command = Command::new(chromium);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

#[test]
fn chromium_renders_report_with_every_figure() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let summary = full_report(dir.path());
    let url = format!("file://{}", summary.html.display());
    let shot = dir.path().join("shot.png");

    let output = chromium_command(&chromium, &dir.path().join("profile-shot"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,4000")
        .arg(&url)
        .output()
        .expect("run chromium");
    let log = format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "chromium --screenshot failed: {}\n{log}", output.status);
    let image = image::open(&shot).unwrap_or_else(|e| panic!("screenshot does not decode: {e}\n{log}")).to_rgb8();
    let inked = image.pixels().filter(|p| p.0.iter().any(|c| *c < 200)).count();
    let total = image.width() as usize * image.height() as usize;
    assert!(inked > total / 100, "screenshot nearly blank: {inked} of {total} pixels inked");

    let output = chromium_command(&chromium, &dir.path().join("profile-dom"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(output.status.success(), "chromium --dump-dom failed: {}", output.status);
    let dom = String::from_utf8_lossy(&output.stdout);
    for name in ALL_FIGURES {
        let figure = format!("data-figure=\"{name}\"");
        let start = dom.find(&figure).unwrap_or_else(|| panic!("DOM lacks figure {name}"));
        let rest = &dom[start..];
        let end = rest.find("</figure>").unwrap_or(rest.len());
        assert!(rest[..end].contains("<svg"), "figure {name} has no <svg> in the DOM");
    }
    assert_eq!(dom.matches("<svg").count(), ALL_FIGURES.len());
}
