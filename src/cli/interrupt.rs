//! Leaving the terminal tidy when a run is interrupted.
//!
//! The progress bar redraws one line in place, without a newline. SIGINT
//! (Ctrl-C) or SIGTERM ends the process from the kernel's default action,
//! which runs no destructor, so the shell's prompt would be printed on the
//! bar's line. While the bar is shown, these signals first write a newline
//! to stderr and then take their default action (the process still dies of
//! the signal, so its parent sees the same exit status as without us).

use std::sync::atomic::{AtomicBool, Ordering};

/// The signals a user or a job controller stops a run with.
const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

/// Whether the handlers are installed (so that `Drop` restores only what
/// `install` changed).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// While alive, SIGINT and SIGTERM end the bar's line before they end the
/// process.
pub struct NewlineOnInterrupt(());

impl NewlineOnInterrupt {
    /// Installs the handlers.
    pub fn install() -> NewlineOnInterrupt {
        for sig in SIGNALS {
            // SAFETY: `on_signal` is an `extern "C" fn(c_int)`, the type
            // `signal` expects, and does only async-signal-safe work.
            unsafe {
                libc::signal(sig, on_signal as *const () as libc::sighandler_t);
            }
        }
        // Relaxed: read only by `Drop` on this same thread.
        INSTALLED.store(true, Ordering::Relaxed);
        NewlineOnInterrupt(())
    }
}

impl Drop for NewlineOnInterrupt {
    fn drop(&mut self) {
        if INSTALLED.swap(false, Ordering::Relaxed) {
            for sig in SIGNALS {
                // SAFETY: restoring the default action is always sound.
                unsafe {
                    libc::signal(sig, libc::SIG_DFL);
                }
            }
        }
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    // SAFETY: write(2), signal(2) and raise(3) are async-signal-safe
    // (signal-safety(7)); the buffer is a static byte. Restoring the default
    // action before raising makes the process die of `sig` as it would have.
    unsafe {
        libc::write(libc::STDERR_FILENO, b"\n".as_ptr().cast(), 1);
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}
