//! End-to-end: `hedui run` on the bundled sample batch through the binary —
//! golden findings and links, byte-identical outputs at any thread count,
//! and the exit codes and untouched previous output of failed runs.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{assert_ok, sample_copy};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run_sample(out: &Path, threads: &str) -> Output {
    run_batch(&root().join("fixtures/sample"), out, threads)
}

fn run_batch(input: &Path, out: &Path, threads: &str) -> Output {
    let config = root().join("fixtures/sample.toml");
    common::run_batch(input, out, Some(&config), threads, &[])
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn sample_findings_and_links_match_golden() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_ok(&run_sample(&out, "2"));
    insta::assert_snapshot!("sample_findings", read(out.join("findings.csv")));
    insta::assert_snapshot!("sample_links", read(out.join("links.csv")));
}

#[test]
fn outputs_are_byte_identical_across_thread_counts_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    // Each run with its own state folder (hedui-state/ beside its output):
    // the case ledger is an input too, and a shared one would rightly turn
    // the second run's 新增 into 持续.
    let outs: Vec<PathBuf> = ["1", "2", "2"]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let out = dir.path().join(format!("run{i}")).join("out");
            let o = run_sample(&out, t);
            assert_ok(&o);
            out
        })
        .collect();
    for f in [
        "findings.csv",
        "findings.parquet",
        "links.csv",
        "links.parquet",
        "rejects.csv",
        "warnings.csv",
        "conflicts.csv",
    ] {
        let first = std::fs::read(outs[0].join(f)).unwrap();
        for other in &outs[1..] {
            assert!(
                first == std::fs::read(other.join(f)).unwrap(),
                "{f} differs"
            );
        }
    }
}

#[test]
fn manifest_accounts_and_counts_findings() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_sample(&out, "2");
    let m: serde_json::Value = serde_json::from_str(&read(out.join("manifest.json"))).unwrap();
    assert_eq!(m["status"], "ok");
    assert_eq!(m["as_of"], "2025-11-30");
    let stages: Vec<&str> = m["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["read", "resolve", "rules", "write"]);
    let findings = read(out.join("findings.csv"));
    let per_rule: u64 = m["findings_per_rule"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(per_rule as usize, findings.lines().count() - 1);
    for i in m["inputs"].as_array().unwrap() {
        let n = |k: &str| i[k].as_u64().unwrap();
        assert_eq!(
            n("rows_read"),
            n("rows_accepted") + n("rows_rejected") + n("rows_skipped")
        );
    }
}

#[test]
fn a_failed_run_leaves_the_previous_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(run_sample(&out, "2").status.code(), Some(0));
    let before = read(out.join("findings.csv"));

    let batch = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(root().join("fixtures/sample")).unwrap() {
        let e = e.unwrap();
        if !e.file_name().to_string_lossy().starts_with("pension") {
            std::fs::copy(e.path(), batch.path().join(e.file_name())).unwrap();
        }
    }
    let o = run_batch(batch.path(), &out, "2");
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(read(out.join("findings.csv")), before);
    let unfinished = dir
        .path()
        .join("hedui-state/last-unfinished-run/manifest.json");
    let m: serde_json::Value = serde_json::from_str(&read(unfinished)).unwrap();
    assert_eq!(m["status"], "failed");
}

#[test]
fn machine_files_are_owner_readable_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_sample(&out, "1");
    #[cfg(unix)]
    for e in std::fs::read_dir(&out).unwrap() {
        use std::os::unix::fs::PermissionsExt;
        let e = e.unwrap();
        let mode = e.metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{:?}", e.file_name());
    }
}

/// Regression: with one thread, a links table of more than a few of the
/// writers' batches (64 Ki rows each) hung the run for ever. The pump feeds
/// links.csv and links.parquet together through short queues, and the two
/// writers took turns on the one pool thread: the parquet queue filled, the
/// pump stopped, and links.csv waited for a batch that never came. The
/// generated small county has about 440,000 links.
#[test]
fn one_thread_writes_a_links_table_of_many_batches() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::assert_ok(&common::hedui(&[
        "generate",
        "--scale",
        "small",
        "--as-of",
        "2025-11-30",
        "--out",
        data.to_str().unwrap(),
    ]));
    let out = dir.path().join("out");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hedui"))
        .args(["run", "--input"])
        .arg(data.join("input"))
        .arg("--out")
        .arg(&out)
        .args(["--as-of", "2025-11-30", "--threads", "1"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the hedui binary runs");
    // A hung run is killed and fails the test, rather than hanging the suite.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("hedui run --threads 1 did not finish in 10 minutes (the writers hang)");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(status.success(), "{status}");
    let links = std::fs::read_to_string(out.join("links.csv")).unwrap();
    let truth = std::fs::read_to_string(data.join("truth/links.csv")).unwrap();
    assert!(
        links.lines().count() > 5 * 64 * 1024,
        "{} links: too few to fill the queues",
        links.lines().count()
    );
    assert!(links.lines().count() <= truth.lines().count());
    // In links.csv's order across the 64 Ki batches and the extracts'
    // seams: by extract name, each file's rows together and in file order.
    let mut seen_files = std::collections::HashSet::new();
    let mut last: Option<(String, String, u64)> = None;
    let mut reader = csv::Reader::from_reader(links.as_bytes());
    for record in reader.records() {
        let record = record.unwrap();
        // A row may name its sheet before the number: a sheet is a file here.
        let at = record[2]
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .len();
        let (sheet, digits) = record[2].split_at(at);
        let (extract, file) = (record[0].to_string(), format!("{}|{sheet}", &record[1]));
        let row: u64 = digits.parse().unwrap();
        match &last {
            Some((e, f, r)) if *e == extract && *f == file => {
                assert!(row > *r, "{extract} {file}: row {row} after {r}")
            }
            Some((e, _, _)) => {
                assert!(*e <= extract, "{extract} after {e}");
                assert!(seen_files.insert(file.clone()), "{file} twice");
            }
            None => {
                seen_files.insert(file.clone());
            }
        }
        last = Some((extract, file, row));
    }
}

/// A record-key conflict is a line of conflicts.csv naming both rows as
/// links.csv names them, the later row (the one the rules use) first; a
/// row repeated value for value by a later file is none.
#[test]
fn a_record_key_conflict_is_a_line_of_conflicts_csv() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_ok(&run_sample(&out, "2"));
    // The sample's own: a student's second record for one school year,
    // and a settlement number used twice.
    let sample = "\u{feff}extract,file,row,raw_id,person_id,earlier_file,earlier_row,\
                  earlier_raw_id,earlier_person_id\n\
                  education,education_202511.csv,5,341122201006013157,341122201006013157,\
                  education_202511.csv,2,341122201006013157,341122201006013157\n\
                  medical_settlement,medical_settlement_202511.csv,14,34112219820315224X,\
                  34112219820315224X,medical_settlement_202511.csv,3,'34112219820315224X,\
                  34112219820315224X\n";
    assert_eq!(read(out.join("conflicts.csv")), sample);
    let input = sample_copy(dir.path());
    // The sample's pension file has 202510 under the 15-digit ID (row 2)
    // and 202511 under the 18-digit one (row 3).
    std::fs::write(
        input.join("pension_202512.csv"),
        "姓名,身份证号,发放月份,发放金额（元）\n\
         王芳,341122194502104426,202511,180\n\
         王芳,341122194502104426,202510,200.00\n",
    )
    .unwrap();
    let twice = dir.path().join("twice");
    assert_ok(&run_batch(&input, &twice, "2"));
    assert_eq!(
        read(twice.join("conflicts.csv")),
        format!(
            "{sample}pension,pension_202512.csv,3,341122194502104426,341122194502104426,\
             pension_202511.csv,2,341122450210442,341122194502104426\n"
        )
    );
}

/// A row whose ID number was repaired keys under its person: a second
/// pension for a month the person already has, written with a typo in the
/// ID, is a record-key conflict (the later row replaces the earlier), not a
/// second pension that month.
#[test]
fn a_repaired_row_is_in_conflict_with_its_person_s_row_of_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    // 王芳 (341122194502104426) has 180 for 202510 and 202511 in the
    // sample; the typo changes digit 15 and breaks the check character.
    std::fs::write(
        input.join("pension_202512.csv"),
        "姓名,身份证号,发放月份,发放金额（元）\n王芳,341122194502100426,202511,240\n",
    )
    .unwrap();
    for tables in ["memory", "disk"] {
        let out = run_with_tables(dir.path(), &input, tables);
        assert_repaired_row_replaced(&out);
    }
}

