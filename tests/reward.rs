//! `bootforge reward serve` through the real binary, a real socket, the real
//! sandbox and a real SQLite file: right and wrong answers, every item
//! error kind, hostile verifiers (hang, memory, raise) beside good items, a
//! 10 MB solution, malformed batches, concurrent batches, two replicas, the
//! token rule, /healthz and /metrics; verl's reward function (the file
//! `reward verl-function` prints) called as verl's reward managers call it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::campaign::bootforge;
use crate::review::bootforge_env;
use crate::util::{bin, repo_path};

/// A running `bootforge reward serve`, killed when dropped.
struct Service {
    child: Child,
    addr: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `db: None` serves the --bootcamps files alone (no store is read).
fn start(db: Option<&Path>, extra: &[&str]) -> Result<Service, (i32, String)> {
    let mut cmd = bin();
    if let Some(db) = db {
        cmd.arg("--db").arg(db);
    }
    let mut child = cmd
        .args(["reward", "serve"])
        .args(extra)
        .env_remove("BOOTFORGE_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let addr = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    break rest.trim().to_owned();
                }
                seen.push_str(&line);
                seen.push('\n');
            }
            _ => {
                let code = child.wait().unwrap().code().unwrap_or(-1);
                return Err((code, seen));
            }
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(Service { child, addr })
}

fn serve(db: &Path, extra: &[&str]) -> Service {
    start(Some(db), extra).unwrap_or_else(|(code, err)| panic!("reward serve exited {code}: {err}"))
}

