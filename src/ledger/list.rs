//! `hedui cases`: the case ledger listed and filtered, as an aligned table
//! or CSV, with ID numbers and names masked unless asked otherwise.

use std::fmt::Write as _;
use std::path::Path;

use std::collections::BTreeMap;

use super::{Case, Ledger, VerdictEntry};
use crate::error::HeduiError;
use crate::report::mask::{mask_household, mask_id, mask_name, mask_note};

/// Which cases to list; every given filter must hold.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// A lifecycle status (新增 / 持续 / 已消失), or the start of the last
    /// case_status (e.g. 已核销).
    pub status: Option<String>,
    pub rule: Option<String>,
    /// A verdict (属实 / 不属实 / 已整改 / 待核查), or `无` for none.
    pub verdict: Option<String>,
    pub township: Option<String>,
    /// One case, by its finding_id.
    pub finding_id: Option<String>,
}

/// The `none` spelling of `--verdict`: cases without a verdict.
pub const NO_VERDICT: &str = "无";

impl CaseFilter {
    fn holds(&self, c: &Case) -> bool {
        let matches = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        self.status
            .as_deref()
            .is_none_or(|s| c.status == s || c.row.case_status.starts_with(s))
            && matches(&self.rule, &c.row.rule)
            // The reports' label for findings without a township names them too.
            && self
                .township
                .as_deref()
                .map(|t| if t == crate::report::view::NO_TOWNSHIP { "" } else { t })
                .is_none_or(|t| t == c.row.township)
            && self
                .verdict
                .as_deref()
                .is_none_or(|v| c.verdict == v || (v == NO_VERDICT && c.verdict.is_empty()))
            && matches(&self.finding_id, &c.row.finding_id)
    }
}

/// Output format of `hedui cases`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CasesFormat {
    Table,
    Csv,
}

const COLUMNS: [&str; 16] = [
    "finding_id",
    "rule",
    "status",
    "case_status",
    "verdict",
    "note",
    "household_id",
    "id_number",
    "name",
    "township",
    "village",
    "first_seen",
    "last_seen",
    "gone_on",
    "verdict_at",
    "verdict_by",
];

/// The columns of `hedui cases --history` (the workbook's SHA-256 after
/// them in CSV, and the evidence too when unmasked).
const HISTORY_COLUMNS: [&str; 11] = [
    "recorded_at",
    "recorded_by",
    "reviewer",
    "finding_id",
    "rule",
    "verdict_before",
    "verdict",
    "note_before",
    "note",
    "workbook",
    "cell",
];

/// The ledger's cases by finding_id and its verdict log, oldest first.
fn read(state: &Path) -> Result<(BTreeMap<String, Case>, Vec<VerdictEntry>), HeduiError> {
    let Some(ledger) = Ledger::open_existing(state)? else {
        return Err(no_ledger(state));
    };
    Ok((ledger.cases()?, ledger.verdict_log()?))
}

fn no_ledger(state: &Path) -> HeduiError {
    HeduiError::Input(vec![format!(
        "{} 中没有案件台账，请先运行 hedui run，或用 --state-dir / --config / --out 指明 / no case ledger in {}: run hedui run first, or name it with --state-dir / --config / --out",
        state.display(),
        state.display()
    )])
}

/// The cases that pass the filter, in findings.csv's order.
fn selected<'a>(all: &'a BTreeMap<String, Case>, filter: &CaseFilter) -> Vec<&'a Case> {
    let mut cases: Vec<&Case> = all.values().filter(|c| filter.holds(c)).collect();
    cases.sort_by_key(|c| {
        let r = &c.row;
        (
            &r.rule,
            &r.township,
            &r.household_id,
            &r.id_number,
            &r.finding_id,
        )
    });
    cases
}

/// Records as CSV, or as an aligned table ended by their count (`unit`:
/// what they are, `件 cases`).
fn render(
    header: &[&str],
    records: &[Vec<String>],
    format: CasesFormat,
    unit: &str,
) -> Result<String, HeduiError> {
    match format {
        CasesFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let io = |e: csv::Error| HeduiError::Internal(e.to_string());
            w.write_record(header).map_err(io)?;
            for r in records {
                w.write_record(r).map_err(io)?;
            }
            let bytes = w
                .into_inner()
                .map_err(|e| HeduiError::Internal(e.to_string()))?;
            Ok(String::from_utf8(bytes).expect("CSV of UTF-8 fields"))
        }
        CasesFormat::Table => Ok(table(header, records, unit)),
    }
}

