//! What the people-facing reports show, shared by report.xlsx and
//! report.html: the columns and their Chinese headers, each finding as the
//! cells a reviewer reads (masked unless the run is `--unmasked`, the
//! reviewer's verdict and note pre-filled), which table a finding belongs to
//! (its rule, 已核销 or 已消失), and the summary counts per rule × township.
//! Also writes both reports, into a staged output folder or beside the
//! machine files of an existing one.

use std::collections::BTreeMap;
use std::path::Path;

use crate::report::findings::FindingRow;
use crate::report::mask;
use crate::report::output::{StagedOutput, create_private, write_private};
use crate::report::people::{DISMISSED, PeopleReport, Review};
use crate::report::{html, xlsx};
use crate::rules::{RULES, rule_info};

/// The columns of every findings table, in order. `finding_id`, `规则`,
/// `核查结论` and `备注` are the keys the review import reads: never rename
/// them.
pub const HEADERS: [&str; 15] = [
    "finding_id",
    RULE_HEADER,
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
    VERDICT_HEADER,
    NOTE_HEADER,
];

/// The rule column (`CB01 收入超标`), which the review import checks
/// against each finding_id's case.
pub const RULE_HEADER: &str = "规则";
pub const VERDICT_HEADER: &str = "核查结论";
pub const NOTE_HEADER: &str = "备注";
/// Hidden columns of report.xlsx's findings sheets after [`HEADERS`]: the
/// verdict and note the workbook was made with, so that the review import
/// changes only what a reviewer changed (an empty cell in a copy made
/// before another reviewer's verdict was imported does not clear it).
pub const SHOWN_VERDICT_HEADER: &str = "原核查结论";
pub const SHOWN_NOTE_HEADER: &str = "原备注";
/// Index of the 核查结论 column in [`HEADERS`].
pub const VERDICT_COLUMN: usize = 13;
/// Index of the 备注 column in [`HEADERS`].
pub const NOTE_COLUMN: usize = 14;
/// Index of the 核查依据 column in [`HEADERS`].
pub const EVIDENCE_COLUMN: usize = 9;
/// Index of the 身份证号 column in [`HEADERS`].
pub const ID_COLUMN: usize = 5;

/// The table of findings a reviewer closed as 不属实 (case status starting
/// with [`DISMISSED`]).
pub const DISMISSED_TABLE: &str = "已核销";
/// The table of cases the ledger held open that this run no longer raises.
pub const DISAPPEARED_TABLE: &str = "已消失";
/// The summary's column for findings about persons in no township.
pub const NO_TOWNSHIP: &str = "（无乡镇）";

/// The rule's code and label as a reader sees it: `CB01 收入超标`.
pub fn rule_title(code: &str) -> String {
    match rule_info(code) {
        Some(info) => format!("{} {}", info.code, info.label),
        None => code.to_string(),
    }
}

/// How a person was linked, in words, with the machine code kept in
/// brackets so that it can be matched with findings.csv.
pub fn match_label(matched: &str) -> String {
    let (method, score) = matched.split_once(':').unwrap_or((matched, ""));
    let words = match method {
        "exact" => "号码一致",
        "normalized" => "号码清洗后一致",
        "legacy15" => "15位升18位",
        "repaired" => "校验位修正",
        "name_birth" => "姓名+出生日期",
        "unlinked" => "未关联",
        "" => return String::new(),
        _ => return matched.to_string(),
    };
    if score.is_empty() {
        format!("{words}（{method}）")
    } else {
        format!("{words} {score}（{method}）")
    }
}

/// Whether a finding of this run belongs on the 已核销 table.
pub fn is_dismissed(row: &FindingRow) -> bool {
    row.case_status.starts_with(DISMISSED)
}

/// [`cells`] of each of `rows` (findings of `report`), in order; worked
/// out side by side (masking is most of a report's own work). Each report
/// works them out for itself, a sheet (xlsx) or a block of findings (html)
/// at a time: held for both,
/// a city's cells would sit beside the links' sort (see run.rs's writers).
pub fn cells_of(report: &PeopleReport, rows: &[&FindingRow]) -> Vec<[String; 15]> {
    use rayon::prelude::*;
    rows.par_iter()
        .with_min_len(1024)
        .map(|r| cells(r, report.reviews.get(&r.finding_id), report.masked))
        .collect()
}

