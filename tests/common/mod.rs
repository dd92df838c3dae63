//! Helpers shared by the fixture tests.

/// Every `"key": [[...], ...]` numeric matrix in a JSON text, in order of
/// appearance, parsed with Rust's correctly rounded `f64` parser. serde_json's
/// default float parser can be one ulp off for 17-digit numbers, and the
/// eigenvector orientation tests need R's matrices bit for bit.
#[allow(dead_code)]
pub fn exact_matrices(text: &str, key: &str) -> Vec<Vec<Vec<f64>>> {
    let pat = format!("\"{key}\":[[");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(p) = rest.find(&pat) {
        let body = &rest[p + pat.len() - 2..];
        let end = body.find("]]").expect("matrix end") + 2;
        let m: Vec<Vec<f64>> = body[2..end - 2]
            .split("],[")
            .map(|row| {
                row.split(',')
                    .map(|x| x.trim().parse::<f64>().expect("number"))
                    .collect()
            })
            .collect();
        out.push(m);
        rest = &body[end..];
    }
    out
}
