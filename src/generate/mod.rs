//! `hedui generate`: a synthetic county with ground truth. A clean world
//! (`world`, `populate`), deliberate cases (`plant`), the mess departments add
//! (`mess`), the files as a county receives them (`tables`, `write`) and the
//! truth beside them (`truth`): OUT/input/ holds the nine extracts, OUT/truth/
//! holds links.csv (who each department row really is, when a correct
//! pipeline can tell), findings.csv (the rules evaluated on what such a
//! pipeline can see), plants.csv (the planted cases) and meta.json.
//!
//! Everything is drawn from ChaCha8 generators seeded from `--seed`, and no
//! hash map is ever iterated, so the same options give byte-identical output.
//!
//! Truth conventions (what "a correct pipeline" is taken to do):
//! - Known persons are the valid or upgradeable ID numbers in any ID column of
//!   any extract (roster 成员/户主身份证号, guardian IDs and every primary ID
//!   column), with the person's true name and birth date.
//! - Each row carries at most one ID or name corruption (`corruption` column of
//!   truth/links.csv). Format-only ones (lower_x, fullwidth, spaces, hyphens,
//!   apostrophe, tab, legacy15) and every name corruption link directly.
//!   typo_digit / swap link only when exactly one known person one substitution
//!   or one adjacent transposition away has the row's name (→ DQ03 for that
//!   person; otherwise DQ01 for the row). sci, empty and placeholder (`无`, `/`)
//!   and unrepaired typos link only in education (the one extract with a birth
//!   date) and only by a unique name + birth date among known persons.
//!   Placeholder and empty IDs that stay unlinked are DQ01 (the record is
//!   kept and flagged); linked by name + birth date, they are not. Education
//!   rows whose typo is not repairable are DQ01 even when name + birth date
//!   then links them.
//! - other_name puts another person's name on a valid ID (DQ02, keyed on the
//!   ID); homophones, traditional forms, spacing, separators and annotations
//!   are variants and never DQ02.
//! - Exact duplicates and the earlier row of a disagreeing pair are written
//!   beside the true row; the rules see the world's records once, which is
//!   what "count once" and "the later row counts" give. Destroyed-ID rows are
//!   never duplicated on purpose; one that repeats an earlier row by chance
//!   (a common name with an empty ID) is an exact duplicate to hedui, and
//!   has no DQ01/DQ04 of its own.
//! - truth/findings.csv has `rule,household_id,id_number,file,row`; file and
//!   row are set only for DQ01 and DQ04 (one finding per source row), and
//!   household_id is empty for the person-level rules LB01–LB04, DQ02, DQ03
//!   and DQ06 (`evaluate` keys those on the ID number alone).
//! - The roster gets only recoverable mess (it is the bureau's own data).

mod mess;
mod names;
mod plant;
mod populate;
mod tables;
mod truth;
mod world;
mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use mess::MessRates;
pub use plant::Plant;
pub use truth::TruthFinding;
pub use write::FileMeta;

use mess::{Corruption, Known, Resolution};
use tables::{EXTRACTS, Extract};
use world::{District, Sizes, World};
use write::Decisions;

/// How big a county to generate.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// A few hundred rows per extract (fixtures).
    Tiny,
    /// About 4,000 roster persons.
    Small,
    /// About 30,000 roster persons in a population of 600,000.
    County,
    /// Ten times a county.
    City,
}

impl FromStr for Scale {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tiny" => Ok(Scale::Tiny),
            "small" => Ok(Scale::Small),
            "county" => Ok(Scale::County),
            "city" => Ok(Scale::City),
            other => Err(format!(
                "unknown scale `{other}` (tiny, small, county, city)"
            )),
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scale::Tiny => "tiny",
            Scale::Small => "small",
            Scale::County => "county",
            Scale::City => "city",
        })
    }
}

impl Scale {
    fn sizes(self) -> Sizes {
        match self {
            Scale::Tiny => Sizes {
                population: 150,
                roster_persons: 45,
                townships: 3,
                planted_positive: 2,
                planted_near_miss: 1,
                districts: 1,
            },
            Scale::Small => Sizes {
                population: 40_000,
                roster_persons: 4_000,
                townships: 8,
                planted_positive: 20,
                planted_near_miss: 10,
                districts: 1,
            },
            Scale::County => Sizes {
                population: 600_000,
                roster_persons: 30_000,
                townships: 16,
                planted_positive: 40,
                planted_near_miss: 20,
                districts: 1,
            },
            // Ten county-sized districts, streamed to disk one after another.
            Scale::City => Sizes {
                districts: 10,
                ..Scale::County.sizes()
            },
        }
    }
}

