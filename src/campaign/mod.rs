//! Campaigns: task descriptions in, evaluated and accepted bootcamps out,
//! every step stored.
//!
//! Per task, generation 0 samples `drafts_per_task` drafts from the author;
//! each is evaluated by the staged checks of [`crate::evaluate`]; the first
//! draft that passes ends the task (`accepted`). A draft that passed every
//! stage but the accuracy band is then calibrated (`[evolution] calibrate`,
//! on by default): its constructor's numeric parameters are searched with
//! the campaign's own solver, within `calibrate_max_solver_calls`, and a
//! setting in the band where every other check passes too ends the task
//! with no author call (the review item gets that setting, and the full
//! check there as its report). Otherwise the best drafts that
//! loaded (furthest stage reached, then closeness to the accuracy band) become
//! parents of `children_per_parent` refined children each, whose prompt
//! carries the parent's code and concrete failures (and, for a calibrated
//! parent, every setting its calibration tried), until `max_generations`;
//! then the task ends `rejected` with its best draft named.
//!
//! The loop keeps no state of its own: [`decide::decide`] computes each step
//! from the stored drafts, every completed step is one transaction, and every
//! LLM call is content-addressed, so `campaign resume` after a crash (even
//! `kill -9`) finishes without repeating a finished call or evaluation.

pub mod config;
pub mod decide;
pub mod lease;
pub mod lineage;
pub mod progress;
pub mod prompts;
pub mod resume;
mod solver_table;
pub mod status;
pub mod tasks;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::calibrate::stored::StoredCalibration;
use crate::calls::{self, Budget, DraftSolver, Router, Stop, call_key, cost};
use crate::evaluate::{
    CheckConfig, CheckReport, CheckStage, FindingKind, Severity, StageStatus, StoredReport,
};
use crate::sandbox::{Limits, Sandbox};
use crate::store::{CampaignCounts, EvaluationRecord, NewDraft, Store, TaskRow};
use config::CampaignConfig;
use decide::Next;
use lease::{Interrupt, Lease, RunControl};
use progress::{CampaignEvent, Counts, Progress, Remedy};
use prompts::Prompts;
use status::{CampaignStatus, DraftStatus, TaskStatus};
use tasks::Task;

/// How one task ended (or where it stands).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskOutcome {
    pub task: String,
    pub status: TaskStatus,
    /// The accepted draft, else the best one.
    pub draft: Option<i64>,
    pub generation: Option<i64>,
    pub accuracy: Option<f64>,
}

/// How a campaign run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignOutcome {
    pub campaign: i64,
    /// Done or stopped.
    pub status: CampaignStatus,
    /// Why it stopped; for a finished campaign, what its rejected tasks'
    /// author answers say went wrong (cut off by max_tokens), if anything.
    pub reason: Option<String>,
    /// What to do about a stop or that cause.
    pub remedy: Option<Remedy>,
    pub tasks: Vec<TaskOutcome>,
}

/// Everything a run needs besides the config.
pub struct Engines {
    pub store: Store,
    pub sandbox: Sandbox,
    pub author: calls::Backend,
    pub solver: calls::Backend,
    pub recorder: Option<Arc<calls::Recorder>>,
    /// Where progress goes, if anywhere.
    pub progress: Option<Arc<dyn Progress>>,
}

/// Start a campaign: store it and its tasks, then run it.
pub async fn start(
    engines: Engines,
    config: CampaignConfig,
    config_path: Option<String>,
    tasks: Vec<Task>,
) -> Result<CampaignOutcome> {
    start_controlled(engines, config, config_path, tasks, RunControl::default()).await
}

/// [`start`] with its lease lifetime and interrupt.
pub async fn start_controlled(
    engines: Engines,
    config: CampaignConfig,
    config_path: Option<String>,
    tasks: Vec<Task>,
    control: RunControl,
) -> Result<CampaignOutcome> {
    let prompts = Prompts::load(config.prompts.as_deref())?;
    let config_json = serde_json::to_string(&config)?;
    let rows = task_rows(&tasks);
    let id = engines
        .store
        .create_campaign_with_tasks(&config.name, &config_json, config_path.as_deref(), &rows)
        .await?;
    // A task a curator sent back in an earlier campaign is refined here
    // with the curator's note (`review revise`).
    engines
        .store
        .carry_revisions(id, crate::review::rules::carried_note)
        .await?;
    let lease = Lease::acquire(&engines.store, id, control.lease_ttl).await?;
    held(engines, id, config, prompts, lease, control.interrupt).await
}