/// Runs on `input` with the extracts' tables held in `tables` ("memory" or
/// "disk") and the sample's rejects allowed; returns the output folder.
fn run_with_tables(dir: &Path, input: &Path, tables: &str) -> PathBuf {
    let config = tables_config(dir, tables);
    let out = dir.join(tables).join("out");
    assert_ok(&common::run_batch(input, &out, Some(&config), "2", &[]));
    out
}

/// A config in `dir` holding the extracts' tables in `tables` ("memory" or
/// "disk"), the sample's rejects allowed; returns its path.
fn tables_config(dir: &Path, tables: &str) -> PathBuf {
    let config = dir.join(format!("{tables}.toml"));
    std::fs::write(
        &config,
        format!("[input]\nmax_reject_rate = 0.50\n[engine]\ntables = \"{tables}\"\n"),
    )
    .unwrap();
    config
}

fn assert_repaired_row_replaced(out: &Path) {
    let links = read(out.join("links.csv"));
    assert!(
        links.contains(
            "pension,pension_202512.csv,2,341122194502100426,王芳,341122194502104426,repaired,"
        ),
        "{links}"
    );
    let conflicts = read(out.join("conflicts.csv"));
    assert!(
        conflicts.ends_with(
            "pension,pension_202512.csv,2,341122194502100426,341122194502104426,\
             pension_202511.csv,3,341122194502104426,341122194502104426\n"
        ),
        "{conflicts}"
    );
    // 202510: 180; 202511: 240 (the later row), not 180 + 240.
    let dq05 = wang_fang_dq05(out);
    assert!(dq05.contains("养老金 210.00 元/月"), "{dq05}");
    assert_eq!(rows_conflict(out, "pension_202512.csv"), 1);
}

/// The manifest's `rows_conflict` of one input file.
fn rows_conflict(out: &Path, file: &str) -> serde_json::Value {
    manifest_input(out, file)["rows_conflict"].clone()
}

/// The manifest's account of one input file.
fn manifest_input(out: &Path, file: &str) -> serde_json::Value {
    let m: serde_json::Value = serde_json::from_str(&read(out.join("manifest.json"))).unwrap();
    let inputs = m["inputs"].as_array().unwrap();
    inputs.iter().find(|i| i["file"] == file).unwrap().clone()
}

/// The lines of an output file that belong to `extract`.
fn lines_of<'t>(text: &'t str, extract: &str) -> Vec<&'t str> {
    let prefix = format!("{extract},");
    text.lines().filter(|l| l.starts_with(&prefix)).collect()
}

/// 王芳's DQ05 line of findings.csv: its evidence holds her pension.
fn wang_fang_dq05(out: &Path) -> String {
    let findings = read(out.join("findings.csv"));
    let dq05 = findings
        .lines()
        .find(|l| l.contains(",DQ05,") && l.contains("王芳"))
        .expect("王芳's DQ05");
    dq05.to_string()
}

/// Three exports pasted into one file, the second's header with its
/// columns in another order (and one more): the rows below each header are
/// read by it, the third's by the first layout again.
#[test]
fn rows_below_a_header_in_another_order_are_read_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    std::fs::write(
        input.join("pension_202511.csv"),
        "姓名,身份证号,发放月份,发放金额（元）\n\
         王芳,341122194502104426,202510,100\n\
         身份证号,姓名,发放月份,备注,发放金额（元）\n\
         341122194502104426,王芳,202511,补发,300\n\
         姓名,身份证号,发放月份,发放金额（元）\n\
         王芳,341122194502104426,202509,200\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let links = read(out.join("links.csv"));
    let pension = lines_of(&links, "pension");
    assert_eq!(
        pension,
        [
            "pension,pension_202511.csv,2,341122194502104426,王芳,341122194502104426,exact,1.00",
            "pension,pension_202511.csv,4,341122194502104426,王芳,341122194502104426,exact,1.00",
            "pension,pension_202511.csv,6,341122194502104426,王芳,341122194502104426,exact,1.00",
        ]
    );
    let input = manifest_input(&out, "pension_202511.csv");
    let n = |k: &str| input[k].as_u64().unwrap();
    assert_eq!(
        [
            n("rows_read"),
            n("rows_accepted"),
            n("rows_rejected"),
            n("rows_skipped")
        ],
        [5, 3, 0, 2]
    );
    assert_eq!(input["unknown_columns"], serde_json::json!(["备注"]));
    // 王芳's DQ05 counts the three months: (100 + 300 + 200) / 3.
    let dq05 = wang_fang_dq05(&out);
    assert!(dq05.contains("养老金 200.00 元/月"), "{dq05}");
}

/// A header of two rows: group headers above the columns' own (鉴定情况
/// over 鉴定等级 and 鉴定日期), the other headers in the first row only,
/// or the headers written in either row. The data start below both.
#[test]
fn a_header_of_two_rows_is_read_whichever_row_names_a_column() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    std::fs::remove_file(input.join("housing_safety_202511.xlsx")).unwrap();
    let row = "王芳,341122194502104426,河西乡,西村,D,2025-03-01,未纳入";
    for (case, header) in [
        (
            "group",
            "户主姓名,户主身份证号,乡镇,村,鉴定情况,,改造状态\n,,,,鉴定等级,鉴定日期,",
        ),
        (
            "either",
            "户主姓名,,乡镇,,鉴定情况,,\n,户主身份证号,,村,鉴定等级,鉴定日期,改造状态",
        ),
    ] {
        std::fs::write(
            input.join("housing_safety_202511.csv"),
            format!("危房鉴定名单\n{header}\n{row}\n"),
        )
        .unwrap();
        let out = dir.path().join(case);
        assert_ok(&run_batch(&input, &out, "2"));
        let links = read(out.join("links.csv"));
        let housing = lines_of(&links, "housing_safety");
        assert_eq!(
            housing,
            [
                "housing_safety,housing_safety_202511.csv,4,341122194502104426,王芳,\
              341122194502104426,exact,1.00"
            ],
            "{case}"
        );
        let findings = read(out.join("findings.csv"));
        assert!(
            findings
                .lines()
                .any(|l| l.contains(",DY04,") && l.contains("341122194502104426")),
            "{case}: {findings}"
        );
        let file = manifest_input(&out, "housing_safety_202511.csv");
        assert_eq!(file["rows_read"], 1, "{case}");
        assert_eq!(file["rows_accepted"], 1, "{case}");
    }
}

/// A file that holds a person's month twice, once with a typo in the ID,
/// issued again by a later file: the pair in the first is a conflict, the
/// copy adds none, and the rules use the copy's last row.
#[test]
fn a_file_with_a_repaired_row_issued_again_adds_no_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    for file in ["pension_202512.csv", "pension_202601.csv"] {
        std::fs::write(
            input.join(file),
            "姓名,身份证号,发放月份,发放金额（元）\n\
             王芳,341122194502104426,202511,180\n\
             王芳,341122194502100426,202511,240\n",
        )
        .unwrap();
    }
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let conflicts = read(out.join("conflicts.csv"));
    let pension = lines_of(&conflicts, "pension");
    assert_eq!(
        pension,
        [
            "pension,pension_202512.csv,3,341122194502100426,341122194502104426,\
          pension_202512.csv,2,341122194502104426,341122194502104426"
        ],
        "{conflicts}"
    );
    let dq05 = wang_fang_dq05(&out);
    assert!(dq05.contains("养老金 210.00 元/月"), "{dq05}");
    assert_eq!(rows_conflict(&out, "pension_202512.csv"), 1);
    assert_eq!(rows_conflict(&out, "pension_202601.csv"), 0);
}

