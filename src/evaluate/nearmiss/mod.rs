//! Near-miss and over-broad answers: pure construction, no I/O.
//!
//! A verifier becomes an RL reward, and a reward that pays for an answer
//! that is almost right, or for one that names every possibility, teaches
//! the policy to give it. Content-free junk and guesses do not find such a
//! verifier, since they never start from a right answer. Here:
//!
//! - *near-miss* mutants start from a case's reference answer and change it a
//!   little, inside its answer format (the `[answer]...[/answer]` or
//!   `[[...]]` wrapper stays): a number moved by one or by a factor, a digit
//!   added in front (`12` inside `112`), a decimal moved beyond any stated
//!   tolerance, two numbers shifted keeping their sum, one element dropped,
//!   duplicated or added (from the prompt's own numbers), two swapped, the
//!   order reversed, the case changed, the answer truncated, the answer
//!   mentioned inside a longer answer text that ends on another value, the
//!   answer mentioned only in the reasoning before a wrong final answer;
//! - *over-broad* answers name every candidate the prompt offers at once:
//!   all its numbers, all its option letters or option texts (or both words
//!   of a yes/no pair), the reference answer followed by every other
//!   candidate.
//!
//! Every choice is drawn from the check's junk seed, so a check replays.
//! How each class is judged is [`Mutation::judged`]; the verdicts are
//! [`super::judge::near_miss_findings`].

use serde::{Deserialize, Serialize};

use super::junk::{self, Junk, JunkClass, JunkRng};

mod read;

use read::{
    Elements, Num, PAIRS, fmt_decimal, has_word, normalized_set, numbers, prompt_numbers, replace,
    swap_case,
};
pub use read::{Tolerance, options, order_free, stated_tolerance};

/// One way of deriving a wrong (or over-broad) answer from a right one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mutation {
    OffByOne,
    Scaled,
    DigitAdded,
    FloatOff,
    PairShifted,
    ElementDropped,
    ElementDuplicated,
    ElementAdded,
    Swapped,
    Reversed,
    CaseChanged,
    Truncated,
    WrappedInText,
    ReasoningMentionsAnswer,
    AllNumbers,
    AllOptions,
    ReferencePlusCandidates,
}

/// How a mutation class's credit is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judged {
    /// The mutant says something else than the reference: credit on most
    /// cases fails, less warns.
    Content,
    /// The mutant reorders the reference: judged as content unless the
    /// prompts say the order is free.
    Order,
    /// Only the spelling changes: reported, never a finding.
    Format,
    /// Every candidate at once: credit fails from a few cases on.
    Overbroad,
}

