//! Campaign configuration (TOML). Every key has a default; an unknown key is
//! an error naming it; paths are relative to the file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One model endpoint (`[author]` or `[solver]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleConfig {
    /// Model name.
    pub model: String,
    /// API base; empty means `OPENAI_BASE_URL`, then `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Limit of each attempt, seconds.
    pub timeout_s: f64,
    /// Retries on 429, 5xx, timeouts, connection failures and unreadable bodies.
    pub max_retries: u32,
    /// Environment variable holding the API key.
    pub api_key_env: String,
}

impl RoleConfig {
    fn with_model(model: &str, temperature: Option<f32>) -> Self {
        RoleConfig {
            model: model.into(),
            base_url: String::new(),
            temperature,
            max_tokens: None,
            concurrency: 16,
            timeout_s: 600.0,
            max_retries: 4,
            api_key_env: "OPENAI_API_KEY".into(),
        }
    }
}

impl Default for RoleConfig {
    fn default() -> Self {
        RoleConfig::with_model("", None)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvolutionConfig {
    /// Drafts sampled in parallel for generation 0.
    pub drafts_per_task: u32,
    /// Refined children per parent.
    pub children_per_parent: u32,
    /// Generations at most (generation 0 included).
    pub max_generations: u32,
    /// Parents chosen per generation.
    pub parents_per_generation: u32,
}

impl Default for EvolutionConfig {
    fn default() -> Self {
        EvolutionConfig {
            drafts_per_task: 4,
            children_per_parent: 2,
            max_generations: 3,
            parents_per_generation: 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SelftestConfig {
    pub cases: u32,
    pub solver_cases: u32,
    pub accuracy_min: f64,
    pub accuracy_max: f64,
    /// Wall-clock limit of each sandbox call, ms.
    pub timeout_ms: u64,
}

impl Default for SelftestConfig {
    fn default() -> Self {
        SelftestConfig {
            cases: 20,
            solver_cases: 40,
            accuracy_min: 0.03,
            accuracy_max: 0.85,
            timeout_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetConfig {
    /// LLM calls (author and solver) the campaign may make.
    pub max_llm_calls: u64,
    /// Prompt plus completion tokens the campaign may spend.
    pub max_tokens: u64,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            max_llm_calls: 10_000,
            max_tokens: 50_000_000,
        }
    }
}

/// A campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CampaignConfig {
    pub name: String,
    /// A directory of Markdown files or a JSONL file, relative to the config.
    pub tasks: PathBuf,
    /// A directory of templates overriding the embedded ones.
    pub prompts: Option<PathBuf>,
    /// Tasks worked on at once.
    pub task_concurrency: usize,
    pub author: RoleConfig,
    pub solver: RoleConfig,
    pub evolution: EvolutionConfig,
    pub selftest: SelftestConfig,
    pub budget: BudgetConfig,
}

impl Default for CampaignConfig {
    fn default() -> Self {
        CampaignConfig {
            name: "campaign".into(),
            tasks: PathBuf::from("tasks"),
            prompts: None,
            task_concurrency: 64,
            author: RoleConfig::with_model("deepseek-r1", Some(0.8)),
            solver: RoleConfig::with_model("qwen2.5-32b-instruct", Some(0.6)),
            evolution: EvolutionConfig::default(),
            selftest: SelftestConfig::default(),
            budget: BudgetConfig::default(),
        }
    }
}

impl CampaignConfig {
    /// Parse a TOML text; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<CampaignConfig, String> {
        let mut config: CampaignConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        // Absolute, because the resolved config is stored and a resume may
        // run from another directory.
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
        config.tasks = base.join(&config.tasks);
        config.prompts = config.prompts.map(|p| base.join(p));
        if let Some(dir) = &config.prompts
            && !dir.is_dir()
        {
            return Err(format!(
                "prompts = {:?}: no such directory (it holds templates overriding the embedded ones)",
                dir.display().to_string()
            ));
        }
        config.validate()?;
        Ok(config)
    }

    /// Read a config file.
    pub fn load(path: &Path) -> Result<CampaignConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn validate(&self) -> Result<(), String> {
        let e = &self.evolution;
        if e.drafts_per_task == 0
            || e.children_per_parent == 0
            || e.max_generations == 0
            || e.parents_per_generation == 0
        {
            return Err("evolution.drafts_per_task, children_per_parent, parents_per_generation and max_generations must be at least 1".into());
        }
        let s = &self.selftest;
        if !(0.0..=1.0).contains(&s.accuracy_min)
            || !(0.0..=1.0).contains(&s.accuracy_max)
            || s.accuracy_min > s.accuracy_max
        {
            return Err(format!(
                "selftest: need 0 <= accuracy_min <= accuracy_max <= 1, got [{}, {}]",
                s.accuracy_min, s.accuracy_max
            ));
        }
        if s.cases == 0 {
            return Err("selftest.cases must be at least 1".into());
        }
        for (role, r) in [("author", &self.author), ("solver", &self.solver)] {
            if r.model.is_empty() {
                return Err(format!("{role}.model is required"));
            }
            // NaN and infinity are refused too: a timeout becomes a Duration.
            if r.concurrency == 0 || !r.timeout_s.is_finite() || r.timeout_s <= 0.0 {
                return Err(format!(
                    "{role}.concurrency and {role}.timeout_s must be positive (and the timeout finite)"
                ));
            }
        }
        if self.task_concurrency == 0 {
            return Err("task_concurrency must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_is_missing_and_paths_are_relative() {
        let c = CampaignConfig::parse("name = \"k\"\ntasks = \"t/\"\n[author]\nmodel = \"a\"\n[evolution]\nmax_generations = 5\n", Path::new("/cfg")).unwrap();
        assert_eq!(c.name, "k");
        assert_eq!(c.tasks, PathBuf::from("/cfg/t/"));
        let err =
            CampaignConfig::parse("prompts = \"/no/such/prompts\"\n", Path::new("/")).unwrap_err();
        assert!(err.contains("/no/such/prompts"), "{err}");
        assert_eq!(c.author.model, "a");
        assert_eq!(c.author.concurrency, 16);
        assert_eq!(c.evolution.max_generations, 5);
        assert_eq!(c.evolution.drafts_per_task, 4);
        assert_eq!(c.selftest.accuracy_max, 0.85);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err =
            CampaignConfig::parse("[evolution]\ndrafts_per_tsk = 3\n", Path::new(".")).unwrap_err();
        assert!(err.contains("drafts_per_tsk"), "{err}");
        let err = CampaignConfig::parse("colour = 1\n", Path::new(".")).unwrap_err();
        assert!(err.contains("colour"), "{err}");
        let err = CampaignConfig::parse(
            "[selftest]\naccuracy_min = 0.9\naccuracy_max = 0.1\n",
            Path::new("."),
        )
        .unwrap_err();
        assert!(err.contains("accuracy_min"), "{err}");
    }
}
