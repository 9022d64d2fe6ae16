//! `bench --only fleet`: a campaign against a fleet of
//! three fake endpoints answering after 100, 200 and 400 ms, with equal
//! concurrency, both roles served by all three. Its wall time is compared
//! with the ideal for that fleet, as a ratio in one run; then the same
//! campaign again with the fastest endpoint killed halfway (by requests).
//!
//! The ideal: an endpoint of concurrency `c` and latency `L` serves `c / L`
//! requests a second, a fleet the sum; a role's calls take `calls / rate`,
//! the busier role decides, plus one author and one solver round trip at the
//! fastest latency. With the kill, half the calls at the full rate and half
//! at the rate of the two left. The same numbers of calls are then made
//! straight through the fleet, without the campaign and its sandbox, to tell
//! the fleet's own overhead from the CPU's.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::fake::{FakeReply, FakeServer};
use bootforge::calls::Backend;
use bootforge::campaign::config::CampaignConfig;
use bootforge::llm::EndpointConfig;
use bootforge::llm::fleet::Fleet;

const LATENCIES_MS: [u64; 3] = [100, 200, 400];
const CONCURRENCY: usize = 8;

#[derive(Debug, Serialize)]
pub struct FleetRun {
    pub wall_s: f64,
    pub ideal_s: f64,
    pub ratio_to_ideal: f64,
    pub author_calls: usize,
    pub solver_calls: usize,
    /// Requests each endpoint received (100, 200, 400 ms).
    pub requests: [usize; 3],
    pub accepted: usize,
    pub status: String,
}

/// The fleet alone: calls made straight through [`Fleet`], no campaign, no
/// sandbox (what the choice of endpoint costs, apart from the CPU).
#[derive(Debug, Serialize)]
pub struct CallsRun {
    pub calls: usize,
    pub wall_s: f64,
    pub ideal_s: f64,
    pub ratio_to_ideal: f64,
    pub requests: [usize; 3],
}

#[derive(Debug, Serialize)]
pub struct FleetBench {
    pub tasks: usize,
    pub latencies_ms: [u64; 3],
    pub concurrency: usize,
    pub all_up: FleetRun,
    /// The 100 ms endpoint killed after half the first run's requests.
    pub one_killed: FleetRun,
    pub calls_all_up: CallsRun,
    pub calls_one_killed: CallsRun,
}

/// `calls` one-line requests through a fleet of the three endpoints,
/// killing the fastest after half of them when asked.
fn calls_only(calls: usize, kill: bool) -> Result<CallsRun> {
    let counters: Vec<Arc<AtomicUsize>> = (0..3).map(|_| Arc::default()).collect();
    let mut servers = Vec::new();
    for (latency, count) in LATENCIES_MS.iter().zip(&counters) {
        let (latency, count) = (*latency, count.clone());
        servers.push(Some(FakeServer::start(move |_| {
            count.fetch_add(1, Ordering::Relaxed);
            FakeReply::Delay(
                Duration::from_millis(latency),
                Box::new(FakeReply::answer("[answer]0[/answer]")),
            )
        })?));
    }
    let endpoints = servers
        .iter()
        .flatten()
        .map(|s| {
            let mut e = EndpointConfig::new(s.base_url(), "bench");
            e.concurrency = CONCURRENCY;
            e.timeout = Duration::from_secs(30);
            e
        })
        .collect();
    let fleet = Arc::new(Fleet::new(endpoints));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let done = Arc::new(AtomicUsize::new(0));
    let wall = runtime.block_on(async {
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..calls {
            let (fleet, done) = (fleet.clone(), done.clone());
            tasks.spawn(async move {
                let result = bootforge::llm::ChatModel::complete(&*fleet, &format!("q{i}")).await;
                done.fetch_add(1, Ordering::Relaxed);
                result
            });
        }
        let mut killed = !kill;
        loop {
            if !killed && done.load(Ordering::Relaxed) >= calls / 2 {
                drop(servers[0].take());
                killed = true;
            }
            match tokio::time::timeout(Duration::from_millis(5), tasks.join_next()).await {
                Ok(None) => break,
                Ok(Some(Ok(Ok(_)))) | Err(_) => {}
                Ok(Some(Ok(Err(failure)))) => {
                    anyhow::bail!("a fleet call failed: {}", failure.error)
                }
                Ok(Some(Err(err))) => anyhow::bail!("a fleet call crashed: {err}"),
            }
        }
        Ok(started.elapsed().as_secs_f64())
    })?;
    let ideal = if kill {
        calls as f64 / 2.0 / rate(&LATENCIES_MS) + calls as f64 / 2.0 / rate(&LATENCIES_MS[1..])
    } else {
        calls as f64 / rate(&LATENCIES_MS)
    };
    Ok(CallsRun {
        calls,
        wall_s: wall,
        ideal_s: ideal,
        ratio_to_ideal: wall / ideal,
        requests: [0, 1, 2].map(|i| counters[i].load(Ordering::Relaxed)),
    })
}

fn rate(latencies: &[u64]) -> f64 {
    latencies
        .iter()
        .map(|l| CONCURRENCY as f64 / (*l as f64 / 1e3))
        .sum()
}