/// Task rows to store for a campaign's tasks.
pub fn task_rows(tasks: &[Task]) -> Vec<(String, Option<String>, String, String)> {
    tasks
        .iter()
        .map(|t| {
            let extra = json!({"examples": t.examples, "reference_solution": t.reference_solution, "tags": t.tags});
            (t.id.clone(), t.title.clone(), t.description.clone(), extra.to_string())
        })
        .collect()
}

/// Resume a stored campaign where it stopped.
pub async fn resume(engines: Engines, id: i64) -> Result<CampaignOutcome> {
    resume_controlled(engines, id, RunControl::default(), None).await
}

/// [`resume()`] with its lease lifetime and interrupt; `lease` when the caller
/// already holds it (a daemon claims a slot, its campaign and its lease in
/// one transaction). Refused with [`lease::LeaseHeld`] while another live
/// process holds the campaign.
pub async fn resume_controlled(
    engines: Engines,
    id: i64,
    control: RunControl,
    lease: Option<Lease>,
) -> Result<CampaignOutcome> {
    let row = engines.store.campaign(id).await?.with_context(|| {
        format!("no campaign {id} in this database (see `bootforge campaign list`)")
    })?;
    let config: CampaignConfig = serde_json::from_str(&row.config_json)
        .context("reading the stored campaign configuration")?;
    let prompts = Prompts::load(config.prompts.as_deref())?;
    let lease = match lease {
        Some(lease) => lease,
        None => Lease::acquire(&engines.store, id, control.lease_ttl).await?,
    };
    engines
        .store
        .set_campaign_status(id, CampaignStatus::Running, None)
        .await?;
    held(engines, id, config, prompts, lease, control.interrupt).await
}

/// Run a campaign whose lease this process holds, then give the lease up
/// (also when the run fails).
async fn held(
    engines: Engines,
    id: i64,
    config: CampaignConfig,
    prompts: Prompts,
    lease: Lease,
    interrupt: Interrupt,
) -> Result<CampaignOutcome> {
    let result = drive(engines, id, config, prompts, &lease, interrupt).await;
    if let Err(err) = lease.release().await {
        // It expires by itself.
        tracing::warn!("releasing the lease of campaign {id}: {err:#}");
    }
    result
}

/// The checks as a campaign runs them (also what `bootforge calibrate
/// --config` checks settings with).
pub(crate) fn check_config(config: &CampaignConfig) -> CheckConfig {
    CheckConfig {
        cases: config.selftest.cases,
        solver_cases: config.selftest.solver_cases,
        accuracy_min: config.selftest.accuracy_min,
        accuracy_max: config.selftest.accuracy_max,
        limits: Limits {
            timeout: Duration::from_millis(config.selftest.timeout_ms),
            wall_timeout: config.selftest.wall_timeout_ms.map(Duration::from_millis),
            ..Limits::default()
        },
        ..CheckConfig::default()
    }
}

struct Shared {
    store: Store,
    sandbox: Sandbox,
    campaign: i64,
    config: CampaignConfig,
    check: CheckConfig,
    prompts: Arc<Prompts>,
    author: Arc<Router>,
    solver: Arc<Router>,
}

