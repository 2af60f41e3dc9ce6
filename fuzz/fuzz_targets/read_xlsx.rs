//! Arbitrary bytes as an .xlsx workbook: an error or sections, never a panic.
#![no_main]

use std::collections::BTreeMap;

use hedui::extract::{self, HeaderMatcher, table};
use hedui::read;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let def = extract::EXTRACTS[data.len() % extract::EXTRACTS.len()];
    let matcher = HeaderMatcher::new(def, &BTreeMap::new());
    let is_header = |cells: &[String]| matcher.looks_like_header(cells);
    let Ok(raw) = read::read_bytes("f.xlsx", data.to_vec(), &is_header) else {
        return;
    };
    for section in &raw.sections {
        if let Ok(map) = matcher.map_header(&section.header) {
            let _ = table::parse_rows(def, &map, &section.rows);
        }
    }
});
