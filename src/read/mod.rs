//! File formats and encodings: CSV/TSV (UTF-8, UTF-8 BOM, GB18030/GBK), XLSX
//! and Parquet, read into sections of header + string rows that carry the row
//! number a person sees in a spreadsheet. This layer knows nothing of extract
//! types: the caller passes a predicate that recognises a header row.
//!
//! Who owns what:
//! - `mod.rs`: the types, [`ReadError`] and [`read_file`]
//!   (dispatch by file extension).
//! - `encoding.rs`: turning the bytes of a text file into UTF-8 (BOMs,
//!   UTF-8, UTF-16, GB18030 detection) and the delimiter sniff for `.txt`.
//! - `csv.rs`: CSV/TSV records and their spreadsheet row numbers.
//! - `xlsx.rs`: workbooks, one section per sheet, and how a cell becomes text.
//! - `parquet.rs`: Parquet files, every column cast to text.
//! - `section.rs`: what all formats share: the header search and the
//!   blank / total / repeated-header classification of the rows below it.

mod csv;
mod encoding;
mod parquet;
mod section;
pub use section::{is_title, join_header_rows};
mod xlsx;

use std::fmt;
use std::io;
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
/// with several sheets (spec/outputs.md), data or not.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowLoc {
    pub sheet: Option<String>,
    pub row: u32,
}

impl RowLoc {
    /// Writes the row's label (as [`fmt::Display`] gives it) into `out`,
    /// after what it holds: once per accepted row, without the formatting
    /// machinery.
    pub fn push_to(&self, out: &mut String) {
        if let Some(sheet) = &self.sheet {
            out.push_str(sheet);
            out.push('!');
        }
        out.push_str(itoa::Buffer::new().format(self.row));
    }
}

impl fmt::Display for RowLoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sheet {
            Some(sheet) => write!(f, "{sheet}!{}", self.row),
            None => write!(f, "{}", self.row),
        }
    }
}

/// The text of one cell as read. Most cells (an ID number, a name, a date,
/// an amount) fit in its 24 bytes without an allocation of their own: a
/// file's millions of rows would otherwise allocate and free a string per
/// cell.
pub type Cell = compact_str::CompactString;

/// One data row, its fields as decoded text, untrimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    pub loc: RowLoc,
    pub fields: Vec<Cell>,
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
    /// A title of one cell right above a repeated header (two exports
    /// pasted into one file: `2025年10月失业登记` above the second's header).
    Title,
    /// A line the export ends with: who made or checked it, when, notes
    /// (`制表人：张三`, `注：…`).
    Footer,
}

impl SkipReason {
    pub fn code(self) -> &'static str {
        match self {
            SkipReason::Blank => "blank",
            SkipReason::Total => "total",
            SkipReason::RepeatedHeader => "repeated_header",
            SkipReason::Title => "title",
            SkipReason::Footer => "footer",
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
    pub header: Vec<Cell>,
    pub header_loc: RowLoc,
    /// Data rows in file order; `rows.len() + skipped.len()` is every row
    /// below the header.
    pub rows: Vec<RawRow>,
    pub skipped: Vec<SkippedRow>,
    /// Header rows below the header with other cells than it (a second
    /// export pasted on, its columns in another order), in order; each is
    /// also a skipped row (a repeated header). The rows after one are
    /// laid out as it says.
    pub headers: Vec<(RowLoc, Vec<Cell>)>,
    /// The row right above the header, when it is not blank: the first row
    /// of a header of two rows, perhaps (see `input`'s two-row headers).
    pub above: Option<Vec<Cell>>,
    /// The rows above the header that are not blank (a title, notes, or
    /// another type's table pasted above), with their row numbers: at most
    /// the rows a header is sought in.
    pub head: Vec<(u32, Vec<Cell>)>,
    /// A sheet of a workbook in Excel's 1904 date system (Mac Excel): a
    /// date serial in a cell without a date format counts from 1904-01-01.
    pub dates_1904: bool,
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
    /// Of those, the worksheets with their first [`HEADER_SEARCH_ROWS`]
    /// rows that hold a value: the caller can tell whether they are
    /// another extract type's header.
    pub unheaded_sheets: Vec<(String, Vec<Vec<Cell>>)>,
    /// Hidden sheets (XLSX) that were read as data.
    pub hidden_sheets: Vec<String>,
    /// Empty cells of merged ranges (XLSX) given their range's value.
    pub merged_cells_filled: u64,
    /// SHA-256 of the file's bytes, lower-case hex.
    pub sha256: String,
    /// The row a text file's end cut through mid-character (a truncated
    /// copy): its last field lost bytes, so the row cannot be trusted even
    /// when its field count happens to be right.
    pub cut_off: Option<RowLoc>,
}

/// Rows of one section handed on while a file is read (see
/// [`read_file_chunked`]).
#[derive(Debug)]
pub struct Chunk<'a> {
    /// Which section of the file (0 for CSV/TSV and Parquet).
    pub section: usize,
    /// The section's sheet, header and header location (its `rows` and
    /// `skipped` are not filled in).
    pub header: &'a Section,
    pub rows: Vec<RawRow>,
    pub skipped: Vec<SkippedRow>,
    /// The section's header rows with other cells among these rows (see
    /// [`Section::headers`]).
    pub headers: Vec<(RowLoc, Vec<Cell>)>,
    /// On a text file's last chunk: the row its end cut through
    /// mid-character (see [`RawTable::cut_off`]).
    pub cut_off: Option<RowLoc>,
}

