//! bootforge: author, run and check InternBootcamp-style reasoning bootcamps.
//!
//! - [`sandbox`]: runs bootcamp files in CPython compiled to a WebAssembly
//!   component, isolated and reproducible (the only module touching wasmtime);
//! - [`evaluate`]: the staged self-consistency checks behind `bootforge check`
//!   and `bootforge audit`;
//! - [`llm`]: OpenAI-compatible model clients (retries, limits, accounting)
//!   and a scripted fake server;
//! - [`campaign`]: the evolutionary authoring loop (task descriptions in,
//!   accepted bootcamps out), resumable from what [`store`] holds;
//! - [`review`]: the curator's review queue over what campaigns accept;
//! - [`export`]: approved bootcamps to InternBootcamp's tree and training records;
//! - [`serve`]: the review queue in a browser (`bootforge serve`);
//! - [`store`]: the SQLite lineage store (the only module writing SQL);
//! - [`bench`]: the committed benchmarks behind `bootforge bench`;
//! - [`cli`]: argument parsing and rendering for the `bootforge` binary.

pub mod bench;
pub mod campaign;
pub mod cli;
pub mod evaluate;
pub mod export;
pub mod llm;
pub mod review;
pub mod sandbox;
pub mod serve;
pub mod store;
