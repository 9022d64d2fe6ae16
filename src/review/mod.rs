//! The curator's side of bootforge: the review queue's listings,
//! the detail a curator decides from, decisions, and `review add` of
//! bootcamp files. Every function returns typed, serialisable structs and
//! never prints: the CLI renders them as text or JSON, and a web page can
//! call the same functions. Reports are read from the stored `report_json`
//! through the lenient [`StoredReport`], and the metrics are passed on as
//! stored, so new finding kinds and metrics show without changes here. The
//! decision rules are pure functions in [`rules`].

pub mod rules;

use std::sync::Arc;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::evaluate::{
    CheckConfig, StoredFinding, StoredMutation, StoredReport, StoredSolver, Verdict,
};
use crate::llm::ChatModel;
use crate::sandbox::{Limits, RunSpec, Sandbox};
use crate::store::{DecisionRow, NewReviewItem, ReviewFilter, ReviewItemRow, Store};
pub use rules::{Decision, ItemStatus, Refusal};

/// One line of `review list`.
#[derive(Debug, Clone, Serialize)]
pub struct ItemSummary {
    pub id: i64,
    pub status: ItemStatus,
    /// campaign | file
    pub source: String,
    pub task: String,
    pub class: Option<String>,
    pub campaign: Option<i64>,
    pub draft: Option<i64>,
    pub file: Option<String>,
    /// Solver self-accuracy and its 95% (Wilson) interval.
    pub accuracy: Option<f64>,
    pub interval: Option<[f64; 2]>,
    pub solver_cases: Option<u64>,
    /// The best guessing strategy's share of full credit, which the solver's
    /// accuracy must clear (absent in reports from before the judge kept it).
    pub guess_baseline: Option<f64>,
    /// Distinct cases / cases generated.
    pub diversity: Option<f64>,
    /// Findings that are not errors.
    pub warnings: usize,
    pub created_at: String,
    pub age: String,
}

/// A case generated in the sandbox for the curator to look at.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub seed: u64,
    /// The case exactly as the bootcamp serialised it (big integers exact).
    pub case: Box<RawValue>,
    pub prompt: String,
}

/// A solver model's answer graded by the bootcamp during its check.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub seed: Option<u64>,
    pub prompt: String,
    pub response: Option<String>,
    pub score: Option<f64>,
    pub error: Option<String>,
}

/// One draft in the chain that led to the item.
#[derive(Debug, Clone, Serialize)]
pub struct LineageStep {
    pub draft: i64,
    pub generation: i64,
    /// draft | refine | revise
    pub operator: String,
    /// What the parent failed on, that this draft was made to fix.
    pub fixed: Option<String>,
}

/// Everything a curator decides from.
#[derive(Debug, Clone, Serialize)]
pub struct ItemDetail {
    #[serde(flatten)]
    pub summary: ItemSummary,
    pub description: Option<String>,
    pub note: Option<String>,
    pub params: Value,
    pub code: String,
    pub author_model: Option<String>,
    pub solver_model: Option<String>,
    pub samples: Vec<Sample>,
    /// Why samples could not be generated, if they could not.
    pub samples_error: Option<String>,
    pub answers: Vec<Answer>,
    /// The check's metrics as stored.
    pub metrics: Value,
    /// The near-miss and over-broad classes tried, typed (from `metrics`,
    /// which carries them in the JSON).
    #[serde(skip)]
    pub mutations: Vec<StoredMutation>,
    /// Every finding (errors and warnings) with its evidence, as stored.
    pub findings: Vec<StoredFinding>,
    /// Root first, the item's draft last.
    pub lineage: Vec<LineageStep>,
    pub decisions: Vec<DecisionRow>,
    /// The item's calibration (`bootforge calibrate ID`), if it has one.
    pub calibration: Option<CalibrationTable>,
}

/// A calibration's chosen settings: the train ladder, then the test setting.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationTable {
    pub calibration: i64,
    pub model: String,
    /// The parameter that moves the accuracy, if one was found.
    pub moving: Option<String>,
    pub rows: Vec<CalibrationLine>,
}

