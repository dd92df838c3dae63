//! The report's figures, each a [`Figure`] built from verdict data.

use super::figure::{
    Anchor, BLACK, Figure, GREY, LIGHT, Rgb, Scale, color, extent, text_width, tick_label, ticks,
};
use crate::verdict::bootstrap::quantile_sorted;
use crate::verdict::paired::{MethodStats, Paired, Ranking};

const FS: f64 = 11.0;
const NO_DATA: &str = "no usable trial (see Failures)";
const IS_COLOR: Rgb = Rgb(31, 119, 180);
const OOS_COLOR: Rgb = Rgb(214, 39, 40);

/// Vertical grid lines and tick labels of a horizontal axis at pixel row `y`.
fn x_axis(f: &mut Figure, s: &Scale, y_top: f64, y: f64, label: &str) {
    let t = ticks(s.d0, s.d1, 5);
    let step = if t.len() > 1 { t[1] - t[0] } else { 1.0 };
    for v in &t {
        let x = s.at(*v);
        f.line(vec![(x, y_top), (x, y)], LIGHT, 1.0, false);
        f.text(
            x,
            y + 13.0,
            &tick_label(*v, step),
            FS - 1.0,
            Anchor::Middle,
            BLACK,
        );
    }
    f.line(vec![(s.p0, y), (s.p1, y)], GREY, 1.0, false);
    if !label.is_empty() {
        f.text(
            0.5 * (s.p0 + s.p1),
            y + 28.0,
            label,
            FS,
            Anchor::Middle,
            BLACK,
        );
    }
}

/// Horizontal grid lines and tick labels of a vertical axis at pixel column `x`.
fn y_axis(f: &mut Figure, s: &Scale, x: f64, x_right: f64) {
    let t = ticks(s.d0.min(s.d1), s.d0.max(s.d1), 5);
    let step = if t.len() > 1 { t[1] - t[0] } else { 1.0 };
    for v in &t {
        let y = s.at(*v);
        f.line(vec![(x, y), (x_right, y)], LIGHT, 1.0, false);
        f.text(
            x - 4.0,
            y + 4.0,
            &tick_label(*v, step),
            FS - 1.0,
            Anchor::End,
            BLACK,
        );
    }
}

fn title(f: &mut Figure, text: &str) {
    f.text(10.0, 18.0, text, FS + 2.0, Anchor::Start, BLACK);
}

/// One method's in-sample and out-of-sample volatilities.
pub struct HistPanel {
    pub method: String,
    pub is_vol: Vec<f64>,
    pub oos_vol: Vec<f64>,
}

