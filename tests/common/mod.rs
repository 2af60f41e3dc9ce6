//! What the end-to-end tests share: running the real binary.

use std::process::{Command, Output};

/// Runs `hedui` with these arguments (warnings only in its log).
pub fn hedui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hedui"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the hedui binary runs")
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
