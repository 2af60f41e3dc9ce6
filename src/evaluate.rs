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

use std::collections::{BTreeMap, BTreeSet};
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
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: missing column `{column}`")]
    MissingColumn { path: PathBuf, column: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A CSV file as rows of named columns (a UTF-8 BOM is allowed).
struct Table {
    path: PathBuf,
    columns: BTreeMap<String, usize>,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    fn read(path: &Path) -> Result<Table, EvaluateError> {
        let err = |message: String| EvaluateError::Read {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
        let columns = rdr
            .headers()
            .map_err(|e| err(e.to_string()))?
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_string(), i))
            .collect();
        let rows = rdr
            .records()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(e.to_string()))?;
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
    // Links.
    let truth = Table::read(&truth_dir.join("links.csv"))?;
    let (te, tf, tr, tp, tc) = (
        truth.col("extract")?,
        truth.col("file")?,
        truth.col("row")?,
        truth.col("person_id")?,
        truth.col("corruption")?,
    );
    let mut truth_links: BTreeMap<(String, String, String), (String, String)> = BTreeMap::new();
    for r in &truth.rows {
        truth_links.insert(
            (
                get(r, te).to_string(),
                get(r, tf).to_string(),
                get(r, tr).to_string(),
            ),
            (get(r, tp).to_string(), get(r, tc).to_string()),
        );
    }
    let run = Table::read(&run_dir.join("links.csv"))?;
    let (re, rf, rr, rp) = (
        run.col("extract")?,
        run.col("file")?,
        run.col("row")?,
        run.col("person_id")?,
    );
    let mut run_links: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for r in &run.rows {
        run_links.insert(
            (
                get(r, re).to_string(),
                get(r, rf).to_string(),
                get(r, rr).to_string(),
            ),
            get(r, rp).to_string(),
        );
    }
    let (mut tp_links, mut fp_links, mut wrong_links, mut rows_extra) = (0, 0, 0, 0);
    for (key, person) in &run_links {
        if person.is_empty() {
            continue;
        }
        match truth_links.get(key) {
            Some((truth_person, _)) if truth_person == person => tp_links += 1,
            Some((truth_person, _)) => {
                fp_links += 1;
                if !truth_person.is_empty() {
                    wrong_links += 1;
                }
            }
            None => {
                fp_links += 1;
                rows_extra += 1;
            }
        }
    }
    let mut by_corruption: BTreeMap<String, CorruptionRecall> = BTreeMap::new();
    let (mut fn_links, mut rows_missing) = (0, 0);
    for (key, (truth_person, corruption)) in &truth_links {
        let run_person = run_links.get(key);
        if run_person.is_none() {
            rows_missing += 1;
        }
        let entry = by_corruption
            .entry(corruption.clone())
            .or_insert(CorruptionRecall {
                resolvable: 0,
                linked_correctly: 0,
                recall: 1.0,
                linked_unresolvable: 0,
            });
        if truth_person.is_empty() {
            if run_person.is_some_and(|p| !p.is_empty()) {
                entry.linked_unresolvable += 1;
            }
            continue;
        }
        entry.resolvable += 1;
        if run_person == Some(truth_person) {
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
    std::fs::write(&path, json + "\n").map_err(|source| EvaluateError::Write { path, source })?;
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
        assert!(run.path().join("evaluation.json").exists());
        assert!(e.to_string().contains("CB01"));
    }
}
