//! The C-ABI promises (alignment, realloc, calloc, usable size, foreign
//! frees, constructors before main, threads with remote frees and exits,
//! fork while other threads allocate), checked by a C program
//! (tests/c/abi.c) run with the library preloaded under each design.

mod common;

use common::{assert_ok, library, preloaded, program, DESIGNS};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The C program, compiled once, or `None` (reason printed) without a C compiler.
fn abi_program() -> Option<&'static PathBuf> {
    static EXE: OnceLock<Option<PathBuf>> = OnceLock::new();
    EXE.get_or_init(|| {
        let cc = program("cc")?;
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/c/abi.c");
        let exe = library().parent().unwrap().join("heaplab-malloc-abi");
        let out = Command::new(cc)
            .args(["-O1", "-g", "-pthread", "-ldl", "-o"])
            .arg(&exe)
            .arg(&src)
            .output()
            .expect("run cc");
        assert_ok("cc tests/c/abi.c", &out);
        Some(exe)
    })
    .as_ref()
}

/// Runs one mode of the C program under each design; returns each run's
/// standard error.
fn run_mode(mode: &str, stats: bool) -> Vec<String> {
    let Some(exe) = abi_program() else {
        return Vec::new();
    };
    let mut errs = Vec::new();
    for d in DESIGNS {
        let mut cmd = Command::new(exe);
        cmd.arg(mode);
        let out = if stats {
            cmd.env("LD_PRELOAD", library()).env("HEAPLAB_MALLOC", d);
            cmd.env("HEAPLAB_MALLOC_STATS", "1").output().unwrap()
        } else {
            preloaded(cmd, Some(d))
        };
        assert_ok(&format!("abi {mode} under {d}"), &out);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("ok {mode}")
        );
        errs.push(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    errs
}

#[test]
fn alignment_realloc_calloc_usable_size_and_foreign_frees() {
    // The program frees three foreign pointers (a stack address, an address
    // inside its own mmap, a block of the C library's malloc reached through
    // dlsym): all must be recognised and ignored.
    for err in run_mode("basics", true) {
        assert!(err.contains(" foreign-frees 3"), "{err}");
    }
}

#[test]
fn threads_free_each_others_blocks_and_exit() {
    let errs = run_mode("threads", true);
    // Under thread-local, 24 threads over 3 rounds of 8 ran on at most 9
    // heaps (8 + main's): exited threads' heaps were adopted.
    if let Some(tl) = errs.get(2) {
        assert!(
            tl.contains("design thread-local") && !tl.contains(" adopted 0 "),
            "{tl}"
        );
    }
}

#[test]
fn fork_while_other_threads_allocate() {
    run_mode("fork", false);
}

/// A failure is one line on standard error and an abort, never an unwind or
/// a guess: `realloc` of memory we did not allocate (its size is unknown).
#[test]
fn realloc_of_foreign_memory_stops_with_one_line() {
    use std::os::unix::process::ExitStatusExt;
    let Some(exe) = abi_program() else { return };
    for d in DESIGNS {
        let mut cmd = Command::new(exe);
        cmd.arg("realloc-foreign");
        let out = preloaded(cmd, Some(d));
        assert_eq!(
            out.status.signal(),
            Some(libc_sigabrt()),
            "{d}: {:?}",
            out.status
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("heaplab-malloc: fatal: realloc of "),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
}

/// SIGABRT on Linux (every architecture this crate builds for).
fn libc_sigabrt() -> i32 {
    6
}

/// The check that the C program really runs on us: without the library it
/// must refuse (malloc_usable_size(malloc(1)) is 24 under glibc).
#[test]
fn the_abi_program_notices_when_we_are_not_preloaded() {
    let Some(exe) = abi_program() else { return };
    let out = Command::new(exe)
        .arg("basics")
        .env_remove("LD_PRELOAD")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not preloaded"));
}
