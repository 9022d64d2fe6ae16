//! The calls a check asks the loading instance for after the cases:
//! reference answers, then their scores and the junk answers. What was asked
//! is kept in [`Issued`] so that the stages can read the results in order.

use std::sync::Arc;

use crate::evaluate::judge;
use crate::sandbox::{Call, CallResult, CaseResult};

/// What the plan asked for after the cases, in order.
#[derive(Default)]
pub(crate) struct Issued {
    /// Cases asked for a reference answer (the first `n`).
    pub(crate) references: usize,
    /// Reference answers scored: (case index, answer).
    pub(crate) self_scores: Vec<(usize, String)>,
    /// Junk scored: (seed, kind, answer).
    pub(crate) junk: Vec<(u64, &'static str, String)>,
}

/// Decides the calls after the cases: references, then their scores and the
/// junk answers (which need the prompts and the references).
pub(crate) struct Plan {
    pub(crate) n: usize,
    pub(crate) k: usize,
    pub(crate) phase: u8,
    pub(crate) issued: Arc<std::sync::Mutex<Issued>>,
}

impl Plan {
    pub(crate) fn next(&mut self, results: &[CallResult]) -> Vec<Call> {
        let cases: Vec<&CaseResult> = results
            .iter()
            .filter_map(|r| {
                if let CallResult::Case(c) = r {
                    Some(c)
                } else {
                    None
                }
            })
            .collect();
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        match self.phase {
            0 => {
                self.phase = 1;
                let n = self.n.min(cases.len());
                issued.references = n;
                cases[..n]
                    .iter()
                    .map(|c| Call::Reference {
                        identity: c.case_json.clone(),
                    })
                    .collect()
            }
            1 => {
                self.phase = 2;
                let n = issued.references;
                let references: Vec<Option<String>> = results
                    .iter()
                    .filter_map(|r| {
                        if let CallResult::Reference { output } = r {
                            Some(output.clone())
                        } else {
                            None
                        }
                    })
                    .collect();
                let mut calls = Vec::new();
                for (index, (case, reference)) in cases[..n].iter().zip(&references).enumerate() {
                    if let Some(reference) = reference {
                        issued.self_scores.push((index, reference.clone()));
                        calls.push(Call::ScoreUnflagged {
                            identity: case.case_json.clone(),
                            answer: reference.clone(),
                        });
                    }
                }
                let k = self.k.min(n);
                for (i, case) in cases[..k].iter().enumerate() {
                    let mut junk: Vec<(&'static str, String)> =
                        judge::junk_answers(&case.prompt, case.seed)
                            .into_iter()
                            .map(|j| (j.kind, j.text))
                            .collect();
                    // Another case's reference answer, where it differs from this case's.
                    if references.len() > 1 {
                        let own = references.get(i).cloned().flatten();
                        if let Some(other) = references[(i + 1) % references.len()].as_ref()
                            && own.as_deref() != Some(other.as_str())
                        {
                            let text = if other.contains("</think>") {
                                other.clone()
                            } else {
                                judge::model_shaped(other)
                            };
                            junk.push(("other_case_answer", text));
                        }
                    }
                    for (kind, text) in junk {
                        calls.push(Call::Score {
                            identity: case.case_json.clone(),
                            answer: text.clone(),
                        });
                        issued.junk.push((case.seed, kind, text));
                    }
                }
                calls
            }
            _ => Vec::new(),
        }
    }
}
