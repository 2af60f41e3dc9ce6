//! Property tests on the parsers and normalisers, through the library's
//! public API, filling the gaps left by the properties beside the code
//! (src/normalize/*.rs, src/read/csv.rs): the XLSX reader and the encoding
//! detection on arbitrary bytes, CSV fields round-tripping through every
//! encoding we accept, header matching up to the spellings the spec allows,
//! row parsing on arbitrary rows, and idempotence of every normaliser.

use std::collections::BTreeMap;

use hedui::extract::{self, HeaderMatcher, header_key, table};
use hedui::normalize::{date, id, money, name};
use hedui::read::{self, ReadError, RowLoc};
use proptest::prelude::*;

fn is_header(fields: &[read::Cell]) -> bool {
    let has = |h: &str| fields.iter().any(|f| f.trim() == h);
    has("姓名") && has("身份证号")
}

/// A valid ID number from its parts.
fn build_id(region: u32, birth: chrono::NaiveDate, seq: u32) -> String {
    let body = format!("{region:06}{}{seq:03}", birth.format("%Y%m%d"));
    let check = id::check_char(body.as_bytes()).unwrap();
    format!("{body}{}", check as char)
}

fn any_birth() -> impl Strategy<Value = chrono::NaiveDate> {
    (0i64..60_000).prop_map(|d| {
        chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Days::new(d as u64)
    })
}

/// Common surnames and given-name characters, all in GBK.
const HAN: &str = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华";

fn han_text(max: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = HAN.chars().collect();
    proptest::collection::vec(proptest::sample::select(chars), 1..max)
        .prop_map(|v| v.into_iter().collect())
}

/// A data field that no reader mistakes for a blank, total or header row:
/// it starts with a letter; the rest may hold delimiters, quotes, line
/// breaks, full-width spaces and Chinese.
fn data_field() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9 ,;\"\t\r\n张王李\u{3000}（）]{0,12}"
}