/// The sample's medical enrollment file with `rows` (lines under the
/// header) in place of its first data row, 张伟's.
fn enrollment_with(input: &Path, rows: &str) {
    let path = input.join("medical_enrollment_202511.csv");
    let sample = read(path.clone());
    let others: Vec<&str> = sample.lines().skip(2).collect();
    std::fs::write(
        path,
        format!(
            "姓名,身份证号,险种,参保状态,终止原因,终止日期,资助参保\n{}\n{}\n",
            rows.trim_end(),
            others.join("\n")
        ),
    )
    .unwrap();
}

/// Within one file, a member's enrollment written 正常参保, then ended by
/// death, then 正常参保 again exactly as at first: the third row is an
/// exact duplicate of the first, and the last word all the same. No CB04
/// (the rules use the third row's values), and the conflicts are the second
/// row with the first and the third with the second. The same when the
/// death row's number has a wrong check character: once repaired it keys
/// under 张伟's number like the rows around it.
#[test]
fn a_row_written_again_after_a_different_one_is_the_one_the_rules_use() {
    for death_check in ['8', '9'] {
        let dir = tempfile::tempdir().unwrap();
        let input = sample_copy(dir.path());
        let zhang = "张伟,341122198001011238,城乡居民医保,正常参保,,,是";
        enrollment_with(
            &input,
            &format!(
                "{zhang}\n张伟,34112219800101123{death_check},城乡居民医保,终止,死亡,2025-06-30,是\n\
                 {zhang}"
            ),
        );
        for tables in ["memory", "disk"] {
            let out = run_with_tables(dir.path(), &input, tables);
            let findings = read(out.join("findings.csv"));
            let zhang_cb04 = findings
                .lines()
                .filter(|l| l.contains(",CB04,") && l.contains("341122198001011238"))
                .count();
            assert_eq!(zhang_cb04, 0, "{death_check} {tables}: {findings}");
            let conflicts = read(out.join("conflicts.csv"));
            let enrollment = lines_of(&conflicts, "medical_enrollment");
            let line = |row: u32, written: char, earlier: u32, before: char| {
                format!(
                    "medical_enrollment,medical_enrollment_202511.csv,{row},34112219800101123{written},\
                     341122198001011238,medical_enrollment_202511.csv,{earlier},\
                     34112219800101123{before},341122198001011238"
                )
            };
            assert_eq!(
                enrollment,
                [line(3, death_check, 2, '8'), line(4, '8', 3, death_check)],
                "{death_check} {tables}"
            );
            assert_eq!(rows_conflict(&out, "medical_enrollment_202511.csv"), 2);
            let manifest = read(out.join("manifest.json"));
            assert!(manifest.contains("\"rows_duplicate\": 1"), "{manifest}");
        }
    }
}

/// A guardian's ID column headed with another spelling of an ID number
/// (`监护人公民身份号码`) is read: a student outside the roster whose
/// guardian is in it raises no DQ06.
#[test]
fn a_guardian_id_column_under_another_spelling_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    let path = input.join("education_202511.csv");
    let sample = read(path.clone());
    let (header, rows) = sample.split_once('\n').unwrap();
    let header = header.replace("监护人身份证号", "监护人公民身份号码");
    let zhou = "周小宝,341122201203042117,2012-03-04,城关初级中学,初中,无,0,低保家庭,张伟,\
                341122198001011238,2025-2026";
    std::fs::write(&path, format!("{header}\n{zhou}\n{rows}")).unwrap();
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let education = manifest_input(&out, "education_202511.csv");
    assert_eq!(
        education["unknown_columns"],
        serde_json::json!([]),
        "{education}"
    );
    let findings = read(out.join("findings.csv"));
    assert!(
        !findings
            .lines()
            .any(|l| l.contains(",DQ06,") && l.contains("341122201203042117")),
        "{findings}"
    );
}

/// DQ06 and a 困境类型 that names two values (helper-159's audit). A
/// student outside the roster whose school says 低保家庭 raises DQ06 when
/// the guardian has no ID number, not when the guardian's number is
/// written but destroyed (scientific notation: the guardian may be in the
/// roster; the row's DQ04 says so). A 困境类型 whose note says it is now
/// another (`特困家庭（现孤儿）`) is neither: unreadable, a warning naming
/// both, and no DQ06 or LB02 raised on a guess.
#[test]
fn dq06_and_a_hardship_naming_two_values() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    let path = input.join("education_202511.csv");
    let sample = read(path.clone());
    let (header, rows) = sample.split_once('\n').unwrap();
    let students = [
        // No guardian ID: DQ06.
        "周小宝,341122201203042117,2012-03-04,城关初级中学,初中,无,0,低保家庭,路人甲,,2025-2026",
        // The guardian's ID destroyed by Excel: DQ04, no DQ06.
        "周小贝,341122201305062119,2013-05-06,城关初级中学,初中,无,0,低保家庭,张伟,\
         3.41122E+17,2025-2026",
        // Now another value: a warning, neither DQ06 nor LB02.
        "周小乐,341122201407082110,2014-07-08,城关初级中学,初中,无,0,特困家庭（现孤儿）,路人乙,,\
         2025-2026",
    ];
    std::fs::write(&path, format!("{header}\n{}\n{rows}", students.join("\n"))).unwrap();
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let findings = read(out.join("findings.csv"));
    let fired = |rule: &str, id: &str| {
        findings
            .lines()
            .any(|l| l.contains(&format!(",{rule},")) && l.contains(id))
    };
    assert!(fired("DQ06", "341122201203042117"), "{findings}");
    assert!(!fired("DQ06", "341122201305062119"), "{findings}");
    assert!(
        findings
            .lines()
            .any(|l| l.contains(",DQ04,") && l.contains("education_202511.csv:3")),
        "{findings}"
    );
    assert!(!fired("DQ06", "341122201407082110"), "{findings}");
    assert!(!fired("LB02", "341122201407082110"), "{findings}");
    let warnings = read(out.join("warnings.csv"));
    assert!(
        warnings.lines().any(|l| l
            .starts_with("education,education_202511.csv,4,困境类型,bad_category,")
            && l.contains("取值「特困家庭」的注释含「现」与「孤儿」")),
        "{warnings}"
    );
}

/// A name with another in brackets and no word making it a former name
/// (`张伟（李娜）`: 李娜 collects his pension) gives 张伟 no second name: a
/// settlement of 李娜's whose ID is one typing error from 张伟's is not
/// repaired to him (her costs would count as his), and stays unlinked.
#[test]
fn a_name_in_brackets_is_no_second_name_to_repair_by() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    let append_gbk = |file: &str, line: &str| {
        let path = input.join(file);
        let bytes = std::fs::read(&path).unwrap();
        let (text, _, bad) = encoding_rs::GB18030.decode(&bytes);
        assert!(!bad, "{file} is GB18030");
        let text = format!("{}\n{line}\n", text.trim_end());
        std::fs::write(&path, encoding_rs::GB18030.encode(&text).0).unwrap();
    };
    append_gbk(
        "pension_202511.csv",
        "张伟（李娜）,341122198001011238,202511,100.00",
    );
    append_gbk(
        "medical_settlement_202511.csv",
        "S900,李娜,341122198001011283,住院,2025-03-05,县人民医院,I10 高血压,1000,1000,500,0,100,400",
    );
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let links = read(out.join("links.csv"));
    let row = links
        .lines()
        .find(|l| l.contains("341122198001011283"))
        .unwrap_or_else(|| panic!("the settlement's link: {links}"));
    assert!(row.ends_with(",,unlinked,0.00"), "{row}");
    let findings = read(out.join("findings.csv"));
    assert!(
        findings
            .lines()
            .any(|l| l.contains(",DQ01,") && l.contains("341122198001011283")),
        "{findings}"
    );
}

