//! A role's model and endpoints (`[author]` or `[solver]` of a campaign
//! file, or the flags of `calibrate` and `eval run`), as every caller of the
//! call layer configures one: a campaign file embeds two, an evaluation run
//! stores the one it used.

use serde::{Deserialize, Serialize};

/// One endpoint of a fleet (`[[author.endpoints]]`); what it leaves out
/// comes from its role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    pub base_url: String,
    /// The model name this server knows (default: the role's `model`, which
    /// is what call keys and prices use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// Share of requests relative to the other endpoints (default 1).
    #[serde(default = "one")]
    pub weight: f64,
    /// false for servers or proxies that cannot stream (default: the role's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
}

fn one() -> f64 {
    1.0
}

/// An endpoint with every setting resolved from the role.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedEndpoint {
    /// Empty means `OPENAI_BASE_URL`, then `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub model: String,
    pub api_key_env: String,
    pub concurrency: usize,
    pub weight: f64,
    pub stream: bool,
}

/// A role's model and endpoints (`[author]` or `[solver]`): either one
/// endpoint given by `base_url`, `api_key_env` and `concurrency`, or a fleet
/// of `[[ROLE.endpoints]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleConfig {
    /// Model name (in call keys and prices).
    pub model: String,
    /// API base; empty means `OPENAI_BASE_URL`, then `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    /// Sampling temperature (default: 0.8 for the author, 0.6 for the
    /// solver, filled in when a file is parsed).
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
    /// Stream replies (server-sent events).
    pub stream: bool,
    /// Streaming: seconds without a byte before the attempt counts as
    /// stalled and is retried (`timeout_s` still bounds the whole attempt).
    pub idle_timeout_s: Option<f64>,
    /// Several endpoints serving this role (instead of `base_url`).
    pub endpoints: Vec<EndpointSpec>,
}

impl RoleConfig {
    /// The role's endpoints, each setting resolved.
    pub fn resolved_endpoints(&self) -> Vec<ResolvedEndpoint> {
        if self.endpoints.is_empty() {
            return vec![ResolvedEndpoint {
                base_url: self.base_url.clone(),
                model: self.model.clone(),
                api_key_env: self.api_key_env.clone(),
                concurrency: self.concurrency,
                weight: 1.0,
                stream: self.stream,
            }];
        }
        self.endpoints
            .iter()
            .map(|e| ResolvedEndpoint {
                base_url: e.base_url.clone(),
                model: e.model.clone().unwrap_or_else(|| self.model.clone()),
                api_key_env: e
                    .api_key_env
                    .clone()
                    .unwrap_or_else(|| self.api_key_env.clone()),
                concurrency: e.concurrency.unwrap_or(self.concurrency),
                weight: e.weight,
                stream: e.stream.unwrap_or(self.stream),
            })
            .collect()
    }

    /// Check the role; a partial `[author]`/`[solver]` table without a model
    /// takes the role's default model.
    pub(crate) fn validate(&mut self, role: &str, defaults: &RoleConfig) -> Result<(), String> {
        if self.model.is_empty()
            && let Some(model) = self.endpoints.iter().find_map(|e| e.model.clone())
        {
            self.model = model;
        }
        if self.model.is_empty() {
            self.model = defaults.model.clone();
        }
        if self
            .temperature
            .is_some_and(|t| !(t.is_finite() && t >= 0.0))
        {
            return Err(format!(
                "{role}.temperature must be a number, 0 or more (got {})",
                self.temperature.unwrap_or_default()
            ));
        }
        check_base_url(&format!("{role}.base_url"), &self.base_url)?;
        for (i, e) in self.endpoints.iter().enumerate() {
            check_base_url(&format!("{role}.endpoints[{i}].base_url"), &e.base_url)?;
        }
        // NaN and infinity are refused too: a timeout becomes a Duration.
        if self.concurrency == 0 || !self.timeout_s.is_finite() || self.timeout_s <= 0.0 {
            return Err(format!(
                "{role}.concurrency and {role}.timeout_s must be positive (and the timeout finite)"
            ));
        }
        if self
            .idle_timeout_s
            .is_some_and(|t| !t.is_finite() || t <= 0.0)
        {
            return Err(format!("{role}.idle_timeout_s must be positive and finite"));
        }
        if !self.endpoints.is_empty() && !self.base_url.is_empty() {
            return Err(format!(
                "{role}: give either base_url (one endpoint) or [[{role}.endpoints]] (a fleet), not both"
            ));
        }
        for (i, e) in self.endpoints.iter().enumerate() {
            if e.base_url.trim().is_empty() {
                return Err(format!("{role}.endpoints[{i}].base_url is required"));
            }
            if e.concurrency == Some(0) || !(e.weight > 0.0 && e.weight.is_finite()) {
                return Err(format!(
                    "{role}.endpoints[{i}] ({}): concurrency and weight must be positive",
                    e.base_url
                ));
            }
        }
        Ok(())
    }
}

/// An endpoint's base URL must be an http(s) URL (empty: the default).
fn check_base_url(key: &str, url: &str) -> Result<(), String> {
    if url.trim().is_empty() {
        return Ok(());
    }
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(()),
        Ok(parsed) => Err(format!(
            "{key} = {url:?} is not an http(s) URL (scheme {:?}); give one like \"http://127.0.0.1:8000/v1\"",
            parsed.scheme()
        )),
        Err(e) => Err(format!(
            "{key} = {url:?} is not a URL ({e}); give one like \"http://127.0.0.1:8000/v1\""
        )),
    }
}

impl RoleConfig {
    pub(crate) fn with_model(model: &str, temperature: Option<f32>) -> Self {
        RoleConfig {
            model: model.into(),
            base_url: String::new(),
            temperature,
            max_tokens: None,
            concurrency: 16,
            timeout_s: 600.0,
            max_retries: 4,
            api_key_env: "OPENAI_API_KEY".into(),
            stream: true,
            idle_timeout_s: None,
            endpoints: Vec::new(),
        }
    }
}

impl Default for RoleConfig {
    fn default() -> Self {
        RoleConfig::with_model("", None)
    }
}
