//! Amounts, areas and counts as departments write them: thousands
//! separators, `元`/`万`/`万元` units, currency signs, full-width digits,
//! units such as `㎡` or `人`. Money is exact: it is parsed into an integer
//! mantissa and a decimal scale and converted to integer fen (分) with
//! integer arithmetic, never through a float, so that "income exactly equal to
//! the standard" is decided the same way on every run.

use std::borrow::Cow;

use super::ValueError;
use super::text::{fold_width, is_blank, is_dash, quote_prefix};

/// More significant digits than any real amount has; also keeps every
/// intermediate product far inside i128.
const MAX_DIGITS: usize = 24;

/// A decimal number as written: `negative`, the digits without the point
/// (`mantissa`) and how many of them follow the point (`scale`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    mantissa: i128,
    scale: u32,
}

/// Folds widths, drops blanks and currency signs; `None` for a placeholder
/// meaning "nothing" (`-`, `—`, `/`, `无`, empty).
fn prepare(raw: &str) -> Option<Cow<'_, str>> {
    // Most cells are plain ASCII numbers, which folding leaves as they are.
    if !raw.is_empty()
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b'-'))
    {
        return (!raw.bytes().all(|b| b == b'-')).then_some(Cow::Borrowed(raw));
    }
    prepare_any(raw).map(Cow::Owned)
}

/// Whether an amount is written as a dash (`-`, `—`, `－`, `--`, with
/// blanks or a currency sign around it): how Excel's accounting format
/// shows a zero, and writes it to a CSV. An amount so written is 0; one left
/// empty, `/` or `无` is none.
pub fn is_dash_zero(raw: &str) -> bool {
    let mut dashes = false;
    for c in raw.chars().map(fold_width) {
        if is_dash(c) {
            dashes = true;
        } else if !(is_blank(c) || matches!(c, '¥' | '￥' | '$')) {
            return false;
        }
    }
    dashes
}

/// [`prepare`] for any text.
fn prepare_any(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len().min(64));
    for c in raw.chars() {
        let c = fold_width(c);
        if is_blank(c) || matches!(c, '¥' | '￥' | '$') {
            continue;
        }
        out.push(c);
    }
    let placeholder = out.is_empty()
        || out.chars().all(is_dash)
        || matches!(out.as_str(), "/" | "无" | "暂无" | "空")
        || out.eq_ignore_ascii_case("null");
    (!placeholder).then_some(out)
}

/// Parses `[-+]digits[,digits…][.digits]`. Thousands separators are accepted
/// only in groups of three, so that `1,23` is an error rather than a guess.
fn parse_decimal_text(s: &str) -> Option<Decimal> {
    plain_decimal(s).or_else(|| any_decimal(s))
}

/// [`parse_decimal_text`] of what nearly every amount is, ASCII digits with
/// at most one point and no more than [`MAX_DIGITS`] bytes in all, in one
/// pass; `None` for anything else (which [`any_decimal`] reads, or refuses).
fn plain_decimal(s: &str) -> Option<Decimal> {
    let bytes = s.as_bytes();
    if bytes.len() > MAX_DIGITS {
        return None;
    }
    let mut mantissa = 0i128;
    let mut point = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'0'..=b'9' => mantissa = mantissa * 10 + i128::from(b - b'0'),
            b'.' if point.is_none() => point = Some(i),
            _ => return None,
        }
    }
    let scale = point.map_or(0, |p| bytes.len() - p - 1);
    // Nothing but a point (or nothing at all) is no number.
    (bytes.len() > usize::from(point.is_some())).then_some(Decimal {
        negative: false,
        mantissa,
        scale: scale as u32,
    })
}