/// What a run did not read is said on its way out, file by file: a file
/// of a header and no rows, a file delivered twice, and files it did not
/// recognise.
#[test]
fn a_run_says_which_files_held_no_rows_and_which_it_did_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::sample_copy(dir.path());
    let unemployment = input.join("unemployment_202511.csv");
    let header = read(unemployment.clone())
        .lines()
        .next()
        .unwrap()
        .to_owned();
    std::fs::write(&unemployment, format!("{header}\n")).unwrap();
    std::fs::write(input.join("养老金发放_11月说明.docx"), b"PK").unwrap();
    let copy = "pension_202511 (2).csv";
    std::fs::copy(input.join("pension_202511.csv"), input.join(copy)).unwrap();
    // A folder of scans too: the first 20 files not read are named.
    for i in 0..25 {
        std::fs::write(input.join(format!("scan_{i:02}.pdf")), b"%PDF").unwrap();
    }
    let o = run_batch(&input, &dir.path().join("out"), "2");
    assert_ok(&o);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("注意：1 个文件没有数据行 files without data rows: unemployment_202511.csv"),
        "{said}"
    );
    let twice = said
        .lines()
        .find(|l| l.contains("identical files"))
        .expect(&said);
    assert!(twice.contains("2 个文件内容完全相同"), "{twice}");
    assert!(
        twice.contains(copy) && twice.contains("pension_202511.csv"),
        "{twice}"
    );
    let line = said
        .lines()
        .find(|l| l.contains("files not read"))
        .expect(&said);
    assert!(line.contains("27 个文件未读取"), "{line}");
    assert!(line.contains("README.txt, scan_00.pdf"), "{line}");
    assert_eq!(line.matches(", ").count(), 19, "{line}");
    // In name order: the last are counted, and the manifest names them.
    assert!(!line.contains("养老金发放_11月说明.docx"), "{line}");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/manifest.json")).unwrap(),
    )
    .unwrap();
    let ignored = manifest["ignored"].to_string();
    assert!(ignored.contains("养老金发放_11月说明.docx"), "{ignored}");
    assert!(line.ends_with(" … +7"), "{line}");
}

/// An ID number whose check character is right but whose birth date is
/// after the as-of date (2025-11-30) is bad: nobody was born after the day
/// the records are judged on. Its row stays unlinked with a DQ01 finding;
/// one born on the as-of date itself links as written.
#[test]
fn an_id_born_after_the_as_of_date_links_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    let path = input.join("pension_202511.csv");
    let bytes = std::fs::read(&path).unwrap();
    let (text, _, bad) = encoding_rs::GB18030.decode(&bytes);
    assert!(!bad, "the pension file is GB18030");
    let text = format!(
        "{}\n赵未来,341122202512011239,202511,100.00\n钱当日,341122202511301234,202511,100.00\n",
        text.trim_end()
    );
    std::fs::write(&path, encoding_rs::GB18030.encode(&text).0).unwrap();
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let links = read(out.join("links.csv"));
    let link = |id: &str| {
        links
            .lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("the row of {id}: {links}"))
            .to_string()
    };
    assert!(link("341122202512011239").ends_with(",,unlinked,0.00"));
    assert!(link("341122202511301234").ends_with(",341122202511301234,exact,1.00"));
    let findings = read(out.join("findings.csv"));
    let dq01 = |id: &str| {
        findings
            .lines()
            .any(|l| l.contains(",DQ01,") && l.contains(id))
    };
    assert!(dq01("341122202512011239"), "{findings}");
    assert!(!dq01("341122202511301234"), "{findings}");
}

/// A student's ID destroyed by Excel (`6.52801E+17`) links by name and
/// birth date only to a person whose number the digits Excel kept could
/// have been: 张晓明 born 2010-06-01 of this county (341122…) is not the
/// row whose number began 652801. With a second 张晓明 of that birth date
/// known (652801…), each row links to the one person its digits fit.
#[test]
fn an_id_excel_destroyed_links_by_name_and_birth_only_where_its_digits_fit() {
    for second in [false, true] {
        an_id_excel_destroyed_links_where_its_digits_fit(second);
    }
}

fn an_id_excel_destroyed_links_where_its_digits_fit(second: bool) {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    if second {
        let path = input.join("medical_enrollment_202511.csv");
        let enrolled = read(path.clone());
        std::fs::write(
            &path,
            format!("{enrolled}张晓明,652801201006013157,城乡居民医保,正常参保,,,否\n"),
        )
        .unwrap();
    }
    let path = input.join("education_202511.csv");
    let sample = read(path.clone());
    let row = |id: &str| format!("张晓明,{id},2010-06-01,城关初级中学,初中,无,0,,张伟,,2024-2025");
    std::fs::write(
        &path,
        format!("{}{}\n{}\n", sample, row("6.52801E+17"), row("3.41122E+17")),
    )
    .unwrap();
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let links = read(out.join("links.csv"));
    let link_of = |raw: &str| {
        let line = links
            .lines()
            .find(|l| l.contains(&format!(",{raw},")))
            .unwrap_or_else(|| panic!("{raw}: {links}"));
        line.split(',')
            .skip(5)
            .take(2)
            .collect::<Vec<_>>()
            .join(",")
    };
    let other = if second {
        "652801201006013157,name_birth"
    } else {
        ",unlinked"
    };
    assert_eq!(link_of("6.52801E+17"), other);
    assert_eq!(link_of("3.41122E+17"), "341122201006013157,name_birth");
}

/// A student written without an ID number in one file (linked by name and
/// birth date) and with it in a later one, for the same school year, is
/// one enrollment: the later row is the one the rules use (it has the aid:
/// no DY03 from the earlier row's 无), and the pair is a conflict.
#[test]
fn a_row_linked_by_name_and_birth_keys_under_its_person() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    let path = input.join("education_202511.csv");
    let sample =
        read(path.clone()).replace(",初中,无,0,低保家庭,", ",初中,生活补助,1000,低保家庭,");
    std::fs::write(&path, sample).unwrap();
    std::fs::write(
        input.join("education_202510.csv"),
        "学生姓名,学生身份证号,出生日期,学校名称,学段,资助项目,资助金额（元）,困境类型,监护人姓名,监护人身份证号,学年\n\
         张小明,,2010-06-01,城关初级中学,初中,无,0,低保家庭,张伟,341122198001011238,2025-2026\n",
    )
    .unwrap();
    for tables in ["memory", "disk"] {
        let out = run_with_tables(dir.path(), &input, tables);
        let links = read(out.join("links.csv"));
        assert!(
            links.contains(
                "education,education_202510.csv,2,,张小明,341122201006013157,name_birth,"
            ),
            "{links}"
        );
        let findings = read(out.join("findings.csv"));
        assert!(
            !findings
                .lines()
                .any(|l| l.contains(",DY03,") && l.contains("341122201006013157")),
            "{tables}: {findings}"
        );
        let conflicts = read(out.join("conflicts.csv"));
        assert!(
            lines_of(&conflicts, "education").contains(
                &"education,education_202511.csv,2,341122201006013157,341122201006013157,\
                  education_202510.csv,2,,341122201006013157"
            ),
            "{tables}: {conflicts}"
        );
    }
}

/// Rows of 张伟's written with a typo in his number (repaired to him) and
/// a later row of 李娜's with the same wrong number (not repaired: another
/// person's record) are two records: hers does not replace his. His
/// enrollment written only so stays in force (no DY01); his death written
/// so, twice, after his own correct row, is the row in force (CB04), and
/// the only conflict is his two rows'.
#[test]
fn another_person_s_row_of_the_same_wrong_number_replaces_no_row_of_his() {
    let dir = tempfile::tempdir().unwrap();
    let li_na = "李娜,341122198001011239,城乡居民医保,终止,死亡,2025-03-31,是";
    let death = "张伟,341122198001011239,城乡居民医保,终止,死亡,2025-06-30,是";
    let cases = [
        (
            "only",
            format!("张伟,341122198001011239,城乡居民医保,正常参保,,,是\n{li_na}"),
        ),
        (
            "death",
            format!(
                "张伟,341122198001011238,城乡居民医保,正常参保,,,是\n{death}\n{death}\n\
                 李娜,341122198001011239,城乡居民医保,正常参保,,,是"
            ),
        ),
    ];
    for (case, rows) in cases {
        let case_dir = dir.path().join(case);
        let input = sample_copy(&case_dir);
        enrollment_with(&input, &rows);
        for tables in ["memory", "disk"] {
            let out = run_with_tables(&case_dir, &input, tables);
            let findings = read(out.join("findings.csv"));
            let zhang = |rule: &str| {
                findings
                    .lines()
                    .filter(|l| {
                        l.contains(&format!(",{rule},")) && l.contains("341122198001011238")
                    })
                    .count()
            };
            assert_eq!(zhang("DY01"), 0, "{case} {tables}: {findings}");
            assert_eq!(
                zhang("CB04"),
                usize::from(case == "death"),
                "{case} {tables}: {findings}"
            );
            let conflicts = read(out.join("conflicts.csv"));
            let enrollment = lines_of(&conflicts, "medical_enrollment");
            let expected: Vec<String> = if case == "death" {
                vec![
                    "medical_enrollment,medical_enrollment_202511.csv,3,341122198001011239,\
                     341122198001011238,medical_enrollment_202511.csv,2,341122198001011238,\
                     341122198001011238"
                        .to_string(),
                ]
            } else {
                Vec::new()
            };
            assert_eq!(enrollment, expected, "{case} {tables}");
        }
    }
}

