//! End-to-end: the people-facing reports `hedui run` writes on the bundled
//! sample — report.xlsx read back with calamine (sheets, headers, masking,
//! every finding on its sheet) and unzipped (the 核查结论 drop-down, fixed
//! document properties), report.html masked like it, both byte-identical
//! across runs and re-rendered identically by `hedui report`, 0600.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use calamine::{Data, Reader, Xlsx, open_workbook};

mod common;
use common::{assert_ok, hedui, run_batch, sample_copy};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run_sample(out: &Path, threads: &str, extra: &[&str]) {
    let input = root().join("fixtures/sample");
    let config = root().join("fixtures/sample.toml");
    assert_ok(&run_batch(&input, out, Some(&config), threads, extra));
}

/// The findings sheets of the sample: one per rule with findings, in
/// catalogue order.
const SAMPLE_SHEETS: [&str; 15] = [
    "汇总",
    "CB01 收入超标",
    "CB02 房产超标",
    "CB03 公职人员",
    "CB04 死亡未停保",
    "CB05 重复享受",
    "LB04 长期失业",
    "DY01 未参保",
    "DY02 救助比例不足",
    "DY03 学生未资助",
    "DY04 危房未改造",
    "DQ01 身份证号无效",
    "DQ03 身份证号已修正",
    "DQ04 科学计数法损坏",
    "DQ05 申报收入不符",
];

/// The review import keys on `finding_id`, `核查结论` and `备注`.
/// The findings sheets' headers, the two hidden ones last (the verdict and
/// note the sheet was made with, for `review import`).
const HEADERS: [&str; 17] = [
    "finding_id",
    "规则",
    "类别",
    "严重程度",
    "户编号",
    "身份证号",
    "姓名",
    "乡镇",
    "村",
    "核查依据",
    "数据来源",
    "匹配方式",
    "案件状态",
    "核查结论",
    "备注",
    "原核查结论",
    "原备注",
];

type Sheets = BTreeMap<String, Vec<Vec<String>>>;

fn read_xlsx(path: &Path) -> (Vec<String>, Sheets) {
    let mut book: Xlsx<_> = open_workbook(path).unwrap();
    let names = book.sheet_names().to_vec();
    let mut sheets = BTreeMap::new();
    for name in &names {
        let range = book.worksheet_range(name).unwrap();
        let rows = range
            .rows()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Data::String(s) => s.clone(),
                        Data::Empty => String::new(),
                        Data::Float(f) if name == "汇总" => f.to_string(),
                        other => panic!("{name}: a findings cell that is not text: {other:?}"),
                    })
                    .collect()
            })
            .collect();
        sheets.insert(name.clone(), rows);
    }
    (names, sheets)
}

/// findings.csv as maps from column to value.
fn findings(out: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(out.join("findings.csv")).unwrap();
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            header
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Every full ID number and name of the run: those of the findings and the
/// raw ones of every linked row.
fn personal_values(out: &Path) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for f in findings(out) {
        values.push(f["id_number"].clone());
        values.push(f["name"].clone());
    }
    let links = std::fs::read_to_string(out.join("links.csv")).unwrap();
    let mut r = csv::Reader::from_reader(links.trim_start_matches('\u{feff}').as_bytes());
    for rec in r.deserialize::<BTreeMap<String, String>>() {
        let rec = rec.unwrap();
        values.extend([
            rec["raw_id"].trim().to_string(),
            rec["raw_name"].trim().to_string(),
            rec["person_id"].clone(),
        ]);
    }
    values.retain(|v| {
        let n = v.chars().count();
        (v.chars().all(|c| c.is_ascii_alphanumeric()) && n >= 15) || (!v.is_ascii() && n >= 2)
    });
    values.sort();
    values.dedup();
    values
}

