//! `bench --only levers`: what the sandbox's batching lever is worth, as
//! ratios measured in one run.
//!
//! The Latin-square loop of the throughput benchmark (generate + prompt +
//! verify per case) runs in bootforge's own sandbox with its batches of
//! cases per guest call and with one guest call per case (the existing
//! `case_batch` option of a run). Rounds alternate between the two and the
//! same loop under native `python3`, each round starting at another one, so
//! that drift in the machine's load hits all alike; each figure is the median
//! of its rounds, and the fastest round is shown too (noise only adds time).
//! Cold start (a new store, instantiation, loading the file) is measured per
//! variant too.
//!
//! The Cranelift settings this benchmark once compared (`speed_and_size`,
//! eager tables, the table-access Spectre mitigation off, the single-pass
//! register allocator) needed switches in the product's engine; those were
//! removed after being measured, and their numbers stay in
//! docs/benchmarks.md. `--quick` runs fewer cases and rounds.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::{ANSWER, checked, median, ms, native, puzzle_spec};
use bootforge::sandbox::{Sandbox, SandboxOptions};

#[derive(Debug, Serialize)]
pub struct Lever {
    pub name: String,
    /// Cases per guest call.
    pub case_batch: usize,
    /// Median wall time of the rounds' guest calls, ms.
    pub median_ms: f64,
    /// The fastest round's (noise only ever adds time), ms.
    pub min_ms: f64,
    /// The guest calls' CPU time in the fastest round, ms (leaves out the
    /// host's work between calls, which batching saves).
    pub min_cpu_ms: f64,
    /// bootforge's own settings' median over this one's: above 1, this
    /// variant is faster.
    pub speed_vs_default: f64,
    /// The same for the fastest rounds.
    pub speed_vs_default_min: f64,
    /// Native python3's median over this one's: the sandbox's speed as a
    /// fraction of native.
    pub speed_vs_native: Option<f64>,
    /// The same for the fastest rounds.
    pub speed_vs_native_min: Option<f64>,
    /// New store + instantiate + load, median, ms.
    pub cold_start_median_ms: f64,
    /// Compiling the component (or loading it from the cache), ms; the
    /// variants share one sandbox.
    pub compile_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct LeversBench {
    pub cases: u64,
    pub rounds: usize,
    pub native_median_ms: Option<f64>,
    pub native_min_ms: Option<f64>,
    pub native_python: Option<String>,
    pub levers: Vec<Lever>,
}

pub fn bench_levers(cache_dir: &Path, quick: bool) -> Result<LeversBench> {
    let (cases, rounds, cold_runs) = if quick { (30, 2, 3) } else { (300, 9, 30) };
    let batched = bootforge::sandbox::DEFAULT_CASE_BATCH;
    let variants: [(&str, usize); 2] = [("default", batched), ("one_call_per_case", 1)];
    eprintln!("bench: levers: opening the sandbox...");
    let mut options = SandboxOptions::new(cache_dir.to_path_buf());
    options.workers = 1;
    let sandbox = Sandbox::open(&options)?;
    let compile_ms = ms(sandbox.component_source().elapsed);
    let run = |case_batch: usize| -> Result<(f64, f64)> {
        let mut spec = puzzle_spec(0..cases, Some(ANSWER));
        spec.case_batch = case_batch;
        let report = checked(sandbox.run_blocking(spec), "levers")?;
        let t = &report.timings;
        Ok((t.calls_us as f64 / 1e3, t.calls_cpu_us as f64 / 1e3))
    };
    // Warm every variant (the first instantiation faults the image in).
    for (_, batch) in &variants {
        run(*batch)?;
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut cpu_times: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut native_times = Vec::new();
    let mut native_python = None;
    for round in 0..rounds {
        eprintln!("bench: levers: round {} of {rounds}...", round + 1);
        // Each round starts at another variant (native python3 included),
        // so that no variant always runs first or after the same one.
        let slots = variants.len() + 1;
        for slot in (0..slots).map(|k| (k + round) % slots) {
            if slot == variants.len() {
                match native(cases) {
                    Ok((result, version)) => {
                        native_times.push(result.elapsed_us as f64 / 1e3);
                        native_python = Some(version);
                    }
                    Err(err) if round == 0 => {
                        eprintln!("warning: no native comparison: {err:#}")
                    }
                    Err(_) => {}
                }
                continue;
            }
            let (_, batch) = &variants[slot];
            let (wall, cpu) = run(*batch)?;
            times[slot].push(wall);
            cpu_times[slot].push(cpu);
        }
    }
    let min = |values: &[f64]| values.iter().copied().fold(f64::INFINITY, f64::min);
    let native_min_ms = (!native_times.is_empty()).then(|| min(&native_times));
    let native_median_ms = (!native_times.is_empty()).then(|| median(&mut native_times));
    let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    let mins: Vec<f64> = times.iter().map(|t| min(t)).collect();
    let mut levers = Vec::new();
    for (i, (name, case_batch)) in variants.iter().enumerate() {
        let mut cold = Vec::with_capacity(cold_runs);
        for _ in 0..cold_runs {
            let report = checked(sandbox.run_blocking(puzzle_spec(0..0, None)), "levers")?;
            let t = &report.timings;
            cold.push((t.instantiate_us + t.load_us) as f64 / 1e3);
        }
        levers.push(Lever {
            name: (*name).into(),
            case_batch: *case_batch,
            median_ms: medians[i],
            min_ms: mins[i],
            min_cpu_ms: min(&cpu_times[i]),
            speed_vs_default: medians[0] / medians[i],
            speed_vs_default_min: mins[0] / mins[i],
            speed_vs_native: native_median_ms.map(|n| n / medians[i]),
            speed_vs_native_min: native_min_ms.map(|n| n / mins[i]),
            cold_start_median_ms: median(&mut cold),
            compile_ms,
        });
    }
    Ok(LeversBench {
        cases,
        rounds,
        native_median_ms,
        native_min_ms,
        native_python,
        levers,
    })
}

impl LeversBench {
    pub fn render(&self, lines: &mut Vec<String>) {
        let native = match (
            self.native_median_ms,
            self.native_min_ms,
            &self.native_python,
        ) {
            (Some(ms), Some(min), Some(v)) => {
                format!("native {v} {ms:.0} ms (fastest {min:.0} ms)")
            }
            _ => "no native python3".into(),
        };
        lines.push(format!(
            "levers       {} Latin-square cases (generate + verify), median of {} alternating rounds; {native}",
            self.cases, self.rounds
        ));
        for l in &self.levers {
            lines.push(format!(
                "levers         {:<28} {:>6.0} ms (fastest {:.0} ms, guest CPU {:.0} ms): {:.3}x the default's speed (fastest {:.3}x){}; cold start {:.2} ms; compile/load {:.0} ms",
                l.name,
                l.median_ms,
                l.min_ms,
                l.min_cpu_ms,
                l.speed_vs_default,
                l.speed_vs_default_min,
                match (l.speed_vs_native, l.speed_vs_native_min) {
                    (Some(r), Some(m)) => format!(", {r:.3} of native (fastest {m:.3})"),
                    _ => String::new(),
                },
                l.cold_start_median_ms,
                l.compile_ms
            ));
        }
    }
}
