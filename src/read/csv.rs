//! CSV and TSV: records split by the `csv` crate (RFC 4180 quoting, `""`
//! escapes, quoted commas and newlines, CRLF), each given the row number a
//! person sees when the file is opened in a spreadsheet.
//!
//! The `csv` crate skips empty lines, but a spreadsheet shows them as rows,
//! so the line breaks between records are counted here: every break beyond
//! the one that ends the previous record is a blank row. Raw line numbers
//! would be wrong the other way: a quoted field holding newlines is one row.

use ::csv::{ByteRecord, ReaderBuilder};

use super::encoding::{self, Decoded};
use super::section::{Scan, SectionScanner};
use super::{Cell, ChunkSink, FileFormat, HEADER_SEARCH_ROWS, RawTable, ReadError};

/// Reads a delimited text file. `format` is `None` for `.txt`, whose
/// delimiter is sniffed from the decoded text.
pub(super) fn read_delimited(
    file: &str,
    bytes: &[u8],
    format: Option<FileFormat>,
    is_header: &(dyn Fn(&[Cell]) -> bool + Sync),
    sink: &mut ChunkSink<'_>,
) -> Result<RawTable, ReadError> {
    let Decoded {
        text,
        encoding,
        truncated,
    } = encoding::decode(bytes).map_err(|err| {
        let line = encoding::line_of(bytes, err.offset);
        if err.encoding == encoding::UTF8_IN_GB18030 {
            return ReadError::MixedEncoding {
                file: file.to_owned(),
                line,
            };
        }
        ReadError::Undecodable {
            file: file.to_owned(),
            encoding: err.encoding.to_owned(),
            offset: err.offset,
            line,
        }
    })?;
    // UTF-16 whitespace is not ASCII whitespace in bytes: check again.
    if text.trim().is_empty() {
        return Err(ReadError::Empty {
            file: file.to_owned(),
        });
    }
    let format = format.unwrap_or_else(|| encoding::sniff_delimited(&text));
    let delimiter = if format == FileFormat::Tsv {
        b'\t'
    } else {
        b','
    };
    let data = without_eof_mark(text.as_bytes());
    let reader_from = |at: usize| {
        ReaderBuilder::new()
            .has_headers(false)
            // Rows with the wrong number of fields come through as they
            // are: the caller rejects them, with their row number.
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(&data[at..])
    };
    // Where the reader started in `data`: its positions are from there.
    let mut base = 0;
    let mut reader = reader_from(base);

    let mut scanner = SectionScanner::new(is_header).with_sink(sink);
    let mut record = ByteRecord::new();
    let mut row: u32 = 1;
    let mut after_record = false;
    let mut last_record_row = None;
    'records: loop {
        let consumed = usize::try_from(reader.position().byte())
            .map_or(data.len(), |at| base.saturating_add(at));
        for _ in 0..blank_lines_at(data, consumed, after_record) {
            if scanner.push(row, Vec::new()) == Scan::GaveUp {
                break 'records;
            }
            row = row.saturating_add(1);
        }
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|err| ReadError::Io {
                file: file.to_owned(),
                source: std::io::Error::other(err.to_string()),
            })?;
        if !more {
            break;
        }
        after_record = true;
        let mut fields = record_fields(&record);
        strip_bom(&mut fields);
        // A stray quote (`"I10 高血压,100,…`) runs a field on over line
        // breaks and swallows the lines after it into one record: to the
        // end of the file, or to the next quote, after which the rest of
        // that line is glued on. A record that spans lines and is not
        // quoted as RFC 4180 quotes (every quoted field closed, by a quote
        // followed by a delimiter or the record's end), or does not fit the
        // header, is taken apart: its first line, where the stray quote
        // is, is a row of its own, and the reader starts again on the line
        // after it, so that none is lost inside another and a record quoted
        // well further on (a diagnosis over two lines) is still one row.
        // Only a record whose fields hold a line break spans lines: that is
        // checked first, fast.
        let fields_bytes = record.as_slice();
        let spans_lines = (fields_bytes.contains(&b'\n') || fields_bytes.contains(&b'\r'))
            .then(|| {
                let start = base + usize::try_from(record.position()?.byte()).ok()?;
                let end = base + usize::try_from(reader.position().byte()).ok()?;
                let span = trim_line_breaks(data.get(start..end)?);
                // The span's place in `data`: a record does not start
                // with a line break.
                let at = span.as_ptr() as usize - data.as_ptr() as usize;
                Some((at, span))
            })
            .flatten();
        if let Some((at, span)) = spans_lines
            && let Some(width) = scanner.header_width()
            && scanner
                .fits_header(&fields)
                .is_some_and(|fits| !fits || !well_quoted(span, delimiter, width))
        {
            let first = &span[..span
                .iter()
                .position(|&b| is_line_break(b))
                .unwrap_or(span.len())];
            last_record_row = Some(row);
            if scanner.push(row, line_fields(first, delimiter)) == Scan::GaveUp {
                break;
            }
            row = row.saturating_add(1);
            let next = at + first.len();
            base = next + break_len(data, next);
            reader = reader_from(base);
            continue;
        }
        last_record_row = Some(row);
        if scanner.push(row, fields) == Scan::GaveUp {
            break;
        }
        row = row.saturating_add(1);
    }

    // The cut character is the last one of the text, so it is in the last
    // record.
    let cut_off = last_record_row.filter(|_| truncated);
    let head = scanner.take_head();
    match scanner.finish_cut(cut_off) {
        Some(section) => Ok(RawTable {
            format,
            encoding: encoding.to_owned(),
            sections: vec![section],
            ignored_sheets: Vec::new(),
            unheaded_sheets: Vec::new(),
            hidden_sheets: Vec::new(),
            merged_cells_filled: 0,
            sha256: String::new(),
            cut_off: cut_off.map(|row| super::RowLoc { sheet: None, row }),
        }),
        None => Err(ReadError::NoHeader {
            file: file.to_owned(),
            rows: HEADER_SEARCH_ROWS,
            sheets: Vec::new(),
            heads: vec![(String::new(), head)],
        }),
    }
}

