//! A role's endpoints as one [`ChatModel`]: each request goes to the endpoint
//! [`choose`] picks (healthy, most free capacity by weight); a failed attempt
//! (connection, timeout, stall, 5xx, 429, unreadable body) cools its endpoint
//! down with backoff and the request moves on; a request fails only when
//! every endpoint failed it past its retries (`max_retries + 1` attempts
//! each), and the failure names each endpoint with its last error.
//!
//! The health of each endpoint (in flight, consecutive failure rounds,
//! cool-down) is shared by all requests: an endpoint failed past its retries
//! is *down*, and when every endpoint is down waiting requests give up at
//! once (the campaign stops and can be resumed); the decisions are the pure functions of
//! [`super::choose`], this file only keeps the state and waits.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::choose::{Choice, View, choose, cooldown, new_round};
use super::openai::OpenAiModel;
use super::{
    Accounting, AccountingSnapshot, BoxFuture, ChatModel, Completion, EndpointConfig, Failure,
    LlmError,
};

#[derive(Debug, Default, Clone)]
struct Health {
    in_flight: usize,
    /// Consecutive failure rounds.
    failures: u32,
    failed_at: Option<Instant>,
    cooled_until: Option<Instant>,
    last_error: Option<String>,
}

/// How often a request excluded from some endpoint looks for a slot again.
const RECHECK: Duration = Duration::from_millis(200);

/// Several endpoints serving one role.
pub struct Fleet {
    endpoints: Vec<OpenAiModel>,
    health: Mutex<Vec<Health>>,
    changed: Notify,
    accounting: Accounting,
}

/// Whether a refusal is the request's own (malformed, too long: the same
/// everywhere) rather than the endpoint's (bad key, unknown model there).
fn request_refused(error: &LlmError) -> bool {
    matches!(
        error,
        LlmError::Refused {
            status: 400 | 413 | 422,
            ..
        } | LlmError::TooLarge { .. }
    )
}

impl Fleet {
    /// A fleet of these endpoints (at least one).
    pub fn new(endpoints: Vec<EndpointConfig>) -> Fleet {
        assert!(!endpoints.is_empty(), "a fleet needs an endpoint");
        let health = vec![Health::default(); endpoints.len()];
        Fleet {
            endpoints: endpoints.into_iter().map(OpenAiModel::new).collect(),
            health: Mutex::new(health),
            changed: Notify::new(),
            accounting: Accounting::default(),
        }
    }

