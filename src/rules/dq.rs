//! 数据核查 — for a person to check: DQ05 and DQ06. (DQ01–DQ04 are raised
//! by the resolve stage, which sees the raw ID numbers.)

use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use super::{
    Blocks, EARNINGS_STEP, Finding, MEAN_SCALE, RuleParams, earnings_text, exact, factor, fetch,
    sorted, sources, yuan, yuan_exact, yuan_mean_up, yuan_ratio_up,
};

/// DQ05 申报收入不符: a roster household's computed income exceeds its
/// declared income by more than the margin; about the member whose income
/// made it fire, and of several such members the smallest ID (rules.md:
/// "several: the smallest ID"; only CB01 names the highest earner).
pub async fn dq05(ctx: &SessionContext, params: &RuleParams) -> Result<Vec<Finding>> {
    let blocks = Blocks::new(ctx, params)?;
    let sql = blocks.query(
        &["households", "household_income", "member_income"],
        &[
            (
                "earner",
                // Every member with an income made it fire: the smallest ID.
                "SELECT household_id, person_id, name, person_method, \
               ROW_NUMBER() OVER (PARTITION BY household_id ORDER BY person_id) AS rn \
             FROM member_income WHERE income_scaled > 0"
                    .into(),
            ),
            ("earnings", EARNINGS_STEP.into()),
        ],
        &format!(
            "SELECT h.household_id, h.township, h.village, h.declared_income, \
               hi.income_scaled, hi.wage_scaled, hi.pension_scaled, hi.income_src, \
               COALESCE(t.person_id, h.head_person_id) AS id_number, \
               CASE WHEN t.person_id IS NULL THEN h.head_name ELSE t.name END AS name, \
               t.person_method, e.earnings \
             FROM households h \
             JOIN household_income hi ON hi.household_id = h.household_id \
             LEFT JOIN earner t ON t.household_id = h.household_id AND t.rn = 1 \
             LEFT JOIN earnings e ON e.household_id = h.household_id \
             WHERE h.declared_income IS NOT NULL \
               AND {income} * 10000 > {declared} * {multiplier} * {MEAN_SCALE}",
            income = exact("hi.income_scaled"),
            declared = exact("h.declared_income"),
            multiplier = 10000 + params.declared_margin_bp,
        ),
    );
    let rows = fetch(ctx, &sql).await?;
    let findings = rows
        .iter()
        .map(|row| {
            let declared = row.int0("declared_income");
            let multiplier = 10000 + params.declared_margin_bp;
            let mut income = format!("工资 {} 元/月", yuan_mean_up(row.int0("wage_scaled")));
            if row.int0("pension_scaled") > 0 {
                income += &format!(
                    "，养老金 {} 元/月",
                    yuan_mean_up(row.int0("pension_scaled"))
                );
            }
            let evidence = format!(
                "核算家庭月收入 {} 元 > 申报 {} 元 × {} = {} 元（{income}）{}",
                yuan_ratio_up(row.int0("income_scaled") as i128, MEAN_SCALE as i128),
                yuan(declared),
                factor(multiplier, 10000),
                yuan_exact(declared as i128 * multiplier as i128, 10000),
                earnings_text(row.text("earnings").as_deref())
            );
            Finding {
                rule: "DQ05",
                household_id: row.text("household_id"),
                id_number: row.text("id_number"),
                name: row.text("name"),
                township: row.text("township"),
                village: row.text("village"),
                evidence,
                sources: sources([row.text("income_src").as_deref()]),
                matched: row.text("person_method"),
            }
        })
        .collect();
    Ok(sorted(findings))
}

