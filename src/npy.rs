//! Reading and writing matrices: `.npy` (f64 or f32, 2-D or a 3-D stack), CSV
//! (numbers only, comma or whitespace separated) and HDF5 datasets
//! (`FILE.h5:/path/to/dataset`). Errors name the file and say what is accepted.

use crate::Error;
use ndarray::{Array2, Array3, ArrayD, Axis, Ix2, Ix3};
use std::path::Path;

/// Checks that a `.npy` file holds the data its header declares, before `ndarray_npy`
/// allocates room for it: a corrupt or truncated header (e.g. `shape: (1 << 62,)`) would
/// otherwise abort the process on an allocation of exabytes. Headers this does not
/// understand are left to `ndarray_npy`, which refuses them with its own message.
fn check_npy_size(path: &Path) -> Result<(), Error> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut head = Vec::new();
    f.by_ref()
        .take(65_536 + 12)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    if head.len() < 10 || &head[..6] != b"\x93NUMPY" {
        return Ok(());
    }
    let (len, start) = match head[6] {
        1 => (u16::from_le_bytes([head[8], head[9]]) as usize, 10),
        2 | 3 if head.len() >= 12 => (
            u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize,
            12,
        ),
        _ => return Ok(()),
    };
    let Some(text) = head.get(start..start + len) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(text);
    let item = text
        .split("'descr'")
        .nth(1)
        .and_then(|r| r.split('\'').nth(1))
        .and_then(|d| d.trim_start_matches(['<', '>', '|', '=']).get(1..))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(1)
        .max(1);
    let Some(dims) = text
        .split("'shape'")
        .nth(1)
        .and_then(|r| r.split_once('('))
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(d, _)| d)
    else {
        return Ok(());
    };
    let mut count: Option<u64> = Some(1);
    for d in dims.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let Ok(d) = d.parse::<u64>() else {
            return Ok(());
        };
        count = count.and_then(|c| c.checked_mul(d));
    }
    let data = file_len.saturating_sub((start + len) as u64);
    match count.and_then(|c| c.checked_mul(item)) {
        Some(need) if need <= data => Ok(()),
        need => Err(Error::io(
            path,
            format!(
                "corrupt .npy: the header declares shape ({dims}) of {} bytes, the file holds \
                 {data} bytes of data",
                need.map_or("more than 2^64".to_string(), |n| n.to_string())
            ),
        )),
    }
}

/// Reads a `.npy` array of f64 or f32 of any rank, as f64.
fn read_npy_any(path: &Path) -> Result<ArrayD<f64>, Error> {
    use ndarray_npy::{ReadNpyError, read_npy};
    check_npy_size(path)?;
    match read_npy::<_, ArrayD<f64>>(path) {
        Ok(a) => Ok(a),
        Err(ReadNpyError::WrongDescriptor(_)) => read_npy::<_, ArrayD<f32>>(path)
            .map(|a| a.mapv(|v| v as f64))
            .map_err(|e| Error::io(path, format!("cannot read as .npy of float64/float32: {e}"))),
        Err(e) => Err(Error::io(
            path,
            format!("cannot read as .npy (float64 or float32 expected): {e}"),
        )),
    }
}

fn to_stack(a: ArrayD<f64>, origin: &str) -> Result<Array3<f64>, Error> {
    match a.ndim() {
        2 => Ok(a.into_dimensionality::<Ix2>().unwrap().insert_axis(Axis(0))),
        3 => Ok(a.into_dimensionality::<Ix3>().unwrap()),
        d => Err(Error::matrix(
            origin,
            format!("array has {d} dimensions, expected a matrix [n, n] or a stack [k, n, n]"),
        )),
    }
}

/// Splits `FILE.h5:/dataset` into the file and the dataset path.
pub fn split_h5_spec(spec: &str) -> Option<(&str, &str)> {
    let lower = spec.to_ascii_lowercase();
    for ext in [".h5:", ".hdf5:", ".hdf:"] {
        if let Some(pos) = lower.find(ext) {
            let cut = pos + ext.len() - 1;
            return Some((&spec[..cut], &spec[cut + 1..]));
        }
    }
    None
}

/// Reads a stack of square matrices from `.npy` ([n,n] or [k,n,n]), CSV ([n,n]) or
/// an HDF5 dataset given as `FILE.h5:/dataset` (or with `dataset`).
pub fn read_stack(path: &str, dataset: Option<&str>) -> Result<Array3<f64>, Error> {
    let (file, ds) = match (split_h5_spec(path), dataset) {
        (Some((f, d)), None) => (f, Some(d)),
        (_, Some(d)) => (path, Some(d)),
        (None, None) => (path, None),
    };
    let p = Path::new(file);
    if !p.exists() {
        return Err(Error::io(p, "file not found"));
    }
    let stack = if let Some(ds) = ds {
        let f =
            hdf5::File::open(p).map_err(|e| Error::io(p, format!("cannot open as HDF5: {e}")))?;
        let d = f
            .dataset(ds)
            .map_err(|_| Error::io(p, format!("no dataset '{ds}' in this HDF5 file")))?;
        let a: ArrayD<f64> = d
            .read_dyn::<f64>()
            .map_err(|e| Error::io(p, format!("dataset '{ds}': {e}")))?;
        to_stack(a, &format!("{file}:{ds}"))?
    } else if file.ends_with(".csv") || file.ends_with(".txt") {
        read_csv(p)?.insert_axis(Axis(0))
    } else if file.ends_with(".npy") {
        to_stack(read_npy_any(p)?, file)?
    } else {
        return Err(Error::io(
            p,
            "unknown format: expected .npy, .csv/.txt, or FILE.h5:/dataset",
        ));
    };
    let (_, r, c) = stack.dim();
    if r != c {
        return Err(Error::matrix(
            file,
            format!("matrices are {r}x{c}, must be square"),
        ));
    }
    Ok(stack)
}

/// Reads exactly one square matrix (see [`read_stack`]).
pub fn read_matrix(path: &str) -> Result<Array2<f64>, Error> {
    let s = read_stack(path, None)?;
    if s.len_of(Axis(0)) != 1 {
        return Err(Error::matrix(
            path,
            format!(
                "holds a stack of {} matrices, expected one",
                s.len_of(Axis(0))
            ),
        ));
    }
    Ok(s.index_axis_move(Axis(0), 0))
}

/// Reads a numeric CSV (comma, semicolon or whitespace separated, no header).
pub fn read_csv(p: &Path) -> Result<Array2<f64>, Error> {
    let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let row: Result<Vec<f64>, _> = line
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<f64>())
            .collect();
        let row = row
            .map_err(|e| Error::io(p, format!("line {}: {e} (numbers only, no header)", ln + 1)))?;
        if let Some(first) = rows.first()
            && first.len() != row.len()
        {
            return Err(Error::io(
                p,
                format!(
                    "line {}: {} values, earlier rows have {}",
                    ln + 1,
                    row.len(),
                    first.len()
                ),
            ));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(Error::io(p, "no numbers found"));
    }
    let (r, c) = (rows.len(), rows[0].len());
    Ok(Array2::from_shape_vec((r, c), rows.into_iter().flatten().collect()).unwrap())
}

/// Writes an f64 matrix as `.npy`.
pub fn write_npy(path: &Path, a: &Array2<f64>) -> Result<(), Error> {
    ndarray_npy::write_npy(path, a).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn h5_spec_split() {
        assert_eq!(split_h5_spec("a/b.h5:/x/y"), Some(("a/b.h5", "/x/y")));
        assert_eq!(split_h5_spec("m.npy"), None);
    }
}
