//! From a file's raw rows to a typed Arrow table: every row below the header
//! is accepted (normalised), rejected (with a reason code and the Chinese
//! reason) or was skipped by the reader; exact duplicates and key conflicts
//! are marked, not dropped.
//!
//! Column contract of an extract table (what the resolve and rule stages read):
//! - `_file` (the file name: a dictionary of one Utf8 value; on disk the
//!   value once, see `engine::work::WorkPart`), `_row` (Utf8, the row a person sees), `_ord` (UInt64,
//!   unique and increasing in file order), `_dup` (Boolean: an exact
//!   duplicate of an earlier row of the same file), `_superseded` (Boolean: a
//!   later row of the same record key replaces it, or repeats it from
//!   another file, so this one is not used; see `supersede`).
//! - ID field `F`: `F` (normalised 18 characters when the status is valid,
//!   upgraded15 or bad_check, else null), `F_raw`, `F_status`.
//! - name field `N`: `N` (normalised, null when empty), `N_raw`.
//! - dates Date32, money Int64 fen, periods Int32 `YYYYMM`, integers Int64,
//!   decimals Float64, text and categories Utf8 (categories canonical).
//! - A field whose values are not kept (`FieldDef::kept`: no rule or output
//!   reads it) has no column.

use std::borrow::{Borrow, Cow};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, DictionaryArray, Float64Builder, Int32Array,
    Int32Builder, Int64Builder, StringArray, StringBuilder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;
use unicode_normalization::UnicodeNormalization;

use super::{ExtractDef, FieldDef, FieldType, HeaderMap};
use crate::normalize::id::{IdStatus, NormalizedId, RegionStatus, normalize_id, region_status};
use crate::normalize::name::{NormalizedName, normalize_name};
use crate::normalize::{date, money};
use crate::read::RawRow;

/// One typed value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// Trimmed text as it stands in the cell, or a school year rewritten.
    Text(Option<Cow<'a, str>>),
    Id {
        raw: &'a str,
        id: NormalizedId,
    },
    Name {
        raw: &'a str,
        name: NormalizedName,
    },
    Date(Option<NaiveDate>),
    Money(Option<i64>),
    Decimal(Option<f64>),
    Integer(Option<i64>),
    Period(Option<u32>),
    Category(Option<&'static str>),
}

/// A row that could not be used, with the first problem's stable code and
/// every problem described in Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub code: &'static str,
    pub reason: String,
}

/// A field whose optional value did not parse: the value is null, the row
/// kept, and the warning counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldWarning {
    pub code: &'static str,
    pub field: &'static str,
}

/// A row that came through: its typed values, one per field of the extract.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRow<'a> {
    pub values: Vec<Value<'a>>,
    pub warnings: Vec<FieldWarning>,
}

/// Parses one data row against a header map. A row longer than its header
/// by empty fields is read (a trailing comma), unless a value of it cannot
/// be read and joining two neighbouring fields back (`1` `040.00` →
/// `1,040.00`) makes every value read: an unquoted comma split that value
/// and pushed the values after it one column on, so the row is broken, not
/// its values (read as they stand they would be wrong, not unreadable).
pub fn parse_row<'a>(
    def: &ExtractDef,
    map: &HeaderMap,
    row: &'a RawRow,
) -> Result<ParsedRow<'a>, Reject> {
    // Longer than its header with a value past the header's named
    // columns: a value moved right, whatever reads (a trailing comma on
    // the header too leaves an empty header cell for it to land under).
    let longer = row.fields.len() > map.width;
    let moved_right = longer
        && row.fields[map.named_width..]
            .iter()
            .any(|f| !f.trim().is_empty());
    let parsed = parse_fields(def, map, row);
    if moved_right || (longer && !reads_whole(&parsed)) {
        let Some(c) = split_by_comma(def, map, row) else {
            if moved_right {
                return Err(field_count(map.width, row, "，表头末列之后仍有值"));
            }
            return parsed;
        };
        let column = map
            .columns
            .iter()
            .position(|col| *col == Some(c))
            .map_or_else(
                || format!("第 {} 列", c + 1),
                |i| format!("「{}」", def.fields[i].header),
            );
        return Err(field_count(
            map.width,
            row,
            &format!("；{column}的值中疑似有未加引号的逗号，其后的值错位"),
        ));
    }
    parsed
}

/// A `field_count` reject: the header's width, the row's, and what else
/// is wrong (`detail`, empty or starting with its punctuation).
fn field_count(header_width: usize, row: &RawRow, detail: &str) -> Reject {
    Reject {
        code: "field_count",
        reason: format!(
            "字段数与表头不符：表头 {header_width} 列，本行 {} 列{detail}",
            row.fields.len()
        ),
    }
}

/// Whether every value of a parsed row was read (none left empty for being
/// unreadable).
fn reads_whole(parsed: &Result<ParsedRow<'_>, Reject>) -> bool {
    parsed.as_ref().is_ok_and(|p| {
        p.warnings
            .iter()
            .all(|w| matches!(w.code, "missing_value" | "money_rounded"))
    })
}

/// The column whose value an unquoted comma split: the first number column
/// whose value and the next field join into a number with a thousands
/// group (`1` `040.00` → `1,040.00`) that makes every value of the row
/// read.
fn split_by_comma(def: &ExtractDef, map: &HeaderMap, row: &RawRow) -> Option<usize> {
    let number_column = |c: usize| {
        map.columns.iter().zip(def.fields).any(|(col, f)| {
            *col == Some(c)
                && matches!(
                    f.ty,
                    FieldType::Money | FieldType::Integer | FieldType::Decimal
                )
        })
    };
    let splits_a_number = |c: usize| {
        let (head, tail) = (row.fields[c].trim(), row.fields[c + 1].trim());
        let group = tail.split_once('.').map_or(tail, |(g, _)| g);
        head.ends_with(|ch: char| ch.is_ascii_digit())
            && group.len() == 3
            && group.bytes().all(|b| b.is_ascii_digit())
            && tail
                .trim_start_matches(|ch: char| ch.is_ascii_digit() || ch == '.')
                .is_empty()
    };
    (0..row.fields.len().saturating_sub(1)).find(|&c| {
        if !number_column(c) || !splits_a_number(c) {
            return false;
        }
        let mut fields = row.fields.clone();
        let next = fields.remove(c + 1);
        fields[c] = format!("{},{next}", fields[c]).into();
        let joined = RawRow {
            loc: row.loc.clone(),
            fields,
        };
        reads_whole(&parse_fields(def, map, &joined))
    })
}

/// A date or month of a 1904-system workbook written as a bare serial, read
/// as the 1900 system's serial of the same day; `None` for other fields and
/// values (read as they stand).
fn parse_1904(f: &FieldDef, raw: &str) -> Option<Result<Value<'static>, (&'static str, String)>> {
    if !matches!(f.ty, FieldType::Date | FieldType::Period) {
        return None;
    }
    let serial = date::serial_1904_as_1900(raw)?;
    Some(match parse_value(f, &serial) {
        Ok(Value::Date(d)) => Ok(Value::Date(d)),
        Ok(Value::Period(p)) => Ok(Value::Period(p)),
        Ok(_) => Ok(null_of(f.ty)),
        Err(e) => Err(e),
    })
}

/// [`parse_row`] without the look for a split value.
fn parse_fields<'a>(
    def: &ExtractDef,
    map: &HeaderMap,
    row: &'a RawRow,
) -> Result<ParsedRow<'a>, Reject> {
    let fields = &row.fields;
    let short = fields.len() < map.named_width;
    let long = || {
        fields
            .get(map.width..)
            .unwrap_or_default()
            .iter()
            .any(|extra| !extra.trim().is_empty())
    };
    if short || long() {
        let width = if short { map.named_width } else { map.width };
        return Err(field_count(width, row, ""));
    }
    let outcomes: Vec<Outcome<'a>> = def
        .fields
        .iter()
        .zip(&map.columns)
        .map(|(f, col)| outcome(f, col.map_or("", |c| fields[c].as_str()), map.dates_1904))
        .collect();
    let nulls: Vec<Value<'static>> = def.fields.iter().map(|f| null_of(f.ty)).collect();
    let (mut values, mut warnings) = (Vec::with_capacity(outcomes.len()), Vec::new());
    assemble(def, outcomes.iter(), &nulls, &mut values, &mut warnings)?;
    Ok(ParsedRow {
        values: values.into_iter().cloned().collect(),
        warnings,
    })
}

/// A row from its cells' outcomes, one per field in order: its values
/// (into `values`: each cell's, or the field's null from `nulls` for a cell
/// that gave none) and warnings (into `warnings`), or its reject: every
/// problem in field order, the first one's code.
fn assemble<'o, 'a: 'o>(
    def: &ExtractDef,
    outcomes: impl Iterator<Item = &'o Outcome<'a>> + Clone,
    nulls: &'o [Value<'a>],
    values: &mut Vec<&'o Value<'a>>,
    warnings: &mut Vec<FieldWarning>,
) -> Result<(), Reject> {
    let mut first_problem = None;
    for (k, (f, outcome)) in def.fields.iter().zip(outcomes.clone()).enumerate() {
        match outcome {
            Outcome::Value(v, warning) => {
                if let Some(code) = warning {
                    warnings.push(FieldWarning {
                        code,
                        field: f.field,
                    });
                }
                values.push(v);
            }
            Outcome::Problem(..) => {
                first_problem.get_or_insert(k);
                values.push(&nulls[k]);
            }
            Outcome::Unread(code) => {
                warnings.push(FieldWarning {
                    code,
                    field: f.field,
                });
                values.push(&nulls[k]);
            }
        }
    }
    let Some(first) = first_problem else {
        return Ok(());
    };
    let mut code = "";
    let mut messages = Vec::new();
    for outcome in outcomes.skip(first) {
        if let Outcome::Problem(c, message) = outcome {
            if messages.is_empty() {
                code = c;
            }
            messages.push(message.as_str());
        }
    }
    Err(Reject {
        code,
        reason: messages.join("；"),
    })
}

/// What one cell gives its row.
#[derive(Debug, Clone)]
enum Outcome<'a> {
    /// The value, with the code of the warning it comes with, if any.
    Value(Value<'a>, Option<&'static str>),
    /// A required or checked value missing or unreadable: the row is
    /// rejected for it (the stable code and the Chinese message).
    Problem(&'static str, String),
    /// An optional value that could not be read: null, with a warning.
    Unread(&'static str),
}

/// The outcome of the cell `raw` of field `f` (in a workbook of the 1904
/// date system when `dates_1904`): a function of the cell's text alone.
fn outcome<'a>(f: &FieldDef, raw: &'a str, dates_1904: bool) -> Outcome<'a> {
    let parsed = if dates_1904 {
        parse_1904(f, value_text(f.ty, raw))
    } else {
        None
    };
    match parsed.unwrap_or_else(|| parse_value(f, raw)) {
        // An amount left empty is null, one written `-` is 0 (Excel shows a
        // zero so): parsed, so never a reject; only an amount that cannot
        // be read is.
        Ok(v) if f.value_required && is_null(&v) && f.ty != FieldType::Money => {
            // A cell written as nothing recorded (`无`, `0`, `暂无`, `不详`…)
            // is empty: said so, not left to look like a blank cell.
            let written = raw.trim();
            let message = if written.is_empty() {
                format!("必填字段「{}」为空", f.header)
            } else {
                let written = crate::normalize::text::quote_prefix(written, 10);
                format!(
                    "必填字段「{}」为空（填写为「{written}」，视为未填）",
                    f.header
                )
            };
            Outcome::Problem("missing_value", message)
        }
        Ok(v) if f.value_expected && is_null(&v) => Outcome::Value(v, Some("missing_value")),
        // Kept, rounded to the fen the rules compare in: said.
        Ok(v) if f.ty == FieldType::Money && money::below_fen(value_text(f.ty, raw)) => {
            Outcome::Value(v, Some("money_rounded"))
        }
        Ok(v) => Outcome::Value(v, None),
        Err((code, message)) if f.value_required || f.value_checked => {
            Outcome::Problem(code, format!("「{}」{}", f.header, message))
        }
        Err((code, _)) => Outcome::Unread(code),
    }
}

/// The rows of a piece of a chunk, read field by field: a file's rows
/// repeat their persons' ID numbers and names, their dates, months, places
/// and categories, and each field's cells are read down the column, a text
/// met before in the piece not read again ([`FieldCells`]); a row's values
/// are then looked up, not copied. Every row reads as [`parse_row`] reads
/// it, and an ID number born after the as-of date is bad
/// ([`NormalizedId::born_by`]). A row not as wide as its header (short, or
/// with cells past it) is read whole by [`parse_row`]: such rows are few.
pub struct PieceParse<'a> {
    def: &'a ExtractDef,
    /// For each row, the place of each field's outcome in its field's
    /// [`FieldCells`], the row's fields side by side; [`READ_WHOLE`] in a
    /// row's first for a row read whole.
    cells: Vec<u32>,
    columns: Vec<FieldCells<'a>>,
    /// The rows read whole, by their index among the piece's rows.
    whole: Vec<(usize, Result<ParsedRow<'a>, Reject>)>,
    /// Each field's null, the value of a cell that could not be read.
    nulls: Vec<Value<'static>>,
}

/// The rows a [`PieceParse`] reads down its columns at a time.
const CELL_BLOCK_ROWS: usize = 256;

/// In a [`PieceParse`]'s cells: the row was read whole.
const READ_WHOLE: u32 = u32::MAX;

/// The cells of one field a [`FieldCells`] looks up in a window before it
/// judges whether remembering them pays.
const MEMO_WINDOW: u32 = 1024;

/// The outcomes of one field's cells in a piece, each text's once while
/// texts repeat: a field whose texts rarely repeat (a settlement number, an
/// amount) stops being remembered after a window of [`MEMO_WINDOW`] cells
/// of which fewer than half were met before, and each of its cells is read.
#[derive(Default)]
struct FieldCells<'a> {
    outcomes: Vec<Outcome<'a>>,
    /// Each text met, by the place of its outcome in `outcomes`.
    index: HashMap<&'a str, u32, foldhash::fast::FixedState>,
    /// The text met last and its outcome's place: a person's rows are
    /// often side by side, and a comparison is cheaper than a hash.
    last: Option<(&'a str, u32)>,
    /// Look-ups and hits in the current window.
    lookups: u32,
    hits: u32,
    off: bool,
    /// The cells still to be placed, this one included: once remembering
    /// stops, each has an outcome of its own, and room is made at once.
    left: usize,
}

impl<'a> FieldCells<'a> {
    /// For a piece's `cells` cells of the field.
    fn new(cells: usize) -> Self {
        FieldCells {
            left: cells,
            ..FieldCells::default()
        }
    }

    /// The place among `outcomes` of the outcome of the cell `raw`.
    fn place(&mut self, f: &FieldDef, raw: &'a str, dates_1904: bool, as_of: NaiveDate) -> u32 {
        let left = self.left;
        self.left = left.saturating_sub(1);
        if !self.off && self.lookups == MEMO_WINDOW {
            if self.hits * 2 < self.lookups {
                self.off = true;
                self.index = HashMap::default();
                self.last = None;
                self.outcomes.reserve(left);
            } else {
                (self.lookups, self.hits) = (0, 0);
            }
        }
        if !self.off {
            self.lookups += 1;
            let known = match self.last {
                Some((last, at)) if last == raw => Some(at),
                _ => self.index.get(raw).copied(),
            };
            if let Some(at) = known {
                self.hits += 1;
                self.last = Some((raw, at));
                return at;
            }
        }
        let at = self.outcomes.len() as u32;
        let mut fresh = outcome(f, raw, dates_1904);
        if let Outcome::Value(Value::Id { id, .. }, _) = &mut fresh {
            id.born_by(as_of);
        }
        self.outcomes.push(fresh);
        if !self.off {
            self.index.insert(raw, at);
            self.last = Some((raw, at));
        }
        at
    }
}

impl<'a> PieceParse<'a> {
    /// Reads `rows` as mapped by `map`, judged on `as_of`.
    pub fn new(def: &'a ExtractDef, map: &HeaderMap, rows: &'a [RawRow], as_of: NaiveDate) -> Self {
        debug_assert_eq!(map.columns.len(), def.fields.len());
        let n = def.fields.len();
        let mut cells = vec![0; rows.len() * n];
        let mut whole = Vec::new();
        let mut read = Vec::with_capacity(rows.len());
        for (r, row) in rows.iter().enumerate() {
            if (map.named_width..=map.width).contains(&row.fields.len()) {
                read.push(r);
                continue;
            }
            let mut parsed = parse_row(def, map, row);
            if let Ok(p) = &mut parsed {
                for v in &mut p.values {
                    if let Value::Id { id, .. } = v {
                        id.born_by(as_of);
                    }
                }
            }
            cells[r * n] = READ_WHOLE;
            whole.push((r, parsed));
        }
        let mut columns: Vec<FieldCells<'a>> = def
            .fields
            .iter()
            .map(|_| FieldCells::new(read.len()))
            .collect();
        // Down the columns a block of rows at a time: a block's cells stay
        // in the cache while each of its fields is read.
        for block in read.chunks(CELL_BLOCK_ROWS) {
            let fields = def.fields.iter().zip(&map.columns).zip(&mut columns);
            for (k, ((f, col), column)) in fields.enumerate() {
                for &r in block {
                    let raw = col.map_or("", |c| rows[r].fields[c].as_str());
                    cells[r * n + k] = column.place(f, raw, map.dates_1904, as_of);
                }
            }
        }
        PieceParse {
            def,
            cells,
            columns,
            whole,
            nulls: def.fields.iter().map(|f| null_of(f.ty)).collect(),
        }
    }

