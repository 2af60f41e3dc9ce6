//! The parse floor of `scripts/bench.sh`: the time any pipeline must pay to
//! merely parse a batch's UTF-8 CSV/TSV files into Arrow string columns
//! (arrow-csv; no decoding of other encodings, no normalising, no matching).
//! Files are parsed in parallel on `--threads` threads (default: the cores),
//! as `hedui run` would use them.
//!
//! `cargo run --release --example floor -- INPUT_DIR [--threads N]`
//! prints one line per file and a last line `floor_seconds=S rows=N bytes=B`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::csv::ReaderBuilder;
use arrow::datatypes::{DataType, Field, Schema};
use rayon::prelude::*;

/// Extra string columns beyond the header's: rows with stray trailing
/// fields must parse, not fail.
const SPARE_COLUMNS: usize = 8;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or_else(|| anyhow::anyhow!("usage: floor INPUT_DIR [--threads N]"))?,
    );
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    while let Some(a) = args.next() {
        if a == "--threads" {
            threads = args
                .next()
                .ok_or_else(|| anyhow::anyhow!("--threads N"))?
                .parse()?;
        }
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("csv" | "tsv" | "txt")
            )
        })
        .filter(|p| is_utf8(p).unwrap_or(false))
        .collect();
    files.sort();
    let start = Instant::now();
    let results: Vec<anyhow::Result<(PathBuf, u64, u64, f64)>> = files
        .par_iter()
        .map(|p| {
            let t = Instant::now();
            let (rows, bytes) = parse(p)?;
            Ok((p.clone(), rows, bytes, t.elapsed().as_secs_f64()))
        })
        .collect();
    let total = start.elapsed().as_secs_f64();
    let (mut rows, mut bytes) = (0, 0);
    for r in results {
        let (p, r, b, s) = r?;
        println!(
            "{} rows={r} bytes={b} seconds={s:.3}",
            p.file_name().unwrap_or_default().to_string_lossy()
        );
        rows += r;
        bytes += b;
    }
    println!("floor_seconds={total:.3} rows={rows} bytes={bytes}");
    Ok(())
}

/// Whether a file is UTF-8 (with or without BOM): the floor parses only
/// those; GB18030 and XLSX files cost hedui more and the floor nothing.
fn is_utf8(path: &Path) -> std::io::Result<bool> {
    let bytes = std::fs::read(path)?;
    Ok(std::str::from_utf8(&bytes).is_ok())
}

fn parse(path: &Path) -> anyhow::Result<(u64, u64)> {
    let bytes = std::fs::metadata(path)?.len();
    let delimiter = if path.extension().is_some_and(|e| e == "tsv") {
        b'\t'
    } else {
        b','
    };
    let mut first = String::new();
    BufReader::new(File::open(path)?).read_line(&mut first)?;
    let width = first.split(delimiter as char).count() + SPARE_COLUMNS;
    let schema = Arc::new(Schema::new(
        (0..width)
            .map(|i| Field::new(format!("c{i}"), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let reader = ReaderBuilder::new(schema)
        .with_header(true)
        .with_delimiter(delimiter)
        .with_truncated_rows(true)
        .with_batch_size(64 * 1024)
        .build(File::open(path)?)?;
    let mut rows = 0u64;
    for batch in reader {
        rows += batch?.num_rows() as u64;
    }
    Ok((rows, bytes))
}
