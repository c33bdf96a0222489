//! Loading images as 8-bit RGB: colour conversions, rejected files, the
//! size limit, resizing and listing.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use flawprobe::imageio::{list_images, load_rgb, resize_shorter_center_crop, ImageError, RgbImage};
use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, LumaA, Rgb, Rgba};

fn save(dir: &Path, name: &str, image: DynamicImage, format: ImageFormat) -> PathBuf {
    let path = dir.join(name);
    image.save_with_format(&path, format).unwrap();
    path
}

fn png_bytes(image: DynamicImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
    bytes
}

/// A PNG signature and IHDR chunk declaring `width` × `height` 8-bit RGB,
/// with a valid CRC and no image data.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut bytes = vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];
    bytes.extend(13u32.to_be_bytes());
    bytes.extend(&ihdr);
    bytes.extend(crc32(&ihdr).to_be_bytes());
    bytes
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn gradient(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(width, height, |x, y| {
        Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8])
    }))
}

#[test]
fn rgb_png_loads_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    let source = gradient(13, 7);
    let path = save(dir.path(), "rgb.png", source.clone(), ImageFormat::Png);
    let image = load_rgb(&path).unwrap();
    assert_eq!((image.width, image.height), (13, 7));
    assert_eq!(image.pixels, source.to_rgb8().into_raw());
}

#[test]
fn grey_png_repeats_level_in_each_channel() {
    let dir = tempfile::tempdir().unwrap();
    let grey = ImageBuffer::from_fn(4, 3, |x, y| Luma([(x * 60 + y) as u8]));
    let path = save(dir.path(), "grey.png", DynamicImage::ImageLuma8(grey), ImageFormat::Png);
    let image = load_rgb(&path).unwrap();
    let expected: Vec<u8> = (0..3u32)
        .flat_map(|y| (0..4u32).flat_map(move |x| [(x * 60 + y) as u8; 3]))
        .collect();
    assert_eq!(image.pixels, expected);
}

#[test]
fn alpha_channel_is_dropped_not_composited() {
    let dir = tempfile::tempdir().unwrap();
    let rgba = ImageBuffer::from_pixel(2, 2, Rgba([200, 100, 50, 0]));
    let path = save(dir.path(), "rgba.png", DynamicImage::ImageRgba8(rgba), ImageFormat::Png);
    assert_eq!(load_rgb(&path).unwrap().pixels, [200, 100, 50].repeat(4));

    let grey_alpha = ImageBuffer::from_pixel(2, 1, LumaA([77, 10]));
    let path = save(dir.path(), "la.png", DynamicImage::ImageLumaA8(grey_alpha), ImageFormat::Png);
    assert_eq!(load_rgb(&path).unwrap().pixels, [77; 6]);
}

#[test]
fn sixteen_bit_png_rounds_to_eight_bits() {
    let dir = tempfile::tempdir().unwrap();
    // 257 v maps to v exactly; 128 is just under half of 257 and rounds down,
    // 129 just over and rounds up.
    let wide = ImageBuffer::from_fn(3, 1, |x, _| match x {
        0 => Rgb([257u16 * 200, 65535, 0]),
        1 => Rgb([128, 129, 257 * 3 + 129]),
        _ => Rgb([65535, 0, 257]),
    });
    let path = save(dir.path(), "wide.png", DynamicImage::ImageRgb16(wide), ImageFormat::Png);
    assert_eq!(load_rgb(&path).unwrap().pixels, [200, 255, 0, 0, 1, 4, 255, 0, 1]);
}

#[test]
fn grey_jpeg_repeats_level_in_each_channel() {
    let dir = tempfile::tempdir().unwrap();
    let grey = ImageBuffer::from_fn(16, 16, |x, y| Luma([(x * 16 + y) as u8]));
    let path = save(dir.path(), "grey.jpg", DynamicImage::ImageLuma8(grey), ImageFormat::Jpeg);
    let image = load_rgb(&path).unwrap();
    assert_eq!((image.width, image.height), (16, 16));
    for pixel in image.pixels.chunks_exact(3) {
        assert_eq!(pixel[0], pixel[1]);
        assert_eq!(pixel[1], pixel[2]);
    }
}

#[test]
fn zero_byte_file_is_rejected_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.png");
    std::fs::write(&path, b"").unwrap();
    let err = load_rgb(&path).unwrap_err();
    assert!(matches!(err, ImageError::Empty { .. }), "{err}");
    assert_eq!(err.path(), path);
    assert!(err.to_string().contains("empty.png"));
}

#[test]
fn text_file_is_rejected_as_not_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.jpg");
    std::fs::write(&path, "not an image").unwrap();
    let err = load_rgb(&path).unwrap_err();
    assert!(matches!(err, ImageError::NotAnImage { .. }), "{err}");
    assert!(err.to_string().contains("notes.jpg"));
}

