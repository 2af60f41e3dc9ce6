//! The free-disk check at the start of a run: a run that would fill its
//! disk is stopped before it reads anything, rather than failing an hour
//! in with "No space left on device".

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// The staged outputs take about 1.5 × the input (links.csv the most:
/// county 0.89 GB for 0.55 GB of input, city 8.4 GB for 5.6 GB), in tenths.
const OUTPUT_TENTHS_PER_INPUT: u64 = 15;

/// On disk the work files take about 2.9 × the input at their peak (city:
/// 16 GB for 5.6 GB), in tenths; taken lower, so that a run is refused only
/// when it would surely not fit.
const WORK_TENTHS_PER_INPUT: u64 = 25;

/// What a run of `input_bytes` writes, and where: its staged outputs beside
/// `out`, and on disk its work files in `work`.
pub fn needs(input_bytes: u64, out: &Path, work: Option<&Path>) -> Vec<Need> {
    let mut needs = vec![Need {
        path: out.to_path_buf(),
        what: "输出 / outputs",
        bytes: input_bytes.saturating_mul(OUTPUT_TENTHS_PER_INPUT) / 10,
    }];
    if let Some(work) = work {
        needs.push(Need {
            path: work.to_path_buf(),
            what: "工作文件 / work files",
            bytes: input_bytes.saturating_mul(WORK_TENTHS_PER_INPUT) / 10,
        });
    }
    needs
}

/// Bytes a run will write under `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub path: PathBuf,
    pub what: &'static str,
    pub bytes: u64,
}

/// The file system a path is on and its bytes free for this user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Free {
    pub device: u64,
    pub bytes: u64,
}

/// The file system of `path` (or of its nearest existing folder: a run's
/// output folder may not exist yet) and the bytes free there.
#[cfg(unix)]
pub fn free_at(path: &Path) -> io::Result<Free> {
    let at = path
        .ancestors()
        .find(|p| !p.as_os_str().is_empty() && p.exists())
        .unwrap_or(Path::new("."));
    let stat = rustix::fs::statvfs(at).map_err(io::Error::from)?;
    Ok(Free {
        device: std::os::unix::fs::MetadataExt::dev(&std::fs::metadata(at)?),
        bytes: stat.f_bavail.saturating_mul(stat.f_frsize),
    })
}

/// Elsewhere the free space is not read, and not checked.
#[cfg(not(unix))]
pub fn free_at(_path: &Path) -> io::Result<Free> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// One line per file system that has less free than the `needs` on it
/// together; `free` tells where a path is and what is free there. A path
/// whose free space cannot be read is not checked.
pub fn shortfalls(needs: &[Need], free: impl Fn(&Path) -> io::Result<Free>) -> Vec<String> {
    let mut by_device: BTreeMap<u64, (u64, Vec<&Need>)> = BTreeMap::new();
    for need in needs {
        let Ok(f) = free(&need.path) else {
            continue;
        };
        by_device
            .entry(f.device)
            .or_insert((f.bytes, Vec::new()))
            .1
            .push(need);
    }
    // What is needed rounds up, what is free down, in KB below 100 MB: a
    // shortfall never reads as "needs 1 MB, 1 MB free".
    let size = |b: u64, up: bool| {
        let (unit, name) = if b < 100 << 20 {
            (1 << 10, "KB")
        } else {
            (1 << 20, "MB")
        };
        let n = if up { b.div_ceil(unit) } else { b / unit };
        format!("{n} {name}")
    };
    by_device
        .into_values()
        .filter_map(|(free, needs)| {
            let total: u64 = needs.iter().map(|n| n.bytes).sum();
            (total > free).then(|| {
                let parts: Vec<String> = needs
                    .iter()
                    .map(|n| format!("{} {}（{}）", n.what, size(n.bytes, true), n.path.display()))
                    .collect();
                let (total, free, parts) = (size(total, true), size(free, false), parts.join("; "));
                format!(
                    "磁盘空间不足：本次运行约需 {total}，该磁盘只剩 {free}；请清理磁盘或把 --out / \
                     state_dir 指到更大的磁盘（确知够用时可在配置 [engine] 设 check_free_disk = false）\
                     / not enough free disk: this run needs about {total} where {free} are free: {parts}"
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(table: Vec<(&'static str, u64, u64)>) -> impl Fn(&Path) -> io::Result<Free> {
        move |p: &Path| {
            table
                .iter()
                .find(|(prefix, _, _)| p.starts_with(prefix))
                .map(|&(_, device, bytes)| Free { device, bytes })
                .ok_or_else(|| io::Error::other("no such disk"))
        }
    }

    #[test]
    fn a_run_on_disk_needs_its_outputs_and_its_work_files() {
        let gb = 1u64 << 30;
        let needs = needs(10 * gb, Path::new("/d/out"), Some(Path::new("/s/work")));
        assert_eq!(needs.len(), 2);
        assert_eq!(needs[0].bytes, 15 * gb);
        assert_eq!(needs[1].bytes, 25 * gb);
        assert_eq!(super::needs(gb, Path::new("/d/out"), None).len(), 1);
    }

    #[test]
    fn needs_on_one_disk_are_added_up_and_other_disks_are_checked_apart() {
        let gb = 1u64 << 30;
        let needs = needs(10 * gb, Path::new("/d/out"), Some(Path::new("/s/work")));
        // Two disks, each big enough for its own share.
        assert!(shortfalls(&needs, fake(vec![("/d", 1, 16 * gb), ("/s", 2, 26 * gb)])).is_empty());
        // One disk: 40 GB needed, 39 free.
        let short = shortfalls(&needs, fake(vec![("/d", 1, 39 * gb), ("/s", 1, 39 * gb)]));
        assert_eq!(short.len(), 1, "{short:?}");
        assert!(short[0].contains("磁盘空间不足"), "{}", short[0]);
        assert!(short[0].contains("40960 MB"), "{}", short[0]);
        assert!(short[0].contains("39936 MB"), "{}", short[0]);
        assert!(short[0].contains("/s/work"), "{}", short[0]);
        // The work disk short alone.
        let short = shortfalls(&needs, fake(vec![("/d", 1, 16 * gb), ("/s", 2, 24 * gb)]));
        assert_eq!(short.len(), 1);
        assert!(short[0].contains("/s/work") && !short[0].contains("/d/out"));
        // A small shortfall in KB, the need rounded up and the free space down.
        let small = [Need {
            what: "输出",
            bytes: 1_100 * 1024 + 1,
            path: PathBuf::from("/d/out"),
        }];
        let short = shortfalls(&small, fake(vec![("/d", 1, 600 * 1024 + 1023)]));
        assert!(
            short[0].contains("约需 1101 KB，该磁盘只剩 600 KB"),
            "{}",
            short[0]
        );
        // A disk whose free space cannot be read is not held against the run.
        assert!(shortfalls(&needs, fake(vec![("/d", 1, 16 * gb)])).is_empty());
    }

    #[test]
    fn the_free_space_of_a_folder_not_made_yet_is_that_of_its_parent() {
        let dir = tempfile::tempdir().unwrap();
        let there = free_at(dir.path()).unwrap();
        let below = free_at(&dir.path().join("out/not/yet")).unwrap();
        assert_eq!(there.device, below.device);
        assert!(there.bytes > 0);
    }
}
