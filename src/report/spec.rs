//! Table specs: one list of columns per table, each a title, the value of a
//! row (a run, a configuration, a finding) and how to write that value.
//!
//! Markdown and HTML get a [`Table`] of formatted cells from [`Spec::table`];
//! CSV gets raw fields from [`Spec::raw`]. Both walk the same column list, so
//! a column and its cells cannot drift apart, and a figure is written the same
//! way in every table: a [`Value`] knows its [`Unit`], and a ratio is written
//! by `format::estimate` (its interval included, once ratios have one) in
//! reports and as three CSV fields (`x`, `x_low`, `x_high`) in CSV.

use super::doc::{code, esc, Cell, Column as DocColumn, Table};
use super::estimate::Ratio;
use super::format;

/// How a number is written in a report (CSV writes the raw number, in the
/// unit the results file uses: ops/s, ns, bytes, shares in 0..1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Operations per second or any rate: `1.82 M`.
    Si,
    /// A count of events: exact below 10 000.
    Count,
    Ns,
    /// IEC units: `3.00 MiB`.
    Bytes,
    /// A small size in whole bytes (object headers): `16 B`.
    WholeBytes,
    /// A multiple: `1.92x`.
    Times,
    /// A share with one decimal: `12.5%`.
    Pct,
    /// A share in whole percent: `91%`.
    Pct0,
    Seconds,
    /// A sampling rate: `1 in 64`.
    OneIn,
}

fn whole_bytes(v: f64) -> String {
    format!("{v:.0} B")
}

fn seconds(v: f64) -> String {
    format!("{v:.3} s")
}

fn one_in(v: f64) -> String {
    format!("1 in {}", format::count(v))
}

impl Unit {
    /// The writer of this unit (a function, so a [`Ratio`] can pass it on to
    /// `format::estimate` for its bounds).
    pub fn writer(self) -> fn(f64) -> String {
        match self {
            Unit::Si => format::si,
            Unit::Count => format::count,
            Unit::Ns => format::ns,
            Unit::Bytes => format::bytes,
            Unit::WholeBytes => whole_bytes,
            Unit::Times => format::ratio,
            Unit::Pct => format::pct,
            Unit::Pct0 => format::pct0,
            Unit::Seconds => seconds,
            Unit::OneIn => one_in,
        }
    }
}

const DASH: &str = "—";

/// The value of one cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// No figure: `—` in a report, an empty CSV field.
    Missing,
    /// The figure does not apply here (time to safepoint under `gil`):
    /// `n/a` in a report, an empty CSV field.
    NotApplicable,
    /// Every repeat failed: **failed** in a report.
    Failed,
    /// Plain text (data from a results file): escaped in a report.
    Text(String),
    /// A name: inline code in a report.
    Code(String),
    /// Inline markup composed by the report (the `doc` subset of Markdown).
    Markup(String),
    /// A policy name: HTML adds the policy's colour swatch.
    Policy(String),
    Int(u64),
    Num(f64, Unit),
    /// min..max of a figure.
    Range(f64, f64, Unit),
    Ratio(Ratio, Unit),
    Bool(bool),
}

impl Value {
    /// A figure where there is one.
    pub fn num(v: Option<f64>, unit: Unit) -> Value {
        v.map_or(Value::Missing, |v| Value::Num(v, unit))
    }

    /// A ratio where there is one.
    pub fn ratio(r: Option<Ratio>, unit: Unit) -> Value {
        r.map_or(Value::Missing, |r| Value::Ratio(r, unit))
    }

    /// The cell of a Markdown or HTML table.
    pub fn cell(&self) -> Cell {
        let t = match self {
            Value::Missing => DASH.into(),
            Value::NotApplicable => "n/a".into(),
            Value::Failed => "**failed**".into(),
            Value::Text(s) => esc(s),
            Value::Code(s) => code(s),
            Value::Markup(s) => s.clone(),
            Value::Policy(p) => return Cell::Policy(p.clone()),
            Value::Int(i) => i.to_string(),
            Value::Num(v, u) => u.writer()(*v),
            Value::Range(lo, hi, u) => format!("{}..{}", u.writer()(*lo), u.writer()(*hi)),
            Value::Ratio(r, u) => format::estimate(r, u.writer()),
            Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        };
        Cell::Text(t)
    }

