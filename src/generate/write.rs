//! Writing the extracts as a county receives them — CSV, TSV or XLSX; UTF-8,
//! UTF-8 with BOM or GB18030; CRLF; varied date and money formats; duplicate,
//! conflicting and repeated-header rows; XLSX title, blank and 合计 rows and
//! several sheets — and, beside each data row, its line of truth/links.csv.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};

use super::GenerateError;
use super::mess::{Corruption, MessRates, Resolution, render_id, render_name};
use super::names::NameBook;
use super::tables::{Cell, Extract};
use super::world::{Fen, World};

/// One rendered value: text, or a number in XLSX.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    S(String),
    N(f64),
}

impl Out {
    fn text(&self) -> String {
        match self {
            Out::S(s) => s.clone(),
            Out::N(n) => format!("{n}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Tsv,
    Xlsx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Encoding {
    #[serde(rename = "UTF-8")]
    Utf8,
    #[serde(rename = "UTF-8-BOM")]
    Utf8Bom,
    #[serde(rename = "GB18030")]
    Gb18030,
}

/// What was written for one extract.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileMeta {
    pub extract: &'static str,
    pub file: String,
    pub format: Format,
    pub encoding: Encoding,
    pub crlf: bool,
    pub sheets: usize,
    pub data_rows: u64,
    pub skipped_rows: u64,
    pub duplicate_rows: u64,
    pub conflict_rows: u64,
}

/// The per-row decisions made before writing (so that resolution can see them all).
pub struct Decisions {
    pub corruption: Vec<Vec<Corruption>>,
    pub raw: Vec<std::collections::BTreeMap<usize, String>>,
    pub resolution: Vec<Vec<Resolution>>,
}

/// A row location plus what truth needs of it, reported back to the caller.
pub struct LinkRow<'a> {
    pub extract: Extract,
    pub file: &'a str,
    pub row: &'a str,
    pub record: usize,
    pub corruption: Corruption,
    /// The row repeats an earlier data row of its file value for value, by
    /// chance (two rows of a common name with an empty ID): hedui counts it
    /// as an exact duplicate, once, so it carries no DQ01/DQ04 of its own.
    /// Told only for rows whose ID is destroyed, the ones those rules key on.
    pub repeats_earlier: bool,
}

/// A digest of a rendered row's values (SipHash with fixed keys: the same
/// on every run).
fn row_digest(row: &[Out]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    for cell in row {
        cell.text().hash(&mut hasher);
    }
    hasher.finish()
}

/// Per-file rendering style: most cells follow it, a few vary.
struct Style {
    date_base: usize,
    money_trim: bool,
    xlsx: bool,
}

fn excel_serial(d: NaiveDate) -> i64 {
    (d - NaiveDate::from_ymd_opt(1899, 12, 30).expect("epoch")).num_days()
}

fn render_date(d: NaiveDate, fmt: usize, xlsx: bool) -> Out {
    let (y, m, dd) = (d.year(), d.month(), d.day());
    match fmt {
        1 => Out::S(format!("{y}/{m}/{dd}")),
        2 => Out::S(format!("{y}{m:02}{dd:02}")),
        3 => Out::S(format!("{y}.{m:02}.{dd:02}")),
        4 => Out::S(format!("{y}年{m}月{dd}日")),
        5 if xlsx => Out::N(excel_serial(d) as f64),
        5 => Out::S(excel_serial(d).to_string()),
        _ => Out::S(format!("{y}-{m:02}-{dd:02}")),
    }
}

fn fen_text(f: Fen, trim: bool) -> String {
    let sign = if f < 0 { "-" } else { "" };
    let a = f.abs();
    let s = format!("{sign}{}.{:02}", a / 100, a % 100);
    if trim {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn render_money(f: Fen, variant: Option<usize>, style: &Style) -> Out {
    match variant {
        Some(0) => {
            let s = fen_text(f, false);
            let (int, frac) = s.split_once('.').expect("point");
            let mut grouped = String::new();
            for (i, ch) in int.chars().enumerate() {
                if i > 0 && (int.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(ch);
            }
            Out::S(format!("{grouped}.{frac}"))
        }
        Some(1) => Out::S(format!("{}元", fen_text(f, true))),
        Some(2) => {
            // 万 = 1,000,000 fen: exact with up to six decimals.
            let s = format!("{}.{:06}", f / 1_000_000, f % 1_000_000);
            Out::S(format!(
                "{}万",
                s.trim_end_matches('0').trim_end_matches('.')
            ))
        }
        Some(_) if f == 0 => Out::S("-".to_string()),
        _ if style.xlsx => Out::N(f as f64 / 100.0),
        _ => Out::S(fen_text(f, style.money_trim)),
    }
}

#[allow(clippy::too_many_arguments)]
fn render_row(
    world: &World,
    book: &NameBook,
    extract: Extract,
    cells: &[Cell],
    corruption: Corruption,
    raw: Option<&str>,
    style: &Style,
    rates: &MessRates,
    rng: &mut ChaCha8Rng,
) -> Vec<Out> {
    let (name_col, id_col) = extract.person_cols();
    cells
        .iter()
        .enumerate()
        .map(|(col, cell)| match cell {
            Cell::Text(s) => Out::S(s.clone()),
            Cell::Str(s) => Out::S(s.to_string()),
            Cell::Id(p) if col == id_col => {
                Out::S(render_id(&world.persons[*p].id, corruption, raw, rng))
            }
            Cell::Id(p) => Out::S(world.persons[*p].id.clone()),
            Cell::Name(p) if col == name_col => {
                Out::S(render_name(world, book, *p, corruption, rng))
            }
            Cell::Name(p) => Out::S(world.persons[*p].name.clone()),
            Cell::Date(None) | Cell::Empty => Out::S(String::new()),
            Cell::Date(Some(d)) => {
                let fmt = if rng.random_bool(rates.date_variant) {
                    rng.random_range(0..6)
                } else {
                    style.date_base
                };
                render_date(*d, fmt, style.xlsx)
            }
            Cell::Money(f) => {
                let variant = rng
                    .random_bool(rates.money_variant)
                    .then(|| rng.random_range(0..4));
                render_money(*f, variant, style)
            }
            Cell::Decimal(a) if style.xlsx => Out::N(*a as f64 / 100.0),
            Cell::Decimal(a) => Out::S(fen_text(*a, false)),
            Cell::Int(n) if style.xlsx => Out::N(*n as f64),
            Cell::Int(n) => Out::S(n.to_string()),
            Cell::Period(p) => Out::S(p.to_string()),
        })
        .collect()
}

/// Where rendered rows go.
enum Sink {
    Text {
        writer: Box<csv::Writer<Encoder>>,
        next_row: u64,
    },
    Xlsx {
        sheets: Vec<Vec<Vec<Out>>>,
    },
}

/// Encodes the UTF-8 stream the csv writer produces, at character boundaries.
struct Encoder {
    inner: BufWriter<File>,
    gb18030: bool,
    pending: Vec<u8>,
    cache: std::collections::HashMap<char, Vec<u8>>,
}

impl Encoder {
    fn drain(&mut self, all: bool) -> std::io::Result<()> {
        if !self.gb18030 {
            self.inner.write_all(&self.pending)?;
            self.pending.clear();
            return Ok(());
        }
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) => e.valid_up_to(),
        };
        let text = std::str::from_utf8(&self.pending[..valid]).expect("checked");
        // encoding_rs encodes legacy CJK by linear search: memoise per character.
        let mut bytes = Vec::with_capacity(text.len());
        for ch in text.chars() {
            if ch.is_ascii() {
                bytes.push(ch as u8);
                continue;
            }
            let encoded = self.cache.entry(ch).or_insert_with(|| {
                let mut buf = [0u8; 4];
                encoding_rs::GB18030
                    .encode(ch.encode_utf8(&mut buf))
                    .0
                    .into_owned()
            });
            bytes.extend_from_slice(encoded);
        }
        self.inner.write_all(&bytes)?;
        self.pending.drain(..valid);
        if all && !self.pending.is_empty() {
            return Err(std::io::Error::other("incomplete UTF-8 at end of stream"));
        }
        Ok(())
    }
}

impl Write for Encoder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() > 1 << 16 {
            self.drain(false)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.drain(true)?;
        self.inner.flush()
    }
}

impl Sink {
    /// Emit a row; returns the row reference a person sees.
    fn emit(&mut self, row: &[Out], multi_sheet: bool) -> Result<String, GenerateError> {
        match self {
            Sink::Text { writer, next_row } => {
                writer
                    .write_record(row.iter().map(Out::text))
                    .map_err(GenerateError::csv)?;
                *next_row += 1;
                Ok(next_row.to_string())
            }
            Sink::Xlsx { sheets } => {
                let sheet = sheets.last_mut().expect("a sheet");
                sheet.push(row.to_vec());
                let n = sheet.len();
                Ok(if multi_sheet {
                    format!("Sheet{}!{}", sheets.len(), n)
                } else {
                    n.to_string()
                })
            }
        }
    }
}

/// One extract file being written: opened once, fed the rows of one or
/// more worlds (the districts of a city), then finished.
pub struct ExtractWriter {
    extract: Extract,
    file: String,
    path: PathBuf,
    sink: Sink,
    meta: FileMeta,
    style: Style,
    header: Vec<Out>,
    multi_sheet: bool,
    total_row: bool,
    repeat_at: Option<usize>,
    previous: Option<Vec<Out>>,
    money_total: Fen,
    money_col: Option<usize>,
    rows_written: usize,
    /// Digests of the destroyed-ID data rows written so far, for
    /// [`LinkRow::repeats_earlier`].
    destroyed_id_rows: std::collections::HashSet<u64>,
}

impl ExtractWriter {
    /// Open the file of `extract`; `n` is the number of records of the first
    /// (or only) world, `allow_xlsx` false when rows will be streamed in parts.
    pub fn open(
        extract: Extract,
        as_of: NaiveDate,
        n: usize,
        allow_xlsx: bool,
        rates: &MessRates,
        rng: &mut ChaCha8Rng,
        input_dir: &Path,
    ) -> Result<ExtractWriter, GenerateError> {
        let format = match rng.random_range(0..100) {
            0..65 => Format::Csv,
            65..80 => Format::Tsv,
            _ if allow_xlsx && n < 100_000 => Format::Xlsx,
            _ => Format::Csv,
        };
        let encoding = match rng.random_range(0..100) {
            0..60 => Encoding::Utf8,
            60..75 => Encoding::Utf8Bom,
            _ => Encoding::Gb18030,
        };
        let crlf = rng.random_bool(0.4);
        let xlsx = format == Format::Xlsx;
        let style = Style {
            date_base: if rng.random_bool(0.75) {
                0
            } else {
                rng.random_range(1..5)
            },
            money_trim: rng.random_bool(0.3),
            xlsx,
        };
        let ext = match format {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Xlsx => "xlsx",
        };
        let file = format!("{}_{}.{}", extract.name(), as_of.format("%Y%m"), ext);
        let path = input_dir.join(&file);
        let multi_sheet = xlsx && n >= 4 && rng.random_bool(0.3);
        let title = xlsx && rng.random_bool(0.5);
        let total_row = xlsx && rng.random_bool(0.5);
        let header: Vec<Out> = extract
            .headers()
            .iter()
            .map(|h| Out::S(h.to_string()))
            .collect();
        let mut sink = if xlsx {
            Sink::Xlsx {
                sheets: vec![Vec::new()],
            }
        } else {
            let mut f =
                BufWriter::new(File::create(&path).map_err(|e| GenerateError::io(&path, e))?);
            if encoding == Encoding::Utf8Bom {
                f.write_all(b"\xEF\xBB\xBF")
                    .map_err(|e| GenerateError::io(&path, e))?;
            }
            let enc = Encoder {
                inner: f,
                gb18030: encoding == Encoding::Gb18030,
                pending: Vec::new(),
                cache: Default::default(),
            };
            let writer = csv::WriterBuilder::new()
                .delimiter(if format == Format::Tsv { b'\t' } else { b',' })
                .terminator(if crlf {
                    csv::Terminator::CRLF
                } else {
                    csv::Terminator::Any(b'\n')
                })
                .flexible(true)
                .from_writer(enc);
            Sink::Text {
                writer: Box::new(writer),
                next_row: 0,
            }
        };
        let meta = FileMeta {
            extract: extract.name(),
            file: file.clone(),
            format,
            encoding,
            crlf,
            sheets: if multi_sheet { 2 } else { 1 },
            data_rows: 0,
            skipped_rows: 0,
            duplicate_rows: 0,
            conflict_rows: 0,
        };
        if title {
            let t = format!("{}年{}月{}", as_of.year(), as_of.month(), extract.title());
            sink.emit(&[Out::S(t)], multi_sheet)?;
        }
        sink.emit(&header, multi_sheet)?;
        let repeat_at = rng
            .random_bool(rates.repeated_header)
            .then(|| rng.random_range(0..n.max(1)));
        let money_col = extract
            .headers()
            .iter()
            .position(|h| h.contains("金额") || h.contains("费用") || h.contains("基数"));
        Ok(ExtractWriter {
            extract,
            file,
            path,
            sink,
            meta,
            style,
            header,
            multi_sheet,
            total_row,
            repeat_at,
            previous: None,
            money_total: 0,
            money_col,
            rows_written: 0,
            destroyed_id_rows: Default::default(),
        })
    }

    /// Write the records of one world; `link` is called for every data row with its location.
    #[allow(clippy::too_many_arguments)]
    pub fn write_rows(
        &mut self,
        world: &World,
        book: &NameBook,
        decisions: &Decisions,
        rates: &MessRates,
        rng: &mut ChaCha8Rng,
        link: &mut dyn FnMut(LinkRow<'_>) -> Result<(), GenerateError>,
    ) -> Result<(), GenerateError> {
        let extract = self.extract;
        let e = extract as usize;
        let n = extract.len(world);
        let xlsx = self.style.xlsx;
        let multi_sheet = self.multi_sheet;
        let repeat_at = self.repeat_at.take();
        let first_part = self.rows_written == 0;
        self.rows_written += n;
        let ExtractWriter {
            file,
            sink,
            meta,
            style,
            header,
            previous,
            money_total,
            money_col,
            destroyed_id_rows,
            ..
        } = self;
        let (file, style, money_col) = (&*file, &*style, *money_col);
        for i in 0..n {
            if multi_sheet && first_part && i == n / 2 {
                if let Sink::Xlsx { sheets } = sink {
                    sheets.push(Vec::new());
                }
                sink.emit(header, multi_sheet)?;
            }
            if repeat_at == Some(i) && i > 0 {
                sink.emit(header, multi_sheet)?;
                meta.skipped_rows += 1;
            }
            if xlsx && i > 0 && rng.random_bool(rates.blank_row) {
                sink.emit(&[], multi_sheet)?;
                meta.skipped_rows += 1;
            }
            let corruption = decisions.corruption[e][i];
            let raw = decisions.raw[e].get(&i).map(String::as_str);
            let cells = extract.cells(world, i);
            if let Some(col) = money_col
                && let Cell::Money(f) = cells[col]
            {
                *money_total += f;
            }
            // The roster's exact duplicates repeat the previous row byte for byte.
            if extract == Extract::Roster
                && world.roster[i].exact_dup
                && let Some(prev) = &*previous
            {
                sink.emit(prev, multi_sheet)?;
                meta.data_rows += 1;
                meta.duplicate_rows += 1;
                continue;
            }
            // A conflicting earlier row: same key, one non-key value differs; the later (true) row counts.
            if corruption == Corruption::None
                && let Some(col) = extract.conflict_col()
                && rng.random_bool(rates.conflict)
            {
                let mut altered = cells.clone();
                altered[col] = match &altered[col] {
                    Cell::Money(f) => Cell::Money(f + 10_000),
                    Cell::Text(s) => Cell::Text(format!("{s}分部")),
                    Cell::Str(s) => Cell::Text(format!("{s}分部")),
                    other => other.clone(),
                };
                let row = render_row(
                    world,
                    book,
                    extract,
                    &altered,
                    Corruption::None,
                    None,
                    style,
                    rates,
                    rng,
                );
                let r = sink.emit(&row, multi_sheet)?;
                meta.data_rows += 1;
                meta.conflict_rows += 1;
                if extract != Extract::Roster {
                    link(LinkRow {
                        extract,
                        file,
                        row: &r,
                        record: i,
                        corruption,
                        repeats_earlier: false,
                    })?;
                }
            }
            let row = render_row(
                world, book, extract, &cells, corruption, raw, style, rates, rng,
            );
            let r = sink.emit(&row, multi_sheet)?;
            meta.data_rows += 1;
            if extract != Extract::Roster {
                let repeats_earlier =
                    corruption.destroys_id() && !destroyed_id_rows.insert(row_digest(&row));
                link(LinkRow {
                    extract,
                    file,
                    row: &r,
                    record: i,
                    corruption,
                    repeats_earlier,
                })?;
            }
            // Exact duplicates, not of rows whose ID is destroyed (DQ01/DQ04 count rows).
            if !corruption.destroys_id() && rng.random_bool(rates.duplicate) {
                let r = sink.emit(&row, multi_sheet)?;
                meta.data_rows += 1;
                meta.duplicate_rows += 1;
                if extract != Extract::Roster {
                    link(LinkRow {
                        extract,
                        file,
                        row: &r,
                        record: i,
                        corruption,
                        repeats_earlier: false,
                    })?;
                }
            }
            *previous = Some(row);
        }
        Ok(())
    }

    /// Write the closing rows and the file.
    pub fn finish(self) -> Result<FileMeta, GenerateError> {
        let ExtractWriter {
            path,
            mut sink,
            mut meta,
            total_row,
            multi_sheet,
            money_col,
            money_total,
            ..
        } = self;
        if total_row {
            let mut row = vec![Out::S("合计".to_string())];
            if let Some(col) = money_col {
                row.resize(col + 1, Out::S(String::new()));
                row[col] = Out::N(money_total as f64 / 100.0);
            }
            sink.emit(&row, multi_sheet)?;
            meta.skipped_rows += 1;
        }
        match sink {
            Sink::Text { writer, .. } => {
                let mut enc = writer
                    .into_inner()
                    .map_err(|e| GenerateError::io(&path, e.into_error()))?;
                enc.flush().map_err(|e| GenerateError::io(&path, e))?;
            }
            Sink::Xlsx { sheets } => write_xlsx(&path, &sheets)?,
        }
        Ok(meta)
    }
}

fn write_xlsx(path: &Path, sheets: &[Vec<Vec<Out>>]) -> Result<(), GenerateError> {
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(2025, 1, 1).map_err(GenerateError::xlsx)?;
    wb.set_properties(
        &DocProperties::new()
            .set_creation_datetime(&created)
            .set_author("hedui generate"),
    );
    for (s, rows) in sheets.iter().enumerate() {
        let ws = wb.add_worksheet();
        ws.set_name(format!("Sheet{}", s + 1))
            .map_err(GenerateError::xlsx)?;
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                match v {
                    Out::S(t) if t.is_empty() => {}
                    Out::S(t) => {
                        ws.write_string(r as u32, c as u16, t)
                            .map_err(GenerateError::xlsx)?;
                    }
                    Out::N(x) => {
                        ws.write_number(r as u32, c as u16, *x)
                            .map_err(GenerateError::xlsx)?;
                    }
                }
            }
        }
    }
    let buf = wb.save_to_buffer().map_err(GenerateError::xlsx)?;
    std::fs::write(path, buf).map_err(|e| GenerateError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_dates_render_exactly() {
        let style = Style {
            date_base: 0,
            money_trim: false,
            xlsx: false,
        };
        assert_eq!(
            render_money(123450, Some(0), &style),
            Out::S("1,234.50".into())
        );
        assert_eq!(
            render_money(123450, Some(1), &style),
            Out::S("1234.5元".into())
        );
        assert_eq!(
            render_money(120000, Some(2), &style),
            Out::S("0.12万".into())
        );
        assert_eq!(render_money(0, Some(3), &style), Out::S("-".into()));
        assert_eq!(render_money(5, None, &style), Out::S("0.05".into()));
        let d = NaiveDate::from_ymd_opt(2025, 1, 5).unwrap();
        assert_eq!(render_date(d, 1, false), Out::S("2025/1/5".into()));
        assert_eq!(render_date(d, 4, false), Out::S("2025年1月5日".into()));
        assert_eq!(render_date(d, 5, false), Out::S("45662".into()));
    }
}
