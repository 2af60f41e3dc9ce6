//! Masking of ID numbers and names for everything people read: the
//! people-facing reports (report.xlsx, report.html, unless the run is told
//! `--unmasked`, evidence included) and `hedui cases`.
//! The machine files hold IDs and names in full, evidence included, and are
//! owner-readable only.
//!
//! An 18-digit ID keeps its region code and its last four characters
//! (`110105********1234`); a name keeps its first and, from three
//! characters on, its last character (`张*明`, `张*`). Nothing non-empty is
//! ever shown whole.

use crate::normalize::id::{IdStatus, normalize_id};
use crate::normalize::text::fold_width;

/// The evidence texts of spec/rules.md that quote names other than the
/// finding's own: DQ02 lists every name seen with the ID, DQ06 names the
/// guardian (CB02's holder is handled by [`mask_holder`]). Each entry is
/// (the text before the names, the characters that end a name); names are
/// separated by `、`.
const NAME_SLOTS: &[(&str, &[char])] = &[
    ("同一身份证号对应不同姓名：", &['、', '；', '（', '）']),
    ("监护人（", &['）', '、']),
];

/// Masks an ID number: 15 characters or more keep the first six (the region
/// code) and the last four, shorter values keep a quarter at each end (and
/// nothing below four characters). Every hidden character becomes `*`, so
/// the length shows.
pub fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let n = chars.len();
    let (head, tail) = if n >= 15 { (6, 4) } else { (n / 4, n / 4) };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i + tail >= n { *c } else { '*' })
        .collect()
}

/// Masks a 户编号 that is an 18-character ID number, or one with only its
/// check character wrong (some sites number a household by its head's),
/// or a legacy 15-digit number of someone born in 1930 or later; any other
/// code is shown as it is, for a reviewer to find the household by. A
/// code of county, township and sequence (`341122011001064`) often reads
/// as a legacy ID born in the 1900s or 1910s (township 011: 1901), and is
/// shown.
pub fn mask_household(household_id: &str) -> String {
    if is_id_number(household_id) || is_legacy_id(household_id) {
        mask_id(household_id)
    } else {
        household_id.to_string()
    }
}

/// Whether a 户编号 of 15 digits is a legacy ID number of someone born in
/// 1930 or later (see [`mask_household`]): a township's code is seldom 300
/// or more.
fn is_legacy_id(digits: &str) -> bool {
    digits.len() == 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && &digits[6..8] >= "30"
        && normalize_id(digits).status == IdStatus::Upgraded15
}

/// Whether a code is an 18-character ID number, or one with only its
/// check character wrong (see [`mask_household`]).
fn is_id_number(code: &str) -> bool {
    use crate::normalize::id::has_birth_date;
    let id = normalize_id(code);
    match (id.status, id.value.as_deref()) {
        (IdStatus::Valid, _) => true,
        // An ID number with a typing error in its check character.
        (IdStatus::BadCheck, Some(v)) => has_birth_date(v),
        _ => false,
    }
}

/// Masks a name: `张三明` → `张*明`, `张三` → `张*`, `欧阳娜娜` → `欧**娜`,
/// a one-character name → `*`. Surrounding whitespace is dropped.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_string(),
        2 => format!("{}*", chars[0]),
        n => {
            let mut s = String::with_capacity(name.len());
            s.push(chars[0]);
            s.extend(std::iter::repeat_n('*', n - 2));
            s.push(chars[n - 1]);
            s
        }
    }
}

/// Masks every run of 15 or more digits (an ID number, possibly ending in
/// `X`) inside a text, and the mantissa of an ID that Excel turned into
/// scientific notation when it kept more than the region code
/// (`1.10105199001012E+17`; DQ04 quotes them), an ID written in groups or
/// full-width digits ([`mask_spaced_ids`]), and the names of the files,
/// folders and sheets read that [`mask_label`] masks ([`register_label`]).
pub fn mask_ids_in(text: &str) -> String {
    let labels = LABELS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut text = std::borrow::Cow::Borrowed(text);
    for (label, masked) in labels.iter() {
        if text.contains(label.as_str()) {
            text = std::borrow::Cow::Owned(text.replace(label.as_str(), masked));
        }
    }
    mask_digits(&text)
}

/// Every ID number of a text masked, however its digits are written
/// ([`mask_spaced_ids`], [`mask_runs`]): [`mask_ids_in`] without the names
/// of the files and folders registered, for what must not depend on them
/// (the masked reports, the manifest: a run from another working folder
/// writes the same bytes; a note imported back is compared with its
/// masked form in another process).
pub fn mask_digits(text: &str) -> String {
    mask_runs(&mask_spaced_ids(text), |_| true)
}

/// The names of files, folders and sheets read (see [`register_label`])
/// that hold a part masked by [`mask_label`], each with its masked form,
/// the longest first: [`mask_ids_in`], which every log line and message
/// passes through, shows them masked.
static LABELS: std::sync::RwLock<Vec<(String, String)>> = std::sync::RwLock::new(Vec::new());

/// Notes the name of a file, folder or sheet hedui reads, so that logs and
/// messages ([`mask_ids_in`]) show it as [`mask_label`] masks it: a file
/// named after a person (`pension_张三明_补发.csv`) is named
/// `pension_张*明_补发.csv`. A name with nothing to mask but digits (which
/// [`mask_ids_in`] masks anywhere) is not kept.
pub fn register_label(label: &str) {
    let masked = mask_label(label);
    if masked == mask_digits(label) {
        return;
    }
    let mut labels = LABELS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if labels.iter().any(|(l, _)| l == label) {
        return;
    }
    labels.push((label.to_owned(), masked));
    labels.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
}

