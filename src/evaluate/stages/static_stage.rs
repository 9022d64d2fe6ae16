//! Stage 1, *static*: simplification markers in the source, the syntax
//! tree read in the guest, the bootcamp class and its required methods, and
//! code that probes its environment (warnings with the line).

use serde_json::json;

use crate::evaluate::FindingKind;
use crate::evaluate::checker::{Checker, error_evidence};
use crate::evaluate::{CheckStage, Severity, judge};
use crate::sandbox::{RunError, RunReport, Stage};

pub(crate) fn static_stage(c: &mut Checker<'_>, run: &RunReport) -> Option<String> {
    let markers = judge::simplification_markers(&c.source);
    c.metrics.markers = markers.len();
    for hit in &markers {
        c.find(
            CheckStage::Static,
            FindingKind::SimplificationMarker,
            Severity::Warning,
            format!(
                "line {}: {:?} suggests the task was simplified",
                hit.line, hit.marker
            ),
            json!({"line": hit.line, "marker": hit.marker, "text": hit.text}),
        );
    }
    for hit in judge::environment_probes(&c.source) {
        c.find(
            CheckStage::Static,
            FindingKind::EnvironmentProbe,
            Severity::Warning,
            format!(
                "line {}: `{}` {}: a bootcamp that can tell it is being checked can pass the check and misbehave in use",
                hit.line, hit.probe, hit.why
            ),
            json!({"line": hit.line, "probe": hit.probe, "text": hit.text}),
        );
    }
    let inspection = match (run.inspection.clone(), run.error.clone()) {
        (Some(inspection), _) => inspection,
        (None, err) => {
            let err = err.unwrap_or_else(|| {
                RunError::new(
                    crate::sandbox::ErrorKind::InvalidOutput,
                    Stage::Inspect,
                    "no inspection",
                )
            });
            c.error(
                CheckStage::Static,
                FindingKind::InspectFailed,
                format!("the file could not be inspected: {err}"),
                error_evidence(&err),
            );
            c.close(CheckStage::Static, "");
            return None;
        }
    };
    if let Some(problem) = &inspection.syntax_error {
        c.error(
            CheckStage::Static,
            FindingKind::SyntaxError,
            format!("line {}: {}", problem.line, problem.message),
            json!({"line": problem.line, "column": problem.column, "message": problem.message}),
        );
        c.close(CheckStage::Static, "");
        return None;
    }
    let classes = judge::bootcamp_classes(&inspection);
    let class = match judge::choose_class(&classes, c.config.class.as_deref()) {
        Ok(class) => class,
        Err(message) => {
            let names: Vec<&str> = inspection.classes.iter().map(|c| c.name.as_str()).collect();
            c.error(
                CheckStage::Static,
                FindingKind::NoBootcampClass,
                message,
                json!({"classes": names}),
            );
            c.close(CheckStage::Static, "");
            return None;
        }
    };
    for method in judge::REQUIRED_METHODS {
        match judge::resolve_method(&inspection, class, method) {
            None => c.error(
                CheckStage::Static,
                FindingKind::MissingMethod,
                format!("{} does not define {method}", class.name),
                json!({"class": class.name, "method": method}),
            ),
            Some((owner, info)) if method == "_verify_correction" && info.placeholder => c.error(
                CheckStage::Static,
                FindingKind::PlaceholderVerifier,
                format!(
                    "{}._verify_correction (line {}) is a placeholder that checks nothing",
                    owner.name, info.line
                ),
                json!({"class": owner.name, "line": info.line}),
            ),
            Some(_) => {}
        }
    }
    let name = class.name.clone();
    let ok = c.close(
        CheckStage::Static,
        format!("class {name}, {} marker(s)", markers.len()),
    );
    let structural = c
        .findings
        .iter()
        .any(|f| f.stage == CheckStage::Static && f.kind == FindingKind::MissingMethod);
    if !ok && structural {
        return None;
    }
    Some(name)
}
