//! Person resolution: who is who. Every ID field of every extract (the
//! roster's members and heads, each department's persons, the students'
//! guardians) is linked to a person — one 18-digit ID number — through
//! ordered comparison levels (`levels.rs`): exact, normalized, legacy15,
//! repaired, name_birth, else unlinked. The work is a set of DataFusion plans
//! (`plan.rs`) over the registered extract tables; only the name-agreement
//! test is a kernel (the `name_agrees` UDF of `engine.rs`).
//!
//! The person universe is every valid or upgraded ID seen anywhere, with the
//! names it was seen with. A valid ID always links, even when its name
//! disagrees (the score drops and DQ02 reports the ID); repair and
//! name_birth link only when exactly one known person qualifies.

mod direct;
pub mod levels;
mod order;
mod plan;
pub mod rekey;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::array::{Array, Int64Array, StringArray, StringBuilder, UInt64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

use crate::engine::{materialize, query_batch, register_batch, register_batches};
pub(crate) use plan::ID_FIELDS;
use plan::ObsSource;

pub(crate) use direct::{DirectLevels, LinkedField, registered_levels};
pub use levels::Method;
pub use order::{OrderedLinks, in_runs};
pub use plan::{links_of, links_sorted};

/// Names of the tables resolution registers. The public ones are for the
/// rules and writers; `_resolve_*` are intermediate.
pub mod tables {
    /// links.csv rows (a view over the resolved rows; [`super::links_sorted`]
    /// gives them in output order): extract, file, row, raw_id, raw_name,
    /// person_id, method, score, _ord.
    pub const LINKS: &str = "links";
    /// Every ID field of every row, roster included (a view over the
    /// resolved rows): extract, _ord, field, person_id, method, score,
    /// name_level, id_status, _dup, file, row, raw_id, raw_name, name.
    pub const RESOLVED_IDS: &str = "resolved_ids";
    /// The person universe: person_id, name (normalised, the best-known
    /// one), name_raw; sorted by person_id.
    pub const PERSONS_OUT: &str = "persons";
    pub const DQ01: &str = "dq01_invalid_id";
    pub const DQ02: &str = "dq02_name_conflict";
    pub const DQ03: &str = "dq03_repaired_id";
    pub const DQ04: &str = "dq04_sci_notation";

    /// The observations: one per ID field of every row of every extract,
    /// a view over the extracts' tables. Its step gives the two that
    /// follow too.
    pub(crate) const OBS: &str = "_resolve_obs";
    /// The observations with a valid or upgraded ID (nearly all): a view.
    pub(crate) const OBS_LINKED: &str = "_resolve_obs_linked";
    /// Every other observation (a few in a hundred), a table of its own:
    /// the steps that link bad or missing IDs read these alone.
    pub(crate) const OBS_OTHER: &str = "_resolve_obs_other";
    pub(crate) const POSITIONS: &str = "_resolve_positions";
    /// Each (ID, name, name as written) of the linked observations,
    /// counted: the one scan of them before the direct levels.
    pub(crate) const SEEN: &str = "_resolve_seen";
    /// The names persons are known by: a view over SEEN.
    pub(crate) const KNOWN: &str = "_resolve_known";
    pub(crate) const PERSONS: &str = "_resolve_persons";
    /// The persons whose ID is unowned (`plan::unowned`): few.
    pub(crate) const UNOWNED: &str = "_resolve_unowned";
    pub(crate) const DIRECT: &str = "_resolve_direct";
    pub(crate) const CANDIDATES: &str = "_resolve_candidates";
    pub(crate) const REPAIRS: &str = "_resolve_repairs";
    pub(crate) const NAME_BIRTH: &str = "_resolve_name_birth";
    /// DQ02's suspects: the known names of persons with a disagreeing name.
    pub(crate) const DQ02_SUSPECTS: &str = "_resolve_dq02_suspects";
    /// The union of RESOLVED_LINKED and RESOLVED_OTHER (a view).
    pub(crate) const RESOLVED: &str = "_resolve_resolved";
    /// The resolved observations with a valid or upgraded ID: a view, the
    /// union of one per extract ([`linked_of`]).
    pub(crate) const RESOLVED_LINKED: &str = "_resolve_resolved_linked";
    /// Every other resolved observation: the few that DQ01, DQ03 and DQ04
    /// are drawn from.
    pub(crate) const RESOLVED_OTHER: &str = "_resolve_resolved_other";

