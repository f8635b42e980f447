//! Scenario files (`workloads/*.toml`): the schema and its validation.
//!
//! A scenario names a *driver* (the program shape) and gives it numbers: the
//! run length, the latency sampling rate, the interpreter work dial, the
//! operation mix (for the `mix` driver), object sizes, sharing, and a few
//! driver parameters. Adding a scenario needs no Rust: a new operation mix
//! is a new file for the `mix` driver.
//!
//! Every file is validated: malformed TOML, unknown keys, wrong types and
//! out-of-range values are errors that name the file, the line, the field and
//! the allowed range.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The program shapes the runner knows.
pub const DRIVERS: &[(&str, &str)] = &[
    (
        "mix",
        "a weighted mix of heap operations on a per-thread working set (and shared objects)",
    ),
    (
        "producer-consumer",
        "producers build objects, hand them through channels, consumers drop them",
    ),
    (
        "binary-trees",
        "the Benchmarks Game program: build, check and free complete binary trees",
    ),
    (
        "mixed-server",
        "requests build dict-like structures, read a shared cache, do interpreter and I/O work",
    ),
    (
        "convoy",
        "one thread sleeps 1 ms and wakes to do a little work, beside CPU-bound threads",
    ),
];

/// The operations of the `mix` driver (keys of `[mix]`).
pub const OPS: &[(&str, &str)] = &[
    (
        "alloc_leaf",
        "allocate a leaf (int/str/bytes) of a size from [sizes]; keep it in the working set",
    ),
    ("alloc_tuple", "allocate a tuple of 1-3 working-set objects"),
    ("alloc_list", "allocate an empty list"),
    (
        "append",
        "append a working-set object to a working-set list",
    ),
    ("get", "read an item of a working-set container"),
    ("set", "replace an item of a working-set list"),
    ("pop", "pop the last item of a working-set list"),
    ("drop", "drop a working-set object"),
    (
        "read_shared",
        "read an item of a shared tuple (increfs and decrefs shared objects)",
    ),
    (
        "mutate_shared",
        "append to, replace in or pop from a shared list (its object lock)",
    ),
    (
        "make_cycle",
        "build a cycle of containers and drop it (garbage only the collector frees)",
    ),
    ("collect", "an explicit full collection"),
];

/// A scenario error: names the file, the line, the field and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// A parsed, validated scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub driver: Spanned<String>,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub run: RunSpec,
    #[serde(default)]
    pub work: WorkSpec,
    #[serde(default)]
    pub mix: MixSpec,
    #[serde(default)]
    pub sizes: SizeSpec,
    #[serde(default)]
    pub sharing: SharingSpec,
    #[serde(default)]
    pub params: Params,
    /// Where it was read from.
    #[serde(skip)]
    pub file: String,
}

fn default_seed() -> u64 {
    0x5eed
}

/// How long a configuration runs.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Measured seconds (overridden by `--duration`).
    pub duration_secs: Option<Spanned<f64>>,
    /// Or a fixed number of operations per thread.
    pub ops_per_thread: Option<Spanned<u64>>,
    /// Warm-up before measuring, discarded.
    pub warmup_secs: Option<Spanned<f64>>,
    /// One operation in this many is timed.
    pub sample_every: Option<Spanned<u64>>,
}

/// The interpreter work dial, in nanoseconds of calibrated spin per step.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WorkSpec {
    /// Work done holding the interpreter ("bytecode": serialised under `gil`).
    pub bytecode_ns: Option<Spanned<u64>>,
    /// Work done inside `allow_threads` ("native / I-O": parallel everywhere).
    pub native_ns: Option<Spanned<u64>>,
}

/// Weights of the `mix` driver's operations.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MixSpec {
    pub alloc_leaf: Option<Spanned<u32>>,
    pub alloc_tuple: Option<Spanned<u32>>,
    pub alloc_list: Option<Spanned<u32>>,
    pub append: Option<Spanned<u32>>,
    pub get: Option<Spanned<u32>>,
    pub set: Option<Spanned<u32>>,
    pub pop: Option<Spanned<u32>>,
    pub drop: Option<Spanned<u32>>,
    pub read_shared: Option<Spanned<u32>>,
    pub mutate_shared: Option<Spanned<u32>>,
    pub make_cycle: Option<Spanned<u32>>,
    pub collect: Option<Spanned<u32>>,
}

