//! A bounded pool of worker threads that run guests.
//!
//! Guest code is CPU-bound and may block a host call until its deadline, so it
//! never runs on the caller's async runtime: each worker is an OS thread with
//! its own single-threaded tokio runtime (wasmtime's async calls and the WASI
//! host functions need one) that takes runs from a shared queue. The number of
//! runs executing at once is the number of workers.
//!
//! The queue is ordered by [`RunSpec::priority`], then by arrival: the runs of
//! one check share the ticket taken when the check started, so a check that
//! started earlier finishes its sandbox stages before later checks take the
//! workers. Without it, hundreds of concurrent checks interleave first-come
//! first-served, all reach their solver stage at about the same time, and
//! the sandbox and the LLM endpoint take turns idling (measured on the
//! campaign benchmark).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::oneshot;

use super::{RunReport, RunSpec, Shared, WarmCache, execute};

static TICKETS: AtomicU64 = AtomicU64::new(0);

/// A ticket for [`RunSpec::priority`]: lower runs first.
pub fn next_ticket() -> u64 {
    TICKETS.fetch_add(1, Ordering::Relaxed)
}

struct Job {
    key: (u64, u64),
    spec: RunSpec,
    reply: oneshot::Sender<RunReport>,
}

impl PartialEq for Job {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Job {}
impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Job {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

struct Queue {
    jobs: BinaryHeap<Reverse<Job>>,
    closed: bool,
}

pub(crate) struct Pool {
    queue: Arc<(Mutex<Queue>, Condvar)>,
    workers: usize,
}

impl Pool {
    pub fn new(shared: Arc<Shared>, workers: usize) -> Pool {
        let queue = Arc::new((
            Mutex::new(Queue {
                jobs: BinaryHeap::new(),
                closed: false,
            }),
            Condvar::new(),
        ));
        for index in 0..workers {
            let queue = queue.clone();
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("bootforge-sandbox-{index}"))
                .spawn(move || worker(shared, queue))
                .expect("spawning a sandbox worker thread");
        }
        Pool { queue, workers }
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    fn send(&self, spec: RunSpec) -> oneshot::Receiver<RunReport> {
        let (tx, rx) = oneshot::channel();
        let arrival = next_ticket();
        let key = (spec.priority.unwrap_or(arrival), arrival);
        let (lock, ready) = &*self.queue;
        let mut queue = lock.lock().unwrap_or_else(|p| p.into_inner());
        // A closed queue drops the sender; the receiver reports the loss.
        if !queue.closed {
            queue.jobs.push(Reverse(Job {
                key,
                spec,
                reply: tx,
            }));
            ready.notify_one();
        }
        rx
    }

    pub async fn submit(&self, spec: RunSpec) -> RunReport {
        let rx = self.send(spec);
        rx.await.unwrap_or_else(|_| lost_worker())
    }

    pub fn submit_blocking(&self, spec: RunSpec) -> RunReport {
        let rx = self.send(spec);
        rx.blocking_recv().unwrap_or_else(|_| lost_worker())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the queue lets idle workers exit.
        let (lock, ready) = &*self.queue;
        lock.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        ready.notify_all();
    }
}

fn lost_worker() -> RunReport {
    RunReport {
        loaded: None,
        results: Vec::new(),
        inspection: None,
        error: Some(super::RunError::new(
            super::ErrorKind::Trap,
            super::Stage::Instantiate,
            "a sandbox worker thread died while running this bootcamp (a bug in bootforge: please report it)",
        )),
        raw_stdout: String::new(),
        raw_stderr: String::new(),
        peak_memory: 0,
        timings: Default::default(),
        cpu: Vec::new(),
    }
}

fn worker(shared: Arc<Shared>, queue: Arc<(Mutex<Queue>, Condvar)>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: could not start a sandbox worker runtime: {err}");
            return;
        }
    };
    // Loaded instances kept for `keep_warm` runs; dropped with the worker.
    let mut warm = WarmCache::default();
    loop {
        let job = {
            let (lock, ready) = &*queue;
            let mut q = lock.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(Reverse(job)) = q.jobs.pop() {
                    break Some(job);
                }
                if q.closed {
                    break None;
                }
                q = ready.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        };
        let Some(Job { spec, reply, .. }) = job else {
            break;
        };
        let report = runtime.block_on(execute(&shared, spec, &mut warm));
        let _ = reply.send(report);
    }
}
