//! `bootforge calibrate`: settings of a bootcamp's constructor parameters
//! whose solver accuracy reaches each target.
//!
//! [`search`] decides, purely, which setting to measure next; this module
//! measures it: generates the cases in the sandbox at that setting (timing
//! each), asks the solver through the call router of [`crate::calls`] (content-addressed
//! calls stored as they finish, so a killed calibration resumes without
//! repeating one), grades the answers with the bootcamp's own `verify_score`
//! and stores the probe. `bootforge calibrate` asks a model of its own
//! ([`Asker::Own`]); a campaign calibrating one of its drafts asks its own
//! solver ([`Asker::Campaign`]).
//!
//! With [`Settings::check`], the checks run as `check` would run them: with
//! [`Settings::check_each`], every stage but the solver's at each setting
//! tried, before its solver calls (a failing stage puts the setting out of
//! bounds; the report is stored, so a resumed calibration runs them once per
//! setting); and the full check at the test setting chosen, its solver
//! stage answered from the calibration's own stored calls, so a review
//! item calibrated to that setting shows the report that goes with it.

pub mod search;
pub mod stored;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::calls::flight::SingleFlight;
use crate::calls::{Backend, Budget, DraftSolver, Router, Stop, call_key};
use crate::evaluate::{CheckConfig, judge};
use crate::llm::{AccountingSnapshot, BoxFuture, ChatModel, Completion, Failure, LlmError};
use crate::sandbox::{Call, CallResult, ErrorKind, Limits, RunSpec, Sandbox};
use crate::store::{ProbeRow, Store};
use search::{Bound, Miss, Next, Param, Plan, Probe};

pub use crate::store::status::CalibrationStatus;

/// What to calibrate and how.
#[derive(Debug, Clone)]
pub struct Settings {
    pub file: String,
    pub source: String,
    pub class: Option<String>,
    /// Constructor keyword arguments to start from (numeric ones replace
    /// the defaults; the others are passed as they are).
    pub params: Map<String, Value>,
    /// The test setting's target.
    pub target: f64,
    /// The train ladder's targets.
    pub ladder: Vec<f64>,
    pub tolerance: f64,
    /// Cases (solver calls) per probe.
    pub cases: usize,
    pub max_solver_calls: usize,
    pub score_flags: Map<String, Value>,
    /// Each guest call's limits; a call past `limits.timeout` puts the
    /// setting out of bounds.
    pub limits: Limits,
    /// Solver requests in flight at once.
    pub concurrency: usize,
    /// How the checks run (cases, band, limits): the full check at the test
    /// setting chosen is returned in [`Report::check`]. `None`: no checks.
    pub check: Option<CheckConfig>,
    /// Also run every stage but the solver's at each setting tried: a
    /// setting where one fails is out of bounds.
    pub check_each: bool,
}

/// One setting tried, as reported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tried {
    pub params: Map<String, Value>,
    /// `None` when the setting is out of bounds.
    pub accuracy: Option<f64>,
    pub interval: [f64; 2],
    pub correct: usize,
    pub cases: usize,
    /// New solver calls this probe made (0 when they came from the store).
    pub solver_calls: usize,
    pub generate_ms_per_case: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound: Option<Bound>,
}

/// The setting chosen for one target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Chosen {
    pub target: f64,
    /// `test` or `train`.
    pub role: String,
    pub met: bool,
    /// Why it was missed, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miss_kind: Option<Miss>,
    /// The setting met (or, missed, the nearest in bounds).
    #[serde(flatten)]
    pub setting: Option<Tried>,
}

/// A finished calibration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub calibration: i64,
    pub file: String,
    pub class: String,
    pub model: String,
    /// The numeric constructor parameters read in the sandbox.
    pub space: Vec<Param>,
    /// The parameter whose value sets the difficulty, if one was found.
    pub moving: Option<String>,
    pub tried: Vec<Tried>,
    pub chosen: Vec<Chosen>,
    /// The train ladder's parameter sets (settings met, distinct).
    pub train: Vec<Map<String, Value>>,
    /// The test parameter set, if its target was met.
    pub test: Option<Map<String, Value>>,
    /// Solver calls all probes took, and how many of them were new.
    pub solver_calls: usize,
    pub new_solver_calls: usize,
    /// The bound that stopped the search short of a target, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<Bound>,
    /// The check report at the test setting (with its `params`), when
    /// [`Settings::check`] is given and the test target was met: every
    /// stage, the solver's from the calibration's own calls; or, when a
    /// stage without the solver fails there, those stages alone.
    #[serde(skip)]
    pub check: Option<Value>,
}

