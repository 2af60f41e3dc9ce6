//! 错保 — granted, but should not be: the CB rules over roster households.
//! CB01–CB04 raise one finding per household about the member whose records
//! made it fire; CB05 one per household × duplicated person.

use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use super::{
    Blocks, CONTRIBUTION, EARNINGS_STEP, Finding, MEAN_SCALE, PROPERTY, Row, RuleParams,
    earnings_text, exact, factor, fetch, period, sorted, sources, src_of, yuan, yuan_exact,
    yuan_mean_up, yuan_ratio_up,
};

/// A household finding from a row carrying household_id, township, village,
/// id_number, name and person_method.
fn household_finding(
    rule: &'static str,
    row: &Row,
    evidence: String,
    sources: Vec<String>,
) -> Finding {
    Finding {
        rule,
        household_id: row.text("household_id"),
        id_number: row.text("id_number"),
        name: row.text("name"),
        township: row.text("township"),
        village: row.text("village"),
        evidence,
        sources,
        matched: row.text("person_method"),
    }
}

/// CB01 收入超标: per-capita income > standard × factor (1.0 for 低保 and
/// 特困, 1.5 for 低收入); about the highest earner (ties: the smallest ID).
pub async fn cb01(ctx: &SessionContext, params: &RuleParams) -> Result<Vec<Finding>> {
    let blocks = Blocks::new(ctx, params)?;
    let sql = blocks.query(
        &["households", "household_income", "member_income"],
        &[
            (
                "top_earner",
                "SELECT household_id, person_id, name, person_method, \
               ROW_NUMBER() OVER (PARTITION BY household_id ORDER BY income_scaled DESC, person_id) AS rn \
             FROM member_income WHERE income_scaled > 0"
                    .into(),
            ),
            ("earnings", EARNINGS_STEP.into()),
        ],
        &format!(
            "SELECT h.household_id, h.township, h.village, h.size, h.standard_fen, h.factor_permille, \
               hi.income_scaled, hi.wage_scaled, hi.pension_scaled, hi.income_src, \
               COALESCE(t.person_id, h.head_person_id) AS id_number, \
               CASE WHEN t.person_id IS NULL THEN h.head_name ELSE t.name END AS name, \
               t.person_method, e.earnings \
             FROM households h \
             JOIN household_income hi ON hi.household_id = h.household_id \
             LEFT JOIN top_earner t ON t.household_id = h.household_id AND t.rn = 1 \
             LEFT JOIN earnings e ON e.household_id = h.household_id \
             WHERE {income} * 1000 > {standard} * h.factor_permille * h.size * {MEAN_SCALE}",
            income = exact("hi.income_scaled"),
            standard = exact("h.standard_fen"),
        ),
    );
    let rows = fetch(ctx, &sql).await?;
    let findings = rows
        .iter()
        .map(|row| {
            let size = row.int0("size");
            let standard = row.int0("standard_fen");
            let factor_permille = row.int0("factor_permille");
            let per_capita = yuan_ratio_up(
                row.int0("income_scaled") as i128,
                MEAN_SCALE as i128 * size as i128,
            );
            let threshold = if factor_permille == 1000 {
                format!("标准 {} 元", yuan(standard))
            } else {
                format!(
                    "标准 {} 元 × {} = {} 元",
                    yuan(standard),
                    factor(factor_permille, 1000),
                    yuan_exact(standard as i128 * factor_permille as i128, 1000)
                )
            };
            let mut income = format!("工资 {} 元/月", yuan_mean_up(row.int0("wage_scaled")));
            if row.int0("pension_scaled") > 0 {
                income += &format!(
                    "，养老金 {} 元/月",
                    yuan_mean_up(row.int0("pension_scaled"))
                );
            }
            let evidence = format!(
                "人均月收入 {per_capita} 元 > {threshold}（{size} 人，{income}）{}",
                earnings_text(row.text("earnings").as_deref())
            );
            household_finding(
                "CB01",
                row,
                evidence,
                sources([row.text("income_src").as_deref()]),
            )
        })
        .collect();
    Ok(sorted(findings))
}