async fn drive(
    engines: Engines,
    id: i64,
    config: CampaignConfig,
    prompts: Prompts,
    lease: &Lease,
    interrupt: Interrupt,
) -> Result<CampaignOutcome> {
    let spent = engines.store.usage(id).await?;
    let spent_usd = cost::price(spend_rows(&engines.store, id).await?, &config.prices).1;
    let budget = Arc::new(
        Budget::new(spent, config.budget.max_llm_calls, config.budget.max_tokens).with_usd(
            spent_usd,
            config.budget.max_usd,
            config.prices.clone(),
        ),
    );
    let router = |role: &'static str, model: &str, concurrency: usize, backend| {
        Arc::new(Router {
            role,
            model: model.to_owned(),
            store: engines.store.clone(),
            campaign: id,
            backend,
            budget: budget.clone(),
            recorder: engines.recorder.clone(),
            stop: std::sync::Mutex::new(None),
            gate: tokio::sync::Semaphore::new(concurrency.max(1)),
        })
    };
    // A role's calls at once: the sum over its endpoints (one, or a fleet).
    let slots = |role: &crate::calls::role::RoleConfig| -> usize {
        role.resolved_endpoints()
            .iter()
            .map(|e| e.concurrency)
            .sum()
    };
    let (author_n, solver_n) = (slots(&config.author), slots(&config.solver));
    let author = router("author", &config.author.model, author_n, engines.author);
    let solver = router("solver", &config.solver.model, solver_n, engines.solver);
    let shared = Arc::new(Shared {
        store: engines.store.clone(),
        sandbox: engines.sandbox.clone(),
        campaign: id,
        check: check_config(&config),
        config,
        prompts: Arc::new(prompts),
        author,
        solver,
    });

    // Keep the lease while the campaign runs; stop taking new steps when it
    // is lost (another process took the campaign over) or on an interrupt.
    let keeper = {
        let shared = shared.clone();
        let lease = lease.clone();
        tokio::spawn(async move {
            let reason = loop {
                tokio::select! {
                    reason = interrupt.wait() => break reason,
                    _ = tokio::time::sleep(lease.renew_every()) => {
                        if let Ok(false) = lease.renew().await {
                            break format!("campaign {} was taken over by another process (its lease expired)", lease.campaign);
                        }
                    }
                }
            };
            for router in [&shared.author, &shared.solver] {
                router.interrupt(Stop::Interrupted(reason.clone()));
            }
        })
    };

    let tasks = shared.store.tasks(id).await?;
    let total = tasks.len();
    let progress = engines.progress.map(|sink| {
        let shared = shared.clone();
        let budget = budget.clone();
        let reporter = sink.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                report_counts(&shared, &budget, total, reporter.as_ref()).await;
            }
        });
        (sink, task)
    });

    let permits = Arc::new(Semaphore::new(shared.config.task_concurrency));
    let mut running = tokio::task::JoinSet::new();
    for task in tasks
        .into_iter()
        .filter(|t| t.status == TaskStatus::Running)
    {
        let shared = shared.clone();
        let permits = permits.clone();
        running.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let id = task.id.clone();
            (id, run_task(&shared, task).await)
        });
    }
    let mut failure: Option<String> = None;
    while let Some(joined) = running.join_next().await {
        match joined {
            Ok((_, Ok(()))) => {}
            Ok((task, Err(err))) => {
                failure.get_or_insert(format!("task {task}: {err:#}"));
            }
            Err(err) => {
                failure.get_or_insert(format!("a task crashed: {err}"));
            }
        }
    }
    keeper.abort();
    if let Some((sink, task)) = progress {
        task.abort();
        // One last report, so the counts shown last are the final ones
        // rather than those from up to half a second before.
        report_counts(&shared, &budget, total, sink.as_ref()).await;
        sink.event(&CampaignEvent::Ended);
    }
    let stop = shared.author.stopped().or_else(|| shared.solver.stopped());
    let reason = match (&stop, &failure) {
        (Some(Stop::Budget), _) => Some("the budget is spent".to_owned()),
        (Some(Stop::Replay(msg)), _) => Some(msg.clone()),
        (Some(Stop::Endpoint(msg)), _) => Some(msg.clone()),
        (Some(Stop::Store(msg)), _) => Some(format!("the store failed: {msg}")),
        (Some(Stop::Interrupted(msg)), _) => Some(lease::interrupted_reason(msg)),
        (None, Some(msg)) => Some(msg.clone()),
        (None, None) => None,
    };
    let tasks = shared.store.tasks(id).await?;
    let finished = tasks.iter().all(|t| t.status != TaskStatus::Running);
    let status = if finished && reason.is_none() {
        CampaignStatus::Done
    } else {
        CampaignStatus::Stopped
    };
    shared
        .store
        .set_campaign_status(id, status, reason.as_deref())
        .await?;
    let remedy = match &stop {
        Some(Stop::Budget) => Some(Remedy::RaiseBudget),
        Some(Stop::Replay(_)) => Some(Remedy::LiveEndpointOrCassette),
        Some(Stop::Endpoint(_)) => Some(Remedy::CheckEndpoint),
        Some(Stop::Store(_) | Stop::Interrupted(_)) | None if status == CampaignStatus::Stopped => {
            Some(Remedy::Resume)
        }
        _ => None,
    };
    let (reason, remedy) = match (reason, remedy) {
        (None, None) => {
            let mut statuses = Vec::new();
            for task in tasks.iter().filter(|t| t.status == TaskStatus::Rejected) {
                for d in shared.store.drafts(id, &task.id).await? {
                    statuses.push(d.status);
                }
            }
            match rejection_cause(&statuses, shared.config.author.max_tokens) {
                Some((reason, remedy)) => (Some(reason), Some(remedy)),
                None => (None, None),
            }
        }
        other => other,
    };
    Ok(CampaignOutcome {
        campaign: id,
        status,
        reason,
        remedy,
        tasks: outcomes(&shared.store, id, &tasks).await?,
    })
}

