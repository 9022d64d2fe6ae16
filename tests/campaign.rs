//! Campaigns through the real binary, a real SQLite file, the real sandbox and
//! a fake OpenAI server that scripts an author and a solver.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::fake::{FakeReply, FakeRequest, FakeServer};
use bootforge::campaign::status::DraftStatus;
use bootforge::store::{CallStatus, Store};
use serde_json::Value;

use crate::util::{bin, repo_path};

pub fn bootcamp(name: &str) -> String {
    std::fs::read_to_string(repo_path(&format!("tests/bootcamps/campaign/{name}"))).unwrap()
}

fn fenced(code: &str) -> FakeReply {
    FakeReply::answer(format!("Here is the bootcamp.\n\n```python\n{code}```\n"))
}

/// The scripted author of the example tasks: digit-sum's first draft
/// crashes and its refinement works; interval-merge works at once.
pub fn author(req: &FakeRequest) -> FakeReply {
    let p = &req.prompt;
    if p.contains("Task id: digit-sum") {
        if p.contains("# The current draft") {
            fenced(&bootcamp("digit_sum.py"))
        } else {
            fenced(&bootcamp("digit_sum_crash.py"))
        }
    } else if p.contains("Task id: interval-merge") {
        fenced(&bootcamp("interval_merge.py"))
    } else if p.contains("Task id: addition") {
        fenced(&std::fs::read_to_string(repo_path("tests/bootcamps/check/good.py")).unwrap())
    } else {
        FakeReply::answer("I am not able to write that.")
    }
}

fn digit_sum(prompt: &str) -> Option<(i64, i64)> {
    let rest = prompt.split("decimal digits of ").nth(1)?;
    let (a, rest) = rest.split_once(" * ")?;
    let b = rest.split('?').next()?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

fn intervals(prompt: &str) -> Option<Vec<(i64, i64)>> {
    let line = prompt.lines().find(|l| l.starts_with("Intervals: "))?;
    let mut out = Vec::new();
    for part in line["Intervals: ".len()..].split("], ") {
        let part = part.trim_matches(|c| c == '[' || c == ']');
        let (l, r) = part.split_once(", ")?;
        out.push((l.parse().ok()?, r.parse().ok()?));
    }
    Some(out)
}

fn covered(mut v: Vec<(i64, i64)>) -> i64 {
    v.sort();
    let mut total = 0;
    let mut current: Option<(i64, i64)> = None;
    for (l, r) in v {
        match current {
            Some((cl, cr)) if l <= cr => current = Some((cl, cr.max(r))),
            Some((cl, cr)) => {
                total += cr - cl;
                current = Some((l, r));
            }
            None => current = Some((l, r)),
        }
    }
    total + current.map(|(l, r)| r - l).unwrap_or(0)
}

/// The scripted solver: right about half the time on the example tasks,
/// always right on additions.
pub fn solver(req: &FakeRequest) -> FakeReply {
    let p = &req.prompt;
    let answer = if let Some((a, b)) = digit_sum(p) {
        let right: i64 = (a * b).to_string().bytes().map(|d| (d - b'0') as i64).sum();
        if (a + b) % 2 == 0 { right } else { right + 1 }
    } else if let Some(v) = intervals(p) {
        let n = v.len();
        let right = covered(v);
        if n % 2 == 0 { right } else { right + 3 }
    } else if let Some(rest) = p.split("What is ").nth(1) {
        let (a, rest) = rest.split_once(" + ").unwrap();
        a.trim().parse::<i64>().unwrap()
            + rest
                .split('?')
                .next()
                .unwrap()
                .trim()
                .parse::<i64>()
                .unwrap()
    } else {
        0
    };
    FakeReply::answer(format!("Let me compute. [answer]{answer}[/answer]"))
}

/// Author and solver on one server, told apart by the prompt.
pub fn both(req: &FakeRequest) -> FakeReply {
    if req.prompt.starts_with("You write bootcamps") {
        author(req)
    } else {
        solver(req)
    }
}

pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub db: PathBuf,
}

