//! Every normaliser on arbitrary text: never a panic, and normalising a
//! normalised value changes nothing.
#![no_main]

use hedui::normalize::{date, id, money, name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    let normalized = id::normalize_id(raw);
    if let Some(value) = &normalized.value {
        let again = id::normalize_id(value);
        assert_eq!(again.value.as_ref(), Some(value), "ID normalisation is idempotent");
        if normalized.status == id::IdStatus::Valid || normalized.status == id::IdStatus::Upgraded15 {
            assert!(id::is_valid_id(value));
        }
    }
    let _ = id::is_valid_id(raw);
    let _ = id::birth_date(raw);
    let _ = id::region_status(raw);

    let n = name::normalize_name(raw);
    assert_eq!(name::normalize_name(&n.name).name, n.name, "name normalisation is idempotent");
    let _ = name::name_agreement(raw, &n.name);

    if let Ok(Some(d)) = date::parse_date(raw) {
        let canonical = d.format("%Y-%m-%d").to_string();
        assert_eq!(date::parse_date(&canonical), Ok(Some(d)));
    }
    if let Ok(Some(p)) = date::parse_period(raw) {
        assert_eq!(date::parse_period(&p.to_string()), Ok(Some(p)));
    }
    if let Ok(Some(y)) = date::parse_school_year(raw) {
        assert_eq!(date::parse_school_year(&y), Ok(Some(y.clone())));
    }
    if let Ok(Some(fen)) = money::parse_money(raw) {
        assert_eq!(money::parse_money(&money::format_fen(fen)), Ok(Some(fen)));
    }
    let _ = money::parse_decimal(raw);
    let _ = money::parse_integer(raw);
});
