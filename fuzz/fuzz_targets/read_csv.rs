//! CSV/TSV bytes → sections → an extract's typed rows: never a panic, and
//! every row below the header is either data or skipped.
#![no_main]

use std::collections::BTreeMap;

use hedui::extract::{self, HeaderMatcher, table};
use hedui::read;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the extract type and the delimiter.
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let def = extract::EXTRACTS[usize::from(pick) % extract::EXTRACTS.len()];
    let name = if pick & 0x80 == 0 { "f.csv" } else { "f.tsv" };
    let matcher = HeaderMatcher::new(def, &BTreeMap::new());
    let is_header = |cells: &[String]| matcher.looks_like_header(cells);
    let Ok(raw) = read::read_bytes(name, bytes.to_vec(), &is_header) else {
        return;
    };
    for section in &raw.sections {
        if let Ok(map) = matcher.map_header(&section.header) {
            let parsed = table::parse_rows(def, &map, &section.rows);
            assert_eq!(parsed.len(), section.rows.len());
        }
    }
});
