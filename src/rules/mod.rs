//! The rule catalogue of spec/rules.md, evaluated as DataFusion SQL over the
//! tables the earlier stages registered (roster and department extracts, each
//! row carrying `_file`/`_row`/`_ord`/`_dup`/`_superseded` and its resolved
//! `person_id`). This module owns what the rules share — the parameters, the
//! window, and the building blocks every family reads (household membership,
//! wage and pension income, "known dead or moved", the current school year,
//! the latest house assessment), defined once here as named CTEs — and
//! `evaluate`, which runs every rule whose tables are present. Each family file
//! (cb.rs, lb.rs, dy.rs, dq.rs) holds one function per rule: its predicate is a
//! query that reads like the rule's line in the spec; Rust only formats the
//! evidence from the figures the query returns.
//!
//! Money is integer fen and comparisons are exact: a mean over the months of
//! the window is kept as `sum × (L / months)` with L = 27720 = lcm(1..12), an
//! exact integer that is L times the mean, and thresholds are multiplied by L
//! instead of dividing the income.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{Datelike, Months, NaiveDate};

use datafusion::arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;

pub mod cb;
pub mod dq;
pub mod dy;
pub mod lb;

#[cfg(test)]
pub(crate) mod testkit;

/// L = lcm(1..=12): divisible by every count of months a window can hold, so
/// `sum × (L / months)` is L times the monthly mean, exactly.
pub const MEAN_SCALE: i64 = 27720;

/// The thresholds of spec/rules.md, each configurable; money in fen, ratios
/// in per-mille (‰) or basis points (1/10000).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleParams {
    pub as_of: NaiveDate,
    /// The county-wide minimum-living standard, fen per person per month.
    pub standard_fen: i64,
    /// Township overrides of the standard (roster 乡镇（街道） → fen).
    pub township_standard_fen: BTreeMap<String, i64>,
    /// CB01 factor for 低保 and 特困 (1000 = 1.0).
    pub income_factor_permille: i64,
    /// CB01 factor for 低收入 (1500 = 1.5).
    pub income_factor_low_income_permille: i64,
    /// CB02: this many current homes or more fire.
    pub max_homes: i64,
    /// LB01: out-of-pocket over the window at or above this fires.
    pub oop_threshold_fen: i64,
    /// LB03: the grades counted as dangerous.
    pub dangerous_grades: Vec<String>,
    /// LB04: registered unemployed at least this many months before as-of.
    pub unemployed_months: i64,
    /// DY02 floor for 低保 and 特困 (7000 = 0.70).
    pub floor_bp: i64,
    /// DY02 floor for 低收入 (5000 = 0.50).
    pub floor_low_income_bp: i64,
    /// DQ05: computed income above declared × (1 + margin) fires (3000 = 30 %).
    pub declared_margin_bp: i64,
}

impl Default for RuleParams {
    fn default() -> Self {
        RuleParams {
            as_of: NaiveDate::from_ymd_opt(2025, 11, 30).expect("valid date"),
            standard_fen: 80_000,
            township_standard_fen: BTreeMap::new(),
            income_factor_permille: 1000,
            income_factor_low_income_permille: 1500,
            max_homes: 2,
            oop_threshold_fen: 2_000_000,
            dangerous_grades: vec!["D".to_string()],
            unemployed_months: 12,
            floor_bp: 7000,
            floor_low_income_bp: 5000,
            declared_margin_bp: 3000,
        }
    }
}

/// One finding, before the report stage adds finding_id, kind, severity and
/// the case status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub household_id: Option<String>,
    pub id_number: Option<String>,
    pub name: Option<String>,
    pub township: Option<String>,
    pub village: Option<String>,
    pub evidence: String,
    /// `extract:file:row`, sorted and deduplicated.
    pub sources: Vec<String>,
    /// person_method of the record that identified the person, e.g. `exact`.
    pub matched: Option<String>,
}

/// A rule's fixed code, its label and kind in the spec's words, its default
/// severity and the tables it reads (absent tables skip the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    pub code: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub severity: &'static str,
    pub needs: &'static [&'static str],
}

pub const ROSTER: &str = "roster";
pub const EDUCATION: &str = "education";
pub const MEDICAL_ENROLLMENT: &str = "medical_enrollment";
pub const MEDICAL_SETTLEMENT: &str = "medical_settlement";
pub const PROPERTY: &str = "property";
pub const HOUSING_SAFETY: &str = "housing_safety";
pub const CONTRIBUTION: &str = "contribution";
pub const UNEMPLOYMENT: &str = "unemployment";
pub const PENSION: &str = "pension";

const MISGRANTED: &str = "错保";
const UNCOVERED: &str = "漏保";
const UNDELIVERED: &str = "待遇未落实";
const DATA_CHECK: &str = "数据核查";

/// The catalogue. DQ01–DQ04 are raised by the resolve stage; they are listed
/// here (needing no table) so that labels and severities live in one place.
/// LB rules read medical_enrollment only to leave out persons known dead or
/// moved; without that extract nobody is known to be, so it is not a need.
pub static RULES: &[RuleInfo] = &[
    RuleInfo {
        code: "CB01",
        label: "收入超标",
        kind: MISGRANTED,
        severity: "高",
        needs: &[ROSTER, CONTRIBUTION, PENSION],
    },
    RuleInfo {
        code: "CB02",
        label: "房产超标",
        kind: MISGRANTED,
        severity: "高",
        needs: &[ROSTER, PROPERTY],
    },
    RuleInfo {
        code: "CB03",
        label: "公职人员",
        kind: MISGRANTED,
        severity: "高",
        needs: &[ROSTER, CONTRIBUTION],
    },
    RuleInfo {
        code: "CB04",
        label: "死亡未停保",
        kind: MISGRANTED,
        severity: "高",
        needs: &[ROSTER, MEDICAL_ENROLLMENT],
    },
    RuleInfo {
        code: "CB05",
        label: "重复享受",
        kind: MISGRANTED,
        severity: "高",
        needs: &[ROSTER],
    },
    RuleInfo {
        code: "LB01",
        label: "因病致贫风险",
        kind: UNCOVERED,
        severity: "高",
        needs: &[ROSTER, MEDICAL_SETTLEMENT, CONTRIBUTION],
    },
    RuleInfo {
        code: "LB02",
        label: "困境儿童未纳入",
        kind: UNCOVERED,
        severity: "高",
        needs: &[ROSTER, EDUCATION],
    },
    RuleInfo {
        code: "LB03",
        label: "危房户未纳入",
        kind: UNCOVERED,
        severity: "中",
        needs: &[ROSTER, HOUSING_SAFETY, CONTRIBUTION],
    },
    RuleInfo {
        code: "LB04",
        label: "长期失业",
        kind: UNCOVERED,
        severity: "中",
        needs: &[ROSTER, UNEMPLOYMENT, CONTRIBUTION],
    },
    RuleInfo {
        code: "DY01",
        label: "未参保",
        kind: UNDELIVERED,
        severity: "中",
        needs: &[ROSTER, MEDICAL_ENROLLMENT],
    },
    RuleInfo {
        code: "DY02",
        label: "救助比例不足",
        kind: UNDELIVERED,
        severity: "中",
        needs: &[ROSTER, MEDICAL_SETTLEMENT],
    },
    RuleInfo {
        code: "DY03",
        label: "学生未资助",
        kind: UNDELIVERED,
        severity: "中",
        needs: &[ROSTER, EDUCATION],
    },
    RuleInfo {
        code: "DY04",
        label: "危房未改造",
        kind: UNDELIVERED,
        severity: "中",
        needs: &[ROSTER, HOUSING_SAFETY],
    },
    RuleInfo {
        code: "DQ01",
        label: "身份证号无效",
        kind: DATA_CHECK,
        severity: "低",
        needs: &[],
    },
    RuleInfo {
        code: "DQ02",
        label: "同号不同名",
        kind: DATA_CHECK,
        severity: "低",
        needs: &[],
    },
    RuleInfo {
        code: "DQ03",
        label: "身份证号已修正",
        kind: DATA_CHECK,
        severity: "低",
        needs: &[],
    },
    RuleInfo {
        code: "DQ04",
        label: "科学计数法损坏",
        kind: DATA_CHECK,
        severity: "低",
        needs: &[],
    },
    RuleInfo {
        code: "DQ05",
        label: "申报收入不符",
        kind: DATA_CHECK,
        severity: "低",
        needs: &[ROSTER, CONTRIBUTION, PENSION],
    },
    RuleInfo {
        code: "DQ06",
        label: "学籍低保标识不符",
        kind: DATA_CHECK,
        severity: "低",
        needs: &[ROSTER, EDUCATION],
    },
];

