//! bootforge: author, run and check InternBootcamp-style reasoning bootcamps.
//!
//! This page is the code map; read it first.
//!
//! # The pipeline
//!
//! 1. **Draft**: an author model writes a bootcamp from a task description
//!    ([`campaign`], prompts from `prompts/`).
//! 2. **Evaluate**: the draft runs in the [`sandbox`] through staged checks,
//!    cheapest first ([`evaluate`]); a solver model's accuracy must lie in a band
//!    and clear what guessing gets.
//! 3. **Evolve**: a draft that misses only the accuracy band is calibrated
//!    first (a setting of its constructor parameters in the band is
//!    accepted, [`calibrate`]); failed drafts get refined children carrying
//!    their concrete failures, until one passes or the generations run out
//!    ([`campaign`]).
//! 4. **Store**: every draft, prompt, response, evaluation and LLM call is a row
//!    with its parents ([`store`]), so a campaign resumes after a crash.
//! 5. **People**: what is accepted is reviewed, exported and scheduled (the
//!    curator side: [`review`], [`export`], [`serve`], [`schedule`]).
//!
//! # Modules
//!
//! - [`sandbox`]: CPython compiled to a WebAssembly component under wasmtime:
//!   engine, compiled-component cache, limits, the harness protocol.
//! - [`evaluate`]: the staged self-consistency checks behind `check` and
//!   `audit`, one file per stage; [`evaluate::judge`] holds every verdict
//!   rule, [`evaluate::junk`] builds the junk answers and
//!   [`evaluate::nearmiss`] the near-miss and over-broad ones;
//!   [`evaluate::FindingKind`] names every finding a check can report
//!   (`docs/checks.md` lists them from it); [`evaluate::StoredReport`]
//!   reads a stored report of any version back (lenient: defaults for
//!   missing fields, names kept as strings) for everything that renders or
//!   summarises one.
//! - [`llm`]: the [`llm::ChatModel`] trait, the OpenAI-compatible client
//!   (streaming, capped reads), fleets of endpoints per role
//!   ([`llm::choose`] picks the endpoint), retries and accounting.
//! - [`calls`]: the call layer shared by campaigns, calibrations and
//!   evaluation runs: content-addressed LLM calls through a
//!   [`calls::Router`] (answers from the store first, then the endpoint or
//!   a cassette, a budget in calls, tokens and dollars, a gate whose turn
//!   is held until the call is stored), the solver as a draft's checks ask
//!   it ([`calls::DraftSolver`]), single-flight and prices.
//! - [`calibrate`]: settings of a bootcamp's constructor parameters whose
//!   solver accuracy reaches a target ([`calibrate::search`] decides the
//!   next setting to measure, purely; a range's two ends move as one); the
//!   checks at each setting and at the chosen one go through
//!   [`evaluate::check_at`].
//! - [`campaign`]: the authoring loop, its config, tasks and prompt
//!   templates; [`campaign::decide`] picks the next step,
//!   [`campaign::lineage`] draws a task's drafts as a tree;
//!   [`campaign::progress`] is what a run reports (typed events to a
//!   `Progress` the caller passes, and a `Remedy` for how it ended), and
//!   [`cli`] draws the progress line and words the hints.
//! - [`schedule`]: cron schedules of campaigns and the daemon that runs them
//!   ([`schedule::due`] decides when, purely); campaign ownership (leases) is
//!   [`campaign::lease`].
//! - [`review`]: the curator's review queue over what campaigns accept
//!   ([`review::rules`] decides who may decide what, purely).
//! - [`export`]: approved bootcamps into InternBootcamp's tree, and training
//!   records generated in the sandbox ([`export::names`]: naming, purely).
//! - [`reward`]: `bootforge reward serve`, rollouts scored over HTTP by the
//!   bootcamps' verifiers in the sandbox ([`reward::resolve`] and
//!   [`reward::batch`]: data source naming and batch validation, purely),
//!   and verl's reward function for it.
//! - [`eval`]: `bootforge eval`, a model answering a fixed data set, each
//!   answer scored by its bootcamp in the sandbox through the reward
//!   service's catalog and batch scoring, asked through the campaign's
//!   client, budget and cassettes ([`calls`]), stored and
//!   resumable ([`eval::report`]: per-task figures and comparisons, purely).
//! - [`serve`]: the review queue in a browser (`bootforge serve`): axum
//!   routes calling the same [`review`] functions as the CLI.
//! - [`store`]: the SQLite lineage store and its migrations (`migrations/`);
//!   rows are read into named structs, and statuses (campaign, task, draft,
//!   slot, decision, review item, calibration, eval run, LLM call) are
//!   enums stored as TEXT, one spelling for
//!   SQL, JSON and display ([`store::UnknownValue`] names a value this
//!   build does not know). What a review decision does to its campaign (a
//!   `revise` reopens the task) is a rule of [`review::rules`], which the
//!   store applies in the decision's transaction.
//! - [`text`]: hidden characters (controls, bidi marks, invisibles) made
//!   visible, for the terminal and the review page alike.
//! - [`cli`]: argument parsing and rendering for the `bootforge` binary.
//!
//! # Invariants the layout keeps
//!
//! - Only [`sandbox`] touches wasmtime; everything else sees typed results.
//! - Only [`store`] writes SQL.
//! - [`campaign::decide`], [`calibrate::search`], [`evaluate::judge`],
//!   [`evaluate::junk`], [`evaluate::nearmiss`] and [`llm::choose`] are pure
//!   functions of their inputs, tested without I/O;
//!   the async code around them reads, calls and writes.
//! - The floors are one-way: `cli → schedule → campaign → calibrate, eval →
//!   evaluate, calls → sandbox, llm, store`: [`campaign`], [`calibrate`] and
//!   [`eval`] route their LLM calls through [`calls`], which knows none of
//!   them (a campaign's solver template reaches it as a
//!   [`calls::SolverPrompt`]). The stored statuses are
//!   declared in [`store::status`], below everything that reads them, and
//!   re-exported by the modules that own them.
//! - Everything a guest or a model returns is hostile input: capped, parsed
//!   defensively, never trusted to be well-formed.

// First: the modules below declare their stored enums with its macro.
#[macro_use]
mod stored;

pub mod calibrate;
pub mod calls;
pub mod campaign;
pub mod cli;
pub mod eval;
pub mod evaluate;
pub mod export;
pub mod llm;
pub mod review;
pub mod reward;
pub mod sandbox;
pub mod schedule;
pub mod serve;
pub mod store;
pub mod text;