/// Leaf payload sizes: `[[bytes, weight], ...]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeSpec {
    pub leaf: Spanned<Vec<(u64, u32)>>,
}

impl Default for SizeSpec {
    fn default() -> Self {
        // CPython's typical mix: most objects under 64 bytes.
        SizeSpec {
            leaf: Spanned::new(
                0..0,
                vec![
                    (8, 35),
                    (16, 20),
                    (24, 15),
                    (40, 12),
                    (56, 8),
                    (100, 5),
                    (200, 3),
                    (400, 2),
                ],
            ),
        }
    }
}

/// What is shared between threads.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SharingSpec {
    /// Shared tuples (module globals, builtins) read by `read_shared`.
    pub shared_tuples: Option<Spanned<u64>>,
    /// Shared lists mutated by `mutate_shared`.
    pub shared_lists: Option<Spanned<u64>>,
    /// Make the shared objects immortal (PEP 683).
    #[serde(default)]
    pub immortal: bool,
}

/// Driver parameters (each driver uses some).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// `mix`: objects each thread keeps in its working set.
    pub working_set: Option<Spanned<u64>>,
    /// `mix`: longest list before appends pop.
    pub max_list_len: Option<Spanned<u64>>,
    /// `mix`: containers per cycle for `make_cycle`.
    pub cycle_len: Option<Spanned<u64>>,
    /// `binary-trees`: the program's argument n.
    pub depth: Option<Spanned<u64>>,
    /// `producer-consumer`: objects per channel message.
    pub batch: Option<Spanned<u64>>,
    /// `convoy`: the sleeper's sleep, microseconds.
    pub sleep_us: Option<Spanned<u64>>,
    /// `mixed-server`: entries per request structure.
    pub request_entries: Option<Spanned<u64>>,
}