fn run(cache_dir: &Path, tasks: usize, kill_after: Option<usize>) -> Result<FleetRun> {
    let code = format!("Here it is.\n```python\n{}```\n", super::bench_bootcamp());
    let total = Arc::new(AtomicUsize::new(0));
    let mut servers = Vec::new();
    let mut counters = Vec::new();
    for latency in LATENCIES_MS {
        let code = code.clone();
        let count = Arc::new(AtomicUsize::new(0));
        let (mine, all) = (count.clone(), total.clone());
        servers.push(Some(FakeServer::start(move |req| {
            mine.fetch_add(1, Ordering::Relaxed);
            all.fetch_add(1, Ordering::Relaxed);
            let reply = if req.prompt.starts_with("You write bootcamps") {
                FakeReply::answer(code.clone())
            } else {
                FakeReply::answer("[answer]0[/answer]")
            };
            FakeReply::Delay(Duration::from_millis(latency), Box::new(reply))
        })?));
        counters.push(count);
    }
    let urls: Vec<String> = servers
        .iter()
        .flatten()
        .map(|s| s.base_url().to_owned())
        .collect();
    let fleet = |model: &str| {
        let endpoints = urls
            .iter()
            .map(|url| {
                let mut e = EndpointConfig::new(url.clone(), model);
                e.concurrency = CONCURRENCY;
                e.timeout = Duration::from_secs(30);
                e
            })
            .collect();
        Backend::Live(Arc::new(Fleet::new(endpoints)))
    };
    let mut config = CampaignConfig {
        name: "bench-fleet".into(),
        task_concurrency: tasks,
        ..CampaignConfig::default()
    };
    config.author.model = "bench-author".into();
    config.solver.model = "bench-solver".into();
    config.evolution.drafts_per_task = 4;
    config.evolution.max_generations = 1;
    config.selftest.cases = 10;
    config.selftest.solver_cases = 10;
    config.selftest.accuracy_min = 0.0;
    let task_list: Vec<bootforge::campaign::tasks::Task> = (0..tasks)
        .map(|i| bootforge::campaign::tasks::Task {
            id: format!("task-{i:03}"),
            description: format!("Merge intervals, variant {i}."),
            title: None,
            examples: None,
            reference_solution: None,
            tags: vec![],
        })
        .collect();

    // The killer: drops the fastest server once enough requests arrived.
    let servers = Arc::new(Mutex::new(servers));
    let finished = Arc::new(AtomicBool::new(false));
    let killer = kill_after.map(|after| {
        let (servers, finished, total) = (servers.clone(), finished.clone(), total.clone());
        std::thread::spawn(move || {
            while !finished.load(Ordering::Relaxed) {
                if total.load(Ordering::Relaxed) >= after {
                    let dead = servers.lock().unwrap_or_else(|p| p.into_inner())[0].take();
                    drop(dead);
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    });

    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let jobs = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let sandbox = super::open(cache_dir, jobs)?;
    let (outcome, wall, spend) = runtime.block_on(async {
        let store = bootforge::store::Store::open(&dir.path().join("bench.db")).await?;
        let engines = bootforge::campaign::Engines {
            store: store.clone(),
            sandbox,
            author: fleet("bench-author"),
            solver: fleet("bench-solver"),
            recorder: None,
            progress: None,
        };
        let started = Instant::now();
        let outcome = bootforge::campaign::start(engines, config, None, task_list).await?;
        let wall = started.elapsed().as_secs_f64();
        let spend = store.spend_by_model(outcome.campaign).await?;
        Ok::<_, anyhow::Error>((outcome, wall, spend))
    })?;
    finished.store(true, Ordering::Relaxed);
    if let Some(k) = killer {
        let _ = k.join();
    }
    let requests = [0, 1, 2].map(|i| counters[i].load(Ordering::Relaxed));
    // Calls as the campaign stored them (retries are not calls).
    let calls = |role: &str| {
        spend
            .iter()
            .filter(|r| r.role == role)
            .map(|r| r.calls.max(0) as usize)
            .sum::<usize>()
    };
    let (author_calls, solver_calls) = (calls("author"), calls("solver"));
    let full = rate(&LATENCIES_MS);
    let ideal_role = |calls: usize| match kill_after {
        None => calls as f64 / full,
        Some(_) => calls as f64 / 2.0 / full + calls as f64 / 2.0 / rate(&LATENCIES_MS[1..]),
    };
    let round_trip = 2.0 * LATENCIES_MS[0] as f64 / 1e3;
    let ideal = ideal_role(author_calls).max(ideal_role(solver_calls)) + round_trip;
    Ok(FleetRun {
        wall_s: wall,
        ideal_s: ideal,
        ratio_to_ideal: wall / ideal,
        author_calls,
        solver_calls,
        requests,
        accepted: outcome
            .tasks
            .iter()
            .filter(|t| t.status == bootforge::campaign::status::TaskStatus::Accepted)
            .count(),
        status: outcome.status.to_string(),
    })
}

pub fn bench(cache_dir: &Path, tasks: usize) -> Result<FleetBench> {
    let all_up = run(cache_dir, tasks, None)?;
    let half = all_up.requests.iter().sum::<usize>() / 2;
    let one_killed = run(cache_dir, tasks, Some(half))?;
    let calls = all_up.author_calls + all_up.solver_calls;
    Ok(FleetBench {
        tasks,
        latencies_ms: LATENCIES_MS,
        concurrency: CONCURRENCY,
        all_up,
        one_killed,
        calls_all_up: calls_only(calls, false)?,
        calls_one_killed: calls_only(calls, true)?,
    })
}
