//! The mess a county receives: which ID/name corruption each department row
//! gets, how each corrupted value looks, and — the crux of the truth — whether
//! a correct pipeline can still resolve the row to its person without guessing.

use std::collections::{BTreeMap, HashMap, HashSet};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::names::NameBook;
use super::world::World;
use crate::normalize::id::check_char;

/// What was done to a row's ID number or name (one thing per row at most).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Corruption {
    None,
    LowerX,
    Fullwidth,
    Spaces,
    Hyphens,
    Apostrophe,
    Tab,
    Legacy15,
    TypoDigit,
    Swap,
    Sci,
    Empty,
    Placeholder,
    Traditional,
    NameSpaces,
    Separator,
    Homophone,
    Annotation,
    OtherName,
}

impl Corruption {
    pub fn label(self) -> &'static str {
        match self {
            Corruption::None => "none",
            Corruption::LowerX => "lower_x",
            Corruption::Fullwidth => "fullwidth",
            Corruption::Spaces => "spaces",
            Corruption::Hyphens => "hyphens",
            Corruption::Apostrophe => "apostrophe",
            Corruption::Tab => "tab",
            Corruption::Legacy15 => "legacy15",
            Corruption::TypoDigit => "typo_digit",
            Corruption::Swap => "swap",
            Corruption::Sci => "sci",
            Corruption::Empty => "empty",
            Corruption::Placeholder => "placeholder",
            Corruption::Traditional => "traditional",
            Corruption::NameSpaces => "name_spaces",
            Corruption::Separator => "separator",
            Corruption::Homophone => "homophone",
            Corruption::Annotation => "annotation",
            Corruption::OtherName => "other_name",
        }
    }

    /// The ID number can no longer be read as it stands (needs repair, or is gone).
    pub fn destroys_id(self) -> bool {
        matches!(
            self,
            Corruption::TypoDigit
                | Corruption::Swap
                | Corruption::Sci
                | Corruption::Empty
                | Corruption::Placeholder
        )
    }
}

/// Rates of the mess catalogue, each per row (or per file where noted).
#[derive(Debug, Clone, serde::Serialize)]
pub struct MessRates {
    pub lower_x: f64,
    pub fullwidth: f64,
    pub spaces: f64,
    pub hyphens: f64,
    pub apostrophe: f64,
    pub tab: f64,
    pub legacy15: f64,
    pub typo_digit: f64,
    pub swap: f64,
    pub sci: f64,
    pub empty: f64,
    pub placeholder: f64,
    pub traditional: f64,
    pub name_spaces: f64,
    /// Per row of a minority name.
    pub separator: f64,
    pub homophone: f64,
    pub annotation: f64,
    /// Another person's name on a valid ID number (DQ02).
    pub other_name: f64,
    pub date_variant: f64,
    pub money_variant: f64,
    pub duplicate: f64,
    pub conflict: f64,
    /// Per file.
    pub repeated_header: f64,
    pub blank_row: f64,
}

impl Default for MessRates {
    fn default() -> Self {
        MessRates {
            lower_x: 0.3,
            fullwidth: 0.01,
            spaces: 0.01,
            hyphens: 0.005,
            apostrophe: 0.01,
            tab: 0.005,
            legacy15: 0.01,
            typo_digit: 0.006,
            swap: 0.006,
            sci: 0.005,
            empty: 0.003,
            placeholder: 0.003,
            traditional: 0.01,
            name_spaces: 0.01,
            separator: 0.3,
            homophone: 0.006,
            annotation: 0.003,
            other_name: 0.0001,
            date_variant: 0.02,
            money_variant: 0.02,
            duplicate: 0.005,
            conflict: 0.003,
            repeated_header: 0.3,
            blank_row: 0.003,
        }
    }
}

