//! Binary texture masks, one kind per class.
//!
//! A pattern decides for each pixel whether it belongs to the foreground.
//! Geometry works on pixel centres in a frame rotated by the orientation
//! angle about the image centre: `u` runs across the orientation, `v` along
//! it. There is no anti-aliasing, so every pixel takes exactly one of two
//! colours before the pixel noise.
//!
//! Sines, cosines, logarithms and exponentials come from the pure-Rust
//! `libm` crate rather than the platform's math library, whose last bits
//! may differ between systems and flip a boundary pixel. Only IEEE 754
//! arithmetic and square roots remain, so the masks should be identical on
//! every platform. NOTE: that is expected, not tested. The tests compare
//! runs on one machine.

use std::f64::consts::TAU;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Class names, sorted, in the order the generator writes them.
pub const CLASSES: [&str; 10] = [
    "bricks",
    "checks",
    "crosshatch",
    "dots",
    "grid",
    "noise-blobs",
    "rings",
    "stripes",
    "waves",
    "zigzag",
];

/// Smallest and largest period as a fraction of the image side.
const PERIOD_RANGE: (f64, f64) = (1.0 / 16.0, 1.0 / 4.0);

/// Weight of the second, finer octave of the blob noise.
const BLOB_FINE_OCTAVE_WEIGHT: f64 = 0.4;

/// Parameters shared by every class.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    /// Main period in pixels: stripe, cell, ring or brick-row spacing, or
    /// the lattice spacing of the blob noise.
    pub scale_px: f64,
    /// Rotation of the pattern in degrees, in [0, 180). Rings do not depend
    /// on it.
    pub orientation_deg: f64,
    /// Shift of the pattern as a fraction of one period, in [0, 1).
    pub phase: f64,
}

/// One drawn texture: its class and the parameters that fix every pixel.
#[derive(Debug, Clone)]
pub struct Pattern {
    geometry: Geometry,
    kind: Kind,
    /// Image centre in pixels, the origin of the rotated frame.
    centre: f64,
    cos: f64,
    sin: f64,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Foreground mortar between rows of bricks offset by half a brick.
    Bricks {
        aspect: f64,
        mortar: f64,
    },
    /// Rectangular checkerboard: the foreground is where exactly one of
    /// the two bands is on.
    Checks {
        duty_u: f64,
        duty_v: f64,
    },
    /// Two families of thin lines crossing at an oblique angle.
    Crosshatch {
        line: f64,
        cross_cos: f64,
        cross_sin: f64,
    },
    /// Discs on a square lattice. The `radius` is in periods, below 0.5.
    Dots {
        radius: f64,
    },
    /// Two families of lines crossing at a right angle.
    Grid {
        line: f64,
    },
    /// Thresholded value noise on a square lattice of `side` by `side`.
    NoiseBlobs {
        lattice: Vec<f64>,
        side: usize,
        threshold: f64,
    },
    /// Concentric rings around a point inside the image.
    Rings {
        duty: f64,
        cx: f64,
        cy: f64,
    },
    Stripes {
        duty: f64,
    },
    /// Stripes displaced along `u` by a sine of `v`.
    Waves {
        duty: f64,
        amplitude: f64,
        wavelength: f64,
    },
    /// Stripes displaced along `u` by a triangle wave of `v`.
    Zigzag {
        duty: f64,
        amplitude: f64,
        wavelength: f64,
    },
}

