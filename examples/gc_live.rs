//! A full collection over live lists, timed, for profiling the collector
//! (callgrind, perf) without criterion around it: the `gc` bench's
//! `gc_full_live_1M` shape (one outer list holding `n` empty lists).
//!
//! ```sh
//! cargo run --release --example gc_live -- gil 1 1000000 10          # policy, markers, n, collections
//! cargo run --release --example gc_live -- gil 1 1000000 10 reversed # the outer list allocated last
//! ```
//!
//! Prints each collection's time and the median. `reversed` allocates the
//! inner lists first and the outer list after them, so the pool walk meets
//! every child before its parent (the opposite of the bench's order).

use heaplab::{with_policy, Heap, HeapConfig, Policy, PolicyName};
use std::time::Instant;

fn run<P: Policy>(workers: usize, n: usize, reps: usize, reversed: bool) -> Result<(), String> {
    let mut c = HeapConfig::default();
    c.gc.enabled = false;
    c.gc.mark_workers = workers;
    let heap = Heap::<P>::new(c).map_err(|e| e.to_string())?;
    let m = heap.attach();
    let outer = if reversed {
        let inner: Vec<_> = (0..n)
            .map(|_| m.alloc_list().map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let outer = m.alloc_list().map_err(|e| e.to_string())?;
        for l in inner {
            m.append(&outer, l).map_err(|e| e.to_string())?;
        }
        outer
    } else {
        let outer = m.alloc_list().map_err(|e| e.to_string())?;
        for _ in 0..n {
            let l = m.alloc_list().map_err(|e| e.to_string())?;
            m.append(&outer, l).map_err(|e| e.to_string())?;
        }
        outer
    };
    let mut ms = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        let out = m.collect();
        let d = t.elapsed().as_secs_f64() * 1e3;
        if out.collected != 0 || out.examined < n {
            return Err(format!(
                "collected {} examined {}",
                out.collected, out.examined
            ));
        }
        ms.push(d);
    }
    drop(outer);
    let list: Vec<String> = ms.iter().map(|x| format!("{x:.2}")).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    let med = ms.get(ms.len() / 2).copied().unwrap_or(0.0);
    println!(
        "{} markers={workers} n={n} reversed={reversed}: median {med:.2} ms [{}]",
        P::NAME,
        list.join(" ")
    );
    Ok(())
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let policy = a.first().map(String::as_str).unwrap_or("gil");
    let Some(p) = PolicyName::parse(policy) else {
        eprintln!("unknown policy {policy:?}");
        std::process::exit(2);
    };
    let num = |i: usize, d: usize| -> usize {
        a.get(i)
            .map_or(Some(d), |s| s.parse().ok())
            .unwrap_or_else(|| {
                eprintln!("argument {i} must be a number");
                std::process::exit(2)
            })
    };
    let (workers, n, reps) = (num(1, 1), num(2, 1_000_000), num(3, 10));
    if workers == 0 || reps == 0 {
        eprintln!("markers and collections must be at least 1");
        std::process::exit(2);
    }
    let reversed = a.get(4).is_some_and(|s| s == "reversed");
    if let Err(e) = with_policy!(p, P => run::<P>(workers, n, reps, reversed)) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
