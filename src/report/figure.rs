//! A small 2-D display list rendered to SVG (text as `<text>`, for the HTML page)
//! and to PNG (rasterized here: anti-aliased polygons with `ab_glyph_rasterizer`,
//! text with the embedded DejaVu Sans through `ab_glyph`), so no system font,
//! browser or native library is needed to draw a figure.
//!
//! Why not `plotters`: its released versions (0.3.7) draw bitmap text only through
//! `font-kit` (system fonts); the figures here need a handful of primitives, and a
//! display list gives both formats from one drawing code path. Each data series is
//! wrapped in `<g class="series" data-name="…">` so tests (and readers of the SVG)
//! can count and identify series.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use ab_glyph_rasterizer::{Rasterizer, point};
use std::fmt::Write as _;

/// DejaVu Sans 2.37 from Debian's fonts-dejavu-core (Bitstream Vera license, see
/// assets/fonts/DejaVu-LICENSE.txt).
pub static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

fn font() -> FontRef<'static> {
    FontRef::try_from_slice(FONT_BYTES).expect("embedded font parses")
}

/// Width in pixels of `text` at `size` px in the embedded font (used to lay out
/// both formats identically).
pub fn text_width(text: &str, size: f64) -> f64 {
    let f = font();
    let sf = f.as_scaled(PxScale::from(size as f32));
    text.chars()
        .map(|c| sf.h_advance(f.glyph_id(c)) as f64)
        .sum()
}

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

pub const BLACK: Rgb = Rgb(0, 0, 0);
pub const GREY: Rgb = Rgb(150, 150, 150);
pub const LIGHT: Rgb = Rgb(225, 225, 225);
/// Tableau 10 (matplotlib's default cycle).
pub const PALETTE: [Rgb; 10] = [
    Rgb(31, 119, 180),
    Rgb(255, 127, 14),
    Rgb(44, 160, 44),
    Rgb(214, 39, 40),
    Rgb(148, 103, 189),
    Rgb(140, 86, 75),
    Rgb(227, 119, 194),
    Rgb(127, 127, 127),
    Rgb(188, 189, 34),
    Rgb(23, 190, 207),
];