/// Options of `hedui generate`.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub scale: Scale,
    pub seed: u64,
    pub as_of: NaiveDate,
    pub out: PathBuf,
}

/// What was generated; also written as OUT/truth/meta.json.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GenerateSummary {
    pub seed: u64,
    pub scale: Scale,
    #[serde(serialize_with = "serialize_date")]
    pub as_of: NaiveDate,
    pub persons: usize,
    pub households: usize,
    pub known_persons: usize,
    pub files: Vec<FileMeta>,
    /// Department data rows per extract (incl. duplicates and conflicts).
    pub rows_per_extract: BTreeMap<String, u64>,
    /// Rows that a correct pipeline links / cannot link.
    pub linked_rows: u64,
    pub unlinked_rows: u64,
    pub corruptions: BTreeMap<String, u64>,
    pub findings_per_rule: BTreeMap<String, u64>,
    pub planted_positive: usize,
    pub planted_near_miss: usize,
    pub rates: MessRates,
}

impl fmt::Display for GenerateSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "generated {} county, seed {}, as of {}",
            self.scale, self.seed, self.as_of
        )?;
        writeln!(
            f,
            "  {} persons, {} roster households, {} known to a pipeline",
            self.persons, self.households, self.known_persons
        )?;
        for m in &self.files {
            writeln!(
                f,
                "  {:<36} {:>9} rows  {:?}/{:?}{}",
                m.file,
                m.data_rows,
                m.format,
                m.encoding,
                if m.crlf { " CRLF" } else { "" }
            )?;
        }
        writeln!(
            f,
            "  links: {} resolvable, {} not",
            self.linked_rows, self.unlinked_rows
        )?;
        let rules: Vec<String> = self
            .findings_per_rule
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        writeln!(f, "  findings: {}", rules.join(", "))?;
        write!(
            f,
            "  planted: {} positive, {} near-miss",
            self.planted_positive, self.planted_near_miss
        )
    }
}

fn serialize_date<S: serde::Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.format("%Y-%m-%d").to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("CSV writing failed: {0}")]
    Csv(String),
    #[error("XLSX writing failed: {0}")]
    Xlsx(String),
    /// OUT/input holds extracts that no earlier `generate` wrote there (no
    /// OUT/truth/meta.json): perhaps real ones, which would be replaced.
    #[error(
        "{folder} 中有提取文件，但不是 hedui generate 写出的（没有 truth/meta.json）：\
         不会覆盖，请换一个输出目录 / {folder} holds extracts that hedui generate \
         did not write (no truth/meta.json beside them): not replaced; choose another --out"
    )]
    NotGenerated { folder: String },
}

impl GenerateError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> GenerateError {
        GenerateError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn csv(e: csv::Error) -> GenerateError {
        GenerateError::Csv(e.to_string())
    }
    pub(crate) fn xlsx(e: rust_xlsxwriter::XlsxError) -> GenerateError {
        GenerateError::Xlsx(e.to_string())
    }
}

/// Generate with the default mess rates.
pub fn generate(opts: &GenerateOptions) -> Result<GenerateSummary, GenerateError> {
    generate_with(opts, &MessRates::default())
}

/// Generate with explicit mess rates.
pub fn generate_with(
    opts: &GenerateOptions,
    rates: &MessRates,
) -> Result<GenerateSummary, GenerateError> {
    generate_sized(opts, rates, opts.scale.sizes())
}

/// One district's world with its plants, row decisions and resolutions.
struct DistrictWorld {
    world: World,
    plants: Vec<Plant>,
    decisions: Decisions,
    known_persons: usize,
}

fn build_district(
    opts: &GenerateOptions,
    rates: &MessRates,
    sizes: Sizes,
    district: District,
    book: &names::NameBook,
) -> DistrictWorld {
    // District 0 (the whole county) uses the seed as given.
    let seed = opts.seed ^ (district.index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut world = World::new(opts.as_of, sizes, district, book, &mut rng);
    populate::populate(&mut world, book, &mut rng, sizes);
    let mut plant_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x706c_616e_7400);
    let mut planter = plant::Planter {
        world: &mut world,
        book,
        rng: &mut plant_rng,
        plants: Vec::new(),
        forced: BTreeMap::new(),
    };
    planter.plant_all(sizes.planted_positive, sizes.planted_near_miss);
    let plants = std::mem::take(&mut planter.plants);
    let forced = std::mem::take(&mut planter.forced);
    let mut mess_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6d65_7373_0000);
    let mut decisions = decide(&world, book, rates, &forced, &mut mess_rng);
    let known = known_persons(&world, &decisions);
    decisions.resolution = EXTRACTS
        .iter()
        .map(|&e| {
            (0..e.len(&world))
                .map(|i| {
                    let c = decisions.corruption[e as usize][i];
                    let raw = decisions.raw[e as usize].get(&i).map(String::as_str);
                    known.resolve(&world, e.person(&world, i), c, raw, e == Extract::Education)
                })
                .collect()
        })
        .collect();
    DistrictWorld {
        world,
        plants,
        decisions,
        known_persons: known.len(),
    }
}

