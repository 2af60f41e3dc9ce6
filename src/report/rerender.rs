//! `hedui report`: renders report.xlsx and report.html again from an
//! existing output folder — its findings.csv (or findings.parquet when the
//! CSV is gone) and manifest.json — for example unmasked for one reviewer,
//! or after the reviews changed. The machine files are read, never written.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use arrow::array::{Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Deserialize;

use crate::config::Config;
use crate::error::HeduiError;
use crate::input::FileAccount;
use crate::normalize::id::{IdStatus, normalize_id};
use crate::report::findings::{COLUMNS, FindingRow};
use crate::report::manifest::{CaseCounts, Manifest};
use crate::report::people::{PeopleReport, Review};
use crate::report::view;

/// What a folder could not give.
#[derive(Debug, thiserror::Error)]
pub enum RerenderError {
    #[error("{file}: 无法读取 / cannot be read: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("{file}: 缺少列 {column} / column {column} missing")]
    MissingColumn { file: String, column: String },
    #[error(
        "{file} 第 {row} 行: 身份证号已被 Excel 改成科学计数法（如 1.10105E+17），号码已丢失；\
         请用运行写出的原文件，或删去 findings.csv 以改读 findings.parquet / \
         {file} row {row}: the ID number was turned into scientific notation by Excel and its \
         digits are lost; use the file as the run wrote it, or remove findings.csv to \
         read findings.parquet"
    )]
    IdsMangled { file: String, row: usize },
    #[error(
        "{file} 第 {line} 行不是 UTF-8 编码：文件被另存过（中文 Windows 上的 Excel 另存为 CSV \
         时写 GBK），号码可能已被改动；请用运行写出的原文件，或删去 findings.csv 以改读 \
         findings.parquet / {file} line {line} is not UTF-8: the file was saved again (Excel on \
         Chinese Windows saves a CSV as GBK) and its numbers may have been changed; use the file \
         as the run wrote it, or remove findings.csv to read findings.parquet"
    )]
    NotUtf8 { file: String, line: usize },
    #[error(transparent)]
    Write(#[from] view::ReportError),
    #[error(transparent)]
    Ledger(HeduiError),
}

/// What the case ledger adds to a report: the verdicts and notes to
/// pre-fill, and the disappeared cases' rows.
pub type LedgerView = (BTreeMap<String, Review>, Vec<FindingRow>);

fn unreadable(path: &Path, reason: impl std::fmt::Display) -> RerenderError {
    RerenderError::Unreadable {
        file: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// The manifest keys a report needs (spec/outputs.md); others are ignored.
#[derive(Debug, Deserialize)]
struct StoredManifest {
    #[serde(default)]
    command: String,
    as_of: String,
    #[serde(default)]
    config_sha256: String,
    #[serde(default)]
    config: Option<Config>,
    #[serde(default)]
    inputs: Vec<FileAccount>,
    #[serde(default)]
    ignored: Vec<String>,
    #[serde(default)]
    missing_optional: Vec<String>,
    #[serde(default)]
    findings_per_rule: BTreeMap<String, u64>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    problems: Vec<String>,
    #[serde(default)]
    allow_shrink: bool,
    #[serde(default)]
    cases: Option<CaseCounts>,
    #[serde(default)]
    disappeared_cases: Vec<String>,
}

/// Reads manifest.json of an output folder.
pub fn read_manifest(path: &Path) -> Result<Manifest, RerenderError> {
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(path, e))?;
    let m: StoredManifest = serde_json::from_str(&text).map_err(|e| unreadable(path, e))?;
    // Shown in every report, masked or not: a date, or no manifest a run
    // wrote (helper-160's audit: a hand-edited one put a name and an ID
    // number in a masked report.html).
    if chrono::NaiveDate::parse_from_str(&m.as_of, "%Y-%m-%d").is_err() {
        return Err(unreadable(
            path,
            "as_of 不是 YYYY-MM-DD 日期，不是运行写出的清单 / as_of is no YYYY-MM-DD date: not a manifest a run wrote",
        ));
    }
    Ok(Manifest {
        tool: "hedui",
        version: env!("CARGO_PKG_VERSION"),
        command: m.command,
        as_of: m.as_of,
        config_sha256: m.config_sha256,
        config: m.config.unwrap_or_default(),
        inputs: m.inputs,
        ignored: m.ignored,
        missing_optional: m.missing_optional,
        stages: Vec::new(),
        findings_per_rule: m.findings_per_rule,
        status: m.status,
        problems: m.problems,
        masked: true,
        allow_shrink: m.allow_shrink,
        cases: m.cases,
        disappeared_cases: m.disappeared_cases,
    })
}

/// Reads findings.csv (UTF-8, BOM allowed), columns found by their header.
pub fn read_findings_csv(path: &Path) -> Result<Vec<FindingRow>, RerenderError> {
    let bytes = std::fs::read(path).map_err(|e| unreadable(path, e))?;
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        let before = &bytes[..e.valid_up_to()];
        return Err(RerenderError::NotUtf8 {
            file: path.display().to_string(),
            line: before.iter().filter(|&&b| b == b'\n').count() + 1,
        });
    }
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().map_err(|e| unreadable(path, e))?.clone();
    let index = column_index(path, |c| header.iter().position(|h| h == c))?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| unreadable(path, e))?;
        let row = row_from(|i| record.get(index[i]).unwrap_or("").to_string());
        // A findings.csv opened in Excel and saved again: the reports would
        // show (and the ledger match) numbers that name no one.
        if normalize_id(&row.id_number).status == IdStatus::SciNotation {
            return Err(RerenderError::IdsMangled {
                file: path.display().to_string(),
                row: rows.len() + 2,
            });
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Reads findings.parquet, the same columns as findings.csv.
pub fn read_findings_parquet(path: &Path) -> Result<Vec<FindingRow>, RerenderError> {
    let file = File::open(path).map_err(|e| unreadable(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| unreadable(path, e))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| unreadable(path, e))?;
        let schema = batch.schema();
        let index = column_index(path, |c| schema.index_of(c).ok())?;
        let columns = index
            .iter()
            .map(|i| {
                let a = cast(batch.column(*i), &DataType::Utf8).map_err(|e| unreadable(path, e))?;
                Ok(a.as_any()
                    .downcast_ref::<StringArray>()
                    .expect("cast to Utf8 gives a StringArray")
                    .clone())
            })
            .collect::<Result<Vec<_>, RerenderError>>()?;
        for r in 0..batch.num_rows() {
            rows.push(row_from(|i| {
                let a = &columns[i];
                if a.is_null(r) {
                    String::new()
                } else {
                    a.value(r).to_string()
                }
            }));
        }
    }
    Ok(rows)
}