/// The text without a DOS end-of-file mark (0x1A, Ctrl-Z) that an old
/// export glued to its last value, with no line break before it: it is no
/// part of that value (`150.00\x1a` is 150.00). On a line of its own it
/// stays, a blank row.
fn without_eof_mark(data: &[u8]) -> &[u8] {
    let end = data.iter().rposition(|&b| b != 0x1A).map_or(0, |i| i + 1);
    if end < data.len() && end > 0 && !is_line_break(data[end - 1]) {
        &data[..end]
    } else {
        data
    }
}

/// Two exports pasted into one file leave the second one's BOM at the
/// start of its header line: invisible, and it would keep that line from
/// being recognised as a repeated header.
fn strip_bom(fields: &mut [Cell]) {
    if let Some(first) = fields.first_mut()
        && first.starts_with('\u{FEFF}')
    {
        *first = Cell::from(&first['\u{FEFF}'.len_utf8()..]);
    }
}

/// A record's fields as text. The text is UTF-8 and the delimiters and
/// quotes are ASCII, so every field is UTF-8: the record is checked once as
/// a whole (the `csv` crate's own check goes field by field, a call per
/// cell), then cut at the fields' byte offsets.
fn record_fields(record: &ByteRecord) -> Vec<Cell> {
    let whole = encoding::utf8(record.as_slice());
    (0..record.len())
        .map(|i| {
            let range = record.range(i).unwrap_or(0..0);
            match whole.as_ref().ok().and_then(|w| w.get(range.clone())) {
                Some(field) if field.starts_with(' ') => unquoted_padded(field),
                Some(field) => Cell::from(field),
                // Not reached for text that was UTF-8; kept panic-free.
                None => Cell::from(String::from_utf8_lossy(&record.as_slice()[range]).as_ref()),
            }
        })
        .collect()
}

/// A field quoted after a blank (`a, "b"`, as a hand-edited or a script's
/// export writes it): the quotes were meant as quotes, which RFC 4180 takes
/// only at a field's very start. Its text inside them, blanks around gone.
fn unquoted_padded(field: &str) -> Cell {
    let t = field.trim_matches(' ');
    match t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if !inner.replace("\"\"", "").contains('"') => {
            Cell::from(inner.replace("\"\"", "\"").as_str())
        }
        _ => Cell::from(field),
    }
}

/// Whether one record's text is quoted as RFC 4180 quotes: a field that
/// starts with a quote ends with one, followed by the delimiter or the
/// record's end, with only doubled quotes between (a quote inside a field
/// that does not start with one is a character).
fn well_quoted(record: &[u8], delimiter: u8, width: usize) -> bool {
    let mut i = 0;
    let mut field_start = true;
    while i < record.len() {
        if field_start && record[i] == b'"' {
            i += 1;
            // Delimiters on the current line inside the quotes, once the
            // quotes have run over a line break, and the longest run of
            // digits there: a line that holds a row's worth of fields (the
            // header's width) and an ID number's digits is a row a stray
            // quote swallowed up to a second stray quote in its column, not
            // a field's text (an address, a diagnosis over two lines).
            let mut inner: Option<usize> = None;
            let (mut digits, mut longest) = (0usize, 0usize);
            loop {
                if inner.is_some_and(|n| width > 1 && n + 1 >= width && longest >= 15) {
                    return false;
                }
                let b = record.get(i).copied();
                if b.is_some_and(|b| b.is_ascii_digit()) {
                    digits += 1;
                    longest = longest.max(digits);
                } else {
                    digits = 0;
                }
                match b {
                    // The quote is never closed.
                    None => return false,
                    Some(b) if is_line_break(b) => {
                        inner = Some(0);
                        longest = 0;
                        i += 1;
                    }
                    Some(b) if b == delimiter => {
                        inner = inner.map(|n| n + 1);
                        i += 1;
                    }
                    Some(b'"') if record.get(i + 1) == Some(&b'"') => i += 2,
                    Some(b'"') => {
                        i += 1;
                        match record.get(i) {
                            None => return true,
                            Some(&b) if b == delimiter || is_line_break(b) => break,
                            // Text glued on after the closing quote.
                            Some(_) => return false,
                        }
                    }
                    Some(_) => i += 1,
                }
            }
        }
        // At a delimiter or line break: the next field starts after it.
        field_start = record[i] == delimiter || is_line_break(record[i]);
        i += 1;
    }
    true
}