/// The catalogue entry of a rule code.
pub fn rule_info(code: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.code == code)
}

/// Runs every rule of this stage (all but DQ01–DQ04) whose tables are
/// registered; returns the findings, each rule's sorted by (household_id,
/// id_number), and the codes of the rules skipped for a missing table.
pub async fn evaluate(
    ctx: &SessionContext,
    params: &RuleParams,
) -> Result<(Vec<Finding>, Vec<&'static str>)> {
    let mut findings = Vec::new();
    let mut skipped = Vec::new();
    let mut present = Vec::new();
    for (name, tables) in SHARED_BLOCKS {
        let mut all = true;
        for table in *tables {
            all &= ctx.table_exist(*table)?;
        }
        if all {
            present.push(*name);
        }
    }
    // Each block reads the ones materialised before it. They are computed
    // in waves, each wave's blocks side by side: those whose shared blocks
    // are all there (or not computed at all, and so inlined).
    let blocks = Blocks::new(ctx, params)?;
    let reads: Vec<Vec<&str>> = present
        .iter()
        .map(|&name| blocks.shared_reads(name))
        .collect();
    let Some(waves) = crate::engine::waves(&present, &reads) else {
        return Err(DataFusionError::Internal(
            "the shared blocks read each other in a circle".into(),
        ));
    };
    let mut shared: Vec<&'static str> = Vec::new();
    for wave in waves {
        let wave: Vec<&'static str> = wave.into_iter().map(|i| present[i]).collect();
        let jobs = wave
            .iter()
            .map(|&name| {
                let ctx = ctx.clone();
                let params = params.clone();
                async move {
                    let blocks = Blocks::new(&ctx, &params)?;
                    let sql = blocks.query(&[name], &[], &format!("SELECT * FROM {name}"));
                    let start = std::time::Instant::now();
                    crate::engine::materialize(&ctx, name, &sql).await?;
                    tracing::debug!(
                        block = name,
                        seconds = start.elapsed().as_secs_f64(),
                        "shared block"
                    );
                    Ok(())
                }
            })
            .collect();
        let done = crate::engine::side_by_side(ctx, crate::engine::Jobs::Queries, jobs).await;
        // Those of the wave already registered are dropped below too.
        shared.extend(wave);
        if let Err(e) = done {
            crate::engine::drop_tables(ctx, &shared)?;
            return Err(e);
        }
    }
    let result = evaluate_rules(ctx, params, &mut findings, &mut skipped).await;
    crate::engine::drop_tables(ctx, &shared)?;
    result?;
    Ok((findings, skipped))
}

async fn evaluate_rules(
    ctx: &SessionContext,
    params: &RuleParams,
    findings: &mut Vec<Finding>,
    skipped: &mut Vec<&'static str>,
) -> Result<()> {
    let mut runnable = Vec::new();
    for info in RULES {
        if info.needs.is_empty() {
            continue; // raised by the resolve stage
        }
        let mut present = true;
        for table in info.needs {
            present &= ctx.table_exist(*table)?;
        }
        if present {
            runnable.push(info.code);
        } else {
            skipped.push(info.code);
        }
    }
    // The rules only read the extracts and the shared blocks: they run side
    // by side, their findings kept in catalogue order.
    let jobs = runnable
        .into_iter()
        .map(|code| {
            let ctx = ctx.clone();
            let params = params.clone();
            async move {
                let start = std::time::Instant::now();
                let found = evaluate_rule(&ctx, &params, code).await;
                tracing::debug!(rule = code, seconds = start.elapsed().as_secs_f64(), "rule");
                found
            }
        })
        .collect();
    for found in crate::engine::side_by_side(ctx, crate::engine::Jobs::Queries, jobs).await? {
        findings.extend(found);
    }
    Ok(())
}

async fn evaluate_rule(
    ctx: &SessionContext,
    params: &RuleParams,
    code: &'static str,
) -> Result<Vec<Finding>> {
    match code {
        "CB01" => cb::cb01(ctx, params).await,
        "CB02" => cb::cb02(ctx, params).await,
        "CB03" => cb::cb03(ctx, params).await,
        "CB04" => cb::cb04(ctx, params).await,
        "CB05" => cb::cb05(ctx, params).await,
        "LB01" => lb::lb01(ctx, params).await,
        "LB02" => lb::lb02(ctx, params).await,
        "LB03" => lb::lb03(ctx, params).await,
        "LB04" => lb::lb04(ctx, params).await,
        "DY01" => dy::dy01(ctx, params).await,
        "DY02" => dy::dy02(ctx, params).await,
        "DY03" => dy::dy03(ctx, params).await,
        "DY04" => dy::dy04(ctx, params).await,
        "DQ05" => dq::dq05(ctx, params).await,
        "DQ06" => dq::dq06(ctx, params).await,
        other => Err(DataFusionError::Internal(format!(
            "rule {other} is in the catalogue but has no evaluator"
        ))),
    }
}

// ---------------------------------------------------------------------------
// The window and the shared building blocks

/// The window of a run: dates in (after, as_of], months first..=last
/// (YYYYMM), and the current school year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    pub as_of: NaiveDate,
    /// as-of − 12 months, exclusive.
    pub after: NaiveDate,
    pub first_period: i32,
    pub last_period: i32,
    pub school_year: String,
}

impl Window {
    pub fn new(as_of: NaiveDate) -> Window {
        let after = months_before(as_of, 12);
        let month_index = as_of.year() * 12 + as_of.month0() as i32 - 11;
        let first_period = (month_index / 12) * 100 + month_index % 12 + 1;
        let last_period = as_of.year() * 100 + as_of.month() as i32;
        let start_year = if as_of.month() >= 9 {
            as_of.year()
        } else {
            as_of.year() - 1
        };
        Window {
            as_of,
            after,
            first_period,
            last_period,
            school_year: format!("{}-{}", start_year, start_year + 1),
        }
    }

    /// SQL: the month (YYYYMM) in `column`, one of the window's 12, as a
    /// BIGINT with the bit of its place in the window set (bit 0 the
    /// first month).
    pub fn month_bit(&self, column: &str) -> String {
        let first = (self.first_period / 100) * 12 + self.first_period % 100;
        format!(
            "(CAST(1 AS BIGINT) << CAST(({column} / 100) * 12 + {column} % 100 - {first} AS BIGINT))"
        )
    }

    /// SQL: how many of the window's 12 months the mask in `column`
    /// ([`Window::month_bit`], or'ed) holds; NULL for a NULL mask.
    pub fn months_in(&self, column: &str) -> String {
        let bits: Vec<String> = (0..12)
            .map(|k| format!("(({column} >> {k}) & 1)"))
            .collect();
        format!("({})", bits.join(" + "))
    }

