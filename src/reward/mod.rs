//! `bootforge reward serve`: RL trainers score rollouts with the bootcamps'
//! own `verify_score`, run in the sandbox instead of in the trainer's
//! processes. `POST /v1/score` takes a batch of
//! `{"data_source", "solution_str", "ground_truth"}` items and answers one
//! `{"score", "error"?}` per item, in order.
//!
//! - [`resolve`] (pure) maps a `data_source` to a bootcamp: approved review
//!   items of the store, or files in InternBootcamp's layout, by class name
//!   as InternBootcamp's own reward function derives it.
//! - [`batch`] (pure) validates a request: a malformed batch is refused
//!   whole naming the item, an oversized or unreadable item is refused alone.
//! - [`Service::score`] groups the items by bootcamp and flags and scores
//!   each group in as many sandbox runs as there are workers, on instances
//!   kept warm per bootcamp and worker ([`RunSpec::keep_warm`]: loaded once,
//!   reused by later requests); answers to one ground truth share a
//!   `score-batch` call. A verifier that raises, hangs or runs out of memory
//!   fails its own item (scored 0 with the error) and the run goes on with
//!   the next item in a fresh instance; a bootcamp that does not load fails
//!   its items.
//! - [`http`] is the axum server (`/v1/score`, `/healthz`, `/metrics`) with
//!   `serve`'s rule for non-loopback binds and a bearer token; [`metrics`]
//!   renders Prometheus' text format.
//!
//! The service keeps nothing between requests that changes a score (warm
//! instances, counters, which bootcamps are too slow to share calls): any
//! replica over the same bootcamps answers the same scores, for verifiers
//! that are functions of the answer and the case (one that draws from
//! `random` or keeps globals sees the state the calls before it left in its
//! instance).
//!
//! [`VERL_FUNCTION`] is the Python file verl loads as its custom reward
//! function (`bootforge reward verl-function`, and written by `export`).

pub mod batch;
pub mod http;
pub mod metrics;
pub mod resolve;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use serde_json::{Map, Value};

use crate::review::ItemStatus;
use crate::sandbox::{Call, CallResult, Limits, RunError, RunSpec, Sandbox, Stage};
use crate::store::{ReviewFilter, Store};
use batch::{BatchLimits, ErrorKind, Item, Scored};
use resolve::{Bootcamp, Catalog};

/// verl's custom reward function: per-sample `compute_score` and batched
/// `compute_score_batch`, posting to the service (standard library only).
pub const VERL_FUNCTION: &str = include_str!("verl_reward.py");

/// How the service scores.
#[derive(Debug, Clone)]
pub struct Settings {
    pub limits: Limits,
    pub batch: BatchLimits,
    /// `verify_score` flags of every item, under the item's own
    /// `score_flags`: `format_score=0`, as InternBootcamp's reward function
    /// calls it.
    pub default_flags: Map<String, Value>,
    /// Loaded instances each worker keeps for later requests (100
    /// bootcamps kept on 2 workers measured 311 MiB resident).
    pub warm_per_worker: usize,
}

impl Default for Settings {
    fn default() -> Self {
        let mut default_flags = Map::new();
        default_flags.insert("format_score".into(), 0.into());
        Settings {
            limits: Limits {
                timeout: std::time::Duration::from_secs(5),
                memory_bytes: 512 << 20,
                ..Limits::default()
            },
            batch: BatchLimits {
                max_items: 8192,
                max_solution_bytes: 1 << 20,
            },
            default_flags,
            warm_per_worker: 32,
        }
    }
}

/// Where the bootcamps come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Read review items from this store.
    pub read_store: bool,
    /// Items of any review status, not only approved ones.
    pub any_status: bool,
    /// Directories searched for bootcamp files (InternBootcamp's layout, or
    /// any tree of `.py` files).
    pub dirs: Vec<PathBuf>,
}

