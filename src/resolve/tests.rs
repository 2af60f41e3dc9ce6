//! Resolution on small hand-built extract tables in the extract stage's
//! contract: each comparison level fires, and its near miss does not.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, RecordBatch, StringArray, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::SessionContext;

use super::*;
use crate::engine::{register_batch, session};
use crate::normalize::id::{IdStatus, check_char, normalize_id};
use crate::normalize::name::normalize_name;

/// A valid 18-char ID from a 17-digit body.
fn id(body17: &str) -> String {
    let c = check_char(body17.as_bytes()).expect("17 digits");
    format!("{body17}{}", c as char)
}

/// `id` with position `pos` (1-based) replaced by `digit`, check char kept:
/// a typing error the check character catches.
fn typo(id: &str, pos: usize, digit: char) -> String {
    let mut chars: Vec<char> = id.chars().collect();
    assert_ne!(chars[pos - 1], digit);
    chars[pos - 1] = digit;
    chars.into_iter().collect()
}

/// `id` with positions `pos` and `pos + 1` swapped.
fn swap(id: &str, pos: usize) -> String {
    let mut chars: Vec<char> = id.chars().collect();
    assert_ne!(chars[pos - 1], chars[pos]);
    chars.swap(pos - 1, pos);
    chars.into_iter().collect()
}

/// The extract stage's contract for an ID cell: (value, status), the value
/// only for valid / upgraded15 / bad_check.
fn classify(raw: &str) -> (Option<String>, &'static str) {
    let normalized = normalize_id(raw);
    let keeps_value = matches!(
        normalized.status,
        IdStatus::Valid | IdStatus::Upgraded15 | IdStatus::BadCheck
    );
    (
        normalized.value.filter(|_| keeps_value).map(String::from),
        normalized.status.as_str(),
    )
}

/// One data row: raw values of the table's ID fields and name fields (in the
/// order of the table's field pairs), a birth date, the duplicate flag.
struct Row<'a> {
    ids: Vec<String>,
    names: Vec<&'a str>,
    birth: Option<&'a str>,
    dup: bool,
}

fn row<'a>(id_raw: &str, name: &'a str) -> Row<'a> {
    Row {
        ids: vec![id_raw.to_string()],
        names: vec![name],
        birth: None,
        dup: false,
    }
}

