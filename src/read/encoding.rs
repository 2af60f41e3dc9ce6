//! Bytes of a text extract to UTF-8. What arrives: UTF-8, UTF-8 with BOM
//! (Excel's "CSV UTF-8"), UTF-16 with BOM (Excel's "Unicode text", a TSV),
//! and GBK/GB18030 without any label (Excel's plain "CSV" on Chinese
//! Windows). BOMs decide first, then valid UTF-8, then chardetng's guess.
//! GBK is decoded as GB18030, its superset, so that a GBK guess never
//! rejects a character GBK lacks. Also here: the tab-or-comma sniff for
//! `.txt`, which needs the decoded text.

use std::borrow::Cow;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{DecoderResult, Encoding, GB18030, GBK, UTF_8, UTF_16BE, UTF_16LE};

use super::FileFormat;

/// A malformed sequence that starts within this many bytes of the end is a
/// file cut off mid-character (a truncated copy or download): decoded with
/// U+FFFD so the rows before it survive, and flagged ([`Decoded::truncated`])
/// so that the caller rejects the cut row whatever its field count. Malformed bytes anywhere else mean the encoding guess
/// is wrong, and carrying on would hand garbled ID numbers downstream.
const TRUNCATION_TOLERANCE: usize = 3;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decoded text and the name of the encoding it was in.
#[derive(Debug)]
pub(super) struct Decoded<'a> {
    pub text: Cow<'a, str>,
    pub encoding: &'static str,
    /// The file ends mid-character: the text ends with the U+FFFD that
    /// stands for the cut-off character (see [`TRUNCATION_TOLERANCE`]).
    pub truncated: bool,
}

/// Where decoding failed.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Undecodable {
    pub encoding: &'static str,
    /// 0-based offset in the file, BOM included.
    pub offset: u64,
}

/// The line (1-based) that byte `offset` of a text file is on: the line
/// breaks before it, plus one (a break in UTF-16 holds the byte 0x0A too).
pub(super) fn line_of(bytes: &[u8], offset: u64) -> u64 {
    let end = usize::try_from(offset).map_or(bytes.len(), |o| o.min(bytes.len()));
    bytes[..end].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

/// Zero bytes, or nothing but ASCII whitespace after an optional UTF-8 BOM.
pub(super) fn is_blank_bytes(bytes: &[u8]) -> bool {
    let body = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    body.iter().all(u8::is_ascii_whitespace)
}

/// `bytes` as text when they are UTF-8: checked with SIMD, and again by the
/// standard library only when they are not, for its account of where.
pub(super) fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    simdutf8::basic::from_utf8(bytes).or_else(|_| std::str::from_utf8(bytes))
}

