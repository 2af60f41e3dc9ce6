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
        let mut extract: Option<String> = None;
        for batch in &batches {
            let extracts = batch
                .column_by_name("extract")
                .ok_or_else(|| {
                    DataFusionError::Internal("the links table has no column extract".to_string())
                })?
                .as_string_opt::<i32>()
                .ok_or_else(|| {
                    DataFusionError::Internal("links extract is not Utf8".to_string())
                })?;
            if extracts.null_count() > 0 {
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
        }
        OrderedLinks::of_batches(batches)
    }

    /// Orders the rows of `batches` (one extract's links, held) by `_ord`.
    pub fn of_batches(batches: Vec<RecordBatch>) -> Result<OrderedLinks> {
        let mut keyed: Vec<(u64, usize, usize)> = Vec::new();
        for (b, batch) in batches.iter().enumerate() {
            keyed.extend(
                ords(batch)?
                    .values()
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

/// The `_ord` column of a batch of links, which has no nulls.
fn ords(batch: &RecordBatch) -> Result<&arrow::array::UInt64Array> {
    let ords = batch
        .column_by_name("_ord")
        .ok_or_else(|| DataFusionError::Internal("the links table has no column _ord".into()))?
        .as_primitive_opt::<UInt64Type>()
        .ok_or_else(|| DataFusionError::Internal("links _ord is not UInt64".into()))?;
    if ords.null_count() > 0 {
        return Err(DataFusionError::Internal(
            "a links row without its extract or _ord".to_string(),
        ));
    }
    Ok(ords)
}

/// One extract's links held in batches (its table in memory), in `_ord`
/// order as they are when each batch is a run of rows in order and the
/// runs do not overlap: the batches sorted by their first `_ord`, to be
/// written one after the other without a copy. An extract's table in
/// memory is such runs (its files' pieces as read, dealt over the
/// session's partitions). Else `Err` gives the batches back, to be ordered
/// row by row ([`OrderedLinks::of_batches`]).
pub fn in_runs(
    mut batches: Vec<RecordBatch>,
) -> Result<std::result::Result<Vec<RecordBatch>, Vec<RecordBatch>>> {
    batches.retain(|b| b.num_rows() > 0);
    let mut firsts = Vec::with_capacity(batches.len());
    for batch in &batches {
        firsts.push(ords(batch)?.value(0));
    }
    let mut order: Vec<usize> = (0..batches.len()).collect();
    order.sort_unstable_by_key(|&i| firsts[i]);
    let mut last: Option<u64> = None;
    for &i in &order {
        for &ord in ords(&batches[i])?.values() {
            if last.is_some_and(|l| ord <= l) {
                return Ok(Err(batches));
            }
            last = Some(ord);
        }
    }
    let mut slots: Vec<Option<RecordBatch>> = batches.into_iter().map(Some).collect();
    Ok(Ok(order
        .into_iter()
        .map(|i| slots[i].take().expect("each batch is taken once"))
        .collect()))
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

    fn ords_of(batches: &[RecordBatch]) -> Vec<Vec<u64>> {
        batches
            .iter()
            .map(|b| b.column(2).as_primitive::<UInt64Type>().values().to_vec())
            .collect()
    }

    #[test]
    fn runs_dealt_over_partitions_are_put_back_in_order_as_they_are() {
        let schema = schema();
        // Pieces 1–3 as an extract's table in memory deals them over two
        // partitions, and an empty one.
        let batches = vec![
            links(&schema, &["pension"; 2], &[1, 2]),
            links(&schema, &["pension"; 2], &[10, 11]),
            links(&schema, &[], &[]),
            links(&schema, &["pension"; 3], &[5, 6, 9]),
        ];
        let runs = in_runs(batches).unwrap().expect("runs in order");
        assert_eq!(ords_of(&runs), [vec![1, 2], vec![5, 6, 9], vec![10, 11]]);
    }

    #[test]
    fn batches_that_are_not_runs_in_order_are_given_back_to_be_ordered() {
        let schema = schema();
        for ords in [
            // Runs that overlap.
            [vec![1, 5], vec![3, 7]],
            // A batch out of order within.
            [vec![2, 1], vec![3, 4]],
            // An `_ord` twice.
            [vec![1, 2], vec![2, 3]],
        ] {
            let batches: Vec<RecordBatch> = ords
                .iter()
                .map(|o| links(&schema, &vec!["pension"; o.len()], o))
                .collect();
            let back = in_runs(batches).unwrap().expect_err("not runs in order");
            assert_eq!(ords_of(&back), ords, "given back as they were");
        }
        let ordered = OrderedLinks::of_batches(vec![
            links(&schema, &["pension"; 2], &[1, 5]),
            links(&schema, &["pension"; 2], &[3, 7]),
        ])
        .unwrap();
        let all = ordered.slice(0, 4).unwrap();
        assert_eq!(ords_of(&[all]), [vec![1, 3, 5, 7]]);
    }
}