/// Receives the chunks of a file in file order. Every section is handed on
/// at least once, with no rows when it has none.
pub type ChunkSink<'a> = dyn FnMut(Chunk<'_>) + Send + 'a;

/// How many non-blank rows from the top of a file (or sheet) are searched for
/// the header row: enough for a title block, few enough that a file without
/// any header fails fast instead of being scanned to the end.
pub const HEADER_SEARCH_ROWS: usize = 30;

/// A file that cannot be read at all (exit code 4). Messages name the file
/// (its name only), in Chinese then English, and never quote the cells of
/// data rows: those hold ID numbers and names.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "无法读取文件 {file}：{}（{source}）/ cannot read {file}: {source}",
        io_reason(source)
    )]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error("空文件：{file} / empty file: {file}")]
    Empty { file: String },
    #[error("{}", no_header_message(file, *rows, sheets))]
    NoHeader {
        file: String,
        /// How many non-blank rows were searched.
        rows: usize,
        /// For a workbook: the sheets searched.
        sheets: Vec<String>,
        /// The first rows that hold a value, not in the message: for a
        /// workbook, each worksheet's (see [`RawTable::unheaded_sheets`]);
        /// for a text file, the file's, under an empty sheet name.
        heads: Vec<(String, Vec<Vec<Cell>>)>,
    },
    #[error(
        "无法识别文件编码：{file}（按 {encoding} 解码，第 {line} 行、第 {offset} 字节处有无效字节序列；\
         请将该文件整体另存为 UTF-8 或 GBK）/ \
         cannot decode {file}: invalid byte sequence on line {line}, at byte offset {offset} \
         (guessed encoding {encoding}; save the whole file again as UTF-8 or GBK)"
    )]
    Undecodable {
        file: String,
        /// The encoding the file was decoded as (`binary` for a file holding NUL bytes).
        encoding: String,
        /// 0-based offset in the file of the first malformed byte sequence.
        offset: u64,
        /// The line it is on (1-based, as a text editor counts them).
        line: u64,
    },
    #[error(
        "文件混用了两种编码：{file} 是 GB18030（GBK）编码，但第 {line} 行是 UTF-8，\
         按 GB18030 读会成乱码（可能是从另一个文件粘贴或追加的行）；请将该文件整体另存为 UTF-8 或 GBK / \
         {file} mixes two encodings: it is GB18030 (GBK), but line {line} is UTF-8 and would be \
         garbled (rows pasted or appended from another file?); save the whole file again as UTF-8 or GBK"
    )]
    MixedEncoding {
        file: String,
        /// The first line in the other encoding (1-based).
        line: u64,
    },
    #[error("不是有效的 XLSX 文件：{file}（{reason}）/ not a valid xlsx file: {file} ({reason})")]
    BadWorkbook { file: String, reason: String },
    #[error("无法读取 Parquet 文件：{file}（{reason}）/ cannot read parquet file {file}: {reason}")]
    Parquet { file: String, reason: String },
    #[error(
        "不支持的文件格式：{file}（支持 .csv .tsv .txt .xlsx .xlsm .parquet）/ \
         unsupported file format: {file} (supported: .csv .tsv .txt .xlsx .xlsm .parquet)"
    )]
    UnsupportedFormat { file: String },
    #[error("不是文本文件：{file}（{what}）/ not a text file: {file} ({what_en})")]
    NotText {
        file: String,
        /// What it is and what to do, in Chinese, then in English.
        what: &'static str,
        what_en: &'static str,
    },
}

