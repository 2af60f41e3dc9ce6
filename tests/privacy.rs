//! Privacy: no ID number and no name from the inputs in anything hedui prints
//! or logs — at `RUST_LOG=trace`, in text and JSON log formats, on a clean
//! batch and on broken ones whose error messages name files and columns —
//! and every file it writes (output folder, state folder) owner-only.
//!
//! The secrets are collected from the input files with hedui's own readers:
//! every ID-like digit run (18 characters with a check character, and
//! 15-digit legacy numbers) in any cell, every ID number as normalised, and
//! every name of a name column, raw and normalised. Names of three or more
//! characters are sought anywhere; two-character names only as a whole run
//! of Chinese characters (`张伟` inside `张伟明` or a message word is not a
//! leak, `张伟` standing alone is).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hedui::extract::{self, FieldType, HeaderMatcher};
use hedui::normalize::{id::normalize_id, name::normalize_name};
use hedui::read;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Default)]
struct Secrets {
    ids: BTreeSet<String>,
    long_names: BTreeSet<String>,
    short_names: BTreeSet<String>,
}

impl Secrets {
    fn add_name(&mut self, name: &str) {
        let name = name.trim();
        match name.chars().count() {
            0 | 1 => {}
            2 => {
                self.short_names.insert(name.to_string());
            }
            _ => {
                self.long_names.insert(name.to_string());
            }
        }
    }

    fn add_ids_in(&mut self, cell: &str) {
        let chars: Vec<char> = cell.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if !chars[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits = i - start;
            let check = chars.get(i).is_some_and(|c| matches!(c, 'X' | 'x'));
            if digits == 18 || (digits == 17 && check) || digits == 15 {
                let end = if digits == 17 { i + 1 } else { i };
                self.ids.insert(chars[start..end].iter().collect());
            }
        }
        // Full-width, spaced or hyphenated numbers, as normalised.
        if let Some(v) = normalize_id(cell).value.filter(|v| v.len() == 18) {
            self.ids.insert(v.into());
        }
    }

    /// Every secret of every extract file of a batch folder that reads.
    fn of_batch(dir: &Path) -> Secrets {
        let mut s = Secrets::default();
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let Some(def) = extract::by_file_name(&file) else {
                continue;
            };
            let matcher = HeaderMatcher::new(def, &BTreeMap::new());
            let Ok(table) =
                read::read_file(&path, &|c: &[read::Cell]| matcher.looks_like_header(c))
            else {
                continue;
            };
            for section in &table.sections {
                let name_columns: Vec<usize> = matcher
                    .map_header(&section.header)
                    .map(|m| {
                        def.fields
                            .iter()
                            .zip(&m.columns)
                            .filter(|(f, _)| f.ty == FieldType::Name)
                            .filter_map(|(_, c)| *c)
                            .collect()
                    })
                    .unwrap_or_default();
                for row in &section.rows {
                    for (i, cell) in row.fields.iter().enumerate() {
                        s.add_ids_in(cell);
                        if name_columns.contains(&i) {
                            s.add_name(cell);
                            s.add_name(&normalize_name(cell).name);
                        }
                    }
                }
            }
        }
        s
    }

    fn merge(mut self, other: Secrets) -> Secrets {
        self.ids.extend(other.ids);
        self.long_names.extend(other.long_names);
        self.short_names.extend(other.short_names);
        self
    }

    /// The secrets `text` gives away. Logs at trace level run to tens of
    /// megabytes: the text is cut into runs of digits and runs of other
    /// non-ASCII characters (names), and only those are looked up.
    fn leaks(&self, text: &str) -> Vec<String> {
        let mut found = BTreeSet::new();
        let is_id_char = |c: char| c.is_ascii_digit() || c == 'X' || c == 'x';
        for run in text.split(|c: char| !is_id_char(c)) {
            // An ID may stand inside a longer run of digits.
            for len in [15, 18] {
                if run.len() >= len {
                    for start in 0..=run.len() - len {
                        if let Some(id) = self.ids.get(&run[start..start + len]) {
                            found.insert(id.clone());
                        }
                    }
                }
            }
        }
        let longest = self
            .long_names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0);
        for run in text.split(|c: char| c.is_ascii() || c == '\u{FFFD}') {
            if run.is_empty() {
                continue;
            }
            let chars: Vec<char> = run.chars().collect();
            for start in 0..chars.len() {
                for len in 3..=longest.min(chars.len() - start) {
                    let piece: String = chars[start..start + len].iter().collect();
                    if self.long_names.contains(&piece) {
                        found.insert(piece);
                    }
                }
            }
        }
        // Names written with ASCII inside (`李 娜`, `阿依.买买提`): few, sought whole.
        for name in self
            .long_names
            .iter()
            .filter(|n| n.contains(|c: char| c.is_ascii()))
        {
            if text.contains(name.as_str()) {
                found.insert(name.clone());
            }
        }
        let is_han = |c: char| ('\u{4E00}'..='\u{9FFF}').contains(&c) || c == '·';
        for token in text.split(|c: char| !is_han(c)) {
            if let Some(name) = self.short_names.get(token) {
                found.insert(name.clone());
            }
        }
        found.into_iter().collect()
    }
}

