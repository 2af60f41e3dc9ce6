//! Everything a run writes: the machine files of spec/outputs.md (rejects,
//! manifest, later findings and links), written owner-readable only into a
//! temporary sibling folder that replaces the output folder when complete.

pub mod findings;
pub mod manifest;
pub mod output;
pub mod parquet;
pub mod people;
pub mod rejects;
