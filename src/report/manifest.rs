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
    /// Why the run failed or stopped, one line per cause.
    pub problems: Vec<String>,
    /// Whether report.xlsx and report.html mask ID numbers and names (the
    /// default; `hedui run --unmasked` turns it off).
    pub masked: bool,
}

impl Manifest {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the manifest is plain data") + "\n"
    }
}
