//! [`WorkerView`]: one worker's part of the segment with its addresses worked out once.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::Segment;
use crate::layout::{Lane, PIPELINE_FIELDS, PIPELINE_SLOTS};

/// What a worker's loop touches on every burst, each a bounds check and a load away: its
/// lane per port, the ports' link states and its pipeline counters. The segment's own
/// accessors ([`Segment::lanes`], [`Segment::link_up`], [`Segment::pipeline_counters`])
/// resolve the same addresses on every call (a multiply, the block's offset, a range check
/// against the whole segment: about 10 instructions each, several times a burst); this view
/// resolves them through those accessors once, when the worker starts, and holds the segment
/// so that they stay valid.
#[derive(Debug, Clone)]
pub struct WorkerView {
    /// This worker's lanes, one per port.
    lanes: NonNull<Lane>,
    /// Port 0's link word; port `p`'s is `LINK_STRIDE` words further.
    links: NonNull<AtomicU64>,
    /// This worker's pipeline counters, slot 0 (`PIPELINE_SLOTS` rows follow).
    pipelines: NonNull<[AtomicU64; PIPELINE_FIELDS]>,
    ports: usize,
    /// Keeps the mapping the pointers point into.
    _segment: Arc<Segment>,
}

// SAFETY: the pointers are into the segment's shared mapping, which `segment` keeps alive;
// everything behind them is atomics.
unsafe impl Send for WorkerView {}
// SAFETY: as above.
unsafe impl Sync for WorkerView {}

/// Words between two ports' link words (one cache line per port).
const LINK_STRIDE: usize = crate::layout::LINE / 8;

impl WorkerView {
    /// Worker `w`'s view of `segment`, or `None` past its last worker.
    pub fn new(segment: &Arc<Segment>, w: usize) -> Option<Self> {
        if w >= segment.workers {
            return None;
        }
        let ports = segment.ports;
        let lanes = NonNull::from(&segment.lanes()[w * ports..(w + 1) * ports]).cast::<Lane>();
        let pipelines = NonNull::from(segment.pipeline_counters(w, 0));
        // No ports, no link words: `link_up` never reads it then.
        let links = if ports == 0 {
            NonNull::dangling()
        } else {
            NonNull::from(segment.link_word(0))
        };
        Some(Self {
            lanes,
            links,
            pipelines,
            ports,
            _segment: Arc::clone(segment),
        })
    }

    /// The lane for port `p`.
    ///
    /// # Panics
    /// For a port past the last.
    #[inline]
    pub fn lane(&self, p: usize) -> &Lane {
        assert!(p < self.ports, "lane of port {p} out of range");
        // SAFETY: one of this worker's `ports` lanes, alive as long as the segment.
        unsafe { self.lanes.add(p).as_ref() }
    }

    /// Whether port `p`'s link is up, as [`Segment::link_up`] (a port past the last counts
    /// as up).
    #[inline]
    pub fn link_up(&self, p: usize) -> bool {
        p >= self.ports || self.link(p).load(Ordering::Relaxed) != 0
    }

    /// Port `p`'s link word (non-zero while the link is up), for a loop that keeps the
    /// reference and reads it on every burst.
    ///
    /// # Panics
    /// For a port past the last.
    #[inline]
    pub fn link(&self, p: usize) -> &AtomicU64 {
        assert!(p < self.ports, "link word of port {p} out of range");
        // SAFETY: port `p < ports` has a link word `p` lines past port 0's.
        unsafe { self.links.add(p * LINK_STRIDE).as_ref() }
    }

    /// This worker's counters for pipeline slot `slot`, as [`Segment::pipeline_counters`].
    ///
    /// # Panics
    /// For a slot past [`PIPELINE_SLOTS`].
    #[inline]
    pub fn pipeline(&self, slot: usize) -> &[AtomicU64; PIPELINE_FIELDS] {
        assert!(slot < PIPELINE_SLOTS, "pipeline counter slot out of range");
        // SAFETY: this worker's rows are contiguous, `PIPELINE_SLOTS` of them.
        unsafe { self.pipelines.add(slot).as_ref() }
    }
}