/// `span` without the line breaks at its ends.
fn trim_line_breaks(span: &[u8]) -> &[u8] {
    let start = span
        .iter()
        .position(|&b| !is_line_break(b))
        .unwrap_or(span.len());
    let end = span
        .iter()
        .rposition(|&b| !is_line_break(b))
        .map_or(start, |i| i + 1);
    &span[start..end]
}

/// The fields of one line on its own: quotes are read as quotes when the
/// line is quoted as RFC 4180 quotes, else (a stray one) as the characters
/// they are.
fn line_fields(line: &[u8], delimiter: u8) -> Vec<Cell> {
    // One line: no line inside a quote to weigh (width 0).
    let paired = well_quoted(line, delimiter, 0);
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .quoting(paired)
        .from_reader(line);
    let mut record = ByteRecord::new();
    let mut fields = match reader.read_byte_record(&mut record) {
        Ok(true) => record_fields(&record),
        _ => Vec::new(),
    };
    strip_bom(&mut fields);
    fields
}

fn is_line_break(byte: u8) -> bool {
    byte == b'\n' || byte == b'\r'
}

/// The bytes of the line break at `at`: `\r\n` is one break of two.
fn break_len(bytes: &[u8], at: usize) -> usize {
    if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
        2
    } else {
        1
    }
}

/// The number of empty lines in the run of line breaks around `consumed` (how
/// far the reader has got: somewhere in the gap between two records, which
/// holds nothing but line breaks; the reader may or may not have consumed
/// the previous record's terminator yet). A record never ends with a raw
/// line break (one inside quotes is followed by the closing quote) nor
/// starts with one (that would be an empty line), so the run is exactly the
/// gap. `\r\n`, `\n` and `\r` each end one line, as they do for the reader.
fn blank_lines_at(data: &[u8], consumed: usize, after_record: bool) -> usize {
    let consumed = consumed.min(data.len());
    let mut start = consumed;
    while start > 0 && is_line_break(data[start - 1]) {
        start -= 1;
    }
    let mut end = consumed;
    while end < data.len() && is_line_break(data[end]) {
        end += 1;
    }
    let gap = &data[start..end];
    let mut breaks: usize = 0;
    let mut i = 0;
    while i < gap.len() {
        i += break_len(gap, i);
        breaks += 1;
    }
    // After a record the first break is its terminator; at the end of the
    // file that makes a trailing newline no row.
    if after_record {
        breaks.saturating_sub(1)
    } else {
        breaks
    }
}

#[cfg(test)]
mod tests {
    use encoding_rs::GB18030;

    use super::super::test_support::*;
    use super::super::{FileFormat, ReadError, SkipReason, read_file};

    fn read(name: &str, bytes: &[u8]) -> Result<super::RawTable, ReadError> {
        let (_dir, path) = temp_file(name, bytes);
        read_file(&path, &is_header)
    }

    #[test]
    fn utf8_header_on_row_1_data_from_row_2() {
        let table = read(
            "r.csv",
            "姓名,身份证号\n张三,110105199001011234\n李四,11010519900101123x\n".as_bytes(),
        )
        .expect("read");
        assert_eq!(
            (table.format, table.encoding.as_str()),
            (FileFormat::Csv, "UTF-8")
        );
        assert!(table.ignored_sheets.is_empty());
        let section = &table.sections[0];
        assert_eq!(section.header, ["姓名", "身份证号"]);
        assert_eq!(
            (section.header_loc.sheet.as_deref(), section.header_loc.row),
            (None, 1)
        );
        assert_eq!(row_numbers(&section.rows), [2, 3]);
        assert_eq!(fields_of(section, 3), ["李四", "11010519900101123x"]);
        assert!(section.skipped.is_empty());
    }

    #[test]
    fn utf8_bom_is_stripped_from_the_first_header_cell() {
        let table = read("r.csv", "\u{FEFF}姓名,身份证号\r\n张三,1\r\n".as_bytes()).expect("read");
        assert_eq!(table.encoding, "UTF-8-BOM");
        assert_eq!(table.sections[0].header, ["姓名", "身份证号"]);
        assert_eq!(row_numbers(&table.sections[0].rows), [2]);
    }

