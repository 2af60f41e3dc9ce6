//! The DataFusion session every relational step runs in: one place that fixes
//! the settings (thread count, string types), registers tables and registers
//! the domain kernels as UDFs so that plans can call them by name. A later
//! Ballista deployment registers the same [`udfs`] on its executors.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, StringArray, StringBuilder,
};
use datafusion::arrow::compute::{BatchCoalescer, cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, MemoryLimit};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;

use crate::normalize::name::{NameAgreement, name_agreement};

pub mod work;

/// Rows per batch: fixed so that a plan's batching never depends on defaults
/// that may change between DataFusion versions.
const BATCH_SIZE: usize = 8192;

/// The largest join side that an in-memory session builds once rather than
/// partitions by hash: by its size in bytes when the planner knows it (an
/// in-memory table's it always does), else by its rows (DataFusion's
/// defaults: 1 MiB, 128 Ki rows).
const COLLECTED_JOIN_SIDE_BYTES: usize = 256 << 20;
const COLLECTED_JOIN_SIDE_ROWS: usize = 4 << 20;

/// A session with `threads` target partitions (at least 1), its tables in
/// memory. Results of every plan in hedui are sorted by a total order before
/// they leave the engine, so the thread count changes speed only, never bytes.
pub fn session(threads: usize) -> SessionContext {
    session_with(threads, None).expect("a session without a disk folder always builds")
}

/// Where the tables that plans produce ([`materialize`]) are kept, and how
/// much memory the engine's sorts and aggregates may hold before they spill.
#[derive(Debug, Clone)]
pub struct DiskTables {
    /// The folder (created, owner-only) that holds the tables as work files
    /// ([`work`]) and the engine's spill files; removed with the session's
    /// last handle.
    pub dir: PathBuf,
    /// Bytes the engine's memory pool holds before sorts and aggregates
    /// spill to `dir`.
    pub memory_limit: usize,
}

