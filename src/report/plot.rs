//! Small-multiple line charts with error bars, drawn with plotters to SVG
//! and PNG from one description.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The font every figure uses, compiled in so that text looks the same on
/// machines without system fonts (see `assets/README.md`).
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FONT_FAMILY: &str = "sans-serif";

/// Figure width in pixels; the PNG is drawn at this size.
pub const WIDTH: u32 = 1200;
const PANEL_HEIGHT: u32 = 330;
const TITLE_HEIGHT: u32 = 48;
const LEGEND_ROW_HEIGHT: u32 = 26;
const LEGEND_MARGIN: u32 = 12;

/// Tableau's ten categorical colours; series beyond ten repeat them.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Description of one figure, independent of the output format.
#[derive(Debug, Clone)]
pub struct Figure {
    /// File basename, e.g. `r2-by-layer-colour`.
    pub name: String,
    pub title: String,
    pub x_axis: XAxis,
    pub y_label: String,
    /// The y range is fitted to the data but never leaves these bounds;
    /// values outside are drawn at the bound.
    pub y_limits: (f64, f64),
    pub columns: usize,
    pub panels: Vec<Panel>,
    /// Legend text per series; a line's `series` indexes it and picks the
    /// colour.
    pub legend: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum XAxis {
    /// Categorical layers, input to output, at x = 0, 1, ….
    Layers(Vec<String>),
    Numeric(String),
}

#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone)]
pub struct Line {
    pub series: usize,
    pub points: Vec<Point>,
}

/// A mean with a symmetric error bar of half-length `err` (0 draws none).
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub err: f64,
}

impl Figure {
    /// Total height in pixels: title, legend rows and panel rows.
    pub fn height(&self) -> u32 {
        let rows = self.panels.len().div_ceil(self.columns.max(1)).max(1) as u32;
        self.header_height() + rows * PANEL_HEIGHT
    }

    fn header_height(&self) -> u32 {
        TITLE_HEIGHT + legend_rows(&self.legend) * LEGEND_ROW_HEIGHT + LEGEND_MARGIN
    }

    /// Computes the y range: the data's range rounded out to tenths, always
    /// including 0 and clipped to `y_limits`.
    fn y_range(&self) -> (f64, f64) {
        let points = self.panels.iter().flat_map(|p| &p.lines).flat_map(|l| &l.points);
        let (mut low, mut high) = (0.0_f64, 0.1_f64);
        for point in points {
            low = low.min(point.y - point.err);
            high = high.max(point.y + point.err);
        }
        let low = ((low * 10.0).floor() / 10.0).max(self.y_limits.0);
        let high = ((high * 10.0).ceil() / 10.0).min(self.y_limits.1);
        if high > low {
            (low, high)
        } else {
            self.y_limits
        }
    }
}

/// Draws `figure` as an SVG document.
pub fn render_svg(figure: &Figure) -> Result<String> {
    register_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, figure.height())).into_drawing_area();
        draw(&root, figure)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// Draws `figure` and writes it to `path` as PNG.
pub fn write_png(figure: &Figure, path: &Path) -> Result<()> {
    register_font()?;
    let (width, height) = (WIDTH, figure.height());
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw(&root, figure)?;
        root.present().map_err(plot_error)?;
    }
    let image = image::RgbImage::from_raw(width, height, pixels)
        .context("the PNG pixel buffer has the wrong size")?;
    image
        .save_with_format(path, image::ImageFormat::Png)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_ok()
    });
    if !ok {
        bail!("the compiled-in DejaVu Sans font is not a valid TrueType font");
    }
    Ok(())
}

fn plot_error(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing failed: {error}")
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, figure: &Figure) -> Result<()> {
    root.fill(&WHITE).map_err(plot_error)?;
    let (header, body) = root.split_vertically(figure.header_height());
    draw_header(&header, figure)?;

    let columns = figure.columns.max(1);
    let rows = figure.panels.len().div_ceil(columns).max(1);
    let areas = body.split_evenly((rows, columns));
    let y_range = figure.y_range();
    for (panel, area) in figure.panels.iter().zip(&areas) {
        draw_panel(area, figure, panel, y_range)?;
    }
    Ok(())
}

fn draw_header<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, figure: &Figure) -> Result<()> {
    let title_style = TextStyle::from((FONT_FAMILY, 26).into_font())
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text(&figure.title, &title_style, (WIDTH as i32 / 2, TITLE_HEIGHT as i32 / 2))
        .map_err(plot_error)?;

    let text_style = TextStyle::from((FONT_FAMILY, 16).into_font())
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (series, (x, row)) in legend_layout(&figure.legend).into_iter().enumerate() {
        let y = (TITLE_HEIGHT + row * LEGEND_ROW_HEIGHT + LEGEND_ROW_HEIGHT / 2) as i32;
        let colour = colour(series);
        let sample = PathElement::new(vec![(x, y), (x + LEGEND_SAMPLE - 8, y)], colour.stroke_width(3));
        area.draw(&sample).map_err(plot_error)?;
        area.draw(&Circle::new((x + (LEGEND_SAMPLE - 8) / 2, y), 4, colour.filled()))
            .map_err(plot_error)?;
        area.draw_text(&figure.legend[series], &text_style, (x + LEGEND_SAMPLE, y))
            .map_err(plot_error)?;
    }
    Ok(())
}

