//! Reading answers and prompts for [`super`]: the numbers of a text, an
//! answer's elements, whether the prompt says the order is free, the
//! tolerance it states, the options it offers. Pure, no I/O.

/// A number inside a text: its byte range and whether it has decimals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Num {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) decimals: usize,
}

/// The numbers of a text (`-` counts as a sign only where no word or number
/// precedes it; `1e-6` style exponents are left out).
pub(super) fn numbers(text: &str) -> Vec<Num> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let before = if i > 0 { b[i - 1] } else { b' ' };
            if before.is_ascii_alphabetic() || before == b'_' {
                // Part of a name such as x1: skip the digits.
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                continue;
            }
            let mut start = i;
            if i > 0
                && b[i - 1] == b'-'
                && (i < 2 || !(b[i - 2].is_ascii_alphanumeric() || b[i - 2] == b'.'))
            {
                start = i - 1;
            }
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let mut decimals = 0;
            if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                    decimals += 1;
                }
            }
            let exponent = i < b.len() && (b[i] == b'e' || b[i] == b'E');
            if !exponent && i - start <= 30 {
                out.push(Num {
                    start,
                    end: i,
                    decimals,
                });
            }
            if exponent && i + 1 < b.len() && matches!(b[i + 1], b'-' | b'+') {
                i += 2;
            }
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

pub(super) fn replace(text: &str, n: &Num, with: &str) -> String {
    format!("{}{with}{}", &text[..n.start], &text[n.end..])
}

/// An answer split into elements: brackets kept, separator remembered.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Elements {
    pub(super) open: String,
    pub(super) close: String,
    pub(super) items: Vec<String>,
    pub(super) sep: String,
}

impl Elements {
    pub(super) fn parse(content: &str) -> Elements {
        let trimmed = content.trim();
        let (open, inner, close) = match (trimmed.chars().next(), trimmed.chars().last()) {
            (Some(o @ ('[' | '(' | '{')), Some(c @ (']' | ')' | '}'))) if trimmed.len() >= 2 => {
                (o.to_string(), &trimmed[1..trimmed.len() - 1], c.to_string())
            }
            _ => (String::new(), trimmed, String::new()),
        };
        let (items, sep): (Vec<String>, &str) = if inner.contains(',') {
            (
                inner.split(',').map(|s| s.trim().to_owned()).collect(),
                if inner.contains(", ") { ", " } else { "," },
            )
        } else if inner.split_whitespace().nth(1).is_some() {
            (inner.split_whitespace().map(str::to_owned).collect(), " ")
        } else {
            (vec![inner.to_owned()], ", ")
        };
        Elements {
            open,
            close,
            items,
            sep: sep.to_owned(),
        }
    }

    pub(super) fn with(&self, items: &[String]) -> String {
        format!("{}{}{}", self.open, items.join(&self.sep), self.close)
    }
}

/// Whether the prompt says the answer's order does not matter.
pub fn order_free(prompt: &str) -> bool {
    let lower = prompt.to_lowercase();
    [
        "any order",
        "order does not matter",
        "order doesn't matter",
        "order is not important",
        "order is irrelevant",
        "no particular order",
        "unordered",
        "order of the elements does not matter",
        "顺序不限",
        "任意顺序",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// A tolerance the prompt states for numeric answers: relative (from a
/// percentage or "relative") and absolute, the widest of each found.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tolerance {
    pub relative: f64,
    pub absolute: f64,
}

/// Read "within 1%", "relative error at most 1e-6", "absolute error 0.01",
/// "± 0.5" style statements (the number in the 40 bytes after the word).
pub fn stated_tolerance(prompt: &str) -> Tolerance {
    let lower = prompt.to_lowercase();
    let mut t = Tolerance::default();
    for key in ["within", "tolerance", "error", "±", "+/-", "accurate to"] {
        for (at, _) in lower.match_indices(key) {
            let from = at + key.len();
            let mut to = (from + 40).min(lower.len());
            while !lower.is_char_boundary(to) {
                to -= 1;
            }
            let window = &lower[from..to];
            let Some(value) = first_float(window) else {
                continue;
            };
            let (v, rest) = value;
            let relative = rest.trim_start().starts_with('%');
            let v = if relative { v / 100.0 } else { v };
            if !v.is_finite() || v <= 0.0 {
                continue;
            }
            if relative || window.contains("relative") || lower[..from].ends_with("relative error")
            {
                t.relative = t.relative.max(v);
            } else {
                t.absolute = t.absolute.max(v);
            }
        }
    }
    t
}

/// The first number of `text` (exponents allowed) and what follows it.
fn first_float(text: &str) -> Option<(f64, &str)> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let b = text.as_bytes();
    let mut i = start;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'-' || b[j] == b'+') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    let mut v: f64 = text[start..i].trim_end_matches('.').parse().ok()?;
    let rest = &text[i..];
    // "10^-6"
    if let Some(exp) = rest.strip_prefix("^-")
        && let Some(e) = exp
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|e| e.parse::<i32>().ok())
    {
        v = v.powi(-e);
    }
    Some((v, rest))
}

