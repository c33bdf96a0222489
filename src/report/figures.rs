//! The plan of the report's figures: what each one draws, and from which
//! numbers.

use std::collections::BTreeMap;

use super::analysis::{Analysis, ConceptGroup};
use super::data::{Estimate, Model, TrainingEpoch, TRAINING_CURVES};
use super::plot::{Figure, Line, Panel, Point, XAxis, WIDTH};

/// Lowest R² on the axis. R² is at most 1, but a probe far below 0 would
/// flatten every other line, so the axis stops here.
const R2_FLOOR: f64 = -1.0;
const R2_LIMITS: (f64, f64) = (R2_FLOOR, 1.0);
const ACCURACY_LIMITS: (f64, f64) = (0.0, 1.0);

/// A figure of the report, or the reason it was left out.
pub struct Section {
    /// File basename and HTML anchor.
    pub name: &'static str,
    pub heading: String,
    /// Description of the figure for the HTML page.
    pub caption: String,
    pub figure: Result<Figure, String>,
}

/// Plans every figure, in report order.
pub fn plan(analysis: &Analysis, training: Option<&[TrainingEpoch]>) -> Vec<Section> {
    vec![
        r2_by_layer(analysis, ConceptGroup::Colour),
        r2_by_layer(analysis, ConceptGroup::Texture),
        r2_by_epoch(analysis),
        class_probe_accuracy(analysis),
        training_curves(training),
    ]
}

fn r2_by_layer(analysis: &Analysis, group: ConceptGroup) -> Section {
    let name = match group {
        ConceptGroup::Colour => "r2-by-layer-colour",
        ConceptGroup::Texture => "r2-by-layer-texture",
    };
    let caption = format!(
        "Held-out R² of the linear regression of each {group} concept from each layer's \
         pooled activations, at the best alpha and at each model's final epoch. A point \
         is the mean over seeds of the fold means; the error bar is the standard deviation \
         over all seed × fold scores (the square root of the mean fold variance plus the \
         variance of the seed means). R² below {R2_FLOOR} is drawn at {R2_FLOOR}.",
        group = group.name()
    );
    let heading = format!("R² of {} concepts by layer", group.name());
    let estimates = analysis.final_concept_r2();
    let concepts: Vec<String> = analysis
        .concepts()
        .into_iter()
        .filter(|c| ConceptGroup::of(c) == Some(group))
        .collect();
    if concepts.is_empty() {
        let reason = format!("the probes table has no R² rows for {} concepts", group.name());
        return Section { name, heading, caption, figure: Err(reason) };
    }

    let layers = &analysis.table.layers;
    let mut legend = Legend::default();
    let panels = concepts
        .iter()
        .map(|concept| {
            let cells = estimates.iter().filter(|(cell, _)| &cell.target == concept);
            let by_model = cells.map(|(cell, e)| (&cell.model, layer_x(layers, &cell.layer), *e));
            Panel { title: concept.clone(), lines: lines_by_model(analysis, &mut legend, by_model) }
        })
        .collect();
    let figure = Figure {
        name: name.to_string(),
        title: format!("{} concepts: held-out R² by layer (final epoch, best alpha)", group.title()),
        x_axis: XAxis::Layers(layers.clone()),
        y_label: "R²".to_string(),
        y_limits: R2_LIMITS,
        columns: layer_columns(layers, 4),
        panels,
        legend: legend.labels,
    };
    Section { name, heading, caption, figure: Ok(figure) }
}