/// A campaign directory: config (with `extra` appended), tasks, database path.
pub fn setup(server_url: &str, tasks: &[(&str, &str)], extra: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tasks")).unwrap();
    for (id, text) in tasks {
        std::fs::write(dir.path().join("tasks").join(format!("{id}.md")), text).unwrap();
    }
    let config = dir.path().join("campaign.toml");
    let text = format!(
        "name = \"test\"\ntasks = \"tasks\"\n{extra}\n[author]\nmodel = \"author-model\"\nbase_url = \"{server_url}\"\ntimeout_s = 5\n\n[solver]\nmodel = \"solver-model\"\nbase_url = \"{server_url}\"\ntimeout_s = 5\n\n[selftest]\ncases = 8\nsolver_cases = 12\n",
    );
    let text = if extra.contains("[evolution]") {
        text
    } else {
        text + "\n[evolution]\ndrafts_per_task = 2\nchildren_per_parent = 1\nparents_per_generation = 1\nmax_generations = 3\n"
    };
    std::fs::write(&config, text).unwrap();
    let db = dir.path().join("bootforge.db");
    Setup { dir, config, db }
}

pub const EXAMPLE_TASKS: [(&str, &str); 2] = [
    (
        "digit-sum",
        include_str!("../prompts/example/tasks/digit-sum.md"),
    ),
    (
        "interval-merge",
        include_str!("../prompts/example/tasks/interval-merge.md"),
    ),
];

pub fn bootforge(db: &Path, args: &[&str]) -> (i32, String, String) {
    let out = bin()
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("OPENAI_BASE_URL")
        .env_remove("BOOTFORGE_DB")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn last_json(stdout: &str) -> Value {
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn task<'a>(result: &'a Value, id: &str) -> &'a Value {
    result["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"] == id)
        .unwrap()
}

fn store(db: &Path) -> (tokio::runtime::Runtime, Store) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(Store::open(db)).unwrap();
    (rt, store)
}

