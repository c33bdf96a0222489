//! A seeded generator of texture images in the DTD layout, with planted
//! concepts.
//!
//! [`generate`] writes `ROOT/images/<class>/<class>_NNNN.png` for every class
//! of [`CLASSES`], so a pipeline runs without downloading anything. Each
//! image is a two-colour texture (stripes, checks, dots, …) with a random
//! foreground and background colour, period, orientation and phase, plus
//! uniform pixel noise of at most [`PIXEL_NOISE_AMPLITUDE`] per channel.
//!
//! `ROOT/concepts.csv` records, per image, the values the generator
//! controlled, so a probe can be checked against known truth. Its columns:
//!
//! | column | meaning |
//! |---|---|
//! | `path` | image path relative to ROOT, `/`-separated |
//! | `class`, `index` | class name and number within the class |
//! | `fg_hue_deg`, `fg_saturation`, `fg_value` | foreground colour as drawn: hue in [0, 360), saturation and value in [0, 1] |
//! | `bg_hue_deg`, `bg_saturation`, `bg_value` | background colour as drawn |
//! | `fg_rgb`, `bg_rgb` | the two colours as stored before noise, `#rrggbb` |
//! | `fg_pixels` | number of foreground pixels in the mask |
//! | `coverage` | `fg_pixels` divided by the pixel count, exact |
//! | `scale_px` | main period of the texture in pixels |
//! | `orientation_deg` | rotation in [0, 180); rings do not depend on it |
//! | `phase` | shift of the pattern in periods, in [0, 1) |
//!
//! Every image has its own ChaCha8 stream seeded from (seed, class, index),
//! so the bytes of an image do not depend on the generation order, the
//! thread count or `per_class`.

mod colour;
mod pattern;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

pub use colour::MIN_CONTRAST;
pub use pattern::CLASSES;

use colour::Colour;
use pattern::Pattern;

/// Largest change the pixel noise makes to one channel, in 8-bit levels.
pub const PIXEL_NOISE_AMPLITUDE: u8 = 6;

// The concept table's coverage can be recounted from the PNG only while the
// noise cannot carry a pixel halfway to the other colour.
const _: () = assert!(MIN_CONTRAST > 2 * PIXEL_NOISE_AMPLITUDE);

/// Name of the concept table under the output root.
pub const CONCEPTS_FILE: &str = "concepts.csv";

/// Name of the file that marks a folder as written by [`generate`]. Its
/// presence lets a later run replace the folder's images.
pub const MARKER_FILE: &str = "synth.json";

/// Smallest and largest accepted image side in pixels.
pub const SIZE_RANGE: (u32, u32) = (16, 4096);

/// Largest accepted `per_class`, so image numbers keep four digits and sort
/// as text.
pub const MAX_PER_CLASS: usize = 10_000;

/// Version of the rendering, mixed into every image's seed. Bump it when a
/// change to the drawing would alter the output for an existing seed.
const GENERATOR_VERSION: &str = "flawprobe-synth-1";

/// Header of [`CONCEPTS_FILE`].
const CONCEPTS_HEADER: &str = "path,class,index,fg_hue_deg,fg_saturation,fg_value,\
bg_hue_deg,bg_saturation,bg_value,fg_rgb,bg_rgb,fg_pixels,coverage,scale_px,orientation_deg,phase";

/// Parameters of a synthetic data set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SynthConfig {
    /// Images per class, 1 to [`MAX_PER_CLASS`]. Default 60.
    pub per_class: usize,
    /// Side of the square images in pixels, within [`SIZE_RANGE`].
    /// Default 128.
    pub size: u32,
    /// Seed of every random draw. Default 0.
    pub seed: u64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            per_class: 60,
            size: 128,
            seed: 0,
        }
    }
}

impl SynthConfig {
    /// Checks that every field is in its accepted range.
    pub fn validate(&self) -> Result<()> {
        if self.per_class == 0 || self.per_class > MAX_PER_CLASS {
            bail!(
                "invalid images per class {}: expected 1 to {MAX_PER_CLASS}",
                self.per_class
            );
        }
        let (min_size, max_size) = SIZE_RANGE;
        if !(min_size..=max_size).contains(&self.size) {
            bail!(
                "invalid image size {} px: expected {min_size} to {max_size}",
                self.size
            );
        }
        Ok(())
    }
}

