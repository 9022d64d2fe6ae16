//! Many cases per guest call: the same records as one call per case, and
//! budgets, ceilings and verdicts still per case.

use std::time::Duration;

use bootforge::sandbox::{
    BudgetKind, Call, CallResult, CaseResult, ErrorKind, RunReport, RunSpec, Stage,
};

use crate::util::{bootcamp_with_generator, quick_limits, read_bootcamp, sandbox, spec};

fn run(mut spec: RunSpec, case_batch: usize) -> RunReport {
    spec.case_batch = case_batch;
    sandbox().run_blocking(spec)
}

/// Seed, case JSON, round-trip flag, prompt, score, stdout, stderr.
type Record = (u64, String, bool, String, Option<f64>, String, String);

/// Everything a case record carries, timings aside.
fn records(report: &RunReport) -> Vec<Record> {
    report
        .cases()
        .map(|c: &CaseResult| {
            (
                c.seed,
                c.case_json.to_string(),
                c.roundtrip_equal,
                c.prompt.clone(),
                c.score,
                c.stdout.clone(),
                c.stderr.clone(),
            )
        })
        .collect()
}

fn calls_per_stage(report: &RunReport) -> Vec<(Stage, u32)> {
    report.cpu.iter().map(|s| (s.stage, s.calls)).collect()
}

#[test]
fn a_batch_gives_the_same_records_as_one_call_per_case() {
    // Unseeded random, os.urandom, uuid4 and the clock: each step of a batch
    // must start from the world its own call would have started from.
    let entropy = read_bootcamp("entropy.py");
    let printing = bootcamp_with_generator(
        "print('case', random.randint(0, 99))\nprint('warn', file=sys.stderr)\nreturn {'n': random.random(), 't': time.time()}",
    );
    for (source, answer) in [
        (&entropy, None),
        (&entropy, Some("[answer]1[/answer]")),
        (&printing, Some("[answer]x[/answer]")),
    ] {
        let make = || {
            let mut s = spec(source, 10..23, answer);
            s.limits = quick_limits();
            s
        };
        // The first run of a file in a process compiles it in its instance
        // before loading, and an unseeded generator made at load time
        // (`random.Random()` in `__init__`) then starts elsewhere than in
        // later runs: both runs compared here load from the code cache.
        let _ = run(make(), 1);
        // 13 cases in batches of 5: full batches and a short last one.
        let batched = run(make(), 5);
        let single = run(make(), 1);
        assert!(batched.error.is_none(), "{:?}", batched.error);
        assert!(single.error.is_none(), "{:?}", single.error);
        assert_eq!(batched.cases().count(), 13);
        assert_eq!(records(&batched), records(&single), "answer {answer:?}");
        assert_eq!(calls_per_stage(&batched), calls_per_stage(&single));
        if answer.is_some() {
            assert!(batched.cases().all(|c| c.score.is_some()));
        }
    }
}

/// The fourth case of the run (counted by the instance) does `body`; the
/// others return at once.
fn fourth_case_does(body: &str) -> String {
    let body: String = body.lines().map(|l| format!("    {l}\n")).collect();
    bootcamp_with_generator(&format!(
        "self.count = getattr(self, 'count', 0) + 1\nif self.count == 4:\n{body}return {{'n': random.randint(1, 9), 'count': self.count}}"
    ))
}

#[test]
fn one_slow_case_in_a_batch_is_that_cases_timeout() {
    let mut s = spec(&fourth_case_does("while True:\n    pass"), 0..8, None);
    s.limits.timeout = Duration::from_millis(300);
    // A ceiling no busy test machine reaches first.
    s.limits.wall_timeout = Some(Duration::from_secs(120));
    let report = run(s, 8);
    // The three cases before it are kept, as with one call per case.
    let seeds: Vec<u64> = report.cases().map(|c| c.seed).collect();
    assert_eq!(seeds, [0, 1, 2]);
    let err = report.error.expect("the fourth case never ends");
    assert_eq!((err.kind, err.stage), (ErrorKind::Timeout, Stage::Generate));
    let used = err.budget.expect("a timeout says what it used");
    assert_eq!(used.ended_by, BudgetKind::Cpu, "{used:?}");
    assert_eq!(used.budget_ms, 300.0);
    assert!(err.message.contains("CPU budget"), "{}", err.message);
    // Four generate steps: three answered, one stopped.
    let generate = report.cpu.iter().find(|c| c.stage == Stage::Generate);
    assert_eq!(generate.map(|g| g.calls), Some(4), "{:?}", report.cpu);
}

