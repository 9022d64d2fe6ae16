//! [`FindingKind`]: the stable name of every problem a check can report.
//!
//! Reports, campaign evaluations and the store keep a finding's kind as the
//! snake_case string of [`FindingKind::as_str`]; the list of findings in
//! `docs/checks.md` is generated from this enum ([`FindingKind::markdown`],
//! `bootforge findings --markdown`), and a test fails when the two drift.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares the enum, its string names and its one-line descriptions in one
/// place, so a new kind cannot be added without its name and its doc.
macro_rules! finding_kinds {
    ($( #[doc = $doc:literal] $variant:ident = $name:literal, )*) => {
        /// What a finding is about; serialised as its stable snake_case name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FindingKind {
            $( #[doc = $doc] $variant, )*
        }

        impl FindingKind {
            /// Every kind, in the order of the stages that produce it.
            pub const ALL: &'static [FindingKind] = &[$(FindingKind::$variant),*];

            /// The stable name written to reports, JSON and the store.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(FindingKind::$variant => $name,)*
                }
            }

            /// One line saying what the finding means.
            pub fn describe(self) -> &'static str {
                match self {
                    $(FindingKind::$variant => $doc.trim_ascii_start(),)*
                }
            }
        }
    };
}

finding_kinds! {
    /// The file could not be read (audit only).
    Unreadable = "unreadable",
    /// The whole check did not finish within its wall-clock limit (error).
    CheckTimeout = "check_timeout",
    /// Static: a simplification marker ("for simplicity", "simplified", ...) in the source (warning).
    SimplificationMarker = "simplification_marker",
    /// Static: code that can tell it is being checked (WASI, platform, caller frames, ...) (warning).
    EnvironmentProbe = "environment_probe",
    /// Static: the guest could not inspect the file at all (error).
    InspectFailed = "inspect_failed",
    /// Static: the file does not parse (error, with the line).
    SyntaxError = "syntax_error",
    /// Static: no `Basebootcamp` subclass, or `--class` names none or an ambiguous one (error).
    NoBootcampClass = "no_bootcamp_class",
    /// Static: the class lacks `case_generator`, `prompt_func`, `extract_output` or `_verify_correction` (error).
    MissingMethod = "missing_method",
    /// Static: `_verify_correction` is a placeholder that checks nothing (error).
    PlaceholderVerifier = "placeholder_verifier",
    /// Load: the bootcamp does not import or instantiate with the given parameters (error).
    LoadFailed = "load_failed",
    /// Generate: `case_generator` raised or timed out for a seed (error).
    GenerateFailed = "generate_failed",
    /// Generate: a case does not survive the JSON round-trip (error).
    NotJson = "not_json",
    /// Generate: the same seed gave another case with other OS entropy and clock, or the rerun failed (error).
    Nondeterministic = "nondeterministic",
    /// Generate: too few distinct cases or prompts over the seeds (error).
    LowDiversity = "low_diversity",
    /// Prompt: `prompt_func` raised or timed out for a case (error).
    PromptFailed = "prompt_failed",
    /// Prompt: `prompt_func` gave an empty prompt (error).
    EmptyPrompt = "empty_prompt",
    /// Prompt: the prompt does not say how to format the answer (warning).
    NoAnswerFormat = "no_answer_format",
    /// Self-consistency: `reference_output` raised or gave no answer for a case (error).
    ReferenceFailed = "reference_failed",
    /// Self-consistency: the bootcamp's own reference answer does not score 1 (error).
    ReferenceRejected = "reference_rejected",
    /// Self-consistency, discrimination or solver: scoring an answer failed in the sandbox (error).
    VerifyFailed = "verify_failed",
    /// Discrimination: `_verify_correction` raised on every answer, well-formed guesses included (warning).
    VerifierRaises = "verifier_raises",
    /// Discrimination: content-free junk got full credit; solver: an answer with its final answer replaced did (error).
    AcceptsJunk = "accepts_junk",
    /// Discrimination: another case's reference answer got full credit (error on every case tried, else warning).
    AcceptsOtherCaseAnswer = "accepts_other_case_answer",
    /// Discrimination: the echoed prompt got full credit on half the cases or more (error).
    AnswerInPrompt = "answer_in_prompt",
    /// Discrimination: guessing alone reaches the top of the accuracy band (error).
    Guessable = "guessable",
    /// Discrimination: guessing gets some credit, the baseline the solver must beat (warning).
    GuessCredit = "guess_credit",
    /// Discrimination or solver: near misses of the right answer get full credit (error when a class fails, else warning).
    AcceptsNearMiss = "accepts_near_miss",
    /// Discrimination or solver: an answer naming every candidate at once gets full credit (error when a class fails, else warning).
    AcceptsOverbroad = "accepts_overbroad",
    /// Solver: solver calls failed, so the bootcamp could not be judged (error; the verdict is undecided).
    SolverUnavailable = "solver_unavailable",
    /// Solver: accuracy above the band: too easy or oversimplified (error).
    TooEasy = "too_easy",
    /// Solver: accuracy below the band: unsolvable or a broken verifier (error).
    TooHardOrBroken = "too_hard_or_broken",
    /// Solver: accuracy in the band, but its 95% interval does not clear the guess baseline (error).
    NoHeadroom = "no_headroom",
    /// Any sandbox stage: a call used half its CPU budget or more, so it would time out on a machine half as fast (warning).
    NearBudget = "near_budget",
}

impl FindingKind {
    /// The kind named `name`, if any.
    pub fn from_name(name: &str) -> Option<FindingKind> {
        FindingKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == name)
    }

    /// Kinds that say the check could not judge the bootcamp rather than
    /// that the bootcamp is bad.
    pub fn is_undecided(self) -> bool {
        matches!(self, FindingKind::SolverUnavailable)
    }

    /// The Markdown list of every kind, as `docs/checks.md` carries it
    /// between its generated-list markers.
    pub fn markdown() -> String {
        let mut out = String::from("| Kind | Meaning |\n| --- | --- |\n");
        for kind in FindingKind::ALL {
            out.push_str(&format!("| `{}` | {} |\n", kind.as_str(), kind.describe()));
        }
        out
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for FindingKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for FindingKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FindingKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        FindingKind::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown finding kind {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &kind in FindingKind::ALL {
            let name = kind.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name}"
            );
            assert!(!kind.describe().is_empty(), "{name} has no description");
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<FindingKind>(&json).unwrap(), kind);
        }
        assert!(serde_json::from_str::<FindingKind>("\"no_such_kind\"").is_err());
    }
}
