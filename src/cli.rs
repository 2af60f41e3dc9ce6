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
    /// reasons. Writes rejects.csv and manifest.json to --out when given.
    Validate {
        /// The folder holding the batch's extracts (roster_…, medical_settlement_…).
        #[arg(long)]
        input: PathBuf,
        /// Where to write rejects.csv and manifest.json.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The TOML config (see `hedui example-config`); defaults apply without one.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The as-of date recorded in the manifest (YYYY-MM-DD); default today.
        #[arg(long)]
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
        /// The date the rule windows count back from (YYYY-MM-DD); default today.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// Worker threads for reading, resolving and the query engine;
        /// default: the number of cores.
        #[arg(long)]
        threads: Option<usize>,
        /// Show ID numbers and names in full in report.xlsx and report.html
        /// (masked by default, e.g. 110105********1234, 张*明). The manifest
        /// records the choice; the machine files always hold them in full.
        #[arg(long)]
        unmasked: bool,
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
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The as-of date the county is built around (YYYY-MM-DD).
        #[arg(long)]
        as_of: chrono::NaiveDate,
        /// Output folder (created).
        #[arg(long)]
        out: PathBuf,
    },
    /// Score a run against a generated truth: link precision/recall/F1
    /// (overall and per corruption) and finding precision/recall/F1 per
    /// rule; printed and written to RUN_DIR/evaluation.json.
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
