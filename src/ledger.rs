//! The case ledger: every finding a run raises is a case, kept across runs
//! in `<state_dir>/ledger.sqlite` (SQLite, mode 0600) with when it was first
//! and last seen (the runs' as-of dates), its lifecycle status (新增 / 持续 /
//! 已消失), the reviewer's verdict and note, and the source rows as they
//! stood when the verdict was given. The ledger also keeps the last
//! successful run's accepted rows per extract type (the volume gate) and a
//! small table of runs.
//!
//! A run reads the cases' states once ([`Prior::load`], beside the read of
//! its inputs), gives every finding its `case_status` ([`Cases::classify`],
//! which reads the findings of the cases that disappeared) and, only after
//! its output folder is in place, records itself in one transaction
//! ([`commit`]): a run that fails, is stopped or is killed leaves the
//! ledger as it was.

pub mod list;
pub mod lock;
pub mod review;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rayon::prelude::*;
use rusqlite::{Connection, OpenFlags, params};

use crate::error::HeduiError;
use crate::input::FileAccount;
use crate::report::findings::{self, FindingRow};
use crate::report::manifest::{CaseCounts, Manifest};
use crate::report::people::{DISMISSED, PeopleReport, Review};

/// The ledger's file name inside the state folder.
pub const LEDGER_FILE: &str = "ledger.sqlite";

/// Lifecycle status: first raised on this run's night (its as-of date):
/// by this run, or by an earlier run of the same night, so that a rerun of
/// a night gives that night's statuses again.
pub const NEW: &str = "新增";
/// Lifecycle status: raised by a run of an earlier night and again by this
/// run.
pub const PERSISTING: &str = "持续";
/// Lifecycle status: held open by the ledger, not raised by this run.
pub const DISAPPEARED: &str = "已消失";
/// The verdict that can close a case.
pub const NOT_TRUE: &str = "不属实";
/// Suffix of a 不属实 case raised again because its source rows changed.
pub const SOURCES_CHANGED: &str = "来源已变";

/// The ledger's page size in bytes, SQLite's largest. A case row holds
/// ~260 bytes of text, more than SQLite advises for a table without rowids
/// on its default 4 KiB pages (a twentieth of the page); a run upserts
/// every finding in key order, so larger pages are fewer pages to find and
/// rewrite. Upserting a city's 1.53 M cases again with a new last_seen
/// (Python's sqlite3 on the city ledger, uncontended, SQLite's default
/// cache): 11.5–12.4 s with 4 KiB pages, 9.5–10.6 s with 16 KiB, 8.0–8.3 s
/// with 64 KiB; with the staging's cache ([`STAGE_CACHE_BYTES`]) 9.2 s
/// with 4 KiB pages against 7.75 s with 64 KiB; ~4 s of each is Python's
/// own (BENCHMARKS.md, session 45).
const PAGE_SIZE: i64 = 65536;

/// The schema version this build reads and writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 4;

const SCHEMA: &str = "
CREATE TABLE cases (
    finding_id TEXT PRIMARY KEY NOT NULL,
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    household_id TEXT NOT NULL,
    id_number TEXT NOT NULL,
    name TEXT NOT NULL,
    township TEXT NOT NULL,
    village TEXT NOT NULL,
    evidence TEXT NOT NULL,
    sources TEXT NOT NULL,
    match TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    status TEXT NOT NULL,
    case_status TEXT NOT NULL,
    verdict TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    sources_at_verdict TEXT NOT NULL DEFAULT '',
    evidence_at_verdict TEXT NOT NULL DEFAULT '',
    gone_on TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX cases_status ON cases (status);
CREATE TABLE volumes (
    extract TEXT PRIMARY KEY NOT NULL,
    rows_accepted INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE roster_keys (
    key INTEGER PRIMARY KEY NOT NULL
);
CREATE TABLE runs (
    run INTEGER PRIMARY KEY,
    as_of TEXT NOT NULL,
    finished TEXT NOT NULL,
    findings INTEGER NOT NULL,
    new INTEGER NOT NULL,
    persisting INTEGER NOT NULL,
    dismissed INTEGER NOT NULL,
    disappeared INTEGER NOT NULL
);
";

/// Every verdict and note a review import changed, one entry per case
/// and import: when, by whom (the system user who imported, and the
/// reviewer named with `--reviewer`), from which workbook (its file name
/// and SHA-256) and cell, the verdict and note before and after, and the
/// evidence the verdict was given on. Only ever appended to.
const VERDICT_LOG: &str = "
CREATE TABLE verdict_log (
    entry INTEGER PRIMARY KEY,
    finding_id TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    workbook TEXT NOT NULL,
    workbook_sha256 TEXT NOT NULL,
    cell TEXT NOT NULL,
    verdict_before TEXT NOT NULL,
    verdict TEXT NOT NULL,
    note_before TEXT NOT NULL,
    note TEXT NOT NULL,
    evidence TEXT NOT NULL
);
CREATE INDEX verdict_log_case ON verdict_log (finding_id);
";

/// What takes a ledger of an older schema version to the next one (index:
/// the version it starts from, less one). Version 2: the evidence a verdict
/// was given on (empty for verdicts given before). Version 3: the verdict
/// log, every verdict and note a review import changed (empty for those
/// imported before). Version 4: the night a case was found gone (empty
/// for cases found gone before) and the last run's roster keys (none
/// until the next run).
const MIGRATIONS: [&str; 3] = [
    "ALTER TABLE cases ADD COLUMN evidence_at_verdict TEXT NOT NULL DEFAULT '';",
    VERDICT_LOG,
    "ALTER TABLE cases ADD COLUMN gone_on TEXT NOT NULL DEFAULT '';
     CREATE TABLE roster_keys (key INTEGER PRIMARY KEY NOT NULL);",
];

/// Creates the schema of a new ledger (in the caller's transaction).
fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(VERDICT_LOG)?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)
}

/// The path of the ledger in a state folder.
pub fn ledger_path(state: &Path) -> PathBuf {
    state.join(LEDGER_FILE)
}

fn db_error(path: &Path, e: impl std::fmt::Display) -> HeduiError {
    HeduiError::Internal(format!(
        "案件台账 {} 读写失败 / case ledger {} failed: {e}",
        path.display(),
        path.display()
    ))
}

/// Creates the state folder, owner-only.
pub fn create_state_dir(state: &Path) -> std::io::Result<()> {
    crate::report::output::create_dirs_owner_only(state)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state)?.permissions().mode();
        if mode & 0o077 != 0 {
            // Only tighten a folder we may own; a shared parent is left alone.
            let _ = std::fs::set_permissions(state, std::fs::Permissions::from_mode(0o700));
        }
    }
    Ok(())
}

/// An open ledger.
#[derive(Debug)]
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
}

impl Ledger {
    /// Opens the ledger of a state folder, creating the folder, the file
    /// (mode 0600) and the schema on first use.
    pub fn open(state: &Path) -> Result<Ledger, HeduiError> {
        let (mut ledger, _) = Ledger::open_file(state)?;
        if ledger.prepare()? == 0 {
            let path = ledger.path.clone();
            let tx = ledger.conn.transaction().map_err(|e| db_error(&path, e))?;
            create_schema(&tx).map_err(|e| db_error(&path, e))?;
            tx.commit().map_err(|e| db_error(&path, e))?;
        }
        Ok(ledger)
    }

