//! `bootforge calibrate` through the real binary, sandbox and SQLite file,
//! against a scripted solver whose chance of being right falls with how
//! many numbers the prompt shows.

use std::path::Path;
use std::time::Duration;

use crate::fake::{FakeReply, FakeRequest, FakeServer};
use bootforge::calibrate::Report;
use bootforge::calibrate::search::Bound;
use bootforge::store::Store;

use crate::util::{bin, repo_path};

/// The scripted solver's chance of being right with `n` numbers to add.
pub fn chance(n: usize) -> f64 {
    1.0 / (1.0 + (n as f64 / 12.0).powi(3))
}

pub fn numbers(prompt: &str) -> Vec<i128> {
    let line = prompt.lines().next().unwrap_or("");
    let shown = line.split_once(": ").map_or("", |(_, rest)| rest);
    shown
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// Right or wrong by a hash of the prompt (the same prompt always gets the
/// same answer), right with probability [`chance`].
pub fn solver(req: &FakeRequest) -> FakeReply {
    let numbers = numbers(&req.prompt);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in req.prompt.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    let draw = (hash >> 11) as f64 / (1u64 << 53) as f64;
    let sum = numbers.iter().fold(0i128, |a, b| a.wrapping_add(*b));
    let answer = if draw < chance(numbers.len()) {
        sum
    } else {
        sum + 1
    };
    FakeReply::answer(format!("[answer]{answer}[/answer]"))
}

struct Run {
    code: i32,
    report: Option<Report>,
    stderr: String,
}

fn calibrate(server: &FakeServer, db: &Path, file: &str, extra: &[&str]) -> Run {
    let path = repo_path(&format!("tests/bootcamps/calibrate/{file}"));
    calibrate_subject(server, db, &path.display().to_string(), extra)
}

/// `bootforge calibrate SUBJECT` (a file or a review item id) with `--json`.
fn calibrate_subject(server: &FakeServer, db: &Path, subject: &str, extra: &[&str]) -> Run {
    let out = bin()
        .arg("--db")
        .arg(db)
        .args(["calibrate", subject])
        .args([
            "--json",
            "--model",
            "fake-solver",
            "--base-url",
            server.base_url(),
        ])
        .args(extra)
        .env("OPENAI_API_KEY", "sk-test")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        report: serde_json::from_str(stdout.trim()).ok(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn size(params: &serde_json::Map<String, serde_json::Value>) -> usize {
    params["size"].as_u64().unwrap() as usize
}

#[test]
fn one_parameter_reaches_every_target_and_a_rerun_asks_nothing() {
    let server = FakeServer::start(solver).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let run = calibrate(&server, &db, "one.py", &["--solver-cases", "40"]);
    let report = run.report.unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(run.code, 0, "{report:#?}");
    assert_eq!(report.moving.as_deref(), Some("size"));
    assert_eq!(report.space.len(), 1);
    assert_eq!(report.space[0].default, 3.0);
    assert_eq!(report.chosen.len(), 4);
    for chosen in &report.chosen {
        let setting = chosen.setting.as_ref().unwrap();
        let accuracy = setting.accuracy.unwrap();
        assert!(chosen.met, "{chosen:?}");
        assert!((accuracy - chosen.target).abs() <= 0.1 + 1e-9);
        assert!(setting.interval[0] <= accuracy && accuracy <= setting.interval[1]);
        // The solver's true chance at the chosen size is near the target too.
        let truth = chance(size(&setting.params));
        assert!((truth - chosen.target).abs() <= 0.2, "{chosen:?}: {truth}");
    }
    // The ladder spans the band from easy to hard.
    assert_eq!(report.train.len(), 3);
    assert!(size(&report.train[0]) > size(&report.train[2]));
    assert_eq!(report.test.as_ref().map(size), Some(size(&report.train[1])));
    let asked = server.requests().len();
    assert_eq!(asked, report.new_solver_calls);
    assert_eq!(report.solver_calls, report.tried.len() * 40);
    assert!(server.requests().iter().all(|r| r.repeat == 0));
    // Again: every probe and call comes from the store.
    let again = calibrate(&server, &db, "one.py", &["--solver-cases", "40"]);
    let again = again.report.unwrap();
    assert_eq!(server.requests().len(), asked);
    assert_eq!(again.tried.len(), report.tried.len());
    assert_eq!(again.test, report.test);
}

#[test]
fn two_parameters_find_the_one_that_moves() {
    let server = FakeServer::start(solver).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = calibrate(
        &server,
        &dir.path().join("b.db"),
        "two.py",
        &["--ladder", "0.5", "--target", "0.5"],
    );
    let report = run.report.unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(run.code, 0, "{report:#?}");
    let names: Vec<&str> = report.space.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["max_value", "size"]);
    assert_eq!(report.moving.as_deref(), Some("size"));
    let test = report.test.unwrap();
    assert_eq!(test["max_value"], 99);
}

#[test]
fn no_parameters_and_flat_accuracy_say_why() {
    let server = FakeServer::start(solver).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = calibrate(&server, &dir.path().join("b.db"), "fixed.py", &[]);
    let report = run.report.unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(run.code, 1);
    assert!(report.space.is_empty());
    assert_eq!(report.tried.len(), 1);
    assert!(report.chosen.iter().all(|c| !c.met));
    assert!(
        report.chosen[0]
            .miss
            .as_deref()
            .unwrap()
            .contains("no numeric parameter"),
        "{report:#?}"
    );
    let run = calibrate(&server, &dir.path().join("b.db"), "flat.py", &[]);
    let report = run.report.unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(run.code, 1);
    assert_eq!(report.moving, None);
    let miss = report.chosen[0].miss.as_deref().unwrap();
    assert!(miss.contains("no parameter moves the accuracy"), "{miss}");
    // The table, from the store: no solver call.
    let asked = server.requests().len();
    let out = bin()
        .arg("--db")
        .arg(dir.path().join("b.db"))
        .arg("calibrate")
        .arg(repo_path("tests/bootcamps/calibrate/flat.py"))
        .args(["--model", "fake-solver", "--base-url", server.base_url()])
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(server.requests().len(), asked);
    assert!(text.contains("moving the accuracy: none found"), "{text}");
    assert!(text.contains(r#"{"size":6}"#), "{text}");
    assert!(
        text.contains("test 0.50: missed (no parameter moves the accuracy)"),
        "{text}"
    );
}

#[test]
fn a_slow_generator_is_stopped_by_the_time_budget() {
    let server = FakeServer::start(solver).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The target (about size 11) costs some 1,000 ms a case here and size 9
    // about 300 ms: a 150 ms budget puts every setting near the target
    // several times over it on any machine of this kind, while size 6 (15 ms)
    // stays in bounds. At 1,000 ms the target sat at the budget's edge, and
    // the test flipped with the machine's load.
    let run = calibrate(
        &server,
        &dir.path().join("b.db"),
        "slow.py",
        &["--ladder", "0.5", "--target", "0.5", "--timeout-ms", "150"],
    );
    let report = run.report.unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(run.code, 1, "{report:#?}");
    let test = &report.chosen[1];
    assert!(!test.met);
    let miss = test.miss.as_deref().unwrap();
    assert!(miss.contains("time budget"), "{miss}");
    assert!(
        report
            .tried
            .iter()
            .any(|t| t.bound.is_some() && t.accuracy.is_none())
    );
    // The nearest setting in bounds is the one reported, with its time.
    let nearest = test.setting.as_ref().unwrap();
    assert!(nearest.bound.is_none() && nearest.generate_ms_per_case > 0.0);
}

#[test]
fn a_killed_calibration_resumes_without_repeating_finished_calls() {
    let server =
        FakeServer::start(|req| FakeReply::Delay(Duration::from_millis(30), Box::new(solver(req))))
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let file = repo_path("tests/bootcamps/calibrate/one.py");
    let mut child = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "calibrate",
            &file.display().to_string(),
            "--json",
            "--concurrency",
            "4",
        ])
        .args(["--model", "fake-solver", "--base-url", server.base_url()])
        .env("OPENAI_API_KEY", "sk-test")
        .env_remove("OPENAI_BASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while server.requests().len() < 50 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "it finished before it was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = server.requests().len();
    let run = calibrate(&server, &db, "one.py", &["--concurrency", "4"]);
    let report = run.report.unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(run.code, 0, "{report:#?}");
    let requests = server.requests();
    // Only the calls in flight when it was killed (at most 4) are asked again.
    let repeated = requests.iter().filter(|r| r.repeat > 0).count();
    assert!(repeated <= 4, "{repeated} repeated of {}", requests.len());
    assert!(requests.len() > before);
    assert_eq!(report.solver_calls, report.tried.len() * 20);
}

/// `bootforge ARGS` on `db`: exit code, stdout, stderr.
fn bootforge(db: &Path, args: &[&str]) -> (i32, String, String) {
    let out = bin().arg("--db").arg(db).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Queue `one.py` for review at `{"size": 4}`; its id.
fn queue_one(db: &Path) -> String {
    let file = repo_path("tests/bootcamps/calibrate/one.py");
    let (code, stdout, stderr) = bootforge(
        db,
        &[
            "review",
            "add",
            file.to_str().unwrap(),
            "--params",
            r#"{"size": 4}"#,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let added: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    added["item"].as_i64().unwrap().to_string()
}

#[test]
fn a_review_item_is_calibrated_from_the_store() {
    let server = FakeServer::start(solver).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let id = queue_one(&db);
    let run = calibrate_subject(&server, &db, &id, &["--ladder", "0.3,0.7"]);
    let report = run.report.unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(run.code, 0, "{report:#?}");
    assert!(
        report.file.starts_with(&format!("review item {id}")),
        "{}",
        report.file
    );
    assert_eq!(report.class, "SumOnebootcamp");
    // The item's parameters are the start point.
    assert_eq!(report.space[0].default, 4.0);
    assert_eq!(report.train.len(), 2);
    // Listed in ladder order: accuracy 0.3 is the harder (larger) setting.
    assert!(size(&report.train[0]) > size(&report.train[1]));
    // Again by id: every call comes from the store.
    let asked = server.requests().len();
    let again = calibrate_subject(&server, &db, &id, &["--ladder", "0.3,0.7"]);
    assert_eq!(again.report.unwrap().train, report.train);
    assert_eq!(server.requests().len(), asked);
    // The item is set to its test setting, with the full check there: the
    // solver's stage at the calibrated accuracy, and no band finding.
    let test = report.chosen.iter().find(|c| c.role == "test").unwrap();
    let test = test.setting.as_ref().unwrap();
    let (code, stdout, stderr) = bootforge(&db, &["review", "show", &id, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let detail: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        detail["params"],
        serde_json::Value::Object(test.params.clone())
    );
    assert_eq!(detail["accuracy"], test.accuracy.unwrap());
    assert_eq!(
        detail["metrics"]["solver"]["accuracy"],
        test.accuracy.unwrap()
    );
    assert_eq!(detail["metrics"]["solver"]["cases"], test.cases);
    let findings = detail["findings"].as_array().unwrap();
    assert!(
        findings.iter().all(|f| f["severity"] != "error"),
        "{findings:?}"
    );
    // The samples shown are the test setting's.
    for sample in detail["samples"].as_array().unwrap() {
        let shown = numbers(sample["prompt"].as_str().unwrap()).len();
        assert_eq!(shown, size(&test.params));
    }
    assert_eq!(server.requests().len(), asked, "the check asked the solver");
    // An id with no item (and no such file) is bad input.
    let missing = calibrate_subject(&server, &db, "99", &[]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no review item 99"),
        "{}",
        missing.stderr
    );
}

#[test]
fn export_and_generate_use_the_items_ladder() {
    let server = FakeServer::start(solver).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let id = queue_one(&db);
    let (code, _, stderr) = bootforge(&db, &["review", "approve", &id, "--reviewer", "ada"]);
    assert_eq!(code, 0, "{stderr}");
    // Before calibrating: the item's own parameters for both splits.
    let before = dir.path().join("before");
    let (code, stdout, stderr) = bootforge(
        &db,
        &["export", "--out", before.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let manifest: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        manifest["bootcamps"][0]["calibration"],
        serde_json::Value::Null
    );
    let configs = before.join("examples/pipelines/puzzle_configs");
    let read = |dir: &Path, name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    assert_eq!(
        read(&configs, "SumOne_train.json"),
        serde_json::json!([{"size": 4}])
    );

    let run = calibrate_subject(&server, &db, &id, &["--ladder", "0.3,0.7"]);
    let report = run.report.unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(run.code, 0, "{report:#?}");
    let test = report.test.clone().unwrap();
    let out = dir.path().join("out");
    let (code, stdout, stderr) =
        bootforge(&db, &["export", "--out", out.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let manifest: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(manifest["bootcamps"][0]["calibration"], report.calibration);
    // The files and the shape InternBootcamp's data_generator.py reads: a
    // JSON list of constructor keyword arguments per split, named after the
    // data config line's config_file.
    let configs = out.join("examples/pipelines/puzzle_configs");
    assert_eq!(
        read(&configs, "SumOne_train.json"),
        serde_json::to_value(&report.train).unwrap()
    );
    assert_eq!(
        read(&configs, "SumOne_test.json"),
        serde_json::json!([test])
    );
    let line = std::fs::read_to_string(
        out.join("examples/pipelines/data_configs/data_config_train.bootforge.jsonl"),
    )
    .unwrap();
    let line: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(line["config_file"], "SumOne");

    // generate --split: the train ladder's settings share the seeds in
    // order; the test split uses the test setting; --params still wins.
    let sizes = |split: &str, extra: &[&str]| -> Vec<usize> {
        let file = dir.path().join(format!("{split}{}.jsonl", extra.len()));
        let mut args = vec!["generate", &id, "--n", "10", "--split", split, "--out"];
        let path = file.display().to_string();
        args.push(&path);
        args.extend_from_slice(extra);
        let (code, _, stderr) = bootforge(&db, &args);
        assert_eq!(code, 0, "{stderr}");
        std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .map(|l| {
                let record: serde_json::Value = serde_json::from_str(l).unwrap();
                numbers(record["prompt"].as_str().unwrap()).len()
            })
            .collect()
    };
    let (hard, easy) = (size(&report.train[0]), size(&report.train[1]));
    let mut want = vec![hard; 5];
    want.extend([easy; 5]);
    assert_eq!(sizes("train", &[]), want);
    assert_eq!(sizes("test", &[]), vec![size(&test); 10]);
    assert_eq!(sizes("test", &["--params", r#"{"size": 2}"#]), vec![2; 10]);

    // review show and the item page show the table: parameters, accuracy
    // with its interval, generation time per case.
    let (code, stdout, _) = bootforge(&db, &["review", "show", &id, "--json"]);
    assert_eq!(code, 0);
    let detail: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let rows = detail["calibration"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for (row, chosen) in rows.iter().zip(&report.chosen) {
        let setting = chosen.setting.as_ref().unwrap();
        assert_eq!(row["role"], chosen.role);
        assert_eq!(
            row["params"],
            serde_json::to_value(&setting.params).unwrap()
        );
        assert_eq!(row["accuracy"], setting.accuracy.unwrap());
        assert_eq!(row["interval"], serde_json::json!(setting.interval));
        assert_eq!(row["generate_ms_per_case"], setting.generate_ms_per_case);
    }
    let (code, stdout, _) = bootforge(&db, &["review", "show", &id]);
    assert_eq!(code, 0);
    let setting = report.chosen[0].setting.as_ref().unwrap();
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("train 0.30"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let shown = format!(r#"{{"size":{}}}"#, size(&setting.params));
    assert!(line.contains(&shown), "{line}");
    assert!(
        line.contains(&format!(
            "{:.2} ({:.2}-{:.2}) {}/{}",
            setting.accuracy.unwrap(),
            setting.interval[0],
            setting.interval[1],
            setting.correct,
            setting.cases
        )),
        "{line}"
    );
    assert!(
        line.contains(&format!("{:.2}", setting.generate_ms_per_case)),
        "{line}"
    );
    let server = crate::serve::serve(&db, &[]);
    let page = crate::serve::http(&server.addr, "GET", &format!("/items/{id}"), None, &[]);
    assert_eq!(page.status, 200);
    let table = page
        .body
        .split("<section id=\"calibration\">")
        .nth(1)
        .unwrap_or_else(|| panic!("{}", page.body));
    assert!(table.contains("&quot;size&quot;:"), "{table}");
    assert!(
        table.contains(&format!(
            "{:.2} [{:.2}, {:.2}] {}/{}",
            setting.accuracy.unwrap(),
            setting.interval[0],
            setting.interval[1],
            setting.correct,
            setting.cases
        )),
        "{table}"
    );
}

#[test]
fn a_setting_where_a_check_fails_is_a_bound_and_the_report_names_it() {
    // breaks.py draws from the OS past size 5: the determinism check fails
    // there, though its cases generate, render and grade.
    let server = FakeServer::start(solver).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let args = ["--ladder", "0.5", "--target", "0.5"];
    let run = calibrate(&server, &db, "breaks.py", &args);
    let report = run.report.unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(run.code, 1, "{report:#?}");
    let test = &report.chosen[1];
    assert!(!test.met);
    assert!(
        test.miss
            .as_deref()
            .unwrap()
            .starts_with("stopped by a failing check: generate failed: nondeterministic"),
        "{test:?}"
    );
    assert!(
        matches!(&report.stopped_by, Some(Bound::Check { stage, kind, .. })
            if stage == "generate" && kind == "nondeterministic"),
        "{report:#?}"
    );
    // The settings past 5 are out of bounds and cost no solver call; the
    // nearest in bounds is reported.
    let bounded: Vec<_> = report.tried.iter().filter(|t| t.bound.is_some()).collect();
    assert!(!bounded.is_empty());
    for t in &bounded {
        assert!(size(&t.params) > 5 && t.solver_calls == 0, "{t:?}");
    }
    let in_bounds = report.tried.len() - bounded.len();
    assert_eq!(server.requests().len(), in_bounds * 20);
    assert!(size(&test.setting.as_ref().unwrap().params) <= 5);
    // Every setting's checks are stored with it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(Store::open(&db)).unwrap();
    for t in &report.tried {
        let params = serde_json::Value::Object(t.params.clone()).to_string();
        let stored = rt
            .block_on(store.calibration_check(report.calibration, &params))
            .unwrap();
        assert!(stored.is_some(), "no checks stored at {params}");
    }
    drop(store);
    // The table says which bound stopped it; again, from the store, with
    // no solver call.
    let asked = server.requests().len();
    let out = bin()
        .arg("--db")
        .arg(&db)
        .arg("calibrate")
        .arg(repo_path("tests/bootcamps/calibrate/breaks.py"))
        .args(args)
        .args(["--model", "fake-solver", "--base-url", server.base_url()])
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(server.requests().len(), asked);
    assert!(
        text.contains("out of bounds: generate failed: nondeterministic"),
        "{text}"
    );
    assert!(
        text.contains("the search was stopped by generate failed: nondeterministic"),
        "{text}"
    );
}

#[test]
fn the_two_ends_of_a_range_move_together() {
    let server = FakeServer::start(solver).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let run = calibrate(
        &server,
        &db,
        "range.py",
        &["--ladder", "0.5", "--target", "0.5"],
    );
    let report = run.report.unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(run.code, 0, "{report:#?}");
    assert_eq!(report.moving.as_deref(), Some("min_size+max_size"));
    let ends = |p: &serde_json::Map<String, serde_json::Value>| {
        (
            p["min_size"].as_u64().unwrap(),
            p["max_size"].as_u64().unwrap(),
        )
    };
    // No setting tried turned the range inside out.
    for t in &report.tried {
        let (low, high) = ends(&t.params);
        assert!(low <= high && t.bound.is_none(), "{t:?}");
    }
    // Both ends moved from their defaults (2, 4).
    let (low, high) = ends(report.test.as_ref().unwrap());
    assert!(low > 2 && high > 4, "{low} {high}");

    // Started inside out, the setting is out of bounds, not an error.
    let run = calibrate(
        &server,
        &db,
        "range.py",
        &[
            "--ladder",
            "0.5",
            "--target",
            "0.5",
            "--params",
            r#"{"min_size": 9}"#,
        ],
    );
    let report = run.report.unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(run.code, 1, "{report:#?}");
    assert_eq!(report.tried.len(), 1);
    assert!(report.tried[0].bound.is_some());
    let miss = report.chosen[1].miss.as_deref().unwrap();
    assert!(miss.contains("min_size 9 > max_size 4"), "{miss}");
    assert!(report.stopped_by.is_some());
}
