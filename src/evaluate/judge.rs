//! Pure judgements over sandbox results: no I/O here, so every rule is unit
//! tested on its own.

use std::collections::HashSet;

use super::FindingKind;
use super::junk::JunkClass;
use super::nearmiss::{Judged, Mutation};
use crate::sandbox::{ClassInfo, Inspection};

/// Phrases that mark an oversimplified bootcamp (in code or comments).
pub const SIMPLIFICATION_MARKERS: [&str; 4] = ["for simplicity", "simplified", "simplify", "简化"];

/// The methods a bootcamp must have (defined or inherited within the file;
/// `verify_score` comes from `Basebootcamp`).
pub const REQUIRED_METHODS: [&str; 4] = [
    "case_generator",
    "prompt_func",
    "extract_output",
    "_verify_correction",
];

/// Where a marker occurs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MarkerHit {
    pub marker: &'static str,
    pub line: usize,
    pub text: String,
}

/// Every line mentioning a simplification marker, case-insensitively.
pub fn simplification_markers(source: &str) -> Vec<MarkerHit> {
    let mut hits = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let lower = line.to_lowercase();
        for marker in SIMPLIFICATION_MARKERS {
            if lower.contains(marker) {
                let text: String = line.trim().chars().take(160).collect();
                hits.push(MarkerHit {
                    marker,
                    line: index + 1,
                    text,
                });
            }
        }
    }
    hits
}

/// Code that looks at its environment: a bootcamp has no reason to ask which
/// platform it runs on, which harness loaded it or who called it, except to
/// behave differently when checked.
pub const ENVIRONMENT_PROBES: [(&str, &str); 11] = [
    ("sys.platform", "asks which platform it runs on"),
    ("os.name", "asks which platform it runs on"),
    ("platform.", "asks which platform it runs on"),
    ("wasi", "mentions WASI, the sandbox's platform"),
    ("emscripten", "mentions a WebAssembly platform"),
    (
        "sys.modules",
        "looks up loaded modules (the harness is one)",
    ),
    ("bootforge", "mentions the checker by name"),
    ("inspect.stack", "inspects its callers"),
    ("inspect.currentframe", "inspects its callers"),
    ("_getframe", "inspects its callers"),
    ("f_back", "inspects its callers"),
];

/// Where a file probes its environment.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProbeHit {
    pub probe: &'static str,
    pub why: &'static str,
    pub line: usize,
    pub text: String,
}

/// Every line that probes the environment (first probe per line), skipping
/// comments and docstrings (a string statement of its own, such as a module
/// docstring saying "shipped with bootforge", is not code). `import platform`
/// alone is not a probe; using it is.
pub fn environment_probes(source: &str) -> Vec<ProbeHit> {
    let mut hits = Vec::new();
    // The closing delimiter of the docstring we are in, if any.
    let mut in_doc: Option<&str> = None;
    for (index, line) in source.lines().enumerate() {
        let code = line.trim_start();
        if let Some(delim) = in_doc {
            if code.contains(delim) {
                in_doc = None;
            }
            continue;
        }
        if let Some(delim) = ["\"\"\"", "'''"].into_iter().find(|d| code.starts_with(d)) {
            if code.matches(delim).count() % 2 == 1 {
                in_doc = Some(delim);
            }
            continue;
        }
        if code.starts_with('#') {
            continue;
        }
        let lower = code.to_lowercase();
        if let Some((probe, why)) = ENVIRONMENT_PROBES.iter().find(|(p, _)| lower.contains(p)) {
            hits.push(ProbeHit {
                probe,
                why,
                line: index + 1,
                text: code.chars().take(160).collect(),
            });
        }
        if hits.len() >= 20 {
            break;
        }
    }
    hits
}

/// The bootcamp classes of a file: classes deriving (directly or through
/// other classes of the file) from `Basebootcamp`.
pub fn bootcamp_classes(inspection: &Inspection) -> Vec<&ClassInfo> {
    let mut known: HashSet<&str> = HashSet::new();
    // Bases defined later in the file are rare; iterate to a fixed point.
    loop {
        let before = known.len();
        for class in &inspection.classes {
            if class
                .bases
                .iter()
                .any(|b| b == "Basebootcamp" || known.contains(b.as_str()))
            {
                known.insert(class.name.as_str());
            }
        }
        if known.len() == before {
            break;
        }
    }
    inspection
        .classes
        .iter()
        .filter(|c| known.contains(c.name.as_str()))
        .collect()
}

