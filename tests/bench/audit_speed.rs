//! `bench --only audit_speed`: an audit of a library shaped like
//! InternBootcamp's (mostly light files, a tail of heavy ones whose cases or
//! verifier take most of the time), the old way against the new, alternating
//! in one run, as a ratio of wall times.
//!
//! The old way: the determinism rerun repeats every seed and each junk answer
//! is its own guest call. The new way: the rerun repeats 5 seeds spread over
//! the cases, a case's junk is one guest call, and past 5 cases junk stops
//! when it has cost as much as the cases did. Both score the same junk.

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
    /// Wall time of the old way, summed over the rounds.
    pub old_s: f64,
    pub new_s: f64,
    /// old / new.
    pub ratio: f64,
    pub target_ratio: f64,
    /// Error findings per kind (files), the old way and the new.
    pub old_findings: BTreeMap<String, usize>,
    pub new_findings: BTreeMap<String, usize>,
    pub old_passed: usize,
    pub new_passed: usize,
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
    let new = CheckConfig::default();
    let old = CheckConfig {
        determinism_cases: None,
        batch_junk: false,
        ..CheckConfig::default()
    };
    let audit = |config: &CheckConfig| -> (f64, Vec<CheckReport>) {
        let started = Instant::now();
        let reports = runtime.block_on(bootforge::evaluate::audit::audit(
            &sandbox,
            None,
            &paths,
            config,
            jobs,
            &|_, _| {},
        ));
        (started.elapsed().as_secs_f64(), reports)
    };
    // Warm the compiled-code cache and the page cache for both.
    let _ = audit(&new);
    let (mut old_s, mut new_s) = (0.0, 0.0);
    let (mut old_reports, mut new_reports) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (t, r) = audit(&old);
        old_s += t;
        old_reports = r;
        let (t, r) = audit(&new);
        new_s += t;
        new_reports = r;
    }
    let (old_findings, old_passed) = counts(&old_reports);
    let (new_findings, new_passed) = counts(&new_reports);
    Ok(AuditSpeed {
        files: paths.len(),
        heavy_files: heavy,
        jobs,
        rounds,
        old_s,
        new_s,
        ratio: old_s / new_s.max(1e-9),
        target_ratio: 1.7,
        old_findings,
        new_findings,
        old_passed,
        new_passed,
    })
}

impl AuditSpeed {
    pub fn render(&self) -> String {
        format!(
            "audit speed  {} files ({} heavy), {} jobs, {} round(s): old way {:.1} s, new way {:.1} s: {:.2}x faster; target >= {}x; passed {} (old {})",
            self.files,
            self.heavy_files,
            self.jobs,
            self.rounds,
            self.old_s,
            self.new_s,
            self.ratio,
            self.target_ratio,
            self.new_passed,
            self.old_passed
        )
    }
}
