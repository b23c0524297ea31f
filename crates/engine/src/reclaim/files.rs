//! The file work of reclaiming: measuring and removing what a dead engine left, telling
//! whether a DPDK program still uses a runtime directory, naming a file's owner, and the
//! marker a live engine keeps locked in its runtime directory.

use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::error::{EngineError, ErrorCode};

/// The marker a Fastpath engine keeps in its EAL runtime directory, locked for its life: it
/// says the directory is Fastpath's (never another DPDK program's), and whether its engine
/// lives. It holds the engine's pid, for people.
pub(crate) const MARKER: &str = "fastpath.lock";

/// What was (or would be) freed: files, bytes they held, and hugepages among them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Freed {
    /// Files (a directory is not counted; its files are).
    pub files: u64,
    /// Bytes they held (allocated blocks, not apparent sizes).
    pub bytes: u64,
    /// Hugepages they held (files in hugetlbfs).
    pub hugepages: u64,
}

impl Freed {
    pub(crate) fn add(&mut self, other: Freed) {
        self.files += other.files;
        self.bytes += other.bytes;
        self.hugepages += other.hugepages;
    }
}

impl std::fmt::Display for Freed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: u64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
        write!(
            f,
            "{}, {:.1} MiB, {}",
            plural(self.files, "file"),
            self.bytes as f64 / f64::from(1 << 20),
            plural(self.hugepages, "hugepage")
        )
    }
}

/// The page size of the hugetlbfs `dir` is on, or `None` when it is on another filesystem.
fn hugepage_size(dir: &Path) -> Option<u64> {
    const HUGETLBFS_MAGIC: i64 = 0x9584_58f6;
    let c_dir = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statfs is plain data; zero is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: statfs(2) on a NUL-terminated path into a valid out-pointer.
    if unsafe { libc::statfs(c_dir.as_ptr(), &mut st) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between targets
    let hugetlbfs = st.f_type as i64 == HUGETLBFS_MAGIC;
    // f_bsize is a positive block size.
    #[allow(clippy::cast_sign_loss)]
    let page = st.f_bsize as u64;
    (hugetlbfs && page > 0).then_some(page)
}

/// Removes `path` (a directory with everything in it) unless `dry_run`, adding what it held
/// to `freed` (all of it when `dry_run`, else what was removed). Symlinks are removed, never
/// followed. Says what could not be removed in `errors`.
pub(crate) fn sweep(path: &Path, dry_run: bool, freed: &mut Freed, errors: &mut Vec<String>) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        if let Ok(entries) = fs::read_dir(path) {
            for e in entries.flatten() {
                sweep(&e.path(), dry_run, freed, errors);
            }
        }
        if !dry_run {
            if let Err(e) = fs::remove_dir(path) {
                errors.push(format!("could not remove {}: {e}", path.display()));
            }
        }
        return;
    }
    let bytes = meta.blocks() * 512;
    let pages = path
        .parent()
        .and_then(hugepage_size)
        .map_or(0, |page| bytes.div_ceil(page));
    if !dry_run {
        if let Err(e) = fs::remove_file(path) {
            errors.push(format!("could not remove {}: {e}", path.display()));
            return;
        }
    }
    freed.add(Freed {
        files: 1,
        bytes,
        hugepages: pages,
    });
}

/// Whether a live DPDK primary process uses the runtime directory `dir`: EAL holds a write
/// lock (fcntl) on its `config` file for its life (none with `--no-shconf`). A config this
/// user cannot open counts as in use.
pub(crate) fn dpdk_config_locked(dir: &Path) -> bool {
    let file = match fs::File::open(dir.join("config")) {
        Ok(file) => file,
        Err(e) => return e.kind() != io::ErrorKind::NotFound,
    };
    // SAFETY: flock is plain data; zero is a valid value.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_WRLCK as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: F_GETLK on a descriptor `file` owns, into a valid flock (start 0, length 0:
    // the whole file).
    let ret = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut lock) };
    ret != 0 || lock.l_type != libc::F_UNLCK as libc::c_short
}

