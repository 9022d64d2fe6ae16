//! `bench --only campcal`: author calls per accepted bootcamp in a campaign
//! whose first drafts are all too easy, with calibration inside the campaign
//! and without it (`[evolution] calibrate = false`), in one run.
//!
//! Real campaigns (store, sandbox, checks, call routing) against a fake
//! OpenAI server. Each task is a sum bootcamp whose difficulty is its
//! `size` parameter; the scripted solver is right with chance
//! `1 / (1 + (size / h)^3)`, `h` differing per task and shown in the prompt.
//! Every first draft defaults to size 3 (too easy for every `h` here); the
//! scripted author, asked to refine, doubles the parent's default size, as
//! a real author made a Futoshiki 5x5, then 7x7, then 9x9. Solver calls are
//! reported too: calibration trades author calls for solver calls.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::fake::{FakeReply, FakeServer};
use bootforge::calls::Backend;
use bootforge::campaign::config::CampaignConfig;
use bootforge::llm::EndpointConfig;
use bootforge::llm::openai::OpenAiModel;

/// Half-points of the tasks' accuracy curves (size at which the solver is
/// right half the time).
const HALF_POINTS: [u32; 8] = [6, 8, 12, 16, 24, 32, 48, 64];

const TEMPLATE: &str = r#"import random
import re

from bootcamp import Basebootcamp


class SumH{H}bootcamp(Basebootcamp):
    def __init__(self, size={SIZE}):
        self.size = size

    def case_generator(self):
        return {"numbers": [random.randint(1, 99) for _ in range(self.size)]}

    @staticmethod
    def prompt_func(identity):
        numbers = identity["numbers"]
        shown = " ".join(str(n) for n in numbers)
        return f"[h={H}] Add these {len(numbers)} numbers: {shown}\nGive the total as [answer]N[/answer]."

    @staticmethod
    def extract_output(output):
        found = re.findall(r"\[answer\](.*?)\[/answer\]", output, re.S)
        return found[-1].strip() if found else None

    @classmethod
    def _verify_correction(cls, solution, identity):
        try:
            return int(solution) == sum(identity["numbers"])
        except ValueError:
            return False
"#;

/// One campaign's spend.
#[derive(Debug, Serialize)]
pub struct CampcalRun {
    pub calibrate: bool,
    pub tasks: usize,
    pub accepted: usize,
    pub author_calls: usize,
    pub solver_calls: usize,
    pub author_calls_per_accepted: f64,
    pub solver_calls_per_accepted: f64,
    pub wall_s: f64,
}

#[derive(Debug, Serialize)]
pub struct CampcalBench {
    pub half_points: Vec<u32>,
    pub solver_cases: u32,
    pub calibrate_max_solver_calls: u32,
    pub with_calibration: CampcalRun,
    pub without_calibration: CampcalRun,
    /// Author calls per accepted bootcamp without calibration over with.
    pub author_ratio: f64,
}

fn code(h: u32, size: u64) -> String {
    TEMPLATE
        .replace("{H}", &h.to_string())
        .replace("{SIZE}", &size.to_string())
}

