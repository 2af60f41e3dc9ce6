//! Dates and contribution periods as departments write them: ISO, slashes,
//! dots, compact `YYYYMMDD`, Chinese `2025年1月5日`, with or without a time of
//! day, and Excel serial numbers (days since 1899-12-30, which absorbs Excel's
//! fictitious 1900-02-29). An empty cell is `Ok(None)`; a value that is not a
//! real date is an error, because a required date that cannot be read makes
//! the row structurally broken.

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate};

use super::ValueError;
use super::text::{fold_width, is_blank, is_dash, quote_prefix};

/// Excel serials accepted as dates: 61 is 1900-03-01, the first day after
/// Excel's fictitious leap day; 2958465 is 9999-12-31, Excel's last date.
const EXCEL_SERIAL_MIN: u32 = 61;
const EXCEL_SERIAL_MAX: u32 = 2_958_465;

/// The longest cell worth looking at; a date, even with a time and
/// fractional seconds, is far shorter.
const MAX_LEN: usize = 64;

/// The cell width-folded and trimmed (borrowed when that changes nothing),
/// or `None` when it means "empty".
fn prepare(raw: &str) -> Option<Cow<'_, str>> {
    // Most cells are ASCII without blanks, which folding and trimming leave
    // as they are.
    if raw.bytes().all(|b| b.is_ascii_graphic()) {
        return (!is_placeholder(raw)).then_some(Cow::Borrowed(raw));
    }
    prepare_any(raw).map(Cow::Owned)
}

/// [`prepare`] for any text.
fn prepare_any(raw: &str) -> Option<String> {
    let folded: String = raw.chars().map(fold_width).collect();
    let trimmed = folded.trim_matches(is_blank);
    (!is_placeholder(trimmed)).then(|| close_up_units(trimmed))
}

