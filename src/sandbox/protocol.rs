//! The harness protocol: typed requests and results, and the defensive parser
//! for what the guest returns.
//!
//! Every reply from the guest is hostile input. It is size-capped before it is
//! parsed, every string in it is clipped, and anything that does not have the
//! expected shape becomes an [`ErrorKind::InvalidOutput`] error instead of a
//! panic or a trusted value.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The largest reply the host accepts from `inspect`, which runs before any
/// bootcamp code (the other calls' replies are capped by
/// [`Limits::reply_bytes`](super::Limits::reply_bytes) before they are copied).
pub const MAX_REPLY_BYTES: usize = 16 << 20;
/// The default cap on a case's JSON and on a prompt, in bytes
/// ([`Limits::case_bytes`](super::Limits::case_bytes), `--max-case-bytes`).
pub const DEFAULT_CASE_BYTES: usize = 1 << 20;
const MAX_MESSAGE_BYTES: usize = 4 << 10;
const MAX_TRACEBACK_BYTES: usize = 16 << 10;
const MAX_CAPTURE_BYTES: usize = 16 << 10;
const MAX_NAME_BYTES: usize = 256;
const MAX_CLASSES: usize = 256;

/// Why a run failed. The host decides the kind; the guest can only report the
/// Python-level kinds (`load`, `exception`, `invalid_output`, `output_limit`,
/// `memory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The bootcamp raised a Python exception (including `SystemExit`).
    Exception,
    /// A guest call used its CPU-time budget (loops, slow computations) or
    /// reached its wall-clock ceiling (sleeps, blocking).
    Timeout,
    /// The guest hit the memory cap (a denied `memory.grow` or `MemoryError`).
    Memory,
    /// The bootcamp printed more than the output limit.
    OutputLimit,
    /// The bootcamp returned something unusable: a case that is not JSON, a
    /// prompt that is not a string, a score that is not a finite number, or a
    /// harness reply the host could not read.
    InvalidOutput,
    /// WebAssembly trapped: stack overflow, the process exiting, a crash of
    /// the interpreter.
    Trap,
    /// The file could not be loaded: syntax error, missing import, no (or no
    /// such) bootcamp class.
    Load,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Exception => "exception",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Memory => "memory",
            ErrorKind::OutputLimit => "output_limit",
            ErrorKind::InvalidOutput => "invalid_output",
            ErrorKind::Trap => "trap",
            ErrorKind::Load => "load",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in a run an error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Creating the sandbox instance.
    Instantiate,
    /// Executing the bootcamp file and finding its class.
    Load,
    /// `__init__` with the given params.
    Init,
    /// `case_generator` and the JSON round-trip of its case.
    Generate,
    /// `prompt_func`.
    Prompt,
    /// `verify_score` (and through it `extract_output` / `_verify_correction`).
    Verify,
    /// `reference_output`.
    Reference,
    /// Reading the file's syntax tree.
    Inspect,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Instantiate => "instantiate",
            Stage::Load => "load",
            Stage::Init => "init",
            Stage::Generate => "generate",
            Stage::Prompt => "prompt",
            Stage::Verify => "verify",
            Stage::Reference => "reference",
            Stage::Inspect => "inspect",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed failure of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunError {
    pub kind: ErrorKind,
    pub stage: Stage,
    /// The Python exception type, when there is one.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub exc_type: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub traceback: String,
    /// For a timeout: the budget that ended the call and what it had used
    /// (set by the host only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<super::BudgetUse>,
}

