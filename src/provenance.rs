//! Where and how a piece of a study was computed: host, CPU model, SIMD level,
//! threads and times, recorded per run session (each start or resume of a run or
//! shard) in its checkpoint journal and kept in the result file under
//! `/provenance` (README "Running on a cluster").
//!
//! Why the SIMD level matters: faer (through pulp) and tract choose their
//! kernels at run time from the CPU's instruction set (faer: AVX2+FMA or
//! scalar; tract: AVX-512, FMA or plain SSE kernels). Different kernels sum in
//! different orders, so the same trial can differ in its last bits on two CPU
//! kinds. Results are bit-identical across machines of the same [`simd_level`];
//! `corrmc merge` warns when shards came from different levels.

use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// The host name (`gethostname`), or "unknown".
pub fn host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success
    // (we stop at the first NUL or the buffer end either way).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The CPU model as the kernel names it (`/proc/cpuinfo`), or the architecture.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Model"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The SIMD features that decide which kernels faer and tract run.
pub fn cpu_features() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut f: Vec<&'static str> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! probe {
            ($($name:tt),*) => {
                $(if std::arch::is_x86_feature_detected!($name) {
                    f.push($name);
                })*
            };
        }
        probe!(
            "sse4.1", "sse4.2", "popcnt", "avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "lzcnt",
            "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        macro_rules! probe {
            ($($name:tt),*) => {
                $(if std::arch::is_aarch64_feature_detected!($name) {
                    f.push($name);
                })*
            };
        }
        probe!("neon", "fp16", "sve", "sve2");
    }
    f
}

/// The instruction-set level the numerical kernels dispatch on: on x86-64 the
/// psABI micro-architecture levels (`x86-64-v4` = AVX-512 F/BW/CD/DQ/VL,
/// `x86-64-v3` = AVX2, FMA, BMI1/2, F16C, LZCNT), else the architecture with its
/// vector extensions.
pub fn simd_level() -> String {
    level_of(std::env::consts::ARCH, &cpu_features())
}

fn level_of(arch: &str, f: &[&str]) -> String {
    let has = |all: &[&str]| all.iter().all(|x| f.contains(x));
    match arch {
        "x86_64" if has(&["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]) => {
            "x86-64-v4".into()
        }
        "x86_64" if has(&["avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "lzcnt"]) => {
            "x86-64-v3".into()
        }
        "x86_64" if has(&["sse4.1", "sse4.2", "popcnt"]) => "x86-64-v2".into(),
        "x86_64" => "x86-64".into(),
        "aarch64" if f.contains(&"sve") => "aarch64+sve".into(),
        other => other.into(),
    }
}

/// Seconds since the Unix epoch as ISO 8601 UTC (`2026-12-03T20:15:00Z`).
pub fn iso_utc(secs: u64) -> String {
    // Civil-from-days (Howard Hinnant's algorithm), valid for the proleptic Gregorian calendar.
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Now, as [`iso_utc`].
pub fn now() -> String {
    iso_utc(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// The record of one run session (written when it starts): what `/provenance`
/// keeps per session. `shard` is "i/k" for a shard, "rank r/K" parts for MPI.
pub fn session(threads: usize, shard: Option<String>) -> Value {
    json!({
        "host": host(),
        "cpu_model": cpu_model(),
        "cpu_features": cpu_features().join(" "),
        "simd_level": simd_level(),
        "threads": threads as u64,
        "started": now(),
        "pid": std::process::id() as u64,
        "corrmc_version": env!("CARGO_PKG_VERSION"),
        "git_revision": env!("CORRMC_GIT_REV"),
        "shard": shard.unwrap_or_else(|| "-".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_match_known_instants() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        // 2000-02-29 (leap day of a century leap year) 12:34:56.
        assert_eq!(iso_utc(951_827_696), "2000-02-29T12:34:56Z");
        // 2026-12-03T20:00:00Z.
        assert_eq!(iso_utc(1_796_328_000), "2026-12-03T20:00:00Z");
    }

    #[test]
    fn simd_levels_follow_the_psabi_levels() {
        let v3 = [
            "avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "lzcnt", "sse4.1",
        ];
        assert_eq!(level_of("x86_64", &v3), "x86-64-v3");
        let mut v4 = v3.to_vec();
        v4.extend(["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]);
        assert_eq!(level_of("x86_64", &v4), "x86-64-v4");
        assert_eq!(level_of("x86_64", &["avx2"]), "x86-64");
        assert_eq!(level_of("aarch64", &["neon"]), "aarch64");
        assert!(!simd_level().is_empty() && !host().is_empty());
    }
}
