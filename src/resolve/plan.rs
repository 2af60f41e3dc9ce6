//! The SQL plans of person resolution. Each function returns the text of one
//! query over the tables named in `mod.rs`; labels and scores come from
//! `levels.rs`. Blocking is relational: a repair candidate shares a masked key
//! (one position replaced by `_`) with the record's ID, or equals the record's
//! ID with two neighbouring characters swapped, so the work grows with
//! 18 × (IDs) instead of (records × persons).

use super::levels::{Method, REPAIRED_SCORES, SCORE_NAME_BIRTH_HOMOPHONE, status};
use super::tables::*;
use crate::engine::{LEVEL_DISAGREE, LEVEL_HOMOPHONE, LEVEL_SAME};

/// One `(ID field, name field)` pair an extract may carry. Every pair present
/// in a table becomes observations of persons.
pub(crate) const ID_FIELDS: [(&str, &str); 3] = [
    ("id_number", "name"),
    ("head_id", "head_name"),
    ("guardian_id", "guardian_name"),
];

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn f64_sql(x: f64) -> String {
    format!("CAST({x:?} AS DOUBLE)")
}

fn linked_statuses() -> String {
    format!("({}, {})", quote(status::VALID), quote(status::UPGRADED15))
}

/// The statuses whose records may link by name and birth date: no usable
/// ID, or a bad check character that no repair resolved.
fn name_birth_statuses() -> String {
    format!(
        "({}, {}, {}, {})",
        quote(status::EMPTY),
        quote(status::SCI_NOTATION),
        quote(status::MALFORMED),
        quote(status::BAD_CHECK)
    )
}

/// The columns of one observation source, as found in the table's schema.
pub(crate) struct ObsSource<'a> {
    pub extract: &'a str,
    /// The table the extract's rows are read from.
    pub table: &'a str,
    pub id_field: &'a str,
    /// The name field, when the table has it.
    pub name_field: Option<&'a str>,
    /// Whether the table has a `birth_date` column that belongs to this ID.
    pub birth_date: bool,
}

/// `SELECT` of one ID field of one extract as observations:
/// extract, field, file, row, _ord, _dup, id, id_raw, id_status, name,
/// name_raw, name_key, birth.
pub(crate) fn observations_select(src: &ObsSource<'_>) -> String {
    let f = src.id_field;
    let (name, name_raw) = match src.name_field {
        Some(n) => (
            format!("CAST({} AS VARCHAR)", ident(n)),
            format!("CAST({} AS VARCHAR)", ident(&format!("{n}_raw"))),
        ),
        None => (
            "CAST(NULL AS VARCHAR)".to_string(),
            "CAST(NULL AS VARCHAR)".to_string(),
        ),
    };
    // Date32 casts to YYYY-MM-DD; digits 7–14 of an ID are YYYYMMDD.
    let birth = if src.birth_date {
        "replace(CAST(\"birth_date\" AS VARCHAR), '-', '')".to_string()
    } else {
        "CAST(NULL AS VARCHAR)".to_string()
    };
    format!(
        "SELECT CAST({extract} AS VARCHAR) AS extract, CAST({field} AS VARCHAR) AS field, \
         CAST(\"_file\" AS VARCHAR) AS file, CAST(\"_row\" AS VARCHAR) AS \"row\", \
         CAST(\"_ord\" AS BIGINT UNSIGNED) AS \"_ord\", CAST(\"_dup\" AS BOOLEAN) AS \"_dup\", \
         CAST({id} AS VARCHAR) AS id, CAST({id_raw} AS VARCHAR) AS id_raw, \
         CAST({id_status} AS VARCHAR) AS id_status, \
         {name} AS name, {name_raw} AS name_raw, coalesce({name_raw}, '') AS name_key, \
         {birth} AS birth \
         FROM {table}",
        extract = quote(src.extract),
        field = quote(f),
        id = ident(f),
        id_raw = ident(&format!("{f}_raw")),
        id_status = ident(&format!("{f}_status")),
        table = ident(src.table),
    )
}

/// [`OBS_OTHER`]: the observations without a valid or upgraded ID, a
/// table of their own.
pub(crate) fn obs_other() -> String {
    format!(
        "SELECT * FROM {OBS} WHERE id_status IS NULL OR id_status NOT IN {linked}",
        linked = linked_statuses()
    )
}

/// [`OBS_LINKED`]: a view over the observations.
pub(crate) fn obs_linked() -> String {
    format!(
        "SELECT * FROM {OBS} WHERE id_status IN {linked}",
        linked = linked_statuses()
    )
}

