//! The findings table of report.html in a real browser: 20,000 synthetic
//! findings rendered by `hedui report`, opened in headless Chromium, the DOM
//! dumped after the page's script ran. Checks the total, filters given in
//! the URL hash (rule, township, free text), sorting and paging, and that
//! the page shows masked values only. Leaves a screenshot in
//! `<target dir>/test-artefacts/report_browser.png`.
//!
//! Without `/usr/bin/chromium` the test prints a notice and passes, unless
//! `HEDUI_REQUIRE_BROWSER=1` (set by `.ci/run`), when it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hedui::report::findings::{self, FindingRow};
use hedui::report::manifest::Manifest;
use hedui::rules::RULES;

mod common;
use common::{assert_ok, hedui};

const CHROMIUM: &str = "/usr/bin/chromium";
const FINDINGS: usize = 20_000;
const TOWNSHIPS: [&str; 4] = ["城关镇", "河西乡", "东山镇", ""];
const NAMES: [&str; 3] = ["张三明", "李四", "欧阳娜娜"];

fn synthetic(i: usize) -> FindingRow {
    let rule = &RULES[i % RULES.len()];
    let household = format!("H{:05}", i / 3);
    let id = format!("11010519900101{:04}", i % 10_000);
    FindingRow {
        finding_id: findings::finding_id(rule.code, &household, &format!("{id}{i}"), None),
        rule: rule.code.to_string(),
        kind: rule.kind.to_string(),
        severity: rule.severity.to_string(),
        household_id: household,
        id_number: id,
        name: NAMES[i % NAMES.len()].to_string(),
        township: TOWNSHIPS[i % TOWNSHIPS.len()].to_string(),
        village: format!("第{}村", i % 50),
        evidence: format!("人均月收入 {i}.00 元 > 标准 800.00 元"),
        sources: format!("roster:roster_202511.xlsx:{}", i + 2),
        matched: "exact".to_string(),
        case_status: if i.is_multiple_of(7) {
            "持续"
        } else {
            "新增"
        }
        .to_string(),
    }
}

/// An output folder as `hedui run` leaves it (findings.csv and
/// manifest.json), with the reports rendered by `hedui report`.
fn synthetic_output(dir: &Path) -> (PathBuf, Vec<FindingRow>) {
    let mut rows: Vec<FindingRow> = (0..FINDINGS).map(synthetic).collect();
    findings::sort(&mut rows);
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    findings::write_csv(
        std::fs::File::create(out.join("findings.csv")).unwrap(),
        &rows,
    )
    .unwrap();
    let manifest = Manifest {
        tool: "hedui",
        version: env!("CARGO_PKG_VERSION"),
        command: "run".to_string(),
        as_of: "2025-11-30".to_string(),
        config_sha256: String::new(),
        config: Default::default(),
        inputs: Vec::new(),
        ignored: Vec::new(),
        missing_optional: Vec::new(),
        stages: Vec::new(),
        findings_per_rule: Default::default(),
        status: "ok".to_string(),
        problems: Vec::new(),
        masked: true,
        allow_shrink: false,
        cases: None,
        disappeared_cases: Vec::new(),
    };
    std::fs::write(out.join("manifest.json"), manifest.to_json()).unwrap();
    assert_ok(&hedui(&["report", "--out", out.to_str().unwrap()]));
    (out, rows)
}