/// Pick the corruption of one row of `person`.
pub fn choose(
    world: &World,
    book: &NameBook,
    person: usize,
    rates: &MessRates,
    rng: &mut ChaCha8Rng,
) -> Corruption {
    let p = &world.persons[person];
    let candidates = [
        (Corruption::Fullwidth, rates.fullwidth),
        (Corruption::Spaces, rates.spaces),
        (Corruption::Hyphens, rates.hyphens),
        (Corruption::Apostrophe, rates.apostrophe),
        (Corruption::Tab, rates.tab),
        (Corruption::Legacy15, rates.legacy15),
        (Corruption::TypoDigit, rates.typo_digit),
        (Corruption::Swap, rates.swap),
        (Corruption::Sci, rates.sci),
        (Corruption::Empty, rates.empty),
        (Corruption::Placeholder, rates.placeholder),
        (Corruption::Traditional, rates.traditional),
        (Corruption::NameSpaces, rates.name_spaces),
        (Corruption::Homophone, rates.homophone),
        (Corruption::Annotation, rates.annotation),
        (Corruption::OtherName, rates.other_name),
    ];
    let mut r: f64 = rng.random();
    let mut chosen = Corruption::None;
    for (c, rate) in candidates {
        if r < rate {
            chosen = c;
            break;
        }
        r -= rate;
    }
    if p.protected && (chosen.destroys_id() || chosen == Corruption::OtherName) {
        chosen = Corruption::None;
    }
    let applicable = match chosen {
        Corruption::Legacy15 => p.birth.format("%Y").to_string().starts_with("19"),
        Corruption::Traditional => book.traditional(&p.name).is_some(),
        Corruption::Homophone => !p.minority && book.homophone(&p.name, &mut rng.clone()).is_some(),
        _ => true,
    };
    if !applicable {
        chosen = Corruption::None;
    }
    if chosen == Corruption::None {
        if p.minority && rng.random_bool(rates.separator) {
            return Corruption::Separator;
        }
        if p.id.ends_with('X') && rng.random_bool(rates.lower_x) {
            return Corruption::LowerX;
        }
    }
    chosen
}

/// The raw value of a destroyed ID number (typo, swap, scientific notation),
/// decided once so that resolution and writing see the same string.
pub fn destroy_id(id: &str, c: Corruption, rng: &mut ChaCha8Rng) -> String {
    let b: Vec<u8> = id.bytes().collect();
    match c {
        Corruption::TypoDigit => loop {
            let mut v = b.clone();
            let i = rng.random_range(0..17);
            let d = b'0' + rng.random_range(0..10u8);
            if d == v[i] {
                continue;
            }
            v[i] = d;
            if check_char(&v[..17]) != Some(v[17]) {
                return String::from_utf8(v).expect("ascii");
            }
        },
        Corruption::Swap => {
            for _ in 0..50 {
                let mut v = b.clone();
                // Any neighbouring pair, the check character and the digit
                // before it included (`…10X6` for `…106X`).
                let i = rng.random_range(0..17);
                if v[i] == v[i + 1] {
                    continue;
                }
                v.swap(i, i + 1);
                if check_char(&v[..17]) != Some(v[17]) {
                    return String::from_utf8(v).expect("ascii");
                }
            }
            destroy_id(id, Corruption::TypoDigit, rng)
        }
        Corruption::Sci => {
            let mantissa = format!("{}.{}", &id[0..1], &id[1..6]);
            let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
            format!("{mantissa}E+17")
        }
        _ => String::new(),
    }
}

/// Every 18-character string one substitution or one adjacent transposition away.
pub fn one_edit_neighbours(raw: &str) -> Vec<String> {
    let b: Vec<u8> = raw.bytes().collect();
    let mut out = Vec::new();
    if b.len() != 18 {
        return out;
    }
    for i in 0..18 {
        let alphabet: &[u8] = if i == 17 {
            b"0123456789X"
        } else {
            b"0123456789"
        };
        for &d in alphabet {
            if d != b[i] {
                let mut v = b.clone();
                v[i] = d;
                out.push(String::from_utf8(v).expect("ascii"));
            }
        }
    }
    for i in 0..17 {
        if b[i] != b[i + 1] {
            let mut v = b.clone();
            v.swap(i, i + 1);
            out.push(String::from_utf8(v).expect("ascii"));
        }
    }
    out
}

fn valid(id: &str) -> bool {
    id.len() == 18 && check_char(&id.as_bytes()[..17]) == Some(id.as_bytes()[17])
}

/// How a row ends up for a correct pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Linked to its person (directly, after normalising, or legacy upgrade).
    Direct,
    /// Linked by repairing a check-character error (DQ03).
    Repaired,
    /// Linked by unique name + birth date (education only).
    NameBirth,
    Unresolved,
}

/// The persons a pipeline can see: every valid or upgraded ID number in any extract.
pub struct Known {
    by_id: HashMap<String, usize>,
    by_name_birth: HashMap<(String, chrono::NaiveDate), Vec<usize>>,
}

