//! Record keys after repair. The read stage keys each row by its ID number
//! as written (normalised); a row whose check character was wrong keys under
//! that wrong number. Once resolution has repaired it, it belongs to a
//! person, and its record key is that person's: a contribution month, a
//! pension month or an enrollment of the person that another row already
//! holds. Those rows are record-key conflicts like any other (the later row
//! in file order is the one the rules use; the pair is reported), not a
//! second month of wages or a second enrollment.

use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use super::levels::{Method, status};
use super::tables::RESOLVED_OTHER;
use crate::extract::ExtractDef;

/// The conflicts that repaired rows reveal in one extract: the rows they
/// make superseded (ascending `_ord`s) and the new pairs (replaced row,
/// later row), ordered by the later row.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RepairedKeys {
    pub superseded: Vec<u64>,
    pub pairs: Vec<(u64, u64)>,
}

/// The rows whose primary ID number was repaired, of every extract: extract,
/// `_ord`, person_id (exact duplicates aside: they have no key).
pub const REPAIRED_ROWS: &str = "_resolve_repaired_rows";

/// Registers [`REPAIRED_ROWS`] (few: a row in a hundred or less), read
/// once from the resolved rows for every extract's
/// [`repaired_key_conflicts`].
pub async fn register_repaired_rows(ctx: &SessionContext) -> Result<()> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    crate::engine::materialize(
        ctx,
        REPAIRED_ROWS,
        &format!(
            "SELECT extract, \"_ord\", person_id FROM {RESOLVED_OTHER}
             WHERE field = 'id_number' AND method = {repaired} AND NOT \"_dup\"",
            repaired = quote(Method::Repaired.label()),
        ),
    )
    .await
}

/// Whether an extract's record key holds its rows' ID number (and so
/// changes when the number is repaired). Not the roster's: two rows of one
/// member there are CB05, not a conflict.
pub fn keyed_by_id(def: &ExtractDef) -> bool {
    !def.is_roster() && def.key.contains(&"id_number")
}

/// The record-key conflicts of extract `def` (its rows in table `source`)
/// that its repaired rows reveal ([`REPAIRED_ROWS`], registered first):
/// each repaired row keyed by its person,
/// among the rows of the same key written with that person's own number
/// (valid or upgraded) and the other repaired rows. Within a key the rows
/// go in `_ord` order, each but the last superseded by the next; a pair is
/// new when the two rows were written with different numbers (the read
/// stage compared those written alike already). Exact duplicates
/// (`_dup`) have no key.
pub async fn repaired_key_conflicts(
    ctx: &SessionContext,
    def: &ExtractDef,
    source: &str,
) -> Result<RepairedKeys> {
    if !keyed_by_id(def) {
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
            FROM {source} t JOIN rep r ON r.\"_ord\" = t.\"_ord\"),
         keys AS (SELECT DISTINCT person_id, rest FROM rep_rows),
         persons AS (SELECT DISTINCT person_id FROM rep),
         cand AS (
            SELECT t.\"_ord\", t.id_number, {rest} AS rest FROM {source} t
            WHERE t.id_number IN (SELECT person_id FROM persons) AND NOT t.\"_dup\"
              AND t.id_number_status IN ({valid}, {upgraded})),
         same_key AS (
            SELECT c.\"_ord\", c.id_number AS written, c.id_number AS person_id, c.rest
            FROM cand c JOIN keys k ON k.person_id = c.id_number AND k.rest = c.rest),
         keyed AS (SELECT * FROM rep_rows UNION ALL SELECT * FROM same_key),
         ordered AS (
            SELECT \"_ord\", written,
                   lead(\"_ord\") OVER (PARTITION BY person_id, rest ORDER BY \"_ord\") AS next_ord,
                   lead(written) OVER (PARTITION BY person_id, rest ORDER BY \"_ord\") AS next_written
            FROM keyed)
         SELECT \"_ord\", next_ord, written IS DISTINCT FROM next_written AS new_pair
         FROM ordered WHERE next_ord IS NOT NULL
         ORDER BY next_ord, \"_ord\"",
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
    let mut out = RepairedKeys::default();
    for b in &batches {
        let ord = b.column(0).as_primitive::<UInt64Type>();
        let next = b.column(1).as_primitive::<UInt64Type>();
        let new_pair = b
            .column(2)
            .as_any()
            .downcast_ref::<BooleanArray>()
            .expect("a Boolean column");
        for i in 0..b.num_rows() {
            out.superseded.push(ord.value(i));
            if new_pair.is_valid(i) && new_pair.value(i) {
                out.pairs.push((ord.value(i), next.value(i)));
            }
        }
    }
    out.superseded.sort_unstable();
    out.superseded.dedup();
    Ok(out)
}
