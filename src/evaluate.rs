//! `hedui evaluate`: scores a run against a generated county's truth.
//!
//! Links are keyed on (extract, file, row). Precision is over the links the
//! run made (rows with a person_id), recall over the truth rows that a correct
//! pipeline can resolve (truth person_id not empty); recall is also given per
//! corruption type of the truth row.
//!
//! Findings are compared per rule as sets of keys:
//! - DQ01 and DQ04 (one finding per source row, id_number empty): key
//!   (rule, file, row). The truth names the row; the run's row is the first
//!   `extract:file:row` entry of its `sources` column.
//! - person-level rules (LB01–LB04, DQ02, DQ03, DQ06): key (rule, id_number),
//!   because whether a pipeline fills household_id for a person who happens to
//!   be a roster member is not fixed by the spec.
//! - all others (CB01–CB05, DY01–DY04, DQ05): key (rule, household_id, id_number).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// Precision / recall / F1 with the counts behind them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Score {
    pub true_positive: u64,
    pub false_positive: u64,
    pub false_negative: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Score {
    fn new(tp: u64, fp: u64, fn_: u64) -> Score {
        let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Score {
            true_positive: tp,
            false_positive: fp,
            false_negative: fn_,
            precision,
            recall,
            f1,
        }
    }
}

/// Recall of one corruption type.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CorruptionRecall {
    /// Truth rows of this corruption that a correct pipeline resolves.
    pub resolvable: u64,
    pub linked_correctly: u64,
    pub recall: f64,
    /// Rows of this corruption the run linked although the truth says it cannot be resolved.
    pub linked_unresolvable: u64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    pub truth_dir: PathBuf,
    pub run_dir: PathBuf,
    pub links: Score,
    /// Links the run made to the wrong person.
    pub wrong_links: u64,
    /// Truth rows missing from the run's links.csv (rejected or not read).
    pub rows_missing: u64,
    /// Run rows not in the truth (e.g. rows the truth does not count).
    pub rows_extra: u64,
    pub link_recall_by_corruption: BTreeMap<String, CorruptionRecall>,
    pub findings: BTreeMap<String, Score>,
    pub findings_overall: Score,
}

#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error("无法读取 {path}：{message} / cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}：缺少列 `{column}` / {path}: missing column `{column}`")]
    MissingColumn { path: PathBuf, column: String },
    #[error("无法写入 {path}：{source} / cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The truth was generated for another batch than the run read.
    #[error(
        "真值 {truth} 不属于 {run} 的这次运行（{zh}），未评估 / the truth {truth} is not of the run in {run} ({en}): not evaluated"
    )]
    Mismatch {
        truth: PathBuf,
        run: PathBuf,
        zh: String,
        en: String,
    },
}

/// Refuses a truth generated for another batch than the run's: its as-of
/// date, or files the run did not read (truth/meta.json against the run's
/// manifest.json; either missing, nothing to compare).
fn check_truth_is_the_run_s(truth_dir: &Path, run_dir: &Path) -> Result<(), EvaluateError> {
    let read = |path: PathBuf| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    };
    let (Some(meta), Some(manifest)) = (
        read(truth_dir.join("meta.json")),
        read(run_dir.join("manifest.json")),
    ) else {
        return Ok(());
    };
    let mismatch = |zh: String, en: String| EvaluateError::Mismatch {
        truth: truth_dir.to_path_buf(),
        run: run_dir.to_path_buf(),
        zh,
        en,
    };
    if let (Some(t), Some(r)) = (meta["as_of"].as_str(), manifest["as_of"].as_str())
        && t != r
    {
        return Err(mismatch(
            format!("真值的 as-of 日期为 {t}，运行的为 {r}"),
            format!("the truth's as-of date is {t}, the run's {r}"),
        ));
    }
    let files = |v: &serde_json::Value, list: &str| -> std::collections::BTreeSet<String> {
        v[list]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["file"].as_str().map(str::to_string))
            .collect()
    };
    let read_files = files(&manifest, "inputs");
    let unread: Vec<String> = files(&meta, "files")
        .into_iter()
        .filter(|f| !read_files.contains(f))
        .collect();
    if !unread.is_empty() {
        let shown = unread.join(", ");
        return Err(mismatch(
            format!("运行没有读取真值所对应的文件：{shown}"),
            format!("the run did not read the truth's files: {shown}"),
        ));
    }
    Ok(())
}