/// Generate with explicit sizes: one world at a time (a city's districts are
/// built, written and dropped in turn, so only one is ever in memory).
fn generate_sized(
    opts: &GenerateOptions,
    rates: &MessRates,
    sizes: Sizes,
) -> Result<GenerateSummary, GenerateError> {
    let book = names::NameBook::load();
    let input = opts.out.join("input");
    let truth_dir = opts.out.join("truth");
    let stale = if input.is_dir() {
        extracts_in(&input)?
    } else {
        Vec::new()
    };
    if !stale.is_empty() && !truth_dir.join("meta.json").is_file() {
        return Err(GenerateError::NotGenerated {
            folder: input.display().to_string(),
        });
    }
    for d in [&input, &truth_dir] {
        std::fs::create_dir_all(d).map_err(|e| GenerateError::io(d, e))?;
    }
    for path in stale {
        std::fs::remove_file(&path).map_err(|e| GenerateError::io(&path, e))?;
    }
    let links_path = truth_dir.join("links.csv");
    let mut links = csv::Writer::from_path(&links_path).map_err(GenerateError::csv)?;
    links
        .write_record(["extract", "file", "row", "person_id", "corruption"])
        .map_err(GenerateError::csv)?;
    let mut findings: BTreeSet<TruthFinding> = BTreeSet::new();
    let mut corruptions: BTreeMap<String, u64> = BTreeMap::new();
    let (mut linked_rows, mut unlinked_rows) = (0u64, 0u64);
    let (mut persons, mut households, mut known_persons) = (0, 0, 0);
    let mut all_plants: Vec<Plant> = Vec::new();
    let mut writers: Vec<write::ExtractWriter> = Vec::new();
    let mut write_rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x7772_6974_6500);
    for index in 0..sizes.districts {
        let district = District {
            index,
            count: sizes.districts,
        };
        let DistrictWorld {
            world,
            mut plants,
            decisions,
            known_persons: known,
        } = build_district(opts, rates, sizes, district, &book);
        let planted_rows: BTreeMap<(Extract, usize), usize> = plants
            .iter()
            .enumerate()
            .filter_map(|(k, p)| p.record.map(|r| (r, k)))
            .collect();
        let mut planted_locations: BTreeMap<usize, (String, String)> = BTreeMap::new();
        for &extract in &EXTRACTS {
            let mut link = |row: write::LinkRow<'_>| -> Result<(), GenerateError> {
                let e = row.extract as usize;
                let p = row.extract.person(&world, row.record);
                let resolution = decisions.resolution[e][row.record];
                let id = &world.persons[p].id;
                let person_id = if resolution == Resolution::Unresolved {
                    ""
                } else {
                    id.as_str()
                };
                if person_id.is_empty() {
                    unlinked_rows += 1;
                } else {
                    linked_rows += 1;
                }
                *corruptions
                    .entry(row.corruption.label().to_string())
                    .or_default() += 1;
                if let Some(&k) = planted_rows.get(&(row.extract, row.record)) {
                    planted_locations
                        .entry(k)
                        .or_insert_with(|| (row.file.to_string(), row.row.to_string()));
                }
                let finding = |rule: &str, id_number: &str, file: &str, r: &str| TruthFinding {
                    rule: rule.to_string(),
                    household_id: String::new(),
                    id_number: id_number.to_string(),
                    file: file.to_string(),
                    row: r.to_string(),
                };
                // A chance repeat of an earlier row is hedui's exact
                // duplicate: counted once, with its twin, so no DQ01/DQ04
                // of its own (its DQ03, keyed on the ID, is the twin's).
                let own_row = !row.repeats_earlier;
                match (row.corruption, resolution) {
                    (Corruption::Sci, _) if own_row => {
                        findings.insert(finding("DQ04", "", row.file, row.row));
                    }
                    (Corruption::TypoDigit | Corruption::Swap, Resolution::Repaired) => {
                        findings.insert(finding("DQ03", id, "", ""));
                    }
                    (Corruption::TypoDigit | Corruption::Swap, _) if own_row => {
                        findings.insert(finding("DQ01", "", row.file, row.row));
                    }
                    (Corruption::Empty | Corruption::Placeholder, Resolution::Unresolved)
                        if own_row =>
                    {
                        findings.insert(finding("DQ01", "", row.file, row.row));
                    }
                    (Corruption::OtherName, _) => {
                        findings.insert(finding("DQ02", id, "", ""));
                    }
                    _ => {}
                }
                links
                    .write_record([
                        row.extract.name(),
                        row.file,
                        row.row,
                        person_id,
                        row.corruption.label(),
                    ])
                    .map_err(GenerateError::csv)
            };
            if writers.len() <= extract as usize {
                let n = extract.len(&world);
                let allow_xlsx = sizes.districts == 1;
                writers.push(write::ExtractWriter::open(
                    extract,
                    opts.as_of,
                    n,
                    allow_xlsx,
                    rates,
                    &mut write_rng,
                    &input,
                )?);
            }
            writers[extract as usize].write_rows(
                &world,
                &book,
                &decisions,
                rates,
                &mut write_rng,
                &mut link,
            )?;
        }
        for (k, (file, row)) in planted_locations {
            plants[k].file = file;
            plants[k].row = row;
        }
        let visible = visibility(&world, &decisions);
        findings.extend(truth::rule_findings(&world, &visible));
        persons += world.persons.len();
        households += world.households.len();
        known_persons += known;
        all_plants.extend(plants);
    }
    links
        .flush()
        .map_err(|e| GenerateError::io(&links_path, e))?;
    let files = writers
        .into_iter()
        .map(write::ExtractWriter::finish)
        .collect::<Result<Vec<_>, _>>()?;
    let plants = all_plants;
    write_findings(&truth_dir.join("findings.csv"), &findings)?;
    write_plants(&truth_dir.join("plants.csv"), &plants)?;

    let mut findings_per_rule: BTreeMap<String, u64> = BTreeMap::new();
    for f in &findings {
        *findings_per_rule.entry(f.rule.clone()).or_default() += 1;
    }
    let mut rows_per_extract = BTreeMap::new();
    for m in &files {
        rows_per_extract.insert(m.extract.to_string(), m.data_rows);
    }
    let summary = GenerateSummary {
        seed: opts.seed,
        scale: opts.scale,
        as_of: opts.as_of,
        persons,
        households,
        known_persons,
        files,
        rows_per_extract,
        linked_rows,
        unlinked_rows,
        corruptions,
        findings_per_rule,
        planted_positive: plants.iter().filter(|p| p.positive).count(),
        planted_near_miss: plants.iter().filter(|p| !p.positive).count(),
        rates: rates.clone(),
    };
    let meta_path = truth_dir.join("meta.json");
    let json = serde_json::to_string_pretty(&summary).expect("serialisable");
    std::fs::write(&meta_path, json + "\n").map_err(|e| GenerateError::io(&meta_path, e))?;
    Ok(summary)
}