/// Option letters the prompt lists (`A) ...`, `A. ...`, `(A) ...`, `A: ...`
/// at line starts, consecutive from A), with their texts.
pub fn options(prompt: &str) -> Vec<(char, String)> {
    let mut found: Vec<(char, String)> = Vec::new();
    for line in prompt.lines() {
        let l = line.trim_start();
        let l = l.strip_prefix('(').unwrap_or(l);
        let mut chars = l.chars();
        let (Some(letter), Some(mark)) = (chars.next(), chars.next()) else {
            continue;
        };
        if !letter.is_ascii_uppercase() || !matches!(mark, ')' | '.' | ':' | '：') {
            continue;
        }
        let text = chars.as_str().trim().to_owned();
        if text.is_empty() {
            continue;
        }
        let expected = (b'A' + found.len() as u8) as char;
        if letter == expected {
            found.push((letter, text));
        } else if letter == 'A' {
            found = vec![(letter, text)];
        }
    }
    if found.len() >= 2 { found } else { Vec::new() }
}

/// Word pairs a prompt may offer as the only two answers.
pub(super) const PAIRS: [(&str, &str); 3] = [("yes", "no"), ("true", "false"), ("是", "否")];

pub(super) fn has_word(lower: &str, word: &str) -> bool {
    lower.match_indices(word).any(|(i, _)| {
        let before = lower[..i].chars().next_back();
        let after = lower[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The distinct numbers of the prompt, in order, at most `cap`.
pub(super) fn prompt_numbers(prompt: &str, cap: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in numbers(prompt) {
        let s = prompt[n.start..n.end].to_owned();
        if !out.contains(&s) {
            out.push(s);
            if out.len() >= cap {
                break;
            }
        }
    }
    out
}

pub(super) fn normalized_set(items: &[String]) -> Vec<String> {
    let mut v: Vec<String> = items
        .iter()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Format a decimal with `decimals` places.
pub(super) fn fmt_decimal(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}")
}

pub(super) fn swap_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_uppercase() {
                c.to_lowercase().collect::<String>()
            } else {
                c.to_uppercase().collect::<String>()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_found_with_signs_and_decimals_but_not_in_names() {
        let text = "x1=3, -4 and 2.50 then 1e-6 or 3-5";
        let found: Vec<&str> = numbers(text)
            .iter()
            .map(|n| &text[n.start..n.end])
            .collect();
        assert_eq!(found, ["3", "-4", "2.50", "3", "5"]);
    }

    #[test]
    fn tolerances_order_and_options_are_read_from_the_prompt() {
        assert_eq!(
            stated_tolerance("Answer within 1% of the true value."),
            Tolerance {
                relative: 0.01,
                absolute: 0.0
            }
        );
        assert_eq!(stated_tolerance("absolute error at most 0.5").absolute, 0.5);
        assert_eq!(stated_tolerance("relative error 1e-6").relative, 1e-6);
        assert_eq!(stated_tolerance("no tolerance named"), Tolerance::default());
        assert!(order_free("List them in any order."));
        assert!(!order_free("List them in ascending order."));
        assert_eq!(options("Pick:\nA) 1\nB) 2\nC) 3").len(), 3);
        assert!(options("A) only one").is_empty());
        let e = Elements::parse("[3, 5, 7]");
        assert_eq!(
            (e.open.as_str(), e.items.len(), e.sep.as_str()),
            ("[", 3, ", ")
        );
    }
}
