//! Inputs shared by the kernel benches: a 100×100 sample covariance of 756 days.
use ndarray::Array2;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

unsafe extern "C" {
    fn openblas_set_num_threads(n: i32);
}

/// One BLAS thread, as corrmc would run it inside rayon workers.
pub fn single_threaded_blas() {
    unsafe { openblas_set_num_threads(1) }
}

pub fn returns(t: usize, n: usize) -> Array2<f64> {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(1);
    Array2::from_shape_simple_fn((t, n), || StandardNormal.sample(&mut rng))
}

pub fn spd(n: usize) -> Array2<f64> {
    let x = returns(756, n);
    let mut s = x.t().dot(&x) / 755.0;
    for i in 0..n {
        s[(i, i)] += 1e-3;
    }
    s
}
