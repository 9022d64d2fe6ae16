//! The per-run host state: what the guest is given, and nothing more.
//!
//! A guest gets no preopened directories, no environment, no arguments, no
//! network, an empty stdin, stdout/stderr captured up to a cap, a memory cap,
//! a random source the host reseeds before every call, and a virtual clock
//! that starts at the same instant for every call. With the same file, params
//! and seed, a bootcamp therefore sees the same world, even when it calls
//! `random` unseeded, `time.time()` or `os.urandom`.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use super::Limits;
use super::budget::CallClock;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::clocks::{HostMonotonicClock, HostWallClock};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// The wall-clock time every call starts at: 2025-01-01T00:00:00Z.
pub const VIRTUAL_EPOCH_SECS: u64 = 1_735_689_600;
/// How far the virtual clock moves each time the guest reads it, so that
/// `while time.time() < end` loops still end, deterministically.
pub const CLOCK_STEP_NANOS: u64 = 1_000_000;

/// The host's view of one store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: MemoryLimiter,
    /// The current guest call's budget clocks.
    pub budget: CallClock,
    pub rng: SharedRng,
    pub clock: VirtualClock,
    pub stdout: CappedOutput,
    pub stderr: CappedOutput,
    /// The current call's reply through the `reply` import (see
    /// [`GuestReply`]); cleared before every call.
    pub reply: GuestReply,
    /// The largest reply copied into host memory.
    pub reply_cap: usize,
    /// A many-case call in progress: its replies go there, one per step.
    pub batch: Option<super::batch::Batch>,
    salt: u64,
}

/// What the guest sent through the `reply` import during one call.
#[derive(Debug, Default)]
pub(crate) enum GuestReply {
    /// Nothing was sent.
    #[default]
    None,
    /// The text, at most `reply_cap` bytes.
    Text(String),
    /// A reply of this many bytes (or UTF-16 units) was refused uncopied.
    TooLarge(usize),
    /// A reply that was not valid text.
    Invalid,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl HostState {
    pub fn new(memory_bytes: usize, output_bytes: usize, reply_cap: usize, salt: u64) -> Self {
        let rng = SharedRng::new(salt);
        // Another salt moves the clock by a day and an odd part of one, so
        // that the time of day and sub-second digits change too.
        let clock = VirtualClock::with_offset(salt.wrapping_mul(98_745_678_901_234));
        let stdout = CappedOutput::new(output_bytes);
        let stderr = CappedOutput::new(output_bytes);
        let mut builder = WasiCtxBuilder::new();
        // WasiCtxBuilder starts with no preopens, env, args, or stdin; the
        // network is switched off explicitly rather than trusting defaults.
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .secure_random(rng.clone())
            .insecure_random(rng.clone())
            .insecure_random_seed(0)
            .wall_clock(clock.wall())
            .monotonic_clock(clock.monotonic())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }));
        HostState {
            wasi: builder.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_bytes),
            budget: CallClock::idle(),
            rng,
            clock,
            stdout,
            stderr,
            reply: GuestReply::None,
            reply_cap,
            batch: None,
            salt,
        }
    }

    /// Put the guest's world back to where every call with `seed` starts,
    /// and start the call's budget (on the thread that runs the call).
    pub fn reset_for_call(&mut self, seed: u64, limits: &Limits) {
        self.rng.reseed(
            seed ^ self
                .salt
                .rotate_left(32)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        self.clock.reset();
        self.budget = CallClock::start(limits.timeout, limits.wall_ceiling());
        self.reply = GuestReply::None;
    }
}

/// Caps linear memory and remembers whether the cap was hit.
pub(crate) struct MemoryLimiter {
    max: usize,
    pub denied: bool,
    pub peak: usize,
}

