//! Campaign ownership, resume-equals-undisturbed, schedules and the daemon,
//! through the real binary, a real SQLite file, the real sandbox and the
//! scripted fake OpenAI server.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fake::{FakeReply, FakeRequest, FakeServer};
use bootforge::campaign::status::{DraftStatus, TaskStatus};
use bootforge::store::Store;
use serde_json::Value;

use crate::campaign::{EXAMPLE_TASKS, Setup, both, setup};
use crate::util::{bin, repo_path};

const INTERVAL_MERGE: (&str, &str) = EXAMPLE_TASKS[1];
const ONE_DRAFT: &str = "[evolution]\ndrafts_per_task = 1\nchildren_per_parent = 1\nparents_per_generation = 1\nmax_generations = 3\n";

fn command(db: &Path, args: &[&str], now: Option<&str>) -> Command {
    let mut cmd = bin();
    cmd.arg("--db")
        .arg(db)
        .args(args)
        .env_remove("OPENAI_BASE_URL")
        .env_remove("BOOTFORGE_DB")
        .env_remove("BOOTFORGE_NOW")
        .env_remove("BOOTFORGE_LOG");
    if let Some(now) = now {
        cmd.env("BOOTFORGE_NOW", now);
    }
    cmd
}

fn run(db: &Path, args: &[&str], now: Option<&str>) -> (i32, String, String) {
    let out = command(db, args, now).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn spawn(db: &Path, args: &[&str], now: Option<&str>, log: &Path) -> Child {
    command(db, args, now)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn finish(child: Child, log: &Path) -> (i32, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        std::fs::read_to_string(log).unwrap_or_default(),
    )
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn store(db: &Path) -> (tokio::runtime::Runtime, Store) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(Store::open(db)).unwrap();
    (rt, store)
}

/// Wait (polling, no timing assertion) until `ready`, failing after 3 minutes
/// or when `child` ends first.
fn wait_until(what: &str, child: &mut Option<&mut Child>, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    loop {
        if ready() {
            return;
        }
        if let Some(child) = child.as_mut()
            && let Some(status) = child.try_wait().unwrap()
        {
            panic!("the process ended ({status}) before {what}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stored_calls(db: &Path, campaign: i64) -> usize {
    if !db.exists() {
        return 0;
    }
    let (rt, store) = store(db);
    rt.block_on(store.calls(campaign))
        .map(|c| c.len())
        .unwrap_or(0)
}

fn lease_expired(db: &Path, campaign: i64) -> bool {
    let (rt, store) = store(db);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    rt.block_on(store.lease(campaign))
        .unwrap()
        .is_none_or(|l| l.expires_ms <= now)
}

fn statuses(db: &Path, campaign: i64) -> Vec<TaskStatus> {
    let (rt, store) = store(db);
    let tasks = rt.block_on(store.tasks(campaign)).unwrap();
    tasks.iter().map(|t| t.status).collect()
}

fn slow(delay_ms: u64) -> FakeServer {
    FakeServer::start(move |req| {
        FakeReply::Delay(Duration::from_millis(delay_ms), Box::new(both(req)))
    })
    .unwrap()
}

/// One process at a time. A live holder refuses `resume` (exit 1,
/// naming it); after `kill -9` the campaign shows as interrupted; two
/// resumes at once: one works, one is refused, and the fake server sees no
/// duplicate call.
#[test]
fn a_campaign_is_worked_on_by_one_process_at_a_time() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    // While `hold` is set, answers take 8 s: the resume that wins cannot
    // finish before the other one has tried, however loaded the machine is.
    let hold = Arc::new(AtomicBool::new(false));
    let server = {
        let hold = hold.clone();
        FakeServer::start(move |req| {
            let ms = if hold.load(Ordering::SeqCst) {
                8000
            } else {
                300
            };
            FakeReply::Delay(Duration::from_millis(ms), Box::new(both(req)))
        })
        .unwrap()
    };
    let s = setup(server.base_url(), &EXAMPLE_TASKS, "");
    // Room for the held answers (a timeout would retry: a second request).
    let text = std::fs::read_to_string(&s.config).unwrap();
    std::fs::write(&s.config, text.replace("timeout_s = 5", "timeout_s = 60")).unwrap();
    let config = s.config.to_str().unwrap();
    let log = s.dir.path().join("run.log");
    let mut holder = spawn(&s.db, &["campaign", "run", config, "--json"], None, &log);
    wait_until("a call is stored", &mut Some(&mut holder), || {
        stored_calls(&s.db, 1) >= 1
    });
    // From here answers are held, so the holder cannot finish the campaign
    // before the next resume has been refused, however loaded the machine.
    hold.store(true, Ordering::SeqCst);

    let (code, _, stderr) = run(&s.db, &["campaign", "resume", "1"], None);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("being worked on by another process")
            && stderr.contains(&format!("pid {}", holder.id())),
        "{stderr}"
    );
    let (_, stdout, _) = run(&s.db, &["campaign", "status", "1", "--json"], None);
    assert_eq!(json_lines(&stdout)[0]["status"], "running");

    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();
    let calls_at_kill = stored_calls(&s.db, 1);
    let requests_at_kill = server.requests().len();
    // Its pid is gone: interrupted, with the way to continue.
    let (_, stdout, _) = run(&s.db, &["campaign", "status", "1", "--json"], None);
    let status = &json_lines(&stdout)[0];
    assert_eq!(status["status"], "interrupted", "{status}");
    assert!(
        status["hint"]
            .as_str()
            .unwrap()
            .contains("bootforge campaign resume 1")
    );
    let (_, stdout, _) = run(&s.db, &["campaign", "list", "--json"], None);
    assert_eq!(json_lines(&stdout)[0]["status"], "interrupted");
    let (_, human, _) = run(&s.db, &["campaign", "list"], None);
    assert!(
        human.contains("interrupted") && human.contains("campaign resume 1"),
        "{human}"
    );

    // Two resumes at once. The dead holder's lease (60 s) has not expired:
    // its pid is gone on this host, so it is taken over at once, by one.
    let (log_a, log_b) = (s.dir.path().join("a.log"), s.dir.path().join("b.log"));
    let mut a = spawn(&s.db, &["campaign", "resume", "1", "--json"], None, &log_a);
    let mut b = spawn(&s.db, &["campaign", "resume", "1", "--json"], None, &log_b);
    wait_until("one resume is refused", &mut None, || {
        a.try_wait().unwrap().is_some() || b.try_wait().unwrap().is_some()
    });
    hold.store(false, Ordering::SeqCst);
    let mut results = [finish(a, &log_a), finish(b, &log_b)];
    results.sort_by_key(|r| r.0);
    let [(ok, stdout, _), (refused, _, why)] = results;
    assert_eq!((ok, refused), (0, 1), "{why}");
    assert!(why.contains("being worked on by another process"), "{why}");
    assert!(
        json_lines(&stdout).last().unwrap()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "accepted"),
        "{stdout}"
    );
    // Every request after the kill is a call stored now: the refused process
    // sent none, and no finished call was asked again.
    let calls = stored_calls(&s.db, 1);
    assert_eq!(
        server.requests().len(),
        calls + (requests_at_kill - calls_at_kill),
        "a call was sent twice"
    );
    let (_, stdout, _) = run(&s.db, &["campaign", "status", "1", "--json"], None);
    assert_eq!(json_lines(&stdout)[0]["status"], "done");
}

/// With `drafts_per_task = 3`, a campaign killed after one
/// sibling's evaluation was stored evaluates the others after resuming and
/// accepts the draft an undisturbed run accepts.
#[test]
fn a_resumed_campaign_decides_as_an_undisturbed_one() {
    // Three samples of one prompt; the author marks each answer with its
    // repeat count, and the solver answers variant 0 at once and the others
    // slowly, so one sibling is evaluated well before the other two.
    let script = |req: &FakeRequest| {
        let reply = both(req);
        if req.prompt.starts_with("You write bootcamps") {
            let FakeReply::Answer { content, reasoning } = reply else {
                return reply;
            };
            let content = content.replace(
                "\"Put the final integer",
                &format!("\"(variant {}) Put the final integer", req.repeat),
            );
            return FakeReply::Answer { content, reasoning };
        }
        if req.prompt.contains("(variant 0)") {
            reply
        } else {
            FakeReply::Delay(Duration::from_millis(2500), Box::new(reply))
        }
    };
    let evo = "[evolution]\ndrafts_per_task = 3\nchildren_per_parent = 1\nparents_per_generation = 1\nmax_generations = 2\n";
    let accepted_sample = |s: &Setup| {
        let (rt, store) = store(&s.db);
        let task = &rt.block_on(store.tasks(1)).unwrap()[0];
        let drafts = rt.block_on(store.drafts(1, "interval-merge")).unwrap();
        for d in &drafts {
            assert_eq!(
                d.status,
                DraftStatus::Evaluated,
                "draft {} left {}",
                d.id,
                d.status
            );
        }
        let accepted = task.accepted_draft.expect("accepted");
        let passing: Vec<i64> = drafts
            .iter()
            .filter(|d| d.verdict.as_deref() == Some("pass"))
            .map(|d| d.id)
            .collect();
        assert_eq!(
            Some(&accepted),
            passing.iter().min(),
            "the lowest passing id"
        );
        let d = drafts.iter().find(|d| d.id == accepted).unwrap();
        (d.generation, d.sample, drafts.len())
    };

    let server = FakeServer::start(script).unwrap();
    let undisturbed = setup(server.base_url(), &[INTERVAL_MERGE], evo);
    let (code, _, stderr) = run(
        &undisturbed.db,
        &[
            "campaign",
            "run",
            undisturbed.config.to_str().unwrap(),
            "--json",
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let expected = accepted_sample(&undisturbed);
    assert_eq!(expected.2, 3);

    let server = FakeServer::start(script).unwrap();
    let s = setup(server.base_url(), &[INTERVAL_MERGE], evo);
    let log = s.dir.path().join("run.log");
    let mut child = spawn(
        &s.db,
        &[
            "campaign",
            "run",
            s.config.to_str().unwrap(),
            "--json",
            "--lease-s",
            "1",
        ],
        None,
        &log,
    );
    wait_until("one sibling is evaluated", &mut Some(&mut child), || {
        s.db.exists() && {
            let (rt, store) = store(&s.db);
            rt.block_on(store.counts(1))
                .map(|c| c.evaluated)
                .unwrap_or(0)
                >= 1
        }
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let (rt, st) = store(&s.db);
    let drafts = rt.block_on(st.drafts(1, "interval-merge")).unwrap();
    let left = drafts
        .iter()
        .filter(|d| d.status != DraftStatus::Evaluated)
        .count();
    assert!(
        left >= 1,
        "the kill came after every evaluation: {drafts:?}"
    );
    drop((rt, st));

    wait_until("the lease expires", &mut None, || lease_expired(&s.db, 1));
    let (code, _, stderr) = run(&s.db, &["campaign", "resume", "1", "--json"], None);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        accepted_sample(&s),
        expected,
        "resumed and undisturbed runs differ"
    );
}

/// An evaluation that asks the solver the same prompt twice at
/// once sends it once: an undisturbed campaign sends exactly one request per
/// stored call.
#[test]
fn identical_requests_in_flight_are_sent_once() {
    fn weekday(prompt: &str) -> Option<(usize, usize)> {
        const DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        let rest = prompt.split("Today is ").nth(1)?;
        let (day, rest) = rest.split_once(". Which weekday is it ")?;
        let shift: usize = rest.split(' ').next()?.parse().ok()?;
        Some((DAYS.iter().position(|d| *d == day)?, shift))
    }
    let server = FakeServer::start(|req| {
        let p = &req.prompt;
        if p.starts_with("You write bootcamps") {
            let code =
                std::fs::read_to_string(repo_path("tests/bootcamps/schedule/weekday_shift.py"))
                    .unwrap();
            return FakeReply::answer(format!("Here it is.\n\n```python\n{code}```\n"));
        }
        const DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        let (day, shift) = weekday(p).unwrap_or((0, 1));
        // Right when day + shift is even: about half the time.
        let answer = if (day + shift) % 2 == 0 {
            (day + shift) % 7
        } else {
            (day + shift + 1) % 7
        };
        FakeReply::Delay(
            Duration::from_millis(200),
            Box::new(FakeReply::answer(format!(
                "<think>Counting {shift} days on from day {day}.</think>\n[answer]{}[/answer]",
                DAYS[answer]
            ))),
        )
    })
    .unwrap();
    let s = setup(
        server.base_url(),
        &[(
            "weekday-shift",
            "# Weekday shift\n\nWhich weekday comes k days (1 to 3) after a given weekday?",
        )],
        ONE_DRAFT,
    );
    let (code, stdout, stderr) = run(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
        None,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (rt, store) = store(&s.db);
    let calls = rt.block_on(store.calls(1)).unwrap();
    let solver = calls.iter().filter(|c| c.role == "solver").count();
    // 12 solver cases over 21 possible cases: some prompts repeat, and the
    // repeats were one call each.
    assert!(solver > 0 && solver < 12, "{solver} solver calls stored");
    assert_eq!(
        server.requests().len(),
        calls.len(),
        "a request was sent twice"
    );
}

fn add_schedule(
    s: &Setup,
    name: &str,
    cron: &str,
    extra: &[&str],
    now: &str,
) -> (i32, String, String) {
    let mut args = vec![
        "schedule",
        "add",
        name,
        "--cron",
        cron,
        "--campaign",
        s.config.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&s.db, &args, Some(now))
}

fn history(db: &Path, name: &str) -> Vec<Value> {
    let (code, stdout, stderr) = run(db, &["schedule", "history", name, "--json"], None);
    assert_eq!(code, 0, "{stderr}");
    json_lines(&stdout)
}

/// Bad cron expressions, zones and configs are refused at `add` with the
/// reason (exit 2); a good one prints its next three runs in its zone.
#[test]
fn schedules_are_checked_when_added() {
    let s = setup("http://127.0.0.1:9/v1", &[INTERVAL_MERGE], ONE_DRAFT);
    let now = "2026-03-07T12:00:00Z";
    let (code, _, stderr) = add_schedule(&s, "n", "0 25 * * *", &[], now);
    assert_eq!(code, 2);
    assert!(stderr.contains("hour field \"25\""), "{stderr}");
    let (code, _, stderr) = add_schedule(&s, "n", "0 2 * *", &[], now);
    assert_eq!(code, 2);
    assert!(stderr.contains("4 fields"), "{stderr}");
    // Schedfix 4: never fires, empty list item, non-standard extensions.
    for (cron, says) in [
        ("0 2 30 2 *", "never"),
        ("0,,5 2 * * *", "empty list item"),
        ("0 2 ? * *", "only standard 5-field cron"),
        ("0 2 L * *", "day of month field \"L\""),
    ] {
        let (code, _, stderr) = add_schedule(&s, "n", cron, &[], now);
        assert_eq!(code, 2, "{cron}: {stderr}");
        assert!(stderr.contains(says), "{cron}: {stderr}");
    }
    let (code, _, stderr) =
        add_schedule(&s, "n", "0 2 * * *", &["--timezone", "Mars/Olympus"], now);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown time zone \"Mars/Olympus\""),
        "{stderr}"
    );
    let (code, _, stderr) = run(
        &s.db,
        &[
            "schedule",
            "add",
            "n",
            "--cron",
            "0 2 * * *",
            "--campaign",
            "/nonexistent/nightly.toml",
        ],
        Some(now),
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("not usable") && stderr.contains("nightly.toml"),
        "{stderr}"
    );
    let broken = s.dir.path().join("broken.toml");
    std::fs::write(&broken, "name = \"x\"\ncolour = \"blue\"\n").unwrap();
    let (code, _, stderr) = run(
        &s.db,
        &[
            "schedule",
            "add",
            "n",
            "--cron",
            "0 2 * * *",
            "--campaign",
            broken.to_str().unwrap(),
        ],
        Some(now),
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("colour"), "{stderr}");

    // Across New York's spring-forward night: the 02:30 slot of 2026-03-08
    // does not exist and runs at 03:00 EDT.
    let (code, stdout, stderr) = add_schedule(
        &s,
        "nightly",
        "30 2 * * *",
        &["--timezone", "America/New_York", "--json"],
        now,
    );
    assert_eq!(code, 0, "{stderr}");
    let added = &json_lines(&stdout)[0];
    assert_eq!(
        added["next"],
        serde_json::json!([
            "2026-03-08T03:00:00-04:00[America/New_York]",
            "2026-03-09T02:30:00-04:00[America/New_York]",
            "2026-03-10T02:30:00-04:00[America/New_York]"
        ])
    );
    let (code, _, stderr) = add_schedule(&s, "nightly", "0 3 * * *", &[], now);
    assert_eq!(code, 2);
    assert!(stderr.contains("exists"), "{stderr}");

    // A task directory with no task yet is accepted (tasks arrive during the
    // day); a slot that finds none is recorded as skipped.
    let empty = setup("http://127.0.0.1:9/v1", &[], ONE_DRAFT);
    let (code, _, stderr) = add_schedule(&empty, "later", "0 * * * *", &["--timezone", "UTC"], now);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("no task yet"), "{stderr}");
    let (code, _, stderr) = run(
        &empty.db,
        &["daemon", "--once"],
        Some("2026-03-07T13:00:05Z"),
    );
    assert_eq!(code, 0, "{stderr}");
    let runs = history(&empty.db, "later");
    assert_eq!(
        (runs.len(), runs[0]["status"].as_str()),
        (1, Some("skipped")),
        "{runs:?}"
    );
    assert!(
        runs[0]["reason"].as_str().unwrap().contains("no task in"),
        "{runs:?}"
    );

    // Pause, resume, rm, and their refusals.
    let (code, _, _) = run(&s.db, &["schedule", "pause", "nightly"], None);
    assert_eq!(code, 0);
    let (_, stdout, _) = run(&s.db, &["schedule", "list", "--json"], Some(now));
    let listed = &json_lines(&stdout)[0];
    assert_eq!(
        (
            listed["paused"].as_bool(),
            listed["next"].as_array().map(Vec::len)
        ),
        (Some(true), Some(0))
    );
    let (code, _, _) = run(&s.db, &["schedule", "resume", "nightly"], Some(now));
    assert_eq!(code, 0);
    let (code, stdout, _) = run(&s.db, &["schedule", "show", "nightly"], Some(now));
    assert_eq!(code, 0);
    assert!(
        stdout.contains("2026-03-08T03:00:00-04:00[America/New_York]"),
        "{stdout}"
    );
    let (code, _, stderr) = run(&s.db, &["schedule", "pause", "weekly"], None);
    assert_eq!(code, 2);
    assert!(stderr.contains("no schedule \"weekly\""), "{stderr}");
    let (code, _, _) = run(&s.db, &["schedule", "rm", "nightly"], None);
    assert_eq!(code, 0);
    let (code, _, _) = run(&s.db, &["schedule", "rm", "nightly"], None);
    assert_eq!(code, 2);
}

/// Two daemons on one database after five hours of downtime: the hourly
/// schedule runs once (catch-up once), not once per missed slot and not once
/// per daemon; the `skip` schedule records its slot as skipped with the
/// reason; a later daemon at the same time starts nothing.
#[test]
fn two_daemons_run_a_caught_up_slot_once() {
    let server = FakeServer::start(both).unwrap();
    let s = setup(server.base_url(), &[INTERVAL_MERGE], ONE_DRAFT);
    let (code, _, stderr) = add_schedule(
        &s,
        "hourly",
        "0 * * * *",
        &["--timezone", "Europe/Berlin"],
        "2026-05-01T00:00:30Z",
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = add_schedule(
        &s,
        "strict",
        "0 * * * *",
        &["--timezone", "UTC", "--catch-up", "skip"],
        "2026-05-01T00:00:30Z",
    );
    assert_eq!(code, 0, "{stderr}");

    let now = Some("2026-05-01T05:20:00Z");
    let (log_a, log_b) = (s.dir.path().join("a.log"), s.dir.path().join("b.log"));
    let a = spawn(&s.db, &["daemon", "--once"], now, &log_a);
    let b = spawn(&s.db, &["daemon", "--once"], now, &log_b);
    let (code_a, _, err_a) = finish(a, &log_a);
    let (code_b, _, err_b) = finish(b, &log_b);
    assert_eq!((code_a, code_b), (0, 0), "{err_a}\n{err_b}");

    let runs = history(&s.db, "hourly");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["slot"], "2026-05-01T07:00:00+02:00[Europe/Berlin]");
    assert_eq!(runs[0]["status"], "done");
    assert_eq!(runs[0]["accepted"], 1);
    assert!(
        runs[0]["reason"]
            .as_str()
            .unwrap()
            .contains("caught up once for 4 missed"),
        "{runs:?}"
    );
    assert!(runs[0]["llm_calls"].as_i64().unwrap() > 0);
    let skipped = history(&s.db, "strict");
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0]["status"], "skipped");
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("catch_up = skip"),
        "{skipped:?}"
    );

    let campaign = runs[0]["campaign"].as_i64().unwrap();
    let (rt, store) = store(&s.db);
    assert_eq!(rt.block_on(store.campaigns()).unwrap().len(), 1);
    assert_eq!(
        server.requests().len(),
        rt.block_on(store.calls(campaign)).unwrap().len()
    );
    drop((rt, store));

    // Nothing more is due at that time.
    let (code, _, stderr) = run(&s.db, &["daemon", "--once"], now);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(history(&s.db, "hourly").len(), 1);
    // The next slot runs on time, with the task directory as it is then
    // (a task arrived), and a removed schedule keeps its history.
    std::fs::write(
        s.dir.path().join("tasks").join("digit-sum.md"),
        EXAMPLE_TASKS[0].1,
    )
    .unwrap();
    let (code, _, stderr) = run(&s.db, &["daemon", "--once"], Some("2026-05-01T06:00:10Z"));
    assert_eq!(code, 0, "{stderr}");
    let runs = history(&s.db, "hourly");
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (runs[1]["status"].as_str(), runs[1]["accepted"].as_i64()),
        (Some("done"), Some(2)),
        "{runs:?}"
    );
    assert_eq!(history(&s.db, "strict").last().unwrap()["status"], "done");
    let (code, _, _) = run(&s.db, &["schedule", "rm", "hourly"], None);
    assert_eq!(code, 0);
    assert_eq!(history(&s.db, "hourly").len(), 2);
    let (_, status, _) = run(
        &s.db,
        &["daemon", "status", "--json"],
        Some("2026-05-01T06:01:00Z"),
    );
    let status = &json_lines(&status)[0];
    assert_eq!(status["running"].as_array().unwrap().len(), 0, "{status}");
    assert!(
        status["daemons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["alive"] == false),
        "{status}"
    );
}

