//! A pipeline's packet generator (testpmd's `txonly`/`flowgen`, `TRex`'s streams): UDP over
//! IPv4 or IPv6 frames with valid checksums, made in bursts on one worker and sent through
//! the pipeline's stages.
//!
//! Each packet is a template of its size (from the size mix) with its varying fields written
//! in: addresses and ports stepping through their ranges (one step per packet, each field on
//! its own), and for probes a stamp (the TSC when the burst was made and a sequence number)
//! that the worker which receives it back turns into a round trip (`worker/latency.rs`;
//! the stamp itself: `generator/probe.rs`). The IPv4 header and UDP checksums are summed
//! from the template's constant part and the fields, not over the payload: a few adds per
//! packet; a generator of one flow without probes has nothing that varies, so its frames are
//! finished once and copied. A rate paces bursts by the TSC, and what it asked for but could
//! not be made in time is counted (`pipeline/paceMissed`). Its config is
//! `generator/config.rs`; the size schedule and the address and port spans it asks for,
//! `generator/shape.rs`.
//!
//! Not a stage of the registry (a pipeline has at most one, beside its stages), but compiled
//! and run the same way: its config, compile step and hot-path budget side by side.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use super::{mac_field, DROP};
use crate::compile::{unvalidated, PortFacts};

mod config;
mod probe;
mod shape;

use crate::error::EngineError;
use crate::net::{Mac, ETH_IPV4, ETH_IPV6};
pub use config::{GeneratorConfig, PortSpec, RateConfig, SizeItem, SizesConfig};
pub use probe::{mark_seen, probe_of};
pub use shape::{gcd, ip_span, port_span, schedule, size_weights, Span};

/// IMIX (7:4:1 of 64-, 570- and 1518-byte frames on the wire): the sizes without the FCS.
pub const IMIX: [(u16, u64); 3] = [(60, 7), (566, 4), (1514, 1)];
/// Default frame size.
pub const DEFAULT_SIZE: u16 = 64;
/// Bytes a frame takes on the wire beyond its own: FCS.
pub const FCS: u64 = 4;
/// And preamble, start delimiter and inter-frame gap (for `percent`).
pub const L1_OVERHEAD: u64 = 24;
/// Longest size schedule (weights are reduced by their gcd and must fit).
pub const MAX_SCHEDULE: u64 = 4096;
/// A probe's stamp: `FPp`, the pipeline's stats slot (u8), the sequence (48 bits) and the
/// TSC (64 bits), big-endian, right after the UDP header.
pub const PROBE_MAGIC: [u8; 3] = *b"FPp";
/// Bytes of a probe's stamp.
pub const PROBE_LEN: usize = 18;
/// Headers before the UDP payload: Ethernet, IPv4 or IPv6, UDP.
pub const fn payload_offset(v6: bool) -> usize {
    if v6 {
        14 + 40 + 8
    } else {
        14 + 20 + 8
    }
}

/// One frame size's template: the frame with zero addresses, ports and checksums, and the
/// one's-complement sums of its constant IPv4 header and UDP (with pseudo-header) words.
#[derive(Debug)]
struct Template {
    frame: Vec<u8>,
    ip_sum: u64,
    udp_sum: u64,
}

/// Where one packet's fields stand in their ranges, per worker (reset with each program).
#[derive(Debug, Clone, Copy, Default)]
pub struct Cursor {
    size: usize,
    flow: u64,
    src: u64,
    dst: u64,
    sport: u64,
    dport: u64,
    /// TSC when pacing started (0: not yet).
    pace_start: u64,
    /// Packets the pacer has accounted for since (made, or written off as missed).
    paced: u64,
}

/// A generator: templates and what varies.
#[derive(Debug)]
pub struct Generator {
    templates: Vec<Template>,
    schedule: Vec<usize>,
    v6: bool,
    src: Span,
    dst: Span,
    sport: Span,
    dport: Span,
    /// Legacy `flows` (> 1: the source address and port vary as testpmd's flowgen's).
    flows: u64,
    /// Packets per burst.
    pub burst: usize,
    /// Stop after this many packets in all (None: unlimited).
    pub count: Option<u64>,
    /// Packets made so far under this pipeline's name, across every program: the budget
    /// `count` is checked against it, so a swap can never make a generator overshoot. It is
    /// also the probes' sequence.
    pub made: Arc<AtomicU64>,
    /// Index of the worker that runs it.
    pub worker: usize,
    /// The port it sends out of (its pipeline's first output): it makes nothing while that
    /// port's link is down, so that a `count` is not spent before the link comes up.
    pub out: u16,
    /// TSC ticks per packet at the configured rate (None: unpaced).
    pub ticks_per_packet: Option<f64>,
    /// Packets the pacer may be late by and still make: 10 ms of the rate, at least four
    /// bursts.
    pub slack: u64,
    /// Its pipeline's stats slot, stamped in probes (None: not probing).
    pub probe_slot: Option<u8>,
    /// Every packet of a template is the same (one flow, no probes): the templates hold the
    /// finished frames, and [`Self::write`] only copies one.
    fixed: bool,
}