/// One finding as the cells of [`HEADERS`], masked when asked.
pub fn cells(row: &FindingRow, review: Option<&Review>, masked: bool) -> [String; 15] {
    // Some sites number a household by its head's ID number.
    let (household, id, name, evidence, sources) = if masked {
        (
            mask::mask_household(&row.household_id),
            mask::mask_id(&row.id_number),
            mask::mask_name(&row.name),
            mask::mask_evidence(&row.evidence, &row.name),
            // A sheet may be named after a household head's ID number.
            mask::mask_sources(&row.sources),
        )
    } else {
        (
            row.household_id.clone(),
            row.id_number.clone(),
            row.name.clone(),
            row.evidence.clone(),
            row.sources.clone(),
        )
    };
    let mut review = review.cloned().unwrap_or_default();
    if masked {
        // A reviewer may have written an ID number or the person's name
        // into the note.
        review.note = mask::mask_note(&review.note, &row.name);
    }
    [
        row.finding_id.clone(),
        rule_title(&row.rule),
        row.kind.clone(),
        row.severity.clone(),
        household,
        id,
        name,
        row.township.clone(),
        row.village.clone(),
        evidence,
        sources,
        match_label(&row.matched),
        row.case_status.clone(),
        review.verdict,
        review.note,
    ]
}

/// The findings tables of a report, in the order they are shown: one per
/// rule with findings (in rule order of findings.csv), then 已核销, then
/// 已消失 — each only when it holds a row. Rows keep the order of
/// findings.csv.
pub fn tables<'a>(report: &PeopleReport<'a>) -> Vec<(String, Vec<&'a FindingRow>)> {
    let mut by_rule: BTreeMap<(usize, &str), Vec<&'a FindingRow>> = BTreeMap::new();
    let mut dismissed = Vec::new();
    for row in report.findings {
        if is_dismissed(row) {
            dismissed.push(row);
        } else {
            let order = RULES
                .iter()
                .position(|r| r.code == row.rule)
                .unwrap_or(RULES.len());
            by_rule.entry((order, &row.rule)).or_default().push(row);
        }
    }
    let mut tables: Vec<(String, Vec<&FindingRow>)> = by_rule
        .into_iter()
        .map(|((_, code), rows)| (rule_title(code), rows))
        .collect();
    if !dismissed.is_empty() {
        tables.push((DISMISSED_TABLE.to_string(), dismissed));
    }
    if !report.disappeared.is_empty() {
        tables.push((
            DISAPPEARED_TABLE.to_string(),
            report.disappeared.iter().collect(),
        ));
    }
    tables
}

/// One row of the summary: a rule and its findings per township.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    pub code: String,
    pub label: String,
    pub kind: String,
    /// One count per [`Summary::townships`].
    pub counts: Vec<u64>,
    pub total: u64,
    /// The rule did not run: an extract it needs was missing and marked
    /// optional. Its counts are no finding's, and a report must not show
    /// them as a rule that found nothing.
    pub skipped: bool,
}

/// The findings of this run counted per rule × township, totals both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Townships in name order, [`NO_TOWNSHIP`] last when present.
    pub townships: Vec<String>,
    /// Every rule of the catalogue in its order (zero rows included), then
    /// any other rule code found.
    pub rules: Vec<SummaryRow>,
    pub township_totals: Vec<u64>,
    pub total: u64,
    /// Of the findings, those on the 已核销 table.
    pub dismissed: u64,
    /// Cases that disappeared since the last run (not in the counts).
    pub disappeared: u64,
}

fn township_of(row: &FindingRow) -> &str {
    if row.township.trim().is_empty() {
        NO_TOWNSHIP
    } else {
        &row.township
    }
}

