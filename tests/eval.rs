//! `bootforge eval` through the real binary, a real SQLite file, the real
//! sandbox and a scripted OpenAI-compatible server on a real socket: records
//! of InternBootcamp's shape over our own test bootcamps (a plain one, one
//! whose verifier raises on one answer, one that does not load, and a data
//! source no bootcamp answers to), kill and resume, two runs compared; the
//! model from a campaign config (a fleet, a dollar budget), cassettes
//! recorded and replayed, refused calls stored and transient ones asked
//! again.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use crate::fake::{FakeReply, FakeRequest, FakeServer};
use serde_json::{Value, json};

use crate::util;

fn bootcamps() -> String {
    util::repo_path("tests/bootcamps/reward")
        .display()
        .to_string()
}

fn eval(db: &Path, args: &[&str]) -> Output {
    util::bin()
        .arg("--db")
        .arg(db)
        .arg("eval")
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .expect("running bootforge")
}

fn json_of(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn sum_record(a: u32, b: u32) -> Value {
    json!({
        "data_source": "SumPair",
        "prompt": format!("What is {a} + {b}? Answer as [answer]N[/answer]."),
        "ground_truth": {"a": a, "b": b},
    })
}

fn write_jsonl(path: &Path, records: &[Value]) {
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// The two numbers of a SumPair prompt.
fn operands(prompt: &str) -> Option<(u32, u32)> {
    let rest = prompt.split("What is ").nth(1)?;
    let (a, rest) = rest.split_once(" + ")?;
    let b = rest.split('?').next()?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// Right on even sums, wrong on odd ones; on Moody's cases, the answer that
/// makes its verifier raise when n is 1, the right one otherwise.
fn scripted(req: &FakeRequest) -> FakeReply {
    if let Some((a, b)) = operands(&req.prompt) {
        let sum = a + b;
        let said = if sum % 2 == 0 { sum } else { sum + 1 };
        return FakeReply::Answer {
            content: format!("[answer]{said}[/answer]"),
            reasoning: Some(format!("{a} plus {b}")),
        };
    }
    if let Some(n) = req
        .prompt
        .strip_prefix("Repeat ")
        .and_then(|r| r.split(' ').next())
    {
        // Hostile markup and a direction override around a right answer:
        // the page must show them as text.
        return FakeReply::answer(match n {
            "1" => "[answer]raise[/answer]".to_owned(),
            "2" => "<script>alert(1)</script>\u{202e}[answer]2[/answer]".to_owned(),
            n => format!("[answer]{n}[/answer]"),
        });
    }
    FakeReply::answer("[answer]?[/answer]")
}

fn task<'a>(report: &'a Value, source: &str) -> &'a Value {
    report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["data_source"] == source)
        .unwrap_or_else(|| panic!("no task {source} in {report}"))
}

