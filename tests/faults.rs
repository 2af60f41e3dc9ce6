//! Fault suite: hedui fed bad input through the binary. Each case builds a
//! batch in a temp dir (the bundled sample with one file broken or replaced)
//! and checks the exact outcome of spec/outputs.md: which rows are rejected
//! with which reason code, or which message and exit code, and that every
//! file's accounting holds (rows_read = accepted + rejected + skipped).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{assert_ok, hedui};

use encoding_rs::GB18030;
use hedui::normalize::id::check_char;
use serde_json::Value;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample")
}

/// The sample's own reject-rate gate (50 %): the sample is messy by design.
const SAMPLE_CONFIG: &str = "[input]\nmax_reject_rate = 0.50\n";

/// A copy of the sample batch, broken by `edit`.
fn batch(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(sample()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    edit(dir.path());
    dir
}

/// What one command left behind.
struct Outcome {
    output: Output,
    /// Holds `out/` (the output folder) and `c.toml`.
    dir: tempfile::TempDir,
}

impl Outcome {
    fn code(&self) -> Option<i32> {
        self.output.status.code()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }
    fn manifest(&self) -> Value {
        let text = std::fs::read_to_string(self.out().join("manifest.json"))
            .unwrap_or_else(|e| panic!("manifest.json: {e}\n{}", self.stderr()));
        serde_json::from_str(&text).unwrap()
    }
    /// (file, row, reason code) of every rejects.csv line.
    fn rejects(&self) -> Vec<(String, String, String)> {
        let text = std::fs::read_to_string(self.out().join("rejects.csv")).unwrap();
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_owned();
        csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[1].to_string(), r[2].to_string(), r[3].to_string())
            })
            .collect()
    }
    fn input(&self, file: &str) -> Value {
        let m = self.manifest();
        m["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["file"] == file)
            .unwrap_or_else(|| panic!("{file} not in the manifest"))
            .clone()
    }
}

/// `hedui <command> --input BATCH --out DIR/out --config DIR/c.toml`.
fn hedui_on(command: &str, batch: &Path, config: &str) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("c.toml");
    std::fs::write(&config_path, config).unwrap();
    let out = dir.path().join("out");
    let mut args = vec![
        command,
        "--input",
        batch.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--config",
        config_path.to_str().unwrap(),
        "--as-of",
        "2025-11-30",
    ];
    if command == "run" {
        args.extend(["--threads", "2"]);
    }
    let output = hedui(&args);
    let outcome = Outcome { output, dir };
    assert_accounting(&outcome);
    outcome
}

fn validate(batch: &Path, config: &str) -> Outcome {
    hedui_on("validate", batch, config)
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn sum(map: &Value) -> u64 {
    map.as_object()
        .map_or(0, |m| m.values().map(|v| v.as_u64().unwrap()).sum())
}

/// For every file of the manifest: read = accepted + rejected + skipped, the
/// per-reason maps add up, and rejects.csv holds exactly its rejected rows.
fn assert_accounting(o: &Outcome) {
    if !o.out().join("manifest.json").exists() {
        return;
    }
    let m = o.manifest();
    let rejects = if o.out().join("rejects.csv").exists() {
        Some(o.rejects())
    } else {
        None
    };
    for i in m["inputs"].as_array().unwrap() {
        let file = i["file"].as_str().unwrap();
        assert_eq!(
            n(i, "rows_read"),
            n(i, "rows_accepted") + n(i, "rows_rejected") + n(i, "rows_skipped"),
            "{file}: {i}"
        );
        assert_eq!(n(i, "rows_rejected"), sum(&i["rejected"]), "{file}");
        assert_eq!(n(i, "rows_skipped"), sum(&i["skipped"]), "{file}");
        assert!(n(i, "rows_duplicate") <= n(i, "rows_accepted"), "{file}");
        if let Some(rejects) = &rejects {
            let in_file = rejects.iter().filter(|r| r.0 == file).count() as u64;
            assert_eq!(in_file, n(i, "rows_rejected"), "{file}: rejects.csv");
        }
    }
}

/// (read, accepted, rejected, skipped) of one manifest input.
fn counts(i: &Value) -> (u64, u64, u64, u64) {
    (
        n(i, "rows_read"),
        n(i, "rows_accepted"),
        n(i, "rows_rejected"),
        n(i, "rows_skipped"),
    )
}

fn json_counts(pairs: &[(&str, u64)]) -> Value {
    let map: serde_json::Map<String, Value> = pairs
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.to_string(), Value::from(*n)))
        .collect();
    Value::Object(map)
}

// ---------------------------------------------------------------------------
// The mess catalogue at high rates: every row of a settlement extract carries
// one item of spec/extracts.md "What real extracts look like".

/// A valid 18-digit ID whose check character is `X` (so that `x` can be
/// written in lower case), for person `i`.
fn person_id(i: usize) -> String {
    let birth = format!("19{:02}{:02}{:02}", 40 + i, 1 + i % 12, 1 + i % 28);
    (0..1000)
        .map(|seq| format!("341122{birth}{seq:03}"))
        .find_map(|body| (check_char(body.as_bytes()) == Some(b'X')).then(|| format!("{body}X")))
        .unwrap()
}

/// Names with a traditional spelling (simplified, traditional).
const NAMES: &[(&str, &str)] = &[
    ("张伟", "張偉"),
    ("刘强", "劉強"),
    ("陈静", "陳靜"),
    ("赵磊", "趙磊"),
    ("黄敏", "黃敏"),
    ("孙丽", "孫麗"),
    ("杨洋", "楊洋"),
    ("吴霞", "吳霞"),
    ("郑红", "鄭紅"),
    ("冯军", "馮軍"),
];

