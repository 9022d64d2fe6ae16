//! The wasmtime engine, the compiled-component cache and the epoch ticker.
//!
//! Compiling the ~40 MB CPython component with Cranelift takes seconds (about
//! 12 s on 2 cores, see docs/benchmarks.md), so the compiled
//! artifact is serialized to disk and reused. The cache key covers the
//! component's bytes and the engine's compatibility hash (wasmtime version,
//! target, and every setting that changes code generation), so a new
//! component or a new wasmtime never loads a stale artifact. Files are written
//! to a temporary name and renamed, so concurrent processes and crashes never
//! leave a half-written artifact under a final name.

use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, OptLevel};

/// The harness component, zstd-compressed, built by `sandbox/build.sh`.
pub static COMPONENT_ZST: &[u8] = include_bytes!("../../sandbox/harness.wasm.zst");

/// A component embedded in the binary, zstd-compressed.
pub struct Embedded {
    /// Names its cached artifact (`NAME-HASH.cwasm`) and its messages.
    pub name: &'static str,
    pub zst: &'static [u8],
}

/// The base component, run for every bootcamp that needs nothing more.
pub static BASE: Embedded = Embedded {
    name: "harness",
    zst: COMPONENT_ZST,
};

/// How often the epoch advances; deadlines are checked at this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// Room for the native stack of guest code. CPython keeps its Python frames
/// in linear memory, but C recursion (deep `repr`, `json`, comparisons,
/// recursive calls through C) uses the wasm stack; bootcamps that raise the
/// recursion limit for a DFS need far more than wasmtime's 512 KiB default.
pub const MAX_WASM_STACK: usize = 64 << 20;

/// The engine bootforge runs guests on. Its code-generation settings are
/// fixed: Cranelift's `speed` level, lazily filled function tables, the
/// backtracking register allocator and every Spectre mitigation on (bootcamp
/// code is hostile). Alternatives (`speed_and_size`, eager tables, the
/// single-pass allocator, the table-access mitigation off) were measured and
/// gained nothing or lost speed, see docs/benchmarks.md.
pub(crate) fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(MAX_WASM_STACK + (2 << 20))
        .cranelift_opt_level(OptLevel::Speed)
        .table_lazy_init(true)
        .parallel_compilation(true);
    Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("configuring the wasmtime engine")
}

/// Where the compiled component came from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ComponentSource {
    /// The cached artifact's path.
    pub path: PathBuf,
    /// Whether a cached artifact was used (else the component was compiled).
    pub cache_hit: bool,
    /// Time to compile, or to load the cached artifact.
    pub elapsed: Duration,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Feeds `Hash` output into SHA-256, for a key that is stable across runs.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The cache file name for the embedded component under `engine`.
pub fn cache_key(engine: &Engine) -> String {
    embedded_cache_key(engine, &BASE)
}

pub(crate) fn embedded_cache_key(engine: &Engine, embedded: &Embedded) -> String {
    let mut hasher = ShaHasher(Sha256::new());
    hasher.write(&Sha256::digest(embedded.zst));
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let digest = hasher.0.finalize();
    format!("{}-{}.cwasm", embedded.name, &hex(&digest)[..32])
}

/// SHA-256 of the embedded (compressed) component, as hex.
pub fn component_digest() -> String {
    embedded_digest(&BASE)
}

pub(crate) fn embedded_digest(embedded: &Embedded) -> String {
    hex(&Sha256::digest(embedded.zst))
}

pub fn decompress_component() -> Result<Vec<u8>> {
    decompress(&BASE)
}

pub(crate) fn decompress(embedded: &Embedded) -> Result<Vec<u8>> {
    let name = embedded.name;
    let mut decoder = ruzstd::decoding::StreamingDecoder::new(embedded.zst)
        .map_err(|e| anyhow::anyhow!("the embedded sandbox component {name} is corrupt: {e}"))?;
    let mut wasm = Vec::with_capacity(48 << 20);
    decoder
        .read_to_end(&mut wasm)
        .with_context(|| format!("decompressing the embedded sandbox component {name}"))?;
    Ok(wasm)
}

/// Load the compiled component from `cache_dir`, compiling and storing it on
/// a miss. A cached file that fails to deserialize is recompiled over.
pub(crate) fn load_component(
    engine: &Engine,
    cache_dir: &Path,
) -> Result<(Component, ComponentSource)> {
    load_embedded(engine, cache_dir, &BASE)
}

/// [`load_component`] for any embedded component.
pub(crate) fn load_embedded(
    engine: &Engine,
    cache_dir: &Path,
    embedded: &Embedded,
) -> Result<(Component, ComponentSource)> {
    let path = cache_dir.join(embedded_cache_key(engine, embedded));
    let started = Instant::now();
    if path.is_file() {
        // SAFETY: the file is an artifact this program serialized with an
        // engine of the same compatibility hash (the name says so), written
        // atomically into the user's own cache directory.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => {
                let source = ComponentSource {
                    path,
                    cache_hit: true,
                    elapsed: started.elapsed(),
                };
                return Ok((component, source));
            }
            Err(err) => {
                eprintln!(
                    "warning: the cached sandbox component {} could not be loaded ({err}); recompiling it",
                    path.display()
                );
            }
        }
    }
    let wasm = decompress(embedded)?;
    let component = Component::new(engine, &wasm)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("compiling the sandbox component {}", embedded.name))?;
    drop(wasm);
    let artifact = component
        .serialize()
        .map_err(anyhow::Error::from)
        .context("serializing the compiled sandbox component")?;
    if let Err(err) = store_artifact(cache_dir, &path, &artifact) {
        eprintln!(
            "warning: could not cache the compiled sandbox component in {} ({err:#}); \
             the next run will compile it again (set --cache-dir or BOOTFORGE_CACHE_DIR to a writable directory)",
            cache_dir.display()
        );
    }
    let source = ComponentSource {
        path,
        cache_hit: false,
        elapsed: started.elapsed(),
    };
    Ok((component, source))
}

fn store_artifact(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("harness"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is
/// dropped. Holds only a weak reference, so it never keeps the engine alive.
pub(crate) fn start_epoch_ticker(engine: &Engine) -> Arc<std::thread::JoinHandle<()>> {
    let weak = engine.weak();
    let handle = std::thread::Builder::new()
        .name("bootforge-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .expect("spawning the epoch ticker thread");
    Arc::new(handle)
}
