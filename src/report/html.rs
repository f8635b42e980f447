//! Renders the report [`Doc`] as one self-contained HTML file
//! (`report.html`): inline CSS and inline SVG charts, nothing fetched, no
//! script. The answer sits on top (heat map, headline latencies, findings);
//! folded sections become `<details>` that the reader opens with a click.
//!
//! The output is also well-formed XML (every element closed, text escaped,
//! no HTML-only entities such as `&nbsp;`), so tests and tools can check it
//! with any XML parser. It carries no URL at all: inline `<svg>` in HTML5
//! needs no namespace declaration.

use super::charts;
use super::doc::{Align, Block, Cell, Doc, Section, Table};
use super::findings;
use super::heatmap;
use super::stats::Summary;
use super::svg::xml;

/// Styles for a laptop-width page (about 1280 px) that also reflows on a
/// narrow one: charts scale with their box, wide tables scroll inside their
/// own box, so the page itself never scrolls sideways (the browser check in
/// `tests/browser/` holds it to that at 820 px).
/// Kept free of `<` and `&` so the style element stays well-formed XML.
const CSS: &str = r#"
:root { --ink: #1f2328; --muted: #59636e; --line: #d8dee4; --zebra: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #ffffff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 20px 32px 64px; }
h1 { font-size: 28px; margin: 8px 0 4px; }
h2 { font-size: 22px; margin: 40px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 6px; }
p { margin: 8px 0; max-width: 110ch; }
p.small { color: var(--muted); font-size: 13px; margin-top: -8px; }
ul { padding-left: 22px; max-width: 120ch; }
li { margin: 3px 0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 0.9em; background: #eff1f3; padding: 1px 5px; border-radius: 4px; white-space: nowrap; }
nav.toc { font-size: 14px; color: var(--muted); margin: 6px 0 0; }
nav.toc a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
nav.toc a:hover { text-decoration: underline; }
.table-wrap { overflow-x: auto; margin: 6px 0 14px; }
table { border-collapse: collapse; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; vertical-align: top; }
th { background: #f0f3f6; font-weight: 600; border-bottom: 2px solid var(--line); }
tbody tr:nth-child(even) { background: var(--zebra); }
td.num, th.num { text-align: right; }
tr.group td { border-top: 2px solid #b9c2cc; }
td.wrap { white-space: normal; min-width: 16ch; max-width: 560px; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 7px; vertical-align: -1px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 16px; margin: 14px 0 8px; }
figure.chart-box { margin: 0; padding: 10px 12px 6px; border: 1px solid var(--line); border-radius: 8px; background: #ffffff; }
svg.chart { display: block; width: 100%; height: auto; }
aside.findings-box { font-size: 14px; padding: 12px 18px; background: #fafbfc; }
aside.findings-box h4 { margin: 2px 0 8px; font-size: 15px; }
aside.findings-box ul { padding-left: 18px; margin: 0; }
aside.findings-box li { margin: 6px 0; }
svg.chart text { font-family: inherit; }
figure.overview { margin: 10px 0 6px; max-width: 900px; }
details.fold { margin: 30px 0 0; }
details.fold > summary { cursor: pointer; list-style: none; display: flex; align-items: baseline;
  gap: 10px; border-bottom: 1px solid var(--line); padding-bottom: 6px; }
details.fold > summary::-webkit-details-marker { display: none; }
details.fold > summary::before { content: "\25B8"; color: var(--muted); width: 14px; flex: none; }
details.fold[open] > summary::before { content: "\25BE"; }
details.fold > summary > h2, details.fold > summary > h3 { margin: 0; padding: 0; border: 0; }
details.fold > summary .hint { color: var(--muted); font-size: 13px; }
details.fold[open] > summary .hint { display: none; }
@media (max-width: 900px) { main { padding: 16px 18px 48px; } th, td { padding: 4px 7px; }
  td.wrap { min-width: 11ch; } }
@media (max-width: 700px) { main { padding: 12px 14px 40px; } .charts { grid-template-columns: 1fr; } }
@media print { .charts { grid-template-columns: 1fr 1fr; } figure.chart-box { break-inside: avoid; } }
"#;

/// Inline text (the `doc` subset of Markdown) to HTML: `code`, **strong**,
/// backslash escapes; everything else escaped. Unclosed markup is closed at
/// the end so the output stays well-formed whatever the input.
pub fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut in_code = false;
    let mut in_strong = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if in_code {
            if c == '`' {
                out.push_str("</code>");
                in_code = false;
            } else {
                out.push_str(&xml(&c.to_string()));
            }
            continue;
        }
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push_str(&xml(&next.to_string()));
                }
            }
            '`' => {
                out.push_str("<code>");
                in_code = true;
            }
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str(if in_strong { "</strong>" } else { "<strong>" });
                in_strong = !in_strong;
            }
            c => out.push_str(&xml(&c.to_string())),
        }
    }
    if in_code {
        out.push_str("</code>");
    }
    if in_strong {
        out.push_str("</strong>");
    }
    out
}

pub fn render(s: &Summary, d: &Doc) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    out.push_str(&format!("<title>{}</title>\n", xml(&d.title)));
    out.push_str("<style>");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n<main>\n");
    let mut toc_done = false;
    blocks(&mut out, s, d, &d.blocks, &mut toc_done);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn heading(out: &mut String, level: u8, text: &str, id: Option<&str>) {
    let l = level.clamp(1, 6);
    match id {
        Some(id) => out.push_str(&format!(
            "<h{l} id=\"{}\">{}</h{l}>\n",
            xml(id),
            inline(text)
        )),
        None => out.push_str(&format!("<h{l}>{}</h{l}>\n", inline(text))),
    }
}

