//! The run lock: `<state_dir>/hedui.lock`, an advisory lock (flock) held for
//! the whole of a run or a verdict import, so that two of them never
//! overlap. The operating system releases it when the process ends, however
//! it ends: a killed run leaves no stale lock. The holder writes its process
//! id into the file so that the refused one can name it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use crate::error::HeduiError;

/// The lock file's name inside the state folder.
pub const LOCK_FILE: &str = "hedui.lock";

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock of a state folder (created if need be), or fails with
    /// [`HeduiError::Locked`] (exit 6) naming the file and the holder's pid.
    pub fn acquire(state: &Path) -> Result<RunLock, HeduiError> {
        let path = state.join(LOCK_FILE);
        if state.exists() && !state.is_dir() {
            return Err(HeduiError::Usage(format!(
                "状态目录 {s} 已存在且不是目录（见 state_dir / --state-dir） / the state folder {s} \
                 exists and is not a folder (see state_dir / --state-dir)",
                s = state.display()
            )));
        }
        super::create_state_dir(state).map_err(|e| open_error(&path, e))?;
        Self::take(path)
    }

    /// Takes the lock of an output folder: `.<name>.lock` beside it (the
    /// folder itself is replaced whole), held by a run, a validation or a
    /// report rendered into it for as long as they work, so that two never
    /// write one folder at once, whatever state folders they use (they
    /// stage in one sibling folder, and a report written during a run
    /// replaced the run's new one). Fails with [`HeduiError::Locked`] (exit
    /// 6) as [`RunLock::acquire`] does. A caller takes it once: a second
    /// take in one process is refused too.
    pub fn acquire_output(out: &Path) -> Result<RunLock, HeduiError> {
        // Beside the folder as resolved: `--out .` inside it and its full
        // path are one folder, one lock.
        let out = crate::report::output::resolved(out);
        let path = crate::report::output::sibling(&out, "lock");
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::report::output::create_dirs_owner_only(parent).map_err(|e| {
                if let Some(file) = crate::report::output::file_on_path(parent) {
                    return crate::report::output::not_a_folder(&file);
                }
                HeduiError::Internal(format!(
                    "无法创建目录 {p} / cannot create the folder {p}: {e}",
                    p = parent.display()
                ))
            })?;
        }
        Self::take(path)
    }

    /// Opens the lock file `path` (created if need be) and takes its lock.
    fn take(path: PathBuf) -> Result<RunLock, HeduiError> {
        let io_error = |e: std::io::Error| open_error(&path, e);
        let mut options = OpenOptions::new();
        // Not truncated on open: the holder's pid must survive a refused try.
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let shown = if holder.is_empty() {
                    path.display().to_string()
                } else {
                    format!("{}，pid {holder}", path.display())
                };
                return Err(HeduiError::Locked(shown));
            }
            Err(TryLockError::Error(e)) => return Err(io_error(e)),
        }
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .and_then(|_| file.flush())
            .map_err(io_error)?;
        tracing::debug!(lock = %path.display(), "lock taken");
        Ok(RunLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A lock file that could not be opened or its folder made.
fn open_error(path: &Path, e: std::io::Error) -> HeduiError {
    if let Some(file) = path.parent().and_then(crate::report::output::file_on_path) {
        return crate::report::output::not_a_folder(&file);
    }
    HeduiError::Internal(format!(
        "无法打开锁文件 {} / cannot open the lock file {}: {e}",
        path.display(),
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state folder that is a file was an internal error (exit 1,
    /// "File exists"); it is the user's to mend.
    #[test]
    fn a_state_folder_that_is_a_file_is_refused_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state");
        std::fs::write(&file, "x").unwrap();
        let err = RunLock::acquire(&file).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        assert!(err.to_string().contains("不是目录"), "{err}");
    }

    #[test]
    fn an_output_folder_has_one_writer_whatever_its_state_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nested").join("out");
        let first = RunLock::acquire_output(&out).unwrap();
        assert_eq!(first.path(), dir.path().join("nested").join(".out.lock"));
        assert!(!out.exists(), "the folder itself is left to the run");
        match RunLock::acquire_output(&out) {
            Err(e @ HeduiError::Locked(_)) => {
                assert_eq!(e.exit_code(), 6);
                assert!(e.to_string().contains(".out.lock"), "{e}");
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        // Another output folder beside it is another lock.
        drop(RunLock::acquire_output(&dir.path().join("nested").join("out2")).unwrap());
        drop(first);
        drop(RunLock::acquire_output(&out).unwrap());
    }

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let first = RunLock::acquire(&state).unwrap();
        let pid = std::fs::read_to_string(first.path()).unwrap();
        assert_eq!(pid.trim(), std::process::id().to_string());
        match RunLock::acquire(&state) {
            Err(e @ HeduiError::Locked(_)) => {
                assert_eq!(e.exit_code(), 6);
                let msg = e.to_string();
                assert!(msg.contains("hedui.lock"), "{msg}");
                assert!(
                    msg.contains(&format!("pid {}", std::process::id())),
                    "{msg}"
                );
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        RunLock::acquire(&state).unwrap();
    }
}
