//! One download run per folder.
//!
//! A dataset download claims its folder (`<directory>/<dataset id>/`) before it writes
//! anything there: an advisory lock on `.vi-partial/.lock`, held until the run ends (the
//! operating system drops it when the process dies, however it dies, so a killed run
//! never leaves the folder locked). A second run into the same folder fails at once with a
//! message naming the run that holds it, instead of the two sweeping and renaming each
//! other's partial files. The claim is also the up-front check that the folder can be
//! written at all: a read-only folder fails the download once, not every asset.
//!
//! When the run ends, the claim sweeps the partial files of the assets this run finished,
//! removes the lock file (while still holding it, so a run that opened the old file
//! notices and opens the new one), the partial-file folder when it is empty, and the
//! download folder itself when the run created it and left nothing in it (a mistyped
//! dataset id leaves no empty folder behind).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::file::{PARTIAL_DIR, ensure_partial_dir};
use crate::error::{Error, Result};
use crate::select::Shard;

/// The lock file's name inside the partial-file folder. It starts with a dot, so it is
/// never taken for an asset's partial file (those start with the asset id).
pub(crate) const LOCK_FILE: &str = ".lock";

/// How many times the lock is tried again when the file was removed and made anew by
/// another run between our open and our lock.
const LOCK_ATTEMPTS: u32 = 16;

/// How many times (20 ms apart) a refused run reads the lock file for its holder's name.
const HOLDER_READS: u32 = 25;

/// A download folder claimed by this run; see the module docs.
#[derive(Debug)]
pub(crate) struct FolderClaim {
    directory: PathBuf,
    /// Whether this run made the folder (it is removed again when left empty).
    created: bool,
    /// The folder's lock file and its path, locked exclusively by a whole run and shared
    /// by shards; `None` once released.
    lock: Option<(File, PathBuf)>,
    /// A shard's own lock file, locked exclusively; `None` for a whole run.
    shard_lock: Option<(File, PathBuf)>,
}

impl FolderClaim {
    /// Creates `directory` if needed and claims it, for the whole dataset or for one
    /// `shard` of it. Shards of one job may share a folder (their assets are disjoint);
    /// two runs of the same shard, or a whole run beside anything else, may not. Blocking.
    ///
    /// # Errors
    /// [`Error::Io`] naming the folder: another run holds it (the message says which
    /// process, since when), or it cannot be created or written (read-only, a link or a
    /// file in place of the partial-file folder).
    pub(crate) fn take(directory: &Path, shard: Option<Shard>) -> Result<FolderClaim> {
        let created = matches!(
            std::fs::symlink_metadata(directory),
            Err(e) if e.kind() == io::ErrorKind::NotFound
        );
        std::fs::create_dir_all(directory).map_err(|e| unwritable(directory, &e))?;
        let mut claim = FolderClaim {
            directory: directory.to_path_buf(),
            created,
            lock: None,
            shard_lock: None,
        };
        let partial = directory.join(PARTIAL_DIR);
        let shared = shard.is_some();
        let folder_lock = partial.join(LOCK_FILE);
        match lock_file(directory, &folder_lock, shared) {
            Ok(file) => claim.lock = Some((file, folder_lock)),
            Err(e) => {
                // Someone else's folder: not ours to remove when it is empty.
                claim.created = false;
                return Err(e);
            }
        }
        if let Some(shard) = shard {
            let path = partial.join(shard_lock_name(shard));
            match lock_file(directory, &path, false) {
                Ok(file) => claim.shard_lock = Some((file, path)),
                Err(e) => {
                    claim.created = false;
                    return Err(e);
                }
            }
        }
        let holder = claim.shard_lock.as_mut().or(claim.lock.as_mut());
        if let Some((file, path)) = holder {
            write_holder(file, shard).map_err(|e| Error::io(&*path, e))?;
        }
        Ok(claim)
    }

    /// Ends the claim: removes the partial files of the assets in `done` (put in place or
    /// found complete by this run; what is left for them is of another version of their
    /// content, or from an SDK that named partial files otherwise), then what the claim
    /// made. Blocking.
    pub(crate) fn release(mut self, done: &HashSet<String>) {
        if self.lock.is_some() {
            sweep(&self.directory.join(PARTIAL_DIR), done);
        }
        self.end();
    }

