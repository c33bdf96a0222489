//! The planted concepts of the synthetic textures, checked against the
//! pixels of the written PNG files.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use flawprobe::synth::{generate, SynthConfig, CLASSES, PIXEL_NOISE_AMPLITUDE};

/// One row of concepts.csv, with the columns these tests read.
struct Row {
    path: String,
    class: String,
    fg_rgb: [u8; 3],
    bg_rgb: [u8; 3],
    fg_pixels: usize,
    coverage: f64,
    scale_px: f64,
}

fn parse_hex(text: &str) -> [u8; 3] {
    let digits = text.strip_prefix('#').unwrap();
    let channel = |at: usize| u8::from_str_radix(&digits[at..at + 2], 16).unwrap();
    [channel(0), channel(2), channel(4)]
}

fn read_rows(root: &Path) -> Vec<Row> {
    let text = fs::read_to_string(root.join("concepts.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|&h| h == name).unwrap();
    let (path, class, fg, bg) = (
        column("path"),
        column("class"),
        column("fg_rgb"),
        column("bg_rgb"),
    );
    let (pixels, coverage, scale) = (column("fg_pixels"), column("coverage"), column("scale_px"));

    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            Row {
                path: fields[path].to_string(),
                class: fields[class].to_string(),
                fg_rgb: parse_hex(fields[fg]),
                bg_rgb: parse_hex(fields[bg]),
                fg_pixels: fields[pixels].parse().unwrap(),
                coverage: fields[coverage].parse().unwrap(),
                scale_px: fields[scale].parse().unwrap(),
            }
        })
        .collect()
}

fn channel_distance(a: [u8; 3], b: [u8; 3]) -> u8 {
    (0..3).map(|c| a[c].abs_diff(b[c])).max().unwrap()
}

/// Assigns each pixel of the image back to the nearer of its two colours.
/// Returns the foreground mask, row-major, and the side in pixels. Panics
/// when a pixel is further than the noise amplitude from its colour.
fn recover_mask(root: &Path, row: &Row) -> (Vec<bool>, usize) {
    let image = image::open(root.join(&row.path)).unwrap().into_rgb8();
    let side = image.width() as usize;
    let mask = image
        .pixels()
        .map(|pixel| {
            let (to_fg, to_bg) = (
                channel_distance(pixel.0, row.fg_rgb),
                channel_distance(pixel.0, row.bg_rgb),
            );
            let nearest = to_fg.min(to_bg);
            assert!(
                nearest <= PIXEL_NOISE_AMPLITUDE,
                "{}: pixel {:?} is {nearest} from both colours",
                row.path,
                pixel.0
            );
            to_fg < to_bg
        })
        .collect();
    (mask, side)
}

#[test]
fn coverage_matches_a_recount_from_the_png() {
    let root = tempfile::tempdir().unwrap();
    generate(
        &SynthConfig {
            per_class: 6,
            size: 64,
            seed: 11,
        },
        root.path(),
    )
    .unwrap();

    let rows = read_rows(root.path());
    assert_eq!(rows.len(), CLASSES.len() * 6);
    for row in &rows {
        let (mask, side) = recover_mask(root.path(), row);
        let counted = mask.iter().filter(|&&inside| inside).count();
        assert_eq!(counted, row.fg_pixels, "{}", row.path);
        assert_eq!(
            row.coverage,
            counted as f64 / (side * side) as f64,
            "{}",
            row.path
        );
    }
}

/// Number of colour-free statistics per image that [`mask_features`] returns.
const FEATURES: usize = 4;

/// Computes colour-free statistics of a mask: coverage, boundary crossings
/// per period along rows and columns, and the share of boundary 2×2 blocks
/// that are corners. The fourth is the coherence of boundary orientations,
/// 1 when all boundaries are parallel and near 0 when they point every way.
fn mask_features(mask: &[bool], side: usize, scale_px: f64) -> [f64; FEATURES] {
    let at = |x: usize, y: usize| f64::from(u8::from(mask[y * side + x]));
    let coverage = mask.iter().filter(|&&inside| inside).count() as f64 / mask.len() as f64;

    let (mut crossings, mut corners, mut boundary_blocks) = (0.0, 0.0, 0.0);
    for y in 0..side - 1 {
        for x in 0..side - 1 {
            let block = at(x, y) + at(x + 1, y) + at(x, y + 1) + at(x + 1, y + 1);
            crossings += (at(x, y) - at(x + 1, y)).abs() + (at(x, y) - at(x, y + 1)).abs();
            if block == 1.0 || block == 3.0 {
                corners += 1.0;
            }
            if block > 0.0 && block < 4.0 {
                boundary_blocks += 1.0;
            }
        }
    }

    // Sobel gradients. Doubling the angle makes opposite normals agree.
    let (mut cos_sum, mut sin_sum, mut edges) = (0.0, 0.0, 0.0);
    for y in 1..side - 1 {
        for x in 1..side - 1 {
            let gx = at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x - 1, y)
                - at(x - 1, y + 1);
            let gy = at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x, y - 1)
                - at(x + 1, y - 1);
            if gx != 0.0 || gy != 0.0 {
                let angle = gy.atan2(gx);
                cos_sum += (2.0 * angle).cos();
                sin_sum += (2.0 * angle).sin();
                edges += 1.0;
            }
        }
    }

    let pairs = (2 * (side - 1) * (side - 1)) as f64;
    [
        coverage,
        crossings / pairs * scale_px,
        corners / f64::max(boundary_blocks, 1.0),
        cos_sum.hypot(sin_sum) / f64::max(edges, 1.0),
    ]
}

