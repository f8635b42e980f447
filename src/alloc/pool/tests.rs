//! The class table's pool lists through a pool's whole life: filled by
//! bumping, found dry lazily, relinked by a free, emptied and given back.

use super::super::pool_header::FIRST_BLOCK;
use super::super::walk::scan_pool;
use super::super::{class_block_size, Domain, Memory, POOL_SIZE};
use super::{pool_of, ClassPools};
use std::ptr;

const CLASS: usize = 31;

fn capacity() -> usize {
    (POOL_SIZE - FIRST_BLOCK) / class_block_size(CLASS)
}

/// # Safety
/// `pools` is the caller's private table over `mem`.
unsafe fn alloc(pools: &mut ClassPools, mem: &Memory) -> *mut u8 {
    // SAFETY: the caller's contract; a shared-style table (no inbox).
    unsafe { pools.alloc(Domain::Object, CLASS, mem, ptr::null()) }.expect("no limit")
}

#[test]
fn a_dry_pool_leaves_the_list_lazily_and_a_free_brings_it_back() {
    let mem = Memory::new(None);
    let mut pools = ClassPools::default();
    // SAFETY: a private table of this thread; every block is freed before
    // its pools are given back.
    unsafe {
        let first: Vec<*mut u8> = (0..capacity()).map(|_| alloc(&mut pools, &mem)).collect();
        let p = pool_of(first[0]);
        assert!(
            first.iter().all(|&b| pool_of(b) == p),
            "one pool filled first"
        );
        assert_eq!(pools.pools, 1);
        // Every block handed out: the pool is dry but still listed, and the
        // fast path says so by finding nothing.
        assert!(pools.has_usable());
        assert!(pools.pop().is_null());
        assert_eq!(
            scan_pool(p).expect("consistent").expect("in use").live(),
            capacity()
        );
        // The next allocation takes the dry pool off and a new one on.
        let b = alloc(&mut pools, &mem);
        assert_ne!(pool_of(b), p);
        assert_eq!(pools.pools, 2);
        assert!(!(*p).linked);
        // A free into the dry pool relinks it at the head: the fast path
        // hands that very block out again.
        pools.free(first[5], &mem);
        assert!((*p).linked);
        assert_eq!(pools.pop(), first[5]);
        pools.free(first[5], &mem);
        for &x in &first {
            if x != first[5] {
                pools.free(x, &mem);
            }
        }
        // Emptied while another pool is listed: given back at once.
        assert_eq!(pools.pools, 1);
        // The last pool, emptied, stays as the class's buffer.
        pools.free(b, &mem);
        assert_eq!(pools.pools, 1);
        assert!(pools.has_usable());
        pools.release_empty(&mem);
        assert_eq!(pools.pools, 0);
    }
}
