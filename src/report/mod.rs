//! `corrmc report`: one self-contained HTML page (SVG inline, no external
//! resource), the figures as SVG and PNG files, and `report.json`.
//!
//! The file is read one study group at a time ([`crate::verdict::study`]): a sweep
//! of many points never holds more than one point's metric tables. A `.partial`
//! file is reported as it stands, with a banner that says so.

pub mod charts;
pub mod facts;
pub mod figure;

use crate::Error;
use crate::verdict::paired::{Paired, StudyVerdict};
use crate::verdict::study::{self, FileInfo, MEASURES, Study};
use crate::verdict::taxonomy::{Taxonomy, taxonomy};
use crate::verdict::{Options, PointVerdict, verdict};
use charts::{HistPanel, SweepLine};
use figure::Figure;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How a report is made.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    pub verdict: Options,
    /// Also write PNG files (SVG files are always written).
    pub png: bool,
    /// Histogram bins of the in-/out-of-sample figure.
    pub bins: usize,
    /// Trials whose correlation matrices the stylized-facts section samples per study
    /// group (the first ones run; 0: no section). See [`facts`].
    pub facts_trials: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            verdict: Options::default(),
            png: true,
            bins: 60,
            facts_trials: facts::DEFAULT_FACTS_TRIALS,
        }
    }
}

/// Failures of one method in one study group.
#[derive(Clone, Debug, Serialize)]
pub struct MethodFailures {
    pub method: String,
    /// (side, code label, count, first message); side "in-sample" or "out-of-sample".
    pub rows: Vec<(String, String, usize, String)>,
}

/// A figure written by the report.
#[derive(Clone, Debug, Serialize)]
pub struct FigureFile {
    pub name: String,
    pub title: String,
    pub svg: String,
    pub png: Option<String>,
    pub series: usize,
}

/// What `report.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct ReportJson {
    pub file: FileInfo,
    pub studies: Vec<PointVerdict>,
    pub failures: Vec<Vec<MethodFailures>>,
    /// Per study group, the strategy taxonomy when the file has `/method_similarity`.
    pub taxonomy: Vec<Option<Taxonomy>>,
    /// Per study group, the stylized facts of the correlation matrices used (absent
    /// with `--facts-trials 0`; see [`facts`]).
    pub stylized_facts: Vec<Option<facts::SourceFacts>>,
    pub figures: Vec<FigureFile>,
}

/// Reads `<group>/method_similarity` (and the per-block means, if stored) and
/// clusters it; None when the file has no similarity (older files, `.partial`).
fn read_taxonomy(
    path: &Path,
    f: &hdf5::File,
    group: &str,
    methods: &[String],
    resamples: usize,
    seed: u64,
) -> Result<Option<(Taxonomy, ndarray::Array2<f64>)>, Error> {
    let g = f
        .group(group)
        .map_err(|e| Error::io(path, format!("{group}: {e}")))?;
    if !g.link_exists("method_similarity") {
        return Ok(None);
    }
    let m = methods.len();
    let rho = g
        .dataset("method_similarity")
        .and_then(|d| d.read_2d::<f64>())
        .map_err(|e| Error::io(path, format!("{group}/method_similarity: {e}")))?;
    if rho.dim() != (m, m) {
        return Err(Error::io(
            path,
            format!(
                "{group}/method_similarity is {:?}, expected ({m}, {m})",
                rho.dim()
            ),
        ));
    }
    let blocks: Option<Vec<ndarray::Array2<f64>>> = g
        .dataset("method_similarity_blocks")
        .and_then(|d| d.read::<f64, ndarray::Ix3>())
        .ok()
        .filter(|b| b.dim().1 == m && b.dim().2 == m)
        .map(|b| b.outer_iter().map(|x| x.to_owned()).collect());
    let t = taxonomy(
        methods,
        rho.view(),
        blocks.as_deref(),
        resamples.min(500),
        seed,
    );
    // Similarity restricted to the methods kept, indexed like `t.methods`.
    let keep: Vec<usize> = t
        .methods
        .iter()
        .map(|n| methods.iter().position(|x| x == n).unwrap())
        .collect();
    let sub =
        ndarray::Array2::from_shape_fn((keep.len(), keep.len()), |(i, j)| rho[(keep[i], keep[j])]);
    Ok(Some((t, sub)))
}

