//! The sympy component, set up on demand.
//!
//! Bootcamps that import sympy (or mpmath) run on a second component: the
//! same harness with both packages imported into its build-time snapshot
//! (`sandbox/build.sh`, `sandbox/sympy/`). It is more than twice the size of
//! the base component and its snapshot holds sympy's objects, so it is
//! decompressed, compiled (or loaded from the compiled-component cache, under
//! its own hash) and pre-instantiated only when the first such bootcamp runs
//! in the process. Every other bootcamp runs on the base component, and the
//! process never touches the sympy one. Both run under the same linker (the
//! same WASI host: no files, no network, no environment) and the same
//! per-run limits.
//!
//! Which component a run needs is decided before anything runs, from the
//! source text ([`needs_sympy`]), not by retrying a run that failed with
//! `ModuleNotFoundError`: that error is text the guest produced (bootcamp
//! code can raise or print it, or catch it and carry on without sympy), an
//! import inside a verifier fails only after the run's earlier calls, whose
//! work a retry would repeat, and a bootcamp with a fallback for a missing
//! sympy would silently be judged on the fallback. A false positive (the
//! words in a comment or a string) only costs that bootcamp the larger
//! component's start-up.

use std::path::PathBuf;
use std::sync::OnceLock;

use wasmtime::component::Linker;

use super::engine::{self, Embedded};
use super::host::HostState;
use super::{ComponentSource, ErrorKind, RunError, Shared, Stage, bindings};

/// The sympy component, zstd-compressed, built by `sandbox/build.sh`.
pub static SYMPY_ZST: &[u8] = include_bytes!("../../sandbox/harness-sympy.wasm.zst");

pub(crate) static SYMPY: Embedded = Embedded {
    name: "harness-sympy",
    zst: SYMPY_ZST,
};

/// The packages only the sympy component has (sympy needs mpmath).
const SYMPY_PACKAGES: [&str; 2] = ["sympy", "mpmath"];

/// Whether `source` imports sympy or mpmath anywhere: `import sympy`,
/// `import sympy as sp`, `import os, sympy.abc`, `from sympy import x`,
/// `from mpmath import mp`, in a function body or after a `;` too, and
/// `__import__("sympy")` / `importlib.import_module("sympy")`.
pub fn needs_sympy(source: &str) -> bool {
    source.lines().any(line_imports_sympy)
}

fn is_package(dotted: &str) -> bool {
    let top = dotted.split('.').next().unwrap_or("");
    SYMPY_PACKAGES.contains(&top)
}

fn line_imports_sympy(line: &str) -> bool {
    let code = line.split('#').next().unwrap_or("");
    for statement in code.split(';') {
        let statement = statement.trim_start();
        if let Some(rest) = keyword(statement, "from") {
            let module = rest.split_whitespace().next().unwrap_or("");
            if is_package(module) {
                return true;
            }
        } else if let Some(rest) = keyword(statement, "import") {
            // `import a as b, c.d` (parentheses are not valid here).
            if rest
                .split(',')
                .filter_map(|part| part.split_whitespace().next())
                .any(is_package)
            {
                return true;
            }
        }
    }
    // Dynamic imports name the module in a string on the same line.
    line.contains("import")
        && SYMPY_PACKAGES.iter().any(|package| {
            [format!("\"{package}"), format!("'{package}")]
                .iter()
                .any(|quoted| line.contains(quoted.as_str()))
        })
}

/// The rest of `statement` after the keyword `word` and some whitespace.
fn keyword<'a>(statement: &'a str, word: &str) -> Option<&'a str> {
    let rest = statement.strip_prefix(word)?;
    rest.starts_with([' ', '\t']).then_some(rest)
}

/// An on-demand component, as `sandbox info` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VariantInfo {
    pub name: &'static str,
    /// SHA-256 of the embedded, compressed bytes.
    pub sha256: String,
    pub compressed_bytes: usize,
    /// Where its compiled artifact is (or will be) cached.
    pub cache_file: PathBuf,
    /// Whether that file exists (a process compiled it before).
    pub cached: bool,
    /// Where it came from, once a run in this process has needed it.
    pub loaded: Option<ComponentSource>,
}