pub(super) fn decode(bytes: &[u8]) -> Result<Decoded<'_>, Undecodable> {
    if let Some(body) = bytes.strip_prefix(UTF8_BOM) {
        // Valid UTF-8 is used where it lies; only a damaged file is copied.
        match utf8(body) {
            Ok(text) => {
                return Ok(Decoded {
                    text: Cow::Borrowed(text),
                    encoding: "UTF-8-BOM",
                    truncated: false,
                });
            }
            // Not UTF-8 from its first characters on: a GBK file that an
            // editor or a script gave a UTF-8 BOM; the rest decides.
            Err(err)
                if err.error_len().is_some()
                    && utf8_characters_before(body, err.valid_up_to()) < UTF8_EVIDENCE =>
            {
                return decode(body).map_err(|e| Undecodable {
                    offset: e.offset + UTF8_BOM.len() as u64,
                    ..e
                });
            }
            Err(_) => return decode_with(UTF_8, "UTF-8-BOM", body, UTF8_BOM.len()),
        }
    }
    if let Some(body) = bytes.strip_prefix(b"\xFF\xFE") {
        return decode_with(UTF_16LE, "UTF-16LE", body, 2);
    }
    if let Some(body) = bytes.strip_prefix(b"\xFE\xFF") {
        return decode_with(UTF_16BE, "UTF-16BE", body, 2);
    }
    match utf8(bytes) {
        Ok(text) => {
            return Ok(Decoded {
                text: Cow::Borrowed(text),
                encoding: "UTF-8",
                truncated: false,
            });
        }
        // `error_len() == None`: valid UTF-8 up to a sequence cut off by the
        // end of the file. chardetng would call that something else.
        Err(err) if err.error_len().is_none() => return decode_with(UTF_8, "UTF-8", bytes, 0),
        // Plenty of Chinese text that is valid UTF-8, then a bad byte: a
        // damaged UTF-8 file, not GBK (GBK text passes as UTF-8 for a few
        // characters at most). Guessing on would misread the whole file.
        Err(err) if utf8_characters_before(bytes, err.valid_up_to()) >= UTF8_EVIDENCE => {
            return Err(Undecodable {
                encoding: "UTF-8",
                offset: err.valid_up_to() as u64,
            });
        }
        Err(_) => {}
    }
    // No text encoding we receive fills a file with NUL bytes (UTF-16
    // without a BOM is not something Excel writes; a workbook, an archive
    // or an image holds them throughout): a head in which they are more
    // than a few and more than one byte in a thousand is a binary file. A
    // stray NUL or two in a GBK export is a character of its row, as in a
    // UTF-8 one, and the file is read.
    let head = &bytes[..bytes.len().min(BINARY_HEAD)];
    let nuls = head.iter().filter(|&&b| b == 0).count();
    // UTF-16 without its BOM (a database's "Unicode" export): the NUL
    // halves of its ASCII (commas, digits, line breaks) all on one side.
    if let Some((encoding, name)) = utf16_without_bom(head, nuls) {
        return decode_with(encoding, name, bytes, 0);
    }
    if nuls > STRAY_NULS && nuls * 1000 > head.len() {
        return Err(Undecodable {
            encoding: "binary",
            offset: head.iter().position(|&b| b == 0).unwrap_or(0) as u64,
        });
    }
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    // The head of a large file is evidence enough for the guess (every
    // line has names and places in it); the decode below checks every byte.
    // A file cut mid-character ends in half a character, which would count
    // against the right encoding (a short GB18030 file then reads as
    // something else): the guess leaves out the non-ASCII run a whole file
    // ends with, which holds the cut.
    let (evidence, whole) = if bytes.len() > DETECT_BYTES {
        (&bytes[..DETECT_BYTES], false)
    } else {
        let tail = bytes.iter().rev().take_while(|b| !b.is_ascii()).count();
        if tail < bytes.len() && tail <= GUESS_TAIL_LEFT_OUT {
            (&bytes[..bytes.len() - tail], true)
        } else {
            (bytes, true)
        }
    };
    // chardetng costs hundreds of instructions a byte: it is fed a piece at
    // a time and stops once it has seen enough text that is not ASCII.
    let mut seen = 0;
    for piece in evidence.chunks(DETECT_PIECE) {
        seen += piece.iter().filter(|b| !b.is_ascii()).count();
        let last = whole && piece.as_ptr_range().end == evidence.as_ptr_range().end;
        detector.feed(piece, last);
        if seen >= DETECT_NON_ASCII {
            break;
        }
    }
    // The `cn` hint tips close calls towards GBK, the legacy encoding of
    // every file we receive that is not UTF-8.
    let guess = detector.guess(Some(b"cn"), Utf8Detection::Deny);
    if guess == GBK || guess == GB18030 {
        if let Some(offset) = utf8_line(bytes) {
            return Err(Undecodable {
                encoding: UTF8_IN_GB18030,
                offset: offset as u64,
            });
        }
        decode_with(GB18030, "GB18030", bytes, 0)
    } else {
        decode_with(guess, guess.name(), bytes, 0)
    }
}

/// [`Undecodable::encoding`] of a GB18030 file with a line of UTF-8 in
/// it (rows pasted or appended from a UTF-8 file: read as GB18030 their
/// names would be garbled, `张伟` → `寮犱紵`).
pub(super) const UTF8_IN_GB18030: &str = "GB18030+UTF-8";