/// The blog's figure, per method: histograms of in-sample and out-of-sample
/// volatility over trials with their means (dashed), on a common x-axis (the
/// 0.5–99.5 % range of all values, so that a few outliers do not squash the rest).
pub fn histograms(panels: &[HistPanel], bins: usize) -> Figure {
    let cols = panels.len().clamp(1, 4);
    let rows = panels.len().div_ceil(cols).max(1);
    let (pw, ph) = (300.0, 185.0);
    let top = 44.0;
    let mut f = Figure::new(cols as f64 * pw + 10.0, top + rows as f64 * ph);
    title(
        &mut f,
        "In-sample vs out-of-sample volatility per method (dashed: means)",
    );
    f.rect(330.0, 28.0, 342.0, 38.0, IS_COLOR, 0.55);
    f.text(346.0, 37.0, "in-sample", FS, Anchor::Start, BLACK);
    f.rect(420.0, 28.0, 432.0, 38.0, OOS_COLOR, 0.55);
    f.text(436.0, 37.0, "out-of-sample", FS, Anchor::Start, BLACK);
    let mut all: Vec<f64> = panels
        .iter()
        .flat_map(|p| p.is_vol.iter().chain(&p.oos_vol))
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    all.sort_by(f64::total_cmp);
    let (lo, hi) = if all.is_empty() {
        (0.0, 1.0)
    } else {
        extent(
            &[quantile_sorted(&all, 0.005), quantile_sorted(&all, 0.995)],
            0.04,
        )
    };
    let bins = bins.max(1);
    let width = (hi - lo) / bins as f64;
    for (k, p) in panels.iter().enumerate() {
        let (cx, cy) = ((k % cols) as f64 * pw, top + (k / cols) as f64 * ph);
        let (x0, x1, y0, y1) = (cx + 40.0, cx + pw - 10.0, cy + 20.0, cy + ph - 38.0);
        let count = |v: &[f64]| {
            let mut c = vec![0usize; bins];
            for &x in v.iter().filter(|x| x.is_finite()) {
                let b = ((x - lo) / width).floor();
                if b >= 0.0 && (b as usize) < bins {
                    c[b as usize] += 1;
                }
            }
            c
        };
        let (ci, co) = (count(&p.is_vol), count(&p.oos_vol));
        let ymax = ci.iter().chain(&co).copied().max().unwrap_or(1).max(1) as f64;
        let sx = Scale::new(lo, hi, x0, x1);
        let sy = Scale::new(0.0, ymax * 1.08, y1, y0);
        f.text(
            cx + 0.5 * pw,
            cy + 12.0,
            &p.method,
            FS,
            Anchor::Middle,
            BLACK,
        );
        y_axis(&mut f, &sy, x0, x1);
        x_axis(
            &mut f,
            &sx,
            y0,
            y1,
            if k / cols == rows - 1 {
                "annualized volatility"
            } else {
                ""
            },
        );
        for (name, c, v, col) in [
            ("in-sample", &ci, &p.is_vol, IS_COLOR),
            ("out-of-sample", &co, &p.oos_vol, OOS_COLOR),
        ] {
            f.begin_series(&format!("{} {name}", p.method));
            for (b, &n) in c.iter().enumerate() {
                if n > 0 {
                    let a = lo + b as f64 * width;
                    f.rect(
                        sx.at(a),
                        sy.at(0.0),
                        sx.at(a + width),
                        sy.at(n as f64),
                        col,
                        0.55,
                    );
                }
            }
            let ok: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
            if !ok.is_empty() {
                let m = ok.iter().sum::<f64>() / ok.len() as f64;
                if m >= lo && m <= hi {
                    f.line(vec![(sx.at(m), y0), (sx.at(m), y1)], col, 1.5, true);
                }
            }
            f.end_series();
        }
    }
    f
}

/// Left margin that fits the longest label.
fn label_margin(labels: impl Iterator<Item = String>) -> f64 {
    labels
        .map(|l| text_width(&l, FS))
        .fold(60.0f64, f64::max)
        .min(360.0)
        + 14.0
}

/// Methods ranked by mean (best first) with bootstrap interval whiskers (t-interval
/// when no bootstrap was run).
pub fn ranking(r: &Ranking, baseline: &str) -> Figure {
    let n = r.entries.len();
    let left = label_margin(
        r.entries
            .iter()
            .map(|e| format!("{}. {}", e.rank, e.method)),
    );
    let (w, row) = (left + 480.0, 16.0);
    let (top, bottom) = (34.0, 44.0);
    let mut f = Figure::new(w, top + n as f64 * row + bottom);
    title(
        &mut f,
        &format!(
            "Ranking by mean {} ({}); whiskers: 95% interval",
            r.measure,
            r.better.describe()
        ),
    );
    let ci = |e: &crate::verdict::paired::RankEntry| {
        if e.boot_ci[0].is_finite() {
            e.boot_ci
        } else {
            e.t_ci
        }
    };
    let (lo, hi) = extent(
        r.entries
            .iter()
            .flat_map(|e| [e.mean, ci(e)[0], ci(e)[1]])
            .collect::<Vec<_>>()
            .iter(),
        0.05,
    );
    let sx = Scale::new(lo, hi, left, w - 20.0);
    let y_end = top + n as f64 * row;
    x_axis(&mut f, &sx, top, y_end, r.measure);
    f.begin_series(&format!("mean {}", r.measure));
    for (i, e) in r.entries.iter().enumerate() {
        let y = top + (i as f64 + 0.5) * row;
        let c = if e.method == baseline {
            OOS_COLOR
        } else {
            IS_COLOR
        };
        f.text(
            left - 6.0,
            y + 4.0,
            &format!("{}. {}", e.rank, e.method),
            FS,
            Anchor::End,
            BLACK,
        );
        if !e.mean.is_finite() {
            f.text(left + 6.0, y + 4.0, NO_DATA, FS - 1.0, Anchor::Start, GREY);
        }
        let b = ci(e);
        f.line(vec![(sx.at(b[0]), y), (sx.at(b[1]), y)], c, 1.5, false);
        f.circle(sx.at(e.mean), y, 3.0, c);
    }
    f.end_series();
    f
}

