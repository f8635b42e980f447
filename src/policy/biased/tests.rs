//! Unit tests of the parent module (kept apart so the module stays one
//! concept under the house rules' size limit).

use super::*;

#[test]
fn the_shared_word_packs_and_unpacks() {
    for count in [-5, -1, 0, 1, 2, 1 << 40, -(1 << 40)] {
        for state in [DEFAULT, QUEUED, MERGED] {
            assert_eq!(unpack_shared(pack_shared(count, state)), (count, state));
        }
    }
    // A non-owner's decrement of a merged word subtracts one reference
    // and keeps the state (the count may go negative).
    let w = pack_shared(0, MERGED) - ONE;
    assert_eq!(unpack_shared(w), (-1, MERGED));
    assert_eq!(pack_shared(1, DEFAULT), ONE);
}

#[test]
fn a_word_made_by_an_owner_reads_back() {
    let local = BiasedLocal {
        tid: 7,
        owner: ptr::null(),
        counters: RcCounters::default(),
    };
    let w = BiasedCounts::word_new(&local);
    assert_eq!(w.parts(), (7, 1, 0, DEFAULT));
    assert_eq!(BiasedCounts::total(&w), 1);
    let m = explicit_merge(&w, -1);
    assert_eq!(m, 0);
    assert_eq!(w.parts(), (0, 0, 0, MERGED));
    let i = BiasedCounts::word_immortal();
    assert!(BiasedCounts::is_immortal(&i));
}
