//! Parquet: read through the arrow reader, the column names are the header
//! (row 1) and every column is cast to text, so that Parquet rows go through
//! the same checks as rows from CSV (data rows are 2, 3, …).

use std::fs::File;
use std::path::Path;

use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};

use super::section::SectionScanner;
use super::xlsx::float_text;
use super::{Cell, ChunkSink, FileFormat, RawTable, ReadError};

pub(super) fn read_parquet(
    path: &Path,
    file: &str,
    is_header: &(dyn Fn(&[Cell]) -> bool + Sync),
    sink: &mut ChunkSink<'_>,
) -> Result<RawTable, ReadError> {
    let parquet_error = |reason: String| ReadError::Parquet {
        file: file.to_owned(),
        reason,
    };
    let handle = File::open(path).map_err(|source| ReadError::Io {
        file: file.to_owned(),
        source,
    })?;
    let length = handle
        .metadata()
        .map_err(|source| ReadError::Io {
            file: file.to_owned(),
            source,
        })?
        .len();
    if length == 0 {
        return Err(ReadError::Empty {
            file: file.to_owned(),
        });
    }
    let builder = ParquetRecordBatchReaderBuilder::try_new(handle)
        .map_err(|err| parquet_error(err.to_string()))?;
    let header: Vec<Cell> = builder
        .schema()
        .fields()
        .iter()
        .map(|field| Cell::from(field.name().as_str()))
        .collect();
    let batches = builder
        .build()
        .map_err(|err| parquet_error(err.to_string()))?;

    let mut scanner = SectionScanner::with_header(is_header, header.clone(), 1).with_sink(sink);
    let mut row: u32 = 2;
    for batch in batches {
        let batch = batch.map_err(|err| parquet_error(err.to_string()))?;
        let columns = batch
            .columns()
            .iter()
            .zip(&header)
            .map(|(column, name)| column_text(column, name).map_err(&parquet_error))
            .collect::<Result<Vec<StringArray>, ReadError>>()?;
        for index in 0..batch.num_rows() {
            let fields = columns
                .iter()
                .map(|column| {
                    if column.is_null(index) {
                        Cell::default()
                    } else {
                        Cell::from(column.value(index))
                    }
                })
                .collect();
            scanner.push(row, fields);
            row = row.saturating_add(1);
        }
    }
    let Some(section) = scanner.finish() else {
        return Err(parquet_error(
            "内部错误 internal error: no section".to_owned(),
        ));
    };
    Ok(RawTable {
        format: FileFormat::Parquet,
        encoding: "binary".to_owned(),
        sections: vec![section],
        ignored_sheets: Vec::new(),
        unheaded_sheets: Vec::new(),
        hidden_sheets: Vec::new(),
        merged_cells_filled: 0,
        sha256: String::new(),
        cut_off: None,
    })
}