/// What the drafts of a finished campaign's rejected tasks (their statuses)
/// say went wrong outside the bootcamps themselves: author answers cut off
/// by `max_tokens` never had complete code to check. The cause and what to
/// do, or None when no answer was cut off.
pub fn rejection_cause(
    statuses: &[DraftStatus],
    max_tokens: Option<u32>,
) -> Option<(String, Remedy)> {
    let answered = statuses
        .iter()
        .filter(|s| !matches!(s, DraftStatus::Pending | DraftStatus::LlmFailed))
        .count();
    let cut = statuses
        .iter()
        .filter(|s| **s == DraftStatus::Truncated)
        .count();
    if cut == 0 {
        return None;
    }
    let reason = if cut == answered {
        format!(
            "every author answer of the rejected tasks ({cut} of {answered}) was cut off by max_tokens: no draft had complete code to check"
        )
    } else {
        format!(
            "{cut} of {answered} author answers of the rejected tasks were cut off by max_tokens"
        )
    };
    Some((reason, Remedy::RaiseAuthorMaxTokens { now: max_tokens }))
}

/// Report the campaign's counts (none when the store cannot say).
async fn report_counts(shared: &Shared, budget: &Budget, total: usize, sink: &dyn Progress) {
    if let Ok(CampaignCounts {
        evaluated,
        accepted,
        ..
    }) = shared.store.counts(shared.campaign).await
    {
        let done = shared
            .store
            .tasks(shared.campaign)
            .await
            .map(|t| t.iter().filter(|t| t.status != TaskStatus::Running).count())
            .unwrap_or(0);
        let (calls, tokens) = budget.spent();
        sink.event(&CampaignEvent::Counts(Counts {
            campaign: shared.campaign,
            tasks_done: done,
            tasks_total: total,
            drafts_evaluated: evaluated,
            tasks_accepted: accepted,
            llm_calls: calls,
            tokens,
            usd: (!shared.config.prices.is_empty()).then(|| budget.spent_usd()),
        }));
    }
}

/// Calls and tokens by role and model, unpriced.
async fn spend_rows(store: &Store, campaign: i64) -> Result<Vec<cost::Spend>> {
    Ok(store
        .spend_by_model(campaign)
        .await?
        .into_iter()
        .map(|r| cost::Spend {
            role: r.role,
            model: r.model,
            calls: r.calls,
            prompt_tokens: r.prompt_tokens,
            completion_tokens: r.completion_tokens,
            usd: None,
        })
        .collect())
}

/// A campaign's spend by role and model at the config's prices, and the
/// total of the priced rows.
pub async fn spend(
    store: &Store,
    campaign: i64,
    config: &CampaignConfig,
) -> Result<(Vec<cost::Spend>, f64)> {
    Ok(cost::price(
        spend_rows(store, campaign).await?,
        &config.prices,
    ))
}

/// What a draft's status means, when it is not plain.
pub fn draft_note(status: DraftStatus) -> Option<&'static str> {
    match status {
        DraftStatus::Truncated => {
            Some("the author's answer was cut off by max_tokens: raise [author].max_tokens")
        }
        DraftStatus::NoCode => {
            Some("the author's answer held no Python code block defining a Basebootcamp subclass")
        }
        DraftStatus::LlmFailed => Some(
            "the author call failed: the server refused the request (too long, malformed) or it failed past its retries",
        ),
        _ => None,
    }
}

/// The outcome of each task as stored.
pub async fn outcomes(store: &Store, campaign: i64, tasks: &[TaskRow]) -> Result<Vec<TaskOutcome>> {
    let mut out = Vec::new();
    for task in tasks {
        let drafts = store.drafts(campaign, &task.id).await?;
        let draft = task.accepted_draft.or(task.best_draft);
        let row = draft.and_then(|id| drafts.iter().find(|d| d.id == id));
        out.push(TaskOutcome {
            task: task.id.clone(),
            status: task.status,
            draft,
            generation: row.map(|d| d.generation),
            accuracy: row.and_then(|d| d.accuracy),
        });
    }
    Ok(out)
}

fn stopped(shared: &Shared) -> bool {
    shared.author.stopped().is_some() || shared.solver.stopped().is_some()
}