impl RunError {
    pub fn new(kind: ErrorKind, stage: Stage, message: impl Into<String>) -> Self {
        RunError {
            kind,
            stage,
            exc_type: String::new(),
            message: clip(message.into(), MAX_MESSAGE_BYTES),
            traceback: String::new(),
            budget: None,
        }
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in {}", self.kind, self.stage)?;
        if !self.exc_type.is_empty() {
            write!(f, ": {}", self.exc_type)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// One guest call of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// Generate the case for `seed`, render its prompt and, with an answer,
    /// score it.
    Case { seed: u64, answer: Option<String> },
    /// Score `answer` against an identity (a case's JSON text) given by the
    /// host, for instance one generated by an earlier run.
    Score { identity: Arc<str>, answer: String },
    /// The bootcamp's `reference_output(identity)`, if it defines one.
    Reference { identity: Arc<str> },
    /// Score `answer` with `verify_score`'s own default flags, whatever the
    /// run's `score_flags` (how reference answers are scored).
    ScoreUnflagged { identity: Arc<str>, answer: String },
    /// Score each of `answers` against one identity in a single guest call
    /// (the run's `score_flags`).
    ScoreBatch {
        identity: Arc<str>,
        answers: Vec<String>,
    },
}

/// What one generated case gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub seed: u64,
    /// The case exactly as the guest serialised it: raw JSON text, checked
    /// to be valid JSON but never parsed into a tree on the host (a tree
    /// costs 20-30 times the text, and would turn big integers into
    /// floats). Shared, because every score call of the case carries it.
    /// Use [`CaseResult::case_raw`] to embed it in JSON output as it is.
    pub case_json: Arc<str>,
    /// Whether the case equals its JSON round-trip (tuples and integer keys
    /// do not survive it; the prompt and verifier see the round-tripped case).
    pub roundtrip_equal: bool,
    pub prompt: String,
    pub score: Option<f64>,
    pub stdout: String,
    pub stderr: String,
}

impl CaseResult {
    /// The case as raw JSON, for embedding in output without re-encoding it
    /// (integers stay exact, key order stays).
    pub fn case_raw(&self) -> Box<RawValue> {
        RawValue::from_string(self.case_json.to_string())
            .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"))
    }

    /// The case parsed into a tree, for code that must look inside it. A
    /// tree costs 20-30 times the text and turns integers beyond 64 bits
    /// into floats: never use it to pass a case along.
    pub fn case_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.case_json).unwrap_or(serde_json::Value::Null)
    }
}

/// What scoring an answer against an explicit identity gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreResult {
    pub score: f64,
    pub stdout: String,
    pub stderr: String,
}

/// What scoring a batch of answers against one identity gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoresResult {
    /// One finite score per answer, in order.
    pub scores: Vec<f64>,
    /// How often `_verify_correction` ran during the batch, and how often it
    /// raised (`verify_score` swallows its exceptions), with the first one.
    #[serde(default)]
    pub verifier_calls: u64,
    #[serde(default)]
    pub verifier_raised: u64,
    #[serde(default)]
    pub verifier_error: Option<String>,
    pub stdout: String,
    pub stderr: String,
}

/// The result of one successful call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum CallResult {
    Case(CaseResult),
    Score(ScoreResult),
    Scores(ScoresResult),
    /// `None` when the class defines no `reference_output`.
    Reference {
        output: Option<String>,
    },
}

/// A method of a class, from the syntax tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodInfo {
    pub line: u32,
    /// The body is only `pass`, `...`, `return True`/`1` or `raise NotImplementedError`.
    pub placeholder: bool,
}

/// A class of the file, from the syntax tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassInfo {
    pub name: String,
    pub line: u32,
    pub bases: Vec<String>,
    pub methods: std::collections::BTreeMap<String, MethodInfo>,
}

/// Where a file fails to parse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntaxProblem {
    pub message: String,
    pub line: u32,
    pub column: u32,
}

/// Static facts about a file, read without executing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    pub syntax_error: Option<SyntaxProblem>,
    pub classes: Vec<ClassInfo>,
}

/// What `load` gave: the chosen class and every bootcamp class in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loaded {
    pub class: String,
    pub classes: Vec<String>,
}

/// Clip `text` to at most `limit` bytes on a character boundary, in place:
/// a guest's output can be large, and only what is kept is worth keeping.
pub fn clip(mut text: String, limit: usize) -> String {
    let kept = crate::text::cut(&text, crate::text::Limit::Bytes(limit))
        .0
        .len();
    if kept < text.len() {
        text.truncate(kept);
        text.push_str(" [clipped]");
    }
    text
}

#[derive(Deserialize)]
struct RawError {
    kind: Option<String>,
    stage: Option<String>,
    #[serde(rename = "type")]
    exc_type: Option<String>,
    message: Option<String>,
    traceback: Option<String>,
}

#[derive(Deserialize)]
struct RawReply {
    ok: bool,
    error: Option<RawError>,
    class: Option<String>,
    classes: Option<BoundedNames>,
    case: Option<String>,
    roundtrip_equal: Option<bool>,
    prompt: Option<String>,
    score: Option<f64>,
    scores: Option<Vec<f64>>,
    verifier_calls: Option<u64>,
    verifier_raised: Option<u64>,
    verifier_error: Option<String>,
    present: Option<bool>,
    output: Option<String>,
    stdout: Option<String>,
    stderr: Option<String>,
}