impl Mutation {
    pub const ALL: [Mutation; 17] = [
        Mutation::OffByOne,
        Mutation::Scaled,
        Mutation::DigitAdded,
        Mutation::FloatOff,
        Mutation::PairShifted,
        Mutation::ElementDropped,
        Mutation::ElementDuplicated,
        Mutation::ElementAdded,
        Mutation::Swapped,
        Mutation::Reversed,
        Mutation::CaseChanged,
        Mutation::Truncated,
        Mutation::WrappedInText,
        Mutation::ReasoningMentionsAnswer,
        Mutation::AllNumbers,
        Mutation::AllOptions,
        Mutation::ReferencePlusCandidates,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mutation::OffByOne => "off_by_one",
            Mutation::Scaled => "scaled",
            Mutation::DigitAdded => "digit_added",
            Mutation::FloatOff => "float_off",
            Mutation::PairShifted => "pair_shifted",
            Mutation::ElementDropped => "element_dropped",
            Mutation::ElementDuplicated => "element_duplicated",
            Mutation::ElementAdded => "element_added",
            Mutation::Swapped => "swapped",
            Mutation::Reversed => "reversed",
            Mutation::CaseChanged => "case_changed",
            Mutation::Truncated => "truncated",
            Mutation::WrappedInText => "wrapped_in_text",
            Mutation::ReasoningMentionsAnswer => "reasoning_mentions_answer",
            Mutation::AllNumbers => "all_numbers",
            Mutation::AllOptions => "all_options",
            Mutation::ReferencePlusCandidates => "reference_plus_candidates",
        }
    }

    pub fn is_overbroad(self) -> bool {
        self.judged() == Judged::Overbroad
    }

    /// The junk strategy name: `near_miss:<class>` or `overbroad:<class>`.
    pub fn strategy(self) -> String {
        let family = if self.is_overbroad() {
            "overbroad"
        } else {
            "near_miss"
        };
        format!("{family}:{}", self.name())
    }

    /// The class behind a strategy name, if it is a mutation's.
    pub fn from_strategy(strategy: &str) -> Option<Mutation> {
        let name = strategy
            .strip_prefix("near_miss:")
            .or_else(|| strategy.strip_prefix("overbroad:"))?;
        Mutation::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn judged(self) -> Judged {
        match self {
            Mutation::Swapped | Mutation::Reversed | Mutation::ElementDuplicated => Judged::Order,
            Mutation::CaseChanged => Judged::Format,
            Mutation::AllNumbers | Mutation::AllOptions | Mutation::ReferencePlusCandidates => {
                Judged::Overbroad
            }
            _ => Judged::Content,
        }
    }

    /// What the mutant is, in words, for reports and the refine prompt.
    pub fn describe(self) -> &'static str {
        match self {
            Mutation::OffByOne => "a number of the answer moved by one",
            Mutation::Scaled => "a number of the answer doubled",
            Mutation::DigitAdded => {
                "a digit added in front of a number (the answer as a substring)"
            }
            Mutation::FloatOff => {
                "a decimal moved by 1% or ten units of its last digit, beyond any tolerance the prompt states"
            }
            Mutation::PairShifted => "two numbers moved by one in opposite directions (same sum)",
            Mutation::ElementDropped => "one element of the answer dropped",
            Mutation::ElementDuplicated => "one element of the answer repeated",
            Mutation::ElementAdded => "one number of the prompt added to the answer",
            Mutation::Swapped => "two elements of the answer swapped",
            Mutation::Reversed => "the answer's order reversed",
            Mutation::CaseChanged => "the answer's letter case changed",
            Mutation::Truncated => "the answer cut in half",
            Mutation::WrappedInText => {
                "answer tags around a longer text that names the answer, then settles on another value"
            }
            Mutation::ReasoningMentionsAnswer => {
                "the right answer only in the reasoning, a wrong final answer"
            }
            Mutation::AllNumbers => "every number of the prompt as the answer",
            Mutation::AllOptions => "every option (letter or text) the prompt offers as the answer",
            Mutation::ReferencePlusCandidates => {
                "the right answer followed by every other candidate"
            }
        }
    }
}

/// What one case's mutants are built from.
pub struct MutantInput<'a> {
    pub prompt: &'a str,
    /// The case's reference answer (full output as the bootcamp wrote it).
    pub reference: Option<&'a str>,
}

/// The final answer text of a reference: its last answer tag's content, or
/// the whole text after any reasoning when it is short and has no tags.
pub fn reference_answer(reference: &str) -> Option<String> {
    if let Some(a) = junk::final_answer(reference) {
        return Some(a.to_owned());
    }
    let tail = reference
        .rsplit("</think>")
        .next()
        .unwrap_or(reference)
        .trim();
    (!tail.is_empty() && tail.chars().count() <= 200).then(|| tail.to_owned())
}

/// `reference` with its final answer replaced by `value` (the whole answer
/// when it has no tags), dressed as a reasoning model's output.
fn in_reference(rng: &mut JunkRng, reference: &str, value: &str) -> String {
    let text = junk::replace_final_answer(reference, value).unwrap_or_else(|| {
        match reference.rfind("</think>") {
            Some(i) => format!("{}</think>\n{value}", &reference[..i]),
            None => value.to_owned(),
        }
    });
    if text.contains("</think>") {
        text
    } else {
        junk::dress(rng, &text)
    }
}