async fn run_task(shared: &Shared, task: TaskRow) -> Result<()> {
    let band = (
        shared.config.selftest.accuracy_min,
        shared.config.selftest.accuracy_max,
    );
    loop {
        if stopped(shared) {
            return Ok(());
        }
        let drafts = shared.store.drafts(shared.campaign, &task.id).await?;
        // Drafts a curator sent back, with the note their children's refine
        // prompt carries (`review revise`).
        let revisions = shared.store.revisions(shared.campaign, &task.id).await?;
        let revised: Vec<i64> = revisions.iter().map(|r| r.draft_id).collect();
        match decide::decide_with_revisions(&drafts, &revised, &shared.config.evolution, band) {
            Next::Accepted(draft) => {
                // Accepted and queued for review in one transaction.
                shared
                    .store
                    .accept_task(shared.campaign, &task.id, draft)
                    .await?;
                return Ok(());
            }
            Next::Rejected(best) => {
                shared
                    .store
                    .set_task_status(shared.campaign, &task.id, TaskStatus::Rejected, None, best)
                    .await?;
                return Ok(());
            }
            Next::Create(planned) => {
                let mut batch = Vec::with_capacity(planned.len());
                for plan in planned {
                    let parent = plan.parent.and_then(|p| drafts.iter().find(|d| d.id == p));
                    let note = parent.and_then(|p| revisions.iter().find(|r| r.draft_id == p.id));
                    let (operator, template, prompt) = match parent {
                        None => ("draft", prompts::DRAFT, draft_prompt(shared, &task)?),
                        Some(parent) => (
                            if note.is_some() { "revise" } else { "refine" },
                            prompts::REFINE,
                            refine_prompt(shared, &task, parent, note.map(|r| r.note.as_str()))
                                .await?,
                        ),
                    };
                    batch.push(NewDraft {
                        campaign_id: shared.campaign,
                        task_id: task.id.clone(),
                        generation: plan.generation,
                        sample: plan.sample,
                        parent_id: plan.parent,
                        operator: operator.into(),
                        template: template.into(),
                        template_sha: shared.prompts.sha(template),
                        model: shared.config.author.model.clone(),
                        prompt,
                    });
                }
                // All of a generation's drafts or none: decisions are read
                // back from these rows.
                shared.store.insert_drafts(&batch).await?;
            }
            Next::Calibrate(ids) => {
                let runs = ids.iter().map(|&id| {
                    calibrate_draft(
                        shared,
                        &drafts,
                        drafts.iter().find(|d| d.id == id).expect("listed"),
                    )
                });
                for result in futures::future::join_all(runs).await {
                    result?;
                }
            }
            Next::Work { call, evaluate } => {
                let calls = call.iter().map(|&id| {
                    author_call(
                        shared,
                        &drafts,
                        drafts.iter().find(|d| d.id == id).expect("listed"),
                    )
                });
                let evals = evaluate.iter().map(|&id| {
                    evaluate_draft(
                        shared,
                        &drafts,
                        drafts.iter().find(|d| d.id == id).expect("listed"),
                    )
                });
                let (a, b) = tokio::join!(
                    futures::future::join_all(calls),
                    futures::future::join_all(evals)
                );
                for result in a.into_iter().chain(b) {
                    result?;
                }
            }
        }
    }
}

fn task_context(task: &TaskRow) -> Value {
    let extra: Value = serde_json::from_str(&task.extra_json).unwrap_or(Value::Null);
    json!({
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "examples": extra.get("examples").cloned().filter(|v| !v.is_null()).map(|v| v.to_string()),
        "reference_solution": extra.get("reference_solution").cloned().filter(|v| !v.is_null()),
    })
}

/// What the draft prompt states is wanted: the band the solver's accuracy
/// must land in, the solver's name and the time each guest call may take.
fn wanted(shared: &Shared) -> serde_json::Value {
    json!({
        "solver_model": shared.solver.model,
        "band_min": shared.check.accuracy_min,
        "band_max": shared.check.accuracy_max,
        "time_budget_ms": shared.check.limits.timeout.as_millis() as u64,
    })
}

fn draft_prompt(shared: &Shared, task: &TaskRow) -> Result<String> {
    shared
        .prompts
        .render(prompts::DRAFT, json!({"interface": prompts::INTERFACE, "example": prompts::EXAMPLE, "task": task_context(task), "wanted": wanted(shared)}))
}

