//! warnings.csv: every value of an accepted row that could not be read and
//! was taken as empty (an optional date, number or category), with its
//! file, the row a person sees, the field, a stable reason code, the reason
//! in Chinese and the cell as written: the first 1,000 of each field of a
//! file; the manifest counts them all per field.

use std::io::{self, Write};

use crate::input::WarningRow;

pub const HEADER: [&str; 7] = [
    "extract",
    "file",
    "row",
    "field",
    "reason_code",
    "reason",
    "value",
];

/// Writes warnings.csv (UTF-8 with BOM, so that Excel opens it correctly),
/// in the order the rows were read.
pub fn write<W: Write>(out: W, warnings: &[WarningRow]) -> io::Result<()> {
    let mut out = out;
    out.write_all("\u{feff}".as_bytes())?;
    let longest = warnings.iter().map(|w| w.value.len()).max().unwrap_or(0);
    let mut w = super::csv_writer(out, longest * 2 + 256);
    w.write_record(HEADER)?;
    for r in warnings {
        w.write_record([
            r.extract,
            r.file.as_str(),
            r.row.as_str(),
            r.field,
            r.code,
            r.reason.as_str(),
            r.value.as_str(),
        ])?;
    }
    w.flush()
}
