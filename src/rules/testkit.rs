//! Test tables for the rules: each table of the input contract with all its
//! columns, built row by row from (column, value) pairs with the rest
//! defaulted (`_file` t.csv, `_row` from the position, `_dup`/`_superseded`
//! false, `person_method` exact, everything else null), and registered in a
//! fresh SessionContext.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, StringArray,
    UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;

use super::{Finding, RuleParams};

/// A cell value; its column's type decides how it is read (dates as
/// `YYYY-MM-DD` text, money as integer fen).
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    S(String),
    I(i64),
    F(f64),
    B(bool),
}

impl From<&str> for V {
    fn from(s: &str) -> V {
        V::S(s.to_string())
    }
}
impl From<i64> for V {
    fn from(i: i64) -> V {
        V::I(i)
    }
}
impl From<f64> for V {
    fn from(f: f64) -> V {
        V::F(f)
    }
}
impl From<bool> for V {
    fn from(b: bool) -> V {
        V::B(b)
    }
}

use DataType::{Boolean, Date32, Float64, Int32, Int64, UInt64, Utf8};

fn columns(table: &str) -> Vec<(&'static str, DataType)> {
    let mut cols = vec![
        ("_file", Utf8),
        ("_row", Utf8),
        ("_ord", UInt64),
        ("_dup", Boolean),
        ("_superseded", Boolean),
        ("person_id", Utf8),
        ("person_method", Utf8),
        ("name", Utf8),
    ];
    let own: Vec<(&'static str, DataType)> = match table {
        "roster" => vec![
            ("household_id", Utf8),
            ("category", Utf8),
            ("township", Utf8),
            ("village", Utf8),
            ("head_name", Utf8),
            ("head_id", Utf8),
            ("head_person_id", Utf8),
            ("id_number", Utf8),
            ("relation", Utf8),
            ("household_size", Int64),
            ("monthly_benefit", Int64),
            ("start_date", Date32),
            ("declared_income", Int64),
            ("disability", Utf8),
        ],
        "education" => vec![
            ("birth_date", Date32),
            ("school", Utf8),
            ("stage", Utf8),
            ("aid_type", Utf8),
            ("aid_amount", Int64),
            ("hardship", Utf8),
            ("guardian_name", Utf8),
            ("guardian_id_status", Utf8),
            ("guardian_person_id", Utf8),
            ("school_year", Utf8),
        ],
        "medical_enrollment" => vec![
            ("scheme", Utf8),
            ("status", Utf8),
            ("end_reason", Utf8),
            ("end_date", Date32),
        ],
        "medical_settlement" => vec![
            ("settlement_id", Utf8),
            ("visit_type", Utf8),
            ("settle_date", Date32),
            ("total_cost", Int64),
            ("eligible_cost", Int64),
            ("fund_paid", Int64),
            ("critical_paid", Int64),
            ("assistance_paid", Int64),
            ("out_of_pocket", Int64),
        ],
        "property" => vec![
            ("unit_id", Utf8),
            ("usage", Utf8),
            ("area", Float64),
            ("reg_date", Date32),
            ("state", Utf8),
        ],
        "housing_safety" => vec![
            ("township", Utf8),
            ("village", Utf8),
            ("grade", Utf8),
            ("assess_date", Date32),
            ("renovation", Utf8),
        ],
        "contribution" => vec![
            ("employer", Utf8),
            ("employer_type", Utf8),
            ("period", Int32),
            ("wage_base", Int64),
        ],
        "unemployment" => vec![("reg_date", Date32), ("status", Utf8)],
        "pension" => vec![("period", Int32), ("amount", Int64)],
        other => panic!("no table {other} in the input contract"),
    };
    cols.extend(own);
    cols
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date YYYY-MM-DD")
}

/// A table under construction.
pub struct Table {
    name: &'static str,
    rows: Vec<HashMap<&'static str, V>>,
}

