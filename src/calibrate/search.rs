//! The calibration search, purely: from the constructor's numeric parameters
//! and the probes measured so far, decide the next setting to measure or
//! that the search is over, with the setting chosen for each target and,
//! for a target missed, the reason.
//!
//! The search finds which parameter moves the accuracy (each one raised from
//! its default, the others held), then walks that one parameter: doubling
//! away from the measured points until the target is bracketed, then
//! bisecting. Parameters named as a range's two ends (`min_size` and
//! `max_size`, `size_min` and `size_max`, `lo` and `hi`, ...) move as one:
//! the upper end leads and the lower end is scaled with it, so the range
//! never turns inside out. A setting whose cases fail a check or run out of
//! time is a bound: the search bisects towards it but never past it.
//! Everything is recomputed from the probes, so a resumed search takes the
//! same steps.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One numeric constructor parameter and its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub default: f64,
    /// An integer parameter takes integer values only.
    pub integer: bool,
}

/// Why a setting is out of bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "bound")]
pub enum Bound {
    /// A guest call ran past the per-call time budget.
    Time { message: String },
    /// Generating, rendering or grading a case failed.
    Failed { message: String },
    /// A check stage (every one but the solver's, run at the setting)
    /// failed: `stage` and the finding's `kind` by their stable names.
    Check {
        stage: String,
        kind: String,
        message: String,
    },
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::Time { message } => write!(f, "the per-call time budget ({message})"),
            Bound::Failed { message } => write!(f, "a failing check ({message})"),
            Bound::Check {
                stage,
                kind,
                message,
            } => write!(f, "{stage} failed: {kind} ({message})"),
        }
    }
}

/// A measured setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// The numeric parameters as measured (the others are left as they are).
    pub values: Vec<f64>,
    pub correct: usize,
    pub cases: usize,
    pub bound: Option<Bound>,
}

impl Probe {
    pub fn accuracy(&self) -> Option<f64> {
        (self.bound.is_none() && self.cases > 0).then(|| self.correct as f64 / self.cases as f64)
    }
}

/// How the search is run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub targets: Vec<f64>,
    /// How near a target an accuracy must be to meet it.
    pub tolerance: f64,
    /// Solver calls one probe takes.
    pub cases: usize,
    /// Solver calls the search may spend in all.
    pub max_calls: usize,
}

/// Why the search gave up on a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Miss {
    /// No parameter moved the accuracy.
    Flat,
    /// The next probe would pass the solver-call budget.
    Budget,
    /// The settings that would reach it are out of bounds.
    Bound(Bound),
    /// Neighbouring integer values lie on both sides of the target.
    Resolution,
    /// No numeric parameter to move.
    NoParams,
    /// The parameter reached the edge of its range (below 1 or 0).
    Limit,
}

impl std::fmt::Display for Miss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Miss::Flat => f.write_str("no parameter moves the accuracy"),
            Miss::Budget => f.write_str("the solver-call budget is spent"),
            Miss::Bound(b @ Bound::Check { .. }) => write!(f, "stopped by a failing check: {b}"),
            Miss::Bound(b) => write!(f, "stopped by {b}"),
            Miss::Resolution => {
                f.write_str("neighbouring integer settings lie on both sides of it")
            }
            Miss::NoParams => f.write_str("the constructor has no numeric parameter"),
            Miss::Limit => f.write_str("the parameter reached the edge of its range"),
        }
    }
}

/// What one target got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetResult {
    pub target: f64,
    /// The probe that meets it (or, when missed, the nearest in bounds).
    pub probe: Option<usize>,
    pub met: bool,
    pub miss: Option<Miss>,
}

/// The next step.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Probe(Vec<f64>),
    Done {
        /// The parameter walked (a range's upper end), by index, if one was
        /// found.
        moving: Option<usize>,
        targets: Vec<TargetResult>,
    },
}

/// The smallest change in accuracy that counts as moving it.
const MOVES: f64 = 0.1;

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
}

fn find(probes: &[Probe], values: &[f64]) -> Option<usize> {
    probes.iter().position(|p| same(&p.values, values))
}