/// The class a check runs: the named one, else the only one no other class
/// derives from. Mirrors the harness's own choice.
pub fn choose_class<'a>(
    classes: &[&'a ClassInfo],
    wanted: Option<&str>,
) -> Result<&'a ClassInfo, String> {
    if let Some(name) = wanted {
        return classes
            .iter()
            .copied()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = classes.iter().map(|c| c.name.as_str()).collect();
                format!(
                    "no bootcamp class named {name:?}; the file defines: {}",
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    }
                )
            });
    }
    let leaves: Vec<&ClassInfo> = classes
        .iter()
        .copied()
        .filter(|c| !classes.iter().any(|o| o.bases.iter().any(|b| b == &c.name)))
        .collect();
    match leaves.as_slice() {
        [one] => Ok(one),
        [] => Err("the file defines no class deriving from Basebootcamp".into()),
        many => Err(format!(
            "the file defines several bootcamp classes ({}); choose one with --class",
            many.iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Where `method` is defined for `class`: in the class or in a base class of
/// the same file (first match, depth first).
pub fn resolve_method<'a>(
    inspection: &'a Inspection,
    class: &'a ClassInfo,
    method: &str,
) -> Option<(&'a ClassInfo, &'a crate::sandbox::MethodInfo)> {
    let mut stack = vec![class];
    let mut visited = HashSet::new();
    while let Some(current) = stack.pop() {
        if !visited.insert(current.name.as_str()) {
            continue;
        }
        if let Some(info) = current.methods.get(method) {
            return Some((current, info));
        }
        for base in current.bases.iter().rev() {
            if let Some(parent) = inspection.classes.iter().find(|c| &c.name == base) {
                stack.push(parent);
            }
        }
    }
    None
}

/// Distinct cases over cases.
pub fn diversity(case_jsons: &[&str]) -> (usize, f64) {
    if case_jsons.is_empty() {
        return (0, 0.0);
    }
    let distinct: HashSet<&str> = case_jsons.iter().copied().collect();
    (
        distinct.len(),
        distinct.len() as f64 / case_jsons.len() as f64,
    )
}

/// Whether a prompt tells the model how to format its answer.
pub fn states_answer_format(prompt: &str) -> bool {
    let lower = prompt.to_lowercase();
    // "[[": InternBootcamp's double-bracket format ("e.g. [[...]]"), in any
    // language the prompt is written in.
    ["answer", "boxed", "format", "respond with", "output", "[["]
        .iter()
        .any(|k| lower.contains(k))
}

/// A case's best score under one junk strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct JunkOutcome {
    pub seed: u64,
    pub strategy: String,
    pub class: JunkClass,
    pub score: f64,
}

/// How one junk strategy fared over the cases.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StrategyStats {
    pub strategy: String,
    pub class: JunkClass,
    pub cases: usize,
    pub full_credit: usize,
    pub share: f64,
    pub mean_score: f64,
    /// 95% Wilson interval of `share`.
    pub wilson_low: f64,
    pub wilson_high: f64,
    /// The first cases (seeds) that gave full credit, at most 10.
    pub credited_seeds: Vec<u64>,
}

/// The best guessing strategy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GuessBaseline {
    pub strategy: String,
    pub share: f64,
    pub wilson_low: f64,
    pub wilson_high: f64,
    pub cases: usize,
}

/// Per-strategy share of full credit and mean score, in first-seen order.
pub fn strategy_stats(outcomes: &[JunkOutcome]) -> Vec<StrategyStats> {
    let mut stats: Vec<StrategyStats> = Vec::new();
    let mut sums: Vec<f64> = Vec::new();
    for o in outcomes {
        let i = match stats.iter().position(|s| s.strategy == o.strategy) {
            Some(i) => i,
            None => {
                stats.push(StrategyStats {
                    strategy: o.strategy.clone(),
                    class: o.class,
                    cases: 0,
                    full_credit: 0,
                    share: 0.0,
                    mean_score: 0.0,
                    wilson_low: 0.0,
                    wilson_high: 1.0,
                    credited_seeds: Vec::new(),
                });
                sums.push(0.0);
                stats.len() - 1
            }
        };
        let s = &mut stats[i];
        s.cases += 1;
        sums[i] += o.score;
        if full_credit(o.score) {
            s.full_credit += 1;
            if s.credited_seeds.len() < 10 {
                s.credited_seeds.push(o.seed);
            }
        }
    }
    for (s, sum) in stats.iter_mut().zip(sums) {
        s.share = s.full_credit as f64 / s.cases.max(1) as f64;
        s.mean_score = sum / s.cases.max(1) as f64;
        (s.wilson_low, s.wilson_high) = wilson_interval(s.full_credit, s.cases);
    }
    stats
}

/// The guess baseline: the best share among guessing strategies (ties: the
/// first). The maximum over many strategies leans high, which errs towards
/// asking more of the solver, not less.
pub fn guess_baseline(stats: &[StrategyStats]) -> Option<GuessBaseline> {
    let mut best: Option<&StrategyStats> = None;
    for s in stats.iter().filter(|s| s.class == JunkClass::Guess) {
        if best.is_none_or(|b| s.share > b.share) {
            best = Some(s);
        }
    }
    best.map(|b| GuessBaseline {
        strategy: b.strategy.clone(),
        share: b.share,
        wilson_low: b.wilson_low,
        wilson_high: b.wilson_high,
        cases: b.cases,
    })
}

