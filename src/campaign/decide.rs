//! What to do next for a task, computed only from its stored drafts: the loop
//! holds no state of its own, so a resumed campaign continues where it
//! stopped. Pure functions, tested without a database.

use crate::store::DraftRow;

use super::config::EvolutionConfig;
use super::status::DraftStatus;

/// A draft to create.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub generation: i64,
    pub sample: i64,
    pub parent: Option<i64>,
}

/// The next step of a task.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Create these drafts (then call the author for each).
    Create(Vec<Planned>),
    /// Call the author for these pending drafts, evaluate these drafted ones.
    Work { call: Vec<i64>, evaluate: Vec<i64> },
    /// Calibrate these drafts: they passed every stage but the accuracy
    /// band (then they are accepted at a setting in the band, or refined).
    Calibrate(Vec<i64>),
    /// An evaluated draft passed every check, or its calibration found a
    /// setting in the band.
    Accepted(i64),
    /// Out of generations; the best draft, if any.
    Rejected(Option<i64>),
}

/// How good a draft is, for choosing parents and the best draft: the
/// furthest stage reached, then closeness to the accuracy band.
pub fn rank(draft: &DraftRow, band: (f64, f64)) -> (i64, f64) {
    let stage = draft.furthest_stage.unwrap_or(-1);
    let distance = match draft.accuracy {
        Some(a) if a < band.0 => band.0 - a,
        Some(a) if a > band.1 => a - band.1,
        Some(_) => 0.0,
        None => 1.0,
    };
    (stage, -distance)
}

fn better(a: &DraftRow, b: &DraftRow, band: (f64, f64)) -> std::cmp::Ordering {
    let (sa, da) = rank(a, band);
    let (sb, db) = rank(b, band);
    sa.cmp(&sb).then(da.total_cmp(&db)).then(b.id.cmp(&a.id))
}

/// The best evaluated draft.
pub fn best(drafts: &[DraftRow], band: (f64, f64)) -> Option<i64> {
    drafts
        .iter()
        .filter(|d| d.status == DraftStatus::Evaluated)
        .max_by(|a, b| better(a, b, band))
        .map(|d| d.id)
}

/// The next step of a task. Drafts still to call or evaluate come first,
/// even when a sibling already passed: an undisturbed run evaluates a whole
/// generation before it decides, so a run resumed after a kill between two
/// sibling evaluations must too, or it would accept whichever passing
/// sibling happened to be stored first and leave the others `drafted` for
/// good. The accepted draft is then the passing one with the
/// lowest id, whatever order the evaluations finished in.
pub fn decide(drafts: &[DraftRow], evo: &EvolutionConfig, band: (f64, f64)) -> Next {
    decide_with_revisions(drafts, &[], evo, band)
}

