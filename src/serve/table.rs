//! A campaign's per-generation table (the per-round figures the
//! InternBootcamp paper reports for its pipeline): drafts made, evaluated,
//! accepted, the share of evaluated drafts failing each stage, LLM calls and
//! tokens by role. Pure assembly of what the store counted.

use serde::Serialize;

use crate::evaluate::CheckStage;
use crate::store::{GenerationCounts, RoleUsage, StageFailures};

/// One row of the table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GenerationRow {
    /// None: calls not tied to any draft.
    pub generation: Option<i64>,
    pub drafts: i64,
    pub evaluated: i64,
    pub passed: i64,
    pub accepted: i64,
    /// Share of evaluated drafts failing at each stage, one per
    /// [`CheckStage::ALL`] (in the order of [`stage_names`]).
    pub failing: Vec<f64>,
    /// Calls and tokens per role, in the order of the table's roles.
    pub usage: Vec<(i64, i64)>,
}

/// The stages, as the table's column heads.
pub fn stage_names() -> Vec<&'static str> {
    CheckStage::ALL.iter().map(|s| s.as_str()).collect()
}

/// The table and its roles (sorted), from the store's counts.
pub fn generation_table(
    counts: &[GenerationCounts],
    failures: &[StageFailures],
    usage: &[RoleUsage],
) -> (Vec<String>, Vec<GenerationRow>) {
    let mut roles: Vec<String> = usage.iter().map(|u| u.role.clone()).collect();
    roles.sort();
    roles.dedup();
    let mut generations: Vec<Option<i64>> = counts.iter().map(|c| Some(c.generation)).collect();
    for u in usage {
        if !generations.contains(&u.generation) {
            generations.push(u.generation);
        }
    }
    generations.sort_by_key(|g| g.unwrap_or(i64::MAX));
    let stages = CheckStage::ALL.len();
    let rows = generations
        .into_iter()
        .map(|generation| {
            let c = counts
                .iter()
                .find(|c| Some(c.generation) == generation)
                .copied();
            let evaluated = c.map(|c| c.evaluated).unwrap_or(0);
            let mut failing = vec![0.0; stages];
            for f in failures {
                // The stage that failed is the one after the last passed.
                if Some(f.generation) == generation && evaluated > 0 {
                    let stage = (f.furthest_stage.max(0) as usize).min(stages - 1);
                    failing[stage] += f.count as f64 / evaluated as f64;
                }
            }
            let usage = roles
                .iter()
                .map(|role| {
                    usage
                        .iter()
                        .filter(|u| u.generation == generation && &u.role == role)
                        .fold((0, 0), |(calls, tokens), u| {
                            (
                                calls + u.calls,
                                tokens + u.prompt_tokens + u.completion_tokens,
                            )
                        })
                })
                .collect();
            GenerationRow {
                generation,
                drafts: c.map(|c| c.drafts).unwrap_or(0),
                evaluated,
                passed: c.map(|c| c.passed).unwrap_or(0),
                accepted: c.map(|c| c.accepted).unwrap_or(0),
                failing,
                usage,
            }
        })
        .collect();
    (roles, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_usage_per_generation() {
        let counts = [
            GenerationCounts {
                generation: 0,
                drafts: 4,
                evaluated: 4,
                passed: 1,
                accepted: 1,
            },
            GenerationCounts {
                generation: 1,
                drafts: 2,
                evaluated: 2,
                passed: 2,
                accepted: 1,
            },
        ];
        // Generation 0: two failed at load (passed static only), one at generate.
        let failure = |generation, furthest_stage, count| StageFailures {
            generation,
            furthest_stage,
            count,
        };
        let failures = [failure(0, 1, 2), failure(0, 2, 1)];
        let usage = [
            RoleUsage {
                generation: Some(0),
                role: "solver".into(),
                calls: 12,
                prompt_tokens: 100,
                completion_tokens: 20,
            },
            RoleUsage {
                generation: Some(0),
                role: "author".into(),
                calls: 4,
                prompt_tokens: 400,
                completion_tokens: 800,
            },
            RoleUsage {
                generation: None,
                role: "author".into(),
                calls: 1,
                prompt_tokens: 1,
                completion_tokens: 1,
            },
        ];
        let (roles, rows) = generation_table(&counts, &failures, &usage);
        assert_eq!(roles, ["author", "solver"]);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].failing[1], 0.5);
        assert_eq!(rows[0].failing[2], 0.25);
        assert_eq!(rows[0].usage, [(4, 1200), (12, 120)]);
        assert_eq!(rows[1].failing.iter().sum::<f64>(), 0.0);
        assert_eq!(rows[2].generation, None);
        assert_eq!(rows[2].usage, [(1, 2), (0, 0)]);
        assert_eq!(stage_names()[1], "load");
    }
}