#[test]
fn truncated_png_is_rejected_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = png_bytes(gradient(64, 64));
    let path = dir.path().join("cut.png");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_rgb(&path).unwrap_err();
    assert!(matches!(err, ImageError::Corrupt { format: "PNG", .. }), "{err}");
}

#[test]
fn truncated_jpeg_is_rejected_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let full = save(dir.path(), "full.jpg", gradient(64, 64), ImageFormat::Jpeg);
    let bytes = std::fs::read(&full).unwrap();
    let path = dir.path().join("cut.jpg");
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let err = load_rgb(&path).unwrap_err();
    assert!(matches!(err, ImageError::Corrupt { format: "JPEG", .. }), "{err}");
    assert!(err.to_string().contains("cut.jpg"));
}

#[test]
fn jpeg_with_garbage_after_header_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.jpg");
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend([0x55; 200]);
    std::fs::write(&path, bytes).unwrap();
    let err = load_rgb(&path).unwrap_err();
    assert!(matches!(err, ImageError::Corrupt { format: "JPEG", .. }), "{err}");
}

#[test]
fn huge_declared_png_is_rejected_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.png");
    std::fs::write(&path, png_header(20_000, 20_000)).unwrap();
    let err = load_rgb(&path).unwrap_err();
    assert!(
        matches!(err, ImageError::TooLarge { width: 20_000, height: 20_000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("20000×20000"), "{err}");
}

#[test]
fn missing_file_error_names_it() {
    let err = load_rgb(Path::new("/nonexistent/flawprobe.png")).unwrap_err();
    assert!(matches!(err, ImageError::Io { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/flawprobe.png"));
}

#[test]
fn resize_crops_centre_of_shorter_side() {
    // 8×4 → shorter side 2 gives 4×2, whose centre 2×2 starts at column 1.
    let image = RgbImage {
        width: 8,
        height: 4,
        pixels: (0..32u32).flat_map(|i| [(i % 8 * 30) as u8, 0, 0]).collect(),
    };
    let resized = resize_shorter_center_crop(&image, 2);
    assert_eq!((resized.width, resized.height), (2, 2));
    assert_eq!(resized.pixels.len(), 12);
    let reds: Vec<u8> = resized.pixels.chunks_exact(3).map(|p| p[0]).collect();
    assert!(reds[0] < reds[1], "left column should be darker: {reds:?}");
    assert!(reds[0] > 0 && reds[1] < 210, "crop should drop the outer columns: {reds:?}");
}

#[test]
fn resize_keeps_constant_image_constant() {
    let image = RgbImage { width: 30, height: 50, pixels: [9, 99, 199].repeat(1500) };
    let resized = resize_shorter_center_crop(&image, 12);
    assert_eq!((resized.width, resized.height), (12, 12));
    assert_eq!(resized.pixels, [9, 99, 199].repeat(144));
}

#[test]
fn resize_of_square_at_own_size_is_identity() {
    let source = gradient(5, 5).to_rgb8().into_raw();
    let image = RgbImage { width: 5, height: 5, pixels: source.clone() };
    assert_eq!(resize_shorter_center_crop(&image, 5).pixels, source);
}

#[test]
fn list_images_recurses_sorts_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("b/deeper")).unwrap();
    std::fs::create_dir_all(root.join("a")).unwrap();
    for name in ["b/deeper/z.PNG", "b/x.jpeg", "a/y.jpg", "a/readme.txt", "top.png"] {
        std::fs::write(root.join(name), b"").unwrap();
    }
    let files = list_images(&[root.to_path_buf(), root.join("a/y.jpg")]).unwrap();
    let relative: Vec<_> = files
        .iter()
        .map(|file| file.strip_prefix(root).unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(relative, ["a/y.jpg", "b/deeper/z.PNG", "b/x.jpeg", "top.png"]);
}

#[test]
fn list_images_names_missing_root() {
    let err = list_images(&[PathBuf::from("/nonexistent/images")]).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/images"), "{err}");
}

#[test]
fn huge_declared_png_with_data_is_rejected() {
    // A complete file: header, one empty IDAT chunk and IEND.
    let mut bytes = png_header(20_000, 20_000);
    for chunk_type in [b"IDAT", b"IEND"] {
        bytes.extend(0u32.to_be_bytes());
        bytes.extend(chunk_type);
        bytes.extend(crc32(chunk_type).to_be_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-complete.png");
    std::fs::write(&path, bytes).unwrap();
    let err = load_rgb(&path).unwrap_err();
    assert!(matches!(err, ImageError::TooLarge { .. }), "{err}");
}