fn line_of(text: &str, offset: usize) -> usize {
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

/// Limits that keep a scenario meaningful on one machine.
pub const MAX_DURATION_SECS: f64 = 3600.0;
pub const MAX_WARMUP_SECS: f64 = 600.0;
pub const MAX_WORK_NS: u64 = 10_000_000;

impl Scenario {
    /// Parses and validates a scenario from text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        let mut s: Scenario = toml::from_str(text).map_err(|e| {
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
        })?;
        s.file = file.to_string();
        s.validate(text)?;
        Ok(s)
    }

    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: file.clone(),
            line: None,
            message: format!("cannot read the scenario file: {e}"),
        })?;
        Scenario::parse(&text, &file)
    }

    fn validate(&self, text: &str) -> Result<(), ScenarioError> {
        let c = Checker {
            file: &self.file,
            text,
        };
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            return c.err(
                None,
                format!("name = {:?}: use letters, digits, '-' and '_'", self.name),
            );
        }
        let driver = self.driver.get_ref().as_str();
        if !DRIVERS.iter().any(|(d, _)| *d == driver) {
            let known: Vec<_> = DRIVERS.iter().map(|(d, _)| *d).collect();
            return c.err(
                Some(self.driver.span()),
                format!(
                    "driver = {driver:?} is not a driver: allowed {}",
                    known.join(", ")
                ),
            );
        }
        if let Some(d) = &self.run.duration_secs {
            let x = *d.get_ref();
            if !(x > 0.0 && x <= MAX_DURATION_SECS) {
                return c.err(
                    Some(d.span()),
                    format!("run.duration_secs = {x} is out of range: allowed 0 < seconds <= {MAX_DURATION_SECS}"),
                );
            }
        }
        if let Some(d) = &self.run.warmup_secs {
            let x = *d.get_ref();
            if !(0.0..=MAX_WARMUP_SECS).contains(&x) {
                return c.err(
                    Some(d.span()),
                    format!("run.warmup_secs = {x} is out of range: allowed 0..={MAX_WARMUP_SECS} seconds"),
                );
            }
        }
        if self.run.duration_secs.is_some() && self.run.ops_per_thread.is_some() {
            return c.err(
                self.run.ops_per_thread.as_ref().map(|s| s.span()),
                "run.duration_secs and run.ops_per_thread are exclusive: give one".into(),
            );
        }
        c.range_u64(
            "run.ops_per_thread",
            &self.run.ops_per_thread,
            1,
            10_000_000_000,
            " operations",
        )?;
        c.range_u64(
            "run.sample_every",
            &self.run.sample_every,
            1,
            1_000_000,
            " operations",
        )?;
        c.range_u64(
            "work.bytecode_ns",
            &self.work.bytecode_ns,
            0,
            MAX_WORK_NS,
            " ns",
        )?;
        c.range_u64(
            "work.native_ns",
            &self.work.native_ns,
            0,
            MAX_WORK_NS,
            " ns",
        )?;
        let sizes = self.sizes.leaf.get_ref();
        if sizes.is_empty() || sizes.iter().all(|(_, w)| *w == 0) {
            return c.err(
                Some(self.sizes.leaf.span()),
                "sizes.leaf needs at least one [bytes, weight] with weight > 0".into(),
            );
        }
        if let Some((b, _)) = sizes.iter().find(|(b, _)| *b > 1_000_000) {
            return c.err(
                Some(self.sizes.leaf.span()),
                format!("sizes.leaf has a size of {b} bytes: allowed 0..=1000000"),
            );
        }
        c.range_u64(
            "sharing.shared_tuples",
            &self.sharing.shared_tuples,
            0,
            1_000_000,
            "",
        )?;
        c.range_u64(
            "sharing.shared_lists",
            &self.sharing.shared_lists,
            0,
            10_000,
            "",
        )?;
        let p = &self.params;
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
        c.range_u64("params.depth", &p.depth, 4, 24, "")?;
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
        let used: &[&str] = match driver {
            "mix" => &["working_set", "max_list_len", "cycle_len"],
            "producer-consumer" => &["batch"],
            "binary-trees" => &["depth"],
            "mixed-server" => &["request_entries"],
            "convoy" => &["sleep_us"],
            _ => &[],
        };
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
                            "params.{name} is not used by driver {driver:?} (it uses: {})",
                            used.join(", ")
                        ),
                    );
                }
            }
        }
        if driver == "mix" && self.weights().iter().all(|(_, w)| *w == 0) {
            return c.err(
                None,
                "driver \"mix\" needs a [mix] table with at least one weight > 0".into(),
            );
        }
        if driver != "mix" && self.weights().iter().any(|(_, w)| *w > 0) {
            return c.err(
                None,
                format!("[mix] weights are only used by driver \"mix\", not {driver:?}"),
            );
        }
        Ok(())
    }

    pub fn driver(&self) -> &str {
        self.driver.get_ref()
    }

    /// The `[mix]` weights, in `OPS` order.
    pub fn weights(&self) -> Vec<(&'static str, u32)> {
        let m = &self.mix;
        let v = [
            &m.alloc_leaf,
            &m.alloc_tuple,
            &m.alloc_list,
            &m.append,
            &m.get,
            &m.set,
            &m.pop,
            &m.drop,
            &m.read_shared,
            &m.mutate_shared,
            &m.make_cycle,
            &m.collect,
        ];
        OPS.iter()
            .zip(v)
            .map(|((n, _), w)| (*n, w.as_ref().map(|s| *s.get_ref()).unwrap_or(0)))
            .collect()
    }

    pub fn duration_secs(&self) -> Option<f64> {
        self.run.duration_secs.as_ref().map(|s| *s.get_ref())
    }
    pub fn ops_per_thread(&self) -> Option<u64> {
        self.run.ops_per_thread.as_ref().map(|s| *s.get_ref())
    }
    pub fn warmup_secs(&self) -> f64 {
        self.run
            .warmup_secs
            .as_ref()
            .map(|s| *s.get_ref())
            .unwrap_or(0.1)
    }
    pub fn sample_every(&self) -> u64 {
        self.run
            .sample_every
            .as_ref()
            .map(|s| *s.get_ref())
            .unwrap_or(64)
    }
    pub fn bytecode_ns(&self) -> u64 {
        self.work
            .bytecode_ns
            .as_ref()
            .map(|s| *s.get_ref())
            .unwrap_or(0)
    }
    pub fn native_ns(&self) -> u64 {
        self.work
            .native_ns
            .as_ref()
            .map(|s| *s.get_ref())
            .unwrap_or(0)
    }
    pub fn param(&self, v: &Option<Spanned<u64>>, default: u64) -> u64 {
        v.as_ref().map(|s| *s.get_ref()).unwrap_or(default)
    }
    pub fn shared_tuples(&self) -> u64 {
        self.param(&self.sharing.shared_tuples, 0)
    }
    pub fn shared_lists(&self) -> u64 {
        self.param(&self.sharing.shared_lists, 0)
    }

    /// The role whose latency is this scenario's headline, and all roles.
    pub fn roles(&self) -> (Option<&'static str>, &'static [&'static str]) {
        match self.driver() {
            "convoy" => (Some("sleeper"), &["sleeper", "cpu"]),
            "producer-consumer" => (None, &["producer", "consumer"]),
            "mixed-server" => (Some("request"), &["request"]),
            _ => (None, &[]),
        }
    }
}

