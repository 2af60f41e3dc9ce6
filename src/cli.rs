//! The command line (clap derive): every command and flag documented once,
//! `--help` generated from it.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate as hedui;

#[derive(Debug, Parser)]
#[command(
    name = "hedui",
    version,
    about = "核对：救助对象名册与部门数据比对 / cross-checks an assistance roster against department extracts"
)]
pub struct Cli {
    /// Log format on standard error: `text` for people, `json` for log collectors.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read every extract of a batch and report, per file, what came through:
    /// rows read / accepted / rejected / skipped, ID status counts, reject
    /// reasons. Writes rejects.csv, warnings.csv and manifest.json to --out
    /// when given.
    Validate {
        /// The folder holding the batch's extracts (roster_…, medical_settlement_…).
        #[arg(long)]
        input: PathBuf,
        /// Where to write rejects.csv, warnings.csv and manifest.json.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The TOML config (see `hedui example-config`); defaults apply without one.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The day the rows are judged on (YYYY-MM-DD; an ID number born after
        /// it is bad), recorded in the manifest; default today.
        #[arg(long, value_parser = date)]
        as_of: Option<chrono::NaiveDate>,
    },
    /// Resolve every person across the extracts, evaluate every rule and
    /// write findings, links, rejects, the manifest and the people-facing
    /// report.xlsx and report.html to --out.
    Run {
        /// The folder holding the batch's extracts.
        #[arg(long)]
        input: PathBuf,
        /// The output folder; replaced as a whole when the run completes.
        #[arg(long)]
        out: PathBuf,
        /// The TOML config (see `hedui example-config`).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The date the rule windows count back from and the rows are judged on
        /// (YYYY-MM-DD; an ID number born after it is bad); default today.
        #[arg(long, value_parser = date)]
        as_of: Option<chrono::NaiveDate>,
        /// Worker threads for reading, resolving and the query engine;
        /// default: the number of cores.
        #[arg(long, value_parser = at_least_one, allow_negative_numbers = true)]
        threads: Option<usize>,
        /// Show ID numbers and names in full in report.xlsx and report.html
        /// (masked by default, e.g. 110105********1234, 张*明). The manifest
        /// records the choice; the machine files always hold them in full.
        #[arg(long)]
        unmasked: bool,
        /// Run even though an extract shrank against the last successful
        /// run by more than `input.max_shrink` (recorded in the manifest).
        #[arg(long)]
        allow_shrink: bool,
    },
    /// Render report.xlsx and report.html of an existing output folder again
    /// from its findings.csv (or findings.parquet) and manifest.json, e.g.
    /// unmasked for one reviewer. The machine files are left as they are.
    Report {
        /// The output folder of a run.
        #[arg(long)]
        out: PathBuf,
        /// Show ID numbers and names in full (masked by default).
        #[arg(long)]
        unmasked: bool,
        /// Where the case ledger is, for the reviewers' verdicts and notes
        /// that 核查结论 and 备注 are pre-filled with.
        #[command(flatten)]
        state: StateArgs,
    },
    /// The reviewers' verdicts: import them from report.xlsx into the case
    /// ledger.
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// List the case ledger: every case with its status, verdict, first and
    /// last as-of date; ID numbers and names masked unless --unmasked.
    Cases {
        #[command(flatten)]
        state: StateArgs,
        /// Lifecycle status (新增, 持续, 已消失) or the start of the last
        /// case status (e.g. 已核销).
        #[arg(long, value_parser = case_status)]
        status: Option<String>,
        /// Rule code, e.g. CB01.
        #[arg(long, value_parser = rule_code)]
        rule: Option<String>,
        /// Verdict: 属实, 不属实, 已整改, 待核查, or 无 for none.
        #[arg(long, value_parser = ["属实", "不属实", "已整改", "待核查", "无"])]
        verdict: Option<String>,
        /// Township (乡镇), as in findings.csv.
        #[arg(long)]
        township: Option<String>,
        /// One case, by its finding_id.
        #[arg(long, value_parser = finding_id)]
        finding_id: Option<String>,
        /// List the verdict log instead, oldest first: every verdict and
        /// note a review import changed, when, by whom, from which
        /// workbook and cell (of the cases the filters select).
        #[arg(long)]
        history: bool,
        /// `table` for people, `csv` (to standard output) for spreadsheets.
        #[arg(long, value_enum, default_value_t = hedui::ledger::list::CasesFormat::Table)]
        format: hedui::ledger::list::CasesFormat,
        /// Show full ID numbers and names (and, in CSV, evidence and sources).
        #[arg(long)]
        unmasked: bool,
        /// The run's output folder: the state folder defaults to
        /// `hedui-state/` beside it (as for `run`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a synthetic county: the extracts as a county receives them
    /// (OUT/input/) and the truth beside them (OUT/truth/). Same seed, same
    /// bytes.
    Generate {
        /// tiny (a few hundred rows per extract), small (~4,000 roster
        /// persons), county (~30,000 in 600,000), city (10 × county).
        #[arg(long, value_enum, default_value_t = hedui::generate::Scale::Small)]
        scale: hedui::generate::Scale,
        /// Random seed: the same seed gives the same county.
        #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
        seed: u64,
        /// The as-of date the county is built around (YYYY-MM-DD).
        #[arg(long, value_parser = date)]
        as_of: chrono::NaiveDate,
        /// Output folder (created).
        #[arg(long)]
        out: PathBuf,
    },
    /// Score a run against a generated truth: link precision/recall/F1
    /// (overall; per corruption, recall and the unresolvable rows linked)
    /// and finding precision/recall/F1 per rule; printed and written to
    /// RUN_DIR/evaluation.json.
    Evaluate {
        /// The generator's truth folder (OUT/truth).
        #[arg(long)]
        truth: PathBuf,
        /// The run's output folder (holding links.csv and findings.csv).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a complete, commented config file.
    ExampleConfig,
}

/// Where the state folder (case ledger, lock) is: `--state-dir`, else the
/// config's `state_dir`, else the one the output folder's manifest names
/// (when absolute: the run's own), else `hedui-state/` beside the output
/// folder.
#[derive(Debug, Clone, clap::Args)]
pub struct StateArgs {
    /// The state folder holding ledger.sqlite and hedui.lock.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// The TOML config whose `state_dir` to use.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Read the 核查结论 (verdict) and 备注 (note) columns of every sheet of
    /// REPORT that has them with finding_id, check every cell, and record
    /// them in the case ledger — all or nothing. The state folder defaults
    /// to the run's (its manifest names it when absolute), else
    /// `hedui-state/` beside the output folder holding REPORT.
    Import {
        /// The report.xlsx a run wrote, filled in by reviewers.
        report: PathBuf,
        /// Who reviewed the cases (e.g. 城关镇 李四): entered in the verdict
        /// log beside the system user who imports.
        #[arg(long, value_parser = hedui::ledger::review::reviewer_name)]
        reviewer: Option<String>,
        #[command(flatten)]
        state: StateArgs,
    },
}

/// The most worker threads `--threads` may ask for: far more than any
/// machine's cores, and few enough that a typo (an ID number pasted into
/// the option) is refused before thousands of threads are started.
pub const MAX_THREADS: usize = 1024;

/// `--threads`: a whole number from 1 to [`MAX_THREADS`].
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!(
            "须为 1 至 {MAX_THREADS} 的整数 / must be a whole number from 1 to {MAX_THREADS}"
        )),
    }
}

