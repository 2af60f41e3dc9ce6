//! The kernels of the resolved linked observations, the views that resolve
//! every observation with a valid or upgraded ID (`plan::resolved_linked`):
//! `direct_level(id, name_key)`, how the name it was written with agrees
//! with its person's known name, looked up in the direct levels
//! ([`super::tables::DIRECT`]: one row per ID and name as written);
//! `link_method(id_status, id_raw, id)`, how its ID linked; and
//! `link_score(id_status, id_raw, id, name_level)`, the link's score (the
//! view passes `direct_level`'s call, which the engine computes once). The
//! views are never written out: every observation column stays where the
//! read stage put it, and these run again on each scan (one per consumer:
//! the links files, DQ02's source rows), each in one pass over its rows.
//! Attaching the persons scans no view: it reads the extract's own columns
//! through [`LinkedField`], which gives each row what its view would. A
//! join in each view would build its hash table again at every scan; the
//! levels' table is built once here. It holds the run's data, so unlike
//! [`crate::engine::udfs`] these are registered per run, once DIRECT is
//! there.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Float64Builder, RecordBatch, StringArray, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use foldhash::fast::FixedState;

use super::levels::{Method, SCORE_NAME_DISAGREES, status};
use crate::engine::{LEVEL_DISAGREE, LEVEL_HOMOPHONE, LEVEL_SAME, LEVEL_VARIANT};

/// The UDFs' names in plans.
pub(crate) const NAME: &str = "direct_level";
pub(crate) const METHOD: &str = "link_method";
pub(crate) const SCORE: &str = "link_score";

/// The levels a name can have, by code; a code of 0 is a null level.
const LABELS: [&str; 4] = [LEVEL_SAME, LEVEL_VARIANT, LEVEL_HOMOPHONE, LEVEL_DISAGREE];

fn code(level: Option<&str>) -> Result<u8> {
    match level {
        None => Ok(0),
        Some(label) => LABELS
            .iter()
            .position(|l| *l == label)
            .map(|i| i as u8 + 1)
            .ok_or_else(|| DataFusionError::Internal(format!("unknown name level {label:?}"))),
    }
}

/// A text column as plain strings, whatever string type the plan gave.
pub(super) fn strings(array: &ArrayRef) -> Result<StringArray> {
    let array = cast(array, &DataType::Utf8)?;
    Ok(array
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8 gives a StringArray")
        .clone())
}

/// The direct levels by (ID, name as written), built from DIRECT's rows.
/// Nearly every name agrees with its person's as it is (`same`): only the
/// other levels are held, by ID, so that a row costs one lookup of its ID
/// (most find none) and, for an ID held, a look at its few names.
/// Every row looked up has its (ID, name) among DIRECT's rows (both come
/// from the same observations), so a pair not held is `same`.
#[derive(Debug)]
pub(crate) struct DirectLevels {
    /// The IDs with a name whose level is not `same`, and those names.
    ids: HashMap<Box<str>, Names, FixedState>,
    /// How many (ID, name) pairs are held.
    held: usize,
}

/// The names of one ID whose level is not `same`, with their level codes.
#[derive(Debug)]
enum Names {
    /// A few (nearly every ID): looked through in turn.
    Few(Box<[(Box<str>, u8)]>),
    /// More than [`FEW_NAMES`] (an ID that many people's rows carry).
    Many(HashMap<Box<str>, u8, FixedState>),
}

/// The most names of one ID looked through in turn.
const FEW_NAMES: usize = 8;

impl Names {
    fn get(&self, name: &str) -> Option<u8> {
        match self {
            Names::Few(names) => names
                .iter()
                .find(|(n, _)| n.as_ref() == name)
                .map(|&(_, c)| c),
            Names::Many(names) => names.get(name).copied(),
        }
    }
}