/// A CSV file as rows of named columns (a UTF-8 BOM is allowed).
struct Table {
    path: PathBuf,
    columns: BTreeMap<String, usize>,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    fn read(path: &Path) -> Result<Table, EvaluateError> {
        let mut columns = BTreeMap::new();
        let mut rows = Vec::new();
        stream_csv(
            path,
            |header| {
                columns = header.clone();
                Ok(Vec::new())
            },
            |r, _| rows.push(r.clone()),
        )?;
        Ok(Table {
            path: path.to_path_buf(),
            columns,
            rows,
        })
    }

    fn col(&self, name: &str) -> Result<usize, EvaluateError> {
        self.columns
            .get(name)
            .copied()
            .ok_or_else(|| EvaluateError::MissingColumn {
                path: self.path.clone(),
                column: name.to_string(),
            })
    }

    fn opt_col(&self, name: &str) -> Option<usize> {
        self.columns.get(name).copied()
    }
}

fn get(r: &csv::StringRecord, i: usize) -> &str {
    r.get(i).unwrap_or("").trim()
}

/// Reads a CSV file (a UTF-8 BOM is allowed) record by record: `columns`
/// picks the column indexes from the header, `row` sees every record.
fn stream_csv(
    path: &Path,
    columns: impl FnOnce(&BTreeMap<String, usize>) -> Result<Vec<usize>, String>,
    mut row: impl FnMut(&csv::StringRecord, &[usize]),
) -> Result<(), EvaluateError> {
    use std::io::BufRead;
    let err = |message: String| EvaluateError::Read {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    if reader
        .fill_buf()
        .map_err(|e| err(e.to_string()))?
        .starts_with(b"\xEF\xBB\xBF")
    {
        reader.consume(3);
    }
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let header: BTreeMap<String, usize> = rdr
        .headers()
        .map_err(|e| err(e.to_string()))?
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_string(), i))
        .collect();
    let picked = columns(&header).map_err(|column| EvaluateError::MissingColumn {
        path: path.to_path_buf(),
        column,
    })?;
    let mut record = csv::StringRecord::new();
    while rdr
        .read_record(&mut record)
        .map_err(|e| err(e.to_string()))?
    {
        row(&record, &picked);
    }
    Ok(())
}

fn col_of(columns: &BTreeMap<String, usize>, name: &str) -> Result<usize, String> {
    columns.get(name).copied().ok_or_else(|| name.to_string())
}

/// The places of a links file's extract, file, row and person_id columns,
/// then of `more`.
fn link_columns(columns: &BTreeMap<String, usize>, more: &[&str]) -> Result<Vec<usize>, String> {
    ["extract", "file", "row", "person_id"]
        .iter()
        .chain(more)
        .map(|name| col_of(columns, name))
        .collect()
}

/// A 128-bit digest of text, 0 kept for the empty text.
fn text_digest(parts: &[&str]) -> u128 {
    use std::hash::BuildHasher;
    let pass = |seed: u64| foldhash::quality::FixedState::with_seed(seed).hash_one(parts);
    ((u128::from(pass(0x243F_6A88_85A3_08D3)) << 64) | u128::from(pass(0x1319_8A2E_0370_7344)))
        .max(1)
}

/// A link row's key: (extract, file, row).
fn link_key(extract: &str, file: &str, row: &str) -> u128 {
    text_digest(&[extract, file, row])
}

/// A person ID as a digest; 0 for none.
fn person_digest(id: &str) -> u128 {
    if id.is_empty() { 0 } else { text_digest(&[id]) }
}

