//! manifest.json: enough to reproduce and audit a run — the tool and version,
//! as-of date, config and its hash, every input with its accounting, stage
//! timings, findings per rule and the status.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Config;
use crate::input::FileAccount;

#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub name: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub tool: &'static str,
    pub version: &'static str,
    pub command: String,
    pub as_of: String,
    pub config_sha256: String,
    pub config: Config,
    pub inputs: Vec<FileAccount>,
    pub ignored: Vec<String>,
    /// Optional extract types that were missing; their rules were skipped.
    pub missing_optional: Vec<String>,
    pub stages: Vec<Stage>,
    pub findings_per_rule: BTreeMap<String, u64>,
    /// `ok`, `failed` or `stopped` (a gate stopped the run).
    pub status: String,
    /// Why the run failed or stopped, one line per cause (and warnings of
    /// a completed run: skipped rules, a shrink let through).
    pub problems: Vec<String>,
    /// Whether report.xlsx and report.html mask ID numbers and names (the
    /// default; `hedui run --unmasked` turns it off).
    pub masked: bool,
    /// `--allow-shrink`: the volume gate was overridden.
    pub allow_shrink: bool,
    /// The case ledger's view of this run's findings (`run` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cases: Option<CaseCounts>,
    /// The finding_ids of the cases that disappeared in this run, in the
    /// reports' order, so that `hedui report` shows them again from the
    /// ledger (a finding_id is a hash; it names no one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disappeared_cases: Vec<String>,
}

/// Findings by case status, and the cases that disappeared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CaseCounts {
    /// 新增: raised for the first time.
    pub new: u64,
    /// 持续 (with or without a verdict), including 不属实 cases raised again.
    pub persisting: u64,
    /// 已核销: closed as 不属实, sources unchanged.
    pub dismissed: u64,
    /// 已消失: open in the ledger, not raised by this run.
    pub disappeared: u64,
}

impl Manifest {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the manifest is plain data") + "\n"
    }
}