/// Counts the findings of a report.
pub fn summary(report: &PeopleReport) -> Summary {
    let mut townships: Vec<String> = report
        .findings
        .iter()
        .map(|r| township_of(r).to_string())
        .filter(|t| t != NO_TOWNSHIP)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if report
        .findings
        .iter()
        .any(|r| township_of(r) == NO_TOWNSHIP)
    {
        townships.push(NO_TOWNSHIP.to_string());
    }
    let column: BTreeMap<&str, usize> = townships
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let mut rules: Vec<SummaryRow> = RULES
        .iter()
        .map(|r| SummaryRow {
            code: r.code.to_string(),
            label: r.label.to_string(),
            kind: r.kind.to_string(),
            counts: vec![0; townships.len()],
            total: 0,
            skipped: r
                .needs
                .iter()
                .any(|t| report.manifest.missing_optional.iter().any(|m| m == t)),
        })
        .collect();
    let mut township_totals = vec![0; townships.len()];
    for row in report.findings {
        let i = match rules.iter().position(|r| r.code == row.rule) {
            Some(i) => i,
            None => {
                rules.push(SummaryRow {
                    code: row.rule.clone(),
                    label: String::new(),
                    kind: row.kind.clone(),
                    counts: vec![0; townships.len()],
                    total: 0,
                    skipped: false,
                });
                rules.len() - 1
            }
        };
        let t = column[township_of(row)];
        rules[i].counts[t] += 1;
        rules[i].total += 1;
        township_totals[t] += 1;
    }
    Summary {
        townships,
        rules,
        township_totals,
        total: report.findings.len() as u64,
        dismissed: report.findings.iter().filter(|r| is_dismissed(r)).count() as u64,
        disappeared: report.disappeared.len() as u64,
    }
}

/// The title of the reports' [`run_notes`].
pub const NOTES_TITLE: &str = "运行提示";
/// What the summary shows in a skipped rule's total ([`SummaryRow::skipped`]).
pub const SKIPPED: &str = "已跳过（缺少可选抽取）";
/// The most names of files (or of one workbook's sheets) a note lists
/// (unmasked); the rest are counted.
pub const NOTE_NAMES: usize = 20;

/// What a reviewer should know of how the run went, one line each, as the
/// reports show them under 运行提示: the manifest's problems of a completed
/// run (rules skipped, a shrink let through, a batch of another place, a
/// township standard unused: the tool's own words, naming no one), the
/// files of the input folder that were not read, and the sheets of a
/// workbook that were not read or were read though hidden. Those files and
/// sheets may be named anything, a person's name too (`低保户张三明.txt`,
/// a sheet `王芳补发`), which masking cannot always tell: a masked report
/// counts them, and manifest.json names them; an unmasked one names the
/// first [`NOTE_NAMES`]. Empty when there is nothing to say.
pub fn run_notes(report: &PeopleReport) -> Vec<String> {
    let m = report.manifest;
    let mut notes = m.problems.clone();
    if !m.ignored.is_empty() {
        notes.push(format!(
            "输入目录中有 {n} 个文件未识别、未读取 / {n} files in the input folder not read{}",
            listed(&m.ignored, report.masked, "ignored"),
            n = m.ignored.len()
        ));
    }
    for a in &m.inputs {
        // The sheets of another type's header have notes of their own.
        let unheaded = a.sheets_without_header();
        for (sheets, what) in [
            (
                &unheaded,
                "个工作表未读取（无表头，或只是人员名单） / sheets not read (no header row, or a list of persons only)",
            ),
            (
                &a.hidden_sheets,
                "个隐藏工作表作为数据读取 / hidden sheets read as data",
            ),
        ] {
            if sheets.is_empty() {
                continue;
            }
            notes.push(format!(
                "{} 中有 {} {what}{}",
                mask::mask_file_name(&a.file, report.masked),
                sheets.len(),
                listed(sheets, report.masked, "inputs")
            ));
        }
        notes.extend(other_type_notes(a, report.masked));
    }
    notes
}