/// The error for a file named as text (.csv, .tsv, .txt) whose bytes are
/// a workbook: an .xlsx or .xls renamed, which decoding would call a text
/// of unknown encoding.
fn workbook_named_as_text(file: &str, bytes: &[u8]) -> Option<ReadError> {
    let (what, what_en) = if bytes.starts_with(b"PK\x03\x04") {
        (
            "内容是 XLSX 工作簿（zip 压缩格式），可能是改了扩展名的工作簿；请把扩展名改为 .xlsx，或在 Excel 中另存为 CSV",
            "it holds an XLSX workbook (a zip), renamed perhaps: name it .xlsx, or save it again as CSV in Excel",
        )
    } else if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        (
            "内容是旧版 Excel 97-2003 工作簿（.xls）或其他 Office 文件；请在 Excel 中打开并另存为 .xlsx 或 CSV",
            "it holds an Excel 97-2003 workbook (.xls) or another Office file: open it in Excel and save it as .xlsx or CSV",
        )
    } else {
        return None;
    };
    Some(ReadError::NotText {
        file: file.to_owned(),
        what,
        what_en,
    })
}

/// Why a file could not be read, in Chinese: staff read the message, the
/// system's own words follow it.
fn io_reason(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::NotFound => "文件不存在（或是指向不存在文件的链接）",
        io::ErrorKind::PermissionDenied => "没有读取该文件的权限",
        io::ErrorKind::IsADirectory => "这是一个文件夹，不是文件",
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => "文件内容不完整或已损坏",
        _ => "读取时出错",
    }
}

impl ReadError {
    /// The name of the file the error is about.
    pub fn file(&self) -> &str {
        match self {
            ReadError::Io { file, .. }
            | ReadError::Empty { file }
            | ReadError::NoHeader { file, .. }
            | ReadError::Undecodable { file, .. }
            | ReadError::MixedEncoding { file, .. }
            | ReadError::BadWorkbook { file, .. }
            | ReadError::Parquet { file, .. }
            | ReadError::UnsupportedFormat { file }
            | ReadError::NotText { file, .. } => file,
        }
    }
}

fn no_header_message(file: &str, rows: usize, sheets: &[String]) -> String {
    if sheets.is_empty() {
        format!(
            "在前 {rows} 行中未找到表头：{file} / no header row found in the first {rows} rows of {file}"
        )
    } else {
        // A sheet may be named after a person (王芳户): masked as a header
        // cell that is a name is.
        let sheets: Vec<String> = sheets.iter().map(|s| sheet_for_message(s)).collect();
        let zh = sheets.join("、");
        let en = sheets.join(", ");
        format!(
            "在前 {rows} 行中未找到表头：{file}（工作表：{zh}）/ \
             no header row found in the first {rows} rows of any sheet of {file} (sheets: {en})"
        )
    }
}

/// A sheet's name for messages: a part of it that reads as a person's name
/// (a workbook of one sheet per household, 王芳户) or holds an ID number is
/// masked, as in a file's name ([`crate::report::mask::mask_label`]).
pub(crate) fn sheet_for_message(sheet: &str) -> String {
    crate::report::mask::mask_label(sheet)
}

/// The file's name for messages: never the full path (it may name a person's
/// home folder) and never its content.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned())
}