    /// Opens the ledger's file, creating the state folder and the file
    /// (mode 0600) when there is none; and whether it was created.
    fn open_file(state: &Path) -> Result<(Ledger, bool), HeduiError> {
        let path = ledger_path(state);
        create_state_dir(state).map_err(|e| db_error(&path, e))?;
        let created = !path.exists();
        if created {
            // SQLite creates its file with the umask's mode; create it
            // owner-only first (its journal takes the same mode).
            crate::report::output::create_private(&path).map_err(|e| db_error(&path, e))?;
        } else {
            // One copied in (or made by an older hedui) with a wider mode
            // is tightened, as the folder is.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).map_or(0, |m| m.permissions().mode());
                if mode & 0o077 != 0 {
                    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
                }
            }
        }
        let conn = Connection::open(&path).map_err(|e| db_error(&path, e))?;
        Ok((Ledger { conn, path }, created))
    }

    /// Opens an existing ledger without creating anything; `None` when
    /// there is none yet. (Read-write: a transaction a killed process left
    /// half done is rolled back by the first reader, which a read-only
    /// connection could not do.)
    pub fn open_existing(state: &Path) -> Result<Option<Ledger>, HeduiError> {
        let path = ledger_path(state);
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| db_error(&path, e))?;
        let ledger = Ledger { conn, path };
        ledger.set_timeout()?;
        let version = ledger.version()?;
        if version == 0 {
            // Created but never given its schema: as good as none.
            return Ok(None);
        }
        ledger.check_version(version)?;
        let mut ledger = ledger;
        ledger.migrate(version)?;
        Ok(Some(ledger))
    }

    /// Takes a ledger of an older schema version to this one, in one
    /// transaction per step.
    fn migrate(&mut self, mut version: i64) -> Result<(), HeduiError> {
        let path = self.path.clone();
        while (1..SCHEMA_VERSION).contains(&version) {
            // Writing from the start, and the version read again under the
            // lock: two commands opening an old ledger at once (a `cases`
            // beside a `review import`) migrate it once, the second finding
            // it done.
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(|e| db_error(&path, e))?;
            let now: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| db_error(&path, e))?;
            if now != version {
                version = now;
                continue;
            }
            let step = MIGRATIONS[(version - 1) as usize];
            tx.execute_batch(step).map_err(|e| db_error(&path, e))?;
            tx.pragma_update(None, "user_version", version + 1)
                .map_err(|e| db_error(&path, e))?;
            tx.commit().map_err(|e| db_error(&path, e))?;
            version += 1;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn set_timeout(&self) -> Result<(), HeduiError> {
        self.conn
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| db_error(&self.path, e))
    }

    fn version(&self) -> Result<i64, HeduiError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db_error(&self.path, e))
    }

    fn check_version(&self, version: i64) -> Result<(), HeduiError> {
        if version > SCHEMA_VERSION {
            return Err(db_error(
                &self.path,
                format!(
                    "版本 {version} 比本程序支持的 {SCHEMA_VERSION} 新 / schema version {version} is newer than this hedui's {SCHEMA_VERSION}"
                ),
            ));
        }
        Ok(())
    }

    /// Durability settings, and an older schema migrated; the schema's
    /// version (0: none yet, for the caller to create).
    fn prepare(&mut self) -> Result<i64, HeduiError> {
        self.set_timeout()?;
        let path = self.path.clone();
        // The default rollback journal with full syncs: a transaction is on
        // disk when commit returns, and a kill at any moment rolls back.
        self.conn
            .execute_batch("PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL;")
            .map_err(|e| db_error(&path, e))?;
        let version = self.version()?;
        self.check_version(version)?;
        if version > 0 {
            self.migrate(version)?;
            self.enlarge_pages();
        } else {
            // Taken by the file when its first table is created (outside
            // a transaction only).
            self.conn
                .pragma_update(None, "page_size", PAGE_SIZE)
                .map_err(|e| db_error(&path, e))?;
        }
        Ok(version)
    }

    /// Rewrites a ledger made with smaller pages (by an older hedui) with
    /// [`PAGE_SIZE`] ones, once (`VACUUM`: 4.7 s for a city's ledger).
    /// A ledger that cannot be rewritten now (a reader holding it, not
    /// waited for; no room for the copy) stays as it is, as good as
    /// before, and is tried again by the next run.
    fn enlarge_pages(&self) {
        let page_size: i64 = match self.conn.query_row("PRAGMA page_size", [], |r| r.get(0)) {
            Ok(size) => size,
            Err(_) => return,
        };
        if page_size >= PAGE_SIZE {
            return;
        }
        let started = std::time::Instant::now();
        // Not worth waiting for a reader: busy fails at once.
        let vacuumed = self
            .conn
            .busy_timeout(std::time::Duration::ZERO)
            .and_then(|()| self.conn.pragma_update(None, "page_size", PAGE_SIZE))
            .and_then(|()| self.conn.execute_batch("VACUUM"));
        if self.set_timeout().is_err() {
            return;
        }
        match vacuumed {
            Ok(()) => tracing::info!(
                from = page_size,
                to = PAGE_SIZE,
                seconds = started.elapsed().as_secs_f64(),
                "ledger pages enlarged"
            ),
            Err(e) => tracing::warn!(
                error = %e,
                "案件台账页未能改大，下次运行再试 / ledger pages not enlarged, tried again next run"
            ),
        }
    }

    /// Every case, by finding_id.
    pub fn cases(&self) -> Result<BTreeMap<String, Case>, HeduiError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {FINDING_COLUMNS}, first_seen, last_seen, status, verdict, note, \
                        sources_at_verdict, evidence_at_verdict, gone_on
                 FROM cases"
            ))
            .map_err(|e| db_error(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Case {
                    row: finding_row(r)?,
                    first_seen: r.get(13)?,
                    last_seen: r.get(14)?,
                    status: r.get(15)?,
                    verdict: r.get(16)?,
                    note: r.get(17)?,
                    sources_at_verdict: r.get(18)?,
                    evidence_at_verdict: r.get(19)?,
                    gone_on: r.get(20)?,
                })
            })
            .map_err(|e| db_error(&self.path, e))?;
        let mut cases = BTreeMap::new();
        for c in rows {
            let c = c.map_err(|e| db_error(&self.path, e))?;
            cases.insert(c.row.finding_id.clone(), c);
        }
        Ok(cases)
    }

    /// The verdict log, oldest entry first.
    pub fn verdict_log(&self) -> Result<Vec<VerdictEntry>, HeduiError> {
        let err = |e| db_error(&self.path, e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT finding_id, recorded_at, recorded_by, reviewer, workbook,
                        workbook_sha256, cell, verdict_before, verdict, note_before, note,
                        evidence
                 FROM verdict_log ORDER BY entry",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(VerdictEntry {
                    finding_id: r.get(0)?,
                    recorded_at: r.get(1)?,
                    recorded_by: r.get(2)?,
                    reviewer: r.get(3)?,
                    workbook: r.get(4)?,
                    workbook_sha256: r.get(5)?,
                    cell: r.get(6)?,
                    verdict_before: r.get(7)?,
                    verdict: r.get(8)?,
                    note_before: r.get(9)?,
                    note: r.get(10)?,
                    evidence: r.get(11)?,
                })
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    /// What classifying a run's findings needs of every case, by
    /// finding_id: not the findings as last raised, most of a case's bytes
    /// (a city's 1.53 M cases: 3.8 s to read whole, see [`Prior`]).
    fn case_states(&self) -> Result<HashMap<String, CaseState>, HeduiError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT finding_id, case_status, status, verdict, note, sources_at_verdict,
                        evidence_at_verdict, rule, first_seen, gone_on
                 FROM cases",
            )
            .map_err(|e| db_error(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    CaseState {
                        case_status: r.get(1)?,
                        status: r.get(2)?,
                        verdict: r.get(3)?,
                        note: r.get(4)?,
                        sources_at_verdict: r.get(5)?,
                        evidence_at_verdict: r.get(6)?,
                        rule: r.get(7)?,
                        first_seen: r.get(8)?,
                        gone_on: r.get(9)?,
                    },
                ))
            })
            .map_err(|e| db_error(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| db_error(&self.path, e))
    }

    /// The findings of cases `ids` as last raised, in that order.
    fn finding_rows(&self, ids: &[&str]) -> Result<Vec<FindingRow>, HeduiError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {FINDING_COLUMNS} FROM cases WHERE finding_id = ?1"
            ))
            .map_err(|e| db_error(&self.path, e))?;
        ids.iter()
            .map(|id| {
                stmt.query_row([id], finding_row)
                    .map_err(|e| db_error(&self.path, e))
            })
            .collect()
    }

    /// The latest as-of date of a run recorded (none before the first).
    fn latest_run(&self) -> Result<Option<NaiveDate>, HeduiError> {
        let latest = latest_run(&self.conn).map_err(|e| db_error(&self.path, e))?;
        Ok(latest.and_then(|d| d.parse().ok()))
    }

    /// How many nights (distinct as-of dates) its runs were of.
    fn nights(&self) -> Result<usize, HeduiError> {
        self.conn
            .query_row("SELECT count(DISTINCT as_of) FROM runs", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(|e| db_error(&self.path, e))
    }

    /// The last successful run's roster keys ([`roster_key`]).
    fn roster_keys(&self) -> Result<HashSet<i64>, HeduiError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key FROM roster_keys")
            .map_err(|e| db_error(&self.path, e))?;
        let keys = stmt
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(|e| db_error(&self.path, e))?;
        keys.collect::<rusqlite::Result<_>>()
            .map_err(|e| db_error(&self.path, e))
    }

    /// The last successful run's accepted rows per extract type.
    pub fn volumes(&self) -> Result<BTreeMap<String, u64>, HeduiError> {
        let mut stmt = self
            .conn
            .prepare("SELECT extract, rows_accepted FROM volumes")
            .map_err(|e| db_error(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| db_error(&self.path, e))?;
        let mut out = BTreeMap::new();
        for r in rows {
            let (extract, n) = r.map_err(|e| db_error(&self.path, e))?;
            out.insert(extract, u64::try_from(n).unwrap_or(0));
        }
        Ok(out)
    }
}

/// The columns of a case's finding as last raised, in [`FindingRow`]'s
/// order ([`finding_row`]).
const FINDING_COLUMNS: &str = "finding_id, rule, kind, severity, household_id, id_number, name, \
     township, village, evidence, sources, match, case_status";

/// A case's finding from the first columns of a row ([`FINDING_COLUMNS`]).
fn finding_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FindingRow> {
    Ok(FindingRow {
        finding_id: r.get(0)?,
        rule: r.get(1)?,
        kind: r.get(2)?,
        severity: r.get(3)?,
        household_id: r.get(4)?,
        id_number: r.get(5)?,
        name: r.get(6)?,
        township: r.get(7)?,
        village: r.get(8)?,
        evidence: r.get(9)?,
        sources: r.get(10)?,
        matched: r.get(11)?,
        case_status: r.get(12)?,
    })
}

