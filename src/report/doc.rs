//! The report as a format-neutral document: headings, paragraphs, lists,
//! tables and chart placeholders.
//!
//! `build` produces one [`Doc`]; `markdown` and `html` only render it. That
//! is why the HTML report has exactly the tables of the Markdown one: there
//! is one source for both.
//!
//! Inline text uses a small subset of Markdown that both renderers
//! understand: `` `code` ``, `**strong**` and backslash escapes. Data from a
//! results file (error messages, names) goes through [`esc`] or [`code`] so
//! that it can never be mistaken for markup in either output.

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

#[derive(Debug, Clone)]
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
