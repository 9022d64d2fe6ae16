//! The calls a check asks the loading instance for after the cases:
//! reference answers, then their scores. What was asked is kept in
//! [`Issued`] so that the stages can read the results in order. Junk is not
//! scored here: it goes to an instance where no `reference_output` ran
//! (see the discrimination stage).

use std::sync::Arc;

use crate::sandbox::{Call, CallResult, CaseResult};

/// What the plan asked for after the cases, in order.
#[derive(Default)]
pub(crate) struct Issued {
    /// Cases asked for a reference answer (the first `n`).
    pub(crate) references: usize,
    /// Reference answers scored: (case index, answer).
    pub(crate) self_scores: Vec<(usize, String)>,
}

/// Decides the calls after the cases: references, then their scores.
pub(crate) struct Plan {
    pub(crate) n: usize,
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
                calls
            }
            _ => Vec::new(),
        }
    }
}
