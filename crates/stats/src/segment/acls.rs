//! Counter slots of ACL stages (`acl/…`, under their pipeline) and of their rules
//! (`aclRule/…`, under their ACL stage): given by name, kept for the engine's life, so a
//! rule's hits carry across live changes as a match stage's do. Rules are many (thousands per
//! stage), so they are found by a map, not a scan.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::PoisonError;

use super::Segment;
use crate::layout::{ACL_RULE_SLOTS, ACL_SLOTS, ELEMENT_NAME_LEN, ELEMENT_SIZE};

/// Names given slots so far: (pipeline slot, ACL stage name) in slot order, and
/// (ACL slot, rule name) → rule slot.
#[derive(Debug, Default)]
pub(super) struct AclSlots {
    stages: Vec<(usize, String)>,
    rules: HashMap<(usize, String), usize>,
}

impl Segment {
    /// The counter slot for ACL stage `name` of pipeline slot `pipeline` (as for rules):
    /// `None` when all [`ACL_SLOTS`] are taken. Called by the control thread only.
    pub fn acl_slot(&self, pipeline: usize, name: &str) -> Option<usize> {
        let mut slots = self
            .acl_slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = slots
            .stages
            .iter()
            .position(|(p, n)| *p == pipeline && n == name)
        {
            return Some(i);
        }
        let i = slots.stages.len();
        if i == ACL_SLOTS {
            return None;
        }
        self.write_text(
            self.blocks.acl_names + i * ELEMENT_SIZE,
            ELEMENT_NAME_LEN,
            name,
            Some(pipeline as u32),
        );
        slots.stages.push((pipeline, name.to_owned()));
        Some(i)
    }

    /// The counter slot for rule `name` of ACL slot `acl`: `None` when all
    /// [`ACL_RULE_SLOTS`] are taken.
    pub fn acl_rule_slot(&self, acl: usize, name: &str) -> Option<usize> {
        let mut slots = self
            .acl_slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let key = (acl, name.to_owned());
        if let Some(&i) = slots.rules.get(&key) {
            return Some(i);
        }
        let i = slots.rules.len();
        if i == ACL_RULE_SLOTS {
            return None;
        }
        self.write_text(
            self.blocks.acl_rule_names + i * ELEMENT_SIZE,
            ELEMENT_NAME_LEN,
            name,
            Some(acl as u32),
        );
        slots.rules.insert(key, i);
        Some(i)
    }

    /// Worker `w`'s count of packets ACL slot `slot` matched no rule of.
    #[inline]
    pub fn acl_unmatched_counter(&self, w: usize, slot: usize) -> &AtomicU64 {
        assert!(
            w < self.workers && slot < ACL_SLOTS,
            "ACL counter slot out of range"
        );
        self.word64(self.blocks.acl_counters + (w * ACL_SLOTS + slot) * 8)
    }

    /// Worker `w`'s hit counter for ACL rule slot `slot` (inlined: an ACL asks per packet).
    #[inline]
    pub fn acl_rule_counter(&self, w: usize, slot: usize) -> &AtomicU64 {
        assert!(
            w < self.workers && slot < ACL_RULE_SLOTS,
            "ACL rule counter slot out of range"
        );
        self.word64(self.blocks.acl_rule_counters + (w * ACL_RULE_SLOTS + slot) * 8)
    }
}