/// The disk folder of a session that keeps its tables on disk: a config
/// extension, so that [`materialize`] finds it from the context alone.
#[derive(Debug)]
struct DiskFolder {
    dir: PathBuf,
    seq: AtomicU64,
    /// Table name → the folder that holds it now.
    current: Mutex<HashMap<String, PathBuf>>,
    /// The threads removing the folders of dropped tables ([`drop_tables`]).
    removing: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Drop for DiskFolder {
    fn drop(&mut self) {
        let removing = std::mem::take(
            self.removing
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for thread in removing {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Deregisters the tables `names` (those not registered are passed over).
/// On disk their folders are removed on a thread of their own, beside what
/// the run does next, and waited for when the session's folder goes: at a
/// city, removing the work files at the end took 11 s. No view may still
/// read these tables' rows (one whose plan the optimizer makes empty, such
/// as resolution's union of no extracts, reads none).
pub fn drop_tables(ctx: &SessionContext, names: &[&str]) -> Result<()> {
    drop_tables_and(ctx, names, Vec::new())
}

/// [`drop_tables`], and the folders `also` removed with their folders: work
/// files written into the session's disk folder beside its tables (the
/// read stage's), which the dropped tables read. A folder that is not
/// strictly inside the session's disk folder (or names a parent, `..`) is
/// an error, and nothing is removed.
pub fn drop_tables_and(ctx: &SessionContext, names: &[&str], also: Vec<PathBuf>) -> Result<()> {
    let disk = disk_folder(ctx);
    let inside = |dir: &PathBuf| {
        disk.as_ref().is_some_and(|d| {
            dir.starts_with(&d.dir)
                && dir != &d.dir
                && !dir
                    .components()
                    .any(|c| c == std::path::Component::ParentDir)
        })
    };
    if let Some(outside) = also.iter().find(|dir| !inside(dir)) {
        return Err(DataFusionError::Internal(format!(
            "{} is not in the session's disk folder",
            outside.display()
        )));
    }
    for name in names {
        ctx.deregister_table(*name)?;
    }
    let Some(disk) = disk else {
        return Ok(());
    };
    let dirs: Vec<PathBuf> = {
        let mut current = disk
            .current
            .lock()
            .expect("the table map is never poisoned");
        let mut dirs: Vec<PathBuf> = names.iter().filter_map(|n| current.remove(*n)).collect();
        dirs.extend(also);
        dirs
    };
    if !dirs.is_empty() {
        let thread = std::thread::spawn(move || {
            for dir in dirs {
                let _ = std::fs::remove_dir_all(dir);
            }
        });
        disk.removing
            .lock()
            .expect("the removal list is never poisoned")
            .push(thread);
    }
    Ok(())
}

/// A session with `threads` target partitions whose materialised tables go
/// to `disk` when given (for inputs larger than memory): they are written as
/// Arrow IPC work files ([`work`]) and read back as streams, and sorts and
/// aggregates spill past the memory limit. Results are the same bytes either
/// way.
/// A small input's session is then given one partition
/// ([`mark_small_input`]).
pub fn session_with(threads: usize, disk: Option<&DiskTables>) -> Result<SessionContext> {
    let mut config = SessionConfig::new()
        .with_target_partitions(threads.max(1))
        .with_batch_size(BATCH_SIZE)
        .with_information_schema(false);
    // Our tables hold Utf8; keep `CAST(… AS VARCHAR)` and string literals
    // in the same type so that outputs have one stable schema.
    config.options_mut().sql_parser.map_string_types_to_utf8view = false;
    // One pass of the logical optimizer, not up to three: hedui's queries
    // are written with their filters and joins where they belong, and the
    // second pass changed no output. Planning is most of a query's time on a
    // small batch: 0.565 → 0.52 s (medians of 10) on 40,000 rows; a county
    // was no slower (29.1 s against 33.7 s, one run each).
    config.options_mut().optimizer.max_passes = 1;
    if disk.is_none() {
        // In memory, a join's smaller side of up to some hundred megabytes
        // is built once and shared, so the larger side is not repartitioned
        // by hash (a copy of every row). At a county in session 18, the
        // observations (6.6 M rows) then joined with the direct levels (about
        // 650 k; since session 26 a lookup, see resolve::direct): resolved
        // links 1.4–2.2 s against 2.0–3.1 s, the persons attached after them
        // 0.3–0.6 s against 0.5–0.8 s, peak memory 4.8–5.0 against 5.3–5.5
        // GB, outputs byte-identical (BENCHMARKS.md, session 18). The
        // persons' attach and the rules' joins still build such sides. On
        // disk the defaults stay: a side built once is one reservation of
        // the memory pool, which may be as small as 256 MiB.
        let optimizer = &mut config.options_mut().optimizer;
        optimizer.hash_join_single_partition_threshold_rows = COLLECTED_JOIN_SIDE_ROWS;
        optimizer.hash_join_single_partition_threshold = COLLECTED_JOIN_SIDE_BYTES;
    }
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(disk) = disk {
        crate::report::output::create_private_dir(&disk.dir.join("spill"))
            .map_err(|e| DataFusionError::Execution(format!("{}: {e}", disk.dir.display())))?;
        config = config.with_extension(Arc::new(DiskFolder {
            dir: disk.dir.clone(),
            seq: AtomicU64::new(0),
            current: Mutex::new(HashMap::new()),
            removing: Mutex::new(Vec::new()),
        }));
        runtime = runtime
            .with_memory_pool(Arc::new(FairSpillPool::new(disk.memory_limit)))
            .with_disk_manager_builder(
                DiskManagerBuilder::default()
                    .with_mode(DiskManagerMode::Directories(vec![disk.dir.join("spill")])),
            );
    }
    let ctx = SessionContext::new_with_config_rt(config, runtime.build_arc()?);
    register_udfs(&ctx);
    Ok(ctx)
}

/// Marks a session whose input is small ([`mark_small_input`]).
#[derive(Debug)]
struct SmallInput {
    /// How many jobs [`side_by_side`] runs at once: the session's threads.
    at_once: usize,
}

/// Marks the session's input as small (below `[engine] small_below_mb`, 64
/// MB by default): their queries' planning outweighs running them. Its
/// queries run in one partition each, [`side_by_side`] still runs as many
/// at once as the session has threads, and queries that copy whole tables
/// ([`Jobs::CopyTables`]) run side by side too. Split over partitions, a small query
/// spends more on repartitioning, planning the exchanges and starting
/// tasks than on its rows: on 40,000 rows (3 MB), medians of 12 runs, 0.48
/// → 0.40 s wall and 0.71 → 0.58 s CPU; on the 34 MB small batch no slower
/// (BENCHMARKS.md, session 20). Outputs are the same bytes.
pub fn mark_small_input(ctx: &SessionContext) {
    let state = ctx.state_ref();
    let mut state = state.write();
    let config = state.config_mut();
    if config.get_extension::<SmallInput>().is_some() {
        return;
    }
    let at_once = config.target_partitions().max(1);
    config.options_mut().execution.target_partitions = 1;
    config.set_extension(Arc::new(SmallInput { at_once }));
}

/// Orders jobs in waves for [`side_by_side`]: each job (by index) in the
/// first wave after every job whose name it reads (`reads[i]`; its own
/// name and names that are not among `names` do not hold it back), in the
/// order given within a wave. `None` when jobs read each other in a circle.
pub fn waves(names: &[&str], reads: &[Vec<&str>]) -> Option<Vec<Vec<usize>>> {
    let mut done = vec![false; names.len()];
    let waits_for = |r: &str| names.iter().position(|n| *n == r);
    let mut waves = Vec::new();
    while done.iter().any(|d| !d) {
        let wave: Vec<usize> = (0..names.len())
            .filter(|&i| {
                !done[i]
                    && reads[i]
                        .iter()
                        .all(|r| waits_for(r).is_none_or(|j| j == i || done[j]))
            })
            .collect();
        if wave.is_empty() {
            return None;
        }
        for &i in &wave {
            done[i] = true;
        }
        waves.push(wave);
    }
    Some(waves)
}

/// What the jobs given to [`side_by_side`] do, which decides how many run
/// at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jobs {
    /// Aggregates and lookups that yield little: as many at once as the
    /// session has threads, in memory. Planning a query is single-threaded
    /// and takes milliseconds (most of a rule's time on a small input);
    /// side by side, the rules of a county took 3.0–3.2 s against 3.6 s.
    /// On disk too while the memory pool holds at least
    /// [`DISK_SIDE_BY_SIDE_MEMORY`]: at a city (8 GB pool) the rules stage
    /// took 18.6 s against 22.5 s, peak memory unchanged (6.9 against 6.8
    /// GB).
    Queries,
    /// Each job yields or copies a large table (the resolve outputs, the
    /// persons' sort among them): at a county two at once contended for
    /// memory and were no faster (0.57 s against 0.54 s; a join that
    /// copied the extracts, 2.2 s against 1.8 s), so they run side by side
    /// only for a small input.
    CopyTables,
}

/// Runs `jobs` (queries that only read the session's tables, or each write
/// a table of its own) side by side, as [`Jobs`] says, and returns their
/// results in the order given. A session on disk (an input larger than
/// memory) runs them one at a time unless they are [`Jobs::Queries`] and
/// its memory pool holds at least [`DISK_SIDE_BY_SIDE_MEMORY`], so that two
/// queries' hash tables (which do not spill) never share a small memory
/// limit. On the first job (in that order) that fails or
/// panics, no further job starts, those running are stopped and waited
/// for, and the error is returned or the panic resumed, as inline.
pub async fn side_by_side<T, F>(ctx: &SessionContext, kind: Jobs, jobs: Vec<F>) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let small = ctx.state().config().get_extension::<SmallInput>();
    let disk_alone = on_disk(ctx) && (kind == Jobs::CopyTables || !pool_holds_two_queries(ctx));
    let at_once = if disk_alone || (kind == Jobs::CopyTables && small.is_none()) {
        1
    } else if let Some(small) = small {
        small.at_once
    } else {
        ctx.state().config().target_partitions().max(1)
    };
    let mut waiting = jobs.into_iter();
    let mut running = std::collections::VecDeque::new();
    let mut results = Vec::new();
    let failed = loop {
        while running.len() < at_once {
            match waiting.next() {
                Some(job) => running.push_back(tokio::spawn(job)),
                None => break,
            }
        }
        let Some(first) = running.pop_front() else {
            return Ok(results);
        };
        match first.await {
            Ok(Ok(result)) => results.push(result),
            failed => break failed,
        }
    };
    stop_all(running).await;
    match failed {
        Ok(result) => result.map(|_| Vec::new()),
        Err(e) => Err(join_failure(e)),
    }
}

/// Nothing may outlive a failure: the jobs still running are stopped, and
/// waited for, so that none registers a table after the failure is
/// returned.
pub(crate) async fn stop_all<T>(jobs: impl IntoIterator<Item = tokio::task::JoinHandle<T>>) {
    let jobs: Vec<_> = jobs.into_iter().collect();
    for job in &jobs {
        job.abort();
    }
    for job in jobs {
        let _ = job.await;
    }
}

/// A job that did not finish, as running it inline would have ended: its
/// panic resumed here, else an error.
pub(crate) fn join_failure(e: tokio::task::JoinError) -> DataFusionError {
    if e.is_panic() {
        std::panic::resume_unwind(e.into_panic());
    }
    DataFusionError::External(Box::new(e))
}

/// The memory pool a session on disk runs [`Jobs::Queries`] side by side
/// in: at least 4 GiB, so that each of two has 2 GiB for the hash tables
/// that do not spill (a city's largest join of a rule builds far less; its
/// whole run peaks at 7 GB). A smaller `[engine] memory_limit_mb` runs them
/// one at a time, as before.
pub const DISK_SIDE_BY_SIDE_MEMORY: usize = 4 << 30;

/// Whether the session's memory pool holds [`DISK_SIDE_BY_SIDE_MEMORY`].
fn pool_holds_two_queries(ctx: &SessionContext) -> bool {
    match ctx.runtime_env().memory_pool.memory_limit() {
        MemoryLimit::Finite(limit) => limit >= DISK_SIDE_BY_SIDE_MEMORY,
        MemoryLimit::Infinite => true,
        MemoryLimit::Unknown => false,
    }
}

fn disk_folder(ctx: &SessionContext) -> Option<Arc<DiskFolder>> {
    ctx.state().config().get_extension::<DiskFolder>()
}

/// Whether `ctx` keeps its materialised tables on disk.
pub fn on_disk(ctx: &SessionContext) -> bool {
    disk_folder(ctx).is_some()
}

/// Every domain kernel hedui's plans call, ready to register on a context (or
/// on a Ballista executor's function registry).
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::from(NameAgreesUdf::new()),
        ScalarUDF::from(PairTestUdf {
            name: "sci_notation_fits",
            signature: Signature::string(2, Volatility::Immutable),
            test: crate::normalize::id::sci_notation_fits,
        }),
    ]
}

/// Registers [`udfs`] on `ctx`.
pub fn register_udfs(ctx: &SessionContext) {
    for udf in udfs() {
        ctx.register_udf(udf);
    }
}

/// Registers `batch` as table `name`, replacing a table of that name.
pub fn register_batch(ctx: &SessionContext, name: &str, batch: RecordBatch) -> Result<()> {
    register_batches(ctx, name, batch.schema(), vec![batch])
}

/// Registers `batches` (one partition, in order) as table `name`, replacing a
/// table of that name.
pub fn register_batches(
    ctx: &SessionContext,
    name: &str,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<()> {
    register_partitions(ctx, name, schema, vec![batches])
}

/// Runs `sql` and registers its result, computed once, as table `name`
/// (replacing a table of that name). For intermediate tables that later plans
/// read more than once. A session on disk writes each partition of the
/// result as it streams to a work file ([`work`]) and reads the table from
/// there.
pub async fn materialize(ctx: &SessionContext, name: &str, sql: &str) -> Result<()> {
    let df = ctx.sql(sql).await?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let Some(disk) = disk_folder(ctx) else {
        let partitions = df.collect_partitioned().await?;
        return register_partitions(ctx, name, schema, partitions);
    };
    let dir = disk.table_dir(name)?;
    let schema = plain_schema(&schema);
    let streams = df.execute_stream_partitioned().await?;
    let mut tasks = Vec::new();
    for (i, stream) in streams.into_iter().enumerate() {
        let stem = dir.join(format!("part-{i:04}"));
        let schema = schema.clone();
        tasks.push(tokio::spawn(write_work_part(stem, schema, stream)));
    }
    let mut parts = Vec::new();
    for task in tasks {
        parts.push(
            task.await
                .map_err(|e| DataFusionError::Execution(format!("writing {name}: {e}")))??,
        );
    }
    disk.register(ctx, name, dir, schema, parts)
}

/// Registers in-memory partitions as table `name`, replacing a table of
/// that name.
pub fn register_partitions(
    ctx: &SessionContext,
    name: &str,
    schema: SchemaRef,
    mut partitions: Vec<Vec<RecordBatch>>,
) -> Result<()> {
    if partitions.is_empty() {
        partitions.push(Vec::new());
    }
    let table = MemTable::try_new(schema, partitions)?;
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

impl DiskFolder {
    /// A new, owner-only folder for the files of table `name`.
    fn table_dir(&self, name: &str) -> Result<PathBuf> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let dir = self.dir.join(format!("{seq:04}-{name}"));
        crate::report::output::create_private_dir(&dir)
            .map_err(|e| DataFusionError::Execution(format!("{}: {e}", dir.display())))?;
        Ok(dir)
    }

    /// Registers `parts` (written to `dir`) as table `name`, replacing a
    /// table of that name; the files of the table it replaces are removed.
    fn register(
        &self,
        ctx: &SessionContext,
        name: &str,
        dir: PathBuf,
        schema: SchemaRef,
        parts: Vec<work::WorkPart>,
    ) -> Result<()> {
        if parts.is_empty() {
            // A plan of no partitions: nothing was written.
            register_partitions(ctx, name, schema, Vec::new())?;
        } else {
            ctx.deregister_table(name)?;
            ctx.register_table(name, Arc::new(work::DiskTable::new(schema, parts)))?;
        }
        let old = self
            .current
            .lock()
            .expect("the table map is never poisoned")
            .insert(name.to_string(), dir);
        if let Some(old) = old {
            let _ = std::fs::remove_dir_all(old);
        }
        Ok(())
    }
}

/// `schema` with each dictionary column as its values' type. A work file
/// holds one dictionary a column (Arrow's IPC file format), and a query's
/// batches may each carry their own: a table on disk holds the values. (An
/// extract's `_file`, a dictionary of its part's one file name, is held
/// as that name once in the extract's own work parts, see
/// `engine::work::WorkPart`; a query's result over several files' rows
/// has several, and once stopped a city's run.)
fn plain_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Dictionary(_, values) => f.as_ref().clone().with_data_type(*values.clone()),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch` with its dictionary columns cast to `schema`'s (see
/// [`plain_schema`]).
fn plain_batch(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    if batch.schema().fields() == schema.fields() {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Writes one partition's stream to work files, batch by batch.
async fn write_work_part(
    stem: PathBuf,
    schema: SchemaRef,
    mut stream: SendableRecordBatchStream,
) -> Result<work::WorkPart> {
    let mut writer = RebatchedWriter::create(&stem, &schema)?;
    while let Some(batch) = stream.next().await {
        writer.push(plain_batch(batch?, &schema)?)?;
    }
    writer.finish()
}

/// A work part written in batches of the engine's size, whatever the plan
/// made (a filter or a join may give many small ones): the scans of the
/// table give them back as they were written.
struct RebatchedWriter {
    writer: work::WorkPartWriter,
    rebatch: Rebatch,
}

impl RebatchedWriter {
    fn create(stem: &std::path::Path, schema: &SchemaRef) -> Result<Self> {
        Ok(RebatchedWriter {
            writer: work::WorkPartWriter::create(stem, schema)?,
            rebatch: Rebatch::new(BATCH_SIZE),
        })
    }

    fn push(&mut self, batch: RecordBatch) -> Result<()> {
        for batch in self.rebatch.push(batch)? {
            self.writer.write(&batch)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<work::WorkPart> {
        if let Some(batch) = self.rebatch.finish()? {
            self.writer.write(&batch)?;
        }
        self.writer.finish()
    }
}

/// Runs `sql` as one stream of batches in the plan's order (the query must
/// end in an `ORDER BY` over a total order to be deterministic), without
/// collecting it: for outputs too large to hold.
pub async fn query_stream(ctx: &SessionContext, sql: &str) -> Result<SendableRecordBatchStream> {
    ctx.sql(sql).await?.execute_stream().await
}

/// Cuts a stream of batches into batches of exactly `rows` rows (the last
/// one shorter), so that what is written from it does not depend on how the
/// plan happened to batch its result: arrow's [`BatchCoalescer`], made on
/// the first batch's schema.
struct Rebatch {
    rows: usize,
    coalescer: Option<BatchCoalescer>,
}

impl Rebatch {
    fn new(rows: usize) -> Self {
        Rebatch {
            rows: rows.max(1),
            coalescer: None,
        }
    }

    /// Adds a batch; returns the full batches it completes.
    fn push(&mut self, batch: RecordBatch) -> Result<Vec<RecordBatch>> {
        let rows = self.rows;
        let coalescer = self
            .coalescer
            .get_or_insert_with(|| BatchCoalescer::new(batch.schema(), rows));
        coalescer.push_batch(batch)?;
        Ok(std::iter::from_fn(|| coalescer.next_completed_batch()).collect())
    }

    /// The last, shorter batch, if any rows are left.
    fn finish(self) -> Result<Option<RecordBatch>> {
        let Some(mut coalescer) = self.coalescer else {
            return Ok(None);
        };
        coalescer.finish_buffered_batch()?;
        Ok(coalescer.next_completed_batch())
    }
}

/// Runs `sql` and returns its result as one batch (in the plan's order: the
/// query must end in an `ORDER BY` over a total order to be deterministic).
pub async fn query_batch(ctx: &SessionContext, sql: &str) -> Result<RecordBatch> {
    let df = ctx.sql(sql).await?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    Ok(concat_batches(&schema, &batches)?)
}

/// The label `name_agrees` returns for a level. Plans compare against these.
pub fn agreement_label(level: NameAgreement) -> &'static str {
    match level {
        NameAgreement::Same => LEVEL_SAME,
        NameAgreement::Variant => LEVEL_VARIANT,
        NameAgreement::Homophone => LEVEL_HOMOPHONE,
        NameAgreement::Disagree => LEVEL_DISAGREE,
    }
}

pub const LEVEL_SAME: &str = "same";
pub const LEVEL_VARIANT: &str = "variant";
pub const LEVEL_HOMOPHONE: &str = "homophone";
pub const LEVEL_DISAGREE: &str = "disagree";

/// `name_agrees(a, b)`: how two names as written agree: `same`, `variant`,
/// `homophone` or `disagree`; null when either is null.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NameAgreesUdf {
    signature: Signature,
}

impl NameAgreesUdf {
    pub fn new() -> Self {
        Self {
            signature: Signature::string(2, Volatility::Immutable),
        }
    }
}

impl Default for NameAgreesUdf {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for NameAgreesUdf {
    fn name(&self) -> &str {
        "name_agrees"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let a = as_utf8(&arrays[0])?;
        let b = as_utf8(&arrays[1])?;
        let a = a
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8");
        let b = b
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8");
        let mut out = StringBuilder::with_capacity(a.len(), a.len() * 8);
        for i in 0..a.len() {
            if a.is_null(i) || b.is_null(i) {
                out.append_null();
            } else {
                out.append_value(agreement_label(name_agreement(a.value(i), b.value(i))));
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// A test of two strings as a function of the engine, `name(a, b)`:
/// boolean, null when either is null. `sci_notation_fits(id_raw, person_id)`:
/// whether an ID destroyed by scientific notation could have been the
/// person's ([`crate::normalize::id::sci_notation_fits`]).
#[derive(Debug)]
struct PairTestUdf {
    name: &'static str,
    signature: Signature,
    test: fn(&str, &str) -> bool,
}

// One function a name: the name tells two apart.
impl PartialEq for PairTestUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for PairTestUdf {}

impl std::hash::Hash for PairTestUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for PairTestUdf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (a, b) = (as_utf8(&arrays[0])?, as_utf8(&arrays[1])?);
        let (a, b) = (a.as_string::<i32>(), b.as_string::<i32>());
        let out: BooleanArray = a
            .iter()
            .zip(b.iter())
            .map(|(a, b)| Some((self.test)(a?, b?)))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

fn as_utf8(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(cast(array, &DataType::Utf8)?)
}

/// The physical plan of `sql`, one operator a line: for tests of how the
/// engine plans.
#[cfg(test)]
pub(crate) async fn plan_text(ctx: &SessionContext, sql: &str) -> String {
    let plan = ctx
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    datafusion::physical_plan::displayable(plan.as_ref())
        .indent(false)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::{Field, Schema};

    /// Work tables in `dir`/work, with a 64 MiB memory limit.
    fn test_disk(dir: &std::path::Path) -> DiskTables {
        DiskTables {
            dir: dir.join("work"),
            memory_limit: 64 << 20,
        }
    }

    /// Jobs that finish in the reverse of their order, each recording when
    /// it started and ended.
    fn timed_jobs(
        n: u64,
        log: &Arc<Mutex<Vec<(u64, &'static str)>>>,
    ) -> Vec<impl std::future::Future<Output = Result<u64>> + Send + 'static> {
        (0..n)
            .map(|i| {
                let log = log.clone();
                async move {
                    log.lock().unwrap().push((i, "start"));
                    let pause = std::time::Duration::from_millis(20 * (n - i));
                    tokio::task::spawn_blocking(move || std::thread::sleep(pause))
                        .await
                        .unwrap();
                    log.lock().unwrap().push((i, "end"));
                    Ok(i)
                }
            })
            .collect()
    }

    /// How many jobs ran at once at most.
    fn most_at_once(log: &[(u64, &'static str)]) -> usize {
        let mut now = 0usize;
        let mut most = 0;
        for (_, what) in log {
            if *what == "start" {
                now += 1;
                most = most.max(now);
            } else {
                now -= 1;
            }
        }
        most
    }

    #[test]
    fn sessions_plan_with_one_optimizer_pass_in_and_out_of_memory() {
        let dir = tempfile::tempdir().unwrap();
        let disk = test_disk(dir.path());
        for ctx in [session(2), session_with(2, Some(&disk)).unwrap()] {
            assert_eq!(ctx.state().config().options().optimizer.max_passes, 1);
        }
    }

    /// The hash join mode of `SELECT … FROM big JOIN side` when `side` has
    /// more rows than DataFusion's default build-once limit (128 Ki).
    async fn join_mode(ctx: &SessionContext) -> String {
        let keys = |n: u64| {
            let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::UInt64, false)]));
            let column = Arc::new(datafusion::arrow::array::UInt64Array::from_iter_values(
                0..n,
            ));
            (
                schema.clone(),
                RecordBatch::try_new(schema, vec![column]).unwrap(),
            )
        };
        for (name, n) in [("big", 600_000), ("side", 200_000)] {
            let (schema, batch) = keys(n);
            register_batches(ctx, name, schema, vec![batch]).unwrap();
        }
        let text = plan_text(ctx, "SELECT b.k FROM big b JOIN side s ON s.k = b.k").await;
        let mode = text.split("HashJoinExec: mode=").nth(1).expect(&text);
        mode.split(',').next().unwrap().to_string()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_memory_a_join_side_of_a_few_hundred_thousand_rows_is_built_once() {
        assert_eq!(join_mode(&session(2)).await, "CollectLeft");
        let dir = tempfile::tempdir().unwrap();
        let disk = test_disk(dir.path());
        let on_disk = session_with(2, Some(&disk)).unwrap();
        assert_eq!(join_mode(&on_disk).await, "Partitioned");
    }

    #[test]
    fn waves_wait_for_the_jobs_read_and_nothing_else() {
        let names = ["a", "b", "c", "d"];
        // c reads itself and an outside name; d reads b and a.
        let reads = vec![vec![], vec!["a"], vec!["c", "outside"], vec!["b", "a"]];
        assert_eq!(
            waves(&names, &reads),
            Some(vec![vec![0, 2], vec![1], vec![3]])
        );
        let circle = vec![vec!["b"], vec!["a"], vec![], vec![]];
        assert_eq!(waves(&names, &circle), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_side_by_side_give_their_results_in_order() {
        let ctx = session(2);
        let log = Arc::new(Mutex::new(Vec::new()));
        let results = side_by_side(&ctx, Jobs::Queries, timed_jobs(4, &log))
            .await
            .unwrap();
        assert_eq!(results, vec![0, 1, 2, 3]);
        assert_eq!(
            most_at_once(&log.lock().unwrap()),
            2,
            "two threads, two at once"
        );

        // Jobs that copy tables run one at a time unless the input is small.
        let log = Arc::new(Mutex::new(Vec::new()));
        let results = side_by_side(&ctx, Jobs::CopyTables, timed_jobs(3, &log))
            .await
            .unwrap();
        assert_eq!(results, vec![0, 1, 2]);
        assert_eq!(most_at_once(&log.lock().unwrap()), 1);
        // A small input's queries run in one partition each, and still two
        // at once, of either kind, however often it is marked.
        mark_small_input(&ctx);
        mark_small_input(&ctx);
        assert_eq!(ctx.state().config().target_partitions(), 1);
        for kind in [Jobs::CopyTables, Jobs::Queries] {
            let log = Arc::new(Mutex::new(Vec::new()));
            side_by_side(&ctx, kind, timed_jobs(3, &log)).await.unwrap();
            assert_eq!(most_at_once(&log.lock().unwrap()), 2, "{kind:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_disk_queries_run_side_by_side_only_in_a_large_memory_pool() {
        let dir = tempfile::tempdir().unwrap();
        let most = |limit: usize, kind: Jobs| {
            let disk = DiskTables {
                dir: dir.path().join(format!("work{limit}")),
                memory_limit: limit,
            };
            async move {
                let ctx = session_with(2, Some(&disk)).unwrap();
                let log = Arc::new(Mutex::new(Vec::new()));
                let results = side_by_side(&ctx, kind, timed_jobs(3, &log)).await.unwrap();
                assert_eq!(results, vec![0, 1, 2]);
                most_at_once(&log.lock().unwrap())
            }
        };
        let large = DISK_SIDE_BY_SIDE_MEMORY;
        assert_eq!(most(large, Jobs::Queries).await, 2);
        assert_eq!(most(large, Jobs::CopyTables).await, 1);
        assert_eq!(most(large - 1, Jobs::Queries).await, 1);
        assert_eq!(most(64 << 20, Jobs::Queries).await, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_still_running_when_another_fails_is_stopped_before_it_registers() {
        type Job = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>;
        let ctx = session(2);
        let late = ctx.clone();
        let jobs: Vec<Job> = vec![
            Box::pin(async {
                let pause = std::time::Duration::from_millis(20);
                tokio::task::spawn_blocking(move || std::thread::sleep(pause))
                    .await
                    .unwrap();
                Err(DataFusionError::Internal("the first job failed".into()))
            }),
            Box::pin(async move {
                let pause = std::time::Duration::from_millis(300);
                tokio::task::spawn_blocking(move || std::thread::sleep(pause))
                    .await
                    .unwrap();
                let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)]));
                register_partitions(&late, "late", schema, Vec::new())
            }),
        ];
        let err = side_by_side(&ctx, Jobs::Queries, jobs).await.unwrap_err();
        assert!(err.to_string().contains("the first job failed"), "{err}");
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(
            !ctx.table_exist("late").unwrap(),
            "the second job was stopped"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_job_fails_them_all_and_a_panic_is_not_swallowed() {
        let ctx = session(2);
        let jobs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = Result<u8>> + Send>>> = vec![
            Box::pin(async { Ok(1) }),
            Box::pin(async { Err(DataFusionError::Internal("job 2 failed".into())) }),
        ];
        let err = side_by_side(&ctx, Jobs::Queries, jobs).await.unwrap_err();
        assert!(err.to_string().contains("job 2 failed"), "{err}");

        let jobs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = Result<u8>> + Send>>> =
            vec![Box::pin(async { panic!("job 1 panicked") })];
        let panicked = tokio::spawn(async move {
            let ctx = session(2);
            side_by_side(&ctx, Jobs::Queries, jobs).await
        })
        .await
        .unwrap_err();
        assert!(panicked.is_panic());
        let message = panicked.into_panic();
        assert_eq!(message.downcast_ref::<&str>(), Some(&"job 1 panicked"));
    }

    #[tokio::test]
    async fn name_agrees_is_callable_from_sql() {
        let ctx = session(2);
        let batch = RecordBatch::try_from_iter(vec![
            (
                "a",
                Arc::new(StringArray::from(vec![Some("王小明"), Some("李四"), None])) as ArrayRef,
            ),
            (
                "b",
                Arc::new(StringArray::from(vec![
                    Some("王小明"),
                    Some("赵六"),
                    Some("x"),
                ])) as ArrayRef,
            ),
        ])
        .unwrap();
        register_batch(&ctx, "t", batch).unwrap();
        let out = query_batch(
            &ctx,
            "SELECT name_agrees(a, b) AS l FROM t ORDER BY a NULLS LAST",
        )
        .await
        .unwrap();
        let l = out
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        // ORDER BY a: 李四 < 王小明 in code-point order.
        assert_eq!(l.value(0), LEVEL_DISAGREE);
        assert_eq!(l.value(1), LEVEL_SAME);
        assert!(l.is_null(2));
    }

    #[test]
    fn rebatch_cuts_any_batching_into_fixed_sizes() {
        let batch = |from: i64, n: i64| {
            RecordBatch::try_from_iter(vec![(
                "x",
                Arc::new(datafusion::arrow::array::Int64Array::from_iter_values(
                    from..from + n,
                )) as ArrayRef,
            )])
            .unwrap()
        };
        let mut r = Rebatch::new(4);
        let mut out = Vec::new();
        for (from, n) in [(0, 3), (3, 0), (3, 6), (9, 1), (10, 3)] {
            out.extend(r.push(batch(from, n)).unwrap());
        }
        out.extend(r.finish().unwrap());
        let sizes: Vec<usize> = out.iter().map(|b| b.num_rows()).collect();
        assert_eq!(sizes, vec![4, 4, 4, 1]);
        let all = concat_batches(&out[0].schema(), &out).unwrap();
        assert_eq!(all, batch(0, 13));
        assert!(Rebatch::new(4).finish().unwrap().is_none());
    }

    #[tokio::test]
    async fn a_session_on_disk_keeps_materialised_tables_there() {
        let dir = tempfile::tempdir().unwrap();
        let disk = test_disk(dir.path());
        let ctx = session_with(2, Some(&disk)).unwrap();
        assert!(on_disk(&ctx));
        materialize(&ctx, "t", "SELECT 'a' AS x UNION ALL SELECT 'b' AS x")
            .await
            .unwrap();
        let first: Vec<_> = std::fs::read_dir(&disk.dir).unwrap().collect();
        // Replacing a table removes the files of the one it replaces.
        materialize(&ctx, "t", "SELECT x FROM t WHERE x = 'b'")
            .await
            .unwrap();
        let dirs: Vec<String> = std::fs::read_dir(&disk.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "spill")
            .collect();
        assert_eq!(first.len(), 2, "spill/ and the first table");
        assert_eq!(dirs, vec!["0001-t".to_string()]);
        let out = query_batch(&ctx, "SELECT x FROM t").await.unwrap();
        assert_eq!(out.num_rows(), 1);
        assert_eq!(out.schema().field(0).data_type(), &DataType::Utf8);
        drop(ctx);
        assert!(!disk.dir.exists(), "the folder goes with the session");
    }

    /// A query whose batches each carry their own dictionary (the file
    /// names of an extract's files, as the tables in memory hold them) is
    /// written to disk as the dictionaries' values: a work file holds one
    /// dictionary a column, and the rebatched batches, across the seam,
    /// hold both (Arrow's IPC writer refused them and stopped a city run).
    #[tokio::test]
    async fn a_table_on_disk_holds_the_values_of_a_dictionary_column() {
        use datafusion::arrow::array::{DictionaryArray, Int32Array};
        use datafusion::arrow::datatypes::Int32Type;
        let dir = tempfile::tempdir().unwrap();
        let disk = test_disk(dir.path());
        let ctx = session_with(1, Some(&disk)).unwrap();
        let file = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let schema = Arc::new(Schema::new(vec![Field::new("_file", file, false)]));
        let rows = BATCH_SIZE + BATCH_SIZE / 2;
        let batch = |name: &str| {
            let keys = Int32Array::from(vec![0; rows]);
            let values = Arc::new(StringArray::from(vec![name]));
            let column = DictionaryArray::<Int32Type>::new(keys, values);
            RecordBatch::try_new(schema.clone(), vec![Arc::new(column)]).unwrap()
        };
        register_batches(
            &ctx,
            "t",
            schema.clone(),
            vec![batch("a.csv"), batch("b.csv")],
        )
        .unwrap();
        materialize(&ctx, "m", "SELECT _file FROM t").await.unwrap();
        let out = query_batch(
            &ctx,
            "SELECT _file, count(*) AS n FROM m GROUP BY _file ORDER BY _file",
        )
        .await
        .unwrap();
        assert_eq!(out.schema().field(0).data_type(), &DataType::Utf8);
        let names = out
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(
            names.iter().flatten().collect::<Vec<_>>(),
            ["a.csv", "b.csv"]
        );
        let counts = datafusion::arrow::compute::cast(out.column(1), &DataType::UInt64).unwrap();
        let counts = counts
            .as_any()
            .downcast_ref::<datafusion::arrow::array::UInt64Array>()
            .unwrap();
        assert_eq!(counts.values().to_vec(), vec![rows as u64; 2]);
    }

    #[tokio::test]
    async fn a_dropped_table_is_deregistered_and_its_folder_removed_beside() {
        let dir = tempfile::tempdir().unwrap();
        let disk = test_disk(dir.path());
        let ctx = session_with(2, Some(&disk)).unwrap();
        for (name, sql) in [("a", "SELECT 'a' AS x"), ("b", "SELECT 'b' AS x")] {
            materialize(&ctx, name, sql).await.unwrap();
        }
        let folder = |n: &str| disk.dir.join(n);
        assert!(folder("0000-a").exists() && folder("0001-b").exists());
        // A name not registered is passed over.
        drop_tables(&ctx, &["a", "never"]).unwrap();
        assert!(!ctx.table_exist("a").unwrap());
        // Removed on a thread of its own: waited for here.
        for _ in 0..600 {
            if !folder("0000-a").exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(!folder("0000-a").exists(), "a's folder is removed");
        assert!(folder("0001-b").exists(), "b's is not");
        let out = query_batch(&ctx, "SELECT x FROM b").await.unwrap();
        assert_eq!(out.num_rows(), 1);
        drop(ctx);
        assert!(!disk.dir.exists(), "the folder goes with the session");

        // In memory the tables are deregistered alone.
        let memory = session(2);
        materialize(&memory, "a", "SELECT 'a' AS x").await.unwrap();
        drop_tables(&memory, &["a"]).unwrap();
        assert!(!memory.table_exist("a").unwrap());
    }

    #[tokio::test]
    async fn folders_dropped_with_tables_must_be_the_session_s() {
        let dir = tempfile::tempdir().unwrap();
        let disk = test_disk(dir.path());
        let ctx = session_with(2, Some(&disk)).unwrap();
        materialize(&ctx, "a", "SELECT 'a' AS x").await.unwrap();
        let inside = disk.dir.join("input");
        let outside = dir.path().join("elsewhere");
        for folder in [&inside, &outside] {
            std::fs::create_dir_all(folder).unwrap();
            std::fs::write(folder.join("f"), "x").unwrap();
        }
        // A folder outside, the session's own, or one through `..`: an
        // error, and nothing dropped.
        let through_parent = disk.dir.join("..").join("elsewhere");
        for wrong in [outside.clone(), disk.dir.clone(), through_parent] {
            assert!(drop_tables_and(&ctx, &["a"], vec![inside.clone(), wrong]).is_err());
        }
        assert!(ctx.table_exist("a").unwrap() && inside.exists());
        drop_tables_and(&ctx, &["a"], vec![inside.clone()]).unwrap();
        assert!(!ctx.table_exist("a").unwrap());
        for _ in 0..600 {
            if !inside.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(!inside.exists(), "the session's folder is removed");
        assert!(outside.join("f").exists());
        // In memory there is no folder to remove: any is an error.
        let memory = session(2);
        assert!(drop_tables_and(&memory, &[], vec![outside.clone()]).is_err());
        assert!(outside.join("f").exists());
    }

    #[tokio::test]
    async fn register_batch_replaces_a_table() {
        let ctx = session(1);
        let one = RecordBatch::try_from_iter(vec![(
            "x",
            Arc::new(StringArray::from(vec!["a"])) as ArrayRef,
        )])
        .unwrap();
        register_batch(&ctx, "t", one.clone()).unwrap();
        register_batch(&ctx, "t", one).unwrap();
        let out = query_batch(&ctx, "SELECT x FROM t").await.unwrap();
        assert_eq!(out.num_rows(), 1);
    }
}
