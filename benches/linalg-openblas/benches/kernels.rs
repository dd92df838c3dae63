use corrmc_linalg_compare::{returns, single_threaded_blas, spd};
use criterion::{Criterion, criterion_group, criterion_main};
use faer::{MatRef, Side};
use ndarray::Array1;
use ndarray_linalg::{Cholesky, Eigh, FactorizeC, Solve, UPLO};
use std::hint::black_box;

fn kernels(c: &mut Criterion) {
    single_threaded_blas();
    let n = 100;
    let a = spd(n);
    let fa = MatRef::from_row_major_slice(a.as_slice().unwrap(), n, n);
    let b = Array1::<f64>::ones(n);
    let x = returns(756, n);
    let fx = MatRef::from_row_major_slice(x.as_slice().unwrap(), 756, n);

    let mut g = c.benchmark_group("n100");
    g.bench_function("cholesky/openblas", |bch| bch.iter(|| black_box(a.cholesky(UPLO::Lower).unwrap())));
    g.bench_function("cholesky/faer", |bch| bch.iter(|| black_box(fa.llt(Side::Lower).unwrap())));
    g.bench_function("solve_spd/openblas", |bch| {
        bch.iter(|| {
            let l = a.factorizec(UPLO::Lower).unwrap();
            black_box(ndarray_linalg::SolveC::solvec(&l, &b).unwrap())
        })
    });
    g.bench_function("solve_lu/openblas", |bch| bch.iter(|| black_box(a.solve(&b).unwrap())));
    g.bench_function("solve_spd/faer", |bch| {
        bch.iter(|| {
            use faer::linalg::solvers::Solve as _;
            let llt = fa.llt(Side::Lower).unwrap();
            let rhs = faer::Mat::<f64>::from_fn(n, 1, |_, _| 1.0);
            black_box(llt.solve(rhs))
        })
    });
    g.bench_function("eigh/openblas", |bch| bch.iter(|| black_box(a.eigh(UPLO::Lower).unwrap())));
    g.bench_function("eigh/faer", |bch| bch.iter(|| black_box(fa.self_adjoint_eigen(Side::Lower).unwrap())));
    g.bench_function("gram_756x100/openblas", |bch| bch.iter(|| black_box(x.t().dot(&x))));
    g.bench_function("gram_756x100/faer", |bch| {
        bch.iter(|| {
            let mut out = faer::Mat::<f64>::zeros(n, n);
            faer::linalg::matmul::matmul(out.as_mut(), faer::Accum::Replace, fx.transpose(), fx, 1.0, faer::Par::Seq);
            black_box(out)
        })
    });
    g.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