#[test]
fn a_crashing_draft_is_refined_with_its_traceback_and_accepted() {
    let server = FakeServer::start(both).unwrap();
    let s = setup(server.base_url(), &EXAMPLE_TASKS, "");
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let result = last_json(&stdout);
    let id = result["campaign"].as_i64().unwrap();
    let interval = task(&result, "interval-merge");
    assert_eq!(
        (interval["status"].as_str(), interval["generation"].as_i64()),
        (Some("accepted"), Some(0))
    );
    let digit = task(&result, "digit-sum");
    assert_eq!(
        (digit["status"].as_str(), digit["generation"].as_i64()),
        (Some("accepted"), Some(1))
    );
    let accuracy = digit["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.03 && accuracy < 0.85, "{accuracy}");

    // The refine prompt carried the parent's code and its traceback.
    let refines: Vec<FakeRequest> = server
        .requests()
        .into_iter()
        .filter(|r| r.prompt.contains("# The current draft"))
        .collect();
    assert!(!refines.is_empty());
    assert!(
        refines[0].prompt.contains("ZeroDivisionError") && refines[0].prompt.contains("mean_digit"),
        "{}",
        refines[0].prompt
    );
    assert!(refines[0].prompt.contains("generate_failed"));

    // The lineage links the child to its crashed parent.
    let (code, stdout, _) = bootforge(
        &s.db,
        &[
            "lineage",
            "digit-sum",
            "--campaign",
            &id.to_string(),
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let lineage = last_json(&stdout);
    let drafts = lineage["drafts"].as_array().unwrap();
    let child = drafts.iter().find(|d| d["id"] == digit["draft"]).unwrap();
    let parent = drafts.iter().find(|d| d["id"] == child["parent"]).unwrap();
    assert_eq!(
        (child["generation"].as_i64(), parent["generation"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(parent["verdict"], "fail");
    assert_eq!(child["verdict"], "pass");
    let (_, tree, _) = bootforge(
        &s.db,
        &["lineage", "digit-sum", "--campaign", &id.to_string()],
    );
    assert!(
        tree.contains("└─ #") && tree.contains("refine pass"),
        "{tree}"
    );

    // Status and list read the same store.
    let (code, stdout, _) = bootforge(&s.db, &["campaign", "status", &id.to_string(), "--json"]);
    assert_eq!(code, 0);
    let status = last_json(&stdout);
    assert_eq!(
        (status["status"].as_str(), status["accepted"].as_i64()),
        (Some("done"), Some(2))
    );
    let (_, list, _) = bootforge(&s.db, &["campaign", "list"]);
    assert!(list.contains("test") && list.contains("done"), "{list}");
}

#[test]
fn the_band_decides_acceptance_and_garbage_is_not_code() {
    let server = FakeServer::start(both).unwrap();
    let tasks = [
        ("addition", "Add two three-digit numbers."),
        ("poetry", "Write a bootcamp about sonnets."),
    ];
    // The solver is always right on additions: too easy, never accepted.
    let s = setup(server.base_url(), &tasks, "");
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let result = last_json(&stdout);
    let addition = task(&result, "addition");
    assert_eq!(addition["status"], "rejected");
    assert_eq!(addition["accuracy"], 1.0);
    assert!(addition["draft"].is_i64(), "the best draft is named");
    let poetry = task(&result, "poetry");
    assert_eq!(poetry["status"], "rejected");
    assert!(poetry["draft"].is_null(), "no draft had code");
    let (rt, store) = store(&s.db);
    let id = result["campaign"].as_i64().unwrap();
    let drafts = rt.block_on(store.drafts(id, "poetry")).unwrap();
    assert!(drafts.iter().all(|d| d.status == DraftStatus::NoCode));
    assert_eq!(
        drafts.iter().map(|d| d.generation).max(),
        Some(2),
        "fresh drafts each generation"
    );
    let asked = server
        .requests()
        .iter()
        .filter(|r| r.prompt.contains("Task id: poetry"))
        .count();
    assert_eq!(
        asked,
        drafts.len(),
        "each fresh draft is a call of its own, not a copy of an earlier answer"
    );
    let addition_drafts = rt.block_on(store.drafts(id, "addition")).unwrap();
    assert!(
        addition_drafts
            .iter()
            .any(|d| d.operator == "refine" && d.parent_id.is_some())
    );
    // The refine prompt says why.
    let refine = server
        .requests()
        .into_iter()
        .find(|r| {
            r.prompt.contains("Task id: addition") && r.prompt.contains("# The current draft")
        })
        .unwrap();
    assert!(refine.prompt.contains("too easy"), "{}", refine.prompt);
    // With the solver's answers case by case, not one sample.
    assert!(
        refine.prompt.contains("case by case") && refine.prompt.matches("| right |").count() >= 2,
        "{}",
        refine.prompt
    );

    // With a band that admits 1.0, the same drafts are accepted.
    let s = setup(server.base_url(), &tasks[..1], "");
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("solver_cases = 12", "solver_cases = 12\naccuracy_max = 1.0");
    std::fs::write(&s.config, text).unwrap();
    let (code, stdout, _) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0);
    assert_eq!(task(&last_json(&stdout), "addition")["status"], "accepted");
}

#[test]
fn a_spent_budget_stops_the_campaign_cleanly() {
    let server = FakeServer::start(both).unwrap();
    let s = setup(
        server.base_url(),
        &EXAMPLE_TASKS,
        "\n[budget]\nmax_llm_calls = 5\n",
    );
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 1, "{stdout}");
    let result = last_json(&stdout);
    assert_eq!(result["status"], "stopped");
    assert!(
        result["reason"].as_str().unwrap().contains("budget"),
        "{result}"
    );
    assert!(stderr.contains("campaign resume"), "{stderr}");
    let (rt, store) = store(&s.db);
    let id = result["campaign"].as_i64().unwrap();
    let usage = rt.block_on(store.usage(id)).unwrap();
    assert!(usage.llm_calls <= 5, "{usage:?}");
    assert_eq!(
        server.requests().len() as i64,
        usage.llm_calls,
        "every request made is recorded"
    );
    drop(store);
    // Resuming with the same budget stops at once; a raised one finishes.
    let (code, stdout, _) = bootforge(&s.db, &["campaign", "resume", &id.to_string(), "--json"]);
    assert_eq!(code, 1);
    assert_eq!(last_json(&stdout)["status"], "stopped");
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &[
            "campaign",
            "resume",
            &id.to_string(),
            "--json",
            "--max-llm-calls",
            "1000",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(last_json(&stdout)["status"], "done");
}

#[test]
fn a_dead_endpoint_stops_the_campaign_and_resume_finishes_it() {
    // Nothing listens on this port yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let s = setup(&url, &EXAMPLE_TASKS[1..], "");
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("timeout_s = 5", "timeout_s = 1\nmax_retries = 1");
    std::fs::write(&s.config, text).unwrap();
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 1, "{stdout}");
    let result = last_json(&stdout);
    assert_eq!(result["status"], "stopped");
    assert!(
        result["reason"]
            .as_str()
            .unwrap()
            .contains("author endpoint failed"),
        "{result}"
    );
    assert!(stderr.contains("check the endpoint"), "{stderr}");
    let id = result["campaign"].as_i64().unwrap().to_string();
    let (rt, store) = store(&s.db);
    let drafts = rt.block_on(store.drafts(1, "interval-merge")).unwrap();
    assert!(
        drafts.iter().all(|d| d.status == DraftStatus::Pending),
        "no draft is blamed for the endpoint"
    );
    drop(store);
    // Resume with the answers available (a cassette recorded from a live
    // server: the stored config still names the dead URL).
    let live = FakeServer::start(both).unwrap();
    let cassette = tempfile::NamedTempFile::new().unwrap();
    {
        let s2 = setup(live.base_url(), &EXAMPLE_TASKS[1..], "");
        let (code, _, _) = bootforge(
            &s2.db,
            &[
                "campaign",
                "run",
                s2.config.to_str().unwrap(),
                "--record",
                cassette.path().to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0);
    }
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &[
            "campaign",
            "resume",
            &id,
            "--json",
            "--replay",
            cassette.path().to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        task(&last_json(&stdout), "interval-merge")["status"],
        "accepted"
    );
}

#[test]
fn llm_faults_are_retried_and_counted() {
    let server = FakeServer::start(|req| {
        if req.repeat == 0 && req.prompt.starts_with("You write bootcamps") {
            return match req.index % 3 {
                0 => FakeReply::Error(429),
                1 => FakeReply::Error(500),
                _ => FakeReply::Truncated,
            };
        }
        if req.repeat == 0 && req.index % 7 == 0 {
            return FakeReply::Hang;
        }
        both(req)
    })
    .unwrap();
    let s = setup(server.base_url(), &EXAMPLE_TASKS[1..], "");
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("timeout_s = 5", "timeout_s = 1");
    std::fs::write(&s.config, text).unwrap();
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let result = last_json(&stdout);
    assert_eq!(task(&result, "interval-merge")["status"], "accepted");
    let (rt, store) = store(&s.db);
    let calls = rt
        .block_on(store.calls(result["campaign"].as_i64().unwrap()))
        .unwrap();
    let authors: Vec<_> = calls.iter().filter(|c| c.role == "author").collect();
    assert!(
        authors.iter().all(|c| c.status == CallStatus::Ok),
        "{authors:?}"
    );
    assert!(authors.iter().any(|c| c.attempts >= 2), "{authors:?}");
    assert!(
        calls.iter().any(|c| c.role == "solver" && c.attempts >= 2),
        "a hung solver request is retried"
    );
    let total: i64 = calls.iter().map(|c| c.attempts).sum();
    assert_eq!(
        total as usize,
        server.requests().len(),
        "every attempt is counted"
    );
}

#[test]
fn record_then_replay_gives_the_same_campaign_offline() {
    let cassette = tempfile::NamedTempFile::new().unwrap();
    let first = {
        let server = FakeServer::start(both).unwrap();
        let s = setup(server.base_url(), &EXAMPLE_TASKS, "");
        let (code, stdout, _) = bootforge(
            &s.db,
            &[
                "campaign",
                "run",
                s.config.to_str().unwrap(),
                "--json",
                "--record",
                cassette.path().to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0);
        last_json(&stdout)
    };
    // The server is gone: everything comes from the cassette.
    let s = setup("http://127.0.0.1:9/v1", &EXAMPLE_TASKS, "");
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &[
            "campaign",
            "run",
            s.config.to_str().unwrap(),
            "--json",
            "--replay",
            cassette.path().to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let second = last_json(&stdout);
    let strip = |v: &Value| -> Vec<(String, String, Option<i64>, Option<f64>)> {
        v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["task"].as_str().unwrap().into(),
                    t["status"].as_str().unwrap().into(),
                    t["generation"].as_i64(),
                    t["accuracy"].as_f64(),
                )
            })
            .collect()
    };
    assert_eq!(strip(&first), strip(&second));
    // A cassette that does not match the campaign stops it with a clear reason.
    let s = setup(
        "http://127.0.0.1:9/v1",
        &[("other", "Another task entirely.")],
        "",
    );
    let (code, stdout, _) = bootforge(
        &s.db,
        &[
            "campaign",
            "run",
            s.config.to_str().unwrap(),
            "--json",
            "--replay",
            cassette.path().to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        last_json(&stdout)["reason"]
            .as_str()
            .unwrap()
            .contains("cassette has no answer")
    );
}

#[test]
fn kill_9_then_resume_finishes_without_repeating_calls() {
    // Slow answers, so the kill lands mid-campaign.
    let server =
        FakeServer::start(|req| FakeReply::Delay(Duration::from_millis(300), Box::new(both(req))))
            .unwrap();
    let s = setup(server.base_url(), &EXAMPLE_TASKS, "");
    let log = s.dir.path().join("child.log");
    let mut child = bin()
        .arg("--db")
        .arg(&s.db)
        .args(["campaign", "run", s.config.to_str().unwrap(), "--json"])
        .env_remove("OPENAI_BASE_URL")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Wait until some calls and an evaluation are stored, then kill -9.
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        if s.db.exists() {
            let (rt, store) = store(&s.db);
            let evaluated = rt
                .block_on(store.counts(1))
                .map(|c| c.evaluated)
                .unwrap_or(0);
            if evaluated >= 1 {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the campaign made no progress"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the campaign ended ({status}) before it could be killed: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = {
        let (rt, st) = store(&s.db);
        rt.block_on(st.calls(1)).unwrap()
    };
    assert!(!before.is_empty());
    let requests_before = server.requests().len();

    let (code, stdout, stderr) = bootforge(&s.db, &["campaign", "resume", "1", "--json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let result = last_json(&stdout);
    assert!(
        result["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "accepted"),
        "{result}"
    );

    // No finished call was asked again: every request after the kill is
    // either a call recorded now or one that was in flight at the kill.
    let (rt, store) = store(&s.db);
    let after = rt.block_on(store.calls(1)).unwrap();
    let lost_in_flight = requests_before - before.len();
    assert_eq!(
        server.requests().len(),
        after.len() + lost_in_flight,
        "a finished call was repeated"
    );
    assert!(
        after.len() > before.len(),
        "the resumed campaign did the rest"
    );
    // No duplicate or half-written rows.
    let counts: std::collections::HashMap<String, i64> = rt
        .block_on(store.table_counts())
        .unwrap()
        .into_iter()
        .map(|t| (t.table, t.rows))
        .collect();
    assert_eq!(counts["campaigns"], 1);
    assert_eq!(counts["tasks"], 2);
    assert_eq!(counts["llm_calls"] as usize, after.len());
    for task in ["digit-sum", "interval-merge"] {
        for d in rt.block_on(store.drafts(1, task)).unwrap() {
            assert!(
                matches!(
                    d.status,
                    DraftStatus::Evaluated | DraftStatus::NoCode | DraftStatus::LlmFailed
                ),
                "draft {} left {}",
                d.id,
                d.status
            );
            assert!(d.status != DraftStatus::Evaluated || d.verdict.is_some());
        }
    }
}

#[test]
fn bad_configs_and_task_files_are_usage_errors() {
    let s = setup("http://127.0.0.1:9/v1", &EXAMPLE_TASKS, "colour = \"blue\"");
    let (code, _, stderr) = bootforge(&s.db, &["campaign", "run", s.config.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("colour"), "{stderr}");
    let s = setup("http://127.0.0.1:9/v1", &EXAMPLE_TASKS, "");
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("tasks = \"tasks\"", "tasks = \"tasks.jsonl\"");
    std::fs::write(&s.config, text).unwrap();
    std::fs::write(
        s.dir.path().join("tasks.jsonl"),
        "{\"id\": \"a\", \"description\": \"x\"}\nnot json\n",
    )
    .unwrap();
    let (code, _, stderr) = bootforge(&s.db, &["campaign", "run", s.config.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("tasks.jsonl:2"), "{stderr}");
    let (code, _, stderr) = bootforge(&s.db, &["campaign", "resume", "42"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no campaign 42"), "{stderr}");
}

#[test]
fn the_readme_command_runs_the_example_campaign_offline() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let (code, stdout, stderr) = bootforge(&db, &["campaign", "run"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("digit-sum") && stdout.contains("accepted"),
        "{stdout}"
    );
    // The run ends by naming the next step, and that command works as shown:
    // it opens the review queue the campaign filled.
    let next = stdout
        .lines()
        .find(|l| l.starts_with("next:") && l.contains("review next"))
        .unwrap_or_else(|| panic!("no next step after the campaign: {stdout}"));
    assert!(stdout.contains("export --out DIR"), "{stdout}");
    let command = next.split('`').nth(1).expect("the command in backticks");
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[0], "bootforge", "{next}");
    assert_eq!(
        words[1..],
        ["--db", db.to_str().unwrap(), "review", "next"],
        "{next}"
    );
    let shown = bin()
        .args(&words[1..])
        .env_remove("BOOTFORGE_DB")
        .output()
        .unwrap();
    let shown_out = String::from_utf8_lossy(&shown.stdout);
    assert_eq!(
        shown.status.code(),
        Some(0),
        "{shown_out}\n{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(shown_out.contains("review approve"), "{shown_out}");
}

/// Writes prompts/example/cassette.jsonl: the example campaign against the
/// scripted author and solver above. Run it after changing the example
/// tasks, the templates or the example config:
/// `cargo test record_example_cassette -- --ignored`.
#[test]
#[ignore]
fn record_example_cassette() {
    let server = FakeServer::start(both).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(repo_path("prompts/example/campaign.toml"))
        .unwrap()
        .replace(
            "model = \"example-author\"",
            &format!(
                "model = \"example-author\"\nbase_url = \"{}\"",
                server.base_url()
            ),
        )
        .replace(
            "model = \"example-solver\"",
            &format!(
                "model = \"example-solver\"\nbase_url = \"{}\"",
                server.base_url()
            ),
        )
        .replace(
            "tasks = \"tasks/\"",
            &format!(
                "tasks = \"{}\"",
                repo_path("prompts/example/tasks").display()
            ),
        );
    let path = dir.path().join("campaign.toml");
    std::fs::write(&path, config).unwrap();
    let cassette = repo_path("prompts/example/cassette.jsonl");
    std::fs::write(&cassette, "").unwrap();
    let db = dir.path().join("b.db");
    let (code, stdout, stderr) = bootforge(
        &db,
        &[
            "campaign",
            "run",
            path.to_str().unwrap(),
            "--json",
            "--record",
            cassette.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

/// A status this build does not know (a database written by a newer
/// bootforge, or edited by hand) stops the command with an error naming the
/// value, never a panic.
#[test]
fn an_unknown_stored_status_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bootforge.db");
    let (rt, store) = store(&db);
    let task = (
        "t1".to_owned(),
        None,
        "describe".to_owned(),
        "{}".to_owned(),
    );
    let id = rt
        .block_on(store.create_campaign_with_tasks("c", "{}", None, &[task]))
        .unwrap();
    let edit = |sql: &'static str| {
        use sqlx::Connection;
        rt.block_on(async {
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        });
    };
    let unknown = |args: &[&str], value: &str, kind: &str| {
        let (code, _, stderr) = bootforge(&db, args);
        // `campaign status` reports every failure to read as exit 2.
        assert!(code == 1 || code == 2, "{args:?}: {code} {stderr}");
        assert!(
            stderr.contains(&format!("{value:?}")) && stderr.contains(kind),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    edit("UPDATE campaigns SET status = 'archived'");
    unknown(&["campaign", "list"], "archived", "CampaignStatus");
    edit("UPDATE campaigns SET status = 'done'");
    edit("UPDATE tasks SET status = 'paused'");
    unknown(
        &["campaign", "status", &id.to_string()],
        "paused",
        "TaskStatus",
    );
    // Known values read as before.
    edit("UPDATE tasks SET status = 'accepted'");
    let (code, stdout, stderr) = bootforge(&db, &["campaign", "list"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("done"), "{stdout}");
}
