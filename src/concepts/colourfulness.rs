//! Colourfulness of Hasler and Süsstrunk ("Measuring colourfulness in natural
//! images", SPIE Human Vision and Electronic Imaging 2003):
//!
//! ```text
//! rg = |R − G|,  yb = |(R + G) / 2 − B|
//! M  = √(σ_rg² + σ_yb²) + 0.3 √(μ_rg² + μ_yb²)
//! ```
//!
//! with population standard deviations over the pixels. It is 0 for a grey
//! image and grows without a fixed bound (at most about 300 for 8-bit
//! channels).
//!
//! The sums are kept as integers (`2 yb` is an integer), so the moments are
//! exact until the final division and square roots.

/// Integer moments of `rg` and `2 yb` over the pixels seen so far.
#[derive(Debug, Default, Clone, Copy)]
pub struct Colourfulness {
    pixels: u64,
    rg_sum: u64,
    rg_square_sum: u64,
    yb2_sum: u64,
    yb2_square_sum: u64,
}

impl Colourfulness {
    /// Adds one pixel. `first` and `third` are the channels the formula
    /// calls R and B, which lets a caller swap them.
    #[inline(always)]
    pub fn add(&mut self, first: u8, green: u8, third: u8) {
        let (r, g, b) = (i32::from(first), i32::from(green), i32::from(third));
        let rg = r.abs_diff(g) as u64;
        let yb2 = (r + g).abs_diff(2 * b) as u64;
        self.pixels += 1;
        self.rg_sum += rg;
        self.rg_square_sum += rg * rg;
        self.yb2_sum += yb2;
        self.yb2_square_sum += yb2 * yb2;
    }

    /// Returns M, or 0 when no pixel was added.
    pub fn value(&self) -> f64 {
        if self.pixels == 0 {
            return 0.0;
        }
        let n = u128::from(self.pixels);
        let (rg_sum, yb2_sum) = (u128::from(self.rg_sum), u128::from(self.yb2_sum));

        // Everything over (2n)²: σ_rg² = (n Σrg² − (Σrg)²) / n², and yb
        // carries a factor 2, so σ_yb² = (n Σ(2yb)² − (Σ2yb)²) / (2n)².
        let rg_variance = n * u128::from(self.rg_square_sum) - rg_sum * rg_sum;
        let yb2_variance = n * u128::from(self.yb2_square_sum) - yb2_sum * yb2_sum;
        let variance_sum = 4 * rg_variance + yb2_variance;
        let mean_square_sum = 4 * rg_sum * rg_sum + yb2_sum * yb2_sum;

        let scale = 2.0 * self.pixels as f64;
        (variance_sum as f64).sqrt() / scale + 0.3 * (mean_square_sum as f64).sqrt() / scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_pixels_have_zero_colourfulness() {
        let mut measure = Colourfulness::default();
        for level in [0, 90, 255] {
            measure.add(level, level, level);
        }
        assert_eq!(measure.value(), 0.0);
    }

    #[test]
    fn single_colour_has_only_the_mean_term() {
        // rg = 255, yb = |127.5 − 0| for pure red: no spread.
        let mut measure = Colourfulness::default();
        measure.add(255, 0, 0);
        measure.add(255, 0, 0);
        let expected = 0.3 * (255.0f64 * 255.0 + 127.5 * 127.5).sqrt();
        assert!((measure.value() - expected).abs() < 1e-12);
    }

    #[test]
    fn two_colours_use_population_deviation() {
        // rg is 0 and 10 → μ 5, σ 5; yb is 0 and 5 → μ 2.5, σ 2.5.
        let mut measure = Colourfulness::default();
        measure.add(0, 0, 0);
        measure.add(10, 0, 0);
        let expected = (25.0f64 + 6.25).sqrt() + 0.3 * (25.0f64 + 6.25).sqrt();
        assert!((measure.value() - expected).abs() < 1e-12);
    }
}
