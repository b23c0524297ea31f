//! The workers' side of live capture (see [`crate::capture`]): after a burst comes in, and
//! again once its stages have decided where each packet goes, every running capture of the
//! pipeline at that point runs its filter on the packets and copies the matches into this
//! worker's lane of its ring. Called only when a capture runs ([`crate::capture::Taps::any`],
//! the loop's one check per burst), so the loop without captures is the loop it was.

use dpdk::Mbuf;

use super::Worker;
use crate::capture::ring::{DROPPED, INBOUND, OUTBOUND};
use crate::capture::Point;
use crate::compile::Pipeline;
use crate::stages::{DROP, FLOOD};

/// Where a burst's packets went, for the `output` and `drops` points.
pub(super) enum Verdicts<'a> {
    /// Each packet's own verdict.
    Each(&'a [u16]),
    /// One verdict for the whole burst.
    All(u16),
}

impl Worker {
    /// Copies a burst just received on `in_port` for the captures at `input`.
    #[cold]
    #[inline(never)]
    pub(super) fn capture_input(&self, pipeline: &Pipeline, in_port: u16, burst: &[Mbuf]) {
        // Generated packets come from no port: they show at `output`.
        if in_port == DROP {
            return;
        }
        let tsc = dpdk::tsc();
        // SAFETY: a worker, within an iteration of its loop.
        unsafe {
            self.shared.taps.each(|tap| {
                if !tap.wants(&pipeline.name, Point::Input) {
                    return;
                }
                let mut lane = tap.ring.writer(self.index);
                for m in burst {
                    tap.copy(&mut lane, m, in_port, INBOUND, tsc);
                }
            });
        }
    }

    /// Copies a burst whose stages have run for the captures at `output` (to each port a
    /// packet goes to, a copy per flooded port, then the copies stages made) and at `drops`.
    #[cold]
    #[inline(never)]
    pub(super) fn capture_verdicts(
        &self,
        pipeline: &Pipeline,
        in_port: u16,
        burst: &[Mbuf],
        verdicts: &Verdicts<'_>,
        copies: &[(u16, Mbuf)],
    ) {
        let tsc = dpdk::tsc();
        let ports = self.shared.ports;
        let verdict = |i: usize| match verdicts {
            Verdicts::Each(v) => v[i],
            Verdicts::All(v) => *v,
        };
        // SAFETY: a worker, within an iteration of its loop.
        unsafe {
            self.shared.taps.each(|tap| {
                if tap.wants(&pipeline.name, Point::Output) {
                    let mut lane = tap.ring.writer(self.index);
                    for (i, m) in burst.iter().enumerate() {
                        match verdict(i) {
                            FLOOD => {
                                for &q in pipeline.flood_ports.iter().filter(|&&q| q != in_port) {
                                    tap.copy(&mut lane, m, q, OUTBOUND, tsc);
                                }
                            }
                            port if usize::from(port) < ports => {
                                tap.copy(&mut lane, m, port, OUTBOUND, tsc);
                            }
                            _ => {}
                        }
                    }
                    for (port, m) in copies {
                        tap.copy(&mut lane, m, *port, OUTBOUND, tsc);
                    }
                } else if tap.wants(&pipeline.name, Point::Drops) && in_port != DROP {
                    let mut lane = tap.ring.writer(self.index);
                    for (i, m) in burst.iter().enumerate() {
                        let v = verdict(i);
                        // Every verdict that names no port (nor a flood) is a drop.
                        if v != FLOOD && usize::from(v) >= ports {
                            tap.copy(&mut lane, m, in_port, INBOUND | DROPPED, tsc);
                        }
                    }
                }
            });
        }
    }
}
