//! Per-call budgets: counted in the CPU time of the thread running the guest,
//! with a wall-clock ceiling as a backstop.
//!
//! A budget in wall-clock time gives the same file, seed and binary another
//! verdict when the machine is busy: a generator that needs 6 s of CPU takes
//! 12 s of wall time while another process shares its core. The CPU time the
//! worker thread spends is what the bootcamp itself costs, so the budget is
//! counted on the thread's CPU clock (`CLOCK_THREAD_CPUTIME_ID`), read by the
//! epoch callback, which runs on the thread executing the guest (wasmtime
//! runs an async call's fiber on the thread polling it: the pool worker).
//!
//! A guest blocked in a host call (a sleep) uses no CPU at all, so a
//! wall-clock ceiling stays: [`WALL_CEILING_FACTOR`] times the CPU budget
//! unless set. It must not bind on CPU-bound code under load, or the verdict
//! would depend on the load again: a thread sharing a core with `L - 1`
//! other runnable threads gets `1/L` of it, so a factor of 10 keeps verdicts
//! stable up to 10 runnable threads per core (20 busy processes on a 2-core
//! machine), and still stops a sleeping guest, after 100 s at the default
//! 10 s budget.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The default wall-clock ceiling of a call, as a multiple of its CPU budget.
pub const WALL_CEILING_FACTOR: u32 = 10;

/// Which clock a call's budget ([`super::Limits::timeout`]) is counted on,
/// as the reports name it. There is one: the budget once counted wall-clock
/// time, and that mode went with the benchmark that compared the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetClock {
    /// The CPU time of the thread running the guest, with a wall-clock
    /// ceiling as a backstop: verdicts do not depend on the machine's load.
    #[default]
    Cpu,
}

/// Which budget ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetKind {
    /// The CPU-time budget: the guest computed for that long.
    Cpu,
    /// The wall-clock ceiling.
    Wall,
}

/// What a call that ran out of budget had used, for its error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetUse {
    /// The budget that ended the call.
    pub ended_by: BudgetKind,
    /// CPU time the guest's thread spent in the call, ms.
    pub cpu_ms: f64,
    /// Wall-clock time of the call, ms.
    pub wall_ms: f64,
    /// The per-call CPU-time budget, ms.
    pub budget_ms: f64,
    /// The per-call wall-clock ceiling, ms.
    pub wall_ceiling_ms: f64,
    pub clock: BudgetClock,
}

/// The CPU time the calling thread has used so far.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a
    // constant every Linux and macOS libc supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// The clocks of the call in progress on one store.
#[derive(Debug, Clone)]
pub(crate) struct CallClock {
    pub budget: Duration,
    pub wall_ceiling: Duration,
    cpu_start: Duration,
    wall_start: Instant,
}

/// What the epoch callback should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Look again after this many epoch ticks.
    Continue(u64),
    /// The call is out of this budget.
    Over(BudgetKind),
}

impl CallClock {
    pub fn idle() -> Self {
        CallClock {
            budget: Duration::ZERO,
            wall_ceiling: Duration::ZERO,
            cpu_start: Duration::ZERO,
            wall_start: Instant::now(),
        }
    }

    /// Start a call's clocks. Must run on the thread that runs the call.
    pub fn start(budget: Duration, wall_ceiling: Duration) -> Self {
        CallClock {
            budget,
            wall_ceiling,
            cpu_start: thread_cpu_time(),
            wall_start: Instant::now(),
        }
    }

    /// CPU and wall time used since the start (on the calling thread).
    pub fn used(&self) -> (Duration, Duration) {
        (
            thread_cpu_time().saturating_sub(self.cpu_start),
            self.wall_start.elapsed(),
        )
    }

    /// Check the budgets now (on the thread running the guest).
    pub fn check(&self, tick: Duration) -> Check {
        let (cpu, wall) = self.used();
        decide(self.budget, self.wall_ceiling, cpu, wall, tick)
    }

    pub fn usage(&self, ended_by: BudgetKind) -> BudgetUse {
        let (cpu, wall) = self.used();
        BudgetUse {
            ended_by,
            cpu_ms: ms(cpu),
            wall_ms: ms(wall),
            budget_ms: ms(self.budget),
            wall_ceiling_ms: ms(self.wall_ceiling),
            clock: BudgetClock::Cpu,
        }
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// The budget rule, pure. The next look is put off by
/// half as many ticks as the nearer budget has left: a thread cannot use
/// more CPU time than wall time passes, and a tick is at least `tick` of wall
/// time. Half, not all: ticks come late (a sleeping ticker oversleeps), and
/// looking only when the whole rest had passed let calls overrun a 3 s
/// budget by 70-90 ms when they had a core to themselves. Halving reads the
/// CPU clock about a dozen times for a 10 s budget and overruns by about a
/// tick.
pub(crate) fn decide(
    budget: Duration,
    wall_ceiling: Duration,
    cpu: Duration,
    wall: Duration,
    tick: Duration,
) -> Check {
    if cpu >= budget {
        return Check::Over(BudgetKind::Cpu);
    }
    if wall >= wall_ceiling {
        return Check::Over(BudgetKind::Wall);
    }
    let left = (budget - cpu).min(wall_ceiling - wall) / 2;
    let ticks = left.as_nanos() / tick.as_nanos().max(1);
    Check::Continue(u64::try_from(ticks).unwrap_or(u64::MAX).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(2);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_cpu_budget_ends_a_call_that_computed_for_it() {
        let d = |cpu, wall| decide(ms(100), ms(1000), ms(cpu), ms(wall), TICK);
        assert_eq!(d(100, 100), Check::Over(BudgetKind::Cpu));
        assert_eq!(d(150, 900), Check::Over(BudgetKind::Cpu));
        // A busy machine: a tenth of a core for the guest, no verdict yet.
        assert_eq!(d(60, 600), Check::Continue(10));
        // Blocked in the host: no CPU, the ceiling ends it.
        assert_eq!(d(1, 1000), Check::Over(BudgetKind::Wall));
    }

    #[test]
    fn the_next_look_waits_for_the_nearer_budget() {
        let d = |cpu, wall| decide(ms(100), ms(1000), ms(cpu), ms(wall), TICK);
        assert_eq!(d(0, 0), Check::Continue(25));
        assert_eq!(d(10, 992), Check::Continue(2));
        assert_eq!(d(99, 99), Check::Continue(1));
    }

    #[test]
    fn the_thread_clock_counts_this_threads_work_only() {
        let start = thread_cpu_time();
        let waited = Instant::now();
        std::thread::sleep(ms(30));
        let asleep = thread_cpu_time() - start;
        assert!(waited.elapsed() >= ms(30));
        // Sleeping costs (almost) no CPU time; the bound is loose on purpose.
        assert!(asleep < ms(30), "{asleep:?}");
        let mut x = 0u64;
        let busy = Instant::now();
        while busy.elapsed() < ms(20) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(thread_cpu_time() > start, "{x}");
    }
}
