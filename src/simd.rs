//! Hot loops compiled twice, for baseline x86-64 and for AVX2, the AVX2 copy chosen at run
//! time when the CPU has it ([`avx2_dispatch!`]).
//!
//! Why this keeps results identical on every machine: the loops put in it are elementwise
//! (`r += d·row`, `√((1 − ρ)/2)`) or sums whose order is written out in the source (eight
//! partial sums per dot product, as ndarray's `dot`), and Rust neither fuses a multiply and
//! an add into an FMA nor reorders floating-point sums, so four lanes compute exactly what
//! two (SSE2, the baseline) compute. Only speed differs. The release build keeps targeting
//! baseline x86-64, so the binary still runs on CPUs without AVX2.

/// Defines `fn name(args) -> R { body }` whose body runs compiled for AVX2 when the CPU
/// supports it (checked at each call: a cached CPUID bit), and compiled for the baseline
/// target otherwise. For plain functions (no generics, no `self`) whose loops keep their
/// bits under vectorization (see the module doc).
#[macro_export]
macro_rules! avx2_dispatch {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[inline(always)]
            fn body($($arg: $ty),*) -> $ret $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn body_avx2($($arg: $ty),*) -> $ret {
                    body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    return unsafe { body_avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
