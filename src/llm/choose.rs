//! Which endpoint of a fleet serves the next request, and how long a failing
//! endpoint cools down: pure functions over a snapshot of the fleet, so the
//! rules are tested without a server (the async shell is [`super::fleet`]).
//!
//! Rules:
//! - an endpoint is *usable* when it is not excluded for this request (it
//!   failed it past its retries), not cooling down, and has a free slot;
//!   an endpoint whose last attempt failed gets one request at a time until
//!   one succeeds (a probe), so a dead replica costs one attempt per
//!   cool-down rather than one per waiting request;
//! - among usable endpoints the one with the most free capacity by weight
//!   wins: `weight x free slots / concurrency`, ties to the fewest in flight,
//!   then the first listed;
//! - when none is usable the request waits (for a slot, or until the first
//!   cool-down ends);
//! - it gives up when every endpoint is excluded or *down*: failed past its
//!   retries across requests (consecutive failure rounds; attempts already
//!   in flight when a round failed count with it, see [`new_round`]). While
//!   some endpoint is up, a down one is still probed after its cool-down, so
//!   a restarted replica comes back.

use std::time::Duration;

/// One endpoint as the choice sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub in_flight: usize,
    pub concurrency: usize,
    pub weight: f64,
    /// Consecutive failed attempts (any request); 0 when the last one worked.
    pub failures: u32,
    /// Time left of its cool-down (zero: not cooling).
    pub cooling: Duration,
    /// This request may not use it any more (failed it past its retries,
    /// or refused it for good).
    pub excluded: bool,
    /// Failed past its retries across requests.
    pub down: bool,
}

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Choice {
    /// Send it to this endpoint.
    Use(usize),
    /// Wait for a free slot, or at most this long (a cool-down ending).
    Wait(Option<Duration>),
    /// Every endpoint is excluded: the request failed everywhere.
    GiveUp,
}

fn slots(v: &View) -> usize {
    if v.failures > 0 {
        1
    } else {
        v.concurrency.max(1)
    }
}

/// The next step of one request.
pub fn choose(fleet: &[View]) -> Choice {
    if fleet.iter().all(|v| v.excluded || v.down) {
        return Choice::GiveUp;
    }
    let score = |v: &View| {
        let free = slots(v).saturating_sub(v.in_flight) as f64;
        v.weight.max(0.0) * free / v.concurrency.max(1) as f64
    };
    let best = fleet
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.excluded && v.cooling.is_zero() && v.in_flight < slots(v))
        .max_by(|(ia, a), (ib, b)| {
            score(a)
                .total_cmp(&score(b))
                .then(b.in_flight.cmp(&a.in_flight))
                .then(ib.cmp(ia))
        });
    if let Some((index, _)) = best {
        return Choice::Use(index);
    }
    let next_ready = fleet
        .iter()
        .filter(|v| !v.excluded && !v.cooling.is_zero())
        .map(|v| v.cooling)
        .min();
    Choice::Wait(next_ready)
}

/// Whether a failed attempt starts a new failure round: only attempts
/// started after the previous counted failure do, so a replica that dies
/// with 32 requests in flight has failed once, not 32 times.
pub fn new_round(started_after_last_failure: bool, failing: bool) -> bool {
    !failing || started_after_last_failure
}

