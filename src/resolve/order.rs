//! One extract's links in links.csv's order (by `_ord`). The engine's sort
//! copies every row twice, once when each partition is sorted and once when
//! the sorted partitions are merged, and the merge runs on one thread; at
//! city scale, on disk, it spills and hands on nothing before it has every
//! row. Here only the rows' `_ord` keys are sorted, and each batch of the
//! result is taken from the rows once, by index. links.csv takes the
//! extracts one after another, by name ([`super::links_of`]), so that only
//! one extract's links are held at a time.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::interleave_record_batch;
use arrow::datatypes::UInt64Type;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use rayon::prelude::*;

/// The rows of one extract's links and the order they are written in.
pub struct OrderedLinks {
    batches: Vec<RecordBatch>,
    /// (batch, row) of each row, in links.csv's order.
    order: Vec<(usize, usize)>,
}

impl OrderedLinks {
    /// Runs `sql` (the rows of one extract's links: [`super::links_of`])
    /// and orders its rows by `_ord`, unique within an extract: the order of
    /// [`super::links_sorted`]. Rows of more than one extract are an error.
    pub async fn collect(ctx: &SessionContext, sql: &str) -> Result<OrderedLinks> {
        let batches = ctx.sql(sql).await?.collect().await?;
        let mut keyed: Vec<(u64, usize, usize)> = Vec::new();
        let mut extract: Option<String> = None;
        for (b, batch) in batches.iter().enumerate() {
            let column = |name: &str| {
                batch.column_by_name(name).ok_or_else(|| {
                    DataFusionError::Internal(format!("the links table has no column {name}"))
                })
            };
            let extracts = column("extract")?.as_string_opt::<i32>().ok_or_else(|| {
                DataFusionError::Internal("links extract is not Utf8".to_string())
            })?;
            let ords = column("_ord")?
                .as_primitive_opt::<UInt64Type>()
                .ok_or_else(|| DataFusionError::Internal("links _ord is not UInt64".into()))?;
            if extracts.null_count() > 0 || ords.null_count() > 0 {
                return Err(DataFusionError::Internal(
                    "a links row without its extract or _ord".to_string(),
                ));
            }
            if batch.num_rows() > 0 {
                let first = extract.get_or_insert_with(|| extracts.value(0).to_string());
                if extracts.iter().any(|e| e != Some(first.as_str())) {
                    return Err(DataFusionError::Internal(format!(
                        "links of more than one extract ordered together: {first}, …"
                    )));
                }
            }
            keyed.extend(
                ords.values()
                    .iter()
                    .enumerate()
                    .map(|(row, &ord)| (ord, b, row)),
            );
        }
        // Keys are unique, so the unstable sort gives one order.
        keyed.par_sort_unstable_by_key(|k| k.0);
        let order = keyed.into_iter().map(|(_, b, row)| (b, row)).collect();
        Ok(OrderedLinks { batches, order })
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Rows `start..start + len` of the ordered table, as one batch.
    pub fn slice(&self, start: usize, len: usize) -> Result<RecordBatch> {
        let refs: Vec<&RecordBatch> = self.batches.iter().collect();
        let end = (start + len).min(self.order.len());
        Ok(interleave_record_batch(&refs, &self.order[start..end])?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{StringArray, UInt64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn links(schema: &Arc<Schema>, extracts: &[&str], ords: &[u64]) -> RecordBatch {
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(extracts.to_vec())),
                Arc::new(StringArray::from(
                    ords.iter().map(|o| format!("f{o}")).collect::<Vec<_>>(),
                )),
                Arc::new(UInt64Array::from(ords.to_vec())),
            ],
        )
        .unwrap()
    }

    fn schema() -> Arc<Schema> {
        Arc::new(Schema::new(vec![
            Field::new("extract", DataType::Utf8, false),
            Field::new("file", DataType::Utf8, false),
            Field::new("_ord", DataType::UInt64, false),
        ]))
    }

    #[tokio::test]
    async fn orders_one_extracts_rows_by_ord_across_batches() {
        let ctx = crate::engine::session(2);
        let schema = schema();
        let batches = vec![
            links(&schema, &["pension"; 3], &[3, 1 << 32, 1]),
            links(&schema, &["pension"; 3], &[7, 2, 5]),
        ];
        crate::engine::register_batches(&ctx, "t", schema.clone(), batches).unwrap();
        let links = OrderedLinks::collect(&ctx, "SELECT * FROM t")
            .await
            .unwrap();
        assert_eq!(links.len(), 6);
        let all = links.slice(0, 100).unwrap();
        let ords: Vec<u64> = all.column(2).as_primitive::<UInt64Type>().values().to_vec();
        assert_eq!(ords, [1, 2, 3, 5, 7, 1 << 32]);
        let tail = links.slice(4, 2).unwrap();
        assert_eq!(tail.column(1).as_string::<i32>().value(0), "f7");
        assert_eq!(tail.num_rows(), 2);
    }

    #[tokio::test]
    async fn rows_of_two_extracts_are_an_error() {
        let ctx = crate::engine::session(2);
        let schema = schema();
        let batches = vec![
            links(&schema, &["pension", "pension"], &[1, 2]),
            links(&schema, &["education"], &[3]),
        ];
        crate::engine::register_batches(&ctx, "t", schema.clone(), batches).unwrap();
        let err = OrderedLinks::collect(&ctx, "SELECT * FROM t")
            .await
            .err()
            .expect("two extracts");
        assert!(err.to_string().contains("more than one extract"), "{err}");
    }
}
