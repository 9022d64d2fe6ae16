//! `bench --only calibrate`: solver calls the calibration search takes to
//! reach a target accuracy within 0.1, against a plain grid search, on
//! simulated solvers with known accuracy curves (binomial draws from a
//! seeded generator: no sandbox, no server; the search is the pure
//! [`bootforge::calibrate::search`] the command runs).

use serde::Serialize;

use bootforge::calibrate::search::{self, Next, Param, Plan, Probe};

/// One accuracy curve: the chance of a right answer at `size` is
/// `1 / (1 + (size / half)^3)`, starting from size 3.
#[derive(Debug, Serialize)]
pub struct CurveResult {
    pub half: f64,
    pub runs: usize,
    /// Mean solver calls until a setting within the tolerance was measured.
    pub search_calls: f64,
    pub grid_calls: f64,
    /// Runs that reached it within the budget.
    pub search_met: usize,
    pub grid_met: usize,
    /// Mean |true accuracy - target| at the setting chosen.
    pub search_true_error: f64,
    pub grid_true_error: f64,
}

#[derive(Debug, Serialize)]
pub struct CalibrateBench {
    pub target: f64,
    pub tolerance: f64,
    pub cases_per_setting: usize,
    pub budget: usize,
    /// The grid: sizes 3, 6, 9, ... in order until one is within tolerance.
    pub grid: String,
    pub curves: Vec<CurveResult>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn chance(size: f64, half: f64) -> f64 {
    1.0 / (1.0 + (size / half).powi(3))
}

fn draw(rng: &mut Rng, p: f64, n: usize) -> usize {
    (0..n).filter(|_| rng.next() < p).count()
}

pub fn bench_calibrate(quick: bool) -> CalibrateBench {
    let runs = if quick { 10 } else { 200 };
    let (target, tolerance, cases, budget) = (0.5, 0.1, 20, 4000);
    let plan = Plan {
        targets: vec![target],
        tolerance,
        cases,
        max_calls: budget,
    };
    let params = [Param {
        name: "size".into(),
        default: 3.0,
        integer: true,
    }];
    let mut curves = Vec::new();
    for half in [6.0, 12.0, 24.0, 48.0, 96.0] {
        let mut r = CurveResult {
            half,
            runs,
            search_calls: 0.0,
            grid_calls: 0.0,
            search_met: 0,
            grid_met: 0,
            search_true_error: 0.0,
            grid_true_error: 0.0,
        };
        for run in 0..runs {
            let mut rng = Rng(run as u64 * 7919 + half as u64);
            // The search.
            let mut probes: Vec<Probe> = Vec::new();
            let mut calls = 0;
            while let Next::Probe(values) = search::next(&params, &probes, &plan) {
                let correct = draw(&mut rng, chance(values[0], half), cases);
                calls += cases;
                let size = values[0];
                probes.push(Probe {
                    values,
                    correct,
                    cases,
                    bound: None,
                });
                if (correct as f64 / cases as f64 - target).abs() <= tolerance {
                    r.search_met += 1;
                    r.search_true_error += (chance(size, half) - target).abs();
                    break;
                }
            }
            r.search_calls += calls as f64;
            // The grid.
            let mut calls = 0;
            let mut size = 3.0;
            while calls + cases <= budget {
                let correct = draw(&mut rng, chance(size, half), cases);
                calls += cases;
                if (correct as f64 / cases as f64 - target).abs() <= tolerance {
                    r.grid_met += 1;
                    r.grid_true_error += (chance(size, half) - target).abs();
                    break;
                }
                size += 3.0;
            }
            r.grid_calls += calls as f64;
        }
        r.search_calls /= runs as f64;
        r.grid_calls /= runs as f64;
        r.search_true_error /= r.search_met.max(1) as f64;
        r.grid_true_error /= r.grid_met.max(1) as f64;
        curves.push(r);
    }
    CalibrateBench {
        target,
        tolerance,
        cases_per_setting: cases,
        budget,
        grid: "sizes 3, 6, 9, ... until one is within the tolerance".into(),
        curves,
    }
}