/// An empty observation table, for a run with no extracts.
pub(crate) fn observations_empty() -> String {
    format!(
        "SELECT CAST(NULL AS VARCHAR) AS extract, CAST(NULL AS VARCHAR) AS field, \
         CAST(NULL AS VARCHAR) AS file, CAST(NULL AS VARCHAR) AS \"row\", \
         CAST(NULL AS BIGINT UNSIGNED) AS \"_ord\", CAST(NULL AS BOOLEAN) AS \"_dup\", \
         CAST(NULL AS VARCHAR) AS id, CAST(NULL AS VARCHAR) AS id_raw, \
         CAST(NULL AS VARCHAR) AS id_status, CAST(NULL AS VARCHAR) AS name, \
         CAST(NULL AS VARCHAR) AS name_raw, CAST('' AS VARCHAR) AS name_key, \
         CAST(NULL AS VARCHAR) AS birth FROM {POSITIONS} WHERE false"
    )
}

/// Every (ID, name, name as written) observed on a valid or upgraded ID,
/// in one pass over the observations: with the rows that carry it where
/// the name is usable and the row no duplicate (`n`; 0 for the others),
/// and whether one of those is the roster's own ID column (`in_roster`).
/// The known names, the persons and the direct levels are drawn from these
/// (a few rows per person), not from the observations again.
pub(crate) fn seen_names() -> String {
    let counted = "NOT \"_dup\" AND name IS NOT NULL AND name <> '' AND name_raw IS NOT NULL";
    format!(
        "SELECT id, name, name_raw,
                sum(CASE WHEN {counted} THEN 1 ELSE 0 END) AS n,
                max(CASE WHEN {counted} AND extract = 'roster' AND field = 'id_number'
                         THEN 1 ELSE 0 END) AS in_roster
         FROM {OBS_LINKED}
         WHERE id_status IN {linked} AND id IS NOT NULL
         GROUP BY id, name, name_raw",
        linked = linked_statuses()
    )
}

/// Every (person, name) observed on a valid or upgraded ID with a usable
/// name, on a row that is no duplicate: the names a person is known by,
/// with the rows that carry each (`n`) and whether one of them is the
/// roster's own ID column (`in_roster`). A view over [`SEEN`].
pub(crate) fn known_names() -> String {
    format!("SELECT id AS person_id, name, name_raw, n, in_roster FROM {SEEN} WHERE n > 0")
}

/// A (person, name)'s rank among the person's names as one string, the
/// smallest best: `1 - in_roster` (1 character), then `10^12 - 1 - n` (12
/// digits), the name, U+0001, the name as written, and the name's length in
/// characters (10 digits) to cut it out again. Byte order is the order of
/// `in_roster DESC, n DESC, name ASC` (a name that is the start of another
/// sorts first: U+0001 is below every character a name holds but U+0000
/// and U+0001 themselves), and the name's row is unique per person, so
/// ties go no further. Persons hold one string each in the aggregate: an
/// ordered `first_value` holds each row's ordering values as scalars, which
/// at city spilled past the engine's memory.
const BEST_NAME_KEY: &str = "concat(CAST(1 - in_roster AS VARCHAR), \
     lpad(CAST(999999999999 - n AS VARCHAR), 12, '0'), name, chr(1), name_raw, \
     lpad(CAST(character_length(name) AS VARCHAR), 10, '0'))";

/// The person universe: every valid or upgraded ID in any extract, with the
/// name it is best known by: the roster's name if the roster has the ID, else
/// the most frequent normalised name (ties: the smallest), as written first
/// in code-point order. Both come from [`seen_names`], not the observations:
/// its rows are summed per (ID, name), and the best name is the smallest
/// [`BEST_NAME_KEY`] among those counted ([`known_names`]: `n > 0`), so
/// that each person's group holds one string; an ID seen with no usable
/// name is a person too, with none. (One aggregate over every row, where a
/// distinct set of the IDs was joined with one over the counted names:
/// county 0.36–0.39 → 0.27 s, city 4.5–4.9 → 4.2 s.)
///
/// `names`: how many names the person is known by (those counted): only a
/// person known by two or more can be [`unowned`] or a DQ02 suspect
/// ([`dq02_suspects`]).
pub(crate) fn persons() -> String {
    format!(
        "WITH counted AS (
            SELECT id AS person_id, name,
                   min(CASE WHEN n > 0 THEN name_raw END) AS name_raw, sum(n) AS n,
                   max(in_roster) AS in_roster
            FROM {SEEN}
            GROUP BY id, name),
         best AS (
            SELECT person_id, min(CASE WHEN n > 0 THEN {best_key} END) AS k,
                   count(CASE WHEN n > 0 THEN 1 END) AS names
            FROM counted GROUP BY person_id),
         split AS (
            SELECT person_id, k, names, CAST(right(k, 10) AS BIGINT) AS len FROM best)
         SELECT person_id, substr(k, 14, len) AS name,
                substr(k, 15 + len, character_length(k) - 24 - len) AS name_raw, names
         FROM split",
        best_key = BEST_NAME_KEY,
    )
}

