//! The judge: author answers whose code mentions think
//! tags, quantitative junk findings with a guess baseline, checks a bootcamp
//! cannot tell from real use, the audit's speed and finding counts.

use crate::fake::{FakeReply, FakeRequest, FakeServer};
use serde_json::Value;

use crate::campaign::{bootforge, setup, solver};
use crate::util::{bin, read_bootcamp, repo_path};

/// A reasoning-model author: a think block first (mentioning the closing
/// tag it will strip), then the code, which itself holds `</think>` in its
/// extractor, its prompt and its reference answer.
fn thinking_author(_req: &FakeRequest) -> FakeReply {
    let code = read_bootcamp("campaign/think_merge.py");
    FakeReply::answer(format!(
        "<think>The verifier must ignore the reasoning, so extract_output splits on the closing \
         tag.\nA first sketch:\n```python\nparts = output.split('</think>')\n```\nGood.</think>\n\
         Here is the bootcamp.\n\n```python\n{code}```\n\nIt strips `</think>` before reading \
         [answer] tags."
    ))
}

#[test]
fn a_draft_whose_code_mentions_think_tags_is_accepted() {
    let server = FakeServer::start(|req: &FakeRequest| {
        if req.prompt.starts_with("You write bootcamps") {
            thinking_author(req)
        } else {
            solver(req)
        }
    })
    .unwrap();
    let s = setup(
        server.base_url(),
        &[(
            "think-merge",
            "Merge intervals; the model reasons in <think> tags first.",
        )],
        "",
    );
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let task = &result["tasks"][0];
    assert_eq!(task["status"], "accepted", "{result}");
    assert_eq!(
        task["generation"], 0,
        "the first drafts were good: {result}"
    );
}

struct Checked {
    code: i32,
    report: Value,
    stdout: String,
}

/// `bootforge check` on a judge test bootcamp (20 cases, the default), with
/// the fake solver when given.
fn check(name: &str, server: Option<&FakeServer>, json: bool) -> Checked {
    let path = repo_path(&format!("tests/bootcamps/judge/{name}"));
    let mut cmd = bin();
    cmd.arg("check").arg(&path);
    if json {
        cmd.arg("--json");
    }
    if let Some(server) = server {
        cmd.args(["--model", "fake-solver", "--base-url", server.base_url()]);
    }
    let out = cmd
        .env("OPENAI_API_KEY", "sk-test")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let report = if json {
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)))
    } else {
        Value::Null
    };
    Checked {
        code: out.status.code().unwrap(),
        report,
        stdout,
    }
}

