//! 救助对象名册 — the assistance roster, civil affairs' own data: one row per
//! household member.

use super::{FieldDef, FieldType::*, HEAD_ID_ALIASES, MEMBER_ID_ALIASES};

pub(crate) const CATEGORY: &[(&str, &[&str])] = &[
    (
        "低保",
        &[
            "最低生活保障",
            "城市低保",
            "农村低保",
            "低保户",
            "城乡低保",
            "低保对象",
        ],
    ),
    (
        "特困",
        &[
            "特困供养",
            "特困人员",
            "特困人员救助供养",
            "五保",
            "分散供养",
            "集中供养",
        ],
    ),
    (
        "低收入",
        &["低收入家庭", "低收入人口", "低边", "低收入户", "低保边缘"],
    ),
];

const RELATION: &[(&str, &[&str])] = &[
    ("本人", &["户主"]),
    ("配偶", &["妻", "夫", "妻子", "丈夫"]),
    (
        "子女",
        &["子", "女", "儿子", "女儿", "长子", "长女", "次子", "次女"],
    ),
    ("父母", &["父亲", "母亲", "父", "母"]),
    ("兄弟姐妹", &["兄", "弟", "姐", "妹"]),
    ("孙子女", &["孙子", "孙女", "外孙子", "外孙女"]),
    ("祖父母", &["祖父", "祖母", "外祖父", "外祖母"]),
    ("其他", &[]),
];

const DISABILITY: &[(&str, &[&str])] = &[
    ("一级", &["1级", "一", "1"]),
    ("二级", &["2级", "二", "2"]),
    ("三级", &["3级", "三", "3"]),
    ("四级", &["4级", "四", "4"]),
    ("无", &["否"]),
];

pub static DEF: super::ExtractDef = super::ExtractDef {
    name: "roster",
    label: "救助对象名册",
    title_words: &["救助对象…名册"],
    fields: &[
        FieldDef::new("household_id", "户编号", Text)
            .aliases(&["家庭编号", "户号"])
            .value_required(),
        // One per household: a member row may leave it to the head's row
        // (kept, with a warning; the household takes the first category its
        // rows give). A category that is there but unknown rejects its row.
        FieldDef::new("category", "救助类别", Category(CATEGORY))
            .aliases(&["保障类别", "救助类型"])
            .value_checked()
            .value_expected(),
        FieldDef::new("township", "乡镇（街道）", Text).aliases(&["街道", "乡镇街道"]),
        FieldDef::new("village", "村（社区）", Text)
            .aliases(&["社区", "村社区"])
            .optional(),
        FieldDef::new("head_name", "户主姓名", Name),
        FieldDef::new("head_id", "户主身份证号", Id).aliases(HEAD_ID_ALIASES),
        FieldDef::new("name", "成员姓名", Name).aliases(&["姓名", "家庭成员姓名"]),
        FieldDef::new("id_number", "成员身份证号", Id).aliases(MEMBER_ID_ALIASES),
        FieldDef::new("relation", "与户主关系", Category(RELATION)).aliases(&["关系"]),
        FieldDef::new("household_size", "保障人数", Integer).aliases(&["家庭保障人数"]),
        FieldDef::new("monthly_benefit", "月保障金（元）", Money)
            .aliases(&["保障金额", "月救助金"]),
        FieldDef::new("start_date", "认定日期", Date).aliases(&["审批日期", "纳入日期"]),
        FieldDef::new("declared_income", "申报家庭月收入（元）", Money)
            .aliases(&["家庭月收入", "申报月收入"]),
        FieldDef::new("disability", "残疾等级", Category(DISABILITY)).optional(),
    ],
    key: &["household_id", "id_number"],
    key_fallback: &[],
};
