//! End-to-end: the case ledger and nightly operation through the binary —
//! case statuses across runs, the review loop through a report workbook,
//! disappeared cases, the volume gate, the run lock, and `hedui cases`.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::Digest as _;

mod common;
use common::{assert_ok, copy_sample, hedui};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A working folder: `batch/` (a copy of the sample batch to modify),
/// `out/`, and the default state folder `hedui-state/` beside it; runs are
/// of the night 2025-11-30 until [`Site::on_night`] says otherwise.
struct Site {
    _dir: tempfile::TempDir,
    batch: PathBuf,
    out: PathBuf,
    state: PathBuf,
    night: std::cell::Cell<&'static str>,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let batch = dir.path().join("batch");
        std::fs::create_dir(&batch).unwrap();
        copy_sample(&batch);
        Site {
            out: dir.path().join("out"),
            state: dir.path().join("hedui-state"),
            batch,
            _dir: dir,
            night: std::cell::Cell::new("2025-11-30"),
        }
    }

    /// Later runs are of `night` (their `--as-of`).
    fn on_night(&self, night: &'static str) {
        self.night.set(night);
    }

    fn run_args(&self) -> Vec<String> {
        let config = root().join("fixtures/sample.toml");
        [
            "run",
            "--input",
            self.batch.to_str().unwrap(),
            "--out",
            self.out.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--as-of",
            self.night.get(),
            "--threads",
            "2",
        ]
        .map(String::from)
        .to_vec()
    }

    fn run_with(&self, extra: &[&str]) -> Output {
        let mut args = self.run_args();
        args.extend(extra.iter().map(|a| a.to_string()));
        hedui(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn run(&self) -> Output {
        self.run_with(&[])
    }

    /// finding_id → (rule, case_status) of findings.csv.
    fn statuses(&self) -> BTreeMap<String, (String, String)> {
        let mut r = csv::Reader::from_path(self.out.join("findings.csv")).unwrap();
        r.records()
            .map(|rec| {
                let rec = rec.unwrap();
                (
                    rec[0].trim_start_matches('\u{feff}').to_string(),
                    (rec[1].to_string(), rec[12].to_string()),
                )
            })
            .collect()
    }

    /// The sources of a finding, from findings.csv.
    fn sources_of(&self, finding_id: &str) -> String {
        let mut r = csv::Reader::from_path(self.out.join("findings.csv")).unwrap();
        r.records()
            .map(Result::unwrap)
            .find(|rec| rec[0].trim_start_matches('\u{feff}') == finding_id)
            .map(|rec| rec[10].to_string())
            .unwrap_or_else(|| panic!("no finding {finding_id}"))
    }

    /// The finding_id of the only finding of a rule.
    fn id_of(&self, rule: &str) -> String {
        let ids: Vec<String> = self
            .statuses()
            .into_iter()
            .filter(|(_, (r, _))| r == rule)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids.len(), 1, "{rule}: {ids:?}");
        ids[0].clone()
    }

    fn manifest(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.out.join("manifest.json")).unwrap())
            .unwrap()
    }

    fn cases(&self, args: &[&str]) -> String {
        let mut all = vec!["cases", "--out", self.out.to_str().unwrap()];
        all.extend_from_slice(args);
        let o = hedui(&all);
        assert_ok(&o);
        String::from_utf8(o.stdout).unwrap()
    }

    fn import(&self, report: &Path) -> Output {
        hedui(&["review", "import", report.to_str().unwrap()])
    }

    /// A report workbook in the output folder with one sheet per entry:
    /// its name and rows of (finding_id, verdict, note). Columns are in a
    /// different order than the importer's names, with others around them,
    /// as in the real report.
    fn report(&self, sheets: &[(&str, &[ReviewRow])]) -> PathBuf {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let summary = wb.add_worksheet();
        summary.set_name("汇总").unwrap();
        summary.write_string(0, 0, "规则").unwrap();
        for (name, rows) in sheets {
            let ws = wb.add_worksheet();
            ws.set_name(*name).unwrap();
            for (col, h) in ["序号", "核查结论", "姓名", "finding_id", "备注"]
                .iter()
                .enumerate()
            {
                ws.write_string(0, col as u16, *h).unwrap();
            }
            for (i, (id, verdict, note)) in rows.iter().enumerate() {
                let row = i as u32 + 1;
                ws.write_number(row, 0, f64::from(row)).unwrap();
                ws.write_string(row, 1, *verdict).unwrap();
                ws.write_string(row, 2, "张*").unwrap();
                ws.write_string(row, 3, *id).unwrap();
                ws.write_string(row, 4, *note).unwrap();
            }
        }
        let path = self.out.join("report.xlsx");
        wb.save(&path).unwrap();
        path
    }
}

