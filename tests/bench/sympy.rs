//! `bench --only sympy`: what the on-demand sympy component costs, and that
//! it costs plain bootcamps nothing.
//!
//! - Compile: a fresh cache directory holding only the base component's
//!   artifact, a sandbox opened on it, and the first sympy run timed (the
//!   sympy component is decompressed, compiled and cached in it), then the
//!   same in a new sandbox with the artifact cached.
//! - Cold start (instantiate + load, median of N runs, one worker each, one
//!   process, runs interleaved): a plain bootcamp in a sandbox that never
//!   set up the sympy component, and the sympy bootcamp and the plain one in
//!   a sandbox that did; the ratio of the two plain figures is the change
//!   plain bootcamps see, the sympy/plain ratio the price of sympy.
//! - The static scan that picks the component, per source (µs).
//! - Memory: peak linear memory of one run of each, and peak RSS of a whole
//!   `bootforge check --workers 1` (this binary, as a child) of each, run
//!   first (see there why).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::{checked, child_peak, median, ms, open, peak_rss_mib};
use bootforge::sandbox::{RunReport, RunSpec, Sandbox};

fn plain_source() -> &'static str {
    super::repo_file("tests/bootcamps/check/good.py")
}

fn sympy_source() -> &'static str {
    super::repo_file("tests/bootcamps/sympy/symbolic_expand.py")
}

#[derive(Debug, Serialize)]
pub struct SympyBench {
    pub runs: usize,
    pub sympy_compressed_bytes: usize,
    pub sympy_artifact_bytes: u64,
    /// The first sympy run in a process with no cached artifact: compile
    /// and cache the component, then the run itself.
    pub first_run_compiling_ms: f64,
    /// The component's own set-up within it (decompress + compile + store).
    pub compile_ms: f64,
    /// The first sympy run of a new process with the artifact cached.
    pub first_run_cached_ms: f64,
    pub cache_load_ms: f64,
    /// Median instantiate + load, ms.
    pub plain_cold_start_ms: f64,
    pub sympy_cold_start_ms: f64,
    pub sympy_instantiate_ms: f64,
    pub sympy_load_ms: f64,
    /// The plain bootcamp in the sandbox that also set up and ran the sympy
    /// component.
    pub plain_after_sympy_cold_start_ms: f64,
    pub sympy_over_plain: f64,
    pub plain_after_over_before: f64,
    /// The static scan of one bootcamp's source, µs (median).
    pub scan_us: f64,
    /// Peak linear memory of one run (case generation), MiB.
    pub plain_linear_mib: f64,
    pub sympy_linear_mib: f64,
    /// Peak RSS of `bootforge check --workers 1 --cases 5`, MiB.
    pub plain_check_rss_mib: f64,
    pub sympy_check_rss_mib: f64,
    /// This process's peak RSS when it started those checks: a floor of
    /// what the kernel reports for them (run `--only sympy` to keep it low).
    pub parent_peak_rss_mib: f64,
}

fn spec(source: &str, name: &str) -> RunSpec {
    RunSpec::new(name, source).cases(0..1, None)
}

/// Median instantiate + load, instantiate, load (ms) over `runs` runs.
fn cold(sandbox: &Sandbox, source: &str, name: &str, runs: usize) -> Result<(f64, f64, f64)> {
    let (mut total, mut inst, mut load) = (vec![], vec![], vec![]);
    for _ in 0..runs {
        let report = checked(sandbox.run_blocking(spec(source, name)), name)?;
        let t = &report.timings;
        total.push((t.instantiate_us + t.load_us) as f64 / 1e3);
        inst.push(t.instantiate_us as f64 / 1e3);
        load.push(t.load_us as f64 / 1e3);
    }
    Ok((median(&mut total), median(&mut inst), median(&mut load)))
}

fn mib(report: &RunReport) -> f64 {
    report.peak_memory as f64 / (1 << 20) as f64
}

