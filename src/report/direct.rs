//! Large output files written past the page cache. A run's outputs (a
//! county's links.csv alone is 700 MB) are written once and not read back
//! by the run; through the page cache every 4 KB of them is first copied
//! into a fresh page of the kernel's, which on the virtual machines hedui
//! runs on cost more than formatting the lines: 1.1–1.7 s of system time
//! for 700 MB, against 0.1 s written straight to the disk (`O_DIRECT`;
//! BENCHMARKS.md, session 44).
//!
//! [`OutputFile`] gathers what is written into whole blocks, aligned as
//! direct I/O requires, and writes each block straight to the disk; the
//! last, partial block goes through the page cache as usual
//! ([`OutputFile::finish`]). Where the system or the file system refuses
//! direct I/O (a tmpfs, other systems than Linux), or the disk takes the
//! blocks slower than [`MIN_DIRECT_RATE`] (400 MB/s), the blocks are
//! written the usual way: the bytes are the same either way.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// The bytes gathered before they are written as one block.
const BLOCK: usize = 2 << 20;

/// Direct writes slower than this (bytes a second), on average over
/// [`JUDGED_AFTER`] bytes or more, make the rest of the file go through
/// the page cache: a slow disk would keep the writer waiting, where a
/// write into the page cache returns once copied and the disk catches up
/// after the run. At this rate a block waits 5 ms, about what copying it
/// into fresh page-cache pages took here; direct writes of 2 MB blocks ran
/// at 2.4 GB/s, and the time measured includes the writer's wait for a
/// core when both are busy.
const MIN_DIRECT_RATE: f64 = 4e8;

/// Bytes written straight to the disk before their rate is judged.
const JUDGED_AFTER: u64 = 4 * BLOCK as u64;

/// What direct I/O aligns to: the buffer's address, each write's length
/// and its place in the file (4 KB covers the logical block size of the
/// disks hedui meets, 512 bytes or 4 KB).
const ALIGN: usize = 4096;

/// A file being written, in blocks straight to the disk where the system
/// allows (see the module documentation). Owner-readable only.
///
/// [`Write::flush`] writes the whole pages gathered so far and keeps the
/// rest (less than a page); [`OutputFile::finish`] writes everything. A
/// file dropped unfinished is finished then, errors ignored, as
/// [`std::io::BufWriter`] does.
pub struct OutputFile {
    file: File,
    /// Blocks are written past the page cache while true.
    direct: bool,
    /// `BLOCK + ALIGN` bytes; the block is the aligned part at `start`.
    buf: Vec<u8>,
    start: usize,
    /// Bytes gathered in the block.
    len: usize,
    finished: bool,
    /// Bytes written straight to the disk, and how long that took.
    direct_bytes: u64,
    direct_time: std::time::Duration,
    /// [`MIN_DIRECT_RATE`] (bytes a second), lower in tests.
    min_rate: f64,
}

impl OutputFile {
    /// Creates (or truncates) `path`, mode 0600.
    pub fn create(path: &Path) -> io::Result<OutputFile> {
        match open(path, true) {
            Ok(file) => Ok(OutputFile::new(file, true)),
            // The file system does not do direct I/O.
            Err(e) if e.raw_os_error() == Some(EINVAL) => {
                Ok(OutputFile::new(open(path, false)?, false))
            }
            Err(e) => Err(e),
        }
    }

    fn new(file: File, direct: bool) -> OutputFile {
        let buf = vec![0u8; BLOCK + ALIGN];
        let start = buf.as_ptr().align_offset(ALIGN);
        OutputFile {
            file,
            direct,
            buf,
            start,
            len: 0,
            finished: false,
            direct_bytes: 0,
            direct_time: std::time::Duration::ZERO,
            min_rate: MIN_DIRECT_RATE,
        }
    }

    /// Whether blocks still go straight to the disk.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Writes the first `n` bytes of the block and moves the rest to its
    /// start. Straight to the disk when `n` is whole pages.
    fn write_out(&mut self, n: usize) -> io::Result<()> {
        let at = self.start;
        if self.direct && n.is_multiple_of(ALIGN) {
            let start = std::time::Instant::now();
            match self.file.write_all(&self.buf[at..at + n]) {
                Ok(()) => {
                    self.direct_bytes += n as u64;
                    self.direct_time += start.elapsed();
                    let rate = self.direct_bytes as f64 / self.direct_time.as_secs_f64();
                    if self.direct_bytes >= JUDGED_AFTER && rate < self.min_rate {
                        tracing::debug!(
                            mb_per_second = (rate / 1e6) as u64,
                            "direct writes slow: the rest of the file through the page cache"
                        );
                        self.buffered()?;
                    }
                }
                // Refused after all (an alignment the disk wants larger):
                // this file is written the usual way from here on.
                Err(e) if e.raw_os_error() == Some(EINVAL) => {
                    self.buffered()?;
                    self.file.write_all(&self.buf[at..at + n])?;
                }
                Err(e) => return Err(e),
            }
        } else {
            self.buffered()?;
            self.file.write_all(&self.buf[at..at + n])?;
        }
        self.buf.copy_within(at + n..at + self.len, at);
        self.len -= n;
        Ok(())
    }

    /// Turns direct I/O off for the rest of the file (a partial page must
    /// go through the page cache).
    fn buffered(&mut self) -> io::Result<()> {
        if self.direct {
            self.direct = false;
            direct_off(&self.file)?;
        }
        Ok(())
    }

    /// Writes everything gathered, the last partial page through the page
    /// cache, and reports any error.
    pub fn finish(mut self) -> io::Result<()> {
        self.finish_mut()
    }