/// One truth link row: its person (0: unresolvable), its corruption (an
/// index into the corruption names) and, once the run's links are read,
/// the run's person (0: unlinked; `None`: no such row in the run).
struct TruthLink {
    truth: u128,
    run: Option<u128>,
    corruption: u16,
}

/// The truth's links by row key, and the corruption names they index.
fn truth_links(path: &Path) -> Result<(HashMap<u128, TruthLink>, Vec<String>), EvaluateError> {
    let mut links: HashMap<u128, TruthLink> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<String, u16> = HashMap::new();
    stream_csv(
        path,
        |columns| link_columns(columns, &["corruption"]),
        |r, c| {
            let corruption = get(r, c[4]);
            let corruption = match index.get(corruption) {
                Some(&i) => i,
                None => {
                    let i = names.len() as u16;
                    // Printed and written to evaluation.json: masked as
                    // any text in a message (a damaged truth may hold an
                    // ID number or a name there; helper-160's audit).
                    names.push(crate::report::mask::mask_label(corruption));
                    index.insert(corruption.to_string(), i);
                    i
                }
            };
            links.insert(
                link_key(get(r, c[0]), get(r, c[1]), get(r, c[2])),
                TruthLink {
                    truth: person_digest(get(r, c[3])),
                    run: None,
                    corruption,
                },
            );
        },
    )?;
    Ok((links, names))
}

const PERSON_RULES: [&str; 7] = ["LB01", "LB02", "LB03", "LB04", "DQ02", "DQ03", "DQ06"];
const ROW_RULES: [&str; 2] = ["DQ01", "DQ04"];

type FindingKey = (String, String, String);

fn finding_key(
    rule: &str,
    household_id: &str,
    id_number: &str,
    file: &str,
    row: &str,
) -> FindingKey {
    if ROW_RULES.contains(&rule) {
        (rule.to_string(), file.to_string(), row.to_string())
    } else if PERSON_RULES.contains(&rule) {
        (rule.to_string(), String::new(), id_number.to_string())
    } else {
        (
            rule.to_string(),
            household_id.to_string(),
            id_number.to_string(),
        )
    }
}