/// The first error finding of a check report (as JSON): its stage, kind
/// and message.
pub fn first_error(report: &Value) -> Option<(String, String, String)> {
    let finding = report["findings"]
        .as_array()?
        .iter()
        .find(|f| f["severity"] == "error")?;
    let text = |key: &str| finding[key].as_str().unwrap_or("").to_owned();
    Some((text("stage"), text("kind"), text("message")))
}

/// The bound a check report (as JSON) sets, if a stage failed: a guest call
/// that timed out is the time budget's, any other failure the check's.
fn check_bound(report: &Value, limits: &Limits) -> Option<Bound> {
    let finding = report["findings"]
        .as_array()?
        .iter()
        .find(|f| f["severity"] == "error")?;
    let (stage, kind, message) = first_error(report)?;
    if finding["evidence"]["error_kind"] == "timeout" {
        return Some(Bound::Time {
            message: format!("a {stage} call ran past {} ms", limits.timeout.as_millis()),
        });
    }
    Some(Bound::Check {
        stage,
        kind,
        message: clip(&message, 300),
    })
}

/// Read the constructor's numeric parameters and their defaults in the
/// sandbox: a subclass of the bootcamp appended to its file reports
/// `inspect.signature` of its `__init__` as its one case.
async fn read_space(sandbox: &Sandbox, s: &Settings) -> Result<(String, Vec<Param>)> {
    let mut load = RunSpec::new(&s.file, &s.source);
    load.class = s.class.clone();
    load.params = s.params.clone();
    load.limits = s.limits;
    let mut loaded = sandbox.run(load).await;
    if let Some(err) = loaded.error.clone() {
        // A constructor that refuses the given parameters (a range inside
        // out) still has a class to read: loaded at its defaults, the
        // search finds the given setting out of bounds.
        let mut defaults = RunSpec::new(&s.file, &s.source);
        defaults.class = s.class.clone();
        defaults.limits = s.limits;
        loaded = sandbox.run(defaults).await;
        if loaded.error.is_some() {
            bail!(
                "the bootcamp does not load at the given parameters ({err}); fix it (bootforge check shows the details) and calibrate again"
            );
        }
    }
    let class = loaded
        .loaded
        .map(|l| l.class)
        .context("the sandbox did not say which class it loaded")?;
    if class.is_empty() || !class.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("the bootcamp class {class:?} is not a plain identifier; name it with --class");
    }
    let probe = format!(
        r#"

class BootforgeParamsProbe_({class}):
    def __init__(self):
        pass

    def case_generator(self):
        import inspect as _inspect
        import math as _math
        found = []
        try:
            signature = _inspect.signature({class}.__init__)
        except (TypeError, ValueError):
            return {{"params": found}}
        for name, p in signature.parameters.items():
            if name == "self" or p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                continue
            d = p.default
            if d is p.empty or isinstance(d, bool):
                continue
            if isinstance(d, int):
                found.append({{"name": name, "default": d, "integer": True}})
            elif isinstance(d, float) and _math.isfinite(d):
                found.append({{"name": name, "default": d, "integer": False}})
        return {{"params": found}}

    @staticmethod
    def prompt_func(identity):
        return "parameters"
"#
    );
    let mut spec = RunSpec::new(&s.file, format!("{}{probe}", s.source)).cases([0], None);
    spec.class = Some("BootforgeParamsProbe_".into());
    spec.limits = s.limits;
    let report = sandbox.run(spec).await;
    if let Some(err) = &report.error {
        bail!("reading the constructor's parameters failed: {err}");
    }
    let case = report
        .cases()
        .next()
        .context("reading the constructor's parameters gave no answer")?;
    #[derive(Deserialize)]
    struct Found {
        params: Vec<Param>,
    }
    let found: Found = serde_json::from_str(&case.case_json)
        .context("the constructor's parameters could not be read")?;
    let mut space: Vec<Param> = found
        .params
        .into_iter()
        .filter(|p| p.default.is_finite())
        .take(16)
        .collect();
    // A value given with --params is where the search starts.
    for p in &mut space {
        if let Some(v) = s.params.get(&p.name).and_then(Value::as_f64) {
            p.default = v;
        }
    }
    Ok((class, space))
}

