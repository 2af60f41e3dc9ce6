//! Personal names as departments type them: traditional characters (張 for
//! 张), full-width and doubled spaces, minority names whose separator is
//! written `·`, `•`, `・`, `.` or not at all, annotations such as
//! `李四（曾用名李思）`, and homophone typos (王晓明 for 王小明). This module
//! owns the canonical form of a name, its pinyin key for blocking, and the
//! name-agreement levels that person resolution compares with.

use std::collections::HashMap;
use std::sync::OnceLock;

use pinyin::ToPinyin;
use unicode_normalization::UnicodeNormalization;

use super::text::{CharSet, is_common_han, is_nfkc};

use super::text::is_blank;

/// The canonical minority-name separator (间隔号), MIDDLE DOT U+00B7.
pub const NAME_SEPARATOR: char = '\u{B7}';

/// A name in canonical form, the alias found in an annotation, and the
/// pinyin key of the name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NormalizedName {
    /// Simplified, without blanks or annotation; empty for an empty cell or a
    /// placeholder such as `无`. Held inline up to 24 bytes (eight Han
    /// characters): a name met again in a file is copied, not allocated.
    pub name: compact_str::CompactString,
    /// The former or other name from an annotation (`曾用名李思` → `李思`).
    pub alias: Option<String>,
}

/// Traditional → simplified, from OpenCC's TSCharacters (first candidate),
/// less [`STANDARD_AS_WRITTEN`], with chains (薴 → 苧 → 苎) resolved once
/// here so that a lookup is final.
/// A map keyed by characters, asked per character of every name.
type CharMap<V> = HashMap<char, V, foldhash::fast::FixedState>;

/// Keys of TSCharacters that are characters of the 通用规范汉字表 (2013) in
/// their own right, used in names as written (李乾坤, 郑昇, 王脩), and that
/// OpenCC's simplified→traditional conversion never produces: left as they
/// are, so that a finding names 李乾坤, not 李干坤. Standard characters that
/// the conversion does produce (於 from 于, 夥 from 伙, 徵 from 征, 祕, 釐,
/// 吒, 苧, 薳) stay in the table: in an extract they are most likely a
/// simplified name converted.
const STANDARD_AS_WRITTEN: [char; 13] = [
    '乾', '剋', '劄', '扞', '昇', '氾', '脩', '蒐', '薹', '袷', '谿', '陞', '麽',
];

fn ts_table() -> &'static CharMap<char> {
    static TABLE: OnceLock<CharMap<char>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut direct = HashMap::with_capacity(4200);
        for line in include_str!("../../data/opencc_TSCharacters.txt").lines() {
            if line.starts_with('#') {
                continue;
            }
            let Some((key, values)) = line.split_once('\t') else {
                continue;
            };
            let mut key_chars = key.chars();
            let first = values.split_whitespace().next().map(str::chars);
            if let (Some(k), None, Some(mut v)) = (key_chars.next(), key_chars.next(), first)
                && let (Some(v0), None) = (v.next(), v.next())
                && k != v0
                && !STANDARD_AS_WRITTEN.contains(&k)
            {
                direct.insert(k, v0);
            }
        }
        let mut resolved = CharMap::with_capacity_and_hasher(direct.len(), Default::default());
        for (&k, &v) in &direct {
            let mut end = v;
            // The longest real chain is three steps; the bound guards
            // against a cycle in an edited table.
            for _ in 0..8 {
                match direct.get(&end) {
                    Some(&next) if next != end && next != k => end = next,
                    _ => break,
                }
            }
            resolved.insert(k, end);
        }
        resolved
    })
}

/// The simplified character each of [`STANDARD_AS_WRITTEN`] converts to
/// (乾 → 干, 昇 → 升): not converted, a name written with one may still be
/// a name of the other (李乾 for 李干), which [`sound_alike`] allows.
fn as_written_counterpart(c: char) -> Option<char> {
    static TABLE: OnceLock<Vec<(char, char)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        include_str!("../../data/opencc_TSCharacters.txt")
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .filter_map(|(key, values)| {
                let k = key.chars().next()?;
                let v = values.split_whitespace().next()?.chars().next()?;
                (STANDARD_AS_WRITTEN.contains(&k) && k != v).then_some((k, v))
            })
            .collect()
    });
    table.iter().find(|(k, _)| *k == c).map(|&(_, v)| v)
}

