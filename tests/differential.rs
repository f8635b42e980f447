//! Differential property tests: random programs of heap operations run
//! single-threaded under every policy (automatic collection off, explicit
//! full collections as steps, the same way of finding containers) must agree
//! step by step: the same outcome of every operation, the same live-object
//! count after every step, the same number collected by every collection,
//! and the same final object graph (a canonical digest).
//!
//! The count-free policies (`gil-tracing`, `tracing`) free nothing until they
//! collect, so they are compared with `gil` *after a full collection*: the
//! same program, with a collection after every step under every policy, must
//! give the same outcomes, the same live objects after each step, and the
//! same final graph.

use heaplab::object::Kind;
use heaplab::{
    Biased, Gil, GilTracing, Heap, HeapConfig, Mutator, Policy, PoolLocks, Ref, Tracing,
};
use proptest::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Op {
    Leaf(u16),
    Tuple(Vec<u8>),
    List,
    Clone(u8),
    Drop(u8),
    Get(u8, u8),
    Set(u8, u8, u8),
    Append(u8, u8),
    Pop(u8),
    Collect,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u16..700).prop_map(Op::Leaf),
        2 => prop::collection::vec(any::<u8>(), 0..5).prop_map(Op::Tuple),
        2 => Just(Op::List),
        2 => any::<u8>().prop_map(Op::Clone),
        3 => any::<u8>().prop_map(Op::Drop),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Get(a, b)),
        2 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(a, b, c)| Op::Set(a, b, c)),
        4 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Append(a, b)),
        1 => any::<u8>().prop_map(Op::Pop),
        1 => Just(Op::Collect),
    ]
}

/// What one step observably did.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StepTrace {
    outcome: String,
    live_objects: i64,
}

fn pick(n: usize, i: u8) -> usize {
    i as usize % n
}

fn digest<'h, P: Policy>(m: &Mutator<'h, P>, roots: &[Ref<'h, P>]) -> String {
    fn walk<'h, P: Policy>(
        m: &Mutator<'h, P>,
        r: &Ref<'h, P>,
        ids: &mut HashMap<usize, usize>,
        out: &mut String,
    ) {
        // An address as a key: the walk allocates no object, so no nursery
        // moves one meanwhile (`Mutator::is_same` is the identity for Refs).
        let addr = r.as_ptr() as usize;
        if let Some(id) = ids.get(&addr) {
            out.push_str(&format!("#{id}"));
            return;
        }
        let id = ids.len();
        ids.insert(addr, id);
        match r.kind() {
            Kind::Leaf => {
                let b = m.leaf_vec(r).unwrap();
                out.push_str(&format!(
                    "L{}:{:x}",
                    b.len(),
                    b.iter()
                        .fold(0u64, |h, &x| h.wrapping_mul(31).wrapping_add(x as u64))
                ));
            }
            k => {
                out.push(if k == Kind::Tuple { 'T' } else { 'S' });
                out.push('[');
                for i in 0..m.len(r) {
                    let c = m.get(r, i).unwrap();
                    walk(m, &c, ids, out);
                    out.push(',');
                }
                out.push(']');
            }
        }
    }
    let mut ids = HashMap::new();
    let mut out = String::new();
    for r in roots {
        walk(m, r, &mut ids, &mut out);
        out.push('|');
    }
    out
}