/// What `hedui report` shows besides an output folder's findings, from the
/// case ledger: every case's verdict and note (to pre-fill), and the cases
/// `gone` (the manifest's `disappeared_cases`) as last raised, case_status
/// 已消失, sorted as findings.csv. Nothing without a ledger.
pub fn for_report(
    state: &Path,
    gone: &[String],
) -> Result<(BTreeMap<String, Review>, Vec<FindingRow>), HeduiError> {
    let Some(ledger) = Ledger::open_existing(state)? else {
        return Ok((BTreeMap::new(), Vec::new()));
    };
    let mut cases = ledger.cases()?;
    let mut disappeared: Vec<FindingRow> = gone
        .iter()
        .filter_map(|id| cases.get(id))
        .map(|c| FindingRow {
            case_status: DISAPPEARED.to_string(),
            ..c.row.clone()
        })
        .collect();
    findings::sort(&mut disappeared);
    cases.retain(|_, c| !c.verdict.is_empty() || !c.note.is_empty());
    let reviews = cases
        .into_iter()
        .map(|(id, c)| {
            (
                id,
                Review {
                    verdict: c.verdict,
                    note: c.note,
                },
            )
        })
        .collect();
    Ok((reviews, disappeared))
}

/// One case as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Case {
    /// The finding as last raised; `case_status` as the last run wrote it.
    pub row: FindingRow,
    /// As-of date of the first run that raised it.
    pub first_seen: String,
    /// As-of date of the last run that raised it.
    pub last_seen: String,
    /// As-of date of the run that found it gone (status 已消失); empty for
    /// a case still raised, and for one found gone before the ledger kept
    /// the date (schema 3).
    pub gone_on: String,
    /// 新增 / 持续 / 已消失.
    pub status: String,
    /// One of `people::VERDICTS`, or empty.
    pub verdict: String,
    pub note: String,
    /// The case's sources when the verdict was given.
    pub sources_at_verdict: String,
    /// The case's evidence when the verdict was given (empty for a verdict
    /// given before the ledger kept it).
    pub evidence_at_verdict: String,
}

/// One entry of the verdict log ([`VERDICT_LOG`]): a case's verdict or
/// note changed by one review import.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerdictEntry {
    pub finding_id: String,
    /// When it was imported: local time with its offset (RFC 3339).
    pub recorded_at: String,
    /// The system user who ran the import.
    pub recorded_by: String,
    /// The reviewer named with `review import --reviewer`, or empty.
    pub reviewer: String,
    /// The workbook's file name and SHA-256.
    pub workbook: String,
    pub workbook_sha256: String,
    /// Where in the workbook: `CB01 收入超标!D5`.
    pub cell: String,
    pub verdict_before: String,
    pub verdict: String,
    pub note_before: String,
    pub note: String,
    /// The case's evidence the verdict was given on.
    pub evidence: String,
}

/// What classifying a run's findings needs of a case in the ledger
/// ([`case_status`], [`Cases::classify`]); the finding as last raised is
/// read only for the cases that disappeared.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseState {
    /// The rule that raised it.
    pub rule: String,
    /// The case_status the last run that raised it wrote.
    pub case_status: String,
    /// 新增 / 持续 / 已消失.
    pub status: String,
    /// One of `people::VERDICTS`, or empty.
    pub verdict: String,
    pub note: String,
    /// The case's sources when the verdict was given.
    pub sources_at_verdict: String,
    /// The case's evidence when the verdict was given (empty for a verdict
    /// given before the ledger kept it).
    pub evidence_at_verdict: String,
    /// The night (as-of date, `YYYY-MM-DD`) it was first raised.
    pub first_seen: String,
    /// The night a run found it gone (status 已消失), or empty.
    pub gone_on: String,
}

/// A batch not of the ledger's place ([`Prior::unrelated_roster`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrelated {
    /// The ledger held one night only: the batch takes it over (it is
    /// copied aside first, [`stage`]); else the batch is not recorded.
    pub takes_over: bool,
    /// What the console and the manifest's problems say.
    pub note: String,
}

/// What a run needs of the ledger before it writes: the cases' states and
/// the last run's volumes (both empty before the first successful run).
/// Only the states are read up front: a city's 1.53 M cases whole (every
/// column, into a map of [`Case`]s) took 3.8 s, most of it the findings'
/// text, which a run needs only of the cases that disappeared
/// ([`Cases::classify`] reads those from the ledger).
#[derive(Debug, Clone, Default)]
pub struct Prior {
    pub cases: HashMap<String, CaseState>,
    pub volumes: BTreeMap<String, u64>,
    /// The last successful run's roster keys ([`roster_key`]).
    roster: HashSet<i64>,
    /// The state folder the cases were read from (none without a ledger).
    state: Option<PathBuf>,
    /// The latest as-of date of a run the ledger recorded.
    latest_run: Option<NaiveDate>,
    /// How many nights (as-of dates) the ledger's runs were of.
    nights: usize,
    /// The run the cases are classified for is of an earlier night than
    /// the ledger's latest ([`Prior::for_as_of`]).
    past_night: bool,
    /// The night (`YYYY-MM-DD`) of the run the cases are classified for,
    /// once [`Prior::for_as_of`] has said.
    night: Option<String>,
}

impl Prior {
    /// Reads the ledger of a state folder without creating or changing it.
    pub fn load(state: &Path) -> Result<Prior, HeduiError> {
        match Ledger::open_existing(state)? {
            None => Ok(Prior::default()),
            Some(l) => Ok(Prior {
                cases: l.case_states()?,
                volumes: l.volumes()?,
                roster: l.roster_keys()?,
                state: Some(state.to_path_buf()),
                latest_run: l.latest_run()?,
                nights: l.nights()?,
                past_night: false,
                night: None,
            }),
        }
    }

    /// The cases as a run for `as_of` sees them: a case first raised that
    /// night or later is new, as the night's first run found it, and one
    /// that night's earlier run found gone is gone again (a rerun of a
    /// night gives its outputs again, spec/outputs.md); for a night earlier
    /// than the ledger's latest (an audit of a past night) no case
    /// disappears — the ledger's cases are the later nights' (see
    /// [`stage`]).
    pub fn for_as_of(self, as_of: NaiveDate) -> Prior {
        Prior {
            past_night: self.latest_run.is_some_and(|latest| as_of < latest),
            night: Some(as_of.to_string()),
            ..self
        }
    }

    /// The findings of cases `ids` as last raised, from the ledger.
    fn finding_rows(&self, ids: &[&str]) -> Result<Vec<FindingRow>, HeduiError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ledger = match &self.state {
            Some(state) => Ledger::open_existing(state)?,
            None => None,
        };
        let Some(ledger) = ledger else {
            return Err(HeduiError::Internal(
                "案件台账已不存在 / the case ledger is gone".to_string(),
            ));
        };
        ledger.finding_rows(ids)
    }

    /// Whether this run's batch, whose roster's members have the keys
    /// `now` ([`roster_key`]), is not of the place the ledger keeps: its
    /// roster and the last successful run's share fewer than a fifth of the
    /// smaller one's members. A county's roster changes little from one
    /// night to the next, and one cut short keeps the members it has; a
    /// test batch run with the county's state folder, or another county's,
    /// would otherwise be held to the county's volumes (the shrink gate
    /// stopping it) and end the county's cases as disappeared. `None` when
    /// either roster has no member with a usable ID number (no telling, so
    /// the same place); else what to tell staff, and whether the batch
    /// takes the ledger over ([`Unrelated`]).
    pub fn unrelated_roster(&self, now: &[i64]) -> Option<Unrelated> {
        let smaller = now.len().min(self.roster.len());
        let shared = now.iter().filter(|k| self.roster.contains(k)).count();
        if smaller == 0 || shared * 5 >= smaller {
            return None;
        }
        let (now, before) = (now.len(), self.roster.len());
        let (last, last_en) = match self.latest_run {
            Some(d) => (format!("（{d}）"), format!(" ({d})")),
            None => (String::new(), String::new()),
        };
        let found = format!(
            "本批名册与案件台账上次运行{last}的名册几乎没有相同的成员（有效身份证号：本批 {now} 个，上次 {before} 个，相同 {shared} 个），视为另一地区或另一批数据：本次照常输出，案件状态均按首次运行给出，不与上次比较接收行数"
        );
        let found_en = format!(
            "this batch's roster has almost no member in common with the roster of the ledger's last run{last_en} (usable ID numbers: {now} now, {before} then, {shared} in both): taken for another place or batch, it is reported with every case status as on a first run and not compared with the last run's volumes"
        );
        // A ledger of one night is a trial's (the sample, a test batch run
        // first): the place's own batch takes it over, or it would never
        // be recorded. One of more nights is a place's: a batch of another
        // place is only a visitor.
        Some(if self.nights <= 1 {
            Unrelated {
                takes_over: true,
                note: format!(
                    "{found}。案件台账只记有一晚的运行，视为试运行：原台账另存一份后，自本次起改记本批 / {found_en}; the ledger held a single night, taken for a trial: it is kept as a copy, and the ledger records this batch from now on"
                ),
            }
        } else {
            Unrelated {
                takes_over: false,
                note: format!(
                    "{found}，也不写入案件台账（台账已记有 {nights} 晚的运行）。如这是本地区的名册，请核对名册文件是否完整、是否放错；如是测试或其他地区的数据，请为其另设 state_dir / {found_en}, and not recorded in the case ledger (which holds {nights} nights of runs). If this is the place's own roster, check that the roster file is complete and the right one; if it is a test batch or another place's, give it a state_dir of its own",
                    nights = self.nights
                ),
            }
        })
    }

    /// Extract types whose accepted rows shrank by more than `max_shrink`
    /// (a share) against the last successful run, one message each.
    pub fn shrink_problems(&self, accounts: &[FileAccount], max_shrink: f64) -> Vec<String> {
        let now = volumes(accounts);
        self.volumes
            .iter()
            .filter_map(|(extract, &before)| {
                let after = now.get(extract).copied().unwrap_or(0);
                if before == 0 || after >= before {
                    return None;
                }
                let share = (before - after) as f64 / before as f64;
                (share > max_shrink).then(|| {
                    format!(
                        "{extract}：接收行数由上次的 {before} 降到 {after}（减少 {:.1}%，上限 {:.1}%） / {extract}: accepted rows fell from {before} at the last run to {after} ({:.1}% fewer, limit {:.1}%)",
                        share * 100.0,
                        max_shrink * 100.0,
                        share * 100.0,
                        max_shrink * 100.0
                    )
                })
            })
            .collect()
    }
}