#[test]
fn eval_scores_per_task_leaves_out_missing_and_broken_bootcamps_and_compares_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bf.db");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // 20 sums, 10 of them even: the scripted model gets exactly half right.
    let sums: Vec<Value> = (0..20).map(|i| sum_record(10 + i, 20)).collect();
    write_jsonl(&data.join("SumPair.jsonl"), &sums);
    let mut others: Vec<Value> = (1..=6)
        .map(|n| json!({"data_source": "Moody", "prompt": format!("Repeat {n} as [answer]N[/answer]."), "ground_truth": {"n": n}}))
        .collect();
    others.push(json!({"data_source": "Broken", "prompt": "Anything?", "ground_truth": {"x": 1}}));
    others.push(json!({"data_source": "Nowhere", "prompt": "Where is my bootcamp?", "ground_truth": "{\"y\": 2}"}));
    write_jsonl(&data.join("others.jsonl"), &others);

    let server = FakeServer::start(scripted).unwrap();
    let data_arg = data.display().to_string();
    let base = bootcamps();
    let run = |url: &str, name: &str| {
        eval(
            &db,
            &[
                "run",
                "--data",
                &data_arg,
                "--bootcamps",
                &base,
                "--model",
                "m",
                "--base-url",
                url,
                "--name",
                name,
                "--workers",
                "2",
                "--json",
            ],
        )
    };
    let first = run(server.base_url(), "half");
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report = json_of(&first);
    let sum = task(&report, "SumPair");
    assert_eq!(sum["records"], 20);
    assert_eq!(sum["answers"], 20);
    assert_eq!(sum["correct"], 10);
    assert_eq!(sum["accuracy"], 0.5);
    assert!(sum["accuracy_low"].as_f64().unwrap() < 0.5);
    assert!(sum["accuracy_high"].as_f64().unwrap() > 0.5);
    // Moody's verifier raised on one answer: scored 0 with the error, the
    // rest scored honestly.
    let moody = task(&report, "Moody");
    assert_eq!(moody["answers"], 6);
    assert_eq!(moody["correct"], 5);
    assert_eq!(moody["scoring_errors"], 1);
    // The missing and the broken bootcamp are listed with why, and left out.
    let excluded = report["excluded"].as_array().unwrap();
    let names: Vec<&str> = excluded
        .iter()
        .map(|e| e["data_source"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Broken", "Nowhere"]);
    assert!(
        excluded[0]["reason"]
            .as_str()
            .unwrap()
            .contains("load_failed")
    );
    assert!(
        excluded[1]["reason"]
            .as_str()
            .unwrap()
            .contains("no bootcamp")
    );
    assert_eq!(report["overall"]["tasks"], 2);
    let mean = report["overall"]["task_mean_accuracy"].as_f64().unwrap();
    assert!((mean - (0.5 + 5.0 / 6.0) / 2.0).abs() < 1e-9, "{mean}");
    // No call for a record whose bootcamp is missing...
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !r.prompt.contains("Where is my bootcamp"))
    );
    // Nor for one whose bootcamp does not load.
    assert!(server.requests().iter().all(|r| r.prompt != "Anything?"));
    assert_eq!(server.requests().len(), 26);

    // A model right on every sum: the difference on SumPair is beyond both
    // intervals, the unchanged Moody is not.
    let always = FakeServer::start(|req| match operands(&req.prompt) {
        Some((a, b)) => FakeReply::answer(format!("[answer]{}[/answer]", a + b)),
        None => scripted(req),
    })
    .unwrap();
    let second = run(always.base_url(), "right");
    assert_eq!(second.status.code(), Some(0));
    let compared = json_of(&eval(&db, &["compare", "1", "2", "--json"]));
    let rows = compared["tasks"].as_array().unwrap();
    let row = |s: &str| rows.iter().find(|r| r["data_source"] == s).unwrap();
    assert_eq!(row("SumPair")["difference"], 0.5);
    assert_eq!(row("SumPair")["beyond_intervals"], true);
    assert_eq!(row("Moody")["difference"], 0.0);
    assert_eq!(row("Moody")["beyond_intervals"], false);

    let list = eval(&db, &["list", "--json"]);
    let lines: Vec<Value> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["name"], "right");
    assert_eq!(lines[1]["status"], "done");

    let csv = eval(&db, &["show", "1", "--csv"]);
    let text = String::from_utf8_lossy(&csv.stdout);
    let csv_lines: Vec<&str> = text.lines().collect();
    assert_eq!(csv_lines.len(), 3, "{text}");
    assert!(csv_lines[0].starts_with("data_source,records,answers,correct"));
    assert!(csv_lines[2].starts_with("SumPair,20,20,10,"));
    let human = eval(&db, &["show", "1", "--answers"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("excluded: Nowhere"), "{text}");
    assert!(text.contains("(exception)"), "{text}");

    // The eval pages of `serve`: the runs, the per-task table, the answers.
    let page = crate::serve::serve(&db, &[]);
    let get = |path: &str| crate::serve::http(&page.addr, "GET", path, None, &[]);
    let runs = get("/evals");
    assert_eq!(runs.status, 200);
    assert!(runs.body.contains("href=\"/evals/2\""), "{}", runs.body);
    assert!(runs.body.contains("half") && runs.body.contains("right"));
    let one = get("/evals/1");
    assert_eq!(one.status, 200);
    assert!(one.body.contains(">SumPair</a>") && one.body.contains("50.0%"));
    assert!(one.body.contains("<strong>Nowhere</strong>"));
    assert!(one.body.contains("(exception)"));
    assert!(!one.body.contains("<script>alert"));
    assert!(one.body.contains("&lt;script&gt;alert(1)"), "{}", one.body);
    assert!(!one.body.contains('\u{202e}'));
    assert!(one.body.contains("hidden-chars"));
    let moody = get("/evals/1?task=Moody");
    assert_eq!(moody.body.matches("<td>Moody</td>").count(), 6);
    assert_eq!(get("/evals/99").status, 404);
    drop(page);

    // Bad input: a line that is not a record is named, nothing is stored.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"data_source\": \"SumPair\"}\n").unwrap();
    let refused = eval(
        &db,
        &[
            "run",
            "--data",
            &bad.display().to_string(),
            "--model",
            "m",
            "--base-url",
            server.base_url(),
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("bad.jsonl:1:"));
    let list = eval(&db, &["list", "--json"]);
    assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), 2);
}