/// The extracts in OUT/input, named as this generator names them: those an
/// earlier run left are removed (their format may differ from this run's,
/// and a pipeline would read both). Other files are kept.
fn extracts_in(input: &Path) -> Result<Vec<PathBuf>, GenerateError> {
    let entries = std::fs::read_dir(input).map_err(|e| GenerateError::io(input, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| GenerateError::io(input, e))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let ours = EXTRACTS
            .iter()
            .any(|e| name.starts_with(&format!("{}_", e.name())))
            && [".csv", ".tsv", ".xlsx"]
                .iter()
                .any(|ext| name.ends_with(ext));
        if ours {
            found.push(path);
        }
    }
    Ok(found)
}

/// Pick each department row's corruption (the roster only gets recoverable mess).
fn decide(
    world: &World,
    book: &names::NameBook,
    rates: &MessRates,
    forced: &BTreeMap<(Extract, usize), Corruption>,
    rng: &mut ChaCha8Rng,
) -> Decisions {
    let mut corruption = Vec::new();
    let mut raw = Vec::new();
    for &e in &EXTRACTS {
        let mut cs = Vec::with_capacity(e.len(world));
        let mut raws = BTreeMap::new();
        for i in 0..e.len(world) {
            let p = e.person(world, i);
            let mut c = forced
                .get(&(e, i))
                .copied()
                .unwrap_or_else(|| mess::choose(world, book, p, rates, rng));
            if e == Extract::Roster && (c.destroys_id() || c == Corruption::OtherName) {
                c = Corruption::None;
            }
            if e == Extract::Education && world.education[i].id_empty {
                c = Corruption::Empty;
            }
            if matches!(
                c,
                Corruption::TypoDigit | Corruption::Swap | Corruption::Sci
            ) {
                raws.insert(i, mess::destroy_id(&world.persons[p].id, c, rng));
            }
            cs.push(c);
        }
        corruption.push(cs);
        raw.push(raws);
    }
    // An ID number seen only under another person's name cannot be told from
    // its owner by any pipeline: other_name (DQ02) needs the owner's own name
    // on the same number somewhere else.
    let mut own_name_rows: BTreeMap<usize, usize> = BTreeMap::new();
    for &e in &EXTRACTS {
        for (i, c) in corruption[e as usize].iter().enumerate() {
            if !c.destroys_id() && *c != Corruption::OtherName {
                *own_name_rows.entry(e.person(world, i)).or_default() += 1;
            }
        }
    }
    for h in &world.households {
        *own_name_rows.entry(h.head).or_default() += 1;
    }
    for g in world.education.iter().filter_map(|ed| ed.guardian) {
        *own_name_rows.entry(g).or_default() += 1;
    }
    for &e in &EXTRACTS {
        for (i, c) in corruption[e as usize].iter_mut().enumerate() {
            if *c == Corruption::OtherName && !own_name_rows.contains_key(&e.person(world, i)) {
                *c = Corruption::None;
            }
        }
    }
    Decisions {
        corruption,
        raw,
        resolution: Vec::new(),
    }
}