/// Adds the big-endian 16-bit words of `bytes` (even length) to a one's-complement sum.
#[inline]
fn add_words(sum: u64, bytes: &[u8]) -> u64 {
    bytes
        .chunks_exact(2)
        .fold(sum, |s, w| s + u64::from(u16::from_be_bytes([w[0], w[1]])))
}

#[inline]
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Steps a range cursor by one.
#[inline]
fn step(at: &mut u64, len: u64) {
    *at += 1;
    if *at == len {
        *at = 0;
    }
}

impl Generator {
    /// Whether a counted generator has made all its packets (checked before allocating; a
    /// worker then stops asking it for the rest of the program).
    #[inline]
    pub fn exhausted(&self) -> bool {
        self.count
            .is_some_and(|count| self.made.load(Relaxed) >= count)
    }

    /// Claims up to `want` packets of the budget; returns how many may be made.
    #[inline]
    pub fn claim(&self, want: usize) -> usize {
        self.claim_from(want).1
    }

    /// Claims up to `want` packets of the budget; returns the sequence number of the first
    /// and how many may be made.
    #[inline]
    pub fn claim_from(&self, want: usize) -> (u64, usize) {
        let Some(count) = self.count else {
            return (self.made.fetch_add(want as u64, Relaxed), want);
        };
        let granted = self.made.fetch_update(Relaxed, Relaxed, |made| {
            (made < count).then(|| made + (count - made).min(want as u64))
        });
        granted.map_or((0, 0), |before| {
            (before, (count - before).min(want as u64) as usize)
        })
    }

    /// How many packets the rate lets this burst have at TSC `now` (the burst size when
    /// unpaced), and how many it wrote off as missed: the pacer catches up (a burst at a
    /// time) on up to [`Self::slack`] packets it is late by, so that a worker preempted for a
    /// few ms still keeps the average rate; beyond, the worker could not keep up and the rest
    /// is counted, not made.
    #[inline]
    pub fn pace(&self, cursor: &mut Cursor, now: u64) -> (usize, u64) {
        let Some(ticks) = self.ticks_per_packet else {
            return (self.burst, 0);
        };
        if cursor.pace_start == 0 {
            cursor.pace_start = now;
            cursor.paced = 0;
        }
        // Both positive: the quotient is too.
        #[allow(clippy::cast_sign_loss)]
        let due = (now.wrapping_sub(cursor.pace_start) as f64 / ticks) as u64;
        let owed = due.saturating_sub(cursor.paced);
        let slack = self.slack;
        let missed = owed.saturating_sub(slack);
        cursor.paced += missed;
        (((owed - missed) as usize).min(self.burst), missed)
    }

    /// Accounts `n` packets made at the rate.
    #[inline]
    pub fn paced(cursor: &mut Cursor, n: usize) {
        cursor.paced += n as u64;
    }

    /// Writes the next packet into `frame` (as long as its template: the caller sizes the
    /// mbuf with [`Self::next_len`] first); `stamp` is (sequence, TSC) for a probe.
    #[inline]
    pub fn write(&self, cursor: &mut Cursor, frame: &mut [u8], stamp: (u64, u64)) {
        let t = &self.templates[self.schedule[cursor.size]];
        cursor.size += 1;
        if cursor.size == self.schedule.len() {
            cursor.size = 0;
        }
        frame.copy_from_slice(&t.frame);
        if !self.fixed {
            self.fill(t, cursor, frame, stamp);
        }
    }