/// A file's, folder's or sheet's name with each run of Han characters that
/// reads as a person's name masked, as a header cell is
/// ([`crate::extract::header_for_message`]: two to four characters from a
/// common surname, none a header word's), and its ID numbers:
/// `pension_张三明_补发.csv` → `pension_张*明_补发.csv`, `王芳户` → `王*户`.
/// A run that does not read as a name whole is split at the words such
/// names join a name with ([`LABEL_WORDS`]: `低保户张三明` → `低保户张*明`,
/// `张三明补发` → `张*明补发`); a name joined with other words is not known
/// to be one.
pub fn mask_label(label: &str) -> String {
    use crate::normalize::text::is_name_han;
    let mut out = String::with_capacity(label.len());
    let mut run = String::new();
    // A minority name written with a separator (`阿卜杜拉・买买提`): a name
    // whatever its length, masked as a report masks it. Not a full stop
    // between words: `名册.备份.xlsx` is no name.
    let is_separator = |c: char| matches!(c, '·' | '•' | '・' | '･');
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().any(is_separator) {
            match run.strip_suffix('户') {
                Some(name) => {
                    out.push_str(&mask_name(name));
                    out.push('户');
                }
                None => out.push_str(&mask_name(run)),
            }
            run.clear();
        } else if !run.is_empty() {
            out.push_str(&mask_han_run(run));
            run.clear();
        }
    };
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        let joins = is_separator(c)
            && !run.is_empty()
            && !run.ends_with(is_separator)
            && chars.peek().copied().is_some_and(is_name_han);
        if is_name_han(c) || joins {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    mask_digits(&out)
}

/// The words that the names of files and sheets about one household join
/// a person's name with (`低保户张三明.txt`, `王芳补发`, `唐言之家庭情况`),
/// longest first where one begins another.
const LABEL_WORDS: &[&str] = &[
    "低收入户",
    "低保户",
    "特困户",
    "困难户",
    "五保户",
    "贫困户",
    "低保金",
    "低收入",
    "低保",
    "特困",
    "救助",
    "补发",
    "补助",
    "家庭",
    "情况",
    "申请",
    "材料",
    "名单",
    "名册",
    "台账",
    "明细",
    "说明",
    "资料",
    "信息",
    "核对",
    "核查",
    "户主",
    "本人",
    "养老金",
    "发放",
    "医保",
    "参保",
    "结算",
    "登记",
    "缴费",
    "社保",
    "失业",
    "不动产",
    "危房",
    "改造",
    "学籍",
    "资助",
    "查询",
    "结果",
    "数据",
    "清单",
    "汇总",
    "统计",
    "身份证",
    "证明",
    "户口本",
    "户口",
    "退休金",
    "养老",
    "医疗费",
    "医疗",
    "个人",
    "夫妇",
    "关于",
    "住院",
    "门诊",
    "病历",
    "诊断",
    "承诺书",
    "复印件",
    "照片",
    "档案",
    "房产",
    "车辆",
    "收入",
    "财产",
    "工程",
    "户",
    "和",
    "的",
    "表",
];

/// A run of Han characters of a label, masked as [`mask_label`] says:
/// whole when it reads as a name, else each piece between the words of
/// [`LABEL_WORDS`] of two characters or more judged the same way, and a
/// piece that is still no name split at the one-character words last (so
/// that `低保户王和平` keeps `王和平` whole: `王*平`).
fn mask_han_run(run: &str) -> String {
    // Words alone are no name, though one may read as a name whole (房产:
    // 房 is a surname).
    if made_of_words(run, LABEL_WORDS) {
        return run.to_owned();
    }
    let long: Vec<&str> = LABEL_WORDS
        .iter()
        .copied()
        .filter(|w| w.chars().count() > 1)
        .collect();
    let short: Vec<&str> = LABEL_WORDS
        .iter()
        .copied()
        .filter(|w| w.chars().count() == 1)
        .collect();
    mask_pieces(run, &[&long, &short])
}

/// Whether `text` is one or more of `words` one after another, nothing
/// else.
fn made_of_words(text: &str, words: &[&str]) -> bool {
    // ends[i]: whether text[..i] is made of words (i a char boundary).
    let mut ends = vec![false; text.len() + 1];
    ends[0] = true;
    for at in 0..text.len() {
        if !ends[at] || !text.is_char_boundary(at) {
            continue;
        }
        for w in words {
            if text[at..].starts_with(w) {
                ends[at + w.len()] = true;
            }
        }
    }
    !text.is_empty() && ends[text.len()]
}

