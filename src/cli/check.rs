//! `bootforge check` and `bootforge audit`: flags, rendering, exit codes.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use super::run::{json_object, read_source};
use super::values::ThinkArg;
use super::{CliResult, Exit, Out, bad_input, exit, open_sandbox, runtime, usage};
use crate::evaluate::audit::{self, AuditSummary};
use crate::evaluate::{CheckConfig, CheckReport, Severity, StageStatus, Verdict};
use crate::llm::ChatModel;
use crate::sandbox::Limits;

/// The solver model: any OpenAI-compatible endpoint.
#[derive(Args, Debug, Clone)]
pub struct SolverArgs {
    /// Solver model name; without it the solver-accuracy stage is skipped.
    #[arg(long, value_name = "MODEL")]
    model: Option<String>,
    /// OpenAI-compatible API base of the solver.
    #[arg(
        long,
        value_name = "URL",
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    base_url: String,
    /// Environment variable holding the API key (none needed for local servers).
    #[arg(long, value_name = "NAME", default_value = "OPENAI_API_KEY")]
    api_key_env: String,
    /// Solver requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub(super) concurrency: usize,
    /// Limit of each solver request attempt, seconds.
    #[arg(long, value_name = "S", default_value_t = 600.0)]
    request_timeout_s: f64,
    /// Retries of a request on 429, 5xx, timeouts, connection failures and
    /// unreadable bodies.
    #[arg(long, value_name = "N", default_value_t = 4)]
    max_retries: u32,
    /// Sampling temperature (the server's default when not given).
    #[arg(long)]
    temperature: Option<f32>,
    /// Completion token limit (the server's default when not given).
    #[arg(long)]
    max_tokens: Option<u32>,
    /// Grade with verify_score's format_penalty (a <think> block required):
    /// auto = when the solver produced reasoning, on, or off.
    #[arg(long, value_enum, default_value_t = ThinkArg::Auto)]
    think: ThinkArg,
}

impl SolverArgs {
    pub(super) fn model(&self) -> Result<Option<Arc<dyn ChatModel>>, String> {
        let Some(model) = &self.model else {
            return Ok(None);
        };
        let role = super::client::role_of_flags(&super::client::Flags {
            model,
            base_url: &self.base_url,
            api_key_env: &self.api_key_env,
            concurrency: self.concurrency,
            request_timeout_s: self.request_timeout_s,
            max_retries: self.max_retries,
            temperature: self.temperature,
            max_tokens: self.max_tokens,
        })?;
        Ok(Some(super::client::single(&role)))
    }
}

/// What a check runs, shared by `check` and `audit`.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// The bootcamp class, when a file defines several.
    #[arg(long, value_name = "NAME")]
    class: Option<String>,
    /// Keyword arguments for the class's __init__, as a JSON object.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    params: String,
    /// Cases generated and checked (seeds 0..N).
    #[arg(long, value_name = "N", default_value_t = 20)]
    cases: u32,
    /// Cases the solver answers.
    #[arg(long, value_name = "S", default_value_t = 40)]
    solver_cases: u32,
    /// Lower bound of the solver-accuracy band.
    #[arg(long, value_name = "X", default_value_t = 0.03)]
    accuracy_min: f64,
    /// Upper bound of the solver-accuracy band.
    #[arg(long, value_name = "X", default_value_t = 0.85)]
    accuracy_max: f64,
    /// verify_score keyword arguments for grading solver answers and junk.
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
    /// The largest case (as JSON) and the largest prompt accepted, bytes.
    /// The host enforces it on what it receives, whatever the bootcamp does.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_case_bytes: u64,
    #[command(flatten)]
    pub(super) solver: SolverArgs,
}

