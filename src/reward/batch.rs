//! A scoring request, validated purely: what makes the whole batch
//! malformed (a 400 naming the item), what refuses one item (it scores 0
//! with its error), and the answer's shape.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The keyword arguments of InternBootcamp's `verify_score` a request may
/// set.
pub const SCORE_FLAGS: [&str; 5] = [
    "format_score",
    "short_penalty",
    "short_threshold",
    "ans_threshold",
    "format_penalty",
];

/// Why one item scored 0 without (or despite) running its verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No bootcamp answers to the data source.
    UnknownDataSource,
    /// The ground truth is a string that is not JSON.
    BadGroundTruth,
    /// The solution is over the size cap.
    TooLarge,
    /// The bootcamp did not load (syntax, import, constructor).
    LoadFailed,
    /// `verify_score` raised.
    Exception,
    /// The verifier ran past its time limit.
    Timeout,
    /// The verifier needed more than the memory cap.
    Memory,
    /// The verifier printed more than allowed.
    OutputLimit,
    /// `verify_score` returned something that is not a finite number.
    InvalidOutput,
    /// The interpreter trapped (stack overflow, exit).
    Trap,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::UnknownDataSource,
        ErrorKind::BadGroundTruth,
        ErrorKind::TooLarge,
        ErrorKind::LoadFailed,
        ErrorKind::Exception,
        ErrorKind::Timeout,
        ErrorKind::Memory,
        ErrorKind::OutputLimit,
        ErrorKind::InvalidOutput,
        ErrorKind::Trap,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::UnknownDataSource => "unknown_data_source",
            ErrorKind::BadGroundTruth => "bad_ground_truth",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::LoadFailed => "load_failed",
            ErrorKind::Exception => "exception",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Memory => "memory",
            ErrorKind::OutputLimit => "output_limit",
            ErrorKind::InvalidOutput => "invalid_output",
            ErrorKind::Trap => "trap",
        }
    }
}

/// An item's error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemError {
    pub kind: ErrorKind,
    pub message: String,
}

/// One answer, in request order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    pub score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
}

impl Scored {
    pub fn failed(kind: ErrorKind, message: impl Into<String>) -> Scored {
        Scored {
            score: 0.0,
            error: Some(ItemError {
                kind,
                message: message.into(),
            }),
        }
    }
}

/// A well-formed item, ready to score.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub data_source: String,
    pub solution: String,
    /// The case as JSON text.
    pub ground_truth: String,
    /// `verify_score`'s flags, serialised (items are grouped by them).
    pub flags: String,
}

/// Limits a batch is checked against.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub max_items: usize,
    /// The largest `solution_str`, bytes (a larger one is refused alone).
    pub max_solution_bytes: usize,
}

