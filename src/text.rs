//! Text from guests and models made visible before a person reads it: on a
//! terminal (the CLI's output and errors) and on the review page (every
//! value a template prints). One function, so the two never disagree about
//! what is hidden. And text clipped to a size, never inside a character:
//! one cut, so reports, prompts and screens agree on where text ends.

use std::fmt::Display;

/// How far [`cut`] lets text run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// At most this many characters: what a reader sees.
    Chars(usize),
    /// At most this many bytes, cut back to a character boundary: what a
    /// stored report or an error message may cost.
    Bytes(usize),
}

/// The marker [`clip`] appends where it cut text short.
pub const MORE: &str = " …";

/// `text` split where `limit` ends it: the part kept and the part cut off
/// (empty when everything fits). Never splits a character.
pub fn cut(text: &str, limit: Limit) -> (&str, &str) {
    let end = match limit {
        Limit::Chars(max) => text.char_indices().nth(max).map_or(text.len(), |(i, _)| i),
        Limit::Bytes(max) if max >= text.len() => text.len(),
        Limit::Bytes(max) => {
            let mut end = max;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            end
        }
    };
    text.split_at(end)
}

/// At most `max` characters of `text`, ending with [`MORE`] when something
/// was cut.
pub fn clip(text: &str, max: usize) -> String {
    clip_marked(text, Limit::Chars(max), |_| MORE)
}

/// `text` cut at `limit`, with `marker(rest)` appended when a `rest` was cut
/// off. For the places whose marker says more than [`MORE`] (how much was
/// cut, how to see it all) or that a stored prompt or a test already spells
/// its own way.
pub fn clip_marked<M: Display>(text: &str, limit: Limit, marker: impl FnOnce(&str) -> M) -> String {
    match cut(text, limit) {
        (kept, "") => kept.to_owned(),
        (kept, rest) => format!("{kept}{}", marker(rest)),
    }
}

/// Whether `c` is written as an escape by [`visible`]: control characters
/// other than newline and tab (C0, DEL, C1), the bidirectional marks,
/// overrides and isolates, the line and paragraph separators (which also end
/// a bidi paragraph), and invisible characters that can smuggle text past a
/// reader (soft hyphen, zero-width space, word joiner, invisible operators,
/// deprecated format controls, byte-order mark, interlinear annotation
/// marks, Unicode tag characters). Zero-width joiners stay: emoji need them.
pub fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

/// Text from a guest or a model made safe for a terminal or a page: every
/// [`hidden`] character is written as `\uXXXX` (a surrogate pair beyond the
/// BMP). An escape sequence in an exception message could otherwise rewrite
/// the screen (move the cursor up,
/// erase the line, print "PASS" over a failure), hide text, or write the
/// clipboard (OSC 52); bidi controls reorder what is shown. The same
/// spelling is a valid escape inside a JSON string, so `--json` lines pass
/// through unchanged in meaning (serde already escapes C0 there).
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if hidden(c) && (c as u32) < 0x10000 {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else if hidden(c) {
            // A JSON string spells a character beyond the BMP as a
            // surrogate pair, which stays valid JSON and reads as an escape.
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{:04x}", unit));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{Limit, clip, clip_marked, cut, visible};

    #[test]
    fn clips_never_split_a_character() {
        assert_eq!(clip("héllo", 5), "héllo");
        assert_eq!(clip("héllo wörld", 5), "héllo …");
        assert_eq!(clip("", 0), "");
        assert_eq!(clip("ab", 0), " …");
        assert_eq!(cut("héllo", Limit::Bytes(2)), ("h", "éllo"));
        assert_eq!(cut("héllo", Limit::Bytes(3)), ("hé", "llo"));
        assert_eq!(cut("héllo", Limit::Bytes(99)), ("héllo", ""));
        assert_eq!(cut("中文", Limit::Chars(1)), ("中", "文"));
        assert_eq!(
            clip_marked("中文字", Limit::Chars(1), |rest| format!(
                " [{} more]",
                rest.chars().count()
            )),
            "中 [2 more]"
        );
        assert_eq!(clip_marked("abc", Limit::Bytes(3), |_| "!"), "abc");
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_made_visible() {
        assert_eq!(visible("plain\ttext\nnext"), "plain\ttext\nnext");
        assert_eq!(
            visible("\r\x1b[2K\x1b[1APASS\x1b[8m"),
            "\\u000d\\u001b[2K\\u001b[1APASS\\u001b[8m"
        );
        assert_eq!(visible("\x1b]52;c;aGk=\x07"), "\\u001b]52;c;aGk=\\u0007");
        assert_eq!(
            visible("a\u{202e}b\u{9b}c\u{7f}"),
            "a\\u202eb\\u009bc\\u007f"
        );
        assert_eq!(visible("中文 é ✓ 👩‍💻"), "中文 é ✓ 👩‍💻");
        assert_eq!(
            visible("a\u{61c}\u{200b}\u{feff}b"),
            "a\\u061c\\u200b\\ufeffb"
        );
        assert_eq!(visible("x\u{e0041}"), "x\\udb40\\udc41");
        assert_eq!(
            visible("a\u{2029}b\u{ad}c\u{2062}d\u{200d}e"),
            "a\\u2029b\\u00adc\\u2062d\u{200d}e"
        );
    }

    #[test]
    fn made_visible_json_is_still_the_same_json() {
        let value = serde_json::json!({"t": "x\u{202e}y\u{9b}z\u{7f}\u{e0041}"});
        let line = serde_json::to_string(&value).unwrap();
        let shown = visible(&line);
        assert!(!shown.contains('\u{202e}'));
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, value);
    }
}
