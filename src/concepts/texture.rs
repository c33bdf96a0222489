//! Grey levels and grey-level co-occurrence (GLCM) texture statistics, as
//! scikit-image 0.26 computes them with
//! `graycoprops(graycomatrix(img_as_ubyte(rgb2gray(rgb)), [1], [0], levels=256,
//! symmetric=True, normed=True), prop)`.
//!
//! The GLCM (Haralick, Shanmugam and Dinstein 1973) counts each horizontal
//! neighbour pair (pixel, pixel to its right) of an image with `n` such pairs.
//! Symmetric means each pair also counts reversed, so the normalised matrix
//! is `P[i, j] = (N[i, j] + N[j, i]) / 2n` with `N` the directed counts.
//! Counts are kept as integers in a dense table, so the cost per image is
//! one pass over its pixels plus one over the 65,536 cells.

/// Grey levels of the co-occurrence matrix (8-bit grey).
pub const LEVELS: usize = 256;

/// scikit-image's luma weights, scaled by 10,000 so they are integers.
const WEIGHT_RED: u32 = 2125;
const WEIGHT_GREEN: u32 = 7154;
const WEIGHT_BLUE: u32 = 721;
const WEIGHT_SCALE: u32 = 10_000;

/// Converts one RGB pixel to grey as `img_as_ubyte(rgb2gray(rgb))` does.
///
/// scikit-image computes `Y = 0.2125 R + 0.7154 G + 0.0721 B` on channels
/// scaled to [0, 1] and rounds `255 Y` half to even. In exact arithmetic
/// `255 Y` is a multiple of 1/10,000, so it is either at least 1/10,000 from
/// a half-integer, where the float error (about 1e-13) cannot change the
/// rounding and integer arithmetic gives the result, or exactly on one. Only
/// those ties (1,688 of the 2^24 colours) take the float path, which
/// reproduces how scikit-image 0.26's `rgb @ coeffs` evaluates under numpy
/// 2.4 with OpenBLAS on x86-64 for images at least two pixels wide: channels
/// multiplied by `1/255`, then `fma(B, 0.0721, fma(R, 0.2125, G × 0.7154))`.
/// A test compares all 2^24 colours with scikit-image.
///
/// NOTE: the tie results depend on numpy's BLAS kernel; images one pixel
/// wide take another path in numpy, which does not matter here because they
/// have no horizontal pairs.
#[inline(always)]
pub fn grey_level(red: u8, green: u8, blue: u8) -> u8 {
    let weighted =
        WEIGHT_RED * u32::from(red) + WEIGHT_GREEN * u32::from(green) + WEIGHT_BLUE * u32::from(blue);
    let whole = weighted / WEIGHT_SCALE;
    let fraction = weighted % WEIGHT_SCALE;
    if fraction == WEIGHT_SCALE / 2 {
        return grey_level_float(red, green, blue);
    }
    (whole + u32::from(fraction > WEIGHT_SCALE / 2)) as u8
}

/// The float evaluation of [`grey_level`], used where exact arithmetic ties.
#[cold]
fn grey_level_float(red: u8, green: u8, blue: u8) -> u8 {
    let scale = 1.0 / 255.0;
    let (r, g, b) = (
        f64::from(red) * scale,
        f64::from(green) * scale,
        f64::from(blue) * scale,
    );
    let luma = b.mul_add(0.0721, r.mul_add(0.2125, g * 0.7154));
    (luma * 255.0).round_ties_even().clamp(0.0, 255.0) as u8
}

/// The six `graycoprops` statistics of one image, in this order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextureStatistics {
    /// `Σ P[i,j] (i − j)²`, in [0, 255²].
    pub contrast: f64,
    /// `Σ P[i,j] |i − j|`, in [0, 255].
    pub dissimilarity: f64,
    /// `Σ P[i,j] / (1 + (i − j)²)`, in [0, 1].
    pub homogeneity: f64,
    /// Angular second moment `Σ P[i,j]²`, in [0, 1].
    pub asm: f64,
    /// `√ASM`, in [0, 1].
    pub energy: f64,
    /// `Σ P[i,j] (i − μ)(j − μ) / σ²`, in [−1, 1]; μ and σ² are the mean and
    /// variance of either marginal (equal because P is symmetric).
    pub correlation: f64,
}

