//! Character-level helpers shared by the normalisers: folding full-width
//! forms to ASCII, recognising the blanks and dashes that spreadsheets and
//! Chinese input methods leave behind, and quoting a raw value safely in a
//! message. Kept separate so that id, date and money agree on what "a digit"
//! and "a space" are.

/// Folds a full-width ASCII variant (U+FF01..=U+FF5E, e.g. `１`, `Ｘ`, `－`)
/// and the ideographic space to their ASCII forms; other chars pass through.
/// This is the part of NFKC that matters for numbers, without NFKC's cost.
#[inline]
pub fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// A set of characters asked of nearly every cell or character: the Basic
/// Multilingual Plane (every Han character and digit) is a bitmap, one
/// load and a mask a question; the rest is a list.
#[derive(Debug, Clone)]
pub struct CharSet {
    bmp: Box<[u64; 1024]>,
    other: Vec<char>,
}

impl FromIterator<char> for CharSet {
    fn from_iter<I: IntoIterator<Item = char>>(chars: I) -> Self {
        let mut set = CharSet {
            bmp: Box::new([0; 1024]),
            other: Vec::new(),
        };
        for c in chars {
            let n = u32::from(c) as usize;
            if n < 0x10000 {
                set.bmp[n / 64] |= 1 << (n % 64);
            } else {
                set.other.push(c);
            }
        }
        set
    }
}

impl CharSet {
    #[inline]
    pub fn contains(&self, c: char) -> bool {
        let n = u32::from(c) as usize;
        if n < 0x10000 {
            self.bmp[n / 64] & (1 << (n % 64)) != 0
        } else {
            self.other.contains(&c)
        }
    }
}

/// True for characters that carry no content inside a value: Unicode white
/// space (which includes tab, NBSP U+00A0 and the ideographic space U+3000)
/// and the zero-width characters and BOM that copy-paste smuggles in.
#[inline]
pub fn is_blank(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// True for hyphens, dashes and minus signs of any width (`-`, `－`, `—`, …).
#[inline]
pub fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
    )
}

/// Values that mean "nothing recorded" in a text or ID column. Compared after
/// width folding, blank removal and ASCII upper-casing.
pub const NONE_PLACEHOLDERS: &[&str] = &[
    "无", "/", "\\", "-", "—", "空", "NULL", "NONE", "N/A", "NA", "0", "暂无", "未知", "不详",
    "不明", "无证",
];

/// True when `cleaned` (already folded, blank-free, upper-cased) is one of
/// the [`NONE_PLACEHOLDERS`].
pub fn is_none_placeholder(cleaned: &str) -> bool {
    NONE_PLACEHOLDERS.contains(&cleaned)
}

/// The first `max` characters of `raw` (trimmed), with `…` when cut, for use
/// in an error message. Never splits a character.
pub fn quote_prefix(raw: &str, max: usize) -> String {
    let trimmed = raw.trim();
    let mut out: String = trimmed.chars().take(max).collect();
    if trimmed.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_digits_letters_and_space() {
        let folded: String = "１２３ｘＸ－　".chars().map(fold_width).collect();
        assert_eq!(folded, "123xX- ");
    }

    #[test]
    fn blanks_include_nbsp_ideographic_space_and_bom() {
        for c in [' ', '\t', '\u{A0}', '\u{3000}', '\u{FEFF}', '\u{200B}'] {
            assert!(is_blank(c), "{c:?}");
        }
        assert!(!is_blank('a'));
    }

    #[test]
    fn dashes_of_every_width() {
        for c in ['-', '－', '—', '–', '−'] {
            assert!(is_dash(c), "{c:?}");
        }
    }

    #[test]
    fn quote_prefix_cuts_on_char_boundaries() {
        assert_eq!(quote_prefix("  2025年13月  ", 20), "2025年13月");
        assert_eq!(quote_prefix("一二三四五", 3), "一二三…");
    }
}

/// The digits of a whole number written as a float, `202503.0` or
/// `341122002000001.00` (a column a float-typed export wrote, e.g.
/// pandas').
pub fn float_written(s: &str) -> Option<&str> {
    let (digits, zeros) = s.split_once('.')?;
    let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    (all_digits && !zeros.is_empty() && zeros.bytes().all(|b| b == b'0')).then_some(digits)
}

/// A CJK Unified Ideograph of the basic block (U+4E00–U+9FFF): nearly
/// every character of a Chinese name, and none of them changes under NFKC.
#[inline]
pub fn is_common_han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// A character of a Chinese name, rare ones included: the basic block,
/// the extensions (A: U+3400–U+4DBF, 䶮; B onwards: U+20000–U+323AF, 𠈌),
/// the compatibility ideographs (their supplement lies in U+20000–U+323AF
/// too), and 〇 (U+3007, in names as in 陈〇明).
pub fn is_name_han(c: char) -> bool {
    is_common_han(c)
        || matches!(u32::from(c),
            0x3007 | 0x3400..=0x4DBF | 0xF900..=0xFAFF | 0x20000..=0x323AF)
}

/// Whether NFKC leaves `s` as it is. Text of ASCII and CJK Unified
/// Ideographs (U+4E00–U+9FFF, none of which decomposes) — almost every cell
/// an extract holds — is decided by a range check; anything else by the
/// Unicode quick check (`Maybe` counts as no: the caller normalises).
pub fn is_nfkc(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii() || is_common_han(c))
        || unicode_normalization::is_nfkc_quick(s.chars())
            == unicode_normalization::IsNormalized::Yes
}

#[cfg(test)]
mod nfkc_tests {
    use unicode_normalization::UnicodeNormalization;

    use super::is_nfkc;

    #[test]
    fn fast_path_agrees_with_nfkc() {
        for s in [
            "张三",
            "ABC 123",
            "",
            "欧阳娜娜",
            "王\u{3000}五",
            "ＡＢ",
            "李（曾用名）",
            "\u{F900}",
            "é",
        ] {
            assert_eq!(is_nfkc(s), s.nfkc().collect::<String>() == s, "{s:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_says_yes_to_text_nfkc_changes(s in "\\PC{0,12}") {
            if is_nfkc(&s) {
                proptest::prop_assert_eq!(s.nfkc().collect::<String>(), s);
            }
        }
    }
}