/// The persons whose ID is unowned: their best-known name ties with a
/// name that disagrees with it (as many rows, the roster's name outranking
/// any other, as in [`persons`]). The best is then only the first in
/// code-point order, and whose ID it is is unknown: neither repair nor
/// name + birth date links a record to such a person. Only a person known
/// by two names or more can tie; their names alone are weighed again.
/// (One step, where repair and name + birth date each weighed their
/// candidates' names, name + birth date every person born on a record's
/// birth date: those two steps took county 0.82 → 0.37 s, city 23.7 →
/// 4.4 s, this one's 0.10 s and 1.13 s included.)
pub(crate) fn unowned() -> String {
    format!(
        "WITH several AS (SELECT person_id, name_raw FROM {PERSONS} WHERE names > 1),
         weighed AS (
            SELECT k.person_id, min(k.name_raw) AS name_raw,
                   max(k.in_roster) * 1000000000000 + sum(k.n) AS w
            FROM {KNOWN} k JOIN several ON several.person_id = k.person_id
            GROUP BY k.person_id, k.name),
         top AS (SELECT person_id, max(w) AS w FROM weighed GROUP BY person_id)
         SELECT DISTINCT weighed.person_id FROM weighed
         JOIN top ON top.person_id = weighed.person_id AND top.w = weighed.w
         JOIN several p ON p.person_id = weighed.person_id
         WHERE name_agrees(weighed.name_raw, p.name_raw) = {disagree}",
        disagree = quote(LEVEL_DISAGREE),
    )
}

/// For each (valid ID, name as written): how the name agrees with the
/// person's known name. An unowned ID's names all disagree: its known name
/// is only the first of two that tie ([`unowned`]), so no name on it is
/// known to be its owner's, and each of its links is scored as one whose
/// name disagrees (a row without a name keeps its method's score).
pub(crate) fn direct_levels() -> String {
    format!(
        "WITH d AS (
            SELECT DISTINCT id, coalesce(name_raw, '') AS name_key, name_raw FROM {SEEN})
         SELECT d.id, d.name_key,
                CASE WHEN u.person_id IS NOT NULL AND d.name_raw IS NOT NULL THEN {disagree}
                     ELSE name_agrees(d.name_raw, p.name_raw) END AS level
         FROM d LEFT JOIN {PERSONS} p ON p.person_id = d.id
         LEFT JOIN {UNOWNED} u ON u.person_id = d.id",
        disagree = quote(LEVEL_DISAGREE),
    )
}

/// The rows of [`DIRECT`] that [`super::direct::DirectLevels`] needs: those
/// of the IDs with a name whose level is not `same` (few: nearly every
/// name agrees as it is, and the lookup is held in memory whole).
pub(crate) fn direct_held() -> String {
    format!(
        "SELECT id, name_key, level FROM {DIRECT}
         WHERE id IN (SELECT id FROM {DIRECT} WHERE level IS NULL OR level <> {same})",
        same = quote(LEVEL_SAME),
    )
}

/// The IDs with a wrong check character to repair, with the names they
/// were written with and the birth dates the rows give (`birth_key`, empty
/// for a row that gives none).
fn bad_records() -> String {
    format!(
        "SELECT DISTINCT id AS bad_id, name_key, name_raw, coalesce(birth, '') AS birth_key
         FROM {OBS_OTHER}
         WHERE id_status = {bad_check} AND id IS NOT NULL AND name_raw IS NOT NULL",
        bad_check = quote(status::BAD_CHECK),
    )
}

/// The distinct IDs with a wrong check character (or birth date) to repair.
pub(crate) fn bad_ids() -> String {
    format!(
        "SELECT DISTINCT bad_id FROM ({bad}) ORDER BY bad_id",
        bad = bad_records()
    )
}

/// The distinct IDs of the known persons: those a repair may lead to.
pub(crate) fn known_ids() -> String {
    format!("SELECT DISTINCT person_id FROM {KNOWN}")
}

