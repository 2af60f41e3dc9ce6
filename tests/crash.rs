//! Crash safety (spec/outputs.md "Determinism and crash safety"): `hedui run`
//! killed with SIGKILL at seeded pseudo-random moments over the run, and just
//! as it starts writing its staged output, never leaves a partial output
//! folder: after every kill the output is the previous complete output,
//! byte for byte, or a new complete one (the same bytes: the inputs are the
//! same), and the next run succeeds and recovers any half-done swap.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{assert_ok, hedui};

fn tiny_input() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny/input")
}

fn args(out: &Path) -> Vec<String> {
    [
        "run",
        "--input",
        tiny_input().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--as-of",
        "2025-11-30",
        "--threads",
        "2",
    ]
    .map(String::from)
    .to_vec()
}

fn spawn_run(out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hedui"))
        .args(args(out))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("hedui starts")
}

fn run_to_completion(out: &Path) {
    let a = args(out);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    assert_ok(&hedui(&a));
}

/// The staging and set-aside siblings of the output folder
/// (src/report/output.rs).
fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let name = out.file_name().unwrap().to_string_lossy();
    out.with_file_name(format!(".{name}.{suffix}"))
}

/// Every file of an output folder by name; manifest.json without its stage
/// timings, the only thing that may differ between two runs of one batch.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(e.file_type().unwrap().is_file(), "{name} is a file");
        let mut bytes = std::fs::read(e.path()).unwrap();
        if name == "manifest.json" {
            let mut m: serde_json::Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|err| panic!("manifest.json is not complete JSON: {err}"));
            m.as_object_mut().unwrap().remove("stages");
            bytes = serde_json::to_vec(&m).unwrap();
        }
        files.insert(name, bytes);
    }
    files
}

/// The state folder beside the output folder must never be half written:
/// the case ledger (committed in one transaction after the swap) opens,
/// passes SQLite's integrity check and holds exactly the cases of the
/// complete output, each 新增 or 持续.
fn assert_state_intact(state: &Path, cases: usize) {
    if !state.exists() {
        return;
    }
    let unfinished = state.join("last-unfinished-run/manifest.json");
    if unfinished.exists() {
        let text = std::fs::read_to_string(&unfinished).unwrap();
        serde_json::from_str::<serde_json::Value>(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", unfinished.display()));
    }
    let ledger = state.join("ledger.sqlite");
    if !ledger.exists() {
        return;
    }
    let db = rusqlite::Connection::open(&ledger).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{}", ledger.display());
    let statuses: Vec<String> = db
        .prepare("SELECT status FROM cases")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(statuses.len(), cases, "cases in the ledger");
    assert!(
        statuses.iter().all(|s| s == "新增" || s == "持续"),
        "{statuses:?}"
    );
}

/// What a kill left: the output folder as the next reader sees it once the
/// next start has recovered a half-done swap (`.out.old` set aside and not
/// yet replaced stands for the output).
fn effective_output(out: &Path) -> Option<PathBuf> {
    if out.exists() {
        Some(out.to_path_buf())
    } else if sibling(out, "old").exists() {
        Some(sibling(out, "old"))
    } else {
        None
    }
}

/// Pseudo-random kill moments (an LCG, fixed seed), spread from 0 to a
/// little past the measured run time so that some land in the write stage
/// and the swap at the very end.
fn kill_moments(seed: u64, n: usize, run: Duration) -> Vec<Duration> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let fraction = (state >> 11) as f64 / (1u64 << 53) as f64;
            run.mul_f64(fraction * 1.05)
        })
        .collect()
}

enum KillAt {
    After(Duration),
    /// As soon as the staging folder appears (the write stage), plus a delay.
    Staging(Duration),
}

/// Starts a run and kills it at `at`; whether it had finished first.
fn kill_run(out: &Path, at: &KillAt) -> bool {
    let mut child = spawn_run(out);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(300);
    let staging = sibling(out, "tmp");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "an unkilled run failed: {status}");
            return true;
        }
        let now = Instant::now();
        assert!(now < deadline, "run did not finish");
        match at {
            KillAt::After(d) if now - start >= *d => break,
            KillAt::Staging(d) if staging.exists() => {
                std::thread::sleep(*d);
                break;
            }
            _ => std::thread::sleep(Duration::from_micros(500)),
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    false
}