/// The offset of the first line of a GB18030 file that is UTF-8: Chinese
/// as UTF-8 (three characters or more, every one outside ASCII a CJK
/// ideograph or a full-width or CJK punctuation mark) whose bytes, taken as
/// GB18030, hold a character outside GB2312 (of two bytes `A1–F7` `A1–FE`).
/// UTF-8 Chinese read as GB18030 is such characters half the time, two
/// bytes in every three being `80–BF`; a GB18030 line of names and places
/// is GB2312 throughout, and taken as UTF-8 is nearly never valid: both at
/// once in a line that is GB18030 is not to be met.
fn utf8_line(bytes: &[u8]) -> Option<usize> {
    // The line breaks found by memchr: a split by a closure looked at every
    // byte in turn.
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    let mut offset = 0;
    for end in ends {
        let line = &bytes[offset..end];
        if !line.is_ascii() && is_utf8_chinese(line) && !is_gb2312(line) {
            return Some(offset);
        }
        offset = end + 1;
    }
    None
}

/// Whether a line is UTF-8 holding three CJK ideographs or more and no
/// character outside ASCII but those and CJK or full-width punctuation.
fn is_utf8_chinese(line: &[u8]) -> bool {
    let Ok(text) = simdutf8::basic::from_utf8(line) else {
        return false;
    };
    let mut han = 0;
    for c in text.chars().filter(|c| !c.is_ascii()) {
        if crate::normalize::text::is_common_han(c) {
            han += 1;
        } else if !matches!(c, '\u{3000}'..='\u{303F}' | '\u{FF00}'..='\u{FFEF}') {
            return false;
        }
    }
    han >= 3
}

/// Whether every character of a line, taken as GB18030, is ASCII or of
/// GB2312's two-byte area.
fn is_gb2312(line: &[u8]) -> bool {
    let mut i = 0;
    while i < line.len() {
        if line[i].is_ascii() {
            i += 1;
            continue;
        }
        match line.get(i + 1) {
            Some(&trail) if (0xA1..=0xF7).contains(&line[i]) && (0xA1..=0xFE).contains(&trail) => {
                i += 2;
            }
            _ => return false,
        }
    }
    true
}

/// The UTF-16 a head of `nuls` NUL bytes is written in without a BOM:
/// NULs are a fifth of its bytes or more (every ASCII character of a CSV
/// line, its digits and commas, has one), all at odd places (little
/// endian) or all at even ones (big endian), and the head is a whole number
/// of code units. A binary file's NULs fall on both.
fn utf16_without_bom(head: &[u8], nuls: usize) -> Option<(&'static Encoding, &'static str)> {
    if head.len() < 4 || !head.len().is_multiple_of(2) || nuls * 5 < head.len() {
        return None;
    }
    let odd = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    if odd == nuls {
        Some((UTF_16LE, "UTF-16LE"))
    } else if odd == 0 {
        Some((UTF_16BE, "UTF-16BE"))
    } else {
        None
    }
}

/// The head of a file whose NUL bytes tell a binary file (see [`decode`]),
/// and how many a text file may hold there as stray bytes.
const BINARY_HEAD: usize = 64 << 10;
const STRAY_NULS: usize = 3;

/// How much of a file chardetng sees at most.
const DETECT_BYTES: usize = 1 << 20;

/// The pieces chardetng is fed, and the non-ASCII bytes after which it has
/// seen enough (some four thousand Chinese characters).
const DETECT_PIECE: usize = 64 << 10;
const DETECT_NON_ASCII: usize = 8 << 10;

/// The longest non-ASCII run at the end of a file that the encoding guess
/// leaves out (see [`decode`]).
const GUESS_TAIL_LEFT_OUT: usize = 256;

/// How many non-ASCII characters count as proof of UTF-8.
const UTF8_EVIDENCE: usize = 8;

/// Non-ASCII characters in the valid UTF-8 prefix `bytes[..valid_up_to]`.
fn utf8_characters_before(bytes: &[u8], valid_up_to: usize) -> usize {
    std::str::from_utf8(&bytes[..valid_up_to.min(bytes.len())])
        .map(|prefix| prefix.chars().filter(|c| !c.is_ascii()).count())
        .unwrap_or(0)
}

