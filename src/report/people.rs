//! What the people-facing reports (report.xlsx, report.html) are made of: the
//! findings of a run with their case status, the reviewers' verdicts held by
//! the case ledger (pre-filled so that a re-import keeps them), the cases
//! that disappeared since the last run, and whether names and ID numbers are
//! masked. The ledger fills it; the xlsx and html writers read it.

use std::collections::BTreeMap;

use crate::report::findings::FindingRow;
use crate::report::manifest::Manifest;

/// The verdicts a reviewer may give in the 核查结论 column.
pub const VERDICTS: [&str; 4] = ["属实", "不属实", "已整改", "待核查"];

/// The case status that moves a finding from its rule sheet to the 已核销
/// sheet: a reviewer closed it as 不属实 and its source rows are unchanged.
pub const DISMISSED: &str = "已核销";

/// A reviewer's verdict and note on one case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Review {
    pub verdict: String,
    pub note: String,
}

/// Everything the people-facing reports show.
#[derive(Debug, Clone, Copy)]
pub struct PeopleReport<'a> {
    /// The run's manifest: as-of date, inputs and their accounting.
    pub manifest: &'a Manifest,
    /// This run's findings, sorted as findings.csv, case_status filled. A
    /// row whose case_status starts with [`DISMISSED`] belongs on the 已核销
    /// sheet, not its rule sheet.
    pub findings: &'a [FindingRow],
    /// The reviewers' verdicts and notes so far, by finding_id.
    pub reviews: &'a BTreeMap<String, Review>,
    /// Cases the ledger held open that this run no longer raises (their last
    /// known rows, case_status 已消失).
    pub disappeared: &'a [FindingRow],
    /// Mask ID numbers and names (the default; `--unmasked` turns it off).
    pub masked: bool,
}
