//! `bootforge check` and `bootforge audit` through the real binary, the real
//! sandbox and a fake OpenAI-compatible solver on a real socket.

use crate::fake::{FakeReply, FakeRequest, FakeServer};
use serde_json::Value;

use crate::util::{bin, repo_path};

fn bootcamp(name: &str) -> String {
    repo_path(&format!("tests/bootcamps/check/{name}"))
        .display()
        .to_string()
}

/// The numbers of "What is A + B?" in a prompt of `check/good.py`.
fn sum_in(prompt: &str) -> i64 {
    let rest = prompt.split("What is ").nth(1).expect("an addition prompt");
    let (a, rest) = rest.split_once(" + ").unwrap();
    let b = rest.split('?').next().unwrap();
    a.trim().parse::<i64>().unwrap() + b.trim().parse::<i64>().unwrap()
}

fn right(req: &FakeRequest) -> FakeReply {
    FakeReply::answer(format!(
        "The sum is easy. [answer]{}[/answer]",
        sum_in(&req.prompt)
    ))
}

fn wrong(req: &FakeRequest) -> FakeReply {
    FakeReply::answer(format!("[answer]{}[/answer]", sum_in(&req.prompt) + 1))
}

struct Run {
    code: i32,
    report: Value,
    stderr: String,
}

