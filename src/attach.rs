//! Attaching the resolved persons to the extract tables: every extract
//! gains `person_id`, `person_method`, `person_score`, and
//! `head_person_id` (roster) / `guardian_person_id` (education), which the
//! rules read.
//!
//! Either way the extract's own columns are kept as they are and the person
//! columns are built beside them, batch by batch, with what the join of
//! [`attach_sql`] would give them: in memory ([`attach_persons`]), or on
//! disk as new column files of the same parts and batches
//! ([`attach_beside`]). A join would copy every column of every row.
//!
//! A row whose ID is valid or upgraded (nearly all) gets its person from
//! its own columns, as its linked view would give it ([`DirectPersons`]);
//! the others are looked up by `_ord` among the resolved other rows, in an
//! index while it fits in its budget, else in one sorted pass over them.
//! Without a resolution's kernels (the tests of this module) every row is
//! looked up among the resolved IDs.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Float64Builder, RecordBatch, StringArray,
    StringBuilder, UInt64Array,
};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, UInt64Type};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::engine::{self, work};
use crate::input::DiskExtract;
use crate::resolve;

/// The ID fields whose person is attached, with the column it goes to; the
/// first also gives the method and score.
const ATTACHED: [(&str, &str); 3] = [
    ("id_number", "person_id"),
    ("head_id", "head_person_id"),
    ("guardian_id", "guardian_person_id"),
];

/// The query that gives `name` with its persons attached: the reference
/// that both forms give the rows of, and the source of the person columns'
/// types.
pub(crate) async fn attach_sql(ctx: &SessionContext, name: &str) -> Result<String> {
    let schema = ctx.table(name).await?.schema().as_arrow().clone();
    let mut select = vec![
        "t.*".to_string(),
        "p.person_id AS person_id".to_string(),
        "COALESCE(p.method, 'unlinked') AS person_method".to_string(),
        "COALESCE(p.score, 0.0) AS person_score".to_string(),
    ];
    let mut joins = vec![join_on(name, "p", "id_number", true)];
    for (field, alias, column) in [
        ("head_id", "h", "head_person_id"),
        ("guardian_id", "g", "guardian_person_id"),
    ] {
        if schema.column_with_name(field).is_some() {
            select.push(format!("{alias}.person_id AS {column}"));
            joins.push(join_on(name, alias, field, false));
        }
    }
    Ok(format!(
        "SELECT {} FROM {name} t {}",
        select.join(", "),
        joins.join(" ")
    ))
}

/// Gives each registered extract table (in memory) the resolved persons of
/// its ID columns, as the join of [`attach_sql`] would: the person columns
/// are built beside each of its batches (see the module's doc), and the
/// table's own columns are kept, not copied (the join
/// copied every column of every row: 1.8–2.0 s of a county). The extracts
/// are attached side by side ([`engine::side_by_side`]).
pub async fn attach_persons(ctx: &SessionContext, names: &[&str]) -> Result<()> {
    let jobs = names
        .iter()
        .map(|name| {
            let ctx = ctx.clone();
            let name = name.to_string();
            async move { attach_in_memory(&ctx, &name).await }
        })
        .collect();
    engine::side_by_side(ctx, engine::Jobs::Queries, jobs).await?;
    Ok(())
}

/// The schema of `name` with its persons attached, and of the person
/// columns alone (the last ones), as [`attach_sql`] gives them.
async fn attached_schemas(
    ctx: &SessionContext,
    name: &str,
    columns: usize,
) -> Result<(SchemaRef, SchemaRef)> {
    let full: SchemaRef = Arc::new(
        ctx.sql(&attach_sql(ctx, name).await?)
            .await?
            .schema()
            .as_arrow()
            .clone(),
    );
    let persons = Arc::new(Schema::new(full.fields()[columns..].to_vec()));
    Ok((full, persons))
}

/// The ID fields of [`ATTACHED`] whose person goes to a column of
/// `person_schema`.
fn attached_fields(person_schema: &Schema) -> impl Iterator<Item = &'static str> + '_ {
    ATTACHED
        .iter()
        .filter(|(_, column)| person_schema.column_with_name(column).is_some())
        .map(|(field, _)| *field)
}

/// The resolved IDs that the persons of an extract's rows are looked up in.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// All of them ([`resolve::tables::resolved_ids_of`]).
    All,
    /// The rows not linked directly ([`resolve::tables::RESOLVED_OTHER`]):
    /// the others' persons are [`DirectPersons`].
    Other,
}

impl Source {
    /// What is looked up beside the direct persons, if there are any.
    fn beside(direct: Option<&DirectPersons>) -> Source {
        match direct {
            Some(_) => Source::Other,
            None => Source::All,
        }
    }
}

/// The query of the resolved IDs of `name` in `source` whose persons go to
/// the columns of `person_schema`.
fn persons_sql(source: Source, name: &str, person_schema: &Schema, order: &str) -> String {
    let fields: Vec<String> = attached_fields(person_schema)
        .map(|field| format!("'{field}'"))
        .collect();
    let table = match source {
        Source::All => resolve::tables::resolved_ids_of(name),
        Source::Other => resolve::tables::RESOLVED_OTHER.to_string(),
    };
    format!(
        "SELECT \"_ord\", field, person_id, method, score FROM {table}
         WHERE extract = '{name}' AND field IN ({}) {order}",
        fields.join(", ")
    )
}

/// The index by `_ord` of the resolved IDs of `name` in `source` whose
/// persons go to the columns of `person_schema`: a scan of them, not a
/// sort.
async fn person_index(
    ctx: &SessionContext,
    source: Source,
    name: &str,
    person_schema: &Schema,
) -> Result<PersonIndex> {
    let resolved = ctx
        .sql(&persons_sql(source, name, person_schema, ""))
        .await?
        .collect()
        .await?;
    PersonIndex::new(&resolved)
}

/// How many of the resolved IDs of `name` are not linked directly (an
/// entry per row and ID field).
async fn other_rows(ctx: &SessionContext, name: &str) -> Result<u64> {
    let sql = format!(
        "SELECT count(*) FROM {} WHERE extract = '{name}'",
        resolve::tables::RESOLVED_OTHER
    );
    let batches = ctx.sql(&sql).await?.collect().await?;
    let count = batches
        .first()
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
        })
        .filter(|c| !c.is_empty())
        .map_or(0, |c| c.value(0));
    Ok(u64::try_from(count).unwrap_or(0))
}

/// The persons of an extract's rows whose ID is valid or upgraded, taken
/// from the rows' own columns as the linked views take them: the person is
/// the ID, the method and score come from the same kernels. The resolved
/// IDs of these rows are never scanned for attaching; only the few others
/// are looked up ([`Source::Other`]).
struct DirectPersons {
    levels: Arc<resolve::DirectLevels>,
    /// Each attached field that the table observes (its ID's three
    /// columns): its place in [`ATTACHED`], and the column of the name as
    /// written that its observations carry, if any.
    fields: Vec<(usize, &'static str, Option<String>)>,
}

impl DirectPersons {
    /// The direct persons of the attached fields of `person_schema` in a
    /// table of `schema`, when resolution registered its kernels on `ctx`.
    fn new(ctx: &SessionContext, schema: &Schema, person_schema: &Schema) -> Option<Self> {
        let levels = resolve::registered_levels(ctx)?;
        let has = |c: &str| schema.column_with_name(c).is_some();
        let fields = attached_fields(person_schema)
            .filter(|field| {
                [
                    field.to_string(),
                    format!("{field}_raw"),
                    format!("{field}_status"),
                ]
                .iter()
                .all(|c| has(c))
            })
            .filter_map(|field| {
                let slot = ATTACHED.iter().position(|(f, _)| *f == field)?;
                let (_, name) = resolve::ID_FIELDS.iter().find(|(f, _)| *f == field)?;
                let name_raw = format!("{name}_raw");
                Some((
                    slot,
                    field,
                    (has(name) && has(&name_raw)).then_some(name_raw),
                ))
            })
            .collect();
        Some(DirectPersons { levels, fields })
    }

    /// The columns of the table that [`DirectPersons::of`] reads.
    fn columns(&self) -> Vec<String> {
        self.fields
            .iter()
            .flat_map(|(_, field, name_raw)| {
                [
                    field.to_string(),
                    format!("{field}_raw"),
                    format!("{field}_status"),
                ]
                .into_iter()
                .chain(name_raw.clone())
            })
            .collect()
    }

