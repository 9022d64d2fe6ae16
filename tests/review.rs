//! The review queue through the real binary, a real SQLite file, the real
//! sandbox and the scripted fake OpenAI server: states and transitions,
//! refused double decisions and `--force`, `revise` notes reaching the next
//! refine prompt, `review add`, curators deciding while a campaign writes,
//! and the migration's backfill of drafts accepted before the queue existed.

use std::path::Path;
use std::process::Stdio;

use crate::fake::FakeServer;
use serde_json::Value;

use crate::campaign::{EXAMPLE_TASKS, Setup, bootforge, both, setup};
use crate::util::{bin, repo_path};

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn one_json(stdout: &str) -> Value {
    let mut lines = json_lines(stdout);
    assert_eq!(lines.len(), 1, "{stdout}");
    lines.remove(0)
}

/// `bootforge --db DB args...` with these extra environment variables and
/// no reviewer inherited from the test's environment.
pub fn bootforge_env(db: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = bin();
    cmd.arg("--db")
        .arg(db)
        .args(args)
        .env_remove("OPENAI_BASE_URL")
        .env_remove("BOOTFORGE_DB")
        .env_remove("BOOTFORGE_REVIEWER");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A finished example campaign: digit-sum accepted after a refinement,
/// interval-merge at once.
fn finished_campaign(server: &FakeServer) -> (Setup, i64) {
    let s = setup(server.base_url(), &EXAMPLE_TASKS, "");
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let id = json_lines(&stdout).last().unwrap()["campaign"]
        .as_i64()
        .unwrap();
    (s, id)
}

fn item_of<'a>(items: &'a [Value], task: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["task"] == task)
        .unwrap_or_else(|| panic!("no item for {task}: {items:?}"))
}

