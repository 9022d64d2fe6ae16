//! `bootforge calibrate`: flags, the table, `--json`, exit codes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::campaign::DbArgs;
use super::check::SolverArgs;
use super::run::{json_object, read_source};
use super::{CliResult, Exit, Out, bad_input, exit, failed, open_sandbox, runtime, usage};
use crate::calibrate::{self, Report, Settings};
use crate::campaign::config::CampaignConfig;
use crate::campaign::prompts::{self, Prompts};
use crate::evaluate::CheckConfig;
use crate::llm::{AccountingSnapshot, BoxFuture, ChatModel, Completion, Failure};
use crate::review;
use crate::sandbox::Limits;
use crate::store::Store;

#[derive(Args, Debug)]
pub struct CalibrateCommand {
    /// A review item's id (its code, class and parameters from the store;
    /// the result is stored with the item for `export` and `generate
    /// --split`), or a bootcamp file.
    #[arg(value_name = "ID|FILE")]
    subject: String,
    /// The bootcamp class, when the file defines several.
    #[arg(long, value_name = "NAME")]
    class: Option<String>,
    /// Constructor keyword arguments to start from, as a JSON object
    /// (numeric ones replace the defaults the search starts at; for a
    /// review item, they are laid over the item's parameters).
    #[arg(long, value_name = "JSON", default_value = "{}")]
    params: String,
    /// Solver accuracy the test setting should reach [default: 0.5; with
    /// --config, the middle of the campaign's band].
    #[arg(long, value_name = "A")]
    target: Option<f64>,
    /// Solver accuracies the train ladder should span, comma-separated
    /// [default: 0.2,0.5,0.8; with --config, a quarter, half and three
    /// quarters of the way across the campaign's band].
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    ladder: Option<Vec<f64>>,
    /// How near a target a setting's accuracy must be to meet it.
    #[arg(long, value_name = "X", default_value_t = 0.1)]
    tolerance: f64,
    /// Cases the solver answers at each setting tried [default: 20; with
    /// --config, the campaign's selftest.solver_cases].
    #[arg(long, value_name = "N")]
    solver_cases: Option<usize>,
    /// Solver calls the whole search may take (calls answered from the
    /// store count too, so a resumed search takes the same steps).
    #[arg(long, value_name = "N", default_value_t = 400)]
    max_solver_calls: usize,
    /// verify_score keyword arguments for grading the solver's answers.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    score_flags: String,
    /// Limit of each guest call, ms: a setting whose generation runs past
    /// it is out of bounds [default: 10000; with --config, the campaign's
    /// selftest.timeout_ms].
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<u64>,
    /// Memory cap of the sandbox, MiB.
    #[arg(long, value_name = "MB", default_value_t = 1024)]
    memory_mb: u64,
    /// A campaign config file: its solver (endpoint or fleet, temperature,
    /// max tokens, its solver prompt template) answers, its band sets the
    /// default targets, its selftest the cases per setting and the per-call
    /// time budget (instead of --model and --base-url).
    #[arg(long, value_name = "FILE", conflicts_with = "model")]
    config: Option<PathBuf>,
    #[command(flatten)]
    solver: SolverArgs,
    /// Print one JSON object: every setting tried and the ones chosen.
    #[arg(long)]
    json: bool,
}

/// What is calibrated: a file as read, or a review item as stored.
struct Subject {
    label: String,
    source: String,
    class: Option<String>,
    params: serde_json::Map<String, serde_json::Value>,
    item: Option<i64>,
}