/// The sympy component's slot: empty until a run needs it.
pub(crate) struct LazyComponent {
    cache_dir: PathBuf,
    slot: OnceLock<Result<(bindings::HarnessPre<HostState>, ComponentSource), String>>,
}

impl LazyComponent {
    pub(crate) fn new(cache_dir: PathBuf) -> Self {
        LazyComponent {
            cache_dir,
            slot: OnceLock::new(),
        }
    }

    pub(crate) fn info(&self, engine: &wasmtime::Engine) -> VariantInfo {
        let cache_file = self
            .cache_dir
            .join(engine::embedded_cache_key(engine, &SYMPY));
        VariantInfo {
            name: SYMPY.name,
            sha256: engine::embedded_digest(&SYMPY),
            compressed_bytes: SYMPY.zst.len(),
            cached: cache_file.is_file(),
            cache_file,
            loaded: match self.slot.get() {
                Some(Ok((_, source))) => Some(source.clone()),
                _ => None,
            },
        }
    }

    /// The pre-instantiated component, set up by the first caller (others
    /// wait for it). A failure is kept: it comes from the embedded bytes or
    /// the engine, which do not change while the process runs.
    fn get(
        &self,
        engine: &wasmtime::Engine,
        linker: &Linker<HostState>,
    ) -> Result<&bindings::HarnessPre<HostState>, &str> {
        let slot = self.slot.get_or_init(|| {
            // Seconds to half a minute of silence otherwise, on first use.
            let cached = self
                .cache_dir
                .join(engine::embedded_cache_key(engine, &SYMPY))
                .is_file();
            if !cached {
                eprintln!(
                    "note: compiling the sandbox's sympy component for a bootcamp that imports sympy \
                     (once: it is cached in {})",
                    self.cache_dir.display()
                );
            }
            let (component, source) = engine::load_embedded(engine, &self.cache_dir, &SYMPY)
                .map_err(|e| format!("{e:#}"))?;
            let pre = linker
                .instantiate_pre(&component)
                .map_err(|e| format!("{e:#}"))?;
            let pre = bindings::HarnessPre::new(pre).map_err(|e| format!("{e:#}"))?;
            Ok((pre, source))
        });
        match slot {
            Ok((pre, _)) => Ok(pre),
            Err(message) => Err(message),
        }
    }
}

impl Shared {
    /// The pre-instantiated component for a bootcamp with this source.
    pub(crate) fn pre_for(
        &self,
        source: &str,
    ) -> Result<bindings::HarnessPre<HostState>, RunError> {
        if !needs_sympy(source) {
            return Ok(self.pre.clone());
        }
        self.sympy
            .get(&self.engine, &self.linker)
            .cloned()
            .map_err(|message| {
                RunError::new(
                    ErrorKind::Load,
                    Stage::Instantiate,
                    format!(
                        "the bootcamp imports sympy, but the sandbox's sympy component could not be set up: {message}"
                    ),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::needs_sympy;

    #[test]
    fn finds_every_form_of_import() {
        for source in [
            "import sympy",
            "import sympy as sp",
            "import os, sympy.abc as abc",
            "from sympy import symbols, diff",
            "from sympy.parsing.sympy_parser import parse_expr",
            "    def f(self):\n        import sympy\n",
            "import os; from mpmath import mp",
            "from\tmpmath import mpf",
            "sp = importlib.import_module('sympy')",
            "sp = __import__(\"sympy\")",
        ] {
            assert!(needs_sympy(source), "{source:?}");
        }
    }

    #[test]
    fn ignores_other_modules_and_mentions() {
        for source in [
            "import random\nfrom bootcamp import Basebootcamp",
            "import sympyish",
            "from sympy_like import x",
            "# import sympy would be nice",
            "x = 'sympy'",
            "importsympy = 1",
            "from os import path  # not sympy",
        ] {
            assert!(!needs_sympy(source), "{source:?}");
        }
    }
}
