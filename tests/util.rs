//! Shared test helpers: one sandbox per test process, bootcamp sources, the
//! binary under test.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use bootforge::sandbox::{Limits, RunReport, RunSpec, Sandbox, SandboxOptions};

/// The compiled-component cache shared by every test (and test run): the
/// first compile takes seconds, later loads milliseconds.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("bootforge-cache")
}

pub fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let mut options = SandboxOptions::new(cache_dir());
        options.workers = 2;
        Sandbox::open(&options).expect("opening the sandbox")
    })
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn read_bootcamp(name: &str) -> String {
    std::fs::read_to_string(repo_path(&format!("tests/bootcamps/{name}"))).expect("test bootcamp")
}

/// A bootcamp whose `case_generator` body is `body` (indented by 8 spaces
/// by the caller's text) and whose verifier accepts anything.
pub fn bootcamp_with_generator(body: &str) -> String {
    let body: String = body.lines().map(|l| format!("        {l}\n")).collect();
    format!(
        r#"import os, random, sys, time
from bootcamp import Basebootcamp


class Probebootcamp(Basebootcamp):
    def case_generator(self):
{body}
    @staticmethod
    def prompt_func(identity):
        return "Answer as [answer]x[/answer]: " + str(identity)

    @staticmethod
    def extract_output(output):
        return output

    @classmethod
    def _verify_correction(cls, solution, identity):
        return True
"#
    )
}

/// Same, with `verify_score`'s scoring (`_verify_correction`) body given.
pub fn bootcamp_with_verifier(body: &str) -> String {
    let body: String = body.lines().map(|l| format!("        {l}\n")).collect();
    format!(
        r#"import os, random, sys, time
from bootcamp import Basebootcamp


class Probebootcamp(Basebootcamp):
    def case_generator(self):
        return {{"n": random.randint(1, 100)}}

    @staticmethod
    def prompt_func(identity):
        return "Repeat {{}} as [answer]N[/answer]".format(identity["n"])

    @staticmethod
    def extract_output(output):
        return output

    @classmethod
    def _verify_correction(cls, solution, identity):
{body}
"#
    )
}

pub fn spec(source: &str, seeds: std::ops::Range<u64>, answer: Option<&str>) -> RunSpec {
    RunSpec::new("probe.py", source).cases(seeds, answer)
}

pub fn quick_limits() -> Limits {
    Limits {
        timeout: Duration::from_millis(1500),
        memory_bytes: 256 << 20,
        output_bytes: 64 << 10,
        ..Limits::default()
    }
}

pub fn run(source: &str, seeds: std::ops::Range<u64>, answer: Option<&str>) -> RunReport {
    let mut spec = spec(source, seeds, answer);
    spec.limits = quick_limits();
    sandbox().run_blocking(spec)
}

/// The bootforge binary, with the shared cache and nothing inherited that
/// could change its behaviour.
pub fn bin() -> Command {
    // Fill the shared cache first, so concurrent binaries do not each compile.
    let _ = sandbox();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bootforge"));
    cmd.env_remove("BOOTFORGE_CACHE_DIR")
        .arg("--cache-dir")
        .arg(cache_dir());
    cmd
}

/// A well-behaved bootcamp runs and scores correctly: the sandbox is healthy
/// after whatever ran before.
pub fn assert_sandbox_healthy() {
    let source = read_bootcamp("knapsack_compat.py");
    let report = run(&source, 0..2, Some("[answer]A[/answer]"));
    assert!(
        report.error.is_none(),
        "a clean bootcamp failed after a hostile one: {:?}",
        report.error
    );
    assert_eq!(report.cases().count(), 2);
}
