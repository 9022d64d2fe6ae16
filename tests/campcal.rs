//! Calibration inside campaigns, through the real binary, sandbox and SQLite
//! file: a draft that passes every stage but the band is calibrated with the
//! campaign's own solver before its author is asked for new code.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::fake::{FakeReply, FakeRequest, FakeServer};
use bootforge::store::{ReviewFilter, Store};
use serde_json::Value;

use crate::campaign::{bootforge, setup};
use crate::util::{bin, repo_path};

fn calibrate_bootcamp(name: &str) -> String {
    std::fs::read_to_string(repo_path(&format!("tests/bootcamps/calibrate/{name}"))).unwrap()
}

fn fenced(code: &str) -> FakeReply {
    FakeReply::answer(format!("Here is the bootcamp.\n\n```python\n{code}```\n"))
}

fn is_author(req: &FakeRequest) -> bool {
    req.prompt.starts_with("You write bootcamps")
}

fn is_refine(req: &FakeRequest) -> bool {
    is_author(req) && req.prompt.contains("# The current draft")
}

/// The author writes the sum bootcamp whose difficulty is its `size`
/// (too easy at its default); for `flat`, first one whose `size` changes
/// nothing, then, asked to refine, the one whose `size` matters. The solver
/// is right less often the more numbers it must add.
fn scripted(req: &FakeRequest) -> FakeReply {
    if !is_author(req) {
        return crate::calibrate::solver(req);
    }
    if req.prompt.contains("Task id: flat") && !is_refine(req) {
        fenced(&calibrate_bootcamp("flat.py"))
    } else if req.prompt.contains("Task id: breaks") && !is_refine(req) {
        fenced(&calibrate_bootcamp("breaks.py"))
    } else {
        fenced(&calibrate_bootcamp("one.py"))
    }
}

const EVOLUTION: &str = "[evolution]\ndrafts_per_task = 1\nchildren_per_parent = 1\nparents_per_generation = 1\nmax_generations = 3\n";

fn store(db: &Path) -> (tokio::runtime::Runtime, Store) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(Store::open(db)).unwrap();
    (rt, store)
}

