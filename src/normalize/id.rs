//! Resident ID numbers per GB 11643-1999 (ISO 7064 MOD 11-2 check character):
//! cleaning the forms they arrive in (full-width digits, spaces, hyphens, a
//! leading apostrophe, lower-case `x`), upgrading 15-digit legacy numbers,
//! classifying what cannot be recovered (Excel scientific notation, "无"),
//! and the birth date, sex and region code they carry. A number that fails
//! its check is kept (status `BadCheck`) for repair, never rejected: the row
//! stays, unlinked, with a data-quality finding.

use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};

use super::text::{fold_width, is_blank, is_dash, is_none_placeholder};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// Birth years outside this range cannot be a living person's real date;
/// they come from typing errors or a number that is not an ID at all.
const MIN_BIRTH_YEAR: i32 = 1880;
const MAX_BIRTH_YEAR: i32 = 2100;

/// The check character of a 17-digit body, or `None` when the body is not
/// 17 ASCII digits.
pub fn check_char(body17: &[u8]) -> Option<u8> {
    if body17.len() != 17 || !body17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = body17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(CHECK_CHARS[(sum % 11) as usize])
}

/// What [`normalize_id`] could make of a raw ID cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdStatus {
    /// 18 characters, a real birth date, the right check character.
    Valid,
    /// A 15-digit legacy number with a real birth date, upgraded to 18.
    Upgraded15,
    /// The right shape but a wrong check character or an impossible birth
    /// date (one after the as-of date among them: see
    /// [`NormalizedId::born_by`]), or an `X` among the first 17 characters
    /// (a check character `X` swapped with the digit before it, a digit
    /// typed as `X`): a typing error, kept for repair.
    BadCheck,
    /// Excel turned the number into `1.10105E+17`; the lost digits can never
    /// be recovered.
    SciNotation,
    /// Empty, or a placeholder meaning "none" (`无`, `/`, `-`, …).
    Empty,
    /// Anything else: wrong length, letters.
    Malformed,
}

impl IdStatus {
    /// Stable lower-case code for outputs and findings.
    pub fn as_str(self) -> &'static str {
        match self {
            IdStatus::Valid => "valid",
            IdStatus::Upgraded15 => "upgraded15",
            IdStatus::BadCheck => "bad_check",
            IdStatus::SciNotation => "sci_notation",
            IdStatus::Empty => "empty",
            IdStatus::Malformed => "malformed",
        }
    }

    /// True when the value can be used to link records as it is.
    pub fn is_linkable(self) -> bool {
        matches!(self, IdStatus::Valid | IdStatus::Upgraded15)
    }
}

/// A cleaned ID number and what was found about it. `value` is the cleaned
/// (or upgraded) number for `Valid`, `Upgraded15`, `BadCheck` and
/// `Malformed`, and `None` for `Empty` and `SciNotation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedId {
    pub value: Option<compact_str::CompactString>,
    pub status: IdStatus,
}

impl NormalizedId {
    /// A linkable number whose birth date falls after `as_of`, the day the
    /// records are judged on, becomes [`IdStatus::BadCheck`]: nobody the
    /// records describe on that day was born after it, so the number holds
    /// an error that its check character does not show (two or more digits
    /// changed). Such a number links no record; as any bad number, it is
    /// repaired only to a known person one typing error away and is a DQ01
    /// finding otherwise.
    pub fn born_by(&mut self, as_of: NaiveDate) {
        if self.status.is_linkable()
            && let Some(born) = self.value.as_deref().and_then(birth_date)
            && born > as_of
        {
            self.status = IdStatus::BadCheck;
        }
    }
}

/// Removes what spreadsheets and typists add around and inside an ID number
/// and upper-cases ASCII letters (`x` → `X`, and `×` too). Quotes are removed only at the
/// start and end: Excel's text prefix `'`, CSV-style double quotes and the
/// formula guard `="…"`.
fn clean(raw: &str) -> String {
    // Most cells are an ID as it should be written: nothing to remove.
    if is_plain_18(raw.as_bytes()) {
        return raw.to_ascii_uppercase();
    }
    clean_char_by_char(raw)
}

/// [`clean`] for any cell, a character at a time.
fn clean_char_by_char(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(64));
    for c in raw.chars() {
        // The multiplication sign is what an input method offers for `X`.
        let c = if c == '×' { 'X' } else { fold_width(c) };
        // A control character (a NUL a broken export left) is no part of it.
        if is_blank(c) || is_dash(c) || c.is_control() {
            continue;
        }
        out.push(c.to_ascii_uppercase());
    }
    let is_quote = |c: char| matches!(c, '\'' | '"' | '‘' | '’' | '“' | '”' | '`');
    // Excel's formula guard of a CSV export, `="110105199001011234"`, and
    // quotes around it, until none is left: a text prefix before the guard
    // (`'="…"`) leaves a guard once the prefix goes.
    let mut trimmed: &str = &out;
    loop {
        // The guard without its quotes (`=341122…`, a script's export) too:
        // every digit is there.
        let unguarded = match trimmed.strip_prefix('=') {
            Some(rest)
                if rest.starts_with(is_quote) || rest.starts_with(|c: char| c.is_ascii_digit()) =>
            {
                rest
            }
            _ => trimmed,
        };
        let inner = unguarded.trim_matches(is_quote);
        if inner.len() == trimmed.len() {
            break;
        }
        trimmed = inner;
    }
    if trimmed.len() != out.len() {
        out = trimmed.to_owned();
    }
    out
}