/// At most `max` characters of `text` for a refine prompt or a stored note.
/// Its marker stays as it was: a refine prompt is part of its call's
/// content key, so a new marker would make a resumed campaign repeat calls.
fn clip(text: &str, max: usize) -> String {
    crate::text::clip_marked(text, crate::text::Limit::Chars(max), |_| " …[clipped]")
}

/// The refine prompt: the parent's code and its concrete failures, capped.
async fn refine_prompt(
    shared: &Shared,
    task: &TaskRow,
    parent: &crate::store::DraftRow,
    reviewer_note: Option<&str>,
) -> Result<String> {
    let stored = shared
        .store
        .evaluation_report(parent.id)
        .await?
        .unwrap_or_default();
    let report = StoredReport::parse(&stored);
    let mut failures = Vec::new();
    let mut traceback = None;
    let mut notes = Vec::new();
    for finding in &report.findings {
        if !finding.is_error() || failures.len() >= 8 {
            continue;
        }
        let mut evidence = finding.evidence.clone();
        if let Some(tb) = evidence
            .get("traceback")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            traceback.get_or_insert_with(|| clip(tb, 3000));
        }
        if let Some(map) = evidence.as_object_mut() {
            map.remove("traceback");
        }
        match finding.kind() {
            Some(FindingKind::TooEasy) => notes.push("too easy: the solver model is right too often; make instances harder (larger, more constrained) without simplifying how answers are checked"),
            Some(FindingKind::TooHardOrBroken) => notes.push("too hard or broken: the solver model is almost never right; check that the verifier accepts correct answers in the format the prompt asks for, and that instances are solvable"),
            Some(FindingKind::AcceptsNearMiss) => notes.push("near misses: the verifier gave full credit to answers that are almost right (the evidence shows the reference answer, the changed answer and its score); as an RL reward that teaches near misses: compare the extracted final answer exactly with the right one (every number, every element, the order when it matters), read only the final answer, and check every constraint the prompt states"),
            Some(FindingKind::AcceptsOverbroad) => notes.push("over-broad answers: the verifier gave full credit to an answer naming every candidate at once (every option, every number of the prompt); as an RL reward that teaches listing everything: accept exactly the right answer, not any answer that contains it"),
            _ => {}
        }
        failures.push(json!({
            "stage": finding.stage,
            "kind": finding.kind,
            "message": clip(finding.message.as_deref().unwrap_or(""), 600),
            "evidence": if evidence.as_object().is_some_and(|m| m.is_empty()) { Value::Null } else { Value::String(clip(&evidence.to_string(), 600)) },
        }));
    }
    let sample = report.metrics.solver.iter().flat_map(|s| &s.attempts).find(|a| a.response.is_some()).map(|a| {
        json!({"case": clip(a.case.as_deref().unwrap_or(""), 800), "prompt": clip(a.prompt.as_deref().unwrap_or(""), 800), "response": clip(a.response.as_deref().unwrap_or(""), 800), "score": a.score})
    });
    let calibration = shared
        .store
        .draft_calibrations(shared.campaign, &parent.task_id)
        .await?
        .into_iter()
        .find(|c| c.draft_id == parent.id && !c.in_band)
        .map(|c| {
            let result = c.result_json.as_deref().and_then(StoredCalibration::read);
            solver_table::calibration_table(result.as_ref(), c.note.as_deref())
        });
    shared.prompts.render(
        prompts::REFINE,
        json!({
            "interface": prompts::INTERFACE,
            "example": prompts::EXAMPLE,
            "task": task_context(task),
            "parent_code": clip(parent.code.as_deref().unwrap_or(""), 20_000),
            "failures": failures,
            "traceback": traceback,
            "sample": sample,
            "notes": notes,
            "solver_cases": solver_table::solver_cases(&report),
            "calibration": calibration,
            "reviewer_note": reviewer_note.map(|n| clip(n, 4000)),
        }),
    )
}