    /// Writes what varies from packet to packet into `frame`, a copy of template `t`: the
    /// addresses, ports, probe stamp and checksums.
    #[inline]
    fn fill(&self, t: &Template, cursor: &mut Cursor, frame: &mut [u8], stamp: (u64, u64)) {
        let (src, sport) = if self.flows > 1 {
            // testpmd flowgen's spread: 256 source ports per source address.
            let f = cursor.flow;
            step(&mut cursor.flow, self.flows);
            (
                self.src.first + u128::from(f / 256),
                1024 + (f % 256) + ((f / 256) & 0x3f) * 256,
            )
        } else {
            let v = (
                self.src.first + u128::from(cursor.src),
                self.sport.first as u64 + cursor.sport,
            );
            step(&mut cursor.src, self.src.len);
            step(&mut cursor.sport, self.sport.len);
            v
        };
        let dst = self.dst.first + u128::from(cursor.dst);
        let dport = self.dport.first as u64 + cursor.dport;
        step(&mut cursor.dst, self.dst.len);
        step(&mut cursor.dport, self.dport.len);
        let (addrs, udp) = if self.v6 {
            frame[22..38].copy_from_slice(&src.to_be_bytes());
            frame[38..54].copy_from_slice(&dst.to_be_bytes());
            (22..54, 54)
        } else {
            frame[26..30].copy_from_slice(&(src as u32).to_be_bytes());
            frame[30..34].copy_from_slice(&(dst as u32).to_be_bytes());
            let ip = add_words(t.ip_sum, &frame[26..34]);
            frame[24..26].copy_from_slice(&(!fold(ip)).to_be_bytes());
            (26..34, 34)
        };
        frame[udp..udp + 2].copy_from_slice(&(sport as u16).to_be_bytes());
        frame[udp + 2..udp + 4].copy_from_slice(&(dport as u16).to_be_bytes());
        let mut sum = add_words(t.udp_sum, &frame[addrs]);
        sum += sport + dport;
        if let Some(slot) = self.probe_slot {
            let at = udp + 8;
            frame[at..at + 3].copy_from_slice(&PROBE_MAGIC);
            frame[at + 3] = slot;
            frame[at + 4..at + 10].copy_from_slice(&stamp.0.to_be_bytes()[2..]);
            frame[at + 10..at + 18].copy_from_slice(&stamp.1.to_be_bytes());
            sum = add_words(sum, &frame[at..at + PROBE_LEN]);
        }
        // 0 means "no checksum" in UDP: a sum of 0 is sent as its other form.
        let c = !fold(sum);
        frame[udp + 6..udp + 8].copy_from_slice(&(if c == 0 { 0xffff } else { c }).to_be_bytes());
    }

    /// The length of the packet [`Self::write`] makes next.
    #[inline]
    pub fn next_len(&self, cursor: &Cursor) -> usize {
        self.templates[self.schedule[cursor.size]].frame.len()
    }
}

/// A template of `size` bytes: headers with zero addresses, ports and checksums.
fn template(size: usize, src_mac: Mac, dst_mac: Mac, v6: bool) -> Template {
    let mut f = vec![0u8; size];
    f[..6].copy_from_slice(&dst_mac);
    f[6..12].copy_from_slice(&src_mac);
    let udp_len = (size - payload_offset(v6) + 8) as u16;
    let (ip_sum, udp) = if v6 {
        f[12..14].copy_from_slice(&ETH_IPV6.to_be_bytes());
        f[14] = 0x60;
        f[18..20].copy_from_slice(&udp_len.to_be_bytes());
        f[20] = 17;
        f[21] = 64;
        (0, 54)
    } else {
        f[12..14].copy_from_slice(&ETH_IPV4.to_be_bytes());
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&(udp_len + 20).to_be_bytes());
        ip[6] = 0x40; // don't fragment
        ip[8] = 64;
        ip[9] = 17;
        (add_words(0, &f[14..34]), 34)
    };
    f[udp + 4..udp + 6].copy_from_slice(&udp_len.to_be_bytes());
    // Pseudo-header (protocol, UDP length) and the UDP length field; the payload is zeros.
    let udp_sum = 17 + 2 * u64::from(udp_len);
    Template {
        frame: f,
        ip_sum,
        udp_sum,
    }
}

/// Packets per second the rate asks for, given the sizes' weights and the port's link speed
/// (`None` when the driver cannot tell); `Err` says why not.
fn packets_per_second(
    rate: &RateConfig,
    weights: &[(u64, u64)],
    speed_mbps: Option<u32>,
) -> Result<f64, String> {
    let total: u64 = weights.iter().map(|w| w.1).sum();
    let mean = |extra: u64| -> f64 {
        weights
            .iter()
            .map(|&(s, w)| ((s + extra) * w) as f64)
            .sum::<f64>()
            / total.max(1) as f64
    };
    match (rate.pps, rate.bps, rate.percent) {
        (Some(pps), None, None) => Ok(pps),
        (None, Some(bps), None) => Ok(bps / (8.0 * mean(FCS))),
        (None, None, Some(percent)) => match speed_mbps {
            Some(mbps) if mbps > 0 => {
                Ok(f64::from(mbps) * 1e6 * percent / 100.0 / (8.0 * mean(L1_OVERHEAD)))
            }
            _ => Err("percent: the output port's link speed is unknown (its link is down, or its driver does not say); give rate.pps or rate.bps".into()),
        },
        _ => Err("give exactly one of pps, bps and percent".into()),
    }
}