/// The number mutants of one answer content.
fn number_mutants(
    rng: &mut JunkRng,
    content: &str,
    tolerance: Tolerance,
    out: &mut Vec<(Mutation, String)>,
) {
    let nums = numbers(content);
    let ints: Vec<&Num> = nums.iter().filter(|n| n.decimals == 0).collect();
    // A 0/1 answer (a bit string, an assignment) is not a quantity: moving
    // its values by one is choosing another answer, which may be right.
    let binary = nums
        .iter()
        .all(|n| matches!(&content[n.start..n.end], "0" | "1" | "-1"));
    let value = |n: &Num| content[n.start..n.end].parse::<i128>().ok();
    if !binary && !ints.is_empty() {
        let n = ints[rng.below(ints.len())];
        if let Some(v) = value(n) {
            for d in [1i128, -1] {
                out.push((
                    Mutation::OffByOne,
                    replace(content, n, &(v + d).to_string()),
                ));
            }
            if v != 0 {
                out.push((Mutation::Scaled, replace(content, n, &(v * 2).to_string())));
            }
            if v >= 0 {
                let digit = 1 + rng.below(9);
                out.push((
                    Mutation::DigitAdded,
                    replace(content, n, &format!("{digit}{v}")),
                ));
            }
        }
        let wide: Vec<&&Num> = ints.iter().filter(|n| value(n).is_some()).collect();
        if wide.len() >= 2 {
            let i = rng.below(wide.len());
            let mut j = rng.below(wide.len() - 1);
            if j >= i {
                j += 1;
            }
            let (a, b) = (wide[i], wide[j]);
            let (va, vb) = (value(a).unwrap_or(0), value(b).unwrap_or(0));
            // Replace the later one first so the earlier range stays valid.
            let (first, second, v1, v2) = if a.start < b.start {
                (a, b, va + 1, vb - 1)
            } else {
                (b, a, vb - 1, va + 1)
            };
            let text = replace(content, second, &v2.to_string());
            out.push((
                Mutation::PairShifted,
                replace(&text, first, &v1.to_string()),
            ));
        }
    }
    let decs: Vec<&Num> = nums.iter().filter(|n| n.decimals > 0).collect();
    if !decs.is_empty() {
        let n = decs[rng.below(decs.len())];
        if let Ok(v) = content[n.start..n.end].parse::<f64>() {
            let unit = 10f64.powi(-(n.decimals as i32));
            let delta = (10.0 * unit)
                .max(0.01 * v.abs())
                .max(3.0 * tolerance.absolute)
                .max(3.0 * tolerance.relative * v.abs());
            // Rounded up at the answer's own precision, so the move is at
            // least `delta` as written.
            let scale = 10f64.powi(n.decimals as i32);
            let moved = ((v + delta) * scale).ceil() / scale;
            out.push((
                Mutation::FloatOff,
                replace(content, n, &fmt_decimal(moved, n.decimals)),
            ));
        }
    }
}

/// The element mutants of one answer content.
fn element_mutants(
    rng: &mut JunkRng,
    content: &str,
    candidates: &[String],
    out: &mut Vec<(Mutation, String)>,
) {
    let e = Elements::parse(content);
    let items = &e.items;
    if items.len() >= 2 {
        let mut v = items.clone();
        v.remove(rng.below(items.len()));
        out.push((Mutation::ElementDropped, e.with(&v)));
        let mut v = items.clone();
        let i = rng.below(items.len());
        v.insert(i, items[i].clone());
        out.push((Mutation::ElementDuplicated, e.with(&v)));
        let fresh: Vec<&String> = candidates.iter().filter(|c| !items.contains(c)).collect();
        if !fresh.is_empty() {
            let mut v = items.clone();
            let c = fresh[rng.below(fresh.len())].clone();
            v.insert(rng.below(items.len() + 1), c);
            out.push((Mutation::ElementAdded, e.with(&v)));
        }
        let pairs: Vec<usize> = (0..items.len() - 1)
            .filter(|&i| items[i] != items[i + 1])
            .collect();
        // A pair is as often unordered ("two numbers that add up to T") as
        // ordered: only longer answers have an order worth testing.
        if !pairs.is_empty() && items.len() >= 3 {
            let i = pairs[rng.below(pairs.len())];
            let mut v = items.clone();
            v.swap(i, i + 1);
            out.push((Mutation::Swapped, e.with(&v)));
        }
        let mut v = items.clone();
        v.reverse();
        if items.len() >= 3 && &v != items {
            out.push((Mutation::Reversed, e.with(&v)));
        }
        let half = items.len().div_ceil(2).min(items.len() - 1);
        out.push((Mutation::Truncated, e.with(&items[..half])));
    } else {
        let word = content.trim();
        let chars: Vec<char> = word.chars().collect();
        // A word (a reversed string, a move sequence in lower case); not a
        // number, and not a run of capitals, which is as often a set of
        // option letters ("AC") whose order is free.
        let plain = chars.len() >= 3
            && chars.len() <= 64
            && chars.iter().all(|c| c.is_alphanumeric())
            && !chars.iter().all(|c| c.is_uppercase())
            && word.parse::<f64>().is_err();
        if plain {
            let pairs: Vec<usize> = (0..chars.len() - 1)
                .filter(|&i| chars[i] != chars[i + 1])
                .collect();
            if !pairs.is_empty() {
                let i = pairs[rng.below(pairs.len())];
                let mut v = chars.clone();
                v.swap(i, i + 1);
                out.push((Mutation::Swapped, v.into_iter().collect()));
            }
        }
        // A decimal cut short is the same number rounded, which a stated
        // tolerance may rightly accept.
        let decimal = word.contains('.') && word.parse::<f64>().is_ok();
        if chars.len() >= 2 && !decimal {
            let keep: String = chars[..chars.len().div_ceil(2).min(chars.len() - 1)]
                .iter()
                .collect();
            if !keep.trim().is_empty() {
                out.push((Mutation::Truncated, keep));
            }
        }
    }
    let changed = swap_case(content);
    if changed != content {
        out.push((Mutation::CaseChanged, changed));
    }
}