fn column_index(
    path: &Path,
    find: impl Fn(&str) -> Option<usize>,
) -> Result<Vec<usize>, RerenderError> {
    COLUMNS
        .iter()
        .map(|c| {
            find(c).ok_or_else(|| RerenderError::MissingColumn {
                file: path.display().to_string(),
                column: c.to_string(),
            })
        })
        .collect()
}

fn row_from(get: impl Fn(usize) -> String) -> FindingRow {
    FindingRow {
        finding_id: get(0),
        rule: get(1),
        kind: get(2),
        severity: get(3),
        household_id: get(4),
        id_number: get(5),
        name: get(6),
        township: get(7),
        village: get(8),
        evidence: get(9),
        sources: get(10),
        matched: get(11),
        case_status: get(12),
    }
}

/// Renders report.xlsx and report.html of the output folder `out` again;
/// returns the number of findings shown. `ledger` gives the verdicts to
/// pre-fill and the cases that disappeared in the run, as the case ledger
/// holds them, for the manifest's `disappeared_cases`.
pub fn rerender(
    out: &Path,
    masked: bool,
    ledger: impl FnOnce(&[String]) -> Result<LedgerView, HeduiError>,
) -> Result<usize, RerenderError> {
    let mut manifest = read_manifest(&out.join("manifest.json"))?;
    let (reviews, disappeared) =
        ledger(&manifest.disappeared_cases).map_err(RerenderError::Ledger)?;
    let reviews = &reviews;
    manifest.masked = masked;
    let csv = out.join("findings.csv");
    let findings = if csv.exists() {
        read_findings_csv(&csv)?
    } else {
        read_findings_parquet(&out.join("findings.parquet"))?
    };
    let report = PeopleReport {
        manifest: &manifest,
        findings: &findings,
        reviews,
        disappeared: &disappeared,
        masked,
    };
    view::write_into(out, &report)?;
    Ok(findings.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::findings;
    use crate::report::view::tests::finding;

    #[test]
    fn findings_read_back_from_csv_and_parquet_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut rows = vec![
            finding("CB01", "城关镇", "110105199001011234", "张三明"),
            finding("DQ01", "", "", "孙丽"),
        ];
        rows[0].evidence = "人均月收入 1520.00 元, 超标\n\"引号\"".to_string();
        let csv = dir.path().join("findings.csv");
        findings::write_csv(File::create(&csv).unwrap(), &rows).unwrap();
        assert_eq!(read_findings_csv(&csv).unwrap(), rows);
        let pq = dir.path().join("findings.parquet");
        crate::report::parquet::write(File::create(&pq).unwrap(), &findings::to_batch(&rows))
            .unwrap();
        assert_eq!(read_findings_parquet(&pq).unwrap(), rows);
    }

    #[test]
    fn a_manifest_whose_as_of_is_no_date_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        std::fs::write(&path, r#"{"tool":"hedui","as_of":"2025-11-30"}"#).unwrap();
        assert_eq!(read_manifest(&path).unwrap().as_of, "2025-11-30");
        std::fs::write(
            &path,
            r#"{"tool":"hedui","as_of":"张风341122198304101994"}"#,
        )
        .unwrap();
        let err = read_manifest(&path).unwrap_err().to_string();
        assert!(err.contains("as_of 不是 YYYY-MM-DD 日期"), "{err}");
        assert!(
            !err.contains("张风") && !err.contains("198304101994"),
            "{err}"
        );
    }

    #[test]
    fn a_findings_file_without_a_contract_column_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("findings.csv");
        std::fs::write(&csv, "finding_id,rule\nx,CB01\n").unwrap();
        assert!(matches!(
            read_findings_csv(&csv),
            Err(RerenderError::MissingColumn { column, .. }) if column == "kind"
        ));
    }
}