    fn finish_mut(&mut self) -> io::Result<()> {
        self.finished = true;
        self.flush()?;
        if self.len > 0 {
            self.write_out(self.len)?;
        }
        Ok(())
    }
}

impl Write for OutputFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.finished {
            return Err(io::Error::other("write after finish"));
        }
        let n = data.len().min(BLOCK - self.len);
        let at = self.start + self.len;
        self.buf[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        if self.len == BLOCK {
            self.write_out(BLOCK)?;
        }
        Ok(n)
    }

    /// Writes the whole pages gathered; the rest waits for more bytes or
    /// for [`OutputFile::finish`] (a partial page cannot go straight to
    /// the disk, and the Parquet writer flushes after every column chunk).
    fn flush(&mut self) -> io::Result<()> {
        let whole = self.len - self.len % ALIGN;
        if whole > 0 {
            self.write_out(whole)?;
        }
        Ok(())
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.finish_mut();
        }
    }
}

/// The error a system gives for a direct write it cannot take.
const EINVAL: i32 = rustix::io::Errno::INVAL.raw_os_error();

#[cfg(target_os = "linux")]
fn open(path: &Path, direct: bool) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true).mode(0o600);
    if direct {
        options.custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32);
    }
    options.open(path)
}

#[cfg(not(target_os = "linux"))]
fn open(path: &Path, direct: bool) -> io::Result<File> {
    if direct {
        return Err(io::Error::from_raw_os_error(EINVAL));
    }
    super::output::create_private(path)
}

#[cfg(target_os = "linux")]
fn direct_off(file: &File) -> io::Result<()> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let flags = fcntl_getfl(file)?;
    fcntl_setfl(file, flags - OFlags::DIRECT)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn direct_off(_: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that differ from one place to the next, so that a block
    /// written twice or out of place shows.
    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 4099) as u8).collect()
    }

    /// Every length around the page and block edges comes out as written,
    /// in writes of many sizes with flushes between; the file is the
    /// owner's alone.
    #[test]
    fn the_file_holds_exactly_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let lengths = [
            0,
            1,
            ALIGN - 1,
            ALIGN,
            ALIGN + 1,
            BLOCK - 1,
            BLOCK,
            BLOCK + 1,
            3 * BLOCK + 5 * ALIGN + 123,
        ];
        for (k, &n) in lengths.iter().enumerate() {
            let data = pattern(n);
            for direct in [true, false] {
                let path = dir.path().join(format!("{k}-{direct}.bin"));
                let mut f = if direct {
                    OutputFile::create(&path).unwrap()
                } else {
                    OutputFile::new(open(&path, false).unwrap(), false)
                };
                // Writes of 1 byte to 3 blocks, a flush every fifth.
                let sizes = [1, 4095, 4096, 70_000, BLOCK + 3, 3 * BLOCK, 17];
                let (mut at, mut i) = (0, 0);
                while at < n {
                    let end = (at + sizes[i % sizes.len()]).min(n);
                    f.write_all(&data[at..end]).unwrap();
                    if i % 5 == 4 {
                        f.flush().unwrap();
                    }
                    at = end;
                    i += 1;
                }
                f.finish().unwrap();
                assert!(
                    std::fs::read(&path).unwrap() == data,
                    "length {n}, direct {direct}"
                );
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
                    assert_eq!(mode & 0o777, 0o600);
                }
            }
        }
    }

    /// Blocks go straight to the disk where the file system allows it (on
    /// Linux, a tmpfs before 6.6 does not), and the file is the same.
    #[test]
    fn whole_blocks_go_past_the_page_cache_where_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("links.csv");
        let data = pattern(2 * BLOCK + 10);
        let mut f = OutputFile::create(&path).unwrap();
        let direct = f.is_direct();
        f.write_all(&data).unwrap();
        // Two blocks written: still direct unless the system refused.
        assert_eq!(f.is_direct(), direct);
        f.finish().unwrap();
        assert!(std::fs::read(&path).unwrap() == data);
        // Whether the folder's file system takes an aligned direct write,
        // asked without OutputFile: then OutputFile must have used it.
        let probe = dir.path().join("probe");
        let allowed = open(&probe, true).is_ok_and(|mut p| {
            let page = vec![7u8; 2 * ALIGN];
            let at = page.as_ptr().align_offset(ALIGN);
            p.write_all(&page[at..at + ALIGN]).is_ok()
        });
        assert_eq!(
            direct, allowed,
            "direct I/O used where the system allows it"
        );
        if !allowed {
            eprintln!("note: {} does not do direct I/O", dir.path().display());
        }
    }

    /// Direct writes slower than the least rate turn the rest of the file
    /// to the page cache, once enough bytes have been written to judge;
    /// the bytes are the same.
    #[test]
    fn a_slow_disk_gets_the_rest_through_the_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("links.csv");
        let data = pattern(6 * BLOCK + 77);
        let mut f = OutputFile::create(&path).unwrap();
        let direct = f.is_direct();
        // No disk is this fast.
        f.min_rate = f64::INFINITY;
        f.write_all(&data[..3 * BLOCK]).unwrap();
        assert_eq!(f.is_direct(), direct, "judged before enough bytes");
        f.write_all(&data[3 * BLOCK..]).unwrap();
        assert!(!f.is_direct());
        f.finish().unwrap();
        assert!(std::fs::read(&path).unwrap() == data);
    }

    /// A file dropped without finish still gets every byte.
    #[test]
    fn a_file_dropped_unfinished_is_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        let data = pattern(BLOCK + ALIGN + 5);
        {
            let mut f = OutputFile::create(&path).unwrap();
            f.write_all(&data).unwrap();
        }
        assert!(std::fs::read(&path).unwrap() == data);
    }
}
