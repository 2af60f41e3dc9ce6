//! End-to-end: `hedui validate` on the bundled sample batch and on broken
//! batches, through the binary, checking the printed table, rejects.csv,
//! manifest.json and the exit code.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{assert_ok, hedui};

use serde_json::Value;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample")
}

fn sample_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample.toml")
}

fn validate_into(input: &Path, out: &Path) -> Output {
    hedui(&[
        "validate",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--config",
        sample_config().to_str().unwrap(),
        "--as-of",
        "2025-11-30",
    ])
}

fn manifest(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap()
}

fn input<'a>(m: &'a Value, file: &str) -> &'a Value {
    m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["file"] == file)
        .unwrap_or_else(|| panic!("{file} in manifest"))
}

/// (file, read, accepted, rejected, skipped, duplicate, conflict)
const SAMPLE_ACCOUNTS: &[(&str, u64, u64, u64, u64, u64, u64)] = &[
    ("contribution_202511.tsv", 5, 4, 1, 0, 0, 0),
    ("education_202511.csv", 4, 4, 0, 0, 0, 1),
    ("housing_safety_202511.xlsx", 3, 2, 0, 1, 0, 0),
    ("medical_enrollment_202511.csv", 6, 5, 1, 0, 0, 0),
    ("medical_settlement_202511.csv", 18, 13, 3, 2, 1, 1),
    ("pension_202511.csv", 2, 2, 0, 0, 0, 0),
    ("property_202511.csv", 5, 5, 0, 0, 0, 0),
    ("roster_202511.xlsx", 10, 6, 1, 3, 0, 0),
    ("unemployment_202511.csv", 2, 2, 0, 0, 0, 0),
];

#[test]
fn sample_batch_accounts_for_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = validate_into(&sample(), &out);
    assert_ok(&o);
    let m = manifest(&out);
    assert_eq!(m["status"], "ok");
    assert_eq!(m["ignored"], serde_json::json!(["README.txt"]));
    for &(file, read, accepted, rejected, skipped, dup, conflict) in SAMPLE_ACCOUNTS {
        let i = input(&m, file);
        let got = (
            i["rows_read"].as_u64().unwrap(),
            i["rows_accepted"].as_u64().unwrap(),
            i["rows_rejected"].as_u64().unwrap(),
            i["rows_skipped"].as_u64().unwrap(),
            i["rows_duplicate"].as_u64().unwrap(),
            i["rows_conflict"].as_u64().unwrap(),
        );
        assert_eq!(
            got,
            (read, accepted, rejected, skipped, dup, conflict),
            "{file}"
        );
        assert_eq!(
            read,
            accepted + rejected + skipped,
            "{file}: the fixture's own sum"
        );
        assert_eq!(i["sha256"].as_str().unwrap().len(), 64);
    }
    assert_eq!(m["inputs"].as_array().unwrap().len(), SAMPLE_ACCOUNTS.len());
}

#[test]
fn sample_batch_detects_formats_encodings_and_id_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    validate_into(&sample(), &out);
    let m = manifest(&out);
    let settlement = input(&m, "medical_settlement_202511.csv");
    assert_eq!(settlement["encoding"], "GB18030");
    assert_eq!(settlement["format"], "csv");
    assert_eq!(
        settlement["id_status"],
        serde_json::json!({"bad_check": 3, "empty": 1, "sci_notation": 1, "upgraded15": 1, "valid": 7})
    );
    assert_eq!(
        settlement["skipped"],
        serde_json::json!({"blank": 1, "repeated_header": 1})
    );
    assert_eq!(
        settlement["rejected"],
        serde_json::json!({"bad_date": 1, "bad_money": 1, "field_count": 1})
    );
    assert_eq!(input(&m, "contribution_202511.tsv")["format"], "tsv");
    assert_eq!(
        input(&m, "contribution_202511.tsv")["encoding"],
        "UTF-8-BOM"
    );
    assert_eq!(input(&m, "pension_202511.csv")["encoding"], "GB18030");
    assert_eq!(
        input(&m, "pension_202511.csv")["id_status"],
        serde_json::json!({"upgraded15": 1, "valid": 1})
    );
    let roster = input(&m, "roster_202511.xlsx");
    assert_eq!(roster["format"], "xlsx");
    assert_eq!(roster["ignored_sheets"], serde_json::json!(["说明"]));
    assert_eq!(
        roster["skipped"],
        serde_json::json!({"blank": 1, "total": 2})
    );
    assert_eq!(
        roster["warnings"],
        serde_json::json!({"bad_date:start_date": 1})
    );
}