/// What [`write_report`] produced.
#[derive(Clone, Debug)]
pub struct Written {
    pub html: PathBuf,
    pub json: PathBuf,
    pub figures: Vec<FigureFile>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn f4(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4}")
    } else {
        "–".into()
    }
}

fn pct_iv(ci: [f64; 2]) -> String {
    if ci[0].is_finite() {
        format!("[{:+.2}, {:+.2}]", 100.0 * ci[0], 100.0 * ci[1])
    } else {
        "–".into()
    }
}

fn failures_of(s: &Study) -> Vec<MethodFailures> {
    s.failure_counts()
        .into_iter()
        .enumerate()
        .filter(|(_, c)| !c.is_empty())
        .map(|(j, c)| MethodFailures {
            method: s.methods[j].clone(),
            rows: c
                .into_iter()
                .map(|((side, code), n)| {
                    (
                        if side == 0 {
                            "in-sample"
                        } else {
                            "out-of-sample"
                        }
                        .to_string(),
                        s.code_label(code),
                        n,
                        s.messages.get(&(j, code)).cloned().unwrap_or_default(),
                    )
                })
                .collect(),
        })
        .collect()
}

struct Out {
    dir: PathBuf,
    png: bool,
    figures: Vec<FigureFile>,
    html: String,
}

impl Out {
    fn figure(&mut self, name: &str, title: &str, f: &Figure) -> Result<(), Error> {
        let svg = f.to_svg();
        let svg_name = format!("{name}.svg");
        let p = self.dir.join(&svg_name);
        std::fs::write(&p, &svg).map_err(|e| Error::io(&p, format!("cannot write: {e}")))?;
        let png = if self.png {
            let png_name = format!("{name}.png");
            let p = self.dir.join(&png_name);
            std::fs::write(&p, f.to_png(2.0))
                .map_err(|e| Error::io(&p, format!("cannot write: {e}")))?;
            Some(png_name)
        } else {
            None
        };
        let _ = writeln!(
            self.html,
            "<figure id=\"fig-{n}\"><figcaption>{t} (<a href=\"{svg_name}\">SVG</a>{png})</figcaption>{svg}</figure>",
            n = esc(name),
            t = esc(title),
            png = png
                .as_ref()
                .map(|p| format!(", <a href=\"{p}\">PNG</a>"))
                .unwrap_or_default()
        );
        self.figures.push(FigureFile {
            name: name.to_string(),
            title: title.to_string(),
            svg: svg_name,
            png,
            series: f.series_count(),
        });
        Ok(())
    }
}

