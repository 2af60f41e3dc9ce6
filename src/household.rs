//! The roster's household values that a household's rows disagree on.
//!
//! 救助类别, 保障人数, 月保障金, 申报家庭月收入, 认定日期, 乡镇, 村 and the head
//! are one per household, repeated on each member row. The rules take one
//! row's value for the household (the rules' `households` block: the first
//! row that gives a category, each value it leaves empty from the first row
//! that gives it, and the largest 保障人数). When another row gives a
//! different value, which is right hedui cannot tell, and which row comes
//! first decides which of CB01 and DQ05 fire: each such row is a warning on
//! its cell (`household_conflict`), naming the row whose value the
//! household took, for staff to correct.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type, UInt64Type};
use datafusion::prelude::SessionContext;

use crate::normalize::money::format_fen;

/// The warning's reason code.
pub const CODE: &str = "household_conflict";

/// How the household takes a value from its rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Taken {
    /// The row that gives the household its category (the first that gives
    /// one, else its first row), else the first row that gives the value.
    FirstRow,
    /// The largest (保障人数: a row that counts fewer persons leaves some
    /// out).
    Largest,
}

/// A household value: its field, its header, how the household takes it,
/// and the query's expressions for the value compared and the value shown.
struct Checked {
    field: &'static str,
    header: &'static str,
    taken: Taken,
    /// Compared: the value as read (a name normalised, a head by the person
    /// his ID resolved to).
    key: &'static str,
    /// Shown in warnings.csv: the cell as written where the table keeps it,
    /// else the value as read.
    shown: &'static str,
    money: bool,
}

const CHECKED: &[Checked] = &[
    Checked {
        field: "category",
        header: "救助类别",
        taken: Taken::FirstRow,
        key: "category",
        shown: "category",
        money: false,
    },
    Checked {
        field: "township",
        header: "乡镇（街道）",
        taken: Taken::FirstRow,
        key: "township",
        shown: "township",
        money: false,
    },
    Checked {
        field: "village",
        header: "村（社区）",
        taken: Taken::FirstRow,
        key: "village",
        shown: "village",
        money: false,
    },
    Checked {
        field: "head_name",
        header: "户主姓名",
        taken: Taken::FirstRow,
        key: "head_name",
        shown: "head_name_raw",
        money: false,
    },
    Checked {
        field: "head_id",
        header: "户主身份证号",
        taken: Taken::FirstRow,
        key: "head_person_id",
        shown: "head_id_raw",
        money: false,
    },
    Checked {
        field: "household_size",
        header: "保障人数",
        taken: Taken::Largest,
        key: "household_size",
        shown: "household_size",
        money: false,
    },
    Checked {
        field: "monthly_benefit",
        header: "月保障金（元）",
        taken: Taken::FirstRow,
        key: "monthly_benefit",
        shown: "monthly_benefit",
        money: true,
    },
    Checked {
        field: "start_date",
        header: "认定日期",
        taken: Taken::FirstRow,
        key: "start_date",
        shown: "start_date",
        money: false,
    },
    Checked {
        field: "declared_income",
        header: "申报家庭月收入（元）",
        taken: Taken::FirstRow,
        key: "declared_income",
        shown: "declared_income",
        money: true,
    },
];

/// A roster row's cell that disagrees with the value its household took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The row's `_ord`.
    pub ord: u64,
    pub file: String,
    /// The row as people see it (`_row`).
    pub row: String,
    pub field: &'static str,
    pub header: &'static str,
    /// The row's value (see [`Checked::shown`]).
    pub value: String,
    /// Where the household's value is from.
    pub taken_file: String,
    pub taken_row: String,
}

impl Conflict {
    /// Why, in Chinese: the row the household's value is from.
    pub fn reason(&self) -> String {
        let file = if self.taken_file == self.file {
            String::new()
        } else {
            format!("文件「{}」", self.taken_file)
        };
        let row = match self.taken_row.rsplit_once('!') {
            Some((sheet, row)) => format!("工作表「{sheet}」第 {row} 行"),
            None => format!("第 {} 行", self.taken_row),
        };
        format!(
            "「{}」与同户其他行不一致，本户按{file}{row}的值处理",
            self.header
        )
    }
}

/// One roster row as the check sees it: its household, place, and each
/// checked value (compared, shown), in [`CHECKED`]'s order.
#[derive(Clone, Debug, Default)]
struct Row {
    household: String,
    ord: u64,
    file: String,
    row: String,
    has_category: bool,
    values: Vec<Option<(Value, String)>>,
}

