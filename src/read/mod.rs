//! File formats and encodings: CSV/TSV (UTF-8, UTF-8 BOM, GB18030/GBK), XLSX
//! and Parquet, read into sections of header + string rows that carry the row
//! number a person sees in a spreadsheet. This layer knows nothing of extract
//! types: the caller passes a predicate that recognises a header row.

use std::fmt;
use std::path::Path;

/// The container format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Tsv,
    Xlsx,
    Parquet,
}

impl FileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Tsv => "tsv",
            FileFormat::Xlsx => "xlsx",
            FileFormat::Parquet => "parquet",
        }
    }
}

/// Where a row stands, as a person opening the file sees it: for CSV/TSV the
/// header is row 1 (when it is the first line) and data records follow; for
/// XLSX the sheet's own 1-based row number, prefixed `sheet!` in workbooks
/// with several sheets that carry a header.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowLoc {
    pub sheet: Option<String>,
    pub row: u32,
}

impl fmt::Display for RowLoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sheet {
            Some(sheet) => write!(f, "{sheet}!{}", self.row),
            None => write!(f, "{}", self.row),
        }
    }
}

/// One data row, its fields as decoded text, untrimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    pub loc: RowLoc,
    pub fields: Vec<String>,
}

/// Why a row below the header was skipped rather than read as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// Every field empty or whitespace.
    Blank,
    /// A total row: its first non-empty field is 合计 / 总计 / 小计.
    Total,
    /// The header row again (a copy-paste in the middle of the file).
    RepeatedHeader,
}

impl SkipReason {
    pub fn code(self) -> &'static str {
        match self {
            SkipReason::Blank => "blank",
            SkipReason::Total => "total",
            SkipReason::RepeatedHeader => "repeated_header",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    pub loc: RowLoc,
    pub reason: SkipReason,
}

/// A header row and the rows below it: a CSV file has one section, a
/// workbook one per sheet that carries a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub sheet: Option<String>,
    pub header: Vec<String>,
    pub header_loc: RowLoc,
    /// Data rows in file order; `rows.len() + skipped.len()` is every row
    /// below the header.
    pub rows: Vec<RawRow>,
    pub skipped: Vec<SkippedRow>,
}

/// What a file held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTable {
    pub format: FileFormat,
    /// `UTF-8`, `UTF-8-BOM`, `UTF-16LE`, `GB18030`, …; `binary` for XLSX and Parquet.
    pub encoding: String,
    pub sections: Vec<Section>,
    /// Sheets in which no header row was found (listed, not read).
    pub ignored_sheets: Vec<String>,
}