/// One report row a reviewer filled in: finding_id, 核查结论, 备注.
type ReviewRow<'a> = (&'a str, &'a str, &'a str);

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn first_run_is_all_new_a_next_night_s_all_persisting_and_the_ledger_is_private() {
    let site = Site::new();
    assert_ok(&site.run());
    let first = site.statuses();
    assert!(first.len() > 10);
    assert!(first.values().all(|(_, s)| s == "新增"), "{first:?}");
    assert_eq!(site.manifest()["cases"]["new"], first.len());
    let outputs = [
        "findings.csv",
        "findings.parquet",
        "report.xlsx",
        "report.html",
        "links.csv",
        "links.parquet",
        "rejects.csv",
    ];
    let read = |f: &str| std::fs::read(site.out.join(f)).unwrap();
    let first_outputs = outputs.map(read);

    // The same night again (a rerun, at another thread count): the cases
    // are still the night's new ones, and the outputs are the same bytes
    // (spec/outputs.md: the same inputs, config and as-of date).
    let mut args = site.run_args();
    let at = args.iter().position(|a| a == "--threads").unwrap();
    args[at + 1] = "1".into();
    assert_ok(&hedui(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    assert_eq!(outputs.map(read), first_outputs, "a rerun of the night");
    assert_eq!(site.manifest()["cases"]["new"], first.len());
    assert_eq!(site.manifest()["cases"]["persisting"], 0);

    site.on_night("2025-12-01");
    assert_ok(&site.run());
    let second = site.statuses();
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    assert!(second.values().all(|(_, s)| s == "持续"), "{second:?}");
    let cases = &site.manifest()["cases"];
    assert_eq!(cases["new"], 0);
    assert_eq!(cases["persisting"], second.len());
    assert_eq!(cases["disappeared"], 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["ledger.sqlite", "hedui.lock"] {
            let mode = std::fs::metadata(site.state.join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }
}

#[test]
fn verdicts_round_trip_through_the_report_and_a_changed_case_is_raised_again() {
    let site = Site::new();
    assert_ok(&site.run());
    let (cb01, cb02, cb04) = (site.id_of("CB01"), site.id_of("CB02"), site.id_of("CB04"));
    let dy01 = site.id_of("DY01");
    let report = site.report(&[
        (
            "CB01 收入超标",
            &[(&cb01, "属实", "已入户核实"), ("", "", "")],
        ),
        ("CB02 房产超标", &[(&cb02, "不属实", "房产已过户")]),
        ("CB04 死亡仍在册", &[(&cb04, "不属实", "")]),
        ("DY01 未参保", &[(&dy01, "", "下周回访")]),
    ]);
    let o = site.import(&report);
    assert_ok(&o);
    let summary = String::from_utf8(o.stdout).unwrap();
    assert!(summary.contains("verdicts set:     3"), "{summary}");
    assert!(summary.contains("notes changed:    3"), "{summary}");

    // The next night's run on the same batch: verdicts appended, 不属实
    // dismissed.
    site.on_night("2025-12-01");
    assert_ok(&site.run());
    let s = site.statuses();
    assert_eq!(s[&cb01].1, "持续/属实");
    assert_eq!(s[&cb02].1, "已核销/不属实");
    assert_eq!(s[&cb04].1, "已核销/不属实");
    assert_eq!(s[&dy01].1, "持续", "a note alone gives no verdict");
    assert_eq!(site.manifest()["cases"]["dismissed"], 2);

    // The enrollment extract arrives under next month's name with the same
    // rows: CB04's source rows are named anew, its evidence is the same,
    // so it stays dismissed.
    std::fs::rename(
        site.batch.join("medical_enrollment_202511.csv"),
        site.batch.join("medical_enrollment_202512.csv"),
    )
    .unwrap();
    assert_ok(&site.run());
    let sources = site.sources_of(&cb04);
    assert!(
        sources.contains("medical_enrollment_202512.csv"),
        "{sources}"
    );
    assert_eq!(site.statuses()[&cb04].1, "已核销/不属实");

    // 张伟 gains a property: CB02's source rows change, so it is raised
    // again; CB04's rows are unchanged and it stays dismissed.
    let mut f = OpenOptions::new()
        .append(true)
        .open(site.batch.join("property_202511.csv"))
        .unwrap();
    writeln!(
        f,
        "张伟,341122198001011238,341122001001GB00009F00010001,城关镇西街9号,商业,30,2020-01-01,现势"
    )
    .unwrap();
    drop(f);
    assert_ok(&site.run());
    let s = site.statuses();
    assert_eq!(s[&cb01].1, "持续/属实");
    assert_eq!(s[&cb02].1, "持续/不属实/来源已变");
    assert_eq!(s[&cb04].1, "已核销/不属实");

    let listed = site.cases(&["--verdict", "不属实", "--format", "csv"]);
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(listed.contains(&cb02) && listed.contains(&cb04));

    // Clearing a verdict (the cell left empty) reopens the case.
    let report = site.report(&[("CB04 死亡仍在册", &[(&cb04, "", "")])]);
    let o = site.import(&report);
    assert_ok(&o);
    assert!(
        String::from_utf8(o.stdout)
            .unwrap()
            .contains("verdicts cleared: 1")
    );
    assert_ok(&site.run());
    assert_eq!(site.statuses()[&cb04].1, "持续");
}

#[test]
fn the_verdict_log_says_who_changed_what_when_and_from_which_workbook() {
    let site = Site::new();
    assert_ok(&site.run());
    let cb01 = site.id_of("CB01");
    let name = {
        let mut r = csv::Reader::from_path(site.out.join("findings.csv")).unwrap();
        r.records()
            .map(Result::unwrap)
            .find(|rec| rec[0].trim_start_matches('\u{feff}') == cb01)
            .map(|rec| rec[6].to_string())
            .unwrap()
    };
    let import_as = |user: &str, report: &Path, extra: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_hedui"))
            .args(["review", "import", report.to_str().unwrap()])
            .args(extra)
            .env("RUST_LOG", "warn")
            .env("USER", user)
            .output()
            .unwrap();
        assert_ok(&o);
    };
    let first_note = format!("已入户核实{name}");
    let report = site.report(&[("CB01 收入超标", &[(&cb01, "属实", &first_note)])]);
    let first_sha = hex::encode(sha2::Sha256::digest(std::fs::read(&report).unwrap()));
    import_as("clerk", &report, &["--reviewer", " 城关镇 李四 "]);
    let report = site.report(&[("CB01 收入超标", &[(&cb01, "不属实", "收入已下降")])]);
    import_as("auditor", &report, &[]);
    // Imported again unchanged: nothing to enter.
    import_as("auditor", &report, &[]);

    let log = site.cases(&["--history", "--format", "csv", "--unmasked"]);
    let mut r = csv::Reader::from_reader(log.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<BTreeMap<String, String>> = r
        .records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 2, "{log}");
    let (first, second) = (&rows[0], &rows[1]);
    for (key, want) in [
        ("recorded_by", "clerk"),
        ("reviewer", "城关镇 李四"),
        ("finding_id", cb01.as_str()),
        ("rule", "CB01"),
        ("verdict_before", ""),
        ("verdict", "属实"),
        ("note_before", ""),
        ("note", first_note.as_str()),
        ("workbook", "report.xlsx"),
        ("cell", "CB01 收入超标!D2"),
        ("workbook_sha256", first_sha.as_str()),
    ] {
        assert_eq!(first[key], want, "{key}: {log}");
    }
    assert!(first["evidence"].contains("人均月收入"), "{log}");
    for (key, want) in [
        ("recorded_by", "auditor"),
        ("reviewer", ""),
        ("verdict_before", "属实"),
        ("verdict", "不属实"),
        ("note_before", first_note.as_str()),
        ("note", "收入已下降"),
    ] {
        assert_eq!(second[key], want, "{key}: {log}");
    }
    for row in &rows {
        chrono::DateTime::parse_from_rfc3339(&row["recorded_at"])
            .unwrap_or_else(|e| panic!("{}: {e}", row["recorded_at"]));
    }
    assert!(first["recorded_at"] <= second["recorded_at"]);

    // Masked, the note does not name the person; the case list says who
    // set the verdict last and when.
    let masked = site.cases(&["--history"]);
    assert!(
        !masked.contains(&name) && masked.contains("已入户核实"),
        "{masked}"
    );
    assert!(masked.ends_with("2 条记录 entries\n"), "{masked}");
    let listed = site.cases(&["--finding-id", &cb01.to_uppercase(), "--format", "csv"]);
    let mut r = csv::Reader::from_reader(listed.as_bytes());
    let header = r.headers().unwrap().clone();
    let rec = r.records().next().unwrap().unwrap();
    let at = |h: &str| &rec[header.iter().position(|x| x == h).unwrap()];
    assert_eq!(at("verdict_by"), "auditor", "{listed}");
    assert_eq!(at("verdict_at"), second["recorded_at"], "{listed}");
    assert_eq!(listed.lines().count(), 2, "{listed}");

    // A blank reviewer is refused before anything is read, and so is one
    // a spreadsheet would run as a formula.
    for (bad, says) in [(" ", "核查人不能为空"), ("=HYPERLINK(1)", "不能以")] {
        let o = hedui(&[
            "review",
            "import",
            report.to_str().unwrap(),
            "--reviewer",
            bad,
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
    }

    // One case on two sheets, changed on the second only (the first as the
    // workbook was made, its hidden columns say): the log names the row
    // the change came from. A workbook named after a person is masked.
    let mut wb = rust_xlsxwriter::Workbook::new();
    for (sheet, verdict) in [("CB01 收入超标", "不属实"), ("CB01 收入超标 (2)", "属实")]
    {
        let ws = wb.add_worksheet();
        ws.set_name(sheet).unwrap();
        for (col, h) in ["finding_id", "核查结论", "备注", "原核查结论", "原备注"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, col as u16, *h).unwrap();
        }
        for (col, v) in [cb01.as_str(), verdict, "收入已下降", "不属实", "收入已下降"]
            .iter()
            .enumerate()
        {
            ws.write_string(1, col as u16, *v).unwrap();
        }
    }
    let named = site.out.join("张三户.xlsx");
    wb.save(&named).unwrap();
    import_as("auditor", &named, &[]);
    let log = site.cases(&["--history", "--format", "csv", "--unmasked"]);
    assert!(
        log.lines()
            .last()
            .unwrap()
            .contains(",不属实,属实,收入已下降,收入已下降,张三户.xlsx,CB01 收入超标 (2)!A2,"),
        "{log}"
    );
    let masked = site.cases(&["--history", "--format", "csv"]);
    assert!(
        !masked.contains("张三户") && masked.contains("张*户.xlsx"),
        "{masked}"
    );
}

#[test]
fn a_bad_cell_imports_nothing_and_names_the_cell() {
    let site = Site::new();
    assert_ok(&site.run());
    let (cb01, cb02) = (site.id_of("CB01"), site.id_of("CB02"));
    let ledger = site.state.join("ledger.sqlite");
    let before = std::fs::read(&ledger).unwrap();
    let long_note = "很".repeat(501);
    let report = site.report(&[
        (
            "CB01 收入超标",
            &[(&cb01, "属实", "good cell"), (&cb02, "是的", "")],
        ),
        (
            "CB02 房产超标",
            &[
                ("ffffffffffffffff", "属实", ""),
                (&cb02, "", &long_note),
                ("34112219780312562X", "属实", ""),
                ("王小明", "", ""),
            ],
        ),
        // A sheet named after a household is named masked.
        ("司马懿德户", &[("fffffffffffffffe", "属实", "")]),
    ]);
    let o = site.import(&report);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("司**德户!D2"), "{err}");
    assert!(!err.contains("司马懿德"), "{err}");
    assert!(
        err.contains("6 处错误") && err.contains("nothing imported"),
        "{err}"
    );
    assert!(err.contains("CB01 收入超标!B3：核查结论只能是"), "{err}");
    assert!(
        err.contains("CB02 房产超标!D2") && err.contains("not in the case ledger"),
        "{err}"
    );
    assert!(
        err.contains("CB02 房产超标!E3") && err.contains("501"),
        "{err}"
    );
    assert!(
        err.contains("CB02 房产超标!D4") && err.contains("not a finding_id"),
        "{err}"
    );
    assert!(err.contains("CB02 房产超标!D5"), "{err}");
    assert!(!err.contains("341122"), "no ID numbers in messages: {err}");
    assert!(!err.contains("王小明"), "no names in messages: {err}");
    assert_eq!(std::fs::read(&ledger).unwrap(), before, "ledger unchanged");
    // Not even the good cell's verdict.
    site.on_night("2025-12-01");
    assert_ok(&site.run());
    assert_eq!(site.statuses()[&cb01].1, "持续");
}

/// A sheet of findings whose header row a reviewer changed (核查结论
/// renamed) was passed over and its verdicts lost, exit 0: the import is
/// refused, naming the sheet and the missing header.
/// Another county's workbook (none of its finding_ids in this ledger):
/// said so in a line of its own, and its bad cells listed up to fifty, the
/// rest counted (helper-128's audit: a line for each of them, no more).
#[test]
fn a_workbook_of_another_ledger_is_named_as_such_and_its_list_capped() {
    let site = Site::new();
    assert_ok(&site.run());
    let ids: Vec<String> = (0..60)
        .map(|i| format!("{:016x}", 0xabc0_0000_u64 + i))
        .collect();
    let rows: Vec<ReviewRow> = ids.iter().map(|id| (id.as_str(), "属实", "")).collect();
    let report = site.report(&[("CB01 收入超标", &rows)]);
    let o = site.import(&report);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("60 处错误，未导入任何结论"), "{err}");
    assert!(
        err.contains("此工作簿的 finding_id 都不在本台账中"),
        "{err}"
    );
    assert_eq!(err.matches("台账中没有 finding_id").count(), 50, "{err}");
    assert!(err.contains("另有 10 处错误未列出"), "{err}");
}

/// A workbook path mistyped, a folder, or a file that is no workbook is
/// named as such, not taken for a missing ledger.
#[test]
fn a_workbook_path_that_is_no_workbook_is_named_as_such() {
    let site = Site::new();
    for (path, fragment) in [
        (
            site.out.join("nosuch.xlsx"),
            "无法读取工作簿（文件或目录不存在）",
        ),
        (site.batch.clone(), "不是文件"),
        (site.batch.join("property_202511.csv"), "不是 xlsx 工作簿"),
    ] {
        let o = site.import(&path);
        assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(fragment), "{err}");
        assert!(!err.contains("台账"), "{err}");
    }
}

#[test]
fn a_sheet_with_a_changed_header_row_imports_nothing() {
    let site = Site::new();
    assert_ok(&site.run());
    let cb01 = site.id_of("CB01");
    let ledger = site.state.join("ledger.sqlite");
    let before = std::fs::read(&ledger).unwrap();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("CB01 收入超标").unwrap();
    for (col, h) in ["finding_id", "结论", "备注"].iter().enumerate() {
        ws.write_string(0, col as u16, *h).unwrap();
    }
    for (col, v) in [cb01.as_str(), "属实", ""].iter().enumerate() {
        ws.write_string(1, col as u16, *v).unwrap();
    }
    let path = site.out.join("report.xlsx");
    wb.save(&path).unwrap();
    let o = site.import(&path);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("工作表 CB01 收入超标") && err.contains("缺少表头 核查结论"),
        "{err}"
    );
    assert_eq!(std::fs::read(&ledger).unwrap(), before, "ledger unchanged");
}