fn blocks(out: &mut String, s: &Summary, d: &Doc, bs: &[Block], toc_done: &mut bool) {
    for b in bs {
        match b {
            Block::Heading { level, text, id } => heading(out, *level, text, id.as_deref()),
            Block::Para(t) => {
                out.push_str(&format!("<p>{}</p>\n", inline(t)));
                // The section links go under the run's opening line.
                if !*toc_done {
                    toc(out, d);
                    *toc_done = true;
                }
            }
            Block::Small(t) => out.push_str(&format!("<p class=\"small\">{}</p>\n", inline(t))),
            Block::List(items) => {
                out.push_str("<ul>\n");
                for i in items {
                    out.push_str(&format!("<li>{}</li>\n", inline(i)));
                }
                out.push_str("</ul>\n");
            }
            Block::Table(t) => table(out, s, t),
            Block::Charts { workload } => charts(out, s, workload),
            Block::HeatMap(h) => {
                out.push_str("<figure class=\"chart-box overview\">");
                out.push_str(&heatmap::render(s, h));
                out.push_str("</figure>\n");
            }
            Block::Section(sec) => section(out, s, d, sec, toc_done),
        }
    }
}

/// A section: `<section>` when open, `<details>` (heading as its summary)
/// when folded. The anchor sits on the section, so a link to it lands on
/// the heading a reader clicks.
fn section(out: &mut String, s: &Summary, d: &Doc, sec: &Section, toc_done: &mut bool) {
    let id = sec
        .id
        .as_ref()
        .map(|i| format!(" id=\"{}\"", xml(i)))
        .unwrap_or_default();
    let l = sec.level.clamp(1, 6);
    if sec.folded {
        out.push_str(&format!(
            "<details class=\"fold\"{id}><summary><h{l}>{}</h{l}>\
             <span class=\"hint\">click to open</span></summary>\n",
            inline(&sec.title)
        ));
        blocks(out, s, d, &sec.blocks, toc_done);
        out.push_str("</details>\n");
    } else {
        out.push_str(&format!("<section{id}>\n"));
        heading(out, sec.level, &sec.title, None);
        blocks(out, s, d, &sec.blocks, toc_done);
        out.push_str("</section>\n");
    }
}

fn toc(out: &mut String, d: &Doc) {
    let links: Vec<String> = d
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Section(Section {
                level: 2,
                title,
                id: Some(id),
                ..
            }) => Some(format!("<a href=\"#{}\">{}</a>", xml(id), inline(title))),
            _ => None,
        })
        .collect();
    if !links.is_empty() {
        out.push_str(&format!("<nav class=\"toc\">{}</nav>\n", links.join(" ")));
    }
}

fn charts(out: &mut String, s: &Summary, workload: &str) {
    let Some(sc) = s.scenarios.iter().find(|sc| sc.name == workload) else {
        return;
    };
    out.push_str("<div class=\"charts\">\n");
    for chart in [
        charts::throughput(s, sc),
        charts::latency(s, sc),
        charts::memory(s, sc),
    ] {
        out.push_str("<figure class=\"chart-box\">");
        out.push_str(&chart);
        out.push_str("</figure>\n");
    }
    // The scenario's own findings fill the grid's fourth cell, so the
    // summary sits next to the charts it summarises.
    let mine: Vec<_> = findings::findings(s)
        .into_iter()
        .filter(|f| f.workload.as_deref() == Some(workload))
        .collect();
    if !mine.is_empty() {
        out.push_str("<aside class=\"chart-box findings-box\"><h4>In short</h4><ul>\n");
        for f in mine {
            out.push_str(&format!(
                "<li><strong>{}</strong>: {}.</li>\n",
                inline(&f.topic),
                inline(&f.brief())
            ));
        }
        out.push_str("</ul></aside>\n");
    }
    out.push_str("</div>\n");
}

fn table(out: &mut String, s: &Summary, t: &Table) {
    out.push_str("<div class=\"table-wrap\"><table>\n<thead><tr>");
    for c in &t.columns {
        let class = if c.align == Align::Right {
            " class=\"num\""
        } else {
            ""
        };
        out.push_str(&format!("<th{class}>{}</th>", inline(&c.title)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let mut prev_policy: Option<&str> = None;
    for row in &t.rows {
        // A rule between policies: rows come grouped by policy, and the eye
        // should find where one ends without reading the names.
        let policy = match row.first() {
            Some(Cell::Policy(p)) => Some(p.as_str()),
            _ => None,
        };
        if policy.is_some() && prev_policy.is_some() && policy != prev_policy {
            out.push_str("<tr class=\"group\">");
        } else {
            out.push_str("<tr>");
        }
        prev_policy = policy;
        for (i, c) in t.columns.iter().enumerate() {
            let class = match (c.align, c.wrap) {
                (_, true) => " class=\"wrap\"",
                (Align::Right, _) => " class=\"num\"",
                _ => "",
            };
            let body = match row.get(i) {
                Some(Cell::Text(t)) => inline(t),
                Some(Cell::Policy(p)) => format!(
                    "<span class=\"swatch\" style=\"background:{}\"></span>{}",
                    s.colour(p),
                    xml(p)
                ),
                None => String::new(),
            };
            out.push_str(&format!("<td{class}>{body}</td>"));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markup() {
        assert_eq!(
            inline("**Winner**: `gil` a\\*b <x>"),
            "<strong>Winner</strong>: <code>gil</code> a*b &lt;x&gt;"
        );
        assert_eq!(inline("`open"), "<code>open</code>");
        assert_eq!(inline("**open"), "<strong>open</strong>");
    }
}