/// Cool-down after `failures` consecutive failures: `base` doubled per
/// failure, capped at `max`, scaled by `jitter` in [0, 1] to between half and
/// all of it (so replicas failing together do not come back together).
pub fn cooldown(failures: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let full = base.saturating_mul(1u32 << (failures - 1).min(16)).min(max);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(in_flight: usize, concurrency: usize, weight: f64) -> View {
        View {
            in_flight,
            concurrency,
            weight,
            failures: 0,
            cooling: Duration::ZERO,
            excluded: false,
            down: false,
        }
    }

    #[test]
    fn most_free_capacity_by_weight_wins() {
        assert_eq!(choose(&[up(3, 4, 1.0), up(1, 4, 1.0)]), Choice::Use(1));
        // Same free share, double weight.
        assert_eq!(choose(&[up(2, 4, 1.0), up(2, 4, 2.0)]), Choice::Use(1));
        // Free share counts, not free slots: 1 of 2 free beats 4 of 16.
        assert_eq!(choose(&[up(12, 16, 1.0), up(1, 2, 1.0)]), Choice::Use(1));
        // Ties go to the first listed.
        assert_eq!(choose(&[up(0, 4, 1.0), up(0, 4, 1.0)]), Choice::Use(0));
    }

    #[test]
    fn full_cooling_and_excluded_endpoints_are_skipped() {
        let mut cooling = up(0, 4, 5.0);
        cooling.cooling = Duration::from_millis(300);
        let mut excluded = up(0, 4, 5.0);
        excluded.excluded = true;
        assert_eq!(choose(&[cooling, excluded, up(3, 4, 1.0)]), Choice::Use(2));
        // Nothing free: wait for the first cool-down to end.
        let mut later = cooling;
        later.cooling = Duration::from_secs(2);
        assert_eq!(
            choose(&[later, cooling, excluded, up(4, 4, 1.0)]),
            Choice::Wait(Some(Duration::from_millis(300)))
        );
        // Nothing cooling, all full: wait for a slot.
        assert_eq!(choose(&[up(4, 4, 1.0)]), Choice::Wait(None));
        // Excluded endpoints' cool-downs do not matter to this request.
        let mut gone = later;
        gone.excluded = true;
        assert_eq!(choose(&[gone, up(2, 2, 1.0)]), Choice::Wait(None));
        assert_eq!(choose(&[excluded, gone]), Choice::GiveUp);
    }

    #[test]
    fn a_failing_endpoint_gets_one_probe_at_a_time() {
        let mut failing = up(0, 8, 10.0);
        failing.failures = 3;
        assert_eq!(choose(&[failing, up(7, 8, 1.0)]), Choice::Use(0));
        failing.in_flight = 1;
        assert_eq!(choose(&[failing, up(7, 8, 1.0)]), Choice::Use(1));
        assert_eq!(choose(&[failing]), Choice::Wait(None));
    }

    #[test]
    fn down_endpoints_are_probed_while_another_is_up() {
        let mut down = up(0, 8, 1.0);
        down.failures = 6;
        down.down = true;
        assert_eq!(choose(&[down, up(8, 8, 1.0)]), Choice::Use(0));
        down.cooling = Duration::from_secs(1);
        assert_eq!(
            choose(&[down, up(8, 8, 1.0)]),
            Choice::Wait(Some(Duration::from_secs(1)))
        );
        let mut excluded = up(0, 8, 1.0);
        excluded.excluded = true;
        assert_eq!(choose(&[down, excluded]), Choice::GiveUp);
        assert_eq!(choose(&[down]), Choice::GiveUp);
    }

    #[test]
    fn overlapping_failures_are_one_round() {
        assert!(new_round(false, false), "the first failure counts");
        assert!(!new_round(false, true), "in flight when it failed");
        assert!(new_round(true, true), "a probe after the failure");
    }

    #[test]
    fn cooldown_backs_off_with_a_cap_and_jitter() {
        let base = Duration::from_millis(100);
        let max = Duration::from_millis(1000);
        assert_eq!(cooldown(0, base, max, 1.0), Duration::ZERO);
        assert_eq!(cooldown(1, base, max, 1.0), base);
        assert_eq!(cooldown(3, base, max, 1.0), Duration::from_millis(400));
        assert_eq!(cooldown(30, base, max, 1.0), max);
        assert_eq!(cooldown(3, base, max, 0.0), Duration::from_millis(200));
        for j in [0.0, 0.3, 0.99] {
            let d = cooldown(5, base, max, j);
            assert!(d >= max / 2 && d <= max, "{d:?}");
        }
    }
}