/// The items of a request body: each well-formed or refused on its own.
/// `Err` (answered 400) when the body is not a JSON array of objects of the
/// documented shape, naming the first item that is not.
pub fn parse(
    body: &[u8],
    limits: BatchLimits,
    default_flags: &Map<String, Value>,
) -> Result<Vec<Result<Item, Scored>>, String> {
    // Items stay raw until each is read, so that an object ground truth
    // keeps its integers exact (a tree would turn big ones into floats).
    let items: Vec<Box<RawValue>> = serde_json::from_slice(body).map_err(|e| {
        if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
            "the body must be a JSON array of items, one per rollout".to_owned()
        } else {
            format!(
                "the body is not JSON ({e}): send a JSON array of {{\"data_source\", \"solution_str\", \"ground_truth\"}} objects"
            )
        }
    })?;
    if items.len() > limits.max_items {
        return Err(format!(
            "the batch has {} items, over the limit of {}: split it",
            items.len(),
            limits.max_items
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_item(i, item, limits, default_flags))
        .collect()
}

/// An item's fields as sent; others (`extra_info`) are accepted and not
/// needed: a score depends on the item alone.
#[derive(Deserialize)]
struct RawItem {
    data_source: Option<Value>,
    solution_str: Option<Value>,
    ground_truth: Option<Box<RawValue>>,
    score_flags: Option<Value>,
}

fn parse_item(
    i: usize,
    raw: &RawValue,
    limits: BatchLimits,
    default_flags: &Map<String, Value>,
) -> Result<Result<Item, Scored>, String> {
    if !raw.get().trim_start().starts_with('{') {
        return Err(format!("item {i} is not a JSON object"));
    }
    let item: RawItem =
        serde_json::from_str(raw.get()).map_err(|e| format!("item {i} is malformed: {e}"))?;
    let data_source = match item.data_source {
        Some(Value::String(s)) => s,
        other => return Err(field_error(i, "data_source", "a string", other)),
    };
    let solution = match item.solution_str {
        Some(Value::String(s)) => s,
        other => return Err(field_error(i, "solution_str", "a string", other)),
    };
    let truth = item.ground_truth.as_deref().map(|r| r.get().trim());
    let ground_truth = match truth {
        Some(text) if text.starts_with('"') => {
            Ok(serde_json::from_str::<String>(text).map_err(|e| format!("item {i}: {e}"))?)
        }
        Some(text) if text.starts_with('{') || text.starts_with('[') => Err(text.to_owned()),
        other => {
            let got = other.and_then(|t| serde_json::from_str::<Value>(t).ok());
            let got = match got {
                Some(Value::Null) | None => None,
                some => some,
            };
            return Err(field_error(
                i,
                "ground_truth",
                "a JSON string (verl) or an object",
                got,
            ));
        }
    };
    let mut flags = default_flags.clone();
    match item.score_flags {
        None | Some(Value::Null) => {}
        Some(Value::Object(given)) => {
            for (key, value) in given {
                if !SCORE_FLAGS.contains(&key.as_str()) {
                    return Err(format!(
                        "item {i}: score_flags has {key:?}; the flags are {}",
                        SCORE_FLAGS.join(", ")
                    ));
                }
                if !(value.is_number() || value.is_boolean()) {
                    return Err(format!(
                        "item {i}: score_flags.{key} must be a number or a boolean"
                    ));
                }
                flags.insert(key, value);
            }
        }
        Some(other) => {
            return Err(field_error(i, "score_flags", "an object", Some(other)));
        }
    }
    if solution.len() > limits.max_solution_bytes {
        return Ok(Err(Scored::failed(
            ErrorKind::TooLarge,
            format!(
                "solution_str is {} bytes, over the {} byte limit",
                solution.len(),
                limits.max_solution_bytes
            ),
        )));
    }
    let ground_truth = match ground_truth {
        Ok(text) => {
            if serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err() {
                return Ok(Err(Scored::failed(
                    ErrorKind::BadGroundTruth,
                    "ground_truth is a string that is not JSON (verl's ground truth is the case as a JSON string)",
                )));
            }
            text
        }
        Err(text) => text,
    };
    Ok(Ok(Item {
        data_source,
        solution,
        ground_truth,
        flags: Value::Object(flags).to_string(),
    }))
}

fn field_error(i: usize, field: &str, want: &str, got: Option<Value>) -> String {
    match got {
        None => format!("item {i} has no {field:?}: it must be {want}"),
        Some(v) => {
            let kind = match v {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                Value::Array(_) => "an array",
                Value::Object(_) => "an object",
            };
            format!("item {i}: {field:?} is {kind}; it must be {want}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BatchLimits = BatchLimits {
        max_items: 4,
        max_solution_bytes: 16,
    };

    fn parse_text(text: &str) -> Result<Vec<Result<Item, Scored>>, String> {
        let mut flags = Map::new();
        flags.insert("format_score".into(), 0.into());
        parse(text.as_bytes(), LIMITS, &flags)
    }

    #[test]
    fn malformed_batches_name_the_item() {
        for (body, needle) in [
            ("{", "not JSON"),
            (r#"{"data_source": "x"}"#, "JSON array"),
            (r#"[1]"#, "item 0 is not a JSON object"),
            (
                r#"[{"data_source":"a","solution_str":"s","ground_truth":"{}"},{"solution_str":"s","ground_truth":"{}"}]"#,
                r#"item 1 has no "data_source""#,
            ),
            (
                r#"[{"data_source":"a","solution_str":5,"ground_truth":"{}"}]"#,
                r#"item 0: "solution_str" is a number"#,
            ),
            (
                r#"[{"data_source":"a","solution_str":"s","ground_truth":3}]"#,
                r#""ground_truth" is a number"#,
            ),
            (
                r#"[{"data_source":"a","solution_str":"s","ground_truth":"{}","score_flags":{"x":1}}]"#,
                r#"score_flags has "x""#,
            ),
            (
                r#"[{"data_source":"a","solution_str":"s","ground_truth":"{}","score_flags":{"format_score":"1"}}]"#,
                "must be a number",
            ),
            ("[1,2,3,4,5]", "over the limit of 4"),
        ] {
            let err = parse_text(body).unwrap_err();
            assert!(err.contains(needle), "{body}: {err}");
        }
    }

    #[test]
    fn items_are_refused_alone_and_flags_merge_over_the_defaults() {
        let items = parse_text(
            r#"[
            {"data_source":"a","solution_str":"this one is far too long","ground_truth":"{}"},
            {"data_source":"a","solution_str":"s","ground_truth":"not json"},
            {"data_source":"a","solution_str":"s","ground_truth":{"n": 12345678901234567890123},"extra_info":{"x":[1]}},
            {"data_source":"a","solution_str":"s","ground_truth":"[1]","score_flags":{"short_penalty":false}}
        ]"#,
        )
        .unwrap();
        let kind = |r: &Result<Item, Scored>| {
            r.as_ref()
                .err()
                .and_then(|s| s.error.clone())
                .map(|e| e.kind)
        };
        assert_eq!(kind(&items[0]), Some(ErrorKind::TooLarge));
        assert_eq!(kind(&items[1]), Some(ErrorKind::BadGroundTruth));
        let object = items[2].as_ref().unwrap();
        assert_eq!(object.ground_truth, r#"{"n": 12345678901234567890123}"#);
        assert_eq!(object.flags, r#"{"format_score":0}"#);
        let flagged = items[3].as_ref().unwrap();
        assert_eq!(flagged.flags, r#"{"format_score":0,"short_penalty":false}"#);
        assert_eq!(
            serde_json::to_string(&Scored::failed(ErrorKind::TooLarge, "m")).unwrap(),
            r#"{"score":0.0,"error":{"kind":"too_large","message":"m"}}"#
        );
    }
}
