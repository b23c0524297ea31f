//! A Rust reader (the CLI's `ls` and the tests use it; JavaScript has its own, on one
//! `ArrayBuffer`). Every offset is checked against the file before it is read.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::layout::{
    entry, header, lane, names, ENTRY_SIZE, FLAG_STOPPED, HEADER_SIZE, LAYOUT_VERSION, MAGIC,
    NAME_LEN, SAMPLE_SLOTS,
};
use crate::segment::now_ns;

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

/// Counters of one port, summed over lcores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Per port: (name, rx, tx, tx dropped, unrouted).
    pub ports: Vec<(String, [u64; 4])>,
}

/// One sample of the ring: (time in Unix ns, per port [rx, tx, drops]).
pub type Sample = (u64, Vec<[u64; 3]>);

/// An engine found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineListing {
    /// Its name (EAL file prefix).
    pub name: String,
    /// Writer pid.
    pub pid: u32,
    /// Whether the pid lives and the heartbeat is recent.
    pub alive: bool,
    /// The file.
    pub path: PathBuf,
}

/// A segment read into memory (a copy: fine for tools; JS maps it instead).
#[derive(Debug)]
pub struct Reader {
    bytes: Vec<u8>,
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, ReaderError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes(s.try_into().unwrap_or_default()))
        .ok_or_else(|| {
            ReaderError::Corrupt(format!("offset {at} is past the end ({} bytes)", b.len()))
        })
}

fn u64_at(b: &[u8], at: usize) -> Result<u64, ReaderError> {
    b.get(at..at + 8)
        .map(|s| u64::from_le_bytes(s.try_into().unwrap_or_default()))
        .ok_or_else(|| {
            ReaderError::Corrupt(format!("offset {at} is past the end ({} bytes)", b.len()))
        })
}

fn name_at(b: &[u8], at: usize, len: usize) -> Result<String, ReaderError> {
    let raw = b
        .get(at..at + len)
        .ok_or_else(|| ReaderError::Corrupt(format!("name at {at} is past the end")))?;
    let end = raw.iter().position(|&c| c == 0).unwrap_or(len);
    Ok(String::from_utf8_lossy(&raw[..end]).into_owned())
}

impl Reader {
    /// Reads and checks the segment at `path`.
    pub fn open(path: &Path) -> Result<Self, ReaderError> {
        let bytes = fs::read(path).map_err(|_| ReaderError::Missing(path.to_owned()))?;
        Self::from_bytes(bytes)
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
        Ok(Self { bytes })
    }

    /// (offset, count, stride) of entry `name`.
    fn entry(&self, name: &str) -> Result<(usize, usize, usize), ReaderError> {
        let b = &self.bytes;
        let dir = u32_at(b, header::DIRECTORY_OFFSET)? as usize;
        let count = u32_at(b, header::DIRECTORY_COUNT)? as usize;
        for i in 0..count.min(1024) {
            let at = dir + i * ENTRY_SIZE;
            if name_at(b, at + entry::NAME, NAME_LEN)? == name {
                let offset = usize::try_from(u64_at(b, at + entry::OFFSET)?).unwrap_or(usize::MAX);
                let n = u32_at(b, at + entry::COUNT)? as usize;
                let stride = u32_at(b, at + entry::STRIDE)? as usize;
                if offset
                    .checked_add(n.saturating_mul(stride))
                    .is_none_or(|end| end > b.len())
                {
                    return Err(ReaderError::Corrupt(format!(
                        "entry {name:?} runs past the end"
                    )));
                }
                return Ok((offset, n, stride));
            }
        }
        Err(ReaderError::Corrupt(format!("no {name:?} entry")))
    }

    /// Engine name.
    pub fn name(&self) -> Result<String, ReaderError> {
        name_at(&self.bytes, header::NAME, 64)
    }

    /// Writer pid.
    pub fn pid(&self) -> Result<u32, ReaderError> {
        u32_at(&self.bytes, header::PID)
    }

    /// Whether the writer is alive: not stopped, its pid exists, its heartbeat is under 2 s old.
    pub fn alive(&self) -> Result<bool, ReaderError> {
        let stopped = u32_at(&self.bytes, header::FLAGS)? & FLAG_STOPPED != 0;
        let pid = self.pid()?;
        // 0 and -1 would ask about a process group or every process: never an engine's pid.
        let plausible = pid > 1 && pid <= 0x7fff_ffff;
        // SAFETY: kill with signal 0 only checks that the process exists.
        let exists = plausible
            && (unsafe { libc::kill(pid.cast_signed(), 0) } == 0
                || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM));
        let fresh =
            now_ns().saturating_sub(u64_at(&self.bytes, header::HEARTBEAT_NS)?) < 2_000_000_000;
        Ok(!stopped && exists && fresh)
    }

    /// Per-port counters summed over lcores.
    pub fn snapshot(&self) -> Result<Snapshot, ReaderError> {
        let (ports_at, ports, pstride) = self.entry(names::PORTS)?;
        let (lanes_at, lanes, lstride) = self.entry(names::LANES)?;
        if ports == 0 || lanes % ports != 0 {
            return Err(ReaderError::Corrupt(format!(
                "{lanes} lanes do not divide among {ports} ports"
            )));
        }
        let mut out = Vec::with_capacity(ports);
        for p in 0..ports {
            let mut sums = [0u64; 4];
            for l in 0..lanes / ports {
                let at = lanes_at + (l * ports + p) * lstride;
                for (k, field) in [
                    lane::RX_PACKETS,
                    lane::TX_PACKETS,
                    lane::TX_DROPPED,
                    lane::UNROUTED,
                ]
                .into_iter()
                .enumerate()
                {
                    sums[k] = sums[k].wrapping_add(u64_at(&self.bytes, at + field)?);
                }
            }
            out.push((
                name_at(&self.bytes, ports_at + p * pstride, NAME_LEN)?,
                sums,
            ));
        }
        Ok(Snapshot { ports: out })
    }

    /// The newest complete sample: (time in Unix ns, per port [rx, tx, drops]), or `None`
    /// before the first one or when the newest slot is being rewritten.
    pub fn latest_sample(&self) -> Result<Option<Sample>, ReaderError> {
        let (at, count, stride) = self.entry(names::SAMPLES)?;
        let (_, ports, _) = self.entry(names::PORTS)?;
        let (_, lcores, _) = self.entry(names::LCORES)?;
        if lcores == 0 || count != lcores * SAMPLE_SLOTS || stride < 16 + 24 * ports {
            return Err(ReaderError::Corrupt(
                "the sample rings do not match the lcores and ports".into(),
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
        for l in 0..lcores {
            let slot = at + (l * SAMPLE_SLOTS + (index % SAMPLE_SLOTS as u64) as usize) * stride;
            if u64_at(&self.bytes, slot)? != complete {
                return Ok(None);
            }
            time = u64_at(&self.bytes, slot + 8)?;
            for (p, v) in values.iter_mut().enumerate() {
                let f = slot + 16 + p * 24;
                for (k, field) in v.iter_mut().enumerate() {
                    // Wrapping: counters of a corrupt segment may be anything.
                    *field = field.wrapping_add(u64_at(&self.bytes, f + k * 8)?);
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
