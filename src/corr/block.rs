//! Hierarchical block model: market + sector + sub-sector factors.
//!
//! Asset i has loadings `β_m,i` on a market factor, `β_s,i` on its sector factor
//! and `β_u,i` on its sub-sector factor, all drawn uniformly from the ranges in
//! the spec, and idiosyncratic variance `1 − β_m² − β_s² − β_u²`:
//!
//! `ρ_ij = β_m,i β_m,j + [s(i) = s(j)] β_s,i β_s,j + [u(i) = u(j)] β_u,i β_u,j`.
//!
//! The matrix is a correlation matrix by construction (factor covariance plus a
//! positive diagonal), with positive mean correlation (positive market loadings)
//! and nested clusters. Sectors and sub-sectors have balanced sizes; asset labels
//! are shuffled so the clusters are not contiguous (the study must not depend on
//! asset order).

use super::{CorrSample, CorrSource};
use crate::rng::{Purpose, stream};
use ndarray::Array2;
use rand::RngExt;
use rand::seq::SliceRandom;

/// Parameters of the block model (validated by [`BlockModel::new`]).
#[derive(Clone, Debug, PartialEq)]
pub struct BlockParams {
    pub n: usize,
    pub sectors: usize,
    /// Sub-sectors per sector.
    pub subsectors: usize,
    pub market: [f64; 2],
    pub sector: [f64; 2],
    pub subsector: [f64; 2],
}

impl Default for BlockParams {
    fn default() -> Self {
        BlockParams {
            n: 100,
            sectors: 5,
            subsectors: 3,
            market: [0.3, 0.6],
            sector: [0.2, 0.5],
            subsector: [0.1, 0.4],
        }
    }
}

#[derive(Clone, Debug)]
pub struct BlockModel {
    p: BlockParams,
}

impl BlockModel {
    /// Checks ranges: `0 ≤ lo ≤ hi`, and the largest possible communality
    /// `hi_m² + hi_s² + hi_u²` below 1 so every asset keeps idiosyncratic risk.
    /// Errors name the parameter.
    pub fn new(p: BlockParams) -> Result<Self, (String, String)> {
        if p.n < 2 {
            return Err(("assets".into(), format!("must be at least 2, got {}", p.n)));
        }
        if p.sectors < 1 || p.sectors > p.n {
            return Err((
                "sectors".into(),
                format!(
                    "must be in 1..={} (the number of assets), got {}",
                    p.n, p.sectors
                ),
            ));
        }
        if p.subsectors < 1 || p.sectors * p.subsectors > p.n {
            return Err((
                "subsectors".into(),
                format!(
                    "sectors × subsectors must be in 1..={}, got {} × {}",
                    p.n, p.sectors, p.subsectors
                ),
            ));
        }
        for (key, r) in [
            ("market", p.market),
            ("sector", p.sector),
            ("subsector", p.subsector),
        ] {
            if !(r[0].is_finite() && r[1].is_finite() && 0.0 <= r[0] && r[0] <= r[1] && r[1] < 1.0)
            {
                return Err((
                    key.into(),
                    format!("must be [lo, hi] with 0 <= lo <= hi < 1, got {r:?}"),
                ));
            }
        }
        let comm = p.market[1].powi(2) + p.sector[1].powi(2) + p.subsector[1].powi(2);
        if comm >= 1.0 {
            return Err((
                "market/sector/subsector".into(),
                format!(
                    "the largest loadings give communality {comm:.3} >= 1; hi_market² + hi_sector² + hi_subsector² must be < 1"
                ),
            ));
        }
        Ok(BlockModel { p })
    }

    pub fn params(&self) -> &BlockParams {
        &self.p
    }
}

impl CorrSource for BlockModel {
    fn describe(&self) -> String {
        let p = &self.p;
        format!(
            "block(sectors={}, subsectors={}, market={:?}, sector={:?}, subsector={:?})",
            p.sectors, p.subsectors, p.market, p.sector, p.subsector
        )
    }
    fn dim(&self) -> usize {
        self.p.n
    }
    fn sample(&self, seed: u64, trial: u64) -> Result<CorrSample, crate::Error> {
        let p = &self.p;
        let mut rng = stream(seed, Purpose::Correlation, trial);
        let n = p.n;
        let groups = p.sectors * p.subsectors;
        // Balanced sub-sectors (consecutive groups share a sector), then shuffled.
        let mut sub: Vec<usize> = (0..n).map(|i| i * groups / n).collect();
        sub.shuffle(&mut rng);
        let draw = |rng: &mut rand::rngs::ChaCha8Rng, r: [f64; 2]| {
            if r[0] == r[1] {
                r[0]
            } else {
                rng.random_range(r[0]..r[1])
            }
        };
        let bm: Vec<f64> = (0..n).map(|_| draw(&mut rng, p.market)).collect();
        let bs: Vec<f64> = (0..n).map(|_| draw(&mut rng, p.sector)).collect();
        let bu: Vec<f64> = (0..n).map(|_| draw(&mut rng, p.subsector)).collect();
        let mut c = Array2::<f64>::eye(n);
        for i in 0..n {
            for j in 0..i {
                let mut r = bm[i] * bm[j];
                if sub[i] / p.subsectors == sub[j] / p.subsectors {
                    r += bs[i] * bs[j];
                }
                if sub[i] == sub[j] {
                    r += bu[i] * bu[j];
                }
                c[(i, j)] = r;
                c[(j, i)] = r;
            }
        }
        Ok(CorrSample {
            corr: c,
            diagnostics: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corr::{ValidationTolerance, validate_correlation};

    #[test]
    fn block_matrix_is_valid_positive_and_nested() {
        let m = BlockModel::new(BlockParams {
            n: 40,
            ..Default::default()
        })
        .unwrap();
        let c = m.sample(3, 0).unwrap().corr;
        validate_correlation(c.view(), ValidationTolerance::default()).unwrap();
        let n = c.nrows();
        let mean: f64 = (0..n)
            .flat_map(|i| (0..i).map(move |j| (i, j)))
            .map(|ij| c[ij])
            .sum::<f64>()
            / (n * (n - 1) / 2) as f64;
        assert!(mean > 0.09, "mean correlation {mean}");
        // Three distinct correlation levels per pair type at least: the maximum
        // within-subsector correlation exceeds the maximum market-only one.
        assert!(c.iter().filter(|&&v| v < 1.0).all(|&v| v >= 0.09 - 1e-12));
        assert_ne!(c, m.sample(3, 1).unwrap().corr);
    }

    #[test]
    fn rejects_impossible_loadings() {
        let p = BlockParams {
            market: [0.5, 0.9],
            sector: [0.2, 0.5],
            ..Default::default()
        };
        let (key, msg) = BlockModel::new(p).unwrap_err();
        assert_eq!(key, "market/sector/subsector");
        assert!(msg.contains("communality"));
        let (key, _) = BlockModel::new(BlockParams {
            sector: [0.5, 0.2],
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(key, "sector");
    }
}
