//! End-to-end on the committed tiny county (fixtures/tiny, written by
//! scripts/make_tiny.sh): golden findings and links, and the evaluator's
//! scores against the generator's truth.

use std::path::Path;

mod common;
use common::{assert_ok, hedui};

fn tiny() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tiny"))
}

fn run_tiny(out: &Path) {
    let o = hedui(&[
        "run",
        "--input",
        tiny().join("input").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--as-of",
        "2025-11-30",
        "--threads",
        "2",
    ]);
    assert_ok(&o);
}

#[test]
fn tiny_county_findings_and_links_match_golden() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_tiny(&out);
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    insta::assert_snapshot!("tiny_findings", read("findings.csv"));
    insta::assert_snapshot!("tiny_links", read("links.csv"));
}

#[test]
fn tiny_county_scores_against_its_truth() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_tiny(&out);
    let o = hedui(&[
        "evaluate",
        "--truth",
        tiny().join("truth").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_ok(&o);
    let e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("evaluation.json")).unwrap())
            .unwrap();
    let links = &e["links"];
    assert!(links["precision"].as_f64().unwrap() >= 0.9995, "{links}");
    assert!(links["recall"].as_f64().unwrap() >= 0.998, "{links}");
    // Every finding the generator planted or its mess implies, and no other.
    let findings = &e["findings_overall"];
    assert_eq!(findings["false_positive"], 0, "{}", e["findings"]);
    assert_eq!(findings["false_negative"], 0, "{}", e["findings"]);
}

/// The truth of another generated county (another seed's files, another
/// as-of date) is refused (exit 4), not scored as a run gone wrong.
#[test]
fn evaluate_refuses_the_truth_of_another_batch() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_tiny(&out);
    let truth = dir.path().join("truth");
    std::fs::create_dir(&truth).unwrap();
    for f in ["links.csv", "findings.csv"] {
        std::fs::copy(tiny().join("truth").join(f), truth.join(f)).unwrap();
    }
    let meta = std::fs::read_to_string(tiny().join("truth/meta.json")).unwrap();
    let evaluate = || {
        hedui(&[
            "evaluate",
            "--truth",
            truth.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    for (from, to, fragment) in [
        (
            "\"roster_202511.tsv\"",
            "\"roster_202512.tsv\"",
            "roster_202512.tsv",
        ),
        (
            "\"as_of\": \"2025-11-30\"",
            "\"as_of\": \"2025-10-31\"",
            "2025-10-31",
        ),
    ] {
        assert!(meta.contains(from), "{from}");
        std::fs::write(truth.join("meta.json"), meta.replace(from, to)).unwrap();
        let o = evaluate();
        assert_eq!(o.status.code(), Some(4));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("不属于") && err.contains(fragment), "{err}");
        assert!(!out.join("evaluation.json").exists());
    }
    std::fs::write(truth.join("meta.json"), meta).unwrap();
    assert_ok(&evaluate());
}

/// A truth folder that is not there: exit 4, the file named in Chinese and
/// English.
#[test]
fn evaluate_without_its_truth_names_the_file_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_tiny(&out);
    let missing = dir.path().join("nosuch");
    let o = hedui(&[
        "evaluate",
        "--truth",
        missing.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    let file = missing.join("links.csv");
    let file = file.display();
    assert!(err.contains(&format!("无法读取 {file}")), "{err}");
    assert!(err.contains(&format!("cannot read {file}")), "{err}");
}

/// The tiny county's files under names that hold their type elsewhere
/// than at the start, or written otherwise (`2025年11月roster.tsv`,
/// `MedicalSettlement.csv`), or by their Chinese titles (`不动产登记.csv`),
/// beside a note and a 低保金发放表 with a
/// pension's columns: each extract is recognised by its header, the others
/// are not read, and the run finds what it finds on the files as named
/// (only DQ01's and DQ04's finding_ids, which name their row's file, and
/// the sources differ).
#[test]
fn files_named_otherwise_are_read_by_their_headers() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    std::fs::create_dir(&input).unwrap();
    let names = [
        ("contribution_202511.csv", "01_contribution.csv"),
        ("education_202511.csv", "学生资助education.csv"),
        ("housing_safety_202511.xlsx", "Housing Safety.xlsx"),
        (
            "medical_enrollment_202511.xlsx",
            "MedicalEnrollment-2025.xlsx",
        ),
        ("medical_settlement_202511.csv", "MedicalSettlement.csv"),
        ("pension_202511.xlsx", "县pension台账.xlsx"),
        ("property_202511.csv", "不动产登记.csv"),
        ("roster_202511.tsv", "2025年11月roster.tsv"),
        ("unemployment_202511.tsv", "失业登记2025.tsv"),
    ];
    for (from, to) in names {
        std::fs::copy(tiny().join("input").join(from), input.join(to)).unwrap();
    }
    std::fs::write(
        input.join("说明.txt"),
        "本目录为 2025 年 11 月的部门数据。\n",
    )
    .unwrap();
    std::fs::write(
        input.join("2025年11月低保金发放表.csv"),
        "姓名,身份证号码,发放月份,发放金额\n张三,341122198001011238,2025-11,800\n",
    )
    .unwrap();
    let renamed = dir.path().join("renamed");
    assert_ok(&common::run_batch(&input, &renamed, None, "2", &[]));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(renamed.join("manifest.json")).unwrap())
            .unwrap();
    for (from, to) in names {
        let extract = from
            .split('_')
            .take_while(|p| !p.starts_with("20"))
            .collect::<Vec<_>>();
        let input = manifest["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["file"] == to)
            .unwrap_or_else(|| panic!("{to} not read: {manifest}"));
        assert_eq!(input["extract"], extract.join("_"), "{to}");
    }
    assert_eq!(
        manifest["ignored"],
        serde_json::json!(["2025年11月低保金发放表.csv", "说明.txt"])
    );

    let named = dir.path().join("named");
    run_tiny(&named);
    // Rule … evidence of each finding, and each link without its file.
    let findings = |out: &Path| {
        let mut rows: Vec<Vec<String>> = csv::Reader::from_path(out.join("findings.csv"))
            .unwrap()
            .records()
            .map(|r| {
                r.unwrap()
                    .iter()
                    .skip(1)
                    .take(9)
                    .map(String::from)
                    .collect()
            })
            .collect();
        rows.sort();
        rows
    };
    let links = |out: &Path| {
        let mut rows: Vec<Vec<String>> = csv::Reader::from_path(out.join("links.csv"))
            .unwrap()
            .records()
            .map(|r| r.unwrap().iter().skip(2).map(String::from).collect())
            .collect();
        rows.sort();
        rows
    };
    assert!(findings(&named).len() > 50);
    assert_eq!(findings(&renamed), findings(&named));
    assert_eq!(links(&renamed), links(&named));
}