#[test]
fn a_sleeping_case_in_a_batch_ends_on_its_own_wall_ceiling() {
    let mut s = spec(&fourth_case_does("time.sleep(10**6)"), 0..8, None);
    s.limits.timeout = Duration::from_millis(200);
    s.limits.wall_timeout = Some(Duration::from_millis(600));
    let report = run(s, 8);
    assert_eq!(report.cases().count(), 3);
    let err = report.error.expect("the fourth case sleeps forever");
    assert_eq!((err.kind, err.stage), (ErrorKind::Timeout, Stage::Generate));
    assert_eq!(
        err.budget.map(|b| b.ended_by),
        Some(BudgetKind::Wall),
        "{}",
        err.message
    );
}

#[test]
fn the_wall_ceiling_of_a_batch_is_per_case() {
    // Fifteen cases that each wait 0.1 s: together well past the 1 s
    // ceiling, each far below it.
    let source = bootcamp_with_generator("time.sleep(0.1)\nreturn {'n': random.randint(1, 9)}");
    let mut s = spec(&source, 0..15, Some("[answer]1[/answer]"));
    s.limits.timeout = Duration::from_millis(500);
    s.limits.wall_timeout = Some(Duration::from_secs(1));
    let report = run(s, 15);
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.cases().count(), 15);
}

#[test]
fn a_failing_verifier_in_a_batch_fails_at_the_verify_stage() {
    let mut s = spec(
        &crate::util::bootcamp_with_verifier("raise SystemExit(3)"),
        0..6,
        Some("[answer]1[/answer]"),
    );
    s.limits = quick_limits();
    // Fill the code cache: the first run of a file also compiles it.
    let _ = run(s.clone(), 1);
    let batched = run(s.clone(), 6);
    let single = run(s, 1);
    assert_eq!(records(&batched), records(&single));
    assert_eq!(calls_per_stage(&batched), calls_per_stage(&single));
    let (a, b) = (batched.error.expect("exits"), single.error.expect("exits"));
    assert_eq!((a.kind, a.stage), (b.kind, b.stage));
    assert_eq!(a.stage, Stage::Verify);
    assert_eq!(a.message, b.message);
}

#[test]
fn scorings_in_a_batch_match_one_call_each_up_to_the_first_failure() {
    // A verifier that prints, draws from the OS and the clock, and ends the
    // interpreter on one answer.
    let source = crate::util::bootcamp_with_verifier(
        "print('checking', solution, os.urandom(2).hex(), time.time())\nif solution == 'boom':\n    raise SystemExit(2)\nreturn str(identity['n']) == solution",
    );
    let calls = |answers: &[&str]| -> Vec<Call> {
        answers
            .iter()
            .enumerate()
            .map(|(i, answer)| Call::Score {
                identity: format!("{{\"n\": {}}}", i % 3).into(),
                answer: format!("[answer]{answer}[/answer]"),
            })
            .collect()
    };
    let scores = |r: &RunReport| -> Vec<String> {
        r.results
            .iter()
            .map(|c| match c {
                CallResult::Score(s) => format!("{} {:?} {:?}", s.score, s.stdout, s.stderr),
                other => format!("{other:?}"),
            })
            .collect()
    };
    for answers in [
        &["0", "1", "5", "0", "1", "2", "x"][..],
        &["0", "1", "boom", "0", "1"][..],
    ] {
        let mut s = RunSpec::new("probe.py", source.clone());
        s.limits = quick_limits();
        s.calls = calls(answers);
        // Fill the code cache: the first run of a file also compiles it.
        let _ = run(s.clone(), 1);
        let batched = run(s.clone(), 4);
        let single = run(s, 1);
        assert_eq!(scores(&batched), scores(&single));
        assert_eq!(
            batched
                .error
                .as_ref()
                .map(|e| (e.kind, e.stage, e.message.clone())),
            single
                .error
                .as_ref()
                .map(|e| (e.kind, e.stage, e.message.clone()))
        );
        assert_eq!(calls_per_stage(&batched), calls_per_stage(&single));
    }
}
