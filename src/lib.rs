//! hedui (核对): cross-checks a county's assistance roster against the extracts
//! of four departments. The data's path is the module layout:
//! read → extract (normalise into typed Arrow tables) → resolve → rules → report.

pub mod evaluate;
pub mod generate;
pub mod normalize;
pub mod read;
