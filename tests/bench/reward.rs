//! The `reward` benchmark: `bootforge reward serve` (this binary, as a child
//! process, over a folder of bootcamp files) scoring batches of 1,024
//! rollouts through HTTP, against InternBootcamp's reward-function style:
//! one native `python3` process calling `verify_score` in a loop. Two
//! verifiers: the Latin square check (cheap) and a sieve that counts primes
//! (heavy), with one rollout per prompt or eight (GRPO-style sampling, as
//! verl does; rollouts of one prompt share a scoring call). Reported: scores
//! per second per core each way and their ratio
//! (one run), p50/p99 batch latency, and the service's resident memory after
//! a batch over 100 distinct bootcamps.

use super::rss_mib;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::{Value, json};

use super::{PUZZLE_FILE, base, median, open, percentile, puzzle};
use bootforge::sandbox::RunSpec;

/// A verifier that costs real work: it counts the primes below a bound with
/// a sieve and compares with the answer.
const HEAVY: &str = r#"
import random
import re
from bootcamp import Basebootcamp


class PrimeCountbootcamp(Basebootcamp):
    def case_generator(self):
        return {"limit": random.randint(20000, 40000)}

    @staticmethod
    def prompt_func(identity):
        return f"How many primes are below {identity['limit']}? Answer as [answer]N[/answer]."

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](\d+)\[/answer\]", output)
        return int(found[-1]) if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        limit = identity["limit"]
        sieve = bytearray([1]) * limit
        sieve[0:2] = b"\x00\x00"
        for i in range(2, int(limit ** 0.5) + 1):
            if sieve[i]:
                sieve[i * i::i] = bytearray(len(range(i * i, limit, i)))
        return solution == sum(sieve)
"#;

/// InternBootcamp's reward function's loop, natively: resolve the class
/// from `bootcamp/<Name>`, `verify_score(solution, json.loads(truth),
/// format_score=0)` per item, timed over the loop only.
const NATIVE: &str = r#"
import json, sys, time, types
guest_dir, items_path, repeat = sys.argv[1:4]
sys.path.insert(0, guest_dir)
import bootforge_base
for name in ("bootcamp", "bootcamp.base"):
    m = types.ModuleType(name); m.__path__ = []; m.Basebootcamp = bootforge_base.Basebootcamp
    sys.modules[name] = m
classes = {}
for path in sys.argv[4:]:
    module = types.ModuleType("b")
    exec(compile(open(path).read(), path, "exec"), module.__dict__)
    classes.update({k: v for k, v in vars(module).items() if k.endswith("bootcamp") and k != "Basebootcamp"})
items = [json.loads(l) for l in open(items_path)]
scores = []
started = time.perf_counter()
for _ in range(int(repeat)):
    scores = []
    for item in items:
        name = item["data_source"].split("/")[1]
        cls = classes[name[0].upper() + name[1:] + "bootcamp"]
        scores.append(cls.verify_score(item["solution_str"], json.loads(item["ground_truth"]), format_score=0))
print(json.dumps({"elapsed_us": int((time.perf_counter() - started) * 1e6), "scores": scores}))
"#;

#[derive(Debug, Serialize)]
pub struct RewardCase {
    pub verifier: String,
    pub batches: usize,
    pub batch_size: usize,
    pub workers: usize,
    pub service_scores_per_s: f64,
    pub service_scores_per_s_per_core: f64,
    pub native_scores_per_s: f64,
    /// Service per core over native (one process, one core).
    pub ratio_per_core: f64,
    pub p50_batch_ms: f64,
    pub p99_batch_ms: f64,
    /// Every score equal to the native one.
    pub same_scores: bool,
}

#[derive(Debug, Serialize)]
pub struct RewardBench {
    pub cases: Vec<RewardCase>,
    /// A batch over 100 bootcamps (4 items each): its latency the first
    /// time (every file compiled) and again (compiled code cached; each run
    /// still instantiates and loads its bootcamp).
    pub spread_items: usize,
    pub spread_first_ms: f64,
    pub spread_again_ms: f64,
    pub warm_bootcamps: usize,
    pub rss_start_mib: f64,
    pub rss_warm_mib: f64,
    pub target_ratio_cheap: f64,
}

