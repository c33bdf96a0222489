//! `report.html`: one self-contained page with inline CSS and the figures
//! as inline SVG, so it opens offline and can be mailed as one file.

use std::fmt::Write as _;

use super::analysis::Analysis;
use super::figures::Section;
use super::summary::{Summary, Table};

const STYLE: &str = "
body { font-family: 'DejaVu Sans', sans-serif; margin: 2rem auto; max-width: 1260px;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.8rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.95rem; margin-top: 0.4rem; }
.skipped { background: #fff4e5; border-left: 4px solid #f0a030; padding: 0.5rem 1rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.8rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.45rem; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
";

/// One drawn figure: its section and its SVG text.
pub struct Embedded<'a> {
    pub section: &'a Section,
    pub svg: Option<&'a str>,
}

/// Renders the whole page.
pub fn render(title: &str, analysis: &Analysis, summary: &Summary, figures: &[Embedded]) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n",
        title = escape(title)
    );
    page.push_str(&introduction(analysis));

    page.push_str("<h2 id=\"findings\">Do flawed networks still encode colour and texture?</h2>\n<ul>\n");
    for finding in &summary.findings {
        let _ = writeln!(page, "<li>{}</li>", escape(finding));
    }
    page.push_str("</ul>\n");
    for (group, table) in &summary.group_tables {
        let _ = writeln!(
            page,
            "<h3>Mean {} R² per layer (final epoch, best alpha, mean ± std over seeds)</h3>",
            group.name()
        );
        page.push_str(&html_table(table));
    }

    for embedded in figures {
        page.push_str(&figure_section(embedded));
    }

    page.push_str(
        "<h2 id=\"key-table\">Key table: held-out R² per concept</h2>\n<p>Final epoch of \
         each model, best alpha per (model, seed, epoch, layer, concept); each cell is the \
         mean ± population standard deviation over seeds of the fold-mean R².</p>\n",
    );
    page.push_str(&html_table(&summary.key_table));
    page.push_str("</body>\n</html>\n");
    page
}

fn introduction(analysis: &Analysis) -> String {
    let table = analysis.table;
    let models: Vec<String> = table.models.iter().map(|m| escape(&m.label())).collect();
    let probe = analysis.concept_probe.as_deref().unwrap_or("none");
    format!(
        "<p>This report follows <em>Interpreting Intentionally Flawed Models with Linear \
         Probes</em> (Graziani, Müller and Andrearczyk, ICCV 2019 workshop SDL-CV). Networks \
         are broken on purpose: <b>generalising</b> networks are trained on the true labels \
         (label corruption p = 0), <b>memorising</b> networks on labels permuted with \
         probability p, <b>random</b> networks are left untrained (epoch 0), and \
         <b>randomised</b> networks are trained and then re-initialised from the top layer \
         down to a given layer. Linear probes fitted on each layer's globally average-pooled \
         activations regress 17 concept measures of each image (colour: the fraction of \
         pixels in eight hue ranges, black, white and colourfulness; texture: six \
         grey-level co-occurrence statistics) and classify the labels. Scores are held-out \
         R² and accuracy from k-fold cross-validation at the best regularisation alpha.</p>\n\
         <p>The study's finding is that memorising networks still encode colour and texture, \
         and that random networks encode them too, because the architecture itself is a \
         prior.</p>\n<p>Models in this report: {models}. Layers, input to output: {layers}. \
         Concept probe: <code>{probe}</code>.</p>\n",
        models = models.join(", "),
        layers = escape(&table.layers.join(", ")),
        probe = escape(probe),
    )
}

fn figure_section(embedded: &Embedded) -> String {
    let section = embedded.section;
    let mut html = format!(
        "<h2 id=\"{name}\">{heading}</h2>\n",
        name = section.name,
        heading = escape(&section.heading)
    );
    match (&section.figure, embedded.svg) {
        (Ok(_), Some(svg)) => {
            let svg = svg.find("<svg").map_or(svg, |start| &svg[start..]);
            let _ = write!(
                html,
                "<figure class=\"figure\" data-figure=\"{name}\">\n{svg}\n<figcaption>{caption} \
                 Files: <code>{name}.png</code>, <code>{name}.svg</code>.</figcaption>\n</figure>\n",
                name = section.name,
                caption = escape(&section.caption),
            );
        }
        (Err(reason), _) => {
            let _ = writeln!(
                html,
                "<p class=\"skipped\">This figure is not drawn, because {}.</p>",
                escape(reason)
            );
        }
        (Ok(_), None) => {
            html.push_str("<p class=\"skipped\">This figure could not be drawn.</p>\n");
        }
    }
    html
}

fn html_table(table: &Table) -> String {
    let mut html = String::from("<div class=\"table-wrap\"><table>\n<thead><tr>");
    for cell in &table.header {
        let _ = write!(html, "<th>{}</th>", escape(cell));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table></div>\n");
    html
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}