/// Seventeen ASCII digits and a digit, `X` or `x`: a cell [`clean`] would
/// only upper-case.
fn is_plain_18(b: &[u8]) -> bool {
    b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && matches!(b[17], b'0'..=b'9' | b'X' | b'x')
}

/// Excel's rendering of a long number: `1.10105E+17`, `1.1E17`, `1,10105E+17`
/// (comma decimal). Checked on the cleaned, upper-cased value; the exponent
/// sign `-` has already been stripped as a dash, which is harmless here.
fn is_sci_notation(cleaned: &str) -> bool {
    let b = cleaned.as_bytes();
    let Some(e) = b.iter().position(|&c| c == b'E') else {
        return false;
    };
    let (mantissa, exponent) = (&b[..e], &b[e + 1..]);
    let exponent = exponent.strip_prefix(b"+").unwrap_or(exponent);
    if exponent.is_empty() || !exponent.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let (int, frac) = match mantissa.iter().position(|&c| c == b'.' || c == b',') {
        Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
        None => (mantissa, &mantissa[..0]),
    };
    !int.is_empty() && int.iter().all(u8::is_ascii_digit) && frac.iter().all(u8::is_ascii_digit)
}

/// Whether the digits that scientific notation kept of an ID number
/// (`raw`, as written: Excel's `6.52801E+17`, or a program's
/// `3.4112220130303149E+17`) could be those of the 18-digit number `id18`:
/// the mantissa's leading digits (15 at most, the last of them rounded:
/// up by Excel, either way by a float) are the number's, and the mantissa and exponent give its
/// length (18 digits, or 15 for a legacy number of someone born in the
/// 1900s, compared with `id18`'s 15-digit form). True when `raw` is not
/// scientific notation (nothing to compare).
pub fn sci_notation_fits(raw: &str, id18: &str) -> bool {
    let cleaned = clean(raw);
    if !is_sci_notation(&cleaned) {
        return true;
    }
    let (mantissa, exponent) = cleaned.split_once('E').expect("scientific notation");
    let Ok(exponent) = exponent.trim_start_matches('+').parse::<usize>() else {
        return false;
    };
    let (int, frac) = mantissa.split_once(['.', ',']).unwrap_or((mantissa, ""));
    let int = int.trim_start_matches('0');
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    // The number's length: its integer digits, moved by the exponent.
    let length = if int.is_empty() {
        let zeros = frac.len() - frac.trim_start_matches('0').len();
        exponent.checked_sub(zeros)
    } else {
        Some(int.len() + exponent)
    };
    let id = id18.as_bytes();
    if id.len() != 18 || !id[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let written: Vec<u8> = match length {
        Some(18) => id[..17].to_vec(),
        Some(15) if &id[6..8] == b"19" => [&id[..6], &id[8..17]].concat(),
        _ => return false,
    };
    let k = digits.len().min(15);
    if k == 0 {
        return false;
    }
    let number = |d: &[u8]| std::str::from_utf8(d).ok()?.parse::<u64>().ok();
    let (Some(kept), Some(lead)) = (number(&digits.as_bytes()[..k]), number(&written[..k])) else {
        return false;
    };
    // Rounded at the last kept digit: by Excel to the nearest, so the
    // number's own digits or one more; cut here from a longer mantissa (a
    // float's nearest value, a little below or above), one either way.
    if digits.len() > 15 {
        kept.abs_diff(lead) <= 1
    } else {
        kept == lead || kept == lead + 1
    }
}

/// Whether an 18-character ID carries a real birth date (digits 7–14).
pub fn has_birth_date(id: &str) -> bool {
    id.len() == 18 && date_from_yyyymmdd(&id.as_bytes()[6..14]).is_some()
}

/// A real calendar date from ASCII `YYYYMMDD` within the plausible range.
fn date_from_yyyymmdd(d: &[u8]) -> Option<NaiveDate> {
    if d.len() != 8 || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |s: &[u8]| {
        s.iter()
            .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
    };
    let year = i32::try_from(num(&d[0..4])).ok()?;
    if !(MIN_BIRTH_YEAR..=MAX_BIRTH_YEAR).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, num(&d[4..6]), num(&d[6..8]))
}

/// The birth date (positions 7–14) of an 18-character ID number, when it is a
/// real date between 1880 and 2100.
pub fn birth_date(id18: &str) -> Option<NaiveDate> {
    if id18.len() != 18 {
        return None;
    }
    date_from_yyyymmdd(id18.as_bytes().get(6..14)?)
}