    /// The raw CSV fields of this value in a column of `kind`: as many as
    /// [`Kind::csv_titles`] names, numbers unformatted.
    pub fn raw(&self, kind: Kind) -> Vec<String> {
        let mut v = match self {
            Value::Missing | Value::NotApplicable => vec![],
            Value::Failed => vec!["failed".into()],
            Value::Text(s) | Value::Code(s) | Value::Policy(s) => vec![s.clone()],
            Value::Markup(s) => vec![plain(s)],
            Value::Int(i) => vec![i.to_string()],
            Value::Num(x, _) => vec![x.to_string()],
            Value::Range(lo, hi, _) => vec![lo.to_string(), hi.to_string()],
            Value::Ratio(r, _) => {
                let (lo, hi) = r.interval.map_or((String::new(), String::new()), |(a, b)| {
                    (a.to_string(), b.to_string())
                });
                vec![r.value.to_string(), lo, hi]
            }
            Value::Bool(b) => vec![b.to_string()],
        };
        v.resize(kind.width(), String::new());
        v
    }
}

/// Inline markup as plain text: code and strong marks dropped, escapes
/// resolved (for CSV, which has no markup).
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '`' | '*' => {}
            c => out.push(c),
        }
    }
    out
}

/// What a column holds: decides its alignment in a report and its fields in
/// CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Names and short text, left-aligned.
    Text,
    /// Long free text (error messages, sentences): may wrap in HTML.
    Wrap,
    /// A figure, right-aligned.
    Num,
    /// A ratio: in CSV, the value and its interval's bounds.
    Ratio,
    /// min..max: in CSV, two fields.
    Range,
}

impl Kind {
    fn width(self) -> usize {
        match self {
            Kind::Ratio => 3,
            Kind::Range => 2,
            _ => 1,
        }
    }

    /// The CSV header fields of a column titled `title`.
    pub fn csv_titles(self, title: &str) -> Vec<String> {
        match self {
            Kind::Ratio => vec![
                title.to_string(),
                format!("{title}_low"),
                format!("{title}_high"),
            ],
            Kind::Range => vec![format!("{title}_min"), format!("{title}_max")],
            _ => vec![title.to_string()],
        }
    }
}

type Getter<'a, R> = Box<dyn Fn(&R) -> Value + 'a>;
type Condition<'a, R> = Box<dyn Fn(&[R]) -> bool + 'a>;

enum Shown<'a, R> {
    Always,
    /// Only where some row has a value (not missing, not n/a).
    WithValues,
    When(Condition<'a, R>),
}

/// One column: title, value of a row, kind.
pub struct Column<'a, R> {
    pub title: String,
    pub kind: Kind,
    value: Getter<'a, R>,
    shown: Shown<'a, R>,
}

/// A table's columns over rows of type `R`.
pub struct Spec<'a, R> {
    columns: Vec<Column<'a, R>>,
}

impl<'a, R> Default for Spec<'a, R> {
    fn default() -> Self {
        Spec {
            columns: Vec::new(),
        }
    }
}

