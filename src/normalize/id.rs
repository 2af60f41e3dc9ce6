//! Resident ID numbers per GB 11643-1999 (ISO 7064 MOD 11-2 check character).

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// The check character of a 17-digit body, or `None` when the body is not
/// 17 ASCII digits.
pub fn check_char(body17: &[u8]) -> Option<u8> {
    if body17.len() != 17 || !body17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = body17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(CHECK_CHARS[(sum % 11) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_char_of_known_numbers() {
        assert_eq!(check_char(b"61010419620927690"), Some(b'8'));
        assert_eq!(check_char(b"33010219200403064"), Some(b'X'));
        assert_eq!(check_char(b"3301021920040306"), None);
    }
}