/// True for 18 characters with 17 digits, a real birth date and the right
/// check character (`x` accepted for `X`). The region code is not part of
/// validity; see [`region_status`].
pub fn is_valid_id(id18: &str) -> bool {
    let b = id18.as_bytes();
    if b.len() != 18 {
        return false;
    }
    let Some(expected) = check_char(&b[..17]) else {
        return false;
    };
    b[17].to_ascii_uppercase() == expected && birth_date(id18).is_some()
}

/// Upgrades a 15-digit GB 11643-1989 number: `19` goes before the two-digit
/// year, then the check character is appended. `None` unless 15 ASCII digits.
pub fn upgrade_15(id15: &str) -> Option<String> {
    let b = id15.as_bytes();
    if b.len() != 15 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut body = Vec::with_capacity(18);
    body.extend_from_slice(&b[..6]);
    body.extend_from_slice(b"19");
    body.extend_from_slice(&b[6..]);
    body.push(check_char(&body)?);
    String::from_utf8(body).ok()
}

/// The digits of a 15-digit ID number a float-typed export wrote with a
/// `.0` (pandas: `341122450210442.0`): below 2^53, a float holds every
/// digit. Not an 18-digit one: a float keeps only 15–17 significant digits
/// of it, and a formatter fills the rest with zeros or the float's own
/// digits (`341122198506151500.0` stands for four people, and is a valid
/// number of a fifth).
fn float_written_id(cleaned: &str) -> Option<&str> {
    crate::normalize::text::float_written(cleaned).filter(|digits| digits.len() == 15)
}

/// Cleans and classifies a raw ID cell. Never fails: what cannot be used is
/// said by the status, and whatever digits survive are kept for repair.
pub fn normalize_id(raw: &str) -> NormalizedId {
    let cleaned = clean(raw);
    if cleaned.is_empty() || is_none_placeholder(&cleaned) {
        return NormalizedId {
            value: None,
            status: IdStatus::Empty,
        };
    }
    if is_sci_notation(&cleaned) {
        return NormalizedId {
            value: None,
            status: IdStatus::SciNotation,
        };
    }
    let cleaned = match float_written_id(&cleaned) {
        Some(digits) => digits.to_owned(),
        None => cleaned,
    };
    let b = cleaned.as_bytes();
    let status = if b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X')
    {
        if is_valid_id(&cleaned) {
            IdStatus::Valid
        } else {
            IdStatus::BadCheck
        }
    } else if has_x_in_body(b) {
        IdStatus::BadCheck
    } else if let Some(upgraded) = upgrade_15(&cleaned) {
        // The upgrade computes the check character itself, so only the
        // birth date can make an upgraded number bad.
        let status = if birth_date(&upgraded).is_some() {
            IdStatus::Upgraded15
        } else {
            IdStatus::BadCheck
        };
        return NormalizedId {
            value: Some(upgraded.into()),
            status,
        };
    } else {
        IdStatus::Malformed
    };
    NormalizedId {
        value: Some(cleaned.into()),
        status,
    }
}

/// Sex as coded by the parity of the 17th digit (odd: male, even: female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

/// The sex coded in an 18-character ID number (the 17th digit's parity).
pub fn sex(id18: &str) -> Option<Sex> {
    let b = id18.as_bytes();
    if b.len() != 18 || !b[16].is_ascii_digit() {
        return None;
    }
    Some(if (b[16] - b'0') % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    })
}

/// Age in whole years on `on`, from the birth date in the ID number.
pub fn age_on(id18: &str, on: NaiveDate) -> Option<u32> {
    let born = birth_date(id18)?;
    let mut age = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) {
        age -= 1;
    }
    u32::try_from(age).ok()
}

/// What the first six digits of an ID number say about where it was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionStatus {
    /// A GB/T 2260 division code, current or historical.
    Known,
    /// 81/82/83: Hong Kong, Macao or Taiwan residents' residence permit.
    Permit,
    /// Leading 9: the 2023 foreign permanent-resident ID card.
    PermanentResident,
    /// Not in the division tables: worth a warning, not a rejection, because
    /// the tables are incomplete for old numbers.
    Unknown,
}

/// The embedded division-code list, parsed once into a sorted vector.
fn division_codes() -> &'static [u32] {
    static CODES: OnceLock<Vec<u32>> = OnceLock::new();
    CODES.get_or_init(|| {
        let mut codes: Vec<u32> = include_str!("../../data/division_codes.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.parse().ok())
            .collect();
        // The file is sorted already; sorting again keeps binary search
        // correct even if someone edits it by hand.
        codes.sort_unstable();
        codes.dedup();
        codes
    })
}

/// The division codes as a set of six-digit numbers: asked for every ID of
/// every row, where a binary search showed in profiles.
fn division_set() -> &'static fixedbitset::FixedBitSet {
    static SET: OnceLock<fixedbitset::FixedBitSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = fixedbitset::FixedBitSet::with_capacity(1_000_000);
        for &code in division_codes() {
            set.insert(code as usize);
        }
        set
    })
}

