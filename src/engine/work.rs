//! Work files: the tables of a session that keeps them on disk. Each
//! partition of a table is a set of files, one per column, cut into the
//! same batches: each batch an Arrow IPC message, as one LZ4 block where
//! LZ4 shrinks the column well ([`compresses`]; see [`Frame`]); a column
//! of one text repeated or of UInt64s counting up is held as that text or
//! its first value, and made again by each scan ([`Made`]). Writing one
//! is the in-memory layout copied out, and a scan opens only the columns
//! its query uses, where Parquet encodes and decodes every value and an IPC
//! file of whole rows is read whole.
//! [`DiskTable`] tells the planner the table's exact row count, so that
//! joins put the smaller side in the hash table as they do for tables in
//! memory.

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayData, ArrayRef, AsArray, DictionaryArray, Int32Array, RecordBatchOptions,
    StringArray, UInt64Array,
};
use datafusion::arrow::buffer::Buffer;
use datafusion::arrow::datatypes::{DataType, FieldRef, Int32Type, Schema, SchemaRef, UInt64Type};
use datafusion::arrow::ipc::reader::FileDecoder;
use datafusion::arrow::ipc::writer::{
    DictionaryTracker, IpcDataGenerator, IpcWriteContext, IpcWriteOptions, write_message,
};
use datafusion::arrow::ipc::{Block, MetadataVersion};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, Statistics};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    ReplaceChildrenOptions, StatisticsArgs,
};

fn io_error(path: &Path, e: impl fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{}: {e}", path.display()))
}

/// One partition of a table on disk: a file per column. Made only by
/// [`WorkPartWriter::finish`] (the fields are private), so that its files
/// are always ones this process wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkPart {
    /// Column files in schema order.
    columns: Vec<PathBuf>,
    /// Each column's field, as written.
    fields: Vec<FieldRef>,
    /// Each column's size in memory as written (the Arrow buffers), for
    /// the planner to compare join sides by as it does tables in memory.
    column_memory: Vec<u64>,
    /// Rows of each batch, the same in every column file.
    batch_rows: Vec<usize>,
    /// For each column whose values the part does not hold, how a scan
    /// makes them ([`Made`]): its file stays empty.
    made: Vec<Option<Made>>,
}

/// A column a work part holds no values of, made by each scan: writing
/// them out cost LZ4 and copies on every scan of the column.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Made {
    /// One text repeated, a dictionary of one value (an extract's `_file`).
    Repeated(Arc<str>),
    /// UInt64s counting up by one from this, the first row's (an
    /// extract's `_ord` in a file: see [`WorkPartWriter::counting`]).
    Counted(u64),
}

impl WorkPart {
    pub fn rows(&self) -> u64 {
        self.batch_rows.iter().map(|&n| n as u64).sum()
    }

    /// How many columns (files) the part has.
    pub fn columns(&self) -> usize {
        self.columns.len()
    }

    /// Column `c`'s file.
    pub fn column_path(&self, c: usize) -> &Path {
        &self.columns[c]
    }

    /// This part with `other`'s columns after its own: `other` must hold
    /// the same rows in the same batches (written beside this part).
    pub fn beside(&self, other: WorkPart) -> Result<WorkPart> {
        if other.batch_rows != self.batch_rows {
            return Err(DataFusionError::Internal(
                "the columns written beside a work part do not line up with it".into(),
            ));
        }
        let mut part = self.clone();
        part.columns.extend(other.columns);
        part.fields.extend(other.fields);
        part.column_memory.extend(other.column_memory);
        part.made.extend(other.made);
        Ok(part)
    }

    /// Opens column `c`'s file: its batches are the part's batches.
    pub fn read_column(&self, c: usize) -> Result<ColumnReader> {
        let path = &self.columns[c];
        let file = File::open(path).map_err(|e| io_error(path, e))?;
        let left = file.metadata().map_err(|e| io_error(path, e))?.len();
        let batches_left = self.batch_rows.len();
        let schema = Arc::new(Schema::new(vec![self.fields[c].clone()]));
        let decoder = FileDecoder::new(schema, MetadataVersion::V5);
        // SAFETY: a part's files are written by this process only
        // (WorkPartWriter, from arrays that were valid), in an owner-only
        // folder of this run, and read back unchanged; the same trust
        // DataFusion gives its own spill files. Validating every string
        // again took 3-4 % of a city run's CPU.
        let decoder = unsafe { decoder.with_skip_validation(true) };
        let making = self.made[c].as_ref().map(|made| Making {
            kind: match made {
                Made::Repeated(text) => {
                    Maker::Repeated(Arc::new(StringArray::from(vec![text.as_ref()])))
                }
                Made::Counted(first) => Maker::Counted(*first),
            },
            rows: self.batch_rows.clone().into_iter(),
        });
        Ok(ColumnReader {
            path: path.clone(),
            file,
            left,
            batches_left,
            decoder,
            packed: Vec::new(),
            making,
        })
    }

    /// Removes the part's files: every one it can, then the first error.
    pub fn remove(&self) -> std::io::Result<()> {
        let mut result = Ok(());
        for path in &self.columns {
            let removed = std::fs::remove_file(path);
            if result.is_ok() {
                result = removed;
            }
        }
        result
    }
}

