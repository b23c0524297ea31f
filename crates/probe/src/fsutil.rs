//! Reading sysfs and procfs the way this crate does everywhere: a missing file or directory
//! means "absent", never an error; any other failure names the path it is about.

use std::fmt::Display;
use std::fs;
use std::io;
use std::path::Path;

/// Whether an error only says the thing is not there (no such file, or a path through a file).
pub(crate) fn is_absent(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

/// The same error, with the path in front so the user knows which file to look at.
pub(crate) fn at(path: &Path, e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// An `InvalidData` error naming the file whose content is garbled.
pub(crate) fn invalid(path: &Path, what: impl Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {what}", path.display()),
    )
}

/// A text file's content, `None` when it does not exist.
pub(crate) fn read_opt(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if is_absent(&e) => Ok(None),
        Err(e) => Err(at(path, &e)),
    }
}

/// A text file's trimmed content, `None` on any failure: for files that only refine the picture
/// (a NUMA node, an operstate), where a garbled value is no worse than a missing one.
pub(crate) fn read_lenient(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|t| t.trim().to_owned())
}

/// The UTF-8 names in a directory, sorted; empty when the directory does not exist.
pub(crate) fn dir_names(dir: &Path) -> io::Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if is_absent(&e) => return Ok(Vec::new()),
        Err(e) => return Err(at(dir, &e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| at(dir, &e))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The last component of a symlink's target (`driver` → `vfio-pci`), `None` when it is no symlink.
pub(crate) fn link_name(path: &Path) -> Option<String> {
    let target = fs::read_link(path).ok()?;
    target.file_name()?.to_str().map(str::to_owned)
}

/// Whether anything (file, directory, symlink, even a dangling one) is at `path`.
pub(crate) fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}