/// Every near-miss mutant and over-broad answer for one case.
pub fn case_mutants(input: &MutantInput<'_>, rng: &mut JunkRng) -> Vec<Junk> {
    let mut raw: Vec<(Mutation, String)> = Vec::new();
    let candidates = prompt_numbers(input.prompt, 200);
    let opts = options(input.prompt);
    let lower = input.prompt.to_lowercase();
    let reference = input.reference.filter(|r| r.len() <= 20_000);
    let content = reference.and_then(reference_answer);
    let mut out: Vec<Junk> = Vec::new();
    if let (Some(reference), Some(content)) = (reference, content.as_deref()) {
        let tolerance = stated_tolerance(input.prompt);
        number_mutants(rng, content, tolerance, &mut raw);
        element_mutants(rng, content, &candidates, &mut raw);
        // The right answer named first, another value last, inside the tags.
        let other = raw
            .iter()
            .find(|(m, _)| *m == Mutation::OffByOne)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| junk::random_value(rng, content));
        raw.push((
            Mutation::WrappedInText,
            format!("{content}? No, checking again it is {other}"),
        ));
        let e = Elements::parse(content);
        let reference_items = normalized_set(&e.items);
        // The reference, then every other candidate of its kind.
        let letters =
            content.trim().len() == 1 && opts.iter().any(|(l, _)| l.to_string() == content.trim());
        let extra: Vec<String> = if letters {
            opts.iter()
                .map(|(l, _)| l.to_string())
                .filter(|l| l != content.trim())
                .collect()
        } else {
            candidates
                .iter()
                .filter(|c| !reference_items.contains(&c.to_lowercase()))
                .cloned()
                .collect()
        };
        if !extra.is_empty() {
            let mut items = e.items.clone();
            items.extend(extra);
            raw.push((Mutation::ReferencePlusCandidates, e.with(&items)));
        }
        for (m, text) in &raw {
            if text.trim() == content.trim() || text.trim().is_empty() {
                continue;
            }
            // Over-broad answers equal to the answer (as sets) are right.
            if m.is_overbroad() && normalized_set(&Elements::parse(text).items) == reference_items {
                continue;
            }
            out.push(Junk {
                strategy: m.strategy(),
                class: class_of(*m),
                text: in_reference(rng, reference, text),
            });
        }
        // The right answer in the reasoning only, a wrong one at the end.
        let wrong = junk::random_value(rng, content);
        let think = junk::random_prose(rng, 200);
        let final_text = in_reference(rng, reference, &wrong);
        let body = final_text
            .rsplit_once("</think>")
            .map(|(_, tail)| tail.to_owned())
            .unwrap_or(final_text);
        out.push(Junk {
            strategy: Mutation::ReasoningMentionsAnswer.strategy(),
            class: JunkClass::NearMiss,
            text: format!("<think>\nThe answer might be {content}. {think}\n</think>\n{body}"),
        });
    }
    // Over-broad answers from the prompt alone.
    let mut broad: Vec<(Mutation, Vec<String>)> = Vec::new();
    let reference_items = content
        .as_deref()
        .map(|c| normalized_set(&Elements::parse(c).items));
    let sep = content
        .as_deref()
        .map(|c| Elements::parse(c).sep)
        .unwrap_or_else(|| ", ".to_owned());
    if candidates.len() >= 2 {
        broad.push((Mutation::AllNumbers, vec![candidates.join(&sep)]));
    }
    let mut variants: Vec<String> = Vec::new();
    if !opts.is_empty() {
        let letters: Vec<String> = opts.iter().map(|(l, _)| l.to_string()).collect();
        variants.push(letters.join(", "));
        variants.push(letters.concat());
        let texts: Vec<String> = opts.iter().map(|(_, t)| t.clone()).collect();
        variants.push(texts.join(", "));
    }
    for (a, b) in PAIRS {
        if has_word(&lower, a) && has_word(&lower, b) {
            variants.push(format!("{a}, {b}"));
        }
    }
    if !variants.is_empty() {
        broad.push((Mutation::AllOptions, variants));
    }
    let tags = junk::answer_tags(input.prompt);
    for (m, variants) in broad {
        for v in variants {
            let v: String = v.chars().take(4000).collect();
            if reference_items.as_ref().is_some_and(|r| {
                normalized_set(&Elements::parse(&v).items) == *r
                    || v.trim()
                        .eq_ignore_ascii_case(content.as_deref().unwrap_or("").trim())
            }) {
                continue;
            }
            match reference {
                Some(reference) if content.is_some() => out.push(Junk {
                    strategy: m.strategy(),
                    class: JunkClass::Overbroad,
                    text: in_reference(rng, reference, &v),
                }),
                _ => {
                    for (open, close) in &tags {
                        out.push(Junk {
                            strategy: m.strategy(),
                            class: JunkClass::Overbroad,
                            text: junk::dress(rng, &format!("{open}{v}{close}")),
                        });
                    }
                }
            }
        }
    }
    out
}