impl RegionStatus {
    /// Stable lower-case code for outputs and findings.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionStatus::Known => "known",
            RegionStatus::Permit => "permit",
            RegionStatus::PermanentResident => "permanent_resident",
            RegionStatus::Unknown => "unknown",
        }
    }
}

/// Classifies the region code (first six digits) of an ID number.
pub fn region_status(id18: &str) -> RegionStatus {
    let Some(prefix) = id18.as_bytes().get(..6) else {
        return RegionStatus::Unknown;
    };
    if !prefix.iter().all(u8::is_ascii_digit) {
        return RegionStatus::Unknown;
    }
    match prefix {
        [b'8', b'1' | b'2' | b'3', ..] => return RegionStatus::Permit,
        [b'9', ..] => return RegionStatus::PermanentResident,
        _ => {}
    }
    let code = prefix
        .iter()
        .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
    if division_set().contains(code as usize) {
        RegionStatus::Known
    } else {
        RegionStatus::Unknown
    }
}

/// An `X` where a digit should be: 18 characters, one `X` among the first
/// 17 and digits elsewhere (the last may be `X`). A typing error like any
/// other, so kept for repair (status `BadCheck`): a check character `X`
/// swapped with the digit before it (`…10X6` typed for `…106X`; one ID in
/// eleven ends in `X`), or a digit typed as `X` (`341X22…`).
pub(crate) fn has_x_in_body(b: &[u8]) -> bool {
    b.len() == 18
        && b[..17].iter().filter(|&&c| c == b'X').count() == 1
        && b[..17].iter().all(|&c| c.is_ascii_digit() || c == b'X')
        && (b[17].is_ascii_digit() || b[17] == b'X')
}