    /// Row `r` of the piece: its values, one per field of the extract, into
    /// `values` and its warnings into `warnings` (both cleared first), or
    /// why it is rejected.
    pub fn row<'p>(
        &'p self,
        r: usize,
        values: &mut Vec<&'p Value<'a>>,
        warnings: &mut Vec<FieldWarning>,
    ) -> Result<(), Reject> {
        values.clear();
        warnings.clear();
        let n = self.def.fields.len();
        let cells = &self.cells[r * n..(r + 1) * n];
        if cells[0] == READ_WHOLE {
            let at = self
                .whole
                .binary_search_by_key(&r, |(row, _)| *row)
                .expect("a row read whole is kept");
            let parsed = self.whole[at].1.as_ref().map_err(Clone::clone)?;
            values.extend(&parsed.values);
            warnings.extend(parsed.warnings.iter().cloned());
            return Ok(());
        }
        let outcomes = cells
            .iter()
            .zip(&self.columns)
            .map(|(&at, column)| &column.outcomes[at as usize]);
        assemble(self.def, outcomes, &self.nulls, values, warnings)
    }
}

fn is_null(v: &Value) -> bool {
    match v {
        Value::Text(x) => x.is_none(),
        Value::Id { id, .. } => id.status == IdStatus::Empty,
        Value::Name { name, .. } => name.name.is_empty(),
        Value::Date(x) => x.is_none(),
        Value::Money(x) | Value::Integer(x) => x.is_none(),
        Value::Decimal(x) => x.is_none(),
        Value::Period(x) => x.is_none(),
        Value::Category(x) => x.is_none(),
    }
}

fn null_of(ty: FieldType) -> Value<'static> {
    match ty {
        FieldType::Text | FieldType::Code | FieldType::SchoolYear => Value::Text(None),
        FieldType::Id => Value::Id {
            raw: "",
            id: normalize_id(""),
        },
        FieldType::Name => Value::Name {
            raw: "",
            name: NormalizedName::default(),
        },
        FieldType::Date => Value::Date(None),
        FieldType::Money => Value::Money(None),
        FieldType::Decimal => Value::Decimal(None),
        FieldType::Integer => Value::Integer(None),
        FieldType::Period => Value::Period(None),
        FieldType::Category(_) => Value::Category(None),
    }
}

/// The digits of a number of four to fifteen digits that a float-typed
/// export wrote with a fraction of zeros (`341122002000001.0`, pandas): a
/// 户编号 or a 结算编号 so written is the same code. Not a longer one: a
/// float keeps 15–17 significant digits, so its last digits may be
/// another code's (two households would become one).
fn float_written_number(t: &str) -> Option<&str> {
    crate::normalize::text::float_written(t).filter(|digits| (4..=15).contains(&digits.len()))
}

/// An identifier's canonical form ([`FieldType::Code`]); `None` when empty.
/// A code already in that form (the usual case) is borrowed.
fn code(raw: &str) -> Option<Cow<'_, str>> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(digits) = float_written_number(t) {
        return Some(Cow::Borrowed(digits));
    }
    if t.bytes()
        .all(|b| b.is_ascii_graphic() && !b.is_ascii_lowercase())
    {
        return Some(Cow::Borrowed(t));
    }
    let folded: String = t
        .trim_start_matches(['\'', '‘', '’'])
        .nfkc()
        .filter(|&c| !crate::normalize::text::is_blank(c))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (!folded.is_empty()).then_some(Cow::Owned(folded))
}

/// A text value as the extracts' tables hold it (see [`text`]), `None`
/// when blank: a config's name of such a value (a township's standard) is
/// compared with the cells in this form.
pub(crate) fn canonical_text(raw: &str) -> Option<String> {
    text(raw).map(Cow::into_owned)
}

/// A text's canonical form ([`FieldType::Text`]): NFKC (full-width letters,
/// digits and brackets as ASCII: `某公司（北京）` and `某公司(北京)` are one
/// employer), every run of blanks one space, none at either end; `None`
/// when empty. A text already in that form (the usual case) is borrowed.
fn text(raw: &str) -> Option<Cow<'_, str>> {
    use crate::normalize::text::{is_blank, is_common_han};
    let t = raw.trim_matches(is_blank);
    if t.is_empty() {
        return None;
    }
    if let Some(digits) = float_written_number(t) {
        return Some(Cow::Borrowed(digits));
    }
    // Nearly every text is ASCII and common Han characters, single-spaced:
    // in canonical form already, in one pass.
    let mut after_space = false;
    let canonical = t.chars().all(|c| {
        let ok = if c == ' ' {
            !after_space
        } else {
            c.is_ascii_graphic() || is_common_han(c)
        };
        after_space = c == ' ';
        ok
    });
    if canonical {
        return Some(Cow::Borrowed(t));
    }
    let folded: String = t.nfkc().collect();
    let words: Vec<&str> = folded.split(is_blank).filter(|w| !w.is_empty()).collect();
    (!words.is_empty()).then(|| Cow::Owned(words.join(" ")))
}

/// Parses one cell; the error is a stable code and a Chinese message that
/// does not repeat the value.
pub(crate) fn parse_value<'a>(
    f: &FieldDef,
    raw: &'a str,
) -> Result<Value<'a>, (&'static str, String)> {
    let value_err = |e: crate::normalize::ValueError| (e.code, e.message);
    let written = raw;
    let raw = value_text(f.ty, raw);
    // A workbook's formula saved without its result (`=300*3`; see
    // `read::xlsx`), or one typed into a text file: no value to read. An ID
    // number or a name so written is kept as written (a bad number, a name
    // no one has), as any other.
    if !matches!(f.ty, FieldType::Id | FieldType::Name) && raw.trim_start().starts_with('=') {
        return Err((
            "formula",
            "是公式，没有保存计算结果，无法读取（请在 Excel 中打开、保存后重新导出）".to_owned(),
        ));
    }
    Ok(match f.ty {
        FieldType::Text => Value::Text(text(raw)),
        FieldType::Code => Value::Text(code(raw)),
        FieldType::Id => Value::Id {
            raw: written,
            id: normalize_id(written),
        },
        FieldType::Name => Value::Name {
            raw: written,
            name: normalize_name(raw),
        },
        FieldType::Date => Value::Date(date::parse_date(raw).map_err(value_err)?),
        FieldType::Money if f.dash_unknown && money::is_dash_zero(raw) => Value::Money(None),
        FieldType::Money => Value::Money(money::parse_money(raw).map_err(value_err)?),
        FieldType::Decimal => Value::Decimal(money::parse_decimal(raw).map_err(value_err)?),
        FieldType::Integer => Value::Integer(money::parse_household_size(raw).map_err(value_err)?),
        FieldType::Period => Value::Period(date::parse_period(raw).map_err(value_err)?),
        FieldType::SchoolYear => Value::Text(
            date::parse_school_year(raw)
                .map_err(value_err)?
                .map(Cow::Owned),
        ),
        // A list first: `孤儿、低保家庭` holds the longer 低保家庭, which
        // parse_category's longest contained spelling would take.
        FieldType::Category(values) => Value::Category(
            match f.listed.then(|| listed_category(values, raw)).flatten() {
                Some(listed) => listed,
                None => parse_category(values, raw)?,
            },
        ),
    })
}

/// Whether a field's cell is taken as written (an ID number and a name are
/// normalised, never refused), not read as a value of a kind.
fn is_read_as_text(ty: FieldType) -> bool {
    matches!(
        ty,
        FieldType::Text | FieldType::Code | FieldType::Id | FieldType::Name
    )
}

/// The text a cell's value is read from: an ID number's cell as written
/// (its normaliser takes every wrapper off); any other without Excel's
/// text prefix before a date or a number (`'2025-03-01`, `'1200`: a cell
/// stored as text) and without a CSV's formula guard around it (`="0012"`,
/// `="2025-03-01"`, which Excel shows as the text inside).
fn value_text(ty: FieldType, raw: &str) -> &str {
    if ty == FieldType::Id {
        return raw;
    }
    let trimmed = raw.trim();
    let unprefixed = match trimmed.strip_prefix('\'') {
        Some(value) if !is_read_as_text(ty) => value,
        _ => trimmed,
    };
    match unprefixed
        .strip_prefix("=\"")
        .and_then(|t| t.strip_suffix('"'))
    {
        Some(inner) if !inner.contains('"') => inner,
        _ if unprefixed.len() == trimmed.len() => raw,
        _ => unprefixed,
    }
}

/// What separates the values of a cell that lists several (`孤儿、残疾`).
pub(crate) fn is_list_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '、' | ',' | '，' | ';' | '；' | '/' | '／' | '|' | '｜' | '+' | '＋'
        )
}

/// The value `text` is a spelling of, exactly, if any.
fn spelled(
    values: &'static [(&'static str, &'static [&'static str])],
    text: &str,
) -> Option<&'static str> {
    values
        .iter()
        .find(|(c, a)| *c == text || a.contains(&text))
        .map(|(c, _)| *c)
}

/// A category cell as its spellings are compared: NFKC, no blanks, upper
/// case.
fn category_key(cell: &str) -> String {
    cell.nfkc()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

/// The value a cell is a spelling of as it stands (blanks, width and case
/// aside), if any.
fn exact_category(
    values: &'static [(&'static str, &'static [&'static str])],
    cell: &str,
) -> Option<&'static str> {
    spelled(values, cell.trim()).or_else(|| spelled(values, &category_key(cell)))
}

/// A cell listing several values of a category (`孤儿、残疾`, `低保/残疾`,
/// and with one in a note: `特困家庭（孤儿）`, `事实无人抚养（父母重度残疾）`):
/// the first of them in the category's order, when every part is one of
/// its values and none is `无`; `None` otherwise.
fn listed_category(
    values: &'static [(&'static str, &'static [&'static str])],
    raw: &str,
) -> Option<Option<&'static str>> {
    let mut first: Option<usize> = None;
    let mut parts = 0;
    // A part is listed only when it is a value as it stands
    // (`特困家庭（孤儿）`, `孤儿、残疾`), not a sentence that holds one
    // (`（未认定孤儿）`, `（母亲系孤儿）`, `，不属于孤儿`: helper-164's
    // audit); such a cell is read whole.
    let bracket = |c: char| "()（）[]【】〔〕".contains(c);
    for part in raw
        .split(|c| is_list_separator(c) || bracket(c))
        .filter(|p| !p.is_empty())
    {
        exact_category(values, part)?;
        let value = parse_category(values, part).ok()??;
        let place = values.iter().position(|(c, _)| *c == value)?;
        if value == "无" {
            return None;
        }
        first = Some(first.map_or(place, |f| f.min(place)));
        parts += 1;
    }
    (parts >= 2).then(|| first.map(|p| values[p].0))
}

/// The canonical value a spelling stands for; empty is null.
pub(crate) fn parse_category(
    values: &'static [(&'static str, &'static [&'static str])],
    raw: &str,
) -> Result<Option<&'static str>, (&'static str, String)> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let allowed = || {
        let allowed: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
        (
            "bad_category",
            format!("取值不在允许范围（{}）", allowed.join("/")),
        )
    };
    // No spelling of a category comes near this long; a cell holding pages
    // of text (a paste gone wrong) would cost seconds to normalise.
    if trimmed.len() > MAX_CATEGORY_BYTES {
        return Err(allowed());
    }
    if let Some(c) = spelled(values, trimmed) {
        return Ok(Some(c));
    }
    let key = category_key(trimmed);
    if let Some(c) = spelled(values, &key) {
        return Ok(Some(c));
    }
    // What exports write for "none" where none is not one of the values
    // (an enrollment still in force has no end reason): the placeholders of
    // ID and text columns, and dashes of any width.
    if key.chars().all(crate::normalize::text::is_dash)
        || crate::normalize::text::is_none_placeholder(&key)
    {
        return Ok(None);
    }
    match noted_letter(values, trimmed) {
        Noted::Value(c) => return Ok(Some(c)),
        Noted::Contradicted => return Err(allowed()),
        Noted::Not => {}
    }
    if let Some(c) = contained_category(values, &key)? {
        return Ok(Some(c));
    }
    Err(allowed())
}

/// What [`noted_letter`] makes of a cell.
enum Noted {
    Value(&'static str),
    /// A letter value whose note names another value (`D 或 C`).
    Contradicted,
    Not,
}

/// A value that is one letter (a house's grade) with a note after it in
/// brackets or after a space (`D（待复核）`, `C(局部危险)`, `D 整体危险`,
/// `D（原C级）`): the value, unless the note names another of the
/// category's letters as other than what the house was (`D 或 C`,
/// `C（复核为D级）`), which is no value. [`contained_category`]
/// looks only for spellings of two characters or more, as one letter
/// inside other text says nothing.
fn noted_letter(
    values: &'static [(&'static str, &'static [&'static str])],
    trimmed: &str,
) -> Noted {
    let is_letter = |c: &str| c.len() == 1 && c.as_bytes()[0].is_ascii_uppercase();
    let folded: String = trimmed.nfkc().collect::<String>().to_uppercase();
    let mut chars = folded.chars();
    let Some(head) = chars.next() else {
        return Noted::Not;
    };
    let note = chars.as_str();
    let noted =
        note.starts_with(char::is_whitespace) || (note.starts_with('(') && note.ends_with(')'));
    let value = values
        .iter()
        .map(|(c, _)| *c)
        .find(|c| is_letter(c) && c.starts_with(head));
    let Some(value) = value.filter(|_| noted) else {
        return Noted::Not;
    };
    let mut others = values
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| is_letter(c) && *c != value);
    // Another grade the note says the house had (`D（原C级）`) contradicts
    // nothing; one it names otherwise does (`D 或 C`, `C（复核为D级）`).
    let named = |c: &str| {
        note.match_indices(c)
            .any(|(at, _)| !said_as_former(note, at))
    };
    if others.any(named) {
        return Noted::Contradicted;
    }
    Noted::Value(value)
}

/// The longest cell [`parse_category`] looks into.
const MAX_CATEGORY_BYTES: usize = 256;

/// The negation right before `at` in `key`, if any: its length in bytes
/// (`非孤儿`, `不是孤儿`, `未参保` hold 孤儿 and 参保 only negated: no
/// orphan, not insured).
fn negation_before(key: &str, at: usize) -> Option<usize> {
    let before = &key[..at];
    if before.ends_with("不是") {
        return Some("不是".len());
    }
    before
        .chars()
        .next_back()
        .filter(|c| ['非', '不', '未', '无', '没', '否'].contains(c))
        .map(char::len_utf8)
}

/// The words that, written beside a status's spelling, turn or stop it,
/// by status value: stopped, cancelled, no longer, once held, waited for
/// or planned (`停止参保`, `取消参保`, `不再参保`, `曾参保`, `不在失业`,
/// `待就业`, `未再就业`, `就业困难`, `拟纳入计划`, `申请纳入计划`): the
/// cell is not the status it holds. Only the statuses that such words
/// turn; other categories keep their annotations (`二级（待复核）`,
/// `住院（未结算）`, `家庭经济困难学生生活费补助`).
const TURNING_WORDS: &[(&str, &[&str])] = &[
    ("正常参保", &["停", "取消", "不再", "曾"]),
    ("失业", &["不在", "取消", "曾"]),
    ("已就业", &["待", "未再", "困难", "不在", "取消"]),
    ("已纳入计划", &["拟", "申请", "待"]),
    ("已改造", &["拟", "申请", "待"]),
];

/// The status categories (参保状态, 失业登记's 状态, 改造状态): a cell
/// holding two of their values (`失业（已就业）`, `注销失业登记`) says two
/// things, and is no value.
const STATUS_CATEGORIES: [&[(&str, &[&str])]; 3] = [
    super::medical_enrollment::STATUS,
    super::unemployment::STATUS,
    super::housing_safety::RENOVATION,
];

/// Whether `values` is one of [`STATUS_CATEGORIES`] (told by its values: a
/// constant's address is not its identity).
fn is_status_category(values: &[(&str, &[&str])]) -> bool {
    STATUS_CATEGORIES.iter().any(|status| {
        status.len() == values.len() && status.iter().zip(values).all(|(s, v)| s.0 == v.0)
    })
}

/// Where a spelling of one of a category's values stands in a cell's key:
/// (start, end, value, negated), in bytes; a negated one starts at its
/// negation.
type Spelled = (usize, usize, &'static str, bool);

/// The spellings of two characters or more of the category's values that
/// `key` holds, each not inside a longer one.
fn spellings(
    values: &'static [(&'static str, &'static [&'static str])],
    key: &str,
) -> Vec<Spelled> {
    let mut found: Vec<Spelled> = Vec::new();
    for (canonical, aliases) in values {
        for spelling in std::iter::once(canonical).chain(aliases.iter()) {
            if spelling.chars().count() < 2 {
                continue;
            }
            for (at, _) in key.match_indices(spelling) {
                let end = at + spelling.len();
                found.push(match negation_before(key, at) {
                    Some(n) => (at - n, end, canonical, true),
                    None => (at, end, canonical, false),
                });
            }
        }
    }
    let inside_longer = |(a0, a1, ..): &Spelled| {
        found
            .iter()
            .any(|&(b0, b1, ..)| b0 <= *a0 && *a1 <= b1 && b1 - b0 > a1 - a0)
    };
    found
        .iter()
        .copied()
        .filter(|f| !inside_longer(f))
        .collect()
}

/// Said right before a value's spelling, words that make it what the
/// thing was, not what it is (`原事业单位`, `曾低保`, `由职工医保转入`);
/// so does a clause of a note that begins with one of [`FORMER_CLAUSE`]
/// (`原鉴定为C级`, `前次鉴定C级`). A former value is none the cell gives.
const FORMER_BEFORE: &[&str] = &[
    "原", "曾", "由", "从", "原为", "曾为", "原是", "曾是", "前为", "前是",
];