/// A date written with its units spaced out, as a form's blanks leave it
/// (`2025 年 6 月 3 日`): the blanks beside 年 and 月, and before 日, are
/// dropped; one after 日 (before a time of day) is kept.
fn close_up_units(date: &str) -> String {
    if !date.contains(is_blank) {
        return date.to_owned();
    }
    let chars: Vec<char> = date.chars().collect();
    let mut out = String::with_capacity(date.len());
    for (i, &c) in chars.iter().enumerate() {
        if is_blank(c) {
            let before = chars[..i].iter().rev().find(|&&b| !is_blank(b));
            let after = chars[i + 1..].iter().find(|&&a| !is_blank(a));
            let unit_after = matches!(after, Some('年' | '月' | '日'));
            let unit_before = matches!(before, Some('年' | '月'));
            let digit = |d: Option<&char>| d.is_some_and(char::is_ascii_digit);
            if (unit_after && digit(before)) || (unit_before && digit(after)) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// An empty cell, or one written to say "nothing" or "not known" (a date
/// 不详 is as unknown as one left empty, as an ID number's or a
/// category's is).
fn is_placeholder(trimmed: &str) -> bool {
    matches!(
        trimmed,
        "" | "-" | "—" | "–" | "/" | "无" | "暂无" | "空" | "不详" | "未知" | "不明"
    ) || trimmed.eq_ignore_ascii_case("null")
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses ASCII digits (at most 9 of them, so no overflow).
fn digits_u32(s: &str) -> Option<u32> {
    if !all_digits(s) || s.len() > 9 {
        return None;
    }
    s.parse().ok()
}

/// The date of an Excel serial day number (1900 date system).
pub fn from_excel_serial(serial: u32) -> Option<NaiveDate> {
    if !(EXCEL_SERIAL_MIN..=EXCEL_SERIAL_MAX).contains(&serial) {
        return None;
    }
    // Day 0 is 1899-12-30 for every serial from 61 on: Excel counts a
    // 1900-02-29 that never existed, which shifts the epoch back one day.
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(u64::from(serial)))
}

/// Days from Excel's 1900 date system's day 0 to the 1904 system's
/// (1904-01-01 is serial 1462 in the one, 0 in the other).
const DAYS_1900_TO_1904: u32 = 1462;

/// A cell holding a bare Excel serial of a workbook in the 1904 date
/// system (`44200` for 2025-01-05), written as the 1900 system's serial of
/// the same day (`45662`) for [`parse_date`] and [`parse_period`]; `None`
/// for anything else, which reads as it stands.
pub fn serial_1904_as_1900(raw: &str) -> Option<String> {
    let s = raw.trim();
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) if all_digits(frac) => (int, frac),
        Some(_) => return None,
        None => (s, ""),
    };
    if int.len() != 5 || !all_digits(int) {
        return None;
    }
    let serial = digits_u32(int)? + DAYS_1900_TO_1904;
    Some(if frac.is_empty() {
        serial.to_string()
    } else {
        format!("{serial}.{frac}")
    })
}

/// An Excel serial, possibly with a fractional time of day (`45662.5`).
fn excel_serial(s: &str) -> Option<NaiveDate> {
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    if let Some(frac) = frac
        && !all_digits(frac)
    {
        return None;
    }
    // Eight digits are YYYYMMDD, never a serial.
    if int.len() == 8 {
        return None;
    }
    let serial = digits_u32(int)?;
    // The serials of the days these extracts hold have five digits
    // (10000 is 1927-05-18, 99999 is 2173-10-13), and 2958465 is Excel's
    // 9999-12-31, written for "no end". Any other number is no serial but
    // something else written short or long: a year (`2025`), a month
    // (`202501`), `YYMMDD` (`250105`), a date that lost a digit
    // (`2025015`). Reading it as a day in 1906 or 2584 would be a guess, so
    // it is refused.
    if int.len() != 5 && serial != EXCEL_SERIAL_MAX {
        return None;
    }
    from_excel_serial(serial)
}

/// Year, month and day parts, with the year four digits and the others one
/// or two, as a real date.
fn ymd(year: &str, month: &str, day: &str) -> Option<NaiveDate> {
    if year.len() != 4 || !(1..=2).contains(&month.len()) || !(1..=2).contains(&day.len()) {
        return None;
    }
    let year = i32::try_from(digits_u32(year)?).ok()?;
    NaiveDate::from_ymd_opt(year, digits_u32(month)?, digits_u32(day)?)
}

/// `2025年1月5日` (or `…5号`).
fn chinese_date(s: &str) -> Option<NaiveDate> {
    let (year, rest) = s.split_once('年')?;
    let (month, rest) = rest.split_once('月')?;
    let (day, time) = rest.split_once(['日', '号'])?;
    // A time of day may follow the day without a space (`5日14时30分`).
    let time = time.trim_start_matches(is_blank);
    if !time.is_empty() && !is_time_of_day(time) {
        return None;
    }
    ymd(year.trim(), month.trim(), day.trim())
}

/// A time of day written in Chinese: `14时30分`, `14时30分00秒`, `14点30分`,
/// `14时` (a settlement system's export).
fn is_chinese_time_of_day(s: &str) -> bool {
    let Some((h, rest)) = s.split_once(['时', '点']) else {
        return false;
    };
    let two =
        |p: &str, max: u32| (1..=2).contains(&p.len()) && digits_u32(p).is_some_and(|v| v <= max);
    if !two(h, 24) {
        return false;
    }
    if rest.is_empty() {
        return true;
    }
    let Some((m, rest)) = rest.split_once('分') else {
        return false;
    };
    two(m, 59) && (rest.is_empty() || rest.strip_suffix('秒').is_some_and(|sec| two(sec, 60)))
}

/// A UTC offset after a time: `08`, `0800` or `08:00` (after the sign).
fn is_utc_offset(s: &str) -> bool {
    if !s.is_ascii() {
        return false;
    }
    let (h, m) = match s.len() {
        2 => (s, "00"),
        4 => s.split_at(2),
        5 => match s.split_once(':') {
            Some(hm) => hm,
            None => return false,
        },
        _ => return false,
    };
    h.len() == 2
        && m.len() == 2
        && digits_u32(h).is_some_and(|h| h <= 14)
        && digits_u32(m).is_some_and(|m| m <= 59)
}

/// A time of day after the date: `00:00:00`, `0:00`, `08:30:00.000`, with an
/// optional trailing `Z` or UTC offset (`+08:00`, as a Parquet timestamp
/// with a time zone is written). Its value is dropped — the date is the one
/// written, in the writer's own zone — and only its shape is checked so
/// that trailing garbage is not silently accepted.
fn is_time_of_day(s: &str) -> bool {
    if !s.is_ascii() {
        return is_chinese_time_of_day(s);
    }
    let s = s.strip_suffix(['Z', 'z']).unwrap_or(s);
    let s = match s.rfind(['+', '-']) {
        Some(at) if is_utc_offset(&s[at + 1..]) => &s[..at],
        Some(_) => return false,
        None => s,
    };
    let mut parts = s.split(':');
    let (Some(h), Some(m)) = (parts.next(), parts.next()) else {
        return false;
    };
    let sec = parts.next();
    if parts.next().is_some() {
        return false;
    }
    let two =
        |p: &str, max: u32| (1..=2).contains(&p.len()) && digits_u32(p).is_some_and(|v| v <= max);
    let sec_ok = match sec {
        None => true,
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, "0"));
            two(whole, 60) && all_digits(frac)
        }
    };
    two(h, 24) && two(m, 59) && sec_ok
}

