//! Reproducibility: the same file, params and seed give byte-identical cases,
//! even for bootcamps that reach for unseeded randomness, the clock or the OS.

use crate::util::{self, read_bootcamp, run};

#[test]
fn same_seeds_give_identical_cases_within_a_process() {
    let source = read_bootcamp("entropy.py");
    let a = run(&source, 0..5, None);
    let b = run(&source, 0..5, None);
    assert!(a.error.is_none(), "{:?}", a.error);
    let ja: Vec<&str> = a.cases().map(|c| &*c.case_json).collect();
    let jb: Vec<&str> = b.cases().map(|c| &*c.case_json).collect();
    assert_eq!(ja, jb);
}

#[test]
fn each_seed_is_reproducible_on_its_own() {
    // Global random, os.urandom, uuid4 and the clock are reset for every
    // case, so a seed gives the same values whatever ran before it in the run.
    let source = read_bootcamp("entropy.py");
    let long = run(&source, 0..6, None);
    let alone = run(&source, 5..6, None);
    let from_long = &long.cases().last().unwrap().case_value();
    let from_alone = &alone.cases().next().unwrap().case_value();
    for key in [
        "global",
        "system",
        "urandom",
        "uuid",
        "time",
        "monotonic",
        "perf",
        "set_order",
    ] {
        assert_eq!(from_long[key], from_alone[key], "{key}");
    }
}

#[test]
fn different_seeds_give_different_cases() {
    let source = read_bootcamp("entropy.py");
    let report = run(&source, 0..4, None);
    let cases: Vec<serde_json::Value> = report.cases().map(|c| c.case_value()).collect();
    for key in ["global", "system", "urandom", "uuid"] {
        let distinct: std::collections::HashSet<String> =
            cases.iter().map(|c| c[key].to_string()).collect();
        assert_eq!(distinct.len(), 4, "{key} should differ between seeds");
    }
    // The clock is virtual: it starts at the same instant for every case.
    assert_eq!(cases[0]["time"], cases[3]["time"]);
}

#[test]
fn json_lines_are_byte_identical_across_processes() {
    let file = util::repo_path("tests/bootcamps/entropy.py");
    let run_once = || {
        let out = util::bin()
            .args([
                "sandbox",
                "run",
                "--json",
                "--cases",
                "4",
                "--seed",
                "100",
                "--answer",
                "[answer]1[/answer]",
            ])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        // Everything but the summary, which carries timings.
        text.lines()
            .filter(|l| !l.starts_with("{\"summary\""))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let first = run_once();
    assert_eq!(first.len(), 4);
    assert_eq!(first, run_once());
}