/// A table in the extract contract with the given (ID field, name field)
/// pairs; `_ord` starts at `ord_base`.
fn table(file: &str, pairs: &[(&str, &str)], with_birth: bool, rows: &[Row<'_>]) -> RecordBatch {
    let mut fields: Vec<Field> = vec![
        Field::new("_file", DataType::Utf8, false),
        Field::new("_row", DataType::Utf8, false),
        Field::new("_ord", DataType::UInt64, false),
        Field::new("_dup", DataType::Boolean, false),
        Field::new("_superseded", DataType::Boolean, false),
    ];
    let n = rows.len();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![file; n])),
        Arc::new(StringArray::from_iter_values(
            (0..n).map(|i| (i + 2).to_string()),
        )),
        Arc::new(UInt64Array::from_iter_values(
            (0..n as u64).map(|i| 100 + i),
        )),
        Arc::new(BooleanArray::from(
            rows.iter().map(|r| r.dup).collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(vec![false; n])),
    ];
    for (k, (id_field, name_field)) in pairs.iter().enumerate() {
        let classified: Vec<_> = rows.iter().map(|r| classify(&r.ids[k])).collect();
        fields.push(Field::new(*id_field, DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from(
            classified.iter().map(|c| c.0.clone()).collect::<Vec<_>>(),
        )));
        fields.push(Field::new(format!("{id_field}_raw"), DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.ids[k].clone()),
        )));
        fields.push(Field::new(
            format!("{id_field}_status"),
            DataType::Utf8,
            false,
        ));
        columns.push(Arc::new(StringArray::from_iter_values(
            classified.iter().map(|c| c.1),
        )));
        let names: Vec<_> = rows.iter().map(|r| normalize_name(r.names[k])).collect();
        let normalised: Vec<Option<String>> = names
            .iter()
            .map(|n| (!n.name.is_empty()).then(|| n.name.to_string()))
            .collect();
        fields.push(Field::new(*name_field, DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from(normalised)));
        fields.push(Field::new(
            format!("{name_field}_raw"),
            DataType::Utf8,
            false,
        ));
        columns.push(Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.names[k]),
        )));
    }
    if with_birth {
        fields.push(Field::new("birth_date", DataType::Date32, true));
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        columns.push(Arc::new(Date32Array::from(
            rows.iter()
                .map(|r| {
                    r.birth.map(|b| {
                        let d = chrono::NaiveDate::parse_from_str(b, "%Y-%m-%d").unwrap();
                        (d - epoch).num_days() as i32
                    })
                })
                .collect::<Vec<_>>(),
        )));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

const PRIMARY: &[(&str, &str)] = &[("id_number", "name")];

// The county's persons.
fn zhang() -> String {
    id("11010519800101001") // 张三, in the roster
}
fn li() -> String {
    id("11010519900202002") // 李四, in the roster
}
fn wang() -> String {
    id("11010519750315123") // 王小明, in medical enrollment
}
fn sun() -> String {
    id("11010519660708456") // 孙七, in the roster
}
fn chen() -> String {
    id("11010520120506031") // 陈九, a child in medical enrollment
}
fn wu_a() -> String {
    id("11010520130101011") // 吴十, born 2013-01-01
}
fn wu_b() -> String {
    id("11010520130101022") // another 吴十, born the same day
}
/// Two persons 赵六 whose IDs are both one substitution away from one typo.
fn zhao_typo() -> String {
    typo(&id("11010519850909007"), 16, '3')
}
fn zhao_a() -> String {
    id("11010519850909007")
}
fn zhao_b() -> String {
    id(&zhao_typo()[..17])
}

/// Registers the fixture extracts on `ctx`.
fn register_fixture(ctx: &SessionContext) {
    let roster = table(
        "名册.xlsx",
        &[("id_number", "name"), ("head_id", "head_name")],
        false,
        &[
            Row {
                ids: vec![zhang(), zhang()],
                names: vec!["张三", "张三"],
                birth: None,
                dup: false,
            },
            Row {
                ids: vec![li(), zhang()],
                names: vec!["李四", "张三"],
                birth: None,
                dup: false,
            },
            Row {
                ids: vec![sun(), sun()],
                names: vec!["孙七", "孙七"],
                birth: None,
                dup: false,
            },
        ],
    );
    let enrollment = table(
        "参保.csv",
        PRIMARY,
        false,
        &[
            row(&wang(), "王小明"),
            row(&chen(), "陈九"),
            row(&wu_a(), "吴十"),
            row(&wu_b(), "吴十"),
            row(&zhao_a(), "赵六"),
            row(&zhao_b(), "赵六"),
        ],
    );
    let legacy15 = format!("{}{}", &zhang()[..6], &zhang()[8..17]);
    let settlement = table(
        "结算.csv",
        PRIMARY,
        false,
        &[
            /* 2 */ row(&zhang(), "张三"),
            /* 3 */ row(&format!(" '{} ", zhang().to_lowercase()), "张三"),
            /* 4 */ row(&legacy15, "张三"),
            /* 5 */ row(&typo(&li(), 9, '5'), "李四"),
            /* 6 */ row(&zhao_typo(), "赵六"),
            /* 7 */ row(&typo(&sun(), 12, '0'), "周八"),
            /* 8 */ row("1.10105E+17", "张三"),
            /* 9 */ row("无", "张三"),
            /* 10 */ row("12345", "张三"),
            /* 11 */
            Row {
                dup: true,
                ..row(&typo(&li(), 9, '5'), "李四")
            },
        ],
    );
    let contribution = table(
        "缴费.csv",
        PRIMARY,
        false,
        &[
            row(&swap(&wang(), 10), "王晓明"),
            row(&swap(&wang(), 10), "王小明"),
        ],
    );
    let pension = table("养老.csv", PRIMARY, false, &[row(&zhang(), "钱多多")]);
    let education = table(
        "学籍.xlsx",
        &[("id_number", "name"), ("guardian_id", "guardian_name")],
        true,
        &[
            /* 2 */
            Row {
                ids: vec!["".into(), zhang()],
                names: vec!["陈九", "张三"],
                birth: Some("2012-05-06"),
                dup: false,
            },
            /* 3 */
            Row {
                ids: vec!["1.10105E+17".into(), "".into()],
                names: vec!["吴十", ""],
                birth: Some("2013-01-01"),
                dup: false,
            },
            /* 4: the same name, another birth date: no one qualifies */
            Row {
                ids: vec!["/".into(), typo(&li(), 3, '9')],
                names: vec!["陈九", "李四"],
                birth: Some("2012-05-07"),
                dup: false,
            },
        ],
    );
    for (name, batch) in [
        ("roster", roster),
        ("medical_enrollment", enrollment),
        ("medical_settlement", settlement),
        ("contribution", contribution),
        ("pension", pension),
        ("education", education),
    ] {
        register_batch(ctx, name, batch).unwrap();
    }
}

const EXTRACTS: &[&str] = &[
    "roster",
    "medical_enrollment",
    "medical_settlement",
    "contribution",
    "pension",
    "education",
];

/// A resolution with its two row-level tables fetched from the engine, in
/// their output order.
struct Resolved {
    inner: Resolution,
    links: RecordBatch,
    resolved_ids: RecordBatch,
}

impl std::ops::Deref for Resolved {
    type Target = Resolution;
    fn deref(&self) -> &Resolution {
        &self.inner
    }
}

async fn resolve_all(ctx: &SessionContext, extracts: &[&str]) -> Result<Resolved> {
    let inner = resolve(ctx, extracts).await?;
    let links = query_batch(ctx, &links_sorted()).await?;
    let resolved_ids = query_batch(
        ctx,
        "SELECT * FROM resolved_ids ORDER BY extract, \"_ord\", field",
    )
    .await?;
    Ok(Resolved {
        inner,
        links,
        resolved_ids,
    })
}

async fn run(threads: usize) -> Resolved {
    let ctx = session(threads);
    register_fixture(&ctx);
    resolve_all(&ctx, EXTRACTS).await.unwrap()
}

fn strings(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let array = batch
        .column_by_name(column)
        .unwrap_or_else(|| panic!("no column {column}"));
    let array = datafusion::arrow::compute::cast(array, &DataType::Utf8).unwrap();
    let array = array.as_any().downcast_ref::<StringArray>().unwrap();
    (0..array.len())
        .map(|i| (!array.is_null(i)).then(|| array.value(i).to_string()))
        .collect()
}

/// The link of (extract, row): (person_id, method, score).
fn link(res: &Resolved, extract: &str, row: &str) -> (Option<String>, String, f64) {
    let links = &res.links;
    let extracts = strings(links, "extract");
    let rows = strings(links, "row");
    let persons = strings(links, "person_id");
    let methods = strings(links, "method");
    let scores = links
        .column_by_name("score")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    let i = (0..links.num_rows())
        .find(|&i| extracts[i].as_deref() == Some(extract) && rows[i].as_deref() == Some(row))
        .unwrap_or_else(|| panic!("no link for {extract} row {row}"));
    (
        persons[i].clone(),
        methods[i].clone().unwrap(),
        scores.value(i),
    )
}

#[tokio::test]
async fn links_cover_every_department_row_but_not_the_roster() {
    let res = run(2).await;
    // 6 enrollment + 10 settlement + 2 contribution + 1 pension + 3 education.
    assert_eq!(res.links.num_rows(), 22);
    let extracts = strings(&res.links, "extract");
    assert!(extracts.iter().all(|e| e.as_deref() != Some("roster")));
    let mut sorted = extracts.clone();
    sorted.sort();
    assert_eq!(extracts, sorted, "links are sorted by extract");
}

#[tokio::test]
async fn valid_ids_link_exact_normalized_and_legacy15() {
    let res = run(2).await;
    assert_eq!(
        link(&res, "medical_settlement", "2"),
        (Some(zhang()), "exact".into(), 1.0)
    );
    assert_eq!(
        link(&res, "medical_settlement", "3"),
        (Some(zhang()), "normalized".into(), 0.99)
    );
    assert_eq!(
        link(&res, "medical_settlement", "4"),
        (Some(zhang()), "legacy15".into(), 0.97)
    );
}

#[tokio::test]
async fn a_one_digit_typo_with_one_agreeing_candidate_is_repaired() {
    let res = run(2).await;
    assert_eq!(
        link(&res, "medical_settlement", "5"),
        (Some(li()), "repaired".into(), 0.93)
    );
    // The exact duplicate links like its first copy.
    assert_eq!(
        link(&res, "medical_settlement", "11"),
        (Some(li()), "repaired".into(), 0.93)
    );
    // DQ03 lists the repaired row once (the duplicate is the same case).
    let dq03 = &res.dq03_repaired_id;
    let ids = strings(dq03, "id_number");
    let rows = strings(dq03, "row");
    let li_rows: Vec<_> = (0..dq03.num_rows())
        .filter(|&i| ids[i].as_deref() == Some(li().as_str()))
        .map(|i| rows[i].clone().unwrap())
        .collect();
    // education:4 (a guardian ID) and medical_settlement:5; not the duplicate.
    assert_eq!(li_rows, vec!["4".to_string(), "5".to_string()]);
}

#[tokio::test]
async fn an_adjacent_swap_is_repaired_with_a_homophone_or_same_name() {
    let res = run(2).await;
    let (person, method, score) = link(&res, "contribution", "2");
    assert_eq!((person, method), (Some(wang()), "repaired".to_string()));
    assert_eq!(score, 0.85, "王晓明 is a homophone of 王小明");
    assert_eq!(
        link(&res, "contribution", "3"),
        (Some(wang()), "repaired".into(), 0.93)
    );
}

#[tokio::test]
async fn a_typo_with_two_agreeing_candidates_stays_unlinked() {
    let res = run(2).await;
    assert_ne!(zhao_a(), zhao_b());
    assert_eq!(
        link(&res, "medical_settlement", "6"),
        (None, "unlinked".into(), 0.0)
    );
    let dq01_rows: Vec<_> = strings(&res.dq01_invalid_id, "raw_id");
    assert!(dq01_rows.contains(&Some(zhao_typo())));
}

#[tokio::test]
async fn blocking_compares_only_near_ids() {
    let res = run(2).await;
    // Bad IDs: 李四's typo (settlement and guardian), 赵六's typo, 孙七's typo,
    // 王小明's swap.
    assert_eq!(res.blocking.bad_check_ids, 5);
    // 李四 ×2, 赵六 ×2 (both), 孙七, 王小明: never the whole universe.
    assert_eq!(res.blocking.repair_candidate_pairs, 6);
    assert_eq!(res.blocking.persons, 9);
}

#[tokio::test]
async fn a_typo_whose_only_candidate_disagrees_stays_unlinked() {
    let res = run(2).await;
    assert_eq!(
        link(&res, "medical_settlement", "7"),
        (None, "unlinked".into(), 0.0)
    );
}

#[tokio::test]
async fn no_usable_id_links_by_name_and_birth_only_when_unique() {
    let res = run(2).await;
    // Unique: one 陈九 born 2012-05-06.
    assert_eq!(
        link(&res, "education", "2"),
        (Some(chen()), "name_birth".into(), 0.8)
    );
    // Ambiguous: two 吴十 born 2013-01-01.
    assert_eq!(link(&res, "education", "3"), (None, "unlinked".into(), 0.0));
    // Near miss: 陈九, but another birth date.
    assert_eq!(link(&res, "education", "4"), (None, "unlinked".into(), 0.0));
    // Extracts without a birth date never link by name.
    assert_eq!(
        link(&res, "medical_settlement", "9"),
        (None, "unlinked".into(), 0.0)
    );
}

#[tokio::test]
async fn a_valid_id_with_another_name_links_with_a_low_score_and_goes_to_dq02() {
    let res = run(2).await;
    assert_eq!(
        link(&res, "pension", "2"),
        (Some(zhang()), "exact".into(), 0.6)
    );
    let dq02 = &res.dq02_name_conflict;
    assert_eq!(strings(dq02, "id_number"), vec![Some(zhang())]);
    assert_eq!(strings(dq02, "known_name"), vec![Some("张三".to_string())]);
    assert_eq!(
        strings(dq02, "names"),
        vec![Some("张三、钱多多".to_string())]
    );
    let sources = strings(dq02, "sources")[0].clone().unwrap();
    assert!(sources.contains("pension:养老.csv:2"), "{sources}");
    assert!(sources.contains("roster:名册.xlsx:2"), "{sources}");
    // A repaired homophone (王晓明) is not a conflict.
    assert_eq!(dq02.num_rows(), 1);
}

#[tokio::test]
async fn second_id_columns_resolve_too() {
    let res = run(2).await;
    let r = &res.resolved_ids;
    let extracts = strings(r, "extract");
    let fields = strings(r, "field");
    let rows = strings(r, "row");
    let persons = strings(r, "person_id");
    let methods = strings(r, "method");
    let find = |extract: &str, field: &str, row: &str| {
        let i = (0..r.num_rows())
            .find(|&i| {
                extracts[i].as_deref() == Some(extract)
                    && fields[i].as_deref() == Some(field)
                    && rows[i].as_deref() == Some(row)
            })
            .unwrap();
        (persons[i].clone(), methods[i].clone().unwrap())
    };
    assert_eq!(
        find("roster", "head_id", "3"),
        (Some(zhang()), "exact".into())
    );
    assert_eq!(
        find("education", "guardian_id", "2"),
        (Some(zhang()), "exact".into())
    );
    assert_eq!(
        find("education", "guardian_id", "4"),
        (Some(li()), "repaired".into())
    );
    // An empty guardian ID without a name is no DQ01 case; an empty student ID is.
    let dq01 = &res.dq01_invalid_id;
    let dq01_fields: Vec<_> = strings(dq01, "field");
    let dq01_extracts: Vec<_> = strings(dq01, "extract");
    assert!(
        !(0..dq01.num_rows()).any(|i| dq01_extracts[i].as_deref() == Some("education")
            && dq01_fields[i].as_deref() == Some("guardian_id"))
    );
}

#[tokio::test]
async fn sci_notation_rows_go_to_dq04_and_bad_rows_to_dq01() {
    let res = run(2).await;
    let dq04 = &res.dq04_sci_notation;
    assert_eq!(
        strings(dq04, "extract"),
        vec![Some("education".into()), Some("medical_settlement".into())]
    );
    let dq01 = &res.dq01_invalid_id;
    let keys: Vec<_> = strings(dq01, "extract")
        .into_iter()
        .zip(strings(dq01, "row"))
        .map(|(e, r)| format!("{}:{}", e.unwrap(), r.unwrap()))
        .collect();
    assert_eq!(
        keys,
        vec![
            "education:4",
            "medical_settlement:6",
            "medical_settlement:7",
            "medical_settlement:9",
            "medical_settlement:10",
        ],
        "a placeholder (/ at education:4, 无 at medical_settlement:9) that nothing links is \
         a case; an empty guardian ID (education:3) is not"
    );
}

/// Every table and count of two resolutions is equal.
fn assert_same(a: &Resolved, b: &Resolved) {
    assert_eq!(a.links, b.links);
    assert_eq!(a.resolved_ids, b.resolved_ids);
    assert_eq!(a.persons, b.persons);
    assert_eq!(a.dq01_invalid_id, b.dq01_invalid_id);
    assert_eq!(a.dq02_name_conflict, b.dq02_name_conflict);
    assert_eq!(a.dq03_repaired_id, b.dq03_repaired_id);
    assert_eq!(a.dq04_sci_notation, b.dq04_sci_notation);
    assert_eq!(a.blocking, b.blocking);
}

#[tokio::test]
async fn results_are_identical_at_any_thread_count() {
    assert_same(&run(1).await, &run(4).await);
}

/// A session (2 threads) with its tables on disk under `dir`.
fn disk_session(dir: &std::path::Path) -> (SessionContext, crate::engine::DiskTables) {
    let disk = crate::engine::DiskTables {
        dir: dir.join("tables"),
        memory_limit: 64 << 20,
    };
    let ctx = crate::engine::session_with(2, Some(&disk)).unwrap();
    (ctx, disk)
}

#[tokio::test]
async fn results_on_disk_are_the_results_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, disk) = disk_session(dir.path());
    register_fixture(&ctx);
    let on_disk = resolve_all(&ctx, EXTRACTS).await.unwrap();
    assert!(
        std::fs::read_dir(&disk.dir).unwrap().count() > 1,
        "the materialised tables are on disk"
    );
    // The observations are views over the extracts: only the few other
    // ones are written, and no resolved copy of the linked ones.
    let written: Vec<String> = std::fs::read_dir(&disk.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let copied = |d: &String| {
        d.ends_with(&format!("-{}", tables::OBS)) || d.contains(tables::RESOLVED_LINKED)
    };
    assert!(!written.iter().any(copied), "{written:?}");
    assert_same(&on_disk, &run(2).await);
    drop(ctx);
    assert!(!disk.dir.exists(), "the session's tables go with it");
}