/// CB02 房产超标: the members together hold ≥ N current residential units
/// (distinct 不动产单元号), or any current 商业/办公/工业 unit; about the
/// member holding most.
pub async fn cb02(ctx: &SessionContext, params: &RuleParams) -> Result<Vec<Finding>> {
    let blocks = Blocks::new(ctx, params)?;
    let sql = blocks.query(
        &["households", "members", "live_property"],
        &[
            (
                "held",
                format!(
                    "SELECT m.household_id, m.person_id, p.unit_id, p.usage, {src} AS src \
                     FROM members m JOIN live_property p ON p.person_id = m.person_id \
                     WHERE p.state = '现势' AND p.usage IN ('住宅', '商业', '办公', '工业')",
                    src = src_of(PROPERTY, "p."),
                ),
            ),
            // The units and employers are listed in no order: the evidence
            // sorts them ([`sources`]), and an ordered string_agg keeps an
            // accumulator per group.
            (
                "household_units",
                "SELECT household_id, \
                   COUNT(DISTINCT CASE WHEN usage = '住宅' THEN unit_id END) AS homes, \
                   COUNT(DISTINCT CASE WHEN usage <> '住宅' THEN unit_id END) AS other_units, \
                   string_agg(usage || ' ' || unit_id, ';') AS units, \
                   string_agg(src, ';') AS property_src \
                 FROM held GROUP BY household_id"
                    .into(),
            ),
            (
                "holder",
                "SELECT household_id, person_id, units_held, \
                   ROW_NUMBER() OVER (PARTITION BY household_id ORDER BY units_held DESC, person_id) AS rn \
                 FROM (SELECT household_id, person_id, COUNT(DISTINCT unit_id) AS units_held \
                       FROM held GROUP BY household_id, person_id)"
                    .into(),
            ),
        ],
        &format!(
            "SELECT h.household_id, h.township, h.village, u.homes, u.other_units, u.units, \
               u.property_src, m.person_id AS id_number, m.name, m.person_method, \
               m.src AS member_src, ho.units_held \
             FROM household_units u \
             JOIN households h ON h.household_id = u.household_id \
             JOIN holder ho ON ho.household_id = u.household_id AND ho.rn = 1 \
             JOIN members m ON m.household_id = ho.household_id AND m.person_id = ho.person_id \
             WHERE u.homes >= {max_homes} OR u.other_units > 0",
            max_homes = params.max_homes
        ),
    );
    let rows = fetch(ctx, &sql).await?;
    let findings = rows
        .iter()
        .map(|row| {
            let units = sources([row.text("units").as_deref()]);
            let homes: Vec<&str> = units
                .iter()
                .filter_map(|u| u.strip_prefix("住宅 "))
                .collect();
            let others: Vec<&str> = units
                .iter()
                .filter(|u| !u.starts_with("住宅 "))
                .map(String::as_str)
                .collect();
            let mut evidence = format!(
                "现势住宅 {} 套（{} 套及以上即超标）",
                row.int0("homes"),
                params.max_homes
            );
            if !homes.is_empty() {
                evidence += &format!("：{}", homes.join("、"));
            }
            if row.int0("other_units") > 0 {
                evidence += &format!(
                    "；商业/办公/工业 {} 处：{}",
                    row.int0("other_units"),
                    others.join("、")
                );
            }
            evidence += &format!(
                "；{} 名下 {} 处",
                row.text_or_empty("name"),
                row.int0("units_held")
            );
            let srcs = sources([
                row.text("property_src").as_deref(),
                row.text("member_src").as_deref(),
            ]);
            household_finding("CB02", row, evidence, srcs)
        })
        .collect();
    Ok(sorted(findings))
}