fn check(server: Option<&FakeServer>, file: &str, extra: &[&str]) -> Run {
    let mut cmd = bin();
    cmd.args(["check", file, "--json", "--cases", "10"])
        .args(extra);
    if let Some(server) = server {
        cmd.args([
            "--model",
            "fake-solver",
            "--base-url",
            server.base_url(),
            "--concurrency",
            "8",
        ]);
    }
    // A key in the child's environment only: the test process's stays untouched.
    let out = cmd
        .env("OPENAI_API_KEY", "sk-test")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    Run {
        code: out.status.code().unwrap(),
        report,
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn kinds(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn stage_status(report: &Value, stage: &str) -> String {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == stage)
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn each_broken_bootcamp_fails_with_its_finding() {
    let cases: &[(&str, &[&str])] = &[
        ("crash_generator.py", &["generate_failed"]),
        ("not_json.py", &["not_json"]),
        ("nondeterministic.py", &["nondeterministic"]),
        ("narrow.py", &["low_diversity"]),
        (
            "accepts_anything.py",
            &[
                "placeholder_verifier",
                "accepts_junk",
                "accepts_other_case_answer",
            ],
        ),
        ("accepts_empty.py", &["accepts_junk"]),
        ("bad_reference.py", &["reference_rejected"]),
        ("ignores_case.py", &["accepts_other_case_answer"]),
    ];
    for (file, expected) in cases {
        let run = check(None, &bootcamp(file), &[]);
        assert_eq!(run.code, 1, "{file}: {}", run.stderr);
        assert_eq!(run.report["verdict"], "fail", "{file}");
        let found = kinds(&run.report);
        for kind in *expected {
            assert!(
                found.iter().any(|k| k == kind),
                "{file}: expected {kind}, got {found:?}"
            );
        }
    }
    // Evidence: the junk that passed, and the marker behind a narrow set.
    let run = check(None, &bootcamp("accepts_empty.py"), &[]);
    let junk = run.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "accepts_junk")
        .unwrap();
    assert_eq!(junk["evidence"]["junk"], "empty_answer_tags");
    assert_eq!(junk["evidence"]["answer"], "[answer][/answer]");
    let run = check(None, &bootcamp("narrow.py"), &[]);
    assert!(
        run.report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "simplification_marker" && f["severity"] == "warning")
    );
    assert_eq!(run.report["metrics"]["distinct_cases"], 3);
}

#[test]
fn a_good_bootcamp_passes_with_a_solver_in_the_band() {
    // Right on even sums, wrong on odd ones: about half.
    let server = FakeServer::start(|req| {
        if sum_in(&req.prompt) % 2 == 0 {
            right(req)
        } else {
            wrong(req)
        }
    })
    .unwrap();
    let run = check(
        Some(&server),
        &bootcamp("good.py"),
        &["--solver-cases", "40"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.report, run.stderr);
    assert_eq!(run.report["verdict"], "pass");
    for stage in [
        "static",
        "load",
        "generate",
        "prompt",
        "self_consistency",
        "discrimination",
        "solver",
    ] {
        assert_eq!(stage_status(&run.report, stage), "passed", "{stage}");
    }
    let solver = &run.report["metrics"]["solver"];
    assert_eq!(solver["cases"], 40);
    let accuracy = solver["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.2 && accuracy < 0.8, "{accuracy}");
    assert!(
        solver["wilson_low"].as_f64().unwrap() < accuracy
            && accuracy < solver["wilson_high"].as_f64().unwrap()
    );
    // Every prompt went to the solver once, and every answer was kept with its score.
    let requests = server.requests();
    assert_eq!(requests.len(), 40);
    assert!(
        requests
            .iter()
            .all(|r| r.body["model"] == "fake-solver" && r.prompt.starts_with("What is "))
    );
    let attempts = solver["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 40);
    for attempt in attempts {
        let prompt = attempt["prompt"].as_str().unwrap();
        let expected = if sum_in(prompt) % 2 == 0 { 1.0 } else { 0.0 };
        assert_eq!(attempt["score"].as_f64().unwrap(), expected, "{attempt}");
        assert!(attempt["response"].as_str().unwrap().contains("[answer]"));
    }
    assert_eq!(
        solver["format_penalty"], false,
        "a plain model is not graded for <think>"
    );
}

#[test]
fn solver_accuracy_outside_the_band_fails() {
    let always = FakeServer::start(right).unwrap();
    let run = check(
        Some(&always),
        &bootcamp("good.py"),
        &["--solver-cases", "20"],
    );
    assert_eq!(run.code, 1);
    assert_eq!(kinds(&run.report), vec!["too_easy"]);
    assert_eq!(run.report["metrics"]["solver"]["accuracy"], 1.0);

    let never = FakeServer::start(wrong).unwrap();
    let run = check(
        Some(&never),
        &bootcamp("good.py"),
        &["--solver-cases", "20"],
    );
    assert_eq!(run.code, 1);
    assert_eq!(kinds(&run.report), vec!["too_hard_or_broken"]);
    assert_eq!(run.report["metrics"]["solver"]["accuracy"], 0.0);

    // The band is configurable: 1.0 is fine when the maximum is 1.
    let run = check(
        Some(&always),
        &bootcamp("good.py"),
        &["--solver-cases", "20", "--accuracy-max", "1"],
    );
    assert_eq!(run.code, 0, "{}", run.report);
}

#[test]
fn reasoning_models_are_graded_with_their_think_block() {
    let server = FakeServer::start(|req| FakeReply::Answer {
        content: format!(
            "[answer]{}[/answer] and some closing words to pass length checks",
            sum_in(&req.prompt)
        ),
        reasoning: Some("Adding the two numbers digit by digit.".into()),
    })
    .unwrap();
    let run = check(
        Some(&server),
        &bootcamp("good.py"),
        &["--solver-cases", "10", "--accuracy-max", "1"],
    );
    assert_eq!(run.code, 0, "{}", run.report);
    let solver = &run.report["metrics"]["solver"];
    assert_eq!(solver["format_penalty"], true);
    assert_eq!(
        solver["accuracy"], 1.0,
        "format_penalty is met by the rebuilt <think> block"
    );
    assert!(
        solver["attempts"][0]["response"]
            .as_str()
            .unwrap()
            .starts_with("<think>\nAdding")
    );
    // Forcing the think requirement off still grades the same answers.
    let run = check(
        Some(&server),
        &bootcamp("good.py"),
        &[
            "--solver-cases",
            "10",
            "--accuracy-max",
            "1",
            "--think",
            "off",
        ],
    );
    assert_eq!(run.report["metrics"]["solver"]["format_penalty"], false);
}

#[test]
fn llm_faults_are_retried_and_counted() {
    // First try of every prompt fails in one of five ways; the retry answers.
    let server = FakeServer::start(|req| {
        if req.repeat > 0 {
            return right(req);
        }
        match req.index % 5 {
            0 => FakeReply::Error(429),
            1 => FakeReply::Error(500),
            2 => FakeReply::Raw(200, "<html>gateway error</html>".into()),
            3 => FakeReply::Truncated,
            _ => FakeReply::Hang,
        }
    })
    .unwrap();
    let run = check(
        Some(&server),
        &bootcamp("good.py"),
        &[
            "--solver-cases",
            "10",
            "--accuracy-max",
            "1",
            "--request-timeout-s",
            "1",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.report, run.stderr);
    let solver = &run.report["metrics"]["solver"];
    assert_eq!(solver["errors"], 0);
    assert_eq!(solver["accuracy"], 1.0);
    let attempts: Vec<u64> = solver["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attempts"].as_u64().unwrap())
        .collect();
    assert!(attempts.iter().all(|&a| a >= 2), "{attempts:?}");
    assert_eq!(server.requests().len() as u64, attempts.iter().sum::<u64>());
}

#[test]
fn a_dead_solver_is_reported_not_graded_as_too_hard() {
    let server = FakeServer::start(|_| FakeReply::Error(503)).unwrap();
    let run = check(
        Some(&server),
        &bootcamp("good.py"),
        &["--solver-cases", "6", "--max-retries", "1"],
    );
    // Nothing says the bootcamp is bad: it could not be judged.
    assert_eq!(
        (run.code, run.report["verdict"].as_str()),
        (3, Some("undecided"))
    );
    assert_eq!(kinds(&run.report), vec!["solver_unavailable"]);
    let solver_stage = run.report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "solver")
        .unwrap();
    assert_eq!(solver_stage["status"], "undecided", "{solver_stage}");
    assert_eq!(server.requests().len(), 12, "one retry each");
    let refused = FakeServer::start(|_| FakeReply::Error(401)).unwrap();
    let run = check(
        Some(&refused),
        &bootcamp("good.py"),
        &["--solver-cases", "4"],
    );
    assert_eq!(kinds(&run.report), vec!["solver_unavailable"]);
    assert_eq!(
        refused.requests().len(),
        4,
        "a refused request is not retried"
    );
}

#[test]
fn human_report_puts_the_verdict_first() {
    let out = bin()
        .args(["check", &bootcamp("accepts_empty.py"), "--cases", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("FAIL  "), "{text}");
    assert!(
        text.contains("accepts_junk") && text.contains("answer: [answer][/answer]"),
        "{text}"
    );
    let out = bin()
        .args(["check", &bootcamp("good.py"), "--cases", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("PASS  "));
}

#[test]
fn check_rejects_bad_input_with_exit_2() {
    for (args, message) in [
        (vec!["check", "/no/such.py"], "cannot read bootcamp file"),
        (
            vec![
                "check",
                "GOOD",
                "--accuracy-min",
                "0.9",
                "--accuracy-max",
                "0.1",
            ],
            "accuracy band",
        ),
        (
            vec!["check", "GOOD", "--params", "[]"],
            "--params must be a JSON object",
        ),
        (
            vec!["check", "GOOD", "--model", "m", "--base-url", "ftp://x"],
            "--base-url must be an http",
        ),
        (vec!["audit", "/no/such/dir"], "cannot read /no/such/dir"),
        (
            vec![
                "check",
                "GOOD",
                "--model",
                "m",
                "--request-timeout-s",
                "inf",
            ],
            "--request-timeout-s must be",
        ),
        (
            vec!["check", "GOOD", "--model", "m", "--solver-cases", "0"],
            "--solver-cases must be",
        ),
        (
            vec!["sandbox", "run", "GOOD", "--cases", "100000000000"],
            "--cases must be at most",
        ),
    ] {
        let good = bootcamp("good.py");
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "GOOD" { good.as_str() } else { a })
            .collect();
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn audit_checks_every_file_and_survives_broken_ones() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "good.py",
        "narrow.py",
        "crash_generator.py",
        "accepts_empty.py",
    ] {
        std::fs::copy(
            repo_path(&format!("tests/bootcamps/check/{name}")),
            dir.path().join(name),
        )
        .unwrap();
    }
    std::fs::create_dir(dir.path().join("nested")).unwrap();
    std::fs::write(
        dir.path().join("nested/syntax.py"),
        "from bootcamp import Basebootcamp\nclass X(Basebootcamp:\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("nested/binary.py"),
        [&b"from bootcamp import Basebootcamp\n"[..], &[0xff, 0xfe]].concat(),
    )
    .unwrap();
    std::fs::write(dir.path().join("utils.py"), "def helper():\n    return 1\n").unwrap();
    std::fs::write(
        dir.path().join("loops.py"),
        crate::util::bootcamp_with_generator("while True:\n    pass"),
    )
    .unwrap();

    let out = bin()
        .args([
            "audit",
            "--json",
            "--jobs",
            "2",
            "--cases",
            "10",
            "--timeout-ms",
            "500",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, reports) = lines.split_last().unwrap();
    let summary = &summary["summary"];
    assert_eq!(reports.len(), 7);
    assert_eq!(
        (
            summary["files"].as_u64(),
            summary["passed"].as_u64(),
            summary["failed"].as_u64()
        ),
        (Some(7), Some(1), Some(6))
    );
    assert_eq!(summary["skipped_non_bootcamps"], 1);
    let verdict_of = |suffix: &str| {
        let r = reports
            .iter()
            .find(|r| r["file"].as_str().unwrap().ends_with(suffix))
            .unwrap();
        (r["verdict"].as_str().unwrap().to_owned(), kinds(r))
    };
    assert_eq!(verdict_of("/good.py").0, "pass");
    assert!(
        verdict_of("narrow.py")
            .1
            .contains(&"low_diversity".to_owned())
    );
    assert!(
        verdict_of("syntax.py")
            .1
            .contains(&"syntax_error".to_owned())
    );
    assert!(verdict_of("binary.py").1.contains(&"unreadable".to_owned()));
    assert!(
        verdict_of("loops.py")
            .1
            .contains(&"generate_failed".to_owned())
    );
    for (kind, count) in [
        ("low_diversity", 1),
        ("generate_failed", 2),
        ("accepts_junk", 1),
        ("syntax_error", 1),
        ("unreadable", 1),
    ] {
        assert_eq!(summary["findings"][kind], count, "{kind}: {summary}");
    }

    // The human table: one row per bootcamp, then the counts.
    let out = bin()
        .args([
            "audit",
            "--jobs",
            "2",
            "--cases",
            "10",
            "--timeout-ms",
            "500",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("verdict"), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("pass") || l.starts_with("FAIL"))
            .count(),
        7,
        "{text}"
    );
    assert!(text.contains("7 bootcamps: 1 pass, 6 fail"), "{text}");
    assert!(text.contains("findings: "), "{text}");
}

#[test]
fn hostile_bootcamps_get_the_right_findings() {
    let cases: &[(&str, &str, &[&str])] = &[
        // A verifier that only rejects text shaped like bootforge's junk.
        ("evade_junk.py", "fail", &["accepts_junk"]),
        // A nonce makes every case distinct; the questions are the same.
        ("nonce.py", "fail", &["low_diversity"]),
        // Seeded from the time of day.
        ("timeofday.py", "fail", &["nondeterministic"]),
        // Lone surrogates and oversized cases are not usable JSON.
        ("surrogate.py", "fail", &["not_json"]),
        ("bigcase.py", "fail", &["not_json"]),
        // A score of 10**400 is not a finite number.
        ("hugescore.py", "fail", &["verify_failed"]),
        ("prompt_raise.py", "fail", &["prompt_failed"]),
        // Valid bootcamps the static stage must not reject.
        ("alias.py", "pass", &[]),
        ("assigned.py", "pass", &[]),
        ("printsur.py", "pass", &[]),
    ];
    for (file, verdict, expected) in cases {
        let path = repo_path(&format!("tests/bootcamps/hostile/{file}"))
            .display()
            .to_string();
        let run = check(None, &path, &[]);
        assert_eq!(
            run.report["verdict"], *verdict,
            "{file}: {}",
            run.report["findings"]
        );
        let found = kinds(&run.report);
        for kind in *expected {
            assert!(
                found.iter().any(|k| k == kind),
                "{file}: expected {kind}, got {found:?}"
            );
        }
    }
    let run = check(
        None,
        &repo_path("tests/bootcamps/hostile/prompt_raise.py")
            .display()
            .to_string(),
        &[],
    );
    assert_eq!(
        (
            stage_status(&run.report, "prompt").as_str(),
            stage_status(&run.report, "generate").as_str()
        ),
        ("failed", "skipped")
    );
}

#[test]
fn the_solver_is_not_paid_for_a_bootcamp_already_failed() {
    let server = FakeServer::start(right).unwrap();
    let run = check(
        Some(&server),
        &bootcamp("accepts_empty.py"),
        &["--solver-cases", "10"],
    );
    assert_eq!(run.code, 1);
    assert_eq!(stage_status(&run.report, "solver"), "skipped");
    assert!(server.requests().is_empty());
}

#[test]
fn a_generator_past_its_time_budget_is_told_the_budget_and_its_time_per_case() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slows.py");
    // Three quick cases, then one that never ends.
    std::fs::write(
        &file,
        crate::util::bootcamp_with_generator(
            "global SEEN\ntry:\n    SEEN += 1\nexcept NameError:\n    SEEN = 1\nwhile SEEN > 3:\n    pass\nreturn {\"n\": SEEN}",
        ),
    )
    .unwrap();
    let run = check(None, file.to_str().unwrap(), &["--timeout-ms", "400"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let finding = run.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "generate_failed")
        .unwrap_or_else(|| panic!("{}", run.report))
        .clone();
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("its 400 ms CPU budget")
            && message.contains("the 3 cases before it took")
            && message.contains("under native CPython"),
        "{message}"
    );
    assert_eq!(finding["evidence"]["budget_ms"], 400);
    assert_eq!(finding["evidence"]["cases_before"], 3);
    assert!(finding["evidence"]["ms_per_case_before"].as_f64().unwrap() >= 0.0);
    assert!(finding["evidence"]["native_ms_estimate"].as_f64().unwrap() > 0.0);
}