fn post(addr: &str, body: &[u8]) -> Result<Vec<f64>> {
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "POST /v1/score HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("a reply without a body")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("the service answered {head}: {body}");
    }
    let answers: Vec<Value> = serde_json::from_str(body)?;
    Ok(answers
        .iter()
        .map(|a| a["score"].as_f64().unwrap_or(f64::NAN))
        .collect())
}

/// Items for `n` rollouts of a bootcamp, `per_prompt` of them per case
/// (GRPO-style sampling), with right answers (every other one wrong),
/// generated in the sandbox.
fn items(
    cache_dir: &Path,
    file: &str,
    source: &str,
    name: &str,
    n: u64,
    per_prompt: u64,
    answer: impl Fn(&Value, u64) -> String,
) -> Result<Vec<Value>> {
    let sandbox = open(cache_dir, 2)?;
    let report = sandbox.run_blocking(RunSpec::new(file, source).cases(0..n / per_prompt, None));
    if let Some(err) = report.error {
        bail!("generating {name} cases: {err}");
    }
    Ok(report
        .cases()
        .flat_map(|c| {
            let answer = &answer;
            (0..per_prompt).map(move |k| {
                json!({
                    "data_source": format!("bootcamp/{name}"),
                    "solution_str": answer(&c.case_value(), c.seed + k),
                    "ground_truth": c.case_json.to_string(),
                })
            })
        })
        .collect())
}

