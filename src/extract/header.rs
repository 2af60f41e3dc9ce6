//! Header recognition: which column of a file holds which canonical field.
//! Headers match the template up to whitespace, full-/half-width forms and a
//! missing unit suffix (`缴费基数` for `缴费基数（元）`); built-in and
//! configured aliases match the same way.

use std::collections::{BTreeMap, HashMap};

use unicode_normalization::UnicodeNormalization;

use super::{ExtractDef, FieldType};
use crate::normalize::text::is_blank;

/// The comparison key of a header: NFKC (full-width brackets become ASCII),
/// no blanks, no required-marker `*` before or after the name, no trailing
/// bracketed unit, mark or note (`(元)`, `(必填)`, `(大写)`).
pub fn header_key(header: &str) -> String {
    HeaderKeys::of(header).base
}

/// The key of a header whose name ends in a note that says something of
/// the column (`身份证号(户主)`, `乡镇(街道)`), which a cell matches as
/// written before any cell whose note must be cut off; `None` for one
/// without.
pub fn noted_header_key(header: &str) -> Option<String> {
    let keys = HeaderKeys::of(header);
    keys.content.then_some(keys.core)
}

/// A header's keys, taken from it in NFKC, without blanks and `*` marks,
/// every kind of bracket written `(…)` (`【元】`, `〔元〕`, `[元]` as
/// `(元)`). `core`: that without the units and marks that close it (`(元)`, `(人民币元)`,
/// `(m2)`, `(必填)`, up to two: `(元)(必填)`), the header as it names its
/// field. `base`: `core` without a note that says something of the column
/// (`(大写)`, `(曾用名)`, `(户主)`, `(街道)`; `content` says whether there
/// was one), the key [`header_key`] gives. `units`: the units and marks
/// cut off, last first.
struct HeaderKeys {
    core: String,
    base: String,
    content: bool,
    units: Vec<String>,
}

impl HeaderKeys {
    fn of(header: &str) -> HeaderKeys {
        let mut key: String = header
            .nfkc()
            .filter(|&c| !is_blank(c))
            .map(|c| match c {
                '[' | '【' | '〔' => '(',
                ']' | '】' | '〕' => ')',
                c => c,
            })
            .collect();
        // A required column marked `*姓名` or `姓名*`.
        while key.ends_with('*') {
            key.pop();
        }
        if key.starts_with('*') {
            key = key.trim_start_matches('*').to_string();
        }
        let mut units = Vec::new();
        while units.len() < 2
            && let Some((stem, note)) = cut_note(&key)
            && is_unit_or_mark(note)
        {
            units.push(note.to_string());
            key.truncate(stem.len());
        }
        let (base, content) = match cut_note(&key) {
            Some((stem, _)) => (stem.to_string(), true),
            None => (key.clone(), false),
        };
        HeaderKeys {
            core: key,
            base,
            content,
            units,
        }
    }
}

/// A key's closing bracketed part: the key before it and what it holds.
fn cut_note(key: &str) -> Option<(&str, &str)> {
    let inner = key.strip_suffix(')')?;
    let open = inner.rfind('(')?;
    (open > 0).then(|| (&key[..open], &inner[open + 1..]))
}

/// The unit a bracketed note names first (`元` of `单位:元`, of
/// `元,按户发放`, of `元/月`).
fn unit_of(note: &str) -> &str {
    let note = note.strip_prefix("单位:").unwrap_or(note);
    note.split([',', '、', ';', '/', ':'])
        .next()
        .unwrap_or_default()
}

/// Whether a bracketed note is a unit (`元`, `人民币元`, `万元`, `m2`,
/// `平方米`) or a mark (`必填`), not something said of the column.
fn is_unit_or_mark(note: &str) -> bool {
    let unit = unit_of(note);
    unit.ends_with('元')
        || matches!(unit, "m2" | "平方米" | "角" | "分")
        || matches!(
            note,
            "必填" | "选填" | "必录" | "选录" | "可选" | "非必填" | "可空"
        )
}

/// Where each field of an extract stands in one file's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMap {
    /// For each field of the extract (same order as `ExtractDef::fields`),
    /// the index of its column, if present.
    pub columns: Vec<Option<usize>>,
    /// Header cells that matched no field (listed by `validate`, ignored).
    pub unknown: Vec<String>,
    /// The number of columns of the header row: past it a row holds
    /// nothing (a value there means the row is broken).
    pub width: usize,
    /// The columns up to the header's last named one, which every row must
    /// have: empty cells after it (columns Excel formatted and left empty)
    /// are no columns, and a row need not reach them.
    pub named_width: usize,
    /// The columns whose header cell is empty, between named ones and
    /// after them: not read; one that holds values is listed with the
    /// unknown columns.
    pub unnamed: Vec<usize>,
    /// The rows come from a workbook in Excel's 1904 date system: a date
    /// or month written as a bare serial counts from 1904-01-01.
    pub dates_1904: bool,
}

