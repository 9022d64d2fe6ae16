//! Pure judgements over sandbox results: no I/O here, so every rule is unit
//! tested on its own.

use std::collections::HashSet;

use crate::sandbox::{ClassInfo, Inspection};

/// Phrases that mark an oversimplified bootcamp (in code or comments).
pub const SIMPLIFICATION_MARKERS: [&str; 4] = ["for simplicity", "simplified", "simplify", "简化"];

/// The methods a bootcamp must have (defined or inherited within the file;
/// `verify_score` comes from `Basebootcamp`).
pub const REQUIRED_METHODS: [&str; 4] = [
    "case_generator",
    "prompt_func",
    "extract_output",
    "_verify_correction",
];

/// Where a marker occurs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MarkerHit {
    pub marker: &'static str,
    pub line: usize,
    pub text: String,
}

/// Every line mentioning a simplification marker, case-insensitively.
pub fn simplification_markers(source: &str) -> Vec<MarkerHit> {
    let mut hits = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let lower = line.to_lowercase();
        for marker in SIMPLIFICATION_MARKERS {
            if lower.contains(marker) {
                let text: String = line.trim().chars().take(160).collect();
                hits.push(MarkerHit {
                    marker,
                    line: index + 1,
                    text,
                });
            }
        }
    }
    hits
}

/// The bootcamp classes of a file: classes deriving (directly or through
/// other classes of the file) from `Basebootcamp`.
pub fn bootcamp_classes(inspection: &Inspection) -> Vec<&ClassInfo> {
    let mut known: HashSet<&str> = HashSet::new();
    // Bases defined later in the file are rare; iterate to a fixed point.
    loop {
        let before = known.len();
        for class in &inspection.classes {
            if class
                .bases
                .iter()
                .any(|b| b == "Basebootcamp" || known.contains(b.as_str()))
            {
                known.insert(class.name.as_str());
            }
        }
        if known.len() == before {
            break;
        }
    }
    inspection
        .classes
        .iter()
        .filter(|c| known.contains(c.name.as_str()))
        .collect()
}

