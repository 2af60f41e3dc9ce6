//! rejects.csv: every input row that could not be used, with its file, the
//! row a person sees, a stable reason code, the reason in Chinese and the raw
//! record (the fields as one CSV line).

use std::io::{self, Write};

use crate::input::RejectRow;

pub const HEADER: [&str; 6] = [
    "extract",
    "file",
    "row",
    "reason_code",
    "reason",
    "raw_record",
];

/// Writes rejects.csv (UTF-8 with BOM, so that Excel opens it correctly),
/// in the order the rows were read.
pub fn write<W: Write>(out: W, rejects: &[RejectRow]) -> io::Result<()> {
    let mut out = out;
    out.write_all("\u{feff}".as_bytes())?;
    let longest = rejects
        .iter()
        .map(|r| r.raw.iter().map(|f| f.len() + 1).sum::<usize>())
        .max()
        .unwrap_or(0);
    let mut w = super::csv_writer(out, longest * 2);
    w.write_record(HEADER)?;
    for r in rejects {
        let mut raw = super::csv_writer(Vec::new(), longest);
        raw.write_record(&r.raw)?;
        let raw =
            String::from_utf8(raw.into_inner().map_err(|e| e.into_error())?).unwrap_or_default();
        w.write_record([
            r.extract,
            r.file.as_str(),
            r.row.as_str(),
            r.code,
            r.reason.as_str(),
            raw.trim_end_matches(['\r', '\n']),
        ])?;
    }
    w.flush()
}