/// The beginnings of a clause that speaks of what was.
const FORMER_CLAUSE: &[&str] = &["原", "曾", "以前", "之前", "前次", "过去", "前身"];

/// Said right before a value's spelling, words that make it what the thing
/// is now or should be (`现孤儿`, `已注销`, `转职工医保`, `目前低收入`,
/// `改制为企业`, `复核为D级`, `已纳入低保`, `已考入大学`, `实际死亡`);
/// a spelling that itself begins with 已 (`已死亡`) is one too.
const NOW_BEFORE: &[&str] = &[
    "现", "今", "已", "转", "改", "升", "为", "读", "目前", "当前", "纳入", "考入", "实际",
];

/// Whether the spelling at `at` in `text` is said as what was: right after
/// a word of [`FORMER_BEFORE`], or in a clause that begins with one of
/// [`FORMER_CLAUSE`].
fn said_as_former(text: &str, at: usize) -> bool {
    let before = &text[..at];
    if FORMER_BEFORE.iter().any(|w| before.ends_with(w)) {
        return true;
    }
    let clause = before
        .rfind(['(', '[', '【', '〔', ',', ';', '、', '，', '；'])
        .map_or(before, |i| {
            let c = before[i..].chars().next().map_or(1, char::len_utf8);
            &before[i + c..]
        });
    FORMER_CLAUSE.iter().any(|w| clause.starts_with(w))
}

/// The word that says the spelling at `at` in `text` is what the thing is
/// now ([`NOW_BEFORE`]), unless it is said as what was.
fn said_as_now(text: &str, at: usize) -> Option<&'static str> {
    if said_as_former(text, at) {
        return None;
    }
    NOW_BEFORE
        .iter()
        .copied()
        .find(|w| text[..at].ends_with(w))
        .or(text[at..].starts_with("已").then_some("已"))
}

/// A value followed by a note in brackets (`低收入（原低保）`,
/// `城乡居民医保（职工家属）`, `死亡（重复参保已清理）`) is the value before
/// the note, whatever other value the note names, unless the note says the
/// thing is now, or should be, another value (right after a word of
/// [`NOW_BEFORE`]: `特困家庭（现孤儿）`, `事业单位（已改制为企业）`,
/// `C级（复核为D级）`); then which one the cell means is unknown, and it is
/// no value. `None` when the cell is not a value and a note (the bracket
/// first, or nothing readable before it); statuses are left to
/// [`contained_category`].
fn noted_value(
    values: &'static [(&'static str, &'static [&'static str])],
    key: &str,
) -> Option<Result<Option<&'static str>, (&'static str, String)>> {
    if is_status_category(values) {
        return None;
    }
    let at = key.find(['(', '[', '【', '〔', '〈', '《', '「', '{', '<', '‹'])?;
    let (before, note) = key.split_at(at);
    let value = contained_category(values, before).ok()??;
    let contradicted = spellings(values, note)
        .into_iter()
        .filter(|f| !f.3 && f.2 != value)
        .find_map(|f| Some((said_as_now(note, f.0)?, f.2)));
    Some(match contradicted {
        Some((word, other)) => Err((
            "bad_category",
            format!("取值「{value}」的注释含「{word}」与「{other}」，不能确定是哪一个"),
        )),
        None => Ok(Some(value)),
    })
}

/// A longer spelling that holds one of the category's values or spellings
/// (`D级危房` → D, `特困供养人员` → 特困, `已终止参保` → 终止): the longest
/// spelling of two characters or more it holds decides (`机关事业单位`,
/// `企业化管理事业单位` → 事业单位, `城镇住宅用地/商业服务` → 商业), but one
/// inside a longer spelling held only negated (参保 in `未正常参保`) counts
/// for nothing, and a tie between two values is an error, not a guess. A
/// value with a note after it in brackets is [`noted_value`]'s. A status
/// ([`STATUS_CATEGORIES`]) is no value either beside another status or
/// beside a word that turns it ([`TURNING_WORDS`]).
fn contained_category(
    values: &'static [(&'static str, &'static [&'static str])],
    key: &str,
) -> Result<Option<&'static str>, (&'static str, String)> {
    if let Some(noted) = noted_value(values, key) {
        return noted;
    }
    let standing = spellings(values, key);
    let status = is_status_category(values);
    // A value said as what was (`企业原事业单位`) is not held; one said as
    // what is now beside another (`事业单位现为企业`) makes the cell no
    // value. Statuses have rules of their own, below.
    let held: Vec<(usize, &'static str, bool)> = standing
        .iter()
        .filter(|f| !f.3 && (status || !said_as_former(key, f.0)))
        .map(|f| {
            let now = !status && said_as_now(key, f.0).is_some();
            (key[f.0..f.1].chars().count(), f.2, now)
        })
        .collect();
    let Some(&(longest, value, _)) = held.iter().max_by_key(|(len, ..)| *len) else {
        return Ok(None);
    };
    let ambiguous = || ("bad_category", "取值含义不明确".to_string());
    if held.iter().any(|&(len, v, _)| len == longest && v != value) {
        return Err(ambiguous());
    }
    if let Some(&(_, other, _)) = held.iter().find(|&&(_, v, now)| now && v != value) {
        return Err((
            "bad_category",
            format!("取值含「{value}」，又写明现为「{other}」，不能确定是哪一个"),
        ));
    }
    if !status {
        return Ok(Some(value));
    }
    if held.iter().any(|&(_, v, _)| v != value) {
        return Err(ambiguous());
    }
    let beside: String = key
        .char_indices()
        .filter(|&(i, _)| !standing.iter().any(|f| f.0 <= i && i < f.1))
        .map(|(_, c)| c)
        .collect();
    let turning = TURNING_WORDS
        .iter()
        .find(|(v, _)| *v == value)
        .map_or(&[][..], |(_, words)| words);
    if let Some(word) = turning.iter().find(|w| beside.contains(**w)) {
        return Err((
            "bad_category",
            format!("取值含「{word}」，不能读作「{value}」"),
        ));
    }
    Ok(Some(value))
}

/// A 128-bit digest of a sequence of strings: equal digests are taken as
/// equal sequences — a collision among a city's rows is about 2^-80 likely.
/// Only compared within one run, never stored.
fn digest<'s>(parts: impl Iterator<Item = &'s str>) -> u128 {
    gathered_digest(|bytes| {
        for p in parts {
            push_text(bytes, p);
        }
        Some(())
    })
    .unwrap_or_default()
}

thread_local! {
    /// The bytes of the digest being taken on this thread, kept between rows.
    static GATHERED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What the buffer of [`GATHERED`] keeps between rows: a row of one huge
/// field (a quote never closed) does not hold its memory for the rest of the
/// run.
const GATHERED_KEPT: usize = 64 * 1024;

/// The digest of the bytes `gather` writes (`None` when it gives up): they
/// are gathered in one buffer and hashed whole, twice (foldhash's quality
/// hasher with two seeds), which costs far less than hashing part by part.
/// `gather` only writes bytes: it must not take a digest itself (the buffer
/// is borrowed) nor wait on rayon (which could run another row's digest on
/// this thread meanwhile).
fn gathered_digest(gather: impl FnOnce(&mut Vec<u8>) -> Option<()>) -> Option<u128> {
    use std::hash::{BuildHasher, Hasher};
    GATHERED.with_borrow_mut(|bytes| {
        bytes.clear();
        let gathered = gather(bytes);
        let digest = gathered.map(|()| {
            let lane = |seed| {
                let mut h = foldhash::quality::FixedState::with_seed(seed).build_hasher();
                h.write(bytes);
                h.finish()
            };
            (u128::from(lane(0x9E37_79B9_7F4A_7C15)) << 64)
                | u128::from(lane(0xC2B2_AE3D_27D4_EB4F))
        });
        if bytes.capacity() > GATHERED_KEPT {
            bytes.clear();
            bytes.shrink_to(GATHERED_KEPT);
        }
        digest
    })
}

/// A text part of a digest's bytes: its bytes and 0xFF, a byte UTF-8 never
/// holds, so that no two sequences of texts gather the same bytes.
fn push_text(bytes: &mut Vec<u8>, text: &str) {
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(0xFF);
}

/// Which fields make an extract's record key. The roster's (household and
/// member) marks only rows repeated value for value: a second, different
/// row for the same member is CB05, not a conflict (see [`supersede`]).
pub struct KeySpec {
    primary: Vec<usize>,
    fallback: Vec<usize>,
}

impl KeySpec {
    pub fn new(def: &ExtractDef) -> Self {
        let idx = |names: &[&str]| -> Vec<usize> {
            names
                .iter()
                .filter_map(|k| def.fields.iter().position(|f| f.field == *k))
                .collect()
        };
        KeySpec {
            primary: idx(def.key),
            fallback: idx(def.key_fallback),
        }
    }

    /// The digest of a row's record key; `None` when a part is missing
    /// (such rows have no identity to conflict on). The fallback key is used
    /// when the primary one is incomplete.
    pub fn digest<'v, V: Borrow<Value<'v>>>(&self, values: &[V]) -> Option<u128> {
        key_digest(values, &self.primary, 0).or_else(|| {
            (!self.fallback.is_empty())
                .then(|| key_digest(values, &self.fallback, 1))
                .flatten()
        })
    }
}

/// The digest of a row's key: a tag telling the primary key (0) from the
/// fallback (1), then its parts by type: texts delimited, numbers and dates
/// in fixed width. Two rows have one digest when their parts are equal value
/// for value (an empty text and a missing one are equal, and so are a
/// missing category and an empty one); `None` when an ID, a name, a date, a
/// period or a number is missing, or when a part is a decimal (no key has
/// one).
fn key_digest<'v, V: Borrow<Value<'v>>>(values: &[V], idx: &[usize], tag: u8) -> Option<u128> {
    gathered_digest(|bytes| {
        bytes.push(tag);
        for &i in idx {
            match values[i].borrow() {
                Value::Text(t) => push_text(bytes, t.as_deref().unwrap_or_default()),
                Value::Id { id, .. } => push_text(bytes, id.value.as_deref()?),
                Value::Name { name, .. } if !name.name.is_empty() => push_text(bytes, &name.name),
                Value::Date(Some(d)) => {
                    bytes.extend_from_slice(&d.num_days_from_ce().to_le_bytes())
                }
                Value::Period(Some(p)) => bytes.extend_from_slice(&p.to_le_bytes()),
                Value::Money(Some(m)) | Value::Integer(Some(m)) => {
                    bytes.extend_from_slice(&m.to_le_bytes())
                }
                Value::Category(c) => push_text(bytes, c.unwrap_or_default()),
                _ => return None,
            }
        }
        Some(())
    })
}

/// The most row digests a file's [`DuplicateFinder`] reserves ahead: as
/// many as a table of 2^25 slots of 17 bytes (some 570 MB) holds, which a
/// city's largest files (17–20 million rows) fill without growing. Grown
/// from a table of half that, each of them held both at once, and the
/// kernel zeroed the pages of both (BENCHMARKS.md, session 63). An
/// estimate gone wrong costs no more than this.
const MAX_RESERVED_DIGESTS: usize = (1 << 25) / 8 * 7;

/// Finds exact duplicates among a file's data rows: rows whose decoded
/// values, field by field, equal an earlier row's, and which row each
/// repeats. One finder spans a file's sections (a row copied into a second
/// sheet is a duplicate too; column order may differ between sheets). Rows
/// are remembered by a 128-bit digest of their mapped values, not held: its
/// low 32 bits give way to the row's place among the rows marked (so that
/// a slot stays 16 bytes), its high 64 bits are the table's hash.
#[derive(Default)]
pub struct DuplicateFinder {
    seen: hashbrown::HashTable<u128>,
    /// Rows marked so far: the place of the next.
    rows: u32,
    /// The size of the file on disk, taken when `seen` is sized (once).
    file_bytes: Option<u64>,
    /// The rows the whole file holds, as estimated when `seen` was sized.
    estimated_rows: Option<usize>,
}

/// The bits of a row digest that [`DuplicateFinder`] compares.
const DIGEST_KEPT: u128 = !0xFFFF_FFFF;

fn digest_hash(entry: &u128) -> u64 {
    (entry >> 64) as u64
}

fn mapped_values<'r>(
    map: &'r HeaderMap,
    row: &'r RawRow,
) -> impl Iterator<Item = &'r str> + Clone + 'r {
    map.columns.iter().map(|c| {
        c.and_then(|i| row.fields.get(i))
            .map_or("", crate::read::Cell::as_str)
    })
}

impl DuplicateFinder {
    /// A finder for a file of `file_bytes` bytes on disk.
    pub fn for_file(file_bytes: u64) -> Self {
        DuplicateFinder {
            file_bytes: Some(file_bytes),
            ..DuplicateFinder::default()
        }
    }

    /// Sizes the set for the rows the whole file holds, as estimated from
    /// its size and the text of its first chunk, so that a large file's set
    /// is not grown (and every digest in it moved) a dozen times. A workbook
    /// (compressed) or a GB18030 file (fewer bytes than its text) is
    /// underestimated, and the set grows from there as before; a UTF-16
    /// file, blank and total rows, quotes and CRLF make it run high, so it
    /// is bounded ([`MAX_RESERVED_DIGESTS`]), and an allocation that fails
    /// is left to growth too.
    fn size_for(&mut self, file_bytes: u64, rows: &[RawRow]) {
        /// Fewer rows (a small file, or a workbook's small first sheet):
        /// no estimate.
        const SAMPLE_ROWS: usize = 1024;
        if rows.len() < SAMPLE_ROWS {
            return;
        }
        // A row's text: its cells and a delimiter or line break after each.
        let text: usize = rows
            .iter()
            .map(|r| r.fields.iter().map(|f| f.len() + 1).sum::<usize>())
            .sum();
        // An ID number and its delimiter alone take 19 bytes.
        let per_row = (text / rows.len()).max(16) as u64;
        let estimate = file_bytes / per_row + file_bytes / per_row / 8;
        let estimate = usize::try_from(estimate).unwrap_or(usize::MAX);
        self.estimated_rows = Some(estimate);
        let _ = self
            .seen
            .try_reserve(estimate.min(MAX_RESERVED_DIGESTS), digest_hash);
    }

    /// The rows the whole file holds, as estimated from its size and its
    /// first chunk (with an eighth to spare) once that chunk is marked;
    /// `None` for a small file or before.
    pub fn estimated_rows(&self) -> Option<usize> {
        self.estimated_rows
    }

    /// The place the next row marked will have: rows are counted from 0
    /// across the file's chunks.
    pub fn next_place(&self) -> u32 {
        self.rows
    }

    /// For each row of a chunk: the place of the earlier row it repeats
    /// (`None`: it repeats none).
    pub fn mark(&mut self, map: &HeaderMap, rows: &[RawRow]) -> Vec<Option<u32>> {
        if let Some(file_bytes) = self.file_bytes.take() {
            self.size_for(file_bytes, rows);
        }
        let digests: Vec<u128> = rows
            .par_iter()
            .map(|row| digest(mapped_values(map, row)) & DIGEST_KEPT)
            .collect();
        digests
            .into_iter()
            .map(|d| {
                let place = self.rows;
                self.rows = self.rows.saturating_add(1);
                match self
                    .seen
                    .entry(digest_hash(&d), |e| e & DIGEST_KEPT == d, digest_hash)
                {
                    hashbrown::hash_table::Entry::Occupied(e) => Some(*e.get() as u32),
                    hashbrown::hash_table::Entry::Vacant(e) => {
                        e.insert(d | u128::from(place));
                        None
                    }
                }
            })
            .collect()
    }
}

/// Parses a chunk's rows in parallel, keeping file order; each accepted row
/// comes with the digest of its record key.
pub fn parse_rows<'a>(
    def: &ExtractDef,
    map: &HeaderMap,
    rows: &'a [RawRow],
) -> Vec<Result<(ParsedRow<'a>, Option<u128>), Reject>> {
    let keys = KeySpec::new(def);
    rows.par_iter()
        .map(|r| {
            parse_row(def, map, r).map(|p| {
                let key = keys.digest(&p.values);
                (p, key)
            })
        })
        .collect()
}

/// The columns of one field under construction.
enum FieldColumns {
    Id([StringBuilder; 3]),
    Name([StringBuilder; 2]),
    Text(StringBuilder),
    Date(Date32Builder),
    Int(Int64Builder),
    Decimal(Float64Builder),
    Period(Int32Builder),
    /// A field whose values are not kept ([`FieldDef::kept`]): no column.
    Unkept,
}

impl FieldColumns {
    /// Columns sized for `rows` rows whose cells hold `bytes` bytes in all,
    /// `filled` of them not empty (see [`RowBuilder::new`]), so that a
    /// piece's columns are rarely grown and copied, and their capacity (what
    /// the engine's statistics count) stays close to what they hold.
    fn new(ty: FieldType, rows: usize, bytes: usize, filled: usize) -> Self {
        let text = |bytes| StringBuilder::with_capacity(rows, bytes);
        match ty {
            // An ID's status is a short code (`valid`, `empty`).
            FieldType::Id => FieldColumns::Id([text(bytes), text(bytes), text(rows * 6)]),
            FieldType::Name => FieldColumns::Name([text(bytes), text(bytes)]),
            FieldType::Text | FieldType::Code => FieldColumns::Text(text(bytes)),
            // Values of a known length, whatever was written: `YYYY-YYYY`,
            // or one of the canonical categories.
            FieldType::SchoolYear => FieldColumns::Text(text(filled * 9)),
            FieldType::Category(values) => {
                let longest = values.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
                FieldColumns::Text(text(filled * longest))
            }
            FieldType::Date => FieldColumns::Date(Date32Builder::with_capacity(rows)),
            FieldType::Money | FieldType::Integer => {
                FieldColumns::Int(Int64Builder::with_capacity(rows))
            }
            FieldType::Decimal => FieldColumns::Decimal(Float64Builder::with_capacity(rows)),
            FieldType::Period => FieldColumns::Period(Int32Builder::with_capacity(rows)),
        }
    }