    fn views(&self, health: &[Health], tried: &[u32], excluded: &[bool]) -> Vec<View> {
        let now = Instant::now();
        self.endpoints
            .iter()
            .zip(health)
            .enumerate()
            .map(|(i, (e, h))| View {
                in_flight: h.in_flight,
                concurrency: e.config().concurrency,
                weight: e.config().weight,
                failures: h.failures,
                cooling: h
                    .cooled_until
                    .map(|t| t.saturating_duration_since(now))
                    .unwrap_or_default(),
                excluded: excluded[i] || tried[i] > e.config().max_retries,
                down: h.failures > e.config().max_retries,
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Health>> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take a slot on the endpoint this request should use next.
    ///
    /// Waiters are woken one at a time (a freed slot wakes one, who passes
    /// the wake on while slots remain): waking every waiter on every release
    /// made thousands of queued requests contend for the lock and cost a
    /// quarter of the fleet's throughput on 2 cores. A request that is
    /// excluded from some endpoint may not be able to use the slot it was
    /// woken for, so it also looks again every [`RECHECK`].
    async fn acquire(&self, tried: &[u32], excluded: &[bool]) -> Option<usize> {
        let picky = excluded.iter().any(|&e| e)
            || tried
                .iter()
                .zip(&self.endpoints)
                .any(|(t, e)| *t > e.config().max_retries);
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            let wait = {
                let mut health = self.lock();
                match choose(&self.views(&health, tried, excluded)) {
                    Choice::Use(i) => {
                        health[i].in_flight += 1;
                        let n = self.endpoints.len();
                        if let Choice::Use(_) =
                            choose(&self.views(&health, &vec![0; n], &vec![false; n]))
                        {
                            // Slots remain: pass the wake on.
                            self.changed.notify_one();
                        }
                        return Some(i);
                    }
                    Choice::GiveUp => {
                        // Others waiting see the same fleet: let them give up too.
                        self.changed.notify_one();
                        return None;
                    }
                    Choice::Wait(wait) => {
                        // Registered before the lock is released: a slot
                        // freed in between still wakes this request.
                        notified.as_mut().enable();
                        match (wait, picky) {
                            (Some(d), true) => Some(d.min(RECHECK)),
                            (None, true) => Some(RECHECK),
                            (wait, false) => wait,
                        }
                    }
                }
            };
            match wait {
                Some(d) => {
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep(d) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    fn release(&self, index: usize, started: Instant, failed: Option<&LlmError>) {
        {
            let mut health = self.lock();
            let h = &mut health[index];
            h.in_flight = h.in_flight.saturating_sub(1);
            match failed {
                Some(error) => {
                    h.last_error = Some(error.to_string());
                    let after = h.failed_at.is_none_or(|t| started >= t);
                    if new_round(after, h.failures > 0) {
                        let now = Instant::now();
                        h.failures = h.failures.saturating_add(1);
                        h.failed_at = Some(now);
                        let config = self.endpoints[index].config();
                        let pause =
                            cooldown(h.failures, config.backoff, config.max_backoff, jitter());
                        h.cooled_until = Some(now + pause);
                    }
                }
                None => {
                    h.failures = 0;
                    h.failed_at = None;
                    h.cooled_until = None;
                }
            }
        }
        self.changed.notify_one();
    }

    async fn run(&self, prompt: &str) -> Result<Completion, Failure> {
        self.accounting.calls.fetch_add(1, Ordering::Relaxed);
        let n = self.endpoints.len();
        // Latency counts from the first attempt, not the wait for a slot.
        let mut started: Option<Instant> = None;
        let mut tried = vec![0u32; n];
        let mut excluded = vec![false; n];
        let mut last: Vec<Option<LlmError>> = vec![None; n];
        let mut attempts = 0;
        let fail = |error: LlmError, attempts: u32| {
            self.accounting.failures.fetch_add(1, Ordering::Relaxed);
            Err(Failure { error, attempts })
        };
        loop {
            let Some(index) = self.acquire(&tried, &excluded).await else {
                let error = match (n, last[0].take()) {
                    (1, Some(error)) => error,
                    _ => {
                        let health = self.lock().clone();
                        LlmError::AllFailed(
                            self.endpoints
                                .iter()
                                .zip(&last)
                                .zip(health)
                                .map(|((e, mine), h)| {
                                    let error = mine
                                        .as_ref()
                                        .map(|l| l.to_string())
                                        .or(h.last_error)
                                        .unwrap_or_else(|| "no error recorded".into());
                                    (e.config().base_url.clone(), error)
                                })
                                .collect(),
                        )
                    }
                };
                return fail(error, attempts);
            };
            attempts += 1;
            tried[index] += 1;
            self.accounting.attempts.fetch_add(1, Ordering::Relaxed);
            let begun = Instant::now();
            let started = *started.get_or_insert(begun);
            let result = self.endpoints[index].attempt(prompt).await;
            match result {
                Ok(answer) => {
                    self.release(index, begun, None);
                    self.accounting.add_usage(answer.usage);
                    return Ok(Completion::from_answer(
                        answer,
                        attempts,
                        started.elapsed(),
                        Some(self.endpoints[index].config().base_url.clone()),
                    ));
                }
                Err(error) if request_refused(&error) => {
                    // The endpoint is fine; the request is not.
                    self.release(index, begun, None);
                    return fail(error, attempts);
                }
                Err(error) => {
                    self.release(index, begun, Some(&error));
                    if !error.retryable() {
                        // Refused by this endpoint (key, model): not here again.
                        excluded[index] = true;
                    }
                    last[index] = Some(error);
                }
            }
        }
    }
}

impl ChatModel for Fleet {
    fn complete<'a>(&'a self, prompt: &'a str) -> BoxFuture<'a, Result<Completion, Failure>> {
        Box::pin(self.run(prompt))
    }

    fn accounting(&self) -> AccountingSnapshot {
        self.accounting.snapshot()
    }

    fn describe(&self) -> String {
        let first = self.endpoints[0].config();
        match self.endpoints.len() {
            1 => format!("{} at {}", first.model, first.base_url),
            n => format!("{} at {} and {} more", first.model, first.base_url, n - 1),
        }
    }
}

fn jitter() -> f64 {
    (super::jitter() % 1_000_000) as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::fake::{FakeReply, FakeServer};

    fn endpoint(server: &FakeServer, retries: u32) -> EndpointConfig {
        let mut e = EndpointConfig::new(server.base_url(), "m");
        e.max_retries = retries;
        e.backoff = Duration::from_millis(20);
        e.max_backoff = Duration::from_millis(100);
        e.timeout = Duration::from_secs(5);
        e
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_endpoint_hands_its_requests_to_the_others() {
        let good = FakeServer::start(|_| FakeReply::answer("[answer]1[/answer]")).unwrap();
        let bad = FakeServer::start(|_| FakeReply::Error(503)).unwrap();
        let fleet = Fleet::new(vec![endpoint(&bad, 2), endpoint(&good, 2)]);
        let answers = futures::future::join_all((0..20).map(|i| {
            let fleet = &fleet;
            async move { fleet.complete(&format!("q{i}")).await }
        }))
        .await;
        for a in &answers {
            let a = a.as_ref().unwrap();
            assert_eq!(a.endpoint.as_deref(), Some(good.base_url()));
            assert_eq!(a.finish_reason.as_deref(), Some("stop"));
        }
        // The failing one got a probe at a time, not every request.
        assert!(bad.requests().len() < 20, "{}", bad.requests().len());
        let snapshot = fleet.accounting();
        assert_eq!((snapshot.calls, snapshot.failures), (20, 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_fails_when_every_endpoint_failed_it_naming_each() {
        let a = FakeServer::start(|_| FakeReply::Error(500)).unwrap();
        let b = FakeServer::start(|_| FakeReply::Error(429)).unwrap();
        let fleet = Fleet::new(vec![endpoint(&a, 1), endpoint(&b, 1)]);
        let failure = fleet.complete("q").await.unwrap_err();
        assert_eq!(failure.attempts, 4, "two attempts on each");
        let text = failure.error.to_string();
        assert!(
            text.contains(a.base_url()) && text.contains("HTTP 500"),
            "{text}"
        );
        assert!(
            text.contains(b.base_url()) && text.contains("HTTP 429"),
            "{text}"
        );
        // A request refused as such (400) is not retried anywhere.
        let refuses = FakeServer::start(|_| FakeReply::Error(400)).unwrap();
        let fleet = Fleet::new(vec![endpoint(&refuses, 3), endpoint(&a, 3)]);
        let failure = fleet.complete("q").await.unwrap_err();
        assert_eq!(failure.attempts, 1);
        assert!(matches!(
            failure.error,
            LlmError::Refused { status: 400, .. }
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reply_over_the_cap_fails_its_request_without_reading_it_all() {
        let huge = "x".repeat(super::super::openai::MAX_BODY_BYTES + 1024);
        let body = format!("{{\"choices\": [{{\"message\": {{\"content\": \"{huge}\"}}}}]}}");
        let whole = FakeServer::start(move |_| FakeReply::Raw(200, body.clone())).unwrap();
        let streamed = FakeServer::start(move |_| FakeReply::answer(huge.clone())).unwrap();
        for (server, stream) in [(&whole, false), (&streamed, true)] {
            let mut e = endpoint(server, 3);
            e.stream = stream;
            let failure = Fleet::new(vec![e]).complete("q").await.unwrap_err();
            assert_eq!(failure.attempts, 1, "not retried: {:?}", failure.error);
            assert!(
                matches!(failure.error, LlmError::TooLarge { .. }),
                "{:?}",
                failure.error
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_requests_all_finish_and_the_faster_endpoint_serves_more() {
        // 60 requests queued on 2 + 2 slots: every freed slot must wake a
        // waiter, or some would wait forever.
        let servers: Vec<FakeServer> = [20u64, 60]
            .into_iter()
            .map(|ms| {
                FakeServer::start(move |_| {
                    FakeReply::Delay(Duration::from_millis(ms), Box::new(FakeReply::answer("ok")))
                })
                .unwrap()
            })
            .collect();
        let fleet = Fleet::new(
            servers
                .iter()
                .map(|s| {
                    let mut e = endpoint(s, 2);
                    e.concurrency = 2;
                    e
                })
                .collect(),
        );
        let answers = futures::future::join_all((0..60).map(|i| {
            let fleet = &fleet;
            async move { fleet.complete(&format!("q{i}")).await }
        }))
        .await;
        assert!(answers.iter().all(|a| a.is_ok()));
        let served: Vec<usize> = servers.iter().map(|s| s.requests().len()).collect();
        assert_eq!(served.iter().sum::<usize>(), 60, "{served:?}");
        assert!(served[0] > served[1], "{served:?}");
        assert!(fleet.lock().iter().all(|h| h.in_flight == 0));
    }
}
