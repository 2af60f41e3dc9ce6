//! Read + normalise throughput: a medical_settlement extract of a few million
//! rows, built by repeating the sample batch's settlement rows (each with a
//! fresh settlement number), read and normalised into its Arrow table; and
//! the first rows of the same extract as a workbook (XLSX, shared strings,
//! as Excel saves one).
//! Run: `cargo bench --bench read_normalize` (HEDUI_BENCH_ROWS sets the
//! CSV's size, default 2,000,000; HEDUI_BENCH_XLSX_ROWS the workbook's,
//! default 200,000).

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

fn xlsx_rows() -> usize {
    std::env::var("HEDUI_BENCH_XLSX_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

/// The sample's settlement header and its data rows, the templates of the
/// bench's rows.
fn templates(sample: &Path) -> (csv::StringRecord, Vec<csv::StringRecord>) {
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
    (header, templates)
}

/// Row `i` of the bench: a template's cells with a settlement number of
/// its own.
fn bench_row(templates: &[csv::StringRecord], i: usize) -> Vec<String> {
    let t = &templates[i % templates.len()];
    std::iter::once(format!("B{i:09}"))
        .chain(t.iter().skip(1).map(str::to_string))
        .collect()
}

/// A folder holding the sample roster (every batch needs one) and the
/// settlement file that `write` makes in it.
fn batch_with(write: impl FnOnce(&Path, &Path)) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample");
    write(&sample, dir.path());
    std::fs::copy(
        sample.join("roster_202511.xlsx"),
        dir.path().join("roster_202511.xlsx"),
    )
    .unwrap();
    let p = dir.path().to_path_buf();
    (dir, p)
}

/// Writes the bench batch once per process: one settlement file (UTF-8) and
/// the sample roster.
fn batch() -> &'static Path {
    static DIR: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    &DIR.get_or_init(|| {
        batch_with(|sample, dir| {
            let (header, templates) = templates(sample);
            let path = dir.join("medical_settlement_bench.csv");
            let mut w = csv::Writer::from_writer(std::io::BufWriter::new(
                std::fs::File::create(&path).unwrap(),
            ));
            w.write_record(&header).unwrap();
            for i in 0..rows() {
                w.write_record(bench_row(&templates, i)).unwrap();
            }
            w.into_inner().unwrap().flush().unwrap();
        })
    })
    .1
}

/// Writes the workbook batch once per process: the settlement rows as one
/// sheet of text cells, and the sample roster.
fn xlsx_batch() -> &'static Path {
    static DIR: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    &DIR.get_or_init(|| {
        batch_with(|sample, dir| {
            let (header, templates) = templates(sample);
            let mut workbook = rust_xlsxwriter::Workbook::new();
            let sheet = workbook.add_worksheet();
            for (c, h) in header.iter().enumerate() {
                sheet.write_string(0, c as u16, h).unwrap();
            }
            for i in 0..xlsx_rows() {
                for (c, cell) in bench_row(&templates, i).iter().enumerate() {
                    sheet.write_string(i as u32 + 1, c as u16, cell).unwrap();
                }
            }
            workbook
                .save(dir.join("medical_settlement_bench.xlsx"))
                .unwrap();
        })
    })
    .1
}

/// Reads the batch in `dir` and checks that its `n` settlement rows were
/// every one read and accounted for.
fn load_settlements(dir: &Path, n: usize) -> hedui::input::Inputs {
    let mut config = Config::default();
    config.input.optional = hedui::extract::EXTRACTS
        .iter()
        .map(|d| d.name.to_string())
        .filter(|n| n != "roster" && n != "medical_settlement")
        .collect();
    let inputs = hedui::input::load(dir, &config, as_of());
    assert!(inputs.problems.is_empty(), "{:?}", inputs.problems);
    // Every row read and accounted for; the sample's rows include rows it
    // rejects, repeated here like the rest.
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
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn read_and_normalise_settlements(bencher: divan::Bencher) {
    let dir = batch();
    let n = rows();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| load_settlements(dir, n));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn read_and_normalise_settlements_xlsx(bencher: divan::Bencher) {
    let dir = xlsx_batch();
    let n = xlsx_rows();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| load_settlements(dir, n));
}
