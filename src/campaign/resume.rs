//! Resuming a campaign against a changed fleet (servers move, replicas come
//! and go while a campaign waits to continue): a config file may
//! replace the stored `[author]` and `[solver]` endpoint settings (where the
//! servers are, how many requests each takes, timeouts, streaming); every
//! other setting must match the stored campaign, since it decides what the
//! calls and evaluations are. Pure functions over configs.

use serde_json::Value;

use super::config::CampaignConfig;
use crate::calls::role::RoleConfig;

/// The role keys a resume may change: where and how requests are sent, not
/// what is asked (`model`, `temperature` and `max_tokens` must match).
pub const ENDPOINT_KEYS: [&str; 8] = [
    "base_url",
    "endpoints",
    "api_key_env",
    "concurrency",
    "timeout_s",
    "idle_timeout_s",
    "max_retries",
    "stream",
];

fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if (path == "author" || path == "solver") && ENDPOINT_KEYS.contains(&key.as_str()) {
                    continue;
                }
                differences(
                    &sub,
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if a != b => out.push(path.to_owned()),
        _ => {}
    }
}

/// The stored config with the endpoint settings of `file`; refused, naming
/// every other key that differs.
pub fn adopt_endpoints(
    stored: &CampaignConfig,
    file: &CampaignConfig,
) -> Result<CampaignConfig, Vec<String>> {
    // A campaign stored before parsing filled in the default temperatures
    // holds none, while the same file parses to them now: not a difference
    // (the resume keeps asking what the campaign asked).
    let mut file = file.clone();
    let defaults = CampaignConfig::default();
    for (from, to, default) in [
        (&stored.author, &mut file.author, &defaults.author),
        (&stored.solver, &mut file.solver, &defaults.solver),
    ] {
        if from.temperature.is_none() && to.temperature == default.temperature {
            to.temperature = None;
        }
    }
    let a = serde_json::to_value(stored).unwrap_or(Value::Null);
    let b = serde_json::to_value(&file).unwrap_or(Value::Null);
    let mut diff = Vec::new();
    differences("", &a, &b, &mut diff);
    if !diff.is_empty() {
        return Err(diff);
    }
    let mut merged = stored.clone();
    for (to, from) in [
        (&mut merged.author, &file.author),
        (&mut merged.solver, &file.solver),
    ] {
        to.base_url = from.base_url.clone();
        to.endpoints = from.endpoints.clone();
        to.api_key_env = from.api_key_env.clone();
        to.concurrency = from.concurrency;
        to.timeout_s = from.timeout_s;
        to.idle_timeout_s = from.idle_timeout_s;
        to.max_retries = from.max_retries;
        to.stream = from.stream;
    }
    Ok(merged)
}

/// Point a role's single endpoint at `url` (`--author-base-url`).
pub fn override_base_url(role: &mut RoleConfig, name: &str, url: &str) -> Result<(), String> {
    match role.endpoints.len() {
        0 => role.base_url = url.to_owned(),
        1 => role.endpoints[0].base_url = url.to_owned(),
        n => {
            return Err(format!(
                "--{name}-base-url replaces one endpoint, but [{name}] has {n}; give the new fleet with --config FILE"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(extra: &str) -> CampaignConfig {
        CampaignConfig::parse(
            &format!("[author]\nmodel = \"a\"\nbase_url = \"http://old/v1\"\n{extra}"),
            Path::new("/c"),
        )
        .unwrap()
    }

    #[test]
    fn endpoint_settings_move_and_everything_else_must_match() {
        let stored = config("");
        let moved = CampaignConfig::parse(
            "[author]\nmodel = \"a\"\nconcurrency = 3\n[[author.endpoints]]\nbase_url = \"http://new1/v1\"\n[[author.endpoints]]\nbase_url = \"http://new2/v1\"\nweight = 2\n",
            Path::new("/c"),
        )
        .unwrap();
        let merged = adopt_endpoints(&stored, &moved).unwrap();
        assert_eq!(merged.author.endpoints.len(), 2);
        assert_eq!(merged.author.base_url, "");
        assert_eq!(merged.author.concurrency, 3);
        let changed = config("temperature = 0.1\n[selftest]\ncases = 3\n[budget]\nmax_usd = 2\n");
        let err = adopt_endpoints(&stored, &changed).unwrap_err();
        assert_eq!(
            err,
            vec!["author.temperature", "budget.max_usd", "selftest.cases"]
        );
    }

    #[test]
    fn a_campaign_stored_without_a_temperature_resumes_with_its_file() {
        let mut stored = config("");
        stored.author.temperature = None;
        stored.solver.temperature = None;
        let merged = adopt_endpoints(&stored, &config("")).unwrap();
        assert_eq!(merged.author.temperature, None);
        let err = adopt_endpoints(&stored, &config("temperature = 0.2\n")).unwrap_err();
        assert_eq!(err, vec!["author.temperature"]);
    }

    #[test]
    fn a_base_url_overrides_one_endpoint_only() {
        let mut c = config("");
        override_base_url(&mut c.author, "author", "http://x/v1").unwrap();
        assert_eq!(c.author.base_url, "http://x/v1");
        let mut fleet = CampaignConfig::parse(
            "[author]\nmodel = \"a\"\n[[author.endpoints]]\nbase_url = \"http://1/v1\"\n[[author.endpoints]]\nbase_url = \"http://2/v1\"\n",
            Path::new("/c"),
        )
        .unwrap();
        let err = override_base_url(&mut fleet.author, "author", "http://x/v1").unwrap_err();
        assert!(err.contains("has 2") && err.contains("--config"), "{err}");
    }
}