impl<'a, R> Spec<'a, R> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a column.
    pub fn col(
        mut self,
        kind: Kind,
        title: impl Into<String>,
        value: impl Fn(&R) -> Value + 'a,
    ) -> Self {
        self.columns.push(Column {
            title: title.into(),
            kind,
            value: Box::new(value),
            shown: Shown::Always,
        });
        self
    }

    pub fn text(self, title: impl Into<String>, value: impl Fn(&R) -> Value + 'a) -> Self {
        self.col(Kind::Text, title, value)
    }

    pub fn wrap(self, title: impl Into<String>, value: impl Fn(&R) -> Value + 'a) -> Self {
        self.col(Kind::Wrap, title, value)
    }

    pub fn num(self, title: impl Into<String>, value: impl Fn(&R) -> Value + 'a) -> Self {
        self.col(Kind::Num, title, value)
    }

    pub fn ratio(self, title: impl Into<String>, value: impl Fn(&R) -> Value + 'a) -> Self {
        self.col(Kind::Ratio, title, value)
    }

    pub fn range(self, title: impl Into<String>, value: impl Fn(&R) -> Value + 'a) -> Self {
        self.col(Kind::Range, title, value)
    }

    /// The column added last appears in a report only where some row has a
    /// value for it.
    pub fn optional(mut self) -> Self {
        if let Some(c) = self.columns.last_mut() {
            c.shown = Shown::WithValues;
        }
        self
    }

    /// The column added last appears in a report only when `cond` holds for
    /// the rows (the collector mode, where modes differ).
    pub fn only_if(mut self, cond: impl Fn(&[R]) -> bool + 'a) -> Self {
        if let Some(c) = self.columns.last_mut() {
            c.shown = Shown::When(Box::new(cond));
        }
        self
    }

    fn visible(&self, rows: &[R]) -> Vec<&Column<'a, R>> {
        self.columns
            .iter()
            .filter(|c| match &c.shown {
                Shown::Always => true,
                Shown::WithValues => rows
                    .iter()
                    .any(|r| !matches!((c.value)(r), Value::Missing | Value::NotApplicable)),
                Shown::When(cond) => cond(rows),
            })
            .collect()
    }

    /// The table for a report: the columns shown for these rows, every cell
    /// formatted.
    pub fn table(&self, rows: &[R]) -> Table {
        let cols = self.visible(rows);
        Table {
            columns: cols
                .iter()
                .map(|c| match c.kind {
                    Kind::Text => DocColumn::text(&c.title),
                    Kind::Wrap => DocColumn::wrap(&c.title),
                    Kind::Num | Kind::Ratio | Kind::Range => DocColumn::num(&c.title),
                })
                .collect(),
            rows: rows
                .iter()
                .map(|r| cols.iter().map(|c| (c.value)(r).cell()).collect())
                .collect(),
        }
    }

    /// Header and rows of raw fields for CSV: every column, whatever the
    /// data (a file's columns must not depend on what it holds).
    pub fn raw(&self, rows: &[R]) -> (Vec<String>, Vec<Vec<String>>) {
        let header = self
            .columns
            .iter()
            .flat_map(|c| c.kind.csv_titles(&c.title))
            .collect();
        let body = rows
            .iter()
            .map(|r| {
                self.columns
                    .iter()
                    .flat_map(|c| (c.value)(r).raw(c.kind))
                    .collect()
            })
            .collect();
        (header, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>() -> Spec<'a, (u64, Option<f64>, Option<Ratio>)> {
        Spec::new()
            .text("name", |r: &(u64, Option<f64>, Option<Ratio>)| {
                Value::Code(format!("n{}", r.0))
            })
            .num("rate", |r| Value::num(r.1, Unit::Si))
            .ratio("vs", |r| Value::ratio(r.2, Unit::Times))
            .optional()
    }

    #[test]
    fn cells_and_fields_come_from_one_column_list() {
        let rows = [
            (1, Some(1.82e6), Some(Ratio::point(1.9158))),
            (2, None, Some(Ratio::with_interval(0.9, 0.8, 1.01))),
        ];
        let t = spec().table(&rows);
        assert_eq!(t.columns.len(), 3);
        let text = |c: &Cell| match c {
            Cell::Text(t) => t.clone(),
            Cell::Policy(p) => p.clone(),
        };
        let cells: Vec<Vec<String>> = t
            .rows
            .iter()
            .map(|r| r.iter().map(text).collect())
            .collect();
        assert_eq!(cells[0], ["`n1`", "1.82 M", "1.92x"]);
        assert_eq!(cells[1], ["`n2`", "—", "0.90x [0.80x, 1.01x]"]);
        let (header, body) = spec().raw(&rows);
        assert_eq!(header, ["name", "rate", "vs", "vs_low", "vs_high"]);
        assert_eq!(body[0], ["n1", "1820000", "1.9158", "", ""]);
        assert_eq!(body[1], ["n2", "", "0.9", "0.8", "1.01"]);
    }

    #[test]
    fn optional_columns_hide_without_values_but_stay_in_csv() {
        let rows = [(1, Some(1.0), None)];
        let t = spec().table(&rows);
        assert_eq!(t.columns.len(), 2, "the empty ratio column is hidden");
        assert_eq!(spec().raw(&rows).0.len(), 5, "CSV keeps every column");
        assert_eq!(plain("`a\\*b` **c**"), "a*b c");
        assert_eq!(Value::Failed.cell(), Cell::Text("**failed**".into()));
    }
}