/// Paths and counts of the data set that [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthSummary {
    /// `ROOT/images`, with one folder per class.
    pub images_dir: PathBuf,
    /// `ROOT/concepts.csv`.
    pub concepts_csv: PathBuf,
    /// Class names in the order written.
    pub classes: Vec<String>,
    /// Number of images written, `per_class` times the class count.
    pub images: usize,
}

/// One row of the concept table.
struct ImageRecord {
    path: String,
    class: &'static str,
    index: usize,
    foreground: Colour,
    background: Colour,
    fg_pixels: usize,
    coverage: f64,
    pattern: pattern::Geometry,
}

#[derive(Serialize)]
struct Marker<'a> {
    generator: &'a str,
    config: &'a SynthConfig,
    classes: &'a [&'a str],
}

/// Generates the texture data set under `root`.
///
/// Writes `root/images/<class>/<class>_NNNN.png` (8-bit RGB), `root/concepts.csv`
/// and `root/synth.json`. Everything is written into a temporary folder
/// inside `root` first and moved into place once complete. A `root` that
/// already has `images/` or `concepts.csv` is accepted only when a
/// `synth.json` marks it as an earlier output of this function, whose
/// images are then replaced.
///
/// Fails on an invalid config, a `root` that cannot be created or written,
/// or a `root` holding other data.
pub fn generate(cfg: &SynthConfig, root: &Path) -> Result<SynthSummary> {
    cfg.validate()?;
    fs::create_dir_all(root)
        .with_context(|| format!("failed to create output folder {}", root.display()))?;
    check_replaceable(root)?;

    let staging = tempfile::Builder::new()
        .prefix(".synth-")
        .tempdir_in(root)
        .with_context(|| format!("failed to create a temporary folder in {}", root.display()))?;
    let records = write_images(cfg, staging.path())?;
    write_concepts(&records, &staging.path().join(CONCEPTS_FILE))?;
    write_marker(cfg, &staging.path().join(MARKER_FILE))?;

    move_into_place(staging.path(), root)?;
    tracing::debug!(root = %root.display(), images = records.len(), "synthetic textures written");

    Ok(SynthSummary {
        images_dir: root.join("images"),
        concepts_csv: root.join(CONCEPTS_FILE),
        classes: CLASSES.iter().map(|class| class.to_string()).collect(),
        images: records.len(),
    })
}

/// Rejects a `root` that contains a data set this module did not write.
fn check_replaceable(root: &Path) -> Result<()> {
    if root.join(MARKER_FILE).is_file() {
        return Ok(());
    }
    for name in ["images", CONCEPTS_FILE] {
        let existing = root.join(name);
        if existing.exists() {
            bail!(
                "{} already exists and was not written by synth (no {MARKER_FILE} beside it). \
                 Choose an empty output folder",
                existing.display()
            );
        }
    }
    Ok(())
}