    /// SQL: the date column lies in the window.
    pub fn has_date(&self, column: &str) -> String {
        format!(
            "({column} > {} AND {column} <= {})",
            date_lit(self.after),
            date_lit(self.as_of)
        )
    }

    /// SQL: the YYYYMM column is one of the window's 12 months.
    pub fn has_period(&self, column: &str) -> String {
        format!(
            "({column} BETWEEN {} AND {})",
            self.first_period, self.last_period
        )
    }
}

/// `date` − `months` calendar months (clamped to the month's last day).
pub(crate) fn months_before(date: NaiveDate, months: i64) -> NaiveDate {
    let months = u32::try_from(months.max(0)).unwrap_or(u32::MAX);
    date.checked_sub_months(Months::new(months))
        .unwrap_or(NaiveDate::MIN)
}

pub(crate) fn date_lit(date: NaiveDate) -> String {
    format!("DATE '{}'", date.format("%Y-%m-%d"))
}

pub(crate) fn str_lit(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// SQL: the integer expression as DECIMAL(38, 0), for cross-multiplied
/// comparisons: DataFusion's Int64 multiplication wraps on overflow, and an
/// absurd amount in an extract must not turn a comparison around.
pub(crate) fn exact(expr: &str) -> String {
    format!("CAST({expr} AS DECIMAL(38, 0))")
}

/// SQL: a department table's row as a source, `table:file:row` (`alias`:
/// the row's table alias with its dot, or empty). The `live_*` views give
/// it as `src`, but the engine computes a view's columns for every row it
/// passes, before a join or semi-join above the view keeps a few: a rule
/// that keeps few rows writes the source out after its join instead (at
/// city, the sources of every settlement, enrollment and contribution
/// month were built and dropped).
pub(crate) fn src_of(table: &str, alias: &str) -> String {
    format!("'{table}:' || {alias}_file || ':' || {alias}_row")
}

/// SQL: a table's linked rows, each with its source as `src`: neither an
/// exact duplicate nor superseded, and with a person.
fn linked_rows(table: &str) -> String {
    format!(
        "SELECT *, {src} AS src FROM {table} \
         WHERE NOT _dup AND NOT _superseded AND person_id IS NOT NULL",
        src = src_of(table, ""),
    )
}

/// SQL: the sources of the wage income ([`Blocks`]' `wage_income`) of the
/// persons that `persons` selects, as (person_id, wage_src), read from the
/// `contribution_window` block. Gathered only for the persons a rule
/// reports on: gathered with the wage income for every contributor, the
/// sources were the rules stage's largest aggregate.
pub(crate) fn wage_sources(persons: &str) -> String {
    format!(
        "SELECT person_id, string_agg({src}, ';') AS wage_src FROM contribution_window \
         WHERE person_id IN ({persons}) GROUP BY person_id",
        src = src_of(CONTRIBUTION, ""),
    )
}

/// Adds `wage_src`, the sources of the wage income ([`wage_sources`]), to
/// each of `rows` by its `id_number`, in one query for them all: the few
/// persons a rule reports on. (As a subquery over the rule's own result,
/// LB01's settlement sums were computed twice: 0.23 → 0.85 s at a county.)
/// The ID numbers go to the query as a table registered as `table` (one
/// name a rule: rules run side by side), never as SQL literals: the query
/// engine logs its SQL and plans at debug and trace level.
pub(crate) async fn add_wage_sources(
    ctx: &SessionContext,
    blocks: &Blocks<'_>,
    rows: &mut [Row],
    table: &str,
) -> Result<()> {
    let mut ids: Vec<String> = rows.iter().filter_map(|r| r.text("id_number")).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    let batch =
        RecordBatch::try_from_iter([("person_id", Arc::new(StringArray::from(ids)) as ArrayRef)])?;
    crate::engine::register_batch(ctx, table, batch)?;
    let sql = blocks.query(
        &["contribution_window"],
        &[],
        &wage_sources(&format!("SELECT person_id FROM {table}")),
    );
    let found = fetch(ctx, &sql).await;
    ctx.deregister_table(table)?;
    let found: HashMap<String, String> = found?
        .into_iter()
        .filter_map(|r| Some((r.text("person_id")?, r.text("wage_src")?)))
        .collect();
    for row in rows {
        let src = row.text("id_number").and_then(|id| found.get(&id).cloned());
        if let Some(src) = src {
            row.text.insert("wage_src".to_string(), src);
        }
    }
    Ok(())
}

/// SQL: `column IN (values…)`, FALSE for no values.
pub(crate) fn is_one_of(column: &str, values: &[String]) -> String {
    if values.is_empty() {
        return "FALSE".to_string();
    }
    let list: Vec<String> = values.iter().map(|v| str_lit(v)).collect();
    format!("{column} IN ({})", list.join(", "))
}

/// The shared building blocks as named CTEs, parameterised by the run; a
/// rule names the blocks it reads and `query` prepends them (with what they
/// depend on, each once, in dependency order) to the rule's own SELECT.
pub(crate) struct Blocks<'a> {
    pub params: &'a RuleParams,
    pub window: Window,
    has_enrollment: bool,
    /// Shared blocks computed once for every rule ([`SHARED_BLOCKS`]) and
    /// registered as tables of their own name: read, not recomputed.
    materialized: Vec<&'static str>,
}

/// The blocks that several rules read and that aggregate (so that holding
/// them costs little), with the tables they need: [`evaluate`] computes each
/// once, in this (dependency) order, when its tables are there. The `live_*`
/// filters stay inline: they would copy whole department tables.
const SHARED_BLOCKS: &[(&str, &[&str])] = &[
    ("roster_rows", &[ROSTER]),
    ("members", &[ROSTER]),
    ("households", &[ROSTER]),
    ("roster_persons", &[ROSTER]),
    ("known_gone", &[]),
    ("deceased", &[MEDICAL_ENROLLMENT]),
    ("wage_income", &[CONTRIBUTION]),
    ("pension_income", &[ROSTER, PENSION]),
    ("member_income", &[ROSTER, CONTRIBUTION, PENSION]),
    ("household_income", &[ROSTER, CONTRIBUTION, PENSION]),
    ("current_education", &[EDUCATION]),
    ("latest_house", &[HOUSING_SAFETY]),
];

/// Department tables: a row is visible to the rules when it is not an exact
/// duplicate, not replaced by a later row with its key, and linked.
const DEPARTMENT_TABLES: &[&str] = &[
    EDUCATION,
    MEDICAL_ENROLLMENT,
    MEDICAL_SETTLEMENT,
    PROPERTY,
    HOUSING_SAFETY,
    CONTRIBUTION,
    UNEMPLOYMENT,
    PENSION,
];