/// Relative paired differences (%) against the baseline, per method: t-interval
/// (thin) and bootstrap interval (thick), sorted by the difference.
pub fn paired_intervals(rows: &[&Paired], baseline: &str, measure: &str) -> Figure {
    let mut rows: Vec<&Paired> = rows.to_vec();
    let key = |p: &Paired| {
        if p.rel.is_finite() {
            p.rel
        } else {
            f64::INFINITY
        }
    };
    rows.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let n = rows.len();
    let left = label_margin(rows.iter().map(|p| p.method.clone()));
    let (w, row) = (left + 480.0, 18.0);
    let (top, bottom) = (48.0, 44.0);
    let mut f = Figure::new(w, top + n as f64 * row + bottom);
    title(
        &mut f,
        &format!("{measure}: paired difference vs {baseline}, % of {baseline}'s mean"),
    );
    f.line(vec![(left, 33.0), (left + 20.0, 33.0)], GREY, 1.2, false);
    f.text(left + 24.0, 37.0, "t-interval", FS, Anchor::Start, BLACK);
    f.line(
        vec![(left + 110.0, 33.0), (left + 130.0, 33.0)],
        IS_COLOR,
        4.0,
        false,
    );
    f.text(
        left + 134.0,
        37.0,
        "bootstrap interval (dot: mean)",
        FS,
        Anchor::Start,
        BLACK,
    );
    let vals: Vec<f64> = rows
        .iter()
        .flat_map(|p| {
            [
                0.0,
                p.rel,
                p.rel_t_ci[0],
                p.rel_t_ci[1],
                p.rel_boot_ci[0],
                p.rel_boot_ci[1],
            ]
        })
        .map(|v| 100.0 * v)
        .collect();
    let (lo, hi) = extent(vals.iter(), 0.05);
    let sx = Scale::new(lo, hi, left, w - 20.0);
    let y_end = top + n as f64 * row;
    x_axis(
        &mut f,
        &sx,
        top,
        y_end,
        &format!("{measure} difference, % of {baseline}"),
    );
    f.line(
        vec![(sx.at(0.0), top), (sx.at(0.0), y_end)],
        BLACK,
        1.0,
        true,
    );
    for (i, p) in rows.iter().enumerate() {
        let y = top + (i as f64 + 0.5) * row;
        f.text(left - 6.0, y + 4.0, &p.method, FS, Anchor::End, BLACK);
        if !p.rel.is_finite() {
            f.text(left + 6.0, y + 4.0, NO_DATA, FS - 1.0, Anchor::Start, GREY);
        }
    }
    f.begin_series("t-interval");
    for (i, p) in rows.iter().enumerate() {
        let y = top + (i as f64 + 0.5) * row - 3.0;
        f.line(
            vec![
                (sx.at(100.0 * p.rel_t_ci[0]), y),
                (sx.at(100.0 * p.rel_t_ci[1]), y),
            ],
            GREY,
            1.2,
            false,
        );
    }
    f.end_series();
    f.begin_series("bootstrap");
    for (i, p) in rows.iter().enumerate() {
        let y = top + (i as f64 + 0.5) * row + 2.0;
        f.line(
            vec![
                (sx.at(100.0 * p.rel_boot_ci[0]), y),
                (sx.at(100.0 * p.rel_boot_ci[1]), y),
            ],
            IS_COLOR,
            4.0,
            false,
        );
        f.circle(sx.at(100.0 * p.rel), y, 2.5, BLACK);
    }
    f.end_series();
    f
}