/// Renders and writes every image under `staging/images`, in parallel.
/// Returns the concept rows, class by class in [`CLASSES`] order.
fn write_images(cfg: &SynthConfig, staging: &Path) -> Result<Vec<ImageRecord>> {
    for class in CLASSES {
        let folder = staging.join("images").join(class);
        fs::create_dir_all(&folder)
            .with_context(|| format!("failed to create class folder {}", folder.display()))?;
    }

    let jobs: Vec<(&'static str, usize)> = CLASSES
        .iter()
        .flat_map(|&class| (0..cfg.per_class).map(move |index| (class, index)))
        .collect();
    jobs.into_par_iter()
        .map(|(class, index)| write_image(cfg, staging, class, index))
        .collect()
}

fn write_image(
    cfg: &SynthConfig,
    staging: &Path,
    class: &'static str,
    index: usize,
) -> Result<ImageRecord> {
    let (pixels, record) = render(cfg, class, index)?;

    let file = staging.join(&record.path);
    let writer = File::create(&file)
        .map(BufWriter::new)
        .with_context(|| format!("failed to create image {}", file.display()))?;
    PngEncoder::new(writer)
        .write_image(&pixels, cfg.size, cfg.size, ExtendedColorType::Rgb8)
        .with_context(|| format!("failed to write image {}", file.display()))?;
    Ok(record)
}

/// Draws one image's parameters from its own stream and renders its
/// pixels, row-major RGB.
fn render(cfg: &SynthConfig, class: &'static str, index: usize) -> Result<(Vec<u8>, ImageRecord)> {
    let mut rng = image_rng(cfg.seed, class, index);
    let (foreground, background) = colour::draw_pair(&mut rng);
    let Some(pattern) = Pattern::draw(class, cfg.size, &mut rng) else {
        bail!("no texture pattern for class {class:?}");
    };
    let mask = pattern.mask(cfg.size);

    let mut pixels = Vec::with_capacity(mask.len() * 3);
    let noise = i16::from(PIXEL_NOISE_AMPLITUDE);
    for &inside in &mask {
        let base = if inside {
            foreground.rgb
        } else {
            background.rgb
        };
        for channel in base {
            let noisy = i16::from(channel) + rng.gen_range(-noise..=noise);
            pixels.push(noisy.clamp(0, 255) as u8);
        }
    }

    let fg_pixels = mask.iter().filter(|&&inside| inside).count();
    let record = ImageRecord {
        path: format!("images/{class}/{class}_{index:04}.png"),
        class,
        index,
        foreground,
        background,
        fg_pixels,
        coverage: fg_pixels as f64 / mask.len() as f64,
        pattern: pattern.geometry(),
    };
    Ok((pixels, record))
}

/// Seeds the random stream of one image from a hash of (seed, class, index),
/// so images are independent of each other.
fn image_rng(seed: u64, class: &str, index: usize) -> ChaCha8Rng {
    let mut hasher = blake3::Hasher::new();
    hasher.update(GENERATOR_VERSION.as_bytes());
    hasher.update(&seed.to_le_bytes());
    hasher.update(class.as_bytes());
    // Class names contain no NUL, so the byte ends the name unambiguously.
    hasher.update(&[0]);
    hasher.update(&(index as u64).to_le_bytes());
    ChaCha8Rng::from_seed(*hasher.finalize().as_bytes())
}

fn write_concepts(records: &[ImageRecord], file: &Path) -> Result<()> {
    let context = || format!("failed to write concept table {}", file.display());
    let mut writer = File::create(file)
        .map(BufWriter::new)
        .with_context(context)?;
    writeln!(writer, "{CONCEPTS_HEADER}").with_context(context)?;
    for record in records {
        let (fg, bg, geometry) = (&record.foreground, &record.background, &record.pattern);
        writeln!(
            writer,
            "{path},{class},{index},{fg_hue:.4},{fg_sat:.4},{fg_val:.4},\
             {bg_hue:.4},{bg_sat:.4},{bg_val:.4},{fg_rgb},{bg_rgb},{fg_pixels},{coverage},\
             {scale:.4},{orientation:.4},{phase:.4}",
            path = record.path,
            class = record.class,
            index = record.index,
            fg_hue = fg.hue_deg,
            fg_sat = fg.saturation,
            fg_val = fg.value,
            bg_hue = bg.hue_deg,
            bg_sat = bg.saturation,
            bg_val = bg.value,
            fg_rgb = fg.hex(),
            bg_rgb = bg.hex(),
            fg_pixels = record.fg_pixels,
            coverage = record.coverage,
            scale = geometry.scale_px,
            orientation = geometry.orientation_deg,
            phase = geometry.phase,
        )
        .with_context(context)?;
    }
    writer.flush().with_context(context)
}

fn write_marker(cfg: &SynthConfig, file: &Path) -> Result<()> {
    let marker = Marker {
        generator: GENERATOR_VERSION,
        config: cfg,
        classes: &CLASSES,
    };
    let text =
        serde_json::to_string_pretty(&marker).context("failed to encode the synth marker")?;
    fs::write(file, text + "\n")
        .with_context(|| format!("failed to write marker {}", file.display()))
}

/// Moves the staged output into `root`, replacing an earlier synth output.
/// The marker moves last, so an interrupted move leaves a folder that the
/// next run still recognises and replaces.
fn move_into_place(staging: &Path, root: &Path) -> Result<()> {
    let images = root.join("images");
    if images.exists() {
        fs::remove_dir_all(&images)
            .with_context(|| format!("failed to remove earlier images {}", images.display()))?;
    }
    for name in ["images", CONCEPTS_FILE, MARKER_FILE] {
        let (from, to) = (staging.join(name), root.join(name));
        fs::rename(&from, &to)
            .with_context(|| format!("failed to move {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}
