//! The Rust reader: decodes a segment by the kinds of its directory entries into the same
//! JSON snapshot the TypeScript reader builds (`packages/control/src/stats-reader.ts`), so
//! `fastpath stats --json`, `engine.stats()` and this reader agree field for field. Every
//! offset is checked against the bytes before it is read; entries of a kind this reader does
//! not know are skipped (a newer engine may add kinds without breaking it).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::layout::{
    entry, header, sample, Kind, ELEMENT_PARENT, ELEMENT_SIZE, ENGINE_NAME_LEN, ENTRY_SIZE,
    FLAG_LOCKED, FLAG_STOPPED, HEADER_SIZE, LAYOUT_VERSION, MAGIC, MAX_ENTRIES, SAMPLE_HEADER,
    SAMPLE_PORT,
};
use crate::segment::now_ns;

mod snapshot;

/// Why a segment cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderError {
    /// No such file.
    Missing(PathBuf),
    /// Not a Fastpath segment, or cut short.
    Corrupt(String),
    /// Written by a newer (or older) layout.
    Version(u32),
}

impl fmt::Display for ReaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(p) => write!(f, "no stats segment at {}: is the engine running?", p.display()),
            Self::Corrupt(why) => write!(f, "the stats segment is corrupt: {why}"),
            Self::Version(v) => write!(f, "the stats segment has layout version {v}; this reader reads version {LAYOUT_VERSION}"),
        }
    }
}

impl std::error::Error for ReaderError {}

/// One sample of the ring: (time in Unix ns, per port [rx, tx, drops]).
pub type Sample = (u64, Vec<[u64; 3]>);

/// An engine found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineListing {
    /// Its name (EAL file prefix).
    pub name: String,
    /// Writer pid.
    pub pid: u32,
    /// Whether its engine lives ([`Reader::alive`]).
    pub alive: bool,
    /// The file.
    pub path: PathBuf,
}

/// A directory entry, checked against the segment's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// [`crate::flags`].
    pub flags: u8,
    /// Elements per copy.
    pub count: usize,
    /// Bytes between elements.
    pub stride: usize,
    /// Copies (summed by readers).
    pub copies: usize,
    /// Offset of copy 0's element 0.
    pub offset: usize,
    /// Bytes between copies.
    pub copy_stride: usize,
    /// The linked object.
    pub link: String,
    /// Help text.
    pub help: String,
}

impl Entry {
    /// The object and field of an `object/field` name (`("", name)` without a slash).
    pub fn split(&self) -> (&str, &str) {
        self.name.split_once('/').unwrap_or(("", &self.name))
    }

    /// Bytes an element of this kind needs.
    fn element_size(&self) -> usize {
        match self.kind {
            Kind::Names => ELEMENT_SIZE_MIN,
            Kind::Text => 1,
            Kind::Ring => SAMPLE_HEADER,
            Kind::Scalar | Kind::Counter => 8,
            // A whole record: its header and at least one bucket.
            Kind::Histogram => self.stride.max((crate::layout::HISTOGRAM_HEADER + 1) * 8),
        }
    }
}

/// Most copies an entry may have (worker lcores are far fewer).
const MAX_COPIES: usize = 1024;

/// The least stride of a names element: the name and the parent index.
const ELEMENT_SIZE_MIN: usize = ELEMENT_PARENT + 4;