/// `user NAME` for the owner of `path` (`uid N` when the name cannot be found), or `None`
/// when the file cannot be looked at.
pub(crate) fn owner_of(path: &Path) -> Option<String> {
    let uid = fs::symlink_metadata(path).ok()?.uid();
    Some(user_name(uid).map_or_else(|| format!("uid {uid}"), |n| format!("user {n}")))
}

/// The name of user `uid` (`getpwuid_r`, safe beside other threads), if it has one.
fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: passwd is plain data; getpwuid_r fills it.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buf.len()` is its size.
        let ret = unsafe {
            libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut found)
        };
        if ret == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if ret != 0 || found.is_null() {
            return None;
        }
        // SAFETY: on success pw_name points at a NUL-terminated string inside `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(pw.pw_name) };
        return Some(name.to_string_lossy().into_owned());
    }
}

/// Creates the EAL runtime directory `dir` (and its parent, 0700 as EAL makes them) with the
/// [`MARKER`] in it, locked until the returned file is dropped: keep it until EAL has cleaned
/// up. EAL takes the directory over (it accepts one that exists). A reclaimer removing a dead
/// engine's directory of this name meanwhile is waited out.
pub(crate) fn claim_runtime_dir(dir: &Path) -> Result<fs::File, EngineError> {
    let fail = |e: &io::Error| {
        let code = if e.kind() == io::ErrorKind::PermissionDenied {
            ErrorCode::Permission
        } else {
            ErrorCode::Internal
        };
        EngineError::new(
            code,
            format!(
                "could not claim EAL's runtime directory {}: {e}; run as a user that may write there (EAL needs it too)",
                dir.display()
            ),
        )
    };
    if dpdk_config_locked(dir) {
        return Err(EngineError::config(
            "eal.filePrefix",
            format!(
                "{} is in use by a live DPDK process that is not a Fastpath engine, or another user's (its config is locked or unreadable); give this engine another eal.filePrefix",
                dir.display()
            ),
        ));
    }
    let marker: PathBuf = dir.join(MARKER);
    let mut last = None;
    for _ in 0..100 {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true).mode(0o700);
        if let Err(e) = builder.create(dir) {
            return Err(fail(&e));
        }
        match stats::lock::create_held(&marker, 0o600) {
            Ok(file) => {
                let _ = std::io::Write::write_all(
                    &mut &file,
                    format!("{}\n", std::process::id()).as_bytes(),
                );
                return Ok(file);
            }
            // Removed under our feet by a reclaimer of a dead engine's directory: again.
            Err(e) if e.kind() == io::ErrorKind::NotFound => last = Some(e),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(EngineError::config(
                    "eal.filePrefix",
                    format!(
                        "a live engine holds {}; give this one another eal.filePrefix",
                        marker.display()
                    ),
                ))
            }
            Err(e) => return Err(fail(&e)),
        }
    }
    Err(fail(
        &last.unwrap_or_else(|| io::ErrorKind::NotFound.into()),
    ))
}

/// Removes the runtime directory `dir` this engine claimed (`claim`, held until then) when
/// EAL did not start; only the marker when a live DPDK process uses it (its prefix was
/// taken), which would otherwise pass for a Fastpath engine's once that process ends.
pub(crate) fn release_runtime_dir(dir: &Path, claim: &fs::File) {
    let marker = dir.join(MARKER);
    if !stats::lock::same_file(claim, &marker) {
        return;
    }
    if dpdk_config_locked(dir) {
        let _ = fs::remove_file(marker);
    } else {
        let _ = fs::remove_dir_all(dir);
    }
}

/// The pid a [`MARKER`] names, if it names one.
pub(crate) fn marker_pid(dir: &Path) -> Option<u32> {
    fs::read_to_string(dir.join(MARKER))
        .ok()?
        .trim()
        .parse()
        .ok()
}
