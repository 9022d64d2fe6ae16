//! What a refinement changed: a line diff of a draft's code against its
//! parent's, capped so that a huge rewrite cannot blow up the page.

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

/// One line of a diff: `+` added, `-` removed, ` ` context, `…` skipped.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiffLine {
    pub tag: &'static str,
    pub text: String,
}

/// The changed lines between `old` and `new` with `context` lines around
/// each change, at most `max_lines` lines (then one `…` line says how
/// many were left out).
pub fn line_diff(old: &str, new: &str, context: usize, max_lines: usize) -> Vec<DiffLine> {
    let diff = TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    let mut left_out = 0usize;
    for (i, group) in diff.grouped_ops(context).iter().enumerate() {
        if i > 0 {
            out.push(DiffLine {
                tag: "…",
                text: String::new(),
            });
        }
        for op in group {
            for change in diff.iter_changes(op) {
                if out.len() >= max_lines {
                    left_out += 1;
                    continue;
                }
                let tag = match change.tag() {
                    ChangeTag::Delete => "-",
                    ChangeTag::Insert => "+",
                    ChangeTag::Equal => " ",
                };
                out.push(DiffLine {
                    tag,
                    text: change.value().trim_end_matches(['\n', '\r']).to_owned(),
                });
            }
        }
    }
    if left_out > 0 {
        out.push(DiffLine {
            tag: "…",
            text: format!("{left_out} more changed or context lines not shown"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_what_changed_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\n";
        let new = "a\nb\nc\nD\ne\nf\ng\n";
        let d = line_diff(old, new, 1, 100);
        let tags: Vec<_> = d.iter().map(|l| (l.tag, l.text.as_str())).collect();
        assert_eq!(tags, [(" ", "c"), ("-", "d"), ("+", "D"), (" ", "e")]);
        assert!(line_diff(old, old, 3, 100).is_empty());
    }

    #[test]
    fn a_huge_rewrite_is_capped() {
        let old: String = (0..1000).map(|i| format!("x{i}\n")).collect();
        let new: String = (0..1000).map(|i| format!("y{i}\n")).collect();
        let d = line_diff(&old, &new, 3, 50);
        assert_eq!(d.len(), 51);
        assert!(d[50].text.starts_with("1950 more"), "{:?}", d[50]);
    }
}
