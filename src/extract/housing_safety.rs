//! 农村住房安全鉴定与危房改造台账 — the housing bureau's rural house
//! assessments: one row per house assessed.

use super::{FieldDef, FieldType::*, HEAD_ROW_ID_ALIASES};

const GRADE: &[(&str, &[&str])] = &[
    ("A", &["A级", "A类", "a"]),
    ("B", &["B级", "B类", "b"]),
    ("C", &["C级", "C类", "c"]),
    ("D", &["D级", "D类", "d"]),
];

pub(crate) const RENOVATION: &[(&str, &[&str])] = &[
    ("未纳入", &["未纳入计划", "否"]),
    ("已纳入计划", &["已纳入", "纳入计划", "改造中"]),
    ("已改造", &["改造完成", "已完成"]),
];

pub static DEF: super::ExtractDef = super::ExtractDef {
    name: "housing_safety",
    label: "农村住房安全鉴定台账",
    title_words: &["住房安全…鉴定", "危房…改造"],
    fields: &[
        FieldDef::new("name", "户主姓名", Name).aliases(&["姓名"]),
        FieldDef::new("id_number", "户主身份证号", Id).aliases(HEAD_ROW_ID_ALIASES),
        FieldDef::new("township", "乡镇", Text).aliases(&["乡镇街道", "街道"]),
        FieldDef::new("village", "村", Text)
            .aliases(&["行政村", "社区"])
            .optional(),
        FieldDef::new("grade", "鉴定等级", Category(GRADE))
            .aliases(&["安全等级", "等级"])
            .value_required(),
        FieldDef::new("assess_date", "鉴定日期", Date)
            .aliases(&["鉴定时间"])
            .value_required(),
        FieldDef::new("renovation", "改造状态", Category(RENOVATION))
            .aliases(&["危改状态"])
            .value_checked(),
    ],
    key: &["id_number", "assess_date"],
    key_fallback: &[],
};

#[cfg(test)]
mod tests {
    use super::GRADE;
    use crate::extract::table::parse_category;

    #[test]
    fn a_grade_is_read_in_the_spellings_of_real_ledgers() {
        for (raw, grade) in [
            ("D", "D"),
            ("D级", "D"),
            ("D类", "D"),
            ("C类危房", "C"),
            ("D（待复核）", "D"),
        ] {
            assert_eq!(parse_category(GRADE, raw), Ok(Some(grade)), "{raw}");
        }
    }
}