#[tokio::test]
async fn ids_seen_only_without_a_usable_name_are_persons_too() {
    let ctx = session(2);
    let named = id("34112219900101001");
    let blank = id("34112219900101002");
    let only_dup = id("34112219900101003");
    let mut dup = row(&only_dup, "王五");
    dup.dup = true;
    let rows = [row(&named, "张三"), row(&blank, ""), dup];
    register_batch(
        &ctx,
        "pension",
        table("pension_1.csv", &[("id_number", "name")], false, &rows),
    )
    .unwrap();
    let res = resolve_all(&ctx, &["pension"]).await.unwrap();
    assert_eq!(
        strings(&res.persons, "person_id"),
        vec![Some(named), Some(blank), Some(only_dup)]
    );
    assert_eq!(
        strings(&res.persons, "name"),
        vec![Some("张三".to_string()), None, None]
    );
}

#[tokio::test]
async fn results_are_registered_as_tables() {
    let ctx = session(2);
    register_fixture(&ctx);
    resolve(&ctx, EXTRACTS).await.unwrap();
    let out = crate::engine::query_batch(
        &ctx,
        "SELECT count(*) AS n FROM links l JOIN persons p ON p.person_id = l.person_id",
    )
    .await
    .unwrap();
    assert_eq!(out.num_rows(), 1);
    assert!(
        ctx.table("_resolve_obs").await.is_err(),
        "intermediates are dropped"
    );
}

/// An X typed among the first 17 characters: the swap that moves it back to
/// the end and the digit it stands for are both one typing error. Two known
/// 王伟 one of each away leave the row unlinked; one alone takes it.
#[tokio::test]
async fn an_x_in_the_body_counts_every_candidate_it_could_be() {
    let swapped = "34112219900302001X"; // 3411221990030200X1 swapped back
    let replaced = "341122199003020001"; // the X typed for a 0
    assert_eq!(classify(swapped).1, "valid");
    assert_eq!(classify(replaced).1, "valid");
    let typed = "3411221990030200X1";
    let lone = "341122199003060062"; // 孙丽; 3411221990030600X2 replaces its 6
    let ctx = session(2);
    let enrollment = table(
        "参保.csv",
        PRIMARY,
        false,
        &[
            row(swapped, "王伟"),
            row(replaced, "王伟"),
            row(lone, "孙丽"),
        ],
    );
    let settlement = table(
        "结算.csv",
        PRIMARY,
        false,
        &[
            /* 2 */ row(typed, "王伟"),
            /* 3 */ row("3411221990030600X2", "孙丽"),
        ],
    );
    register_batch(&ctx, "medical_enrollment", enrollment).unwrap();
    register_batch(&ctx, "medical_settlement", settlement).unwrap();
    let res = resolve_all(&ctx, &["medical_enrollment", "medical_settlement"])
        .await
        .unwrap();
    assert_eq!(
        link(&res, "medical_settlement", "2"),
        (None, "unlinked".into(), 0.0)
    );
    assert_eq!(
        link(&res, "medical_settlement", "3"),
        (Some(lone.to_string()), "repaired".into(), 0.93)
    );
}

/// Each (extract, table) registered in a fresh session, then resolved.
async fn resolve_tables(tables: Vec<(&str, RecordBatch)>) -> Resolved {
    let ctx = session(2);
    let names: Vec<&str> = tables.iter().map(|(name, _)| *name).collect();
    for (name, batch) in tables {
        register_batch(&ctx, name, batch).unwrap();
    }
    resolve_all(&ctx, &names).await.unwrap()
}