async fn author_call(
    shared: &Shared,
    drafts: &[crate::store::DraftRow],
    draft: &crate::store::DraftRow,
) -> Result<()> {
    // The draft's logical identity is in the key: a fresh draft in a later
    // generation has the same prompt as one in generation 0, and two parents
    // with the same code give their children the same prompt; each is still
    // a call of its own.
    let key = call_key(
        "author",
        &[
            &draft.model,
            &decide::logical_key(drafts, draft),
            &draft.prompt,
        ],
    );
    let routed = match shared
        .author
        .call(&key, &draft.prompt, Some(draft.id))
        .await
    {
        Ok(r) => r,
        Err(_) => return Ok(()), // the router recorded why; the campaign stops
    };
    match &routed.answer {
        Ok(done) if done.truncated() => {
            // Cut off by max_tokens: whatever code it holds is unfinished.
            shared
                .store
                .truncate_draft(
                    shared.campaign,
                    draft.id,
                    &done.graded_text(),
                    &routed.record,
                )
                .await?;
        }
        Ok(done) => {
            let response = done.graded_text();
            let code = decide::extract_code(&done.content);
            shared
                .store
                .complete_draft(
                    shared.campaign,
                    draft.id,
                    &response,
                    code.as_deref(),
                    &routed.record,
                )
                .await?;
        }
        Err(_) => {
            shared
                .store
                .fail_draft(shared.campaign, draft.id, &routed.record)
                .await?
        }
    }
    Ok(())
}

fn furthest_stage(report: &CheckReport) -> i64 {
    let mut reached = 0;
    for stage in CheckStage::ALL {
        match report
            .stages
            .iter()
            .find(|s| s.stage == stage)
            .map(|s| s.status)
        {
            Some(StageStatus::Failed | StageStatus::Undecided) | None => break,
            Some(_) => reached += 1,
        }
    }
    reached
}

/// The draft's solver as its evaluation and calibration see it.
fn draft_solver(
    shared: &Shared,
    drafts: &[crate::store::DraftRow],
    draft: &crate::store::DraftRow,
) -> Arc<DraftSolver> {
    let draft_key = call_key(
        "draft",
        &[&decide::logical_key(drafts, draft), &draft.prompt],
    );
    Arc::new(DraftSolver {
        router: shared.solver.clone(),
        draft: draft.id,
        draft_key,
        template: shared.prompts.clone(),
        refused: Default::default(),
        new_calls: Default::default(),
        inflight: Default::default(),
    })
}

/// The file name a draft runs under: its logical identity, not its row id
/// (tracebacks end up in refine prompts, which must not depend on the
/// order rows were made).
fn draft_file(draft: &crate::store::DraftRow) -> String {
    format!(
        "{}-g{}-s{}.py",
        draft.task_id, draft.generation, draft.sample
    )
}

/// Calibrate a draft that passed every stage but the band: search its
/// constructor's numeric parameters for a setting whose accuracy lies in
/// the band, with the campaign's own solver (its calls, keyed by the draft
/// as its evaluation's are, so the setting the draft was evaluated at is
/// answered from the store), within `calibrate_max_solver_calls`. What it
/// found is stored: the decision reads it back.
async fn calibrate_draft(
    shared: &Shared,
    drafts: &[crate::store::DraftRow],
    draft: &crate::store::DraftRow,
) -> Result<()> {
    let solver = draft_solver(shared, drafts, draft);
    let (min, max) = (shared.check.accuracy_min, shared.check.accuracy_max);
    // A target in the middle of the band, met anywhere in it.
    let middle = (min + max) / 2.0;
    let settings = crate::calibrate::Settings {
        file: draft_file(draft),
        source: draft.code.clone().unwrap_or_default(),
        class: shared.check.class.clone(),
        params: shared.check.params.clone(),
        target: middle,
        ladder: vec![middle],
        tolerance: ((max - min) / 2.0).max(1e-9),
        cases: shared.check.solver_cases.max(1) as usize,
        max_solver_calls: shared.config.evolution.calibrate_max_solver_calls as usize,
        score_flags: shared.check.score_flags.clone(),
        limits: shared.check.limits,
        concurrency: 1,
        // The search measures generation, prompts and grading at each
        // setting; the setting it chooses is checked in full (every stage,
        // the solver's from the calls just made) before it is accepted.
        check: Some(shared.check.clone()),
        check_each: false,
    };
    let asker = crate::calibrate::Asker::Campaign {
        solver: solver.clone(),
        campaign: shared.campaign,
    };
    match crate::calibrate::calibrate(&shared.sandbox, &shared.store, asker, &settings).await {
        // The full check at the setting needed a solver call that was
        // refused: it is incomplete, a resume checks again.
        Ok(_) if solver.refused.load(std::sync::atomic::Ordering::Relaxed) => {}
        Ok(report) => {
            let chosen = report
                .chosen
                .iter()
                .find(|c| c.role == "test" && c.met)
                .and_then(|c| c.setting.as_ref());
            // Every stage must pass at the setting before the draft is
            // accepted at it.
            let failing = match (chosen, &report.check) {
                (Some(setting), Some(check)) => {
                    crate::calibrate::first_error(check).map(|(_, kind, message)| {
                        format!(
                            "at {} the checks fail: {kind}: {}",
                            Value::Object(setting.params.clone()),
                            clip(&message, 300)
                        )
                    })
                }
                _ => None,
            };
            let in_band = chosen.is_some() && failing.is_none();
            shared
                .store
                .record_draft_calibration(
                    draft.id,
                    Some(report.calibration),
                    in_band,
                    chosen
                        .map(|t| Value::Object(t.params.clone()).to_string())
                        .as_deref(),
                    chosen.and_then(|t| t.accuracy),
                    failing.as_deref(),
                    report
                        .check
                        .as_ref()
                        .filter(|_| in_band)
                        .map(Value::to_string)
                        .as_deref(),
                )
                .await?;
        }
        // Stopped (budget, endpoint, interrupt): nothing is recorded, a
        // resume calibrates again with the calls made so far from the store.
        Err(_) if solver.refused.load(std::sync::atomic::Ordering::Relaxed) => {}
        Err(_) if stopped(shared) => {}
        Err(err) => {
            // It could not run (the sandbox failed it): the author is asked,
            // told why.
            let note = clip(&format!("{err:#}"), 600);
            shared
                .store
                .record_draft_calibration(draft.id, None, false, None, None, Some(&note), None)
                .await?;
        }
    }
    Ok(())
}

