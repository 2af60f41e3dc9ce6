//! scripts/compare.py, the A/B timing of two binaries: on the tiny batch it
//! times both, prints the medians, and fails when the outputs differ.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn compare(a: &Path, b: &Path, bench_dir: &Path) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Command::new("python3")
        .arg(root.join("scripts/compare.py"))
        .arg(a)
        .arg(b)
        .arg("--input")
        .arg(root.join("fixtures/tiny/input"))
        .args(["--pairs", "1", "--warmup", "0", "--threads", "2"])
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
    let o = compare(&hedui(), &hedui(), dir.path());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("pair 1 A: "), "{stdout}");
    assert!(stdout.contains("pair 1 B: "), "{stdout}");
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
    assert!(
        stdout.contains("outputs identical in all 2 runs"),
        "{stdout}"
    );
    // Each run's folder is removed once its outputs are digested.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("compare"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[cfg(unix)]
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
    let o = compare(&hedui(), &b, dir.path());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("outputs differ: pair 1 B: findings.csv"),
        "{stdout}"
    );
}