    #[test]
    fn gb18030_file_is_detected_and_decoded() {
        let text = "姓名,身份证号,乡镇（街道）\r\n张三,110105199001011234,城关镇\r\n欧阳娜娜,110105199001011234,东关街道\r\n";
        let bytes = GB18030.encode(text).0.into_owned();
        let table = read("r.csv", &bytes).expect("read");
        assert_eq!(table.encoding, "GB18030");
        let section = &table.sections[0];
        assert_eq!(section.header, ["姓名", "身份证号", "乡镇（街道）"]);
        assert_eq!(row_numbers(&section.rows), [2, 3]);
        assert_eq!(
            fields_of(section, 3),
            ["欧阳娜娜", "110105199001011234", "东关街道"]
        );
    }

    #[test]
    fn utf16le_unicode_text_txt_is_a_tsv() {
        // Excel's "Unicode text": UTF-16LE with BOM, tabs, CRLF, a quoted
        // field holding a tab.
        let text = "姓名\t身份证号\t备注\r\n张三\t1\t\"a\tb\"\r\n\r\n李四\t2\t\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let table = read("export.txt", &bytes).expect("read");
        assert_eq!(
            (table.format, table.encoding.as_str()),
            (FileFormat::Tsv, "UTF-16LE")
        );
        let section = &table.sections[0];
        assert_eq!(section.header, ["姓名", "身份证号", "备注"]);
        assert_eq!(row_numbers(&section.rows), [2, 4]);
        assert_eq!(fields_of(section, 2), ["张三", "1", "a\tb"]);
        assert_eq!(fields_of(section, 4), ["李四", "2", ""]);
        assert_eq!(skips(&section.skipped), [(3, SkipReason::Blank)]);
    }

    #[test]
    fn tsv_extension_means_tabs() {
        let table = read("r.tsv", "姓名\t身份证号\n张三,五\t1\n".as_bytes()).expect("read");
        assert_eq!(table.format, FileFormat::Tsv);
        assert_eq!(fields_of(&table.sections[0], 2), ["张三,五", "1"]);
    }

    #[test]
    fn crlf_with_blank_lines_counts_every_line() {
        let text = "低保名册\r\n\r\n姓名,身份证号\r\n张三,1\r\n\r\n李四,2\r\n";
        let table = read("r.csv", text.as_bytes()).expect("read");
        let section = &table.sections[0];
        assert_eq!(section.header_loc.row, 3);
        assert_eq!(row_numbers(&section.rows), [4, 6]);
        assert_eq!(fields_of(section, 6), ["李四", "2"]);
        assert_eq!(skips(&section.skipped), [(5, SkipReason::Blank)]);
    }

    #[test]
    fn quoted_commas_and_newlines_stay_one_row() {
        let text = "姓名,身份证号,地址\n\
                    张三,1,\"城关镇,幸福路\"\n\
                    李四,2,\"第一行\n第二行\r\n第三行\"\n\
                    \n\
                    王五,3,\"说\"\"是\"\"\"\n\
                    赵六,4,x";
        let table = read("r.csv", text.as_bytes()).expect("read");
        let section = &table.sections[0];
        // 李四's record spans three lines but is row 3; the blank line
        // after it is row 4, 王五 row 5 and 赵六 (no final newline) row 6.
        assert_eq!(row_numbers(&section.rows), [2, 3, 5, 6]);
        assert_eq!(fields_of(section, 2), ["张三", "1", "城关镇,幸福路"]);
        assert_eq!(table.cut_off, None, "no final newline is not a cut");
        assert_eq!(
            fields_of(section, 3),
            ["李四", "2", "第一行\n第二行\r\n第三行"]
        );
        assert_eq!(fields_of(section, 5), ["王五", "3", "说\"是\""]);
        assert_eq!(fields_of(section, 6), ["赵六", "4", "x"]);
        assert_eq!(skips(&section.skipped), [(4, SkipReason::Blank)]);
    }