/// The notes of a workbook's sheets not read because their header is
/// another extract type's, one per type, and of the tables of another
/// type's header below a file's rows, one per table: what they are and what
/// to do; masked, counted, not named (see [`run_notes`]).
pub fn other_type_notes(a: &crate::input::FileAccount, masked: bool) -> Vec<String> {
    let mut by_type: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in &a.other_type_sheets {
        by_type.entry(&s.extract).or_default().push(s.sheet.clone());
    }
    let tables = a.other_type_tables.iter().map(|t| {
        let label = crate::extract::by_name(&t.extract).map_or(t.extract.as_str(), |d| d.label);
        let sheet = match (&t.sheet, masked) {
            (None, _) => String::new(),
            (Some(_), true) => "一个工作表（名称见 manifest.json 的 inputs）的".to_string(),
            (Some(s), false) => format!("工作表 {s} 的"),
        };
        format!(
            "{file} 中{sheet}第 {row} 行起是{label}（{extract}）的表格，其下 {n} 行未读取，已列入 rejects.csv（other_type_table）；若要读取，请把该表格另存为单独的 {extract}_… 文件 / \
             a {extract} table from row {row}: its {n} row(s) rejected (rejects.csv, other_type_table); save it as a file of its own named {extract}_…",
            file = mask::mask_file_name(&a.file, masked),
            row = t.header_row,
            n = t.rows,
            extract = t.extract,
        )
    });
    let sheets = by_type
        .into_iter()
        .map(|(extract, sheets)| {
            let label = crate::extract::by_name(extract).map_or(extract, |d| d.label);
            let (it, each) = if sheets.len() == 1 {
                ("该工作表", "it")
            } else {
                ("这些工作表分别", "each")
            };
            format!(
                "{file} 中有 {n} 个工作表的表头是{label}（{extract}）的，未读取（一个文件只读取一类数据）；若要读取，请把{it}另存为单独的 {extract}_… 文件 / \
                 {n} sheet(s) with a {extract} header not read (a file holds one kind of data): save {each} as a file of its own named {extract}_…{names}",
                file = mask::mask_file_name(&a.file, masked),
                n = sheets.len(),
                names = listed(&sheets, masked, "inputs"),
            )
        })
        .collect::<Vec<String>>();
    sheets.into_iter().chain(tables).collect()
}

/// The names a note lists: none in a masked report (where manifest.json's
/// `key` names them), else the first [`NOTE_NAMES`] and how many more.
fn listed(names: &[String], masked: bool, key: &str) -> String {
    if masked {
        return format!("（名称见 manifest.json 的 {key} / named in manifest.json's {key}）");
    }
    let shown: Vec<&str> = names.iter().take(NOTE_NAMES).map(String::as_str).collect();
    let more = names.len().saturating_sub(NOTE_NAMES);
    let rest = if more > 0 {
        format!(" 等，另有 {more} 个 / and {more} more")
    } else {
        String::new()
    };
    format!(": {}{rest}", shown.join("、"))
}

/// The masking state in words, for both reports.
pub fn masking_note(masked: bool) -> &'static str {
    if masked {
        "身份证号与姓名已脱敏"
    } else {
        "未脱敏：含完整身份证号与姓名，请妥善保管"
    }
}

/// A failure writing the people-facing reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("写入报告失败 / writing a report failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("生成 report.xlsx 失败 / building report.xlsx failed: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

pub const XLSX_FILE: &str = "report.xlsx";
pub const HTML_FILE: &str = "report.html";

/// Writes report.xlsx and report.html into a staged output folder (owner
/// readable only; swapped into place with the rest of the output).
pub fn write_staged(staged: &StagedOutput, report: &PeopleReport) -> Result<(), ReportError> {
    write_staged_xlsx(staged, report)?;
    write_staged_html(staged, report)
}

/// report.xlsx alone into a staged output (for writing it beside the others).
pub fn write_staged_xlsx(staged: &StagedOutput, report: &PeopleReport) -> Result<(), ReportError> {
    use std::io::Write as _;
    let mut f = staged.create_output(XLSX_FILE)?;
    f.write_all(&xlsx::render(report, staged.path())?)?;
    f.finish()?;
    Ok(())
}

/// report.html alone into a staged output, written as it is made.
pub fn write_staged_html(staged: &StagedOutput, report: &PeopleReport) -> Result<(), ReportError> {
    use std::io::Write as _;
    let mut f = staged.create_output(HTML_FILE)?;
    let mut page = std::io::BufWriter::with_capacity(1 << 20, &mut f);
    html::render_to(&mut page, report)?;
    page.flush()?;
    drop(page);
    f.finish()?;
    Ok(())
}

