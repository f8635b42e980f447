//! `heaplab micro OP` (hidden): one hot-path operation in a loop, for
//! counting its instructions with callgrind (`scripts/instr-counts.sh`).

use super::CliResult;
use clap::ValueEnum;
use heaplab::PolicyName;
use std::process::ExitCode;

/// The operations `micro` can loop over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MicroOp {
    /// A 32-byte leaf allocated through the heap and freed by dropping its
    /// `Ref` (the thread-local look-up of `Ref::drop` included).
    AllocFree,
    /// A 32-byte leaf allocated and released through the mutator
    /// (`Py_DECREF`: no thread-local look-up): the object path alone.
    AllocRelease,
    /// An owner's `clone_ref` and `release` through the mutator
    /// (`Py_INCREF` + `Py_DECREF`).
    CloneRelease,
    /// A block allocated and freed through the class table alone.
    RawAllocFree,
    /// An owner's clone and drop of one reference.
    IncrefDecref,
}

pub fn micro(op: MicroOp, policy: PolicyName, iters: u64) -> CliResult {
    heaplab::with_policy!(policy, P => micro_typed::<P>(op, iters))
}

/// The leaf payload (16 bytes: a 32-byte leaf under a 16-byte header): a
/// static, so the loop does not build it on every iteration.
static PAYLOAD: [u8; 16] = [0; 16];

fn micro_typed<P: heaplab::Policy>(op: MicroOp, iters: u64) -> CliResult {
    use heaplab::alloc::{ClassPools, Domain};
    let h = heaplab::Heap::<P>::with_defaults();
    let m = h.attach();
    match op {
        MicroOp::AllocFree => {
            let keep = m.alloc_leaf(&PAYLOAD).map_err(|e| e.to_string())?;
            for _ in 0..iters {
                std::hint::black_box(m.alloc_leaf(&PAYLOAD).map_err(|e| e.to_string())?);
            }
            drop(keep);
        }
        MicroOp::AllocRelease => {
            let keep = m.alloc_leaf(&PAYLOAD).map_err(|e| e.to_string())?;
            for _ in 0..iters {
                let r = m.alloc_leaf(&PAYLOAD).map_err(|e| e.to_string())?;
                m.release(std::hint::black_box(r));
            }
            drop(keep);
        }
        MicroOp::CloneRelease => {
            let r = m.alloc_int(1).map_err(|e| e.to_string())?;
            for _ in 0..iters {
                m.release(std::hint::black_box(m.clone_ref(&r)));
            }
        }
        MicroOp::RawAllocFree => {
            let mut table = ClassPools::default();
            let mem = h.mem();
            // SAFETY: a private class table of this thread; blocks are freed
            // right away and the empty pools given back before it is dropped.
            unsafe {
                let keep = table
                    .alloc(Domain::Raw, 1, mem, std::ptr::null())
                    .map_err(|e| format!("{e:?}"))?;
                for _ in 0..iters {
                    let b = table
                        .alloc(Domain::Raw, 1, mem, std::ptr::null())
                        .map_err(|e| format!("{e:?}"))?;
                    table.free(std::hint::black_box(b), mem);
                }
                table.free(keep, mem);
                table.release_empty(mem);
            }
        }
        MicroOp::IncrefDecref => {
            let r = m.alloc_int(1).map_err(|e| e.to_string())?;
            for _ in 0..iters {
                std::hint::black_box(r.clone());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