/// One target and the setting chosen for it (met, or the nearest in bounds).
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationLine {
    /// train | test
    pub role: String,
    pub target: f64,
    pub met: bool,
    /// Why it was missed.
    pub miss: Option<String>,
    /// The constructor keyword arguments, and as compact JSON text.
    pub params: Value,
    pub params_text: String,
    pub accuracy: Option<f64>,
    pub interval: Option<[f64; 2]>,
    pub correct: usize,
    pub cases: usize,
    pub generate_ms_per_case: Option<f64>,
}

/// The item's calibration as a table; `None` when it has none (or its
/// stored result cannot be read, which the page must survive).
pub async fn calibration_table(store: &Store, item: i64) -> Result<Option<CalibrationTable>> {
    let Some(text) = store.item_calibration(item).await? else {
        return Ok(None);
    };
    let Ok(report) = serde_json::from_str::<crate::calibrate::Report>(&text) else {
        return Ok(None);
    };
    let rows = report
        .chosen
        .iter()
        .map(|c| {
            let params = c
                .setting
                .as_ref()
                .map(|t| Value::Object(t.params.clone()))
                .unwrap_or(Value::Null);
            CalibrationLine {
                role: c.role.clone(),
                target: c.target,
                met: c.met,
                miss: c.miss.clone(),
                params_text: params.to_string(),
                params,
                accuracy: c.setting.as_ref().and_then(|t| t.accuracy),
                interval: c.setting.as_ref().map(|t| t.interval),
                correct: c.setting.as_ref().map_or(0, |t| t.correct),
                cases: c.setting.as_ref().map_or(0, |t| t.cases),
                generate_ms_per_case: c.setting.as_ref().map(|t| t.generate_ms_per_case),
            }
        })
        .collect();
    Ok(Some(CalibrationTable {
        calibration: report.calibration,
        model: report.model,
        moving: report.moving,
        rows,
    }))
}

/// Why a decision or an addition did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// No such item: bad input.
    #[error("no review item {0} (see `bootforge review list`)")]
    NotFound(i64),
    /// Decided before, without `--force`: the work failed.
    #[error("{0}")]
    Refused(Refusal),
    /// The decision does not apply to this item: bad input.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn report(item: &ReviewItemRow) -> StoredReport {
    StoredReport::parse(&item.report_json)
}

/// The report's metrics exactly as stored (every stage's, also those this
/// version does not know), to pass on and to list.
fn stored_metrics(report_json: &str) -> Value {
    serde_json::from_str::<Value>(report_json)
        .ok()
        .and_then(|mut r| r.get_mut("metrics").map(Value::take))
        .unwrap_or(Value::Null)
}

/// The item's class: the one it was queued with, else the one its check
/// chose.
pub fn item_class(item: &ReviewItemRow) -> Option<String> {
    class_of(item, &report(item))
}

fn class_of(item: &ReviewItemRow, report: &StoredReport) -> Option<String> {
    item.class_name.clone().or_else(|| report.class.clone())
}

/// The list line of an item.
pub fn summarize(item: &ReviewItemRow, now: i64) -> ItemSummary {
    let report = report(item);
    let solver = report.metrics.solver.as_ref();
    let warnings = report.findings.iter().filter(|f| !f.is_error()).count();
    ItemSummary {
        id: item.id,
        status: item.status,
        source: item.source.clone(),
        task: item.task_id.clone(),
        class: class_of(item, &report),
        campaign: item.campaign_id,
        draft: item.draft_id,
        file: item.file_path.clone(),
        accuracy: item.accuracy.or_else(|| solver.and_then(|s| s.accuracy)),
        interval: solver.and_then(StoredSolver::interval),
        solver_cases: solver.and_then(|s| s.cases),
        guess_baseline: report.guess_baseline(),
        diversity: report.metrics.diversity,
        warnings,
        created_at: item.created_at.clone(),
        age: rules::age(&item.created_at, now),
    }
}