/// A value raised for the sensitivity probes.
fn raised(value: f64, integer: bool) -> f64 {
    if integer {
        (value * 2.0).max(value + 2.0).round()
    } else if value == 0.0 {
        1.0
    } else {
        value * 2.0
    }
}

/// How many times a parameter is raised (doubled) looking for a change: 3 becomes 192.
const RAISES: usize = 6;

fn defaults(params: &[Param]) -> Vec<f64> {
    params.iter().map(|p| p.default).collect()
}

/// Which end of a range a parameter's name says it is: the range's name
/// (with the spelling of its ends, so `lo` pairs with `hi`, not `max`) and
/// whether it is the upper end.
fn range_end(name: &str) -> Option<(String, bool)> {
    const ENDS: [(&str, &str); 4] = [
        ("min", "max"),
        ("lo", "hi"),
        ("low", "high"),
        ("lower", "upper"),
    ];
    let lower = name.to_ascii_lowercase();
    for (low, high) in ENDS {
        for (end, upper) in [(low, false), (high, true)] {
            let family = format!("{low}/{high}");
            if lower == end {
                return Some((family, upper));
            }
            if let Some(stem) = lower.strip_prefix(&format!("{end}_")) {
                return Some((format!("{family}:{stem}_"), upper));
            }
            if let Some(stem) = lower.strip_suffix(&format!("_{end}")) {
                return Some((format!("{family}:_{stem}"), upper));
            }
        }
    }
    None
}

/// A direction the search moves in: one parameter, or a range's upper end
/// (`lead`) with its lower end (`partner`) scaled along.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    lead: usize,
    partner: Option<usize>,
}

/// The parameters as the search moves them: each range's two ends as one
/// axis (found by name, both numeric, the lower end's default not above
/// the upper's), every other parameter on its own, in parameter order.
fn axes(params: &[Param]) -> Vec<Axis> {
    let ends: Vec<Option<(String, bool)>> = params.iter().map(|p| range_end(&p.name)).collect();
    let partner_of = |i: usize| -> Option<usize> {
        let (range, upper) = ends[i].as_ref()?;
        let found: Vec<usize> = (0..params.len())
            .filter(|&j| {
                ends[j]
                    .as_ref()
                    .is_some_and(|(r, u)| r == range && u != upper)
            })
            .collect();
        // Exactly one other end, and the defaults in order.
        let [j] = found[..] else { return None };
        let (low, high) = if *upper { (j, i) } else { (i, j) };
        (params[low].default <= params[high].default).then_some(j)
    };
    let mut out = Vec::new();
    for (i, end) in ends.iter().enumerate() {
        match (partner_of(i), end.as_ref().is_some_and(|(_, upper)| *upper)) {
            (Some(j), true) => out.push(Axis {
                lead: i,
                partner: Some(j),
            }),
            // The lower end moves with its upper end.
            (Some(_), false) => {}
            (None, _) => out.push(Axis {
                lead: i,
                partner: None,
            }),
        }
    }
    out
}

/// The name of the axis a parameter leads: a range as `min_size+max_size`.
pub fn axis_name(params: &[Param], lead: usize) -> String {
    match axes(params)
        .iter()
        .find(|a| a.lead == lead)
        .and_then(|a| a.partner)
    {
        Some(partner) => format!("{}+{}", params[partner].name, params[lead].name),
        None => params[lead].name.clone(),
    }
}

/// The defaults with the axis at `value`: a range's lower end scaled by the
/// same factor as its upper end (shifted by the same amount when the upper
/// end's default is 0), never above it.
fn with(params: &[Param], axis: Axis, value: f64) -> Vec<f64> {
    let mut v = defaults(params);
    v[axis.lead] = value;
    if let Some(j) = axis.partner {
        let lead = &params[axis.lead];
        let partner = &params[j];
        let mut moved = if lead.default != 0.0 {
            partner.default * value / lead.default
        } else {
            partner.default + value
        };
        if partner.integer {
            moved = moved.round();
            if partner.default >= 1.0 {
                moved = moved.max(1.0);
            }
        }
        v[j] = moved.min(value);
    }
    v
}