pub fn bench_reward(cache_dir: &Path, quick: bool) -> Result<RewardBench> {
    let dir = tempfile::tempdir()?;
    let camps = dir.path().join("bootcamps");
    std::fs::create_dir(&camps)?;
    std::fs::write(camps.join(PUZZLE_FILE), puzzle())?;
    std::fs::write(camps.join("prime_count.py"), HEAVY)?;
    let warm = 100;
    for i in 0..warm - 2 {
        std::fs::write(
            camps.join(format!("latin_{i}.py")),
            puzzle().replace("LatinSquarebootcamp", &format!("LatinSquare{i}bootcamp")),
        )?;
    }
    let batch_size = 1024;
    let batches = if quick { 2 } else { 10 };
    let latin_answer = |case: &Value, seed: u64| -> String {
        let rows: Vec<String> = case["solution"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        r.as_array()
                            .map(|v| {
                                v.iter()
                                    .map(|x| x.to_string())
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut grid = rows.join("\n");
        if seed % 2 == 1 {
            grid = grid.replacen('1', "2", 1);
        }
        format!("<think>fill the rows</think>[answer]\n{grid}\n[/answer]")
    };
    let n = batch_size as u64;
    let cheap = items(
        cache_dir,
        PUZZLE_FILE,
        puzzle(),
        "LatinSquare",
        n,
        1,
        latin_answer,
    )?;
    let cheap_grpo = items(
        cache_dir,
        PUZZLE_FILE,
        puzzle(),
        "LatinSquare",
        n,
        8,
        latin_answer,
    )?;
    let heavy = items(
        cache_dir,
        "prime_count.py",
        HEAVY,
        "PrimeCount",
        n,
        8,
        |case, seed| {
            let limit = case["limit"].as_u64().unwrap_or(2) as usize;
            let mut sieve = vec![true; limit];
            let mut count = 0u64;
            for i in 2..limit {
                if sieve[i] {
                    count += 1;
                    let mut j = i * i;
                    while j < limit {
                        sieve[j] = false;
                        j += i;
                    }
                }
            }
            format!("[answer]{}[/answer]", count + seed % 2)
        },
    )?;

    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_bootforge"));
    let workers = 2usize;
    let mut child = Command::new(exe)
        .arg("--cache-dir")
        .arg(cache_dir)
        .args([
            "reward",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "2",
            "--bootcamps",
        ])
        .arg(&camps)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting bootforge reward serve")?;
    let result = (|| {
        let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(a) = line.split("listening on http://").nth(1) {
                        break a.trim().to_owned();
                    }
                }
                _ => bail!("bootforge reward serve ended before listening"),
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let rss_start_mib = rss_mib(child.id());
        let guest = tempfile::tempdir()?;
        std::fs::write(guest.path().join("bootforge_base.py"), base())?;
        let mut cases = Vec::new();
        for (verifier, items, file) in [
            (
                "latin_square (cheap), 1 rollout per prompt",
                &cheap,
                PUZZLE_FILE,
            ),
            (
                "latin_square (cheap), 8 rollouts per prompt",
                &cheap_grpo,
                PUZZLE_FILE,
            ),
            (
                "prime_count sieve (heavy), 8 rollouts per prompt",
                &heavy,
                "prime_count.py",
            ),
        ] {
            let body = serde_json::to_vec(items)?;
            // One batch to warm the code cache, not timed.
            let service_scores = post(&addr, &body)?;
            let mut times = Vec::new();
            let started = Instant::now();
            for _ in 0..batches {
                let t = Instant::now();
                let scores = post(&addr, &body)?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
                if scores != service_scores {
                    bail!("the service's scores changed between batches");
                }
            }
            let service_rate = (batches * items.len()) as f64 / started.elapsed().as_secs_f64();
            let lines: String = items.iter().map(|i| format!("{i}\n")).collect();
            let items_path = guest.path().join("items.jsonl");
            std::fs::write(&items_path, lines)?;
            std::fs::write(guest.path().join("native_reward.py"), NATIVE)?;
            // The same number of scores as the service gave, in one process
            // (an interpreter start and the imports are not timed).
            let (native_rate, native_scores): (f64, Vec<f64>) = {
                let out = Command::new("python3")
                    .arg(guest.path().join("native_reward.py"))
                    .arg(guest.path())
                    .arg(&items_path)
                    .arg(batches.to_string())
                    .arg(camps.join(file))
                    .output()
                    .context("running python3")?;
                if !out.status.success() {
                    bail!(
                        "native loop failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                let v: Value = serde_json::from_slice(&out.stdout)?;
                let rate = (batches * items.len()) as f64
                    / (v["elapsed_us"].as_f64().unwrap_or(1.0) / 1e6);
                let scores = v["scores"]
                    .as_array()
                    .map(|a| a.iter().map(|s| s.as_f64().unwrap_or(f64::NAN)).collect())
                    .unwrap_or_default();
                (rate, scores)
            };
            let per_core = service_rate / workers as f64;
            cases.push(RewardCase {
                verifier: verifier.into(),
                batches,
                batch_size: items.len(),
                workers,
                service_scores_per_s: service_rate,
                service_scores_per_s_per_core: per_core,
                native_scores_per_s: native_rate,
                ratio_per_core: per_core / native_rate,
                p50_batch_ms: median(&mut times),
                p99_batch_ms: percentile(&mut times, 0.99),
                same_scores: native_scores == service_scores,
            });
        }
        // A batch touching 100 distinct bootcamps, then the resident memory.
        let spread: Vec<Value> = (0..warm - 2)
            .flat_map(|i| {
                cheap.iter().take(4).map(move |item| {
                    let mut item = item.clone();
                    item["data_source"] = json!(format!("bootcamp/LatinSquare{i}"));
                    item
                })
            })
            .chain(cheap.iter().take(4).cloned())
            .chain(heavy.iter().take(4).cloned())
            .collect();
        let body = serde_json::to_vec(&spread)?;
        let t = Instant::now();
        post(&addr, &body)?;
        let spread_first_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        post(&addr, &body)?;
        let spread_again_ms = t.elapsed().as_secs_f64() * 1e3;
        Ok(RewardBench {
            cases,
            spread_items: spread.len(),
            spread_first_ms,
            spread_again_ms,
            warm_bootcamps: warm,
            rss_start_mib,
            rss_warm_mib: rss_mib(child.id()),
            target_ratio_cheap: 0.5,
        })
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}
