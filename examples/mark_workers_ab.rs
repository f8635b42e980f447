//! One full collection of ~1M live containers with 1 and with N marking
//! workers, interleaved (A B A B ...) so the machine's drift hits both
//! alike: the measurement behind `--mark-workers` (the `gc` bench's
//! `gc_full_live_1M` shape: one outer list holding 1,000,000 empty lists).
//!
//! ```sh
//! cargo run --release --example mark_workers_ab                     # tracing, 1 vs 2, 15 rounds
//! cargo run --release --example mark_workers_ab -- gil-tracing 2 21 # policy, workers, rounds
//! ```
//!
//! Prints each round's pauses (the collector's own figure: world stopped to
//! world restarted) and the median of the per-round ratios with its range.
//! Under a tracing policy only the mark phase runs in parallel; the walk
//! and the sweep are serial, so the ratio is bounded by the mark's share.

use heaplab::{with_policy, Heap, HeapConfig, Mutator, Policy, PolicyName, Ref};

const N: usize = 1_000_000;

fn heap<P: Policy>(workers: usize) -> Heap<P> {
    let mut c = HeapConfig::default();
    c.gc.enabled = false;
    c.gc.mark_workers = workers;
    Heap::<P>::new(c).expect("valid config")
}

fn build<'h, P: Policy>(m: &Mutator<'h, P>) -> Ref<'h, P> {
    let outer = m.alloc_list().expect("alloc");
    for _ in 0..N {
        m.append(&outer, m.alloc_list().expect("alloc"))
            .expect("append");
    }
    outer
}

fn ab<P: Policy>(workers: usize, rounds: usize) {
    let (ha, hb) = (heap::<P>(1), heap::<P>(workers));
    let (ma, mb) = (ha.attach(), hb.attach());
    let (oa, ob) = (build(&ma), build(&mb));
    // One warm-up each: the pool threads start, the pages are touched.
    ma.collect();
    mb.collect();
    let mut ratios = Vec::new();
    println!("{} , 1 vs {workers} mark workers, {N} live lists", P::NAME);
    for r in 0..rounds {
        let a = ma.collect();
        let b = mb.collect();
        assert!(a.ran && b.ran && a.collected == 0 && b.collected == 0);
        let ratio = a.pause_ns as f64 / b.pause_ns as f64;
        println!(
            "round {r:2}: 1 worker {:7.2} ms, {workers} workers {:7.2} ms, speedup {ratio:.3}",
            a.pause_ns as f64 / 1e6,
            b.pause_ns as f64 / 1e6
        );
        ratios.push(ratio);
    }
    ratios.sort_by(|a, b| a.total_cmp(b));
    println!(
        "median speedup {:.3} (min {:.3}, max {:.3}) over {rounds} rounds",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
    drop((oa, ob));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let policy = args.first().map_or("tracing", String::as_str);
    let Some(p) = PolicyName::parse(policy) else {
        eprintln!("unknown policy {policy:?}");
        std::process::exit(2);
    };
    let num = |i: usize, default: usize, what: &str| match args.get(i) {
        None => default,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                eprintln!("{what} is {s:?}; it must be a whole number of at least 1");
                std::process::exit(2);
            }
        },
    };
    let workers = num(1, 2, "workers");
    let rounds = num(2, 15, "rounds");
    with_policy!(p, P => ab::<P>(workers, rounds));
}