/// CB03 公职人员: a member has a contribution month in the window from a 机关
/// or 事业单位 employer; about that member (several: the smallest ID).
pub async fn cb03(ctx: &SessionContext, params: &RuleParams) -> Result<Vec<Finding>> {
    let blocks = Blocks::new(ctx, params)?;
    let sql = blocks.query(
        &["households", "members", "contribution_window"],
        &[
            (
                "public_months",
                format!(
                    "SELECT m.household_id, m.person_id, c.period, \
                       concat_ws(' ', c.employer_type, c.employer) AS employer, {src} AS src \
                     FROM members m JOIN contribution_window c ON c.person_id = m.person_id \
                     WHERE c.employer_type IN ('机关', '事业单位')",
                    src = src_of(CONTRIBUTION, "c."),
                ),
            ),
            (
                "public_members",
                "SELECT household_id, person_id, COUNT(DISTINCT period) AS months, \
                   MIN(period) AS first_period, MAX(period) AS last_period, \
                   string_agg(employer, ';') AS employers, string_agg(src, ';') AS public_src \
                 FROM public_months GROUP BY household_id, person_id"
                    .into(),
            ),
        ],
        "SELECT h.household_id, h.township, h.village, p.person_id AS id_number, m.name, \
           m.person_method, p.months, p.first_period, p.last_period, p.employers, \
           hh.public_count, hh.all_src \
         FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY household_id ORDER BY person_id) AS rn \
               FROM public_members) p \
         JOIN (SELECT pm.household_id, COUNT(*) AS public_count, \
                 string_agg(concat_ws(';', pm.public_src, mm.src), ';') AS all_src \
               FROM public_members pm \
               JOIN members mm ON mm.household_id = pm.household_id AND mm.person_id = pm.person_id \
               GROUP BY pm.household_id) hh ON hh.household_id = p.household_id \
         JOIN households h ON h.household_id = p.household_id \
         JOIN members m ON m.household_id = p.household_id AND m.person_id = p.person_id \
         WHERE p.rn = 1",
    );
    let rows = fetch(ctx, &sql).await?;
    let findings = rows
        .iter()
        .map(|row| {
            let employers = sources([row.text("employers").as_deref()]);
            let mut evidence = format!(
                "{} 至 {} 在机关/事业单位缴费 {} 个月：{}",
                period(row.int0("first_period")),
                period(row.int0("last_period")),
                row.int0("months"),
                employers.join("、")
            );
            if row.int0("public_count") > 1 {
                evidence += &format!("（户内共 {} 人）", row.int0("public_count"));
            }
            household_finding(
                "CB03",
                row,
                evidence,
                sources([row.text("all_src").as_deref()]),
            )
        })
        .collect();
    Ok(sorted(findings))
}

/// CB04 死亡未停保: a member's medical enrollment ended with reason 死亡 on
/// or before the as-of date; about that member (several: the smallest ID).
pub async fn cb04(ctx: &SessionContext, params: &RuleParams) -> Result<Vec<Finding>> {
    let blocks = Blocks::new(ctx, params)?;
    let sql = blocks.query(
        &["households", "members", "deceased"],
        &[(
            "dead_members",
            "SELECT m.household_id, m.person_id, MIN(d.end_date) AS death_date, \
               string_agg(concat_ws(';', d.src, m.src), ';') AS death_src \
             FROM members m JOIN deceased d ON d.person_id = m.person_id \
             GROUP BY m.household_id, m.person_id"
                .into(),
        )],
        "SELECT h.household_id, h.township, h.village, h.monthly_benefit, \
           d.person_id AS id_number, m.name, m.person_method, \
           CAST(d.death_date AS VARCHAR) AS death_date, hh.dead_count, hh.all_src \
         FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY household_id ORDER BY person_id) AS rn \
               FROM dead_members) d \
         JOIN (SELECT household_id, COUNT(*) AS dead_count, string_agg(death_src, ';') AS all_src \
               FROM dead_members GROUP BY household_id) hh ON hh.household_id = d.household_id \
         JOIN households h ON h.household_id = d.household_id \
         JOIN members m ON m.household_id = d.household_id AND m.person_id = d.person_id \
         WHERE d.rn = 1",
    );
    let rows = fetch(ctx, &sql).await?;
    let findings = rows
        .iter()
        .map(|row| {
            // A death recorded without its date is taken as before the
            // as-of date (the extract already holds it); the evidence says so.
            // The as-of date is not in it: a case closed as 不属实 stays
            // closed in a later night's run while the figures are the same.
            let mut evidence = match row.text("death_date") {
                Some(d) => format!("医保参保终止，原因 死亡，终止日期 {d}，仍在册"),
                None => "医保参保终止，原因 死亡（终止日期空缺或无法识别），仍在册".to_string(),
            };
            if let Some(benefit) = row.int("monthly_benefit") {
                evidence += &format!("（月保障金 {} 元）", yuan(benefit));
            }
            if row.int0("dead_count") > 1 {
                evidence += &format!("；户内共 {} 人", row.int0("dead_count"));
            }
            household_finding(
                "CB04",
                row,
                evidence,
                sources([row.text("all_src").as_deref()]),
            )
        })
        .collect();
    Ok(sorted(findings))
}

