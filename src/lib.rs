//! hedui (核对): cross-checks a county's assistance roster against the extracts
//! of four departments. The data's path is the module layout:
//! read → extract (normalise into typed Arrow tables) → resolve → rules → report.

pub mod attach;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod evaluate;
pub mod extract;
pub mod generate;
pub mod household;
pub mod input;
pub mod ledger;
pub mod memory;
pub mod normalize;
pub mod progress;
pub mod read;
pub mod report;
pub mod resolve;
pub mod rules;
pub mod run;
pub mod space;
pub mod validate;
