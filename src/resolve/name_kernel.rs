//! TEMPORARY fallback for `crate::normalize::name` (branch wip-normalize),
//! with the same API, so that resolution compiles and tests before that branch
//! lands. Delete this file after merging wip-normalize and point the imports at
//! `crate::normalize::name`.

use pinyin::ToPinyin;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NameAgreement {
    Same,
    Variant,
    Homophone,
    Disagree,
}

impl NameAgreement {
    pub fn agrees(self) -> bool {
        self != NameAgreement::Disagree
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NameAgreement::Same => "same",
            NameAgreement::Variant => "variant",
            NameAgreement::Homophone => "homophone",
            NameAgreement::Disagree => "disagree",
        }
    }
}

fn strip(raw: &str) -> String {
    let base = raw
        .split(['（', '('])
        .next()
        .unwrap_or_default()
        .to_string();
    base.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '•' | '・' | '.' | '\u{3000}'))
        .collect()
}

fn pinyin_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            c.to_pinyin()
                .map(|p| p.plain().to_string())
                .unwrap_or_else(|| c.to_string())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn name_agreement(a_raw: &str, b_raw: &str) -> NameAgreement {
    if a_raw.trim() == b_raw.trim() {
        return NameAgreement::Same;
    }
    let (a, b) = (strip(a_raw), strip(b_raw));
    if a.is_empty() || b.is_empty() {
        return NameAgreement::Disagree;
    }
    if a == b {
        return NameAgreement::Variant;
    }
    if a.chars().count() == b.chars().count() && pinyin_key(&a) == pinyin_key(&b) {
        return NameAgreement::Homophone;
    }
    NameAgreement::Disagree
}
