//! `bootforge audit`: check every bootcamp file under some paths, in
//! parallel. One broken file never stops the audit: it is a failed report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use serde_json::json;
use tokio::sync::Semaphore;

use super::{
    CheckConfig, CheckReport, CheckStage, Finding, FindingKind, Metrics, Severity, StageOutcome,
    StageStatus, Verdict, check,
};
use crate::llm::ChatModel;
use crate::sandbox::Sandbox;

/// The files an audit covers.
#[derive(Debug, Default)]
pub struct FileSet {
    /// Python files that mention `Basebootcamp` (and do not define it), plus
    /// every file named explicitly.
    pub bootcamps: Vec<PathBuf>,
    /// Python files under the directories that are not bootcamps.
    pub skipped: usize,
}

/// Walk `paths` (files or directories, recursively, in sorted order). The
/// I/O error is kept as the cause; `{:#}` says it all on one line.
pub fn collect(paths: &[PathBuf]) -> anyhow::Result<FileSet> {
    let mut set = FileSet::default();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_file() {
            set.bootcamps.push(path.clone());
            continue;
        }
        let mut stack = vec![path.clone()];
        let mut found = Vec::new();
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir)
                .with_context(|| format!("cannot list {}", dir.display()))?;
            for entry in entries.flatten() {
                let p = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || name == "__pycache__" {
                    continue;
                }
                match entry.file_type() {
                    Ok(t) if t.is_dir() => stack.push(p),
                    Ok(t) if t.is_file() && name.ends_with(".py") => found.push(p),
                    _ => {}
                }
            }
        }
        found.sort();
        for file in found {
            // Unreadable or non-UTF-8 files are audited (and fail), not skipped.
            match std::fs::read(&file) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    if text.contains("Basebootcamp") && !text.contains("class Basebootcamp") {
                        set.bootcamps.push(file);
                    } else {
                        set.skipped += 1;
                    }
                }
                Err(_) => set.bootcamps.push(file),
            }
        }
    }
    Ok(set)
}

fn unreadable(file: &Path, why: String) -> CheckReport {
    let mut stages = vec![StageOutcome {
        stage: CheckStage::Static,
        status: StageStatus::Failed,
        note: why.clone(),
    }];
    stages.extend(CheckStage::ALL[1..].iter().map(|&stage| StageOutcome {
        stage,
        status: StageStatus::Skipped,
        note: "the file could not be read".into(),
    }));
    CheckReport {
        file: file.display().to_string(),
        class: None,
        verdict: Verdict::Fail,
        findings: vec![Finding {
            stage: CheckStage::Static,
            kind: FindingKind::Unreadable,
            severity: Severity::Error,
            message: why,
            evidence: json!({}),
        }],
        stages,
        metrics: Metrics::default(),
    }
}

/// Check one file from disk.
pub async fn check_file(
    sandbox: &Sandbox,
    solver: Option<Arc<dyn ChatModel>>,
    file: &Path,
    config: &CheckConfig,
) -> CheckReport {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return unreadable(file, format!("cannot read {}: {e}", file.display())),
    };
    match String::from_utf8(bytes) {
        Ok(source) => {
            check(
                sandbox,
                solver,
                &file.display().to_string(),
                &source,
                config,
            )
            .await
        }
        Err(_) => unreadable(file, format!("{} is not UTF-8 text", file.display())),
    }
}

/// Check `files` with at most `jobs` checks at once; `progress(done, failed)`
/// is called after each. Reports come back in the order of `files`.
pub async fn audit(
    sandbox: &Sandbox,
    solver: Option<Arc<dyn ChatModel>>,
    files: &[PathBuf],
    config: &CheckConfig,
    jobs: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<CheckReport> {
    let permits = Arc::new(Semaphore::new(jobs.max(1)));
    let config = Arc::new(config.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for (index, file) in files.iter().enumerate() {
        let permits = permits.clone();
        let sandbox = sandbox.clone();
        let solver = solver.clone();
        let config = config.clone();
        let file = file.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (index, check_file(&sandbox, solver, &file, &config).await)
        });
    }
    let mut reports: Vec<Option<CheckReport>> = vec![None; files.len()];
    let (mut done, mut failed) = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, report)) = joined {
            done += 1;
            if report.verdict == Verdict::Fail {
                failed += 1;
            }
            reports[index] = Some(report);
            progress(done, failed);
        }
    }
    reports
        .into_iter()
        .zip(files)
        .map(|(r, f)| {
            r.unwrap_or_else(|| {
                unreadable(
                    f,
                    "the check of this file crashed (a bug in bootforge)".into(),
                )
            })
        })
        .collect()
}

/// Counts over an audit.
#[derive(Debug, Clone, Serialize)]
pub struct AuditSummary {
    pub files: usize,
    pub passed: usize,
    pub failed: usize,
    /// Could not be judged (the solver endpoint failed); not in `failed`.
    pub undecided: usize,
    pub skipped_non_bootcamps: usize,
    /// Error findings per kind (each file counted once per kind).
    pub findings: BTreeMap<String, usize>,
    /// Warning findings per kind.
    pub warnings: BTreeMap<String, usize>,
    /// Files failing on each near-miss or over-broad class
    /// (`near_miss:off_by_one`, `overbroad:all_options`, ...).
    pub mutation_classes: BTreeMap<String, usize>,
    pub elapsed_s: f64,
    pub files_per_s: f64,
    pub jobs: usize,
}

pub fn summarize(
    reports: &[CheckReport],
    skipped: usize,
    elapsed_s: f64,
    jobs: usize,
) -> AuditSummary {
    let mut findings = BTreeMap::new();
    let mut warnings = BTreeMap::new();
    let mut mutation_classes = BTreeMap::new();
    for report in reports {
        let mutations = report
            .metrics
            .discrimination
            .iter()
            .flat_map(|d| &d.mutations);
        for m in mutations.filter(|m| m.verdict == super::judge::MutationVerdict::Fails) {
            *mutation_classes.entry(m.strategy.clone()).or_insert(0) += 1;
        }
        let mut seen = std::collections::HashSet::new();
        for f in &report.findings {
            if seen.insert((f.kind, f.severity == Severity::Error)) {
                let map = if f.severity == Severity::Error {
                    &mut findings
                } else {
                    &mut warnings
                };
                *map.entry(f.kind.to_string()).or_insert(0) += 1;
            }
        }
    }
    let count = |v: Verdict| reports.iter().filter(|r| r.verdict == v).count();
    let (passed, undecided) = (count(Verdict::Pass), count(Verdict::Undecided));
    AuditSummary {
        files: reports.len(),
        passed,
        failed: reports.len() - passed - undecided,
        undecided,
        skipped_non_bootcamps: skipped,
        findings,
        warnings,
        mutation_classes,
        elapsed_s,
        files_per_s: if elapsed_s > 0.0 {
            reports.len() as f64 / elapsed_s
        } else {
            0.0
        },
        jobs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_path_keeps_the_io_error_and_says_the_path() {
        let err = collect(&[PathBuf::from("/no/such/dir")]).err().unwrap();
        let io = err.root_cause().downcast_ref::<std::io::Error>();
        assert_eq!(io.map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
        assert!(
            format!("{err:#}").starts_with("cannot read /no/such/dir: "),
            "{err:#}"
        );
    }
}