/// [`parse_decimal_text`] of any text: signs, thousands separators.
fn any_decimal(s: &str) -> Option<Decimal> {
    let (negative, body) = match s.chars().next()? {
        c if is_dash(c) => (true, &s[c.len_utf8()..]),
        '+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = match body.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (body, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut groups = int.split(',');
    let first = groups.next().unwrap_or_default();
    if !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if int.contains(',') {
        let rest_ok = groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()));
        if first.is_empty() || first.len() > 3 || !rest_ok {
            return None;
        }
    }
    let digits = int.bytes().filter(|&b| b != b',').chain(frac.bytes());
    if int.len() + frac.len() > MAX_DIGITS {
        return None;
    }
    let mantissa = digits.fold(0i128, |acc, b| acc * 10 + i128::from(b - b'0'));
    Some(Decimal {
        negative,
        mantissa,
        scale: u32::try_from(frac.len()).ok()?,
    })
}

/// Splits a trailing unit from the number, if it is one of `units`.
fn strip_unit<'a>(s: &'a str, units: &[&str]) -> &'a str {
    units.iter().find_map(|u| s.strip_suffix(u)).unwrap_or(s)
}

fn bad(code: &'static str, what: &str, raw: &str) -> ValueError {
    ValueError {
        code,
        message: format!("{what}：{}", quote_prefix(raw, 20)),
    }
}

/// `numerator / denominator` rounded half away from zero (denominator > 0).
fn div_round(numerator: i128, denominator: i128) -> i128 {
    let (q, r) = (numerator / denominator, numerator % denominator);
    if 2 * r.abs() >= denominator {
        q + numerator.signum()
    } else {
        q
    }
}

/// Parses an amount in 元 into integer fen. `万`/`万元` multiply by 10,000;
/// more than two decimals are rounded half away from zero. A dash is 0
/// ([`is_dash_zero`]); `Ok(None)` for an empty cell or another placeholder
/// (`/`, `无`); `bad_money` for anything else unreadable.
pub fn parse_money(raw: &str) -> Result<Option<i64>, ValueError> {
    Ok(money_fen(raw)?.map(|(fen, _)| fen))
}

/// [`parse_money`], and whether the amount held a part of a fen that was
/// rounded away.
fn money_fen(raw: &str) -> Result<Option<(i64, bool)>, ValueError> {
    let Some(s) = prepare(raw) else {
        return Ok(is_dash_zero(raw).then_some((0, false)));
    };
    let err = || bad("bad_money", "无法识别的金额", &s);
    // `1000元整`, as a cheque or receipt writes an exact sum.
    let whole = s.strip_suffix('整').unwrap_or(&s);
    let (number, per_unit): (&str, i64) = if whole.ends_with(|c: char| c.is_ascii_digit()) {
        // No unit (nearly every amount).
        (whole, 100)
    } else if let Some(n) = whole
        .strip_suffix("万元")
        .or_else(|| whole.strip_suffix('万'))
    {
        (n, 10_000 * 100)
    } else {
        (
            whole
                .strip_suffix("元")
                .or_else(|| whole.strip_suffix("圆"))
                .unwrap_or(whole),
            100,
        )
    };
    let Some(d) = parse_decimal_text(number) else {
        return Err(err());
    };
    // Up to two decimals (nearly every amount) scale exactly, without the
    // slow 128-bit division.
    let (fen, rounded) = match d.scale {
        0 => (d.mantissa * i128::from(per_unit), false),
        1 => (d.mantissa * i128::from(per_unit / 10), false),
        2 => (d.mantissa * i128::from(per_unit / 100), false),
        _ => {
            let (scaled, unit) = (d.mantissa * i128::from(per_unit), 10i128.pow(d.scale));
            (div_round(scaled, unit), scaled % unit != 0)
        }
    };
    let fen = if d.negative { -fen } else { fen };
    if fen.abs() >= MAX_MONEY_FEN {
        return Err(bad("bad_money", "金额超出合理范围（十亿元以上）", &s));
    }
    i64::try_from(fen)
        .map(|fen| Some((fen, rounded)))
        .map_err(|_| err())
}