/// Compare RUN_DIR/links.csv and RUN_DIR/findings.csv with TRUTH_DIR and
/// write RUN_DIR/evaluation.json.
pub fn evaluate(truth_dir: &Path, run_dir: &Path) -> Result<Evaluation, EvaluateError> {
    check_truth_is_the_run_s(truth_dir, run_dir)?;
    // Links: both files streamed, each row kept as 128-bit digests (a
    // city's links are tens of millions of rows: as text they would not fit).
    let (truth_links, corruptions) = truth_links(&truth_dir.join("links.csv"))?;
    let mut truth_links = truth_links;
    let (mut tp_links, mut fp_links, mut wrong_links, mut rows_extra) = (0, 0, 0, 0);
    // A run row that the truth lacks: its person (0 = unlinked), last wins.
    let mut extra: HashMap<u128, u128> = HashMap::new();
    stream_csv(
        &run_dir.join("links.csv"),
        |columns| link_columns(columns, &[]),
        |r, c| {
            let key = link_key(get(r, c[0]), get(r, c[1]), get(r, c[2]));
            let person = person_digest(get(r, c[3]));
            match truth_links.get_mut(&key) {
                Some(link) => link.run = Some(person),
                None => {
                    extra.insert(key, person);
                }
            }
        },
    )?;
    for person in extra.values() {
        if *person != 0 {
            fp_links += 1;
            rows_extra += 1;
        }
    }
    let mut by_corruption: BTreeMap<String, CorruptionRecall> = BTreeMap::new();
    let (mut fn_links, mut rows_missing) = (0, 0);
    for link in truth_links.values() {
        match link.run {
            Some(p) if p != 0 && p == link.truth => tp_links += 1,
            Some(p) if p != 0 => {
                fp_links += 1;
                if link.truth != 0 {
                    wrong_links += 1;
                }
            }
            _ => {}
        }
        if link.run.is_none() {
            rows_missing += 1;
        }
        let entry = by_corruption
            .entry(corruptions[link.corruption as usize].clone())
            .or_insert(CorruptionRecall {
                resolvable: 0,
                linked_correctly: 0,
                recall: 1.0,
                linked_unresolvable: 0,
            });
        if link.truth == 0 {
            if link.run.is_some_and(|p| p != 0) {
                entry.linked_unresolvable += 1;
            }
            continue;
        }
        entry.resolvable += 1;
        if link.run == Some(link.truth) {
            entry.linked_correctly += 1;
        } else {
            fn_links += 1;
        }
    }
    for c in by_corruption.values_mut() {
        c.recall = if c.resolvable == 0 {
            1.0
        } else {
            c.linked_correctly as f64 / c.resolvable as f64
        };
    }

    // Findings.
    let truth_f = Table::read(&truth_dir.join("findings.csv"))?;
    let (fr, fh, fi) = (
        truth_f.col("rule")?,
        truth_f.col("household_id")?,
        truth_f.col("id_number")?,
    );
    let (ff, fw) = (truth_f.opt_col("file"), truth_f.opt_col("row"));
    let mut expected: BTreeSet<FindingKey> = BTreeSet::new();
    for r in &truth_f.rows {
        let file = ff.map(|c| get(r, c)).unwrap_or("");
        let row = fw.map(|c| get(r, c)).unwrap_or("");
        expected.insert(finding_key(get(r, fr), get(r, fh), get(r, fi), file, row));
    }
    let run_f = Table::read(&run_dir.join("findings.csv"))?;
    let (gr, gh, gi) = (
        run_f.col("rule")?,
        run_f.col("household_id")?,
        run_f.col("id_number")?,
    );
    let gs = run_f.opt_col("sources");
    let mut found: BTreeSet<FindingKey> = BTreeSet::new();
    for r in &run_f.rows {
        let rule = get(r, gr);
        let (mut file, mut row) = ("", "");
        if let Some(c) = gs {
            let first = get(r, c).split(';').next().unwrap_or("");
            let mut parts = first.rsplitn(2, ':');
            row = parts.next().unwrap_or("");
            let rest = parts.next().unwrap_or("");
            file = rest.split_once(':').map(|(_, f)| f).unwrap_or(rest);
        }
        found.insert(finding_key(rule, get(r, gh), get(r, gi), file, row));
    }
    let rules: BTreeSet<&String> = expected.iter().chain(found.iter()).map(|k| &k.0).collect();
    let mut findings = BTreeMap::new();
    let (mut all_tp, mut all_fp, mut all_fn) = (0, 0, 0);
    for rule in rules {
        let e: BTreeSet<&FindingKey> = expected.iter().filter(|k| &k.0 == rule).collect();
        let f: BTreeSet<&FindingKey> = found.iter().filter(|k| &k.0 == rule).collect();
        let tp = e.intersection(&f).count() as u64;
        let fp = f.len() as u64 - tp;
        let fn_ = e.len() as u64 - tp;
        all_tp += tp;
        all_fp += fp;
        all_fn += fn_;
        findings.insert(rule.clone(), Score::new(tp, fp, fn_));
    }
    let evaluation = Evaluation {
        truth_dir: truth_dir.to_path_buf(),
        run_dir: run_dir.to_path_buf(),
        links: Score::new(tp_links, fp_links, fn_links),
        wrong_links,
        rows_missing,
        rows_extra,
        link_recall_by_corruption: by_corruption,
        findings,
        findings_overall: Score::new(all_tp, all_fp, all_fn),
    };
    let path = run_dir.join("evaluation.json");
    let json = serde_json::to_string_pretty(&evaluation).expect("serialisable");
    crate::report::output::write_private(&path, (json + "\n").as_bytes())
        .map_err(|source| EvaluateError::Write { path, source })?;
    Ok(evaluation)
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = |f: &mut fmt::Formatter<'_>, name: &str, s: &Score| {
            writeln!(
                f,
                "{:<22} {:>8} {:>8} {:>8} {:>9.4} {:>9.4} {:>9.4}",
                name,
                s.true_positive,
                s.false_positive,
                s.false_negative,
                s.precision,
                s.recall,
                s.f1
            )
        };
        writeln!(
            f,
            "{:<22} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9}",
            "", "TP", "FP", "FN", "precision", "recall", "F1"
        )?;
        line(f, "links", &self.links)?;
        writeln!(
            f,
            "  wrong person {}, truth rows missing from run {}, run rows not in truth {}",
            self.wrong_links, self.rows_missing, self.rows_extra
        )?;
        writeln!(f, "link recall by corruption:")?;
        for (c, r) in &self.link_recall_by_corruption {
            writeln!(
                f,
                "  {:<20} {:>8}/{:<8} {:>9.4}{}",
                c,
                r.linked_correctly,
                r.resolvable,
                r.recall,
                if r.linked_unresolvable > 0 {
                    format!("  ({} unresolvable rows linked)", r.linked_unresolvable)
                } else {
                    String::new()
                }
            )?;
        }
        writeln!(f, "findings:")?;
        for (rule, s) in &self.findings {
            line(f, &format!("  {rule}"), s)?;
        }
        line(f, "  all rules", &self.findings_overall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn scores_links_and_findings() {
        let truth = tempfile::tempdir().unwrap();
        let run = tempfile::tempdir().unwrap();
        write(
            truth.path(),
            "links.csv",
            "extract,file,row,person_id,corruption\n\
             pension,p.csv,2,A,none\npension,p.csv,3,B,typo_digit\npension,p.csv,4,,sci\npension,p.csv,5,C,none\n",
        );
        write(
            truth.path(),
            "findings.csv",
            "rule,household_id,id_number,file,row\nCB01,H1,A,,\nLB01,,C,,\nDQ04,,,p.csv,4\n",
        );
        write(
            run.path(),
            "links.csv",
            "\u{feff}extract,file,row,raw_id,raw_name,person_id,method,score\n\
             pension,p.csv,2,a,n,A,exact,1\npension,p.csv,3,b,n,,unlinked,0\npension,p.csv,4,c,n,X,name_birth,0.5\npension,p.csv,5,d,n,C,exact,1\n",
        );
        write(
            run.path(),
            "findings.csv",
            "\u{feff}finding_id,rule,kind,severity,household_id,id_number,sources\n\
             f1,CB01,错保,高,H1,A,pension:p.csv:2\nf2,LB01,漏保,高,H9,C,x\nf3,DQ04,数据核查,低,,,pension:p.csv:4\nf4,CB02,错保,高,H1,A,\n",
        );
        let e = evaluate(truth.path(), run.path()).unwrap();
        assert_eq!(
            (
                e.links.true_positive,
                e.links.false_positive,
                e.links.false_negative
            ),
            (2, 1, 1)
        );
        assert_eq!(e.link_recall_by_corruption["typo_digit"].recall, 0.0);
        assert_eq!(e.link_recall_by_corruption["sci"].linked_unresolvable, 1);
        assert_eq!(e.findings["CB01"].f1, 1.0);
        assert_eq!(
            e.findings["LB01"].true_positive, 1,
            "person rules ignore household_id"
        );
        assert_eq!(e.findings["DQ04"].true_positive, 1);
        assert_eq!(e.findings["CB02"].false_positive, 1);
        let written = run.path().join("evaluation.json");
        assert!(written.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&written).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "owner-only, as every file of a run");
        }
        assert!(e.to_string().contains("CB01"));
    }

    /// A corruption label of a damaged truth is shown masked, as any text
    /// in a message (helper-160's audit: an ID number was printed whole).
    #[test]
    fn a_corruption_label_is_shown_masked() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "links.csv",
            "extract,file,row,person_id,corruption\n\
             pension,p.csv,2,A,none\npension,p.csv,3,B,341122198304101994\n",
        );
        let (_, names) = truth_links(&dir.path().join("links.csv")).unwrap();
        assert_eq!(names, ["none", "341122********1994"]);
    }
}
