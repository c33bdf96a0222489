//! The key tables and the study's question answered in numbers, rendered
//! as Markdown for `summary.md` (the HTML page renders the same tables).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::analysis::{Analysis, ConceptGroup};
use super::data::{Estimate, Model};
use super::figures::Section;

/// A table of already formatted cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Everything `summary.md` states.
#[derive(Debug, Clone)]
pub struct Summary {
    /// R² per (model, layer) and concept: final epoch, best alpha, mean ±
    /// std over seeds.
    pub key_table: Table,
    /// Mean R² over the concepts of each group, per model and layer.
    pub group_tables: Vec<(ConceptGroup, Table)>,
    /// Sentences answering the study's question.
    pub findings: Vec<String>,
}

pub fn summarise(analysis: &Analysis) -> Summary {
    let group_estimates: Vec<(ConceptGroup, BTreeMap<(Model, String), Estimate>)> =
        ConceptGroup::ALL.into_iter().map(|g| (g, analysis.group_r2_final(g))).collect();
    let group_tables = group_estimates
        .iter()
        .filter(|(_, estimates)| !estimates.is_empty())
        .map(|(group, estimates)| (*group, group_table(analysis, estimates)))
        .collect();
    let mut findings = Vec::new();
    for (group, estimates) in &group_estimates {
        findings.extend(memorising_finding(analysis, *group, estimates));
        findings.extend(random_findings(analysis, *group, estimates));
    }
    if findings.is_empty() {
        findings.push("The probes table has no colour or texture R² rows, so there is nothing to compare.".to_string());
    }
    Summary { key_table: key_table(analysis), group_tables, findings }
}

fn key_table(analysis: &Analysis) -> Table {
    let concepts = analysis.concepts();
    let estimates = analysis.final_concept_r2();
    let mut by_row: BTreeMap<(&Model, &str), BTreeMap<&str, Estimate>> = BTreeMap::new();
    for (cell, estimate) in &estimates {
        by_row.entry((&cell.model, &cell.layer)).or_default().insert(&cell.target, *estimate);
    }

    let mut header = vec!["model".to_string(), "layer".to_string()];
    header.extend(concepts.iter().cloned());
    let mut rows = Vec::new();
    for model in &analysis.table.models {
        for layer in &analysis.table.layers {
            let Some(cells) = by_row.get(&(model, layer.as_str())) else {
                continue;
            };
            let mut row = vec![model.label(), layer.clone()];
            row.extend(concepts.iter().map(|c| cells.get(c.as_str()).map_or("–".to_string(), format_estimate)));
            rows.push(row);
        }
    }
    Table { header, rows }
}

fn group_table(analysis: &Analysis, estimates: &BTreeMap<(Model, String), Estimate>) -> Table {
    let layers = &analysis.table.layers;
    let mut header = vec!["model".to_string()];
    header.extend(layers.iter().cloned());
    let mut rows = Vec::new();
    for model in &analysis.table.models {
        let cells: Vec<Option<&Estimate>> =
            layers.iter().map(|l| estimates.get(&(model.clone(), l.clone()))).collect();
        if cells.iter().all(Option::is_none) {
            continue;
        }
        let mut row = vec![model.label()];
        row.extend(cells.into_iter().map(|e| e.map_or("–".to_string(), format_estimate)));
        rows.push(row);
    }
    Table { header, rows }
}

/// Compares the most corrupted memorising network with the generalising one.
/// None when either is absent.
fn memorising_finding(
    analysis: &Analysis,
    group: ConceptGroup,
    estimates: &BTreeMap<(Model, String), Estimate>,
) -> Option<String> {
    let models = &analysis.table.models;
    let generalising = models.iter().find(|m| m.variant == "generalising")?;
    let memorising = models
        .iter()
        .filter(|m| m.variant == "memorising")
        .max_by(|a, b| a.corruption.total_cmp(&b.corruption))?;

    let mut pairs = Vec::new();
    for layer in &analysis.table.layers {
        let memorised = estimates.get(&(memorising.clone(), layer.clone()));
        let general = estimates.get(&(generalising.clone(), layer.clone()));
        if let (Some(m), Some(g)) = (memorised, general) {
            pairs.push(format!("{layer} {:.3} vs {:.3}", m.mean, g.mean));
        }
    }
    let memorised_mean = mean_over_layers(estimates, memorising)?;
    let general_mean = mean_over_layers(estimates, generalising)?;
    let ratio = if general_mean.abs() > 1e-12 {
        format!(" ({:.0} % of it)", 100.0 * memorised_mean / general_mean)
    } else {
        String::new()
    };
    Some(format!(
        "{Group} concepts, {memorising} against generalising: averaged over layers, the mean \
         {group} R² is {memorised_mean:.3} against {general_mean:.3}{ratio}; per layer, \
         {per_layer}.",
        Group = group.title(),
        group = group.name(),
        memorising = memorising.label(),
        per_layer = pairs.join(", "),
    ))
}