impl<'a> Blocks<'a> {
    pub fn new(ctx: &SessionContext, params: &'a RuleParams) -> Result<Blocks<'a>> {
        let mut materialized = Vec::new();
        for (name, _) in SHARED_BLOCKS {
            if ctx.table_exist(*name)? {
                materialized.push(*name);
            }
        }
        Ok(Blocks {
            params,
            window: Window::new(params.as_of),
            has_enrollment: ctx.table_exist(MEDICAL_ENROLLMENT)?,
            materialized,
        })
    }

    /// SQL: the monthly standard (fen) of a roster township.
    fn standard_of(&self, township: &str) -> String {
        if self.params.township_standard_fen.is_empty() {
            return format!("CAST({} AS BIGINT)", self.params.standard_fen);
        }
        let arms: Vec<String> = self
            .params
            .township_standard_fen
            .iter()
            .map(|(t, fen)| format!("WHEN {} THEN {fen}", str_lit(t)))
            .collect();
        format!(
            "CAST(CASE {township} {} ELSE {} END AS BIGINT)",
            arms.join(" "),
            self.params.standard_fen
        )
    }

    /// SQL: the person is in no roster household and not known dead or moved
    /// (the population of the 漏保 rules).
    pub fn outside_roster(&self, person: &str) -> String {
        format!(
            "NOT EXISTS (SELECT 1 FROM roster_persons rp WHERE rp.person_id = {person}) \
             AND NOT EXISTS (SELECT 1 FROM known_gone kg WHERE kg.person_id = {person})"
        )
    }

    /// A block's definition and the blocks it reads.
    fn block(&self, name: &str) -> (Vec<&'static str>, String) {
        let w = &self.window;
        let p = self.params;
        if let Some(table) = name.strip_prefix("live_") {
            assert!(
                DEPARTMENT_TABLES.contains(&table),
                "no department table {table}"
            );
            return (vec![], linked_rows(table));
        }
        match name {
            // Linked roster rows. Only a row that another roster file
            // repeats value for value is superseded: a second, different row
            // for the same household and person is CB05's business.
            "roster_rows" => (vec![], linked_rows(ROSTER)),
            // Household membership: one row per (household, person), the
            // first in file order.
            "members" => (
                vec!["roster_rows"],
                "SELECT household_id, person_id, name, person_method, relation, src FROM ( \
                   SELECT *, ROW_NUMBER() OVER (PARTITION BY household_id, person_id ORDER BY _ord) AS rn \
                   FROM roster_rows) WHERE rn = 1"
                    .into(),
            ),
            // One row per household: its attributes from its first row that
            // gives its category (a household none of whose rows does has
            // none: no factor or floor, so CB01 and DY02 do not judge it),
            // each attribute that row leaves empty from the first row that
            // gives it (a household total repeated on every member row, one
            // of them blank, is still the household's), its
            // size (保障人数 from any of its rows, else its distinct member
            // rows, unlinked ones included), its standard, CB01 factor and
            // DY02 floor. The distinct members are counted as the groups of
            // a grouping by member: COUNT(DISTINCT) keeps a set per
            // household.
            "households" => (
                vec![],
                format!(
                    "SELECT h.household_id, h.category, \
                       COALESCE(h.township, f.township) AS township, \
                       COALESCE(h.village, f.village) AS village, \
                       COALESCE(h.head_name, f.head_name) AS head_name, \
                       COALESCE(h.head_person_id, f.head_person_id) AS head_person_id, \
                       COALESCE(h.start_date, f.start_date) AS start_date, \
                       COALESCE(h.declared_income, f.declared_income) AS declared_income, \
                       COALESCE(h.monthly_benefit, f.monthly_benefit) AS monthly_benefit, \
                       CASE WHEN n.household_size > 0 THEN n.household_size ELSE n.member_rows END AS size, \
                       {standard} AS standard_fen, \
                       CAST(CASE WHEN h.category IS NULL THEN NULL \
                         WHEN h.category = '低收入' THEN {factor_low} ELSE {factor} END AS BIGINT) AS factor_permille, \
                       CAST(CASE WHEN h.category IS NULL THEN NULL \
                         WHEN h.category = '低收入' THEN {floor_low} ELSE {floor} END AS BIGINT) AS floor_bp \
                     FROM (SELECT *, ROW_NUMBER() OVER ( \
                             PARTITION BY household_id ORDER BY category IS NULL, _ord) AS rn \
                           FROM roster WHERE NOT _dup AND NOT _superseded) h \
                     JOIN (SELECT household_id, MAX(household_size) AS household_size, \
                             COUNT(*) AS member_rows \
                           FROM (SELECT household_id, MAX(household_size) AS household_size \
                                 FROM roster WHERE NOT _dup AND NOT _superseded \
                                 GROUP BY household_id, \
                                   COALESCE(person_id, '#' || CAST(_ord AS VARCHAR))) \
                           GROUP BY household_id) n \
                       ON n.household_id = h.household_id \
                     JOIN (SELECT household_id, {firsts} FROM roster \
                           WHERE NOT _dup AND NOT _superseded GROUP BY household_id) f \
                       ON f.household_id = h.household_id \
                     WHERE h.rn = 1",
                    firsts = [
                        "township",
                        "village",
                        "head_name",
                        "head_person_id",
                        "start_date",
                        "declared_income",
                        "monthly_benefit",
                    ]
                    .map(|c| format!("first_value({c} ORDER BY {c} IS NULL, _ord) AS {c}"))
                    .join(", "),
                    standard = self.standard_of("COALESCE(h.township, f.township)"),
                    factor_low = p.income_factor_low_income_permille,
                    factor = p.income_factor_permille,
                    floor_low = p.floor_low_income_bp,
                    floor = p.floor_bp,
                ),
            ),
            // Everyone in some roster household, as a member or its head.
            "roster_persons" => (
                vec!["roster_rows"],
                "SELECT person_id FROM roster_rows \
                 UNION SELECT head_person_id AS person_id FROM roster \
                   WHERE NOT _dup AND head_person_id IS NOT NULL"
                    .into(),
            ),
            // An enrollment ended by death on or before the as-of date (an
            // ended enrollment without a date counts as ended by then).
            "deceased" => (
                vec!["live_medical_enrollment"],
                format!(
                    "SELECT person_id, end_date, scheme, src FROM live_medical_enrollment \
                     WHERE end_reason = '死亡' AND (end_date IS NULL OR end_date <= {})",
                    date_lit(w.as_of)
                ),
            ),
            // Known dead or moved away: not raised by the 漏保 rules.
            "known_gone" if self.has_enrollment => (
                vec!["live_medical_enrollment"],
                format!(
                    "SELECT DISTINCT person_id FROM live_medical_enrollment \
                     WHERE end_reason IN ('死亡', '转出') AND (end_date IS NULL OR end_date <= {})",
                    date_lit(w.as_of)
                ),
            ),
            "known_gone" => (
                vec![],
                "SELECT person_id FROM (VALUES (CAST(NULL AS VARCHAR))) AS t(person_id) WHERE FALSE"
                    .into(),
            ),
            "contribution_window" => (
                vec!["live_contribution"],
                format!(
                    "SELECT * FROM live_contribution WHERE {}",
                    w.has_period("period")
                ),
            ),
            // Wage income: the mean over the window's contribution months of
            // the month's summed bases, kept as wage_scaled = L × mean. The
            // sum over the months is the sum over the rows, so the rows are
            // grouped by person alone: a group per person and month (a
            // city's 15 M) spilled past the engine's memory on disk. A month
            // whose every base is empty (or `-`, `/`, `无`: a base is never
            // 0, and a dash there is one left out) is a month of
            // contributions (CB03, LB04) of unknown base:
            // left out of the mean, not counted as a month earning 0; no
            // known month at all is 0.
            // The distinct months are counted as the bits of a mask of the
            // window's 12 (`bit_or` of each row's month bit): a count of
            // distinct values keeps a set per person, and at city this
            // block took 11.5 s (31 × the county's) that way.
            "wage_income" => {
                let bit = w.month_bit("period");
                (
                    vec!["contribution_window"],
                    format!(
                        "SELECT person_id, {wage_months} AS wage_months, wage_total, \
                           {known_months} AS wage_known_months, \
                           wage_total * ({MEAN_SCALE} / NULLIF({known_months}, 0)) AS wage_scaled \
                         FROM (SELECT person_id, bit_or({bit}) AS months_mask, \
                                 bit_or(CASE WHEN wage_base IS NOT NULL THEN {bit} END) \
                                   AS known_mask, \
                                 SUM(COALESCE(wage_base, 0)) AS wage_total \
                               FROM contribution_window GROUP BY person_id)",
                        wage_months = w.months_in("months_mask"),
                        known_months = w.months_in("known_mask"),
                    ),
                )
            }
            // Pension income: the same over the months a pension was paid
            // (a month paid nothing is not one), so a group per person and
            // month. Only household members' pensions are read
            // (`member_income` is its one reader): grouping every
            // pensioner's months (a city's 17 M groups) spilled past the
            // engine's memory on disk. Tried before: grouped by person
            // alone, with the few months that hold a row paying nothing
            // found first and summed apart; the anti-join that set them
            // apart outgrew the engine's memory at city.
            "pension_income" => (
                vec!["live_pension", "members"],
                format!(
                    "SELECT person_id, COUNT(*) AS pension_months, SUM(month_pension) AS pension_total, \
                       SUM(month_pension) * ({MEAN_SCALE} / COUNT(*)) AS pension_scaled, \
                       string_agg(month_src, ';') AS pension_src \
                     FROM (SELECT person_id, period, SUM(COALESCE(amount, 0)) AS month_pension, \
                             string_agg({src}, ';') AS month_src \
                           FROM live_pension \
                           WHERE {window} AND person_id IN (SELECT person_id FROM members) \
                           GROUP BY person_id, period \
                           HAVING SUM(COALESCE(amount, 0)) > 0) \
                     GROUP BY person_id",
                    src = src_of(PENSION, ""),
                    window = w.has_period("period"),
                ),
            ),
            "member_income" => (
                vec![
                    "members",
                    "wage_income",
                    "pension_income",
                    "contribution_window",
                ],
                format!(
                    "SELECT m.household_id, m.person_id, m.name, m.person_method, m.relation, \
                       COALESCE(wi.wage_scaled, 0) AS wage_scaled, \
                       COALESCE(wi.wage_known_months, 0) AS wage_months, \
                       COALESCE(wi.wage_months, 0) AS wage_contribution_months, \
                       COALESCE(pi.pension_scaled, 0) AS pension_scaled, \
                       COALESCE(pi.pension_months, 0) AS pension_months, \
                       COALESCE(wi.wage_scaled, 0) + COALESCE(pi.pension_scaled, 0) AS income_scaled, \
                       concat_ws(';', m.src, ws.wage_src, pi.pension_src) AS income_src \
                     FROM members m \
                     LEFT JOIN wage_income wi ON wi.person_id = m.person_id \
                     LEFT JOIN ({wage_sources}) ws ON ws.person_id = m.person_id \
                     LEFT JOIN pension_income pi ON pi.person_id = m.person_id",
                    wage_sources = wage_sources("SELECT person_id FROM members"),
                ),
            ),
            // Household income: the sum over its (distinct) members.
            "household_income" => (
                vec!["member_income"],
                "SELECT household_id, SUM(wage_scaled) AS wage_scaled, \
                   SUM(pension_scaled) AS pension_scaled, SUM(income_scaled) AS income_scaled, \
                   string_agg(income_src, ';') AS income_src \
                 FROM member_income GROUP BY household_id"
                    .into(),
            ),
            "current_education" => (
                vec!["live_education"],
                format!(
                    "SELECT * FROM live_education WHERE school_year = {}",
                    str_lit(&w.school_year)
                ),
            ),
            // A house's grade: the latest assessment per head of household.
            // The latest assessment of each head's house as of the as-of
            // date: one dated later was not made yet on that date (a run
            // for an earlier date gives the same answer once it arrives).
            "latest_house" => (
                vec!["live_housing_safety"],
                format!(
                    "SELECT * FROM ( \
                       SELECT *, ROW_NUMBER() OVER (PARTITION BY person_id \
                         ORDER BY assess_date DESC NULLS LAST, _ord DESC) AS rn \
                       FROM live_housing_safety \
                       WHERE assess_date IS NULL OR assess_date <= {}) WHERE rn = 1",
                    date_lit(w.as_of)
                ),
            ),
            other => panic!("no building block {other}"),
        }
    }

    /// The rule's SELECT `body`, preceded by the blocks it names (and their
    /// dependencies) and then its own named steps (`locals`) as one WITH
    /// clause.
    pub fn query(&self, uses: &[&str], locals: &[(&str, String)], body: &str) -> String {
        let mut ordered: Vec<(String, String)> = Vec::new();
        for name in uses {
            self.visit(name, &mut ordered);
        }
        for (name, sql) in locals {
            ordered.push((name.to_string(), sql.clone()));
        }
        if ordered.is_empty() {
            return body.to_string();
        }
        let ctes: Vec<String> = ordered
            .iter()
            .map(|(name, sql)| format!("{name} AS ({sql})"))
            .collect();
        format!("WITH {}\n{body}", ctes.join(",\n"))
    }

    /// The shared blocks ([`SHARED_BLOCKS`]) that block `name` reads, through
    /// the blocks it reads that are not shared.
    fn shared_reads(&self, name: &str) -> Vec<&'static str> {
        let mut reads = Vec::new();
        let mut stack = self.block(name).0;
        while let Some(read) = stack.pop() {
            if let Some((shared, _)) = SHARED_BLOCKS.iter().find(|(s, _)| *s == read) {
                if !reads.contains(shared) {
                    reads.push(*shared);
                }
            } else {
                stack.extend(self.block(read).0);
            }
        }
        reads
    }

