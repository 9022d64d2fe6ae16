//! Integrity against hostile bootcamps: what the host keeps,
//! copies and shows of a guest's output is bounded and exact, and guest text
//! cannot take over a terminal. (The compiled-code attack is in
//! `sandbox_isolation`; memory targets are measured by the benchmarks,
//! `cargo bench --bench bootforge`.)

use crate::util::{bin, repo_path};

fn bootforge(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().expect("running bootforge");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn hostile(name: &str) -> String {
    repo_path(&format!("tests/bootcamps/hostile/{name}"))
        .display()
        .to_string()
}

#[test]
fn big_integers_stay_exact_from_guest_to_json_output() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bigint.py");
    std::fs::write(
        &file,
        crate::util::bootcamp_with_generator(
            "return {'n': 910996981214243194829, 'neg': -(2**70) - 1, 'ok': 5}",
        ),
    )
    .unwrap();
    let file = file.display().to_string();
    let (code, stdout, stderr) = bootforge(&["sandbox", "run", &file, "--json", "--cases", "1"]);
    assert_eq!(code, 0, "{stderr}");
    let line = stdout.lines().next().unwrap();
    assert!(line.contains("910996981214243194829"), "{line}");
    assert!(line.contains("-1180591620717411303425"), "{line}");
    assert!(!line.contains("e+20"), "{line}");
    // Still one valid JSON object per line.
    let parsed: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(parsed["case"]["ok"], 5);
    let (_, human, _) = bootforge(&["sandbox", "run", &file, "--cases", "1"]);
    assert!(human.contains("910996981214243194829"), "{human}");
}

#[test]
fn escape_sequences_from_a_guest_never_reach_the_terminal_raw() {
    let file = hostile("escapes.py");
    let (code, stdout, stderr) = bootforge(&["check", &file]);
    assert_eq!(
        code, 1,
        "the raising verifier fails the check:\n{stdout}\n{stderr}"
    );
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(
            !text.contains('\x1b') && !text.contains('\r') && !text.contains('\x07'),
            "raw control characters on {name}:\n{text:?}"
        );
    }
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert!(
        stdout.contains("\\u001b[1A"),
        "the escape is shown, visibly: {stdout}"
    );

    let (code, stdout, stderr) = bootforge(&["sandbox", "run", &file, "--cases", "1"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains('\x1b') && !stdout.contains('\x07') && !stdout.contains('\u{202e}'));
    assert!(stdout.contains("\\u001b]52;c;"), "{stdout}");
    assert!(stdout.contains("\\u202e"), "{stdout}");

    // --json stays valid JSON and keeps the exact text.
    let (_, stdout, _) = bootforge(&["sandbox", "run", &file, "--cases", "1", "--json"]);
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    let prompt = first["prompt"].as_str().unwrap();
    assert!(prompt.starts_with("\x1b]52;c;") && prompt.contains('\u{202e}'));
}

#[test]
fn a_case_over_the_cap_is_refused_by_the_host_whatever_the_guest_says() {
    // The bootcamp raises the harness's own cap and sends a 16 MiB case.
    let file = hostile("raise_cap.py");
    let (code, stdout, _) = bootforge(&["sandbox", "run", &file, "--json", "--cases", "1"]);
    assert_eq!(code, 1);
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let error = &summary["summary"]["error"];
    assert_eq!(error["kind"], "invalid_output", "{summary}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("--max-case-bytes"),
        "the error names the flag that raises the cap: {summary}"
    );
    // The flag raises it.
    let (code, _, stderr) = bootforge(&[
        "sandbox",
        "run",
        &file,
        "--json",
        "--cases",
        "1",
        "--max-case-bytes",
        "20000000",
    ]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_reply_over_the_cap_is_refused_before_it_is_copied() {
    let file = hostile("huge_reply.py");
    let (code, stdout, _) = bootforge(&["sandbox", "run", &file, "--json", "--cases", "1"]);
    assert_eq!(code, 1);
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let error = &summary["summary"]["error"];
    assert_eq!(error["kind"], "invalid_output", "{summary}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("104857600 bytes"),
        "{summary}"
    );
}
