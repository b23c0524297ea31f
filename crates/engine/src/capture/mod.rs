//! Live capture: copies of the packets a pipeline receives, sends or drops, filtered by a
//! tcpdump expression, into a shared-memory ring a client reads as pcapng
//! (`fastpath capture`, `engine.capture()`).
//!
//! - [`Taps`] is what the workers see: up to [`MAX_CAPTURES`] running captures behind one
//!   counter. With none running, a worker's whole cost is one relaxed load and a branch per
//!   burst (`Taps::any`).
//! - A [`Tap`] is one capture: its pipeline, its point, its compiled filter and its
//!   [`ring::Ring`]. Workers run the filter on each packet of a burst and copy what matches
//!   (at most the snaplen) into their own lane; a full lane drops the copy and counts it.
//! - The control side (`control/capture.rs`) creates taps on `capture.start` and removes them
//!   on `capture.stop`, when the client's control connection closes (a killed client), or when
//!   the engine stops: it unlinks the tap first, waits a grace period (every worker past a
//!   burst boundary, the RCU's), marks the ring stopped and removes its file.
//! - [`reader::Reader`] is the client's half: it maps the ring and turns records into pcapng
//!   enhanced packet blocks behind the section and interface blocks `librte_pcapng` wrote.

pub mod reader;
pub mod ring;

use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use dpdk::{Mbuf, PacketFilter};

use ring::Ring;

/// Captures that may run at once.
pub const MAX_CAPTURES: usize = 8;

/// Where in a pipeline a capture copies packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// As they come in from a port, before any stage.
    Input,
    /// As the pipeline hands them to a port (mirror copies and floods included).
    Output,
    /// Those the pipeline's stages drop.
    Drops,
}

impl Point {
    /// Its name in requests and files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Output => "output",
            Self::Drops => "drops",
        }
    }

    /// The point a name names.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "input" => Some(Self::Input),
            "output" => Some(Self::Output),
            "drops" => Some(Self::Drops),
            _ => None,
        }
    }
}

/// One running capture, as the workers see it.
#[derive(Debug)]
pub struct Tap {
    /// The pipeline's name, or `None`: every pipeline.
    pub pipeline: Option<String>,
    /// Where.
    pub point: Point,
    /// Which packets (`None`: all).
    pub filter: Option<PacketFilter>,
    /// The longest copy.
    pub snaplen: u32,
    /// Where copies go.
    pub ring: Ring,
}

impl Tap {
    /// Whether it captures pipeline `name` at `point`.
    #[inline]
    pub fn wants(&self, name: &str, point: Point) -> bool {
        self.point == point && self.pipeline.as_deref().is_none_or(|p| p == name)
    }

    /// Copies `m` into `lane` if its filter matches.
    #[inline]
    pub fn copy(&self, writer: &mut ring::Writer<'_>, m: &Mbuf, port: u16, flags: u16, tsc: u64) {
        if self.filter.as_ref().is_some_and(|f| !f.matches(m)) {
            return;
        }
        let data = m.data();
        let cut = data.len().min(self.snaplen as usize);
        writer.push(port, flags, tsc, m.len() as u32, &data[..cut]);
    }
}

/// The running captures, shared by the control side and the workers.
#[derive(Debug)]
pub struct Taps {
    running: AtomicU32,
    slots: [AtomicPtr<Tap>; MAX_CAPTURES],
}

impl Default for Taps {
    fn default() -> Self {
        Self {
            running: AtomicU32::new(0),
            slots: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
        }
    }
}

impl Taps {
    /// Whether any capture runs: the one check a worker makes per burst.
    #[inline]
    pub fn any(&self) -> bool {
        self.running.load(Ordering::Relaxed) != 0
    }

    /// Calls `f` with each running tap.
    ///
    /// # Safety
    /// Only a worker, within one iteration of its loop (after acknowledging the current
    /// generation): [`Taps::remove`]'s caller waits for a grace period before it frees a
    /// tap, so a tap seen here lives until the worker's next acknowledgement.
    #[inline]
    pub unsafe fn each(&self, mut f: impl FnMut(&Tap)) {
        for slot in &self.slots {
            let tap = slot.load(Ordering::Acquire);
            if !tap.is_null() {
                // SAFETY: see above: published by `install`, freed only after a grace period
                // that follows its unlinking.
                f(unsafe { &*tap });
            }
        }
    }

