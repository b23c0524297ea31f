//! A worker's busy/idle accounting: iterations, idle iterations and TSC cycles, published to
//! the stats segment for `top`'s busy %.
//!
//! Kept apart from the poll loop because it is the one piece of the loop with its own state
//! machine (when to read the TSC, which state the elapsed cycles belong to), and because it
//! must stay cheap: the TSC is read only where the state changes and once per publication.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A worker's poll-loop load: iterations, idle iterations, and TSC cycles spent busy and
/// idle, published to its `lcore` element of the stats segment every 64 iterations (busy % in `top`).
///
/// The TSC is read where the state changes: as the first work of an iteration after idle
/// ones starts (the time before was idle), at the end of the first idle iteration after
/// busy ones (the time before was busy, that one empty poll included), and at each
/// publication. A saturated (or idle) lcore reads it once per 64 iterations.
pub(super) struct Load {
    /// In the segment's order ([`stats::LOOP_FIELDS`]): iterations, idle iterations, busy cycles, idle cycles.
    tally: [u64; stats::LOOP_FIELDS],
    last_tsc: u64,
    /// Whether the previous iteration did work.
    prev_busy: bool,
    /// Whether this iteration already closed the idle time before it.
    idle_closed: bool,
}

/// Iterations between publications: readers look at rates over 100s of ms, so every 64
/// iterations is plenty.
const PUBLISH_EVERY: u64 = 64;

impl Load {
    pub(super) fn new(counting: bool) -> Self {
        Self {
            tally: [0; stats::LOOP_FIELDS],
            last_tsc: if counting { dpdk::tsc() } else { 0 },
            prev_busy: true,
            idle_closed: false,
        }
    }

    /// This iteration is about to do work (packets arrived, or a generator may make some):
    /// after idle iterations, the time so far was idle.
    #[inline]
    pub(super) fn work_starts(&mut self) {
        if !self.prev_busy && !self.idle_closed {
            let now = dpdk::tsc();
            self.tally[3] += now.wrapping_sub(self.last_tsc);
            self.last_tsc = now;
            self.idle_closed = true;
        }
    }

    /// Ends an iteration that did work (`busy`) or not; publishes every 64 iterations.
    /// Inlined, for a saturated worker's usual case (busy after busy, no publication: one
    /// count); the rest is [`Self::state_changes`].
    #[inline]
    pub(super) fn iteration_ends(
        &mut self,
        busy: bool,
        loops: Option<&[AtomicU64; stats::LOOP_FIELDS]>,
    ) {
        self.tally[0] += 1;
        // Busy after busy leaves `idle_closed` false (only an iteration after an idle one
        // sets it) and `prev_busy` true: nothing else to do until the next publication.
        if busy && self.prev_busy && !self.tally[0].is_multiple_of(PUBLISH_EVERY) {
            return;
        }
        self.state_changes(busy, loops);
    }

    /// The rest of [`Self::iteration_ends`]: idle iterations, the change between busy and
    /// idle (where the TSC is read), and publication.
    #[inline(never)]
    fn state_changes(&mut self, busy: bool, loops: Option<&[AtomicU64; stats::LOOP_FIELDS]>) {
        self.tally[1] += u64::from(!busy);
        let publish = self.tally[0].is_multiple_of(PUBLISH_EVERY);
        if publish || (self.prev_busy && !busy) {
            let now = dpdk::tsc();
            let field = if busy || self.prev_busy { 2 } else { 3 };
            self.tally[field] += now.wrapping_sub(self.last_tsc);
            self.last_tsc = now;
        }
        self.prev_busy = busy;
        self.idle_closed = false;
        if publish {
            if let Some(fields) = loops {
                for (field, value) in fields.iter().zip(self.tally) {
                    field.store(value, Relaxed);
                }
            }
        }
    }
}
