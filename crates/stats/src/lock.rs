//! Liveness by lock. An engine holds an exclusive `flock(2)` on its stats segment (and on a
//! marker in its EAL runtime directory) for its whole life; the kernel drops the lock when
//! the process dies, however it dies. So a file whose lock is free belongs to no live engine,
//! whatever the pid in it says (the kernel reuses pids). flock works on hugetlbfs and tmpfs
//! alike, and is held per open file: a reader that maps the segment takes no lock and never
//! looks like its engine; a probe takes it for an instant, on a descriptor of its own.
//!
//! Whoever removes a file of a dead engine does so while holding that file's lock, after
//! checking that the path still names the file it locked ([`same_file`]); whoever creates one
//! checks the same after locking it, and starts over if a reclaimer removed it meanwhile. So
//! no file is ever removed while an engine holds it, nor after one created it anew.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a lock another process holds for an instant (a probe, a reclaimer) is waited for.
const TRANSIENT: Duration = Duration::from_secs(1);

fn flock(file: &File, op: libc::c_int) -> io::Result<bool> {
    // SAFETY: flock(2) on a descriptor `file` owns.
    if unsafe { libc::flock(file.as_raw_fd(), op | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Whether `path` still names the very file `file` is open on (same device and inode).
pub fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether some process holds the lock of the file at `path` now: a live engine (or, for an
/// instant, a probe or a reclaimer). Probes with a shared lock on a descriptor of its own,
/// released at once. A file that is gone is held by no one.
pub fn held(path: &Path) -> io::Result<bool> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(!flock(&file, libc::LOCK_SH)?)
}

/// Takes the exclusive lock of the file at `path` if no one holds it: `Some(file)` then,
/// still naming `path` ([`same_file`]), to be removed while the lock is held (dropping the
/// file releases it). `None`: held by someone, or gone (or replaced) meanwhile.
pub fn claim(path: &Path) -> io::Result<Option<File>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok((flock(&file, libc::LOCK_EX)? && same_file(&file, path)).then_some(file))
}

/// Takes the exclusive lock of `file`, just created or opened at `path`, for the caller's
/// life: waits out a probe or reclaimer holding it for an instant. `false`: `path` no longer
/// names `file` (a reclaimer removed it before the lock was taken): open it again.
pub fn hold(file: &File, path: &Path) -> io::Result<bool> {
    let deadline = Instant::now() + TRANSIENT;
    while !flock(file, libc::LOCK_EX)? {
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{} stays locked by another process", path.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(same_file(file, path))
}

/// Creates `path` (mode `mode`, read-write) and takes its lock for the caller's life. A file
/// already there whose lock is free is a dead engine's: removed (under its lock) and created
/// anew. One whose lock stays held is a live engine's: `AlreadyExists`.
pub fn create_held(path: &Path, mode: u32) -> io::Result<File> {
    let deadline = Instant::now() + TRANSIENT;
    loop {
        let created = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path);
        match created {
            Ok(file) => {
                if hold(&file, path)? {
                    return Ok(file);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if let Some(dead) = claim(path)? {
                    std::fs::remove_file(path)?;
                    drop(dead);
                } else if Instant::now() > deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{} is held by a live process", path.display()),
                    ));
                } else {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_file_is_held_for_other_descriptors_of_this_process_too() {
        let dir = std::env::temp_dir().join(format!("fastpath-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let mine = create_held(&path, 0o600).unwrap();
        assert!(held(&path).unwrap());
        assert!(claim(&path).unwrap().is_none());
        assert!(create_held(&path, 0o600).is_err_and(|e| e.kind() == io::ErrorKind::AlreadyExists));
        drop(mine);
        assert!(!held(&path).unwrap());
        // A dead holder's file is replaced by a new one.
        let again = create_held(&path, 0o600).unwrap();
        assert!(same_file(&again, &path) && held(&path).unwrap());
        drop(again);
        assert!(!held(&dir.join("gone")).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