/// [`mask_han_run`]'s steps: `text` judged whole, else split at the
/// first list of words and each piece between them judged with the rest;
/// at the last list (one-character words, which names hold too:
/// 张和平), see [`mask_at_short_words`].
fn mask_pieces(text: &str, words: &[&[&str]]) -> String {
    let whole = crate::extract::header_for_message(text, false);
    if whole != text {
        return whole;
    }
    let (first, rest_words) = match words {
        [] => return whole,
        [last] => return mask_at_short_words(text, last),
        [first, rest @ ..] => (first, rest),
    };
    let mut out = String::with_capacity(text.len());
    let mut piece = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match first.iter().find(|w| rest.starts_with(**w)) {
            Some(word) => {
                if !piece.is_empty() {
                    out.push_str(&mask_pieces(&piece, rest_words));
                    piece.clear();
                }
                out.push_str(word);
                rest = &rest[word.len()..];
            }
            None => {
                piece.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !piece.is_empty() {
        out.push_str(&mask_pieces(&piece, rest_words));
    }
    out
}

/// `text`, no name whole, cut at one-character words that names may hold
/// too (`张和平户表`, `孙和平和王芳`): the shortest part before such a word
/// that reads as a name is masked, and the rest after the word is taken
/// the same way (`张*平户表`, `孙*平和王*`); where no part does, the text
/// is shown.
fn mask_at_short_words(text: &str, words: &[&str]) -> String {
    let judge = |t: &str| crate::extract::header_for_message(t, false);
    let whole = judge(text);
    if whole != text {
        return whole;
    }
    let cuts = text.char_indices().filter_map(|(at, _)| {
        words
            .iter()
            .find(|w| text[at..].starts_with(**w))
            .map(|w| (at, *w))
    });
    let mut first_cut = None;
    for (at, word) in cuts {
        first_cut.get_or_insert((at, word));
        let head = &text[..at];
        let masked = judge(head);
        if !head.is_empty() && masked != head {
            let rest = &text[at + word.len()..];
            return format!("{masked}{word}{}", mask_at_short_words(rest, words));
        }
    }
    match first_cut {
        Some((at, word)) => {
            let rest = &text[at + word.len()..];
            format!("{}{word}{}", &text[..at], mask_at_short_words(rest, words))
        }
        None => whole,
    }
}

/// Masks the ID numbers of a text written with separators between their
/// digits (`341122 19800101 1238`, `341122-1980…`) or in full-width
/// digits (`３４１１…`), as a file named after a person may hold one:
/// digits (ASCII or full-width) with a blank or dash between groups, 15
/// or 18 of them, or 17 and an `X`, in a run of their own. The digits
/// hidden become `*`, the separators stay. An unbroken run of ASCII digits
/// is left to [`mask_runs`].
fn mask_spaced_ids(text: &str) -> std::borrow::Cow<'_, str> {
    let is_digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
    let is_separator = |c: char| matches!(c, ' ' | '\u{3000}' | '-' | '－');
    if !text.chars().any(|c| is_digit(c) && !c.is_ascii_digit()) && !text.chars().any(is_separator)
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_digit(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // Digit groups with one separator between each two.
        let start = i;
        let mut end = i;
        while end < chars.len() && is_digit(chars[end]) {
            end += 1;
        }
        while end + 1 < chars.len() && is_separator(chars[end]) && is_digit(chars[end + 1]) {
            end += 1;
            while end < chars.len() && is_digit(chars[end]) {
                end += 1;
            }
        }
        let digits = chars[start..end].iter().filter(|c| is_digit(**c)).count();
        let x = digits == 17 && matches!(chars.get(end), Some('X' | 'x' | 'Ｘ' | 'ｘ'));
        let end = end + usize::from(x);
        let plain = chars[start..end].iter().all(|c| c.is_ascii_alphanumeric());
        if plain || !(digits == 15 || digits == 18 || x) {
            out.extend(&chars[start..end]);
        } else {
            // Keep the first six digits and the last four characters.
            let total = digits + usize::from(x);
            let mut seen = 0;
            for &c in &chars[start..end] {
                if is_separator(c) {
                    out.push(c);
                    continue;
                }
                seen += 1;
                out.push(if seen <= 6 || seen > total - 4 {
                    c
                } else {
                    '*'
                });
            }
        }
        i = end;
    }
    std::borrow::Cow::Owned(out)
}

/// An input file's name as a masked report shows it: a person's name or ID
/// number in it (a file named after the person it is about) masked
/// ([`mask_label`]), as in its sources ([`mask_sources`]).
pub fn mask_file_name(name: &str, masked: bool) -> std::borrow::Cow<'_, str> {
    if masked {
        std::borrow::Cow::Owned(mask_label(name))
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

/// A finding's sources (`extract:file:row` joined by `;`, a workbook's
/// row `sheet!row`) as a masked report shows them: each file's and sheet's
/// name masked as [`mask_label`] masks it, and every ID number.
pub fn mask_sources(sources: &str) -> String {
    // Nearly every file is named in ASCII: no name in it.
    if sources.is_ascii() {
        return mask_digits(sources);
    }
    let masked: Vec<String> = sources
        .split(';')
        .map(|source| {
            let Some((extract, rest)) = source.split_once(':') else {
                return source.to_owned();
            };
            let Some((file, row)) = rest.rsplit_once(':') else {
                return source.to_owned();
            };
            let row = match row.rsplit_once('!') {
                Some((sheet, n)) => format!("{}!{n}", mask_label(sheet)),
                None => row.to_owned(),
            };
            format!("{extract}:{}:{row}", mask_label(file))
        })
        .collect();
    mask_digits(&masked.join(";"))
}

/// [`mask_ids_in`] for the evidence hedui writes, which quotes the ID
/// numbers it names (`「…」`, masked by [`mask_quoted_ids`]): a run of
/// digits there is a 户编号 (CB05), a settlement number (DY02) or a
/// property unit (CB02), shown as written for a reviewer to find the record
/// by, as the 户编号 column shows its code ([`mask_household`]), unless it
/// holds an ID number ([`holds_id_number`]). Scientific notation is masked
/// as there.
fn mask_ids_in_evidence(text: &str) -> String {
    mask_runs(text, holds_id_number)
}

/// Whether a run of 15 or more digits (an `X` after the last counts) holds
/// an ID number: it is one as the 户编号 column judges one
/// ([`is_id_number`]), or starts or ends with one, or any 18 characters of
/// it are a valid one (a settlement number of a prefix, the patient's ID
/// and a sequence); 17 digits with a real birth date (an ID whose check
/// character was written `×`: the digits give it); 15 digits that are a
/// legacy number of someone born in 1901 or later (a code of county,
/// township and sequence, `341122001001008`, reads as born in 1900), and
/// such a number of a known region anywhere in a longer run.
fn holds_id_number(run: &str) -> bool {
    use crate::normalize::id::{RegionStatus, has_birth_date, region_status};
    let legacy =
        |digits: &str| &digits[6..8] != "00" && normalize_id(digits).status == IdStatus::Upgraded15;
    let n = run.len();
    match n {
        15 => legacy(run),
        17 => has_birth_date(&format!("{run}0")),
        _ => {
            is_id_number(run)
                || (n > 18
                    && (is_id_number(&run[..18])
                        || is_id_number(&run[n - 18..])
                        || (0..=n - 18)
                            .any(|i| normalize_id(&run[i..i + 18]).status == IdStatus::Valid)))
                || (0..=n - 15).any(|i| {
                    let w = &run[i..i + 15];
                    w.bytes().all(|b| b.is_ascii_digit())
                        && region_status(w) == RegionStatus::Known
                        && legacy(w)
                })
        }
    }
}

/// Masks the runs of 15 or more digits (with an ID's closing `X`) that
/// `is_id` takes for an ID number, and every mantissa of scientific notation
/// that kept more than the region code (see [`mask_ids_in`]).
fn mask_runs(text: &str, is_id: impl Fn(&str) -> bool) -> String {
    // What is masked has 15 digits in a row, or seven around a decimal
    // point (scientific notation): eight bytes or more of digits and points
    // in a row. Most evidence (amounts, dates) has none.
    let longest_run = text
        .as_bytes()
        .split(|b| !(b.is_ascii_digit() || *b == b'.'))
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    if longest_run < 8 {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    let digits_from = |mut i: usize| {
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            i = digits_from(i);
            let mut digits = i - start;
            if i < chars.len() && matches!(chars[i], 'X' | 'x') && digits >= 17 {
                i += 1;
            } else if chars.get(i) == Some(&'.')
                && chars.get(i + 1).is_some_and(char::is_ascii_digit)
            {
                let end = digits_from(i + 1);
                if matches!(chars.get(end), Some('E' | 'e')) {
                    digits += end - i - 1;
                    i = end;
                }
            }
            let run: String = chars[start..i].iter().collect();
            if run.contains('.') {
                out.push_str(&mask_sci_mantissa(&run));
            } else if digits >= 15 && is_id(&run) {
                out.push_str(&mask_id(&run));
            } else {
                out.push_str(&run);
            }
            // The fraction of a decimal number (a log's `seconds=
            // 11.428989595000001`) is no ID number, however many digits.
            if !run.contains('.')
                && chars.get(i) == Some(&'.')
                && chars.get(i + 1).is_some_and(char::is_ascii_digit)
            {
                let end = digits_from(i + 1);
                out.extend(&chars[i..end]);
                i = end;
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Masks the evidence of a finding about `subject` (its name): every ID
/// number, every occurrence of the subject's name, the names in the
/// [`NAME_SLOTS`] of the rules that quote other names, and CB02's
/// `；NAME 名下`.
pub fn mask_evidence(evidence: &str, subject: &str) -> String {
    mask_text(&mask_ids_in_evidence(&mask_quoted_ids(evidence)), subject)
}

/// Quotes a raw ID number as DQ01, DQ03 and DQ04 quote it in evidence:
/// `「…」`, a `」` inside it doubled, so that [`mask_evidence`] finds
/// where the quote ends whatever the cell held.
pub fn quote_raw(raw: &str) -> String {
    format!("「{}」", raw.replace('」', "」」"))
}

/// The pieces of an evidence text: text outside quotes, and the raw values
/// quoted by [`quote_raw`] (undoubled). A `「` without its `」` is text.
enum Piece<'a> {
    Text(&'a str),
    Quoted(String),
}

fn pieces(evidence: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = evidence;
    'quotes: while let Some(open) = rest.find('「') {
        let inner = &rest[open + '「'.len_utf8()..];
        let mut quoted = String::new();
        let mut chars = inner.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if c != '」' {
                quoted.push(c);
            } else if chars.peek().is_some_and(|&(_, next)| next == '」') {
                chars.next();
                quoted.push('」');
            } else {
                out.push(Piece::Text(&rest[..open]));
                out.push(Piece::Quoted(quoted));
                rest = &inner[at + '」'.len_utf8()..];
                continue 'quotes;
            }
        }
        break;
    }
    out.push(Piece::Text(rest));
    out
}

/// Masks the ID numbers quoted by [`quote_raw`] as they stood in the
/// file: each is masked whole as an ID ([`mask_id`]), however it was typed
/// (full-width digits, spaces, a stray letter, Chinese numerals); an ID in
/// scientific notation shows no more than its region code; a placeholder
/// (`无`, `/`, `0`) is shown as it is.
fn mask_quoted_ids(evidence: &str) -> String {
    if !evidence.contains('「') {
        return evidence.to_owned();
    }
    let mut out = String::with_capacity(evidence.len());
    for piece in pieces(evidence) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Quoted(raw) => out.push_str(&quote_raw(&mask_raw_id(&raw))),
        }
    }
    out
}

/// The mantissa of an ID number in scientific notation with no more than
/// its region code shown: every digit after the sixth is `*`
/// (`1.10105199001012` → `1.10105*********`; full-width digits count).
fn mask_sci_mantissa(mantissa: &str) -> String {
    let mut digits = 0;
    mantissa
        .chars()
        .map(|c| {
            if !fold_width(c).is_ascii_digit() {
                return c;
            }
            digits += 1;
            if digits > 6 { '*' } else { c }
        })
        .collect()
}

/// A raw ID value masked for people (see [`mask_quoted_ids`]).
pub fn mask_raw_id(raw: &str) -> String {
    match normalize_id(raw).status {
        IdStatus::Empty => raw.to_string(),
        IdStatus::SciNotation => {
            // Excel's exponent has two digits (`E+17`); a longer one is a
            // typed ID with an `E` in it, masked whole. A mantissa of no
            // more than a region code's six digits is shown, a longer one
            // masked as an ID.
            let at = raw.rfind(['E', 'e', 'Ｅ', 'ｅ']).unwrap_or(raw.len());
            let (mantissa, exponent) = raw.split_at(at);
            let digits = |s: &str| {
                s.chars()
                    .filter(|&c| fold_width(c).is_ascii_digit())
                    .count()
            };
            if digits(exponent) > 2 {
                mask_id(raw)
            } else {
                format!("{}{exponent}", mask_sci_mantissa(mantissa))
            }
        }
        _ => mask_id(raw),
    }
}

/// An evidence text as hedui wrote it before findings.csv held raw ID
/// numbers in full: DQ01's quoted ID as [`mask_id`] masked it, and DQ03's
/// list of them unquoted, masked, in the order of their masked form (two
/// that masked alike once). The case ledger compares a verdict's evidence
/// in this form too, so that a case dismissed then is not raised again
/// only because the text changed.
pub fn with_raw_ids_masked(evidence: &str) -> String {
    let pieces = pieces(evidence);
    let old_id = |raw: &str| {
        !matches!(
            normalize_id(raw).status,
            IdStatus::Empty | IdStatus::SciNotation
        )
    };
    if evidence.contains("原号码：")
        && let Some(list) = dq03_as_masked_before(&pieces)
    {
        return list;
    }
    let mut out = String::with_capacity(evidence.len());
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Quoted(raw) if old_id(&raw) => out.push_str(&format!("「{}」", mask_id(&raw))),
            Piece::Quoted(raw) => out.push_str(&quote_raw(&raw)),
        }
    }
    out
}

