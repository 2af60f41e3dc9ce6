//! The comparison levels of person resolution, in the order they are tried
//! (Splink style: the first level that holds wins and its label explains the
//! link), with their scores. The plans in `plan.rs` take labels and scores from
//! here, so a level is defined in one place.

use crate::engine::{LEVEL_HOMOPHONE, LEVEL_SAME, LEVEL_VARIANT};

/// How a record's ID number was linked to a person: the `method` column of
/// links.csv.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// A valid ID number, written exactly as normalised.
    Exact,
    /// A valid ID number written with noise (full-width digits, spaces,
    /// lower-case x, a leading apostrophe…).
    Normalized,
    /// A 15-digit legacy number upgraded to 18 digits.
    Legacy15,
    /// A wrong check character resolved to the one known person whose ID
    /// differs by one digit or one adjacent swap and whose name agrees.
    Repaired,
    /// No usable ID; the one known person with the same name and birth date
    /// (or, when no one has that name, the one whose name is a likely
    /// homophone typo of it).
    NameBirth,
    /// None of the above.
    Unlinked,
}

impl Method {
    pub const ALL: [Method; 6] = [
        Method::Exact,
        Method::Normalized,
        Method::Legacy15,
        Method::Repaired,
        Method::NameBirth,
        Method::Unlinked,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Method::Exact => "exact",
            Method::Normalized => "normalized",
            Method::Legacy15 => "legacy15",
            Method::Repaired => "repaired",
            Method::NameBirth => "name_birth",
            Method::Unlinked => "unlinked",
        }
    }

    /// The score of a link at this level when the names agree (for
    /// `Repaired`, see [`REPAIRED_SCORES`]).
    pub fn score(self) -> f64 {
        match self {
            Method::Exact => 1.0,
            Method::Normalized => 0.99,
            Method::Legacy15 => 0.97,
            Method::Repaired => REPAIRED_SCORES[0].1,
            Method::NameBirth => 0.8,
            Method::Unlinked => 0.0,
        }
    }
}

/// A link on a valid ID number whose name disagrees with the person's known
/// name: the ID wins (it is the stronger evidence), with this lower score, and
/// the ID number goes to DQ02.
pub const SCORE_NAME_DISAGREES: f64 = 0.6;

/// A name-and-birth-date link whose name is a likely homophone typo of the
/// person's best-known name (no one of that name and birth date known).
pub const SCORE_NAME_BIRTH_HOMOPHONE: f64 = 0.75;

/// Repair scores by how the record's name agrees with the candidate's known
/// name, best first, with the rank the plan uses to pick the best.
pub const REPAIRED_SCORES: [(&str, f64, u8); 3] = [
    (LEVEL_SAME, 0.93, 3),
    (LEVEL_VARIANT, 0.9, 2),
    (LEVEL_HOMOPHONE, 0.85, 1),
];

/// ID statuses from the extract stage (`F_status`).
pub mod status {
    pub const VALID: &str = "valid";
    pub const UPGRADED15: &str = "upgraded15";
    pub const BAD_CHECK: &str = "bad_check";
    pub const SCI_NOTATION: &str = "sci_notation";
    pub const EMPTY: &str = "empty";
    pub const MALFORMED: &str = "malformed";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_fall_with_the_levels() {
        let scores: Vec<f64> = Method::ALL.iter().map(|m| m.score()).collect();
        assert!(scores.windows(2).all(|w| w[0] > w[1]), "{scores:?}");
        assert!(REPAIRED_SCORES.windows(2).all(|w| w[0].1 > w[1].1));
        assert!(REPAIRED_SCORES[2].1 > Method::NameBirth.score());
        assert!(SCORE_NAME_DISAGREES < Method::NameBirth.score());
    }
}
