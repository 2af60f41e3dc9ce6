//! `hedui cases`: the case ledger listed and filtered, as an aligned table
//! or CSV, with ID numbers and names masked unless asked otherwise.

use std::fmt::Write as _;
use std::path::Path;

use super::{Case, Ledger};
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
    }
}

/// Output format of `hedui cases`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CasesFormat {
    Table,
    Csv,
}

const COLUMNS: [&str; 13] = [
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
];

/// The ledger's cases that pass the filter, in findings.csv's order, as
/// text to print. Evidence (which may name other people) is included only
/// unmasked, in CSV.
pub fn list(
    state: &Path,
    filter: &CaseFilter,
    format: CasesFormat,
    unmasked: bool,
) -> Result<String, HeduiError> {
    let Some(ledger) = Ledger::open_existing(state)? else {
        return Err(HeduiError::Input(vec![format!(
            "{} 中没有案件台账，请先运行 hedui run，或用 --state-dir / --config / --out 指明 / no case ledger in {}: run hedui run first, or name it with --state-dir / --config / --out",
            state.display(),
            state.display()
        )]));
    };
    let all = ledger.cases()?;
    let mut cases: Vec<&Case> = all.values().filter(|c| filter.holds(c)).collect();
    // The order of findings.csv.
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
    let records: Vec<Vec<String>> = cases.iter().map(|c| record(c, unmasked, format)).collect();
    let mut header: Vec<&str> = COLUMNS.to_vec();
    if unmasked && format == CasesFormat::Csv {
        header.extend(["evidence", "sources"]);
    }
    match format {
        CasesFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let io = |e: csv::Error| HeduiError::Internal(e.to_string());
            w.write_record(&header).map_err(io)?;
            for r in &records {
                w.write_record(r).map_err(io)?;
            }
            let bytes = w
                .into_inner()
                .map_err(|e| HeduiError::Internal(e.to_string()))?;
            Ok(String::from_utf8(bytes).expect("CSV of UTF-8 fields"))
        }
        CasesFormat::Table => Ok(table(&header, &records)),
    }
}

/// Display width: CJK and full-width characters take two columns.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

fn table(header: &[&str], records: &[Vec<String>]) -> String {
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
    let _ = writeln!(out, "{} 件 cases", records.len());
    out
}

/// One case's cells under [`COLUMNS`] (evidence and sources after them in
/// an unmasked CSV), masked as the reports are unless `unmasked`.
fn record(c: &Case, unmasked: bool, format: CasesFormat) -> Vec<String> {
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
        let masked = record(&c, false, CasesFormat::Csv);
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
        let full = record(&c, true, CasesFormat::Csv);
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
            township: None,
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
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "a     b");
        assert_eq!(lines[1], "张伟  x");
        assert_eq!(lines[2], "abc   y");
        assert_eq!(lines[3], "2 件 cases");
    }
}