/// The `i`-th series colour (cycles).
pub fn color(i: usize) -> Rgb {
    PALETTE[i % PALETTE.len()]
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

#[derive(Clone, Debug)]
enum Op {
    Poly {
        pts: Vec<(f64, f64)>,
        fill: Rgb,
        alpha: f64,
    },
    Line {
        pts: Vec<(f64, f64)>,
        stroke: Rgb,
        width: f64,
        dash: bool,
        alpha: f64,
    },
    Text {
        x: f64,
        y: f64,
        text: String,
        size: f64,
        anchor: Anchor,
        color: Rgb,
    },
    Begin(String),
    End,
}

/// A figure of `w × h` pixels on a white background.
#[derive(Clone, Debug)]
pub struct Figure {
    pub w: f64,
    pub h: f64,
    ops: Vec<Op>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Figure {
    pub fn new(w: f64, h: f64) -> Figure {
        Figure {
            w: w.ceil(),
            h: h.ceil(),
            ops: Vec::new(),
        }
    }

    pub fn rect(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, fill: Rgb, alpha: f64) {
        let (xa, xb) = (x0.min(x1), x0.max(x1));
        let (ya, yb) = (y0.min(y1), y0.max(y1));
        self.poly(vec![(xa, ya), (xb, ya), (xb, yb), (xa, yb)], fill, alpha);
    }

    pub fn poly(&mut self, pts: Vec<(f64, f64)>, fill: Rgb, alpha: f64) {
        if pts.iter().all(|p| p.0.is_finite() && p.1.is_finite()) {
            self.ops.push(Op::Poly { pts, fill, alpha });
        }
    }

    pub fn line(&mut self, pts: Vec<(f64, f64)>, stroke: Rgb, width: f64, dash: bool) {
        self.line_alpha(pts, stroke, width, dash, 1.0);
    }

    pub fn line_alpha(
        &mut self,
        pts: Vec<(f64, f64)>,
        stroke: Rgb,
        width: f64,
        dash: bool,
        alpha: f64,
    ) {
        let pts: Vec<_> = pts
            .into_iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        if pts.len() >= 2 {
            self.ops.push(Op::Line {
                pts,
                stroke,
                width,
                dash,
                alpha,
            });
        }
    }

    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, fill: Rgb) {
        let pts = (0..16)
            .map(|k| {
                let a = k as f64 * std::f64::consts::TAU / 16.0;
                (cx + r * a.cos(), cy + r * a.sin())
            })
            .collect();
        self.poly(pts, fill, 1.0);
    }

    pub fn text(&mut self, x: f64, y: f64, text: &str, size: f64, anchor: Anchor, color: Rgb) {
        self.ops.push(Op::Text {
            x,
            y,
            text: text.to_string(),
            size,
            anchor,
            color,
        });
    }

    /// Starts a named data series (closed by [`Figure::end_series`]).
    pub fn begin_series(&mut self, name: &str) {
        self.ops.push(Op::Begin(name.to_string()));
    }

    pub fn end_series(&mut self) {
        self.ops.push(Op::End);
    }

    /// Number of series drawn.
    pub fn series_count(&self) -> usize {
        self.ops
            .iter()
            .filter(|o| matches!(o, Op::Begin(_)))
            .count()
    }

    /// The figure as a standalone SVG document (no XML declaration, so it can be
    /// inlined in HTML as is).
    pub fn to_svg(&self) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="DejaVu Sans, Verdana, sans-serif"><rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>"##,
            w = self.w,
            h = self.h
        );
        let pts = |p: &[(f64, f64)]| {
            p.iter()
                .map(|(x, y)| format!("{x:.2},{y:.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        for op in &self.ops {
            match op {
                Op::Poly {
                    pts: p,
                    fill,
                    alpha,
                } => {
                    let _ = write!(
                        s,
                        r#"<polygon points="{}" fill="{}"{}/>"#,
                        pts(p),
                        fill.hex(),
                        if *alpha < 1.0 {
                            format!(r#" fill-opacity="{alpha:.3}""#)
                        } else {
                            String::new()
                        }
                    );
                }
                Op::Line {
                    pts: p,
                    stroke,
                    width,
                    dash,
                    alpha,
                } => {
                    let _ = write!(
                        s,
                        r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="{width}"{}{}/>"#,
                        pts(p),
                        stroke.hex(),
                        if *dash {
                            r#" stroke-dasharray="5,4""#
                        } else {
                            ""
                        },
                        if *alpha < 1.0 {
                            format!(r#" stroke-opacity="{alpha:.3}""#)
                        } else {
                            String::new()
                        }
                    );
                }
                Op::Text {
                    x,
                    y,
                    text,
                    size,
                    anchor,
                    color,
                } => {
                    let a = match anchor {
                        Anchor::Start => "start",
                        Anchor::Middle => "middle",
                        Anchor::End => "end",
                    };
                    let _ = write!(
                        s,
                        r#"<text x="{x:.2}" y="{y:.2}" font-size="{size}" text-anchor="{a}" fill="{}">{}</text>"#,
                        color.hex(),
                        esc(text)
                    );
                }
                Op::Begin(name) => {
                    let _ = write!(s, r#"<g class="series" data-name="{}">"#, esc(name));
                }
                Op::End => s.push_str("</g>"),
            }
        }
        s.push_str("</svg>\n");
        s
    }

    /// The figure rasterized at `scale` × its pixel size, as PNG bytes.
    pub fn to_png(&self, scale: f64) -> Vec<u8> {
        let (w, h) = ((self.w * scale) as usize, (self.h * scale) as usize);
        let mut img = vec![255u8; w * h * 3];
        let mut blend = |x: i64, y: i64, c: Rgb, a: f32| {
            if x < 0 || y < 0 || x as usize >= w || y as usize >= h || a <= 0.0 {
                return;
            }
            let i = (y as usize * w + x as usize) * 3;
            let a = a.min(1.0);
            for (k, v) in [c.0, c.1, c.2].into_iter().enumerate() {
                img[i + k] = (img[i + k] as f32 * (1.0 - a) + v as f32 * a).round() as u8;
            }
        };
        let fill =
            |p: &[(f64, f64)], c: Rgb, alpha: f64, blend: &mut dyn FnMut(i64, i64, Rgb, f32)| {
                let p: Vec<(f64, f64)> = p.iter().map(|(x, y)| (x * scale, y * scale)).collect();
                let x0 = p.iter().map(|q| q.0).fold(f64::INFINITY, f64::min).floor();
                let y0 = p.iter().map(|q| q.1).fold(f64::INFINITY, f64::min).floor();
                let x1 = p
                    .iter()
                    .map(|q| q.0)
                    .fold(f64::NEG_INFINITY, f64::max)
                    .ceil();
                let y1 = p
                    .iter()
                    .map(|q| q.1)
                    .fold(f64::NEG_INFINITY, f64::max)
                    .ceil();
                let (rw, rh) = ((x1 - x0) as usize + 1, (y1 - y0) as usize + 1);
                if rw > 20_000 || rh > 20_000 {
                    return;
                }
                let mut r = Rasterizer::new(rw, rh);
                for k in 0..p.len() {
                    let (a, b) = (p[k], p[(k + 1) % p.len()]);
                    r.draw_line(
                        point((a.0 - x0) as f32, (a.1 - y0) as f32),
                        point((b.0 - x0) as f32, (b.1 - y0) as f32),
                    );
                }
                r.for_each_pixel_2d(|x, y, cov| {
                    blend(
                        x0 as i64 + x as i64,
                        y0 as i64 + y as i64,
                        c,
                        cov * alpha as f32,
                    )
                });
            };
        let f = font();
        for op in &self.ops {
            match op {
                Op::Poly {
                    pts,
                    fill: c,
                    alpha,
                } => fill(pts, *c, *alpha, &mut blend),
                Op::Line {
                    pts,
                    stroke,
                    width,
                    dash,
                    alpha,
                } => {
                    // Each segment (or dash) as a quad of the stroke's width.
                    let hw = 0.5 * width.max(0.8);
                    for s in pts.windows(2) {
                        let (a, b) = (s[0], s[1]);
                        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
                        if len == 0.0 {
                            continue;
                        }
                        let (ux, uy) = ((b.0 - a.0) / len, (b.1 - a.1) / len);
                        let pieces: Vec<(f64, f64)> = if *dash {
                            (0..)
                                .map(|k| k as f64 * 9.0)
                                .take_while(|t| *t < len)
                                .map(|t| (t, (t + 5.0).min(len)))
                                .collect()
                        } else {
                            vec![(0.0, len)]
                        };
                        for (t0, t1) in pieces {
                            let (p0, p1) = (
                                (a.0 + ux * t0, a.1 + uy * t0),
                                (a.0 + ux * t1, a.1 + uy * t1),
                            );
                            let (nx, ny) = (-uy * hw, ux * hw);
                            fill(
                                &[
                                    (p0.0 + nx, p0.1 + ny),
                                    (p1.0 + nx, p1.1 + ny),
                                    (p1.0 - nx, p1.1 - ny),
                                    (p0.0 - nx, p0.1 - ny),
                                ],
                                *stroke,
                                *alpha,
                                &mut blend,
                            );
                        }
                    }
                }
                Op::Text {
                    x,
                    y,
                    text,
                    size,
                    anchor,
                    color,
                } => {
                    let px = PxScale::from((size * scale) as f32);
                    let sf = f.as_scaled(px);
                    let tw = text_width(text, size * scale);
                    let mut cx = x * scale
                        - match anchor {
                            Anchor::Start => 0.0,
                            Anchor::Middle => 0.5 * tw,
                            Anchor::End => tw,
                        };
                    for ch in text.chars() {
                        let id = f.glyph_id(ch);
                        let g =
                            id.with_scale_and_position(px, point(cx as f32, (y * scale) as f32));
                        cx += sf.h_advance(id) as f64;
                        if let Some(o) = f.outline_glyph(g) {
                            let bb = o.px_bounds();
                            o.draw(|gx, gy, cov| {
                                blend(
                                    bb.min.x as i64 + gx as i64,
                                    bb.min.y as i64 + gy as i64,
                                    *color,
                                    cov,
                                )
                            });
                        }
                    }
                }
                Op::Begin(_) | Op::End => {}
            }
        }
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut wr = enc.write_header().expect("PNG header to memory");
            wr.write_image_data(&img).expect("PNG data to memory");
        }
        out
    }
}

/// Axis ticks: about `n` round values covering [lo, hi].
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).ceil() as i64;
    let end = (hi / step).floor() as i64;
    (start..=end).map(|k| k as f64 * step).collect()
}

/// A tick label with just enough decimals for `step`.
pub fn tick_label(v: f64, step: f64) -> String {
    let d = if step > 0.0 {
        (-step.log10().floor()).max(0.0) as usize
            + usize::from((step / 10f64.powf(step.log10().floor()) - 2.5).abs() < 1e-9)
    } else {
        2
    };
    format!("{v:.d$}", d = d.min(8))
}

/// A linear map from data to pixels.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub d0: f64,
    pub d1: f64,
    pub p0: f64,
    pub p1: f64,
}

