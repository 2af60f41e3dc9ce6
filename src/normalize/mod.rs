//! Pure normalisers for the values that arrive messy: ID numbers (GB 11643),
//! names, dates and money. No I/O; every function is unit-tested against the
//! mess catalogue of spec/extracts.md.

pub mod id;
