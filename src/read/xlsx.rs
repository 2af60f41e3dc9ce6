//! XLSX/XLSM workbooks (calamine): every worksheet is searched for a header;
//! each one that has a header becomes a section, the others are listed as
//! ignored. Also here: how a cell becomes the text a person would see, which
//! matters most for ID numbers that Excel has already turned into floats.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Cursor;

use quick_xml::events::Event;

use calamine::{Data, Dimensions, ExcelDateTime, Range, Reader, SheetType, SheetVisible, Xlsx};

use super::section::{Scan, SectionScanner, label_sheet};
use super::{Cell, Chunk, ChunkSink, FileFormat, HEADER_SEARCH_ROWS, RawTable, ReadError, Section};

/// From this magnitude on, a float is past Excel's 15 significant digits: an
/// 18-digit ID number stored as a number has lost its last digits for good.
const LOST_DIGITS_FROM: f64 = 1e15;

pub(super) fn read_xlsx(
    file: &str,
    bytes: Vec<u8>,
    is_header: &(dyn Fn(&[Cell]) -> bool + Sync),
    sink: &mut ChunkSink<'_>,
) -> Result<RawTable, ReadError> {
    let what = workbook_kind(&bytes);
    let bad_workbook = |reason: String| ReadError::BadWorkbook {
        file: file.to_owned(),
        reason: format!("{what}：{reason}"),
    };
    let mut workbook: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes.as_slice())).map_err(|err| bad_workbook(err.to_string()))?;
    // The sheets' parts in the zip, looked up when a sheet needs them.
    let mut parts: Option<HashMap<String, String>> = None;
    let sheets: Vec<(String, SheetType, bool)> = workbook
        .sheets_metadata()
        .iter()
        .map(|sheet| {
            // A sheet named after a person (`王芳户`): masked in logs and
            // messages.
            crate::report::mask::register_label(&sheet.name);
            let hidden = sheet.visible != SheetVisible::Visible;
            (sheet.name.clone(), sheet.typ, hidden)
        })
        .collect();
    // spec/outputs.md: `sheet!row` "when the workbook has several sheets",
    // whether or not the others hold data (a notes sheet beside one data
    // sheet still makes a bare row number a question: which sheet?).
    let several_sheets = sheets.len() > 1;
    let dates_1904 = workbook_dates_1904(&bytes);

    let mut sections: Vec<Section> = Vec::new();
    let mut ignored_sheets = Vec::new();
    let mut unheaded_sheets = Vec::new();
    let mut hidden_sheets = Vec::new();
    let mut merged_cells_filled = 0;
    for (name, typ, hidden) in sheets {
        // Chart and dialog sheets hold no rows.
        if typ != SheetType::WorkSheet {
            ignored_sheets.push(name);
            continue;
        }
        let mut range = workbook.worksheet_range(&name).map_err(|err| {
            let sheet = super::sheet_for_message(&name);
            bad_workbook(format!("工作表 sheet {sheet}: {err}"))
        })?;
        // What the sheet's XML holds that is read again (a sheet whose part
        // is not found is read for merged ranges by calamine, as always).
        let parts = parts.get_or_insert_with(|| sheet_parts(&bytes).unwrap_or_default());
        let part = parts.get(&name);
        let marks = part.map_or(Ok(SheetMarks::ALL), |part| sheet_marks(&bytes, part));
        let unreadable = || {
            tracing::warn!(
                file,
                "a sheet's XML unreadable: formulas without a saved result not looked for"
            )
        };
        // The cells read fine; a merge list that does not is read as none
        // (said in the log, without the sheet's name: it may be a person's).
        let merged = if marks.as_ref().map_or(true, |m| m.merged) {
            workbook
                .merge_cells_by_sheet_name(&name)
                .unwrap_or_else(|_| {
                    tracing::warn!(
                        file,
                        "a sheet's list of merged cells unreadable: none filled"
                    );
                    Vec::new()
                })
        } else {
            Vec::new()
        };
        // A formula saved without its result (openpyxl and other scripts
        // write them so; Excel computes them on opening) reads as an empty
        // cell: it is given its formula (`=300*3`), which no date, amount,
        // month or category reads, so that its row is rejected or its value
        // warned about, not taken as empty.
        match (part, &marks) {
            (Some(part), Ok(SheetMarks { formula: true, .. })) => {
                match uncomputed_formulas(&bytes, part) {
                    Ok(formulas) => mark_formulas(&mut range, formulas),
                    Err(_) => unreadable(),
                }
            }
            (Some(_), Err(_)) => unreadable(),
            _ => {}
        }
        merged_cells_filled += fill_merged(&mut range, &merged);
        let long_numbers = marks.as_ref().map_or(true, |m| m.long_numbers);
        if long_numbers && range.used_cells().any(|(_, _, c)| past_float_digits(c)) {
            match part.map(|part| exact_numbers(&bytes, part)) {
                Some(Ok(exact)) => restore_digits(&mut range, exact),
                // Read as calamine gives them (in scientific notation).
                _ => tracing::warn!(
                    file,
                    "a sheet's XML unreadable: its long numbers not read digit for digit"
                ),
            }
        }
        match scan_sheet(&range, is_header, dates_1904) {
            Some(mut section) => {
                // Read like any other (a hidden sheet may hold current
                // rows), but said: it may as well hold last year's.
                if hidden {
                    hidden_sheets.push(name.clone());
                }
                section.sheet = Some(name);
                section.dates_1904 = dates_1904;
                sections.push(section);
            }
            None => {
                unheaded_sheets.push((name.clone(), head_rows(&range, dates_1904)));
                ignored_sheets.push(name);
            }
        }
    }

    if sections.is_empty() {
        return Err(ReadError::NoHeader {
            file: file.to_owned(),
            rows: HEADER_SEARCH_ROWS,
            sheets: ignored_sheets,
            heads: unheaded_sheets,
        });
    }
    if several_sheets {
        for section in &mut sections {
            let name = section.sheet.clone().unwrap_or_default();
            label_sheet(section, &name);
        }
    }
    // A workbook is read whole (the zip wants it), then handed on sheet by
    // sheet; the sections come back without their rows.
    for (index, section) in sections.iter_mut().enumerate() {
        let rows = std::mem::take(&mut section.rows);
        let skipped = std::mem::take(&mut section.skipped);
        let headers = std::mem::take(&mut section.headers);
        sink(Chunk {
            section: index,
            header: section,
            rows,
            skipped,
            headers,
            cut_off: None,
        });
    }
    Ok(RawTable {
        format: FileFormat::Xlsx,
        encoding: "binary".to_owned(),
        sections,
        ignored_sheets,
        unheaded_sheets,
        hidden_sheets,
        merged_cells_filled,
        sha256: String::new(),
        cut_off: None,
    })
}

/// What a file named as a workbook is, in Chinese, for the message when
/// it cannot be read as one: staff read it, and the library's own reason
/// (`Could not find EOCD`) tells them nothing.
fn workbook_kind(bytes: &[u8]) -> &'static str {
    // An OLE compound file names its streams in UTF-16: an encrypted
    // workbook's `EncryptionInfo`, an .xls's `Workbook` (`Book` before
    // Excel 97), a Word document's `WordDocument`.
    let holds_stream = |name: &str| {
        let utf16: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
        bytes.windows(utf16.len()).any(|w| w == utf16.as_slice())
    };
    if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        if holds_stream("EncryptionInfo") {
            "这是设了打开密码的工作簿，请在 Excel 中取消密码后另存为 .xlsx"
        } else if holds_stream("Workbook") || holds_stream("Book") {
            "这是旧版 Excel 97-2003 工作簿（.xls），请在 Excel 中另存为 .xlsx"
        } else if holds_stream("WordDocument") {
            "这是 Word 文档，不是工作簿"
        } else {
            "这是旧版 Excel 97-2003 工作簿（.xls）、设了打开密码的工作簿或其他 Office 文件，请在 Excel 中取消密码并另存为 .xlsx"
        }
    } else if !bytes.starts_with(b"PK") {
        "文件内容不是 XLSX 工作簿（不是 zip 压缩格式），可能是改了扩展名的 CSV 或文本文件"
    } else {
        "工作簿已损坏或不完整（请在 Excel 中打开并重新保存，或重新导出）"
    }
}