/// One HTTP/1.1 request; the status and body.
fn http(addr: &str, method: &str, path: &str, body: &[u8], token: Option<&str>) -> (u16, String) {
    let addr = addr.replace("0.0.0.0", "127.0.0.1");
    let mut stream = TcpStream::connect(&addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad reply: {text}"));
    (status, body.to_owned())
}

fn score(service: &Service, items: &Value) -> Vec<Value> {
    let (status, body) = http(
        &service.addr,
        "POST",
        "/v1/score",
        items.to_string().as_bytes(),
        None,
    );
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Vec<Value>>(&body).unwrap()
}

fn kind(answer: &Value) -> Option<&str> {
    answer["error"]["kind"].as_str()
}

/// An item of the approved review item (big integers, exact) and its
/// right answer.
fn big_mod_item(answer_offset: u128) -> Value {
    let (a, b, m) = (12345678901234567890123u128, 98765u128, 1000000007u128);
    let right = (a * b) % m + answer_offset;
    json!({
        "data_source": "bootcamp/BigModProduct",
        "solution_str": format!("<think>work</think>\\boxed{{{right}}}"),
        "ground_truth": format!(r#"{{"a": {a}, "b": {b}, "m": {m}}}"#),
        "extra_info": {"split": "train", "index": 0}
    })
}

fn item(source: &str, solution: &str, truth: Value) -> Value {
    json!({"data_source": source, "solution_str": solution, "ground_truth": truth})
}

/// A store with the big-integer bootcamp approved and another item pending.
fn store(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("reward.db");
    let add = |file: &Path| {
        let (code, stdout, stderr) =
            bootforge(&db, &["review", "add", file.to_str().unwrap(), "--json"]);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        let v: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
        v["item"].as_i64().unwrap()
    };
    let approved = add(&repo_path("tests/bootcamps/review/big_mod.py"));
    add(&repo_path("tests/bootcamps/check/good.py"));
    let (code, _, stderr) = bootforge_env(
        &db,
        &[
            "review",
            "approve",
            &approved.to_string(),
            "--reviewer",
            "ada",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    db
}

fn bootcamps_dir() -> String {
    repo_path("tests/bootcamps/reward").display().to_string()
}

const LIMITS: [&str; 8] = [
    "--timeout-ms",
    "1000",
    "--memory-mib",
    "128",
    "--workers",
    "2",
    "--bind",
    "127.0.0.1:0",
];

#[test]
fn the_service_scores_in_order_and_survives_hostile_verifiers() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let mut args = LIMITS.to_vec();
    let bootcamps = bootcamps_dir();
    args.extend(["--bootcamps", &bootcamps]);
    let service = serve(&db, &args);

    let sum = |a: i64, b: i64| json!({"a": a, "b": b}).to_string();
    let moody = json!({"n": 4}).to_string();
    let ten_mb = "x".repeat(10 << 20);
    let batch = json!([
        big_mod_item(0),
        big_mod_item(1),
        item(
            "bootcamp/SumPair",
            "[answer]5[/answer]",
            json!({"a": 2, "b": 3})
        ),
        item(
            "SumPairbootcamp",
            "[answer]6[/answer]",
            Value::String(sum(2, 3))
        ),
        item(
            "bootcamp/Moody",
            "[answer]hang[/answer]",
            Value::String(moody.clone())
        ),
        item("SumPair", "[answer]41[/answer]", Value::String(sum(40, 1))),
        item(
            "bootcamp/Moody",
            "[answer]hog[/answer]",
            Value::String(moody.clone())
        ),
        item(
            "bootcamp/Moody",
            "[answer]raise[/answer]",
            Value::String(moody.clone())
        ),
        item(
            "bootcamp/Moody",
            "[answer]4[/answer]",
            Value::String(moody.clone())
        ),
        item("bootcamp/Broken", "[answer]1[/answer]", json!({})),
        item("bootcamp/NoSuchThing", "[answer]1[/answer]", json!({})),
        // The pending review item: not served without --any-status.
        item("bootcamp/Addition", "x", json!({})),
        item(
            "bootcamp/SumPair",
            "[answer]5[/answer]",
            Value::String("{not json".into())
        ),
        item("bootcamp/SumPair", &ten_mb, Value::String(sum(2, 3))),
        item(
            "bootcamp/Moody",
            "[answer]nan[/answer]",
            Value::String(moody.clone())
        ),
        json!({"data_source": "bootcamp/SumPair", "solution_str": "[answer]9[/answer]",
               "ground_truth": sum(2, 3), "score_flags": {"format_score": 0.5}}),
        item("bootcamp/Moody", "[answer]5[/answer]", Value::String(moody)),
    ]);
    let answers = score(&service, &batch);
    assert_eq!(answers.len(), 17);
    let scores: Vec<f64> = answers
        .iter()
        .map(|a| a["score"].as_f64().unwrap())
        .collect();
    let kinds: Vec<Option<&str>> = answers.iter().map(kind).collect();
    assert_eq!(
        scores,
        [
            1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0
        ],
        "{answers:#?}"
    );
    assert_eq!(
        kinds,
        [
            None,
            None,
            None,
            None,
            Some("timeout"),
            None,
            Some("memory"),
            Some("exception"),
            None,
            Some("load_failed"),
            Some("unknown_data_source"),
            Some("unknown_data_source"),
            Some("bad_ground_truth"),
            Some("too_large"),
            Some("invalid_output"),
            None,
            None,
        ],
        "{answers:#?}"
    );
    let message = |i: usize| answers[i]["error"]["message"].as_str().unwrap();
    assert!(message(7).contains("broke on purpose"), "{}", message(7));
    assert!(message(9).contains("needs a module"), "{}", message(9));
    assert!(
        message(10).contains("NoSuchThingbootcamp"),
        "{}",
        message(10)
    );

    // A malformed batch is refused whole, naming the item.
    for (body, needle) in [
        (
            json!([big_mod_item(0), {"data_source": "x", "ground_truth": "{}"}]).to_string(),
            "item 1 has no \"solution_str\"",
        ),
        ("[{\"data_source\": 1".to_owned(), "not JSON"),
        (json!({"items": []}).to_string(), "JSON array"),
    ] {
        let (status, reply) = http(&service.addr, "POST", "/v1/score", body.as_bytes(), None);
        assert_eq!(status, 400, "{reply}");
        let reply: Value = serde_json::from_str(&reply).unwrap();
        assert!(reply["error"].as_str().unwrap().contains(needle), "{reply}");
    }

    // Concurrent batches get the same answers as one alone.
    let small = json!([
        big_mod_item(0),
        item(
            "bootcamp/SumPair",
            "[answer]5[/answer]",
            json!({"a": 2, "b": 3})
        ),
        item("bootcamp/Moody", "[answer]raise[/answer]", json!({"n": 1})),
        item("bootcamp/Moody", "[answer]1[/answer]", json!({"n": 1})),
        big_mod_item(2),
    ]);
    let alone = score(&service, &small);
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let addr = service.addr.clone();
            let body = small.to_string();
            std::thread::spawn(move || http(&addr, "POST", "/v1/score", body.as_bytes(), None))
        })
        .collect();
    for t in threads {
        let (status, body) = t.join().unwrap();
        assert_eq!(status, 200);
        assert_eq!(serde_json::from_str::<Vec<Value>>(&body).unwrap(), alone);
    }
    assert_eq!(
        alone
            .iter()
            .map(|a| a["score"].as_f64().unwrap())
            .collect::<Vec<_>>(),
        [1.0, 1.0, 0.0, 1.0, 0.0]
    );

    // A second replica answers the first batch identically: the same scores
    // and error kinds (a timeout's message quotes the CPU and wall time that
    // call measured, which differ from run to run).
    let replica = serve(&db, &args);
    let outcome = |answers: &[Value]| -> Vec<(f64, Value)> {
        answers
            .iter()
            .map(|a| (a["score"].as_f64().unwrap(), a["error"]["kind"].clone()))
            .collect()
    };
    assert_eq!(outcome(&score(&replica, &batch)), outcome(&answers));

    // Health and metrics.
    let (status, health) = http(&service.addr, "GET", "/healthz", b"", None);
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(
        (health["ok"].as_bool(), health["bootcamps"].as_u64()),
        (Some(true), Some(4))
    );
    let (status, metrics) = http(&service.addr, "GET", "/metrics", b"", None);
    assert_eq!(status, 200);
    for line in [
        "bootforge_reward_bootcamps 4",
        "bootforge_reward_errors_total{kind=\"timeout\"} 1",
        "bootforge_reward_errors_total{kind=\"memory\"} 1",
        "bootforge_reward_errors_total{kind=\"exception\"} 8",
        "bootforge_reward_errors_total{kind=\"unknown_data_source\"} 2",
        "bootforge_reward_bad_batches_total 3",
        "bootforge_reward_batch_seconds_count 8",
        "bootforge_reward_items_total 52",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in:\n{metrics}"
        );
    }
}

