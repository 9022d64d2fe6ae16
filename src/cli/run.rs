//! `bootforge sandbox run`: flags, validation and rendering.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde_json::{Map, Value, json};

use super::{CliResult, Exit, Out, exit, open_sandbox, usage};
use crate::sandbox::{CaseResult, Limits, RunReport, RunSpec};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The bootcamp file (Python, InternBootcamp's Basebootcamp interface).
    file: PathBuf,
    /// The bootcamp class to run, when the file defines several.
    #[arg(long, value_name = "NAME")]
    class: Option<String>,
    /// Keyword arguments for the class's __init__, as a JSON object.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    params: String,
    /// How many cases to generate.
    #[arg(long, value_name = "N", default_value_t = 3)]
    cases: u64,
    /// Seed of the first case; case i uses seed S+i.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// A model output to score against every case with verify_score.
    #[arg(long, value_name = "TEXT")]
    answer: Option<String>,
    /// Keyword arguments for verify_score, as a JSON object (format_score,
    /// short_penalty, short_threshold, ans_threshold, format_penalty).
    #[arg(long, value_name = "JSON", default_value = "{}")]
    score_flags: String,
    /// CPU-time budget of each guest call, ms: the CPU time the sandbox
    /// thread spends in it, so a busy machine gives the same verdict as a
    /// quiet one.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    timeout_ms: u64,
    /// Wall-clock ceiling of each guest call, ms (default: 10 times
    /// --timeout-ms): the backstop for a guest that waits instead of
    /// computing (a sleep). Lower it to stop sleepers sooner, at the risk of
    /// stopping CPU-bound calls on a busy machine.
    #[arg(long, value_name = "MS")]
    wall_timeout_ms: Option<u64>,
    /// Memory cap of the sandbox, MiB.
    #[arg(long, value_name = "MB", default_value_t = 1024)]
    memory_mb: u64,
    /// How much the bootcamp may print to stdout/stderr, bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    output_limit: u64,
    /// The largest case (as JSON) and the largest prompt accepted, bytes.
    /// The host enforces it on what it receives, whatever the bootcamp does.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_case_bytes: u64,
    /// One JSON object per case, then a {"summary": ...} line.
    #[arg(long)]
    json: bool,
}

pub(crate) fn json_object(
    text: &str,
    flag: &str,
    example: &str,
) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "{flag} must be a JSON object, got {}; for example {flag} '{example}'",
            kind_of(&other)
        )),
        Err(err) => Err(format!(
            "{flag} is not valid JSON ({err}); for example {flag} '{example}'"
        )),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn read_source(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path)
        .map_err(|err| format!("cannot read bootcamp file {}: {err}", path.display()))?;
    String::from_utf8(bytes)
        .map_err(|_| format!("bootcamp file {} is not UTF-8 text", path.display()))
}

pub fn run(args: RunArgs, cache_dir: &Path) -> CliResult {
    let source = read_source(&args.file).map_err(usage)?;
    let params = match json_object(&args.params, "--params", r#"{"size": 5}"#) {
        Ok(p) => p,
        Err(msg) => return Err(usage(msg)),
    };
    let score_flags = match json_object(
        &args.score_flags,
        "--score-flags",
        r#"{"format_score": 0.1}"#,
    ) {
        Ok(p) => p,
        Err(msg) => return Err(usage(msg)),
    };
    if args.timeout_ms == 0
        || args.wall_timeout_ms == Some(0)
        || args.memory_mb == 0
        || args.max_case_bytes == 0
    {
        return Err(usage(
            "--timeout-ms, --wall-timeout-ms, --memory-mb and --max-case-bytes must be positive",
        ));
    }
    if args.cases > 1_000_000 {
        return Err(usage(
            "--cases must be at most 1000000 per run (split larger batches over several seeds with --seed)",
        ));
    }
    let memory_bytes =
        usize::try_from(args.memory_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    let filename = args.file.display().to_string();
    let mut spec = RunSpec::new(filename.clone(), source);
    spec.class = args.class.clone();
    spec.params = params;
    spec.score_flags = score_flags;
    spec.limits = Limits {
        timeout: Duration::from_millis(args.timeout_ms),
        wall_timeout: args.wall_timeout_ms.map(Duration::from_millis),
        memory_bytes,
        output_bytes: usize::try_from(args.output_limit).unwrap_or(usize::MAX),
        case_bytes: usize::try_from(args.max_case_bytes).unwrap_or(usize::MAX),
    };
    let seeds = (0..args.cases).map(|i| args.seed.wrapping_add(i));
    let spec = spec.cases(seeds, args.answer.as_deref());

    let sandbox = open_sandbox(cache_dir, Some(1))?;
    let report = sandbox.run_blocking(spec);
    let mut out = Out::new();
    if args.json {
        render_json(&mut out, &report, args.cases);
    } else {
        render_human(&mut out, &report, &filename, args.cases);
    }
    if report.error.is_some() {
        Err(Exit::code(exit::FAILED))
    } else {
        Ok(())
    }
}

fn class_name(report: &RunReport) -> Option<&str> {
    report.loaded.as_ref().map(|l| l.class.as_str())
}

/// One `--json` line per case.
#[derive(serde::Serialize)]
struct CaseLine<'a> {
    class: Option<&'a str>,
    seed: u64,
    case: &'a serde_json::value::RawValue,
    prompt: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
}

