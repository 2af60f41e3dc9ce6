//! Name material for the synthetic county: surnames by frequency, standard
//! given-name characters, minority (transliterated) names, and the two
//! corruption tables (simplified→traditional, same-pinyin homophones). The data
//! files are trimmed copies under `data/` (see data/SOURCES.md), embedded so the
//! binary needs no external files.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

const SURNAMES: &str = include_str!("../../data/gen_surnames.csv");
const NAME_CHARS: &str = include_str!("../../data/gen_name_chars.txt");
const TRADITIONAL: &str = include_str!("../../data/gen_traditional.txt");
const HOMOPHONES: &str = include_str!("../../data/gen_homophones.txt");

/// Parts of transliterated (Uyghur-style) names, joined with `·`.
const MINORITY_PARTS: &[&str] = &[
    "阿不都",
    "买买提",
    "艾力",
    "古丽",
    "热依拉",
    "吐尔逊",
    "努尔",
    "阿依古丽",
    "帕提古丽",
    "麦麦提",
    "伊力哈木",
    "迪丽娜",
    "艾合买提",
    "玉素甫",
    "热合曼",
    "阿卜杜拉",
    "再努尔",
    "米娜",
    "沙吾提",
    "依明",
];

/// The name tables, parsed once per generation.
pub struct NameBook {
    surnames: Vec<String>,
    cumulative: Vec<u64>,
    given: Vec<char>,
    traditional: BTreeMap<char, char>,
    homophones: BTreeMap<char, Vec<char>>,
}

impl NameBook {
    pub fn load() -> NameBook {
        let mut surnames = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0u64;
        for line in SURNAMES.lines().skip(1) {
            let Some((name, freq)) = line.split_once(',') else {
                continue;
            };
            total += freq.trim().parse::<u64>().unwrap_or(1).max(1);
            surnames.push(name.to_string());
            cumulative.push(total);
        }
        let data_lines = |text: &'static str| {
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        };
        let given = data_lines(NAME_CHARS)
            .filter_map(|l| l.chars().next())
            .collect();
        let traditional = data_lines(TRADITIONAL)
            .filter_map(|l| {
                let mut c = l.split('\t');
                Some((c.next()?.chars().next()?, c.next()?.chars().next()?))
            })
            .collect();
        let homophones = data_lines(HOMOPHONES)
            .filter_map(|l| {
                let (k, v) = l.split_once('\t')?;
                Some((k.chars().next()?, v.chars().collect()))
            })
            .collect();
        NameBook {
            surnames,
            cumulative,
            given,
            traditional,
            homophones,
        }
    }

    /// A Han name: surname by frequency, one or two given characters.
    pub fn han_name(&self, rng: &mut ChaCha8Rng) -> String {
        let total = *self.cumulative.last().expect("surnames");
        let pick = rng.random_range(0..total);
        let i = self.cumulative.partition_point(|&c| c <= pick);
        let mut name = self.surnames[i].clone();
        let n = if rng.random_bool(0.75) { 2 } else { 1 };
        for _ in 0..n {
            name.push(self.given[rng.random_range(0..self.given.len())]);
        }
        name
    }

    /// The surname of a Han name: a compound surname when the name starts with one.
    pub fn surname_of(&self, name: &str) -> String {
        let two: String = name.chars().take(2).collect();
        if two.chars().count() == 2 && name.chars().count() > 2 && self.surnames.contains(&two) {
            two
        } else {
            name.chars().take(1).collect()
        }
    }

    /// A Han name with the given surname (children take the head's).
    pub fn han_name_with(&self, surname: &str, rng: &mut ChaCha8Rng) -> String {
        let mut name = surname.to_string();
        let n = if rng.random_bool(0.75) { 2 } else { 1 };
        for _ in 0..n {
            name.push(self.given[rng.random_range(0..self.given.len())]);
        }
        name
    }

    /// A transliterated minority name with the standard separator `·`.
    pub fn minority_name(&self, rng: &mut ChaCha8Rng) -> String {
        let a = MINORITY_PARTS[rng.random_range(0..MINORITY_PARTS.len())];
        let mut b = a;
        while b == a {
            b = MINORITY_PARTS[rng.random_range(0..MINORITY_PARTS.len())];
        }
        format!("{a}·{b}")
    }

    /// The name with every character that has a traditional form converted,
    /// or `None` when none has.
    pub fn traditional(&self, name: &str) -> Option<String> {
        let out: String = name
            .chars()
            .map(|c| *self.traditional.get(&c).unwrap_or(&c))
            .collect();
        (out != name).then_some(out)
    }

    /// The name with one given-name character replaced by a same-pinyin,
    /// same-tone character, or `None` when no character has one.
    pub fn homophone(&self, name: &str, rng: &mut ChaCha8Rng) -> Option<String> {
        let chars: Vec<char> = name.chars().collect();
        let slots: Vec<usize> = (1..chars.len())
            .filter(|&i| self.homophones.contains_key(&chars[i]))
            .collect();
        if slots.is_empty() {
            return None;
        }
        let i = slots[rng.random_range(0..slots.len())];
        let alts = &self.homophones[&chars[i]];
        let mut out = chars.clone();
        let pick = alts[rng.random_range(0..alts.len())];
        // Only what a typist types for a character by its sound, as the
        // resolution judges a homophone (the table's pairs include
        // readings only a dictionary gives: 丘 and 龟 by 龟兹's qiū): the
        // first of the others that is, else the character as it was. The
        // draws stay as they were, so that a seed makes the same county.
        let alike = |a: char| crate::normalize::name::sound_alike(chars[i], a);
        out[i] = if alike(pick) {
            pick
        } else {
            alts.iter().copied().find(|&a| alike(a)).unwrap_or(chars[i])
        };
        Some(out.into_iter().collect())
    }
}

/// Townships and villages: names built from given-name characters.
pub fn place_name(book: &NameBook, rng: &mut ChaCha8Rng, suffix: &str) -> String {
    let a = book.given[rng.random_range(0..book.given.len())];
    let b = book.given[rng.random_range(0..book.given.len())];
    format!("{a}{b}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn tables_load_and_corrupt() {
        let book = NameBook::load();
        assert!(book.surnames.len() > 300 && book.given.len() > 200);
        assert_eq!(book.traditional("张伟").as_deref(), Some("張偉"));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let h = book.homophone("王小明", &mut rng).unwrap();
        assert_ne!(h, "王小明");
        assert!(h.starts_with('王'));
        assert!(book.minority_name(&mut rng).contains('·'));
    }
}
