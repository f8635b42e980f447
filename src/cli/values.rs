//! The values of the command line's arguments: clap's `ValueEnum` over the
//! core's own lists (so a policy added to `PolicyName::ALL` or a driver added
//! to `Driver::ALL` appears in `--help` and the completions by itself, and
//! the core never depends on clap), and value parsers whose ranges and
//! messages are built from the lab's constants.

use clap::builder::PossibleValue;
use clap::ValueEnum;
use heaplab::policy::objlock::LockBackend;
use heaplab::policy::ListReads;
use heaplab::report::{Correction, Format};
use heaplab::workload::limits::{MAX_THREADS, MAX_THREAD_COUNTS};
use heaplab::workload::scenario::{MAX_DURATION_SECS, MAX_WARMUP_SECS, MIN_DURATION_SECS};
use heaplab::workload::Driver;
use heaplab::{GcMode, PolicyName};
use std::sync::OnceLock;

/// One policy (`trees --policy`, `micro --policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyArg(pub PolicyName);

impl ValueEnum for PolicyArg {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: OnceLock<Vec<PolicyArg>> = OnceLock::new();
        ALL.get_or_init(|| PolicyName::EVERY.into_iter().map(PolicyArg).collect())
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.as_str()).help(self.0.summary()))
    }
}

/// A policy or `all` (`run --policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicySel {
    All,
    One(PolicyName),
}

impl ValueEnum for PolicySel {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: OnceLock<Vec<PolicySel>> = OnceLock::new();
        ALL.get_or_init(|| {
            std::iter::once(PolicySel::All)
                .chain(PolicyName::EVERY.into_iter().map(PolicySel::One))
                .collect()
        })
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            PolicySel::All => PossibleValue::new("all")
                .help("the policies the lab compares (not the breakdown steps)"),
            PolicySel::One(p) => PossibleValue::new(p.as_str()).help(p.summary()),
        })
    }
}

/// The selected policies, in the order given, each once.
pub fn policies(sel: &[PolicySel]) -> Vec<PolicyName> {
    let mut out = Vec::new();
    for s in sel {
        let these = match s {
            PolicySel::All => PolicyName::ALL.to_vec(),
            PolicySel::One(p) => vec![*p],
        };
        for p in these {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// The object locks' parking table (`run --locks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocksArg(pub LockBackend);

impl ValueEnum for LocksArg {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: OnceLock<Vec<LocksArg>> = OnceLock::new();
        ALL.get_or_init(|| LockBackend::ALL.into_iter().map(LocksArg).collect())
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(match self.0 {
            LockBackend::Std => {
                "the loom-checked table of mutexes and condition variables (default)"
            }
            LockBackend::ParkingLot => "parking_lot's global parking table",
        }))
    }
}

/// A list read path (`run --list-reads`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListReadsArg(pub ListReads);

impl ValueEnum for ListReadsArg {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: OnceLock<Vec<ListReadsArg>> = OnceLock::new();
        ALL.get_or_init(|| ListReads::ALL.into_iter().map(ListReadsArg).collect())
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(match self.0 {
            ListReads::Locked => "every list get takes the list's lock",
            ListReads::Optimistic => {
                "list gets read without the lock, as free-threaded CPython (default)"
            }
        }))
    }
}

/// The policies a run measures once each read path in `reads` (in the order
/// given, each once) replaces the policies that read lists optimistically:
/// `biased` with `locked,optimistic` runs `biased+locked-reads` and
/// `biased`. Refused where `locked` is asked for and no policy has
/// optimistic reads to replace.
pub fn with_list_reads(
    policies: &[PolicyName],
    reads: &[ListReadsArg],
) -> Result<(Vec<PolicyName>, Vec<ListReads>), String> {
    let mut paths: Vec<ListReads> = Vec::new();
    for r in reads {
        if !paths.contains(&r.0) {
            paths.push(r.0);
        }
    }
    if paths.contains(&ListReads::Locked) && !policies.iter().any(|p| p.optimistic_reads()) {
        let names: Vec<String> = policies.iter().map(|p| p.to_string()).collect();
        return Err(format!(
            "--list-reads locked: {} {} no optimistic list reads (their every list read \
             takes the lock, or the GIL guards it), so there is no read path to choose: add \
             --policy biased, or leave --list-reads at optimistic",
            names.join(", "),
            if names.len() == 1 { "has" } else { "have" }
        ));
    }
    let mut out = Vec::new();
    for p in policies {
        for r in &paths {
            let q = r.apply(*p);
            if !out.contains(&q) {
                out.push(q);
            }
        }
    }
    Ok((out, paths))
}

