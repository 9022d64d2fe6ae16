//! Fleets of endpoints through the real binary, a real SQLite
//! file and the real sandbox, against several scripted servers on
//! `127.0.0.1:0`: a replica killed mid-campaign, a slow one, one answering
//! 429 bursts; streams that stall or are slow but steady; answers cut off by
//! max_tokens; a campaign resumed against a moved endpoint; a dollar budget.
//!
//! "No finished call repeated" is checked by counting: every answer a
//! surviving server sent must be exactly one stored call with that endpoint
//! (a repeated call would be an extra answer with no new row).

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::fake::{FakeReply, FakeRequest, FakeServer};
use bootforge::store::{CallRecord, CallStatus, Store};
use serde_json::Value;

use crate::campaign::{EXAMPLE_TASKS, author, bootforge, both, solver};
use crate::util::bin;

/// One endpoint line of a fleet: its URL and extra keys.
type Endpoint<'a> = (&'a str, &'a str);

struct Fleet {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Fleet {
    fn new() -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tasks")).unwrap();
        for (id, text) in EXAMPLE_TASKS {
            std::fs::write(dir.path().join("tasks").join(format!("{id}.md")), text).unwrap();
        }
        let db = dir.path().join("bootforge.db");
        Fleet { dir, db }
    }

    /// Write `name`: both roles served by `endpoints`, `role` keys in both
    /// roles, `tables` appended (TOML tables such as `[budget]`).
    fn config(&self, name: &str, endpoints: &[Endpoint], role: &str, tables: &str) -> PathBuf {
        let mut text = String::from("name = \"fleet\"\ntasks = \"tasks\"\n");
        for (section, model) in [("author", "author-model"), ("solver", "solver-model")] {
            text += &format!("\n[{section}]\nmodel = \"{model}\"\ntimeout_s = 5\n{role}\n");
            for (url, extra) in endpoints {
                text += &format!("[[{section}.endpoints]]\nbase_url = \"{url}\"\n{extra}\n");
            }
        }
        text += "\n[selftest]\ncases = 8\nsolver_cases = 12\n";
        if !tables.contains("[evolution]") {
            text += "\n[evolution]\ndrafts_per_task = 2\nchildren_per_parent = 1\nparents_per_generation = 1\nmax_generations = 3\n";
        }
        text += tables;
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn run(&self, args: &[&str]) -> (i32, Value, String) {
        let (code, stdout, stderr) = bootforge(&self.db, args);
        let json = serde_json::from_str(stdout.lines().last().unwrap_or(""))
            .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
        (code, json, stderr)
    }

    /// Run the binary and call `kill` (which drops a server) once the store
    /// holds a finished call answered by `url`.
    fn run_killing(&self, args: &[&str], url: &str, kill: impl FnOnce()) -> Output {
        let mut child = bin()
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env_remove("OPENAI_BASE_URL")
            .env_remove("BOOTFORGE_DB")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        loop {
            if self.db.exists()
                && self
                    .calls()
                    .iter()
                    .any(|c| c.endpoint.as_deref() == Some(url))
            {
                break;
            }
            if child.try_wait().unwrap().is_some() {
                let out = child.wait_with_output().unwrap();
                panic!(
                    "the campaign ended before {url} answered: {}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{url} never answered"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
        kill();
        child.wait_with_output().unwrap()
    }

    fn store<T>(&self, f: impl AsyncFnOnce(&Store) -> T) -> T {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let store = Store::open(&self.db).await.unwrap();
            f(&store).await
        })
    }

    fn calls(&self) -> Vec<CallRecord> {
        self.store(async |s| s.calls(1).await.unwrap_or_default())
    }
}

fn served_by(calls: &[CallRecord], url: &str) -> usize {
    calls
        .iter()
        .filter(|c| c.endpoint.as_deref() == Some(url))
        .count()
}

/// A script that counts the answers it gives.
fn counting(
    count: &Arc<AtomicUsize>,
    script: impl Fn(&FakeRequest) -> FakeReply + Send + Sync + 'static,
) -> impl Fn(&FakeRequest) -> FakeReply + Send + Sync + 'static {
    let count = count.clone();
    move |req| {
        let reply = script(req);
        if matches!(reply, FakeReply::Answer { .. } | FakeReply::Delay(..)) {
            count.fetch_add(1, Ordering::SeqCst);
        }
        reply
    }
}

#[test]
fn a_replica_killed_mid_campaign_hands_its_work_to_a_slow_one_and_a_rate_limited_one() {
    let dying =
        FakeServer::start(|req| FakeReply::Delay(Duration::from_millis(100), Box::new(both(req))))
            .unwrap();
    let slow_ok = Arc::new(AtomicUsize::new(0));
    let slow = FakeServer::start(counting(&slow_ok, |req| {
        FakeReply::Delay(Duration::from_millis(400), Box::new(both(req)))
    }))
    .unwrap();
    // Bursts: two 429s out of every five requests.
    let limited_ok = Arc::new(AtomicUsize::new(0));
    let limited = FakeServer::start(counting(&limited_ok, |req| {
        if req.index % 5 < 2 {
            FakeReply::Error(429)
        } else {
            both(req)
        }
    }))
    .unwrap();
    let f = Fleet::new();
    let dying_url = dying.base_url().to_owned();
    let config = f.config(
        "campaign.toml",
        &[
            (&dying_url, "concurrency = 4"),
            (slow.base_url(), "concurrency = 4"),
            (
                limited.base_url(),
                "concurrency = 4\nweight = 2\nstream = false",
            ),
        ],
        "",
        "",
    );
    let out = f.run_killing(
        &["campaign", "run", config.to_str().unwrap(), "--json"],
        &dying_url,
        move || drop(dying),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(result["status"], "done", "{result}");
    for task in result["tasks"].as_array().unwrap() {
        assert_eq!(task["status"], "accepted", "{result}");
    }
    let calls = f.calls();
    // Every stored call names its endpoint; all three served some.
    assert!(calls.iter().all(|c| c.endpoint.is_some()));
    assert!(served_by(&calls, &dying_url) >= 1);
    // No finished call was made again: each answer of a surviving server is
    // one stored call.
    assert_eq!(
        slow_ok.load(Ordering::SeqCst),
        served_by(&calls, slow.base_url())
    );
    assert_eq!(
        limited_ok.load(Ordering::SeqCst),
        served_by(&calls, limited.base_url())
    );
    assert!(served_by(&calls, slow.base_url()) > 0);
    assert!(served_by(&calls, limited.base_url()) > 0);
    assert_eq!(
        calls.len(),
        served_by(&calls, &dying_url)
            + served_by(&calls, slow.base_url())
            + served_by(&calls, limited.base_url())
    );
    // `campaign status` shows who served what.
    let (code, status, _) = f.run(&["campaign", "status", "1", "--json"]);
    assert_eq!(code, 0);
    for role in ["author", "solver"] {
        let total: i64 = status["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["role"] == role)
            .map(|e| e["calls"].as_i64().unwrap())
            .sum();
        assert_eq!(
            total as usize,
            calls.iter().filter(|c| c.role == role).count(),
            "{status}"
        );
    }
    assert!(
        status["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["endpoint"] == dying_url.as_str()),
        "{status}"
    );
    // 429s were retried (elsewhere or later), not failures.
    assert!(calls.iter().any(|c| c.attempts > 1));
    assert!(calls.iter().all(|c| c.status == CallStatus::Ok));
    // stream = false is per endpoint; the others stream with usage.
    assert!(limited.requests().iter().all(|r| r.body["stream"] == false));
    assert!(
        slow.requests()
            .iter()
            .all(|r| r.body["stream"] == true && r.body["stream_options"]["include_usage"] == true)
    );
    // Streamed usage is counted.
    assert!(
        calls
            .iter()
            .filter(|c| c.endpoint.as_deref() == Some(slow.base_url()))
            .all(|c| c.completion_tokens == 7 && c.finish_reason.as_deref() == Some("stop"))
    );
}

#[test]
fn a_stalled_stream_is_retried_and_a_slow_steady_one_is_kept() {
    let server = FakeServer::start(|req| {
        if req.prompt.starts_with("You write bootcamps") {
            if req.repeat == 0 {
                // Three events, then silence.
                FakeReply::Stall(3, Box::new(author(req)))
            } else {
                author(req)
            }
        } else {
            // Each event 300 ms apart: the whole stream takes well over
            // the idle timeout, but it never goes quiet for that long.
            FakeReply::Paced(Duration::from_millis(300), Box::new(solver(req)))
        }
    })
    .unwrap();
    let f = Fleet::new();
    let config = f.config(
        "campaign.toml",
        &[(server.base_url(), "")],
        "idle_timeout_s = 1.2",
        "",
    );
    let (code, result, stderr) = f.run(&["campaign", "run", config.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{result}\n{stderr}");
    assert_eq!(result["status"], "done");
    let calls = f.calls();
    let (authors, solvers): (Vec<_>, Vec<_>) = calls.iter().partition(|c| c.role == "author");
    assert!(!authors.is_empty() && !solvers.is_empty());
    // Every first author attempt stalled and was retried.
    let stalled = authors.iter().filter(|c| c.attempts >= 2).count();
    let first_tries = server
        .requests()
        .iter()
        .filter(|r| r.prompt.starts_with("You write bootcamps") && r.repeat == 0)
        .count();
    assert!(
        stalled >= 1 && stalled <= first_tries,
        "{stalled} of {first_tries}"
    );
    assert!(
        authors
            .iter()
            .all(|c| c.content.as_deref().unwrap_or("").contains("class ")),
        "the retried answers are whole"
    );
    // The slow streams were kept whole on the first attempt.
    for c in &solvers {
        assert_eq!(c.attempts, 1, "{c:?}");
        let content = c.content.as_deref().unwrap_or("");
        assert!(
            content.starts_with("Let me compute. [answer]") && content.ends_with("[/answer]"),
            "{content}"
        );
    }
}

#[test]
fn truncated_answers_get_a_draft_status_and_a_share_in_the_metrics() {
    let server = FakeServer::start(|req| {
        let p = &req.prompt;
        if p.starts_with("You write bootcamps") {
            let reply = author(req);
            if p.contains("Task id: digit-sum")
                && !p.contains("# The current draft")
                && req.repeat == 0
            {
                // Cut off halfway through the code.
                if let FakeReply::Answer { content, .. } = reply {
                    let half: String = content.chars().take(content.chars().count() / 2).collect();
                    return FakeReply::cut(half);
                }
            }
            reply
        } else {
            match solver(req) {
                FakeReply::Answer { content, .. } if req.index % 3 == 0 => FakeReply::Finished {
                    content,
                    reasoning: Some("Let me multiply digit by digit".into()),
                    finish_reason: "length".into(),
                },
                other => other,
            }
        }
    })
    .unwrap();
    let f = Fleet::new();
    let config = f.config(
        "campaign.toml",
        &[(server.base_url(), "")],
        "max_tokens = 4096",
        "",
    );
    let (code, result, stderr) = f.run(&["campaign", "run", config.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{result}\n{stderr}");
    let (code, lineage, _) = f.run(&["lineage", "digit-sum", "--json"]);
    assert_eq!(code, 0);
    let truncated: Vec<&Value> = lineage["drafts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "truncated")
        .collect();
    assert_eq!(truncated.len(), 1, "{lineage}");
    assert!(
        truncated[0]["note"]
            .as_str()
            .unwrap()
            .contains("raise [author].max_tokens")
    );
    let (_, human, _) = bootforge(&f.db, &["lineage", "digit-sum"]);
    assert!(
        human.contains("truncated") && human.contains("raise [author].max_tokens"),
        "{human}"
    );
    // Solver answers cut off are graded as they are and counted.
    let (code, status, _) = f.run(&["campaign", "status", "1", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(status["truncated"]["author"], 1, "{status}");
    let solver_cut = status["truncated"]["solver"].as_i64().unwrap();
    assert!(solver_cut >= 1, "{status}");
    let reports: Vec<Value> = f.store(async |s| {
        let mut out = Vec::new();
        for id in 1..100 {
            if let Ok(Some(r)) = s.evaluation_report(id).await {
                out.push(serde_json::from_str(&r).unwrap());
            }
        }
        out
    });
    let counted: u64 = reports
        .iter()
        .filter_map(|r| r["metrics"]["solver"]["truncated"].as_u64())
        .sum();
    assert!(counted >= 1, "truncated solver answers are counted");
    let graded = reports.iter().any(|r| {
        r["metrics"]["solver"]["attempts"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["truncated"] == true && a["score"].as_f64() == Some(1.0))
    });
    assert!(
        graded,
        "a cut-off answer with the right result still scores"
    );
    let share = reports
        .iter()
        .filter_map(|r| r["metrics"]["solver"]["truncated_share"].as_f64())
        .fold(0.0, f64::max);
    assert!(share > 0.0 && share < 1.0, "{share}");
}

#[test]
fn a_campaign_stopped_on_a_dead_endpoint_resumes_against_its_new_address() {
    let first =
        FakeServer::start(|req| FakeReply::Delay(Duration::from_millis(60), Box::new(both(req))))
            .unwrap();
    let first_url = first.base_url().to_owned();
    let f = Fleet::new();
    let role = "max_retries = 1";
    let config = f.config("campaign.toml", &[(&first_url, "")], role, "");
    let out = f.run_killing(
        &["campaign", "run", config.to_str().unwrap(), "--json"],
        &first_url,
        move || drop(first),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(result["status"], "stopped");
    assert!(
        result["reason"]
            .as_str()
            .unwrap()
            .contains("endpoint failed"),
        "{result}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--config FILE"), "{stderr}");
    let before = served_by(&f.calls(), &first_url);
    assert!(before >= 1);

    let moved_ok = Arc::new(AtomicUsize::new(0));
    let moved = FakeServer::start(counting(&moved_ok, both)).unwrap();
    // A config that also changes what the campaign does is refused, naming it.
    let changed = f.config(
        "changed.toml",
        &[(moved.base_url(), "")],
        role,
        "\n[budget]\nmax_tokens = 7\n",
    );
    let changed_text = std::fs::read_to_string(&changed)
        .unwrap()
        .replace("cases = 8", "cases = 9");
    std::fs::write(&changed, changed_text).unwrap();
    let (code, stdout, stderr) = bootforge(
        &f.db,
        &[
            "campaign",
            "resume",
            "1",
            "--config",
            changed.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("selftest.cases") && stderr.contains("budget.max_tokens"),
        "{stderr}"
    );
    assert!(moved.requests().is_empty());

    // The same campaign at the new address (and a second replica) finishes.
    let config = f.config(
        "moved.toml",
        &[(moved.base_url(), "concurrency = 8\nweight = 3")],
        role,
        "",
    );
    let (code, result, stderr) = f.run(&[
        "campaign",
        "resume",
        "1",
        "--config",
        config.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{result}\n{stderr}");
    assert_eq!(result["status"], "done");
    let calls = f.calls();
    assert_eq!(served_by(&calls, &first_url), before, "kept, not redone");
    assert_eq!(
        moved_ok.load(Ordering::SeqCst),
        served_by(&calls, moved.base_url())
    );
    assert_eq!(calls.len(), before + served_by(&calls, moved.base_url()));
}

#[test]
fn a_dollar_budget_stops_the_campaign_and_resume_raises_it() {
    let server = FakeServer::start(both).unwrap();
    let f = Fleet::new();
    // Author prompts are ~1,000 tokens: about a dollar a call.
    let prices = "\n[prices.author-model]\ninput_usd_per_m = 1000.0\noutput_usd_per_m = 1000.0\n\n[prices.solver-model]\ninput_usd_per_m = 10.0\noutput_usd_per_m = 20.0\n";
    let config = f.config(
        "campaign.toml",
        &[(server.base_url(), "concurrency = 1")],
        "",
        &format!("\n[budget]\nmax_usd = 2.5\n{prices}"),
    );
    let (code, result, stderr) = f.run(&["campaign", "run", config.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1, "{result}");
    assert_eq!(result["status"], "stopped");
    assert!(
        result["reason"].as_str().unwrap().contains("budget"),
        "{result}"
    );
    assert!(stderr.contains("--max-usd"), "{stderr}");
    let (code, status, _) = f.run(&["campaign", "status", "1", "--json"]);
    assert_eq!(code, 0);
    let usd = status["usd"].as_f64().unwrap();
    assert!(usd >= 2.5, "{status}");
    let spend = status["spend"].as_array().unwrap();
    let author = spend.iter().find(|r| r["role"] == "author").unwrap();
    assert_eq!(author["model"], "author-model");
    assert!(author["usd"].as_f64().unwrap() > 0.5, "{status}");
    let (_, human, _) = bootforge(&f.db, &["campaign", "status", "1"]);
    assert!(
        human.contains("author-model") && human.contains("spent $"),
        "{human}"
    );
    let calls_before = f.calls().len();

    // Raised, and sent to another server with the base-URL flags.
    let other = FakeServer::start(both).unwrap();
    let (code, result, stderr) = f.run(&[
        "campaign",
        "resume",
        "1",
        "--max-usd",
        "100000",
        "--author-base-url",
        other.base_url(),
        "--solver-base-url",
        other.base_url(),
        "--json",
    ]);
    // A fleet of one endpoint is overridden in place.
    assert_eq!(code, 0, "{result}\n{stderr}");
    assert_eq!(result["status"], "done");
    let calls = f.calls();
    assert_eq!(
        calls.len(),
        calls_before + served_by(&calls, other.base_url())
    );
    assert!(served_by(&calls, other.base_url()) > 0);
    let (_, status, _) = f.run(&["campaign", "status", "1", "--json"]);
    let spend: f64 = status["spend"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["usd"].as_f64())
        .sum();
    assert!((spend - status["usd"].as_f64().unwrap()).abs() < 1e-9);
    assert!(status["usd"].as_f64().unwrap() > usd);
}
