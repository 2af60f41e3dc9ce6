//! report.xlsx: the workbook reviewers work in. A 汇总 sheet (as-of date,
//! masking, findings per rule × township with totals both ways, the input
//! accounting), then one sheet per rule with findings (`CB01 收入超标`,
//! continued on `CB01 收入超标 (2)` past Excel's row limit), then 已核销
//! and 已消失 when they hold rows. Every findings sheet has the columns of
//! [`view::HEADERS`], a frozen header row, a filter, fitted column widths,
//! every value stored as text (ID numbers never become numbers) and a
//! 核查结论 drop-down of [`VERDICTS`] pre-filled from the reviews.
//!
//! The same report gives the same bytes: the document's creation time is
//! the as-of date, and rust_xlsxwriter writes fixed zip timestamps.

use std::path::Path;

use rust_xlsxwriter::{
    Color, DataValidation, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder,
    IgnoreError, Workbook, Worksheet, XlsxError,
};

use crate::report::people::{PeopleReport, VERDICTS};
use crate::report::view::{self, HEADERS, VERDICT_COLUMN};

/// Excel's rows per sheet, the header row included.
pub const EXCEL_MAX_ROWS: usize = 1_048_576;
/// Excel's length limit for a sheet name, in UTF-16 units.
const SHEET_NAME_MAX: usize = 31;
/// Column widths stop growing here (long evidence wraps in the cell's
/// editor instead of pushing the next columns off screen).
const MAX_WIDTH: usize = 60;
pub const SUMMARY_SHEET: &str = "汇总";

/// Renders the workbook. Each findings sheet keeps one row in memory and
/// the rest, as the sheet's XML, in an unnamed temporary file in `tempdir`
/// (the output's own folder: no name on disk, owner only, gone when
/// closed); its strings are written in their cells, not in a table of
/// strings shared by the workbook. A city's findings are 1.5 M rows of
/// mostly different strings: against a shared table, a city's workbook
/// renders in 17.2 s against 32.9 s, a county's in 1.41–1.45 s against
/// 1.79–1.85 s, 4–5 % larger (session 47).
pub fn render(report: &PeopleReport, tempdir: &Path) -> Result<Vec<u8>, XlsxError> {
    render_with_limit(report, EXCEL_MAX_ROWS - 1, tempdir)
}

/// Renders the workbook with at most `rows_per_sheet` findings per sheet
/// (Excel's limit in production; small in tests).
fn render_with_limit(
    report: &PeopleReport,
    rows_per_sheet: usize,
    tempdir: &Path,
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    workbook.set_tempdir(tempdir)?;
    // Compressing the sheets' XML is most of the time spent saving. Against
    // the default level 6, level 2 took 30 % less CPU to render a county's
    // report, for a file 15 % larger (level 1: about as fast, 63 % larger).
    workbook.set_zip_compression_level(2);
    workbook.set_properties(&properties(report)?);
    let styles = Styles::new();
    write_summary(workbook.add_worksheet(), report, &styles)?;
    for (title, rows) in view::tables(report) {
        let parts = rows.chunks(rows_per_sheet.max(1)).collect::<Vec<_>>();
        for (part, chunk) in parts.iter().enumerate() {
            let sheet = workbook.add_worksheet_with_constant_memory()?;
            sheet.set_name(sheet_name(&title, part + 1))?;
            let cells = view::cells_of(report, chunk);
            write_findings(sheet, &cells, &styles)?;
        }
    }
    workbook.save_to_buffer()
}

/// Fixed document properties: no wall clock, so the same report gives the
/// same bytes.
fn properties(report: &PeopleReport) -> Result<DocProperties, XlsxError> {
    let created = chrono::NaiveDate::parse_from_str(&report.manifest.as_of, "%Y-%m-%d")
        .ok()
        .and_then(|d| {
            use chrono::Datelike;
            ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8).ok()
        });
    let created = match created {
        Some(d) => d,
        None => ExcelDateTime::from_ymd(2000, 1, 1)?,
    };
    Ok(DocProperties::new()
        .set_title(format!("核对结果 {}", report.manifest.as_of))
        .set_author(report.manifest.tool)
        .set_company("")
        .set_comment(view::masking_note(report.masked))
        .set_creation_datetime(&created))
}