/// Features of every image under `root`, grouped by class.
fn features_by_class(root: &Path) -> BTreeMap<String, Vec<[f64; FEATURES]>> {
    let mut by_class: BTreeMap<String, Vec<[f64; FEATURES]>> = BTreeMap::new();
    for row in read_rows(root) {
        let (mask, side) = recover_mask(root, &row);
        by_class
            .entry(row.class.clone())
            .or_default()
            .push(mask_features(&mask, side, row.scale_px));
    }
    by_class
}

fn mean(features: &[[f64; FEATURES]]) -> [f64; FEATURES] {
    let mut sum = [0.0; FEATURES];
    for feature in features {
        for k in 0..FEATURES {
            sum[k] += feature[k];
        }
    }
    sum.map(|total| total / features.len() as f64)
}

/// Standard deviation of each feature over all images.
fn spread(features: &[[f64; FEATURES]]) -> [f64; FEATURES] {
    let centre = mean(features);
    let mut squares = [0.0; FEATURES];
    for feature in features {
        for k in 0..FEATURES {
            squares[k] += (feature[k] - centre[k]).powi(2);
        }
    }
    squares.map(|total| (total / features.len() as f64).sqrt())
}

/// Euclidean distance after dividing each feature by its spread.
fn scaled_distance(a: &[f64; FEATURES], b: &[f64; FEATURES], spread: &[f64; FEATURES]) -> f64 {
    (0..FEATURES)
        .map(|k| ((a[k] - b[k]) / spread[k]).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn classes_differ_in_mask_statistics() {
    // Centroids come from one seed and are scored on images of another.
    let (fit_root, score_root) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(
        &SynthConfig {
            per_class: 40,
            size: 96,
            seed: 2,
        },
        fit_root.path(),
    )
    .unwrap();
    generate(
        &SynthConfig {
            per_class: 40,
            size: 96,
            seed: 3,
        },
        score_root.path(),
    )
    .unwrap();
    let fit = features_by_class(fit_root.path());
    let score = features_by_class(score_root.path());

    let all: Vec<[f64; FEATURES]> = fit.values().flatten().copied().collect();
    let spread = spread(&all);
    let centroids: Vec<(&String, [f64; FEATURES])> = fit
        .iter()
        .map(|(class, features)| (class, mean(features)))
        .collect();

    // Every two class means lie apart by more than half a spread.
    for (i, (class_a, centroid_a)) in centroids.iter().enumerate() {
        for (class_b, centroid_b) in &centroids[i + 1..] {
            let distance = scaled_distance(centroid_a, centroid_b, &spread);
            assert!(
                distance > 0.5,
                "{class_a} and {class_b} means are only {distance:.3} apart"
            );
        }
    }

    // A nearest-centroid rule on four numbers beats the 10 % of chance by far.
    // At present it scores 301 of 400, and waves and rings are the hardest.
    let mut correct = 0;
    let mut total = 0;
    for (class, features) in &score {
        for feature in features {
            let nearest = centroids
                .iter()
                .min_by(|a, b| {
                    scaled_distance(feature, &a.1, &spread)
                        .total_cmp(&scaled_distance(feature, &b.1, &spread))
                })
                .unwrap()
                .0;
            correct += usize::from(nearest == class);
            total += 1;
        }
    }
    assert_eq!(total, CLASSES.len() * 40);
    assert!(
        correct * 10 >= total * 6,
        "nearest centroid got {correct} of {total} right"
    );
}

#[test]
fn planted_concepts_vary_within_the_data_set() {
    let root = tempfile::tempdir().unwrap();
    generate(
        &SynthConfig {
            per_class: 20,
            size: 32,
            seed: 4,
        },
        root.path(),
    )
    .unwrap();
    let text = fs::read_to_string(root.path().join("concepts.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let hue_column = header.iter().position(|&h| h == "fg_hue_deg").unwrap();

    // Coverage is not a class label in disguise: it spreads within classes.
    let rows = read_rows(root.path());
    for class in CLASSES {
        let coverages: Vec<f64> = rows
            .iter()
            .filter(|r| r.class == class)
            .map(|r| r.coverage)
            .collect();
        let low = coverages.iter().copied().fold(f64::INFINITY, f64::min);
        let high = coverages.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert!(
            high - low > 0.05,
            "{class}: coverage only spans {low:.3} to {high:.3}"
        );
    }
    let low = rows
        .iter()
        .map(|r| r.coverage)
        .fold(f64::INFINITY, f64::min);
    let high = rows
        .iter()
        .map(|r| r.coverage)
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(low < 0.15, "smallest coverage is {low:.3}");
    assert!(high > 0.8, "largest coverage is {high:.3}");

    // Foreground hues reach every 60-degree sector of the hue circle.
    let mut sectors = [0usize; 6];
    for line in text.lines().skip(1) {
        let hue: f64 = line.split(',').nth(hue_column).unwrap().parse().unwrap();
        assert!((0.0..360.0).contains(&hue), "hue {hue} out of range");
        sectors[(hue / 60.0) as usize] += 1;
    }
    assert!(
        sectors.iter().all(|&count| count >= 10),
        "images per hue sector: {sectors:?}"
    );
}
