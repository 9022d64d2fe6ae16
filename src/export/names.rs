//! Names and the one source rewrite of an export, as pure functions: the
//! class and folder names InternBootcamp's tree gets (valid identifiers,
//! never colliding), the import line rewritten from the sandbox's
//! `bootcamp` module to `internbootcamp.bootcamp.base`, and a class rename
//! when a collision forces one.

use std::collections::HashSet;

const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// `text` as a Python identifier: other characters become `_`, a leading
/// digit gets a `b_` prefix, a keyword a trailing `_`.
pub fn identifier(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        out.push_str("bootcamp");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "b_");
    }
    if KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// The class name without InternBootcamp's `bootcamp` suffix
/// (`DigitSumbootcamp` → `DigitSum`).
pub fn base_name(class: &str) -> &str {
    match class.strip_suffix("bootcamp") {
        Some(base) if !base.is_empty() => base,
        _ => class,
    }
}

/// snake_case of a CamelCase name (`BigModProduct` → `big_mod_product`,
/// `ABCParser` → `abc_parser`), as a valid identifier.
pub fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(|p| p.is_ascii_uppercase())
                    && next.is_some_and(|n| n.is_ascii_lowercase()));
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    identifier(out.trim_matches('_'))
}

/// The names one bootcamp gets in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub class: String,
    pub folder: String,
    /// Set when the class had to be renamed (invalid or colliding).
    pub renamed_from: Option<String>,
}

/// Names for bootcamps with these class names, in order: the first keeps
/// its name, a later one whose class or folder is taken gets `2`, `3`...
/// (`DigitSum2bootcamp` in `digit_sum_2/`). Folders are compared without
/// case, as on case-insensitive file systems.
pub fn assign(classes: &[String]) -> Vec<Names> {
    let mut classes_taken: HashSet<String> = HashSet::new();
    let mut folders_taken: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(classes.len());
    for original in classes {
        let class = identifier(original);
        let base = base_name(&class).to_owned();
        let folder = snake(&base);
        let (mut class_try, mut folder_try) = (class.clone(), folder.clone());
        let mut n = 2;
        while classes_taken.contains(&class_try)
            || folders_taken.contains(&folder_try.to_lowercase())
        {
            class_try = format!("{base}{n}bootcamp");
            folder_try = format!("{folder}_{n}");
            n += 1;
        }
        classes_taken.insert(class_try.clone());
        folders_taken.insert(folder_try.to_lowercase());
        out.push(Names {
            renamed_from: (class_try != *original).then(|| original.clone()),
            class: class_try,
            folder: folder_try,
        });
    }
    out
}

/// The sandbox's import of the base class rewritten to InternBootcamp's
/// package; every other line as it was.
pub fn rewrite_imports(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + 64);
    for line in code.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let rest = trimmed
            .strip_prefix("from bootcamp.base import ")
            .or_else(|| trimmed.strip_prefix("from bootcamp import "));
        match rest {
            Some(rest) => {
                out.push_str(indent);
                out.push_str("from internbootcamp.bootcamp.base import ");
                out.push_str(rest);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Every occurrence of the identifier `old` (not part of a longer name)
/// replaced by `new`.
pub fn rename_identifier(code: &str, old: &str, new: &str) -> String {
    if old.is_empty() || old == new {
        return code.to_owned();
    }
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find(old) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + old.len()..].chars().next();
        let whole = !before.is_some_and(is_ident) && !after.is_some_and(is_ident);
        out.push_str(&rest[..at]);
        out.push_str(if whole { new } else { old });
        rest = &rest[at + old.len()..];
    }
    out.push_str(rest);
    out
}

/// Whether the identifier `name` occurs in `code` (not as part of a longer
/// name).
pub fn contains_identifier(code: &str, name: &str) -> bool {
    rename_identifier(code, name, "\u{0}") != code
}

/// The class InternBootcamp's `quickgen_data_configs.py` derives from a
/// parameter file `<config>_train.json`: underscores dropped, the first
/// letter upper-cased, `bootcamp` appended.
pub fn pipeline_class(config: &str) -> String {
    let joined = config.replace('_', "");
    let mut chars = joined.chars();
    match chars.next() {
        Some(first) => format!("{}{}bootcamp", first.to_uppercase(), chars.as_str()),
        None => "bootcamp".into(),
    }
}