/// Whether `raw`, an amount [`parse_money`] reads, holds a part of a fen
/// that it rounds away (`699.995`, `0.0000001万`): the rules then compare
/// the rounded amount, and the row says so (a warning). Cheap for the
/// amounts nearly every cell holds (two decimals or fewer).
pub fn below_fen(raw: &str) -> bool {
    // Fewer than three digits after the point (or no point): whole fen,
    // whatever the unit (万 only makes more of them whole).
    let decimals = raw.rfind(['.', '．']).map_or(0, |p| {
        raw[p..]
            .chars()
            .skip(1)
            .take_while(|c| fold_width(*c).is_ascii_digit())
            .count()
    });
    decimals >= 3 && matches!(money_fen(raw), Ok(Some((_, true))))
}

/// Amounts of a billion yuan or more are refused: no cell of these extracts
/// holds one, but a number pasted into the wrong column (an ID, a card
/// number) does, and the rules' exact arithmetic (a household's incomes
/// summed, scaled and cross-multiplied in 64 bits) must not overflow.
const MAX_MONEY_FEN: i128 = 1_000_000_000 * 100;

/// Units an area or other measured quantity may carry.
const DECIMAL_UNITS: &[&str] = &["平方米", "平米", "㎡", "m²", "M²", "m2", "M2"];

/// Parses a decimal quantity such as a floor area (`89.5`, `89.5㎡`,
/// `89.5平方米`). Floats are fine here: areas are only compared to coarse
/// thresholds, never summed into money.
pub fn parse_decimal(raw: &str) -> Result<Option<f64>, ValueError> {
    let Some(s) = prepare(raw) else {
        return Ok(None);
    };
    let d = parse_decimal_text(strip_unit(&s, DECIMAL_UNITS))
        .ok_or_else(|| bad("bad_number", "无法识别的数值", &s))?;
    // Mantissa and power of ten are both exact in f64 up to 15 digits.
    let value = d.mantissa as f64 / 10f64.powi(i32::try_from(d.scale).unwrap_or(i32::MAX));
    Ok(Some(if d.negative { -value } else { value }))
}

/// Units a count may carry.
const COUNT_UNITS: &[&str] = &["人", "口", "个", "名", "户"];

/// Parses a whole number such as a household size (`3`, `3人`, `3.0`). A
/// fractional part must be zero: `3.5` persons is an error, not 3 or 4.
pub fn parse_integer(raw: &str) -> Result<Option<i64>, ValueError> {
    let Some(s) = prepare(raw) else {
        return Ok(None);
    };
    let err = || bad("bad_number", "无法识别的整数", &s);
    let d = parse_decimal_text(strip_unit(&s, COUNT_UNITS)).ok_or_else(err)?;
    let unit = 10i128.pow(d.scale);
    if d.mantissa % unit != 0 {
        return Err(err());
    }
    let value = d.mantissa / unit;
    let value = if d.negative { -value } else { value };
    i64::try_from(value).map(Some).map_err(|_| err())
}

/// Parses a household's size (保障人数): a whole number of persons from 1
/// to [`MAX_HOUSEHOLD_SIZE`]. Anything else is an error, not a size: an ID
/// number or an amount pasted into the column, or a 0 that would divide
/// the household's income by nothing (the rules then count its member
/// rows, as for a size left empty, and the warning says why).
pub fn parse_household_size(raw: &str) -> Result<Option<i64>, ValueError> {
    match parse_integer(raw)? {
        Some(n) if !(1..=MAX_HOUSEHOLD_SIZE).contains(&n) => Err(bad(
            "bad_number",
            &format!("人数应为 1–{MAX_HOUSEHOLD_SIZE} 的整数"),
            raw.trim(),
        )),
        size => Ok(size),
    }
}

/// The largest household size read as one (see [`parse_household_size`]).
pub const MAX_HOUSEHOLD_SIZE: i64 = 99;

