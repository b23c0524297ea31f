//! The shared-memory stats segment (docs/stats-layout.md is the byte contract).
//!
//! One file per engine, in hugetlbfs when one is mounted, else in `/dev/shm`, mapped by the
//! engine read-write and by any reader read-only. It is self-describing: a header (magic,
//! layout version, pid, start time, heartbeat), then a directory of named entries that point
//! at their data by offset, then the data: name tables and the per-lcore counter lanes that
//! the workers write with plain relaxed stores once per burst.

mod layout;
mod reader;
mod segment;

pub use layout::*;
pub use reader::{EngineListing, Reader, ReaderError, Sample, Snapshot};
pub use segment::{file_name, now_ns, segment_size, Mapping, MemorySummary, Segment, SegmentSpec};