/// Writes report.xlsx and report.html into an existing folder: each to a
/// hidden temporary file (owner readable only), both renamed over the old
/// ones once both are written, so that a reader never sees half a report.
/// When either cannot be written, neither is replaced; when a rename
/// fails, the reports renamed before it stay. No temporary file is left
/// behind either way.
pub fn write_into(dir: &Path, report: &PeopleReport) -> Result<(), ReportError> {
    let tmp = |name: &str| dir.join(format!(".{name}.tmp"));
    let written = (|| -> Result<(), ReportError> {
        write_private(&tmp(XLSX_FILE), &xlsx::render(report, dir)?)?;
        // The page is written as it is made (see write_staged_html).
        let page = create_private(&tmp(HTML_FILE))?;
        let mut page = std::io::BufWriter::with_capacity(1 << 20, page);
        html::render_to(&mut page, report)?;
        page.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(())
    })();
    let renamed = written.and_then(|()| {
        for name in [XLSX_FILE, HTML_FILE] {
            std::fs::rename(tmp(name), dir.join(name))?;
        }
        Ok(())
    });
    if renamed.is_err() {
        // No temporary file is left behind (a report renamed already
        // stays: two renames cannot be one).
        for name in [XLSX_FILE, HTML_FILE] {
            let _ = std::fs::remove_file(tmp(name));
        }
    }
    renamed
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::manifest::Manifest;

    /// A masked report of `rows`, with no case gone since the last run.
    pub(crate) fn masked_report<'a>(
        manifest: &'a Manifest,
        rows: &'a [FindingRow],
        reviews: &'a BTreeMap<String, Review>,
    ) -> PeopleReport<'a> {
        PeopleReport {
            manifest,
            findings: rows,
            reviews,
            disappeared: &[],
            masked: true,
        }
    }

    pub(crate) fn manifest() -> Manifest {
        Manifest {
            tool: "hedui",
            version: "0.0.0",
            command: "run".to_string(),
            as_of: "2025-11-30".to_string(),
            config_sha256: String::new(),
            config: Default::default(),
            inputs: vec![crate::input::FileAccount {
                file: "roster_202511.xlsx".into(),
                extract: "roster".into(),
                rows_read: 10,
                rows_accepted: 8,
                rows_rejected: 1,
                rows_skipped: 1,
                rows_duplicate: 2,
                ..Default::default()
            }],
            ignored: vec![],
            missing_optional: vec![],
            stages: vec![],
            findings_per_rule: BTreeMap::new(),
            status: "ok".to_string(),
            problems: vec![],
            masked: true,
            allow_shrink: false,
            cases: None,
            disappeared_cases: Vec::new(),
        }
    }

    pub(crate) fn finding(rule: &str, township: &str, id: &str, name: &str) -> FindingRow {
        let info = rule_info(rule);
        FindingRow {
            finding_id: crate::report::findings::finding_id(rule, "", id, None),
            rule: rule.to_string(),
            kind: info.map(|i| i.kind.to_string()).unwrap_or_default(),
            severity: info.map(|i| i.severity.to_string()).unwrap_or_default(),
            household_id: "H001".to_string(),
            id_number: id.to_string(),
            name: name.to_string(),
            township: township.to_string(),
            village: "东街社区".to_string(),
            evidence: format!("同一身份证号对应不同姓名：{name}、王五"),
            sources: "roster:roster_202511.xlsx:城关镇!3".to_string(),
            matched: "repaired:0.93".to_string(),
            case_status: String::new(),
        }
    }

    /// A report that cannot be written (here its page's temporary file is
    /// taken by a folder) replaces neither report, and neither it nor one
    /// that cannot be renamed into place leaves a temporary file behind.
    #[test]
    fn reports_that_cannot_be_written_replace_neither_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(XLSX_FILE), b"old").unwrap();
        std::fs::create_dir(dir.path().join(format!(".{HTML_FILE}.tmp"))).unwrap();
        let m = manifest();
        let (rows, reviews) = (vec![], BTreeMap::new());
        let report = masked_report(&m, &rows, &reviews);
        assert!(write_into(dir.path(), &report).is_err());
        assert_eq!(std::fs::read(dir.path().join(XLSX_FILE)).unwrap(), b"old");
        assert!(!dir.path().join(HTML_FILE).exists());
        assert!(!dir.path().join(format!(".{XLSX_FILE}.tmp")).exists());
        // A page that cannot be renamed into place (a folder holds its
        // name) leaves no temporary file either.
        std::fs::remove_dir(dir.path().join(format!(".{HTML_FILE}.tmp"))).unwrap();
        std::fs::create_dir(dir.path().join(HTML_FILE)).unwrap();
        std::fs::write(dir.path().join(HTML_FILE).join("x"), b"x").unwrap();
        assert!(write_into(dir.path(), &report).is_err());
        for name in [XLSX_FILE, HTML_FILE] {
            assert!(!dir.path().join(format!(".{name}.tmp")).exists(), "{name}");
        }
        // Once the way is clear, both are written.
        std::fs::remove_dir_all(dir.path().join(HTML_FILE)).unwrap();
        write_into(dir.path(), &report).unwrap();
        assert!(std::fs::read(dir.path().join(XLSX_FILE)).unwrap() != b"old");
        assert!(dir.path().join(HTML_FILE).is_file());
    }

    #[test]
    fn summary_counts_rules_by_township_with_totals() {
        let m = manifest();
        let rows = vec![
            finding("CB01", "城关镇", "110105199001011234", "张三明"),
            finding("CB01", "河西乡", "110105199001011235", "李四"),
            finding("CB01", "河西乡", "110105199001011236", "李五"),
            finding("DQ01", "", "", "孙丽"),
        ];
        let reviews = BTreeMap::new();
        let report = masked_report(&m, &rows, &reviews);
        let s = summary(&report);
        assert_eq!(s.townships, ["城关镇", "河西乡", NO_TOWNSHIP]);
        assert_eq!(s.rules.len(), RULES.len());
        assert_eq!(s.rules[0].code, "CB01");
        assert_eq!(s.rules[0].counts, [1, 2, 0]);
        assert_eq!(s.rules[0].total, 3);
        let dq01 = s.rules.iter().find(|r| r.code == "DQ01").unwrap();
        assert_eq!(dq01.counts, [0, 0, 1]);
        assert_eq!(s.township_totals, [1, 2, 1]);
        assert_eq!(s.total, 4);
        assert!(s.rules.iter().all(|r| !r.skipped), "every rule ran");
    }

    /// A rule whose extract was missing (and optional) did not run: the
    /// summary marks it, and the notes say what a reviewer should know:
    /// masked, how many files and sheets were not read (they may be named
    /// after a person, which masking cannot always tell); unmasked, their
    /// names, the first 20 of them.
    #[test]
    fn skipped_rules_are_marked_and_the_run_s_notes_name_no_one_masked() {
        let mut m = manifest();
        m.missing_optional = vec!["unemployment".into()];
        m.problems = vec!["因缺少可选抽取而跳过的规则 / rules skipped …: LB04".into()];
        m.ignored = vec!["低保户张三明.txt".into(), "readme.txt".into()];
        m.inputs[0].ignored_sheets = vec!["说明".into()];
        m.inputs[0].hidden_sheets = vec!["王芳补发".into(), "x".into()];
        let (rows, reviews) = (vec![], BTreeMap::new());
        let report = masked_report(&m, &rows, &reviews);
        let s = summary(&report);
        let skipped: Vec<_> = s.rules.iter().filter(|r| r.skipped).collect();
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].code, "LB04");
        let notes = run_notes(&report);
        assert_eq!(notes.len(), 4, "{notes:?}");
        assert!(notes[0].ends_with("LB04"));
        assert!(
            notes[1].starts_with("输入目录中有 2 个文件未识别"),
            "{}",
            notes[1]
        );
        assert!(
            notes[1].contains("manifest.json 的 ignored"),
            "{}",
            notes[1]
        );
        assert!(
            notes[2].starts_with("roster_202511.xlsx 中有 1 个工作表未读取"),
            "{}",
            notes[2]
        );
        assert!(notes[3].contains("有 2 个隐藏工作表"), "{}", notes[3]);
        for name in ["张三明", "readme", "说明", "王芳"] {
            assert!(!notes.concat().contains(name), "{name}: {notes:?}");
        }
        let unmasked = PeopleReport {
            masked: false,
            ..masked_report(&m, &rows, &reviews)
        };
        let notes = run_notes(&unmasked);
        assert!(
            notes[1].ends_with(": 低保户张三明.txt、readme.txt"),
            "{}",
            notes[1]
        );
        assert!(notes[2].ends_with(": 说明"), "{}", notes[2]);
        assert!(notes[3].ends_with(": 王芳补发、x"), "{}", notes[3]);
        // A folder of many files: the first 20 named, the rest counted.
        m.ignored = (1..=1500).map(|i| format!("scan_{i:04}.pdf")).collect();
        let many = run_notes(&PeopleReport {
            masked: false,
            ..masked_report(&m, &rows, &reviews)
        });
        assert!(
            many[1].contains("scan_0020.pdf 等，另有 1480 个"),
            "{}",
            many[1]
        );
        assert!(!many[1].contains("scan_0021.pdf"));
        // A run with nothing to say has no notes.
        let plain = manifest();
        assert!(run_notes(&masked_report(&plain, &rows, &reviews)).is_empty());
    }

    /// A sheet whose header is another extract type's gets a note of its
    /// own, by type: what it is and what to do; masked, without the
    /// sheet's name (it may be a person's).
    #[test]
    fn a_sheet_of_another_type_is_noted_with_what_to_do() {
        use crate::input::OtherTypeSheet;
        let mut m = manifest();
        m.inputs[0].ignored_sheets = vec!["失业".into(), "唐言之家".into()];
        m.inputs[0].other_type_sheets = ["失业", "唐言之家"]
            .map(|sheet| OtherTypeSheet {
                sheet: sheet.into(),
                extract: "unemployment".into(),
            })
            .to_vec();
        let (rows, reviews) = (vec![], BTreeMap::new());
        let notes = run_notes(&masked_report(&m, &rows, &reviews));
        // Counted once: not among the sheets without a header too.
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with(
                "roster_202511.xlsx 中有 2 个工作表的表头是失业登记（unemployment）的，未读取"
            ),
            "{}",
            notes[0]
        );
        assert!(notes[0].contains("unemployment_…"), "{}", notes[0]);
        assert!(!notes.concat().contains("唐言之"), "{notes:?}");
        let unmasked = run_notes(&PeopleReport {
            masked: false,
            ..masked_report(&m, &rows, &reviews)
        });
        assert!(unmasked[0].ends_with(": 失业、唐言之家"), "{}", unmasked[0]);
    }

    /// A table of another type below a file's rows: a note of its own,
    /// naming the row; its sheet's name only unmasked (it may be a
    /// person's).
    #[test]
    fn a_table_of_another_type_is_noted_with_its_row() {
        use crate::input::OtherTypeTable;
        let mut m = manifest();
        m.inputs[0].other_type_tables = vec![OtherTypeTable {
            sheet: Some("唐言之家".into()),
            header_row: 40,
            rows: 12,
            extract: "property".into(),
        }];
        let (rows, reviews) = (vec![], BTreeMap::new());
        let notes = run_notes(&masked_report(&m, &rows, &reviews));
        assert_eq!(
            notes,
            [
                "roster_202511.xlsx 中一个工作表（名称见 manifest.json 的 inputs）的第 40 行起是不动产登记（property）的表格，其下 12 行未读取，已列入 rejects.csv（other_type_table）；若要读取，请把该表格另存为单独的 property_… 文件 / a property table from row 40: its 12 row(s) rejected (rejects.csv, other_type_table); save it as a file of its own named property_…"
            ]
        );
        let unmasked = run_notes(&PeopleReport {
            masked: false,
            ..masked_report(&m, &rows, &reviews)
        });
        assert!(
            unmasked[0].starts_with("roster_202511.xlsx 中工作表 唐言之家 的第 40 行起"),
            "{}",
            unmasked[0]
        );
    }

    #[test]
    fn dismissed_and_disappeared_get_their_own_tables() {
        let m = manifest();
        let mut gone = finding("CB02", "城关镇", "110105199001011239", "赵六");
        gone.case_status = DISAPPEARED_TABLE.to_string();
        let mut closed = finding("CB01", "城关镇", "110105199001011235", "李四");
        closed.case_status = format!("{DISMISSED}（不属实）");
        let rows = vec![
            finding("CB01", "城关镇", "110105199001011234", "张三明"),
            closed,
            finding("DQ01", "", "", "孙丽"),
        ];
        let disappeared = vec![gone];
        let reviews = BTreeMap::new();
        let report = PeopleReport {
            manifest: &m,
            findings: &rows,
            reviews: &reviews,
            disappeared: &disappeared,
            masked: true,
        };
        let names: Vec<(String, usize)> = tables(&report)
            .into_iter()
            .map(|(n, rows)| (n, rows.len()))
            .collect();
        assert_eq!(
            names,
            [
                ("CB01 收入超标".to_string(), 1),
                ("DQ01 身份证号无效".to_string(), 1),
                ("已核销".to_string(), 1),
                ("已消失".to_string(), 1),
            ]
        );
        assert_eq!(summary(&report).dismissed, 1);
    }

    #[test]
    fn cells_mask_id_name_and_evidence_and_prefill_the_review() {
        let row = finding("DQ02", "城关镇", "110105199001011234", "张三明");
        let review = Review {
            verdict: "属实".into(),
            note: "已入户核实".into(),
        };
        let masked = cells(&row, Some(&review), true);
        assert_eq!(masked[ID_COLUMN], "110105********1234");
        assert_eq!(masked[6], "张*明");
        assert_eq!(masked[9], "同一身份证号对应不同姓名：张*明、王*");
        assert_eq!(masked[VERDICT_COLUMN], "属实");
        assert_eq!(masked[14], "已入户核实");
        assert_eq!(masked[11], "校验位修正 0.93（repaired）");
        let full = cells(&row, None, false);
        assert_eq!(full[ID_COLUMN], "110105199001011234");
        assert_eq!(full[6], "张三明");
        assert_eq!(full[9], row.evidence);
        assert_eq!(full[VERDICT_COLUMN], "");
        // A sheet named after its household head: his name and ID number.
        let mut row = row;
        row.sources = "roster:roster_202511.xlsx:张伟341122198001011238!3".into();
        assert_eq!(
            cells(&row, None, true)[10],
            "roster:roster_202511.xlsx:张*341122********1238!3"
        );
        assert_eq!(cells(&row, None, false)[10], row.sources);
    }

    #[test]
    fn a_household_numbered_by_an_id_number_is_masked() {
        let mut row = finding("CB01", "城关镇", "110105199001011234", "张三明");
        row.household_id = "110101199003078670".into();
        assert_eq!(cells(&row, None, true)[4], "110101********8670");
        assert_eq!(cells(&row, None, false)[4], "110101199003078670");
        row.household_id = "H-2025-0001".into();
        assert_eq!(cells(&row, None, true)[4], "H-2025-0001");
        // A code of county, township and sequence is no ID number.
        row.household_id = "341122004000611".into();
        assert_eq!(cells(&row, None, true)[4], "341122004000611");
        row.household_id = "341122001001008".into();
        assert_eq!(cells(&row, None, true)[4], "341122001001008");
        // A wrong check character still masks; an impossible date is a code.
        row.household_id = "110101199003078671".into();
        assert_eq!(cells(&row, None, true)[4], "110101********8671");
        row.household_id = "341122001001000123".into();
        assert_eq!(cells(&row, None, true)[4], "341122001001000123");
    }

    #[test]
    fn an_id_typed_full_width_or_in_groups_is_masked_in_a_note() {
        let row = finding("DQ02", "城关镇", "110105199001011234", "张三明");
        let review = Review {
            verdict: String::new(),
            note: "号码 １１０１０５１９９００１０１１２３４，又写 110105 19900101 1234，电话 138-0000".into(),
        };
        assert_eq!(
            cells(&row, Some(&review), true)[14],
            "号码 110105********1234，又写 110105********1234，电话 138-0000"
        );
    }

    #[test]
    fn a_note_is_masked_like_the_evidence() {
        let row = finding("DQ02", "城关镇", "110105199001011234", "张三明");
        let review = Review {
            verdict: "属实".into(),
            note: "张三明本人 110105199001011234 已核实".into(),
        };
        let masked = cells(&row, Some(&review), true);
        assert_eq!(masked[14], "张*明本人 110105********1234 已核实");
        assert_eq!(cells(&row, Some(&review), false)[14], review.note);
    }
}