fn verdict_table(v: &StudyVerdict) -> String {
    let mut h = String::new();
    let Some(r) = v.rankings.iter().find(|r| r.measure == "oos_vol") else {
        return h;
    };
    let pair: BTreeMap<(&str, &str), &Paired> = v
        .paired
        .iter()
        .map(|p| ((p.method.as_str(), p.measure), p))
        .collect();
    let _ = write!(
        h,
        "<table><thead><tr><th>rank</th><th>method</th><th>trials</th><th>mean oos_vol</th><th>95% interval (bootstrap)</th><th>rank interval</th><th>vs {b}: Δ%</th><th>Δ% bootstrap</th><th>Δ% t</th><th>win %</th><th>excluded</th>",
        b = esc(&v.baseline)
    );
    let mut others = vec!["true_vol", "oos_is_ratio", "turnover", "n_eff"];
    if v.expected_returns {
        // Only with expected returns: under the zero-mean model they are noise around 0.
        others.extend(["oos_sharpe", "true_sharpe", "oos_crra_ce"]);
    }
    for &m in &others {
        let _ = write!(h, "<th>{m}: Δ% [bootstrap], win %</th>");
    }
    h.push_str("</tr></thead><tbody>\n");
    for e in &r.entries {
        let p = pair.get(&(e.method.as_str(), "oos_vol"));
        let is_base = e.method == v.baseline;
        let _ = write!(
            h,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>[{}, {}]</td><td>[{:.0}, {:.0}]</td>",
            if is_base { " class=\"baseline\"" } else { "" },
            e.rank,
            esc(&e.method),
            e.n,
            f4(e.mean),
            f4(e.boot_ci[0]),
            f4(e.boot_ci[1]),
            e.rank_ci[0],
            e.rank_ci[1]
        );
        match p {
            Some(p) if p.t.n > 0 => {
                let _ = write!(
                    h,
                    "<td>{:+.2}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td>",
                    100.0 * p.rel,
                    pct_iv(p.rel_boot_ci),
                    pct_iv(p.rel_t_ci),
                    100.0 * p.win_rate,
                    p.t.excluded
                );
            }
            Some(p) => {
                let _ = write!(
                    h,
                    "<td colspan=\"4\">no trial where both succeeded</td><td>{}</td>",
                    p.t.excluded
                );
            }
            None => h.push_str("<td colspan=\"5\">baseline</td>"),
        }
        for &m in &others {
            match pair.get(&(e.method.as_str(), m)) {
                Some(p) if p.t.n > 0 => {
                    let _ = write!(
                        h,
                        "<td>{:+.1} {} {:.0}%</td>",
                        100.0 * p.rel,
                        pct_iv(p.rel_boot_ci),
                        100.0 * p.win_rate
                    );
                }
                _ => h.push_str("<td>–</td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
    h
}

fn quantile_table(v: &StudyVerdict) -> String {
    let mut h = String::new();
    for name in crate::verdict::text::QUANTILE_MEASURES {
        let ms = MEASURES.iter().find(|m| m.name == name).unwrap();
        let _ = writeln!(
            h,
            "<h3>{name}</h3><p>{} ({}).</p><table><thead><tr><th>method</th><th>n</th><th>mean</th><th>5%</th><th>25%</th><th>median</th><th>75%</th><th>95%</th><th>sd</th></tr></thead><tbody>",
            esc(ms.description),
            ms.better.describe()
        );
        for m in &v.methods {
            if let Some((_, d)) = m.distributions.iter().find(|(k, _)| *k == name) {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&m.method),
                    d.n,
                    f4(d.mean),
                    f4(d.q05),
                    f4(d.q25),
                    f4(d.median),
                    f4(d.q75),
                    f4(d.q95),
                    f4(d.sd)
                );
            }
        }
        h.push_str("</tbody></table>\n");
    }
    h
}

fn failure_table(f: &[MethodFailures]) -> String {
    if f.is_empty() {
        return "<p>No method failed in any trial.</p>\n".into();
    }
    let mut h = String::from(
        "<table><thead><tr><th>method</th><th>side</th><th>reason</th><th>trials</th><th>first message</th></tr></thead><tbody>\n",
    );
    for m in f {
        for (side, code, n, msg) in &m.rows {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&m.method),
                side,
                esc(code),
                n,
                esc(msg)
            );
        }
    }
    h.push_str("</tbody></table>\n");
    h
}

