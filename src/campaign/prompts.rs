//! The author's and solver's prompts: minijinja templates under `prompts/`
//! (embedded in the binary), each overridable by a file of the same name in a
//! campaign's own prompts directory. A template that uses a variable nobody
//! supplies is an error when the campaign starts, not in the middle of it.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{Context, Result, bail};
use minijinja::Environment;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub const DRAFT: &str = "draft.md.j2";
pub const REFINE: &str = "refine.md.j2";
pub const SOLVER: &str = "solver.md.j2";

const EMBEDDED: [(&str, &str); 3] = [
    (DRAFT, include_str!("../../prompts/draft.md.j2")),
    (REFINE, include_str!("../../prompts/refine.md.j2")),
    (SOLVER, include_str!("../../prompts/solver.md.j2")),
];

/// The interface spec given to the author.
pub const INTERFACE: &str = include_str!("../../prompts/interface.md");
/// The worked example given to the author.
pub const EXAMPLE: &str = include_str!("../../sandbox/examples/arithmetic_chain.py");

/// The variables each template is rendered with.
fn supplied(name: &str) -> &'static [&'static str] {
    match name {
        DRAFT => &["interface", "example", "task", "wanted"],
        REFINE => &[
            "interface",
            "example",
            "task",
            "parent_code",
            "failures",
            "traceback",
            "sample",
            "notes",
            "solver_cases",
            "calibration",
            "reviewer_note",
        ],
        _ => &["prompt"],
    }
}

/// The loaded templates.
pub struct Prompts {
    env: Environment<'static>,
    sources: BTreeMap<&'static str, String>,
}

impl Prompts {
    /// The embedded templates, with any file of the same name in `dir`
    /// taking its place. The error's causes (the I/O or template error)
    /// are kept; `{:#}` says it all on one line.
    pub fn load(dir: Option<&Path>) -> Result<Prompts> {
        if let Some(dir) = dir
            && !dir.is_dir()
        {
            bail!("the prompts directory {} does not exist", dir.display());
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let mut sources = BTreeMap::new();
        for (name, embedded) in EMBEDDED {
            let text = match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
                None => embedded.to_owned(),
            };
            env.add_template_owned(name, text.clone())
                .with_context(|| format!("template {name}"))?;
            sources.insert(name, text);
        }
        let prompts = Prompts { env, sources };
        prompts.validate()?;
        Ok(prompts)
    }

    fn validate(&self) -> Result<()> {
        for name in [DRAFT, REFINE, SOLVER] {
            let template = self.env.get_template(name)?;
            let known: HashSet<&str> = supplied(name).iter().copied().collect();
            let mut missing: Vec<String> = template
                .undeclared_variables(false)
                .into_iter()
                .filter(|v| !known.contains(v.as_str()))
                .collect();
            missing.sort();
            if !missing.is_empty() {
                bail!(
                    "template {name} uses {} that bootforge does not supply (it supplies: {})",
                    missing.join(", "),
                    supplied(name).join(", ")
                );
            }
        }
        Ok(())
    }

    /// Render `name` with `context`.
    pub fn render<S: Serialize>(&self, name: &str, context: S) -> Result<String> {
        let template = self.env.get_template(name)?;
        template
            .render(context)
            .with_context(|| format!("rendering {name}"))
    }

    /// SHA-256 of a template's text (stored with every draft).
    pub fn sha(&self, name: &str) -> String {
        let digest = Sha256::digest(
            self.sources
                .get(name)
                .map(String::as_bytes)
                .unwrap_or_default(),
        );
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

impl crate::calls::SolverPrompt for Prompts {
    /// The solver template around the question; the bare question when the
    /// template cannot render it.
    fn render(&self, question: &str) -> String {
        Prompts::render(self, SOLVER, serde_json::json!({ "prompt": question }))
            .unwrap_or_else(|_| question.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn embedded_templates_render_and_validate() {
        let p = Prompts::load(None).unwrap();
        let text = p
            .render(DRAFT, json!({"interface": "SPEC", "example": "EX", "task": {"id": "t", "title": null, "description": "Do it.", "examples": null, "reference_solution": null}, "wanted": {"solver_model": "m-7b", "band_min": 0.03, "band_max": 0.85, "time_budget_ms": 10000}}))
            .unwrap();
        assert!(text.contains("SPEC") && text.contains("Do it.") && text.contains("Task id: t"));
        // The draft prompt says what is wanted: the band, the solver, the time.
        assert!(
            text.contains("(m-7b)")
                && text.contains("between 0.03 and 0.85")
                && text.contains("within 10000 ms")
                && text.contains("slower than native"),
            "{text}"
        );
        assert_eq!(
            p.render(SOLVER, json!({"prompt": "Q?"})).unwrap().trim(),
            "Q?"
        );
        assert_eq!(p.sha(DRAFT).len(), 16);
    }

    #[test]
    fn a_custom_refine_template_can_place_the_reviewers_note() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(REFINE),
            "Curator says: {{ reviewer_note }}\n{{ parent_code }}",
        )
        .unwrap();
        let p = Prompts::load(Some(dir.path())).unwrap();
        let text = p
            .render(
                REFINE,
                json!({"reviewer_note": "harder cases", "parent_code": "class X: pass"}),
            )
            .unwrap();
        assert!(text.starts_with("Curator says: harder cases"), "{text}");
    }

    #[test]
    fn an_unreadable_template_keeps_the_io_error_as_its_cause() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(DRAFT), b"\xff\xfe not text").unwrap();
        let err = Prompts::load(Some(dir.path())).err().unwrap();
        let io = err.root_cause().downcast_ref::<std::io::Error>();
        assert_eq!(
            io.map(|e| e.kind()),
            Some(std::io::ErrorKind::InvalidData),
            "{err:#}"
        );
        assert!(format!("{err:#}").starts_with("cannot read "), "{err:#}");
    }

    #[test]
    fn an_unsupplied_variable_is_an_error_at_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(SOLVER),
            "{{ prompt }} {{ temperature_hint }}",
        )
        .unwrap();
        let err = format!("{:#}", Prompts::load(Some(dir.path())).err().unwrap());
        assert!(
            err.contains("solver.md.j2") && err.contains("temperature_hint"),
            "{err}"
        );
    }
}