/// A valid, readable sheet name: the characters Excel refuses replaced,
/// cut to Excel's length with room for the part suffix ` (2)`.
pub fn sheet_name(title: &str, part: usize) -> String {
    let suffix = if part > 1 {
        format!(" ({part})")
    } else {
        String::new()
    };
    let mut name = String::new();
    let mut len = suffix.encode_utf16().count();
    for c in title.chars() {
        let c = match c {
            '*' | '?' | ':' | '[' | ']' | '\\' | '/' => '_',
            c if c.is_control() => '_',
            c => c,
        };
        if len + c.len_utf16() > SHEET_NAME_MAX {
            break;
        }
        len += c.len_utf16();
        name.push(c);
    }
    let name = name.trim_matches('\'').trim();
    let name = if name.is_empty() { "发现" } else { name };
    format!("{name}{suffix}")
}

/// The width of a text in Excel's character units: CJK and full-width
/// characters take two.
pub fn display_width(text: &str) -> usize {
    text.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD)
}

/// Column widths that fit the header and the widest cell, within
/// [`MAX_WIDTH`], with a little padding.
pub fn fitted_widths<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> [usize; N] {
    let mut widths = header.map(display_width);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(display_width(cell));
        }
    }
    widths.map(|w| w.min(MAX_WIDTH) + 2)
}

struct Styles {
    header: Format,
    title: Format,
    total: Format,
    /// The evidence: wrapped in its cell, read whole without widening it.
    wrap: Format,
}

/// The 备注 column's least width: room to write a note in.
const NOTE_WIDTH: usize = 30;

impl Styles {
    fn new() -> Styles {
        Styles {
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0xDDEBF7))
                .set_border_bottom(FormatBorder::Thin)
                .set_align(FormatAlign::Center),
            title: Format::new().set_bold().set_font_size(14),
            total: Format::new().set_bold().set_border_top(FormatBorder::Thin),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
        }
    }
}

/// The most characters an Excel cell holds.
const CELL_MAX_CHARS: usize = 32_767;

/// Said at the end of a cell cut to fit: the full text is in findings.csv.
const CUT_MARK: &str = "…（超出 Excel 单元格上限，全文见 findings.csv / cut: see findings.csv）";

/// A cell's text as Excel can hold it: whole when it fits, else cut with
/// [`CUT_MARK`] (a finding with hundreds of source rows can have more
/// evidence or sources than one cell takes).
fn fit_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    fit_text(cell, CUT_MARK)
}

/// `text` whole when Excel's cell holds it, else cut to end with `mark`.
/// The limit counts UTF-16 units (a rare character of a name outside the
/// BMP is two), never more than the text's bytes.
fn fit_text<'a>(text: &'a str, mark: &str) -> std::borrow::Cow<'a, str> {
    if text.len() <= CELL_MAX_CHARS || text.encode_utf16().count() <= CELL_MAX_CHARS {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut room = CELL_MAX_CHARS - mark.encode_utf16().count();
    let mut cut = String::new();
    for c in text.chars() {
        if c.len_utf16() > room {
            break;
        }
        room -= c.len_utf16();
        cut.push(c);
    }
    cut.push_str(mark);
    std::borrow::Cow::Owned(cut)
}

