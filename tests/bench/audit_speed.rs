//! `bench --only audit_speed`: an audit of a library shaped like
//! InternBootcamp's (mostly light files, a tail of heavy ones whose cases or
//! verifier take most of the time): wall time and findings.
//!
//! It once compared the old way (every seed rerun for determinism, one guest
//! call per junk answer) with the current one (5 seeds rerun, one call per
//! case's junk, a junk budget); the old way's switches were deleted, and its
//! measured ratio stays in docs/benchmarks.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use bootforge::evaluate::{CheckConfig, CheckReport, Verdict};

fn heavy_sources() -> [(&'static str, &'static str); 2] {
    [
        (
            "heavy_generator.py",
            super::repo_file("tests/bootcamps/judge/heavy_generator.py"),
        ),
        (
            "heavy_verifier.py",
            super::repo_file("tests/bootcamps/judge/heavy_verifier.py"),
        ),
    ]
}

#[derive(Debug, Serialize)]
pub struct AuditSpeed {
    pub files: usize,
    pub heavy_files: usize,
    pub jobs: usize,
    pub rounds: usize,
    /// Wall time of one audit of the library, the mean of the rounds.
    pub wall_s: f64,
    /// Error findings per kind (files).
    pub findings: BTreeMap<String, usize>,
    pub passed: usize,
}

fn library(dir: &Path, light: usize, heavy: usize) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for i in 0..light {
        let corpus = super::corpus();
        let (name, source) = corpus[i % corpus.len()];
        let path = dir.join(format!("light_{i:03}_{name}"));
        std::fs::write(&path, format!("# library file {i}\n{source}"))?;
        paths.push(path);
    }
    for i in 0..heavy {
        // Two heavy generators for each heavy verifier.
        let (name, source) = heavy_sources()[usize::from(i % 3 == 2)];
        let path = dir.join(format!("heavy_{i:03}_{name}"));
        std::fs::write(&path, format!("# library file {}\n{source}", light + i))?;
        paths.push(path);
    }
    Ok(paths)
}

fn counts(reports: &[CheckReport]) -> (BTreeMap<String, usize>, usize) {
    let summary = bootforge::evaluate::audit::summarize(reports, 0, 0.0, 1);
    let passed = reports
        .iter()
        .filter(|r| r.verdict == Verdict::Pass)
        .count();
    (summary.findings, passed)
}

pub fn bench_audit_speed(cache_dir: &Path, quick: bool) -> Result<AuditSpeed> {
    let dir = tempfile::tempdir()?;
    let (light, heavy, rounds) = if quick { (12, 3, 1) } else { (54, 6, 2) };
    let paths = library(dir.path(), light, heavy)?;
    let jobs = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let sandbox = super::open(cache_dir, jobs)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let config = CheckConfig::default();
    let audit = || -> (f64, Vec<CheckReport>) {
        let started = Instant::now();
        let reports = runtime.block_on(bootforge::evaluate::audit::audit(
            &sandbox,
            None,
            &paths,
            &config,
            jobs,
            &|_, _| {},
        ));
        (started.elapsed().as_secs_f64(), reports)
    };
    // Warm the compiled-code cache and the page cache.
    let _ = audit();
    let mut total_s = 0.0;
    let mut reports = Vec::new();
    for _ in 0..rounds {
        let (t, r) = audit();
        total_s += t;
        reports = r;
    }
    let (findings, passed) = counts(&reports);
    Ok(AuditSpeed {
        files: paths.len(),
        heavy_files: heavy,
        jobs,
        rounds,
        wall_s: total_s / rounds as f64,
        findings,
        passed,
    })
}

impl AuditSpeed {
    pub fn render(&self) -> String {
        format!(
            "audit speed  {} files ({} heavy), {} jobs: {:.1} s per audit (mean of {} round(s)); passed {}",
            self.files, self.heavy_files, self.jobs, self.wall_s, self.rounds, self.passed
        )
    }
}