/// Decodes `body` (the file from `body_offset` on, past any BOM), failing on
/// the first malformed sequence unless it is at the very end.
fn decode_with(
    encoding: &'static Encoding,
    name: &'static str,
    body: &[u8],
    body_offset: usize,
) -> Result<Decoded<'static>, Undecodable> {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length(body.len())
        .unwrap_or(body.len());
    let mut text = String::with_capacity(capacity);
    let mut pos = 0;
    let mut truncated = false;
    loop {
        let (result, read) =
            decoder.decode_to_string_without_replacement(&body[pos..], &mut text, true);
        pos += read;
        match result {
            DecoderResult::InputEmpty => break,
            DecoderResult::OutputFull => {
                let remaining = body.len() - pos;
                let more = decoder
                    .max_utf8_buffer_length(remaining)
                    .unwrap_or(remaining)
                    .max(16);
                text.reserve(more);
            }
            DecoderResult::Malformed(bad, after) => {
                let at = pos.saturating_sub(usize::from(bad) + usize::from(after));
                if body.len() - at > TRUNCATION_TOLERANCE {
                    return Err(Undecodable {
                        encoding: name,
                        offset: (body_offset + at) as u64,
                    });
                }
                text.push('\u{FFFD}');
                truncated = true;
            }
        }
    }
    Ok(Decoded {
        text: Cow::Owned(text),
        encoding: name,
        truncated,
    })
}

/// Tab-separated when more of the first non-blank lines (as many as a
/// header is looked for in) have more separating tabs than commas than the
/// other way round: a title line above the header (`2025年11月养老金发放表`,
/// or one with a comma in it) has neither or a few, and a tab-separated
/// row whose amounts are written `1,234.50` still has more tabs. A tab that
/// starts a field of a comma-separated line (Excel's text guard,
/// `,\t341122…` or `,"\t341122…"`) separates nothing: not counted.
///
/// Quotes are read as the readers read them: a quote at a field's start
/// opens a quoted field (`""` inside is a quote) whose tabs, commas and
/// line breaks separate nothing. A head that ends inside a quoted field
/// (a stray opening quote), or whose quoted field over line breaks closes
/// with text glued on after it (two stray quotes: the readers take such a
/// record apart into its lines), is counted again without regard to quotes;
/// so is one whose count with quotes is a tie (two stray quotes may hide
/// every data line between them; the reader takes a record that does not
/// fit the header apart into lines too).
pub(super) fn sniff_delimited(text: &str) -> FileFormat {
    let (tab_lines, comma_lines) = match line_counts(text, true) {
        Some((tabs, commas)) if tabs != commas => (tabs, commas),
        _ => line_counts(text, false).expect("without quotes the scan cannot end inside one"),
    };
    if tab_lines > comma_lines {
        FileFormat::Tsv
    } else {
        FileFormat::Csv
    }
}