    fn push(&mut self, value: &Value) {
        match (self, value) {
            (FieldColumns::Id(b), Value::Id { raw, id }) => {
                b[0].append_option(id.value.as_deref());
                b[1].append_value(raw);
                b[2].append_value(id.status.as_str());
            }
            (FieldColumns::Name(b), Value::Name { raw, name }) => {
                b[0].append_option(opt_str(&name.name));
                b[1].append_value(raw);
            }
            (FieldColumns::Text(b), Value::Text(t)) => b.append_option(t.as_deref()),
            (FieldColumns::Text(b), Value::Category(c)) => b.append_option(*c),
            (FieldColumns::Date(b), Value::Date(d)) => b.append_option(d.map(days_since_epoch)),
            (FieldColumns::Int(b), Value::Money(m) | Value::Integer(m)) => b.append_option(*m),
            (FieldColumns::Decimal(b), Value::Decimal(d)) => b.append_option(*d),
            (FieldColumns::Period(b), Value::Period(p)) => {
                b.append_option(p.and_then(|p| i32::try_from(p).ok()))
            }
            (FieldColumns::Unkept, _) => {}
            (columns, value) => unreachable!(
                "a field's value always has its field's type: {value:?} into {}",
                columns.kind()
            ),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            FieldColumns::Id(_) => "id",
            FieldColumns::Name(_) => "name",
            FieldColumns::Text(_) => "text",
            FieldColumns::Date(_) => "date",
            FieldColumns::Int(_) => "int",
            FieldColumns::Decimal(_) => "decimal",
            FieldColumns::Period(_) => "period",
            FieldColumns::Unkept => "unkept",
        }
    }

    /// Finishes the columns built so far into `out`, leaving the builders
    /// empty for the next rows.
    fn finish_into(&mut self, out: &mut Vec<ArrayRef>) {
        match self {
            FieldColumns::Id(b) => {
                out.extend(b.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef))
            }
            FieldColumns::Name(b) => {
                out.extend(b.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef))
            }
            FieldColumns::Text(b) => out.push(Arc::new(b.finish())),
            FieldColumns::Date(b) => out.push(Arc::new(b.finish())),
            FieldColumns::Int(b) => out.push(Arc::new(b.finish())),
            FieldColumns::Decimal(b) => out.push(Arc::new(b.finish())),
            FieldColumns::Period(b) => out.push(Arc::new(b.finish())),
            FieldColumns::Unkept => {}
        }
    }
}

/// Builds the columns of some accepted rows as they are parsed: one
/// worker's share of a chunk (see [`FileRows`]).
pub struct RowBuilder {
    row: StringBuilder,
    dup: BooleanBuilder,
    fields: Vec<FieldColumns>,
    /// Record-key digest of each row; [`NO_KEY`] for duplicates and rows
    /// without a complete key (16 bytes a row, not 32).
    keys: Vec<u128>,
    /// [`content_digest`] of each row, when the builder keeps them.
    contents: Vec<u64>,
    /// Each duplicate row: (its row among the builder's, the place of the
    /// row it repeats among the file's rows marked).
    dups: Vec<(u32, u32)>,
    /// The places of the rows rejected, ascending.
    rejected: Vec<u32>,
}

/// The most bytes one cell counts for when a [`RowBuilder`] is sized.
const SIZED_CELL_BYTES: usize = 256;

/// Rows built by a [`RowBuilder`]: `_row`, `_dup`, then the field columns of
/// [`schema`] in order, and each row's record key.
pub struct RowPiece {
    columns: Vec<ArrayRef>,
    keys: Vec<u128>,
    contents: Vec<u64>,
    dups: Vec<(u32, u32)>,
    rejected: Vec<u32>,
}

impl RowBuilder {
    /// A builder for the rows `rows` mapped by `map` (or some of them),
    /// sized from their cells.
    ///
    /// A row too short for the header is rejected, so it is not counted, and
    /// no cell counts for more than [`SIZED_CELL_BYTES`] (the rare longer
    /// value grows its column).
    pub fn new(def: &ExtractDef, map: &HeaderMap, rows: &[RawRow]) -> Self {
        debug_assert_eq!(map.columns.len(), def.fields.len());
        // The bytes of each text column's cells, and how many are not
        // empty: one pass over the rows, each row's cells read together.
        let text: Vec<(usize, usize)> = def
            .fields
            .iter()
            .zip(&map.columns)
            .enumerate()
            .filter_map(|(k, (f, &column))| Some((k, column.filter(|_| f.kept && f.ty.is_text())?)))
            .collect();
        let mut cells = vec![(0usize, 0usize); def.fields.len()];
        for r in rows.iter().filter(|r| r.fields.len() >= map.named_width) {
            for &(k, c) in &text {
                let cell = r.fields[c].len();
                cells[k].0 += cell.min(SIZED_CELL_BYTES);
                cells[k].1 += usize::from(cell > 0);
            }
        }
        let n = rows.len();
        RowBuilder {
            row: StringBuilder::with_capacity(n, n * 8),
            dup: BooleanBuilder::with_capacity(n),
            fields: def
                .fields
                .iter()
                .zip(&cells)
                .map(|(f, &(bytes, filled))| {
                    if f.kept {
                        FieldColumns::new(f.ty, n, bytes, filled)
                    } else {
                        FieldColumns::Unkept
                    }
                })
                .collect(),
            keys: Vec::with_capacity(n),
            contents: Vec::new(),
            dups: Vec::new(),
            rejected: Vec::new(),
        }
    }

    /// Appends a parsed row's values. `dup` is the place of the row it
    /// repeats exactly (see [`DuplicateFinder::mark`]); `content` is its
    /// [`content_digest`], given for every row or for none (an extract of
    /// one file needs none).
    pub fn push<'v, V: Borrow<Value<'v>>>(
        &mut self,
        loc: &str,
        dup: Option<u32>,
        values: &[V],
        key: Option<u128>,
        content: Option<u64>,
    ) {
        if let Some(original) = dup {
            self.dups.push((self.keys.len() as u32, original));
        }
        self.row.append_value(loc);
        self.dup.append_value(dup.is_some());
        for (columns, value) in self.fields.iter_mut().zip(values) {
            columns.push(value.borrow());
        }
        self.keys.push(match key {
            Some(k) if dup.is_none() => k.max(1),
            _ => NO_KEY,
        });
        self.contents.extend(content);
    }

    /// Notes that the row at `place` among the file's rows marked was
    /// rejected (places come in order).
    pub fn reject(&mut self, place: u32) {
        self.rejected.push(place);
    }

    pub fn finish(mut self) -> RowPiece {
        let mut columns: Vec<ArrayRef> =
            vec![Arc::new(self.row.finish()), Arc::new(self.dup.finish())];
        for f in &mut self.fields {
            f.finish_into(&mut columns);
        }
        RowPiece {
            columns,
            keys: self.keys,
            contents: self.contents,
            dups: self.dups,
            rejected: self.rejected,
        }
    }
}

/// The accepted rows of one file, in file order: pieces parsed side by side
/// straight into Arrow columns (no row is held as text once parsed), joined
/// when they are taken.
#[derive(Default)]
pub struct FileRows {
    /// Pieces not yet taken, in file order.
    pieces: Vec<Vec<ArrayRef>>,
    /// Record-key digest of every row, taken or not.
    keys: Vec<u128>,
    /// Content digest of every row, taken or not, when they are kept.
    contents: Vec<u64>,
    /// Each duplicate row and the row it repeats (see [`FileColumns`]).
    dups: Vec<(u32, u32)>,
    /// The places of the file's rows rejected so far (see
    /// [`RowBuilder::reject`]), ascending: an accepted row's place less the
    /// rejected rows before it is its row.
    rejected: Vec<u32>,
    /// Rows already handed on by [`FileRows::take_batch`].
    taken: usize,
}

/// One file's accepted rows as columns: its pieces, each `_row`, `_dup`,
/// then the field columns of [`schema`] in order (none when the rows went
/// to disk batch by batch), and the record keys of all its rows.
pub struct FileColumns {
    pub len: usize,
    pieces: Vec<Vec<ArrayRef>>,
    keys: Vec<u128>,
    /// [`content_digest`] of every row, or empty when they were not kept.
    contents: Vec<u64>,
    /// Each exact duplicate (without a key) and the row it repeats, as rows
    /// of the file, in order: the duplicate stands for its original where
    /// the rows of a key are chained ([`supersede`]).
    dups: Vec<(u32, u32)>,
}

/// The key of a row without one. A digest that happens to be 0 is stored
/// as 1: two keys would then collide only as any two digests might.
const NO_KEY: u128 = 0;

/// The schema field of column `c` of a [`RowPiece`]: `_row` and `_dup` are
/// fields 1 and 3, the extract's fields follow the five meta columns.
fn piece_field(c: usize) -> usize {
    if c < 2 { c * 2 + 1 } else { c + 3 }
}

/// Joins column `c` of `pieces` (of [`schema`] `schema`), an empty column
/// when there are none.
fn concat_pieces<'p>(
    schema: &SchemaRef,
    c: usize,
    pieces: impl Iterator<Item = &'p Vec<ArrayRef>>,
) -> Result<ArrayRef, arrow::error::ArrowError> {
    let parts: Vec<&dyn arrow::array::Array> = pieces.map(|p| p[c].as_ref()).collect();
    match parts.as_slice() {
        [] => Ok(arrow::array::new_empty_array(
            schema.field(piece_field(c)).data_type(),
        )),
        [one] => Ok(arrow::array::make_array(one.to_data())),
        _ => arrow::compute::concat(&parts),
    }
}

impl FileRows {
    pub fn new() -> Self {
        FileRows::default()
    }

    /// Appends the next piece of rows.
    pub fn append(&mut self, piece: RowPiece) {
        self.rejected.extend(piece.rejected);
        if piece.keys.is_empty() {
            return;
        }
        let first = self.keys.len() as u32;
        for (row, place) in piece.dups {
            // A row repeating a rejected one (a shorter row, the same
            // values) stands for none.
            let before = self.rejected.partition_point(|&r| r < place);
            if self.rejected.get(before) != Some(&place) {
                self.dups.push((first + row, place - before as u32));
            }
        }
        self.keys.extend(piece.keys);
        self.contents.extend(piece.contents);
        self.pieces.push(piece.columns);
    }

    /// Room for `rows` rows' digests in all, so that a large file's are not
    /// copied to a vector twice the size, a page the kernel zeroes first,
    /// each time they outgrow theirs: a city's 20 million keys did so
    /// twenty-odd times (BENCHMARKS.md, session 63). Room not used is only
    /// address space, and once it is made, asking again does nothing.
    /// `contents`: whether the rows' content digests are kept (see
    /// [`FileColumns`]). An allocation that fails is left to growth.
    pub fn reserve(&mut self, rows: usize, contents: bool) {
        let more = rows.saturating_sub(self.keys.len());
        let _ = self.keys.try_reserve_exact(more);
        if contents {
            let _ = self.contents.try_reserve_exact(more);
        }
    }

    /// Rows appended and not yet taken.
    pub fn pending(&self) -> usize {
        self.keys.len() - self.taken
    }

    /// Takes the rows appended since the last take as a batch of the
    /// extract's [`schema`], for its work part: `_file` is `file`,
    /// `_ord` counts on from the rows taken before within file `file_idx`
    /// of the extract, and `_superseded` is false (conflicts are known only
    /// once every file is read: see [`superseded_ords`]).
    pub fn take_batch(
        &mut self,
        schema: &SchemaRef,
        file: &str,
        file_idx: usize,
    ) -> Result<RecordBatch, arrow::error::ArrowError> {
        let n = self.pending();
        let first = self.taken as u64;
        let mut ord = UInt64Builder::with_capacity(n);
        for seq in first..first + n as u64 {
            ord.append_value(ord_of(file_idx, seq));
        }
        let pieces = std::mem::take(&mut self.pieces);
        let mut columns: Vec<ArrayRef> = vec![
            file_column(&Arc::new(StringArray::from(vec![file])), n),
            concat_pieces(schema, 0, pieces.iter())?,
            Arc::new(ord.finish()),
            concat_pieces(schema, 1, pieces.iter())?,
            Arc::new(arrow::array::BooleanArray::from(vec![false; n])),
        ];
        for c in 2..schema.fields().len() - 3 {
            columns.push(concat_pieces(schema, c, pieces.iter())?);
        }
        self.taken += n;
        RecordBatch::try_new(schema.clone(), columns)
    }

    pub fn finish(self) -> FileColumns {
        FileColumns {
            len: self.keys.len(),
            // When the rows went to disk batch by batch only the keys remain.
            pieces: if self.taken > 0 {
                Vec::new()
            } else {
                self.pieces
            },
            keys: self.keys,
            contents: self.contents,
            dups: self.dups,
        }
    }
}

/// Record-key conflicts across an extract's files, in file order: a row that
/// a later row of the same key replaces is superseded. Returns a flag per
/// row (all files' rows in order) and each conflict as the pair of rows
/// (the replaced row, the row that replaced it: indices into all files'
/// rows), ordered by the later row. Within one file a row repeated as
/// written is an exact duplicate and has no key of its own: it stands for
/// the row it repeats, which it brings back into force if another row of
/// the key came between (A, B, A again: the rules use A, and B and the
/// second A are a conflict).
///
/// When the files carry content digests (an extract of several files), a
/// row that repeats value for value a row of an earlier file is no conflict
/// (the two do not differ), whichever rows of the key came between; and a
/// row without a key (no usable ID) that repeats an earlier file's row
/// supersedes it, so that the rules and DQ01 count it once.
///
/// `roster`: only a row that a later row repeats value for value (in
/// another file, or in the same one written differently: `800` and
/// `800.00`) is superseded; two rows of one member that differ are both
/// kept, for CB05, and are no conflict. The roster's rows always carry
/// their digests.
///
/// Also returns the rows that repeat a row of an earlier file value for
/// value (for the roster, also one of the same file written differently)
/// and are no conflict, ascending: copies of a record issued again (A, B,
/// A again: the second A replaced B, a conflict, and is no copy).
fn supersede(files: &[&FileColumns], roster: bool) -> (Vec<bool>, Vec<(usize, usize)>, Vec<usize>) {
    /// Earlier rows of a key looked at for a repeat: keys recur once a file.
    const MAX_LOOK_BACK: usize = 64;
    let n: usize = files.iter().map(|f| f.len).sum();
    let mut superseded = vec![false; n];
    let mut conflicts: Vec<(usize, usize)> = Vec::new();
    let mut repeats: Vec<usize> = Vec::new();
    let digests = (files.len() > 1 || roster)
        && u32::try_from(n).is_ok_and(|n| n < u32::MAX)
        && files.iter().all(|f| f.contents.len() == f.len);
    // The first row of each file, to find a row's file, its key and its digest.
    let starts = starts_of(files.iter().map(|f| f.len));
    let file_of = |i: usize| starts.partition_point(|&s| s <= i) - 1;
    // Each exact duplicate's original: the row it stands for.
    let originals: HashMap<usize, usize> = files
        .iter()
        .zip(&starts)
        .flat_map(|(f, &s)| {
            f.dups
                .iter()
                .map(move |&(d, o)| (s + d as usize, s + o as usize))
        })
        .collect();
    let rep = |i: usize| {
        if originals.is_empty() {
            i
        } else {
            originals.get(&i).copied().unwrap_or(i)
        }
    };
    let key_of = |i: usize| {
        let i = rep(i);
        let f = file_of(i);
        files[f].keys[i - starts[f]]
    };
    let content_of = |i: usize| {
        let f = file_of(i);
        (f, files[f].contents[i - starts[f]])
    };
    // The rows with a key, sorted by half of it and then by row: the rows
    // of a key come together, in file order. (A hash table of the keys was
    // a tenth of the read's time: a cache miss a row, in a table of 50 bytes
    // a row that the kernel zeroed first.)
    let mut keyed: Vec<(u64, usize)> = Vec::with_capacity(n);
    // With digests, the last keyless row of each content.
    let mut keyless: HashMap<u64, usize> = HashMap::new();
    let mut i = 0;
    for (file_idx, f) in files.iter().enumerate() {
        for (r, &key) in f.keys.iter().enumerate() {
            let key = if key == NO_KEY { key_of(i) } else { key };
            if key != NO_KEY {
                keyed.push((key as u64, i));
            } else if digests {
                // The first of a file's rows with these values stands for
                // them (the rest are its exact duplicates, also keyless).
                match keyless.entry(f.contents[r]) {
                    Entry::Occupied(e) if file_of(*e.get()) == file_idx => {}
                    Entry::Occupied(mut e) => {
                        superseded[*e.get()] = true;
                        repeats.push(i);
                        e.insert(i);
                    }
                    Entry::Vacant(e) => {
                        e.insert(i);
                    }
                }
            }
            i += 1;
        }
    }
    keyed.par_sort_unstable();
    // With digests, each row's previous row of its key (u32::MAX: none).
    let mut earlier: Vec<u32> = if digests {
        vec![u32::MAX; n]
    } else {
        Vec::new()
    };
    // With digests, whether each row repeats a row of an earlier file.
    let mut repeated: Vec<bool> = if digests { vec![false; n] } else { Vec::new() };
    for rows in keyed.chunk_by_mut(|a, b| a.0 == b.0) {
        if rows.len() < 2 {
            continue;
        }
        // Two keys of one half (all but never): each key's rows together.
        rows.sort_unstable_by_key(|&(_, i)| (key_of(i), i));
        // The row in force: the last that was not a duplicate of the one
        // in force before it.
        let mut current = rows[0].1;
        for pair in rows.windows(2) {
            let [(_, prev), (_, i)] = [pair[0], pair[1]];
            if key_of(prev) != key_of(i) {
                current = i;
                continue;
            }
            let file_idx = file_of(i);
            // The latest row of an earlier file with this key and these
            // values (for the roster, of any file but the row's own copy).
            let repeat = digests.then(|| content_of(i).1).and_then(|c| {
                earlier[i] = prev as u32;
                // A roster row's exact duplicate stands for its original,
                // which looked back itself (a duplicate that found a row
                // written differently would put out the row in force).
                if roster && rep(i) != i {
                    return None;
                }
                let mut j = prev;
                for _ in 0..MAX_LOOK_BACK {
                    let (jf, jc) = content_of(j);
                    if jc == c && (jf != file_idx || (roster && rep(j) != rep(i))) {
                        return Some(j);
                    }
                    j = match earlier[j] {
                        u32::MAX => return None,
                        p => p as usize,
                    };
                }
                None
            });
            if roster {
                if let Some(j) = repeat {
                    superseded[rep(j)] = true;
                    repeats.push(i);
                }
            } else if rep(current) != rep(i) {
                superseded[rep(current)] = true;
                superseded[rep(i)] = false;
                if differs(&mut repeated, current, i, repeat, &file_of) {
                    conflicts.push((current, i));
                } else if repeat.is_some() {
                    repeats.push(i);
                }
                current = i;
            } else if repeat.is_some() {
                repeats.push(i);
            }
        }
    }
    conflicts.sort_unstable_by_key(|&(prev, i)| (i, prev));
    repeats.sort_unstable();
    (superseded, conflicts, repeats)
}