/// How a work file holds a batch: a header of [`Frame::HEADER`] bytes
/// (how it is stored, the length of the IPC message's metadata, the
/// message's length and the bytes stored, little-endian), then the stored
/// bytes: the message (its metadata, then its body) as it is, or as one
/// LZ4 block. Arrow's own IPC compression puts each buffer of a batch in an
/// LZ4 frame of its own, and reading one back zeroed a 64 KB block and
/// copied it out, however small the buffer: at a county on disk that was
/// 40 % of the decompression's time. A block is decompressed straight into
/// the memory the batch's arrays then use.
struct Frame {
    lz4: bool,
    metadata: u32,
    message: u64,
    stored: u64,
}

impl Frame {
    const HEADER: usize = 21;
    const RAW: u8 = 0;
    const LZ4: u8 = 1;

    fn encode(&self) -> [u8; Frame::HEADER] {
        let mut header = [0u8; Frame::HEADER];
        header[0] = if self.lz4 { Frame::LZ4 } else { Frame::RAW };
        header[1..5].copy_from_slice(&self.metadata.to_le_bytes());
        header[5..13].copy_from_slice(&self.message.to_le_bytes());
        header[13..21].copy_from_slice(&self.stored.to_le_bytes());
        header
    }

    fn decode(header: &[u8; Frame::HEADER]) -> std::result::Result<Frame, &'static str> {
        let word = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().expect("8 bytes"));
        let frame = Frame {
            lz4: match header[0] {
                Frame::RAW => false,
                Frame::LZ4 => true,
                _ => return Err("work file has a batch stored in an unknown way"),
            },
            metadata: u32::from_le_bytes(header[1..5].try_into().expect("4 bytes")),
            message: word(5),
            stored: word(13),
        };
        // An IPC message's metadata is its 8-byte prefix and flatbuffer,
        // padded to 8 bytes, and arrow reads it as an i32.
        let metadata_fits = frame.metadata >= 8
            && frame.metadata.is_multiple_of(8)
            && i32::try_from(frame.metadata).is_ok()
            && u64::from(frame.metadata) <= frame.message;
        if !metadata_fits || (!frame.lz4 && frame.stored != frame.message) {
            return Err("work file has a batch header that does not add up");
        }
        Ok(frame)
    }
}

/// One column file of a part, read batch by batch.
pub struct ColumnReader {
    path: PathBuf,
    file: File,
    /// Bytes of the file not read yet; none once a read failed, so that
    /// the reader ends with its error.
    left: u64,
    /// Batches the part says are still to come: a file that ends before
    /// them was cut.
    batches_left: usize,
    decoder: FileDecoder,
    /// An LZ4 block as read, before it is decompressed.
    packed: Vec<u8>,
    /// A column the part holds no values of ([`Made`]), made here.
    making: Option<Making>,
}

/// A [`Made`] column being made: how, and the rows of each batch still to
/// give.
struct Making {
    kind: Maker,
    rows: std::vec::IntoIter<usize>,
}

enum Maker {
    /// The dictionary's one value.
    Repeated(ArrayRef),
    /// The next batch's first value.
    Counted(u64),
}

impl Making {
    fn next(&mut self) -> Option<ArrayRef> {
        let rows = self.rows.next()?;
        Some(match &mut self.kind {
            Maker::Repeated(values) => Arc::new(DictionaryArray::<Int32Type>::new(
                Int32Array::from(vec![0; rows]),
                values.clone(),
            )),
            Maker::Counted(next) => {
                let first = *next;
                *next += rows as u64;
                Arc::new(UInt64Array::from_iter_values(first..*next))
            }
        })
    }
}

/// Whether `column` holds UInt64s counting up by one from `first`, none
/// null.
fn counts_on(column: &ArrayRef, first: u64) -> bool {
    column.as_primitive_opt::<UInt64Type>().is_some_and(|c| {
        c.null_count() == 0 && c.values().iter().zip(first..).all(|(&v, want)| v == want)
    })
}

/// The text of a column of one text repeated (a dictionary of one value,
/// every row valid), as [`WorkPart`] holds it; `None` for any other column.
fn repeated_text(column: &ArrayRef) -> Option<Arc<str>> {
    let dictionary = column.as_dictionary_opt::<Int32Type>()?;
    let values = dictionary.values().as_string_opt::<i32>()?;
    (values.len() == 1 && values.null_count() == 0 && dictionary.keys().null_count() == 0)
        .then(|| values.value(0).into())
}