impl Pattern {
    /// Draws the parameters of a texture of `class` for a square image of
    /// `size` pixels. Returns `None` for a class not in [`CLASSES`].
    pub fn draw(class: &str, size: u32, rng: &mut ChaCha8Rng) -> Option<Pattern> {
        let side = f64::from(size);
        let (low, high) = (PERIOD_RANGE.0 * side, PERIOD_RANGE.1 * side);
        // Log-uniform, so fine and coarse textures are equally common.
        let scale_px = libm::exp(rng.gen_range(libm::log(low)..libm::log(high)));
        let geometry = Geometry {
            scale_px,
            orientation_deg: rng.gen_range(0.0..180.0),
            phase: rng.gen_range(0.0..1.0),
        };

        let kind = match class {
            "bricks" => Kind::Bricks {
                aspect: rng.gen_range(1.6..3.0),
                mortar: rng.gen_range(0.1..0.3),
            },
            "checks" => Kind::Checks {
                duty_u: rng.gen_range(0.3..0.7),
                duty_v: rng.gen_range(0.3..0.7),
            },
            "crosshatch" => {
                let cross = rng.gen_range(30.0_f64..65.0).to_radians();
                Kind::Crosshatch {
                    line: rng.gen_range(0.1..0.3),
                    cross_cos: libm::cos(cross),
                    cross_sin: libm::sin(cross),
                }
            }
            "dots" => Kind::Dots {
                radius: rng.gen_range(0.15..0.45),
            },
            "grid" => Kind::Grid {
                line: rng.gen_range(0.08..0.3),
            },
            "noise-blobs" => {
                // The lattice covers the image diagonal in any rotation, plus
                // one cell of margin on each side for interpolation.
                let cells = (side * 2.0_f64.sqrt() / scale_px).ceil() as usize + 3;
                let side = 2 * cells;
                let lattice = (0..side * side).map(|_| rng.gen_range(0.0..1.0)).collect();
                Kind::NoiseBlobs {
                    lattice,
                    side,
                    threshold: rng.gen_range(0.35..0.65),
                }
            }
            "rings" => Kind::Rings {
                duty: rng.gen_range(0.2..0.8),
                cx: rng.gen_range(0.15..0.85) * side,
                cy: rng.gen_range(0.15..0.85) * side,
            },
            "stripes" => Kind::Stripes {
                duty: rng.gen_range(0.2..0.8),
            },
            // Gentle, long waves against tight chevrons, so the two classes
            // differ in more than the smoothness of their turns.
            "waves" => Kind::Waves {
                duty: rng.gen_range(0.25..0.75),
                amplitude: rng.gen_range(0.25..0.7),
                wavelength: rng.gen_range(2.5..5.0),
            },
            "zigzag" => Kind::Zigzag {
                duty: rng.gen_range(0.25..0.75),
                amplitude: rng.gen_range(0.6..1.2),
                wavelength: rng.gen_range(1.2..2.4),
            },
            _ => return None,
        };

        let angle = geometry.orientation_deg.to_radians();
        Some(Pattern {
            geometry,
            kind,
            centre: side / 2.0,
            cos: libm::cos(angle),
            sin: libm::sin(angle),
        })
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Renders the foreground mask of a `size` by `size` image, row-major.
    pub fn mask(&self, size: u32) -> Vec<bool> {
        let side = size as usize;
        let mut mask = Vec::with_capacity(side * side);
        for y in 0..side {
            for x in 0..side {
                mask.push(self.contains(x as f64 + 0.5, y as f64 + 0.5));
            }
        }
        mask
    }

    /// Returns whether the point (`x`, `y`), in pixels from the top-left
    /// corner, is foreground.
    fn contains(&self, x: f64, y: f64) -> bool {
        let (dx, dy) = (x - self.centre, y - self.centre);
        let u = dx * self.cos + dy * self.sin;
        let v = -dx * self.sin + dy * self.cos;
        let period = self.geometry.scale_px;
        let phase = self.geometry.phase;
        // Positions in periods, shifted by the phase.
        let (pu, pv) = (u / period + phase, v / period + phase);

        match &self.kind {
            Kind::Bricks { aspect, mortar } => {
                let row = pv.floor();
                let stagger = if row.rem_euclid(2.0) == 1.0 { 0.5 } else { 0.0 };
                let along = pu / aspect + stagger;
                fract(pv) < *mortar || fract(along) < mortar / aspect
            }
            Kind::Checks { duty_u, duty_v } => (fract(pu) < *duty_u) != (fract(pv) < *duty_v),
            Kind::Crosshatch {
                line,
                cross_cos,
                cross_sin,
            } => {
                let crossed = u * cross_cos + v * cross_sin;
                fract(pu) < *line || fract(crossed / period + phase) < *line
            }
            Kind::Dots { radius } => {
                let (cu, cv) = (fract(pu) - 0.5, fract(pv) - 0.5);
                cu * cu + cv * cv < radius * radius
            }
            Kind::Grid { line } => fract(pu) < *line || fract(pv) < *line,
            Kind::NoiseBlobs {
                lattice,
                side,
                threshold,
            } => {
                let coarse = value_noise(lattice, *side, pu, pv);
                let fine = value_noise(lattice, *side, 2.0 * pu, 2.0 * pv);
                let blend =
                    (coarse + BLOB_FINE_OCTAVE_WEIGHT * fine) / (1.0 + BLOB_FINE_OCTAVE_WEIGHT);
                blend < *threshold
            }
            Kind::Rings { duty, cx, cy } => {
                let (ring_dx, ring_dy) = (x - cx, y - cy);
                let radius = (ring_dx * ring_dx + ring_dy * ring_dy).sqrt();
                fract(radius / period + phase) < *duty
            }
            Kind::Stripes { duty } => fract(pu) < *duty,
            Kind::Waves {
                duty,
                amplitude,
                wavelength,
            } => {
                let shift = amplitude * libm::sin(TAU * v / (wavelength * period));
                fract(pu + shift) < *duty
            }
            Kind::Zigzag {
                duty,
                amplitude,
                wavelength,
            } => {
                let shift = amplitude * triangle(v / (wavelength * period));
                fract(pu + shift) < *duty
            }
        }
    }
}

fn fract(value: f64) -> f64 {
    value - value.floor()
}

/// Triangle wave with period 1 and range [-1, 1].
fn triangle(t: f64) -> f64 {
    4.0 * (fract(t) - 0.5).abs() - 1.0
}

/// Smoothly interpolated lattice noise in [0, 1] at (`u`, `v`), in lattice
/// cells from the lattice centre. Points outside the lattice wrap around.
fn value_noise(lattice: &[f64], side: usize, u: f64, v: f64) -> f64 {
    let half = (side / 2) as f64;
    let (gu, gv) = (u + half, v + half);
    let (iu, iv) = (gu.floor(), gv.floor());
    let (tu, tv) = (smoothstep(gu - iu), smoothstep(gv - iv));
    let wrap = |i: f64| (i as i64).rem_euclid(side as i64) as usize;
    let (u0, u1, v0, v1) = (wrap(iu), wrap(iu + 1.0), wrap(iv), wrap(iv + 1.0));
    let at = |row: usize, col: usize| lattice[row * side + col];

    let top = at(v0, u0) + tu * (at(v0, u1) - at(v0, u0));
    let bottom = at(v1, u0) + tu * (at(v1, u1) - at(v1, u0));
    top + tv * (bottom - top)
}

/// Ease curve 3t² − 2t³, so the noise has no creases along lattice lines.
fn smoothstep(t: f64) -> f64 {
    t * t * (3.0 - 2.0 * t)
}