    /// The linked observations of one extract's rows: a view over its
    /// table that looks each name's level up (`direct.rs`).
    pub(crate) fn linked_of(extract: &str) -> String {
        format!("{RESOLVED_LINKED}_{extract}")
    }

    /// One extract's rows of [`RESOLVED_IDS`] (a view), for attaching its
    /// persons: it reads that extract's rows only.
    pub fn resolved_ids_of(extract: &str) -> String {
        format!("{RESOLVED_IDS}_{extract}")
    }

    /// Dropped once resolution is done; RESOLVED, the views of the linked
    /// rows (over the extracts' own columns) and the table of the other
    /// rows stay under the views LINKS and RESOLVED_IDS.
    pub(crate) const INTERMEDIATE: [&str; 13] = [
        OBS,
        OBS_LINKED,
        OBS_OTHER,
        POSITIONS,
        SEEN,
        KNOWN,
        PERSONS,
        UNOWNED,
        DIRECT,
        CANDIDATES,
        REPAIRS,
        NAME_BIRTH,
        DQ02_SUSPECTS,
    ];
}

/// The outcome of resolution, each batch sorted by a total order. The same
/// batches are registered on the context under the names in [`tables`],
/// beside the two row-level tables that are too large to hand around and
/// stay in the engine: [`tables::LINKS`] and [`tables::RESOLVED_IDS`].
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Rows of links.csv (table [`tables::LINKS`]): one per department row
    /// (not the roster), duplicates included: extract, file, row, raw_id,
    /// raw_name, person_id (nullable), method, score, _ord.
    pub links: u64,
    /// The person universe: person_id, name, name_raw.
    pub persons: RecordBatch,
    /// DQ01: extract, file, row, _ord, field, raw_id, raw_name, id_status,
    /// method — one per source row whose ID is bad_check or malformed and
    /// was not repaired, or empty (in the primary column) and stayed
    /// unlinked (duplicates once; see `plan::dq01_invalid_id`).
    pub dq01_invalid_id: RecordBatch,
    /// DQ02: id_number, known_name, names (distinct normalised names joined
    /// by 、), sources (`extract:file:row` joined by `;`), n_sources — one per
    /// ID number whose names are not all variants of each other.
    pub dq02_name_conflict: RecordBatch,
    /// DQ03: id_number (the repaired person), raw_id, raw_name, known_name,
    /// name_level, score, extract, file, row, _ord, field — one per repaired
    /// source row.
    pub dq03_repaired_id: RecordBatch,
    /// DQ04: extract, file, row, _ord, field, raw_id, raw_name, person_id
    /// (when name_birth found one), method — one per source row.
    pub dq04_sci_notation: RecordBatch,
    /// How much work blocking made.
    pub blocking: BlockingStats,
}

/// Counts that price the blocking (Splink style): logged on every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockingStats {
    /// Distinct IDs with a wrong check character.
    pub bad_check_ids: u64,
    /// (bad ID, known person) pairs one substitution or swap apart: the
    /// pairs whose names are compared.
    pub repair_candidate_pairs: u64,
    /// ID cells without a usable ID that carry a birth date.
    pub name_birth_records: u64,
    /// Persons in the universe.
    pub persons: u64,
}