/// Blocking for repair: the known persons whose ID is one typing error (one
/// character replaced, or a neighbouring pair swapped) away from a bad ID.
/// A known person's ID always has a right check character, so the bad ID's
/// neighbours with a right check character (about fifteen per bad ID) are
/// the only candidates, each looked up among the known IDs
/// ([`super::register_candidates`]): the work grows with the bad IDs alone.
/// The two queries whose results are looked up, [`bad_ids`] and
/// [`known_ids`], `;` between them.
pub(crate) fn repair_candidates() -> String {
    format!("{}; {}", bad_ids(), known_ids())
}

/// Repair: a candidate qualifies when one of its known names agrees with the
/// record's name (its best level counts) and it was born the day the
/// record's birth date says, where it says one; a record is repaired only
/// when exactly one candidate qualifies (precision first). Decided for each
/// (bad ID, name, birth date given): rows of one ID and name that give
/// different birth dates, or none, may have different candidates.
pub(crate) fn repairs() -> String {
    let rank_case = {
        let arms: String = REPAIRED_SCORES
            .iter()
            .map(|(label, _, rank)| format!(" WHEN {} THEN {rank}", quote(label)))
            .collect();
        format!("CASE name_agrees(b.name_raw, k.name_raw){arms} ELSE 0 END")
    };
    // A candidate confirms with the names it is known by that agree with
    // its best-known name: a name another row put on its ID (DQ02: a
    // spouse's on the head's) does not make a typo of that ID the spouse's.
    // When a name that disagrees ties with the best-known one, whose ID it
    // is is unknown ([`unowned`]): every name it is known by makes it a
    // candidate (the record may be its owner's), and it is repaired to by
    // none (another candidate is then no more the only one than before).
    // A record that gives its birth date (a student's) rules out every
    // candidate born another day: the typo was then in the ID's other
    // digits, and the person it names may be someone else (a classmate of
    // the same name born the day the ID says, whom name + birth date finds).
    format!(
        "WITH scored AS (
            SELECT c.bad_id, b.name_key, b.birth_key, c.person_id, max({rank_case}) AS rank
            FROM {CANDIDATES} c
            JOIN ({bad}) b ON b.bad_id = c.bad_id
            JOIN {KNOWN} k ON k.person_id = c.person_id
            JOIN {PERSONS} p ON p.person_id = c.person_id
            LEFT JOIN {UNOWNED} u ON u.person_id = c.person_id
            WHERE (name_agrees(k.name_raw, p.name_raw) <> {disagree} OR u.person_id IS NOT NULL)
              AND (b.birth_key = '' OR b.birth_key = substr(c.person_id, 7, 8))
            GROUP BY c.bad_id, b.name_key, b.birth_key, c.person_id),
         single AS (
            SELECT bad_id, name_key, birth_key, max(person_id) AS person_id, max(rank) AS rank
            FROM scored WHERE rank > 0
            GROUP BY bad_id, name_key, birth_key
            HAVING count(*) = 1)
         SELECT * FROM single WHERE person_id NOT IN (SELECT person_id FROM {UNOWNED})",
        bad = bad_records(),
        disagree = quote(LEVEL_DISAGREE),
    )
}

/// How much work blocking made, for the log and a dry run: distinct bad IDs,
/// their candidate pairs, records without a usable ID that carry a birth
/// date, and known persons.
pub(crate) fn blocking_stats() -> String {
    format!(
        "SELECT
            (SELECT count(DISTINCT bad_id) FROM ({bad})) AS bad_check_ids,
            (SELECT count(*) FROM {CANDIDATES}) AS repair_candidate_pairs,
            (SELECT count(*) FROM {OBS_OTHER} WHERE id_status IN {name_birth} AND birth IS NOT NULL)
                AS name_birth_records,
            (SELECT count(*) FROM {PERSONS}) AS persons",
        bad = bad_records(),
        name_birth = name_birth_statuses(),
    )
}

