//! Parquet copies of the machine files, with fixed writer properties so that
//! the same table always gives the same bytes.

use std::io::Write;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;

/// Writes one table as a Parquet file (Snappy, no statistics that could vary).
pub fn write<W: Write + Send>(out: W, batch: &RecordBatch) -> Result<(), ParquetError> {
    let mut writer = writer(out, batch.schema())?;
    writer.write(batch)?;
    writer.close()?;
    Ok(())
}

/// A Parquet writer with the fixed properties of [`write`], for a table
/// written batch by batch. The same rows give the same bytes as long as
/// every batch but the last is a multiple of 1,024 rows.
pub fn writer<W: Write + Send>(out: W, schema: SchemaRef) -> Result<ArrowWriter<W>, ParquetError> {
    ArrowWriter::try_new(out, schema, Some(properties().build()))
}

fn properties() -> WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(concat!("hedui ", env!("CARGO_PKG_VERSION")).to_string())
}

/// [`writer`] for links.parquet, a row per department row: dictionaries
/// only for the columns of few values (the rest would overflow theirs and
/// fall back anyway) and no min/max statistics, which took a quarter of the
/// write (readers of this file scan it whole; the columns are unchanged).
pub fn links_writer<W: Write + Send>(
    out: W,
    schema: SchemaRef,
) -> Result<ArrowWriter<W>, ParquetError> {
    let mut props = properties()
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None);
    for column in ["extract", "file", "method", "score"] {
        props = props.set_column_dictionary_enabled(ColumnPath::from(column), true);
    }
    ArrowWriter::try_new(out, schema, Some(props.build()))
}
