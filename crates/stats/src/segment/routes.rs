//! Counter slots of route stages (`route/…`, under their pipeline) and of their next hops
//! (`nextHop/…`, under their route stage): given by name, kept for the engine's life, so a
//! stage's counts carry across live changes as a match stage's do.

use std::sync::atomic::AtomicU64;
use std::sync::PoisonError;

use super::Segment;
use crate::layout::{ELEMENT_NAME_LEN, ELEMENT_SIZE, NEXT_HOP_SLOTS, ROUTE_FIELDS, ROUTE_SLOTS};

/// Names given slots so far: (pipeline slot, route stage name), (route slot, next hop name).
pub(super) type RouteSlots = (Vec<(usize, String)>, Vec<(usize, String)>);

/// The slot of (`parent`, `name`) in `taken`, a new one, or `None` when `max` are taken;
/// `name_at(i)` is where a new slot's name goes.
fn slot(
    segment: &Segment,
    taken: &mut Vec<(usize, String)>,
    max: usize,
    names: usize,
    parent: usize,
    name: &str,
) -> Option<usize> {
    if let Some(i) = taken.iter().position(|(p, n)| *p == parent && n == name) {
        return Some(i);
    }
    let i = taken.len();
    if i == max {
        return None;
    }
    segment.write_text(
        names + i * ELEMENT_SIZE,
        ELEMENT_NAME_LEN,
        name,
        Some(parent as u32),
    );
    taken.push((parent, name.to_owned()));
    Some(i)
}

impl Segment {
    /// The counter slot for route stage `name` of pipeline slot `pipeline` (as for rules):
    /// `None` when all [`ROUTE_SLOTS`] are taken. Called by the control thread only.
    pub fn route_slot(&self, pipeline: usize, name: &str) -> Option<usize> {
        let mut slots = self
            .route_slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let names = self.blocks.route_names;
        slot(self, &mut slots.0, ROUTE_SLOTS, names, pipeline, name)
    }

    /// The counter slot for next hop `name` of route slot `route`: `None` when all
    /// [`NEXT_HOP_SLOTS`] are taken.
    pub fn next_hop_slot(&self, route: usize, name: &str) -> Option<usize> {
        let mut slots = self
            .route_slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let names = self.blocks.next_hop_names;
        slot(self, &mut slots.1, NEXT_HOP_SLOTS, names, route, name)
    }

    /// Worker `w`'s counters for route slot `slot`: noRoute, ttlExpired, badHeader, notIp.
    #[allow(clippy::cast_ptr_alignment)] // 32-byte aligned inside a page-aligned mapping
    pub fn route_counters(&self, w: usize, slot: usize) -> &[AtomicU64; ROUTE_FIELDS] {
        assert!(
            w < self.workers && slot < ROUTE_SLOTS,
            "route counter slot out of range"
        );
        let at = self.blocks.route_counters + (w * ROUTE_SLOTS + slot) * ROUTE_FIELDS * 8;
        assert!(
            at + ROUTE_FIELDS * 8 <= self.used,
            "route counters out of range"
        );
        // SAFETY: in range (checked), 32-byte aligned, zero-initialised u64s in the mapping,
        // which lives as long as self.
        unsafe {
            &*self
                .base
                .as_ptr()
                .add(at)
                .cast::<[AtomicU64; ROUTE_FIELDS]>()
        }
    }

    /// Worker `w`'s forwarded counter for next hop slot `slot` (inlined: a route stage asks
    /// per packet).
    #[inline]
    pub fn next_hop_counter(&self, w: usize, slot: usize) -> &AtomicU64 {
        assert!(
            w < self.workers && slot < NEXT_HOP_SLOTS,
            "next hop counter slot out of range"
        );
        self.word64(self.blocks.next_hop_counters + (w * NEXT_HOP_SLOTS + slot) * 8)
    }
}
