//! The Benchmarks Game's binary-trees program: its trees (complete binary
//! trees of 2-tuples, empty tuples as leaves), its check, its iteration
//! counts and the output it must print. The driver that runs it, shared
//! between threads, is in `drivers.rs`.

use crate::heap::Mutator;
use crate::policy::Policy;
use crate::{HeapError, Ref};

/// binary-trees' fixed minimum depth.
pub const MIN_DEPTH: u64 = 4;

/// The Benchmarks Game's iteration count for a depth.
pub fn tree_iterations(max_depth: u64, depth: u64) -> u64 {
    1 << (max_depth - depth + MIN_DEPTH)
}

/// The output the Benchmarks Game's binary-trees prints for argument `n`.
pub fn binary_trees_reference_output(n: u64) -> Vec<String> {
    let max = n.max(MIN_DEPTH + 2);
    let mut out = vec![format!(
        "stretch tree of depth {}\t check: {}",
        max + 1,
        (1u64 << (max + 2)) - 1
    )];
    let mut d = MIN_DEPTH;
    while d <= max {
        let it = tree_iterations(max, d);
        out.push(format!(
            "{it}\t trees of depth {d}\t check: {}",
            it * ((1u64 << (d + 1)) - 1)
        ));
        d += 2;
    }
    out.push(format!(
        "long lived tree of depth {max}\t check: {}",
        (1u64 << (max + 1)) - 1
    ));
    out
}

/// Builds a complete binary tree of `depth` (nodes are 2-tuples; leaves are
/// empty tuples, the program's `(None, None)`).
pub fn make_tree<'h, P: Policy>(m: &Mutator<'h, P>, depth: u64) -> Result<Ref<'h, P>, HeapError> {
    // The eval breaker is checked on every call, as CPython checks it on
    // every function call: a thread deep in a tree still reaches a
    // safepoint within microseconds.
    m.checkpoint();
    if depth == 0 {
        return m.alloc_tuple_array([]);
    }
    let l = make_tree(m, depth - 1)?;
    let r = make_tree(m, depth - 1)?;
    m.alloc_tuple_array([l, r])
}

/// The program's `check`: counts the nodes.
pub fn check_tree<'h, P: Policy>(m: &Mutator<'h, P>, t: &Ref<'h, P>) -> Result<u64, HeapError> {
    m.checkpoint();
    if m.len(t) == 0 {
        return Ok(1);
    }
    // `l, r = node`: two new references, given back through the mutator
    // (`Py_DECREF` with the thread state in hand) when the frame ends.
    let l = m.get(t, 0)?;
    let r = m.get(t, 1)?;
    let n = 1 + check_tree(m, &l)? + check_tree(m, &r)?;
    m.release(l);
    m.release(r);
    Ok(n)
}
