//! R's default random number generator, for parity tests: with it, corrmc's
//! stochastic methods can replay R's runs draw for draw (e.g. [`super::arsa::anneal`]
//! reproduces R's `SA` orders exactly), which separates algorithmic differences from
//! differences of the random stream. Never used for corrmc's own results (those use
//! ChaCha8 streams, see `crate::rng`).
//!
//! A port of R 4.x `src/main/RNG.c`: `set.seed(seed)` with `RNGkind("Mersenne-Twister",
//! "Inversion", "Rejection")` (R's defaults since 3.6.0), `unif_rand()` (MT19937,
//! Matsumoto & Nishimura 1998, with R's seeding and its fixup into (0, 1)), and
//! `R_unif_index()` (rejection sampling on 16-bit chunks, as `sample.int` uses).

const N: usize = 624;
const M: usize = 397;
/// 2^-32, R's `i2_32m1` fixup constant.
const I2_32M1: f64 = 2.328306437080797e-10;

/// R's Mersenne-Twister state after `set.seed(seed)`.
#[derive(Clone)]
pub struct RMersenneTwister {
    mt: [u32; N],
    mti: usize,
}

impl RMersenneTwister {
    /// R's `set.seed(seed)` (RNG.c `RNG_Init`: 50 rounds of the LCG 69069·s + 1
    /// scramble the seed, 625 further rounds fill the state; the first word is
    /// R's position counter `mti`, reset to 624 by `FixupSeeds`).
    pub fn set_seed(seed: u32) -> Self {
        let mut s = seed;
        for _ in 0..50 {
            s = s.wrapping_mul(69069).wrapping_add(1);
        }
        s = s.wrapping_mul(69069).wrapping_add(1); // dummy[0], overwritten by mti = 624
        let mut mt = [0u32; N];
        for w in mt.iter_mut() {
            s = s.wrapping_mul(69069).wrapping_add(1);
            *w = s;
        }
        RMersenneTwister { mt, mti: N }
    }

    /// RNG.c `MT_genrand`: the next tempered word times 2^-32, in [0, 1).
    fn genrand(&mut self) -> f64 {
        const MAG01: [u32; 2] = [0, 0x9908_b0df];
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        if self.mti >= N {
            let mt = &mut self.mt;
            for kk in 0..N - M {
                let y = (mt[kk] & UPPER) | (mt[kk + 1] & LOWER);
                mt[kk] = mt[kk + M] ^ (y >> 1) ^ MAG01[(y & 1) as usize];
            }
            for kk in N - M..N - 1 {
                let y = (mt[kk] & UPPER) | (mt[kk + 1] & LOWER);
                mt[kk] = mt[kk + M - N] ^ (y >> 1) ^ MAG01[(y & 1) as usize];
            }
            let y = (mt[N - 1] & UPPER) | (mt[0] & LOWER);
            mt[N - 1] = mt[M - 1] ^ (y >> 1) ^ MAG01[(y & 1) as usize];
            self.mti = 0;
        }
        let mut y = self.mt[self.mti];
        self.mti += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y as f64 * 2.328_306_436_538_696_3e-10
    }

    /// R's `unif_rand()` (= `runif(1)`): MT19937 moved into the open interval (0, 1).
    pub fn unif_rand(&mut self) -> f64 {
        let v = self.genrand();
        if v <= 0.0 {
            0.5 * I2_32M1
        } else if 1.0 - v <= 0.0 {
            1.0 - 0.5 * I2_32M1
        } else {
            v
        }
    }

    /// R's `R_unif_index(dn)` with `sample.kind = "Rejection"`: a uniform integer in
    /// 0..dn from ⌈log2 dn⌉ random bits, drawn 16 at a time, rejecting values ≥ dn.
    pub fn unif_index(&mut self, dn: usize) -> usize {
        if dn <= 1 {
            return 0;
        }
        let bits = (dn as f64).log2().ceil() as u32;
        loop {
            let mut v: i64 = 0;
            let mut k = 0;
            while k <= bits {
                let v1 = (self.unif_rand() * 65536.0).floor() as i64;
                v = 65536 * v + v1;
                k += 16;
            }
            let dv = (v & ((1i64 << bits) - 1)) as usize;
            if dv < dn {
                return dv;
            }
        }
    }

    /// R's `sample.int(n, 2)` (`do_sample` without replacement), 0-based.
    pub fn sample2(&mut self, n: usize) -> (usize, usize) {
        // R fills x = 0..n and swaps the drawn element with the last; only the first
        // draw's slot matters for the second.
        let j = self.unif_index(n);
        let k = self.unif_index(n - 1);
        (j, if k == j { n - 1 } else { k })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by R 4.2.2 (`sprintf("%.17g", .)`, here shortest round-trip):
    /// `set.seed(1); runif(3)`;
    /// `set.seed(42); sample.int(30, 2)` = 17 5 and `set.seed(7); sample.int(30, 2)`
    /// = 10 19 (1-based in R).
    #[test]
    fn matches_r() {
        let mut r = RMersenneTwister::set_seed(1);
        let u: Vec<f64> = (0..3).map(|_| r.unif_rand()).collect();
        assert_eq!(
            u,
            [0.2655086631421, 0.37212389963679016, 0.5728533633518964]
        );
        let mut r = RMersenneTwister::set_seed(42);
        assert_eq!(r.sample2(30), (16, 4));
        let mut r = RMersenneTwister::set_seed(7);
        assert_eq!(r.sample2(30), (9, 18));
    }
}
