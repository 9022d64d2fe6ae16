//! The one way the CLI builds model clients: flags (`check --model`,
//! `eval run --model`) become the same [`RoleConfig`] a campaign file's
//! `[author]`/`[solver]` section is, and every role becomes endpoints here.
//! API keys and `OPENAI_BASE_URL` are read here, at the edge.

use std::sync::Arc;
use std::time::Duration;

use crate::calls::role::{ResolvedEndpoint, RoleConfig};
use crate::llm::fleet::Fleet;
use crate::llm::openai::OpenAiModel;
use crate::llm::{ChatModel, EndpointConfig};

/// One endpoint given by flags.
pub(super) struct Flags<'a> {
    pub model: &'a str,
    pub base_url: &'a str,
    pub api_key_env: &'a str,
    pub concurrency: usize,
    pub request_timeout_s: f64,
    pub max_retries: u32,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

/// The role the flags describe; `Err` says which flag is wrong.
pub(super) fn role_of_flags(flags: &Flags<'_>) -> Result<RoleConfig, String> {
    if !(flags.request_timeout_s > 0.0 && flags.request_timeout_s <= 86_400.0)
        || flags.concurrency == 0
    {
        return Err(
            "--request-timeout-s must be between 0 and 86400 and --concurrency positive".into(),
        );
    }
    if !flags.base_url.starts_with("http://") && !flags.base_url.starts_with("https://") {
        return Err(format!(
            "--base-url must be an http:// or https:// URL, got {:?}",
            flags.base_url
        ));
    }
    Ok(RoleConfig {
        model: flags.model.to_owned(),
        base_url: flags.base_url.to_owned(),
        temperature: flags.temperature,
        max_tokens: flags.max_tokens,
        concurrency: flags.concurrency,
        timeout_s: flags.request_timeout_s,
        max_retries: flags.max_retries,
        api_key_env: flags.api_key_env.to_owned(),
        ..RoleConfig::default()
    })
}

/// One resolved endpoint of `role` as the client's settings.
fn endpoint(role: &RoleConfig, e: ResolvedEndpoint) -> EndpointConfig {
    let base = if e.base_url.is_empty() {
        std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8000/v1".into())
    } else {
        e.base_url
    };
    let mut config = EndpointConfig::new(base, e.model);
    config.api_key = std::env::var(&e.api_key_env).ok().filter(|k| !k.is_empty());
    config.concurrency = e.concurrency;
    config.weight = e.weight;
    config.stream = e.stream;
    config.timeout = Duration::from_secs_f64(role.timeout_s.min(86_400.0));
    config.idle_timeout = role
        .idle_timeout_s
        .map(|s| Duration::from_secs_f64(s.min(86_400.0)));
    config.max_retries = role.max_retries;
    config.temperature = role.temperature;
    config.max_tokens = role.max_tokens;
    config
}

/// A role's endpoints as a fleet (what a campaign and `--config` use).
pub(super) fn fleet(role: &RoleConfig) -> Fleet {
    Fleet::new(
        role.resolved_endpoints()
            .into_iter()
            .map(|e| endpoint(role, e))
            .collect(),
    )
}

/// A role given by flags: its one endpoint, without a fleet's shared
/// health (a request failing past its retries fails alone).
pub(super) fn single(role: &RoleConfig) -> Arc<dyn ChatModel> {
    let first = role
        .resolved_endpoints()
        .into_iter()
        .next()
        .expect("a role has an endpoint");
    Arc::new(OpenAiModel::new(endpoint(role, first)))
}

/// Requests a role's endpoints take at once, together.
pub(super) fn capacity(role: &RoleConfig) -> usize {
    role.resolved_endpoints()
        .iter()
        .map(|e| e.concurrency)
        .sum::<usize>()
        .max(1)
}