/// Each (extract, row) is unlinked.
fn assert_unlinked(res: &Resolved, rows: &[(&str, &str)]) {
    for &(extract, row) in rows {
        assert_eq!(
            link(res, extract, row),
            (None, "unlinked".into(), 0.0),
            "{extract} row {row}"
        );
    }
}

/// Two names on one ID as often as each other: the best-known is only the
/// first in code-point order (冯 before 郑), so whose ID it is is unknown
/// and a typo of it is repaired under neither name (a spouse's name on the
/// head's ID, once each, is the same shape). Two names that agree (王小明,
/// 王晓明: a homophone) tie without doubt.
#[tokio::test]
async fn an_id_known_as_often_by_two_disagreeing_names_links_no_typo_and_no_student() {
    let person = id("34112219740808601");
    let other = id("34112219810203702");
    let enrollment = table(
        "参保.csv",
        PRIMARY,
        false,
        &[row(&person, "郑成功"), row(&other, "王小明")],
    );
    let settlement = table(
        "结算.csv",
        PRIMARY,
        false,
        &[
            /* 2 */ row(&person, "冯芳清"),
            /* 3 */ row(&typo(&person, 17, '0'), "郑成功"),
            /* 4 */ row(&typo(&person, 17, '0'), "冯芳清"),
            /* 5 */ row(&other, "王晓明"),
            /* 6 */ row(&swap(&other, 8), "王小明"),
        ],
    );
    // Nor does name + birth date link a student to such a number, under
    // either name; 何小宝 and 唐大宝 (born 2012-02-02) are one row each.
    let child = id("34112220120202303");
    let settlement_2 = table(
        "结算2.csv",
        PRIMARY,
        false,
        &[row(&child, "何小宝"), row(&child, "唐大宝")],
    );
    let education = table(
        "学籍.csv",
        PRIMARY,
        true,
        &[
            student("", "何小宝", "2012-02-02"),
            student("", "唐大宝", "2012-02-02"),
            student("", "何晓宝", "2012-02-02"),
        ],
    );
    let res = resolve_tables(vec![
        ("medical_enrollment", enrollment),
        ("medical_settlement", settlement),
        ("contribution", settlement_2),
        ("education", education),
    ])
    .await;
    assert_unlinked(
        &res,
        &[
            ("medical_settlement", "3"),
            ("medical_settlement", "4"),
            ("education", "2"),
            ("education", "3"),
            // Nor by sound (何晓宝 for 何小宝).
            ("education", "4"),
        ],
    );
    assert_eq!(link(&res, "medical_settlement", "6").0, Some(other));
    // Whose ID it is is unknown, so neither name's link is sure: both are
    // scored as a name that disagrees, the first in code-point order too;
    // the homophones' ID keeps its owner's score.
    for (extract, row) in [("medical_enrollment", "2"), ("medical_settlement", "2")] {
        let (linked, _, score) = link(&res, extract, row);
        assert_eq!(linked, Some(person.clone()));
        assert_eq!(score, levels::SCORE_NAME_DISAGREES, "{extract} row {row}");
    }
    assert_eq!(link(&res, "medical_enrollment", "3").2, 1.0);
    assert_eq!(link(&res, "medical_settlement", "5").2, 1.0);
}

/// A person whose ID is unowned (two disagreeing names, once each) still
/// stands in the way of another: a typo one error from both, or a student
/// of his name and birth date, is linked to neither (leaving him out would
/// make the other the only candidate).
#[tokio::test]
async fn an_unowned_id_still_counts_as_a_candidate() {
    let unowned = "341122201202023037"; // 何小宝 once, 唐大宝 once
    let other = "341122201202023010"; // 何小宝, born the same day
    let typed = "341122201202023030"; // one error from each
    assert_eq!(classify(unowned).1, "valid");
    assert_eq!(classify(other).1, "valid");
    assert_eq!(classify(typed).1, "bad_check");
    let enrollment = table(
        "参保.csv",
        PRIMARY,
        false,
        &[row(unowned, "何小宝"), row(other, "何小宝")],
    );
    let contribution = table("缴费.csv", PRIMARY, false, &[row(unowned, "唐大宝")]);
    let settlement = table("结算.csv", PRIMARY, false, &[row(typed, "何小宝")]);
    let education = table(
        "学籍.csv",
        PRIMARY,
        true,
        &[
            student("", "何小宝", "2012-02-02"),
            student("", "唐大宝", "2012-02-02"),
        ],
    );
    let res = resolve_tables(vec![
        ("medical_enrollment", enrollment),
        ("contribution", contribution),
        ("medical_settlement", settlement),
        ("education", education),
    ])
    .await;
    assert_unlinked(
        &res,
        &[
            ("medical_settlement", "2"),
            ("education", "2"),
            ("education", "3"),
        ],
    );
}

#[tokio::test]
async fn a_traditional_form_is_a_variant_repair_and_no_conflict() {
    let ctx = session(2);
    let roster = table(
        "名册.csv",
        PRIMARY,
        false,
        &[row(&li(), "李四（曾用名李思）"), row(&zhang(), "张三")],
    );
    let settlement = table(
        "结算.csv",
        PRIMARY,
        false,
        &[
            /* 2 */ row(&typo(&zhang(), 14, '7'), "張三"),
            /* 3 */ row(&li(), "李思"),
            /* 4 */ row(&li(), "李 四"),
        ],
    );
    register_batch(&ctx, "roster", roster).unwrap();
    register_batch(&ctx, "medical_settlement", settlement).unwrap();
    let res = resolve_all(&ctx, &["roster", "medical_settlement"])
        .await
        .unwrap();
    assert_eq!(
        link(&res, "medical_settlement", "2"),
        (Some(zhang()), "repaired".into(), 0.9)
    );
    // A former name and spacing are variants: full score, no DQ02.
    assert_eq!(
        link(&res, "medical_settlement", "3"),
        (Some(li()), "exact".into(), 1.0)
    );
    assert_eq!(
        link(&res, "medical_settlement", "4"),
        (Some(li()), "exact".into(), 1.0)
    );
    assert_eq!(res.dq02_name_conflict.num_rows(), 0);
}

#[tokio::test]
async fn a_run_without_extracts_gives_empty_tables() {
    let ctx = session(1);
    let res = resolve_all(&ctx, &[]).await.unwrap();
    assert_eq!(res.links.num_rows(), 0);
    assert_eq!(res.resolved_ids.num_rows(), 0);
    assert_eq!(res.links.schema().field(0).name(), "extract");
}

#[tokio::test]
async fn an_extract_without_an_id_column_has_empty_resolved_rows() {
    let ctx = session(2);
    register_fixture(&ctx);
    let notes = RecordBatch::try_from_iter([(
        "amount",
        Arc::new(StringArray::from(vec!["12.5"])) as ArrayRef,
    )])
    .unwrap();
    register_batch(&ctx, "notes", notes).unwrap();
    let mut extracts = EXTRACTS.to_vec();
    extracts.push("notes");
    let res = resolve_all(&ctx, &extracts).await.unwrap();
    let own = query_batch(
        &ctx,
        &format!(
            "SELECT count(*) AS n FROM \"{}\"",
            tables::resolved_ids_of("notes")
        ),
    )
    .await
    .unwrap();
    let n = own
        .column(0)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::Int64Array>();
    assert_eq!(n.unwrap().value(0), 0);
    // The other extracts resolve as they do without it.
    let without = run(2).await;
    assert_eq!(res.links, without.links);
    assert_eq!(res.resolved_ids, without.resolved_ids);
}