    /// The linked fields of a batch of the extract's rows (with at least
    /// the [`DirectPersons::columns`]).
    fn of(&self, batch: &RecordBatch) -> Result<Vec<(usize, resolve::LinkedField)>> {
        self.fields
            .iter()
            .map(|(slot, field, name_raw)| {
                Ok((
                    *slot,
                    resolve::LinkedField::of(batch, field, name_raw.as_deref())?,
                ))
            })
            .collect()
    }

    /// Sets, in `row`, the persons of row `i`'s linked IDs among `fields`.
    fn fill(&self, fields: &[(usize, resolve::LinkedField)], i: usize, row: &mut RowPersons) {
        for (slot, field) in fields {
            let Some(p) = field.person(&self.levels, i) else {
                continue;
            };
            match slot {
                0 => {
                    row.person_id.set(p.person_id);
                    row.method.set(Some(p.method.label()));
                    row.score = Some(p.score);
                }
                1 => row.head.set(p.person_id),
                _ => row.guardian.set(p.person_id),
            }
        }
    }
}

async fn attach_in_memory(ctx: &SessionContext, name: &str) -> Result<()> {
    let table = ctx.table(name).await?;
    let schema = table.schema().as_arrow().clone();
    let (full, person_schema) = attached_schemas(ctx, name, schema.fields().len()).await?;
    let ord = schema.index_of("_ord")?;
    // After a resolution, the rows linked directly are taken from their
    // own columns and only the others are looked up; else (the rows of
    // the resolved IDs alone) every row is.
    let direct = DirectPersons::new(ctx, &schema, &person_schema);
    let source = Source::beside(direct.as_ref());
    let index = person_index(ctx, source, name, &person_schema).await?;
    // The batches as they are, dealt out over the session's partitions as
    // the join's output was.
    let partitions = ctx.state().config().target_partitions().max(1);
    let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
    let mut row = RowPersons::default();
    let batches = table.collect_partitioned().await?.into_iter().flatten();
    for (i, batch) in batches.enumerate() {
        let ords = batch
            .column(ord)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .ok_or_else(|| internal("_ord is not UInt64"))?;
        let linked = match &direct {
            Some(direct) => direct.of(&batch)?,
            None => Vec::new(),
        };
        let mut columns = PersonColumns::new(&person_schema, ords.len());
        for (at, o) in ords.values().iter().copied().enumerate() {
            index.take(o, &mut row);
            if let Some(direct) = &direct {
                direct.fill(&linked, at, &mut row);
            }
            columns.push(&row);
        }
        let mut all = batch.columns().to_vec();
        all.extend(columns.finish(&person_schema)?.columns().iter().cloned());
        parts[i % partitions].push(RecordBatch::try_new(full.clone(), all)?);
    }
    engine::register_partitions(ctx, name, full, parts)
}

fn join_on(extract: &str, alias: &str, field: &str, with_method: bool) -> String {
    let columns = if with_method {
        "\"_ord\", person_id, method, score"
    } else {
        "\"_ord\", person_id"
    };
    format!(
        "LEFT JOIN (SELECT {columns} FROM {table} WHERE extract = '{extract}' AND field = '{field}') {alias} \
         ON {alias}.\"_ord\" = t.\"_ord\"",
        table = resolve::tables::resolved_ids_of(extract)
    )
}

/// The work table that holds the columns of extract `name` as read.
fn input_table(name: &str) -> String {
    format!("_input_{name}")
}

/// The table of the `_ord`s of extract `name`'s superseded rows (on disk).
fn superseded_table(name: &str) -> String {
    format!("_superseded_{name}")
}

/// The look-up of extract `name`'s superseded rows on disk
/// ([`SupersededUdf`]).
fn superseded_udf(name: &str) -> String {
    format!("_superseded_of_{name}")
}

/// Drops the extract tables `names` once nothing reads them (the write
/// stage reads the resolved IDs only), and on disk their views' look-ups
/// of the superseded rows (a city's are megabytes). On disk their work
/// files stay: the resolved IDs are views over them ([`rows_table`]).
pub fn drop_extracts(ctx: &SessionContext, names: &[&str]) -> Result<()> {
    let tables: Vec<String> = names
        .iter()
        .flat_map(|n| [n.to_string(), input_table(n), superseded_table(n)])
        .collect();
    let tables: Vec<&str> = tables.iter().map(String::as_str).collect();
    engine::drop_tables(ctx, &tables)?;
    for name in names {
        ctx.deregister_udf(&superseded_udf(name));
    }
    Ok(())
}

/// The links of extract `name` ([`resolve::links_of`]'s columns) out of its
/// table in memory with its persons attached: the same values, since the
/// attached person, method and score of a row are its primary ID's
/// resolved ones ([`attach_sql`]), and every row of the table is a link.
/// The columns are the table's own, not copied (`extract` is a dictionary
/// of the one name, `file` the table's own dictionary); the batches are as
/// the table holds them, in no order. None when the table is not held in
/// memory (on disk), or has no persons attached.
pub async fn held_links(ctx: &SessionContext, name: &str) -> Result<Option<Vec<RecordBatch>>> {
    let provider = ctx.table_provider(name).await?;
    let Some(table) = provider.downcast_ref::<datafusion::catalog::MemTable>() else {
        return Ok(None);
    };
    let Some(from) = link_columns(&provider.schema())? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for partition in &table.batches {
        for batch in partition.read().await.iter() {
            let columns = from.iter().map(|c| c.map(|c| batch.column(c).clone()));
            out.push(links_batch(name, batch.num_rows(), columns)?);
        }
    }
    Ok(Some(out))
}

/// The column of an attached extract table that each link column of
/// [`LINK_FROM`] is, by index (None: the table has no name as written; an
/// empty column).
type LinkColumns = [Option<usize>; 8];

/// The links' columns after `extract` (as [`resolve::links_of`] names
/// them), each with the column of an attached extract table it is.
pub(crate) const LINK_FROM: [(&str, &str); 8] = [
    ("file", "_file"),
    ("row", "_row"),
    ("raw_id", "id_number_raw"),
    ("raw_name", "name_raw"),
    ("person_id", "person_id"),
    ("method", "person_method"),
    ("score", "person_score"),
    ("_ord", "_ord"),
];

/// [`LinkColumns`] of an extract table of `schema`; None when it has no
/// persons attached.
fn link_columns(schema: &Schema) -> Result<Option<LinkColumns>> {
    if schema.column_with_name("person_method").is_none() {
        return Ok(None);
    }
    let mut from = [None; 8];
    for (slot, (_, column)) in from.iter_mut().zip(LINK_FROM) {
        *slot = match schema.index_of(column) {
            Ok(i) => Some(i),
            Err(_) if column == "name_raw" => None,
            Err(e) => return Err(e.into()),
        };
    }
    Ok(Some(from))
}

/// A batch of links of extract `name` (`rows` rows) out of its table's
/// columns (see [`LINK_FROM`]; None: an empty text column): `extract` a
/// dictionary of the one name.
fn links_batch(
    name: &str,
    rows: usize,
    columns: impl Iterator<Item = Option<ArrayRef>>,
) -> Result<RecordBatch> {
    use datafusion::arrow::array::{DictionaryArray, Int8Array, new_null_array};
    use datafusion::arrow::datatypes::Int8Type;
    let names = Arc::new(StringArray::from(vec![name]));
    let extract = DictionaryArray::<Int8Type>::new(Int8Array::from(vec![0; rows]), names);
    let mut fields = vec![Field::new("extract", extract.data_type().clone(), false)];
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(extract)];
    for ((link, _), array) in LINK_FROM.iter().zip(columns) {
        let array = array.unwrap_or_else(|| new_null_array(&DataType::Utf8, rows));
        fields.push(Field::new(*link, array.data_type().clone(), true));
        arrays.push(array);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// The links of extract `name` from its work files on disk, with the
/// persons [`attach_beside`] wrote beside them: as [`held_links`], each
/// row's own columns, and in `_ord` order (the parts are in file order,
/// and attach_beside checked the rows of each), so that links.csv takes
/// them as they come, read a batch at a time, with no sort. None when the
/// table is not on disk or has no persons attached.
pub async fn disk_links(ctx: &SessionContext, name: &str) -> Result<Option<DiskLinks>> {
    let provider = match ctx.table_provider(&input_table(name)).await {
        Ok(provider) => provider,
        Err(_) => return Ok(None),
    };
    let Some(table) = provider.downcast_ref::<work::DiskTable>() else {
        return Ok(None);
    };
    let Some(from) = link_columns(&provider.schema())? else {
        return Ok(None);
    };
    Ok(Some(DiskLinks {
        name: name.to_string(),
        parts: table.parts().to_vec(),
        from,
    }))
}

/// An extract's links on disk ([`disk_links`]).
#[derive(Debug)]
pub struct DiskLinks {
    name: String,
    parts: Vec<work::WorkPart>,
    from: LinkColumns,
}

impl DiskLinks {
    /// The links' batches in `_ord` order, part after part.
    pub fn batches(&self) -> impl Iterator<Item = Result<RecordBatch>> + '_ {
        self.parts
            .iter()
            .map(|part| {
                let readers = self
                    .from
                    .iter()
                    .map(|c| c.map(|c| part.read_column(c)).transpose())
                    .collect::<Result<Vec<_>>>()?;
                Ok(PartLinks {
                    name: &self.name,
                    readers,
                })
            })
            .flat_map(|part: Result<PartLinks<'_>>| match part {
                Ok(part) => Box::new(part) as Box<dyn Iterator<Item = Result<RecordBatch>>>,
                Err(e) => Box::new(std::iter::once(Err(e))),
            })
    }
}