impl ColumnReader {
    /// The next batch's column; `None` at the end of the file.
    fn next_array(&mut self) -> std::result::Result<Option<ArrayRef>, String> {
        let mut header = [0u8; Frame::HEADER];
        let mut got = 0;
        while got < header.len() {
            match self.file.read(&mut header[got..]) {
                Ok(0) if got == 0 && self.batches_left == 0 => return Ok(None),
                Ok(0) if got == 0 => {
                    return Err("work file ends early, before its last batch".into());
                }
                Ok(0) => return Err("work file ends inside a batch header".into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        let frame = Frame::decode(&header)?;
        self.left = self.left.saturating_sub(Frame::HEADER as u64);
        // A damaged header must not ask for memory no batch takes: the
        // stored bytes are in the file, LZ4 shrinks nothing to less than a
        // 255th, and a batch of a column is far below 4 GB.
        if frame.stored > self.left
            || frame.message > frame.stored.saturating_mul(255) + 64
            || frame.message > MAX_MESSAGE
        {
            return Err("work file has a batch header that does not add up".into());
        }
        if self.batches_left == 0 {
            return Err("work file holds more batches than were written to it".into());
        }
        self.batches_left -= 1;
        self.left -= frame.stored;
        let message = usize::try_from(frame.message).map_err(|e| e.to_string())?;
        let stored = usize::try_from(frame.stored).map_err(|e| e.to_string())?;
        let bytes = if frame.lz4 {
            self.packed.clear();
            read_exactly(&mut self.file, stored, &mut self.packed)?;
            let bytes = lz4_flex::block::decompress(&self.packed, message)
                .map_err(|e| format!("work file has a batch that does not decompress: {e}"))?;
            if bytes.len() != message {
                return Err("work file has a batch that decompresses to another length".into());
            }
            bytes
        } else {
            let mut bytes = Vec::new();
            read_exactly(&mut self.file, stored, &mut bytes)?;
            bytes
        };
        let block = Block::new(
            0,
            frame.metadata as i32,
            (message - frame.metadata as usize) as i64,
        );
        let batch = self
            .decoder
            .read_record_batch(&block, &Buffer::from_vec(bytes))
            .map_err(|e| e.to_string())?
            .ok_or("work file has a message that is not a batch")?;
        Ok(Some(batch.column(0).clone()))
    }
}

/// The largest IPC message a work file's batch is read as (see
/// [`ColumnReader::next_array`]).
const MAX_MESSAGE: u64 = 1 << 32;

/// Reads `n` bytes of `file` into `into` (empty), into memory not zeroed
/// first.
fn read_exactly(file: &mut File, n: usize, into: &mut Vec<u8>) -> std::result::Result<(), String> {
    into.reserve_exact(n);
    let got = file
        .take(n as u64)
        .read_to_end(into)
        .map_err(|e| e.to_string())?;
    if got != n {
        return Err("work file ends inside a batch".into());
    }
    Ok(())
}

impl Iterator for ColumnReader {
    type Item = Result<ArrayRef>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(making) = &mut self.making {
            return making.next().map(Ok);
        }
        if self.left == 0 && self.batches_left == 0 {
            return None;
        }
        let next = self.next_array();
        if next.is_err() {
            self.left = 0;
            self.batches_left = 0;
        }
        next.map_err(|e| io_error(&self.path, e)).transpose()
    }
}

/// Writes one partition (owner-only files `{stem}.cNNN.arrow` beside
/// `stem`) batch by batch.
pub struct WorkPartWriter {
    /// Each column's path, field and file, created with the part, until
    /// the first batch (or `finish`) opens their writers.
    created: Vec<(PathBuf, FieldRef, File)>,
    columns: Vec<ColumnWriter>,
    column_memory: Vec<u64>,
    batch_rows: Vec<usize>,
    /// The column that counts up by one ([`WorkPartWriter::counting`]).
    counted: Option<usize>,
}

/// One column file being written (see [`Frame`]).
struct ColumnWriter {
    path: PathBuf,
    schema: SchemaRef,
    file: BufWriter<File>,
    lz4: bool,
    /// A column the part holds no values of: nothing goes to its file.
    made: Option<Made>,
    /// Of a counted column, the next batch's first value.
    next: u64,
    tracker: DictionaryTracker,
    context: IpcWriteContext,
    /// The batch's IPC message.
    message: Vec<u8>,
    /// Its LZ4 block.
    packed: Vec<u8>,
}

impl ColumnWriter {
    fn write(&mut self, column: &ArrayRef) -> Result<()> {
        match &self.made {
            Some(Made::Repeated(text)) => {
                return if repeated_text(column).as_ref() == Some(text) {
                    Ok(())
                } else {
                    Err(DataFusionError::Internal(
                        "a work file's column of one text repeated was given another".into(),
                    ))
                };
            }
            Some(Made::Counted(_)) => {
                return if counts_on(column, self.next) {
                    self.next += column.len() as u64;
                    Ok(())
                } else {
                    Err(DataFusionError::Internal(
                        "a work file's counted column was given values that do not count on".into(),
                    ))
                };
            }
            None => {}
        }
        if matches!(column.data_type(), DataType::Dictionary(..)) {
            return Err(DataFusionError::Internal(
                "a work file was given a dictionary column of other than one text repeated".into(),
            ));
        }
        let batch = RecordBatch::try_new(self.schema.clone(), vec![column.clone()])?;
        let options = IpcWriteOptions::default();
        let (dictionaries, encoded) = IpcDataGenerator::default().encode(
            &batch,
            &mut self.tracker,
            &options,
            &mut self.context,
        )?;
        // A dictionary nested in another type (none of hedui's tables has
        // one) is not held either.
        if !dictionaries.is_empty() {
            return Err(DataFusionError::Internal(
                "a work file was given a dictionary column".into(),
            ));
        }
        self.message.clear();
        let (metadata, _) = write_message(&mut self.message, encoded, &options)?;
        let stored = if self.lz4 {
            let most = lz4_flex::block::get_maximum_output_size(self.message.len());
            if self.packed.len() < most {
                self.packed.resize(most, 0);
            }
            let n = lz4_flex::block::compress_into(&self.message, &mut self.packed)
                .map_err(|e| io_error(&self.path, e))?;
            &self.packed[..n]
        } else {
            &self.message[..]
        };
        let frame = Frame {
            lz4: self.lz4,
            metadata: u32::try_from(metadata).map_err(|e| io_error(&self.path, e))?,
            message: self.message.len() as u64,
            stored: stored.len() as u64,
        };
        self.file
            .write_all(&frame.encode())
            .and_then(|()| self.file.write_all(stored))
            .map_err(|e| io_error(&self.path, e))
    }
}

/// Whether LZ4 takes a column's buffers below [`LZ4_KEPT_PERCENT`] of
/// their size, judged on a sample: a part's first batch, each buffer on
/// its first [`LZ4_SAMPLE_BYTES`] (of a slice, the buffer it lies in), a
/// buffer LZ4 would not shrink at its own size. Most of the work files'
/// columns shrink (a file name, an ordinal, a code, an amount; ID numbers
/// of one region), some hardly (names, row labels): those are written as
/// they are, which saves compressing them on write and decompressing them
/// on every scan (at a county on disk all columns in LZ4 cost about 7 of
/// 36 CPU seconds more than none, and none took the city's work files from
/// 16 to 38 GB, which the page cache could not hold).
fn compresses(sample: &ArrayRef) -> bool {
    fn add(data: &ArrayData, raw: &mut usize, packed: &mut usize) {
        let nulls = data.nulls().map(|n| n.buffer());
        for buffer in data.buffers().iter().chain(nulls) {
            let bytes = &buffer.as_slice()[..buffer.len().min(LZ4_SAMPLE_BYTES)];
            *raw += bytes.len();
            *packed += lz4_flex::block::compress(bytes).len().min(bytes.len());
        }
        for child in data.child_data() {
            add(child, raw, packed);
        }
    }
    let (mut raw, mut packed) = (0, 0);
    add(&sample.to_data(), &mut raw, &mut packed);
    packed * 100 < raw * LZ4_KEPT_PERCENT
}

/// See [`compresses`].
const LZ4_KEPT_PERCENT: usize = 70;

/// See [`compresses`]: LZ4 finds repeats up to 64 KB back.
const LZ4_SAMPLE_BYTES: usize = 64 << 10;

impl WorkPartWriter {
    pub fn create(stem: &Path, schema: &SchemaRef) -> Result<Self> {
        let mut created = Vec::with_capacity(schema.fields().len());
        for (i, field) in schema.fields().iter().enumerate() {
            let mut path = stem.as_os_str().to_owned();
            path.push(format!(".c{i:03}.arrow"));
            let path = PathBuf::from(path);
            let file =
                crate::report::output::create_private(&path).map_err(|e| io_error(&path, e))?;
            created.push((path, field.clone(), file));
        }
        Ok(WorkPartWriter {
            column_memory: vec![0; created.len()],
            columns: Vec::with_capacity(created.len()),
            created,
            batch_rows: Vec::new(),
            counted: None,
        })
    }

    /// This writer with column `c` held as its first value only: the
    /// caller's batches give it UInt64s counting up by one from there,
    /// none null (a batch that does not is an error).
    pub fn counting(mut self, c: usize) -> Self {
        self.counted = Some(c);
        self
    }

    /// Opens the columns' writers, each in LZ4 or not as its column of
    /// `first` compresses (none without a batch); once.
    fn open(&mut self, first: Option<&RecordBatch>) -> Result<()> {
        for (i, (path, field, file)) in std::mem::take(&mut self.created).into_iter().enumerate() {
            let first_value = |b: &RecordBatch| {
                let c = b.column(i).as_primitive_opt::<UInt64Type>()?;
                (!c.is_empty() && c.is_valid(0)).then(|| c.value(0))
            };
            let made = match first {
                Some(b) if self.counted == Some(i) => match first_value(b) {
                    Some(v) => Some(Made::Counted(v)),
                    None => {
                        return Err(DataFusionError::Internal(format!(
                            "a work file's counted column {} does not start with a UInt64",
                            field.name()
                        )));
                    }
                },
                Some(b) => repeated_text(b.column(i)).map(Made::Repeated),
                None => None,
            };
            let next = match made {
                Some(Made::Counted(first)) => first,
                _ => 0,
            };
            let lz4 = made.is_none() && first.is_some_and(|b| compresses(b.column(i)));
            tracing::debug!(column = %field.name(), compressed = lz4, "work file opened");
            self.columns.push(ColumnWriter {
                path,
                schema: Arc::new(Schema::new(vec![field])),
                file: BufWriter::with_capacity(256 << 10, file),
                lz4,
                made,
                next,
                tracker: DictionaryTracker::new(false),
                context: IpcWriteContext::default(),
                message: Vec::new(),
                packed: Vec::new(),
            });
        }
        Ok(())
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if batch.num_columns() != self.column_memory.len() {
            return Err(DataFusionError::Internal(format!(
                "a work part of {} columns was given a batch of {}",
                self.column_memory.len(),
                batch.num_columns()
            )));
        }
        self.open(Some(batch))?;
        for ((writer, memory), column) in self
            .columns
            .iter_mut()
            .zip(&mut self.column_memory)
            .zip(batch.columns())
        {
            writer.write(column)?;
            *memory += column.get_array_memory_size() as u64;
        }
        self.batch_rows.push(batch.num_rows());
        Ok(())
    }

    /// Flushes and closes the files.
    pub fn finish(mut self) -> Result<WorkPart> {
        self.open(None)?;
        let mut part = WorkPart {
            columns: Vec::with_capacity(self.columns.len()),
            fields: Vec::with_capacity(self.columns.len()),
            column_memory: self.column_memory,
            batch_rows: self.batch_rows,
            made: Vec::with_capacity(self.columns.len()),
        };
        for writer in self.columns {
            let ColumnWriter {
                path,
                schema,
                file,
                made,
                ..
            } = writer;
            file.into_inner().map_err(|e| io_error(&path, e))?;
            part.columns.push(path);
            part.fields.push(schema.field(0).clone().into());
            part.made.push(made);
        }
        Ok(part)
    }
}

/// A table held in work files, read as a stream. A scan reads the parts in
/// at most the session's target partitions, each partition its share of
/// the parts one after another, so that the files open at once stay few
/// however many parts (input files) a table has.
#[derive(Debug)]
pub struct DiskTable {
    schema: SchemaRef,
    parts: Arc<Vec<WorkPart>>,
}

impl DiskTable {
    pub fn new(schema: SchemaRef, parts: Vec<WorkPart>) -> Self {
        DiskTable {
            schema,
            parts: Arc::new(parts),
        }
    }

    /// The table's parts, in order.
    pub fn parts(&self) -> &[WorkPart] {
        &self.parts
    }
}

/// The statistics of `parts` over the columns `projection` (`schema` is
/// the projected one): the exact row count and the columns' size in memory,
/// which the planner compares join sides by. Under a `limit` both are
/// bounds only.
fn statistics<'a>(
    schema: &Schema,
    parts: impl Iterator<Item = &'a WorkPart> + Clone,
    projection: &[usize],
    limit: Option<usize>,
) -> Statistics {
    let mut stats = Statistics::new_unknown(schema);
    let rows: usize = parts.clone().map(|p| p.rows() as usize).sum();
    let memory: usize = parts
        .flat_map(|p| projection.iter().map(|&c| p.column_memory[c] as usize))
        .sum();
    match limit {
        Some(limit) if limit < rows => {
            stats.num_rows = Precision::Inexact(limit);
            stats.total_byte_size = Precision::Inexact(memory / rows.max(1) * limit);
        }
        _ => {
            stats.num_rows = Precision::Exact(rows);
            stats.total_byte_size = Precision::Inexact(memory);
        }
    }
    stats
}

#[async_trait]
impl TableProvider for DiskTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn statistics(&self) -> Option<Statistics> {
        let all: Vec<usize> = (0..self.schema.fields().len()).collect();
        Some(statistics(&self.schema, self.parts.iter(), &all, None))
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection = projection
            .cloned()
            .unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let partitions = state.config_options().execution.target_partitions;
        Ok(Arc::new(DiskScanExec::new(
            Arc::new(self.schema.project(&projection)?),
            self.parts.clone(),
            groups(self.parts.len(), partitions),
            projection,
            limit,
        )))
    }
}