/// States how far each random network's R² lies above zero.
fn random_findings(
    analysis: &Analysis,
    group: ConceptGroup,
    estimates: &BTreeMap<(Model, String), Estimate>,
) -> Vec<String> {
    let mut findings = Vec::new();
    for model in analysis.table.models.iter().filter(|m| m.variant == "random") {
        let per_layer: Vec<(&String, &Estimate)> = analysis
            .table
            .layers
            .iter()
            .filter_map(|l| estimates.get(&(model.clone(), l.clone())).map(|e| (l, e)))
            .collect();
        let Some(lowest) = per_layer.iter().min_by(|a, b| a.1.mean.total_cmp(&b.1.mean)) else {
            continue;
        };
        let highest = per_layer.iter().max_by(|a, b| a.1.mean.total_cmp(&b.1.mean)).unwrap_or(lowest);
        let margin = if lowest.1.seed_std > 0.0 {
            format!(
                ", {:.1} standard deviations over seeds above zero",
                lowest.1.mean / lowest.1.seed_std
            )
        } else {
            String::new()
        };
        findings.push(format!(
            "The {model} network's mean {group} R² ranges from {low:.3} ({low_layer}{margin}) \
             to {high:.3} ({high_layer}).",
            model = model.label(),
            group = group.name(),
            low = lowest.1.mean,
            low_layer = lowest.0,
            high = highest.1.mean,
            high_layer = highest.0,
        ));
    }
    findings
}

fn mean_over_layers(estimates: &BTreeMap<(Model, String), Estimate>, model: &Model) -> Option<f64> {
    let means: Vec<f64> = estimates
        .iter()
        .filter(|((m, _), _)| m == model)
        .map(|(_, e)| e.mean)
        .collect();
    (!means.is_empty()).then(|| means.iter().sum::<f64>() / means.len() as f64)
}

/// `mean ± std over seeds`, to three decimals.
pub fn format_estimate(estimate: &Estimate) -> String {
    format!("{:.3} ± {:.3}", estimate.mean, estimate.seed_std)
}

/// Renders `summary.md`.
pub fn to_markdown(title: &str, summary: &Summary, analysis: &Analysis, sections: &[Section]) -> String {
    let mut text = String::new();
    let probe = analysis.concept_probe.as_deref().unwrap_or("none");
    let _ = writeln!(text, "# {title}\n");
    let _ = writeln!(text, "## Do flawed networks still encode colour and texture?\n");
    for finding in &summary.findings {
        let _ = writeln!(text, "- {finding}");
    }
    for (group, table) in &summary.group_tables {
        let _ = writeln!(
            text,
            "\n### Mean {} R² per layer (final epoch, best alpha, mean ± std over seeds)\n",
            group.name()
        );
        text.push_str(&markdown_table(table));
    }
    let _ = writeln!(
        text,
        "\n## Key table: held-out R² per concept\n\nProbe `{probe}`, best alpha per \
         (model, seed, epoch, layer, concept), final epoch of each model; cells are mean ± \
         population std over seeds of the fold-mean R².\n"
    );
    text.push_str(&markdown_table(&summary.key_table));

    let _ = writeln!(text, "\n## Figures\n");
    for section in sections {
        match &section.figure {
            Ok(_) => {
                let _ = writeln!(text, "- {}: `{name}.png`, `{name}.svg`", section.heading, name = section.name);
            }
            Err(reason) => {
                let _ = writeln!(text, "- {}: not drawn, because {reason}", section.heading);
            }
        }
    }
    text
}

fn markdown_table(table: &Table) -> String {
    let escape = |cell: &String| cell.replace('|', "\\|");
    let mut text = String::new();
    let header: Vec<String> = table.header.iter().map(escape).collect();
    let _ = writeln!(text, "| {} |", header.join(" | "));
    let _ = writeln!(text, "|{}", "---|".repeat(table.header.len()));
    for row in &table.rows {
        let cells: Vec<String> = row.iter().map(escape).collect();
        let _ = writeln!(text, "| {} |", cells.join(" | "));
    }
    if table.rows.is_empty() {
        let _ = writeln!(text, "\n(no rows)");
    }
    text
}