/// DQ06 学籍低保标识不符: the education record of the current school year says
/// 低保家庭 or 特困家庭, but neither the student nor the guardian is in the
/// roster. A guardian whose ID number is written but cannot be read (a
/// wrong check character no repair resolved, Excel's scientific notation,
/// too few digits) is no one known to be outside the roster: that row
/// raises none (its DQ01 or DQ04 says what to mend), where a guardian
/// without an ID number is no one in the roster.
pub async fn dq06(ctx: &SessionContext, params: &RuleParams) -> Result<Vec<Finding>> {
    let blocks = Blocks::new(ctx, params)?;
    use crate::resolve::levels::status;
    let unread = format!(
        "('{}', '{}', '{}')",
        status::BAD_CHECK,
        status::SCI_NOTATION,
        status::MALFORMED
    );
    let sql = blocks.query(
        &["current_education", "roster_persons"],
        &[],
        &format!(
            "SELECT e.person_id AS id_number, \
           first_value(e.name ORDER BY e._ord) AS name, \
           first_value(e.person_method ORDER BY e._ord) AS person_method, \
           first_value(e.hardship ORDER BY e._ord) AS hardship, \
           first_value(e.guardian_name ORDER BY e._ord) AS guardian_name, \
           first_value(concat_ws(' ', e.school, e.stage) ORDER BY e._ord) AS school, \
           string_agg(e.src, ';') AS education_src \
         FROM current_education e \
         LEFT JOIN roster_persons g ON g.person_id = e.guardian_person_id \
         WHERE e.hardship IN ('低保家庭', '特困家庭') \
           AND g.person_id IS NULL \
           AND NOT (e.guardian_person_id IS NULL \
                    AND coalesce(e.guardian_id_status, '') IN {unread}) \
           AND NOT EXISTS (SELECT 1 FROM roster_persons s WHERE s.person_id = e.person_id) \
         GROUP BY e.person_id"
        ),
    );
    let rows = fetch(ctx, &sql).await?;
    let findings = rows
        .iter()
        .map(|row| {
            let guardian = match row.text("guardian_name") {
                Some(name) if !name.is_empty() => format!("监护人（{name}）"),
                _ => "监护人".to_string(),
            };
            let evidence = format!(
                "学籍困境类型 {}，学生与{}均不在救助名册（{} 学年 {}）",
                row.text_or_empty("hardship"),
                guardian,
                blocks.window.school_year,
                row.text_or_empty("school")
            );
            Finding {
                rule: "DQ06",
                household_id: None,
                id_number: row.text("id_number"),
                name: row.text("name"),
                township: None,
                village: None,
                evidence,
                sources: sources([row.text("education_src").as_deref()]),
                matched: row.text("person_method"),
            }
        })
        .collect();
    Ok(sorted(findings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::*;

    fn register(ctx: &SessionContext, name: &'static str, rows: Vec<Cells>) {
        let mut t = Table::new(name);
        for row in rows {
            t = t.row(row);
        }
        t.register(ctx);
    }

    fn declared_ctx(declared: Option<i64>, contributions: Vec<Cells>) -> SessionContext {
        let ctx = SessionContext::new();
        let declared = declared.map(V::I).unwrap_or(V::Null);
        Table::new("roster")
            .row(with(
                member("H1", "低保", P1, "张三"),
                vec![("declared_income", declared.clone())],
            ))
            .row(with(
                member("H1", "低保", P2, "李四"),
                vec![("declared_income", declared), ("head_person_id", P1.into())],
            ))
            .register(&ctx);
        register(&ctx, "contribution", contributions);
        register(&ctx, "pension", vec![]);
        ctx
    }

    #[tokio::test]
    async fn dq05_income_above_declared_plus_margin_fires() {
        let ctx = declared_ctx(
            Some(100_000),
            vec![
                contribution(P2, 202501, "企业", 100_000),
                contribution(P1, 202501, "企业", 30_001),
            ],
        );
        let found = dq05(&ctx, &params()).await.unwrap();
        // Both members' incomes made it fire: the smallest ID (P1), though
        // P2 earns more (CB01 alone names the highest earner).
        assert_eq!(subjects(&found), vec![(Some("H1"), Some(P1))]);
        assert_eq!(
            found[0].evidence,
            "核算家庭月收入 1300.01 元 > 申报 1000.00 元 × 1.3 = 1300.00 元（工资 1300.01 元/月）；\
             其中 本人 工资 1000.00 元/月（1 个月平均）、本人 工资 300.01 元/月（1 个月平均）"
        );
    }

    #[tokio::test]
    async fn dq05_exactly_at_the_margin_or_nothing_declared_does_not_fire() {
        let at = vec![contribution(P2, 202501, "企业", 130_000)];
        let ctx = declared_ctx(Some(100_000), at.clone());
        assert!(dq05(&ctx, &params()).await.unwrap().is_empty());
        let ctx = declared_ctx(None, at);
        assert!(dq05(&ctx, &params()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn dq05_takes_the_declared_income_from_any_member_row() {
        // The head's row leaves the household's declared income empty; the
        // other member's row says 0.00, which the income exceeds.
        let ctx = SessionContext::new();
        Table::new("roster")
            .row(with(
                member("H1", "低保", P1, "张三"),
                vec![("declared_income", V::Null)],
            ))
            .row(with(
                member("H1", "低保", P2, "李四"),
                vec![("declared_income", V::I(0)), ("head_person_id", P1.into())],
            ))
            .register(&ctx);
        register(
            &ctx,
            "contribution",
            vec![contribution(P2, 202501, "企业", 70_000)],
        );
        register(&ctx, "pension", vec![]);
        let found = dq05(&ctx, &params()).await.unwrap();
        assert_eq!(subjects(&found), vec![(Some("H1"), Some(P2))]);
        assert!(
            found[0].evidence.contains("申报 0.00 元"),
            "{}",
            found[0].evidence
        );
    }

    fn student(person: &str, guardian: Option<&str>, year: &str, hardship: &str) -> Cells {
        let status = if guardian.is_some() { "valid" } else { "empty" };
        vec![
            ("guardian_id_status", status.into()),
            ("person_id", person.into()),
            ("name", "小明".into()),
            ("school", "实验小学".into()),
            ("stage", "小学".into()),
            ("aid_type", "营养改善".into()),
            ("hardship", hardship.into()),
            ("guardian_name", "王五".into()),
            (
                "guardian_person_id",
                guardian.map(V::from).unwrap_or(V::Null),
            ),
            ("school_year", year.into()),
        ]
    }

    #[tokio::test]
    async fn dq06_flag_without_roster_household_fires() {
        let ctx = SessionContext::new();
        Table::new("roster")
            .row(member("H1", "低保", P1, "张三"))
            .register(&ctx);
        register(
            &ctx,
            "education",
            vec![
                student(P4, Some(P5), "2025-2026", "低保家庭"),
                student(P3, None, "2025-2026", "特困家庭"),
                student(P2, Some(P1), "2025-2026", "低保家庭"), // guardian in the roster
                student(P1, None, "2025-2026", "低保家庭"),     // student in the roster
                student(P5, None, "2024-2025", "低保家庭"),     // an old school year
                student(P2, None, "2025-2026", "无"),
            ],
        );
        let found = dq06(&ctx, &params()).await.unwrap();
        assert_eq!(subjects(&found), vec![(None, Some(P3)), (None, Some(P4))]);
        // A guardian whose ID is written but unreadable may be in the
        // roster: no DQ06 (helper-159's audit: its evidence said the
        // guardian was not). A repaired one is looked up as any other.
        let alone = |row: Cells| async move {
            let ctx = SessionContext::new();
            Table::new("roster")
                .row(member("H1", "低保", P1, "张三"))
                .register(&ctx);
            register(&ctx, "education", vec![row]);
            dq06(&ctx, &params()).await.unwrap()
        };
        for status in ["sci_notation", "bad_check", "malformed"] {
            let mut row = student(P3, None, "2025-2026", "低保家庭");
            row[0] = ("guardian_id_status", status.into());
            let found = alone(row).await;
            assert!(found.is_empty(), "{status}: {found:?}");
        }
        let mut repaired = student(P3, Some(P5), "2025-2026", "低保家庭");
        repaired[0] = ("guardian_id_status", "bad_check".into());
        assert_eq!(subjects(&alone(repaired).await), vec![(None, Some(P3))]);
        assert_eq!(
            found[1].evidence,
            "学籍困境类型 低保家庭，学生与监护人（王五）均不在救助名册（2025-2026 学年 实验小学 小学）"
        );
    }
}