/// Every key of the traditional→simplified table is at or above U+3400 (CJK
/// Extension A); anything below needs no lookup.
const FIRST_TRADITIONAL: char = '\u{3400}';

/// The keys of [`ts_table`]: most characters of a name are simplified
/// already, and a bit is cheaper to test than a hash to look up.
fn ts_keys() -> &'static CharSet {
    static KEYS: OnceLock<CharSet> = OnceLock::new();
    KEYS.get_or_init(|| ts_table().keys().copied().collect())
}

#[inline]
pub(crate) fn simplify_char(c: char) -> char {
    if c < FIRST_TRADITIONAL {
        return c;
    }
    if !ts_keys().contains(c) {
        return c;
    }
    ts_table().get(&c).copied().unwrap_or(c)
}

/// Traditional → simplified, per character, to a fixpoint (the table is
/// resolved so one lookup per character suffices).
pub fn to_simplified(s: &str) -> String {
    match s.char_indices().find(|&(_, c)| simplify_char(c) != c) {
        None => s.to_owned(),
        Some((at, _)) => {
            let mut out = String::with_capacity(s.len());
            out.push_str(&s[..at]);
            out.extend(s[at..].chars().map(simplify_char));
            out
        }
    }
}

/// Characters used between the parts of a minority name (after NFKC, which
/// has already turned `．` into `.` and `･` into `・`).
fn is_separator(c: char) -> bool {
    matches!(
        c,
        '.' | '-'
            | '\u{2010}'
            | '\u{2011}'
            | '\u{2013}'
            // Em dash and horizontal bar: Shift+- on a Chinese keyboard
            // types `——` (helper-125's audit).
            | '\u{2014}'
            | '\u{2015}'
            | '\u{B7}'
            | '\u{2022}'
            | '\u{2027}'
            | '\u{2219}'
            | '\u{22C5}'
            | '\u{30FB}'
            | '\u{FF65}'
    )
}

/// Cells that mean "no name recorded".
const NAME_PLACEHOLDERS: &[&str] = &[
    "无", "/", "\\", "-", "—", "空", "NULL", "NONE", "N/A", "0", "暂无", "未知", "不详",
];

/// Words that introduce another name inside an annotation.
const ALIAS_PREFIXES: &[&str] = &["曾用名", "又名", "原名", "别名", "曾名", "小名", "乳名"];

/// The prefixes that introduce another name outside brackets too
/// (`李四 曾用名李思`): not 小名 or 乳名, which end many a given name.
const BARE_ALIAS_PREFIXES: &[&str] = &["曾用名", "又名", "原名", "别名", "曾名"];

/// A folded name that carries its other name without brackets, split at the
/// first alias prefix with a name of two characters or more on each side
/// (`李四曾用名李思` → `李四`, `曾用名李思`); a name such as 刘原名亮 stays
/// whole.
fn split_bare_annotation(s: &str) -> Option<(&str, &str)> {
    s.char_indices().skip(2).find_map(|(at, _)| {
        let rest = &s[at..];
        let prefix = BARE_ALIAS_PREFIXES.iter().find(|p| rest.starts_with(**p))?;
        let other = rest[prefix.len()..].trim_start_matches([':', '：']);
        // `李四，曾用名李思`: the punctuation before the note is not the name's.
        let name = s[..at].trim_end_matches(NOTE_PUNCTUATION);
        (name.chars().count() >= 2 && other.chars().count() >= 2).then_some((name, rest))
    })
}

/// Punctuation that sets a note off from a name (`李四，曾用名李思`,
/// `李四；（曾用名李思）`), as NFKC leaves it: never part of a name.
const NOTE_PUNCTUATION: &[char] = &[',', ';', ':', '、', '。'];

fn is_open_bracket(c: char) -> bool {
    matches!(
        c,
        '(' | '[' | '{' | '【' | '〔' | '〖' | '「' | '『' | '《' | '〈'
    )
}

fn is_close_bracket(c: char) -> bool {
    matches!(
        c,
        ')' | ']' | '}' | '】' | '〕' | '〗' | '」' | '』' | '》' | '〉'
    )
}

