//! Graceful stop on SIGINT / SIGTERM.
//!
//! The first signal only sets a flag: the engine stops handing out trials,
//! abandons the unit in flight, flushes and reports what is safe. A second
//! signal exits at once (`_exit(128 + signal)`): the file is still resumable to
//! the last unit marked done, since every unit is flushed before its marker.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

static COUNT: AtomicUsize = AtomicUsize::new(0);
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only async-signal-safe operations here: atomics and _exit.
    if COUNT.fetch_add(1, Ordering::SeqCst) >= 1 {
        unsafe { libc::_exit(128 + sig) };
    }
    SIGNAL.store(sig, Ordering::SeqCst);
}

/// Handlers installed for the lifetime of the guard (default handlers after).
pub struct Guard(());

/// Installs the SIGINT/SIGTERM handlers and clears any earlier request.
pub fn install() -> Guard {
    COUNT.store(0, Ordering::SeqCst);
    SIGNAL.store(0, Ordering::SeqCst);
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    Guard(())
}

impl Drop for Guard {
    fn drop(&mut self) {
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
        }
    }
}

/// The signal that asked for a stop, if any.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The conventional exit status of a process stopped by `signal` (130 for
/// SIGINT, 143 for SIGTERM).
pub fn exit_code(signal: i32) -> i32 {
    128 + signal
}