/// [`decide`], where `revised` are drafts a curator sent back (`review
/// revise`): they passed, but no longer count as accepted, and each gets
/// `children_per_parent` refinement children (one generation below it,
/// whatever `max_generations` says: a curator asked for this round).
pub fn decide_with_revisions(
    drafts: &[DraftRow],
    revised: &[i64],
    evo: &EvolutionConfig,
    band: (f64, f64),
) -> Next {
    // Once a curator sent a draft back, only its descendants can end the
    // task: a sibling that passed alongside it was never reviewed against
    // the note.
    let acceptable = |d: &DraftRow| {
        !revised.contains(&d.id) && (revised.is_empty() || descends_from(drafts, d, revised))
    };
    let call: Vec<i64> = drafts
        .iter()
        .filter(|d| d.status == DraftStatus::Pending)
        .map(|d| d.id)
        .collect();
    let evaluate: Vec<i64> = drafts
        .iter()
        .filter(|d| d.status == DraftStatus::Drafted)
        .map(|d| d.id)
        .collect();
    if !call.is_empty() || !evaluate.is_empty() {
        return Next::Work { call, evaluate };
    }
    if let Some(accepted) = drafts
        .iter()
        .filter(|d| d.verdict.as_deref() == Some("pass") && acceptable(d))
        .map(|d| d.id)
        .min()
    {
        return Next::Accepted(accepted);
    }
    // Nothing passed as written: a draft that missed only the band is
    // calibrated before any author call, and one whose calibration landed
    // in the band ends the task.
    let uncalibrated: Vec<i64> = drafts
        .iter()
        .filter(|d| {
            evo.calibrate
                && d.status == DraftStatus::Evaluated
                && d.band_miss
                && d.calibrated.is_none()
                && acceptable(d)
        })
        .map(|d| d.id)
        .collect();
    if !uncalibrated.is_empty() {
        return Next::Calibrate(uncalibrated);
    }
    if let Some(accepted) = drafts
        .iter()
        .filter(|d| d.calibrated == Some(true) && acceptable(d))
        .map(|d| d.id)
        .min()
    {
        return Next::Accepted(accepted);
    }
    let unrevised: Vec<&DraftRow> = drafts
        .iter()
        .filter(|d| revised.contains(&d.id) && !drafts.iter().any(|c| c.parent_id == Some(d.id)))
        .collect();
    if !unrevised.is_empty() {
        return Next::Create(
            unrevised
                .iter()
                .flat_map(|p| {
                    (0..evo.children_per_parent as i64).map(move |sample| Planned {
                        generation: p.generation + 1,
                        sample,
                        parent: Some(p.id),
                    })
                })
                .collect(),
        );
    }
    let Some(generation) = drafts.iter().map(|d| d.generation).max() else {
        return Next::Create(
            (0..evo.drafts_per_task as i64)
                .map(|sample| Planned {
                    generation: 0,
                    sample,
                    parent: None,
                })
                .collect(),
        );
    };
    let next = generation + 1;
    if next >= evo.max_generations as i64 {
        return Next::Rejected(best(drafts, band));
    }
    // Only drafts that loaded can be parents; each is used once.
    let used: Vec<i64> = drafts.iter().filter_map(|d| d.parent_id).collect();
    let mut candidates: Vec<&DraftRow> = drafts
        .iter()
        .filter(|d| {
            d.status == DraftStatus::Evaluated && d.loaded == Some(true) && !used.contains(&d.id)
        })
        .collect();
    candidates.sort_by(|a, b| better(b, a, band));
    candidates.truncate(evo.parents_per_generation as usize);
    if candidates.is_empty() {
        // Nothing loaded: draft afresh.
        return Next::Create(
            (0..evo.drafts_per_task as i64)
                .map(|sample| Planned {
                    generation: next,
                    sample,
                    parent: None,
                })
                .collect(),
        );
    }
    Next::Create(
        candidates
            .iter()
            .flat_map(|p| {
                (0..evo.children_per_parent as i64).map(move |sample| Planned {
                    generation: next,
                    sample,
                    parent: Some(p.id),
                })
            })
            .collect(),
    )
}

/// Whether one of `draft`'s ancestors is in `ancestors`.
fn descends_from(drafts: &[DraftRow], draft: &DraftRow, ancestors: &[i64]) -> bool {
    let mut current = draft.parent_id;
    let mut steps = 0;
    while let Some(id) = current {
        if ancestors.contains(&id) {
            return true;
        }
        steps += 1;
        if steps > drafts.len() {
            return false;
        }
        current = drafts.iter().find(|d| d.id == id).and_then(|d| d.parent_id);
    }
    false
}

/// A draft's identity that does not depend on row ids (which differ between
/// a recorded and a replayed run): its task, generation and sample, and its
/// parent's identity, recursively.
pub fn logical_key(drafts: &[DraftRow], draft: &DraftRow) -> String {
    let mut parts = Vec::new();
    let mut current = Some(draft);
    while let Some(d) = current {
        parts.push(format!("{}/{}/{}", d.task_id, d.generation, d.sample));
        current = d.parent_id.and_then(|p| drafts.iter().find(|x| x.id == p));
    }
    parts.join("<")
}