impl DirectLevels {
    /// From batches of DIRECT's columns `id`, `name_key`, `level` (the run
    /// passes only the rows of IDs with a level other than `same`: the
    /// others would be dropped here). Rows without an ID are never looked
    /// up and left out. Two rows of one key (a name missing and written
    /// empty both give the key '') keep the larger code, `same` above a
    /// null level: the order the batches come in does not matter.
    pub(crate) fn new(batches: &[RecordBatch]) -> Result<Self> {
        use rayon::slice::ParallelSliceMut;
        let same = code(Some(LEVEL_SAME))?;
        let mut columns = Vec::with_capacity(batches.len());
        for batch in batches {
            let column = |name: &str| {
                batch
                    .column_by_name(name)
                    .ok_or_else(|| DataFusionError::Internal(format!("DIRECT has no {name}")))
                    .and_then(strings)
            };
            columns.push((column("id")?, column("name_key")?, column("level")?));
        }
        // The rows as (ID, name, code), sorted: each ID's rows together, and
        // of two rows of one key the larger code last. Sorting borrowed
        // strings (in parallel) and keeping each key's last row, rather than
        // a map of maps of every row's names: the city's step (1.76 M
        // names held, its query included) 3.86 → 2.01 s, the county's
        // 0.16–0.19 → 0.10 s (session 45).
        let mut rows: Vec<(&str, &str, u8)> =
            Vec::with_capacity(columns.iter().map(|(id, _, _)| id.len()).sum());
        for (id, names, level) in &columns {
            for i in 0..id.len() {
                if id.is_null(i) {
                    continue;
                }
                let c = code((!level.is_null(i)).then(|| level.value(i)))?;
                let name = if names.is_null(i) { "" } else { names.value(i) };
                rows.push((id.value(i), name, c));
            }
        }
        rows.par_sort_unstable();
        // Only the names whose level is not `same` are held, and the IDs
        // with one.
        let mut held = 0;
        let mut ids = HashMap::default();
        for rows in rows.chunk_by(|a, b| a.0 == b.0) {
            let names: Vec<(Box<str>, u8)> = rows
                .chunk_by(|a, b| a.1 == b.1)
                .filter_map(|key| {
                    let &(_, name, c) = key.last()?;
                    (c != same).then(|| (name.into(), c))
                })
                .collect();
            held += names.len();
            let names = match names.len() {
                0 => continue,
                n if n <= FEW_NAMES => Names::Few(names.into_boxed_slice()),
                _ => Names::Many(names.into_iter().collect()),
            };
            ids.insert(rows[0].0.into(), names);
        }
        Ok(DirectLevels { ids, held })
    }

    /// The (ID, name) pairs held: those whose level is not `same`.
    pub(crate) fn len(&self) -> usize {
        self.held
    }

    /// The level of (ID, name as written): `None` for a null level.
    fn level(&self, id: &str, name: &str) -> Option<&'static str> {
        match self.ids.get(id).and_then(|names| names.get(name)) {
            None => Some(LEVEL_SAME),
            Some(0) => None,
            Some(c) => Some(LABELS[usize::from(c) - 1]),
        }
    }

    /// The level of each (ID, name as written): null when either is null
    /// or the level is null.
    fn lookup(&self, ids: &StringArray, names: &StringArray) -> StringArray {
        let mut out = StringBuilder::with_capacity(ids.len(), ids.len() * 4);
        for i in 0..ids.len() {
            if ids.is_null(i) || names.is_null(i) {
                out.append_null();
            } else {
                out.append_option(self.level(ids.value(i), names.value(i)));
            }
        }
        out.finish()
    }
}

/// How row `i`'s valid or upgraded ID linked: exact when valid and written
/// as normalised, normalized when valid, else legacy15 (as SQL's `=` would
/// say, a null raw ID or ID is not written as normalised).
fn method(statuses: &StringArray, raws: &StringArray, ids: &StringArray, i: usize) -> Method {
    let valid = !statuses.is_null(i) && statuses.value(i) == status::VALID;
    let exact = !raws.is_null(i) && !ids.is_null(i) && raws.value(i) == ids.value(i);
    match (valid, exact) {
        (true, true) => Method::Exact,
        (true, false) => Method::Normalized,
        (false, _) => Method::Legacy15,
    }
}

/// A link's score: its method's, lower when its name disagrees.
fn score(method: Method, level: Option<&str>) -> f64 {
    if level == Some(LEVEL_DISAGREE) {
        SCORE_NAME_DISAGREES
    } else {
        method.score()
    }
}

/// The direct levels that resolution registered on `ctx` with the kernels,
/// if it did.
pub(crate) fn registered_levels(ctx: &SessionContext) -> Option<Arc<DirectLevels>> {
    let udf = ctx.udf(NAME).ok()?;
    udf.inner()
        .downcast_ref::<LinkedUdf>()
        .map(|u| u.levels.clone())
}

/// One ID field of a batch of extract rows, read as the linked views read
/// it (`plan::observations_select`, `plan::resolved_linked`): the ID, as
/// written, its status, and the name as written of the field's name field
/// (the name key: empty when missing).
pub(crate) struct LinkedField {
    ids: StringArray,
    raws: StringArray,
    statuses: StringArray,
    names: Option<StringArray>,
}

/// The person, method and score of a row's linked ID.
pub(crate) struct LinkedPerson<'a> {
    pub person_id: Option<&'a str>,
    pub method: Method,
    pub score: f64,
}

