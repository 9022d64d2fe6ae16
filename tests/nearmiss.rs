//! Near-miss and over-broad answers through the real binary and sandbox:
//! one bootcamp per defect class (each passes its reference and every other
//! check) must fail naming its class, the correct controls whose answers
//! are legitimately not unique or tolerant must pass, and the findings reach
//! the refine prompt, `review show` and the audit summary.

use crate::fake::{FakeReply, FakeRequest, FakeServer};
use serde_json::Value;

use crate::campaign::{bootforge, setup};
use crate::util::{bin, repo_path};

fn path(name: &str) -> String {
    repo_path(&format!("tests/bootcamps/nearmiss/{name}"))
        .display()
        .to_string()
}

fn check(name: &str) -> (i32, Value) {
    let out = bin()
        .args(["check", &path(name), "--json"])
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), report)
}

fn kinds(report: &Value, severity: &str) -> Vec<String> {
    let mut k: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect();
    k.sort();
    k.dedup();
    k
}

fn mutation<'a>(report: &'a Value, strategy: &str) -> &'a Value {
    report["metrics"]["discrimination"]["mutations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["strategy"] == strategy)
        .unwrap_or_else(|| panic!("no {strategy} in {}", report["metrics"]["discrimination"]))
}

/// Each defect, the finding it must fail with and the class that shows it.
const DEFECTS: [(&str, &str, &str); 9] = [
    (
        "plus_minus_one.py",
        "accepts_near_miss",
        "near_miss:off_by_one",
    ),
    (
        "all_numbers_present.py",
        "accepts_overbroad",
        "overbroad:all_numbers",
    ),
    (
        "every_option.py",
        "accepts_overbroad",
        "overbroad:all_options",
    ),
    ("sorted_copy.py", "accepts_near_miss", "near_miss:reversed"),
    ("substring.py", "accepts_near_miss", "near_miss:digit_added"),
    ("wide_float.py", "accepts_near_miss", "near_miss:float_off"),
    (
        "first_number.py",
        "accepts_near_miss",
        "near_miss:reasoning_mentions_answer",
    ),
    (
        "unchecked_constraint.py",
        "accepts_near_miss",
        "near_miss:pair_shifted",
    ),
    ("prefix_only.py", "accepts_near_miss", "near_miss:truncated"),
];

#[test]
fn every_near_miss_defect_fails_naming_its_class_with_evidence() {
    for (file, kind, strategy) in DEFECTS {
        let (code, report) = check(file);
        assert_eq!(code, 1, "{file}: {report}");
        // The defect is the only reason: the reference passes, the cases
        // are deterministic and diverse, content-free junk gets nothing.
        let errors = kinds(&report, "error");
        assert!(errors.contains(&kind.to_owned()), "{file}: {errors:?}");
        assert!(
            errors
                .iter()
                .all(|k| k == "accepts_near_miss" || k == "accepts_overbroad"),
            "{file}: {errors:?}"
        );
        let stages = report["stages"].as_array().unwrap();
        let status = |s: &str| {
            stages.iter().find(|x| x["stage"] == s).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(status("self_consistency"), "passed", "{file}");
        assert_eq!(status("generate"), "passed", "{file}");
        let m = mutation(&report, strategy);
        assert_eq!(m["verdict"], "fails", "{file}: {m}");
        assert!(m["full_credit"].as_u64().unwrap() * 2 > m["cases"].as_u64().unwrap());
        let example = &m["example"];
        assert_eq!(example["score"], 1.0, "{file}: {m}");
        assert_ne!(example["reference"], example["mutant"], "{file}: {m}");
        // The finding carries the class, its rate and a case.
        let finding = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == kind && f["severity"] == "error")
            .unwrap();
        let message = finding["message"].as_str().unwrap();
        let class = strategy.split(':').nth(1).unwrap();
        assert!(
            message.contains(class) && message.contains("scored 1"),
            "{file}: {message}"
        );
        assert!(
            finding["evidence"]["classes"][0]["example"]["mutant"].is_string(),
            "{file}: {finding}"
        );
    }
}

#[test]
fn controls_with_non_unique_or_tolerant_answers_pass() {
    for file in [
        "control_any_path.py",
        "control_any_assignment.py",
        "control_order_free.py",
        "control_relative_tolerance.py",
        "total_exact.py",
    ] {
        let (code, report) = check(file);
        assert_eq!(code, 0, "{file}: {report}");
        let tried = report["metrics"]["discrimination"]["mutations"]
            .as_array()
            .unwrap();
        assert!(tried.len() >= 4, "{file}: mutants were tried: {tried:?}");
        assert!(
            tried.iter().all(|m| m["verdict"] != "fails"),
            "{file}: {tried:?}"
        );
    }
    // The prompt says any order: reorderings get credit and are not judged.
    let (_, report) = check("control_order_free.py");
    let swapped = mutation(&report, "near_miss:swapped");
    assert_eq!(swapped["full_credit"], swapped["cases"], "{swapped}");
    assert_eq!(
        (swapped["judged"].as_str(), swapped["verdict"].as_str()),
        (Some("format"), Some("not_judged"))
    );
    // A stated 1% tolerance: the moved decimal lies outside it, rejected.
    let (_, report) = check("control_relative_tolerance.py");
    assert_eq!(
        mutation(&report, "near_miss:float_off")["full_credit"],
        0,
        "{report}"
    );
}

