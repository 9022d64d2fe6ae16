//! The documentation kept true by tests: the list of findings in
//! `docs/checks.md` is the one `bootforge findings --markdown` prints from
//! the `FindingKind` enum, and the README stays short with its two commands.

use crate::util::{bin, repo_path};

const BEGIN: &str = "<!-- findings:begin";
const END: &str = "<!-- findings:end -->";

#[test]
fn the_findings_page_lists_every_kind_the_code_can_produce() {
    let out = bin().args(["findings", "--markdown"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let generated = String::from_utf8(out.stdout).unwrap();
    for kind in bootforge::evaluate::FindingKind::ALL {
        assert!(
            generated.contains(&format!("| `{kind}` |")),
            "{kind} missing from {generated}"
        );
    }
    let page = std::fs::read_to_string(repo_path("docs/checks.md")).unwrap();
    let start = page
        .find(BEGIN)
        .expect("docs/checks.md lost its findings:begin marker");
    let start = start + page[start..].find('\n').unwrap() + 1;
    let end = page
        .find(END)
        .expect("docs/checks.md lost its findings:end marker");
    assert!(
        page[start..end] == generated,
        "docs/checks.md's list of findings differs from the FindingKind enum \
         (src/evaluate/kind.rs). Regenerate it: replace the lines between the \
         findings:begin and findings:end markers with the output of \
         `cargo run -q -- findings --markdown`."
    );
}

#[test]
fn the_readme_is_short_and_keeps_its_two_commands() {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 200,
        "README.md has {lines} lines; move detail to docs/"
    );
    for command in ["cargo run -- campaign run", "cargo test"] {
        assert!(
            readme.contains(&format!("```sh\n{command}\n```")),
            "README.md lost the command {command:?}"
        );
    }
    // Every docs/ page the README links to exists.
    for link in readme.split("](docs/").skip(1) {
        let page = &link[..link.find([')', '#']).unwrap()];
        assert!(
            repo_path(&format!("docs/{page}")).exists(),
            "README.md links to docs/{page}, which does not exist"
        );
    }
}

#[test]
fn the_architecture_page_names_every_module_of_the_code_map() {
    let lib = std::fs::read_to_string(repo_path("src/lib.rs")).unwrap();
    let page = std::fs::read_to_string(repo_path("docs/architecture.md")).unwrap();
    for module in lib.lines().filter_map(|l| l.strip_prefix("pub mod ")) {
        let module = module.trim_end_matches(';');
        assert!(
            page.contains(&format!("- `{module}`")),
            "docs/architecture.md does not describe the module {module}; \
             copy its entry from the code map at the top of src/lib.rs"
        );
    }
}