/// Whether the workbook counts its dates from 1904 (`<workbookPr
/// date1904="1"/>`, Mac Excel's choice). calamine applies it to the cells
/// with a date format; a date cell whose format a paste cleared is a bare
/// number, which the extract's date column reads as a serial (see
/// [`crate::read::Section::dates_1904`]).
fn workbook_dates_1904(bytes: &[u8]) -> bool {
    zip::ZipArchive::new(Cursor::new(bytes))
        .ok()
        .and_then(|mut zip| zip_part(&mut zip, "xl/workbook.xml"))
        .is_some_and(|xml| dates_1904_in(&xml))
}

/// Whether a workbook part's `workbookPr` element (with or without a
/// namespace prefix, `<x:workbookPr>`) says `date1904="1"` or `"true"`.
fn dates_1904_in(xml: &[u8]) -> bool {
    let mut reader = quick_xml::Reader::from_reader(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "workbookPr" => {
                return e
                    .try_get_attribute("date1904")
                    .ok()
                    .flatten()
                    .is_some_and(|a| matches!(a.value.as_ref(), "1" | "true"));
            }
            Ok(Event::Eof) | Err(_) => return false,
            _ => {}
        }
    }
}

/// A part of the workbook's zip, whole.
fn zip_part(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Option<Vec<u8>> {
    let mut file = zip.by_name(name).ok()?;
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut out).ok()?;
    Some(out)
}

/// Whether a cell is a number past a float's 15 significant digits, which
/// the sheet may hold in full (see [`exact_numbers`]).
fn past_float_digits(cell: &Data) -> bool {
    matches!(cell, Data::Float(n) if n.abs() >= LOST_DIGITS_FROM)
}

/// Each worksheet's part in the zip, by sheet name (`xl/workbook.xml` and
/// its relationships): calamine keeps them to itself.
fn sheet_parts(bytes: &[u8]) -> Option<HashMap<String, String>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let (workbook, rels) = (
        zip_part(&mut zip, "xl/workbook.xml")?,
        zip_part(&mut zip, "xl/_rels/workbook.xml.rels")?,
    );
    // (element, attribute naming it, attribute to keep) of each element.
    let attributes = |xml: &[u8], element: &str, key: &str, value: &str| {
        let mut reader = quick_xml::Reader::from_reader(xml);
        let mut found = Vec::new();
        loop {
            match reader.read_event() {
                Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == element => {
                    let get = |name: &str| {
                        e.try_get_attribute(name).ok().flatten().and_then(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .ok()
                                .map(Cow::into_owned)
                        })
                    };
                    if let (Some(k), Some(v)) = (get(key), get(value)) {
                        found.push((k, v));
                    }
                }
                Ok(Event::Eof) | Err(_) => return found,
                _ => {}
            }
        }
    };
    let targets: HashMap<String, String> = attributes(&rels, "Relationship", "Id", "Target")
        .into_iter()
        .collect();
    Some(
        attributes(&workbook, "sheet", "name", "r:id")
            .into_iter()
            .filter_map(|(name, id)| {
                let target = targets.get(&id)?;
                let part = match target.strip_prefix('/') {
                    Some(absolute) => absolute.to_owned(),
                    None => format!("xl/{target}"),
                };
                Some((name, part))
            })
            .collect(),
    )
}

/// Cells of a sheet, by (row, column) from 0, and the text each holds.
type ExactNumbers = Vec<((u32, u32), String)>;

/// Whether a whole number of 16 to 18 digits as a sheet's XML writes it
/// holds digits no float would make up: more than the 15 significant
/// digits Excel keeps (`341122194502104000` is Excel's), and either not
/// what its float prints (`341122194502104426`) or a valid ID number
/// (`341122198001012740`, which a float also prints so: the check
/// character says the digits are a person's, not a float's
/// `341122194502104500`; one float's digits in eleven make a valid number
/// too, and the check character cannot tell those apart).
fn holds_every_digit(text: &str) -> bool {
    text.trim_end_matches('0').len() > 15
        && (text.parse::<f64>().is_ok_and(|f| f.to_string() != text)
            || text.len() == 18 && crate::normalize::id::is_valid_id(text))
}

/// The numbers of a worksheet part written with more digits than a float
/// holds, by (row, column) from 0: a program (not Excel, which keeps 15
/// significant digits) wrote an 18-digit ID number as a whole number, and
/// the file holds every digit. A number is kept only when its digits are
/// not a float's ([`holds_every_digit`]).
fn exact_numbers(bytes: &[u8], part: &str) -> Result<ExactNumbers, String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let file = zip.by_name(part).map_err(|e| e.to_string())?;
    let mut reader = quick_xml::Reader::from_reader(std::io::BufReader::new(file));
    let mut buf = Vec::new();
    let mut found = Vec::new();
    let mut places = Places::default();
    // The cell being read, when it is a number; whether its value is
    // being read.
    let mut cell: Option<(u32, u32)> = None;
    let mut in_value = false;
    loop {
        buf.clear();
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| e.to_string())?
        {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "row" => places.row(&e),
            Event::Empty(e) if e.local_name().as_ref() == "c" => {
                places.cell(cell_start(&e).0);
            }
            Event::Start(e) if e.local_name().as_ref() == "c" => {
                let (at, kind) = cell_start(&e);
                let at = places.cell(at);
                cell = (kind == CellKind::Number).then_some(at);
            }
            Event::End(e) if e.local_name().as_ref() == "c" => cell = None,
            Event::Start(e) if e.local_name().as_ref() == "v" => in_value = cell.is_some(),
            Event::End(e) if e.local_name().as_ref() == "v" => in_value = false,
            Event::Text(t) if in_value => {
                let text: &str = &t;
                if let Some(at) = cell
                    && (16..=18).contains(&text.len())
                    && text.bytes().all(|b| b.is_ascii_digit())
                    && holds_every_digit(text)
                {
                    found.push((at, text.to_owned()));
                }
            }
            Event::Eof => return Ok(found),
            _ => {}
        }
    }
}

/// The cells of a worksheet part that hold a formula and no saved result,
/// by (row, column) from 0, each with its formula (empty for a shared
/// formula's later cells, which hold none): no value element
/// (`<c r="M3"><f>300*3</f></c>`), or an empty one in a cell that is not a
/// string's (`<f>300*3</f><v/>`, as openpyxl writes it; a number is never
/// empty, while Excel saves a formula that gave `""` as an empty string,
/// `t="str"`). Streamed, never held whole; read only for a part whose
/// [`SheetMarks`] show a formula.
fn uncomputed_formulas(bytes: &[u8], part: &str) -> Result<ExactNumbers, String> {
    use std::io::BufReader;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let file = BufReader::new(zip.by_name(part).map_err(|e| e.to_string())?);
    let mut reader = quick_xml::Reader::from_reader(file);
    let mut buf = Vec::new();
    let mut found = Vec::new();
    let mut places = Places::default();
    // The cell being read (and whether it is a string's), its formula so
    // far, whether it has a value element and a value in it; which of its
    // elements' text is being read.
    let mut cell: Option<(u32, u32)> = None;
    let mut string = false;
    let mut formula: Option<String> = None;
    let (mut value_element, mut value) = (false, false);
    let (mut in_formula, mut in_value) = (false, false);
    loop {
        buf.clear();
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| e.to_string())?
        {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "row" => places.row(&e),
            Event::Empty(e) if e.local_name().as_ref() == "c" => {
                places.cell(cell_start(&e).0);
            }
            Event::Start(e) if e.local_name().as_ref() == "c" => {
                let (at, kind) = cell_start(&e);
                cell = Some(places.cell(at));
                string = kind == CellKind::String;
                formula = None;
                (value_element, value) = (false, false);
            }
            Event::End(e) if e.local_name().as_ref() == "c" => {
                let computed = value || value_element && string;
                if let (Some(at), Some(text), false) = (cell.take(), formula.take(), computed) {
                    found.push((at, text));
                }
            }
            Event::Start(e) if e.local_name().as_ref() == "f" => {
                formula = Some(String::new());
                in_formula = true;
            }
            Event::Empty(e) if e.local_name().as_ref() == "f" => formula = Some(String::new()),
            Event::End(e) if e.local_name().as_ref() == "f" => in_formula = false,
            Event::Start(e) if matches!(e.local_name().as_ref(), "v" | "is") => {
                value_element = true;
                in_value = true;
            }
            Event::Empty(e) if matches!(e.local_name().as_ref(), "v" | "is") => {
                value_element = true
            }
            Event::End(e) if matches!(e.local_name().as_ref(), "v" | "is") => in_value = false,
            Event::Text(t) if in_formula => {
                if let Some(text) = formula.as_mut() {
                    text.push_str(&t);
                }
            }
            Event::CData(t) if in_formula => {
                if let Some(text) = formula.as_mut() {
                    text.push_str(t.as_ref());
                }
            }
            // `&amp;`, `&gt;`: the formula's `&`, `>` (the text around them
            // comes in events of its own).
            Event::GeneralRef(r) if in_formula => {
                let c = match r.as_ref() {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ => r.resolve_char_ref().ok().flatten(),
                };
                if let (Some(text), Some(c)) = (formula.as_mut(), c) {
                    text.push(c);
                }
            }
            Event::Text(t) if in_value => value |= !t.is_empty(),
            Event::GeneralRef(_) | Event::CData(_) if in_value => value = true,
            Event::Eof => return Ok(found),
            _ => {}
        }
    }
}

