//! From a rollout's `data_source` to a bootcamp, purely: the names a data
//! source may stand for, the bootcamp classes a file defines (read from its
//! text, nothing executed), and the catalog that maps class names to what
//! the sandbox runs.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

/// The classes a `data_source` may name, most specific first:
///
/// - `bootcamp/<Name>` (verl, as InternBootcamp's converter writes it): the
///   class InternBootcamp's own reward function derives, `<Name>bootcamp`
///   with the first letter upper-cased, then `<Name>bootcamp` as written,
///   then `<Name>` itself;
/// - anything else (InternBootcamp's pipeline records, a bare class name):
///   the name itself, then the same derivations.
pub fn candidates(data_source: &str) -> Vec<String> {
    let source = data_source.trim();
    let (name, prefixed) = match source.strip_prefix("bootcamp/") {
        Some(rest) => (rest, true),
        None => (source, false),
    };
    let mut out = Vec::with_capacity(3);
    let mut push = |c: String| {
        if !c.is_empty() && !out.contains(&c) {
            out.push(c);
        }
    };
    if !prefixed {
        push(name.to_owned());
    }
    let mut chars = name.chars();
    if let Some(first) = chars.next() {
        push(format!(
            "{}{}bootcamp",
            first.to_uppercase(),
            chars.as_str()
        ));
    }
    if !name.is_empty() {
        push(format!("{name}bootcamp"));
    }
    if prefixed {
        push(name.to_owned());
    }
    out
}

/// The names of the top-level classes `source` defines (`class Name(` or
/// `class Name:` at the start of a line), in order. A class that is not a
/// bootcamp is harmless here: the sandbox refuses to run it.
pub fn classes_in(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|line| line.strip_prefix("class "))
        .filter_map(|rest| {
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// The classes a package's `__init__.py` imports from its own modules
/// (`from .a.b import Xbootcamp, Y as Z`), with the module's path relative to
/// the package (`a/b.py`); a later import of a name wins, as in Python. The
/// class that `import internbootcamp` gives under a name is the one to score
/// with when several files define it.
pub fn init_imports(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("from .") else {
            continue;
        };
        let Some((module, names)) = rest.split_once(" import ") else {
            continue;
        };
        let module = module.trim();
        if module.is_empty() || module.starts_with('.') {
            continue;
        }
        let path = format!("{}.py", module.replace('.', "/"));
        for name in names
            .trim_matches(|c| c == '(' || c == ')' || c == ' ')
            .split(',')
        {
            let mut words = name.split_whitespace();
            if let (Some(class), None) = (words.next(), words.next()) {
                out.insert(class.to_owned(), path.clone());
            }
        }
    }
    out
}

/// One bootcamp the service can score with.
#[derive(Debug, Clone, PartialEq)]
pub struct Bootcamp {
    /// Where it came from: `item 12` or a file's path.
    pub origin: String,
    /// The file name tracebacks show.
    pub filename: String,
    pub source: String,
    pub class: String,
    /// Constructor parameters (a review item's; `{}` for a file).
    pub params: Map<String, Value>,
}

/// Class name to bootcamp. The first bootcamp added under a name keeps it.
/// A class name already held by another bootcamp: the first one found
/// keeps it, the caller says which one was left out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{holder} has that class")]
pub struct ClassTaken {
    /// Where the holder came from (a review item or a file).
    pub holder: String,
}

#[derive(Debug, Default)]
pub struct Catalog {
    by_class: HashMap<String, Arc<Bootcamp>>,
}

impl Catalog {
    /// Add `bootcamp` under its class name, unless another bootcamp holds
    /// that name already.
    pub fn insert(&mut self, bootcamp: Bootcamp) -> Result<(), ClassTaken> {
        if let Some(holder) = self.by_class.get(&bootcamp.class) {
            return Err(ClassTaken {
                holder: holder.origin.clone(),
            });
        }
        self.by_class
            .insert(bootcamp.class.clone(), Arc::new(bootcamp));
        Ok(())
    }

    /// The bootcamp `data_source` names, if any.
    pub fn resolve(&self, data_source: &str) -> Option<&Arc<Bootcamp>> {
        candidates(data_source)
            .iter()
            .find_map(|c| self.by_class.get(c))
    }

    pub fn len(&self) -> usize {
        self.by_class.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_class.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bootcamp(class: &str, origin: &str) -> Bootcamp {
        Bootcamp {
            origin: origin.into(),
            filename: "x.py".into(),
            source: String::new(),
            class: class.into(),
            params: Map::new(),
        }
    }

    #[test]
    fn data_sources_name_classes_as_internbootcamp_does() {
        assert_eq!(
            candidates("bootcamp/IntervalMerge"),
            ["IntervalMergebootcamp", "IntervalMerge"]
        );
        assert_eq!(
            candidates("bootcamp/korLogic"),
            ["KorLogicbootcamp", "korLogicbootcamp", "korLogic"]
        );
        assert_eq!(
            candidates("IntervalMergebootcamp"),
            ["IntervalMergebootcamp", "IntervalMergebootcampbootcamp"]
        );
        assert_eq!(candidates("Maze"), ["Maze", "Mazebootcamp"]);
        assert!(candidates("bootcamp/").is_empty());
        assert!(candidates("").is_empty());
    }

    #[test]
    fn the_catalog_resolves_every_spelling_and_keeps_the_first_holder() {
        let mut catalog = Catalog::default();
        catalog
            .insert(bootcamp("IntervalMergebootcamp", "item 1"))
            .unwrap();
        assert_eq!(
            catalog.insert(bootcamp("IntervalMergebootcamp", "b.py")),
            Err(ClassTaken {
                holder: "item 1".into()
            })
        );
        for source in [
            "bootcamp/IntervalMerge",
            "bootcamp/intervalMerge",
            "IntervalMerge",
            "IntervalMergebootcamp",
        ] {
            assert_eq!(
                catalog.resolve(source).map(|b| b.origin.as_str()),
                Some("item 1"),
                "{source}"
            );
        }
        // The old, doubled name is not a bootcamp.
        assert!(catalog.resolve("bootcamp/IntervalMergebootcampx").is_none());
        assert_eq!(catalog.len(), 1);
    }

    #[test]
    fn a_packages_imports_say_which_file_holds_a_class() {
        let init = "from .base import Basebootcamp\nfrom .cbus.cbus import Cbusbootcamp\nimport warnings\nfrom .x.y import A, B as C\nfrom .other.cbus import Cbusbootcamp\nfrom ..up import D\n";
        let map = init_imports(init);
        assert_eq!(
            map.get("Cbusbootcamp").map(String::as_str),
            Some("other/cbus.py")
        );
        assert_eq!(map.get("A").map(String::as_str), Some("x/y.py"));
        assert_eq!(map.get("Basebootcamp").map(String::as_str), Some("base.py"));
        assert!(!map.contains_key("B") && !map.contains_key("C") && !map.contains_key("D"));
    }

    #[test]
    fn classes_are_read_from_the_text() {
        let source = "import re\nclass Abootcamp(Basebootcamp):\n    class Inner:\n        pass\nclass B_2bootcamp (Abootcamp):\n    x = 'class Fake('\nclass Plain:\n    pass\n";
        assert_eq!(classes_in(source), ["Abootcamp", "B_2bootcamp", "Plain"]);
    }
}
