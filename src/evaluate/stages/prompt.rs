//! Stage 4, *prompt*: a non-empty prompt per case that states an answer
//! format.

use serde_json::json;

use crate::evaluate::FindingKind;
use crate::evaluate::checker::Checker;
use crate::evaluate::{CheckStage, Severity, judge};
use crate::sandbox::CaseResult;
use crate::text::clip;

pub(crate) fn prompt_stage(c: &mut Checker<'_>, cases: &[CaseResult]) {
    let mut warned = false;
    for case in cases {
        if case.prompt.trim().is_empty() {
            c.error(
                CheckStage::Prompt,
                FindingKind::EmptyPrompt,
                format!("prompt_func gave an empty prompt for seed {}", case.seed),
                json!({"seed": case.seed, "case": clip(&case.case_json, 300)}),
            );
            break;
        }
        if !warned && !judge::states_answer_format(&case.prompt) {
            warned = true;
            c.find(
                CheckStage::Prompt,
                FindingKind::NoAnswerFormat,
                Severity::Warning,
                format!(
                    "the prompt for seed {} does not say how to format the answer",
                    case.seed
                ),
                json!({"seed": case.seed, "prompt": clip(&case.prompt, 300)}),
            );
        }
    }
    c.close(CheckStage::Prompt, format!("{} prompts", cases.len()));
}