/// Per method, the distribution of a measure: 5–95 % whisker, 25–75 % box, median
/// bar and mean dot; `reference` draws a dashed line (e.g. 1 for the oos/is ratio).
pub fn distributions(methods: &[MethodStats], measure: &str, reference: Option<f64>) -> Figure {
    let n = methods.len();
    let left = label_margin(methods.iter().map(|m| m.method.clone()));
    let (w, row) = (left + 480.0, 18.0);
    let (top, bottom) = (34.0, 44.0);
    let mut f = Figure::new(w, top + n as f64 * row + bottom);
    title(
        &mut f,
        &format!("{measure} per method: 5–95% whisker, 25–75% box, median, mean (dot)"),
    );
    let d: Vec<_> = methods
        .iter()
        .map(|m| {
            m.distributions
                .iter()
                .find(|(k, _)| *k == measure)
                .map(|x| x.1.clone())
        })
        .collect();
    let mut vals: Vec<f64> = d
        .iter()
        .flatten()
        .flat_map(|x| [x.q05, x.q95, x.mean])
        .collect();
    if let Some(r) = reference {
        vals.push(r);
    }
    let (lo, hi) = extent(vals.iter(), 0.05);
    let sx = Scale::new(lo, hi, left, w - 20.0);
    let y_end = top + n as f64 * row;
    x_axis(&mut f, &sx, top, y_end, measure);
    if let Some(r) = reference {
        f.line(vec![(sx.at(r), top), (sx.at(r), y_end)], BLACK, 1.0, true);
    }
    f.begin_series("quantiles");
    for (i, (m, q)) in methods.iter().zip(&d).enumerate() {
        let y = top + (i as f64 + 0.5) * row;
        f.text(left - 6.0, y + 4.0, &m.method, FS, Anchor::End, BLACK);
        if let Some(q) = q.as_ref().filter(|q| q.n > 0) {
            f.line(vec![(sx.at(q.q05), y), (sx.at(q.q95), y)], GREY, 1.2, false);
            f.rect(sx.at(q.q25), y - 5.0, sx.at(q.q75), y + 5.0, IS_COLOR, 0.6);
            f.line(
                vec![(sx.at(q.median), y - 6.0), (sx.at(q.median), y + 6.0)],
                BLACK,
                1.5,
                false,
            );
            f.circle(sx.at(q.mean), y, 2.5, OOS_COLOR);
        } else {
            f.text(left + 6.0, y + 4.0, NO_DATA, FS - 1.0, Anchor::Start, GREY);
        }
    }
    f.end_series();
    f
}

/// One line per method of a measure's mean (with its interval as a band) against
/// a swept parameter.
pub struct SweepLine {
    pub method: String,
    /// Per x position: (mean, interval low, interval high).
    pub points: Vec<(f64, f64, f64)>,
}

/// A measure against a swept key: x values are numeric when all parse, otherwise
/// categories in grid order.
pub fn sweep_chart(
    key: &str,
    xs: &[String],
    lines: &[SweepLine],
    measure: &str,
    note: &str,
) -> Figure {
    let numeric: Option<Vec<f64>> = xs.iter().map(|x| x.parse::<f64>().ok()).collect();
    let xv: Vec<f64> = numeric
        .clone()
        .unwrap_or_else(|| (0..xs.len()).map(|i| i as f64).collect());
    let legend_w = lines
        .iter()
        .map(|l| text_width(&l.method, FS))
        .fold(0.0, f64::max)
        + 30.0;
    let (left, plot_w) = (60.0, 460.0);
    let w = left + plot_w + 20.0 + legend_w;
    let (top, bottom, plot_h) = (44.0, 48.0, 280.0);
    let mut f = Figure::new(w, top + plot_h + bottom);
    title(
        &mut f,
        &format!("{measure} vs {key} (band: 95% interval of the mean)"),
    );
    if !note.is_empty() {
        f.text(10.0, 34.0, note, FS - 1.0, Anchor::Start, GREY);
    }
    let (xlo, xhi) = extent(xv.iter(), 0.05);
    let sx = Scale::new(xlo, xhi, left, left + plot_w);
    let all: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().flat_map(|p| [p.0, p.1, p.2]))
        .collect();
    let (ylo, yhi) = extent(all.iter(), 0.05);
    let sy = Scale::new(ylo, yhi, top + plot_h, top);
    y_axis(&mut f, &sy, left, left + plot_w);
    if numeric.is_some() {
        x_axis(&mut f, &sx, top, top + plot_h, key);
    } else {
        f.line(
            vec![(left, top + plot_h), (left + plot_w, top + plot_h)],
            GREY,
            1.0,
            false,
        );
        for (x, label) in xv.iter().zip(xs) {
            f.text(
                sx.at(*x),
                top + plot_h + 13.0,
                label,
                FS - 1.0,
                Anchor::Middle,
                BLACK,
            );
        }
        f.text(
            left + 0.5 * plot_w,
            top + plot_h + 28.0,
            key,
            FS,
            Anchor::Middle,
            BLACK,
        );
    }
    for (k, l) in lines.iter().enumerate() {
        let c = color(k);
        f.begin_series(&l.method);
        let ok: Vec<(f64, &(f64, f64, f64))> = xv
            .iter()
            .copied()
            .zip(&l.points)
            .filter(|(_, p)| p.1.is_finite() && p.2.is_finite())
            .collect();
        if ok.len() >= 2 {
            let mut band: Vec<(f64, f64)> =
                ok.iter().map(|(x, p)| (sx.at(*x), sy.at(p.2))).collect();
            band.extend(ok.iter().rev().map(|(x, p)| (sx.at(*x), sy.at(p.1))));
            f.poly(band, c, 0.15);
        }
        f.line(
            xv.iter()
                .zip(&l.points)
                .map(|(x, p)| (sx.at(*x), sy.at(p.0)))
                .collect(),
            c,
            1.8,
            false,
        );
        for (x, p) in xv.iter().zip(&l.points) {
            if p.0.is_finite() {
                f.circle(sx.at(*x), sy.at(p.0), 2.5, c);
            }
        }
        f.end_series();
        let ly = top + 10.0 + 16.0 * k as f64;
        let lx = left + plot_w + 20.0;
        f.line(vec![(lx, ly - 4.0), (lx + 18.0, ly - 4.0)], c, 2.0, false);
        f.text(lx + 22.0, ly, &l.method, FS, Anchor::Start, BLACK);
    }
    f
}