/// Cases where the echoed prompt got full credit that no single constant
/// guess explains: the fewest echo-credited cases a `guess:` strategy misses.
/// On a fair yes/no task whose prompt shows `[answer]yes[/answer]` the echo
/// is right exactly when "yes" is: a guess, not a leak. (One constant for all
/// cases, not any constant per case: a model cannot pick the right constant
/// per case without solving it.)
pub fn echo_leaks(outcomes: &[JunkOutcome]) -> usize {
    unexplained_by_a_guess(outcomes, "prompt_echo")
}

/// Cases where `strategy` got full credit that no single constant guess
/// explains (the fewest such cases over the `guess:` strategies): see
/// [`echo_leaks`]. An over-broad answer read by its first letter only is
/// right exactly when the guess "A" is.
pub fn unexplained_by_a_guess(outcomes: &[JunkOutcome], strategy: &str) -> usize {
    let credited = |strategy: &str| -> Vec<u64> {
        outcomes
            .iter()
            .filter(|o| o.strategy == strategy && full_credit(o.score))
            .map(|o| o.seed)
            .collect()
    };
    let echo = credited(strategy);
    let mut guesses: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.strategy.starts_with("guess:"))
        .map(|o| o.strategy.as_str())
        .collect();
    guesses.sort_unstable();
    guesses.dedup();
    guesses
        .iter()
        .map(|g| {
            let explained = credited(g);
            echo.iter().filter(|s| !explained.contains(s)).count()
        })
        .min()
        .unwrap_or(echo.len())
}

/// One discrimination finding, before it gets its stage.
#[derive(Debug, Clone, PartialEq)]
pub struct JunkFinding {
    pub kind: FindingKind,
    pub error: bool,
    pub strategy: String,
    pub message: String,
}

fn seeds_text(s: &StrategyStats) -> String {
    let list: Vec<String> = s.credited_seeds.iter().map(u64::to_string).collect();
    let more = if s.full_credit > s.credited_seeds.len() {
        ", ..."
    } else {
        ""
    };
    format!("seeds {}{more}", list.join(", "))
}

fn rate_text(s: &StrategyStats) -> String {
    format!(
        "{} of {} cases ({:.2}, 95% CI {:.2}-{:.2}; mean score {:.2})",
        s.full_credit, s.cases, s.share, s.wilson_low, s.wilson_high, s.mean_score
    )
}

/// The discrimination verdicts, each threshold with its reason below.
///
/// - Content-free junk: any full credit fails (`accepts_junk`), except
///   another case's answer, which two cases may share: it fails only when it
///   got credit on every case tried (`accepts_other_case_answer`), and warns
///   otherwise.
/// - The echoed prompt fails as `answer_in_prompt` when it got full credit,
///   beyond what a constant guess got, on at least half the cases.
/// - The guess baseline fails as `guessable` at or above `accuracy_max`
///   (guessing alone would be "too easy"); any lower positive rate warns
///   (`guess_credit`).
pub fn junk_findings(
    stats: &[StrategyStats],
    leaks: usize,
    cases: usize,
    accuracy_max: f64,
) -> Vec<JunkFinding> {
    let mut out = Vec::new();
    for s in stats
        .iter()
        .filter(|s| s.class == JunkClass::ContentFree && s.full_credit > 0)
    {
        if s.strategy == "other_case_answer" {
            let all = s.cases >= 2 && s.full_credit == s.cases;
            out.push(JunkFinding {
                kind: FindingKind::AcceptsOtherCaseAnswer,
                error: all,
                strategy: s.strategy.clone(),
                message: if all {
                    format!("the verifier accepted another case's reference answer on all {} cases tried: it does not check the case", s.cases)
                } else {
                    format!("another case's reference answer gets credit: full credit on {} ({}); cases may share an answer, or the verifier checks too little", rate_text(s), seeds_text(s))
                },
            });
            continue;
        }
        out.push(JunkFinding {
            kind: FindingKind::AcceptsJunk,
            error: true,
            strategy: s.strategy.clone(),
            message: format!(
                "the verifier accepts content-free junk ({}): full credit on {} ({}), for answers that say nothing about the case",
                s.strategy,
                rate_text(s),
                seeds_text(s)
            ),
        });
    }
    if let Some(echo) = stats.iter().find(|s| s.strategy == "prompt_echo")
        && cases > 0
        && leaks * 2 >= cases
    {
        out.push(JunkFinding {
            kind: FindingKind::AnswerInPrompt,
            error: true,
            strategy: echo.strategy.clone(),
            message: format!(
                "the prompt gives the answer away: echoed back, it got full credit on {} ({}), on {leaks} of them where the best constant guess did not (a solution shown as the example, or every answer equal to the format example)",
                rate_text(echo),
                seeds_text(echo)
            ),
        });
    }
    if let Some(best) = guess_baseline(stats)
        && best.share > 0.0
    {
        let s = stats
            .iter()
            .find(|s| s.strategy == best.strategy)
            .expect("the baseline is one of the strategies");
        let failing = best.share >= accuracy_max;
        out.push(JunkFinding {
            kind: if failing { FindingKind::Guessable } else { FindingKind::GuessCredit },
            error: failing,
            strategy: best.strategy.clone(),
            message: if failing {
                format!("guessing solves the task: {} gets full credit on {} ({}), at or above the band's top {accuracy_max}", best.strategy, rate_text(s), seeds_text(s))
            } else {
                format!("guess baseline {:.2}: {} gets full credit on {} ({}); the solver must do better than that", best.share, best.strategy, rate_text(s), seeds_text(s))
            },
        });
    }
    out
}