    #[test]
    fn a_stray_quote_does_not_swallow_the_lines_after_it() {
        // 李四's 地址 opens a quote that nothing closes: read as RFC 4180
        // it runs on to the end of the file, one record of all the rest.
        // Each line is a row again, the quote kept as written; a blank
        // line among them is a blank row. A quoted field that spans lines
        // and fits the header stays one row (张三's, row 2).
        for sep in ["\n", "\r\n"] {
            let text = [
                "姓名,身份证号,地址",
                "张三,1,\"第一行",
                "第二行\"",
                "李四,2,\"城关镇",
                "王五,3,x",
                "",
                "赵六,4,y",
                "钱七,5,z",
            ]
            .join(sep);
            let table = read("r.csv", text.as_bytes()).expect("read");
            let section = &table.sections[0];
            assert_eq!(row_numbers(&section.rows), [2, 3, 4, 6, 7], "{sep:?}");
            assert_eq!(
                fields_of(section, 2),
                ["张三", "1", &format!("第一行{sep}第二行")]
            );
            assert_eq!(fields_of(section, 3), ["李四", "2", "\"城关镇"]);
            assert_eq!(fields_of(section, 4), ["王五", "3", "x"]);
            assert_eq!(fields_of(section, 6), ["赵六", "4", "y"]);
            assert_eq!(fields_of(section, 7), ["钱七", "5", "z"]);
            assert_eq!(skips(&section.skipped), [(5, SkipReason::Blank)]);
        }
        // A second stray quote closes the first: the quotes pair up, but
        // the record does not fit the header.
        let text = "姓名,身份证号,地址,备注\n李四,\"城关,2,x\n王五,3,y,z\"\n赵六,4,a,b\n";
        let table = read("r.csv", text.as_bytes()).expect("read");
        let section = &table.sections[0];
        assert_eq!(row_numbers(&section.rows), [2, 3, 4]);
        assert_eq!(fields_of(section, 2), ["李四", "\"城关", "2", "x"]);
        assert_eq!(fields_of(section, 3), ["王五", "3", "y", "z\""]);
        assert_eq!(fields_of(section, 4), ["赵六", "4", "a", "b"]);
        // Two stray quotes in one column: the second closes the first and
        // the rest of its line is glued on, four fields that fit the header.
        // A quote inside a field that does not start with one is a
        // character, and a record quoted well that spans lines stays one.
        let text = "姓名,身份证号,诊断,金额\n\
                    张三,1,\"I10 高血压,100\n\
                    李四,2,正常,200\n\
                    王五,3,\"I11 心脏病,300\n\
                    赵六,4,\"身高5\"\"\n两行\",5\"\n\
                    钱七,5,\"a\",\"b\"\"c\"\n";
        let table = read("r.csv", text.as_bytes()).expect("read");
        let section = &table.sections[0];
        assert_eq!(row_numbers(&section.rows), [2, 3, 4, 5, 6]);
        assert_eq!(fields_of(section, 2), ["张三", "1", "\"I10 高血压", "100"]);
        assert_eq!(fields_of(section, 3), ["李四", "2", "正常", "200"]);
        assert_eq!(fields_of(section, 4), ["王五", "3", "\"I11 心脏病", "300"]);
        assert_eq!(fields_of(section, 5), ["赵六", "4", "身高5\"\n两行", "5\""]);
        assert_eq!(fields_of(section, 6), ["钱七", "5", "a", "b\"c"]);
        // In a TSV a line's leading empty field stays.
        let text = "姓名\t身份证号\t地址\n\t1\t\"a\n张三\t2\tb\n";
        let table = read("r.tsv", text.as_bytes()).expect("read");
        let section = &table.sections[0];
        assert_eq!(fields_of(section, 2), ["", "1", "\"a"]);
        assert_eq!(fields_of(section, 3), ["张三", "2", "b"]);
        // A field quoted after a blank is its text inside the quotes.
        let text = "姓名,身份证号,金额\n \"张三\", 1, \"15\"\"0\" \n";
        let table = read("r.csv", text.as_bytes()).expect("read");
        assert_eq!(fields_of(&table.sections[0], 2), ["张三", " 1", "15\"0"]);
        // A DOS end-of-file mark glued to the last value is no part of it.
        let text = "姓名,身份证号,金额\n张三,1,150.00\x1a";
        let table = read("r.csv", text.as_bytes()).expect("read");
        assert_eq!(fields_of(&table.sections[0], 2), ["张三", "1", "150.00"]);
        // Two stray quotes in one column lines apart pair up and fit the
        // header, but the lines between them are rows of their own: a line
        // inside the quotes holding a row's worth of fields is no field's
        // text (helper-134's audit: the rows between were lost unseen).
        let text = "姓名,身份证号,诊断,金额\n\
                    张三,341122198001011238,\"I10 高血压,100\n\
                    李四,341122198202040025,正常,200\n\
                    王五,341122198202030027,J00,300\n\
                    赵六,4,E11 糖尿病\",400\n";
        let table = read("r.csv", text.as_bytes()).expect("read");
        let section = &table.sections[0];
        assert_eq!(row_numbers(&section.rows), [2, 3, 4, 5]);
        assert_eq!(
            fields_of(section, 3),
            ["李四", "341122198202040025", "正常", "200"]
        );
        assert_eq!(fields_of(section, 5), ["赵六", "4", "E11 糖尿病\"", "400"]);
        // A field's text over lines with as many commas but no ID number
        // in them stays one field.
        let text = "姓名,身份证号,诊断,金额\n张三,1,\"甲\n乙,丙,丁,戊\",100\n";
        let table = read("r.csv", text.as_bytes()).expect("read");
        assert_eq!(row_numbers(&table.sections[0].rows), [2]);
        // A record quoted well over two lines after a stray quote is one
        // row (helper-109's audit: its two lines were rows of their own,
        // both rejected, and the settlement lost).
        for sep in ["\n", "\r\n"] {
            let text = [
                "姓名,身份证号,诊断,金额",
                "S5,5,\"I10 高血压,100",
                "S1,1,\"I10 高血压",
                "复诊\",2000",
                "",
                "S2,2,\"a,b\",300",
            ]
            .join(sep);
            let table = read("r.csv", text.as_bytes()).expect("read");
            let section = &table.sections[0];
            assert_eq!(row_numbers(&section.rows), [2, 3, 5], "{sep:?}");
            assert_eq!(fields_of(section, 2), ["S5", "5", "\"I10 高血压", "100"]);
            assert_eq!(
                fields_of(section, 3),
                ["S1", "1", &format!("I10 高血压{sep}复诊"), "2000"]
            );
            assert_eq!(fields_of(section, 5), ["S2", "2", "a,b", "300"]);
            assert_eq!(skips(&section.skipped), [(4, SkipReason::Blank)]);
        }
    }

