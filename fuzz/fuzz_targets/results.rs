//! Fuzz target: the results.json loader and the reports rendered from what
//! it accepts (see `fuzz/harness.rs`).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::results(data));