/// `<target dir>/test-artefacts`: beside the debug folder holding the binary.
fn artefacts() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_hedui"));
    let dir = bin
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."))
        .join("test-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs headless Chromium on the page with these arguments (a fresh
/// profile, no network services) and returns its standard output; killed
/// after two minutes.
fn chromium(profile: &Path, args: &[&str], url: &str) -> String {
    let profile_arg = format!("--user-data-dir={}", profile.display());
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &profile_arg,
            "--virtual-time-budget=10000",
        ])
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    // Read stdout on a thread so that a large DOM cannot fill the pipe.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).map(|_| s)
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let dom = reader.join().unwrap().unwrap();
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            assert!(status.success(), "chromium failed: {err}");
            return dom;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("chromium did not finish within two minutes on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The text of the element `<span id="count">`.
fn count(dom: &str) -> String {
    let start = dom.find("<span id=\"count\">").expect("count element") + 17;
    let end = start + dom[start..].find('<').unwrap();
    dom[start..end].to_string()
}

/// The table body's rows, each as its cells' text.
fn body_rows(dom: &str) -> Vec<Vec<String>> {
    let start = dom.find("<tbody id=\"rows\">").expect("table body");
    let end = start + dom[start..].find("</tbody>").unwrap();
    dom[start..end]
        .split("<tr>")
        .skip(1)
        .map(|tr| {
            tr.split("<td>")
                .skip(1)
                .map(|td| td.split("</td>").next().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn findings_table_filters_sorts_and_pages_in_a_browser() {
    if !Path::new(CHROMIUM).exists() {
        if std::env::var("HEDUI_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("{CHROMIUM} is missing and HEDUI_REQUIRE_BROWSER=1");
        }
        eprintln!("skipped: {CHROMIUM} is not installed (apt-get install chromium)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (out, rows) = synthetic_output(dir.path());
    let page = out.join("report.html");
    let url = |hash: &str| format!("file://{}{hash}", page.display());
    let mut profiles = 0;
    let mut dump = |hash: &str| {
        profiles += 1;
        let profile = dir.path().join(format!("profile{profiles}"));
        chromium(&profile, &["--dump-dom"], &url(hash))
    };

    // Everything: the total and the first page of 100 rows, masked.
    let dom = dump("");
    assert_eq!(count(&dom), format!("共 {FINDINGS} 条"));
    let first = body_rows(&dom);
    assert_eq!(first.len(), 100);
    assert_eq!(first[0][0], rows[0].finding_id, "findings.csv order");
    assert_eq!(
        first[0][5],
        format!("110105********{}", &rows[0].id_number[14..])
    );
    assert!(!dom.contains(&rows[0].id_number));
    for name in NAMES {
        assert!(!dom.contains(name), "{name} shown unmasked");
    }

    // One rule, from the hash.
    let cb02 = rows.iter().filter(|r| r.rule == "CB02").count();
    assert_eq!(count(&dump("#rule=CB02")), format!("共 {cb02} 条"));

    // Rule, township and free text together.
    let hash = format!(
        "#rule=CB01&township={}&q={}",
        percent_encode("河西乡"),
        percent_encode("第7村")
    );
    let expected = rows
        .iter()
        .filter(|r| r.rule == "CB01" && r.township == "河西乡" && r.village == "第7村")
        .count();
    assert!(expected > 0 && expected < 100);
    let dom = dump(&hash);
    assert_eq!(count(&dom), format!("共 {expected} 条"));
    let shown = body_rows(&dom);
    assert_eq!(shown.len(), expected);
    assert!(shown.iter().all(|r| r[7] == "河西乡" && r[8] == "第7村"));

    // Case status and severity.
    let kept = rows
        .iter()
        .filter(|r| r.case_status == "持续" && r.severity == "中")
        .count();
    let hash = format!(
        "#status={}&severity={}",
        percent_encode("持续"),
        percent_encode("中")
    );
    assert_eq!(count(&dump(&hash)), format!("共 {kept} 条"));

    // Findings about persons in no township.
    let none = rows.iter().filter(|r| r.township.is_empty()).count();
    let hash = format!("#township={}", percent_encode("（无乡镇）"));
    assert_eq!(count(&dump(&hash)), format!("共 {none} 条"));

    // Sorted by finding_id descending, second page.
    let mut cb02_ids: Vec<&str> = rows
        .iter()
        .filter(|r| r.rule == "CB02")
        .map(|r| r.finding_id.as_str())
        .collect();
    cb02_ids.sort_unstable_by(|a, b| b.cmp(a));
    let dom = dump("#rule=CB02&sort=0&dir=desc&page=2");
    let shown = body_rows(&dom);
    assert_eq!(shown.len(), 100);
    assert_eq!(shown[0][0], cb02_ids[100]);
    assert_eq!(shown[99][0], cb02_ids[199]);
    assert!(dom.contains("第 2 / "));

    // By severity: 高, 中, 低 in that order, not the characters' order.
    let dom = dump("#sort=3");
    let shown = body_rows(&dom);
    assert_eq!(shown[0][3], "高", "{:?}", shown[0]);
    let dom = dump("#sort=3&dir=desc");
    assert_eq!(body_rows(&dom)[0][3], "低");

    // A screenshot of the unfiltered page, kept for people to look at.
    let shot = artefacts().join("report_browser.png");
    let _ = std::fs::remove_file(&shot);
    let profile = dir.path().join("profile-shot");
    let shot_arg = format!("--screenshot={}", shot.display());
    chromium(&profile, &[&shot_arg, "--window-size=1400,1000"], &url(""));
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    eprintln!("screenshot: {}", shot.display());
}