/// A segment read into memory (a copy: fine for tools; JS maps it instead).
#[derive(Debug)]
pub struct Reader {
    bytes: Vec<u8>,
    /// The file it was read from (`None` for bytes handed over): where liveness is asked.
    path: Option<PathBuf>,
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, ReaderError> {
    at.checked_add(4)
        .and_then(|end| b.get(at..end))
        .map(|s| u32::from_le_bytes(s.try_into().unwrap_or_default()))
        .ok_or_else(|| {
            ReaderError::Corrupt(format!("offset {at} is past the end ({} bytes)", b.len()))
        })
}

fn u64_at(b: &[u8], at: usize) -> Result<u64, ReaderError> {
    at.checked_add(8)
        .and_then(|end| b.get(at..end))
        .map(|s| u64::from_le_bytes(s.try_into().unwrap_or_default()))
        .ok_or_else(|| {
            ReaderError::Corrupt(format!("offset {at} is past the end ({} bytes)", b.len()))
        })
}

fn text_at(b: &[u8], at: usize, len: usize) -> Result<String, ReaderError> {
    let raw = at
        .checked_add(len)
        .and_then(|end| b.get(at..end))
        .ok_or_else(|| ReaderError::Corrupt(format!("text at {at} is past the end")))?;
    let end = raw.iter().position(|&c| c == 0).unwrap_or(len);
    Ok(String::from_utf8_lossy(&raw[..end]).into_owned())
}

/// Whether process `pid` exists (`kill(pid, 0)`; EPERM: it exists, another user's).
fn pid_exists(pid: u32) -> bool {
    // 0 and -1 would ask about a process group or every process: never an engine's pid.
    let plausible = pid > 1 && pid <= 0x7fff_ffff;
    // SAFETY: kill with signal 0 only checks that the process exists.
    plausible
        && (unsafe { libc::kill(pid.cast_signed(), 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// `port` → `ports`: where an object's elements go in a snapshot.
pub fn plural(object: &str) -> String {
    format!("{object}s")
}

impl Reader {
    /// Reads and checks the segment at `path` (re-reading a copy taken while the engine was
    /// renaming something).
    pub fn open(path: &Path) -> Result<Self, ReaderError> {
        let mut last = None;
        for _ in 0..20 {
            let bytes = fs::read(path).map_err(|_| ReaderError::Missing(path.to_owned()))?;
            let mut reader = Self::from_bytes(bytes)?;
            reader.path = Some(path.to_owned());
            if u64_at(&reader.bytes, header::STRUCTURE_SEQ)? % 2 == 0 {
                return Ok(reader);
            }
            last = Some(reader);
        }
        last.ok_or_else(|| ReaderError::Missing(path.to_owned()))
    }

    /// Checks `bytes` as a segment.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, ReaderError> {
        if bytes.len() < HEADER_SIZE {
            return Err(ReaderError::Corrupt(format!(
                "{} bytes is shorter than the header",
                bytes.len()
            )));
        }
        if u64_at(&bytes, header::MAGIC)? != MAGIC {
            return Err(ReaderError::Corrupt(
                "bad magic (not a Fastpath stats segment)".into(),
            ));
        }
        let version = u32_at(&bytes, header::VERSION)?;
        if version != LAYOUT_VERSION {
            return Err(ReaderError::Version(version));
        }
        let size = u64_at(&bytes, header::SEGMENT_SIZE)?;
        if size > bytes.len() as u64 {
            return Err(ReaderError::Corrupt(format!(
                "header says {size} bytes, the file has {}",
                bytes.len()
            )));
        }
        Ok(Self { bytes, path: None })
    }

    /// Engine name.
    pub fn name(&self) -> Result<String, ReaderError> {
        text_at(&self.bytes, header::NAME, ENGINE_NAME_LEN)
    }

    /// Writer pid.
    pub fn pid(&self) -> Result<u32, ReaderError> {
        u32_at(&self.bytes, header::PID)
    }

    fn flags(&self) -> Result<u32, ReaderError> {
        u32_at(&self.bytes, header::FLAGS)
    }

    /// Not stopped and the heartbeat is under 2 s old (no system call).
    fn beating(&self) -> Result<bool, ReaderError> {
        let stopped = self.flags()? & FLAG_STOPPED != 0;
        let fresh =
            now_ns().saturating_sub(u64_at(&self.bytes, header::HEARTBEAT_NS)?) < 2_000_000_000;
        Ok(!stopped && fresh)
    }

    /// Whether the writer is alive: it has not stopped and, read from a file of an engine that
    /// holds its lock ([`FLAG_LOCKED`]), that lock is held ([`crate::lock`]: the kernel drops it
    /// when the engine dies, whatever becomes of its pid). Otherwise (bytes handed over, an
    /// older engine): its pid exists and its heartbeat is under 2 s old.
    pub fn alive(&self) -> Result<bool, ReaderError> {
        let flags = self.flags()?;
        if flags & FLAG_STOPPED != 0 {
            return Ok(false);
        }
        if let Some(path) = self.path.as_deref().filter(|_| flags & FLAG_LOCKED != 0) {
            // A file that cannot be opened again is gone or withheld: no sign of life.
            return Ok(crate::lock::held(path).unwrap_or(false));
        }
        self.alive_by_pid()
    }

    /// Whether its engine holds the file's lock for its life ([`FLAG_LOCKED`]): then the lock
    /// alone says whether it lives.
    pub fn locks(&self) -> Result<bool, ReaderError> {
        Ok(self.flags()? & FLAG_LOCKED != 0)
    }

    /// Liveness as an engine that takes no lock shows it: not stopped, its pid exists, its
    /// heartbeat is under 2 s old.
    pub fn alive_by_pid(&self) -> Result<bool, ReaderError> {
        Ok(self.beating()? && pid_exists(self.pid()?))
    }

    /// The directory, every entry checked against the segment; entries of unknown kinds are
    /// left out.
    pub fn entries(&self) -> Result<Vec<Entry>, ReaderError> {
        let b = &self.bytes;
        let size = usize::try_from(u64_at(b, header::SEGMENT_SIZE)?).unwrap_or(usize::MAX);
        let dir = u32_at(b, header::DIRECTORY_OFFSET)? as usize;
        let count = u32_at(b, header::DIRECTORY_COUNT)? as usize;
        let mut out = Vec::new();
        for i in 0..count.min(MAX_ENTRIES) {
            let at = dir + i * ENTRY_SIZE;
            let byte = |at: usize| {
                b.get(at)
                    .copied()
                    .ok_or_else(|| ReaderError::Corrupt("the directory runs past the end".into()))
            };
            let Some(kind) = Kind::from_u8(byte(at + entry::KIND)?) else {
                continue;
            };
            let e = Entry {
                name: text_at(b, at + entry::NAME, entry::NAME_LEN)?,
                kind,
                flags: byte(at + entry::FLAGS)?,
                count: u32_at(b, at + entry::COUNT)? as usize,
                stride: u32_at(b, at + entry::STRIDE)? as usize,
                copies: u32_at(b, at + entry::COPIES)? as usize,
                offset: usize::try_from(u64_at(b, at + entry::OFFSET)?).unwrap_or(usize::MAX),
                copy_stride: usize::try_from(u64_at(b, at + entry::COPY_STRIDE)?)
                    .unwrap_or(usize::MAX),
                link: text_at(b, at + entry::LINK, entry::LINK_LEN)?,
                help: text_at(b, at + entry::HELP, entry::HELP_LEN)?,
            };
            // The last byte of the last copy's last element must lie inside the segment.
            let end = (|| {
                let last_copy = e.copies.checked_sub(1)?.checked_mul(e.copy_stride)?;
                let last_element = e.count.checked_sub(1)?.checked_mul(e.stride)?;
                e.offset
                    .checked_add(last_copy)?
                    .checked_add(last_element)?
                    .checked_add(e.element_size())
            })();
            let fits = e.count == 0 || e.copies == 0 || end.is_some_and(|end| end <= size);
            // Exact strides, as the writer lays every entry out: a names element is
            // ELEMENT_SIZE bytes, elements do not overlap, and copies follow each other.
            let names_exact = e.kind != Kind::Names || e.stride == ELEMENT_SIZE || e.count <= 1;
            let apart = e.count <= 1 || e.stride >= e.element_size();
            let back_to_back =
                e.copies <= 1 || Some(e.copy_stride) == e.count.checked_mul(e.stride);
            // Zero strides could otherwise make a corrupt count loop for billions of steps.
            let bounded = e.copies <= MAX_COPIES && e.count <= size;
            if !fits || !names_exact || !apart || !back_to_back || !bounded {
                return Err(ReaderError::Corrupt(format!(
                    "entry {:?} runs past the end or is not laid out as the engine lays entries",
                    e.name
                )));
            }
            out.push(e);
        }
        Ok(out)
    }

    fn u64_of(&self, e: &Entry, copy: usize, index: usize) -> Result<u64, ReaderError> {
        u64_at(
            &self.bytes,
            e.offset + copy * e.copy_stride + index * e.stride,
        )
    }

    /// Σ over copies of element `index`.
    fn sum(&self, e: &Entry, index: usize) -> Result<u64, ReaderError> {
        (0..e.copies).try_fold(0u64, |acc, c| {
            Ok(acc.wrapping_add(self.u64_of(e, c, index)?))
        })
    }

    /// The newest complete sample: (time in Unix ns, per port [rx, tx, drops]), or `None`
    /// before the first one or when the newest slot is being rewritten.
    pub fn latest_sample(&self) -> Result<Option<Sample>, ReaderError> {
        let entries = self.entries()?;
        let ring = entries
            .iter()
            .find(|e| e.kind == Kind::Ring)
            .ok_or_else(|| ReaderError::Corrupt("no sample ring".into()))?;
        let ports = u32_at(&self.bytes, header::PORTS)? as usize;
        if ring.copies == 0 || ring.count == 0 || ring.stride < SAMPLE_HEADER + SAMPLE_PORT * ports
        {
            return Err(ReaderError::Corrupt(
                "the sample rings do not match the ports".into(),
            ));
        }
        let written = u64_at(&self.bytes, header::SAMPLES_WRITTEN)?;
        if written == 0 {
            return Ok(None);
        }
        let index = written - 1;
        // A corrupt count could make the expected sequence overflow: no such sample.
        let Some(complete) = index.checked_mul(2).and_then(|x| x.checked_add(2)) else {
            return Err(ReaderError::Corrupt(format!(
                "{written} samples written is impossible"
            )));
        };
        let mut time = 0;
        let mut values = vec![[0u64; 3]; ports];
        for c in 0..ring.copies {
            let slot = ring.offset
                + c * ring.copy_stride
                + (index % ring.count as u64) as usize * ring.stride;
            if u64_at(&self.bytes, slot + sample::SEQUENCE)? != complete {
                return Ok(None);
            }
            time = u64_at(&self.bytes, slot + sample::TIME)?;
            for (p, v) in values.iter_mut().enumerate() {
                let f = slot + SAMPLE_HEADER + p * SAMPLE_PORT;
                for (field, at) in v.iter_mut().zip([sample::RX, sample::TX, sample::DROPS]) {
                    // Wrapping: counters of a corrupt segment may be anything.
                    *field = field.wrapping_add(u64_at(&self.bytes, f + at)?);
                }
            }
        }
        Ok(Some((time, values)))
    }

    /// Every segment in `dirs`, with whether its engine is alive.
    pub fn list(dirs: &[&Path]) -> Vec<EngineListing> {
        let mut found = Vec::new();
        for dir in dirs {
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                if !e
                    .file_name()
                    .to_string_lossy()
                    .starts_with("fastpath-stats.")
                {
                    continue;
                }
                if let Ok(r) = Self::open(&e.path()) {
                    if let (Ok(name), Ok(pid), Ok(alive)) = (r.name(), r.pid(), r.alive()) {
                        found.push(EngineListing {
                            name,
                            pid,
                            alive,
                            path: e.path(),
                        });
                    }
                }
            }
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found
    }
}