/// Single-linkage dendrogram of the methods (leaves left to right in tree order,
/// height = merge distance sqrt((1 − ρ)/2)).
pub fn dendrogram(t: &crate::verdict::taxonomy::Taxonomy) -> Figure {
    let n = t.methods.len();
    let (left, col) = (60.0, 14.0);
    let w = left + n as f64 * col + 20.0;
    let (top, plot_h) = (34.0, 260.0);
    // Leaf labels are written one per line under the axis, numbered, with a key.
    let key_h = 14.0 * n.div_ceil(3) as f64 + 10.0;
    let mut f = Figure::new(w.max(640.0), top + plot_h + 30.0 + key_h);
    title(
        &mut f,
        "Strategy taxonomy: single linkage on sqrt((1 − ρ)/2) of out-of-sample portfolio returns",
    );
    let hmax = t.merges.iter().map(|m| m.2).fold(0.0, f64::max).max(1e-9);
    let sy = Scale::new(0.0, hmax * 1.05, top + plot_h, top);
    y_axis(&mut f, &sy, left, left + n as f64 * col);
    let mut x = vec![0.0; 2 * n];
    let mut h = vec![0.0; 2 * n];
    for (pos, &leaf) in t.order.iter().enumerate() {
        x[leaf] = left + (pos as f64 + 0.5) * col;
    }
    f.begin_series("dendrogram");
    for (k, &(a, b, height)) in t.merges.iter().enumerate() {
        let node = n + k;
        x[node] = 0.5 * (x[a] + x[b]);
        h[node] = height;
        f.line(
            vec![
                (x[a], sy.at(h[a])),
                (x[a], sy.at(height)),
                (x[b], sy.at(height)),
                (x[b], sy.at(h[b])),
            ],
            IS_COLOR,
            1.3,
            false,
        );
    }
    f.end_series();
    for (pos, &leaf) in t.order.iter().enumerate() {
        f.text(
            left + (pos as f64 + 0.5) * col,
            top + plot_h + 13.0,
            &(pos + 1).to_string(),
            FS - 3.0,
            Anchor::Middle,
            BLACK,
        );
        let (r, c) = (pos / 3, pos % 3);
        f.text(
            10.0 + c as f64 * 0.33 * f.w,
            top + plot_h + 36.0 + 14.0 * r as f64,
            &format!("{}. {}", pos + 1, t.methods[leaf]),
            FS - 1.0,
            Anchor::Start,
            BLACK,
        );
    }
    f
}