/// Writes a findings sheet row by row (the sheet keeps one row in memory:
/// see [`render_with_limit`]): the columns' widths and hidden columns
/// first, then the header and each row, its verdict and note again in the
/// hidden columns.
fn write_findings(
    sheet: &mut Worksheet,
    rows: &[[String; 15]],
    styles: &Styles,
) -> Result<(), XlsxError> {
    let mut widths = fitted_widths(&HEADERS, rows);
    widths[view::NOTE_COLUMN] = widths[view::NOTE_COLUMN].max(NOTE_WIDTH);
    for (c, w) in widths.iter().enumerate() {
        sheet.set_column_width(c as u16, *w as f64)?;
    }
    // A cell written without a format takes its column's (a look-up per
    // cell cheaper than a format's).
    sheet.set_column_format(view::EVIDENCE_COLUMN as u16, &styles.wrap)?;
    // The verdict and note as made, again, in hidden columns (see
    // view::SHOWN_VERDICT_HEADER).
    let shown = [
        (VERDICT_COLUMN, view::SHOWN_VERDICT_HEADER),
        (view::NOTE_COLUMN, view::SHOWN_NOTE_HEADER),
    ];
    let shown_col = |i: usize| (HEADERS.len() + i) as u16;
    for i in 0..shown.len() {
        sheet.set_column_hidden(shown_col(i))?;
    }
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &styles.header)?;
    }
    for (i, (_, header)) in shown.iter().enumerate() {
        sheet.write_string_with_format(0, shown_col(i), *header, &styles.header)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string(r, c as u16, fit_cell(cell))?;
            }
        }
        for (i, (from, _)) in shown.iter().enumerate() {
            if !row[*from].is_empty() {
                sheet.write_string(r, shown_col(i), fit_cell(&row[*from]))?;
            }
        }
    }
    let last_row = rows.len() as u32;
    let last_col = HEADERS.len() as u16 - 1;
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, last_row, last_col)?;
    if last_row > 0 {
        let verdicts = DataValidation::new()
            .allow_list_strings(&VERDICTS)?
            .set_input_title("核查结论")?
            .set_input_message(VERDICTS.join(" / "))?;
        let col = VERDICT_COLUMN as u16;
        sheet.add_data_validation(1, col, last_row, col, &verdicts)?;
        // Every cell is text on purpose: no "number stored as text" flags.
        sheet.ignore_error_range(1, 0, last_row, last_col, IgnoreError::NumberStoredAsText)?;
    }
    Ok(())
}

