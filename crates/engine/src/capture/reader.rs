//! The client's half of a capture: maps the ring the engine made and turns its records into
//! pcapng. The file starts with the section header and interface blocks `librte_pcapng` wrote
//! in the engine (the only process that knows the ports' names, MACs and speeds); each packet
//! follows as an enhanced packet block written here: its interface, a nanosecond timestamp
//! (the interface blocks say `if_tsresol` 9), the captured and the original length, and the
//! direction flag (inbound at `input` and `drops`, outbound at `output`).

use std::io;
use std::path::Path;

use super::ring::{Record, Ring, INBOUND, OUTBOUND};

/// pcapng's enhanced packet block type.
const EPB: u32 = 6;
/// The `epb_flags` option.
const EPB_FLAGS: u16 = 2;

/// Reads one capture ring as pcapng.
#[derive(Debug)]
pub struct Reader {
    ring: Ring,
    header_sent: bool,
    packets: u64,
}

/// What one [`Reader::read`] gave.
#[derive(Debug, Default)]
pub struct Chunk {
    /// pcapng bytes (the header first, on the first read).
    pub bytes: Vec<u8>,
    /// Packets in `bytes`.
    pub packets: usize,
    /// The engine ended the capture and everything is read: no more will come.
    pub done: bool,
}

impl Reader {
    /// Maps the ring file at `path`.
    pub fn open(path: &Path) -> io::Result<Self> {
        Ok(Self {
            ring: Ring::open(path)?,
            header_sent: false,
            packets: 0,
        })
    }

    /// Packets read so far, and copies the workers dropped because the ring was full.
    pub fn counts(&self) -> (u64, u64) {
        (self.packets, self.ring.counts().1)
    }

    /// Reads at most `max_packets` packets: pcapng blocks in time order within what this read
    /// took from the workers' lanes.
    pub fn read(&mut self, max_packets: usize) -> Chunk {
        let mut chunk = Chunk::default();
        if !self.header_sent {
            chunk.bytes.extend_from_slice(self.ring.pcapng_header());
            self.header_sent = true;
        }
        // Seen before draining: once stopped, nothing more is written, so an empty ring then
        // is the end.
        let stopped = self.ring.stopped();
        let mut blocks: Vec<(u64, Vec<u8>)> = Vec::new();
        for lane in 0..self.ring.lanes() {
            let room = max_packets - blocks.len();
            if room == 0 {
                break;
            }
            let ring = &self.ring;
            ring.read(lane, room, |r| blocks.push((r.tsc, block(ring, &r))));
        }
        // Lanes are each in order; interleave them by time (stable: equal times keep order).
        blocks.sort_by_key(|(tsc, _)| *tsc);
        chunk.packets = blocks.len();
        for (_, b) in blocks {
            chunk.bytes.extend_from_slice(&b);
        }
        self.packets += chunk.packets as u64;
        chunk.done = stopped && self.ring.drained();
        chunk
    }
}

/// One record as an enhanced packet block.
fn block(ring: &Ring, r: &Record<'_>) -> Vec<u8> {
    let padded = r.bytes.len().next_multiple_of(4);
    let total = 28 + padded + 8 + 4 + 4;
    let ns = ring.nanoseconds(r.tsc);
    // epb_flags bits 0-1: 1 inbound, 2 outbound.
    let direction: u32 = if r.flags & OUTBOUND != 0 {
        2
    } else {
        u32::from(r.flags & INBOUND != 0)
    };
    let mut b = Vec::with_capacity(total);
    for word in [
        EPB,
        total as u32,
        ring.interface(r.port),
        (ns >> 32) as u32,
        ns as u32,
        r.bytes.len() as u32,
        r.orig_len,
    ] {
        b.extend_from_slice(&word.to_ne_bytes());
    }
    b.extend_from_slice(r.bytes);
    b.resize(28 + padded, 0);
    b.extend_from_slice(&EPB_FLAGS.to_ne_bytes());
    b.extend_from_slice(&4u16.to_ne_bytes());
    b.extend_from_slice(&direction.to_ne_bytes());
    b.extend_from_slice(&[0; 4]); // opt_endofopt
    b.extend_from_slice(&(total as u32).to_ne_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::super::ring::{Layout, Ring, INBOUND, OUTBOUND};
    use super::*;

    #[test]
    fn records_become_enhanced_packet_blocks_after_the_header_in_time_order() {
        let path =
            std::env::temp_dir().join(format!("fastpath-reader-test-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let ring = Ring::create(
            &path,
            &Layout {
                lanes: 2,
                lane_bytes: 1 << 16,
                tsc_hz: 1_000_000_000,
                tsc_base: 0,
                ns_base: 1 << 40,
                pcapng: vec![0xAA; 28],
                snaplen: 64,
                interfaces: vec![3, 4],
            },
        )
        .unwrap();
        let mut reader = Reader::open(&path).unwrap();
        ring.writer(1).push(1, OUTBOUND, 10, 100, &[1, 2, 3, 4, 5]);
        ring.writer(0).push(0, INBOUND, 20, 60, &[7; 60]);
        let chunk = reader.read(usize::MAX);
        assert_eq!(chunk.packets, 2);
        assert!(!chunk.done);
        let b = &chunk.bytes;
        assert_eq!(&b[..28], &[0xAA; 28]);
        let word = |at: usize| u32::from_ne_bytes(b[at..at + 4].try_into().unwrap());
        // The earlier packet (lane 1) first: 28 + 8 (5 bytes padded) + 12 of options + 4.
        let first = 28;
        assert_eq!((word(first), word(first + 4)), (6, 52));
        assert_eq!(word(first + 8), 4, "port 1 is interface 4");
        let ns = (1u64 << 40) + 10;
        assert_eq!(
            (word(first + 12), word(first + 16)),
            ((ns >> 32) as u32, ns as u32)
        );
        assert_eq!(
            (word(first + 20), word(first + 24)),
            (5, 100),
            "captured 5 of 100 bytes"
        );
        assert_eq!(&b[first + 28..first + 33], &[1, 2, 3, 4, 5]);
        assert_eq!(word(first + 36), 0x0004_0002, "epb_flags, 4 bytes");
        assert_eq!(word(first + 40), 2, "outbound");
        assert_eq!(word(first + 48), 52, "the block's length again");
        let second = first + 52;
        assert_eq!(
            (word(second + 4), word(second + 8)),
            (104, 3),
            "port 0 is interface 3"
        );
        assert_eq!(word(second + 92), 1, "inbound");
        assert_eq!(reader.counts(), (2, 0));
        ring.set_stopped();
        let last = reader.read(usize::MAX);
        assert!(last.done && last.packets == 0 && last.bytes.is_empty());
        drop((ring, reader));
        std::fs::remove_file(&path).unwrap();
    }
}