fn render_json(out: &mut Out, report: &RunReport, requested: u64) {
    for case in report.cases() {
        // Only what depends on file, params and seed: no timings here.
        // The case goes out as the guest's raw JSON text: a tree would turn
        // big integers into floats.
        let line = CaseLine {
            class: class_name(report),
            seed: case.seed,
            case: &case.case_raw(),
            prompt: &case.prompt,
            score: case.score,
        };
        match serde_json::to_string(&line) {
            Ok(text) => out.line(text),
            Err(err) => eprintln!("error: writing case {}: {err}", case.seed),
        }
    }
    let t = &report.timings;
    let cases = report.cases().count();
    let summary = json!({
        "ok": report.error.is_none(),
        "class": class_name(report),
        "classes": report.loaded.as_ref().map(|l| &l.classes),
        "cases": cases,
        "requested": requested,
        "roundtrip_changed": report.cases().filter(|c| !c.roundtrip_equal).count(),
        "timings_ms": {
            "instantiate": t.instantiate_us as f64 / 1e3,
            "load": t.load_us as f64 / 1e3,
            "cases": t.calls_us as f64 / 1e3,
            "total": t.total_us as f64 / 1e3,
        },
        "cpu_ms": report.cpu.iter().map(|s| json!({
            "stage": s.stage,
            "calls": s.calls,
            "max": s.max_cpu_us as f64 / 1e3,
            "total": s.total_cpu_us as f64 / 1e3,
        })).collect::<Vec<_>>(),
        "peak_memory_bytes": report.peak_memory,
        "error": report.error,
    });
    out.line(json!({ "summary": summary }));
}

fn render_case(out: &mut Out, index: usize, case: &CaseResult) {
    out.line(format!("case {} · seed {}", index + 1, case.seed));
    out.line(format!(
        "  case    {}",
        crate::text::clip(&case.case_json, 400)
    ));
    let prompt = crate::text::clip(&case.prompt, 1200);
    let mut lines = prompt.lines();
    out.line(format!("  prompt  {}", lines.next().unwrap_or("")));
    for line in lines {
        out.line(format!("          {line}"));
    }
    if let Some(score) = case.score {
        out.line(format!("  score   {score}"));
    }
    if !case.roundtrip_equal {
        out.line("  note    the case changed in its JSON round-trip (tuples or non-string keys)");
    }
    out.line("");
}

fn render_human(out: &mut Out, report: &RunReport, filename: &str, requested: u64) {
    if let Some(loaded) = &report.loaded {
        out.line(format!("{} ({filename})", loaded.class));
        out.line("");
    }
    for (index, case) in report.cases().enumerate() {
        render_case(out, index, case);
    }
    let t = &report.timings;
    let cases = report.cases().count();
    match &report.error {
        None => {
            let per_case = if cases > 0 {
                t.calls_us as f64 / cases as f64 / 1e3
            } else {
                0.0
            };
            out.line(format!(
                "ok: {cases} of {requested} cases in {:.1} ms (instantiate {:.1} ms, load {:.1} ms, {:.2} ms per case)",
                t.total_us as f64 / 1e3,
                t.instantiate_us as f64 / 1e3,
                t.load_us as f64 / 1e3,
                per_case
            ));
        }
        Some(err) => {
            super::eprintln_visible!("error: {err}");
            if !err.traceback.is_empty() {
                for line in err.traceback.lines() {
                    super::eprintln_visible!("  {line}");
                }
            }
            eprintln!("failed after {cases} of {requested} cases");
        }
    }
}