/// The Python code in an author's answer: the last fenced block that defines
/// a Basebootcamp subclass, else the longest Python block, else the whole text
/// when it is bare code. A leading reasoning block is ignored (see
/// [`strip_leading_reasoning`]); think tags anywhere else are left alone,
/// since bootcamps written for reasoning models mention them in their code.
pub fn extract_code(response: &str) -> Option<String> {
    let text = strip_leading_reasoning(response);
    let mut blocks: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let Some(newline) = after.find('\n') else {
            break;
        };
        let lang = after[..newline].trim().to_lowercase();
        let body = &after[newline + 1..];
        let Some(end) = body.find("```") else { break };
        if lang.is_empty() || lang == "python" || lang == "py" || lang == "python3" {
            blocks.push(&body[..end]);
        }
        rest = &body[end + 3..];
    }
    let is_bootcamp = |code: &str| code.contains("class ") && code.contains("Basebootcamp");
    if let Some(code) = blocks.iter().rev().find(|b| is_bootcamp(b)) {
        return Some(code.trim_end().to_owned() + "\n");
    }
    if let Some(code) = blocks
        .iter()
        .max_by_key(|b| b.len())
        .filter(|b| b.contains("def "))
    {
        return Some(code.trim_end().to_owned() + "\n");
    }
    let bare = text.trim();
    if blocks.is_empty() && is_bootcamp(bare) && bare.contains("def case_generator") {
        return Some(bare.to_owned() + "\n");
    }
    None
}