/// DQ03's `…原号码：「raw」（姓名…，field）、「raw」（…）；请核实` as it was
/// written before: `…原号码：MASKED（姓名…，field）、…；请核实`, the entries
/// sorted and deduplicated by their masked text. `None` when the text is
/// not of that form.
fn dq03_as_masked_before(pieces: &[Piece]) -> Option<String> {
    let [Piece::Text(head), rest @ ..] = pieces else {
        return None;
    };
    let mut entries = std::collections::BTreeSet::new();
    let mut tail = "";
    for (i, pair) in rest.chunks(2).enumerate() {
        let [Piece::Quoted(raw), Piece::Text(after)] = pair else {
            return None;
        };
        let close = after.find('）')? + '）'.len_utf8();
        entries.insert(format!("{}{}", mask_id(raw), &after[..close]));
        let between = &after[close..];
        if i + 1 < rest.len() / 2 {
            if between != "、" {
                return None;
            }
        } else {
            tail = between;
        }
    }
    Some(format!(
        "{head}{}{tail}",
        entries.into_iter().collect::<Vec<_>>().join("、")
    ))
}

/// Masks the names in a text whose ID numbers are masked already: the
/// subject's and those of the [`NAME_SLOTS`] (see [`mask_evidence`]).
fn mask_text(masked_ids: &str, subject: &str) -> String {
    let mut text = masked_ids.to_owned();
    // Each pass only where its text occurs: most evidence holds no slot
    // and no holder, and a report masks every finding's evidence and note.
    // The slots first: a name there that holds the subject's
    // (`王芳原名王方`) is masked whole, not left as `王*原名王方`.
    for (open, seps) in NAME_SLOTS {
        if text.contains(open) {
            text = mask_slot(&text, open, seps);
        }
    }
    let subject = subject.trim();
    if !subject.is_empty() && text.contains(subject) {
        text = text.replace(subject, &mask_name(subject));
    }
    if text.contains(HOLDER_MARK) {
        text = mask_holder(&text);
    }
    text
}

