//! Foreground and background colours of a texture.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Smallest per-channel distance between the two colours of an image. It
/// keeps the texture visible. Because it exceeds twice the pixel noise
/// amplitude (checked at compile time), every noisy pixel stays nearer to
/// its own colour than to the other one.
pub const MIN_CONTRAST: u8 = 64;

/// Background draws to try before falling back to black.
const MAX_BACKGROUND_DRAWS: usize = 32;

/// A colour as drawn (hue in degrees, saturation and value in [0, 1]) and
/// as stored, rounded to 8 bits per channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Colour {
    pub hue_deg: f64,
    pub saturation: f64,
    pub value: f64,
    pub rgb: [u8; 3],
}

impl Colour {
    fn from_hsv(hue_deg: f64, saturation: f64, value: f64) -> Colour {
        Colour {
            hue_deg,
            saturation,
            value,
            rgb: hsv_to_rgb(hue_deg, saturation, value),
        }
    }

    /// Formats the stored colour as `#rrggbb`.
    pub fn hex(&self) -> String {
        let [r, g, b] = self.rgb;
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

/// Draws a foreground and a background colour at least [`MIN_CONTRAST`]
/// apart in some channel. Both hues come from the whole hue circle. The
/// foreground is kept fairly saturated and bright, so its hue shows.
pub fn draw_pair(rng: &mut ChaCha8Rng) -> (Colour, Colour) {
    let foreground = Colour::from_hsv(
        rng.gen_range(0.0..360.0),
        rng.gen_range(0.35..1.0),
        rng.gen_range(0.45..1.0),
    );

    for _ in 0..MAX_BACKGROUND_DRAWS {
        let background = Colour::from_hsv(
            rng.gen_range(0.0..360.0),
            rng.gen_range(0.0..1.0),
            rng.gen_range(0.1..1.0),
        );
        if channel_distance(foreground.rgb, background.rgb) >= MIN_CONTRAST {
            return (foreground, background);
        }
    }

    // The foreground's largest channel is at least 0.45 · 255 = 114, so black
    // is always far enough from it.
    let black = Colour::from_hsv(0.0, 0.0, 0.0);
    (foreground, black)
}

/// Largest absolute difference over the three channels.
pub fn channel_distance(a: [u8; 3], b: [u8; 3]) -> u8 {
    (0..3).map(|c| a[c].abs_diff(b[c])).max().unwrap_or(0)
}

/// Converts HSV (hue in degrees, saturation and value in [0, 1]) to 8-bit
/// RGB with the usual hexcone formula, rounding to nearest.
fn hsv_to_rgb(hue_deg: f64, saturation: f64, value: f64) -> [u8; 3] {
    let chroma = value * saturation;
    let sector = hue_deg.rem_euclid(360.0) / 60.0;
    let second = chroma * (1.0 - (sector.rem_euclid(2.0) - 1.0).abs());
    let (r, g, b) = match sector as u32 {
        0 => (chroma, second, 0.0),
        1 => (second, chroma, 0.0),
        2 => (0.0, chroma, second),
        3 => (0.0, second, chroma),
        4 => (second, 0.0, chroma),
        _ => (chroma, 0.0, second),
    };
    let lift = value - chroma;
    let to_byte = |channel: f64| ((channel + lift) * 255.0).round().clamp(0.0, 255.0) as u8;
    [to_byte(r), to_byte(g), to_byte(b)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsv_primaries_convert_exactly() {
        assert_eq!(hsv_to_rgb(0.0, 1.0, 1.0), [255, 0, 0]);
        assert_eq!(hsv_to_rgb(120.0, 1.0, 1.0), [0, 255, 0]);
        assert_eq!(hsv_to_rgb(240.0, 1.0, 1.0), [0, 0, 255]);
        assert_eq!(hsv_to_rgb(60.0, 1.0, 0.5), [128, 128, 0]);
        assert_eq!(hsv_to_rgb(300.0, 0.0, 1.0), [255, 255, 255]);
    }
}
