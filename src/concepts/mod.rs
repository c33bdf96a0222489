//! Concept measures of an image: colour fractions, colourfulness and GLCM
//! texture statistics, the regression targets of the linear probes.
//!
//! The measures follow Graziani, Müller and Andrearczyk, "Interpreting
//! Intentionally Flawed Models with Linear Probes" (ICCV 2019 workshop), and
//! match the values of their Python reference (OpenCV 5.1 for HSV,
//! scikit-image 0.26 for grey levels and GLCM statistics) to about 1e-12;
//! the colour fractions are equal, not close.
//!
//! | concept | definition | range |
//! |---|---|---|
//! | `red` … `magenta` | fraction of pixels with OpenCV hue H in the concept's range, S ≥ 50 and V ≥ 77 (bounds inclusive) | [0, 1] |
//! | `black` | fraction with S ≤ 100 and V ≤ 100 | [0, 1] |
//! | `white` | fraction with S ≤ 50 and V ≥ 190 | [0, 1] |
//! | `colorfulness` | Hasler and Süsstrunk, see [`colourfulness`] | [0, ~300] |
//! | `contrast` … `correlation` | `graycoprops` of the symmetric normalised GLCM at distance 1, angle 0, 256 levels, see [`texture`] | see [`TextureStatistics`] |
//!
//! Hue ranges (H in 0..=179, degrees halved): red [0, 10] ∪ [165, 180],
//! orange [10, 25], yellow [25, 40], green [40, 75], cyan [75, 100],
//! blue [100, 125], purple [125, 145], magenta [145, 165]. A pixel on a
//! shared bound counts in both ranges.
//!
//! [`measure`] makes one pass over the pixels and needs no allocation after
//! the first call on a thread.

pub mod colourfulness;
pub mod hsv;
pub mod texture;

use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;

use colourfulness::Colourfulness;
use hsv::{rgb_to_hsv, ColourCounts};
use texture::{grey_level, Glcm};
pub use texture::TextureStatistics;

/// Number of concept measures.
pub const CONCEPT_COUNT: usize = 17;

/// Column names of the concept measures, in the order [`measure`] returns
/// them.
pub const CONCEPT_NAMES: [&str; CONCEPT_COUNT] = [
    "red",
    "orange",
    "yellow",
    "green",
    "cyan",
    "blue",
    "purple",
    "magenta",
    "black",
    "white",
    "colorfulness",
    "contrast",
    "dissimilarity",
    "homogeneity",
    "ASM",
    "energy",
    "correlation",
];

/// The values of [`CONCEPT_NAMES`] for one image.
pub type ConceptValues = [f64; CONCEPT_COUNT];

/// Inclusive hue ranges of the colours after red, in [`CONCEPT_NAMES`] order.
const HUE_RANGES: [(usize, usize); 7] = [
    (10, 25),   // orange
    (25, 40),   // yellow
    (40, 75),   // green
    (75, 100),  // cyan
    (100, 125), // blue
    (125, 145), // purple
    (145, 165), // magenta
];
const RED_LOW_RANGE: (usize, usize) = (0, 10);
const RED_HIGH_RANGE: (usize, usize) = (165, 180);

/// Largest image [`measure`] accepts, in pixels: GLCM cells count in `u32`.
pub const MAX_PIXELS: usize = u32::MAX as usize;

/// Definitions of `red` and `colorfulness` to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Semantics {
    /// The definitions as the study states them.
    #[default]
    Corrected,
    /// Two slips of the study's published code, kept for exact comparison
    /// with its numbers: `red` counts only hues in [0, 10], and
    /// `colorfulness` reads the RGB channels as BGR (R and B swapped).
    ReferenceCode,
}

impl Semantics {
    /// Returns the name used on the command line and in stage parameters.
    pub fn name(self) -> &'static str {
        match self {
            Semantics::Corrected => "corrected",
            Semantics::ReferenceCode => "reference-code",
        }
    }
}

impl fmt::Display for Semantics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Semantics {
    type Err = ConceptError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "corrected" => Ok(Semantics::Corrected),
            "reference-code" => Ok(Semantics::ReferenceCode),
            _ => Err(ConceptError::UnknownSemantics(text.to_string())),
        }
    }
}

/// Error from computing concept measures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConceptError {
    #[error("image of {width}×{height} pixels has no pixels to measure")]
    EmptyImage { width: usize, height: usize },
    #[error(
        "pixel buffer has {actual} bytes, but a {width}×{height} RGB image needs {expected}"
    )]
    BufferLength {
        width: usize,
        height: usize,
        expected: usize,
        actual: usize,
    },
    #[error("image of {width}×{height} pixels exceeds the {max} pixels concept measures support")]
    TooLarge { width: usize, height: usize, max: usize },
    #[error("unknown concept semantics {0:?} (expected \"corrected\" or \"reference-code\")")]
    UnknownSemantics(String),
}

/// Buffers reused between images: the GLCM tables and a row of grey levels.
#[derive(Default)]
struct Scratch {
    glcm: Glcm,
    greys: Vec<u8>,
}

