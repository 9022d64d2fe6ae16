//! bootforge's one integration-test binary (every extra binary would link
//! wasmtime again). Everything here runs the real sandbox with the real
//! component; the CLI tests run the real binary.

mod util;
// The scripted OpenAI-compatible server (outside the product).
#[path = "support/fake.rs"]
mod fake;

// The committed benchmarks (also the `cargo bench --bench bootforge` target):
// `benchmarks` runs each of them quickly.
mod bench;
mod benchmarks;

mod budget;
mod calibrate;
mod campaign;
mod campcal;
mod check;
mod cli;
mod component;
mod docs;
mod endpoint;
mod eval;
mod export;
mod fleet;
mod integrity;
mod judge;
mod nearmiss;
mod review;
mod reward;
mod sandbox_batch;
mod sandbox_compat;
mod sandbox_determinism;
mod sandbox_isolation;
mod schedule;
mod serve;
mod serve_attacks;
mod sympy;