/// Scale smoke test (`cargo test --lib resolve::tests::scale -- --ignored
/// --nocapture`): 20 000 persons, 200 000 department rows, 1 % typos.
#[tokio::test]
#[ignore]
async fn scale() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("hedui=debug")
        .with_test_writer()
        .try_init();
    let persons: Vec<String> = (0..20_000u32)
        .map(|i| {
            id(&format!(
                "1101051980{:02}{:02}{:03}",
                1 + i % 12,
                1 + i % 28,
                i % 1000
            ))
        })
        .collect();
    let names: Vec<String> = (0..20_000u32)
        .map(|i| format!("张{}", char::from_u32(0x4E00 + i).unwrap()))
        .collect();
    let roster_rows: Vec<Row<'_>> = persons.iter().zip(&names).map(|(p, n)| row(p, n)).collect();
    let dept_rows: Vec<Row<'_>> = (0..200_000usize)
        .map(|i| {
            let k = (i * 7919) % persons.len();
            let raw = if i % 100 == 0 {
                let p = &persons[k];
                let d = if &p[12..13] == "5" { '6' } else { '5' };
                typo(p, 13, d)
            } else {
                persons[k].clone()
            };
            row(&raw, &names[k])
        })
        .collect();
    let ctx = session(2);
    register_batch(&ctx, "roster", table("r.csv", PRIMARY, false, &roster_rows)).unwrap();
    register_batch(
        &ctx,
        "medical_settlement",
        table("s.csv", PRIMARY, false, &dept_rows),
    )
    .unwrap();
    let start = std::time::Instant::now();
    let res = resolve_all(&ctx, &["roster", "medical_settlement"])
        .await
        .unwrap();
    eprintln!(
        "resolved {} links in {:?}",
        res.links.num_rows(),
        start.elapsed()
    );
    let methods = strings(&res.links, "method");
    let repaired = methods
        .iter()
        .filter(|m| m.as_deref() == Some("repaired"))
        .count();
    eprintln!("repaired {repaired}");
    assert_eq!(res.links.num_rows(), 200_000);
}

#[tokio::test]
async fn typos_of_one_name_in_different_rows_are_no_conflict_while_one_name_agrees_with_all() {
    let ctx = session(2);
    let settlement = table(
        "结算.csv",
        PRIMARY,
        false,
        &[
            // Each row one homophone from 邓枫策, two from each other; by
            // count and code point the known name is 邓峰策.
            /* 2 */
            row(&zhang(), "邓峰策"),
            /* 3 */ row(&zhang(), "邓枫厕"),
            /* 4 */ row(&zhang(), "邓枫策"),
            // Two typos from a name no row carries: no name agrees with
            // both, a conflict.
            /* 5 */
            row(&li(), "孙康佳"),
            /* 6 */ row(&li(), "孙糠嘉"),
            // Another name beside a typo: a conflict.
            /* 7 */
            row(&wang(), "王小明"),
            /* 8 */ row(&wang(), "王晓明"),
            /* 9 */ row(&wang(), "钱多多"),
        ],
    );
    register_batch(&ctx, "medical_settlement", settlement).unwrap();
    let res = resolve_all(&ctx, &["medical_settlement"]).await.unwrap();
    let dq02 = &res.dq02_name_conflict;
    assert_eq!(strings(dq02, "id_number"), {
        let mut ids = vec![Some(li()), Some(wang())];
        ids.sort();
        ids
    });
    let names = strings(dq02, "names");
    assert!(
        names.contains(&Some("孙康佳、孙糠嘉".to_string())),
        "{names:?}"
    );
    assert!(
        names.contains(&Some("王小明、王晓明、钱多多".to_string())),
        "{names:?}"
    );
}

/// A name two homophones off the roster's (王晓鸣 for 王小明) beside one
/// that agrees with both (王晓明) is a name typed by ear twice over: no
/// conflict (a generated county's rows carry such names). Another name
/// beside them is one.
#[tokio::test]
async fn a_chain_of_homophones_from_the_roster_name_is_no_conflict() {
    let ctx = session(2);
    let roster = table(
        "名册.csv",
        PRIMARY,
        false,
        &[row(&wang(), "王小明"), row(&zhang(), "张三")],
    );
    let settlement = table(
        "结算.csv",
        PRIMARY,
        false,
        &[
            row(&wang(), "王晓鸣"),
            row(&wang(), "王晓明"),
            // Typos of the roster's name and another name: a conflict.
            row(&zhang(), "章三"),
            row(&zhang(), "張三"),
            row(&zhang(), "李四"),
        ],
    );
    register_batch(&ctx, "roster", roster).unwrap();
    register_batch(&ctx, "medical_settlement", settlement).unwrap();
    let res = resolve_all(&ctx, &["roster", "medical_settlement"])
        .await
        .unwrap();
    let dq02 = &res.dq02_name_conflict;
    assert_eq!(strings(dq02, "id_number"), vec![Some(zhang())]);
}

#[tokio::test]
async fn a_person_is_known_by_the_roster_name_else_the_most_frequent_else_the_smallest() {
    let ctx = session(2);
    let tie = id("34112219900101001");
    let frequent = id("34112219900101002");
    let rostered = id("34112219900101003");
    let variants = id("34112219900101004");
    let roster = table("名册.csv", PRIMARY, false, &[row(&rostered, "王五")]);
    let pension = table(
        "养老.csv",
        PRIMARY,
        false,
        &[
            // Tied counts: the smaller name, even when it starts the other.
            row(&tie, "张三丰"),
            row(&tie, "张三"),
            row(&frequent, "李四"),
            row(&frequent, "李思"),
            row(&frequent, "李思"),
            // The roster's name wins over three rows of another.
            row(&rostered, "王武"),
            row(&rostered, "王武"),
            row(&rostered, "王武"),
            // Two ways of writing one name count together; the smallest
            // way written is kept.
            row(&variants, "趙六"),
            row(&variants, "赵六"),
            row(&variants, "赵陆"),
        ],
    );
    register_batch(&ctx, "roster", roster).unwrap();
    register_batch(&ctx, "pension", pension).unwrap();
    let res = resolve_all(&ctx, &["roster", "pension"]).await.unwrap();
    let names: Vec<_> = strings(&res.persons, "person_id")
        .into_iter()
        .zip(strings(&res.persons, "name"))
        .zip(strings(&res.persons, "name_raw"))
        .map(|((id, name), raw)| (id.unwrap(), name.unwrap(), raw.unwrap()))
        .collect();
    let expect =
        |id: &str, name: &str, raw: &str| (id.to_string(), name.to_string(), raw.to_string());
    assert_eq!(
        names,
        vec![
            expect(&tie, "张三", "张三"),
            expect(&frequent, "李思", "李思"),
            expect(&rostered, "王五", "王五"),
            expect(&variants, "赵六", "赵六"),
        ]
    );
}

#[tokio::test]
async fn a_check_character_x_swapped_with_the_digit_before_it_is_repaired() {
    // 34112219800101106X typed with its last two characters swapped.
    let person = id("34112219800101106");
    assert!(person.ends_with('X'));
    let typed = swap(&person, 17);
    assert_eq!(typed, "3411221980010110X6");
    let ctx = session(2);
    let roster = table(
        "名册.xlsx",
        &[("id_number", "name"), ("head_id", "head_name")],
        false,
        &[Row {
            ids: vec![person.clone(), person.clone()],
            names: vec!["张小明", "张小明"],
            birth: None,
            dup: false,
        }],
    );
    let enrollment = table(
        "参保.csv",
        PRIMARY,
        false,
        &[row(&typed, "张小明"), row(&typed.to_lowercase(), "李大山")],
    );
    register_batch(&ctx, "roster", roster).unwrap();
    register_batch(&ctx, "medical_enrollment", enrollment).unwrap();
    let res = resolve_all(&ctx, &["roster", "medical_enrollment"])
        .await
        .unwrap();
    assert_eq!(
        link(&res, "medical_enrollment", "2"),
        (Some(person.clone()), "repaired".into(), 0.93)
    );
    assert_eq!(
        strings(&res.dq03_repaired_id, "id_number"),
        vec![Some(person)]
    );
    // Another name: no candidate agrees, so the row stays unlinked (DQ01).
    assert_eq!(
        link(&res, "medical_enrollment", "3"),
        (None, "unlinked".into(), 0.0)
    );
    assert_eq!(strings(&res.dq01_invalid_id, "row"), vec![Some("3".into())]);
}

/// A session (2 threads) whose roster holds a member row for each (ID, name).
fn session_with_roster(members: &[(&str, &str)]) -> SessionContext {
    let ctx = session(2);
    let rows: Vec<Row<'_>> = members.iter().map(|(id, name)| row(id, name)).collect();
    register_batch(&ctx, "roster", table("名册.csv", PRIMARY, false, &rows)).unwrap();
    ctx
}

