//! Counter slots of pipelines (`pipeline/…`) and of their match rules (`rule/…`), given by
//! name and kept for the engine's life, and the per-worker counters the workers write there:
//! pipelines', rules', the poll loop's, and the test-only extra entries.

use std::sync::atomic::AtomicU64;

use super::Segment;
use crate::layout::{
    ELEMENT_NAME_LEN, ELEMENT_SIZE, HISTOGRAM_WORDS, LINE, LOOP_FIELDS, PIPELINE_FIELDS,
    PIPELINE_SLOTS, RULE_SLOTS,
};

impl Segment {
    /// The counter slot for pipeline `name`: the same slot every time the name comes back
    /// (so its counters carry across live changes), a new one for a new name, or `None` when
    /// all [`PIPELINE_SLOTS`] are taken. Called by the control thread only.
    pub fn pipeline_slot(&self, name: &str) -> Option<usize> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = slots.0.iter().position(|n| n == name) {
            return Some(i);
        }
        let i = slots.0.len();
        if i == PIPELINE_SLOTS {
            return None;
        }
        self.write_text(
            self.blocks.pipeline_names + i * ELEMENT_SIZE,
            ELEMENT_NAME_LEN,
            name,
            None,
        );
        slots.0.push(name.to_owned());
        Some(i)
    }

    /// The counter slot for match stage `name` of pipeline slot `pipeline` (as for pipelines).
    pub fn rule_slot(&self, pipeline: usize, name: &str) -> Option<usize> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = slots
            .1
            .iter()
            .position(|(p, n)| *p == pipeline && n == name)
        {
            return Some(i);
        }
        let i = slots.1.len();
        if i == RULE_SLOTS {
            return None;
        }
        self.write_text(
            self.blocks.rule_names + i * ELEMENT_SIZE,
            ELEMENT_NAME_LEN,
            name,
            Some(pipeline as u32),
        );
        slots.1.push((pipeline, name.to_owned()));
        Some(i)
    }

    /// Worker `w`'s counters for pipeline slot `slot`: in, out, dropped, generated, probes
    /// lost, probes reordered, pace missed ([`PIPELINE_FIELDS`]).
    #[allow(clippy::cast_ptr_alignment)] // cache-line aligned inside a page-aligned mapping
    pub fn pipeline_counters(&self, w: usize, slot: usize) -> &[AtomicU64; PIPELINE_FIELDS] {
        assert!(
            w < self.workers && slot < PIPELINE_SLOTS,
            "pipeline counter slot out of range"
        );
        // SAFETY: in range (checked), 64-byte aligned, zero-initialised u64s in the mapping.
        unsafe {
            &*self
                .base
                .as_ptr()
                .add(
                    self.blocks.pipeline_counters
                        + (w * PIPELINE_SLOTS + slot) * PIPELINE_FIELDS * 8,
                )
                .cast::<[AtomicU64; PIPELINE_FIELDS]>()
        }
    }

    /// Worker `w`'s `pipeline/latency` (or, `probes`, `pipeline/probes`) record for pipeline
    /// slot `slot` ([`crate::histogram`]). One writer: that worker.
    #[allow(clippy::cast_ptr_alignment)] // 8-byte aligned inside a page-aligned mapping
    pub fn pipeline_histogram(
        &self,
        w: usize,
        slot: usize,
        probes: bool,
    ) -> &[AtomicU64; HISTOGRAM_WORDS] {
        assert!(
            w < self.workers && slot < PIPELINE_SLOTS,
            "pipeline histogram slot out of range"
        );
        let block = if probes {
            self.blocks.probes
        } else {
            self.blocks.latency
        };
        let bytes = HISTOGRAM_WORDS * 8;
        // SAFETY: in range (checked), 8-byte aligned, zero-initialised u64s in the mapping.
        unsafe {
            &*self
                .base
                .as_ptr()
                .add(block + (w * PIPELINE_SLOTS + slot) * bytes)
                .cast::<[AtomicU64; HISTOGRAM_WORDS]>()
        }
    }

    /// Worker `w`'s counter for rule slot `slot`.
    pub fn rule_counter(&self, w: usize, slot: usize) -> &AtomicU64 {
        assert!(
            w < self.workers && slot < RULE_SLOTS,
            "rule counter slot out of range"
        );
        self.word64(self.blocks.rule_counters + (w * RULE_SLOTS + slot) * 8)
    }

    /// Worker `w`'s loop counters: iterations, idle iterations, busy cycles, idle cycles.
    /// One writer: that worker.
    #[allow(clippy::cast_ptr_alignment)] // cache-line aligned inside a page-aligned mapping
    pub fn loops(&self, w: usize) -> Option<&[AtomicU64; LOOP_FIELDS]> {
        // SAFETY: the line of worker `w < workers` is 64 aligned bytes inside the mapping.
        (w < self.workers).then(|| unsafe {
            &*self
                .base
                .as_ptr()
                .add(self.blocks.loops + w * LINE)
                .cast::<[AtomicU64; LOOP_FIELDS]>()
        })
    }

    /// Extra counter `i` of the spec ([`SegmentSpec::extra`]): worker `w`'s value for
    /// element `element`, or `None` out of range.
    pub fn extra(&self, i: usize, w: usize, element: usize) -> Option<&AtomicU64> {
        let &(offset, n) = self.blocks.extra.get(i)?;
        (w < self.workers && element < n).then(|| self.word64(offset + (w * n + element) * 8))
    }
}
