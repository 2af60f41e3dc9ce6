//! 失业登记 — human resources & social security: unemployment registrations.

use super::{FieldDef, FieldType::*, ID_ALIASES, NAME_ALIASES};

pub(crate) const STATUS: &[(&str, &[&str])] = &[
    ("失业", &["失业中", "登记失业", "失业登记"]),
    ("已就业", &["就业", "再就业", "就业登记"]),
    ("注销", &["已注销", "注销登记"]),
];

pub static DEF: super::ExtractDef = super::ExtractDef {
    name: "unemployment",
    label: "失业登记",
    title_words: &["失业…登记"],
    fields: &[
        FieldDef::new("name", "姓名", Name).aliases(NAME_ALIASES),
        FieldDef::new("id_number", "身份证号", Id).aliases(ID_ALIASES),
        FieldDef::new("reg_date", "登记日期", Date)
            .aliases(&["失业登记日期"])
            .value_required(),
        FieldDef::new("status", "状态", Category(STATUS))
            .aliases(&["登记状态", "就业状态"])
            .value_required(),
    ],
    key: &["id_number", "reg_date"],
    key_fallback: &[],
};