/// One case where a mutant was tried: what it started from and what it got.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MutantExample {
    pub seed: u64,
    /// The reference's final answer.
    pub reference: String,
    /// The mutant's final answer.
    pub mutant: String,
    pub score: f64,
}

/// What a mutation class's credit came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutationVerdict {
    /// Accepted often enough to fail the check.
    Fails,
    /// Some credit, reported as a warning with its rate.
    Warns,
    /// No full credit.
    Rejected,
    /// Credit here says nothing about the verifier (a spelling change, a
    /// reordering the prompt allows): reported only.
    NotJudged,
}

/// One mutation class in a report: its rate, how it was judged and a case
/// as evidence (a credited one when there is one).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MutationReport {
    pub class: Mutation,
    pub strategy: String,
    /// What the class does to an answer (its description).
    pub what: std::borrow::Cow<'static, str>,
    /// How its credit is judged (order classes count as content unless the
    /// prompts say the order is free).
    pub judged: Judged,
    pub verdict: MutationVerdict,
    pub cases: usize,
    pub full_credit: usize,
    /// Credited cases no constant guess explains: what an over-broad class
    /// is judged on (equal to `full_credit` for the near-miss classes).
    pub beyond_guess: usize,
    pub share: f64,
    pub wilson_low: f64,
    pub wilson_high: f64,
    pub example: Option<MutantExample>,
}

/// Content-changing near-misses fail when accepted on more than half the
/// cases tried, and on at least this many: below that, a fair task whose
/// answers are not unique (another valid path, another satisfying
/// assignment) may accept some mutants, which is a warning with the rate.
pub const NEAR_MISS_MIN_CREDITED: usize = 3;

/// Over-broad answers fail from this many credited cases ...
pub const OVERBROAD_MIN_CREDITED: usize = 2;
/// ... when they are at least this share of the cases tried: an answer
/// naming every candidate is never the one answer of a task that has one,
/// so a fifth of the cases is already a reward for listing everything.
pub const OVERBROAD_MIN_SHARE: f64 = 0.2;

/// Judge one mutation class from its stats; `order_free`: most prompts say
/// the answer's order does not matter.
///
/// Over-broad classes are judged on `beyond_guess`, the credited cases no
/// constant guess explains: when all of them are, the credit is a guess's.
pub fn judge_mutation(
    mutation: Mutation,
    s: &StrategyStats,
    beyond_guess: usize,
    order_free: bool,
) -> (Judged, MutationVerdict) {
    let judged = match mutation.judged() {
        Judged::Order if order_free => Judged::Format,
        j => j,
    };
    let verdict = if s.full_credit == 0 {
        MutationVerdict::Rejected
    } else {
        match judged {
            Judged::Format => MutationVerdict::NotJudged,
            Judged::Overbroad if beyond_guess == 0 => MutationVerdict::NotJudged,
            Judged::Overbroad => {
                let share = beyond_guess as f64 / s.cases.max(1) as f64;
                if beyond_guess >= OVERBROAD_MIN_CREDITED && share >= OVERBROAD_MIN_SHARE {
                    MutationVerdict::Fails
                } else {
                    MutationVerdict::Warns
                }
            }
            Judged::Content | Judged::Order => {
                if s.full_credit >= NEAR_MISS_MIN_CREDITED && s.full_credit * 2 > s.cases {
                    MutationVerdict::Fails
                } else {
                    MutationVerdict::Warns
                }
            }
        }
    };
    (judged, verdict)
}

/// Every mutation class tried, judged, in [`Mutation::ALL`] order.
///
/// `outcomes` give the guesses that may explain an over-broad class's
/// credit (none in the solver stage, which tries no guesses).
pub fn mutation_reports(
    stats: &[StrategyStats],
    outcomes: &[JunkOutcome],
    examples: &[(String, MutantExample)],
    order_free: bool,
) -> Vec<MutationReport> {
    let mut out = Vec::new();
    for m in Mutation::ALL {
        let strategy = m.strategy();
        let Some(s) = stats.iter().find(|s| s.strategy == strategy) else {
            continue;
        };
        let beyond_guess = if m.is_overbroad() && outcomes.iter().any(|o| o.strategy == strategy) {
            unexplained_by_a_guess(outcomes, &strategy)
        } else {
            s.full_credit
        };
        let (judged, verdict) = judge_mutation(m, s, beyond_guess, order_free);
        out.push(MutationReport {
            class: m,
            what: m.describe().into(),
            judged,
            verdict,
            cases: s.cases,
            full_credit: s.full_credit,
            beyond_guess,
            share: s.share,
            wilson_low: s.wilson_low,
            wilson_high: s.wilson_high,
            example: examples
                .iter()
                .find(|(st, _)| *st == strategy)
                .map(|(_, e)| e.clone()),
            strategy,
        });
    }
    out
}

