//! Python semantics and InternBootcamp compatibility, in the real sandbox.

use bootforge::sandbox::{Call, CallResult, ErrorKind, RunSpec, Stage};
use serde_json::{Value, json};

use crate::util::{self, bootcamp_with_generator, read_bootcamp, run, sandbox};

/// The best knapsack choice for a case of `knapsack_compat.py`, by brute force.
fn knapsack_answer(case: &Value) -> String {
    let items = case["items"].as_array().unwrap();
    let capacity = case["capacity"].as_i64().unwrap();
    let mut best = (-1, Vec::new());
    for mask in 0u32..(1 << items.len()) {
        let chosen: Vec<&Value> = (0..items.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| &items[i])
            .collect();
        let weight: i64 = chosen.iter().map(|it| it["weight"].as_i64().unwrap()).sum();
        let value: i64 = chosen.iter().map(|it| it["value"].as_i64().unwrap()).sum();
        if weight <= capacity && value > best.0 {
            best = (
                value,
                chosen
                    .iter()
                    .map(|it| it["name"].as_str().unwrap().to_owned())
                    .collect(),
            );
        }
    }
    best.1.join(",")
}

fn score_of(
    source: &str,
    params: Value,
    flags: Value,
    seed: u64,
    answer_for: impl Fn(&Value) -> String,
) -> f64 {
    let mut spec = RunSpec::new("knapsack_compat.py", source).cases([seed], None);
    spec.params = params.as_object().unwrap().clone();
    let report = sandbox().run_blocking(spec.clone());
    assert!(report.error.is_none(), "{:?}", report.error);
    let case = report.cases().next().unwrap();
    let answer = answer_for(&case.case_value());
    spec.calls = vec![Call::Score {
        identity: case.case_json.clone(),
        answer,
    }];
    spec.score_flags = flags.as_object().unwrap().clone();
    let report = sandbox().run_blocking(spec);
    assert!(report.error.is_none(), "{:?}", report.error);
    match &report.results[0] {
        CallResult::Score(s) => s.score,
        other => panic!("expected a score, got {other:?}"),
    }
}