/// A finding that rests on a row whose number was repaired says so in
/// `match`, though its person's roster row is an exact match: 张伟's death
/// written with a typo in his number is CB04 `repaired:0.93`.
#[test]
fn a_finding_resting_on_a_repaired_row_says_so_in_match() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    let path = input.join("medical_enrollment_202511.csv");
    let sample = read(path.clone());
    std::fs::write(
        &path,
        format!(
            "{}\n张伟,341122198001011239,城乡居民医保,终止,死亡,2025-06-30,是\n",
            sample.trim_end()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let findings = read(out.join("findings.csv"));
    let cb04 = findings
        .lines()
        .find(|l| l.contains(",CB04,") && l.contains(",H001,"))
        .unwrap_or_else(|| panic!("{findings}"));
    assert!(cb04.contains(",repaired:0.93,"), "{cb04}");
    // Findings that rest on exact rows only keep their person's match.
    let dy02 = findings
        .lines()
        .find(|l| l.contains(",DY02,") && l.contains(",H002,"))
        .unwrap_or_else(|| panic!("{findings}"));
    assert!(dy02.contains(",exact,"), "{dy02}");
}

/// A settlement file repeated whole by a second one: the same findings as
/// with one, DQ01 and DQ04 too (on the first file's rows: the same record
/// issued again is flagged once), and no conflicts in the copy.
#[test]
fn a_file_repeated_whole_adds_no_conflict_and_no_rule_finding() {
    let dir = tempfile::tempdir().unwrap();
    let (once, twice) = (dir.path().join("once"), dir.path().join("twice"));
    assert_ok(&run_sample(&once, "2"));
    let input = sample_copy(dir.path());
    std::fs::copy(
        input.join("medical_settlement_202511.csv"),
        input.join("medical_settlement_202512.csv"),
    )
    .unwrap();
    assert_ok(&run_batch(&input, &twice, "2"));
    // (rule, household, ID, name) of every finding, in order.
    let rules = |out: &Path| -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = read(out.join("findings.csv"))
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[1].to_string(), f[4..7].join(","))
            })
            .collect();
        found.sort();
        found
    };
    let (with_copy, without) = (rules(&twice), rules(&once));
    let per_row = |r: &(String, String)| matches!(r.0.as_str(), "DQ01" | "DQ04");
    let rest = |v: &[(String, String)]| {
        v.iter()
            .filter(|r| !per_row(r))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(rest(&with_copy), rest(&without));
    let settlement_rows = |out: &Path| {
        read(out.join("findings.csv"))
            .lines()
            .filter(|l| {
                (l.contains(",DQ01,") || l.contains(",DQ04,")) && l.contains("medical_settlement:")
            })
            .count()
    };
    assert!(settlement_rows(&once) > 0);
    assert_eq!(settlement_rows(&twice), settlement_rows(&once));
    assert_eq!(rows_conflict(&twice, "medical_settlement_202512.csv"), 0);
}

/// Writes a second roster file, `roster_202511_2.csv`, of the roster's
/// header and `rows` (each ending in a line break).
fn second_roster(input: &Path, rows: &str) {
    let header = "户编号,救助类别,乡镇（街道）,村（社区）,户主姓名,户主身份证号,成员姓名,成员身份证号,与户主关系,保障人数,月保障金（元）,认定日期,申报家庭月收入（元）,残疾等级";
    std::fs::write(
        input.join("roster_202511_2.csv"),
        format!("{header}\n{rows}"),
    )
    .unwrap();
}

/// A roster in two files: a member row the second file repeats value for
/// value (written differently) is one row, not CB05; a member row it
/// repeats with another amount is CB05, with both rows as sources. Within
/// one file alike: H010's member written twice with the same values
/// (`800` and `800.00`, `2024-03-01` and `2024/3/1`, `赵 刚`) is one
/// row; H011's, with two amounts, is CB05.
#[test]
fn a_roster_row_repeated_by_a_second_file_is_no_cb05_a_different_one_is() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    second_roster(
        &input,
        "H002,特困,河西乡,西村,王芳,341122194502104426,王芳,341122194502104426,本人,1,800.00,2024-03-01,0,一级\n\
         H001,低保,城关镇,东街社区,张伟,341122198001011238,张伟,341122198001011238,本人,3,1300.00,2024-03-01,900,\n\
         H010,低保,城关镇,东街社区,赵刚,341122197005051232,赵刚,341122197005051232,本人,1,800,2024-03-01,0,\n\
         H011,低保,城关镇,东街社区,钱敏,341122197206062341,钱敏,341122197206062341,本人,1,800,2024-03-01,0,\n\
         H010,低保,城关镇,东街社区,赵刚,341122197005051232,赵 刚,341122197005051232,本人,1,800.00,2024/3/1,0.00,\n\
         H011,低保,城关镇,东街社区,钱敏,341122197206062341,钱敏,341122197206062341,本人,1,900,2024-03-01,0,\n",
    );
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let findings = read(out.join("findings.csv"));
    let cb05: Vec<&str> = findings.lines().filter(|l| l.contains(",CB05,")).collect();
    assert_eq!(cb05.len(), 3, "{cb05:#?}");
    assert!(!cb05.iter().any(|l| l.contains(",H010,")), "{cb05:#?}");
    assert!(
        cb05.iter().any(|l| l.contains(",H011,341122197206062341,")
            && l.contains("roster:roster_202511_2.csv:5;roster:roster_202511_2.csv:7")),
        "{cb05:#?}"
    );
    assert!(cb05.iter().any(|l| l.contains(",H003,")), "{cb05:#?}");
    assert!(
        cb05.iter().any(|l| l.contains(",H001,341122198001011238,")
            && l.contains("roster:roster_202511_2.csv:3")),
        "{cb05:#?}"
    );
}

/// A person in two households whose number one household's row writes
/// with a typo: DQ03 goes to that household (its staff correct the row).
#[test]
fn a_repaired_roster_row_s_dq03_names_its_household() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    second_roster(
        &input,
        "H009,特困,东山镇,南村,王芳,341122194502014426,王芳,341122194502014426,本人,1,800.00,2024-03-01,0,一级\n",
    );
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let findings = read(out.join("findings.csv"));
    let dq03: Vec<&str> = findings
        .lines()
        .filter(|l| l.contains(",DQ03,") && l.contains("341122194502104426"))
        .collect();
    assert_eq!(dq03.len(), 1, "{findings}");
    assert!(
        dq03[0].contains(",H009,341122194502104426,王芳,东山镇,南村,"),
        "{}",
        dq03[0]
    );
}

