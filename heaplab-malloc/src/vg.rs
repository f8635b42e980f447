//! Teaching Valgrind's memcheck about our blocks (feature `valgrind`), as
//! heaplab's `src/alloc/vg.rs` does for its pools.
//!
//! Sits beside `sys.rs` at the bottom: `pool.rs`, `remote.rs`, `large_cache.rs`
//! and `lib.rs` call it. Our pools live in mmap'd arenas, which memcheck
//! sees as defined memory it knows nothing about (and it cannot replace a
//! preloaded malloc with its own): on its own it reports nothing inside
//! them. With the feature, each block handed out becomes a malloc-like
//! block (memcheck's client requests, the magic instruction sequence of
//! `valgrind.h` as inline assembly), a freed block becomes no-access, and
//! the allocator's own reads and writes of a free block's link word open
//! that word for the moment they need it. Memcheck then reports
//! use-after-free, double free, uninitialised reads and leaks of blocks.
//!
//! A block is described by its usable size (its class's block size, or a
//! large mapping's usable length), not the size asked for: `realloc` keeps a
//! block in place when the new size fits, and memcheck would otherwise flag
//! the caller's legitimate use of the grown block. So an overrun that stays
//! inside the class's rounding is not seen. Freed large mappings are
//! unmapped rather than cached (`large_cache.rs`), so a reused mapping is
//! never a freed, no-access block.
//!
//! Without the feature (or off x86-64) every function is empty and [`ON`]
//! is false, so the shipped allocator pays nothing.

/// Whether the client requests are compiled in.
pub const ON: bool = cfg!(all(feature = "valgrind", target_arch = "x86_64"));

#[cfg(all(feature = "valgrind", target_arch = "x86_64"))]
mod imp {
    const fn tool_base(a: u8, b: u8) -> u64 {
        ((a as u64) << 24) | ((b as u64) << 16)
    }
    const MALLOCLIKE_BLOCK: u64 = 0x1301;
    const FREELIKE_BLOCK: u64 = 0x1302;
    const MAKE_MEM_NOACCESS: u64 = tool_base(b'M', b'C');
    const MAKE_MEM_DEFINED: u64 = tool_base(b'M', b'C') + 2;

    #[inline(always)]
    fn request(args: [u64; 6]) -> u64 {
        let mut result: u64 = 0;
        // SAFETY: valgrind.h's "special instruction preamble": four rotates
        // of rdi that sum to 128 bits (a no-op) and `xchg rbx, rbx`. Outside
        // Valgrind it does nothing; under it, rax points at the request and
        // rdx carries the result. rdi is declared clobbered.
        unsafe {
            core::arch::asm!(
                "rol rdi, 3",
                "rol rdi, 13",
                "rol rdi, 61",
                "rol rdi, 51",
                "xchg rbx, rbx",
                in("rax") args.as_ptr(),
                inout("rdx") result,
                out("rdi") _,
                options(nostack, preserves_flags)
            );
        }
        result
    }

    #[inline(always)]
    pub fn malloc_like(p: *const u8, size: usize, zeroed: bool) {
        request([MALLOCLIKE_BLOCK, p as u64, size as u64, 0, zeroed as u64, 0]);
    }
    #[inline(always)]
    pub fn free_like(p: *const u8) {
        request([FREELIKE_BLOCK, p as u64, 0, 0, 0, 0]);
    }
    #[inline(always)]
    pub fn open_link(p: *const u8) {
        request([MAKE_MEM_DEFINED, p as u64, 8, 0, 0, 0]);
    }
    #[inline(always)]
    pub fn close_link(p: *const u8) {
        request([MAKE_MEM_NOACCESS, p as u64, 8, 0, 0, 0]);
    }
}

#[cfg(not(all(feature = "valgrind", target_arch = "x86_64")))]
mod imp {
    #[inline(always)]
    pub fn malloc_like(_p: *const u8, _size: usize, _zeroed: bool) {}
    #[inline(always)]
    pub fn free_like(_p: *const u8) {}
    #[inline(always)]
    pub fn open_link(_p: *const u8) {}
    #[inline(always)]
    pub fn close_link(_p: *const u8) {}
}

/// The allocator is done with a free block's link word (no access again).
pub use imp::close_link;
/// A block was freed (no access from now on).
pub use imp::free_like;
/// A block of `size` usable bytes was handed out (addressable; defined when
/// `zeroed`).
pub use imp::malloc_like;
/// The allocator is about to read or write a free block's link word.
pub use imp::open_link;