#[test]
fn accepted_drafts_queue_and_decisions_follow_the_rules() {
    let server = FakeServer::start(both).unwrap();
    let (s, campaign) = finished_campaign(&server);
    let db = &s.db;

    // Both accepted drafts entered the queue, pending.
    let (code, stdout, stderr) = bootforge(db, &["review", "list", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let items = json_lines(&stdout);
    assert_eq!(items.len(), 2, "{stdout}");
    for item in &items {
        assert_eq!(item["status"], "pending");
        assert_eq!(item["campaign"], campaign);
        let (a, [lo, hi]) = (
            item["accuracy"].as_f64().unwrap(),
            [
                item["interval"][0].as_f64().unwrap(),
                item["interval"][1].as_f64().unwrap(),
            ],
        );
        assert!(lo <= a && a <= hi && lo < hi, "{item}");
        assert!(item["diversity"].as_f64().unwrap() > 0.5, "{item}");
        // The guess baseline the solver had to clear is shown beside it.
        let guess = item["guess_baseline"].as_f64().unwrap();
        assert!((0.0..a).contains(&guess), "{item}");
    }
    let digit = item_of(&items, "digit-sum").clone();
    let interval = item_of(&items, "interval-merge").clone();
    assert_eq!(digit["class"], "DigitSumbootcamp");
    let id = digit["id"].as_i64().unwrap().to_string();

    // `show` carries what a curator decides from.
    let (code, stdout, stderr) = bootforge(db, &["review", "show", &id, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let detail = one_json(&stdout);
    assert!(
        detail["description"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("digit")
    );
    assert!(
        detail["code"]
            .as_str()
            .unwrap()
            .contains("class DigitSumbootcamp")
    );
    let samples = detail["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3);
    for (seed, sample) in samples.iter().enumerate() {
        assert_eq!(sample["seed"], seed as u64);
        assert!(
            sample["case"]["a"].is_u64() && sample["case"]["b"].is_u64(),
            "{sample}"
        );
        assert!(sample["prompt"].as_str().unwrap().contains("[answer]"));
    }
    let answers = detail["answers"].as_array().unwrap();
    assert!(answers.iter().any(|a| a["score"] == 1.0) && answers.iter().any(|a| a["score"] == 0.0));
    let lineage = detail["lineage"].as_array().unwrap();
    assert_eq!(
        lineage
            .iter()
            .map(|l| l["operator"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["draft", "refine"]
    );
    assert_eq!(lineage[1]["fixed"], "generate_failed");
    assert_eq!(detail["author_model"], "author-model");
    assert!(detail["findings"].is_array() && detail["decisions"].as_array().unwrap().is_empty());

    let (code, text, _) = bootforge(db, &["review", "show", &id]);
    assert_eq!(code, 0);
    assert!(
        text.contains("   1  ") && text.contains("== Sample cases (3)"),
        "{text}"
    );
    assert!(
        text.contains("lineage: generation 1: #")
            && text.contains("refine (fixed generate_failed)"),
        "{text}"
    );

    // `next` is the oldest pending item with the commands that decide it.
    let oldest = items
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .min()
        .unwrap();
    let (code, text, _) = bootforge(db, &["review", "next"]);
    assert_eq!(code, 0);
    assert!(
        text.starts_with(&format!("review item {oldest} ")),
        "{text}"
    );
    assert!(
        text.contains(&format!("review approve {oldest} "))
            && text.contains(&format!("review revise {oldest} --note TEXT")),
        "{text}"
    );

    // Approve, then a second decision is refused naming who, what and when.
    let (code, stdout, stderr) = bootforge_env(
        db,
        &[
            "review",
            "approve",
            &id,
            "--reviewer",
            "ada",
            "--note",
            "clean verifier",
            "--json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let first = one_json(&stdout);
    assert_eq!(
        (
            first["decision"].as_str(),
            first["reviewer"].as_str(),
            first["forced"].as_bool()
        ),
        (Some("approved"), Some("ada"), Some(false))
    );
    let (code, _, stderr) = bootforge_env(
        db,
        &[
            "review",
            "reject",
            &id,
            "--reason",
            "dup",
            "--reviewer",
            "bob",
        ],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("approved by ada at")
            && stderr.contains(first["created_at"].as_str().unwrap())
            && stderr.contains("--force"),
        "{stderr}"
    );
    // --force records it and keeps both in the history.
    let (code, stdout, stderr) = bootforge_env(
        db,
        &[
            "review",
            "reject",
            &id,
            "--reason",
            "duplicate of #4",
            "--reviewer",
            "bob",
            "--force",
            "--json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(one_json(&stdout)["forced"], true);
    let (_, stdout, _) = bootforge(db, &["review", "show", &id, "--json"]);
    let decisions = one_json(&stdout)["decisions"].clone();
    assert_eq!(
        decisions
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (
                d["decision"].as_str().unwrap(),
                d["reviewer"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        [("approved", "ada"), ("rejected", "bob")]
    );
    let (_, stdout, _) = bootforge(db, &["review", "list", "--status", "rejected", "--json"]);
    assert_eq!(json_lines(&stdout).len(), 1);
    let (_, stdout, _) = bootforge(
        db,
        &[
            "review",
            "list",
            "--status",
            "pending",
            "--task",
            "interval-merge",
            "--json",
        ],
    );
    assert_eq!(json_lines(&stdout).len(), 1);

    // The reviewer: BOOTFORGE_REVIEWER, else the login name.
    let other = interval["id"].as_i64().unwrap().to_string();
    let (code, stdout, stderr) = bootforge_env(
        db,
        &["review", "approve", &other, "--json"],
        &[("BOOTFORGE_REVIEWER", "carol"), ("USER", "root")],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(one_json(&stdout)["reviewer"], "carol");
    let (code, stdout, stderr) = bootforge_env(
        db,
        &["review", "approve", &other, "--force", "--json"],
        &[("USER", "dave")],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(one_json(&stdout)["reviewer"], "dave");

    // Bad input is exit 2.
    assert_eq!(bootforge(db, &["review", "show", "999"]).0, 2);
    assert_eq!(
        bootforge(db, &["review", "reject", &other]).0,
        2,
        "--reason is required"
    );
    assert_eq!(bootforge(db, &["review", "list", "--status", "maybe"]).0, 2);
}

#[test]
fn revise_reaches_the_refine_prompt_and_the_child_queues_again() {
    let server = FakeServer::start(both).unwrap();
    let (s, campaign) = finished_campaign(&server);
    let db = &s.db;
    let (_, stdout, _) = bootforge(
        db,
        &["review", "list", "--task", "interval-merge", "--json"],
    );
    let item = one_json(&stdout);
    let id = item["id"].as_i64().unwrap().to_string();
    let parent = item["draft"].as_i64().unwrap();
    let note = "Intervals never have negative endpoints; include some, and overlapping runs longer than three.";
    let (code, stdout, stderr) = bootforge_env(
        db,
        &["review", "revise", &id, "--note", note, "--reviewer", "ada"],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("campaign resume {campaign}")),
        "{stdout}"
    );
    // The finished campaign has work again: resumable, not done.
    let (_, status, _) = bootforge(db, &["campaign", "status", &campaign.to_string()]);
    assert!(
        status.contains("stopped") && status.contains("sent back for revision"),
        "{status}"
    );
    let before = server.requests().len();

    let (code, stdout, stderr) =
        bootforge(db, &["campaign", "resume", &campaign.to_string(), "--json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let outcome = json_lines(&stdout).last().unwrap().clone();
    let task = outcome["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"] == "interval-merge")
        .unwrap()
        .clone();
    assert_eq!(task["status"], "accepted", "{outcome}");
    let child = task["draft"].as_i64().unwrap();
    assert_ne!(child, parent);

    // The refine prompt the fake author received carries the note.
    let refines: Vec<_> = server.requests()[before..]
        .iter()
        .filter(|r| {
            r.prompt.contains("Task id: interval-merge") && r.prompt.contains("# The current draft")
        })
        .cloned()
        .collect();
    assert!(
        !refines.is_empty(),
        "{before} {:?}",
        server
            .requests()
            .iter()
            .map(|r| r.prompt.chars().take(200).collect::<String>())
            .collect::<Vec<_>>()
    );
    assert!(
        refines
            .iter()
            .all(|r| r.prompt.contains(note) && r.prompt.contains("# What the curator asked for")),
        "{}",
        refines[0].prompt
    );

    // Lineage shows the revision as its own operator.
    let (code, stdout, _) = bootforge(
        db,
        &[
            "lineage",
            "interval-merge",
            "--campaign",
            &campaign.to_string(),
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let drafts = one_json(&stdout)["drafts"].clone();
    let row = drafts
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == child)
        .unwrap()
        .clone();
    assert_eq!(
        (row["operator"].as_str(), row["parent"].as_i64()),
        (Some("revise"), Some(parent))
    );

    // The child is queued again; the revised item keeps its status.
    let (_, stdout, _) = bootforge(
        db,
        &["review", "list", "--task", "interval-merge", "--json"],
    );
    let items = json_lines(&stdout);
    assert_eq!(
        items
            .iter()
            .map(|i| (i["draft"].as_i64().unwrap(), i["status"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [(parent, "revise"), (child, "pending")]
    );
    let (_, stdout, _) = bootforge(
        db,
        &["review", "show", &items[1]["id"].to_string(), "--json"],
    );
    let lineage = one_json(&stdout)["lineage"].clone();
    let last = lineage.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["operator"], "revise");
    assert!(
        last["fixed"]
            .as_str()
            .unwrap()
            .contains("negative endpoints"),
        "{last}"
    );
}

#[test]
fn review_add_queues_a_passing_file_and_refuses_a_failing_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("review.db");
    let good = repo_path("tests/bootcamps/review/big_mod.py");
    let bad = repo_path("tests/bootcamps/review/broken_verifier.py");
    let (code, stdout, stderr) = bootforge(
        &db,
        &[
            "review",
            "add",
            good.to_str().unwrap(),
            "--note",
            "from our library",
            "--params",
            r#"{"digits": 24}"#,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let added = one_json(&stdout);
    assert_eq!(added["report"]["verdict"], "pass");
    let id = added["item"].as_i64().unwrap().to_string();

    let (code, stdout, stderr) = bootforge(&db, &["review", "add", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("FAIL") && stdout.contains("accepts_junk"),
        "{stdout}"
    );
    assert!(stderr.contains("not queued"), "{stderr}");
    let (_, stdout, _) = bootforge(&db, &["review", "list", "--json"]);
    let items = json_lines(&stdout);
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0]["source"].as_str(), items[0]["class"].as_str()),
        (Some("file"), Some("BigModProductbootcamp"))
    );

    // Samples use the stored parameters, keep big integers exact, and the
    // human view never lets the prompt's escape sequences through.
    let (code, stdout, _) = bootforge(&db, &["review", "show", &id, "--json"]);
    assert_eq!(code, 0);
    let detail = one_json(&stdout);
    assert_eq!(detail["params"]["digits"], 24);
    assert_eq!(detail["note"], "from our library");
    let prompt = detail["samples"][0]["prompt"].as_str().unwrap();
    let a = prompt.lines().find_map(|l| l.strip_prefix("a = ")).unwrap();
    assert_eq!(a.len(), 24, "{prompt}");
    assert!(
        stdout.contains(&format!("\"a\": {a}")),
        "the case is embedded as written: {stdout}"
    );
    let (code, text, _) = bootforge(&db, &["review", "show", &id]);
    assert_eq!(code, 0);
    assert!(!text.contains('\u{1b}'), "raw escape in the output");
    assert!(
        text.contains("\\u001b[1mCompute") && text.contains(&format!("a = {a}")),
        "{text}"
    );

    // A file has no campaign to go back to.
    let (code, _, stderr) = bootforge_env(
        &db,
        &[
            "review",
            "revise",
            &id,
            "--note",
            "harder",
            "--reviewer",
            "ada",
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("review add"), "{stderr}");
}

#[test]
fn curators_decide_while_a_campaign_writes() {
    let server = FakeServer::start(both).unwrap();
    let (s, _) = finished_campaign(&server);
    let db = s.db.clone();
    let (_, stdout, _) = bootforge(&db, &["review", "list", "--json"]);
    let ids: Vec<String> = json_lines(&stdout)
        .iter()
        .map(|i| i["id"].to_string())
        .collect();

    // A second campaign writes to the same file while two curators decide.
    let running = bin()
        .arg("--db")
        .arg(&db)
        .args(["campaign", "run", s.config.to_str().unwrap(), "--json"])
        .env_remove("OPENAI_BASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    const ROUNDS: usize = 8;
    let curators: Vec<_> = ["ada", "bob"]
        .into_iter()
        .map(|name| {
            let db = db.clone();
            let ids = ids.clone();
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for round in 0..ROUNDS {
                    let id = &ids[round % ids.len()];
                    let args: Vec<&str> = if round % 2 == 0 {
                        vec!["review", "approve", id, "--force", "--reviewer", name]
                    } else {
                        vec![
                            "review",
                            "reject",
                            id,
                            "--reason",
                            "looping",
                            "--force",
                            "--reviewer",
                            name,
                        ]
                    };
                    let (code, _, stderr) = bootforge_env(&db, &args, &[]);
                    if code != 0 {
                        failures.push(stderr.clone());
                    }
                    let (code, _, stderr) = bootforge_env(&db, &["review", "list", "--json"], &[]);
                    if code != 0 {
                        failures.push(stderr);
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = curators
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let campaign = running.wait_with_output().unwrap();
    assert!(failures.is_empty(), "curators failed: {failures:?}");
    assert!(
        campaign.status.success(),
        "{}",
        String::from_utf8_lossy(&campaign.stderr)
    );
    assert!(!String::from_utf8_lossy(&campaign.stderr).contains("locked"));

    // Nothing lost: every decision is there, and the new campaign's
    // accepted drafts queued.
    let mut decisions = 0;
    for id in &ids {
        let (_, stdout, _) = bootforge(&db, &["review", "show", id, "--json"]);
        decisions += one_json(&stdout)["decisions"].as_array().unwrap().len();
    }
    assert_eq!(decisions, 2 * ROUNDS);
    let (_, stdout, _) = bootforge(&db, &["review", "list", "--status", "pending", "--json"]);
    assert_eq!(json_lines(&stdout).len(), 2, "{stdout}");
}

#[test]
fn the_migration_queues_drafts_accepted_before_it() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    // A database as the first release left it: only the first migration.
    let old = dir.path().join("migrations");
    std::fs::create_dir(&old).unwrap();
    std::fs::copy(
        repo_path("migrations/20261127000000_campaigns.sql"),
        old.join("20261127000000_campaigns.sql"),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}?mode=rwc", db.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(old.as_path()).await.unwrap().run(&mut conn).await.unwrap();
        for sql in [
            "INSERT INTO campaigns (id, name, config_json, status, created_at, updated_at) VALUES (1, 'old', '{}', 'done', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')",
            "INSERT INTO tasks (campaign_id, id, description, extra_json, status, accepted_draft, best_draft) VALUES (1, 'sum', 'Add.', '{}', 'accepted', 1, 1), (1, 'hard', 'Hard.', '{}', 'rejected', NULL, 2)",
            "INSERT INTO drafts (id, campaign_id, task_id, generation, sample, parent_key, operator, template, template_sha, model, prompt, code, status, created_at)
             VALUES (1, 1, 'sum', 0, 0, 0, 'draft', 'draft.md.j2', 'x', 'm', 'p', 'class Sumbootcamp: pass', 'evaluated', '2026-11-01T00:00:00Z'),
                    (2, 1, 'hard', 0, 0, 0, 'draft', 'draft.md.j2', 'x', 'm', 'p', 'class Hardbootcamp: pass', 'evaluated', '2026-11-01T00:00:00Z')",
            r#"INSERT INTO evaluations (draft_id, verdict, furthest_stage, loaded, accuracy, report_json, created_at)
             VALUES (1, 'pass', 8, 1, 0.5, '{"class": "Sumbootcamp", "metrics": {"diversity": 1.0}, "findings": []}', '2026-11-01T00:00:01Z'),
                    (2, 'fail', 3, 1, 1.0, '{}', '2026-11-01T00:00:01Z')"#,
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    });
    let (code, stdout, stderr) = bootforge(&db, &["review", "list", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let items = json_lines(&stdout);
    assert_eq!(items.len(), 1, "only the accepted draft: {stdout}");
    assert_eq!(
        (
            items[0]["task"].as_str(),
            items[0]["draft"].as_i64(),
            items[0]["status"].as_str(),
            items[0]["class"].as_str()
        ),
        (Some("sum"), Some(1), Some("pending"), Some("Sumbootcamp"))
    );
    assert_eq!(items[0]["created_at"], "2026-11-01T00:00:01Z");
}

#[test]
fn a_new_campaign_over_a_revised_task_refines_it_with_the_note() {
    let server = FakeServer::start(both).unwrap();
    let (s, first) = finished_campaign(&server);
    let db = &s.db;
    let (_, stdout, _) = bootforge(
        db,
        &["review", "list", "--task", "interval-merge", "--json"],
    );
    let item = one_json(&stdout);
    let note = "Make the intervals overlap in long chains, not only in pairs.";
    let (code, _, stderr) = bootforge_env(
        db,
        &[
            "review",
            "revise",
            &item["id"].to_string(),
            "--note",
            note,
            "--reviewer",
            "ada",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let before = server.requests().len();

    // A new campaign over the same tasks, not a resume of the first.
    let (code, stdout, stderr) = bootforge(
        db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let outcome = json_lines(&stdout).last().unwrap().clone();
    let second = outcome["campaign"].as_i64().unwrap();
    assert_ne!(second, first);
    let task = outcome["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"] == "interval-merge")
        .unwrap()
        .clone();
    assert_eq!(task["status"], "accepted", "{outcome}");

    let refines: Vec<_> = server.requests()[before..]
        .iter()
        .filter(|r| {
            r.prompt.contains("Task id: interval-merge") && r.prompt.contains("# The current draft")
        })
        .cloned()
        .collect();
    assert!(!refines.is_empty() && refines.iter().all(|r| r.prompt.contains(note)));
    let (_, stdout, _) = bootforge(
        db,
        &[
            "lineage",
            "interval-merge",
            "--campaign",
            &second.to_string(),
            "--json",
        ],
    );
    let drafts = one_json(&stdout)["drafts"].clone();
    let accepted = drafts
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == task["draft"])
        .unwrap()
        .clone();
    assert_eq!(accepted["operator"], "revise");

    // The queue: the revised item, its copy in the new campaign (still
    // revise, saying where it came from), and the new child, pending.
    let (_, stdout, _) = bootforge(
        db,
        &["review", "list", "--task", "interval-merge", "--json"],
    );
    let items = json_lines(&stdout);
    assert_eq!(
        items
            .iter()
            .map(|i| (
                i["campaign"].as_i64().unwrap(),
                i["status"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        [(first, "revise"), (second, "revise"), (second, "pending")]
    );
    assert_eq!(items[2]["draft"], task["draft"]);
}

#[test]
fn the_cli_caps_reviewer_names_and_notes_like_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("caps.db");
    let good = repo_path("tests/bootcamps/review/big_mod.py");
    let good = good.to_str().unwrap();
    let long_note = "n".repeat(4_001);
    let (code, _, stderr) = bootforge(&db, &["review", "add", good, "--note", &long_note]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("4001 characters") && stderr.contains("at most 4000"),
        "{stderr}"
    );
    let (code, stdout, stderr) = bootforge(&db, &["review", "add", good, "--json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let id = one_json(&stdout)["item"].as_i64().unwrap().to_string();

    let plain = [("USER", "root")];
    let long_name = "a".repeat(81);
    // (review arguments, environment, what the refusal names)
    type Refused<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let refused: [Refused; 7] = [
        (
            &["approve", &id, "--reviewer", &long_name],
            &plain,
            "--reviewer",
        ),
        (
            &["approve", &id, "--reviewer", "ada\u{1b}[2K"],
            &plain,
            "--reviewer",
        ),
        (
            &["reject", &id, "--reviewer", "a\u{202e}da", "--reason", "x"],
            &plain,
            "--reviewer",
        ),
        (
            &["approve", &id],
            &[("BOOTFORGE_REVIEWER", &long_name), ("USER", "root")],
            "BOOTFORGE_REVIEWER",
        ),
        (&["approve", &id], &[("USER", "ro\u{200b}ot")], "login name"),
        (
            &["reject", &id, "--reviewer", "ada", "--reason", &long_note],
            &plain,
            "--reason: the note is 4001 characters long; at most 4000",
        ),
        (
            &["revise", &id, "--reviewer", "ada", "--note", &long_note],
            &plain,
            "--note: the note is 4001 characters long; at most 4000",
        ),
    ];
    for (args, env, says) in refused {
        let mut full = vec!["review"];
        full.extend_from_slice(args);
        let (code, stdout, stderr) = bootforge_env(&db, &full, env);
        assert_eq!(code, 2, "{args:?}: {stdout}\n{stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        if !says.contains("the note") {
            assert!(
                stderr.contains("at most 80 characters"),
                "{args:?}: {stderr}"
            );
        }
    }
    // The page's default name passes the same rule: `serve` refuses to start.
    let (code, stdout, stderr) = bootforge_env(
        &db,
        &["serve", "--bind", "127.0.0.1:0"],
        &[("BOOTFORGE_REVIEWER", "ada\u{7}")],
    );
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("BOOTFORGE_REVIEWER") && stderr.contains("at most 80 characters"),
        "{stderr}"
    );
    // Nothing was recorded.
    let (_, stdout, _) = bootforge(&db, &["review", "show", &id, "--json"]);
    let detail = one_json(&stdout);
    assert_eq!(detail["status"], "pending", "{detail}");
    assert_eq!(detail["decisions"], serde_json::json!([]));

    // At the limits, the decision is recorded as given (trimmed).
    let name = "é".repeat(80);
    let note = "n".repeat(4_000);
    let (code, stdout, stderr) = bootforge_env(
        &db,
        &[
            "review",
            "reject",
            &id,
            "--reviewer",
            &format!(" {name} "),
            "--reason",
            &note,
            "--json",
        ],
        &plain,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let row = one_json(&stdout);
    assert_eq!(
        (row["reviewer"].as_str(), row["note"].as_str()),
        (Some(name.as_str()), Some(note.as_str()))
    );
}