    fn visit(&self, name: &str, ordered: &mut Vec<(String, String)>) {
        if ordered.iter().any(|(n, _)| n == name) || self.materialized.contains(&name) {
            return;
        }
        let (deps, sql) = self.block(name);
        for dep in deps {
            self.visit(dep, ordered);
        }
        ordered.push((name.to_string(), sql));
    }
}

// ---------------------------------------------------------------------------
// Reading a query's rows

/// One result row, by column name: text and integers (dates arrive as
/// `YYYY-MM-DD` text).
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    text: HashMap<String, String>,
    int: HashMap<String, i64>,
}

impl Row {
    pub fn text(&self, column: &str) -> Option<String> {
        self.text.get(column).cloned()
    }

    pub fn text_or_empty(&self, column: &str) -> String {
        self.text.get(column).cloned().unwrap_or_default()
    }

    pub fn int(&self, column: &str) -> Option<i64> {
        self.int.get(column).copied()
    }

    /// An integer column, 0 when null.
    pub fn int0(&self, column: &str) -> i64 {
        self.int(column).unwrap_or(0)
    }
}

/// Runs a query and returns its rows.
pub(crate) async fn fetch(ctx: &SessionContext, sql: &str) -> Result<Vec<Row>> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let mut rows = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        let mut batch_rows = vec![Row::default(); batch.num_rows()];
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            let name = field.name().to_string();
            if field.data_type().is_integer() {
                let ints = cast(column, &DataType::Int64)?;
                let ints = ints
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .expect("cast to Int64 gives Int64Array");
                for (i, row) in batch_rows.iter_mut().enumerate() {
                    if ints.is_valid(i) {
                        row.int.insert(name.clone(), ints.value(i));
                    }
                }
            } else {
                let texts = cast(column, &DataType::Utf8)?;
                let texts = texts
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .expect("cast to Utf8 gives StringArray");
                for (i, row) in batch_rows.iter_mut().enumerate() {
                    if texts.is_valid(i) {
                        row.text.insert(name.clone(), texts.value(i).to_string());
                    }
                }
            }
        }
        rows.extend(batch_rows);
    }
    Ok(rows)
}