    #[test]
    fn title_blank_total_repeated_header_and_short_rows() {
        let text = "2025年第三季度低保名册,,\n\
                    ,,\n\
                    姓名,身份证号,金额\n\
                    张三,1,100\n\
                    \n\
                    ,  ,\u{3000}\n\
                    李四,2\n\
                    姓名,身份证号,金额\n\
                    王五,3,300,多余\n\
                    合计,,400\n\
                    \n";
        let table = read("r.csv", text.as_bytes()).expect("read");
        let section = &table.sections[0];
        assert_eq!(section.header_loc.row, 3);
        assert_eq!(row_numbers(&section.rows), [4, 7, 9]);
        // Rows with too few or too many fields come through as they are.
        assert_eq!(fields_of(section, 7), ["李四", "2"]);
        assert_eq!(fields_of(section, 9), ["王五", "3", "300", "多余"]);
        assert_eq!(
            skips(&section.skipped),
            [
                (5, SkipReason::Blank),
                (6, SkipReason::Blank),
                (8, SkipReason::RepeatedHeader),
                (10, SkipReason::Total),
                // "\n\n" at the end: one blank line, then the final newline.
                (11, SkipReason::Blank),
            ]
        );
    }

    /// Two exports pasted into one file: the second's title line, right
    /// above its header, is skipped as a title; a row of one value that
    /// is not right above a header, or is a name or a number, stays a row.
    #[test]
    fn a_title_above_a_repeated_header_is_skipped() {
        let text = "2025年9月失业登记\n\
                    姓名,身份证号,状态\n\
                    张三,1,失业\n\
                    李四\n\
                    \n\
                    2025年10月失业登记\n\
                    身份证号,姓名,状态\n\
                    2,王五,失业\n\
                    赵六\n\
                    身份证号,姓名,状态\n\
                    341122198001011238\n\
                    身份证号,姓名,状态\n";
        let table = read("r.csv", text.as_bytes()).expect("read");
        let section = &table.sections[0];
        // A lone name or ID number above a header is a broken data row
        // (rejected later), not a title.
        assert_eq!(row_numbers(&section.rows), [3, 4, 8, 9, 11]);
        assert_eq!(
            skips(&section.skipped),
            [
                (5, SkipReason::Blank),
                (6, SkipReason::Title),
                (7, SkipReason::RepeatedHeader),
                (10, SkipReason::RepeatedHeader),
                (12, SkipReason::RepeatedHeader),
            ]
        );
    }

    /// A title without a date names what it lists; a minority name
    /// written without its separator is as long and is a broken row.
    #[test]
    fn a_long_name_above_a_repeated_header_is_a_row_and_a_dateless_title_is_not() {
        let text = "姓名,身份证号,状态\n\
                    张三,1,失业\n\
                    阿卜杜拉买买提,,\n\
                    姓名,身份证号,状态\n\
                    李四,2,失业\n\
                    城关镇失业人员名册\n\
                    姓名,身份证号,状态\n\
                    王五,3,失业\n";
        let table = read("r.csv", text.as_bytes()).expect("read");
        let section = &table.sections[0];
        assert_eq!(row_numbers(&section.rows), [2, 3, 5, 8]);
        assert_eq!(
            skips(&section.skipped),
            [
                (4, SkipReason::RepeatedHeader),
                (6, SkipReason::Title),
                (7, SkipReason::RepeatedHeader),
            ]
        );
    }

    /// A tab-separated export named .csv (or .txt) with a title line of
    /// neither tabs nor commas above its header.
    #[test]
    fn a_tab_separated_csv_with_a_title_line_is_read_by_tabs() {
        for name in ["p.csv", "p.txt"] {
            let text = "\u{FEFF}2025年11月养老金发放表\n姓名\t身份证号\n张三\t1\n李四\t2\n";
            let table = read(name, text.as_bytes()).expect("read");
            let section = &table.sections[0];
            assert_eq!(row_numbers(&section.rows), [3, 4], "{name}");
            assert_eq!(fields_of(section, 4), ["李四", "2"], "{name}");
        }
    }

