//! The judge (issues 9 and 12): author answers whose code mentions think
//! tags, quantitative junk findings with a guess baseline, checks a bootcamp
//! cannot tell from real use, the audit's speed and finding counts.

use bootforge::llm::fake::{FakeReply, FakeRequest, FakeServer};
use serde_json::Value;

use crate::campaign::{bootforge, setup, solver};
use crate::util::read_bootcamp;

/// A reasoning-model author: a think block first (mentioning the closing
/// tag it will strip), then the code, which itself holds `</think>` in its
/// extractor, its prompt and its reference answer.
fn thinking_author(req: &FakeRequest) -> FakeReply {
    let code = read_bootcamp("campaign/think_merge.py");
    FakeReply::answer(format!(
        "<think>The verifier must ignore the reasoning, so extract_output splits on the closing \
         tag.\nA first sketch:\n```python\nparts = output.split('</think>')\n```\nGood.</think>\n\
         Here is the bootcamp.\n\n```python\n{code}```\n\nIt strips `</think>` before reading \
         [answer] tags."
    ))
}

#[test]
fn a_draft_whose_code_mentions_think_tags_is_accepted() {
    let server = FakeServer::start(|req: &FakeRequest| {
        if req.prompt.starts_with("You write bootcamps") {
            thinking_author(req)
        } else {
            solver(req)
        }
    })
    .unwrap();
    let s = setup(
        server.base_url(),
        &[(
            "think-merge",
            "Merge intervals; the model reasons in <think> tags first.",
        )],
        "",
    );
    let (code, stdout, stderr) = bootforge(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let task = &result["tasks"][0];
    assert_eq!(task["status"], "accepted", "{result}");
    assert_eq!(
        task["generation"], 0,
        "the first drafts were good: {result}"
    );
}