/// Every collector mode of the core. `every_mode_is_listed` stops compiling
/// when the core adds a mode, so this list cannot fall behind it.
const GC_MODES: [GcMode; 2] = [GcMode::PoolWalk, GcMode::Generational];

#[allow(dead_code)] // its body is the check
const fn every_mode_is_listed(mode: GcMode) {
    match mode {
        GcMode::PoolWalk | GcMode::Generational => {}
    }
}

/// A collector mode (`run --gc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcArg(pub GcMode);

impl ValueEnum for GcArg {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: OnceLock<Vec<GcArg>> = OnceLock::new();
        ALL.get_or_init(|| GC_MODES.into_iter().map(GcArg).collect())
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let help = match self.0 {
            GcMode::PoolWalk => "walk the object pools, one generation (every policy)",
            GcMode::Generational => "linked generation lists, three generations (gil only)",
        };
        Some(PossibleValue::new(self.0.as_str()).help(help))
    }
}

/// An output format of `compare --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompareFormat(pub Format);

impl ValueEnum for CompareFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            CompareFormat(Format::Text),
            CompareFormat(Format::Markdown),
            CompareFormat(Format::Json),
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self.0 {
            Format::Text => PossibleValue::new("text").help("aligned columns for a terminal"),
            Format::Markdown => PossibleValue::new("md").help("a Markdown table"),
            Format::Json => PossibleValue::new("json").help("every figure raw, for scripts"),
        })
    }
}

/// How `compare` adjusts its p-values (`compare --correction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorrectionArg(pub Correction);

impl ValueEnum for CorrectionArg {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            CorrectionArg(Correction::Holm),
            CorrectionArg(Correction::Fdr),
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self.0 {
            Correction::Holm => {
                PossibleValue::new("holm").help("the chance of any false alarm at most 5%")
            }
            Correction::Fdr => PossibleValue::new("fdr")
                .help("at most 5% of the changes called significant are false alarms"),
        })
    }
}

/// A driver (`list --driver`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriverArg(pub Driver);

impl ValueEnum for DriverArg {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: OnceLock<Vec<DriverArg>> = OnceLock::new();
        ALL.get_or_init(|| Driver::ALL.into_iter().map(DriverArg).collect())
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.as_str()).help(self.0.summary()))
    }
}

/// `--threads`: a list of counts, or `auto`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Threads {
    /// 1, 2, ... cores, and 2 x cores.
    Auto,
    List(Vec<usize>),
}

impl Threads {
    /// The thread counts, in the order given, each once.
    pub fn counts(&self) -> Vec<usize> {
        match self {
            Threads::Auto => {
                let cores = std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
                    .min(MAX_THREADS / 2);
                let mut v: Vec<usize> = (1..=cores).collect();
                v.push(2 * cores);
                v
            }
            Threads::List(v) => v.clone(),
        }
    }
}

/// Parses `--threads`: `auto`, or up to [`MAX_THREAD_COUNTS`] counts in
/// `1..=MAX_THREADS`, comma-separated (repeats dropped).
pub fn parse_threads(text: &str) -> Result<Threads, String> {
    if text.trim() == "auto" {
        return Ok(Threads::Auto);
    }
    let mut out = Vec::new();
    for t in text.split(',').map(str::trim) {
        let n: usize = t
            .parse()
            .map_err(|_| format!("{t:?} is not a number: give a list like 1,2,4 or `auto`"))?;
        if !(1..=MAX_THREADS).contains(&n) {
            return Err(format!("{n} is out of range: allowed 1..={MAX_THREADS}"));
        }
        if !out.contains(&n) {
            out.push(n);
        }
    }
    if out.len() > MAX_THREAD_COUNTS {
        return Err(format!(
            "{} thread counts: allowed at most {MAX_THREAD_COUNTS}",
            out.len()
        ));
    }
    Ok(Threads::List(out))
}

/// Parses `--duration`: measured seconds in
/// `MIN_DURATION_SECS..=MAX_DURATION_SECS`.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let d: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(MIN_DURATION_SECS..=MAX_DURATION_SECS).contains(&d) {
        return Err(format!(
            "{d} is out of range: allowed {MIN_DURATION_SECS}..={MAX_DURATION_SECS} seconds"
        ));
    }
    Ok(d)
}