/// NFKC, blanks removed, traditional → simplified, ASCII upper-cased, in one
/// pass. NFKC is skipped when the quick check proves the text already is.
fn fold_chars(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    // A control character (a NUL a broken export left inside a name) is
    // no part of it, as a blank is not, nor a double quote a CSV's stray
    // quoting left in it (`王"强`, `王强"`): no name holds one.
    let mut push = |c: char| {
        if !is_blank(c) && !c.is_control() && !matches!(c, '"' | '“' | '”') {
            out.push(simplify_char(c).to_ascii_uppercase());
        }
    };
    if is_nfkc(raw) {
        raw.chars().for_each(&mut push);
    } else {
        raw.nfkc().for_each(&mut push);
    }
    out
}

/// Unifies separator runs between two letters to one `·`; drops separators
/// at either end; leaves any other separator (next to a digit, say) alone.
fn unify_separators(s: &str) -> String {
    if !s.chars().any(is_separator) {
        return s.to_owned();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_separator(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_separator(chars[i]) {
            i += 1;
        }
        let before = start.checked_sub(1).map(|p| chars[p]);
        let after = chars.get(i).copied();
        match (before, after) {
            (Some(b), Some(a)) if b.is_alphabetic() && a.is_alphabetic() => {
                out.push(NAME_SEPARATOR)
            }
            (Some(_), Some(_)) => out.extend(&chars[start..i]),
            _ => {} // at an end
        }
    }
    out
}

/// The canonical form of an already folded, annotation-free piece.
fn finish(piece: &str) -> String {
    // Separators and punctuation off both ends, the one uncovering the
    // other (`.:•`), until neither changes anything.
    let mut s = unify_separators(piece.trim_matches(NOTE_PUNCTUATION));
    loop {
        let trimmed = s.trim_matches(NOTE_PUNCTUATION);
        if trimmed.len() == s.len() {
            break;
        }
        s = unify_separators(trimmed);
    }
    if NAME_PLACEHOLDERS.contains(&s.as_str()) {
        String::new()
    } else {
        s
    }
}

/// The other name inside an annotation, if the annotation says it is one
/// (`曾用名李思`). A bare name in brackets (`李四（王五）`) is none: it is
/// as often whoever collects for the person (代领人) as a name of theirs,
/// and taken for one it would make a row of that other person's name look
/// like this person's (a repair, a name + birth date link, a DQ02 kept
/// quiet).
fn alias_of(inner: &str) -> Option<String> {
    let rest = ALIAS_PREFIXES.iter().find_map(|p| inner.strip_prefix(p))?;
    let alias = finish(rest.trim_start_matches([':', '：']));
    (!alias.is_empty()).then_some(alias)
}

/// Canonical form of a raw name cell: NFKC, no blanks anywhere, annotation
/// moved to `alias`, minority separators unified to `·`, simplified
/// characters, ASCII upper-cased. An empty or placeholder cell gives an
/// empty `name`.
pub fn normalize_name(raw: &str) -> NormalizedName {
    match plain_han_name(raw) {
        Some(chars) => {
            // Simplifying keeps each character's three bytes.
            let mut name = compact_str::CompactString::with_capacity(raw.len());
            name.extend(chars);
            NormalizedName { name, alias: None }
        }
        None => normalize_any_name(raw),
    }
}

/// The characters of a name that is a few common Han characters and
/// nothing else, as [`normalize_name`] gives them (simplified), or `None`
/// for any other cell. Most names are such: NFKC, brackets, blanks and
/// separators have nothing to do there. (A name with 名 may hold an
/// unbracketed former name: see split_bare_annotation; a placeholder gives
/// no name.)
fn plain_han_name(raw: &str) -> Option<impl Iterator<Item = char> + Clone + '_> {
    // One pass over the characters: a name with 名 is not plain.
    if raw.is_empty() || !raw.chars().all(|c| is_common_han(c) && c != '名') {
        return None;
    }
    let simplified = raw.chars().map(simplify_char);
    // Common Han characters, before and after simplifying, take three bytes
    // each: only a placeholder of as many bytes can be this name, which
    // spares a lookup of the first character for every other placeholder
    // (most of this function's time in a county's read).
    let plain = simplified.clone().all(is_common_han)
        && !NAME_PLACEHOLDERS
            .iter()
            .any(|p| p.len() == raw.len() && p.chars().eq(simplified.clone()));
    plain.then_some(simplified)
}

