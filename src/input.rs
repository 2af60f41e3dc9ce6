//! A batch folder, read: which file is which extract (by file-name prefix or
//! the config), each file read and its rows parsed into the extract's typed
//! table, with the accounting of spec/outputs.md — for every file, rows read
//! = accepted + rejected + skipped — and every fatal fault collected, so that
//! one run reports all of them at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::work::{WorkPart, WorkPartWriter};
use rayon::prelude::*;

use crate::extract::table::{self, FileColumns, FileRows, Value};
use crate::extract::{self, ExtractDef, HeaderMap, HeaderMatcher, HeaderProblem};
use crate::read::{self, Chunk, Section};

/// The accounting of one input file (a `manifest.json` `inputs` entry).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct FileAccount {
    pub file: String,
    pub extract: String,
    pub sha256: String,
    pub format: String,
    pub encoding: String,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_rejected: u64,
    pub rows_skipped: u64,
    pub rows_duplicate: u64,
    /// Rows replaced by a later, different row with the same record key.
    pub rows_conflict: u64,
    /// Skipped rows by reason: blank, total, repeated_header, title, footer.
    pub skipped: BTreeMap<String, u64>,
    /// Rejected rows by reason code.
    pub rejected: BTreeMap<String, u64>,
    /// Status of the primary ID column: valid, upgraded15, bad_check, …
    pub id_status: BTreeMap<String, u64>,
    /// Optional values that did not parse (kept as null), and ID numbers
    /// whose region code no division table knows.
    pub warnings: BTreeMap<String, u64>,
    pub unknown_columns: Vec<String>,
    pub ignored_sheets: Vec<String>,
    /// Of the ignored sheets, those whose header is another extract
    /// type's (a 失业登记 sheet in a pension workbook): not read, since a
    /// file is read as one type, and named in the reports with what to do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_type_sheets: Vec<OtherTypeSheet>,
    /// Tables of another extract type's header below the file's own rows
    /// in a sheet or text file (an unemployment register pasted under a
    /// pension list): their rows are rejected (`other_type_table`), not
    /// read as the file's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_type_tables: Vec<OtherTypeTable>,
    /// Hidden sheets of a workbook that were read as data (they may hold
    /// stale rows; a reviewer should know).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_sheets: Vec<String>,
    /// Empty cells of merged ranges (XLSX) that took their range's value.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub merged_cells_filled: u64,
}

impl FileAccount {
    /// The sheets not read, but for those of another type's header, which
    /// have notes of their own.
    pub fn sheets_without_header(&self) -> Vec<String> {
        self.ignored_sheets
            .iter()
            .filter(|s| !self.other_type_sheets.iter().any(|o| &o.sheet == *s))
            .cloned()
            .collect()
    }
}

/// A workbook's sheet not read because its header is another extract
/// type's.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OtherTypeSheet {
    pub sheet: String,
    /// The type its header is (`unemployment`).
    pub extract: String,
}

/// A table whose header is another extract type's, below the file's own
/// rows in one sheet or text file (see [`FileAccount::other_type_tables`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OtherTypeTable {
    /// The workbook's sheet it is on; none in a text file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// The row of its header, as rejects.csv counts rows.
    pub header_row: u32,
    /// Its rows below the header, rejected (skipped rows not counted).
    pub rows: u64,
    /// The type its header is (`unemployment`).
    pub extract: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One rejected row (a `rejects.csv` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectRow {
    pub extract: &'static str,
    pub file: String,
    pub row: String,
    pub code: &'static str,
    pub reason: String,
    pub raw: Vec<String>,
}

/// A value of an accepted row that could not be read and is null instead
/// (a `warnings.csv` line): an optional date, number or category no rule
/// needs to keep the row, but which staff should see and correct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningRow {
    pub extract: &'static str,
    pub file: String,
    pub row: String,
    /// The field's header in the data-exchange template.
    pub field: &'static str,
    /// The field's name (`hardship`).
    pub field_name: &'static str,
    pub code: &'static str,
    /// What was wrong, in Chinese.
    pub reason: String,
    /// The cell as written.
    pub value: String,
}

/// A fault that makes an input unusable (exit code 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    pub file: String,
    /// Chinese, then English.
    pub message: String,
}

/// An extract table whose rows went to disk as they were read
/// ([`load_to_disk`]): one work part per usable input file, in file order.
#[derive(Debug)]
pub struct DiskExtract {
    pub parts: Vec<WorkPart>,
    pub schema: SchemaRef,
    /// `_ord` of every row that a later row of the same record key replaces
    /// (its `_superseded` is written false and must be read as true).
    pub superseded: Vec<u64>,
}

/// Everything read from a batch folder.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Extract name → its typed table, in batches (only types with at least
    /// one usable file).
    pub tables: BTreeMap<&'static str, Vec<RecordBatch>>,
    /// The same for a batch read to disk: these instead of `tables`.
    pub on_disk: BTreeMap<&'static str, DiskExtract>,
    pub accounts: Vec<FileAccount>,
    pub rejects: Vec<RejectRow>,
    /// The values of accepted rows that could not be read (null instead).
    pub warnings: Vec<WarningRow>,
    /// Files hedui did not recognise.
    pub ignored: Vec<String>,
    /// Optional extract types that were missing (their rules are skipped).
    pub missing_optional: Vec<&'static str>,
    /// What the run should say of the batch though it goes on (the
    /// manifest's `problems`): files named by a type's title not read
    /// beside a file named by the type.
    pub notes: Vec<String>,
    pub problems: Vec<InputProblem>,
    /// Extract name → its record-key conflicts, each as the `_ord`s of the
    /// row replaced and of the later, different row that replaced it
    /// (ordered by the later row; none for the roster, where such rows are
    /// CB05).
    pub conflicts: BTreeMap<&'static str, Vec<(u64, u64)>>,
    /// Extract name → its exact duplicates within a file, each as the
    /// `_ord`s of the duplicate and of the row it repeats (ascending), for
    /// the extracts keyed by ID number: a repaired row's key is chained
    /// again with them ([`crate::resolve::rekey`]).
    pub dups: BTreeMap<&'static str, Vec<(u64, u64)>>,
    /// Extract name → the `_ord`s of its rows that repeat a row of an
    /// earlier file value for value (a record issued again), ascending: the
    /// first copy stands for the record in DQ01 and DQ04.
    pub repeats: BTreeMap<&'static str, Vec<u64>>,
    /// Extract name → the account (index into `accounts`) of each of its
    /// files, by the file's part of its rows' `_ord`s
    /// ([`table::split_ord`]).
    pub ord_accounts: BTreeMap<&'static str, BTreeMap<usize, usize>>,
}

/// The files of a batch folder with the extract each belongs to and its
/// size in bytes, in name order, and the names of the files that belong to
/// none.
pub type Classified = (Vec<(PathBuf, &'static ExtractDef, u64)>, Vec<String>);

/// File names in natural order: runs of ASCII digits compare as numbers
/// (leading zeros aside), everything else as text, ASCII case aside.
pub(crate) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn runs(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut digits = None;
        for (i, c) in s.char_indices() {
            let d = c.is_ascii_digit();
            if digits.is_some_and(|prev| prev != d) {
                out.push((digits == Some(true), &s[start..i]));
                start = i;
            }
            digits = Some(d);
        }
        if start < s.len() {
            out.push((digits == Some(true), &s[start..]));
        }
        out
    }
    let (ra, rb) = (runs(a), runs(b));
    for (x, y) in ra.iter().zip(&rb) {
        let order = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            // Case aside: the type is recognised in any case (PENSION_…).
            ((_, x), (_, y)) => x
                .bytes()
                .map(|b| b.to_ascii_lowercase())
                .cmp(y.bytes().map(|b| b.to_ascii_lowercase())),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    ra.len().cmp(&rb.len())
}

/// Whether a file is a backup or temporary copy that an editor or a person
/// left beside an extract (`roster_202511.xlsx.bak`, `…csv~`,
/// `…csv.tmp`): named like the extract, it is not one to read.
fn is_backup(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[".bak", ".old", ".orig", ".tmp", ".temp", ".swp", "~"];
    let lower = name.to_lowercase();
    SUFFIXES.iter().any(|s| lower.ends_with(s))
}

/// Sorts a batch folder's files by extract type. A folder inside it is
/// listed as ignored (`name/`), and so are a pipe or a device, hidden
/// files, Excel's lock files and backup copies ([`is_backup`]); an entry that cannot even be looked at (a
/// link to nothing) is taken as a file, so that one named like an extract
/// fails the run as unreadable instead of being passed over.
pub fn classify(dir: &Path, config: &Config) -> std::io::Result<Classified> {
    let mut folders = Vec::new();
    let mut others = Vec::new();
    let mut names: Vec<(String, PathBuf, u64)> = Vec::new();
    // A file named after a person is masked in logs and messages
    // ([`crate::report::mask::register_label`]).
    for e in std::fs::read_dir(dir)?.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        crate::report::mask::register_label(&name);
        // Hidden files (`.DS_Store`) and the lock file Excel leaves beside
        // a workbook it has open (`~$roster_202511.xlsx`, named like an
        // extract) are never read, only listed.
        // A backup copy is one unless the config maps it by name.
        let hidden = name.starts_with('.')
            || name.starts_with("~$")
            || is_backup(&name) && !config.input.files.contains_key(&name);
        match std::fs::metadata(e.path()) {
            Ok(meta) if meta.is_dir() => folders.push(format!("{name}/")),
            _ if hidden => others.push(name),
            Ok(meta) if meta.is_file() => names.push((name, e.path(), meta.len())),
            // A pipe or a device: reading it could wait for ever.
            Ok(_) => others.push(name),
            Err(_) => names.push((name, e.path(), 0)),
        }
    }
    // Files of one type are read in this order, and on a record-key
    // conflict the later file's row is the one the rules use: numbers in
    // names compare as numbers (`…_2025_9` before `…_2025_10`).
    names.sort_by(|a, b| natural_cmp(&a.0, &b.0).then_with(|| a.0.cmp(&b.0)));
    let mut files = Vec::new();
    let mut ignored = Vec::new();
    // Files named by a type's Chinese title, with the type their header
    // fits: read below where that says enough.
    let mut titled = Vec::new();
    for (name, path, bytes) in names {
        let def = config
            .input
            .files
            .get(&name)
            .and_then(|t| extract::by_name(t))
            .or_else(|| extract::by_file_name(&name))
            .or_else(|| {
                let def = by_header(&path, &name, config, Naming::Type)?;
                tracing::info!(file = %name, extract = def.name, "file recognised by its header");
                Some(def)
            });
        match def {
            Some(def) => files.push((path, def, bytes)),
            None => match by_header(&path, &name, config, Naming::Title) {
                Some(def) => titled.push((name, path, bytes, def)),
                None => ignored.push(name),
            },
        }
    }
    // A file named by its type's Chinese title is read only where no file
    // is named by that type: a bureau keeps its own lists under the same
    // titles (已退出救助对象名册 beside the roster; helper-142). Those
    // left are noted ([`title_notes`]).
    let typed: Vec<&str> = files.iter().map(|(_, d, _)| d.name).collect();
    for (name, path, bytes, def) in titled {
        if typed.contains(&def.name) {
            tracing::warn!(file = %name, extract = def.name, "file named by a title not read: its type has a file named by the type");
            ignored.push(name);
        } else {
            tracing::info!(file = %name, extract = def.name, "file recognised by its title and header");
            files.push((path, def, bytes));
        }
    }
    let order = |a: &str, b: &str| natural_cmp(a, b).then_with(|| a.cmp(b));
    files.sort_by(|a, b| order(&file_name(&a.0), &file_name(&b.0)));
    ignored.sort_by(|a, b| order(a, b));
    for list in [&mut others, &mut folders] {
        list.sort_by(|a, b| natural_cmp(a, b).then_with(|| a.cmp(b)));
    }
    ignored.extend(others);
    ignored.extend(folders);
    Ok((files, ignored))
}

/// How a file's name names an extract type, for [`by_header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Naming {
    /// Its canonical name, elsewhere than at the start or written
    /// otherwise (`2025年11月roster.xlsx`, `MedicalSettlement.csv`).
    Type,
    /// A word of its Chinese title ([`ExtractDef::title_words`]).
    Title,
}

