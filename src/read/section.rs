//! What every format shares once its rows are text: the search for the header
//! row and the sorting of the rows below it into data rows and skipped rows
//! (blank, total, repeated header), so that `rows + skipped` is every row
//! below the header and the manifest's accounting holds by construction.

use rayon::prelude::*;

use super::{
    Cell, Chunk, ChunkSink, HEADER_SEARCH_ROWS, RawRow, RowLoc, Section, SkipReason, SkippedRow,
};

/// Labels that open a total row. `合计`, `总计` and `共计` also open
/// longer labels (`合计：`, `总计（元）`, `共计 312 户`); `小计`, `累计` and
/// a page's total (`本页小计`, `本页合计`) only count on their own, since
/// such a label is rarely decorated and a prefix match would be needlessly
/// wide.
const TOTAL_PREFIXES: [&str; 3] = ["合计", "总计", "共计"];
const TOTAL_EXACT: [&str; 7] = [
    "合计",
    "总计",
    "共计",
    "小计",
    "累计",
    "本页小计",
    "本页合计",
];

/// The first characters of the labels above: a cell that starts with none
/// of them is decided without building a string.
const TOTAL_STARTS: [char; 6] = ['合', '总', '共', '小', '累', '本'];

/// Labels of the lines a department's export ends with, below its rows:
/// who made and checked the table, when, and notes on it (`制表人：张三`,
/// `审核人：`, `填报日期：2025年11月30日`, `注：本表数据截至…`). Each is
/// followed by a colon in such a line (see [`is_footer`]).
const FOOTER_LABELS: [&str; 30] = [
    "制表人",
    "制表",
    "填表人",
    "填报人",
    "审核人",
    "审核",
    "复核人",
    "审批人",
    "负责人",
    "单位负责人",
    "经办人",
    "联系人",
    "联系电话",
    "制表日期",
    "填表日期",
    "填报日期",
    "报送日期",
    "打印日期",
    "打印时间",
    "导出日期",
    "导出时间",
    "制表时间",
    "填报单位",
    "制表单位",
    "备注",
    "说明",
    "填表说明",
    "注",
    "数据来源",
    "统计口径",
];

/// Whether the search for the header may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scan {
    Continue,
    /// [`HEADER_SEARCH_ROWS`] non-blank rows passed without a header.
    GaveUp,
}

/// Takes the rows of one file or sheet from the top, in order. With a sink
/// the rows below the header are handed on in chunks of [`CHUNK_ROWS`] as
/// they come (a large file is never held whole); without one they collect
/// in the section.
pub(super) struct SectionScanner<'a> {
    is_header: &'a (dyn Fn(&[Cell]) -> bool + Sync),
    non_blank_above_header: usize,
    section: Option<Section>,
    /// Rows below the header not yet sorted into data and skipped rows:
    /// that is done a chunk at a time, in parallel (the repeated-header
    /// check looks at every cell of every row).
    pending: Vec<(u32, Vec<Cell>)>,
    sink: Option<&'a mut ChunkSink<'a>>,
    /// Whether the current section has been handed to the sink yet.
    announced: bool,
    /// Whether the header was found on the last row pushed (the next may
    /// be its second row: see [`SectionScanner::second_header_row`]).
    header_open: bool,
    /// The header row that lays out the rows being read: the header, or
    /// the last one repeated below it with other cells (see
    /// [`Section::headers`]). Set when the first rows below are sorted.
    layout: Option<Vec<Cell>>,
    /// The last row pushed before the header was found, if not blank.
    last_above: Option<(u32, Vec<Cell>)>,
    /// The rows above the header that could be data rows of a header below
    /// them (see [`is_data_above`]), until the header is found.
    data_above: Vec<(u32, Vec<Cell>)>,
    /// The non-blank rows pushed before a header was found (at most
    /// [`HEADER_SEARCH_ROWS`]): what a file without a header began with,
    /// for [`SectionScanner::take_head`], with their row numbers; a
    /// header's section takes them ([`Section::head`]).
    head: Vec<(u32, Vec<Cell>)>,
}

/// How many rows below a header go to a sink at a time.
pub const CHUNK_ROWS: usize = 32 * 1024;

