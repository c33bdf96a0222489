//! Concept measures of the 64 fixture images against the values of
//! scikit-image 0.26 and OpenCV 5.1 stored in `reference.csv`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use flawprobe::concepts::{measure, Semantics, CONCEPT_NAMES};
use flawprobe::imageio::load_rgb;

const COLOUR_FRACTIONS: usize = 10;
const RELATIVE_TOLERANCE: f64 = 1e-9;
const ABSOLUTE_TOLERANCE: f64 = 1e-12;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/concepts")
}

/// Rows of `reference.csv`: image name → column name → value.
fn read_reference(path: &Path) -> HashMap<String, HashMap<String, f64>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut rows = HashMap::new();
    for line in lines.filter(|line| !line.is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), header.len(), "ragged row {line}");
        let values = header[1..]
            .iter()
            .zip(&fields[1..])
            .map(|(name, value)| (name.to_string(), value.parse::<f64>().unwrap()))
            .collect();
        rows.insert(fields[0].to_string(), values);
    }
    rows
}

/// The reference column of `concept`: texture columns are shared, the
/// others carry an `@reference-code` suffix for that semantics.
fn reference_column(concept: &str, semantics: Semantics) -> String {
    let texture = CONCEPT_NAMES[COLOUR_FRACTIONS + 1..].contains(&concept);
    match semantics {
        Semantics::ReferenceCode if !texture => format!("{concept}@reference-code"),
        _ => concept.to_string(),
    }
}

fn close(actual: f64, expected: f64) -> bool {
    let difference = (actual - expected).abs();
    difference <= ABSOLUTE_TOLERANCE || difference <= RELATIVE_TOLERANCE * expected.abs()
}

#[test]
fn fixture_images_match_reference_values() {
    let dir = fixture_dir();
    let reference_path = dir.join("reference.csv");
    if !reference_path.exists() {
        eprintln!("skipping: {} is absent", reference_path.display());
        return;
    }
    let reference = read_reference(&reference_path);
    assert_eq!(reference.len(), 64);

    let mut mismatches = Vec::new();
    for (image_name, expected) in &reference {
        let image = load_rgb(&dir.join("images").join(image_name)).unwrap();
        for semantics in [Semantics::Corrected, Semantics::ReferenceCode] {
            let values = measure(
                &image.pixels,
                image.width as usize,
                image.height as usize,
                semantics,
            )
            .unwrap();
            for (index, (&concept, &actual)) in CONCEPT_NAMES.iter().zip(&values).enumerate() {
                let column = reference_column(concept, semantics);
                let wanted = expected[&column];
                let equal = if index < COLOUR_FRACTIONS {
                    actual == wanted
                } else {
                    close(actual, wanted)
                };
                if !equal {
                    mismatches.push(format!(
                        "{image_name} {column}: measured {actual:e}, reference {wanted:e}"
                    ));
                }
            }
        }
    }
    mismatches.sort();
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}