/// Whether [`normalize_name`] gives `raw` no name, told without building
/// it for a plain name (asked of nearly every row the resolution compares
/// with its person's name).
fn normalizes_to_empty(raw: &str) -> bool {
    plain_han_name(raw).is_none() && normalize_any_name(raw).name.is_empty()
}

/// [`normalize_name`] for any text.
fn normalize_any_name(raw: &str) -> NormalizedName {
    let (mut name, alias) = split_annotation(raw);
    // NFKC is not closed under deleting characters: removing a blank between
    // a letter and a combining mark leaves a composable pair. Such names are
    // pathological, so the extra passes run only when the quick check fails.
    for _ in 0..4 {
        if is_nfkc(&name) {
            break;
        }
        let (again, _) = split_annotation(&name);
        if again == name {
            break;
        }
        name = again;
    }
    NormalizedName {
        name: name.into(),
        alias,
    }
}

/// One normalisation pass: the canonical name outside any brackets, and the
/// alias from the first bracketed note that is one.
fn split_annotation(raw: &str) -> (String, Option<String>) {
    let folded = fold_chars(raw);
    let mut outside = String::with_capacity(folded.len());
    let mut alias = None;
    let mut rest = folded.as_str();
    while let Some(open) = rest.find(is_open_bracket) {
        outside.push_str(&rest[..open]);
        let after_open = skip_first_char(&rest[open..]);
        let (inner, after) = match after_open.find(is_close_bracket) {
            Some(close) => (&after_open[..close], skip_first_char(&after_open[close..])),
            None => (after_open, ""),
        };
        if alias.is_none() {
            alias = alias_of(inner);
        }
        rest = after;
    }
    outside.push_str(rest);
    // A stray closing bracket is debris of the same annotation habit.
    outside.retain(|c| !is_close_bracket(c));
    if let Some((name, note)) = split_bare_annotation(&outside) {
        let other = alias_of(note);
        let name = finish(name);
        return (name, alias.or(other));
    }
    (finish(&outside), alias)
}

/// `s` without its first character (empty stays empty).
fn skip_first_char(s: &str) -> &str {
    let mut chars = s.chars();
    chars.next();
    chars.as_str()
}

/// How two names compare, best first. The order is the comparison level
/// order: the first level that holds wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameAgreement {
    /// The same text (up to surrounding blanks).
    Same,
    /// The same name written differently: traditional/simplified, spacing,
    /// separators or their absence, an annotation, or a former name.
    Variant,
    /// One character differs and the two characters can sound the same.
    Homophone,
    /// Different names.
    Disagree,
}

impl NameAgreement {
    /// Stable lower-case code for the `match` column.
    pub fn as_str(self) -> &'static str {
        match self {
            NameAgreement::Same => "same",
            NameAgreement::Variant => "variant",
            NameAgreement::Homophone => "homophone",
            NameAgreement::Disagree => "disagree",
        }
    }

    /// True for every level but `Disagree`.
    pub fn agrees(self) -> bool {
        self != NameAgreement::Disagree
    }
}

/// Readings beside its most common one that a character is read by in
/// names, tone-less: surnames read otherwise (曾 zēng, 单 shàn, 解 xiè, 区
/// ōu …) and given-name characters with two readings in everyday use (乐
/// yuè, 长 cháng, 朝 zhāo …). A character's other readings (大 tài, 明
/// mèng, 冰 níng: the dictionary's, not a typist's) make no homophone.
const NAME_READINGS: &[(char, &[&str])] = &[
    ('曾', &["zeng"]),
    ('单', &["shan"]),
    ('解', &["xie"]),
    ('区', &["ou"]),
    ('朴', &["piao"]),
    ('查', &["zha"]),
    ('仇', &["qiu"]),
    ('尉', &["yu"]),
    ('翟', &["zhai"]),
    ('盖', &["ge"]),
    ('缪', &["miao"]),
    ('殷', &["yan"]),
    ('车', &["ju"]),
    ('祭', &["zhai"]),
    ('炅', &["gui"]),
    ('员', &["yun"]),
    ('秘', &["bi"]),
    ('繁', &["po"]),
    ('召', &["shao"]),
    ('覃', &["qin"]),
    ('万', &["mo"]),
    ('句', &["gou"]),
    ('折', &["she"]),
    ('乐', &["yue"]),
    ('长', &["chang"]),
    ('重', &["chong"]),
    ('朝', &["zhao"]),
    ('行', &["hang"]),
    ('传', &["zhuan"]),
    ('藏', &["zang"]),
    ('茜', &["xi"]),
    ('晟', &["sheng"]),
    ('蔚', &["yu"]),
    ('柏', &["bo"]),
    ('莎', &["suo"]),
    ('隽', &["jun"]),
    ('奇', &["ji"]),
    ('都', &["du"]),
    ('种', &["chong"]),
    ('乘', &["sheng"]),
];

