//! Per-trial choice among candidate trees (ASRP families 3 and 4): evaluate a
//! measure on every candidate and pick the best, ties toward the earlier
//! candidate.
//!
//! Family 3's nine measures are here ([`FitMeasure`]); family 4's seriation
//! criteria are computed elsewhere and can use [`select_best`] directly.

use ndarray::ArrayView2;

use super::fit;
use crate::cluster::Tree;

/// Which value of a measure is best.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Min,
    Max,
    /// Smallest `|x − 1|`.
    ClosestToOne,
}

/// The nine distance-fit measures of ASRP family 3
/// (`HRP_hcs-adaptive_<package>_<criterion>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FitMeasure {
    /// clue euclidean ‖u − v‖₂ (min).
    Euclidean,
    /// clue manhattan ‖u − v‖₁ (min).
    Manhattan,
    /// clue cophenetic correlation cor(u, v) (max).
    Cophenetic,
    /// clue gamma, rate of inversions (min).
    Gamma,
    /// clue spectral norm of u − v (min).
    Spectral,
    /// mdendro space distortion ratio (closest to 1).
    Sdr,
    /// mdendro agglomerative coefficient (max).
    Ac,
    /// mdendro chaining coefficient (min).
    Cc,
    /// mdendro tree balance (max).
    Tb,
}

impl FitMeasure {
    pub const ALL: [FitMeasure; 9] = [
        FitMeasure::Euclidean,
        FitMeasure::Manhattan,
        FitMeasure::Cophenetic,
        FitMeasure::Gamma,
        FitMeasure::Spectral,
        FitMeasure::Sdr,
        FitMeasure::Ac,
        FitMeasure::Cc,
        FitMeasure::Tb,
    ];

    /// The `<package>_<criterion>` part of the variant name.
    pub fn name(self) -> &'static str {
        match self {
            FitMeasure::Euclidean => "clue_euclidean",
            FitMeasure::Manhattan => "clue_manhattan",
            FitMeasure::Cophenetic => "clue_cophenetic",
            FitMeasure::Gamma => "clue_gamma",
            FitMeasure::Spectral => "clue_spectral",
            FitMeasure::Sdr => "mdendro_sdr",
            FitMeasure::Ac => "mdendro_ac",
            FitMeasure::Cc => "mdendro_cc",
            FitMeasure::Tb => "mdendro_tb",
        }
    }

    pub fn direction(self) -> Direction {
        match self {
            FitMeasure::Euclidean
            | FitMeasure::Manhattan
            | FitMeasure::Gamma
            | FitMeasure::Spectral
            | FitMeasure::Cc => Direction::Min,
            FitMeasure::Cophenetic | FitMeasure::Ac | FitMeasure::Tb => Direction::Max,
            FitMeasure::Sdr => Direction::ClosestToOne,
        }
    }

    /// clue measures (the first five) vs mdendro descriptors.
    pub fn is_clue(self) -> bool {
        matches!(
            self,
            FitMeasure::Euclidean
                | FitMeasure::Manhattan
                | FitMeasure::Cophenetic
                | FitMeasure::Gamma
                | FitMeasure::Spectral
        )
    }

    /// Value of the measure for `tree` (cophenetic matrix `u`) against `d`.
    /// As clue, the clue measures are NaN (R: NA) for a tree whose merge
    /// heights are not sorted ([`fit::heights_sorted`]: centroid / median
    /// inversions), so such a tree is never chosen by them; mdendro computes
    /// its descriptors for every tree.
    pub fn eval(self, tree: &Tree, u: ArrayView2<'_, f64>, d: ArrayView2<'_, f64>) -> f64 {
        if self.is_clue() && !fit::heights_sorted(tree) {
            return f64::NAN;
        }
        match self {
            FitMeasure::Euclidean => fit::euclidean(u, d),
            FitMeasure::Manhattan => fit::manhattan(u, d),
            FitMeasure::Cophenetic => fit::cophenetic_correlation(u, d),
            FitMeasure::Gamma => fit::gamma(u, d),
            FitMeasure::Spectral => fit::spectral(u, d),
            FitMeasure::Sdr => fit::space_distortion_ratio(u, d),
            FitMeasure::Ac => fit::agglomerative_coefficient(tree),
            FitMeasure::Cc => fit::chaining_coefficient(tree),
            FitMeasure::Tb => fit::tree_balance(tree),
        }
    }
}

/// Index of the best value, ties toward the earlier index. NaN values are
/// never chosen; `None` if every value is NaN or `values` is empty.
pub fn select_best(values: &[f64], direction: Direction) -> Option<usize> {
    let key = |x: f64| match direction {
        Direction::Min => x,
        Direction::Max => -x,
        Direction::ClosestToOne => (x - 1.0).abs(),
    };
    let mut best: Option<(usize, f64)> = None;
    for (i, &x) in values.iter().enumerate() {
        if x.is_nan() {
            continue;
        }
        let k = key(x);
        if best.is_none_or(|(_, b)| k < b) {
            best = Some((i, k));
        }
    }
    best.map(|(i, _)| i)
}

/// One measure over all candidates.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    pub measure: FitMeasure,
    /// `values[t]`: the measure for candidate t.
    pub values: Vec<f64>,
    /// [`select_best`] of `values` (None only if all are NaN).
    pub chosen: Option<usize>,
}

/// Evaluate `measures` on every candidate tree (each cophenetic matrix is
/// computed once) and choose per measure. Pure function of its inputs.
pub fn select_trees(
    trees: &[Tree],
    d: ArrayView2<'_, f64>,
    measures: &[FitMeasure],
) -> Vec<Selection> {
    let mut values = vec![Vec::with_capacity(trees.len()); measures.len()];
    for t in trees {
        let u = fit::cophenetic(t);
        for (k, m) in measures.iter().enumerate() {
            values[k].push(m.eval(t, u.view(), d));
        }
    }
    measures
        .iter()
        .zip(values)
        .map(|(&measure, values)| Selection {
            measure,
            chosen: select_best(&values, measure.direction()),
            values,
        })
        .collect()
}
