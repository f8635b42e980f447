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
            .args(["-O1", "-g", "-pthread", "-o"])
            .arg(&exe)
            .arg(&src)
            .output()
            .expect("run cc");
        assert_ok("cc tests/c/abi.c", &out);
        Some(exe)
    })
    .as_ref()
}

fn run_mode(mode: &str) {
    let Some(exe) = abi_program() else { return };
    for d in DESIGNS {
        let mut cmd = Command::new(exe);
        cmd.arg(mode);
        let out = preloaded(cmd, Some(d));
        assert_ok(&format!("abi {mode} under {d}"), &out);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("ok {mode}")
        );
    }
}

#[test]
fn alignment_realloc_calloc_usable_size_and_foreign_frees() {
    run_mode("basics");
}

#[test]
fn threads_free_each_others_blocks_and_exit() {
    run_mode("threads");
}

#[test]
fn fork_while_other_threads_allocate() {
    run_mode("fork");
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
