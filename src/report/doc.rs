//! The report as a format-neutral document: sections, headings, paragraphs,
//! lists, tables, the overview heat map and chart placeholders.
//!
//! `build` produces one [`Doc`]; `markdown` and `html` only render it. That
//! is why the HTML report has exactly the tables of the Markdown one: there
//! is one source for both. A section may be *folded*: HTML shows its heading
//! and opens it on a click (`<details>`), Markdown shows it all.
//!
//! Inline text uses a small subset of Markdown that both renderers
//! understand: `` `code` ``, `**strong**` and backslash escapes. Data from a
//! results file (error messages, names) goes through [`esc`] or [`code`] so
//! that it can never be mistaken for markup in either output.

use super::estimate::Ratio;
use super::format;

/// A block of the document.
#[derive(Debug, Clone)]
pub enum Block {
    /// `id` is the HTML anchor of section headings.
    Heading {
        level: u8,
        text: String,
        id: Option<String>,
    },
    Para(String),
    /// A paragraph of secondary text (definitions under a table).
    Small(String),
    List(Vec<String>),
    Table(Table),
    /// The charts of one scenario (HTML only: Markdown has no place for
    /// them, and says where to find them).
    Charts {
        workload: String,
    },
    Section(Section),
    /// The overview: throughput relative to the baseline per scenario,
    /// policy and thread count (HTML draws it, Markdown writes its table).
    HeatMap(HeatMap),
}

/// A titled part of the document.
#[derive(Debug, Clone)]
pub struct Section {
    pub level: u8,
    pub title: String,
    /// The HTML anchor (and the table of contents' link, at level 2).
    pub id: Option<String>,
    /// Closed until the reader opens it (HTML `<details>`).
    pub folded: bool,
    pub blocks: Vec<Block>,
}

/// One cell of the heat map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Heat {
    Ratio(Ratio),
    /// The policy has no ok run at this thread count.
    Failed,
    /// The baseline has no ok run at this thread count: nothing to divide by.
    NoBaseline,
    /// The configuration did not run.
    NotRun,
}

impl Heat {
    /// The cell as inline text.
    pub fn text(&self) -> String {
        match self {
            Heat::Ratio(r) => format::times(r),
            Heat::Failed => "failed".into(),
            Heat::NoBaseline => "no baseline".into(),
            Heat::NotRun => "—".into(),
        }
    }
}

/// Throughput relative to the baseline: one row per scenario, one column per
/// (policy, threads).
#[derive(Debug, Clone)]
pub struct HeatMap {
    /// The baseline policy every cell is relative to.
    pub baseline: String,
    /// Scenario names (raw).
    pub rows: Vec<String>,
    /// (policy, threads), policies in report order, threads ascending.
    pub columns: Vec<(String, usize)>,
    /// `cells[row][column]`.
    pub cells: Vec<Vec<Heat>>,
}

impl HeatMap {
    /// The heat map as a table (Markdown's form of it).
    pub fn table(&self) -> Table {
        let mut columns = vec![Column::text("Scenario")];
        columns.extend(self.columns.iter().map(|(p, t)| {
            Column::num(&format!(
                "{}, {t} thread{}",
                code(p),
                if *t == 1 { "" } else { "s" }
            ))
        }));
        let rows = self
            .rows
            .iter()
            .zip(&self.cells)
            .map(|(name, cells)| {
                let mut row = vec![Cell::t(code(name))];
                row.extend(cells.iter().map(|c| Cell::t(c.text())));
                row
            })
            .collect();
        Table { columns, rows }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub title: String,
    pub align: Align,
    /// Long free text (error messages): may wrap in HTML.
    pub wrap: bool,
}

impl Column {
    pub fn text(title: &str) -> Column {
        Column {
            title: title.into(),
            align: Align::Left,
            wrap: false,
        }
    }
    pub fn num(title: &str) -> Column {
        Column {
            title: title.into(),
            align: Align::Right,
            wrap: false,
        }
    }
    pub fn wrap(title: &str) -> Column {
        Column {
            title: title.into(),
            align: Align::Left,
            wrap: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Inline text (see the module docs).
    Text(String),
    /// A policy name: HTML adds the policy's colour swatch.
    Policy(String),
}

impl Cell {
    pub fn t(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

#[derive(Debug, Clone)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, Default)]
pub struct Doc {
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Doc {
    pub fn h(&mut self, level: u8, text: impl Into<String>) {
        self.blocks.push(Block::Heading {
            level,
            text: text.into(),
            id: None,
        });
    }
    pub fn h_id(&mut self, level: u8, text: impl Into<String>, id: String) {
        self.blocks.push(Block::Heading {
            level,
            text: text.into(),
            id: Some(id),
        });
    }
    pub fn p(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Para(text.into()));
    }
    pub fn small(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Small(text.into()));
    }
    pub fn list(&mut self, items: Vec<String>) {
        if !items.is_empty() {
            self.blocks.push(Block::List(items));
        }
    }
    pub fn table(&mut self, t: Table) {
        self.blocks.push(Block::Table(t));
    }
    /// A section whose blocks `build` writes.
    pub fn section(
        &mut self,
        level: u8,
        title: impl Into<String>,
        id: Option<String>,
        folded: bool,
        build: impl FnOnce(&mut Doc),
    ) {
        let mut inner = Doc::default();
        build(&mut inner);
        self.blocks.push(Block::Section(Section {
            level,
            title: title.into(),
            id,
            folded,
            blocks: inner.blocks,
        }));
    }
}

/// Escapes data for inline text: markup characters get a backslash, line
/// breaks become spaces (a table row is one line in Markdown).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        // An underscore inside a word (x86_64, fetch_add) is never emphasis
        // in GFM: leave it bare so the Markdown source stays readable.
        let inside_word = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        if c == '_' && inside_word(i.checked_sub(1)) && inside_word(Some(i + 1)) {
            out.push(c);
            continue;
        }
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// A name as inline code, or escaped text if it holds a backtick or a bar
/// (which a Markdown code span inside a table cannot carry).
pub fn code(s: &str) -> String {
    if s.is_empty() || s.contains(['`', '|', '\n', '\r']) {
        esc(s)
    } else {
        format!("`{s}`")
    }
}

/// An HTML anchor for a name: lowercase letters, digits and dashes.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(esc("a|b*c\nd"), "a\\|b\\*c d");
        assert_eq!(esc("x86_64 _em_"), "x86_64 \\_em\\_");
        assert_eq!(code("biased"), "`biased`");
        assert_eq!(code("a`b"), "a\\`b");
        assert_eq!(slug("Alloc Churn/2"), "alloc-churn-2");
    }
}