pub type Cells = Vec<(&'static str, V)>;

impl Table {
    pub fn new(name: &'static str) -> Table {
        Table {
            name,
            rows: Vec::new(),
        }
    }

    /// Adds a row; later pairs override earlier ones.
    pub fn row(mut self, cells: Cells) -> Table {
        let position = self.rows.len();
        let mut row: HashMap<&'static str, V> = HashMap::new();
        row.insert("_file", V::S(format!("{}.csv", self.name)));
        row.insert("_row", V::S((position + 2).to_string()));
        row.insert("_ord", V::I(position as i64));
        row.insert("_dup", V::B(false));
        row.insert("_superseded", V::B(false));
        row.insert("person_method", "exact".into());
        for (column, value) in cells {
            row.insert(column, value);
        }
        self.rows.push(row);
        self
    }

    pub fn batch(&self) -> RecordBatch {
        let cols = columns(self.name);
        for row in &self.rows {
            for key in row.keys() {
                assert!(
                    cols.iter().any(|(c, _)| c == key),
                    "{}: no column {key}",
                    self.name
                );
            }
        }
        let fields: Vec<Field> = cols
            .iter()
            .map(|(c, t)| Field::new(*c, t.clone(), true))
            .collect();
        let arrays: Vec<ArrayRef> = cols
            .iter()
            .map(|(c, t)| {
                let cells: Vec<&V> = self
                    .rows
                    .iter()
                    .map(|r| r.get(c).unwrap_or(&V::Null))
                    .collect();
                array(c, t, &cells)
            })
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("test batch")
    }

    pub fn register(self, ctx: &SessionContext) {
        ctx.register_batch(self.name, self.batch())
            .expect("register test table");
    }
}

fn array(column: &str, data_type: &DataType, cells: &[&V]) -> ArrayRef {
    let bad = |v: &V| -> ! { panic!("column {column} ({data_type}): bad value {v:?}") };
    match data_type {
        Utf8 => Arc::new(StringArray::from(
            cells
                .iter()
                .map(|v| match v {
                    V::Null => None,
                    V::S(s) => Some(s.clone()),
                    other => bad(other),
                })
                .collect::<Vec<_>>(),
        )),
        Int64 => Arc::new(Int64Array::from(
            cells
                .iter()
                .map(|v| match v {
                    V::Null => None,
                    V::I(i) => Some(*i),
                    other => bad(other),
                })
                .collect::<Vec<_>>(),
        )),
        Int32 => Arc::new(Int32Array::from(
            cells
                .iter()
                .map(|v| match v {
                    V::Null => None,
                    V::I(i) => Some(i32::try_from(*i).expect("Int32 value")),
                    other => bad(other),
                })
                .collect::<Vec<_>>(),
        )),
        UInt64 => Arc::new(UInt64Array::from(
            cells
                .iter()
                .map(|v| match v {
                    V::Null => None,
                    V::I(i) => Some(u64::try_from(*i).expect("UInt64 value")),
                    other => bad(other),
                })
                .collect::<Vec<_>>(),
        )),
        Float64 => Arc::new(Float64Array::from(
            cells
                .iter()
                .map(|v| match v {
                    V::Null => None,
                    V::F(f) => Some(*f),
                    V::I(i) => Some(*i as f64),
                    other => bad(other),
                })
                .collect::<Vec<_>>(),
        )),
        Boolean => Arc::new(BooleanArray::from(
            cells
                .iter()
                .map(|v| match v {
                    V::Null => None,
                    V::B(b) => Some(*b),
                    other => bad(other),
                })
                .collect::<Vec<_>>(),
        )),
        Date32 => {
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
            Arc::new(Date32Array::from(
                cells
                    .iter()
                    .map(|v| match v {
                        V::Null => None,
                        V::S(s) => Some((date(s) - epoch).num_days() as i32),
                        other => bad(other),
                    })
                    .collect::<Vec<_>>(),
            ))
        }
        other => panic!("column {column}: no test support for {other}"),
    }
}

/// The test as-of date, 2025-11-30: window (2024-11-30, 2025-11-30], months
/// 202412..=202511, school year 2025-2026.
pub fn params() -> RuleParams {
    RuleParams {
        as_of: date("2025-11-30"),
        ..RuleParams::default()
    }
}

/// A roster member row: household, category, township, person; head is the
/// person itself unless overridden.
pub fn member(household: &str, category: &str, person: &str, name: &str) -> Cells {
    vec![
        ("household_id", household.into()),
        ("category", category.into()),
        ("township", "城关镇".into()),
        ("village", "东街社区".into()),
        ("head_name", name.into()),
        ("head_id", person.into()),
        ("head_person_id", person.into()),
        ("id_number", person.into()),
        ("person_id", person.into()),
        ("name", name.into()),
        ("relation", "本人".into()),
        ("monthly_benefit", V::I(60_000)),
        ("start_date", "2020-01-01".into()),
    ]
}

/// `cells` with `overrides` applied on top.
pub fn with(mut cells: Cells, overrides: Cells) -> Cells {
    cells.extend(overrides);
    cells
}

pub fn contribution(person: &str, period: i64, employer_type: &str, wage_fen: i64) -> Cells {
    vec![
        ("person_id", person.into()),
        ("employer", format!("{employer_type}单位").as_str().into()),
        ("employer_type", employer_type.into()),
        ("period", V::I(period)),
        ("wage_base", V::I(wage_fen)),
    ]
}

pub fn pension(person: &str, period: i64, amount_fen: i64) -> Cells {
    vec![
        ("person_id", person.into()),
        ("period", V::I(period)),
        ("amount", V::I(amount_fen)),
    ]
}

/// An empty table, registered so that a rule needing it can run.
pub fn empty(ctx: &SessionContext, name: &'static str) {
    Table::new(name).register(ctx);
}

/// The (household_id, id_number) of each finding.
pub fn subjects(findings: &[Finding]) -> Vec<(Option<&str>, Option<&str>)> {
    findings
        .iter()
        .map(|f| (f.household_id.as_deref(), f.id_number.as_deref()))
        .collect()
}

pub const P1: &str = "110101199001010011";
pub const P2: &str = "110101199202020022";
pub const P3: &str = "110101199303030033";
pub const P4: &str = "110101201505050044";
pub const P5: &str = "11010119600606005X";