/// At most [`MAX_CLASSES`] names, each clipped; the rest of the list is
/// skipped without being kept (a reply of a million tiny names would
/// otherwise cost ~8 times its text in `String`s).
struct BoundedNames(Vec<String>);

impl<'de> Deserialize<'de> for BoundedNames {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Names;
        impl<'de> serde::de::Visitor<'de> for Names {
            type Value = BoundedNames;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of class names")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<BoundedNames, A::Error> {
                let mut names = Vec::new();
                while names.len() < MAX_CLASSES {
                    match seq.next_element::<String>()? {
                        Some(name) => names.push(clip(name, MAX_NAME_BYTES)),
                        None => return Ok(BoundedNames(names)),
                    }
                }
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(BoundedNames(names))
            }
        }
        deserializer.deserialize_seq(Names)
    }
}

/// A parsed guest reply: a result of type `T`, or the error the guest reported.
pub(crate) struct Reply<T> {
    pub result: Result<T, RunError>,
    pub stdout: String,
    pub stderr: String,
}

fn unreadable(stage: Stage, why: impl std::fmt::Display) -> RunError {
    RunError::new(
        ErrorKind::InvalidOutput,
        stage,
        format!(
            "the harness reply could not be read ({why}); the bootcamp may have tampered with the sandbox"
        ),
    )
}

/// Parse a reply already capped in size when it was copied out of the guest
/// ([`Limits::reply_bytes`](super::Limits::reply_bytes)). Every field is
/// owned text or a bounded list, so the parsed form is about the size of
/// the text.
fn parse_raw(text: &str, stage: Stage) -> Result<RawReply, RunError> {
    serde_json::from_str(text).map_err(|e| unreadable(stage, e))
}

/// Over-limit text: `what` is N bytes, over the cap, and the flag that raises it.
fn over_limit(stage: Stage, what: &str, len: usize, cap: usize) -> RunError {
    RunError::new(
        ErrorKind::InvalidOutput,
        stage,
        format!(
            "{what} is {len} bytes, over the {cap} byte limit (raise it with --max-case-bytes)"
        ),
    )
}

fn guest_error(raw: RawError, stage: Stage) -> RunError {
    // The guest may only report Python-level kinds; timeouts and traps are
    // the host's to decide.
    let kind = match raw.kind.as_deref() {
        Some("load") => ErrorKind::Load,
        Some("exception") => ErrorKind::Exception,
        Some("invalid_output") => ErrorKind::InvalidOutput,
        Some("output_limit") => ErrorKind::OutputLimit,
        Some("memory") => ErrorKind::Memory,
        other => return unreadable(stage, format!("unknown error kind {other:?}")),
    };
    let reported = match raw.stage.as_deref() {
        Some("load") => Stage::Load,
        Some("init") => Stage::Init,
        Some("generate") => Stage::Generate,
        Some("prompt") => Stage::Prompt,
        Some("verify") => Stage::Verify,
        Some("reference") => Stage::Reference,
        _ => stage,
    };
    RunError {
        kind,
        stage: reported,
        exc_type: clip(raw.exc_type.unwrap_or_default(), MAX_NAME_BYTES),
        message: clip(raw.message.unwrap_or_default(), MAX_MESSAGE_BYTES),
        traceback: clip(raw.traceback.unwrap_or_default(), MAX_TRACEBACK_BYTES),
        budget: None,
    }
}

fn reply<T>(
    text: &str,
    stage: Stage,
    ok: impl FnOnce(&mut RawReply) -> Result<T, RunError>,
) -> Reply<T> {
    let mut raw = match parse_raw(text, stage) {
        Ok(raw) => raw,
        Err(err) => {
            return Reply {
                result: Err(err),
                stdout: String::new(),
                stderr: String::new(),
            };
        }
    };
    let stdout = clip(raw.stdout.take().unwrap_or_default(), MAX_CAPTURE_BYTES);
    let stderr = clip(raw.stderr.take().unwrap_or_default(), MAX_CAPTURE_BYTES);
    let result = if raw.ok {
        ok(&mut raw)
    } else {
        match raw.error.take() {
            Some(err) => Err(guest_error(err, stage)),
            None => Err(unreadable(stage, "failure without an error")),
        }
    };
    Reply {
        result,
        stdout,
        stderr,
    }
}

