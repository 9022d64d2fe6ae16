//! The read side of a stored calibration report (`calibrations.result_json`,
//! a [`super::Report`] as JSON), for what renders one: the lineage's
//! `calibrate` step and the refine prompt's table of settings tried.
//!
//! Lenient where [`super::Report`] is strict, because the store keeps
//! reports of every version: every field takes its default when missing,
//! only the fields readers use are named (unknown ones never fail the
//! read), names stay strings, and numbers are `Option` (serde_json writes
//! NaN as `null`).

use serde::Deserialize;
use serde_json::Value;

/// A stored calibration report, as far as readers use it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StoredCalibration {
    /// The numeric constructor parameters read in the sandbox.
    pub space: Vec<StoredParam>,
    /// The parameter whose value sets the difficulty, if one was found.
    pub moving: Option<String>,
    /// Every setting tried (`None`: the report names none).
    pub tried: Option<Vec<StoredTried>>,
    pub chosen: Vec<StoredChosen>,
    pub solver_calls: Option<u64>,
    pub new_solver_calls: Option<u64>,
}

impl StoredCalibration {
    /// Read a stored report; `None` when it is not one.
    pub fn read(text: &str) -> Option<StoredCalibration> {
        serde_json::from_str(text).ok()
    }

    /// The setting chosen for the test target, met or not.
    pub fn test(&self) -> Option<&StoredChosen> {
        self.chosen
            .iter()
            .find(|c| c.role.as_deref() == Some("test"))
    }
}

/// One numeric constructor parameter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StoredParam {
    pub name: Option<String>,
}

/// One setting tried.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StoredTried {
    /// The constructor keyword arguments, as stored.
    pub params: Value,
    /// `None` when the setting is out of bounds.
    pub accuracy: Option<f64>,
    /// Its 95% interval, low and high.
    pub interval: Vec<Option<f64>>,
    pub correct: Option<u64>,
    pub cases: Option<u64>,
    pub generate_ms_per_case: Option<f64>,
    /// Why the setting is out of bounds, if it is.
    pub bound: Option<StoredBound>,
}

/// Why a setting is out of bounds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StoredBound {
    /// Which bound (`time`, `failed`, `check`).
    pub bound: Option<String>,
    pub message: Option<String>,
}

/// The setting chosen for one target.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StoredChosen {
    /// `test` or `train`.
    pub role: Option<String>,
    /// Why it was missed, in words.
    pub miss: Option<String>,
    /// The interval of the setting met (or the nearest), as stored.
    pub interval: Option<Vec<Option<f64>>>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::calibrate::search::{Bound, Param};
    use crate::calibrate::{Chosen, Report, Tried};

    #[test]
    fn a_report_of_this_version_reads_back() {
        let tried = Tried {
            params: json!({"size": 8}).as_object().unwrap().clone(),
            accuracy: None,
            interval: [0.1, 0.4],
            correct: 5,
            cases: 20,
            solver_calls: 20,
            generate_ms_per_case: 1.5,
            bound: Some(Bound::Time {
                message: "a generate call ran past 1000 ms".into(),
            }),
        };
        let report = Report {
            calibration: 3,
            file: "b.py".into(),
            class: "B".into(),
            model: "m".into(),
            space: vec![Param {
                name: "size".into(),
                default: 4.0,
                integer: true,
            }],
            moving: Some("size".into()),
            tried: vec![tried.clone()],
            chosen: vec![Chosen {
                target: 0.5,
                role: "test".into(),
                met: false,
                miss: Some("too hard".into()),
                miss_kind: None,
                setting: Some(tried),
            }],
            train: vec![],
            test: None,
            solver_calls: 20,
            new_solver_calls: 7,
            stopped_by: None,
            check: None,
        };
        let read = StoredCalibration::read(&serde_json::to_string(&report).unwrap()).unwrap();
        assert_eq!(read.space[0].name.as_deref(), Some("size"));
        assert_eq!(read.moving.as_deref(), Some("size"));
        assert_eq!(
            (read.solver_calls, read.new_solver_calls),
            (Some(20), Some(7))
        );
        let t = &read.tried.as_ref().unwrap()[0];
        assert_eq!(t.params, json!({"size": 8}));
        assert_eq!(t.accuracy, None);
        assert_eq!(t.interval, vec![Some(0.1), Some(0.4)]);
        assert_eq!((t.correct, t.cases), (Some(5), Some(20)));
        assert_eq!(t.generate_ms_per_case, Some(1.5));
        let bound = t.bound.as_ref().unwrap();
        assert_eq!(bound.bound.as_deref(), Some("time"));
        assert_eq!(
            bound.message.as_deref(),
            Some("a generate call ran past 1000 ms")
        );
        let test = read.test().unwrap();
        assert_eq!(test.miss.as_deref(), Some("too hard"));
        assert_eq!(test.interval, Some(vec![Some(0.1), Some(0.4)]));
    }

    #[test]
    fn an_old_or_partial_report_still_reads() {
        // No calibration id, file, model or solver calls; an unknown field;
        // a NaN interval stored as null.
        let read = StoredCalibration::read(
            &json!({
                "space": [{"name": "n"}],
                "tried": [{"params": {"n": 1}, "interval": [null, 1.0], "later": true}],
                "chosen": [{"role": "train"}]
            })
            .to_string(),
        )
        .unwrap();
        assert_eq!(
            read.tried.as_ref().unwrap()[0].interval,
            vec![None, Some(1.0)]
        );
        assert!(read.test().is_none());
        assert_eq!(read.solver_calls, None);
        assert!(StoredCalibration::read("not json").is_none());
    }
}