    fn end(&mut self) {
        if let Some((file, path)) = self.shard_lock.take() {
            if same_file(&file, &path) {
                let _ = std::fs::remove_file(&path);
            }
        }
        let Some((file, path)) = self.lock.take() else {
            return;
        };
        // A shard removes the folder's lock file only when no other shard holds it: the
        // exclusive lock is then free to take (a shard still running keeps it shared).
        let alone = self.directory.join(PARTIAL_DIR).join(LOCK_FILE) != path
            || fs4::FileExt::try_lock(&file).is_ok();
        if alone && same_file(&file, &path) {
            let _ = std::fs::remove_file(&path);
        }
        drop(file);
        let _ = std::fs::remove_dir(self.directory.join(PARTIAL_DIR));
        if self.created {
            // Only when empty: nothing was downloaded into a folder this run made.
            let _ = std::fs::remove_dir(&self.directory);
        }
    }
}

/// The lock file of one shard: a dot name, never taken for an asset's partial file.
fn shard_lock_name(shard: Shard) -> String {
    format!("{LOCK_FILE}-{}-of-{}", shard.index(), shard.count())
}

/// Opens and locks the lock file at `path` (shared or exclusive) in `directory`'s
/// partial-file folder, making both as needed.
fn lock_file(directory: &Path, path: &Path, shared: bool) -> Result<File> {
    for _ in 0..LOCK_ATTEMPTS {
        ensure_partial_dir(path).map_err(|e| match e {
            Error::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
                unwritable(directory, &source)
            }
            other => other,
        })?;
        let mut file = match crate::fsguard::open_own(path, true, true) {
            Ok(file) => file,
            // The folder was removed by a run ending meanwhile: make it again.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(unwritable(path, &e)),
        };
        let locked = if shared {
            fs4::FileExt::try_lock_shared(&file)
        } else {
            fs4::FileExt::try_lock(&file)
        };
        match locked {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => return Err(busy(directory, &mut file)),
            Err(fs4::TryLockError::Error(e)) => return Err(Error::io(path, e)),
        }
        // The run before us may have removed this file after we opened it: a lock on
        // a file no longer at the path guards nothing.
        if same_file(&file, path) {
            return Ok(file);
        }
    }
    Err(Error::io(
        path,
        io::Error::other(
            "other runs kept removing and making this lock file; make sure no other \
             download uses this folder, then run again",
        ),
    ))
}

impl Drop for FolderClaim {
    fn drop(&mut self) {
        self.end();
    }
}

/// Removes the partial files in `folder` of the assets in `done`; never the lock file.
pub(crate) fn sweep(folder: &Path, done: &HashSet<String>) {
    if done.is_empty() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(asset) = name.to_str().and_then(|n| n.split('.').next()) else {
            continue;
        };
        if done.contains(asset) {
            // Removing a link removes the link, never what it points to.
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// True when `path` names the open `file` (same device and inode).
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

/// Writes who holds the lock, for a second run's message.
fn write_holder(file: &mut File, shard: Option<Shard>) -> io::Result<()> {
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "a program".to_owned());
    let part = shard.map(|s| format!(", shard {s}")).unwrap_or_default();
    let holder = format!(
        "process {} ({program}{part}), started {}",
        std::process::id(),
        httpdate::fmt_http_date(std::time::SystemTime::now())
    );
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(holder.as_bytes())?;
    file.flush()
}

/// The error for a folder another run holds, naming it from what it wrote in the lock.
fn busy(directory: &Path, file: &mut File) -> Error {
    // The holder writes its name just after it takes the lock: a run that lost the race
    // by a hair may find the file still empty, so it looks again for a moment.
    let mut holder = String::new();
    for _ in 0..HOLDER_READS {
        holder.clear();
        let _ = file.rewind();
        let _ = (&mut *file).take(512).read_to_string(&mut holder);
        if !holder.trim().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let holder = crate::redact::printable(holder.trim(), false);
    let who = if holder.is_empty() {
        "another download".to_owned()
    } else {
        format!("another download ({holder})")
    };
    Error::io(
        directory,
        io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "{who} is writing into this folder; wait until it finishes, or download \
                 into another folder"
            ),
        ),
    )
}

