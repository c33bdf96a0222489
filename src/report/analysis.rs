//! The numbers the report shows, computed from the best-alpha probe rows:
//! final-epoch estimates per layer and concept-group averages per epoch.

use std::collections::BTreeMap;

use super::data::{Estimate, Model, ProbeScore, ProbeTable};

/// Colour concepts: hue-range pixel fractions, black, white and the Hasler
/// and Süsstrunk colourfulness.
pub const COLOUR_CONCEPTS: [&str; 11] = [
    "red", "orange", "yellow", "green", "cyan", "blue", "purple", "magenta", "black", "white",
    "colorfulness",
];

/// Texture concepts: grey-level co-occurrence matrix statistics.
pub const TEXTURE_CONCEPTS: [&str; 6] =
    ["contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation"];

/// The two families of concepts the study compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConceptGroup {
    Colour,
    Texture,
}

impl ConceptGroup {
    pub const ALL: [ConceptGroup; 2] = [ConceptGroup::Colour, ConceptGroup::Texture];

    pub fn name(self) -> &'static str {
        match self {
            ConceptGroup::Colour => "colour",
            ConceptGroup::Texture => "texture",
        }
    }

    /// Returns the name capitalised, for the start of a title or sentence.
    pub fn title(self) -> &'static str {
        match self {
            ConceptGroup::Colour => "Colour",
            ConceptGroup::Texture => "Texture",
        }
    }

    pub fn concepts(self) -> &'static [&'static str] {
        match self {
            ConceptGroup::Colour => &COLOUR_CONCEPTS,
            ConceptGroup::Texture => &TEXTURE_CONCEPTS,
        }
    }

    /// Finds the group of a concept target, ignoring a semantics suffix such
    /// as `@reference-code`.
    pub fn of(target: &str) -> Option<ConceptGroup> {
        let base = target.split('@').next().unwrap_or(target);
        ConceptGroup::ALL.into_iter().find(|group| group.concepts().contains(&base))
    }
}

/// Identifies one final-epoch estimate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cell {
    pub model: Model,
    pub layer: String,
    pub probe: String,
    pub target: String,
}

/// The probe table with the per-model final epoch worked out.
pub struct Analysis<'a> {
    pub table: &'a ProbeTable,
    final_epoch: BTreeMap<Model, i64>,
    /// The regression probe whose R² the concept figures show: `ridge` when
    /// present, else the first probe scored by R².
    pub concept_probe: Option<String>,
}