fn csv_line(fields: &[String], delimiter: u8) -> String {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(fields).unwrap();
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

fn utf16(text: &str, little: bool) -> Vec<u8> {
    let mut out = if little {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for u in text.encode_utf16() {
        out.extend(if little {
            u.to_le_bytes()
        } else {
            u.to_be_bytes()
        });
    }
    out
}

/// Every field of every data row, in order.
fn data_rows(table: &read::RawTable) -> Vec<Vec<String>> {
    table.sections[0]
        .rows
        .iter()
        .map(|r| r.fields.iter().map(|f| f.to_string()).collect())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn xlsx_reader_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read::read_bytes("r.xlsx", bytes, &is_header);
    }

    #[test]
    fn xlsx_reader_never_panics_on_zip_like_bytes(tail in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut bytes = b"PK\x03\x04\x14\x00\x06\x00\x08\x00".to_vec();
        bytes.extend(tail);
        let result = read::read_bytes("r.xlsx", bytes, &is_header);
        prop_assert!(matches!(result, Err(ReadError::BadWorkbook { .. })), "{:?}", result.err());
    }

    /// A real workbook with one byte changed or cut short: read or refused,
    /// never a panic.
    #[test]
    fn damaged_workbook_never_panics(at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let mut bytes = workbook();
        let i = at.index(bytes.len());
        if cut {
            bytes.truncate(i);
        } else {
            bytes[i] = byte;
        }
        let _ = read::read_bytes("r.xlsx", bytes, &is_header);
    }

    #[test]
    fn text_readers_never_panic_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
        ext in prop::sample::select(vec!["csv", "tsv", "txt"]),
    ) {
        let _ = read::read_bytes(&format!("r.{ext}"), bytes, &is_header);
    }

    /// Encoding detection on text-like bytes (no NUL, high bytes common):
    /// decoded or refused, never a panic; what decodes keeps its rows
    /// numbered one after another.
    #[test]
    fn encoding_detection_never_panics(bytes in proptest::collection::vec(1u8..=255, 0..1024)) {
        let mut file = "姓名,身份证号\n".as_bytes().to_vec();
        file.extend(bytes);
        if let Ok(table) = read::read_bytes("r.csv", file, &is_header) {
            let s = &table.sections[0];
            let mut rows: Vec<u32> = s.rows.iter().map(|r| r.loc.row).chain(s.skipped.iter().map(|k| k.loc.row)).collect();
            rows.sort_unstable();
            let expected: Vec<u32> = (2..2 + rows.len() as u32).collect();
            prop_assert_eq!(rows, expected);
        }
    }

    /// Fields written by a CSV writer come back exactly, in UTF-8 (with and
    /// without BOM) and UTF-16 (LE and BE, with BOM), as CSV and TSV.
    #[test]
    fn csv_fields_round_trip_through_every_unicode_encoding(
        rows in proptest::collection::vec(proptest::collection::vec(data_field(), 3), 1..6),
        tsv in any::<bool>(),
        encoding in 0usize..4,
    ) {
        let delimiter = if tsv { b'\t' } else { b',' };
        let mut text = csv_line(&["姓名".into(), "身份证号".into(), "备注".into()], delimiter);
        for row in &rows {
            text.push_str(&csv_line(row, delimiter));
        }
        let bytes = match encoding {
            0 => text.into_bytes(),
            1 => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
            2 => utf16(&text, true),
            _ => utf16(&text, false),
        };
        let file = if tsv { "r.tsv" } else { "r.csv" };
        let table = read::read_bytes(file, bytes, &is_header).unwrap();
        prop_assert_eq!(data_rows(&table), rows);
        prop_assert!(table.cut_off.is_none());
    }

    /// GB18030 text of common names is detected as such and comes back
    /// exactly.
    #[test]
    fn gb18030_names_round_trip(names in proptest::collection::vec(han_text(4), 4..12)) {
        let mut text = "姓名,身份证号,乡镇（街道）\r\n".to_string();
        let rows: Vec<Vec<String>> = names
            .iter()
            .map(|n| vec![n.clone(), "110105199001011234".to_string(), "城关镇".to_string()])
            .collect();
        for row in &rows {
            text.push_str(&csv_line(row, b','));
        }
        let bytes = encoding_rs::GB18030.encode(&text).0.into_owned();
        let table = read::read_bytes("r.csv", bytes, &is_header).unwrap();
        prop_assert_eq!(table.encoding.as_str(), "GB18030");
        prop_assert_eq!(data_rows(&table), rows);
    }

    /// A GB18030 or UTF-8 file cut anywhere inside its last character marks
    /// its last row as cut off; the rows before it are intact.
    #[test]
    fn cut_mid_character_marks_the_last_row(names in proptest::collection::vec(han_text(4), 4..8), gb in any::<bool>()) {
        let mut text = "姓名,身份证号\r\n".to_string();
        for n in &names {
            text.push_str(&format!("{n},1\r\n"));
        }
        text.push_str("城关镇,王");
        let mut bytes = if gb {
            encoding_rs::GB18030.encode(&text).0.into_owned()
        } else {
            text.into_bytes()
        };
        bytes.pop();
        let table = read::read_bytes("r.csv", bytes, &is_header).unwrap();
        let last = names.len() as u32 + 2;
        prop_assert_eq!(table.cut_off.clone(), Some(RowLoc { sheet: None, row: last }));
        let rows = data_rows(&table);
        prop_assert_eq!(rows.len(), names.len() + 1);
        prop_assert_eq!(rows[names.len()][0].as_str(), "城关镇");
        for (row, n) in rows.iter().zip(&names) {
            prop_assert_eq!(&row[0], n);
        }
    }

    /// Every header and alias of every extract is recognised up to
    /// whitespace, full-width brackets, a required marker and a missing unit
    /// suffix, in any column order.
    #[test]
    fn headers_match_up_to_spacing_brackets_and_unit(
        which in 0usize..9,
        spaces in proptest::collection::vec(prop::sample::select(vec!["", " ", "\u{3000}", "\t"]), 4),
        use_alias in any::<prop::sample::Index>(),
        half_width in any::<bool>(),
        drop_unit in any::<bool>(),
        star in any::<bool>(),
        order in any::<prop::sample::Index>(),
    ) {
        let def = extract::EXTRACTS[which];
        let matcher = HeaderMatcher::new(def, &BTreeMap::new());
        let cells: Vec<String> = def
            .fields
            .iter()
            .map(|f| {
                let names: Vec<&str> = std::iter::once(f.header).chain(f.aliases.iter().copied()).collect();
                let mut h = names[use_alias.index(names.len())].to_string();
                if drop_unit && let Some(open) = h.find('（') {
                    h.truncate(open);
                }
                if half_width {
                    h = h.replace('（', "(").replace('）', ")");
                }
                if star {
                    h.push('*');
                }
                // Blanks before, inside (after the first character) and after.
                let mut chars = h.chars();
                let first: String = chars.next().into_iter().collect();
                format!("{}{first}{}{}{}", spaces[0], spaces[1], chars.as_str(), spaces[2])
            })
            .collect();
        let mut order_idx: Vec<usize> = (0..cells.len()).collect();
        order_idx.rotate_left(order.index(cells.len()));
        let shuffled: Vec<String> = order_idx.iter().map(|&i| cells[i].clone()).collect();
        prop_assert!(matcher.looks_like_header(&shuffled));
        let map = matcher.map_header(&shuffled).unwrap();
        for (field, col) in map.columns.iter().enumerate() {
            prop_assert_eq!(*col, Some(order_idx.iter().position(|&i| i == field).unwrap()), "{}", def.fields[field].field);
        }
        prop_assert!(map.unknown.is_empty(), "{:?}", map.unknown);
    }

    #[test]
    fn header_matching_never_panics(cells in proptest::collection::vec(any::<String>(), 0..12), which in 0usize..9) {
        let def = extract::EXTRACTS[which];
        let matcher = HeaderMatcher::new(def, &BTreeMap::new());
        let _ = matcher.looks_like_header(&cells);
        let _ = matcher.map_header(&cells);
        for c in &cells {
            let _ = header_key(c);
        }
    }

    /// Any row under any extract's header parses into a row or a reject with
    /// a documented reason code; never a panic.
    #[test]
    fn row_parsing_never_panics(
        which in 0usize..9,
        rows in proptest::collection::vec(proptest::collection::vec(any::<String>(), 0..16), 1..8),
    ) {
        let def = extract::EXTRACTS[which];
        let matcher = HeaderMatcher::new(def, &BTreeMap::new());
        let header: Vec<String> = def.fields.iter().map(|f| f.header.to_string()).collect();
        let map = matcher.map_header(&header).unwrap();
        let raw: Vec<read::RawRow> = rows
            .into_iter()
            .enumerate()
            .map(|(i, fields)| read::RawRow { loc: RowLoc { sheet: None, row: i as u32 + 2 }, fields: fields.into_iter().map(read::Cell::from).collect() })
            .collect();
        for result in table::parse_rows(def, &map, &raw) {
            if let Err(reject) = result {
                prop_assert!(
                    ["field_count", "missing_value", "bad_date", "bad_period", "bad_money", "bad_number", "bad_category", "bad_school_year", "formula"].contains(&reject.code),
                    "{}", reject.code
                );
            }
        }
    }

    /// Cosmetic mess never stops a valid ID from normalising to itself.
    #[test]
    fn messy_spellings_of_a_valid_id_normalise_to_it(
        region in 110000u32..660000, birth in any_birth(), seq in 0u32..1000, mess in 0usize..7,
    ) {
        let id18 = build_id(region, birth, seq);
        let raw = match mess {
            0 => id18.to_lowercase(),
            1 => id18.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect(),
            2 => format!("{} {} {}", &id18[..6], &id18[6..14], &id18[14..]),
            3 => format!("{}-{}-{}", &id18[..6], &id18[6..14], &id18[14..]),
            4 => format!("'{id18}"),
            5 => format!("\t{id18} "),
            _ => format!("\u{3000}{id18}\u{200B}"),
        };
        let n = id::normalize_id(&raw);
        prop_assert_eq!(n.value.as_deref(), Some(id18.as_str()));
        prop_assert_eq!(n.status, id::IdStatus::Valid);
    }

    /// A 15-digit legacy number upgrades to the 18-digit number it stands for.
    #[test]
    fn legacy15_upgrades_to_its_18_digit_number(region in 110000u32..660000, days in 0i64..36_000, seq in 0u32..1000) {
        let birth = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Days::new(days as u64);
        let id18 = build_id(region, birth, seq);
        let id15 = format!("{}{}{}", &id18[..6], &id18[8..14], &id18[14..17]);
        let n = id::normalize_id(&id15);
        prop_assert_eq!(n.status, id::IdStatus::Upgraded15);
        prop_assert_eq!(n.value.as_deref(), Some(id18.as_str()));
    }

    /// Any other check character, and any two different neighbouring digits
    /// swapped, is never taken as valid as written.
    #[test]
    fn wrong_check_character_or_swap_is_never_valid(
        region in 0u32..1_000_000, birth in any_birth(), seq in 0u32..1000,
        other in prop::sample::select(b"0123456789X".to_vec()), swap_at in 0usize..16,
    ) {
        let id18 = build_id(region, birth, seq);
        let mut bytes = id18.clone().into_bytes();
        if bytes[17] != other {
            bytes[17] = other;
            let wrong = String::from_utf8(bytes).unwrap();
            prop_assert_ne!(id::normalize_id(&wrong).status, id::IdStatus::Valid);
            prop_assert!(!id::is_valid_id(&wrong));
        }
        let mut bytes = id18.into_bytes();
        if bytes[swap_at] != bytes[swap_at + 1] {
            bytes.swap(swap_at, swap_at + 1);
            let swapped = String::from_utf8(bytes).unwrap();
            prop_assert_ne!(id::normalize_id(&swapped).status, id::IdStatus::Valid);
        }
    }

    /// Normalising a normalised ID changes nothing, whatever the input.
    #[test]
    fn id_normalisation_is_idempotent(raw in any::<String>()) {
        let once = id::normalize_id(&raw);
        if let Some(v) = &once.value {
            let twice = id::normalize_id(v);
            prop_assert_eq!(twice.value.as_ref(), Some(v));
        }
    }

    /// Dates, periods, school years and money: the canonical form of a
    /// parsed value parses to the same value (normalise ∘ normalise =
    /// normalise), for arbitrary and for date- or money-like text.
    #[test]
    fn value_parsers_are_idempotent(raw in prop_oneof![
        any::<String>(),
        "[0-9０-９年月日号 ./\\-]{0,14}",
        "[0-9０-９,.万元¥\\- ]{0,14}",
        "[0-9]{4}[-/至—][0-9]{2,4}(学年)?",
    ]) {
        if let Ok(Some(d)) = date::parse_date(&raw) {
            prop_assert_eq!(date::parse_date(&d.format("%Y-%m-%d").to_string()), Ok(Some(d)));
        }
        if let Ok(Some(p)) = date::parse_period(&raw) {
            prop_assert_eq!(date::parse_period(&p.to_string()), Ok(Some(p)));
        }
        if let Ok(Some(y)) = date::parse_school_year(&raw) {
            prop_assert_eq!(date::parse_school_year(&y), Ok(Some(y.clone())));
        }
        if let Ok(Some(fen)) = money::parse_money(&raw) {
            prop_assert_eq!(money::parse_money(&money::format_fen(fen)), Ok(Some(fen)));
        }
        if let Ok(Some(n)) = money::parse_integer(&raw) {
            prop_assert_eq!(money::parse_integer(&n.to_string()), Ok(Some(n)));
        }
        let _ = money::parse_decimal(&raw);
    }

    /// Names: the alias of an annotation and the pinyin key are stable too.
    #[test]
    fn name_normalisation_is_idempotent_on_annotated_names(given in han_text(4), former in han_text(4)) {
        let raw = format!(" {given}（曾用名{former}） ");
        let once = name::normalize_name(&raw);
        prop_assert_eq!(&once.name, &given);
        prop_assert_eq!(once.alias.as_deref(), Some(former.as_str()));
        let twice = name::normalize_name(&once.name);
        prop_assert_eq!(&twice.name, &once.name);
    }
}