#[test]
fn binding_beyond_loopback_needs_a_token_and_requests_carry_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("missing.db");
    let bootcamps = bootcamps_dir();
    let (code, err) = start(None, &["--bind", "0.0.0.0:0", "--bootcamps", &bootcamps])
        .err()
        .expect("refused");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--auth-token-file"), "{err}");

    // Nothing to score with: refused at start.
    let empty = dir.path().join("nothing");
    std::fs::create_dir(&empty).unwrap();
    let (code, err) = start(
        None,
        &[
            "--bind",
            "127.0.0.1:0",
            "--bootcamps",
            empty.to_str().unwrap(),
        ],
    )
    .err()
    .expect("refused");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no bootcamp"), "{err}");
    // A --db that does not exist is said at once.
    let (code, err) = start(
        Some(&db),
        &["--bind", "127.0.0.1:0", "--bootcamps", &bootcamps],
    )
    .err()
    .expect("refused");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no database"), "{err}");

    let token = "0123456789abcdef0123456789";
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let service = start(
        None,
        &[
            "--bind",
            "0.0.0.0:0",
            "--bootcamps",
            &bootcamps,
            "--auth-token-file",
            token_file.to_str().unwrap(),
        ],
    )
    .unwrap_or_else(|(code, err)| panic!("reward serve exited {code}: {err}"));
    let body = json!([item(
        "bootcamp/SumPair",
        "[answer]3[/answer]",
        json!({"a": 1, "b": 2})
    )])
    .to_string();
    let (status, _) = http(&service.addr, "POST", "/v1/score", body.as_bytes(), None);
    assert_eq!(status, 401);
    let (status, _) = http(
        &service.addr,
        "POST",
        "/v1/score",
        body.as_bytes(),
        Some("wrong-token-wrong-token"),
    );
    assert_eq!(status, 401);
    let (status, _) = http(&service.addr, "GET", "/metrics", b"", None);
    assert_eq!(status, 401);
    let (status, reply) = http(
        &service.addr,
        "POST",
        "/v1/score",
        body.as_bytes(),
        Some(token),
    );
    assert_eq!((status, reply.as_str()), (200, r#"[{"score":1.0}]"#));
    let (status, _) = http(&service.addr, "GET", "/healthz", b"", None);
    assert_eq!(status, 200);
}

#[test]
fn verls_reward_function_scores_through_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let mut args = LIMITS.to_vec();
    let bootcamps = bootcamps_dir();
    args.extend(["--bootcamps", &bootcamps]);
    let service = serve(&db, &args);

    let (code, function, stderr) = bootforge(&db, &["reward", "verl-function"]);
    assert_eq!(code, 0, "{stderr}");
    let path = dir.path().join("bootforge_reward_for_verl.py");
    std::fs::write(&path, &function).unwrap();

    // verl's loader (verl/utils/import_utils.py load_extern_object) and its
    // reward managers' calls: NaiveRewardManager passes keywords per sample,
    // with extra_info grown by num_turns and rollout_reward_scores;
    // BatchRewardManager passes lists. verl itself needs torch to import,
    // so its calls are reproduced here by their documented signatures.
    let big = big_mod_item(0);
    let script = format!(
        r#"
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("custom_module", {path:?})
module = importlib.util.module_from_spec(spec)
sys.modules["custom_module"] = module
spec.loader.exec_module(module)
compute_score = getattr(module, "compute_score")
batch = getattr(module, "compute_score_batch")
big = json.loads({big:?})
out = {{}}
out["one"] = compute_score(data_source=big["data_source"], solution_str=big["solution_str"],
    ground_truth=big["ground_truth"], extra_info={{"split": "train", "index": 0, "num_turns": None, "rollout_reward_scores": {{}}}})
out["wrong"] = compute_score(data_source="bootcamp/SumPair", solution_str="[answer]4[/answer]",
    ground_truth=json.dumps({{"a": 2, "b": 3}}), extra_info={{}})
n = 2500
sources = ["bootcamp/SumPair"] * n
solutions = ["[answer]%d[/answer]" % (i + i % 2) for i in range(n)]
truths = [json.dumps({{"a": i, "b": 0}}) for i in range(n)]
scores = batch(data_sources=sources, solution_strs=solutions, ground_truths=truths,
    extra_infos=[{{"rollout_reward_scores": {{}}}} for _ in range(n)])
out["batch_len"] = len(scores)
out["batch_right"] = [i for i, s in enumerate(scores) if s == 1.0] == list(range(0, n, 2))
out["unknown"] = compute_score("bootcamp/Nothing", "x", "{{}}")
print(json.dumps(out))
"#,
        path = path.display().to_string(),
        big = big.to_string(),
    );
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let run = Command::new("python3")
        .arg("-c")
        .arg(&script)
        // A dead replica first: requests move on to the live one.
        .env(
            "BOOTFORGE_REWARD_URLS",
            format!("http://{dead_addr},http://{}", service.addr),
        )
        .env("BOOTFORGE_REWARD_CHUNK", "1000")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        out,
        json!({"one": 1.0, "wrong": 0.0, "batch_len": 2500, "batch_right": true, "unknown": 0.0})
    );

    // With no service at all, the function raises rather than train on zeros.
    let run = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import importlib.util\nspec = importlib.util.spec_from_file_location('m', {:?})\nm = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\nm.compute_score('bootcamp/SumPair', 'x', '{{}}')",
            path.display().to_string()
        ))
        .env("BOOTFORGE_REWARD_URLS", format!("http://{dead_addr}"))
        .env("BOOTFORGE_REWARD_RETRIES", "2")
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("unreachable after 2 attempts"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// `keep_warm` runs reuse their loaded instance on the worker (the
/// bootcamp's globals carry over), only for the same file, class, params and
/// limits, and never after a failure.
#[test]
fn kept_warm_instances_are_reused_only_when_nothing_differs_or_failed() {
    use bootforge::sandbox::{Call, CallResult, RunSpec, Sandbox, SandboxOptions};
    let source = r#"
from bootcamp import Basebootcamp
calls = [0]


class Countbootcamp(Basebootcamp):
    def __init__(self, step=1):
        self.step = step

    def case_generator(self):
        return {"n": 1}

    @staticmethod
    def prompt_func(identity):
        return "count"

    @staticmethod
    def extract_output(output):
        return output

    @classmethod
    def verify_score(cls, model_output, identity, **flags):
        if model_output == "boom":
            raise ValueError("boom")
        return super().verify_score(model_output, identity, **flags)

    @classmethod
    def _verify_correction(cls, solution, identity):
        calls[0] += 1
        return calls[0] / 100
"#;
    let mut options = SandboxOptions::new(crate::util::cache_dir());
    options.workers = 1;
    let sandbox = Sandbox::open(&options).unwrap();
    let run = |answers: &[&str], warm: bool, params: &str| -> (Vec<f64>, bool) {
        let mut spec = RunSpec::new("count.py", source);
        spec.keep_warm = if warm { 4 } else { 0 };
        spec.params = serde_json::from_str(params).unwrap();
        spec.calls = answers
            .iter()
            .map(|a| Call::Score {
                identity: r#"{"n": 1}"#.into(),
                answer: (*a).to_owned(),
            })
            .collect();
        let report = sandbox.run_blocking(spec);
        let scores = report
            .results
            .iter()
            .filter_map(|r| match r {
                CallResult::Score(s) => Some(s.score),
                _ => None,
            })
            .collect();
        (scores, report.error.is_some())
    };
    assert_eq!(run(&["a", "b"], true, "{}"), (vec![0.01, 0.02], false));
    // The same bootcamp again: the loaded instance, its counter going on.
    assert_eq!(run(&["c"], true, "{}"), (vec![0.03], false));
    // Not asking for it, or other params: a fresh instance.
    assert_eq!(run(&["d"], false, "{}"), (vec![0.01], false));
    assert_eq!(run(&["e"], true, r#"{"step": 2}"#), (vec![0.01], false));
    assert_eq!(run(&["f"], true, "{}"), (vec![0.04], false));
    // A failing run's instance is not kept.
    assert_eq!(run(&["g", "boom"], true, "{}"), (vec![0.05], true));
    assert_eq!(run(&["h"], true, "{}"), (vec![0.01], false));
}
