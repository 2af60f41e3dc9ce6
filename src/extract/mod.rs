//! Extract definitions: for each of the nine extract types of
//! spec/extracts.md, its Chinese headers (with the aliases a site may use),
//! its canonical fields and their types, which columns must be present and
//! which values must parse, and its record key. Adding an extract type is one
//! file here plus one line in [`EXTRACTS`].

mod contribution;
mod education;
mod header;
mod housing_safety;
mod medical_enrollment;
mod medical_settlement;
mod pension;
mod property;
mod roster;
pub mod table;
mod unemployment;

pub use header::{
    HeaderMap, HeaderMatcher, HeaderProblem, header_for_message, header_key, looks_pasted,
    noted_header_key,
};

/// How a field's text is turned into a typed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Free text, trimmed.
    Text,
    /// An identifier such as a 不动产单元号 or a 结算编号 (Arrow Utf8):
    /// width-folded, blanks removed, letters upper-cased, so that one code
    /// written two ways (`ab-12 `, `ＡＢ-12`) is one code.
    Code,
    /// A resident ID number (GB 11643): normalised, with raw value and status.
    Id,
    /// A person's name: normalised, with raw value, alias and pinyin key.
    Name,
    /// A calendar date (Arrow Date32).
    Date,
    /// An amount of money in integer fen (Arrow Int64).
    Money,
    /// A decimal measure such as floor area (Arrow Float64; never compared exactly).
    Decimal,
    /// A household's size, 1 to 99 persons (Arrow Int64; see
    /// `normalize::money::parse_household_size`).
    Integer,
    /// A month, `YYYYMM` (Arrow Int32).
    Period,
    /// A school year, canonical `YYYY-YYYY` (Arrow Utf8).
    SchoolYear,
    /// One of a closed set of values; each canonical value with the spellings
    /// that mean it.
    Category(&'static [(&'static str, &'static [&'static str])]),
}

impl FieldType {
    /// Whether the field's values are text (Arrow Utf8).
    pub fn is_text(self) -> bool {
        match self {
            FieldType::Text
            | FieldType::Code
            | FieldType::Id
            | FieldType::Name
            | FieldType::SchoolYear
            | FieldType::Category(_) => true,
            FieldType::Date
            | FieldType::Money
            | FieldType::Decimal
            | FieldType::Integer
            | FieldType::Period => false,
        }
    }
}

/// One column of an extract.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// Canonical field name (English, snake_case): the Arrow column name.
    pub field: &'static str,
    /// The header in the data-exchange template.
    pub header: &'static str,
    /// Other headers sites use for the same column.
    pub aliases: &'static [&'static str],
    pub ty: FieldType,
    /// The column must be present in the file (else the file is unusable).
    pub column_required: bool,
    /// The value must be present and parse (else the row is rejected).
    /// ID numbers are never value-required: a bad ID keeps its row.
    pub value_required: bool,
    /// A value that is there must parse (else the row is rejected); an
    /// empty one is null. For the values a rule would otherwise judge on a
    /// guess: an unreadable amount taken as none, a death on no date.
    pub value_checked: bool,
    /// An empty value is null, its row kept, and counted in the manifest's
    /// warnings (`missing_value`): for a value that belongs to a group of
    /// rows and may be written on one of them alone (the roster's 救助类别,
    /// one per household).
    pub value_expected: bool,
    /// A category cell may list several values (`孤儿、残疾`): the first of
    /// them in the category's order is the value.
    pub listed: bool,
    /// The values are kept in the extract's table. A column no rule or
    /// output reads (a settlement's hospital and diagnosis) is still
    /// mapped, parsed and compared (a row that differs from another only
    /// there is not the same row), but its values are not held: at a
    /// county, a settlement's hospital and diagnosis came to a fifth of its
    /// table.
    pub kept: bool,
    /// An amount written as a dash is unknown (null), not the 0 Excel's
    /// accounting format shows so: for a value that is never 0 (a
    /// contribution base), where a dash stands for a value left out.
    pub dash_unknown: bool,
}