/// The sample roster's 认定日期 `二〇二四年` is read as empty (the row is
/// kept) and named in warnings.csv: file, row, field, why and the cell.
#[test]
fn warnings_name_file_row_field_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    validate_into(&sample(), &out);
    let text = std::fs::read_to_string(out.join("warnings.csv")).unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("warnings.csv starts with a BOM");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        r.headers().unwrap(),
        vec![
            "extract",
            "file",
            "row",
            "field",
            "reason_code",
            "reason",
            "value"
        ]
    );
    let rows: Vec<Vec<String>> = r
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert_eq!(
        rows[0][..5],
        [
            "roster",
            "roster_202511.xlsx",
            "河西乡!5",
            "认定日期",
            "bad_date"
        ]
    );
    assert!(rows[0][5].starts_with("「认定日期」"), "{text}");
    assert_eq!(rows[0][6], "二〇二四年");
}

#[test]
fn rejects_name_file_row_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    validate_into(&sample(), &out);
    let text = std::fs::read_to_string(out.join("rejects.csv")).unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("rejects.csv starts with a BOM");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<(String, String, String)> = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[1].to_string(), rec[2].to_string(), rec[3].to_string())
        })
        .collect();
    let expect = [
        ("contribution_202511.tsv", "6", "bad_period"),
        ("medical_enrollment_202511.csv", "7", "bad_category"),
        ("medical_settlement_202511.csv", "15", "bad_date"),
        ("medical_settlement_202511.csv", "16", "bad_money"),
        ("medical_settlement_202511.csv", "17", "field_count"),
        ("roster_202511.xlsx", "河西乡!6", "bad_category"),
    ];
    let expect: Vec<(String, String, String)> = expect
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(rows, expect);
}

#[test]
fn output_files_are_owner_readable_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    validate_into(&sample(), &out);
    #[cfg(unix)]
    for f in ["rejects.csv", "manifest.json"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join(f)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
}

/// Copies the sample batch, letting the caller break it.
fn broken_sample(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(sample()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    edit(dir.path());
    dir
}

#[test]
fn missing_extract_type_is_an_input_error() {
    let batch = broken_sample(|d| std::fs::remove_file(d.join("pension_202511.csv")).unwrap());
    let out = tempfile::tempdir().unwrap();
    let o = validate_into(batch.path(), &out.path().join("o"));
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("缺少抽取文件") && err.contains("pension"),
        "{err}"
    );
    assert_eq!(manifest(&out.path().join("o"))["status"], "failed");
}

#[test]
fn missing_required_column_names_file_column_and_found_headers() {
    let batch = broken_sample(|d| {
        std::fs::write(
            d.join("unemployment_202511.csv"),
            "姓名,身份证号,状态\n刘强,341122196805207712,失业\n",
        )
        .unwrap()
    });
    let out = tempfile::tempdir().unwrap();
    let o = validate_into(batch.path(), &out.path().join("o"));
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unemployment_202511.csv"), "{err}");
    assert!(
        err.contains("登记日期") && err.contains("reg_date"),
        "{err}"
    );
    assert!(err.contains("姓名、身份证号、状态"), "{err}");
    assert!(
        !err.contains("341122196805207712"),
        "no ID number in messages: {err}"
    );
}

#[test]
fn unreadable_files_are_input_errors() {
    let batch = broken_sample(|d| {
        std::fs::write(d.join("housing_safety_202511.xlsx"), b"this is not a zip").unwrap();
        std::fs::write(d.join("pension_202511.csv"), b"").unwrap();
    });
    let out = tempfile::tempdir().unwrap();
    let o = validate_into(batch.path(), &out.path().join("o"));
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("housing_safety_202511.xlsx"), "{err}");
    assert!(err.contains("pension_202511.csv"), "{err}");
}

