//! Everything a run writes: the machine files of spec/outputs.md (findings,
//! links, rejects, manifest) and the people-facing reports (report.xlsx,
//! report.html, masked by default), written owner-readable only into a
//! temporary sibling folder that replaces the output folder when complete.

pub mod findings;
pub mod html;
pub mod manifest;
pub mod mask;
pub mod output;
pub mod parquet;
pub mod people;
pub mod rejects;
pub mod rerender;
pub mod view;
pub mod xlsx;
