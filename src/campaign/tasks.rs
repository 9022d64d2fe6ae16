//! Task descriptions: a directory of Markdown files (file stem = task id, text
//! = description) or a JSONL file (`id`, `description`, optional `title`,
//! `examples`, `reference_solution`, `tags`). Bad files are reported by name
//! and line.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    pub id: String,
    pub description: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub examples: Option<Value>,
    #[serde(default)]
    pub reference_solution: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Load the tasks at `path`, sorted by id; duplicates and bad ids are errors.
pub fn load(path: &Path) -> Result<Vec<Task>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read tasks at {}", path.display()))?;
    let mut tasks = if meta.is_dir() {
        load_dir(path)?
    } else {
        load_jsonl(path)?
    };
    tasks.sort_by(|a, b| a.id.cmp(&b.id));
    for pair in tasks.windows(2) {
        if pair[0].id == pair[1].id {
            bail!("{}: task id {:?} appears twice", path.display(), pair[0].id);
        }
    }
    if tasks.is_empty() {
        bail!(
            "{}: no tasks (a directory of .md files or a .jsonl file)",
            path.display()
        );
    }
    Ok(tasks)
}

fn load_dir(dir: &Path) -> Result<Vec<Task>> {
    let mut tasks = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let id = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_owned();
        if !valid_id(&id) {
            bail!(
                "{}: the file name must be a task id (letters, digits, - _ .)",
                path.display()
            );
        }
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let text =
            String::from_utf8(bytes).map_err(|_| anyhow!("{}: not UTF-8 text", path.display()))?;
        if text.trim().is_empty() {
            bail!("{}: empty task description", path.display());
        }
        let title = text
            .lines()
            .find(|l| l.starts_with("# "))
            .map(|l| l[2..].trim().to_owned());
        tasks.push(Task {
            id,
            description: text.trim().to_owned(),
            title,
            examples: None,
            reference_solution: None,
            tags: vec![],
        });
    }
    Ok(tasks)
}

fn load_jsonl(path: &Path) -> Result<Vec<Task>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text =
        String::from_utf8(bytes).map_err(|_| anyhow!("{}: not UTF-8 text", path.display()))?;
    let mut tasks = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let task: Task = serde_json::from_str(line)
            .with_context(|| format!("{}:{}", path.display(), index + 1))?;
        if !valid_id(&task.id) {
            bail!(
                "{}:{}: task id {:?} must be letters, digits, - _ . (at most 128)",
                path.display(),
                index + 1,
                task.id
            );
        }
        if task.description.trim().is_empty() {
            bail!("{}:{}: empty description", path.display(), index + 1);
        }
        tasks.push(task);
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_directories_and_jsonl_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b-task.md"), "# Bee\nDo b.").unwrap();
        std::fs::write(dir.path().join("a_task.md"), "Do a.").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let tasks = load(dir.path()).unwrap();
        assert_eq!(
            tasks.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            vec!["a_task", "b-task"]
        );
        assert_eq!(tasks[1].title.as_deref(), Some("Bee"));

        let file = dir.path().join("t.jsonl");
        std::fs::write(&file, "{\"id\": \"x\", \"description\": \"d\", \"tags\": [\"k\"]}\n\n{\"id\": \"y\", \"descripton\": \"d\"}\n").unwrap();
        let err = format!("{:#}", load(&file).unwrap_err());
        assert!(
            err.contains("t.jsonl:3") && err.contains("descripton"),
            "{err}"
        );
        std::fs::write(
            &file,
            "{\"id\": \"x\", \"description\": \"d\"}\n{\"id\": \"x\", \"description\": \"e\"}\n",
        )
        .unwrap();
        assert!(load(&file).unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn a_missing_task_path_keeps_the_io_error_and_says_the_path() {
        let err = load(Path::new("/no/such/tasks")).unwrap_err();
        let io = err.root_cause().downcast_ref::<std::io::Error>();
        assert_eq!(io.map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
        assert!(
            format!("{err:#}").starts_with("cannot read tasks at /no/such/tasks: "),
            "{err:#}"
        );
    }
}