    /// Short titles with a title word of two characters, and dates in
    /// full-width digits, are titles; a short name with a one-character
    /// word is not.
    #[test]
    fn short_titles_and_full_width_dates_are_titles() {
        for title in ["民政局名册", "县民政局", "人社局导出", "２０２５年１０月"]
        {
            let text = format!("姓名,身份证号\n张三,1\n{title}\n姓名,身份证号\n李四,2\n");
            let table = read("r.csv", text.as_bytes()).expect("read");
            let section = &table.sections[0];
            assert_eq!(row_numbers(&section.rows), [2, 5], "{title}");
        }
        for name in ["王镇", "李村长", "张国庆县", "１２３４５６"] {
            let text = format!("姓名,身份证号\n张三,1\n{name}\n姓名,身份证号\n李四,2\n");
            let table = read("r.csv", text.as_bytes()).expect("read");
            let section = &table.sections[0];
            assert_eq!(row_numbers(&section.rows), [2, 3, 5], "{name}");
        }
    }

    #[test]
    fn bom_of_a_pasted_second_export_is_stripped() {
        let text = "\u{FEFF}姓名,身份证号\n张三,1\n\u{FEFF}姓名,身份证号\n李四,2\n";
        let table = read("r.csv", text.as_bytes()).expect("read");
        let section = &table.sections[0];
        assert_eq!(row_numbers(&section.rows), [2, 4]);
        assert_eq!(skips(&section.skipped), [(3, SkipReason::RepeatedHeader)]);
    }

    #[test]
    fn fields_are_not_trimmed() {
        let table = read(
            "r.csv",
            "姓名,身份证号\n 张三 ,\t110105199001011234\n".as_bytes(),
        )
        .expect("read");
        assert_eq!(
            fields_of(&table.sections[0], 2),
            [" 张三 ", "\t110105199001011234"]
        );
    }

    #[test]
    fn file_cut_mid_character_keeps_its_rows() {
        let mut bytes = "姓名,身份证号\n张三,1\n李四,2\n王".as_bytes().to_vec();
        bytes.pop();
        let table = read("r.csv", &bytes).expect("read");
        assert_eq!(table.encoding, "UTF-8");
        let section = &table.sections[0];
        assert_eq!(row_numbers(&section.rows), [2, 3, 4]);
        assert_eq!(fields_of(section, 4), ["\u{FFFD}"]);
        assert_eq!(table.cut_off.map(|loc| loc.row), Some(4));
    }

    #[test]
    fn gb18030_file_cut_mid_character_keeps_its_rows() {
        let text =
            "姓名,身份证号,乡镇\n张三,110105199001011234,城关镇\n李四,110105199001011234,城关";
        let mut bytes = GB18030.encode(text).0.into_owned();
        bytes.pop();
        let table = read("r.csv", &bytes).expect("read");
        assert_eq!(table.encoding, "GB18030");
        let section = &table.sections[0];
        assert_eq!(row_numbers(&section.rows), [2, 3]);
        assert_eq!(
            fields_of(section, 3),
            ["李四", "110105199001011234", "城\u{FFFD}"]
        );
        assert_eq!(table.cut_off.map(|loc| loc.row), Some(3));
    }

    #[test]
    fn bad_bytes_in_the_middle_are_undecodable_and_not_quoted() {
        let mut bytes = "姓名,身份证号\n张三,110105199001011234\n李四,110105199001011234\n"
            .as_bytes()
            .to_vec();
        let bad_at = bytes.len();
        bytes.extend_from_slice(b"\xFF\xFE\xFD\xFC,1\n");
        bytes.extend_from_slice("李四,110105199001011234\n".repeat(5).as_bytes());
        let err = read("r.csv", &bytes).expect_err("undecodable");
        let message = err.to_string();
        assert!(message.starts_with("无法识别文件编码：r.csv"), "{message}");
        assert!(
            matches!(&err, ReadError::Undecodable { offset, line: 4, .. } if *offset == bad_at as u64),
            "{err}"
        );
        assert!(message.contains("第 4 行"), "{message}");
        assert!(
            !message.contains("110105") && !message.contains("张三"),
            "{message}"
        );
    }