/// Whether row `i`, the next of its key after `prev`, is a conflict with
/// it, `repeat` the row of an earlier file that `i` repeats value for value
/// if any (recorded in `repeated`): a row that differs is one; a repeat is
/// none (a file issued again), unless `prev` came in a later file than the
/// row repeated and repeats none itself (A, then B, then A again: the
/// second A replaced B, which differs).
fn differs(
    repeated: &mut [bool],
    prev: usize,
    i: usize,
    repeat: Option<usize>,
    file_of: &impl Fn(usize) -> usize,
) -> bool {
    match repeat {
        None => true,
        Some(j) => {
            repeated[i] = true;
            file_of(prev) != file_of(j) && !repeated[prev]
        }
    }
}

/// The first row of each of files of these lengths among all their rows.
fn starts_of(lens: impl Iterator<Item = usize>) -> Vec<usize> {
    lens.scan(0, |at, len| {
        let start = *at;
        *at += len;
        Some(start)
    })
    .collect()
}

/// An extract's record-key conflicts: how many each file holds (counted on
/// the later row's file, by index into the extract's files) and each pair
/// of rows as `_ord`s (the replaced row, the row that replaced it), ordered
/// by the later row; and each exact duplicate with the row it repeats, as
/// `_ord`s (the duplicate first, ascending), for the rows that resolution
/// chains again under a repaired number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conflicts {
    pub per_file: BTreeMap<usize, u64>,
    pub pairs: Vec<(u64, u64)>,
    pub dups: Vec<(u64, u64)>,
    /// The `_ord`s of the rows that repeat a row of an earlier file value
    /// for value (a record issued again), ascending.
    pub repeats: Vec<u64>,
}

impl Conflicts {
    /// The conflicts [`supersede`] found (`pairs` of indices into all
    /// files' rows), for files of `lens` rows each whose rows' `_ord`s were
    /// written with `places`.
    fn of(
        pairs: &[(usize, usize)],
        repeats: &[usize],
        places: &[usize],
        files: &[&FileColumns],
    ) -> Conflicts {
        let starts = starts_of(files.iter().map(|f| f.len));
        let at = |i: usize| {
            let f = starts.partition_point(|&s| s <= i) - 1;
            (f, ord_of(places[f], (i - starts[f]) as u64))
        };
        let mut conflicts = Conflicts::default();
        for &(prev, i) in pairs {
            let (file_idx, later) = at(i);
            *conflicts.per_file.entry(file_idx).or_default() += 1;
            conflicts.pairs.push((at(prev).1, later));
        }
        for (f, &place) in files.iter().zip(places) {
            let ord = |row: u32| ord_of(place, u64::from(row));
            conflicts
                .dups
                .extend(f.dups.iter().map(|&(d, o)| (ord(d), ord(o))));
        }
        conflicts.dups.sort_unstable();
        conflicts.repeats = repeats.iter().map(|&i| at(i).1).collect();
        conflicts.repeats.sort_unstable();
        conflicts
    }
}

/// A digest of a row's parsed values, for telling whether two rows of one
/// record key in different files differ: values written differently
/// (`1,234.50` and `1234.5`, `x` and `X`, a traditional and a simplified
/// name) are the same value.
pub fn content_digest<'v, V: Borrow<Value<'v>>>(values: &[V]) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = foldhash::quality::FixedState::with_seed(0x51_7CC1_B727_220A).build_hasher();
    for v in values {
        match v.borrow() {
            Value::Text(t) => (0u8, t.as_deref()).hash(&mut h),
            // Empty, 无 and / are one missing ID.
            Value::Id { raw, id } => match (&id.value, id.status) {
                (_, crate::normalize::id::IdStatus::Empty) => (1u8, "").hash(&mut h),
                (Some(v), _) => (1u8, v.as_str()).hash(&mut h),
                (None, _) => (1u8, *raw).hash(&mut h),
            },
            Value::Name { raw, name } => {
                let written = if name.name.is_empty() {
                    *raw
                } else {
                    &name.name
                };
                (2u8, written, name.alias.as_deref()).hash(&mut h)
            }
            Value::Date(d) => (3u8, d).hash(&mut h),
            Value::Money(m) => (4u8, m).hash(&mut h),
            Value::Decimal(d) => (5u8, d.map(f64::to_bits)).hash(&mut h),
            Value::Integer(m) => (6u8, m).hash(&mut h),
            Value::Period(p) => (7u8, p).hash(&mut h),
            Value::Category(c) => (8u8, c).hash(&mut h),
        }
    }
    h.finish()
}

/// For an extract whose rows went to disk ([`FileRows::take_batch`]): the
/// The `_ord` of row `seq` (counted from 0 among the accepted rows, in file
/// order) of the extract's file `file_idx`: the file in the high half.
pub fn ord_of(file_idx: usize, seq: u64) -> u64 {
    ((file_idx as u64) << 32) | seq
}

/// An `_ord` as (file, row of the file): [`ord_of`] undone.
pub fn split_ord(ord: u64) -> (usize, usize) {
    ((ord >> 32) as usize, (ord & 0xFFFF_FFFF) as usize)
}

/// `_ord` of every superseded row, ascending, and the conflicts (as
/// [`build_extract`] finds them, by index into `files`). Each file comes
/// with the place its rows' `_ord`s were written with.
pub fn superseded_ords(def: &ExtractDef, files: &[(usize, &FileColumns)]) -> (Vec<u64>, Conflicts) {
    let columns: Vec<&FileColumns> = files.iter().map(|(_, f)| *f).collect();
    let (superseded, pairs, repeats) = supersede(&columns, def.is_roster());
    let places: Vec<usize> = files.iter().map(|(place, _)| *place).collect();
    let conflicts = Conflicts::of(&pairs, &repeats, &places, &columns);
    let mut ords = Vec::new();
    let mut i = 0;
    for (place, f) in files {
        for seq in 0..f.len as u64 {
            if superseded[i] {
                ords.push(ord_of(*place, seq));
            }
            i += 1;
        }
    }
    ords.sort_unstable();
    (ords, conflicts)
}

/// Builds an extract's table from its files' columns, in file order, and
/// marks record-key conflicts: a row that a later, different row of the same
/// key replaces is `_superseded`. The table is a batch per piece of rows as
/// they were parsed (the pieces' columns are not copied again). Returns the
/// batches and the conflicts (by index into `files`).
pub fn build_extract(
    def: &ExtractDef,
    files: &[(String, FileColumns)],
) -> Result<(Vec<RecordBatch>, Conflicts), arrow::error::ArrowError> {
    let schema = schema(def);
    let columns: Vec<&FileColumns> = files.iter().map(|(_, f)| f).collect();
    let (superseded, pairs, repeats) = supersede(&columns, def.is_roster());
    let places: Vec<usize> = (0..files.len()).collect();
    let conflicts = Conflicts::of(&pairs, &repeats, &places, &columns);
    let superseded = arrow::array::BooleanArray::from(superseded);
    let mut batches = Vec::new();
    let mut at = 0;
    for (file_idx, (name, f)) in files.iter().enumerate() {
        let mut seq = 0u64;
        let name = Arc::new(StringArray::from(vec![name.as_str()]));
        for piece in &f.pieces {
            let len = piece[0].len();
            let mut ord = UInt64Builder::with_capacity(len);
            for s in seq..seq + len as u64 {
                ord.append_value(ord_of(file_idx, s));
            }
            let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
            columns.push(file_column(&name, len));
            columns.push(piece[0].clone());
            columns.push(Arc::new(ord.finish()));
            columns.push(piece[1].clone());
            columns.push(Arc::new(superseded.slice(at, len)));
            columns.extend(piece[2..].iter().cloned());
            batches.push(RecordBatch::try_new(schema.clone(), columns)?);
            seq += len as u64;
            at += len;
        }
    }
    Ok((batches, conflicts))
}

/// The type of an extract table's `_file` column: the file's name once,
/// and a key per row (as text, the name repeated on every row of a county's
/// tables came to 200 MB).
fn file_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// `rows` rows of the `_file` column (see [`file_type`]) of the file named
/// by `name` (one value), all of a file's batches sharing the one array.
fn file_column(name: &Arc<StringArray>, rows: usize) -> ArrayRef {
    let keys = Int32Array::from(vec![0; rows]);
    Arc::new(DictionaryArray::<Int32Type>::new(keys, name.clone()))
}

/// The Arrow schema of an extract table, in memory or on disk (see the module
/// documentation).
pub fn schema(def: &ExtractDef) -> SchemaRef {
    let mut fields = vec![
        Field::new("_file", file_type(), false),
        Field::new("_row", DataType::Utf8, false),
        Field::new("_ord", DataType::UInt64, false),
        Field::new("_dup", DataType::Boolean, false),
        Field::new("_superseded", DataType::Boolean, false),
    ];
    for f in def.fields.iter().filter(|f| f.kept) {
        let name = f.field;
        match f.ty {
            FieldType::Id => {
                fields.push(Field::new(name, DataType::Utf8, true));
                fields.push(Field::new(format!("{name}_raw"), DataType::Utf8, false));
                fields.push(Field::new(format!("{name}_status"), DataType::Utf8, false));
            }
            FieldType::Name => {
                fields.push(Field::new(name, DataType::Utf8, true));
                fields.push(Field::new(format!("{name}_raw"), DataType::Utf8, false));
            }
            FieldType::Text | FieldType::Code | FieldType::SchoolYear | FieldType::Category(_) => {
                fields.push(Field::new(name, DataType::Utf8, true))
            }
            FieldType::Date => fields.push(Field::new(name, DataType::Date32, true)),
            FieldType::Money | FieldType::Integer => {
                fields.push(Field::new(name, DataType::Int64, true))
            }
            FieldType::Decimal => fields.push(Field::new(name, DataType::Float64, true)),
            FieldType::Period => fields.push(Field::new(name, DataType::Int32, true)),
        }
    }
    Arc::new(Schema::new(fields))
}

const UNIX_EPOCH_CE_DAYS: i32 = 719_163;

fn days_since_epoch(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - UNIX_EPOCH_CE_DAYS
}