/// The roster's 救助类别 is one per household: a member row that leaves it
/// to the head's row is a member all the same, kept with a warning: no 漏保
/// for her, her 待遇 findings raised. A household none of whose rows gives a
/// category is in the roster, but CB01 does not judge it (its standard's
/// factor is unknown).
#[test]
fn a_roster_row_without_its_category_is_a_member_all_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    second_roster(
        &input,
        "H009,,城关镇,东街社区,赵六,341122198505051233,钱红,341122198707071240,配偶,,,,,\n\
         H009,低保,城关镇,东街社区,赵六,341122198505051233,赵六,341122198505051233,本人,2,900.00,2024-03-01,100,\n\
         H010,,城关镇,东街社区,孙七,341122199009091257,孙七,341122199009091257,本人,1,900.00,2024-03-01,100,\n",
    );
    std::fs::write(
        input.join("housing_safety_202511_2.csv"),
        "户主姓名,户主身份证号,乡镇,村,鉴定等级,鉴定日期,改造状态\n\
         钱红,341122198707071240,城关镇,东街社区,D,2025-06-01,未纳入\n",
    )
    .unwrap();
    std::fs::write(
        input.join("pension_202511_2.csv"),
        "姓名,身份证号,发放月份,发放金额（元）\n\
         孙七,341122199009091257,202510,5000.00\n\
         孙七,341122199009091257,202511,5000.00\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let rejects = read(out.join("rejects.csv"));
    assert!(!rejects.contains("roster_202511_2.csv"), "{rejects}");
    let manifest: serde_json::Value =
        serde_json::from_str(&read(out.join("manifest.json"))).unwrap();
    let roster = manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["file"] == "roster_202511_2.csv")
        .unwrap();
    assert_eq!(roster["rows_accepted"], 3, "{roster}");
    assert_eq!(roster["rows_rejected"], 0, "{roster}");
    assert_eq!(
        roster["warnings"],
        serde_json::json!({"missing_value:category": 2})
    );
    let findings = read(out.join("findings.csv"));
    let about = |rule: &str, id: &str| {
        findings
            .lines()
            .filter(|l| l.contains(&format!(",{rule},")) && l.contains(&format!(",{id},")))
            .count()
    };
    assert_eq!(about("LB03", "341122198707071240"), 0, "{findings}");
    assert_eq!(about("DY04", "341122198707071240"), 1, "{findings}");
    assert!(
        findings
            .lines()
            .any(|l| l.contains(",DY04,") && l.contains(",H009,341122198707071240,")),
        "{findings}"
    );
    // 孙七's pension alone is over any standard; his category is unknown.
    assert_eq!(about("CB01", "341122199009091257"), 0, "{findings}");
}

/// The roster's household values (救助类别, 申报家庭月收入, 保障人数, …) are
/// one per household: a row that gives another value than the one its
/// household took is a `household_conflict` warning on its cell, naming the
/// row taken, counted per field in the manifest, with the tables in memory
/// and on disk alike. An empty cell, or one written otherwise (`900` for
/// `900.00`, `週` for `周`), is no conflict; a row a later file repeats
/// value for value is that file's row (the earlier copy is superseded).
#[test]
fn a_household_s_rows_that_disagree_on_its_values_are_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    let spouse = "H020,,城关镇,东街社区,周八,341122198505051233,吴九,341122198707071240,配偶,2,900,2024-03-01,100,\n";
    second_roster(
        &input,
        &format!(
            "{spouse}\
             H020,低保,城关镇,东街社区,周八,341122198505051233,周八,341122198505051233,本人,3,900.00,2024-03-01,300,\n\
             H020,低收入,城关镇,东街社区,週八,341122198505051233,周小八,341122201001011236,子女,3,,2024-03-01,,\n"
        ),
    );
    std::fs::write(
        input.join("roster_202511_3.csv"),
        format!(
            "{}\n{spouse}",
            "户编号,救助类别,乡镇（街道）,村（社区）,户主姓名,户主身份证号,成员姓名,成员身份证号,与户主关系,保障人数,月保障金（元）,认定日期,申报家庭月收入（元）,残疾等级"
        ),
    )
    .unwrap();
    for tables in ["memory", "disk"] {
        let out = run_with_tables(dir.path(), &input, tables);
        let warnings = read(out.join("warnings.csv"));
        let ours: Vec<&str> = warnings
            .lines()
            .filter(|l| l.contains(",household_conflict,"))
            .collect();
        assert_eq!(
            ours,
            [
                "roster,roster_202511_2.csv,4,救助类别,household_conflict,\
                 「救助类别」与同户其他行不一致，本户按第 3 行的值处理,低收入",
                "roster,roster_202511_3.csv,2,保障人数,household_conflict,\
                 「保障人数」与同户其他行不一致，本户按文件「roster_202511_2.csv」第 3 行的值处理,2",
                "roster,roster_202511_3.csv,2,申报家庭月收入（元）,household_conflict,\
                 「申报家庭月收入（元）」与同户其他行不一致，本户按文件「roster_202511_2.csv」第 3 行的值处理,100.00",
            ],
            "{tables}: {warnings}"
        );
        let manifest: serde_json::Value =
            serde_json::from_str(&read(out.join("manifest.json"))).unwrap();
        let warnings_of = |file: &str| {
            manifest["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["file"] == file)
                .unwrap()["warnings"]
                .clone()
        };
        assert_eq!(
            warnings_of("roster_202511_2.csv"),
            serde_json::json!({
                "household_conflict:category": 1,
                "missing_value:category": 1,
            }),
            "{tables}"
        );
        assert_eq!(
            warnings_of("roster_202511_3.csv"),
            serde_json::json!({
                "household_conflict:declared_income": 1,
                "household_conflict:household_size": 1,
                "missing_value:category": 1,
            }),
            "{tables}"
        );
    }
}

/// The files of a folder, by name, with their bytes.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    files.sort();
    files
}

/// A run replaces its output folder whole: an output folder that is the
/// input, holds it, or holds anything but an earlier output is refused
/// (usage, exit 2) and left as it was; validate does not replace a run's
/// output. A fresh, an empty and an earlier output folder are fine.
#[test]
fn an_output_folder_that_would_lose_other_files_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let batch = sample_copy(dir.path());
    let before = contents(&batch);
    let refused = |o: &Output, fragment: &str| {
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(fragment), "{err}");
    };
    // The input folder itself, spelled two ways, and its parent.
    refused(&run_batch(&batch, &batch, "2"), "包含输入目录");
    refused(
        &run_batch(&batch, &batch.join("../input/."), "2"),
        "包含输入目录",
    );
    refused(&run_batch(&batch, dir.path(), "2"), "包含输入目录");
    refused(
        &run_batch(&batch, &dir.path().join("new/../input"), "2"),
        "包含输入目录",
    );
    assert_eq!(contents(&batch), before, "the input is untouched");
    let validate = |out: &Path| {
        common::hedui(&[
            "validate",
            "--input",
            batch.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--config",
            root().join("fixtures/sample.toml").to_str().unwrap(),
        ])
    };
    refused(&validate(&batch), "包含输入目录");
    assert_eq!(contents(&batch), before, "the input is untouched");

    // A folder of other files.
    let notes = dir.path().join("notes");
    std::fs::create_dir(&notes).unwrap();
    std::fs::write(notes.join("todo.txt"), "keep me").unwrap();
    refused(&run_batch(&batch, &notes, "2"), "manifest.json");
    refused(&validate(&notes), "manifest.json");
    // Another program's manifest.json does not make it an output.
    std::fs::write(notes.join("manifest.json"), "{\"name\": \"app\"}").unwrap();
    refused(&run_batch(&batch, &notes, "2"), "manifest.json");
    std::fs::remove_file(notes.join("manifest.json")).unwrap();
    assert_eq!(
        contents(&notes),
        vec![("todo.txt".to_string(), b"keep me".to_vec())]
    );

    // A link to an earlier output: the swap would replace the link, not
    // the folder it points to.
    let earlier = dir.path().join("earlier");
    assert_ok(&run_batch(&batch, &earlier, "2"));
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&earlier, &link).unwrap();
    refused(&run_batch(&batch, &link, "2"), "符号链接");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // A state folder inside the output folder would go with it.
    let config = dir.path().join("inside.toml");
    let inside = dir.path().join("fresh");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"{}\"\n[input]\nmax_reject_rate = 0.50\n",
            inside.join("state").display()
        ),
    )
    .unwrap();
    refused(
        &common::run_batch(&batch, &inside, Some(&config), "2", &[]),
        "state_dir",
    );

    // An output folder below a file (a typo in the path): the user's to
    // mend (exit 2), not an internal error; generate says so too.
    let file = dir.path().join("afile");
    std::fs::write(&file, "x").unwrap();
    refused(
        &run_batch(&batch, &file.join("out"), "2"),
        "是文件而不是目录",
    );
    refused(
        &common::hedui(&[
            "generate",
            "--scale",
            "tiny",
            "--as-of",
            "2025-11-30",
            "--out",
            file.to_str().unwrap(),
        ]),
        "是文件而不是目录",
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"x");

    // An empty folder, then the same folder again; validate keeps off it.
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    assert_ok(&run_batch(&batch, &out, "2"));
    assert_ok(&run_batch(&batch, &out, "2"));
    let run_output = contents(&out);
    refused(&validate(&out), "validate");
    assert_eq!(contents(&out), run_output);
    // validate replaces its own earlier output.
    let checked = dir.path().join("checked");
    assert_ok(&validate(&checked));
    assert_ok(&validate(&checked));
}

