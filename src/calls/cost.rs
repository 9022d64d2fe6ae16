//! What LLM calls cost (a campaign's, an evaluation run's): prices per model (USD per million input
//! and output tokens, `[prices."model"]` in the config) applied to the stored
//! token counts, by role and model. Pure; the [`super::Budget`]
//! counts the same way while a run goes on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A model's price.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// USD per million prompt tokens.
    pub input_usd_per_m: f64,
    /// USD per million completion tokens.
    pub output_usd_per_m: f64,
}

impl Price {
    pub fn usd(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.input_usd_per_m
            + completion_tokens as f64 * self.output_usd_per_m)
            / 1e6
    }
}

/// Dollars as whole micro-dollars (for atomic counting).
pub fn micro_usd(usd: f64) -> i64 {
    (usd * 1e6).round().clamp(0.0, i64::MAX as f64) as i64
}

/// Calls and tokens of one role and model, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spend {
    pub role: String,
    pub model: String,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// None when the config has no price for the model.
    pub usd: Option<f64>,
}

/// Price each (role, model) row; the total counts priced rows only.
pub fn price(rows: Vec<Spend>, prices: &BTreeMap<String, Price>) -> (Vec<Spend>, f64) {
    let mut total = 0.0;
    let rows = rows
        .into_iter()
        .map(|mut row| {
            row.usd = prices.get(&row.model).map(|p| {
                p.usd(
                    row.prompt_tokens.max(0) as u64,
                    row.completion_tokens.max(0) as u64,
                )
            });
            total += row.usd.unwrap_or(0.0);
            row
        })
        .collect();
    (rows, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_priced_by_model() {
        let prices = BTreeMap::from([(
            "r1".to_owned(),
            Price {
                input_usd_per_m: 0.5,
                output_usd_per_m: 2.0,
            },
        )]);
        let row = |role: &str, model: &str| Spend {
            role: role.into(),
            model: model.into(),
            calls: 3,
            prompt_tokens: 2_000_000,
            completion_tokens: 1_000_000,
            usd: None,
        };
        let (rows, total) = price(vec![row("author", "r1"), row("solver", "free")], &prices);
        assert_eq!(rows[0].usd, Some(3.0));
        assert_eq!(rows[1].usd, None);
        assert_eq!(total, 3.0);
        assert_eq!(micro_usd(0.0000015), 2);
        assert_eq!(micro_usd(-1.0), 0);
    }
}
