//! Campaign configuration (TOML). Every key has a default; an unknown key is
//! an error naming it; paths are relative to the file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::calls::role::RoleConfig;

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
    /// Calibrate a draft that passes every stage but the accuracy band
    /// (search its constructor's numeric parameters for a setting in the
    /// band) before its author is asked for new code.
    pub calibrate: bool,
    /// Solver calls one draft's calibration may take (calls answered from
    /// the store count too, so a resumed campaign takes the same steps).
    pub calibrate_max_solver_calls: u32,
}

impl Default for EvolutionConfig {
    fn default() -> Self {
        EvolutionConfig {
            drafts_per_task: 4,
            children_per_parent: 2,
            max_generations: 3,
            parents_per_generation: 2,
            calibrate: true,
            // Five settings of the default 40 solver cases: enough to raise
            // one parameter by doubling until it moves and bisect once or
            // twice into a band as wide as the default one, for about what
            // two refinements of the draft cost in solver calls alone (each
            // is checked on 40 cases), with no author call.
            calibrate_max_solver_calls: 200,
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
    /// CPU-time budget of each sandbox call, ms.
    pub timeout_ms: u64,
    /// Wall-clock ceiling of each sandbox call, ms (default: 10 times
    /// `timeout_ms`), for a guest that waits instead of computing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_timeout_ms: Option<u64>,
}

impl Default for SelftestConfig {
    fn default() -> Self {
        SelftestConfig {
            cases: 20,
            solver_cases: 40,
            accuracy_min: 0.03,
            accuracy_max: 0.85,
            timeout_ms: 10_000,
            wall_timeout_ms: None,
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
    /// Dollars the campaign may spend, at `[prices]` (unset: no limit).
    pub max_usd: Option<f64>,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            max_llm_calls: 10_000,
            max_tokens: 50_000_000,
            max_usd: None,
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
    /// USD per million tokens, by model name: `[prices."deepseek-r1"]`.
    pub prices: std::collections::BTreeMap<String, crate::calls::cost::Price>,
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
            prices: Default::default(),
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
        // The documented temperatures are what the requests carry: a
        // request without one gets the server's own (0.8 on llama.cpp, 1.0
        // on others). Only a file being parsed gets them; a stored config is
        // read as it was stored, so a campaign stored without a temperature
        // resumes asking what it asked before.
        let defaults = CampaignConfig::default();
        for (role, default) in [
            (&mut config.author, &defaults.author),
            (&mut config.solver, &defaults.solver),
        ] {
            role.temperature = role.temperature.or(default.temperature);
        }
        config.validate()?;
        Ok(config)
    }

    /// Read a config file. The I/O error is kept as the cause; `{:#}`
    /// says it all on one line.
    pub fn load(path: &Path) -> anyhow::Result<CampaignConfig> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        // What is wrong with the text is a message, nothing beneath it.
        Self::parse(&text, base).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    pub fn validate(&mut self) -> Result<(), String> {
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
        if self.evolution.calibrate
            && (self.evolution.calibrate_max_solver_calls as u64) < u64::from(s.solver_cases)
        {
            return Err(format!(
                "evolution.calibrate_max_solver_calls ({}) must allow at least one setting of selftest.solver_cases ({}): raise it, or set evolution.calibrate = false",
                self.evolution.calibrate_max_solver_calls, s.solver_cases
            ));
        }
        if s.timeout_ms == 0 || s.wall_timeout_ms == Some(0) {
            return Err("selftest.timeout_ms and selftest.wall_timeout_ms must be positive".into());
        }
        let defaults = CampaignConfig::default();
        self.author.validate("author", &defaults.author)?;
        self.solver.validate("solver", &defaults.solver)?;
        if self.budget.max_usd.is_some_and(|m| m.is_nan() || m < 0.0) {
            return Err("budget.max_usd must be a number of dollars, 0 or more".into());
        }
        for (model, p) in &self.prices {
            if !(p.input_usd_per_m >= 0.0 && p.output_usd_per_m >= 0.0) {
                return Err(format!("prices.{model:?}: prices must be 0 or more"));
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
    fn a_missing_file_keeps_the_io_error_and_a_bad_one_names_itself() {
        let err = CampaignConfig::load(Path::new("/no/such/campaign.toml")).unwrap_err();
        let io = err.root_cause().downcast_ref::<std::io::Error>();
        assert_eq!(io.map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
        assert!(
            format!("{err:#}").starts_with("cannot read /no/such/campaign.toml: "),
            "{err:#}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "colour = 1\n").unwrap();
        let err = CampaignConfig::load(&path).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{}: ", path.display())),
            "{err:#}"
        );
    }

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
    fn a_partial_role_table_keeps_the_role_defaults() {
        // A new-user trial: `[author]` with only a temperature said
        // "author.model is required" although every key has a default.
        let c = CampaignConfig::parse(
            "[author]\ntemperature = 0.5\n[solver]\nmax_tokens = 9\n",
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(
            (c.author.model.as_str(), c.author.temperature),
            ("deepseek-r1", Some(0.5))
        );
        assert_eq!(
            (c.solver.model.as_str(), c.solver.max_tokens),
            ("qwen2.5-32b-instruct", Some(9))
        );
        // A table that leaves the temperature out takes the documented one.
        assert_eq!(c.solver.temperature, Some(0.6));
        let c = CampaignConfig::parse("[author]\nmodel = \"m\"\n", Path::new("/")).unwrap();
        assert_eq!(c.author.temperature, Some(0.8));
        // A stored config is read as stored (a resume asks what it asked).
        let stored: CampaignConfig = serde_json::from_str(r#"{"author": {"model": "a"}}"#).unwrap();
        assert_eq!(stored.author.temperature, None);
        let err =
            CampaignConfig::parse("[author]\ntemperature = -1\n", Path::new("/")).unwrap_err();
        assert!(err.contains("author.temperature"), "{err}");
    }

    #[test]
    fn a_base_url_must_be_an_http_url() {
        for (text, key) in [
            ("[author]\nbase_url = \"not a url\"\n", "author.base_url"),
            ("[solver]\nbase_url = \"ftp://x/v1\"\n", "solver.base_url"),
            (
                "[[solver.endpoints]]\nbase_url = \"127.0.0.1:8000/v1\"\n",
                "solver.endpoints[0].base_url",
            ),
        ] {
            let err = CampaignConfig::parse(text, Path::new("/")).unwrap_err();
            assert!(
                err.contains(key) && err.contains("http://127.0.0.1:8000/v1"),
                "{err}"
            );
        }
        assert!(
            CampaignConfig::parse(
                "[author]\nbase_url = \"https://api.example.com/v1\"\n",
                Path::new("/")
            )
            .is_ok()
        );
    }

    #[test]
    fn a_role_takes_one_endpoint_or_a_fleet() {
        let one = CampaignConfig::parse(
            "[author]\nmodel = \"a\"\nbase_url = \"http://x/v1\"\nconcurrency = 5\nstream = false\n",
            Path::new("/"),
        )
        .unwrap();
        let e = one.author.resolved_endpoints();
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].base_url.as_str(), e[0].concurrency, e[0].stream),
            ("http://x/v1", 5, false)
        );
        let fleet = CampaignConfig::parse(
            "[author]\nmodel = \"r1\"\nconcurrency = 8\nidle_timeout_s = 30\n\n[[author.endpoints]]\nbase_url = \"http://a/v1\"\n\n[[author.endpoints]]\nbase_url = \"http://b/v1\"\nmodel = \"served-r1\"\napi_key_env = \"B_KEY\"\nconcurrency = 2\nweight = 3\nstream = false\n\n[prices.r1]\ninput_usd_per_m = 0.5\noutput_usd_per_m = 2\n[budget]\nmax_usd = 10\n",
            Path::new("/"),
        )
        .unwrap();
        let e = fleet.author.resolved_endpoints();
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].model.as_str(), e[0].concurrency, e[0].weight),
            ("r1", 8, 1.0)
        );
        assert_eq!(
            (
                e[1].model.as_str(),
                e[1].api_key_env.as_str(),
                e[1].concurrency,
                e[1].weight,
                e[1].stream
            ),
            ("served-r1", "B_KEY", 2, 3.0, false)
        );
        assert_eq!(fleet.author.idle_timeout_s, Some(30.0));
        assert_eq!(fleet.prices["r1"].output_usd_per_m, 2.0);
        assert_eq!(fleet.budget.max_usd, Some(10.0));
        // An older stored config (no fleet keys) still reads.
        let stored: CampaignConfig =
            serde_json::from_str(r#"{"author": {"model": "a", "base_url": "http://x"}}"#).unwrap();
        assert!(stored.author.endpoints.is_empty() && stored.author.stream);
        for (text, named) in [
            (
                "[author]\nmodel = \"a\"\nbase_url = \"http://x\"\n[[author.endpoints]]\nbase_url = \"http://y\"\n",
                "not both",
            ),
            (
                "[solver]\nmodel = \"s\"\n[[solver.endpoints]]\nbase_url = \"\"\n",
                "solver.endpoints[0].base_url",
            ),
            (
                "[solver]\nmodel = \"s\"\n[[solver.endpoints]]\nbase_url = \"http://y\"\nweight = 0\n",
                "weight",
            ),
            (
                "[[solver.endpoints]]\nbase_url = \"http://y\"\nspeed = 2\n",
                "speed",
            ),
            (
                "[solver]\nmodel = \"s\"\nidle_timeout_s = 0\n",
                "idle_timeout_s",
            ),
            ("[budget]\nmax_usd = -1\n", "max_usd"),
            ("[prices.m]\ninput_usd_per_m = 1\n", "output_usd_per_m"),
        ] {
            let err = CampaignConfig::parse(text, Path::new("/")).unwrap_err();
            assert!(err.contains(named), "{text}: {err}");
        }
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
