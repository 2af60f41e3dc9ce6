//! Pure normalisers for the values that arrive messy: ID numbers (GB 11643),
//! names, dates and money. No I/O; every function is unit-tested against the
//! mess catalogue of spec/extracts.md.

pub mod date;
pub mod id;
pub mod money;
pub mod name;
pub mod text;

/// Why a required non-ID value (a date, a period, an amount, a count) could
/// not be parsed. A row carrying one is rejected with `code` as its reason, so
/// the code is stable and machine-readable while the message is for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// Stable reason code: `bad_date`, `bad_period`, `bad_money`, `bad_number`.
    pub code: &'static str,
    /// Chinese message for the rejects file; quotes at most 20 characters of
    /// the raw value so that no long (possibly personal) text is echoed.
    pub message: String,
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ValueError {}