#[test]
fn a_case_no_longer_raised_is_reported_disappeared() {
    let site = Site::new();
    assert_ok(&site.run());
    let lb04 = site.id_of("LB04");
    // 刘强 found work: LB04 no longer fires (the file keeps its row count).
    let path = site.batch.join("unemployment_202511.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let changed = text.replace("2023-05-10,失业", "2023-05-10,已就业");
    assert_ne!(text, changed);
    std::fs::write(&path, changed).unwrap();
    assert_ok(&site.run());
    assert!(!site.statuses().contains_key(&lb04));
    assert_eq!(site.manifest()["cases"]["disappeared"], 1);
    let gone = site.cases(&["--status", "已消失", "--format", "csv"]);
    let lines: Vec<&str> = gone.lines().collect();
    assert_eq!(lines.len(), 2, "{gone}");
    assert!(
        lines[1].starts_with(&format!("{lb04},LB04,已消失,已消失,")),
        "{gone}"
    );
    // `hedui report` renders the run's reports again, 已消失 sheet included.
    let reports = ["report.xlsx", "report.html"].map(|f| std::fs::read(site.out.join(f)).unwrap());
    assert_ok(&hedui(&["report", "--out", site.out.to_str().unwrap()]));
    for (f, before) in ["report.xlsx", "report.html"].iter().zip(&reports) {
        assert!(
            std::fs::read(site.out.join(f)).unwrap() == *before,
            "hedui report renders {f} differently"
        );
    }
    // The same night again: the night's outputs again, the case reported
    // gone again.
    let findings = std::fs::read(site.out.join("findings.csv")).unwrap();
    assert_ok(&site.run());
    assert_eq!(site.manifest()["cases"]["disappeared"], 1);
    assert_eq!(
        std::fs::read(site.out.join("findings.csv")).unwrap(),
        findings
    );
    for (f, before) in ["report.xlsx", "report.html"].iter().zip(&reports) {
        assert!(
            std::fs::read(site.out.join(f)).unwrap() == *before,
            "a rerun of the night renders {f} differently"
        );
    }
    // Reported once: the next night's run without it has nothing newly
    // gone.
    site.on_night("2025-12-01");
    assert_ok(&site.run());
    assert_eq!(site.manifest()["cases"]["disappeared"], 0);
    // `hedui cases` tells the night it was found gone; raised again, the
    // case has none.
    let gone_on = |site: &Site| {
        let listed = site.cases(&["--finding-id", &lb04, "--format", "csv"]);
        let mut r = csv::Reader::from_reader(listed.as_bytes());
        let at = r.headers().unwrap().iter().position(|h| h == "gone_on");
        let record = r.records().next().expect("the case").unwrap();
        (
            record[2].to_string(),
            record[at.expect("a gone_on column")].to_string(),
        )
    };
    assert_eq!(gone_on(&site), ("已消失".into(), "2025-11-30".into()));
    std::fs::write(&path, text).unwrap();
    site.on_night("2025-12-02");
    assert_ok(&site.run());
    assert_eq!(gone_on(&site), ("持续".into(), String::new()));
}

/// A run that skips a rule for a missing optional extract did not look for
/// its cases: they stay open, not 已消失 (helper-128's audit: closed as
/// disappeared), and the next run with the extract finds them persisting.
#[test]
fn a_skipped_rule_s_open_cases_do_not_disappear() {
    let site = Site::new();
    assert_ok(&site.run());
    let lb04 = site.id_of("LB04");
    let file = site.batch.join("unemployment_202511.csv");
    let saved = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    let config = site.batch.parent().unwrap().join("optional.toml");
    std::fs::write(
        &config,
        "[input]\nmax_reject_rate = 0.50\noptional = [\"unemployment\"]\n",
    )
    .unwrap();
    let mut args = site.run_args();
    let at = args.iter().position(|a| a == "--config").unwrap();
    args[at + 1] = config.to_str().unwrap().to_string();
    args.push("--allow-shrink".into());
    assert_ok(&hedui(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    assert!(!site.statuses().contains_key(&lb04));
    assert_eq!(site.manifest()["cases"]["disappeared"], 0);
    std::fs::write(&file, saved).unwrap();
    site.on_night("2025-12-01");
    assert_ok(&site.run());
    assert_eq!(site.statuses()[&lb04].1, "持续");
    assert_eq!(site.manifest()["cases"]["disappeared"], 0);
}

/// A past night run again (an audit): its own outputs are that night's,
/// but the ledger keeps what the later night found — every case's
/// evidence, status and last_seen — and only moves first_seen back; a case
/// the past night did not raise has not disappeared.
#[test]
fn an_earlier_night_run_again_leaves_the_later_night_s_cases() {
    let site = Site::new();
    assert_ok(&site.run());
    let later = site.cases(&["--format", "csv", "--unmasked"]);
    assert!(later.lines().count() > 5, "{later}");
    let mut args = site.run_args();
    let at = args.iter().position(|a| a == "--as-of").unwrap();
    args[at + 1] = "2025-06-30".into();
    assert_ok(&hedui(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    assert_eq!(site.manifest()["cases"]["disappeared"], 0);
    // Not every case of the later night was raised on the earlier one.
    let earlier_ids: Vec<String> = site.statuses().into_keys().collect();
    let after = site.cases(&["--format", "csv", "--unmasked"]);
    let table = |text: &str| -> Vec<BTreeMap<String, String>> {
        let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let header = r.headers().unwrap().clone();
        r.records()
            .map(|rec| {
                let rec = rec.unwrap();
                header
                    .iter()
                    .map(String::from)
                    .zip(rec.iter().map(String::from))
                    .collect()
            })
            .collect()
    };
    let (later, after) = (table(&later), table(&after));
    assert_eq!(later.len(), after.len());
    let (mut moved, mut kept) = (0, 0);
    for (before, now) in later.iter().zip(&after) {
        let mut expected = before.clone();
        if earlier_ids.contains(&before["finding_id"]) {
            moved += 1;
            expected.insert("first_seen".into(), "2025-06-30".into());
        } else {
            kept += 1;
        }
        assert_eq!(now, &expected);
    }
    assert!(moved > 0 && kept > 0, "moved {moved}, kept {kept}");
}

/// An as-of date after today is run, with a warning: every night before
/// it would be a past night to the ledger.
#[test]
fn an_as_of_date_after_today_is_warned_of() {
    let site = Site::new();
    let mut args = site.run_args();
    let at = args.iter().position(|a| a == "--as-of").unwrap();
    args[at + 1] = "2999-12-31".into();
    let o = hedui(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_ok(&o);
    assert!(stderr(&o).contains("as-of 日期晚于今天"), "{}", stderr(&o));
    assert!(!stderr(&site.run()).contains("as-of 日期晚于今天"));
}

/// `hedui report` without --config renders from the ledger of the run's
/// own state folder (its manifest's config names it), not from an empty
/// one it would make beside the output.
#[test]
fn report_finds_the_run_s_state_folder_in_its_manifest() {
    let site = Site::new();
    let elsewhere = site.out.parent().unwrap().join("elsewhere");
    let config = site.out.parent().unwrap().join("site.toml");
    let sample = std::fs::read_to_string(root().join("fixtures/sample.toml")).unwrap();
    std::fs::write(
        &config,
        format!("state_dir = {:?}\n{sample}", elsewhere.to_str().unwrap()),
    )
    .unwrap();
    let run = |site: &Site| {
        let mut args = site.run_args();
        let at = args.iter().position(|a| a == "--config").unwrap();
        args[at + 1] = config.to_str().unwrap().to_string();
        hedui(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_ok(&run(&site));
    // LB04 no longer fires: the ledger knows a case disappeared.
    let path = site.batch.join("unemployment_202511.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("2023-05-10,失业", "2023-05-10,已就业")).unwrap();
    assert_ok(&run(&site));
    assert_eq!(site.manifest()["cases"]["disappeared"], 1);
    let reports = ["report.xlsx", "report.html"].map(|f| std::fs::read(site.out.join(f)).unwrap());
    assert_ok(&hedui(&["report", "--out", site.out.to_str().unwrap()]));
    assert!(
        !site.state.exists(),
        "no state folder made beside the output"
    );
    for (f, before) in ["report.xlsx", "report.html"].iter().zip(&reports) {
        assert!(
            std::fs::read(site.out.join(f)).unwrap() == *before,
            "hedui report renders {f} differently"
        );
    }
    // A state folder without the ledger (mistyped, moved) is refused: the
    // reports would lose every verdict (helper-128's audit: rendered so,
    // exit 0, the folder made).
    let typo = site.out.parent().unwrap().join("elsewhere-typo");
    let o = hedui(&[
        "report",
        "--out",
        site.out.to_str().unwrap(),
        "--state-dir",
        typo.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("中没有案件台账"), "{}", stderr(&o));
    assert!(!typo.exists(), "no folder made");
    for (f, before) in ["report.xlsx", "report.html"].iter().zip(&reports) {
        assert!(
            std::fs::read(site.out.join(f)).unwrap() == *before,
            "{f} untouched"
        );
    }
}

#[test]
fn a_shrunken_extract_stops_the_run_unless_allowed() {
    let site = Site::new();
    assert_ok(&site.run());
    let findings = std::fs::read(site.out.join("findings.csv")).unwrap();
    let manifest = std::fs::read(site.out.join("manifest.json")).unwrap();
    // Keep the header and two of the five property rows.
    let path = site.batch.join("property_202511.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text.lines().take(3).collect();
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();

    let o = site.run();
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("property：接收行数由上次的 5 降到 2（减少 60.0%，上限 30.0%）"),
        "{err}"
    );
    assert!(err.contains("--allow-shrink"), "{err}");
    assert_eq!(
        std::fs::read(site.out.join("findings.csv")).unwrap(),
        findings
    );
    assert_eq!(
        std::fs::read(site.out.join("manifest.json")).unwrap(),
        manifest
    );
    let unfinished: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(site.state.join("last-unfinished-run/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(unfinished["status"], "stopped");
    assert_eq!(unfinished["allow_shrink"], false);

    let o = site.run_with(&["--allow-shrink"]);
    assert_ok(&o);
    let m = site.manifest();
    assert_eq!(m["allow_shrink"], true);
    let problems = m["problems"].to_string();
    assert!(
        problems.contains("已用 --allow-shrink 放行") && !problems.contains("确认无误"),
        "{m}"
    );
    // The shrunken batch is the new baseline: the same batch runs again.
    assert_ok(&site.run());
}

/// Copies the tiny county's batch into `dir/county` and gives a runner of
/// it for a night, with the site's state folder.
fn tiny_county(site: &Site) -> (PathBuf, impl Fn(&str) -> Output + '_) {
    let county = site.out.parent().unwrap().join("county");
    std::fs::create_dir(&county).unwrap();
    for e in std::fs::read_dir(root().join("fixtures/tiny/input")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), county.join(e.file_name())).unwrap();
    }
    let input = county.clone();
    let run = move |night: &str| {
        let mut args = site.run_args();
        let at = args.iter().position(|a| a == "--input").unwrap();
        args[at + 1] = input.to_str().unwrap().into();
        let at = args.iter().position(|a| a == "--as-of").unwrap();
        args[at + 1] = night.into();
        hedui(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    (county, run)
}

/// A state folder given a batch of another place (a test batch run beside
/// the county's output, two counties sharing one folder): its roster
/// shares no one with the ledger's last run, so it is run as if there were
/// no ledger — its smaller extracts do not stop it, its cases are all new,
/// none of the ledger's disappears — and the county's ledger (of more than
/// one night) is left as it was: the county's next night is held to the
/// county's own volumes and sees none of the other batch's cases. The
/// manifest and the console say so.
#[test]
fn a_batch_of_another_place_leaves_the_ledger_as_it_was() {
    let site = Site::new();
    let (county, county_run) = tiny_county(&site);
    assert_ok(&county_run("2025-11-29"));
    assert_ok(&county_run("2025-11-30"));
    let county_cases = site.cases(&["--format", "csv", "--unmasked"]);
    assert!(county_cases.lines().count() > 20, "{county_cases}");
    let ledger = std::fs::read(site.state.join("ledger.sqlite")).unwrap();

    // The sample: far smaller, and of other people.
    let o = site.run();
    assert_ok(&o);
    let m = site.manifest();
    assert_eq!(m["status"], "ok");
    assert_eq!(m["cases"]["disappeared"], 0);
    assert_eq!(m["cases"]["persisting"], 0);
    assert!(
        m["problems"].to_string().contains("几乎没有相同的成员"),
        "{m}"
    );
    assert!(
        stderr(&o).contains("台账已记有 2 晚的运行"),
        "{}",
        stderr(&o)
    );
    assert!(site.statuses().values().all(|(_, s)| s == "新增"));
    // The reviewers are told too, on the report's page.
    let page = std::fs::read_to_string(site.out.join("report.html")).unwrap();
    assert!(page.contains("<h2>运行提示</h2>"), "the page's notes");
    assert!(page.contains("几乎没有相同的成员"), "the page says why");
    let visitor: Vec<String> = site.statuses().into_keys().collect();
    assert_eq!(
        std::fs::read(site.state.join("ledger.sqlite")).unwrap(),
        ledger,
        "the ledger is left as it was"
    );
    // Run again, the same outputs.
    let outputs = ["findings.csv", "report.xlsx", "report.html"];
    let read = |f: &str| std::fs::read(site.out.join(f)).unwrap();
    let first = outputs.map(read);
    assert_ok(&site.run());
    assert_eq!(outputs.map(read), first);

    // The county's next night: its own cases persist, the sample's never
    // were, and nothing is said.
    assert_ok(&county_run("2025-12-01"));
    let m = site.manifest();
    assert_eq!(m["cases"]["disappeared"], 0, "{m}");
    assert!(m["cases"]["persisting"].as_u64().unwrap() > 20, "{m}");
    assert!(!m["problems"].to_string().contains("几乎没有相同的成员"));
    let cases = site.cases(&["--format", "csv", "--unmasked"]);
    assert!(visitor.iter().all(|id| !cases.contains(id.as_str())));
    // Its gate still holds it to its own volumes: property cut short.
    let path = county.join("property_202511.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text.lines().take(5).collect();
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    let o = county_run("2025-12-02");
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("property：接收行数由上次的"),
        "{}",
        stderr(&o)
    );
}

/// A ledger of a single night is a trial's (a test batch run first with
/// the default state folder): the place's own batch, of other people, takes
/// it over — the old ledger is copied aside, owner-only, and the new one
/// holds the place's cases alone, which persist the next night.
#[test]
fn a_place_s_batch_takes_over_a_ledger_of_one_night() {
    let site = Site::new();
    let (_, trial) = tiny_county(&site);
    assert_ok(&trial("2025-11-30"));
    let trial_cases: Vec<String> = site.statuses().into_keys().collect();

    let o = site.run();
    assert_ok(&o);
    assert!(stderr(&o).contains("视为试运行"), "{}", stderr(&o));
    assert!(site.statuses().values().all(|(_, s)| s == "新增"));
    let aside = site.state.join("ledger-replaced-1.sqlite");
    assert!(aside.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&aside).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let cases = site.cases(&["--format", "csv", "--unmasked"]);
    assert_eq!(cases.lines().count(), site.statuses().len() + 1, "{cases}");
    assert!(trial_cases.iter().all(|id| !cases.contains(id.as_str())));

    site.on_night("2025-12-01");
    assert_ok(&site.run());
    let m = site.manifest();
    assert_eq!(m["cases"]["disappeared"], 0, "{m}");
    assert!(!m["problems"].to_string().contains("几乎没有相同的成员"));
    assert!(site.statuses().values().all(|(_, s)| s == "持续"));
}

#[test]
fn a_second_run_is_refused_while_the_lock_is_held() {
    let site = Site::new();
    assert_ok(&site.run());
    let manifest = std::fs::read(site.out.join("manifest.json")).unwrap();
    let ledger = std::fs::read(site.state.join("ledger.sqlite")).unwrap();
    let mut held = OpenOptions::new()
        .write(true)
        .open(site.state.join("hedui.lock"))
        .unwrap();
    held.try_lock().unwrap();
    held.set_len(0).unwrap();
    writeln!(held, "4242").unwrap();
    let o = site.run();
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("hedui.lock") && err.contains("pid 4242"),
        "{err}"
    );
    assert!(
        err.contains("另一个运行") && err.contains("another run"),
        "{err}"
    );
    // A refused run touches neither the output nor the ledger.
    assert_eq!(
        std::fs::read(site.out.join("manifest.json")).unwrap(),
        manifest
    );
    assert_eq!(
        std::fs::read(site.state.join("ledger.sqlite")).unwrap(),
        ledger
    );
    // The import takes the same lock.
    let o = hedui(&[
        "review",
        "import",
        site.out.join("report.xlsx").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    // So does `report`: a run swaps the output folder it would write into.
    let report = std::fs::read(site.out.join("report.xlsx")).unwrap();
    let o = hedui(&["report", "--out", site.out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert_eq!(std::fs::read(site.out.join("report.xlsx")).unwrap(), report);
    drop(held);
    assert_ok(&site.run());
    let o = hedui(&["report", "--out", site.out.to_str().unwrap()]);
    assert_ok(&o);
    // A run of another state folder into the same output folder is refused
    // too: the output folder has a lock of its own beside it.
    let held = OpenOptions::new()
        .write(true)
        .open(site.out.with_file_name(".out.lock"))
        .unwrap();
    held.try_lock().unwrap();
    let config = site.out.with_file_name("other.toml");
    let other = site.out.with_file_name("other-state");
    std::fs::write(
        &config,
        format!("state_dir = {:?}\n", other.to_str().unwrap()),
    )
    .unwrap();
    let manifest = std::fs::read(site.out.join("manifest.json")).unwrap();
    let mut args = site.run_args();
    let at = args.iter().position(|a| a == "--config").unwrap();
    args[at + 1] = config.to_str().unwrap().to_string();
    let o = hedui(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(stderr(&o).contains(".out.lock"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(site.out.join("manifest.json")).unwrap(),
        manifest
    );
    drop(held);
}

#[test]
fn cases_filters_and_masks() {
    let site = Site::new();
    assert_ok(&site.run());
    let table = site.cases(&["--rule", "DY02"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("finding_id"));
    assert!(
        table.contains("341122********1238") && table.contains("张*"),
        "{table}"
    );
    assert!(
        !table.contains("341122198001011238") && !table.contains("张伟"),
        "{table}"
    );
    assert_eq!(lines[3], "2 件 cases");

    let csv = site.cases(&["--township", "河西乡", "--format", "csv"]);
    assert!(csv.lines().count() > 2, "{csv}");
    assert!(csv.lines().skip(1).all(|l| l.contains(",河西乡,")), "{csv}");

    let unmasked = site.cases(&["--rule", "DY02", "--format", "csv", "--unmasked"]);
    assert!(unmasked.contains("341122198001011238,张伟"), "{unmasked}");
    assert!(
        unmasked
            .lines()
            .next()
            .unwrap()
            .ends_with("evidence,sources")
    );

    let none = site.cases(&["--status", "持续", "--format", "csv"]);
    assert_eq!(none.lines().count(), 1, "only the header: {none}");
    let no_verdict = site.cases(&["--verdict", "无", "--format", "csv"]);
    assert_eq!(
        no_verdict.lines().count(),
        site.statuses().len() + 1,
        "{no_verdict}"
    );
}

#[test]
fn a_killed_run_leaves_no_stale_lock() {
    let site = Site::new();
    assert_ok(&site.run());
    let findings = std::fs::read(site.out.join("findings.csv")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hedui"))
        .args(site.run_args())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the child holds the lock (its pid is in the file), then
    // SIGKILL it: no chance to clean up.
    let lock = site.state.join("hedui.lock");
    let pid = child.id().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::fs::read_to_string(&lock).unwrap_or_default().trim() != pid {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        std::fs::read(site.out.join("findings.csv")).unwrap(),
        findings
    );
    // The next run is not refused, and the ledger still serves it: the
    // night's cases are its new ones.
    assert_ok(&site.run());
    assert!(site.statuses().values().all(|(_, s)| s == "新增"));
    assert_eq!(
        std::fs::read(site.out.join("findings.csv")).unwrap(),
        findings
    );
}

/// Every sheet of a workbook as rows of cell text.
fn workbook_cells(path: &Path) -> Vec<(String, Vec<Vec<String>>)> {
    use calamine::{Reader, open_workbook_auto};
    let mut wb = open_workbook_auto(path).unwrap();
    let names = wb.sheet_names().to_vec();
    names
        .into_iter()
        .map(|name| {
            let range = wb.worksheet_range(&name).unwrap();
            let rows = range
                .rows()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect();
            (name, rows)
        })
        .collect()
}

/// The real report.xlsx, as a reviewer fills it in: every sheet copied
/// cell by cell, with 核查结论 / 备注 set on the rows of the given
/// finding_ids.
fn fill_report(report: &Path, verdicts: &[(&str, &str, &str)]) {
    edit_report(report, |_, header, row| {
        let col = |h: &str| header.iter().position(|c| c == h);
        if let (Some(id), Some(v), Some(n)) = (col("finding_id"), col("核查结论"), col("备注"))
            && let Some((_, verdict, note)) = verdicts
                .iter()
                .find(|(f, _, _)| row.get(id) == Some(&f.to_string()))
        {
            row.resize(row.len().max(v + 1).max(n + 1), String::new());
            row[v] = verdict.to_string();
            row[n] = note.to_string();
        }
    });
}

/// The real report.xlsx rewritten cell by cell, `edit` given each sheet's
/// name, its header row and each data row to change (a cell
/// `formula:…` written as a formula whose result `drop_formula_results`
/// can drop).
fn edit_report(report: &Path, edit: impl Fn(&str, &[String], &mut Vec<String>)) {
    let sheets = workbook_cells(report);
    let mut wb = rust_xlsxwriter::Workbook::new();
    for (name, rows) in &sheets {
        let ws = wb.add_worksheet();
        ws.set_name(name).unwrap();
        let header = rows.first().cloned().unwrap_or_default();
        for (r, row) in rows.iter().enumerate() {
            let mut row = row.clone();
            if r > 0 {
                edit(name, &header, &mut row);
            }
            for (c, cell) in row.iter().enumerate() {
                if let Some(formula) = cell.strip_prefix("formula:") {
                    // Its result dropped by `drop_formula_results`.
                    let formula = rust_xlsxwriter::Formula::new(formula).set_result(NO_RESULT);
                    ws.write_formula(r as u32, c as u16, formula).unwrap();
                } else if !cell.is_empty() {
                    ws.write_string(r as u32, c as u16, cell).unwrap();
                }
            }
        }
    }
    wb.save(report).unwrap();
}

/// A finding_id pasted into a row of another rule's case (helper-153's
/// audit: the row's verdict went to that case without a word), or a rule
/// cell typed over, imports nothing and names the cell; a rule cell left
/// as the report wrote it, or emptied, is no problem.
#[test]
fn a_finding_id_in_a_row_of_another_rule_imports_nothing() {
    let site = Site::new();
    assert_ok(&site.run());
    let (cb01, cb02) = (site.id_of("CB01"), site.id_of("CB02"));
    let ledger = site.state.join("ledger.sqlite");
    let before = std::fs::read(&ledger).unwrap();
    let col = |header: &[String], h: &str| header.iter().position(|c| c == h).unwrap();
    let report = site.out.join("report.xlsx");
    let pristine = std::fs::read(&report).unwrap();
    edit_report(&report, |sheet, header, row| {
        if sheet.starts_with("CB01") && row[col(header, "finding_id")] == cb01 {
            row[col(header, "finding_id")] = cb02.clone();
            row[col(header, "核查结论")] = "不属实".into();
        }
    });
    let o = site.import(&report);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "此行规则为 CB01，而 finding_id {cb02} 是 CB02 的案件"
        )),
        "{err}"
    );
    assert!(err.contains("CB01 收入超标!B2"), "{err}");
    assert_eq!(std::fs::read(&ledger).unwrap(), before, "ledger unchanged");

    std::fs::write(&report, &pristine).unwrap();
    edit_report(&report, |sheet, header, row| {
        if sheet.starts_with("CB01") && row[col(header, "finding_id")] == cb01 {
            row[col(header, "规则")] = "王小明".into();
            row[col(header, "核查结论")] = "属实".into();
        }
    });
    let err = stderr(&site.import(&report));
    assert!(err.contains("此行规则列不是规则代码"), "{err}");
    assert!(!err.contains("王小明"), "{err}");
    assert_eq!(std::fs::read(&ledger).unwrap(), before, "ledger unchanged");

    std::fs::write(&report, &pristine).unwrap();
    edit_report(&report, |sheet, header, row| {
        if sheet.starts_with("CB01") && row[col(header, "finding_id")] == cb01 {
            row[col(header, "规则")] = String::new();
            row[col(header, "核查结论")] = "属实".into();
        }
    });
    assert_ok(&site.import(&report));
}

/// What `fill_report` writes as a formula's result, for
/// `drop_formula_results` to find.
const NO_RESULT: &str = "HEDUI_NO_RESULT";

/// Rewrites a workbook so that its formulas have no stored result, as a
/// script such as openpyxl saves them (`<f>…</f><v/>`).
fn drop_formula_results(path: &Path) {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut parts = Vec::new();
    for i in 0..archive.len() {
        let mut part = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        part.read_to_end(&mut bytes).unwrap();
        let name = part.name().unwrap().to_string();
        if name.starts_with("xl/worksheets/") {
            let text = String::from_utf8(bytes).unwrap();
            bytes = text
                .replace(&format!("<v>{NO_RESULT}</v>"), "<v/>")
                .into_bytes();
        }
        parts.push((name, bytes));
    }
    let mut out = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in parts {
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap();
}

/// The finding_ids on a sheet of a workbook whose name starts with `prefix`,
/// with their 核查结论.
fn sheet_verdicts(report: &Path, prefix: &str) -> BTreeMap<String, String> {
    let sheets = workbook_cells(report);
    let (_, rows) = sheets
        .iter()
        .find(|(n, _)| n.starts_with(prefix))
        .unwrap_or_else(|| panic!("no sheet {prefix}"));
    let col = |h: &str| rows[0].iter().position(|c| c == h).unwrap();
    let (id, verdict) = (col("finding_id"), col("核查结论"));
    rows[1..]
        .iter()
        .map(|r| (r[id].clone(), r.get(verdict).cloned().unwrap_or_default()))
        .collect()
}

/// A verdict cell holding a formula saved without its result (as a script
/// such as openpyxl saves one) reads as empty: it is refused, naming the
/// cell, not taken as clearing the case's verdict (helper-128's audit).
#[test]
fn a_formula_without_its_result_is_refused_not_taken_as_empty() {
    let site = Site::new();
    assert_ok(&site.run());
    let cb01 = site.id_of("CB01");
    let report = site.out.join("report.xlsx");
    // Beside the output folder, where the import finds the state folder.
    let copies = site.out.parent().unwrap().join("copies");
    std::fs::create_dir(&copies).unwrap();
    let filled = copies.join("filled.xlsx");
    std::fs::copy(&report, &filled).unwrap();
    fill_report(&filled, &[(&cb01, "属实", "")]);
    assert_ok(&site.import(&filled));
    std::fs::copy(&report, &filled).unwrap();
    fill_report(&filled, &[(&cb01, "formula:=\"待核查\"", "")]);
    drop_formula_results(&filled);
    let o = site.import(&filled);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("是未保存结果的公式"), "{err}");
    assert!(
        err.contains("!N2") || err.contains("!M2") || err.contains("!O2"),
        "{err}"
    );
    let listed = site.cases(&["--rule", "CB01", "--format", "csv"]);
    assert!(listed.contains("属实"), "{listed}");
}

/// Two reviewers fill copies of one report: importing the second copy,
/// whose cells for the first's case are as the workbook was made, does not
/// clear what the first gave (it did: an empty cell cleared). Emptying a
/// verdict the workbook showed still clears it.
#[test]
fn a_copy_made_before_another_s_import_does_not_clear_its_verdicts() {
    let site = Site::new();
    assert_ok(&site.run());
    let (cb01, cb02) = (site.id_of("CB01"), site.id_of("CB02"));
    let report = site.out.join("report.xlsx");
    // Beside the output folder, where the import finds the state folder.
    let copies = site.out.parent().unwrap().join("copies");
    std::fs::create_dir(&copies).unwrap();
    let (a, b) = (copies.join("a.xlsx"), copies.join("b.xlsx"));
    std::fs::copy(&report, &a).unwrap();
    std::fs::copy(&report, &b).unwrap();
    fill_report(&a, &[(&cb01, "属实", "甲已核实")]);
    fill_report(&b, &[(&cb02, "不属实", "乙")]);
    assert_ok(&site.import(&a));
    let o = site.import(&b);
    assert_ok(&o);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("verdicts set:     1") && out.contains("verdicts cleared: 0"),
        "{out}"
    );
    assert_ok(&site.run());
    let s = site.statuses();
    assert_eq!(s[&cb01].1, "持续/属实");
    assert_eq!(s[&cb02].1, "已核销/不属实");
    assert!(site.cases(&["--format", "csv"]).contains("甲已核实"));
    // The new report shows CB01's verdict: emptied, it is cleared.
    let report = site.out.join("report.xlsx");
    fill_report(&report, &[(&cb01, "", "")]);
    let o = site.import(&report);
    assert_ok(&o);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("verdicts cleared: 1"), "{out}");
}

#[test]
fn the_run_s_own_report_round_trips_through_review_import() {
    let site = Site::new();
    assert_ok(&site.run());
    let (cb01, cb02) = (site.id_of("CB01"), site.id_of("CB02"));
    let report = site.out.join("report.xlsx");
    // A reviewer writes the person's ID number into a note.
    let cb01_id = {
        let mut r = csv::Reader::from_path(site.out.join("findings.csv")).unwrap();
        r.records()
            .map(Result::unwrap)
            .find(|rec| rec[0].trim_start_matches('\u{feff}') == cb01)
            .map(|rec| rec[5].to_string())
            .unwrap()
    };
    let cb01_note = format!("已入户核实 {cb01_id}");
    fill_report(
        &report,
        &[(&cb01, "属实", &cb01_note), (&cb02, "不属实", "已过户")],
    );
    let o = site.import(&report);
    assert_ok(&o);
    assert!(
        String::from_utf8(o.stdout)
            .unwrap()
            .contains("verdicts set:     2")
    );

    site.on_night("2025-12-01");
    assert_ok(&site.run());
    let s = site.statuses();
    assert_eq!(s[&cb01].1, "持续/属实");
    assert_eq!(s[&cb02].1, "已核销/不属实");
    assert!(
        s.iter()
            .filter(|(id, _)| **id != cb01 && **id != cb02)
            .all(|(_, (_, st))| st == "持续")
    );
    // The new report: CB01 on its rule sheet with its verdict pre-filled,
    // CB02 moved to 已核销, not raised on its rule sheet again.
    let report = site.out.join("report.xlsx");
    assert_eq!(sheet_verdicts(&report, "CB01")[&cb01], "属实");
    assert_eq!(sheet_verdicts(&report, "已核销")[&cb02], "不属实");
    assert!(
        workbook_cells(&report)
            .iter()
            .filter(|(n, _)| n.starts_with("CB02"))
            .all(|(_, rows)| rows.iter().all(|r| r.first() != Some(&cb02)))
    );
    // The masked report shows the note masked, and so does `cases`.
    let masked_note = format!("已入户核实 {}********{}", &cb01_id[..6], &cb01_id[14..]);
    let cells = workbook_cells(&report);
    let all_cells = || cells.iter().flat_map(|(_, rows)| rows.iter().flatten());
    assert!(all_cells().any(|c| *c == masked_note), "{masked_note}");
    assert!(!all_cells().any(|c| c.contains(&cb01_id)));
    assert!(!site.cases(&["--format", "csv"]).contains(&cb01_id));
    // Importing the new report unchanged changes nothing (the masked note
    // is not taken for a new one); `hedui report` re-renders it with the
    // verdicts still pre-filled.
    let o = site.import(&report);
    assert_ok(&o);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("verdicts set:     0"), "{out}");
    assert!(out.contains("notes changed:    0"), "{out}");
    assert!(
        site.cases(&["--unmasked", "--format", "csv"])
            .contains(&cb01_note)
    );
    assert_ok(&hedui(&["report", "--out", site.out.to_str().unwrap()]));
    assert_eq!(sheet_verdicts(&report, "CB01")[&cb01], "属实");
}