impl LinkedField {
    /// ID field `id_field` of `batch` (its three columns), with the name as
    /// written of column `name_raw` when its observations carry one.
    pub(crate) fn of(batch: &RecordBatch, id_field: &str, name_raw: Option<&str>) -> Result<Self> {
        let column = |c: &str| {
            batch
                .column_by_name(c)
                .ok_or_else(|| DataFusionError::Internal(format!("the rows have no {c}")))
                .and_then(strings)
        };
        Ok(LinkedField {
            ids: column(id_field)?,
            raws: column(&format!("{id_field}_raw"))?,
            statuses: column(&format!("{id_field}_status"))?,
            names: name_raw.map(column).transpose()?,
        })
    }

    /// Row `i`'s person as its linked view gives it, when its ID is valid
    /// or upgraded (nearly every row); `None` for the others, which the
    /// resolved other observations hold.
    pub(crate) fn person(&self, levels: &DirectLevels, i: usize) -> Option<LinkedPerson<'_>> {
        if self.statuses.is_null(i)
            || !matches!(self.statuses.value(i), status::VALID | status::UPGRADED15)
        {
            return None;
        }
        let method = method(&self.statuses, &self.raws, &self.ids, i);
        let person_id = (!self.ids.is_null(i)).then(|| self.ids.value(i));
        // The name key: the name as written, empty when missing.
        let name = match &self.names {
            Some(names) if !names.is_null(i) => names.value(i),
            _ => "",
        };
        let level = person_id.and_then(|id| levels.level(id, name));
        Some(LinkedPerson {
            person_id,
            method,
            score: score(method, level),
        })
    }
}

/// Which of the kernels a [`LinkedUdf`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Level,
    Method,
    Score,
}

/// One of the kernels over a [`DirectLevels`]. Two are equal when they are
/// the same kernel over the same table.
#[derive(Debug)]
pub(crate) struct LinkedUdf {
    kind: Kind,
    signature: Signature,
    levels: Arc<DirectLevels>,
}

impl PartialEq for LinkedUdf {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && Arc::ptr_eq(&self.levels, &other.levels)
    }
}

impl Eq for LinkedUdf {}

impl std::hash::Hash for LinkedUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        Arc::as_ptr(&self.levels).hash(state);
    }
}

impl LinkedUdf {
    /// `direct_level`, `link_method` and `link_score` over `levels`.
    pub(crate) fn udfs(levels: DirectLevels) -> [ScalarUDF; 3] {
        let levels = Arc::new(levels);
        [(Kind::Level, 2), (Kind::Method, 3), (Kind::Score, 4)].map(|(kind, args)| {
            ScalarUDF::from(LinkedUdf {
                kind,
                signature: Signature::string(args, Volatility::Immutable),
                levels: levels.clone(),
            })
        })
    }
}

impl ScalarUDFImpl for LinkedUdf {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Level => NAME,
            Kind::Method => METHOD,
            Kind::Score => SCORE,
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::Level | Kind::Method => DataType::Utf8,
            Kind::Score => DataType::Float64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let arrays = arrays.iter().map(strings).collect::<Result<Vec<_>>>()?;
        let out: ArrayRef = match (self.kind, arrays.as_slice()) {
            (Kind::Level, [ids, names]) => Arc::new(self.levels.lookup(ids, names)),
            (Kind::Method, [statuses, raws, ids]) => {
                let mut out = StringBuilder::with_capacity(ids.len(), ids.len() * 10);
                for i in 0..ids.len() {
                    out.append_value(method(statuses, raws, ids, i).label());
                }
                Arc::new(out.finish())
            }
            (Kind::Score, [statuses, raws, ids, levels]) => {
                let mut out = Float64Builder::with_capacity(ids.len());
                for i in 0..ids.len() {
                    let level = (!levels.is_null(i)).then(|| levels.value(i));
                    out.append_value(score(method(statuses, raws, ids, i), level));
                }
                Arc::new(out.finish())
            }
            _ => {
                return Err(DataFusionError::Internal(format!(
                    "{} takes other arguments",
                    self.name()
                )));
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Field, Schema};

    type Row<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);