/// Source lists (`;`-joined) merged, sorted and deduplicated.
pub(crate) fn sources<'s>(lists: impl IntoIterator<Item = Option<&'s str>>) -> Vec<String> {
    let mut all: Vec<String> = lists
        .into_iter()
        .flatten()
        .flat_map(|list| list.split(';'))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    sort_sources(&mut all);
    all
}

/// Sorts source rows (`extract:file:row`) as a person reads them, row
/// numbers as numbers (`:2` before `:12`), and drops repeats.
pub(crate) fn sort_sources(all: &mut Vec<String>) {
    all.sort_by(|a, b| crate::input::natural_cmp(a, b).then_with(|| a.cmp(b)));
    all.dedup();
}

/// Sorts a rule's findings by (household_id, id_number).
pub(crate) fn sorted(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by(|a, b| {
        (&a.household_id, &a.id_number, &a.evidence).cmp(&(
            &b.household_id,
            &b.id_number,
            &b.evidence,
        ))
    });
    findings
}

// ---------------------------------------------------------------------------
// Formatting figures for the evidence

/// Fen as 元 with two decimals: 152000 → `1520.00`.
pub(crate) fn yuan(fen: i64) -> String {
    yuan_i128(fen as i128)
}

fn yuan_i128(fen: i128) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `numerator / unit` fen as 元, exactly: two decimals, more where the
/// fen has a fraction (a threshold such as 800.05 元 × 1.5 = 1200.075 元,
/// which rounded would read as equal to a figure just above it). `unit` is
/// a power of ten.
pub(crate) fn yuan_exact(numerator: i128, unit: i128) -> String {
    let digits = unit.max(1).ilog10() as usize;
    let sign = if numerator < 0 { "-" } else { "" };
    let abs = numerator.unsigned_abs();
    let per_yuan = 100 * unit.max(1).unsigned_abs();
    let frac = format!("{:0width$}", abs % per_yuan, width = digits + 2);
    let frac = frac.trim_end_matches('0');
    format!("{sign}{}.{frac:0<2}", abs / per_yuan)
}

/// How [`yuan_fraction`] rounds a figure that is not a whole fen.
#[derive(Clone, Copy)]
enum Rounding {
    Up,
    Down,
}

/// `numerator / denominator` fen as 元: two decimals when it is a whole
/// fen, else four (a hundredth of a fen), rounded as `rounding` says: a
/// figure just over a threshold shows over it (1300.0034 元 > 1300.00 元,
/// not 1300.01 元 beside a wage of 1300.00 元/月 it is made of).
fn yuan_fraction(numerator: i128, denominator: i128, rounding: Rounding) -> String {
    if denominator == 0 {
        return "—".to_string();
    }
    let (n, d) = if denominator < 0 {
        (-numerator, -denominator)
    } else {
        (numerator, denominator)
    };
    if n % d == 0 {
        return yuan_i128(n / d);
    }
    // In hundredths of a fen.
    let (n, d) = (n * 100, d);
    let hundredths = match rounding {
        Rounding::Up => -((-n).div_euclid(d)),
        Rounding::Down => n.div_euclid(d),
    };
    let sign = if hundredths < 0 { "-" } else { "" };
    let abs = hundredths.unsigned_abs();
    format!("{sign}{}.{:04}", abs / 10_000, abs % 10_000)
}

/// `numerator / denominator` fen as 元, rounded up (at the fen's hundredth
/// when not a whole fen): the figure shown for a value that exceeds a
/// threshold never shows as equal to it.
pub(crate) fn yuan_ratio_up(numerator: i128, denominator: i128) -> String {
    if denominator <= 0 {
        return "—".to_string();
    }
    yuan_fraction(numerator, denominator, Rounding::Up)
}

/// `numerator / denominator` fen as 元, rounded down (at the fen's
/// hundredth when not a whole fen): the figure shown for a value below a
/// threshold never shows as equal to it.
pub(crate) fn yuan_ratio_down(numerator: i128, denominator: i128) -> String {
    if denominator <= 0 {
        return "—".to_string();
    }
    yuan_fraction(numerator, denominator, Rounding::Down)
}

/// A monthly mean kept scaled by L, as 元 rounded up as
/// [`yuan_ratio_up`]: the parts of an income shown over a threshold are
/// rounded as it is (a household whose income is its wage alone shows one
/// figure for both).
pub(crate) fn yuan_mean_up(scaled: i64) -> String {
    yuan_ratio_up(scaled as i128, MEAN_SCALE as i128)
}

/// A local step of CB01's and DQ05's queries: per household, each member
/// with an income as one string for [`earnings_text`] (relation, ID, wage
/// and the months it is the mean of, the months with contributions,
/// pension and its months; U+0001 between the values, U+0002 between the
/// members).
pub(crate) const EARNINGS_STEP: &str = "SELECT household_id, \
       string_agg(concat_ws(chr(1), COALESCE(CAST(relation AS VARCHAR), ''), person_id, \
         CAST(wage_scaled AS VARCHAR), CAST(wage_months AS VARCHAR), \
         CAST(wage_contribution_months AS VARCHAR), \
         CAST(pension_scaled AS VARCHAR), CAST(pension_months AS VARCHAR)), chr(2)) AS earnings \
     FROM member_income WHERE income_scaled > 0 GROUP BY household_id";

/// Whose income a household's figure is made of, from [`EARNINGS_STEP`]'s
/// string: each member by relation to the head (names stay out of it),
/// the highest income first (ties: the smallest ID, so that CB01's subject
/// comes first), with the months its mean is taken over:
/// `；其中 本人 工资 2801.00 元/月（12 个月平均）、配偶 养老金 259.72 元/月（3 个月平均）`.
/// Empty when no member has an income.
pub(crate) fn earnings_text(earnings: Option<&str>) -> String {
    let mut members: Vec<(i64, &str, String)> = earnings
        .unwrap_or("")
        .split('\u{2}')
        .filter_map(|member| {
            let v: Vec<&str> = member.split('\u{1}').collect();
            let [
                relation,
                id,
                wage,
                wage_months,
                contribution_months,
                pension,
                pension_months,
            ] = v[..]
            else {
                return None;
            };
            let (wage, pension) = (wage.parse::<i64>().ok()?, pension.parse::<i64>().ok()?);
            // Months with a contribution whose base is empty are in no mean
            // (an unknown base is no 0): said, for a reviewer counting rows.
            let unknown = contribution_months
                .parse::<u32>()
                .ok()?
                .saturating_sub(wage_months.parse::<u32>().ok()?);
            let wage_note = if unknown > 0 {
                format!("，另 {unknown} 个月基数空缺")
            } else {
                String::new()
            };
            let mut parts = Vec::new();
            for (label, scaled, months, note) in [
                ("工资", wage, wage_months, wage_note.as_str()),
                ("养老金", pension, pension_months, ""),
            ] {
                if scaled > 0 {
                    parts.push(format!(
                        "{label} {} 元/月（{months} 个月平均{note}）",
                        yuan_mean_up(scaled)
                    ));
                }
            }
            let relation = if relation.is_empty() {
                "成员"
            } else {
                relation
            };
            Some((
                wage + pension,
                id,
                format!("{relation} {}", parts.join(" + ")),
            ))
        })
        .collect();
    if members.is_empty() {
        return String::new();
    }
    members.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let listed: Vec<String> = members.into_iter().map(|(_, _, text)| text).collect();
    format!("{EARNINGS_MARK}{}", listed.join("、"))
}

/// What starts [`earnings_text`]'s part of an evidence text.
pub const EARNINGS_MARK: &str = "；其中 ";

