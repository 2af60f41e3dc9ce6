//! `hedui validate`: the check a data clerk runs on a fresh batch before the
//! nightly run — every extract read, a per-file table printed, rejects.csv,
//! warnings.csv and manifest.json written, and the exit code of
//! spec/outputs.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;

use crate::config::LoadedConfig;
use crate::error::HeduiError;
use crate::input::{self, FileAccount, Inputs};
use crate::report::manifest::{Manifest, Stage};
use crate::report::output::StagedOutput;
use crate::report::{rejects, warnings};

/// What validate found, for the caller to print and map to an exit code.
#[derive(Debug)]
pub struct Validation {
    pub inputs: Inputs,
    pub manifest: Manifest,
    pub outcome: Result<(), HeduiError>,
}

/// Files whose reject rate is over the configured limit. The rows of
/// another type's table below a file's own (`other_type_table`) are not
/// the file's: they count neither rejected nor read, as another type's
/// sheet in a workbook does not, and the run goes on with their note.
pub fn reject_rate_problems(accounts: &[FileAccount], max_rate: f64) -> Vec<String> {
    accounts
        .iter()
        .filter_map(|a| {
            let other = a.rejected.get("other_type_table").copied().unwrap_or(0);
            let (rejected, read) = (a.rows_rejected - other, a.rows_read - other);
            if read == 0 || rejected as f64 <= max_rate * read as f64 {
                return None;
            }
            let pct = 100.0 * rejected as f64 / read as f64;
            let (not_counted, not_counted_en) = match other {
                0 => (String::new(), String::new()),
                n => (
                    format!("，另一类数据表格的 {n} 行不计"),
                    format!(", not counting the {n} rows of another type's table"),
                ),
            };
            Some(format!(
                "{file}：拒收 {rejected} / {read} 行（{pct:.1}%{not_counted}），超过上限 {limit:.1}% / {file}: {rejected} of {read} rows rejected ({pct:.1}%{not_counted_en}), over the limit of {limit:.1}%",
                file = a.file,
                limit = max_rate * 100.0,
            ))
        })
        .collect()
}

/// Reads a batch and decides its outcome; writes to `out` when given.
pub fn validate(
    input_dir: &Path,
    out: Option<&Path>,
    config: &LoadedConfig,
    as_of: NaiveDate,
) -> Validation {
    let started = Instant::now();
    // Only the accounting is needed: rows are counted, not kept, so that a
    // city's batch validates in the memory a county's takes.
    let inputs = input::load_accounts(input_dir, &config.config, as_of);
    let read_seconds = started.elapsed().as_secs_f64();
    let (status, outcome) = if !inputs.problems.is_empty() {
        let lines = inputs.problems.iter().map(|p| p.message.clone()).collect();
        ("failed", Err(HeduiError::Input(lines)))
    } else {
        let gate = reject_rate_problems(&inputs.accounts, config.config.input.max_reject_rate);
        if gate.is_empty() {
            ("ok", Ok(()))
        } else {
            ("stopped", Err(HeduiError::Gate(gate)))
        }
    };
    let problems = match &outcome {
        Err(HeduiError::Input(l)) | Err(HeduiError::Gate(l)) => l.clone(),
        _ => inputs.notes.clone(),
    };
    let manifest = Manifest {
        tool: "hedui",
        version: env!("CARGO_PKG_VERSION"),
        command: "validate".to_string(),
        as_of: as_of.to_string(),
        config_sha256: config.sha256.clone(),
        config: config.config.clone(),
        inputs: inputs.accounts.clone(),
        ignored: inputs.ignored.clone(),
        missing_optional: inputs
            .missing_optional
            .iter()
            .map(|s| s.to_string())
            .collect(),
        stages: vec![Stage {
            name: "read".to_string(),
            seconds: read_seconds,
        }],
        findings_per_rule: BTreeMap::new(),
        status: status.to_string(),
        problems,
        masked: true,
        allow_shrink: false,
        cases: None,
        disappeared_cases: Vec::new(),
    };
    let mut validation = Validation {
        inputs,
        manifest,
        outcome,
    };
    if let Some(out) = out
        && let Err(e) = write_outputs(out, &validation)
    {
        validation.outcome = Err(e);
    }
    validation
}

fn write_outputs(out: &Path, v: &Validation) -> Result<(), HeduiError> {
    let staged = StagedOutput::begin(out)?;
    rejects::write(staged.create("rejects.csv")?, &v.inputs.rejects)?;
    warnings::write(staged.create("warnings.csv")?, &v.inputs.warnings)?;
    let mut m = staged.create("manifest.json")?;
    m.write_all(v.manifest.to_json().as_bytes())?;
    m.flush()?;
    drop(m);
    staged.commit()?;
    Ok(())
}