impl TextureStatistics {
    /// The statistics `graycoprops` returns for a GLCM with no pairs (an
    /// image one pixel wide): an all-zero matrix, whose correlation it
    /// defines as 1 like any matrix with zero variance.
    pub const NO_PAIRS: TextureStatistics = TextureStatistics {
        contrast: 0.0,
        dissimilarity: 0.0,
        homogeneity: 0.0,
        asm: 0.0,
        energy: 0.0,
        correlation: 1.0,
    };
}

/// Directed co-occurrence counts `N[left, right]` of horizontal neighbours.
///
/// Pairs go to two dense 256 × 256 tables of 16-bit counters in turn (the
/// caller picks the lane), so a run of equal pairs in a flat region does not
/// serialise on one counter and both tables together stay within 256 KiB.
/// A counter that wraps past 65,535 records the cell in an overflow list,
/// each entry worth 65,536 counts. [`Glcm::statistics`] merges the tables
/// into one of 32-bit counts, reads the statistics from it row by row and
/// clears everything for the next image.
pub struct Glcm {
    lanes: [Box<[u16; CELLS]>; 2],
    overflows: Vec<u16>,
    merged: Vec<u32>,
    pairs: u64,
}

impl Default for Glcm {
    fn default() -> Self {
        Glcm {
            lanes: [Box::new([0; CELLS]), Box::new([0; CELLS])],
            overflows: Vec::new(),
            merged: vec![0; LEVELS * LEVELS],
            pairs: 0,
        }
    }
}

/// Cells of the co-occurrence matrix.
const CELLS: usize = LEVELS * LEVELS;

/// `1 / (1 + d²)` for `d = j − i + 255`, so row `i` reads its weights as
/// one contiguous slice starting at `255 − i`.
static HOMOGENEITY_WEIGHTS: std::sync::LazyLock<[f64; 2 * LEVELS - 1]> =
    std::sync::LazyLock::new(|| {
        std::array::from_fn(|index| {
            let difference = index as f64 - (LEVELS - 1) as f64;
            1.0 / (1.0 + difference * difference)
        })
    });

impl Glcm {
    /// Counts the pair (`left`, `right`), `right` being the pixel to the
    /// right of `left`, in the first table.
    #[inline(always)]
    pub fn add(&mut self, left: u8, right: u8) {
        self.count_pair(0, left, right);
    }

    /// Counts the pair like [`Glcm::add`], in the second table.
    #[inline(always)]
    pub fn add_second(&mut self, left: u8, right: u8) {
        self.count_pair(1, left, right);
    }

    /// Counts the horizontal pairs of one row of grey levels.
    pub fn add_row(&mut self, greys: &[u8]) {
        let [first, second] = &mut self.lanes;
        let overflows = &mut self.overflows;
        let mut count = |lane: &mut [u16; CELLS], left: u8, right: u8| {
            let cell = usize::from(left) << 8 | usize::from(right);
            lane[cell] = lane[cell].wrapping_add(1);
            if lane[cell] == 0 {
                overflows.push(cell as u16);
            }
        };
        let mut pairs = greys.windows(2);
        while let (Some(one), Some(other)) = (pairs.next(), pairs.next()) {
            count(first, one[0], one[1]);
            count(second, other[0], other[1]);
        }
        if greys.len().is_multiple_of(2) {
            if let [.., left, right] = greys {
                count(first, *left, *right);
            }
        }
        self.pairs += greys.len().saturating_sub(1) as u64;
    }

    #[inline(always)]
    fn count_pair(&mut self, lane: usize, left: u8, right: u8) {
        let cell = usize::from(left) << 8 | usize::from(right);
        let count = &mut self.lanes[lane][cell];
        *count = count.wrapping_add(1);
        if *count == 0 {
            self.overflows.push(cell as u16);
        }
        self.pairs += 1;
    }

    /// Computes the statistics of the counted pairs and resets the counts.
    pub fn statistics(&mut self) -> TextureStatistics {
        self.merge_lanes();
        let pairs = self.pairs;
        let sums = self.cell_sums();
        self.pairs = 0;
        if pairs == 0 {
            return TextureStatistics::NO_PAIRS;
        }

        let pairs_f = pairs as f64;
        // The symmetric matrix holds 2n counts; its sum of squares over (2n)².
        let total = 2 * u128::from(pairs);
        let asm = sums.symmetric_squares as f64 / (total * total) as f64;

        // Marginal moments of the symmetric matrix, times (2n)², in exact
        // integers so a near-constant image loses no precision.
        let level_sum = i128::from(sums.level_sum);
        let variance = total as i128 * i128::from(sums.level_square_sum) - level_sum * level_sum;
        let covariance = total as i128 * i128::from(sums.cross_sum) - level_sum * level_sum;
        // graycoprops sets the correlation to 1 when σ < 1e-15; with integer
        // counts σ is either exactly 0 or at least 1 / 2n.
        let correlation = if variance == 0 {
            1.0
        } else {
            covariance as f64 / variance as f64
        };

        TextureStatistics {
            contrast: sums.squared_difference as f64 / pairs_f,
            dissimilarity: sums.absolute_difference as f64 / pairs_f,
            homogeneity: sums.homogeneity / pairs_f,
            asm,
            energy: asm.sqrt(),
            correlation,
        }
    }