/// Why a header cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderProblem {
    /// A required column is absent.
    Missing {
        field: &'static str,
        header: &'static str,
    },
    /// Two columns of the file map onto the same field: each column's
    /// place (from 0) and its header as a message may show it.
    MappedTwice {
        field: &'static str,
        headers: Vec<(usize, String)>,
    },
    /// A money column whose header names another unit than 元 (`缴费基数
    /// （万元）`): its amounts would be read as 元, off by that factor.
    OtherUnit { field: &'static str, header: String },
}

/// Whether a money column's header names a unit other than 元 in its
/// closing brackets: 万元, 千元, 角, 分 (`（元）`, `（人民币元）`,
/// `（单位：元）` are 元; so is a bracket without a unit, `（必填）`).
fn names_another_money_unit(header: &str) -> bool {
    // The unit may stand before a mark (`缴费基数（万元）（必填）`), and a
    // note may follow it (`（元，千分位）` is 元).
    HeaderKeys::of(header).units.iter().any(|note| {
        let unit = unit_of(note);
        unit.contains(['万', '千', '百', '角']) || unit == "分"
    })
}

/// A header cell as a message or the manifest may show it: a cell that is
/// no header of any extract but a value pasted over one (an ID number, a
/// name) is masked, since messages never carry IDs or names in full.
/// `pasted` says the row holds values no header holds (an ID number, a
/// date, a number: see [`looks_pasted`]): a data row pasted over the header,
/// whose every other cell of Han text is masked as a name. Else an ID
/// number however written is masked as one, runs of 15 digits or more
/// too, and a cell is masked as a name only when it looks like one: two to
/// four Han characters beginning with a common surname and holding none of
/// the characters header words are made of (`实发金额`, `经办人`, `成员证件`
/// stay as they are, so that the message still names the column), or a
/// minority name's parts with their separator.
pub fn header_for_message(cell: &str, pasted: bool) -> String {
    use crate::normalize::text::{is_common_han, is_name_han};
    use crate::report::mask;
    let cell = cell.trim();
    let key = header_key(cell);
    if known_header_keys().contains(key.as_str()) {
        // A note may hold a name (`姓名（张伟）`): shown as a cell would be.
        let keys = HeaderKeys::of(cell);
        if let Some((stem, note)) = cut_note(&keys.core).filter(|_| keys.content) {
            let shown = header_for_message(note, pasted);
            if shown != note {
                return format!("{stem}（{shown}）");
            }
        }
        return cell.to_string();
    }
    if is_id_like(cell) {
        return mask::mask_raw_id(cell);
    }
    let separator = |c: char| matches!(c, '·' | '•' | '・' | '.');
    let han = cell.chars().any(is_name_han);
    // Judged as a name is written in a roster: simplified, without blanks
    // or a former name (張　偉, 王芳（曾用名王方）).
    let normalized = crate::normalize::name::normalize_name(cell);
    let name = if normalized.name.is_empty() {
        cell
    } else {
        normalized.name.as_str()
    };
    let name_like = {
        let n = name.chars().count();
        let all_han = name.chars().all(|c| is_name_han(c) || separator(c));
        let minority = name.contains(separator) && n <= 12;
        let surname = common_surnames().iter().any(|s| name.starts_with(s));
        let header_word = name.chars().any(|c| HEADER_WORD_CHARS.contains(c));
        // Names hold rare characters (䶮, 𠈌) and 〇, header words seldom:
        // not a number or date in Chinese numerals (二〇二四年, 〇至三岁).
        let rare = name.chars().any(|c| !is_common_han(c));
        let numeral = name
            .chars()
            .all(|c| "〇零一二三四五六七八九十百千年月日岁至".contains(c));
        all_han
            && (minority
                || ((1..=6).contains(&n) && rare && !header_word && !numeral)
                || ((2..=4).contains(&n) && surname && !header_word))
    };
    if name_like || (pasted && han) {
        // Blanks inside count for nothing: `李 娜` is masked as `李娜` is.
        let unspaced: String = cell.chars().filter(|c| !c.is_whitespace()).collect();
        mask::mask_name(&unspaced)
    } else {
        mask::mask_digits(cell)
    }
}

/// Whether a header row holds values no header holds: an ID number, a
/// date, a number (a data row pasted over the header).
pub fn looks_pasted(cells: &[impl AsRef<str>]) -> bool {
    cells.iter().any(|c| {
        let c = c.as_ref().trim();
        !c.is_empty()
            && !known_header_keys().contains(header_key(c).as_str())
            && (is_id_like(c)
                || matches!(crate::normalize::date::parse_date(c), Ok(Some(_)))
                || (matches!(crate::normalize::money::parse_money(c), Ok(Some(_)))
                    && !crate::normalize::money::is_dash_zero(c)))
    })
}

/// Whether a cell is an ID number however written (spaced, full-width, in
/// scientific notation, with a wrong check character).
fn is_id_like(cell: &str) -> bool {
    use crate::normalize::id::{IdStatus, normalize_id};
    matches!(
        normalize_id(cell).status,
        IdStatus::Valid | IdStatus::Upgraded15 | IdStatus::BadCheck | IdStatus::SciNotation
    )
}

/// Characters that make up header words (金额, 日期, 号码, 状态, 经办人 …)
/// and are rare in given names.
const HEADER_WORD_CHARS: &str = "额期号码称类型状态费址注员证件卡因构办记录序编准间项籍别龄险务式量率例值计总收支付度区县镇乡村街院校份备否单部门位用数级日人";

