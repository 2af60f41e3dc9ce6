//! Everything a run writes: the machine files of spec/outputs.md (findings,
//! links, rejects, manifest) and the people-facing reports (report.xlsx,
//! report.html, masked by default), written owner-readable only into a
//! temporary sibling folder that replaces the output folder when complete.

pub mod conflicts;
pub mod direct;
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
pub mod warnings;
pub mod xlsx;

/// A CSV writer whose buffer holds the longest field at least twice over.
/// The `csv` crate quotes a field in buffer-sized pieces and searches the
/// rest of the field for quote characters on every piece: with its default
/// 8 KiB buffer a quoted 10 MB field (a paste gone wrong, echoed into
/// rejects.csv) takes quadratic time — minutes instead of milliseconds.
pub fn csv_writer<W: std::io::Write>(out: W, longest_field: usize) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .buffer_capacity(
            longest_field
                .saturating_mul(2)
                .saturating_add(1024)
                .max(8 * 1024),
        )
        .from_writer(out)
}