/// What the extension says, before any sniffing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Tsv,
    /// `.txt`, and `.csv` too: Excel's "Unicode text" export is
    /// tab-separated (and is often renamed `.csv`), others are
    /// comma-separated; the content decides.
    Text,
    Xlsx,
    Parquet,
}

pub(crate) fn kind_of(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "tsv" => Some(Kind::Tsv),
        "csv" | "txt" => Some(Kind::Text),
        "xlsx" | "xlsm" => Some(Kind::Xlsx),
        "parquet" => Some(Kind::Parquet),
        _ => None,
    }
}

/// The columns of a header row up to its last named cell: the cells after
/// it are empty (columns Excel formatted and left empty), and a row need not
/// reach them.
pub fn named_width(cells: &[impl AsRef<str>]) -> usize {
    cells
        .iter()
        .rposition(|c| !c.as_ref().chars().all(crate::normalize::text::is_blank))
        .map_or(0, |last| last + 1)
}

/// Reads a whole file into sections of header + rows.
///
/// `is_header` recognises a header row; the first row (from the top, within
/// the first [`HEADER_SEARCH_ROWS`] non-blank rows) for which it holds is the
/// header, rows above it are title rows and are not returned. Every row below
/// the header comes back either as data or as a skipped row with its reason.
/// Fields are returned as decoded, untrimmed (a UTF-8 BOM is stripped).
pub fn read_file(
    path: &Path,
    is_header: &(dyn Fn(&[Cell]) -> bool + Sync),
) -> Result<RawTable, ReadError> {
    collecting(|sink| read_file_chunked(path, is_header, sink))
}

/// Runs a chunked read with every chunk collected back into its section.
fn collecting(
    read: impl FnOnce(&mut ChunkSink<'_>) -> Result<RawTable, ReadError>,
) -> Result<RawTable, ReadError> {
    let mut collected: Vec<(Vec<RawRow>, Vec<SkippedRow>)> = Vec::new();
    let mut sink = |chunk: Chunk<'_>| {
        if collected.len() <= chunk.section {
            collected.resize_with(chunk.section + 1, Default::default);
        }
        let (rows, skipped) = &mut collected[chunk.section];
        rows.extend(chunk.rows);
        skipped.extend(chunk.skipped);
    };
    let mut table = read(&mut sink)?;
    for (section, (rows, skipped)) in table.sections.iter_mut().zip(collected) {
        section.rows = rows;
        section.skipped = skipped;
    }
    Ok(table)
}

/// Reads a file as [`read_file`] does, but hands the rows below each header
/// to `sink` in chunks, in file order, as they are read: a CSV file is never
/// held as rows whole. The sections of the returned table carry no rows.
/// A file that fails part-way may have handed some chunks on already.
pub fn read_file_chunked<'a>(
    path: &Path,
    is_header: &'a (dyn Fn(&[Cell]) -> bool + Sync),
    sink: &'a mut ChunkSink<'a>,
) -> Result<RawTable, ReadError> {
    let file = file_name(path);
    let Some(kind) = kind_of(path) else {
        return Err(ReadError::UnsupportedFormat { file });
    };
    let delimited = match kind {
        Kind::Parquet => {
            let sha256 = sha256_of(&map_whole(path, &file)?);
            let mut table = parquet::read_parquet(path, &file, is_header, sink)?;
            table.sha256 = sha256;
            return Ok(table);
        }
        Kind::Xlsx => {
            let bytes = read_whole(path, &file)?;
            let sha256 = sha256_of(&bytes);
            let mut table = xlsx::read_xlsx(&file, bytes, is_header, sink)?;
            table.sha256 = sha256;
            return Ok(table);
        }
        Kind::Tsv => Some(FileFormat::Tsv),
        Kind::Text => None,
    };
    let bytes = map_whole(path, &file)?;
    if let Some(e) = workbook_named_as_text(&file, &bytes) {
        return Err(e);
    }
    // The digest is taken from the bytes already at hand, beside the
    // parsing: the file is read once.
    let (sha256, table) = rayon::join(
        || sha256_of(&bytes),
        || csv::read_delimited(&file, &bytes, delimited, is_header, sink),
    );
    let mut table = table?;
    table.sha256 = sha256;
    Ok(table)
}