impl<'a> SectionScanner<'a> {
    pub(super) fn new(is_header: &'a (dyn Fn(&[Cell]) -> bool + Sync)) -> Self {
        SectionScanner {
            is_header,
            non_blank_above_header: 0,
            section: None,
            pending: Vec::new(),
            sink: None,
            announced: false,
            header_open: false,
            layout: None,
            last_above: None,
            data_above: Vec::new(),
            head: Vec::new(),
        }
    }

    /// Hands rows to `sink` in chunks instead of collecting them.
    pub(super) fn with_sink(mut self, sink: &'a mut ChunkSink<'a>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// For formats whose header is known without searching (Parquet's
    /// column names).
    pub(super) fn with_header(
        is_header: &'a (dyn Fn(&[Cell]) -> bool + Sync),
        header: Vec<Cell>,
        header_row: u32,
    ) -> Self {
        SectionScanner {
            is_header,
            non_blank_above_header: 0,
            section: Some(empty_section(header, header_row)),
            pending: Vec::new(),
            sink: None,
            announced: false,
            header_open: false,
            layout: None,
            last_above: None,
            data_above: Vec::new(),
            head: Vec::new(),
        }
    }

    /// Whether `fields`, a row below the header found, has the header's
    /// columns: at least as many fields as the header has up to its last
    /// named cell, and nothing past the header's cells (as the extract's
    /// header map judges a row). None before the header is found.
    /// The header's named width, once a header is found.
    pub(super) fn header_width(&self) -> Option<usize> {
        Some(super::named_width(&self.section.as_ref()?.header))
    }

    pub(super) fn fits_header(&self, fields: &[Cell]) -> Option<bool> {
        let header = &self.section.as_ref()?.header;
        let past = fields.get(header.len()..).unwrap_or_default();
        Some(fields.len() >= super::named_width(header) && past.iter().all(|f| f.trim().is_empty()))
    }

    /// One row, with the 1-based row number a person sees.
    pub(super) fn push(&mut self, row: u32, fields: Vec<Cell>) -> Scan {
        if std::mem::take(&mut self.header_open) && self.second_header_row(row, &fields) {
            return Scan::Continue;
        }
        if self.section.is_some() {
            if self.pending.len() >= CHUNK_ROWS {
                // Handed on before the next row comes, so that a file's last
                // row is always in its last chunk.
                self.flush(None);
            }
            self.pending.push((row, fields));
            return Scan::Continue;
        }
        if is_blank(&fields) {
            self.last_above = None;
            return Scan::Continue;
        }
        if (self.is_header)(&fields) {
            // Rows above the header with its columns filled, as a file
            // sorted together with its header leaves them: data, read with
            // the rows below (they come first, in file order).
            let data_above: Vec<(u32, Vec<Cell>)> = std::mem::take(&mut self.data_above)
                .into_iter()
                .filter(|(_, cells)| is_data_above(cells, &fields, self.is_header))
                .collect();
            let mut section = empty_section(fields, row);
            section.above = self
                .last_above
                .take()
                .filter(|(above, _)| {
                    above.checked_add(1) == Some(row)
                        && data_above.last().is_none_or(|(data, _)| data != above)
                })
                .map(|(_, cells)| cells);
            section.head = std::mem::take(&mut self.head);
            self.section = Some(section);
            self.pending = data_above;
            self.header_open = true;
            return Scan::Continue;
        }
        if fields.len() > 1 {
            self.data_above.push((row, fields.clone()));
        }
        self.head.push((row, fields.clone()));
        self.last_above = Some((row, fields.clone()));
        self.non_blank_above_header += 1;
        if self.non_blank_above_header >= HEADER_SEARCH_ROWS {
            Scan::GaveUp
        } else {
            Scan::Continue
        }
    }

    /// A header of two rows: group headers (`鉴定情况`) above the columns'
    /// own (`鉴定等级`, `鉴定日期`), the others merged down both rows (and
    /// filled: see `xlsx::fill_merged`) or written in either. When the row
    /// right below the header is a header too, and not the same, the two
    /// are one: each column is named by its cell in the second row, or in
    /// the first where the second's is empty, and the header's row is the
    /// second (the rows below it are the section's). Returns whether
    /// `fields` was taken so.
    fn second_header_row(&mut self, row: u32, fields: &[Cell]) -> bool {
        let Some(section) = &mut self.section else {
            return false;
        };
        if section.header_loc.row.checked_add(1) != Some(row)
            || same_cells(&section.header, fields)
            || !(self.is_header)(fields)
        {
            return false;
        }
        section.header = join_header_rows(&section.header, fields);
        section.header_loc.row = row;
        true
    }

    /// Sorts the pending rows into the section's data and skipped rows, in
    /// order.
    fn sort_pending(&mut self) {
        let Some(section) = &mut self.section else {
            return;
        };
        let layout = self.layout.get_or_insert_with(|| section.header.clone());
        let is_header = self.is_header;
        let mut reasons: Vec<Option<SkipReason>> = self
            .pending
            .par_iter()
            .with_min_len(1024)
            .map(|(_, fields)| classify(fields, is_header))
            .collect();
        for i in 1..reasons.len() {
            let (above, row) = (&self.pending[i - 1], &self.pending[i]);
            if reasons[i] == Some(SkipReason::RepeatedHeader)
                && reasons[i - 1].is_none()
                && above.0.checked_add(1) == Some(row.0)
                && is_title(&above.1)
            {
                reasons[i - 1] = Some(SkipReason::Title);
            }
        }
        // Sized at once: grown a row at a time, every chunk's vector was
        // copied and faulted in afresh as it doubled.
        let skipped = reasons.iter().filter(|r| r.is_some()).count();
        section.rows.reserve(reasons.len() - skipped);
        section.skipped.reserve(skipped);
        for ((row, fields), reason) in self.pending.drain(..).zip(reasons) {
            let loc = RowLoc { sheet: None, row };
            match reason {
                Some(reason) => {
                    if reason == SkipReason::RepeatedHeader && !same_cells(&fields, layout) {
                        layout.clone_from(&fields);
                        section.headers.push((loc.clone(), fields));
                    }
                    section.skipped.push(SkippedRow { loc, reason })
                }
                None => section.rows.push(RawRow { loc, fields }),
            }
        }
    }

    /// Hands the rows collected so far to the sink, if there is one.
    fn flush(&mut self, cut_off: Option<RowLoc>) {
        self.sort_pending();
        let (Some(sink), Some(section)) = (self.sink.as_mut(), self.section.as_mut()) else {
            return;
        };
        let rows = std::mem::take(&mut section.rows);
        let skipped = std::mem::take(&mut section.skipped);
        let headers = std::mem::take(&mut section.headers);
        sink(Chunk {
            section: 0,
            header: section,
            rows,
            skipped,
            headers,
            cut_off,
        });
        self.announced = true;
    }

    /// The non-blank rows pushed while no header was found (none once
    /// one is): what a file without a header holds at its top, for the
    /// message that names the type whose header it has.
    pub(super) fn take_head(&mut self) -> Vec<Vec<Cell>> {
        match self.section {
            Some(_) => Vec::new(),
            None => std::mem::take(&mut self.head)
                .into_iter()
                .map(|(_, cells)| cells)
                .collect(),
        }
    }

    /// The section, or `None` when no header was found. With a sink, its
    /// last rows (or, for a section without rows, the header alone) go to
    /// the sink first and the section comes back without rows.
    pub(super) fn finish(self) -> Option<Section> {
        self.finish_cut(None)
    }

    /// [`finish`](Self::finish) for a text file whose end cut through the
    /// row `cut_off` mid-character: the last chunk says so.
    pub(super) fn finish_cut(mut self, cut_off: Option<u32>) -> Option<Section> {
        self.sort_pending();
        let pending = self
            .section
            .as_ref()
            .is_some_and(|s| !s.rows.is_empty() || !s.skipped.is_empty());
        if pending || !self.announced {
            self.flush(cut_off.map(|row| RowLoc { sheet: None, row }));
        }
        self.section
    }
}

fn empty_section(header: Vec<Cell>, row: u32) -> Section {
    Section {
        sheet: None,
        header,
        header_loc: RowLoc { sheet: None, row },
        rows: Vec::new(),
        skipped: Vec::new(),
        headers: Vec::new(),
        above: None,
        head: Vec::new(),
        dates_1904: false,
    }
}

/// The header of two rows: each column named by the lower row's cell, or
/// the upper's where that is empty.
pub fn join_header_rows(upper: &[Cell], lower: &[Cell]) -> Vec<Cell> {
    (0..upper.len().max(lower.len()))
        .map(|c| match lower.get(c) {
            Some(l) if !l.trim().is_empty() => l.clone(),
            _ => upper.get(c).cloned().unwrap_or_default(),
        })
        .collect()
}

/// Whether two rows hold the same cells, blanks around them and empty
/// cells at the end aside.
fn same_cells(a: &[Cell], b: &[Cell]) -> bool {
    (0..a.len().max(b.len())).all(|c| {
        let [x, y] = [a, b].map(|r| r.get(c).map_or("", |f| f.trim()));
        x == y
    })
}

/// Whether a row above the header `header` is a data row of it (a file
/// sorted together with its header puts some there, a sheet may have a
/// row pasted above its header): it has the header's columns and nothing
/// past them, values under more than half of the header's named cells (two
/// at least), an ID number's run of digits, and is no total, footer or
/// header line. A title or a note above a header fills a cell or two and
/// holds no ID number; a row above the header without one (its ID number
/// missing or spoilt) is not told from a note, and not read.
fn is_data_above(
    fields: &[Cell],
    header: &[Cell],
    is_header: &(dyn Fn(&[Cell]) -> bool + Sync),
) -> bool {
    let width = super::named_width(header);
    let past = fields.get(header.len()..).unwrap_or_default();
    if fields.len() < width || past.iter().any(|f| !bare(f).is_empty()) {
        return false;
    }
    let (mut named, mut filled) = (0, 0);
    for (_, cell) in header[..width]
        .iter()
        .zip(fields)
        .filter(|(h, _)| !bare(h).is_empty())
    {
        named += 1;
        filled += usize::from(!bare(cell).is_empty());
    }
    // Every extract's row is a person's: it holds an ID number (15 or 18
    // characters, the first 15 digits); a line of notes (`统计期：2025年10
    // 月`), a system's codes (`AAC003`) or group headers holds none.
    let holds_id = fields.iter().any(|f| {
        f.as_bytes()
            .split(|b| !b.is_ascii_digit())
            .any(|run| run.len() >= 15)
    });
    filled >= 2 && filled * 2 > named && holds_id && classify(fields, is_header).is_none()
}

/// Why a row below the header is not data, if it is not.
pub(super) fn classify(
    fields: &[Cell],
    is_header: &(dyn Fn(&[Cell]) -> bool + Sync),
) -> Option<SkipReason> {
    let first = fields.iter().map(|f| bare(f)).find(|f| !f.is_empty());
    let Some(first) = first else {
        return Some(SkipReason::Blank);
    };
    if is_total_label(first) || is_total_elsewhere(fields) {
        return Some(SkipReason::Total);
    }
    if is_footer(first, fields) {
        return Some(SkipReason::Footer);
    }
    if is_header(fields) {
        return Some(SkipReason::RepeatedHeader);
    }
    None
}

/// Whether a row is a footer line of the export (see [`FOOTER_LABELS`]):
/// its first value opens with such a label and a colon (`制表人：张三`,
/// `注1：…`, `制表人（签字）：`; spaced out as spreadsheets space labels),
/// every other value is one too or the value of a label left open right
/// before it (`制表人：`, `张三`; `填报日期：`, `2025-11-30`), and no value
/// holds an ID number's run of 15 or more digits: a data row whose first
/// column holds a note (`说明：补发3个月`, then its month and amount) is
/// not one.
fn is_footer(first: &str, fields: &[Cell]) -> bool {
    // Most rows are data: decide those without building a string.
    if !opens_with_footer_label(first) {
        return false;
    }
    let mut open_label = false;
    fields
        .iter()
        .map(|f| bare(f))
        .filter(|f| !f.is_empty())
        .all(|v| {
            let fits = if opens_with_footer_label(v) {
                open_label = v.ends_with(['：', ':']);
                true
            } else {
                std::mem::take(&mut open_label)
            };
            fits && v
                .split(|c: char| !c.is_ascii_digit())
                .all(|run| run.len() < 15)
        })
}

/// Whether a value opens with a [`FOOTER_LABELS`] label and a colon; the
/// label may be numbered (`注1：`, `注１：`) or say more in brackets
/// (`制表人（签字）：`).
fn opens_with_footer_label(value: &str) -> bool {
    let Some(colon) = value.find(['：', ':']) else {
        return false;
    };
    let label: String = value[..colon]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let label = label
        .split(['（', '('])
        .next()
        .unwrap_or_default()
        .trim_end_matches(|c: char| c.is_ascii_digit() || ('０'..='９').contains(&c));
    FOOTER_LABELS.contains(&label)
}

fn is_blank(fields: &[Cell]) -> bool {
    fields.iter().all(|f| bare(f).is_empty())
}

/// Whether a row is a title line: one value, in Chinese, that is neither
/// a name nor an ID number (`2025年10月失业登记`, `城关镇低保名册`): a
/// lone name, number or amount is a broken data row, for rejects.csv.
pub fn is_title(fields: &[Cell]) -> bool {
    let mut values = fields.iter().map(|f| bare(f)).filter(|f| !f.is_empty());
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let han = value
        .chars()
        .filter(|&c| crate::normalize::text::is_common_han(c))
        .count();
    let is_digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
    let longest_digits = value
        .split(|c: char| !is_digit(c))
        .map(|run| run.chars().count())
        .max()
        .unwrap_or(0);
    let chars = value.chars().count();
    let has_word = |shortest: usize| {
        TITLE_WORDS
            .iter()
            .any(|w| w.chars().count() >= shortest && value.contains(w))
    };
    han >= 2
        && longest_digits < 6
        && (value.chars().any(is_digit)
            || (chars >= 4 && has_word(2))
            || (chars >= 6 && has_word(1)))
        && !value.contains(['·', '•', '・', '.'])
}

/// Words a title without a date holds (`城关镇低保名册`, `医保结算明细`,
/// `县民政局`) and a name does not: a minority name written without its
/// separator is as long as a title (`阿卜杜拉买买提`). A word of one
/// character (`王镇` is a name) counts only in a line of six or more.
const TITLE_WORDS: &[&str] = &[
    "名册", "名单", "明细", "台账", "清单", "汇总", "统计", "报表", "登记", "记录", "数据", "信息",
    "导出", "情况", "民政", "街道", "社区", "表", "局", "县", "乡", "镇", "村",
];

/// A cell without the blanks and control characters around it: a row of
/// nothing else is blank (a DOS end-of-file mark, 0x1A, that an old export
/// wrote as the file's last line is one).
fn bare(cell: &str) -> &str {
    cell.trim_matches(|c: char| c.is_whitespace() || c.is_control())
}

/// `合计`, `合 计` (spreadsheets space out two-character labels, often with
/// the full-width space U+3000, which `char::is_whitespace` covers),
/// `合计：`, `总计（元）`, `小计`, `本页小计` (see [`TOTAL_EXACT`]).
fn is_total_label(trimmed: &str) -> bool {
    // Most rows are data: decide those without building a string.
    if !trimmed.starts_with(TOTAL_STARTS) {
        return false;
    }
    let squeezed: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    TOTAL_EXACT.contains(&squeezed.trim_end_matches([':', '：']))
        || TOTAL_PREFIXES
            .iter()
            .any(|prefix| squeezed.starts_with(prefix))
        || is_record_count(&squeezed)
}

/// An export's count of its rows: `共4条记录`, `共 120 人`, `共３户`.
fn is_record_count(squeezed: &str) -> bool {
    let Some(rest) = squeezed.strip_prefix('共') else {
        return false;
    };
    let count = rest
        .find(|c: char| !(c.is_ascii_digit() || ('０'..='９').contains(&c)))
        .unwrap_or(rest.len());
    count > 0 && rest[count..].starts_with(['条', '人', '户', '行', '笔', '项', '名', '个'])
}

/// A total row whose label is not its first value, when its columns are
/// in another order (`,2000,合计,`, `3,合计,1200`): a cell is a total
/// label and every other value is a number (a count, an amount), so that
/// no row naming a person is taken for one.
fn is_total_elsewhere(fields: &[Cell]) -> bool {
    let mut label = false;
    for f in fields {
        let f = f.trim();
        if f.is_empty() {
            continue;
        }
        if !label && is_bare_total_label(f) {
            label = true;
        } else if !is_number_like(f) {
            return false;
        }
    }
    label
}

/// `合计`, `总计` or `小计` alone (spaced out, or with a colon), not a note
/// that begins with one (`合计6个月`).
fn is_bare_total_label(trimmed: &str) -> bool {
    // Called on the first value of every row: most are data.
    if !trimmed.starts_with(TOTAL_STARTS) {
        return false;
    }
    let squeezed: String = trimmed
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, ':' | '：'))
        .collect();
    TOTAL_EXACT.contains(&squeezed.as_str())
}

