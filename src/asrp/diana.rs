//! DIANA, divisive analysis (Kaufman & Rousseeuw 1990, ch. 6, after
//! Macnaughton-Smith et al. 1964), as R `cluster::diana` computes it.
//!
//! Each cluster C is split in two: the object with the largest average
//! dissimilarity to the rest starts a splinter group S; then, repeatedly, the
//! object x of C∖S maximizing `mean_{y ∈ C∖S, y≠x} d(x,y) − mean_{y ∈ S} d(x,y)`
//! moves to S while that difference is positive (K&R §6.1). The level (banner
//! height) of the split of C is its diameter `max_{x,y ∈ C} d(x,y)`. Every
//! cluster of size ≥ 2 is split until only singletons remain; because the
//! splits of disjoint clusters are independent, the order in which clusters are
//! split (R cycles through the banner) does not change the result.
//!
//! Leaf order, ties and merges follow `cluster`'s C routine `splyt` (twins.c)
//! exactly: within a cluster the objects stay in increasing index order, the
//! part holding the smaller index goes left, ties in the argmax go to the
//! smallest index; the merge list (`as.hclust(diana(.))`) joins the two
//! adjacent blocks around banner position j in increasing banner height, ties
//! toward the rightmost position. `Merge.a`/`b` are the left/right blocks.

use ndarray::ArrayView2;

use crate::cluster::{Merge, Tree};

/// Result of [`diana`].
#[derive(Clone, Debug)]
pub struct Diana {
    /// The hierarchy as agglomerative merges (R `as.hclust(diana(d))`),
    /// heights = diameters of the split clusters.
    pub tree: Tree,
    /// R's `$order` (0-based), equal to `tree.leaf_order()`.
    pub order: Vec<usize>,
    /// R's `$height`: the banner, `banner[k]` = level of the split between
    /// `order[k]` and `order[k + 1]` (length n − 1).
    pub banner: Vec<f64>,
    /// Divisive coefficient `dc` (R `diana(d)$dc`, `cluster`'s `bncoef`):
    /// mean over objects of `1 − l(i)/max level`, `l(i)` the smaller of the two
    /// banner levels beside object i.
    pub dc: f64,
}

/// DIANA on a square distance matrix. O(n³) worst case.
pub fn diana(d: ArrayView2<'_, f64>) -> Diana {
    let nn = d.nrows();
    assert_eq!(d.ncols(), nn, "distance matrix must be square");
    if nn <= 1 {
        return Diana {
            tree: Tree {
                n: nn,
                merges: Vec::new(),
            },
            order: (0..nn).collect(),
            banner: Vec::new(),
            dc: f64::NAN,
        };
    }
    // 1-based arrays as in twins.c; ner holds 1-based object numbers.
    let dys = |a: usize, b: usize| if a == b { 0.0 } else { d[(a - 1, b - 1)] };
    let mut ner: Vec<usize> = (0..=nn).collect();
    let mut kwan: Vec<i64> = vec![0; nn + 1];
    let mut ban: Vec<f64> = vec![0.0; nn + 1];
    kwan[1] = nn as i64;
    let mut cs = 0.0f64;
    for i in 0..nn {
        for j in (i + 1)..nn {
            if cs < d[(i, j)] {
                cs = d[(i, j)];
            }
        }
    }

    #[derive(PartialEq)]
    enum St {
        Split,
        Next,
        Restart,
    }
    let mut ja = 1usize;
    let mut nclu = 1usize;
    let mut st = St::Split;
    loop {
        match st {
            St::Split => {
                let jb = ja + kwan[ja] as usize - 1;
                if kwan[ja] == 2 {
                    kwan[ja] = 1;
                    kwan[jb] = 1;
                    ban[jb] = dys(ner[ja], ner[jb]);
                } else {
                    split_block(&dys, &mut ner, &mut kwan, &mut ban, ja, jb, nclu == 1, cs);
                }
                nclu += 1;
                if nclu >= nn {
                    break;
                }
                st = if jb != nn { St::Next } else { St::Restart };
            }
            St::Next => {
                ja += kwan[ja] as usize;
                st = if ja <= nn {
                    if kwan[ja] <= 1 { St::Next } else { St::Split }
                } else {
                    St::Restart
                };
            }
            St::Restart => {
                ja = 1;
                st = if kwan[ja] == 1 { St::Next } else { St::Split };
            }
        }
    }

    // Merge structure (twins.c, label 500).
    let mut node_of: Vec<usize> = (0..nn).collect(); // object (0-based) -> current node
    let mut members: Vec<Vec<usize>> = (0..nn).map(|i| vec![i]).collect();
    members.resize(2 * nn - 1, Vec::new());
    let mut used = vec![false; nn + 1];
    let mut merges = Vec::with_capacity(nn - 1);
    for k in 0..nn - 1 {
        let mut nj = 0usize;
        let mut dmin = cs;
        for j in 2..=nn {
            if !used[j] && dmin >= ban[j] {
                dmin = ban[j];
                nj = j;
            }
        }
        used[nj] = true;
        let a = node_of[ner[nj - 1] - 1];
        let b = node_of[ner[nj] - 1];
        let mut m = std::mem::take(&mut members[a]);
        m.extend(std::mem::take(&mut members[b]));
        for &i in &m {
            node_of[i] = nn + k;
        }
        let size = m.len();
        members[nn + k] = m;
        merges.push(Merge {
            a,
            b,
            height: dmin,
            size,
        });
    }

    // Divisive coefficient (bncoef, 0-based banner b[0] = 0).
    let b0: Vec<f64> = ban[1..].to_vec();
    let sup = b0[1..]
        .iter()
        .fold(0.0f64, |s, &x| if s < x { x } else { s });
    let mut cf = 0.0;
    for k in 0..nn {
        let kearl = if k > 0 { k } else { 1 };
        let kafte = if k + 1 < nn { k + 1 } else { nn - 1 };
        cf += 1.0 - b0[kearl].min(b0[kafte]) / sup;
    }

    Diana {
        tree: Tree { n: nn, merges },
        order: ner[1..].iter().map(|&x| x - 1).collect(),
        banner: ban[2..].to_vec(),
        dc: cf / nn as f64,
    }
}