/// A minority name with its separator written or left out is one name to
/// name + birth date: it links when one person qualifies, and two persons
/// known by the two forms are two candidates.
#[tokio::test]
async fn name_birth_does_not_tell_a_minority_name_by_its_separator() {
    let a = id("65010120150101001");
    let b = id("65010220150101003");
    let student = |name: &'static str| Row {
        ids: vec!["".into()],
        names: vec![name],
        birth: Some("2015-01-01"),
        dup: false,
    };
    let education = || {
        table(
            "学籍.csv",
            PRIMARY,
            true,
            &[
                /* 2 */ student("买买提艾力"),
                /* 3 */ student("买买提 艾力"),
                /* 4 */ student("买买提·艾力"),
            ],
        )
    };

    // The roster knows `a` as 买买提·艾力; `also` is a settlement row more.
    let resolve = |also: Option<RecordBatch>| {
        let (a, education) = (a.clone(), education());
        async move {
            let ctx = session_with_roster(&[(&a, "买买提·艾力")]);
            let mut names = vec!["roster", "education"];
            if let Some(batch) = also {
                register_batch(&ctx, "medical_settlement", batch).unwrap();
                names.push("medical_settlement");
            }
            register_batch(&ctx, "education", education).unwrap();
            resolve_all(&ctx, &names).await.unwrap()
        }
    };
    // Every education row's link, against the one expected.
    let all_link = |res: &Resolved, expected: (Option<String>, String, f64)| {
        for r in ["2", "3", "4"] {
            assert_eq!(link(res, "education", r), expected, "education:{r}");
        }
    };
    let settlement = |id: &str| Some(table("结算.csv", PRIMARY, false, &[row(id, "买买提艾力")]));
    let linked = (Some(a.clone()), "name_birth".to_string(), 0.8);
    all_link(&resolve(None).await, linked.clone());
    all_link(
        &resolve(settlement(&b)).await,
        (None, "unlinked".into(), 0.0),
    );
    // One person known by both forms is one candidate, met twice.
    all_link(&resolve(settlement(&a)).await, linked);
}

/// A name that another row put on a person's ID (a spouse's name on the
/// head's ID: DQ02) does not confirm a repair of a typo of that ID written
/// with that name; the person's own name does.
#[tokio::test]
async fn a_conflicting_name_on_an_id_does_not_confirm_its_repair() {
    let ctx = session_with_roster(&[(&zhang(), "张三")]);
    let property = table("不动产.csv", PRIMARY, false, &[row(&zhang(), "李芳")]);
    register_batch(&ctx, "property", property).unwrap();
    let settlement = table(
        "结算.csv",
        PRIMARY,
        false,
        &[
            /* 2 */ row(&typo(&zhang(), 14, '7'), "李芳"),
            /* 3 */ row(&typo(&zhang(), 14, '7'), "张三"),
        ],
    );
    register_batch(&ctx, "medical_settlement", settlement).unwrap();
    let res = resolve_all(&ctx, &["roster", "property", "medical_settlement"])
        .await
        .unwrap();
    assert_eq!(res.dq02_name_conflict.num_rows(), 1);
    assert_eq!(
        link(&res, "medical_settlement", "2"),
        (None, "unlinked".into(), 0.0)
    );
    assert_eq!(link(&res, "medical_settlement", "3").0, Some(zhang()));
}

/// An education row: a student's ID as written, name and birth date.
fn student<'a>(id_raw: &str, name: &'a str, birth: &'a str) -> Row<'a> {
    Row {
        ids: vec![id_raw.to_string()],
        names: vec![name],
        birth: Some(birth),
        dup: false,
    }
}

/// A student's bad ID one typo from a person born another day than the
/// row's birth date is not repaired to that person: the row's birth date
/// agrees with the ID as written, and a classmate of the same name born
/// that day is the one name + birth date links. Without the classmate the
/// row stays unlinked; a birth date that agrees with the candidate repairs.
#[tokio::test]
async fn a_repair_that_contradicts_the_row_s_birth_date_is_not_made() {
    let march = id("34112220150303123"); // 张一鸣, born 2015-03-03
    let august = id("34112220150803457"); // 张一鸣, born 2015-08-03
    let typed = typo(&march, 11, '8'); // reads 2015-08-03
    assert_eq!(classify(&typed).1, "bad_check");
    for (with_classmate, birth, expected) in [
        (
            true,
            "2015-08-03",
            (Some(august.clone()), "name_birth", 0.8),
        ),
        (false, "2015-08-03", (None, "unlinked", 0.0)),
        (true, "2015-03-03", (Some(march.clone()), "repaired", 0.93)),
    ] {
        let mut roster = vec![(march.as_str(), "张一鸣")];
        if with_classmate {
            roster.push((august.as_str(), "张一鸣"));
        }
        let ctx = session_with_roster(&roster);
        let education = table(
            "学籍.csv",
            PRIMARY,
            true,
            &[/* 2 */ student(&typed, "张一鸣", birth)],
        );
        register_batch(&ctx, "education", education).unwrap();
        let res = resolve_all(&ctx, &["roster", "education"]).await.unwrap();
        let (person, method, score) = expected;
        assert_eq!(
            link(&res, "education", "2"),
            (person, method.to_string(), score),
            "{with_classmate} {birth}"
        );
    }
}

/// A repair is decided for each birth date the rows of a bad ID and name
/// give: the row whose birth date contradicts the one candidate is not
/// repaired, a row of another date or of none (a pension) is.
#[tokio::test]
async fn a_repair_is_decided_for_each_birth_date_a_row_gives() {
    let march = id("34112220150303123"); // 张一鸣, born 2015-03-03
    let typed = typo(&march, 11, '8'); // reads 2015-08-03
    let ctx = session_with_roster(&[(march.as_str(), "张一鸣")]);
    let education = table(
        "学籍.csv",
        PRIMARY,
        true,
        &[
            /* 2 */ student(&typed, "张一鸣", "2015-08-03"),
            /* 3 */ student(&typed, "张一鸣", "2015-03-03"),
        ],
    );
    register_batch(&ctx, "education", education).unwrap();
    let pension = table("养老.csv", PRIMARY, false, &[/* 2 */ row(&typed, "张一鸣")]);
    register_batch(&ctx, "pension", pension).unwrap();
    let res = resolve_all(&ctx, &["roster", "education", "pension"])
        .await
        .unwrap();
    assert_eq!(link(&res, "education", "2"), (None, "unlinked".into(), 0.0));
    let repaired = (Some(march.clone()), "repaired".to_string(), 0.93);
    assert_eq!(link(&res, "education", "3"), repaired);
    assert_eq!(link(&res, "pension", "2"), repaired);
}

/// Name + birth date counts only the names a person is known by that
/// agree with the best-known one: another child's name written on his ID
/// (DQ02) does not make him that child.
#[tokio::test]
async fn name_birth_does_not_take_a_name_that_disagrees_with_the_person() {
    let he = id("34112220160202015"); // 何涛信, born 2016-02-02
    let ctx = session_with_roster(&[(he.as_str(), "何涛信")]);
    let pension = table("养老.csv", PRIMARY, false, &[/* 2 */ row(&he, "王小二")]);
    register_batch(&ctx, "pension", pension).unwrap();
    let education = table(
        "学籍.csv",
        PRIMARY,
        true,
        &[
            /* 2 */ student("", "王小二", "2016-02-02"),
            /* 3 */ student("", "何涛信", "2016-02-02"),
        ],
    );
    register_batch(&ctx, "education", education).unwrap();
    let res = resolve_all(&ctx, &["roster", "pension", "education"])
        .await
        .unwrap();
    assert_eq!(link(&res, "education", "2"), (None, "unlinked".into(), 0.0));
    assert_eq!(
        link(&res, "education", "3"),
        (Some(he.clone()), "name_birth".into(), 0.8)
    );
}

