//! Helpers shared by the resume and sweep tests: every dataset of a result
//! file (or of one group), byte for byte.
#![allow(dead_code)]

use hdf5::types::{TypeDescriptor, VarLenUnicode};
use std::collections::BTreeMap;
use std::path::Path;

/// Path (relative to `group`) → the dataset's bytes (numbers little-endian by bit
/// pattern, strings joined with NUL), for every dataset below `group`.
pub fn datasets(group: &hdf5::Group) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    walk(group, "", &mut out);
    out
}

fn walk(g: &hdf5::Group, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
    for name in g.member_names().unwrap() {
        let path = format!("{prefix}{name}");
        if let Ok(sub) = g.group(&name) {
            walk(&sub, &format!("{path}/"), out);
            continue;
        }
        let d = g.dataset(&name).unwrap();
        let bytes: Vec<u8> = match d.dtype().unwrap().to_descriptor().unwrap() {
            TypeDescriptor::Float(_) => d
                .read_raw::<f64>()
                .unwrap()
                .iter()
                .flat_map(|v| v.to_bits().to_le_bytes())
                .collect(),
            TypeDescriptor::Unsigned(hdf5::types::IntSize::U1) => d.read_raw::<u8>().unwrap(),
            TypeDescriptor::Unsigned(_) => d
                .read_raw::<u64>()
                .unwrap()
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
            TypeDescriptor::VarLenUnicode => d
                .read_raw::<VarLenUnicode>()
                .unwrap()
                .iter()
                .flat_map(|s| s.as_str().bytes().chain([0u8]))
                .collect(),
            other => panic!("{path}: unexpected type {other:?}"),
        };
        // Shape matters too (a [2×3] and a [3×2] with the same bytes differ).
        let mut tagged = format!("{:?}:", d.shape()).into_bytes();
        tagged.extend(bytes);
        out.insert(path, tagged);
    }
}

/// Every dataset of two files (or groups) is identical; lists the differing ones.
pub fn assert_same_datasets(a: &hdf5::Group, b: &hdf5::Group, what: &str) {
    let (x, y) = (datasets(a), datasets(b));
    assert_eq!(
        x.keys().collect::<Vec<_>>(),
        y.keys().collect::<Vec<_>>(),
        "{what}: different dataset lists"
    );
    let differ: Vec<&String> = x.keys().filter(|k| x[*k] != y[*k]).collect();
    assert!(differ.is_empty(), "{what}: datasets differ: {differ:?}");
    assert!(x.len() >= 10, "{what}: only {} datasets", x.len());
}

pub fn open(path: &Path) -> hdf5::File {
    hdf5::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Serializes the tests of one test binary: a test that spawns `corrmc` while
/// another thread of this process has an HDF5 file open for writing would hand
/// that descriptor (and its HDF5 file lock) to the child, and the writer's next
/// open of its own file fails with "unable to lock file".
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

// Helpers shared by the fixture tests.

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

/// `cmd` with every inherited descriptor above stderr closed in the child, between fork and
/// exec. HDF5 opens its files without close-on-exec, so a child forked while another test of
/// the same binary has a result file open would inherit that descriptor, and with it the
/// file's lock, until the child exits; the test's next open of its own file then fails with
/// "unable to lock file" (seen in tests/verdict.rs). Closing in the child releases the copy at
/// once. Only async-signal-safe calls run there.
pub fn no_inherited_fds(cmd: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure only calls close(2), which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            for fd in 3..4096 {
                libc::close(fd);
            }
            Ok(())
        })
    }
}