fn facts_table(sf: &facts::SourceFacts) -> String {
    let mut h = String::new();
    let Some(x) = &sf.facts else {
        let _ = writeln!(
            h,
            "<p class=\"partial\">Not available: {}.</p>",
            esc(sf.error.as_deref().unwrap_or("unknown reason"))
        );
        return h;
    };
    let _ = writeln!(
        h,
        "<p>The matrices of trials {}–{} ({} trials, the first run; n = {}), drawn again from the source rebuilt from the stored spec and seed {} ({}){}. Facts of Marti, \"CorrGAN\" (ICASSP 2020, §4); <code>corrmc inspect</code> on the spec computes the same.</p>",
        sf.first_trial.unwrap_or(0),
        sf.last_trial.unwrap_or(0),
        sf.trials_used,
        x.n,
        sf.seed,
        esc(&sf.rebuilt_source),
        match (sf.matches_record, sf.same_as_point) {
            (false, _) => format!(
                "; <b>the run recorded the source as \"{}\": these may not be the matrices it used</b>",
                esc(&sf.recorded_source)
            ),
            (true, Some(k)) => format!("; the same matrices as point {k}"),
            (true, None) => String::new(),
        }
    );
    h.push_str("<table><thead><tr><th>fact</th><th>description</th><th>mean</th><th>sd</th><th>5%</th><th>25%</th><th>median</th><th>75%</th><th>95%</th></tr></thead><tbody>\n");
    let rows: [(&str, &str, &crate::inspect::Dist); 6] = [
        ("mean correlation", "mean off-diagonal ρ", &x.mean_corr),
        (
            "first eigenvalue share",
            "λ₁ / n (market mode)",
            &x.first_eig_share,
        ),
        (
            "Perron–Frobenius share",
            "share of first-eigenvector loadings with the sign of their sum",
            &x.pf_share,
        ),
        (
            "MST max degree",
            "largest node degree of the MST on sqrt(2(1 − ρ))",
            &x.mst_max_degree,
        ),
        (
            "cophenetic corr, single",
            "single-linkage tree vs sqrt(2(1 − ρ))",
            &x.cophenetic_single,
        ),
        (
            "cophenetic corr, average",
            "average-linkage tree vs sqrt(2(1 − ρ))",
            &x.cophenetic_average,
        ),
    ];
    for (name, desc, d) in rows {
        let _ = writeln!(
            h,
            "<tr><td>{name}</td><td>{desc}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            f4(d.mean),
            f4(d.std),
            f4(d.q05),
            f4(d.q25),
            f4(d.q50),
            f4(d.q75),
            f4(d.q95)
        );
    }
    h.push_str("</tbody></table>\n");
    let _ = writeln!(
        h,
        "<p>First eigenvector one-signed in {:.1}% of the matrices. MST degree distribution (share of nodes, pooled): {}.</p>",
        100.0 * x.frac_one_signed_first_evec,
        crate::inspect::DEGREE_BINS
            .iter()
            .zip(&x.mst_degree_shares)
            .map(|(b, s)| format!("{b}: {:.3}", s))
            .collect::<Vec<_>>()
            .join(", ")
    );
    h
}

