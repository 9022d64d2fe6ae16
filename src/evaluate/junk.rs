//! The junk answers a check tries against every case: pure construction, no
//! I/O. Two classes, judged differently:
//!
//! - *content-free* junk carries no information about the case (empty output,
//!   random text, empty answer tags, each dressed as a reasoning model's
//!   output and plain, another case's answer, the reference answer with its
//!   final answer replaced by a random value). Any full credit is a verifier
//!   bug.
//! - *guessing* strategies use only what a model sees without solving: the
//!   prompt echoed, or the prompt's answer format filled with a constant
//!   (yes/no, true/false, option letters, 0, 1, the most common reference
//!   answer). Their best rate is the bootcamp's guess baseline.
//!
//! Junk is built fresh for every check from a random seed: a
//! verifier that rejects exactly the shapes of a fixed filler or a fixed word
//! list must not pass. The seed is recorded in the report, so one check can be
//! replayed with `CheckConfig::junk_seed`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which rule a junk strategy falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JunkClass {
    /// Carries nothing about the case: full credit is a verifier bug.
    ContentFree,
    /// What a model could do without solving: sets the guess baseline.
    Guess,
    /// A right answer changed a little ([`super::nearmiss`]): credit on
    /// most cases is a verifier that pays for almost right.
    NearMiss,
    /// Every candidate the prompt names at once ([`super::nearmiss`]).
    Overbroad,
}

/// One junk answer to try against a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Junk {
    /// The strategy's stable name (`empty`, `random_text`, `prompt_echo`,
    /// `guess:yes`, ...); a case's score under a strategy is the best of its
    /// answers (one per answer-tag style).
    pub strategy: String,
    pub class: JunkClass,
    pub text: String,
}

/// Case-independent constants a guesser fills the answer format with.
pub const GUESS_CONSTANTS: [&str; 10] =
    ["yes", "no", "true", "false", "A", "B", "C", "D", "0", "1"];

/// A small xorshift generator: junk needs variety, not cryptography, and a
/// recorded seed must replay exactly, also with reports stored by earlier
/// versions (a generator from rand would build other junk from their seeds).
#[derive(Debug, Clone)]
pub struct JunkRng(u64);

