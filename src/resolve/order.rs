//! The links table in links.csv's order (by extract name, then `_ord`) for a
//! run whose tables are in memory. The engine's sort ([`super::links_sorted`])
//! copies every row twice, once when each partition is sorted and once when
//! the sorted partitions are merged, and the merge runs on one thread; here
//! only the rows' keys are sorted, and each batch of the result is taken from
//! the table's rows once, by index. A batch read to disk keeps the engine's
//! sort, which spills.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::interleave_record_batch;
use arrow::datatypes::UInt64Type;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use rayon::prelude::*;

/// The rows of the links table and the order they are written in.
pub struct OrderedLinks {
    batches: Vec<RecordBatch>,
    /// (batch, row) of each row, in links.csv's order.
    order: Vec<(usize, usize)>,
}

impl OrderedLinks {
    /// Collects the links table ([`super::tables::LINKS`]) and orders its
    /// rows by extract name, then `_ord`: the same order as
    /// [`super::links_sorted`], a total one, since `_ord` is unique within an
    /// extract.
    pub async fn collect(ctx: &SessionContext) -> Result<OrderedLinks> {
        let batches = ctx
            .sql(&format!("SELECT * FROM {}", super::tables::LINKS))
            .await?
            .collect()
            .await?;
        let mut keyed: Vec<(&str, u64, usize, usize)> = Vec::new();
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
            keyed.extend(
                extracts
                    .iter()
                    .zip(ords.values())
                    .enumerate()
                    .map(|(row, (extract, &ord))| (extract.unwrap_or_default(), ord, b, row)),
            );
        }
        // Keys are unique, so the unstable sort gives one order.
        keyed.par_sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let order = keyed.into_iter().map(|(_, _, b, row)| (b, row)).collect();
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

    #[tokio::test]
    async fn orders_like_the_engines_sort_across_batches() {
        let ctx = crate::engine::session(2);
        let schema = Arc::new(Schema::new(vec![
            Field::new("extract", DataType::Utf8, false),
            Field::new("file", DataType::Utf8, false),
            Field::new("_ord", DataType::UInt64, false),
        ]));
        let batch = |extracts: &[&str], ords: &[u64]| {
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
        };
        let batches = vec![
            batch(&["pension", "education", "pension"], &[3, 1 << 32, 1]),
            batch(&["contribution", "education", "pension"], &[7, 2, 2]),
        ];
        crate::engine::register_batches(&ctx, super::super::tables::LINKS, schema.clone(), batches)
            .unwrap();
        let links = OrderedLinks::collect(&ctx).await.unwrap();
        assert_eq!(links.len(), 6);
        let all = links.slice(0, 100).unwrap();
        let extracts: Vec<&str> = all.column(0).as_string::<i32>().iter().flatten().collect();
        let ords: Vec<u64> = all.column(2).as_primitive::<UInt64Type>().values().to_vec();
        assert_eq!(
            extracts,
            [
                "contribution",
                "education",
                "education",
                "pension",
                "pension",
                "pension"
            ]
        );
        assert_eq!(ords, [7, 2, 1 << 32, 1, 2, 3]);
        let tail = links.slice(4, 2).unwrap();
        assert_eq!(tail.column(1).as_string::<i32>().value(0), "f2");
        assert_eq!(tail.num_rows(), 2);
    }
}