/// The answer after a reasoning block that comes *first*: from a leading
/// `<think>` up to its first `</think>` outside a code fence, or, for models
/// whose chat template opens the block itself, up to a first `</think>` that
/// precedes every code fence. A `</think>` inside a fence is code (a sketch
/// in the reasoning, or the bootcamp's own extractor), never the end of the
/// reasoning: cutting there would lose the whole draft.
pub fn strip_leading_reasoning(response: &str) -> &str {
    const CLOSE: &str = "</think>";
    let opens_with_think = response.trim_start().starts_with("<think>");
    for (end, _) in response.match_indices(CLOSE) {
        let fences = response[..end].matches("```").count();
        if fences == 0 || (opens_with_think && fences.is_multiple_of(2)) {
            return &response[end + CLOSE.len()..];
        }
        if !opens_with_think {
            break;
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    // A row builder for the tests: one argument per column the rules read.
    #[allow(clippy::too_many_arguments)]
    fn d(
        id: i64,
        generation: i64,
        parent: Option<i64>,
        status: &str,
        verdict: Option<&str>,
        stage: Option<i64>,
        loaded: Option<bool>,
        accuracy: Option<f64>,
    ) -> DraftRow {
        DraftRow {
            id,
            task_id: "t".into(),
            generation,
            sample: 0,
            parent_id: parent,
            operator: "draft".into(),
            template: String::new(),
            model: String::new(),
            prompt: String::new(),
            response: None,
            code: None,
            status: status.parse().unwrap(),
            verdict: verdict.map(Into::into),
            furthest_stage: stage,
            loaded,
            accuracy,
            main_finding: None,
            band_miss: false,
            calibrated: None,
        }
    }

    const EVO: EvolutionConfig = EvolutionConfig {
        drafts_per_task: 3,
        children_per_parent: 2,
        max_generations: 3,
        parents_per_generation: 1,
        calibrate: true,
        calibrate_max_solver_calls: 200,
    };
    const BAND: (f64, f64) = (0.03, 0.85);

    /// A draft that failed only the band, calibrated (`Some(in_band)`) or not.
    fn band_miss(id: i64, parent: Option<i64>, calibrated: Option<bool>) -> DraftRow {
        let mut row = d(
            id,
            i64::from(parent.is_some()),
            parent,
            "evaluated",
            Some("fail"),
            Some(6),
            Some(true),
            Some(1.0),
        );
        row.band_miss = true;
        row.calibrated = calibrated;
        row
    }

    #[test]
    fn a_draft_that_misses_only_the_band_is_calibrated_before_any_author_call() {
        let other = d(
            3,
            0,
            None,
            "evaluated",
            Some("fail"),
            Some(3),
            Some(true),
            None,
        );
        // Two band misses and a draft that failed a check: the band misses
        // are calibrated, no refinement is planned yet.
        let drafts = [
            band_miss(1, None, None),
            band_miss(2, None, None),
            other.clone(),
        ];
        assert_eq!(decide(&drafts, &EVO, BAND), Next::Calibrate(vec![1, 2]));
        // One landed in the band: accepted, lowest id first.
        let drafts = [
            band_miss(1, None, Some(false)),
            band_miss(2, None, Some(true)),
            other.clone(),
        ];
        assert_eq!(decide(&drafts, &EVO, BAND), Next::Accepted(2));
        // None did: refinement as before (the draft closest to passing is the parent).
        let drafts = [
            band_miss(1, None, Some(false)),
            band_miss(2, None, Some(false)),
            other.clone(),
        ];
        let Next::Create(planned) = decide(&drafts, &EVO, BAND) else {
            panic!("{:?}", decide(&drafts, &EVO, BAND))
        };
        assert!(
            planned
                .iter()
                .all(|p| p.parent == Some(1) && p.generation == 1)
        );
        // A sibling that passed as written wins without calibrating anyone.
        let mut pass = other.clone();
        pass.verdict = Some("pass".into());
        let drafts = [band_miss(1, None, None), pass];
        assert_eq!(decide(&drafts, &EVO, BAND), Next::Accepted(3));
        // Drafts still to evaluate come first.
        let drafts = [
            band_miss(1, None, None),
            d(2, 0, None, "drafted", None, None, None, None),
        ];
        assert_eq!(
            decide(&drafts, &EVO, BAND),
            Next::Work {
                call: vec![],
                evaluate: vec![2]
            }
        );
        // With calibration off, a band miss is refined straight away.
        let off = EvolutionConfig {
            calibrate: false,
            ..EVO
        };
        let drafts = [band_miss(1, None, None)];
        assert!(matches!(decide(&drafts, &off, BAND), Next::Create(_)));
        // A draft a curator sent back is not calibrated (its children are).
        let drafts = [band_miss(1, None, None)];
        assert!(matches!(
            decide_with_revisions(&drafts, &[1], &EVO, BAND),
            Next::Create(_)
        ));
        let drafts = [band_miss(1, None, Some(true)), band_miss(2, Some(1), None)];
        assert_eq!(
            decide_with_revisions(&drafts, &[1], &EVO, BAND),
            Next::Calibrate(vec![2])
        );
    }

    #[test]
    fn a_new_task_samples_generation_zero() {
        let Next::Create(planned) = decide(&[], &EVO, BAND) else {
            panic!()
        };
        assert_eq!(planned.len(), 3);
        assert!(
            planned
                .iter()
                .all(|p| p.generation == 0 && p.parent.is_none())
        );
    }

    #[test]
    fn pending_and_drafted_drafts_are_worked_on_first() {
        let drafts = [
            d(1, 0, None, "pending", None, None, None, None),
            d(2, 0, None, "drafted", None, None, None, None),
            d(
                3,
                0,
                None,
                "evaluated",
                Some("fail"),
                Some(2),
                Some(true),
                None,
            ),
        ];
        assert_eq!(
            decide(&drafts, &EVO, BAND),
            Next::Work {
                call: vec![1],
                evaluate: vec![2]
            }
        );
    }

    #[test]
    fn the_first_passing_draft_ends_the_task() {
        let drafts = [
            d(
                4,
                0,
                None,
                "evaluated",
                Some("pass"),
                Some(7),
                Some(true),
                Some(0.5),
            ),
            d(
                5,
                0,
                None,
                "evaluated",
                Some("fail"),
                Some(3),
                Some(true),
                None,
            ),
        ];
        assert_eq!(decide(&drafts, &EVO, BAND), Next::Accepted(4));
    }

    /// A campaign killed after one sibling's evaluation was
    /// stored resumes by evaluating the others, then accepts what an
    /// undisturbed run accepts (the lowest passing id, not the first stored).
    #[test]
    fn a_resumed_generation_is_finished_before_a_draft_is_accepted() {
        let pass = |id| {
            d(
                id,
                0,
                None,
                "evaluated",
                Some("pass"),
                Some(7),
                Some(true),
                Some(0.5),
            )
        };
        let drafted = |id| d(id, 0, None, "drafted", None, None, None, None);
        // Killed after draft 3 passed; drafts 1 and 2 are drafted, never evaluated.
        let killed = [drafted(1), drafted(2), pass(3)];
        assert_eq!(
            decide(&killed, &EVO, BAND),
            Next::Work {
                call: vec![],
                evaluate: vec![1, 2]
            }
        );
        // A pending sibling (its author call not made yet) is called first too.
        let pending = [
            d(1, 0, None, "pending", None, None, None, None),
            drafted(2),
            pass(3),
        ];
        assert_eq!(
            decide(&pending, &EVO, BAND),
            Next::Work {
                call: vec![1],
                evaluate: vec![2]
            }
        );
        // Once the generation is evaluated, the decision is the undisturbed
        // run's: the lowest passing id, whatever finished first.
        let undisturbed = [
            pass(1),
            d(
                2,
                0,
                None,
                "evaluated",
                Some("fail"),
                Some(2),
                Some(true),
                None,
            ),
            pass(3),
        ];
        assert_eq!(decide(&undisturbed, &EVO, BAND), Next::Accepted(1));
    }

    #[test]
    fn a_revised_draft_is_not_accepted_and_gets_children_past_the_last_generation() {
        let passed = |id, generation, parent| {
            d(
                id,
                generation,
                parent,
                "evaluated",
                Some("pass"),
                Some(7),
                Some(true),
                Some(0.5),
            )
        };
        // Accepted in the last generation, then sent back by a curator; a
        // sibling that also passed is not accepted in its place.
        let drafts = [passed(4, 2, None), passed(5, 2, None)];
        let Next::Create(planned) = decide_with_revisions(&drafts, &[4], &EVO, BAND) else {
            panic!("{:?}", decide_with_revisions(&drafts, &[4], &EVO, BAND))
        };
        assert_eq!(planned.len(), 2);
        assert!(
            planned
                .iter()
                .all(|p| p.parent == Some(4) && p.generation == 3)
        );
        // Its child passes: that one is accepted, the revised one is not.
        let drafts = [
            passed(4, 2, None),
            passed(5, 2, None),
            passed(9, 3, Some(4)),
        ];
        assert_eq!(
            decide_with_revisions(&drafts, &[4], &EVO, BAND),
            Next::Accepted(9)
        );
        // Without the revision, the first pass is accepted as before.
        assert_eq!(decide(&drafts, &EVO, BAND), Next::Accepted(4));
    }

    #[test]
    fn parents_are_the_best_loaded_drafts() {
        let drafts = [
            d(
                1,
                0,
                None,
                "evaluated",
                Some("fail"),
                Some(1),
                Some(false),
                None,
            ),
            d(
                2,
                0,
                None,
                "evaluated",
                Some("fail"),
                Some(6),
                Some(true),
                Some(0.97),
            ),
            d(
                3,
                0,
                None,
                "evaluated",
                Some("fail"),
                Some(6),
                Some(true),
                Some(0.90),
            ),
            d(4, 0, None, "no_code", None, None, None, None),
        ];
        let Next::Create(planned) = decide(&drafts, &EVO, BAND) else {
            panic!()
        };
        assert_eq!(
            planned,
            vec![
                Planned {
                    generation: 1,
                    sample: 0,
                    parent: Some(3)
                },
                Planned {
                    generation: 1,
                    sample: 1,
                    parent: Some(3)
                }
            ]
        );
        // Nothing loaded: fresh drafts.
        let none = [
            d(
                1,
                0,
                None,
                "evaluated",
                Some("fail"),
                Some(1),
                Some(false),
                None,
            ),
            d(2, 0, None, "llm_failed", None, None, None, None),
        ];
        let Next::Create(planned) = decide(&none, &EVO, BAND) else {
            panic!()
        };
        assert!(
            planned.len() == 3
                && planned
                    .iter()
                    .all(|p| p.parent.is_none() && p.generation == 1)
        );
    }

    #[test]
    fn out_of_generations_the_best_draft_is_named() {
        let drafts = [
            d(
                1,
                0,
                None,
                "evaluated",
                Some("fail"),
                Some(3),
                Some(true),
                None,
            ),
            d(
                2,
                1,
                Some(1),
                "evaluated",
                Some("fail"),
                Some(6),
                Some(true),
                Some(0.9),
            ),
            d(
                3,
                2,
                Some(2),
                "evaluated",
                Some("fail"),
                Some(5),
                Some(true),
                None,
            ),
        ];
        assert_eq!(decide(&drafts, &EVO, BAND), Next::Rejected(Some(2)));
    }

    #[test]
    fn logical_keys_follow_the_parent_chain() {
        let drafts = [
            d(7, 0, None, "evaluated", None, None, None, None),
            d(9, 0, None, "evaluated", None, None, None, None),
            d(12, 1, Some(7), "pending", None, None, None, None),
            d(13, 1, Some(9), "pending", None, None, None, None),
        ];
        let a = logical_key(&drafts, &drafts[2]);
        let b = logical_key(&drafts, &drafts[3]);
        // Rows 7 and 9 are both sample 0 in this fixture: same chain, same key.
        assert_eq!(a, "t/1/0<t/0/0");
        assert_eq!(a, b);
        let mut other = drafts[1].clone();
        other.sample = 1;
        let drafts2 = [
            drafts[0].clone(),
            other,
            drafts[2].clone(),
            drafts[3].clone(),
        ];
        assert_ne!(
            logical_key(&drafts2, &drafts2[2]),
            logical_key(&drafts2, &drafts2[3])
        );
    }

    #[test]
    fn code_is_extracted_from_answers() {
        let answer = "<think>```python\nnot this\n```</think>Here:\n```python\nimport re\n```\nand\n```python\nfrom bootcamp import Basebootcamp\nclass A(Basebootcamp):\n    def case_generator(self):\n        return {}\n```\n";
        assert!(
            extract_code(answer)
                .unwrap()
                .starts_with("from bootcamp import Basebootcamp\nclass A")
        );
        assert_eq!(extract_code("I cannot help with that."), None);
        let bare = "from bootcamp import Basebootcamp\nclass A(Basebootcamp):\n    def case_generator(self):\n        return {}";
        assert!(extract_code(bare).is_some());
    }

    /// A bootcamp written for reasoning models: its extractor strips think
    /// blocks, its reference carries one, its prompt mentions the tags.
    const THINKING_CODE: &str = "from bootcamp import Basebootcamp\nimport re\n\nclass T(Basebootcamp):\n    def case_generator(self):\n        return {\"n\": 1}\n    @staticmethod\n    def prompt_func(identity):\n        return \"Reason inside <think>...</think>, then give [answer]n[/answer].\"\n    @staticmethod\n    def extract_output(output):\n        output = output.split(\"</think>\")[-1]\n        found = re.findall(r\"\\[answer\\](.*?)\\[/answer\\]\", output)\n        return found[-1] if found else None\n    @classmethod\n    def reference_output(cls, identity):\n        return \"<think>n is given</think>[answer]%d[/answer]\" % identity[\"n\"]\n";

    #[test]
    fn think_tags_inside_code_do_not_cut_the_code() {
        let fenced = format!("Here it is.\n```python\n{THINKING_CODE}```\nDone.");
        let with_reasoning = "<think>The user wants a bootcamp. I'll strip </think> in extract_output.\n```python\nscratch = 1\n```\n".to_owned();
        // The reasoning above closes at its first </think>: the rest of that
        // line, the scratch fence and beyond is answer text.
        let cases = [
            fenced.clone(),
            format!("<think>Plan: a regex extractor.</think>\n{fenced}"),
            format!("  <think>\nmulti\nline\n</think>{fenced}"),
            format!("Headless reasoning from a template-opened block.</think>{fenced}"),
        ];
        for answer in &cases {
            let code = extract_code(answer).unwrap_or_else(|| panic!("no code in {answer}"));
            assert_eq!(code, THINKING_CODE, "{answer}");
        }
        let code = extract_code(&(with_reasoning + &fenced)).unwrap();
        assert_eq!(code, THINKING_CODE);
        assert_eq!(strip_leading_reasoning("no tags"), "no tags");
        // A closing tag inside a fence is never a cut point, even in the
        // reasoning itself.
        let sketch =
            format!("<think>Try:\n```python\nx.split('</think>')\n```\nok</think>{fenced}");
        assert_eq!(extract_code(&sketch).unwrap(), THINKING_CODE);
        assert!(strip_leading_reasoning(&sketch).starts_with("Here it is."));
        let late = "```python\nx = '</think>'\n```";
        assert_eq!(strip_leading_reasoning(late), late);
    }
}