/// An education row whose bad ID no repair resolves (two digits wrong)
/// links by name and birth date when one known person qualifies, and is
/// still DQ01: its ID number is invalid and was not repaired.
#[tokio::test]
async fn an_unrepaired_bad_id_links_by_name_and_birth_and_stays_dq01() {
    let two_wrong = typo(&typo(&zhang(), 16, '9'), 15, '8');
    assert_eq!(classify(&two_wrong).1, "bad_check");
    let ctx = session_with_roster(&[(&zhang(), "张三")]);
    let student = |birth| student(&two_wrong, "张三", birth);
    let education = table(
        "学籍.csv",
        PRIMARY,
        true,
        &[
            /* 2 */ student("1980-01-01"),
            /* 3 */ student("1980-01-02"),
        ],
    );
    register_batch(&ctx, "education", education).unwrap();
    let res = resolve_all(&ctx, &["roster", "education"]).await.unwrap();
    assert_eq!(
        link(&res, "education", "2"),
        (Some(zhang()), "name_birth".into(), 0.8)
    );
    assert_eq!(link(&res, "education", "3"), (None, "unlinked".into(), 0.0));
    let dq01 = &res.dq01_invalid_id;
    assert_eq!(
        strings(dq01, "row"),
        vec![Some("2".to_string()), Some("3".to_string())]
    );
    assert_eq!(
        strings(dq01, "method"),
        vec![Some("name_birth".to_string()), Some("unlinked".to_string())]
    );
}

/// A record with no ID whose name no known person of its birth date has
/// links to the one person of that date whose name is a homophone typo of
/// it (lower score, level `homophone`; names of three characters or more);
/// a same-named person wins over a
/// homophone, and two homophones (one sharing the first character, the
/// other the rest), or same-named persons who tie, leave the record
/// unlinked (DQ01).
#[tokio::test]
async fn no_usable_id_links_a_homophone_name_only_when_no_one_has_the_name() {
    let he = id("34112220210305004"); // 何涛信
    let xu = id("34112220190707004"); // 徐明华
    let chen = id("34112220160606004"); // 陈兵
    let liu_a = id("34112220200101002"); // 刘榕华
    let liu_b = id("34112220200101011"); // 刘荣华
    let wang_same = id("34112220180202002"); // 王小明
    let wang_sound = id("34112220180202011"); // 王晓明
    let wu_a = id("34112220170303002"); // 吴十
    let wu_b = id("34112220170303011"); // 吴十, the same day
    let wu_sound = id("34112220170303029"); // 吴拾
    let zhao_tail = id("34112220150505002"); // 赵名轩
    let zhao_head = id("34112220150505011"); // 照明轩
    let ctx = session_with_roster(&[(&he, "何涛信")]);
    let known = [
        (&xu, "徐明华"),
        (&chen, "陈兵"),
        (&liu_a, "刘榕华"),
        (&liu_b, "刘荣华"),
        (&wang_same, "王小明"),
        (&wang_sound, "王晓明"),
        (&wu_a, "吴十"),
        (&wu_b, "吴十"),
        (&wu_sound, "吴拾"),
        (&zhao_tail, "赵名轩"),
        (&zhao_head, "照明轩"),
    ];
    let rows: Vec<Row<'_>> = known.iter().map(|(id, name)| row(id, name)).collect();
    register_batch(
        &ctx,
        "medical_enrollment",
        table("参保.csv", PRIMARY, false, &rows),
    )
    .unwrap();
    let student = |name, birth| student("", name, birth);
    let education = table(
        "学籍.csv",
        PRIMARY,
        true,
        &[
            /* 2 */ student("何逃信", "2021-03-05"),
            /* 3 */ student("许明华", "2019-07-07"),
            /* 4 */ student("刘蓉华", "2020-01-01"),
            /* 5 */ student("王小明", "2018-02-02"),
            /* 6 */ student("吴拾", "2017-03-03"),
            /* 7 */ student("吴十", "2017-03-03"),
            /* 8 */ student("何逃信", "2021-03-06"),
            /* 9 */ student("何逃义", "2021-03-05"),
            /* 10 */ student("陈冰", "2016-06-06"),
            /* 11 */ student("赵明轩", "2015-05-05"),
        ],
    );
    register_batch(&ctx, "education", education).unwrap();
    let res = resolve_all(&ctx, &["roster", "medical_enrollment", "education"])
        .await
        .unwrap();
    let sounds = |person: &str| (Some(person.to_string()), "name_birth".into(), 0.75);
    // The school's spelling sounds like the insurer's; no one has it.
    assert_eq!(link(&res, "education", "2"), sounds(&he));
    // A surname typo: 许 for 徐.
    assert_eq!(link(&res, "education", "3"), sounds(&xu));
    // Two homophones of 刘蓉华 born that day: no one.
    assert_eq!(link(&res, "education", "4"), (None, "unlinked".into(), 0.0));
    // The same name beats a homophone.
    assert_eq!(
        link(&res, "education", "5"),
        (Some(wang_same.clone()), "name_birth".into(), 0.8)
    );
    // 吴拾 is known by that name itself: the same name.
    assert_eq!(
        link(&res, "education", "6"),
        (Some(wu_sound.clone()), "name_birth".into(), 0.8)
    );
    // Two 吴十 tie; the homophone 吴拾 does not break the tie.
    assert_eq!(link(&res, "education", "7"), (None, "unlinked".into(), 0.0));
    // Another birth date, and two characters off: no one.
    assert_eq!(link(&res, "education", "8"), (None, "unlinked".into(), 0.0));
    assert_eq!(link(&res, "education", "9"), (None, "unlinked".into(), 0.0));
    // A name of two characters: too many namesakes by sound.
    assert_eq!(
        link(&res, "education", "10"),
        (None, "unlinked".into(), 0.0)
    );
    // Two homophones, one sharing the first character, the other the
    // rest: no one.
    assert_eq!(
        link(&res, "education", "11"),
        (None, "unlinked".into(), 0.0)
    );
    let dq01 = &res.dq01_invalid_id;
    let rows: Vec<_> = strings(dq01, "row").into_iter().flatten().collect();
    assert_eq!(rows, ["4", "7", "8", "9", "10", "11"]);
}

/// The names of `waves`' steps, wave by wave.
fn wave_names(steps: &[(&'static str, String)]) -> Vec<Vec<&'static str>> {
    waves(steps)
        .unwrap()
        .into_iter()
        .map(|w| w.into_iter().map(|(n, _)| n).collect())
        .collect()
}

#[test]
fn steps_run_in_waves_after_the_tables_their_queries_name() {
    let steps = [
        ("t_a", "SELECT 1".to_string()),
        ("t_b", "SELECT * FROM t_a".to_string()),
        (
            "t_c",
            "SELECT * FROM \"t_a\" JOIN t_b_x ON true".to_string(),
        ),
        ("t_b_x", "SELECT * FROM t_a WHERE x = 't_c_'".to_string()),
        (
            "t_d",
            "SELECT * FROM t_b UNION ALL SELECT * FROM t_c".to_string(),
        ),
    ];
    // A name counts as a whole word only: `t_b_x` is not `t_b`, nor is
    // `t_c_` inside a literal `t_c`.
    assert_eq!(
        wave_names(&steps),
        vec![vec!["t_a"], vec!["t_b", "t_b_x"], vec!["t_c"], vec!["t_d"]]
    );
    let circle = [
        ("t_a", "SELECT * FROM t_b".to_string()),
        ("t_b", "SELECT * FROM t_a".to_string()),
    ];
    let err = waves(&circle).unwrap_err().to_string();
    assert!(err.contains("circle"), "{err}");
}

#[test]
fn resolution_s_own_steps_wait_for_what_they_read() {
    use tables::*;
    assert_eq!(
        wave_names(&steps(plan::observations_empty())),
        vec![
            vec![OBS],
            vec![SEEN],
            vec![KNOWN, PERSONS],
            vec![UNOWNED, CANDIDATES],
            vec![DIRECT, REPAIRS, NAME_BIRTH],
            vec![RESOLVED_OTHER, RESOLVED_LINKED],
            vec![RESOLVED],
        ]
    );
}

/// A small input's session: one partition, its steps side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_of_a_small_input_are_the_results_split_over_partitions() {
    let ctx = session(2);
    crate::engine::mark_small_input(&ctx);
    register_fixture(&ctx);
    let small = resolve_all(&ctx, EXTRACTS).await.unwrap();
    assert_same(&small, &run(2).await);
}

#[tokio::test]
async fn on_disk_no_extracts_resolve_to_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _) = disk_session(dir.path());
    let res = resolve_all(&ctx, &[]).await.unwrap();
    assert_eq!(res.links.num_rows(), 0);
    assert_eq!(res.resolved_ids.num_rows(), 0);
    // The empty linked view reads only what its step's query names, not
    // the other table of its wave.
    let view = plan::union_of(&[], &plan::resolved_linked(tables::OBS_LINKED));
    assert!(!view.contains(tables::RESOLVED_OTHER), "{view}");
}