/// `kill -9` of a daemon mid-campaign: a slot that comes while its run is
/// going is skipped with the reason, and a new daemon takes the run over once
/// its lease expired and resumes the same campaign, repeating no finished
/// LLM call.
#[test]
fn a_daemon_killed_mid_campaign_is_taken_over() {
    let server = slow(300);
    let s = setup(server.base_url(), &EXAMPLE_TASKS, "");
    let (code, _, stderr) = add_schedule(
        &s,
        "minutely",
        "* * * * *",
        &["--timezone", "UTC"],
        "2026-05-01T01:59:30Z",
    );
    assert_eq!(code, 0, "{stderr}");
    let log = s.dir.path().join("daemon.log");
    // A long lease: a daemon on this host whose pid is gone is taken over
    // at once; one that is only slow (a loaded machine) keeps its run.
    let mut daemon = spawn(
        &s.db,
        &["daemon", "--lease-s", "30", "--tick-ms", "200"],
        Some("2026-05-01T02:00:50Z"),
        &log,
    );
    wait_until(
        "the daemon's campaign stores a call",
        &mut Some(&mut daemon),
        || stored_calls(&s.db, 1) >= 1,
    );
    let (code, stdout, _) = run(&s.db, &["daemon", "status", "--json"], None);
    assert_eq!(code, 0);
    let status = &json_lines(&stdout)[0];
    assert_eq!(status["running"][0]["schedule"], "minutely", "{status}");
    assert!(
        status["running"][0]["holder"]
            .as_str()
            .unwrap()
            .contains(&format!("pid {}", daemon.id())),
        "{status}"
    );
    assert!(status["daemons"][0]["alive"].as_bool().unwrap(), "{status}");
    // The next slot comes while the run goes on: skipped, not run twice.
    let (code, _, stderr) = run(&s.db, &["daemon", "--once"], Some("2026-05-01T02:01:05Z"));
    assert_eq!(code, 0, "{stderr}");
    let runs = history(&s.db, "minutely");
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[1]["status"], "skipped");
    assert!(
        runs[1]["reason"].as_str().unwrap().contains("still going"),
        "{runs:?}"
    );

    daemon.kill().unwrap();
    daemon.wait().unwrap();
    // Killed: not shown as running, by either output (its heartbeat is
    // still fresh, its pid is gone).
    let (code, stdout, _) = run(&s.db, &["daemon", "status", "--json"], None);
    assert_eq!(code, 0);
    let status = &json_lines(&stdout)[0];
    assert_eq!(status["daemons"][0]["alive"], false, "{status}");
    let (code, stdout, _) = run(&s.db, &["daemon", "status"], None);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("daemon: none running") && !stdout.contains("daemon: running"),
        "{stdout}"
    );
    let calls_at_kill = stored_calls(&s.db, 1);
    let requests_at_kill = server.requests().len();
    assert!(
        statuses(&s.db, 1).contains(&TaskStatus::Running),
        "the campaign ended before the kill"
    );

    // The 02:02 slot comes due while this daemon takes the run over: it is
    // recorded as skipped, not lost.
    let (code, _, stderr) = run(
        &s.db,
        &["daemon", "--once", "--lease-s", "30"],
        Some("2026-05-01T02:02:30Z"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("taking over"), "{stderr}");
    let runs = history(&s.db, "minutely");
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert_eq!(runs[2]["status"], "skipped", "{runs:?}");
    assert!(
        runs[2]["reason"].as_str().unwrap().contains("interrupted"),
        "{runs:?}"
    );
    assert_eq!(
        (runs[0]["campaign"].as_i64(), runs[0]["status"].as_str()),
        (Some(1), Some("done"))
    );
    let (rt, store) = store(&s.db);
    assert_eq!(
        rt.block_on(store.campaigns()).unwrap().len(),
        1,
        "no new campaign"
    );
    drop((rt, store));
    assert!(
        statuses(&s.db, 1)
            .iter()
            .all(|t| *t == TaskStatus::Accepted)
    );
    assert_eq!(
        server.requests().len(),
        stored_calls(&s.db, 1) + (requests_at_kill - calls_at_kill),
        "a finished call was repeated"
    );
}

