//! OpenCV's 8-bit RGB → HSV conversion and the colour fractions built on it.
//!
//! The conversion reproduces `cv::cvtColor(src, dst, COLOR_RGB2HSV)` for
//! `CV_8UC3` (OpenCV 5.1, `RGB2HSV_b` in `color_hsv.simd.hpp`): H in 0..=179
//! (degrees halved), S and V in 0..=255. OpenCV divides with fixed-point
//! reciprocal tables in 12-bit precision, so its rounding differs from
//! `round(h / 2)` of a floating-point conversion; the tables below are built
//! the same way so every one of the 2^24 colours converts to the same bytes.

/// Fixed-point precision of OpenCV's reciprocal tables, in bits.
const HSV_SHIFT: u32 = 12;
const HSV_ROUND: i32 = 1 << (HSV_SHIFT - 1);

/// Number of hue values OpenCV's 8-bit conversion produces (0..=179).
pub const HUE_LEVELS: usize = 180;

/// `saturate_cast<int>(numerator / denominator)`: rounding to nearest, ties
/// to even, as `cvRound` does for the doubles OpenCV builds its tables from.
const fn round_ratio_half_even(numerator: i32, denominator: i32) -> i32 {
    let quotient = numerator / denominator;
    let twice_remainder = 2 * (numerator % denominator);
    if twice_remainder > denominator || (twice_remainder == denominator && quotient % 2 == 1) {
        quotient + 1
    } else {
        quotient
    }
}

/// `sdiv_table[v] = round((255 << 12) / v)`, with entry 0 set to 0.
const SATURATION_DIVISORS: [i32; 256] = {
    let mut table = [0; 256];
    let mut v = 1;
    while v < 256 {
        table[v] = round_ratio_half_even(255 << HSV_SHIFT, v as i32);
        v += 1;
    }
    table
};

/// `hdiv_table180[d] = round((180 << 12) / (6 d))`, with entry 0 set to 0.
const HUE_DIVISORS: [i32; 256] = {
    let mut table = [0; 256];
    let mut d = 1;
    while d < 256 {
        table[d] = round_ratio_half_even(180 << HSV_SHIFT, 6 * d as i32);
        d += 1;
    }
    table
};

/// A pixel in OpenCV's 8-bit HSV: hue 0..=179, saturation and value 0..=255.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hsv {
    pub hue: u8,
    pub saturation: u8,
    pub value: u8,
}

/// Converts one RGB pixel as OpenCV's `COLOR_RGB2HSV` does for 8-bit images.
#[inline(always)]
pub fn rgb_to_hsv(red: u8, green: u8, blue: u8) -> Hsv {
    let (r, g, b) = (i32::from(red), i32::from(green), i32::from(blue));
    let value = r.max(g).max(b);
    let diff = value - r.min(g).min(b);

    let saturation = (diff * SATURATION_DIVISORS[value as usize] + HSV_ROUND) >> HSV_SHIFT;

    // OpenCV tests red first, then green, so ties between maxima resolve in
    // that order.
    let sector = if value == r {
        g - b
    } else if value == g {
        b - r + 2 * diff
    } else {
        r - g + 4 * diff
    };
    // `>>` on i32 is an arithmetic shift, as in OpenCV, so negative hues
    // round towards minus infinity before the wrap below.
    let mut hue = (sector * HUE_DIVISORS[diff as usize] + HSV_ROUND) >> HSV_SHIFT;
    if hue < 0 {
        hue += HUE_LEVELS as i32;
    }

    Hsv {
        hue: hue as u8,
        saturation: saturation as u8,
        value: value as u8,
    }
}

/// Minimum saturation of a pixel counted in a hue range.
pub const CHROMATIC_MIN_SATURATION: u8 = 50;
/// Minimum value of a pixel counted in a hue range.
pub const CHROMATIC_MIN_VALUE: u8 = 77;
/// A black pixel has saturation and value at most this.
pub const BLACK_MAX_SATURATION_AND_VALUE: u8 = 100;
/// A white pixel has saturation at most this …
pub const WHITE_MAX_SATURATION: u8 = 50;
/// … and value at least this.
pub const WHITE_MIN_VALUE: u8 = 190;

/// Copies of the hue histogram that consecutive pixels alternate between,
/// so equal neighbours do not serialise on one counter.
const HISTOGRAM_LANES: usize = 4;

/// Pixel counts from which the ten colour fractions are read.
///
/// Hues of chromatic pixels (S ≥ 50 and V ≥ 77) go into a histogram; bin
/// [`HUE_LEVELS`] collects the other pixels so the hot loop has no branch.
#[derive(Debug, Clone)]
pub struct ColourCounts {
    hue_histograms: [[u32; HUE_LEVELS + 1]; HISTOGRAM_LANES],
    black: u64,
    white: u64,
}