/// What a worksheet part's XML holds that is read again, past calamine's
/// reading of its cells: each costs a second pass over the whole part
/// (decompressed and parsed), which most sheets, a machine's exports,
/// do not need.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct SheetMarks {
    /// A formula element (`<f>`, `<f t="shared" …/>`, `<x:f>`): the
    /// formulas without a saved result are looked for
    /// ([`uncomputed_formulas`]).
    formula: bool,
    /// The name of a merged range's element (`<mergeCells>`,
    /// `<mergeCell ref=…/>`): the merged ranges are read
    /// ([`fill_merged`]). Calamine finds them only by parsing the whole
    /// part: its list comes after the cells (a quarter of a workbook's
    /// reading time).
    merged: bool,
    /// An element whose text is a whole number of 16 to 18 digits and
    /// nothing else (`<v>341122199001011234</v>`): the numbers past a
    /// float's digits are read as written ([`exact_numbers`]). A sheet of
    /// ID numbers that Excel stored as numbers writes them in scientific
    /// notation (`3.41122199001011E+17`), whose lost digits no reading
    /// brings back: it holds none.
    long_numbers: bool,
}

impl SheetMarks {
    /// Marks that send every sheet to every reading (what a part that
    /// could not be scanned gets).
    const ALL: SheetMarks = SheetMarks {
        formula: true,
        merged: true,
        long_numbers: true,
    };
}

/// The [`SheetMarks`] of worksheet part `part` of the workbook `bytes`.
fn sheet_marks(bytes: &[u8], part: &str) -> Result<SheetMarks, String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let file = zip.by_name(part).map_err(|e| e.to_string())?;
    sheet_marks_in(file)
}

/// The [`SheetMarks`] of a worksheet part's XML, read a piece at a time,
/// byte searches only (no parsing): a text that merely looks like a tag
/// (`mergeCell` in an inline string) costs the second reading, never a
/// mark missed. A part not in UTF-8 (a byte-order mark of UTF-16) is
/// given [`SheetMarks::ALL`].
fn sheet_marks_in(part: impl std::io::Read) -> Result<SheetMarks, String> {
    use std::io::BufRead;
    const MERGED: &[u8] = b"mergeCell";
    /// The bytes kept from one piece for the next: a long number's 18
    /// digits and the `>` before them, looked back on from the `<` after.
    const CARRIED: usize = 20;
    let mut reader = std::io::BufReader::with_capacity(64 << 10, part);
    let merged = memchr::memmem::Finder::new(MERGED);
    let formula_tag = |w: &[u8], f: usize| {
        f > 0
            && matches!(w[f - 1], b'<' | b':')
            && w.get(f + 1)
                .is_some_and(|b| matches!(b, b'>' | b' ' | b'/'))
    };
    // A `<` after 16 to 18 digits that follow a `>`. Every `<` of a piece
    // is looked back on from at least CARRIED bytes into the window (or
    // from the part's start).
    let long_number = |w: &[u8], lt: usize| {
        let digits = w[..lt]
            .iter()
            .rev()
            .take(19)
            .take_while(|b| b.is_ascii_digit())
            .count();
        (16..=18).contains(&digits) && lt > digits && w[lt - digits - 1] == b'>'
    };
    let mut marks = SheetMarks::default();
    // Whether the part's first two bytes were looked at for a BOM.
    let mut bom_checked = false;
    // The last bytes of the piece before, for a tag split between two
    // (until a piece is read, the part from its start).
    let mut window: Vec<u8> = Vec::new();
    loop {
        let piece = reader.fill_buf().map_err(|e| e.to_string())?;
        if piece.is_empty() {
            return Ok(marks);
        }
        window.extend_from_slice(piece);
        let len = piece.len();
        reader.consume(len);
        if !bom_checked && window.len() >= 2 {
            bom_checked = true;
            if window.starts_with(&[0xFF, 0xFE]) || window.starts_with(&[0xFE, 0xFF]) {
                return Ok(SheetMarks::ALL);
            }
        }
        marks.merged |= merged.find(&window).is_some();
        marks.formula |= memchr::memchr_iter(b'f', &window).any(|f| formula_tag(&window, f));
        marks.long_numbers |= memchr::memchr_iter(b'<', &window).any(|lt| long_number(&window, lt));
        if marks == SheetMarks::ALL {
            return Ok(marks);
        }
        let kept = window.len().saturating_sub(CARRIED);
        window.drain(..kept);
    }
}

/// Gives each cell of `formulas` that reads as empty, inside the sheet's
/// range, its formula, `=` first. A formula cell outside the range (calamine
/// leaves a cell without a value out of it: a formula title above, a 序号
/// column of `=ROW()-1` to the left) stays out: nothing of an extract is
/// read there that the range does not hold.
fn mark_formulas(range: &mut Range<Data>, formulas: ExactNumbers) {
    let (Some(start), Some(end)) = (range.start(), range.end()) else {
        return;
    };
    let inside = |(row, column): (u32, u32)| {
        (start.0..=end.0).contains(&row) && (start.1..=end.1).contains(&column)
    };
    for (at, formula) in formulas {
        if inside(at) && range.get_value(at).is_none_or(is_blank) {
            range.set_value(at, Data::String(format!("={formula}")));
        }
    }
}

/// What a cell element's type attribute (`t`) says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    /// No type, or `n`.
    Number,
    /// `str` (a formula's text) or `inlineStr`.
    String,
    /// A shared string, a boolean, an error, a date.
    Other,
}

/// A cell element's place (from its reference, `r`) and kind.
fn cell_start(e: &quick_xml::events::BytesStart<'_>) -> (Option<(u32, u32)>, CellKind) {
    let attr = |name: &str| e.try_get_attribute(name).ok().flatten();
    let kind = match attr("t") {
        None => CellKind::Number,
        Some(t) => match t.value.as_ref() {
            "n" => CellKind::Number,
            "str" | "inlineStr" => CellKind::String,
            _ => CellKind::Other,
        },
    };
    (
        attr("r").and_then(|r| cell_position(r.value.as_bytes())),
        kind,
    )
}

/// Where the cells of a worksheet part stand, as a spreadsheet places
/// them: by their reference (`r`), or where the writer left it out (the
/// format makes it optional, and some programs write none) after the cell
/// before, in the row after the one before (helper-162's audit: an 18-digit
/// ID number in a sheet without references was read as Excel's float).
#[derive(Debug, Default)]
struct Places {
    /// The row being read and the last cell's column, from 0.
    row: Option<u32>,
    column: Option<u32>,
}

impl Places {
    /// A row element begins: its number, or the one after the last.
    fn row(&mut self, e: &quick_xml::events::BytesStart<'_>) {
        let given = e
            .try_get_attribute("r")
            .ok()
            .flatten()
            .and_then(|r| r.value.parse::<u32>().ok())
            .and_then(|r| r.checked_sub(1));
        self.row = Some(given.unwrap_or_else(|| self.row.map_or(0, |r| r + 1)));
        self.column = None;
    }

    /// A cell element begins, at `given` (its reference) if it has one:
    /// its place.
    fn cell(&mut self, given: Option<(u32, u32)>) -> (u32, u32) {
        let at = given.unwrap_or_else(|| (self.row.unwrap_or(0), self.column.map_or(0, |c| c + 1)));
        (self.row, self.column) = (Some(at.0), Some(at.1));
        at
    }
}

/// `B12` as (row, column) from 0: (11, 1).
fn cell_position(reference: &[u8]) -> Option<(u32, u32)> {
    let letters = reference
        .iter()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    let (column, row) = reference.split_at(letters);
    if letters == 0 || letters > 3 || row.is_empty() || !row.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let column = column
        .iter()
        .fold(0u32, |n, b| n * 26 + u32::from(b - b'A') + 1);
    let row: u32 = std::str::from_utf8(row).ok()?.parse().ok()?;
    Some((row.checked_sub(1)?, column - 1))
}