/// The sample roster rewritten cell for cell, its sheets' cells merged the
/// way county staff lay a roster out (`merged`): the title across the
/// header's width, the last header over a second column, each household
/// column down the household's consecutive rows where the rows agree, and
/// the total row's label across the member columns. Excel keeps the value
/// of a merged range in its first cell only.
/// Returns how many cells the merged ranges cover past their first.
fn rewrite_sample_roster(to: &Path, merged: bool) -> usize {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let mut source: Xlsx<_> = open_workbook(root().join("fixtures/sample/roster_202511.xlsx"))
        .expect("the sample roster opens");
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let mut hidden_by_merges = 0;
    for name in source.sheet_names() {
        let range = source.worksheet_range(&name).unwrap();
        let sheet = workbook.add_worksheet();
        sheet.set_name(&name).unwrap();
        let cells: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
        let text = |r: usize, c: usize| cells[r].get(c).map(Data::to_string).unwrap_or_default();
        let mut covered = vec![vec![false; range.width() + 1]; cells.len()];
        let mut merge = |sheet: &mut rust_xlsxwriter::Worksheet, r0: usize, c0, r1: usize, c1| {
            let format = rust_xlsxwriter::Format::new();
            let value = text(r0, c0);
            sheet
                .merge_range(r0 as u32, c0 as u16, r1 as u32, c1 as u16, &value, &format)
                .unwrap();
            for row in covered.iter_mut().take(r1 + 1).skip(r0) {
                row[c0..=c1].fill(true);
            }
            // Filled down the first column only.
            hidden_by_merges += r1 - r0;
        };
        if merged && range.width() > 1 {
            let width = range.width() - 1;
            for r in 0..cells.len() {
                let first = text(r, 0);
                if r == 0 && !first.is_empty() && text(r, 1).is_empty() {
                    merge(sheet, 0, 0, 0, width);
                } else if r == 1 {
                    // The last header over a second, empty column.
                    merge(sheet, 1, width, 1, width + 1);
                } else if first == "合计" {
                    merge(sheet, r, 0, r, 8);
                }
            }
            // 户编号 … 户主身份证号, then 保障人数 … 申报家庭月收入.
            for c in (0..6).chain(9..13) {
                let mut r = 2;
                while r < cells.len() {
                    let mut end = r;
                    while end + 1 < cells.len()
                        && !text(r, c).is_empty()
                        && text(end + 1, c) == text(r, c)
                        && text(end + 1, 0) != "合计"
                    {
                        end += 1;
                    }
                    if end > r {
                        merge(sheet, r, c, end, c);
                    }
                    r = end + 1;
                }
            }
        }
        for (r, row) in cells.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if covered[r][c] || *cell == Data::Empty {
                    continue;
                }
                let (r, c) = (r as u32, c as u16);
                match cell {
                    Data::Float(f) => sheet.write_number(r, c, *f),
                    Data::Int(i) => sheet.write_number(r, c, *i as f64),
                    other => sheet.write_string(r, c, other.to_string()),
                }
                .unwrap();
            }
        }
    }
    workbook.save(to.join("roster_202511.xlsx")).unwrap();
    hidden_by_merges
}

/// A roster whose household columns, title and total labels are merged
/// cells reads as the same roster written out in full: every merged cell
/// takes its range's value. Unfilled, the members below a household's
/// first row would have no 户编号, head or size.
#[test]
fn a_roster_with_merged_household_cells_reads_as_the_same_roster() {
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for merged in [false, true] {
        let input = sample_copy(&dir.path().join(merged.to_string()));
        let hidden = rewrite_sample_roster(&input, merged);
        // Each its own state folder (hedui-state/ beside the output).
        let out = dir.path().join(format!("{merged}/out"));
        assert_ok(&run_batch(&input, &out, "2"));
        let m: serde_json::Value = serde_json::from_str(&read(out.join("manifest.json"))).unwrap();
        let mut roster = m["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["extract"] == "roster")
            .unwrap()
            .clone();
        let filled = roster
            .as_object_mut()
            .unwrap()
            .remove("merged_cells_filled");
        roster.as_object_mut().unwrap().remove("sha256");
        outputs.push((
            read(out.join("findings.csv")),
            read(out.join("rejects.csv")),
            roster,
            filled,
            hidden,
        ));
    }
    let (plain, merged) = (&outputs[0], &outputs[1]);
    assert_eq!(
        (&plain.3, plain.4),
        (&None, 0),
        "a roster without merged cells"
    );
    // Sheet 1 alone: H001's rows 3–4 in the 9 columns where they agree.
    assert!(merged.4 > 9, "{}", merged.4);
    assert_eq!(merged.3, Some(serde_json::json!(merged.4)));
    assert_eq!(merged.2, plain.2);
    assert_eq!(merged.1, plain.1);
    assert_eq!(merged.0, plain.0);
    assert!(plain.0.contains(",H001,"), "{}", plain.0);
    // `validate` says how many cells it filled, file by file.
    let config = root().join("fixtures/sample.toml");
    let o = common::hedui(&[
        "validate",
        "--input",
        dir.path().join("true/input").to_str().unwrap(),
        "--out",
        dir.path().join("validated").to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--as-of",
        "2025-11-30",
    ]);
    assert_ok(&o);
    let said = String::from_utf8_lossy(&o.stdout);
    let line = format!(
        "合并单元格已按其首格的值填充 empty cells of merged ranges given their range's value: {}",
        merged.4
    );
    assert!(said.contains(&line), "{said}");
}

/// A school recording two hardships in one cell (`孤儿、残疾`) is read as
/// the one most in need: an orphan outside the roster is LB02. A hardship
/// no rule can read (`留守儿童`) keeps its row, null, and is named in
/// warnings.csv with its file, row, field and the cell as written.
#[test]
fn a_listed_hardship_is_read_and_an_unreadable_one_is_named_in_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    let education = input.join("education_202511.csv");
    let mut text = read(education.clone());
    text.push_str(
        "刘小军,341122201203051232,2012-03-05,城关小学,小学,无,,孤儿、残疾,,,2025-2026\n\
         陈小丽,341122201304072243,2013-04-07,城关小学,小学,无,,留守儿童,,,2025-2026\n",
    );
    std::fs::write(&education, text).unwrap();
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let findings = read(out.join("findings.csv"));
    let lb02: Vec<&str> = findings.lines().filter(|l| l.contains(",LB02,")).collect();
    assert!(
        lb02.iter().any(|l| l.contains("341122201203051232")),
        "{findings}"
    );
    assert!(
        !lb02.iter().any(|l| l.contains("341122201304072243")),
        "{findings}"
    );
    let warnings = read(out.join("warnings.csv"));
    let lines: Vec<&str> = warnings
        .trim_start_matches('\u{feff}')
        .lines()
        .filter(|l| l.starts_with("education,"))
        .collect();
    assert_eq!(
        lines,
        ["education,education_202511.csv,7,困境类型,bad_category,\
             「困境类型」取值不在允许范围（孤儿/事实无人抚养/残疾/低保家庭/特困家庭/无），按空值处理,留守儿童"],
        "{warnings}"
    );
}