impl Default for ColourCounts {
    fn default() -> Self {
        ColourCounts {
            hue_histograms: [[0; HUE_LEVELS + 1]; HISTOGRAM_LANES],
            black: 0,
            white: 0,
        }
    }
}

impl ColourCounts {
    /// Counts one pixel; `lane` is any number that changes from one pixel
    /// to the next (the column, say).
    #[inline(always)]
    pub fn add(&mut self, hsv: Hsv, lane: usize) {
        let chromatic =
            hsv.saturation >= CHROMATIC_MIN_SATURATION && hsv.value >= CHROMATIC_MIN_VALUE;
        let bin = if chromatic { usize::from(hsv.hue) } else { HUE_LEVELS };
        self.hue_histograms[lane % HISTOGRAM_LANES][bin] += 1;

        let black = hsv.saturation <= BLACK_MAX_SATURATION_AND_VALUE
            && hsv.value <= BLACK_MAX_SATURATION_AND_VALUE;
        let white = hsv.saturation <= WHITE_MAX_SATURATION && hsv.value >= WHITE_MIN_VALUE;
        self.black += u64::from(black);
        self.white += u64::from(white);
    }

    /// Number of chromatic pixels with hue in `low..=high`.
    ///
    /// `high` may be 180 (the study writes red's upper range as [165, 180]);
    /// OpenCV never produces hue 180, so it adds nothing.
    pub fn chromatic_in(&self, low: usize, high: usize) -> u64 {
        let high = high.min(HUE_LEVELS - 1);
        self.hue_histograms
            .iter()
            .flat_map(|histogram| &histogram[low..=high])
            .map(|&count| u64::from(count))
            .sum()
    }

    pub fn black(&self) -> u64 {
        self.black
    }

    pub fn white(&self) -> u64 {
        self.white
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisor_tables_match_opencv_entries() {
        // Spot values of OpenCV's tables, computed as round(x / i) in double.
        assert_eq!(SATURATION_DIVISORS[1], 255 << 12);
        assert_eq!(SATURATION_DIVISORS[255], 4096);
        assert_eq!(SATURATION_DIVISORS[7], 149211); // 1044480 / 7 = 149211.43
        assert_eq!(HUE_DIVISORS[1], 122880);
        assert_eq!(HUE_DIVISORS[255], 482); // 737280 / 1530 = 481.88
        assert_eq!(HUE_DIVISORS[0], 0);
    }

    #[test]
    fn primaries_convert_to_opencv_hues() {
        assert_eq!(rgb_to_hsv(255, 0, 0), Hsv { hue: 0, saturation: 255, value: 255 });
        assert_eq!(rgb_to_hsv(0, 255, 0).hue, 60);
        assert_eq!(rgb_to_hsv(0, 0, 255).hue, 120);
        assert_eq!(rgb_to_hsv(255, 255, 0).hue, 30);
        assert_eq!(rgb_to_hsv(255, 0, 255).hue, 150);
    }

    #[test]
    fn greys_have_zero_hue_and_saturation() {
        for level in [0u8, 1, 128, 255] {
            let hsv = rgb_to_hsv(level, level, level);
            assert_eq!(hsv, Hsv { hue: 0, saturation: 0, value: level });
        }
    }

    #[test]
    fn negative_hue_wraps_below_180() {
        // Red maximum with blue above green gives a negative sector. A small
        // one rounds up to 0; a larger one wraps to the top of the circle.
        assert_eq!(rgb_to_hsv(255, 0, 1).hue, 0); // (−482 + 2048) >> 12 = 0
        assert_eq!(rgb_to_hsv(255, 0, 9).hue, 179); // (−4338 + 2048) >> 12 = −1
        assert_eq!(rgb_to_hsv(255, 0, 254).hue, 150);
        assert_eq!(rgb_to_hsv(10, 0, 1).hue, 177);
    }

    #[test]
    fn fixed_point_rounding_differs_from_float_rounding() {
        // In floating point H / 2 = (240 - 60 / 58) / 2 = 119.48, which rounds
        // to 119. OpenCV's fixed point gives (231 * 2119 + 2048) >> 12 = 120.
        let hsv = rgb_to_hsv(0, 1, 58);
        assert_eq!(hsv, Hsv { hue: 120, saturation: 255, value: 58 });
    }

    #[test]
    fn chromatic_range_sums_are_inclusive_and_clamp_180() {
        let mut counts = ColourCounts::default();
        for (lane, hue) in [0u8, 10, 165, 179].into_iter().enumerate() {
            counts.add(Hsv { hue, saturation: 50, value: 77 }, lane);
        }
        assert_eq!(counts.chromatic_in(0, 10), 2);
        assert_eq!(counts.chromatic_in(10, 25), 1);
        assert_eq!(counts.chromatic_in(165, 180), 2);
    }
}