#[test]
fn reject_rate_over_the_default_limit_stops_with_exit_5() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = hedui(&[
        "validate",
        "--input",
        sample().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    // Default limit 5 %: contribution rejects 1 of 5 rows (20 %).
    assert_eq!(o.status.code(), Some(5));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("contribution_202511.tsv"), "{err}");
    assert_eq!(manifest(&out)["status"], "stopped");
}

#[test]
fn bad_config_exits_3_and_bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[rules]\nstandard = -5\n").unwrap();
    let o = hedui(&[
        "validate",
        "--input",
        sample().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("rules.standard"));
    assert_eq!(hedui(&["validate"]).status.code(), Some(2));
}

#[test]
fn values_no_command_can_use_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    for (args, fragment) in [
        (
            vec!["run", "--input", "x", "--out", out, "--threads", "0"],
            "--threads",
        ),
        // An ID number pasted into the option starts no threads.
        (
            vec![
                "run",
                "--input",
                "x",
                "--out",
                out,
                "--threads",
                "341122198003225280",
            ],
            "须为 1 至 1024 的整数",
        ),
        (
            vec!["run", "--input", "x", "--out", out, "--threads", "1025"],
            "须为 1 至 1024 的整数",
        ),
        (vec!["cases", "--out", out, "--rule", "CB09"], "CB01"),
        // A date other than YYYY-MM-DD, or none that exists, is named in
        // Chinese with the form it must take.
        (
            vec!["run", "--input", "x", "--out", out, "--as-of", "2025/11/30"],
            "须为 YYYY-MM-DD 格式的有效日期",
        ),
        (
            vec!["validate", "--input", "x", "--as-of", "2025-02-30"],
            "须为 YYYY-MM-DD 格式的有效日期",
        ),
        (
            vec!["generate", "--out", out, "--as-of", ""],
            "须为 YYYY-MM-DD 格式的有效日期",
        ),
        (
            vec!["validate", "--input", "x", "--as-of", "2025-1-5"],
            "须为 YYYY-MM-DD 格式的有效日期",
        ),
        (
            vec!["validate", "--input", "x", "--as-of", "+2025-11-30"],
            "须为 YYYY-MM-DD 格式的有效日期",
        ),
        (vec!["cases", "--out", out, "--verdict", "是"], "不属实"),
        // The parser's own refusals are named in Chinese too, with the
        // option, above its English message.
        (
            vec!["run", "--input", "x"],
            "命令行用法错误：缺少必需的参数：--out",
        ),
        (
            vec!["generate", "--out", out, "--seed", "x"],
            "命令行用法错误：参数取值无效：--seed",
        ),
        (
            vec!["cases", "--out", out, "--bogus"],
            "命令行用法错误：无法识别的参数",
        ),
        // A negative number is a bad value of its option, not a stray
        // argument.
        (
            vec!["run", "--input", "x", "--out", out, "--threads", "-1"],
            "命令行用法错误：参数取值无效：--threads",
        ),
        (
            vec![
                "generate",
                "--out",
                out,
                "--as-of",
                "2025-11-30",
                "--seed",
                "-5",
            ],
            "命令行用法错误：参数取值无效：--seed",
        ),
        // A flag given twice, and a missing positional argument, named.
        (
            vec![
                "run",
                "--input",
                "x",
                "--out",
                out,
                "--unmasked",
                "--unmasked",
            ],
            "命令行用法错误：参数不能重复使用：--unmasked",
        ),
        (
            vec!["review", "import"],
            "命令行用法错误：缺少必需的参数：<REPORT>",
        ),
        (vec!["frobnicate"], "命令行用法错误：无法识别的子命令"),
        (vec![], "命令行用法错误：缺少子命令"),
        (vec!["cases", "--out", out, "--status", "bogus"], "已消失"),
        (
            vec!["cases", "--out", out, "--status", "持续/乱写"],
            "已消失",
        ),
    ] {
        let o = hedui(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(fragment),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // A value typed where it does not belong (an ID number pasted into
    // --as-of, a name left as a stray argument) is not echoed
    // by the parser's message either.
    for args in [
        vec!["validate", "--input", "x", "--as-of", "341122196805207712"],
        vec!["cases", "--out", out, "341122196805207712"],
        vec!["cases", "--out", out, "--status", "刘强"],
        vec!["cases", "--out", out, "刘强"],
        vec!["341122196805207712"],
        vec!["review", "刘强"],
        // Typed as an option: masked where the option is named
        // (helper-160's audit: `--` and an ID number were printed whole).
        vec!["cases", "--out", out, "--341122196805207712"],
        vec!["cases", "--out", out, "--刘强"],
        vec![
            "--log-format",
            "json",
            "cases",
            "--out",
            out,
            "--341122196805207712",
        ],
    ] {
        let o = hedui(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("命令行用法错误"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("196805207712") && !stderr.contains("刘强"),
            "{args:?}: {stderr}"
        );
    }
    // The argument a value is missing for is named.
    let o = hedui(&["review", "import", ""]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("<REPORT>"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A rule code in lower case is the code; a case status may be given
    // by its start or in full.
    for args in [
        ["--rule", "cb01"],
        ["--status", "已核"],
        ["--status", "持续/属实"],
    ] {
        let o = hedui(&[&["cases", "--out", out][..], &args].concat());
        assert_ne!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn example_config_is_printed_and_parses() {
    let o = hedui(&["example-config"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    hedui::config::Config::parse(&text, "example").unwrap();
}

/// Output to a reader that went away (`hedui cases … | head`) ends
/// quietly: no panic, exit 0.
#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_hedui"))
        .arg("example-config")
        .env("RUST_LOG", "warn")
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// The first JSON record of level ERROR a command logged.
fn error_record(o: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&o.stderr);
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["level"] == "ERROR")
        .unwrap_or_else(|| panic!("no ERROR record in {stderr}"))
}

#[test]
fn a_fatal_error_is_a_json_record_too() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-batch");
    let o = hedui(&[
        "--log-format",
        "json",
        "validate",
        "--input",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(4));
    let record = error_record(&o);
    assert_eq!(record["fields"]["message"], "fatal");
    assert_eq!(record["fields"]["exit_code"], 4);
    assert!(
        record["fields"]["error"]
            .as_str()
            .unwrap()
            .contains("no-such-batch")
    );
    // A command line refused before it ran (exit 2) is logged alike, the
    // option given either way; help is no error.
    for args in [
        &[
            "--log-format",
            "json",
            "run",
            "--input",
            "i",
            "--out",
            "o",
            "--threads",
            "0",
        ][..],
        &["--log-format=json", "cases", "--out", "o", "--rule", "XX99"],
        &["--log-format=json", "cases", "341122198001011238"],
        &["--log-format", "json"],
        &[
            "validate",
            "--input",
            "i",
            "--as-of",
            "2025-13-01",
            "--log-format",
            "json",
        ],
    ] {
        let o = hedui(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let record = error_record(&o);
        assert_eq!(record["fields"]["message"], "fatal", "{args:?}");
        assert_eq!(record["fields"]["exit_code"], 2, "{args:?}");
        let error = record["fields"]["error"].as_str().unwrap();
        assert!(error.starts_with("命令行用法错误："), "{error}");
        assert!(error.contains(" / "), "{error}");
        // What the user typed is not logged (it may be an ID number).
        assert!(!error.contains("3411221980"), "{error}");
        // clap's own message still follows, for people.
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("error:"), "{stderr}");
    }
    let o = hedui(&["--log-format", "json", "run", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("fatal"));
}

/// Two files of one type: a row the later file repeats value for value
/// (written differently) is no conflict; one whose amount differs is, and
/// it is counted on the later file.
#[test]
fn a_row_repeated_by_a_later_file_is_no_conflict_a_different_one_is() {
    let batch = broken_sample(|d| {
        std::fs::write(
            d.join("pension_202512.csv"),
            "姓名,身份证号,发放月份,发放金额（元）\n\
             王芳,341122194502104426,202511,180\n\
             王芳,341122194502104426,202510,200.00\n",
        )
        .unwrap()
    });
    let out = tempfile::tempdir().unwrap();
    let o = validate_into(batch.path(), &out.path().join("o"));
    assert_ok(&o);
    let m = manifest(&out.path().join("o"));
    let later = input(&m, "pension_202512.csv");
    assert_eq!(later["rows_accepted"], 2);
    assert_eq!(later["rows_conflict"], 1, "{later}");
    assert_eq!(input(&m, "pension_202511.csv")["rows_conflict"], 0);
}

/// A pension workbook: a data sheet, and a second sheet (联系人) with the
/// given header and one row.
fn pension_workbook(dir: &Path, second: Option<&[&str]>) {
    pension_workbook_named(dir, "联系人", second);
}

/// [`pension_workbook`] with the second sheet named `second_name`.
fn pension_workbook_named(dir: &Path, second_name: &str, second: Option<&[&str]>) {
    std::fs::remove_file(dir.join("pension_202511.csv")).unwrap();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let data = wb.add_worksheet();
    data.set_name("发放").unwrap();
    let rows: [[&str; 4]; 2] = [
        ["姓名", "身份证号", "发放月份", "发放金额（元）"],
        ["王芳", "341122194502104426", "202511", "180.00"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            data.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    if let Some(header) = second {
        let ws = wb.add_worksheet();
        ws.set_name(second_name).unwrap();
        for (c, h) in header.iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
            ws.write_string(
                1,
                c as u16,
                ["王芳", "341122194502104426", "13800000000"][c % 3],
            )
            .unwrap();
        }
    }
    wb.save(dir.join("pension_202511.xlsx")).unwrap();
}

/// A contact sheet (姓名, 身份证号, 联系电话) beside the data sheet is
/// ignored and named; a second sheet that lacks one of the extract's own
/// columns still stops the run.
#[test]
fn a_sheet_naming_only_persons_beside_the_data_is_ignored() {
    let batch = broken_sample(|d| pension_workbook(d, Some(&["姓名", "身份证号", "联系电话"])));
    let out = tempfile::tempdir().unwrap();
    let o = validate_into(batch.path(), &out.path().join("o"));
    assert_ok(&o);
    let m = manifest(&out.path().join("o"));
    let p = input(&m, "pension_202511.xlsx");
    assert_eq!(p["ignored_sheets"], serde_json::json!(["联系人"]), "{p}");
    assert_eq!(
        (p["rows_read"].as_u64(), p["rows_accepted"].as_u64()),
        (Some(1), Some(1))
    );

    // A sheet with one of the extract's own columns, or with renamed data
    // columns (月份 for 发放月份), is a data sheet that lacks columns.
    for (i, header) in [
        ["姓名", "身份证号", "发放月份"],
        ["姓名", "身份证号", "月份"],
    ]
    .iter()
    .enumerate()
    {
        let batch = broken_sample(|d| pension_workbook(d, Some(header)));
        let o = validate_into(batch.path(), &out.path().join(format!("bad{i}")));
        assert_eq!(o.status.code(), Some(4), "{header:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("工作表 联系人：缺少必需列「发放金额"), "{err}");
    }
}

/// A sheet named after a person (one sheet per household head: his name
/// and ID number) is named in validate's report with both masked.
#[test]
fn a_sheet_named_after_an_id_number_is_masked_in_the_report() {
    // A second sheet of one cell, no header.
    let batch = broken_sample(|d| {
        pension_workbook_named(d, "王芳341122194502104426", Some(&["本表仅供核对"]))
    });
    let out = tempfile::tempdir().unwrap();
    let o = validate_into(batch.path(), &out.path().join("o"));
    assert_ok(&o);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("王*341122********4426"), "{stdout}");
    assert!(!stdout.contains("341122194502104426"), "{stdout}");
    assert!(!stdout.contains("王芳"), "{stdout}");
}

/// A DOS end-of-file mark (0x1A) that an old export writes as a CSV's or
/// TSV's last line is a blank row: skipped and counted, not rejected.
#[test]
fn an_end_of_file_mark_is_a_blank_row() {
    let dir = broken_sample(|dir| {
        for file in ["unemployment_202511.csv", "contribution_202511.tsv"] {
            let path = dir.join(file);
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.push(0x1A);
            std::fs::write(&path, bytes).unwrap();
        }
    });
    let out = dir.path().join("o");
    let o = validate_into(dir.path(), &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(&out);
    for (file, read, accepted, rejected, skipped) in [
        ("unemployment_202511.csv", 3, 2, 0, 1),
        ("contribution_202511.tsv", 6, 4, 1, 1),
    ] {
        let i = input(&m, file);
        assert_eq!(
            [
                &i["rows_read"],
                &i["rows_accepted"],
                &i["rows_rejected"],
                &i["rows_skipped"]
            ],
            [read, accepted, rejected, skipped],
            "{file}"
        );
    }
}

/// Every warning the manifest counts is a line of warnings.csv: an amount
/// finer than a fen (kept, rounded) and a roster member row that leaves its
/// 救助类别 empty (kept, the household's from its other rows) as much as an
/// unreadable value, each with the cell and, for the amount, the figure the
/// rules use.
#[test]
fn every_warning_the_manifest_counts_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::sample_copy(dir.path());
    std::fs::remove_file(input.join("roster_202511.xlsx")).unwrap();
    std::fs::write(
        input.join("roster_202511.csv"),
        "户编号,救助类别,乡镇（街道）,村（社区）,户主姓名,户主身份证号,成员姓名,成员身份证号,\
         与户主关系,保障人数,月保障金（元）,认定日期,申报家庭月收入（元）,残疾等级\n\
         H001,低保,城关镇,东街社区,张伟,341122198001011238,张伟,341122198001011238,本人,2,800,2024-01-05,1000,\n\
         H001,,城关镇,东街社区,张伟,341122198001011238,李娜,34112219820315224X,配偶,2,800,2024-01-05,1000,\n",
    )
    .unwrap();
    let settlement = input.join("medical_settlement_202511.csv");
    let mut bytes = std::fs::read(&settlement).unwrap();
    let (row, _, _) = encoding_rs::GB18030.encode(
        "S901,张伟,341122198001011238,住院,2025-03-05,县人民医院,I10 高血压,699.995,600,300,0,100,299.995\n",
    );
    if !bytes.ends_with(b"\n") {
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(&row);
    std::fs::write(&settlement, bytes).unwrap();
    let out = dir.path().join("out");
    validate_into(&input, &out);
    let text = std::fs::read_to_string(out.join("warnings.csv")).unwrap();
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<Vec<String>> = r
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let line = |file: &str, field: &str| {
        rows.iter()
            .find(|r| r[1] == file && r[3] == field)
            .unwrap_or_else(|| panic!("no {file} {field} in {text}"))
            .clone()
    };
    assert_eq!(
        line("roster_202511.csv", "救助类别")[2..],
        [
            "3",
            "救助类别",
            "missing_value",
            "「救助类别」为空，按本户其他成员行填写的值处理（均未填写时不认定）",
            ""
        ]
    );
    let total = line("medical_settlement_202511.csv", "总费用");
    assert_eq!(
        total[4..],
        [
            "money_rounded",
            "「总费用」金额不足一分的部分四舍五入，按 700.00 元处理",
            "699.995"
        ]
    );
    // As many lines as the manifest counts on fields (`code:field`; an ID
    // number's unknown region code is no value's), file by file.
    let m = manifest(&out);
    for input in m["inputs"].as_array().unwrap() {
        let counted: u64 = input["warnings"].as_object().map_or(0, |w| {
            w.iter()
                .filter(|(k, _)| k.contains(':'))
                .map(|(_, n)| n.as_u64().unwrap())
                .sum()
        });
        let listed = rows.iter().filter(|r| r[1] == input["file"]).count() as u64;
        assert_eq!(listed, counted, "{}: {text}", input["file"]);
    }
}

/// The lines a department's export ends with (who made and checked it,
/// when, a note) are skipped as `footer`, not rejected: on a small file two
/// of them alone would stop the run at the reject limit.
#[test]
fn an_export_s_footer_lines_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let folder = common::sample_copy(dir.path());
    let pension = folder.join("pension_202511.csv");
    let mut bytes = std::fs::read(&pension).unwrap();
    let (footer, _, _) =
        encoding_rs::GB18030.encode("制表人：王芳,,审核人：李强,\n注：本表金额单位为元。\n");
    bytes.extend_from_slice(&footer);
    std::fs::write(&pension, bytes).unwrap();
    let out = dir.path().join("out");
    assert_ok(&validate_into(&folder, &out));
    let m = manifest(&out);
    let pension = input(&m, "pension_202511.csv");
    assert_eq!(pension["rows_rejected"], 0, "{pension}");
    assert_eq!(pension["skipped"]["footer"], 2, "{pension}");
}