#[test]
fn intern_style_bootcamp_generates_prompts_and_scores() {
    let source = read_bootcamp("knapsack_compat.py");
    let report = run(&source, 0..5, None);
    assert!(report.error.is_none(), "{:?}", report.error);
    let loaded = report.loaded.as_ref().unwrap();
    assert_eq!(loaded.class, "Knapsackbootcamp");
    assert_eq!(report.cases().count(), 5);
    for case in report.cases() {
        assert_eq!(case.case_value()["items"].as_array().unwrap().len(), 6);
        assert!(case.prompt.contains("[answer]A,C[/answer]"));
        assert!(case.roundtrip_equal);
        assert_eq!(case.score, None);
    }
    let none = json!({});
    let right = |c: &Value| format!("[answer]{}[/answer]", knapsack_answer(c));
    assert_eq!(score_of(&source, json!({}), none.clone(), 3, right), 1.0);
    // Everything: overweight or not optimal, so False.
    let all = |c: &Value| {
        let names: Vec<&str> = c["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        format!("[answer]{}[/answer]", names.join(","))
    };
    assert_eq!(score_of(&source, json!({}), none.clone(), 3, all), 0.0);
    // format_score: granted once something was extracted, even if wrong...
    assert_eq!(
        score_of(&source, json!({}), json!({"format_score": 0.1}), 3, all),
        0.1
    );
    // ...but not when nothing could be extracted.
    assert_eq!(
        score_of(&source, json!({}), json!({"format_score": 0.1}), 3, |_| {
            "no tags".into()
        }),
        0.0
    );
}

#[test]
fn float_verdicts_and_score_flags_follow_internbootcamp() {
    let source = read_bootcamp("knapsack_compat.py");
    // _verify_correction returning a float is the score.
    let first_only = |c: &Value| {
        format!(
            "[answer]{}[/answer]",
            knapsack_answer(c).split(',').next().unwrap()
        )
    };
    let partial = score_of(
        &source,
        json!({"partial_credit": true}),
        json!({}),
        1,
        first_only,
    );
    assert!(partial > 0.0 && partial < 1.0, "partial credit {partial}");

    let right = |c: &Value| format!("[answer]{}[/answer]", knapsack_answer(c));
    let think = |c: &Value| {
        format!(
            "<think>{}</think>{}",
            "reasoning ".repeat(30),
            right(c).repeat(10)
        )
    };
    // short_penalty: the answer part after </think> must reach ans_threshold.
    let short = json!({"short_penalty": true});
    assert_eq!(score_of(&source, json!({}), short.clone(), 2, right), 0.0);
    assert_eq!(score_of(&source, json!({}), short, 2, think), 1.0);
    let scaled = score_of(
        &source,
        json!({}),
        json!({"short_penalty": true, "short_threshold": 10, "ans_threshold": 1000}),
        2,
        think,
    );
    assert!(scaled > 0.0 && scaled < 1.0, "scaled {scaled}");
    // format_penalty: exactly one think block, at the start, not at the end.
    let fmt = json!({"format_penalty": true});
    assert_eq!(score_of(&source, json!({}), fmt.clone(), 2, right), 0.0);
    assert_eq!(score_of(&source, json!({}), fmt.clone(), 2, think), 1.0);
    let ends_in_think = |c: &Value| format!("<think>{}</think>", right(c));
    assert_eq!(score_of(&source, json!({}), fmt, 2, ends_in_think), 0.0);
}

#[test]
fn all_three_import_paths_resolve_to_basebootcamp() {
    for import in [
        "from bootcamp import Basebootcamp",
        "from bootcamp.base import Basebootcamp",
        "from internbootcamp.bootcamp.base import Basebootcamp",
    ] {
        let source = bootcamp_with_generator("return {'n': 1}")
            .replace("from bootcamp import Basebootcamp", import);
        let report = run(&source, 0..1, Some("[answer]1[/answer]"));
        assert!(report.error.is_none(), "{import}: {:?}", report.error);
        assert_eq!(report.cases().next().unwrap().score, Some(1.0), "{import}");
    }
}

#[test]
fn class_choice_and_params() {
    let source = read_bootcamp("multi_class.py");
    let report = run(&source, 0..1, None);
    let err = report.error.unwrap();
    assert_eq!((err.kind, err.stage), (ErrorKind::Load, Stage::Load));
    assert!(
        err.message.contains("Firstbootcamp") && err.message.contains("Secondbootcamp"),
        "{}",
        err.message
    );

    let mut spec = util::spec(&source, 0..1, None);
    spec.class = Some("Secondbootcamp".into());
    let report = sandbox().run_blocking(spec.clone());
    assert_eq!(
        report.cases().next().unwrap().case_value(),
        json!({"which": "second"})
    );
    assert_eq!(
        report.loaded.unwrap().classes,
        vec!["Firstbootcamp", "Secondbootcamp"]
    );

    spec.class = Some("Thirdbootcamp".into());
    let err = sandbox().run_blocking(spec).error.unwrap();
    assert_eq!(err.kind, ErrorKind::Load);
    assert!(err.message.contains("Thirdbootcamp"), "{}", err.message);

    // Params reach __init__; an unknown one is the bootcamp's TypeError.
    let knapsack = read_bootcamp("knapsack_compat.py");
    let mut spec = util::spec(&knapsack, 0..1, None);
    spec.params = json!({"n_items": 3}).as_object().unwrap().clone();
    let report = sandbox().run_blocking(spec.clone());
    assert_eq!(
        report.cases().next().unwrap().case_value()["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    spec.params = json!({"no_such_param": 3}).as_object().unwrap().clone();
    let err = sandbox().run_blocking(spec).error.unwrap();
    assert_eq!(
        (err.kind, err.stage, err.exc_type.as_str()),
        (ErrorKind::Exception, Stage::Init, "TypeError")
    );
}

#[test]
fn load_failures_are_typed() {
    let cases = [
        ("class Broken(:\n", "SyntaxError"),
        ("import sympy_is_not_bundled\n", "ModuleNotFoundError"),
        ("x = 1\n", ""),
    ];
    for (source, exc_type) in cases {
        let err = run(source, 0..1, None).error.expect(source);
        assert_eq!(
            (err.kind, err.stage),
            (ErrorKind::Load, Stage::Load),
            "{source}"
        );
        assert_eq!(err.exc_type, exc_type, "{source}");
    }
    let err = run("raise ValueError('at import')\n", 0..1, None)
        .error
        .unwrap();
    assert_eq!(
        (err.kind, err.stage, err.exc_type.as_str()),
        (ErrorKind::Exception, Stage::Load, "ValueError")
    );
    assert!(err.traceback.contains("at import"), "{}", err.traceback);
}

#[test]
fn exceptions_in_each_stage_carry_type_message_and_traceback() {
    let source = bootcamp_with_generator("return {'n': 1 // (random.randint(0, 0))}");
    let err = run(&source, 0..1, None).error.unwrap();
    assert_eq!(
        (err.kind, err.stage, err.exc_type.as_str()),
        (ErrorKind::Exception, Stage::Generate, "ZeroDivisionError")
    );
    assert!(
        err.traceback.contains("probe.py") && err.traceback.contains("case_generator"),
        "{}",
        err.traceback
    );

    let source = bootcamp_with_generator("return {'n': 1}")
        .replace("return \"Answer as", "return undefined_name + \"");
    let err = run(&source, 0..1, None).error.unwrap();
    assert_eq!(
        (err.kind, err.stage, err.exc_type.as_str()),
        (ErrorKind::Exception, Stage::Prompt, "NameError")
    );

    let source = bootcamp_with_generator("return {'n': 1}")
        .replace("    @classmethod\n    def _verify_correction", "    @classmethod\n    def verify_score(cls, *a, **k):\n        raise KeyError('boom')\n\n    @classmethod\n    def _unused");
    let err = run(&source, 0..1, Some("x")).error.unwrap();
    assert_eq!(
        (err.kind, err.stage, err.exc_type.as_str()),
        (ErrorKind::Exception, Stage::Verify, "KeyError")
    );
}

#[test]
fn unusable_results_are_invalid_output() {
    let err = run(&bootcamp_with_generator("return {'s': {1, 2}}"), 0..1, None)
        .error
        .unwrap();
    assert_eq!(
        (err.kind, err.stage),
        (ErrorKind::InvalidOutput, Stage::Generate)
    );
    assert!(err.message.contains("JSON"), "{}", err.message);
    let err = run(
        &bootcamp_with_generator("return {'x': float('nan')}"),
        0..1,
        None,
    )
    .error
    .unwrap();
    assert_eq!(
        (err.kind, err.stage),
        (ErrorKind::InvalidOutput, Stage::Generate)
    );

    let source = bootcamp_with_generator("return {'n': 1}").replace(
        "return \"Answer as [answer]x[/answer]: \" + str(identity)",
        "return 42",
    );
    let err = run(&source, 0..1, None).error.unwrap();
    assert_eq!(
        (err.kind, err.stage),
        (ErrorKind::InvalidOutput, Stage::Prompt)
    );

    let source = bootcamp_with_generator("return {'n': 1}")
        .replace("    @classmethod\n    def _verify_correction", "    @classmethod\n    def verify_score(cls, *a, **k):\n        return float('nan')\n\n    @classmethod\n    def _unused");
    let err = run(&source, 0..1, Some("x")).error.unwrap();
    assert_eq!(
        (err.kind, err.stage),
        (ErrorKind::InvalidOutput, Stage::Verify)
    );
}

#[test]
fn tuples_and_int_keys_are_flagged_by_the_round_trip() {
    let report = run(
        &bootcamp_with_generator("return {'pair': (1, 2), 'by_id': {3: 'x'}}"),
        0..1,
        None,
    );
    let case = report.cases().next().unwrap();
    assert!(!case.roundtrip_equal);
    assert_eq!(
        case.case_value(),
        json!({"pair": [1, 2], "by_id": {"3": "x"}})
    );
    // The prompt sees the round-tripped case, as a trainer reading JSONL would.
    assert!(case.prompt.contains("'3': 'x'"), "{}", case.prompt);
}

#[test]
fn the_whole_standard_library_is_bundled() {
    let body = r#"import base64, bisect, calendar, collections, copy, csv, dataclasses, datetime, decimal
import difflib, enum, fractions, functools, hashlib, heapq, html, itertools, json, math, operator
import queue, re, statistics, string, struct, textwrap, typing, unicodedata, uuid, zlib, array
import ast, graphlib, numbers, pprint, secrets, shlex, contextlib, abc, io, cmath, colorsys
import xml.etree.ElementTree as ET, email.utils, urllib.parse, concurrent.futures, asyncio
import threading, subprocess, signal
lock = threading.Lock()
with lock:
    pass
try:
    subprocess.run(["ls"])
    started = True
except OSError:
    started = False
return {
    "decimal": str(decimal.Decimal("1.1") + decimal.Decimal("2.2")),
    "date": datetime.date(2024, 2, 29).isoformat(),
    "wrap": textwrap.wrap("a b c d", 3),
    "mean": statistics.mean([1, 2, 3, 4]),
    "sha": hashlib.sha256(b"x").hexdigest()[:8],
    "pack": struct.pack("<I", 7).hex(),
    "b64": base64.b64encode(b"hi").decode(),
    "q": queue.Queue().empty(),
    "sig": int(signal.SIGALRM) > 0,
    "xml": ET.fromstring("<a>1</a>").text,
    "started": started,
    "randint_float": random.randint(1.0, 3.0) in (1, 2, 3),
}"#;
    let report = run(&bootcamp_with_generator(body), 0..1, None);
    assert!(report.error.is_none(), "{:?}", report.error);
    let case = &report.cases().next().unwrap().case_value();
    assert_eq!(case["decimal"], "3.3");
    assert_eq!(case["date"], "2024-02-29");
    assert_eq!(case["mean"], 2.5);
    assert_eq!(case["sha"], "2d711642");
    assert_eq!(case["pack"], "07000000");
    assert_eq!(case["b64"], "aGk=");
    assert_eq!(case["xml"], "1");
    assert_eq!(case["started"], false, "a process must not start");
    assert_eq!(case["randint_float"], true);
}

#[test]
fn printing_is_captured_per_call() {
    let report = run(
        &bootcamp_with_generator("print('generated', 7)\nreturn {'n': 7}"),
        0..2,
        None,
    );
    assert!(report.error.is_none(), "{:?}", report.error);
    for case in report.cases() {
        assert_eq!(case.stdout, "generated 7\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_from_async_code_share_the_pool() {
    let source = read_bootcamp("knapsack_compat.py");
    let runs = (0..6u64).map(|i| {
        let source = source.clone();
        tokio::spawn(async move {
            sandbox()
                .run(util::spec(&source, i * 10..i * 10 + 3, None))
                .await
        })
    });
    for handle in runs {
        let report = handle.await.unwrap();
        assert!(report.error.is_none(), "{:?}", report.error);
        assert_eq!(report.cases().count(), 3);
    }
}