/// The class a check runs: the named one, else the only one no other class
/// derives from. Mirrors the harness's own choice.
pub fn choose_class<'a>(
    classes: &[&'a ClassInfo],
    wanted: Option<&str>,
) -> Result<&'a ClassInfo, String> {
    if let Some(name) = wanted {
        return classes
            .iter()
            .copied()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = classes.iter().map(|c| c.name.as_str()).collect();
                format!(
                    "no bootcamp class named {name:?}; the file defines: {}",
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    }
                )
            });
    }
    let leaves: Vec<&ClassInfo> = classes
        .iter()
        .copied()
        .filter(|c| !classes.iter().any(|o| o.bases.iter().any(|b| b == &c.name)))
        .collect();
    match leaves.as_slice() {
        [one] => Ok(one),
        [] => Err("the file defines no class deriving from Basebootcamp".into()),
        many => Err(format!(
            "the file defines several bootcamp classes ({}); choose one with --class",
            many.iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Where `method` is defined for `class`: in the class or in a base class of
/// the same file (first match, depth first).
pub fn resolve_method<'a>(
    inspection: &'a Inspection,
    class: &'a ClassInfo,
    method: &str,
) -> Option<(&'a ClassInfo, &'a crate::sandbox::MethodInfo)> {
    let mut stack = vec![class];
    let mut visited = HashSet::new();
    while let Some(current) = stack.pop() {
        if !visited.insert(current.name.as_str()) {
            continue;
        }
        if let Some(info) = current.methods.get(method) {
            return Some((current, info));
        }
        for base in current.bases.iter().rev() {
            if let Some(parent) = inspection.classes.iter().find(|c| &c.name == base) {
                stack.push(parent);
            }
        }
    }
    None
}

/// Distinct cases over cases.
pub fn diversity(case_jsons: &[&str]) -> (usize, f64) {
    if case_jsons.is_empty() {
        return (0, 0.0);
    }
    let distinct: HashSet<&str> = case_jsons.iter().copied().collect();
    (
        distinct.len(),
        distinct.len() as f64 / case_jsons.len() as f64,
    )
}

/// Whether a prompt tells the model how to format its answer.
pub fn states_answer_format(prompt: &str) -> bool {
    let lower = prompt.to_lowercase();
    ["answer", "boxed", "format", "respond with", "output"]
        .iter()
        .any(|k| lower.contains(k))
}

/// Answer tag styles a prompt asks for (all known styles when none is named).
pub fn answer_tags(prompt: &str) -> Vec<(&'static str, &'static str)> {
    const STYLES: [(&str, &str); 3] = [
        ("[answer]", "[/answer]"),
        ("<answer>", "</answer>"),
        ("\\boxed{", "}"),
    ];
    let lower = prompt.to_lowercase();
    let found: Vec<_> = STYLES
        .iter()
        .copied()
        .filter(|(open, _)| lower.contains(open))
        .collect();
    if found.is_empty() {
        STYLES.to_vec()
    } else {
        found
    }
}

const THINK_FILLER: &str = "Let me work through this problem carefully. I will restate the task, consider \
the constraints one by one, try a few candidate answers, and check each of them against every rule \
before committing to a final answer. After going back and forth on the details, I have settled on a \
response that I believe satisfies what was asked.";
const PREAMBLE: &str = "Having reasoned through the problem step by step, here is my final answer, \
written in exactly the format the question requested, so that it can be checked automatically:\n\n";

/// Dress an answer as a real reasoning model's output: a think block and a
/// final part long enough for InternBootcamp's length penalties, so that a
/// verifier's acceptance is tested, not its penalties.
pub fn model_shaped(answer: &str) -> String {
    format!("<think>\n{THINK_FILLER}\n</think>\n\n{PREAMBLE}{answer}")
}

/// The answer part of a [`model_shaped`] text (what follows the preamble).
pub fn shaped_core(text: &str) -> &str {
    let after = text.rsplit("</think>").next().unwrap_or(text).trim_start();
    after.strip_prefix(PREAMBLE).unwrap_or(after)
}

/// One junk answer to try against a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Junk {
    pub kind: &'static str,
    pub text: String,
}

const WORDS: [&str; 16] = [
    "banana",
    "seventeen",
    "orbit",
    "maple",
    "quartz",
    "lantern",
    "42",
    "violet",
    "x",
    "delta",
    "pebble",
    "none",
    "true",
    "7 3 1",
    "river",
    "-5",
];

/// Junk answers for a case with this prompt; `salt` varies the random text.
pub fn junk_answers(prompt: &str, salt: u64) -> Vec<Junk> {
    let mut junk = vec![
        Junk {
            kind: "empty",
            text: model_shaped(""),
        },
        Junk {
            kind: "prompt_echo",
            text: model_shaped(&prompt.chars().take(4000).collect::<String>()),
        },
    ];
    let mut state = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut word = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        WORDS[(state % WORDS.len() as u64) as usize]
    };
    for (open, close) in answer_tags(prompt) {
        junk.push(Junk {
            kind: "empty_answer_tags",
            text: model_shaped(&format!("{open}{close}")),
        });
        let random = format!("{} {} {}", word(), word(), word());
        junk.push(Junk {
            kind: "random_text",
            text: model_shaped(&format!("{open}{random}{close}")),
        });
    }
    junk.push(Junk {
        kind: "random_text",
        text: model_shaped(&format!("{} {} {}", word(), word(), word())),
    });
    // The same junk without the dress, so a verifier cannot spot the shape.
    let plain: Vec<Junk> = junk
        .iter()
        .filter(|j| matches!(j.kind, "empty_answer_tags" | "random_text"))
        .map(|j| Junk {
            kind: j.kind,
            text: shaped_core(&j.text).to_owned(),
        })
        .collect();
    junk.extend(plain);
    junk
}

/// A score counts as full credit at 1 (allowing float noise).
pub fn full_credit(score: f64) -> bool {
    score >= 1.0 - 1e-9
}

/// The 95% Wilson score interval of `successes` out of `n`.
pub fn wilson_interval(successes: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let p = successes as f64 / n;
    let denom = 1.0 + z * z / n;
    let center = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// Where an accuracy falls against the band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    InBand,
    TooEasy,
    TooHardOrBroken,
}

