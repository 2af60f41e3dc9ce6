//! 待遇未落实 — covered, but a linked benefit was not delivered: the DY rules
//! over roster members. One finding per roster member (household × person);
//! DY03 one per student.

use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use super::{
    Blocks, Finding, MEDICAL_ENROLLMENT, MEDICAL_SETTLEMENT, Row, RuleParams, fetch, percent,
    sorted, sources, src_of, yuan,
};

fn member_finding(
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

/// DY01 未参保: a member with no enrollment of status 正常参保; members whose
/// enrollment ended by death go to CB04 instead.
pub async fn dy01(ctx: &SessionContext, params: &RuleParams) -> Result<Vec<Finding>> {
    let blocks = Blocks::new(ctx, params)?;
    // The enrollments are listed for members only, in no order: the
    // evidence sorts them ([`sources`]). Ordered, string_agg kept an
    // accumulator per group, and every insured person's (a county's half
    // million) took most of this rule's time.
    let sql = blocks.query(
        &["households", "members", "live_medical_enrollment", "deceased"],
        &[(
            "enrollments",
            format!(
                "SELECT person_id, \
                   string_agg(concat_ws(' ', scheme, status, end_reason, CAST(end_date AS VARCHAR)), ';') AS enrollments, \
                   string_agg({src}, ';') AS enrollment_src \
                 FROM live_medical_enrollment \
                 WHERE person_id IN (SELECT person_id FROM members) \
                 GROUP BY person_id",
                src = src_of(MEDICAL_ENROLLMENT, ""),
            ),
        )],
        "SELECT m.household_id, h.township, h.village, m.person_id AS id_number, m.name, \
           m.person_method, m.src AS member_src, e.enrollments, e.enrollment_src \
         FROM members m \
         JOIN households h ON h.household_id = m.household_id \
         LEFT JOIN enrollments e ON e.person_id = m.person_id \
         WHERE NOT EXISTS (SELECT 1 FROM live_medical_enrollment x \
                           WHERE x.person_id = m.person_id AND x.status = '正常参保') \
           AND NOT EXISTS (SELECT 1 FROM deceased d WHERE d.person_id = m.person_id)",
    );
    let rows = fetch(ctx, &sql).await?;
    let findings = rows
        .iter()
        .map(|row| {
            let evidence = match row.text("enrollments") {
                None => "无医保参保记录".to_string(),
                Some(list) => format!(
                    "无正常参保记录（{}）",
                    sources([Some(list.as_str())]).join("；")
                ),
            };
            let srcs = sources([
                row.text("member_src").as_deref(),
                row.text("enrollment_src").as_deref(),
            ]);
            member_finding("DY01", row, evidence, srcs)
        })
        .collect();
    Ok(sorted(findings))
}

/// DY02 救助比例不足: an inpatient settlement in the window, on or after the
/// household's 认定日期, where (统筹 + 大病 + 救助) / 政策范围内费用 < floor
/// (0.70 for 低保 and 特困, 0.50 for 低收入); settlements with 政策范围内费用 0
/// or empty are not judged. The evidence lists every settlement below.
pub async fn dy02(ctx: &SessionContext, params: &RuleParams) -> Result<Vec<Finding>> {
    let blocks = Blocks::new(ctx, params)?;
    let sql = blocks.query(
        &["households", "members", "live_medical_settlement"],
        &[(
            "inpatient",
            format!(
                "SELECT s.*, COALESCE(s.fund_paid, 0) + COALESCE(s.critical_paid, 0) \
                   + COALESCE(s.assistance_paid, 0) AS paid \
                 FROM live_medical_settlement s \
                 WHERE s.visit_type = '住院' AND {} AND s.eligible_cost > 0",
                blocks.window.has_date("s.settle_date")
            ),
        )],
        &format!(
            "SELECT m.household_id, h.township, h.village, m.person_id AS id_number, m.name, \
               m.person_method, m.src AS member_src, h.floor_bp, s.settlement_id, \
               CAST(s.settle_date AS VARCHAR) AS settled_on, s.paid, s.eligible_cost, {src} AS src \
             FROM members m \
             JOIN households h ON h.household_id = m.household_id \
             JOIN inpatient s ON s.person_id = m.person_id \
             WHERE (h.start_date IS NULL OR s.settle_date >= h.start_date) \
               AND CAST(s.paid AS DECIMAL(38, 0)) * 10000 < CAST(h.floor_bp AS DECIMAL(38, 0)) * s.eligible_cost \
             ORDER BY m.household_id, m.person_id, s.settle_date, s.settlement_id, s._ord",
            src = src_of(MEDICAL_SETTLEMENT, "s."),
        ),
    );
    let rows = fetch(ctx, &sql).await?;
    // One row per settlement below the floor, ordered by member: fold each
    // member's run into one finding.
    let mut findings: Vec<Finding> = Vec::new();
    let mut items: Vec<String> = Vec::new();
    let mut srcs: Vec<Option<String>> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        items.push(format!(
            "{} {} {}（{}/{} 元）",
            row.text_or_empty("settlement_id"),
            row.text_or_empty("settled_on"),
            percent(row.int0("paid"), row.int0("eligible_cost")),
            yuan(row.int0("paid")),
            yuan(row.int0("eligible_cost"))
        ));
        srcs.push(row.text("src"));
        let last_of_member = rows.get(i + 1).is_none_or(|next| {
            (next.text("household_id"), next.text("id_number"))
                != (row.text("household_id"), row.text("id_number"))
        });
        if last_of_member {
            srcs.push(row.text("member_src"));
            let evidence = format!(
                "住院结算 {} 笔报销比例低于 {}：{}",
                items.len(),
                percent(row.int0("floor_bp"), 10000),
                items.join("；")
            );
            let all = sources(srcs.iter().map(|s| s.as_deref()));
            findings.push(member_finding("DY02", row, evidence, all));
            items.clear();
            srcs.clear();
        }
    }
    Ok(sorted(findings))
}