const LEGEND_SAMPLE: i32 = 40;
const LEGEND_GAP: i32 = 24;
/// Average advance of a 16 px DejaVu Sans character, used to flow the
/// legend; an estimate, so entries keep a generous gap.
const LEGEND_CHAR_WIDTH: i32 = 9;

/// Places each legend entry at an (x, row), flowing left to right.
fn legend_layout(legend: &[String]) -> Vec<(i32, u32)> {
    let (mut x, mut row) = (LEGEND_GAP, 0u32);
    let mut places = Vec::with_capacity(legend.len());
    for label in legend {
        let width = LEGEND_SAMPLE + LEGEND_CHAR_WIDTH * label.chars().count() as i32 + LEGEND_GAP;
        if x + width > WIDTH as i32 && x > LEGEND_GAP {
            x = LEGEND_GAP;
            row += 1;
        }
        places.push((x, row));
        x += width;
    }
    places
}

fn legend_rows(legend: &[String]) -> u32 {
    legend_layout(legend).last().map_or(0, |(_, row)| row + 1)
}

fn colour(series: usize) -> RGBColor {
    PALETTE[series % PALETTE.len()]
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &Figure,
    panel: &Panel,
    (y_low, y_high): (f64, f64),
) -> Result<()> {
    let (x_range, x_label) = match &figure.x_axis {
        XAxis::Layers(layers) => (-0.5..layers.len() as f64 - 0.5, "layer".to_string()),
        XAxis::Numeric(label) => (numeric_x_range(panel), label.clone()),
    };
    let x_span = x_range.end - x_range.start;
    let has_points = panel.lines.iter().any(|l| l.points.iter().any(|p| p.y.is_finite()));
    let title = if has_points { panel.title.clone() } else { format!("{} (no data)", panel.title) };
    let mut chart = ChartBuilder::on(area)
        .caption(&title, (FONT_FAMILY, 18))
        .margin(8)
        .margin_right(16)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(x_range, y_low..y_high)
        .map_err(plot_error)?;

    let layer_names = match &figure.x_axis {
        XAxis::Layers(layers) => Some(layers.as_slice()),
        XAxis::Numeric(_) => None,
    };
    let format_x = |x: &f64| match layer_names {
        Some(names) => layer_tick(names, *x),
        None => format_number(*x),
    };
    chart
        .configure_mesh()
        .x_labels(layer_names.map_or(8, <[String]>::len))
        .y_labels(8)
        .x_label_formatter(&format_x)
        .y_label_formatter(&|y| format_number(*y))
        .x_desc(x_label)
        .y_desc(figure.y_label.as_str())
        .label_style((FONT_FAMILY, 13))
        .axis_desc_style((FONT_FAMILY, 15))
        .draw()
        .map_err(plot_error)?;

    // Lines sharing an x are shifted apart a little so their error bars
    // stay visible.
    let dodge = match &figure.x_axis {
        XAxis::Layers(_) => (0.5 / panel.lines.len().max(1) as f64).min(0.06),
        XAxis::Numeric(_) => x_span * 0.004,
    };
    let cap = match &figure.x_axis {
        XAxis::Layers(_) => 0.02,
        XAxis::Numeric(_) => x_span * 0.006,
    };
    let centre = (panel.lines.len() as f64 - 1.0) / 2.0;
    for (position, line) in panel.lines.iter().enumerate() {
        let shift = (position as f64 - centre) * dodge;
        let clamp = |y: f64| y.clamp(y_low, y_high);
        let points: Vec<(f64, f64, f64)> = line
            .points
            .iter()
            .filter(|p| p.x.is_finite() && p.y.is_finite())
            .map(|p| (p.x + shift, clamp(p.y), if p.err.is_finite() { p.err } else { 0.0 }))
            .collect();
        let style = colour(line.series);

        let path = points.iter().map(|&(x, y, _)| (x, y));
        chart.draw_series(LineSeries::new(path, style.stroke_width(2))).map_err(plot_error)?;
        let markers = points.iter().map(|&(x, y, _)| Circle::new((x, y), 3, style.filled()));
        chart.draw_series(markers).map_err(plot_error)?;

        for &(x, y, err) in points.iter().filter(|p| p.2 > 0.0) {
            let (low, high) = (clamp(y - err), clamp(y + err));
            let bar = [
                vec![(x, low), (x, high)],
                vec![(x - cap, low), (x + cap, low)],
                vec![(x - cap, high), (x + cap, high)],
            ];
            let bar = bar.into_iter().map(|path| PathElement::new(path, style.stroke_width(1)));
            chart.draw_series(bar).map_err(plot_error)?;
        }
    }
    Ok(())
}

fn numeric_x_range(panel: &Panel) -> std::ops::Range<f64> {
    let xs = panel.lines.iter().flat_map(|l| &l.points).map(|p| p.x).filter(|x| x.is_finite());
    let (low, high) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if !low.is_finite() || high <= low {
        let centre = if low.is_finite() { low } else { 0.0 };
        return centre - 1.0..centre + 1.0;
    }
    let pad = (high - low) * 0.04;
    low - pad..high + pad
}

/// Formats a tick as the layer name at an integer position, blank elsewhere.
fn layer_tick(names: &[String], x: f64) -> String {
    let index = x.round();
    if (x - index).abs() > 1e-6 || index < 0.0 {
        return String::new();
    }
    names.get(index as usize).cloned().unwrap_or_default()
}

fn format_number(x: f64) -> String {
    if x.abs() < 1e-9 {
        "0".to_string()
    } else if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        let text = format!("{x:.2}");
        text.trim_end_matches('0').to_string()
    }
}