/// Gives the cells of `exact` their text, where the range holds the float
/// of that text (the same cell as calamine read it).
fn restore_digits(range: &mut Range<Data>, exact: ExactNumbers) {
    for (at, text) in exact {
        let float = text.parse::<f64>().ok();
        if matches!(range.get_value(at), Some(Data::Float(n)) if Some(*n) == float) {
            range.set_value(at, Data::String(text));
        }
    }
}

/// Gives the empty cells of each merged range's first column the value of
/// its first (top-left) cell, the one Excel keeps and shows across the
/// range: a roster laid out for people merges a household's 户编号, head
/// and size down its members' rows, and every member row needs them. A
/// range is filled down, never across: a header merged over two columns
/// names one column, not two, and a title or a 合计 label merged across
/// the sheet is one cell's text. A cell that still holds a value of its
/// own keeps it, and a row with no value of its own stays blank (a
/// member's row whose cells were cleared inside the household's merged
/// block is no member). Returns the cells filled.
fn fill_merged(range: &mut Range<Data>, merged: &[Dimensions]) -> u64 {
    let (Some(start), Some(end)) = (range.start(), range.end()) else {
        return 0;
    };
    // Whether each row of the range holds a value before any is filled.
    let own_values: Vec<bool> = range
        .rows()
        .map(|cells| cells.iter().any(|c| !is_blank(c)))
        .collect();
    let has_own_values = |row: u32| own_values[(row - start.0) as usize];
    let mut filled = 0;
    for region in merged {
        let value = match range.get_value(region.start) {
            Some(value) if !is_blank(value) => value.clone(),
            // Nothing to spread, or a range outside the used cells.
            _ => continue,
        };
        for row in region.start.0..=region.end.0.min(end.0) {
            if !has_own_values(row) {
                continue;
            }
            let cell = (row, region.start.1);
            if range.get_value(cell).is_none_or(is_blank) {
                range.set_value(cell, value.clone());
                filled += 1;
            }
        }
    }
    filled
}

/// Blank as a row's cells are for the section scanner: nothing, or
/// whitespace only.
fn is_blank(cell: &Data) -> bool {
    match cell {
        Data::Empty => true,
        Data::String(text) => text.trim().is_empty(),
        _ => false,
    }
}

/// The section of one sheet, or `None` when it has no header.
fn scan_sheet(
    range: &Range<Data>,
    is_header: &(dyn Fn(&[Cell]) -> bool + Sync),
    dates_1904: bool,
) -> Option<Section> {
    // The range covers the used cells only: its first row need not be the
    // sheet's row 1, and row numbers must be the sheet's own.
    let (first_row, _) = range.start()?;
    let mut scanner = SectionScanner::new(is_header);
    for (offset, cells) in range.rows().enumerate() {
        let offset = u32::try_from(offset).unwrap_or(u32::MAX);
        let row = first_row.saturating_add(offset).saturating_add(1);
        let fields = cells
            .iter()
            .map(|cell| Cell::from(cell_text(cell, dates_1904)))
            .collect();
        if scanner.push(row, fields) == Scan::GaveUp {
            return None;
        }
    }
    scanner.finish()
}

/// A sheet's first [`HEADER_SEARCH_ROWS`] rows that hold a value, as
/// [`scan_sheet`] read them.
fn head_rows(range: &Range<Data>, dates_1904: bool) -> Vec<Vec<Cell>> {
    range
        .rows()
        .filter(|cells| cells.iter().any(|c| !matches!(c, Data::Empty)))
        .take(HEADER_SEARCH_ROWS)
        .map(|cells| {
            cells
                .iter()
                .map(|cell| Cell::from(cell_text(cell, dates_1904)))
                .collect()
        })
        .collect()
}

/// The text of a cell as Excel shows it in a General-format column, in a
/// workbook of the 1904 date system when `dates_1904`.
fn cell_text(cell: &Data, dates_1904: bool) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(text) => text.strip_prefix('\u{FEFF}').unwrap_or(text).to_owned(),
        Data::Float(number) => float_text(*number),
        Data::Int(number) => number.to_string(),
        Data::Bool(true) => "TRUE".to_owned(),
        Data::Bool(false) => "FALSE".to_owned(),
        Data::DateTime(datetime) => datetime_text(datetime, dates_1904),
        Data::DateTimeIso(text) | Data::DurationIso(text) => text.clone(),
        // What Excel shows: `#N/A`, `#VALUE!`, `#REF!`, …
        Data::Error(error) => error.to_string(),
    }
}

/// `45662.0` → `45662` (a date serial or an amount typed as a whole number),
/// `1234.5` → `1234.5`, at most 15 significant digits as Excel shows them
/// (`180.00000000000003` → `180`), and from 1e15 on Excel's own scientific notation
/// with 15 significant digits (`1.10105199001011E+17`): those digits are all
/// that is left of an ID number, and showing them as such lets the ID
/// normaliser flag the value instead of trusting made-up trailing digits.
pub(super) fn float_text(number: f64) -> String {
    if !number.is_finite() {
        return number.to_string();
    }
    if number.abs() >= LOST_DIGITS_FROM {
        return excel_scientific(number);
    }
    if number.fract() == 0.0 {
        // |number| < 1e15 fits an i64 exactly; `as` also turns -0.0 into 0.
        return (number as i64).to_string();
    }
    let text = number.to_string();
    // More digits than Excel shows (15 significant): a formula's float
    // noise, `180.00000000000003` for 180, which is no part of a fen.
    if text.len() > 16 {
        let shown: f64 = format!("{number:.14e}")
            .parse()
            .expect("a float's own digits");
        if shown.fract() == 0.0 {
            return (shown as i64).to_string();
        }
        return shown.to_string();
    }
    text
}