fn opt_str(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Whether an ID's region code is one the division tables know; only a
/// warning, since abolished codes, permits and permanent-residence numbers
/// belong to real people.
pub fn region_unknown(id: &NormalizedId) -> bool {
    matches!(id.status, IdStatus::Valid | IdStatus::Upgraded15)
        && id
            .value
            .as_deref()
            .is_some_and(|v| region_status(v) == RegionStatus::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_nfkc_with_single_spaces() {
        let t = |raw: &str| text(raw).map(Cow::into_owned);
        assert_eq!(t("某公司（北京）"), Some("某公司(北京)".into()));
        assert_eq!(t("某公司(北京)"), Some("某公司(北京)".into()));
        assert_eq!(t(" ＡＢＣ　 Co.,  Ltd "), Some("ABC Co., Ltd".into()));
        assert_eq!(t("城关镇"), Some("城关镇".into()));
        assert_eq!(t("\u{3000}\u{200b} "), None);
        assert_eq!(t(""), None);
        assert!(matches!(text("H001"), Some(Cow::Borrowed(_))));
        assert!(matches!(text("某 公司"), Some(Cow::Borrowed(_))));
    }

    #[test]
    fn an_ord_names_its_file_and_row_and_orders_files_first() {
        assert_eq!(split_ord(ord_of(0, 0)), (0, 0));
        assert_eq!(split_ord(ord_of(3, 4_294_967_295)), (3, 4_294_967_295));
        assert!(ord_of(1, 0) > ord_of(0, 4_294_967_295));
    }

    /// `supersede` as it was first written, a row at a time through a
    /// table of each key's last row: the model the sorted one is held to.
    fn supersede_by_table(
        files: &[&FileColumns],
        roster: bool,
    ) -> (Vec<bool>, Vec<(usize, usize)>) {
        /// Earlier rows of a key looked at for a repeat: keys recur once a file.
        const MAX_LOOK_BACK: usize = 64;
        let n: usize = files.iter().map(|f| f.len).sum();
        let mut superseded = vec![false; n];
        let mut conflicts: Vec<(usize, usize)> = Vec::new();
        let digests = (files.len() > 1 || roster)
            && u32::try_from(n).is_ok_and(|n| n < u32::MAX)
            && files.iter().all(|f| f.contents.len() == f.len);
        // The first row of each file, to find a row's file and its digest.
        let starts = starts_of(files.iter().map(|f| f.len));
        let file_of = |i: usize| starts.partition_point(|&s| s <= i) - 1;
        let content_of = |i: usize| {
            let f = file_of(i);
            (f, files[f].contents[i - starts[f]])
        };
        let mut originals: HashMap<usize, usize> = HashMap::new();
        for (f, &s) in files.iter().zip(&starts) {
            for &(d, o) in &f.dups {
                originals.insert(s + d as usize, s + o as usize);
            }
        }
        let rep = |i: usize| originals.get(&i).copied().unwrap_or(i);
        let keys: Vec<u128> = files.iter().flat_map(|f| f.keys.iter().copied()).collect();
        // Key → the last row with it, and the row in force; with digests,
        // each row's previous row of its key (u32::MAX: none), and the last
        // keyless row of each content.
        let mut last: HashMap<u128, usize> = HashMap::with_capacity(n);
        let mut in_force: HashMap<u128, usize> = HashMap::new();
        let mut earlier: Vec<u32> = if digests {
            vec![u32::MAX; n]
        } else {
            Vec::new()
        };
        let mut keyless: HashMap<u64, usize> = HashMap::new();
        let mut repeated = vec![false; n];
        let mut i = 0;
        for (file_idx, f) in files.iter().enumerate() {
            for r in 0..f.len {
                let key = keys[rep(i)];
                let content = digests.then(|| f.contents[r]);
                if key == NO_KEY {
                    // The first of a file's rows with these values stands for
                    // them (the rest are its exact duplicates, also keyless).
                    if let Some(c) = content {
                        match keyless.entry(c) {
                            Entry::Occupied(e) if file_of(*e.get()) == file_idx => {}
                            Entry::Occupied(mut e) => {
                                superseded[*e.get()] = true;
                                e.insert(i);
                            }
                            Entry::Vacant(e) => {
                                e.insert(i);
                            }
                        }
                    }
                } else if let Some(prev) = last.insert(key, i) {
                    // The latest row of an earlier file with this key and these values.
                    let repeat = content.and_then(|c| {
                        earlier[i] = prev as u32;
                        if roster && rep(i) != i {
                            return None;
                        }
                        let mut j = prev;
                        for _ in 0..MAX_LOOK_BACK {
                            let (jf, jc) = content_of(j);
                            if jc == c && (jf != file_idx || (roster && rep(j) != rep(i))) {
                                return Some(j);
                            }
                            j = match earlier[j] {
                                u32::MAX => return None,
                                p => p as usize,
                            };
                        }
                        None
                    });
                    let current = in_force[&key];
                    if roster {
                        if let Some(j) = repeat {
                            superseded[rep(j)] = true;
                        }
                    } else if rep(current) != rep(i) {
                        superseded[rep(current)] = true;
                        superseded[rep(i)] = false;
                        let conflict = match repeat {
                            None => true,
                            Some(j) => {
                                repeated[i] = true;
                                file_of(current) != file_of(j) && !repeated[current]
                            }
                        };
                        if conflict {
                            conflicts.push((current, i));
                        }
                        in_force.insert(key, i);
                    }
                } else {
                    in_force.insert(key, i);
                }
                i += 1;
            }
        }
        (superseded, conflicts)
    }

    /// A file's columns for `supersede`: (key, content) of each row.
    /// [`super::supersede`] without the repeats, for the tests of
    /// what it supersedes.
    fn supersede(files: &[&FileColumns], roster: bool) -> (Vec<bool>, Vec<(usize, usize)>) {
        let (superseded, conflicts, _) = super::supersede(files, roster);
        (superseded, conflicts)
    }

    /// The rows that repeat a row of an earlier file value for value are
    /// noted, keyed or not; a row of another value is not, and neither is
    /// the first copy.
    #[test]
    fn supersede_notes_the_rows_that_repeat_an_earlier_file() {
        let first = keyed(&[(7, Some(1)), (NO_KEY, Some(5)), (8, Some(2))]);
        let second = keyed(&[(7, Some(1)), (NO_KEY, Some(5)), (8, Some(3))]);
        let (_, conflicts, repeats) = super::supersede(&[&first, &second], false);
        assert_eq!(conflicts, [(2, 5)]);
        assert_eq!(repeats, [3, 4]);
        // Issued a third time: every copy after the first, but the row
        // going back to the first file's value, a conflict with the
        // second's.
        let (_, conflicts, repeats) = super::supersede(&[&first, &second, &first], false);
        assert_eq!(conflicts, [(2, 5), (5, 8)]);
        assert_eq!(repeats, [3, 4, 6, 7]);
        // The roster: a member row written differently within its file.
        let roster = keyed(&[(7, Some(1)), (7, Some(1))]);
        assert_eq!(super::supersede(&[&roster], true).2, [1]);
    }

    fn keyed(rows: &[(u128, Option<u64>)]) -> FileColumns {
        FileColumns {
            len: rows.len(),
            pieces: Vec::new(),
            keys: rows.iter().map(|r| r.0).collect(),
            contents: rows.iter().filter_map(|r| r.1).collect(),
            dups: Vec::new(),
        }
    }

    /// A file's columns for `supersede`: (key, content) of each row, and
    /// its exact duplicates (row, the row it repeats), which lose their key.
    fn keyed_with_dups(rows: &[(u128, Option<u64>)], dups: &[(u32, u32)]) -> FileColumns {
        let mut f = keyed(rows);
        for &(d, o) in dups {
            assert!(o < d, "a duplicate repeats an earlier row");
            f.keys[d as usize] = NO_KEY;
        }
        f.dups = dups.to_vec();
        f
    }

    /// A, B, then A again as written within one file: the second A is a
    /// duplicate of the first, which it brings back into force (the rules
    /// use A); B and the second A are a conflict. A duplicate of the row
    /// in force changes nothing.
    #[test]
    fn a_duplicate_after_another_row_of_its_key_brings_its_original_back() {
        let a_b_a = keyed_with_dups(&[(7, None), (7, None), (7, None)], &[(2, 0)]);
        let (flags, conflicts) = supersede(&[&a_b_a], false);
        assert_eq!(flags, [false, true, false]);
        assert_eq!(conflicts, [(0, 1), (1, 2)]);
        // A, A again, B: B replaces A, and the pair names the first A.
        let a_a_b = keyed_with_dups(&[(7, None), (7, None), (7, None)], &[(1, 0)]);
        assert_eq!(
            supersede(&[&a_a_b], false),
            (vec![true, false, false], vec![(0, 2)])
        );
        // A, B, B again: B stays in force, one conflict.
        let a_b_b = keyed_with_dups(&[(7, None), (7, None), (7, None)], &[(2, 1)]);
        assert_eq!(
            supersede(&[&a_b_b], false),
            (vec![true, false, false], vec![(0, 1)])
        );
        // A, B, A, B as written: B in force, three conflicts.
        let abab = keyed_with_dups(&[(7, None); 4], &[(2, 0), (3, 1)]);
        assert_eq!(
            supersede(&[&abab], false),
            (
                vec![true, false, false, false],
                vec![(0, 1), (1, 2), (2, 3)]
            )
        );
        // With content digests (a second file) the same holds.
        let with = keyed_with_dups(&[(7, Some(1)), (7, Some(2)), (7, Some(1))], &[(2, 0)]);
        let other = keyed(&[(9, Some(5))]);
        let (flags, conflicts) = supersede(&[&with, &other], false);
        assert_eq!(flags, [false, true, false, false]);
        assert_eq!(conflicts, [(0, 1), (1, 2)]);
    }

    #[test]
    fn supersede_counts_a_conflict_where_rows_of_a_key_differ() {
        let one = keyed(&[(7, None), (7, None), (8, None)]);
        let (flags, conflicts) = supersede(&[&one], false);
        assert_eq!(flags, [true, false, false]);
        assert_eq!(conflicts, [(0, 1)]);
    }

    #[test]
    fn a_file_repeating_an_earlier_one_adds_no_conflict() {
        // The first file holds a conflict (A then B); the second repeats it.
        let first = keyed(&[(7, Some(1)), (7, Some(2))]);
        let second = keyed(&[(7, Some(1)), (7, Some(2))]);
        let (flags, conflicts) = supersede(&[&first, &second], false);
        assert_eq!(flags, [true, true, true, false]);
        assert_eq!(conflicts, [(0, 1)]);
        // A later file's different row is a conflict with the row before
        // it (the second file's B).
        let third = keyed(&[(7, Some(3))]);
        let (_, conflicts) = supersede(&[&first, &second, &third], false);
        assert_eq!(conflicts, [(0, 1), (3, 4)]);
        // As `_ord`s of files written in places 0, 5 and 9, counted on
        // the later row's file.
        let found = Conflicts::of(&conflicts, &[], &[0, 5, 9], &[&first, &second, &third]);
        assert_eq!(found.per_file, BTreeMap::from([(0, 1), (2, 1)]));
        assert_eq!(
            found.pairs,
            [(ord_of(0, 0), ord_of(0, 1)), (ord_of(5, 1), ord_of(9, 0))]
        );
        assert!(found.dups.is_empty());
    }

    /// Each exact duplicate goes on as the `_ord`s of it and of the row it
    /// repeats, in the place its file's rows were written with.
    #[test]
    fn conflicts_carry_each_duplicate_with_its_original() {
        let first = keyed_with_dups(&[(7, None), (8, None), (7, None)], &[(2, 0)]);
        let second = keyed_with_dups(&[(9, None), (9, None), (9, None)], &[(1, 0), (2, 0)]);
        let found = Conflicts::of(&[], &[], &[3, 6], &[&first, &second]);
        assert_eq!(
            found.dups,
            [
                (ord_of(3, 2), ord_of(3, 0)),
                (ord_of(6, 1), ord_of(6, 0)),
                (ord_of(6, 2), ord_of(6, 0))
            ]
        );
    }

    /// A later file going back to an earlier file's values (A, B, A) is a
    /// conflict with the row it replaced; a file issued again (A, B then
    /// A, B) adds none, nor a file repeating a row of an earlier one's
    /// conflict (A, B then A).
    #[test]
    fn a_row_going_back_to_an_earlier_file_s_values_is_a_conflict() {
        let [a, b] = [1, 2].map(|c| keyed(&[(7, Some(c))]));
        let (flags, conflicts) = supersede(&[&a, &b, &a], false);
        assert_eq!(flags, [true, true, false]);
        assert_eq!(conflicts, [(0, 1), (1, 2)]);
        // B then A within the second file.
        let b_a = keyed(&[(7, Some(2)), (7, Some(1))]);
        assert_eq!(supersede(&[&a, &b_a], false).1, [(0, 1), (1, 2)]);
        let a_b = keyed(&[(7, Some(1)), (7, Some(2))]);
        assert_eq!(supersede(&[&a_b, &a_b], false).1, [(0, 1)]);
        assert_eq!(supersede(&[&a_b, &a], false).1, [(0, 1)]);
    }

    #[test]
    fn a_roster_row_is_superseded_only_by_its_repeat() {
        // X and Y differ (CB05); the second file repeats X, not as the last
        // row of the key.
        let first = keyed(&[(7, Some(1)), (7, Some(2))]);
        let second = keyed(&[(7, Some(1))]);
        let (flags, conflicts) = supersede(&[&first, &second], true);
        assert_eq!(flags, [true, false, false]);
        assert!(conflicts.is_empty());
        // Within one file: X, Y, then X written differently (`800` and
        // `800.00`: the same values) keeps Y and the second X, both for
        // CB05; X and X again alone are one row.
        for (rows, expected) in [
            (
                vec![(7, Some(1)), (7, Some(2)), (7, Some(1))],
                vec![true, false, false],
            ),
            (vec![(7, Some(1)), (7, Some(1))], vec![true, false]),
        ] {
            let one = keyed(&rows);
            let (flags, conflicts) = supersede(&[&one], true);
            assert_eq!(flags, expected);
            assert!(conflicts.is_empty());
            assert_eq!((flags, conflicts), supersede_by_table(&[&one], true));
        }
        // An exact duplicate (written alike) stands for its original: the
        // original stays in force; X, X written differently, then a copy
        // of the first X keeps the second (the copy does not put it out).
        let copied = keyed_with_dups(&[(7, Some(1)), (7, Some(1))], &[(1, 0)]);
        assert_eq!(supersede(&[&copied], true).0, [false, false]);
        assert_eq!(
            supersede(&[&copied], true),
            supersede_by_table(&[&copied], true)
        );
        let copied = keyed_with_dups(&[(7, Some(1)), (7, Some(1)), (7, Some(1))], &[(2, 0)]);
        assert_eq!(supersede(&[&copied], true).0, [true, false, false]);
        // Outside the roster, the same values written differently within
        // one file are still a conflict (the README's `180` and `180.00`).
        let one = keyed(&[(7, Some(1)), (7, Some(1))]);
        assert_eq!(supersede(&[&one], false).1, [(0, 1)]);
    }

    proptest::proptest! {
        /// The sorted `supersede` flags and counts what the table of each
        /// key's last row did, row for row: keys that share a half included.
        #[test]
        fn supersede_agrees_with_its_table_model(
            files in proptest::collection::vec(
                proptest::collection::vec((0u8..6, 1u64..4, proptest::bool::ANY), 0..24),
                1..4,
            ),
            with_contents in proptest::bool::ANY,
            roster in proptest::bool::ANY,
        ) {
            // Key 5 shares its low half with key 1.
            let key = |k: u8| match k {
                0 => NO_KEY,
                5 => 1 | (1 << 64),
                k => u128::from(k),
            };
            let columns: Vec<FileColumns> = files
                .iter()
                .map(|rows| {
                    // A row marked a copy repeats the first earlier row of
                    // its key and content, if any, as an exact duplicate.
                    let dups: Vec<(u32, u32)> = rows
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.2)
                        .filter_map(|(d, &(k, c, _))| {
                            let o = rows[..d].iter().position(|&(k2, c2, _)| (k2, c2) == (k, c))?;
                            Some((d as u32, o as u32))
                        })
                        .collect();
                    let rows: Vec<(u128, Option<u64>)> = rows
                        .iter()
                        .map(|&(k, c, _)| (key(k), with_contents.then_some(c)))
                        .collect();
                    keyed_with_dups(&rows, &dups)
                })
                .collect();
            let files: Vec<&FileColumns> = columns.iter().collect();
            let found = supersede(&files, roster);
            // Whatever the rows, every key keeps a row in force (one not
            // superseded and no duplicate): a member never drops out.
            let kept: Vec<(u128, bool)> = columns
                .iter()
                .flat_map(|f| f.keys.iter().copied())
                .zip(&found.0)
                .filter(|(k, _)| *k != NO_KEY)
                .map(|(k, &s)| (k, s))
                .collect();
            for (k, _) in &kept {
                proptest::prop_assert!(kept.iter().any(|(k2, s)| k2 == k && !s), "key {k}");
            }
            proptest::prop_assert_eq!(found, supersede_by_table(&files, roster));
        }
    }

    /// A repeat is looked for among a key's last 64 rows: one further back
    /// is not found, and the later row is a conflict; one within is no
    /// conflict.
    #[test]
    fn a_repeat_further_back_than_the_look_back_is_a_conflict() {
        let rows: Vec<(u128, Option<u64>)> = (1..=70).map(|c| (7, Some(c))).collect();
        let first = keyed(&rows);
        for (content, conflicts) in [(1, 70), (70, 69)] {
            let second = keyed(&[(7, Some(content))]);
            let files = [&first, &second];
            let found = supersede(&files, false);
            assert_eq!(found, supersede_by_table(&files, false));
            // The first file's 69 conflicts, and the second's row.
            assert_eq!(found.1.len(), conflicts, "content {content}");
        }
    }

    #[test]
    fn a_keyless_row_repeated_by_a_later_file_counts_once() {
        // Rows without an ID: the second file repeats the first's (its
        // exact duplicate too); a row of other values stays.
        let first = keyed(&[(NO_KEY, Some(5)), (NO_KEY, Some(5)), (NO_KEY, Some(6))]);
        let second = keyed(&[(NO_KEY, Some(5))]);
        let (flags, conflicts) = supersede(&[&first, &second], false);
        assert_eq!(flags, [true, false, false, false]);
        assert!(conflicts.is_empty());
    }

    #[test]
    fn a_large_file_sizes_its_duplicate_set_once_from_its_first_chunk() {
        let def = crate::extract::by_name("pension").unwrap();
        let headers: Vec<&str> = def.fields.iter().map(|f| f.header).collect();
        let map = super::super::HeaderMatcher::new(def, &BTreeMap::new())
            .map_header(&headers)
            .unwrap();
        let row = |i: usize| RawRow {
            loc: crate::read::RowLoc {
                sheet: None,
                row: 2,
            },
            // A name of 6 bytes and three cells of 4, a delimiter after
            // each: 22 bytes a row.
            fields: ["张三", "1234", "2025", format!("{:04}", i % 1000).as_str()]
                .iter()
                .map(|c| crate::read::Cell::from(*c))
                .collect(),
        };
        let rows: Vec<RawRow> = (0..2048).map(row).collect();
        // 2 MB of 22-byte rows: 90,909 rows, and an eighth more reserved.
        let mut finder = DuplicateFinder::for_file(2_000_000);
        let dups = finder.mark(&map, &rows);
        let reserved = finder.seen.capacity();
        assert!((102_272..150_000).contains(&reserved), "{reserved}");
        // The estimate is told, for the file's other per-row vectors.
        assert_eq!(finder.estimated_rows(), Some(90_909 + 90_909 / 8));
        // Sizing changes nothing found: every row after the first thousand
        // repeats one of them.
        assert_eq!(dups.iter().filter(|d| d.is_some()).count(), 1048);
        assert!(dups[..1000].iter().all(Option::is_none));
        // Each names the row it repeats: row 1000 repeats row 0.
        assert_eq!(dups[1000], Some(0));
        assert_eq!(dups[2047], Some(47));
        assert_eq!(finder.next_place(), 2048);
        // A small file (one short chunk) is not sized ahead.
        let mut small = DuplicateFinder::for_file(2_000_000);
        small.mark(&map, &rows[..10]);
        assert!(small.seen.capacity() < 1000);
        assert_eq!(small.estimated_rows(), None);
    }

    #[test]
    fn a_city_file_s_duplicate_set_is_sized_without_growing() {
        // 3 GB of 150-byte rows: 22.5 million rows, which need the bound's
        // 2^25 slots.
        let mut finder = DuplicateFinder::default();
        let row = |i: usize| RawRow {
            loc: crate::read::RowLoc {
                sheet: None,
                row: i as u32,
            },
            fields: vec![crate::read::Cell::from("x".repeat(149).as_str())],
        };
        let rows: Vec<RawRow> = (0..1024).map(row).collect();
        finder.size_for(3_000_000_000, &rows);
        assert_eq!(finder.estimated_rows(), Some(22_500_000));
        // Held without growing: 2^25 slots, not 2^24 grown to 2^25 later.
        let reserved = finder.seen.capacity();
        assert!(
            (22_500_000..=MAX_RESERVED_DIGESTS).contains(&reserved),
            "{reserved}"
        );
    }

    #[test]
    fn a_file_s_rows_are_sized_once_for_the_whole_file() {
        let piece = |n: u128, contents: bool| RowPiece {
            columns: Vec::new(),
            keys: (0..n).collect(),
            contents: if contents {
                vec![7; n as usize]
            } else {
                Vec::new()
            },
            dups: Vec::new(),
            rejected: Vec::new(),
        };
        let mut rows = FileRows::new();
        rows.append(piece(10, true));
        rows.reserve(100_000, true);
        assert!(rows.keys.capacity() >= 100_000);
        assert!(rows.contents.capacity() >= 100_000);
        let (keys, contents) = (rows.keys.as_ptr(), rows.contents.as_ptr());
        for _ in 0..100 {
            rows.append(piece(999, true));
            // Asked again after every chunk, as the reader does.
            rows.reserve(100_000, true);
        }
        // Appended into the room made, never moved.
        assert_eq!(rows.keys.as_ptr(), keys);
        assert_eq!(rows.contents.as_ptr(), contents);
        assert_eq!(rows.keys.len(), 99_910);
        // Content digests not kept get no room.
        let mut bare = FileRows::new();
        bare.append(piece(10, false));
        bare.reserve(100_000, false);
        assert_eq!(bare.contents.capacity(), 0);
        // Room for the file in all, not more on top of the rows in hand.
        assert!(bare.keys.capacity() < 100_010);
    }

    #[test]
    fn a_digest_tells_where_its_parts_part() {
        let of = |parts: &[&str]| digest(parts.iter().copied());
        assert_eq!(of(&["张三", "100"]), of(&["张三", "100"]));
        assert_ne!(of(&["张三", "100"]), of(&["张三1", "00"]));
        assert_ne!(of(&["a", ""]), of(&["a"]));
        assert_ne!(of(&[""]), of(&[]));
    }

    /// The record-key digest of one education row: name, ID, birth date,
    /// school, stage, aid, amount, hardship, guardian's name and ID, year.
    fn education_key(cells: [&str; 11]) -> Option<u128> {
        with_row("education", &cells, |def, parsed| {
            KeySpec::new(def).digest(&parsed.unwrap().values)
        })
    }

    #[test]
    fn a_record_key_is_its_values_not_how_they_are_written() {
        let row = |name, id, birth, year, amount| {
            education_key([
                name,
                id,
                birth,
                "一中",
                "初中",
                "免学费",
                amount,
                "无",
                "",
                "",
                year,
            ])
        };
        let id = "110101200903071234";
        let base = row("张三", id, "2009-03-07", "2024-2025", "100");
        assert!(base.is_some());
        // The key is the ID and the school year: other fields do not count,
        // and an ID or a year written another way is the same key.
        assert_eq!(row("李四", id, "2009-03-08", "2024-2025", "200"), base);
        assert_eq!(
            row(
                "张三",
                " 110101200903071234 ",
                "2009-03-07",
                "2024—2025",
                "100"
            ),
            base
        );
        assert_ne!(row("张三", id, "2009-03-07", "2025-2026", "100"), base);
        assert_ne!(
            row(
                "张三",
                "110101200903071250",
                "2009-03-07",
                "2024-2025",
                "100"
            ),
            base
        );
        // No ID: the fallback key, the name, birth date and year.
        let fallback = row("张三", "", "2009-03-07", "2024-2025", "100");
        assert!(fallback.is_some());
        assert_ne!(fallback, base);
        assert_eq!(row("張三", "", "2009/3/7", "2024-2025", "300"), fallback);
        assert_ne!(row("张三", "", "2009-03-08", "2024-2025", "100"), fallback);
        assert_ne!(row("李四", "", "2009-03-07", "2024-2025", "100"), fallback);
        // Neither key complete: no identity to conflict on.
        assert_eq!(row("张三", "", "", "2024-2025", "100"), None);
    }

    #[test]
    fn a_code_written_two_ways_is_one_code() {
        assert_eq!(code("UNIT-77").as_deref(), Some("UNIT-77"));
        assert!(matches!(code(" UNIT-77 "), Some(Cow::Borrowed(_))));
        assert_eq!(code("unit-77 ").as_deref(), Some("UNIT-77"));
        assert_eq!(code("ＵＮＩＴ－７７").as_deref(), Some("UNIT-77"));
        assert_eq!(
            code("320102 001001\u{3000}GB00001").as_deref(),
            Some("320102001001GB00001")
        );
        assert_eq!(code("  "), None);
        // A float-typed export's `.0` (pandas): the same code, the same
        // 户编号 (a text field).
        assert_eq!(code("2025000123.0").as_deref(), Some("2025000123"));
        assert_eq!(
            text("341122002000001.0").as_deref(),
            Some("341122002000001")
        );
        assert_eq!(
            text("341122002000001.00").as_deref(),
            Some("341122002000001")
        );
        assert_eq!(
            text("3411220020000012.0").as_deref(),
            Some("3411220020000012.0"),
            "16 digits: a float's may be rounded"
        );
        assert_eq!(text("3.0").as_deref(), Some("3.0"));
        assert_eq!(text("1234.5").as_deref(), Some("1234.5"));
    }

    const GRADE: &[(&str, &[&str])] = &[("C", &["C级"]), ("D", &["D级"])];
    const STATUS: &[(&str, &[&str])] = &[
        ("正常参保", &["参保", "正常"]),
        ("终止", &["终止参保", "停保"]),
    ];

    /// One row of `extract` whose cells are given in the order of its
    /// fields, parsed and handed to `then` with the extract.
    fn with_row<R>(
        extract: &str,
        cells: &[&str],
        then: impl FnOnce(&'static ExtractDef, Result<ParsedRow<'_>, Reject>) -> R,
    ) -> R {
        let def = crate::extract::by_name(extract).unwrap();
        let map = template_map(def, &[]);
        then(def, parse_row(def, &map, &raw_row(cells)))
    }

    /// The map of `def`'s template header, with `extra` cells after it.
    fn template_map(def: &'static ExtractDef, extra: &[&str]) -> HeaderMap {
        let headers: Vec<&str> = def.fields.iter().map(|f| f.header).collect();
        super::super::HeaderMatcher::new(def, &BTreeMap::new())
            .map_header(&[&headers[..], extra].concat())
            .unwrap()
    }

    /// A data row of these cells, spreadsheet row 2.
    fn raw_row(cells: &[&str]) -> RawRow {
        RawRow {
            loc: crate::read::RowLoc {
                sheet: None,
                row: 2,
            },
            fields: cells.iter().map(|c| crate::read::Cell::from(*c)).collect(),
        }
    }

    /// A workbook in the 1904 date system: a bare serial in a date or month
    /// column counts from 1904 (44200 is 2025-01-05); written dates, and
    /// numbers in other columns, read as they stand.
    #[test]
    fn a_1904_workbook_s_bare_serials_count_from_1904() {
        let def = crate::extract::by_name("pension").unwrap();
        let mut map = template_map(def, &[]);
        let parse = |map: &HeaderMap, month: &str, amount: &str| {
            let row = raw_row(&["张三", "110101199003071234", month, amount]);
            let parsed = parse_row(def, map, &row).expect("parses");
            match (&parsed.values[2], &parsed.values[3]) {
                (Value::Period(month), Value::Money(fen)) => (*month, *fen),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            parse(&map, "44200", "44200"),
            (Some(202101), Some(4_420_000))
        );
        map.dates_1904 = true;
        assert_eq!(
            parse(&map, "44200", "44200"),
            (Some(202501), Some(4_420_000))
        );
        assert_eq!(parse(&map, "2025-01-05", "180").0, Some(202501));
        assert_eq!(parse(&map, "202501", "180").0, Some(202501));
    }

    /// A roster row one field longer than its header (the extra empty):
    /// a trailing comma alone keeps it; with a value it cannot read, the
    /// extra field is an unquoted comma that shifted the values after it.
    #[test]
    fn a_longer_row_with_an_unreadable_value_is_broken() {
        let row = |benefit: &[&str], tail: &[&str]| {
            let mut cells = vec![
                "H1",
                "低保",
                "城关镇",
                "东街社区",
                "李强",
                "341122194610164119",
                "李强",
                "341122194610164119",
                "本人",
                "1",
            ];
            cells.extend_from_slice(benefit);
            cells.extend_from_slice(tail);
            parse_one("roster", &cells)
        };
        // 月保障金 `1,040.00` written without quotes: 1 | 040.00 | date …
        assert_eq!(
            row(&["1", "040.00"], &["2025-07-14", "247.00", ""]),
            Err("field_count")
        );
        // A trailing comma, every value readable: kept.
        assert_eq!(
            row(&["1040.00"], &["2025-07-14", "247.00", "", ""]),
            Ok(vec![])
        );
        // A trailing comma and an unreadable value no joining mends: kept,
        // the value a warning.
        assert_eq!(
            row(&["1040.00"], &["二〇二四年", "247.00", "", ""]),
            Ok(vec![FieldWarning {
                code: "bad_date",
                field: "start_date"
            }])
        );
        // The header's own width, an unreadable value: kept, a warning.
        assert_eq!(
            row(&["1040.00"], &["二〇二四年", "247.00", ""]),
            Ok(vec![FieldWarning {
                code: "bad_date",
                field: "start_date"
            }])
        );
        // A member row with a trailing comma and an unreadable 保障人数:
        // joining text with it (`配偶,两`) mends nothing a comma split.
        let member = [
            "H1",
            "",
            "",
            "",
            "",
            "",
            "李娜",
            "341122194610164119",
            "配偶",
            "两",
            "",
            "",
            "",
            "",
            "",
        ];
        assert_eq!(
            parse_one("roster", &member),
            Ok(vec![
                FieldWarning {
                    code: "missing_value",
                    field: "category"
                },
                FieldWarning {
                    code: "bad_number",
                    field: "household_size"
                }
            ])
        );
    }

    /// A header and rows that all end with a comma: the header's empty last
    /// cell leaves room for a value an unquoted comma moved right
    /// (`4,200` as 缴费基数), which is no trailing comma: broken.
    #[test]
    fn a_value_moved_under_the_header_s_trailing_empty_cell_is_broken() {
        let def = crate::extract::by_name("contribution").unwrap();
        let map = template_map(def, &[""]);
        let parse = |cells: &[&str]| {
            parse_row(def, &map, &raw_row(cells))
                .map(|_| ())
                .map_err(|r| r.code)
        };
        let id = "341122194610164119";
        assert_eq!(
            parse(&["张三", id, "某公司", "企业", "202508", "4200", ""]),
            Ok(())
        );
        assert_eq!(
            parse(&["张三", id, "某公司", "企业", "202508", "4", "200", ""]),
            Err("field_count")
        );
    }

    /// The reject names the number column a comma split, not a text column
    /// before it that would take any join.
    #[test]
    fn a_split_amount_is_named_by_its_own_column() {
        let def = crate::extract::by_name("medical_settlement").unwrap();
        let map = template_map(def, &[]);
        let cells: Vec<&str> = vec![
            "S1",
            "张三",
            "110101199003071234",
            "住院",
            "2025-02-05",
            "县医院",
            "I10",
            "1",
            "234.50",
            "1000",
            "500",
            "0",
            "100",
            "634.50",
        ];
        assert_eq!(cells.len(), def.fields.len() + 1);
        let reject = parse_row(def, &map, &raw_row(&cells)).expect_err("split");
        assert_eq!(reject.code, "field_count");
        assert!(reject.reason.contains("「总费用」"), "{}", reject.reason);
    }

    /// A required value written as nothing recorded is missing, and the
    /// reason says what was written; a blank cell is simply empty.
    #[test]
    fn a_required_value_written_as_none_is_missing_and_says_so() {
        for (written, says) in [
            ("0", "必填字段「状态」为空（填写为「0」，视为未填）"),
            ("暂无", "必填字段「状态」为空（填写为「暂无」，视为未填）"),
            (" ", "必填字段「状态」为空"),
        ] {
            let reject = with_row(
                "unemployment",
                &["张三", "110101199003071234", "2024-05-10", written],
                |_, parsed| parsed.map(|_| ()).expect_err(written),
            );
            assert_eq!(reject.code, "missing_value", "{written:?}");
            assert_eq!(reject.reason, says, "{written:?}");
        }
    }

    #[test]
    fn empty_header_cells_after_the_last_name_are_no_columns() {
        // A header with two empty cells after it (columns Excel formatted
        // and left empty): a row of the named columns alone is whole; a
        // value under an empty header cell is ignored (as an unknown
        // column's is), one past the header's cells breaks the row.
        let def = crate::extract::by_name("pension").unwrap();
        let map = super::super::HeaderMatcher::new(def, &BTreeMap::new())
            .map_header(&["姓名", "身份证号", "发放月份", "发放金额（元）", "", " "])
            .unwrap();
        assert_eq!((map.named_width, map.width), (4, 6));
        let row = |cells: &[&str]| RawRow {
            loc: crate::read::RowLoc {
                sheet: None,
                row: 2,
            },
            fields: cells.iter().map(|c| crate::read::Cell::from(*c)).collect(),
        };
        let person = ["张三", "110101199003071234", "202511", "100"];
        assert!(parse_row(def, &map, &row(&person)).is_ok());
        let padded = [&person[..], &["", ""]].concat();
        assert!(parse_row(def, &map, &row(&padded)).is_ok());
        let noted = [&person[..], &["", "已核实"]].concat();
        assert!(parse_row(def, &map, &row(&noted)).is_ok());
        let past = [&person[..], &["", "", "x"]].concat();
        let reject = parse_row(def, &map, &row(&past)).err().unwrap();
        assert_eq!(reject.code, "field_count");
        assert!(
            reject.reason.contains("表头 6 列，本行 7 列"),
            "{}",
            reject.reason
        );
        let short = parse_row(def, &map, &row(&person[..3])).err().unwrap();
        assert!(
            short.reason.contains("表头 4 列，本行 3 列"),
            "{}",
            short.reason
        );
    }

    /// One row of `extract` whose cells are given in the order of its
    /// fields: the reject code, or the warnings it was kept with.
    fn parse_one(extract: &str, cells: &[&str]) -> Result<Vec<FieldWarning>, &'static str> {
        with_row(extract, cells, |_, parsed| {
            parsed.map(|p| p.warnings).map_err(|r| r.code)
        })
    }

    /// A settlement row with `cell` in the column headed `header`.
    /// A dash is Excel's zero in an amount, but a contribution base is
    /// never 0: there it is a base left out.
    #[test]
    fn a_dash_is_zero_but_a_left_out_contribution_base() {
        let field = |extract: &str, name: &str| {
            crate::extract::by_name(extract)
                .unwrap()
                .fields
                .iter()
                .find(|f| f.field == name)
                .unwrap()
        };
        let paid = field("medical_settlement", "assistance_paid");
        let declared = field("roster", "declared_income");
        let base = field("contribution", "wage_base");
        for dash in ["-", " — ", "¥ -"] {
            assert_eq!(
                parse_value(paid, dash),
                Ok(Value::Money(Some(0))),
                "{dash:?}"
            );
            assert_eq!(
                parse_value(declared, dash),
                Ok(Value::Money(Some(0))),
                "{dash:?}"
            );
            assert_eq!(parse_value(base, dash), Ok(Value::Money(None)), "{dash:?}");
        }
        assert_eq!(parse_value(base, "3500"), Ok(Value::Money(Some(350_000))));
        assert_eq!(parse_value(declared, ""), Ok(Value::Money(None)));
    }

    /// A settlement row that reads whole, in the template's column order.
    const SETTLEMENT: [&str; 13] = [
        "S1",
        "张三",
        "110101199003071234",
        "住院",
        "2025-03-01",
        "县医院",
        "I10 高血压",
        "20000",
        "10000",
        "6000",
        "1000",
        "500",
        "2500",
    ];

    fn settlement_row(header: &str, cell: &str) -> Result<Vec<FieldWarning>, &'static str> {
        let def = crate::extract::by_name("medical_settlement").unwrap();
        let mut cells = SETTLEMENT;
        cells[def.fields.iter().position(|f| f.header == header).unwrap()] = cell;
        parse_one("medical_settlement", &cells)
    }

    #[test]
    fn a_value_a_rule_reads_rejects_its_row_when_it_cannot_be_read() {
        // 统筹基金支付 decides DY02: unreadable, the row is not judged on a
        // guessed zero but rejected, as an unreadable 总费用 always was.
        assert_eq!(settlement_row("统筹基金支付", "abc"), Err("bad_money"));
        assert_eq!(settlement_row("个人自付", "12元5角"), Err("bad_money"));
        assert_eq!(settlement_row("总费用", "abc"), Err("bad_money"));
        // Empty, or written as none, it is null: a row without the amount.
        assert_eq!(settlement_row("统筹基金支付", ""), Ok(vec![]));
        assert_eq!(settlement_row("统筹基金支付", "-"), Ok(vec![]));
        assert_eq!(settlement_row("政策范围内费用", "无"), Ok(vec![]));
        // An enrollment's end: a death on an unreadable date is a death on
        // no date, its row kept and the date counted (a rejected row would
        // leave its member uninsured: DY01).
        let enrollment = |reason: &str, date: &str| {
            parse_one(
                "medical_enrollment",
                &[
                    "张三",
                    "110101199003071234",
                    "城乡居民医保",
                    "终止",
                    reason,
                    date,
                    "否",
                ],
            )
        };
        assert_eq!(
            enrollment("死亡", "2025-02-30"),
            Ok(vec![FieldWarning {
                code: "bad_date",
                field: "end_date"
            }])
        );
        assert_eq!(enrollment("/", ""), Ok(vec![]));
        // An unreadable end reason is no reason: no death is assumed.
        assert_eq!(
            enrollment("xyz", "2025-02-03"),
            Ok(vec![FieldWarning {
                code: "bad_category",
                field: "end_reason"
            }])
        );
        // A value no rule reads keeps its row: null, and counted.
        assert_eq!(
            parse_one(
                "property",
                &[
                    "张三",
                    "110101199003071234",
                    "U1",
                    "某路1号",
                    "住宅",
                    "八十平",
                    "2020-01-01",
                    "现势"
                ],
            ),
            Ok(vec![FieldWarning {
                code: "bad_number",
                field: "area"
            }])
        );
    }

    #[test]
    fn which_unreadable_values_keep_their_row() {
        use crate::extract::EXTRACTS;
        // A value that cannot be read is null, and its row kept, where no
        // rule reads it, where null raises nothing the true value would not
        // (an unknown 困境类型 is no orphan), and for the roster's own
        // values: a rejected roster row would drop its household from every
        // check. An amount that decides DY02 and a renovation state that
        // clears a house must parse: null there would be a guess. An
        // enrollment's end date need not: a death on no date is still a
        // death (CB04), and a rejected enrollment would leave its member
        // uninsured (DY01).
        let lenient: Vec<(&str, &str)> = EXTRACTS
            .iter()
            .flat_map(|d| d.fields.iter().map(move |f| (d.name, f)))
            .filter(|(_, f)| {
                !matches!(
                    f.ty,
                    FieldType::Text | FieldType::Code | FieldType::Id | FieldType::Name
                ) && !f.value_required
                    && !f.value_checked
            })
            .map(|(d, f)| (d, f.field))
            .collect();
        assert_eq!(
            lenient,
            [
                ("roster", "relation"),
                ("roster", "household_size"),
                ("roster", "monthly_benefit"),
                ("roster", "start_date"),
                ("roster", "declared_income"),
                ("roster", "disability"),
                ("education", "birth_date"),
                ("education", "aid_type"),
                ("education", "aid_amount"),
                ("education", "hardship"),
                ("medical_enrollment", "end_reason"),
                ("medical_enrollment", "end_date"),
                ("medical_enrollment", "subsidized"),
                ("property", "area"),
                ("property", "reg_date"),
            ]
        );
    }

    /// An amount finer than a fen is kept, rounded, with a warning on its
    /// field; an amount of whole fen has none.
    #[test]
    fn an_amount_finer_than_a_fen_is_kept_with_a_warning() {
        let pension =
            |amount| parse_one("pension", &["张三", "110101199003071234", "202511", amount]);
        assert_eq!(
            pension("699.995"),
            Ok(vec![FieldWarning {
                code: "money_rounded",
                field: "amount"
            }])
        );
        assert_eq!(pension("699.99"), Ok(vec![]));
        assert_eq!(pension("0.06999万"), Ok(vec![]));
    }

    #[test]
    fn none_written_out_is_no_category() {
        const END_REASON: &[(&str, &[&str])] = &[("死亡", &[]), ("转出", &[])];
        const AID: &[(&str, &[&str])] = &[("免学费", &[]), ("无", &["未资助"])];
        for none in ["无", "/", "－", "—", "–", "暂无", "NULL", "null", "不详"] {
            assert_eq!(parse_category(END_REASON, none), Ok(None), "{none}");
        }
        // Where 无 is a value, it is that value.
        assert_eq!(parse_category(AID, "无"), Ok(Some("无")));
        assert!(parse_category(END_REASON, "xyz").is_err());
    }

    #[test]
    fn categories_match_spellings_exactly_then_by_containment() {
        assert_eq!(parse_category(GRADE, " D "), Ok(Some("D")));
        assert_eq!(parse_category(GRADE, "d级"), Ok(Some("D")));
        assert_eq!(parse_category(GRADE, "D级危房"), Ok(Some("D")));
        assert_eq!(parse_category(STATUS, "已终止参保"), Ok(Some("终止")));
        assert_eq!(parse_category(STATUS, "-"), Ok(None));
        assert_eq!(parse_category(STATUS, ""), Ok(None));
        assert!(parse_category(STATUS, "停止").is_err());
        assert!(
            parse_category(GRADE, "C级或D级").is_err(),
            "a tie is not guessed"
        );
        // A one-letter value with a note after it (helper-109's audit:
        // each was rejected, and the house dropped out of LB03 and DY04).
        for (raw, grade) in [
            ("D（待复核）", "D"),
            ("D(整体危险)", "D"),
            ("c（局部危险）", "C"),
            ("D 整体危险", "D"),
            ("D\u{3000}整体危险", "D"),
            // What the house was is no other grade (helper-163's audit:
            // `D级（原C级）` read as D, `D（原C级）` not at all).
            ("D（原C级）", "D"),
            ("D级（原C级）", "D"),
        ] {
            assert_eq!(parse_category(GRADE, raw), Ok(Some(grade)), "{raw}");
        }
        for raw in [
            "DC",
            "D危",
            "（D）",
            "X（待复核）",
            // The note names another grade: not guessed at (helper-112).
            "D(C级以上)",
            "C（复核为D级）",
            "C级（复核为D级）",
            "C级（应为D级）",
            "D 或 C",
            "C D",
        ] {
            assert!(parse_category(GRADE, raw).is_err(), "{raw}");
        }
    }

    /// A cell that holds a value's spelling but says beside it that the
    /// value is stopped, not held, once held or only planned, or that holds
    /// two values, is no value (helper-102's audit: each of these was read
    /// as the value it holds).
    #[test]
    fn a_value_turned_or_contradicted_beside_its_spelling_is_no_value() {
        use crate::extract::housing_safety::RENOVATION;
        use crate::extract::medical_enrollment::STATUS as ENROLLMENT;
        use crate::extract::unemployment::STATUS as UNEMPLOYMENT;
        type Values = &'static [(&'static str, &'static [&'static str])];
        let unread: [(Values, &[&str]); 3] = [
            (
                ENROLLMENT,
                &[
                    "停止参保",
                    "已停止参保",
                    "取消参保",
                    "不再参保",
                    "未正常参保",
                    "曾参保",
                ],
            ),
            (
                UNEMPLOYMENT,
                &[
                    "注销失业登记",
                    "不在失业",
                    "待就业",
                    "未再就业",
                    "就业困难",
                    "失业（已就业）",
                    "失业\n已就业",
                    "已就业\n失业",
                ],
            ),
            (RENOVATION, &["拟纳入计划", "申请纳入计划"]),
        ];
        for (values, raws) in unread {
            for raw in raws {
                let got = parse_category(values, raw);
                assert!(got.is_err(), "{raw}: {got:?}");
            }
        }
        // Still read: a value with words that do not turn it, the same
        // value twice, a value inside a longer spelling of another.
        for (values, raw, want) in [
            (ENROLLMENT, "正常参保缴费中", "正常参保"),
            (ENROLLMENT, "已终止参保", "终止"),
            (ENROLLMENT, "已停保", "终止"),
            (UNEMPLOYMENT, "已就业（灵活就业）", "已就业"),
            (UNEMPLOYMENT, "失业人员", "失业"),
            (RENOVATION, "暂未纳入", "未纳入"),
            (RENOVATION, "已纳入2025年改造计划", "已纳入计划"),
            (RENOVATION, "改造完成（2024年）", "已改造"),
            (GRADE, "D级危房", "D"),
            (ENROLLMENT, "正常享受待遇", "正常参保"),
            (ENROLLMENT, "参保（享受待遇）", "正常参保"),
            (ENROLLMENT, "有效（未到期）", "正常参保"),
        ] {
            assert_eq!(parse_category(values, raw), Ok(Some(want)), "{raw}");
        }
        // Other categories keep their annotations, whatever words they
        // hold (helper-103's review: each of these was refused for a while).
        let other = |extract: &str, field: &str| match crate::extract::by_name(extract)
            .unwrap()
            .field(field)
            .unwrap()
            .ty
        {
            FieldType::Category(values) => values,
            _ => unreachable!("{field} is a category"),
        };
        for (values, raw, want) in [
            (
                other("education", "aid_type"),
                "家庭经济困难学生生活费补助",
                "生活补助",
            ),
            (other("education", "stage"), "小学（未入学）", "小学"),
            (
                other("medical_enrollment", "scheme"),
                "城乡居民医保（不含大病）",
                "城乡居民医保",
            ),
            (
                other("medical_settlement", "visit_type"),
                "住院（未结算）",
                "住院",
            ),
            (
                other("medical_settlement", "visit_type"),
                "门诊慢特病（待遇）",
                "门诊慢特病",
            ),
            (other("contribution", "employer_type"), "非公企业", "企业"),
            (
                other("contribution", "employer_type"),
                "机关事业单位",
                "事业单位",
            ),
            (other("property", "usage"), "地下停车库", "车位"),
            (other("roster", "disability"), "二级（待复核）", "二级"),
            (other("roster", "category"), "特困（未满16周岁）", "特困"),
        ] {
            assert_eq!(parse_category(values, raw), Ok(Some(want)), "{raw}");
        }
        // A value with a note after it is the value, whatever other value
        // the note names as what it was or goes with; a value written as
        // what was (原, 由) is none the cell gives; another value the cell
        // says it is now, or a note saying it changed, makes it no value
        // (helper-159's audit: each was read as the longer value, a death
        // as 重复参保, a company as a public institution, an orphan as
        // 低保家庭; helper-161's: refusing every cell with two values lost
        // households, enrollments and wages; helper-163's: notes without
        // brackets, and words of change the first rule missed).
        let emp = other("contribution", "employer_type");
        let scheme = other("medical_enrollment", "scheme");
        let hardship = other("education", "hardship");
        let roster = other("roster", "category");
        let usage = other("property", "usage");
        let state = other("property", "state");
        let stage = other("education", "stage");
        let end = other("medical_enrollment", "end_reason");
        let visit = other("medical_settlement", "visit_type");
        for (values, raw, want) in [
            (end, "死亡（重复参保已清理）", "死亡"),
            (emp, "企业（原事业单位改制）", "企业"),
            (emp, "企业（原事业单位，现已改制）", "企业"),
            (emp, "企业原事业单位", "企业"),
            (emp, "企业，原事业单位", "企业"),
            (emp, "企业 原事业单位", "企业"),
            (emp, "企业(挂靠机关)", "企业"),
            (emp, "事业单位（企业化管理）", "事业单位"),
            (emp, "企业化管理事业单位", "事业单位"),
            (emp, "机关事业单位（事业编制）", "事业单位"),
            (emp, "个体工商户（灵活就业人员）", "个体工商户"),
            (hardship, "孤儿（原低保家庭）", "孤儿"),
            (stage, "中职（职业高中）", "中职"),
            (stage, "初中（原小学，现在初一）", "初中"),
            (scheme, "职工医保（原城乡居民医保）", "职工医保"),
            (scheme, "城乡居民医保（职工家属）", "城乡居民医保"),
            (scheme, "城乡居民医保（今年由职工医保转入）", "城乡居民医保"),
            (
                scheme,
                "城乡居民医保（原职工医保，现已停缴）",
                "城乡居民医保",
            ),
            (visit, "门诊慢特病（门诊）", "门诊慢特病"),
            (visit, "住院（原门诊，现已结算）", "住院"),
            (usage, "城镇住宅用地/商业服务", "商业"),
            (usage, "成套住宅（带车库）", "住宅"),
            (usage, "商业（原住宅）", "商业"),
            (state, "现势(注销中)", "现势"),
            (roster, "低收入（原低保）", "低收入"),
            (roster, "农村低保（含特困）", "低保"),
            (roster, "低保 原低收入", "低保"),
            (roster, "低保，原低收入户", "低保"),
            (roster, "低保（原特困，现已调整）", "低保"),
            // Words of change elsewhere in a note, and markers inside other
            // words, say nothing of the other value (helper-164's audit).
            (end, "死亡（重复参保，现已清理）", "死亡"),
            (end, "死亡（转移后死亡）", "死亡"),
            (
                other("education", "aid_type"),
                "生活补助（含营养改善计划）",
                "生活补助",
            ),
            (emp, "事业单位（企业转入）", "事业单位"),
            (emp, "事业单位（从事企业管理）", "事业单位"),
            (emp, "企业，前身为事业单位", "企业"),
            (emp, "企业（改制前为事业单位）", "企业"),
            (visit, "住院（门诊转入）", "住院"),
            (roster, "低收入（今年退出低保）", "低收入"),
            (roster, "低收入（现金收入超低保标准）", "低收入"),
            (GRADE, "D级（原鉴定为C级）", "D"),
            (GRADE, "D级（前次鉴定C级）", "D"),
            (GRADE, "D级（C级，2025年复核）", "D"),
        ] {
            assert_eq!(parse_category(values, raw), Ok(Some(want)), "{raw}");
        }
        for (values, raw) in [
            (hardship, "特困家庭 现孤儿"),
            (emp, "企业（已转为事业单位）"),
            (emp, "事业单位（已改制为企业）"),
            (emp, "事业单位（转企业）"),
            (emp, "事业单位 现为企业"),
            (emp, "个体（现企业）"),
            (scheme, "职工医保（应为城乡居民医保）"),
            (scheme, "城乡居民医保（转职工医保）"),
            (usage, "住宅（已改为商铺）"),
            (state, "现势（已注销）"),
            (state, "有效（2024年已注销）"),
            (stage, "高中（已考入大学）"),
            (stage, "学前（已升小学）"),
            (end, "转出（实际死亡）"),
            (end, "重复参保（已转出）"),
            (visit, "门诊（转住院）"),
            (roster, "低收入（2025年转低保）"),
            (roster, "低收入（已纳入低保）"),
            (roster, "低收入 现为低保"),
            (roster, "低收入/现低保"),
            (roster, "特困（现低收入）"),
            (roster, "低保（目前低收入）"),
            (roster, "低收入（当前低保）"),
            (emp, "事业单位（目前企业）"),
        ] {
            let got = parse_category(values, raw);
            assert!(
                matches!(&got, Err(("bad_category", why)) if why.contains("不能确定")),
                "{raw}: {got:?}"
            );
        }
    }

    /// Rows read down their columns by a [`PieceParse`] come out as
    /// parsed one by one: values met before (side by side or apart),
    /// warnings, rejects and the first row's own text, rows too short or
    /// too long for the header among them, and an ID number born after the
    /// as-of date bad; a field whose texts never repeat stops being
    /// remembered after a window and still reads each row.
    #[test]
    fn a_piece_read_down_its_columns_reads_each_row_as_alone() {
        let def = crate::extract::by_name("medical_settlement").unwrap();
        let map = template_map(def, &[]);
        // A settlement row (its number is each row's own, below), and the
        // cells each variant changes in it.
        let base = SETTLEMENT;
        let edits: [&[(usize, &str)]; 6] = [
            &[],
            &[
                (1, "張三"),
                (2, "110101199003071234 "),
                (3, "门诊"),
                (4, "2025/3/1"),
                (6, ""),
                (7, "1,234.505"),
                (9, "-"),
                (10, ""),
            ],
            // An unreadable date and amount: rejected.
            &[
                (1, "李四"),
                (2, "11010119900307123x"),
                (4, "2025-13-01"),
                (7, "二十"),
            ],
            // An unreadable optional category and an ID in Excel's form.
            &[
                (1, "王五（曾用名王武）"),
                (2, "1.10101E+17"),
                (3, "急诊？"),
                (4, "45717"),
                (5, "乡镇卫生院"),
                (6, "J18 肺炎"),
                (7, "0.12万"),
                (8, "100"),
                (9, "60"),
                (10, "10"),
                (11, "5"),
                (12, "25"),
            ],
            // No name, no ID: kept or rejected as the extract says.
            &[(1, ""), (2, "")],
            &[(4, "")],
        ];
        let variants = edits.map(|edit| {
            let mut cells = base;
            for &(c, cell) in edit {
                cells[c] = cell;
            }
            cells
        });
        // Each variant in runs and apart, each row with a settlement
        // number of its own: 3 × 1,200 rows, past the memo's window.
        // Every 97th row a cell short (rejected), every 89th one long by a
        // value (rejected) or, every 83rd, by an empty cell (read); every
        // 7th born after the as-of date.
        let rows: Vec<RawRow> = (0..3600)
            .map(|i| {
                let number = format!("S{i}");
                let mut cells = variants[(i / 3 + i % 2) % variants.len()].to_vec();
                cells[0] = &number;
                if i % 7 == 0 && cells[2] == base[2] {
                    cells[2] = "110101203003071232";
                }
                if i % 97 == 0 {
                    cells.pop();
                } else if i % 89 == 0 {
                    cells.push("多");
                } else if i % 83 == 0 {
                    cells.push("");
                }
                raw_row(&cells)
            })
            .collect();
        let as_of = NaiveDate::from_ymd_opt(2025, 11, 30).unwrap();
        let piece = PieceParse::new(def, &map, &rows, as_of);
        let (mut values, mut warnings) = (Vec::new(), Vec::new());
        let (mut rejected, mut late) = (0, 0);
        for (r, row) in rows.iter().enumerate() {
            let mut alone = parse_row(def, &map, row);
            if let Ok(p) = &mut alone {
                for v in &mut p.values {
                    if let Value::Id { id, .. } = v {
                        late += usize::from(id.status.is_linkable());
                        id.born_by(as_of);
                        late -= usize::from(id.status.is_linkable());
                    }
                }
            }
            let read = piece
                .row(r, &mut values, &mut warnings)
                .map(|()| ParsedRow {
                    values: values.iter().map(|&v| v.clone()).collect(),
                    warnings: warnings.clone(),
                });
            assert_eq!(read, alone, "row {r} {:?}", row.fields);
            rejected += usize::from(read.is_err());
        }
        assert!(rejected > 0 && rejected < rows.len());
        assert!(late > 0, "some IDs are born after the as-of date");
        assert!(piece.whole.len() > 60, "rows short and long are read whole");
        let settlement = def.fields.iter().position(|f| f.field == "settlement_id");
        let name = def.fields.iter().position(|f| f.field == "name");
        assert!(
            piece.columns[settlement.unwrap()].off,
            "unique numbers are not remembered"
        );
        assert!(!piece.columns[name.unwrap()].off, "repeated names are");
    }

    /// A formula left in a cell without its result (`=300*3`) is no value of
    /// a date, amount, month or category: said as a formula (the row
    /// rejected where the value is required); text keeps it as written.
    #[test]
    fn a_formula_is_no_value() {
        assert_eq!(settlement_row("统筹基金支付", "=300*3"), Err("formula"));
        assert_eq!(
            settlement_row("结算日期", " =DATE(2025,3,1)"),
            Err("formula")
        );
        // Text is no value either: a household or settlement number `=` (a
        // shared formula's later cells) would make one record of many.
        assert_eq!(settlement_row("结算编号", "="), Err("formula"));
        assert_eq!(
            settlement_row("医疗机构", "=B2&C2"),
            Ok(vec![FieldWarning {
                code: "formula",
                field: "hospital"
            }])
        );
        // A CSV's formula guard is the text inside it.
        assert_eq!(settlement_row("结算日期", "=\"2025-03-01\""), Ok(vec![]));
        assert_eq!(settlement_row("结算编号", " =\"0012\" "), Ok(vec![]));
    }

    /// Excel's text prefix before a date, an amount or a month is no part
    /// of the value.
    #[test]
    fn an_apostrophe_before_a_date_or_an_amount_is_excel_s_prefix() {
        let def = crate::extract::by_name("pension").unwrap();
        let map = template_map(def, &[]);
        let row = raw_row(&["张三", "110101199003071234", "'202510", " '1,200.50"]);
        let parsed = parse_row(def, &map, &row).expect("parses");
        assert_eq!(parsed.values[2], Value::Period(Some(202510)));
        assert_eq!(parsed.values[3], Value::Money(Some(120_050)));
        assert!(parsed.warnings.is_empty());
        let row = raw_row(&["张三", "110101199003071234", "202510", "'1200.505"]);
        let parsed = parse_row(def, &map, &row).expect("parses");
        assert_eq!(parsed.values[3], Value::Money(Some(120_051)));
        assert_eq!(parsed.warnings[0].code, "money_rounded");
        assert_eq!(settlement_row("结算日期", "'2025-03-01"), Ok(vec![]));
    }
}