    /// Adds both lanes and the overflows into `merged` and clears them.
    fn merge_lanes(&mut self) {
        let [first, second] = &mut self.lanes;
        for ((total, a), b) in self.merged.iter_mut().zip(first.iter_mut()).zip(second.iter_mut()) {
            *total = u32::from(*a) + u32::from(*b);
            *a = 0;
            *b = 0;
        }
        for &cell in &self.overflows {
            self.merged[usize::from(cell)] += 1 << 16;
        }
        self.overflows.clear();
    }

    /// Sums over the merged directed counts, row by row.
    fn cell_sums(&self) -> CellSums {
        let mut sums = CellSums::default();
        let weights = &*HOMOGENEITY_WEIGHTS;
        for (left, row) in self.merged.chunks_exact(LEVELS).enumerate() {
            let row_total: u64 = row.iter().map(|&count| u64::from(count)).sum();
            if row_total == 0 {
                continue;
            }
            let row_weights = &weights[LEVELS - 1 - left..2 * LEVELS - 1 - left];
            let left = left as u64;
            let (mut right_sum, mut right_square_sum) = (0u64, 0u64);
            let (mut squared_difference, mut absolute_difference) = (0u64, 0u64);
            let mut homogeneity = 0.0;
            for ((right, &count), &weight) in row.iter().enumerate().zip(row_weights) {
                let (right, count) = (right as u64, u64::from(count));
                let difference = left.abs_diff(right);
                right_sum += count * right;
                right_square_sum += count * right * right;
                squared_difference += count * difference * difference;
                absolute_difference += count * difference;
                homogeneity += count as f64 * weight;
            }
            sums.squared_difference += squared_difference;
            sums.absolute_difference += absolute_difference;
            sums.homogeneity += homogeneity;
            sums.level_sum += left * row_total + right_sum;
            sums.level_square_sum += left * left * row_total + right_square_sum;
            sums.cross_sum += 2 * left * right_sum;
        }
        sums.symmetric_squares = self.symmetric_squares();
        sums
    }

    /// `Σ S[i,j]²` over all cells of `S = N + Nᵀ`.
    fn symmetric_squares(&self) -> u128 {
        let counts = &self.merged;
        let mut total = 0u128;
        for left in 0..LEVELS {
            let diagonal = 2 * u128::from(counts[left * LEVELS + left]);
            total += diagonal * diagonal;
            // Below 2^31 pairs every S fits 32 bits and a row's Σ S² fits 64.
            if self.pairs < 1 << 31 {
                let mut row = 0u64;
                for right in left + 1..LEVELS {
                    let symmetric = u64::from(counts[left * LEVELS + right])
                        + u64::from(counts[right * LEVELS + left]);
                    row += symmetric * symmetric;
                }
                total += 2 * u128::from(row);
            } else {
                for right in left + 1..LEVELS {
                    let symmetric = u128::from(counts[left * LEVELS + right])
                        + u128::from(counts[right * LEVELS + left]);
                    total += 2 * symmetric * symmetric;
                }
            }
        }
        total
    }
}

#[derive(Default)]
struct CellSums {
    squared_difference: u64,
    absolute_difference: u64,
    homogeneity: f64,
    level_sum: u64,
    level_square_sum: u64,
    cross_sum: u64,
    symmetric_squares: u128,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_rounds_like_img_as_ubyte() {
        assert_eq!(grey_level(0, 0, 0), 0);
        assert_eq!(grey_level(255, 255, 255), 255);
        assert_eq!(grey_level(255, 0, 0), 54); // 54.19
        assert_eq!(grey_level(0, 255, 0), 182); // 182.43
        assert_eq!(grey_level(0, 0, 255), 18); // 18.39
        assert_eq!(grey_level(2, 0, 0), 0); // 0.425
        assert_eq!(grey_level(3, 0, 0), 1); // 0.6375
    }