/// The date part of a cell, without a valid time of day after it.
fn strip_time(s: &str) -> Option<&str> {
    let split = s.find(|c: char| c == 'T' || c == 't' || is_blank(c));
    match split {
        None => Some(s),
        Some(at) => {
            let (date, time) = s.split_at(at);
            let time = time
                .trim_start_matches(['T', 't'])
                .trim_start_matches(is_blank);
            is_time_of_day(time).then_some(date)
        }
    }
}

/// Every accepted date form, or `None`.
fn parse_date_str(s: &str) -> Option<NaiveDate> {
    // `YYYY-MM-DD`, the form nearly every date is in, without a search.
    if let [_, _, _, _, b'-', _, _, b'-', _, _] = s.as_bytes()
        && s.is_ascii()
    {
        return ymd(&s[0..4], &s[5..7], &s[8..10]);
    }
    any_date(s)
}

/// [`parse_date_str`] of any text.
fn any_date(s: &str) -> Option<NaiveDate> {
    let date = strip_time(s)?;
    if date.contains('年') {
        return chinese_date(date);
    }
    if all_digits(date) {
        return match date.len() {
            8 => ymd(&date[0..4], &date[4..6], &date[6..8]),
            // A compact timestamp, `YYYYMMDDhhmm` or `YYYYMMDDhhmmss`
            // (`20250105143000`): the date, once its time is one.
            12 | 14 => {
                let time = &date[8..];
                let clock = format!("{}:{}:{}", &time[..2], &time[2..4], &time[4..]);
                let clock = clock.trim_end_matches(':');
                is_time_of_day(clock)
                    .then(|| ymd(&date[0..4], &date[4..6], &date[6..8]))
                    .flatten()
            }
            _ => excel_serial(date),
        };
    }
    if let Some(digits) = crate::normalize::text::float_written(date)
        && digits.len() == 8
    {
        return ymd(&digits[0..4], &digits[4..6], &digits[6..8]);
    }
    let parts: Vec<&str> = date.split(['-', '/', '.']).collect();
    match parts.as_slice() {
        [y, m, d] => ymd(y, m, d),
        // `45662.0`: a serial with a time fraction.
        [_, _] if date.contains('.') && date == s => excel_serial(date),
        _ => None,
    }
}

fn bad(code: &'static str, what: &str, raw: &str) -> ValueError {
    ValueError {
        code,
        message: format!("{what}：{}", quote_prefix(raw, 20)),
    }
}

/// Parses a date cell. `Ok(None)` for an empty cell or a placeholder (`-`,
/// `无`); an error (`bad_date`) for anything that is not a real date.
pub fn parse_date(raw: &str) -> Result<Option<NaiveDate>, ValueError> {
    let Some(s) = prepare(raw) else {
        return Ok(None);
    };
    if s.len() > MAX_LEN {
        return Err(bad("bad_date", "无法识别的日期格式", &s));
    }
    parse_date_str(&s)
        .map(Some)
        .ok_or_else(|| bad("bad_date", "无法识别的日期格式或日期不存在", &s))
}