/// The error for a folder that cannot be written, once for the whole download.
fn unwritable(path: &Path, error: &io::Error) -> Error {
    Error::io(
        path,
        io::Error::new(
            error.kind(),
            format!(
                "cannot write the download here ({error}); make the folder writable, or \
                 download into another folder"
            ),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_fails_naming_the_first_and_the_first_cleans_up() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ds");
        let first = FolderClaim::take(&dir, None).unwrap();
        let err = FolderClaim::take(&dir, None).unwrap_err().to_string();
        assert!(err.contains("another download (process"), "{err}");
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        assert!(dir.join(PARTIAL_DIR).join(LOCK_FILE).exists());
        first.release(&HashSet::new());
        assert!(
            !dir.exists(),
            "the folder this claim made is gone when left empty"
        );
        // Free again.
        FolderClaim::take(&dir, None)
            .unwrap()
            .release(&HashSet::new());
    }

    #[test]
    fn shards_share_a_folder_but_not_with_a_whole_run_or_their_own_twin() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ds");
        let shard = |k| Some(Shard::new(k, 4).unwrap());
        let zero = FolderClaim::take(&dir, shard(0)).unwrap();
        let one = FolderClaim::take(&dir, shard(1)).unwrap();
        let twin = FolderClaim::take(&dir, shard(1)).unwrap_err().to_string();
        assert!(twin.contains("shard 1/4"), "{twin}");
        assert!(FolderClaim::take(&dir, None).is_err(), "a whole run waits");
        zero.release(&HashSet::new());
        // Shard 1 still runs: the folder's lock stays, so a whole run is still refused.
        assert!(dir.join(PARTIAL_DIR).join(LOCK_FILE).exists());
        assert!(FolderClaim::take(&dir, None).is_err());
        one.release(&HashSet::new());
        assert!(
            !dir.join(PARTIAL_DIR).exists(),
            "the last shard out removes the lock and the partial-file folder"
        );
        let whole = FolderClaim::take(&dir, None).unwrap();
        assert!(
            FolderClaim::take(&dir, shard(2)).is_err(),
            "a shard waits too"
        );
        whole.release(&HashSet::new());
    }

    #[test]
    fn a_folder_the_user_made_or_that_holds_files_stays() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ds");
        std::fs::create_dir(&dir).unwrap();
        FolderClaim::take(&dir, None)
            .unwrap()
            .release(&HashSet::new());
        assert!(dir.exists());
        assert!(!dir.join(PARTIAL_DIR).exists());
        let other = root.path().join("other");
        let claim = FolderClaim::take(&other, None).unwrap();
        std::fs::write(other.join("a.png"), b"x").unwrap();
        std::fs::write(
            other.join(PARTIAL_DIR).join("as1.0000000000000001.part"),
            b"p",
        )
        .unwrap();
        std::fs::write(
            other.join(PARTIAL_DIR).join("as2.0000000000000001.part"),
            b"p",
        )
        .unwrap();
        claim.release(&HashSet::from(["as1".to_owned()]));
        assert!(other.join("a.png").exists());
        let left: Vec<_> = std::fs::read_dir(other.join(PARTIAL_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from("as2.0000000000000001.part")]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_or_fifo_at_the_lock_is_refused_and_its_target_untouched() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ds");
        std::fs::create_dir_all(dir.join(PARTIAL_DIR)).unwrap();
        let victim = root.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let lock = dir.join(PARTIAL_DIR).join(LOCK_FILE);
        std::os::unix::fs::symlink(&victim, &lock).unwrap();
        assert!(FolderClaim::take(&dir, None).is_err());
        std::fs::remove_file(&lock).unwrap();
        std::fs::hard_link(&victim, &lock).unwrap();
        let err = FolderClaim::take(&dir, None).unwrap_err().to_string();
        assert!(err.contains("hard links"), "{err}");
        std::fs::remove_file(&lock).unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &lock,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let err = FolderClaim::take(&dir, None).unwrap_err().to_string();
        assert!(err.contains("FIFO"), "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }
}
