//! How much memory a run may use: what `[engine] tables = "auto"` weighs
//! a batch against, so that a batch the machine cannot hold goes to disk
//! rather than being killed for lack of memory halfway through the night.

use std::path::{Path, PathBuf};

/// A run with its tables in memory peaks at about this many bytes per byte
/// of input, taken a little higher than measured: a county's 524 MB of CSV
/// (the settlement file GB18030) peaked at 4.8–5.5 GB, 9–10.5 ×
/// (BENCHMARKS.md, sessions 17 and 18). An XLSX or Parquet file is
/// compressed and holds more rows than its size says.
pub const PEAK_PER_INPUT_BYTE: u64 = 11;

/// The memory a run of `input_bytes` needs with its tables in memory, about.
pub fn in_memory_peak(input_bytes: u64) -> u64 {
    input_bytes.saturating_mul(PEAK_PER_INPUT_BYTE)
}

/// Transparent huge pages on or off for this process's future memory,
/// unless `MIMALLOC_ALLOW_THP` in the environment (the allocator's own
/// switch: `0` forbids them, any other value allows) has already decided.
/// mimalloc asks for huge pages on its arenas, and the kernel zeroes two
/// megabytes at the first touch of each, whatever part is used. Off, a
/// county (tables in memory) ran 0.6–3 s faster in 9 of 10 pairs, its
/// system time 2.0–4.0 s instead of 5.2–7.5 s, with 6 % less peak memory
/// (an hour later, with the host's cost of a fresh page lower, the same
/// as on); on, a city (tables on disk, hash tables of gigabytes) ran
/// 220 s instead of 264 s (BENCHMARKS.md, session 43). So they are off
/// from the start and a run turns them back on when its tables go to
/// disk. Where the kernel refuses (not Linux, an old kernel), nothing
/// changes. Returns whether the process now has them, as the kernel says
/// (`None`: it cannot tell).
pub fn huge_pages(on: bool) -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            let _ = rustix::thread::disable_transparent_huge_pages(!on);
        }
        rustix::thread::transparent_huge_pages_are_disabled()
            .ok()
            .map(|off| !off)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = on;
        None
    }
}

/// Bytes this process may still take: the system's available memory
/// (`MemAvailable`), or less when a control group it is in (a container's,
/// a systemd unit's `MemoryMax=`, any group above them) limits it. `None`
/// when neither can be read (not Linux): then only the size threshold
/// decides.
pub fn available() -> Option<u64> {
    let system = read("/proc/meminfo").and_then(|m| mem_available(&m));
    let group = read("/proc/self/cgroup").and_then(|text| {
        let unified = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            Path::new("/sys/fs/cgroup")
        } else {
            Path::new("/sys/fs/cgroup/unified")
        };
        let roots = Roots {
            unified,
            memory_v1: Path::new("/sys/fs/cgroup/memory"),
        };
        group_dirs(&text, &roots)
            .iter()
            .filter_map(|(dir, version)| room_in(dir, *version))
            .min()
    });
    match (system, group) {
        (Some(s), Some(g)) => Some(s.min(g)),
        (s, g) => s.or(g),
    }
}

fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// `MemAvailable` of a `/proc/meminfo` text, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?;
    let kb: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// Which files a control group folder keeps its memory figures in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    /// cgroup v2: memory.max, memory.current, `inactive_file` in memory.stat.
    Two,
    /// cgroup v1's memory controller: memory.limit_in_bytes,
    /// memory.usage_in_bytes, `total_inactive_file` in memory.stat.
    One,
}

/// Where the control group hierarchies are mounted.
struct Roots<'a> {
    unified: &'a Path,
    memory_v1: &'a Path,
}

/// The folders of the control groups a process is in (`/proc/self/cgroup`),
/// each from its own group up to the hierarchy's root: a limit may sit on
/// any of them.
fn group_dirs(proc_self_cgroup: &str, roots: &Roots<'_>) -> Vec<(PathBuf, Version)> {
    let mut dirs = Vec::new();
    for line in proc_self_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (root, version) = if controllers.is_empty() {
            (roots.unified, Version::Two)
        } else if controllers.split(',').any(|c| c == "memory") {
            (roots.memory_v1, Version::One)
        } else {
            continue;
        };
        // A path with `..` is a group outside this namespace's view: its
        // folder is not here to read (the system's figure decides).
        if path.split('/').any(|p| p == "..") {
            continue;
        }
        let mut dir = root.to_path_buf();
        let mut chain = vec![dir.clone()];
        for part in path.split('/').filter(|p| !p.is_empty()) {
            dir.push(part);
            chain.push(dir.clone());
        }
        dirs.extend(chain.into_iter().rev().map(|d| (d, version)));
    }
    dirs
}

