//! Single-flight: callers asking for the same key while a call for it is in
//! flight wait for that call's answer instead of sending their own. An
//! evaluation asks the solver the same prompt concurrently whenever two of
//! its cases render alike (a campaign once sent 168 requests for 165 stored
//! calls);
//! those requests are content-addressed to one key, so they are one call.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

/// The calls in flight, by key.
pub struct SingleFlight<T> {
    inflight: Mutex<HashMap<String, Arc<OnceCell<T>>>>,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        SingleFlight {
            inflight: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> SingleFlight<T> {
    /// Run `call` for `key` unless a call for `key` is already in flight, in
    /// which case wait for its answer. If the caller running the call is
    /// cancelled, a waiter runs it instead. Keys are forgotten once answered:
    /// this shares calls in flight, it is not a cache.
    pub async fn run<F, Fut>(&self, key: &str, call: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let cell = {
            let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.to_owned()).or_default().clone()
        };
        let value = cell.get_or_init(call).await.clone();
        let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            map.remove(key);
        }
        value
    }

    /// Keys in flight now.
    pub fn len(&self) -> usize {
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn identical_calls_in_flight_are_sent_once() {
        let flight = Arc::new(SingleFlight::<usize>::default());
        let sent = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let mut calls = tokio::task::JoinSet::new();
        for key in ["a", "a", "a", "b"] {
            let (flight, sent, gate) = (flight.clone(), sent.clone(), gate.clone());
            calls.spawn(async move {
                flight
                    .run(key, || async move {
                        let n = sent.fetch_add(1, Ordering::SeqCst);
                        gate.notified().await;
                        n
                    })
                    .await
            });
        }
        // Wait until both keys are in flight, then let the calls finish.
        while sent.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        while !calls.is_empty() {
            gate.notify_waiters();
            if let Ok(Some(_)) =
                tokio::time::timeout(Duration::from_millis(5), calls.join_next()).await
            {
                continue;
            }
        }
        assert_eq!(sent.load(Ordering::SeqCst), 2, "one call per key");
        assert!(flight.is_empty(), "answered keys are forgotten");
        // Once answered, the same key is a new call.
        let again = flight.run("a", || async { 99 }).await;
        assert_eq!(again, 99);
    }
}
