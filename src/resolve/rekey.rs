//! Record keys after repair. The read stage keys each row by its ID number
//! as written (normalised); a row whose check character was wrong keys under
//! that wrong number, and a row without a usable number under none. Once
//! resolution has repaired it (or linked it by name and birth date), it
//! belongs to a person, and its record key is that person's: a contribution month, a
//! pension month or an enrollment of the person that another row already
//! holds. Those rows are record-key conflicts like any other (the later row
//! in file order is the one the rules use; the pair is reported), not a
//! second month of wages or a second enrollment.

use std::collections::{BTreeSet, HashMap};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use super::levels::{Method, status};
use super::tables::RESOLVED_OTHER;
use crate::extract::ExtractDef;

/// The conflicts that repaired rows reveal in one extract: the rows they
/// make superseded (ascending `_ord`s), those they bring back into force,
/// the read stage's pairs (replaced row, later row) that no longer follow
/// one another, and the pairs that replace them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RepairedKeys {
    pub superseded: Vec<u64>,
    /// Rows the read stage took for replaced by a row outside their key
    /// that are in force after all (ascending `_ord`s).
    pub restored: Vec<u64>,
    pub dropped: Vec<(u64, u64)>,
    pub pairs: Vec<(u64, u64)>,
}

/// The rows whose primary ID number was repaired, or which name and birth
/// date linked (a student without a usable number), of every extract:
/// extract, `_ord`, person_id (exact duplicates aside: they have no key).
pub const REPAIRED_ROWS: &str = "_resolve_repaired_rows";

/// Registers [`REPAIRED_ROWS`] (few: a row in a hundred or less), read
/// once from the resolved rows for every extract's
/// [`repaired_key_conflicts`], and gives the extracts that have any: the
/// others' keys are as the read stage found them, and need no query (on a
/// small batch each took some 10–20 ms, most of it planning).
pub async fn register_repaired_rows(ctx: &SessionContext) -> Result<BTreeSet<String>> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    crate::engine::materialize(
        ctx,
        REPAIRED_ROWS,
        &format!(
            "SELECT extract, \"_ord\", person_id FROM {RESOLVED_OTHER}
             WHERE field = 'id_number' AND method IN ({repaired}, {name_birth})
               AND NOT \"_dup\"",
            repaired = quote(Method::Repaired.label()),
            name_birth = quote(Method::NameBirth.label()),
        ),
    )
    .await?;
    let mut with_repairs = BTreeSet::new();
    let sql = format!("SELECT DISTINCT CAST(extract AS VARCHAR) FROM {REPAIRED_ROWS}");
    for b in ctx.sql(&sql).await?.collect().await? {
        with_repairs.extend(
            b.column(0)
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_string),
        );
    }
    Ok(with_repairs)
}

/// Whether an extract's record key holds its rows' ID number (and so
/// changes when the number is repaired). Not the roster's: two rows of one
/// member there are CB05, not a conflict.
pub fn keyed_by_id(def: &ExtractDef) -> bool {
    !def.is_roster() && def.key.contains(&"id_number")
}