impl Scale {
    pub fn new(d0: f64, d1: f64, p0: f64, p1: f64) -> Scale {
        let (d0, d1) = if d1 > d0 && d0.is_finite() && d1.is_finite() {
            (d0, d1)
        } else if d0.is_finite() {
            (
                d0 - 0.5 * d0.abs().max(1e-12),
                d0 + 0.5 * d0.abs().max(1e-12),
            )
        } else {
            (0.0, 1.0)
        };
        Scale { d0, d1, p0, p1 }
    }

    pub fn at(&self, v: f64) -> f64 {
        self.p0 + (v - self.d0) / (self.d1 - self.d0) * (self.p1 - self.p0)
    }
}

/// Finite min and max of values, padded by `pad` of the range.
pub fn extent<'a>(vals: impl IntoIterator<Item = &'a f64>, pad: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in vals {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let r = (hi - lo).max(1e-12 * hi.abs().max(1e-300));
    (lo - pad * r, hi + pad * r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_and_png_of_a_small_figure() {
        let mut f = Figure::new(120.0, 80.0);
        f.begin_series("a & b");
        f.rect(10.0, 10.0, 50.0, 40.0, color(0), 0.5);
        f.line(vec![(0.0, 0.0), (100.0, 70.0)], color(1), 2.0, true);
        f.end_series();
        f.text(60.0, 75.0, "x < 1", 10.0, Anchor::Middle, BLACK);
        let svg = f.to_svg();
        assert!(svg.contains(r#"data-name="a &amp; b""#) && svg.contains("x &lt; 1"));
        assert_eq!(f.series_count(), 1);
        let png = f.to_png(2.0);
        assert_eq!(&png[1..4], b"PNG");
        assert!(text_width("HRP", 12.0) > 20.0);
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            ticks(0.0, 1.0, 5),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(tick_label(0.25, 0.25), "0.25");
        assert_eq!(tick_label(0.2, 0.2), "0.2");
        assert_eq!(tick_label(30.0, 10.0), "30");
    }
}