fn r2_by_epoch(analysis: &Analysis) -> Section {
    let name = "r2-by-epoch";
    let heading = "R² over training epochs".to_string();
    let caption = "Mean held-out R² over the colour concepts (left) and the texture concepts \
                   (right) of each layer, at every probed epoch of the generalising and \
                   memorising networks. The concept mean is taken within each seed; the \
                   error bar is the standard deviation of that mean over seeds."
        .to_string();

    let by_group: Vec<(ConceptGroup, BTreeMap<(Model, String, i64), Estimate>)> = ConceptGroup::ALL
        .into_iter()
        .map(|group| {
            let mut estimates = analysis.group_r2_by_epoch(group);
            estimates.retain(|(model, _, _), _| model.is_trained());
            (group, estimates)
        })
        .collect();
    if by_group.iter().all(|(_, estimates)| estimates.is_empty()) {
        let reason = "the probes table has no concept R² rows of generalising or memorising networks";
        return Section { name, heading, caption, figure: Err(reason.to_string()) };
    }

    let mut legend = Legend::default();
    let mut panels = Vec::new();
    for layer in &analysis.table.layers {
        for (group, estimates) in &by_group {
            let points = estimates
                .iter()
                .filter(|((_, l, _), _)| l == layer)
                .map(|((model, _, epoch), e)| (model, *epoch as f64, Estimate { spread: e.seed_std, ..*e }));
            let title = format!("{layer}: {}", group.name());
            panels.push(Panel { title, lines: lines_by_model(analysis, &mut legend, points) });
        }
    }
    let figure = Figure {
        name: name.to_string(),
        title: "Mean concept R² over training epochs, per layer".to_string(),
        x_axis: XAxis::Numeric("epoch".to_string()),
        y_label: "mean R²".to_string(),
        y_limits: R2_LIMITS,
        columns: 2,
        panels,
        legend: legend.labels,
    };
    Section { name, heading, caption, figure: Ok(figure) }
}

fn class_probe_accuracy(analysis: &Analysis) -> Section {
    let name = "class-probe-accuracy";
    let heading = "Class-probe accuracy by layer".to_string();
    let caption = "Held-out accuracy of linear classifiers of the true labels and of the \
                   labels each network was trained on (permuted for memorising networks), at \
                   the best alpha and the final epoch. Error bars as in the R² figures."
        .to_string();
    let estimates =
        analysis.final_estimates(|s| s.target_kind == "class" && s.metric == "accuracy");
    if estimates.is_empty() {
        let reason = "the probes table has no class-probe accuracy rows";
        return Section { name, heading, caption, figure: Err(reason.to_string()) };
    }

    let mut probes: Vec<&str> = estimates.keys().map(|c| c.probe.as_str()).collect();
    probes.sort_unstable();
    probes.dedup();
    let mut targets: Vec<&str> = estimates.keys().map(|c| c.target.as_str()).collect();
    targets.sort_by_key(|t| (target_rank(t), t.to_string()));
    targets.dedup();

    let layers = &analysis.table.layers;
    let mut legend = Legend::default();
    let mut panels = Vec::new();
    for probe in &probes {
        for target in &targets {
            let cells = estimates.iter().filter(|(c, _)| c.probe == *probe && c.target == *target);
            let points = cells.map(|(c, e)| (&c.model, layer_x(layers, &c.layer), *e));
            let title = format!("{probe}: {}", describe_target(target));
            panels.push(Panel { title, lines: lines_by_model(analysis, &mut legend, points) });
        }
    }
    let figure = Figure {
        name: name.to_string(),
        title: "Class probes: held-out accuracy by layer (final epoch, best alpha)".to_string(),
        x_axis: XAxis::Layers(layers.clone()),
        y_label: "accuracy".to_string(),
        y_limits: ACCURACY_LIMITS,
        columns: layer_columns(layers, targets.len().clamp(1, 3)),
        panels,
        legend: legend.labels,
    };
    Section { name, heading, caption, figure: Ok(figure) }
}