/// A small valid workbook: a title row, the header, two data rows.
fn workbook() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    for (r, row) in [
        vec!["2025年名册"],
        vec!["姓名", "身份证号"],
        vec!["张三", "110105199001011234"],
        vec!["李四", "11010519900101123X"],
    ]
    .iter()
    .enumerate()
    {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

#[test]
fn the_workbook_of_the_damage_test_reads() {
    let table = read::read_bytes("r.xlsx", workbook(), &is_header).unwrap();
    assert_eq!(
        data_rows(&table),
        [
            ["张三", "110105199001011234"],
            ["李四", "11010519900101123X"]
        ]
    );
}

/// The round trip's case that once failed: a CSV whose quoted fields hold
/// tabs and a line break was sniffed as tab-separated (more "tab lines"
/// than comma lines) and its header not found.
#[test]
fn a_csv_with_quoted_tabs_and_a_line_break_reads_as_csv() {
    let row = vec![
        "a\t\r王\t".to_string(),
        "a\t".to_string(),
        "a\t".to_string(),
    ];
    let mut text = csv_line(&["姓名".into(), "身份证号".into(), "备注".into()], b',');
    text.push_str(&csv_line(&row, b','));
    let table = read::read_bytes("r.csv", text.into_bytes(), &is_header).unwrap();
    assert_eq!(data_rows(&table), vec![row]);
}
