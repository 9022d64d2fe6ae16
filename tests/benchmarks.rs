//! Every committed benchmark (`cargo bench --bench bootforge`, the modules
//! in `tests/bench/`), run quickly through the real path: the real sandbox
//! and component, the real `bootforge` binary where a benchmark measures a
//! child process, the fake OpenAI server for the models.

use serde_json::Value;

use crate::util;

#[test]
fn bench_quick_runs_every_benchmark() {
    // Fill the shared cache first, as the binary's tests do.
    let _ = util::sandbox();
    let report =
        crate::bench::run(&util::cache_dir(), true, None).expect("the quick benchmarks run");
    // The human table `cargo bench` prints renders from the same report.
    assert!(report.render().iter().any(|l| l.starts_with("cold start")));
    let report: Value = serde_json::to_value(&report).unwrap();
    let json = report.to_string();
    assert_eq!(report["quick"], true);
    assert!(
        report["compile"]["compile_ms"].as_f64().unwrap()
            > report["compile"]["cache_load_ms"].as_f64().unwrap()
    );
    assert!(report["cold_start"]["median_ms"].as_f64().unwrap() > 0.0);
    assert!(
        report["throughput"]["sandbox_cases_per_s"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    // python3 is on every machine this runs on; the ratio compares the same loop.
    assert!(
        report["throughput"]["ratio"].as_f64().unwrap() > 0.0,
        "{}",
        json
    );
    assert!(report["workers"]["speedup"].as_f64().unwrap() > 0.0);
    assert_eq!(report["audit"]["files"], 16);
    assert_eq!(
        report["audit"]["passed"], 8,
        "the corpus is half good, half broken: {}",
        report["audit"]
    );
    assert!(report["solver"]["mean_overhead_ms"].as_f64().unwrap() > -1.0);
    let serve = &report["serve"];
    assert_eq!(
        (serve["items"].as_u64(), serve["requests"].as_u64()),
        (Some(500), Some(20))
    );
    assert!(serve["item_p99_ms"].as_f64().unwrap() >= serve["item_median_ms"].as_f64().unwrap());
    assert!(serve["rss_after_mib"].as_f64().unwrap() > 1.0, "{serve}");
    // Every answer of the instant model is right, and scored.
    assert_eq!(report["eval"]["records"], 500);
    assert_eq!(report["eval"]["accuracy"], 1.0, "{}", report["eval"]);
    // Each hostile endpoint is cut at the read cap after one request.
    let hostile = report["hostile_llm"]["cases"].as_array().unwrap();
    assert_eq!(hostile.len(), 4, "{}", report["hostile_llm"]);
    assert!(
        hostile[1..].iter().all(|c| c["outcome"]
            .as_str()
            .unwrap()
            .contains("exceeded 8388608 bytes after 1 request")),
        "{}",
        report["hostile_llm"]
    );
}