/// The key a roster member's resolved ID number is remembered by between
/// runs ([`Prior::unrelated_roster`]): the first 24 bits of its SHA-256.
/// Some 16.8 M keys: two rosters of different places (a city's 300 k
/// members) share under 2 % by chance, far below the fifth that makes
/// them one place; and each key stands for dozens of a county's possible
/// ID numbers, so the ledger's keys do not give the roster back.
pub fn roster_key(id_number: &str) -> i64 {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(id_number.as_bytes());
    i64::from(u32::from_be_bytes([0, digest[0], digest[1], digest[2]]))
}

/// Accepted rows per extract type, summed over its files.
pub fn volumes(accounts: &[FileAccount]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for a in accounts {
        *out.entry(a.extract.clone()).or_default() += a.rows_accepted;
    }
    out
}

/// The source rows of a `sources` value as a set (order and repeats aside).
fn source_set(sources: &str) -> BTreeSet<&str> {
    sources
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The case_status of a finding raised by this run, given its case in the
/// ledger (if any) and its sources and evidence now:
/// `新增`; `持续`; `持续/属实` (any verdict appended); `已核销/不属实` (closed
/// as 不属实, and its source rows or its evidence as they were then);
/// `持续/不属实/来源已变` (closed as 不属实, but both its source rows and its
/// evidence changed since, so raised again). Either alone is no change: a
/// file renamed for the new month, or a row moved down by an inserted one,
/// changes the rows but not the figures; a window that moved on changes the
/// figures' wording but not the rows.
///
/// A case without a verdict is new when the ledger first saw it on `night`
/// (the run's as-of date) or later: raised by an earlier run of the same
/// night, it is still that night's new case.
pub fn case_status(
    prior: Option<&CaseState>,
    night: Option<&str>,
    sources: &str,
    evidence: &str,
) -> String {
    let Some(case) = prior else {
        return NEW.to_string();
    };
    // The figures alone: CB01's and DQ05's list of whose income it is
    // says over how many months each mean is taken, which a month moving
    // into the window changes while every figure stands (and which
    // verdicts given before it was written never held).
    let listed = matches!(case.rule.as_str(), "CB01" | "DQ05");
    let figures = |evidence: &str| -> String {
        if listed {
            crate::rules::evidence_figures(evidence).to_string()
        } else {
            evidence.to_string()
        }
    };
    let unchanged = || {
        source_set(&case.sources_at_verdict) == source_set(sources)
            || (!case.evidence_at_verdict.is_empty()
                && (figures(&case.evidence_at_verdict) == figures(evidence)
                    || figures(&case.evidence_at_verdict)
                        == figures(&crate::report::mask::with_raw_ids_masked(evidence))))
    };
    match case.verdict.as_str() {
        "" if night.is_some_and(|night| case.first_seen.as_str() >= night) => NEW.to_string(),
        "" => PERSISTING.to_string(),
        NOT_TRUE if unchanged() => format!("{DISMISSED}/{NOT_TRUE}"),
        NOT_TRUE => format!("{PERSISTING}/{NOT_TRUE}/{SOURCES_CHANGED}"),
        verdict => format!("{PERSISTING}/{verdict}"),
    }
}

/// This run's cases: counts, the verdicts to pre-fill, and the cases that
/// disappeared.
#[derive(Debug, Clone, Default)]
pub struct Cases {
    /// Verdicts and notes of this run's findings and disappeared cases.
    pub reviews: BTreeMap<String, Review>,
    /// Cases the ledger held open (新增 / 持续) that this run did not raise,
    /// as last raised, case_status `已消失`, sorted as findings.csv.
    pub disappeared: Vec<FindingRow>,
    pub counts: CaseCounts,
}

impl Cases {
    /// Fills every row's case_status from the ledger and collects the rest.
    pub fn classify(prior: &Prior, rows: &mut [FindingRow]) -> Result<Cases, HeduiError> {
        Cases::classify_skipping(prior, rows, &[])
    }

    /// [`Cases::classify`] for a run that skipped the rules `skipped` (an
    /// optional extract missing): their open cases were not looked for, so
    /// they do not disappear; they stay open, as they were, for the next
    /// run that has the extract.
    pub fn classify_skipping(
        prior: &Prior,
        rows: &mut [FindingRow],
        skipped: &[&str],
    ) -> Result<Cases, HeduiError> {
        let mut cases = Cases::default();
        // Each row's case, looked up side by side (a city has 1.5 M).
        let found: Vec<Option<&CaseState>> = rows
            .par_iter_mut()
            .map(|row| {
                let case = prior.cases.get(&row.finding_id);
                row.case_status =
                    case_status(case, prior.night.as_deref(), &row.sources, &row.evidence);
                case
            })
            .collect();
        for (row, case) in rows.iter().zip(found) {
            if row.case_status == NEW {
                cases.counts.new += 1;
            } else if row.case_status.starts_with(DISMISSED) {
                cases.counts.dismissed += 1;
            } else {
                cases.counts.persisting += 1;
            }
            if let Some(c) = case {
                cases.add_review(&row.finding_id, c);
            }
        }
        let raised: HashSet<&str> = rows.iter().map(|r| r.finding_id.as_str()).collect();
        let mut gone: Vec<(&str, &CaseState)> = prior
            .cases
            .par_iter()
            .filter(|(id, case)| {
                // A case a reviewer found 不属实 is closed (已核销 while its
                // sources stay): it does not disappear; one raised again for
                // review because its sources changed (持续/不属实/来源已变)
                // does.
                let closed =
                    case.verdict == NOT_TRUE && !case.case_status.ends_with(SOURCES_CHANGED);
                // Found gone by an earlier run of this night (open then, and
                // not closed, or it would not have gone): gone again.
                let gone_tonight = case.status == DISAPPEARED
                    && prior.night.as_deref() == Some(case.gone_on.as_str());
                !prior.past_night
                    && (is_open(&case.status) && !closed || gone_tonight)
                    && !skipped.contains(&case.rule.as_str())
                    && !raised.contains(id.as_str())
            })
            .map(|(id, case)| (id.as_str(), case))
            .collect();
        gone.par_sort_unstable_by_key(|(id, _)| *id);
        for (id, case) in &gone {
            cases.add_review(id, case);
        }
        let gone: Vec<&str> = gone.into_iter().map(|(id, _)| id).collect();
        cases.disappeared = prior.finding_rows(&gone)?;
        for row in &mut cases.disappeared {
            row.case_status = DISAPPEARED.to_string();
        }
        findings::sort(&mut cases.disappeared);
        cases.counts.disappeared = cases.disappeared.len() as u64;
        Ok(cases)
    }

    fn add_review(&mut self, id: &str, case: &CaseState) {
        if !case.verdict.is_empty() || !case.note.is_empty() {
            self.reviews.insert(
                id.to_string(),
                Review {
                    verdict: case.verdict.clone(),
                    note: case.note.clone(),
                },
            );
        }
    }

    /// What report.xlsx and report.html show of this run.
    pub fn people_report<'a>(
        &'a self,
        manifest: &'a Manifest,
        findings: &'a [FindingRow],
        masked: bool,
    ) -> PeopleReport<'a> {
        PeopleReport {
            manifest,
            findings,
            reviews: &self.reviews,
            disappeared: &self.disappeared,
            masked,
        }
    }
}

fn is_open(status: &str) -> bool {
    status == NEW || status == PERSISTING
}

/// Records a completed run in one transaction ([`stage`], then
/// [`Staged::commit`]).
pub fn commit(
    state: &Path,
    as_of: NaiveDate,
    rows: &[FindingRow],
    cases: &Cases,
    volumes: &BTreeMap<String, u64>,
    roster: &[i64],
) -> Result<(), HeduiError> {
    stage(state, as_of, rows, cases, volumes, roster, false)?.commit()
}

/// The most a staged run's transaction holds in SQLite's page cache before
/// it writes pages to the ledger file ahead of its commit, which locks
/// readers out (`PRAGMA cache_spill`), and the size of that cache
/// (`PRAGMA cache_size`). A city's ledger is ~0.5 GB.
const STAGE_CACHE_BYTES: i64 = 1 << 30;

