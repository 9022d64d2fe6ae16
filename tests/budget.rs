//! Per-call budgets: counted in the guest thread's CPU time, so the verdict
//! does not move with the machine's load; a wall-clock ceiling stops a guest
//! that waits instead of computing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bootforge::sandbox::{BudgetKind, ErrorKind, Stage};
use serde_json::Value;

use crate::util::{bin, bootcamp_with_generator, repo_path, sandbox, spec};

#[test]
fn an_endless_loop_ends_on_its_cpu_budget_with_the_cpu_time_it_used() {
    let mut spec = spec(
        &bootcamp_with_generator("while True:\n    pass"),
        0..1,
        None,
    );
    spec.limits.timeout = Duration::from_millis(300);
    // A ceiling no busy test machine reaches first.
    spec.limits.wall_timeout = Some(Duration::from_secs(120));
    let err = sandbox().run_blocking(spec).error.expect("an endless loop");
    assert_eq!((err.kind, err.stage), (ErrorKind::Timeout, Stage::Generate));
    let used = err.budget.clone().expect("a timeout says what it used");
    assert_eq!(used.ended_by, BudgetKind::Cpu, "{err:?}");
    assert!(used.cpu_ms >= used.budget_ms, "{used:?}");
    assert!(err.message.contains("CPU budget"), "{}", err.message);
}

#[test]
fn a_sleeping_guest_ends_on_the_wall_clock_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sleeper.py");
    std::fs::write(
        &file,
        bootcamp_with_generator("time.sleep(10**6)\nreturn {}"),
    )
    .unwrap();
    let out = bin()
        .args(["sandbox", "run"])
        .arg(&file)
        .args(["--json", "--timeout-ms", "200", "--wall-timeout-ms", "600"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let err = &summary["summary"]["error"];
    assert_eq!(err["kind"], "timeout", "{err}");
    assert_eq!(err["budget"]["ended_by"], "wall", "{err}");
    assert_eq!(err["budget"]["wall_ceiling_ms"], 600.0, "{err}");
    // Asleep, it used (nearly) none of its CPU budget.
    assert!(err["budget"]["cpu_ms"].as_f64().unwrap() < 200.0, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("wall-clock ceiling"),
        "{err}"
    );
}

#[test]
fn a_zero_wall_ceiling_is_bad_usage() {
    let out = bin()
        .args(["check", "x.py", "--wall-timeout-ms", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--wall-timeout-ms"), "{stderr}");
}

/// The first CPU this process may run on.
fn one_cpu() -> usize {
    // SAFETY: a zeroed cpu_set_t is a valid empty set, filled by the call.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let rc = libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
        assert_eq!(rc, 0, "sched_getaffinity");
        (0..libc::CPU_SETSIZE as usize)
            .find(|&cpu| libc::CPU_ISSET(cpu, &set))
            .expect("some CPU")
    }
}

fn pin_current_thread(cpu: usize) -> libc::c_int {
    // SAFETY: the set is built in place and only read by the call; pid 0
    // is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    }
}

/// CPU-bound threads pinned to `cpu`, stopped when dropped (or after two
/// minutes, whatever happens to the test).
struct Competitors {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<u64>>,
}

impl Competitors {
    fn start(cpu: usize, n: usize) -> Competitors {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    assert_eq!(pin_current_thread(cpu), 0, "pinning a competitor");
                    let until = Instant::now() + Duration::from_secs(120);
                    let mut spins = 0u64;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                        for _ in 0..10_000 {
                            spins = std::hint::black_box(spins.wrapping_add(1));
                        }
                    }
                    spins
                })
            })
            .collect();
        Competitors { stop, threads }
    }
}