/// One split of the block `ner[ja..=jb]` (size ≥ 3), twins.c `splyt` body.
#[allow(clippy::too_many_arguments)]
fn split_block(
    dys: &impl Fn(usize, usize) -> f64,
    ner: &mut [usize],
    kwan: &mut [i64],
    ban: &mut [f64],
    ja: usize,
    jb: usize,
    first: bool,
    cs: f64,
) {
    // first object to be shifted: largest total dissimilarity
    let mut bygsd = -1.0;
    let mut lndsd = ja;
    for l in ja..=jb {
        let lner = ner[l];
        let mut sd = 0.0;
        for &o in &ner[ja..=jb] {
            sd += dys(lner, o);
        }
        if bygsd < sd {
            bygsd = sd;
            lndsd = l;
        }
    }
    kwan[ja] -= 1;
    kwan[jb] = 1;
    if jb != lndsd {
        let lchan = ner[lndsd];
        for lmma in lndsd..jb {
            ner[lmma] = ner[lmma + 1];
        }
        ner[jb] = lchan;
    }
    let mut splyn = 0usize;
    let mut jma = jb - 1;
    let mut jmb;
    loop {
        splyn += 1;
        let rest = (jma - ja) as f64;
        let mut jaway = ja;
        let mut bdyff = -1.0;
        for l in ja..=jma {
            let lner = ner[l];
            let mut da = 0.0;
            for &o in &ner[ja..=jma] {
                da += dys(lner, o);
            }
            da /= rest;
            let mut db = 0.0;
            for &o in &ner[(jma + 1)..=jb] {
                db += dys(lner, o);
            }
            db /= splyn as f64;
            let dyff = da - db;
            if bdyff < dyff {
                bdyff = dyff;
                jaway = l;
            }
        }
        jmb = jma + 1;
        if bdyff <= 0.0 {
            break;
        }
        if jma != jaway {
            let lchan = ner[jaway];
            for lxx in jaway..jma {
                ner[lxx] = ner[lxx + 1];
            }
            ner[jma] = lchan;
        }
        for lxx in jmb..=jb {
            let l1 = lxx - 1;
            if ner[l1] < ner[lxx] {
                break;
            }
            ner.swap(l1, lxx);
        }
        kwan[ja] -= 1;
        kwan[jma] = kwan[jmb] + 1;
        kwan[jmb] = 0;
        jma -= 1;
        jmb = jma + 1;
        if jma == ja {
            break;
        }
    }
    // switch the two parts when necessary (smaller first object goes left)
    if ner[ja] >= ner[jmb] {
        let mut lxxa = ja;
        for lgrb in jmb..=jb {
            lxxa += 1;
            let lchan = ner[lgrb];
            let mut lxg = lgrb;
            for ll in lxxa..=lgrb {
                let lxf = lgrb - ll + lxxa;
                lxg = lxf - 1;
                ner[lxf] = ner[lxg];
            }
            ner[lxg] = lchan;
        }
        let llq = kwan[jmb];
        kwan[jmb] = 0;
        jma = ja + jb - jma - 1;
        jmb = jma + 1;
        kwan[jmb] = kwan[ja];
        kwan[ja] = llq;
    }
    // level for the banner: the diameter of the block
    ban[jmb] = if first {
        cs
    } else {
        let mut dm = 0.0f64;
        for k in ja..jb {
            for j in (k + 1)..=jb {
                let x = dys(ner[k], ner[j]);
                if dm < x {
                    dm = x;
                }
            }
        }
        dm
    };
}