/// A character's readings a typist may have typed it by, tone-less: its
/// most common one and those of [`NAME_READINGS`].
fn name_readings(c: char) -> impl Iterator<Item = &'static str> {
    let common = c.to_pinyin().map(|p| p.plain());
    let others = NAME_READINGS
        .iter()
        .find(|(k, _)| *k == c)
        .map_or(&[][..], |(_, r)| *r);
    common.into_iter().chain(others.iter().copied())
}

/// True when the two characters can be typed for one another by their
/// sound: they share a tone-less reading of [`name_readings`] (曾 and 增 by
/// zeng, 曾 and 层 by ceng; not 大 and 太).
pub(crate) fn sound_alike(a: char, b: char) -> bool {
    as_written_counterpart(a) == Some(b)
        || as_written_counterpart(b) == Some(a)
        || name_readings(a).any(|ra| name_readings(b).any(|rb| ra == rb))
}

/// Names of the same length (≥ 2 characters) that differ at exactly one
/// position, where the two characters can be read the same.
fn is_homophone(a: &str, b: &str) -> bool {
    let (mut ca, mut cb) = (a.chars(), b.chars());
    let mut length = 0;
    let mut differing = None;
    loop {
        match (ca.next(), cb.next()) {
            (None, None) => break,
            (Some(x), Some(y)) => {
                length += 1;
                if x != y {
                    if differing.is_some() {
                        return false;
                    }
                    differing = Some((x, y));
                }
            }
            _ => return false,
        }
    }
    length >= 2 && differing.is_some_and(|(x, y)| sound_alike(x, y))
}

/// Compares two RAW name cells (both are normalised here).
pub fn name_agreement(a: &str, b: &str) -> NameAgreement {
    // Most pairs the resolution compares are a person's row against the name
    // the person is known by, written the same: one normalisation tells.
    if a == b {
        return if normalizes_to_empty(a) {
            NameAgreement::Disagree
        } else {
            NameAgreement::Same
        };
    }
    agreement_of_different(a, b)
}