/// Parses `--gc-growth`: the tracing collector's trigger factor, a finite
/// number above 0 (at most 1000: a heap a thousand times its live bytes).
pub fn parse_gc_growth(text: &str) -> Result<f64, String> {
    let g: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if !(g.is_finite() && g > 0.0 && g <= 1000.0) {
        return Err(format!(
            "{text:?} is out of range: a finite factor above 0 and at most 1000"
        ));
    }
    Ok(g)
}

/// Parses `--nursery`: bytes, or a number with K, M or G (binary units),
/// a multiple of 16 in the nursery's range (64K to 1G).
pub fn parse_nursery(text: &str) -> Result<usize, String> {
    use heaplab::heap::trace::nursery::{MAX_NURSERY, MIN_NURSERY};
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let not_size =
        || format!("{text:?} is not a size: give bytes or a number with K, M or G (e.g. 4M)");
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(not_size()),
    };
    let n: usize = number.parse().map_err(|_| not_size())?;
    let bytes = n.saturating_mul(1 << shift);
    if !(MIN_NURSERY..=MAX_NURSERY).contains(&bytes) || !bytes.is_multiple_of(16) {
        return Err(format!(
            "{text:?} is out of range: a nursery is a multiple of 16 bytes from {MIN_NURSERY} (64K) to {MAX_NURSERY} (1G)"
        ));
    }
    Ok(bytes)
}

/// Parses `--warmup`: seconds in `0..=MAX_WARMUP_SECS`.
pub fn parse_warmup(text: &str) -> Result<f64, String> {
    let w: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(0.0..=MAX_WARMUP_SECS).contains(&w) {
        return Err(format!(
            "{w} is out of range: allowed 0..={MAX_WARMUP_SECS} seconds"
        ));
    }
    Ok(w)
}

/// Parses `--inject-panic WORKER:STEPS` (whether the worker exists depends
/// on `--threads`, and is checked with it).
pub fn parse_inject(text: &str) -> Result<(usize, u64), String> {
    let (w, n) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} should be WORKER:STEPS, e.g. 1:1000"))?;
    Ok((
        w.parse()
            .map_err(|_| format!("bad worker index {w:?}: give a number from 0"))?,
        n.parse()
            .map_err(|_| format!("bad step count {n:?}: give a number from 0"))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_and_mode_of_the_core_is_a_value() {
        let names: Vec<String> = PolicySel::value_variants()
            .iter()
            .map(|v| v.to_possible_value().unwrap().get_name().to_string())
            .collect();
        assert_eq!(names[0], "all");
        for p in PolicyName::ALL {
            assert!(names.iter().any(|n| n == p.as_str()), "{p}");
            assert_eq!(PolicyArg::from_str(p.as_str(), false), Ok(PolicyArg(p)));
        }
        for m in GC_MODES {
            assert_eq!(GcMode::parse(m.as_str()), Some(m));
            assert_eq!(GcArg::from_str(m.as_str(), false), Ok(GcArg(m)));
        }
        for d in Driver::ALL {
            assert_eq!(DriverArg::from_str(d.as_str(), false), Ok(DriverArg(d)));
        }
        // `all` after a named policy adds the rest of the compared set, in
        // its order, without naming the first one twice.
        let mut expected = vec![PolicyName::Biased];
        expected.extend(PolicyName::ALL.iter().filter(|&&p| p != PolicyName::Biased));
        assert_eq!(
            policies(&[PolicySel::One(PolicyName::Biased), PolicySel::All]),
            expected
        );
    }

    #[test]
    fn ranges_come_from_the_constants() {
        assert_eq!(parse_threads("1,2,2"), Ok(Threads::List(vec![1, 2])));
        assert_eq!(
            parse_threads("0"),
            Err(format!("0 is out of range: allowed 1..={MAX_THREADS}"))
        );
        assert!(parse_threads("auto").unwrap().counts().len() >= 2);
        let many: Vec<String> = (1..=MAX_THREAD_COUNTS + 1).map(|n| n.to_string()).collect();
        assert!(parse_threads(&many.join(",")).is_err());
        assert!(parse_duration("1e-9")
            .unwrap_err()
            .contains("allowed 0.01..=3600 seconds"));
        assert_eq!(parse_duration("0.5"), Ok(0.5));
        assert!(parse_warmup("601").unwrap_err().contains("0..=600"));
        assert_eq!(parse_inject("1:100"), Ok((1, 100)));
        assert!(parse_inject("1").is_err());
    }
}
