//! Parsing a scenario's text ([`Scenario::parse`]) and validating it: every number in its range, every list
//! and string within its length, every parameter used by its driver. Each
//! error names the file, the line, the field and what is allowed.

use super::scenario::{
    Driver, Scenario, ScenarioError, MAX_DESCRIPTION_CHARS, MAX_DURATION_SECS, MAX_FILE_BYTES,
    MAX_LEAF_SIZES, MAX_NAME_CHARS, MAX_TREE_DEPTH, MAX_WARMUP_SECS, MAX_WORK_NS,
    MIN_DURATION_SECS, MIN_TREE_DEPTH,
};
use serde::Deserialize;
use toml::Spanned;

impl Scenario {
    /// Parses and validates a scenario from text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        if text.len() > MAX_FILE_BYTES {
            return Err(ScenarioError {
                file: file.to_string(),
                line: None,
                message: format!(
                    "the file is {} bytes: allowed at most {MAX_FILE_BYTES} bytes",
                    text.len()
                ),
            });
        }
        let toml_error = |e: toml::de::Error| {
            let line = e.span().map(|sp| line_of(text, sp.start));
            let mut message = e.message().trim().replace('\n', "; ");
            if message.is_empty() {
                // toml says nothing for some syntax errors (a control
                // character in a comment): name what stands there instead.
                message = unexplained_syntax_error(text, e.span());
            }
            ScenarioError {
                file: file.to_string(),
                line,
                message,
            }
        };
        let mut s: Scenario = toml::from_str(text).map_err(toml_error)?;
        // The same text again, for the places of the fields that the schema
        // keeps as plain values (cheap: the file is at most 64 KiB).
        let places: Places = toml::from_str(text).map_err(toml_error)?;
        s.file = file.to_string();
        s.text_hash = crate::results::fnv1a64(text);
        validate(&s, text, &places)?;
        Ok(s)
    }
}

/// Where the fields that [`Scenario`] keeps as plain values stand in the
/// text, so that their errors name a line too.
#[derive(Deserialize)]
pub(super) struct Places {
    pub name: Spanned<String>,
    pub description: Spanned<String>,
    pub mix: Option<Spanned<toml::Table>>,
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// The message for a TOML syntax error that toml leaves without one: the
/// character at the error and its column (the line is the error's own).
fn unexplained_syntax_error(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let at = span
        .map(|sp| sp.start)
        .filter(|&i| text.is_char_boundary(i));
    match at.and_then(|i| Some((i, text[i..].chars().next()?))) {
        Some((i, ch)) => {
            let line_start = text[..i].rfind('\n').map_or(0, |n| n + 1);
            let column = text[line_start..i].chars().count() + 1;
            format!("invalid TOML: unexpected character {ch:?} at column {column}")
        }
        None => "invalid TOML: unexpected end of the file".into(),
    }
}

struct Checker<'a> {
    file: &'a str,
    text: &'a str,
}

impl Checker<'_> {
    fn err<T>(
        &self,
        span: Option<std::ops::Range<usize>>,
        message: String,
    ) -> Result<T, ScenarioError> {
        Err(ScenarioError {
            file: self.file.to_string(),
            line: span
                .filter(|s| s.end > 0)
                .map(|s| line_of(self.text, s.start)),
            message,
        })
    }

    fn range_u64(
        &self,
        field: &str,
        v: &Option<Spanned<u64>>,
        lo: u64,
        hi: u64,
        unit: &str,
    ) -> Result<(), ScenarioError> {
        if let Some(s) = v {
            let x = *s.get_ref();
            if x < lo || x > hi {
                return self.err(
                    Some(s.span()),
                    format!("{field} = {x} is out of range: allowed {lo}..={hi}{unit}"),
                );
            }
        }
        Ok(())
    }
}