impl FieldDef {
    pub const fn new(field: &'static str, header: &'static str, ty: FieldType) -> FieldDef {
        FieldDef {
            field,
            header,
            aliases: &[],
            ty,
            column_required: true,
            value_required: false,
            value_checked: false,
            value_expected: false,
            listed: false,
            kept: true,
            dash_unknown: false,
        }
    }
    /// An amount written as a dash is null, not 0.
    pub const fn dash_unknown(mut self) -> FieldDef {
        self.dash_unknown = true;
        self
    }
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> FieldDef {
        self.aliases = aliases;
        self
    }
    /// The column may be absent; its values are then null.
    pub const fn optional(mut self) -> FieldDef {
        self.column_required = false;
        self
    }
    /// A row whose value is empty or does not parse is rejected.
    pub const fn value_required(mut self) -> FieldDef {
        self.value_required = true;
        self
    }
    /// A row whose value is there but does not parse is rejected; an empty
    /// value is null.
    pub const fn value_checked(mut self) -> FieldDef {
        self.value_checked = true;
        self
    }
    /// An empty value is null and counted as a warning; the row is kept.
    pub const fn value_expected(mut self) -> FieldDef {
        self.value_expected = true;
        self
    }
    /// A category cell may list several values; the first of them in the
    /// category's order (most in need first) is kept.
    pub const fn listed(mut self) -> FieldDef {
        self.listed = true;
        self
    }
    /// The values are read but not kept in the table (see
    /// [`FieldDef::kept`]).
    pub const fn not_kept(mut self) -> FieldDef {
        self.kept = false;
        self
    }
}

/// The most characters that may stand between two parts of a title word
/// ([`ExtractDef::title_words`]): a bureau's or a fund's name
/// (`医保局参保`, `医疗保险基金结算`, `失业人员登记`), not a phrase.
const TITLE_GAP: usize = 2;

/// Characters that, between two parts of a title word, say the file is
/// about what the title is not (`危房未改造`, `医保未参保`, `停保`, `已退出`).
const TITLE_GAP_NOT: &[char] = &[
    '未', '不', '非', '无', '停', '已', '退', '拒', '缓', '撤', '减', '漏',
];

/// One extract type.
#[derive(Debug)]
pub struct ExtractDef {
    /// Canonical name, also the file-name prefix: `medical_settlement`.
    pub name: &'static str,
    /// Chinese label for people: `医保结算明细`.
    pub label: &'static str,
    /// The words of the type's Chinese title (spec/extracts.md) that name
    /// it in a file's name as its canonical name does (`医保结算明细.csv`,
    /// `2025年11月危房改造台账.xlsx`): no word that another kind of file
    /// would carry (`名册`, `发放`), since a header alone is no proof. A
    /// `…` in a word stands for a few characters between its parts, in
    /// order (`医保…参保` names `县医保局参保登记表.csv`): see
    /// [`ExtractDef::titled_by`].
    pub title_words: &'static [&'static str],
    pub fields: &'static [FieldDef],
    /// Field names forming the record key (spec/extracts.md).
    pub key: &'static [&'static str],
    /// Fields that replace a missing `id_number` in the key (education:
    /// name + birth date).
    pub key_fallback: &'static [&'static str],
}

impl ExtractDef {
    /// Whether `text` (a file's name in simplified characters) holds a
    /// word of the type's title ([`ExtractDef::title_words`]): each of its
    /// parts, in order, with at most [`TITLE_GAP`] characters between two,
    /// none of them one that turns the title round ([`TITLE_GAP_NOT`]:
    /// `危房未改造户名单` is the bureau's list; helper-145).
    pub fn titled_by(&self, text: &str) -> bool {
        self.title_match(text, Some(TITLE_GAP))
    }

    /// Whether `text` holds a title word's parts in order, anything
    /// between them: a name like the type's, for the hint of a missing
    /// extract's error (`2025年11月医保住院费用结算明细.csv`; helper-146),
    /// no reason to read the file.
    pub fn titled_loosely(&self, text: &str) -> bool {
        self.title_match(text, None)
    }

    /// [`ExtractDef::titled_by`] with at most `gap` characters between
    /// two parts, or [`ExtractDef::titled_loosely`] with none (any gap,
    /// any characters in it).
    fn title_match(&self, text: &str, gap: Option<usize>) -> bool {
        self.title_words.iter().any(|word| {
            let mut parts = word.split('…');
            let first = parts.next().unwrap_or_default();
            text.match_indices(first).any(|(at, _)| {
                let mut rest = &text[at + first.len()..];
                parts.clone().all(|part| {
                    // The part's place, at most `gap` characters on.
                    let found = rest
                        .char_indices()
                        .take(gap.map_or(usize::MAX, |g| g + 1))
                        .map(|(i, _)| i)
                        .find(|&i| rest[i..].starts_with(part));
                    match found {
                        Some(i) if gap.is_none() || !rest[..i].contains(TITLE_GAP_NOT) => {
                            rest = &rest[i + part.len()..];
                            true
                        }
                        _ => false,
                    }
                })
            })
        })
    }
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.field == name)
    }
    pub fn is_roster(&self) -> bool {
        self.name == roster::DEF.name
    }
}