    #[test]
    fn random_binary_is_an_error_not_a_panic() {
        for seed in 0..32 {
            let bytes = noise(4096, seed);
            assert!(read("r.csv", &bytes).is_err(), "seed {seed}");
            // Without NUL bytes the encoding guess has to fail on its own.
            let text_like: Vec<u8> = bytes.into_iter().filter(|&b| b != 0).collect();
            assert!(read("r.csv", &text_like).is_err(), "seed {seed}, no NUL");
        }
        // The start of a zip (an .xlsx renamed .csv).
        let err = read(
            "r.csv",
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb5U0#\xf4",
        )
        .expect_err("binary");
        assert!(matches!(&err, ReadError::NotText { .. }), "{err}");
        assert!(
            err.to_string().starts_with(
                "不是文本文件：r.csv（内容是 XLSX 工作簿（zip 压缩格式），可能是改了扩展名的工作簿；请把扩展名改为 .xlsx"
            ),
            "{err}"
        );
        // An .xls renamed .txt.
        let err = read("r.txt", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00").expect_err("binary");
        assert!(
            err.to_string()
                .contains("（.xls）或其他 Office 文件；请在 Excel 中打开并另存为"),
            "{err}"
        );
        // Noise that begins so is still not text.
        let mut zip_noise = b"PK\x03\x04".to_vec();
        zip_noise.extend(noise(64, 1));
        assert!(read("r.tsv", &zip_noise).is_err());
    }

    #[test]
    fn empty_and_whitespace_only_files_are_empty() {
        for bytes in [
            &b""[..],
            b"\xEF\xBB\xBF",
            b" \r\n\t\n",
            b"\xFF\xFE \x00\r\x00\n\x00",
        ] {
            let err = read("r.csv", bytes).expect_err("empty");
            assert!(matches!(err, ReadError::Empty { .. }), "{bytes:?}: {err}");
            assert!(
                err.to_string()
                    .starts_with("空文件：r.csv / empty file: r.csv")
            );
        }
    }

    #[test]
    fn header_only_file_is_a_section_without_rows() {
        let table = read("r.csv", "姓名,身份证号\n".as_bytes()).expect("read");
        let section = &table.sections[0];
        assert_eq!(section.header_loc.row, 1);
        assert!(section.rows.is_empty() && section.skipped.is_empty());
    }

    #[test]
    fn no_header_in_the_first_30_rows() {
        let text = "张三,110105199001011234\n".repeat(40);
        let err = read("r.csv", text.as_bytes()).expect_err("no header");
        assert!(matches!(err, ReadError::NoHeader { rows: 30, .. }));
        let message = err.to_string();
        assert!(
            message.starts_with("在前 30 行中未找到表头：r.csv"),
            "{message}"
        );
        assert!(!message.contains("110105"), "{message}");
    }

    #[test]
    fn header_after_blank_lines_and_29_title_rows_is_found() {
        let mut text = "\n\n".to_owned();
        text.push_str(&"标题\n".repeat(29));
        text.push_str("姓名,身份证号\n张三,1\n");
        let table = read("r.csv", text.as_bytes()).expect("read");
        assert_eq!(table.sections[0].header_loc.row, 32);
        assert_eq!(row_numbers(&table.sections[0].rows), [33]);
    }
}

/// Row numbering against a plain line count, on generated text.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::super::{ReadError, Section};
    use super::read_delimited;

    fn is_header(fields: &[super::super::Cell]) -> bool {
        fields.first().is_some_and(|f| f.trim() == "h")
    }

    /// The row numbers below the header, in order, data and skipped merged.
    fn rows_below_header(section: &Section) -> Vec<u32> {
        let mut rows: Vec<u32> = section.rows.iter().map(|r| r.loc.row).collect();
        rows.extend(section.skipped.iter().map(|s| s.loc.row));
        rows.sort_unstable();
        rows
    }

    /// Lines as a spreadsheet shows them: `\r\n`, `\r`, `\n` each end one,
    /// and a final line break opens no new row.
    fn spreadsheet_lines(text: &str) -> u32 {
        let bytes = text.as_bytes();
        let (mut lines, mut i) = (0, 0);
        while i < bytes.len() {
            if bytes[i] == b'\r' || bytes[i] == b'\n' {
                lines += 1;
                if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            i += 1;
        }
        let ends_open = bytes.last().is_some_and(|&b| b != b'\r' && b != b'\n');
        lines + u32::from(ends_open)
    }

    /// `read_delimited` with every chunk collected back into the section.
    fn delimited_whole(bytes: &[u8]) -> Result<super::RawTable, ReadError> {
        let mut rows = Vec::new();
        let mut skipped = Vec::new();
        let mut sink = |chunk: super::super::Chunk<'_>| {
            rows.extend(chunk.rows);
            skipped.extend(chunk.skipped);
        };
        let mut table = read_delimited("p.csv", bytes, None, &is_header, &mut sink)?;
        table.sections[0].rows = rows;
        table.sections[0].skipped = skipped;
        Ok(table)
    }

    proptest! {
        /// Without quotes every line is a row: each row number below the
        /// header appears exactly once, up to the last line.
        #[test]
        fn every_line_below_the_header_is_one_row(text in "[hx, \r\n]{0,120}") {
            match delimited_whole(text.as_bytes()) {
                Ok(table) => {
                    let section = &table.sections[0];
                    let expected: Vec<u32> = (section.header_loc.row + 1..=spreadsheet_lines(&text)).collect();
                    prop_assert_eq!(rows_below_header(section), expected);
                }
                Err(err) => prop_assert!(matches!(err, ReadError::NoHeader { .. } | ReadError::Empty { .. }), "{}", err),
            }
        }

        /// With quotes (even unbalanced ones) rows stay contiguous and
        /// unique; nothing panics.
        #[test]
        fn quoted_text_rows_are_contiguous(text in "[hx, \"\r\n]{0,120}") {
            if let Ok(table) = delimited_whole(text.as_bytes()) {
                let section = &table.sections[0];
                let rows = rows_below_header(section);
                let expected: Vec<u32> = (section.header_loc.row + 1..).take(rows.len()).collect();
                prop_assert_eq!(rows, expected);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = delimited_whole(&bytes);
        }
    }
}