/// Records with no usable ID (or a bad one that no repair resolved) but a
/// birth date: the one known person with the same normalised name and the
/// birth date written in the ID (digits 7–14), level `same`.
/// A minority name's separator, written or left out (买买提·艾力,
/// 买买提艾力), does not tell two names apart: two persons known by those
/// two forms with one birth date are two candidates, and the record stays
/// unlinked. Keyed by the record's own normalised name.
///
/// When no known person has the record's name and birth date at all, the
/// one person of that birth date whose best-known name is a likely
/// homophone typo of it (one character that reads the same: 何逃信 for
/// 何涛信) links at level `homophone`, with a lower score: a child without
/// an ID is often written one way by the school and another by the
/// insurer. Two such persons, or any person of the same name, leave it
/// there, and so does a name of two characters: at city scale 陈冰 born
/// one day met a 陈兵 of that day who was someone else (one wrong link
/// against seven right). Only persons of the same name length whose names
/// share the first character or all the others are compared (a homophone
/// typo changes one character).
///
/// A number Excel wrote in scientific notation (`3.41122E+17`) is judged
/// with the digits it kept: only the persons whose numbers they fit
/// ([`crate::normalize::id::sci_notation_fits`]) count, so that of two of
/// one name and birth date, the one it could have been is linked (such
/// records are grouped by their `id_raw`; the others' is NULL). A name
/// someone of that birth date has, fitting or not, is not compared by
/// sound.
///
/// The known names are joined as they are, not made distinct first: they
/// are one row per (person, name, name as written) already, and a person
/// met twice changes neither the count of persons nor whether a record met
/// one. At city the distinct set (some 7 M rows) spilled past the engine's
/// memory: 39 % of the step's time.
pub(crate) fn name_birth() -> String {
    let sep = quote(&crate::normalize::name::NAME_SEPARATOR.to_string());
    format!(
        "WITH rec AS (
            SELECT DISTINCT name, birth,
                   CASE WHEN id_status = {sci} THEN id_raw END AS id_raw,
                   replace(name, {sep}, '') AS bare FROM {OBS_OTHER}
            WHERE id_status IN {statuses} AND birth IS NOT NULL AND name IS NOT NULL
              AND name <> ''),
         known AS (
            SELECT person_id, name_raw, replace(name, {sep}, '') AS bare,
                   substr(person_id, 7, 8) AS birth FROM {KNOWN}),
         near AS (
            SELECT r.name, r.birth, r.id_raw, k.person_id, k.name_raw
            FROM rec r JOIN known k ON k.bare = r.bare AND k.birth = r.birth),
         -- A person whose ID is unowned is met under every name he is
         -- known by (the record may be its owner's) and links no one.
         met AS (
            SELECT n.name, n.birth, n.id_raw, n.person_id
            FROM near n JOIN {PERSONS} p ON p.person_id = n.person_id
            WHERE name_agrees(n.name_raw, p.name_raw) <> {disagree}
               OR n.person_id IN (SELECT person_id FROM {UNOWNED})),
         same AS (
            SELECT name, birth, id_raw, max(person_id) AS person_id,
                   count(DISTINCT person_id) AS n
            FROM met WHERE id_raw IS NULL OR sci_notation_fits(id_raw, person_id)
            GROUP BY name, birth, id_raw),
         best AS (
            SELECT person_id, name, replace(name, {sep}, '') AS bare,
                   character_length(replace(name, {sep}, '')) AS len,
                   substr(person_id, 7, 8) AS birth
            FROM {PERSONS} WHERE name IS NOT NULL AND name <> ''),
         alone AS (
            SELECT r.name, r.birth, r.id_raw, r.bare, character_length(r.bare) AS len
            FROM rec r
            WHERE NOT EXISTS (
                SELECT 1 FROM met s WHERE s.name = r.name AND s.birth = r.birth)),
         sounds AS (
            SELECT a.name, a.birth, a.id_raw, max(b.person_id) AS person_id,
                   count(DISTINCT b.person_id) AS n
            FROM alone a JOIN best b ON b.birth = a.birth AND b.len = a.len
            WHERE a.len >= 3
              AND (left(b.bare, 1) = left(a.bare, 1) OR substr(b.bare, 2) = substr(a.bare, 2))
              AND name_agrees(a.name, b.name) = {homophone}
              AND (a.id_raw IS NULL OR sci_notation_fits(a.id_raw, b.person_id))
            GROUP BY a.name, a.birth, a.id_raw)
         SELECT name, birth, id_raw, person_id, {same_level} AS level FROM same
         WHERE n = 1 AND person_id NOT IN (SELECT person_id FROM {UNOWNED})
         UNION ALL
         SELECT name, birth, id_raw, person_id, {homophone} AS level FROM sounds
         WHERE n = 1 AND person_id NOT IN (SELECT person_id FROM {UNOWNED})",
        statuses = name_birth_statuses(),
        same_level = quote(LEVEL_SAME),
        homophone = quote(LEVEL_HOMOPHONE),
        disagree = quote(LEVEL_DISAGREE),
        sci = quote(status::SCI_NOTATION),
    )
}