impl CalibrateCommand {
    /// A path that exists is a file; otherwise a whole number is a review
    /// item id.
    async fn subject(&self, store: &Store) -> Result<Subject, String> {
        let given = json_object(&self.params, "--params", r#"{"size": 5}"#)?;
        let path = PathBuf::from(&self.subject);
        let id = self.subject.parse::<i64>().ok().filter(|_| !path.exists());
        let Some(id) = id else {
            return Ok(Subject {
                label: path.display().to_string(),
                source: read_source(&path)?,
                class: self.class.clone(),
                params: given,
                item: None,
            });
        };
        let item = store
            .review_item(id)
            .await
            .map_err(|e| format!("reading review item {id}: {e:#}"))?
            .ok_or_else(|| {
                format!("no review item {id} and no such file (see `bootforge review list`)")
            })?;
        // A calibrated item holds the setting its calibration chose; the
        // search starts again where that calibration started (so it is
        // resumed, not begun anew from its own result).
        let started = store
            .item_calibration_settings(id)
            .await
            .map_err(|e| format!("reading review item {id}'s calibration: {e:#}"))?
            .and_then(|text| serde_json::from_str::<StartedFrom>(&text).ok())
            .and_then(|settings| settings.params);
        let mut params: serde_json::Map<String, serde_json::Value> = match started {
            Some(params) => params,
            None => serde_json::from_str(&item.params_json).unwrap_or_default(),
        };
        params.extend(given);
        Ok(Subject {
            label: format!("review item {id} ({})", item.task_id),
            source: item.code.clone(),
            class: self.class.clone().or_else(|| review::item_class(&item)),
            params,
            item: Some(id),
        })
    }

    fn settings(
        &self,
        subject: Subject,
        campaign: Option<&CampaignConfig>,
    ) -> Result<Settings, String> {
        let band = campaign.map(|c| (c.selftest.accuracy_min, c.selftest.accuracy_max));
        let across = |share: f64| band.map(|(lo, hi)| lo + (hi - lo) * share);
        let target = self.target.or(across(0.5)).unwrap_or(0.5);
        let ladder = match &self.ladder {
            Some(ladder) => ladder.clone(),
            None => match band {
                Some(_) => [0.25, 0.5, 0.75].into_iter().filter_map(across).collect(),
                None => vec![0.2, 0.5, 0.8],
            },
        };
        let solver_cases = self
            .solver_cases
            .or(campaign.map(|c| c.selftest.solver_cases as usize))
            .unwrap_or(20);
        let timeout_ms = self
            .timeout_ms
            .or(campaign.map(|c| c.selftest.timeout_ms))
            .unwrap_or(10_000);
        let in_unit = |x: f64| (0.0..=1.0).contains(&x);
        if !in_unit(target) || !ladder.iter().all(|&x| in_unit(x)) {
            return Err(format!(
                "--target and --ladder take accuracies between 0 and 1, got {target} and {ladder:?}"
            ));
        }
        if !(self.tolerance > 0.0 && self.tolerance < 1.0) {
            return Err(format!(
                "--tolerance must lie between 0 and 1, got {}",
                self.tolerance
            ));
        }
        if solver_cases == 0 || solver_cases > 10_000 {
            return Err("--solver-cases must be between 1 and 10000".into());
        }
        if self.max_solver_calls < solver_cases {
            return Err(format!(
                "--max-solver-calls ({}) must allow at least one setting of --solver-cases ({solver_cases})",
                self.max_solver_calls
            ));
        }
        if timeout_ms == 0 || self.memory_mb == 0 {
            return Err("--timeout-ms and --memory-mb must be positive".into());
        }
        let limits = Limits {
            timeout: Duration::from_millis(timeout_ms),
            memory_bytes: usize::try_from(self.memory_mb.saturating_mul(1 << 20))
                .unwrap_or(usize::MAX),
            ..Limits::default()
        };
        let score_flags =
            json_object(&self.score_flags, "--score-flags", r#"{"format_score": 0}"#)?;
        // The checks at each setting, as `check` (or the campaign) runs them.
        let check = CheckConfig {
            class: subject.class.clone(),
            params: subject.params.clone(),
            solver_cases: solver_cases as u32,
            score_flags: score_flags.clone(),
            limits,
            ..campaign
                .map(crate::campaign::check_config)
                .unwrap_or_default()
        };
        Ok(Settings {
            file: subject.label,
            source: subject.source,
            class: subject.class,
            params: subject.params,
            target,
            ladder,
            tolerance: self.tolerance,
            cases: solver_cases,
            max_solver_calls: self.max_solver_calls,
            score_flags,
            limits,
            concurrency: match campaign {
                // A call at once per slot of the solver's endpoints.
                Some(c) => c
                    .solver
                    .resolved_endpoints()
                    .iter()
                    .map(|e| e.concurrency)
                    .sum::<usize>()
                    .max(1),
                None => self.solver.concurrency,
            },
            check: Some(check),
            check_each: true,
        })
    }
}

/// A campaign's solver as its campaign asks it: each prompt rendered
/// through the config's solver template first.
struct Rendered<M> {
    model: M,
    prompts: Prompts,
}

impl<M: ChatModel> ChatModel for Rendered<M> {
    fn complete<'a>(&'a self, prompt: &'a str) -> BoxFuture<'a, Result<Completion, Failure>> {
        Box::pin(async move {
            let rendered = self
                .prompts
                .render(prompts::SOLVER, serde_json::json!({ "prompt": prompt }))
                .unwrap_or_else(|_| prompt.to_owned());
            self.model.complete(&rendered).await
        })
    }

    fn accounting(&self) -> AccountingSnapshot {
        self.model.accounting()
    }

    fn describe(&self) -> String {
        self.model.describe()
    }
}

pub fn calibrate(cmd: CalibrateCommand, db: &DbArgs, cache_dir: &Path) -> CliResult {
    let rt = runtime()?;
    let store = match rt.block_on(Store::open(&db.path())) {
        Ok(s) => s,
        Err(err) => {
            return Err(failed(err.context("opening the store")));
        }
    };
    let campaign = match &cmd.config {
        Some(path) => Some(CampaignConfig::load(path).map_err(bad_input)?),
        None => None,
    };
    let (settings, item) = match rt.block_on(cmd.subject(&store)) {
        Ok(subject) => {
            let item = subject.item;
            match cmd.settings(subject, campaign.as_ref()) {
                Ok(s) => (s, item),
                Err(msg) => return Err(usage(msg)),
            }
        }
        Err(msg) => return Err(usage(msg)),
    };
    let model: std::sync::Arc<dyn crate::llm::ChatModel> = match &campaign {
        Some(c) => match Prompts::load(c.prompts.as_deref()) {
            Ok(prompts) => std::sync::Arc::new(Rendered {
                model: super::client::fleet(&c.solver),
                prompts,
            }),
            Err(err) => return Err(bad_input(err)),
        },
        None => match cmd.solver.model() {
            Ok(Some(m)) => m,
            Ok(None) => {
                return Err(usage(
                    "calibrate needs a solver: give --model (and --base-url) or --config FILE",
                ));
            }
            Err(msg) => return Err(usage(msg)),
        },
    };
    let sandbox = open_sandbox(cache_dir, None)?;
    let result = rt.block_on(async {
        let report =
            calibrate::calibrate(&sandbox, &store, calibrate::Asker::Own(model), &settings).await?;
        if let Some(item) = item {
            store
                .link_item_calibration(item, report.calibration)
                .await?;
            // The item is set to its test setting, with the check there.
            let test = report
                .chosen
                .iter()
                .find(|c| c.role == "test" && c.met)
                .and_then(|c| c.setting.as_ref());
            if let (Some(check), Some(test)) = (&report.check, test) {
                store
                    .set_item_setting(
                        item,
                        &serde_json::Value::Object(test.params.clone()).to_string(),
                        &check.to_string(),
                        test.accuracy,
                    )
                    .await?;
            }
        }
        anyhow::Ok(report)
    });
    let report = match result {
        Ok(r) => r,
        Err(err) => {
            return Err(failed(
                err.context("calibrating (run the same command again to resume)"),
            ));
        }
    };
    let mut out = Out::new();
    if cmd.json {
        out.line(serde_json::to_string(&report).unwrap_or_default());
    } else {
        render(&mut out, &report);
    }
    if report.chosen.iter().all(|c| c.met) {
        Ok(())
    } else {
        Err(Exit::code(exit::FAILED))
    }
}

fn params_text(params: &serde_json::Map<String, serde_json::Value>) -> String {
    serde_json::Value::Object(params.clone()).to_string()
}

fn render(out: &mut Out, r: &Report) {
    out.line(format!(
        "calibration {} of {} ({}) against {}: {} solver calls, {} new",
        r.calibration, r.file, r.class, r.model, r.solver_calls, r.new_solver_calls
    ));
    let names: Vec<String> = r
        .space
        .iter()
        .map(|p| format!("{}={}", p.name, p.default))
        .collect();
    out.line(format!(
        "parameters: {}; moving the accuracy: {}",
        if names.is_empty() {
            "none numeric".into()
        } else {
            names.join(", ")
        },
        r.moving.as_deref().unwrap_or("none found")
    ));
    out.line(format!(
        "  {:<40} {:>22} {:>12} {:>6}",
        "params", "accuracy (95% CI)", "gen ms/case", "calls"
    ));
    for t in &r.tried {
        let acc = match (&t.accuracy, &t.bound) {
            (Some(a), _) => format!(
                "{a:.2} ({:.2}-{:.2}) {}/{}",
                t.interval[0], t.interval[1], t.correct, t.cases
            ),
            (None, Some(b)) => format!("out of bounds: {b}"),
            (None, None) => "-".into(),
        };
        out.line(format!(
            "  {:<40} {:>22} {:>12.2} {:>6}",
            params_text(&t.params),
            acc,
            t.generate_ms_per_case,
            t.solver_calls
        ));
    }
    if let Some(check) = &r.check {
        let verdict = check["verdict"].as_str().unwrap_or("?");
        let line = match calibrate::first_error(check) {
            Some((stage, kind, _)) => format!("{verdict} ({stage} failed: {kind})"),
            None => verdict.to_owned(),
        };
        out.line(format!(
            "checks at the test setting {}: {line}",
            check["params"]
        ));
    }
    for c in &r.chosen {
        let setting = c
            .setting
            .as_ref()
            .map(|t| {
                format!(
                    "{} at accuracy {:.2}",
                    params_text(&t.params),
                    t.accuracy.unwrap_or(0.0)
                )
            })
            .unwrap_or_else(|| "no setting".into());
        if c.met {
            out.line(format!("{} {:.2}: met by {setting}", c.role, c.target));
        } else {
            out.line(format!(
                "{} {:.2}: missed ({}); nearest {setting}",
                c.role,
                c.target,
                c.miss.as_deref().unwrap_or("no setting in bounds")
            ));
        }
    }
    if let Some(bound) = &r.stopped_by {
        out.line(format!("the search was stopped by {bound}"));
    }
}

/// What `calibrate` reads of a stored calibration's settings: the
/// constructor keyword arguments its search started from.
#[derive(serde::Deserialize)]
struct StartedFrom {
    #[serde(default)]
    params: Option<serde_json::Map<String, serde_json::Value>>,
}
