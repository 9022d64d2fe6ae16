//! `bootforge bench`: the sandbox's committed benchmarks.
use std::path::Path;

#[derive(Debug, serde::Serialize)]
pub struct BenchReport {}

impl BenchReport {
    pub fn render(&self) -> Vec<String> {
        Vec::new()
    }
}

pub fn run(_cache_dir: &Path, _quick: bool) -> anyhow::Result<BenchReport> {
    anyhow::bail!("not yet")
}
