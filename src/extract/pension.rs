//! 养老金发放 — human resources & social security: monthly pension payments.

use super::{FieldDef, FieldType::*, ID_ALIASES, NAME_ALIASES};

pub static DEF: super::ExtractDef = super::ExtractDef {
    name: "pension",
    label: "养老金发放",
    title_words: &["养老金…发放", "养老金…待遇"],
    fields: &[
        FieldDef::new("name", "姓名", Name).aliases(NAME_ALIASES),
        FieldDef::new("id_number", "身份证号", Id).aliases(ID_ALIASES),
        FieldDef::new("period", "发放月份", Period)
            .aliases(&["发放年月", "所属期"])
            .value_required(),
        FieldDef::new("amount", "发放金额（元）", Money)
            .aliases(&["养老金金额"])
            .value_required(),
    ],
    key: &["id_number", "period"],
    key_fallback: &[],
};