/// DY03 学生未资助: a member enrolled (current school year) in 小学, 初中,
/// 高中 or 中职 whose 资助项目 is 无. One finding per student (rules.md): a
/// student who is a member of two households (CB05) is raised in the
/// first by 户编号.
pub async fn dy03(ctx: &SessionContext, params: &RuleParams) -> Result<Vec<Finding>> {
    let blocks = Blocks::new(ctx, params)?;
    let sql = blocks.query(
        &["households", "members", "current_education"],
        &[(
            "unaided",
            "SELECT m.household_id, h.township, h.village, h.category, m.person_id AS id_number, \
               first_value(m.name ORDER BY e._ord) AS name, \
               first_value(e.person_method ORDER BY e._ord) AS person_method, \
               first_value(concat_ws(' ', e.school, e.stage) ORDER BY e._ord) AS school, \
               string_agg(concat_ws(';', e.src, m.src), ';') AS all_src \
             FROM current_education e \
             JOIN members m ON m.person_id = e.person_id \
             JOIN households h ON h.household_id = m.household_id \
             WHERE e.stage IN ('小学', '初中', '高中', '中职') AND e.aid_type = '无' \
             GROUP BY m.household_id, h.township, h.village, h.category, m.person_id"
                .into(),
        )],
        "SELECT household_id, township, village, category, id_number, name, person_method, \
           school, all_src FROM ( \
           SELECT *, ROW_NUMBER() OVER (PARTITION BY id_number ORDER BY household_id) AS rn \
           FROM unaided) \
         WHERE rn = 1",
    );
    let rows = fetch(ctx, &sql).await?;
    let findings = rows
        .iter()
        .map(|row| {
            let evidence = format!(
                "{} 学年 {}，资助项目 无（{}户成员）",
                blocks.window.school_year,
                row.text_or_empty("school"),
                row.text_or_empty("category")
            );
            member_finding(
                "DY03",
                row,
                evidence,
                sources([row.text("all_src").as_deref()]),
            )
        })
        .collect();
    Ok(sorted(findings))
}