#[test]
fn killed_runs_leave_the_previous_or_a_new_complete_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let state = dir.path().join("hedui-state");

    // Killed before any output exists: no output, or a complete one.
    kill_run(&out, &KillAt::After(Duration::from_millis(300)));
    if let Some(o) = effective_output(&out) {
        snapshot(&o);
    }

    let started = Instant::now();
    run_to_completion(&out);
    let run_time = started.elapsed();
    // From the second complete run on, every case is 持续: the output of
    // any later run, killed or not, is this one byte for byte.
    run_to_completion(&out);
    let complete = snapshot(&out);
    let cases = csv::Reader::from_path(out.join("findings.csv"))
        .unwrap()
        .records()
        .count();
    for f in [
        "findings.csv",
        "findings.parquet",
        "links.csv",
        "links.parquet",
        "rejects.csv",
        "warnings.csv",
        "manifest.json",
    ] {
        assert!(complete.contains_key(f), "{f} in a complete output");
    }

    let mut moments: Vec<KillAt> = kill_moments(0x0068_6564_7569, 5, run_time)
        .into_iter()
        .map(KillAt::After)
        .collect();
    moments.extend([0, 5].map(Duration::from_millis).map(KillAt::Staging));
    for (i, at) in moments.iter().enumerate() {
        let finished = kill_run(&out, at);
        let what = match at {
            KillAt::After(d) => format!(
                "kill {i} after {d:?}{}",
                if finished { " (finished)" } else { "" }
            ),
            KillAt::Staging(d) => format!("kill {i} {d:?} into the write stage"),
        };
        let effective = effective_output(&out).unwrap_or_else(|| panic!("{what}: no output"));
        assert!(
            snapshot(&effective) == complete,
            "{what}: output differs from the complete one"
        );
        assert_state_intact(&state, cases);
        // A half-done swap is put right by the next run (a leftover staging
        // folder is cleared by the next killed run's start, or the last run).
        if !out.exists() || sibling(&out, "old").exists() {
            run_to_completion(&out);
            assert!(snapshot(&out) == complete, "{what}: recovery run");
            assert!(!sibling(&out, "old").exists() && !sibling(&out, "tmp").exists());
        }
    }
    run_to_completion(&out);
    assert!(snapshot(&out) == complete);
    assert!(!sibling(&out, "old").exists() && !sibling(&out, "tmp").exists());
    assert_state_intact(&state, cases);
}

/// The kill points inside the swap itself (src/report/output.rs `commit`),
/// too short to hit by timing, set up by hand: each is a state a SIGKILL
/// can leave, and the next run must recover from it.
#[test]
fn next_run_recovers_every_half_done_swap() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Twice: from the second run on every case is 持续 and outputs repeat.
    run_to_completion(&out);
    run_to_completion(&out);
    let complete = snapshot(&out);
    let old = sibling(&out, "old");
    let tmp = sibling(&out, "tmp");
    let copy = |from: &Path, to: &Path, keep: usize| {
        std::fs::create_dir_all(to).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(from)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        for n in names.into_iter().take(keep) {
            std::fs::copy(from.join(&n), to.join(&n)).unwrap();
        }
    };

    // 1. Killed between the two renames: the output set aside, none in
    //    place, the complete staging folder beside them.
    std::fs::rename(&out, &old).unwrap();
    copy(&old, &tmp, usize::MAX);
    run_to_completion(&out);
    assert!(snapshot(&out) == complete, "between the renames");
    assert!(!old.exists() && !tmp.exists());

    // 2. Killed after the second rename, half-way through removing the old
    //    output; and a partial staging folder left by an earlier kill while
    //    writing.
    copy(&out, &old, 3);
    copy(&out, &tmp, 2);
    std::fs::write(tmp.join("links.csv"), "extract,file,ro").unwrap();
    run_to_completion(&out);
    assert!(
        snapshot(&out) == complete,
        "old output and partial staging left behind"
    );
    assert!(!old.exists() && !tmp.exists());

    // 3. Between the renames, then a run that fails on its input: the
    //    previous output is put back even so.
    std::fs::rename(&out, &old).unwrap();
    let broken = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(tiny_input()).unwrap() {
        let e = e.unwrap();
        if !e.file_name().to_string_lossy().starts_with("pension") {
            std::fs::copy(e.path(), broken.path().join(e.file_name())).unwrap();
        }
    }
    let o = hedui(&[
        "run",
        "--input",
        broken.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--as-of",
        "2025-11-30",
    ]);
    assert_eq!(o.status.code(), Some(4));
    assert!(snapshot(&out) == complete, "failed run after a half swap");
    assert!(!old.exists());
}
