//! Loading JPEG and PNG files as 8-bit RGB pixels, resizing them for the
//! network, and finding image files under folders.
//!
//! Pixels are used as stored: EXIF orientation is not applied (the study
//! loaded images with PIL, which does not apply it either). Conversions to
//! RGB, 8 bits per channel:
//!
//! * grey (JPEG or PNG) repeats the grey level in R, G and B;
//! * an alpha channel (grey + alpha, RGBA, PNG transparency) is dropped,
//!   not composited over a background;
//! * PNG palettes are expanded to their RGB entries;
//! * 16-bit PNG channels are scaled to 8 bits with rounding (v / 257);
//! * CMYK and YCCK JPEGs are rejected, because decoders disagree on Adobe's
//!   inverted CMYK and a silent inversion would corrupt the concepts.

use std::fs;
use std::io::{self, Cursor};
use std::path::{Path, PathBuf};

use image::codecs::png::PngDecoder;
use image::{DynamicImage, ImageDecoder, Limits};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

/// Largest image [`load_rgb`] decodes, in pixels (width × height). The
/// declared size is checked before any pixel buffer is allocated.
pub const MAX_PIXELS: u64 = 100_000_000;

/// Largest side [`load_rgb`] decodes, in pixels, so a 1 × 10⁸ strip is
/// rejected as well.
pub const MAX_SIDE: u32 = 65_535;

/// File extensions [`list_images`] picks up (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

const JPEG_SIGNATURE: [u8; 3] = [0xFF, 0xD8, 0xFF];
const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// True when `bytes` start with a JPEG or PNG file signature.
pub fn has_image_signature(bytes: &[u8]) -> bool {
    bytes.starts_with(&JPEG_SIGNATURE) || bytes.starts_with(&PNG_SIGNATURE)
}
/// Offset of IHDR's width and height: signature, chunk length, chunk type.
const PNG_IHDR_SIZE_OFFSET: usize = 16;

/// An 8-bit RGB image, row-major, three bytes per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    pub width: u32,
    pub height: u32,
    /// `width * height * 3` bytes: R, G, B of each pixel, rows top to bottom.
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// Number of pixels.
    pub fn pixel_count(&self) -> usize {
        self.width as usize * self.height as usize
    }
}

/// Error from loading an image file. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{}: cannot read file: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: file is empty (0 bytes)", path.display())]
    Empty { path: PathBuf },
    #[error("{}: not a JPEG or PNG image (unrecognised file signature)", path.display())]
    NotAnImage { path: PathBuf },
    #[error("{}: truncated or corrupt {format} image: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        format: &'static str,
        reason: String,
    },
    #[error("{}: unsupported colour type {colour}", path.display())]
    UnsupportedColour { path: PathBuf, colour: String },
    #[error(
        "{}: declared size {width}×{height} exceeds the limit of {max_pixels} pixels \
         ({max_side} per side)",
        path.display(),
        max_pixels = MAX_PIXELS,
        max_side = MAX_SIDE
    )]
    TooLarge { path: PathBuf, width: u64, height: u64 },
}

impl ImageError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ImageError::Io { path, .. }
            | ImageError::Empty { path }
            | ImageError::NotAnImage { path }
            | ImageError::Corrupt { path, .. }
            | ImageError::UnsupportedColour { path, .. }
            | ImageError::TooLarge { path, .. } => path,
        }
    }
}