/// The parts `0..parts` cut into at most `partitions` (at least one) runs
/// of consecutive parts, as even as can be.
fn groups(parts: usize, partitions: usize) -> Vec<std::ops::Range<usize>> {
    let n = partitions.clamp(1, parts.max(1));
    (0..n).map(|i| i * parts / n..(i + 1) * parts / n).collect()
}

/// Scans the projected column files of each part side by side, a run of
/// parts per partition.
#[derive(Debug)]
struct DiskScanExec {
    /// The projected schema.
    schema: SchemaRef,
    parts: Arc<Vec<WorkPart>>,
    /// Each partition's parts.
    groups: Vec<std::ops::Range<usize>>,
    projection: Vec<usize>,
    limit: Option<usize>,
    properties: Arc<PlanProperties>,
}

impl DiskScanExec {
    fn new(
        schema: SchemaRef,
        parts: Arc<Vec<WorkPart>>,
        groups: Vec<std::ops::Range<usize>>,
        projection: Vec<usize>,
        limit: Option<usize>,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(groups.len()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        DiskScanExec {
            schema,
            parts,
            groups,
            projection,
            limit,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for DiskScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "DiskScanExec: parts={}, partitions={}, projection={:?}, limit={:?}",
            self.parts.len(),
            self.groups.len(),
            self.projection,
            self.limit
        )
    }
}

impl ExecutionPlan for DiskScanExec {
    fn name(&self) -> &str {
        "DiskScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        let parts = match args.partition() {
            Some(i) => &self.parts[self.groups.get(i).cloned().unwrap_or_default()],
            None => &self.parts[..],
        };
        Ok(Arc::new(statistics(
            &self.schema,
            parts.iter(),
            &self.projection,
            self.limit,
        )))
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let parts = self.groups.get(partition).cloned().unwrap_or_default();
        let reader = GroupReader {
            schema: self.schema.clone(),
            parts: self.parts.clone(),
            next_part: parts.start,
            end: parts.end,
            projection: self.projection.clone(),
            current: None,
            left: self.limit.unwrap_or(usize::MAX),
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            futures::stream::iter(reader),
        )))
    }
}