const CSS: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;font-size:14px;margin:24px;max-width:1400px;color:#222}\
table{border-collapse:collapse;font-size:12px;margin:8px 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}\
td:nth-child(2),th:nth-child(2){text-align:left}tr.baseline{background:#fde8e8}\
.partial{background:#fff3cd;border:2px solid #d39e00;padding:8px;font-weight:bold}\
pre{background:#f6f6f6;padding:8px;font-size:12px;overflow:auto;max-height:400px}figure{margin:16px 0}figcaption{font-size:12px;color:#555}\
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:bold}";

/// Writes `report.html`, `report.json` and the figures of `path` into `out_dir`.
pub fn write_report(path: &Path, out_dir: &Path, opts: &ReportOptions) -> Result<Written, Error> {
    opts.verdict.validate().map_err(Error::Other)?;
    let f = study::open(path)?;
    let info = study::file_info(path, &f)?;
    // Check the baseline against the first group before writing anything.
    let first = Study::read(path, &f, &info.groups[0])?;
    if let Some(b) = &opts.verdict.baseline {
        first.method_index(b).map_err(|e| Error::io(path, e))?;
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Error::io(out_dir, format!("cannot create report directory: {e}")))?;
    let mut out = Out {
        dir: out_dir.to_path_buf(),
        png: opts.png,
        figures: Vec::new(),
        html: String::new(),
    };
    let sweep = !info.sweep_keys.is_empty() || info.groups.len() > 1;
    let mut studies = Vec::new();
    let mut failures = Vec::new();
    let mut taxonomies = Vec::new();
    let mut stylized = Vec::new();
    let mut facts_seen = facts::Seen::new();
    let mut body = String::new();
    let mut first = Some(first);
    for (gi, (g, params)) in info.groups.iter().zip(&info.params).enumerate() {
        let s = match first.take() {
            Some(s) => s,
            None => Study::read(path, &f, g)?,
        };
        let v = verdict(&s, &opts.verdict, info.seed).map_err(|e| Error::io(path, e))?;
        let fails = failures_of(&s);
        let prefix = if sweep {
            format!("p{gi}-")
        } else {
            String::new()
        };
        let heading = if sweep {
            let kv: Vec<String> = info
                .sweep_keys
                .iter()
                .zip(params)
                .map(|(k, x)| format!("{k} = {x}"))
                .collect();
            format!("Point {gi} ({g}): {}", kv.join(", "))
        } else {
            "Verdict".to_string()
        };
        let _ = write!(
            body,
            "<section><h2 id=\"{prefix}verdict\">{}</h2><p>Baseline <b>{}</b>; {} of {} trials run; intervals at {:.0}%: paired trial bootstrap ({} resamples, percentile, seed {}) and t.</p>\n{}",
            esc(&heading),
            esc(&v.baseline),
            v.trials_run,
            v.trials_planned,
            100.0 * v.level,
            v.resamples,
            v.bootstrap_seed,
            verdict_table(&v)
        );
        out.html.clear();
        if !sweep || gi == 0 {
            let panels: Vec<HistPanel> = (0..s.methods.len())
                .map(|j| HistPanel {
                    method: s.methods[j].clone(),
                    is_vol: s.column("is_vol", j),
                    oos_vol: s.column("oos_vol", j),
                })
                .collect();
            out.figure(
                &format!("{prefix}histograms"),
                "In-sample vs out-of-sample volatility (the blog's figure)",
                &charts::histograms(&panels, opts.bins),
            )?;
            if let Some(r) = v.rankings.iter().find(|r| r.measure == "oos_vol") {
                out.figure(
                    &format!("{prefix}ranking-oos_vol"),
                    "Ranking by mean out-of-sample volatility",
                    &charts::ranking(r, &v.baseline),
                )?;
            }
            if v.expected_returns
                && let Some(r) = v.rankings.iter().find(|r| r.measure == "oos_sharpe")
            {
                out.figure(
                    &format!("{prefix}ranking-oos_sharpe"),
                    "Ranking by mean out-of-sample Sharpe ratio",
                    &charts::ranking(r, &v.baseline),
                )?;
            }
            for m in ["oos_vol", "true_vol"] {
                let rows: Vec<&Paired> = v.paired.iter().filter(|p| p.measure == m).collect();
                if !rows.is_empty() {
                    out.figure(
                        &format!("{prefix}paired-{m}"),
                        &format!("Paired {m} differences vs {}", v.baseline),
                        &charts::paired_intervals(&rows, &v.baseline, m),
                    )?;
                }
            }
            for (m, r) in [
                ("oos_is_ratio", Some(1.0)),
                ("is_true_gap", Some(0.0)),
                ("turnover", None),
                ("n_eff", None),
            ] {
                out.figure(
                    &format!("{prefix}dist-{m}"),
                    &format!("Distribution of {m}"),
                    &charts::distributions(&v.methods, m, r),
                )?;
            }
        }
        let tax = read_taxonomy(path, &f, g, &s.methods, v.resamples, v.bootstrap_seed)?;
        let tax_html = match &tax {
            None => "<p>This file has no <code>/method_similarity</code> (written by runs that record it, when complete).</p>\n".to_string(),
            Some((t, rho)) => {
                let before = out.html.len();
                if t.methods.len() >= 3 {
                    out.figure(
                        &format!("{prefix}taxonomy-dendrogram"),
                        "Strategy taxonomy: dendrogram",
                        &charts::dendrogram(t),
                    )?;
                }
                out.figure(
                    &format!("{prefix}taxonomy-heatmap"),
                    "Strategy taxonomy: similarity heatmap",
                    &charts::heatmap(t, rho),
                )?;
                let figs = out.html[before..].to_string();
                out.html.truncate(before);
                format!(
                    "<p>Single linkage on sqrt((1 − ρ)/2) of the mean out-of-sample portfolio correlation (ASRP paper, Exhibit 9). Cophenetic correlation of the tree: {}; stability (mean cophenetic correlation of bootstrap trees with this one): {}.{}</p>\n{figs}",
                    f4(t.cophenetic_correlation),
                    t.stability
                        .map(|(c, n)| format!("{} over {n} resamples of trial blocks", f4(c)))
                        .unwrap_or_else(|| "not available (no per-block similarity stored)".into()),
                    if t.excluded.is_empty() {
                        String::new()
                    } else {
                        format!(" Left out (no usable weights): {}.", esc(&t.excluded.join(", ")))
                    }
                )
            }
        };
        taxonomies.push(tax.map(|x| x.0));
        let facts_html = if opts.facts_trials == 0 {
            stylized.push(None);
            "<p>Not computed (<code>--facts-trials 0</code>).</p>\n".to_string()
        } else {
            let sf = facts::source_facts(&f, g, gi, &s.trials, opts.facts_trials, &mut facts_seen);
            let before = out.html.len();
            if (!sweep || gi == 0)
                && let Some(x) = &sf.facts
            {
                let names = crate::inspect::KS_FACTS;
                let panels: Vec<(&str, &[f64])> = names
                    .iter()
                    .zip(&x.values)
                    .map(|(n, v)| (*n, v.as_slice()))
                    .collect();
                out.figure(
                    &format!("{prefix}stylized-facts"),
                    "Stylized facts of the correlation matrices used",
                    &charts::fact_histograms(&panels, 30),
                )?;
            }
            let figs = out.html[before..].to_string();
            out.html.truncate(before);
            let h = format!("{}{figs}", facts_table(&sf));
            stylized.push(Some(sf));
            h
        };
        let _ = write!(
            body,
            "<h3>Figures</h3>\n{}<h3>Strategy taxonomy</h3>\n{tax_html}<h3 id=\"{prefix}stylized-facts\">Stylized facts of the correlation matrices used</h3>\n{facts_html}<h3>Stability beyond the mean</h3>\n{}<h3>Failures per method and reason</h3>\n{}</section>\n",
            if out.html.is_empty() {
                "<p>(Figures of point 0 only; the sweep figures are below.)</p>\n".to_string()
            } else {
                out.html.clone()
            },
            quantile_table(&v),
            failure_table(&fails)
        );
        failures.push(fails);
        studies.push(PointVerdict {
            params: params.clone(),
            verdict: v,
        });
        drop(s);
    }
    // Sweeps: each measure against each swept key, at the first point's values of
    // the other keys (a slice through the grid).
    if sweep && !studies.is_empty() {
        out.html.clear();
        let keys: Vec<String> = if info.sweep_keys.is_empty() {
            vec!["point".into()]
        } else {
            info.sweep_keys.clone()
        };
        for (ki, key) in keys.iter().enumerate() {
            let base = &studies[0].params;
            let sel: Vec<usize> = (0..studies.len())
                .filter(|&i| {
                    let p = &studies[i].params;
                    p.len() != base.len()
                        || p.iter()
                            .zip(base)
                            .enumerate()
                            .all(|(kj, (a, b))| kj == ki || a == b)
                })
                .collect();
            let xs: Vec<String> = sel
                .iter()
                .map(|&i| {
                    studies[i]
                        .params
                        .get(ki)
                        .cloned()
                        .unwrap_or_else(|| i.to_string())
                })
                .collect();
            let others: Vec<String> = keys
                .iter()
                .zip(base)
                .enumerate()
                .filter(|(kj, _)| *kj != ki)
                .map(|(_, (k, v))| format!("{k} = {v}"))
                .collect();
            let note = if others.is_empty() {
                String::new()
            } else {
                format!("at {}", others.join(", "))
            };
            for m in ["oos_vol", "oos_is_ratio", "turnover", "true_vol"] {
                let methods = &studies[sel[0]].verdict.methods;
                let lines: Vec<SweepLine> = methods
                    .iter()
                    .map(|ms| SweepLine {
                        method: ms.method.clone(),
                        points: sel
                            .iter()
                            .map(|&i| {
                                studies[i]
                                    .verdict
                                    .rankings
                                    .iter()
                                    .find(|r| r.measure == m)
                                    .and_then(|r| r.entries.iter().find(|e| e.method == ms.method))
                                    .map(|e| {
                                        let ci = if e.boot_ci[0].is_finite() {
                                            e.boot_ci
                                        } else {
                                            e.t_ci
                                        };
                                        (e.mean, ci[0], ci[1])
                                    })
                                    .unwrap_or((f64::NAN, f64::NAN, f64::NAN))
                            })
                            .collect(),
                    })
                    .collect();
                let safe_key: String = key
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                out.figure(
                    &format!("sweep-{m}-{safe_key}"),
                    &format!("{m} against {key}"),
                    &charts::sweep_chart(key, &xs, &lines, m, &note),
                )?;
            }
        }
        body = format!(
            "<section><h2 id=\"sweep\">Sweep</h2>\n{}</section>\n{body}",
            out.html
        );
    }

    // Page.
    let mut h = String::new();
    let title = format!(
        "corrmc report: {}{}",
        info.name,
        if info.partial { " (INCOMPLETE)" } else { "" }
    );
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>{t}</title><style>{CSS}</style></head><body>\n<h1>{t}</h1>\n",
        t = esc(&title)
    );
    if info.partial {
        h.push_str("<p class=\"partial\">INCOMPLETE RUN: this file is not marked complete (a <code>.partial</code> file or an interrupted run). Everything below covers only the trials run so far.</p>\n");
    }
    let rows: Vec<(&str, String)> = vec![
        ("file", info.path.clone()),
        ("study", info.name.clone()),
        ("source", info.source.clone()),
        ("spec origin", info.spec_origin.clone()),
        ("seed", info.seed.to_string()),
        ("trials (planned)", info.trials.to_string()),
        ("assets", info.assets.to_string()),
        ("corrmc version", info.corrmc_version.clone()),
        ("git revision", info.git_revision.clone()),
        (
            "run time",
            info.elapsed_s
                .map(|s| format!("{s:.1} s on {} threads", info.threads.unwrap_or(0)))
                .unwrap_or_else(|| "–".into()),
        ),
        (
            "swept keys",
            if info.sweep_keys.is_empty() {
                "none".into()
            } else {
                info.sweep_keys.join(", ")
            },
        ),
        (
            "report by",
            format!(
                "corrmc {} ({})",
                env!("CARGO_PKG_VERSION"),
                env!("CORRMC_GIT_REV")
            ),
        ),
    ];
    h.push_str("<section><h2 id=\"setup\">Setup</h2><dl>");
    for (k, v) in rows {
        let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    let _ = write!(
        h,
        "</dl><details><summary>Spec</summary><pre>{}</pre></details>\n<p>Measures: {}. Differences are method − baseline over the trials where both succeeded (failures are excluded pairwise and counted); Δ% divides by the baseline's mean over those trials; win %: share of trials where the method is strictly better.</p></section>\n",
        esc(&info.spec),
        MEASURES
            .iter()
            .map(|m| format!(
                "<b>{}</b>: {} ({})",
                m.name,
                esc(m.description),
                m.better.describe()
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    h.push_str(&body);
    h.push_str("</body></html>\n");
    let html = out_dir.join("report.html");
    std::fs::write(&html, &h).map_err(|e| Error::io(&html, format!("cannot write: {e}")))?;
    let json = out_dir.join("report.json");
    let rj = ReportJson {
        file: info,
        studies,
        failures,
        taxonomy: taxonomies,
        stylized_facts: stylized,
        figures: out.figures.clone(),
    };
    let text = serde_json::to_string_pretty(&rj).map_err(|e| Error::Other(e.to_string()))?;
    std::fs::write(&json, text).map_err(|e| Error::io(&json, format!("cannot write: {e}")))?;
    Ok(Written {
        html,
        json,
        figures: out.figures,
    })
}