fn write_summary(
    sheet: &mut Worksheet,
    report: &PeopleReport,
    styles: &Styles,
) -> Result<(), XlsxError> {
    sheet.set_name(SUMMARY_SHEET)?;
    // The rule's code, name and kind stay in view while a county's many
    // township columns scroll by.
    sheet.set_freeze_panes(0, 3)?;
    let s = view::summary(report);
    let m = report.manifest;
    sheet.write_string_with_format(0, 0, "核对结果汇总", &styles.title)?;
    // Counts as numbers (as text, Excel marks each "a number stored as
    // text"), the rest as text.
    enum Fact {
        Text(String),
        Count(u64),
    }
    let facts: [(&str, Fact); 6] = [
        ("核对基准日", Fact::Text(m.as_of.clone())),
        (
            "脱敏",
            Fact::Text(view::masking_note(report.masked).to_string()),
        ),
        ("本次发现", Fact::Count(s.total)),
        ("其中已核销", Fact::Count(s.dismissed)),
        ("已消失（上次有、本次无）", Fact::Count(s.disappeared)),
        ("工具版本", Fact::Text(format!("{} {}", m.tool, m.version))),
    ];
    let mut row = 1u32;
    for (label, value) in &facts {
        sheet.write_string(row, 0, *label)?;
        match value {
            Fact::Text(text) => sheet.write_string(row, 1, text)?,
            Fact::Count(n) => sheet.write_number(row, 1, *n as f64)?,
        };
        row += 1;
    }

    // What a reviewer should know of how the run went, before its counts:
    // each note across the frozen columns, wrapped (its row's height is set
    // once the widths are known).
    let notes = view::run_notes(report);
    let mut note_rows = Vec::new();
    if !notes.is_empty() {
        row += 1;
        sheet.write_string_with_format(row, 0, view::NOTES_TITLE, &styles.title)?;
        for note in &notes {
            row += 1;
            let note = fit_note(note);
            sheet.merge_range(row, 0, row, NOTE_LAST_COLUMN, &note, &styles.wrap)?;
            note_rows.push((row, display_width(&note)));
        }
        row += 1;
    }

    // Findings per rule × township, totals both ways.
    row += 1;
    sheet.write_string_with_format(row, 0, "各规则分乡镇发现数", &styles.title)?;
    row += 1;
    let mut header = vec!["规则", "名称", "类别"];
    header.extend(s.townships.iter().map(String::as_str));
    header.push("合计");
    for (c, h) in header.iter().enumerate() {
        sheet.write_string_with_format(row, c as u16, *h, &styles.header)?;
    }
    for r in &s.rules {
        row += 1;
        sheet.write_string(row, 0, &r.code)?;
        sheet.write_string(row, 1, &r.label)?;
        sheet.write_string(row, 2, &r.kind)?;
        if r.skipped {
            // No count: the rule did not run.
            sheet.write_string(row, 3 + r.counts.len() as u16, view::SKIPPED)?;
            continue;
        }
        for (c, n) in r.counts.iter().enumerate() {
            sheet.write_number(row, 3 + c as u16, *n as f64)?;
        }
        sheet.write_number(row, 3 + r.counts.len() as u16, r.total as f64)?;
    }
    row += 1;
    sheet.write_string_with_format(row, 0, "合计", &styles.total)?;
    sheet.write_string_with_format(row, 1, "", &styles.total)?;
    sheet.write_string_with_format(row, 2, "", &styles.total)?;
    for (c, n) in s.township_totals.iter().enumerate() {
        sheet.write_number_with_format(row, 3 + c as u16, *n as f64, &styles.total)?;
    }
    sheet.write_number_with_format(
        row,
        3 + s.township_totals.len() as u16,
        s.total as f64,
        &styles.total,
    )?;

    // What came in: the accounting of every input file.
    row += 2;
    sheet.write_string_with_format(row, 0, "输入文件", &styles.title)?;
    row += 1;
    let input_header = ["抽取", "文件", "读取", "接受", "拒绝", "跳过", "重复"];
    for (c, h) in input_header.iter().enumerate() {
        sheet.write_string_with_format(row, c as u16, *h, &styles.header)?;
    }
    for a in &m.inputs {
        row += 1;
        sheet.write_string(row, 0, &a.extract)?;
        sheet.write_string(
            row,
            1,
            crate::report::mask::mask_file_name(&a.file, report.masked),
        )?;
        for (c, n) in [
            a.rows_read,
            a.rows_accepted,
            a.rows_rejected,
            a.rows_skipped,
            a.rows_duplicate,
        ]
        .iter()
        .enumerate()
        {
            sheet.write_number(row, 2 + c as u16, *n as f64)?;
        }
    }

    // Widths: the first columns hold labels, file names and rule names.
    let mut widths = vec![12usize; header.len().max(input_header.len())];
    for (label, value) in &facts {
        widths[0] = widths[0].max(display_width(label));
        let shown = match value {
            Fact::Text(text) => display_width(text),
            Fact::Count(n) => n.to_string().len(),
        };
        widths[1] = widths[1].max(shown.min(24));
    }
    for (c, h) in header.iter().enumerate() {
        widths[c] = widths[c].max(display_width(h));
    }
    for r in &s.rules {
        widths[1] = widths[1].max(display_width(&r.label));
        widths[2] = widths[2].max(display_width(&r.kind));
        if r.skipped {
            let total = header.len() - 1;
            widths[total] = widths[total].max(display_width(view::SKIPPED));
        }
    }
    for a in &m.inputs {
        widths[0] = widths[0].max(display_width(&a.extract));
        let file = crate::report::mask::mask_file_name(&a.file, report.masked);
        widths[1] = widths[1].max(display_width(&file).min(MAX_WIDTH));
    }
    for (c, w) in widths.iter().enumerate() {
        sheet.set_column_width(c as u16, (*w + 2) as f64)?;
    }
    // A note's lines: its width over the columns it spans, a line of the
    // default height (15 points) each.
    let across: usize = widths[..=NOTE_LAST_COLUMN as usize]
        .iter()
        .map(|w| w + 2)
        .sum();
    for (at, width) in note_rows {
        let lines = width.div_ceil(across.max(1)).max(1);
        sheet.set_row_height(at, 15.0 * lines as f64)?;
    }
    Ok(())
}

/// The last column a note of the summary spans: the frozen ones (the
/// rule's code, name and kind), so that a note stays whole in view while
/// the townships scroll by.
const NOTE_LAST_COLUMN: u16 = 2;