/// The links of one work part, a batch at a time.
struct PartLinks<'a> {
    name: &'a str,
    readers: Vec<Option<work::ColumnReader>>,
}

impl Iterator for PartLinks<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut columns = Vec::with_capacity(self.readers.len());
        let mut ended = 0;
        for reader in &mut self.readers {
            columns.push(match reader.as_mut().map(Iterator::next) {
                Some(Some(Ok(array))) => Some(array),
                Some(Some(Err(e))) => return Some(Err(e)),
                Some(None) => {
                    ended += 1;
                    None
                }
                None => None,
            });
        }
        let rows = columns.iter().flatten().map(|a| a.len()).next();
        match (ended, rows) {
            (0, Some(rows)) => Some(links_batch(self.name, rows, columns.into_iter())),
            (_, None) => None,
            // The columns of a part hold the same batches: one that ends
            // before the others would lose rows.
            _ => Some(Err(DataFusionError::Internal(
                "a column of an extract's work files ends early".into(),
            ))),
        }
    }
}

/// The table of extract `name`'s rows as the read stage wrote them to disk
/// (registered by [`register_disk_extract`]): the extract's columns with
/// `_superseded` false in every row. Person resolution reads these.
pub fn rows_table(name: &str) -> String {
    input_table(name)
}

/// Marks more rows of extract `name` superseded (`ords`, ascending) and
/// others in force again (`restored`, ascending): on disk in its table of
/// superseded `_ord`s (which its view's look-up is made from when the view
/// is registered again, by [`attach_beside`]), in memory in its table's
/// `_superseded` column. Before persons are
/// attached: the attached tables are built from these.
pub async fn mark_superseded(
    ctx: &SessionContext,
    name: &str,
    ords: &[u64],
    restored: &[u64],
) -> Result<()> {
    if ords.is_empty() && restored.is_empty() {
        return Ok(());
    }
    let superseded = superseded_table(name);
    if ctx.table_exist(&superseded)? {
        let mut all = ords.to_vec();
        for b in ctx.table(&superseded).await?.collect().await? {
            all.extend(b.column(0).as_primitive::<UInt64Type>().values().iter());
        }
        all.retain(|o| restored.binary_search(o).is_err());
        all.sort_unstable();
        all.dedup();
        return register_superseded(ctx, name, all);
    }
    let provider = ctx.table_provider(name).await?;
    let Some(table) = provider.downcast_ref::<datafusion::catalog::MemTable>() else {
        return Err(DataFusionError::Internal(format!(
            "extract {name} is neither in memory nor on disk"
        )));
    };
    let schema = provider.schema();
    let (ord, flag) = (schema.index_of("_ord")?, schema.index_of("_superseded")?);
    let mut partitions = Vec::with_capacity(table.batches.len());
    for partition in &table.batches {
        let mut batches = Vec::new();
        for batch in partition.read().await.iter() {
            let ords_of = batch.column(ord).as_primitive::<UInt64Type>();
            let before = batch.column(flag).as_boolean();
            let after: BooleanArray = (0..batch.num_rows())
                .map(|i| {
                    let o = ords_of.value(i);
                    let kept = before.value(i) && restored.binary_search(&o).is_err();
                    Some(kept || ords.binary_search(&o).is_ok())
                })
                .collect();
            let mut columns = batch.columns().to_vec();
            columns[flag] = Arc::new(after);
            batches.push(RecordBatch::try_new(batch.schema(), columns)?);
        }
        partitions.push(batches);
    }
    engine::register_partitions(ctx, name, schema, partitions)
}

/// Registers an extract table that the read stage wrote to disk, as a view
/// over its work files. Its rows were written with `_superseded` false; the
/// rows a later row replaces are marked by a look-up of their (few)
/// `_ord`s (`SupersededUdf`).
pub async fn register_disk_extract(
    ctx: &SessionContext,
    name: &str,
    table: &DiskExtract,
) -> Result<()> {
    register_superseded(ctx, name, table.superseded.clone())?;
    register_view(ctx, name, table).await
}

/// Registers the table of extract `name`'s superseded `_ord`s (ascending,
/// distinct), which its view's look-up is made from.
fn register_superseded(ctx: &SessionContext, name: &str, ords: Vec<u64>) -> Result<()> {
    let schema = Schema::new(vec![Field::new("_ord", DataType::UInt64, false)]);
    let ords = UInt64Array::from(ords);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![Arc::new(ords)])?;
    engine::register_batch(ctx, &superseded_table(name), batch)
}

/// (Re-)registers `_input_{name}` over the table's parts and the view
/// `name` over it.
async fn register_view(ctx: &SessionContext, name: &str, table: &DiskExtract) -> Result<()> {
    let files = input_table(name);
    ctx.deregister_table(&files)?;
    ctx.register_table(
        &files,
        Arc::new(work::DiskTable::new(
            table.schema.clone(),
            table.parts.clone(),
        )),
    )?;
    // The view holds the look-up made from the superseded `_ord`s as they
    // are now, as it held the table it joined: a view is planned once.
    let mut ords = Vec::new();
    for b in ctx.table(&superseded_table(name)).await?.collect().await? {
        ords.extend(b.column(0).as_primitive::<UInt64Type>().values().iter());
    }
    let udf = SupersededUdf::new(name, &ords);
    let call = format!("{}(t.\"_ord\")", udf.name);
    ctx.register_udf(ScalarUDF::from(udf));
    let columns: Vec<String> = table
        .schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "_superseded" => format!("{call} AS \"_superseded\""),
            c => format!("t.\"{c}\""),
        })
        .collect();
    ctx.deregister_table(name)?;
    ctx.sql(&format!(
        "CREATE VIEW {name} AS SELECT {} FROM {files} t",
        columns.join(", ")
    ))
    .await?
    .collect()
    .await?;
    Ok(())
}

/// `_superseded_of_{name}(_ord)`: whether the row of `_ord` of an extract
/// on disk is superseded. Computed beside the scan, where a join with the
/// superseded `_ord`s gathered every column of every row it passed (at a
/// county on disk the rules stage took 0.3 s longer that way).
#[derive(Debug)]
struct SupersededUdf {
    name: String,
    signature: Signature,
    /// For each file (the high half of an `_ord`, see
    /// [`crate::extract::table::split_ord`]), a bit per row of it, set for
    /// the superseded: a row's look-up is a shift and a mask.
    bits: Arc<Vec<Vec<u64>>>,
    /// A digest of `bits`, made once: the planner hashes and compares a
    /// query's functions, and a city's bits are megabytes.
    digest: u64,
}

impl SupersededUdf {
    fn new(extract: &str, ords: &[u64]) -> Self {
        let mut bits: Vec<Vec<u64>> = Vec::new();
        for &ord in ords {
            let (file, row) = crate::extract::table::split_ord(ord);
            if bits.len() <= file {
                bits.resize_with(file + 1, Vec::new);
            }
            let words = &mut bits[file];
            if words.len() <= row / 64 {
                words.resize(row / 64 + 1, 0);
            }
            words[row / 64] |= 1 << (row % 64);
        }
        let digest = {
            use std::hash::BuildHasher;
            foldhash::fast::FixedState::default().hash_one(&bits)
        };
        SupersededUdf {
            name: superseded_udf(extract),
            signature: Signature::exact(vec![DataType::UInt64], Volatility::Immutable),
            bits: Arc::new(bits),
            digest,
        }
    }