/// The room left under the memory limit of one control group folder, or
/// `None` when it has none (or no such files). Page cache the kernel can
/// drop (inactive file pages) is not counted as used: a long-lived
/// container's usage sits near its limit after enough file reads.
fn room_in(dir: &Path, version: Version) -> Option<u64> {
    let (limit, usage, inactive) = match version {
        Version::Two => ("memory.max", "memory.current", "inactive_file"),
        Version::One => (
            "memory.limit_in_bytes",
            "memory.usage_in_bytes",
            "total_inactive_file",
        ),
    };
    let stat = read(dir.join("memory.stat"));
    room(
        &read(dir.join(limit))?,
        &read(dir.join(usage))?,
        stat.as_deref().and_then(|s| stat_value(s, inactive)),
    )
}

/// `limit - (usage - reclaimable)`, or `None` when the limit is none: v2
/// writes `max`, v1 a number near 2^63.
fn room(limit: &str, usage: &str, reclaimable: Option<u64>) -> Option<u64> {
    let limit: u64 = limit.trim().parse().ok()?;
    if limit >= 1 << 60 {
        return None;
    }
    let usage: u64 = usage.trim().parse().ok()?;
    let used = usage.saturating_sub(reclaimable.unwrap_or(0));
    Some(limit.saturating_sub(used))
}

/// The value of `key` in a memory.stat text (`key value` lines).
fn stat_value(stat: &str, key: &str) -> Option<u64> {
    stat.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
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
        assert_eq!(room("max\n", "1000\n", None), None);
        assert_eq!(room("9223372036854771712\n", "1000\n", None), None);
        assert_eq!(room("8589934592\n", "1073741824\n", None), Some(7 << 30));
        assert_eq!(room("100\n", "200\n", None), Some(0));
        // Page cache that can be dropped is room.
        assert_eq!(
            room("8589934592\n", "8000000000\n", Some(7_000_000_000)),
            Some(8_589_934_592 - 1_000_000_000)
        );
    }

    #[test]
    fn memory_stat_values_are_found_by_key() {
        let stat = "anon 123\nfile 456\ninactive_file 789\nactive_file 1\n";
        assert_eq!(stat_value(stat, "inactive_file"), Some(789));
        assert_eq!(stat_value(stat, "total_inactive_file"), None);
    }

    #[test]
    fn each_group_is_looked_at_up_to_its_root() {
        let roots = Roots {
            unified: Path::new("/u"),
            memory_v1: Path::new("/m"),
        };
        // cgroup v2 only.
        assert_eq!(
            group_dirs("0::/system.slice/hedui.service\n", &roots),
            [
                (PathBuf::from("/u/system.slice/hedui.service"), Version::Two),
                (PathBuf::from("/u/system.slice"), Version::Two),
                (PathBuf::from("/u"), Version::Two),
            ]
        );
        // A hybrid host: v1's memory controller and the unified root.
        let hybrid = "9:name=systemd:/\n4:memory:/process_api/e21a\n3:cpuset:/\n0::/\n";
        assert_eq!(
            group_dirs(hybrid, &roots),
            [
                (PathBuf::from("/m/process_api/e21a"), Version::One),
                (PathBuf::from("/m/process_api"), Version::One),
                (PathBuf::from("/m"), Version::One),
                (PathBuf::from("/u"), Version::Two),
            ]
        );
        assert_eq!(group_dirs("5:cpu,cpuacct:/x\n", &roots), []);
        // Outside the namespace's view: no folder of it is read.
        assert_eq!(group_dirs("0::/../other/x\n", &roots), []);
    }

    #[test]
    fn the_smallest_room_of_a_groups_folders_decides() {
        let root = tempfile::tempdir().unwrap();
        let leaf = root.path().join("a/b");
        std::fs::create_dir_all(&leaf).unwrap();
        let write = |dir: &Path, max: &str, current: &str, inactive: u64| {
            std::fs::write(dir.join("memory.max"), max).unwrap();
            std::fs::write(dir.join("memory.current"), current).unwrap();
            std::fs::write(
                dir.join("memory.stat"),
                format!("anon 1\ninactive_file {inactive}\n"),
            )
            .unwrap();
        };
        write(&leaf, "max\n", "5000\n", 0);
        write(&root.path().join("a"), "10000\n", "6000\n", 2000);
        let roots = Roots {
            unified: root.path(),
            memory_v1: Path::new("/nonexistent"),
        };
        let rooms: Vec<Option<u64>> = group_dirs("0::/a/b\n", &roots)
            .iter()
            .map(|(d, v)| room_in(d, *v))
            .collect();
        assert_eq!(rooms, [None, Some(6000), None]);
    }

    #[test]
    fn this_machine_says_how_much_is_available() {
        if Path::new("/proc/meminfo").exists() {
            assert!(available().is_some());
        }
    }
}
