//! scripts/compare.py, the A/B timing of two binaries: on the tiny batch it
//! times both in alternating pairs, prints the medians, fails (1) when the
//! outputs differ and cannot compare (2) without a binary. `os.wait4`, which
//! it times the runs with, is Unix only.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn compare(a: &Path, b: &Path, bench_dir: &Path, pairs: u32) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Command::new("python3")
        .arg(root.join("scripts/compare.py"))
        .arg(a)
        .arg(b)
        .arg("--input")
        .arg(root.join("fixtures/tiny/input"))
        .args(["--pairs", &pairs.to_string(), "--warmup", "0"])
        .args(["--threads", "2"])
        .env("HEDUI_BENCH_DIR", bench_dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("python3 runs")
}

fn hedui() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hedui"))
}

#[test]
fn the_same_binary_twice_gives_identical_outputs_and_medians() {
    let dir = tempfile::tempdir().unwrap();
    let o = compare(&hedui(), &hedui(), dir.path(), 2);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A then B, then B then A.
    let order: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("pair "))
        .filter_map(|l| l.split(':').next())
        .collect();
    assert_eq!(order, ["1 A", "1 B", "2 B", "2 A"], "{stdout}");
    for row in [
        "wall s",
        "CPU s",
        "peak GB",
        "read s",
        "resolve s",
        "write s",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(row)),
            "no {row} row: {stdout}"
        );
    }
    // Every output but the manifest is compared: findings, links (CSV and
    // Parquet), rejects, warnings and both reports at least.
    let files: usize = stdout
        .split("outputs identical in all 4 runs (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no verdict: {stdout}"));
    assert!(files >= 8, "{stdout}");
    // Each run's folder is removed once its outputs are digested.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("compare"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_binary_whose_findings_differ_fails_the_comparison() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // B runs hedui, then adds a line to the findings it wrote.
    let b = dir.path().join("changed.sh");
    std::fs::write(
        &b,
        format!(
            "#!/bin/sh\n\
             out=\n\
             prev=\n\
             for a in \"$@\"; do [ \"$prev\" = --out ] && out=$a; prev=$a; done\n\
             '{}' \"$@\" || exit $?\n\
             echo extra >> \"$out/findings.csv\"\n",
            hedui().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = compare(&hedui(), &b, dir.path(), 1);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("outputs differ: pair 1 B: findings.csv"),
        "{stdout}"
    );
}

#[test]
fn a_missing_binary_is_no_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-hedui");
    let o = compare(&hedui(), &missing, dir.path(), 1);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("B: ") && stderr.contains("no-such-hedui"),
        "{stderr}"
    );
}