    /// Installs `tap` in a free slot; its index, or the tap back when all are taken.
    pub(crate) fn install(&self, tap: Box<Tap>) -> Result<usize, Box<Tap>> {
        let raw = Box::into_raw(tap);
        for (i, slot) in self.slots.iter().enumerate() {
            if slot
                .compare_exchange(
                    std::ptr::null_mut(),
                    raw,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                self.running.fetch_add(1, Ordering::AcqRel);
                return Ok(i);
            }
        }
        // SAFETY: `raw` came from Box::into_raw above and was published nowhere.
        Err(unsafe { Box::from_raw(raw) })
    }

    /// Packets copied and copies dropped so far by the tap of slot `i`.
    ///
    /// Only the control side calls it, holding the control lock under which taps are
    /// unlinked and freed, so the tap cannot go meanwhile.
    pub(crate) fn counts(&self, i: usize) -> (u64, u64) {
        let raw = self
            .slots
            .get(i)
            .map_or(std::ptr::null_mut(), |s| s.load(Ordering::Acquire));
        if raw.is_null() {
            return (0, 0);
        }
        // SAFETY: see above.
        unsafe { &*raw }.ring.counts()
    }

    /// Unlinks the tap of slot `i`. The caller must let a grace period pass (every worker
    /// past a burst boundary) before it drops the tap.
    pub(crate) fn unlink(&self, i: usize) -> Option<Box<Tap>> {
        let raw = self
            .slots
            .get(i)?
            .swap(std::ptr::null_mut(), Ordering::AcqRel);
        if raw.is_null() {
            return None;
        }
        self.running.fetch_sub(1, Ordering::AcqRel);
        // SAFETY: `raw` came from Box::into_raw in `install`, and the slot no longer holds it.
        Some(unsafe { Box::from_raw(raw) })
    }
}

impl Drop for Taps {
    fn drop(&mut self) {
        // Workers are gone when the shared state is dropped.
        for i in 0..MAX_CAPTURES {
            drop(self.unlink(i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ring::{Layout, Ring};
    use super::*;

    fn tap(path: &std::path::Path, point: Point, pipeline: Option<&str>) -> Box<Tap> {
        let _ = std::fs::remove_file(path);
        let layout = Layout {
            lanes: 1,
            lane_bytes: 1,
            tsc_hz: 1,
            tsc_base: 0,
            ns_base: 0,
            pcapng: Vec::new(),
            snaplen: 64,
            interfaces: Vec::new(),
        };
        Box::new(Tap {
            pipeline: pipeline.map(str::to_owned),
            point,
            filter: None,
            snaplen: 64,
            ring: Ring::create(path, &layout).unwrap(),
        })
    }

    #[test]
    fn taps_fill_eight_slots_and_the_workers_check_says_whether_any_runs() {
        let taps = Taps::default();
        assert!(!taps.any());
        let dir = std::env::temp_dir();
        let paths: Vec<_> = (0..=MAX_CAPTURES)
            .map(|i| dir.join(format!("fastpath-taps-test-{}-{i}", std::process::id())))
            .collect();
        for (i, path) in paths.iter().take(MAX_CAPTURES).enumerate() {
            assert_eq!(
                taps.install(tap(path, Point::Input, Some("edge"))).unwrap(),
                i
            );
        }
        assert!(taps.any());
        let refused = taps.install(tap(&paths[MAX_CAPTURES], Point::Output, None));
        assert!(refused.is_err(), "a ninth capture has no slot");
        let mut seen = 0;
        // SAFETY: no other thread unlinks taps in this test.
        unsafe { taps.each(|t| seen += usize::from(t.wants("edge", Point::Input))) };
        assert_eq!(seen, MAX_CAPTURES);
        for i in 0..MAX_CAPTURES {
            assert!(taps.unlink(i).is_some());
            assert!(taps.unlink(i).is_none(), "a slot is unlinked once");
        }
        assert!(!taps.any());
        for path in &paths {
            let _ = std::fs::remove_file(path);
        }
    }

    #[test]
    fn a_tap_wants_its_pipeline_and_point_only() {
        let path = std::env::temp_dir().join(format!("fastpath-wants-test-{}", std::process::id()));
        let every = tap(&path, Point::Drops, None);
        assert!(every.wants("a", Point::Drops) && every.wants("b", Point::Drops));
        assert!(!every.wants("a", Point::Input));
        drop(every);
        let one = tap(&path, Point::Output, Some("a"));
        assert!(one.wants("a", Point::Output) && !one.wants("b", Point::Output));
        drop(one);
        let _ = std::fs::remove_file(&path);
        assert_eq!(Point::parse("drops"), Some(Point::Drops));
        assert_eq!(Point::parse("Input"), None);
        assert_eq!(Point::Output.as_str(), "output");
    }
}