/// DY04 危房未改造: a member heads a house whose latest grade is C or D and
/// whose 改造状态 is 未纳入.
pub async fn dy04(ctx: &SessionContext, params: &RuleParams) -> Result<Vec<Finding>> {
    let blocks = Blocks::new(ctx, params)?;
    let sql = blocks.query(
        &["households", "members", "latest_house"],
        &[],
        "SELECT m.household_id, h.township, h.village, m.person_id AS id_number, m.name, \
           m.person_method, lh.grade, CAST(lh.assess_date AS VARCHAR) AS assess_date, \
           concat_ws(';', lh.src, m.src) AS all_src \
         FROM latest_house lh \
         JOIN members m ON m.person_id = lh.person_id \
         JOIN households h ON h.household_id = m.household_id \
         WHERE lh.grade IN ('C', 'D') AND lh.renovation = '未纳入'",
    );
    let rows = fetch(ctx, &sql).await?;
    let findings = rows
        .iter()
        .map(|row| {
            let evidence = format!(
                "住房鉴定 {} 级危房（鉴定日期 {}），改造状态 未纳入",
                row.text_or_empty("grade"),
                row.text_or_empty("assess_date")
            );
            member_finding(
                "DY04",
                row,
                evidence,
                sources([row.text("all_src").as_deref()]),
            )
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

    /// H1 (低保, since 2025-01-01): P1 and P2; H2 (低收入): P3.
    fn base() -> SessionContext {
        let ctx = SessionContext::new();
        Table::new("roster")
            .row(with(
                member("H1", "低保", P1, "张三"),
                vec![("start_date", "2025-01-01".into())],
            ))
            .row(with(
                member("H1", "低保", P2, "李四"),
                vec![
                    ("head_person_id", P1.into()),
                    ("start_date", "2025-01-01".into()),
                ],
            ))
            .row(member("H2", "低收入", P3, "王五"))
            .register(&ctx);
        ctx
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

    #[tokio::test]
    async fn dy01_member_without_a_normal_enrollment_fires_dead_go_to_cb04() {
        let ctx = base();
        register(
            &ctx,
            "medical_enrollment",
            vec![
                enrollment(P1, "正常参保", None, None),
                enrollment(P2, "终止", Some("转出"), Some("2025-01-01")),
                enrollment(P3, "终止", Some("死亡"), Some("2025-01-01")),
            ],
        );
        let found = dy01(&ctx, &params()).await.unwrap();
        assert_eq!(subjects(&found), vec![(Some("H1"), Some(P2))]);
        assert_eq!(
            found[0].evidence,
            "无正常参保记录（城乡居民医保 终止 转出 2025-01-01）"
        );
        assert_eq!(
            found[0].sources,
            vec![
                "medical_enrollment:medical_enrollment.csv:3",
                "roster:roster.csv:3"
            ]
        );
    }

    #[tokio::test]
    async fn dy01_no_record_at_all_fires_death_after_as_of_too() {
        let ctx = base();
        register(
            &ctx,
            "medical_enrollment",
            vec![
                enrollment(P1, "正常参保", None, None),
                enrollment(P3, "终止", Some("死亡"), Some("2025-12-01")),
            ],
        );
        let found = dy01(&ctx, &params()).await.unwrap();
        assert_eq!(
            subjects(&found),
            vec![(Some("H1"), Some(P2)), (Some("H2"), Some(P3))]
        );
        assert_eq!(found[0].evidence, "无医保参保记录");
    }

    fn inpatient(
        id: &str,
        person: &str,
        date: &str,
        eligible: Option<i64>,
        fund: i64,
        assistance: Option<i64>,
    ) -> Cells {
        vec![
            ("settlement_id", id.into()),
            ("person_id", person.into()),
            ("visit_type", "住院".into()),
            ("settle_date", date.into()),
            ("eligible_cost", eligible.map(V::I).unwrap_or(V::Null)),
            ("fund_paid", V::I(fund)),
            ("critical_paid", V::I(0)),
            ("assistance_paid", assistance.map(V::I).unwrap_or(V::Null)),
        ]
    }

    #[tokio::test]
    async fn dy02_lists_every_settlement_below_the_floor() {
        let ctx = base();
        register(
            &ctx,
            "medical_settlement",
            vec![
                inpatient("S2", P1, "2025-05-01", Some(200_000), 100_000, Some(39_999)),
                inpatient("S1", P1, "2025-03-01", Some(200_000), 100_000, None),
                inpatient("S3", P1, "2025-04-01", Some(200_000), 100_000, Some(40_000)), // exactly 0.70
                with(
                    inpatient("S4", P1, "2025-04-02", Some(200_000), 0, None),
                    vec![("visit_type", "门诊".into())],
                ),
                inpatient("S5", P1, "2024-12-31", Some(200_000), 0, None), // before 认定日期
                inpatient("S6", P2, "2025-04-01", Some(0), 0, None),       // eligible 0
                inpatient("S7", P2, "2025-04-01", None, 0, None),          // eligible empty
                inpatient("S8", P3, "2025-04-01", Some(200_000), 100_000, None), // 低收入: 0.50 is at the floor
            ],
        );
        let found = dy02(&ctx, &params()).await.unwrap();
        assert_eq!(subjects(&found), vec![(Some("H1"), Some(P1))]);
        assert_eq!(
            found[0].evidence,
            "住院结算 2 笔报销比例低于 70.00%：S1 2025-03-01 50.00%（1000.00/2000.00 元）；\
             S2 2025-05-01 69.99%（1399.99/2000.00 元）"
        );
        assert_eq!(
            found[0].sources,
            vec![
                "medical_settlement:medical_settlement.csv:2",
                "medical_settlement:medical_settlement.csv:3",
                "roster:roster.csv:2"
            ]
        );
    }

    #[tokio::test]
    async fn dy02_low_income_floor_and_window() {
        let ctx = base();
        register(
            &ctx,
            "medical_settlement",
            vec![
                inpatient("S1", P3, "2025-04-01", Some(200_000), 99_999, None),
                inpatient("S2", P3, "2024-11-30", Some(200_000), 0, None), // just outside
            ],
        );
        let found = dy02(&ctx, &params()).await.unwrap();
        assert_eq!(subjects(&found), vec![(Some("H2"), Some(P3))]);
        assert!(
            found[0]
                .evidence
                .starts_with("住院结算 1 笔报销比例低于 50.00%：S1 "),
            "{}",
            found[0].evidence
        );
    }

    fn student(person: &str, year: &str, stage: &str, aid: &str) -> Cells {
        vec![
            ("person_id", person.into()),
            ("name", "小明".into()),
            ("school", "实验中学".into()),
            ("stage", stage.into()),
            ("aid_type", aid.into()),
            ("hardship", "低保家庭".into()),
            ("school_year", year.into()),
            ("person_method", "name_birth".into()),
        ]
    }

    #[tokio::test]
    async fn dy03_member_student_without_aid_fires() {
        let ctx = base();
        register(
            &ctx,
            "education",
            vec![
                student(P2, "2025-2026", "初中", "无"),
                student(P1, "2024-2025", "高中", "无"), // old school year
                student(P3, "2025-2026", "高校", "无"), // not a covered stage
                student(P4, "2025-2026", "小学", "无"), // not a member
                with(student(P1, "2025-2026", "小学", "营养改善"), vec![]),
            ],
        );
        let found = dy03(&ctx, &params()).await.unwrap();
        assert_eq!(subjects(&found), vec![(Some("H1"), Some(P2))]);
        assert_eq!(found[0].name.as_deref(), Some("李四"));
        assert_eq!(found[0].matched.as_deref(), Some("name_birth"));
        assert_eq!(
            found[0].evidence,
            "2025-2026 学年 实验中学 初中，资助项目 无（低保户成员）"
        );
        assert_eq!(
            found[0].sources,
            vec!["education:education.csv:2", "roster:roster.csv:3"]
        );
    }

    /// One finding per student (rules.md), though the student is a member
    /// of two households (CB05): raised in the first by 户编号 (helper-126's
    /// audit: raised in each).
    #[tokio::test]
    async fn dy03_is_one_finding_per_student_in_two_households() {
        let ctx = SessionContext::new();
        Table::new("roster")
            .row(member("H2", "低保", P2, "李四"))
            .row(member("H1", "低收入", P2, "李四"))
            .row(member("H3", "低保", P3, "王五"))
            .register(&ctx);
        register(
            &ctx,
            "education",
            vec![
                student(P2, "2025-2026", "初中", "无"),
                student(P3, "2025-2026", "小学", "无"),
            ],
        );
        let found = dy03(&ctx, &params()).await.unwrap();
        assert_eq!(
            subjects(&found),
            vec![(Some("H1"), Some(P2)), (Some("H3"), Some(P3))]
        );
    }

    fn house(person: &str, grade: &str, date: &str, renovation: &str) -> Cells {
        vec![
            ("person_id", person.into()),
            ("grade", grade.into()),
            ("assess_date", date.into()),
            ("renovation", renovation.into()),
        ]
    }

    #[tokio::test]
    async fn dy04_unrenovated_dangerous_house_fires() {
        let ctx = base();
        register(
            &ctx,
            "housing_safety",
            vec![
                house(P1, "C", "2025-02-01", "未纳入"),
                house(P2, "D", "2025-02-01", "已改造"),
                house(P3, "D", "2024-02-01", "未纳入"),
                house(P3, "D", "2025-02-01", "已纳入计划"), // latest: planned
                house(P4, "D", "2025-02-01", "未纳入"),     // not a member
            ],
        );
        let found = dy04(&ctx, &params()).await.unwrap();
        assert_eq!(subjects(&found), vec![(Some("H1"), Some(P1))]);
        assert_eq!(
            found[0].evidence,
            "住房鉴定 C 级危房（鉴定日期 2025-02-01），改造状态 未纳入"
        );
    }
}
