//! How much memory a run may use: what `[engine] tables = "auto"` weighs
//! a batch against, so that a batch the machine cannot hold goes to disk
//! rather than being killed for lack of memory halfway through the night.

use std::path::Path;

/// A run with its tables in memory peaks at about this many bytes per byte
/// of input: a county's 524 MB peaked at 4.8–5.4 GB (BENCHMARKS.md), taken
/// a little higher.
pub const PEAK_PER_INPUT_BYTE: u64 = 11;

/// The memory a run of `input_bytes` needs with its tables in memory, about.
pub fn in_memory_peak(input_bytes: u64) -> u64 {
    input_bytes.saturating_mul(PEAK_PER_INPUT_BYTE)
}

/// Bytes this process may still take: the system's available memory
/// (`MemAvailable`), or less when a control group (a container, a systemd
/// unit with `MemoryMax=`) limits it. `None` when neither can be read (not
/// Linux): then only the size threshold decides.
pub fn available() -> Option<u64> {
    let read = |p: &str| std::fs::read_to_string(Path::new(p)).ok();
    let system = read("/proc/meminfo").and_then(|m| mem_available(&m));
    let group = match (
        read("/sys/fs/cgroup/memory.max"),
        read("/sys/fs/cgroup/memory.current"),
    ) {
        (Some(max), Some(current)) => group_room(&max, &current),
        _ => None,
    };
    match (system, group) {
        (Some(s), Some(g)) => Some(s.min(g)),
        (s, g) => s.or(g),
    }
}

/// `MemAvailable` of a `/proc/meminfo` text, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?;
    let kb: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// The room left under a cgroup v2 limit (`memory.max`, `max` when there is
/// none) given its use (`memory.current`).
fn group_room(max: &str, current: &str) -> Option<u64> {
    let max: u64 = max.trim().parse().ok()?;
    let current: u64 = current.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_available_is_read_in_bytes() {
        let meminfo = "MemTotal:       24555480 kB\nMemFree:        16864372 kB\n\
                       MemAvailable:   24109520 kB\nBuffers:          123 kB\n";
        assert_eq!(mem_available(meminfo), Some(24_109_520 * 1024));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
        assert_eq!(mem_available("MemAvailable: lots\n"), None);
    }

    #[test]
    fn a_control_group_without_a_limit_sets_none() {
        assert_eq!(group_room("max\n", "1000\n"), None);
        assert_eq!(group_room("8589934592\n", "1073741824\n"), Some(7 << 30));
        assert_eq!(group_room("100\n", "200\n"), Some(0));
    }

    #[test]
    fn this_machine_says_how_much_is_available() {
        if cfg!(target_os = "linux") {
            assert!(available().is_some_and(|b| b > 0));
        }
    }
}