/// Heatmap of the mean similarity ρ in dendrogram order (white 0 → dark blue 1,
/// red below 0).
pub fn heatmap(t: &crate::verdict::taxonomy::Taxonomy, rho: &ndarray::Array2<f64>) -> Figure {
    let n = t.order.len();
    let left = label_margin(t.methods.iter().cloned());
    let cell = (560.0 / n.max(1) as f64).clamp(6.0, 28.0);
    let top = 40.0;
    let mut f = Figure::new(left + n as f64 * cell + 90.0, top + n as f64 * cell + 20.0);
    title(
        &mut f,
        "Mean out-of-sample portfolio correlation ρ, dendrogram order",
    );
    let shade = |v: f64| -> Rgb {
        if !v.is_finite() {
            return LIGHT;
        }
        let v = v.clamp(-1.0, 1.0);
        if v >= 0.0 {
            let a = v;
            Rgb(
                (255.0 - a * 247.0) as u8,
                (255.0 - a * 207.0) as u8,
                (255.0 - a * 148.0) as u8,
            )
        } else {
            let a = -v;
            Rgb(255, (255.0 - a * 200.0) as u8, (255.0 - a * 200.0) as u8)
        }
    };
    f.begin_series("similarity");
    for (r, &i) in t.order.iter().enumerate() {
        for (c, &j) in t.order.iter().enumerate() {
            let (x, y) = (left + c as f64 * cell, top + r as f64 * cell);
            f.rect(x, y, x + cell, y + cell, shade(rho[(i, j)]), 1.0);
        }
    }
    f.end_series();
    for (r, &i) in t.order.iter().enumerate() {
        f.text(
            left - 4.0,
            top + (r as f64 + 0.75) * cell,
            &t.methods[i],
            (cell - 2.0).min(FS),
            Anchor::End,
            BLACK,
        );
    }
    let lx = left + n as f64 * cell + 20.0;
    for k in 0..=10 {
        let v = 1.0 - 0.2 * k as f64;
        let y = top + k as f64 * 14.0;
        f.rect(lx, y, lx + 14.0, y + 14.0, shade(v), 1.0);
        f.text(
            lx + 18.0,
            y + 11.0,
            &format!("{v:+.1}"),
            FS - 1.0,
            Anchor::Start,
            BLACK,
        );
    }
    f
}

/// Stylized facts of the matrices used: one histogram per fact (one series each),
/// with the mean dashed. `panels` are (fact name, per-matrix values).
pub fn fact_histograms(panels: &[(&str, &[f64])], bins: usize) -> Figure {
    let cols = panels.len().clamp(1, 3);
    let rows = panels.len().div_ceil(cols).max(1);
    let (pw, ph) = (300.0, 185.0);
    let top = 34.0;
    let mut f = Figure::new(cols as f64 * pw + 10.0, top + rows as f64 * ph);
    title(
        &mut f,
        "Stylized facts of the correlation matrices used (dashed: means)",
    );
    let bins = bins.max(1);
    for (k, (name, values)) in panels.iter().enumerate() {
        let (cx, cy) = ((k % cols) as f64 * pw, top + (k / cols) as f64 * ph);
        let (x0, x1, y0, y1) = (cx + 40.0, cx + pw - 10.0, cy + 20.0, cy + ph - 38.0);
        f.text(cx + 0.5 * pw, cy + 12.0, name, FS, Anchor::Middle, BLACK);
        let ok: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        f.begin_series(name);
        if ok.is_empty() {
            f.text(x0 + 6.0, y0 + 20.0, NO_DATA, FS - 1.0, Anchor::Start, GREY);
            f.end_series();
            continue;
        }
        let (mut lo, mut hi) = extent(ok.iter(), 0.04);
        if hi - lo < 1e-9 * hi.abs().max(1.0) {
            // One value (e.g. every first eigenvector one-signed): a visible bar.
            (lo, hi) = (lo - 0.05 * lo.abs().max(1.0), hi + 0.05 * hi.abs().max(1.0));
        }
        let width = (hi - lo) / bins as f64;
        let mut c = vec![0usize; bins];
        for &x in &ok {
            let b = (((x - lo) / width).floor().max(0.0) as usize).min(bins - 1);
            c[b] += 1;
        }
        let ymax = c.iter().copied().max().unwrap_or(1).max(1) as f64;
        let sx = Scale::new(lo, hi, x0, x1);
        let sy = Scale::new(0.0, ymax * 1.08, y1, y0);
        y_axis(&mut f, &sy, x0, x1);
        x_axis(&mut f, &sx, y0, y1, "");
        for (b, &n) in c.iter().enumerate() {
            if n > 0 {
                let a = lo + b as f64 * width;
                f.rect(
                    sx.at(a),
                    sy.at(0.0),
                    sx.at(a + width),
                    sy.at(n as f64),
                    IS_COLOR,
                    0.6,
                );
            }
        }
        let m = ok.iter().sum::<f64>() / ok.len() as f64;
        f.line(vec![(sx.at(m), y0), (sx.at(m), y1)], OOS_COLOR, 1.5, true);
        f.end_series();
    }
    f
}