/// A file's SHA-256 in lower-case hex, as the manifest and the verdict log
/// give it.
pub(crate) fn sha256_of(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Reads a CSV, TSV, `.txt` or XLSX file already in memory, as
/// [`read_file`] reads one on disk; `file` gives its name (for the format and
/// for messages). Parquet is read from disk only. For fuzzing and property
/// tests: whatever the bytes, an error and never a panic.
pub fn read_bytes(
    file: &str,
    bytes: Vec<u8>,
    is_header: &(dyn Fn(&[Cell]) -> bool + Sync),
) -> Result<RawTable, ReadError> {
    let file = file.to_owned();
    let kind = kind_of(Path::new(&file));
    if matches!(kind, None | Some(Kind::Parquet)) {
        return Err(ReadError::UnsupportedFormat { file });
    }
    if encoding::is_blank_bytes(&bytes) {
        return Err(ReadError::Empty { file });
    }
    if kind != Some(Kind::Xlsx)
        && let Some(e) = workbook_named_as_text(&file, &bytes)
    {
        return Err(e);
    }
    collecting(|sink| match kind {
        Some(Kind::Xlsx) => xlsx::read_xlsx(&file, bytes, is_header, sink),
        Some(Kind::Tsv) => {
            csv::read_delimited(&file, &bytes, Some(FileFormat::Tsv), is_header, sink)
        }
        _ => csv::read_delimited(&file, &bytes, None, is_header, sink),
    })
}

/// Text and workbooks are read whole: extracts are at most a few hundred
/// megabytes, and decoding and zip access both want the bytes at hand.
/// A file of nothing but whitespace (after an optional UTF-8 BOM) is empty
/// whatever its extension.
fn read_whole(path: &Path, file: &str) -> Result<Vec<u8>, ReadError> {
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        file: file.to_owned(),
        source,
    })?;
    not_blank(bytes, file)
}

/// A file's bytes: mapped from the system's file cache, or read when the
/// file cannot be mapped (an empty file, a file system without mappings).
enum FileBytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(map) => map,
            FileBytes::Read(bytes) => bytes,
        }
    }
}

/// As [`read_whole`], but the bytes are mapped, not copied: a read copies
/// every byte into pages the system must first zero, which on these
/// machines is slow (0.3–0.5 GB/s; a fifth of a county run's CPU went to
/// zeroing pages, a seventh of that to reading the files). The files of a
/// batch must not change while it runs (they are an export, written
/// before it starts): a file cut short under the mapping ends the run.
fn map_whole(path: &Path, file: &str) -> Result<FileBytes, ReadError> {
    let io_error = |source| ReadError::Io {
        file: file.to_owned(),
        source,
    };
    let handle = std::fs::File::open(path).map_err(io_error)?;
    let len = handle.metadata().map_err(io_error)?.len();
    // SAFETY: the mapping is read-only (shared with the file cache, not a
    // copy) and lives only while this file is parsed. Its bytes could
    // change if another program rewrote the file meanwhile; a batch's files
    // are not written while a run reads them (see above and the README).
    let bytes = match (len > 0).then(|| unsafe { memmap2::Mmap::map(&handle) }) {
        Some(Ok(map)) => {
            let _ = map.advise(memmap2::Advice::Sequential);
            FileBytes::Mapped(map)
        }
        _ => return read_whole(path, file).map(FileBytes::Read),
    };
    not_blank(bytes, file)
}

fn not_blank<B: std::ops::Deref<Target = [u8]>>(bytes: B, file: &str) -> Result<B, ReadError> {
    if encoding::is_blank_bytes(&bytes) {
        return Err(ReadError::Empty {
            file: file.to_owned(),
        });
    }
    Ok(bytes)
}