    fn direct(rows: &[Row<'_>]) -> RecordBatch {
        let column = |values: Vec<Option<&str>>| Arc::new(StringArray::from(values)) as ArrayRef;
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Utf8, true),
                Field::new("name_key", DataType::Utf8, true),
                Field::new("level", DataType::Utf8, true),
            ])),
            vec![
                column(rows.iter().map(|r| r.0).collect()),
                column(rows.iter().map(|r| r.1).collect()),
                column(rows.iter().map(|r| r.2).collect()),
            ],
        )
        .unwrap()
    }

    /// The levels of (ID, name) pairs, as text.
    fn looked_up(
        levels: &DirectLevels,
        ids: &StringArray,
        names: &StringArray,
    ) -> Vec<Option<String>> {
        let found = levels.lookup(ids, names);
        found.iter().map(|l| l.map(str::to_string)).collect()
    }

    #[test]
    fn each_id_and_name_finds_its_own_level() {
        let levels = DirectLevels::new(&[direct(&[
            (Some("110101199001011234"), Some("张三"), Some(LEVEL_SAME)),
            (
                Some("110101199001011234"),
                Some("李四"),
                Some(LEVEL_DISAGREE),
            ),
            (
                Some("11010119900101123"),
                Some("4张三"),
                Some(LEVEL_VARIANT),
            ),
            (Some("110101199001011242"), Some(""), None),
            (Some("110101199001011250"), Some("赵六"), Some(LEVEL_SAME)),
            (None, Some("王五"), Some(LEVEL_SAME)),
        ])])
        .unwrap();
        // Only the levels other than same are held.
        assert_eq!(levels.len(), 3);
        let ids = StringArray::from(vec![
            Some("110101199001011234"),
            Some("110101199001011234"),
            Some("11010119900101123"),
            Some("110101199001011242"),
            Some("110101199001011250"),
            None,
            Some("110101199001011234"),
        ]);
        let names = StringArray::from(vec![
            Some("张三"),
            Some("李四"),
            Some("4张三"),
            Some(""),
            Some("赵六"),
            Some("王五"),
            None,
        ]);
        let want = [
            Some(LEVEL_SAME),
            Some(LEVEL_DISAGREE),
            Some(LEVEL_VARIANT),
            None,
            Some(LEVEL_SAME),
            None,
            None,
        ];
        let want: Vec<Option<String>> = want.iter().map(|l| l.map(str::to_string)).collect();
        assert_eq!(looked_up(&levels, &ids, &names), want);
    }

    #[test]
    fn a_valid_id_written_as_normalised_is_exact_and_an_upgraded_one_legacy15() {
        let valid = Some(status::VALID);
        let statuses = StringArray::from(vec![valid, valid, valid, Some(status::UPGRADED15)]);
        let raws = StringArray::from(vec![
            Some("110101199001011234"),
            Some("11010119900101123４"),
            None,
            Some("110101900101123"),
        ]);
        let ids = StringArray::from(vec!["110101199001011234"; 4]);
        let methods: Vec<Method> = (0..4).map(|i| method(&statuses, &raws, &ids, i)).collect();
        assert_eq!(
            methods,
            [
                Method::Exact,
                Method::Normalized,
                Method::Normalized,
                Method::Legacy15
            ]
        );
    }

    #[test]
    fn one_key_twice_keeps_the_same_level_whichever_comes_first() {
        let id = Some("110101199001011234");
        let ids = StringArray::from(vec!["110101199001011234"]);
        let names = StringArray::from(vec![""]);
        for (a, b, want) in [
            (None, Some(LEVEL_HOMOPHONE), Some(LEVEL_HOMOPHONE)),
            (Some(LEVEL_SAME), Some(LEVEL_VARIANT), Some(LEVEL_VARIANT)),
            (None, Some(LEVEL_SAME), Some(LEVEL_SAME)),
        ] {
            for rows in [
                [(id, Some(""), a), (id, Some(""), b)],
                [(id, Some(""), b), (id, Some(""), a)],
            ] {
                let want = vec![want.map(str::to_string)];
                let levels = DirectLevels::new(&[direct(&rows)]).unwrap();
                assert_eq!(looked_up(&levels, &ids, &names), want);
                // The two rows in batches of their own.
                let apart = [direct(&rows[..1]), direct(&rows[1..])];
                let levels = DirectLevels::new(&apart).unwrap();
                assert_eq!(looked_up(&levels, &ids, &names), want);
            }
        }
    }

    #[test]
    fn an_id_with_many_names_finds_each_names_level() {
        // Past FEW_NAMES the names of one ID are held in a table of their own.
        let id = "110101199001011234";
        let labels = [LEVEL_VARIANT, LEVEL_HOMOPHONE, LEVEL_DISAGREE];
        let names: Vec<String> = (0..3 * FEW_NAMES).map(|i| format!("名{i}")).collect();
        let rows: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (Some(id), Some(n.as_str()), Some(labels[i % 3])))
            .chain([(Some(id), Some("张三"), Some(LEVEL_SAME))])
            .collect();
        let levels = DirectLevels::new(&[direct(&rows)]).unwrap();
        assert_eq!(levels.len(), names.len());
        let asked: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .chain(["张三", "无名"])
            .collect();
        let ids = StringArray::from(vec![id; asked.len()]);
        let want: Vec<Option<String>> = (0..names.len())
            .map(|i| labels[i % 3])
            .chain([LEVEL_SAME, LEVEL_SAME])
            .map(|l| Some(l.to_string()))
            .collect();
        assert_eq!(looked_up(&levels, &ids, &StringArray::from(asked)), want);
    }
}