/// Resolves the persons of the extract tables named in `extracts` (already
/// registered on `ctx`, with the columns of the extract stage's contract),
/// registers the results as the tables in [`tables`] and returns them.
pub async fn resolve(ctx: &SessionContext, extracts: &[&str]) -> Result<Resolution> {
    let sources: Vec<(&str, &str)> = extracts.iter().map(|&e| (e, e)).collect();
    resolve_reading(ctx, &sources).await
}

/// [`resolve`], each extract's rows read from a table of its own: pairs of
/// (extract, table). The observations are views over those tables (no
/// copy of their rows is made), so the tables must hold the same rows
/// until the resolved ones are no longer read: a table registered anew
/// under that name later does not change what the views read, but on disk
/// its work files must stay.
pub async fn resolve_reading(ctx: &SessionContext, sources: &[(&str, &str)]) -> Result<Resolution> {
    register_positions(ctx)?;
    // Each extract's observations: one SELECT per ID field it carries.
    let mut by_extract: Vec<(String, Option<String>)> = Vec::new();
    for &(extract, table) in sources {
        let schema = ctx.table(table).await?.schema().as_arrow().clone();
        let has = |c: &str| schema.column_with_name(c).is_some();
        let mut selects = Vec::new();
        for (id_field, name_field) in ID_FIELDS {
            let id_cols = [
                id_field.to_string(),
                format!("{id_field}_raw"),
                format!("{id_field}_status"),
            ];
            if !id_cols.iter().all(|c| has(c)) {
                continue;
            }
            let src = ObsSource {
                extract,
                table,
                id_field,
                name_field: (has(name_field) && has(&format!("{name_field}_raw")))
                    .then_some(name_field),
                birth_date: id_field == "id_number" && has("birth_date"),
            };
            selects.push(plan::observations_select(&src));
        }
        // An extract without an ID field has no observations; its
        // resolved views are there all the same, empty.
        let sql = (!selects.is_empty()).then(|| selects.join("\nUNION ALL\n"));
        by_extract.push((extract.to_string(), sql));
    }
    let with_ids: Vec<&str> = by_extract
        .iter()
        .filter_map(|(_, sql)| sql.as_deref())
        .collect();
    let observations = if with_ids.is_empty() {
        plan::observations_empty()
    } else {
        with_ids.join("\nUNION ALL\n")
    };

    use tables::*;
    let steps = steps(observations);
    let by_extract = Arc::new(by_extract);
    for wave in waves(&steps)? {
        let jobs = wave
            .into_iter()
            .map(|(name, sql)| {
                let (ctx, by_extract) = (ctx.clone(), by_extract.clone());
                async move { resolve_step(&ctx, name, &sql, &by_extract).await }
            })
            .collect();
        crate::engine::side_by_side(ctx, crate::engine::Jobs::CopyTables, jobs).await?;
    }

    let blocking = blocking_stats(ctx).await?;
    tracing::info!(
        bad_check_ids = blocking.bad_check_ids,
        repair_candidate_pairs = blocking.repair_candidate_pairs,
        name_birth_records = blocking.name_birth_records,
        persons = blocking.persons,
        "resolve blocking"
    );
    // The row-level tables stay in the engine as views over the resolved
    // rows, themselves views over the extracts' own columns (on disk, the
    // work files of a session that keeps its tables there): no copy of
    // either. links.csv is written from each extract's links in turn
    // (plan::links_of).
    for (name, sql) in [(LINKS, plan::links()), (RESOLVED_IDS, plan::resolved_ids())] {
        create_view(ctx, name, &sql).await?;
    }
    for &(extract, _) in sources {
        create_view(
            ctx,
            &resolved_ids_of(extract),
            &plan::resolved_ids_of(extract),
        )
        .await?;
    }
    let start = std::time::Instant::now();
    materialize(ctx, DQ02_SUSPECTS, &plan::dq02_suspects()).await?;
    tracing::debug!(
        table = DQ02_SUSPECTS,
        seconds = start.elapsed().as_secs_f64(),
        "resolve step"
    );
    // Five queries that only read, the persons' sort among them: side by
    // side on a small input (at a county, 0.57 s against 0.54 s).
    let jobs = [
        (PERSONS_OUT, plan::persons_sorted()),
        (DQ01, plan::dq01_invalid_id()),
        (DQ02, plan::dq02_name_conflict()),
        (DQ03, plan::dq03_repaired_id()),
        (DQ04, plan::dq04_sci_notation()),
    ]
    .into_iter()
    .map(|(name, sql)| {
        let ctx = ctx.clone();
        async move {
            let start = std::time::Instant::now();
            let batch = query_batch(&ctx, &sql).await?;
            tracing::debug!(
                table = name,
                seconds = start.elapsed().as_secs_f64(),
                "resolve output"
            );
            Ok(batch)
        }
    })
    .collect();
    let outputs = crate::engine::side_by_side(ctx, crate::engine::Jobs::CopyTables, jobs).await?;
    let links = count_rows(ctx, LINKS).await?;
    let mut outputs = outputs.into_iter();
    let mut next = || outputs.next().expect("one batch per output");
    let resolution = Resolution {
        links,
        persons: next(),
        dq01_invalid_id: next(),
        dq02_name_conflict: next(),
        dq03_repaired_id: next(),
        dq04_sci_notation: next(),
        blocking,
    };
    for (name, batch) in [
        (PERSONS_OUT, &resolution.persons),
        (DQ01, &resolution.dq01_invalid_id),
        (DQ02, &resolution.dq02_name_conflict),
        (DQ03, &resolution.dq03_repaired_id),
        (DQ04, &resolution.dq04_sci_notation),
    ] {
        register_batch(ctx, name, batch.clone())?;
    }
    crate::engine::drop_tables(ctx, &INTERMEDIATE)?;
    Ok(resolution)
}

