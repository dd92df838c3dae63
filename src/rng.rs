//! Counter-based randomness: every random draw of a study is a pure function of
//! (seed, purpose, trial), so results do not depend on thread count, batch size,
//! machine split or execution order.
//!
//! Each purpose (correlation source, volatilities, expected returns, return
//! paths and their tail mixing, a stochastic method) gets its own ChaCha8 key derived from the study seed; the trial index
//! selects the ChaCha stream. Adding a method therefore never changes the draws of
//! another, and the CorrGAN noise of trial *i* is the same whatever the batch.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

/// What a random stream is used for. The discriminant is part of the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Drawing the true correlation matrix.
    Correlation,
    /// Drawing per-asset volatilities.
    Volatility,
    /// The in-sample Gaussian return path.
    InSample,
    /// The out-of-sample Gaussian return path.
    OutOfSample,
    /// Resampling trials for bootstrap confidence intervals of a finished study
    /// (the "trial" index is the resample index); see `verdict::bootstrap`.
    Bootstrap,
    /// Per-asset Sharpe ratios of the `sharpe` return model (`[returns]`).
    ExpectedReturns,
    /// The per-day mixing variables of Student-t in-sample paths.
    InSampleTails,
    /// The per-day mixing variables of Student-t out-of-sample paths.
    OutOfSampleTails,
}

impl Purpose {
    fn tag(self) -> u64 {
        match self {
            Purpose::Correlation => 1,
            Purpose::Volatility => 2,
            Purpose::InSample => 3,
            Purpose::OutOfSample => 4,
            Purpose::Bootstrap => 5,
            Purpose::ExpectedReturns => 6,
            Purpose::InSampleTails => 7,
            Purpose::OutOfSampleTails => 8,
        }
    }
}

/// SplitMix64 finalizer (Steele, Lea & Flood 2014): a bijective mixer, so distinct
/// (seed, tag) pairs give well-separated keys.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a string: a stable tag for per-method streams (keyed by method name,
/// so a method's draws do not depend on which other methods run).
pub fn name_tag(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn stream_from_tag(seed: u64, tag: u64, trial: u64) -> ChaCha8Rng {
    let key = splitmix64(seed ^ splitmix64(tag));
    let mut rng = ChaCha8Rng::seed_from_u64(key);
    rng.set_stream(trial);
    rng
}

/// The random stream for `purpose` in trial `trial` of a study seeded with `seed`.
pub fn stream(seed: u64, purpose: Purpose, trial: u64) -> ChaCha8Rng {
    stream_from_tag(seed, purpose.tag(), trial)
}

/// The random stream of a stochastic method (e.g. a randomized seriation) in a trial.
pub fn method_stream(seed: u64, method: &str, trial: u64) -> ChaCha8Rng {
    stream_from_tag(seed, name_tag(method) | 0x8000_0000_0000_0000, trial)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_distinct_and_repeatable() {
        let a: u64 = stream(7, Purpose::InSample, 3).random();
        let b: u64 = stream(7, Purpose::InSample, 3).random();
        let c: u64 = stream(7, Purpose::InSample, 4).random();
        let d: u64 = stream(7, Purpose::OutOfSample, 3).random();
        let e: u64 = stream(8, Purpose::InSample, 3).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_ne!(a, e);
        let m1: u64 = method_stream(7, "HRP_ser_ARSA", 3).random();
        let m2: u64 = method_stream(7, "HRP_ser_SA", 3).random();
        assert_ne!(m1, m2);
    }
}