fn example_text(e: &MutantExample) -> String {
    format!(
        "seed {}: reference {:?}, mutant {:?} scored {}",
        e.seed, e.reference, e.mutant, e.score
    )
}

/// The findings of the mutation classes: at most one `accepts_near_miss`
/// and one `accepts_overbroad`, an error when any class of its family fails
/// (naming every failing class with its rate and a case), else a warning
/// naming the classes that got some credit.
pub fn near_miss_findings(reports: &[MutationReport]) -> Vec<JunkFinding> {
    let mut out = Vec::new();
    for (kind, overbroad) in [
        (FindingKind::AcceptsNearMiss, false),
        (FindingKind::AcceptsOverbroad, true),
    ] {
        let family: Vec<&MutationReport> = reports
            .iter()
            .filter(|r| r.class.is_overbroad() == overbroad)
            .collect();
        let failing: Vec<&&MutationReport> = family
            .iter()
            .filter(|r| r.verdict == MutationVerdict::Fails)
            .collect();
        let warning: Vec<&&MutationReport> = family
            .iter()
            .filter(|r| r.verdict == MutationVerdict::Warns)
            .collect();
        let (error, listed) = if failing.is_empty() {
            (false, warning)
        } else {
            (true, failing)
        };
        if listed.is_empty() {
            continue;
        }
        let parts: Vec<String> = listed
            .iter()
            .map(|r| {
                let beyond = if r.class.is_overbroad() && r.beyond_guess < r.full_credit {
                    format!(", {} beyond what a constant guess gets", r.beyond_guess)
                } else {
                    String::new()
                };
                format!(
                    "{} ({}): full credit on {} of {} cases ({:.2}, 95% CI {:.2}-{:.2}){beyond}{}",
                    r.class.name(),
                    r.what,
                    r.full_credit,
                    r.cases,
                    r.share,
                    r.wilson_low,
                    r.wilson_high,
                    r.example
                        .as_ref()
                        .map(|e| format!(", e.g. {}", example_text(e)))
                        .unwrap_or_default()
                )
            })
            .collect();
        let message = match (overbroad, error) {
            (false, true) => format!(
                "the verifier gives full credit to answers that are almost right, on most cases: {}; as a reward this pays for near misses: compare the whole answer exactly (numbers, order, every element, the final answer only)",
                parts.join("; ")
            ),
            (false, false) => format!(
                "near-miss answers got full credit on some cases (fine when answers are not unique, a defect otherwise): {}",
                parts.join("; ")
            ),
            (true, true) => format!(
                "the verifier gives full credit to an answer naming every candidate at once: {}; as a reward this pays for listing everything: accept exactly one answer",
                parts.join("; ")
            ),
            (true, false) => format!(
                "an answer naming every candidate got full credit on a case: {}",
                parts.join("; ")
            ),
        };
        out.push(JunkFinding {
            kind,
            error,
            strategy: listed[0].strategy.clone(),
            message,
        });
    }
    out
}

/// Whether the solver clears the guess baseline: the lower end of its 95%
/// interval lies above the baseline's share. (Requiring the two intervals
/// not to overlap would fail a fair task whose guesses got nothing: with 20
/// junk cases the baseline's upper end is 0.16 even at 0 of 20.)
pub fn clears_baseline(correct: usize, n: usize, baseline: f64) -> bool {
    wilson_interval(correct, n).0 > baseline
}

/// A score counts as full credit at 1 (allowing float noise).
pub fn full_credit(score: f64) -> bool {
    score >= 1.0 - 1e-9
}

/// The 95% Wilson score interval of `successes` out of `n`.
pub fn wilson_interval(successes: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let p = successes as f64 / n;
    let denom = 1.0 + z * z / n;
    let center = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    // Exact ends at 0 and n (the formula leaves float noise there).
    let low = if successes == 0 {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let high = if successes as f64 == n {
        1.0
    } else {
        (center + half).min(1.0)
    };
    (low, high)
}

/// Where an accuracy falls against the band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    InBand,
    TooEasy,
    TooHardOrBroken,
}

/// The verdict uses the point estimate against `[min, max]`.
pub fn band(accuracy: f64, min: f64, max: f64) -> Band {
    if accuracy > max {
        Band::TooEasy
    } else if accuracy < min {
        Band::TooHardOrBroken
    } else {
        Band::InBand
    }
}

/// The fewest verifier calls on which "it raised every time" is a finding.
pub const VERIFIER_RAISES_MIN_CALLS: u64 = 10;