/// Loads a JPEG or PNG file (recognised by its signature, not its
/// extension) as 8-bit RGB, converting as the module documentation states.
///
/// Fails with a typed error naming the file when it cannot be read, is
/// empty, is not a JPEG or PNG, is truncated or corrupt, has an unsupported
/// colour type, or declares a size over [`MAX_PIXELS`] or [`MAX_SIDE`].
pub fn load_rgb(path: &Path) -> Result<RgbImage, ImageError> {
    let bytes = fs::read(path).map_err(|source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.is_empty() {
        return Err(ImageError::Empty { path: path.to_path_buf() });
    }

    if bytes.starts_with(&JPEG_SIGNATURE) {
        decode_jpeg(path, &bytes)
    } else if bytes.starts_with(&PNG_SIGNATURE) {
        decode_png(path, &bytes)
    } else {
        Err(ImageError::NotAnImage { path: path.to_path_buf() })
    }
}

fn check_size(path: &Path, width: u64, height: u64) -> Result<(), ImageError> {
    let too_large = width > u64::from(MAX_SIDE)
        || height > u64::from(MAX_SIDE)
        || width * height > MAX_PIXELS;
    if too_large {
        return Err(ImageError::TooLarge { path: path.to_path_buf(), width, height });
    }
    Ok(())
}

/// Decodes with zune-jpeg in strict mode, so a truncated scan is an error
/// instead of an image whose lower part is filled in.
fn decode_jpeg(path: &Path, bytes: &[u8]) -> Result<RgbImage, ImageError> {
    let corrupt = |reason: String| ImageError::Corrupt {
        path: path.to_path_buf(),
        format: "JPEG",
        reason,
    };
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(MAX_SIDE as usize)
        .set_max_height(MAX_SIDE as usize);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(|err| corrupt(err.to_string()))?;

    let Some((width, height)) = decoder.dimensions() else {
        return Err(corrupt("no frame header".to_string()));
    };
    check_size(path, width as u64, height as u64)?;

    match decoder.input_colorspace() {
        Some(ColorSpace::CMYK | ColorSpace::YCCK) | None => {
            let colour = decoder
                .input_colorspace()
                .map_or_else(|| "unknown".to_string(), |space| format!("{space:?}"));
            return Err(ImageError::UnsupportedColour {
                path: path.to_path_buf(),
                colour: format!("{colour} JPEG (convert it to RGB first)"),
            });
        }
        Some(_) => {}
    }
    decoder.set_options(decoder.options().jpeg_set_out_colorspace(ColorSpace::RGB));

    let pixels = decoder.decode().map_err(|err| corrupt(err.to_string()))?;
    if pixels.len() != width * height * 3 {
        return Err(corrupt(format!(
            "decoder returned {} bytes for {width}×{height} RGB",
            pixels.len()
        )));
    }
    Ok(RgbImage { width: width as u32, height: height as u32, pixels })
}

fn decode_png(path: &Path, bytes: &[u8]) -> Result<RgbImage, ImageError> {
    let corrupt = |err: image::ImageError| ImageError::Corrupt {
        path: path.to_path_buf(),
        format: "PNG",
        reason: err.to_string(),
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Room for a 16-bit RGBA decode of the largest accepted image plus its
    // 8-bit RGB conversion.
    limits.max_alloc = Some(MAX_PIXELS * 11);

    // The IHDR chunk must come first, so its size fields sit at a fixed
    // offset; checking them here rejects a huge declared size even when the
    // rest of the file is missing.
    if let Some(size) = bytes.get(PNG_IHDR_SIZE_OFFSET..PNG_IHDR_SIZE_OFFSET + 8) {
        let width = u32::from_be_bytes([size[0], size[1], size[2], size[3]]);
        let height = u32::from_be_bytes([size[4], size[5], size[6], size[7]]);
        check_size(path, u64::from(width), u64::from(height))?;
    }

    let decoder = PngDecoder::with_limits(Cursor::new(bytes), limits).map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    check_size(path, u64::from(width), u64::from(height))?;

    let colour = decoder.color_type();
    let image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    let pixels = match image {
        DynamicImage::ImageRgb8(buffer) => buffer.into_raw(),
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgba8(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_)
        | DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_) => image.into_rgb8().into_raw(),
        _ => {
            return Err(ImageError::UnsupportedColour {
                path: path.to_path_buf(),
                colour: format!("{colour:?} PNG"),
            })
        }
    };
    Ok(RgbImage { width, height, pixels })
}

/// Resizes `image` so its shorter side is `size` pixels, then crops the
/// centre `size` × `size` square (torchvision's `Resize(size)` followed by
/// `CenterCrop(size)`).
///
/// The longer side becomes `floor(size × long / short)`, and the crop
/// starts at `round((long − size) / 2)`. Resampling is bilinear
/// (`image::imageops::FilterType::Triangle`, widened when shrinking so it
/// averages every source pixel). An empty image or `size` 0 gives an empty
/// image.
pub fn resize_shorter_center_crop(image: &RgbImage, size: u32) -> RgbImage {
    let (width, height) = (image.width, image.height);
    if size == 0 || width == 0 || height == 0 {
        return RgbImage { width: 0, height: 0, pixels: Vec::new() };
    }

    let shorter = width.min(height);
    let scaled_longer = |longer: u32| (u64::from(size) * u64::from(longer) / u64::from(shorter)) as u32;
    let (new_width, new_height) = if width <= height {
        (size, scaled_longer(height).max(size))
    } else {
        (scaled_longer(width).max(size), size)
    };

    let Some(source) =
        image::ImageBuffer::<image::Rgb<u8>, &[u8]>::from_raw(width, height, &image.pixels)
    else {
        return RgbImage { width: 0, height: 0, pixels: Vec::new() };
    };
    let resized = if (new_width, new_height) == (width, height) {
        image::ImageBuffer::from_raw(width, height, image.pixels.clone()).unwrap_or_default()
    } else {
        image::imageops::resize(&source, new_width, new_height, image::imageops::FilterType::Triangle)
    };

    let left = centre_offset(new_width, size);
    let top = centre_offset(new_height, size);
    let cropped = image::imageops::crop_imm(&resized, left, top, size, size).to_image();
    RgbImage { width: size, height: size, pixels: cropped.into_raw() }
}

/// `round((length − size) / 2)` with Python's ties to even.
fn centre_offset(length: u32, size: u32) -> u32 {
    (f64::from(length - size) / 2.0).round_ties_even() as u32
}

/// Lists the JPEG and PNG files under `roots`, recursively, sorted and
/// without duplicates.
///
/// A root that is a file is listed whatever its extension; files found in
/// folders are listed when their extension is one of [`IMAGE_EXTENSIONS`].
/// Symbolic links are followed. Fails naming the path that cannot be read.
pub fn list_images(roots: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for root in roots {
        let metadata = fs::metadata(root)
            .map_err(|err| io::Error::new(err.kind(), format!("{}: {err}", root.display())))?;
        if metadata.is_dir() {
            collect_images(root, &mut files)?;
        } else {
            files.push(root.clone());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn collect_images(folder: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    let with_path = |err: io::Error, path: &Path| io::Error::new(err.kind(), format!("{}: {err}", path.display()));
    let entries = fs::read_dir(folder).map_err(|err| with_path(err, folder))?;
    for entry in entries {
        let path = entry.map_err(|err| with_path(err, folder))?.path();
        let metadata = fs::metadata(&path).map_err(|err| with_path(err, &path))?;
        if metadata.is_dir() {
            collect_images(&path, files)?;
        } else if has_image_extension(&path) {
            files.push(path);
        }
    }
    Ok(())
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| IMAGE_EXTENSIONS.iter().any(|known| ext.eq_ignore_ascii_case(known)))
}