/// Runs hedui at `RUST_LOG=trace`; its stdout and stderr as one text.
fn traced(args: &[&str], log_format: &str) -> (Output, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_hedui"))
        .args(args)
        .args(["--log-format", log_format])
        .env("RUST_LOG", "trace")
        .output()
        .expect("hedui runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o, text)
}

/// Exit 0, or the test fails showing only the exit code (the output could
/// hold what this test looks for).
fn assert_ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "hedui failed");
}

fn assert_no_leak(secrets: &Secrets, text: &str, what: &str) {
    let leaks = secrets.leaks(text);
    // Only the first few, and only their length: the test's own message
    // must not print them either.
    assert!(
        leaks.is_empty(),
        "{what}: {} secrets in the output, e.g. {:?}",
        leaks.len(),
        leaks
            .iter()
            .take(5)
            .map(|l| format!("{} chars", l.chars().count()))
            .collect::<Vec<_>>()
    );
}

/// Every file under `dir` is 0600 and every folder 0700.
#[cfg(unix)]
fn assert_owner_only(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", dir.display());
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let path: PathBuf = e.path();
        if e.file_type().unwrap().is_dir() {
            assert_owner_only(&path);
        } else {
            let mode = e.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
    }
}

#[cfg(not(unix))]
fn assert_owner_only(_dir: &Path) {}

#[test]
fn trace_logs_of_a_run_carry_no_id_or_name_in_text_or_json() {
    let input = root().join("fixtures/tiny/input");
    let secrets = Secrets::of_batch(&input);
    // The collection itself works: the tiny county has hundreds of each.
    assert!(secrets.ids.len() > 200, "{}", secrets.ids.len());
    assert!(secrets.long_names.len() + secrets.short_names.len() > 100);
    let dir = tempfile::tempdir().unwrap();
    for format in ["text", "json"] {
        // The output's parent does not exist yet: hedui creates it, and
        // the folders it creates are owner-only too.
        let parent = dir.path().join(format!("new-{format}"));
        let out = parent.join("out");
        let (o, text) = traced(
            &[
                "run",
                "--input",
                input.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--as-of",
                "2025-11-30",
                "--threads",
                "2",
            ],
            format,
        );
        assert_ok(&o);
        // Trace level really is on (DataFusion's planner logs through it).
        assert!(text.contains("TRACE"), "RUST_LOG=trace honoured");
        if format == "json" {
            // Every record is JSON still (masking leaves long fractions,
            // `"seconds":11.428989595000001`, as they are).
            let records: Vec<&str> = text.lines().filter(|l| l.starts_with('{')).collect();
            assert!(records.len() > 10);
            for record in records {
                assert!(
                    serde_json::from_str::<serde_json::Value>(record).is_ok(),
                    "a log record is not JSON"
                );
            }
        }
        assert_no_leak(&secrets, &text, &format!("run, {format} logs"));
        // out/ and hedui-state/ beside it, and the parent made for them.
        assert_owner_only(&parent);
        // The outputs do hold the secrets (they are the machine files):
        // proof that the check above could fail.
        let links = std::fs::read_to_string(out.join("links.csv")).unwrap();
        assert!(!secrets.leaks(&links).is_empty());
    }
    let (o, text) = traced(
        &[
            "validate",
            "--input",
            input.to_str().unwrap(),
            "--out",
            dir.path().join("validate").to_str().unwrap(),
        ],
        "json",
    );
    assert_ok(&o);
    assert_no_leak(&secrets, &text, "validate");
    assert_owner_only(&dir.path().join("validate"));
}

