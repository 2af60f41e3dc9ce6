//! Parquet copies of the machine files, with fixed writer properties so that
//! the same table always gives the same bytes.

use std::io::Write;

use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

/// Writes one table as a Parquet file (Snappy, no statistics that could vary).
pub fn write<W: Write + Send>(out: W, batch: &RecordBatch) -> Result<(), ParquetError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(concat!("hedui ", env!("CARGO_PKG_VERSION")).to_string())
        .build();
    let mut writer = ArrowWriter::try_new(out, batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.close()?;
    Ok(())
}
