//! The output folder: a run writes into a temporary sibling and swaps it into
//! place only when complete, so that a run killed at any moment leaves the
//! previous complete output. Files are created mode 0600: they hold ID
//! numbers and names.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::direct::OutputFile;

/// A folder being written; [`StagedOutput::commit`] puts it in place.
#[derive(Debug)]
pub struct StagedOutput {
    target: PathBuf,
    staging: PathBuf,
}

/// `.<name>.<suffix>` beside the folder `target`.
pub(crate) fn sibling(target: &Path, suffix: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_string());
    target.with_file_name(format!(".{name}.{suffix}"))
}

impl StagedOutput {
    /// Starts a staged output for `target`, first finishing or undoing any
    /// swap an earlier, killed run left half done.
    pub fn begin(target: &Path) -> io::Result<StagedOutput> {
        // The folder named, so that the message says where writing failed.
        let at = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", target.display()));
        recover(target).map_err(at)?;
        let staging = sibling(target, "tmp");
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(at)?;
        }
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_dirs_owner_only(parent).map_err(at)?;
        }
        create_private_dir(&staging).map_err(at)?;
        Ok(StagedOutput {
            target: target.to_path_buf(),
            staging,
        })
    }

    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Creates a large output file in the staging folder (readable by the
    /// owner only), written past the page cache where the system allows:
    /// see [`super::direct`]. Written whole only once
    /// [`OutputFile::finish`]ed.
    pub fn create_output(&self, name: &str) -> io::Result<OutputFile> {
        OutputFile::create(&self.staging.join(name))
    }

    /// Creates a file in the staging folder, readable by the owner only.
    pub fn create(&self, name: &str) -> io::Result<BufWriter<File>> {
        Ok(BufWriter::new(create_private(&self.staging.join(name))?))
    }

    /// Swaps the staging folder into place: the old output is renamed aside,
    /// the new one renamed in, the old one removed. A crash between the two
    /// renames is repaired by [`recover`] at the next start.
    pub fn commit(self) -> io::Result<()> {
        let old = sibling(&self.target, "old");
        if old.exists() {
            fs::remove_dir_all(&old)?;
        }
        if self.target.exists() {
            fs::rename(&self.target, &old)?;
        }
        fs::rename(&self.staging, &self.target)?;
        if old.exists() {
            fs::remove_dir_all(&old)?;
        }
        Ok(())
    }
}

/// The first of `path` and its parents that exists and is not a folder
/// (so that nothing can be made below it), if any.
pub fn file_on_path(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .find(|p| fs::metadata(p).is_ok_and(|m| !m.is_dir()))
        .map(Path::to_path_buf)
}

/// A folder asked for (state, output or their parent) below a path that
/// is a file: the user's to mend (exit 2), not a bug.
pub fn not_a_folder(file: &Path) -> crate::error::HeduiError {
    crate::error::HeduiError::Usage(format!(
        "路径 {f} 是文件而不是目录，无法在其下建立目录（见 --out / --state-dir / state_dir） / \
         {f} is a file, not a folder: no folder can be made below it (see --out / --state-dir / state_dir)",
        f = file.display()
    ))
}

/// Which command is about to replace an output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputOwner {
    Run,
    Validate,
}

