//! The shared-memory stats segment (docs/stats-layout.md is the byte contract).
//!
//! One file per engine, in hugetlbfs when one is mounted, else in `/dev/shm`, mapped by the
//! engine read-write and by any reader read-only. It describes itself: a header (magic,
//! layout version, pid, start time, heartbeat), then a directory of named, typed entries
//! ([`Kind`]: scalar, per-worker counter vector, name vector, histogram, sample ring, text)
//! that point at their data by offset. Readers decode entries by kind, so a counter added to
//! the [`CATALOGUE`] reaches every reader without a change to any of them.

mod catalogue;
mod directory;
pub mod histogram;
mod layout;
pub mod lock;
mod mapping;
mod reader;
mod segment;
pub mod typescript;

pub use catalogue::{find, EntryDef, CATALOGUE};
pub use directory::segment_size;
pub use layout::*;
pub use mapping::Mapping;
pub use reader::{plural, EngineListing, Entry, Reader, ReaderError, Sample};
pub use segment::{file_name, now_ns, MemorySummary, Scalar, Segment, SegmentSpec, WorkerView};