/// The number after `key` in `text`.
fn number_after(text: &str, key: &str) -> Option<u64> {
    let rest = &text[text.find(key)? + key.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The scripted author and solver (told apart by the prompt).
fn reply(prompt: &str) -> FakeReply {
    if prompt.starts_with("You write bootcamps") {
        let h = number_after(prompt, "Task id: h").unwrap_or(12) as u32;
        // A refinement doubles the parent's default size.
        let size = match prompt.split("# The current draft").nth(1) {
            Some(parent) => number_after(parent, "size=").unwrap_or(3) * 2,
            None => 3,
        };
        return FakeReply::answer(format!("Here it is.\n```python\n{}```\n", code(h, size)));
    }
    let h = number_after(prompt, "[h=").unwrap_or(12) as f64;
    let line = prompt
        .lines()
        .find(|l| l.contains("Add these"))
        .unwrap_or("");
    let numbers: Vec<i64> = line
        .split_once(": ")
        .map_or("", |(_, r)| r)
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let chance = 1.0 / (1.0 + (numbers.len() as f64 / h).powi(3));
    // Right or wrong by a hash of the prompt: the same prompt, the same answer.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in prompt.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    let draw = (hash >> 11) as f64 / (1u64 << 53) as f64;
    let sum: i64 = numbers.iter().sum();
    let answer = if draw < chance { sum } else { sum + 1 };
    FakeReply::answer(format!("[answer]{answer}[/answer]"))
}

fn run(cache_dir: &Path, halves: &[u32], calibrate: bool) -> Result<CampcalRun> {
    let server = FakeServer::start(|req| reply(&req.prompt))?;
    let model = |name: &str| {
        let mut e = EndpointConfig::new(server.base_url().to_owned(), name);
        e.concurrency = 8;
        e.timeout = Duration::from_secs(30);
        Backend::Live(Arc::new(OpenAiModel::new(e)))
    };
    let mut config = CampaignConfig {
        name: "bench-campcal".into(),
        task_concurrency: 2,
        ..CampaignConfig::default()
    };
    config.author.model = "bench-author".into();
    config.solver.model = "bench-solver".into();
    config.evolution.drafts_per_task = 1;
    config.evolution.children_per_parent = 1;
    config.evolution.parents_per_generation = 1;
    config.evolution.max_generations = 6;
    config.evolution.calibrate = calibrate;
    config.selftest.cases = 10;
    config.selftest.solver_cases = 20;
    let tasks: Vec<bootforge::campaign::tasks::Task> = halves
        .iter()
        .map(|h| bootforge::campaign::tasks::Task {
            id: format!("h{h}"),
            description: format!("Add up numbers (the solver's half-point is {h} numbers)."),
            title: None,
            examples: None,
            reference_solution: None,
            tags: vec![],
        })
        .collect();
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let sandbox = super::open(cache_dir, 2)?;
    let started = Instant::now();
    let (outcome, spend) = runtime.block_on(async {
        let store = bootforge::store::Store::open(&dir.path().join("bench.db")).await?;
        let engines = bootforge::campaign::Engines {
            store: store.clone(),
            sandbox,
            author: model("bench-author"),
            solver: model("bench-solver"),
            recorder: None,
            progress: None,
        };
        let outcome = bootforge::campaign::start(engines, config, None, tasks).await?;
        let spend = store.spend_by_model(outcome.campaign).await?;
        Ok::<_, anyhow::Error>((outcome, spend))
    })?;
    let wall_s = started.elapsed().as_secs_f64();
    let calls = |role: &str| {
        spend
            .iter()
            .filter(|r| r.role == role)
            .map(|r| r.calls.max(0) as usize)
            .sum::<usize>()
    };
    let accepted = outcome
        .tasks
        .iter()
        .filter(|t| t.status == bootforge::campaign::status::TaskStatus::Accepted)
        .count();
    let (author_calls, solver_calls) = (calls("author"), calls("solver"));
    let per = |n: usize| n as f64 / accepted.max(1) as f64;
    Ok(CampcalRun {
        calibrate,
        tasks: halves.len(),
        accepted,
        author_calls,
        solver_calls,
        author_calls_per_accepted: per(author_calls),
        solver_calls_per_accepted: per(solver_calls),
        wall_s,
    })
}

pub fn bench(cache_dir: &Path, quick: bool) -> Result<CampcalBench> {
    let halves: Vec<u32> = if quick {
        vec![6, 24]
    } else {
        HALF_POINTS.to_vec()
    };
    let with = run(cache_dir, &halves, true)?;
    let without = run(cache_dir, &halves, false)?;
    Ok(CampcalBench {
        half_points: halves,
        solver_cases: 20,
        calibrate_max_solver_calls: bootforge::campaign::config::EvolutionConfig::default()
            .calibrate_max_solver_calls,
        author_ratio: without.author_calls_per_accepted / with.author_calls_per_accepted.max(1e-9),
        with_calibration: with,
        without_calibration: without,
    })
}

// A test of the benchmark's own script, run by the integration tests (the
// bench target has no test harness).
#[cfg(test)]
mod tests {
    #[test]
    fn the_scripted_author_doubles_the_parents_size() {
        use super::*;
        let draft = reply("You write bootcamps\nTask id: h24 (x)");
        let FakeReply::Answer { content, .. } = draft else {
            panic!()
        };
        assert!(content.contains("size=3") && content.contains("[h=24]"));
        let refine = reply(&format!(
            "You write bootcamps\nTask id: h24\n# The current draft\n{}",
            code(24, 6)
        ));
        let FakeReply::Answer { content, .. } = refine else {
            panic!()
        };
        assert!(content.contains("size=12"), "{content}");
    }
}
