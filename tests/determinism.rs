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