/// CB05 重复享受: one person is a member of two roster households (a finding
/// for each), or listed twice in one (two rows that are not exact duplicates).
pub async fn cb05(ctx: &SessionContext, params: &RuleParams) -> Result<Vec<Finding>> {
    let blocks = Blocks::new(ctx, params)?;
    let sql = blocks.query(
        &["households", "members", "roster_rows"],
        &[
            (
                "member_rows",
                "SELECT household_id, person_id, COUNT(*) AS row_count \
                 FROM roster_rows GROUP BY household_id, person_id"
                    .into(),
            ),
            // The persons in two households or on two rows of one, found
            // from counts alone: the lists below are gathered for them only.
            (
                "repeated",
                "SELECT person_id FROM member_rows GROUP BY person_id \
                 HAVING COUNT(*) >= 2 OR MAX(row_count) >= 2"
                    .into(),
            ),
            (
                "person_households",
                "SELECT person_id, COUNT(DISTINCT household_id) AS household_count, \
                   string_agg(DISTINCT household_id, ';' ORDER BY household_id) AS household_list, \
                   string_agg(src, ';') AS person_src \
                 FROM roster_rows WHERE person_id IN (SELECT person_id FROM repeated) \
                 GROUP BY person_id"
                    .into(),
            ),
        ],
        "SELECT mr.household_id, h.township, h.village, mr.person_id AS id_number, m.name, \
           m.person_method, mr.row_count, ph.household_count, ph.household_list, ph.person_src \
         FROM member_rows mr \
         JOIN person_households ph ON ph.person_id = mr.person_id \
         JOIN members m ON m.household_id = mr.household_id AND m.person_id = mr.person_id \
         JOIN households h ON h.household_id = mr.household_id \
         WHERE ph.household_count >= 2 OR mr.row_count >= 2",
    );
    let rows = fetch(ctx, &sql).await?;
    let findings = rows
        .iter()
        .map(|row| {
            let mut parts = Vec::new();
            if row.int0("household_count") >= 2 {
                let households = sources([row.text("household_list").as_deref()]);
                parts.push(format!(
                    "同一人在 {} 户中：{}",
                    row.int0("household_count"),
                    households.join("、")
                ));
            }
            if row.int0("row_count") >= 2 {
                parts.push(format!("本户登记 {} 行", row.int0("row_count")));
            }
            household_finding(
                "CB05",
                row,
                parts.join("；"),
                sources([row.text("person_src").as_deref()]),
            )
        })
        .collect();
    Ok(sorted(findings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::*;

    /// Household H1 (低保, 2 persons: P1 and P2) with the given contributions
    /// and pensions.
    fn income_ctx(
        category: &str,
        size: Option<i64>,
        contributions: Vec<Cells>,
        pensions: Vec<Cells>,
    ) -> SessionContext {
        let ctx = SessionContext::new();
        let size = size.map(V::I).unwrap_or(V::Null);
        Table::new("roster")
            .row(with(
                member("H1", category, P1, "张三"),
                vec![("household_size", size.clone())],
            ))
            .row(with(
                member("H1", category, P2, "李四"),
                vec![
                    ("household_size", size),
                    ("head_person_id", P1.into()),
                    ("relation", "配偶".into()),
                ],
            ))
            .register(&ctx);
        let mut c = Table::new("contribution");
        for row in contributions {
            c = c.row(row);
        }
        c.register(&ctx);
        let mut p = Table::new("pension");
        for row in pensions {
            p = p.row(row);
        }
        p.register(&ctx);
        ctx
    }

    #[tokio::test]
    async fn cb01_fires_above_the_standard() {
        let ctx = income_ctx(
            "低保",
            Some(2),
            vec![contribution(P1, 202501, "企业", 304_000)],
            vec![],
        );
        let found = cb01(&ctx, &params()).await.unwrap();
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert_eq!(f.household_id.as_deref(), Some("H1"));
        assert_eq!(f.id_number.as_deref(), Some(P1));
        assert_eq!(f.name.as_deref(), Some("张三"));
        assert_eq!(f.matched.as_deref(), Some("exact"));
        assert_eq!(f.township.as_deref(), Some("城关镇"));
        assert_eq!(
            f.evidence,
            "人均月收入 1520.00 元 > 标准 800.00 元（2 人，工资 3040.00 元/月）；其中 本人 工资 3040.00 元/月（1 个月平均）"
        );
        assert_eq!(
            f.sources,
            vec![
                "contribution:contribution.csv:2",
                "roster:roster.csv:2",
                "roster:roster.csv:3"
            ]
        );
    }

    #[tokio::test]
    async fn cb01_income_exactly_at_the_standard_does_not_fire() {
        let ctx = income_ctx(
            "低保",
            Some(2),
            vec![contribution(P1, 202501, "企业", 160_000)],
            vec![],
        );
        assert!(cb01(&ctx, &params()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn cb01_mean_is_exact_one_fen_over_three_months_fires() {
        // mean = (160000 + 160000 + 160001) / 3 fen: a third of a fen over.
        let ctx = income_ctx(
            "低保",
            Some(2),
            vec![
                contribution(P1, 202501, "企业", 160_000),
                contribution(P1, 202502, "企业", 160_000),
                contribution(P1, 202503, "企业", 160_001),
            ],
            vec![],
        );
        assert_eq!(cb01(&ctx, &params()).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn cb01_a_month_of_unknown_base_is_left_out_of_the_mean() {
        // 1700 元 in two months and a month whose base is empty: the mean is
        // 1700 元 (per capita 850 > 800), not 1133.33 元 over three months.
        let ctx = income_ctx(
            "低保",
            Some(2),
            vec![
                contribution(P1, 202501, "企业", 170_000),
                contribution(P1, 202502, "企业", 170_000),
                with(
                    contribution(P1, 202503, "企业", 0),
                    vec![("wage_base", V::Null)],
                ),
            ],
            vec![],
        );
        let found = cb01(&ctx, &params()).await.unwrap();
        assert_eq!(found.len(), 1);
        assert!(
            found[0].evidence.contains("工资 1700.00 元/月"),
            "{}",
            found[0].evidence
        );
        // Only months of unknown base: no wage income known, none counted,
        // and still a month of contributions for CB03's employer check.
        let ctx = income_ctx(
            "低保",
            Some(2),
            vec![with(
                contribution(P1, 202503, "机关", 0),
                vec![("wage_base", V::Null)],
            )],
            vec![],
        );
        assert!(cb01(&ctx, &params()).await.unwrap().is_empty());
        assert_eq!(cb03(&ctx, &params()).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn cb01_two_employers_in_one_month_add_up() {
        // one month, 1000 + 700 = 1700 元; per capita 850 > 800.
        let mut second = contribution(P1, 202501, "个体工商户", 70_000);
        second.push(("employer", "小卖部".into()));
        let ctx = income_ctx(
            "低保",
            Some(2),
            vec![contribution(P1, 202501, "企业", 100_000), second],
            vec![],
        );
        let found = cb01(&ctx, &params()).await.unwrap();
        assert_eq!(found.len(), 1);
        assert!(
            found[0].evidence.contains("工资 1700.00 元/月"),
            "{}",
            found[0].evidence
        );
    }

    #[tokio::test]
    async fn cb01_months_outside_the_window_and_duplicates_do_not_count() {
        // 202411 is just before the window; the _dup and _superseded rows are
        // not counted: the mean is 1600 元 for 2 persons, exactly at 800.
        let ctx = income_ctx(
            "低保",
            Some(2),
            vec![
                contribution(P1, 202411, "企业", 900_000),
                contribution(P1, 202412, "企业", 160_000),
                with(
                    contribution(P1, 202412, "企业", 160_000),
                    vec![("_dup", true.into())],
                ),
                with(
                    contribution(P1, 202501, "企业", 900_000),
                    vec![("_superseded", true.into())],
                ),
                with(
                    contribution(P1, 202501, "企业", 160_000),
                    vec![("employer", "别的单位".into())],
                ),
            ],
            vec![],
        );
        assert!(cb01(&ctx, &params()).await.unwrap().is_empty());
    }

    /// Regression: Int64 products wrap in DataFusion; an absurd base
    /// (10^10 元, whose product wraps negative) must still compare as above the standard.
    #[tokio::test]
    async fn cb01_huge_amounts_do_not_wrap() {
        let ctx = income_ctx(
            "低保",
            Some(2),
            vec![contribution(P1, 202501, "企业", 1_000_000_000_000)],
            vec![],
        );
        assert_eq!(cb01(&ctx, &params()).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn cb01_low_income_factor_one_and_a_half() {
        // 低收入: threshold 1200 元 per person; 2400 元 for 2 persons is at it.
        let ctx = income_ctx(
            "低收入",
            Some(2),
            vec![contribution(P1, 202501, "企业", 240_000)],
            vec![],
        );
        assert!(cb01(&ctx, &params()).await.unwrap().is_empty());
        let ctx = income_ctx(
            "低收入",
            Some(2),
            vec![contribution(P1, 202501, "企业", 240_002)],
            vec![],
        );
        let found = cb01(&ctx, &params()).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].evidence,
            "人均月收入 1200.01 元 > 标准 800.00 元 × 1.5 = 1200.00 元（2 人，工资 2400.02 元/月）；其中 本人 工资 2400.02 元/月（1 个月平均）"
        );
        // A standard of 800.05 元: the threshold 1200.075 元 is shown
        // exactly, never rounded to the 1200.08 元 of an income just above.
        let ctx = income_ctx(
            "低收入",
            Some(2),
            vec![contribution(P1, 202501, "企业", 240_016)],
            vec![],
        );
        let mut p = params();
        p.standard_fen = 80_005;
        let found = cb01(&ctx, &p).await.unwrap();
        assert_eq!(
            found[0].evidence,
            "人均月收入 1200.08 元 > 标准 800.05 元 × 1.5 = 1200.075 元（2 人，工资 2400.16 元/月）；\
             其中 本人 工资 2400.16 元/月（1 个月平均）"
        );
    }

    #[tokio::test]
    async fn cb01_pension_counts_and_highest_earner_is_named() {
        let ctx = income_ctx(
            "特困",
            Some(2),
            vec![contribution(P1, 202501, "企业", 50_000)],
            vec![pension(P2, 202501, 120_000), pension(P2, 202502, 120_000)],
        );
        let found = cb01(&ctx, &params()).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id_number.as_deref(), Some(P2));
        // The highest earner first, named by relation to the head.
        assert_eq!(
            found[0].evidence,
            "人均月收入 850.00 元 > 标准 800.00 元（2 人，工资 500.00 元/月，养老金 1200.00 元/月）；\
             其中 配偶 养老金 1200.00 元/月（2 个月平均）、本人 工资 500.00 元/月（1 个月平均）"
        );
    }

    #[tokio::test]
    async fn cb01_pension_months_paid_nothing_do_not_count() {
        // Paid months: 202501 (1200), 202503 (two rows, 1200), 202504
        // (1500 less 300 taken back): 3600 元 over 3 months. 202502 (paid and
        // taken back) and 202505 (0) are no months: counted, the mean would
        // be 720 or 900, not 1200.
        let ctx = income_ctx(
            "特困",
            Some(2),
            vec![contribution(P1, 202501, "企业", 50_000)],
            vec![
                pension(P2, 202501, 120_000),
                pension(P2, 202502, 120_000),
                pension(P2, 202502, -120_000),
                pension(P2, 202503, 60_000),
                pension(P2, 202503, 60_000),
                pension(P2, 202504, 150_000),
                pension(P2, 202504, -30_000),
                pension(P2, 202505, 0),
            ],
        );
        let found = cb01(&ctx, &params()).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].evidence,
            "人均月收入 850.00 元 > 标准 800.00 元（2 人，工资 500.00 元/月，养老金 1200.00 元/月）；\
             其中 配偶 养老金 1200.00 元/月（3 个月平均）、本人 工资 500.00 元/月（1 个月平均）"
        );
        assert_eq!(found[0].sources.len(), 8, "{:?}", found[0].sources);
    }

    #[tokio::test]
    async fn cb01_size_from_member_rows_when_missing_and_township_standard() {
        // 保障人数 missing: 2 member rows; 1700 元 / 2 = 850 > 800 …
        let ctx = income_ctx(
            "低保",
            None,
            vec![contribution(P1, 202501, "企业", 170_000)],
            vec![],
        );
        assert_eq!(cb01(&ctx, &params()).await.unwrap().len(), 1);
        // … but not above the township's own standard of 900.
        let mut p = params();
        p.township_standard_fen.insert("城关镇".into(), 90_000);
        assert!(cb01(&ctx, &p).await.unwrap().is_empty());
    }

    /// The head's row leaves 乡镇 empty, the other member's gives it: the
    /// household's standard is that township's, as its finding says.
    #[tokio::test]
    async fn cb01_takes_the_township_and_its_standard_from_any_member_row() {
        let ctx = SessionContext::new();
        Table::new("roster")
            .row(with(
                member("H1", "低保", P1, "张三"),
                vec![("township", V::Null)],
            ))
            .row(with(
                member("H1", "低保", P2, "李四"),
                vec![("head_person_id", P1.into()), ("relation", "配偶".into())],
            ))
            .register(&ctx);
        Table::new("contribution")
            .row(contribution(P1, 202501, "企业", 170_000))
            .register(&ctx);
        Table::new("pension").register(&ctx);
        // 1700 元 / 2 = 850: above the county's 800 …
        let found = cb01(&ctx, &params()).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].township.as_deref(), Some("城关镇"));
        // … not above 城关镇's own 900.
        let mut p = params();
        p.township_standard_fen.insert("城关镇".into(), 90_000);
        assert!(cb01(&ctx, &p).await.unwrap().is_empty());
    }

    fn property_row(person: &str, unit: &str, usage: &str, state: &str) -> Cells {
        vec![
            ("person_id", person.into()),
            ("unit_id", unit.into()),
            ("usage", usage.into()),
            ("state", state.into()),
        ]
    }

    fn property_ctx(rows: Vec<Cells>) -> SessionContext {
        let ctx = SessionContext::new();
        Table::new("roster")
            .row(member("H1", "低保", P1, "张三"))
            .row(with(
                member("H1", "低保", P2, "李四"),
                vec![("head_person_id", P1.into())],
            ))
            .register(&ctx);
        let mut t = Table::new("property");
        for row in rows {
            t = t.row(row);
        }
        t.register(&ctx);
        ctx
    }

    #[tokio::test]
    async fn cb02_two_homes_fire_about_the_member_holding_most() {
        let ctx = property_ctx(vec![
            property_row(P1, "U1", "住宅", "现势"),
            property_row(P2, "U2", "住宅", "现势"),
            property_row(P2, "U3", "车位", "现势"),
            property_row(P2, "U4", "住宅", "注销"),
        ]);
        let found = cb02(&ctx, &params()).await.unwrap();
        assert_eq!(subjects(&found), vec![(Some("H1"), Some(P1))]);
        assert_eq!(
            found[0].evidence,
            "现势住宅 2 套（2 套及以上即超标）：U1、U2；张三 名下 1 处"
        );
        assert_eq!(
            found[0].sources,
            vec![
                "property:property.csv:2",
                "property:property.csv:3",
                "roster:roster.csv:2"
            ]
        );
    }

    #[tokio::test]
    async fn cb02_one_home_does_not_fire() {
        let ctx = property_ctx(vec![
            property_row(P1, "U1", "住宅", "现势"),
            property_row(P2, "U3", "车位", "现势"),
            property_row(P2, "U4", "住宅", "注销"),
        ]);
        assert!(cb02(&ctx, &params()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn cb02_a_home_co_owned_by_two_members_counts_once() {
        let ctx = property_ctx(vec![
            property_row(P1, "U1", "住宅", "现势"),
            property_row(P2, "U1", "住宅", "现势"),
        ]);
        assert!(cb02(&ctx, &params()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn cb02_any_commercial_unit_fires() {
        let ctx = property_ctx(vec![property_row(P2, "S9", "商业", "现势")]);
        let found = cb02(&ctx, &params()).await.unwrap();
        assert_eq!(subjects(&found), vec![(Some("H1"), Some(P2))]);
        assert_eq!(
            found[0].evidence,
            "现势住宅 0 套（2 套及以上即超标）；商业/办公/工业 1 处：商业 S9；李四 名下 1 处"
        );
    }

    fn public_ctx(rows: Vec<Cells>) -> SessionContext {
        let ctx = SessionContext::new();
        Table::new("roster")
            .row(member("H1", "低保", P1, "张三"))
            .row(with(
                member("H1", "低保", P2, "李四"),
                vec![("head_person_id", P1.into())],
            ))
            .register(&ctx);
        let mut t = Table::new("contribution");
        for row in rows {
            t = t.row(row);
        }
        t.register(&ctx);
        ctx
    }

    #[tokio::test]
    async fn cb03_public_employer_in_the_window_fires() {
        let ctx = public_ctx(vec![
            contribution(P2, 202503, "事业单位", 500_000),
            contribution(P2, 202504, "事业单位", 500_000),
            contribution(P1, 202504, "机关", 500_000),
        ]);
        let found = cb03(&ctx, &params()).await.unwrap();
        assert_eq!(subjects(&found), vec![(Some("H1"), Some(P1))]);
        assert_eq!(
            found[0].evidence,
            "2025-04 至 2025-04 在机关/事业单位缴费 1 个月：机关 机关单位（户内共 2 人）"
        );
        assert_eq!(found[0].sources.len(), 5);
    }

    #[tokio::test]
    async fn cb03_a_public_month_just_outside_the_window_or_a_company_does_not_fire() {
        let ctx = public_ctx(vec![
            contribution(P2, 202411, "事业单位", 500_000),
            contribution(P1, 202504, "企业", 500_000),
        ]);
        assert!(cb03(&ctx, &params()).await.unwrap().is_empty());
    }

    fn enrollment(person: &str, status: &str, reason: Option<&str>, end: Option<&str>) -> Cells {
        vec![
            ("person_id", person.into()),
            ("scheme", "城乡居民医保".into()),
            ("status", status.into()),
            ("end_reason", reason.map(V::from).unwrap_or(V::Null)),
            ("end_date", end.map(V::from).unwrap_or(V::Null)),
        ]
    }

    fn death_ctx(rows: Vec<Cells>) -> SessionContext {
        let ctx = public_ctx(vec![]);
        let mut t = Table::new("medical_enrollment");
        for row in rows {
            t = t.row(row);
        }
        t.register(&ctx);
        ctx
    }

    #[tokio::test]
    async fn cb04_death_on_or_before_as_of_fires() {
        let ctx = death_ctx(vec![enrollment(
            P2,
            "终止",
            Some("死亡"),
            Some("2025-11-30"),
        )]);
        let found = cb04(&ctx, &params()).await.unwrap();
        assert_eq!(subjects(&found), vec![(Some("H1"), Some(P2))]);
        assert_eq!(
            found[0].evidence,
            "医保参保终止，原因 死亡，终止日期 2025-11-30，仍在册（月保障金 600.00 元）"
        );
        assert_eq!(
            found[0].sources,
            vec![
                "medical_enrollment:medical_enrollment.csv:2",
                "roster:roster.csv:3"
            ]
        );
    }

    #[tokio::test]
    async fn cb04_a_death_without_its_date_fires_and_says_so() {
        let ctx = death_ctx(vec![enrollment(P2, "终止", Some("死亡"), None)]);
        let found = cb04(&ctx, &params()).await.unwrap();
        assert_eq!(subjects(&found), vec![(Some("H1"), Some(P2))]);
        assert_eq!(
            found[0].evidence,
            "医保参保终止，原因 死亡（终止日期空缺或无法识别），仍在册（月保障金 600.00 元）"
        );
    }

    #[tokio::test]
    async fn cb04_death_after_as_of_or_moving_away_does_not_fire() {
        let ctx = death_ctx(vec![
            enrollment(P2, "终止", Some("死亡"), Some("2025-12-01")),
            enrollment(P1, "终止", Some("转出"), Some("2025-01-01")),
        ]);
        assert!(cb04(&ctx, &params()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn cb05_one_person_in_two_households_fires_for_each() {
        let ctx = SessionContext::new();
        Table::new("roster")
            .row(member("H1", "低保", P1, "张三"))
            .row(member("H2", "特困", P1, "张三"))
            .row(member("H2", "特困", P2, "李四"))
            .register(&ctx);
        let found = cb05(&ctx, &params()).await.unwrap();
        assert_eq!(
            subjects(&found),
            vec![(Some("H1"), Some(P1)), (Some("H2"), Some(P1))]
        );
        assert_eq!(found[0].evidence, "同一人在 2 户中：H1、H2");
        assert_eq!(
            found[0].sources,
            vec!["roster:roster.csv:2", "roster:roster.csv:3"]
        );
    }

    #[tokio::test]
    async fn cb05_listed_twice_in_one_household_fires_but_an_exact_duplicate_does_not() {
        let ctx = SessionContext::new();
        Table::new("roster")
            .row(member("H1", "低保", P1, "张三"))
            .row(with(
                member("H1", "低保", P1, "张三"),
                vec![("relation", "子女".into())],
            ))
            .row(member("H2", "低保", P2, "李四"))
            .row(with(
                member("H2", "低保", P2, "李四"),
                vec![("_dup", true.into())],
            ))
            .register(&ctx);
        let found = cb05(&ctx, &params()).await.unwrap();
        assert_eq!(subjects(&found), vec![(Some("H1"), Some(P1))]);
        assert_eq!(found[0].evidence, "本户登记 2 行");
    }
}