/// The largest bootcamp file read.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// The catalog of every bootcamp in `sources`, and warnings about what was
/// left out (a class name held twice, an unreadable file).
pub async fn catalog(store: Option<&Store>, sources: &Sources) -> Result<(Catalog, Vec<String>)> {
    let mut catalog = Catalog::default();
    let mut warnings = Vec::new();
    if let Some(store) = store.filter(|_| sources.read_store) {
        let items = store
            .review_items(&ReviewFilter {
                status: (!sources.any_status).then_some(ItemStatus::Approved),
                campaign: None,
                task: None,
            })
            .await?;
        for item in items {
            let class = crate::review::summarize(&item, 0)
                .class
                .or(item.class_name.clone());
            let Some(class) = class else {
                warnings.push(format!("review item {} names no class: left out", item.id));
                continue;
            };
            let params = serde_json::from_str::<Value>(&item.params_json)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default();
            let bootcamp = Bootcamp {
                origin: format!("review item {}", item.id),
                filename: format!("{}.py", item.task_id),
                source: item.code.clone(),
                class: class.clone(),
                params,
            };
            if let Err(resolve::ClassTaken { holder }) = catalog.insert(bootcamp) {
                warnings.push(format!(
                    "review item {} is left out: {holder} has the class {class}",
                    item.id
                ));
            }
        }
    }
    for dir in &sources.dirs {
        let mut files = Vec::new();
        python_files(dir, &mut files, &mut warnings);
        files.sort();
        // Where a package's __init__.py imports a class from, for classes
        // several files define (InternBootcamp has a few): the one
        // `import internbootcamp` gives.
        let mut preferred: HashMap<String, PathBuf> = HashMap::new();
        for package in [dir.clone(), dir.join("internbootcamp/bootcamp")] {
            if let Ok(text) = std::fs::read_to_string(package.join("__init__.py")) {
                for (class, rel) in resolve::init_imports(&text) {
                    preferred.insert(class, package.join(rel));
                }
            }
        }
        for path in files {
            let source = match std::fs::read_to_string(&path) {
                Ok(s) => s,
                Err(e) => {
                    warnings.push(format!("{}: {e}: left out", path.display()));
                    continue;
                }
            };
            let filename = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .display()
                .to_string();
            for class in resolve::classes_in(&source) {
                // InternBootcamp's convention: bootcamp classes end in
                // `bootcamp`; the base class is not one.
                if !class.ends_with("bootcamp") || class == "Basebootcamp" {
                    continue;
                }
                if preferred
                    .get(&class)
                    .is_some_and(|p| *p != path && p.is_file())
                {
                    continue;
                }
                let bootcamp = Bootcamp {
                    origin: path.display().to_string(),
                    filename: filename.clone(),
                    source: source.clone(),
                    class: class.clone(),
                    params: Map::new(),
                };
                if let Err(resolve::ClassTaken { holder }) = catalog.insert(bootcamp) {
                    warnings.push(format!(
                        "{} {class} is left out: {holder} has that class",
                        path.display()
                    ));
                }
            }
        }
    }
    Ok((catalog, warnings))
}

fn python_files(dir: &Path, out: &mut Vec<PathBuf>, warnings: &mut Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            warnings.push(format!("{}: {e}", dir.display()));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // Not following symbolic links: a link cycle must not hang start-up.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.') || n == "__pycache__");
            if !hidden {
                python_files(&path, out, warnings);
            }
        } else if meta.is_file()
            && path.extension().is_some_and(|e| e == "py")
            && path.file_name().is_some_and(|n| n != "__init__.py")
        {
            if meta.len() > MAX_FILE_BYTES {
                warnings.push(format!(
                    "{} is over {} MiB: left out",
                    path.display(),
                    MAX_FILE_BYTES >> 20
                ));
            } else {
                out.push(path);
            }
        }
    }
}

/// The scoring service: a catalog, the sandbox, settings and counters.
pub struct Service {
    pub sandbox: Sandbox,
    pub catalog: Catalog,
    pub settings: Settings,
    pub metrics: metrics::Metrics,
    /// Bootcamps whose shared-ground-truth calls ran out of time: their
    /// answers are scored one call each (only speed depends on it).
    no_batching: std::sync::Mutex<HashSet<String>>,
}

impl Service {
    pub fn new(sandbox: Sandbox, catalog: Catalog, settings: Settings) -> Service {
        Service {
            sandbox,
            catalog,
            settings,
            metrics: metrics::Metrics::default(),
            no_batching: Default::default(),
        }
    }

    /// Score a request body: `Err` (a 400) when the batch is malformed.
    pub async fn score_body(&self, body: &[u8]) -> Result<Vec<Scored>, String> {
        let started = Instant::now();
        let parsed = batch::parse(body, self.settings.batch, &self.settings.default_flags);
        let items = match parsed {
            Ok(items) => items,
            Err(e) => {
                self.metrics.bad_batch();
                return Err(e);
            }
        };
        let scored = self.score(items).await;
        self.metrics.batch(&scored, started.elapsed());
        Ok(scored)
    }