/// What to append to a file holding `existing` so that it holds every line
/// of `wanted`: the lines it lacks (compared without surrounding blanks),
/// starting on a line of their own.
pub fn lines_to_append(existing: &str, wanted: &[String]) -> String {
    let have: HashSet<&str> = existing.lines().map(str::trim).collect();
    let mut out = String::new();
    let mut added: HashSet<&str> = HashSet::new();
    for line in wanted {
        let line = line.trim();
        if line.is_empty() || have.contains(line) || !added.insert(line) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !out.is_empty() && !existing.is_empty() && !existing.ends_with('\n') {
        out.insert(0, '\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_snake_case_identifiers() {
        assert_eq!(snake("BigModProduct"), "big_mod_product");
        assert_eq!(snake("ABCParser"), "abc_parser");
        assert_eq!(snake("Sudoku9x9"), "sudoku9x9");
        assert_eq!(snake("3Sum"), "b_3_sum");
        assert_eq!(snake("Class"), "class_");
        assert_eq!(identifier("Bad-Name bootcamp"), "Bad_Name_bootcamp");
        assert_eq!(base_name("DigitSumbootcamp"), "DigitSum");
        assert_eq!(base_name("bootcamp"), "bootcamp");
    }

    #[test]
    fn colliding_names_get_distinct_ones() {
        let names = assign(&[
            "DigitSumbootcamp".to_owned(),
            "DigitSumbootcamp".to_owned(),
            "Digit_Sumbootcamp".to_owned(),
            "DigitSum2bootcamp".to_owned(),
        ]);
        let pairs: Vec<(&str, &str)> = names
            .iter()
            .map(|n| (n.class.as_str(), n.folder.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("DigitSumbootcamp", "digit_sum"),
                ("DigitSum2bootcamp", "digit_sum_2"),
                ("Digit_Sum3bootcamp", "digit_sum_3"),
                ("DigitSum22bootcamp", "digit_sum2_2"),
            ]
        );
        let classes: HashSet<&str> = names.iter().map(|n| n.class.as_str()).collect();
        let folders: HashSet<&str> = names.iter().map(|n| n.folder.as_str()).collect();
        assert_eq!((classes.len(), folders.len()), (4, 4));
        assert_eq!(names[0].renamed_from, None);
        assert_eq!(names[1].renamed_from.as_deref(), Some("DigitSumbootcamp"));
    }

    #[test]
    fn the_pipeline_derives_our_classes_from_the_config_names() {
        for class in [
            "BigModProductbootcamp",
            "DigitSum2bootcamp",
            "Sudoku9x9bootcamp",
        ] {
            assert_eq!(pipeline_class(base_name(class)), class);
        }
        // What the old `<Class>_train.json` names turned into.
        assert_eq!(pipeline_class("Aexamsbootcamp"), "Aexamsbootcampbootcamp");
        assert_eq!(pipeline_class("digit_sum"), "Digitsumbootcamp");
        assert!(contains_identifier(
            "from .a.a import Xbootcamp\n",
            "Xbootcamp"
        ));
        assert!(!contains_identifier(
            "from .a.a import XYbootcamp\n",
            "Xbootcamp"
        ));
    }

    #[test]
    fn appended_lines_start_on_a_new_line_and_are_never_duplicated() {
        let wanted = vec![
            "from .a.a import Abootcamp".to_owned(),
            "from .b.b import Bbootcamp".to_owned(),
        ];
        assert_eq!(
            lines_to_append("from .base import X\nfrom .a.a import Abootcamp", &wanted),
            "\nfrom .b.b import Bbootcamp\n"
        );
        assert_eq!(
            lines_to_append("x\n", &wanted),
            "from .a.a import Abootcamp\nfrom .b.b import Bbootcamp\n"
        );
        assert_eq!(
            lines_to_append(
                "from .a.a import Abootcamp\n  from .b.b import Bbootcamp\n",
                &wanted
            ),
            ""
        );
        assert_eq!(
            lines_to_append("", &wanted[..1]),
            "from .a.a import Abootcamp\n"
        );
    }

    #[test]
    fn only_the_base_import_is_rewritten() {
        let code = "import re\nfrom bootcamp import Basebootcamp\nfrom bootcamp.base import Basebootcamp as B\nx = 'from bootcamp import y'\n";
        assert_eq!(
            rewrite_imports(code),
            "import re\nfrom internbootcamp.bootcamp.base import Basebootcamp\nfrom internbootcamp.bootcamp.base import Basebootcamp as B\nx = 'from bootcamp import y'\n"
        );
    }

    #[test]
    fn renaming_touches_whole_identifiers_only() {
        let code = "class Abootcamp(Base):\n    x = Abootcamp.y + XAbootcamp + Abootcamp_\n";
        assert_eq!(
            rename_identifier(code, "Abootcamp", "A2bootcamp"),
            "class A2bootcamp(Base):\n    x = A2bootcamp.y + XAbootcamp + Abootcamp_\n"
        );
    }
}
