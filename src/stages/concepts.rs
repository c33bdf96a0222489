//! Stage `concepts`: the 17 concept measures of every decoded image (the
//! pixels the network sees), computed by [`crate::concepts::measure`].
//!
//! Writes `concepts.arrow`: `image_id` (UInt32) and one Float64 column per
//! name of [`crate::concepts::CONCEPT_NAMES`].

use std::sync::Arc;

use anyhow::{anyhow, Result};
use arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use rayon::prelude::*;
use serde::Serialize;

use super::decode::{DecodedImages, FILE as IMAGES_FILE};
use crate::concepts::{self, Semantics};
use crate::engine::{Stage, StageContext};

pub const FILE: &str = "concepts.arrow";

#[derive(Debug, Clone, Serialize)]
pub struct ConceptsStage {
    /// `corrected` or `reference-code`.
    pub semantics: String,
    #[serde(skip)]
    pub parsed: Semantics,
}

impl ConceptsStage {
    pub fn new(semantics: &str) -> Result<ConceptsStage> {
        let parsed: Semantics = semantics.parse().map_err(|err| anyhow!("concepts.semantics: {err}"))?;
        Ok(ConceptsStage { semantics: parsed.name().to_string(), parsed })
    }
}

impl Stage for ConceptsStage {
    fn name(&self) -> &'static str {
        "concepts"
    }

    fn version(&self) -> u32 {
        1
    }

    fn params(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<()> {
        let path = ctx.input_file("decode", IMAGES_FILE)?;
        let images = DecodedImages::read(&path)?;
        let size = images.size;
        let rows = (0..images.len())
            .into_par_iter()
            .map(|id| {
                concepts::measure(images.pixels(id), size, size, self.parsed)
                    .map_err(|err| anyhow!("{}: image {id}: {err}", path.display()))
            })
            .collect::<Result<Vec<_>>>()?;

        let mut fields = vec![Field::new("image_id", DataType::UInt32, false)];
        fields.extend(concepts::concept_fields());
        let mut columns: Vec<ArrayRef> = vec![Arc::new((0..rows.len() as u32).collect::<UInt32Array>())];
        columns.extend(concepts::concept_columns(&rows));
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        crate::table::write(&ctx.out_dir().join(FILE), &batch)
    }
}