/// Why `out` must not be replaced whole by a run or a validation reading
/// `input`, if it must not: the swap removes whatever the folder held. It
/// may not be the input folder or one that holds it, nor hold the state
/// folder, nor be a folder with other things in it than a hedui output (a
/// manifest.json that hedui wrote); validate does not replace a run's
/// output. The message is the one to show (Chinese and
/// English); paths are the user's own.
pub fn refuse_target(
    out: &Path,
    input: &Path,
    state: Option<&Path>,
    writer: OutputOwner,
) -> Option<String> {
    let out_path = resolved(out);
    if let Some(state) = state.filter(|s| resolved(s).starts_with(&out_path)) {
        return Some(format!(
            "状态目录 {s} 在输出目录 {o} 之内：输出目录会被整个替换，案件台账将随之删除。请把 state_dir 设在输出目录之外 / \
             the state folder {s} is inside the output folder {o}: the output folder is replaced whole, \
             which would delete the case ledger. Set state_dir outside the output folder",
            s = state.display(),
            o = out.display()
        ));
    }
    if resolved(input).starts_with(&out_path) {
        return Some(format!(
            "输出目录 {o} 就是输入目录或包含输入目录：输出目录会被整个替换，输入文件将被删除。请另选输出目录 / \
             the output folder {o} is the input folder or holds it: the output folder is replaced whole, \
             which would delete the input. Choose another output folder",
            o = out.display()
        ));
    }
    if fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink()) {
        return Some(format!(
            "输出路径 {o} 是符号链接：输出目录会被整个替换，链接本身会被换成一个目录，它指向的目录不会更新。请直接给出它指向的目录 / \
             the output path {o} is a symbolic link: the output folder is replaced whole, so the link \
             itself would become a folder and the folder it points to would not be updated. Give that folder instead",
            o = out.display()
        ));
    }
    let meta = fs::metadata(out).ok()?;
    if !meta.is_dir() {
        return Some(format!(
            "输出路径 {o} 已存在且不是目录 / the output path {o} exists and is not a folder",
            o = out.display()
        ));
    }
    let empty = fs::read_dir(out).is_ok_and(|mut d| d.next().is_none());
    if empty {
        return None;
    }
    let hedui_manifest = fs::read_to_string(out.join("manifest.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|m| m["tool"] == "hedui");
    if !hedui_manifest {
        return Some(format!(
            "输出目录 {o} 不是空目录，也不是 hedui 的输出目录（没有 hedui 写的 manifest.json）：输出目录会被整个替换，其中的文件将被删除。请另选输出目录 / \
             the output folder {o} is neither empty nor a hedui output folder (it has no manifest.json written by hedui): \
             the output folder is replaced whole, which would delete what it holds. Choose another output folder",
            o = out.display()
        ));
    }
    let holds_run = ["findings.csv", "findings.parquet"]
        .iter()
        .any(|f| out.join(f).exists());
    if writer == OutputOwner::Validate && holds_run {
        return Some(format!(
            "输出目录 {o} 是一次运行（run）的输出，validate 不会替换它。请另选输出目录 / \
             the output folder {o} holds a run's output, which validate does not replace. \
             Choose another output folder",
            o = out.display()
        ));
    }
    None
}

/// `path` made absolute and resolved as the system would (links followed,
/// then `..` taken from the real folder; lexically where nothing exists
/// yet), so that two spellings of one folder compare equal.
pub(crate) fn resolved(path: &Path) -> PathBuf {
    use std::path::Component;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in absolute.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => {
                out.push(other);
                if let Ok(real) = fs::canonicalize(&out) {
                    out = real;
                }
            }
        }
    }
    out
}

/// Repairs an interrupted swap: if the output is missing but the previous one
/// stands aside, put it back.
pub fn recover(target: &Path) -> io::Result<()> {
    let old = sibling(target, "old");
    if old.exists() {
        if target.exists() {
            fs::remove_dir_all(&old)?;
        } else {
            fs::rename(&old, target)?;
        }
    }
    Ok(())
}

/// Creates the folders of `path` that are missing, owner-only (0700):
/// folders that exist keep their mode.
pub fn create_dirs_owner_only(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Creates a folder (and any missing parents, owner-only too) and makes it
/// owner-only (0700): it holds files with ID numbers and names.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    create_dirs_owner_only(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Creates (truncating) a file readable and writable by its owner only. A
/// file already there (a temporary file a failed write left, one made by
/// hand) is made so too: it keeps its mode when opened.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if file.metadata()?.permissions().mode() & 0o777 != 0o600 {
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
}

/// Writes a whole file owner-readable only.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = create_private(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file already there is made owner-only too, not left readable by
    /// others with the data written into it.
    #[cfg(unix)]
    #[test]
    fn a_file_created_over_a_readable_one_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".report.html.tmp");
        fs::write(&path, b"left").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"new").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn commit_replaces_previous_output_and_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("old.txt"), "old").unwrap();
        let staged = StagedOutput::begin(&target).unwrap();
        staged.create("new.txt").unwrap().write_all(b"new").unwrap();
        assert!(
            target.join("old.txt").exists(),
            "old output stays until commit"
        );
        staged.commit().unwrap();
        assert!(!target.join("old.txt").exists());
        assert_eq!(fs::read_to_string(target.join("new.txt")).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(target.join("new.txt"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    /// A folder that cannot be made is named in the message (it said
    /// only "No such file or directory").
    #[test]
    fn an_output_folder_that_cannot_be_made_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        let target = file.join("out");
        let Err(err) = StagedOutput::begin(&target) else {
            panic!("an output folder under a file");
        };
        assert!(
            err.to_string().contains(&*target.to_string_lossy()),
            "{err}"
        );
    }

    #[test]
    fn recover_puts_back_an_output_left_aside_by_a_killed_swap() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let old = sibling(&target, "old");
        fs::create_dir(&old).unwrap();
        fs::write(old.join("findings.csv"), "x").unwrap();
        recover(&target).unwrap();
        assert!(target.join("findings.csv").exists());
        assert!(!old.exists());
    }
}