/// A run's ledger changes, written in a transaction not yet committed:
/// [`Staged::commit`] makes them durable; dropped, they are rolled back.
/// Staged while the output files are written, committed once the output
/// folder is in place. The transaction holds the ledger's write lock (one
/// run or verdict import at a time holds the run lock anyway); its pages
/// stay in memory until the commit, up to [`STAGE_CACHE_BYTES`], so that
/// readers (`hedui cases`, `hedui report`) go on reading the last run's
/// ledger meanwhile.
#[derive(Debug)]
pub struct Staged {
    /// Taken only when dropped.
    ledger: Option<Ledger>,
    /// Whether staging created the ledger's file: a first run's ledger,
    /// removed again when the run fails.
    created: bool,
    as_of: String,
    findings: usize,
    counts: CaseCounts,
}

/// The latest as-of date (`YYYY-MM-DD`) of a run the ledger recorded.
fn latest_run(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT max(as_of) FROM runs", [], |r| r.get(0))
}

/// Writes a completed run's changes to the ledger in a transaction left
/// open: every finding upserted (first_seen and last_seen the earliest and
/// latest as-of date that raised it), the disappeared cases marked 已消失
/// (and the night), this run's volumes and roster keys ([`roster_key`])
/// as the new baseline. A batch that takes the ledger over (`fresh`, see
/// [`Unrelated`]) first copies it aside (`ledger-replaced-N.sqlite`, the
/// first N free) and empties it in the transaction. A run for a night earlier than
/// the ledger's latest (an audit of a past night) only moves the first_seen
/// of the cases it raised back. The runs row is added by [`Staged::commit`].
pub fn stage(
    state: &Path,
    as_of: NaiveDate,
    rows: &[FindingRow],
    cases: &Cases,
    volumes: &BTreeMap<String, u64>,
    roster: &[i64],
    fresh: bool,
) -> Result<Staged, HeduiError> {
    let (mut ledger, created) = Ledger::open_file(state)?;
    let path = ledger.path.clone();
    let err = |e: rusqlite::Error| db_error(&path, e);
    let as_of = as_of.to_string();
    let version = match ledger.prepare() {
        Ok(version) => version,
        Err(e) => {
            drop(ledger);
            if created {
                let _ = std::fs::remove_file(&path);
            }
            return Err(e);
        }
    };
    // From here on, an error drops `staged`, which rolls back (and
    // removes a ledger file it created).
    let staged = Staged {
        ledger: Some(ledger),
        created,
        as_of,
        findings: rows.len(),
        counts: cases.counts,
    };
    let tx = &staged
        .ledger
        .as_ref()
        .expect("taken only when dropped")
        .conn;
    let page_size: i64 = tx
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .map_err(err)?;
    tx.pragma_update(None, "cache_spill", STAGE_CACHE_BYTES / page_size.max(512))
        .map_err(err)?;
    // And as much for the pages it only reads: with SQLite's default cache
    // (2 MB), a run whose findings are those of the last run (the same
    // as-of date again) re-read the pages its upserts leave unchanged
    // from the file, again and again (city: 1.53 M upserts, 26 s against
    // 7.7 s; when last_seen changes, the changed pages are held anyway).
    // The cache grows only as pages are read.
    tx.pragma_update(None, "cache_size", -(STAGE_CACHE_BYTES / 1024))
        .map_err(err)?;
    if fresh && version > 0 {
        let aside = (1..)
            .map(|n| state.join(format!("ledger-replaced-{n}.sqlite")))
            .find(|p| !p.exists())
            .expect("some number is free");
        tx.execute("VACUUM INTO ?1", [aside.to_string_lossy()])
            .map_err(err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&aside, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| db_error(&aside, e))?;
        }
        tracing::info!(copy = %aside.display(), "ledger copied aside, to be taken over");
    }
    tx.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
    // A first run's schema is created in the run's transaction: a run
    // that fails leaves no ledger behind.
    if version == 0 {
        create_schema(tx).map_err(err)?;
    } else if fresh {
        tx.execute_batch(
            "DELETE FROM cases; DELETE FROM volumes; DELETE FROM roster_keys;
             DELETE FROM runs; DELETE FROM verdict_log;",
        )
        .map_err(err)?;
    }
    let as_of = &staged.as_of;
    // In key order: the table is a B-tree on finding_id, a hash, so rows
    // in findings.csv's order land on random pages (at city, 1.1 M
    // upserts took 25 s); in key order each page is filled or updated
    // once, in sequence.
    let mut in_key_order: Vec<&FindingRow> = rows.iter().collect();
    in_key_order.sort_unstable_by(|a, b| a.finding_id.cmp(&b.finding_id));
    if latest_run(tx)
        .map_err(err)?
        .is_some_and(|latest| *as_of < latest)
    {
        // A night earlier than the ledger's latest run again (an audit of
        // a past night): the ledger's cases are the later nights'. Only
        // the first night a case was seen can move back; no case is added
        // (one the later nights did not raise had gone by then), none
        // marked 已消失, the volume baseline stays the latest night's.
        let mut seen_earlier = tx
            .prepare("UPDATE cases SET first_seen = min(first_seen, ?2) WHERE finding_id = ?1")
            .map_err(err)?;
        for r in in_key_order {
            seen_earlier
                .execute(params![r.finding_id, as_of])
                .map_err(err)?;
        }
        drop(seen_earlier);
        return Ok(staged);
    }
    let mut upsert = tx
        .prepare(
            "INSERT INTO cases (finding_id, rule, kind, severity, household_id, id_number,
                 name, township, village, evidence, sources, match, first_seen, last_seen,
                 status, case_status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?15)
             ON CONFLICT (finding_id) DO UPDATE SET
                 rule = excluded.rule, kind = excluded.kind, severity = excluded.severity,
                 household_id = excluded.household_id, id_number = excluded.id_number,
                 name = excluded.name, township = excluded.township,
                 village = excluded.village, evidence = excluded.evidence,
                 sources = excluded.sources, match = excluded.match,
                 first_seen = min(first_seen, excluded.first_seen),
                 last_seen = max(last_seen, excluded.last_seen), status = excluded.status,
                 case_status = excluded.case_status, gone_on = ''",
        )
        .map_err(err)?;
    for r in in_key_order {
        let status = if r.case_status == NEW {
            NEW
        } else {
            PERSISTING
        };
        upsert
            .execute(params![
                r.finding_id,
                r.rule,
                r.kind,
                r.severity,
                r.household_id,
                r.id_number,
                r.name,
                r.township,
                r.village,
                r.evidence,
                r.sources,
                r.matched,
                as_of,
                status,
                r.case_status,
            ])
            .map_err(err)?;
    }
    drop(upsert);
    let mut gone = tx
        .prepare(
            "UPDATE cases SET status = ?2, case_status = ?2, gone_on = ?3 WHERE finding_id = ?1",
        )
        .map_err(err)?;
    let mut gone_in_key_order: Vec<&str> = cases
        .disappeared
        .iter()
        .map(|r| r.finding_id.as_str())
        .collect();
    gone_in_key_order.sort_unstable();
    for finding_id in gone_in_key_order {
        gone.execute(params![finding_id, DISAPPEARED, as_of])
            .map_err(err)?;
    }
    drop(gone);
    tx.execute("DELETE FROM volumes", []).map_err(err)?;
    let mut volume = tx
        .prepare("INSERT INTO volumes (extract, rows_accepted) VALUES (?1, ?2)")
        .map_err(err)?;
    for (extract, n) in volumes {
        volume
            .execute(params![extract, i64::try_from(*n).unwrap_or(i64::MAX)])
            .map_err(err)?;
    }
    drop(volume);
    tx.execute("DELETE FROM roster_keys", []).map_err(err)?;
    let mut key = tx
        .prepare("INSERT OR IGNORE INTO roster_keys (key) VALUES (?1)")
        .map_err(err)?;
    for k in roster {
        key.execute([k]).map_err(err)?;
    }
    drop(key);
    Ok(staged)
}

impl Staged {
    /// Adds the runs row (finished now) and commits: the run is recorded,
    /// on disk when this returns.
    pub fn commit(mut self) -> Result<(), HeduiError> {
        let ledger = self.ledger.as_ref().expect("taken only when dropped");
        let path = ledger.path.clone();
        let err = |e: rusqlite::Error| db_error(&path, e);
        let c = &self.counts;
        let conn = &ledger.conn;
        conn.execute(
            "INSERT INTO runs (as_of, finished, findings, new, persisting, dismissed, disappeared)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                self.as_of,
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                self.findings as i64,
                c.new as i64,
                c.persisting as i64,
                c.dismissed as i64,
                c.disappeared as i64
            ],
        )
        .map_err(err)?;
        conn.execute_batch("COMMIT").map_err(err)?;
        self.created = false;
        // The counts by case status are logged with the rules stage.
        tracing::info!(findings = self.findings, "ledger committed");
        Ok(())
    }
}