/// SIGTERM: no new work, a grace period, exit 0, and a campaign that the
/// next daemon resumes; the daemon logs to a daily file beside the database.
#[test]
fn sigterm_leaves_a_resumable_campaign_and_exits_0() {
    let server = slow(400);
    let s = setup(server.base_url(), &EXAMPLE_TASKS, "");
    let (code, _, stderr) = add_schedule(
        &s,
        "nightly",
        "0 2 * * *",
        &["--timezone", "UTC"],
        "2026-05-01T01:59:00Z",
    );
    assert_eq!(code, 0, "{stderr}");
    let log = s.dir.path().join("daemon.log");
    let mut daemon = spawn(
        &s.db,
        &[
            "daemon",
            "--grace-s",
            "0.2",
            "--lease-s",
            "2",
            "--tick-ms",
            "200",
        ],
        Some("2026-05-01T02:00:00Z"),
        &log,
    );
    wait_until(
        "the daemon's campaign stores a call",
        &mut Some(&mut daemon),
        || stored_calls(&s.db, 1) >= 1,
    );
    let killed = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (code, _, stderr) = finish(daemon, &log);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    let calls_at_stop = stored_calls(&s.db, 1);
    let requests_at_stop = server.requests().len();

    let (_, stdout, _) = run(&s.db, &["campaign", "status", "1", "--json"], None);
    let status = &json_lines(&stdout)[0];
    assert!(
        matches!(status["status"].as_str(), Some("stopped" | "interrupted")),
        "{status}"
    );
    assert!(
        status["hint"]
            .as_str()
            .unwrap()
            .contains("campaign resume 1"),
        "{status}"
    );
    assert_eq!(history(&s.db, "nightly")[0]["status"], "running");

    // The next daemon resumes it (the lease was given up: no wait).
    let (code, _, stderr) = run(&s.db, &["daemon", "--once"], Some("2026-05-01T02:01:00Z"));
    assert_eq!(code, 0, "{stderr}");
    let runs = history(&s.db, "nightly");
    assert_eq!(
        (runs.len(), runs[0]["status"].as_str()),
        (1, Some("done")),
        "{runs:?}"
    );
    assert!(
        statuses(&s.db, 1)
            .iter()
            .all(|t| *t == TaskStatus::Accepted)
    );
    assert_eq!(
        server.requests().len(),
        stored_calls(&s.db, 1) + (requests_at_stop - calls_at_stop),
        "a finished call was repeated"
    );
    let logs: Vec<_> = std::fs::read_dir(s.dir.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let text = std::fs::read_to_string(&logs[0]).unwrap();
    assert!(
        text.contains("daemon started") && text.contains("SIGTERM") && text.contains("run ended"),
        "{text}"
    );
}

/// A holder on another host cannot be checked for life: its lease is
/// trusted until it expires, then taken over.
#[test]
fn another_hosts_lease_is_taken_over_once_it_expires() {
    let server = FakeServer::start(both).unwrap();
    let s = setup(server.base_url(), &[INTERVAL_MERGE], ONE_DRAFT);
    let (code, _, stderr) = run(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let (rt, st) = store(&s.db);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let remote = bootforge::store::LeaseHolder {
        host: "build-2".into(),
        pid: 1,
        started_at: "2026-11-28T02:00:00Z".into(),
        token: "build-2:1:test".into(),
        expires_ms: now + 3000,
    };
    assert_eq!(
        rt.block_on(st.acquire_lease(1, &remote, now)).unwrap(),
        None
    );
    drop((rt, st));
    let (code, _, stderr) = run(&s.db, &["campaign", "resume", "1"], None);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("host build-2 pid 1"), "{stderr}");
    wait_until("the remote lease expires", &mut None, || {
        lease_expired(&s.db, 1)
    });
    let (code, _, stderr) = run(&s.db, &["campaign", "resume", "1", "--json"], None);
    assert_eq!(code, 0, "{stderr}");
    let (rt, store) = store(&s.db);
    assert_eq!(
        rt.block_on(store.lease(1)).unwrap(),
        None,
        "released at the end"
    );
}

/// Schedfix 1: after SIGTERM no queued call is sent. With one call at a time
/// per role, an evaluation queues its solver cases behind the first; the
/// daemon used to send them all (and sit out the whole grace period), now it
/// sends none of them and exits once the calls in flight have answered.
#[test]
fn sigterm_sends_no_queued_call() {
    let server = slow(700);
    let s = setup(server.base_url(), &EXAMPLE_TASKS, "task_concurrency = 1");
    let text = std::fs::read_to_string(&s.config).unwrap();
    std::fs::write(
        &s.config,
        text.replace("timeout_s = 5\n", "timeout_s = 5\nconcurrency = 1\n"),
    )
    .unwrap();
    let (code, _, stderr) = add_schedule(
        &s,
        "nightly",
        "0 2 * * *",
        &["--timezone", "UTC"],
        "2026-05-01T01:59:00Z",
    );
    assert_eq!(code, 0, "{stderr}");
    let log = s.dir.path().join("daemon.log");
    let mut daemon = spawn(
        &s.db,
        &["daemon", "--grace-s", "120", "--tick-ms", "200"],
        Some("2026-05-01T02:00:00Z"),
        &log,
    );
    let solver_asked = || {
        server
            .requests()
            .iter()
            .any(|r| !r.prompt.starts_with("You write bootcamps"))
    };
    wait_until(
        "the daemon's campaign asks the solver",
        &mut Some(&mut daemon),
        solver_asked,
    );
    let sent_at_signal = server.requests().len();
    let killed = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (code, _, stderr) = finish(daemon, &log);
    assert_eq!(code, 0, "{stderr}");
    let sent_after = server.requests().len() - sent_at_signal;
    // At most one call per role can have been on its way while the signal
    // was delivered; the queued solver cases (11) must not be sent.
    assert!(
        sent_after <= 2,
        "{sent_after} requests were sent after SIGTERM\n{stderr}"
    );
    // Its calls answered within the grace period: nothing abandoned, and
    // the run it stopped is counted as left resumable.
    assert!(
        stderr.contains("1 run(s) started or resumed, 1 left resumable\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("grace period over"), "{stderr}");
    let (_, stdout, _) = run(&s.db, &["campaign", "status", "1", "--json"], None);
    let status = &json_lines(&stdout)[0];
    assert!(
        matches!(status["status"].as_str(), Some("stopped" | "interrupted")),
        "{status}"
    );
}

/// Schedfix 3: `daemon --once` runs everything due now, queued behind
/// `--max-parallel`, and records each; it used to run two of three and exit.
#[test]
fn once_runs_every_due_schedule_behind_the_parallel_limit() {
    let server = FakeServer::start(both).unwrap();
    let s = setup(server.base_url(), &EXAMPLE_TASKS[..1], ONE_DRAFT);
    for name in ["a", "b", "c"] {
        let (code, _, stderr) = add_schedule(
            &s,
            name,
            "0 2 * * *",
            &["--timezone", "UTC"],
            "2026-05-01T01:00:00Z",
        );
        assert_eq!(code, 0, "{stderr}");
    }
    let (code, _, stderr) = run(
        &s.db,
        &["daemon", "--once", "--max-parallel", "2"],
        Some("2026-05-01T02:00:30Z"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("3 run(s) started"), "{stderr}");
    for name in ["a", "b", "c"] {
        let runs = history(&s.db, name);
        assert_eq!(runs.len(), 1, "{name}: {runs:?}");
        assert_eq!(runs[0]["status"], "done", "{name}: {runs:?}");
    }
    // Nothing more is due at that instant: a second --once starts nothing.
    let (code, _, stderr) = run(&s.db, &["daemon", "--once"], Some("2026-05-01T02:00:40Z"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("0 run(s) started"), "{stderr}");
}

/// Schedfix 6 and 7: a schedule re-added under a removed one's name starts
/// with no history; a zone given in the wrong case is stored canonically; a
/// `TZ` that is no time zone is warned about, not silently UTC.
#[test]
fn a_re_added_schedule_does_not_inherit_history() {
    let s = setup("http://127.0.0.1:9/v1", &[], ONE_DRAFT);
    let (code, _, stderr) = add_schedule(
        &s,
        "n",
        "0 2 * * *",
        &["--timezone", "europe/berlin"],
        "2026-04-30T23:00:00Z",
    );
    assert_eq!(code, 0, "{stderr}");
    let (_, stdout, _) = run(&s.db, &["schedule", "list", "--json"], None);
    assert_eq!(
        json_lines(&stdout)[0]["timezone"],
        "Europe/Berlin",
        "{stdout}"
    );
    // No task yet: the slot is recorded as skipped.
    let (code, _, stderr) = run(&s.db, &["daemon", "--once"], Some("2026-05-01T00:00:30Z"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(history(&s.db, "n").len(), 1);
    let (code, _, stderr) = run(&s.db, &["schedule", "rm", "n"], None);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(history(&s.db, "n").len(), 1, "rm keeps the history");

    let mut add = command(
        &s.db,
        &[
            "schedule",
            "add",
            "n",
            "--cron",
            "30 4 * * *",
            "--campaign",
            s.config.to_str().unwrap(),
        ],
        Some("2026-05-02T00:00:00Z"),
    );
    let out = add.env("TZ", "Nowhere/Atlantis").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("Nowhere/Atlantis") && stderr.contains("UTC"),
        "{stderr}"
    );
    assert!(history(&s.db, "n").is_empty(), "{:?}", history(&s.db, "n"));
    let (code, stdout, stderr) = run(&s.db, &["schedule", "show", "n", "--json"], None);
    assert_eq!(code, 0, "{stderr}");
    let shown = &json_lines(&stdout)[0];
    assert_eq!(shown["recent"], Value::Array(vec![]), "{shown}");
    assert_eq!(shown["schedule"]["timezone"], "UTC", "{shown}");
    let (_, stdout, _) = run(&s.db, &["schedule", "list", "--json"], None);
    assert!(json_lines(&stdout)[0]["last"].is_null(), "{stdout}");
}

/// Schedfix 2 through the binary: two slots in the spring-forward gap run
/// once, at the end of the gap, and `schedule add` lists them so.
#[test]
fn two_slots_in_a_dst_gap_are_listed_once_after_it() {
    let s = setup("http://127.0.0.1:9/v1", &[], ONE_DRAFT);
    let (code, stdout, stderr) = add_schedule(
        &s,
        "two",
        "0,30 2 * * *",
        &["--timezone", "Europe/Berlin", "--json"],
        "2027-03-27T12:00:00Z",
    );
    assert_eq!(code, 0, "{stderr}");
    let added = &json_lines(&stdout)[0];
    assert_eq!(
        added["next"],
        serde_json::json!([
            "2027-03-28T03:00:00+02:00[Europe/Berlin]",
            "2027-03-29T02:00:00+02:00[Europe/Berlin]",
            "2027-03-29T02:30:00+02:00[Europe/Berlin]"
        ]),
        "{added}"
    );
}

/// Following the hint a SIGTERM leaves: `campaign resume` by hand finishes
/// the campaign, its run shows as done (history, `daemon status`), and the
/// next slot runs instead of being skipped as "being resumed". The daemon's
/// summary counts the run it left resumable.
#[test]
fn a_run_finished_by_hand_frees_the_next_slot() {
    let server = slow(400);
    let s = setup(server.base_url(), &EXAMPLE_TASKS, "");
    let (code, _, stderr) = add_schedule(
        &s,
        "nightly",
        "0 3 * * *",
        &["--timezone", "UTC"],
        "2026-05-01T02:59:00Z",
    );
    assert_eq!(code, 0, "{stderr}");
    let log = s.dir.path().join("daemon.log");
    let mut daemon = spawn(
        &s.db,
        &[
            "daemon",
            // Long enough for the calls in flight: the campaign stops on
            // the signal rather than being abandoned.
            "--grace-s",
            "60",
            "--lease-s",
            "2",
            "--tick-ms",
            "200",
        ],
        Some("2026-05-01T03:00:00Z"),
        &log,
    );
    wait_until(
        "the daemon's campaign stores a call",
        &mut Some(&mut daemon),
        || stored_calls(&s.db, 1) >= 1,
    );
    let killed = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (code, _, stderr) = finish(daemon, &log);
    assert_eq!(code, 0, "{stderr}");
    // Stopped by the signal (no call abandoned), the run still counts.
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("daemon stopped (SIGTERM)"))
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    assert!(
        summary.ends_with("1 run(s) started or resumed, 1 left resumable"),
        "{summary}"
    );
    assert_eq!(history(&s.db, "nightly")[0]["status"], "running");

    // The hint `campaign status` prints, followed by hand.
    let (_, stdout, _) = run(&s.db, &["campaign", "status", "1", "--json"], None);
    let hint = json_lines(&stdout)[0]["hint"].as_str().unwrap().to_owned();
    assert!(hint.contains("bootforge campaign resume 1"), "{hint}");
    let (code, _, stderr) = run(&s.db, &["campaign", "resume", "1", "--json"], None);
    assert_eq!(code, 0, "{stderr}");
    let runs = history(&s.db, "nightly");
    assert_eq!(
        (runs.len(), runs[0]["status"].as_str()),
        (1, Some("done")),
        "{runs:?}"
    );
    let (code, stdout, stderr) = run(&s.db, &["daemon", "status", "--json"], None);
    assert_eq!(code, 0, "{stderr}");
    let status = &json_lines(&stdout)[0];
    assert_eq!(status["running"], Value::Array(vec![]), "{status}");
    assert_eq!(status["schedules"][0]["last"]["status"], "done", "{status}");

    // The next slot runs: a new campaign, not a skip.
    let (code, _, stderr) = run(&s.db, &["daemon", "--once"], Some("2026-05-02T03:00:30Z"));
    assert_eq!(code, 0, "{stderr}");
    let runs = history(&s.db, "nightly");
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(
        (runs[1]["status"].as_str(), runs[1]["campaign"].as_i64()),
        (Some("done"), Some(2)),
        "{runs:?}"
    );
}

/// A schedule added again under a removed one's name, with a start before
/// the old one's last slot (a rehearsal with a later `BOOTFORGE_NOW`), runs
/// that slot itself and shows none of the old history. A config broken
/// later fails its slot with the TOML error on one history line.
#[test]
fn a_schedule_added_again_before_the_old_ones_slot_runs_it() {
    let server = FakeServer::start(both).unwrap();
    let s = setup(server.base_url(), &[INTERVAL_MERGE], ONE_DRAFT);
    let add = |now| add_schedule(&s, "n", "0 3 * * *", &["--timezone", "UTC"], now);
    let (code, _, stderr) = add("2026-05-01T02:50:00Z");
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(&s.db, &["daemon", "--once"], Some("2026-05-01T03:00:30Z"));
    assert_eq!(code, 0, "{stderr}");
    let runs = history(&s.db, "n");
    assert_eq!(
        (runs.len(), runs[0]["status"].as_str()),
        (1, Some("done")),
        "{runs:?}"
    );
    let (code, _, stderr) = run(&s.db, &["schedule", "rm", "n"], None);
    assert_eq!(code, 0, "{stderr}");

    let (code, _, stderr) = add("2026-05-01T02:55:00Z");
    assert_eq!(code, 0, "{stderr}");
    assert!(history(&s.db, "n").is_empty(), "{:?}", history(&s.db, "n"));
    let (code, _, stderr) = run(&s.db, &["daemon", "--once"], Some("2026-05-01T03:00:30Z"));
    assert_eq!(code, 0, "{stderr}");
    let runs = history(&s.db, "n");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        (runs[0]["status"].as_str(), runs[0]["campaign"].as_i64()),
        (Some("done"), Some(2)),
        "{runs:?}"
    );

    std::fs::write(&s.config, "[author\nmodel = \n").unwrap();
    let (code, _, stderr) = run(&s.db, &["daemon", "--once"], Some("2026-05-02T03:00:30Z"));
    assert_eq!(code, 0, "{stderr}");
    let runs = history(&s.db, "n");
    let reason = runs[1]["reason"].as_str().unwrap();
    assert_eq!(runs[1]["status"], "failed", "{runs:?}");
    assert!(
        reason.contains("TOML parse error") && reason.contains('\n'),
        "{reason}"
    );
    let (code, stdout, stderr) = run(&s.db, &["schedule", "history", "n"], None);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[1].contains("failed")
            && lines[1].contains("TOML parse error at line 1")
            && lines[1].contains("expected `]`"),
        "{stdout}"
    );
}
