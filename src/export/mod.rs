//! Getting approved bootcamps to trainers: `export` writes them in
//! InternBootcamp's layout with a manifest, and [`generate`] turns a
//! bootcamp into training records in the sandbox. Naming and the source
//! rewrite are pure rules in [`names`].
//!
//! The layout is what InternBootcamp's own tools read unchanged: parameter
//! sets in `examples/pipelines/puzzle_configs/<Name>_{train,test}.json`
//! (its `run_pipeline.sh` reads them there, and `quickgen_data_configs.py`
//! derives the class `<Name>bootcamp` from the file name), the matching
//! `data_configs` lines in `*.bootforge.jsonl` files beside the pipeline's
//! own, and verl's reward function in `examples/verl_usage/`. An `--out`
//! that is an InternBootcamp clone (it has
//! `internbootcamp/bootcamp/__init__.py`) gets the import lines appended to
//! that file, never twice, and no existing bootcamp or parameter file is
//! replaced without `--force`.

pub mod generate;
pub mod names;
mod parquet;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::evaluate::StoredReport;
use crate::review::rules::{Decision, ItemStatus};
use crate::store::{ReviewFilter, ReviewItemRow, Store};

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    pub out: PathBuf,
    pub campaign: Option<i64>,
    /// Only these review items (all approved ones when empty).
    pub ids: Vec<i64>,
    /// Write into a non-empty `out`.
    pub force: bool,
}

/// One exported bootcamp, as the manifest states it.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestEntry {
    pub item: i64,
    pub task: String,
    pub source: String,
    pub campaign: Option<i64>,
    pub draft: Option<i64>,
    pub file: Option<String>,
    pub class: String,
    /// The class as the bootcamp named it, when the export had to rename it
    /// (another exported bootcamp had the same class or folder name).
    pub renamed_from: Option<String>,
    pub folder: String,
    /// Relative to the export directory.
    pub path: String,
    pub params: Value,
    /// The calibration whose train ladder and test setting were written as
    /// the parameter sets, if one was.
    pub calibration: Option<i64>,
    /// The parameter sets written to `puzzle_configs`.
    pub param_sets: SplitParams,
    pub author_model: Option<String>,
    pub solver_model: Option<String>,
    pub accuracy: Option<f64>,
    pub interval: Option<[f64; 2]>,
    pub reviewer: String,
    pub decided_at: String,
    pub note: Option<String>,
    /// Of the exported file's bytes.
    pub sha256: String,
}

/// The whole manifest (`MANIFEST.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub generated_by: String,
    /// Where the import lines went (relative to the export directory): the
    /// clone's `__init__.py` itself, or `__init__.bootforge.txt` to append.
    pub imports_file: String,
    pub bootcamps: Vec<ManifestEntry>,
}

/// Where InternBootcamp's pipeline reads parameter sets.
pub const PUZZLE_CONFIGS: &str = "examples/pipelines/puzzle_configs";
/// Where its pipeline reads which bootcamps to generate.
pub const DATA_CONFIGS: &str = "examples/pipelines/data_configs";
/// Cases per bootcamp in the data config lines: the defaults of
/// InternBootcamp's `quickgen_data_configs.py`.
const SAMPLES: [(&str, u64); 2] = [("train", 1000), ("test", 64)];
/// verl's reward function, beside InternBootcamp's own.
pub const VERL_FUNCTION_FILE: &str = "examples/verl_usage/bootforge_reward_for_verl.py";
const INIT: &str = "internbootcamp/bootcamp/__init__.py";