/// The verdict log's entries of the cases that pass the filter, oldest
/// first, as text to print: notes and sheet names masked as the reports
/// mask them unless `unmasked`; the evidence only unmasked, in CSV.
pub fn history(
    state: &Path,
    filter: &CaseFilter,
    format: CasesFormat,
    unmasked: bool,
) -> Result<String, HeduiError> {
    let (all, log) = read(state)?;
    let csv = format == CasesFormat::Csv;
    let records: Vec<Vec<String>> = log
        .iter()
        .filter_map(|e| {
            let case = all.get(&e.finding_id).filter(|c| filter.holds(c))?;
            Some(history_record(e, case, unmasked, csv))
        })
        .collect();
    let mut header: Vec<&str> = HISTORY_COLUMNS.to_vec();
    if csv {
        header.push("workbook_sha256");
        if unmasked {
            header.push("evidence");
        }
    }
    render(&header, &records, format, "条记录 entries")
}

/// One entry's cells under [`HISTORY_COLUMNS`].
fn history_record(e: &VerdictEntry, case: &Case, unmasked: bool, csv: bool) -> Vec<String> {
    let (note_before, note, cell, workbook) = if unmasked {
        (
            e.note_before.clone(),
            e.note.clone(),
            e.cell.clone(),
            e.workbook.clone(),
        )
    } else {
        // A sheet a reviewer named after a person (`王芳户`) is masked as
        // in the import's messages; the report's own are not.
        let cell = match e.cell.rsplit_once('!') {
            Some((sheet, at)) if !super::review::is_report_sheet(sheet) => {
                format!("{}!{at}", crate::report::mask::mask_label(sheet))
            }
            _ => e.cell.clone(),
        };
        (
            mask_note(&e.note_before, &case.row.name),
            mask_note(&e.note, &case.row.name),
            cell,
            // A workbook saved under a person's name (`张三户.xlsx`).
            crate::report::mask::mask_file_name(&e.workbook, true).into_owned(),
        )
    };
    // Staff names as given; an ID number typed for one masked all the same.
    let staff = |s: &str| {
        if unmasked {
            s.to_string()
        } else {
            crate::report::mask::mask_ids_in(s)
        }
    };
    let mut rec = vec![
        e.recorded_at.clone(),
        staff(&e.recorded_by),
        staff(&e.reviewer),
        e.finding_id.clone(),
        case.row.rule.clone(),
        e.verdict_before.clone(),
        e.verdict.clone(),
        note_before,
        note,
        workbook,
        cell,
    ];
    if csv {
        rec.push(e.workbook_sha256.clone());
        if unmasked {
            rec.push(e.evidence.clone());
        }
    }
    rec
}

/// The ledger's cases that pass the filter, in findings.csv's order, as
/// text to print. Evidence (which may name other people) is included only
/// unmasked, in CSV.
pub fn list(
    state: &Path,
    filter: &CaseFilter,
    format: CasesFormat,
    unmasked: bool,
) -> Result<String, HeduiError> {
    let (all, log) = read(state)?;
    // Each case's last verdict log entry: when and by whom its verdict or
    // note was last set.
    let last: BTreeMap<&str, &VerdictEntry> =
        log.iter().map(|e| (e.finding_id.as_str(), e)).collect();
    let records: Vec<Vec<String>> = selected(&all, filter)
        .into_iter()
        .map(|c| {
            let entry = last.get(c.row.finding_id.as_str()).copied();
            record(c, entry, unmasked, format)
        })
        .collect();
    let mut header: Vec<&str> = COLUMNS.to_vec();
    if unmasked && format == CasesFormat::Csv {
        header.extend(["evidence", "sources"]);
    }
    render(&header, &records, format, "件 cases")
}

/// Display width: CJK and full-width characters take two columns.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