fn class_of(m: Mutation) -> JunkClass {
    if m.is_overbroad() {
        JunkClass::Overbroad
    } else {
        JunkClass::NearMiss
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finals(junk: &[Junk], m: Mutation) -> Vec<String> {
        junk.iter()
            .filter(|j| j.strategy == m.strategy())
            .map(|j| junk::final_answer(&j.text).unwrap_or("").to_owned())
            .collect()
    }

    #[test]
    fn a_total_gets_number_mutants_inside_its_tags() {
        let input = MutantInput {
            prompt: "What is 12 + 30? Answer as [answer]N[/answer].",
            reference: Some("[answer]42[/answer]"),
        };
        let junk = case_mutants(&input, &mut JunkRng::new(5));
        assert_eq!(finals(&junk, Mutation::OffByOne), ["43", "41"]);
        assert_eq!(finals(&junk, Mutation::Scaled), ["84"]);
        let digit = &finals(&junk, Mutation::DigitAdded)[0];
        assert!(digit.ends_with("42") && digit.len() == 3, "{digit}");
        assert_eq!(finals(&junk, Mutation::Truncated), ["4"]);
        assert_eq!(
            finals(&junk, Mutation::ReferencePlusCandidates),
            ["42, 12, 30"]
        );
        assert_eq!(finals(&junk, Mutation::AllNumbers), ["12, 30"]);
        let wrapped = &finals(&junk, Mutation::WrappedInText)[0];
        assert!(
            wrapped.starts_with("42?") && wrapped.ends_with("43"),
            "{wrapped}"
        );
        let reasoning = junk
            .iter()
            .find(|j| j.strategy == Mutation::ReasoningMentionsAnswer.strategy())
            .unwrap();
        assert!(
            reasoning
                .text
                .starts_with("<think>\nThe answer might be 42.")
        );
        assert_ne!(junk::final_answer(&reasoning.text), Some("42"));
        // Deterministic from the seed.
        assert_eq!(junk, case_mutants(&input, &mut JunkRng::new(5)));
        for j in &junk {
            assert!(j.text.contains("</think>"), "dressed: {}", j.text);
        }
    }

    #[test]
    fn a_list_gets_element_mutants_and_a_bit_string_no_number_moves() {
        let input = MutantInput {
            prompt: "Sort 5, 3, 9, 7 ascending. Reply [[a, b, c, d]].",
            reference: Some("[[3, 5, 7, 9]]"),
        };
        let junk = case_mutants(&input, &mut JunkRng::new(1));
        assert_eq!(finals(&junk, Mutation::Reversed), ["9, 7, 5, 3"]);
        assert_eq!(finals(&junk, Mutation::Truncated), ["3, 5"]);
        assert_eq!(
            finals(&junk, Mutation::ElementDropped)[0]
                .split(", ")
                .count(),
            3
        );
        assert_eq!(
            finals(&junk, Mutation::ElementDuplicated)[0]
                .split(", ")
                .count(),
            5
        );
        assert_eq!(finals(&junk, Mutation::Swapped).len(), 1);
        // All numbers of the prompt are the answer's numbers: left out.
        assert!(finals(&junk, Mutation::AllNumbers).is_empty());
        let bits = MutantInput {
            prompt: "Give a satisfying assignment as [answer]b1 b2 b3[/answer].",
            reference: Some("[answer]1 0 1[/answer]"),
        };
        let junk = case_mutants(&bits, &mut JunkRng::new(1));
        assert!(finals(&junk, Mutation::OffByOne).is_empty());
        assert!(finals(&junk, Mutation::PairShifted).is_empty());
        // A pair keeps its order; a decimal is not cut short.
        let pair = MutantInput {
            prompt: "Two numbers of 12, 30, 7 adding to 42, as [answer]x, y[/answer].",
            reference: Some("[answer]12, 30[/answer]"),
        };
        let junk = case_mutants(&pair, &mut JunkRng::new(1));
        assert!(finals(&junk, Mutation::Swapped).is_empty());
        let shifted = finals(&junk, Mutation::PairShifted);
        assert!(
            shifted == ["13, 29"] || shifted == ["11, 31"],
            "{shifted:?}"
        );
        let area = MutantInput {
            prompt: "Area within 1%, as [answer]x[/answer].",
            reference: Some("[answer]314.1593[/answer]"),
        };
        let junk = case_mutants(&area, &mut JunkRng::new(1));
        assert!(finals(&junk, Mutation::Truncated).is_empty());
        assert_eq!(finals(&junk, Mutation::FloatOff), ["323.5841"]);
    }

    #[test]
    fn options_and_yes_no_pairs_are_offered_all_at_once() {
        let prompt = "Which is the sum?\nA) 10\nB) 11\nC) 12\nD) 13\nAnswer [answer]X[/answer].";
        assert_eq!(options(prompt).len(), 4);
        let input = MutantInput {
            prompt,
            reference: Some("[answer]C[/answer]"),
        };
        let junk = case_mutants(&input, &mut JunkRng::new(2));
        assert_eq!(
            finals(&junk, Mutation::AllOptions),
            ["A, B, C, D", "ABCD", "10, 11, 12, 13"]
        );
        assert_eq!(
            finals(&junk, Mutation::ReferencePlusCandidates),
            ["C, A, B, D"]
        );
        assert_eq!(finals(&junk, Mutation::CaseChanged), ["c"]);
        let yes_no = MutantInput {
            prompt: "Is 7 prime? Say yes or no in [[...]].",
            reference: None,
        };
        let junk = case_mutants(&yes_no, &mut JunkRng::new(2));
        assert_eq!(finals(&junk, Mutation::AllOptions), ["yes, no"]);
        assert!(junk.iter().all(|j| j.class == JunkClass::Overbroad));
    }

    #[test]
    fn floats_move_beyond_the_stated_tolerance() {
        let mut out = Vec::new();
        number_mutants(
            &mut JunkRng::new(1),
            "2.75",
            Tolerance {
                relative: 0.05,
                absolute: 0.0,
            },
            &mut out,
        );
        let (_, moved) = out.iter().find(|(m, _)| *m == Mutation::FloatOff).unwrap();
        let v: f64 = moved.parse().unwrap();
        assert!((v - 2.75) > 3.0 * 0.05 * 2.75 - 1e-9, "{moved}");
    }

    #[test]
    fn strategy_names_round_trip() {
        for m in Mutation::ALL {
            assert_eq!(Mutation::from_strategy(&m.strategy()), Some(m));
        }
        assert_eq!(Mutation::from_strategy("guess:yes"), None);
    }
}
