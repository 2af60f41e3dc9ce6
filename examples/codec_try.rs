use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::sync::Arc;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let f = std::fs::File::open(&path).unwrap();
    let r = ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .with_batch_size(65536)
        .build()
        .unwrap();
    let batches: Vec<_> = r.map(|b| b.unwrap()).collect();
    let schema = batches[0].schema();
    for (name, c) in [
        ("snappy", Compression::SNAPPY),
        ("lz4raw", Compression::LZ4_RAW),
        ("zstd1", Compression::ZSTD(ZstdLevel::try_new(1).unwrap())),
        ("none", Compression::UNCOMPRESSED),
        ("snappy", Compression::SNAPPY),
        ("lz4raw", Compression::LZ4_RAW),
        ("zstd1", Compression::ZSTD(ZstdLevel::try_new(1).unwrap())),
    ] {
        let mut p = WriterProperties::builder()
            .set_compression(c)
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::None);
        for column in ["extract", "file", "method", "score"] {
            p = p.set_column_dictionary_enabled(ColumnPath::from(column), true);
        }
        let t = std::time::Instant::now();
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, Arc::clone(&schema), Some(p.build())).unwrap();
        for b in &batches {
            w.write(b).unwrap();
        }
        w.close().unwrap();
        println!(
            "{name} {:.3}s {:.1} MB",
            t.elapsed().as_secs_f64(),
            out.len() as f64 / 1e6
        );
    }
}