/// The 18-character numbers one typing error away from `id` — one character
/// replaced, or two neighbouring characters swapped — whose check character
/// is right: the only numbers a real person's (always checked) ID could be
/// when `id` is a typo of it. Sorted, without duplicates; empty unless `id`
/// is 17 digits and a digit or `X`, or has one `X` among its first 17
/// characters ([`has_x_in_body`]): then that `X` replaced by a digit, and
/// the swaps that move it to the end.
pub fn check_valid_neighbours(id: &str) -> Vec<String> {
    let b = id.as_bytes();
    if has_x_in_body(b) {
        let valid = |v: &[u8]| check_char(&v[..17]) == Some(v[17]);
        let x = b[..17].iter().position(|&c| c == b'X').expect("one X");
        let mut out: Vec<Vec<u8>> = (b'0'..=b'9')
            .map(|d| {
                let mut v = b.to_vec();
                v[x] = d;
                v
            })
            .chain((0..17).map(|p| {
                let mut v = b.to_vec();
                v.swap(p, p + 1);
                v
            }))
            .filter(|v| valid(v))
            .collect();
        out.sort_unstable();
        out.dedup();
        return out
            .into_iter()
            .map(|v| String::from_utf8(v).expect("ASCII"))
            .collect();
    }
    if b.len() != 18
        || !b[..17].iter().all(u8::is_ascii_digit)
        || !(b[17].is_ascii_digit() || b[17] == b'X')
    {
        return Vec::new();
    }
    let digit = |c: u8| u32::from(c - b'0');
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| digit(d) * w)
        .sum();
    let mut out = Vec::new();
    let mut push = |v: Vec<u8>| out.push(String::from_utf8(v).expect("ASCII"));
    // One body digit replaced: the check character stays.
    for p in 0..17 {
        for d in b'0'..=b'9' {
            if d == b[p] {
                continue;
            }
            let s = sum - digit(b[p]) * WEIGHTS[p] + digit(d) * WEIGHTS[p];
            if CHECK_CHARS[(s % 11) as usize] == b[17] {
                let mut v = b.to_vec();
                v[p] = d;
                push(v);
            }
        }
    }
    // The check character replaced: only the right one.
    let right = CHECK_CHARS[(sum % 11) as usize];
    if right != b[17] {
        let mut v = b.to_vec();
        v[17] = right;
        push(v);
    }
    // Two neighbouring characters swapped.
    for p in 0..17 {
        if b[p] == b[p + 1] {
            continue;
        }
        let mut v = b.to_vec();
        v.swap(p, p + 1);
        if check_char(&v[..17]) == Some(v[17]) {
            push(v);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string one replacement (of a digit or X) or one neighbour swap
    /// away, kept when its check character is right: the slow definition.
    fn neighbours_by_brute_force(id: &str) -> Vec<String> {
        let b = id.as_bytes();
        let mut out = std::collections::BTreeSet::new();
        for p in 0..18 {
            for &c in b"0123456789X" {
                let mut v = b.to_vec();
                v[p] = c;
                out.insert(v);
            }
            if p < 17 {
                let mut v = b.to_vec();
                v.swap(p, p + 1);
                out.insert(v);
            }
        }
        out.into_iter()
            .filter(|v| v.as_slice() != b && check_char(&v[..17]) == Some(v[17]))
            .map(|v| String::from_utf8(v).unwrap())
            .collect()
    }

    #[test]
    fn check_valid_neighbours_are_every_one_typo_number_with_a_right_check() {
        for id in [
            "110105194912310021",
            "11010519491231002X",
            "110105194912310029",
            "44030419851111301X",
            "440304198511113011",
            "000000000000000000",
            "123456789012345678",
            "99999999999999999X",
            // An X among the first 17: a check character X swapped with
            // the digit before it, or a digit typed as X.
            "1101051949123100X2",
            "1101051949123100X1",
            "110105194912310X02",
            "X10105194912310021",
            "1101051949123100XX",
            "3411221990030200X1",
        ] {
            assert_eq!(
                check_valid_neighbours(id),
                neighbours_by_brute_force(id),
                "{id}"
            );
        }
        assert!(check_valid_neighbours("11010519491231002").is_empty());
        assert!(check_valid_neighbours("11010519491231X0X2").is_empty());
        // A check character X swapped with the digit before it: the swap
        // back (…002X), and a 6 typed as X (…0062): two candidates.
        assert_eq!(
            check_valid_neighbours("1101051949123100X2"),
            ["11010519491231002X", "110105194912310062"]
        );
        // Both one typing error away from 3411221990030200X1: the swap back
        // (…001X) and the X replaced (…0001): two candidates.
        assert_eq!(
            check_valid_neighbours("3411221990030200X1"),
            ["341122199003020001", "34112219900302001X"]
        );
    }
    use proptest::prelude::*;

    fn norm(raw: &str) -> (Option<String>, IdStatus) {
        let n = normalize_id(raw);
        (n.value.map(String::from), n.status)
    }

    fn valid(s: &str) -> (Option<String>, IdStatus) {
        (Some(s.to_owned()), IdStatus::Valid)
    }

    #[test]
    fn check_char_of_known_numbers() {
        assert_eq!(check_char(b"61010419620927690"), Some(b'8'));
        assert_eq!(check_char(b"33010219200403064"), Some(b'X'));
        assert_eq!(check_char(b"3301021920040306"), None);
        assert_eq!(check_char(b"3301021920040306A"), None);
    }

    #[test]
    fn status_codes_are_stable() {
        let all = [
            (IdStatus::Valid, "valid"),
            (IdStatus::Upgraded15, "upgraded15"),
            (IdStatus::BadCheck, "bad_check"),
            (IdStatus::SciNotation, "sci_notation"),
            (IdStatus::Empty, "empty"),
            (IdStatus::Malformed, "malformed"),
        ];
        for (status, code) in all {
            assert_eq!(status.as_str(), code);
        }
    }

    #[test]
    fn clean_valid_number_is_valid() {
        assert_eq!(norm("110101199003078670"), valid("110101199003078670"));
        assert_eq!(norm("44011320141005001X"), valid("44011320141005001X"));
    }

    #[test]
    fn lower_case_x_is_upper_cased() {
        assert_eq!(norm("44011320141005001x"), valid("44011320141005001X"));
        assert_eq!(norm("33010219200403064x"), valid("33010219200403064X"));
    }

    #[test]
    fn a_multiplication_sign_is_an_x() {
        assert_eq!(norm("44011320141005001×"), valid("44011320141005001X"));
    }

    #[test]
    fn full_width_digits_and_x() {
        assert_eq!(
            norm("４４０１１３２０１４１００５００１ｘ"),
            valid("44011320141005001X")
        );
        assert_eq!(
            norm("１１０１０１１９９００３０７８６７０"),
            valid("110101199003078670")
        );
    }

    #[test]
    fn spaces_and_hyphens_inside() {
        assert_eq!(norm("110101 19900307 8670"), valid("110101199003078670"));
        assert_eq!(norm("110101-19900307-8670"), valid("110101199003078670"));
        assert_eq!(norm("110101－19900307—8670"), valid("110101199003078670"));
        assert_eq!(
            norm("110101\u{3000}19900307\u{A0}8670"),
            valid("110101199003078670")
        );
        assert_eq!(norm("  110101199003078670  "), valid("110101199003078670"));
        assert_eq!(norm("1101  0119 9003 0786 70"), valid("110101199003078670"));
    }

    #[test]
    fn leading_apostrophe_or_tab() {
        assert_eq!(norm("'110101199003078670"), valid("110101199003078670"));
        assert_eq!(norm("‘110101199003078670"), valid("110101199003078670"));
        assert_eq!(norm("\t110101199003078670"), valid("110101199003078670"));
        assert_eq!(norm("\"110101199003078670\""), valid("110101199003078670"));
        assert_eq!(norm("=\"110101199003078670\""), valid("110101199003078670"));
        assert_eq!(norm("=110101199003078670"), valid("110101199003078670"));
        assert_eq!(
            norm("'=\"110101199003078670\""),
            valid("110101199003078670")
        );
        assert_eq!(
            norm("= \"33010219200403064x\""),
            valid("33010219200403064X")
        );
        assert_eq!(
            norm("\u{FEFF}110101199003078670"),
            valid("110101199003078670")
        );
    }

    #[test]
    fn fifteen_digit_numbers_are_upgraded() {
        let cases = [
            ("610104620927690", "610104196209276908"),
            ("150102880730303", "150102198807303035"),
            ("330102200403064", "33010219200403064X"),
        ];
        for (old, new) in cases {
            assert_eq!(
                norm(old),
                (Some(new.to_owned()), IdStatus::Upgraded15),
                "{old}"
            );
            assert!(is_valid_id(new));
        }
        assert_eq!(upgrade_15("61010462092769"), None);
    }

    #[test]
    fn a_float_export_s_point_zero_leaves_a_15_digit_number_and_no_18_digit_one() {
        // Fifteen digits: a float holds them exactly.
        assert_eq!(
            norm("610104620927690.0"),
            (Some("610104196209276908".to_owned()), IdStatus::Upgraded15)
        );
        // Eighteen digits: a float's, whatever digits a formatter wrote.
        for raw in [
            "341122198506151500.0",
            "110101199003077000.0",
            "110101199003078670.00",
        ] {
            assert_eq!(norm(raw).1, IdStatus::Malformed, "{raw}");
        }
        assert_eq!(norm("61010462092769.0").1, IdStatus::Malformed);
        assert_eq!(norm("610104620927690.5").1, IdStatus::Malformed);
    }

    #[test]
    fn fifteen_digit_with_impossible_date_is_bad_check_but_kept() {
        let n = normalize_id("610104620932690");
        assert_eq!(n.status, IdStatus::BadCheck);
        // 1962-09-32 does not exist; the check character is still computed.
        assert_eq!(n.value.as_deref(), Some("610104196209326901"));
        assert_eq!(check_char(b"61010419620932690"), Some(b'1'));
    }

    #[test]
    fn typing_error_one_digit_changed_is_bad_check_and_kept() {
        // 110101199003078670 with the 8th digit changed.
        assert_eq!(
            norm("110101198003078670"),
            (Some("110101198003078670".to_owned()), IdStatus::BadCheck)
        );
        assert_eq!(
            norm("440308199901101513"),
            (Some("440308199901101513".to_owned()), IdStatus::BadCheck)
        );
    }

    #[test]
    fn typing_error_neighbours_swapped_is_bad_check() {
        // 110101199003078670 with digits 15 and 16 (8, 6) swapped.
        let n = normalize_id("110101199003076870");
        assert_eq!(n.status, IdStatus::BadCheck);
        assert_eq!(n.value.as_deref(), Some("110101199003076870"));
    }

    #[test]
    fn an_x_among_the_first_17_characters_is_bad_check() {
        // 34112219800101106X with its last two characters swapped.
        for raw in [
            "3411221980010110X6",
            "3411221980010110x6",
            " 3411221980010110X6 ",
        ] {
            assert_eq!(
                norm(raw),
                (Some("3411221980010110X6".to_owned()), IdStatus::BadCheck),
                "{raw}"
            );
        }
        // So is a digit typed as X, anywhere; two Xs before the end are
        // two errors.
        assert_eq!(norm("341122198001011X06").1, IdStatus::BadCheck);
        assert_eq!(norm("X41122198001011061").1, IdStatus::BadCheck);
        assert_eq!(norm("X4112219800101106X").1, IdStatus::BadCheck);
        assert_eq!(norm("X411221980010110X6").1, IdStatus::Malformed);
    }

    #[test]
    fn impossible_birth_date_is_bad_check() {
        // Feb 30 and month 13; the value is kept for repair.
        assert_eq!(
            normalize_id("440308199902301512").status,
            IdStatus::BadCheck
        );
        assert_eq!(
            normalize_id("360426199113010079").status,
            IdStatus::BadCheck
        );
        // 1879 is before any living person's birth.
        let mut body = b"11010118790101001".to_vec();
        body.push(check_char(&body).unwrap());
        let old = String::from_utf8(body).unwrap();
        assert_eq!(normalize_id(&old).status, IdStatus::BadCheck);
        assert!(!is_valid_id(&old));
    }

    #[test]
    fn excel_scientific_notation_is_never_recovered() {
        for raw in [
            "1.10105E+17",
            "1.10105e+17",
            "1.10105199001011e+17",
            "1.1E17",
            "1,10105E+17",
            "１.１０１０５Ｅ＋１７",
            " 4.40308E+17 ",
        ] {
            assert_eq!(norm(raw), (None, IdStatus::SciNotation), "{raw}");
        }
    }

    /// The digits Excel kept say whose number it could have been: the
    /// leading digits, the last of them rounded, and the length.
    #[test]
    fn scientific_notation_fits_only_numbers_it_could_have_been() {
        let id = "341122201303031511";
        for raw in [
            "3.41122E+17",
            "3.41123E+17",
            "3,41122E+17",
            "３.４１１２２Ｅ＋１７",
            "3.41122201303031E+17",
            // A program's shortest float, 17 digits, the last made up.
            "3.4112220130303149E+17",
            "34.1122E+16",
            "0.341122E+18",
            "341122E+12",
        ] {
            assert!(sci_notation_fits(raw, id), "{raw}");
        }
        for raw in [
            "6.52801E+17",
            "3.41120E+17",
            "3.41121E+17",
            "3.41124E+17",
            "3.41122E+16",
            "3.41122201303033E+17",
            "34.1122E+17",
        ] {
            assert!(!sci_notation_fits(raw, id), "{raw}");
        }
        // A legacy number's 15 digits (341122 450210 442) of someone born in
        // the 1900s; none for someone born in 2013.
        let old = "341122194502104426";
        assert!(sci_notation_fits("3.41122E+14", old));
        assert!(sci_notation_fits("3.41122450210E+14", old));
        assert!(!sci_notation_fits("3.41122194502E+14", old));
        assert!(!sci_notation_fits("3.41122E+14", id));
        // Not scientific notation: nothing to compare.
        assert!(sci_notation_fits("", id));
        assert!(sci_notation_fits("无", id));
    }

    #[test]
    fn control_characters_inside_are_removed() {
        for raw in ["3411221973\u{0}09051100", "\u{1}341122197309051100\u{7f}"] {
            assert_eq!(norm(raw), valid("341122197309051100"), "{raw:?}");
        }
    }

    #[test]
    fn placeholders_and_blanks_are_empty() {
        for raw in [
            "", "   ", "\t", "无", "/", "／", "-", "—", "－", "空", "null", "NULL", "Null", "0",
            "暂无", "未知", " 无 ", "\u{3000}",
        ] {
            assert_eq!(norm(raw), (None, IdStatus::Empty), "{raw:?}");
        }
    }

    #[test]
    fn wrong_length_or_letters_is_malformed_and_kept() {
        assert_eq!(
            norm("44030819990110"),
            (Some("44030819990110".to_owned()), IdStatus::Malformed)
        );
        assert_eq!(
            norm("T60426199101010078"),
            (Some("T60426199101010078".to_owned()), IdStatus::Malformed)
        );
        assert_eq!(
            norm("3301022011022000D6"),
            (Some("3301022011022000D6".to_owned()), IdStatus::Malformed)
        );
        assert_eq!(norm("身份证遗失").1, IdStatus::Malformed);
        assert_eq!(norm("1101011990030786701").1, IdStatus::Malformed);
    }

    #[test]
    fn birth_date_and_sex() {
        assert_eq!(
            birth_date("110101199003078670"),
            NaiveDate::from_ymd_opt(1990, 3, 7)
        );
        assert_eq!(birth_date("440308199902301512"), None);
        assert_eq!(birth_date("1101011990030786"), None);
        assert_eq!(birth_date("一二三四五六七八九十一二三四五六七八"), None);
        assert_eq!(sex("110101199003078670"), Some(Sex::Male));
        assert_eq!(sex("44011320141005001X"), Some(Sex::Male));
        assert_eq!(sex("810000199408230021"), Some(Sex::Female));
        let on = NaiveDate::from_ymd_opt(2025, 3, 6).unwrap();
        assert_eq!(age_on("110101199003078670", on), Some(34));
        let on = NaiveDate::from_ymd_opt(2025, 3, 7).unwrap();
        assert_eq!(age_on("110101199003078670", on), Some(35));
    }

    #[test]
    fn an_id_born_after_the_as_of_date_is_bad() {
        let as_of = NaiveDate::from_ymd_opt(2025, 11, 30).unwrap();
        let judged = |raw: &str| {
            let mut id = normalize_id(raw);
            id.born_by(as_of);
            id.status
        };
        // Right check characters: born the day after, in 2027, on the day.
        assert_eq!(judged("341122202512011239"), IdStatus::BadCheck);
        assert_eq!(judged("341122202701011238"), IdStatus::BadCheck);
        assert_eq!(judged("341122202511301234"), IdStatus::Valid);
        // A legacy number is born in the 1900s; what is already bad stays so.
        assert_eq!(judged("110105491231002"), IdStatus::Upgraded15);
        assert_eq!(judged("341122202512011230"), IdStatus::BadCheck);
        assert_eq!(judged("无"), IdStatus::Empty);
    }

    #[test]
    fn is_valid_id_never_panics_on_non_ascii() {
        assert!(!is_valid_id("一二三四五六"));
        assert!(!is_valid_id("１１０１０１１９９００３０７８６７０"));
        assert!(!is_valid_id(""));
    }

    #[test]
    fn region_status_classes() {
        assert_eq!(region_status("110101199003078670"), RegionStatus::Known);
        // Legacy 市辖区 codes carried by old numbers.
        assert_eq!(region_status("44040119580101000X"), RegionStatus::Known);
        assert_eq!(region_status("140120197901010008"), RegionStatus::Known);
        assert_eq!(region_status("810000199408230021"), RegionStatus::Permit);
        assert_eq!(region_status("820000200009100032"), RegionStatus::Permit);
        assert_eq!(region_status("830000199201300022"), RegionStatus::Permit);
        assert_eq!(
            region_status("932682198501010017"),
            RegionStatus::PermanentResident
        );
        assert_eq!(region_status("111111199901101512"), RegionStatus::Unknown);
        assert_eq!(region_status("11010"), RegionStatus::Unknown);
        assert_eq!(region_status("一二三四五六七"), RegionStatus::Unknown);
        assert_eq!(
            RegionStatus::PermanentResident.as_str(),
            "permanent_resident"
        );
        assert_eq!(RegionStatus::Unknown.as_str(), "unknown");
    }

    #[test]
    fn division_code_table_is_loaded() {
        let codes = division_codes();
        assert!(codes.len() > 7000, "{}", codes.len());
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        let set = division_set();
        for code in 0..1_000_000u32 {
            assert_eq!(
                set.contains(code as usize),
                codes.binary_search(&code).is_ok(),
                "{code}"
            );
        }
    }

    /// Cross-checks against the vectors compiled from four ID libraries'
    /// test files. Skipped when the shared data folder is not beside the
    /// checkout (e.g. on a CI runner that has only the repository).
    #[test]
    fn shared_test_vectors_agree() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/cn_resident_id_test_vectors.csv"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            println!("skipped: {path} not found");
            return;
        };
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let (id_col, check_col, date_col, upgrade_col) = (
            col("id_number"),
            col("computed_iso7064_check_ok"),
            col("computed_date_ok"),
            col("computed_upgrade_18"),
        );
        let (mut checked18, mut checked15) = (0, 0);
        for line in lines.filter(|l| !l.trim().is_empty()) {
            // The first eight columns hold no quoted commas; the note column
            // may, but it is not read.
            let fields: Vec<&str> = line.split(',').collect();
            let id = fields[id_col];
            if id.chars().count() == 18 {
                let expected = fields[check_col] == "Y" && fields[date_col] == "Y";
                assert_eq!(is_valid_id(id), expected, "{id}");
                checked18 += 1;
            } else if id.len() == 15 && !fields[upgrade_col].is_empty() {
                let n = normalize_id(id);
                assert_eq!(n.value.as_deref(), Some(fields[upgrade_col]), "{id}");
                assert_eq!(n.status, IdStatus::Upgraded15, "{id}");
                checked15 += 1;
            }
        }
        assert!(checked18 >= 40, "{checked18}");
        assert!(checked15 >= 4, "{checked15}");
    }

    /// An 18-character number built from its parts with the right check char.
    fn build_id(region: u32, date: NaiveDate, seq: u32) -> String {
        let body = format!("{region:06}{}{seq:03}", date.format("%Y%m%d"));
        let check = check_char(body.as_bytes()).unwrap();
        format!("{body}{}", check as char)
    }

    fn any_real_date() -> impl Strategy<Value = NaiveDate> {
        let first = NaiveDate::from_ymd_opt(MIN_BIRTH_YEAR, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(MAX_BIRTH_YEAR, 12, 31).unwrap();
        (0..=(last - first).num_days()).prop_map(move |d| first + chrono::Days::new(d as u64))
    }

    proptest! {
        #[test]
        fn never_panics(raw in any::<String>()) {
            let _ = normalize_id(&raw);
            let _ = is_valid_id(&raw);
            let _ = birth_date(&raw);
            let _ = region_status(&raw);
            let _ = sex(&raw);
        }

        #[test]
        fn never_panics_on_id_like_text(raw in "[0-9０-９xXｘ '\\-—.eE+,\t]{0,24}") {
            let _ = normalize_id(&raw);
        }

        #[test]
        fn a_plain_number_is_cleaned_as_any_other_cell(
            raw in "[0-9]{17}[0-9Xx]|[0-9'\"= xX×\\-]{16,20}|[0-9０-９]{17,19}",
        ) {
            prop_assert_eq!(clean(&raw), clean_char_by_char(&raw));
        }

        #[test]
        fn normalising_a_kept_value_is_idempotent(raw in "[0-9]{15}|[0-9]{17}[0-9Xx]") {
            let first = normalize_id(&raw);
            if let Some(value) = &first.value {
                let again = normalize_id(value);
                prop_assert_eq!(again.value.as_ref(), Some(value));
                let expected = match first.status {
                    IdStatus::Valid | IdStatus::Upgraded15 => IdStatus::Valid,
                    other => other,
                };
                prop_assert_eq!(again.status, expected);
            }
        }

        #[test]
        fn built_valid_ids_are_valid(
            region in 0u32..1_000_000, date in any_real_date(), seq in 0u32..1000,
        ) {
            let id = build_id(region, date, seq);
            prop_assert!(is_valid_id(&id));
            prop_assert_eq!(birth_date(&id), Some(date));
            prop_assert_eq!(normalize_id(&id), NormalizedId { value: Some(id.clone().into()), status: IdStatus::Valid });
        }

        #[test]
        fn any_single_digit_change_is_caught(
            region in 0u32..1_000_000, date in any_real_date(), seq in 0u32..1000,
            pos in 0usize..17, delta in 1u8..10,
        ) {
            let mut bytes = build_id(region, date, seq).into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert_ne!(normalize_id(&changed).status, IdStatus::Valid);
            prop_assert!(!is_valid_id(&changed));
        }
    }
}