#[test]
fn a_killed_eval_resumes_without_repeating_a_finished_call() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bf.db");
    let data = dir.path().join("SumPair.jsonl");
    let records: Vec<Value> = (0..12).map(|i| sum_record(i, 100)).collect();
    write_jsonl(&data, &records);
    // The first ask of 7 + 100 never answers; every other call answers right.
    let server = FakeServer::start(|req| match operands(&req.prompt) {
        Some((7, _)) if req.repeat == 0 => FakeReply::Hang,
        Some((a, b)) => FakeReply::answer(format!("[answer]{}[/answer]", a + b)),
        None => FakeReply::Error(400),
    })
    .unwrap();
    let mut child = util::bin()
        .arg("--db")
        .arg(&db)
        .args([
            "eval",
            "run",
            "--data",
            &data.display().to_string(),
            "--bootcamps",
            &bootcamps(),
            "--model",
            "m",
            "--base-url",
            server.base_url(),
            "--concurrency",
            "4",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait (without a time assertion) until the 11 answers that can come are
    // stored and scored, then kill the run in the middle of the twelfth call.
    let mut waited = 0;
    loop {
        let out = eval(&db, &["show", "1", "--json"]);
        if out.status.success() && json_of(&out)["overall"]["answers"] == 11 {
            break;
        }
        waited += 1;
        assert!(waited < 3000, "the run never stored its 11 answers");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(server.requests().len(), 12);
    let shown = json_of(&eval(&db, &["show", "1", "--json"]));
    assert_eq!(shown["status"], "running");
    assert_eq!(shown["overall"]["pending"], 1);

    let resumed = eval(&db, &["resume", "1", "--json"]);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let report = json_of(&resumed);
    assert_eq!(report["status"], "done");
    assert_eq!(task(&report, "SumPair")["correct"], 12);
    assert_eq!(report["overall"]["pending"], 0);
    // One more request, for the call that never finished; none repeated.
    let requests = server.requests();
    assert_eq!(requests.len(), 13);
    assert_eq!(requests[12].repeat, 1);
    assert_eq!(operands(&requests[12].prompt), Some((7, 100)));
}

#[test]
fn synth_keeps_only_verified_distinct_answers_with_their_reasoning_and_takes_up_its_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bf.db");
    let data = dir.path().join("data.jsonl");
    let mut records: Vec<Value> = (0..6).map(|a| sum_record(a, 10)).collect();
    records.push(json!({"data_source": "Nowhere", "prompt": "Lost?", "ground_truth": {}}));
    write_jsonl(&data, &records);
    // Odd first operands: always wrong. Even ones: wrong on the first
    // sample, then right twice with the same reasoning (one distinct answer).
    let teacher = FakeServer::start(|req| {
        let Some((a, b)) = operands(&req.prompt) else {
            return FakeReply::Error(400);
        };
        if a % 2 == 1 || req.repeat == 0 {
            return FakeReply::Answer {
                content: format!("[answer]{}[/answer]", a + b + 1),
                reasoning: Some("a slip".into()),
            };
        }
        FakeReply::Answer {
            content: format!("[answer]{}[/answer]", a + b),
            reasoning: Some(format!("{a} and {b} make {}", a + b)),
        }
    })
    .unwrap();
    let out = dir.path().join("sft.jsonl");
    let synth = || {
        util::bin()
            .arg("--db")
            .arg(&db)
            .args([
                "synth",
                "--data",
                &data.display().to_string(),
                "--bootcamps",
                &bootcamps(),
                "--model",
                "teacher",
                "--base-url",
                teacher.base_url(),
                "--samples",
                "3",
                "--out",
                &out.display().to_string(),
                "--json",
            ])
            .env_remove("OPENAI_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            .output()
            .unwrap()
    };
    let first = synth();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report = json_of(&first);
    assert_eq!(report["written"], 3);
    let task = &report["tasks"][0];
    assert_eq!(task["data_source"], "SumPair");
    assert_eq!(task["prompts"], 6);
    assert_eq!(task["answers"], 18);
    assert_eq!(task["kept"], 3);
    assert!((task["pass_at_1"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(task["pass_at_k"], 0.5);
    assert_eq!(report["excluded"][0]["data_source"], "Nowhere");
    assert_eq!(teacher.requests().len(), 18);

    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for line in &lines {
        let messages = line["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0]["role"], "user");
        assert_eq!(messages[1]["role"], "assistant");
        let (a, b) = operands(messages[0]["content"].as_str().unwrap()).unwrap();
        assert_eq!(a % 2, 0);
        assert_eq!(
            messages[1]["content"],
            format!(
                "<think>\n{a} and {b} make {}\n</think>\n\n[answer]{}[/answer]",
                a + b,
                a + b
            )
        );
        assert_eq!(line["source"]["data_source"], "SumPair");
        assert_eq!(line["source"]["score"], 1.0);
        assert_eq!(line["source"]["model"], "teacher");
    }

    // The same command again takes the run up: nothing is asked again and
    // the same file is written.
    std::fs::remove_file(&out).unwrap();
    let again = synth();
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(json_of(&again)["run"], report["run"]);
    assert_eq!(teacher.requests().len(), 18);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}

#[test]
fn a_spent_budget_stops_the_run_and_a_resume_with_more_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bf.db");
    let data = dir.path().join("SumPair.jsonl");
    let records: Vec<Value> = (0..12).map(|i| sum_record(i, 5)).collect();
    write_jsonl(&data, &records);
    let server = FakeServer::start(|req| match operands(&req.prompt) {
        Some((a, b)) => FakeReply::answer(format!("[answer]{}[/answer]", a + b)),
        None => FakeReply::Error(400),
    })
    .unwrap();
    let data = data.display().to_string();
    let first = eval(
        &db,
        &[
            "run",
            "--data",
            &data,
            "--bootcamps",
            &bootcamps(),
            "--model",
            "m",
            "--base-url",
            server.base_url(),
            "--max-calls",
            "5",
            "--json",
        ],
    );
    assert_eq!(first.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&first.stderr).contains("the call budget is spent (5 calls)"));
    let report = json_of(&first);
    assert_eq!(report["status"], "incomplete");
    assert_eq!(report["overall"]["answers"], 5);
    assert_eq!(report["overall"]["pending"], 7);
    assert_eq!(server.requests().len(), 5);
    // The limit is the run's: 5 already spent, so 12 allows the 7 left.
    let resumed = eval(&db, &["resume", "1", "--max-calls", "12", "--json"]);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(json_of(&resumed)["overall"]["answers"], 12);
    assert_eq!(server.requests().len(), 12);
}

/// Right on every sum (after `delay`, so that calls overlap).
fn right_after(delay: Duration) -> impl Fn(&FakeRequest) -> FakeReply + Send + Sync + 'static {
    move |req| match operands(&req.prompt) {
        Some((a, b)) => FakeReply::Delay(
            delay,
            Box::new(FakeReply::answer(format!("[answer]{}[/answer]", a + b))),
        ),
        None => FakeReply::Error(400),
    }
}

fn sums_file(dir: &Path, n: u32) -> String {
    let data = dir.join("SumPair.jsonl");
    let records: Vec<Value> = (0..n).map(|i| sum_record(i, 3)).collect();
    write_jsonl(&data, &records);
    data.display().to_string()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_config_fleet_answers_and_its_cassette_replays_with_the_servers_gone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bf.db");
    let data = sums_file(dir.path(), 16);
    let one = FakeServer::start(right_after(Duration::from_millis(20))).unwrap();
    let two = FakeServer::start(right_after(Duration::from_millis(20))).unwrap();
    let config = dir.path().join("campaign.toml");
    std::fs::write(
        &config,
        format!(
            "[solver]\nmodel = \"m\"\nmax_retries = 0\ntimeout_s = 60\n\n[[solver.endpoints]]\nbase_url = \"{}\"\nconcurrency = 2\n\n[[solver.endpoints]]\nbase_url = \"{}\"\nconcurrency = 2\n",
            one.base_url(),
            two.base_url()
        ),
    )
    .unwrap();
    let cassette = dir.path().join("eval.cassette.jsonl");
    let (config, cassette) = (config.display().to_string(), cassette.display().to_string());
    let bootcamps = bootcamps();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--data",
            &data,
            "--bootcamps",
            &bootcamps,
            "--config",
            &config,
            "--workers",
            "2",
            "--json",
        ];
        args.extend_from_slice(extra);
        eval(&db, &args)
    };
    let live = run(&["--record", &cassette]);
    assert_eq!(live.status.code(), Some(0), "{}", stderr_of(&live));
    let report = json_of(&live);
    assert_eq!(task(&report, "SumPair")["correct"], 16);
    // Both endpoints of the fleet served, every record asked once.
    let (a, b) = (one.requests(), two.requests());
    assert!(!a.is_empty() && !b.is_empty(), "{} / {}", a.len(), b.len());
    assert_eq!(a.len() + b.len(), 16);
    assert!(a.iter().chain(&b).all(|r| r.repeat == 0));
    // The requests carry the config's sampling: the solver's temperature.
    assert_eq!(a[0].body["temperature"].as_f64(), Some(0.6f32 as f64));
    // The run keeps where its endpoints came from.
    let list = String::from_utf8_lossy(&eval(&db, &["list", "--json"]).stdout).into_owned();
    assert!(list.contains("\"model\":\"m\""), "{list}");
    let lines = std::fs::read_to_string(&cassette).unwrap().lines().count();
    assert_eq!(lines, 16);

    // The servers are gone: a replay asks no network and gives the same run.
    drop(one);
    drop(two);
    let replayed = run(&["--replay", &cassette]);
    assert_eq!(replayed.status.code(), Some(0), "{}", stderr_of(&replayed));
    let again = json_of(&replayed);
    assert_eq!(again["run"], 2);
    assert_eq!(again["tasks"], report["tasks"]);
    // synth replays the same cassette (same model, sampling and prompts).
    let sft = dir.path().join("sft.jsonl");
    let synth = util::bin()
        .arg("--db")
        .arg(&db)
        .args([
            "synth",
            "--data",
            &data,
            "--bootcamps",
            &bootcamps,
            "--config",
            &config,
            "--replay",
            &cassette,
            "--samples",
            "1",
            "--out",
        ])
        .arg(&sft)
        .arg("--json")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    assert_eq!(synth.status.code(), Some(0), "{}", stderr_of(&synth));
    assert_eq!(json_of(&synth)["written"], 16);
    assert_eq!(std::fs::read_to_string(&sft).unwrap().lines().count(), 16);
    // A request the cassette does not hold (a second sample) stops the run
    // with what is missing, exit 1, the answers it had kept.
    let short = run(&["--replay", &cassette, "--samples", "2"]);
    assert_eq!(short.status.code(), Some(1));
    assert!(
        stderr_of(&short).contains("the cassette has no answer"),
        "{}",
        stderr_of(&short)
    );
    let partial = json_of(&short);
    assert_eq!(partial["run"], 4);
    assert_eq!(partial["status"], "incomplete");
    assert!(partial["overall"]["pending"].as_u64().unwrap() > 0);

    // Bad usage: --config and --model together, a dollar budget without a price.
    let both = eval(
        &db,
        &["run", "--data", &data, "--config", &config, "--model", "m"],
    );
    assert_eq!(both.status.code(), Some(2));
    let unpriced = run(&["--max-usd", "5"]);
    assert_eq!(unpriced.status.code(), Some(2));
    assert!(
        stderr_of(&unpriced).contains("[prices."),
        "{}",
        stderr_of(&unpriced)
    );
}

#[test]
fn a_dollar_budget_stops_the_run_and_a_resume_finishes_it_asking_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bf.db");
    let data = sums_file(dir.path(), 8);
    let server = FakeServer::start(right_after(Duration::ZERO)).unwrap();
    // The fake server counts 7 completion tokens a call: $7 a call, at most
    // $20, one call at a time: three calls, then the budget is spent.
    let config = dir.path().join("campaign.toml");
    std::fs::write(
        &config,
        format!(
            "[solver]\nmodel = \"priced\"\nbase_url = \"{}\"\nconcurrency = 1\n\n[budget]\nmax_usd = 20.0\n\n[prices.\"priced\"]\ninput_usd_per_m = 0.0\noutput_usd_per_m = 1000000.0\n",
            server.base_url()
        ),
    )
    .unwrap();
    let first = eval(
        &db,
        &[
            "run",
            "--data",
            &data,
            "--bootcamps",
            &bootcamps(),
            "--config",
            &config.display().to_string(),
            "--json",
        ],
    );
    assert_eq!(first.status.code(), Some(1), "{}", stderr_of(&first));
    assert!(
        stderr_of(&first).contains("the dollar budget is spent ($20.00, $21.00 spent"),
        "{}",
        stderr_of(&first)
    );
    let report = json_of(&first);
    assert_eq!(report["status"], "incomplete");
    assert_eq!(report["overall"]["answers"], 3);
    assert_eq!(report["overall"]["pending"], 5);
    assert_eq!(server.requests().len(), 3);
    // Resumed without a new limit: the stored one still holds, no call.
    let held = eval(&db, &["resume", "1", "--json"]);
    assert_eq!(held.status.code(), Some(1));
    assert_eq!(server.requests().len(), 3);
    // Raised, and the endpoint moved (a config file naming another
    // server): the rest is asked there, nothing twice.
    let moved_server = FakeServer::start(right_after(Duration::ZERO)).unwrap();
    let moved = dir.path().join("moved.toml");
    std::fs::write(
        &moved,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace(server.base_url(), moved_server.base_url()),
    )
    .unwrap();
    let resumed = eval(
        &db,
        &[
            "resume",
            "1",
            "--config",
            &moved.display().to_string(),
            "--max-usd",
            "100",
            "--json",
        ],
    );
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr_of(&resumed));
    let report = json_of(&resumed);
    assert_eq!(report["status"], "done");
    assert_eq!(task(&report, "SumPair")["correct"], 8);
    assert_eq!(server.requests().len(), 3);
    let requests = moved_server.requests();
    assert_eq!(requests.len(), 5);
    let mut asked: Vec<_> = server
        .requests()
        .iter()
        .chain(&requests)
        .map(|r| r.prompt.clone())
        .collect();
    asked.sort();
    asked.dedup();
    assert_eq!(asked.len(), 8, "a call was asked twice");
}