    /// Score parsed items, answering in their order.
    pub async fn score(&self, items: Vec<Result<Item, Scored>>) -> Vec<Scored> {
        let mut answers: Vec<Option<Scored>> = vec![None; items.len()];
        // Items of one bootcamp with the same flags share runs; groups keep
        // the order of their first item.
        let mut groups: Vec<Group> = Vec::new();
        let mut group_of: HashMap<(String, String), usize> = HashMap::new();
        for (i, item) in items.into_iter().enumerate() {
            let item = match item {
                Ok(item) => item,
                Err(refused) => {
                    answers[i] = Some(refused);
                    continue;
                }
            };
            let Some(bootcamp) = self.catalog.resolve(&item.data_source) else {
                answers[i] = Some(Scored::failed(
                    ErrorKind::UnknownDataSource,
                    format!(
                        "no bootcamp answers to data_source {:?} (looked for the classes {}); this service has {} bootcamps (see /healthz)",
                        clip(&item.data_source, 200),
                        resolve::candidates(&item.data_source).join(", "),
                        self.catalog.len()
                    ),
                ));
                continue;
            };
            let key = (bootcamp.class.clone(), item.flags.clone());
            let g = *group_of.entry(key).or_insert_with(|| {
                groups.push((bootcamp.clone(), item.flags.clone(), Vec::new()));
                groups.len() - 1
            });
            groups[g].2.push((i, item));
        }
        let workers = self.sandbox.workers().max(1);
        let mut runs = Vec::new();
        for (bootcamp, flags, mut members) in groups {
            // Answers to one prompt side by side, so they share calls.
            members.sort_by(|a, b| a.1.ground_truth.cmp(&b.1.ground_truth));
            // Small groups stay whole: splitting them buys no parallelism
            // when there are other groups, and costs a load on each worker.
            let chunk = members.len().div_ceil(workers).max(MIN_CHUNK);
            let mut members = members.into_iter().peekable();
            while members.peek().is_some() {
                let part: Vec<(usize, Item)> = members.by_ref().take(chunk).collect();
                runs.push(self.score_chunk(bootcamp.clone(), flags.clone(), part));
            }
        }
        for done in futures::future::join_all(runs).await {
            for (i, scored) in done {
                answers[i] = Some(scored);
            }
        }
        answers
            .into_iter()
            .map(|a| {
                a.unwrap_or_else(|| {
                    Scored::failed(
                        ErrorKind::Trap,
                        "the item was not scored (a bug in bootforge)",
                    )
                })
            })
            .collect()
    }