impl MemoryLimiter {
    fn new(max: usize) -> Self {
        MemoryLimiter {
            max,
            denied: false,
            peak: 0,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.denied = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// A SplitMix64 generator behind a shared handle, so the host can reseed the
/// source that WASI's `random` interfaces draw from between guest calls.
/// Reproducibility is the point here, not secrecy.
#[derive(Clone)]
pub(crate) struct SharedRng(Arc<Mutex<u64>>);

impl SharedRng {
    fn new(seed: u64) -> Self {
        SharedRng(Arc::new(Mutex::new(mix_seed(seed))))
    }

    pub fn reseed(&self, seed: u64) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = mix_seed(seed);
    }

    fn next(&self) -> u64 {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn mix_seed(seed: u64) -> u64 {
    seed ^ 0x6A09_E667_F3BC_C908
}

impl rand::TryRng for SharedRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// A clock that starts at [`VIRTUAL_EPOCH_SECS`] (plus a run's offset) for
/// every call and moves [`CLOCK_STEP_NANOS`] per read.
#[derive(Clone, Default)]
pub(crate) struct VirtualClock(Arc<AtomicU64>, u64);

impl VirtualClock {
    fn with_offset(nanos: u64) -> Self {
        let clock = VirtualClock(Arc::new(AtomicU64::new(0)), nanos);
        clock.reset();
        clock
    }

    pub fn reset(&self) {
        self.0.store(self.1, Ordering::Relaxed);
    }

    fn tick(&self) -> u64 {
        self.0.fetch_add(CLOCK_STEP_NANOS, Ordering::Relaxed) + CLOCK_STEP_NANOS
    }

    fn wall(&self) -> VirtualWall {
        VirtualWall(self.clone())
    }

    fn monotonic(&self) -> VirtualMonotonic {
        VirtualMonotonic(self.clone())
    }
}

struct VirtualWall(VirtualClock);

impl HostWallClock for VirtualWall {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(CLOCK_STEP_NANOS)
    }

    fn now(&self) -> Duration {
        Duration::from_secs(VIRTUAL_EPOCH_SECS) + Duration::from_nanos(self.0.tick())
    }
}

struct VirtualMonotonic(VirtualClock);

impl HostMonotonicClock for VirtualMonotonic {
    fn resolution(&self) -> u64 {
        CLOCK_STEP_NANOS
    }

    fn now(&self) -> u64 {
        self.0.tick()
    }
}

/// stdout or stderr of a guest: keeps the first bytes up to the cap, then
/// refuses writes and remembers that the cap was hit.
#[derive(Clone)]
pub(crate) struct CappedOutput {
    inner: Arc<CappedInner>,
}

struct CappedInner {
    cap: usize,
    written: AtomicUsize,
    exceeded: AtomicBool,
    kept: Mutex<Vec<u8>>,
}

/// How much of a guest's raw stdout/stderr the host keeps for reports.
const KEPT_BYTES: usize = 16 << 10;

impl CappedOutput {
    fn new(cap: usize) -> Self {
        CappedOutput {
            inner: Arc::new(CappedInner {
                cap,
                written: AtomicUsize::new(0),
                exceeded: AtomicBool::new(false),
                kept: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn exceeded(&self) -> bool {
        self.inner.exceeded.load(Ordering::Relaxed)
    }

    /// Forget what was written: a kept-warm instance starts its next run
    /// with the host's whole cap again.
    pub fn reset(&self) {
        self.inner.written.store(0, Ordering::Relaxed);
        self.inner.exceeded.store(false, Ordering::Relaxed);
        self.inner
            .kept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The kept bytes, lossily decoded.
    pub fn text(&self) -> String {
        let kept = self.inner.kept.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&kept).into_owned()
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for CappedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let inner = &self.inner;
        let before = inner.written.fetch_add(buf.len(), Ordering::Relaxed);
        if before + buf.len() > inner.cap {
            inner.exceeded.store(true, Ordering::Relaxed);
            return Poll::Ready(Err(std::io::Error::other("sandbox output limit exceeded")));
        }
        let mut kept = inner.kept.lock().unwrap_or_else(|p| p.into_inner());
        let room = KEPT_BYTES.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..buf.len().min(room)]);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::TryRng;

    #[test]
    fn reseeding_repeats_the_stream() {
        let mut rng = SharedRng::new(7);
        rng.reseed(42);
        let a: Vec<u64> = (0..4).map(|_| rng.try_next_u64().unwrap()).collect();
        rng.reseed(42);
        let b: Vec<u64> = (0..4).map(|_| rng.try_next_u64().unwrap()).collect();
        rng.reseed(43);
        let c: Vec<u64> = (0..4).map(|_| rng.try_next_u64().unwrap()).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn clock_restarts_at_the_virtual_epoch() {
        let clock = VirtualClock::default();
        let wall = clock.wall();
        let first = wall.now();
        assert!(wall.now() > first);
        clock.reset();
        assert_eq!(wall.now(), first);
        assert_eq!(first.as_secs(), VIRTUAL_EPOCH_SECS);
    }
}