/// The record-key conflicts of extract `def` (its rows in table `source`)
/// that its repaired rows reveal ([`REPAIRED_ROWS`], registered first):
/// each repaired row keyed by its person, among the rows of the same key
/// written with that person's own number (valid or upgraded) and the other
/// repaired rows; `existing` are the read stage's pairs of the extract and
/// `dups` its exact duplicates (duplicate, original: `_ord`s ascending);
/// `with_repairs` are the extracts that have repaired rows, as
/// [`register_repaired_rows`] gave them.
/// See [`rechain`]. Exact duplicates (`_dup`) have no key: each joins the
/// key of the row it repeats, written as it is. The small side
/// of each join is written first: a hash join builds its left side, and a
/// table on disk has no row count to swap them by (built on the extract,
/// a city's contribution rows would be held in memory).
pub async fn repaired_key_conflicts(
    ctx: &SessionContext,
    def: &ExtractDef,
    source: &str,
    existing: &[(u64, u64)],
    dups: &[(u64, u64)],
    with_repairs: &BTreeSet<String>,
) -> Result<RepairedKeys> {
    if !keyed_by_id(def) || !with_repairs.contains(def.name) {
        return Ok(RepairedKeys::default());
    }
    let parts: Vec<String> = def
        .key
        .iter()
        .filter(|&&k| k != "id_number")
        .map(|k| format!("coalesce(CAST(t.\"{k}\" AS VARCHAR), '')"))
        .collect();
    let rest = if parts.is_empty() {
        "''".to_string()
    } else {
        format!("concat({})", parts.join(", chr(1), "))
    };
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let sql = format!(
        "WITH rep AS (SELECT \"_ord\", person_id FROM {REPAIRED_ROWS} WHERE extract = {extract}),
         rep_rows AS (
            SELECT t.\"_ord\", t.id_number AS written, r.person_id, {rest} AS rest
            FROM rep r JOIN {source} t ON t.\"_ord\" = r.\"_ord\"),
         keys AS (SELECT DISTINCT person_id, rest FROM rep_rows),
         persons AS (SELECT DISTINCT person_id FROM rep),
         cand AS (
            SELECT t.\"_ord\", t.id_number, {rest} AS rest
            FROM persons p JOIN {source} t ON t.id_number = p.person_id
            WHERE NOT t.\"_dup\" AND t.id_number_status IN ({valid}, {upgraded})),
         same_key AS (
            SELECT c.\"_ord\", c.id_number AS written, c.id_number AS person_id, c.rest
            FROM keys k JOIN cand c ON c.id_number = k.person_id AND c.rest = k.rest)
         SELECT person_id, rest, \"_ord\", written
         FROM (SELECT * FROM rep_rows UNION ALL SELECT * FROM same_key)
         ORDER BY person_id, rest, \"_ord\"",
        extract = quote(def.name),
        valid = quote(status::VALID),
        upgraded = quote(status::UPGRADED15),
    );
    let start = std::time::Instant::now();
    let batches: Vec<RecordBatch> = ctx.sql(&sql).await?.collect().await?;
    tracing::debug!(
        extract = def.name,
        seconds = start.elapsed().as_secs_f64(),
        "repaired rows keyed"
    );
    let mut groups: Vec<Vec<(u64, Option<String>)>> = Vec::new();
    let mut last_key: Option<(String, String)> = None;
    for b in &batches {
        let (person, rest) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_string::<i32>(),
        );
        let ord = b.column(2).as_primitive::<UInt64Type>();
        let written = b.column(3).as_string::<i32>();
        for i in 0..b.num_rows() {
            let key = (person.value(i).to_string(), rest.value(i).to_string());
            if last_key.as_ref() != Some(&key) {
                groups.push(Vec::new());
                last_key = Some(key);
            }
            let w = written.is_valid(i).then(|| written.value(i).to_string());
            groups.last_mut().expect("a group").push((ord.value(i), w));
        }
    }
    // The duplicates of the groups' rows (few: those of repaired rows and
    // of their persons' rows of the same keys).
    let mut originals: HashMap<u64, u64> = HashMap::new();
    if !dups.is_empty() && !groups.is_empty() {
        let in_groups: std::collections::HashSet<u64> =
            groups.iter().flatten().map(|(o, _)| *o).collect();
        let mut of_original: HashMap<u64, Vec<u64>> = HashMap::new();
        for &(dup, original) in dups.iter().filter(|(_, o)| in_groups.contains(o)) {
            of_original.entry(original).or_default().push(dup);
            originals.insert(dup, original);
        }
        for group in &mut groups {
            let repeats: Vec<(u64, Option<String>)> = group
                .iter()
                .flat_map(|(o, w)| {
                    let dups = of_original.get(o).map_or(&[][..], Vec::as_slice);
                    dups.iter().map(move |&d| (d, w.clone()))
                })
                .collect();
            group.extend(repeats);
            group.sort_unstable();
        }
    }
    Ok(rechain(&groups, existing, &originals))
}

/// Chains the rows of each re-keyed record key (`_ord` ascending, with the
/// ID number as written) as the read stage chains a key's rows: each row
/// but the last superseded by the next, and a pair reported where the two
/// differ. Rows written alike were compared by the read stage: they are a
/// pair when it paired them (`existing`), a repeat (a later file issuing a
/// row again) when it did not. Rows written differently are a pair, unless
/// the later one repeats an earlier row written as it is (a file issued
/// again: A, R in one file, A, R again in the next, is one conflict). A
/// row the read stage replaced by a row outside the key (a later row of its
/// wrong number that was not repaired to this person: another person's
/// record, or no one's) was not replaced: that pair is dropped, and the row
/// is `restored` when nothing of its key comes after it. An exact
/// duplicate (`originals`: duplicate → the row it repeats) stands for its
/// original, as in the read stage: coming after another row of the key it
/// brings the original back into force (A, R, A again within one file: the
/// rules use A; A, R and R, A again are both pairs). The read
/// stage's pairs within the key that no longer follow one another are
/// dropped; `pairs` are the ones it did not have.
pub fn rechain(
    groups: &[Vec<(u64, Option<String>)>],
    existing: &[(u64, u64)],
    originals: &HashMap<u64, u64>,
) -> RepairedKeys {
    use std::collections::BTreeMap;
    let next_of: HashMap<u64, u64> = existing.iter().copied().collect();
    let paired: BTreeSet<(u64, u64)> = existing.iter().copied().collect();
    let rep = |o: u64| originals.get(&o).copied().unwrap_or(o);
    // The read stage's pair that replaced a row: its own, or for a
    // duplicate without one (it stood for its original), the original's
    // when that came after it (A, A again, then X replaced A: the second A
    // went with the first; A, X, A again brought A back).
    let replaced_by = |o: u64| {
        next_of.get(&o).map(|&n| (o, n)).or_else(|| {
            let r = rep(o);
            (r != o)
                .then(|| next_of.get(&r).filter(|&&n| n > o).map(|&n| (r, n)))
                .flatten()
        })
    };
    let mut out = RepairedKeys::default();
    for group in groups {
        let members: BTreeSet<u64> = group.iter().map(|(o, _)| *o).collect();
        // The rows (originals) that a row outside the key replaced.
        let mut outside: BTreeSet<u64> = BTreeSet::new();
        for (o, _) in group {
            if let Some((first, n)) = replaced_by(*o)
                && !members.contains(&n)
            {
                out.dropped.push((first, n));
                outside.insert(rep(*o));
            }
        }
        let rows: Vec<&(u64, Option<String>)> = group.iter().collect();
        let mut chained = BTreeSet::new();
        // Whether row `at` repeats a row before it written alike (of another
        // file: a duplicate's original is the row it stands for).
        let repeat_of = |at: usize| {
            let (ord, written) = rows[at];
            rows[..at]
                .iter()
                .rev()
                .find(|(_, w)| w == written)
                .map(|(prev, _)| *prev)
                .filter(|prev| rep(*prev) != rep(*ord) && !paired.contains(&(*prev, *ord)))
        };
        // The rows that repeated an earlier one (a file issued again).
        let mut repeated: BTreeSet<u64> = BTreeSet::new();
        let file_of = |ord: u64| crate::extract::table::split_ord(ord).0;
        // Whether each row (an original) ends superseded.
        let mut superseded: BTreeMap<u64, bool> = BTreeMap::new();
        // The row in force: the last that did not stand for the one before it.
        let mut current = 0;
        for at in 1..rows.len() {
            let ((before, w0), (after, w1)) = (rows[current], rows[at]);
            if rep(*before) == rep(*after) {
                continue;
            }
            superseded.insert(rep(*before), true);
            superseded.insert(rep(*after), false);
            let pair = if w0 == w1 {
                paired.contains(&(*before, *after))
            } else {
                // A repeat is a file issued again, no conflict, unless the
                // row it replaces came in a later file than the row it
                // repeats and repeats none itself (A, then B, then A again
                // in three files: the second A replaced B), as the read
                // stage judges.
                match repeat_of(at) {
                    None => true,
                    Some(prev) => {
                        repeated.insert(*after);
                        file_of(*before) != file_of(prev) && !repeated.contains(before)
                    }
                }
            };
            if pair {
                chained.insert((*before, *after));
            }
            current = at;
        }
        out.restored.extend(
            outside
                .iter()
                .filter(|o| superseded.get(o) != Some(&true))
                .copied(),
        );
        out.superseded
            .extend(superseded.into_iter().filter(|&(_, s)| s).map(|(o, _)| o));
        // The read stage's pairs within the key, found from its members (a
        // walk of all the extract's pairs for every key, keys × pairs, took
        // 0.8 s of a county's resolve on one thread and 95 s of a city's).
        out.dropped.extend(
            members
                .iter()
                .flat_map(|&m| paired.range((m, 0)..=(m, u64::MAX)))
                .filter(|(_, b)| members.contains(b))
                .filter(|p| !chained.contains(p)),
        );
        out.pairs
            .extend(chained.into_iter().filter(|p| !paired.contains(p)));
    }
    out.superseded.sort_unstable();
    out.superseded.dedup();
    out.restored.sort_unstable();
    out.restored.dedup();
    out.dropped.sort_unstable();
    out.dropped.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::table::ord_of;

    fn rechain_plain(
        groups: &[Vec<(u64, Option<String>)>],
        existing: &[(u64, u64)],
    ) -> RepairedKeys {
        rechain(groups, existing, &HashMap::new())
    }

    fn group(rows: &[(u64, &str)]) -> Vec<(u64, Option<String>)> {
        rows.iter()
            .map(|(o, w)| (*o, Some(w.to_string())))
            .collect()
    }

    /// A correct row, a repaired one, a correct one again: two pairs in
    /// the order of the rows, the read stage's pair of the two correct rows
    /// dropped.
    #[test]
    fn a_repaired_row_between_two_rows_of_its_person() {
        let found = rechain_plain(&[group(&[(2, "A"), (3, "W"), (4, "A")])], &[(2, 4)]);
        assert_eq!(found.superseded, [2, 3]);
        assert_eq!(found.pairs, [(2, 3), (3, 4)]);
        assert_eq!(found.dropped, [(2, 4)]);
    }

    /// A file holding a correct and a repaired row of one month, then the
    /// same file issued again: one conflict, in the first file.
    #[test]
    fn a_file_issued_again_adds_no_conflict() {
        // 1: the first file's row; 10, 11: the second file's; 20, 21: its copy.
        let rows = group(&[(1, "A"), (10, "A"), (11, "W"), (20, "A"), (21, "W")]);
        let found = rechain_plain(&[rows], &[]);
        assert_eq!(found.superseded, [1, 10, 11, 20]);
        assert_eq!(found.pairs, [(10, 11)]);
        assert!(found.dropped.is_empty());
    }

    /// A row written again as it is within one file (an exact duplicate)
    /// after a repaired row of its key brings its original back into force:
    /// the repaired row is superseded, not the original, and the two steps
    /// are pairs. A duplicate right after its original changes nothing.
    #[test]
    fn a_duplicate_after_a_repaired_row_brings_its_original_back() {
        let dup_of = |pairs: &[(u64, u64)]| pairs.iter().copied().collect::<HashMap<_, _>>();
        let found = rechain(
            &[group(&[(1, "A"), (2, "W"), (3, "A")])],
            &[],
            &dup_of(&[(3, 1)]),
        );
        assert_eq!(found.superseded, [2]);
        assert_eq!(found.pairs, [(1, 2), (2, 3)]);
        assert!(found.dropped.is_empty());
        // The repaired row written twice around a correct one.
        let found = rechain(
            &[group(&[(1, "W"), (2, "A"), (3, "W")])],
            &[],
            &dup_of(&[(3, 1)]),
        );
        assert_eq!(found.superseded, [2]);
        assert_eq!(found.pairs, [(1, 2), (2, 3)]);
        // A duplicate before the repaired row: the original is replaced.
        let found = rechain(
            &[group(&[(1, "A"), (2, "A"), (3, "W")])],
            &[],
            &dup_of(&[(2, 1)]),
        );
        assert_eq!(found.superseded, [1]);
        assert_eq!(found.pairs, [(1, 3)]);
    }

    /// A repaired row written twice (an exact duplicate) that a later row
    /// of its wrong number, another person's, replaced in the read stage:
    /// the pair goes with the row and its duplicate, and the row is in
    /// force after the person's own. Written again after that other row
    /// (which it replaced in the read stage), the same.
    #[test]
    fn a_duplicate_of_a_row_replaced_outside_the_key_goes_with_it() {
        let dup_of = |pairs: &[(u64, u64)]| pairs.iter().copied().collect::<HashMap<_, _>>();
        let found = rechain(
            &[group(&[(0, "A"), (1, "W"), (2, "W")])],
            &[(1, 3)],
            &dup_of(&[(2, 1)]),
        );
        assert_eq!(found.superseded, [0]);
        assert_eq!(found.restored, [1]);
        assert_eq!(found.pairs, [(0, 1)]);
        assert_eq!(found.dropped, [(1, 3)]);
        // W, X, W again: X's replacing W goes; W is in force after A.
        let found = rechain(
            &[group(&[(0, "A"), (1, "W"), (4, "W")])],
            &[(1, 3), (3, 4)],
            &dup_of(&[(4, 1)]),
        );
        assert_eq!(found.superseded, [0]);
        assert_eq!(found.restored, [1]);
        assert_eq!(found.pairs, [(0, 1)]);
        assert_eq!(found.dropped, [(1, 3)]);
    }

    /// A row of one file, a repaired row in a second, the first row's
    /// values again in a third: both steps are conflicts (the third file's
    /// row replaced the repaired one), as for rows written alike.
    #[test]
    fn a_third_file_going_back_past_a_repaired_row_is_a_conflict() {
        let [a, w, a_again] = [ord_of(0, 0), ord_of(1, 0), ord_of(2, 0)];
        let rows = vec![
            (a, Some("A".to_string())),
            (w, Some("W".to_string())),
            (a_again, Some("A".to_string())),
        ];
        let found = rechain_plain(&[rows], &[]);
        assert_eq!(found.superseded, [a, w]);
        assert_eq!(found.pairs, [(a, w), (w, a_again)]);
    }

    /// A repaired row that the read stage replaced by a later row of the
    /// same wrong number that is not this person's (row 9: another
    /// person's record, or no one's) was not replaced: the pair goes, and
    /// the row is the person's row in force when it is his last.
    #[test]
    fn a_row_replaced_outside_the_key_is_chained_in_it() {
        let found = rechain_plain(&[group(&[(1, "A"), (2, "W")])], &[(2, 9)]);
        assert_eq!(found.superseded, [1]);
        assert_eq!(found.restored, [2]);
        assert_eq!(found.pairs, [(1, 2)]);
        assert_eq!(found.dropped, [(2, 9)]);
        // Alone in its key, too.
        let found = rechain_plain(&[group(&[(2, "W")])], &[(2, 9)]);
        assert_eq!(found.restored, [2]);
        assert_eq!(found.dropped, [(2, 9)]);
        // Followed by a row of the key, it stays replaced, by that row.
        let found = rechain_plain(&[group(&[(2, "W"), (5, "A")])], &[(2, 9)]);
        assert_eq!(found.superseded, [2]);
        assert!(found.restored.is_empty());
        assert_eq!(found.pairs, [(2, 5)]);
        // A later row of the wrong number that is this person's is in the key.
        let found = rechain_plain(&[group(&[(1, "A"), (2, "W"), (3, "W")])], &[(2, 3)]);
        assert_eq!(found.superseded, [1, 2]);
        assert_eq!(found.pairs, [(1, 2)]);
        assert!(found.dropped.is_empty() && found.restored.is_empty());
    }

    /// The extracts with repaired rows are those with a row repaired or
    /// linked by name and birth date on its primary ID; one whose only
    /// repair is of another field, or of an exact duplicate, has none, and
    /// its keys are left as read without a query.
    #[tokio::test]
    async fn only_extracts_with_repaired_primary_rows_are_rekeyed() {
        use datafusion::arrow::array::{BooleanArray, StringArray, UInt64Array};
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        use std::sync::Arc;
        let rows = [
            ("education", "id_number", Method::Repaired, false),
            ("pension", "id_number", Method::NameBirth, false),
            ("property", "co_owner_id", Method::Repaired, false),
            ("contribution", "id_number", Method::Repaired, true),
            ("housing_safety", "id_number", Method::Exact, false),
        ];
        let text = |f: fn(&(&str, &str, Method, bool)) -> String| {
            Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
        };
        let schema = Schema::new(vec![
            Field::new("extract", DataType::Utf8, false),
            Field::new("_ord", DataType::UInt64, false),
            Field::new("person_id", DataType::Utf8, false),
            Field::new("field", DataType::Utf8, false),
            Field::new("method", DataType::Utf8, false),
            Field::new("_dup", DataType::Boolean, false),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                text(|r| r.0.to_string()),
                Arc::new(UInt64Array::from_iter_values(0..rows.len() as u64)),
                text(|_| "110101199003078670".to_string()),
                text(|r| r.1.to_string()),
                text(|r| r.2.label().to_string()),
                Arc::new(BooleanArray::from_iter(rows.iter().map(|r| Some(r.3)))),
            ],
        )
        .unwrap();
        let ctx = crate::engine::session_with(2, None).unwrap();
        crate::engine::register_batch(&ctx, RESOLVED_OTHER, batch).unwrap();
        let with = register_repaired_rows(&ctx).await.unwrap();
        assert_eq!(with, BTreeSet::from(["education".into(), "pension".into()]));
        // An extract without repaired rows keeps the read stage's keys.
        let def = crate::extract::by_name("housing_safety").unwrap();
        assert!(keyed_by_id(def));
        let found = repaired_key_conflicts(&ctx, def, "no_such_table", &[(1, 2)], &[], &with)
            .await
            .unwrap();
        assert_eq!(found, RepairedKeys::default());
    }
}
