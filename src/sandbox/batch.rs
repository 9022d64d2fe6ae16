//! Many cases in one guest call: the harness's `run-cases` and `score-many`
//! exports.
//!
//! Each case (and its scoring, when the run has an answer), or each scoring
//! of a given identity, is a *step* that
//! answers through the `reply` import as its single call would. The host
//! handles every reply as it arrives, inside the import: it parses the reply
//! (so a batch holds the parsed results, as one-by-one calls would, never a
//! batch of raw replies), takes the step's CPU time, and starts the next
//! step as a new call would start: a fresh budget, the random source
//! reseeded and the virtual clock reset for the next seed, the epoch deadline
//! rearmed and the wall-clock timer moved. Budgets, caps and verdicts are
//! therefore per case, while the host-guest round trip is paid once per
//! batch.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::host::{GuestReply, HostState};
use super::protocol::{self, Call, CaseResult, RunError, ScoreResult, Stage};
use super::{Limits, reply_text};

/// Cases (or scorings) per batch call unless a run says otherwise
/// ([`super::RunSpec::case_batch`]): enough that the round trip no longer
/// shows, few enough that a batch's results stay a small part of a run's.
pub const DEFAULT_CASE_BATCH: usize = 32;

/// What one finished step gave.
pub(crate) enum StepResult {
    Case(CaseResult),
    Score(ScoreResult),
}

/// One finished step.
pub(crate) struct Step {
    pub stage: Stage,
    pub result: Result<StepResult, RunError>,
    /// CPU time of the step (the budget's clock).
    pub cpu: Duration,
}

/// A `run-cases` call in progress, kept in the store's [`HostState`].
pub(crate) struct Batch {
    /// The steps not yet answered, in order; the first one is running.
    pub pending: VecDeque<(Stage, u64)>,
    /// The answered steps, in order.
    pub done: Vec<Step>,
    limits: Limits,
    /// When the running step started: the host's wall-clock timer reads it.
    pub step_started: Arc<Mutex<Instant>>,
}

/// What one batch call runs.
pub(crate) enum Work {
    /// Cases of `seeds`, each scored with `answer` when given.
    Cases {
        seeds: Vec<u64>,
        answer: Option<String>,
    },
    /// (JSON identity, answer) pairs to score.
    Scores { items: Vec<(String, String)> },
}

impl Work {
    /// The steps, in order, each with the seed its call would reset to
    /// (a score call of its own resets to seed 0).
    fn steps(&self) -> VecDeque<(Stage, u64)> {
        match self {
            Work::Cases { seeds, answer } => {
                let mut steps = VecDeque::with_capacity(seeds.len() * 2);
                for &seed in seeds {
                    steps.push_back((Stage::Generate, seed));
                    if answer.is_some() {
                        steps.push_back((Stage::Verify, seed));
                    }
                }
                steps
            }
            Work::Scores { items } => items.iter().map(|_| (Stage::Verify, 0)).collect(),
        }
    }
}

/// `call` and the calls after it in `pending` that one batch call can run
/// (at most `max`), taken off `pending`; `Err(call)` when `call` is best
/// run alone (nothing batchable follows it, or `max` is below 2).
pub(crate) fn take(call: Call, pending: &mut VecDeque<Call>, max: usize) -> Result<Work, Call> {
    let batchable = max > 1
        && match (&call, pending.front()) {
            (Call::Case { answer, .. }, Some(Call::Case { answer: next, .. })) => next == answer,
            (Call::Score { .. }, Some(Call::Score { .. })) => true,
            _ => false,
        };
    if !batchable {
        return Err(call);
    }
    match call {
        Call::Case { seed, answer } => {
            let mut seeds = vec![seed];
            while seeds.len() < max
                && matches!(pending.front(), Some(Call::Case { answer: next, .. }) if *next == answer)
            {
                if let Some(Call::Case { seed, .. }) = pending.pop_front() {
                    seeds.push(seed);
                }
            }
            Ok(Work::Cases { seeds, answer })
        }
        Call::Score { identity, answer } => {
            let mut items = vec![(identity.to_string(), answer)];
            while items.len() < max && matches!(pending.front(), Some(Call::Score { .. })) {
                if let Some(Call::Score { identity, answer }) = pending.pop_front() {
                    items.push((identity.to_string(), answer));
                }
            }
            Ok(Work::Scores { items })
        }
        other => Err(other),
    }
}

impl Batch {
    pub fn new(work: &Work, limits: Limits) -> Batch {
        let pending = work.steps();
        Batch {
            done: Vec::with_capacity(pending.len()),
            pending,
            limits,
            step_started: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// The seed the first step starts with.
    pub fn first_seed(&self) -> u64 {
        self.pending.front().map_or(0, |(_, seed)| *seed)
    }

    /// The running step's stage (none after all answered).
    pub fn running_stage(&self) -> Option<Stage> {
        self.pending.front().map(|(stage, _)| *stage)
    }
}

/// Take a reply that arrived during a batch: finish the running step and
/// start the next. `false` when no batch is running (the caller keeps the
/// reply as a single call's). Replies past the last step are dropped: only
/// a tampered harness sends them, and the host has all it asked for.
/// Returns whether a new step started (its epoch deadline needs rearming).
pub(crate) fn receive(state: &mut HostState, reply: GuestReply) -> Option<bool> {
    let batch = state.batch.as_mut()?;
    let Some((stage, seed)) = batch.pending.pop_front() else {
        return Some(false);
    };
    let (cpu, _wall) = state.budget.used();
    let limits = batch.limits;
    let result = reply_text(stage, reply, &limits).and_then(|text| match stage {
        Stage::Verify => protocol::parse_score(&text).result.map(StepResult::Score),
        _ => protocol::parse_case(&text, seed, limits.case_bytes)
            .result
            .map(StepResult::Case),
    });
    batch.done.push(Step { stage, result, cpu });
    let Some(&(_, next_seed)) = batch.pending.front() else {
        return Some(false);
    };
    *batch.step_started.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    state.reset_for_call(next_seed, &limits);
    Some(true)
}
