//! The memory a run may take: the heap's default limit, so that no input (a
//! scenario with megabyte leaves and a working set of a million, or a
//! thousand threads) can fill the machine before anything stops it.
//!
//! The limit is the heap's own (`HeapConfig::max_heap`): an allocation past
//! it raises `MemoryError`, which fails the configuration with that reason,
//! as a Python program would see it. `--max-heap` overrides it; the limit in
//! force is recorded in `results.json` (`settings.max_heap_bytes`).

/// The most threads a configuration may start: beyond this the machine
/// measures its scheduler, not the heap.
pub const MAX_THREADS: usize = 1024;
/// The most repeats of a suite.
pub const MAX_REPEATS: usize = 1000;
/// The most marking workers of the collector.
pub const MAX_MARK_WORKERS: usize = 1024;
/// The longest GIL switch interval, in microseconds (one second).
pub const MAX_SWITCH_INTERVAL_US: u64 = 1_000_000;
/// The most thread counts in one suite.
pub const MAX_THREAD_COUNTS: usize = 64;

/// The smallest limit: one arena (1 MiB), the allocator's unit of memory
/// from the OS; below it no heap can hold anything.
pub const MIN_HEAP_LIMIT: u64 = 1 << 20;

/// The default limit's share of the machine's memory, as a fraction: half,
/// leaving the rest to the process's own structures (working sets, channels,
/// histograms), the OS and whatever else shares the machine.
pub const DEFAULT_SHARE: (u64, u64) = (1, 2);

/// The memory this process may use: the machine's physical memory, or the
/// control group's limit where that is smaller (a container's memory is
/// what it may use, not what the host has). `None` where neither is known.
pub fn available_memory() -> Option<u64> {
    let physical = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| meminfo_total(&s));
    let cgroup = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok())
    .and_then(|s| s.trim().parse::<u64>().ok());
    match (physical, cgroup) {
        (Some(p), Some(c)) => Some(p.min(c)),
        (p, c) => p.or(c),
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn meminfo_total(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// The default heap limit: [`DEFAULT_SHARE`] of [`available_memory`], never
/// below [`MIN_HEAP_LIMIT`]; `None` where the machine's memory is unknown.
pub fn default_heap_limit() -> Option<u64> {
    available_memory().map(|m| (m / DEFAULT_SHARE.1 * DEFAULT_SHARE.0).max(MIN_HEAP_LIMIT))
}

/// Parses a heap limit: bytes, or a number with a binary unit (`512M`,
/// `4G`, `64MiB`), at least [`MIN_HEAP_LIMIT`].
pub fn parse_heap_limit(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "{text:?} is not a size: give bytes or a number with K, M, G or T (e.g. 512M)"
            ))
        }
    };
    let n: u64 = number.parse().map_err(|_| {
        format!("{text:?} is not a size: give bytes or a number with K, M, G or T (e.g. 512M)")
    })?;
    let bytes = n
        .checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large: allowed at most {} bytes", u64::MAX))?;
    if bytes < MIN_HEAP_LIMIT {
        return Err(format!(
            "{text} is out of range: allowed at least {MIN_HEAP_LIMIT} bytes (1M, one arena)"
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_limits_parse_with_units_and_refuse_what_holds_nothing() {
        assert_eq!(parse_heap_limit("1048576"), Ok(1 << 20));
        assert_eq!(parse_heap_limit("512M"), Ok(512 << 20));
        assert_eq!(parse_heap_limit("4GiB"), Ok(4 << 30));
        assert_eq!(parse_heap_limit("2g"), Ok(2 << 30));
        for bad in [
            "0",
            "1000",
            "1K",
            "lots",
            "-5",
            "5X",
            "99999999999999999999999",
        ] {
            let e = parse_heap_limit(bad).unwrap_err();
            assert!(
                e.contains("allowed at least 1048576")
                    || e.contains("not a size")
                    || e.contains("too large"),
                "{bad}: {e}"
            );
        }
        assert!(parse_heap_limit("0").unwrap_err().contains("out of range"));
        assert!(parse_heap_limit("99999999T")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn the_default_limit_is_half_of_the_machine() {
        assert_eq!(
            meminfo_total("MemTotal:       24576000 kB\nMemFree: 1 kB\n"),
            Some(24_576_000 * 1024)
        );
        if let (Some(avail), Some(limit)) = (available_memory(), default_heap_limit()) {
            assert!(limit <= avail.max(MIN_HEAP_LIMIT), "{limit} of {avail}");
            assert!(limit >= avail / 2 - 1 || limit == MIN_HEAP_LIMIT);
        }
    }
}