#[test]
fn a_refused_call_is_stored_and_never_asked_again_a_transient_failure_is() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bf.db");
    let data = sums_file(dir.path(), 6);
    // 2 + 3 is refused as a bad request every time; 4 + 3 fails with a 500
    // the first time only.
    let server = FakeServer::start(|req| match operands(&req.prompt) {
        Some((2, _)) => FakeReply::Error(400),
        Some((4, _)) if req.repeat == 0 => FakeReply::Error(500),
        Some((a, b)) => FakeReply::answer(format!("[answer]{}[/answer]", a + b)),
        None => FakeReply::Error(404),
    })
    .unwrap();
    let first = eval(
        &db,
        &[
            "run",
            "--data",
            &data,
            "--bootcamps",
            &bootcamps(),
            "--model",
            "m",
            "--base-url",
            server.base_url(),
            "--concurrency",
            "1",
            "--max-retries",
            "0",
            "--json",
        ],
    );
    // The 500 stopped the run (the endpoint's failure, asked again later).
    assert_eq!(first.status.code(), Some(1), "{}", stderr_of(&first));
    let err = stderr_of(&first);
    assert!(
        err.contains("the endpoint failed past its retries"),
        "{err}"
    );
    assert!(err.contains("refused for good"), "{err}");
    let report = json_of(&first);
    assert_eq!(report["status"], "incomplete");
    assert_eq!(task(&report, "SumPair")["failed_calls"], 1);
    assert_eq!(report["failed_calls"][0]["record"], 2);
    assert!(
        report["failed_calls"][0]["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 400")
    );
    let resumed = eval(&db, &["resume", "1", "--json"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr_of(&resumed));
    let report = json_of(&resumed);
    assert_eq!(report["status"], "done");
    let sums = task(&report, "SumPair");
    // The refusal counts as a wrong answer, listed with its error.
    assert_eq!(sums["answers"], 6);
    assert_eq!(sums["correct"], 5);
    assert_eq!(sums["failed_calls"], 1);
    let asked = |a: u32| {
        server
            .requests()
            .iter()
            .filter(|r| operands(&r.prompt).map(|(x, _)| x) == Some(a))
            .count()
    };
    assert_eq!(asked(2), 1, "the refused call was asked again");
    assert_eq!(asked(4), 2, "the failed call was not asked again");
    assert_eq!(server.requests().len(), 7);
    let shown = eval(&db, &["show", "1"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("failed call: SumPair record 2 sample 0: request refused (HTTP 400)"),
        "{text}"
    );
    // The eval page shows the refusal with its error.
    let page = crate::serve::serve(&db, &[]);
    let one = crate::serve::http(&page.addr, "GET", "/evals/1", None, &[]);
    assert_eq!(one.status, 200);
    assert_eq!(
        one.body.matches("(call refused)").count(),
        1,
        "{}",
        one.body
    );
    assert!(
        one.body.contains("request refused (HTTP 400)"),
        "{}",
        one.body
    );
}
