//! Arenas go back to the OS: checked against the process's RSS. This file
//! holds one test so that it runs in a process of its own (tests in one
//! binary share a process and run in parallel, which would blur RSS).

use heaplab::verify::assert_no_leaks;
use heaplab::{Gil, Heap};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn freed_arenas_return_to_the_os_but_one_spare() {
    let h = Heap::<Gil>::with_defaults();
    let before = rss_bytes();
    {
        let m = h.attach();
        let l = m.alloc_list().unwrap();
        // ~200 MB of small objects of mixed classes.
        for i in 0..2_000_000u64 {
            let size = 16 + (i % 6) * 16;
            m.append(&l, m.alloc_leaf(&vec![i as u8; size as usize]).unwrap())
                .unwrap();
        }
        let peak = rss_bytes();
        let arenas = h.memory().arenas.current;
        assert!(arenas > 100, "arenas {arenas}");
        assert!(
            peak > before + 100 * (1 << 20),
            "RSS grew: {before} -> {peak}"
        );
        drop(l);
    }
    h.trim();
    let stats = h.memory().arenas;
    assert!(
        stats.current <= 1,
        "all arenas but the spare unmapped: {stats:?}"
    );
    assert_eq!(stats.freed + stats.current, stats.allocated);
    let after = rss_bytes();
    assert!(
        after < before + 8 * (1 << 20),
        "RSS came back down: before {before}, after {after}"
    );
    assert_no_leaks(&h);
}