/// Digits with the marks an amount or a count is written with, or the dash
/// or slash of an empty amount; at most 12 digits, so that an ID number is
/// not one.
fn is_number_like(text: &str) -> bool {
    let is_digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
    let digits = text.chars().filter(|&c| is_digit(c)).count();
    matches!(text, "-" | "－" | "—" | "/")
        || (1..=12).contains(&digits)
            && text.chars().all(|c| {
                is_digit(c)
                    || c.is_whitespace()
                    || matches!(
                        c,
                        '.' | ',' | '-' | '+' | '%' | '元' | '万' | '￥' | '¥' | '，' | '．'
                    )
            })
}

/// Prefixes every row location of a workbook section with its sheet name:
/// done once all sheets are read, because only then is it known whether the
/// workbook has more than one sheet that carries a header.
pub(super) fn label_sheet(section: &mut Section, sheet: &str) {
    let label = Some(sheet.to_owned());
    section.header_loc.sheet = label.clone();
    for row in &mut section.rows {
        row.loc.sheet = label.clone();
    }
    for skipped in &mut section.skipped {
        skipped.loc.sheet = label.clone();
    }
    for (loc, _) in &mut section.headers {
        loc.sheet = label.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(fields: &[&str]) -> Vec<Cell> {
        fields.iter().map(|f| Cell::from(*f)).collect()
    }

    fn header_pred(fields: &[Cell]) -> bool {
        fields.first().is_some_and(|f| f.trim() == "姓名")
    }

    #[test]
    fn classifies_blank_total_and_repeated_header() {
        let pred: &(dyn Fn(&[Cell]) -> bool + Sync) = &header_pred;
        assert_eq!(classify(&strings(&[]), pred), Some(SkipReason::Blank));
        assert_eq!(
            classify(&strings(&["\u{1a}"]), pred),
            Some(SkipReason::Blank)
        );
        assert_eq!(
            classify(&strings(&["\0", " "]), pred),
            Some(SkipReason::Blank)
        );
        assert_eq!(
            classify(&strings(&[" ", "\u{3000}", ""]), pred),
            Some(SkipReason::Blank)
        );
        assert_eq!(
            classify(&strings(&["合计", "", "12"]), pred),
            Some(SkipReason::Total)
        );
        assert_eq!(
            classify(&strings(&["", " 合\u{3000}计 ", "12"]), pred),
            Some(SkipReason::Total)
        );
        assert_eq!(
            classify(&strings(&["总计（元）", "12"]), pred),
            Some(SkipReason::Total)
        );
        assert_eq!(
            classify(&strings(&["小计", "12"]), pred),
            Some(SkipReason::Total)
        );
        // helper-109's audit: each of these was read as a row (in the
        // roster, a member of a household named 共计).
        for label in ["共计", "共计：312户", "累计", "本页小计", "本页 合计"] {
            assert_eq!(
                classify(&strings(&[label, "", "12"]), pred),
                Some(SkipReason::Total),
                "{label}"
            );
        }
        assert_eq!(classify(&strings(&["累计缴费", "12"]), pred), None);
        // An export's count of its rows (helper-127's audit: rejected as a
        // row missing its values).
        for label in ["共4条记录", "共 120 人", "共３户", "共12条"] {
            assert_eq!(
                classify(&strings(&[label, "", "", ""]), pred),
                Some(SkipReason::Total),
                "{label}"
            );
        }
        for not_count in ["共", "共同", "共4", "共产党员"] {
            assert_eq!(
                classify(&strings(&[not_count, "12"]), pred),
                None,
                "{not_count}"
            );
        }
        // Among numbers, and with a colon (helper-112's review).
        for row in [
            &["", "2000", "共计", ""][..],
            &["3", "累计", "1200"],
            &["", "", "本页小计", "12"],
            &["本页合计：", "12"],
            &["小计：", "12"],
        ] {
            assert_eq!(
                classify(&strings(row), pred),
                Some(SkipReason::Total),
                "{row:?}"
            );
        }
        assert_eq!(
            classify(&strings(&["姓名", "身份证号"]), pred),
            Some(SkipReason::RepeatedHeader)
        );
        assert_eq!(classify(&strings(&["张三", "合计"]), pred), None);
        // The lines an export ends with: who made it, when, notes.
        for row in [
            &["制表人：张三", "", "审核人：李四", ""][..],
            &["", "制 表 人:", "张三", "联系电话：0550-7012345"],
            &["填报日期：2025年11月30日"],
            &["注：本表数据截至2025年11月30日。"],
            &["注1：金额单位为元"],
            &["注１：金额单位为元"],
            &["制表人（签字）：", "张三", "审核人（签字）：", "李四"],
            &["填报日期：", "2025-11-30", "", "制表人：王芳"],
        ] {
            assert_eq!(
                classify(&strings(row), pred),
                Some(SkipReason::Footer),
                "{row:?}"
            );
        }
        // A data row is never one: a name, a value with a colon that is no
        // footer label, or a label beside an ID number.
        for row in [
            &["制表", "341122198001011238"][..],
            &["单小明", "341122198001011238"],
            &["10:30", "张三"],
            &["备注：张三", "341122198001011238"],
            &["医院：县人民医院", "张三"],
            &[
                "说明：补发3个月",
                "张三",
                "3.41122E+17",
                "202505",
                "3000.00",
            ],
            &["备注：", "李四", "", "2025-01-05", "1200.00"],
            &["说明：补发3个月", "", "202509", ""],
            &["备注：补发", "3.41122E+17", "", ""],
            &["说明：补发3个月", "", "", "540.00"],
            &["说明：补发3个月", "3.41122194502104E+17"],
        ] {
            assert_eq!(classify(&strings(row), pred), None, "{row:?}");
        }
        // The label after a number, columns in another order.
        for row in [
            &["", "2000", "合计", ""][..],
            &["3", "合 计", "1,200.00元"],
            &["0.12万", "总计：", "-"],
        ] {
            assert_eq!(
                classify(&strings(row), pred),
                Some(SkipReason::Total),
                "{row:?}"
            );
        }
        // Not when anything else is text, nor without a label.
        for row in [
            &["2000", "合计", "张三"][..],
            &["2000", "合计", "341122196805207712x"],
            &["2000", "3", "-"],
            &["2000", "合计", "合计"],
            // A person's row without its name: the ID is no amount, a note
            // that begins with 合计 no label.
            &["12", "", "341122198001011238", "6", "合计"],
            &["12", "6", "合计6个月"],
        ] {
            assert_eq!(classify(&strings(row), pred), None, "{row:?}");
        }
        assert_eq!(classify(&strings(&["小计数", "1"]), pred), None);
    }

    #[test]
    fn gives_up_after_the_search_window() {
        let pred: &(dyn Fn(&[Cell]) -> bool + Sync) = &header_pred;
        let mut scanner = SectionScanner::new(pred);
        for row in 1..HEADER_SEARCH_ROWS as u32 {
            assert_eq!(scanner.push(row, strings(&["标题"])), Scan::Continue);
            // Blank rows do not use up the window.
            assert_eq!(scanner.push(row, strings(&[""])), Scan::Continue);
        }
        assert_eq!(scanner.push(99, strings(&["标题"])), Scan::GaveUp);
        assert!(scanner.finish().is_none());
    }

    /// A group header above the columns' own: the row right below the
    /// header, a header too, names the columns it names; the first row
    /// names the rest. The same row again, or a header row further down,
    /// is a repeated header.
    #[test]
    fn a_header_of_two_rows_is_one_header() {
        let pred: &(dyn Fn(&[Cell]) -> bool + Sync) = &header_pred;
        let mut scanner = SectionScanner::new(pred);
        scanner.push(1, strings(&["危房名单"]));
        scanner.push(2, strings(&["姓名", "身份证号", "鉴定情况", ""]));
        scanner.push(3, strings(&["姓名", "", "鉴定等级", "鉴定日期"]));
        scanner.push(4, strings(&["张三", "1", "D", "2025-01-05"]));
        scanner.push(5, strings(&["姓名", "身份证号", "鉴定等级", "鉴定日期"]));
        let section = scanner.finish().expect("header found");
        assert_eq!(section.header, ["姓名", "身份证号", "鉴定等级", "鉴定日期"]);
        assert_eq!(section.header_loc.row, 3);
        assert_eq!(section.rows.len(), 1);
        assert_eq!(section.skipped.len(), 1);
        assert_eq!(section.skipped[0].reason, SkipReason::RepeatedHeader);
        // The same header again lays out nothing anew.
        assert!(section.headers.is_empty());
        // The header written twice: the second is a repeated header.
        let mut twice = SectionScanner::new(pred);
        twice.push(1, strings(&["姓名", "身份证号"]));
        twice.push(2, strings(&[" 姓名", "身份证号", ""]));
        twice.push(3, strings(&["张三", "1"]));
        let section = twice.finish().expect("header found");
        assert_eq!(section.header, ["姓名", "身份证号"]);
        assert_eq!(section.skipped.len(), 1);
        // A blank row between: not the header's second row.
        let mut apart = SectionScanner::new(pred);
        apart.push(1, strings(&["姓名", "身份证号"]));
        apart.push(3, strings(&["姓名", "证件号"]));
        let section = apart.finish().expect("header found");
        assert_eq!(section.header, ["姓名", "身份证号"]);
        assert_eq!(section.skipped.len(), 1);
        // A header of other cells below: the rows after it are its; the
        // first header again lays them out as before.
        assert_eq!(section.headers.len(), 1);
        assert_eq!(section.headers[0].0.row, 3);
        let mut back = SectionScanner::new(pred);
        back.push(1, strings(&["姓名", "身份证号"]));
        back.push(2, strings(&["张三", "1"]));
        back.push(3, strings(&["姓名", "证件号"]));
        back.push(4, strings(&["姓名", "证件号"]));
        back.push(5, strings(&["李四", "2"]));
        back.push(6, strings(&["姓名", "身份证号"]));
        let section = back.finish().expect("header found");
        let rows: Vec<u32> = section.headers.iter().map(|(at, _)| at.row).collect();
        assert_eq!(rows, [3, 6]);
    }

    #[test]
    fn header_may_be_the_last_row_of_the_window() {
        let pred: &(dyn Fn(&[Cell]) -> bool + Sync) = &header_pred;
        let mut scanner = SectionScanner::new(pred);
        for row in 1..HEADER_SEARCH_ROWS as u32 {
            assert_eq!(scanner.push(row, strings(&["标题"])), Scan::Continue);
        }
        assert_eq!(scanner.push(30, strings(&["姓名"])), Scan::Continue);
        let section = scanner.finish().expect("header found");
        assert_eq!(section.header_loc.row, 30);
    }

    /// Data rows above the header (a file sorted together with its header)
    /// are read with the rows below it, first and in file order; a title, a
    /// note of two cells, a row of group headers and a row wider than the
    /// header are not.
    #[test]
    fn data_rows_above_the_header_are_read() {
        let pred: &(dyn Fn(&[Cell]) -> bool + Sync) = &header_pred;
        let mut scanner = SectionScanner::new(pred);
        scanner.push(1, strings(&["2025年10月养老金发放", "", "", ""]));
        scanner.push(
            2,
            strings(&["张三", "110101199003071234", "202510", "1200"]),
        );
        scanner.push(
            3,
            strings(&["制表单位：县人社局", "日期：2025-11-30", "", ""]),
        );
        scanner.push(
            5,
            strings(&["乡镇：城关镇", "", "统计期：2025年10月", "单位：元"]),
        );
        scanner.push(5, strings(&["AAC003", "AAC002", "AAE002", "AAE019"]));
        scanner.push(
            4,
            strings(&["李四", "110101199003071234", "202510", "1200", "x"]),
        );
        scanner.push(6, strings(&["王五", "110101199003075678", "", "980"]));
        scanner.push(7, strings(&["姓名", "身份证号", "发放月份", "发放金额"]));
        scanner.push(
            8,
            strings(&["赵六", "110101199003079999", "202510", "1100"]),
        );
        let section = scanner.finish().expect("header found");
        let rows: Vec<u32> = section.rows.iter().map(|r| r.loc.row).collect();
        assert_eq!(rows, [2, 6, 8]);
        assert!(section.skipped.is_empty());
        // A data row right above the header is not the header's upper row.
        assert_eq!(section.above, None);

        let mut grouped = SectionScanner::new(pred);
        grouped.push(
            1,
            strings(&["基本信息", "基本信息", "鉴定情况", "鉴定情况"]),
        );
        grouped.push(2, strings(&["姓名", "身份证号", "鉴定等级", "鉴定日期"]));
        let section = grouped.finish().expect("header found");
        assert!(section.rows.is_empty());
        assert_eq!(
            section.above.expect("group headers above"),
            ["基本信息", "基本信息", "鉴定情况", "鉴定情况"]
        );
    }
}