fn zip_entry(path: &Path, name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// The rows of the findings sheets, by finding_id.
fn rows_by_id(sheets: &Sheets) -> BTreeMap<String, (String, Vec<String>)> {
    let mut rows = BTreeMap::new();
    for (name, sheet) in sheets {
        if name == "汇总" {
            continue;
        }
        assert_eq!(sheet[0], HEADERS, "{name}");
        for row in &sheet[1..] {
            let mut row = row.clone();
            row.resize(HEADERS.len(), String::new());
            rows.insert(row[0].clone(), (name.clone(), row));
        }
    }
    rows
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn reports_are_masked_by_default_and_byte_identical_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let outs: Vec<PathBuf> = ["1", "2"]
        .iter()
        .enumerate()
        .map(|(i, threads)| {
            // Each run its own parent folder, so its own case ledger: with
            // a shared one the second run's cases would be 持续, not 新增.
            let out = dir.path().join(format!("run{i}")).join("out");
            run_sample(&out, threads, &[]);
            out
        })
        .collect();
    let out = &outs[0];
    for f in ["report.xlsx", "report.html"] {
        assert_eq!(mode(&out.join(f)), 0o600, "{f}");
        assert!(
            std::fs::read(out.join(f)).unwrap() == std::fs::read(outs[1].join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["masked"], true);

    let xlsx = out.join("report.xlsx");
    let (names, sheets) = read_xlsx(&xlsx);
    assert_eq!(names, SAMPLE_SHEETS);

    // Every finding on its rule's sheet, ID and name masked.
    let found = findings(out);
    let rows = rows_by_id(&sheets);
    assert_eq!(rows.len(), found.len());
    for f in &found {
        let (sheet, row) = &rows[&f["finding_id"]];
        assert!(sheet.starts_with(&f["rule"]), "{sheet}");
        let id = &f["id_number"];
        if id.is_empty() {
            assert_eq!(row[5], "");
        } else {
            assert_eq!(row[5], format!("{}********{}", &id[..6], &id[14..]));
        }
        let name: Vec<char> = f["name"].chars().collect();
        let masked_name: String = match name.len() {
            2 => format!("{}*", name[0]),
            n => format!("{}{}{}", name[0], "*".repeat(n - 2), name[n - 1]),
        };
        assert_eq!(row[6], masked_name);
        assert_eq!(row[1], *sheet);
        assert_eq!((&row[2], &row[3]), (&f["kind"], &f["severity"]));
        assert_eq!(row[10], f["sources"]);
    }

    // No full ID number or name anywhere in either report.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let personal = personal_values(out);
    assert!(personal.len() > 20, "{personal:?}");
    for v in &personal {
        assert!(!html.contains(v.as_str()), "report.html shows {v}");
        for (name, sheet) in &sheets {
            for cell in sheet.iter().flatten() {
                assert!(!cell.contains(v.as_str()), "{name} shows {v} in {cell}");
            }
        }
    }
    assert!(html.contains("<span id=\"count\">共 20 条</span>"));

    // The summary: totals both ways and the input accounting.
    let summary = &sheets["汇总"];
    let header = summary
        .iter()
        .find(|r| r.first().is_some_and(|c| c == "规则"))
        .unwrap();
    assert_eq!(&header[..3], ["规则", "名称", "类别"]);
    assert_eq!(header.last().unwrap(), "合计");
    let total_row = summary
        .iter()
        .find(|r| r.first().is_some_and(|c| c == "合计"))
        .unwrap();
    assert_eq!(
        total_row[header.len() - 1],
        found.len().to_string(),
        "grand total"
    );
    let cb01 = summary.iter().find(|r| r[0] == "CB01").unwrap();
    assert_eq!(&cb01[1..3], ["收入超标", "错保"]);
    assert!(
        summary
            .iter()
            .any(|r| r[0] == "核对基准日" && r[1] == "2025-11-30")
    );
    assert!(
        summary
            .iter()
            .any(|r| r[0] == "roster" && r[1] == "roster_202511.xlsx")
    );

    // The 核查结论 drop-down on every findings sheet, the header frozen, a
    // filter; the creation time is the as-of date.
    for i in 2..=names.len() {
        let xml = zip_entry(&xlsx, &format!("xl/worksheets/sheet{i}.xml"));
        assert!(
            xml.contains("<dataValidation type=\"list\"")
                && xml.contains("<formula1>\"属实,不属实,已整改,待核查\"</formula1>"),
            "sheet{i}: {xml}"
        );
        assert!(
            xml.contains("<pane ySplit=\"1\" topLeftCell=\"A2\""),
            "sheet{i}"
        );
        assert!(xml.contains("<autoFilter ref=\"A1:O"), "sheet{i}");
    }
    // The summary's counts are numbers, not text Excel flags as such
    // (helper-128's audit): 本次发现 on row 4.
    let summary_xml = zip_entry(&xlsx, "xl/worksheets/sheet1.xml");
    assert!(
        summary_xml.contains(&format!("<c r=\"B4\"><v>{}</v></c>", found.len())),
        "{summary_xml}"
    );
    // Its first three columns (规则, 名称, 类别) frozen beside the townships.
    assert!(
        summary_xml.contains("<pane xSplit=\"3\" topLeftCell=\"D1\""),
        "{summary_xml}"
    );
    let core = zip_entry(&xlsx, "docProps/core.xml");
    assert!(
        core.contains("<dcterms:created xsi:type=\"dcterms:W3CDTF\">2025-11-30T00:00:00Z"),
        "{core}"
    );

    // `hedui report` renders the same bytes from the machine files.
    let again = dir.path().join("again");
    std::fs::create_dir(&again).unwrap();
    for f in ["findings.csv", "manifest.json"] {
        std::fs::copy(out.join(f), again.join(f)).unwrap();
    }
    let o = hedui(&["report", "--out", again.to_str().unwrap()]);
    assert_ok(&o);
    // The copy has no case ledger beside it: said so, not refused.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("中没有案件台账，报告不含核查结论"), "{err}");
    for f in ["report.xlsx", "report.html"] {
        assert!(
            std::fs::read(out.join(f)).unwrap() == std::fs::read(again.join(f)).unwrap(),
            "hedui report renders {f} differently"
        );
        assert_eq!(mode(&again.join(f)), 0o600, "{f}");
    }
}

#[test]
fn unmasked_reports_show_ids_and_names_in_full_and_the_manifest_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_sample(&out, "2", &["--unmasked"]);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["masked"], false);
    let (names, sheets) = read_xlsx(&out.join("report.xlsx"));
    assert_eq!(names, SAMPLE_SHEETS);
    let rows = rows_by_id(&sheets);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for f in findings(&out) {
        let (_, row) = &rows[&f["finding_id"]];
        assert_eq!(row[5], f["id_number"]);
        assert_eq!(row[6], f["name"]);
        assert_eq!(row[9], f["evidence"]);
        assert!(html.contains(&f["name"]), "{}", f["name"]);
        if !f["id_number"].is_empty() {
            assert!(html.contains(&f["id_number"]));
        }
    }

    // Re-rendered masked from the same folder, the full values are gone.
    assert_ok(&hedui(&["report", "--out", out.to_str().unwrap()]));
    let (_, sheets) = read_xlsx(&out.join("report.xlsx"));
    let rows = rows_by_id(&sheets);
    for f in findings(&out) {
        let (_, row) = &rows[&f["finding_id"]];
        if !f["id_number"].is_empty() {
            assert_ne!(row[5], f["id_number"]);
            assert!(row[5].contains("********"));
        }
        assert_ne!(row[6], f["name"]);
    }
}

/// Runs the batch in `input` with the sample's config into `dir`/out,
/// which it returns.
fn run_sample_batch(input: &Path, dir: &Path) -> PathBuf {
    let out = dir.join("out");
    let config = root().join("fixtures/sample.toml");
    assert_ok(&run_batch(input, &out, Some(&config), "2", &[]));
    out
}

#[test]
fn report_of_a_folder_without_findings_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = hedui(&["report", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("manifest.json"));
}

/// A findings.csv saved again by Excel, its ID numbers turned into
/// scientific notation, is refused (exit 4, the row named, the value not
/// shown); without the CSV the report reads findings.parquet.
#[test]
fn report_refuses_a_findings_csv_whose_ids_excel_destroyed() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    let out = run_sample_batch(&input, dir.path());
    let csv = out.join("findings.csv");
    // Every ID number as Excel shows it: 1.10105E+17.
    let text = std::fs::read(&csv).unwrap();
    let mut reader = csv::Reader::from_reader(&text[3..]);
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(reader.headers().unwrap()).unwrap();
    let mut first = None;
    for (n, record) in reader.records().enumerate() {
        let record = record.unwrap();
        let id = &record[5];
        let id = if id.is_empty() {
            id.to_string()
        } else {
            // The spreadsheet's row: the header is row 1.
            first.get_or_insert(n + 2);
            format!("{}.{}E+17", &id[..1], &id[1..6])
        };
        let mut fields: Vec<String> = record.iter().map(str::to_string).collect();
        fields[5] = id;
        writer.write_record(&fields).unwrap();
    }
    let mangled = writer.into_inner().unwrap();
    let first = first.expect("the sample has findings about persons");
    std::fs::write(&csv, mangled).unwrap();
    let o = hedui(&["report", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("科学计数法"), "{err}");
    assert!(err.contains(&format!("第 {first} 行")), "{err}");
    // The English half names the file too.
    assert!(err.contains(&format!("findings.csv row {first}:")), "{err}");
    std::fs::remove_file(&csv).unwrap();
    let o = hedui(&["report", "--out", out.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A findings.csv that Excel on Chinese Windows saved again (GBK, CRLF) is
/// refused with the line that is not UTF-8 and what to do, in Chinese.
#[test]
fn report_refuses_a_findings_csv_saved_again_as_gbk() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    let out = run_sample_batch(&input, dir.path());
    let csv = out.join("findings.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let text = text.trim_start_matches('\u{feff}').replace('\n', "\r\n");
    std::fs::write(&csv, encoding_rs::GB18030.encode(&text).0).unwrap();
    let o = hedui(&["report", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    // The header is all ASCII; the first finding's kind (错保) is not.
    assert!(err.contains("第 2 行不是 UTF-8 编码"), "{err}");
    assert!(err.contains("findings.parquet"), "{err}");
}

/// The raw ID numbers that DQ01 and DQ04 quote are whole in findings.csv
/// (a machine file) and masked in both reports however they were typed:
/// full-width and spaced, hyphenated, holding the closing quote `」`, in
/// scientific notation with a decimal comma. None of them has a birth date
/// (1977-07-07) that the sample has elsewhere.
#[test]
fn raw_ids_quoted_in_evidence_are_whole_in_findings_and_masked_in_reports() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    let raws = [
        ("DQ01", "１１０１０５ １９７７０７０７ ２３４３"),
        ("DQ01", "110105-19770707-2344"),
        ("DQ01", "110105」197707072345"),
        ("DQ04", "1,10105197707072E+17"),
    ];
    let path = input.join("unemployment_202511.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (_, raw) in raws {
        text.push_str(&format!("钱多多,\"{raw}\",2024-01-15,失业\n"));
    }
    std::fs::write(&path, text).unwrap();
    let out = run_sample_batch(&input, dir.path());

    let found = findings(&out);
    for (rule, raw) in raws {
        let quoted = format!("「{}」", raw.replace('」', "」」"));
        assert!(
            found
                .iter()
                .any(|f| f["rule"] == rule && f["evidence"].contains(&quoted)),
            "{rule} quoting {raw} in findings.csv"
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let (_, sheets) = read_xlsx(&out.join("report.xlsx"));
    let cells: Vec<&String> = sheets.values().flatten().flatten().collect();
    for fragment in ["1977070", "１９７７０７０"] {
        assert!(!html.contains(fragment), "report.html shows {fragment}");
        for cell in &cells {
            assert!(
                !cell.contains(fragment),
                "report.xlsx shows {fragment} in {cell}"
            );
        }
    }
    // The masked quotes are there.
    assert!(html.contains("「110105**********2344」"), "{html}");
}