/// For [`sniff_delimited`]: how many of the first non-blank lines have
/// more separating tabs than commas, and how many fewer; `None` when the
/// text ends inside a quoted field, or a quoted field over line breaks
/// closes with text glued on after it (stray quotes).
fn line_counts(text: &str, quotes: bool) -> Option<(usize, usize)> {
    let mut counts = LineCounts::default();
    let (mut tabs, mut commas) = (0usize, 0usize);
    // Where a field starts (a line's start, after a comma or a tab), and
    // where a tab is Excel's guard (a line's start, after a comma, or
    // after a quote that opens a field at either).
    let (mut field_start, mut guard) = (true, true);
    let (mut in_quotes, mut spans_lines) = (false, false);
    let bytes = text.as_bytes();
    let (mut i, mut line_start) = (0, 0);
    while i < bytes.len() {
        if counts.lines == super::HEADER_SEARCH_ROWS {
            return Some((counts.tab_lines, counts.comma_lines));
        }
        let b = bytes[i];
        i += 1;
        if in_quotes {
            if b == b'"' && bytes.get(i) == Some(&b'"') {
                i += 1;
            } else if b == b'"' {
                in_quotes = false;
                // A field over line breaks whose closing quote has text
                // glued on after it: two stray quotes, which the readers
                // take apart into lines again (`read::csv`).
                let closed = bytes
                    .get(i)
                    .is_none_or(|c| matches!(c, b',' | b'\t' | b'\n' | b'\r'));
                if spans_lines && !closed {
                    return None;
                }
            }
            spans_lines |= matches!(b, b'\n' | b'\r');
            (field_start, guard) = (false, false);
            continue;
        }
        match b {
            b'\n' | b'\r' => {
                // Blank as the old sniff's `trim` said: Unicode blanks too.
                if !text[line_start..i - 1].trim().is_empty() {
                    counts.add(tabs, commas);
                }
                (tabs, commas, line_start) = (0, 0, i);
                (field_start, guard) = (true, true);
            }
            b'"' if field_start => {
                (in_quotes, spans_lines) = (quotes, false);
                field_start = false;
            }
            b'\t' => {
                tabs += usize::from(!guard);
                (field_start, guard) = (true, false);
            }
            b',' => {
                commas += 1;
                (field_start, guard) = (true, true);
            }
            _ => (field_start, guard) = (false, false),
        }
    }
    if in_quotes {
        return None;
    }
    if !text[line_start..].trim().is_empty() && counts.lines < super::HEADER_SEARCH_ROWS {
        counts.add(tabs, commas);
    }
    Some((counts.tab_lines, counts.comma_lines))
}

/// Lines counted by [`line_counts`].
#[derive(Default)]
struct LineCounts {
    lines: usize,
    tab_lines: usize,
    comma_lines: usize,
}

