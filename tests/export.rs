//! `bootforge export` and `bootforge generate` through the real binary, a
//! real SQLite file and the real sandbox: InternBootcamp's layout, the
//! exported files loading under plain `python3`, name collisions, and
//! training records (deterministic across jobs, deduplicated, both formats,
//! a failing bootcamp's partial output kept valid).

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::campaign::bootforge;
use crate::review::bootforge_env;
use crate::util::repo_path;

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn bootcamp(name: &str) -> String {
    repo_path(&format!("tests/bootcamps/review/{name}"))
        .display()
        .to_string()
}

fn add(db: &Path, file: &str, params: &str) -> i64 {
    let (code, stdout, stderr) =
        bootforge(db, &["review", "add", file, "--params", params, "--json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    json_lines(&stdout)[0]["item"].as_i64().unwrap()
}

fn approve(db: &Path, id: i64) {
    let (code, _, stderr) = bootforge_env(
        db,
        &[
            "review",
            "approve",
            &id.to_string(),
            "--reviewer",
            "ada",
            "--note",
            "ship it",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
}

/// A minimal stand-in for InternBootcamp's package: the base class with
/// the inherited `verify_score`, and the package's `__init__` made of the
/// import lines the export wrote.
fn internbootcamp_skeleton(out: &Path) {
    std::fs::write(out.join("internbootcamp/__init__.py"), "").unwrap();
    std::fs::write(
        out.join("internbootcamp/bootcamp/base.py"),
        "class Basebootcamp:\n    @classmethod\n    def verify_score(cls, model_output, identity, format_score=0, **kwargs):\n        answer = cls.extract_output(model_output)\n        if answer is None:\n            return 0\n        return 1 if cls._verify_correction(answer, identity) else format_score\n",
    )
    .unwrap();
    let imports =
        std::fs::read_to_string(out.join("internbootcamp/bootcamp/__init__.bootforge.txt"))
            .unwrap();
    std::fs::write(
        out.join("internbootcamp/bootcamp/__init__.py"),
        format!("from .base import Basebootcamp\n{imports}"),
    )
    .unwrap();
}

#[test]
fn export_writes_internbootcamps_layout_that_python_loads() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("export.db");
    let first = add(&db, &bootcamp("big_mod.py"), "{}");
    // The same class again, with other parameters: its name must not collide.
    let second = add(&db, &bootcamp("big_mod.py"), r#"{"digits": 30}"#);
    let good = repo_path("tests/bootcamps/check/good.py");
    let pending = add(&db, good.to_str().unwrap(), "{}");
    approve(&db, first);
    approve(&db, second);
    let out = dir.path().join("tree");

    // Not approved: refused.
    let (code, _, stderr) = bootforge(
        &db,
        &[
            "export",
            "--out",
            out.to_str().unwrap(),
            "--id",
            &pending.to_string(),
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not approved"), "{stderr}");

    let (code, stdout, stderr) =
        bootforge(&db, &["export", "--out", out.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let manifest = json_lines(&stdout).remove(0);
    let entries = manifest["bootcamps"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "only approved items: {manifest}");
    assert_eq!(
        (entries[0]["class"].as_str(), entries[0]["folder"].as_str()),
        (Some("BigModProductbootcamp"), Some("big_mod_product"))
    );
    assert_eq!(
        (entries[1]["class"].as_str(), entries[1]["folder"].as_str()),
        (Some("BigModProduct2bootcamp"), Some("big_mod_product_2"))
    );
    assert_eq!(entries[1]["renamed_from"], "BigModProductbootcamp");
    for e in entries {
        assert_eq!(
            (e["reviewer"].as_str(), e["note"].as_str()),
            (Some("ada"), Some("ship it"))
        );
        assert!(e["decided_at"].as_str().unwrap().ends_with('Z'));
        let bytes = std::fs::read(out.join(e["path"].as_str().unwrap())).unwrap();
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(e["sha256"], digest);
    }
    let on_disk: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("MANIFEST.json")).unwrap()).unwrap();
    assert_eq!(on_disk["bootcamps"], manifest["bootcamps"]);

    // Only the import changed (and the class name where it collided).
    let original = std::fs::read_to_string(bootcamp("big_mod.py")).unwrap();
    let exported = std::fs::read_to_string(
        out.join("internbootcamp/bootcamp/big_mod_product/big_mod_product.py"),
    )
    .unwrap();
    assert_eq!(
        exported,
        original.replace(
            "from bootcamp import Basebootcamp",
            "from internbootcamp.bootcamp.base import Basebootcamp"
        )
    );
    let renamed = std::fs::read_to_string(
        out.join("internbootcamp/bootcamp/big_mod_product_2/big_mod_product_2.py"),
    )
    .unwrap();
    assert!(
        renamed.contains("class BigModProduct2bootcamp(Basebootcamp):")
            && !renamed.contains("BigModProductbootcamp")
    );
    let imports =
        std::fs::read_to_string(out.join("internbootcamp/bootcamp/__init__.bootforge.txt"))
            .unwrap();
    assert!(
        imports.contains("from .big_mod_product.big_mod_product import BigModProductbootcamp\n"),
        "{imports}"
    );
    assert!(
        imports
            .contains("from .big_mod_product_2.big_mod_product_2 import BigModProduct2bootcamp\n"),
        "{imports}"
    );
    // Where InternBootcamp's run_pipeline.sh reads parameter sets, named so
    // that its quickgen_data_configs.py derives the right class.
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(
            out.join("examples/pipelines/puzzle_configs/BigModProduct2_train.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(config, serde_json::json!([{"digits": 30}]));
    assert!(
        out.join("examples/pipelines/puzzle_configs/BigModProduct_test.json")
            .is_file()
    );
    let lines = json_lines(
        &std::fs::read_to_string(
            out.join("examples/pipelines/data_configs/data_config_train.bootforge.jsonl"),
        )
        .unwrap(),
    );
    assert_eq!(
        lines[1],
        serde_json::json!({"bootcamp_name": "BigModProduct2", "sample_number": 1000,
            "config_file": "BigModProduct2", "bootcamp_cls_name": "BigModProduct2bootcamp"})
    );
    assert!(
        std::fs::read_to_string(
            out.join("examples/pipelines/data_configs/data_config_test.bootforge.jsonl")
        )
        .unwrap()
        .contains(r#""sample_number":64"#)
    );
    assert!(
        std::fs::read_to_string(out.join("examples/verl_usage/bootforge_reward_for_verl.py"))
            .unwrap()
            .contains("def compute_score_batch(")
    );

    // A non-empty directory is not overwritten without --force.
    let (code, _, stderr) = bootforge(&db, &["export", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--force"), "{stderr}");
    let (code, _, stderr) = bootforge(&db, &["export", "--out", out.to_str().unwrap(), "--force"]);
    assert_eq!(code, 0, "{stderr}");

    // The files load under the machine's plain python3, as InternBootcamp's
    // data pipeline would load them, and generate and verify cases.
    internbootcamp_skeleton(&out);
    let script = r#"
import json, random, sys
import internbootcamp.bootcamp as ib
for name in ("BigModProductbootcamp", "BigModProduct2bootcamp"):
    cls = getattr(ib, name)
    # quickgen_data_configs.py's derivation of the class from the file name.
    config_name = name[: -len("bootcamp")]
    derived = config_name.replace("_", "")
    assert derived[0].upper() + derived[1:] + "bootcamp" == name
    config = json.load(open(f"examples/pipelines/puzzle_configs/{config_name}_train.json"))[0]
    random.seed(7)
    bootcamp = cls(**config)
    case = bootcamp.case_generator()
    prompt = bootcamp.prompt_func(case)
    right = cls.verify_score(cls.reference_output(case), case)
    wrong = cls.verify_score("\\boxed{-1}", case)
    print(json.dumps({"class": name, "digits": len(str(case["a"])), "prompt": len(prompt), "right": right, "wrong": wrong}))
"#;
    let run = Command::new("python3")
        .arg("-c")
        .arg(script)
        .current_dir(&out)
        .env("PYTHONPATH", &out)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let results = json_lines(&String::from_utf8_lossy(&run.stdout));
    assert_eq!(results.len(), 2);
    assert_eq!(
        (results[0]["digits"].as_u64(), results[1]["digits"].as_u64()),
        (Some(22), Some(30))
    );
    for r in &results {
        assert_eq!(
            (r["right"].as_i64(), r["wrong"].as_i64()),
            (Some(1), Some(0)),
            "{r}"
        );
        assert!(r["prompt"].as_u64().unwrap() > 50);
    }
}

fn generate(db: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["generate"];
    all.extend_from_slice(args);
    bootforge(db, &all)
}

#[test]
fn generate_is_deterministic_across_jobs_and_keeps_big_integers_exact() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gen.db");
    let file = bootcamp("big_mod.py");
    let one = dir.path().join("one.jsonl");
    let two = dir.path().join("two.jsonl");
    // More seeds than one sandbox run takes, so chunks run in parallel.
    for (out, jobs) in [(&one, "1"), (&two, "2")] {
        let (code, stdout, stderr) = generate(
            &db,
            &[
                &file,
                "--n",
                "1100",
                "--seed",
                "5",
                "--out",
                out.to_str().unwrap(),
                "--jobs",
                jobs,
                "--json",
            ],
        );
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        let report = json_lines(&stdout).remove(0);
        assert_eq!(
            (report["written"].as_u64(), report["duplicates"].as_u64()),
            (Some(1100), Some(0)),
            "{report}"
        );
        assert_eq!(report["class"], "BigModProductbootcamp");
    }
    let text = std::fs::read_to_string(&one).unwrap();
    assert_eq!(
        text,
        std::fs::read_to_string(&two).unwrap(),
        "--jobs changed the output"
    );
    let first = text.lines().next().unwrap();
    let record: Value = serde_json::from_str(first).unwrap();
    assert_eq!(record["data_source"], "BigModProduct");
    let prompt = record["prompt"].as_str().unwrap();
    let a = prompt.lines().find_map(|l| l.strip_prefix("a = ")).unwrap();
    assert_eq!(a.len(), 22);
    assert!(
        first.contains(&format!(r#""ground_truth":{{"a": {a}, "b": "#)),
        "exact, as written: {first}"
    );
    // A review item as the target, with its stored parameters; verl records.
    let id = add(&db, &file, r#"{"digits": 40}"#).to_string();
    let verl = dir.path().join("verl.jsonl");
    let (code, _, stderr) = generate(
        &db,
        &[
            &id,
            "--n",
            "20",
            "--out",
            verl.to_str().unwrap(),
            "--format",
            "verl",
            "--split",
            "test",
            "--seed",
            "100",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let records = json_lines(&std::fs::read_to_string(&verl).unwrap());
    assert_eq!(records.len(), 20);
    for (i, r) in records.iter().enumerate() {
        // As InternBootcamp's converter writes it: its reward function
        // appends `bootcamp` to what follows `bootcamp/`.
        assert_eq!(r["data_source"], "bootcamp/BigModProduct");
        assert_eq!(
            (r.get("ability"), r["reward_model"]["style"].as_str()),
            (None, Some("rule"))
        );
        assert_eq!(r["prompt"][0]["role"], "user");
        assert_eq!(
            r["extra_info"],
            serde_json::json!({"split": "test", "index": i})
        );
        let truth = r["reward_model"]["ground_truth"].as_str().unwrap();
        let content = r["prompt"][0]["content"].as_str().unwrap();
        let a = content
            .lines()
            .find_map(|l| l.strip_prefix("a = "))
            .unwrap();
        assert_eq!(a.len(), 40);
        assert!(truth.starts_with(&format!(r#"{{"a": {a}, "#)), "{truth}");
    }
}

#[test]
fn generate_drops_repeated_prompts_and_stops_whole_at_a_failing_seed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gen.db");
    let out = dir.path().join("dice.jsonl");
    let (code, stdout, stderr) = generate(
        &db,
        &[
            &bootcamp("narrow_dice.py"),
            "--n",
            "300",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let report = json_lines(&stdout).remove(0);
    let written = report["written"].as_u64().unwrap();
    assert_eq!(written + report["duplicates"].as_u64().unwrap(), 300);
    assert!((2..=11).contains(&written), "{report}");
    let records = json_lines(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(records.len() as u64, written);
    let prompts: std::collections::HashSet<&str> = records
        .iter()
        .map(|r| r["prompt"].as_str().unwrap())
        .collect();
    assert_eq!(prompts.len() as u64, written);

    // A heavy generator that fails at some seed: exit 1 naming the seed,
    // every record before it complete.
    let out = dir.path().join("walk.jsonl");
    let (code, stdout, stderr) = generate(
        &db,
        &[
            &bootcamp("heavy_flaky.py"),
            "--n",
            "3000",
            "--out",
            out.to_str().unwrap(),
            "--jobs",
            "2",
            "--json",
        ],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let report = json_lines(&stdout).remove(0);
    let failure = &report["failure"];
    let seed = failure["seed"].as_u64().unwrap();
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .contains("ZeroDivisionError"),
        "{failure}"
    );
    assert!(
        stderr.contains(&format!("failed at seed {seed}")),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'));
    let records = json_lines(&text);
    assert_eq!(records.len() as u64, report["written"].as_u64().unwrap());
    assert!(seed > 0 && (records.len() as u64) <= seed && !records.is_empty());
    assert!(records.iter().all(|r| r["ground_truth"]["grid"].is_array()));
}

/// Every row of a Parquet file, as JSON objects (nested columns included).
fn parquet_rows(path: &Path) -> Vec<Value> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_array::{Array, StructArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn cell(array: &dyn Array, row: usize) -> Value {
        match array.data_type() {
            arrow_schema::DataType::Utf8 => Value::from(array.as_string::<i32>().value(row)),
            arrow_schema::DataType::LargeUtf8 => Value::from(array.as_string::<i64>().value(row)),
            arrow_schema::DataType::Int64 => {
                Value::from(array.as_primitive::<Int64Type>().value(row))
            }
            arrow_schema::DataType::Struct(_) => {
                let s: &StructArray = array.as_struct();
                let mut map = serde_json::Map::new();
                for (field, column) in s.fields().iter().zip(s.columns()) {
                    map.insert(field.name().clone(), cell(column.as_ref(), row));
                }
                Value::Object(map)
            }
            arrow_schema::DataType::List(_) => {
                let items = array.as_list::<i32>().value(row);
                Value::Array((0..items.len()).map(|i| cell(items.as_ref(), i)).collect())
            }
            other => panic!("unexpected column type {other}"),
        }
    }
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let schema = batch.schema();
        for row in 0..batch.num_rows() {
            let mut map = serde_json::Map::new();
            for (field, column) in schema.fields().iter().zip(batch.columns()) {
                map.insert(field.name().clone(), cell(column.as_ref(), row));
            }
            rows.push(Value::Object(map));
        }
    }
    rows
}

#[test]
fn parquet_records_read_back_as_the_jsonl_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gen.db");
    let file = bootcamp("big_mod.py");
    for format in ["verl", "internbootcamp"] {
        let jsonl = dir.path().join(format!("{format}.jsonl"));
        let parquet = dir.path().join(format!("{format}.parquet"));
        for out in [&jsonl, &parquet] {
            let (code, _, stderr) = generate(
                &db,
                &[
                    &file,
                    "--n",
                    "700",
                    "--format",
                    format,
                    "--out",
                    out.to_str().unwrap(),
                    "--jobs",
                    "2",
                ],
            );
            assert_eq!(code, 0, "{stderr}");
        }
        let rows = parquet_rows(&parquet);
        let text = std::fs::read_to_string(&jsonl).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 700);
        assert_eq!(rows.len(), lines.len());
        for (row, line) in rows.iter().zip(&lines) {
            let record: Value = serde_json::from_str(line).unwrap();
            if format == "verl" {
                // Same record, ground truth as the same JSON text.
                assert_eq!(row, &record);
            } else {
                assert_eq!(
                    (&row["data_source"], &row["prompt"]),
                    (&record["data_source"], &record["prompt"])
                );
                let truth = row["ground_truth"].as_str().unwrap();
                assert!(
                    line.contains(&format!(r#""ground_truth":{truth}}}"#)),
                    "{truth} vs {line}"
                );
            }
        }
    }

    // A failing seed leaves a valid file with every record before it.
    let out = dir.path().join("walk.parquet");
    let (code, stdout, stderr) = generate(
        &db,
        &[
            &bootcamp("heavy_flaky.py"),
            "--n",
            "3000",
            "--format",
            "verl",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let report = json_lines(&stdout).remove(0);
    let rows = parquet_rows(&out);
    assert_eq!(rows.len() as u64, report["written"].as_u64().unwrap());
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .enumerate()
            .all(|(i, r)| r["extra_info"]["index"] == i as i64)
    );
}

#[test]
fn export_into_a_clone_appends_once_and_replaces_nothing_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("clone.db");
    let id = add(&db, &bootcamp("big_mod.py"), "{}");
    approve(&db, id);

    // Onto a regular file: bad input.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let (code, _, stderr) = bootforge(&db, &["export", "--out", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is a file"), "{stderr}");

    // A clone whose __init__.py has no final newline.
    let clone = dir.path().join("InternBootcamp");
    std::fs::create_dir_all(clone.join("internbootcamp/bootcamp/upstream")).unwrap();
    let init = clone.join("internbootcamp/bootcamp/__init__.py");
    std::fs::write(
        &init,
        "from .base import Basebootcamp\nfrom .upstream.upstream import Upstreambootcamp",
    )
    .unwrap();
    let (code, stdout, stderr) = bootforge(&db, &["export", "--out", clone.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let line = "from .big_mod_product.big_mod_product import BigModProductbootcamp";
    assert_eq!(
        std::fs::read_to_string(&init).unwrap(),
        format!(
            "from .base import Basebootcamp\nfrom .upstream.upstream import Upstreambootcamp\n{line}\n"
        )
    );
    assert!(
        !clone
            .join("internbootcamp/bootcamp/__init__.bootforge.txt")
            .exists()
    );

    // Again: the bootcamp exists now, refused without --force.
    let (code, _, stderr) = bootforge(&db, &["export", "--out", clone.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("big_mod_product/ exists")
            && stderr.contains("puzzle_configs/BigModProduct_train.json exists")
            && stderr.contains("--force"),
        "{stderr}"
    );
    // With --force the files are replaced and the import line not repeated.
    let exported = clone.join("internbootcamp/bootcamp/big_mod_product/big_mod_product.py");
    std::fs::write(&exported, "stale").unwrap();
    let (code, _, stderr) = bootforge(
        &db,
        &["export", "--out", clone.to_str().unwrap(), "--force"],
    );
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&init).unwrap();
    assert_eq!(text.matches(line).count(), 1, "{text}");
    assert_ne!(std::fs::read_to_string(&exported).unwrap(), "stale");
}

#[test]
fn generate_refuses_to_overwrite_and_reads_the_extension_in_any_case() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gen.db");
    let file = bootcamp("big_mod.py");
    let out = dir.path().join("records.PARQUET");
    let args = |out: &Path, force: bool| {
        let mut a = vec![
            file.clone(),
            "--n".into(),
            "5".into(),
            "--format".into(),
            "verl".into(),
            "--out".into(),
            out.display().to_string(),
        ];
        if force {
            a.push("--force".into());
        }
        a
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        generate(&db, &a)
    };
    let (code, _, stderr) = run(args(&out, false));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(&std::fs::read(&out).unwrap()[..4], b"PAR1");
    assert_eq!(parquet_rows(&out).len(), 5);
    let before = std::fs::read(&out).unwrap();
    let (code, _, stderr) = run(args(&out, false));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), before, "the file was kept");
    let (code, _, stderr) = run(args(&out, true));
    assert_eq!(code, 0, "{stderr}");
}

/// verl concatenates training files only when their schemas are equal:
/// bootforge's Parquet and one shaped like InternBootcamp's converter's
/// output (pandas `DataFrame.to_parquet`, pandas 3 and pandas 2) are read
/// with pyarrow and concatenated, and InternBootcamp's reward function's
/// naming turns the data source into the class.
#[test]
fn verl_parquet_concatenates_with_internbootcamps_converted_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gen.db");
    let file = bootcamp("big_mod.py");
    for like in ["pandas3", "pandas2"] {
        let out = dir.path().join(format!("{like}.parquet"));
        let (code, _, stderr) = generate(
            &db,
            &[
                &file,
                "--n",
                "30",
                "--format",
                "verl",
                "--parquet-like",
                like,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        let script = format!(
            r#"
import json, sys
try:
    import pyarrow as pa, pyarrow.parquet as pq
except ImportError:
    sys.exit("this test needs pyarrow: python3 -m pip install pyarrow")
ours = pq.read_table({out:?})
top = pa.large_string() if {like:?} == "pandas3" else pa.string()
schema = pa.schema([
    ("data_source", top),
    ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
    ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
    ("extra_info", pa.struct([("split", pa.string()), ("index", pa.int64())])),
])
# What examples/verl_usage/verl_data_preprocess.py makes of a pipeline record.
theirs = pa.Table.from_pylist([{{
    "data_source": "bootcamp/" + "Maze",
    "prompt": [{{"role": "user", "content": "q"}}],
    "reward_model": {{"style": "rule", "ground_truth": json.dumps({{"n": 1}})}},
    "extra_info": {{"split": "train", "index": 0}},
}}], schema=schema)
both = pa.concat_tables([ours, theirs])
source = ours.column("data_source")[0].as_py()
name = source.split("/")[1]
print(json.dumps({{"rows": both.num_rows, "class": name[0].upper() + name[1:] + "bootcamp",
    "truth": json.loads(ours.column("reward_model")[0].as_py()["ground_truth"])["a"] > 2**64}}))
"#,
            out = out.display().to_string(),
        );
        let run = Command::new("python3")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{like}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let result: Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(
            result,
            serde_json::json!({"rows": 31, "class": "BigModProductbootcamp", "truth": true}),
            "{like}"
        );
    }
}