/// A copy of the sample batch with faults whose messages name files,
/// columns and cells.
fn broken_sample() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(root().join("fixtures/sample")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    let d = dir.path();
    // A required column missing (the message lists the headers found).
    std::fs::write(
        d.join("unemployment_202511.csv"),
        "姓名,身份证号,状态\n欧阳建国,341122196805207712,失业\n",
    )
    .unwrap();
    // A doubled column.
    std::fs::write(
        d.join("pension_202511.csv"),
        "姓名,身份证号,发放月份,发放金额（元）,公民身份号码\n司马相如,110105195001016631,202501,1500,110105195001016631\n",
    )
    .unwrap();
    // Bad bytes after plenty of UTF-8: undecodable, with an offset.
    let mut bytes = "姓名,身份证号,单位名称,单位类型,费款所属期,缴费基数（元）\n诸葛明亮,34112219800101123X,县公司,企业,202501,3000\n"
        .as_bytes()
        .to_vec();
    bytes.extend_from_slice(b"\xFF\xFE,1\n");
    bytes.extend_from_slice("上官婉儿,110105199001011234,县公司,企业,202501,3000\n".as_bytes());
    std::fs::write(d.join("contribution_202511.csv"), bytes).unwrap();
    dir
}

#[test]
fn error_messages_of_broken_batches_carry_no_id_or_name() {
    let batch = broken_sample();
    let mut secrets = Secrets::of_batch(batch.path());
    // The files that cannot be read still hold secrets.
    for id in [
        "341122196805207712",
        "110105195001016631",
        "34112219800101123X",
        "110105199001011234",
    ] {
        secrets.ids.insert(id.to_string());
    }
    for name in ["欧阳建国", "司马相如", "诸葛明亮", "上官婉儿"] {
        secrets.add_name(name);
    }
    let secrets = secrets.merge(Secrets::of_batch(&root().join("fixtures/sample")));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for format in ["text", "json"] {
        let (o, text) = traced(
            &[
                "run",
                "--input",
                batch.path().to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--as-of",
                "2025-11-30",
            ],
            format,
        );
        assert_eq!(o.status.code(), Some(4));
        for fragment in [
            "unemployment_202511.csv",
            "pension_202511.csv",
            "contribution_202511.csv",
        ] {
            assert!(text.contains(fragment), "{fragment} named");
        }
        assert_no_leak(&secrets, &text, &format!("failed run, {format} logs"));
    }
    // The failed run's manifest and rejects are in the state folder,
    // owner-only; the output folder was never created.
    assert!(!out.exists());
    assert_owner_only(&dir.path().join("hedui-state"));

    // A gate: the sample at the default 5 % reject limit, with rows whose
    // reasons are written out.
    let (o, text) = traced(
        &[
            "validate",
            "--input",
            root().join("fixtures/sample").to_str().unwrap(),
            "--out",
            dir.path().join("gate").to_str().unwrap(),
        ],
        "text",
    );
    assert_eq!(o.status.code(), Some(5));
    assert_no_leak(&secrets, &text, "stopped validate");
    assert_owner_only(&dir.path().join("gate"));
}