/// A later file that issues rows of an earlier one again, value for value,
/// repeats them: an ID number left out (`/`), one Excel destroyed and one
/// with a wrong check character each raise their DQ01 or DQ04 once, on the
/// first copy (as an exact duplicate within a file does), not once a file.
/// A row issued again with another value is a conflict: two source rows, a
/// DQ01 each, and so is one going back to the first value in a third file.
#[test]
fn a_row_a_later_file_issues_again_raises_its_dq01_or_dq04_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    let rows = "姓名\t身份证号\t单位名称\t单位类型\t费款所属期\t缴费基数（元）\n\
                赵六\t3.41122E+17\t成信纺织有限公司\t企业\t202505\t3000.00\n\
                钱七\t/\t成信纺织有限公司\t企业\t202505\t3000.00\n\
                孙八\t341122198202030027\t成信纺织有限公司\t企业\t202505\t3000.00\n\
                周九\t341122198202040025\t成信纺织有限公司\t企业\t202505\t3000.00\n";
    std::fs::write(input.join("contribution_202510.tsv"), rows).unwrap();
    let again = rows.replace(
        "周九\t341122198202040025\t成信纺织有限公司\t企业\t202505\t3000.00",
        "周九\t341122198202040025\t成信纺织有限公司\t企业\t202505\t3100.00",
    );
    std::fs::write(input.join("contribution_202512.tsv"), again).unwrap();
    // A third file going back to the first's value: it replaced the
    // second's (a conflict), a source row of its own.
    let back = "姓名\t身份证号\t单位名称\t单位类型\t费款所属期\t缴费基数（元）\n\
                周九\t341122198202040025\t成信纺织有限公司\t企业\t202505\t3000.00\n";
    std::fs::write(input.join("contribution_202601.tsv"), back).unwrap();
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let findings = read(out.join("findings.csv"));
    let mut r = csv::Reader::from_reader(findings.trim_start_matches('\u{feff}').as_bytes());
    let mut sources: Vec<String> = r
        .records()
        .map(|r| r.unwrap())
        .filter(|r| {
            matches!(&r[1], "DQ01" | "DQ04")
                && (r[10].contains("contribution_2025") || r[10].contains("contribution_2026"))
        })
        .map(|r| r[10].to_string())
        .collect();
    sources.sort_unstable();
    assert_eq!(
        sources,
        [
            "contribution:contribution_202510.tsv:2",
            "contribution:contribution_202510.tsv:3",
            "contribution:contribution_202510.tsv:4",
            "contribution:contribution_202510.tsv:5",
            "contribution:contribution_202512.tsv:5",
            "contribution:contribution_202601.tsv:2",
        ],
        "{findings}"
    );
    // Only the rows issued with another value are conflicts.
    let conflicts = read(out.join("conflicts.csv"));
    assert_eq!(
        conflicts
            .lines()
            .filter(|l| l.starts_with("contribution,"))
            .count(),
        2,
        "{conflicts}"
    );
}

/// A value under an empty header cell after the header's last named one
/// (a trailing comma on the header, a column added without a name) is not
/// read, and the column is listed with the unknown ones, not passed over
/// (helper-127's audit: dropped without a word, in a workbook and here).
#[test]
fn a_column_without_a_header_that_holds_values_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    std::fs::write(
        input.join("pension_202512.csv"),
        "姓名,身份证号,,发放月份,发放金额（元）,\n\
         张三,341122198202030027,备注,202511,100.00,补发\n\
         李四,341122198202040025,,202511,100.00,\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let file = manifest_input(&out, "pension_202512.csv");
    assert_eq!(file["rows_accepted"], 2, "{file}");
    // Between named columns too (helper-132's audit).
    assert_eq!(
        file["unknown_columns"],
        serde_json::json!(["（无表头）第 3 列", "（无表头）第 6 列"]),
        "{file}"
    );
    // The sample's own pension file has no such column.
    let own = manifest_input(&out, "pension_202511.csv");
    assert_eq!(own["unknown_columns"], serde_json::json!([]), "{own}");
}

/// A second ID column (a guardian's, a head's) whose number is invalid and
/// cannot be repaired, or destroyed by scientific notation, raises the
/// row's DQ01 or DQ04 as the row's own ID would (helper-125's audit: such
/// numbers were dropped without a word); a row with two such numbers raises
/// one finding that names both. A housing_safety row of a person in no
/// roster household places its DQ finding in the row's township.
#[test]
fn invalid_second_id_columns_are_flagged_and_housing_rows_placed() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_copy(dir.path());
    std::fs::write(
        input.join("education_202512.csv"),
        "学生姓名,学生身份证号,出生日期,学校名称,学段,资助项目,资助金额（元）,困境类型,监护人姓名,监护人身份证号,学年\n\
         王小虎,341122201403042226,2014-03-04,城关小学,小学,营养改善,800,无,王建国,341222198005161299,2025-2026\n\
         王小龙,341122201403052221,2014-03-05,城关小学,小学,营养改善,800,无,王建华,3.41122E+17,2025-2026\n\
         王小豹,341122201403062299,2014-03-06,城关小学,小学,营养改善,800,无,王建民,341222198005161288,2025-2026\n",
    )
    .unwrap();
    std::fs::write(
        input.join("housing_safety_202512.csv"),
        "户主姓名,户主身份证号,乡镇,村,鉴定等级,鉴定日期,改造状态\n\
         孙三木,无,新桥乡,南村,B,2025-03-01,未纳入\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    assert_ok(&run_batch(&input, &out, "2"));
    let findings = read(out.join("findings.csv"));
    let mut r = csv::Reader::from_reader(findings.trim_start_matches('\u{feff}').as_bytes());
    let mut found: Vec<(String, String, String, String)> = r
        .records()
        .map(|r| r.unwrap())
        .filter(|r| {
            matches!(&r[1], "DQ01" | "DQ04")
                && (r[10].contains("education_202512") || r[10].contains("housing_safety_202512"))
        })
        .map(|r| {
            (
                r[1].to_string(),
                r[7].to_string(),
                r[9].to_string(),
                r[10].to_string(),
            )
        })
        .collect();
    found.sort_unstable();
    assert_eq!(
        found,
        [
            (
                "DQ01",
                "",
                "监护人身份证号「341222198005161299」校验位或出生日期错误，无法唯一修复，未用于关联",
                "education:education_202512.csv:2"
            ),
            (
                "DQ01",
                "",
                "身份证号「341122201403062299」校验位或出生日期错误，无法唯一修复，记录未关联；\
                 监护人身份证号「341222198005161288」校验位或出生日期错误，无法唯一修复，未用于关联",
                "education:education_202512.csv:4"
            ),
            (
                "DQ01",
                "新桥乡",
                "身份证号为「无」（未填写），记录未关联",
                "housing_safety:housing_safety_202512.csv:2"
            ),
            (
                "DQ04",
                "",
                "监护人身份证号「3.41122E+17」已被 Excel 科学计数法损坏，后几位无法恢复",
                "education:education_202512.csv:3"
            ),
        ]
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string())),
        "{findings}"
    );
}

/// Transparent huge pages: off for a run with its tables in memory, on for
/// one with them on disk, and as `MIMALLOC_ALLOW_THP` says when it is set;
/// the engine's log line tells which the process got.
#[cfg(target_os = "linux")]
#[test]
fn huge_pages_are_off_in_memory_and_on_with_tables_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample");
    let engine_line = |tables: &str, allow: Option<&str>| {
        let config = tables_config(dir.path(), tables);
        let out = dir
            .path()
            .join(format!("{tables}-{}", allow.unwrap_or("unset")));
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hedui"));
        command
            .args(["--log-format", "json", "run", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(out.join("out"))
            .args(["--as-of", "2025-11-30", "--config"])
            .arg(&config)
            .env("RUST_LOG", "hedui=info")
            .env_remove("MIMALLOC_ALLOW_THP");
        if let Some(allow) = allow {
            command.env("MIMALLOC_ALLOW_THP", allow);
        }
        let output = command.output().unwrap();
        assert_ok(&output);
        let log = String::from_utf8_lossy(&output.stderr).into_owned();
        log.lines()
            .find(|l| l.contains("\"message\":\"engine\""))
            .unwrap_or_else(|| panic!("no engine line: {log}"))
            .to_string()
    };
    let has = |line: &str, on: bool| line.contains(&format!("\"huge_pages\":{on}"));
    let memory = engine_line("memory", None);
    assert!(has(&memory, false), "{memory}");
    let disk = engine_line("disk", None);
    assert!(has(&disk, true), "{disk}");
    let allowed = engine_line("memory", Some("1"));
    assert!(has(&allowed, true), "{allowed}");
    let forbidden = engine_line("disk", Some("0"));
    assert!(has(&forbidden, false), "{forbidden}");
}