/// A verifier that raised on every answer it was given (junk and
/// well-formed guesses alike) can never give credit: `verify_score` swallows
/// the exception and scores 0, so without this rule such a bootcamp passes
/// the junk checks as if it were strict. A warning, not an error: without a
/// reference answer or a solver nothing proves a right answer would raise too.
pub fn verifier_always_raises(calls: u64, raised: u64) -> bool {
    calls >= VERIFIER_RAISES_MIN_CALLS && raised >= calls
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::MethodInfo;
    use std::collections::BTreeMap;

    fn class(name: &str, bases: &[&str], methods: &[(&str, bool)]) -> ClassInfo {
        ClassInfo {
            name: name.into(),
            line: 1,
            bases: bases.iter().map(|b| b.to_string()).collect(),
            methods: methods
                .iter()
                .map(|(m, p)| {
                    (
                        m.to_string(),
                        MethodInfo {
                            line: 1,
                            placeholder: *p,
                        },
                    )
                })
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn markers_are_found_case_insensitively_with_lines() {
        let src = "x = 1\n# For simplicity, use small grids\ny = 2  # 简化\ndef simplify(): pass\n";
        let hits = simplification_markers(src);
        let lines: Vec<(usize, &str)> = hits.iter().map(|h| (h.line, h.marker)).collect();
        assert_eq!(
            lines,
            vec![(2, "for simplicity"), (3, "简化"), (4, "simplify")]
        );
    }

    #[test]
    fn classes_methods_and_inheritance_within_the_file() {
        let inspection = Inspection {
            syntax_error: None,
            classes: vec![
                class("Helper", &[], &[("x", false)]),
                class(
                    "Basepuzzle",
                    &["Basebootcamp"],
                    &[("extract_output", false), ("_verify_correction", true)],
                ),
                class(
                    "Puzzlebootcamp",
                    &["Basepuzzle"],
                    &[("case_generator", false), ("prompt_func", false)],
                ),
            ],
        };
        let classes = bootcamp_classes(&inspection);
        assert_eq!(
            classes.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            vec!["Basepuzzle", "Puzzlebootcamp"]
        );
        let chosen = choose_class(&classes, None).unwrap();
        assert_eq!(chosen.name, "Puzzlebootcamp");
        let (owner, info) = resolve_method(&inspection, chosen, "_verify_correction").unwrap();
        assert_eq!(
            (owner.name.as_str(), info.placeholder),
            ("Basepuzzle", true)
        );
        assert!(resolve_method(&inspection, chosen, "verify_score").is_none());
        assert!(
            choose_class(&classes, Some("Nope"))
                .unwrap_err()
                .contains("Basepuzzle, Puzzlebootcamp")
        );
        let two = Inspection {
            syntax_error: None,
            classes: vec![
                class("A", &["Basebootcamp"], &[]),
                class("B", &["Basebootcamp"], &[]),
            ],
        };
        assert!(
            choose_class(&bootcamp_classes(&two), None)
                .unwrap_err()
                .contains("--class")
        );
    }

    #[test]
    fn diversity_counts_distinct_cases() {
        assert_eq!(diversity(&["a", "b", "a", "c"]), (3, 0.75));
        assert_eq!(diversity(&[]), (0, 0.0));
    }

    fn outcome(seed: u64, strategy: &str, class: JunkClass, score: f64) -> JunkOutcome {
        JunkOutcome {
            seed,
            strategy: strategy.into(),
            class,
            score,
        }
    }

    /// A fair yes/no task whose prompt shows `[answer]yes[/answer]`: the
    /// echo and "yes" are right on the same half of the cases.
    fn yes_no(cases: u64) -> Vec<JunkOutcome> {
        let mut out = Vec::new();
        for seed in 0..cases {
            let yes = if seed % 2 == 0 { 1.0 } else { 0.0 };
            out.push(outcome(seed, "empty", JunkClass::ContentFree, 0.0));
            out.push(outcome(seed, "prompt_echo", JunkClass::Guess, yes));
            out.push(outcome(seed, "guess:yes", JunkClass::Guess, yes));
            out.push(outcome(seed, "guess:no", JunkClass::Guess, 1.0 - yes));
        }
        out
    }

    #[test]
    fn a_fair_yes_no_task_is_a_warning_with_its_rate() {
        let outcomes = yes_no(20);
        let stats = strategy_stats(&outcomes);
        let echo = stats.iter().find(|s| s.strategy == "prompt_echo").unwrap();
        assert_eq!((echo.full_credit, echo.cases), (10, 20));
        assert!(
            (echo.wilson_low - 0.299).abs() < 0.01,
            "{}",
            echo.wilson_low
        );
        assert_eq!(echo_leaks(&outcomes), 0);
        let findings = junk_findings(&stats, 0, 20, 0.85);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(
            (findings[0].kind.as_str(), findings[0].error),
            ("guess_credit", false)
        );
        assert!(
            findings[0].message.contains("0.50"),
            "{}",
            findings[0].message
        );
        assert_eq!(guess_baseline(&stats).unwrap().share, 0.5);
        // The solver must be clearly better than a coin.
        assert!(!clears_baseline(12, 20, 0.5));
        assert!(clears_baseline(30, 40, 0.5));
        assert!(clears_baseline(3, 40, 0.0));
        assert!(!clears_baseline(0, 40, 0.0));
    }

    #[test]
    fn a_leaked_answer_an_always_equal_answer_and_junk_fail() {
        // The solution printed in the prompt: the echo is right everywhere,
        // no constant is.
        let mut leak = Vec::new();
        for seed in 0..20 {
            leak.push(outcome(seed, "prompt_echo", JunkClass::Guess, 1.0));
            leak.push(outcome(seed, "guess:0", JunkClass::Guess, 0.0));
        }
        let stats = strategy_stats(&leak);
        let kinds: Vec<_> = junk_findings(&stats, echo_leaks(&leak), 20, 0.85)
            .into_iter()
            .filter(|f| f.error)
            .map(|f| f.kind)
            .collect();
        assert_eq!(kinds, ["answer_in_prompt", "guessable"]);
        // Every answer equals the format example "0": a constant guesses it.
        let mut constant = Vec::new();
        for seed in 0..20 {
            constant.push(outcome(seed, "prompt_echo", JunkClass::Guess, 1.0));
            constant.push(outcome(seed, "guess:0", JunkClass::Guess, 1.0));
        }
        let stats = strategy_stats(&constant);
        let f = junk_findings(&stats, echo_leaks(&constant), 20, 0.85);
        assert_eq!(f.iter().map(|f| f.kind).collect::<Vec<_>>(), ["guessable"]);
        // One content-free hit in 20 fails, naming the seed.
        let mut junk = yes_no(20);
        junk.push(outcome(7, "empty_answer_tags", JunkClass::ContentFree, 1.0));
        let f = junk_findings(&strategy_stats(&junk), 0, 20, 0.85);
        let hit = f.iter().find(|f| f.kind == "accepts_junk").unwrap();
        assert!(
            hit.error && hit.message.contains("seeds 7"),
            "{}",
            hit.message
        );
        // Another case's answer: a warning unless accepted on every case.
        let some = vec![
            outcome(0, "other_case_answer", JunkClass::ContentFree, 1.0),
            outcome(1, "other_case_answer", JunkClass::ContentFree, 0.0),
        ];
        let f = junk_findings(&strategy_stats(&some), 0, 2, 0.85);
        assert_eq!(
            (f[0].kind.as_str(), f[0].error),
            ("accepts_other_case_answer", false)
        );
        let all = vec![
            outcome(0, "other_case_answer", JunkClass::ContentFree, 1.0),
            outcome(1, "other_case_answer", JunkClass::ContentFree, 1.0),
        ];
        let f = junk_findings(&strategy_stats(&all), 0, 2, 0.85);
        assert!(f[0].error);
    }

    fn mutation_stats(m: Mutation, credited: &[bool]) -> StrategyStats {
        let class = if m.is_overbroad() {
            JunkClass::Overbroad
        } else {
            JunkClass::NearMiss
        };
        let outcomes: Vec<JunkOutcome> = credited
            .iter()
            .enumerate()
            .map(|(i, &c)| outcome(i as u64, &m.strategy(), class, if c { 1.0 } else { 0.0 }))
            .collect();
        strategy_stats(&outcomes).remove(0)
    }

    #[test]
    fn near_misses_fail_on_most_cases_and_warn_below() {
        let most = mutation_stats(Mutation::OffByOne, &[true, true, true, false]);
        assert_eq!(
            judge_mutation(Mutation::OffByOne, &most, most.full_credit, false),
            (Judged::Content, MutationVerdict::Fails)
        );
        // Another valid path now and then: a warning.
        let some = mutation_stats(Mutation::ElementDropped, &[true, false, false, true, false]);
        assert_eq!(
            judge_mutation(Mutation::ElementDropped, &some, some.full_credit, false).1,
            MutationVerdict::Warns
        );
        // Half is not most; two credited cases are too few to say.
        let half = mutation_stats(
            Mutation::Truncated,
            &[true, true, true, false, false, false],
        );
        assert_eq!(
            judge_mutation(Mutation::Truncated, &half, half.full_credit, false).1,
            MutationVerdict::Warns
        );
        let two = mutation_stats(Mutation::Scaled, &[true, true]);
        assert_eq!(
            judge_mutation(Mutation::Scaled, &two, two.full_credit, false).1,
            MutationVerdict::Warns
        );
        // Reordering where the prompt says the order is free is no finding.
        let swapped = mutation_stats(Mutation::Swapped, &[true; 10]);
        assert_eq!(
            judge_mutation(Mutation::Swapped, &swapped, swapped.full_credit, true),
            (Judged::Format, MutationVerdict::NotJudged)
        );
        assert_eq!(
            judge_mutation(Mutation::Swapped, &swapped, swapped.full_credit, false).1,
            MutationVerdict::Fails
        );
        let case = mutation_stats(Mutation::CaseChanged, &[true; 10]);
        assert_eq!(
            judge_mutation(Mutation::CaseChanged, &case, case.full_credit, false).1,
            MutationVerdict::NotJudged
        );
        let none = mutation_stats(Mutation::OffByOne, &[false; 10]);
        assert_eq!(
            judge_mutation(Mutation::OffByOne, &none, none.full_credit, false).1,
            MutationVerdict::Rejected
        );
    }

    #[test]
    fn overbroad_answers_fail_from_a_few_cases() {
        let mut credited = [false; 10];
        credited[0] = true;
        credited[3] = true;
        let s = mutation_stats(Mutation::AllOptions, &credited);
        assert_eq!(
            judge_mutation(Mutation::AllOptions, &s, s.full_credit, false).1,
            MutationVerdict::Fails
        );
        // Credit only where the guess "A" is right: a guess, not judged.
        let mut outcomes = Vec::new();
        for seed in 0..10u64 {
            let right = seed % 4 == 0;
            let score = if right { 1.0 } else { 0.0 };
            outcomes.push(outcome(
                seed,
                "overbroad:all_options",
                JunkClass::Overbroad,
                score,
            ));
            outcomes.push(outcome(seed, "guess:A", JunkClass::Guess, score));
        }
        assert_eq!(
            unexplained_by_a_guess(&outcomes, "overbroad:all_options"),
            0
        );
        let stats = strategy_stats(&outcomes);
        let reports = mutation_reports(&stats, &outcomes, &[], false);
        assert_eq!(reports[0].verdict, MutationVerdict::NotJudged);
        assert!(near_miss_findings(&reports).is_empty());
        let once = mutation_stats(Mutation::AllNumbers, &[true, false, false, false, false]);
        assert_eq!(
            judge_mutation(Mutation::AllNumbers, &once, once.full_credit, false).1,
            MutationVerdict::Warns
        );
    }

    #[test]
    fn findings_name_each_failing_class_with_its_evidence() {
        let stats = vec![
            mutation_stats(Mutation::OffByOne, &[true; 5]),
            mutation_stats(
                Mutation::ElementDropped,
                &[true, false, false, false, false],
            ),
            mutation_stats(Mutation::AllNumbers, &[true, false, false, false, false]),
            mutation_stats(Mutation::CaseChanged, &[true; 5]),
        ];
        let example = MutantExample {
            seed: 0,
            reference: "42".into(),
            mutant: "43".into(),
            score: 1.0,
        };
        let reports = mutation_reports(
            &stats,
            &[],
            &[(Mutation::OffByOne.strategy(), example)],
            false,
        );
        assert_eq!(reports.len(), 4);
        let f = near_miss_findings(&reports);
        assert_eq!(
            f.iter()
                .map(|f| (f.kind.as_str(), f.error))
                .collect::<Vec<_>>(),
            [("accepts_near_miss", true), ("accepts_overbroad", false)]
        );
        assert!(f[0].message.contains("off_by_one"), "{}", f[0].message);
        assert!(
            f[0].message.contains("mutant \"43\" scored 1"),
            "{}",
            f[0].message
        );
        // The warning-level class is not listed beside a failing one.
        assert!(
            !f[0].message.contains("element_dropped"),
            "{}",
            f[0].message
        );
        assert!(!f.iter().any(|f| f.message.contains("case_changed")));
    }

    #[test]
    fn environment_probes_are_found_with_their_line() {
        let src = "import sys, os\n# sys.platform in a comment is fine\nif sys.platform == 'wasi':\n    pass\nh = sys.modules.get('harness')\nf = sys._getframe(1).f_back\nx = 'wasi' in os.name\n";
        let hits: Vec<(usize, &str)> = environment_probes(src)
            .iter()
            .map(|h| (h.line, h.probe))
            .collect();
        assert_eq!(
            hits,
            vec![
                (3, "sys.platform"),
                (5, "sys.modules"),
                (6, "_getframe"),
                (7, "os.name")
            ]
        );
        assert!(environment_probes("import random\nx = random.randint(1, 2)\n").is_empty());
    }

    #[test]
    fn wilson_interval_matches_known_values() {
        let (lo, hi) = wilson_interval(20, 40);
        assert!(
            (lo - 0.352).abs() < 0.002 && (hi - 0.648).abs() < 0.002,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson_interval(0, 40);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.0876).abs() < 0.002, "{hi}");
        assert_eq!(wilson_interval(0, 0), (0.0, 1.0));
    }

    #[test]
    fn band_uses_the_point_estimate() {
        assert_eq!(band(0.9, 0.03, 0.85), Band::TooEasy);
        assert_eq!(band(0.0, 0.03, 0.85), Band::TooHardOrBroken);
        assert_eq!(band(0.5, 0.03, 0.85), Band::InBand);
        assert_eq!(band(0.85, 0.03, 0.85), Band::InBand);
    }

    #[test]
    fn a_verifier_that_raises_on_every_answer_is_named() {
        assert!(verifier_always_raises(40, 40));
        assert!(!verifier_always_raises(40, 39));
        assert!(!verifier_always_raises(5, 5), "too few calls to say");
        assert!(!verifier_always_raises(0, 0));
    }

    #[test]
    fn docstrings_are_not_environment_probes() {
        let source = "\"\"\"A bootcamp shipped with bootforge.\n\nIt runs on any platform.\n\"\"\"\nimport sys\n\nclass B:\n    '''Docs: see wasi notes.'''\n    def f(self):\n        return sys.platform\n";
        let hits = environment_probes(source);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!((hits[0].probe, hits[0].line), ("sys.platform", 10));
    }
}
