//! bootforge's one integration-test binary (every extra binary would link
//! wasmtime again). Everything here runs the real sandbox with the real
//! component; the CLI tests run the real binary.

mod util;

mod budget;
mod campaign;
mod check;
mod cli;
mod component;
mod export;
mod fleet;
mod integrity;
mod judge;
mod review;
mod sandbox_compat;
mod sandbox_determinism;
mod sandbox_isolation;
mod schedule;
mod serve;
