//! Timers shared by the benches (`#[path]`-included; not a bench target itself).

/// This thread's CPU seconds (CLOCK_THREAD_CPUTIME_ID): other load on the machine inflates
/// it less than wall time.
pub fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}
