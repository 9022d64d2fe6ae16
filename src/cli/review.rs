//! `bootforge review`: the curator's queue (list, show, next, approve,
//! reject, revise, add). Parses flags, calls [`crate::review`], renders text
//! or `--json` lines, maps outcomes to exit codes.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::campaign::{DbArgs, open_store};
use super::check::{CheckArgs, render_report};
use super::run::read_source;
use super::values::ItemStatusArg;
use super::{CliResult, Exit, Out, exit, failed, open_sandbox, runtime, usage, visible};
use crate::evaluate::{StoredMutation, json_number};
use crate::review::{self, Decision, ItemDetail, ItemSummary, ReviewError, rules};
use crate::store::{ReviewFilter, Store};

/// At most `max` characters of `text`, saying how to see the rest.
fn clip(text: &str, max: usize) -> String {
    crate::text::clip_marked(text, crate::text::Limit::Chars(max), |rest| {
        format!(
            " …[{} more characters; --full shows all]",
            rest.chars().count()
        )
    })
}

// Parsed once per process: the size of the `add` variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum ReviewCommand {
    /// One line per queued bootcamp: id, status, task, class, campaign,
    /// accuracy with its 95% interval, diversity, warnings, age.
    List {
        #[arg(long, value_enum)]
        status: Option<ItemStatusArg>,
        #[arg(long, value_name = "ID")]
        campaign: Option<i64>,
        #[arg(long, value_name = "T")]
        task: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Everything a curator decides from: task, numbered code, three sample
    /// cases generated now in the sandbox, solver answers with their scores,
    /// metrics, findings, lineage and earlier decisions.
    Show {
        id: i64,
        /// Solver answers and prompts in full instead of clipped.
        #[arg(long)]
        full: bool,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The oldest pending bootcamp, shown as by `show`, followed by the
    /// commands that decide it.
    Next {
        #[arg(long)]
        full: bool,
        #[arg(long)]
        json: bool,
    },
    /// Approve a bootcamp for export and training data.
    Approve {
        id: i64,
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Reject a bootcamp.
    Reject {
        id: i64,
        /// Why (kept with the decision).
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        who: Who,
    },
    /// Send a campaign's bootcamp back: its task reopens, and `campaign
    /// resume` refines it with this note in the refine prompt.
    Revise {
        id: i64,
        /// What the author must change (reaches the refine prompt).
        #[arg(long, value_name = "TEXT")]
        note: String,
        #[command(flatten)]
        who: Who,
    },
    /// Check a bootcamp file as `check` does and, when it passes, queue it
    /// (exit 1 with its findings when it fails).
    Add(AddArgs),
}

/// Who decides, and whether over an earlier decision.
#[derive(Args, Debug)]
pub struct Who {
    /// The reviewer's name (default: BOOTFORGE_REVIEWER, else the login
    /// name): at most 80 characters, no control or hidden characters.
    #[arg(long, value_name = "NAME")]
    reviewer: Option<String>,
    /// Record the decision even if the item was decided before (both stay
    /// in its history).
    #[arg(long)]
    force: bool,
    /// Print the recorded decision as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// The bootcamp file.
    file: PathBuf,
    /// A note kept with the item (at most 4,000 characters).
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    #[command(flatten)]
    check: CheckArgs,
    /// Print {"item": ID|null, "report": ...} as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: ReviewCommand, db: &DbArgs, cache_dir: &Path) -> CliResult {
    let rt = runtime()?;
    rt.block_on(async move {
        if let ReviewCommand::Add(args) = cmd {
            return add(args, db, cache_dir).await;
        }
        let store = open_store(db).await?;
        match cmd {
            ReviewCommand::List {
                status,
                campaign,
                task,
                json,
            } => {
                list(
                    &store,
                    ReviewFilter {
                        status: status.map(Into::into),
                        campaign,
                        task,
                    },
                    json,
                )
                .await
            }
            ReviewCommand::Show { id, full, json } => {
                show(&store, cache_dir, id, full, json, None).await
            }
            ReviewCommand::Next { full, json } => match review::oldest_pending(&store).await {
                Ok(Some(id)) => show(&store, cache_dir, id, full, json, Some(db)).await,
                Ok(None) => {
                    if json {
                        Out::new().line("null");
                    } else {
                        eprintln!("the review queue has no pending item");
                    }
                    Ok(())
                }
                Err(err) => Err(failed(err)),
            },
            ReviewCommand::Approve { id, note, who } => {
                decide(&store, id, Decision::Approved, note, who).await
            }
            ReviewCommand::Reject { id, reason, who } => {
                decide(&store, id, Decision::Rejected, Some(reason), who).await
            }
            ReviewCommand::Revise { id, note, who } => {
                decide(&store, id, Decision::Revise, Some(note), who).await
            }
            ReviewCommand::Add(_) => unreachable!("handled above"),
        }
    })
}

fn fmt_accuracy(s: &ItemSummary) -> String {
    match (s.accuracy, s.interval) {
        (Some(a), Some([lo, hi])) => format!("{a:.3} [{lo:.3}, {hi:.3}]"),
        (Some(a), None) => format!("{a:.3}"),
        _ => "-".into(),
    }
}

async fn list(store: &Store, filter: ReviewFilter, json: bool) -> CliResult {
    let items = review::list(store, &filter).await?;
    let mut out = Out::new();
    if !json {
        out.line(format!(
            "{:>4}  {:<9} {:<20} {:<24} {:>8}  {:<24} {:>5} {:>9} {:>4} {:>5}",
            "id",
            "status",
            "task",
            "class",
            "campaign",
            "accuracy [95%]",
            "guess",
            "diversity",
            "warn",
            "age"
        ));
    }
    for s in &items {
        if json {
            out.line(serde_json::to_string(s).unwrap_or_default());
        } else {
            out.line(format!(
                "{:>4}  {:<9} {:<20} {:<24} {:>8}  {:<24} {:>5} {:>9} {:>4} {:>5}",
                s.id,
                s.status,
                visible(&s.task),
                visible(s.class.as_deref().unwrap_or("-")),
                s.campaign
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "file".into()),
                fmt_accuracy(s),
                s.guess_baseline
                    .map(|g| format!("{g:.2}"))
                    .unwrap_or_else(|| "-".into()),
                s.diversity
                    .map(|d| format!("{d:.2}"))
                    .unwrap_or_else(|| "-".into()),
                s.warnings,
                s.age
            ));
        }
    }
    Ok(())
}

async fn show(
    store: &Store,
    cache_dir: &Path,
    id: i64,
    full: bool,
    json: bool,
    next: Option<&DbArgs>,
) -> CliResult {
    let sandbox = open_sandbox(cache_dir, Some(1))?;
    let detail = match review::show(store, &sandbox, id).await {
        Ok(d) => d,
        Err(err) => return review_error(err),
    };
    let mut out = Out::new();
    if json {
        out.line(serde_json::to_string(&detail).unwrap_or_default());
        return Ok(());
    }
    render_detail(&mut out, &detail, full);
    if let Some(db) = next {
        let db = db
            .db
            .as_ref()
            .map(|p| format!(" --db {}", shell_quote(&p.display().to_string())))
            .unwrap_or_default();
        out.line("");
        out.line("Decide with one of:");
        out.line(format!("  bootforge{db} review approve {id} [--note TEXT]"));
        out.line(format!("  bootforge{db} review reject {id} --reason TEXT"));
        out.line(format!("  bootforge{db} review revise {id} --note TEXT"));
    }
    Ok(())
}

/// `text` as one shell word: quoted unless it holds only plain path
/// characters.
pub(super) fn shell_quote(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

fn indented(out: &mut Out, text: &str, prefix: &str) {
    for line in visible(text).lines() {
        out.line(format!("{prefix}{line}"));
    }
}

/// The calibration's chosen settings: what `export` and `generate --split`
/// use.
fn render_calibration(out: &mut Out, c: &review::CalibrationTable) {
    out.line(format!(
        "calibration {} against {} (moving: {}); export and generate --split use the settings met:",
        c.calibration,
        visible(&c.model),
        visible(c.moving.as_deref().unwrap_or("none found"))
    ));
    out.line(format!(
        "  {:<12} {:<32} {:>24} {:>12}",
        "target", "params", "accuracy (95% CI)", "gen ms/case"
    ));
    for r in &c.rows {
        let accuracy = match (r.accuracy, r.interval) {
            (Some(a), Some([lo, hi])) => {
                format!("{a:.2} ({lo:.2}-{hi:.2}) {}/{}", r.correct, r.cases)
            }
            _ => "-".into(),
        };
        let mut line = format!(
            "  {:<12} {:<32} {:>24} {:>12}",
            format!("{} {:.2}", r.role, r.target),
            clip(&visible(&r.params_text), 60),
            accuracy,
            r.generate_ms_per_case
                .map(|g| format!("{g:.2}"))
                .unwrap_or_else(|| "-".into())
        );
        if !r.met {
            line.push_str(&format!(
                "  missed: {}",
                visible(r.miss.as_deref().unwrap_or("no setting in bounds"))
            ));
        }
        out.line(line);
    }
}

fn render_detail(out: &mut Out, d: &ItemDetail, full: bool) {
    let s = &d.summary;
    let origin = match (s.campaign, s.draft, &s.file) {
        (Some(c), Some(draft), _) => format!("campaign {c}, draft #{draft}"),
        (_, _, Some(file)) => format!("file {}", visible(file)),
        _ => s.source.clone(),
    };
    out.line(format!(
        "review item {} · {} · task {} · class {} · {origin}",
        s.id,
        s.status,
        visible(&s.task),
        visible(s.class.as_deref().unwrap_or("-"))
    ));
    out.line(format!(
        "accuracy {}{} · diversity {} · {} warning(s) · queued {} ago",
        fmt_accuracy(s),
        s.solver_cases
            .map(|n| format!(" over {n} solver cases"))
            .unwrap_or_default(),
        s.diversity
            .map(|v| format!("{v:.2}"))
            .unwrap_or_else(|| "-".into()),
        s.warnings,
        s.age
    ));
    if let Some(c) = &d.calibration {
        render_calibration(out, c);
    }
    if !d.lineage.is_empty() {
        let steps: Vec<String> = d
            .lineage
            .iter()
            .map(|l| {
                format!(
                    "#{} {}{}",
                    l.draft,
                    l.operator,
                    l.fixed
                        .as_deref()
                        .map(|f| format!(" (fixed {})", clip(&visible(f), 80)))
                        .unwrap_or_default()
                )
            })
            .collect();
        let generation = d.lineage.last().map(|l| l.generation).unwrap_or(0);
        out.line(format!(
            "lineage: generation {generation}: {}",
            steps.join(" → ")
        ));
    }
    if let Some(m) = &d.author_model {
        out.line(format!(
            "models: author {} · solver {}",
            visible(m),
            visible(d.solver_model.as_deref().unwrap_or("-"))
        ));
    }
    if let Some(note) = &d.note {
        out.line(format!("note: {}", visible(note)));
    }
    if let Some(description) = &d.description {
        out.line("");
        out.line("== Task");
        indented(out, description, "  ");
    }
    out.line("");
    out.line(format!("== Code (params {})", d.params));
    for (i, line) in d.code.lines().enumerate() {
        out.line(format!("{:>4}  {}", i + 1, visible(line)));
    }
    out.line("");
    out.line(format!("== Sample cases ({})", d.samples.len()));
    for sample in &d.samples {
        out.line(format!(
            "seed {}: {}",
            sample.seed,
            clip(
                &visible(sample.case.get()),
                if full { usize::MAX - 1 } else { 600 }
            )
        ));
        out.line("  prompt:");
        let prompt = if full {
            sample.prompt.clone()
        } else {
            clip(&sample.prompt, 1500)
        };
        indented(out, &prompt, "    ");
    }
    if let Some(err) = &d.samples_error {
        out.line(format!("  generating samples failed: {}", visible(err)));
    }
    out.line("");
    let right = d
        .answers
        .iter()
        .filter(|a| a.score.is_some_and(|s| s >= 1.0))
        .count();
    out.line(format!(
        "== Solver answers ({}): {right} right, {} not, of {}",
        visible(d.solver_model.as_deref().unwrap_or("no solver model")),
        d.answers.len() - right,
        d.answers.len()
    ));
    // A few right and a few wrong ones, unless --full.
    let shown: Vec<&review::Answer> = if full {
        d.answers.iter().collect()
    } else {
        let ok = d
            .answers
            .iter()
            .filter(|a| a.score.is_some_and(|s| s >= 1.0))
            .take(2);
        let bad = d
            .answers
            .iter()
            .filter(|a| !a.score.is_some_and(|s| s >= 1.0))
            .take(3);
        ok.chain(bad).collect()
    };
    for a in shown {
        let mark = if a.score.is_some_and(|s| s >= 1.0) {
            "✓"
        } else {
            "✗"
        };
        out.line(format!(
            "  {mark} seed {} · score {}",
            a.seed.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
            a.score
                .map(|s| format!("{s:.2}"))
                .unwrap_or_else(|| "-".into())
        ));
        let limit = if full { usize::MAX - 1 } else { 400 };
        out.line("    prompt:");
        indented(
            out,
            &clip(&a.prompt, if full { limit } else { 200 }),
            "      ",
        );
        out.line("    answer:");
        indented(
            out,
            &clip(a.response.as_deref().unwrap_or("(no answer)"), limit),
            "      ",
        );
        if let Some(e) = &a.error {
            out.line(format!("    error: {}", visible(&clip(e, 200))));
        }
    }
    out.line("");
    out.line("== Metrics");
    if let Some(map) = d.metrics.as_object() {
        for (k, v) in map {
            if k == "solver" {
                if let Some(solver) = v.as_object() {
                    let brief: Vec<String> = solver
                        .iter()
                        .filter(|(k, _)| *k != "attempts")
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    out.line(format!("  solver: {}", visible(&brief.join(" "))));
                }
            } else {
                out.line(format!("  {k}: {}", visible(&v.to_string())));
            }
        }
    }
    // From the references, or else from the solver's right answers.
    let mutations = &d.mutations;
    if !mutations.is_empty() {
        out.line("");
        let credited: Vec<&StoredMutation> = mutations.iter().filter(|m| m.credited()).collect();
        out.line(format!(
            "== Near misses and over-broad answers ({} classes tried, {} got full credit)",
            mutations.len(),
            credited.len()
        ));
        for m in credited {
            out.line(format!(
                "  {} {}/{} ({:.2}, 95% CI {:.2}-{:.2}) judged {} -> {}",
                visible(m.strategy.as_deref().unwrap_or("?")),
                json_number(m.full_credit),
                json_number(m.cases),
                m.share.unwrap_or(0.0),
                m.wilson_low.unwrap_or(0.0),
                m.wilson_high.unwrap_or(0.0),
                m.judged.as_deref().unwrap_or("?"),
                m.verdict.as_deref().unwrap_or("?"),
            ));
            if let Some(e) = &m.example {
                out.line(format!(
                    "      seed {}: reference {} -> mutant {} scored {}",
                    json_number(e.seed),
                    visible(&clip(e.reference.as_deref().unwrap_or(""), 80)),
                    visible(&clip(e.mutant.as_deref().unwrap_or(""), 80)),
                    json_number(e.score)
                ));
            }
        }
    }
    out.line("");
    out.line(format!("== Findings ({})", d.findings.len()));
    for f in &d.findings {
        let mark = if f.is_error() { "✗" } else { "!" };
        out.line(format!(
            "  {mark} [{}] {}: {}",
            f.stage.as_deref().unwrap_or("?"),
            f.kind.as_deref().unwrap_or("?"),
            visible(&clip(f.message.as_deref().unwrap_or(""), 300))
        ));
        if !f.evidence.is_null() {
            out.line(format!(
                "      evidence: {}",
                visible(&clip(
                    &f.evidence.to_string(),
                    if full { usize::MAX - 1 } else { 400 }
                ))
            ));
        }
    }
    out.line("");
    out.line(format!("== Decisions ({})", d.decisions.len()));
    for dec in &d.decisions {
        out.line(format!(
            "  {} {} by {}{}{}",
            dec.created_at,
            dec.decision,
            visible(&dec.reviewer),
            if dec.forced { " (forced)" } else { "" },
            dec.note
                .as_deref()
                .map(|n| format!(": {}", visible(n)))
                .unwrap_or_default()
        ));
    }
}

fn review_error(err: ReviewError) -> CliResult {
    match err {
        ReviewError::NotFound(_) | ReviewError::Invalid(_) => Err(usage(err)),
        ReviewError::Refused(_) => {
            eprintln!("error: {err}");
            Err(Exit::code(exit::FAILED))
        }
        ReviewError::Other(err) => Err(failed(err)),
    }
}

async fn decide(
    store: &Store,
    id: i64,
    decision: Decision,
    note: Option<String>,
    who: Who,
) -> CliResult {
    let env = std::env::var("BOOTFORGE_REVIEWER").ok();
    let login = review::login_name();
    let reviewer = match rules::reviewer(who.reviewer.as_deref(), env.as_deref(), login.as_deref())
    {
        Ok(Some(name)) => name,
        Ok(None) => {
            return Err(usage(
                "who is deciding? pass --reviewer NAME or set BOOTFORGE_REVIEWER",
            ));
        }
        Err(why) => return Err(usage(format!("{why}; pass --reviewer NAME"))),
    };
    if let Some(Err(why)) = note.as_deref().map(rules::note) {
        let flag = match decision {
            Decision::Rejected => "--reason",
            _ => "--note",
        };
        return Err(usage(format!("{flag}: {why}")));
    }
    if note.as_deref().is_some_and(|n| n.trim().is_empty()) && decision != Decision::Approved {
        return Err(usage(format!(
            "`review {}` needs a non-empty text",
            decision.verb()
        )));
    }
    match review::decide(store, id, decision, &reviewer, note.as_deref(), who.force).await {
        Ok(row) => {
            let mut out = Out::new();
            if who.json {
                out.line(serde_json::to_string(&row).unwrap_or_default());
            } else {
                out.line(format!(
                    "review item {id}: {} by {}{}",
                    row.decision,
                    visible(&row.reviewer),
                    if row.forced {
                        " (forced over an earlier decision)"
                    } else {
                        ""
                    }
                ));
                if decision == Decision::Revise {
                    // Name the campaign: the advice is a command to run.
                    let campaign = store
                        .review_item(id)
                        .await
                        .ok()
                        .flatten()
                        .and_then(|item| item.campaign_id);
                    out.line(match campaign {
                        Some(c) => format!(
                            "its task reopened: `bootforge campaign resume {c}` refines it with your note"
                        ),
                        None => "its task reopened: resume its campaign (`bootforge review show` names it) to refine it with your note".to_owned(),
                    });
                }
            }
            Ok(())
        }
        Err(err) => review_error(err),
    }
}

async fn add(args: AddArgs, db: &DbArgs, cache_dir: &Path) -> CliResult {
    if let Some(Err(why)) = args.note.as_deref().map(rules::note) {
        return Err(usage(format!("--note: {why}")));
    }
    let config = args.check.config().map_err(usage)?;
    let solver = args.check.solver.model().map_err(usage)?;
    let source = read_source(&args.file).map_err(usage)?;
    let store = Store::open(&db.path()).await?;
    let sandbox = open_sandbox(cache_dir, None)?;
    let request = review::AddRequest {
        path: args.file.display().to_string(),
        source,
        note: args.note,
        check: config,
        solver,
    };
    let outcome = review::add(&store, &sandbox, request).await?;
    let mut out = Out::new();
    if args.json {
        out.line(serde_json::to_string(&outcome).unwrap_or_default());
    } else {
        render_report(&mut out, &outcome.report);
        match outcome.item {
            Some(id) => out.line(format!("queued as review item {id}")),
            None if outcome.report.verdict == crate::evaluate::Verdict::Undecided => eprintln!(
                "error: {} could not be judged (the solver endpoint failed, see above) and was not queued; check the endpoint and add it again",
                args.file.display()
            ),
            None => eprintln!(
                "error: {} failed its check and was not queued; fix the findings above and add it again",
                args.file.display()
            ),
        }
    }
    if outcome.item.is_some() {
        Ok(())
    } else {
        // Not queued is a failure even when the verdict passed.
        Err(super::check::verdict_exit(outcome.report.verdict)
            .err()
            .unwrap_or(Exit::code(exit::FAILED)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_counts_characters() {
        assert_eq!(clip("héllo", 10), "héllo");
        let c = clip("héllo wörld", 5);
        assert!(c.starts_with("héllo …[6 more"), "{c}");
    }
}