#[test]
fn a_few_near_misses_warn_and_reach_review_show_and_the_audit() {
    let (code, report) = check("near_miss_warning.py");
    assert_eq!(code, 0, "{report}");
    assert_eq!(kinds(&report, "warning"), ["accepts_near_miss"], "{report}");
    let m = mutation(&report, "near_miss:off_by_one");
    assert_eq!(m["verdict"], "warns", "{m}");

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("review.db");
    let (code, stdout, stderr) = bootforge(
        &db,
        &["review", "add", &path("near_miss_warning.py"), "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let added: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let id = added["item"].as_i64().unwrap().to_string();
    let (code, text, _) = bootforge(&db, &["review", "show", &id]);
    assert_eq!(code, 0);
    assert!(
        text.contains("== Near misses and over-broad answers")
            && text.contains("near_miss:off_by_one")
            && text.contains("judged content -> warns")
            // The credited case's score reads as the report stores it.
            && text.contains(" scored 1.0")
            && text.contains("accepts_near_miss"),
        "{text}"
    );

    // The review page shows the classes with credit and their evidence.
    let page = item_page(&db, &id);
    assert!(
        page.contains("Near misses and over-broad answers with credit")
            && page.contains("near_miss:off_by_one")
            && page.contains("content → warns")
            && page.contains(" scored 1.0"),
        "{page}"
    );

    // The audit counts the findings and the failing classes.
    let out = bin()
        .args([
            "audit",
            repo_path("tests/bootcamps/nearmiss").to_str().unwrap(),
            "--json",
            "--jobs",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let s = &summary["summary"];
    assert_eq!(s["findings"]["accepts_near_miss"], 9, "{s}");
    assert_eq!(s["findings"]["accepts_overbroad"], 4, "{s}");
    assert!(
        s["warnings"]["accepts_near_miss"].as_u64().unwrap() >= 1,
        "{s}"
    );
    assert_eq!(s["mutation_classes"]["near_miss:off_by_one"], 1, "{s}");
    assert_eq!(s["mutation_classes"]["overbroad:all_options"], 1, "{s}");
}

/// `bootforge serve` on 127.0.0.1:0 over `db`, and the body of one item's
/// page fetched over a plain socket.
fn item_page(db: &std::path::Path, id: &str) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = bin()
        .arg("--db")
        .arg(db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env_remove("BOOTFORGE_REVIEWER")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    break rest.trim().to_owned();
                }
            }
            _ => {
                let _ = child.kill();
                panic!("serve ended before listening");
            }
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "GET /items/{id} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    body
}

/// Reads "Add up these numbers: a, b, c." and is right when the total is
/// even, two off otherwise: an accuracy inside the band.
fn total_solver(req: &FakeRequest) -> FakeReply {
    let total: i64 = req
        .prompt
        .split("Add up these numbers: ")
        .nth(1)
        .and_then(|rest| rest.split(". ").next())
        .map(|list| {
            list.split(", ")
                .filter_map(|n| n.trim().parse::<i64>().ok())
                .sum()
        })
        .unwrap_or(0);
    let answer = if total % 2 == 0 { total } else { total + 2 };
    FakeReply::answer(format!("Adding them up. [answer]{answer}[/answer]"))
}

#[test]
fn a_campaign_whose_first_draft_forgives_near_misses_is_told_so() {
    let read = |name: &str| std::fs::read_to_string(path(name)).unwrap();
    let (lenient, exact) = (read("plus_minus_one.py"), read("total_exact.py"));
    let server = FakeServer::start(move |req: &FakeRequest| {
        if !req.prompt.starts_with("You write bootcamps") {
            return total_solver(req);
        }
        let code = if req.prompt.contains("# The current draft") {
            &exact
        } else {
            &lenient
        };
        FakeReply::answer(format!("Here it is.\n\n```python\n{code}```\n"))
    })
    .unwrap();
    let s = setup(
        server.base_url(),
        &[("total", "Add up a list of two-digit numbers.")],
        "",
    );
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let task = &result["tasks"][0];
    assert_eq!(
        (task["status"].as_str(), task["generation"].as_i64()),
        (Some("accepted"), Some(1)),
        "{result}"
    );
    let refine = server
        .requests()
        .into_iter()
        .find(|r| r.prompt.contains("# The current draft"))
        .expect("a refine prompt");
    let p = &refine.prompt;
    assert!(
        p.contains("accepts_near_miss") && p.contains("off_by_one") && p.contains("scored 1"),
        "{p}"
    );
    assert!(p.contains("Note: near misses"), "{p}");
}

#[test]
fn without_a_reference_the_solvers_right_answers_are_mutated() {
    let server = FakeServer::start(total_solver).unwrap();
    let out = bin()
        .args([
            "check",
            &path("no_reference_total.py"),
            "--json",
            "--model",
            "fake-solver",
            "--base-url",
            server.base_url(),
        ])
        .env("OPENAI_API_KEY", "sk-test")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(out.status.code(), Some(1), "{report}");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "accepts_near_miss")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(
        (finding["stage"].as_str(), finding["severity"].as_str()),
        (Some("solver"), Some("error"))
    );
    let mutations = report["metrics"]["solver"]["mutations"].as_array().unwrap();
    let off = mutations
        .iter()
        .find(|m| m["strategy"] == "near_miss:off_by_one")
        .unwrap();
    assert_eq!(off["verdict"], "fails", "{off}");
    // Only the answers that scored 1 are mutated: about half of them.
    let right = report["metrics"]["solver"]["correct"].as_u64().unwrap();
    assert_eq!(off["cases"].as_u64().unwrap(), right, "{off}");
    assert_eq!(off["example"]["score"], 1.0, "{off}");
    // Discrimination had no reference to mutate; the prompt's own
    // over-broad answer (all its numbers) was still tried.
    let d = report["metrics"]["discrimination"]["mutations"]
        .as_array()
        .unwrap();
    assert!(
        d.iter()
            .all(|m| m["class"] == "all_numbers" || m["class"] == "all_options"),
        "{d:?}"
    );
}