/// The per-file table a clerk reads: no ID numbers or names, only counts.
pub fn summary_table(accounts: &[FileAccount], ignored: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<36} {:<19} {:<7} {:<9} {:>8} {:>8} {:>6} {:>6} {:>6}",
        "文件 file", "类型 extract", "格式", "编码", "读取", "接收", "拒收", "跳过", "重复"
    );
    for a in accounts {
        let _ = writeln!(
            s,
            "{:<36} {:<19} {:<7} {:<9} {:>8} {:>8} {:>6} {:>6} {:>6}",
            a.file,
            a.extract,
            a.format,
            a.encoding,
            a.rows_read,
            a.rows_accepted,
            a.rows_rejected,
            a.rows_skipped,
            a.rows_duplicate
        );
        let ids: Vec<String> = a
            .id_status
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        if !ids.is_empty() {
            let _ = writeln!(s, "    身份证号 ID: {}", ids.join(", "));
        }
        let mut top: Vec<(&String, &u64)> = a.rejected.iter().collect();
        top.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
        if !top.is_empty() {
            let top: Vec<String> = top
                .iter()
                .take(3)
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(s, "    拒收原因 rejects: {}", top.join(", "));
        }
        if !a.skipped.is_empty() {
            let sk: Vec<String> = a.skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(s, "    跳过 skipped: {}", sk.join(", "));
        }
        if a.rows_conflict > 0 {
            let _ = writeln!(s, "    同键冲突 key conflicts: {}", a.rows_conflict);
        }
        if !a.warnings.is_empty() {
            let w: Vec<String> = a.warnings.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(s, "    警告 warnings: {}", w.join(", "));
        }
        if !a.unknown_columns.is_empty() {
            let _ = writeln!(
                s,
                "    未识别的列 unknown columns: {}",
                a.unknown_columns.join("、")
            );
        }
        // A sheet may be named after a household head (王芳户) or his ID
        // number.
        let sheets = |names: &[String]| {
            names
                .iter()
                .map(|n| crate::read::sheet_for_message(n))
                .collect::<Vec<_>>()
                .join("、")
        };
        let unheaded = a.sheets_without_header();
        if !unheaded.is_empty() {
            let _ = writeln!(
                s,
                "    无表头的工作表 sheets without header: {}",
                sheets(&unheaded)
            );
        }
        for o in &a.other_type_sheets {
            let label = crate::extract::by_name(&o.extract).map_or(o.extract.as_str(), |d| d.label);
            let _ = writeln!(
                s,
                "    未读取的工作表 {}：表头是{label}（{}）的；若要读取，请把它另存为单独的 {}_… 文件 / sheet not read, its header is {}'s: save it as a file of its own named {}_…",
                crate::read::sheet_for_message(&o.sheet),
                o.extract,
                o.extract,
                o.extract,
                o.extract
            );
        }
        for t in &a.other_type_tables {
            let label = crate::extract::by_name(&t.extract).map_or(t.extract.as_str(), |d| d.label);
            let sheet = t.sheet.as_deref().map_or(String::new(), |s| {
                format!("工作表 {} ", crate::read::sheet_for_message(s))
            });
            let _ = writeln!(
                s,
                "    {sheet}第 {row} 行起是{label}（{x}）的表格，其下 {n} 行未读取（rejects: other_type_table）；若要读取，请把它另存为单独的 {x}_… 文件 / a {x} table from row {row}, its rows rejected: save it as a file of its own named {x}_…",
                row = t.header_row,
                n = t.rows,
                x = t.extract,
            );
        }
        if !a.hidden_sheets.is_empty() {
            let _ = writeln!(
                s,
                "    已读取的隐藏工作表 hidden sheets read as data: {}",
                sheets(&a.hidden_sheets)
            );
        }
        if a.merged_cells_filled > 0 {
            let _ = writeln!(
                s,
                "    合并单元格已按其首格的值填充 empty cells of merged ranges given their range's value: {}",
                a.merged_cells_filled
            );
        }
    }
    if !ignored.is_empty() {
        let _ = writeln!(
            s,
            "未识别的文件 files not recognised: {}",
            ignored.join("、")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(read: u64, rejected: &[(&str, u64)]) -> FileAccount {
        FileAccount {
            file: "pension_202511.csv".into(),
            rows_read: read,
            rows_rejected: rejected.iter().map(|(_, n)| n).sum(),
            rejected: rejected.iter().map(|(c, n)| (c.to_string(), *n)).collect(),
            ..FileAccount::default()
        }
    }

    /// The rows of another type's table count neither read nor rejected:
    /// a file of its own rows all good passes however many there are.
    #[test]
    fn another_type_s_table_does_not_count_towards_the_reject_rate() {
        let alone = account(12, &[("other_type_table", 10)]);
        assert!(reject_rate_problems(&[alone], 0.05).is_empty());
        let with_own = account(15, &[("other_type_table", 10), ("bad_money", 1)]);
        assert_eq!(
            reject_rate_problems(&[with_own], 0.05),
            [
                "pension_202511.csv：拒收 1 / 5 行（20.0%，另一类数据表格的 10 行不计），超过上限 5.0% / pension_202511.csv: 1 of 5 rows rejected (20.0%, not counting the 10 rows of another type's table), over the limit of 5.0%"
            ]
        );
        let own_only = account(5, &[("bad_money", 1)]);
        assert_eq!(
            reject_rate_problems(&[own_only], 0.05),
            [
                "pension_202511.csv：拒收 1 / 5 行（20.0%），超过上限 5.0% / pension_202511.csv: 1 of 5 rows rejected (20.0%), over the limit of 5.0%"
            ]
        );
    }
}