/// Compiles a validated generator (its bounds, addresses and output port are
/// [`crate::validate`]'s rules), sending out of port `out`, run by worker `worker`, counting
/// against the budget `made`; `slot` is its pipeline's stats slot (stamped in probes), `path`
/// its place in the config (for the one rule that needs the port up: `rate.percent`).
pub(crate) fn compile_generator(
    g: &GeneratorConfig,
    out: u16,
    facts: &PortFacts,
    worker: usize,
    made: Arc<AtomicU64>,
    slot: usize,
    path: &str,
) -> Result<Generator, EngineError> {
    if out == DROP {
        return Err(unvalidated("a generator without an output port"));
    }
    let src_mac = match &g.src_mac {
        Some(text) => mac_field(text)?,
        None => facts.macs[usize::from(out)],
    };
    let dst_mac = mac_field(&g.dst_mac)?;
    let (src, v6) = ip_span(&g.src_ip).map_err(|e| unvalidated(&e))?;
    let (dst, _) = ip_span(&g.dst_ip).map_err(|e| unvalidated(&e))?;
    let port = |spec: &Option<PortSpec>, default: u64| {
        spec.as_ref()
            .map_or(Ok(PortSpec::One(default)), |s| Ok(s.clone()))
            .and_then(|s| port_span(&s))
            .map_err(|e: String| unvalidated(&e))
    };
    let (sport, dport) = (port(&g.src_port, 1024)?, port(&g.dst_port, 9)?);
    let weights = size_weights(g);
    let templates = weights
        .iter()
        .map(|&(size, _)| template(size as usize, src_mac, dst_mac, v6))
        .collect();
    let ticks_per_packet = match &g.rate {
        None => None,
        Some(rate) => {
            let speed = facts
                .ids
                .get(usize::from(out))
                .and_then(|&id| dpdk::Port::link_of(id).ok())
                .map(|l| l.speed_mbps);
            let pps = packets_per_second(rate, &weights, speed)
                .map_err(|e| EngineError::config(&format!("{path}.rate"), e))?;
            Some(dpdk::tsc_hz() as f64 / pps)
        }
    };
    let burst = usize::from(g.burst);
    let slack = ticks_per_packet.map_or(0, |ticks| {
        // 10 ms of packets (both positive).
        #[allow(clippy::cast_sign_loss)]
        let ten_ms = (dpdk::tsc_hz() as f64 / 100.0 / ticks) as u64;
        ten_ms.max(4 * burst as u64)
    });
    let mut generator = Generator {
        templates,
        schedule: schedule(&weights),
        v6,
        src,
        dst,
        sport,
        dport,
        flows: u64::from(g.flows),
        burst,
        count: g.count,
        made,
        worker,
        out,
        ticks_per_packet,
        slack,
        probe_slot: g.probe.then_some(slot as u8),
        fixed: false,
    };
    generator.finish_if_fixed();
    Ok(generator)
}

impl Generator {
    /// When every packet of a template is the same (one flow: one source and destination
    /// address and port; no probes, whose stamps vary), writes the addresses, ports and
    /// checksums into the templates once, so that making a packet is a copy (testpmd's
    /// `txonly` copies its headers the same way; callgrind: 367 → 185 instructions a packet).
    fn finish_if_fixed(&mut self) {
        let one = |span: &Span| span.len == 1;
        if self.flows > 1
            || self.probe_slot.is_some()
            || ![self.src, self.dst, self.sport, self.dport].iter().all(one)
        {
            return;
        }
        let finished: Vec<Vec<u8>> = self
            .templates
            .iter()
            .map(|t| {
                let mut frame = t.frame.clone();
                self.fill(t, &mut Cursor::default(), &mut frame, (0, 0));
                frame
            })
            .collect();
        for (t, frame) in self.templates.iter_mut().zip(finished) {
            t.frame = frame;
        }
        self.fixed = true;
    }
}

#[cfg(test)]
mod tests;
