//! Many cases in one guest call: the harness's `run-cases` export.
//!
//! Each case (and its scoring, when the run has an answer) is a *step* that
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
use super::protocol::{self, CaseResult, RunError, ScoreResult, Stage};
use super::{Limits, reply_text};

/// Cases per `run-cases` call unless a run says otherwise
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

impl Batch {
    /// The steps of `seeds`: each case, then its scoring when `scored`.
    pub fn new(seeds: &[u64], scored: bool, limits: Limits) -> Batch {
        let mut pending = VecDeque::with_capacity(seeds.len() * 2);
        for &seed in seeds {
            pending.push_back((Stage::Generate, seed));
            if scored {
                pending.push_back((Stage::Verify, seed));
            }
        }
        Batch {
            pending,
            done: Vec::with_capacity(seeds.len() * 2),
            limits,
            step_started: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// The running step's stage (the last one's after all answered).
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