impl<'a> Analysis<'a> {
    pub fn new(table: &'a ProbeTable) -> Analysis<'a> {
        let mut final_epoch = BTreeMap::new();
        for score in &table.scores {
            let epoch = final_epoch.entry(score.model.clone()).or_insert(score.epoch);
            *epoch = (*epoch).max(score.epoch);
        }
        let mut r2_probes: Vec<&str> = table
            .scores
            .iter()
            .filter(|s| is_concept_r2(s))
            .map(|s| s.probe.as_str())
            .collect();
        r2_probes.sort_unstable();
        r2_probes.dedup();
        let concept_probe = r2_probes
            .iter()
            .find(|p| **p == "ridge")
            .or(r2_probes.first())
            .map(|p| p.to_string());
        Analysis { table, final_epoch, concept_probe }
    }

    /// Returns the last epoch probed for `model`.
    pub fn final_epoch(&self, model: &Model) -> Option<i64> {
        self.final_epoch.get(model).copied()
    }

    /// Concept targets scored by the concept probe, colour first, then
    /// texture, then any other concept in name order.
    pub fn concepts(&self) -> Vec<String> {
        let mut names: Vec<String> = self.concept_scores().map(|s| s.target.clone()).collect();
        names.sort_by_key(|name| (concept_rank(name), name.clone()));
        names.dedup();
        names
    }

    /// Estimates at each model's final epoch for the rows `keep` accepts,
    /// aggregated over seeds.
    pub fn final_estimates(&self, keep: impl Fn(&ProbeScore) -> bool) -> BTreeMap<Cell, Estimate> {
        let mut per_seed: BTreeMap<Cell, BTreeMap<i64, (f64, f64)>> = BTreeMap::new();
        for score in self.table.scores.iter().filter(|s| keep(s)) {
            if self.final_epoch(&score.model) != Some(score.epoch) {
                continue;
            }
            let cell = Cell {
                model: score.model.clone(),
                layer: score.layer.clone(),
                probe: score.probe.clone(),
                target: score.target.clone(),
            };
            // A tie for the best alpha can leave two rows, and the first one counts.
            per_seed.entry(cell).or_default().entry(score.seed).or_insert((score.mean, score.std));
        }
        per_seed
            .into_iter()
            .filter_map(|(cell, seeds)| {
                let pairs: Vec<(f64, f64)> = seeds.into_values().collect();
                Estimate::from_seeds(&pairs).map(|estimate| (cell, estimate))
            })
            .collect()
    }

    /// Final-epoch R² of the concept probe, per (model, layer, concept).
    pub fn final_concept_r2(&self) -> BTreeMap<Cell, Estimate> {
        self.final_estimates(|s| self.is_concept_probe_row(s))
    }

    /// Mean R² over the concepts of `group`, per (model, layer, epoch): the
    /// concept average is taken within each seed, then aggregated over seeds,
    /// so the spread is the std over seeds only.
    pub fn group_r2_by_epoch(&self, group: ConceptGroup) -> BTreeMap<(Model, String, i64), Estimate> {
        let mut sums: BTreeMap<(Model, String, i64, i64), (f64, usize)> = BTreeMap::new();
        let rows = self
            .concept_scores()
            .filter(|s| ConceptGroup::of(&s.target) == Some(group) && s.mean.is_finite());
        for score in rows {
            let key = (score.model.clone(), score.layer.clone(), score.epoch, score.seed);
            let entry = sums.entry(key).or_insert((0.0, 0));
            entry.0 += score.mean;
            entry.1 += 1;
        }
        let mut per_seed: BTreeMap<(Model, String, i64), Vec<f64>> = BTreeMap::new();
        for ((model, layer, epoch, _seed), (sum, count)) in sums {
            per_seed.entry((model, layer, epoch)).or_default().push(sum / count as f64);
        }
        per_seed
            .into_iter()
            .filter_map(|(key, values)| Estimate::from_values(&values).map(|e| (key, e)))
            .collect()
    }

    /// [`Analysis::group_r2_by_epoch`] at each model's final epoch, per
    /// (model, layer).
    pub fn group_r2_final(&self, group: ConceptGroup) -> BTreeMap<(Model, String), Estimate> {
        self.group_r2_by_epoch(group)
            .into_iter()
            .filter(|((model, _, epoch), _)| self.final_epoch(model) == Some(*epoch))
            .map(|((model, layer, _), estimate)| ((model, layer), estimate))
            .collect()
    }

    fn concept_scores(&self) -> impl Iterator<Item = &ProbeScore> {
        self.table.scores.iter().filter(|s| self.is_concept_probe_row(s))
    }

    fn is_concept_probe_row(&self, score: &ProbeScore) -> bool {
        is_concept_r2(score) && Some(&score.probe) == self.concept_probe.as_ref()
    }
}

fn is_concept_r2(score: &ProbeScore) -> bool {
    score.target_kind == "concept" && score.metric == "r2"
}

fn concept_rank(target: &str) -> (usize, usize) {
    let base = target.split('@').next().unwrap_or(target);
    for (rank, group) in ConceptGroup::ALL.into_iter().enumerate() {
        if let Some(position) = group.concepts().iter().position(|c| *c == base) {
            return (rank, position);
        }
    }
    (ConceptGroup::ALL.len(), 0)
}