/// The 300 most frequent surnames (data/gen_surnames.csv) and every
/// compound one (data/compound_surnames.txt; see data/SOURCES.md).
fn common_surnames() -> &'static [&'static str] {
    static SURNAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    SURNAMES.get_or_init(|| {
        let frequent = include_str!("../../data/gen_surnames.csv")
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next());
        let compound = include_str!("../../data/compound_surnames.txt")
            .lines()
            .filter(|l| !l.starts_with('#'));
        frequent
            .chain(compound)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    })
}

/// The header keys of every extract's fields and aliases and of a contact
/// list's columns.
fn known_header_keys() -> &'static std::collections::HashSet<String> {
    static KEYS: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let fields = crate::extract::EXTRACTS
            .iter()
            .flat_map(|d| d.fields.iter());
        fields
            .flat_map(|f| std::iter::once(f.header).chain(f.aliases.iter().copied()))
            .chain(CONTACT_HEADERS.iter().copied())
            .map(header_key)
            .collect()
    })
}

/// The headers of a contact list's other columns (see
/// [`HeaderMatcher::names_only_persons`]), as [`header_key`] gives them.
const CONTACT_HEADERS: &[&str] = &[
    "序号",
    "联系电话",
    "电话",
    "电话号码",
    "手机",
    "手机号",
    "手机号码",
    "联系方式",
    "地址",
    "住址",
    "家庭住址",
    "现住址",
    "户籍地址",
    "备注",
    "性别",
    "民族",
    "关系",
    "与户主关系",
    "联系人",
];

/// Recognises and maps the header rows of one extract type, with the
/// aliases a site's config adds. Built once per extract, asked per row.
#[derive(Debug, Clone)]
pub struct HeaderMatcher {
    def: &'static ExtractDef,
    /// Each header's and alias's key without its bracketed unit or note
    /// ([`header_key`]), and its field.
    table: HashMap<String, usize, foldhash::fast::FixedState>,
    /// The headers and aliases whose name ends in a note that says
    /// something of the column, by their key with it (`乡镇(街道)`, a
    /// site's `身份证号(户主)`): a cell that matches one of these names its
    /// field as written, where a cell whose own note had to be cut off to
    /// match (`月保障金（大写）`) does not (see [`Self::map_header`]).
    exact: HashMap<String, usize, foldhash::fast::FixedState>,
    /// The longest cell that could be a header without a bracketed note
    /// (a note may be as long as it likes: `（元，各成员行重复填写）`).
    longest: usize,
    required: usize,
    /// Whether any header or alias holds a digit (a configured alias may).
    digit_keys: bool,
    /// The first character of every header and alias key.
    first_chars: crate::normalize::text::CharSet,
}

impl HeaderMatcher {
    pub fn new(def: &'static ExtractDef, extra: &BTreeMap<String, Vec<String>>) -> HeaderMatcher {
        let mut table = HashMap::with_hasher(foldhash::fast::FixedState::default());
        let mut exact = HashMap::with_hasher(foldhash::fast::FixedState::default());
        for (i, f) in def.fields.iter().enumerate() {
            for header in std::iter::once(&f.header).chain(f.aliases) {
                let keys = HeaderKeys::of(header);
                if keys.content {
                    exact.insert(keys.core, i);
                }
                table.insert(keys.base, i);
            }
        }
        // A site's aliases after every built-in header: one with a note
        // whose key without it is another field's header (`身份证号（户主）`
        // for head_id) matches only with its note.
        for (i, f) in def.fields.iter().enumerate() {
            for alias in extra.get(f.field).into_iter().flatten() {
                let keys = HeaderKeys::of(alias);
                if keys.content {
                    exact.insert(keys.core, i);
                    table.entry(keys.base).or_insert(i);
                } else {
                    table.insert(keys.base, i);
                }
            }
        }
        let required = def.fields.iter().filter(|f| f.column_required).count();
        // looks_like_header keeps the fields found in a u128.
        assert!(
            def.fields.len() <= u128::BITS as usize,
            "extract {} has more fields than a header check can hold",
            def.name
        );
        let keys = || table.keys().chain(exact.keys());
        let digit_keys = keys().any(|k| k.bytes().any(|b| b.is_ascii_digit()));
        let first_chars = keys().filter_map(|k| k.chars().next()).collect();
        // Room for blanks and marks around and inside the longest key.
        let longest = keys().map(|k| 2 * k.len()).max().unwrap_or(0).max(64);
        HeaderMatcher {
            def,
            table,
            exact,
            longest,
            required,
            digit_keys,
            first_chars,
        }
    }

