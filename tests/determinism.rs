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
        "warnings.csv",
        "conflicts.csv",
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

/// `config` with `engine` (lines of its `[engine]` table), as the file
/// `{name}.toml` in `dir`.
fn with_engine(dir: &Path, config: Option<&Path>, name: &str, engine: &str) -> PathBuf {
    let mut text = config
        .map(|c| std::fs::read_to_string(c).unwrap())
        .unwrap_or_default();
    text.push_str(&format!("\n[engine]\n{engine}\n"));
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// An output folder's files ([`outputs`]), its manifest without the
/// engine's config (and the config's digest).
fn outputs_beyond_engine(out: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = outputs(out);
    let mut m: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    m["config"]["engine"] = serde_json::Value::Null;
    m["config_sha256"] = serde_json::Value::Null;
    files.insert(
        "manifest.json".into(),
        serde_json::to_vec_pretty(&m).unwrap(),
    );
    files
}

/// A batch below `small_below_mb` runs each query in one partition; with
/// `small_below_mb = 0` the tiny county's queries are split over the
/// threads' partitions, as a county's are: byte-identical at 1, 2 and 4
/// threads, and to its run as a small batch.
#[test]
fn tiny_county_split_over_partitions_is_byte_identical_to_its_small_run() {
    let input = root().join("fixtures/tiny/input");
    let dir = tempfile::tempdir().unwrap();
    let split = with_engine(dir.path(), None, "split", "small_below_mb = 0");
    assert_identical_across(&input, Some(&split), &["1", "2", "4"]);
    let mut runs = Vec::new();
    for (name, config, small) in [("small", None, true), ("split", Some(&split), false)] {
        let out = dir.path().join(name).join("out");
        let mut args = vec![
            "--log-format",
            "json",
            "run",
            "--input",
            input.to_str().unwrap(),
        ];
        args.extend(["--out", out.to_str().unwrap(), "--as-of", "2025-11-30"]);
        args.extend(["--threads", "2"]);
        if let Some(c) = config {
            args.extend(["--config", c.to_str().unwrap()]);
        }
        // The engine's choice is logged at info.
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hedui"))
            .args(&args)
            .env("RUST_LOG", "hedui=info")
            .output()
            .unwrap();
        assert_ok(&output);
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(log.contains(&format!("\"small\":{small}")), "{name}: {log}");
        runs.push(outputs_beyond_engine(&out));
    }
    assert_eq!(
        runs[0].keys().collect::<Vec<_>>(),
        runs[1].keys().collect::<Vec<_>>()
    );
    for (file, bytes) in &runs[0] {
        assert!(*bytes == runs[1][file], "small vs split: {file} differs");
    }
}

/// The outputs of a batch with the tables in memory and on disk: the same
/// bytes (the manifest differs only in the config it records), and the
/// disk run's work folder is gone when it ends. `engine`: more lines of
/// the config's `[engine]`.
fn assert_disk_is_memory(input: &Path, config: Option<&Path>, engine: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for tables in ["memory", "disk"] {
        let lines = format!("tables = \"{tables}\"\n{engine}");
        let config = with_engine(dir.path(), config, tables, &lines);
        let out = dir.path().join(tables).join("out");
        run(input, Some(&config), &out, "2");
        assert!(
            !dir.path().join(tables).join("hedui-state/work").exists(),
            "{tables}: the work folder is removed"
        );
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(m["config"]["engine"]["tables"], tables);
        runs.push(outputs_beyond_engine(&out));
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
    assert_disk_is_memory(&root().join("fixtures/tiny/input"), None, "");
}

/// Extracts of two files each: on disk (each file a work part of its own,
/// its name as text) as in memory (its name a dictionary, a file's rows a
/// batch of their own), the same bytes. The queries split over partitions,
/// as a county's are.
#[test]
fn extracts_of_two_files_on_disk_are_byte_identical_to_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    std::fs::create_dir(&input).unwrap();
    let tiny = root().join("fixtures/tiny/input");
    for entry in std::fs::read_dir(&tiny).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(stem) = name.strip_suffix("_202511.csv") else {
            std::fs::copy(&path, input.join(&name)).unwrap();
            continue;
        };
        // The header, then half the rows in each file, as bytes (one
        // file is GB18030).
        let bytes = std::fs::read(&path).unwrap();
        let lines: Vec<&[u8]> = bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let half = (lines.len() / 2).max(1);
        for (month, rows) in [("202511", &lines[1..half]), ("202512", &lines[half..])] {
            let mut body = Vec::new();
            for line in std::iter::once(&lines[0]).chain(rows) {
                body.extend_from_slice(line);
                body.push(b'\n');
            }
            std::fs::write(input.join(format!("{stem}_{month}.csv")), body).unwrap();
        }
    }
    assert_disk_is_memory(&input, None, "small_below_mb = 0");
}

#[test]
fn sample_on_disk_is_byte_identical_to_in_memory() {
    assert_disk_is_memory(
        &root().join("fixtures/sample"),
        Some(&root().join("fixtures/sample.toml")),
        "",
    );
}
