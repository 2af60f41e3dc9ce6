//! From a file's raw rows to a typed Arrow table: every row below the header
//! is accepted (normalised), rejected (with a reason code and the Chinese
//! reason) or was skipped by the reader; exact duplicates and key conflicts
//! are marked, not dropped.
//!
//! Column contract of an extract table (what the resolve and rule stages read):
//! - `_file` (Utf8), `_row` (Utf8, the row a person sees), `_ord` (UInt64,
//!   unique and increasing in file order), `_dup` (Boolean: an exact
//!   duplicate of an earlier row of the same file), `_superseded` (Boolean: a
//!   later row of the same record key differs, so this one is not used).
//! - ID field `F`: `F` (normalised 18 characters when the status is valid,
//!   upgraded15 or bad_check, else null), `F_raw`, `F_status`.
//! - name field `N`: `N` (normalised, null when empty), `N_raw`, `N_alias`,
//!   `N_pinyin`.
//! - dates Date32, money Int64 fen, periods Int32 `YYYYMM`, integers Int64,
//!   decimals Float64, text and categories Utf8 (categories canonical).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, Int64Builder,
    StringBuilder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
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
pub enum Value {
    Text(Option<String>),
    Id { raw: String, id: NormalizedId },
    Name { raw: String, name: NormalizedName },
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
pub struct ParsedRow {
    pub values: Vec<Value>,
    pub warnings: Vec<FieldWarning>,
}

/// Parses one data row against a header map.
pub fn parse_row(def: &ExtractDef, map: &HeaderMap, row: &RawRow) -> Result<ParsedRow, Reject> {
    let fields = &row.fields;
    if fields.len() < map.width
        || fields[map.width..]
            .iter()
            .any(|extra| !extra.trim().is_empty())
    {
        return Err(Reject {
            code: "field_count",
            reason: format!(
                "字段数与表头不符：表头 {} 列，本行 {} 列",
                map.width,
                fields.len()
            ),
        });
    }
    let mut values = Vec::with_capacity(def.fields.len());
    let mut problems: Vec<(&'static str, String)> = Vec::new();
    let mut warnings = Vec::new();
    for (f, col) in def.fields.iter().zip(&map.columns) {
        let raw = col.map(|c| fields[c].as_str()).unwrap_or("");
        match parse_value(f, raw) {
            Ok(v) => {
                // An amount written `-` or left empty is null (Excel shows a
                // zero as `-`): parsed, so never a reject; only an amount that
                // cannot be read is.
                if f.value_required && is_null(&v) && f.ty != FieldType::Money {
                    problems.push(("missing_value", format!("必填字段「{}」为空", f.header)));
                }
                values.push(v);
            }
            Err((code, message)) if f.value_required => {
                problems.push((code, format!("「{}」{}", f.header, message)));
                values.push(null_of(f.ty));
            }
            Err((code, _)) => {
                warnings.push(FieldWarning {
                    code,
                    field: f.field,
                });
                values.push(null_of(f.ty));
            }
        }
    }
    match problems.first() {
        None => Ok(ParsedRow { values, warnings }),
        Some((code, _)) => Err(Reject {
            code,
            reason: problems
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join("；"),
        }),
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

fn null_of(ty: FieldType) -> Value {
    match ty {
        FieldType::Text | FieldType::SchoolYear => Value::Text(None),
        FieldType::Id => Value::Id {
            raw: String::new(),
            id: normalize_id(""),
        },
        FieldType::Name => Value::Name {
            raw: String::new(),
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

/// Parses one cell; the error is a stable code and a Chinese message that
/// does not repeat the value.
fn parse_value(f: &FieldDef, raw: &str) -> Result<Value, (&'static str, String)> {
    let value_err = |e: crate::normalize::ValueError| (e.code, e.message);
    Ok(match f.ty {
        FieldType::Text => {
            let t = raw.trim();
            Value::Text((!t.is_empty()).then(|| t.to_string()))
        }
        FieldType::Id => Value::Id {
            raw: raw.to_string(),
            id: normalize_id(raw),
        },
        FieldType::Name => Value::Name {
            raw: raw.to_string(),
            name: normalize_name(raw),
        },
        FieldType::Date => Value::Date(date::parse_date(raw).map_err(value_err)?),
        FieldType::Money => Value::Money(money::parse_money(raw).map_err(value_err)?),
        FieldType::Decimal => Value::Decimal(money::parse_decimal(raw).map_err(value_err)?),
        FieldType::Integer => Value::Integer(money::parse_integer(raw).map_err(value_err)?),
        FieldType::Period => Value::Period(date::parse_period(raw).map_err(value_err)?),
        FieldType::SchoolYear => Value::Text(date::parse_school_year(raw).map_err(value_err)?),
        FieldType::Category(values) => Value::Category(parse_category(values, raw)?),
    })
}

/// The canonical value a spelling stands for; empty is null.
fn parse_category(
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
    let matches = |s: &str| {
        values
            .iter()
            .find(|(c, a)| *c == s || a.contains(&s))
            .map(|(c, _)| *c)
    };
    if let Some(c) = matches(trimmed) {
        return Ok(Some(c));
    }
    let key: String = trimmed
        .nfkc()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if let Some(c) = matches(&key) {
        return Ok(Some(c));
    }
    if key == "-" || key == "/" || key == "—" {
        return Ok(None);
    }
    if let Some(c) = contained_category(values, &key)? {
        return Ok(Some(c));
    }
    Err(allowed())
}

/// The longest cell [`parse_category`] looks into.
const MAX_CATEGORY_BYTES: usize = 256;

/// A longer spelling that holds one of the category's values or spellings
/// (`D级危房` → D, `特困供养人员` → 特困, `已终止参保` → 终止): the longest
/// contained spelling of two characters or more decides; a tie between two
/// values is an error, not a guess.
fn contained_category(
    values: &'static [(&'static str, &'static [&'static str])],
    key: &str,
) -> Result<Option<&'static str>, (&'static str, String)> {
    let mut best: Option<(usize, &'static str)> = None;
    let mut tied = false;
    for (canonical, aliases) in values {
        for spelling in std::iter::once(canonical).chain(aliases.iter()) {
            let len = spelling.chars().count();
            if len < 2 || !key.contains(spelling) {
                continue;
            }
            match best {
                Some((l, c)) if l > len || (l == len && c == *canonical) => {}
                Some((l, _)) if l == len => tied = true,
                _ => {
                    best = Some((len, canonical));
                    tied = false;
                }
            }
        }
    }
    if tied {
        return Err(("bad_category", "取值含义不明确".to_string()));
    }
    Ok(best.map(|(_, c)| c))
}

/// Accepted rows of every file of one extract, in file order, with their
/// origin; turned into one Arrow table by [`build_batch`].
#[derive(Debug, Default)]
pub struct ExtractRows {
    pub files: Vec<String>,
    /// (file index, display row, duplicate?, row)
    pub rows: Vec<(u32, String, bool, ParsedRow)>,
}

impl ExtractRows {
    /// Record-key conflicts: marks every row that a later, different row of
    /// the same key replaces, and returns how many conflicts each file holds
    /// (counted on the later row's file). The roster has none: a second row
    /// for the same member is CB05.
    pub fn superseded(&self, def: &ExtractDef) -> (Vec<bool>, BTreeMap<u32, u64>) {
        let mut superseded = vec![false; self.rows.len()];
        let mut conflicts: BTreeMap<u32, u64> = BTreeMap::new();
        if def.is_roster() {
            return (superseded, conflicts);
        }
        let key_idx = |names: &[&str]| -> Vec<usize> {
            names
                .iter()
                .filter_map(|k| def.fields.iter().position(|f| f.field == *k))
                .collect()
        };
        let primary = key_idx(def.key);
        let fallback = key_idx(def.key_fallback);
        let mut last: HashMap<String, usize> = HashMap::with_capacity(self.rows.len());
        for (i, (file, _, dup, row)) in self.rows.iter().enumerate() {
            if *dup {
                continue;
            }
            let key = record_key(&row.values, &primary).or_else(|| {
                (!fallback.is_empty())
                    .then(|| record_key(&row.values, &fallback))
                    .flatten()
            });
            let Some(key) = key else { continue };
            if let Some(prev) = last.insert(key, i) {
                superseded[prev] = true;
                *conflicts.entry(*file).or_default() += 1;
            }
        }
        (superseded, conflicts)
    }
}

/// The text form of a row's key, its parts joined by a unit separator;
/// `None` when a part is missing (such rows have no identity to conflict on).
fn record_key(values: &[Value], idx: &[usize]) -> Option<String> {
    use std::fmt::Write as _;
    let mut key = String::new();
    for &i in idx {
        match &values[i] {
            Value::Text(t) => key.push_str(t.as_deref().unwrap_or_default()),
            Value::Id { id, .. } => key.push_str(id.value.as_deref()?),
            Value::Name { name, .. } if !name.name.is_empty() => key.push_str(&name.name),
            Value::Date(Some(d)) => {
                let _ = write!(key, "{d}");
            }
            Value::Period(Some(p)) => {
                let _ = write!(key, "{p}");
            }
            Value::Money(Some(m)) | Value::Integer(Some(m)) => {
                let _ = write!(key, "{m}");
            }
            Value::Category(c) => key.push_str(c.unwrap_or_default()),
            _ => return None,
        }
        key.push('\u{1f}');
    }
    Some(key)
}

/// Finds exact duplicates among a file's data rows: rows whose decoded
/// values, field by field, equal an earlier row's. One finder spans a file's
/// sections (a row copied into a second sheet is a duplicate too; column
/// order may differ between sheets). Rows are bucketed by a hash and
/// compared in full, so a collision never makes a duplicate.
#[derive(Default)]
pub struct DuplicateFinder<'a> {
    buckets: HashMap<u64, Vec<(&'a HeaderMap, &'a RawRow)>>,
}

fn mapped_values<'r>(map: &'r HeaderMap, row: &'r RawRow) -> impl Iterator<Item = &'r str> + 'r {
    map.columns
        .iter()
        .map(|c| c.and_then(|i| row.fields.get(i)).map_or("", String::as_str))
}

impl<'a> DuplicateFinder<'a> {
    /// For each row of a section: is it a duplicate of an earlier row?
    pub fn mark(&mut self, map: &'a HeaderMap, rows: &'a [RawRow]) -> Vec<bool> {
        rows.iter()
            .map(|row| {
                let mut h = std::hash::DefaultHasher::new();
                for v in mapped_values(map, row) {
                    std::hash::Hash::hash(v, &mut h);
                }
                let bucket = self
                    .buckets
                    .entry(std::hash::Hasher::finish(&h))
                    .or_default();
                let dup = bucket
                    .iter()
                    .any(|(m, r)| mapped_values(m, r).eq(mapped_values(map, row)));
                if !dup {
                    bucket.push((map, row));
                }
                dup
            })
            .collect()
    }
}

/// Parses a section's rows in parallel, keeping file order.
pub fn parse_rows(
    def: &ExtractDef,
    map: &HeaderMap,
    rows: &[RawRow],
) -> Vec<Result<ParsedRow, Reject>> {
    rows.par_iter().map(|r| parse_row(def, map, r)).collect()
}

/// The Arrow schema of an extract table (see the module documentation).
pub fn schema(def: &ExtractDef) -> SchemaRef {
    let mut fields = vec![
        Field::new("_file", DataType::Utf8, false),
        Field::new("_row", DataType::Utf8, false),
        Field::new("_ord", DataType::UInt64, false),
        Field::new("_dup", DataType::Boolean, false),
        Field::new("_superseded", DataType::Boolean, false),
    ];
    for f in def.fields {
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
                fields.push(Field::new(format!("{name}_alias"), DataType::Utf8, true));
                fields.push(Field::new(format!("{name}_pinyin"), DataType::Utf8, true));
            }
            FieldType::Text | FieldType::SchoolYear | FieldType::Category(_) => {
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

/// Builds the extract's Arrow table from its accepted rows.
/// `superseded` is [`ExtractRows::superseded`]'s first half.
pub fn build_batch(
    def: &ExtractDef,
    rows: &ExtractRows,
    superseded: &[bool],
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let n = rows.rows.len();
    let mut file = StringBuilder::with_capacity(n, n * 16);
    let mut row_no = StringBuilder::with_capacity(n, n * 4);
    let mut ord = UInt64Builder::with_capacity(n);
    let mut dup = BooleanBuilder::with_capacity(n);
    let mut sup = BooleanBuilder::with_capacity(n);
    let mut seq_in_file: HashMap<u32, u64> = HashMap::new();
    for (i, (f, r, d, _)) in rows.rows.iter().enumerate() {
        file.append_value(&rows.files[*f as usize]);
        row_no.append_value(r);
        let seq = seq_in_file.entry(*f).or_default();
        ord.append_value((u64::from(*f) << 32) | *seq);
        *seq += 1;
        dup.append_value(*d);
        sup.append_value(superseded[i]);
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(file.finish()),
        Arc::new(row_no.finish()),
        Arc::new(ord.finish()),
        Arc::new(dup.finish()),
        Arc::new(sup.finish()),
    ];
    for (fi, f) in def.fields.iter().enumerate() {
        let values = rows.rows.iter().map(|(_, _, _, r)| &r.values[fi]);
        match f.ty {
            FieldType::Id => {
                let (mut v, mut raw, mut status) = (
                    StringBuilder::new(),
                    StringBuilder::new(),
                    StringBuilder::new(),
                );
                for value in values {
                    if let Value::Id { raw: r, id } = value {
                        v.append_option(id.value.as_deref());
                        raw.append_value(r);
                        status.append_value(id.status.as_str());
                    }
                }
                columns.push(Arc::new(v.finish()));
                columns.push(Arc::new(raw.finish()));
                columns.push(Arc::new(status.finish()));
            }
            FieldType::Name => {
                let mut b: [StringBuilder; 4] = Default::default();
                for value in values {
                    if let Value::Name { raw, name } = value {
                        b[0].append_option(opt_str(&name.name));
                        b[1].append_value(raw);
                        b[2].append_option(name.alias.as_deref());
                        b[3].append_option(opt_str(&name.pinyin));
                    }
                }
                for mut builder in b {
                    columns.push(Arc::new(builder.finish()));
                }
            }
            FieldType::Text | FieldType::SchoolYear => {
                let mut b = StringBuilder::new();
                for value in values {
                    b.append_option(match value {
                        Value::Text(t) => t.as_deref(),
                        _ => None,
                    });
                }
                columns.push(Arc::new(b.finish()));
            }
            FieldType::Category(_) => {
                let mut b = StringBuilder::new();
                for value in values {
                    b.append_option(match value {
                        Value::Category(c) => *c,
                        _ => None,
                    });
                }
                columns.push(Arc::new(b.finish()));
            }
            FieldType::Date => {
                let mut b = Date32Builder::with_capacity(n);
                for value in values {
                    b.append_option(match value {
                        Value::Date(d) => d.map(days_since_epoch),
                        _ => None,
                    });
                }
                columns.push(Arc::new(b.finish()));
            }
            FieldType::Money | FieldType::Integer => {
                let mut b = Int64Builder::with_capacity(n);
                for value in values {
                    b.append_option(match value {
                        Value::Money(m) | Value::Integer(m) => *m,
                        _ => None,
                    });
                }
                columns.push(Arc::new(b.finish()));
            }
            FieldType::Decimal => {
                let mut b = Float64Builder::with_capacity(n);
                for value in values {
                    b.append_option(match value {
                        Value::Decimal(d) => *d,
                        _ => None,
                    });
                }
                columns.push(Arc::new(b.finish()));
            }
            FieldType::Period => {
                let mut b = Int32Builder::with_capacity(n);
                for value in values {
                    b.append_option(match value {
                        Value::Period(p) => p.and_then(|p| i32::try_from(p).ok()),
                        _ => None,
                    });
                }
                columns.push(Arc::new(b.finish()));
            }
        }
    }
    RecordBatch::try_new(schema(def), columns)
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

    const GRADE: &[(&str, &[&str])] = &[("C", &["C级"]), ("D", &["D级"])];
    const STATUS: &[(&str, &[&str])] = &[
        ("正常参保", &["参保", "正常"]),
        ("终止", &["终止参保", "停保"]),
    ];

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
    }
}