impl Known {
    pub fn new(world: &World, persons: &BTreeMap<usize, ()>) -> Known {
        let mut by_id = HashMap::new();
        let mut by_name_birth: HashMap<(String, chrono::NaiveDate), Vec<usize>> = HashMap::new();
        for &p in persons.keys() {
            let person = &world.persons[p];
            by_id.insert(person.id.clone(), p);
            by_name_birth
                .entry((person.name.clone(), person.birth))
                .or_default()
                .push(p);
        }
        Known {
            by_id,
            by_name_birth,
        }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Resolve a row of `person` with corruption `c` and destroyed raw value `raw`.
    pub fn resolve(
        &self,
        world: &World,
        person: usize,
        c: Corruption,
        raw: Option<&str>,
        has_birth_date: bool,
    ) -> Resolution {
        if !c.destroys_id() {
            return Resolution::Direct;
        }
        let name = &world.persons[person].name;
        if let (Corruption::TypoDigit | Corruption::Swap, Some(raw)) = (c, raw) {
            let mut agreeing: HashSet<usize> = HashSet::new();
            for n in one_edit_neighbours(raw) {
                if let Some(&q) = self.by_id.get(&n)
                    && valid(&n)
                    && &world.persons[q].name == name
                {
                    agreeing.insert(q);
                }
            }
            if agreeing.len() == 1 && agreeing.contains(&person) {
                return Resolution::Repaired;
            }
        }
        if has_birth_date {
            let key = (name.clone(), world.persons[person].birth);
            if let Some(v) = self.by_name_birth.get(&key)
                && v.len() == 1
                && v[0] == person
            {
                return Resolution::NameBirth;
            }
        }
        Resolution::Unresolved
    }
}

const FULLWIDTH_DIGITS: [char; 10] = ['０', '１', '２', '３', '４', '５', '６', '７', '８', '９'];

/// The ID number as the department wrote it.
pub fn render_id(id: &str, c: Corruption, raw: Option<&str>, rng: &mut ChaCha8Rng) -> String {
    match c {
        Corruption::LowerX => id.replace('X', "x"),
        Corruption::Fullwidth => id
            .chars()
            .map(|ch| match ch {
                '0'..='9' => FULLWIDTH_DIGITS[(ch as u8 - b'0') as usize],
                'X' => 'Ｘ',
                _ => ch,
            })
            .collect(),
        Corruption::Spaces => {
            if rng.random_bool(0.5) {
                format!("{} {} {}", &id[..6], &id[6..14], &id[14..])
            } else {
                format!(" {id} ")
            }
        }
        Corruption::Hyphens => format!("{}-{}-{}", &id[..6], &id[6..14], &id[14..]),
        Corruption::Apostrophe => format!("'{id}"),
        Corruption::Tab => format!("\t{id}"),
        Corruption::Legacy15 => format!("{}{}", &id[..6], &id[8..17]),
        Corruption::TypoDigit | Corruption::Swap | Corruption::Sci => {
            raw.unwrap_or_default().to_string()
        }
        Corruption::Empty => String::new(),
        Corruption::Placeholder => if rng.random_bool(0.5) { "无" } else { "/" }.to_string(),
        _ => id.to_string(),
    }
}

/// The name as the department wrote it.
pub fn render_name(
    world: &World,
    book: &NameBook,
    person: usize,
    c: Corruption,
    rng: &mut ChaCha8Rng,
) -> String {
    let name = &world.persons[person].name;
    match c {
        Corruption::Traditional => book.traditional(name).unwrap_or_else(|| name.clone()),
        Corruption::NameSpaces => {
            let mut chars: Vec<char> = name.chars().collect();
            match rng.random_range(0..3) {
                0 => {
                    chars.insert(1, ' ');
                    chars.into_iter().collect()
                }
                1 => format!("　{name}"),
                _ => {
                    chars.insert(1, ' ');
                    chars.insert(1, ' ');
                    chars.into_iter().collect()
                }
            }
        }
        Corruption::Separator => {
            let sep = ["•", "・", ".", ""][rng.random_range(0..4)];
            name.replace('·', sep)
        }
        Corruption::Homophone => book.homophone(name, rng).unwrap_or_else(|| name.clone()),
        Corruption::Annotation => {
            let alias = book
                .homophone(name, rng)
                .unwrap_or_else(|| format!("{name}华"));
            format!("{name}（曾用名{alias}）")
        }
        Corruption::OtherName => {
            let mut other = name.clone();
            while &other == name || world.persons.len() < 2 {
                other = world.persons[rng.random_range(0..world.persons.len())]
                    .name
                    .clone();
                if world.persons.len() < 2 {
                    break;
                }
            }
            other
        }
        _ => name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn destroyed_ids_are_invalid_and_one_edit_away() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let id = "11010519491231002X";
        assert!(valid(id));
        for c in [Corruption::TypoDigit, Corruption::Swap] {
            for _ in 0..50 {
                let raw = destroy_id(id, c, &mut rng);
                assert!(!valid(&raw), "{raw}");
                assert!(one_edit_neighbours(&raw).contains(&id.to_string()));
            }
        }
        assert_eq!(
            destroy_id("341122199001011234", Corruption::Sci, &mut rng),
            "3.41122E+17"
        );
        assert_eq!(
            destroy_id("110100199001011234", Corruption::Sci, &mut rng),
            "1.101E+17"
        );
        assert_eq!(
            render_id(id, Corruption::Legacy15, None, &mut rng),
            "110105491231002"
        );
    }
}