/// `--as-of`: a date written `YYYY-MM-DD`, as the manifest and the rule
/// windows give it.
fn date(s: &str) -> Result<chrono::NaiveDate, String> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    shaped
        .then(|| s.parse::<chrono::NaiveDate>().ok())
        .flatten()
        .ok_or_else(|| {
            "须为 YYYY-MM-DD 格式的有效日期，如 2025-11-30 / \
         must be a valid date written YYYY-MM-DD, e.g. 2025-11-30"
                .to_string()
        })
}

/// A `cases --status`: the start of a lifecycle or case status (新增,
/// 持续, 持续/属实, 已核销/不属实, 已消失 …).
fn case_status(s: &str) -> Result<String, String> {
    use hedui::ledger::{DISAPPEARED, NEW, NOT_TRUE, PERSISTING, SOURCES_CHANGED};
    use hedui::report::people::{DISMISSED, VERDICTS};
    // As ledger::case_status writes them.
    let mut statuses = vec![NEW.to_string(), PERSISTING.to_string()];
    statuses.extend(VERDICTS.iter().map(|v| match *v {
        NOT_TRUE => format!("{PERSISTING}/{NOT_TRUE}/{SOURCES_CHANGED}"),
        v => format!("{PERSISTING}/{v}"),
    }));
    statuses.push(format!("{DISMISSED}/{NOT_TRUE}"));
    statuses.push(DISAPPEARED.to_string());
    let s = s.trim();
    if !s.is_empty() && statuses.iter().any(|w| w.starts_with(s)) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "未知案件状态 / unknown case status; the start of one of: {}",
            statuses.join(", ")
        ))
    }
}

/// `--rule`: one of the catalogue's codes (CB01 … DQ06).
/// `--finding-id`: 16 hexadecimal characters, as findings.csv gives them.
fn finding_id(s: &str) -> Result<String, String> {
    let s = s.trim().to_ascii_lowercase();
    if hedui::report::findings::is_finding_id(&s) {
        Ok(s)
    } else {
        Err("finding_id 应为 16 位十六进制字符 / a finding_id is 16 hexadecimal characters".into())
    }
}

fn rule_code(s: &str) -> Result<String, String> {
    match hedui::rules::rule_info(&s.trim().to_ascii_uppercase()) {
        Some(info) => Ok(info.code.to_string()),
        None => Err(format!(
            "未知规则代码 / unknown rule code; one of: {}",
            hedui::rules::RULES
                .iter()
                .map(|r| r.code)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