pub(crate) fn parse_load(text: &str) -> Reply<Loaded> {
    reply(text, Stage::Load, |raw| {
        let class = raw
            .class
            .take()
            .ok_or_else(|| unreadable(Stage::Load, "no class"))?;
        Ok(Loaded {
            class: clip(class, MAX_NAME_BYTES),
            classes: raw.classes.take().map(|c| c.0).unwrap_or_default(),
        })
    })
}

/// A generated case; its `score` is filled in by the host's separate score call.
pub(crate) fn parse_case(text: &str, seed: u64, case_bytes: usize) -> Reply<CaseResult> {
    let mut reply = reply(text, Stage::Generate, |raw| {
        let case_json = raw
            .case
            .take()
            .ok_or_else(|| unreadable(Stage::Generate, "no case"))?;
        if case_json.len() > case_bytes {
            return Err(over_limit(
                Stage::Generate,
                "the case's JSON",
                case_json.len(),
                case_bytes,
            ));
        }
        // Validate without building a tree: IgnoredAny allocates nothing.
        serde_json::from_str::<serde::de::IgnoredAny>(&case_json).map_err(|e| {
            RunError::new(
                ErrorKind::InvalidOutput,
                Stage::Generate,
                format!("the case is not valid JSON for the host ({e})"),
            )
        })?;
        let prompt = raw
            .prompt
            .take()
            .ok_or_else(|| unreadable(Stage::Prompt, "no prompt"))?;
        if prompt.len() > case_bytes {
            return Err(over_limit(
                Stage::Prompt,
                "the prompt",
                prompt.len(),
                case_bytes,
            ));
        }
        Ok(CaseResult {
            seed,
            case_json: case_json.into(),
            roundtrip_equal: raw.roundtrip_equal.unwrap_or(false),
            prompt,
            score: None,
            stdout: String::new(),
            stderr: String::new(),
        })
    });
    if let Ok(case) = &mut reply.result {
        case.stdout = reply.stdout.clone();
        case.stderr = reply.stderr.clone();
    }
    reply
}

pub(crate) fn parse_score(text: &str) -> Reply<ScoreResult> {
    let mut reply = reply(text, Stage::Verify, |raw| match raw.score {
        Some(score) if score.is_finite() => Ok(ScoreResult {
            score,
            stdout: String::new(),
            stderr: String::new(),
        }),
        _ => Err(unreadable(Stage::Verify, "no finite score")),
    });
    if let Ok(score) = &mut reply.result {
        score.stdout = reply.stdout.clone();
        score.stderr = reply.stderr.clone();
    }
    reply
}

pub(crate) fn parse_scores(text: &str, expected: usize) -> Reply<ScoresResult> {
    let mut reply = reply(text, Stage::Verify, |raw| match raw.scores.take() {
        Some(scores) if scores.len() == expected && scores.iter().all(|s| s.is_finite()) => {
            let verifier_calls = raw.verifier_calls.unwrap_or(0);
            Ok(ScoresResult {
                scores,
                verifier_calls,
                verifier_raised: raw.verifier_raised.unwrap_or(0).min(verifier_calls),
                verifier_error: raw
                    .verifier_error
                    .take()
                    .map(|e| clip(e, MAX_MESSAGE_BYTES)),
                stdout: String::new(),
                stderr: String::new(),
            })
        }
        _ => Err(unreadable(
            Stage::Verify,
            format!("not {expected} finite scores"),
        )),
    });
    if let Ok(scores) = &mut reply.result {
        scores.stdout = reply.stdout.clone();
        scores.stderr = reply.stderr.clone();
    }
    reply
}

pub(crate) fn parse_reference(text: &str, case_bytes: usize) -> Reply<Option<String>> {
    reply(text, Stage::Reference, |raw| {
        match (raw.present, raw.output.take()) {
            (Some(false), _) => Ok(None),
            (Some(true), Some(out)) if out.len() > case_bytes => Err(over_limit(
                Stage::Reference,
                "reference_output's answer",
                out.len(),
                case_bytes,
            )),
            (Some(true), Some(out)) => Ok(Some(out)),
            _ => Err(unreadable(Stage::Reference, "no reference output")),
        }
    })
}