impl LineCounts {
    fn add(&mut self, tabs: usize, commas: usize) {
        self.lines += 1;
        match tabs.cmp(&commas) {
            std::cmp::Ordering::Greater => self.tab_lines += 1,
            std::cmp::Ordering::Less => self.comma_lines += 1,
            std::cmp::Ordering::Equal => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_utf8_is_borrowed() {
        let decoded = decode("姓名,身份证号\n".as_bytes()).expect("utf-8");
        assert_eq!(decoded.encoding, "UTF-8");
        assert!(matches!(decoded.text, Cow::Borrowed(_)));
    }

    #[test]
    fn boms_decide_and_are_stripped() {
        let decoded = decode("\u{FEFF}姓名".as_bytes()).expect("utf-8 bom");
        assert_eq!((decoded.encoding, &*decoded.text), ("UTF-8-BOM", "姓名"));

        // encoding_rs only encodes to UTF-8 when asked for UTF-16 (the
        // Encoding Standard's rule), so the UTF-16LE bytes are built by hand.
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "姓名\t年龄".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let decoded = decode(&bytes).expect("utf-16le");
        assert_eq!(
            (decoded.encoding, &*decoded.text),
            ("UTF-16LE", "姓名\t年龄")
        );
    }

    /// A GBK file behind a UTF-8 BOM (an editor's or a script's) is read
    /// as GBK; a UTF-8 file damaged after plenty of text stays undecodable.
    #[test]
    fn a_utf8_bom_before_gbk_text_does_not_make_it_utf8() {
        let (gbk, _, _) = GBK.encode("姓名,身份证号\n张三,1\n李四,2\n王五,3\n");
        let mut bytes = UTF8_BOM.to_vec();
        bytes.extend_from_slice(&gbk);
        let decoded = decode(&bytes).expect("gbk behind a bom");
        assert_eq!(decoded.encoding, "GB18030");
        assert!(decoded.text.starts_with("姓名,身份证号\n张三"));
        let mut damaged = UTF8_BOM.to_vec();
        damaged.extend_from_slice("姓名,身份证号,张三李四王五赵六\n".as_bytes());
        damaged.push(0xFF);
        damaged.extend_from_slice("张三,1\n".as_bytes());
        let Err(err) = decode(&damaged) else {
            panic!("damaged utf-8 decoded")
        };
        assert_eq!((err.encoding, err.offset), ("UTF-8-BOM", 48));
    }

    #[test]
    fn gbk_is_detected_and_decoded_as_gb18030() {
        let text = "姓名,身份证号,乡镇（街道）\n张三,110105199001011234,城关镇\n王小明,11010519900101123X,东关街道\n";
        let (bytes, _, _) = GB18030.encode(text);
        let decoded = decode(&bytes).expect("gb18030");
        assert_eq!((decoded.encoding, &*decoded.text), ("GB18030", text));
    }

    #[test]
    fn gbk_is_detected_in_a_large_file_and_after_a_long_ascii_head() {
        let row = "王小明,11010519900101123X,东关街道,城关镇卫生院\n";
        let ascii_head = "1,110105199001011234,2,3\n".repeat(20_000);
        // Full-width digits and punctuation share their bytes with other
        // CJK encodings: a head of them alone is no proof of GBK.
        let full_width_head = "１２３４５６７８９０，（）：；\n".repeat(6_000);
        for text in [
            row.repeat(40_000),
            format!("{ascii_head}{}", row.repeat(60)),
            format!("{full_width_head}{}", row.repeat(60)),
        ] {
            assert!(text.len() > DETECT_PIECE * 4);
            let (bytes, _, _) = GB18030.encode(&text);
            let decoded = decode(&bytes).expect("gb18030");
            assert_eq!(decoded.encoding, "GB18030");
            assert!(decoded.text == text);
        }
    }

    #[test]
    fn gbk_with_a_bad_byte_in_the_middle_is_undecodable() {
        let text = "姓名,身份证号,乡镇（街道）\r\n张三,110105199001011234,城关镇\r\n";
        let mut bytes = GB18030.encode(text).0.into_owned();
        let bad_at = bytes.len();
        // 0xFF never starts a GBK/GB18030 character.
        bytes.extend_from_slice(b"\xFF,1,2\r\n");
        bytes.extend_from_slice(
            &GB18030
                .encode(&"王小明,110105199001011234,东关街道\r\n".repeat(20))
                .0,
        );
        let err = decode(&bytes).expect_err("undecodable");
        assert_eq!(
            err,
            Undecodable {
                encoding: "GB18030",
                offset: bad_at as u64
            }
        );
    }

    /// UTF-8 rows appended to a GB18030 file are found (their line), not
    /// read as GB18030's garble; GB18030 files of every kind of name and
    /// place are not taken for such.
    #[test]
    fn utf8_rows_in_a_gb18030_file_are_found() {
        let head = GB18030
            .encode(&"王小明,110105199001011234,东关街道\r\n".repeat(20))
            .0
            .into_owned();
        let mut bytes = head.clone();
        let at = bytes.len();
        bytes.extend_from_slice("张伟,110105199001011234,城关镇\r\n".as_bytes());
        bytes.extend_from_slice(&GB18030.encode("李四,110105199001011234,城关镇\r\n").0);
        let err = decode(&bytes).expect_err("mixed");
        assert_eq!(
            err,
            Undecodable {
                encoding: UTF8_IN_GB18030,
                offset: at as u64
            }
        );
        // The last line too, with no line break after it, and a line
        // break as the file's last byte.
        let mut last = head.clone();
        last.extend_from_slice("张伟,110105199001011234,城关镇".as_bytes());
        assert_eq!(utf8_line(&last), Some(head.len()));
        assert_eq!(utf8_line(&head), None);
        assert_eq!(utf8_line(b"\n"), None);
        assert_eq!(utf8_line(b""), None);
        // Two UTF-8 characters on their own are too few to tell.
        let mut short = head.clone();
        short.extend_from_slice("张伟,110105199001011234,\r\n".as_bytes());
        assert!(decode(&short).is_ok_and(|d| d.encoding == "GB18030"));
        // GB18030 text is never taken for UTF-8: GB2312's names, places and
        // punctuation, rarer characters (GBK's, GB18030's four-byte ones).
        let names: String = (0x4E00u32..0x9FA6)
            .filter_map(char::from_u32)
            .collect::<Vec<_>>()
            .chunks(7)
            .map(|c| {
                format!(
                    "{},110105199001011234,（城关镇）\r\n",
                    c.iter().collect::<String>()
                )
            })
            .collect();
        let bytes = GB18030.encode(&names).0;
        let decoded = decode(&bytes).expect("gb18030");
        assert_eq!(decoded.encoding, "GB18030");
        assert_eq!(utf8_line(&bytes), None);
    }

    #[test]
    fn damaged_utf8_is_undecodable_as_utf8() {
        let mut bytes = "姓名,身份证号,乡镇（街道）\n张三,1,城关镇\n"
            .as_bytes()
            .to_vec();
        let bad_at = bytes.len();
        bytes.extend_from_slice(b"\xA0\xA0,2,x\n");
        bytes.extend_from_slice("王五,3,东关街道\n".as_bytes());
        let err = decode(&bytes).expect_err("undecodable");
        assert_eq!(
            err,
            Undecodable {
                encoding: "UTF-8",
                offset: bad_at as u64
            }
        );
    }

    #[test]
    fn truncated_gb18030_character_at_the_end_is_replaced() {
        let text = "姓名,身份证号\n张三,1\n王五,2\n李四,3\n赵六,4\n张";
        let mut bytes = GB18030.encode(text).0.into_owned();
        bytes.pop();
        let decoded = decode(&bytes).expect("truncated tolerated");
        assert_eq!(decoded.encoding, "GB18030");
        assert!(decoded.text.ends_with('\u{FFFD}'), "{:?}", decoded.text);
    }

    #[test]
    fn nul_bytes_throughout_mean_binary() {
        let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00";
        let err = decode(png).expect_err("binary");
        assert_eq!(
            err,
            Undecodable {
                encoding: "binary",
                offset: 8
            }
        );
    }

    /// UTF-16 without its BOM, either way round, is read as UTF-16.
    #[test]
    fn utf16_without_a_bom_is_read() {
        let text = "姓名,身份证号,发放月份\r\n张三,110101199003071234,202510\r\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let decoded = decode(&le).expect("UTF-16LE");
        assert_eq!(
            (decoded.encoding, decoded.text.as_ref()),
            ("UTF-16LE", text)
        );
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let decoded = decode(&be).expect("UTF-16BE");
        assert_eq!(
            (decoded.encoding, decoded.text.as_ref()),
            ("UTF-16BE", text)
        );
    }

    /// A stray NUL in a GBK export (a damaged line) is read as a character
    /// of its row, as in a UTF-8 file: the file is not taken for binary.
    #[test]
    fn a_stray_nul_in_a_gbk_file_is_a_character() {
        let text = "姓名,身份证号,发放月份,发放金额（元）\n张三,110101199003071234,202510\0,1200\n李四,110101199003071234,202510,1200\n";
        let bytes = GB18030.encode(text).0.into_owned();
        let decoded = decode(&bytes).expect("text");
        assert_eq!(decoded.encoding, "GB18030");
        assert_eq!(decoded.text, text);
    }

    #[test]
    fn sniffs_tab_only_when_no_comma() {
        assert_eq!(sniff_delimited("\n\n姓名\t身份证号\n"), FileFormat::Tsv);
        assert_eq!(sniff_delimited("姓名,身份证号\t备注\n"), FileFormat::Csv);
        assert_eq!(sniff_delimited("姓名\n"), FileFormat::Csv);
        // Lines of ideographic spaces are blank: they do not use up the
        // lines the sniff looks at.
        let spaced = format!(
            "城关镇,养老金发放表\n{}姓名\t身份证号\n张三\t1\n",
            "\u{3000}\r\n".repeat(super::super::HEADER_SEARCH_ROWS)
        );
        assert_eq!(sniff_delimited(&spaced), FileFormat::Tsv);
    }

    /// A title line above a tab-separated header does not decide: the
    /// lines below it do (a title with a comma, amounts with commas).
    #[test]
    fn sniffs_tab_below_a_title_line() {
        let tsv = "2025年11月养老金发放表\n姓名\t身份证号\t发放金额\n张三\t1\t1,234.50\n";
        assert_eq!(sniff_delimited(tsv), FileFormat::Tsv);
        let comma_title = "城关镇,养老金发放表\n姓名\t身份证号\t金额\n张三\t1\t180\n";
        assert_eq!(sniff_delimited(comma_title), FileFormat::Tsv);
        let csv = "2025年11月养老金发放表\n姓名,身份证号,金额\n张三,1,\"1,234.50\"\n";
        assert_eq!(sniff_delimited(csv), FileFormat::Csv);
    }

    /// Excel's text guard, a tab at the start of every field of a
    /// comma-separated row (bare or quoted), separates nothing.
    #[test]
    fn tab_guarded_fields_of_a_csv_do_not_make_it_tab_separated() {
        let guarded = "姓名,身份证号,登记日期,状态\n\
                       \t张三,\t341122198001011238,\t2024-01-05,\t失业\n\
                       \t李四,\t341122198001011238,\t2024-01-05,\t失业\n";
        assert_eq!(sniff_delimited(guarded), FileFormat::Csv);
        let quoted = "姓名,身份证号,状态\n\"\t张三\",\"\t341122198001011238\",\"\t失业\"\n";
        assert_eq!(sniff_delimited(quoted), FileFormat::Csv);
        // Tab-separated with quoted fields and empty ones: every tab but
        // one at a line's start counts.
        let tsv = "姓名\t身份证号\t金额\n\"张三\"\t\t\"1,234.50\"\n\t1\t2\n";
        assert_eq!(sniff_delimited(tsv), FileFormat::Tsv);
    }

    /// Tabs, commas and line breaks inside quoted fields separate nothing:
    /// a comma-separated file whose quoted fields hold tabs and a line
    /// break stays comma-separated (it was read as tab-separated, the
    /// header then not found), and the same for commas in a tab-separated
    /// one. A stray quote that never closes is counted without quotes.
    #[test]
    fn quoted_tabs_and_line_breaks_separate_nothing() {
        let csv = "姓名,身份证号,备注\n\"a\t\r王\t\",\"a\t\",\"a\t\"\n";
        assert_eq!(sniff_delimited(csv), FileFormat::Csv);
        let line = "\"说\"\"\t\t\t\",1,2\n";
        let escaped = format!("姓名,身份证号,备注\n{line}{line}");
        assert_eq!(sniff_delimited(&escaped), FileFormat::Csv);
        let tsv = "姓名\t身份证号\t备注\n张三\t1\t\"a,\nb,c,d\"\n";
        assert_eq!(sniff_delimited(tsv), FileFormat::Tsv);
        let stray_tsv = "姓名\t身份证号\n\"张三\t1\n李四\t2\n";
        assert_eq!(sniff_delimited(stray_tsv), FileFormat::Tsv);
        let stray_csv = "姓名,身份证号\n\"张三,1\n李四,2\t\n";
        assert_eq!(sniff_delimited(stray_csv), FileFormat::Csv);
        // Two stray quotes pair up over three lines, text glued on after
        // the second: the lines count as they are (counted with quotes, a
        // title with a comma and the header were one line each, a tie).
        let paired_strays = "城关镇,养老金发放表\n姓名\t身份证号\n\"张三\t1\n李四\t2\n王五\t\"3\n";
        assert_eq!(sniff_delimited(paired_strays), FileFormat::Tsv);
        // The same closed before a line end: not glued, but the count with
        // quotes ties.
        let closed_strays = "城关镇,养老金发放表\n姓名\t身份证号\n\"张三\t1\n李四\t2\n王五\t3\"\n";
        assert_eq!(sniff_delimited(closed_strays), FileFormat::Tsv);
        // A stray quote never closed: the lines above it alone (two titles
        // with commas, the header) would say comma-separated.
        let titles = "城关镇,养老金发放表\n2025年,11月\n姓名\t身份证号\n";
        let unclosed = format!("{titles}\"张三\t1\n李四\t2\n王五\t3\n");
        assert_eq!(sniff_delimited(&unclosed), FileFormat::Tsv);
    }
}