    /// Score `items` (all of one bootcamp and flags, sorted by ground
    /// truth) in one instance; after a failing item, the rest in a fresh
    /// one. Rollouts of one prompt (verl samples several per prompt) share a
    /// ground truth and are scored in one `score-batch` call, which costs a
    /// third of separate calls per answer (measured on the Latin square);
    /// when such a call fails, its items are scored one by one to find the
    /// failing one.
    async fn score_chunk(
        &self,
        bootcamp: Arc<Bootcamp>,
        flags: String,
        items: Vec<(usize, Item)>,
    ) -> Vec<(usize, Scored)> {
        let flags: Map<String, Value> = serde_json::from_str(&flags).unwrap_or_default();
        let batching = !self
            .no_batching
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&bootcamp.class);
        let mut units: VecDeque<Unit<'_>> = VecDeque::new();
        for item in &items {
            match units.back_mut() {
                Some(Unit::Many(group))
                    if batching
                        && group.len() < SHARED_TRUTH_CALL
                        && group[0].1.ground_truth == item.1.ground_truth =>
                {
                    group.push(item)
                }
                _ => units.push_back(Unit::Many(vec![item])),
            }
        }
        // A group of one is a plain call.
        for unit in units.iter_mut() {
            if let Unit::Many(group) = unit
                && group.len() == 1
            {
                *unit = Unit::One(group[0]);
            }
        }
        let mut out = Vec::with_capacity(items.len());
        // Items that hit the output cap in a kept-warm instance (whose
        // budget earlier runs used up) get one more try in a fresh one.
        let mut retried: HashSet<usize> = HashSet::new();
        let mut fresh = false;
        while !units.is_empty() {
            let mut spec = RunSpec::new(bootcamp.filename.clone(), bootcamp.source.clone());
            spec.class = Some(bootcamp.class.clone());
            spec.params = bootcamp.params.clone();
            spec.score_flags = flags.clone();
            spec.limits = self.settings.limits;
            spec.keep_warm = if std::mem::take(&mut fresh) {
                0
            } else {
                self.settings.warm_per_worker
            };
            spec.calls = units.iter().map(Unit::call).collect();
            let report = self.sandbox.run(spec).await;
            let mut done = 0;
            for (result, unit) in report.results.iter().zip(units.iter()) {
                match (result, unit) {
                    (CallResult::Score(s), Unit::One((i, _))) => out.push((*i, ok(s.score))),
                    (CallResult::Scores(s), Unit::Many(group)) if s.scores.len() == group.len() => {
                        for ((i, _), score) in group.iter().zip(&s.scores) {
                            out.push((*i, ok(*score)));
                        }
                    }
                    _ => break,
                }
                done += 1;
            }
            units.drain(..done);
            let Some(err) = report.error else {
                // Every call answered (or the sandbox said nothing: never
                // loop on that).
                for unit in units.drain(..) {
                    for (i, _) in unit.items() {
                        out.push((
                            *i,
                            Scored::failed(ErrorKind::Trap, "the sandbox returned no score"),
                        ));
                    }
                }
                break;
            };
            let (kind, message) = describe(&err);
            if report.loaded.is_none() {
                // The bootcamp does not load: no item of it can be scored.
                for unit in units.drain(..) {
                    for (i, _) in unit.items() {
                        out.push((*i, Scored::failed(ErrorKind::LoadFailed, message.clone())));
                    }
                }
                break;
            }
            match units.pop_front() {
                Some(Unit::One(item))
                    if kind == ErrorKind::OutputLimit && retried.insert(item.0) =>
                {
                    units.push_front(Unit::One(item));
                    fresh = true;
                }
                Some(Unit::One((i, _))) => out.push((*i, Scored::failed(kind, message))),
                Some(Unit::Many(group)) => {
                    if kind == ErrorKind::Timeout {
                        // Its answers together outlast one call's limit: score
                        // this bootcamp's answers one call each from now on.
                        self.no_batching
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(bootcamp.class.clone());
                    }
                    for item in group.into_iter().rev() {
                        units.push_front(Unit::One(item));
                    }
                }
                None => break,
            }
        }
        out
    }
}

/// Items of one bootcamp and one set of flags, with their request positions.
type Group = (Arc<Bootcamp>, String, Vec<(usize, Item)>);

/// The fewest items a group is split into parts of.
const MIN_CHUNK: usize = 16;

/// The most answers to one ground truth scored in one call (its time limit
/// covers them all).
const SHARED_TRUTH_CALL: usize = 16;

fn ok(score: f64) -> Scored {
    Scored { score, error: None }
}

/// One guest call's worth of items.
enum Unit<'a> {
    One(&'a (usize, Item)),
    /// Answers to one ground truth.
    Many(Vec<&'a (usize, Item)>),
}

impl Unit<'_> {
    fn call(&self) -> Call {
        match self {
            Unit::One((_, item)) => Call::Score {
                identity: item.ground_truth.as_str().into(),
                answer: item.solution.clone(),
            },
            Unit::Many(group) => Call::ScoreBatch {
                identity: group[0].1.ground_truth.as_str().into(),
                answers: group
                    .iter()
                    .map(|(_, item)| item.solution.clone())
                    .collect(),
            },
        }
    }

    fn items(&self) -> Vec<&(usize, Item)> {
        match self {
            Unit::One(item) => vec![*item],
            Unit::Many(group) => group.clone(),
        }
    }
}

/// An item's error kind and message from a sandbox failure.
fn describe(err: &RunError) -> (ErrorKind, String) {
    use crate::sandbox::ErrorKind as K;
    let kind = match (err.kind, err.stage) {
        (_, Stage::Instantiate | Stage::Load | Stage::Init) | (K::Load, _) => ErrorKind::LoadFailed,
        (K::Exception, _) => ErrorKind::Exception,
        (K::Timeout, _) => ErrorKind::Timeout,
        (K::Memory, _) => ErrorKind::Memory,
        (K::OutputLimit, _) => ErrorKind::OutputLimit,
        (K::InvalidOutput, _) => ErrorKind::InvalidOutput,
        (K::Trap, _) => ErrorKind::Trap,
    };
    let mut message = err.to_string();
    if !err.traceback.is_empty() {
        message.push('\n');
        message.push_str(&err.traceback);
    }
    (kind, clip(&message, 4000).to_owned())
}

/// At most `max` bytes of `text`, cut on a character boundary, unmarked.
fn clip(text: &str, max: usize) -> &str {
    crate::text::cut(text, crate::text::Limit::Bytes(max)).0
}