impl CheckArgs {
    pub(super) fn config(&self) -> Result<CheckConfig, String> {
        let params = json_object(&self.params, "--params", r#"{"size": 5}"#)?;
        let score_flags = json_object(
            &self.score_flags,
            "--score-flags",
            r#"{"format_score": 0.1}"#,
        )?;
        if self.cases == 0 || self.cases > 100_000 {
            return Err("--cases must be between 1 and 100000".into());
        }
        if self.solver.model.is_some() && (self.solver_cases == 0 || self.solver_cases > 100_000) {
            return Err("--solver-cases must be between 1 and 100000 with --model".into());
        }
        let band_ok = (0.0..=1.0).contains(&self.accuracy_min)
            && (0.0..=1.0).contains(&self.accuracy_max)
            && self.accuracy_min <= self.accuracy_max;
        if !band_ok {
            return Err(format!(
                "the accuracy band must satisfy 0 <= --accuracy-min <= --accuracy-max <= 1, got [{}, {}]",
                self.accuracy_min, self.accuracy_max
            ));
        }
        if self.timeout_ms == 0
            || self.wall_timeout_ms == Some(0)
            || self.memory_mb == 0
            || self.max_case_bytes == 0
        {
            return Err(
                "--timeout-ms, --wall-timeout-ms, --memory-mb and --max-case-bytes must be positive"
                    .into(),
            );
        }
        Ok(CheckConfig {
            class: self.class.clone(),
            params,
            cases: self.cases,
            solver_cases: self.solver_cases,
            accuracy_min: self.accuracy_min,
            accuracy_max: self.accuracy_max,
            score_flags,
            think: self.solver.think.into(),
            limits: Limits {
                timeout: Duration::from_millis(self.timeout_ms),
                wall_timeout: self.wall_timeout_ms.map(Duration::from_millis),
                memory_bytes: usize::try_from(self.memory_mb.saturating_mul(1 << 20))
                    .unwrap_or(usize::MAX),
                case_bytes: usize::try_from(self.max_case_bytes).unwrap_or(usize::MAX),
                ..Limits::default()
            },
            ..CheckConfig::default()
        })
    }
}

#[derive(Args, Debug)]
pub struct CheckCommand {
    /// The bootcamp file.
    file: PathBuf,
    #[command(flatten)]
    args: CheckArgs,
    /// Sandbox instances running at once (default: the number of cores).
    /// Each may use up to --memory-mb of guest memory.
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Print one JSON object: verdict, findings, stages, metrics.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct AuditCommand {
    /// Bootcamp files or directories to search (recursively) for them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Checks running at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    #[command(flatten)]
    args: CheckArgs,
    /// One JSON object per bootcamp, then a {"summary": ...} line.
    #[arg(long)]
    json: bool,
}

pub fn check(cmd: CheckCommand, cache_dir: &Path) -> CliResult {
    let config = cmd.args.config().map_err(usage)?;
    let solver = cmd.args.solver.model().map_err(usage)?;
    let source = read_source(&cmd.file).map_err(usage)?;
    if cmd.workers == Some(0) {
        return Err(usage("--workers must be at least 1"));
    }
    let sandbox = open_sandbox(cache_dir, cmd.workers)?;
    let runtime = runtime()?;
    let file = cmd.file.display().to_string();
    let report = runtime.block_on(crate::evaluate::check(
        &sandbox, solver, &file, &source, &config,
    ));
    let mut out = Out::new();
    if cmd.json {
        out.line(serde_json::to_string(&report).unwrap_or_default());
    } else {
        render_report(&mut out, &report);
    }
    verdict_exit(report.verdict)
}

/// The exit code of one check's verdict.
pub(super) fn verdict_exit(verdict: Verdict) -> CliResult {
    match verdict {
        Verdict::Pass => Ok(()),
        Verdict::Fail => Err(Exit::code(exit::FAILED)),
        Verdict::Undecided => Err(Exit::code(exit::UNDECIDED)),
    }
}

/// `text` on one line of at most `max` characters and a bare `…`: a table
/// column, where the usual marker's space would cost a character.
fn clip_line(text: &str, max: usize) -> String {
    let flat = text.replace('\n', "⏎");
    crate::text::clip_marked(&flat, crate::text::Limit::Chars(max), |_| '…')
}

pub(super) fn render_report(out: &mut Out, report: &CheckReport) {
    let verdict = match report.verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Undecided => "UNDECIDED",
    };
    let class = report
        .class
        .as_deref()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    out.line(format!("{verdict}  {}{class}", report.file));
    for finding in &report.findings {
        let mark = if finding.severity == Severity::Error {
            "✗"
        } else {
            "!"
        };
        out.line(format!(
            "  {mark} {:<16} {}: {}",
            finding.stage.as_str(),
            finding.kind,
            clip_line(&finding.message, 160)
        ));
        if let Some(map) = finding.evidence.as_object() {
            for key in [
                "seed",
                "junk",
                "answer",
                "score",
                "case",
                "first",
                "second",
                "response",
                "traceback",
                "line",
                "text",
                "first_error",
            ] {
                if let Some(value) = map.get(key).filter(|v| !v.is_null()) {
                    let text = match value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    // An endpoint's error is the whole point of its finding:
                    // a connection error's cause comes last in its chain.
                    let max = if key == "first_error" { 400 } else { 140 };
                    if !text.is_empty() {
                        out.line(format!("      {key}: {}", clip_line(&text, max)));
                    }
                }
            }
        }
    }
    let stages: Vec<String> = report
        .stages
        .iter()
        .map(|s| {
            let status = match s.status {
                StageStatus::Passed => "passed",
                StageStatus::Failed => "FAILED",
                StageStatus::Undecided => "UNDECIDED",
                StageStatus::Skipped => "skipped",
            };
            format!("{} {status}", s.stage.as_str())
        })
        .collect();
    out.line(format!("  stages   {}", stages.join(" · ")));
    let m = &report.metrics;
    let mut metrics = vec![
        format!("{} cases", m.cases),
        format!("{} distinct", m.distinct_cases),
    ];
    if let Some(d) = m.deterministic {
        metrics.push(if d {
            "deterministic".into()
        } else {
            "NOT deterministic".into()
        });
    }
    if m.references_checked > 0 {
        metrics.push(format!(
            "references {}/{} score 1",
            m.references_passed, m.references_checked
        ));
    }
    metrics.push(format!(
        "junk {}/{} accepted",
        m.junk_accepted, m.junk_tried
    ));
    if let Some(s) = &m.solver {
        metrics.push(format!(
            "solver accuracy {:.3} (95% CI {:.3}-{:.3}, {}/{}; band [{}, {}]; {} errors)",
            s.accuracy,
            s.wilson_low,
            s.wilson_high,
            s.correct,
            s.cases,
            s.band[0],
            s.band[1],
            s.errors
        ));
        if s.truncated > 0 {
            metrics.push(format!(
                "{}/{} solver answers cut off by max_tokens (graded as they are)",
                s.truncated, s.cases
            ));
        }
    }
    out.line(format!("  metrics  {}", metrics.join(", ")));
    render_budget(out, &m.budget);
    if let Some(d) = &m.discrimination {
        render_discrimination(
            out,
            d,
            m.solver.as_ref().map(|s| (s.accuracy, s.wilson_low)),
        );
    }
    if let Some(s) = m.solver.as_ref().filter(|s| !s.mutations.is_empty()) {
        out.line("  (mutants of the solver's right answers)");
        render_mutations(out, &s.mutations);
    }
}

/// The most CPU time one call of each sandbox stage used, against the
/// per-call budget: "slow on every machine" shows here before it fails.
fn render_budget(out: &mut Out, budget: &crate::evaluate::BudgetMetrics) {
    if budget.stages.is_empty() {
        return;
    }
    let clock = match budget.clock {
        crate::sandbox::BudgetClock::Cpu => "CPU",
    };
    let stages: Vec<String> = budget
        .stages
        .iter()
        .map(|s| {
            format!(
                "{} {:.0} ms ({:.0}%)",
                s.stage,
                s.max_cpu_ms,
                s.max_share * 100.0
            )
        })
        .collect();
    out.line(format!(
        "  budget   slowest call per stage in CPU time, of a {:.0} ms {clock} budget: {}",
        budget.budget_ms,
        stages.join(", ")
    ));
}

/// The guess baseline against the solver, and every junk strategy that got
/// credit with its rate and interval.
fn render_discrimination(
    out: &mut Out,
    d: &crate::evaluate::DiscriminationMetrics,
    solver: Option<(f64, f64)>,
) {
    let baseline = match &d.guess_baseline {
        Some(b) => format!(
            "guess baseline {:.2} (95% CI {:.2}-{:.2}, {})",
            b.share, b.wilson_low, b.wilson_high, b.strategy
        ),
        None => "guess baseline -".into(),
    };
    let solver = match solver {
        Some((accuracy, low)) => format!(" vs solver accuracy {accuracy:.3} (low {low:.3})"),
        None => String::new(),
    };
    out.line(format!(
        "  junk     {} strategies on {} cases; {baseline}{solver}",
        d.strategies.len(),
        d.cases
    ));
    for s in d.strategies.iter().filter(|s| s.full_credit > 0) {
        let class = match s.class {
            crate::evaluate::junk::JunkClass::ContentFree => "content-free",
            crate::evaluate::junk::JunkClass::Guess => "guess",
            crate::evaluate::junk::JunkClass::NearMiss => "near-miss",
            crate::evaluate::junk::JunkClass::Overbroad => "over-broad",
        };
        let seeds: Vec<String> = s.credited_seeds.iter().map(u64::to_string).collect();
        out.line(format!(
            "    {:<24} {class:<12} full credit {}/{} ({:.2}, 95% CI {:.2}-{:.2}), mean score {:.2}, seeds {}",
            clip_line(&s.strategy, 24),
            s.full_credit,
            s.cases,
            s.share,
            s.wilson_low,
            s.wilson_high,
            s.mean_score,
            seeds.join(" ")
        ));
    }
    render_mutations(out, &d.mutations);
}

/// The near-miss and over-broad classes that got credit, with how each was
/// judged and one case as evidence (shared by `check` and `review show`).
pub(crate) fn render_mutations(
    out: &mut Out,
    mutations: &[crate::evaluate::judge::MutationReport],
) {
    let credited: Vec<_> = mutations.iter().filter(|m| m.full_credit > 0).collect();
    out.line(format!(
        "  mutants  {} near-miss and over-broad classes tried, {} got full credit",
        mutations.len(),
        credited.len()
    ));
    for m in credited {
        let example = m
            .example
            .as_ref()
            .map(|e| {
                format!(
                    "; seed {}: {} -> {} scored {}",
                    e.seed,
                    clip_line(&e.reference, 40),
                    clip_line(&e.mutant, 40),
                    e.score
                )
            })
            .unwrap_or_default();
        out.line(format!(
            "    {:<32} {}/{} ({:.2}, 95% CI {:.2}-{:.2}) judged {} -> {}{example}",
            m.strategy,
            m.full_credit,
            m.cases,
            m.share,
            m.wilson_low,
            m.wilson_high,
            serde_json::to_value(m.judged)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("?"),
            serde_json::to_value(m.verdict)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("?"),
        ));
    }
}

pub fn audit(cmd: AuditCommand, cache_dir: &Path) -> CliResult {
    let config = cmd.args.config().map_err(usage)?;
    let solver = cmd.args.solver.model().map_err(usage)?;
    let files = audit::collect(&cmd.paths).map_err(bad_input)?;
    let jobs = cmd
        .jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
        .max(1);
    let sandbox = open_sandbox(cache_dir, Some(jobs))?;
    let runtime = runtime()?;
    let total = files.bootcamps.len();
    let show_progress = std::io::stderr().is_terminal();
    let progress = move |done: usize, failed: usize| {
        if show_progress {
            let width = 30;
            let filled = (done * width).checked_div(total).unwrap_or(width);
            eprint!(
                "\raudit [{}{}] {done}/{total}  failed {failed} ",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
        }
    };
    let started = Instant::now();
    let reports = runtime.block_on(audit::audit(
        &sandbox,
        solver,
        &files.bootcamps,
        &config,
        jobs,
        &progress,
    ));
    if show_progress {
        eprintln!();
    }
    let summary = audit::summarize(
        &reports,
        files.skipped,
        started.elapsed().as_secs_f64(),
        jobs,
    );
    let mut out = Out::new();
    if cmd.json {
        for report in &reports {
            out.line(serde_json::to_string(report).unwrap_or_default());
        }
        out.line(json!({ "summary": summary }));
    } else {
        render_audit(&mut out, &reports, &summary);
    }
    if summary.failed > 0 {
        Err(Exit::code(exit::FAILED))
    } else if summary.undecided > 0 {
        Err(Exit::code(exit::UNDECIDED))
    } else {
        Ok(())
    }
}

fn render_audit(out: &mut Out, reports: &[CheckReport], summary: &AuditSummary) {
    let width = reports
        .iter()
        .map(|r| r.file.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    out.line(format!(
        "{:<9} {:<width$} {:<28} main finding",
        "verdict", "file", "class"
    ));
    for report in reports {
        let verdict = match report.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Undecided => "undecided",
        };
        let main = report
            .main_finding()
            .map(|f| format!("{}: {}", f.kind, clip_line(&f.message, 90)))
            .unwrap_or_else(|| "-".into());
        let file = clip_line(&report.file, width);
        out.line(format!(
            "{verdict:<9} {file:<width$} {:<28} {main}",
            report.class.as_deref().unwrap_or("-")
        ));
    }
    out.line("");
    let undecided = if summary.undecided > 0 {
        format!(
            ", {} undecided (the solver endpoint failed: check it and audit them again)",
            summary.undecided
        )
    } else {
        String::new()
    };
    out.line(format!(
        "{} bootcamps: {} pass, {} fail{undecided} ({} other Python files skipped) in {:.1} s, {:.1} files/s with {} jobs",
        summary.files, summary.passed, summary.failed, summary.skipped_non_bootcamps, summary.elapsed_s, summary.files_per_s, summary.jobs
    ));
    if !summary.findings.is_empty() {
        let mut counts: Vec<(&String, &usize)> = summary.findings.iter().collect();
        counts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        out.line(format!(
            "findings: {}",
            counts
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !summary.mutation_classes.is_empty() {
        out.line(format!(
            "near-miss and over-broad classes that fail: {}",
            summary
                .mutation_classes
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !summary.warnings.is_empty() {
        out.line(format!(
            "warnings: {}",
            summary
                .warnings
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}
