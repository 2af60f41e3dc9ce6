//! 不动产登记 — the real-estate registry: one row per (property, owner);
//! co-owned property has one row per owner.

use super::{FieldDef, FieldType::*};

const USAGE: &[(&str, &[&str])] = &[
    ("住宅", &["成套住宅", "住房", "居住"]),
    ("商业", &["商铺", "商服", "商业服务"]),
    ("办公", &[]),
    ("工业", &["厂房", "工业用房"]),
    ("车位", &["车库", "停车位"]),
];

const STATE: &[(&str, &[&str])] = &[("现势", &["现状", "有效"]), ("注销", &["已注销", "历史"])];

pub static DEF: super::ExtractDef = super::ExtractDef {
    name: "property",
    label: "不动产登记",
    title_words: &["不动产…登记"],
    fields: &[
        FieldDef::new("name", "权利人姓名", Name).aliases(&["权利人", "姓名"]),
        FieldDef::new("id_number", "权利人证件号", Id).aliases(&[
            "权利人证件号码",
            "权利人身份证号",
            "权利人身份证号码",
            "权利人公民身份号码",
            "权利人身份证件号码",
            "权利人身份证",
            "身份证号",
            "身份证号码",
            "公民身份号码",
            "身份证件号码",
            "证件号码",
            "证件号",
            "身份证",
        ]),
        FieldDef::new("unit_id", "不动产单元号", Code)
            .aliases(&["单元号"])
            .value_required(),
        FieldDef::new("address", "坐落", Text)
            .aliases(&["房屋坐落", "地址"])
            .optional()
            .not_kept(),
        FieldDef::new("usage", "规划用途", Category(USAGE))
            .aliases(&["用途"])
            .value_required(),
        FieldDef::new("area", "建筑面积（㎡）", Decimal)
            .aliases(&["面积"])
            .optional(),
        FieldDef::new("reg_date", "登记日期", Date)
            .aliases(&["登簿日期"])
            .optional(),
        FieldDef::new("state", "权利状态", Category(STATE))
            .aliases(&["状态"])
            .value_required(),
    ],
    key: &["unit_id", "id_number"],
    key_fallback: &[],
};
