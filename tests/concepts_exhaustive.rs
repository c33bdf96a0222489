//! Every one of the 2^24 RGB colours converted by OpenCV (HSV) and
//! scikit-image (grey) in the project's Python environment, compared with
//! ours. Skips when `.venv` lacks `cv2` or `skimage` (`make bench` installs
//! them).

use std::path::Path;
use std::process::Command;

use flawprobe::concepts::hsv::rgb_to_hsv;
use flawprobe::concepts::texture::grey_level;

const PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");

/// Writes `hsv.bin` (3 bytes per colour) and `grey.bin` (1 byte per colour)
/// for colours in order 0xRRGGBB.
const REFERENCE_SCRIPT: &str = r#"
import sys
import numpy as np
import cv2
from skimage.color import rgb2gray
from skimage.util import img_as_ubyte

codes = np.arange(1 << 24, dtype=np.uint32)
rgb = np.stack([(codes >> 16) & 255, (codes >> 8) & 255, codes & 255], -1)
rgb = rgb.astype(np.uint8).reshape(4096, 4096, 3)
cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).tofile(sys.argv[1] + "/hsv.bin")
img_as_ubyte(rgb2gray(rgb)).tofile(sys.argv[1] + "/grey.bin")
"#;

fn reference_available() -> bool {
    Path::new(PYTHON).exists()
        && Command::new(PYTHON)
            .args(["-c", "import cv2, skimage"])
            .status()
            .is_ok_and(|status| status.success())
}

#[test]
fn all_colours_convert_like_opencv_and_scikit_image() {
    if !reference_available() {
        eprintln!("skipping: {PYTHON} with cv2 and skimage is not available");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(PYTHON)
        .args(["-c", REFERENCE_SCRIPT])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "reference script failed:\n{}", String::from_utf8_lossy(&output.stderr));

    let hsv = std::fs::read(dir.path().join("hsv.bin")).unwrap();
    let grey = std::fs::read(dir.path().join("grey.bin")).unwrap();
    assert_eq!(hsv.len(), 3 << 24);
    assert_eq!(grey.len(), 1 << 24);

    let mut hsv_mismatches = Vec::new();
    let mut grey_mismatches = Vec::new();
    for code in 0..(1usize << 24) {
        let (r, g, b) = ((code >> 16) as u8, (code >> 8) as u8, code as u8);
        let ours = rgb_to_hsv(r, g, b);
        let theirs = &hsv[3 * code..3 * code + 3];
        if [ours.hue, ours.saturation, ours.value] != theirs {
            hsv_mismatches.push(format!("rgb({r},{g},{b}): ours {ours:?}, opencv {theirs:?}"));
        }
        let ours = grey_level(r, g, b);
        if ours != grey[code] {
            grey_mismatches.push(format!("rgb({r},{g},{b}): ours {ours}, scikit-image {}", grey[code]));
        }
    }
    let first = |list: &[String]| list.iter().take(10).cloned().collect::<Vec<_>>().join("\n");
    assert!(hsv_mismatches.is_empty(), "{} HSV mismatches, first:\n{}", hsv_mismatches.len(), first(&hsv_mismatches));
    assert!(grey_mismatches.is_empty(), "{} grey mismatches, first:\n{}", grey_mismatches.len(), first(&grey_mismatches));
}