/// Decide the next probe, or that the search is over.
pub fn next(params: &[Param], probes: &[Probe], plan: &Plan) -> Next {
    let spent: usize = probes.iter().map(|p| p.cases).sum();
    let affordable = spent + plan.cases <= plan.max_calls;
    let done_all = |miss: Miss, moving: Option<usize>| Next::Done {
        moving,
        targets: plan
            .targets
            .iter()
            .map(|&t| nearest(probes, t, plan.tolerance, Some(miss.clone())))
            .collect(),
    };
    if params.is_empty() {
        if find(probes, &[]).is_none() {
            return if affordable {
                Next::Probe(Vec::new())
            } else {
                done_all(Miss::Budget, None)
            };
        }
        return done_all(Miss::NoParams, None);
    }
    let base = defaults(params);
    let Some(base_index) = find(probes, &base) else {
        return if affordable {
            Next::Probe(base)
        } else {
            done_all(Miss::Budget, None)
        };
    };
    let Some(base_acc) = probes[base_index].accuracy() else {
        let bound = probes[base_index]
            .bound
            .clone()
            .expect("no accuracy means a bound");
        return done_all(Miss::Bound(bound), None);
    };
    // Each axis raised (doubled) from its default, the others held, until
    // the accuracy moves or a bound stops it. The one that moves the
    // accuracy most is walked; failing that, one stopped by a bound (its
    // cost grows with it, so it likely sets the difficulty).
    let all = axes(params);
    let mut moved: Option<(Axis, f64, bool)> = None;
    let mut bounded: Option<Axis> = None;
    for &axis in &all {
        let p = &params[axis.lead];
        let mut value = p.default;
        for _ in 0..RAISES {
            value = raised(value, p.integer);
            let values = with(params, axis, value);
            let Some(index) = find(probes, &values) else {
                return if affordable {
                    Next::Probe(values)
                } else {
                    done_all(Miss::Budget, None)
                };
            };
            match probes[index].accuracy() {
                None => {
                    bounded.get_or_insert(axis);
                    break;
                }
                Some(acc) => {
                    let delta = (acc - base_acc).abs();
                    if delta >= MOVES - 1e-9 {
                        if moved.is_none_or(|(_, d, _)| delta > d) {
                            moved = Some((axis, delta, acc < base_acc));
                        }
                        break;
                    }
                }
            }
        }
    }
    let (axis, harder_up) = match (moved, bounded) {
        (Some((i, _, harder)), _) => (i, harder),
        (None, Some(i)) => (i, true),
        (None, None) => return done_all(Miss::Flat, None),
    };
    let p = &params[axis.lead];
    // Points along the axis, the others at their defaults.
    let mut line: Vec<(f64, &Probe)> = probes
        .iter()
        .filter(|pr| same(&pr.values, &with(params, axis, pr.values[axis.lead])))
        .map(|pr| (pr.values[axis.lead], pr))
        .collect();
    line.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut results = Vec::new();
    let mut want: Option<f64> = None;
    for &target in &plan.targets {
        match walk(p, &line, target, plan.tolerance, harder_up) {
            Step::Met(i) => results.push(TargetResult {
                target,
                probe: find(probes, &line[i].1.values),
                met: true,
                miss: None,
            }),
            Step::Miss(miss) => {
                results.push(nearest(probes, target, plan.tolerance, Some(miss)));
            }
            Step::Try(value) if find(probes, &with(params, axis, value)).is_some() => {
                // Measured already (a curve that is not monotone): stop here
                // rather than measure it again.
                results.push(nearest(
                    probes,
                    target,
                    plan.tolerance,
                    Some(Miss::Resolution),
                ));
            }
            Step::Try(value) => {
                if want.is_none() {
                    want = Some(value);
                }
                results.push(nearest(probes, target, plan.tolerance, Some(Miss::Budget)));
            }
        }
    }
    match want {
        Some(value) if affordable => Next::Probe(with(params, axis, value)),
        _ => Next::Done {
            moving: Some(axis.lead),
            targets: results,
        },
    }
}

/// The probe nearest a target among those in bounds.
fn nearest(probes: &[Probe], target: f64, tolerance: f64, miss: Option<Miss>) -> TargetResult {
    let best = probes
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.accuracy().map(|a| (i, (a - target).abs())))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let met = best.is_some_and(|(_, d)| d <= tolerance + 1e-12);
    TargetResult {
        target,
        probe: best.map(|(i, _)| i),
        met,
        miss: if met { None } else { miss },
    }
}

