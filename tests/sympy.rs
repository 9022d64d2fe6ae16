//! The sympy component: bootcamps that import sympy run on it, through the
//! real binary (`check`, `generate`, `eval`) and the real sandbox; every
//! other bootcamp never sets it up (seen in the cache directory and in
//! `sandbox info`).

use std::path::{Path, PathBuf};

use crate::fake::{FakeReply, FakeRequest, FakeServer};
use bootforge::sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

use crate::util;

fn sympy_bootcamp() -> String {
    util::repo_path("tests/bootcamps/sympy/symbolic_expand.py")
        .display()
        .to_string()
}

/// `a` and `b` of a SymbolicExpand prompt.
fn operands(prompt: &str) -> Option<(i64, i64)> {
    let rest = prompt.split("Let a = ").nth(1)?;
    let (a, rest) = rest.split_once(" and b = ")?;
    let b = rest.split(". ").next()?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// Right (in an unexpanded form only sympy sees as equal) when a + b is
/// even, a wrong polynomial otherwise.
fn scripted(req: &FakeRequest) -> FakeReply {
    match operands(&req.prompt) {
        Some((a, b)) if (a + b) % 2 == 0 => {
            FakeReply::answer(format!("[answer]({a}+{b})*x + ({a})*({b})[/answer]"))
        }
        Some((a, b)) => FakeReply::answer(format!("[answer]{}*x + {}[/answer]", a + b + 1, a * b)),
        None => FakeReply::answer("[answer]?[/answer]"),
    }
}

fn expected_score(prompt: &str) -> f64 {
    let (a, b) = operands(prompt).expect("a SymbolicExpand prompt");
    if (a + b) % 2 == 0 { 1.0 } else { 0.0 }
}

/// The compiled sympy artifacts in `dir`.
fn sympy_artifacts(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("harness-sympy-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A cache directory holding only the base component's compiled artifact
/// (linked from the shared cache, so nothing is compiled again).
fn base_only_cache() -> tempfile::TempDir {
    let base = util::sandbox().component_source().path.clone();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join(base.file_name().unwrap());
    if std::fs::hard_link(&base, &target).is_err() {
        std::fs::copy(&base, &target).unwrap();
    }
    dir
}

#[test]
fn imports_of_sympy_are_recognised_statically() {
    for source in [
        "import sympy\n",
        "import sympy as sp\n",
        "from sympy import symbols, simplify\n",
        "class A:\n    def f(self):\n        from sympy.parsing.sympy_parser import parse_expr\n",
        "import random, mpmath\n",
    ] {
        assert!(bootforge::sandbox::needs_sympy(source), "{source:?}");
    }
    assert!(!bootforge::sandbox::needs_sympy(&util::read_bootcamp(
        "knapsack_compat.py"
    )));
}

#[test]
fn a_plain_bootcamp_never_sets_up_the_sympy_component() {
    // In process: a plain run leaves the sympy slot empty and compiles nothing.
    let cache = base_only_cache();
    let mut options = SandboxOptions::new(cache.path().to_path_buf());
    options.workers = 1;
    let sandbox = Sandbox::open(&options).unwrap();
    assert!(sandbox.component_source().cache_hit);
    let report = sandbox.run_blocking(util::spec(
        &util::read_bootcamp("knapsack_compat.py"),
        0..3,
        Some("[answer]A[/answer]"),
    ));
    assert!(report.error.is_none(), "{:?}", report.error);
    let info = sandbox.sympy_component();
    assert!(info.loaded.is_none(), "{info:?}");
    assert!(!info.cached);
    assert!(sympy_artifacts(cache.path()).is_empty());
    drop(sandbox);

    // Through the binary: a whole check of a plain bootcamp, then `sandbox
    // info`, which describes the sympy component without compiling it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bootforge"))
        .env_remove("BOOTFORGE_CACHE_DIR")
        .arg("--cache-dir")
        .arg(cache.path())
        .args(["check", "--json", "--cases", "5"])
        .arg(util::repo_path("tests/bootcamps/check/good.py"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bootforge"))
        .env_remove("BOOTFORGE_CACHE_DIR")
        .arg("--cache-dir")
        .arg(cache.path())
        .args(["sandbox", "info", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["sympy_component"]["cached"], false, "{info}");
    assert!(
        info["sympy_component"]["compressed_bytes"]
            .as_u64()
            .unwrap()
            > 1_000_000
    );
    assert!(
        sympy_artifacts(cache.path()).is_empty(),
        "a plain check compiled the sympy component"
    );
}

#[test]
fn a_sympy_bootcamp_runs_on_the_sympy_component_under_the_same_limits() {
    let sandbox = util::sandbox();
    let source = std::fs::read_to_string(sympy_bootcamp()).unwrap();
    let report = util::run(&source, 0..4, None);
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.cases().count(), 4);
    let info = sandbox.sympy_component();
    let loaded = info
        .loaded
        .as_ref()
        .expect("the sympy component was set up");
    assert!(loaded.path.starts_with(util::cache_dir()));
    // (Artifacts of earlier builds of the component may sit beside it.)
    assert!(sympy_artifacts(&util::cache_dir()).contains(&loaded.path));

    // The same isolation as the base component: no files, no environment.
    let probe = util::bootcamp_with_generator(
        "import sympy\nreturn {'env': dict(os.environ), 'root': os.path.exists('/etc/passwd'), 'x': str(sympy.expand((sympy.Symbol('x') + 1)**2))}",
    );
    let report = util::run(&probe, 0..1, None);
    assert!(report.error.is_none(), "{:?}", report.error);
    let case: Value = serde_json::from_str(&report.cases().next().unwrap().case_json).unwrap();
    assert_eq!(case["env"], json!({}));
    assert_eq!(case["root"], false);
    assert_eq!(case["x"], "x**2 + 2*x + 1");

    // The same budgets: an endless loop is stopped and reported as a timeout.
    let looping = util::bootcamp_with_generator("import sympy\nwhile True:\n    pass");
    let report = util::run(&looping, 0..1, None);
    let err = report.error.expect("the loop must be stopped");
    assert_eq!(err.kind, bootforge::sandbox::ErrorKind::Timeout, "{err:?}");
    util::assert_sandbox_healthy();
}

#[test]
fn check_generate_and_eval_score_a_sympy_bootcamp() {
    // Set up the sympy component in the shared cache once, before the
    // binaries below would each compile it.
    let _ = util::run(
        &util::bootcamp_with_generator("import sympy\nreturn {}"),
        0..1,
        None,
    );
    let file = sympy_bootcamp();
    let server = FakeServer::start(scripted).unwrap();

    // check: every stage passes, and the solver's answers are judged by sympy.
    let out = util::bin()
        .args(["check", &file, "--json", "--cases", "10"])
        .args(["--model", "fake-solver", "--base-url", server.base_url()])
        .args(["--solver-cases", "30"])
        .env("OPENAI_API_KEY", "sk-test")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["verdict"], "pass", "{report}");
    let attempts = report["metrics"]["solver"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 30);
    let mut right = 0;
    for attempt in attempts {
        let expected = expected_score(attempt["prompt"].as_str().unwrap());
        assert_eq!(attempt["score"].as_f64(), Some(expected), "{attempt}");
        right += usize::from(expected == 1.0);
    }
    assert!(right > 0 && right < 30, "{right} of 30 right");

    // generate: records whose identities sympy computed.
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.jsonl");
    let out = util::bin()
        .arg("--db")
        .arg(dir.path().join("bf.db"))
        .args(["generate", &file, "--n", "20", "--json", "--out"])
        .arg(&records)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&records).unwrap();
    let mut eval_records = Vec::new();
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["data_source"], "SymbolicExpand", "{record}");
        let identity = match &record["ground_truth"] {
            Value::String(text) => serde_json::from_str(text).unwrap(),
            other => other.clone(),
        };
        let (a, b) = (
            identity["a"].as_i64().unwrap(),
            identity["b"].as_i64().unwrap(),
        );
        let expected = identity["expected"].as_str().unwrap();
        assert_eq!(expected.contains('x'), a + b != 0, "{record}");
        eval_records.push(record);
    }
    assert!(!eval_records.is_empty());

    // eval: the task is scored (not excluded as not loading), half or so right.
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let lines: String = eval_records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(data.join("SymbolicExpand.jsonl"), lines).unwrap();
    let bootcamps = util::repo_path("tests/bootcamps/sympy");
    let out = util::bin()
        .arg("--db")
        .arg(dir.path().join("bf.db"))
        .args(["eval", "run", "--data"])
        .arg(&data)
        .arg("--bootcamps")
        .arg(&bootcamps)
        .args(["--model", "m", "--base-url", server.base_url(), "--json"])
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{report}");
    let task = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["data_source"] == "SymbolicExpand")
        .unwrap_or_else(|| panic!("no SymbolicExpand task in {report}"));
    let want: f64 = eval_records
        .iter()
        .map(|r| expected_score(r["prompt"].as_str().unwrap()))
        .sum();
    assert_eq!(
        task["answers"].as_u64(),
        Some(eval_records.len() as u64),
        "{task}"
    );
    assert_eq!(task["correct"].as_f64(), Some(want), "{task}");
    assert!(
        report["excluded"].as_array().unwrap().is_empty(),
        "{report}"
    );
}