/// An evidence text's figures: all of it but [`earnings_text`]'s part,
/// whose months move with the window while the figures stand (the case
/// ledger compares these, [`crate::ledger::case_status`]).
pub fn evidence_figures(evidence: &str) -> &str {
    evidence
        .split_once(EARNINGS_MARK)
        .map_or(evidence, |(figures, _)| figures)
}

/// A per-mille or basis-point factor as a decimal: 1500‰ → `1.5`.
pub(crate) fn factor(value: i64, unit: i64) -> String {
    let whole = value / unit;
    let mut frac = format!(
        "{:0width$}",
        (value % unit).abs(),
        width = (unit.ilog10()) as usize
    );
    while frac.ends_with('0') {
        frac.pop();
    }
    if frac.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{frac}")
    }
}

/// A ratio as a percentage with two decimals, rounded down (display only:
/// a ratio below a floor never shows as equal to it).
pub(crate) fn percent(numerator: i64, denominator: i64) -> String {
    if denominator <= 0 {
        return "—".to_string();
    }
    let hundredths = (numerator as i128 * 10000).div_euclid(denominator as i128);
    let sign = if hundredths < 0 { "-" } else { "" };
    let abs = hundredths.unsigned_abs();
    format!("{sign}{}.{:02}%", abs / 100, abs % 100)
}