/// Formats fen as 元 with two decimals: 152000 → `1520.00`, -5 → `-0.05`.
pub fn format_fen(fen: i64) -> String {
    let abs = fen.unsigned_abs();
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn below_fen_is_a_part_of_a_fen_rounded_away() {
        for raw in [
            "699.995",
            "19999.995元",
            "800.0049",
            "1,234.567",
            "0.0000001万",
            "１２.３４５",
        ] {
            assert!(below_fen(raw), "{raw}");
        }
        for raw in [
            "699.99",
            "1234.5",
            "12",
            "0.12345万",
            "12.340",
            "1.230元",
            "-",
            "",
            "无",
            "1.2.345",
        ] {
            assert!(!below_fen(raw), "{raw}");
        }
    }

    #[test]
    fn catalogue_money_forms() {
        let cases: &[(&str, i64)] = &[
            ("1,234.50", 123_450),
            ("1234.5元", 123_450),
            ("¥1,234.50", 123_450),
            ("￥12", 1_200),
            ("0.12万", 120_000),
            ("1.5万元", 1_500_000),
            ("１２３４．５", 123_450),
            ("１,２３４.５０元", 123_450),
            (" 1 234.50 ", 123_450),
            ("-12.50", -1_250),
            ("－12.50", -1_250),
            ("+8", 800),
            ("0", 0),
            ("0.00", 0),
            (".5", 50),
            ("1520", 152_000),
            ("1,234,567.89", 123_456_789),
            ("1000元整", 100_000),
            ("1.2万元整", 1_200_000),
            ("800整", 80_000),
        ];
        for (raw, fen) in cases {
            assert_eq!(parse_money(raw), Ok(Some(*fen)), "{raw:?}");
        }
    }

    #[test]
    fn rounds_half_away_from_zero_without_floats() {
        assert_eq!(parse_money("0.125"), Ok(Some(13)));
        assert_eq!(parse_money("0.124"), Ok(Some(12)));
        assert_eq!(parse_money("-0.125"), Ok(Some(-13)));
        // 1.005 is 1.00499999… as a double; exact decimals round it up.
        assert_eq!(parse_money("1.005"), Ok(Some(101)));
        assert_eq!(parse_money("0.000001万"), Ok(Some(1)));
        assert_eq!(parse_money("0.0000004万"), Ok(Some(0)));
    }

    #[test]
    fn placeholders_are_none() {
        for raw in ["", "  ", "-", "—", "－", "/", "无", "--"] {
            assert_eq!(parse_decimal(raw), Ok(None), "{raw:?}");
            assert_eq!(parse_integer(raw), Ok(None), "{raw:?}");
        }
        for raw in ["", "  ", "/", "无", "暂无", "NULL"] {
            assert_eq!(parse_money(raw), Ok(None), "{raw:?}");
        }
    }

    #[test]
    fn an_amount_written_as_a_dash_is_zero() {
        for raw in ["-", "—", "－", "--", " - ", "¥ -", "￥-", "\u{3000}－"] {
            assert_eq!(parse_money(raw), Ok(Some(0)), "{raw:?}");
        }
        for raw in ["-5", "--5", "-/", "无-"] {
            assert_ne!(parse_money(raw), Ok(Some(0)), "{raw:?}");
        }
    }

    #[test]
    fn a_billion_yuan_or_more_is_refused() {
        assert_eq!(parse_money("999999999.99"), Ok(Some(99_999_999_999)));
        assert_eq!(parse_money("-999999999.99"), Ok(Some(-99_999_999_999)));
        // A legacy ID pasted into an amount column; 10 万万; a long number.
        for raw in [
            "1000000000",
            "341122800101003",
            "100000万",
            "-1000000000.00",
            "99999999999999999999999",
        ] {
            let err = parse_money(raw).unwrap_err();
            assert_eq!(err.code, "bad_money", "{raw:?}");
            assert!(err.message.starts_with("金额超出合理范围"), "{raw:?}");
        }
    }

    #[test]
    fn unreadable_money_is_rejected() {
        for raw in [
            "abc",
            "1,23",
            "12,3456",
            "1.2.3",
            "1.5E+04",
            "十二元",
            "12元5角",
            "万",
            ".",
            "1234,50",
            "整",
            "元整",
        ] {
            let err = parse_money(raw).unwrap_err();
            assert_eq!(err.code, "bad_money", "{raw:?}");
            assert!(err.message.starts_with("无法识别的金额"));
        }
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        assert!(parse_money("999999999999999999999").is_err());
        assert!(parse_money("9999999999999999万").is_err());
        assert!(parse_integer("99999999999999999999").is_err());
    }

    #[test]
    fn decimals_with_area_units() {
        for raw in [
            "89.5",
            "89.5㎡",
            "89.5平方米",
            "８９．５",
            "89.50 m²",
            "89.5平米",
        ] {
            assert_eq!(parse_decimal(raw), Ok(Some(89.5)), "{raw:?}");
        }
        assert_eq!(parse_decimal("1,200"), Ok(Some(1200.0)));
        assert_eq!(parse_decimal("大约90").unwrap_err().code, "bad_number");
    }

    /// helper-109's audit: an ID number (or 1000, or 0) in 保障人数 was
    /// taken as the household's size, silently.
    #[test]
    fn a_household_size_is_a_number_of_persons() {
        assert_eq!(parse_household_size("3人"), Ok(Some(3)));
        assert_eq!(parse_household_size("99"), Ok(Some(99)));
        assert_eq!(parse_household_size(""), Ok(None));
        for raw in ["0", "-1", "100", "1000", "341122198001011238", "3.5"] {
            let err = parse_household_size(raw).unwrap_err();
            assert_eq!(err.code, "bad_number", "{raw}");
        }
        let err = parse_household_size("0").unwrap_err();
        assert!(err.message.contains("1–99"), "{}", err.message);
    }

    #[test]
    fn integers_with_count_units() {
        for raw in ["3", "3人", "3.0", "３", " 3 人 ", "3.00"] {
            assert_eq!(parse_integer(raw), Ok(Some(3)), "{raw:?}");
        }
        for raw in ["3.5", "三", "3人口", "x"] {
            assert_eq!(
                parse_integer(raw).unwrap_err().code,
                "bad_number",
                "{raw:?}"
            );
        }
    }

    #[test]
    fn format_fen_examples() {
        assert_eq!(format_fen(152_000), "1520.00");
        assert_eq!(format_fen(-5), "-0.05");
        assert_eq!(format_fen(0), "0.00");
        assert_eq!(format_fen(7), "0.07");
        assert_eq!(format_fen(-123_456), "-1234.56");
        assert_eq!(format_fen(i64::MIN), "-92233720368547758.08");
    }

    proptest! {
        #[test]
        fn never_panics(raw in any::<String>()) {
            let _ = parse_money(&raw);
            let _ = parse_decimal(&raw);
            let _ = parse_integer(&raw);
        }

        #[test]
        fn never_panics_on_money_like_text(raw in "[0-9０-９,.，．万元¥￥\\-+ ]{0,30}") {
            let _ = parse_money(&raw);
            let _ = parse_integer(&raw);
        }

        #[test]
        fn plain_numbers_prepare_as_any_text_does(raw in "[0-9.,\\-]{0,12}") {
            prop_assert_eq!(prepare(&raw).map(Cow::into_owned), prepare_any(&raw));
        }

        #[test]
        fn plain_numbers_parse_as_any_text_does(raw in "[0-9.]{0,30}") {
            if let Some(d) = plain_decimal(&raw) {
                prop_assert_eq!(Some(d), any_decimal(&raw));
            }
            prop_assert_eq!(parse_decimal_text(&raw), any_decimal(&raw));
        }

        #[test]
        fn format_then_parse_round_trips(fen in -99_999_999_999i64..100_000_000_000) {
            prop_assert_eq!(parse_money(&format_fen(fen)), Ok(Some(fen)));
        }
    }
}