/// The scenario files of a directory, sorted by name.
pub fn catalogue(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    let rd = std::fs::read_dir(dir).map_err(|e| ScenarioError {
        file: dir.display().to_string(),
        line: None,
        message: format!("cannot read the workloads directory: {e}"),
    })?;
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut out: Vec<Scenario> = Vec::new();
    for p in paths {
        let s = Scenario::load(&p)?;
        if let Some(prev) = out.iter().find(|o| o.name == s.name) {
            return Err(ScenarioError {
                file: s.file.clone(),
                line: None,
                message: format!("name {:?} is already used by {}", s.name, prev.file),
            });
        }
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
name = "t"
description = "a test"
driver = "mix"
[run]
duration_secs = 1.0
[mix]
alloc_leaf = 10
drop = 10
"#;

    #[test]
    fn parses_a_good_file() {
        let s = Scenario::parse(OK, "t.toml").unwrap();
        assert_eq!(s.driver(), "mix");
        assert_eq!(s.weights()[0], ("alloc_leaf", 10));
    }

    #[test]
    fn errors_name_file_line_field_and_range() {
        let bad = OK.replace("duration_secs = 1.0", "duration_secs = 0.0");
        let e = Scenario::parse(&bad, "w/x.toml").unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        let msg = e.to_string();
        assert!(msg.starts_with("w/x.toml:6:"), "{msg}");
        assert!(
            msg.contains("run.duration_secs") && msg.contains("allowed"),
            "{msg}"
        );

        let years = OK.replace("duration_secs = 1.0", "duration_secs = 31536000.0");
        assert!(Scenario::parse(&years, "x")
            .unwrap_err()
            .to_string()
            .contains("<= 3600"));

        let unknown = OK.replace("drop = 10", "drop = 10\nteleport = 3");
        let e = Scenario::parse(&unknown, "x.toml").unwrap_err();
        assert!(e.to_string().contains("teleport"), "{e}");
        assert_eq!(e.line, Some(10));

        let wrong_type = OK.replace("drop = 10", "drop = \"lots\"");
        let e = Scenario::parse(&wrong_type, "x.toml").unwrap_err();
        assert!(e.line.is_some(), "{e}");

        let malformed = OK.replace("[mix]", "[mix");
        assert!(Scenario::parse(&malformed, "x.toml").is_err());

        let driver = OK.replace("\"mix\"", "\"teleporter\"");
        assert!(Scenario::parse(&driver, "x.toml")
            .unwrap_err()
            .to_string()
            .contains("allowed mix"));

        let param = OK.replace("[mix]", "[params]\ndepth = 10\n[mix]");
        assert!(Scenario::parse(&param, "x.toml")
            .unwrap_err()
            .to_string()
            .contains("not used by driver"));
    }
}