fn excel_scientific(number: f64) -> String {
    let formatted = format!("{number:.14E}");
    let (mantissa, exponent) = formatted.split_once('E').unwrap_or((&formatted, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    match exponent.strip_prefix('-') {
        Some(digits) => format!("{mantissa}E-{digits:0>2}"),
        None => format!("{mantissa}E+{exponent:0>2}"),
    }
}

/// Excel's first and last day, 1900-01-01 and 9999-12-31, as serials of
/// the 1900 date system and of the 1904 one. The 1904 system's day 0,
/// 1904-01-01, is its `0` as the 1900 system's 1900-01-00 is: what a date
/// formula on an empty cell gives, no day a record was made; its first
/// day read is 1904-01-02.
const DATE_SERIALS_1900: (f64, f64) = (1.0, 2_958_465.0);
const DATE_SERIALS_1904: (f64, f64) = (1.0, 2_957_003.0);

/// `YYYY-MM-DD`, with ` HH:MM:SS` when there is a time of day; a duration
/// (`[h]:mm:ss` format) as hours:minutes:seconds.
fn datetime_text(datetime: &ExcelDateTime, dates_1904: bool) -> String {
    if datetime.is_duration() {
        let total_seconds = (datetime.as_f64() * 86_400.0).round();
        let sign = if total_seconds < 0.0 { "-" } else { "" };
        // Saturating float-to-int conversion: no panic on absurd values.
        let total = total_seconds.abs() as u64;
        return format!(
            "{sign}{}:{:02}:{:02}",
            total / 3600,
            total / 60 % 60,
            total % 60
        );
    }
    // No day of Excel's calendar (1900-01-01 is 1, 9999-12-31 is
    // 2958465): Excel shows `########` or `1900/1/0` (a date formula on an
    // empty cell gives 0). The number as it stands, which no date column
    // reads as a date; calamine would show the first or the last day.
    let serial = datetime.as_f64();
    let (first, last) = if dates_1904 {
        DATE_SERIALS_1904
    } else {
        DATE_SERIALS_1900
    };
    if !(first..last + 1.0).contains(&serial) {
        return float_text(serial);
    }
    let (year, month, day, hour, minute, second, _millis) = datetime.to_ymd_hms_milli();
    if (hour, minute, second) == (0, 0, 0) {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
    }
}

#[cfg(test)]
mod tests {
    use rust_xlsxwriter::{ExcelDateTime as WriterDateTime, Format, Workbook, XlsxError};

    use super::super::test_support::*;
    use super::super::{FileFormat, ReadError, SkipReason, read_file};
    use super::*;

    #[test]
    fn float_text_as_excel_shows_it() {
        assert_eq!(float_text(45662.0), "45662");
        assert_eq!(float_text(1234.5), "1234.5");
        assert_eq!(float_text(0.1), "0.1");
        assert_eq!(float_text(-0.0), "0");
        assert_eq!(float_text(-12.0), "-12");
        assert_eq!(float_text(999_999_999_999_999.0), "999999999999999");
        assert_eq!(float_text(110105199001011234.0), "1.10105199001011E+17");
        assert_eq!(float_text(-110105199001011234.0), "-1.10105199001011E+17");
        assert_eq!(float_text(1e15), "1E+15");
        assert_eq!(float_text(1.1e17), "1.1E+17");
        assert_eq!(float_text(f64::NAN), "NaN");
        // A formula's float noise shows as Excel shows it, 15 digits.
        assert_eq!(float_text(180.00000000000003), "180");
        assert_eq!(float_text(0.1 + 0.2), "0.3");
        assert_eq!(float_text(-1234.5678901234567), "-1234.56789012346");
        assert_eq!(float_text(699.995), "699.995");
    }

    #[test]
    fn cell_text_of_other_kinds() {
        assert_eq!(cell_text(&Data::Empty, false), "");
        assert_eq!(
            cell_text(&Data::Int(110105199001011234), false),
            "110105199001011234"
        );
        assert_eq!(cell_text(&Data::Bool(true), false), "TRUE");
        assert_eq!(
            cell_text(&Data::String("\u{FEFF}姓名 ".to_owned()), false),
            "姓名 "
        );
        assert_eq!(
            cell_text(&Data::Error(calamine::CellErrorType::NA), false),
            "#N/A"
        );
        let date = ExcelDateTime::new(45662.0, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&Data::DateTime(date), false), "2025-01-05");
        // A date cell holding no day of Excel's calendar is its number.
        for (serial, text) in [
            (0.0, "0"),
            (-1.0, "-1"),
            (0.5, "0.5"),
            (2_958_466.0, "2958466"),
            (1e308, "1E+308"),
        ] {
            let cell = ExcelDateTime::new(serial, calamine::ExcelDateTimeType::DateTime, false);
            assert_eq!(cell_text(&Data::DateTime(cell), false), text, "{serial}");
        }
        let last = ExcelDateTime::new(2_958_465.0, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&Data::DateTime(last), false), "9999-12-31");
        let first = ExcelDateTime::new(1.0, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&Data::DateTime(first), false), "1900-01-01");
        // The 1904 system's calendar: day 0 (1904-01-01) is what a date
        // formula on an empty cell gives, no day; 2957003 its 9999-12-31.
        for (serial, text) in [
            (0.0, "0"),
            (1.0, "1904-01-02"),
            (2_957_003.0, "9999-12-31"),
            (2_957_004.0, "2957004"),
            (-1.0, "-1"),
        ] {
            let cell = ExcelDateTime::new(serial, calamine::ExcelDateTimeType::DateTime, true);
            assert_eq!(cell_text(&Data::DateTime(cell), true), text, "{serial}");
        }
        let date_time = ExcelDateTime::new(45662.5, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(
            cell_text(&Data::DateTime(date_time), false),
            "2025-01-05 12:00:00"
        );
        let duration = ExcelDateTime::new(1.5, calamine::ExcelDateTimeType::TimeDelta, false);
        assert_eq!(cell_text(&Data::DateTime(duration), false), "36:00:00");
    }

    /// Three sheets: two with a title row, a header, data, a blank row and a
    /// total (the second starting at row 3, below two empty rows, to check
    /// that row numbers are the sheet's own), and a notes sheet without any
    /// header.
    fn three_sheet_workbook() -> Vec<u8> {
        let mut workbook = Workbook::new();
        fill_three_sheets(&mut workbook).expect("build workbook");
        workbook.save_to_buffer().expect("save workbook")
    }

    fn fill_three_sheets(workbook: &mut Workbook) -> Result<(), XlsxError> {
        let date_format = Format::new().set_num_format("yyyy-mm-dd");
        let sheet = workbook.add_worksheet();
        sheet.set_name("城关镇")?;
        sheet.write_string(0, 0, "2025年第三季度低保名册")?;
        for (col, header) in ["姓名", "身份证号", "认定日期", "月保障金（元）"]
            .iter()
            .enumerate()
        {
            sheet.write_string(1, col as u16, *header)?;
        }
        sheet.write_string(2, 0, "张三")?;
        sheet.write_string(2, 1, "110105199001011234")?;
        let date = WriterDateTime::from_ymd(2025, 1, 5)?;
        sheet.write_datetime_with_format(2, 2, &date, &date_format)?;
        sheet.write_number(2, 3, 100.0)?;
        // Row 4 left blank.
        sheet.write_string(4, 0, "李四")?;
        sheet.write_number(4, 1, 110105199001011234.0)?;
        sheet.write_number(4, 2, 45662.0)?;
        sheet.write_number(4, 3, 1234.5)?;
        sheet.write_string(5, 0, "合计")?;
        sheet.write_number(5, 3, 1334.5)?;

        let sheet = workbook.add_worksheet();
        sheet.set_name("东关街道")?;
        sheet.write_string(2, 0, "姓名")?;
        sheet.write_string(2, 1, "身份证号")?;
        sheet.write_string(3, 0, "王五")?;
        sheet.write_string(3, 1, "11010519900101123X")?;
        sheet.write_string(4, 0, "总计：")?;

        let sheet = workbook.add_worksheet();
        sheet.set_name("说明")?;
        sheet.write_string(0, 0, "本表由民政局核对")?;
        Ok(())
    }

    /// The workbook with its workbook part's `<workbookPr` given the 1904
    /// date system, as Mac Excel saves it.
    fn in_1904_system(xlsx: &[u8]) -> Vec<u8> {
        with_part_edited(xlsx, "xl/workbook.xml", |xml| {
            assert!(xml.contains("<workbookPr "), "{xml}");
            xml.replacen("<workbookPr ", "<workbookPr date1904=\"1\" ", 1)
        })
    }

    /// The workbook with the XML of its part `part` edited.
    fn with_part_edited(xlsx: &[u8], part: &str, edit: impl Fn(String) -> String) -> Vec<u8> {
        use std::io::{Read, Write};
        let mut zip = zip::ZipArchive::new(Cursor::new(xlsx)).expect("zip");
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).expect("entry");
            let name = entry.name().expect("entry name").into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("read entry");
            if name == part {
                bytes = edit(String::from_utf8(bytes).expect("utf-8")).into_bytes();
            }
            out.start_file(name, zip::write::SimpleFileOptions::default())
                .expect("start");
            out.write_all(&bytes).expect("write");
        }
        out.finish().expect("finish").into_inner()
    }

    /// A date cell holding 0 (a date formula on an empty cell) is no day
    /// in either date system; 1 is the first of each.
    #[test]
    fn a_zero_date_is_no_day_in_either_system() {
        use calamine::ExcelDateTimeType::DateTime;
        let text = |v: f64, is_1904: bool| {
            datetime_text(&ExcelDateTime::new(v, DateTime, is_1904), is_1904)
        };
        assert_eq!(text(0.0, false), "0");
        assert_eq!(text(0.0, true), "0");
        assert_eq!(text(1.0, false), "1900-01-01");
        assert_eq!(text(1.0, true), "1904-01-02");
        assert_eq!(text(60.0, true), "1904-03-01");
        assert_eq!(text(-1.0, true), "-1");
    }

    #[test]
    fn a_workbook_in_the_1904_date_system_says_so() {
        let plain = three_sheet_workbook();
        let (_dir, path) = temp_file("r.xlsx", &plain);
        let table = read_file(&path, &is_header).expect("read");
        assert!(table.sections.iter().all(|s| !s.dates_1904));
        let (_dir, path) = temp_file("r.xlsx", &in_1904_system(&plain));
        let table = read_file(&path, &is_header).expect("read");
        assert!(table.sections.iter().all(|s| s.dates_1904));
        assert!(dates_1904_in(
            br#"<x:workbook xmlns:x="m"><x:workbookPr date1904="1"/></x:workbook>"#
        ));
        assert!(dates_1904_in(
            br#"<workbookPr date1904="true" defaultThemeVersion="1"/>"#
        ));
        assert!(!dates_1904_in(
            br#"<workbookPr defaultThemeVersion="1"/><sheets/>"#
        ));
        assert!(!dates_1904_in(
            br#"<workbookPr/><definedName date1904="1"/>"#
        ));
        // A bare number stays the number: the extract's date column reads
        // it as a 1904 serial.
        assert_eq!(table.sections[0].rows[1].fields[2], "45662");
    }

    #[test]
    fn a_hidden_sheet_with_a_header_is_read_and_named() {
        let mut workbook = Workbook::new();
        let build = |workbook: &mut Workbook| -> Result<(), XlsxError> {
            for (name, hide) in [("当前", false), ("旧数据", true), ("字典", true)] {
                let sheet = workbook.add_worksheet();
                sheet.set_name(name)?;
                if name != "字典" {
                    sheet.write_string(0, 0, "姓名")?;
                    sheet.write_string(0, 1, "身份证号")?;
                    sheet.write_string(1, 0, "王五")?;
                    sheet.write_string(1, 1, "11010519900101123X")?;
                } else {
                    sheet.write_string(0, 0, "城关镇")?;
                }
                if hide {
                    sheet.set_hidden(true);
                }
            }
            Ok(())
        };
        build(&mut workbook).expect("build workbook");
        let (_dir, path) = temp_file("r.xlsx", &workbook.save_to_buffer().expect("save"));
        let table = read_file(&path, &is_header).expect("read");
        assert_eq!(table.sections.len(), 2);
        assert_eq!(table.hidden_sheets, ["旧数据"]);
        assert_eq!(table.ignored_sheets, ["字典"]);
    }

    #[test]
    fn every_sheet_with_a_header_is_a_section() {
        let (_dir, path) = temp_file("roster.xlsx", &three_sheet_workbook());
        let table = read_file(&path, &is_header).expect("read");
        assert_eq!(
            (table.format, table.encoding.as_str()),
            (FileFormat::Xlsx, "binary")
        );
        assert_eq!(table.ignored_sheets, ["说明"]);
        assert_eq!(table.sections.len(), 2);

        let first = &table.sections[0];
        assert_eq!(first.sheet.as_deref(), Some("城关镇"));
        assert_eq!(
            first.header,
            ["姓名", "身份证号", "认定日期", "月保障金（元）"]
        );
        assert_eq!(first.header_loc.to_string(), "城关镇!2");
        assert_eq!(row_numbers(&first.rows), [3, 5]);
        assert!(
            first
                .rows
                .iter()
                .all(|r| r.loc.sheet.as_deref() == Some("城关镇"))
        );
        assert_eq!(
            fields_of(first, 3),
            ["张三", "110105199001011234", "2025-01-05", "100"]
        );
        // The ID Excel stored as a number: its lost digits are not made up.
        assert_eq!(
            fields_of(first, 5),
            ["李四", "1.10105199001011E+17", "45662", "1234.5"]
        );
        assert_eq!(
            skips(&first.skipped),
            [(4, SkipReason::Blank), (6, SkipReason::Total)]
        );
        assert!(
            first
                .skipped
                .iter()
                .all(|s| s.loc.sheet.as_deref() == Some("城关镇"))
        );

        let second = &table.sections[1];
        assert_eq!(second.sheet.as_deref(), Some("东关街道"));
        assert_eq!(second.header_loc.to_string(), "东关街道!3");
        assert_eq!(row_numbers(&second.rows), [4]);
        assert_eq!(second.rows[0].loc.to_string(), "东关街道!4");
        assert_eq!(skips(&second.skipped), [(5, SkipReason::Total)]);
    }

    /// A merged range's empty (or blank) cells in its first column take
    /// its first cell's value, a cell with a value of its own keeps it, a
    /// row without one stays blank, a range with an empty first cell
    /// spreads nothing, nothing spreads across columns, and a range
    /// reaching past the used cells fills only the cells inside them.
    #[test]
    fn merged_ranges_spread_their_first_cell_over_their_empty_cells() {
        let mut range: Range<Data> = Range::new((1, 0), (5, 3));
        range.set_value((1, 0), Data::String("H001".into()));
        range.set_value((2, 0), Data::String(String::new()));
        range.set_value((3, 0), Data::String("H009".into()));
        range.set_value((1, 1), Data::Float(3.0));
        range.set_value((4, 2), Data::String("合计".into()));
        // Every row but 5 has a member of its own (row 5's were cleared).
        for row in 1..=4 {
            range.set_value((row, 3), Data::String(format!("成员{row}")));
        }
        let region = |start, end| Dimensions { start, end };
        // Row 3's cell in column 1 holds blanks only.
        range.set_value((3, 1), Data::String(" ".into()));
        let merged = [
            region((1, 0), (5, 0)),
            region((1, 1), (3, 1)),
            region((3, 2), (3, 2)),
            region((2, 2), (3, 2)),
            region((4, 2), (9, 8)),
        ];
        assert_eq!(fill_merged(&mut range, &merged), 4);
        let text = |row, col| cell_text(range.get_value((row, col)).unwrap(), false);
        let column = |col| (1..=5).map(|row| text(row, col)).collect::<Vec<_>>();
        assert_eq!(column(0), ["H001", "H001", "H009", "H001", ""]);
        assert_eq!(column(1), ["3", "3", "3", "", ""]);
        // 合计 merged across columns 2 to 8 stays in column 2.
        assert_eq!(column(2), ["", "", "", "合计", ""]);
        assert_eq!(column(3), ["成员1", "成员2", "成员3", "成员4", ""]);
        assert_eq!(range.end(), Some((5, 3)));
    }

    /// A workbook's merged cells are filled down when it is read, and
    /// counted; a title or header merged across columns is not spread.
    #[test]
    fn a_sheet_s_merged_household_cells_are_read_on_every_row() {
        let mut workbook = Workbook::new();
        (|| {
            let sheet = workbook.add_worksheet();
            let plain = rust_xlsxwriter::Format::new();
            sheet.merge_range(0, 0, 0, 2, "2025年名册", &plain)?;
            sheet.write_string(1, 0, "户编号")?;
            sheet.write_string(1, 1, "姓名")?;
            // A header over two columns names the first.
            sheet.merge_range(1, 2, 1, 3, "身份证号", &plain)?;
            sheet.merge_range(2, 0, 3, 0, "H001", &plain)?;
            sheet.write_string(2, 1, "张三")?;
            sheet.write_string(3, 1, "李四")?;
            Ok::<_, XlsxError>(())
        })()
        .unwrap();
        let (_dir, path) = temp_file("r.xlsx", &workbook.save_to_buffer().unwrap());
        let table = read_file(&path, &is_header).unwrap();
        assert_eq!(table.merged_cells_filled, 1);
        assert_eq!(table.sections[0].header, ["户编号", "姓名", "身份证号"]);
        let rows = &table.sections[0].rows;
        let households: Vec<&str> = rows.iter().map(|r| r.fields[0].as_str()).collect();
        assert_eq!(households, ["H001", "H001"]);
    }

    /// A workbook of one sheet 名单 (姓名, 身份证号), the IDs written as
    /// numbers, then each row's number rewritten in the sheet's XML as
    /// `written` gives it (as a program writing a whole number leaves it).
    fn numeric_id_workbook(written: &[&str]) -> Vec<u8> {
        use std::io::{Read, Write};
        let mut workbook = Workbook::new();
        (|| {
            let sheet = workbook.add_worksheet();
            sheet.set_name("名单")?;
            sheet.write_string(0, 0, "姓名")?;
            sheet.write_string(0, 1, "身份证号")?;
            for (row, _) in (1u32..).zip(written) {
                sheet.write_string(row, 0, "张三")?;
                sheet.write_number(row, 1, 1e17 + f64::from(row) * 1024.0)?;
            }
            Ok::<_, XlsxError>(())
        })()
        .unwrap();
        let bytes = workbook.save_to_buffer().unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..zip.len() {
            let mut file = zip.by_index(i).unwrap();
            let name = file.name().unwrap().into_owned();
            let mut xml = String::new();
            file.read_to_string(&mut xml).unwrap();
            if name == "xl/worksheets/sheet1.xml" {
                for (row, text) in (2u32..).zip(written) {
                    let cell = xml.find(&format!("<c r=\"B{row}\"")).unwrap();
                    let start = cell + xml[cell..].find("<v>").unwrap() + 3;
                    let end = start + xml[start..].find("</v>").unwrap();
                    xml.replace_range(start..end, text);
                }
            }
            out.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            out.write_all(xml.as_bytes()).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    /// An 18-digit ID that a program wrote as a whole number is read digit
    /// for digit, also one whose float prints the same digits when they
    /// are a valid ID; one that holds only a float's digits (Excel's 15,
    /// or a float printed whole) stays in scientific notation, its lost
    /// digits not made up.
    #[test]
    fn a_whole_number_holding_every_digit_of_an_id_is_read_as_written() {
        let bytes = numeric_id_workbook(&[
            "341122194502104426",
            "341122194502104000",
            // A float's digits printed whole (of 341122194502104512).
            "341122194502104500",
            "3.41122194502104E+17",
            // Valid, and what its float prints too.
            "341122198001012740",
        ]);
        // The same without the cells' and rows' references, which the
        // format makes optional (helper-162's audit: every number was read
        // as its float).
        let unreferenced = with_part_edited(&bytes, "xl/worksheets/sheet1.xml", |xml| {
            let mut out = String::with_capacity(xml.len());
            let mut rest = xml.as_str();
            while let Some(at) = rest.find(" r=\"") {
                out.push_str(&rest[..at]);
                let after = &rest[at + 4..];
                rest = &after[after.find('"').expect("closing quote") + 1..];
            }
            out.push_str(rest);
            assert!(!out.contains(" r=\""), "{out}");
            out
        });
        for bytes in [bytes, unreferenced] {
            let (_dir, path) = temp_file("n.xlsx", &bytes);
            let table = read_file(&path, &is_header).unwrap();
            let ids: Vec<&str> = table.sections[0]
                .rows
                .iter()
                .map(|r| r.fields[1].as_str())
                .collect();
            assert_eq!(
                ids,
                [
                    "341122194502104426",
                    "3.41122194502104E+17",
                    "3.41122194502105E+17",
                    "3.41122194502104E+17",
                    "341122198001012740",
                ]
            );
        }
    }

    #[test]
    fn a_cell_reference_is_its_row_and_column_from_zero() {
        assert_eq!(cell_position(b"A1"), Some((0, 0)));
        assert_eq!(cell_position(b"B12"), Some((11, 1)));
        assert_eq!(cell_position(b"AA3"), Some((2, 26)));
        assert_eq!(cell_position(b"XFD1048576"), Some((1_048_575, 16_383)));
        for bad in [&b"12"[..], b"A", b"a1", b"A0", b"", b"ABCD1"] {
            assert_eq!(cell_position(bad), None, "{bad:?}");
        }
    }

    /// A header of two rows: 姓名 and 身份证号 merged down both, a group
    /// header 鉴定情况 over the two columns named in the second row. The
    /// columns are named by both rows; the data start below them.
    #[test]
    fn a_header_merged_over_two_rows_names_every_column() {
        let mut workbook = Workbook::new();
        (|| {
            let sheet = workbook.add_worksheet();
            let plain = rust_xlsxwriter::Format::new();
            sheet.merge_range(0, 0, 0, 3, "危房鉴定名单", &plain)?;
            sheet.merge_range(1, 0, 2, 0, "姓名", &plain)?;
            sheet.merge_range(1, 1, 2, 1, "身份证号", &plain)?;
            sheet.merge_range(1, 2, 1, 3, "鉴定情况", &plain)?;
            sheet.write_string(2, 2, "鉴定等级")?;
            sheet.write_string(2, 3, "鉴定日期")?;
            sheet.write_string(3, 0, "张三")?;
            sheet.write_string(3, 1, "341122198001011238")?;
            sheet.write_string(3, 2, "D")?;
            sheet.write_string(3, 3, "2025-01-05")?;
            Ok::<_, XlsxError>(())
        })()
        .unwrap();
        let (_dir, path) = temp_file("h.xlsx", &workbook.save_to_buffer().unwrap());
        let table = read_file(&path, &is_header).unwrap();
        let section = &table.sections[0];
        assert_eq!(section.header, ["姓名", "身份证号", "鉴定等级", "鉴定日期"]);
        assert_eq!(row_numbers(&section.rows), [4]);
        assert!(section.skipped.is_empty());
    }

    /// One sheet 名册 with a header, a data row and the header repeated;
    /// with `empty_sheet`, a second sheet 空表 with nothing on it.
    fn one_data_sheet(empty_sheet: bool) -> Vec<u8> {
        let mut workbook = Workbook::new();
        (|| {
            let sheet = workbook.add_worksheet();
            sheet.set_name("名册")?;
            sheet.write_string(0, 0, "姓名")?;
            sheet.write_string(0, 1, "身份证号")?;
            sheet.write_string(1, 0, "张三")?;
            sheet.write_string(1, 1, "1")?;
            sheet.write_string(2, 0, "姓名")?;
            sheet.write_string(2, 1, "身份证号")?;
            if empty_sheet {
                workbook.add_worksheet().set_name("空表")?;
            }
            Ok::<_, XlsxError>(())
        })()
        .expect("build workbook");
        workbook.save_to_buffer().expect("save")
    }

    #[test]
    fn rows_carry_the_sheet_name_when_the_workbook_has_several_sheets() {
        // spec/outputs.md: `sheet!row` "when the workbook has several
        // sheets", also when only one of them holds data.
        let (_dir, path) = temp_file("r.XLSX", &one_data_sheet(true));
        let table = read_file(&path, &is_header).expect("read");
        assert_eq!(table.ignored_sheets, ["空表"]);
        let section = &table.sections[0];
        assert_eq!(section.sheet.as_deref(), Some("名册"));
        assert_eq!(section.header_loc.to_string(), "名册!1");
        assert_eq!(section.rows[0].loc.to_string(), "名册!2");
        assert_eq!(skips(&section.skipped), [(3, SkipReason::RepeatedHeader)]);
        // A workbook of one sheet: the row number alone.
        let (_dir, path) = temp_file("r.xlsx", &one_data_sheet(false));
        let table = read_file(&path, &is_header).expect("read");
        assert!(table.ignored_sheets.is_empty());
        let section = &table.sections[0];
        assert_eq!(section.header_loc.to_string(), "1");
        assert_eq!(section.rows[0].loc.to_string(), "2");
    }

    #[test]
    fn workbook_without_any_header_lists_its_sheets() {
        let mut workbook = Workbook::new();
        (|| {
            workbook
                .add_worksheet()
                .set_name("Sheet1")?
                .write_string(0, 0, "张三")?;
            Ok::<_, XlsxError>(())
        })()
        .expect("build workbook");
        let bytes = workbook.save_to_buffer().expect("save");
        let (_dir, path) = temp_file("r.xlsx", &bytes);
        let err = read_file(&path, &is_header).expect_err("no header");
        assert!(
            matches!(&err, ReadError::NoHeader { sheets, .. } if sheets == &["Sheet1"]),
            "{err}"
        );
        assert!(!err.to_string().contains("张三"));
    }

    /// A workbook of one sheet per household names its sheets after the
    /// heads: the message names them masked.
    #[test]
    fn sheets_named_after_persons_are_masked_in_the_message() {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        for sheet in ["王芳户", "李建国", "341122196805207712", "说明"] {
            workbook
                .add_worksheet()
                .set_name(sheet)
                .unwrap()
                .write_string(0, 0, "备注")
                .unwrap();
        }
        let bytes = workbook.save_to_buffer().expect("save");
        let (_dir, path) = temp_file("r.xlsx", &bytes);
        let err = read_file(&path, &is_header).expect_err("no header");
        let message = err.to_string();
        for shown in ["王*户", "李*国", "341122********7712", "说明"] {
            assert!(message.contains(shown), "{shown}: {message}");
        }
        for hidden in ["王芳户", "李建国", "341122196805207712"] {
            assert!(!message.contains(hidden), "{hidden}");
        }
    }

    #[test]
    fn not_a_zip_is_a_bad_workbook() {
        let (_dir, path) = temp_file("r.xlsx", "姓名,身份证号\n张三,1\n".as_bytes());
        let err = read_file(&path, &is_header).expect_err("bad");
        assert!(matches!(err, ReadError::BadWorkbook { .. }), "{err}");
        assert!(
            err.to_string().starts_with(
                "不是有效的 XLSX 文件：r.xlsx（文件内容不是 XLSX 工作簿（不是 zip 压缩格式）"
            ),
            "{err}"
        );
        let (_dir, path) = temp_file("r.xlsx", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 and more");
        let err = read_file(&path, &is_header).expect_err("bad");
        assert!(
            err.to_string()
                .contains("旧版 Excel 97-2003 工作簿（.xls）、设了打开密码的工作簿"),
            "{err}"
        );
        // The compound file's stream names tell which it is.
        let ole = |stream: &str| {
            let mut bytes = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 ".to_vec();
            bytes.extend(stream.encode_utf16().flat_map(u16::to_le_bytes));
            bytes
        };
        for (stream, says) in [
            (
                "EncryptionInfo",
                "设了打开密码的工作簿，请在 Excel 中取消密码",
            ),
            (
                "Workbook",
                "旧版 Excel 97-2003 工作簿（.xls），请在 Excel 中另存为",
            ),
            ("WordDocument", "Word 文档"),
        ] {
            let (_dir, path) = temp_file("r.xlsx", &ole(stream));
            let err = read_file(&path, &is_header).expect_err("bad").to_string();
            assert!(err.contains(says), "{stream}: {err}");
        }
    }

    #[test]
    fn corrupt_zip_is_a_bad_workbook() {
        let mut bytes = three_sheet_workbook();
        let half = bytes.len() / 2;
        bytes.truncate(half);
        let (_dir, path) = temp_file("r.xlsx", &bytes);
        let err = read_file(&path, &is_header).expect_err("bad");
        assert!(matches!(err, ReadError::BadWorkbook { .. }), "{err}");
        assert!(err.to_string().contains("工作簿已损坏或不完整"), "{err}");

        let mut bytes = b"PK\x03\x04".to_vec();
        bytes.extend(noise(2048, 7));
        let (_dir, path) = temp_file("r.xlsx", &bytes);
        let err = read_file(&path, &is_header).expect_err("bad");
        assert!(matches!(err, ReadError::BadWorkbook { .. }), "{err}");
    }

    #[test]
    fn empty_xlsx_file_is_empty() {
        let (_dir, path) = temp_file("r.xlsx", b"");
        let err = read_file(&path, &is_header).expect_err("empty");
        assert!(matches!(err, ReadError::Empty { .. }), "{err}");
    }

    /// A reader that hands out `step` bytes at a time, so that a tag can
    /// fall across the pieces [`sheet_marks_in`] reads.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// A sheet's XML is marked for a formula element, a merged range's
    /// element and a number of 16 to 18 digits wherever they fall among
    /// the pieces it is read in; an element that only starts like a
    /// formula (`<fill>`, an `f` in a text) is none, nor is a number in
    /// scientific notation, of other lengths or with a space; UTF-16 is
    /// marked for every reading.
    #[test]
    fn a_sheet_s_marks_are_found_across_its_pieces() {
        let cells = r#"<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>of fine</t></is></c><c r="B1"><v>1</v></c></row></sheetData>"#;
        let none = SheetMarks::default();
        let formula = SheetMarks {
            formula: true,
            ..none
        };
        let merged = SheetMarks {
            merged: true,
            ..none
        };
        let long = SheetMarks {
            long_numbers: true,
            ..none
        };
        let number = |v: &str| format!(r#"<worksheet>{cells}<c r="C1"><v>{v}</v></c></worksheet>"#);
        let cases = [
            (format!("<worksheet>{cells}<fill/></worksheet>"), none),
            (
                format!(r#"<worksheet>{cells}<c r="C1"><f>300*3</f></c></worksheet>"#),
                formula,
            ),
            (
                format!(r#"<worksheet>{cells}<c r="C1"><f t="shared" si="0"/></c></worksheet>"#),
                formula,
            ),
            (
                format!(r#"<x:worksheet>{cells}<x:c r="C1"><x:f/></x:c></x:worksheet>"#),
                formula,
            ),
            (
                format!(
                    r#"<worksheet>{cells}<mergeCells count="1"><mergeCell ref="A1:C1"/></mergeCells></worksheet>"#
                ),
                merged,
            ),
            (
                format!(
                    r#"<worksheet>{cells}<c r="C1"><f>1+2</f></c><mergeCells count="1"><mergeCell ref="A1:C1"/></mergeCells></worksheet>"#
                ),
                SheetMarks {
                    long_numbers: false,
                    ..SheetMarks::ALL
                },
            ),
            (number("341122199001011234"), long),
            (number("3411221990010112"), long),
            (number("3.41122199001011E+17"), none),
            (number("341122199001011"), none),
            (number("3411221990010112345"), none),
            (number(" 341122199001011234"), none),
            (
                format!(
                    r#"<worksheet>{cells}<c r="C1"><f>1+2</f></c><c r="D1"><v>341122199001011234</v></c><mergeCells count="1"><mergeCell ref="A1:C1"/></mergeCells></worksheet>"#
                ),
                SheetMarks::ALL,
            ),
        ];
        for (xml, expected) in &cases {
            for step in 1..=12 {
                let part = Trickle {
                    bytes: xml.as_bytes(),
                    step,
                };
                assert_eq!(sheet_marks_in(part), Ok(*expected), "{step}: {xml}");
            }
        }
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("<worksheet/>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        for step in 1..=3 {
            let part = Trickle {
                bytes: &utf16,
                step,
            };
            assert_eq!(sheet_marks_in(part), Ok(SheetMarks::ALL), "{step}");
        }
        // A workbook's own parts, as calamine reads them: no formula, no
        // merged range; a float of 18 digits written in full (a number
        // past a float's digits, as a program writes it) in one.
        let workbook = three_sheet_workbook();
        let parts = sheet_parts(&workbook).expect("parts");
        assert_eq!(sheet_marks(&workbook, &parts["东关街道"]), Ok(none));
        assert_eq!(sheet_marks(&workbook, &parts["城关镇"]), Ok(long));
    }

    /// A formula saved without its result (no value, or an empty one in a
    /// cell that is not a string's, as openpyxl writes it) is read as its
    /// formula, not as an empty cell; one with its result, a string
    /// formula that gave `""` and a shared formula's later cells are read
    /// as Excel shows them.
    #[test]
    fn a_formula_without_its_result_is_read_as_the_formula() {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        for (c, header) in ["姓名", "身份证号", "金额", "备注"].iter().enumerate() {
            sheet.write_string(0, c as u16, *header).unwrap();
        }
        for row in 1..=4 {
            sheet.write_string(row, 0, "张三").unwrap();
            sheet.write_string(row, 1, "110105199001011234").unwrap();
        }
        sheet.write_formula(1, 2, "=300*3").unwrap();
        sheet.write_formula(2, 2, "=1+2").unwrap();
        sheet.write_formula(3, 2, "=2*2").unwrap();
        sheet.write_formula(4, 3, "=IF(1,\"\",\"x\")").unwrap();
        sheet.write_formula(3, 3, "=A2&B2").unwrap();
        // Right of every value: outside the range calamine reads.
        sheet.write_formula(1, 6, "=ROW()").unwrap();
        let xlsx = workbook.save_to_buffer().unwrap();
        let edited = with_part_edited(&xlsx, "xl/worksheets/sheet1.xml", |xml| {
            assert!(xml.contains("<f>300*3</f><v>0</v>"), "{xml}");
            xml.replace("<f>300*3</f><v>0</v>", "<f>300*3</f><v/>")
                .replace("<f>1+2</f><v>0</v>", "<f>1+2</f>")
                .replace("<f>2*2</f><v>0</v>", "<f>2*2</f><v>4</v>")
                .replace("<f>A2&amp;B2</f><v>0</v>", "<f>A2&amp;B2</f>")
                .replace("<f>ROW()</f><v>0</v>", "<f>ROW()</f>")
                .replace("<c r=\"D5\"", "<c t=\"str\" r=\"D5\"")
                .replace(
                    "<v>0</v></c></row></sheetData>",
                    "<v></v></c></row></sheetData>",
                )
        });
        let (_dir, path) = temp_file("r.xlsx", &edited);
        let table = read_file(&path, &is_header).expect("read");
        let cells: Vec<(&str, &str)> = table.sections[0]
            .rows
            .iter()
            .map(|r| {
                (
                    r.fields[2].as_str(),
                    r.fields.get(3).map_or("", |c| c.as_str()),
                )
            })
            .collect();
        assert_eq!(
            cells,
            [("=300*3", ""), ("=1+2", ""), ("4", "=A2&B2"), ("", "")]
        );
        assert!(table.sections[0].rows.iter().all(|r| r.fields.len() <= 4));
        let none = three_sheet_workbook();
        let parts = sheet_parts(&none).expect("parts");
        let part = parts.values().next().expect("a sheet");
        assert_eq!(uncomputed_formulas(&none, part), Ok(Vec::new()));
    }
}