    fn is_superseded(&self, ord: u64) -> bool {
        let (file, row) = crate::extract::table::split_ord(ord);
        self.bits
            .get(file)
            .and_then(|words| words.get(row / 64))
            .is_some_and(|w| w & (1 << (row % 64)) != 0)
    }
}

impl PartialEq for SupersededUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.digest == other.digest
            && (Arc::ptr_eq(&self.bits, &other.bits) || self.bits == other.bits)
    }
}

impl Eq for SupersededUdf {}

impl std::hash::Hash for SupersededUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.digest.hash(state);
    }
}

impl ScalarUDFImpl for SupersededUdf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    /// Never null, as the extract's `_superseded` is not.
    fn return_field_from_args(&self, _args: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(&self.name, DataType::Boolean, false)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [ords] = ColumnarValue::values_to_arrays(&args.args)?
            .try_into()
            .map_err(|_| DataFusionError::Internal(format!("{} takes one _ord", self.name)))?;
        let ords = ords.as_primitive::<UInt64Type>();
        let ords = ords.values();
        let flags = if self.bits.is_empty() {
            BooleanBuffer::new_unset(ords.len())
        } else {
            BooleanBuffer::collect_bool(ords.len(), |i| self.is_superseded(ords[i]))
        };
        Ok(ColumnarValue::Array(Arc::new(BooleanArray::new(
            flags, None,
        ))))
    }
}

/// Bytes an entry of an extract's resolved IDs is taken to hold in a
/// [`PersonIndex`], for [`attach_beside`] to weigh against its budget: its
/// `_ord` and score (8 bytes each), its field, person ID and method as
/// text (some 35 bytes, and three 4-byte offsets) come to about 63, and its
/// slot to 8 bytes, up to 16 as the slots' vectors grow by doubling.
const INDEXED_ENTRY_BYTES: u64 = 96;

/// Bytes of a row's slot for one field in a [`PersonIndex`], as its vectors
/// grow by doubling: what an index of a few entries holds for every row.
const SLOT_BYTES: u64 = 16;

/// The bytes an index of the persons of an extract of `rows` rows with
/// `fields` attached ID fields holds: [`INDEXED_ENTRY_BYTES`] an entry,
/// each field of each row an entry; or, with the direct persons, `others`
/// entries (the rows not linked directly) and a slot ([`SLOT_BYTES`]) for
/// each field of each row.
fn index_need(rows: u64, fields: u64, others: Option<u64>) -> u64 {
    let slots = rows.saturating_mul(fields);
    match others {
        None => slots.saturating_mul(INDEXED_ENTRY_BYTES),
        Some(others) => others
            .saturating_mul(INDEXED_ENTRY_BYTES)
            .saturating_add(slots.saturating_mul(SLOT_BYTES)),
    }
}

/// How the persons of an extract held on disk are found: the direct
/// persons (after a resolution), and the bytes an index of the resolved
/// IDs looked up beside them ([`Source::beside`]) would hold (every
/// attached field of every row; with the direct persons, the other rows'
/// entries alone, in slots for every row all the same).
async fn lookup_plan(
    ctx: &SessionContext,
    name: &str,
    table: &DiskExtract,
    person_schema: &Schema,
) -> Result<(Option<DirectPersons>, u64)> {
    let rows: u64 = table.parts.iter().map(work::WorkPart::rows).sum();
    let fields = attached_fields(person_schema).count() as u64;
    let direct = DirectPersons::new(ctx, &table.schema, person_schema);
    let others = match direct {
        Some(_) => Some(other_rows(ctx, name).await?),
        None => None,
    };
    Ok((direct, index_need(rows, fields, others)))
}

