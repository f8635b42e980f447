//! Checks that memcheck sees inside our pools (feature `valgrind`): a read of
//! a freed block must be reported. Ignored in ordinary runs: it reads freed
//! memory on purpose, which is only meaningful under Valgrind.
//!
//! ```sh
//! cargo test --release --features valgrind --test memcheck --no-run
//! valgrind --tool=memcheck target/release/deps/memcheck-* --ignored
//! ```
//! Memcheck must report one "Invalid read of size 1" per test: a block freed
//! by a count reaching zero (`gil`), and one freed by the tracing
//! collector's sweep (`tracing`).

#[test]
#[ignore = "run under valgrind with --features valgrind: see the module docs"]
fn a_read_after_free_inside_a_pool_is_reported() {
    let h = heaplab::Heap::<heaplab::Gil>::with_defaults();
    let m = h.attach();
    let keep = m.alloc_leaf(b"neighbour keeps the pool alive").unwrap();
    let leaf = m.alloc_leaf(b"freed soon").unwrap();
    let p = leaf.as_ptr() as *const u8;
    drop(leaf);
    // SAFETY: deliberately wrong: the block is free. The pool stays mapped
    // (its neighbour is live), so the read itself cannot fault.
    let byte = unsafe { p.add(20).read_volatile() };
    std::hint::black_box(byte);
    drop(keep);
}

#[test]
#[ignore = "run under valgrind with --features valgrind: see the module docs"]
fn a_read_after_a_tracing_sweep_is_reported() {
    let mut c = heaplab::HeapConfig::default();
    c.gc.enabled = false;
    let h = heaplab::Heap::<heaplab::Tracing>::new(c).unwrap();
    let m = h.attach();
    let keep = m.alloc_leaf(b"neighbour keeps the pool alive").unwrap();
    let leaf = m.alloc_leaf(b"swept soon").unwrap();
    let p = leaf.as_ptr() as *const u8;
    drop(leaf);
    // The drop freed only the root; the sweep frees the block.
    assert_eq!(m.collect().collected, 1);
    // SAFETY: deliberately wrong: the block is free. The pool stays mapped
    // (its neighbour is live), so the read itself cannot fault.
    let byte = unsafe { p.add(20).read_volatile() };
    std::hint::black_box(byte);
    drop(keep);
}
