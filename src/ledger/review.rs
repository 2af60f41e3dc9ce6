//! `hedui review import`: the reviewers' verdicts back from report.xlsx into
//! the case ledger. Every sheet whose row 1 holds the headers `finding_id`,
//! `核查结论` and `备注` is read (the rule sheets, 已核销, 已消失); every cell
//! is checked first and nothing is imported unless all are good, in one
//! transaction.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use calamine::{Data, Reader, Xlsx};
use rusqlite::params;

use super::{Ledger, lock::RunLock};
use crate::error::HeduiError;
use crate::report::people::VERDICTS;
use crate::report::view::{RULE_HEADER, SHOWN_NOTE_HEADER, SHOWN_VERDICT_HEADER};

/// The header of the finding_id column.
pub const FINDING_ID_HEADER: &str = "finding_id";
/// The header of the verdict column.
pub const VERDICT_HEADER: &str = "核查结论";
/// The header of the note column.
pub const NOTE_HEADER: &str = "备注";
/// The longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Sheets read (those with the three headers).
    pub sheets: Vec<String>,
    /// Rows carrying a finding_id.
    pub rows: usize,
    /// Verdicts given where there was none.
    pub set: usize,
    /// Verdicts replaced by a different one.
    pub changed: usize,
    /// Verdicts removed (the cell left empty).
    pub cleared: usize,
    /// Notes that changed.
    pub notes: usize,
}

/// A sheet hedui's report writes: 汇总, 已核销, 已消失 and the rule sheets
/// (`CB02 房产超标`, `DQ03 身份证号已修正 (2)`).
pub(crate) fn is_report_sheet(name: &str) -> bool {
    use crate::report::view::{DISAPPEARED_TABLE, DISMISSED_TABLE};
    [
        crate::report::xlsx::SUMMARY_SHEET,
        DISMISSED_TABLE,
        DISAPPEARED_TABLE,
    ]
    .contains(&name)
        || name
            .split_once(' ')
            .is_some_and(|(code, _)| crate::config::is_rule_code(code))
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "已导入 / imported: {} 张工作表 sheets（{}），{} 行 rows",
            self.sheets.len(),
            self.sheets
                .iter()
                .map(|s| if is_report_sheet(s) {
                    s.clone()
                } else {
                    crate::report::mask::mask_label(s)
                })
                .collect::<Vec<_>>()
                .join("、"),
            self.rows
        )?;
        writeln!(f, "  新填结论 verdicts set:     {}", self.set)?;
        writeln!(f, "  修改结论 verdicts changed: {}", self.changed)?;
        writeln!(f, "  清除结论 verdicts cleared: {}", self.cleared)?;
        writeln!(f, "  备注变更 notes changed:    {}", self.notes)
    }
}

/// `A`, `B`, …, `Z`, `AA`, … for a 0-based column.
pub fn column_letters(col: u32) -> String {
    let mut n = col + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

/// `N17` for a 0-based (row, column).
fn cell_name(row: u32, col: u32) -> String {
    format!("{}{}", column_letters(col), row + 1)
}

/// How many bad cells an import that fails names one by one.
const MAX_LISTED_PROBLEMS: usize = 50;

/// A cell as text; `None` for a kind of value no column here takes.
fn cell_text(cell: Option<&Data>) -> Option<String> {
    Some(match cell {
        None | Some(Data::Empty) => String::new(),
        Some(Data::String(s)) => s.trim().to_string(),
        Some(Data::Int(i)) => i.to_string(),
        Some(Data::Float(x)) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Some(Data::Float(x)) => x.to_string(),
        Some(_) => return None,
    })
}

/// One row's values and where they stood: `None` where the cell holds
/// what the workbook was made with (its hidden columns
/// [`SHOWN_VERDICT_HEADER`] and [`SHOWN_NOTE_HEADER`]), which leaves the
/// ledger's value as it is now.
#[derive(Debug, Clone)]
struct Entry {
    verdict: Option<String>,
    note: Option<String>,
    at: String,
}

impl Entry {
    /// Whether the two say different things of one field.
    fn differs(&self, verdict: &Option<String>, note: &Option<String>) -> bool {
        let clash =
            |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if a != b);
        clash(&self.verdict, verdict) || clash(&self.note, note)
    }
}