/// Why an export did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Bad input: the directory has files and `--force` was not given.
    #[error("{0} is not empty: choose a new directory or pass --force to write into it")]
    NotEmpty(PathBuf),
    /// Bad input: `--out` is a file.
    #[error(
        "--out {0} is a file, not a directory: choose a directory (new or an InternBootcamp clone)"
    )]
    NotADirectory(PathBuf),
    /// Bad input: the clone already has bootcamps or files of these names.
    #[error("{0}")]
    Conflicts(String),
    /// Bad input: some requested items are not approved.
    #[error("{0}")]
    NotApproved(String),
    /// Nothing to do.
    #[error("no approved bootcamp matches{0}; approve some with `bootforge review approve ID`")]
    Nothing(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn write(out: &Path, rel: &str, bytes: &[u8]) -> Result<()> {
    let path = out.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An item's parameter sets for each split: its calibration's train ladder
/// and test setting when it has been calibrated (`bootforge calibrate ID`)
/// and they were met, else its own parameters for both. The calibration's
/// id is given when its sets are used.
pub async fn split_params(
    store: &Store,
    item: &ReviewItemRow,
) -> Result<(SplitParams, Option<i64>)> {
    let own: Map<String, Value> = serde_json::from_str(&item.params_json).unwrap_or_default();
    let mut sets = SplitParams {
        train: vec![own.clone()],
        test: vec![own],
    };
    let Some(text) = store.item_calibration(item.id).await? else {
        return Ok((sets, None));
    };
    let report: crate::calibrate::Report =
        serde_json::from_str(&text).context("the item's stored calibration is unreadable")?;
    let used = !report.train.is_empty() || report.test.is_some();
    if !report.train.is_empty() {
        sets.train = report.train;
    }
    if let Some(test) = report.test {
        sets.test = vec![test];
    }
    Ok((sets, used.then_some(report.calibration)))
}

/// Parameter sets per split.
#[derive(Debug, Clone, Serialize)]
pub struct SplitParams {
    pub train: Vec<Map<String, Value>>,
    pub test: Vec<Map<String, Value>>,
}

impl SplitParams {
    pub fn get(&self, split: &str) -> &[Map<String, Value>] {
        if split == "test" {
            &self.test
        } else {
            &self.train
        }
    }
}

/// `bootforge export`.
pub async fn export(store: &Store, request: &ExportRequest) -> Result<Manifest, ExportError> {
    let out = &request.out;
    if out.exists() && !out.is_dir() {
        return Err(ExportError::NotADirectory(out.clone()));
    }
    let non_empty = std::fs::read_dir(out)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    // A clone of InternBootcamp is where the files belong: it is written
    // into without --force, but nothing in it is replaced without it.
    let clone_init = std::fs::read_to_string(out.join(INIT)).ok();
    if non_empty && clone_init.is_none() && !request.force {
        return Err(ExportError::NotEmpty(out.clone()));
    }
    let approved = store
        .review_items(&ReviewFilter {
            status: Some(ItemStatus::Approved),
            campaign: request.campaign,
            task: None,
        })
        .await?;
    let items: Vec<_> = if request.ids.is_empty() {
        approved
    } else {
        let missing: Vec<String> = request
            .ids
            .iter()
            .filter(|id| !approved.iter().any(|i| i.id == **id))
            .map(|id| id.to_string())
            .collect();
        for id in &missing {
            let id: i64 = id.parse().unwrap_or_default();
            if store.review_item(id).await?.is_none() {
                return Err(ExportError::NotApproved(format!(
                    "there is no review item {id} (see `bootforge review list`)"
                )));
            }
        }
        if !missing.is_empty() {
            return Err(ExportError::NotApproved(format!(
                "review item(s) {} are not approved{} (see `bootforge review list --status approved`)",
                missing.join(", "),
                request
                    .campaign
                    .map(|c| format!(" in campaign {c}"))
                    .unwrap_or_default()
            )));
        }
        approved
            .into_iter()
            .filter(|i| request.ids.contains(&i.id))
            .collect()
    };
    if items.is_empty()
        && let Some(campaign) = request.campaign
        && store
            .review_items(&ReviewFilter {
                status: None,
                campaign: Some(campaign),
                task: None,
            })
            .await?
            .is_empty()
    {
        return Err(ExportError::NotApproved(format!(
            "campaign {campaign} has nothing in the review queue (see `bootforge campaign list` and `bootforge review list`)"
        )));
    }
    if items.is_empty() {
        return Err(ExportError::Nothing(
            request
                .campaign
                .map(|c| format!(" in campaign {c}"))
                .unwrap_or_default(),
        ));
    }

    let now = crate::review::now_secs();
    let summaries: Vec<_> = items
        .iter()
        .map(|i| crate::review::summarize(i, now))
        .collect();
    let classes: Vec<String> = summaries
        .iter()
        .map(|s| {
            s.class
                .clone()
                .unwrap_or_else(|| format!("{}bootcamp", s.task))
        })
        .collect();
    let names = names::assign(&classes);
    if let Some(init) = &clone_init
        && !request.force
    {
        let mut taken = Vec::new();
        for name in &names {
            let config = names::base_name(&name.class);
            let folder = format!("internbootcamp/bootcamp/{}", name.folder);
            if out.join(&folder).exists() {
                taken.push(format!("{folder}/ exists"));
            }
            if names::contains_identifier(init, &name.class) {
                taken.push(format!("{INIT} already names {}", name.class));
            }
            for (split, _) in SAMPLES {
                let file = format!("{PUZZLE_CONFIGS}/{config}_{split}.json");
                if out.join(&file).exists() {
                    taken.push(format!("{file} exists"));
                }
            }
        }
        if !taken.is_empty() {
            return Err(ExportError::Conflicts(format!(
                "{} is an InternBootcamp clone that already has bootcamps of these names: {}; pass --force to replace them (the import lines are never added twice), or export elsewhere",
                out.display(),
                taken.join("; ")
            )));
        }
    }
    let mut entries = Vec::new();
    let mut import_lines = Vec::new();
    let mut data_lines: [String; 2] = Default::default();
    for ((item, summary), name) in items.iter().zip(&summaries).zip(&names) {
        let original = summary.class.clone().unwrap_or_default();
        let mut code = names::rewrite_imports(&item.code);
        if name.renamed_from.is_some() && !original.is_empty() {
            code = names::rename_identifier(&code, &original, &name.class);
        }
        let rel = format!("internbootcamp/bootcamp/{0}/{0}.py", name.folder);
        write(out, &rel, code.as_bytes())?;
        import_lines.push(format!("from .{0}.{0} import {1}", name.folder, name.class));
        let params: Value = serde_json::from_str(&item.params_json).unwrap_or(Value::Null);
        let (sets, calibration) = split_params(store, item).await?;
        let config_name = names::base_name(&name.class);
        for ((split, samples), lines) in SAMPLES.iter().zip(&mut data_lines) {
            let config = serde_json::to_string_pretty(sets.get(split))
                .context("serialising the parameters")?;
            write(
                out,
                &format!("{PUZZLE_CONFIGS}/{config_name}_{split}.json"),
                config.as_bytes(),
            )?;
            // The fields of InternBootcamp's data_config lines; the class is
            // given outright, so that names its quickgen script would derive
            // wrongly (underscores, a lowercase first letter) still work.
            let line = serde_json::json!({
                "bootcamp_name": config_name.replace('_', ""),
                "sample_number": samples,
                "config_file": config_name,
                "bootcamp_cls_name": name.class,
            });
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
        let decision = store
            .review_decisions(item.id)
            .await?
            .into_iter()
            .rev()
            .find(|d| d.decision == Decision::Approved)
            .context("an approved item without its approval")?;
        let author_model = match (item.campaign_id, item.draft_id) {
            (Some(c), Some(d)) => store
                .drafts(c, &item.task_id)
                .await?
                .into_iter()
                .find(|x| x.id == d)
                .map(|x| x.model),
            _ => None,
        };
        let report = StoredReport::parse(&item.report_json);
        entries.push(ManifestEntry {
            item: item.id,
            task: item.task_id.clone(),
            source: item.source.clone(),
            campaign: item.campaign_id,
            draft: item.draft_id,
            file: item.file_path.clone(),
            class: name.class.clone(),
            renamed_from: name.renamed_from.clone(),
            folder: name.folder.clone(),
            path: rel,
            params,
            calibration,
            param_sets: sets,
            author_model,
            solver_model: report.metrics.solver.and_then(|s| s.model),
            accuracy: summary.accuracy,
            interval: summary.interval,
            reviewer: decision.reviewer,
            decided_at: decision.created_at,
            note: decision.note,
            sha256: hex(&Sha256::digest(code.as_bytes())),
        });
    }
    for ((split, _), lines) in SAMPLES.iter().zip(&data_lines) {
        write(
            out,
            &format!("{DATA_CONFIGS}/data_config_{split}.bootforge.jsonl"),
            lines.as_bytes(),
        )?;
    }
    write(
        out,
        VERL_FUNCTION_FILE,
        crate::reward::VERL_FUNCTION.as_bytes(),
    )?;
    let imports_file = match &clone_init {
        Some(init) => {
            let append = names::lines_to_append(init, &import_lines);
            if !append.is_empty() {
                use std::io::Write;
                let path = out.join(INIT);
                let mut file = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("opening {}", path.display()))?;
                file.write_all(append.as_bytes())
                    .with_context(|| format!("appending to {}", path.display()))?;
            }
            INIT.to_owned()
        }
        None => {
            let rel = "internbootcamp/bootcamp/__init__.bootforge.txt";
            let mut text = String::from(
                "# Written by `bootforge export`: add these lines to internbootcamp/bootcamp/__init__.py\n",
            );
            for line in &import_lines {
                text.push_str(line);
                text.push('\n');
            }
            write(out, rel, text.as_bytes())?;
            rel.to_owned()
        }
    };
    let manifest = Manifest {
        generated_by: format!("bootforge {}", env!("CARGO_PKG_VERSION")),
        imports_file,
        bootcamps: entries,
    };
    let text = serde_json::to_string_pretty(&manifest).context("serialising the manifest")?;
    write(out, "MANIFEST.json", text.as_bytes())?;
    Ok(manifest)
}