/// One column as text. Doubles are rendered as for XLSX cells so that an ID
/// number stored as a double reads the same whichever format it came in; the
/// rest goes through arrow's cast. The error names the column and its type,
/// never a value (arrow's own cast messages may quote one).
fn column_text(column: &ArrayRef, name: &str) -> Result<StringArray, String> {
    if column.data_type() == &DataType::Float64 {
        let doubles = column.as_primitive::<Float64Type>();
        return Ok(doubles.iter().map(|value| value.map(float_text)).collect());
    }
    let cast_error = || {
        format!(
            "列 {name}（{}）无法转为文本 / column {name} ({}) cannot be read as text",
            column.data_type(),
            column.data_type()
        )
    };
    if let Ok(text) = cast(column, &DataType::Utf8) {
        return Ok(text.as_string_opt::<i32>().ok_or_else(cast_error)?.clone());
    }
    // Types the cast does not take (a struct, a map): arrow's display form,
    // so that such a column, unknown to every extract, is listed and
    // ignored like any other instead of failing the file.
    let options = arrow::util::display::FormatOptions::default();
    let formatter = arrow::util::display::ArrayFormatter::try_new(column.as_ref(), &options)
        .map_err(|_| cast_error())?;
    Ok((0..column.len())
        .map(|i| (!column.is_null(i)).then(|| formatter.value(i).to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ::parquet::arrow::ArrowWriter;
    use arrow::array::{Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::super::test_support::*;
    use super::super::{FileFormat, ReadError, SkipReason, read_file};

    fn parquet_bytes() -> Vec<u8> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("姓名", DataType::Utf8, true),
            Field::new("身份证号", DataType::Utf8, true),
            Field::new("金额", DataType::Float64, true),
            Field::new("认定日期", DataType::Date32, true),
            Field::new("人数", DataType::Int64, true),
        ]));
        let names = StringArray::from(vec![
            Some("张三"),
            None,
            Some("合计"),
            Some("姓名"),
            Some("李四"),
        ]);
        let ids = StringArray::from(vec![
            Some("110105199001011234"),
            None,
            None,
            Some("身份证号"),
            None,
        ]);
        let amounts = Float64Array::from(vec![
            Some(100.0),
            None,
            Some(1334.5),
            None,
            Some(110105199001011234.0),
        ]);
        // 2025-01-05 is day 20093 of the Unix epoch.
        let dates = Date32Array::from(vec![Some(20093), None, None, None, None]);
        let counts = Int64Array::from(vec![Some(3), None, None, None, Some(1)]);
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(names),
                Arc::new(ids),
                Arc::new(amounts),
                Arc::new(dates),
                Arc::new(counts),
            ],
        )
        .expect("batch");
        let mut bytes = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut bytes, schema, None).expect("writer");
        writer.write(&batch).expect("write");
        writer.close().expect("close");
        bytes
    }

    #[test]
    fn a_zoned_timestamp_reads_as_its_local_date_and_a_struct_column_as_text() {
        use arrow::array::{Array, StructArray, TimestampMillisecondArray};
        // 2025-01-05 00:00 in Shanghai is 2025-01-04 16:00 UTC.
        let when = TimestampMillisecondArray::from(vec![Some(1_736_006_400_000), None])
            .with_timezone("Asia/Shanghai");
        let extra = StructArray::from(vec![(
            Arc::new(Field::new("a", DataType::Int64, true)),
            Arc::new(Int64Array::from(vec![Some(1), Some(2)])) as arrow::array::ArrayRef,
        )]);
        let schema = Arc::new(Schema::new(vec![
            Field::new("姓名", DataType::Utf8, true),
            Field::new("身份证号", DataType::Utf8, true),
            Field::new("认定日期", when.data_type().clone(), true),
            Field::new("附加", extra.data_type().clone(), true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("张三"), Some("李四")])),
                Arc::new(StringArray::from(vec![Some("110105199001011234"), None])),
                Arc::new(when),
                Arc::new(extra),
            ],
        )
        .expect("batch");
        let mut bytes = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut bytes, schema, None).expect("writer");
        writer.write(&batch).expect("write");
        writer.close().expect("close");
        let (_dir, path) = temp_file("r.parquet", &bytes);
        let table = read_file(&path, &is_header).expect("read");
        let section = &table.sections[0];
        let first = &section.rows[0].fields;
        assert_eq!(
            crate::normalize::date::parse_date(&first[2]).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2025, 1, 5)
        );
        assert_eq!(first[3], "{a: 1}");
        assert_eq!(section.rows[1].fields[2], "");
    }

    #[test]
    fn columns_are_the_header_and_rows_start_at_2() {
        let (_dir, path) = temp_file("settle.parquet", &parquet_bytes());
        let table = read_file(&path, &is_header).expect("read");
        assert_eq!(
            (table.format, table.encoding.as_str()),
            (FileFormat::Parquet, "binary")
        );
        let section = &table.sections[0];
        assert_eq!(
            section.header,
            ["姓名", "身份证号", "金额", "认定日期", "人数"]
        );
        assert_eq!(section.header_loc.to_string(), "1");
        assert_eq!(row_numbers(&section.rows), [2, 6]);
        assert_eq!(
            fields_of(section, 2),
            ["张三", "110105199001011234", "100", "2025-01-05", "3"]
        );
        assert_eq!(
            fields_of(section, 6),
            ["李四", "", "1.10105199001011E+17", "", "1"]
        );
        assert_eq!(
            skips(&section.skipped),
            [
                (3, SkipReason::Blank),
                (4, SkipReason::Total),
                (5, SkipReason::RepeatedHeader)
            ]
        );
    }

    #[test]
    fn not_parquet_is_an_error() {
        let (_dir, path) = temp_file("settle.parquet", &noise(1000, 3));
        let err = read_file(&path, &is_header).expect_err("bad");
        assert!(matches!(err, ReadError::Parquet { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("无法读取 Parquet 文件：settle.parquet"),
            "{err}"
        );

        let (_dir, path) = temp_file("settle.parquet", b"");
        let err = read_file(&path, &is_header).expect_err("empty");
        assert!(matches!(err, ReadError::Empty { .. }), "{err}");
    }
}