fn table(header: &[&str], records: &[Vec<String>], unit: &str) -> String {
    // The note can be long: the table shows its start.
    let cell = |s: &str, i: usize| -> String {
        if header[i] == "note" && s.chars().count() > 20 {
            s.chars().take(19).chain(['…']).collect()
        } else {
            s.to_string()
        }
    };
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in records {
        for (i, v) in r.iter().enumerate() {
            widths[i] = widths[i].max(width(&cell(v, i)));
        }
    }
    let mut out = String::new();
    let mut line = |values: Vec<String>| {
        let mut l = String::new();
        for (i, v) in values.iter().enumerate() {
            if i + 1 < values.len() {
                let _ = write!(l, "{v}{}  ", " ".repeat(widths[i] - width(v)));
            } else {
                l.push_str(v);
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for r in records {
        line(r.iter().enumerate().map(|(i, v)| cell(v, i)).collect());
    }
    let _ = writeln!(out, "{} {unit}", records.len());
    out
}

/// One case's cells under [`COLUMNS`] (evidence and sources after them in
/// an unmasked CSV), masked as the reports are unless `unmasked`; `last`:
/// its last verdict log entry, which says when its verdict or note was
/// last set and by whom (the reviewer named at the import, else the system
/// user who imported).
fn record(
    c: &Case,
    last: Option<&VerdictEntry>,
    unmasked: bool,
    format: CasesFormat,
) -> Vec<String> {
    let (household, id, name, note) = if unmasked {
        (
            c.row.household_id.clone(),
            c.row.id_number.clone(),
            c.row.name.clone(),
            c.note.clone(),
        )
    } else {
        (
            mask_household(&c.row.household_id),
            mask_id(&c.row.id_number),
            mask_name(&c.row.name),
            mask_note(&c.note, &c.row.name),
        )
    };
    let mut rec = vec![
        c.row.finding_id.clone(),
        c.row.rule.clone(),
        c.status.clone(),
        c.row.case_status.clone(),
        c.verdict.clone(),
        note,
        household,
        id,
        name,
        c.row.township.clone(),
        c.row.village.clone(),
        c.first_seen.clone(),
        c.last_seen.clone(),
        c.gone_on.clone(),
        last.map_or_else(String::new, |e| e.recorded_at.clone()),
        last.map_or_else(String::new, |e| {
            let by = if e.reviewer.is_empty() {
                &e.recorded_by
            } else {
                &e.reviewer
            };
            if unmasked {
                by.clone()
            } else {
                crate::report::mask::mask_ids_in(by)
            }
        }),
    ];
    if unmasked && format == CasesFormat::Csv {
        rec.push(c.row.evidence.clone());
        rec.push(c.row.sources.clone());
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::findings::FindingRow;

    #[test]
    fn masks_keep_only_what_identifies_the_record() {
        // The reports' masks (report::mask), so that a case reads the same
        // in `hedui cases` as in report.xlsx.
        assert_eq!(mask_id("341122198001011238"), "341122********1238");
        assert_eq!(mask_id(""), "");
        assert_eq!(mask_name("张晓明"), "张*明");
        assert_eq!(mask_name("李娜"), "李*");
        assert_eq!(mask_name("阿卜杜拉·买买提"), "阿******提");
    }

    #[test]
    fn a_case_is_masked_household_number_included() {
        let c = Case {
            row: FindingRow {
                household_id: "341122198001011238".into(),
                id_number: "341122198001011238".into(),
                name: "张晓明".into(),
                ..FindingRow::default()
            },
            note: "张晓明已核实".into(),
            ..Case::default()
        };
        let masked = record(&c, None, false, CasesFormat::Csv);
        assert_eq!(
            masked[5..9],
            [
                "张*明已核实",
                "341122********1238",
                "341122********1238",
                "张*明"
            ]
        );
        assert_eq!(masked.len(), COLUMNS.len());
        let full = record(&c, None, true, CasesFormat::Csv);
        assert_eq!(full[6], "341122198001011238");
        assert_eq!(full.len(), COLUMNS.len() + 2);
    }

    #[test]
    fn filter_matches_status_prefix_and_no_verdict() {
        let c = Case {
            row: FindingRow {
                rule: "CB01".into(),
                township: "城关镇".into(),
                case_status: "已核销/不属实".into(),
                ..FindingRow::default()
            },
            status: "持续".into(),
            verdict: "不属实".into(),
            ..Case::default()
        };
        let f = |status: Option<&str>, verdict: Option<&str>| CaseFilter {
            status: status.map(String::from),
            verdict: verdict.map(String::from),
            rule: Some("CB01".into()),
            ..CaseFilter::default()
        };
        assert!(f(Some("持续"), None).holds(&c));
        assert!(f(Some("已核销"), Some("不属实")).holds(&c));
        assert!(!f(Some("新增"), None).holds(&c));
        assert!(!f(None, Some(NO_VERDICT)).holds(&c));
        assert!(
            !CaseFilter {
                township: Some("河西乡".into()),
                ..CaseFilter::default()
            }
            .holds(&c)
        );
        // A finding without a township, by the reports' label for it or
        // by an empty value (helper-128's audit: the label found none).
        let nowhere = Case {
            row: FindingRow::default(),
            ..Case::default()
        };
        for label in ["（无乡镇）", ""] {
            let filter = CaseFilter {
                township: Some(label.into()),
                ..CaseFilter::default()
            };
            assert!(filter.holds(&nowhere), "{label}");
            assert!(!filter.holds(&c), "{label}");
        }
    }

    #[test]
    fn table_aligns_wide_characters() {
        let t = table(
            &["a", "b"],
            &[
                vec!["张伟".into(), "x".into()],
                vec!["abc".into(), "y".into()],
            ],
            "件 cases",
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "a     b");
        assert_eq!(lines[1], "张伟  x");
        assert_eq!(lines[2], "abc   y");
        assert_eq!(lines[3], "2 件 cases");
    }
}
