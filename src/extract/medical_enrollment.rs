//! 医保参保登记 — the medical insurance bureau's enrollments: one row per
//! insured person and scheme.

use super::{FieldDef, FieldType::*, ID_ALIASES, NAME_ALIASES};

const SCHEME: &[(&str, &[&str])] = &[
    (
        "职工医保",
        &[
            "职工基本医疗保险",
            "城镇职工基本医疗保险",
            "职工医疗保险",
            "城镇职工医保",
            "职工",
        ],
    ),
    (
        "城乡居民医保",
        &[
            "城乡居民基本医疗保险",
            "居民医保",
            "城乡居民医疗保险",
            "新农合",
            "新型农村合作医疗",
            "城镇居民医保",
            "城镇居民基本医疗保险",
            "居民基本医疗保险",
            "城乡居民",
        ],
    ),
];

pub(crate) const STATUS: &[(&str, &[&str])] = &[
    (
        "正常参保",
        &[
            "参保",
            "正常",
            "参保缴费",
            "在保",
            "参保中",
            "正常缴费",
            "有效",
        ],
    ),
    ("暂停", &["暂停参保", "中断", "暂停缴费", "中止"]),
    ("终止", &["终止参保", "停保", "已终止", "注销", "终止缴费"]),
];

const END_REASON: &[(&str, &[&str])] = &[
    ("死亡", &["身故", "去世", "已死亡", "死亡注销"]),
    ("转出", &["转移", "转外地", "迁出", "转往外地", "异地转出"]),
    ("重复参保", &["重复"]),
];

const YES_NO: &[(&str, &[&str])] = &[("是", &["Y", "1", "TRUE"]), ("否", &["N", "0", "FALSE"])];

pub static DEF: super::ExtractDef = super::ExtractDef {
    name: "medical_enrollment",
    label: "医保参保登记",
    title_words: &["医保…参保", "医疗保险…参保"],
    fields: &[
        FieldDef::new("name", "姓名", Name).aliases(NAME_ALIASES),
        FieldDef::new("id_number", "身份证号", Id).aliases(ID_ALIASES),
        FieldDef::new("scheme", "险种", Category(SCHEME))
            .aliases(&["参保险种", "险种类型"])
            .value_required(),
        FieldDef::new("status", "参保状态", Category(STATUS))
            .aliases(&["状态"])
            .value_required(),
        FieldDef::new("end_reason", "终止原因", Category(END_REASON)),
        FieldDef::new("end_date", "终止日期", Date),
        FieldDef::new("subsidized", "资助参保", Category(YES_NO))
            .aliases(&["是否资助参保"])
            .optional()
            .not_kept(),
    ],
    key: &["id_number", "scheme"],
    key_fallback: &[],
};