fn sha(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What one case gave, stored with its probe.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CaseDetail {
    seed: u64,
    /// The start of the case's JSON.
    summary: String,
    answer: Option<String>,
    error: Option<String>,
    score: f64,
    right: bool,
}

/// At most `max` bytes of `text` in a stored calibration report (the
/// report's size is what is bounded), marked as stored reports have been.
fn clip(text: &str, max: usize) -> String {
    crate::text::clip_marked(text, crate::text::Limit::Bytes(max), |_| "…")
}

/// Who answers a calibration's solver calls.
pub enum Asker {
    /// A model of its own: calls go through a router over a campaign row
    /// the calibration owns (`bootforge calibrate`).
    Own(Arc<dyn ChatModel>),
    /// A campaign's solver for one of its drafts: the campaign's endpoint or
    /// fleet, its rendering of the solver prompt, its call keys, budget and
    /// `llm_calls` rows, so the calls count in its spend and a resumed
    /// campaign gets them back from the store.
    Campaign {
        solver: Arc<DraftSolver>,
        campaign: i64,
    },
}

enum Asking {
    Own {
        router: Arc<Router>,
        flight: SingleFlight<Result<(Completion, bool), String>>,
    },
    Campaign(Arc<DraftSolver>),
}

struct Solver {
    asking: Asking,
    scope: String,
}

/// The calibration's solver at one setting, as the checks ask a model: the
/// calls a probe of that setting made are answered from the store.
struct AtSetting {
    solver: Arc<Solver>,
    params_json: String,
    model: String,
}

impl ChatModel for AtSetting {
    fn complete<'a>(&'a self, prompt: &'a str) -> BoxFuture<'a, Result<Completion, Failure>> {
        Box::pin(async move {
            self.solver
                .ask(&self.params_json, prompt)
                .await
                .map(|(done, _)| done)
                .map_err(|message| Failure {
                    error: LlmError::Refused { status: 0, message },
                    attempts: 0,
                })
        })
    }

    fn accounting(&self) -> AccountingSnapshot {
        AccountingSnapshot::default()
    }

    fn describe(&self) -> String {
        self.model.clone()
    }
}

/// An answer that gets no credit (a request the endpoint refused as such).
fn no_answer(attempts: u32) -> Completion {
    Completion {
        content: String::new(),
        reasoning: None,
        usage: Default::default(),
        attempts,
        latency_ms: 0.0,
        finish_reason: None,
        endpoint: None,
    }
}

impl Solver {
    /// One solver answer: from the store when this call was made before,
    /// else from the endpoint, stored as soon as it finishes. Returns the
    /// answer and whether it was a new call (a campaign's solver counts its
    /// own new calls).
    async fn ask(&self, params: &str, prompt: &str) -> Result<(Completion, bool), String> {
        let (router, flight) = match &self.asking {
            Asking::Campaign(draft) => {
                return match draft.complete(prompt).await {
                    Ok(done) => Ok((done, false)),
                    Err(_) if draft.refused.load(Ordering::Relaxed) => {
                        Err("the campaign's solver stopped taking calls".into())
                    }
                    Err(Failure { attempts, .. }) => Ok((no_answer(attempts), false)),
                };
            }
            Asking::Own { router, flight } => (router, flight),
        };
        let key = call_key(
            "solver",
            &[&router.model, "calibrate", &self.scope, params, prompt],
        );
        flight
            .run(&key, || async {
                match router.call(&key, prompt, None).await {
                    Ok(routed) => {
                        if !routed.from_store {
                            router
                                .store
                                .record_call(router.campaign, &routed.record)
                                .await
                                .map_err(|e| format!("storing a solver call failed: {e}"))?;
                        }
                        match routed.answer {
                            Ok(done) => Ok((done, !routed.from_store)),
                            // A request refused as such is a wrong answer.
                            Err(Failure { attempts, .. }) => Ok((no_answer(attempts), true)),
                        }
                    }
                    Err(Stop::Budget) => Err("the solver-call budget is spent".into()),
                    Err(
                        Stop::Endpoint(why)
                        | Stop::Store(why)
                        | Stop::Replay(why)
                        | Stop::Interrupted(why),
                    ) => Err(format!(
                        "the solver could not be asked ({why}); check the solver endpoint"
                    )),
                }
            })
            .await
    }

    /// New calls a campaign's solver has made so far.
    fn campaign_calls(&self) -> usize {
        match &self.asking {
            Asking::Campaign(draft) => draft.new_calls.load(Ordering::Relaxed),
            Asking::Own { .. } => 0,
        }
    }
}

/// The checks (every stage but the solver's) at a setting, from the store
/// when they ran there before, else run and stored: the bound they set.
async fn checks_at(
    sandbox: &Sandbox,
    store: &Store,
    calibration: i64,
    s: &Settings,
    class: &str,
    params: &Map<String, Value>,
    params_json: &str,
) -> Result<Option<Bound>> {
    let Some(config) = s.check.as_ref().filter(|_| s.check_each) else {
        return Ok(None);
    };
    let report: Value = match store.calibration_check(calibration, params_json).await? {
        Some(text) => serde_json::from_str(&text).context("a stored check report is unreadable")?,
        None => {
            let mut config = config.clone();
            config.class = Some(class.to_owned());
            let report =
                crate::evaluate::check_at(sandbox, None, &s.file, &s.source, &config, params).await;
            let report = serde_json::to_value(&report)?;
            store
                .add_calibration_check(calibration, params_json, &report.to_string())
                .await?;
            report
        }
    };
    Ok(check_bound(&report, &s.limits))
}

/// The check at the test setting: the stages without the solver first
/// (from the store when each setting was checked), and only when they pass
/// the full check, its solver stage answered from the calibration's calls.
/// The report (as JSON) carries the setting as `params`.
#[allow(clippy::too_many_arguments)]
async fn check_chosen(
    sandbox: &Sandbox,
    store: &Store,
    calibration: i64,
    solver: &Arc<Solver>,
    model: &str,
    s: &Settings,
    class: &str,
    chosen: &Tried,
) -> Result<Option<Value>> {
    let Some(config) = &s.check else {
        return Ok(None);
    };
    let mut config = config.clone();
    config.class = Some(class.to_owned());
    config.solver_cases = s.cases as u32;
    let params_json = Value::Object(chosen.params.clone()).to_string();
    let free = match store.calibration_check(calibration, &params_json).await? {
        Some(text) if s.check_each => serde_json::from_str(&text)?,
        _ => serde_json::to_value(
            crate::evaluate::check_at(sandbox, None, &s.file, &s.source, &config, &chosen.params)
                .await,
        )?,
    };
    let mut report = if first_error(&free).is_some() {
        free
    } else {
        let model: Arc<dyn ChatModel> = Arc::new(AtSetting {
            solver: solver.clone(),
            params_json: params_json.clone(),
            model: model.to_owned(),
        });
        serde_json::to_value(
            crate::evaluate::check_at(
                sandbox,
                Some(model),
                &s.file,
                &s.source,
                &config,
                &chosen.params,
            )
            .await,
        )?
    };
    report["params"] = Value::Object(chosen.params.clone());
    Ok(Some(report))
}

/// Measure one setting.
#[allow(clippy::too_many_arguments)]
async fn measure(
    sandbox: &Sandbox,
    store: &Store,
    calibration: i64,
    solver: &Solver,
    s: &Settings,
    class: &str,
    space: &[Param],
    values: &[f64],
    idx: i64,
) -> Result<ProbeRow> {
    let params = search::to_params(&s.params, space, values);
    let params_json = Value::Object(params.clone()).to_string();
    let mut spec = RunSpec::new(&s.file, &s.source).cases(0..s.cases as u64, None);
    spec.class = Some(class.to_owned());
    spec.params = params.clone();
    spec.limits = s.limits;
    let report = sandbox.run(spec).await;
    let cases: Vec<_> = report.cases().cloned().collect();
    let generate_ms = if cases.is_empty() {
        0.0
    } else {
        report.timings.calls_us as f64 / 1e3 / cases.len() as f64
    };
    let mut row = ProbeRow {
        idx,
        params_json,
        values_json: serde_json::to_string(values)?,
        cases: s.cases as i64,
        correct: 0,
        bound_json: None,
        generate_ms,
        solver_calls: 0,
        detail_json: "[]".into(),
    };
    let bound = |err: &crate::sandbox::RunError| match err.kind {
        ErrorKind::Timeout => Bound::Time {
            message: format!(
                "a {} call ran past {} ms",
                err.stage,
                s.limits.timeout.as_millis()
            ),
        },
        _ => Bound::Failed {
            message: clip(&err.to_string(), 300),
        },
    };
    if let Some(err) = &report.error {
        row.bound_json = Some(serde_json::to_string(&bound(err))?);
        return Ok(row);
    }
    // The other stages, before any solver call is spent on the setting.
    if let Some(failed) = checks_at(
        sandbox,
        store,
        calibration,
        s,
        class,
        &params,
        &row.params_json,
    )
    .await?
    {
        row.bound_json = Some(serde_json::to_string(&failed)?);
        return Ok(row);
    }
    let calls_before = solver.campaign_calls();
    let asked = futures::future::join_all(
        cases
            .iter()
            .map(|case| solver.ask(&row.params_json, &case.prompt)),
    )
    .await;
    let mut answers = Vec::with_capacity(asked.len());
    for answer in asked {
        let (done, new) = answer.map_err(anyhow::Error::msg)?;
        row.solver_calls += i64::from(new);
        answers.push(done);
    }
    row.solver_calls += (solver.campaign_calls() - calls_before) as i64;
    let reasoning_seen = answers.iter().any(Completion::has_reasoning);
    let mut flags = s.score_flags.clone();
    flags
        .entry("format_penalty")
        .or_insert(json!(reasoning_seen));
    let mut grade = RunSpec::new(&s.file, &s.source);
    grade.class = Some(class.to_owned());
    grade.params = params;
    grade.limits = s.limits;
    grade.score_flags = flags;
    grade.calls = cases
        .iter()
        .zip(&answers)
        .map(|(case, done)| Call::Score {
            identity: case.case_json.clone(),
            answer: done.graded_text(),
        })
        .collect();
    let graded = sandbox.run(grade).await;
    if let Some(err) = &graded.error {
        row.bound_json = Some(serde_json::to_string(&bound(err))?);
        return Ok(row);
    }
    let mut details = Vec::with_capacity(cases.len());
    for ((case, done), result) in cases.iter().zip(&answers).zip(&graded.results) {
        let score = match result {
            CallResult::Score(r) => r.score,
            _ => 0.0,
        };
        let right = judge::full_credit(score);
        row.correct += i64::from(right);
        details.push(CaseDetail {
            seed: case.seed,
            summary: clip(&case.case_json, 200),
            answer: Some(clip(&done.graded_text(), 4000)),
            error: None,
            score,
            right,
        });
    }
    row.detail_json = serde_json::to_string(&details)?;
    Ok(row)
}

fn to_probe(row: &ProbeRow) -> Result<Probe> {
    Ok(Probe {
        values: serde_json::from_str(&row.values_json)?,
        correct: usize::try_from(row.correct).unwrap_or(0),
        cases: usize::try_from(row.cases).unwrap_or(0),
        bound: row
            .bound_json
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?,
    })
}

fn to_tried(row: &ProbeRow, probe: &Probe) -> Tried {
    let (low, high) = judge::wilson_interval(probe.correct, probe.cases);
    Tried {
        params: serde_json::from_str(&row.params_json).unwrap_or_default(),
        accuracy: probe.accuracy(),
        interval: if probe.bound.is_some() {
            [0.0, 0.0]
        } else {
            [low, high]
        },
        correct: probe.correct,
        cases: probe.cases,
        solver_calls: usize::try_from(row.solver_calls).unwrap_or(0),
        generate_ms_per_case: row.generate_ms,
        bound: probe.bound.clone(),
    }
}

/// Calibrate a bootcamp: resume the stored calibration of the same code,
/// class, parameters and solver (or start one), measure settings until the
/// search is over, store and return the result.
pub async fn calibrate(
    sandbox: &Sandbox,
    store: &Store,
    asker: Asker,
    s: &Settings,
) -> Result<Report> {
    let model_name = match &asker {
        Asker::Own(model) => model.describe(),
        Asker::Campaign { solver, .. } => solver.router.model.clone(),
    };
    let scope = sha(&format!(
        "{}\0{}\0{}\0{}\0{}",
        sha(&s.source),
        s.class.as_deref().unwrap_or(""),
        Value::Object(s.params.clone()),
        Value::Object(s.score_flags.clone()),
        s.cases
    ));
    // A campaign's calibration of a draft is its own: another campaign (or
    // another draft with the same code) calibrates afresh, with its calls.
    let owner = match &asker {
        Asker::Own(_) => None,
        Asker::Campaign { solver, campaign } => Some((*campaign, solver.draft_key.clone())),
    };
    let key = match &owner {
        // A calibration that checks each setting is not the one that did not.
        None if s.check_each => call_key("calibration", &[&model_name, &scope, "checked"]),
        None => call_key("calibration", &[&model_name, &scope]),
        Some((campaign, draft_key)) => call_key(
            "calibration",
            &[&model_name, &scope, &campaign.to_string(), draft_key],
        ),
    };
    let settings_json = json!({
        "target": s.target, "ladder": s.ladder, "tolerance": s.tolerance,
        "cases": s.cases, "max_solver_calls": s.max_solver_calls, "model": model_name,
        "params": s.params, "score_flags": s.score_flags,
    })
    .to_string();
    let row = store
        .open_calibration(
            &key,
            &s.file,
            s.class.as_deref(),
            &settings_json,
            owner.as_ref().map(|(c, _)| *c),
        )
        .await?;
    let (class, space) = match &row.space_json {
        Some(text) => serde_json::from_str::<(String, Vec<Param>)>(text)
            .context("the stored parameter space is unreadable")?,
        None => {
            let found = read_space(sandbox, s).await?;
            store
                .set_calibration_space(row.id, &serde_json::to_string(&found)?)
                .await?;
            found
        }
    };
    let asking = match asker {
        Asker::Own(model) => Asking::Own {
            router: Arc::new(Router {
                role: "solver",
                model: model_name.clone(),
                store: store.clone(),
                campaign: row.campaign_id,
                backend: Backend::Live(model),
                budget: Arc::new(Budget::new(Default::default(), u64::MAX, u64::MAX)),
                recorder: None,
                stop: Default::default(),
                gate: tokio::sync::Semaphore::new(s.concurrency.max(1)),
            }),
            flight: SingleFlight::default(),
        },
        Asker::Campaign { solver, .. } => Asking::Campaign(solver),
    };
    let solver = Arc::new(Solver { asking, scope });
    let mut targets = s.ladder.clone();
    targets.push(s.target);
    let plan = Plan {
        targets,
        tolerance: s.tolerance,
        cases: s.cases,
        max_calls: s.max_solver_calls,
    };
    let mut rows = store.calibration_probes(row.id).await?;
    let mut probes = rows.iter().map(to_probe).collect::<Result<Vec<_>>>()?;
    let (moving, results) = loop {
        match search::next(&space, &probes, &plan) {
            Next::Probe(values) => {
                let idx = rows.len() as i64;
                let measured = measure(
                    sandbox, store, row.id, &solver, s, &class, &space, &values, idx,
                )
                .await?;
                store.add_calibration_probe(row.id, &measured).await?;
                probes.push(to_probe(&measured)?);
                rows.push(measured);
            }
            Next::Done { moving, targets } => break (moving, targets),
        }
    };
    let tried: Vec<Tried> = rows
        .iter()
        .zip(&probes)
        .map(|(r, p)| to_tried(r, p))
        .collect();
    let chosen: Vec<Chosen> = results
        .iter()
        .enumerate()
        .map(|(i, t)| Chosen {
            target: t.target,
            role: if i + 1 == results.len() {
                "test".into()
            } else {
                "train".into()
            },
            met: t.met,
            miss: t.miss.as_ref().map(ToString::to_string),
            miss_kind: t.miss.clone(),
            setting: t.probe.map(|p| tried[p].clone()),
        })
        .collect();
    let mut train: Vec<Map<String, Value>> = Vec::new();
    for c in chosen.iter().filter(|c| c.role == "train" && c.met) {
        if let Some(t) = &c.setting
            && !train.contains(&t.params)
        {
            train.push(t.params.clone());
        }
    }
    let test_setting = chosen
        .iter()
        .find(|c| c.role == "test" && c.met)
        .and_then(|c| c.setting.as_ref());
    let test = test_setting.map(|t| t.params.clone());
    let check = match test_setting {
        Some(t) => check_chosen(sandbox, store, row.id, &solver, &model_name, s, &class, t).await?,
        None => None,
    };
    // The bound that kept a target out of reach, if one did.
    let stopped_by = chosen.iter().find_map(|c| match &c.miss_kind {
        Some(Miss::Bound(b)) => Some(b.clone()),
        _ => None,
    });
    let report = Report {
        calibration: row.id,
        file: s.file.clone(),
        class,
        model: model_name,
        moving: moving.map(|i| search::axis_name(&space, i)),
        space,
        solver_calls: probes
            .iter()
            .filter(|p| p.bound.is_none())
            .map(|p| p.cases)
            .sum(),
        new_solver_calls: rows.iter().map(|r| r.solver_calls as usize).sum(),
        tried,
        chosen,
        train,
        test,
        stopped_by,
        check,
    };
    store
        .finish_calibration(row.id, &serde_json::to_string(&report)?)
        .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::CalibrationStatus;

    #[tokio::test]
    async fn calibration_statuses_are_spelled_alike_in_sql_json_and_text() {
        crate::stored::assert_spellings(CalibrationStatus::ALL).await;
    }
}