/// Reads a partition's parts one after another, each part's projected
/// columns batch by batch, putting each batch's columns together. A part's
/// files are opened when its first batch is asked for and closed after its
/// last.
struct GroupReader {
    schema: SchemaRef,
    parts: Arc<Vec<WorkPart>>,
    next_part: usize,
    end: usize,
    projection: Vec<usize>,
    current: Option<PartReader>,
    /// Rows still to give under the scan's limit.
    left: usize,
}

struct PartReader {
    readers: Vec<ColumnReader>,
    batch_rows: std::vec::IntoIter<usize>,
}

impl PartReader {
    fn open(part: &WorkPart, projection: &[usize]) -> Result<Self> {
        let readers = projection
            .iter()
            .map(|&c| part.read_column(c))
            .collect::<Result<Vec<_>>>()?;
        Ok(PartReader {
            readers,
            batch_rows: part.batch_rows.clone().into_iter(),
        })
    }

    /// The next batch's columns and rows; `None` after the last.
    fn next(&mut self) -> Option<Result<(Vec<ArrayRef>, usize)>> {
        let rows = self.batch_rows.next()?;
        let mut columns = Vec::with_capacity(self.readers.len());
        for reader in &mut self.readers {
            match reader.next() {
                Some(Ok(column)) if column.len() == rows => columns.push(column),
                Some(Err(e)) => return Some(Err(e)),
                _ => {
                    return Some(Err(io_error(
                        &reader.path,
                        "work file does not hold the batches written to it",
                    )));
                }
            }
        }
        Some(Ok((columns, rows)))
    }
}

