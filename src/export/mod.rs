//! Getting approved bootcamps to trainers (issue 7): `export` writes them
//! in InternBootcamp's layout with a manifest, and [`generate`] turns a
//! bootcamp into training records in the sandbox. Naming and the source
//! rewrite are pure rules in [`names`].

pub mod generate;
pub mod names;
mod parquet;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::store::{ReviewFilter, Store};

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
    pub bootcamps: Vec<ManifestEntry>,
}

/// Why an export did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Bad input: the directory has files and `--force` was not given.
    #[error("{0} is not empty: choose a new directory or pass --force to write into it")]
    NotEmpty(PathBuf),
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

/// `bootforge export`.
pub async fn export(store: &Store, request: &ExportRequest) -> Result<Manifest, ExportError> {
    let out = &request.out;
    let non_empty = std::fs::read_dir(out)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if non_empty && !request.force {
        return Err(ExportError::NotEmpty(out.clone()));
    }
    let approved = store
        .review_items(&ReviewFilter {
            status: Some("approved".into()),
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
    let mut entries = Vec::new();
    let mut imports = String::from(
        "# Written by `bootforge export`: add these lines to internbootcamp/bootcamp/__init__.py\n",
    );
    for ((item, summary), name) in items.iter().zip(&summaries).zip(&names) {
        let original = summary.class.clone().unwrap_or_default();
        let mut code = names::rewrite_imports(&item.code);
        if name.renamed_from.is_some() && !original.is_empty() {
            code = names::rename_identifier(&code, &original, &name.class);
        }
        let rel = format!("internbootcamp/bootcamp/{0}/{0}.py", name.folder);
        write(out, &rel, code.as_bytes())?;
        imports.push_str(&format!(
            "from .{0}.{0} import {1}\n",
            name.folder, name.class
        ));
        let params: Value = serde_json::from_str(&item.params_json).unwrap_or(Value::Null);
        let config = serde_json::to_string_pretty(&Value::Array(vec![params.clone()]))
            .context("serialising the parameters")?;
        for split in ["train", "test"] {
            write(
                out,
                &format!(
                    "examples/pipelines/autogen_configs/{}_{split}.json",
                    name.class
                ),
                config.as_bytes(),
            )?;
        }
        let decision = store
            .review_decisions(item.id)
            .await?
            .into_iter()
            .rev()
            .find(|d| d.decision == "approved")
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
        let report: Value = serde_json::from_str(&item.report_json).unwrap_or(Value::Null);
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
            author_model,
            solver_model: report["metrics"]["solver"]["model"]
                .as_str()
                .map(str::to_owned),
            accuracy: summary.accuracy,
            interval: summary.interval,
            reviewer: decision.reviewer,
            decided_at: decision.created_at,
            note: decision.note,
            sha256: hex(&Sha256::digest(code.as_bytes())),
        });
    }
    write(
        out,
        "internbootcamp/bootcamp/__init__.bootforge.txt",
        imports.as_bytes(),
    )?;
    let manifest = Manifest {
        generated_by: format!("bootforge {}", env!("CARGO_PKG_VERSION")),
        bootcamps: entries,
    };
    let text = serde_json::to_string_pretty(&manifest).context("serialising the manifest")?;
    write(out, "MANIFEST.json", text.as_bytes())?;
    Ok(manifest)
}
