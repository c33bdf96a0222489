//! Concept measures of small crafted images: range bounds, semantics, and
//! the texture statistics of degenerate images.

use flawprobe::concepts::hsv::{rgb_to_hsv, Hsv};
use flawprobe::concepts::{measure, ConceptError, Semantics, CONCEPT_NAMES};

/// Finds an RGB colour whose OpenCV HSV satisfies `wanted`.
fn colour_where(description: &str, wanted: impl Fn(Hsv) -> bool) -> [u8; 3] {
    for r in 0..=255u8 {
        for g in 0..=255u8 {
            for b in 0..=255u8 {
                if wanted(rgb_to_hsv(r, g, b)) {
                    return [r, g, b];
                }
            }
        }
    }
    panic!("no RGB colour has {description}")
}

/// Finds an RGB colour that OpenCV converts to exactly `target`.
fn colour_with(target: Hsv) -> [u8; 3] {
    colour_where(&format!("{target:?}"), |hsv| hsv == target)
}

fn is_green(hsv: Hsv) -> bool {
    (40..=75).contains(&hsv.hue)
}

/// Colour fractions of a one-pixel image, by concept name.
fn fractions_of(pixel: [u8; 3], semantics: Semantics) -> Vec<(&'static str, f64)> {
    let values = measure(&pixel, 1, 1, semantics).unwrap();
    CONCEPT_NAMES.iter().copied().zip(values).take(10).collect()
}

fn present(pixel: [u8; 3], semantics: Semantics) -> Vec<&'static str> {
    fractions_of(pixel, semantics)
        .into_iter()
        .filter(|&(_, fraction)| fraction == 1.0)
        .map(|(name, _)| name)
        .collect()
}

fn chromatic(hue: u8) -> [u8; 3] {
    colour_with(Hsv { hue, saturation: 200, value: 200 })
}

#[test]
fn hue_bounds_are_inclusive_on_both_sides() {
    let cases: [(u8, &[&str]); 9] = [
        (0, &["red"]),
        (10, &["red", "orange"]),
        (25, &["orange", "yellow"]),
        (40, &["yellow", "green"]),
        (75, &["green", "cyan"]),
        (100, &["cyan", "blue"]),
        (125, &["blue", "purple"]),
        (145, &["purple", "magenta"]),
        (165, &["red", "magenta"]),
    ];
    for (hue, expected) in cases {
        assert_eq!(present(chromatic(hue), Semantics::Corrected), expected, "hue {hue}");
    }
}

#[test]
fn red_wraps_across_180_only_when_corrected() {
    for hue in [166, 179] {
        assert_eq!(present(chromatic(hue), Semantics::Corrected), ["red"], "hue {hue}");
        assert!(present(chromatic(hue), Semantics::ReferenceCode).is_empty(), "hue {hue}");
    }
    assert_eq!(present(chromatic(5), Semantics::ReferenceCode), ["red"]);
    assert_eq!(present(chromatic(165), Semantics::ReferenceCode), ["magenta"]);
}

#[test]
fn saturation_and_value_thresholds_are_inclusive() {
    let at_threshold = colour_with(Hsv { hue: 60, saturation: 50, value: 77 });
    assert!(present(at_threshold, Semantics::Corrected).contains(&"green"));

    let low_saturation =
        colour_where("green, S 49, V ≥ 77", |hsv| is_green(hsv) && hsv.saturation == 49 && hsv.value >= 77);
    assert!(!present(low_saturation, Semantics::Corrected).contains(&"green"));

    let low_value =
        colour_where("green, S ≥ 50, V 76", |hsv| is_green(hsv) && hsv.saturation >= 50 && hsv.value == 76);
    assert!(!present(low_value, Semantics::Corrected).contains(&"green"));
}

#[test]
fn black_and_white_thresholds_are_inclusive() {
    assert_eq!(present([100, 100, 100], Semantics::Corrected), ["black"]);
    assert!(present([101, 101, 101], Semantics::Corrected).is_empty());
    assert_eq!(present([190, 190, 190], Semantics::Corrected), ["white"]);
    let tinted_white = colour_with(Hsv { hue: 0, saturation: 50, value: 190 });
    assert_eq!(present(tinted_white, Semantics::Corrected), ["red", "white"]);
}

#[test]
fn fractions_count_pixels_of_whole_image() {
    // Four pixels: green, green, black, grey 150.
    let green = chromatic(60);
    let pixels = [green, green, [0, 0, 0], [150, 150, 150]].concat();
    let values = measure(&pixels, 2, 2, Semantics::Corrected).unwrap();
    assert_eq!(values[3], 0.5);
    assert_eq!(values[8], 0.25);
    assert_eq!(values[9], 0.0);
}

#[test]
fn colourfulness_reference_code_swaps_red_and_blue() {
    let pixels = [[255, 0, 0], [0, 0, 0]].concat();
    let corrected = measure(&pixels, 2, 1, Semantics::Corrected).unwrap()[10];
    let reference = measure(&pixels, 2, 1, Semantics::ReferenceCode).unwrap()[10];
    let swapped = measure(&[[0, 0, 255], [0, 0, 0]].concat(), 2, 1, Semantics::Corrected).unwrap()[10];
    assert_eq!(reference, swapped);
    assert_ne!(corrected, reference);
}

#[test]
fn constant_image_has_degenerate_texture() {
    let pixels = [40, 80, 120].repeat(6 * 5);
    let values = measure(&pixels, 6, 5, Semantics::Corrected).unwrap();
    // contrast, dissimilarity, homogeneity, ASM, energy, correlation
    assert_eq!(values[11..], [0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
}

#[test]
fn width_one_image_has_no_pairs() {
    let pixels = [[10, 20, 30], [200, 100, 0], [0, 0, 0]].concat();
    let values = measure(&pixels, 1, 3, Semantics::Corrected).unwrap();
    assert_eq!(values[11..], [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
}

#[test]
fn glcm_counts_horizontal_pairs_only() {
    // Rows black-white and white-black: every horizontal pair differs by
    // 255, vertical neighbours are not counted.
    let pixels = [[0, 0, 0], [255, 255, 255], [255, 255, 255], [0, 0, 0]].concat();
    let values = measure(&pixels, 2, 2, Semantics::Corrected).unwrap();
    assert_eq!(values[11], 255.0 * 255.0);
    assert_eq!(values[12], 255.0);
    assert_eq!(values[14], 0.5);
    assert_eq!(values[16], -1.0);
}

#[test]
fn wrong_buffer_length_is_an_error() {
    let err = measure(&[0; 10], 2, 2, Semantics::Corrected).unwrap_err();
    assert_eq!(
        err,
        ConceptError::BufferLength { width: 2, height: 2, expected: 12, actual: 10 }
    );
}

#[test]
fn empty_image_is_an_error() {
    let err = measure(&[], 0, 7, Semantics::Corrected).unwrap_err();
    assert_eq!(err, ConceptError::EmptyImage { width: 0, height: 7 });
}

#[test]
fn semantics_parse_and_display_round_trip() {
    for semantics in [Semantics::Corrected, Semantics::ReferenceCode] {
        assert_eq!(semantics.to_string().parse::<Semantics>(), Ok(semantics));
    }
    assert_eq!(Semantics::default(), Semantics::Corrected);
    assert!("Corrected".parse::<Semantics>().is_err());
}