/// A month of 1900–2100 as `YYYYMM` (a number, e.g. 202511): a contribution or a pension paid in
/// 2501 is `YYMMDD` (`250105`) or some other number, not a month.
fn period_of(year: i32, month: u32) -> Option<u32> {
    let year = u32::try_from(year).ok()?;
    ((1..=12).contains(&month) && (1900..=2100).contains(&year)).then_some(year * 100 + month)
}

/// Every accepted period form, or `None`.
fn parse_period_str(s: &str) -> Option<u32> {
    let s = match crate::normalize::text::float_written(s) {
        Some(digits) if digits.len() == 6 => digits,
        _ => s,
    };
    if all_digits(s) && s.len() == 6 {
        return period_of(
            i32::try_from(digits_u32(&s[..4])?).ok()?,
            digits_u32(&s[4..])?,
        );
    }
    if let Some((year, rest)) = s.split_once('年')
        && let Some(month) = rest.strip_suffix('月')
    {
        let year = i32::try_from(digits_u32(year.trim())?).ok()?;
        let month = month.trim();
        return if year >= 1000 && (1..=2).contains(&month.len()) {
            period_of(year, digits_u32(month)?)
        } else {
            None
        };
    }
    let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
    if let [year, month] = parts.as_slice()
        && year.len() == 4
        && (1..=2).contains(&month.len())
    {
        return period_of(i32::try_from(digits_u32(year)?).ok()?, digits_u32(month)?);
    }
    // A full date (or an Excel serial) stands for its month.
    let date = parse_date_str(s)?;
    period_of(date.year(), date.month())
}