#[tokio::test]
async fn persons_attached_after_resolution_are_what_the_join_gives() {
    // After a resolution the linked rows' persons come from their own
    // columns and the kernels, the others from the resolved other rows:
    // every extract, every ID field, as the join of the resolved IDs.
    let ctx = session(2);
    register_fixture(&ctx);
    resolve(&ctx, EXTRACTS).await.unwrap();
    assert!(
        direct::registered_levels(&ctx).is_some(),
        "the direct path is taken"
    );
    let mut expected = Vec::new();
    for name in EXTRACTS {
        let join = crate::attach::attach_sql(&ctx, name).await.unwrap();
        let sql = format!("SELECT * FROM ({join}) ORDER BY \"_ord\"");
        expected.push(query_batch(&ctx, &sql).await.unwrap());
    }
    crate::attach::attach_persons(&ctx, EXTRACTS).await.unwrap();
    let mut methods = std::collections::BTreeSet::new();
    let mut scores = Vec::new();
    for (name, expected) in EXTRACTS.iter().zip(expected) {
        let sql = format!("SELECT * FROM {name} ORDER BY \"_ord\"");
        let got = query_batch(&ctx, &sql).await.unwrap();
        assert_eq!(got, expected, "{name}");
        methods.extend(strings(&got, "person_method").into_iter().flatten());
        let score = got.column_by_name("person_score").unwrap();
        let score = score.as_any().downcast_ref::<Float64Array>().unwrap();
        scores.extend(score.values().iter().copied());
    }
    // The fixture holds every kind of link, and a name that disagrees.
    for method in ["exact", "normalized", "legacy15", "repaired", "unlinked"] {
        assert!(methods.contains(method), "{method} in {methods:?}");
    }
    assert!(scores.contains(&levels::SCORE_NAME_DISAGREES), "{scores:?}");
    // Guardians and heads are attached too.
    let guardians = query_batch(
        &ctx,
        "SELECT guardian_person_id FROM education WHERE guardian_person_id IS NOT NULL",
    )
    .await
    .unwrap();
    assert!(guardians.num_rows() > 0);
}

/// `links` (in `_ord` order) hold what extract `name`'s links view gives,
/// column by column, row by row.
async fn assert_links_are_the_view(ctx: &SessionContext, name: &str, links: &RecordBatch) {
    let view = format!("SELECT * FROM ({}) ORDER BY \"_ord\"", links_of(name));
    let view = query_batch(ctx, &view).await.unwrap();
    assert_eq!(links.num_rows(), view.num_rows(), "{name}");
    for (i, field) in view.schema().fields().iter().enumerate() {
        let want = datafusion::arrow::compute::cast(view.column(i), field.data_type()).unwrap();
        let got = links.column_by_name(field.name()).unwrap();
        let got = datafusion::arrow::compute::cast(got, field.data_type()).unwrap();
        assert_eq!(&got, &want, "{name}.{}", field.name());
    }
}

#[tokio::test]
async fn links_held_in_the_attached_tables_are_the_links_views() {
    // In memory the links are taken from the attached tables' own columns:
    // the values that each extract's links view gives, row by row.
    let ctx = session(2);
    register_fixture(&ctx);
    resolve(&ctx, EXTRACTS).await.unwrap();
    crate::attach::attach_persons(&ctx, EXTRACTS).await.unwrap();
    let mut methods = std::collections::BTreeSet::new();
    for name in EXTRACTS.iter().filter(|&&n| n != "roster") {
        let held = crate::attach::held_links(&ctx, name)
            .await
            .unwrap()
            .expect("held in memory");
        let held = OrderedLinks::of_batches(held).unwrap();
        let held = held.slice(0, held.len()).unwrap();
        assert_links_are_the_view(&ctx, name, &held).await;
        methods.extend(strings(&held, "method").into_iter().flatten());
    }
    for method in ["exact", "normalized", "repaired", "unlinked"] {
        assert!(methods.contains(method), "{method} in {methods:?}");
    }
    // A table without persons attached holds none.
    let plain = crate::attach::held_links(&ctx, tables::RESOLVED_OTHER)
        .await
        .unwrap();
    assert!(plain.is_none());
}

#[tokio::test]
async fn persons_attached_on_disk_after_resolution_are_what_the_join_gives() {
    // The extracts held on disk (as the read stage writes a city's), then
    // resolved from their work files: the direct persons beside them, the
    // other rows from an index (ample room) or a sorted pass (none).
    for index_bytes in [u64::MAX, 0] {
        let dir = tempfile::tempdir().unwrap();
        let (ctx, _disk) = disk_session(dir.path());
        register_fixture(&ctx);
        let mut tables = Vec::new();
        for (i, &name) in EXTRACTS.iter().enumerate() {
            let batches = ctx.table(name).await.unwrap().collect().await.unwrap();
            let schema = batches[0].schema();
            let stem = dir.path().join(format!("{i:04}"));
            let mut part = crate::engine::work::WorkPartWriter::create(&stem, &schema).unwrap();
            for batch in &batches {
                part.write(batch).unwrap();
            }
            let table = crate::input::DiskExtract {
                parts: vec![part.finish().unwrap()],
                schema,
                superseded: Vec::new(),
            };
            ctx.deregister_table(name).unwrap();
            crate::attach::register_disk_extract(&ctx, name, &table)
                .await
                .unwrap();
            tables.push((name, table));
        }
        let sources: Vec<(&str, String)> = EXTRACTS
            .iter()
            .map(|&n| (n, crate::attach::rows_table(n)))
            .collect();
        let sources: Vec<(&str, &str)> = sources.iter().map(|(n, t)| (*n, t.as_str())).collect();
        resolve_reading(&ctx, &sources).await.unwrap();
        assert!(direct::registered_levels(&ctx).is_some());
        let mut expected = Vec::new();
        for name in EXTRACTS {
            let join = crate::attach::attach_sql(&ctx, name).await.unwrap();
            let sql = format!("SELECT * FROM ({join}) ORDER BY \"_ord\"");
            expected.push(query_batch(&ctx, &sql).await.unwrap());
        }
        crate::attach::attach_all_beside(&ctx, tables, index_bytes, index_bytes, 2)
            .await
            .unwrap();
        for (name, expected) in EXTRACTS.iter().zip(expected) {
            let sql = format!("SELECT * FROM {name} ORDER BY \"_ord\"");
            let got = query_batch(&ctx, &sql).await.unwrap();
            assert_eq!(got, expected, "{name}, index_bytes {index_bytes}");
        }
        // The links read from the work files in order (what links.csv
        // takes on disk) are each extract's links view, row by row.
        for name in EXTRACTS.iter().filter(|&&n| n != "roster") {
            let links = crate::attach::disk_links(&ctx, name)
                .await
                .unwrap()
                .expect("persons beside the work files");
            let read: Vec<_> = links.batches().map(|b| b.unwrap()).collect();
            let read =
                datafusion::arrow::compute::concat_batches(&read[0].schema(), &read).unwrap();
            assert_links_are_the_view(&ctx, name, &read).await;
        }
    }
}

#[test]
fn an_id_key_tells_every_id_number_from_every_other() {
    let base = "11010519491231002X";
    assert_eq!(id_key(base), Some(11_010_519_491_231_002 * 11 + 10));
    let mut keys = std::collections::HashSet::new();
    keys.insert(id_key(base).unwrap());
    for p in 0..18 {
        for c in "0123456789X".chars() {
            let mut id: Vec<char> = base.chars().collect();
            if id[p] == c || (p < 17 && c == 'X') {
                continue;
            }
            id[p] = c;
            let id: String = id.into_iter().collect();
            assert!(keys.insert(id_key(&id).unwrap()), "{id}");
        }
    }
    for not_one in [
        "",
        "11010519491231002",
        "11010519491231002x",
        "1101051949123100X2",
        "１10105194912310021",
    ] {
        assert_eq!(id_key(not_one), None, "{not_one}");
    }
}