pub fn bench_sympy(cache_dir: &Path, quick: bool) -> Result<SympyBench> {
    let runs = if quick { 3 } else { 30 };
    // First, while this process is small: a child's peak RSS as the kernel
    // reports it is at least the parent's at the spawn (the child starts in
    // the parent's address space until it execs).
    eprintln!("bench: sympy: peak RSS of a check of each...");
    let parent_peak_rss_mib = peak_rss_mib();
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_bootforge"));
    let files = tempfile::tempdir()?;
    let mut rss = Vec::new();
    for (name, source) in [
        ("good.py", plain_source()),
        ("symbolic_expand.py", sympy_source()),
    ] {
        let file = files.path().join(name);
        std::fs::write(&file, source)?;
        let (code, peak) = child_peak(
            Command::new(&exe)
                .arg("--cache-dir")
                .arg(cache_dir)
                .arg("check")
                .arg(&file)
                .args(["--json", "--workers", "1", "--cases", "5"]),
        )?;
        if code != 0 {
            bail!("bootforge check {name} exited {code}");
        }
        rss.push(peak);
    }

    // The base artifact, compiled (or loaded) in the shared cache.
    let base = open(cache_dir, 1)?.component_source().path.clone();
    let fresh = tempfile::tempdir().context("creating a temporary cache directory")?;
    let target = fresh
        .path()
        .join(base.file_name().context("artifact name")?);
    if std::fs::hard_link(&base, &target).is_err() {
        std::fs::copy(&base, &target).context("copying the base artifact")?;
    }

    eprintln!("bench: sympy: compiling the sympy component into an empty cache...");
    let sandbox = open(fresh.path(), 1)?;
    let started = Instant::now();
    checked(
        sandbox.run_blocking(spec(sympy_source(), "symbolic_expand.py")),
        "sympy",
    )?;
    let first_run_compiling_ms = ms(started.elapsed());
    let compiled = sandbox
        .sympy_component()
        .loaded
        .context("the sympy component was not set up")?;
    if compiled.cache_hit {
        bail!("the sympy benchmark expected a compile in an empty cache");
    }
    drop(sandbox);
    let sandbox = open(fresh.path(), 1)?;
    let started = Instant::now();
    checked(
        sandbox.run_blocking(spec(sympy_source(), "symbolic_expand.py")),
        "sympy",
    )?;
    let first_run_cached_ms = ms(started.elapsed());
    let info = sandbox.sympy_component();
    let loaded = info.loaded.clone().context("not set up")?;
    drop(sandbox);

    eprintln!("bench: sympy: cold starts, interleaved...");
    // Two sandboxes in this process: one only ever runs the plain bootcamp,
    // the other also the sympy one. Their runs alternate, so that the
    // machine's load (shared, noisy) weighs on the three figures alike.
    let plain_only = open(cache_dir, 1)?;
    let both = open(cache_dir, 1)?;
    // Warm-up: the first instantiation faults in each image.
    let plain_report = checked(
        plain_only.run_blocking(spec(plain_source(), "good.py")),
        "plain",
    )?;
    checked(both.run_blocking(spec(plain_source(), "good.py")), "plain")?;
    let sympy_report = checked(
        both.run_blocking(spec(sympy_source(), "symbolic_expand.py")),
        "sympy",
    )?;
    let (mut plain, mut sympy, mut plain_after) = (vec![], vec![], vec![]);
    let (mut sympy_inst, mut sympy_load) = (vec![], vec![]);
    for _ in 0..runs {
        plain.push(cold(&plain_only, plain_source(), "good.py", 1)?.0);
        let (total, inst, load) = cold(&both, sympy_source(), "symbolic_expand.py", 1)?;
        sympy.push(total);
        sympy_inst.push(inst);
        sympy_load.push(load);
        plain_after.push(cold(&both, plain_source(), "good.py", 1)?.0);
    }
    if plain_only.sympy_component().loaded.is_some() {
        bail!("a plain bootcamp set up the sympy component");
    }
    drop((plain_only, both));
    let (plain, sympy, plain_after) = (
        median(&mut plain),
        median(&mut sympy),
        median(&mut plain_after),
    );
    let (sympy_inst, sympy_load) = (median(&mut sympy_inst), median(&mut sympy_load));

    let mut scans = Vec::new();
    for _ in 0..1000 {
        let started = Instant::now();
        std::hint::black_box(bootforge::sandbox::needs_sympy(std::hint::black_box(
            plain_source(),
        )));
        std::hint::black_box(bootforge::sandbox::needs_sympy(std::hint::black_box(
            sympy_source(),
        )));
        scans.push(started.elapsed().as_secs_f64() * 1e6 / 2.0);
    }

    Ok(SympyBench {
        runs,
        sympy_compressed_bytes: info.compressed_bytes,
        sympy_artifact_bytes: std::fs::metadata(&loaded.path)
            .map(|m| m.len())
            .unwrap_or(0),
        first_run_compiling_ms,
        compile_ms: ms(compiled.elapsed),
        first_run_cached_ms,
        cache_load_ms: ms(loaded.elapsed),
        plain_cold_start_ms: plain,
        sympy_cold_start_ms: sympy,
        sympy_instantiate_ms: sympy_inst,
        sympy_load_ms: sympy_load,
        plain_after_sympy_cold_start_ms: plain_after,
        sympy_over_plain: sympy / plain,
        plain_after_over_before: plain_after / plain,
        scan_us: median(&mut scans),
        plain_linear_mib: mib(&plain_report),
        sympy_linear_mib: mib(&sympy_report),
        plain_check_rss_mib: rss[0],
        sympy_check_rss_mib: rss[1],
        parent_peak_rss_mib,
    })
}

impl SympyBench {
    pub fn render(&self) -> Vec<String> {
        vec![
            format!(
                "sympy        component {:.1} MB compressed, {:.0} MB compiled; first sympy run {:.0} ms compiling ({:.0} ms of it the component), {:.0} ms with it cached ({:.1} ms to load)",
                self.sympy_compressed_bytes as f64 / 1e6,
                self.sympy_artifact_bytes as f64 / 1e6,
                self.first_run_compiling_ms,
                self.compile_ms,
                self.first_run_cached_ms,
                self.cache_load_ms
            ),
            format!(
                "sympy        cold start (median of {}): plain {:.2} ms, sympy {:.2} ms (instantiate {:.2} + load {:.2}): {:.1}x; plain beside sympy {:.2} ms: {:.2}x of plain alone; scan {:.1} us",
                self.runs,
                self.plain_cold_start_ms,
                self.sympy_cold_start_ms,
                self.sympy_instantiate_ms,
                self.sympy_load_ms,
                self.sympy_over_plain,
                self.plain_after_sympy_cold_start_ms,
                self.plain_after_over_before,
                self.scan_us
            ),
            format!(
                "sympy        memory: linear {:.0} MiB plain, {:.0} MiB sympy; check --workers 1 peak RSS {:.0} MiB plain, {:.0} MiB sympy (floor: this process's {:.0} MiB)",
                self.plain_linear_mib,
                self.sympy_linear_mib,
                self.plain_check_rss_mib,
                self.sympy_check_rss_mib,
                self.parent_peak_rss_mib
            ),
        ]
    }
}