/// Parses a period cell (`费款所属期`, `发放月份`) into `YYYYMM`, e.g. 202511.
/// `Ok(None)` for an empty cell; an error (`bad_period`) otherwise.
pub fn parse_period(raw: &str) -> Result<Option<u32>, ValueError> {
    let Some(s) = prepare(raw) else {
        return Ok(None);
    };
    if s.len() > MAX_LEN {
        return Err(bad("bad_period", "无法识别的所属期格式", &s));
    }
    parse_period_str(&s)
        .map(Some)
        .ok_or_else(|| bad("bad_period", "无法识别的所属期格式", &s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn catalogue_date_forms() {
        let jan5 = d(2025, 1, 5);
        for raw in [
            "2025-01-05",
            "2025/1/5",
            "20250105",
            "2025.01.05",
            "2025年1月5日",
            "2025年01月05日",
            "2025年1月5号",
            "2025-01-05 00:00:00",
            "2025-01-05T08:30:00",
            "2025-01-05T08:30:00Z",
            "2025-01-05T00:00:00+08:00",
            "2025-01-05 23:59:59-05:00",
            "2025-01-05T08:30:00+0800",
            "2025-01-05 08:30:00.000",
            "2025/1/5 0:00",
            "20250105.0",
            "45662",
            "45662.0",
            "45662.5",
            "２０２５－０１－０５",
            "２０２５年１月５日",
            "  2025-1-5\u{3000}",
            // A settlement system's timestamps.
            "20250105143000",
            "202501051430",
            "2025年01月05日 14时30分",
            "2025年1月5日14时30分00秒",
            "2025年1月5日 14点",
            "2025-01-05 14时30分",
            "2025 年 1 月 5 日",
            "2025年 1月 5日",
            " 2025 年 01 月 05 日 14时30分",
        ] {
            assert_eq!(parse_date(raw), Ok(jan5), "{raw:?}");
        }
    }

    #[test]
    fn empty_cells_are_none() {
        for raw in [
            "", "  ", "-", "—", "－", "无", "/", "NULL", "\u{3000}", "不详", "未知", " 不明 ",
        ] {
            assert_eq!(parse_date(raw), Ok(None), "{raw:?}");
            assert_eq!(parse_period(raw), Ok(None), "{raw:?}");
        }
    }

    #[test]
    fn impossible_dates_and_text_are_rejected() {
        for raw in [
            "2025-02-30",
            "2025-13-01",
            "20251301",
            "2025年2月30日",
            "不详细",
            "abc",
            "2025-01",
            "2025-01-05 25:00",
            "2025-01-05 garbage",
            "2025-01-05T08:30:00+8",
            "2025-01-05T08:30:00+25:00",
            "2025-01-05T08:30:00-",
            "25-01-05",
            "45662.x",
            "60",
            "2958466",
            "1.5E+04",
            "2025",
            "1990",
            "20250105250000",
            "2025010514",
            "2025年1月5日 25时",
            "2025年1月5日 14时61分",
            "2025年1月5日 下午",
        ] {
            let err = parse_date(raw).unwrap_err();
            assert_eq!(err.code, "bad_date", "{raw:?}");
        }
    }

    #[test]
    fn error_message_quotes_at_most_twenty_chars() {
        let raw = "这不是一个日期而是一段很长很长的说明文字，包含很多字";
        let err = parse_date(raw).unwrap_err();
        assert!(err.message.starts_with("无法识别"));
        assert!(!err.message.contains("包含很多字"), "{}", err.message);
    }

    #[test]
    fn leap_days() {
        assert_eq!(parse_date("2024-02-29"), Ok(d(2024, 2, 29)));
        assert!(parse_date("2023-02-29").is_err());
        assert!(parse_date("1900-02-29").is_err());
    }

    #[test]
    fn months_written_yyyymm_are_no_serials() {
        for raw in ["202501", "202511", "190001", "210012"] {
            assert!(parse_date(raw).is_err(), "{raw:?}");
        }
        // Five digits are serials: 2099-12-31, 2173-10-13; and Excel's
        // last day, which marks "no end".
        assert_eq!(parse_date("73050"), Ok(d(2099, 12, 31)));
        assert_eq!(parse_date("99999"), Ok(d(2173, 10, 13)));
        assert_eq!(parse_date("10000"), Ok(d(1927, 5, 18)));
        assert_eq!(parse_date("2958465"), Ok(d(9999, 12, 31)));
        // Other numbers are something else written short or long: YYMMDD,
        // YYMM, a date that lost a digit, a number that is no month.
        for raw in [
            "250105", "2510", "99", "100", "9999", "2025015", "202513", "1000000",
            // What a workbook's date cell holding no day of the calendar
            // reads as (`read::xlsx::cell_text`).
            "0", "-1", "0.5", "2958466", "1E+308",
        ] {
            assert!(parse_date(raw).is_err(), "{raw:?}");
            assert!(parse_period(raw).is_err(), "{raw:?}");
        }
        // Months written YYYYMM stay periods.
        assert_eq!(parse_period("202501"), Ok(Some(202501)));
    }

    #[test]
    fn excel_serials_use_the_1900_system() {
        assert_eq!(from_excel_serial(61), d(1900, 3, 1));
        assert_eq!(from_excel_serial(45662), d(2025, 1, 5));
        assert_eq!(from_excel_serial(2_958_465), d(9999, 12, 31));
        assert_eq!(from_excel_serial(60), None);
        assert_eq!(from_excel_serial(2_958_466), None);
    }

    #[test]
    fn catalogue_period_forms() {
        for raw in [
            "202511",
            "2025-11",
            "2025/11",
            "2025年11月",
            "2025.11",
            "2025-11-01",
            "2025-11-30 00:00:00",
            "20251115",
            "２０２５１１",
            "2025年11月3日",
            "202511.0",
            "202511.00",
            "20251115.0",
        ] {
            assert_eq!(parse_period(raw), Ok(Some(202511)), "{raw:?}");
        }
        assert_eq!(parse_period("2025-1"), Ok(Some(202501)));
        // 45962 is 2025-11-01.
        assert_eq!(parse_period("45962"), Ok(Some(202511)));
    }

    #[test]
    fn bad_periods_are_rejected() {
        for raw in [
            "202513",
            "202500",
            "2025-13",
            "2025年0月",
            "十一月",
            "2025",
            "2025-11-31",
            "202511.5",
            "202513.0",
        ] {
            let err = parse_period(raw).unwrap_err();
            assert_eq!(err.code, "bad_period", "{raw:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(raw in any::<String>()) {
            let _ = parse_date(&raw);
            let _ = parse_period(&raw);
        }

        #[test]
        fn dashed_dates_parse_as_any_text_does(raw in "[0-9]{4}-[0-9T:./ +\\-]{2}-[0-9T:./ +\\-]{2}") {
            prop_assert_eq!(parse_date_str(&raw), any_date(&raw));
        }

        #[test]
        fn real_dashed_dates_parse_as_any_text_does(raw in "[0-9]{4}-[01][0-9]-[0-3][0-9]") {
            prop_assert_eq!(parse_date_str(&raw), any_date(&raw));
        }

        #[test]
        fn ascii_cells_prepare_as_any_text_does(raw in "[ -~]{0,12}") {
            prop_assert_eq!(prepare(&raw).map(Cow::into_owned), prepare_any(&raw));
        }

        #[test]
        fn never_panics_on_date_like_text(raw in "[0-9０-９年月日号 :./\\-T]{0,20}") {
            let _ = parse_date(&raw);
            let _ = parse_period(&raw);
        }

        #[test]
        fn formatted_dates_round_trip(days in 0i64..75_000) {
            let date = NaiveDate::from_ymd_opt(1906, 1, 1).unwrap() + chrono::Days::new(days as u64);
            for fmt in ["%Y-%m-%d", "%Y/%-m/%-d", "%Y%m%d", "%Y.%m.%d", "%Y年%-m月%-d日"] {
                let text = date.format(fmt).to_string();
                prop_assert_eq!(parse_date(&text), Ok(Some(date)));
            }
            // Five-digit serials: from 1927-05-18 on.
            let serial = (date - NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days();
            if serial >= 10_000 {
                prop_assert_eq!(parse_date(&serial.to_string()), Ok(Some(date)));
            }
            let period = date.year() as u32 * 100 + date.month();
            let expected = (date.year() <= 2100).then_some(period).ok_or("bad_period");
            prop_assert_eq!(
                parse_period(&date.format("%Y%m").to_string()).map_err(|e| e.code),
                expected.map(Some)
            );
        }
    }
}

/// Parses a school year (`学年`) into its canonical `YYYY-YYYY` form, the
/// year running 1 September to 31 August: `2025-2026`, `2025—2026`,
/// `２０２５－２０２６`, `2025/2026`, `2025至2026学年`, `2025-26`, `2025学年`
/// (the year it starts). A semester named by its calendar year is in the
/// school year it falls in: `2025年春季学期` (or `2025春`, `2025年上半年`)
/// is 2024-2025, `2025年秋季学期` (`2025秋`, `2025年下半年`) 2025-2026. Other
/// words after a single year are not guessed at (`2025级` is the year a
/// class started school): an error. `Ok(None)` for an empty cell.
pub fn parse_school_year(raw: &str) -> Result<Option<String>, ValueError> {
    let folded: String = raw
        .chars()
        .map(fold_width)
        .filter(|c| !is_blank(*c))
        .collect();
    if folded.is_empty() || super::text::is_none_placeholder(&folded) {
        return Ok(None);
    }
    let mut digits: Vec<u32> = folded.chars().filter_map(|c| c.to_digit(10)).collect();
    // A semester of the year (`2025-2026-1`, `2025-2026学年第2学期`) is in
    // the year.
    let semester_taken = matches!(digits.len(), 5 | 7 | 9) && names_a_semester(&folded);
    if semester_taken {
        digits.pop();
    }
    let bad = || ValueError {
        code: "bad_school_year",
        message: format!("无法识别的学年：{}", quote_prefix(raw, 20)),
    };
    if digits.len() < 4 || !folded.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad());
    }
    let mut start = digits[..4].iter().fold(0, |y, d| y * 10 + d);
    if digits.len() == 4 {
        // The words, brackets left out (`2025学年(秋)`).
        let words: String = folded
            .chars()
            .filter(|c| !c.is_ascii_digit() && !matches!(c, '(' | ')' | '（' | '）'))
            .collect();
        start = match single_year_words(&words, semester_taken) {
            Some(back) => start.saturating_sub(back),
            None => return Err(bad()),
        };
    }
    let rest = &digits[4..];
    let end_ok = match rest.len() {
        0 => true,
        2 => rest[0] * 10 + rest[1] == (start + 1) % 100,
        4 => rest.iter().fold(0, |y, d| y * 10 + d) == start + 1,
        _ => false,
    };
    if !(1900..=2100).contains(&start) || !end_ok {
        return Err(bad());
    }
    Ok(Some(format!("{start}-{}", start + 1)))
}

/// What the words after a single year (`words`, the text without its
/// digits) make of it: the school year it starts (`Some(0)`), or for a
/// spring semester of that calendar year the one before (`Some(1)`);
/// `None` for words that are not understood. `semester_taken`: the
/// semester's number was taken off with the digits (`第1学期`), leaving
/// `第` alone.
fn single_year_words(words: &str, semester_taken: bool) -> Option<u32> {
    enum Season {
        Spring,
        Autumn,
        OfTheSchoolYear,
    }
    let semester = |w: &str| {
        let w = w.trim_end_matches("学期");
        match w.strip_suffix('季').unwrap_or(w) {
            "春" | "上半年" => Some(Season::Spring),
            "秋" | "下半年" => Some(Season::Autumn),
            // `第` alone: its number (`第1学期`) was taken off with the
            // digits.
            "第一" | "第二" | "上" | "下" => Some(Season::OfTheSchoolYear),
            "第" if semester_taken => Some(Season::OfTheSchoolYear),
            _ => None,
        }
    };
    if let Some(rest) = words
        .strip_prefix("学年度")
        .or_else(|| words.strip_prefix("学年"))
    {
        // The school year that starts then, or a semester of it.
        return (rest.is_empty() || semester(rest).is_some()).then_some(0);
    }
    if matches!(words, "" | "年" | "年度") {
        return Some(0);
    }
    match semester(words.strip_prefix('年').unwrap_or(words))? {
        Season::Spring => Some(1),
        Season::Autumn => Some(0),
        // `2025年第一学期`: of which school year is not said.
        Season::OfTheSchoolYear => None,
    }
}

/// Whether a school year's text ends in its semester: a 1 or 2 set off
/// by a dash, a slash, a point or 第 (`-1`, `第2学期`).
fn names_a_semester(folded: &str) -> bool {
    let s = folded.trim_end_matches([')', '）']);
    let s = s.strip_suffix("学期").unwrap_or(s);
    let mut back = s.chars().rev();
    matches!(back.next(), Some('1' | '2'))
        && back
            .next()
            .is_some_and(|c| is_dash(c) || matches!(c, '/' | '.' | '_' | '第'))
}

#[cfg(test)]
mod school_year_tests {
    use super::*;

    #[test]
    fn school_years_in_every_spelling() {
        for raw in [
            "2025-2026",
            "2025—2026",
            "２０２５－２０２６",
            "2025/2026",
            "2025至2026学年",
            "2025-2026学年",
            "2025-26",
            "2025学年",
            " 2025 - 2026 ",
            // A semester is in its year.
            "2025-2026-1",
            "2025-2026-2",
            "２０２５－２０２６－１",
            "2025-26-2",
            "2025-2026学年第1学期",
            "2025-2026学年第二学期",
            // A semester by its calendar year.
            "2025年秋季学期",
            "2025秋",
            "2025年秋季",
            "2025年下半年",
            "2026年春季学期",
            "2026春",
            "2026春季",
            "2026年春学期",
            "2026年上半年",
            "2025年",
            "2025年度",
            "2025学年度",
            "2025学年春季学期",
            "2025学年第二学期",
            "2025学年度上学期",
            "2025学年第1学期",
            "2025学年第2学期",
            "2025学年(秋)",
            "2025学年（第一学期）",
            "2025学年(第1学期)",
            "2025-2026学年（第2学期）",
            "2026年(春)",
        ] {
            assert_eq!(
                parse_school_year(raw),
                Ok(Some("2025-2026".to_string())),
                "{raw}"
            );
        }
        assert_eq!(parse_school_year(""), Ok(None));
        for bad in [
            "2025-2027",
            "学年",
            "20252",
            "上学期",
            "1850-1851",
            "2025-2026-3",
            "2025-20261",
            // Words not understood after a single year: not guessed at.
            "2025级",
            "2025年冬季",
            "2025年第一学期",
            "2025学年冬",
            "2025年第1学期",
            "2025-1",
            "2025学年第3学期",
            // A semester's number taken for a year's last digit.
            "202学年第1学期",
            "201学年第9学期",
            "2025学年第",
            "2025学年第学期",
        ] {
            assert!(parse_school_year(bad).is_err(), "{bad}");
        }
    }
}
