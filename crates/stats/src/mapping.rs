//! A read-only mapping of a segment file, for readers that want the live bytes (the
//! JavaScript reader wraps one in an `ArrayBuffer`).

use std::fs;
use std::io;
use std::path::Path;
use std::ptr::NonNull;

/// A read-only mapping of a segment file, for readers that want the live bytes (the
/// JavaScript reader wraps one in an `ArrayBuffer`). Unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: a read-only shared mapping; nothing here writes through it.
unsafe impl Send for Mapping {}
// SAFETY: as above: shared access only reads (`release` swaps the pages under the same
// range, which the kernel does atomically for readers).
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the whole file at `path` read-only (shared: the engine's writes show through).
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(0);
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the stats segment is empty",
            ));
        }
        // SAFETY: maps `len` bytes of an open file read-only; checked against MAP_FAILED.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            base: NonNull::new(base.cast()).expect("mmap returned a non-null mapping"),
            len,
        })
    }

    /// Lets go of the segment's pages now, before the mapping is dropped: the range is
    /// replaced by zero-filled anonymous memory, so whatever still points into it (a
    /// JavaScript `ArrayBuffer` awaiting garbage collection) reads zeros instead of keeping
    /// a hugepage of a stopped engine. Dropping the mapping later unmaps the range as usual.
    pub fn release(&self) -> io::Result<()> {
        // SAFETY: replaces exactly this mapping's range (MAP_FIXED over our own pages) with a
        // private anonymous read-only mapping of the same length; the range stays mapped, so
        // no pointer into it dangles.
        let at = unsafe {
            libc::mmap(
                self.base.as_ptr().cast(),
                self.len,
                libc::PROT_READ,
                libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if at == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The first byte. Read-only memory: writing through it faults.
    pub fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// Bytes mapped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is mapped (never, for a mapping that opened).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `open` mapped.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}