/// Masks a reviewer's note on a finding about `subject` as its evidence is
/// masked: ID numbers and the subject's name. A reviewer may type an ID
/// with a Chinese input method (full-width digits) or in groups
/// (`341122 19800101 1238`): its full-width digits are folded and such
/// groups joined first. A note imported back as its masked form leaves the stored
/// note as it is (see the review import).
pub fn mask_note(note: &str, subject: &str) -> String {
    // Most findings have no note.
    if note.is_empty() {
        return String::new();
    }
    // Full-width digits and X become ASCII; nothing else changes.
    let folded: String = note
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            'Ｘ' | 'ｘ' => 'X',
            c => c,
        })
        .collect();
    let spelled = mask_spellings(&folded, subject.trim());
    mask_text(&mask_digits(&join_digit_groups(&spelled)), subject)
}

/// Masks the subject's name where a note writes it another way: spaced
/// out (`王 风 雪`, `王　风雪`) or in traditional characters (`王風雪`), as
/// the name is matched elsewhere. The name as written is left to
/// [`mask_text`].
fn mask_spellings(note: &str, subject: &str) -> String {
    use crate::normalize::name::simplify_char;
    let name: Vec<char> = subject.chars().map(simplify_char).collect();
    if name.len() < 2 || name.iter().any(|c| c.is_whitespace()) {
        return note.to_string();
    }
    let chars: Vec<char> = note.chars().collect();
    let mut out = String::with_capacity(note.len());
    let mut i = 0;
    while i < chars.len() {
        // The span from i that spells the name, blanks between its characters.
        let mut end = i;
        let mut matched = 0;
        while matched < name.len() && end < chars.len() {
            if matched > 0 && chars[end].is_whitespace() {
                end += 1;
            } else if simplify_char(chars[end]) == name[matched] {
                matched += 1;
                end += 1;
            } else {
                break;
            }
        }
        let span: String = chars[i..end.min(chars.len())].iter().collect();
        if matched == name.len() && span != subject {
            out.push_str(&mask_name(subject));
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Joins runs of digits separated by one space or hyphen when they hold 15
/// digits or more together (an ID number typed in groups); other text is
/// left as it is.
fn join_digit_groups(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The run: digits, with single separators between digit groups.
        let mut end = i;
        let mut digits = String::new();
        while end < chars.len() {
            if chars[end].is_ascii_digit() {
                digits.push(chars[end]);
                end += 1;
            } else if matches!(chars[end], ' ' | '-')
                && chars.get(end + 1).is_some_and(char::is_ascii_digit)
            {
                end += 1;
            } else {
                break;
            }
        }
        if digits.len() >= 15 {
            out.push_str(&digits);
        } else {
            out.extend(&chars[i..end]);
        }
        i = end;
    }
    out
}

/// Masks the names that follow `open`, separated by any of `seps`, up to
/// the end of the text or a separator that is not `、`.
fn mask_slot(text: &str, open: &str, seps: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(open) {
        out.push_str(&rest[..at + open.len()]);
        rest = &rest[at + open.len()..];
        loop {
            let end = rest.find(seps).unwrap_or(rest.len());
            out.push_str(&mask_name_once(&rest[..end]));
            rest = &rest[end..];
            match rest.chars().next() {
                Some('、') => {
                    out.push('、');
                    rest = &rest['、'.len_utf8()..];
                }
                _ => break,
            }
        }
    }
    out.push_str(rest);
    out
}

/// What follows the holder's name in CB02's evidence.
const HOLDER_MARK: &str = " 名下 ";

/// CB02 names the holder of the units: `…；张伟 名下 2 处`.
fn mask_holder(text: &str) -> String {
    let Some(at) = text.rfind(HOLDER_MARK) else {
        return text.to_string();
    };
    let start = text[..at].rfind('；').map_or(0, |i| i + '；'.len_utf8());
    format!(
        "{}{}{}",
        &text[..start],
        mask_name_once(&text[start..at]),
        &text[at..]
    )
}

/// Masks a name unless it is already masked (the subject's name may have
/// been masked by an earlier pass).
fn mask_name_once(name: &str) -> String {
    if name.contains('*') {
        name.to_string()
    } else {
        mask_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_region_code_and_last_four() {
        assert_eq!(mask_id("110105199001011234"), "110105********1234");
        assert_eq!(mask_id("34112219820315224X"), "341122********224X");
        assert_eq!(mask_id("110105900101123"), "110105*****1123");
    }

    #[test]
    fn short_or_odd_ids_are_never_shown_whole() {
        for id in [
            "1",
            "12",
            "123",
            "1234",
            "12345678",
            "11010519900",
            "1.10105E+17",
        ] {
            let masked = mask_id(id);
            assert_ne!(masked, id, "{id}");
            assert_eq!(masked.chars().count(), id.chars().count());
            let kept = masked.chars().filter(|c| *c != '*').count();
            assert!(kept * 2 <= id.chars().count(), "{id} → {masked}");
        }
        assert_eq!(mask_id("12345678"), "12****78");
        assert_eq!(mask_id(""), "");
    }

    #[test]
    fn names_keep_first_and_last() {
        assert_eq!(mask_name("张三明"), "张*明");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("阿卜杜拉·买买提"), "阿******提");
        assert_eq!(mask_name("张"), "*");
        assert_eq!(mask_name(" 李娜 "), "李*");
        assert_eq!(mask_name(""), "");
    }

    /// A file named after a person may write the ID with blanks or dashes
    /// between its groups, or in full-width digits.
    #[test]
    fn ids_written_in_groups_or_full_width_are_masked() {
        assert_eq!(
            mask_ids_in("property_341122 19800101 1238.csv"),
            "property_341122 ******** 1238.csv"
        );
        assert_eq!(
            mask_ids_in("pension_341122-1980-0101-123X_2.csv"),
            "pension_341122-****-****-123X_2.csv"
        );
        assert_eq!(
            mask_ids_in("education_３４１１２２１９８００１０１１２３８.csv"),
            "education_３４１１２２********１２３８.csv"
        );
        assert_eq!(mask_ids_in("户 341122 550505 001"), "户 341122 *****5 001");
        // Dates, times and counts with blanks or dashes are no ID.
        let kept = "2025-11-30 12:00:00，第 3 行，1 234 567 元，2025-01-05 至 2025-12-31";
        assert_eq!(mask_ids_in(kept), kept);
    }

    /// A file, folder or sheet named after a person: the name masked where
    /// it stands apart, header words and places kept.
    #[test]
    fn names_in_file_and_sheet_names_are_masked() {
        assert_eq!(
            mask_label("pension_张三明_补发.csv"),
            "pension_张*明_补发.csv"
        );
        assert_eq!(
            mask_label("低保_341122196805207712.xlsx"),
            "低保_341122********7712.xlsx"
        );
        assert_eq!(
            mask_label("刘强_341122196805207712"),
            "刘*_341122********7712"
        );
        for kept in [
            "roster_202511.xlsx",
            "医保结算明细_2025年11月.csv",
            "救助对象名册（城关镇）.xlsx",
        ] {
            assert_eq!(mask_label(kept), kept);
        }
        // A four-character name and 户, a compound surname.
        assert_eq!(mask_label("欧阳锋华户"), "欧**华户");
        // A minority name with its separator, of any length (helper-137).
        assert_eq!(mask_label("阿卜杜拉・买买提.xlsx"), "阿******提.xlsx");
        assert_eq!(mask_label("核查_阿卜杜拉·买买提户"), "核查_阿******提户");
        assert_eq!(mask_label("张三.xlsx"), "张*.xlsx");
        assert_eq!(mask_label("救助名册.备份.xlsx"), "救助名册.备份.xlsx");
        assert_eq!(mask_label("司马懿德户"), "司**德户");
        assert_eq!(mask_label("慕容复兴"), "慕**兴");
        assert_eq!(mask_label("慕容复户"), "慕**户");
        assert_eq!(
            mask_sources("pension:pension_张三明.csv:3;housing_safety:h.xlsx:王芳户!4"),
            "pension:pension_张*明.csv:3;housing_safety:h.xlsx:王*户!4"
        );
        // A name joined with the words such names carry (helper-140,
        // helper-141), and names that hold such a word.
        for (label, masked) in [
            ("pension_低保户张三明.csv", "pension_低保户张*明.csv"),
            ("低保户张三明.txt", "低保户张*明.txt"),
            ("低保户唐言之", "低保户唐*之"),
            ("张三明补发.csv", "张*明补发.csv"),
            ("王芳家庭情况.xlsx", "王*家庭情况.xlsx"),
            ("特困户欧阳锋华户", "特困户欧**华户"),
            ("王家明.xlsx", "王*明.xlsx"),
            ("低保户唐言之养老金发放.xlsx", "低保户唐*之养老金发放.xlsx"),
            ("pension_欧阳娜娜补发.xlsx", "pension_欧**娜补发.xlsx"),
            ("唐言之身份证.jpg", "唐*之身份证.jpg"),
            ("孙立和王芳.xlsx", "孙*和王*.xlsx"),
            ("关于唐言之的情况.docx", "关于唐**的情况.docx"),
            ("低保户王和平.xlsx", "低保户王*平.xlsx"),
            (
                "medical_settlement_张和平户表.csv",
                "medical_settlement_张*平户表.csv",
            ),
            ("孙和平和王芳", "孙*平和王*"),
            ("李娜和王和平", "李*和王*平"),
            ("李和平的表", "李*平的表"),
            ("张三明住院.pdf", "张*明住院.pdf"),
            ("张三明承诺书", "张*明承诺书"),
            // No word inside a name is cut out of it (helper-145).
            ("王安居补发.txt", "王*居补发.txt"),
            ("低保户王安居.txt", "低保户王*居.txt"),
        ] {
            assert_eq!(mask_label(label), masked, "{label}");
        }
        for kept in [
            "第二份名册.tsv",
            "2025年11月低保金发放表.csv",
            "2025年11月医保结算明细.csv",
            "低保户信息核对.xlsx",
            "不动产登记信息查询结果.xlsx",
            "说明.txt",
            // Words that read as a name whole (helper-143).
            "房产",
            "房产和车辆",
        ] {
            assert_eq!(mask_label(kept), kept);
        }
    }

    #[test]
    fn a_household_numbered_by_a_legacy_id_is_masked_a_township_code_not() {
        assert_eq!(mask_household("341122550505001"), "341122*****5001");
        assert_eq!(mask_household("341122001001008"), "341122001001008");
        assert_eq!(mask_household("341122011001064"), "341122011001064");
        assert_eq!(mask_household("341122291231008"), "341122291231008");
        assert_eq!(mask_household("H0002"), "H0002");
    }

    #[test]
    fn ids_inside_text_are_masked_and_other_numbers_kept() {
        assert_eq!(
            mask_ids_in("原号码：34112219820315224X、110105199001011234；上限 2 套"),
            "原号码：341122********224X、110105********1234；上限 2 套"
        );
        // Unit numbers, amounts and already masked IDs stay as they are.
        let kept = "商业 341122001001GB00002F00010001，800.00 元，341122********7712";
        assert_eq!(mask_ids_in(kept), kept);
        // An ID in scientific notation: the region code alone may show.
        let region_only = "身份证号「1.10105E+17」已被 Excel 科学计数法损坏";
        assert_eq!(mask_ids_in(region_only), region_only);
        assert_eq!(
            mask_ids_in("身份证号「1.10105199001012E+17」"),
            "身份证号「1.10105*********E+17」"
        );
        assert_eq!(mask_ids_in("比例 1234567890.5 元"), "比例 1234567890.5 元");
        // A long fraction is no ID (a log's timing); a float-written ID's
        // digits before the point are.
        assert_eq!(
            mask_ids_in(r#"{"seconds":11.428989595000001}"#),
            r#"{"seconds":11.428989595000001}"#
        );
        assert_eq!(
            mask_ids_in("号 341122199001011234.0"),
            "号 341122********1234.0"
        );
        // The shortest runs that are masked: seven digits around a point
        // (the region code and one more), fifteen digits in a row; one
        // digit fewer is kept.
        assert_eq!(mask_ids_in("「1.101051E+17」"), "「1.10105*E+17」");
        assert_eq!(mask_ids_in("「1.10105E+17」"), "「1.10105E+17」");
        assert_eq!(mask_ids_in("号 110105900101123"), "号 110105*****1123");
        assert_eq!(mask_ids_in("号 11010590010112"), "号 11010590010112");
    }

    /// The codes a reviewer finds a record by stay in evidence as written:
    /// 户编号 (CB05), settlement numbers (DY02); an ID number among them,
    /// or at the start or end of one, is masked as the 户编号 column masks
    /// one. A note masks every run of 15 digits.
    #[test]
    fn evidence_shows_codes_and_masks_the_id_numbers_among_them() {
        for kept in [
            "同一人在 2 户中：341122001000026、341122003000025",
            "同一人在 2 户中：341122001001008、H0002",
            "住院结算 1 笔报销比例低于 70.00%：JS3411220000000513 2025-04-01 50.00%（5000.00/10000.00 元）",
        ] {
            assert_eq!(mask_evidence(kept, "张三"), kept);
        }
        assert_eq!(
            mask_evidence(
                "同一人在 2 户中：341122001001008、110105199001011234",
                "张三"
            ),
            "同一人在 2 户中：341122001001008、110105********1234"
        );
        // An ID glued to other digits: at the start, the end (its `X` too)
        // or inside; one whose check character was written `×`; a legacy
        // number.
        for glued in [
            "JS110105199001011234001",
            "JS001110105199001011234",
            "JS00134112219820315224X",
            "JS0010011101051990010112320001",
            "34112219820315224× 住院",
            "号 110105900101123",
            "341122450210442001",
            "20253411224502104420001",
            "YB1341122450210442",
        ] {
            let masked = mask_evidence(glued, "张三");
            assert!(
                !masked.contains("19900101")
                    && !masked.contains("19820315")
                    && !masked.contains("900101")
                    && !masked.contains("450210"),
                "{masked}"
            );
        }
        assert_eq!(
            mask_note("户 341122001000026 已核", "张三"),
            "户 341122*****0026 已核"
        );
    }

    // The evidence texts below are the rules' own (tests/snapshots): each
    // quotes a name in its own way.
    #[test]
    fn evidence_names_of_every_rule_template_are_masked() {
        assert_eq!(
            mask_evidence(
                "现势住宅 1 套（上限 2 套）：341122001001GB00001F00010001；张伟 名下 2 处",
                "张伟"
            ),
            "现势住宅 1 套（上限 2 套）：341122001001GB00001F00010001；张* 名下 2 处"
        );
        assert_eq!(
            mask_evidence(
                "现势住宅 0 套（上限 2 套）；商业/办公/工业 1 处：商业 1GB38F1；艾合买提·古丽 名下 1 处",
                "周斌"
            ),
            "现势住宅 0 套（上限 2 套）；商业/办公/工业 1 处：商业 1GB38F1；艾*****丽 名下 1 处"
        );
        assert_eq!(
            mask_evidence("同一身份证号对应不同姓名：何思蕊、梁功进", "何思蕊"),
            "同一身份证号对应不同姓名：何*蕊、梁*进"
        );
        // A name that holds the subject's is masked whole.
        assert_eq!(
            mask_evidence("同一身份证号对应不同姓名：王芳、王芳原名王方", "王芳"),
            "同一身份证号对应不同姓名：王*、王****方"
        );
        assert_eq!(
            mask_evidence(
                "学籍困境类型 低保家庭，学生与监护人（王大山）均不在救助名册（2025-2026 学年 城关小学）",
                "王小明"
            ),
            "学籍困境类型 低保家庭，学生与监护人（王*山）均不在救助名册（2025-2026 学年 城关小学）"
        );
        assert_eq!(
            mask_evidence(
                "身份证号「110105199001016631」校验位或出生日期错误，无法唯一修复，记录未关联",
                "孙丽"
            ),
            "身份证号「110105********6631」校验位或出生日期错误，无法唯一修复，记录未关联"
        );
        // An ID quoted as it stood in the file is masked whole however it
        // was typed; a placeholder is not an ID.
        assert_eq!(
            mask_evidence(
                "身份证号「１１０１０５１９９００１０１６６３」格式错误，无法唯一修复，记录未关联",
                "孙丽"
            ),
            "身份证号「１１０１０５*******１６６３」格式错误，无法唯一修复，记录未关联"
        );
        assert_eq!(
            mask_evidence(
                "身份证号校验位错误，已按姓名唯一修正，原号码：「110105 19900101 6632」（姓名同音，身份证号）、「11010519900101663」（姓名一致，监护人身份证号）；请核实",
                "孙丽"
            ),
            "身份证号校验位错误，已按姓名唯一修正，原号码：「110105**********6632」（姓名同音，身份证号）、「110105*******1663」（姓名一致，监护人身份证号）；请核实"
        );
        for placeholder in ["无", "/", "0", "０"] {
            let text = format!("身份证号为「{placeholder}」（未填写），记录未关联");
            assert_eq!(mask_evidence(&text, "孙丽"), text);
        }
        // A 」 in the raw value does not end the quote early.
        let raw = "110105」199001011234";
        let text = format!(
            "身份证号{}格式错误，无法唯一修复，记录未关联",
            quote_raw(raw)
        );
        let masked = mask_evidence(&text, "孙丽");
        assert_eq!(
            masked,
            "身份证号「110105*********1234」格式错误，无法唯一修复，记录未关联"
        );
        for fragment in ["19900101", "990010"] {
            assert!(!masked.contains(fragment), "{masked}");
        }
        assert_eq!(
            with_raw_ids_masked(&text),
            "身份证号「110105*********1234」格式错误，无法唯一修复，记录未关联"
        );
        // A raw without a digit, and one with an E that is no exponent.
        for (raw, shown) in [
            ("一一〇一〇五一九九〇", "一一******九〇"),
            ("1101051E9900101123", "110105********1123"),
        ] {
            let text = format!("身份证号{}格式错误", quote_raw(raw));
            assert_eq!(
                mask_evidence(&text, "孙丽"),
                format!("身份证号「{shown}」格式错误")
            );
        }
        // DQ03 as written before: entries in the order of their masked
        // text, two that masked alike merged.
        let dq03 = format!(
            "身份证号校验位错误，已按姓名唯一修正，原号码：{}（姓名一致，身份证号）、{}（姓名一致，身份证号）、{}（姓名一致，身份证号）；请核实",
            quote_raw("110105199001011239"),
            quote_raw("110105199011011234"),
            quote_raw("110105199012011239"),
        );
        assert_eq!(
            with_raw_ids_masked(&dq03),
            "身份证号校验位错误，已按姓名唯一修正，原号码：110105********1234（姓名一致，身份证号）、110105********1239（姓名一致，身份证号）；请核实"
        );
        // Scientific notation however typed keeps the region code only.
        for (raw, shown) in [
            ("1,10105199001012E+17", "1,10105*********E+17"),
            (
                "１.１０１０５１９９００１０１２Ｅ＋１７",
                "１.１０１０５*********Ｅ＋１７",
            ),
            ("1.10105E+17", "1.10105E+17"),
            ("1.10105199E+17", "1.10105***E+17"),
        ] {
            let text = format!("身份证号{}已被 Excel 科学计数法损坏", quote_raw(raw));
            assert_eq!(
                mask_evidence(&text, "孙丽"),
                format!("身份证号「{shown}」已被 Excel 科学计数法损坏")
            );
        }
        let sci = "身份证号「1.10105199001012E+17」已被 Excel 科学计数法损坏，后几位无法恢复";
        assert_eq!(
            mask_evidence(sci, "孙丽"),
            "身份证号「1.10105*********E+17」已被 Excel 科学计数法损坏，后几位无法恢复"
        );
        // A note is masked as typed: a quoted date stays.
        assert_eq!(mask_note("「2025年」已核实", "孙丽"), "「2025年」已核实");
        // The subject's name spaced out or in traditional characters is
        // masked as the name; another name, and the name's characters
        // apart, stay.
        for (note, masked) in [
            ("王风雪已核实", "王*雪已核实"),
            ("王 风 雪已核实", "王*雪已核实"),
            ("户主王　风雪；王風雪另户", "户主王*雪；王*雪另户"),
            ("王风 与 雪 无关；王凤雪", "王风 与 雪 无关；王凤雪"),
        ] {
            assert_eq!(mask_note(note, "王风雪"), masked, "{note}");
        }
        let plain = "人均月收入 1400.00 元 > 标准 800.00 元（3 人，工资 4200.00 元/月）";
        assert_eq!(mask_evidence(plain, "李娜"), plain);
    }

    /// What the masked reports show does not depend on the names of the
    /// files and folders a process registered (the working folder's among
    /// them): a note is compared with its masked form by `review import`,
    /// another process, and a run from another folder writes the same
    /// bytes.
    #[test]
    fn reports_mask_no_registered_folder_name() {
        register_label("龚秀梅");
        assert_eq!(mask_ids_in("已与龚秀梅核实"), "已与龚*梅核实", "registered");
        assert_eq!(mask_note("已与龚秀梅核实", "李四明"), "已与龚秀梅核实");
        let sources = "pension:龚秀梅.csv:3";
        assert_eq!(mask_sources(sources), "pension:龚*梅.csv:3");
        assert_eq!(mask_sources("pension:a_龚秀梅:3"), "pension:a_龚*梅:3");
    }

    /// An empty note is no work and masks to nothing; a note of blanks and
    /// evidence without a slot or a holder are masked as before.
    #[test]
    fn an_empty_note_and_plain_evidence() {
        assert_eq!(mask_note("", "李四明"), "");
        assert_eq!(mask_note(" ", "李四明"), " ");
        assert_eq!(
            mask_evidence("李四明 近 12 个月个人自付 3 万元", "李四明"),
            "李*明 近 12 个月个人自付 3 万元"
        );
    }
}