enum Step {
    Met(usize),
    Try(f64),
    Miss(Miss),
}

fn walk(p: &Param, line: &[(f64, &Probe)], target: f64, tolerance: f64, harder_up: bool) -> Step {
    // Met already?
    let mut best: Option<(usize, f64)> = None;
    for (i, (_, pr)) in line.iter().enumerate() {
        if let Some(a) = pr.accuracy() {
            let d = (a - target).abs();
            if d <= tolerance + 1e-12 && best.is_none_or(|(_, bd)| d < bd) {
                best = Some((i, d));
            }
        }
    }
    if let Some((i, _)) = best {
        return Step::Met(i);
    }
    // Ease is how far below the target a point is, oriented so that moving
    // up the line makes the task easier when `!harder_up`.
    let easy = |pr: &Probe| pr.accuracy().map(|a| a > target);
    // The points in bounds that are too easy and too hard, and the bounds.
    let too_easy: Vec<f64> = line
        .iter()
        .filter(|(_, pr)| easy(pr) == Some(true))
        .map(|(v, _)| *v)
        .collect();
    let too_hard: Vec<f64> = line
        .iter()
        .filter(|(_, pr)| easy(pr) == Some(false))
        .map(|(v, _)| *v)
        .collect();
    let bounded: Vec<(f64, &Bound)> = line
        .iter()
        .filter_map(|(v, pr)| pr.bound.as_ref().map(|b| (*v, b)))
        .collect();
    // Towards harder: up when harder_up. `edge` is the hardest too-easy
    // point; `beyond` the easiest too-hard point.
    let (edge, beyond) = if harder_up {
        (
            too_easy.iter().copied().reduce(f64::max),
            too_hard.iter().copied().reduce(f64::min),
        )
    } else {
        (
            too_easy.iter().copied().reduce(f64::min),
            too_hard.iter().copied().reduce(f64::max),
        )
    };
    let midpoint = |a: f64, b: f64| -> Option<f64> {
        let m = if p.integer {
            ((a + b) / 2.0).round()
        } else {
            (a + b) / 2.0
        };
        let close = if p.integer {
            (a - b).abs() <= 1.0
        } else {
            (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
        };
        (!close && (m - a).abs() > 1e-12 && (m - b).abs() > 1e-12).then_some(m)
    };
    match (edge, beyond) {
        (Some(e), Some(h)) => match midpoint(e, h) {
            Some(m) => Step::Try(m),
            None => Step::Miss(Miss::Resolution),
        },
        (Some(e), None) => {
            // Every measured point is too easy: go harder, up to a bound.
            let nearest_bound = bounded
                .iter()
                .filter(|(v, _)| if harder_up { *v > e } else { *v < e })
                .min_by(|a, b| (a.0 - e).abs().total_cmp(&(b.0 - e).abs()));
            if let Some((bv, bound)) = nearest_bound {
                return match midpoint(e, *bv) {
                    Some(m) => Step::Try(m),
                    None => Step::Miss(Miss::Bound((*bound).clone())),
                };
            }
            step_out(p, e, harder_up)
        }
        (None, Some(h)) => {
            // Every point too hard: go easier.
            let nearest_bound = bounded
                .iter()
                .filter(|(v, _)| if harder_up { *v < h } else { *v > h })
                .min_by(|a, b| (a.0 - h).abs().total_cmp(&(b.0 - h).abs()));
            if let Some((bv, bound)) = nearest_bound {
                return match midpoint(h, *bv) {
                    Some(m) => Step::Try(m),
                    None => Step::Miss(Miss::Bound((*bound).clone())),
                };
            }
            step_out(p, h, !harder_up)
        }
        (None, None) => Step::Miss(Miss::Flat),
    }
}

/// The next value beyond `from`, doubling its distance from the start of the
/// range (up) or halving it (down).
fn step_out(p: &Param, from: f64, up: bool) -> Step {
    let floor = if p.integer { 1.0 } else { 0.0 };
    let value = if up {
        if p.integer {
            (from * 2.0).max(from + 1.0).round()
        } else if from <= 0.0 {
            1.0
        } else {
            from * 2.0
        }
    } else if p.integer {
        (from / 2.0).floor().min(from - 1.0)
    } else {
        from / 2.0
    };
    if value < floor || (!p.integer && !up && value < 1e-9) || (value - from).abs() < 1e-12 {
        Step::Miss(Miss::Limit)
    } else {
        Step::Try(value)
    }
}

/// The constructor keyword arguments for `values`: `base` with the numeric
/// parameters replaced (integers as JSON integers).
pub fn to_params(
    base: &Map<String, Value>,
    params: &[Param],
    values: &[f64],
) -> Map<String, Value> {
    let mut out = base.clone();
    for (p, v) in params.iter().zip(values) {
        let value = if p.integer {
            Value::from(v.round() as i64)
        } else {
            serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number)
        };
        out.insert(p.name.clone(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(name: &str, default: f64) -> Param {
        Param {
            name: name.into(),
            default,
            integer: true,
        }
    }

    /// Run the search against an exact accuracy curve; returns the result
    /// and the solver calls spent.
    fn run(
        params: &[Param],
        curve: impl Fn(&[f64]) -> Result<f64, Bound>,
        plan: &Plan,
    ) -> (Option<usize>, Vec<TargetResult>, Vec<Probe>) {
        let mut probes = Vec::new();
        for _ in 0..200 {
            match next(params, &probes, plan) {
                Next::Probe(values) => {
                    assert!(find(&probes, &values).is_none(), "probed {values:?} twice");
                    let probe = match curve(&values) {
                        Ok(acc) => Probe {
                            values,
                            correct: (acc * plan.cases as f64).round() as usize,
                            cases: plan.cases,
                            bound: None,
                        },
                        Err(bound) => Probe {
                            values,
                            correct: 0,
                            cases: plan.cases,
                            bound: Some(bound),
                        },
                    };
                    probes.push(probe);
                }
                Next::Done { moving, targets } => return (moving, targets, probes),
            }
        }
        panic!("the search did not end");
    }

    fn plan(targets: &[f64]) -> Plan {
        Plan {
            targets: targets.to_vec(),
            tolerance: 0.1,
            cases: 20,
            max_calls: 2000,
        }
    }

    fn logistic(size: f64, half: f64) -> f64 {
        1.0 / (1.0 + (size / half).powi(3))
    }

    #[test]
    fn one_parameter_reaches_each_target() {
        let params = [int("size", 3.0)];
        let (moving, targets, probes) = run(
            &params,
            |v| Ok(logistic(v[0], 20.0)),
            &plan(&[0.2, 0.5, 0.8]),
        );
        assert_eq!(moving, Some(0));
        for t in &targets {
            assert!(t.met, "{t:?} in {probes:?}");
            let acc = probes[t.probe.unwrap()].accuracy().unwrap();
            assert!((acc - t.target).abs() <= 0.1, "{acc} for {}", t.target);
        }
        assert!(probes.len() < 15, "{} probes", probes.len());
    }

    #[test]
    fn the_parameter_that_moves_is_found_among_two() {
        let params = [int("noise", 4.0), int("size", 2.0)];
        let (moving, targets, _) = run(&params, |v| Ok(logistic(v[1], 10.0)), &plan(&[0.5]));
        assert_eq!(moving, Some(1));
        assert!(targets[0].met);
    }

    #[test]
    fn a_parameter_that_makes_it_easier_is_walked_the_other_way() {
        // Raising `hints` makes it easier: a hard default must go up.
        let params = [int("hints", 2.0)];
        let (_, targets, probes) = run(&params, |v| Ok(1.0 - logistic(v[0], 12.0)), &plan(&[0.5]));
        assert!(targets[0].met, "{probes:?}");
    }

    #[test]
    fn flat_accuracy_and_no_parameters_say_why() {
        let params = [int("size", 5.0)];
        let (_, targets, _) = run(&params, |_| Ok(1.0), &plan(&[0.5]));
        assert_eq!(targets[0].miss, Some(Miss::Flat));
        let (_, targets, probes) = run(&[], |_| Ok(1.0), &plan(&[0.5]));
        assert_eq!(probes.len(), 1);
        assert_eq!(targets[0].miss, Some(Miss::NoParams));
    }

    #[test]
    fn a_slow_generator_stops_the_search_at_its_bound() {
        let params = [int("size", 4.0)];
        let slow = |v: &[f64]| {
            if v[0] > 12.0 {
                Err(Bound::Time {
                    message: "timeout".into(),
                })
            } else {
                Ok(logistic(v[0], 40.0))
            }
        };
        let (_, targets, probes) = run(&params, slow, &plan(&[0.5]));
        assert!(!targets[0].met);
        assert!(
            matches!(targets[0].miss, Some(Miss::Bound(Bound::Time { .. }))),
            "{targets:?} {probes:?}"
        );
        // The nearest setting in bounds is the largest that runs.
        let best = &probes[targets[0].probe.unwrap()];
        assert_eq!(best.values, vec![12.0]);
    }

    #[test]
    fn the_budget_stops_the_search() {
        let params = [int("size", 3.0)];
        let mut tight = plan(&[0.5]);
        tight.max_calls = 60;
        let (_, targets, probes) = run(&params, |v| Ok(logistic(v[0], 200.0)), &tight);
        assert_eq!(probes.len(), 3);
        assert_eq!(targets[0].miss, Some(Miss::Budget));
    }

    #[test]
    fn the_two_ends_of_a_range_move_together() {
        let params = [
            int("min_size", 2.0),
            int("noise", 1.0),
            int("max_size", 4.0),
        ];
        assert_eq!(axis_name(&params, 2), "min_size+max_size");
        assert_eq!(axis_name(&params, 1), "noise");
        // The constructor refuses a range inside out; the accuracy follows
        // the mean size.
        let curve = |v: &[f64]| {
            if v[0] > v[2] {
                Err(Bound::Failed {
                    message: "ValueError: min_size > max_size".into(),
                })
            } else {
                Ok(logistic((v[0] + v[2]) / 2.0, 15.0))
            }
        };
        let (moving, targets, probes) = run(&params, curve, &plan(&[0.5]));
        assert_eq!(moving, Some(2));
        assert!(targets[0].met, "{probes:?}");
        for p in &probes {
            assert!(p.values[0] <= p.values[2] && p.bound.is_none(), "{p:?}");
        }
        // The lower end moved with the upper one.
        let chosen = &probes[targets[0].probe.unwrap()].values;
        assert!(chosen[0] > 2.0 && chosen[2] > 4.0, "{chosen:?}");
    }

    #[test]
    fn range_ends_are_found_by_name() {
        let pairs = [
            ("min_size", "max_size"),
            ("size_min", "size_max"),
            ("lo", "hi"),
            ("depth_low", "depth_high"),
        ];
        for (low, high) in pairs {
            let params = [int(low, 1.0), int(high, 3.0)];
            assert_eq!(
                axes(&params),
                vec![Axis {
                    lead: 1,
                    partner: Some(0)
                }],
                "{low} {high}"
            );
        }
        // Ends of different spellings or ranges, or in the wrong order, move
        // on their own.
        for (a, b, da, db) in [
            ("lo", "max", 1.0, 3.0),
            ("min_size", "max_depth", 1.0, 3.0),
            ("min_size", "max_size", 5.0, 3.0),
        ] {
            let params = [int(a, da), int(b, db)];
            assert_eq!(axes(&params).len(), 2, "{a} {b}");
        }
        // The lower end never passes the upper one.
        let params = [int("lo", 3.0), int("hi", 4.0)];
        let axis = axes(&params)[0];
        assert_eq!(with(&params, axis, 8.0), vec![6.0, 8.0]);
        assert_eq!(with(&params, axis, 1.0), vec![1.0, 1.0]);
    }

    #[test]
    fn params_keep_integers_and_other_values() {
        let mut base = Map::new();
        base.insert("mode".into(), Value::from("hard"));
        let params = [
            int("size", 3.0),
            Param {
                name: "p".into(),
                default: 0.5,
                integer: false,
            },
        ];
        let out = to_params(&base, &params, &[7.0, 0.25]);
        assert_eq!(
            Value::Object(out),
            serde_json::json!({"mode": "hard", "p": 0.25, "size": 7})
        );
        assert!(to_params(&base, &params, &[7.0, 0.25])["size"].is_i64());
    }
}
