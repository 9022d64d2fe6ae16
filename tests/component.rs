//! The committed component and its compiled-artifact cache.

use bootforge::sandbox::{Sandbox, SandboxOptions};
use sha2::{Digest, Sha256};

use crate::util::{self, repo_path};

/// The same hash as `sandbox/inputs_hash.py`: build.sh, the WIT world and the
/// guest sources (and `extra`), each as "<path>\0<len>\0<bytes>", sorted by
/// path.
fn inputs_hash(extra: &[&str]) -> String {
    let root = repo_path("sandbox");
    let mut files = vec!["build.sh".to_owned()];
    for dir in ["wit", "guest"].iter().chain(extra) {
        let mut stack = vec![root.join(dir)];
        while let Some(path) = stack.pop() {
            for entry in std::fs::read_dir(&path).unwrap() {
                let entry = entry.unwrap();
                let p = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if p.is_dir() {
                    if name != "__pycache__" {
                        stack.push(p);
                    }
                } else if !name.ends_with(".pyc") {
                    files.push(
                        p.strip_prefix(&root)
                            .unwrap()
                            .to_string_lossy()
                            .replace('\\', "/"),
                    );
                }
            }
        }
    }
    files.sort();
    let mut digest = Sha256::new();
    for rel in files {
        let data = std::fs::read(root.join(&rel)).unwrap();
        digest.update(rel.as_bytes());
        digest.update(b"\0");
        digest.update(data.len().to_string().as_bytes());
        digest.update(b"\0");
        digest.update(&data);
    }
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn committed_component_matches_its_sources() {
    let recorded = std::fs::read_to_string(repo_path("sandbox/harness.inputs")).unwrap();
    assert_eq!(
        recorded.trim(),
        inputs_hash(&[]),
        "sandbox/ sources changed but the committed component was not rebuilt: run `bash sandbox/build.sh` and commit harness.wasm.zst and harness.inputs"
    );
}

#[test]
fn committed_sympy_component_matches_its_sources() {
    let recorded = std::fs::read_to_string(repo_path("sandbox/harness-sympy.inputs")).unwrap();
    assert_eq!(
        recorded.trim(),
        inputs_hash(&["sympy"]),
        "sandbox/ sources changed but the committed sympy component was not rebuilt: run `bash sandbox/build.sh sympy` and commit harness-sympy.wasm.zst and harness-sympy.inputs"
    );
}

#[test]
fn compiled_component_is_cached_and_a_corrupt_cache_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = SandboxOptions::new(dir.path().to_path_buf());
    options.workers = 1;
    let first = Sandbox::open(&options).unwrap();
    assert!(!first.component_source().cache_hit);
    let path = first.component_source().path.clone();
    assert!(path.starts_with(dir.path()) && path.is_file());
    let second = Sandbox::open(&options).unwrap();
    assert!(second.component_source().cache_hit);
    assert_eq!(second.component_source().path, path);
    let report = second.run_blocking(util::spec(
        &util::read_bootcamp("knapsack_compat.py"),
        0..1,
        None,
    ));
    assert!(report.error.is_none(), "{:?}", report.error);

    // Replace the artifact the way a crashed or foreign writer could leave it
    // (never truncate a mapped file in place: the mapping would fault).
    drop(second);
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, b"not a compiled component").unwrap();
    std::fs::rename(&garbage, &path).unwrap();
    let third = Sandbox::open(&options).unwrap();
    assert!(
        !third.component_source().cache_hit,
        "a corrupt artifact must be recompiled"
    );
    let report = third.run_blocking(util::spec(
        &util::read_bootcamp("knapsack_compat.py"),
        0..1,
        None,
    ));
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(
        Sandbox::open(&options)
            .unwrap()
            .component_source()
            .cache_hit
    );
}

#[test]
fn info_reports_the_component_and_its_cache() {
    let out = util::bin()
        .args(["sandbox", "info", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["component_sha256"].as_str().unwrap().len(), 64);
    assert!(info["component_compressed_bytes"].as_u64().unwrap() > 1_000_000);
    assert!(
        info["cache_file"]
            .as_str()
            .unwrap()
            .starts_with(util::cache_dir().to_str().unwrap())
    );
}