/// A note as a cell holds it: the notes name at most 20 files each, but a
/// line of the manifest could be longer than Excel's cell, whose limit
/// counts UTF-16 units (a rare character of a name outside the BMP is two).
fn fit_note(note: &str) -> std::borrow::Cow<'_, str> {
    fit_text(note, "…（全文见 manifest.json / see manifest.json）")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::view::tests::{finding, manifest, masked_report};

    #[test]
    fn sheet_names_are_valid_and_numbered_past_the_first_part() {
        assert_eq!(sheet_name("CB01 收入超标", 1), "CB01 收入超标");
        assert_eq!(sheet_name("CB01 收入超标", 2), "CB01 收入超标 (2)");
        assert_eq!(sheet_name("a/b:c*d?[e]\\f", 1), "a_b_c_d__e__f");
        assert_eq!(sheet_name("'引号'", 1), "引号");
        assert_eq!(sheet_name("", 1), "发现");
        let long = "规".repeat(40);
        assert_eq!(sheet_name(&long, 1).encode_utf16().count(), 31);
        assert_eq!(sheet_name(&long, 12).encode_utf16().count(), 31);
        assert!(sheet_name(&long, 12).ends_with(" (12)"));
    }

    #[test]
    fn a_note_longer_than_a_cell_is_cut_and_says_where_it_is_whole() {
        assert_eq!(fit_note("短"), "短");
        let long = "注".repeat(CELL_MAX_CHARS + 5);
        let cut = fit_note(&long);
        assert_eq!(cut.encode_utf16().count(), CELL_MAX_CHARS);
        assert!(
            cut.ends_with("see manifest.json）"),
            "{}",
            &cut[cut.len() - 80..]
        );
        // A character outside the BMP is two of Excel's units.
        let rare = "𠀀".repeat(CELL_MAX_CHARS / 2 + 1);
        assert!(rare.chars().count() < CELL_MAX_CHARS);
        let cut = fit_note(&rare);
        assert!(cut.encode_utf16().count() <= CELL_MAX_CHARS);
        assert!(cut.ends_with("see manifest.json）"));
        let fits = "𠀀".repeat(CELL_MAX_CHARS / 2);
        assert_eq!(fit_note(&fits), fits);
    }

    #[test]
    fn widths_count_cjk_double_and_stop_growing() {
        assert_eq!(display_width("CB01"), 4);
        assert_eq!(display_width("收入超标"), 8);
        assert_eq!(display_width("（无）"), 6);
        assert_eq!(display_width("110105********1234"), 18);
        let rows = [["110105199001011234".to_string(), "很".repeat(100)]];
        assert_eq!(fitted_widths(&["身份证号", "核查依据"], &rows), [20, 62]);
        assert_eq!(fitted_widths(&["核查结论", "x"], &[]), [10, 3]);
    }

    fn sheet_names(bytes: Vec<u8>) -> Vec<String> {
        use calamine::Reader;
        let book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        book.sheet_names().to_vec()
    }

    #[test]
    fn a_file_named_with_an_id_number_is_masked_in_the_summary() {
        use calamine::{Data, Reader};
        let mut m = manifest();
        m.inputs[0].file = "roster_张三_341122198507027077.xlsx".into();
        let rows = vec![];
        let reviews = BTreeMap::new();
        let mut report = masked_report(&m, &rows, &reviews);
        let files = |report: &PeopleReport| -> Vec<String> {
            let bytes = render(report, &std::env::temp_dir()).unwrap();
            let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
            let range = book.worksheet_range(SUMMARY_SHEET).unwrap();
            range
                .rows()
                .flatten()
                .filter_map(|c| match c {
                    Data::String(s) if s.starts_with("roster_") => Some(s.clone()),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(files(&report), ["roster_张*_341122********7077.xlsx"]);
        report.masked = false;
        assert_eq!(files(&report), ["roster_张三_341122198507027077.xlsx"]);
    }

    #[test]
    fn sources_past_excel_s_cell_limit_are_cut_and_said_so() {
        use calamine::{Data, Reader};
        let m = manifest();
        let mut long = finding("DY02", "城关镇", "110105199001011234", "张三明");
        long.sources = (2..5000)
            .map(|r| format!("medical_settlement:medical_settlement_202511.csv:{r}"))
            .collect::<Vec<_>>()
            .join(";");
        assert!(long.sources.chars().count() > CELL_MAX_CHARS);
        let rows = vec![long];
        let reviews = BTreeMap::new();
        let report = masked_report(&m, &rows, &reviews);
        let bytes = render(&report, &std::env::temp_dir()).expect("a report despite the long cell");
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("DY02 救助比例不足").unwrap();
        let cut = range
            .rows()
            .flatten()
            .find_map(|c| match c {
                Data::String(s) if s.ends_with(CUT_MARK) => Some(s.clone()),
                _ => None,
            })
            .expect("the cut cell");
        assert_eq!(cut.chars().count(), CELL_MAX_CHARS);
        assert!(cut.starts_with("medical_settlement:medical_settlement_202511.csv:2;"));
        assert_eq!(fit_cell("短"), "短");
    }

    #[test]
    fn a_rule_past_the_row_limit_continues_on_numbered_sheets() {
        let m = manifest();
        let rows: Vec<_> = (0..5)
            .map(|i| finding("CB01", "城关镇", &format!("11010519900101123{i}"), "张三明"))
            .chain([finding("DQ02", "河西乡", "110105199001011299", "李四")])
            .collect();
        let reviews = BTreeMap::new();
        let report = masked_report(&m, &rows, &reviews);
        let bytes = render_with_limit(&report, 2, &std::env::temp_dir()).unwrap();
        assert_eq!(
            sheet_names(bytes),
            [
                "汇总",
                "CB01 收入超标",
                "CB01 收入超标 (2)",
                "CB01 收入超标 (3)",
                "DQ02 同号不同名"
            ]
        );
    }

    #[test]
    fn dismissed_and_disappeared_sheets_and_reviews_prefilled() {
        use crate::report::people::{DISMISSED, Review};
        use calamine::{Data, Reader};
        let m = manifest();
        let mut closed = finding("CB01", "城关镇", "110105199001011235", "李四");
        closed.case_status = format!("{DISMISSED}（不属实）");
        let open = finding("CB01", "城关镇", "110105199001011234", "张三明");
        let mut gone = finding("CB02", "河西乡", "110105199001011239", "赵六");
        gone.case_status = "已消失".to_string();
        let rows = vec![open.clone(), closed.clone()];
        let disappeared = vec![gone];
        let reviews = BTreeMap::from([
            (
                open.finding_id.clone(),
                Review {
                    verdict: "待核查".into(),
                    note: "下周入户".into(),
                },
            ),
            (
                closed.finding_id.clone(),
                Review {
                    verdict: "不属实".into(),
                    note: String::new(),
                },
            ),
        ]);
        let report = PeopleReport {
            manifest: &m,
            findings: &rows,
            reviews: &reviews,
            disappeared: &disappeared,
            masked: false,
        };
        let bytes = render(&report, &std::env::temp_dir()).unwrap();
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(
            book.sheet_names(),
            ["汇总", "CB01 收入超标", "已核销", "已消失"]
        );
        let cell = |sheet: &calamine::Range<Data>, r: u32, c: u32| {
            sheet
                .get_value((r, c))
                .map(|d| d.to_string())
                .unwrap_or_default()
        };
        let rule = book.worksheet_range("CB01 收入超标").unwrap();
        assert_eq!(rule.height(), 2);
        assert_eq!(cell(&rule, 1, 0), open.finding_id);
        assert_eq!(cell(&rule, 1, VERDICT_COLUMN as u32), "待核查");
        assert_eq!(cell(&rule, 1, 14), "下周入户");
        assert_eq!(cell(&rule, 1, 5), "110105199001011234", "unmasked");
        let dismissed = book.worksheet_range("已核销").unwrap();
        assert_eq!(cell(&dismissed, 1, 0), closed.finding_id);
        assert_eq!(cell(&dismissed, 1, VERDICT_COLUMN as u32), "不属实");
        let gone = book.worksheet_range("已消失").unwrap();
        assert_eq!(cell(&gone, 1, 12), "已消失");
        // The evidence wraps in its cell; 备注 has room for a note.
        let bytes = render(&report, &std::env::temp_dir()).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let part = |zip: &mut zip::ZipArchive<_>, name: &str| {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut text).unwrap();
            text
        };
        assert!(part(&mut zip, "xl/styles.xml").contains("wrapText=\"1\""));
        let sheet = part(&mut zip, "xl/worksheets/sheet2.xml");
        assert!(
            sheet.contains("<col min=\"15\" max=\"15\" width=\"30.7"),
            "{sheet}"
        );
        // The evidence cell carries the column's wrapping style.
        assert!(sheet.contains("<c r=\"J2\" s=\""), "{sheet}");
    }
}