/// A value compared: text, or a number (保障人数 is taken by size).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    Number(i64),
    Text(String),
}

/// Every roster row value that disagrees with the value its household
/// took, in row order (`_ord`) and then [`CHECKED`]'s order.
pub async fn conflicts(ctx: &SessionContext) -> datafusion::error::Result<Vec<Conflict>> {
    let columns: Vec<String> = CHECKED
        .iter()
        .enumerate()
        .map(|(n, c)| format!("\"{}\" AS k{n}, \"{}\" AS s{n}", c.key, c.shown))
        .collect();
    // Only households with two values of a field (its least and greatest
    // differ) are read: nearly none.
    let split: Vec<String> = CHECKED
        .iter()
        .map(|c| format!("MIN(\"{0}\") <> MAX(\"{0}\")", c.key))
        .collect();
    let sql = format!(
        "SELECT household_id, _ord, CAST(_file AS VARCHAR) AS file, _row, {} \
         FROM roster WHERE NOT _dup AND NOT _superseded AND household_id IN ( \
           SELECT household_id FROM roster WHERE NOT _dup AND NOT _superseded \
           GROUP BY household_id HAVING {}) \
         ORDER BY household_id, _ord",
        columns.join(", "),
        split.join(" OR ")
    );
    let batches = ctx.sql(&sql).await?.collect().await?;
    let mut rows = Vec::new();
    for batch in &batches {
        rows.extend(rows_of(batch)?);
    }
    let mut found = Vec::new();
    for household in rows.chunk_by(|a, b| a.household == b.household) {
        found.extend(conflicts_in(household));
    }
    found.sort_by_key(|c| c.ord);
    Ok(found)
}

/// The rows of a batch of [`conflicts`]' query.
fn rows_of(batch: &RecordBatch) -> datafusion::error::Result<Vec<Row>> {
    let text = |i: usize| -> datafusion::error::Result<arrow::array::StringArray> {
        Ok(cast(batch.column(i), &DataType::Utf8)?
            .as_string::<i32>()
            .clone())
    };
    let households = text(0)?;
    let ords = batch.column(1).as_primitive::<UInt64Type>().clone();
    let files = text(2)?;
    let places = text(3)?;
    let mut keys = Vec::new();
    for (n, c) in CHECKED.iter().enumerate() {
        let key = batch.column(4 + 2 * n);
        let shown = text(5 + 2 * n)?;
        let key: Box<dyn Fn(usize) -> Option<Value>> = match key.data_type() {
            DataType::Int64 => {
                let a = key.as_primitive::<Int64Type>().clone();
                Box::new(move |i| a.is_valid(i).then(|| Value::Number(a.value(i))))
            }
            _ => {
                let a = cast(key, &DataType::Utf8)?.as_string::<i32>().clone();
                Box::new(move |i| a.is_valid(i).then(|| Value::Text(a.value(i).to_string())))
            }
        };
        let money = c.money;
        keys.push((key, shown, money));
    }
    let category = CHECKED
        .iter()
        .position(|c| c.field == "category")
        .expect("the category is checked");
    Ok((0..batch.num_rows())
        .map(|i| {
            let values: Vec<Option<(Value, String)>> = keys
                .iter()
                .map(|(key, shown, money)| {
                    key(i).map(|k| {
                        let shown = match (&k, money) {
                            (Value::Number(fen), true) => format_fen(*fen),
                            _ if shown.is_valid(i) => shown.value(i).to_string(),
                            _ => String::new(),
                        };
                        (k, shown)
                    })
                })
                .collect();
            Row {
                household: households.value(i).to_string(),
                ord: ords.value(i),
                file: files.value(i).to_string(),
                row: places.value(i).to_string(),
                has_category: values[category].is_some(),
                values,
            }
        })
        .collect())
}

