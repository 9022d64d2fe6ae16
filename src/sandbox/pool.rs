//! A bounded pool of worker threads that run guests.
//!
//! Guest code is CPU-bound and may block a host call until its deadline, so it
//! never runs on the caller's async runtime: each worker is an OS thread with
//! its own single-threaded tokio runtime (wasmtime's async calls and the WASI
//! host functions need one) that takes runs from a shared queue. The queue is
//! unbounded; the number of runs executing at once is the number of workers.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::{RunReport, RunSpec, Shared, execute};

type Job = (RunSpec, oneshot::Sender<RunReport>);

pub(crate) struct Pool {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    workers: usize,
}

impl Pool {
    pub fn new(shared: Arc<Shared>, workers: usize) -> Pool {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for index in 0..workers {
            let rx = rx.clone();
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("bootforge-sandbox-{index}"))
                .spawn(move || worker(shared, rx))
                .expect("spawning a sandbox worker thread");
        }
        Pool { queue: Mutex::new(Some(tx)), workers }
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    fn send(&self, spec: RunSpec) -> oneshot::Receiver<RunReport> {
        let (tx, rx) = oneshot::channel();
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(queue) = queue.as_ref() {
            // A send only fails when every worker is gone; the receiver then
            // reports the loss below.
            let _ = queue.send((spec, tx));
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
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
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
    }
}

fn worker(shared: Arc<Shared>, rx: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_time().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: could not start a sandbox worker runtime: {err}");
            return;
        }
    };
    loop {
        let job = {
            let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            rx.recv()
        };
        let Ok((spec, reply)) = job else { break };
        let report = runtime.block_on(execute(&shared, spec));
        let _ = reply.send(report);
    }
}
