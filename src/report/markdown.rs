//! Renders the report [`Doc`] as GitHub-flavoured Markdown (`report.md`).
//!
//! Inline text is already Markdown (see `doc`), so this only lays out blocks
//! and tables. Charts have no Markdown form: the scenario points to
//! `report.html` instead; the overview heat map becomes its table. Folded
//! sections are shown in full (Markdown cannot fold).

use super::doc::{Align, Block, Cell, Doc, Table};

pub fn render(d: &Doc) -> String {
    let mut out = String::new();
    blocks(&mut out, &d.blocks);
    // One trailing newline, as editors and `git diff` expect.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn blocks(out: &mut String, bs: &[Block]) {
    for b in bs {
        match b {
            Block::Heading { level, text, .. } => heading(out, *level, text),
            Block::Para(t) => {
                out.push_str(t);
                out.push_str("\n\n");
            }
            Block::Small(t) => {
                out.push_str(&format!("*{t}*\n\n"));
            }
            Block::List(items) => {
                for i in items {
                    out.push_str("- ");
                    out.push_str(i);
                    out.push('\n');
                }
                out.push('\n');
            }
            Block::Table(t) => table(out, t),
            Block::Charts { .. } => {
                out.push_str("Charts: see `report.html`.\n\n");
            }
            Block::HeatMap(h) => table(out, &h.table()),
            Block::Section(s) => {
                heading(out, s.level, &s.title);
                blocks(out, &s.blocks);
            }
        }
    }
}

fn heading(out: &mut String, level: u8, text: &str) {
    out.push_str(&"#".repeat(level.clamp(1, 6) as usize));
    out.push(' ');
    out.push_str(text);
    out.push_str("\n\n");
}

fn cell(c: &Cell) -> &str {
    match c {
        Cell::Text(t) => t,
        Cell::Policy(p) => p,
    }
}

fn table(out: &mut String, t: &Table) {
    let n = t.columns.len();
    // Pad to the widest cell so the source reads as a table too.
    let mut widths: Vec<usize> = t.columns.iter().map(|c| c.title.chars().count()).collect();
    for row in &t.rows {
        for (i, c) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(cell(c).chars().count());
        }
    }
    for w in &mut widths {
        *w = (*w).max(3);
    }
    let pad = |s: &str, w: usize, a: Align| {
        let fill = w.saturating_sub(s.chars().count());
        match a {
            Align::Left => format!("{s}{}", " ".repeat(fill)),
            Align::Right => format!("{}{s}", " ".repeat(fill)),
        }
    };
    out.push('|');
    for (c, &w) in t.columns.iter().zip(&widths) {
        out.push_str(&format!(" {} |", pad(&c.title, w, c.align)));
    }
    out.push_str("\n|");
    for (c, &w) in t.columns.iter().zip(&widths) {
        match c.align {
            Align::Left => out.push_str(&format!(" {} |", "-".repeat(w))),
            Align::Right => out.push_str(&format!(" {}: |", "-".repeat(w - 1))),
        }
    }
    out.push('\n');
    for row in &t.rows {
        out.push('|');
        for (i, (c, &w)) in t.columns.iter().zip(&widths).enumerate() {
            let s = row.get(i).map(cell).unwrap_or("");
            out.push_str(&format!(" {} |", pad(s, w, c.align)));
        }
        out.push('\n');
    }
    out.push('\n');
}