/// Attaches the persons to the extracts held on disk, each as
/// [`attach_beside`] does with `index_bytes`, up to `at_once` at a time (one
/// extract's row loop keeps one thread busy). The indexes of those attached
/// together fit in `together_bytes` between them: an extract whose index
/// would not fit beside those running waits, the largest that fits
/// starting first; one whose index does not fit in `index_bytes` is
/// attached by the sorted pass, which shares the engine's memory with no
/// other. An index holds the arrays of the resolved IDs it collected and
/// a slot per entry, no copy ([`index_need`], the same weighing as
/// [`attach_beside`]'s). On the first
/// failure no further extract starts, and those running are aborted and
/// waited for (one in its row loop, which does not yield, runs to its end).
pub async fn attach_all_beside(
    ctx: &SessionContext,
    tables: Vec<(&'static str, DiskExtract)>,
    index_bytes: u64,
    together_bytes: u64,
    at_once: usize,
) -> Result<()> {
    let mut waiting = Vec::with_capacity(tables.len());
    for (name, table) in tables {
        let (_, person_schema) = attached_schemas(ctx, name, table.schema.fields().len()).await?;
        let (_, need) = lookup_plan(ctx, name, &table, &person_schema).await?;
        // None: the sorted pass, as attach_beside decides it.
        waiting.push((name, table, (need <= index_bytes).then_some(need)));
    }
    // Largest first (the sorted passes first of all), then by name.
    let size = |need: Option<u64>| need.unwrap_or(u64::MAX);
    waiting.sort_by(|a, b| size(b.2).cmp(&size(a.2)).then_with(|| a.0.cmp(b.0)));
    let mut running: Vec<(tokio::task::JoinHandle<Result<()>>, Option<u64>)> = Vec::new();
    loop {
        let needs: Vec<Option<u64>> = waiting.iter().map(|w| w.2).collect();
        let held: Vec<Option<u64>> = running.iter().map(|r| r.1).collect();
        if let Some(i) = next_to_attach(&needs, &held, together_bytes, at_once) {
            let (name, table, need) = waiting.remove(i);
            let ctx = ctx.clone();
            let job = async move {
                attach_beside(&ctx, name, table, index_bytes).await?;
                Ok(())
            };
            running.push((tokio::spawn(job), need));
            continue;
        }
        if running.is_empty() {
            return Ok(());
        }
        let (done, i, _) =
            futures::future::select_all(running.iter_mut().map(|(job, _)| job)).await;
        running.remove(i);
        let failed = match done {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => Ok(e),
            Err(e) => Err(e),
        };
        engine::stop_all(running.into_iter().map(|(job, _)| job)).await;
        return Err(failed.unwrap_or_else(engine::join_failure));
    }
}

/// Which of the extracts waiting to be attached starts next, given their
/// index bytes `needs` (largest first; None for the sorted pass) and those
/// of the extracts `running`: with none running, the first; else, while
/// fewer than `at_once` run and no sorted pass, the first whose index fits
/// in what the running ones leave of `budget`.
fn next_to_attach(
    needs: &[Option<u64>],
    running: &[Option<u64>],
    budget: u64,
    at_once: usize,
) -> Option<usize> {
    if needs.is_empty() || running.len() >= at_once.max(1) {
        return None;
    }
    if running.is_empty() {
        return Some(0);
    }
    let in_use = running
        .iter()
        .try_fold(0u64, |sum, need| need.map(|n| sum.saturating_add(n)))?;
    let left = budget.saturating_sub(in_use);
    needs
        .iter()
        .position(|need| need.is_some_and(|n| n <= left))
}

/// Attaches the persons to an extract held on disk ([`register_disk_extract`])
/// by writing the person columns beside its columns, part by part and batch
/// by batch. The persons of the rows linked directly come from their own
/// columns (as in memory), those of the others from an index of their
/// resolved IDs by `_ord` when it fits in `index_bytes` ([`index_need`]),
/// else from one pass over them sorted by `_ord` (the engine's sort, which
/// spills). Registers the view `name` anew with the person
/// columns last, as [`attach_persons`] gives them. Returns the table's new
/// form.
pub async fn attach_beside(
    ctx: &SessionContext,
    name: &str,
    table: DiskExtract,
    index_bytes: u64,
) -> Result<DiskExtract> {
    let start = std::time::Instant::now();
    // The person columns' names and types, as the memory form has them.
    let (_, person_schema) = attached_schemas(ctx, name, table.schema.fields().len()).await?;
    let ord = table.schema.index_of("_ord")?;
    let rows: u64 = table.parts.iter().map(work::WorkPart::rows).sum();
    // After a resolution, the rows linked directly are taken from their
    // own columns and only the others are looked up, as in memory.
    let (direct, need) = lookup_plan(ctx, name, &table, &person_schema).await?;
    let source = Source::beside(direct.as_ref());
    let indexed = need <= index_bytes;
    let mut persons = if indexed {
        // A scan, not a sort: a city's persons attached in 11.3 s this
        // way, 15.8 s through the sorted pass.
        Lookup::Index(person_index(ctx, source, name, &person_schema).await?)
    } else {
        let sorted = ctx
            .sql(&persons_sql(
                source,
                name,
                &person_schema,
                "ORDER BY \"_ord\", field",
            ))
            .await?
            .execute_stream()
            .await?;
        Lookup::Sorted(Box::new(Persons::new(sorted)))
    };
    // The columns the direct persons read, beside `_ord`.
    let read: Vec<usize> = match &direct {
        Some(direct) => direct
            .columns()
            .iter()
            .map(|c| table.schema.index_of(c))
            .collect::<std::result::Result<_, _>>()?,
        None => Vec::new(),
    };
    let read_schema = Arc::new(table.schema.project(&read)?);
    let mut parts = Vec::with_capacity(table.parts.len());
    let mut last = None;
    let mut row = RowPersons::default();
    for part in &table.parts {
        let mut stem = part.column_path(ord).as_os_str().to_owned();
        stem.push(".persons");
        let mut writer = work::WorkPartWriter::create(std::path::Path::new(&stem), &person_schema)?;
        let mut readers = read
            .iter()
            .map(|&c| part.read_column(c))
            .collect::<Result<Vec<_>>>()?;
        for column in part.read_column(ord)? {
            let column = column?;
            let ords = column
                .as_any()
                .downcast_ref::<UInt64Array>()
                .ok_or_else(|| internal("_ord is not UInt64"))?;
            let linked = match &direct {
                Some(direct) => {
                    let arrays = readers
                        .iter_mut()
                        .map(|r| {
                            r.next()
                                .unwrap_or_else(|| Err(internal("a column ends early")))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    direct.of(&RecordBatch::try_new(read_schema.clone(), arrays)?)?
                }
                None => Vec::new(),
            };
            let mut columns = PersonColumns::new(&person_schema, ords.len());
            for (at, o) in ords.values().iter().copied().enumerate() {
                if last.is_some_and(|l| l >= o) {
                    return Err(internal(
                        "the rows of an extract on disk are not in _ord order",
                    ));
                }
                last = Some(o);
                persons.take(o, &mut row).await?;
                if let Some(direct) = &direct {
                    direct.fill(&linked, at, &mut row);
                }
                columns.push(&row);
            }
            writer.write(&columns.finish(&person_schema)?)?;
        }
        parts.push(part.beside(writer.finish()?)?);
    }
    let mut schema_fields = table.schema.fields().to_vec();
    schema_fields.extend(person_schema.fields().iter().cloned());
    let table = DiskExtract {
        parts,
        schema: Arc::new(Schema::new(schema_fields)),
        superseded: table.superseded,
    };
    register_view(ctx, name, &table).await?;
    tracing::debug!(
        extract = name,
        rows,
        indexed,
        seconds = start.elapsed().as_secs_f64(),
        "persons attached beside"
    );
    Ok(table)
}

/// Where [`attach_beside`] finds the persons of a row.
enum Lookup {
    Index(PersonIndex),
    Sorted(Box<Persons>),
}

impl Lookup {
    /// The persons of the row `ord`, into `row`; rows come in `_ord` order.
    async fn take(&mut self, ord: u64, row: &mut RowPersons) -> Result<()> {
        match self {
            Lookup::Index(index) => {
                index.take(ord, row);
                Ok(())
            }
            Lookup::Sorted(sorted) => sorted.take(ord, row).await,
        }
    }
}

fn internal(what: &str) -> DataFusionError {
    DataFusionError::Internal(what.to_string())
}

/// Two entries of the resolved IDs for one field of one row: two rows in
/// the join of [`attach_sql`].
fn two_persons() -> DataFusionError {
    internal("an extract row has two persons for one ID field")
}

/// The persons of one row: the person of each attached field. One is
/// reused for every row, so that its texts are copied into the same
/// buffers, not allocated anew for each of a city's tens of millions of rows.
#[derive(Debug, Default)]
struct RowPersons {
    person_id: Text,
    method: Text,
    score: Option<f64>,
    head: Text,
    guardian: Text,
}

impl RowPersons {
    fn clear(&mut self) {
        for text in [
            &mut self.person_id,
            &mut self.method,
            &mut self.head,
            &mut self.guardian,
        ] {
            text.set = false;
        }
        self.score = None;
    }
}

/// A text that may be missing, in a buffer kept between rows.
#[derive(Debug, Default)]
struct Text {
    buffer: String,
    set: bool,
}

impl Text {
    /// Copies value `i` of `array` (missing when null).
    fn copy(&mut self, array: &StringArray, i: usize) {
        self.set((!array.is_null(i)).then(|| array.value(i)));
    }

    /// Copies `value` (missing when `None`).
    fn set(&mut self, value: Option<&str>) {
        self.set = value.is_some();
        self.buffer.clear();
        self.buffer.push_str(value.unwrap_or_default());
    }

    fn get(&self) -> Option<&str> {
        self.set.then_some(self.buffer.as_str())
    }
}

/// A cursor over the sorted stream of (`_ord`, field, person_id, method,
/// score).
struct Persons {
    stream: SendableRecordBatchStream,
    batch: Option<PersonBatch>,
    at: usize,
}

struct PersonBatch {
    ords: UInt64Array,
    fields: StringArray,
    person_ids: StringArray,
    methods: StringArray,
    scores: Float64Array,
}

impl PersonBatch {
    /// The columns of a batch of (`_ord`, field, person_id, method, score).
    fn new(batch: &RecordBatch) -> Result<Self> {
        let column = |i: usize, t: &DataType| cast(batch.column(i), t);
        let strings = |a: ArrayRef| -> StringArray {
            a.as_any()
                .downcast_ref::<StringArray>()
                .expect("cast to Utf8 gives a StringArray")
                .clone()
        };
        Ok(PersonBatch {
            ords: column(0, &DataType::UInt64)?
                .as_any()
                .downcast_ref::<UInt64Array>()
                .expect("cast to UInt64 gives a UInt64Array")
                .clone(),
            fields: strings(column(1, &DataType::Utf8)?),
            person_ids: strings(column(2, &DataType::Utf8)?),
            methods: strings(column(3, &DataType::Utf8)?),
            scores: column(4, &DataType::Float64)?
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("cast to Float64 gives a Float64Array")
                .clone(),
        })
    }

    /// Copies entry `at` into `row`, to the columns of the entry's field.
    fn copy_to(&self, at: usize, row: &mut RowPersons) {
        match self.fields.value(at) {
            "id_number" => {
                row.person_id.copy(&self.person_ids, at);
                row.method.copy(&self.methods, at);
                row.score = (!self.scores.is_null(at)).then(|| self.scores.value(at));
            }
            "head_id" => row.head.copy(&self.person_ids, at),
            "guardian_id" => row.guardian.copy(&self.person_ids, at),
            _ => {}
        }
    }
}

/// The resolved IDs of one extract, found by `_ord`: for each attached
/// field, each file (the high half of `_ord`) and each row of it (the low
/// half, counted from 0 in file order), the entry's place.
struct PersonIndex {
    entries: Vec<PersonBatch>,
    /// Field (as [`ATTACHED`]) → file → row → (batch, entry) + 1, 0 for none.
    slots: [Vec<Vec<(u32, u32)>>; ATTACHED.len()],
}

impl PersonIndex {
    fn new(batches: &[RecordBatch]) -> Result<Self> {
        let entries = batches
            .iter()
            .map(PersonBatch::new)
            .collect::<Result<Vec<_>>>()?;
        let mut slots: [Vec<Vec<(u32, u32)>>; ATTACHED.len()] = Default::default();
        for (b, batch) in entries.iter().enumerate() {
            for at in 0..batch.ords.len() {
                // A null `_ord` names no row (the join matches none).
                if batch.ords.is_null(at) {
                    continue;
                }
                let Some(f) = ATTACHED
                    .iter()
                    .position(|(f, _)| *f == batch.fields.value(at))
                else {
                    continue;
                };
                let (file, row) = crate::extract::table::split_ord(batch.ords.value(at));
                let files = &mut slots[f];
                if files.len() <= file {
                    files.resize_with(file + 1, Vec::new);
                }
                let rows = &mut files[file];
                if rows.len() <= row {
                    rows.resize(row + 1, (0, 0));
                }
                if rows[row] != (0, 0) {
                    return Err(two_persons());
                }
                rows[row] = (b as u32 + 1, at as u32);
            }
        }
        Ok(PersonIndex { entries, slots })
    }

    /// The persons of the row `ord`, into `row`.
    fn take(&self, ord: u64, row: &mut RowPersons) {
        row.clear();
        let (file, at) = crate::extract::table::split_ord(ord);
        for files in &self.slots {
            if let Some(&(b, entry)) = files.get(file).and_then(|rows| rows.get(at))
                && b > 0
            {
                self.entries[b as usize - 1].copy_to(entry as usize, row);
            }
        }
    }
}

impl Persons {
    fn new(stream: SendableRecordBatchStream) -> Self {
        Persons {
            stream,
            batch: None,
            at: 0,
        }
    }

    /// The `_ord` under the cursor, reading on as batches run out; `None`
    /// at the end.
    async fn peek(&mut self) -> Result<Option<u64>> {
        loop {
            if let Some(b) = &self.batch
                && self.at < b.ords.len()
            {
                return Ok(Some(b.ords.value(self.at)));
            }
            let Some(batch) = self.stream.next().await else {
                self.batch = None;
                return Ok(None);
            };
            self.batch = Some(PersonBatch::new(&batch?)?);
            self.at = 0;
        }
    }

    /// The persons of the row `ord`, into `row`: the stream's entries of
    /// that `_ord` (entries of smaller `_ord`s, which name no row, are
    /// passed over). Two entries for one field of one row would be two rows
    /// in the join of the memory form: an error here.
    async fn take(&mut self, ord: u64, row: &mut RowPersons) -> Result<()> {
        row.clear();
        let mut seen = [false; ATTACHED.len()];
        while let Some(o) = self.peek().await? {
            if o > ord {
                break;
            }
            if o == ord {
                let b = self.batch.as_ref().expect("peek found a batch");
                if let Some(i) = ATTACHED
                    .iter()
                    .position(|(f, _)| *f == b.fields.value(self.at))
                    && std::mem::replace(&mut seen[i], true)
                {
                    return Err(two_persons());
                }
                b.copy_to(self.at, row);
            }
            self.at += 1;
        }
        Ok(())
    }
}

/// The person columns of one batch, built row by row.
struct PersonColumns {
    person_id: StringBuilder,
    method: StringBuilder,
    score: Float64Builder,
    head: Option<StringBuilder>,
    guardian: Option<StringBuilder>,
}

impl PersonColumns {
    fn new(schema: &Schema, rows: usize) -> Self {
        let optional = |c: &str| {
            schema
                .column_with_name(c)
                .map(|_| StringBuilder::with_capacity(rows, rows * 18))
        };
        PersonColumns {
            person_id: StringBuilder::with_capacity(rows, rows * 18),
            method: StringBuilder::with_capacity(rows, rows * 8),
            score: Float64Builder::with_capacity(rows),
            head: optional("head_person_id"),
            guardian: optional("guardian_person_id"),
        }
    }

    fn push(&mut self, row: &RowPersons) {
        self.person_id.append_option(row.person_id.get());
        // As COALESCE(method, 'unlinked') and COALESCE(score, 0.0).
        self.method
            .append_value(row.method.get().unwrap_or("unlinked"));
        self.score.append_value(row.score.unwrap_or(0.0));
        if let Some(b) = &mut self.head {
            b.append_option(row.head.get());
        }
        if let Some(b) = &mut self.guardian {
            b.append_option(row.guardian.get());
        }
    }

    /// The batch, each column cast to the type `schema` gives it.
    fn finish(mut self, schema: &SchemaRef) -> Result<RecordBatch> {
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(self.person_id.finish()),
            Arc::new(self.method.finish()),
            Arc::new(self.score.finish()),
        ];
        arrays.extend(self.head.as_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        arrays.extend(
            self.guardian
                .as_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        let arrays = arrays
            .iter()
            .zip(schema.fields())
            .map(|(a, f)| cast(a, f.data_type()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(RecordBatch::try_new(schema.clone(), arrays)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::BooleanArray;
    use datafusion::arrow::compute::concat_batches;

    const PLACE: u64 = 1 << 32;

    fn extract_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("_ord", DataType::UInt64, false),
            Field::new("_superseded", DataType::Boolean, false),
            Field::new("id_number", DataType::Utf8, true),
            Field::new("head_id", DataType::Utf8, true),
        ]))
    }

    /// Rows of the extract: `_ord`s, with `_superseded` as given.
    fn rows(ords: &[u64], superseded: &[u64]) -> RecordBatch {
        let ids: StringArray = ords.iter().map(|o| Some(format!("id{o}"))).collect();
        let heads: StringArray = ords.iter().map(|o| Some(format!("head{o}"))).collect();
        RecordBatch::try_new(
            extract_schema(),
            vec![
                Arc::new(UInt64Array::from(ords.to_vec())),
                Arc::new(BooleanArray::from(
                    ords.iter()
                        .map(|o| superseded.contains(o))
                        .collect::<Vec<_>>(),
                )),
                Arc::new(ids),
                Arc::new(heads),
            ],
        )
        .unwrap()
    }

    /// The resolved IDs: a person for some rows and fields, none for
    /// others, one with no person (unlinked), one of another extract with
    /// the same `_ord`, and one whose `_ord` names no row.
    fn resolved_ids() -> RecordBatch {
        resolved_batch(&[
            ("roster", 0, "id_number", Some("P0"), "exact", 1.0),
            ("roster", 0, "head_id", Some("H0"), "exact", 1.0),
            ("roster", 2, "id_number", None, "unlinked", 0.0),
            ("roster", 2, "head_id", Some("H2"), "exact", 1.0),
            ("roster", 3, "head_id", Some("H3"), "repaired", 0.9),
            (
                "roster",
                PLACE + 1,
                "id_number",
                Some("P5"),
                "repaired",
                0.93,
            ),
            ("roster", 99, "id_number", Some("orphan"), "exact", 1.0),
            ("pension", 1, "id_number", Some("other"), "exact", 1.0),
        ])
    }

    /// Resolved IDs: (extract, `_ord`, field, person_id, method, score).
    type Entry = (
        &'static str,
        u64,
        &'static str,
        Option<&'static str>,
        &'static str,
        f64,
    );

    fn resolved_batch(entries: &[Entry]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("extract", DataType::Utf8, false),
            Field::new("_ord", DataType::UInt64, false),
            Field::new("field", DataType::Utf8, false),
            Field::new("person_id", DataType::Utf8, true),
            Field::new("method", DataType::Utf8, false),
            Field::new("score", DataType::Float64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(entries.iter().map(|e| e.0))),
                Arc::new(UInt64Array::from_iter_values(entries.iter().map(|e| e.1))),
                Arc::new(StringArray::from_iter_values(entries.iter().map(|e| e.2))),
                Arc::new(entries.iter().map(|e| e.3).collect::<StringArray>()),
                Arc::new(StringArray::from_iter_values(entries.iter().map(|e| e.4))),
                Arc::new(Float64Array::from_iter_values(entries.iter().map(|e| e.5))),
            ],
        )
        .unwrap()
    }

    async fn sorted(ctx: &SessionContext) -> RecordBatch {
        let batches = ctx
            .sql("SELECT * FROM roster ORDER BY \"_ord\"")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        concat_batches(&batches[0].schema(), &batches).unwrap()
    }

    /// A session in memory holding `batches` as the roster and the
    /// resolved IDs of [`resolved_ids`].
    fn memory_session(batches: &[RecordBatch], resolved: RecordBatch) -> SessionContext {
        let memory = engine::session(2);
        engine::register_batch(
            &memory,
            &resolve::tables::resolved_ids_of("roster"),
            resolved,
        )
        .unwrap();
        engine::register_batches(&memory, "roster", extract_schema(), batches.to_vec()).unwrap();
        memory
    }

    /// An extract table with its persons attached, as links read it:
    /// rows `ords`, the name as written in every other row only when
    /// `named` (else no such column).
    fn attached(ords: &[u64], named: bool) -> RecordBatch {
        let text = |f: &dyn Fn(u64) -> Option<String>| -> ArrayRef {
            Arc::new(ords.iter().map(|&o| f(o)).collect::<StringArray>())
        };
        let mut fields = vec![
            Field::new("_file", DataType::Utf8, false),
            Field::new("_row", DataType::Utf8, false),
            Field::new("_ord", DataType::UInt64, false),
            Field::new("id_number_raw", DataType::Utf8, false),
        ];
        let mut columns = vec![
            text(&|o| Some(format!("f{}", o >> 32))),
            text(&|o| Some(format!("{}", (o & 0xFFFF_FFFF) + 2))),
            Arc::new(UInt64Array::from(ords.to_vec())) as ArrayRef,
            text(&|o| Some(format!("raw{o}"))),
        ];
        if named {
            fields.push(Field::new("name_raw", DataType::Utf8, true));
            columns.push(text(&|o| (o % 2 == 0).then(|| format!("name{o}"))));
        }
        fields.extend([
            Field::new("person_id", DataType::Utf8, true),
            Field::new("person_method", DataType::Utf8, false),
            Field::new("person_score", DataType::Float64, false),
        ]);
        columns.extend([
            text(&|o| (o % 3 != 0).then(|| format!("P{o}"))),
            text(&|o| Some(if o % 3 == 0 { "unlinked" } else { "exact" }.to_string())),
            Arc::new(datafusion::arrow::array::Float64Array::from(
                ords.iter()
                    .map(|&o| if o % 3 == 0 { 0.0 } else { 1.0 })
                    .collect::<Vec<_>>(),
            )) as ArrayRef,
        ]);
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    /// The links of an extract on disk, read from its work files in order
    /// part after part, batch after batch: what the same table in memory
    /// gives ([`held_links`]), with and without a name as written. A table
    /// without persons attached, or not on disk, gives none.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn links_on_disk_are_read_in_order_as_in_memory() {
        for named in [true, false] {
            let parts = [
                vec![attached(&[0, 1, 2], named), attached(&[3, 4], named)],
                vec![attached(&[PLACE, PLACE + 1, PLACE + 2], named)],
            ];
            let schema = parts[0][0].schema();
            let memory = engine::session(2);
            let all: Vec<RecordBatch> = parts.iter().flatten().cloned().collect();
            engine::register_batches(&memory, "pension", schema.clone(), all).unwrap();
            let held = held_links(&memory, "pension").await.unwrap().unwrap();
            let held = concat_batches(&held[0].schema(), &held).unwrap();

            let dir = tempfile::tempdir().unwrap();
            let disk = engine::DiskTables {
                dir: dir.path().join("work"),
                memory_limit: 64 << 20,
            };
            let ctx = engine::session_with(2, Some(&disk)).unwrap();
            assert!(disk_links(&ctx, "pension").await.unwrap().is_none());
            let mut written = Vec::new();
            for (i, batches) in parts.iter().enumerate() {
                let stem = dir.path().join(format!("{i:04}"));
                let mut w = work::WorkPartWriter::create(&stem, &schema).unwrap();
                for b in batches {
                    w.write(b).unwrap();
                }
                written.push(w.finish().unwrap());
            }
            let table = work::DiskTable::new(schema.clone(), written.clone());
            ctx.register_table(input_table("pension"), Arc::new(table))
                .unwrap();
            let links = disk_links(&ctx, "pension").await.unwrap().unwrap();
            let read: Vec<RecordBatch> = links.batches().map(|b| b.unwrap()).collect();
            assert_eq!(read.len(), 3, "a batch for each batch written");
            let read = concat_batches(&read[0].schema(), &read).unwrap();
            assert_eq!(read, held, "named {named}");

            // A column whose file ends before the others' (the second
            // part's `_ord`, one batch, over the first's, two): an error,
            // not rows lost.
            let ord = schema.index_of("_ord").unwrap();
            std::fs::copy(written[1].column_path(ord), written[0].column_path(ord)).unwrap();
            let read: Vec<Result<RecordBatch>> = links.batches().collect();
            assert!(read[0].is_ok());
            let err = read[1].as_ref().unwrap_err().to_string();
            assert!(err.contains("ends early"), "{err}");

            // No persons attached: none.
            let bare = Arc::new(schema.project(&[0, 1, 2, 3]).unwrap());
            ctx.deregister_table(input_table("pension")).unwrap();
            ctx.register_table(
                input_table("pension"),
                Arc::new(work::DiskTable::new(bare, written)),
            )
            .unwrap();
            assert!(disk_links(&ctx, "pension").await.unwrap().is_none());
        }
    }

    #[tokio::test]
    async fn beside_in_memory_and_on_disk_give_what_the_join_gives() {
        // Two parts (files), the first in two batches; one row superseded.
        let batches = [
            rows(&[0, 1, 2], &[1]),
            rows(&[3], &[1]),
            rows(&[PLACE, PLACE + 1], &[1]),
        ];

        // The join itself is the reference.
        let memory = memory_session(&batches, resolved_ids());
        let joined = memory
            .sql(&format!(
                "SELECT * FROM ({}) ORDER BY \"_ord\"",
                attach_sql(&memory, "roster").await.unwrap()
            ))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let expected = concat_batches(&joined[0].schema(), &joined).unwrap();
        assert_eq!(expected.num_rows(), 6, "one row each, no more, no less");
        attach_persons(&memory, &["roster"]).await.unwrap();
        assert_eq!(sorted(&memory).await, expected);

        // An index of the resolved IDs in memory, and a sorted pass; each
        // alone and as one of the extracts attached together.
        for (index_bytes, together) in [(u64::MAX, false), (0, false), (u64::MAX, true), (0, true)]
        {
            let dir = tempfile::tempdir().unwrap();
            let disk = engine::DiskTables {
                dir: dir.path().join("work"),
                memory_limit: 64 << 20,
            };
            let ctx = engine::session_with(2, Some(&disk)).unwrap();
            engine::register_batch(
                &ctx,
                &resolve::tables::resolved_ids_of("roster"),
                resolved_ids(),
            )
            .unwrap();
            let unmarked = |b: &RecordBatch| {
                rows(
                    b.column(0)
                        .as_any()
                        .downcast_ref::<UInt64Array>()
                        .unwrap()
                        .values(),
                    &[],
                )
            };
            let mut parts = Vec::new();
            for (i, part) in [&batches[..2], &batches[2..]].into_iter().enumerate() {
                let mut w = work::WorkPartWriter::create(
                    &dir.path().join(format!("{i:04}")),
                    &extract_schema(),
                )
                .unwrap();
                for b in part {
                    w.write(&unmarked(b)).unwrap();
                }
                parts.push(w.finish().unwrap());
            }
            let table = DiskExtract {
                parts,
                schema: extract_schema(),
                superseded: vec![1],
            };
            register_disk_extract(&ctx, "roster", &table).await.unwrap();
            if together {
                attach_all_beside(&ctx, vec![("roster", table)], index_bytes, index_bytes, 2)
                    .await
                    .unwrap();
            } else {
                let table = attach_beside(&ctx, "roster", table, index_bytes)
                    .await
                    .unwrap();
                assert_eq!(table.parts[0].columns(), 8, "4 columns and 4 beside");
            }
            let got = sorted(&ctx).await;

            assert_eq!(got.schema(), expected.schema());
            assert_eq!(got, expected);
            let person = got.column_by_name("person_id").unwrap();
            let person: Vec<_> = person
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .iter()
                .collect();
            assert_eq!(person, [Some("P0"), None, None, None, None, Some("P5")]);

            // Dropped, the extract leaves neither its tables nor its
            // view's look-up behind.
            use datafusion::execution::FunctionRegistry;
            assert!(ctx.udf(&superseded_udf("roster")).is_ok());
            drop_extracts(&ctx, &["roster"]).unwrap();
            assert!(ctx.udf(&superseded_udf("roster")).is_err());
            for table in [
                "roster",
                &input_table("roster"),
                &superseded_table("roster"),
            ] {
                assert!(!ctx.table_exist(table).unwrap(), "{table}");
            }
        }
    }

    #[test]
    fn a_superseded_ord_is_found_in_its_own_file_and_row_only() {
        use crate::extract::table::ord_of;
        let ords = [
            ord_of(0, 1),
            ord_of(0, 64),
            ord_of(2, 0),
            ord_of(2, 1_000_003),
        ];
        let udf = SupersededUdf::new("roster", &ords);
        assert_eq!(udf.name, "_superseded_of_roster");
        for ord in ords {
            assert!(udf.is_superseded(ord), "{ord}");
        }
        for ord in [
            ord_of(0, 0),
            ord_of(0, 2),
            ord_of(0, 63),
            ord_of(0, 65),
            ord_of(1, 1),
            ord_of(2, 1_000_002),
            ord_of(2, 5_000_000),
            ord_of(3, 0),
        ] {
            assert!(!udf.is_superseded(ord), "{ord}");
        }
        let none = SupersededUdf::new("roster", &[]);
        assert!(!none.is_superseded(ord_of(0, 0)));
    }

    /// The error of attaching `resolved` to one part of rows `ords` on disk,
    /// from an index of `resolved` (`index_bytes` enough) or a sorted pass.
    async fn attach_error(resolved: RecordBatch, ords: &[u64], index_bytes: u64) -> String {
        let dir = tempfile::tempdir().unwrap();
        let disk = engine::DiskTables {
            dir: dir.path().join("work"),
            memory_limit: 64 << 20,
        };
        let ctx = engine::session_with(1, Some(&disk)).unwrap();
        engine::register_batch(&ctx, &resolve::tables::resolved_ids_of("roster"), resolved)
            .unwrap();
        let mut w =
            work::WorkPartWriter::create(&dir.path().join("0000"), &extract_schema()).unwrap();
        w.write(&rows(ords, &[])).unwrap();
        let table = DiskExtract {
            parts: vec![w.finish().unwrap()],
            schema: extract_schema(),
            superseded: vec![],
        };
        register_disk_extract(&ctx, "roster", &table).await.unwrap();
        let err = attach_beside(&ctx, "roster", table, index_bytes)
            .await
            .unwrap_err();
        err.to_string()
    }

    #[tokio::test]
    async fn two_persons_for_one_field_of_a_row_are_an_error() {
        let twice =
            concat_batches(&resolved_ids().schema(), &[resolved_ids(), resolved_ids()]).unwrap();
        for index_bytes in [u64::MAX, 0] {
            let err = attach_error(twice.clone(), &[0, 1], index_bytes).await;
            assert!(err.contains("two persons"), "{err}");
        }
    }

    #[tokio::test]
    async fn in_memory_a_guardian_and_an_empty_extract_get_what_the_join_gives() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("_ord", DataType::UInt64, false),
            Field::new("id_number", DataType::Utf8, true),
            Field::new("guardian_id", DataType::Utf8, true),
        ]));
        let ords = [0, 1, 2, PLACE];
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(UInt64Array::from(ords.to_vec())),
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    None,
                    Some("c"),
                    Some("d"),
                ])),
                Arc::new(StringArray::from(vec![
                    Some("g"),
                    Some("h"),
                    None,
                    Some("j"),
                ])),
            ],
        )
        .unwrap();
        let resolved = resolved_batch(&[
            ("education", 0, "id_number", Some("P0"), "exact", 1.0),
            ("education", 1, "guardian_id", Some("G1"), "repaired", 0.9),
            ("education", PLACE, "id_number", None, "unlinked", 0.0),
            ("education", PLACE, "guardian_id", Some("GP"), "exact", 1.0),
        ]);
        let ctx = engine::session(2);
        engine::register_batch(
            &ctx,
            &resolve::tables::resolved_ids_of("education"),
            resolved.clone(),
        )
        .unwrap();
        engine::register_batch(
            &ctx,
            &resolve::tables::resolved_ids_of("pension"),
            resolved.slice(0, 0),
        )
        .unwrap();
        engine::register_batches(&ctx, "education", schema.clone(), vec![batch]).unwrap();
        engine::register_batches(&ctx, "pension", schema, Vec::new()).unwrap();
        let mut expected = Vec::new();
        for name in ["education", "pension"] {
            let sql = format!(
                "SELECT * FROM ({}) ORDER BY \"_ord\"",
                attach_sql(&ctx, name).await.unwrap()
            );
            let joined = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
            let schema = ctx.sql(&sql).await.unwrap().schema().as_arrow().clone();
            expected.push(concat_batches(&Arc::new(schema), &joined).unwrap());
        }
        attach_persons(&ctx, &["education", "pension"])
            .await
            .unwrap();
        for (name, expected) in ["education", "pension"].into_iter().zip(expected) {
            let got = ctx
                .sql(&format!("SELECT * FROM {name} ORDER BY \"_ord\""))
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            let got = concat_batches(&expected.schema(), &got).unwrap();
            assert_eq!(got, expected, "{name}");
        }
        let guardians = ctx
            .sql("SELECT guardian_person_id FROM education ORDER BY \"_ord\"")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let guardians: Vec<Option<&str>> = guardians[0]
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(guardians, [None, Some("G1"), None, Some("GP")]);
    }

    #[tokio::test]
    async fn two_persons_for_one_field_of_a_row_in_memory_are_an_error() {
        let twice =
            concat_batches(&resolved_ids().schema(), &[resolved_ids(), resolved_ids()]).unwrap();
        let memory = memory_session(&[rows(&[0, 1], &[])], twice);
        let err = attach_persons(&memory, &["roster"]).await.unwrap_err();
        assert!(err.to_string().contains("two persons"), "{err}");
    }

    #[test]
    fn extracts_are_attached_together_while_their_indexes_fit_the_budget() {
        // None running: the first (largest) starts, even the sorted pass.
        assert_eq!(next_to_attach(&[Some(70), Some(20)], &[], 100, 2), Some(0));
        assert_eq!(next_to_attach(&[None, Some(20)], &[], 100, 2), Some(0));
        // Beside 70 of 100: 40 waits, the next that fits (30) starts.
        let waiting = [Some(40), Some(30), Some(5)];
        assert_eq!(next_to_attach(&waiting, &[Some(70)], 100, 2), Some(1));
        assert_eq!(next_to_attach(&waiting, &[Some(60)], 100, 2), Some(0));
        // Nothing fits beside 99; a sorted pass runs alone, and none
        // starts beside another.
        assert_eq!(next_to_attach(&waiting, &[Some(99)], 100, 2), None);
        assert_eq!(next_to_attach(&waiting, &[None], 100, 2), None);
        assert_eq!(next_to_attach(&[None], &[Some(1)], 100, 2), None);
        // No more than at_once (one at least); nothing waiting, nothing.
        assert_eq!(next_to_attach(&waiting, &[Some(1), Some(1)], 100, 2), None);
        assert_eq!(next_to_attach(&waiting, &[Some(1)], 100, 1), None);
        assert_eq!(next_to_attach(&waiting, &[Some(1)], 100, 0), None);
        assert_eq!(next_to_attach(&[], &[Some(1)], 100, 2), None);
        assert_eq!(next_to_attach(&[], &[], 100, 2), None);
    }

    #[test]
    fn an_index_holds_an_entry_for_each_field_of_each_row_looked_up() {
        // Every row looked up: an entry for each field of each row.
        assert_eq!(index_need(1000, 2, None), 1000 * 2 * INDEXED_ENTRY_BYTES);
        assert_eq!(index_need(1000, 3, None), 1000 * 3 * INDEXED_ENTRY_BYTES);
        assert_eq!(index_need(0, 3, None), 0, "no rows need no room");
        assert_eq!(index_need(u64::MAX / 2, 3, None), u64::MAX, "no overflow");
        // With the direct persons: the other rows' entries, and a slot for
        // each field of every row.
        assert_eq!(
            index_need(1000, 2, Some(30)),
            30 * INDEXED_ENTRY_BYTES + 1000 * 2 * SLOT_BYTES
        );
        assert!(index_need(1000, 2, Some(30)) < index_need(1000, 2, None));
        assert_eq!(index_need(u64::MAX / 2, 3, Some(u64::MAX)), u64::MAX);
    }

    #[test]
    fn the_fields_attached_are_those_with_a_person_column() {
        let schema = |columns: &[&str]| {
            Schema::new(
                columns
                    .iter()
                    .map(|c| Field::new(*c, DataType::Utf8, true))
                    .collect::<Vec<_>>(),
            )
        };
        let roster = schema(&["person_id", "person_method", "head_person_id"]);
        let fields: Vec<_> = attached_fields(&roster).collect();
        assert_eq!(fields, ["id_number", "head_id"]);
        let education = schema(&["person_id", "guardian_person_id"]);
        let fields: Vec<_> = attached_fields(&education).collect();
        assert_eq!(fields, ["id_number", "guardian_id"]);
    }

    #[tokio::test]
    async fn rows_out_of_order_are_an_error() {
        for index_bytes in [u64::MAX, 0] {
            let err = attach_error(resolved_ids(), &[2, 1], index_bytes).await;
            assert!(err.contains("_ord order"), "{err}");
        }
    }
}
