//! The DataFusion session every relational step runs in: one place that fixes
//! the settings (thread count, string types), registers tables and registers
//! the domain kernels as UDFs so that plans can call them by name. A later
//! Ballista deployment registers the same [`udfs`] on its executors.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray, StringBuilder};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::MemTable;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::normalize::name::{NameAgreement, name_agreement};

/// Rows per batch: fixed so that a plan's batching never depends on defaults
/// that may change between DataFusion versions.
const BATCH_SIZE: usize = 8192;

/// A session with `threads` target partitions (at least 1). Results of every
/// plan in hedui are sorted by a total order before they leave the engine, so
/// the thread count changes speed only, never bytes.
pub fn session(threads: usize) -> SessionContext {
    let mut config = SessionConfig::new()
        .with_target_partitions(threads.max(1))
        .with_batch_size(BATCH_SIZE)
        .with_information_schema(false);
    // Our tables hold Utf8; keep `CAST(… AS VARCHAR)` and string literals in
    // the same type so that outputs have one stable schema.
    config.options_mut().sql_parser.map_string_types_to_utf8view = false;
    let ctx = SessionContext::new_with_config(config);
    register_udfs(&ctx);
    ctx
}

/// Every domain kernel hedui's plans call, ready to register on a context (or
/// on a Ballista executor's function registry).
pub fn udfs() -> Vec<ScalarUDF> {
    vec![ScalarUDF::from(NameAgreesUdf::new())]
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
    let table = MemTable::try_new(schema, vec![batches])?;
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// Runs `sql` and registers its result, computed once, as table `name`
/// (replacing a table of that name). For intermediate tables that later plans
/// read more than once.
pub async fn materialize(ctx: &SessionContext, name: &str, sql: &str) -> Result<()> {
    let df = ctx.sql(sql).await?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let partitions = df.collect_partitioned().await?;
    let table = MemTable::try_new(schema, partitions)?;
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
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

fn as_utf8(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(cast(array, &DataType::Utf8)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;

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