fn training_curves(training: Option<&[TrainingEpoch]>) -> Section {
    let name = "training-curves";
    let heading = "Training curves".to_string();
    let caption = "Accuracy per epoch of each trained variant, mean over seeds with the \
                   standard deviation over seeds as error bar: on the training set (against \
                   the labels it was trained on), on the validation set, and on the training \
                   rows whose label the permutation changed or left unchanged, against the \
                   true and the training labels."
        .to_string();
    let rows = match training {
        None => {
            let reason = "no training table was given";
            return Section { name, heading, caption, figure: Err(reason.to_string()) };
        }
        Some(rows) if rows.is_empty() => {
            let reason = "the training table has no rows";
            return Section { name, heading, caption, figure: Err(reason.to_string()) };
        }
        Some(rows) => rows,
    };

    let mut values: BTreeMap<(Model, usize, i64), Vec<f64>> = BTreeMap::new();
    for row in rows {
        for (curve, value) in row.values.iter().enumerate() {
            if value.is_finite() {
                values.entry((row.model.clone(), curve, row.epoch)).or_default().push(*value);
            }
        }
    }
    let mut models: Vec<&Model> = rows.iter().map(|r| &r.model).collect();
    models.sort();
    models.dedup();

    let panels = models
        .into_iter()
        .map(|model| {
            let lines = (0..TRAINING_CURVES.len())
                .map(|curve| {
                    let points = values
                        .iter()
                        .filter(|((m, c, _), _)| m == model && *c == curve)
                        .filter_map(|((_, _, epoch), v)| Estimate::from_values(v).map(|e| (*epoch, e)))
                        .map(|(epoch, e)| Point { x: epoch as f64, y: e.mean, err: e.seed_std })
                        .collect();
                    Line { series: curve, points }
                })
                .filter(|line: &Line| !line.points.is_empty())
                .collect();
            Panel { title: model.label(), lines }
        })
        .collect();
    let figure = Figure {
        name: name.to_string(),
        title: "Training curves: accuracy per epoch".to_string(),
        x_axis: XAxis::Numeric("epoch".to_string()),
        y_label: "accuracy".to_string(),
        y_limits: ACCURACY_LIMITS,
        columns: 2,
        panels,
        legend: TRAINING_CURVES.iter().map(|(_, label)| label.to_string()).collect(),
    };
    Section { name, heading, caption, figure: Ok(figure) }
}

/// Legend entries in the order models are first met; each model keeps its
/// colour across the panels of a figure.
#[derive(Default)]
struct Legend {
    models: Vec<Model>,
    labels: Vec<String>,
}

impl Legend {
    fn series(&mut self, model: &Model) -> usize {
        if let Some(index) = self.models.iter().position(|m| m == model) {
            return index;
        }
        self.models.push(model.clone());
        self.labels.push(model.label());
        self.models.len() - 1
    }
}

/// Builds one line per model, in the analysis' model order, from (model, x,
/// estimate) triples. The error bar is the estimate's spread.
fn lines_by_model<'m>(
    analysis: &Analysis,
    legend: &mut Legend,
    points: impl Iterator<Item = (&'m Model, f64, Estimate)>,
) -> Vec<Line> {
    let mut by_model: BTreeMap<&Model, Vec<Point>> = BTreeMap::new();
    for (model, x, estimate) in points {
        let point = Point { x, y: estimate.mean, err: estimate.spread };
        by_model.entry(model).or_default().push(point);
    }
    let mut lines = Vec::new();
    for model in &analysis.table.models {
        let Some(mut points) = by_model.remove(model) else {
            continue;
        };
        points.sort_by(|a, b| a.x.total_cmp(&b.x));
        lines.push(Line { series: legend.series(model), points });
    }
    lines
}

/// Picks the most panel columns, up to `preferred`, whose layer tick labels
/// fit side by side. The character width is an estimate for 13 px DejaVu
/// Sans.
fn layer_columns(layers: &[String], preferred: usize) -> usize {
    const CHAR_WIDTH: usize = 7;
    const LABEL_GAP: usize = 4;
    const PANEL_MARGINS: usize = 90;
    let longest = layers.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let needed = layers.len() * (longest * CHAR_WIDTH + LABEL_GAP);
    (1..=preferred.max(1))
        .rev()
        .find(|columns| (WIDTH as usize / columns).saturating_sub(PANEL_MARGINS) >= needed)
        .unwrap_or(1)
}

fn layer_x(layers: &[String], layer: &str) -> f64 {
    layers.iter().position(|l| l == layer).map_or(f64::NAN, |i| i as f64)
}

fn target_rank(target: &str) -> usize {
    match target {
        "label" => 0,
        "train_label" => 1,
        _ => 2,
    }
}

/// Names a class target for a panel title.
pub fn describe_target(target: &str) -> String {
    match target {
        "label" => "true labels".to_string(),
        "train_label" => "training (permuted) labels".to_string(),
        other => other.to_string(),
    }
}