#[derive(Deserialize)]
struct RawInspection {
    ok: bool,
    parses: Option<bool>,
    syntax_error: Option<SyntaxProblem>,
    classes: Option<Vec<ClassInfo>>,
}

pub(crate) fn parse_inspection(text: &str) -> Result<Inspection, RunError> {
    if text.len() > MAX_REPLY_BYTES {
        return Err(unreadable(Stage::Inspect, "reply too large"));
    }
    let raw: RawInspection =
        serde_json::from_str(text).map_err(|e| unreadable(Stage::Inspect, e))?;
    if !raw.ok {
        return Err(unreadable(Stage::Inspect, "inspection failed"));
    }
    let mut classes = raw.classes.unwrap_or_default();
    classes.truncate(MAX_CLASSES);
    for class in &mut classes {
        class.name = clip(std::mem::take(&mut class.name), MAX_NAME_BYTES);
        class.bases.truncate(MAX_CLASSES);
        for base in &mut class.bases {
            *base = clip(std::mem::take(base), MAX_NAME_BYTES);
        }
        if class.methods.len() > 4096 {
            class.methods = class
                .methods
                .iter()
                .take(4096)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }
    }
    let syntax_error = match (raw.parses, raw.syntax_error) {
        (Some(false), Some(mut err)) => {
            err.message = clip(err.message, MAX_MESSAGE_BYTES);
            Some(err)
        }
        (Some(false), None) => Some(SyntaxProblem {
            message: "invalid syntax".into(),
            line: 0,
            column: 0,
        }),
        _ => None,
    };
    Ok(Inspection {
        syntax_error,
        classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_replies_are_invalid_output_not_panics() {
        for text in [
            "",
            "null",
            "[]",
            "{",
            "{\"ok\": 3}",
            "{\"ok\": false}",
            "\u{0}",
        ] {
            let r = parse_case(text, 1, DEFAULT_CASE_BYTES);
            assert_eq!(
                r.result.unwrap_err().kind,
                ErrorKind::InvalidOutput,
                "{text:?}"
            );
        }
        let forged = r#"{"ok": false, "error": {"kind": "timeout", "stage": "generate"}}"#;
        assert_eq!(
            parse_case(forged, 1, DEFAULT_CASE_BYTES)
                .result
                .unwrap_err()
                .kind,
            ErrorKind::InvalidOutput
        );
        let huge = format!(
            "{{\"ok\": true, \"case\": \"{}\"}}",
            "x".repeat(DEFAULT_CASE_BYTES + 1)
        );
        assert_eq!(
            parse_case(&huge, 1, DEFAULT_CASE_BYTES)
                .result
                .unwrap_err()
                .kind,
            ErrorKind::InvalidOutput
        );
        // Deep nesting is valid JSON, and is kept as text: it is checked
        // without recursion (serde_json skips values iteratively), so no
        // depth can overflow the host's stack.
        let deep = format!(
            "{{\"ok\": true, \"prompt\": \"p\", \"case\": \"{}{}\"}}",
            "[".repeat(200_000),
            "]".repeat(200_000)
        );
        let case = parse_case(&deep, 1, DEFAULT_CASE_BYTES).result.unwrap();
        assert_eq!(case.case_json.len(), 400_000);
        assert_eq!(case.case_raw().get().len(), 400_000);
    }

    #[test]
    fn guest_strings_are_clipped() {
        let text = serde_json::json!({
            "ok": false,
            "error": {"kind": "exception", "stage": "verify", "type": "E".repeat(10_000),
                      "message": "m".repeat(100_000), "traceback": "t".repeat(100_000)},
            "stdout": "o".repeat(100_000),
        })
        .to_string();
        let r = parse_score(&text);
        let err = r.result.unwrap_err();
        assert_eq!((err.kind, err.stage), (ErrorKind::Exception, Stage::Verify));
        assert!(
            err.exc_type.len() < 300 && err.message.len() < 5000 && err.traceback.len() < 17_000
        );
        assert!(r.stdout.len() < 17_000);
    }

    #[test]
    fn clip_respects_char_boundaries() {
        let s = clip("é".repeat(10), 5);
        assert!(s.starts_with("éé") && s.ends_with("[clipped]"));
    }
}