/// The columns every arm of the resolved tables takes from the observation.
const RESOLVED_ROW: &str = "o.extract, o.field, o.file, o.\"row\", o.\"_ord\", o.\"_dup\",
               o.id_raw AS raw_id, o.name_raw AS raw_name, o.name, o.id_status";

/// Every observation with its resolved person, method, score and the level
/// at which its name agreed: the union of [`resolved_linked`] (views, one
/// per extract) and [`resolved_other`] (a table: its rows are few).
pub(crate) fn resolved() -> String {
    format!("SELECT * FROM {RESOLVED_LINKED} UNION ALL SELECT * FROM {RESOLVED_OTHER}")
}

/// The observations of `source` (a table or a parenthesised query of
/// observation columns) with a valid or upgraded ID (nearly all): the
/// person is the ID; the method, score and name level come from the
/// kernels of [`super::direct`] (a name that disagrees lowers the score).
pub(crate) fn resolved_linked(source: &str) -> String {
    format!(
        "SELECT {RESOLVED_ROW}, o.id AS person_id,
                {method}(o.id_status, o.id_raw, o.id) AS method,
                {score}(o.id_status, o.id_raw, o.id, {level}(o.id, o.name_key)) AS score,
                {level}(o.id, o.name_key) AS name_level
         FROM {source} o
         WHERE o.id_status IN ({valid}, {upgraded})",
        method = super::direct::METHOD,
        score = super::direct::SCORE,
        level = super::direct::NAME,
        valid = quote(status::VALID),
        upgraded = quote(status::UPGRADED15),
    )
}

/// Every other observation (a few in a hundred), in one pass over them: a
/// bad ID looked up among the repairs, then (as a missing one) by name and
/// birth date, the rest unlinked. An ID that Excel's scientific notation
/// destroyed still says which numbers it could have been: a person whose
/// number its kept digits contradict (another county's, another year's)
/// is not the row's, whatever the name and birth date. The data-quality outputs DQ01, DQ03 and
/// DQ04 are drawn from these rows alone, without reading the linked ones.
/// Each join is guarded by the statuses it serves and matches a row once at
/// most; a repair goes before name and birth date.
pub(crate) fn resolved_other() -> String {
    let bad = quote(status::BAD_CHECK);
    let repaired_score: String = REPAIRED_SCORES
        .iter()
        .map(|(_, score, rank)| format!(" WHEN {rank} THEN {}", f64_sql(*score)))
        .collect();
    let repaired_level: String = REPAIRED_SCORES
        .iter()
        .map(|(label, _, rank)| format!(" WHEN {rank} THEN {}", quote(label)))
        .collect();
    format!(
        "SELECT {RESOLVED_ROW},
                COALESCE(r.person_id, nb.person_id) AS person_id,
                CASE WHEN r.person_id IS NOT NULL THEN {repaired}
                     WHEN nb.person_id IS NOT NULL THEN {name_birth}
                     ELSE {unlinked} END AS method,
                CASE WHEN r.person_id IS NOT NULL THEN CASE r.rank{repaired_score} END
                     WHEN nb.level = {same} THEN {s_name_birth}
                     WHEN nb.person_id IS NOT NULL THEN {s_name_birth_homophone}
                     ELSE {s_unlinked} END AS score,
                CASE WHEN r.person_id IS NOT NULL THEN CASE r.rank{repaired_level} END
                     WHEN nb.person_id IS NOT NULL THEN nb.level
                     END AS name_level
         FROM {OBS_OTHER} o
         LEFT JOIN {REPAIRS} r
           ON r.bad_id = o.id AND r.name_key = o.name_key
              AND r.birth_key = coalesce(o.birth, '') AND o.id_status = {bad}
         LEFT JOIN {NAME_BIRTH} nb
           ON nb.name = o.name AND nb.birth = o.birth AND o.id_status IN {name_birth_statuses}
              AND CASE WHEN o.id_status = {sci} THEN nb.id_raw = o.id_raw
                       ELSE nb.id_raw IS NULL END
         WHERE o.id_status IS NULL OR o.id_status NOT IN ({valid}, {upgraded})",
        valid = quote(status::VALID),
        upgraded = quote(status::UPGRADED15),
        repaired = quote(Method::Repaired.label()),
        name_birth = quote(Method::NameBirth.label()),
        unlinked = quote(Method::Unlinked.label()),
        s_name_birth = f64_sql(Method::NameBirth.score()),
        s_name_birth_homophone = f64_sql(SCORE_NAME_BIRTH_HOMOPHONE),
        s_unlinked = f64_sql(Method::Unlinked.score()),
        same = quote(LEVEL_SAME),
        name_birth_statuses = name_birth_statuses(),
        sci = quote(status::SCI_NOTATION),
    )
}