/// YYYYMM as `YYYY-MM`.
pub(crate) fn period(yyyymm: i64) -> String {
    format!("{}-{:02}", yyyymm / 100, yyyymm % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn window_covers_twelve_months_ending_with_as_of() {
        let w = Window::new(d("2025-11-30"));
        assert_eq!(w.after, d("2024-11-30"));
        assert_eq!((w.first_period, w.last_period), (202412, 202511));
        assert_eq!(w.school_year, "2025-2026");
        let w = Window::new(d("2026-02-28"));
        assert_eq!((w.first_period, w.last_period), (202503, 202602));
        assert_eq!(w.school_year, "2025-2026");
        let w = Window::new(d("2025-08-31"));
        assert_eq!(w.school_year, "2024-2025");
        let w = Window::new(d("2025-12-15"));
        assert_eq!((w.first_period, w.last_period), (202501, 202512));
    }

    #[tokio::test]
    async fn the_months_of_a_mask_are_counted_across_the_year_boundary() {
        use datafusion::arrow::array::Int64Array;
        // The window 202412..=202511: its first month is bit 0, its last 11.
        let w = Window::new(d("2025-11-30"));
        let ctx = crate::engine::session(1);
        let sql = format!(
            "SELECT p, {bit} AS bit FROM (VALUES (202412), (202501), (202511)) AS t(p) \
             ORDER BY p",
            bit = w.month_bit("p")
        );
        let batch = crate::engine::query_batch(&ctx, &sql).await.unwrap();
        let bits = datafusion::arrow::compute::cast(
            batch.column(1),
            &datafusion::arrow::datatypes::DataType::Int64,
        )
        .unwrap();
        let bits = bits.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(bits.values().to_vec(), vec![1, 2, 1 << 11]);
        // Two rows of one month count once; a NULL mask counts as NULL.
        let count = |from: String| {
            let (ctx, w) = (&ctx, &w);
            async move {
                let sql = format!("SELECT {} AS n FROM ({from})", w.months_in("m"));
                let batch = crate::engine::query_batch(ctx, &sql).await.unwrap();
                let n = batch
                    .column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap();
                n.iter().collect::<Vec<_>>()
            }
        };
        let masks = format!(
            "SELECT bit_or({}) AS m FROM (VALUES (202412), (202501), (202501), (202511)) AS t(p)",
            w.month_bit("p")
        );
        assert_eq!(count(masks).await, vec![Some(3)]);
        assert_eq!(
            count("SELECT CAST(NULL AS BIGINT) AS m".into()).await,
            vec![None]
        );
    }

    #[test]
    fn window_of_a_leap_day_clamps() {
        let w = Window::new(d("2024-02-29"));
        assert_eq!(w.after, d("2023-02-28"));
    }

    #[test]
    fn earnings_list_each_member_s_income_highest_first_by_relation() {
        let member = |relation: &str, id: &str, wage: i64, wm: u32, pension: i64, pm: u32| {
            [
                relation.to_string(),
                id.to_string(),
                (wage * MEAN_SCALE).to_string(),
                wm.to_string(),
                // One more month with a contribution whose base is empty.
                (wm + u32::from(id == "c")).to_string(),
                (pension * MEAN_SCALE).to_string(),
                pm.to_string(),
            ]
            .join("\u{1}")
        };
        let agg = [
            member("配偶", "b", 0, 0, 25972, 12),
            member("本人", "c", 200000, 6, 30000, 3),
            member("", "a", 0, 0, 25972, 2),
        ]
        .join("\u{2}");
        let text = earnings_text(Some(&agg));
        assert_eq!(
            text,
            "；其中 本人 工资 2000.00 元/月（6 个月平均，另 1 个月基数空缺） + 养老金 300.00 元/月（3 个月平均）、\
             成员 养老金 259.72 元/月（2 个月平均）、配偶 养老金 259.72 元/月（12 个月平均）"
        );
        let evidence = format!("人均月收入 1000.00 元{text}");
        assert_eq!(evidence_figures(&evidence), "人均月收入 1000.00 元");
        assert_eq!(
            evidence_figures("人均月收入 1000.00 元"),
            "人均月收入 1000.00 元"
        );
        assert_eq!(earnings_text(None), "");
        assert_eq!(earnings_text(Some("")), "");
    }

    #[test]
    fn money_formats_as_yuan() {
        assert_eq!(yuan(152000), "1520.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(-150), "-1.50");
        assert_eq!(yuan_exact(80005 * 1500, 1000), "1200.075");
        assert_eq!(yuan_exact(80000 * 1500, 1000), "1200.00");
        assert_eq!(yuan_exact(80010 * 1500, 1000), "1200.15");
        assert_eq!(yuan_exact(-123_4567, 10000), "-1.234567");
        assert_eq!(yuan_exact(5, 1), "0.05");
        assert_eq!(yuan_ratio_up(304000, 2), "1520.00");
        assert_eq!(yuan_ratio_up(100, 3), "0.3334");
        assert_eq!(yuan_ratio_down(200, 3), "0.6666");
        assert_eq!(yuan_ratio_down(-200, 3), "-0.6667");
        assert_eq!(yuan_mean_up(MEAN_SCALE * 80000), "800.00");
        assert_eq!(factor(1500, 1000), "1.5");
        assert_eq!(factor(1000, 1000), "1");
        assert_eq!(factor(3000, 10000), "0.3");
        assert_eq!(percent(1400, 2000), "70.00%");
        assert_eq!(percent(1, 3), "33.33%");
        assert_eq!(percent(139_999, 200_000), "69.99%");
        assert_eq!(yuan_ratio_up(80_001, 100), "8.0001");
        assert_eq!(yuan_ratio_down(79_999, 100), "7.9999");
        assert_eq!(yuan_ratio_up(80_000, 100), "8.00");
        // Just over 1300.00 元: over at four decimals too, never equal.
        assert_eq!(yuan_ratio_up(390_001, 3), "1300.0034");
        assert_eq!(yuan_ratio_up(130_000_001, 1000), "1300.0001");
        assert_eq!(yuan_ratio_down(79_999_999, 1000), "799.9999");
        assert_eq!(period(202503), "2025-03");
    }

    #[tokio::test]
    async fn a_shared_block_reads_the_shared_blocks_under_its_own() {
        let ctx = crate::engine::session(1);
        let params = RuleParams::default();
        let blocks = Blocks::new(&ctx, &params).unwrap();
        assert_eq!(
            blocks.shared_reads("household_income"),
            vec!["member_income"]
        );
        let mut reads = blocks.shared_reads("member_income");
        reads.sort_unstable();
        assert_eq!(reads, vec!["members", "pension_income", "wage_income"]);
        // Through `contribution_window`, which is not shared.
        assert!(blocks.shared_reads("wage_income").is_empty());
        assert_eq!(blocks.shared_reads("pension_income"), vec!["members"]);
        assert!(blocks.shared_reads("roster_rows").is_empty());
        // Every shared block comes after the shared blocks it reads.
        for (i, (name, _)) in SHARED_BLOCKS.iter().enumerate() {
            for read in blocks.shared_reads(name) {
                let at = SHARED_BLOCKS.iter().position(|(n, _)| *n == read).unwrap();
                assert!(at < i, "{name} reads {read}, listed after it");
            }
        }
    }

    #[test]
    fn catalogue_has_every_code_once() {
        let mut codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 19);
        assert_eq!(rule_info("CB01").unwrap().label, "收入超标");
    }

    #[tokio::test]
    async fn evaluate_skips_rules_whose_tables_are_absent() {
        use testkit::*;
        let ctx = SessionContext::new();
        Table::new(ROSTER)
            .row(member("H1", "低保", P1, "张三"))
            .row(member("H2", "低保", P1, "张三"))
            .register(&ctx);
        let (findings, skipped) = evaluate(&ctx, &params()).await.unwrap();
        assert_eq!(
            skipped,
            vec![
                "CB01", "CB02", "CB03", "CB04", "LB01", "LB02", "LB03", "LB04", "DY01", "DY02",
                "DY03", "DY04", "DQ05", "DQ06"
            ]
        );
        let rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, vec!["CB05", "CB05"]);
    }

    #[tokio::test]
    async fn evaluate_plans_every_rule_over_empty_tables() {
        use testkit::*;
        let ctx = SessionContext::new();
        for table in [ROSTER].iter().chain(DEPARTMENT_TABLES) {
            empty(&ctx, table);
        }
        let (findings, skipped) = evaluate(&ctx, &params()).await.unwrap();
        assert!(findings.is_empty());
        assert!(skipped.is_empty());
    }

    /// A small county touching every rule.
    fn county(ctx: &SessionContext) {
        use testkit::*;
        let mut roster = Table::new(ROSTER);
        let mut contribution_rows = Table::new(CONTRIBUTION);
        let mut settlements = Table::new(MEDICAL_SETTLEMENT);
        let mut enrollments = Table::new(MEDICAL_ENROLLMENT);
        let mut houses = Table::new(HOUSING_SAFETY);
        let mut education_rows = Table::new(EDUCATION);
        let mut properties = Table::new(PROPERTY);
        let mut registrations = Table::new(UNEMPLOYMENT);
        for i in 0..24_i64 {
            let household = format!("H{:02}", i / 3);
            let person = format!("1101011990010{:05}", i);
            let outsider = format!("2201011990010{:05}", i);
            let category = ["低保", "特困", "低收入"][(i % 3) as usize];
            roster = roster.row(with(
                member(&household, category, &person, "成员"),
                vec![
                    ("declared_income", V::I(50_000)),
                    ("household_size", V::I(3)),
                ],
            ));
            for month in 0..(i % 13) {
                contribution_rows = contribution_rows.row(contribution(
                    &person,
                    202412 + month + if month >= 1 { 88 } else { 0 },
                    ["企业", "事业单位", "灵活就业"][(i % 3) as usize],
                    40_000 + 7_777 * i,
                ));
            }
            for who in [&person, &outsider] {
                settlements = settlements.row(vec![
                    (
                        "settlement_id",
                        format!("S{i}{}", who.len()).as_str().into(),
                    ),
                    ("person_id", who.as_str().into()),
                    ("visit_type", "住院".into()),
                    ("settle_date", "2025-06-01".into()),
                    ("eligible_cost", V::I(100_000 + i)),
                    ("fund_paid", V::I(40_000 + 1_000 * i)),
                    ("out_of_pocket", V::I(1_000_000 * (i % 4))),
                ]);
                houses = houses.row(vec![
                    ("person_id", who.as_str().into()),
                    ("grade", ["C", "D"][(i % 2) as usize].into()),
                    ("assess_date", "2025-01-01".into()),
                    ("renovation", "未纳入".into()),
                ]);
                education_rows = education_rows.row(vec![
                    ("person_id", who.as_str().into()),
                    ("stage", "初中".into()),
                    ("aid_type", "无".into()),
                    (
                        "hardship",
                        ["孤儿", "低保家庭", "无"][(i % 3) as usize].into(),
                    ),
                    ("school_year", "2025-2026".into()),
                ]);
                properties = properties.row(vec![
                    ("person_id", who.as_str().into()),
                    ("unit_id", format!("U{}", i / 2).as_str().into()),
                    ("usage", ["住宅", "商业"][(i % 5 == 0) as usize].into()),
                    ("state", "现势".into()),
                ]);
            }
            if i % 4 == 0 {
                enrollments = enrollments.row(vec![
                    ("person_id", person.as_str().into()),
                    ("status", "终止".into()),
                    ("end_reason", "死亡".into()),
                    ("end_date", "2025-03-01".into()),
                ]);
            } else if i % 4 == 1 {
                enrollments = enrollments.row(vec![
                    ("person_id", person.as_str().into()),
                    ("status", "正常参保".into()),
                ]);
            }
            registrations = registrations.row(vec![
                ("person_id", outsider.as_str().into()),
                ("reg_date", "2024-01-01".into()),
                ("status", "失业".into()),
            ]);
        }
        roster = roster.row(member("H00", "低保", "110101199001000005", "重复"));
        roster.register(ctx);
        contribution_rows.register(ctx);
        settlements.register(ctx);
        enrollments.register(ctx);
        houses.register(ctx);
        education_rows.register(ctx);
        properties.register(ctx);
        registrations.register(ctx);
        Table::new(PENSION)
            .row(pension("110101199001000001", 202503, 90_000))
            .register(ctx);
    }

    /// The findings are the same at any thread count.
    #[tokio::test]
    async fn evaluate_is_deterministic_across_partitions() {
        use datafusion::prelude::SessionConfig;
        let mut runs = Vec::new();
        for partitions in [1, 3, 8] {
            let ctx = SessionContext::new_with_config(
                SessionConfig::new().with_target_partitions(partitions),
            );
            county(&ctx);
            runs.push(evaluate(&ctx, &testkit::params()).await.unwrap());
        }
        let (findings, skipped) = &runs[0];
        assert!(skipped.is_empty());
        let mut fired: Vec<&str> = findings.iter().map(|f| f.rule).collect();
        fired.dedup();
        assert_eq!(
            fired,
            vec![
                "CB01", "CB02", "CB03", "CB04", "CB05", "LB01", "LB02", "LB03", "LB04", "DY01",
                "DY02", "DY03", "DY04", "DQ05", "DQ06"
            ]
        );
        assert_eq!(runs[0], runs[1]);
        assert_eq!(runs[0], runs[2]);
    }

    #[test]
    fn sources_merge_sorted_unique() {
        assert_eq!(
            sources([Some("b:f:2;a:f:1"), None, Some("a:f:1")]),
            vec!["a:f:1".to_string(), "b:f:2".to_string()]
        );
        assert_eq!(
            sources([
                Some("a:f.csv:12;a:f.csv:2;a:f.csv:10"),
                Some("a:w.xlsx:S!9;a:w.xlsx:S!10")
            ]),
            [
                "a:f.csv:2",
                "a:f.csv:10",
                "a:f.csv:12",
                "a:w.xlsx:S!9",
                "a:w.xlsx:S!10"
            ]
        );
    }
}