impl JunkRng {
    pub fn new(seed: u64) -> Self {
        JunkRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A fresh seed for one check, from rand's OS-seeded generator.
pub fn fresh_seed() -> u64 {
    rand::random()
}

const VOCAB: [&str; 64] = [
    "consider",
    "the",
    "constraint",
    "first",
    "then",
    "check",
    "each",
    "value",
    "against",
    "rule",
    "so",
    "we",
    "need",
    "to",
    "verify",
    "whether",
    "this",
    "holds",
    "for",
    "every",
    "element",
    "now",
    "let",
    "me",
    "recompute",
    "carefully",
    "because",
    "earlier",
    "step",
    "might",
    "be",
    "wrong",
    "list",
    "sum",
    "count",
    "pair",
    "order",
    "left",
    "right",
    "total",
    "candidate",
    "answer",
    "seems",
    "plausible",
    "given",
    "input",
    "case",
    "which",
    "means",
    "result",
    "should",
    "match",
    "expected",
    "format",
    "after",
    "trying",
    "several",
    "options",
    "one",
    "remains",
    "final",
    "maybe",
    "actually",
    "hmm",
];

const WORDS: [&str; 24] = [
    "banana",
    "seventeen",
    "orbit",
    "maple",
    "quartz",
    "lantern",
    "violet",
    "delta",
    "pebble",
    "river",
    "copper",
    "meadow",
    "tundra",
    "falcon",
    "ember",
    "harbor",
    "cobalt",
    "willow",
    "saffron",
    "granite",
    "nimbus",
    "juniper",
    "canyon",
    "velvet",
];

fn sentence(rng: &mut JunkRng, words: usize) -> String {
    let mut out = String::new();
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(rng.pick(&VOCAB));
    }
    if let Some(first) = out.get(..1) {
        let upper = first.to_uppercase();
        out.replace_range(..1, &upper);
    }
    out.push('.');
    out
}

/// Random reasoning-like text of at least `min_chars` characters.
pub fn random_prose(rng: &mut JunkRng, min_chars: usize) -> String {
    let mut out = String::new();
    while out.len() < min_chars {
        if !out.is_empty() {
            out.push(if rng.below(4) == 0 { '\n' } else { ' ' });
        }
        let n = 5 + rng.below(12);
        out.push_str(&sentence(rng, n));
    }
    out
}

/// Dress an answer as a reasoning model's output, with fresh random text: a
/// think block and a final part long enough for InternBootcamp's length
/// penalties (so that acceptance is tested, not the penalties).
pub fn dress(rng: &mut JunkRng, answer: &str) -> String {
    let think_len = 200 + rng.below(300);
    let think = random_prose(rng, think_len);
    let preamble_len = 130 + rng.below(120);
    let preamble = random_prose(rng, preamble_len);
    format!("<think>\n{think}\n</think>\n\n{preamble}\n\n{answer}")
}

/// A random value shaped like `like`: digits for a number, words otherwise.
pub fn random_value(rng: &mut JunkRng, like: &str) -> String {
    let like = like.trim();
    let numeric = !like.is_empty()
        && like
            .trim_start_matches('-')
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.');
    if numeric {
        // Nine to twelve digits: a coincidental match is negligible.
        let digits = 9 + rng.below(4) as u32;
        let low = 10u64.pow(digits - 1);
        (low + rng.next_u64() % (9 * low)).to_string()
    } else {
        let n = 1 + rng.below(3);
        (0..n)
            .map(|_| rng.pick(&WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Answer tag styles a prompt asks for (all known styles when none is named).
/// Double brackets (`[[...]]`) are the format of InternBootcamp's template
/// and of over 300 of its bootcamps.
pub fn answer_tags(prompt: &str) -> Vec<(&'static str, &'static str)> {
    const STYLES: [(&str, &str); 4] = [
        ("[answer]", "[/answer]"),
        ("<answer>", "</answer>"),
        ("\\boxed{", "}"),
        ("[[", "]]"),
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

/// Where the final answer of a model output sits: the byte range of the
/// content of its last answer tag (`[answer]`, `<answer>`, `\boxed{}`, and
/// only when none of those is there, `[[...]]`, which also appears in
/// ordinary text such as nested lists), after any reasoning block.
pub fn final_answer_span(text: &str) -> Option<(usize, usize)> {
    tagged_answer_span(text).or_else(|| {
        let start = text.rfind("[[")? + 2;
        let len = text[start..].find("]]")?;
        Some((start, start + len))
    })
}

fn tagged_answer_span(text: &str) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for (open, close) in [("[answer]", "[/answer]"), ("<answer>", "</answer>")] {
        if let Some(start) = text.rfind(open) {
            let content = start + open.len();
            if let Some(len) = text[content..].find(close)
                && best.is_none_or(|(s, _)| content > s)
            {
                best = Some((content, content + len));
            }
        }
    }
    if let Some(start) = text.rfind("\\boxed{") {
        let content = start + "\\boxed{".len();
        let mut depth = 1usize;
        for (i, c) in text[content..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        if best.is_none_or(|(s, _)| content > s) {
                            best = Some((content, content + i));
                        }
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    best
}

/// The final answer of a model output, if it uses a known answer tag.
pub fn final_answer(text: &str) -> Option<&str> {
    final_answer_span(text).map(|(a, b)| &text[a..b])
}

/// `text` with its final answer replaced by `value`.
pub fn replace_final_answer(text: &str, value: &str) -> Option<String> {
    let (a, b) = final_answer_span(text)?;
    Some(format!("{}{value}{}", &text[..a], &text[b..]))
}

/// The constants to guess with: [`GUESS_CONSTANTS`] plus the most common
/// final answer among the reference answers (when some are repeated: a mode
/// seen once is just one case's answer, which `other_case_answer` covers).
pub fn guess_constants(reference_finals: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = GUESS_CONSTANTS.iter().map(|s| s.to_string()).collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in reference_finals {
        let f = f.trim();
        if !f.is_empty() && f.len() <= 200 {
            *counts.entry(f).or_default() += 1;
        }
    }
    if let Some((mode, n)) = counts.iter().max_by_key(|(_, n)| **n)
        && *n >= 2
        && !out.iter().any(|c| c == mode)
    {
        out.push((*mode).to_owned());
    }
    out
}

/// The answer in the prompts' own format example (`... e.g.
/// [answer]black[/answer]`) when most prompts show the same one: a constant a
/// model can copy, so its credit is a guess. An example that changes with
/// the case is left out: that is how a prompt leaks its own answer, which
/// `answer_in_prompt` must still see.
pub fn format_example_constant(prompts: &[&str]) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for p in prompts {
        if let Some(example) = final_answer(p).map(str::trim)
            && !example.is_empty()
            && example.len() <= 200
        {
            *counts.entry(example).or_default() += 1;
        }
    }
    let (example, n) = counts.into_iter().max_by_key(|(_, n)| *n)?;
    (n >= 2 && n * 2 >= prompts.len()).then(|| example.to_owned())
}

/// What the junk for one case is built from.
pub struct CaseJunkInput<'a> {
    pub prompt: &'a str,
    /// This case's reference answer, when the bootcamp has one.
    pub reference: Option<&'a str>,
    /// Another case's reference answer, when it differs from this one's.
    pub other_reference: Option<&'a str>,
    /// From [`guess_constants`].
    pub constants: &'a [String],
}

/// Every junk strategy for one case, built fresh from `rng`.
pub fn case_junk(input: &CaseJunkInput<'_>, rng: &mut JunkRng) -> Vec<Junk> {
    use JunkClass::{ContentFree, Guess};
    let mut junk = Vec::new();
    let mut push = |strategy: &str, class: JunkClass, text: String| {
        junk.push(Junk {
            strategy: strategy.to_owned(),
            class,
            text,
        })
    };
    let tags = answer_tags(input.prompt);
    push("empty", ContentFree, dress(rng, ""));
    push("empty", ContentFree, String::new());
    for (open, close) in &tags {
        push(
            "empty_answer_tags",
            ContentFree,
            dress(rng, &format!("{open}{close}")),
        );
        push("empty_answer_tags", ContentFree, format!("{open}{close}"));
        let random = random_value(rng, "words");
        push(
            "random_text",
            ContentFree,
            dress(rng, &format!("{open}{random}{close}")),
        );
        let random = random_value(rng, "words");
        push("random_text", ContentFree, format!("{open}{random}{close}"));
    }
    let prose = random_prose(rng, 40);
    push("random_text", ContentFree, dress(rng, &prose));
    push("random_text", ContentFree, random_prose(rng, 40));
    if let Some(other) = input.other_reference {
        let text = if other.contains("</think>") {
            other.to_owned()
        } else {
            dress(rng, other)
        };
        push("other_case_answer", ContentFree, text);
    }
    if let Some(reference) = input.reference
        && let Some(original) = final_answer(reference)
    {
        let value = random_value(rng, original);
        if let Some(altered) = replace_final_answer(reference, &value) {
            let text = if altered.contains("</think>") {
                altered
            } else {
                dress(rng, &altered)
            };
            push("reference_altered", ContentFree, text);
        }
    }
    let echo: String = input.prompt.chars().take(4000).collect();
    push("prompt_echo", Guess, dress(rng, &echo));
    for constant in input.constants {
        let name = format!("guess:{}", constant.chars().take(40).collect::<String>());
        for (open, close) in &tags {
            push(
                &name,
                Guess,
                dress(rng, &format!("{open}{constant}{close}")),
            );
        }
    }
    junk
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        prompt: &'a str,
        reference: Option<&'a str>,
        constants: &'a [String],
    ) -> CaseJunkInput<'a> {
        CaseJunkInput {
            prompt,
            reference,
            other_reference: Some("[answer]12[/answer]"),
            constants,
        }
    }

    #[test]
    fn junk_is_fresh_per_seed_and_replays_per_seed() {
        let constants = guess_constants(&[]);
        let i = input(
            "Reply as [answer]N[/answer].",
            Some("[answer]7[/answer]"),
            &constants,
        );
        let a = case_junk(&i, &mut JunkRng::new(1));
        let b = case_junk(&i, &mut JunkRng::new(2));
        assert_eq!(a, case_junk(&i, &mut JunkRng::new(1)));
        let texts = |j: &[Junk]| j.iter().map(|x| x.text.clone()).collect::<Vec<_>>();
        let shared = texts(&a).iter().filter(|t| texts(&b).contains(t)).count();
        // Only the undressed fixed shapes (empty output, empty tags, the other
        // case's answer dressed differently aside) may coincide.
        assert!(shared <= 3, "{shared} identical junk texts across seeds");
        assert!(
            !a.iter().any(|j| j.text.contains("<answer>")),
            "only the prompt's tag style"
        );
        for j in a.iter().filter(|j| j.text.starts_with("<think>")) {
            let tail = j.text.rsplit("</think>").next().unwrap();
            assert!(tail.len() >= 128, "{}: {}", j.strategy, tail.len());
        }
    }

    #[test]
    fn strategies_are_classed_and_guesses_fill_the_format() {
        let constants = guess_constants(&["42", "42", "7"]);
        assert!(constants.contains(&"42".to_owned()));
        assert!(!guess_constants(&["42", "7"]).contains(&"42".to_owned()));
        let i = input(
            "Say [answer]yes[/answer] or no.",
            Some("<think>easy</think>[answer]yes[/answer]"),
            &constants,
        );
        let junk = case_junk(&i, &mut JunkRng::new(9));
        let class_of = |s: &str| junk.iter().find(|j| j.strategy == s).map(|j| j.class);
        assert_eq!(class_of("empty"), Some(JunkClass::ContentFree));
        assert_eq!(class_of("prompt_echo"), Some(JunkClass::Guess));
        assert_eq!(class_of("guess:yes"), Some(JunkClass::Guess));
        assert_eq!(class_of("other_case_answer"), Some(JunkClass::ContentFree));
        let altered = junk
            .iter()
            .find(|j| j.strategy == "reference_altered")
            .unwrap();
        assert!(
            altered.text.starts_with("<think>easy</think>[answer]"),
            "{}",
            altered.text
        );
        assert_ne!(final_answer(&altered.text), Some("yes"));
        let yes = junk.iter().find(|j| j.strategy == "guess:yes").unwrap();
        assert_eq!(final_answer(&yes.text), Some("yes"));
    }

    #[test]
    fn a_shared_format_example_is_a_constant_and_a_per_case_one_is_not() {
        let shared = [
            "Whose move? Answer like [answer]black[/answer].",
            "Whose move here? Answer like [answer]black[/answer].",
            "And now? Answer like [answer]black[/answer].",
        ];
        assert_eq!(format_example_constant(&shared), Some("black".to_owned()));
        let leaking = [
            "Sum 2 and 3. Example: [answer]5[/answer]",
            "Sum 4 and 4. Example: [answer]8[/answer]",
            "Sum 1 and 6. Example: [answer]7[/answer]",
        ];
        assert_eq!(format_example_constant(&leaking), None);
        assert_eq!(format_example_constant(&["no example at all"]), None);
    }

    #[test]
    fn double_bracket_prompts_get_double_bracket_guesses() {
        // A new-user trial: a yes/no task asking for "[[your answer]]"
        // passed with a guess baseline of 0, since no guess used its format.
        let constants = guess_constants(&[]);
        let i = input(
            "Is the number even? Reply yes or no, in double brackets, e.g. [[your answer]].",
            None,
            &constants,
        );
        let junk = case_junk(&i, &mut JunkRng::new(3));
        assert!(
            junk.iter()
                .any(|j| j.strategy == "guess:yes" && j.text.contains("[[yes]]")),
            "{:?}",
            junk.iter().map(|j| &j.text).collect::<Vec<_>>()
        );
        assert_eq!(final_answer("so [[no]]"), Some("no"));
        // Explicit tags win over double brackets elsewhere in the text.
        assert_eq!(final_answer("[answer]5[/answer] as in [[x]]"), Some("5"));
    }

    #[test]
    fn final_answers_are_found_and_replaced() {
        assert_eq!(
            final_answer("<think>[answer]1[/answer]</think> [answer]2[/answer]"),
            Some("2")
        );
        assert_eq!(
            final_answer("so \\boxed{\\frac{1}{2}} done"),
            Some("\\frac{1}{2}")
        );
        assert_eq!(final_answer("no tags"), None);
        assert_eq!(
            replace_final_answer("x <answer>5</answer> y", "9").as_deref(),
            Some("x <answer>9</answer> y")
        );
        let mut rng = JunkRng::new(3);
        let v = random_value(&mut rng, "-17");
        assert!(v.len() >= 9 && v.chars().all(|c| c.is_ascii_digit()), "{v}");
        assert!(
            random_value(&mut rng, "B")
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == ' ')
        );
    }
}