/// Helpers for the tests of every format.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;

    use super::{Cell, RawRow, Section, SkipReason, SkippedRow};

    /// A header carries both `姓名` and `身份证号` (as the extract layer's
    /// predicate would, from its column aliases).
    pub fn is_header(fields: &[Cell]) -> bool {
        let has = |name: &str| fields.iter().any(|f| f.trim() == name);
        has("姓名") && has("身份证号")
    }

    /// Writes `bytes` to `name` in a fresh temp dir (kept alive by the guard).
    pub fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write temp file");
        (dir, path)
    }

    pub fn row_numbers(rows: &[RawRow]) -> Vec<u32> {
        rows.iter().map(|r| r.loc.row).collect()
    }

    pub fn skips(skipped: &[SkippedRow]) -> Vec<(u32, SkipReason)> {
        skipped.iter().map(|s| (s.loc.row, s.reason)).collect()
    }

    pub fn fields_of(section: &Section, row: u32) -> Vec<&str> {
        section
            .rows
            .iter()
            .find(|r| r.loc.row == row)
            .map(|r| r.fields.iter().map(Cell::as_str).collect())
            .unwrap_or_default()
    }

    /// Deterministic noise (an LCG): no rand dependency for one test.
    pub fn noise(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (seed >> 33) as u8
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn a_row_label_is_pushed_as_it_is_displayed() {
        let mut out = String::from("x");
        for loc in [
            RowLoc {
                sheet: None,
                row: 2,
            },
            RowLoc {
                sheet: Some("低保名册".into()),
                row: 4_294_967_295,
            },
            RowLoc {
                sheet: None,
                row: 0,
            },
        ] {
            out.truncate(1);
            loc.push_to(&mut out);
            assert_eq!(out, format!("x{loc}"));
        }
    }

    #[test]
    fn format_by_extension_case_insensitive() {
        assert_eq!(kind_of(Path::new("a/roster.CSV")), Some(Kind::Text));
        assert_eq!(kind_of(Path::new("x.txt")), Some(Kind::Text));
        assert_eq!(kind_of(Path::new("x.tsv")), Some(Kind::Tsv));
        assert_eq!(kind_of(Path::new("x.Xlsx")), Some(Kind::Xlsx));
        assert_eq!(kind_of(Path::new("x.xlsm")), Some(Kind::Xlsx));
        assert_eq!(kind_of(Path::new("x.parquet")), Some(Kind::Parquet));
        assert!(kind_of(Path::new("x.xls")).is_none());
        assert!(kind_of(Path::new("README")).is_none());
    }

    #[test]
    fn txt_format_is_sniffed() {
        let format = |name: &str, text: &str| {
            let (_dir, path) = temp_file(name, text.as_bytes());
            read_file(&path, &is_header).expect("readable").format
        };
        assert_eq!(
            format("export.txt", "\r\n姓名\t身份证号\r\n"),
            FileFormat::Tsv
        );
        assert_eq!(format("export.txt", "姓名,身份证号\n"), FileFormat::Csv);
        // A tab-separated export renamed .csv is read as what it is.
        assert_eq!(format("export.csv", "姓名\t身份证号\n"), FileFormat::Tsv);
        assert_eq!(
            format("export.csv", "姓名,身份证号,备\t注\n"),
            FileFormat::Csv
        );
    }

    #[test]
    fn unsupported_extension_is_an_error() {
        let (_dir, path) = temp_file("roster.xls", b"whatever");
        let err = read_file(&path, &is_header).expect_err("unsupported");
        assert!(matches!(err, ReadError::UnsupportedFormat { .. }), "{err}");
        assert!(err.to_string().starts_with("不支持的文件格式：roster.xls"));
    }

    #[test]
    fn missing_file_names_the_file_not_its_folder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("secret-folder").join("roster.csv");
        let err = read_file(&path, &is_header).expect_err("missing");
        assert!(matches!(err, ReadError::Io { .. }));
        let message = err.to_string();
        assert!(
            message.contains("roster.csv") && !message.contains("secret-folder"),
            "{message}"
        );
        assert!(
            message.starts_with("无法读取文件 roster.csv：文件不存在"),
            "{message}"
        );
        assert_eq!(err.file(), "roster.csv");
    }
}
