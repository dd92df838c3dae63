//! `BBURCG`, `BBWRCG`: branch-and-bound (Brusco & Stahl 2005). Port in progress.
use super::{Dm, Seriation, SeriationError, registry::Control};
use rand::rngs::ChaCha8Rng;
pub fn bb(
    _d: &Dm,
    _rng: &mut ChaCha8Rng,
    _c: &Control,
    _weighted: bool,
) -> Result<Seriation, SeriationError> {
    Err(SeriationError::Failed(
        "branch-and-bound not ported yet".into(),
    ))
}