fn findings(report: &Value, severity: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn strategy<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["metrics"]["discrimination"]["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["strategy"] == name)
        .unwrap_or_else(|| panic!("no strategy {name}: {report}"))
}

#[test]
fn every_strategy_runs_on_every_case_with_rates() {
    let run = check("fair_yes_no.py", None, true);
    assert_eq!(run.code, 0, "a fair yes/no task passes: {}", run.report);
    let d = &run.report["metrics"]["discrimination"];
    assert_eq!(d["cases"], 20);
    for s in d["strategies"].as_array().unwrap() {
        // Mutants exist only where the reference has their shape (a word
        // of three letters or more to swap, a number to move).
        if s["class"] != "near_miss" && s["class"] != "overbroad" {
            assert_eq!(s["cases"], 20, "{s}");
        }
        let (low, share, high) = (
            s["wilson_low"].as_f64().unwrap(),
            s["share"].as_f64().unwrap(),
            s["wilson_high"].as_f64().unwrap(),
        );
        assert!(low <= share && share <= high, "{s}");
    }
    for name in [
        "empty",
        "empty_answer_tags",
        "random_text",
        "other_case_answer",
        "reference_altered",
        "prompt_echo",
        "guess:yes",
        "guess:no",
    ] {
        strategy(&run.report, name);
    }
    // "yes" and "no" split the cases between them; the echo (whose format
    // example says yes) is a guess, not a leak.
    let yes = strategy(&run.report, "guess:yes")["full_credit"]
        .as_u64()
        .unwrap();
    let no = strategy(&run.report, "guess:no")["full_credit"]
        .as_u64()
        .unwrap();
    assert_eq!(yes + no, 20);
    assert_eq!(d["echo_leaks"], 0);
    let baseline = d["guess_baseline"]["share"].as_f64().unwrap();
    assert!((0.5..0.85).contains(&baseline), "{baseline}");
    assert_eq!(findings(&run.report, "warning"), ["guess_credit"]);
    assert!(findings(&run.report, "error").is_empty());
}

#[test]
fn a_fair_multiple_choice_task_passes_with_its_baseline() {
    let run = check("fair_choice.py", None, true);
    assert_eq!(run.code, 0, "{}", run.report);
    let baseline = run.report["metrics"]["discrimination"]["guess_baseline"]["share"]
        .as_f64()
        .unwrap();
    assert!(baseline > 0.0 && baseline < 0.7, "{baseline}");
    let letters: u64 = ["A", "B", "C", "D"]
        .iter()
        .map(|l| {
            strategy(&run.report, &format!("guess:{l}"))["full_credit"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(letters, 20, "exactly one letter is right on each case");
}

#[test]
fn leaks_constant_answers_and_junk_credit_fail_with_their_kind() {
    let leak = check("answer_in_prompt.py", None, true);
    assert_eq!(leak.code, 1);
    assert!(
        findings(&leak.report, "error").contains(&"answer_in_prompt".to_owned()),
        "{}",
        leak.report
    );
    assert_eq!(strategy(&leak.report, "prompt_echo")["full_credit"], 20);

    let constant = check("format_example_answer.py", None, true);
    assert_eq!(constant.code, 1);
    let errors = findings(&constant.report, "error");
    assert!(
        errors.contains(&"guessable".to_owned()),
        "{}",
        constant.report
    );
    assert_eq!(strategy(&constant.report, "guess:3 5 7")["full_credit"], 20);

    let empty = check("accepts_empty_tags.py", None, true);
    assert_eq!(empty.code, 1);
    // It also reads any non-number as 0: random text and guesses score too.
    assert!(findings(&empty.report, "error").contains(&"accepts_junk".to_owned()));
    let tags = strategy(&empty.report, "empty_answer_tags");
    assert_eq!(
        (tags["full_credit"].as_u64(), tags["class"].as_str()),
        (Some(20), Some("content_free"))
    );
    let finding = empty.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "accepts_junk" && f["evidence"]["junk"] == "empty_answer_tags")
        .unwrap();
    assert!(
        finding["message"].as_str().unwrap().contains("20 of 20"),
        "{finding}"
    );
}

#[test]
fn cheaters_that_tell_a_check_from_use_are_caught() {
    // Strict only after its reference_output ran: junk is scored elsewhere.
    let flag = check("stateful_flag.py", None, true);
    assert_eq!(flag.code, 1, "{}", flag.report);
    assert!(
        findings(&flag.report, "error").contains(&"accepts_junk".to_owned()),
        "{}",
        flag.report
    );
    assert_eq!(stage(&flag.report, "self_consistency"), "passed");

    // Rejects the fixed junk shapes only: fresh random junk and the reference
    // answer with another value get through.
    let shape = check("shape_cheater.py", None, true);
    assert_eq!(shape.code, 1, "{}", shape.report);
    assert!(findings(&shape.report, "error").contains(&"accepts_junk".to_owned()));
    assert!(
        strategy(&shape.report, "reference_altered")["full_credit"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Two checks build different junk.
    let again = check("shape_cheater.py", None, true);
    assert_ne!(
        shape.report["metrics"]["discrimination"]["junk_seed"],
        again.report["metrics"]["discrimination"]["junk_seed"]
    );
}

pub fn stage(report: &Value, name: &str) -> String {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == name)
        .map(|s| s["status"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// A solver that always says "yes": right about half the time on the prime
/// question, in the band, but no better than the guess baseline.
fn says_yes(_req: &FakeRequest) -> FakeReply {
    FakeReply::answer("<think>Primes are common enough.</think>Final: [answer]yes[/answer]")
}

#[test]
fn a_solver_no_better_than_guessing_has_no_headroom() {
    let server = FakeServer::start(says_yes).unwrap();
    let run = check("fair_yes_no.py", Some(&server), true);
    assert_eq!(run.code, 1, "{}", run.report);
    assert_eq!(findings(&run.report, "error"), ["no_headroom"]);
    let solver = &run.report["metrics"]["solver"];
    assert_eq!(solver["verdict"], "in_band");
    assert_eq!(solver["headroom"], false);
    assert!(solver["guess_baseline"].as_f64().unwrap() >= 0.5);
    // The human report shows both numbers.
    let human = check("fair_yes_no.py", Some(&server), false);
    assert!(
        human.stdout.contains("guess baseline") && human.stdout.contains("vs solver accuracy"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("guess:yes"), "{}", human.stdout);
}

/// The LIS prompt's sequence, if it is one.
fn lis_sequence(prompt: &str) -> Option<Vec<i64>> {
    let line = prompt
        .lines()
        .find(|l| l.contains("longest strictly increasing subsequence of: "))?;
    let seq = line.split(": ").nth(1)?;
    seq.split_whitespace().map(|x| x.parse().ok()).collect()
}

fn lis(seq: &[i64]) -> usize {
    let mut tails: Vec<i64> = Vec::new();
    for &x in seq {
        let i = tails.partition_point(|&t| t < x);
        if i == tails.len() {
            tails.push(x);
        } else {
            tails[i] = x;
        }
    }
    tails.len()
}

/// Author: a leaking first draft, a fixed refinement. Solver: right on about
/// three cases in four.
fn lis_script(req: &FakeRequest) -> FakeReply {
    if req.prompt.starts_with("You write bootcamps") {
        let name = if req.prompt.contains("# The current draft") {
            "judge/lis_fixed.py"
        } else {
            "judge/answer_in_prompt.py"
        };
        return FakeReply::answer(format!("```python\n{}```", read_bootcamp(name)));
    }
    let seq = lis_sequence(&req.prompt).unwrap_or_default();
    let right = lis(&seq);
    let sum: i64 = seq.iter().sum();
    let answer = if sum % 4 == 0 { right + 1 } else { right };
    FakeReply::answer(format!(
        "<think>Patience sorting gives the length.</think>The length is [answer]{answer}[/answer]"
    ))
}

#[test]
fn the_refine_prompt_names_the_strategy_and_cases_that_got_credit() {
    let server = FakeServer::start(lis_script).unwrap();
    let s = setup(
        server.base_url(),
        &[("lis", "Longest increasing subsequence length.")],
        "",
    );
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(result["tasks"][0]["status"], "accepted", "{result}");
    assert_eq!(result["tasks"][0]["generation"], 1, "{result}");
    let refine = server
        .requests()
        .into_iter()
        .find(|r| r.prompt.contains("# The current draft"))
        .expect("a refine prompt");
    assert!(
        refine.prompt.contains("answer_in_prompt")
            && refine.prompt.contains("prompt_echo")
            && refine.prompt.contains("seeds 0, 1, 2"),
        "{}",
        refine.prompt
    );
    // The stored evaluation carries both numbers.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(bootforge::store::Store::open(&s.db)).unwrap();
    let campaign = result["campaign"].as_i64().unwrap();
    let drafts = rt.block_on(store.drafts(campaign, "lis")).unwrap();
    let accepted = drafts.iter().find(|d| d.generation == 1).unwrap();
    let stored = rt
        .block_on(store.evaluation_report(accepted.id))
        .unwrap()
        .unwrap();
    let report: Value = serde_json::from_str(&stored).unwrap();
    let solver = &report["metrics"]["solver"];
    assert!(solver["accuracy"].as_f64().unwrap() > solver["guess_baseline"].as_f64().unwrap());
    assert_eq!(solver["headroom"], true);
    assert!(
        report["metrics"]["discrimination"]["strategies"]
            .as_array()
            .unwrap()
            .len()
            > 10
    );
    // Lineage shows the baseline beside the accuracy.
    let (code, stdout, _) = bootforge(
        &s.db,
        &[
            "lineage",
            "lis",
            "--campaign",
            &campaign.to_string(),
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let lineage: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let row = lineage["drafts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == accepted.id)
        .unwrap();
    assert_eq!(row["guess_baseline"], solver["guess_baseline"]);
    assert!(row["accuracy"].is_f64());
}

#[test]
fn a_32_bit_overflow_names_the_limit() {
    let source = crate::util::bootcamp_with_generator(
        "ids = random.sample(range(10**10), 3)\nreturn {\"ids\": ids}",
    );
    let report = crate::util::run(&source, 0..1, None);
    let err = report
        .error
        .expect("range(10**10) overflows a 32-bit ssize_t");
    assert_eq!(err.exc_type, "OverflowError");
    assert!(
        err.message.contains("32-bit") && err.message.contains("randrange"),
        "{}",
        err.message
    );
    // A plain OverflowError of the bootcamp's own keeps its message alone.
    let source = crate::util::bootcamp_with_generator("raise OverflowError(\"too big\")");
    let err = crate::util::run(&source, 0..1, None).error.unwrap();
    assert_eq!(err.message, "too big");
}

#[test]
fn environment_probes_are_warned_with_their_line() {
    let source = crate::util::bootcamp_with_generator(
        "if sys.platform == 'wasi':\n    return {\"n\": 1}\nreturn {\"n\": random.randint(1, 9)}",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probe.py");
    std::fs::write(&path, &source).unwrap();
    let out = bin()
        .arg("check")
        .arg(&path)
        .arg("--json")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let probe = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "environment_probe")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(probe["severity"], "warning");
    assert_eq!(probe["evidence"]["line"], 7, "{probe}");
    assert_eq!(probe["evidence"]["probe"], "sys.platform");
}

/// "The sum is N", right on about half the cases.
fn half_right_adder(req: &FakeRequest) -> FakeReply {
    let rest = req.prompt.split("What is ").nth(1).unwrap_or("0 + 0?");
    let (a, rest) = rest.split_once(" + ").unwrap_or(("0", "0?"));
    let b = rest.split('?').next().unwrap_or("0");
    let (a, b): (i64, i64) = (a.trim().parse().unwrap_or(0), b.trim().parse().unwrap_or(0));
    let answer = if (a + b) % 2 == 0 { a + b } else { a + b + 1 };
    FakeReply::answer(format!("The sum is [answer]{answer}[/answer]"))
}

#[test]
fn solver_answers_with_another_final_answer_are_junk_too() {
    let server = FakeServer::start(half_right_adder).unwrap();
    let run = check("solver_shaped.py", Some(&server), true);
    assert_eq!(run.code, 1, "{}", run.report);
    let junk = run.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "accepts_junk")
        .unwrap_or_else(|| panic!("{}", run.report));
    assert_eq!(junk["stage"], "solver");
    assert_eq!(junk["evidence"]["junk"], "solver_answer_altered");
    assert_eq!(junk["evidence"]["credited"], junk["evidence"]["tried"]);
}

#[test]
fn a_verifier_that_raises_on_every_answer_is_warned_about() {
    // Found by a new-user trial: such a bootcamp passed without a word.
    let out = check("verifier_raises.py", None, true);
    assert_eq!(out.code, 0, "a warning, not a failure: {}", out.report);
    assert!(
        findings(&out.report, "warning").contains(&"verifier_raises".to_owned()),
        "{}",
        out.report
    );
    let finding = out.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "verifier_raises")
        .unwrap();
    assert!(
        finding["evidence"]["first_error"]
            .as_str()
            .unwrap()
            .contains("KeyError"),
        "{finding}"
    );
    // A sound verifier that rejects junk gets no such warning.
    let sound = check("fair_yes_no.py", None, true);
    assert!(!findings(&sound.report, "warning").contains(&"verifier_raises".to_owned()));
}

#[test]
fn guesses_use_the_double_bracket_format_a_prompt_asks_for() {
    // Found by a new-user trial: no guess was written as [[yes]], so a task
    // whose answer is always "yes" passed with a guess baseline of 0.
    let out = check("double_bracket_always_yes.py", None, true);
    assert_eq!(out.code, 1, "{}", out.report);
    assert!(
        findings(&out.report, "error").contains(&"guessable".to_owned()),
        "{}",
        out.report
    );
    assert_eq!(strategy(&out.report, "guess:yes")["full_credit"], 20);
}