async fn evaluate_draft(
    shared: &Shared,
    drafts: &[crate::store::DraftRow],
    draft: &crate::store::DraftRow,
) -> Result<()> {
    let code = draft.code.clone().unwrap_or_default();
    let draft_solver = draft_solver(shared, drafts, draft);
    let solver: Arc<dyn crate::llm::ChatModel> = draft_solver.clone();
    let file = draft_file(draft);
    let report =
        crate::evaluate::check(&shared.sandbox, Some(solver), &file, &code, &shared.check).await;
    if draft_solver
        .refused
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        // A solver call was refused (budget, cassette, endpoint): the
        // evaluation is incomplete, so it is not stored; resume redoes it,
        // with the solver calls already made served from the store.
        return Ok(());
    }
    let solver_attempts = report
        .metrics
        .solver
        .as_ref()
        .map(|s| {
            s.attempts
                .iter()
                .map(|a| {
                    (
                        a.seed as i64,
                        a.prompt.clone(),
                        a.response.clone(),
                        a.score,
                        a.error.clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let loaded = report
        .stages
        .iter()
        .any(|s| s.stage == CheckStage::Load && s.status == StageStatus::Passed);
    let main = report
        .findings
        .iter()
        .find(|f| f.severity == Severity::Error)
        .map(|f| format!("{}: {}", f.kind, clip(&f.message, 200)));
    // Every stage passed but the band: the only errors are the accuracy's.
    let errors: Vec<FindingKind> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.kind)
        .collect();
    let band_miss = !errors.is_empty()
        && errors
            .iter()
            .all(|k| matches!(k, FindingKind::TooEasy | FindingKind::TooHardOrBroken));
    let record = EvaluationRecord {
        band_miss,
        verdict: report.verdict.as_str().into(),
        furthest_stage: furthest_stage(&report),
        loaded,
        accuracy: report.metrics.solver.as_ref().map(|s| s.accuracy),
        main_finding: main,
        report_json: serde_json::to_string(&report)?,
        solver_attempts,
    };
    shared.store.save_evaluation(draft.id, &record).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses(list: &[&str]) -> Vec<DraftStatus> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn cut_off_author_answers_are_named_as_the_cause() {
        let (reason, remedy) = rejection_cause(
            &statuses(&["truncated", "truncated", "llm_failed"]),
            Some(64),
        )
        .unwrap();
        assert!(reason.contains("every author answer") && reason.contains("(2 of 2)"));
        assert_eq!(remedy, Remedy::RaiseAuthorMaxTokens { now: Some(64) });
        let (reason, remedy) =
            rejection_cause(&statuses(&["truncated", "evaluated", "no_code"]), None).unwrap();
        assert!(reason.starts_with("1 of 3 author answers"), "{reason}");
        assert_eq!(remedy, Remedy::RaiseAuthorMaxTokens { now: None });
        assert_eq!(
            rejection_cause(&statuses(&["evaluated", "no_code"]), Some(8)),
            None
        );
    }
}
