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

pub use super::driver::Driver;
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

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
    pub driver: Spanned<Driver>,
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
    /// A hash of the file's text (`results::fnv1a64`): results record it so
    /// that `compare` can tell when a scenario changed between two runs.
    #[serde(skip)]
    pub text_hash: String,
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

/// Limits that keep a scenario meaningful on one machine.
///
/// The shortest measured window: the runner polls the phase every 5 ms and
/// a worker needs a few steps to open its window, so less than this
/// measures start-up, not the heap.
pub const MIN_DURATION_SECS: f64 = 0.01;
pub const MAX_DURATION_SECS: f64 = 3600.0;
pub const MAX_WARMUP_SECS: f64 = 600.0;
pub const MAX_WORK_NS: u64 = 10_000_000;
/// binary-trees' argument: the program's own minimum depth (4) up to a
/// depth whose trees (2^25 nodes) still fit a few GiB.
pub const MIN_TREE_DEPTH: u64 = 4;
pub const MAX_TREE_DEPTH: u64 = 24;

/// Limits on what a scenario file may make the lab hold in memory: input
/// never decides how much memory the parser or the drivers take. The file
/// itself (a scenario is a few hundred bytes; 64 KiB leaves room for
/// comments)...
pub const MAX_FILE_BYTES: usize = 64 * 1024;
/// ...the one list in the schema, `sizes.leaf` (CPython's mix needs 8)...
pub const MAX_LEAF_SIZES: usize = 64;
/// ...and the strings (a name is an identifier; a description one line of
/// `heaplab list`).
pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_DESCRIPTION_CHARS: usize = 200;

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        use std::io::Read;
        let file = path.display().to_string();
        let cannot_read = |e: std::io::Error| ScenarioError {
            file: file.clone(),
            line: None,
            message: format!("cannot read the scenario file: {e}"),
        };
        // Read one byte past the limit, never the whole of a huge file:
        // `parse` then refuses it by its length.
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes))
            .map_err(cannot_read)?;
        let text = String::from_utf8(bytes).map_err(|e| ScenarioError {
            file: file.clone(),
            line: None,
            message: format!("the file is not UTF-8 text: {e}"),
        })?;
        Scenario::parse(&text, &file)
    }

    pub fn driver(&self) -> Driver {
        *self.driver.get_ref()
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
        self.driver().roles()
    }
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
        assert_eq!(s.driver(), Driver::Mix);
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
            .contains("allowed 0.01..=3600 seconds"));

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

    #[test]
    fn a_duration_too_short_to_measure_is_refused_with_the_range() {
        let short = OK.replace("duration_secs = 1.0", "duration_secs = 1e-9");
        let e = Scenario::parse(&short, "x.toml").unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        assert!(
            e.to_string()
                .contains("run.duration_secs = 0.000000001 is out of range: allowed 0.01..=3600"),
            "{e}"
        );
        let shortest = OK.replace("duration_secs = 1.0", "duration_secs = 0.01");
        assert!(Scenario::parse(&shortest, "x.toml").is_ok());
    }

    #[test]
    fn name_and_mix_errors_carry_their_line() {
        let bad_name = OK.replace("name = \"t\"", "name = \"has space\"");
        let e = Scenario::parse(&bad_name, "x.toml").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.to_string().starts_with("x.toml:2: name = "), "{e}");

        let long_name = OK.replace("name = \"t\"", &format!("name = \"{}\"", "n".repeat(65)));
        let e = Scenario::parse(&long_name, "x.toml").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.to_string().contains("1..=64"), "{e}");

        let zero_mix = OK
            .replace("alloc_leaf = 10", "alloc_leaf = 0")
            .replace("drop = 10", "");
        let e = Scenario::parse(&zero_mix, "x.toml").unwrap_err();
        assert_eq!(e.line, Some(7), "the [mix] table's line: {e}");
        assert!(e.to_string().contains("at least one weight > 0"), "{e}");

        // No [mix] table at all: the driver's line.
        let no_mix = "name = \"t\"\ndescription = \"d\"\ndriver = \"mix\"\n";
        let e = Scenario::parse(no_mix, "x.toml").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");

        let stray = "name = \"t\"\ndescription = \"d\"\ndriver = \"convoy\"\n\n[mix]\ndrop = 1\n";
        let e = Scenario::parse(stray, "x.toml").unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.to_string().contains("only used by driver"), "{e}");
    }

    #[test]
    fn every_list_and_string_has_a_length_limit() {
        let many: Vec<String> = (0..=MAX_LEAF_SIZES).map(|i| format!("[{i}, 1]")).collect();
        let text = format!("{OK}[sizes]\nleaf = [{}]\n", many.join(", "));
        let e = Scenario::parse(&text, "x.toml").unwrap_err();
        assert_eq!(e.line, Some(11), "{e}");
        assert!(
            e.to_string()
                .contains("sizes.leaf has 65 entries: allowed 1..=64"),
            "{e}"
        );
        let fits: Vec<String> = (0..MAX_LEAF_SIZES).map(|i| format!("[{i}, 1]")).collect();
        let text = format!("{OK}[sizes]\nleaf = [{}]\n", fits.join(", "));
        assert!(Scenario::parse(&text, "x.toml").is_ok());

        let long = OK.replace("a test", &"d".repeat(MAX_DESCRIPTION_CHARS + 1));
        let e = Scenario::parse(&long, "x.toml").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.to_string().contains("at most 200"), "{e}");

        // A huge file is refused by its size before it is parsed, and
        // `load` never reads more of it than the limit.
        let huge = format!("{OK}# {}\n", "x".repeat(MAX_FILE_BYTES));
        let e = Scenario::parse(&huge, "x.toml").unwrap_err();
        assert!(e.to_string().contains("allowed at most 65536 bytes"), "{e}");
        let path = std::env::temp_dir().join(format!("heaplab-huge-{}.toml", std::process::id()));
        std::fs::write(&path, &huge).unwrap();
        let e = Scenario::load(&path).unwrap_err();
        let _ = std::fs::remove_file(&path);
        assert!(e.to_string().contains("is 65537 bytes"), "{e}");
    }
}