/// The longest reviewer name `--reviewer` accepts, in characters.
pub const MAX_REVIEWER_CHARS: usize = 50;

/// `review import --reviewer`: the name trimmed, refused when empty, too
/// long, holding control or invisible characters, or starting as a
/// spreadsheet formula does.
pub fn reviewer_name(s: &str) -> Result<String, String> {
    let name = s.trim();
    if name.is_empty() {
        return Err("核查人不能为空 / the reviewer's name is empty".into());
    }
    if name.chars().count() > MAX_REVIEWER_CHARS {
        return Err(format!(
            "核查人超过 {MAX_REVIEWER_CHARS} 个字 / the reviewer's name is over {MAX_REVIEWER_CHARS} characters"
        ));
    }
    if name.chars().any(|c| c.is_control() || is_format_char(c)) {
        return Err(
            "核查人含控制字符或不可见字符 / the reviewer's name holds control or invisible characters"
                .into(),
        );
    }
    // Opened in Excel, `hedui cases --format csv` would run it as a formula.
    if name.starts_with(['=', '+', '-', '@']) {
        return Err(
            "核查人不能以 = + - @ 开头 / the reviewer's name cannot start with = + - @".into(),
        );
    }
    Ok(name.to_string())
}

/// Invisible characters that change how text reads or breaks it into
/// lines: Unicode's format characters (direction marks and overrides,
/// zero-width characters, the BOM, the soft hyphen, interlinear
/// annotation marks), the line and paragraph separators, and the other
/// default-ignorable ones (fillers, variation selectors, the combining
/// grapheme joiner).
fn is_format_char(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{E0000}'..='\u{E0FFF}')
}

/// The system user running the import, for the verdict log: `USER` or
/// `LOGNAME` as the shell sets them (`sudo -u hedui` sets both), else the
/// process's user ID.
fn system_user() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Ok(user) = std::env::var(var) {
            // As the environment gives it, but on one line.
            let user: String = user
                .trim()
                .chars()
                .filter(|&c| !c.is_control() && !is_format_char(c))
                .collect();
            if !user.is_empty() {
                return user;
            }
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            return format!("uid {}", meta.uid());
        }
    }
    "（未知）".to_string()
}

