//! What the end-to-end tests share: running the real binary.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `hedui` with these arguments (warnings only in its log).
pub fn hedui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hedui"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the hedui binary runs")
}

/// Copies every file of the sample batch (fixtures/sample) into `to`, an
/// existing folder, for a test that changes some of them.
#[allow(dead_code)] // not every test file changes the sample
pub fn copy_sample(to: &Path) {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample");
    for e in std::fs::read_dir(sample).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Copies the sample batch into `dir/input` (made, with `dir` if need be),
/// for a test to change or add to; returns that folder.
#[allow(dead_code)] // not every test file changes the sample
pub fn sample_copy(dir: &Path) -> std::path::PathBuf {
    let input = dir.join("input");
    std::fs::create_dir_all(&input).unwrap();
    copy_sample(&input);
    input
}

/// Fails the test, showing the binary's error output, unless it exited 0.
pub fn assert_ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `hedui run` on a batch as of 2025-11-30 (the fixtures' as-of date) at
/// `threads` threads, with a config when given, then `extra` arguments.
#[allow(dead_code)] // not every test file runs batches
pub fn run_batch(
    input: &Path,
    out: &Path,
    config: Option<&Path>,
    threads: &str,
    extra: &[&str],
) -> Output {
    let mut args = vec![
        "run",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--as-of",
        "2025-11-30",
        "--threads",
        threads,
    ];
    if let Some(c) = config {
        args.extend(["--config", c.to_str().unwrap()]);
    }
    args.extend_from_slice(extra);
    hedui(&args)
}
