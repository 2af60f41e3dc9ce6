//! The hot kernels, one divan bench each: ID-number and name normalisation
//! (per cell), on the tiny generated county (fixtures/tiny) person
//! resolution — which holds the repair candidate search — and the rules,
//! the re-keying of repaired rows, and the case ledger's commit of a run's
//! findings.
//! Run: `cargo bench --bench kernels`. End-to-end figures come from
//! `scripts/bench.sh`; see BENCHMARKS.md.

use std::path::Path;

use hedui::config::Config;
use hedui::normalize::{id::normalize_id, name::normalize_name};

/// The as-of date the benches judge the records on.
fn as_of() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2025, 11, 30).expect("a date")
}

fn main() {
    divan::main();
}

/// ID cells as they arrive: clean, lower-case x, spaced, full-width, a
/// wrong check character, 15-digit legacy numbers, Excel's scientific form.
const IDS: &[&str] = &[
    "110105199001011236",
    "11010519900101123x",
    "110105 19900101 1236",
    "１１０１０５１９９００１０１１２３６",
    "110105199001011235",
    "110105900101123",
    "1.10105E+17",
    "'110105199001011236",
];

/// Name cells as they arrive: plain, spaced, traditional, annotated,
/// minority names with separators, placeholders.
const NAMES: &[&str] = &[
    "张三",
    "张 三",
    "張曉明",
    "李四（曾用名李思）",
    "阿卜杜拉·买买提",
    "阿卜杜拉.买买提",
    "欧阳娜娜",
    "无",
];

#[divan::bench]
fn normalise_id(bencher: divan::Bencher) {
    bencher
        .counter(divan::counter::ItemsCount::new(IDS.len()))
        .bench(|| {
            for id in IDS {
                divan::black_box(normalize_id(divan::black_box(id)));
            }
        });
}

#[divan::bench]
fn normalise_name(bencher: divan::Bencher) {
    bencher
        .counter(divan::counter::ItemsCount::new(NAMES.len()))
        .bench(|| {
            for name in NAMES {
                divan::black_box(normalize_name(divan::black_box(name)));
            }
        });
}

/// The re-keying of repaired rows over a county's worth of keys: 20,000
/// keys of a repaired row between two rows of its person, beside 20,000
/// pairs the read stage found. Each key's work must not grow with the
/// extract's pairs (a walk of them all for every key was a county's
/// slowest step of resolve, and quadratic at city).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn rechain_20k_keys(bencher: divan::Bencher) {
    let keys: u64 = 20_000;
    let groups: Vec<Vec<(u64, Option<String>)>> = (0..keys)
        .map(|k| {
            (0..3)
                .map(|i| (k * 3 + i, Some(if i == 1 { "W" } else { "A" }.to_string())))
                .collect()
        })
        .collect();
    let existing: Vec<(u64, u64)> = (0..keys).map(|k| (k * 3, k * 3 + 2)).collect();
    let originals = std::collections::HashMap::new();
    bencher.bench(|| {
        let found = hedui::resolve::rekey::rechain(&groups, &existing, &originals);
        assert_eq!(found.dropped.len(), keys as usize);
        found
    });
}

fn tiny() -> &'static hedui::input::Inputs {
    static INPUTS: std::sync::OnceLock<hedui::input::Inputs> = std::sync::OnceLock::new();
    INPUTS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny/input");
        let inputs = hedui::input::load(&dir, &Config::default(), as_of());
        assert!(inputs.problems.is_empty(), "{:?}", inputs.problems);
        inputs
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A session with the tiny county's extract tables registered.
fn session() -> (datafusion::prelude::SessionContext, Vec<&'static str>) {
    let ctx = hedui::engine::session(2);
    let inputs = tiny();
    for (name, batches) in &inputs.tables {
        let schema = batches[0].schema();
        hedui::engine::register_batches(&ctx, name, schema, batches.clone()).unwrap();
    }
    (ctx, inputs.tables.keys().copied().collect())
}

/// Resolution: exact and normalised links, 15→18 upgrades, the repair
/// candidate search (masked-key joins and swapped neighbours) and
/// name + birth-date links.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn resolve_tiny_county(bencher: divan::Bencher) {
    let rt = runtime();
    bencher
        .with_inputs(session)
        .bench_values(|(ctx, names)| rt.block_on(hedui::resolve::resolve(&ctx, &names)).unwrap());
}

/// Every rule over a resolved tiny county.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn rules_tiny_county(bencher: divan::Bencher) {
    let rt = runtime();
    let params = hedui::run::rule_params(&Config::default(), as_of());
    bencher
        .with_inputs(|| {
            let (ctx, names) = session();
            rt.block_on(async {
                hedui::resolve::resolve(&ctx, &names).await.unwrap();
                hedui::attach::attach_persons(&ctx, &names).await.unwrap();
            });
            ctx
        })
        .bench_values(|ctx| rt.block_on(hedui::rules::evaluate(&ctx, &params)).unwrap());
}

/// Findings as the ledger receives them: hash-like IDs in no particular
/// order, evidence and sources of a typical length.
fn findings(n: usize) -> Vec<hedui::report::findings::FindingRow> {
    (0..n)
        .map(|i| {
            // A multiplicative hash scatters the IDs as finding_id's hash does.
            let id = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            hedui::report::findings::FindingRow {
                finding_id: format!("{id:016x}"),
                rule: "DY01".into(),
                kind: "待遇未落实".into(),
                severity: "中".into(),
                household_id: format!("H{:06}", i / 3),
                id_number: format!("34112219800101{:04}", i % 10_000),
                name: "张三".into(),
                township: "城关镇".into(),
                village: "东村".into(),
                evidence: "无正常参保记录（城乡居民医保 终止 转出 2025-01-01）".into(),
                sources: format!(
                    "medical_enrollment:medical_enrollment.csv:{i};roster:roster.xlsx:{i}"
                ),
                matched: "exact".into(),
                case_status: hedui::ledger::NEW.into(),
            }
        })
        .collect()
}

/// Recording a run's findings in a fresh case ledger (SQLite, one
/// transaction): 20,000 findings.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn ledger_commit_20k(bencher: divan::Bencher) {
    let rows = findings(20_000);
    let cases = hedui::ledger::Cases::default();
    let as_of = as_of();
    bencher
        .with_inputs(|| tempfile::tempdir().expect("a temporary folder"))
        .bench_local_values(|dir| {
            hedui::ledger::commit(dir.path(), as_of, &rows, &cases, &Default::default(), &[])
                .expect("the ledger commits");
            dir
        });
}
