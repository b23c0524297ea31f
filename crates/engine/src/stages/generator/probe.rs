//! Probes: the stamp a probing generator writes after each frame's UDP header (its
//! pipeline's stats slot, a sequence, the TSC), and how a worker reads it back once.

use super::{fold, payload_offset, PROBE_LEN, PROBE_MAGIC};
use crate::net::{ETH_IPV4, ETH_IPV6};

/// A probe's stamp in `frame`, if it carries one that has not been seen yet: (stats slot,
/// sequence, TSC). [`mark_seen`] then makes sure that a probe which passes through the
/// engine again (forwarded out of another port of it) counts once, at its first return.
#[inline]
pub fn probe_of(frame: &[u8]) -> Option<(usize, u64, u64)> {
    let at = stamp_at(frame)?;
    let stamp = frame.get(at..at + PROBE_LEN)?;
    if stamp[..3] != PROBE_MAGIC {
        return None;
    }
    let mut seq = [0u8; 8];
    seq[2..].copy_from_slice(&stamp[4..10]);
    let mut tsc = [0u8; 8];
    tsc.copy_from_slice(&stamp[10..18]);
    Some((
        usize::from(stamp[3]),
        u64::from_be_bytes(seq),
        u64::from_be_bytes(tsc),
    ))
}

/// Where a UDP payload (a probe's stamp) starts in `frame`, IPv4 or IPv6.
#[inline]
fn stamp_at(frame: &[u8]) -> Option<usize> {
    match u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]) {
        ETH_IPV4 if *frame.get(23)? == 17 => Some(14 + usize::from(frame[14] & 0xf) * 4 + 8),
        ETH_IPV6 if *frame.get(20)? == 17 => Some(payload_offset(true)),
        _ => None,
    }
}

/// Marks the probe in `frame` (which [`probe_of`] found) as seen: its magic's last byte
/// becomes `P`, and the UDP checksum is updated for it (RFC 1624), so the frame stays valid.
#[inline]
pub fn mark_seen(frame: &mut [u8]) {
    let Some(at) = stamp_at(frame) else {
        return;
    };
    if frame.len() < at + PROBE_LEN {
        return;
    }
    let old = u16::from_be_bytes([frame[at + 2], frame[at + 3]]);
    frame[at + 2] = b'P';
    let new = u16::from_be_bytes([frame[at + 2], frame[at + 3]]);
    let sum_at = at - 2;
    let hc = u16::from_be_bytes([frame[sum_at], frame[sum_at + 1]]);
    if hc == 0 {
        return; // IPv4 without a UDP checksum
    }
    let c = !fold(u64::from(!hc) + u64::from(!old) + u64::from(new));
    frame[sum_at..sum_at + 2].copy_from_slice(&(if c == 0 { 0xffff } else { c }).to_be_bytes());
}