/// Imports the verdicts and notes of a report workbook into the ledger of
/// `state`, each change entered in the verdict log with `reviewer` (the
/// person who reviewed, when named) beside the system user who imported.
/// Bad cells are all reported at once (exit 4) and nothing is imported; a
/// run in progress refuses the import (exit 6).
pub fn import(
    state: &Path,
    report: &Path,
    reviewer: Option<&str>,
) -> Result<ImportSummary, HeduiError> {
    let shown = report.display().to_string();
    let input_error = |lines: Vec<String>| HeduiError::Input(lines);
    let unreadable = |zh: &str, e: &dyn fmt::Display| {
        input_error(vec![format!(
            "{shown}：无法读取工作簿（{zh}） / {shown}: cannot read the workbook ({e})"
        )])
    };
    // The workbook first: a mistyped path is not a missing ledger.
    match std::fs::metadata(report) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(input_error(vec![format!(
                "{shown} 不是文件（应为 hedui 写的 report.xlsx） / {shown} is not a file (a report.xlsx written by hedui was expected)"
            )]));
        }
        Err(e) => return Err(unreadable(crate::error::io_zh(&e), &e)),
    }
    // Read once: the verdict log's digest is of the bytes imported (Excel
    // saves by replacing the file).
    let bytes = std::fs::read(report).map_err(|e| unreadable(crate::error::io_zh(&e), &e))?;
    let workbook_sha256 = crate::read::sha256_of(&bytes);
    let mut workbook: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e: calamine::XlsxError| {
            let zh = match &e {
                calamine::XlsxError::Zip(_) => "不是 xlsx 工作簿，或文件已损坏",
                calamine::XlsxError::Io(io) => crate::error::io_zh(io),
                _ => "工作簿的内容无法识别",
            };
            unreadable(zh, &e)
        })?;
    let no_ledger = !super::ledger_path(state).exists();
    let _lock = (!no_ledger).then(|| RunLock::acquire(state)).transpose()?;
    let Some(mut ledger) = Ledger::open_existing(state)? else {
        return Err(input_error(vec![format!(
            "{} 中没有案件台账，请先运行 hedui run，或用 --state-dir / --config 指明状态目录 / no case ledger in {}: run hedui run first, or name the state folder with --state-dir / --config",
            state.display(),
            state.display()
        )]));
    };
    let cases = ledger.cases()?;

    let mut summary = ImportSummary::default();
    let mut problems = Vec::new();
    // Rows whose finding_id is well formed but not in the ledger.
    let mut unknown = 0usize;
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for sheet in workbook.sheet_names() {
        // A sheet named after a person is named masked in messages, as
        // the run's are; the report's own sheets (`CB02 房产超标`) as
        // they are, for a reviewer to find.
        if !is_report_sheet(&sheet) {
            crate::report::mask::register_label(&sheet);
        }
        let range = match workbook.worksheet_range(&sheet) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!(
                    "{shown} 工作表 {sheet}：无法读取（{e}） / {shown} sheet {sheet}: cannot be read ({e})"
                ));
                continue;
            }
        };
        let Some((_, last_col)) = range.end() else {
            continue;
        };
        let (last_row, _) = range.end().unwrap_or((0, 0));
        let header = |name: &str| {
            (0..=last_col).find(|&c| cell_text(range.get_value((0, c))).is_some_and(|t| t == name))
        };
        let (Some(id_col), Some(verdict_col), Some(note_col)) = (
            header(FINDING_ID_HEADER),
            header(VERDICT_HEADER),
            header(NOTE_HEADER),
        ) else {
            // A sheet of findings whose header row a reviewer changed (a
            // header renamed, a column deleted, a row put above) would be
            // passed over, its verdicts lost: refused instead. Sheets
            // without any of the three (the summary) are not findings.
            let names = [FINDING_ID_HEADER, VERDICT_HEADER, NOTE_HEADER];
            let near_top = (0..last_row.min(4) + 1).any(|r| {
                (0..=last_col).any(|c| {
                    cell_text(range.get_value((r, c))).is_some_and(|t| names.contains(&t.as_str()))
                })
            });
            if near_top {
                let missing: Vec<&str> =
                    names.into_iter().filter(|n| header(n).is_none()).collect();
                problems.push(format!(
                    "{shown} 工作表 {sheet}：第 1 行缺少表头 {m}，此表的结论无法导入；请恢复报告原有的表头行 / \
                     {shown} sheet {sheet}: row 1 lacks the header(s) {m}, so its verdicts cannot be \
                     imported; restore the report's header row",
                    m = missing.join("、"),
                ));
            }
            continue;
        };
        summary.sheets.push(sheet.clone());
        // A formula saved without its result (as a script such as openpyxl
        // saves one) reads as an empty cell: taken so, it would clear the
        // case's verdict without a word.
        let formulas = workbook.worksheet_formula(&sheet).ok();
        let unresolved = |row: u32, col: u32| {
            cell_text(range.get_value((row, col))).is_some_and(|t| t.is_empty())
                && formulas
                    .as_ref()
                    .and_then(|f| f.get_value((row, col)))
                    .is_some_and(|f| !f.trim().is_empty())
        };
        // The verdict and note the workbook was made with (older workbooks
        // have none: every cell then says what the case should hold).
        let shown_cols = header(SHOWN_VERDICT_HEADER).zip(header(SHOWN_NOTE_HEADER));
        // A finding_id copied or typed into another case's row would give
        // that row's verdict to a case of another rule without a word: the
        // row's rule must be the case's (a finding_id is a hash of its rule
        // and subject, so a case's rule never changes).
        let rule_col = header(RULE_HEADER);
        let mut bad = |row: u32, col: u32, zh: &str, en: &str| {
            let cell = cell_name(row, col);
            problems.push(format!("{sheet}!{cell}：{zh} / {sheet}!{cell}: {en}"));
        };
        for row in 1..=last_row {
            let id = cell_text(range.get_value((row, id_col)));
            let verdict = cell_text(range.get_value((row, verdict_col)));
            let note = cell_text(range.get_value((row, note_col)));
            let (Some(id), Some(verdict), Some(note)) = (id, verdict, note) else {
                for (col, value, zh, en) in [
                    (
                        id_col,
                        range.get_value((row, id_col)),
                        "finding_id",
                        "finding_id",
                    ),
                    (
                        verdict_col,
                        range.get_value((row, verdict_col)),
                        "核查结论",
                        "the verdict",
                    ),
                    (
                        note_col,
                        range.get_value((row, note_col)),
                        "备注",
                        "the note",
                    ),
                ] {
                    if cell_text(value).is_none() {
                        bad(
                            row,
                            col,
                            &format!("{zh}必须是文本"),
                            &format!("{en} must be text"),
                        );
                    }
                }
                continue;
            };
            let formula_cells: Vec<u32> = [id_col, verdict_col, note_col]
                .into_iter()
                .filter(|&col| unresolved(row, col))
                .collect();
            if !formula_cells.is_empty() {
                for col in formula_cells {
                    bad(
                        row,
                        col,
                        "是未保存结果的公式，无法读出其内容；请在 Excel 中打开并保存，或直接填写文字",
                        "holds a formula saved without its result, so its value cannot be read; \
                         open and save the workbook in Excel, or type the text",
                    );
                }
                continue;
            }
            if id.is_empty() {
                if !verdict.is_empty() || !note.is_empty() {
                    bad(
                        row,
                        id_col,
                        "填了核查结论或备注，但没有 finding_id",
                        "a verdict or note without a finding_id",
                    );
                }
                continue;
            }
            summary.rows += 1;
            let mut row_ok = true;
            if !cases.contains_key(&id) {
                // A finding_id is 16 hex digits and names no one; anything
                // else in the cell (an ID number or a name pasted over it)
                // is not repeated.
                if crate::report::findings::is_finding_id(&id) {
                    unknown += 1;
                    bad(
                        row,
                        id_col,
                        &format!("台账中没有 finding_id {id}"),
                        &format!("finding_id {id} is not in the case ledger"),
                    );
                } else {
                    bad(
                        row,
                        id_col,
                        "这不是 finding_id（应为 16 位十六进制字符）",
                        "this is not a finding_id (16 hexadecimal characters)",
                    );
                }
                row_ok = false;
            }
            if let (Some(col), Some(case)) = (rule_col, cases.get(&id))
                && let Some(shown) = cell_text(range.get_value((row, col)))
                && !shown.trim().is_empty()
            {
                let code = shown.split_whitespace().next().unwrap_or_default();
                if code != case.row.rule {
                    // The cell is quoted only when it is a rule code: a
                    // reviewer may have typed anything there.
                    let (zh, en) = match crate::rules::rule_info(code) {
                        Some(_) => (
                            format!("此行规则为 {code}"),
                            format!("this row's rule is {code}"),
                        ),
                        None => (
                            "此行规则列不是规则代码".to_string(),
                            "this row's rule cell is no rule code".to_string(),
                        ),
                    };
                    let case_rule = &case.row.rule;
                    bad(
                        row,
                        col,
                        &format!(
                            "{zh}，而 finding_id {id} 是 {case_rule} 的案件：finding_id 或规则可能被复制或改动，请恢复报告中的原值"
                        ),
                        &format!(
                            "{en}, but finding_id {id} is a {case_rule} case: the finding_id or the rule may have been copied or edited; restore the report's values"
                        ),
                    );
                    row_ok = false;
                }
            }
            if !verdict.is_empty() && !VERDICTS.contains(&verdict.as_str()) {
                bad(
                    row,
                    verdict_col,
                    &format!("核查结论只能是 {} 之一或留空", VERDICTS.join("、")),
                    &format!(
                        "the verdict must be one of {} or empty",
                        VERDICTS.join(", ")
                    ),
                );
                row_ok = false;
            }
            let chars = note.chars().count();
            if chars > MAX_NOTE_CHARS {
                bad(
                    row,
                    note_col,
                    &format!("备注有 {chars} 个字，超过上限 {MAX_NOTE_CHARS}"),
                    &format!("the note has {chars} characters, over the limit of {MAX_NOTE_CHARS}"),
                );
                row_ok = false;
            }
            if !row_ok {
                continue;
            }
            let at = format!("{sheet}!{}", cell_name(row, id_col));
            // A cell as the workbook was made is no change.
            let changed = |value: String, shown_col: Option<u32>| match shown_col {
                Some(c) if cell_text(range.get_value((row, c))).as_ref() == Some(&value) => None,
                _ => Some(value),
            };
            let verdict = changed(verdict, shown_cols.map(|c| c.0));
            let note = changed(note, shown_cols.map(|c| c.1));
            match entries.get_mut(&id) {
                Some(e) if e.differs(&verdict, &note) => bad(
                    row,
                    verdict_col,
                    &format!("同一 finding_id 在 {} 的结论或备注与此处不同", e.at),
                    &format!(
                        "the same finding_id has a different verdict or note at {}",
                        e.at
                    ),
                ),
                Some(e) => {
                    // The verdict log names the row a change came from.
                    if e.verdict.is_none()
                        && e.note.is_none()
                        && (verdict.is_some() || note.is_some())
                    {
                        e.at = at;
                    }
                    e.verdict = e.verdict.take().or(verdict);
                    e.note = e.note.take().or(note);
                }
                None => {
                    entries.insert(id, Entry { verdict, note, at });
                }
            }
        }
    }
    if summary.sheets.is_empty() {
        problems.push(format!(
            "{shown}：没有第 1 行含 {FINDING_ID_HEADER}、{VERDICT_HEADER}、{NOTE_HEADER} 表头的工作表 / {shown}: no sheet has the headers {FINDING_ID_HEADER}, {VERDICT_HEADER} and {NOTE_HEADER} in row 1"
        ));
    }
    if !problems.is_empty() {
        let mut lines = vec![format!(
            "{shown}：{} 处错误，未导入任何结论 / {shown}: {} problem(s), nothing imported",
            problems.len(),
            problems.len()
        )];
        if unknown > 0 && unknown == summary.rows {
            lines.push(
                "此工作簿的 finding_id 都不在本台账中：它可能是另一个县或另一套状态目录的报告，请检查 --state-dir / --config / \
                 none of this workbook's finding_ids is in this ledger: it may be another county's report, or the state \
                 folder is not the run's; check --state-dir / --config"
                    .to_string(),
            );
        }
        // Each bad cell is named, up to a screenful; the rest counted.
        let more = problems.len().saturating_sub(MAX_LISTED_PROBLEMS);
        lines.extend(problems.into_iter().take(MAX_LISTED_PROBLEMS));
        if more > 0 {
            lines.push(format!(
                "……另有 {more} 处错误未列出 / … and {more} more not listed"
            ));
        }
        return Err(input_error(lines));
    }

    // What the verdict log says of the workbook: its name and digest.
    let workbook = report
        .file_name()
        .map_or_else(|| shown.clone(), |name| name.to_string_lossy().into_owned());
    let recorded_at = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    let recorded_by = system_user();
    let path = ledger.path().to_path_buf();
    let err = |e: rusqlite::Error| super::db_error(&path, e);
    let tx = ledger.conn.transaction().map_err(err)?;
    {
        let mut log = tx
            .prepare(
                "INSERT INTO verdict_log (finding_id, recorded_at, recorded_by, reviewer,
                     workbook, workbook_sha256, cell, verdict_before, verdict, note_before,
                     note, evidence)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .map_err(err)?;
        // The sources and evidence as they stand now are what the verdict
        // was given on; a re-import that changes neither verdict nor note
        // keeps the old ones, so that a stale workbook cannot re-dismiss a
        // changed case.
        let mut update = tx
            .prepare(
                "UPDATE cases SET verdict = ?2, note = ?3,
                     sources_at_verdict = CASE WHEN ?2 = '' THEN '' ELSE sources END,
                     evidence_at_verdict = CASE WHEN ?2 = '' THEN '' ELSE evidence END
                 WHERE finding_id = ?1",
            )
            .map_err(err)?;
        for (id, e) in &entries {
            let case = &cases[id];
            let verdict = e.verdict.as_ref().unwrap_or(&case.verdict);
            let mut note = e.note.as_ref().unwrap_or(&case.note);
            // A masked report shows the note masked: handed back unchanged,
            // it is the stored note, not a new one.
            if *note != case.note
                && *note == crate::report::mask::mask_note(&case.note, &case.row.name)
            {
                note = &case.note;
            }
            match (case.verdict.is_empty(), verdict.is_empty()) {
                (true, false) => summary.set += 1,
                (false, true) => summary.cleared += 1,
                (false, false) if case.verdict != *verdict => summary.changed += 1,
                _ => {}
            }
            if case.note != *note {
                summary.notes += 1;
            }
            if case.verdict != *verdict || case.note != *note {
                update.execute(params![id, verdict, note]).map_err(err)?;
                log.execute(params![
                    id,
                    recorded_at,
                    recorded_by,
                    reviewer.unwrap_or(""),
                    workbook,
                    workbook_sha256,
                    e.at,
                    case.verdict,
                    verdict,
                    case.note,
                    note,
                    case.row.evidence,
                ])
                .map_err(err)?;
            }
        }
    }
    tx.commit().map_err(err)?;
    tracing::info!(
        sheets = summary.sheets.len(),
        rows = summary.rows,
        set = summary.set,
        changed = summary.changed,
        cleared = summary.cleared,
        notes = summary.notes,
        "verdicts imported"
    );
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reviewer_s_name_is_one_line_of_visible_text() {
        assert_eq!(reviewer_name(" 城关镇 李四 ").unwrap(), "城关镇 李四");
        assert_eq!(reviewer_name("李-四").unwrap(), "李-四");
        for bad in [
            "".to_string(),
            "  ".into(),
            "李四\n王五".into(),
            "李\u{202E}四".into(),
            "李\u{200B}四".into(),
            "李\u{2028}四".into(),
            "李\u{061C}四".into(),
            "李\u{FFF9}四".into(),
            "=HYPERLINK(\"x\")".into(),
            "+1".into(),
            "-1".into(),
            "@x".into(),
            "李".repeat(MAX_REVIEWER_CHARS + 1),
        ] {
            assert!(reviewer_name(&bad).is_err(), "{bad:?}");
        }
        assert!(reviewer_name(&"李".repeat(MAX_REVIEWER_CHARS)).is_ok());
    }

    #[test]
    fn column_letters_run_past_z() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(13), "N");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
        assert_eq!(cell_name(16, 13), "N17");
    }

    #[test]
    fn cell_text_takes_text_and_whole_numbers_only() {
        assert_eq!(
            cell_text(Some(&Data::String(" 属实 ".into()))).as_deref(),
            Some("属实")
        );
        assert_eq!(cell_text(None).as_deref(), Some(""));
        assert_eq!(cell_text(Some(&Data::Float(12.0))).as_deref(), Some("12"));
        assert_eq!(cell_text(Some(&Data::Bool(true))), None);
    }
}
