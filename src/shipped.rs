//! The models shipped with corrmc, embedded in the binary so that a spec naming them works
//! from any working directory and a binary copied to a cluster node needs no repository.
//!
//! The ONNX backends load models from files, so an embedded model is written once to a cache
//! folder (`CORRMC_CACHE_DIR`, else `$XDG_CACHE_HOME/corrmc`, else `$HOME/.cache/corrmc`, else
//! the system temp folder) under a name that includes its content hash, atomically (temp file +
//! rename), and reused after that.

use crate::Error;
use std::path::{Path, PathBuf};

/// (repository-relative name, bytes) of every shipped model.
const MODELS: &[(&str, &[u8])] = &[
    (
        "models/corrgan/generator_50d.onnx",
        include_bytes!("../models/corrgan/generator_50d.onnx"),
    ),
    (
        "models/corrgan/generator_50d_french49.onnx",
        include_bytes!("../models/corrgan/generator_50d_french49.onnx"),
    ),
    (
        "models/dhrp/dhrp_50.onnx",
        include_bytes!("../models/dhrp/dhrp_50.onnx"),
    ),
    (
        "models/dhrp/dhrp_hrp_init_50.onnx",
        include_bytes!("../models/dhrp/dhrp_hrp_init_50.onnx"),
    ),
    (
        "models/dhrp/dhrp_paper_ward_50.onnx",
        include_bytes!("../models/dhrp/dhrp_paper_ward_50.onnx"),
    ),
];

/// The names of the shipped models (what a spec may write, relative to the repository).
pub fn names() -> impl Iterator<Item = &'static str> {
    MODELS.iter().map(|(n, _)| *n)
}

fn normalize(name: &str) -> &str {
    name.trim_start_matches("./")
}

/// The embedded bytes of a shipped model, by its repository-relative name.
pub fn bytes(name: &str) -> Option<&'static [u8]> {
    let name = normalize(name);
    MODELS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

fn cache_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("CORRMC_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("corrmc")))
        .or_else(|| env("HOME").map(|p| p.join(".cache").join("corrmc")))
        .unwrap_or_else(|| std::env::temp_dir().join("corrmc"))
}

/// A file holding the shipped model `name` (None if `name` is not a shipped model).
pub fn materialize(name: &str) -> Option<Result<PathBuf, Error>> {
    let bytes = bytes(name)?;
    let file = Path::new(normalize(name)).file_name()?.to_owned();
    // Named by content (FNV-1a), so a new build never reuses a stale file.
    let mut h = crate::checkpoint::Fnv64::default();
    h.write(bytes);
    let dir = cache_dir().join(format!("{:016x}", h.finish()));
    let path = dir.join(file);
    Some(write_once(&dir, &path, bytes).map(|()| path))
}

fn write_once(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == bytes.len() as u64) {
        return Ok(());
    }
    let hint = "set CORRMC_CACHE_DIR to a writable folder for the embedded models";
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, format!("{e}; {hint}")))?;
    let tmp = dir.join(format!(".tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, format!("{e}; {hint}")))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, format!("{e}; {hint}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_models_equal_the_repository_files_and_materialize() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for name in names() {
            let disk = std::fs::read(root.join(name)).unwrap();
            assert_eq!(bytes(name).unwrap(), &disk[..], "{name}");
            let dir = tempfile::tempdir().unwrap();
            let path = {
                let b = bytes(name).unwrap();
                let p = dir.path().join("m.onnx");
                write_once(dir.path(), &p, b).unwrap();
                p
            };
            assert_eq!(std::fs::read(&path).unwrap(), disk, "{name}");
        }
        assert!(bytes("./models/corrgan/generator_50d.onnx").is_some());
        assert!(bytes("models/corrgan/other.onnx").is_none());
    }
}