/// The login name, the last fallback for a reviewer's name (see
/// [`rules::reviewer`]): `USER`, else `LOGNAME`, else `USERNAME`, else the
/// password database, for when none is set (containers, cron, CI). The one
/// fallback for the CLI's decisions and the review page's prefilled name.
pub fn login_name() -> Option<String> {
    ["USER", "LOGNAME", "USERNAME"]
        .into_iter()
        .find_map(|var| std::env::var(var).ok())
        .or_else(password_name)
}

fn password_name() -> Option<String> {
    // SAFETY: getpwuid returns a pointer into static storage or null; the
    // name is copied out at once, before any other call could reuse it.
    unsafe {
        let entry = libc::getpwuid(libc::geteuid());
        if entry.is_null() || (*entry).pw_name.is_null() {
            return None;
        }
        std::ffi::CStr::from_ptr((*entry).pw_name)
            .to_str()
            .ok()
            .map(str::to_owned)
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// `review list`.
pub async fn list(store: &Store, filter: &ReviewFilter) -> Result<Vec<ItemSummary>> {
    let now = now_secs();
    Ok(store
        .review_items(filter)
        .await?
        .iter()
        .map(|i| summarize(i, now))
        .collect())
}

/// The oldest pending item, if any.
pub async fn oldest_pending(store: &Store) -> Result<Option<i64>> {
    let filter = ReviewFilter {
        status: Some(ItemStatus::Pending),
        ..ReviewFilter::default()
    };
    Ok(store.review_items(&filter).await?.first().map(|i| i.id))
}

/// How many sample cases `show` generates.
pub const SAMPLES: u64 = 3;

/// `review show`: the item with sample cases generated now in the sandbox.
pub async fn show(store: &Store, sandbox: &Sandbox, id: i64) -> Result<ItemDetail, ReviewError> {
    let item = store
        .review_item(id)
        .await?
        .ok_or(ReviewError::NotFound(id))?;
    let report = report(&item);
    let summary = summarize(&item, now_secs());
    let params: Value = serde_json::from_str(&item.params_json).unwrap_or(Value::Null);

    // Samples: the first seeds, with the item's class and parameters.
    let mut spec =
        RunSpec::new(format!("{}.py", item.task_id), item.code.clone()).cases(0..SAMPLES, None);
    spec.class = summary.class.clone();
    spec.params = params.as_object().cloned().unwrap_or_default();
    spec.limits = Limits::default();
    let run = sandbox.run(spec).await;
    let mut samples = Vec::new();
    for case in run.cases() {
        // The guest's text is hostile: a case that is not JSON is shown as
        // a string rather than trusted.
        let raw = RawValue::from_string(case.case_json.to_string()).or_else(|_| {
            RawValue::from_string(serde_json::to_string(&case.case_json).unwrap_or_default())
        });
        if let Ok(case_raw) = raw {
            samples.push(Sample {
                seed: case.seed,
                case: case_raw,
                prompt: case.prompt.clone(),
            });
        }
    }
    let samples_error = run
        .error
        .as_ref()
        .map(|e| format!("{} in {}: {}", e.kind.as_str(), e.stage.as_str(), e.message));

    let solver = report.metrics.solver.clone().unwrap_or_default();
    let answers = solver
        .attempts
        .into_iter()
        .map(|a| Answer {
            seed: a.seed,
            prompt: a.prompt.unwrap_or_default(),
            response: a.response,
            score: a.score,
            error: a.error,
        })
        .collect();

    let (description, lineage, author_model) = match (item.campaign_id, item.draft_id) {
        (Some(campaign), Some(draft)) => {
            let description = store
                .tasks(campaign)
                .await?
                .into_iter()
                .find(|t| t.id == item.task_id)
                .map(|t| t.description);
            let drafts = store.drafts(campaign, &item.task_id).await?;
            let author = drafts
                .iter()
                .find(|d| d.id == draft)
                .map(|d| d.model.clone());
            (
                description,
                lineage(&drafts, draft, store, campaign, &item.task_id).await?,
                author,
            )
        }
        _ => (None, Vec::new(), None),
    };
    Ok(ItemDetail {
        description,
        note: item.note.clone(),
        params,
        code: item.code.clone(),
        author_model,
        solver_model: solver.model,
        samples,
        samples_error,
        answers,
        metrics: stored_metrics(&item.report_json),
        mutations: report.mutations().cloned().collect(),
        findings: report.findings,
        lineage,
        decisions: store.review_decisions(id).await?,
        calibration: calibration_table(store, id).await?,
        summary,
    })
}

/// The chain of drafts from the root to `draft`, each with what it was
/// made to fix (its parent's main finding, or the curator's note).
async fn lineage(
    drafts: &[crate::store::DraftRow],
    draft: i64,
    store: &Store,
    campaign: i64,
    task: &str,
) -> Result<Vec<LineageStep>> {
    let notes = store.revisions(campaign, task).await?;
    let mut chain = Vec::new();
    let mut current = drafts.iter().find(|d| d.id == draft);
    while let Some(d) = current {
        if chain.len() > 1000 {
            break; // a cycle cannot happen, but a loop must not hang
        }
        let parent = d.parent_id.and_then(|p| drafts.iter().find(|x| x.id == p));
        let fixed = match parent {
            Some(p) if d.operator == "revise" => notes
                .iter()
                .find(|r| r.draft_id == p.id)
                .map(|r| format!("curator: {}", r.note))
                .or_else(|| Some("curator's note".into())),
            Some(p) => p
                .main_finding
                .as_deref()
                .map(|m| m.split(':').next().unwrap_or(m).to_owned()),
            None => None,
        };
        chain.push(LineageStep {
            draft: d.id,
            generation: d.generation,
            operator: d.operator.clone(),
            fixed,
        });
        current = parent;
    }
    chain.reverse();
    Ok(chain)
}

/// Record a decision on item `id`.
pub async fn decide(
    store: &Store,
    id: i64,
    decision: Decision,
    reviewer: &str,
    note: Option<&str>,
    force: bool,
) -> Result<DecisionRow, ReviewError> {
    let item = store
        .review_item(id)
        .await?
        .ok_or(ReviewError::NotFound(id))?;
    if decision == Decision::Revise {
        rules::may_revise(id, &item.source).map_err(ReviewError::Invalid)?;
    }
    store
        .record_decision(
            id,
            decision,
            reviewer,
            note,
            rules::reopening(id, decision).as_ref(),
            |latest| rules::may_decide(id, latest, force),
        )
        .await?
        .map_err(ReviewError::Refused)
}

/// A bootcamp file to queue.
pub struct AddRequest {
    pub path: String,
    pub source: String,
    pub note: Option<String>,
    pub check: CheckConfig,
    pub solver: Option<Arc<dyn ChatModel>>,
}

/// What `review add` did.
#[derive(Debug, Clone, Serialize)]
pub struct AddOutcome {
    /// The new item, when the file passed.
    pub item: Option<i64>,
    /// The check's report.
    pub report: crate::evaluate::CheckReport,
}

/// `review add`: check the file as `check` does and queue it when it passes.
pub async fn add(store: &Store, sandbox: &Sandbox, request: AddRequest) -> Result<AddOutcome> {
    let report = crate::evaluate::check(
        sandbox,
        request.solver.clone(),
        &request.path,
        &request.source,
        &request.check,
    )
    .await;
    if report.verdict != Verdict::Pass {
        return Ok(AddOutcome { item: None, report });
    }
    let stem = std::path::Path::new(&request.path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bootcamp".into());
    let new = NewReviewItem {
        task_id: stem,
        file_path: Some(request.path.clone()),
        class_name: report.class.clone().or(request.check.class.clone()),
        params_json: Value::Object(request.check.params.clone()).to_string(),
        code: request.source,
        report_json: serde_json::to_string(&report).context("serialising the report")?,
        accuracy: report.metrics.solver.as_ref().map(|s| s.accuracy),
        note: request.note,
    };
    let id = store.add_review_item(&new).await?;
    Ok(AddOutcome {
        item: Some(id),
        report,
    })
}