impl Drop for Staged {
    /// Rolls back a transaction not committed (closing the connection
    /// would too; this says so), and removes the ledger's file when
    /// staging created it.
    fn drop(&mut self) {
        let Some(ledger) = self.ledger.take() else {
            return;
        };
        if !ledger.conn.is_autocommit() {
            let _ = ledger.conn.execute_batch("ROLLBACK");
        }
        let path = ledger.path.clone();
        drop(ledger);
        if self.created {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, sources: &str) -> FindingRow {
        FindingRow {
            finding_id: id.to_string(),
            rule: "CB01".to_string(),
            sources: sources.to_string(),
            ..FindingRow::default()
        }
    }

    fn case(status: &str, verdict: &str, sources_at_verdict: &str) -> CaseState {
        CaseState {
            status: status.to_string(),
            verdict: verdict.to_string(),
            sources_at_verdict: sources_at_verdict.to_string(),
            ..CaseState::default()
        }
    }

    #[test]
    fn case_status_strings() {
        assert_eq!(case_status(None, None, "a:f:2", "e"), "新增");
        assert_eq!(
            case_status(Some(&case("新增", "", "")), None, "a:f:2", "e"),
            "持续"
        );
        assert_eq!(
            case_status(Some(&case("持续", "属实", "a:f:2")), None, "a:f:3", "e"),
            "持续/属实"
        );
        assert_eq!(
            case_status(Some(&case("持续", "待核查", "")), None, "a:f:2", "e"),
            "持续/待核查"
        );
        // Dismissed: the same set of source rows, in any order.
        let dismissed = case_status(
            Some(&case("持续", "不属实", "a:f:2;b:g:3")),
            None,
            "b:g:3;a:f:2",
            "e",
        );
        assert_eq!(dismissed, "已核销/不属实");
        assert!(dismissed.starts_with(DISMISSED));
        // Regression: a changed source row raises a dismissed case again
        // (a verdict of before the ledger kept the evidence).
        assert_eq!(
            case_status(
                Some(&case("持续", "不属实", "a:f:2;b:g:3")),
                None,
                "a:f:2;b:g:4",
                "e"
            ),
            "持续/不属实/来源已变"
        );
        // With the evidence kept: rows that moved (a renamed file, an
        // inserted row) under the same figures stay dismissed; new rows
        // with new figures raise it again.
        let kept = CaseState {
            evidence_at_verdict: "人均月收入 900.00 元".into(),
            ..case("持续", "不属实", "a:f_202511:2;b:g:3")
        };
        assert_eq!(
            case_status(
                Some(&kept),
                None,
                "a:f_202512:5;b:g:3",
                "人均月收入 900.00 元"
            ),
            "已核销/不属实"
        );
        assert_eq!(
            case_status(
                Some(&kept),
                None,
                "a:f_202511:2;b:g:3",
                "人均月收入 950.00 元"
            ),
            "已核销/不属实"
        );
        assert_eq!(
            case_status(
                Some(&kept),
                None,
                "a:f_202512:5;b:g:3",
                "人均月收入 950.00 元"
            ),
            "持续/不属实/来源已变"
        );
        // Whose income it is, over how many months, is no figure: a month
        // that moved into the window (helper-136), or a verdict given
        // before the list was written, leaves the case dismissed.
        let listed = |months: u32| {
            format!("人均月收入 900.00 元；其中 本人 工资 1800.00 元/月（{months} 个月平均）")
        };
        for (then, now) in [
            (listed(2), listed(3)),
            ("人均月收入 900.00 元".to_string(), listed(3)),
        ] {
            let kept = CaseState {
                evidence_at_verdict: then,
                rule: "CB01".into(),
                ..case("持续", "不属实", "a:f_202511:2")
            };
            assert_eq!(
                case_status(Some(&kept), None, "a:f_202512:2;a:f_202512:3", &now),
                "已核销/不属实"
            );
            // Another rule's evidence is compared whole, whatever it holds.
            let other = CaseState {
                rule: "DY02".into(),
                ..kept
            };
            assert_eq!(
                case_status(Some(&other), None, "a:f_202512:2;a:f_202512:3", &now),
                "持续/不属实/来源已变"
            );
        }
        let kept = CaseState {
            evidence_at_verdict: listed(2),
            rule: "DQ05".into(),
            ..case("持续", "不属实", "a:f_202511:2")
        };
        assert_eq!(
            case_status(
                Some(&kept),
                None,
                "a:f_202512:2;a:f_202512:3",
                "人均月收入 950.00 元；其中 本人 工资 1900.00 元/月（3 个月平均）"
            ),
            "持续/不属实/来源已变"
        );
        // A DQ03 dismissed when its evidence masked the raw IDs it quotes
        // stays dismissed now that they are in full, in a new month's file.
        let masked_then = CaseState {
            evidence_at_verdict: "身份证号校验位错误，已按姓名唯一修正，原号码：341122********7712（姓名一致，身份证号）；请核实".into(),
            ..case("持续", "不属实", "a:f_202511:8")
        };
        let in_full = "身份证号校验位错误，已按姓名唯一修正，原号码：「341122196815207712」（姓名一致，身份证号）；请核实";
        assert_eq!(
            case_status(Some(&masked_then), None, "a:f_202512:8", in_full),
            "已核销/不属实"
        );
        assert_eq!(
            case_status(
                Some(&masked_then),
                None,
                "a:f_202512:8",
                &in_full.replace("7712」", "7713」")
            ),
            "持续/不属实/来源已变"
        );
        // A case that disappeared and came back has been seen before.
        assert_eq!(
            case_status(Some(&case("已消失", "", "")), None, "a:f:2", "e"),
            "持续"
        );
        // First seen on the run's night (by an earlier run of it), or on a
        // later one (for an audit of a past night): new; a night before:
        // persisting; a verdict is kept whenever it was given.
        let seen_on = |first_seen: &str, verdict: &str| CaseState {
            first_seen: first_seen.to_string(),
            ..case("新增", verdict, "a:f:2")
        };
        let night = Some("2025-11-30");
        for (first_seen, verdict, status) in [
            ("2025-11-30", "", "新增"),
            ("2025-12-01", "", "新增"),
            ("2025-11-29", "", "持续"),
            ("2025-11-30", "属实", "持续/属实"),
            ("2025-11-30", "不属实", "已核销/不属实"),
        ] {
            assert_eq!(
                case_status(Some(&seen_on(first_seen, verdict)), night, "a:f:2", "e"),
                status,
                "{first_seen} {verdict}"
            );
        }
    }

    #[test]
    fn a_ledger_of_schema_version_1_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = ledger_path(dir.path());
        {
            let conn = Connection::open(&path).unwrap();
            let v1 = SCHEMA
                .replace(
                    ",\n    evidence_at_verdict TEXT NOT NULL DEFAULT '',\n    gone_on TEXT NOT NULL DEFAULT ''",
                    "",
                )
                .replace(
                    "CREATE TABLE roster_keys (\n    key INTEGER PRIMARY KEY NOT NULL\n);",
                    "",
                );
            assert!(!v1.contains("roster_keys") && !v1.contains("gone_on"));
            assert_ne!(v1, SCHEMA);
            conn.execute_batch(&v1).unwrap();
            conn.execute_batch(
                "PRAGMA user_version = 1;
                 INSERT INTO cases (finding_id, rule, kind, severity, household_id, id_number,
                     name, township, village, evidence, sources, match, first_seen, last_seen,
                     status, case_status, verdict, sources_at_verdict)
                 VALUES ('a', 'CB01', 'k', 's', 'h', 'i', 'n', 't', 'v', 'e', 'x:f:2', 'm',
                     '2025-10-31', '2025-10-31', '持续', '持续', '不属实', 'x:f:2');",
            )
            .unwrap();
        }
        let ledger = Ledger::open_existing(dir.path()).unwrap().unwrap();
        assert_eq!(ledger.version().unwrap(), SCHEMA_VERSION);
        let cases = ledger.cases().unwrap();
        assert_eq!(cases["a"].verdict, "不属实");
        assert_eq!(cases["a"].evidence_at_verdict, "");
        // Version 3's verdict log, empty: the verdict was given before it.
        assert_eq!(ledger.verdict_log().unwrap(), Vec::new());
        // Version 4's night a case was found gone: none yet.
        assert_eq!(ledger.case_states().unwrap()["a"].gone_on, "");
        assert_eq!(ledger.case_states().unwrap()["a"].first_seen, "2025-10-31");
        assert!(ledger.roster_keys().unwrap().is_empty());
        // Another command that read the old version before this one
        // migrated finds it done (it would create the log a second time).
        let mut late = Ledger::open_existing(dir.path()).unwrap().unwrap();
        late.migrate(1).unwrap();
        assert_eq!(late.version().unwrap(), SCHEMA_VERSION);
        drop(late);
        drop(ledger);
        // Opening it again (for a run) finds nothing more to do.
        let ledger = Ledger::open(dir.path()).unwrap();
        assert_eq!(ledger.version().unwrap(), SCHEMA_VERSION);
    }

    /// A batch whose roster shares under a fifth of the smaller roster's
    /// members with the last run's is of another place or series; a
    /// roster cut short, or one with members come and gone, is not; with
    /// no member on either side there is no telling.
    #[test]
    fn an_unrelated_roster_shares_almost_no_one() {
        let prior = Prior {
            roster: (0..100).collect(),
            ..Prior::default()
        };
        let keys = |r: std::ops::Range<i64>| r.collect::<Vec<i64>>();
        assert_eq!(prior.unrelated_roster(&keys(0..100)), None);
        assert_eq!(prior.unrelated_roster(&keys(0..3)), None, "cut short");
        assert_eq!(prior.unrelated_roster(&keys(10..130)), None, "moved on");
        assert_eq!(prior.unrelated_roster(&keys(80..200)), None, "a fifth");
        // A ledger of one night (or none) is taken over; of two, visited.
        let other = prior.unrelated_roster(&keys(81..200)).unwrap();
        assert!(other.takes_over);
        assert!(
            other.note.contains("本批 119 个，上次 100 个，相同 19 个"),
            "{}",
            other.note
        );
        let place = Prior {
            nights: 2,
            ..prior.clone()
        };
        let visitor = place.unrelated_roster(&keys(81..200)).unwrap();
        assert!(!visitor.takes_over);
        assert!(
            visitor.note.contains("台账已记有 2 晚的运行"),
            "{}",
            visitor.note
        );
        assert!(prior.unrelated_roster(&keys(1000..1005)).is_some());
        assert_eq!(prior.unrelated_roster(&[]), None, "no telling");
        assert_eq!(Prior::default().unrelated_roster(&keys(0..5)), None);
        // The key: 24 bits of a digest, the same on every platform and
        // version (a ledger's keys are compared with the next run's).
        assert_eq!(roster_key("110101199003077777"), 425_212);
        assert!((0..1 << 24).contains(&roster_key("11010119900307777X")));
        assert_ne!(
            roster_key("110101199003077777"),
            roster_key("110101199003077778")
        );
    }