    pub fn def(&self) -> &'static ExtractDef {
        self.def
    }

    fn field_of(&self, cell: &str) -> Option<usize> {
        self.matched(cell).map(|(field, _)| field)
    }

    /// The field a header cell names, and whether it names it only once
    /// its own bracketed note is cut off (`月保障金（大写）`, `姓名（曾用名）`).
    fn matched(&self, cell: &str) -> Option<(usize, bool)> {
        // A common Han character or an ASCII digit is its own NFKC form and
        // composes with nothing after it, so a cell that starts with one
        // starts its key with it: a name, a hospital, an ID number or an
        // amount that starts with a character no key starts with cannot
        // match. Most cells of a data row stop here, untrimmed.
        // So does an ASCII letter followed by ASCII or by nothing (no
        // combining mark that could compose with it): a settlement number,
        // a code.
        let mut chars = cell.chars();
        if let Some(first) = chars.next()
            && (first.is_ascii_digit()
                || crate::normalize::text::is_common_han(first)
                || first.is_ascii_alphabetic() && chars.next().is_none_or(|c| c.is_ascii()))
            && !self.first_chars.contains(first)
        {
            return None;
        }
        // Most other cells match (or miss) as written; only the rest pay for NFKC.
        let trimmed = cell.trim();
        let closes_bracket = trimmed
            .trim_end_matches(|c| matches!(c, '*' | '＊') || is_blank(c))
            .ends_with([')', '）', ']', '】', '〕']);
        if trimmed.is_empty() || (trimmed.len() > self.longest && !closes_bracket) {
            return None;
        }
        // An ID, a date, an amount: no header holds a bare digit (one in a
        // bracketed unit is cut off by `header_key`), so such a cell can
        // match only as written. Most data cells stop here, which keeps the
        // repeated-header check on every row cheap.
        let bare_digits =
            trimmed.bytes().any(|b| b.is_ascii_digit()) && !trimmed.contains(['(', '（']);
        if bare_digits && !self.digit_keys {
            return None;
        }
        // As written, when no bracket closes it (a cell that ends in a
        // unit or a note is matched by its keys).
        if !closes_bracket && let Some(&i) = self.table.get(trimmed) {
            return Some((i, false));
        }
        if bare_digits {
            return None;
        }
        // Only a cell that normalisation would change can still match:
        // names already in NFKC stop here.
        let changes = trimmed
            .chars()
            .any(|c| is_blank(c) || matches!(c, '(' | ')' | '（' | '）' | '*' | ']' | '】' | '〕'))
            || !crate::normalize::text::is_nfkc(trimmed);
        if !changes {
            return None;
        }
        let keys = HeaderKeys::of(trimmed);
        if keys.content
            && let Some(&i) = self.exact.get(&keys.core)
        {
            return Some((i, false));
        }
        let &i = self.table.get(&keys.base)?;
        Some((i, keys.content))
    }

    /// Whether every cell that holds anything names one of this extract's
    /// fields, or is a row number, a remark or what a list of persons
    /// keeps beside them ([`CONTACT_HEADERS`]: 序号, 备注, 性别, 联系电话,
    /// 地址 …; 文化程度, 学历, 年龄): a header of this extract and of no
    /// other.
    pub fn names_every_column(&self, cells: &[impl AsRef<str>]) -> bool {
        const ABOUT_PERSONS: [&str; 3] = ["文化程度", "学历", "年龄"];
        cells.iter().all(|cell| {
            let key = header_key(cell.as_ref());
            key.is_empty()
                || CONTACT_HEADERS.contains(&key.as_str())
                || ABOUT_PERSONS.contains(&key.as_str())
                || self.field_of(cell.as_ref()).is_some()
        })
    }

    /// How many of this extract's fields the cells name (each once).
    pub fn fields_named(&self, cells: &[impl AsRef<str>]) -> usize {
        let mut found: u128 = 0;
        for cell in cells {
            if let Some(i) = self.field_of(cell.as_ref()) {
                found |= 1 << i;
            }
        }
        found.count_ones() as usize
    }

    /// A row is taken for the header when at least two of its cells are
    /// headers of this extract and at least half of the required columns
    /// are among them.
    pub fn looks_like_header(&self, cells: &[impl AsRef<str>]) -> bool {
        // Asked of every data row (a header repeated mid-file is skipped):
        // field_of turns most of a data row's cells away before any lookup.
        if cells.len() < 2 {
            return false;
        }
        let mut found: u128 = 0;
        let mut matched = 0;
        for cell in cells {
            if let Some(i) = self.field_of(cell.as_ref())
                && found & (1 << i) == 0
            {
                found |= 1 << i;
                matched += 1;
            }
        }
        let required_found = self
            .def
            .fields
            .iter()
            .enumerate()
            .filter(|(i, f)| f.column_required && found & (1 << i) != 0)
            .count();
        matched >= 2 && required_found * 2 >= self.required
    }

    /// Whether a header row is a contact list's beside the data sheet of a
    /// workbook (姓名, 身份证号, 联系电话), not this extract's: every column
    /// this extract knows is a person's ID number or name, and every other
    /// one is a contact detail ([`CONTACT_HEADERS`]). A sheet whose other
    /// columns are renamed data columns (月份, 金额) is not one.
    pub fn names_only_persons(&self, cells: &[impl AsRef<str>]) -> bool {
        cells.iter().all(|c| {
            let c = c.as_ref();
            match self.field_of(c) {
                Some(i) => matches!(self.def.fields[i].ty, FieldType::Id | FieldType::Name),
                None => {
                    let key = header_key(c.trim());
                    key.is_empty() || CONTACT_HEADERS.contains(&key.as_str())
                }
            }
        })
    }

    /// Maps a header row onto the extract's fields.
    pub fn map_header(&self, cells: &[impl AsRef<str>]) -> Result<HeaderMap, Vec<HeaderProblem>> {
        let matches: Vec<_> = cells.iter().map(|c| self.matched(c.as_ref())).collect();
        // A column that names a field only with its note cut off gives way
        // to one that names it as written: `月保障金（大写）` beside
        // `月保障金（元）`, `姓名（曾用名）` beside `姓名` are other columns.
        let mut named_as_written = vec![false; self.def.fields.len()];
        for &(i, cut) in matches.iter().flatten() {
            named_as_written[i] |= !cut;
        }
        let mut hits: Vec<Vec<usize>> = vec![Vec::new(); self.def.fields.len()];
        let mut unknown = Vec::new();
        let pasted = looks_pasted(cells);
        let mut unnamed = Vec::new();
        for (col, (cell, matched)) in cells.iter().zip(matches).enumerate() {
            let cell = cell.as_ref();
            match matched {
                Some((i, cut)) if !(cut && named_as_written[i]) => hits[i].push(col),
                None if cell.chars().all(is_blank) => unnamed.push(col),
                _ => unknown.push(header_for_message(cell, pasted)),
            }
        }
        let mut problems = Vec::new();
        for (f, cols) in self.def.fields.iter().zip(&hits) {
            for &col in cols {
                let cell = cells[col].as_ref();
                if f.ty == FieldType::Money && names_another_money_unit(cell) {
                    problems.push(HeaderProblem::OtherUnit {
                        field: f.field,
                        header: cell.trim().to_string(),
                    });
                }
            }
        }
        let mut columns = Vec::with_capacity(self.def.fields.len());
        for (f, cols) in self.def.fields.iter().zip(&hits) {
            match cols.as_slice() {
                [] if f.column_required => problems.push(HeaderProblem::Missing {
                    field: f.field,
                    header: f.header,
                }),
                [] => columns.push(None),
                [col] => columns.push(Some(*col)),
                many => problems.push(HeaderProblem::MappedTwice {
                    field: f.field,
                    headers: many
                        .iter()
                        .map(|&c| (c, header_for_message(cells[c].as_ref(), pasted)))
                        .collect(),
                }),
            }
        }
        if problems.is_empty() {
            Ok(HeaderMap {
                columns,
                unknown,
                width: cells.len(),
                named_width: crate::read::named_width(cells),
                unnamed,
                dates_1904: false,
            })
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::by_name;
    use crate::report::mask::mask_name;

    fn cells(s: &str) -> Vec<String> {
        s.split(',').map(String::from).collect()
    }

    #[test]
    fn key_ignores_width_spaces_and_unit() {
        assert_eq!(header_key("缴费基数（元）"), "缴费基数");
        assert_eq!(header_key(" 缴费基数 (元) "), "缴费基数");
        assert_eq!(header_key("缴费基数"), "缴费基数");
        assert_eq!(header_key("\u{feff}姓 名*"), "姓名");
        assert_eq!(header_key("*姓名"), "姓名");
        assert_eq!(header_key("＊ 发放金额（元）"), "发放金额");
        assert_eq!(header_key("建筑面积（㎡）"), "建筑面积");
        assert_eq!(header_key("缴费基数[元]"), "缴费基数");
        assert_eq!(header_key("缴费基数【元】"), "缴费基数");
        assert_eq!(header_key("缴费基数〔元〕"), "缴费基数");
        assert_eq!(
            HeaderKeys::of("缴费基数【万元】")
                .units
                .first()
                .map(String::as_str),
            Some("万元")
        );
    }

    #[test]
    fn a_money_header_in_another_unit_is_a_problem() {
        for other in [
            "缴费基数（万元）",
            "缴费基数 (千元)",
            "缴费基数（单位：万元）",
            "缴费基数(角)",
            "缴费基数（分）",
            "缴费基数（万元）（必填）",
        ] {
            assert!(names_another_money_unit(other), "{other}");
        }
        for yuan in [
            "缴费基数（元）",
            "缴费基数(单位:元)",
            "缴费基数（人民币元）",
            "缴费基数",
            "缴费基数（必填）*",
            "缴费基数（元，千分位）",
            "缴费基数（元，精确到角）",
            "缴费基数（元/月）",
        ] {
            assert!(!names_another_money_unit(yuan), "{yuan}");
        }
        let def = by_name("contribution").unwrap();
        let m = HeaderMatcher::new(def, &BTreeMap::new());
        let problems = m
            .map_header(&cells(
                "姓名,身份证号,单位名称,单位类型,费款所属期,缴费基数（万元）",
            ))
            .unwrap_err();
        assert_eq!(
            problems,
            vec![HeaderProblem::OtherUnit {
                field: "wage_base",
                header: "缴费基数（万元）".into()
            }]
        );
        // Not a money column: its brackets are no unit of money.
        let def = by_name("property").unwrap();
        let m = HeaderMatcher::new(def, &BTreeMap::new());
        let header = "权利人姓名,权利人证件号,不动产单元号,坐落,规划用途,建筑面积（平方米）,登记日期,权利状态";
        assert!(m.map_header(&cells(header)).is_ok());
    }

    #[test]
    fn headers_in_messages_mask_pasted_ids_and_names() {
        let shown = |cell| header_for_message(cell, false);
        assert_eq!(shown(" 身份证号 "), "身份证号");
        assert_eq!(shown("联系电话"), "联系电话");
        assert_eq!(shown("单位名称"), "单位名称");
        assert_eq!(shown("341122196101010057"), "341122********0057");
        // An ID number however written; scientific notation shows the
        // region code alone.
        assert_eq!(shown("341122 19610101 0057"), "341122**********0057");
        assert_eq!(
            shown("３４１１２２１９６１０１０１００５７"),
            "３４１１２２********００５７"
        );
        assert_eq!(shown("3.41122196101010E+17"), "3.41122*********E+17");
        assert_eq!(shown("钱二"), "钱*");
        assert_eq!(shown("王小明"), "王*明");
        assert_eq!(shown("买买提·艾力"), "买****力");
        // A name however written: traditional, spaced, with a former name.
        assert_eq!(shown("張偉"), "張*");
        assert_eq!(shown("张　伟"), "张*");
        assert_eq!(shown("张 伟"), "张*");
        assert_eq!(shown("李 娜"), "李*");
        assert_eq!(shown("王芳（曾用名王方）"), "王*******）");
        assert_eq!(shown("李四 曾用名李思"), "李*****思");
        assert_eq!(shown("Remarks"), "Remarks");
        // Rare characters (extension A and B) and 〇 are a name's too.
        assert_eq!(shown("王䶮"), "王*");
        assert_eq!(shown("张𠈌华"), "张*华");
        assert_eq!(shown("陈〇明"), "陈*明");
        assert_eq!(shown("张〇"), "张*");
        assert_eq!(shown("𠈌明华"), "𠈌*华");
        assert_eq!(shown("〇明"), "〇*");
        assert_eq!(shown("䶮"), "*");
        for word in ["二〇二四年", "〇至三岁", "〇岁儿童数"] {
            assert_eq!(shown(word), word);
        }
        // Header words, even those that begin with a surname, stay: the
        // message must name the column.
        for word in [
            "实发金额",
            "成员证件",
            "备注说明",
            "经办人",
            "登记机构",
            "失业原因",
            "社保卡号",
            "街道名称",
            "经办日期",
            "金额",
            "时间",
        ] {
            assert_eq!(shown(word), word);
        }
        // A data row pasted over the header: every other cell of Han text
        // is masked, names with their notes too.
        let pasted = cells("张伟（曾用名张维）,341122196101010057,2025-01-05,城关镇");
        assert!(looks_pasted(&pasted));
        assert!(!looks_pasted(&cells("姓名,身份证号,实发金额,备注说明")));
        assert_eq!(
            header_for_message("张伟（曾用名张维）", true),
            mask_name("张伟（曾用名张维）")
        );
        assert_ne!(
            header_for_message("张伟（曾用名张维）", true),
            "张伟（曾用名张维）"
        );
        assert_eq!(header_for_message("实发金额", true), "实**额");
        let def = by_name("pension").unwrap();
        let m = HeaderMatcher::new(def, &BTreeMap::new());
        let map = m
            .map_header(&cells("王小明,姓名,身份证号,发放月份,发放金额"))
            .unwrap();
        assert_eq!(map.unknown, vec!["王*明".to_string()]);
    }

    #[test]
    fn maps_template_header_and_lists_unknown_columns() {
        let def = by_name("pension").unwrap();
        let m = HeaderMatcher::new(def, &BTreeMap::new());
        let map = m
            .map_header(&cells("序号,姓名,身份证号码,发放月份,发放金额"))
            .unwrap();
        assert_eq!(map.columns, vec![Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(map.unknown, vec!["序号".to_string()]);
    }

    #[test]
    fn missing_and_doubled_columns_are_problems() {
        let def = by_name("pension").unwrap();
        let m = HeaderMatcher::new(def, &BTreeMap::new());
        let problems = m
            .map_header(&cells("姓名,身份证号,证件号码,发放月份"))
            .unwrap_err();
        assert_eq!(
            problems,
            vec![
                HeaderProblem::MappedTwice {
                    field: "id_number",
                    headers: vec![(1, "身份证号".into()), (2, "证件号码".into())]
                },
                HeaderProblem::Missing {
                    field: "amount",
                    header: "发放金额（元）"
                },
            ]
        );
    }

    #[test]
    fn every_header_and_alias_matches_in_its_usual_spellings() {
        // The first-character filter of field_of must never turn a real
        // header away: spaced out, full-width, starred or with a unit.
        for def in crate::extract::EXTRACTS {
            let m = HeaderMatcher::new(def, &BTreeMap::new());
            for (i, f) in def.fields.iter().enumerate() {
                for header in std::iter::once(&f.header).chain(f.aliases) {
                    let spaced: String = header.chars().flat_map(|c| [c, ' ']).collect();
                    let wide: String = header
                        .chars()
                        .map(|c| match c {
                            '(' => '（',
                            ')' => '）',
                            c => c,
                        })
                        .collect();
                    for cell in [
                        header.to_string(),
                        format!(" {header}\u{3000}"),
                        spaced,
                        wide,
                        format!("{header}*"),
                    ] {
                        assert_eq!(m.field_of(&cell), Some(i), "{}: {cell:?}", def.name);
                    }
                    if !header.ends_with(['）', ')']) {
                        let unit = format!("{header}（元）");
                        assert_eq!(m.field_of(&unit), Some(i), "{}: {unit:?}", def.name);
                    }
                }
            }
            assert_eq!(m.field_of("张三"), None);
            assert_eq!(m.field_of("县人民医院"), None);
        }
    }

    #[test]
    fn a_configured_alias_with_a_digit_still_matches() {
        let def = by_name("pension").unwrap();
        let plain = HeaderMatcher::new(def, &BTreeMap::new());
        let header = cells("姓名,身份证号,发放月份,2025年发放金额");
        assert!(plain.map_header(&header).is_err());
        let mut extra = BTreeMap::new();
        extra.insert("amount".to_string(), vec!["2025年发放金额".to_string()]);
        let m = HeaderMatcher::new(def, &extra);
        assert_eq!(
            m.map_header(&header).unwrap().columns,
            vec![Some(0), Some(1), Some(2), Some(3)]
        );
        assert!(m.looks_like_header(&header));
        assert!(!m.looks_like_header(&cells("张三,110105199001011234,2025-11,1520.00")));
        // A unit in brackets is cut off, digits and all.
        assert_eq!(
            plain
                .map_header(&cells("姓名,身份证号,发放月份,发放金额(2025)"))
                .unwrap()
                .columns[3],
            Some(3)
        );
    }

    #[test]
    fn a_configured_alias_in_latin_letters_still_matches() {
        // The first-character filter turns away ASCII cells such as
        // settlement numbers, but never one that a site's alias starts with,
        // nor a letter a combining mark may compose with.
        let def = by_name("pension").unwrap();
        let mut extra = BTreeMap::new();
        extra.insert("amount".to_string(), vec!["Amount".to_string()]);
        extra.insert("period".to_string(), vec!["e\u{301}poque".to_string()]);
        let m = HeaderMatcher::new(def, &extra);
        assert_eq!(m.field_of("Amount"), Some(3));
        assert_eq!(m.field_of(" Amount "), Some(3));
        assert_eq!(m.field_of("Ａmount"), Some(3));
        assert_eq!(m.field_of("\u{e9}poque"), Some(2));
        assert_eq!(m.field_of("e\u{301}poque"), Some(2));
        assert_eq!(m.field_of("S20251100017"), None);
        assert_eq!(m.field_of("A"), None);
        let plain = HeaderMatcher::new(def, &BTreeMap::new());
        assert_eq!(plain.field_of("Amount"), None);
    }

    #[test]
    fn configured_alias_maps_a_site_header() {
        let def = by_name("pension").unwrap();
        let mut extra = BTreeMap::new();
        extra.insert("amount".to_string(), vec!["实发金额".to_string()]);
        let m = HeaderMatcher::new(def, &extra);
        let map = m
            .map_header(&cells("姓名,身份证号,发放月份,实发金额"))
            .unwrap();
        assert_eq!(map.columns[3], Some(3));
        assert!(m.looks_like_header(&cells("姓名,身份证号,发放月份,实发金额")));
        assert!(!m.looks_like_header(&cells("2025年养老金发放表")));
        assert!(!m.looks_like_header(&cells("张三,1101,202501,100")));
    }

    const ROSTER: &str = "户编号,救助类别,乡镇（街道）,村（社区）,户主姓名,户主身份证号,成员姓名,\
                          成员身份证号,与户主关系,保障人数,月保障金（元）,认定日期,申报家庭月收入";

    #[test]
    fn a_column_whose_note_must_be_cut_off_gives_way_to_the_field_s_own() {
        let roster = HeaderMatcher::new(by_name("roster").unwrap(), &BTreeMap::new());
        let map = roster
            .map_header(&cells(&format!("{ROSTER},月保障金（大写）")))
            .unwrap();
        let benefit = roster
            .def
            .fields
            .iter()
            .position(|f| f.field == "monthly_benefit");
        assert_eq!(map.columns[benefit.unwrap()], Some(10));
        assert_eq!(map.unknown, vec!["月保障金（大写）"]);
        // In either order, and beside a header without a note at all.
        let unemployment = HeaderMatcher::new(by_name("unemployment").unwrap(), &BTreeMap::new());
        let map = unemployment
            .map_header(&cells("姓名（曾用名）,姓名,身份证号,登记日期,状态"))
            .unwrap();
        assert_eq!(map.columns[0], Some(1));
        assert_eq!(map.unknown, vec!["姓名（曾用名）"]);
        // Alone, a note is cut off as a unit is.
        let map = unemployment
            .map_header(&cells("姓名（曾用名）,身份证号,登记日期,状态"))
            .unwrap();
        assert_eq!(map.columns[0], Some(0));
        // The field's own header however its unit is written.
        for own in [
            "月保障金（人民币元）",
            "月保障金【元】",
            "月保障金（元）（必填）",
            "*月保障金（元）",
        ] {
            let header = ROSTER.replace("月保障金（元）", own);
            let map = roster
                .map_header(&cells(&format!("{header},月保障金（大写）")))
                .unwrap();
            assert_eq!(map.columns[benefit.unwrap()], Some(10), "{own}");
        }
        // Two units are two columns: one of them in 万元 stops the run.
        let problems = roster
            .map_header(&cells(&format!("{ROSTER},月保障金（万元）")))
            .unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| matches!(p, HeaderProblem::OtherUnit { .. }))
        );
        assert!(
            problems
                .iter()
                .any(|p| matches!(p, HeaderProblem::MappedTwice { .. }))
        );
        // A cell of nothing but a zero-width space is no column.
        let map = roster
            .map_header(&cells(&format!("{ROSTER},\u{200b}")))
            .unwrap();
        assert!(map.unknown.is_empty(), "{:?}", map.unknown);
        assert_eq!(map.named_width, 13);
        // A name in a note is masked where messages show it.
        let map = unemployment
            .map_header(&cells("姓名,身份证号,登记日期,状态,姓名（张伟）"))
            .unwrap();
        assert_eq!(map.unknown, vec![format!("姓名（{}）", mask_name("张伟"))]);
        // Two columns that both need it cut off are two columns for one field.
        let problems = unemployment
            .map_header(&cells("姓名（户主）,姓名（成员）,身份证号,登记日期,状态"))
            .unwrap_err();
        assert!(matches!(
            &problems[..],
            [HeaderProblem::MappedTwice { field: "name", .. }]
        ));
    }

    #[test]
    fn a_site_alias_with_a_note_matches_as_written() {
        let mut extra = BTreeMap::new();
        for (field, alias) in [
            ("head_name", "姓名（户主）"),
            ("head_id", "身份证号（户主）"),
            ("name", "姓名（成员）"),
            ("id_number", "身份证号（成员）"),
        ] {
            extra.insert(field.to_string(), vec![alias.to_string()]);
        }
        let def = by_name("roster").unwrap();
        let m = HeaderMatcher::new(def, &extra);
        let header = "户编号,救助类别,乡镇,村,姓名（户主）,身份证号（户主）,姓名（成员）,\
                      身份证号（成员）,与户主关系,保障人数,月保障金,认定日期,申报家庭月收入";
        let map = m.map_header(&cells(header)).unwrap();
        let column =
            |field: &str| map.columns[def.fields.iter().position(|f| f.field == field).unwrap()];
        assert_eq!(
            [
                column("head_name"),
                column("head_id"),
                column("name"),
                column("id_number")
            ],
            [Some(4), Some(5), Some(6), Some(7)]
        );
        // A mark after the alias's note, written or not, and either bracket.
        let mut extra = BTreeMap::new();
        extra.insert(
            "head_id".to_string(),
            vec!["身份证号（户主）（必填）".to_string()],
        );
        let marked = HeaderMatcher::new(def, &extra);
        let head_id = def.fields.iter().position(|f| f.field == "head_id");
        for cell in [
            "身份证号（户主）",
            "身份证号(户主)",
            "身份证号【户主】（必填）",
        ] {
            assert_eq!(marked.field_of(cell), head_id, "{cell}");
        }
        // The template's own headers still go to their fields.
        assert_eq!(
            m.field_of("身份证号"),
            def.fields.iter().position(|f| f.field == "id_number")
        );
    }

    #[test]
    fn a_long_note_a_long_alias_and_an_invisible_space_still_match() {
        let def = by_name("roster").unwrap();
        let benefit = def.fields.iter().position(|f| f.field == "monthly_benefit");
        let plain = HeaderMatcher::new(def, &BTreeMap::new());
        assert_eq!(
            plain.field_of("月保障金（元，按户发放，各成员行均重复填写此金额）"),
            benefit
        );
        assert_eq!(plain.field_of("月保障金（元）\u{200b}"), benefit);
        assert_eq!(plain.field_of("\u{feff}月保障\u{200d}金"), benefit);
        assert_eq!(plain.field_of("月保障金【元】"), benefit);
        assert_eq!(plain.field_of("月保障金（元）（必填）"), benefit);
        assert_eq!(plain.field_of("月保障金（按户）（必填）"), benefit);
        let long_note = "月保障金（元，按户发放，各成员行均重复填写此金额）";
        assert_eq!(plain.field_of(&format!("{long_note}*")), benefit);
        assert_eq!(plain.field_of(&format!("{long_note}\u{200b}")), benefit);
        let long = "本月实际发放的城乡最低生活保障金额合计数按户计算";
        assert!(long.len() > 64);
        let mut extra = BTreeMap::new();
        extra.insert("monthly_benefit".to_string(), vec![long.to_string()]);
        let m = HeaderMatcher::new(def, &extra);
        assert_eq!(m.field_of(long), benefit);
        assert_eq!(m.field_of(&format!(" {long} ")), benefit);
        // A long data cell is still turned away before any look-up.
        assert_eq!(plain.field_of(&"城关镇幸福村".repeat(12)), None);
    }
}