/// links.csv: the primary ID of every department row (sorted when it is
/// written: [`links_sorted`]).
pub(crate) fn links() -> String {
    format!(
        "SELECT extract, file, \"row\", raw_id, raw_name, person_id, method, score, \"_ord\"
         FROM {RESOLVED}
         WHERE field = 'id_number' AND extract <> 'roster'"
    )
}

/// One extract's rows of the links table ([`links`]), in no order: its own
/// resolved IDs' primary ID rows, so that on disk it reads that extract's
/// work files only. links.csv is these in extract name order, each ordered
/// by `_ord` ([`super::OrderedLinks`]).
pub fn links_of(extract: &str) -> String {
    format!(
        "SELECT extract, file, \"row\", raw_id, raw_name, person_id, method, score, \"_ord\"
         FROM {view} WHERE field = 'id_number'",
        view = ident(&super::tables::resolved_ids_of(extract)),
    )
}

/// The links table in links.csv's order, as one query: by extract name,
/// then `_ord`, the extract sorted by its rank among the (few, known)
/// extract names. The writers take [`links_of`] each extract instead; this
/// is the order they are held to.
pub fn links_sorted() -> String {
    let mut names: Vec<&str> = crate::extract::EXTRACTS.iter().map(|d| d.name).collect();
    names.sort_unstable();
    let arms: String = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!(" WHEN {} THEN {i}", quote(n)))
        .collect();
    format!(
        "SELECT extract, file, \"row\", raw_id, raw_name, person_id, method, score, \"_ord\"
         FROM {LINKS} ORDER BY CASE extract{arms} END, \"_ord\""
    )
}

/// The columns of [`resolved_ids`].
const RESOLVED_IDS_COLUMNS: &str = "extract, \"_ord\", field, person_id, method, score, \
     name_level, id_status, \"_dup\", file, \"row\", raw_id, raw_name, name";

/// Every ID field of every row (roster included), for the rules to join.
pub(crate) fn resolved_ids() -> String {
    format!("SELECT {RESOLVED_IDS_COLUMNS} FROM {RESOLVED}")
}

/// [`resolved_ids`] of one extract's rows: its own linked table and its
/// few other rows.
pub(crate) fn resolved_ids_of(extract: &str) -> String {
    format!(
        "SELECT {RESOLVED_IDS_COLUMNS} FROM {linked}
         UNION ALL
         SELECT {RESOLVED_IDS_COLUMNS} FROM {RESOLVED_OTHER} WHERE extract = {extract}",
        linked = ident(&linked_of(extract)),
        extract = quote(extract),
    )
}