    /// A rerun of a night classifies as the night's first run did: a case
    /// that run first raised is new again, one it found gone is gone again;
    /// the next night they are persisting, and gone no more.
    #[test]
    fn a_rerun_of_a_night_classifies_its_cases_again() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        // One found 不属实 and raised again for review when its sources
        // changed (open), then gone: its case_status is 已消失 since.
        for (id, first_seen, status, gone_on, verdict) in [
            ("new_tonight", "2025-11-30", "新增", "", ""),
            ("older", "2025-10-31", "持续", "", ""),
            ("gone_tonight", "2025-10-31", "已消失", "2025-11-30", ""),
            ("gone_before", "2025-10-31", "已消失", "2025-11-29", ""),
            (
                "reopened_gone_tonight",
                "2025-10-31",
                "已消失",
                "2025-11-30",
                "不属实",
            ),
        ] {
            ledger
                .conn
                .execute(
                    "INSERT INTO cases (finding_id, rule, kind, severity, household_id,
                         id_number, name, township, village, evidence, sources, match,
                         first_seen, last_seen, status, case_status, gone_on, verdict,
                         sources_at_verdict)
                     VALUES (?1, 'CB01', '错保', '高', 'H1', '110101199003077777', '张三',
                         '城关镇', '东村', 'e', 'a:f:2', 'exact', ?2, ?2, ?3, ?3, ?4, ?5,
                         'a:f:1')",
                    params![id, first_seen, status, gone_on, verdict],
                )
                .unwrap();
        }
        drop(ledger);
        let night = |day: &str| {
            Prior::load(dir.path())
                .unwrap()
                .for_as_of(NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap())
        };
        let classify = |prior: &Prior| {
            let mut rows = vec![row("new_tonight", "a:f:2"), row("older", "a:f:2")];
            let cases = Cases::classify(prior, &mut rows).unwrap();
            let statuses: Vec<String> = rows.into_iter().map(|r| r.case_status).collect();
            let gone: Vec<String> = cases
                .disappeared
                .into_iter()
                .map(|r| r.finding_id)
                .collect();
            (statuses, gone)
        };
        assert_eq!(
            classify(&night("2025-11-30")),
            (
                vec!["新增".into(), "持续".into()],
                vec!["gone_tonight".into(), "reopened_gone_tonight".into()]
            )
        );
        assert_eq!(
            classify(&night("2025-12-01")),
            (vec!["持续".into(), "持续".into()], vec![])
        );
    }

    #[test]
    fn classify_counts_and_finds_disappeared_open_cases() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        for (id, status, case_status, verdict, note, at_verdict) in [
            ("seen", "持续", "持续", "属实", "", "a:f:2"),
            ("closed", "持续", "已核销/不属实", "不属实", "", "a:f:2"),
            ("gone", "新增", "新增", "", "已电话核实", ""),
            ("long_gone", "已消失", "已消失", "", "", ""),
            (
                "closed_gone",
                "持续",
                "已核销/不属实",
                "不属实",
                "",
                "a:f:2",
            ),
            (
                "reopened_gone",
                "持续",
                "持续/不属实/来源已变",
                "不属实",
                "",
                "a:f:1",
            ),
        ] {
            ledger
                .conn
                .execute(
                    "INSERT INTO cases (finding_id, rule, kind, severity, household_id,
                         id_number, name, township, village, evidence, sources, match,
                         first_seen, last_seen, status, case_status, verdict, note,
                         sources_at_verdict)
                     VALUES (?1, 'CB01', '错保', '高', 'H1', '110101199003077777', '张三',
                         '城关镇', '东村', ?2, 'a:f:2', '身份证号', '2025-10-31',
                         '2025-10-31', ?3, ?4, ?5, ?6, ?7)",
                    params![
                        id,
                        format!("证据 {id}"),
                        status,
                        case_status,
                        verdict,
                        note,
                        at_verdict
                    ],
                )
                .unwrap();
        }
        drop(ledger);
        let prior = Prior::load(dir.path()).unwrap();
        let mut rows = vec![
            row("fresh", "a:f:9"),
            row("seen", "a:f:2"),
            row("closed", "a:f:2"),
        ];
        // A run that skipped CB01 (its extract optional and missing) did not
        // look for its cases: none disappears.
        let mut again = rows.clone();
        let skipping = Cases::classify_skipping(&prior, &mut again, &["CB01"]).unwrap();
        assert!(skipping.disappeared.is_empty());
        assert_eq!(skipping.counts.disappeared, 0);
        let cases = Cases::classify(&prior, &mut rows).unwrap();
        let statuses: Vec<&str> = rows.iter().map(|r| r.case_status.as_str()).collect();
        assert_eq!(statuses, ["新增", "持续/属实", "已核销/不属实"]);
        assert_eq!(
            cases.counts,
            CaseCounts {
                new: 1,
                persisting: 1,
                dismissed: 1,
                disappeared: 2
            }
        );
        let gone: Vec<&str> = cases
            .disappeared
            .iter()
            .map(|r| r.finding_id.as_str())
            .collect();
        assert_eq!(gone, ["gone", "reopened_gone"]);
        // As last raised, from the ledger.
        assert_eq!(cases.disappeared[0].case_status, "已消失");
        assert_eq!(cases.disappeared[1].evidence, "证据 reopened_gone");
        assert_eq!(
            (
                cases.disappeared[0].name.as_str(),
                cases.disappeared[0].village.as_str(),
                cases.disappeared[0].matched.as_str()
            ),
            ("张三", "东村", "身份证号")
        );
        assert_eq!(
            cases.reviews.keys().collect::<Vec<_>>(),
            ["closed", "gone", "reopened_gone", "seen"]
        );
        assert_eq!(cases.reviews["gone"].note, "已电话核实");
    }

    #[test]
    fn commit_round_trips_and_keeps_first_seen_and_verdicts() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        assert!(Prior::load(&state).unwrap().cases.is_empty());
        assert!(!state.exists(), "loading creates nothing");

        let mut rows = vec![row("a", "x:f:2"), row("b", "x:f:3")];
        let cases = Cases::classify(&Prior::default(), &mut rows).unwrap();
        let day1 = NaiveDate::from_ymd_opt(2025, 10, 31).unwrap();
        let vols = BTreeMap::from([("roster".to_string(), 10u64)]);
        commit(&state, day1, &rows, &cases, &vols, &[]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(ledger_path(&state))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // A ledger whose mode was widened (copied in) is tightened again
        // when a run opens it.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = ledger_path(&state);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            drop(Ledger::open(&state).unwrap());
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // A verdict given between runs.
        let l = Ledger::open(&state).unwrap();
        l.conn
            .execute(
                "UPDATE cases SET verdict = '属实', sources_at_verdict = sources WHERE finding_id = 'a'",
                [],
            )
            .unwrap();
        drop(l);

        let prior = Prior::load(&state).unwrap();
        assert_eq!(prior.volumes["roster"], 10);
        let mut rows = vec![row("a", "x:f:2")];
        let cases = Cases::classify(&prior, &mut rows).unwrap();
        assert_eq!(rows[0].case_status, "持续/属实");
        assert_eq!(cases.counts.disappeared, 1);
        let day2 = NaiveDate::from_ymd_opt(2025, 11, 30).unwrap();
        commit(&state, day2, &rows, &cases, &BTreeMap::new(), &[]).unwrap();

        let after = Ledger::open_existing(&state)
            .unwrap()
            .unwrap()
            .cases()
            .unwrap();
        let a = &after["a"];
        assert_eq!(
            (a.first_seen.as_str(), a.last_seen.as_str()),
            ("2025-10-31", "2025-11-30")
        );
        assert_eq!((a.status.as_str(), a.verdict.as_str()), ("持续", "属实"));
        let b = &after["b"];
        assert_eq!(
            (b.status.as_str(), b.last_seen.as_str()),
            ("已消失", "2025-10-31")
        );
        assert!(Prior::load(&state).unwrap().volumes.is_empty());

        // An earlier night run again, on that night's extracts: first_seen
        // moves back; last_seen, the sources, evidence and status stay the
        // later night's; a case the later night found gone (b) is not
        // opened again, one only the earlier night raises (z) not added
        // (below).
        let prior = Prior::load(&state).unwrap();
        let mut rows = vec![FindingRow {
            evidence: "九月的证据".to_string(),
            ..row("a", "x:f:9")
        }];
        let cases = Cases::classify(&prior, &mut rows).unwrap();
        let day0 = NaiveDate::from_ymd_opt(2025, 9, 30).unwrap();
        let mid = NaiveDate::from_ymd_opt(2025, 11, 15).unwrap();
        commit(&state, day0, &rows, &cases, &BTreeMap::new(), &[]).unwrap();
        let cases_now = || {
            Ledger::open_existing(&state)
                .unwrap()
                .unwrap()
                .cases()
                .unwrap()
        };
        let again = &cases_now()["a"];
        assert_eq!(
            (again.first_seen.as_str(), again.last_seen.as_str()),
            ("2025-09-30", "2025-11-30")
        );
        assert_eq!(
            (again.row.sources.as_str(), again.row.evidence.as_str()),
            (a.row.sources.as_str(), a.row.evidence.as_str())
        );
        assert_eq!(
            (again.status.as_str(), again.verdict.as_str()),
            ("持续", "属实")
        );
        // A night between the two again, raising b (gone since 11-30,
        // last seen 10-31) and z: b stays gone, z is not added.
        let prior = Prior::load(&state).unwrap().for_as_of(mid);
        let mut rows = vec![row("b", "x:f:1"), row("z", "x:f:1")];
        let cases = Cases::classify(&prior, &mut rows).unwrap();
        commit(&state, mid, &rows, &cases, &BTreeMap::new(), &[]).unwrap();
        let b_now = &cases_now()["b"];
        assert_eq!(
            (
                b_now.status.as_str(),
                b_now.first_seen.as_str(),
                b_now.last_seen.as_str()
            ),
            ("已消失", "2025-10-31", "2025-10-31")
        );
        assert!(!cases_now().contains_key("z"));

        // An earlier night that did not raise it: still open, as the later
        // night left it, and not among the earlier night's disappeared.
        let prior = Prior::load(&state).unwrap();
        let cases = Cases::classify(&prior, &mut []).unwrap();
        assert_eq!(cases.counts.disappeared, 1);
        let at_day0 = Cases::classify(&prior.clone().for_as_of(day0), &mut []).unwrap();
        assert_eq!(at_day0.counts.disappeared, 0);
        // The later night run again without it: it is gone, beside b, which
        // that night's first run found gone.
        let at_day2 = Cases::classify(&prior.for_as_of(day2), &mut []).unwrap();
        assert_eq!(at_day2.counts.disappeared, 2);
        commit(&state, day0, &[], &cases, &BTreeMap::new(), &[]).unwrap();
        let still = &cases_now()["a"];
        assert_eq!(
            (still.status.as_str(), still.last_seen.as_str()),
            ("持续", "2025-11-30")
        );
    }

    /// `n` findings with evidence long enough that their pages fill far
    /// more than SQLite's default page cache (2 MB).
    fn many_rows(n: usize) -> Vec<FindingRow> {
        (0..n)
            .map(|i| FindingRow {
                evidence: format!("证据 {i} {}", "x".repeat(300)),
                ..row(&format!("{i:08}"), "x:f:2")
            })
            .collect()
    }

    fn count(state: &Path, table: &str) -> rusqlite::Result<i64> {
        // A reader that does not wait: busy is an error at once.
        let conn =
            Connection::open_with_flags(ledger_path(state), OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(std::time::Duration::ZERO)?;
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
    }

    /// A ledger in `dir` that has recorded one run, raising case `a`: its
    /// state folder and the run's as-of date.
    fn one_run_recorded(dir: &Path) -> (PathBuf, NaiveDate) {
        let state = dir.join("state");
        let day = NaiveDate::from_ymd_opt(2025, 10, 31).unwrap();
        let mut rows = vec![row("a", "x:f:2")];
        let cases = Cases::classify(&Prior::default(), &mut rows).unwrap();
        commit(&state, day, &rows, &cases, &BTreeMap::new(), &[]).unwrap();
        (state, day)
    }

    /// `n` findings ([`many_rows`]) classified against the ledger of
    /// `state` (none yet, or the last run's) and staged as of `day`.
    fn stage_many(state: &Path, day: NaiveDate, n: usize, vols: &BTreeMap<String, u64>) -> Staged {
        let mut rows = many_rows(n);
        let cases = Cases::classify(&Prior::load(state).unwrap(), &mut rows).unwrap();
        stage(state, day, &rows, &cases, vols, &[], false).unwrap()
    }

    fn page_size(state: &Path) -> i64 {
        let conn = Connection::open(ledger_path(state)).unwrap();
        conn.query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_ledger_gets_large_pages_and_an_older_one_is_rewritten_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let (state, day) = one_run_recorded(dir.path());
        assert_eq!(page_size(&state), PAGE_SIZE);

        // As an older hedui made it.
        let conn = Connection::open(ledger_path(&state)).unwrap();
        conn.execute_batch("PRAGMA page_size = 4096; VACUUM;")
            .unwrap();
        drop(conn);
        assert_eq!(page_size(&state), 4096);

        // A reader in a transaction: the rewrite does not wait for it, and
        // the run goes on with small pages.
        let reader = Connection::open(ledger_path(&state)).unwrap();
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM cases;")
            .unwrap();
        let vols = BTreeMap::new();
        let staged = stage_many(&state, day.succ_opt().unwrap(), 3, &vols);
        reader.execute_batch("COMMIT").unwrap();
        drop(reader);
        staged.commit().unwrap();
        assert_eq!(page_size(&state), 4096);

        // The next run rewrites it; the cases, their first_seen and the
        // runs are kept.
        let next = day.succ_opt().unwrap().succ_opt().unwrap();
        stage_many(&state, next, 3, &vols).commit().unwrap();
        assert_eq!(page_size(&state), PAGE_SIZE);
        let cases = Ledger::open_existing(&state)
            .unwrap()
            .unwrap()
            .cases()
            .unwrap();
        assert_eq!(cases.len(), 4);
        assert_eq!(cases["a"].status, DISAPPEARED);
        assert_eq!(cases["a"].first_seen, day.to_string());
        let second = day.succ_opt().unwrap().to_string();
        assert_eq!(cases["00000002"].first_seen, second);
        assert_eq!(cases["00000002"].last_seen, next.to_string());
        assert_eq!(count(&state, "runs").unwrap(), 3);
    }

    #[test]
    fn a_staged_run_dropped_leaves_the_ledger_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let (state, day) = one_run_recorded(dir.path());

        let vols = BTreeMap::from([("roster".to_string(), 10u64)]);
        let staged = stage_many(&state, day.succ_opt().unwrap(), 100, &vols);
        // Pages only read stay in memory as those written do.
        let conn = &staged.ledger.as_ref().unwrap().conn;
        let cache_kib: i64 = conn
            .query_row("PRAGMA cache_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(cache_kib * -1024, STAGE_CACHE_BYTES);
        drop(staged);

        let after = Prior::load(&state).unwrap();
        assert_eq!(after.cases.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(after.cases["a"].status, NEW);
        assert!(after.volumes.is_empty());
        assert_eq!(count(&state, "runs").unwrap(), 1);
    }

    #[test]
    fn a_first_run_staged_and_dropped_leaves_no_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let day = NaiveDate::from_ymd_opt(2025, 10, 31).unwrap();
        let staged = stage_many(&state, day, 10, &BTreeMap::new());
        assert!(ledger_path(&state).exists());
        drop(staged);
        assert!(
            !ledger_path(&state).exists(),
            "no ledger, as before the run"
        );
        assert!(Ledger::open_existing(&state).unwrap().is_none());

        let staged = stage_many(&state, day, 10, &BTreeMap::new());
        staged.commit().unwrap();
        assert_eq!(Prior::load(&state).unwrap().cases.len(), 10);
    }

    #[test]
    fn readers_read_the_last_run_while_the_next_is_staged() {
        let dir = tempfile::tempdir().unwrap();
        let (state, day) = one_run_recorded(dir.path());

        // ~12 MB of pages: past the default cache, they would be written to
        // the file before the commit, under a lock that shuts readers out.
        let staged = stage_many(&state, day.succ_opt().unwrap(), 30_000, &BTreeMap::new());
        assert_eq!(count(&state, "cases").unwrap(), 1, "the last run's cases");
        assert_eq!(count(&state, "runs").unwrap(), 1);

        staged.commit().unwrap();
        assert_eq!(count(&state, "cases").unwrap(), 30_001);
        assert_eq!(count(&state, "runs").unwrap(), 2);
    }

    #[test]
    fn shrink_gate_compares_accepted_rows_per_extract() {
        let prior = Prior {
            volumes: BTreeMap::from([
                ("property".to_string(), 100),
                ("roster".to_string(), 50),
                ("pension".to_string(), 10),
            ]),
            ..Prior::default()
        };
        let account = |extract: &str, n: u64| FileAccount {
            extract: extract.to_string(),
            rows_accepted: n,
            ..FileAccount::default()
        };
        // property split over two files: 40 + 20 = 60, 40% fewer.
        let accounts = [
            account("property", 40),
            account("property", 20),
            account("roster", 36),
        ];
        let problems = prior.shrink_problems(&accounts, 0.30);
        // roster: 28% fewer, within the limit; pension missing: 100% fewer.
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("pension"), "{}", problems[0]);
        assert!(problems[1].contains("100 降到 60"), "{}", problems[1]);
        assert!(problems[1].contains("40.0%"), "{}", problems[1]);
        assert!(Prior::default().shrink_problems(&accounts, 0.0).is_empty());
    }
}