/// [`name_agreement`] of two cells, normalising each.
fn agreement_of_different(a: &str, b: &str) -> NameAgreement {
    let (na, nb) = (normalize_name(a), normalize_name(b));
    if na.name.is_empty() || nb.name.is_empty() {
        return NameAgreement::Disagree;
    }
    if na.name == nb.name {
        return if a.trim() == b.trim() {
            NameAgreement::Same
        } else {
            NameAgreement::Variant
        };
    }
    let without_separator = |s: &str| {
        s.chars()
            .filter(|&c| c != NAME_SEPARATOR)
            .collect::<String>()
    };
    let alias_matches = na.alias.as_deref() == Some(nb.name.as_str())
        || nb.alias.as_deref() == Some(na.name.as_str());
    if alias_matches || without_separator(&na.name) == without_separator(&nb.name) {
        return NameAgreement::Variant;
    }
    if is_homophone(&na.name, &nb.name) {
        return NameAgreement::Homophone;
    }
    NameAgreement::Disagree
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(raw: &str) -> String {
        normalize_name(raw).name.into()
    }

    #[test]
    fn control_characters_are_no_part_of_a_name() {
        for raw in [
            "陈\0静",
            "陈静\u{1}",
            "\u{7F}陈\u{9F}静",
            "陈\"静",
            "陈静\"",
            "“陈静”",
        ] {
            assert_eq!(name(raw), "陈静", "{raw:?}");
        }
        assert_eq!(name("\0"), "");
    }

    #[test]
    fn traditional_characters_are_simplified() {
        assert_eq!(name("張偉"), "张伟");
        assert_eq!(name("陳國強"), "陈国强");
        assert_eq!(to_simplified("劉德華"), "刘德华");
        assert_eq!(to_simplified("already 简体"), "already 简体");
    }

    #[test]
    fn standard_characters_that_no_simplified_name_converts_to_stay() {
        assert_eq!(name("李乾坤"), "李乾坤");
        assert_eq!(name("郑昇"), "郑昇");
        assert_eq!(name("王脩"), "王脩");
        assert_eq!(name("陞"), "陞");
        // What converting a simplified name gives is simplified back.
        for (written, simplified) in [("於", "于"), ("夥", "伙"), ("徵", "征"), ("幹", "干")]
        {
            assert_eq!(to_simplified(written), simplified, "{written}");
        }
    }

    #[test]
    fn traditional_chains_reach_the_fixpoint() {
        // 薴 → 苧 → 苎 in the OpenCC table.
        assert_eq!(to_simplified("薴"), "苎");
        assert_eq!(to_simplified("苧"), "苎");
        assert_eq!(to_simplified(&to_simplified("薴麗")), to_simplified("薴麗"));
    }

    #[test]
    fn table_is_fully_resolved() {
        for (&k, &v) in ts_table() {
            assert_ne!(k, v);
            assert_eq!(simplify_char(v), v, "{k} → {v} is not final");
            // The bitmap in front of the table lets every key through.
            assert_eq!(simplify_char(k), v, "{k}");
        }
    }

    #[test]
    fn compatibility_ideographs_are_unified_by_nfkc() {
        // U+F9A4 is a compatibility form of 捻.
        assert_eq!(name("\u{F9A4}"), "捻");
    }

    #[test]
    fn spaces_inside_and_around_are_removed() {
        for raw in [
            "王小明",
            " 王小明 ",
            "王 小明",
            "王  小  明",
            "王\u{3000}小明",
            "\u{A0}王小明\t",
        ] {
            assert_eq!(name(raw), "王小明", "{raw:?}");
        }
        assert_eq!(name("Ｗａｎｇ"), "WANG");
    }

    #[test]
    fn minority_separators_are_unified() {
        for raw in [
            "阿卜杜拉·买买提",
            "阿卜杜拉•买买提",
            "阿卜杜拉・买买提",
            "阿卜杜拉.买买提",
            "阿卜杜拉．买买提",
            "阿卜杜拉‧买买提",
            "阿卜杜拉･买买提",
            "阿卜杜拉 · 买买提",
            "阿卜杜拉··买买提",
        ] {
            assert_eq!(name(raw), "阿卜杜拉·买买提", "{raw:?}");
        }
        assert_eq!(name("·阿卜杜拉·"), "阿卜杜拉");
        assert_eq!(name("阿卜杜拉-买买提"), "阿卜杜拉·买买提");
        assert_eq!(name("阿卜杜拉－买买提"), "阿卜杜拉·买买提");
        assert_eq!(name("阿卜杜拉—买买提"), "阿卜杜拉·买买提");
        assert_eq!(name("阿卜杜拉——买买提"), "阿卜杜拉·买买提");
        assert_eq!(name("阿卜杜拉买买提"), "阿卜杜拉买买提");
    }

    #[test]
    fn annotations_become_aliases() {
        let cases = [
            ("李四（曾用名李思）", "李四", Some("李思")),
            ("李四《曾用名李思》", "李四", Some("李思")),
            ("李四『又名李思』", "李四", Some("李思")),
            ("李四(曾用名:李思)", "李四", Some("李思")),
            ("李四（曾用名：李思）", "李四", Some("李思")),
            ("李四[又名李斯]", "李四", Some("李斯")),
            ("李四【原名 李思】", "李四", Some("李思")),
            ("李四（別名李思）", "李四", Some("李思")),
            // A name in brackets without a word that makes it another name
            // of this person's is a note (a proxy who collects, say).
            ("李四（李思）", "李四", None),
            ("李四（王五）", "李四", None),
            ("李四（已故）", "李四", None),
            ("李四(户主)", "李四", None),
            ("李四（曾用名李思", "李四", Some("李思")),
            ("李四）", "李四", None),
            ("張三（曾用名張叁）", "张三", Some("张叁")),
            ("李四 曾用名李思", "李四", Some("李思")),
            ("李四曾用名：李思", "李四", Some("李思")),
            ("王芳 原名王方", "王芳", Some("王方")),
            ("李四又名李斯", "李四", Some("李斯")),
            // The punctuation that sets the note off goes with it.
            ("李四，曾用名李思", "李四", Some("李思")),
            ("李四；曾用名：李思", "李四", Some("李思")),
            ("李四、原名李思", "李四", Some("李思")),
            ("李四，（曾用名李思）", "李四", Some("李思")),
            ("李，曾用名李思", "李,曾用名李思", None),
            // Too short on one side to be a name and its note.
            ("刘原名亮", "刘原名亮", None),
            ("王原名", "王原名", None),
            ("王小名", "王小名", None),
            ("李名扬", "李名扬", None),
        ];
        for (raw, expected_name, expected_alias) in cases {
            let n = normalize_name(raw);
            assert_eq!(n.name, expected_name, "{raw}");
            assert_eq!(n.alias.as_deref(), expected_alias, "{raw}");
        }
    }

    #[test]
    fn placeholders_give_an_empty_name() {
        for raw in ["", "  ", "无", "/", "-", "NULL", "null", "不详", "（无）"] {
            let n = normalize_name(raw);
            assert_eq!(n.name, "", "{raw:?}");
        }
    }

    /// Regression: deleting the blank in `e \u{301}` leaves a pair that NFKC
    /// composes, so a single pass would not be idempotent.
    #[test]
    fn idempotent_when_blank_removal_enables_composition() {
        let once = normalize_name("e \u{301}");
        assert_eq!(once.name, "\u{C9}"); // É: ASCII upper-cased, then composed
        assert_eq!(normalize_name(&once.name).name, once.name);
    }

    #[test]
    fn latin_names_are_upper_cased_and_separated() {
        assert_eq!(name("John.Smith"), "JOHN·SMITH");
        assert_eq!(
            name_agreement("John Smith", "JOHNSMITH"),
            NameAgreement::Variant
        );
    }

    #[test]
    fn agreement_levels_from_the_catalogue() {
        use NameAgreement::*;
        let cases = [
            ("王小明", "王小明", Same),
            (" 王小明 ", "王小明", Same),
            ("张伟", "張偉", Variant),
            ("王 小明", "王小明", Variant),
            ("阿卜杜拉·买买提", "阿卜杜拉•买买提", Variant),
            ("阿卜杜拉·买买提", "阿卜杜拉买买提", Variant),
            ("李四（曾用名李思）", "李思", Variant),
            ("李思", "李四（曾用名李思）", Variant),
            ("李四（曾用名李思）", "李四", Variant),
            ("王小明", "王晓明", Homophone),
            ("张伟", "张玮", Homophone),
            // A dialect's or a dictionary's sound alike is another name.
            ("王霞", "王洽", Disagree),
            ("吴月平", "吴药平", Disagree),
            ("张伟", "李伟", Disagree),
            ("王小明", "王大明", Disagree),
            ("王明", "王小明", Disagree),
            ("王小明", "晓小明", Disagree),
            ("王小明", "王晓敏", Disagree),
            ("伟", "玮", Disagree),
            ("", "", Disagree),
            ("无", "无", Disagree),
            ("王小明", "", Disagree),
        ];
        for (a, b, expected) in cases {
            assert_eq!(name_agreement(a, b), expected, "{a} vs {b}");
            assert_eq!(name_agreement(b, a), expected, "{b} vs {a}");
        }
    }

    #[test]
    fn heteronyms_count_for_homophones() {
        // 曾 reads ceng, and zeng as a surname; 层 reads ceng, 增 zeng.
        assert_eq!(name_agreement("曾小明", "层小明"), NameAgreement::Homophone);
        assert_eq!(name_agreement("曾小明", "增小明"), NameAgreement::Homophone);
        assert_eq!(name_agreement("王乐", "王悦"), NameAgreement::Homophone);
    }

    /// A reading only a dictionary gives (大 tài, 明 mèng, 冰 níng, 莉 chí,
    /// 宁 zhù, 乐 yào, 英 yāng) makes no homophone: those are other names.
    #[test]
    fn rare_readings_make_no_homophone() {
        for (a, b) in [
            ("王大明", "王太明"),
            ("王明亮", "王梦亮"),
            ("陈冰洁", "陈宁洁"),
            ("李莉莉", "李池莉"),
            ("王宁", "王柱"),
            ("王乐乐", "王要乐"),
            ("李英华", "李洋华"),
            ("张平安", "张冰安"),
            ("王大明", "王呆明"),
        ] {
            assert_eq!(name_agreement(a, b), NameAgreement::Disagree, "{a} {b}");
        }
        // A standard character kept as written, and the one it is the
        // traditional form of: 李乾 may be 李干 written in traditional.
        assert!(name_agreement("李乾", "李干").agrees());
        assert!(name_agreement("李幹", "李乾").agrees());
        assert!(name_agreement("郑昇", "郑升").agrees());
        for (a, b) in [("王小明", "王晓明"), ("王小明", "王小鸣"), ("张三", "章三")]
        {
            assert_eq!(name_agreement(a, b), NameAgreement::Homophone, "{a} {b}");
        }
    }

    /// Each reading of the table is one of the character's own, and not
    /// its most common one.
    #[test]
    fn name_readings_are_the_characters_own() {
        use pinyin::ToPinyinMulti;
        let mut wrong = Vec::new();
        for (c, readings) in NAME_READINGS {
            let all: Vec<&str> = c
                .to_pinyin_multi()
                .map(|m| m.into_iter().map(|p| p.plain()).collect())
                .unwrap_or_default();
            let common = c.to_pinyin().map(|p| p.plain());
            for r in *readings {
                if !all.contains(r) || common == Some(*r) {
                    wrong.push(format!("{c} {r}: {common:?} of {all:?}"));
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:?}");
    }

    #[test]
    fn agreement_codes() {
        assert_eq!(NameAgreement::Same.as_str(), "same");
        assert_eq!(NameAgreement::Variant.as_str(), "variant");
        assert_eq!(NameAgreement::Homophone.as_str(), "homophone");
        assert_eq!(NameAgreement::Disagree.as_str(), "disagree");
        assert!(NameAgreement::Homophone.agrees());
        assert!(!NameAgreement::Disagree.agrees());
        assert!(NameAgreement::Same < NameAgreement::Disagree);
    }

    #[test]
    fn han_fast_path_keeps_placeholders_and_traditional_forms() {
        for raw in [
            "无",
            "空",
            "暂无",
            "不详",
            "無",
            "暫無",
            "不詳",
            "張三",
            "王小明",
            "龍",
        ] {
            assert_eq!(normalize_name(raw), normalize_any_name(raw), "{raw}");
        }
        for placeholder in ["无", "無", "暫無", "未知", "不詳"] {
            assert_eq!(normalize_name(placeholder).name, "", "{placeholder}");
        }
        assert_eq!(normalize_name("張三").name, "张三");
    }

    proptest! {
        #[test]
        fn never_panics(a in any::<String>(), b in any::<String>()) {
            let _ = normalize_name(&a);
            let _ = name_agreement(&a, &b);
            let _ = to_simplified(&a);
        }

        #[test]
        fn the_same_cell_twice_agrees_as_the_general_path_says(
            raw in "[张張王小明无/ 　·（）()曾用名a-c0-9]{0,8}|不详|暂无|未知|無|\\PC{0,8}"
        ) {
            prop_assert_eq!(name_agreement(&raw, &raw), agreement_of_different(&raw, &raw));
        }

        #[test]
        fn han_names_normalise_as_any_text_does(raw in "[\u{4E00}-\u{9FFF}]{0,6}") {
            prop_assert_eq!(normalize_name(&raw), normalize_any_name(&raw));
        }

        #[test]
        fn normalising_is_idempotent(raw in any::<String>()) {
            let once = normalize_name(&raw);
            let twice = normalize_name(&once.name);
            prop_assert_eq!(&twice.name, &once.name);
        }

        #[test]
        fn idempotent_on_name_like_text(raw in "[张張王小曉晓明李四思阿卜杜拉·•・. 　（）()曾用名:]{0,12}") {
            let once = normalize_name(&raw);
            prop_assert_eq!(normalize_name(&once.name).name, once.name.clone());
            if !once.name.is_empty() {
                prop_assert!(name_agreement(&raw, &once.name).agrees());
            }
        }
    }
}
