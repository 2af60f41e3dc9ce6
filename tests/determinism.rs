//! Determinism (spec/outputs.md): with a fixed --as-of, the same inputs and
//! config give byte-identical findings, links and rejects, CSV and Parquet,
//! at any thread count and across runs; the manifest differs only in its
//! stage timings. On the generated tiny county and on the hand-made sample.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod common;
use common::{assert_ok, run_batch};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every file of an output folder; the manifest with its timings zeroed.
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let mut bytes = std::fs::read(e.path()).unwrap();
        if name == "manifest.json" {
            let mut m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let stages = m["stages"].as_array_mut().unwrap();
            assert!(!stages.is_empty());
            for s in stages {
                assert!(s["seconds"].as_f64().unwrap() >= 0.0);
                s["seconds"] = serde_json::Value::from(0);
            }
            bytes = serde_json::to_vec_pretty(&m).unwrap();
        }
        files.insert(name, bytes);
    }
    files
}

fn run(input: &Path, config: Option<&Path>, out: &Path, threads: &str) {
    assert_ok(&run_batch(input, out, config, threads, &[]));
}

fn assert_identical_across(input: &Path, config: Option<&Path>, threads: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<(String, BTreeMap<String, Vec<u8>>)> = threads
        .iter()
        .enumerate()
        .map(|(i, t)| {
            // Each run its own folder and so its own case ledger: with the
            // same ledger state (here: none) the outputs are the same.
            let out: PathBuf = dir.path().join(format!("run{i}")).join("out");
            run(input, config, &out, t);
            (format!("run {i} (--threads {t})"), outputs(&out))
        })
        .collect();
    let (first_name, first) = &runs[0];
    for f in [
        "findings.csv",
        "findings.parquet",
        "links.csv",
        "links.parquet",
        "rejects.csv",
        "manifest.json",
    ] {
        assert!(first.contains_key(f), "{f} written");
    }
    for (name, other) in &runs[1..] {
        assert_eq!(
            first.keys().collect::<Vec<_>>(),
            other.keys().collect::<Vec<_>>(),
            "{first_name} vs {name}: the same files"
        );
        for (file, bytes) in first {
            if file == "manifest.json" {
                assert_eq!(
                    String::from_utf8_lossy(bytes),
                    String::from_utf8_lossy(&other[file]),
                    "{first_name} vs {name}: manifest beyond timings"
                );
            } else {
                assert!(
                    *bytes == other[file],
                    "{first_name} vs {name}: {file} differs"
                );
            }
        }
    }
}

#[test]
fn tiny_county_is_byte_identical_at_1_2_4_threads_and_across_runs() {
    assert_identical_across(
        &root().join("fixtures/tiny/input"),
        None,
        &["1", "2", "4", "4"],
    );
}

#[test]
fn sample_is_byte_identical_at_4_and_1_threads() {
    // tests/run.rs compares the sample's outputs at 1, 2 and 2 threads.
    assert_identical_across(
        &root().join("fixtures/sample"),
        Some(&root().join("fixtures/sample.toml")),
        &["4", "1"],
    );
}

/// `config` with the engine's tables forced to `tables`, as a file in `dir`.
fn with_tables(dir: &Path, config: Option<&Path>, tables: &str) -> PathBuf {
    let mut text = config
        .map(|c| std::fs::read_to_string(c).unwrap())
        .unwrap_or_default();
    text.push_str(&format!("\n[engine]\ntables = \"{tables}\"\n"));
    let path = dir.join(format!("{tables}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The outputs of a batch with the tables in memory and on disk: the same
/// bytes (the manifest differs only in the config it records), and the
/// disk run's work folder is gone when it ends.
fn assert_disk_is_memory(input: &Path, config: Option<&Path>) {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for tables in ["memory", "disk"] {
        let config = with_tables(dir.path(), config, tables);
        let out = dir.path().join(tables).join("out");
        run(input, Some(&config), &out, "2");
        assert!(
            !dir.path().join(tables).join("hedui-state/work").exists(),
            "{tables}: the work folder is removed"
        );
        let mut files = outputs(&out);
        let mut m: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
        assert_eq!(m["config"]["engine"]["tables"], tables);
        m["config"]["engine"] = serde_json::Value::Null;
        m["config_sha256"] = serde_json::Value::Null;
        files.insert(
            "manifest.json".into(),
            serde_json::to_vec_pretty(&m).unwrap(),
        );
        runs.push(files);
    }
    assert_eq!(
        runs[0].keys().collect::<Vec<_>>(),
        runs[1].keys().collect::<Vec<_>>()
    );
    for (file, bytes) in &runs[0] {
        assert!(
            *bytes == runs[1][file],
            "memory vs disk: {file} differs:\n{}\n---\n{}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(2000)]),
            String::from_utf8_lossy(&runs[1][file][..runs[1][file].len().min(2000)])
        );
    }
}

#[test]
fn tiny_county_on_disk_is_byte_identical_to_in_memory() {
    assert_disk_is_memory(&root().join("fixtures/tiny/input"), None);
}

#[test]
fn sample_on_disk_is_byte_identical_to_in_memory() {
    assert_disk_is_memory(
        &root().join("fixtures/sample"),
        Some(&root().join("fixtures/sample.toml")),
    );
}
