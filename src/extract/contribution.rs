//! 社会保险缴费记录 — human resources & social security: one row per person
//! per contribution month (and employer); the second largest extract.

use super::{FieldDef, FieldType::*, ID_ALIASES, NAME_ALIASES};

const EMPLOYER_TYPE: &[(&str, &[&str])] = &[
    ("机关", &["机关单位", "党政机关", "行政机关"]),
    ("事业单位", &["事业"]),
    ("企业", &["企业单位", "国有企业", "民营企业", "私营企业"]),
    ("个体工商户", &["个体", "个体户"]),
    ("灵活就业", &["灵活就业人员"]),
];

pub static DEF: super::ExtractDef = super::ExtractDef {
    name: "contribution",
    label: "社会保险缴费记录",
    title_words: &["社会保险…缴费", "社会保险费", "社保…缴费"],
    fields: &[
        FieldDef::new("name", "姓名", Name).aliases(NAME_ALIASES),
        FieldDef::new("id_number", "身份证号", Id).aliases(ID_ALIASES),
        FieldDef::new("employer", "单位名称", Text)
            .aliases(&["单位", "参保单位"])
            .optional(),
        FieldDef::new("employer_type", "单位类型", Category(EMPLOYER_TYPE))
            .aliases(&["单位性质"])
            .value_required(),
        FieldDef::new("period", "费款所属期", Period)
            .aliases(&["所属期", "缴费月份", "缴费年月"])
            .value_required(),
        FieldDef::new("wage_base", "缴费基数（元）", Money)
            .dash_unknown()
            .aliases(&["月缴费基数"])
            .value_required(),
    ],
    key: &["id_number", "period", "employer"],
    key_fallback: &[],
};