thread_local! {
    /// Scratch per thread, so images measured in a loop reuse its 512 KiB of
    /// tables.
    static THREAD_SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Computes the 17 concept measures of a packed RGB image (row-major, three
/// bytes per pixel, `width * height * 3` bytes), in [`CONCEPT_NAMES`] order.
///
/// Fails when the buffer length does not match the size, the image has no
/// pixels, or it has more than [`MAX_PIXELS`] pixels.
pub fn measure(
    pixels: &[u8],
    width: usize,
    height: usize,
    semantics: Semantics,
) -> Result<ConceptValues, ConceptError> {
    let pixel_count = checked_pixel_count(pixels, width, height)?;

    let values = THREAD_SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => measure_with(&mut scratch, pixels, width, pixel_count, semantics),
        Err(_) => measure_with(&mut Scratch::default(), pixels, width, pixel_count, semantics),
    });
    Ok(values)
}

fn checked_pixel_count(pixels: &[u8], width: usize, height: usize) -> Result<usize, ConceptError> {
    let pixel_count = width.checked_mul(height);
    let expected = pixel_count.and_then(|count| count.checked_mul(3));
    let (Some(pixel_count), Some(expected)) = (pixel_count, expected) else {
        return Err(ConceptError::TooLarge { width, height, max: MAX_PIXELS });
    };
    if pixel_count > MAX_PIXELS {
        return Err(ConceptError::TooLarge { width, height, max: MAX_PIXELS });
    }
    if expected != pixels.len() {
        return Err(ConceptError::BufferLength { width, height, expected, actual: pixels.len() });
    }
    if pixel_count == 0 {
        return Err(ConceptError::EmptyImage { width, height });
    }
    Ok(pixel_count)
}

/// Pixel-level accumulators of one image.
#[derive(Default)]
struct Tally {
    colours: ColourCounts,
    colourfulness: Colourfulness,
}

fn measure_with(
    scratch: &mut Scratch,
    pixels: &[u8],
    width: usize,
    pixel_count: usize,
    semantics: Semantics,
) -> ConceptValues {
    let Scratch { glcm, greys } = scratch;
    let mut tally = Tally::default();
    match semantics {
        Semantics::Corrected => scan_rows::<false>(&mut tally, glcm, greys, pixels, width),
        Semantics::ReferenceCode => scan_rows::<true>(&mut tally, glcm, greys, pixels, width),
    }
    assemble(&tally, &glcm.statistics(), pixel_count, semantics)
}

/// Accumulates every measure in one pass over the pixels, row by row: the
/// colour measures pixel by pixel, the grey levels into `greys`, whose pairs
/// then go to the GLCM. `SWAP_RED_BLUE` feeds colourfulness B as R and R as
/// B (the BGR reading of [`Semantics::ReferenceCode`]).
fn scan_rows<const SWAP_RED_BLUE: bool>(
    tally: &mut Tally,
    glcm: &mut Glcm,
    greys: &mut Vec<u8>,
    pixels: &[u8],
    width: usize,
) {
    // Local accumulators: the compiler cannot keep fields behind `tally` in
    // registers, since the stores to `greys` might alias them.
    let mut colours = ColourCounts::default();
    let mut colourfulness = Colourfulness::default();
    greys.clear();
    greys.resize(width, 0);
    for row in pixels.chunks_exact(width * 3) {
        for ((column, pixel), grey) in row.chunks_exact(3).enumerate().zip(greys.iter_mut()) {
            let (r, g, b) = (pixel[0], pixel[1], pixel[2]);
            colours.add(rgb_to_hsv(r, g, b), column);
            if SWAP_RED_BLUE {
                colourfulness.add(b, g, r);
            } else {
                colourfulness.add(r, g, b);
            }
            *grey = grey_level(r, g, b);
        }
        glcm.add_row(greys);
    }
    tally.colours = colours;
    tally.colourfulness = colourfulness;
}

fn assemble(
    tally: &Tally,
    texture: &TextureStatistics,
    pixel_count: usize,
    semantics: Semantics,
) -> ConceptValues {
    let colours = &tally.colours;
    let fraction = |count: u64| count as f64 / pixel_count as f64;

    let mut red = colours.chromatic_in(RED_LOW_RANGE.0, RED_LOW_RANGE.1);
    if semantics == Semantics::Corrected {
        red += colours.chromatic_in(RED_HIGH_RANGE.0, RED_HIGH_RANGE.1);
    }

    let mut values = [0.0; CONCEPT_COUNT];
    values[0] = fraction(red);
    for (slot, &(low, high)) in values[1..8].iter_mut().zip(&HUE_RANGES) {
        *slot = fraction(colours.chromatic_in(low, high));
    }
    values[8] = fraction(colours.black());
    values[9] = fraction(colours.white());
    values[10] = tally.colourfulness.value();
    values[11] = texture.contrast;
    values[12] = texture.dissimilarity;
    values[13] = texture.homogeneity;
    values[14] = texture.asm;
    values[15] = texture.energy;
    values[16] = texture.correlation;
    values
}

/// Arrow fields of the concept columns: one non-null `Float64` per name of
/// [`CONCEPT_NAMES`], in that order.
pub fn concept_fields() -> Vec<arrow::datatypes::Field> {
    CONCEPT_NAMES
        .iter()
        .map(|name| arrow::datatypes::Field::new(*name, arrow::datatypes::DataType::Float64, false))
        .collect()
}

/// Arrow columns of [`concept_fields`] holding `rows` (one row per image).
pub fn concept_columns(rows: &[ConceptValues]) -> Vec<arrow::array::ArrayRef> {
    (0..CONCEPT_COUNT)
        .map(|column| {
            let values: arrow::array::Float64Array = rows.iter().map(|row| row[column]).collect();
            std::sync::Arc::new(values) as arrow::array::ArrayRef
        })
        .collect()
}