/// The verdict uses the point estimate against `[min, max]`.
pub fn band(accuracy: f64, min: f64, max: f64) -> Band {
    if accuracy > max {
        Band::TooEasy
    } else if accuracy < min {
        Band::TooHardOrBroken
    } else {
        Band::InBand
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::MethodInfo;
    use std::collections::BTreeMap;

    fn class(name: &str, bases: &[&str], methods: &[(&str, bool)]) -> ClassInfo {
        ClassInfo {
            name: name.into(),
            line: 1,
            bases: bases.iter().map(|b| b.to_string()).collect(),
            methods: methods
                .iter()
                .map(|(m, p)| {
                    (
                        m.to_string(),
                        MethodInfo {
                            line: 1,
                            placeholder: *p,
                        },
                    )
                })
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn markers_are_found_case_insensitively_with_lines() {
        let src = "x = 1\n# For simplicity, use small grids\ny = 2  # 简化\ndef simplify(): pass\n";
        let hits = simplification_markers(src);
        let lines: Vec<(usize, &str)> = hits.iter().map(|h| (h.line, h.marker)).collect();
        assert_eq!(
            lines,
            vec![(2, "for simplicity"), (3, "简化"), (4, "simplify")]
        );
    }

    #[test]
    fn classes_methods_and_inheritance_within_the_file() {
        let inspection = Inspection {
            syntax_error: None,
            classes: vec![
                class("Helper", &[], &[("x", false)]),
                class(
                    "Basepuzzle",
                    &["Basebootcamp"],
                    &[("extract_output", false), ("_verify_correction", true)],
                ),
                class(
                    "Puzzlebootcamp",
                    &["Basepuzzle"],
                    &[("case_generator", false), ("prompt_func", false)],
                ),
            ],
        };
        let classes = bootcamp_classes(&inspection);
        assert_eq!(
            classes.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            vec!["Basepuzzle", "Puzzlebootcamp"]
        );
        let chosen = choose_class(&classes, None).unwrap();
        assert_eq!(chosen.name, "Puzzlebootcamp");
        let (owner, info) = resolve_method(&inspection, chosen, "_verify_correction").unwrap();
        assert_eq!(
            (owner.name.as_str(), info.placeholder),
            ("Basepuzzle", true)
        );
        assert!(resolve_method(&inspection, chosen, "verify_score").is_none());
        assert!(
            choose_class(&classes, Some("Nope"))
                .unwrap_err()
                .contains("Basepuzzle, Puzzlebootcamp")
        );
        let two = Inspection {
            syntax_error: None,
            classes: vec![
                class("A", &["Basebootcamp"], &[]),
                class("B", &["Basebootcamp"], &[]),
            ],
        };
        assert!(
            choose_class(&bootcamp_classes(&two), None)
                .unwrap_err()
                .contains("--class")
        );
    }

    #[test]
    fn diversity_counts_distinct_cases() {
        assert_eq!(diversity(&["a", "b", "a", "c"]), (3, 0.75));
        assert_eq!(diversity(&[]), (0, 0.0));
    }

    #[test]
    fn junk_follows_the_prompts_tags_and_is_model_shaped() {
        let junk = junk_answers("Reply as [answer]N[/answer].", 3);
        assert!(
            junk.iter()
                .any(|j| j.kind == "empty_answer_tags" && j.text.ends_with("[answer][/answer]"))
        );
        assert!(!junk.iter().any(|j| j.text.contains("<answer>")));
        assert!(
            junk.iter().any(|j| j.text == "[answer][/answer]"),
            "a plain variant too"
        );
        for j in junk.iter().filter(|j| j.text.starts_with("<think>")) {
            let answer_part = j.text.rsplit("</think>").next().unwrap();
            assert!(
                answer_part.len() >= 128,
                "{}: {}",
                j.kind,
                answer_part.len()
            );
            assert!(j.text.len() >= 256);
        }
        assert_eq!(answer_tags("no format named").len(), 3);
        assert_eq!(junk_answers("p", 1), junk_answers("p", 1));
        assert_eq!(
            shaped_core(&model_shaped("[answer]x[/answer]")),
            "[answer]x[/answer]"
        );
    }

    #[test]
    fn wilson_interval_matches_known_values() {
        let (lo, hi) = wilson_interval(20, 40);
        assert!(
            (lo - 0.352).abs() < 0.002 && (hi - 0.648).abs() < 0.002,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson_interval(0, 40);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.0876).abs() < 0.002, "{hi}");
        assert_eq!(wilson_interval(0, 0), (0.0, 1.0));
    }

    #[test]
    fn band_uses_the_point_estimate() {
        assert_eq!(band(0.9, 0.03, 0.85), Band::TooEasy);
        assert_eq!(band(0.0, 0.03, 0.85), Band::TooHardOrBroken);
        assert_eq!(band(0.5, 0.03, 0.85), Band::InBand);
        assert_eq!(band(0.85, 0.03, 0.85), Band::InBand);
    }
}
