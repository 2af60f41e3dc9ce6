//! Read + normalise throughput: a medical_settlement extract of a few million
//! rows, built by repeating the sample batch's settlement rows (each with a
//! fresh settlement number), read and normalised into its Arrow table.
//! Run: `cargo bench --bench read_normalize` (HEDUI_BENCH_ROWS sets the size;
//! default 2,000,000).

use std::io::Write;
use std::path::{Path, PathBuf};

use hedui::config::Config;

/// The as-of date the benches judge the records on.
fn as_of() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2025, 11, 30).expect("a date")
}

fn main() {
    divan::main();
}

fn rows() -> usize {
    std::env::var("HEDUI_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000)
}

/// Writes the bench batch once per process: one settlement file (UTF-8) and
/// the sample roster (every batch needs one).
fn batch() -> &'static Path {
    static DIR: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample");
        let bytes = std::fs::read(sample.join("medical_settlement_202511.csv")).unwrap();
        let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        let templates: Vec<csv::StringRecord> = reader
            .records()
            .filter_map(Result::ok)
            .filter(|r| r.len() == header.len() && r.get(0) != Some("结算编号") && !r[0].is_empty())
            .collect();
        let path = dir.path().join("medical_settlement_bench.csv");
        let mut w = csv::Writer::from_writer(std::io::BufWriter::new(
            std::fs::File::create(&path).unwrap(),
        ));
        w.write_record(&header).unwrap();
        for i in 0..rows() {
            let t = &templates[i % templates.len()];
            let id = format!("B{i:09}");
            let record: Vec<&str> = std::iter::once(id.as_str())
                .chain(t.iter().skip(1))
                .collect();
            w.write_record(&record).unwrap();
        }
        w.into_inner().unwrap().flush().unwrap();
        std::fs::copy(
            sample.join("roster_202511.xlsx"),
            dir.path().join("roster_202511.xlsx"),
        )
        .unwrap();
        let p = dir.path().to_path_buf();
        (dir, p)
    })
    .1
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn read_and_normalise_settlements(bencher: divan::Bencher) {
    let dir = batch();
    let mut config = Config::default();
    config.input.optional = hedui::extract::EXTRACTS
        .iter()
        .map(|d| d.name.to_string())
        .filter(|n| n != "roster" && n != "medical_settlement")
        .collect();
    let n = rows();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| {
            let inputs = hedui::input::load(dir, &config, as_of());
            assert!(inputs.problems.is_empty(), "{:?}", inputs.problems);
            // Every row read and accounted for; the sample's rows include
            // rows it rejects, repeated here like the rest.
            let account = inputs
                .accounts
                .iter()
                .find(|a| a.extract == "medical_settlement")
                .expect("the settlement file is read");
            assert_eq!(account.rows_read, n as u64);
            assert_eq!(
                account.rows_accepted + account.rows_rejected + account.rows_skipped,
                account.rows_read
            );
            let settled: usize = inputs.tables["medical_settlement"]
                .iter()
                .map(|b| b.num_rows())
                .sum();
            assert_eq!(settled as u64, account.rows_accepted);
            inputs
        });
}
