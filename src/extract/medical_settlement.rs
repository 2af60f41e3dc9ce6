//! 医保结算明细 — one row per settlement (an outpatient visit or an inpatient
//! stay); the largest extract.

use super::{FieldDef, FieldType::*, ID_ALIASES, NAME_ALIASES};

const VISIT: &[(&str, &[&str])] = &[
    ("门诊", &["普通门诊", "门急诊"]),
    ("住院", &["普通住院"]),
    (
        "门诊慢特病",
        &["门诊慢特", "门特", "慢特病门诊", "门诊特殊病", "门诊慢性病"],
    ),
];

pub static DEF: super::ExtractDef = super::ExtractDef {
    name: "medical_settlement",
    label: "医保结算明细",
    title_words: &["医保…结算", "医疗保险…结算"],
    fields: &[
        FieldDef::new("settlement_id", "结算编号", Code)
            .aliases(&["结算流水号", "结算ID"])
            .value_required(),
        FieldDef::new("name", "姓名", Name).aliases(NAME_ALIASES),
        FieldDef::new("id_number", "身份证号", Id).aliases(ID_ALIASES),
        FieldDef::new("visit_type", "就诊类型", Category(VISIT))
            .aliases(&["医疗类别"])
            .value_required(),
        FieldDef::new("settle_date", "结算日期", Date)
            .aliases(&["结算时间"])
            .value_required(),
        FieldDef::new("hospital", "医疗机构", Text)
            .aliases(&["定点医疗机构", "医院名称"])
            .optional()
            .not_kept(),
        FieldDef::new("diagnosis", "主诊断", Text)
            .aliases(&["诊断", "疾病诊断"])
            .optional()
            .not_kept(),
        FieldDef::new("total_cost", "总费用", Money)
            .aliases(&["医疗总费用"])
            .value_required(),
        FieldDef::new("eligible_cost", "政策范围内费用", Money)
            .aliases(&["政策内费用"])
            .value_checked(),
        FieldDef::new("fund_paid", "统筹基金支付", Money)
            .aliases(&["基本医保支付", "统筹支付"])
            .value_checked(),
        FieldDef::new("critical_paid", "大病保险支付", Money)
            .aliases(&["大病支付"])
            .value_checked(),
        FieldDef::new("assistance_paid", "医疗救助支付", Money)
            .aliases(&["救助支付"])
            .value_checked(),
        FieldDef::new("out_of_pocket", "个人自付", Money)
            .aliases(&["个人负担", "个人自付金额"])
            .value_checked(),
    ],
    key: &["settlement_id"],
    key_fallback: &[],
};