/// Known persons: every valid or upgraded ID number in any ID column of any extract.
fn known_persons(world: &World, d: &Decisions) -> Known {
    let mut persons: BTreeMap<usize, ()> = BTreeMap::new();
    for &e in &EXTRACTS {
        for i in 0..e.len(world) {
            if !d.corruption[e as usize][i].destroys_id() {
                persons.insert(e.person(world, i), ());
            }
        }
    }
    for h in &world.households {
        persons.insert(h.head, ());
    }
    for ed in &world.education {
        if let Some(g) = ed.guardian {
            persons.insert(g, ());
        }
    }
    Known::new(world, &persons)
}

fn visibility(world: &World, d: &Decisions) -> truth::Visible {
    let v = |e: Extract| {
        d.resolution[e as usize]
            .iter()
            .map(|r| *r != Resolution::Unresolved)
            .collect()
    };
    truth::Visible {
        education: v(Extract::Education),
        enrollment: v(Extract::MedicalEnrollment),
        settlement: v(Extract::MedicalSettlement),
        property: v(Extract::Property),
        housing: v(Extract::HousingSafety),
        contribution: v(Extract::Contribution),
        unemployment: v(Extract::Unemployment),
        pension: v(Extract::Pension),
    }
    .check(world)
}

impl truth::Visible {
    fn check(self, world: &World) -> Self {
        debug_assert_eq!(self.settlement.len(), world.settlement.len());
        self
    }
}

fn write_findings(path: &Path, findings: &BTreeSet<TruthFinding>) -> Result<(), GenerateError> {
    let mut w = csv::Writer::from_path(path).map_err(GenerateError::csv)?;
    w.write_record(["rule", "household_id", "id_number", "file", "row"])
        .map_err(GenerateError::csv)?;
    for f in findings {
        w.write_record([&f.rule, &f.household_id, &f.id_number, &f.file, &f.row])
            .map_err(GenerateError::csv)?;
    }
    w.flush().map_err(|e| GenerateError::io(path, e))
}

fn write_plants(path: &Path, plants: &[Plant]) -> Result<(), GenerateError> {
    let mut w = csv::Writer::from_path(path).map_err(GenerateError::csv)?;
    w.write_record([
        "rule",
        "household_id",
        "id_number",
        "file",
        "row",
        "expected",
        "what",
    ])
    .map_err(GenerateError::csv)?;
    for p in plants {
        let expected = if p.positive { "fires" } else { "near_miss" };
        w.write_record([
            p.rule,
            &p.household_id,
            &p.id_number,
            &p.file,
            &p.row,
            expected,
            p.what,
        ])
        .map_err(GenerateError::csv)?;
    }
    w.flush().map_err(|e| GenerateError::io(path, e))
}

#[cfg(test)]
mod tests;
