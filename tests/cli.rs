//! The real `bootforge` binary: output formats and exit codes.

use serde::Deserialize;
use serde_json::Value;

use crate::util::{bin, repo_path};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseLine {
    class: String,
    seed: u64,
    case: Value,
    prompt: String,
    score: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct ErrorLine {
    kind: String,
    stage: String,
    message: String,
}

#[derive(Debug, Deserialize)]
struct Summary {
    ok: bool,
    class: Option<String>,
    cases: u64,
    requested: u64,
    timings_ms: Value,
    error: Option<ErrorLine>,
}

#[derive(Debug, Deserialize)]
struct SummaryLine {
    summary: Summary,
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn bootforge(args: &[&str]) -> Output {
    let out = bin().args(args).output().expect("running bootforge");
    Output {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn parse_json(stdout: &str) -> (Vec<CaseLine>, Summary) {
    let mut lines: Vec<&str> = stdout.lines().collect();
    let summary: SummaryLine = serde_json::from_str(lines.pop().expect("a summary line")).unwrap();
    let cases = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    (cases, summary.summary)
}

fn example() -> String {
    repo_path("sandbox/examples/arithmetic_chain.py")
        .display()
        .to_string()
}

#[test]
fn human_output_shows_case_prompt_and_score() {
    let out = bootforge(&[
        "sandbox",
        "run",
        &example(),
        "--cases",
        "2",
        "--answer",
        "[answer]0[/answer]",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("ArithmeticChainbootcamp"),
        "{}",
        out.stdout
    );
    for needle in [
        "case 1 · seed 0",
        "case 2 · seed 1",
        "prompt  Start with",
        "score   0",
        "ok: 2 of 2 cases",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?} in\n{}",
            out.stdout
        );
    }
}

#[test]
fn json_output_has_one_line_per_case_and_a_summary() {
    let out = bootforge(&[
        "sandbox",
        "run",
        &example(),
        "--json",
        "--cases",
        "3",
        "--seed",
        "7",
        "--answer",
        "x",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (cases, summary) = parse_json(&out.stdout);
    assert_eq!(
        cases.iter().map(|c| c.seed).collect::<Vec<_>>(),
        vec![7, 8, 9]
    );
    for case in &cases {
        assert_eq!(case.class, "ArithmeticChainbootcamp");
        assert!(case.case["steps"].is_array());
        assert!(case.prompt.contains("[answer]N[/answer]"));
        assert_eq!(case.score, Some(0.0));
    }
    assert!(summary.ok && summary.error.is_none());
    assert_eq!((summary.cases, summary.requested), (3, 3));
    assert_eq!(summary.class.as_deref(), Some("ArithmeticChainbootcamp"));
    assert!(summary.timings_ms["total"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_failing_bootcamp_exits_1_with_the_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crash.py");
    std::fs::write(
        &file,
        crate::util::bootcamp_with_generator(
            "if random.random() < 2:\n    raise ValueError('bad case')",
        ),
    )
    .unwrap();
    let path = file.display().to_string();
    let out = bootforge(&["sandbox", "run", &path, "--json"]);
    assert_eq!(out.code, 1);
    let (cases, summary) = parse_json(&out.stdout);
    assert!(cases.is_empty() && !summary.ok);
    let err = summary.error.unwrap();
    assert_eq!(
        (err.kind.as_str(), err.stage.as_str(), err.message.as_str()),
        ("exception", "generate", "bad case")
    );

    let out = bootforge(&["sandbox", "run", &path]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("error: exception in generate: ValueError: bad case"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Traceback"), "{}", out.stderr);
}

#[test]
fn limits_are_taken_from_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slow.py");
    std::fs::write(
        &file,
        crate::util::bootcamp_with_generator("time.sleep(5)\nreturn {}"),
    )
    .unwrap();
    let out = bootforge(&[
        "sandbox",
        "run",
        &file.display().to_string(),
        "--json",
        "--timeout-ms",
        "300",
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(parse_json(&out.stdout).1.error.unwrap().kind, "timeout");

    std::fs::write(
        &file,
        crate::util::bootcamp_with_generator("return {'x': len(bytearray(200 * 2**20))}"),
    )
    .unwrap();
    let out = bootforge(&[
        "sandbox",
        "run",
        &file.display().to_string(),
        "--json",
        "--memory-mb",
        "128",
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(parse_json(&out.stdout).1.error.unwrap().kind, "memory");
}

#[test]
fn bad_usage_and_input_exit_2_with_a_hint() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["sandbox", "run", "/no/such/bootcamp.py"],
            "cannot read bootcamp file /no/such/bootcamp.py",
        ),
        (
            &["sandbox", "run", "EXAMPLE", "--params", "{not json"],
            "--params is not valid JSON",
        ),
        (
            &["sandbox", "run", "EXAMPLE", "--params", "[1]"],
            "--params must be a JSON object, got an array",
        ),
        (
            &["sandbox", "run", "EXAMPLE", "--score-flags", "3"],
            "--score-flags must be a JSON object",
        ),
        (
            &["sandbox", "run", "EXAMPLE", "--cases", "many"],
            "invalid value 'many'",
        ),
        (
            &["sandbox", "run", "EXAMPLE", "--timeout-ms", "0"],
            "must be positive",
        ),
        (&["sandbox", "frobnicate"], "unrecognized subcommand"),
    ];
    let example = example();
    for (args, message) in cases {
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "EXAMPLE" { example.as_str() } else { a })
            .collect();
        let out = bootforge(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(message),
            "{args:?}: expected {message:?} in {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("binary.py");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
    let out = bootforge(&["sandbox", "run", &binary.display().to_string()]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("is not UTF-8"), "{}", out.stderr);
}

#[test]
fn class_flag_selects_the_class() {
    let file = repo_path("tests/bootcamps/multi_class.py")
        .display()
        .to_string();
    let out = bootforge(&["sandbox", "run", &file, "--json", "--cases", "1"]);
    assert_eq!(out.code, 1);
    assert_eq!(parse_json(&out.stdout).1.error.unwrap().kind, "load");
    let out = bootforge(&[
        "sandbox",
        "run",
        &file,
        "--json",
        "--cases",
        "1",
        "--class",
        "Firstbootcamp",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (cases, _) = parse_json(&out.stdout);
    assert_eq!(cases[0].case["which"], "first");
}

#[test]
fn help_texts_name_the_commands() {
    let out = bootforge(&["--help"]);
    assert_eq!(out.code, 0);
    for needle in ["sandbox", "--cache-dir", "Exit status"] {
        assert!(out.stdout.contains(needle), "{needle}");
    }
    // The benchmarks left the binary for `cargo bench`: the old command is
    // a usage error, not a silent success.
    let out = bootforge(&["bench", "--quick"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("unrecognized subcommand"),
        "{}",
        out.stderr
    );
    let out = bootforge(&["sandbox", "run", "--help"]);
    for needle in [
        "--params",
        "--seed",
        "--answer",
        "--score-flags",
        "--timeout-ms",
        "--memory-mb",
        "--json",
    ] {
        assert!(out.stdout.contains(needle), "{needle}");
    }
}