/// Words that mark a file as the bureau's own work on a list, not a
/// department's extract, whatever title it carries (`低保户养老金发放核对表`,
/// `已退出救助对象名册`, `低保金养老金发放表`; helper-142).
const NOT_EXTRACT_WORDS: &[&str] = &[
    "核对",
    "核查",
    "退出",
    "停保",
    "停发",
    "死亡",
    "注销",
    "取消",
    "终止",
    "清退",
    "剔除",
    "异议",
    "低保金",
    "供养金",
    "备份",
    "副本",
    "草稿",
];

/// A note for each extract type some of whose files are named by its
/// Chinese title but were not read, since a file is named by the type
/// (`roster_城关镇.xlsx` beside `其他乡镇救助对象名册.xlsx`): the staff may
/// have renamed one of several and left the others (helper-143).
fn title_notes(
    ignored: &[String],
    files: &[(PathBuf, &'static ExtractDef, u64)],
    config: &Config,
) -> Vec<String> {
    // A file named by the type: mapped, or its name says the type (not
    // one read by its title alone).
    let typed = |path: &Path, def: &ExtractDef| {
        let name = file_name(path);
        config.input.files.contains_key(&name)
            || compact_name(&name).contains(&compact_name(def.name))
    };
    extract::EXTRACTS
        .iter()
        .filter(|def| {
            files
                .iter()
                .any(|(p, d, _)| d.name == def.name && typed(p, def))
        })
        .filter_map(|def| {
            let left: Vec<String> = ignored
                .iter()
                // Not Excel's lock file, a hidden file or a backup copy,
                // which are never read.
                .filter(|n| !n.starts_with('.') && !n.starts_with("~$") && !is_backup(n))
                .filter(|n| title_names(&titled_name(n), def))
                .map(|n| crate::report::mask::mask_label(n))
                .collect();
            (!left.is_empty()).then(|| {
                format!(
                    "名称含{label}而未读取的文件：{list}（已有 {x}_… 文件，只读取这样命名的）；若它们也是{label}，请改名为 {x}_… \
                     / files named {x} in Chinese not read, as files are named {x}_…: {list}; if they are {x} too, name them {x}_…",
                    label = def.label,
                    list = left.join("、"),
                    x = def.name
                )
            })
        })
        .collect()
}

/// Whether a file's name names extract type `def`, by its canonical name
/// or by its title (see [`Naming`]).
fn names_type(name: &str, def: &ExtractDef) -> bool {
    compact_name(name).contains(&compact_name(def.name)) || def.titled_loosely(&titled_name(name))
}

/// A name's ASCII letters and digits, lower-case: `MedicalSettlement-11`
/// → `medicalsettlement11`, as a type's canonical name is sought in it.
fn compact_name(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether a file's name, as [`titled_name`] gives it, names `def` by its
/// title ([`Naming::Title`]): a word of its title, and none of
/// [`NOT_EXTRACT_WORDS`].
fn title_names(titled: &str, def: &ExtractDef) -> bool {
    def.titled_by(titled) && !NOT_EXTRACT_WORDS.iter().any(|w| titled.contains(w))
}

/// A file name as its title words are sought in it: in simplified
/// characters (`醫保結算明細.csv`).
fn titled_name(name: &str) -> String {
    crate::normalize::name::to_simplified(name)
}

/// How much of a text file [`by_header`] reads: the header is searched for
/// in the first rows only.
const HEADER_SEARCH_BYTES: u64 = 1 << 20;

/// The extract a file holds whose name holds an extract type's name
/// elsewhere than at its start, or written otherwise (`01_roster.csv`,
/// `roster2025.xlsx`, `MedicalSettlement-11.csv`: letters and digits
/// compared, case aside), or a word of its Chinese title
/// ([`ExtractDef::title_words`]: `医保结算明细202511.csv`), told by its
/// header row: of the types named,
/// the one whose required columns the header has, the most columns of
/// them; none when two have as many (precision first) or when no header is
/// found in the rows searched. The name must say it: a header alone is no
/// proof (a bureau's own 低保金发放表 has a pension's columns, a
/// disability register an unemployment register's). The first section
/// with such a header decides; a text file's first megabyte is read, a
/// workbook whole, a Parquet file not at all.
fn by_header(
    path: &Path,
    name: &str,
    config: &Config,
    naming: Naming,
) -> Option<&'static ExtractDef> {
    let named = compact_name(name);
    let titled = titled_name(name);
    let matchers: Vec<(&'static ExtractDef, HeaderMatcher)> = extract::EXTRACTS
        .iter()
        .filter(|def| match naming {
            Naming::Type => named.contains(&compact_name(def.name)),
            Naming::Title => title_names(&titled, def),
        })
        .map(|&def| (def, HeaderMatcher::new(def, &config.aliases(def.name))))
        .collect();
    if matchers.is_empty() {
        return None;
    }
    let is_header = |cells: &[read::Cell]| matchers.iter().any(|(_, m)| m.looks_like_header(cells));
    let bytes = match read::kind_of(path)? {
        read::Kind::Xlsx => std::fs::read(path).ok()?,
        read::Kind::Parquet => return None,
        read::Kind::Tsv | read::Kind::Text => {
            use std::io::Read as _;
            let mut head = Vec::new();
            let file = std::fs::File::open(path).ok()?;
            file.take(HEADER_SEARCH_BYTES).read_to_end(&mut head).ok()?;
            if head.len() as u64 == HEADER_SEARCH_BYTES
                && let Some(end) = head.iter().rposition(|&b| b == b'\n')
            {
                head.truncate(end + 1);
            }
            head
        }
    };
    let table = read::read_bytes(name, bytes, &is_header).ok()?;
    table.sections.iter().find_map(|section| {
        let mut fits: Vec<(usize, &'static ExtractDef)> = matchers
            .iter()
            .filter_map(|(def, m)| {
                let map = m.map_header(&section.header).ok()?;
                Some((map.columns.iter().flatten().count(), *def))
            })
            .collect();
        fits.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
        match fits.as_slice() {
            [] => None,
            [(n, _), (m, _), ..] if n == m => None,
            [(_, def), ..] => Some(*def),
        }
    })
}

/// Reads every extract of a batch folder. Files are read in parallel (and
/// each file's rows in parallel chunks); everything comes back in file order,
/// so the result does not depend on the thread count. `as_of` is the day
/// the records are judged on: an ID number born after it is bad.
pub fn load(dir: &Path, config: &Config, as_of: NaiveDate) -> Inputs {
    load_with(dir, config, as_of, Target::Memory)
}

/// As [`load`], but the rows go to work files under `disk` (created,
/// owner-only) batch by batch as they are parsed, for a batch larger than
/// memory: `on_disk` instead of `tables`.
pub fn load_to_disk(dir: &Path, config: &Config, as_of: NaiveDate, disk: &Path) -> Inputs {
    load_with(dir, config, as_of, Target::Disk(disk))
}

/// As [`load`], but the parsed rows are counted and not kept (no `tables`):
/// the accounting, rejects and problems of a batch of any size, in the
/// memory a few batches take (`hedui validate`).
pub fn load_accounts(dir: &Path, config: &Config, as_of: NaiveDate) -> Inputs {
    load_with(dir, config, as_of, Target::Discard)
}

/// Where the accepted rows go.
#[derive(Clone, Copy)]
enum Target<'a> {
    Memory,
    Disk(&'a Path),
    Discard,
}

/// Rows a file's columns gather before they go to disk as one batch.
const DISK_BATCH_ROWS: usize = 64 * 1024;

/// `as_of`: the day the records are judged on (an ID number born after it
/// is bad: [`crate::normalize::id::NormalizedId::born_by`]).
fn load_with(dir: &Path, config: &Config, as_of: NaiveDate, target: Target<'_>) -> Inputs {
    let mut inputs = Inputs::default();
    let (files, ignored) = match classify(dir, config) {
        Ok(x) => x,
        Err(e) => {
            inputs.problems.push(InputProblem {
                file: dir.display().to_string(),
                message: format!(
                    "无法读取输入目录 {dir}：{zh} / cannot read the input folder {dir}: {e}",
                    dir = dir.display(),
                    zh = crate::error::io_zh(&e)
                ),
            });
            return inputs;
        }
    };
    inputs.ignored = ignored;
    inputs.notes = title_notes(&inputs.ignored, &files, config);
    // Each file's place among its extract's files: the high half of `_ord`.
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let places: Vec<usize> = files
        .iter()
        .map(|(_, def, _)| {
            let n = seen.entry(def.name).or_default();
            *n += 1;
            *n - 1
        })
        .collect();
    // Rows of an extract that comes in several files carry a digest of
    // their values, so that a row repeated by another file is told from a
    // conflict (8 bytes a row, only for such extracts; see
    // table::supersede); the roster's always do, so that a member row
    // repeated with the same values, written alike or not, is no CB05.
    let several = |def: &ExtractDef| {
        def.is_roster() || files.iter().filter(|(_, d, _)| d.name == def.name).count() > 1
    };
    // The largest files start first, each thread taking the next largest
    // when it is free, so that no big file is left to run alone at the end
    // (a split of the list, as `par_iter` makes, gave one thread the small
    // files and then two big ones: at a city 15 s with one file left). The
    // results come back in file order.
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(files[i].2));
    let mut results: Vec<(usize, FileResult)> = order
        .into_iter()
        .par_bridge()
        .map(|i| {
            let (path, def, _) = &files[i];
            let place = places[i];
            let spill = match target {
                Target::Memory => None,
                Target::Disk(d) => Some(Spill {
                    path: Some(d.join(def.name).join(format!("{place:04}"))),
                    file_idx: place,
                }),
                Target::Discard => Some(Spill {
                    path: None,
                    file_idx: place,
                }),
            };
            let start = std::time::Instant::now();
            let result = load_file(path, def, config, as_of, spill, several(def));
            tracing::debug!(
                file = %result.account.file,
                rows = result.account.rows_read,
                seconds = start.elapsed().as_secs_f64(),
                "file read"
            );
            (i, result)
        })
        .collect();
    results.sort_by_key(|(i, _)| *i);
    let results = results.into_iter().map(|(_, r)| r);
    // Extract name → its usable files.
    let mut per_extract: BTreeMap<&'static str, Vec<Usable>> = BTreeMap::new();
    for ((result, (_, def, _)), place) in results.zip(&files).zip(&places) {
        let account = inputs.accounts.len();
        match result.columns {
            Some(columns) => per_extract.entry(def.name).or_default().push((
                result.account.file.clone(),
                columns,
                account,
                *place,
                result.work_part,
            )),
            None => {
                // An unusable file's rows are not part of the table.
                if let Some(part) = result.work_part {
                    let _ = part.remove();
                }
            }
        }
        inputs.accounts.push(result.account);
        inputs.rejects.extend(result.rejects);
        inputs.warnings.extend(result.warnings);
        inputs.problems.extend(result.problems);
    }
    for def in extract::EXTRACTS {
        if per_extract.contains_key(def.name) {
            continue;
        }
        if config.input.optional.iter().any(|o| o == def.name) {
            inputs.missing_optional.push(def.name);
        } else if !files.iter().any(|(_, d, _)| d.name == def.name) {
            // Files whose name says the type but which were not read (a
            // header that does not fit it, two files of one title): the
            // staff's likeliest fix.
            let near: Vec<String> = inputs
                .ignored
                .iter()
                .filter(|n| names_type(n, def))
                .map(|n| crate::report::mask::mask_label(n))
                .collect();
            // Sheets of other files whose header is this type's (a
            // 失业登记 sheet in a pension workbook), noted and not read.
            let sheets: Vec<String> = inputs
                .accounts
                .iter()
                .flat_map(|a| {
                    a.other_type_sheets
                        .iter()
                        .filter(|o| o.extract == def.name)
                        .map(|o| {
                            format!(
                                "{} 工作表 {}",
                                crate::report::mask::mask_label(&a.file),
                                crate::read::sheet_for_message(&o.sheet)
                            )
                        })
                })
                .collect();
            let sheet_hint = if sheets.is_empty() {
                String::new()
            } else {
                format!(
                    "；表头是它而未读取的工作表：{list}；若确是{label}，请把该工作表另存为单独的 {x}_… 文件 \
                     / sheets with its header, not read: {list}: if that is the extract, save the sheet as a file of its own named {x}_…",
                    list = sheets.join("、"),
                    label = def.label,
                    x = def.name
                )
            };
            let hint = if near.is_empty() {
                sheet_hint
            } else {
                format!(
                    "；名称像它而未读取的文件：{list}（表头不符，名称含核对、核查、退出、低保金等表明是本局自用表的字，或名称中标题的字相隔太远）；若其中有该抽取，请把它们改名为 {x}_… \
                     / files named like it, not read: {list} (a header that does not fit, a name saying it is the bureau's own work, or its title's words too far apart): name those that are {x}_…",
                    list = near.join("、"),
                    x = def.name
                ) + &sheet_hint
            };
            inputs.problems.push(InputProblem {
                file: format!("{}_*", def.name),
                message: format!(
                    "缺少抽取文件：{}（{}） / extract type missing: {} (no file named {}_…){hint}",
                    def.label, def.name, def.name, def.name
                ),
            });
        }
    }
    // A roster whose files hold no data row (an export cut off after its
    // header) covers no one: every rule of 漏保 would raise every person
    // in hardship, and no gate catches it on a first run. It is an input
    // that cannot be used, as a missing one is. (One whose rows were all
    // rejected is the reject-rate gate's: exit 5.)
    let roster: Vec<&FileAccount> = inputs
        .accounts
        .iter()
        .filter(|a| extract::by_name(&a.extract).is_some_and(ExtractDef::is_roster))
        .collect();
    let files: Vec<&str> = roster.iter().map(|a| a.file.as_str()).collect();
    if !roster.is_empty()
        && roster
            .iter()
            .all(|a| a.rows_accepted == 0 && a.rows_rejected == 0)
        // A file that could not be read at all says so already.
        && !inputs.problems.iter().any(|p| files.contains(&p.file.as_str()))
    {
        let read: u64 = roster.iter().map(|a| a.rows_read).sum();
        inputs.problems.push(InputProblem {
            file: files.join(", "),
            message: format!(
                "救助对象名册没有数据行（{files}：表头下 {read} 行均为空行、合计行或标题行）：名册为空时每个困难人员都会被报为漏保 / \
                 the roster has no data rows ({files}: the {read} rows below its header are blank, total or title rows): \
                 with an empty roster every person in hardship would be reported as not covered",
                files = files.join(", ")
            ),
        });
    }
    // Each extract's table is built (its files joined, its record-key
    // conflicts found) beside the others'.
    let built: Vec<BuiltExtract> = per_extract
        .into_par_iter()
        .map(|(name, files)| {
            let start = std::time::Instant::now();
            let built = build_table(name, files, target);
            // What the table holds in memory (its buffers' capacity).
            let bytes: usize = match &built.3 {
                Ok((Some(batches), _, _)) => {
                    batches.iter().map(|b| b.get_array_memory_size()).sum()
                }
                _ => 0,
            };
            tracing::debug!(
                extract = name,
                seconds = start.elapsed().as_secs_f64(),
                mb = bytes >> 20,
                "extract table built"
            );
            built
        })
        .collect();
    for (name, accounts, ord_accounts, built) in built {
        inputs.ord_accounts.insert(name, ord_accounts);
        match built {
            Ok((batch, disk, conflicts)) => {
                for (file_idx, n) in conflicts.per_file {
                    inputs.accounts[accounts[file_idx]].rows_conflict += n;
                }
                if !conflicts.pairs.is_empty() {
                    inputs.conflicts.insert(name, conflicts.pairs);
                }
                let def = extract::by_name(name).expect("extract names come from the table");
                if !conflicts.repeats.is_empty() {
                    inputs.repeats.insert(name, conflicts.repeats);
                }
                if !conflicts.dups.is_empty() && crate::resolve::rekey::keyed_by_id(def) {
                    inputs.dups.insert(name, conflicts.dups);
                }
                if let Some(batch) = batch {
                    inputs.tables.insert(name, batch);
                }
                if let Some(disk) = disk
                    && matches!(target, Target::Disk(_))
                {
                    inputs.on_disk.insert(name, disk);
                }
            }
            Err(e) => inputs.problems.push(InputProblem {
                file: name.to_string(),
                message: format!("内部错误：无法建立表 / internal error building the table: {e}"),
            }),
        }
    }
    inputs
}

/// An extract's table from its usable files (file name, columns, index of
/// its account, place among the extract's files, work part): in memory,
/// its files joined; on disk, its work parts and superseded rows.
fn build_table(name: &'static str, files: Vec<Usable>, target: Target<'_>) -> BuiltExtract {
    let def = extract::by_name(name).expect("extract names come from the table");
    let accounts: Vec<usize> = files.iter().map(|(_, _, a, _, _)| *a).collect();
    // In memory a row's `_ord` holds its file's index among these, on
    // disk its place among all of the extract's files.
    let ord_accounts: BTreeMap<usize, usize> = files
        .iter()
        .enumerate()
        .map(|(i, (_, _, a, place, _))| match target {
            Target::Memory => (i, *a),
            _ => (*place, *a),
        })
        .collect();
    if !matches!(target, Target::Memory) {
        let columns: Vec<(usize, &FileColumns)> = files
            .iter()
            .map(|(_, c, _, place, _)| (*place, c))
            .collect();
        let (superseded, conflicts) = table::superseded_ords(def, &columns);
        let disk = DiskExtract {
            parts: files.into_iter().filter_map(|f| f.4).collect(),
            schema: table::schema(def),
            superseded,
        };
        return (
            name,
            accounts,
            ord_accounts,
            Ok((None, Some(disk), conflicts)),
        );
    }
    let files: Vec<(String, FileColumns)> =
        files.into_iter().map(|(n, c, _, _, _)| (n, c)).collect();
    let built =
        table::build_extract(def, &files).map(|(batch, conflicts)| (Some(batch), None, conflicts));
    (name, accounts, ord_accounts, built)
}

/// An extract's name, its files' accounts (indices into the inputs'), the
/// account of each file by its part of the rows' `_ord`s, and its table.
type BuiltExtract = (&'static str, Vec<usize>, BTreeMap<usize, usize>, Built);

/// A usable file of an extract: its name, its columns, the index of its
/// account, its place among the extract's files and its work part.
type Usable = (String, FileColumns, usize, usize, Option<WorkPart>);

/// An extract's table: in memory, or its work parts on disk; and its
/// record-key conflicts (by index into the extract's files).
type Built = Result<
    (
        Option<Vec<RecordBatch>>,
        Option<DiskExtract>,
        table::Conflicts,
    ),
    arrow::error::ArrowError,
>;

/// Where one file's rows go when the batch is read to disk: the stem of its
/// work part's files (`None`: they are counted and dropped).
struct Spill {
    path: Option<PathBuf>,
    /// The file's place among its extract's files.
    file_idx: usize,
}

/// A file's work-file writer, opened with the first batch.
struct SpillWriter {
    spill: Spill,
    schema: SchemaRef,
    file: String,
    writer: Option<WorkPartWriter>,
}

impl SpillWriter {
    fn write(&mut self, rows: &mut FileRows) -> Result<(), String> {
        let batch = rows
            .take_batch(&self.schema, &self.file, self.spill.file_idx)
            .map_err(|e| e.to_string())?;
        let Some(path) = &self.spill.path else {
            return Ok(());
        };
        if self.writer.is_none() {
            let dir = path.parent().expect("a spill file has a folder");
            crate::report::output::create_private_dir(dir).map_err(|e| e.to_string())?;
            // `_ord` counts the file's rows (FileRows::take_batch).
            let ord = self.schema.index_of("_ord").map_err(|e| e.to_string())?;
            let writer = WorkPartWriter::create(path, &self.schema).map_err(|e| e.to_string())?;
            self.writer = Some(writer.counting(ord));
        }
        let writer = self.writer.as_mut().expect("opened above");
        writer.write(&batch).map_err(|e| e.to_string())
    }

    /// Writes the rows left and closes the file (an empty one when the file
    /// had no rows, so that its extract's table still has a schema).
    fn finish(mut self, rows: &mut FileRows) -> Result<Option<WorkPart>, String> {
        if rows.pending() > 0 || (self.writer.is_none() && self.spill.path.is_some()) {
            self.write(rows)?;
        }
        self.writer
            .map(|w| w.finish().map_err(|e| e.to_string()))
            .transpose()
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// What one file gave.
struct FileResult {
    account: FileAccount,
    rejects: Vec<RejectRow>,
    warnings: Vec<WarningRow>,
    problems: Vec<InputProblem>,
    /// The accepted rows, when the file is usable.
    columns: Option<FileColumns>,
    /// The work part the rows went to, for a batch read to disk.
    work_part: Option<WorkPart>,
}

/// Reads, maps and parses one file, accounting for every row. Rows are
/// parsed chunk by chunk as the reader hands them on, straight into columns.
fn load_file(
    path: &Path,
    def: &'static ExtractDef,
    config: &Config,
    as_of: NaiveDate,
    spill: Option<Spill>,
    keep_contents: bool,
) -> FileResult {
    let name = file_name(path);
    let mut spill = spill.map(|spill| SpillWriter {
        spill,
        schema: table::schema(def),
        file: name.clone(),
        writer: None,
    });
    let mut spill_error = None;
    let mut account = FileAccount {
        file: name.clone(),
        extract: def.name.to_string(),
        ..FileAccount::default()
    };
    let mut problems = Vec::new();
    let matcher = HeaderMatcher::new(def, &config.aliases(def.name));
    let mut rows = FileRows::new();
    // Per section: its header map, or `None` when the header is unusable.
    let mut maps: Vec<Option<HeaderMap>> = Vec::new();
    // Contact lists (a header of persons' names and ID numbers and contact
    // columns only, see HeaderMatcher::names_only_persons): ignored when
    // another sheet of the workbook carries the data, else their header
    // problems are the file's. With the section's index.
    let mut person_sheets: Vec<(usize, String, Vec<InputProblem>)> = Vec::new();
    // Sheets whose header is another type's (see [`other_type`]) and not
    // one this type can read: noted, not read, when another sheet carries
    // this type's data, as a sheet the header test passes over is (a
    // 失业登记 sheet in a pension workbook as a 不动产登记 one; helper-142),
    // else their problems are the file's. With the section's index.
    let mut other_sheets: Vec<(usize, OtherTypeSheet, Vec<InputProblem>)> = Vec::new();
    // Whether a data row of the file's own type was read (a sheet of its
    // header alone, a template, carries none), and the unusable sections
    // with a header of the file's own type further down (a second table
    // in the sheet): such a section is the file's problem, never noted.
    let mut own_rows = false;
    let mut own_below: Vec<usize> = Vec::new();
    // Per section: the type and header row of the table of another type's
    // header its rows now stand under (pasted below the file's own rows),
    // kept from chunk to chunk: such rows are rejected, not read by the
    // file's map (helper-146).
    let mut under_other: Vec<Option<(&'static ExtractDef, u32)>> = Vec::new();
    // Per section: what the header the reader last laid rows out by (the
    // section's, or one repeated below with other cells) is: the file's
    // type's (`None`), which, repeated, ends another type's table, or
    // another type's, which, repeated, begins its table again.
    let mut laid_out: Vec<Option<Option<&'static ExtractDef>>> = Vec::new();
    let mut other_header_checks = 0usize;
    let other_types = std::sync::LazyLock::new(|| OtherTypes::new(def, config));
    // Exact duplicates are sought across the whole file: a row copied into a
    // second sheet is a duplicate too.
    let mut duplicates =
        table::DuplicateFinder::for_file(std::fs::metadata(path).map_or(0, |m| m.len()));
    let is_header = |cells: &[read::Cell]| matcher.looks_like_header(cells);
    let mut tally = Tally::default();
    let mut sink = |mut chunk: Chunk<'_>| {
        if maps.len() <= chunk.section {
            let section = chunk.header;
            let map = match matcher.map_header(&section.header) {
                Ok(m) => Some(m),
                Err(_)
                    if let Some((m, takes_below)) =
                        two_row_header(&matcher, section, &chunk.rows) =>
                {
                    if let Some(below) = takes_below {
                        // The header's second row: no data row.
                        chunk.rows.remove(below);
                    }
                    Some(m)
                }
                Err(found_problems) => {
                    match &section.sheet {
                        Some(sheet) if matcher.names_only_persons(&section.header) => {
                            let mut own = Vec::new();
                            header_problems(&name, def.name, section, found_problems, &mut own);
                            person_sheets.push((chunk.section, sheet.clone(), own));
                        }
                        Some(sheet) if let Some(other) = other_types.of(&section.header) => {
                            let mut own = Vec::new();
                            header_problems(&name, def.name, section, found_problems, &mut own);
                            let where_ = section_place(&name, section);
                            own.push(other_type_problem(&name, &where_, true, other, def));
                            let noted = OtherTypeSheet {
                                sheet: sheet.clone(),
                                extract: other.name.to_string(),
                            };
                            other_sheets.push((chunk.section, noted, own));
                        }
                        _ => {
                            header_problems(
                                &name,
                                def.name,
                                section,
                                found_problems,
                                &mut problems,
                            );
                            problems.extend(other_type_hint(&name, section, def, config));
                        }
                    }
                    None
                }
            };
            let map = map.map(|mut m| {
                m.dates_1904 = section.dates_1904;
                m
            });
            if map.is_some() {
                problems.extend(other_table_above(&name, section, def, &other_types));
            }
            maps.resize_with(chunk.section, || None);
            maps.push(map);
        }
        // A header row repeated below with its columns in another order (a
        // second export pasted on) lays out the rows after it: they are
        // read by its map. One that cannot be mapped is a repeated header,
        // as the same header is.
        let section_idx = chunk.section;
        let cut_off = chunk.cut_off.take();
        let dates_1904 = chunk.header.dates_1904;
        let switches = std::mem::take(&mut chunk.headers);
        let mut rows_left = std::mem::take(&mut chunk.rows);
        let mut skipped = std::mem::take(&mut chunk.skipped);
        // The headers below, in row order: the reader's, another type's
        // that its header test passed over, and the header the reader last
        // laid rows out by, again (not handed on: it lays out nothing new,
        // but it ends a table of another type's above it).
        let mut below: Vec<(read::RowLoc, Below)> = Vec::new();
        if maps[section_idx].is_some() {
            let mut again: Vec<read::RowLoc> = skipped
                .iter()
                .filter(|s| s.reason == read::SkipReason::RepeatedHeader)
                .map(|s| s.loc.clone())
                .collect();
            again.retain(|at| {
                switches
                    .binary_search_by_key(&at.row, |(s, _)| s.row)
                    .is_err()
            });
            below.extend(again.into_iter().map(|at| (at, Below::Again)));
            let others = other_headers_among(
                &other_types,
                &mut rows_left,
                &mut skipped,
                &mut other_header_checks,
            );
            below.extend(others.into_iter().map(|(at, c)| (at, Below::Other(c))));
        }
        let sheet = chunk.header.sheet.clone();
        let mut read_rows =
            |map: &HeaderMap,
             mut chunk_rows: Vec<read::RawRow>,
             mut skipped: Vec<read::SkippedRow>,
             other: Option<(&'static ExtractDef, u32)>| {
                if let Some((other, header_row)) = other {
                    reject_other_type_rows(
                        (def, other),
                        (&name, &sheet, header_row),
                        cut_off.as_ref(),
                        &mut chunk_rows,
                        &mut tally,
                        &mut account,
                    );
                }
                // A template numbered down rows left empty: a row whose only
                // values are numbers in columns the extract does not read (序号)
                // is blank. Not the row a cut file ends in (its reject says the
                // file is cut), nor one with a value past the header (broken:
                // rejected).
                let mut unread = vec![true; map.width];
                for &c in map.columns.iter().flatten() {
                    unread[c] = false;
                }
                let numbered_blank = |r: &read::RawRow| {
                    cut_off.as_ref() != Some(&r.loc)
                        && r.fields.iter().enumerate().all(|(c, f)| {
                            let f = f.trim();
                            f.is_empty()
                                || (unread.get(c) == Some(&true)
                                    && f.bytes().all(|b| b.is_ascii_digit()))
                        })
                };
                if chunk_rows.iter().any(numbered_blank) {
                    let (empty, kept): (Vec<read::RawRow>, Vec<read::RawRow>) =
                        chunk_rows.into_iter().partition(numbered_blank);
                    chunk_rows = kept;
                    skipped.extend(empty.into_iter().map(|r| read::SkippedRow {
                        loc: r.loc,
                        reason: read::SkipReason::Blank,
                    }));
                }
                for col in &map.unknown {
                    // A header cell can hold anything, an ID number too:
                    // validate prints these names.
                    let col = crate::report::mask::mask_digits(col);
                    if !account.unknown_columns.contains(&col) {
                        account.unknown_columns.push(col);
                    }
                }
                // Values under an empty header cell, between named ones or
                // after them (a column a department added without naming it, a
                // workbook's cell typed beside its row): not read, as an
                // unknown column's are, and listed as one, not passed over
                // without a word.
                for &c in &map.unnamed {
                    let filled = chunk_rows
                        .iter()
                        .any(|r| r.fields.get(c).is_some_and(|f| !f.trim().is_empty()));
                    let col = format!("（无表头）第 {} 列", c + 1);
                    if filled && !account.unknown_columns.contains(&col) {
                        account.unknown_columns.push(col);
                    }
                }
                own_rows |= !chunk_rows.is_empty();
                account.rows_read += (chunk_rows.len() + skipped.len()) as u64;
                account.rows_skipped += skipped.len() as u64;
                for s in &skipped {
                    *account
                        .skipped
                        .entry(s.reason.code().to_string())
                        .or_default() += 1;
                }
                let first_place = duplicates.next_place();
                let dups = duplicates.mark(map, &chunk_rows);
                // The rows are parsed and built into columns a piece at a time,
                // the pieces side by side; they are joined in file order.
                let pieces: Vec<(table::RowPiece, Tally)> = chunk_rows
                    .par_chunks(PIECE_ROWS)
                    .zip(dups.par_chunks(PIECE_ROWS))
                    .enumerate()
                    .map(|(k, (raw, dups))| {
                        let piece = Piece {
                            rows: raw,
                            dups,
                            first_place: first_place + (k * PIECE_ROWS) as u32,
                            cut_off: cut_off.as_ref(),
                        };
                        parse_piece(def, map, &name, piece, as_of, keep_contents)
                    })
                    .collect();
                for (piece, piece_tally) in pieces {
                    rows.append(piece);
                    tally.add(piece_tally);
                }
                // Sized once the first chunk tells how many rows the file holds;
                // after that, room is there and this does nothing.
                if let Some(estimate) = duplicates.estimated_rows() {
                    rows.reserve(estimate, keep_contents);
                }
                if let Some(w) = spill.as_mut()
                    && rows.pending() >= DISK_BATCH_ROWS
                    && spill_error.is_none()
                    && let Err(e) = w.write(&mut rows)
                {
                    spill_error = Some(e);
                }
            };
        if maps[section_idx].is_none()
            && !own_below.contains(&section_idx)
            && switches.iter().any(|(_, c)| matcher.map_header(c).is_ok())
        {
            own_below.push(section_idx);
        }
        below.extend(switches.into_iter().map(|(at, c)| (at, Below::Read(c))));
        below.sort_by_key(|(at, _)| at.row);
        under_other.resize(maps.len(), None);
        laid_out.resize(maps.len(), Some(None));
        for (at, header) in below {
            let Some(map) = &maps[section_idx] else {
                return;
            };
            let before = rows_left.partition_point(|r| r.loc.row < at.row);
            let rows_before: Vec<read::RawRow> = rows_left.drain(..before).collect();
            let other = under_other[section_idx];
            read_rows(map, rows_before, std::mem::take(&mut skipped), other);
            let cells = match header {
                // The file's own header again ends another type's table;
                // another type's begins its table again.
                Below::Again => {
                    match laid_out[section_idx] {
                        Some(None) => under_other[section_idx] = None,
                        Some(Some(other)) => under_other[section_idx] = Some((other, at.row)),
                        None => {}
                    }
                    continue;
                }
                Below::Other(cells) => cells,
                Below::Read(cells) => {
                    laid_out[section_idx] = match matcher.map_header(&cells) {
                        Ok(_) => Some(None),
                        Err(_) => other_types.of(&cells).map(Some),
                    };
                    cells
                }
            };
            match matcher.map_header(&cells) {
                Ok(mut other) => {
                    other.dates_1904 = dates_1904;
                    maps[section_idx] = Some(other);
                    under_other[section_idx] = None;
                }
                // Another type's table: its rows are not the file's. A
                // header neither the file's type nor one other type takes
                // is a repeated header, as before.
                Err(_) => {
                    if let Some(other) = other_types.of(&cells) {
                        under_other[section_idx] = Some((other, at.row));
                    }
                }
            }
        }
        if let Some(map) = &maps[section_idx] {
            read_rows(map, rows_left, skipped, under_other[section_idx]);
        }
    };
    let read = read::read_file_chunked(path, &is_header, &mut sink);
    let warnings = std::mem::take(&mut tally.value_warnings);
    let rejects = tally.into_account(&mut account);
    let mut work_part = None;
    if let Some(w) = spill
        && spill_error.is_none()
    {
        match w.finish(&mut rows) {
            Ok(f) => work_part = f,
            Err(e) => spill_error = Some(e),
        }
    }
    if let Some(e) = spill_error {
        problems.push(InputProblem {
            file: name.clone(),
            message: format!(
                "无法写入临时表文件：{e} / cannot write the table's working file: {e}"
            ),
        });
    }
    match read {
        Ok(raw) => {
            account.format = raw.format.as_str().to_string();
            account.encoding = raw.encoding;
            account.ignored_sheets = raw.ignored_sheets;
            account.other_type_sheets = raw
                .unheaded_sheets
                .iter()
                .filter_map(|(sheet, rows)| {
                    let other = rows.iter().find_map(|row| other_types.of(row))?;
                    Some(OtherTypeSheet {
                        sheet: sheet.clone(),
                        extract: other.name.to_string(),
                    })
                })
                .collect();
            account.hidden_sheets = raw.hidden_sheets;
            if raw.merged_cells_filled > 0 {
                tracing::warn!(
                    file = %name,
                    cells = raw.merged_cells_filled,
                    "empty cells of merged ranges given their range's value"
                );
            }
            account.merged_cells_filled = raw.merged_cells_filled;
            account.sha256 = raw.sha256;
            let data_sheet = maps.iter().any(Option::is_some);
            if data_sheet && !person_sheets.is_empty() {
                tracing::warn!(
                    file = %name,
                    sheets = person_sheets.len(),
                    "contact-list sheets (names, ID numbers, contact details) ignored"
                );
            }
            let mut ignored = Vec::new();
            for (section, noted, own) in other_sheets {
                if own_rows && !own_below.contains(&section) {
                    account.ignored_sheets.push(noted.sheet.clone());
                    // Not read, though hidden (helper-145).
                    account.hidden_sheets.retain(|h| h != &noted.sheet);
                    account.other_type_sheets.push(noted);
                    ignored.push(section);
                } else {
                    problems.extend(own);
                }
            }
            // Rows on a sheet without the header are not read, and a hidden
            // sheet's rows are: say so (the manifest and `validate` name the
            // sheets; a log line does not, a sheet may be named after a
            // person).
            if !account.hidden_sheets.is_empty() {
                let sheets = account.hidden_sheets.len();
                tracing::warn!(file = %name, sheets, "hidden sheets read as data");
            }
            // A table of another type below the file's own rows is noted
            // beside them; in a file without a row of its own (under a
            // header of its own type alone, a template) it is the file's
            // error, as such a sheet is.
            if !account.other_type_tables.is_empty() {
                let tables = account.other_type_tables.len();
                tracing::warn!(
                    file = %name,
                    tables,
                    "tables of another extract type's header below the rows rejected"
                );
            }
            if !own_rows {
                for t in &account.other_type_tables {
                    let Some(other) = extract::by_name(&t.extract) else {
                        continue;
                    };
                    let where_ = place(&name, t.sheet.as_deref());
                    let (row, o, this) = (t.header_row, other.name, def.name);
                    problems.push(InputProblem {
                        file: name.clone(),
                        message: format!(
                            "{where_}：第 {row} 行起是{other_label}（{o}）的表格，而{label}的表头之下没有一行{label}的数据；请把该表格另存为单独的 {o}_… 文件，本文件只留{label}的数据 / \
                             {where_}: from row {row} a {o} table, and no {this} row under the {this} header: save that table as a file of its own named {o}_…, leaving only {this} data here",
                            other_label = other.label,
                            label = def.label,
                        ),
                    });
                }
            }
            // Each sheet counted once (helper-143).
            for (sheets, what) in [
                (
                    account.sheets_without_header().len(),
                    "sheets without a header row ignored",
                ),
                (
                    account.other_type_sheets.len(),
                    "sheets with another extract type's header not read",
                ),
            ] {
                if sheets > 0 {
                    tracing::warn!(file = %name, sheets, "{what}");
                }
            }
            for (section, sheet, own) in person_sheets {
                if data_sheet {
                    account.ignored_sheets.push(sheet);
                    ignored.push(section);
                } else {
                    problems.extend(own);
                }
            }
            let usable = maps
                .iter()
                .enumerate()
                .all(|(i, m)| m.is_some() || ignored.contains(&i));
            FileResult {
                account,
                rejects,
                warnings,
                problems,
                columns: usable.then(|| rows.finish()),
                work_part,
            }
        }
        Err(e) => {
            // A file that fails part-way counts for nothing: its rows are
            // neither accepted nor rejected, and the run stops (exit 4).
            if let Ok(bytes) = std::fs::read(path) {
                account.sha256 = read::sha256_of(&bytes);
            }
            problems.push(InputProblem {
                file: name.clone(),
                message: e.to_string(),
            });
            // A workbook holding only sheets of another type's header, or
            // a text file holding another type's header.
            if let read::ReadError::NoHeader { heads, sheets, .. } = &e {
                let workbook = !sheets.is_empty();
                for (sheet, rows) in heads {
                    if let Some(other) = rows.iter().find_map(|row| other_types.of(row)) {
                        let where_ = place(&name, workbook.then_some(sheet.as_str()));
                        problems.push(other_type_problem(&name, &where_, workbook, other, def));
                    }
                }
            }
            FileResult {
                account: FileAccount {
                    file: account.file,
                    extract: account.extract,
                    sha256: account.sha256,
                    ..FileAccount::default()
                },
                rejects: Vec::new(),
                warnings: Vec::new(),
                problems,
                columns: None,
                work_part,
            }
        }
    }
}

/// Rows a worker parses and builds into columns at a time: the reader's
/// chunks (32,768 rows) are shared out in pieces this size.
const PIECE_ROWS: usize = 8192;

/// What the parsed rows of a file (or a piece of one) came to, under static
/// keys made the manifest's strings once at the end: nothing is allocated
/// per row for the accounting.
#[derive(Default)]
struct Tally {
    accepted: u64,
    duplicate: u64,
    id_status: BTreeMap<&'static str, u64>,
    warnings: BTreeMap<(&'static str, &'static str), u64>,
    region_unknown: u64,
    rejected: BTreeMap<&'static str, u64>,
    rejects: Vec<RejectRow>,
    /// The first [`WARNINGS_LISTED`] of each field's and reason's, in row
    /// order.
    value_warnings: Vec<WarningRow>,
    /// How many of `value_warnings` each field (by name) has of each reason
    /// code.
    listed: BTreeMap<(&'static str, &'static str), usize>,
}

/// How many warnings of one field and reason of a file warnings.csv lists
/// (the manifest counts them all): a column a site fills with its own
/// codes would otherwise list every row of a file of millions, and amounts
/// rounded to the fen leave room for the unreadable values of their column.
pub(crate) const WARNINGS_LISTED: usize = 1000;

impl Tally {
    /// Whether warnings.csv has room for another of `field`'s warnings
    /// for reason `code`.
    fn lists_more(&self, field: &'static str, code: &'static str) -> bool {
        self.listed
            .get(&(field, code))
            .is_none_or(|&n| n < WARNINGS_LISTED)
    }

    /// Keeps a warning for warnings.csv if its field and reason have room.
    fn list(&mut self, warning: WarningRow) {
        if self.lists_more(warning.field_name, warning.code) {
            *self
                .listed
                .entry((warning.field_name, warning.code))
                .or_default() += 1;
            self.value_warnings.push(warning);
        }
    }
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.accepted += other.accepted;
        self.duplicate += other.duplicate;
        for (k, n) in other.id_status {
            *self.id_status.entry(k).or_default() += n;
        }
        for (k, n) in other.warnings {
            *self.warnings.entry(k).or_default() += n;
        }
        self.region_unknown += other.region_unknown;
        for (k, n) in other.rejected {
            *self.rejected.entry(k).or_default() += n;
        }
        self.rejects.extend(other.rejects);
        for w in other.value_warnings {
            self.list(w);
        }
    }

    /// Adds the counts to the file's account; returns the rejected rows.
    fn into_account(self, account: &mut FileAccount) -> Vec<RejectRow> {
        account.rows_accepted += self.accepted;
        account.rows_duplicate += self.duplicate;
        account.rows_rejected += self.rejects.len() as u64;
        for (status, n) in self.id_status {
            *account.id_status.entry(status.to_string()).or_default() += n;
        }
        for ((code, field), n) in self.warnings {
            *account
                .warnings
                .entry(format!("{code}:{field}"))
                .or_default() += n;
        }
        if self.region_unknown > 0 {
            *account
                .warnings
                .entry("region_unknown".to_string())
                .or_default() += self.region_unknown;
        }
        for (code, n) in self.rejected {
            *account.rejected.entry(code.to_string()).or_default() += n;
        }
        self.rejects
    }
}

/// Parses a piece of a chunk's data rows (with their duplicate flags) into
/// columns, accounting for each: accepted or rejected. `cut_off` is the row
/// the file's end cut through, if it is in this chunk; `keep_contents`
/// keeps each row's [`table::content_digest`].
/// Rows of a chunk parsed together (see [`parse_piece`]).
struct Piece<'c> {
    rows: &'c [read::RawRow],
    /// For each row, the place of the row it repeats exactly
    /// ([`table::DuplicateFinder::mark`]).
    dups: &'c [Option<u32>],
    /// The place of the first row among the file's rows marked.
    first_place: u32,
    /// The row the file's end cut through, if any.
    cut_off: Option<&'c read::RowLoc>,
}

fn parse_piece(
    def: &'static ExtractDef,
    map: &HeaderMap,
    file: &str,
    piece: Piece<'_>,
    as_of: NaiveDate,
    keep_contents: bool,
) -> (table::RowPiece, Tally) {
    let Piece {
        rows: raw,
        dups,
        first_place,
        cut_off,
    } = piece;
    let keys = table::KeySpec::new(def);
    let id_field = def.fields.iter().position(|f| f.field == "id_number");
    let mut builder = table::RowBuilder::new(def, map, raw);
    let parsed = table::PieceParse::new(def, map, raw, as_of);
    let mut values = Vec::with_capacity(def.fields.len());
    let mut warnings = Vec::new();
    let mut tally = Tally::default();
    let mut loc_text = String::new();
    for (r, (place, (raw_row, &dup))) in (first_place..).zip(raw.iter().zip(dups)).enumerate() {
        // A row the file's end cut through lost the tail of its last
        // field: `已就` of `已就业` may still parse, and must not.
        let result = if cut_off == Some(&raw_row.loc) {
            Err(table::Reject {
                code: "truncated",
                reason: TRUNCATED.to_string(),
            })
        } else {
            parsed.row(r, &mut values, &mut warnings)
        };
        match result {
            Ok(()) => {
                tally.accepted += 1;
                if dup.is_some() {
                    tally.duplicate += 1;
                }
                for w in &warnings {
                    *tally.warnings.entry((w.code, w.field)).or_default() += 1;
                    if tally.lists_more(w.field, w.code)
                        && let Some(warning) = value_warning(def, map, file, raw_row, w)
                    {
                        tally.list(warning);
                    }
                }
                if let Some(Value::Id { id, .. }) = id_field.map(|i| values[i]) {
                    *tally.id_status.entry(id.status.as_str()).or_default() += 1;
                    if table::region_unknown(id) {
                        tally.region_unknown += 1;
                    }
                }
                loc_text.clear();
                raw_row.loc.push_to(&mut loc_text);
                let content = keep_contents.then(|| table::content_digest(&values));
                builder.push(&loc_text, dup, &values, keys.digest(&values), content);
            }
            Err(reject) => {
                builder.reject(place);
                *tally.rejected.entry(reject.code).or_default() += 1;
                tally.rejects.push(RejectRow {
                    extract: def.name,
                    file: file.to_owned(),
                    row: raw_row.loc.to_string(),
                    code: reject.code,
                    reason: reject.reason,
                    raw: raw_row.fields.iter().map(|f| f.to_string()).collect(),
                });
            }
        }
    }
    (builder.finish(), tally)
}

/// The `warnings.csv` line of a value kept with a warning: one that could
/// not be read (taken as empty), an expected one left empty (the roster's
/// 救助类别) or an amount rounded to the fen; its field, the cell and why,
/// parsed again for the reason (such cells are few). Every warning the
/// manifest counts on a field is one of these.
fn value_warning(
    def: &'static ExtractDef,
    map: &HeaderMap,
    file: &str,
    raw_row: &read::RawRow,
    warning: &table::FieldWarning,
) -> Option<WarningRow> {
    let i = def.fields.iter().position(|f| f.field == warning.field)?;
    let f = &def.fields[i];
    let value = map.columns[i].map_or("", |c| raw_row.fields[c].as_str());
    let header = f.header;
    let (code, reason) = match (warning.code, table::parse_value(f, value)) {
        (_, Err((code, message))) => (code, format!("「{header}」{message}，按空值处理")),
        (code @ "money_rounded", Ok(Value::Money(Some(fen)))) => (
            code,
            format!(
                "「{header}」金额不足一分的部分四舍五入，按 {} 元处理",
                crate::normalize::money::format_fen(fen)
            ),
        ),
        (code @ "missing_value", Ok(_)) => (
            code,
            format!("「{header}」为空，按本户其他成员行填写的值处理（均未填写时不认定）"),
        ),
        _ => return None,
    };
    Some(WarningRow {
        extract: def.name,
        file: file.to_owned(),
        row: raw_row.loc.to_string(),
        field: header,
        field_name: f.field,
        code,
        reason,
        value: value.to_owned(),
    })
}

/// A header of two rows whose header row alone lacks columns: group headers
/// (`鉴定情况`) above the columns' own (`鉴定等级`, `鉴定日期`) in the row
/// below, or the headers written in either row. Tried when the header row
/// does not map: with the row right below it (each column named by the
/// lower cell, or the upper where that is empty), with the row right above
/// it, then with both; the first that maps is the header, and whether it
/// took the row below, and its place among `rows` (no data row then; data
/// rows from above the header come before it). A row holding a digit is
/// data or a title, never a header's row.
fn two_row_header(
    matcher: &HeaderMatcher,
    section: &Section,
    rows: &[read::RawRow],
) -> Option<(HeaderMap, Option<usize>)> {
    let wordy = |cells: &[read::Cell]| {
        cells.iter().any(|c| !c.trim().is_empty())
            && !cells.iter().any(|c| c.bytes().any(|b| b.is_ascii_digit()))
    };
    let merged = read::join_header_rows;
    let header = &section.header;
    let below_at = rows
        .iter()
        .position(|r| r.loc.row > section.header_loc.row)
        .filter(|&i| section.header_loc.row.checked_add(1) == Some(rows[i].loc.row));
    let below = below_at
        .map(|i| rows[i].fields.as_slice())
        .filter(|cells| wordy(cells));
    let above = section.above.as_deref().filter(|cells| wordy(cells));
    let mut tries: Vec<(Vec<read::Cell>, bool)> = Vec::new();
    if let Some(below) = below {
        tries.push((merged(header, below), true));
    }
    if let Some(above) = above {
        tries.push((merged(above, header), false));
        if let Some(below) = below {
            tries.push((merged(&merged(above, header), below), true));
        }
    }
    tries.into_iter().find_map(|(cells, takes_below)| {
        let map = matcher.map_header(&cells).ok()?;
        Some((map, below_at.filter(|_| takes_below)))
    })
}

/// When a section whose header does not fit its file's extract type has
/// the header of another (a 人社 workbook holding 失业登记 beside 养老金发放):
/// what to do about it. Each extract is read from files of its own type.
/// Precision first, since a wrong hint misleads: the hint names the one
/// other type whose required columns the header has, and only when the
/// header names more of that type's fields than of its own file's type (a
/// property file missing a column has an unemployment register's four
/// columns too, but more of its own); none when two other types fit.
fn other_type_hint(
    name: &str,
    section: &Section,
    def: &'static ExtractDef,
    config: &Config,
) -> Option<InputProblem> {
    let other = other_type(&section.header, def, config)?;
    let where_ = section_place(name, section);
    Some(other_type_problem(
        name,
        &where_,
        section.sheet.is_some(),
        other,
        def,
    ))
}

/// How many data rows of a file [`other_headers_among`] asks at most
/// whether they are another type's header: a row of no digit is rare
/// among data rows (each has an ID number, a date or an amount), but a
/// file of such rows must not make every row a test of eight headers.
const OTHER_HEADER_CHECKS: usize = 10_000;

/// Whether a row may be a header, as far as a quick look tells: two
/// values or more, and no digit (a data row's ID number, date or amount
/// has one; its ID number, in the second cell, ends the look at once; one
/// written in full-width digits, `３４１１…`, the second look).
fn may_be_header(cells: &[read::Cell]) -> bool {
    let full_width = |f: &str| !f.is_ascii() && f.chars().any(|c| ('０'..='９').contains(&c));
    !cells.iter().any(|f| f.bytes().any(|b| b.is_ascii_digit()))
        && !cells.iter().any(|f| full_width(f))
        && cells.iter().filter(|f| !f.trim().is_empty()).count() >= 2
}

/// Takes out of a section's data `rows` those that are another type's
/// header (see [`other_type`]), which this type's header test passes over
/// (a property register pasted below a pension list: 权利人姓名 is no
/// pension column): each is skipped as a header (a one-value title right
/// above it as a title) and returned, in row order, so that the rows below
/// it are read as that table's. Only rows without a digit are
/// asked (a header holds none; a data row its ID number, date or amount),
/// and at most [`OTHER_HEADER_CHECKS`] of a file, counted in `checks`.
fn other_headers_among(
    types: &OtherTypes,
    rows: &mut Vec<read::RawRow>,
    skipped: &mut Vec<read::SkippedRow>,
    checks: &mut usize,
) -> Vec<(read::RowLoc, Vec<read::Cell>)> {
    // The quick look at every row, side by side; the few rows it leaves
    // asked in order.
    let maybe: Vec<usize> = rows
        .par_iter()
        .with_min_len(4096)
        .enumerate()
        .filter(|(_, row)| may_be_header(&row.fields))
        .map(|(k, _)| k)
        .collect();
    let mut found = Vec::new();
    for k in maybe {
        let row = &rows[k];
        if *checks >= OTHER_HEADER_CHECKS {
            break;
        }
        *checks += 1;
        if types.of(&row.fields).is_some() {
            found.push(k);
        }
    }
    let mut headers = Vec::new();
    if found.is_empty() {
        return headers;
    }
    let mut taken = vec![false; rows.len()];
    for &k in &found {
        taken[k] = true;
        let header = &rows[k];
        headers.push((header.loc.clone(), header.fields.clone()));
        skipped.push(read::SkippedRow {
            loc: header.loc.clone(),
            reason: read::SkipReason::RepeatedHeader,
        });
        if let Some(above) = k.checked_sub(1).map(|a| &rows[a])
            && !taken[k - 1]
            && above.loc.row.checked_add(1) == Some(header.loc.row)
            && read::is_title(&above.fields)
        {
            taken[k - 1] = true;
            skipped.push(read::SkippedRow {
                loc: above.loc.clone(),
                reason: read::SkipReason::Title,
            });
        }
    }
    let mut k = 0;
    rows.retain(|_| {
        k += 1;
        !taken[k - 1]
    });
    headers
}

/// A header row below a section's header (see the sink of [`load_file`]).
enum Below {
    /// One the reader handed on: it lays out the rows below it when the
    /// file's type maps it, else it is another type's table or a repeated
    /// header.
    Read(Vec<read::Cell>),
    /// Another type's, which the file's header test passed over.
    Other(Vec<read::Cell>),
    /// The header the reader last laid rows out by, again.
    Again,
}

/// The error for a table of another type's header above a section's
/// header (a property register pasted above a pension list, whose header
/// this type's header test passed over): its rows stand above the header,
/// where rows are not read, so they would be lost without a word. A table
/// of more rows than a header is sought in leaves no header found, and the
/// file's error names the type ([`ReadError::NoHeader`]'s rows).
fn other_table_above(
    name: &str,
    section: &Section,
    def: &'static ExtractDef,
    types: &OtherTypes,
) -> Option<InputProblem> {
    let (row, other) = section.head.iter().find_map(|(row, cells)| {
        let other = may_be_header(cells).then(|| types.of(cells))??;
        Some((*row, other))
    })?;
    let where_ = section_place(name, section);
    let header = section.header_loc.row;
    let o = other.name;
    let other_label = other.label;
    Some(InputProblem {
        file: name.to_string(),
        message: format!(
            "{where_}：第 {row} 行是{other_label}（{o}）的表头，在{label}的表头（第 {header} 行）之上，其下的行不会读取；请把该表格另存为单独的 {o}_… 文件，或从本文件中删去 / \
             {where_}: row {row} is a {o} header above this file's header (row {header}), its rows would not be read: save that table as a file of its own named {o}_…, or delete it here",
            label = def.label,
        ),
    })
}

/// The reason of the row a file's end cut through (`truncated`).
const TRUNCATED: &str = "文件在此行中途截断，末尾字符不完整";

/// Rejects the rows of a table of `other`'s header below the rows of a
/// file of `def`'s type in one sheet or text file (`other_type_table`),
/// taking them out of `rows`; counts them read and as the table's in the
/// file's account. `at` is the file's name, the sheet and the table's
/// header row.
fn reject_other_type_rows(
    (def, other): (&'static ExtractDef, &'static ExtractDef),
    (name, sheet, header_row): (&str, &Option<String>, u32),
    cut_off: Option<&read::RowLoc>,
    rows: &mut Vec<read::RawRow>,
    tally: &mut Tally,
    account: &mut FileAccount,
) {
    if rows.is_empty() {
        return;
    }
    let n = rows.len() as u64;
    account.rows_read += n;
    let at = |t: &OtherTypeTable| &t.sheet == sheet && t.header_row == header_row;
    match account.other_type_tables.iter_mut().find(|t| at(t)) {
        Some(table) => table.rows += n,
        None => account.other_type_tables.push(OtherTypeTable {
            sheet: sheet.clone(),
            header_row,
            rows: n,
            extract: other.name.to_string(),
        }),
    }
    let o = other.name;
    let reason = format!(
        "本行在第 {header_row} 行的表头之下，那是{other_label}（{o}）的表格，不是{label}的数据，未读取；若要读取，请把该表格另存为单独的 {o}_… 文件",
        other_label = other.label,
        label = def.label,
    );
    for row in rows.drain(..) {
        // The row a file's end cut through says so, as under any header.
        let (code, reason) = match cut_off == Some(&row.loc) {
            true => ("truncated", TRUNCATED.to_string()),
            false => ("other_type_table", reason.clone()),
        };
        *tally.rejected.entry(code).or_default() += 1;
        tally.rejects.push(RejectRow {
            extract: def.name,
            file: name.to_owned(),
            row: row.loc.to_string(),
            code,
            reason,
            raw: row.fields.iter().map(|f| f.to_string()).collect(),
        });
    }
}

/// The message of [`other_type_hint`] for the section at `where_` (a
/// workbook's sheet when `sheet`).
fn other_type_problem(
    name: &str,
    where_: &str,
    sheet: bool,
    other: &'static ExtractDef,
    def: &'static ExtractDef,
) -> InputProblem {
    let o = other.name;
    let (todo, todo_en) = match sheet {
        true => (
            format!("若确是{}，请把该工作表另存为单独的 {o}_… 文件", other.label),
            format!("if it is, save the sheet as a file of its own named {o}_…"),
        ),
        false => (
            format!("若确是{}，请把文件改名为 {o}_…", other.label),
            format!("if it is, name the file {o}_…"),
        ),
    };
    InputProblem {
        file: name.to_string(),
        message: format!(
            "{where_}：表头是{other_label}（{o}）的，不是{label}（{this}）的；{todo} / {where_}: the header is {o}'s, not {this}'s: {todo_en}",
            other_label = other.label,
            label = def.label,
            this = def.name,
        ),
    }
}

/// The one extract type other than `def` whose required columns `header`
/// has and of whose fields it names more than of `def`'s, or as many when
/// `def` cannot use it (a required column missing) and every column is
/// that type's or a person's particulars (序号, 性别, 联系电话 …:
/// `HeaderMatcher::names_every_column`; a 失业登记 table, 姓名, 身份证号,
/// 登记日期, 状态, names as
/// many of 不动产登记's fields and lacks its 不动产单元号; a property table
/// whose 不动产单元编号 and 房屋用途 are written otherwise is no 失业登记
/// table: helper-161's audit); see [`other_type_hint`]; none when two fit.
fn other_type(
    header: &[read::Cell],
    def: &'static ExtractDef,
    config: &Config,
) -> Option<&'static ExtractDef> {
    OtherTypes::new(def, config).of(header)
}

/// The header matchers of a file's type and of every other type, made
/// once a file for every question of [`other_type`] it asks: of its
/// sections' headers, the headers below them, the rows above them and the
/// rows that [`other_headers_among`] asks about (making them is dearer
/// than asking them: made for each row asked, ten thousand rows of a
/// county's files cost seconds).
struct OtherTypes {
    own: HeaderMatcher,
    others: Vec<(&'static ExtractDef, HeaderMatcher)>,
}

impl OtherTypes {
    fn new(def: &'static ExtractDef, config: &Config) -> Self {
        OtherTypes {
            own: HeaderMatcher::new(def, &config.aliases(def.name)),
            others: extract::EXTRACTS
                .iter()
                .filter(|other| other.name != def.name)
                .map(|&other| {
                    (
                        other,
                        HeaderMatcher::new(other, &config.aliases(other.name)),
                    )
                })
                .collect(),
        }
    }

    /// [`other_type`] of `header`. A header a type maps looks like its
    /// header too: that test, which reads no more than the cells' names,
    /// turns most rows away first.
    fn of(&self, header: &[read::Cell]) -> Option<&'static ExtractDef> {
        let (mut own, mut own_unusable) = (None, None);
        let mut fits = self.others.iter().filter(|(_, m)| {
            if !(m.looks_like_header(header) && m.map_header(header).is_ok()) {
                return false;
            }
            let named = m.fields_named(header);
            let own_named = *own.get_or_insert_with(|| self.own.fields_named(header));
            named > own_named
                || (named == own_named
                    && *own_unusable.get_or_insert_with(|| self.own.map_header(header).is_err())
                    && m.names_every_column(header))
        });
        let (other, _) = fits.next()?;
        fits.next().is_none().then_some(*other)
    }
}

/// Where a section is, as the messages name it: the file, and a
/// workbook's sheet.
fn section_place(name: &str, section: &Section) -> String {
    place(name, section.sheet.as_deref())
}

/// A file, and a workbook's sheet in it, as the messages name them.
fn place(name: &str, sheet: Option<&str>) -> String {
    sheet
        .map(|s| format!("{name} 工作表 {}", crate::read::sheet_for_message(s)))
        .unwrap_or_else(|| name.to_string())
}

/// The fatal messages for a header that cannot be used.
fn header_problems(
    name: &str,
    extract: &str,
    section: &Section,
    found: Vec<HeaderProblem>,
    problems: &mut Vec<InputProblem>,
) {
    let where_ = section_place(name, section);
    let pasted = crate::extract::looks_pasted(&section.header);
    let headers = section
        .header
        .iter()
        .map(|h| h.trim())
        .filter(|h| !h.is_empty())
        .map(|h| crate::extract::header_for_message(h, pasted))
        .collect::<Vec<_>>()
        .join("、");
    for p in found {
        let message = match p {
            HeaderProblem::Missing { field, header } => format!(
                "{where_}：缺少必需列「{header}」（{field}）；找到的表头：{headers}；\
                 若该列表头另有写法，可在配置 [extracts.{extract}.aliases] 中添加 {field} = [\"表头\"] / \
                 {where_}: required column {header} ({field}) is missing; headers found: {headers}; \
                 if it is there under another header, add {field} = [\"that header\"] to \
                 [extracts.{extract}.aliases] in the config"
            ),
            HeaderProblem::MappedTwice { field, headers } => format!(
                "{where_}：多列对应同一字段 {field}：{}；请删去多余的列，或在配置 \
                 [extracts.{extract}.aliases] 中写明各列的字段 / {where_}: several columns map \
                 to field {field}: {}; remove the extra one, or name each column's field in \
                 [extracts.{extract}.aliases] in the config",
                headers
                    .iter()
                    .map(|(c, h)| format!("第 {} 列「{h}」", c + 1))
                    .collect::<Vec<_>>()
                    .join("、"),
                headers
                    .iter()
                    .map(|(c, h)| format!("column {} ({h})", c + 1))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            HeaderProblem::OtherUnit { field, header } => format!(
                "{where_}：列「{header}」（{field}）的金额单位不是元，按元读取会差出倍数；请换算为元后重新导出，或改回模板表头 / {where_}: column {header} ({field}) holds amounts in another unit than 元 (yuan); convert them to 元 and export again"
            ),
        };
        problems.push(InputProblem {
            file: name.to_string(),
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;

    use super::*;

    const AS_OF: NaiveDate = NaiveDate::from_ymd_opt(2025, 11, 30).expect("a date");

    /// warnings.csv lists the first [`WARNINGS_LISTED`] of each field, in
    /// row order, however the file's pieces come together.
    #[test]
    fn warnings_listed_are_the_first_of_each_field_and_reason() {
        let warning = |field_name: &'static str, row: usize| WarningRow {
            extract: "education",
            file: "e.csv".into(),
            row: row.to_string(),
            field: "困境类型",
            field_name,
            code: "bad_category",
            reason: String::new(),
            value: String::new(),
        };
        let piece = |from: usize, to: usize| {
            let mut t = Tally::default();
            for row in from..to {
                t.list(warning("hardship", row));
                if row % 500 == 0 {
                    t.list(warning("aid_type", row));
                }
            }
            t
        };
        let mut file = Tally::default();
        for (from, to) in [(0, 700), (700, 1400), (1400, 2000)] {
            file.add(piece(from, to));
        }
        let rows = |field: &str| -> Vec<usize> {
            file.value_warnings
                .iter()
                .filter(|w| w.field_name == field)
                .map(|w| w.row.parse().unwrap())
                .collect()
        };
        assert_eq!(rows("hardship"), (0..WARNINGS_LISTED).collect::<Vec<_>>());
        assert_eq!(rows("aid_type"), [0, 500, 1000, 1500]);
        // Each reason of a field has room of its own: amounts rounded to
        // the fen leave room for the column's unreadable values.
        let mut amounts = Tally::default();
        for row in 0..1500 {
            amounts.list(WarningRow {
                code: "money_rounded",
                ..warning("amount", row)
            });
        }
        amounts.list(WarningRow {
            code: "bad_money",
            ..warning("amount", 1500)
        });
        assert_eq!(amounts.value_warnings.len(), WARNINGS_LISTED + 1);
        assert_eq!(amounts.value_warnings.last().unwrap().code, "bad_money");
    }

    #[test]
    fn files_are_in_natural_order() {
        let mut names = vec![
            "pension_2025_10.csv",
            "pension_2025_9.csv",
            "pension_2025_09.csv",
            "pension.csv",
            "medical_settlement_202511.csv",
            "pension_2025_9a.csv",
            "PENSION_2025_11.CSV",
            "Pension_2025_8.csv",
        ];
        names.sort_by(|a, b| natural_cmp(a, b).then_with(|| a.cmp(b)));
        assert_eq!(
            names,
            [
                "medical_settlement_202511.csv",
                "pension.csv",
                "Pension_2025_8.csv",
                "pension_2025_09.csv",
                "pension_2025_9.csv",
                "pension_2025_9a.csv",
                "pension_2025_10.csv",
                "PENSION_2025_11.CSV",
            ]
        );
    }

    /// What [`classify`] makes of a folder: the files it reads as (name,
    /// type), the names it does not read, and the files as it gives them.
    #[allow(clippy::type_complexity)]
    fn classified(
        dir: &Path,
        config: &Config,
    ) -> (
        Vec<(String, &'static str)>,
        Vec<String>,
        Vec<(PathBuf, &'static ExtractDef, u64)>,
    ) {
        let (files, ignored) = classify(dir, config).unwrap();
        let read = files
            .iter()
            .map(|(p, def, _)| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    def.name,
                )
            })
            .collect();
        (read, ignored, files)
    }

    /// A file whose name holds an extract type's name elsewhere than at
    /// its start, or written otherwise, is recognised by its header row
    /// (with a title above, in GB18030 too); one whose header does not fit
    /// the type it names is ignored, and so is one that names no type,
    /// whatever its header (a 低保金发放表 has a pension's columns). A name
    /// starting with a type says more than a header.
    #[test]
    fn a_file_named_otherwise_is_recognised_by_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let header = |def: &ExtractDef, sep: &str| -> String {
            def.fields
                .iter()
                .map(|f| f.header)
                .collect::<Vec<_>>()
                .join(sep)
        };
        let camel = |name: &str| -> String {
            name.split('_')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect()
        };
        let mut expected = Vec::new();
        for (i, def) in extract::EXTRACTS.iter().enumerate() {
            let name = match i % 3 {
                0 => format!("{i:02}_{}.csv", def.name),
                1 => format!("{}-2025年11月.csv", camel(def.name)),
                _ => format!("{}2025.csv", def.name.replace('_', "")),
            };
            let text = format!("{}数据（2025年11月）\n{}\n", def.label, header(def, ","));
            let bytes = if i % 2 == 0 {
                text.into_bytes()
            } else {
                encoding_rs::GB18030.encode(&text).0.into_owned()
            };
            std::fs::write(dir.path().join(&name), bytes).unwrap();
            expected.push((name, def.name));
        }
        let roster = extract::by_name("roster").unwrap();
        let pension = extract::by_name("pension").unwrap();
        std::fs::write(dir.path().join("pension_202511.csv"), header(roster, ",")).unwrap();
        expected.push(("pension_202511.csv".to_string(), "pension"));
        for (name, text) in [
            ("2025年11月低保金发放表.csv", header(pension, ",")),
            ("第二份名册.tsv", header(roster, "\t")),
            (
                "contacts_of_roster.txt",
                "姓名,身份证号码,电话\n张三,1,2\n".into(),
            ),
            ("说明.txt", "本目录为 2025 年 11 月数据。\n".into()),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let config = Config::parse("", "test").unwrap();
        let (mut found, ignored, _) = classified(dir.path(), &config);
        found.sort();
        expected.sort();
        assert_eq!(found, expected);
        assert_eq!(
            ignored,
            [
                "2025年11月低保金发放表.csv",
                "contacts_of_roster.txt",
                "第二份名册.tsv",
                "说明.txt"
            ]
        );
    }

    /// A file named by its type's Chinese title (spec/extracts.md), in
    /// traditional characters too, is recognised by its header row like
    /// one named by its type; a name with no word of a title (`结算明细`,
    /// `上月名册`, a 低保金发放表) is not read whatever its header, nor
    /// one whose header does not fit the title it carries.
    #[test]
    fn a_file_named_by_its_chinese_title_is_recognised_by_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let header = |name: &str| -> String {
            let def = extract::by_name(name).unwrap();
            let cells: Vec<&str> = def.fields.iter().map(|f| f.header).collect();
            format!("{}\n{}\n", def.label, cells.join(","))
        };
        let named = [
            ("2025年11月救助对象名册.csv", "roster"),
            ("学生资助与学籍数据.csv", "education"),
            ("醫保參保登記.csv", "medical_enrollment"),
            // The title's words apart (helper-143).
            ("县医保局参保登记表.csv", "medical_enrollment"),
            ("医保结算明细（11月）.csv", "medical_settlement"),
            ("不动产登记信息.csv", "property"),
            ("农村住房安全鉴定与危房改造台账.csv", "housing_safety"),
            ("社会保险缴费记录.csv", "contribution"),
            ("失业登记名单.csv", "unemployment"),
            ("养老金发放明细.csv", "pension"),
        ];
        for (file, extract) in named {
            std::fs::write(dir.path().join(file), header(extract)).unwrap();
        }
        let unread = [
            ("结算明细.csv", "medical_settlement"),
            ("上月名册.csv", "roster"),
            ("2025年11月低保金发放表.csv", "pension"),
            ("养老金发放_核对.csv", "roster"),
            ("养老金发放（名单）.csv", "roster"),
            // The bureau's own lists, whose names hold a title's words
            // apart (helper-145).
            ("救助对象停保人员名册（2025年）.csv", "roster"),
            ("领取养老金人员特困供养金发放表.csv", "pension"),
            ("低保户危房未改造户名单（乡镇上报）.csv", "housing_safety"),
            ("救助对象死亡名册.csv", "roster"),
            ("2025年养老金停发名单.csv", "pension"),
        ];
        for (file, extract) in unread {
            std::fs::write(dir.path().join(file), header(extract)).unwrap();
        }
        let config = Config::parse("", "test").unwrap();
        let (mut found, ignored, files) = classified(dir.path(), &config);
        found.sort();
        let mut expected: Vec<(String, &str)> =
            named.iter().map(|&(f, e)| (f.to_string(), e)).collect();
        expected.sort();
        assert_eq!(found, expected);
        let mut unread: Vec<&str> = unread.iter().map(|&(f, _)| f).collect();
        unread.sort_by(|a, b| natural_cmp(a, b).then_with(|| a.cmp(b)));
        assert_eq!(ignored, unread);
        // No file is named by a type: nothing was left beside one
        // (helper-144).
        assert_eq!(title_notes(&ignored, &files, &config), Vec::<String>::new());

        // A title names the type only where no file is named by the type
        // (then every file so named is read, as a roster per township);
        // a bureau's own list under the same title (已退出…, …核对表) is
        // none (helper-142, helper-143).
        let dir = tempfile::tempdir().unwrap();
        for (file, extract) in [
            ("pension_202511.csv", "pension"),
            ("养老金发放明细.csv", "pension"),
            ("救助对象名册（一）.csv", "roster"),
            ("救助对象名册（二）.csv", "roster"),
            ("2025年11月已退出救助对象名册.csv", "roster"),
            ("低保户养老金发放核对表.csv", "pension"),
            ("失业人员登记.csv", "unemployment"),
        ] {
            std::fs::write(dir.path().join(file), header(extract)).unwrap();
        }
        let (read, ignored, files) = classified(dir.path(), &config);
        assert_eq!(
            read,
            [
                ("pension_202511.csv".to_string(), "pension"),
                ("失业人员登记.csv".to_string(), "unemployment"),
                ("救助对象名册（一）.csv".to_string(), "roster"),
                ("救助对象名册（二）.csv".to_string(), "roster"),
            ]
        );
        assert_eq!(
            ignored,
            [
                "2025年11月已退出救助对象名册.csv",
                "低保户养老金发放核对表.csv",
                "养老金发放明细.csv",
            ]
        );
        // The title-named file left beside pension_… is noted; the
        // bureau's own lists are not.
        let notes = title_notes(&ignored, &files, &config);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with(
                "名称含养老金发放而未读取的文件：养老金发放明细.csv（已有 pension_… 文件"
            ),
            "{}",
            notes[0]
        );
    }

    /// Backup copies named like an extract are listed as ignored, unless
    /// the config maps one by name: then it is read.
    #[test]
    fn a_backup_copy_is_ignored_unless_the_config_maps_it() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "pension_202511.csv",
            "pension_202511.csv.bak",
            "pension_202510.csv.old",
        ] {
            std::fs::write(dir.path().join(name), "姓名\n").unwrap();
        }
        let names = |config: &Config| {
            let (files, ignored) = classify(dir.path(), config).unwrap();
            let read: Vec<String> = files
                .iter()
                .map(|(p, _, _)| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            (read, ignored)
        };
        let plain = Config::parse("", "test").unwrap();
        let (read, ignored) = names(&plain);
        assert_eq!(read, ["pension_202511.csv"]);
        assert_eq!(
            ignored,
            ["pension_202510.csv.old", "pension_202511.csv.bak"]
        );
        let mapped = Config::parse(
            "[input.files]\n\"pension_202510.csv.old\" = \"pension\"\n",
            "test",
        )
        .unwrap();
        let (read, ignored) = names(&mapped);
        assert_eq!(read, ["pension_202510.csv.old", "pension_202511.csv"]);
        assert_eq!(ignored, ["pension_202511.csv.bak"]);
    }

    /// A pension file of `n` rows spanning several reader chunks and many
    /// pieces: every 1,500th row repeats the row before it, and the rows
    /// whose number is 5 modulo 997 have an amount that does not parse.
    fn pension_file(dir: &Path, n: usize) {
        let mut text = String::from("姓名,身份证号码,发放月份,发放金额\n");
        for i in 0..n {
            let seq = if i % 1500 == 7 { i - 1 } else { i };
            let amount = if seq % 997 == 5 {
                "一百元".to_string()
            } else {
                format!("{}.00", 1000 + (seq % 500))
            };
            text.push_str(&format!("张{seq},1101051990{seq:08},202501,{amount}\n"));
        }
        std::fs::write(dir.join("pension_202501.csv"), text).unwrap();
    }

    /// A settlement's hospital and diagnosis are read and compared but not
    /// kept: the table (in memory and on disk) has no column for them, and
    /// a row issued again in a later file with another diagnosis is still
    /// a conflict, one with the same values none.
    #[test]
    fn columns_not_kept_are_compared_but_not_held() {
        let dir = tempfile::tempdir().unwrap();
        let header = "结算编号,姓名,身份证号,就诊类型,结算日期,医疗机构,主诊断,总费用,\
                      政策范围内费用,统筹基金支付,大病保险支付,医疗救助支付,个人自付\n";
        let row = |id: &str, diagnosis: &str| {
            format!(
                "{id},张三,11010519491231002X,住院,2025-10-03,县人民医院,{diagnosis},\
                 1000.00,900.00,500.00,0,100.00,400.00\n"
            )
        };
        let first = [row("JS1", "I10 原发性高血压"), row("JS2", "J18 肺炎")].concat();
        let second = [
            row("JS1", "I10 原发性高血压"),
            row("JS2", "J20 急性支气管炎"),
        ]
        .concat();
        std::fs::write(
            dir.path().join("medical_settlement_202510.csv"),
            header.to_string() + &first,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("medical_settlement_202511.csv"),
            header.to_string() + &second,
        )
        .unwrap();
        let config = Config::default();
        let work = tempfile::tempdir().unwrap();
        let inputs = load(dir.path(), &config, AS_OF);
        let on_disk = load_to_disk(dir.path(), &config, AS_OF, work.path());
        for schema in [
            inputs.tables["medical_settlement"][0].schema(),
            on_disk.on_disk["medical_settlement"].schema.clone(),
        ] {
            for gone in ["hospital", "diagnosis"] {
                assert!(schema.column_with_name(gone).is_none(), "{gone} kept");
            }
            assert!(schema.column_with_name("total_cost").is_some());
        }
        // JS2 again with another diagnosis replaces the first (rows are
        // ordered by file, then row); JS1 again as it was is a copy.
        let (js2_first, js2_again) = (table::ord_of(0, 1), table::ord_of(1, 1));
        for read in [&inputs, &on_disk] {
            assert_eq!(
                read.conflicts["medical_settlement"],
                [(js2_first, js2_again)]
            );
        }
    }

    #[test]
    fn pieces_parsed_side_by_side_keep_file_order_and_every_count() {
        let dir = tempfile::tempdir().unwrap();
        let n = 70_000;
        pension_file(dir.path(), n);
        let config = Config::default();
        let inputs = load(dir.path(), &config, AS_OF);
        // The other extracts are missing: problems of the batch, not of the file.
        assert!(
            inputs.problems.iter().all(|p| p.file.ends_with("_*")),
            "{:?}",
            inputs.problems
        );
        let account = &inputs.accounts[0];
        let seq = |i: usize| if i % 1500 == 7 { i - 1 } else { i };
        let bad: Vec<usize> = (0..n).filter(|&i| seq(i) % 997 == 5).collect();
        assert_eq!(account.rows_read, n as u64);
        assert_eq!(account.rows_rejected, bad.len() as u64);
        assert_eq!(account.rows_accepted, (n - bad.len()) as u64);
        // The data row i is spreadsheet row i + 2; rejects come in file order.
        let reject_rows: Vec<String> = inputs.rejects.iter().map(|r| r.row.clone()).collect();
        let expected: Vec<String> = bad.iter().map(|i| (i + 2).to_string()).collect();
        assert_eq!(reject_rows, expected);

        let batches = &inputs.tables["pension"];
        let table = &arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap();
        assert_eq!(table.num_rows(), n - bad.len());
        let rows = table.column_by_name("_row").unwrap().as_string::<i32>();
        let ords = table
            .column_by_name("_ord")
            .unwrap()
            .as_primitive::<arrow::datatypes::UInt64Type>();
        let dups = table.column_by_name("_dup").unwrap().as_boolean();
        let good: Vec<usize> = (0..n).filter(|&i| seq(i) % 997 != 5).collect();
        for (k, &i) in good.iter().enumerate() {
            assert_eq!(rows.value(k), (i + 2).to_string(), "row of data row {i}");
            assert_eq!(ords.value(k), k as u64);
            let copy = i % 1500 == 7;
            assert_eq!(dups.value(k), copy, "duplicate flag of data row {i}");
        }
        assert_eq!(
            account.rows_duplicate,
            good.iter().filter(|&&i| i % 1500 == 7).count() as u64
        );

        // To disk and counted only: the same accounting and rejects.
        let work = tempfile::tempdir().unwrap();
        for other in [
            load_to_disk(dir.path(), &config, AS_OF, work.path()),
            load_accounts(dir.path(), &config, AS_OF),
        ] {
            assert_eq!(other.accounts, inputs.accounts);
            assert_eq!(other.rejects, inputs.rejects);
        }
    }
}