impl GroupReader {
    fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        if self.left == 0 {
            return None;
        }
        let (columns, rows) = loop {
            if let Some(part) = &mut self.current {
                match part.next() {
                    Some(Ok(next)) => break next,
                    Some(Err(e)) => return Some(Err(e)),
                    None => self.current = None,
                }
            }
            if self.next_part >= self.end {
                return None;
            }
            let part = &self.parts[self.next_part];
            self.next_part += 1;
            match PartReader::open(part, &self.projection) {
                Ok(reader) => self.current = Some(reader),
                Err(e) => return Some(Err(e)),
            }
        };
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = match RecordBatch::try_new_with_options(self.schema.clone(), columns, &options)
        {
            Ok(b) => b,
            Err(e) => return Some(Err(e.into())),
        };
        let batch = if rows > self.left {
            batch.slice(0, self.left)
        } else {
            batch
        };
        self.left -= batch.num_rows();
        Some(Ok(batch))
    }
}

impl Iterator for GroupReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field};
    use datafusion::prelude::SessionContext;

    fn batch(ids: std::ops::Range<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let names: StringArray = ids.clone().map(|i| Some(format!("名{i}"))).collect();
        RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from_iter_values(ids)), Arc::new(names)],
        )
        .unwrap()
    }

    fn table(dir: &Path) -> DiskTable {
        let schema = batch(0..1).schema();
        let mut parts = Vec::new();
        for (i, ranges) in [vec![0..2, 2..3], vec![], vec![3..5, 5..10]]
            .into_iter()
            .enumerate()
        {
            let mut w = WorkPartWriter::create(&dir.join(format!("part-{i}")), &schema).unwrap();
            for range in ranges {
                w.write(&batch(range)).unwrap();
            }
            parts.push(w.finish().unwrap());
        }
        assert_eq!(
            parts.iter().map(WorkPart::rows).collect::<Vec<_>>(),
            [3, 0, 7]
        );
        DiskTable::new(schema, parts)
    }

    async fn strings(ctx: &SessionContext, sql: &str) -> Vec<String> {
        let out = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let mut values = Vec::new();
        for b in out {
            let b = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8).unwrap();
            let b = b.as_any().downcast_ref::<StringArray>().unwrap();
            values.extend(b.iter().map(|v| v.unwrap_or("∅").to_string()));
        }
        values
    }

    #[tokio::test]
    async fn a_disk_table_reads_back_what_was_written_and_knows_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let table = table(dir.path());
        assert_eq!(table.statistics().unwrap().num_rows, Precision::Exact(10));
        let ctx = SessionContext::new();
        ctx.register_table("t", Arc::new(table)).unwrap();
        assert_eq!(
            strings(&ctx, "SELECT name FROM t WHERE id % 3 = 0 ORDER BY id").await,
            ["名0", "名3", "名6", "名9"]
        );
        // Every column, none (a count) and a limit.
        assert_eq!(
            strings(
                &ctx,
                "SELECT concat(name, id) FROM t ORDER BY id DESC LIMIT 2"
            )
            .await,
            ["名99", "名88"]
        );
        assert_eq!(strings(&ctx, "SELECT count(*) FROM t").await, ["10"]);
        let some = strings(&ctx, "SELECT id FROM (SELECT * FROM t LIMIT 4)").await;
        assert_eq!(some.len(), 4);
    }

    /// A batch of `file` repeated (a dictionary of one value, as an
    /// extract's `_file`) beside ids `ids`.
    fn file_batch(file: &str, ids: std::ops::Range<i64>) -> RecordBatch {
        let rows = ids.clone().count();
        let files = DictionaryArray::<Int32Type>::new(
            Int32Array::from(vec![0; rows]),
            Arc::new(StringArray::from(vec![file])),
        );
        let schema = Arc::new(Schema::new(vec![
            Field::new("_file", files.data_type().clone(), false),
            Field::new("id", DataType::Int64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![Arc::new(files), Arc::new(Int64Array::from_iter_values(ids))],
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_column_of_one_text_repeated_is_held_once_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let schema = file_batch("a.csv", 0..1).schema();
        let mut parts = Vec::new();
        for (i, file) in ["a.csv", "b.csv"].into_iter().enumerate() {
            let mut w = WorkPartWriter::create(&dir.path().join(format!("p{i}")), &schema).unwrap();
            w.write(&file_batch(file, i as i64 * 10..i as i64 * 10 + 2))
                .unwrap();
            w.write(&file_batch(file, i as i64 * 10 + 2..i as i64 * 10 + 3))
                .unwrap();
            let part = w.finish().unwrap();
            // Nothing of the text goes to its file.
            assert_eq!(std::fs::metadata(part.column_path(0)).unwrap().len(), 0);
            assert!(std::fs::metadata(part.column_path(1)).unwrap().len() > 0);
            parts.push(part);
        }
        let ctx = SessionContext::new();
        ctx.register_table("t", Arc::new(DiskTable::new(schema.clone(), parts)))
            .unwrap();
        assert_eq!(
            strings(&ctx, "SELECT concat(_file, ':', id) FROM t ORDER BY id").await,
            [
                "a.csv:0", "a.csv:1", "a.csv:2", "b.csv:10", "b.csv:11", "b.csv:12"
            ]
        );
        let out = ctx.sql("SELECT _file FROM t").await.unwrap();
        let out = out.collect().await.unwrap();
        assert_eq!(
            out[0].schema().field(0).data_type(),
            schema.field(0).data_type()
        );
        // A part holds one text: another in a later batch is an error, as is
        // a dictionary of several values.
        let mut w = WorkPartWriter::create(&dir.path().join("p2"), &schema).unwrap();
        w.write(&file_batch("a.csv", 0..2)).unwrap();
        let e = w.write(&file_batch("b.csv", 2..3)).unwrap_err();
        assert!(e.to_string().contains("one text repeated"), "{e}");
        let two = DictionaryArray::<Int32Type>::new(
            Int32Array::from(vec![0, 1]),
            Arc::new(StringArray::from(vec!["a.csv", "b.csv"])),
        );
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(two), Arc::new(Int64Array::from(vec![0, 1]))],
        )
        .unwrap();
        let mut w = WorkPartWriter::create(&dir.path().join("p3"), &schema).unwrap();
        let e = w.write(&batch).unwrap_err();
        assert!(e.to_string().contains("dictionary column"), "{e}");
    }

    #[tokio::test]
    async fn a_counted_column_is_held_as_its_first_value_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        // `batch`'s rows with their ids as `_ord`s.
        let ords = |r: std::ops::Range<u64>| {
            let b = batch(r.start as i64..r.end as i64);
            let schema = Arc::new(Schema::new(vec![
                Field::new("_ord", DataType::UInt64, false),
                b.schema().field(1).clone(),
            ]));
            let ord = datafusion::arrow::compute::cast(b.column(0), &DataType::UInt64).unwrap();
            RecordBatch::try_new(schema, vec![ord, b.column(1).clone()]).unwrap()
        };
        let schema = ords(0..1).schema();
        let mut parts = Vec::new();
        for (i, first) in [7u64, 1 << 32].into_iter().enumerate() {
            let stem = dir.path().join(format!("p{i}"));
            let mut w = WorkPartWriter::create(&stem, &schema).unwrap().counting(0);
            w.write(&ords(first..first + 2)).unwrap();
            w.write(&ords(first + 2..first + 5)).unwrap();
            let part = w.finish().unwrap();
            assert_eq!(std::fs::metadata(part.column_path(0)).unwrap().len(), 0);
            parts.push(part);
        }
        let ctx = SessionContext::new();
        ctx.register_table("t", Arc::new(DiskTable::new(schema.clone(), parts)))
            .unwrap();
        let want: Vec<String> = (7..12)
            .chain((1 << 32)..(1 << 32) + 5)
            .map(|o: u64| format!("{o}:名{o}"))
            .collect();
        assert_eq!(
            strings(&ctx, "SELECT concat(_ord, ':', name) FROM t ORDER BY _ord").await,
            want
        );
        // A batch that does not count on from the last is an error.
        let mut w = WorkPartWriter::create(&dir.path().join("p2"), &schema)
            .unwrap()
            .counting(0);
        w.write(&ords(0..2)).unwrap();
        let e = w.write(&ords(3..4)).unwrap_err();
        assert!(e.to_string().contains("do not count on"), "{e}");
        // So is a counted column that is not UInt64s.
        let mut w = WorkPartWriter::create(&dir.path().join("p3"), &batch(0..1).schema())
            .unwrap()
            .counting(0);
        let e = w.write(&batch(0..2)).unwrap_err();
        assert!(
            e.to_string().contains("does not start with a UInt64"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_missing_column_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let table = table(dir.path());
        std::fs::remove_file(&table.parts[2].columns[1]).unwrap();
        let ctx = SessionContext::new();
        ctx.register_table("t", Arc::new(table)).unwrap();
        let err = ctx
            .sql("SELECT name FROM t")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("part-2.c001.arrow"), "{err}");
        // The other column is still readable alone.
        assert_eq!(strings(&ctx, "SELECT sum(id) FROM t").await, ["45"]);
    }

    /// 18 pseudo-random digits a row: text LZ4 hardly shrinks.
    fn digits(rows: u64) -> ArrayRef {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let values = (0..rows).map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            format!("{:018}", x % 1_000_000_000_000_000_000)
        });
        Arc::new(StringArray::from_iter_values(values))
    }

    #[test]
    fn columns_lz4_shrinks_are_compressed_and_the_others_written_as_they_are() {
        let rows = 4096;
        let constant: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..rows).map(|_| "medical_settlement"),
        ));
        let ords: ArrayRef = Arc::new(Int64Array::from_iter_values(0..rows as i64));
        let ids = digits(rows);
        assert!(compresses(&constant));
        assert!(compresses(&ords));
        assert!(!compresses(&ids));
        let schema = Arc::new(Schema::new(vec![
            Field::new("extract", DataType::Utf8, false),
            Field::new("_ord", DataType::Int64, false),
            Field::new("id", DataType::Utf8, false),
        ]));
        let dir = tempfile::tempdir().unwrap();
        let mut w = WorkPartWriter::create(&dir.path().join("p"), &schema).unwrap();
        let columns = vec![constant, ords, ids];
        let batch = RecordBatch::try_new(schema, columns.clone()).unwrap();
        w.write(&batch).unwrap();
        w.write(&batch.slice(10, 100)).unwrap();
        let part = w.finish().unwrap();
        for (c, column) in columns.iter().enumerate() {
            let size = std::fs::metadata(part.column_path(c)).unwrap().len();
            // The first batch's buffers (the second is a fortieth of it).
            let whole: usize = column.to_data().buffers().iter().map(|b| b.len()).sum();
            let whole = whole as u64;
            if c == 2 {
                assert!(size > whole, "column {c}: {size} bytes for {whole}");
            } else {
                assert!(
                    size * 10 < whole * 7,
                    "column {c}: {size} bytes for {whole}"
                );
            }
            let read: Vec<ArrayRef> = part.read_column(c).unwrap().map(Result::unwrap).collect();
            assert_eq!(read.len(), 2);
            assert_eq!(&read[0], column);
            assert_eq!(&read[1], &column.slice(10, 100));
        }
    }

    /// A column file cut short or damaged is an error naming it, never a
    /// batch lost or made up: cut inside a header, inside a batch, or with
    /// a header that does not add up.
    #[test]
    fn a_damaged_column_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let rows = 4096;
        let schema = Arc::new(Schema::new(vec![
            Field::new("_ord", DataType::Int64, false),
            Field::new("id", DataType::Utf8, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(0..rows as i64)),
            digits(rows),
        ];
        let mut w = WorkPartWriter::create(&dir.path().join("p"), &schema).unwrap();
        let batch = RecordBatch::try_new(schema, columns).unwrap();
        w.write(&batch).unwrap();
        w.write(&batch).unwrap();
        let part = w.finish().unwrap();
        // One column in LZ4, one as it is.
        for c in 0..2 {
            let path = part.column_path(c).to_path_buf();
            let whole = std::fs::read(&path).unwrap();
            let first =
                Frame::HEADER + u64::from_le_bytes(whole[13..21].try_into().unwrap()) as usize;
            let mut bad_header = whole.clone();
            bad_header[first + 5..first + 13].copy_from_slice(&0u64.to_le_bytes());
            let mut bad_codec = whole.clone();
            bad_codec[first] = 7;
            let mut zeroed = whole.clone();
            zeroed[first..first + Frame::HEADER].fill(0);
            let mut bad_metadata = whole.clone();
            bad_metadata[first + 1..first + 5].copy_from_slice(&3u32.to_le_bytes());
            for (damage, bytes) in [
                ("cut at a batch's end", whole[..first].to_vec()),
                ("a header zeroed", zeroed),
                ("a metadata length no message has", bad_metadata),
                ("cut inside a header", whole[..first + 10].to_vec()),
                ("cut inside a batch", whole[..whole.len() - 1].to_vec()),
                ("a header that does not add up", bad_header),
                ("an unknown way of storing", bad_codec),
            ] {
                std::fs::write(&path, bytes).unwrap();
                let read: Vec<Result<ArrayRef>> = part.read_column(c).unwrap().collect();
                assert_eq!(read.len(), 2, "column {c}, {damage}");
                assert_eq!(&read[0].as_ref().unwrap(), &batch.column(c), "{damage}");
                let err = read[1].as_ref().unwrap_err().to_string();
                assert!(err.contains(".c00"), "column {c}, {damage}: {err}");
                assert!(err.contains("work file"), "column {c}, {damage}: {err}");
            }
            std::fs::write(&path, &whole).unwrap();
            assert_eq!(part.read_column(c).unwrap().count(), 2);
        }
    }

    #[test]
    fn a_part_given_no_rows_has_readable_empty_column_files() {
        let dir = tempfile::tempdir().unwrap();
        let schema = batch(0..1).schema();
        let mut w = WorkPartWriter::create(&dir.path().join("p"), &schema).unwrap();
        w.write(&batch(0..0)).unwrap();
        let part = w.finish().unwrap();
        assert_eq!(part.rows(), 0);
        for c in 0..part.columns() {
            assert_eq!(part.read_column(c).unwrap().count(), 0);
        }
    }

    #[test]
    fn parts_are_cut_into_at_most_the_target_partitions() {
        let g = |parts, n| -> Vec<(usize, usize)> {
            groups(parts, n).iter().map(|r| (r.start, r.end)).collect()
        };
        assert_eq!(g(5, 2), [(0, 2), (2, 5)]);
        assert_eq!(g(3, 3), [(0, 1), (1, 2), (2, 3)]);
        assert_eq!(g(1, 4), [(0, 1)]);
        assert_eq!(g(0, 2), [(0, 0)]);
        assert_eq!(g(4, 0), [(0, 4)]);
    }

    #[tokio::test]
    async fn a_scan_of_many_parts_has_the_target_partitions_and_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let schema = batch(0..1).schema();
        let parts: Vec<WorkPart> = (0..7)
            .map(|i| {
                let mut w =
                    WorkPartWriter::create(&dir.path().join(format!("p{i}")), &schema).unwrap();
                w.write(&batch(i * 10..i * 10 + 3)).unwrap();
                w.finish().unwrap()
            })
            .collect();
        let ctx = crate::engine::session(2);
        ctx.register_table("t", Arc::new(DiskTable::new(schema, parts)))
            .unwrap();
        let text = crate::engine::plan_text(&ctx, "SELECT id FROM t").await;
        assert!(text.contains("parts=7, partitions=2"), "{text}");
        assert_eq!(
            strings(&ctx, "SELECT count(id), sum(id) FROM t").await,
            ["21"]
        );
        assert_eq!(strings(&ctx, "SELECT sum(id) FROM t").await, ["651"]);
    }

    #[cfg(unix)]
    #[test]
    fn work_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let table = table(dir.path());
        for part in table.parts.iter() {
            for path in &part.columns {
                let mode = std::fs::metadata(path).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "{}", path.display());
            }
        }
    }
}