    #[test]
    fn grey_exact_ties_follow_numpy_float_result() {
        // 255 Y is exactly x.5 for these colours; numpy's float result lands
        // just below or above the tie, which decides the rounding (values
        // from scikit-image 0.26 with numpy 2.4).
        assert_eq!(grey_level(0, 40, 40), 31); // 31.5
        assert_eq!(grey_level(0, 120, 120), 94); // 94.5
        assert_eq!(grey_level(0, 247, 122), 186); // 185.5
        assert_eq!(grey_level(1, 41, 41), 32); // 32.5
    }

    #[test]
    fn glcm_is_symmetric_and_normalised() {
        // One row 0 0 1 1: pairs (0,0), (0,1), (1,1). The symmetric matrix
        // is [[2, 1], [1, 2]] / 6.
        let mut glcm = Glcm::default();
        glcm.add(0, 0);
        glcm.add(0, 1);
        glcm.add(1, 1);
        let stats = glcm.statistics();
        assert_eq!(stats.contrast, 2.0 / 6.0);
        assert_eq!(stats.dissimilarity, 2.0 / 6.0);
        assert_eq!(stats.homogeneity, (2.0 + 1.0 / 2.0 + 1.0 / 2.0 + 2.0) / 6.0);
        assert_eq!(stats.asm, (4.0 + 1.0 + 1.0 + 4.0) / 36.0);
        assert_eq!(stats.energy, (10.0f64 / 36.0).sqrt());
        // μ = 1/2, σ² = 1/4, cov = Σ P (i−½)(j−½) = (2 − 1 − 1 + 2) / 6 / 4.
        assert!((stats.correlation - 1.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn glcm_merges_both_tables() {
        let mut glcm = Glcm::default();
        glcm.add(3, 4);
        glcm.add_second(3, 4);
        glcm.add_second(4, 3);
        let stats = glcm.statistics();
        // S[3,4] = S[4,3] = 3 of 6 counts.
        assert_eq!(stats.asm, 0.5);
        assert_eq!(stats.contrast, 1.0);
    }

    #[test]
    fn glcm_reset_forgets_previous_image() {
        let mut glcm = Glcm::default();
        glcm.add(10, 200);
        glcm.add_second(10, 20);
        let _ = glcm.statistics();
        glcm.add(7, 7);
        let stats = glcm.statistics();
        assert_eq!(stats.contrast, 0.0);
        assert_eq!(stats.asm, 1.0);
    }

    #[test]
    fn glcm_counts_past_the_16_bit_counters() {
        // 199,999 pairs (0, 0) and one (0, 1): each lane wraps its counter.
        let mut greys = vec![0u8; 200_001];
        greys[200_000] = 1;
        let mut glcm = Glcm::default();
        glcm.add_row(&greys);
        let stats = glcm.statistics();
        let expected_asm = (399_998u128 * 399_998 + 2) as f64 / (400_000u128 * 400_000) as f64;
        assert_eq!(stats.asm, expected_asm);
        assert_eq!(stats.contrast, 1.0 / 200_000.0);
        // The counters are clear again.
        glcm.add_row(&[5, 5]);
        assert_eq!(glcm.statistics().asm, 1.0);
    }

    #[test]
    fn glcm_row_pairs_match_single_additions() {
        let greys = [3u8, 9, 9, 200, 3, 3, 17];
        let mut by_row = Glcm::default();
        by_row.add_row(&greys);
        let mut by_pair = Glcm::default();
        for pair in greys.windows(2) {
            by_pair.add(pair[0], pair[1]);
        }
        assert_eq!(by_row.statistics(), by_pair.statistics());
        by_row.add_row(&greys[..6]);
        let mut by_pair = Glcm::default();
        for pair in greys[..6].windows(2) {
            by_pair.add_second(pair[0], pair[1]);
        }
        assert_eq!(by_row.statistics(), by_pair.statistics());
    }

    #[test]
    fn glcm_without_pairs_gives_graycoprops_defaults() {
        let mut glcm = Glcm::default();
        assert_eq!(glcm.statistics(), TextureStatistics::NO_PAIRS);
    }

    #[test]
    fn glcm_of_constant_pairs_has_unit_correlation() {
        let mut glcm = Glcm::default();
        for _ in 0..5 {
            glcm.add(42, 42);
        }
        let stats = glcm.statistics();
        assert_eq!(stats.homogeneity, 1.0);
        assert_eq!(stats.asm, 1.0);
        assert_eq!(stats.energy, 1.0);
        assert_eq!(stats.correlation, 1.0);
        assert_eq!(stats.contrast, 0.0);
    }
}
