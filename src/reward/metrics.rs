//! The service's counters in Prometheus' text exposition format: items
//! scored, the sum of their scores, errors by kind, batches (and malformed
//! ones), and a histogram of batch latency. Lock-free counters, rendered on
//! demand.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::batch::{ErrorKind, Scored};

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    items: AtomicU64,
    /// Sum of scores, in millionths (atomics hold integers).
    score_micros: AtomicU64,
    errors: [AtomicU64; ErrorKind::ALL.len()],
    batches: AtomicU64,
    bad_batches: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_micros: AtomicU64,
}

impl Metrics {
    pub fn bad_batch(&self) {
        self.bad_batches.fetch_add(1, Ordering::Relaxed);
    }

    /// Count an answered batch.
    pub fn batch(&self, scored: &[Scored], elapsed: Duration) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.items.fetch_add(scored.len() as u64, Ordering::Relaxed);
        let mut sum = 0u64;
        for s in scored {
            sum = sum.saturating_add((s.score.clamp(0.0, 1e6) * 1e6) as u64);
            if let Some(err) = &s.error
                && let Some(k) = ErrorKind::ALL.iter().position(|k| *k == err.kind)
            {
                self.errors[k].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.score_micros.fetch_add(sum, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self, bootcamps: usize) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP bootforge_reward_bootcamps Bootcamps this service scores with."
        );
        let _ = writeln!(out, "# TYPE bootforge_reward_bootcamps gauge");
        let _ = writeln!(out, "bootforge_reward_bootcamps {bootcamps}");
        let _ = writeln!(
            out,
            "# HELP bootforge_reward_items_total Items answered (scored or refused)."
        );
        let _ = writeln!(out, "# TYPE bootforge_reward_items_total counter");
        let _ = writeln!(out, "bootforge_reward_items_total {}", get(&self.items));
        let _ = writeln!(
            out,
            "# HELP bootforge_reward_score_sum Sum of the scores answered."
        );
        let _ = writeln!(out, "# TYPE bootforge_reward_score_sum counter");
        let _ = writeln!(
            out,
            "bootforge_reward_score_sum {}",
            get(&self.score_micros) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "# HELP bootforge_reward_errors_total Items answered with an error, by kind."
        );
        let _ = writeln!(out, "# TYPE bootforge_reward_errors_total counter");
        for (kind, count) in ErrorKind::ALL.iter().zip(&self.errors) {
            let _ = writeln!(
                out,
                "bootforge_reward_errors_total{{kind=\"{}\"}} {}",
                kind.as_str(),
                get(count)
            );
        }
        let _ = writeln!(
            out,
            "# HELP bootforge_reward_bad_batches_total Batches refused as malformed (400)."
        );
        let _ = writeln!(out, "# TYPE bootforge_reward_bad_batches_total counter");
        let _ = writeln!(
            out,
            "bootforge_reward_bad_batches_total {}",
            get(&self.bad_batches)
        );
        let _ = writeln!(
            out,
            "# HELP bootforge_reward_batch_seconds Time to answer a batch."
        );
        let _ = writeln!(out, "# TYPE bootforge_reward_batch_seconds histogram");
        for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "bootforge_reward_batch_seconds_bucket{{le=\"{bound}\"}} {}",
                get(count)
            );
        }
        let batches = get(&self.batches);
        let _ = writeln!(
            out,
            "bootforge_reward_batch_seconds_bucket{{le=\"+Inf\"}} {batches}"
        );
        let _ = writeln!(
            out,
            "bootforge_reward_batch_seconds_sum {}",
            get(&self.latency_micros) as f64 / 1e6
        );
        let _ = writeln!(out, "bootforge_reward_batch_seconds_count {batches}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_as_prometheus_text() {
        let m = Metrics::default();
        m.batch(
            &[
                Scored {
                    score: 1.0,
                    error: None,
                },
                Scored::failed(ErrorKind::Timeout, "t"),
                Scored {
                    score: 0.5,
                    error: None,
                },
            ],
            Duration::from_millis(30),
        );
        m.bad_batch();
        let text = m.render(7);
        for line in [
            "bootforge_reward_bootcamps 7",
            "bootforge_reward_items_total 3",
            "bootforge_reward_score_sum 1.5",
            "bootforge_reward_errors_total{kind=\"timeout\"} 1",
            "bootforge_reward_errors_total{kind=\"exception\"} 0",
            "bootforge_reward_bad_batches_total 1",
            "bootforge_reward_batch_seconds_bucket{le=\"0.025\"} 0",
            "bootforge_reward_batch_seconds_bucket{le=\"0.05\"} 1",
            "bootforge_reward_batch_seconds_bucket{le=\"+Inf\"} 1",
            "bootforge_reward_batch_seconds_count 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }
}