impl Drop for Competitors {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// `bootforge check` of the heavy generator, pinned to `cpu` with one
/// sandbox worker; the JSON report.
fn check_pinned(cpu: usize, work: u64, timeout_ms: Option<u64>) -> Value {
    let file = repo_path("tests/bootcamps/budget/heavy_generator.py");
    let mut cmd = bin();
    cmd.arg("check")
        .arg(&file)
        .args(["--json", "--cases", "5", "--workers", "1", "--params"])
        .arg(format!("{{\"work\": {work}}}"));
    if let Some(ms) = timeout_ms {
        cmd.args(["--timeout-ms", &ms.to_string()]);
    }
    // SAFETY: sched_setaffinity is a plain system call, safe between fork
    // and exec; the child and every thread it starts inherit the mask.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            if pin_current_thread(cpu) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(&stdout).unwrap_or_else(|err| {
        panic!(
            "no report ({err}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn generate_share(report: &Value) -> f64 {
    report["metrics"]["budget"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "generate")
        .expect("generate's budget use")["max_share"]
        .as_f64()
        .unwrap()
}

#[test]
fn competitors_on_the_same_core_do_not_change_the_verdict() {
    let cpu = one_cpu();
    let work = 1_000_000;
    // Measure what the slowest case costs here, then give each call a
    // budget of about twice that: room for the 20-75% the same call's CPU
    // time moves between runs on a shared machine, while on the old wall
    // clock three competitors on the same core (a quarter of it for the
    // guest, so 0.45 x 4 = 1.8 budgets) would still time it out.
    let quiet = check_pinned(cpu, work, None);
    assert_eq!(quiet["verdict"], "pass", "{quiet:#}");
    let budget = &quiet["metrics"]["budget"];
    let stages = budget["stages"].as_array().unwrap();
    let generate = stages.iter().find(|s| s["stage"] == "generate").unwrap();
    let cost_ms = generate["max_cpu_ms"].as_f64().unwrap();
    assert!(cost_ms > 0.0, "{budget}");
    let timeout_ms = (cost_ms / 0.45).ceil() as u64;

    let alone = check_pinned(cpu, work, Some(timeout_ms));
    let loaded = {
        let _competitors = Competitors::start(cpu, 3);
        check_pinned(cpu, work, Some(timeout_ms))
    };
    for report in [&alone, &loaded] {
        assert_eq!(report["verdict"], "pass", "{report:#}");
        let share = generate_share(report);
        assert!(share > 0.0 && share < 1.0, "{share}: {report:#}");
        assert_eq!(report["metrics"]["budget"]["clock"], "cpu");
        assert_eq!(
            report["metrics"]["budget"]["budget_ms"], timeout_ms as f64,
            "{report:#}"
        );
    }
    assert_eq!(alone["verdict"], loaded["verdict"]);
    let kinds = |r: &Value| -> Vec<Value> {
        let findings = r["findings"].as_array().unwrap();
        findings
            .iter()
            .filter(|f| f["severity"] == "error")
            .map(|f| f["kind"].clone())
            .collect()
    };
    assert_eq!(kinds(&alone), kinds(&loaded));
    assert_eq!(alone["metrics"]["cases"], loaded["metrics"]["cases"]);
    assert_eq!(
        alone["metrics"]["junk_tried"],
        loaded["metrics"]["junk_tried"]
    );
}

#[test]
fn a_call_near_its_budget_is_reported_with_its_cpu_time() {
    // What a case costs here (the mean over the check's calls), then a
    // budget that puts it at about 0.7: CPU time moves by 20-40% between
    // runs on a shared machine, and 0.7 is as far from 0.5 as from 1.0 in
    // ratio.
    let cpu = one_cpu();
    let quiet = check_pinned(cpu, 1_000_000, None);
    let stages = quiet["metrics"]["budget"]["stages"].as_array().unwrap();
    let generate = stages.iter().find(|s| s["stage"] == "generate").unwrap();
    let cost_ms = generate["total_cpu_ms"].as_f64().unwrap() / generate["calls"].as_f64().unwrap();
    // The same call's CPU time moves by 20-75% between runs on a shared
    // machine, so one budget can land past the call or below half of it:
    // a run that timed out raises the budget, one without the warning
    // lowers it, a few times, and the warning must come in one of them.
    let mut budget_ms = (cost_ms / 0.7).ceil();
    let mut found = None;
    for _ in 0..6 {
        let near = check_pinned(cpu, 1_000_000, Some(budget_ms as u64));
        let warning = near["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == "near_budget")
            .cloned();
        match (near["verdict"].as_str(), warning) {
            (Some("pass"), Some(w)) => {
                found = Some(w);
                break;
            }
            (Some("pass"), None) => budget_ms = (budget_ms / 1.3).ceil(),
            _ => budget_ms = (budget_ms * 1.3).ceil(),
        }
    }
    let finding = found.unwrap_or_else(|| panic!("no near_budget warning in 6 runs"));
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["evidence"]["sandbox_stage"], "generate");
    assert!(finding["evidence"]["max_cpu_ms"].as_f64().unwrap() > 0.0);
    // Far from its budget, nothing is said.
    assert!(
        !quiet["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "near_budget"),
        "{quiet:#}"
    );
}