/// The disagreeing values of one household's rows (in `_ord` order).
fn conflicts_in(rows: &[Row]) -> Vec<Conflict> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    // The row that gives the household its category, as the rules take it.
    let head = rows.iter().find(|r| r.has_category).unwrap_or(first);
    let mut found = Vec::new();
    for (n, c) in CHECKED.iter().enumerate() {
        let value = |r: &Row| r.values[n].as_ref().map(|(k, _)| k.clone());
        let taken = match c.taken {
            Taken::FirstRow => value(head)
                .is_some()
                .then_some(head)
                .or_else(|| rows.iter().find(|r| value(r).is_some())),
            // The first row of the largest.
            Taken::Largest => rows
                .iter()
                .filter(|r| value(r).is_some())
                .rev()
                .max_by_key(|r| value(r)),
        };
        let Some(taken) = taken else { continue };
        let kept = value(taken);
        for r in rows {
            if let Some((k, shown)) = &r.values[n]
                && Some(k) != kept.as_ref()
            {
                found.push(Conflict {
                    ord: r.ord,
                    file: r.file.clone(),
                    row: r.row.clone(),
                    field: c.field,
                    header: c.header,
                    value: shown.clone(),
                    taken_file: taken.file.clone(),
                    taken_row: taken.row.clone(),
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row of household `H1` of file `f.csv`: its row number, then each
    /// checked field given as (field, value).
    fn row(n: u64, values: &[(&str, &str)]) -> Row {
        let values = CHECKED
            .iter()
            .map(|c| {
                values.iter().find(|(f, _)| *f == c.field).map(|(_, v)| {
                    let key = match c.taken {
                        Taken::Largest => Value::Number(v.parse().unwrap()),
                        Taken::FirstRow => Value::Text(v.to_string()),
                    };
                    (key, v.to_string())
                })
            })
            .collect();
        let mut row = Row {
            household: "H1".into(),
            ord: n,
            file: "f.csv".into(),
            row: (n + 2).to_string(),
            has_category: false,
            values,
        };
        row.has_category = row.values[0].is_some();
        row
    }

    fn found(rows: &[Row]) -> Vec<(u64, &'static str, String, String)> {
        conflicts_in(rows)
            .into_iter()
            .map(|c| (c.ord, c.field, c.value, c.taken_row))
            .collect()
    }

    #[test]
    fn rows_that_agree_or_leave_a_value_empty_are_no_conflict() {
        let rows = [
            row(0, &[("category", "低保"), ("declared_income", "800.00")]),
            row(1, &[("declared_income", "800.00")]),
            row(2, &[("category", "低保")]),
        ];
        assert!(found(&rows).is_empty());
    }

    /// The household's value is the category row's; a member row before it
    /// that gives another is the one listed, and names the category row.
    #[test]
    fn the_value_taken_is_the_category_row_s_and_each_other_is_listed() {
        let rows = [
            row(0, &[("declared_income", "500.00")]),
            row(1, &[("category", "低保"), ("declared_income", "900.00")]),
            row(2, &[("category", "低收入"), ("declared_income", "900.00")]),
        ];
        assert_eq!(
            found(&rows),
            [
                (2, "category", "低收入".to_string(), "3".to_string()),
                (0, "declared_income", "500.00".to_string(), "3".to_string()),
            ]
        );
    }

    /// A value the category row leaves empty is the first row's that gives
    /// it.
    #[test]
    fn a_value_the_category_row_leaves_empty_is_the_first_given() {
        let rows = [
            row(0, &[("category", "特困")]),
            row(1, &[("township", "城关镇")]),
            row(2, &[("township", "东山镇")]),
        ];
        assert_eq!(
            found(&rows),
            [(2, "township", "东山镇".to_string(), "3".to_string())]
        );
    }

    /// 保障人数 is the largest any row gives: the rows that count fewer are
    /// listed, naming the first row of the largest.
    #[test]
    fn the_household_size_taken_is_the_largest() {
        let rows = [
            row(0, &[("category", "低保"), ("household_size", "2")]),
            row(1, &[("household_size", "3")]),
            row(2, &[("household_size", "3")]),
            row(3, &[("household_size", "1")]),
        ];
        assert_eq!(
            found(&rows),
            [
                (0, "household_size", "2".to_string(), "3".to_string()),
                (3, "household_size", "1".to_string(), "3".to_string()),
            ]
        );
    }

    #[test]
    fn the_reason_names_the_row_taken_and_its_file_when_another() {
        let mut c = Conflict {
            ord: 0,
            file: "a.csv".into(),
            row: "5".into(),
            field: "category",
            header: "救助类别",
            value: "低收入".into(),
            taken_file: "a.csv".into(),
            taken_row: "3".into(),
        };
        assert_eq!(
            c.reason(),
            "「救助类别」与同户其他行不一致，本户按第 3 行的值处理"
        );
        c.taken_file = "b.xlsx".into();
        c.taken_row = "名册!3".into();
        assert_eq!(
            c.reason(),
            "「救助类别」与同户其他行不一致，本户按文件「b.xlsx」工作表「名册」第 3 行的值处理"
        );
    }
}