/// Every extract type, in the order of spec/extracts.md.
pub static EXTRACTS: &[&ExtractDef] = &[
    &roster::DEF,
    &education::DEF,
    &medical_enrollment::DEF,
    &medical_settlement::DEF,
    &property::DEF,
    &housing_safety::DEF,
    &contribution::DEF,
    &unemployment::DEF,
    &pension::DEF,
];

/// The extract type by its canonical name.
pub fn by_name(name: &str) -> Option<&'static ExtractDef> {
    EXTRACTS.iter().copied().find(|d| d.name == name)
}

/// The extract type a file name announces by its prefix (`roster_2025.xlsx`,
/// `medical_settlement.csv`); the longest matching name wins.
pub fn by_file_name(file_name: &str) -> Option<&'static ExtractDef> {
    let lower = file_name.to_ascii_lowercase();
    EXTRACTS
        .iter()
        .copied()
        .filter(|d| {
            lower
                .strip_prefix(d.name)
                .is_some_and(|rest| rest.starts_with(['_', '.', '-']))
        })
        .max_by_key(|d| d.name.len())
}

/// Spellings shared by several extracts.
pub(crate) const ID_ALIASES: &[&str] = &[
    "身份证号码",
    "公民身份号码",
    "身份证件号码",
    "证件号码",
    "证件号",
    "身份证",
];
pub(crate) const NAME_ALIASES: &[&str] = &["名字", "参保人姓名", "人员姓名"];
/// [`ID_ALIASES`] of a guardian's number (education).
pub(crate) const GUARDIAN_ID_ALIASES: &[&str] = &[
    "监护人身份证号码",
    "监护人公民身份号码",
    "监护人身份证件号码",
    "监护人证件号码",
    "监护人证件号",
    "监护人身份证",
];
/// [`ID_ALIASES`] of a household head's number (the roster's head).
pub(crate) const HEAD_ID_ALIASES: &[&str] = &[
    "户主身份证号码",
    "户主公民身份号码",
    "户主身份证件号码",
    "户主证件号码",
    "户主证件号",
    "户主身份证",
];
/// The ID column of a file whose rows are heads of household (housing
/// safety): [`HEAD_ID_ALIASES`] or a plain ID column.
pub(crate) const HEAD_ROW_ID_ALIASES: &[&str] = &[
    "户主身份证号码",
    "户主公民身份号码",
    "户主身份证件号码",
    "户主证件号码",
    "户主证件号",
    "户主身份证",
    "身份证号",
    "身份证号码",
    "公民身份号码",
    "身份证件号码",
    "证件号码",
    "证件号",
    "身份证",
];
/// The student's ID column (education): `学生` with [`ID_ALIASES`], or a
/// plain ID column.
pub(crate) const STUDENT_ID_ALIASES: &[&str] = &[
    "学生身份证号码",
    "学生公民身份号码",
    "学生身份证件号码",
    "学生证件号码",
    "学生证件号",
    "学生身份证",
    "身份证号",
    "身份证号码",
    "公民身份号码",
    "身份证件号码",
    "证件号码",
    "证件号",
    "身份证",
];
/// A roster member's ID column: `成员` with [`ID_ALIASES`], or the plain
/// spellings a roster's member column is known by (not `证件号码` and the
/// like, which a site may map to another column of its roster).
pub(crate) const MEMBER_ID_ALIASES: &[&str] = &[
    "成员身份证号码",
    "成员公民身份号码",
    "成员身份证件号码",
    "成员证件号码",
    "成员证件号",
    "成员身份证",
    "身份证号",
    "身份证号码",
    "公民身份号码",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A title's words are found with other words between them (a
    /// bureau's name, a year), in order only, and each type's alone where
    /// its title is.
    #[test]
    fn a_title_word_may_have_words_between_its_parts() {
        let titled = |text: &str| -> Vec<&str> {
            EXTRACTS
                .iter()
                .filter(|d| d.titled_by(text))
                .map(|d| d.name)
                .collect()
        };
        for (text, want) in [
            ("县医保局参保登记表", "medical_enrollment"),
            ("医保参保", "medical_enrollment"),
            ("2025年医疗保险基金结算明细", "medical_settlement"),
            ("失业人员登记台账", "unemployment"),
            ("住房安全性鉴定", "housing_safety"),
            ("危房改造户名单", "housing_safety"),
            ("学生资助与学籍", "education"),
            ("城关镇救助对象花名册", "roster"),
            ("社保中心缴费明细", "contribution"),
            ("不动产权属登记", "property"),
            ("养老金待遇发放", "pension"),
        ] {
            assert_eq!(titled(text), [want], "{text}");
        }
        for text in [
            "参保医保",
            "结算医保",
            "登记失业",
            "名册救助对象",
            "医保",
            "低保名册",
            // The bureau's own lists (helper-145).
            "救助对象停保人员名册",
            "领取养老金人员特困供养金发放表",
            "低保户危房未改造户名单",
            "医保未参保人员",
            // A phrase between the parts.
            "医保报销与城乡居民参保",
        ] {
            assert!(titled(text).is_empty(), "{text}");
        }
        // Loosely, for a hint: any gap (helper-146).
        let settlement = by_name("medical_settlement").unwrap();
        assert!(settlement.titled_loosely("2025年11月医保住院费用结算明细"));
        assert!(!settlement.titled_by("2025年11月医保住院费用结算明细"));
        assert!(!settlement.titled_loosely("结算医保"));
    }

    /// An ID column named for whose number it is (`监护人身份证号`,
    /// `户主身份证号`, `成员身份证号`, `权利人证件号`) is recognised under every spelling
    /// of an ID number that a plain ID column is, with that prefix.
    #[test]
    fn an_id_column_named_for_its_holder_takes_every_id_spelling() {
        let keys = |f: &FieldDef| -> Vec<String> {
            std::iter::once(f.header)
                .chain(f.aliases.iter().copied())
                .map(header::header_key)
                .collect()
        };
        let mut checked = 0;
        for def in EXTRACTS {
            for f in def.fields.iter().filter(|f| matches!(f.ty, FieldType::Id)) {
                let Some(holder) = f
                    .header
                    .strip_suffix("身份证号")
                    .or_else(|| f.header.strip_suffix("证件号"))
                else {
                    continue;
                };
                if holder.is_empty() {
                    continue;
                }
                let known = keys(f);
                for spelling in ID_ALIASES {
                    let header = header::header_key(&format!("{holder}{spelling}"));
                    assert!(
                        known.contains(&header),
                        "{}.{}: {header}",
                        def.name,
                        f.field
                    );
                }
                checked += 1;
            }
        }
        assert_eq!(
            checked, 6,
            "roster head and member, housing head, student, guardian, property holder"
        );
    }

    #[test]
    fn file_name_prefix_picks_the_extract() {
        assert_eq!(by_file_name("roster_202511.xlsx").unwrap().name, "roster");
        assert_eq!(
            by_file_name("medical_settlement_202511.csv").unwrap().name,
            "medical_settlement"
        );
        assert_eq!(
            by_file_name("MEDICAL_ENROLLMENT.tsv").unwrap().name,
            "medical_enrollment"
        );
        assert!(by_file_name("rosters.csv").is_none());
        assert!(by_file_name("notes.txt").is_none());
    }

    #[test]
    fn every_extract_has_unique_field_names_and_header_keys() {
        for def in EXTRACTS {
            let mut fields = std::collections::BTreeSet::new();
            let mut keys = std::collections::BTreeSet::new();
            for f in def.fields {
                assert!(fields.insert(f.field), "{}: field {}", def.name, f.field);
                assert!(
                    keys.insert(header_key(f.header)),
                    "{}: {}",
                    def.name,
                    f.header
                );
                for a in f.aliases {
                    assert!(keys.insert(header_key(a)), "{}: alias {a}", def.name);
                }
            }
            for k in def.key.iter().chain(def.key_fallback) {
                assert!(def.field(k).is_some(), "{}: key {k}", def.name);
            }
            assert!(def.field("id_number").is_some() && def.field("name").is_some());
        }
    }
}
