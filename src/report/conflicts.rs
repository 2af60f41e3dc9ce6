//! conflicts.csv: the record-key conflicts of the department extracts. Two
//! rows with the same record key that differ are both kept, the later one
//! in file order is the one the rules use, and the pair is reported
//! (extracts.md): a line a pair, the later row first, each row named as
//! links.csv names it, so that a reviewer can open both.

use std::io::{self, Write};

pub const HEADER: [&str; 9] = [
    "extract",
    "file",
    "row",
    "raw_id",
    "person_id",
    "earlier_file",
    "earlier_row",
    "earlier_raw_id",
    "earlier_person_id",
];

/// One row of a conflict as its link gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkedRow {
    pub file: String,
    pub row: String,
    pub raw_id: String,
    /// The resolved ID number, empty when unlinked.
    pub person_id: String,
}

/// A conflict: the row the rules use and the earlier row it replaced.
pub struct Conflict<'a> {
    pub extract: &'a str,
    pub later: &'a LinkedRow,
    pub earlier: &'a LinkedRow,
}

/// Writes conflicts.csv (UTF-8 with BOM, so that Excel opens it correctly)
/// in the order given.
pub fn write<'a, W: Write>(
    out: W,
    conflicts: impl IntoIterator<Item = Conflict<'a>>,
) -> io::Result<()> {
    let mut out = out;
    out.write_all("\u{feff}".as_bytes())?;
    let mut w = super::csv_writer(out, 0);
    w.write_record(HEADER)?;
    for c in conflicts {
        let (l, e) = (c.later, c.earlier);
        w.write_record([
            c.extract,
            &l.file,
            &l.row,
            &l.raw_id,
            &l.person_id,
            &e.file,
            &e.row,
            &e.raw_id,
            &e.person_id,
        ])?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_is_a_line_of_the_later_row_then_the_earlier() {
        let row = |file: &str, row: &str, id: &str| LinkedRow {
            file: file.into(),
            row: row.into(),
            raw_id: id.into(),
            person_id: String::new(),
        };
        let later = row("property_2.csv", "3", "110105199001011234");
        let earlier = row("property_1.csv", "7", "'110105199001011234");
        let mut out = Vec::new();
        let conflict = Conflict {
            extract: "property",
            later: &later,
            earlier: &earlier,
        };
        write(&mut out, [conflict]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "\u{feff}extract,file,row,raw_id,person_id,earlier_file,earlier_row,earlier_raw_id,earlier_person_id\n\
             property,property_2.csv,3,110105199001011234,,property_1.csv,7,'110105199001011234,\n"
        );
    }
}
