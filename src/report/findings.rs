//! findings.csv and findings.parquet: one row per finding, the columns of
//! spec/outputs.md in order, sorted by rule, township, household_id,
//! id_number, then finding_id; finding_id a hash of the rule and its subject
//! (plus the source row for DQ01/DQ04), so that it is stable across runs.

use std::io::{self, Write};
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use rayon::slice::ParallelSliceMut as _;
use sha2::{Digest, Sha256};

pub const COLUMNS: [&str; 13] = [
    "finding_id",
    "rule",
    "kind",
    "severity",
    "household_id",
    "id_number",
    "name",
    "township",
    "village",
    "evidence",
    "sources",
    "match",
    "case_status",
];

/// One output row of findings.csv.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FindingRow {
    pub finding_id: String,
    pub rule: String,
    pub kind: String,
    pub severity: String,
    pub household_id: String,
    pub id_number: String,
    pub name: String,
    pub township: String,
    pub village: String,
    pub evidence: String,
    /// `extract:file:row` joined by `;`.
    pub sources: String,
    pub matched: String,
    pub case_status: String,
}

impl FindingRow {
    fn fields(&self) -> [&str; 13] {
        [
            &self.finding_id,
            &self.rule,
            &self.kind,
            &self.severity,
            &self.household_id,
            &self.id_number,
            &self.name,
            &self.township,
            &self.village,
            &self.evidence,
            &self.sources,
            &self.matched,
            &self.case_status,
        ]
    }
}

/// The stable identity of a finding: a hash of the rule and its subject, and
/// for the per-row DQ rules of the source row.
pub fn finding_id(
    rule: &str,
    household_id: &str,
    id_number: &str,
    source_row: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    for part in [rule, household_id, id_number, source_row.unwrap_or("")] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(&h.finalize()[..8])
}

/// Whether a text has the form [`finding_id`] gives: 16 hexadecimal digits.
pub fn is_finding_id(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Sorts findings into the order of spec/outputs.md, ties kept in place.
/// Each row's key is its sort fields joined, each ended by a NUL (no text
/// holds one, and it sorts before every other byte, so that a field that
/// is a prefix of another sorts first, as the field alone would): one
/// comparison of bytes in place of five of strings found through the rows.
pub fn sort(rows: &mut [FindingRow]) {
    rows.par_sort_by_cached_key(|r| {
        let fields = [
            &r.rule,
            &r.township,
            &r.household_id,
            &r.id_number,
            &r.finding_id,
        ];
        let mut key = Vec::with_capacity(fields.iter().map(|f| f.len() + 1).sum());
        for f in fields {
            key.extend_from_slice(f.as_bytes());
            key.push(0);
        }
        key
    });
}

/// Writes findings.csv: UTF-8 with a BOM so that Excel opens it correctly.
pub fn write_csv<W: Write>(mut out: W, rows: &[FindingRow]) -> io::Result<()> {
    out.write_all("\u{feff}".as_bytes())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS)?;
    for r in rows {
        w.write_record(r.fields())?;
    }
    w.flush()
}

/// The findings as an Arrow table (all text columns), for Parquet.
pub fn to_batch(rows: &[FindingRow]) -> RecordBatch {
    let schema = Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|c| Field::new(*c, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = (0..COLUMNS.len())
        .map(|i| {
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.fields()[i]),
            )) as ArrayRef
        })
        .collect();
    RecordBatch::try_new(schema, columns).expect("columns match the schema")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_id_is_stable_and_separates_its_parts() {
        let a = finding_id("CB01", "H001", "110105199001011234", None);
        assert_eq!(a, finding_id("CB01", "H001", "110105199001011234", None));
        assert_eq!(a.len(), 16);
        assert!(is_finding_id(&a));
        assert!(!is_finding_id("34112219780312562X"));
        assert_ne!(a, finding_id("CB01", "H00", "1110105199001011234", None));
        assert_ne!(
            finding_id("DQ01", "", "", Some("medical_settlement:a.csv:5")),
            finding_id("DQ01", "", "", Some("medical_settlement:a.csv:6"))
        );
    }

    #[test]
    fn csv_has_bom_and_contract_columns() {
        let mut out = Vec::new();
        write_csv(
            &mut out,
            &[FindingRow {
                rule: "CB01".into(),
                evidence: "人均月收入 1520.00 元, 超标".into(),
                ..FindingRow::default()
            }],
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("\u{feff}finding_id,rule,kind,severity,household_id,id_number,name,township,village,evidence,sources,match,case_status\n"));
        assert!(text.contains("\"人均月收入 1520.00 元, 超标\""));
    }

    #[test]
    fn sort_orders_by_rule_township_household_id_and_keeps_ties_in_place() {
        let row = |rule: &str, township: &str, household: &str, evidence: &str| FindingRow {
            rule: rule.into(),
            township: township.into(),
            household_id: household.into(),
            evidence: evidence.into(),
            ..FindingRow::default()
        };
        let mut rows = vec![
            row("DY01", "甲镇", "H2", "a"),
            row("CB01", "乙镇", "H1", "b"),
            row("CB01", "甲镇", "H3", "c"),
            row("DY01", "甲镇", "H2", "d"),
            row("CB01", "甲镇", "H1", "e"),
            row("DY01", "甲镇", "H2", "f"),
        ];
        sort(&mut rows);
        let order: String = rows.iter().map(|r| r.evidence.as_str()).collect();
        // 乙 (U+4E59) sorts before 甲 (U+7532): text order, by code point.
        assert_eq!(order, "becadf");

        // A field that begins another sorts first, whatever follows it:
        // H1 before H10 though 9 is above 0.
        let with_id = |household: &str, id: &str, evidence: &str| FindingRow {
            id_number: id.into(),
            ..row("DQ01", "甲镇", household, evidence)
        };
        let mut rows = vec![
            with_id("H10", "1", "x"),
            with_id("H1", "9", "y"),
            with_id("H1", "", "z"),
        ];
        sort(&mut rows);
        let order: String = rows.iter().map(|r| r.evidence.as_str()).collect();
        assert_eq!(order, "zyx");
    }
}