/// A folder and a file named after a person (his name and ID number in
/// the name) are named in log lines, the run's summary and error messages
/// with the name and number masked, as the reports mask them.
#[test]
fn an_id_number_in_a_file_or_folder_name_is_masked_where_hedui_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let folder_id = "341122196805207712";
    let file_id = "110105195001016631";
    let batch = dir.path().join(format!("{folder_id}_张伟明"));
    std::fs::create_dir(&batch).unwrap();
    for e in std::fs::read_dir(root().join("fixtures/sample")).unwrap() {
        let e = e.unwrap();
        let name = e
            .file_name()
            .to_string_lossy()
            .replace("202511", &format!("王建华_{file_id}"));
        std::fs::copy(e.path(), batch.join(name)).unwrap();
    }
    let mut secrets = Secrets::of_batch(&root().join("fixtures/sample"));
    secrets.ids.insert(folder_id.to_string());
    secrets.ids.insert(file_id.to_string());
    secrets.add_name("张伟明");
    secrets.add_name("王建华");
    // The output and state folders named after persons too.
    secrets.add_name("李国强");
    secrets.add_name("赵丽娟");
    let state = dir.path().join("状态_赵丽娟");
    let config = dir.path().join("hedui.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = {:?}\n[input]\nmax_reject_rate = 0.5\n",
            state.to_str().unwrap()
        ),
    )
    .unwrap();
    let run = |out: &str, format: &str| {
        traced(
            &[
                "run",
                "--input",
                batch.to_str().unwrap(),
                "--out",
                dir.path().join(out).join("李国强").to_str().unwrap(),
                "--as-of",
                "2025-11-30",
                "--config",
                config.to_str().unwrap(),
            ],
            format,
        )
    };
    for format in ["text", "json"] {
        let (o, text) = run(&format!("out-{format}"), format);
        assert_ok(&o);
        // Named, masked: the check above cannot pass by their absence.
        assert!(
            text.contains("pension_王*华_110105********6631.csv"),
            "file named"
        );
        assert!(text.contains("341122********7712_张*明"), "folder named");
        assert!(text.contains("李*强"), "output folder named");
        assert!(text.contains("状态_赵*娟"), "state folder named");
        assert_no_leak(&secrets, &text, &format!("run, {format} logs"));
    }
    // The other commands find the state folder in the config.
    let report = dir
        .path()
        .join("out-text")
        .join("李国强")
        .join("report.xlsx");
    let commands: [&[&str]; 2] = [&["review", "import", report.to_str().unwrap()], &["cases"]];
    for command in commands {
        let args = [command, &["--config", config.to_str().unwrap()]].concat();
        let (o, text) = traced(&args, "text");
        assert_ok(&o);
        assert_no_leak(&secrets, &text, command[0]);
        if command[0] == "review" {
            assert!(text.contains("状态_赵*娟"), "state folder named");
        }
    }
    // An input error names the file in its message.
    std::fs::write(
        batch.join(format!("unemployment_王建华_{file_id}.csv")),
        "姓名,身份证号,状态\n",
    )
    .unwrap();
    let (o, text) = run("out-broken", "text");
    assert_eq!(o.status.code(), Some(4));
    assert!(
        text.contains("unemployment_王*华_110105********6631.csv"),
        "file named"
    );
    assert_no_leak(&secrets, &text, "failed run");
    let (o, text) = traced(&["validate", "--input", batch.to_str().unwrap()], "text");
    assert_eq!(o.status.code(), Some(4));
    assert!(
        text.contains("pension_王*华_110105********6631.csv"),
        "file named"
    );
    assert_no_leak(&secrets, &text, "validate");
}

#[test]
fn the_leak_check_finds_what_it_looks_for() {
    let mut s = Secrets::default();
    s.add_ids_in("'34112219800101123x");
    s.add_ids_in("341122800101123");
    s.add_name("张伟");
    s.add_name("欧阳建国");
    assert_eq!(
        s.leaks("error near 34112219800101123x"),
        ["34112219800101123x"]
    );
    assert_eq!(s.leaks("a 341122800101123 b").len(), 1);
    assert_eq!(s.leaks("姓名：张伟，"), ["张伟"]);
    assert!(s.leaks("张伟明 is another person").is_empty());
    assert_eq!(s.leaks("欧阳建国的"), ["欧阳建国"]);
}