pub(super) fn validate(
    scenario: &Scenario,
    text: &str,
    places: &Places,
) -> Result<(), ScenarioError> {
    let c = Checker {
        file: &scenario.file,
        text,
    };
    let name_chars = scenario.name.chars().count();
    if scenario.name.is_empty()
        || name_chars > MAX_NAME_CHARS
        || !scenario
            .name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    {
        return c.err(
            Some(places.name.span()),
            format!(
                "name = {:?}: use 1..={MAX_NAME_CHARS} letters, digits, '-' and '_'",
                scenario.name
            ),
        );
    }
    let description_chars = scenario.description.chars().count();
    if description_chars > MAX_DESCRIPTION_CHARS || scenario.description.contains('\n') {
        return c.err(
            Some(places.description.span()),
            format!(
                "description has {description_chars} characters: allowed one line of \
                 at most {MAX_DESCRIPTION_CHARS}"
            ),
        );
    }
    let driver = scenario.driver();
    if let Some(d) = &scenario.run.duration_secs {
        let x = *d.get_ref();
        if !(MIN_DURATION_SECS..=MAX_DURATION_SECS).contains(&x) {
            return c.err(
                Some(d.span()),
                format!(
                    "run.duration_secs = {x} is out of range: allowed \
                     {MIN_DURATION_SECS}..={MAX_DURATION_SECS} seconds"
                ),
            );
        }
    }
    if let Some(d) = &scenario.run.warmup_secs {
        let x = *d.get_ref();
        if !(0.0..=MAX_WARMUP_SECS).contains(&x) {
            return c.err(
                Some(d.span()),
                format!(
                    "run.warmup_secs = {x} is out of range: allowed 0..={MAX_WARMUP_SECS} seconds"
                ),
            );
        }
    }
    if scenario.run.duration_secs.is_some() && scenario.run.ops_per_thread.is_some() {
        return c.err(
            scenario.run.ops_per_thread.as_ref().map(|s| s.span()),
            "run.duration_secs and run.ops_per_thread are exclusive: give one".into(),
        );
    }
    c.range_u64(
        "run.ops_per_thread",
        &scenario.run.ops_per_thread,
        1,
        10_000_000_000,
        " operations",
    )?;
    c.range_u64(
        "run.sample_every",
        &scenario.run.sample_every,
        1,
        1_000_000,
        " operations",
    )?;
    c.range_u64(
        "work.bytecode_ns",
        &scenario.work.bytecode_ns,
        0,
        MAX_WORK_NS,
        " ns",
    )?;
    c.range_u64(
        "work.native_ns",
        &scenario.work.native_ns,
        0,
        MAX_WORK_NS,
        " ns",
    )?;
    let sizes = scenario.sizes.leaf.get_ref();
    if sizes.len() > MAX_LEAF_SIZES {
        return c.err(
            Some(scenario.sizes.leaf.span()),
            format!(
                "sizes.leaf has {} entries: allowed 1..={MAX_LEAF_SIZES}",
                sizes.len()
            ),
        );
    }
    if sizes.is_empty() || sizes.iter().all(|(_, w)| *w == 0) {
        return c.err(
            Some(scenario.sizes.leaf.span()),
            "sizes.leaf needs at least one [bytes, weight] with weight > 0".into(),
        );
    }
    if let Some((b, _)) = sizes.iter().find(|(b, _)| *b > 1_000_000) {
        return c.err(
            Some(scenario.sizes.leaf.span()),
            format!("sizes.leaf has a size of {b} bytes: allowed 0..=1000000"),
        );
    }
    c.range_u64(
        "sharing.shared_tuples",
        &scenario.sharing.shared_tuples,
        0,
        1_000_000,
        "",
    )?;
    c.range_u64(
        "sharing.shared_lists",
        &scenario.sharing.shared_lists,
        0,
        10_000,
        "",
    )?;
    let p = &scenario.params;
    c.range_u64(
        "params.working_set",
        &p.working_set,
        1,
        1_000_000,
        " objects",
    )?;
    c.range_u64(
        "params.max_list_len",
        &p.max_list_len,
        1,
        1_000_000,
        " items",
    )?;
    c.range_u64("params.cycle_len", &p.cycle_len, 1, 10_000, " containers")?;
    c.range_u64("params.depth", &p.depth, MIN_TREE_DEPTH, MAX_TREE_DEPTH, "")?;
    c.range_u64("params.batch", &p.batch, 1, 100_000, " objects")?;
    c.range_u64(
        "params.sleep_us",
        &p.sleep_us,
        10,
        1_000_000,
        " microseconds",
    )?;
    c.range_u64(
        "params.request_entries",
        &p.request_entries,
        1,
        10_000,
        " entries",
    )?;
    // Parameters a driver does not use are mistakes, not silence.
    let used = driver.params();
    let given = [
        ("working_set", p.working_set.as_ref().map(|s| s.span())),
        ("max_list_len", p.max_list_len.as_ref().map(|s| s.span())),
        ("cycle_len", p.cycle_len.as_ref().map(|s| s.span())),
        ("depth", p.depth.as_ref().map(|s| s.span())),
        ("batch", p.batch.as_ref().map(|s| s.span())),
        ("sleep_us", p.sleep_us.as_ref().map(|s| s.span())),
        (
            "request_entries",
            p.request_entries.as_ref().map(|s| s.span()),
        ),
    ];
    for (name, span) in given {
        if let Some(span) = span {
            if !used.contains(&name) {
                return c.err(
                    Some(span),
                    format!(
                        "params.{name} is not used by driver \"{driver}\" (it uses: {})",
                        used.join(", ")
                    ),
                );
            }
        }
    }
    // The [mix] table's line where there is one, else the driver's.
    let mix_span = places
        .mix
        .as_ref()
        .map(|m| m.span())
        .unwrap_or_else(|| scenario.driver.span());
    if driver == Driver::Mix && scenario.weights().iter().all(|(_, w)| *w == 0) {
        return c.err(
            Some(mix_span),
            "driver \"mix\" needs a [mix] table with at least one weight > 0".into(),
        );
    }
    if driver != Driver::Mix && scenario.weights().iter().any(|(_, w)| *w > 0) {
        return c.err(
            Some(mix_span),
            format!("[mix] weights are only used by driver \"mix\", not \"{driver}\""),
        );
    }
    Ok(())
}