/// What a row of the mess file should come to.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// Accepted: its ID status, link method and the person it links to.
    Accept {
        status: &'static str,
        method: &'static str,
        linked: bool,
        duplicate: bool,
        conflict: bool,
    },
    Reject(&'static str),
    Skip(&'static str),
}

const HEADER: [&str; 13] = [
    "结算编号",
    "姓名",
    "身份证号",
    "就诊类型",
    "结算日期",
    "医疗机构",
    "主诊断",
    "总费用",
    "政策范围内费用",
    "统筹基金支付",
    "大病保险支付",
    "医疗救助支付",
    "个人自付",
];

/// The mess file's lines (fields, or `None` for a blank line) and what each
/// row must come to, with the row number a spreadsheet shows.
struct MessFile {
    lines: Vec<Option<Vec<String>>>,
    expect: Vec<(u32, Expect)>,
}

fn accept(status: &'static str, method: &'static str) -> Expect {
    Expect::Accept {
        status,
        method,
        linked: method != "unlinked",
        duplicate: false,
        conflict: false,
    }
}

fn mess_file() -> MessFile {
    let mut lines: Vec<Option<Vec<String>>> = vec![Some(HEADER.map(String::from).to_vec())];
    let mut expect = Vec::new();
    let mut next_id = 0;
    let mut push = |lines: &mut Vec<Option<Vec<String>>>, fields: Option<Vec<String>>, e| {
        lines.push(fields);
        expect.push((lines.len() as u32, e));
    };
    let row = |sid: &str, name: &str, id: &str, date: &str, total: &str| -> Vec<String> {
        [
            sid,
            name,
            id,
            "门诊",
            date,
            "县人民医院",
            "I10 高血压",
            total,
            "100",
            "50",
            "0",
            "0",
            "50",
        ]
        .map(String::from)
        .to_vec()
    };
    for (i, (name, traditional)) in NAMES.iter().enumerate() {
        let id = person_id(i);
        let mut sid = || {
            next_id += 1;
            format!("M{next_id:04}")
        };
        let ok_row = |sid: String, raw_id: &str| row(&sid, name, raw_id, "2025-03-01", "120");
        // ID numbers.
        let swapped = {
            // Swap two neighbouring digits of the sequence that differ.
            let mut b = id.clone().into_bytes();
            let p = (14..16).find(|&p| b[p] != b[p + 1]).unwrap_or(12);
            b.swap(p, p + 1);
            String::from_utf8(b).unwrap()
        };
        let typo = {
            let mut b = id.clone().into_bytes();
            b[15] = b'0' + (b[15] - b'0' + 3) % 10;
            String::from_utf8(b).unwrap()
        };
        let fullwidth: String = id
            .chars()
            .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
            .collect();
        let legacy15 = format!("{}{}{}", &id[..6], &id[8..14], &id[14..17]);
        let id_cases: Vec<(String, &'static str, &'static str)> = vec![
            (id.clone(), "valid", "exact"),
            (id.to_lowercase(), "valid", "normalized"),
            (fullwidth, "valid", "normalized"),
            (
                format!("{} {} {}", &id[..6], &id[6..14], &id[14..]),
                "valid",
                "normalized",
            ),
            (
                format!("{}-{}-{}", &id[..6], &id[6..14], &id[14..]),
                "valid",
                "normalized",
            ),
            (format!("'{id}"), "valid", "normalized"),
            (format!("\t{id}"), "valid", "normalized"),
            (legacy15, "upgraded15", "legacy15"),
            (typo, "bad_check", "repaired"),
            (swapped, "bad_check", "repaired"),
            (format!("{}E+17", &id[..1]), "sci_notation", "unlinked"),
            ("3.41122E+17".to_string(), "sci_notation", "unlinked"),
            ("无".to_string(), "empty", "unlinked"),
            ("/".to_string(), "empty", "unlinked"),
            (String::new(), "empty", "unlinked"),
        ];
        for (raw_id, status, method) in id_cases {
            push(
                &mut lines,
                Some(ok_row(sid(), &raw_id)),
                accept(status, method),
            );
        }
        // Names: traditional, doubled and full-width spaces, an annotation.
        for raw_name in [
            traditional.to_string(),
            format!("  {}\u{3000}{} ", &name[..3], &name[3..]),
            format!("{name}（曾用名{}）", &name[..3]),
        ] {
            push(
                &mut lines,
                Some(row(&sid(), &raw_name, &id, "2025-03-02", "120")),
                accept("valid", "exact"),
            );
        }
        // Dates and amounts in every spelling.
        for (date, total) in [
            ("2025/3/5", "1,234.50"),
            ("20250305", "1234.5元"),
            ("2025.03.05", "0.12万"),
            ("2025年3月5日", "-"),
            ("45721", ""),
        ] {
            push(
                &mut lines,
                Some(row(&sid(), name, &id, date, total)),
                accept("valid", "exact"),
            );
        }
        // Quoted comma and newline inside fields.
        let mut quoted = ok_row(sid(), &id);
        quoted[5] = "县人民医院,东院".into();
        quoted[6] = "J06 上呼吸道感染\n复诊".into();
        push(&mut lines, Some(quoted.clone()), accept("valid", "exact"));
        // The same row again: an exact duplicate.
        push(
            &mut lines,
            Some(quoted.clone()),
            Expect::Accept {
                status: "valid",
                method: "exact",
                linked: true,
                duplicate: true,
                conflict: false,
            },
        );
        // Same key, other amount: a conflict, counted on the later row.
        let mut conflicting = quoted.clone();
        conflicting[7] = "130".into();
        push(
            &mut lines,
            Some(conflicting),
            Expect::Accept {
                status: "valid",
                method: "exact",
                linked: true,
                duplicate: false,
                conflict: true,
            },
        );
        // Rows that are not data.
        push(&mut lines, None, Expect::Skip("blank"));
        push(
            &mut lines,
            Some(HEADER.map(String::from).to_vec()),
            Expect::Skip("repeated_header"),
        );
        let mut blank_fields = vec![String::new(); HEADER.len()];
        push(
            &mut lines,
            Some(blank_fields.clone()),
            Expect::Skip("blank"),
        );
        blank_fields[0] = "合计".into();
        blank_fields[7] = "99999".into();
        push(&mut lines, Some(blank_fields), Expect::Skip("total"));
        // Structurally broken rows.
        push(
            &mut lines,
            Some(row(&sid(), name, &id, "2025-13-01", "120")),
            Expect::Reject("bad_date"),
        );
        push(
            &mut lines,
            Some(row(&sid(), name, &id, "2025-03-01", "十元")),
            Expect::Reject("bad_money"),
        );
        push(
            &mut lines,
            Some(row(&sid(), name, &id, "", "120")),
            Expect::Reject("missing_value"),
        );
        // An amount DY02 reads: unreadable, the row is rejected, not
        // judged on a guessed zero; left empty, it is kept.
        let mut bad_paid = ok_row(sid(), &id);
        bad_paid[9] = "五十".into();
        push(&mut lines, Some(bad_paid), Expect::Reject("bad_money"));
        let mut no_paid = ok_row(sid(), &id);
        no_paid[9] = String::new();
        push(&mut lines, Some(no_paid), accept("valid", "exact"));
        let mut bad_visit = ok_row(sid(), &id);
        bad_visit[3] = "急救".into();
        push(&mut lines, Some(bad_visit), Expect::Reject("bad_category"));
        let short = ok_row(sid(), &id)[..4].to_vec();
        push(&mut lines, Some(short), Expect::Reject("field_count"));
        let mut long = ok_row(sid(), &id);
        long.push("多余".into());
        push(&mut lines, Some(long), Expect::Reject("field_count"));
    }
    MessFile { lines, expect }
}

/// One delimited line, quoting what needs quoting.
fn delimited(fields: &[String], delimiter: char) -> String {
    fields
        .iter()
        .map(|f| {
            if f.contains([delimiter, '"', '\n', '\r']) || (f.starts_with('\t') && delimiter == ',')
            {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(&delimiter.to_string())
}

fn mess_text(mess: &MessFile, delimiter: char) -> String {
    let mut text = String::new();
    for line in &mess.lines {
        if let Some(fields) = line {
            text.push_str(&delimited(fields, delimiter));
        }
        text.push_str("\r\n");
    }
    text
}

/// The manifest entry every run of the mess file must show.
fn assert_mess_account(i: &Value, mess: &MessFile) {
    let by = |f: &dyn Fn(&Expect) -> Option<&'static str>| {
        let mut m: BTreeMap<&str, u64> = BTreeMap::new();
        for (_, e) in &mess.expect {
            if let Some(k) = f(e) {
                *m.entry(k).or_default() += 1;
            }
        }
        json_counts(&m.into_iter().collect::<Vec<_>>())
    };
    let rejected = by(&|e| match e {
        Expect::Reject(c) => Some(c),
        _ => None,
    });
    let skipped = by(&|e| match e {
        Expect::Skip(c) => Some(c),
        _ => None,
    });
    let statuses = by(&|e| match e {
        Expect::Accept { status, .. } => Some(status),
        _ => None,
    });
    let accepted = sum(&statuses);
    let total = mess.expect.len() as u64;
    assert_eq!(
        counts(i),
        (total, accepted, sum(&rejected), sum(&skipped)),
        "{i}"
    );
    assert_eq!(i["rejected"], rejected);
    assert_eq!(i["skipped"], skipped);
    assert_eq!(i["id_status"], statuses);
    let flag = |f: &dyn Fn(&Expect) -> bool| mess.expect.iter().filter(|(_, e)| f(e)).count();
    assert_eq!(
        n(i, "rows_duplicate") as usize,
        flag(&|e| matches!(
            e,
            Expect::Accept {
                duplicate: true,
                ..
            }
        ))
    );
    assert_eq!(
        n(i, "rows_conflict") as usize,
        flag(&|e| matches!(e, Expect::Accept { conflict: true, .. }))
    );
}

fn assert_mess_rejects(o: &Outcome, file: &str, mess: &MessFile) {
    let got: Vec<(String, String)> = o
        .rejects()
        .into_iter()
        .filter(|r| r.0 == file)
        .map(|r| (r.1, r.2))
        .collect();
    let want: Vec<(String, String)> = mess
        .expect
        .iter()
        .filter_map(|(row, e)| match e {
            Expect::Reject(code) => Some((row.to_string(), code.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(got, want);
}

/// The sample batch with its settlement extract replaced by the mess file.
fn mess_batch(file: &str, bytes: &[u8]) -> tempfile::TempDir {
    batch(|d| {
        std::fs::remove_file(d.join("medical_settlement_202511.csv")).unwrap();
        std::fs::write(d.join(file), bytes).unwrap();
    })
}

#[test]
fn mess_catalogue_at_high_rates_in_gb18030_csv_is_linked_row_by_row() {
    let mess = mess_file();
    let bytes = GB18030.encode(&mess_text(&mess, ',')).0.into_owned();
    let file = "medical_settlement_mess.csv";
    let batch = mess_batch(file, &bytes);
    let o = hedui_on("run", batch.path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(file);
    assert_eq!(
        (i["format"].as_str(), i["encoding"].as_str()),
        (Some("csv"), Some("GB18030"))
    );
    assert_mess_account(&i, &mess);
    assert_mess_rejects(&o, file, &mess);

    // links.csv: one row per accepted row, each linked as the catalogue says.
    let text = std::fs::read_to_string(o.out().join("links.csv")).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let links: BTreeMap<u32, (String, String)> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[1] == file)
        .map(|r| (r[2].parse().unwrap(), (r[5].to_string(), r[6].to_string())))
        .collect();
    let mut want = BTreeMap::new();
    for (row, e) in &mess.expect {
        if let Expect::Accept { method, linked, .. } = e {
            want.insert(*row, (*method, *linked));
        }
    }
    assert_eq!(links.len(), want.len());
    for (row, (method, linked)) in &want {
        let (person, got_method) = &links[row];
        assert_eq!(
            (got_method.as_str(), !person.is_empty()),
            (*method, *linked),
            "row {row}"
        );
    }
    // Every linked row of person i is linked to person i's ID.
    for (row, (person, _)) in &links {
        if !person.is_empty() {
            assert!(
                (0..NAMES.len()).any(|i| person_id(i) == *person),
                "row {row} linked to a stranger"
            );
        }
    }
}

#[test]
fn mess_catalogue_in_utf8_bom_tsv_accounts_the_same() {
    let mess = mess_file();
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(mess_text(&mess, '\t').into_bytes());
    let file = "medical_settlement_mess.tsv";
    let batch = mess_batch(file, &bytes);
    let o = validate(batch.path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(file);
    assert_eq!(
        (i["format"].as_str(), i["encoding"].as_str()),
        (Some("tsv"), Some("UTF-8-BOM"))
    );
    assert_mess_account(&i, &mess);
    assert_mess_rejects(&o, file, &mess);
}

#[test]
fn mess_at_high_rates_trips_the_default_reject_gate() {
    let mess = mess_file();
    let file = "medical_settlement_mess.csv";
    let batch = mess_batch(file, mess_text(&mess, ',').as_bytes());
    let o = validate(batch.path(), "");
    assert_eq!(o.code(), Some(5), "{}", o.stderr());
    assert!(o.stderr().contains(file), "{}", o.stderr());
    assert_eq!(o.manifest()["status"], "stopped");
}

// ---------------------------------------------------------------------------
// Truncated files.

const UNEMPLOYMENT: &str = "unemployment_202511.csv";
const UNEMPLOYMENT_HEADER: &str = "姓名,身份证号,登记日期,状态\r\n";

fn unemployment_rows() -> String {
    format!(
        "{UNEMPLOYMENT_HEADER}刘强,341122196805207712,2023-05-10,失业\r\n\
         陈静,110105199001016631,2024-01-15,已就业\r\n"
    )
}

fn with_unemployment(bytes: &[u8]) -> tempfile::TempDir {
    let bytes = bytes.to_vec();
    batch(move |d| std::fs::write(d.join(UNEMPLOYMENT), bytes).unwrap())
}

/// Cut mid-character in the last field: `已就业` → `已就` + half a character.
/// Its field count is right and `已就` alone would read as 已就业: the row
/// must be rejected as cut off, never accepted.
#[test]
fn utf8_file_cut_mid_character_rejects_its_last_row_as_truncated() {
    let text = format!(
        "{}王芳,341122194502104426,2024-03-01,已就业",
        unemployment_rows()
    );
    let mut bytes = text.into_bytes();
    bytes.truncate(bytes.len() - 1);
    let o = validate(with_unemployment(&bytes).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    assert_eq!(counts(&i), (3, 2, 1, 0));
    assert_eq!(i["encoding"], "UTF-8");
    assert_eq!(i["rejected"], serde_json::json!({"truncated": 1}));
    assert!(
        o.rejects()
            .contains(&(UNEMPLOYMENT.into(), "4".into(), "truncated".into()))
    );
}

/// A file sorted together with its header: the data rows that landed
/// above the header are read with the rest, not lost; a title is not.
#[test]
fn data_rows_above_the_header_are_read() {
    let text = format!(
        "2025年11月失业登记\r\n王芳,341122194502104426,2024-03-01,已就业\r\n{}",
        unemployment_rows()
    );
    let o = validate(with_unemployment(text.as_bytes()).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    assert_eq!(counts(&o.input(UNEMPLOYMENT)), (3, 3, 0, 0));
}

/// A data row above a header of two rows (group headers above the
/// columns' own in the row below): the rows are read, and the header's
/// second row is no data row.
#[test]
fn a_data_row_above_a_header_of_two_rows_is_read() {
    let text = "刘强,341122196805207712,河西乡,北村,C级,2025-03-01,已纳入计划\r\n\
                户主姓名,户主身份证号,乡镇,村,鉴定情况,,改造状态\r\n\
                ,,,,鉴定等级,鉴定日期,\r\n\
                王芳,341122194502104426,河西乡,西村,D级,2025-03-01,未纳入\r\n";
    let b = batch(|d| {
        std::fs::remove_file(d.join("housing_safety_202511.xlsx")).unwrap();
        std::fs::write(d.join("housing_safety_202511.csv"), text).unwrap();
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    assert_eq!(counts(&o.input("housing_safety_202511.csv")), (2, 2, 0, 0));
}

/// UTF-16 without its BOM (a database's "Unicode" export) is read.
#[test]
fn utf16_without_bom_is_read() {
    let o = validate(
        with_unemployment(&utf16le(&unemployment_rows())).path(),
        SAMPLE_CONFIG,
    );
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    assert_eq!(i["encoding"], "UTF-16LE");
    assert_eq!(counts(&i), (2, 2, 0, 0));
}

/// A stray NUL byte in a GBK export (a damaged line) is a character of its
/// row, as in a UTF-8 file: the file is not taken for a binary one.
#[test]
fn a_stray_nul_in_a_gb18030_file_costs_its_row_not_the_file() {
    let text = format!(
        "{}王芳,341122194502104426,2024-03-01,已就业\0\r\n",
        unemployment_rows()
    );
    let bytes = GB18030.encode(&text).0.into_owned();
    let o = validate(with_unemployment(&bytes).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    assert_eq!(i["encoding"], "GB18030");
    // `已就业` and the NUL after it: the status reads as 已就业.
    assert_eq!(counts(&i), (3, 3, 0, 0));
}

#[test]
fn gb18030_file_cut_mid_character_rejects_its_last_row_as_truncated() {
    let text = format!(
        "{}王芳,341122194502104426,2024-03-01,已就业",
        unemployment_rows()
    );
    let mut bytes = GB18030.encode(&text).0.into_owned();
    bytes.truncate(bytes.len() - 1);
    let o = validate(with_unemployment(&bytes).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    assert_eq!(counts(&i), (3, 2, 1, 0));
    assert_eq!(i["encoding"], "GB18030");
    assert_eq!(i["rejected"], serde_json::json!({"truncated": 1}));
}

#[test]
fn gb18030_file_cut_mid_character_in_the_name_rejects_that_row() {
    // The cut leaves half of 王: one field, and the cut flag.
    let text = format!("{}王", unemployment_rows());
    let mut bytes = GB18030.encode(&text).0.into_owned();
    bytes.truncate(bytes.len() - 1);
    let o = validate(with_unemployment(&bytes).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    assert_eq!(counts(&i), (3, 2, 1, 0));
    assert_eq!(i["rejected"], serde_json::json!({"truncated": 1}));
}

#[test]
fn file_cut_mid_row_between_characters_rejects_the_short_row() {
    let text = format!("{}王芳,34112219450", unemployment_rows());
    let o = validate(with_unemployment(text.as_bytes()).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    assert_eq!(counts(&i), (3, 2, 1, 0));
    assert_eq!(i["rejected"], serde_json::json!({"field_count": 1}));
    assert!(
        o.rejects()
            .contains(&(UNEMPLOYMENT.into(), "4".into(), "field_count".into()))
    );
}

#[test]
fn file_cut_inside_an_open_quote_rejects_the_rest_as_one_row() {
    let text = format!("{}王芳,\"34112219450", unemployment_rows());
    let o = validate(with_unemployment(text.as_bytes()).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    assert_eq!(counts(&i), (3, 2, 1, 0));
    assert_eq!(i["rejected"], serde_json::json!({"field_count": 1}));
}

// ---------------------------------------------------------------------------
// Files that cannot be read at all: exit 4, the file named, nothing quoted.

fn assert_input_error(o: &Outcome, fragments: &[&str]) {
    assert_eq!(o.code(), Some(4), "{}", o.stderr());
    let err = o.stderr();
    assert!(err.contains("输入错误 / input error"), "{err}");
    for f in fragments {
        assert!(err.contains(f), "{f:?} not in: {err}");
    }
    for secret in ["341122196805207712", "110105199001016631", "刘强", "陈静"] {
        assert!(!err.contains(secret), "{secret} leaked: {err}");
    }
    let m = o.manifest();
    assert_eq!(m["status"], "failed");
    assert!(!m["problems"].as_array().unwrap().is_empty());
}

/// A money column whose header names 万元 would be read as 元, off by ten
/// thousand: the file is refused, the column named. `（单位：元）` and
/// `（人民币元）` are 元.
#[test]
fn a_money_column_in_another_unit_is_an_input_error() {
    let pension = |header: &'static str| {
        batch(move |d| {
            let text = format!(
                "姓名,身份证号,发放月份,{header}\r\n刘强,341122196805207712,202510,0.18\r\n"
            );
            std::fs::write(d.join("pension_202511.csv"), text).unwrap()
        })
    };
    let o = validate(pension("发放金额（万元）").path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "pension_202511.csv",
            "列「发放金额（万元）」（amount）的金额单位不是元",
        ],
    );
    for header in ["发放金额（单位：元）", "发放金额(人民币元)", "发放金额"] {
        let o = validate(pension(header).path(), SAMPLE_CONFIG);
        assert_eq!(o.code(), Some(0), "{header}: {}", o.stderr());
    }
}

/// The pension sheet of the workbooks below: its header and one row.
const PENSION_SHEET: [&[&str]; 2] = [
    &["姓名", "身份证号", "发放月份", "发放金额（元）"],
    &["刘强", "341122196805207712", "202510", "1800"],
];

/// Rows of cells from text.
fn cells(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| row.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// A CSV file of the batch `d` as rows of cells.
fn csv_rows(d: &Path, file: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(d.join(file))
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// `pension_202511.xlsx` in place of the batch's pension CSV: each of
/// `sheets` (name, rows, hidden) in order.
fn pension_workbook(d: &Path, sheets: &[(&str, Vec<Vec<String>>, bool)]) {
    workbook_in_place(d, "pension", sheets);
}

/// `{extract}_202511.xlsx` in place of the batch's CSV of that extract:
/// each of `sheets` (name, rows, hidden) in order.
fn workbook_in_place(d: &Path, extract: &str, sheets: &[(&str, Vec<Vec<String>>, bool)]) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    for (name, rows, hidden) in sheets {
        let sheet = wb.add_worksheet().set_name(*name).unwrap();
        sheet.set_hidden(*hidden);
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, v).unwrap();
            }
        }
    }
    wb.save(d.join(format!("{extract}_202511.xlsx"))).unwrap();
    std::fs::remove_file(d.join(format!("{extract}_202511.csv"))).unwrap();
}

/// A sheet of another extract type in a workbook (a 人社 workbook holding
/// 失业登记 beside 养老金发放) is not read, with what to do: each extract is
/// read from files of its own type. Whether the file's type takes its
/// header for a header of its own (an unemployment register's 姓名 and
/// 身份证号 are a pension's too) or not (a property register's), it is
/// the same: noted beside a sheet of the file's type, the run's end
/// without one (helper-142).
#[test]
fn a_sheet_of_another_type_says_which_and_what_to_do() {
    let b = batch(|d| {
        let other = csv_rows(d, "unemployment_202511.csv");
        pension_workbook(
            d,
            &[
                ("养老金发放", cells(&PENSION_SHEET), false),
                ("失业登记", other, false),
            ],
        );
    });
    let o = hedui_on("run", b.path(), SAMPLE_CONFIG);
    assert_eq!(o.code(), Some(0), "{}", o.stderr());
    let i = o.input("pension_202511.xlsx");
    assert_eq!(counts(&i), (1, 1, 0, 0));
    assert_eq!(
        i["other_type_sheets"],
        serde_json::json!([{"sheet": "失业登记", "extract": "unemployment"}])
    );
    let stdout = String::from_utf8_lossy(&o.output.stdout).into_owned();
    let note = "pension_202511.xlsx 中有 1 个工作表的表头是失业登记（unemployment）的，未读取";
    assert!(stdout.contains(note), "{stdout}");
    let v = validate(b.path(), SAMPLE_CONFIG);
    assert_eq!(v.code(), Some(0), "{}", v.stderr());
    let said = String::from_utf8_lossy(&v.output.stdout).into_owned();
    assert!(said.contains("表头是失业登记（unemployment）的"), "{said}");
    // In a property workbook, whose type names as many fields of that
    // header (姓名, 身份证号, 登记日期, 状态 are its aliases too) but lacks
    // its 不动产单元号: the same (helper-160's audit: the run stopped for
    // the property columns missing).
    // With a person's particulars beside (helper-163's audit: 性别 and
    // 联系电话 made it no 失业登记 table, and the run stopped).
    let b = batch(|d| {
        let mut other = csv_rows(d, "unemployment_202511.csv");
        for (i, row) in other.iter_mut().enumerate() {
            let (sex, phone) = if i == 0 {
                ("性别", "联系电话")
            } else {
                ("男", "13800000000")
            };
            row.extend([sex.to_string(), phone.to_string()]);
        }
        let property = csv_rows(d, "property_202511.csv");
        workbook_in_place(
            d,
            "property",
            &[("不动产", property, false), ("失业登记", other, false)],
        );
    });
    let o = hedui_on("run", b.path(), SAMPLE_CONFIG);
    assert_eq!(o.code(), Some(0), "{}", o.stderr());
    assert_eq!(
        o.input("property_202511.xlsx")["other_type_sheets"],
        serde_json::json!([{"sheet": "失业登记", "extract": "unemployment"}])
    );
    // A property sheet whose 不动产单元号 and 规划用途 are written otherwise
    // names as many of 失业登记's fields, but its other columns are no
    // 失业登记's: missing columns, not set aside (helper-161's audit: its
    // rows were lost with the run going on).
    let b = batch(|d| {
        let property = csv_rows(d, "property_202511.csv");
        let variant = cells(&[
            &[
                "姓名",
                "身份证号",
                "不动产单元编号",
                "房屋用途",
                "登记日期",
                "状态",
            ],
            &[
                "张伟",
                "341122198001011238",
                "U1",
                "住宅",
                "2015-06-01",
                "现势",
            ],
        ]);
        workbook_in_place(
            d,
            "property",
            &[("不动产", property, false), ("河西乡", variant, false)],
        );
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &["property_202511.xlsx 工作表 河西乡：缺少必需列「不动产单元号」"],
    );
    assert!(!o.stderr().contains("表头是"), "{}", o.stderr());
    // The sheet alone: the run stops, saying whose header it is.
    let b = batch(|d| {
        let other = csv_rows(d, "unemployment_202511.csv");
        pension_workbook(d, &[("失业登记", other, false)]);
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "pension_202511.xlsx 工作表 失业登记：缺少必需列「发放月份」",
            "pension_202511.xlsx 工作表 失业登记：表头是失业登记（unemployment）的，不是养老金发放（pension）的；若确是失业登记，请把该工作表另存为单独的 unemployment_… 文件",
        ],
    );
    assert_eq!(o.stderr().matches("表头是").count(), 1, "{}", o.stderr());
    // Beside a sheet of the pension header alone (a template), or a sheet
    // whose second table is a pension's, the run stops as before: no
    // pension row would be read, or the second table's would be lost
    // (helper-145).
    let stacked = |d: &Path| {
        let mut rows = csv_rows(d, "unemployment_202511.csv");
        rows.push(Vec::new());
        rows.extend(cells(&PENSION_SHEET));
        rows
    };
    for second in ["template", "stacked"] {
        let b = batch(|d| {
            let (pension, other) = match second {
                "stacked" => (cells(&PENSION_SHEET), stacked(d)),
                _ => (
                    cells(&PENSION_SHEET[..1]),
                    csv_rows(d, "unemployment_202511.csv"),
                ),
            };
            pension_workbook(d, &[("养老金发放", pension, false), ("9月", other, false)]);
        });
        let o = validate(b.path(), SAMPLE_CONFIG);
        assert_input_error(
            &o,
            &["pension_202511.xlsx 工作表 9月：表头是失业登记（unemployment）的"],
        );
    }
    // A hidden sheet of another type is not among the hidden sheets read;
    // and when the other type's own file is missing, its error names the
    // sheet (helper-145).
    let b = batch(|d| {
        let other = csv_rows(d, "unemployment_202511.csv");
        pension_workbook(
            d,
            &[
                ("养老金发放", cells(&PENSION_SHEET), false),
                ("失业登记", other, true),
            ],
        );
    });
    let o = hedui_on("run", b.path(), SAMPLE_CONFIG);
    assert_eq!(o.code(), Some(0), "{}", o.stderr());
    let i = o.input("pension_202511.xlsx");
    assert_eq!(
        i["other_type_sheets"],
        serde_json::json!([{"sheet": "失业登记", "extract": "unemployment"}])
    );
    assert!(
        i["hidden_sheets"].as_array().is_none_or(Vec::is_empty),
        "{}",
        i["hidden_sheets"]
    );
    std::fs::remove_file(b.path().join("unemployment_202511.csv")).unwrap();
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "缺少抽取文件：失业登记（unemployment）",
            "表头是它而未读取的工作表：pension_202511.xlsx 工作表 失业登记；若确是失业登记，请把该工作表另存为单独的 unemployment_… 文件 / sheets with its header",
        ],
    );
    // A text file: renamed, if it is that.
    let b = batch(|d| {
        let text = std::fs::read(d.join("unemployment_202511.csv")).unwrap();
        std::fs::write(d.join("pension_202511.csv"), text).unwrap();
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "pension_202511.csv：表头是失业登记（unemployment）的，不是养老金发放（pension）的；若确是失业登记，请把文件改名为 unemployment_…",
        ],
    );
    // A file of its own type missing a column is that, whatever other
    // type's columns it also has (property's header names an unemployment
    // register's four: 姓名, 身份证号, 登记日期, 状态; helper-141).
    let b = batch(|d| {
        let text = "姓名,身份证号,不动产单元号,坐落,建筑面积,登记日期,状态\r\n\
                    张伟,341122198001011238,341122001001GB00001F00010001,城关镇东街1号,89.5,2015-06-01,现势\r\n";
        std::fs::write(d.join("property_202511.csv"), text).unwrap();
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(&o, &["property_202511.csv：缺少必需列「规划用途」"]);
    assert!(!o.stderr().contains("表头是"), "{}", o.stderr());
}

/// A table of another type's header pasted below the file's own rows, in
/// a sheet or a text file (an unemployment register under the pension
/// list): its rows are rejected as that table's (`other_type_table`), not
/// as bad amounts of the file's, and the manifest, the console and
/// `validate` name the table and what to do. Under a header of the file's
/// type alone (a template), the run stops, naming the type (helper-146).
#[test]
fn a_table_of_another_type_below_the_rows_is_rejected_as_such() {
    // Row 1 the pension header, 2 its row, 3 blank, 4 a title, 5 the
    // unemployment header, 6–7 its rows.
    let stacked = |d: &Path, pension: &[&[&str]]| {
        let mut rows = cells(pension);
        rows.push(Vec::new());
        rows.extend(cells(&[&["2025年11月失业登记"]]));
        rows.extend(csv_rows(d, "unemployment_202511.csv"));
        rows
    };
    let b = batch(|d| {
        let rows = stacked(d, &PENSION_SHEET);
        pension_workbook(d, &[("养老金发放", rows, false)]);
    });
    let o = hedui_on("run", b.path(), SAMPLE_CONFIG);
    assert_eq!(o.code(), Some(0), "{}", o.stderr());
    let i = o.input("pension_202511.xlsx");
    assert_eq!(counts(&i), (6, 1, 2, 3));
    assert_eq!(i["rejected"], serde_json::json!({"other_type_table": 2}));
    assert_eq!(
        i["other_type_tables"],
        serde_json::json!([{"sheet": "养老金发放", "header_row": 5, "rows": 2, "extract": "unemployment"}])
    );
    let rows: Vec<String> = o
        .rejects()
        .into_iter()
        .filter(|r| r.0 == "pension_202511.xlsx")
        .map(|r| format!("{} {}", r.1, r.2))
        .collect();
    assert_eq!(rows, ["6 other_type_table", "7 other_type_table"]);
    let stdout = String::from_utf8_lossy(&o.output.stdout).into_owned();
    let note = "pension_202511.xlsx 中一个工作表（名称见 manifest.json 的 inputs）的第 5 行起是失业登记（unemployment）的表格，其下 2 行未读取";
    assert!(stdout.contains(note), "{stdout}");
    let v = validate(b.path(), SAMPLE_CONFIG);
    assert_eq!(v.code(), Some(0), "{}", v.stderr());
    let said = String::from_utf8_lossy(&v.output.stdout).into_owned();
    assert!(
        said.contains(
            "工作表 养老金发放 第 5 行起是失业登记（unemployment）的表格，其下 2 行未读取"
        ),
        "{said}"
    );
    // A text file: the same, without a sheet.
    let b = batch(|d| {
        let text: Vec<String> = stacked(d, &PENSION_SHEET)
            .iter()
            .map(|row| row.join(",") + "\r\n")
            .collect();
        std::fs::write(d.join("pension_202511.csv"), text.concat()).unwrap();
    });
    let o = hedui_on("run", b.path(), SAMPLE_CONFIG);
    assert_eq!(o.code(), Some(0), "{}", o.stderr());
    let i = o.input("pension_202511.csv");
    assert_eq!(counts(&i), (6, 1, 2, 3));
    assert_eq!(
        i["other_type_tables"],
        serde_json::json!([{"header_row": 5, "rows": 2, "extract": "unemployment"}])
    );
    let stdout = String::from_utf8_lossy(&o.output.stdout).into_owned();
    assert!(
        stdout.contains("pension_202511.csv 中第 5 行起是失业登记（unemployment）的表格"),
        "{stdout}"
    );
    // The file cut in its last row's last character: that row says so, as
    // under any header (helper-150).
    let b = batch(|d| {
        let text: Vec<String> = stacked(d, &PENSION_SHEET)
            .iter()
            .map(|row| row.join(","))
            .collect();
        let mut bytes = text.join("\r\n").into_bytes();
        bytes.pop();
        std::fs::write(d.join("pension_202511.csv"), bytes).unwrap();
    });
    let v = validate(b.path(), SAMPLE_CONFIG);
    let i = v.input("pension_202511.csv");
    assert_eq!(
        i["rejected"],
        serde_json::json!({"other_type_table": 1, "truncated": 1})
    );
    // Under the pension header alone, no pension row is read: the file's
    // error, naming the type.
    let b = batch(|d| {
        let rows = stacked(d, &PENSION_SHEET[..1]);
        pension_workbook(d, &[("养老金发放", rows, false)]);
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "pension_202511.xlsx 工作表 养老金发放：第 4 行起是失业登记（unemployment）的表格，而养老金发放的表头之下没有一行养老金发放的数据；请把该表格另存为单独的 unemployment_… 文件",
        ],
    );
    // A property register's header, which the pension type does not take
    // for a header at all (权利人姓名): the same, its five rows rejected as
    // the property table's, not as rows of too many fields.
    let with_property = |d: &Path, property_first: bool| {
        let property = csv_rows(d, "property_202511.csv");
        let mut rows = if property_first {
            property.clone()
        } else {
            cells(&PENSION_SHEET)
        };
        rows.push(Vec::new());
        if property_first {
            rows.extend(cells(&PENSION_SHEET));
        } else {
            rows.extend(cells(&[&["2025年11月不动产登记"]]));
            rows.extend(property);
            // The pension header again, as the reader knows it: the rows
            // below it are pension rows again (helper-150).
            rows.extend(cells(&PENSION_SHEET));
            rows.last_mut().unwrap()[2] = "202511".into();
        }
        let text: Vec<String> = rows.iter().map(|row| row.join(",") + "\r\n").collect();
        std::fs::write(d.join("pension_202511.csv"), text.concat()).unwrap();
    };
    // Not the file's rows, they do not count towards its reject rate: 5
    // of 9 rows, but none of its own 4.
    let b = batch(|d| with_property(d, false));
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_eq!(o.code(), Some(0), "{}", o.stderr());
    let i = o.input("pension_202511.csv");
    assert_eq!(counts(&i), (11, 2, 5, 4));
    assert_eq!(i["rejected"], serde_json::json!({"other_type_table": 5}));
    assert_eq!(
        i["other_type_tables"],
        serde_json::json!([{"header_row": 5, "rows": 5, "extract": "property"}])
    );
    // Above the pension header, its rows would not be read at all (rows
    // above a header are not): the file's error, naming the row.
    let b = batch(|d| with_property(d, true));
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "pension_202511.csv：第 1 行是不动产登记（property）的表头，在养老金发放的表头（第 8 行）之上，其下的行不会读取；请把该表格另存为单独的 property_… 文件",
        ],
    );
}

/// A sheet whose header its workbook's type does not take at all but
/// another type's does (a property register in a pension workbook) is not
/// read, as a file is read as one type, but it is not passed over in
/// silence: the manifest names it with its type, and the console, the
/// reports and `validate` say what to do (helper-141). The run goes on.
#[test]
fn a_sheet_of_another_type_s_header_alone_is_noted_not_read() {
    let b = batch(|d| {
        let mut other = cells(&[&["2025年11月不动产登记"]]);
        other.extend(csv_rows(d, "property_202511.csv"));
        pension_workbook(
            d,
            &[
                ("养老金发放", cells(&PENSION_SHEET), false),
                ("房产", other, false),
            ],
        );
    });
    let o = hedui_on("run", b.path(), SAMPLE_CONFIG);
    assert_eq!(o.code(), Some(0), "{}", o.stderr());
    let i = o.input("pension_202511.xlsx");
    assert_eq!(counts(&i), (1, 1, 0, 0));
    assert_eq!(i["ignored_sheets"], serde_json::json!(["房产"]));
    assert_eq!(
        i["other_type_sheets"],
        serde_json::json!([{"sheet": "房产", "extract": "property"}])
    );
    let note = "pension_202511.xlsx 中有 1 个工作表的表头是不动产登记（property）的，未读取";
    let stdout = String::from_utf8_lossy(&o.output.stdout).into_owned();
    assert!(stdout.contains(note), "{stdout}");
    assert!(
        stdout.contains("请把该工作表另存为单独的 property_… 文件"),
        "{stdout}"
    );

    let html = std::fs::read_to_string(o.out().join("report.html")).unwrap();
    assert!(html.contains(note), "report.html lacks the note");
    // Counted once: not among the sheets without a header too.
    assert!(
        !html.contains("pension_202511.xlsx 中有 1 个工作表未读取（无表头"),
        "counted twice"
    );
    // `validate` names the sheet (masked as a sheet may be named after a
    // person, but 房产 is a word, no name).
    let v = validate(b.path(), SAMPLE_CONFIG);
    assert_eq!(v.code(), Some(0), "{}", v.stderr());
    let said = String::from_utf8_lossy(&v.output.stdout).into_owned();
    assert!(!said.contains("sheets without header: 房产"), "{said}");
    // A workbook of that sheet alone has no header of its type: the run
    // stops (exit 4) saying whose header it is (helper-142).
    let b = batch(|d| {
        let other = csv_rows(d, "property_202511.csv");
        pension_workbook(d, &[("房产", other, false)]);
    });
    let v = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &v,
        &[
            "pension_202511.xlsx",
            "表头是不动产登记（property）的，不是养老金发放（pension）的；若确是不动产登记，请把该工作表另存为单独的 property_… 文件",
        ],
    );
    assert!(
        said.contains("未读取的工作表 房产：表头是不动产登记（property）的"),
        "{said}"
    );
    // A text file holding that header alone: the same, for a file
    // (helper-144).
    let b = batch(|d| {
        let text = std::fs::read(d.join("property_202511.csv")).unwrap();
        std::fs::write(d.join("pension_202511.csv"), text).unwrap();
    });
    let v = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &v,
        &[
            "pension_202511.csv",
            "pension_202511.csv：表头是不动产登记（property）的，不是养老金发放（pension）的；若确是不动产登记，请把文件改名为 property_…",
        ],
    );
}

/// An extract missing while files named like it were not read (two files
/// of one title, a header that does not fit): the message names them and
/// what to do (helper-142).
#[test]
fn a_missing_extract_names_the_files_named_like_it() {
    let b = batch(|d| {
        let from = d.join("medical_settlement_202511.csv");
        std::fs::rename(&from, d.join("医保结算明细（供民政核对）.csv")).unwrap();
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "缺少抽取文件：医保结算明细（medical_settlement）",
            "名称像它而未读取的文件：医保结算明细（供民政核对）.csv（表头不符，名称含核对",
            "请把它们改名为 medical_settlement_…",
        ],
    );
    // A name with the title's words further apart than a reading allows
    // is named too (helper-146).
    let b = batch(|d| {
        let from = d.join("medical_settlement_202511.csv");
        std::fs::rename(&from, d.join("2025年11月医保住院费用结算明细.csv")).unwrap();
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "缺少抽取文件：医保结算明细（medical_settlement）",
            "名称像它而未读取的文件：2025年11月医保住院费用结算明细.csv（表头不符，名称含核对、核查、退出、低保金等表明是本局自用表的字，或名称中标题的字相隔太远）",
        ],
    );
    // Files named by the title alone are read, every one (a file per
    // township or month, as files named by the type).
    let b = batch(|d| {
        let from = d.join("medical_settlement_202511.csv");
        std::fs::copy(&from, d.join("医保结算明细（一）.csv")).unwrap();
        std::fs::rename(&from, d.join("医保结算明细（二）.csv")).unwrap();
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_eq!(o.code(), Some(0), "{}", o.stderr());
    for file in ["医保结算明细（一）.csv", "医保结算明细（二）.csv"] {
        assert_eq!(o.input(file)["extract"], "medical_settlement");
    }
    // Beside a file named by the type, one named by the title is not read,
    // and the run says so (helper-143).
    let b = batch(|d| {
        let from = d.join("medical_settlement_202511.csv");
        std::fs::copy(&from, d.join("医保结算明细（二）.csv")).unwrap();
    });
    let o = hedui_on("run", b.path(), SAMPLE_CONFIG);
    assert_eq!(o.code(), Some(0), "{}", o.stderr());
    let note =
        "名称含医保结算明细而未读取的文件：医保结算明细（二）.csv（已有 medical_settlement_… 文件";
    let stdout = String::from_utf8_lossy(&o.output.stdout).into_owned();
    assert!(stdout.contains(note), "{stdout}");
    assert!(
        o.manifest()["problems"][0]
            .as_str()
            .unwrap()
            .starts_with(note)
    );
}

/// A header whose cells were overwritten by a pasted ID number and name
/// lists the headers it has, those two masked.
#[test]
fn a_header_with_values_pasted_over_it_is_listed_masked() {
    let text =
        "刘强,341122196805207712,登记日期,状态\r\n陈静,110105199001016631,2024-01-15,已就业\r\n";
    let o = validate(with_unemployment(text.as_bytes()).path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "缺少必需列「身份证号」（id_number）",
            "找到的表头：刘*、341122********7712、登记日期、状态",
        ],
    );
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

#[test]
fn utf16_with_bom_is_read() {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(utf16le(&unemployment_rows()));
    let o = validate(with_unemployment(&bytes).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    assert_eq!(i["encoding"], "UTF-16LE");
    assert_eq!(counts(&i), (2, 2, 0, 0));
}

/// Excel's "Unicode text" export (UTF-16 with BOM, tab-separated) renamed
/// `.csv` is read as the TSV it is.
#[test]
fn a_unicode_text_export_named_csv_is_read() {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(utf16le(&unemployment_rows().replace(',', "\t")));
    let o = validate(with_unemployment(&bytes).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    assert_eq!(
        (&i["encoding"], &i["format"]),
        (&"UTF-16LE".into(), &"tsv".into())
    );
    assert_eq!(counts(&i), (2, 2, 0, 0));
}

/// Big5 (Taiwan, Hong Kong) bytes are mostly valid GBK too: decoded as
/// GB18030 they are mojibake, so no header is recognised — a fatal input
/// error, never rows of garbled ID numbers.
#[test]
fn big5_file_finds_no_header() {
    let (bytes, _, unmappable) = encoding_rs::BIG5
        .encode("姓名,身份證號,登記日期,狀態\r\n劉強,341122196805207712,2023-05-10,失業\r\n");
    assert!(!unmappable);
    let o = validate(with_unemployment(&bytes).path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "在前 30 行中未找到表头：unemployment_202511.csv",
            "no header row found in the first 30 rows of unemployment_202511.csv",
        ],
    );
}

#[test]
fn empty_file_is_an_input_error() {
    let o = validate(with_unemployment(b"").path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &["空文件：unemployment_202511.csv / empty file: unemployment_202511.csv"],
    );
}

#[test]
fn whitespace_only_file_is_empty_too() {
    let o = validate(
        with_unemployment(b"\xEF\xBB\xBF \r\n\r\n").path(),
        SAMPLE_CONFIG,
    );
    assert_input_error(&o, &["空文件：unemployment_202511.csv"]);
}

#[test]
fn header_only_file_reads_zero_rows() {
    let o = validate(
        with_unemployment(UNEMPLOYMENT_HEADER.as_bytes()).path(),
        SAMPLE_CONFIG,
    );
    assert_ok(&o.output);
    assert_eq!(counts(&o.input(UNEMPLOYMENT)), (0, 0, 0, 0));
    assert_eq!(o.manifest()["status"], "ok");
}

#[test]
fn header_only_file_runs_to_completion() {
    let o = hedui_on(
        "run",
        with_unemployment(UNEMPLOYMENT_HEADER.as_bytes()).path(),
        SAMPLE_CONFIG,
    );
    assert_ok(&o.output);
    assert_eq!(counts(&o.input(UNEMPLOYMENT)), (0, 0, 0, 0));
    let links = std::fs::read_to_string(o.out().join("links.csv")).unwrap();
    assert!(!links.contains(UNEMPLOYMENT));
}

#[test]
fn duplicated_column_is_mapped_twice() {
    let text = "姓名,身份证号,登记日期,状态,身份证号码\r\n刘强,341122196805207712,2023-05-10,失业,341122196805207712\r\n";
    let o = validate(with_unemployment(text.as_bytes()).path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "unemployment_202511.csv：多列对应同一字段 id_number：第 2 列「身份证号」、第 5 列「身份证号码」",
            "several columns map to field id_number: column 2 (身份证号), column 5 (身份证号码)",
            "[extracts.unemployment.aliases]",
        ],
    );
}

#[test]
fn the_same_header_twice_is_mapped_twice() {
    let text =
        "姓名,身份证号,登记日期,状态,状态\r\n刘强,341122196805207712,2023-05-10,失业,失业\r\n";
    let o = validate(with_unemployment(text.as_bytes()).path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &["多列对应同一字段 status：第 4 列「状态」、第 5 列「状态」"],
    );
}

#[test]
fn unknown_column_is_listed_and_ignored() {
    let text = "姓名,身份证号,备注,登记日期,状态\r\n刘强,341122196805207712,x,2023-05-10,失业\r\n";
    let o = validate(with_unemployment(text.as_bytes()).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    assert_eq!(counts(&i), (1, 1, 0, 0));
    assert_eq!(i["unknown_columns"], serde_json::json!(["备注"]));
    let printed = String::from_utf8_lossy(&o.output.stdout);
    assert!(printed.contains("备注"), "{printed}");
}

/// A column whose header names a field only once its bracketed note is
/// cut off (姓名（曾用名）) beside the field's own column is another column:
/// listed and ignored, not a field mapped twice. A zero-width space left
/// in a header cell is nothing.
#[test]
fn a_noted_header_beside_the_field_s_own_is_an_unknown_column() {
    let text = "姓名（曾用名）,姓名,身份证号\u{200b},登记日期,状态\r\n\
                刘小强,刘强,341122196805207712,2023-05-10,失业\r\n";
    let o = validate(with_unemployment(text.as_bytes()).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    assert_eq!(counts(&i), (1, 1, 0, 0));
    assert_eq!(i["unknown_columns"], serde_json::json!(["姓名（曾用名）"]));
}

/// A header cell holding an ID number (a row pasted over the header's end)
/// is listed masked: validate prints the unknown columns.
#[test]
fn an_unknown_column_named_by_an_id_number_is_listed_masked() {
    let text = "姓名,身份证号,登记日期,状态,341122196805207712\r\n刘强,341122196805207712,2023-05-10,失业,\r\n";
    let o = validate(with_unemployment(text.as_bytes()).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    assert_eq!(
        i["unknown_columns"],
        serde_json::json!(["341122********7712"])
    );
    let printed = String::from_utf8_lossy(&o.output.stdout);
    assert!(!printed.contains("341122196805207712"), "{printed}");
}

/// A template numbered down rows left empty: a row whose only values are
/// numbers in a column the extract does not read (序号) is blank, skipped;
/// a row with a value the extract reads, a remark in a column it does not,
/// or a value past the header is judged as usual.
#[test]
fn rows_numbered_but_empty_are_blank() {
    let text = "序号,姓名,身份证号,登记日期,状态,备注\r\n\
                1,刘强,341122196805207712,2023-05-10,失业,\r\n\
                2,,,,,\r\n\
                3,, ,,, \r\n\
                4,陈静,,,,\r\n\
                5,,,,,该户已迁出\r\n\
                6,,,,,,刘强\r\n";
    let o = validate(with_unemployment(text.as_bytes()).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    // Read, accepted, rejected, skipped.
    assert_eq!(counts(&i), (6, 1, 3, 2));
    assert_eq!(i["skipped"], serde_json::json!({"blank": 2}));
    assert_eq!(i["rejected"]["field_count"], serde_json::json!(1));
}

#[test]
fn missing_required_column_is_an_input_error() {
    let text = "姓名,身份证号,状态\r\n刘强,341122196805207712,失业\r\n";
    let o = validate(with_unemployment(text.as_bytes()).path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "缺少必需列「登记日期」（reg_date）",
            "required column 登记日期 (reg_date) is missing",
            "可在配置 [extracts.unemployment.aliases] 中添加 reg_date = [\"表头\"]",
        ],
    );
}

/// A 10 MB value in a free-text field is kept; in a category field it is
/// rejected (and quickly). Neither is echoed into a message.
#[test]
fn ten_megabyte_fields() {
    let big = "医".repeat(10 * 1024 * 1024 / 3);
    let text = format!(
        "{UNEMPLOYMENT_HEADER}刘强,341122196805207712,2023-05-10,失业\r\n\
         陈静,110105199001016631,2024-01-15,\"{big}\"\r\n"
    );
    let o = validate(with_unemployment(text.as_bytes()).path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let i = o.input(UNEMPLOYMENT);
    assert_eq!(counts(&i), (2, 1, 1, 0));
    assert_eq!(i["rejected"], serde_json::json!({"bad_category": 1}));
    assert!(!o.stderr().contains("医医医"));

    // The settlement's hospital is free text: the row is accepted.
    let settlement = format!(
        "{}\r\nS1,刘强,341122196805207712,门诊,2025-01-05,\"{big}\",I10,100,100,50,0,0,50\r\n",
        HEADER.join(",")
    );
    let batch = mess_batch("medical_settlement_big.csv", settlement.as_bytes());
    let o = validate(batch.path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    assert_eq!(counts(&o.input("medical_settlement_big.csv")), (1, 1, 0, 0));
}

/// A GB18030 file with rows appended from a UTF-8 file: an input error
/// naming the file and the first such line (read as GB18030 the rows'
/// names would be garble, linked and raising false DQ02 findings).
#[test]
fn utf8_rows_appended_to_a_gb18030_file_are_an_input_error() {
    let mut bytes = GB18030.encode(&unemployment_rows()).0.into_owned();
    bytes.extend_from_slice("王芳,341122194502104426,2024-03-01,已就业\r\n".as_bytes());
    let o = validate(with_unemployment(&bytes).path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "文件混用了两种编码：unemployment_202511.csv",
            "第 4 行是 UTF-8",
            "line 4 is UTF-8",
        ],
    );
    assert!(!o.stderr().contains("王芳"), "{}", o.stderr());
}

#[test]
fn random_bytes_named_like_an_extract_are_undecodable() {
    // Deterministic noise (an LCG), NUL bytes and all.
    let mut seed = 0x5eed_u64;
    let noise: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u8
        })
        .collect();
    let o = validate(with_unemployment(&noise).path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "无法识别文件编码：unemployment_202511.csv",
            "(guessed encoding binary;",
        ],
    );

    // The same noise without NUL bytes named .xlsx.
    let text_like: Vec<u8> = noise.iter().copied().filter(|&b| b != 0).collect();
    let b = batch(|d| {
        std::fs::remove_file(d.join("housing_safety_202511.xlsx")).unwrap();
        std::fs::write(d.join("housing_safety_202511.xlsx"), &text_like).unwrap();
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "不是有效的 XLSX 文件：housing_safety_202511.xlsx",
            "not a valid xlsx file: housing_safety_202511.xlsx",
        ],
    );
}

#[test]
fn xlsx_that_is_not_a_zip_is_an_input_error() {
    let b = batch(|d| {
        std::fs::write(d.join("roster_202511.xlsx"), unemployment_rows()).unwrap();
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "不是有效的 XLSX 文件：roster_202511.xlsx",
            "not a valid xlsx file: roster_202511.xlsx",
        ],
    );
}

#[test]
fn xlsx_cut_in_half_is_an_input_error() {
    let b = batch(|d| {
        let path = d.join("housing_safety_202511.xlsx");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(&o, &["不是有效的 XLSX 文件：housing_safety_202511.xlsx"]);
}

// ---------------------------------------------------------------------------
// Missing extract types and bad configs.

#[test]
fn missing_extract_type_is_an_input_error() {
    let b = batch(|d| std::fs::remove_file(d.join(UNEMPLOYMENT)).unwrap());
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "缺少抽取文件：失业登记（unemployment）",
            "extract type missing: unemployment (no file named unemployment_…)",
        ],
    );
}

/// A roster cut off after its header covers no one: every person in
/// hardship would be a 漏保 finding. It is refused as a missing one is.
#[test]
fn a_roster_without_data_rows_is_an_input_error() {
    let b = batch(|d| {
        std::fs::remove_file(d.join("roster_202511.xlsx")).unwrap();
        std::fs::write(
            d.join("roster_202511.csv"),
            "户编号,救助类别,乡镇（街道）,村（社区）,户主姓名,户主身份证号,成员姓名,成员身份证号,\
             与户主关系,保障人数,月保障金（元）,认定日期,申报家庭月收入（元）\n\n合计,,,,,,,,,,,,\n",
        )
        .unwrap();
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "救助对象名册没有数据行（roster_202511.csv：表头下 2 行均为空行、合计行或标题行）",
            "the roster has no data rows",
        ],
    );
    let o = hedui_on("run", b.path(), SAMPLE_CONFIG);
    assert_eq!(o.output.status.code(), Some(4));
}

#[test]
fn a_missing_input_folder_is_an_input_error_that_names_it() {
    let b = batch(|_| {});
    let gone = b.path().join("no-such-batch");
    let o = validate(&gone, SAMPLE_CONFIG);
    let folder = gone.display().to_string();
    assert_input_error(
        &o,
        &[
            &format!("无法读取输入目录 {folder}"),
            &format!("cannot read the input folder {folder}"),
        ],
    );
}

#[test]
fn missing_optional_extract_type_runs_and_skips_its_rules() {
    let b = batch(|d| std::fs::remove_file(d.join(UNEMPLOYMENT)).unwrap());
    let config = format!("{SAMPLE_CONFIG}optional = [\"unemployment\"]\n");
    let o = validate(b.path(), &config);
    assert_ok(&o.output);
    assert_eq!(o.manifest()["status"], "ok");

    let o = hedui_on("run", b.path(), &config);
    assert_ok(&o.output);
    let m = o.manifest();
    assert_eq!(m["status"], "ok");
    assert_eq!(m["missing_optional"], serde_json::json!(["unemployment"]));
    // LB04 (registered unemployed) needs the extract: skipped and said so.
    assert!(m["findings_per_rule"].get("LB04").is_none(), "{m}");
    // Every other rule ran and is counted, those that found nothing as 0.
    let per_rule = m["findings_per_rule"].as_object().unwrap();
    assert_eq!(per_rule.len(), 18, "{m}");
    assert!(per_rule.values().any(|n| n == 0), "{m}");
    let problems = m["problems"].to_string();
    assert!(problems.contains("LB04"), "{problems}");

    // The reports say so too: the rule's row is marked skipped, not
    // counted 0 as a rule that found nothing, and the run's notes are shown.
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let mut book: Xlsx<_> = open_workbook(o.out().join("report.xlsx")).unwrap();
    let summary = book.worksheet_range("汇总").unwrap();
    let cells = |row: &[Data]| -> Vec<String> { row.iter().map(|c| c.to_string()).collect() };
    let rows: Vec<Vec<String>> = summary.rows().map(cells).collect();
    let lb04 = rows.iter().find(|r| r[0] == "LB04").expect("LB04's row");
    assert_eq!(
        lb04.iter().rfind(|c| !c.is_empty()).unwrap(),
        "已跳过（缺少可选抽取）",
        "{lb04:?}"
    );
    assert!(
        lb04[3..lb04.len() - 1]
            .iter()
            .all(|c| c.is_empty() || c.starts_with("已跳过")),
        "no count for a rule that did not run: {lb04:?}"
    );
    let lb01 = rows.iter().find(|r| r[0] == "LB01").expect("LB01's row");
    assert!(!lb01.iter().any(|c| c.starts_with("已跳过")), "{lb01:?}");
    let title = rows
        .iter()
        .position(|r| r[0] == "运行提示")
        .expect("the notes");
    assert!(rows[title + 1][0].contains("LB04"), "{:?}", rows[title + 1]);
    // Across the three frozen columns, wrapped.
    let mut xml = String::new();
    let file = std::fs::File::open(o.out().join("report.xlsx")).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut xml,
    )
    .unwrap();
    let at = title + 2;
    assert!(
        xml.contains(&format!("<mergeCell ref=\"A{at}:C{at}\"/>")),
        "{xml}"
    );
    let html = std::fs::read_to_string(o.out().join("report.html")).unwrap();
    assert!(html.contains("<h2>运行提示</h2>"), "the page's notes");
    assert!(html.contains("已跳过（缺少可选抽取）"), "the page's LB04");
}

fn assert_config_error(config: &str, fragments: &[&str]) {
    let o = validate(&sample(), config);
    assert_eq!(o.code(), Some(3), "{}", o.stderr());
    for f in fragments {
        assert!(o.stderr().contains(f), "{f:?} not in: {}", o.stderr());
    }
    assert!(!o.out().exists(), "nothing is written for a bad config");
}

#[test]
fn config_with_an_unknown_key_exits_3() {
    assert_config_error(
        "[input]\nmax_reject_rat = 0.5\n",
        &["配置文件", "is invalid", "unknown field `max_reject_rat`"],
    );
    assert_config_error("colour = \"red\"\n", &["unknown field `colour`"]);
}

#[test]
fn config_with_a_negative_threshold_exits_3() {
    assert_config_error(
        "[rules]\noop_threshold = -1.0\n",
        &[
            "rules.oop_threshold 必须是非负数",
            "rules.oop_threshold must be a non-negative number (got -1)",
        ],
    );
    assert_config_error(
        "[input]\nmax_reject_rate = -0.1\n",
        &["input.max_reject_rate must be between 0 and 1 (got -0.1)"],
    );
    // Counts are unsigned: a negative one does not parse.
    assert_config_error(
        "[rules]\nmax_homes = -2\n",
        &[
            "max_homes = -2",
            "invalid value: integer `-2`, expected u32",
        ],
    );
}

#[test]
fn every_config_problem_is_reported_at_once() {
    assert_config_error(
        "[rules]\nstandard = -800\nreimbursement_floor = 1.5\n",
        &["有 2 处错误", "rules.standard", "rules.reimbursement_floor"],
    );
}

#[test]
fn unreadable_config_exits_3() {
    let o = hedui(&[
        "validate",
        "--input",
        sample().to_str().unwrap(),
        "--config",
        "/nonexistent/hedui.toml",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("无法读取配置文件"));
}

/// A batch that would not fit on the disk stops before anything is read or
/// written (exit 5), saying what it needs; with the check off it runs. The
/// batch's size is a sparse file's: it takes no disk, but counts as input.
#[test]
fn a_run_that_would_fill_the_disk_stops_before_reading() {
    let big = batch(|dir| {
        let f = std::fs::File::create(dir.join("扫描件.bin")).unwrap();
        f.set_len(1 << 43).unwrap(); // 8 TiB
    });
    let o = hedui_on("run", big.path(), SAMPLE_CONFIG);
    assert_eq!(o.code(), Some(5), "{}", o.stderr());
    assert!(o.stderr().contains("磁盘空间不足"), "{}", o.stderr());
    assert!(
        o.stderr().contains("工作文件 / work files"),
        "{}",
        o.stderr()
    );
    assert!(!o.out().exists(), "nothing written");
    let work = o.dir.path().join("hedui-state/work");
    assert!(!work.exists(), "no work files");

    let off = format!("{SAMPLE_CONFIG}[engine]\ncheck_free_disk = false\ntables = \"memory\"\n");
    let o = hedui_on("run", big.path(), &off);
    assert_eq!(o.code(), Some(0), "{}", o.stderr());
}

/// The rows of an output CSV (BOM stripped) as string records.
fn output_rows(o: &Outcome, file: &str) -> Vec<csv::StringRecord> {
    let text = std::fs::read_to_string(o.out().join(file)).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_owned();
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_sci_notation_id_found_by_name_and_birth_date_says_so_in_dq04() {
    // 张晓明, born 2010-06-01, is row 2 of the sample's education extract;
    // row 6 is the same student with the ID destroyed by Excel.
    let dir = batch(|d| {
        let path = d.join("education_202511.csv");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("张晓明,3.41122E+17,2010-06-01,城关初级中学,初中,无,0,,,,2024-2025\n");
        std::fs::write(&path, text).unwrap();
    });
    let o = hedui_on("run", dir.path(), SAMPLE_CONFIG);
    assert_eq!(o.code(), Some(0), "{}", o.stderr());
    let link = output_rows(&o, "links.csv")
        .into_iter()
        .find(|r| &r[0] == "education" && &r[2] == "6")
        .expect("a link for education row 6");
    assert_eq!((&link[5], &link[6]), ("341122201006013157", "name_birth"));
    let dq04 = output_rows(&o, "findings.csv")
        .into_iter()
        .find(|r| &r[1] == "DQ04" && &r[10] == "education:education_202511.csv:6")
        .expect("a DQ04 finding for education row 6");
    assert_eq!(
        &dq04[11], "name_birth",
        "the match column says how it linked"
    );
}

/// An enrollment ended by death on a day written 不详, or on one that
/// cannot be read, is one ended without a date, as an empty 终止日期 is:
/// accepted, CB04 for the member, not a rejected row that left her without
/// an enrollment (DY01; audit C). The unreadable date is named in
/// warnings.csv, with its row and cell.
#[test]
fn a_death_on_a_day_not_known_or_not_readable_is_cb04_not_dy01() {
    for (day, warned) in [("不详", false), ("六月底", true)] {
        let dir = batch(|d| {
            let path = d.join("medical_enrollment_202511.csv");
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains("死亡,2025-06-30"));
            std::fs::write(
                &path,
                text.replace("死亡,2025-06-30", &format!("死亡,{day}")),
            )
            .unwrap();
        });
        let o = hedui_on("run", dir.path(), SAMPLE_CONFIG);
        assert_eq!(o.code(), Some(0), "{day}: {}", o.stderr());
        let i = o.input("medical_enrollment_202511.csv");
        // The sample's 刘强 (停止, no status) alone.
        assert_eq!(
            i["rejected"],
            serde_json::json!({"bad_category": 1}),
            "{day}"
        );
        let rules_of_wang_fang: Vec<String> = output_rows(&o, "findings.csv")
            .into_iter()
            .filter(|r| r.iter().any(|f| f == "341122194502104426"))
            .map(|r| r[1].to_string())
            .collect();
        assert!(
            rules_of_wang_fang.iter().any(|r| r == "CB04"),
            "{day}: {rules_of_wang_fang:?}"
        );
        assert!(
            !rules_of_wang_fang.iter().any(|r| r == "DY01"),
            "{day}: {rules_of_wang_fang:?}"
        );
        let warnings: Vec<csv::StringRecord> = output_rows(&o, "warnings.csv")
            .into_iter()
            .filter(|r| &r[1] == "medical_enrollment_202511.csv")
            .collect();
        if warned {
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert_eq!(&warnings[0][3], "终止日期", "{warnings:?}");
            assert_eq!(&warnings[0][6], day, "{warnings:?}");
            assert_eq!(i["warnings"].as_object().map(|w| w.len()), Some(1), "{i}");
        } else {
            assert!(warnings.is_empty(), "{warnings:?}");
        }
    }
}

#[test]
fn a_township_standard_for_no_township_is_warned_about() {
    let config =
        format!("{SAMPLE_CONFIG}[rules.township_standard]\n\"城关镇\" = 850.0\n\"城关\" = 900.0\n");
    let o = hedui_on("run", &sample(), &config);
    assert_eq!(o.code(), Some(0), "{}", o.stderr());
    let problems: Vec<String> = o.manifest()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    let about: Vec<&String> = problems.iter().filter(|p| p.contains("乡镇标准")).collect();
    assert_eq!(about.len(), 1, "{problems:?}");
    assert!(about[0].contains("township_standard.城关 "), "{}", about[0]);
    // Said where the operator looks, too: the run's summary.
    let stdout = String::from_utf8_lossy(&o.output.stdout);
    assert!(
        stdout.contains("注意 note：乡镇标准「城关」未匹配"),
        "{stdout}"
    );
}

/// A link to nothing named like an extract cannot be read: the batch fails
/// (exit 4) naming it, rather than passing over a month of data.
#[cfg(unix)]
#[test]
fn a_dangling_link_named_like_an_extract_is_an_input_error() {
    let b = batch(|d| {
        std::os::unix::fs::symlink("/nonexistent/hedui", d.join("pension_209912.csv")).unwrap()
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_input_error(
        &o,
        &[
            "无法读取文件 pension_209912.csv",
            "cannot read pension_209912.csv",
        ],
    );
}

/// Folders inside the batch are not read, and are listed as ignored, also
/// one named like an extract; so are Excel's lock files, hidden files and
/// backup copies.
#[test]
fn folders_in_the_batch_are_listed_as_ignored() {
    let b = batch(|d| {
        std::fs::create_dir(d.join("archive")).unwrap();
        std::fs::create_dir(d.join("pension_209912.csv")).unwrap();
        // Excel's lock file beside an open workbook, and a hidden file.
        std::fs::write(d.join("~$roster_209912.xlsx"), b"lock").unwrap();
        std::fs::write(d.join(".DS_Store"), b"\0").unwrap();
        std::fs::create_dir(d.join(".git")).unwrap();
        // Backup copies left beside an extract, named like it.
        for backup in [
            "pension_209912.csv.bak",
            "roster_209912.xlsx.BAK",
            "pension_209912.csv~",
        ] {
            std::fs::write(d.join(backup), b"not read").unwrap();
        }
        // A pipe named like an extract: reading it would wait for ever.
        #[cfg(unix)]
        assert!(
            std::process::Command::new("mkfifo")
                .arg(d.join("pension_209911.csv"))
                .status()
                .unwrap()
                .success()
        );
    });
    let o = validate(b.path(), SAMPLE_CONFIG);
    assert_ok(&o.output);
    let ignored = o.manifest()["ignored"].clone();
    let ignored: Vec<&str> = ignored
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    #[cfg(unix)]
    assert!(ignored.contains(&"pension_209911.csv"), "{ignored:?}");
    for hidden in [
        "~$roster_209912.xlsx",
        ".DS_Store",
        ".git/",
        "pension_209912.csv.bak",
        "roster_209912.xlsx.BAK",
        "pension_209912.csv~",
    ] {
        assert!(ignored.contains(&hidden), "{ignored:?}");
    }
    assert!(
        ignored.ends_with(&["archive/", "pension_209912.csv/"]),
        "{ignored:?}"
    );
}
