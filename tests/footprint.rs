//! Memory efficiency of a steady heap: one million small objects of
//! CPython's typical size mix, held alive; bytes reserved from the OS over
//! bytes in the blocks handed out (the target: at most 1.15x), with
//! the bytes the objects asked for beside them.

use heaplab::metrics::{Rng, Weighted};
use heaplab::{Biased, Gil, Heap, Policy, PoolLocks};

fn footprint<P: Policy>() -> (f64, f64) {
    let h = Heap::<P>::with_defaults();
    let (reserved, blocks, requested) = {
        let m = h.attach();
        let sizes = [8usize, 16, 24, 40, 56, 100, 200, 400];
        let table = Weighted::new(&[35, 20, 15, 12, 8, 5, 3, 2]);
        let mut rng = Rng::new(7);
        let keep = m.alloc_list().unwrap();
        for i in 0..1_000_000 {
            let n = sizes[table.pick(&mut rng)];
            let o = if i % 5 == 0 {
                m.alloc_tuple(vec![m.alloc_leaf(&vec![1; n.min(64)]).unwrap()])
                    .unwrap()
            } else {
                m.alloc_leaf(&vec![1; n]).unwrap()
            };
            m.append(&keep, o).unwrap();
        }
        let f = h.memory();
        // What the objects and item arrays asked for: a heap walk (quiescent).
        let requested = h.verify().expect("heap verifies").requested_bytes;
        let out = (
            f.bytes_reserved as f64,
            f.bytes_in_blocks as f64,
            requested as f64,
        );
        drop(keep);
        out
    };
    eprintln!(
        "{}: reserved {:.1} MB, in blocks {:.1} MB, requested {:.1} MB: reserved/blocks {:.3}, blocks/requested {:.3}",
        P::NAME,
        reserved / 1e6,
        blocks / 1e6,
        requested / 1e6,
        reserved / blocks,
        blocks / requested
    );
    heaplab::verify::assert_no_leaks(&h);
    (reserved / blocks, blocks / requested)
}

#[test]
fn a_steady_million_object_heap_reserves_at_most_1_15x_its_blocks() {
    for (name, (over, internal)) in [
        ("gil", footprint::<Gil>()),
        ("pool-locks", footprint::<PoolLocks>()),
        ("biased", footprint::<Biased>()),
    ] {
        assert!(over <= 1.15, "{name}: reserved/in-blocks {over:.3}");
        assert!(internal < 1.3, "{name}: blocks/requested {internal:.3}");
    }
}