/// Runs a program; returns the trace and the final digest. With `settle`, a
/// full collection follows every step, before its live objects are counted.
fn execute<P: Policy>(prog: &[Op], settle: bool) -> (Vec<StepTrace>, String) {
    let mut c = HeapConfig::default();
    c.gc.enabled = false;
    let h = Heap::<P>::new(c).unwrap();
    let mut trace = Vec::new();
    let final_digest;
    {
        let m = h.attach();
        let mut slots: Vec<Ref<'_, P>> = Vec::new();
        for (step, op) in prog.iter().enumerate() {
            let n = slots.len();
            let outcome: String = match op {
                Op::Leaf(size) => {
                    let payload: Vec<u8> =
                        (0..*size).map(|i| (i as usize * 7 + step) as u8).collect();
                    slots.push(m.alloc_leaf(&payload).unwrap());
                    "leaf".into()
                }
                Op::Tuple(items) => {
                    let v = if n == 0 {
                        vec![]
                    } else {
                        items.iter().map(|&i| slots[pick(n, i)].clone()).collect()
                    };
                    slots.push(m.alloc_tuple(v).unwrap());
                    "tuple".into()
                }
                Op::List => {
                    slots.push(m.alloc_list().unwrap());
                    "list".into()
                }
                _ if n == 0 => "skip".into(),
                Op::Clone(i) => {
                    let r = slots[pick(n, *i)].clone();
                    slots.push(r);
                    "clone".into()
                }
                Op::Drop(i) => {
                    slots.swap_remove(pick(n, *i));
                    "drop".into()
                }
                Op::Get(i, k) => {
                    let c = &slots[pick(n, *i)];
                    let len = if c.kind() == Kind::Leaf {
                        1
                    } else {
                        m.len(c).max(1)
                    };
                    match m.get(c, *k as usize % len) {
                        Ok(r) => {
                            slots.push(r);
                            "got".into()
                        }
                        Err(e) => format!("err {e}"),
                    }
                }
                Op::Set(i, k, j) => {
                    let l = slots[pick(n, *i)].clone();
                    let v = slots[pick(n, *j)].clone();
                    let len = if l.kind() == Kind::List {
                        m.len(&l).max(1)
                    } else {
                        1
                    };
                    match m.set(&l, *k as usize % len, v) {
                        Ok(()) => "set".into(),
                        Err(e) => format!("err {e}"),
                    }
                }
                Op::Append(i, j) => {
                    let l = slots[pick(n, *i)].clone();
                    let v = slots[pick(n, *j)].clone();
                    match m.append(&l, v) {
                        Ok(()) => "append".into(),
                        Err(e) => format!("err {e}"),
                    }
                }
                Op::Pop(i) => match m.pop(&slots[pick(n, *i)]) {
                    Ok(Some(r)) => {
                        slots.push(r);
                        "popped".into()
                    }
                    Ok(None) => "empty".into(),
                    Err(e) => format!("err {e}"),
                },
                Op::Collect => {
                    let out = m.collect();
                    format!("collected {}", out.collected)
                }
            };
            if settle {
                m.collect();
            }
            trace.push(StepTrace {
                outcome,
                live_objects: h.memory().objects,
            });
        }
        final_digest = digest(&m, &slots);
        drop(slots);
        let out = m.collect();
        trace.push(StepTrace {
            // Settled, what the last collection frees differs by design
            // (counting freed the acyclic garbage already); what is left
            // must not.
            outcome: if settle {
                "final".into()
            } else {
                format!("final collected {}", out.collected)
            },
            live_objects: h.memory().objects,
        });
    }
    heaplab::verify::assert_no_leaks(&h);
    (trace, final_digest)
}

fn cases() -> u32 {
    std::env::var("HEAPLAB_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 4000, ..ProptestConfig::default() })]

    #[test]
    fn policies_agree_step_by_step(prog in prop::collection::vec(op(), 1..60)) {
        let (g_trace, g_digest) = execute::<Gil>(&prog, false);
        let (p_trace, p_digest) = execute::<PoolLocks>(&prog, false);
        let (b_trace, b_digest) = execute::<Biased>(&prog, false);
        for (step, ((g, p), b)) in g_trace.iter().zip(&p_trace).zip(&b_trace).enumerate() {
            prop_assert_eq!(g, p, "gil vs pool-locks at step {} ({:?})", step, prog.get(step));
            prop_assert_eq!(g, b, "gil vs biased at step {} ({:?})", step, prog.get(step));
        }
        prop_assert_eq!(&g_digest, &p_digest);
        prop_assert_eq!(&g_digest, &b_digest);
    }
}

proptest! {
    // A collection after every step costs more: a fifth of the cases.
    #![proptest_config(ProptestConfig { cases: (cases() / 5).max(1), max_shrink_iters: 4000, ..ProptestConfig::default() })]

    #[test]
    fn tracing_policies_agree_after_every_full_collection(prog in prop::collection::vec(op(), 1..60)) {
        let (g_trace, g_digest) = execute::<Gil>(&prog, true);
        let (gt_trace, gt_digest) = execute::<GilTracing>(&prog, true);
        let (t_trace, t_digest) = execute::<Tracing>(&prog, true);
        prop_assert_eq!(g_trace.len(), t_trace.len());
        for (step, ((g, gt), t)) in g_trace.iter().zip(&gt_trace).zip(&t_trace).enumerate() {
            prop_assert_eq!(g, gt, "gil vs gil-tracing at step {} ({:?})", step, prog.get(step));
            prop_assert_eq!(g, t, "gil vs tracing at step {} ({:?})", step, prog.get(step));
        }
        prop_assert_eq!(&g_digest, &gt_digest);
        prop_assert_eq!(&g_digest, &t_digest);
    }
}

#[test]
fn generational_and_pool_walk_collect_the_same_under_gil() {
    // The generational collector (a full collection) finds what the pool
    // walk finds.
    for mode in [
        heaplab::gc::GcMode::PoolWalk,
        heaplab::gc::GcMode::Generational,
    ] {
        let mut c = HeapConfig::default();
        c.gc.enabled = false;
        c.gc.mode = mode;
        let h = Heap::<Gil>::new(c).unwrap();
        {
            let m = h.attach();
            let keep = m.alloc_list().unwrap();
            for i in 0..300 {
                let a = m.alloc_list().unwrap();
                let b = m.alloc_tuple(vec![a.clone()]).unwrap();
                m.append(&a, b).unwrap();
                if i % 3 == 0 {
                    m.append(&keep, a).unwrap();
                }
            }
            assert_eq!(m.collect().collected, 400, "{mode:?}");
        }
        heaplab::verify::assert_no_leaks_after_collect(&h);
    }
}
