//! 学生资助与学籍 — the education bureau's students: one row per student per
//! school year.

use super::{FieldDef, FieldType::*, GUARDIAN_ID_ALIASES, NAME_ALIASES, STUDENT_ID_ALIASES};

const STAGE: &[(&str, &[&str])] = &[
    ("学前", &["幼儿园", "学前教育"]),
    ("小学", &[]),
    ("初中", &["初级中学"]),
    ("高中", &["普通高中", "高级中学"]),
    ("中职", &["中等职业教育", "中专", "职高", "技校"]),
    ("高校", &["大学", "高等教育", "大专", "本科"]),
];

const AID: &[(&str, &[&str])] = &[
    ("生活补助", &["家庭经济困难学生生活补助", "生活费补助"]),
    ("免学费", &["免除学费"]),
    ("国家助学金", &["助学金"]),
    ("营养改善", &["营养改善计划", "营养餐"]),
    ("无", &["未资助", "无资助", "未享受", "否"]),
];

/// In the template's order, which puts the hardships LB02 reads first: a
/// school that records two (`孤儿、残疾`) keeps the first of them in this
/// order (see [`super::FieldDef::listed`]). No spelling holds a list
/// separator (a test checks).
const HARDSHIP: &[(&str, &[&str])] = &[
    ("孤儿", &[]),
    ("事实无人抚养", &["事实无人抚养儿童"]),
    ("残疾", &["残疾儿童", "残疾学生"]),
    ("低保家庭", &["低保"]),
    ("特困家庭", &["特困"]),
    ("无", &["否"]),
];

pub static DEF: super::ExtractDef = super::ExtractDef {
    name: "education",
    label: "学生资助与学籍",
    title_words: &["学生…资助", "学籍"],
    fields: &[
        FieldDef::new("name", "学生姓名", Name).aliases(NAME_ALIASES),
        FieldDef::new("id_number", "学生身份证号", Id).aliases(STUDENT_ID_ALIASES),
        FieldDef::new("birth_date", "出生日期", Date).aliases(&["出生年月日"]),
        FieldDef::new("school", "学校名称", Text)
            .aliases(&["学校", "就读学校"])
            .optional(),
        FieldDef::new("stage", "学段", Category(STAGE))
            .aliases(&["就读学段"])
            .value_required(),
        FieldDef::new("aid_type", "资助项目", Category(AID)).aliases(&["资助类型"]),
        FieldDef::new("aid_amount", "资助金额（元）", Money).optional(),
        FieldDef::new("hardship", "困境类型", Category(HARDSHIP))
            .aliases(&["困难类型"])
            .listed(),
        FieldDef::new("guardian_name", "监护人姓名", Name).optional(),
        FieldDef::new("guardian_id", "监护人身份证号", Id)
            .aliases(GUARDIAN_ID_ALIASES)
            .optional(),
        FieldDef::new("school_year", "学年", SchoolYear)
            .aliases(&["学年度"])
            .value_required(),
    ],
    key: &["id_number", "school_year"],
    key_fallback: &["name", "birth_date", "school_year"],
};

#[cfg(test)]
mod tests {
    use super::AID;
    use crate::extract::table::{Value, is_list_separator, parse_category, parse_value};

    #[test]
    fn a_hardship_cell_listing_several_keeps_the_one_most_in_need() {
        let hardship = super::DEF.field("hardship").expect("hardship");
        for (raw, want) in [
            ("孤儿、残疾", "孤儿"),
            ("残疾，事实无人抚养儿童", "事实无人抚养"),
            ("低保 / 残疾", "残疾"),
            ("孤儿", "孤儿"),
            ("孤儿、低保家庭", "孤儿"),
            ("孤儿、事实无人抚养", "孤儿"),
            ("残疾、特困家庭", "残疾"),
            ("低保/特困家庭", "低保家庭"),
            ("非孤儿、残疾", "残疾"),
            ("孤儿（非残疾）", "孤儿"),
            // One in a note is listed too (helper-163's audit: 特困家庭
            // was read, and an orphan outside the roster raised DQ06, not
            // LB02); one said as what was is none.
            ("特困家庭（孤儿）", "孤儿"),
            ("低保家庭（事实无人抚养）", "事实无人抚养"),
            ("事实无人抚养（父母重度残疾）", "事实无人抚养"),
            ("孤儿（原低保家庭）", "孤儿"),
            // A note that is a sentence holding a value lists nothing
            // (helper-164's audit: each was read as 孤儿 or 残疾).
            ("低保家庭（未认定孤儿）", "低保家庭"),
            ("低保家庭（孤儿待认定）", "低保家庭"),
            ("低保家庭（母亲系孤儿）", "低保家庭"),
            ("特困家庭（不属于孤儿）", "特困家庭"),
            ("低保家庭（父亲残疾）", "低保家庭"),
            ("低保家庭，不属于孤儿", "低保家庭"),
        ] {
            assert_eq!(
                parse_value(hardship, raw).map(|v| format!("{v:?}")),
                Ok(format!("{:?}", Value::Category(Some(want)))),
                "{raw}"
            );
        }
        for raw in [
            // A note saying it is now another: which is meant is unknown.
            "孤儿（纳入特困供养）",
            "特困家庭（现孤儿）",
            "孤儿、残疾、其他",
            "、",
            "孤儿残疾",
            "非孤儿",
            "不是孤儿",
            "非低保家庭",
        ] {
            assert!(parse_value(hardship, raw).is_err(), "{raw}");
        }
        for (value, aliases) in super::HARDSHIP {
            for spelling in std::iter::once(value).chain(aliases.iter()) {
                assert!(!spelling.contains(is_list_separator), "{spelling}");
            }
        }
        // A category not listed keeps refusing two values.
        let stage = super::DEF.field("stage").expect("stage");
        assert!(parse_value(stage, "小学、初中").is_err());
    }

    #[test]
    fn no_aid_written_any_way_is_none() {
        for raw in ["无", "未资助", "无资助", "未享受", "否"] {
            assert_eq!(parse_category(AID, raw), Ok(Some("无")), "{raw}");
        }
        assert_eq!(parse_category(AID, "助学金"), Ok(Some("国家助学金")));
    }
}