/// The union of tables of the same columns (the second of each pair), or,
/// when there are none, no rows of `query`'s columns (a query that gives
/// the same columns: it reads nothing more).
pub(crate) fn union_of(tables: &[(&str, String)], query: &str) -> String {
    if tables.is_empty() {
        return format!("SELECT * FROM ({query}) WHERE false");
    }
    tables
        .iter()
        .map(|(_, t)| format!("SELECT * FROM {}", ident(t)))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// DQ01 candidates, one per source row (duplicates once): rows whose ID
/// number is invalid (a bad check character or date, or malformed) and was
/// not repaired, whether or not name + birth date then linked the record;
/// and rows whose ID is missing (empty, or a placeholder such as `无` or
/// `/`, in the primary ID column: a second one such as a guardian's is
/// often empty) that nothing linked. A record that stays unlinked is
/// flagged, so that nothing it holds is silently lost to the rules. Every
/// source row counts, one that a later, different row of its key replaces
/// too: the file holds that bad ID. (A row that a later file issues again
/// value for value is one record with its copy: the findings are made from
/// its first copy alone, in `run::finding_rows`.)
pub(crate) fn dq01_invalid_id() -> String {
    format!(
        "SELECT extract, file, \"row\", \"_ord\", field, raw_id, raw_name, id_status, method
         FROM {RESOLVED_OTHER}
         WHERE ((id_status IN ({bad}, {malformed}) AND method <> {repaired})
                OR (id_status = {empty} AND field = 'id_number' AND method = {unlinked}))
           AND NOT \"_dup\"
         ORDER BY extract, \"_ord\", field",
        bad = quote(status::BAD_CHECK),
        malformed = quote(status::MALFORMED),
        empty = quote(status::EMPTY),
        repaired = quote(Method::Repaired.label()),
        unlinked = quote(Method::Unlinked.label()),
    )
}

/// DQ02's suspects: every known name of each person with a name that is not
/// a variant of the name the person is best known by (few rows: the one
/// pass of the name test over the known names of the persons known by two
/// names or more: one name's ways of being written all agree with it).
/// See [`dq02_name_conflict`].
pub(crate) fn dq02_suspects() -> String {
    format!(
        "SELECT k.person_id, k.name, k.name_raw FROM {KNOWN} k
         WHERE k.person_id IN (
            SELECT k2.person_id FROM {KNOWN} k2 JOIN {PERSONS} p
              ON p.person_id = k2.person_id
            WHERE p.names > 1 AND name_agrees(k2.name_raw, p.name_raw) = {disagree})",
        disagree = quote(LEVEL_DISAGREE),
    )
}

/// DQ02: ID numbers that carry a name that is not a variant of the name the
/// person is best known by, with the names and every source row that
/// carries the ID. Two typos of one name agree with it, not with each
/// other, and when no row is more frequent the name best known by may be
/// one of the typos (邓峰策 and 邓枫厕 for 邓枫策): of the suspects
/// ([`dq02_suspects`]) an ID is not a conflict while one of its names
/// agrees with every other (a centre), only when none does. So too beside
/// a roster's name: 王晓鸣 beside the roster's 王小明 and a row's 王晓明
/// (each character sounding as the roster's does) is a name typed by ear
/// twice over, not another person's.
pub(crate) fn dq02_name_conflict() -> String {
    format!(
        "WITH centres AS (
            SELECT a.person_id, a.name_raw FROM {DQ02_SUSPECTS} a
            JOIN {DQ02_SUSPECTS} b ON b.person_id = a.person_id
            GROUP BY a.person_id, a.name_raw
            HAVING sum(CASE WHEN name_agrees(b.name_raw, a.name_raw) = {disagree}
                            THEN 1 ELSE 0 END) = 0),
         names AS (
            SELECT s.person_id, string_agg(DISTINCT s.name, '、' ORDER BY s.name) AS names
            FROM {DQ02_SUSPECTS} s
            WHERE NOT EXISTS (SELECT 1 FROM centres c WHERE c.person_id = s.person_id)
            GROUP BY s.person_id),
         source_rows AS (
            SELECT DISTINCT r.person_id, r.extract, r.\"_ord\",
                   concat(r.extract, ':', r.file, ':', r.\"row\") AS source
            FROM {RESOLVED_LINKED} r JOIN names c ON c.person_id = r.person_id
            WHERE r.id_status IN {linked} AND NOT r.\"_dup\"),
         sources AS (
            SELECT person_id,
                   string_agg(source, ';' ORDER BY extract, \"_ord\") AS sources,
                   count(*) AS n_sources
            FROM source_rows
            GROUP BY person_id)
         SELECT n.person_id AS id_number, p.name AS known_name, n.names, s.sources, s.n_sources
         FROM names n
         JOIN {PERSONS} p ON p.person_id = n.person_id
         JOIN sources s ON s.person_id = n.person_id
         ORDER BY n.person_id",
        disagree = quote(LEVEL_DISAGREE),
        linked = linked_statuses(),
    )
}

/// DQ03: rows whose ID was repaired, with the person's known name.
pub(crate) fn dq03_repaired_id() -> String {
    format!(
        "SELECT r.person_id AS id_number, r.raw_id, r.raw_name, p.name AS known_name,
                r.name_level, r.score, r.extract, r.file, r.\"row\", r.\"_ord\", r.field
         FROM {RESOLVED_OTHER} r LEFT JOIN {PERSONS} p ON p.person_id = r.person_id
         WHERE r.method = {repaired} AND NOT r.\"_dup\"
         ORDER BY r.person_id, r.extract, r.\"_ord\", r.field",
        repaired = quote(Method::Repaired.label()),
    )
}

/// DQ04: rows whose ID was destroyed by scientific notation (with the person
/// when name_birth found one).
pub(crate) fn dq04_sci_notation() -> String {
    format!(
        "SELECT extract, file, \"row\", \"_ord\", field, raw_id, raw_name, person_id, method
         FROM {RESOLVED_OTHER}
         WHERE id_status = {sci} AND NOT \"_dup\"
         ORDER BY extract, \"_ord\", field",
        sci = quote(status::SCI_NOTATION),
    )
}

/// The persons table handed to the rules, sorted.
pub(crate) fn persons_sorted() -> String {
    format!("SELECT person_id, name, name_raw FROM {PERSONS} ORDER BY person_id")
}