/// The steps of resolution: each table and the query that gives it (for
/// [`tables::CANDIDATES`], the two whose results it is computed from), from
/// the query of the observations.
fn steps(observations: String) -> Vec<(&'static str, String)> {
    use tables::*;
    vec![
        (OBS, observations),
        (SEEN, plan::seen_names()),
        (KNOWN, plan::known_names()),
        (PERSONS, plan::persons()),
        (UNOWNED, plan::unowned()),
        (DIRECT, plan::direct_levels()),
        (CANDIDATES, plan::repair_candidates()),
        (REPAIRS, plan::repairs()),
        (NAME_BIRTH, plan::name_birth()),
        (RESOLVED_OTHER, plan::resolved_other()),
        (RESOLVED_LINKED, plan::resolved_linked(OBS_LINKED)),
        (RESOLVED, plan::resolved()),
    ]
}

/// The steps of resolution in waves: each step in the first wave after
/// those of every table its query names (each runs once all the tables it
/// reads are there, the steps of one wave side by side as
/// [`crate::engine::side_by_side`] allows), in the order given within a
/// wave. Table names are found as whole words of the query.
fn waves(steps: &[(&'static str, String)]) -> Result<Vec<Vec<(&'static str, String)>>> {
    let names: Vec<&str> = steps.iter().map(|(name, _)| *name).collect();
    let reads: Vec<Vec<&str>> = steps
        .iter()
        .map(|(_, sql)| {
            sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                // The observations' step gives these two.
                .map(|word| match word {
                    tables::OBS_LINKED | tables::OBS_OTHER => tables::OBS,
                    // The kernels are built from the direct levels.
                    direct::NAME | direct::METHOD | direct::SCORE => tables::DIRECT,
                    word => word,
                })
                .collect()
        })
        .collect();
    let waves = crate::engine::waves(&names, &reads).ok_or_else(|| {
        datafusion::error::DataFusionError::Internal(
            "the steps of resolution read each other in a circle".into(),
        )
    })?;
    Ok(waves
        .into_iter()
        .map(|wave| wave.into_iter().map(|i| steps[i].clone()).collect())
        .collect())
}

/// Registers the table `name` of resolution from `sql`, as its step does:
/// it reads no table that `sql` does not name ([`waves`]). `by_extract`
/// holds each extract's observations as a query (none without an ID field).
async fn resolve_step(
    ctx: &SessionContext,
    name: &'static str,
    sql: &str,
    by_extract: &[(String, Option<String>)],
) -> Result<()> {
    use tables::*;
    let start = std::time::Instant::now();
    if name == OBS {
        // A view over the extracts' own columns: every scan reads those.
        // The few other observations are a table of their own: the steps
        // that link bad or missing IDs read those alone.
        create_view(ctx, OBS, sql).await?;
        create_view(ctx, OBS_LINKED, &plan::obs_linked()).await?;
        materialize(ctx, OBS_OTHER, &plan::obs_other()).await?;
    } else if name == CANDIDATES {
        register_candidates(ctx, sql).await?;
    } else if name == RESOLVED_LINKED {
        // Views, one per extract (attaching the persons and writing the
        // links read one extract's rows at a time), over its observations
        // and the direct levels' lookup.
        let direct = ctx.sql(&plan::direct_held()).await?.collect().await?;
        let levels = direct::DirectLevels::new(&direct)?;
        tracing::debug!(entries = levels.len(), "direct levels indexed");
        for udf in direct::LinkedUdf::udfs(levels) {
            ctx.register_udf(udf);
        }
        let mut tables = Vec::with_capacity(by_extract.len());
        for (extract, observations) in by_extract {
            let table = linked_of(extract);
            match observations {
                Some(observations) => {
                    let view = plan::resolved_linked(&format!("({observations})"));
                    create_view(ctx, &table, &view).await?;
                    tables.push((extract.as_str(), table));
                }
                // No rows, in the columns of all the others: the union
                // below leaves it out.
                None => create_view(ctx, &table, &plan::union_of(&[], sql)).await?,
            }
        }
        create_view(ctx, name, &plan::union_of(&tables, sql)).await?;
    } else if name == RESOLVED || name == KNOWN {
        create_view(ctx, name, sql).await?;
    } else {
        materialize(ctx, name, sql).await?;
    }
    tracing::debug!(
        table = name,
        seconds = start.elapsed().as_secs_f64(),
        "resolve step"
    );
    Ok(())
}

/// Drops the views of every extract's resolved rows at once ([`tables::LINKS`],
/// [`tables::RESOLVED_IDS`] and those under them), leaving each extract's
/// own ([`tables::resolved_ids_of`]): once these go, what one extract's
/// rows hold (in memory its table) is freed with its own views.
pub fn drop_whole_views(ctx: &SessionContext) -> Result<()> {
    use tables::*;
    crate::engine::drop_tables(ctx, &[LINKS, RESOLVED_IDS, RESOLVED, RESOLVED_LINKED])
}

/// Registers `sql` as the view `name` (replacing a table of that name).
async fn create_view(ctx: &SessionContext, name: &str, sql: &str) -> Result<()> {
    ctx.deregister_table(name)?;
    ctx.sql(&format!("CREATE VIEW {name} AS {sql}"))
        .await?
        .collect()
        .await?;
    Ok(())
}

/// The number of rows of a registered table.
pub async fn count_rows(ctx: &SessionContext, table: &str) -> Result<u64> {
    let batch = query_batch(ctx, &format!("SELECT count(*) AS n FROM \"{table}\"")).await?;
    let n = cast(batch.column(0), &DataType::UInt64)?;
    let n = n.as_any().downcast_ref::<UInt64Array>().expect("UInt64");
    Ok(if n.is_empty() { 0 } else { n.value(0) })
}

async fn blocking_stats(ctx: &SessionContext) -> Result<BlockingStats> {
    let batch = query_batch(ctx, &plan::blocking_stats()).await?;
    let count = |column: &str| -> Result<u64> {
        let array = cast(
            batch.column_by_name(column).expect("a stats column"),
            &DataType::UInt64,
        )?;
        let array = array
            .as_any()
            .downcast_ref::<UInt64Array>()
            .expect("UInt64");
        Ok(if array.is_empty() || array.is_null(0) {
            0
        } else {
            array.value(0)
        })
    };
    Ok(BlockingStats {
        bad_check_ids: count("bad_check_ids")?,
        repair_candidate_pairs: count("repair_candidate_pairs")?,
        name_birth_records: count("name_birth_records")?,
        persons: count("persons")?,
    })
}

/// An 18-character ID number (17 digits and a check digit or `X`) as one
/// integer, for a set of them; `None` for anything else.
fn id_key(id: &str) -> Option<u64> {
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let check = match b[17] {
        b'X' => 10,
        c @ b'0'..=b'9' => u64::from(c - b'0'),
        _ => return None,
    };
    let body = b[..17]
        .iter()
        .fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'));
    Some(body * 11 + check)
}

/// Blocking for repair ([`plan::repair_candidates`]): bad_id, person_id for
/// every known person whose ID is a neighbour with a right check character
/// ([`crate::normalize::id::check_valid_neighbours`]) of a bad ID, in the
/// order of both. `sql` is the query of the distinct bad IDs, `;`, that of
/// the distinct known IDs. The neighbours are looked up in a set of the
/// known IDs, not joined with them: a join held every neighbour (fifteen a
/// bad ID) as a table and built its hash table from them, which took 4–5 s
/// of a county run whose largest extract had an ID digit wrong on one row
/// in seven (0.2 s with one in a hundred).
async fn register_candidates(ctx: &SessionContext, sql: &str) -> Result<()> {
    use rayon::prelude::*;
    let (bad_ids, known_ids) = sql
        .split_once(';')
        .expect("the bad IDs' query, then the known IDs'");
    let bad = direct::strings(query_batch(ctx, bad_ids).await?.column(0))?;
    // A batch without bad IDs needs no set of the known ones.
    let known = if bad.is_empty() {
        StringArray::new_null(0)
    } else {
        direct::strings(query_batch(ctx, known_ids).await?.column(0))?
    };
    let known: hashbrown::HashSet<u64, foldhash::fast::FixedState> =
        known.iter().flatten().filter_map(id_key).collect();
    let found: Vec<(&str, Vec<String>)> = (0..bad.len())
        .into_par_iter()
        .filter(|&i| bad.is_valid(i))
        .filter_map(|i| {
            let id = bad.value(i);
            let mut persons: Vec<String> = crate::normalize::id::check_valid_neighbours(id)
                .into_iter()
                .filter(|k| k != id && id_key(k).is_some_and(|k| known.contains(&k)))
                .collect();
            persons.sort_unstable();
            persons.dedup();
            (!persons.is_empty()).then_some((id, persons))
        })
        .collect();
    let mut bad_ids = StringBuilder::new();
    let mut persons = StringBuilder::new();
    for (id, found) in &found {
        for person in found {
            bad_ids.append_value(id);
            persons.append_value(person);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("bad_id", DataType::Utf8, false),
        Field::new("person_id", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(bad_ids.finish()), Arc::new(persons.finish())],
    )?;
    register_batches(ctx, tables::CANDIDATES, schema, vec![batch])
}

/// Positions 1–18 of an ID number, for the observation table's empty form.
fn register_positions(ctx: &SessionContext) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![Field::new("p", DataType::Int64, false)]));
    let positions = Int64Array::from_iter_values(1..=18);
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(positions)])?;
    register_batches(ctx, tables::POSITIONS, schema, vec![batch])
}

#[cfg(test)]
mod tests;