fn last_json(stdout: &str) -> Value {
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn size(params: &Value) -> usize {
    params["size"].as_u64().unwrap() as usize
}

/// The lineage of a task as JSON, and as the tree.
fn lineage(db: &Path, task: &str) -> (Value, String) {
    let (code, stdout, stderr) = bootforge(db, &["lineage", task, "--campaign", "1", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, tree, _) = bootforge(db, &["lineage", task, "--campaign", "1"]);
    assert_eq!(code, 0);
    (last_json(&stdout), tree)
}

#[test]
fn a_too_easy_draft_is_accepted_by_calibration_without_an_author_call() {
    let server = FakeServer::start(scripted).unwrap();
    let s = setup(server.base_url(), &[("sum", "Add up numbers.")], EVOLUTION);
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let result = last_json(&stdout);
    let sum = &result["tasks"][0];
    assert_eq!(sum["status"], "accepted", "{result}");
    assert_eq!(sum["generation"], 0);
    // One author call: the draft, and no refinement.
    let requests = server.requests();
    assert_eq!(requests.iter().filter(|r| is_author(r)).count(), 1);

    // The draft itself missed the band at its default (size 3).
    let (rt, st) = store(&s.db);
    let drafts = rt.block_on(st.drafts(1, "sum")).unwrap();
    assert_eq!(drafts.len(), 1);
    let draft = &drafts[0];
    assert_eq!(draft.verdict.as_deref(), Some("fail"));
    assert!(draft.band_miss && draft.calibrated == Some(true));
    assert!(draft.accuracy.unwrap() > 0.85, "{draft:?}");

    // The review item holds the setting that put it in the band.
    let items = rt
        .block_on(st.review_items(&ReviewFilter::default()))
        .unwrap();
    assert_eq!(items.len(), 1);
    let params: Value = serde_json::from_str(&items[0].params_json).unwrap();
    let accuracy = items[0].accuracy.unwrap();
    assert!(size(&params) > 3, "{params}");
    assert!((0.03..=0.85).contains(&accuracy), "{accuracy}");
    // Its report is the full check at that setting: the solver's stage at
    // the calibrated accuracy (its answers the calibration's), no band
    // finding beside the in-band accuracy.
    let id = items[0].id.to_string();
    let (code, stdout, stderr) = bootforge(&s.db, &["review", "show", &id, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let detail = last_json(&stdout);
    assert_eq!(detail["params"], params);
    assert_eq!(detail["accuracy"], accuracy);
    assert_eq!(
        detail["metrics"]["solver"]["accuracy"], accuracy,
        "{detail}"
    );
    let findings = detail["findings"].as_array().unwrap();
    assert!(
        findings.iter().all(|f| f["severity"] != "error"),
        "{findings:?}"
    );
    for answer in detail["answers"].as_array().unwrap() {
        let shown = crate::calibrate::numbers(answer["prompt"].as_str().unwrap()).len();
        assert_eq!(shown, size(&params), "{answer}");
    }
    let (code, text, _) = bootforge(&s.db, &["review", "show", &id]);
    assert_eq!(code, 0);
    assert!(!text.contains("too_easy"), "{text}");

    // Every solver call is the campaign's: counted in its spend, no hidden
    // campaign row holds calibration calls.
    let calls = rt.block_on(st.calls(1)).unwrap();
    assert_eq!(calls.len(), requests.len());
    assert!(
        requests.iter().all(|r| r.repeat == 0),
        "a call was repeated"
    );
    let counts: std::collections::HashMap<String, i64> = rt
        .block_on(st.table_counts())
        .unwrap()
        .into_iter()
        .map(|t| (t.table, t.rows))
        .collect();
    assert_eq!(counts["campaigns"], 1);
    let (code, stdout, _) = bootforge(&s.db, &["campaign", "status", "1", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        last_json(&stdout)["llm_calls"].as_u64(),
        Some(calls.len() as u64),
        "{stdout}"
    );

    // Lineage: the calibrate step, no author call, with its setting.
    let (json, tree) = lineage(&s.db, "sum");
    let step = &json["drafts"][0]["calibrate"];
    assert_eq!(step["step"], "calibrate");
    assert_eq!(step["author_calls"], 0);
    assert_eq!(step["in_band"], true);
    assert_eq!(step["params"], params);
    assert_eq!(step["accuracy"], accuracy);
    let interval = step["interval"].as_array().unwrap();
    assert!(interval[0].as_f64().unwrap() <= accuracy && accuracy <= interval[1].as_f64().unwrap());
    assert!(step["settings_tried"].as_u64().unwrap() >= 2, "{step}");
    let shown = format!("calibrate in band {params} acc {accuracy:.3}");
    assert!(tree.contains(&shown), "{tree}");
    assert!(tree.contains("no author call"), "{tree}");

    // Export writes the calibrated parameter sets.
    let (code, _, stderr) = bootforge(&s.db, &["review", "approve", &id, "--reviewer", "ada"]);
    assert_eq!(code, 0, "{stderr}");
    let out = s.dir.path().join("out");
    let (code, stdout, stderr) =
        bootforge(&s.db, &["export", "--out", out.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let manifest: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(manifest["bootcamps"][0]["calibration"], step["calibration"]);
    let configs = out.join("examples/pipelines/puzzle_configs");
    for split in ["train", "test"] {
        let text = std::fs::read_to_string(configs.join(format!("SumOne_{split}.json"))).unwrap();
        let sets: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(sets, serde_json::json!([params]), "{split}");
    }
    // The item page's lineage marks the calibration; its table shows the setting.
    let server = crate::serve::serve(&s.db, &[]);
    let page = crate::serve::http(&server.addr, "GET", &format!("/items/{id}"), None, &[]);
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("→ calibrate: a setting in the band (no author call)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<section id=\"calibration\">"));
}

#[test]
fn a_draft_whose_accuracy_does_not_move_is_refined_with_the_calibration_table() {
    let server = FakeServer::start(scripted).unwrap();
    let s = setup(server.base_url(), &[("flat", "Add up numbers.")], EVOLUTION);
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let result = last_json(&stdout);
    // The refinement (the bootcamp whose size matters) is accepted by its
    // own calibration: two author calls in all.
    assert_eq!(result["tasks"][0]["status"], "accepted", "{result}");
    assert_eq!(result["tasks"][0]["generation"], 1);
    let requests = server.requests();
    assert_eq!(requests.iter().filter(|r| is_author(r)).count(), 2);
    let refine = requests.iter().find(|r| is_refine(r)).unwrap();
    let prompt = &refine.prompt;
    assert!(prompt.contains("too easy"), "{prompt}");
    assert!(
        prompt.contains("constructor parameters were calibrated against the solver model"),
        "{prompt}"
    );
    assert!(
        prompt.contains("no setting landed in the band: no parameter moves the accuracy"),
        "{prompt}"
    );
    assert!(
        prompt
            .contains("| parameters | accuracy (95% interval) | right | generation ms per case |"),
        "{prompt}"
    );
    // One row per setting tried, the default first, each with its
    // accuracy, interval, right of cases and generation time.
    let (rt, st) = store(&s.db);
    let calibrations = rt.block_on(st.draft_calibrations(1, "flat")).unwrap();
    assert_eq!(calibrations.len(), 2);
    assert!(!calibrations[0].in_band && calibrations[1].in_band);
    let report: Value =
        serde_json::from_str(calibrations[0].result_json.as_deref().unwrap()).unwrap();
    let tried = report["tried"].as_array().unwrap();
    assert!(tried.len() >= 2, "{report}");
    for t in tried {
        let row = format!(
            "| {} | {:.2} ({:.2}-{:.2}) | {}/{} | {:.1} |",
            t["params"],
            t["accuracy"].as_f64().unwrap(),
            t["interval"][0].as_f64().unwrap(),
            t["interval"][1].as_f64().unwrap(),
            t["correct"],
            t["cases"],
            t["generate_ms_per_case"].as_f64().unwrap()
        );
        assert!(prompt.contains(&row), "{row} not in {prompt}");
    }
    assert!(prompt.contains(r#"| {"size":3} |"#), "{prompt}");
    assert!(
        prompt.contains("Changing parameter values alone does not reach the band"),
        "{prompt}"
    );
    // Lineage shows both calibrations; the missed one says why.
    let (_, tree) = lineage(&s.db, "flat");
    assert!(
        tree.contains("calibrate missed · no parameter moves the accuracy"),
        "{tree}"
    );
    assert!(tree.contains("calibrate in band"), "{tree}");
}

#[test]
fn a_setting_in_the_band_where_a_check_fails_is_not_accepted() {
    let server = FakeServer::start(scripted).unwrap();
    let s = setup(
        server.base_url(),
        &[("breaks", "Add up numbers.")],
        EVOLUTION,
    );
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let result = last_json(&stdout);
    assert_eq!(result["tasks"][0]["status"], "accepted", "{result}");
    assert_eq!(result["tasks"][0]["generation"], 1);
    // The first draft's search found a size in the band, but its generator
    // is not deterministic there: the author is asked, and told so.
    let (rt, st) = store(&s.db);
    let calibrations = rt.block_on(st.draft_calibrations(1, "breaks")).unwrap();
    let first = &calibrations[0];
    assert!(!first.in_band);
    let params: Value = serde_json::from_str(first.params_json.as_deref().unwrap()).unwrap();
    assert!(size(&params) > 5, "{params}");
    let note = first.note.as_deref().unwrap();
    assert!(
        note.starts_with(&format!("at {params} the checks fail: nondeterministic")),
        "{note}"
    );
    let refine = server.requests().into_iter().find(is_refine).unwrap();
    assert!(refine.prompt.contains(note), "{}", refine.prompt);
    assert!(
        refine
            .prompt
            .contains("A setting in the band exists but fails a check there"),
        "{}",
        refine.prompt
    );
    let (_, tree) = lineage(&s.db, "breaks");
    assert!(tree.contains("calibrate missed · at {"), "{tree}");
}

#[test]
fn a_killed_campaign_resumes_its_calibration_without_repeating_a_solver_call() {
    // Slow solver answers, so the kill lands while the calibration probes.
    let server = FakeServer::start(|req| {
        let reply = scripted(req);
        if is_author(req) {
            reply
        } else {
            FakeReply::Delay(Duration::from_millis(150), Box::new(reply))
        }
    })
    .unwrap();
    let s = setup(server.base_url(), &[("sum", "Add up numbers.")], EVOLUTION);
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
    // Wait until the calibration has measured a setting with new solver
    // calls (the default's calls are the evaluation's), then kill -9.
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(40));
        if s.db.exists() {
            let (rt, st) = store(&s.db);
            let probes = rt.block_on(st.calibration_probes(1)).unwrap_or_default();
            if probes.iter().any(|p| p.solver_calls > 0) {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the calibration made no progress: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
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
    let (rt, st) = store(&s.db);
    let before = rt.block_on(st.calls(1)).unwrap();
    let requests_before = server.requests().len();
    drop(st);

    let (code, stdout, stderr) = bootforge(&s.db, &["campaign", "resume", "1", "--json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let result = last_json(&stdout);
    assert_eq!(result["tasks"][0]["status"], "accepted", "{result}");
    // No finished call was asked again: every request after the kill is a
    // call recorded now or one that was in flight at the kill.
    let (rt, st) = store(&s.db);
    let after = rt.block_on(st.calls(1)).unwrap();
    let lost_in_flight = requests_before - before.len();
    assert_eq!(
        server.requests().len(),
        after.len() + lost_in_flight,
        "a finished call was repeated"
    );
    assert!(after.len() > before.len(), "the resume did the rest");
    assert_eq!(
        server.requests().iter().filter(|r| is_author(r)).count(),
        1,
        "no author call besides the draft"
    );
    // One calibration, resumed, not a second one.
    let calibrations = rt.block_on(st.draft_calibrations(1, "sum")).unwrap();
    assert_eq!(calibrations.len(), 1);
    assert!(calibrations[0].in_band);
    assert_eq!(calibrations[0].calibration_id, Some(1));
}

#[test]
fn calibrate_takes_the_solver_and_band_from_a_campaign_config() {
    let server = FakeServer::start(crate::calibrate::solver).unwrap();
    let s = setup(server.base_url(), &[("sum", "Add up numbers.")], "");
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace(
            "solver_cases = 12",
            "solver_cases = 16\naccuracy_min = 0.2\naccuracy_max = 0.6",
        )
        .replace(
            "tasks = \"tasks\"",
            "tasks = \"tasks\"\nprompts = \"my-prompts\"",
        );
    // The campaign's solver template wraps every prompt.
    let templates = s.dir.path().join("my-prompts");
    std::fs::create_dir(&templates).unwrap();
    std::fs::write(
        templates.join("solver.md.j2"),
        "{{ prompt }}\n(the campaign's solver template)",
    )
    .unwrap();
    std::fs::write(&s.config, text).unwrap();
    let out = bin()
        .arg("--db")
        .arg(&s.db)
        .arg("calibrate")
        .arg(repo_path("tests/bootcamps/calibrate/one.py"))
        .args(["--config", s.config.to_str().unwrap(), "--json"])
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let report: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    // The campaign's solver model answered, 16 cases per setting, targets
    // across the band [0.2, 0.6].
    assert!(
        report["model"]
            .as_str()
            .unwrap()
            .starts_with("solver-model at "),
        "{report}"
    );
    assert!(!server.requests().is_empty());
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.body["model"] == "solver-model"
                && r.prompt.ends_with("\n(the campaign's solver template)"))
    );
    let targets: Vec<f64> = report["chosen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["target"].as_f64().unwrap())
        .collect();
    let want = [0.3, 0.4, 0.5, 0.4];
    assert_eq!(targets.len(), want.len());
    for (got, want) in targets.iter().zip(want) {
        assert!((got - want).abs() < 1e-9, "{targets:?}");
    }
    assert!(
        report["tried"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["cases"] == 16)
    );
    // --config and --model together: a usage error.
    let out = bin()
        .arg("--db")
        .arg(&s.db)
        .arg("calibrate")
        .arg(repo_path("tests/bootcamps/calibrate/one.py"))
        .args(["--config", s.config.to_str().unwrap(), "--model", "m"])
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A config whose calibration budget cannot pay for one setting.
    let text = std::fs::read_to_string(&s.config).unwrap() + "calibrate_max_solver_calls = 5\n";
    std::fs::write(&s.config, text).unwrap();
    let (code, _, stderr) = bootforge(&s.db, &["campaign", "run", s.config.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("calibrate_max_solver_calls (5)"),
        "{stderr}"
    );
}
