//! Reliability: the Rust reader on corrupted and truncated segments. Every truncation of the
//! committed test vector and thousands of random byte changes to it must give an error or a
//! read, never a panic or an out-of-bounds access (a fixed-seed generator: reproducible).

use std::path::Path;

use stats::Reader;

const VECTOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../test/fixtures/stats-v2.bin"
);

/// xorshift64*: a small deterministic generator, enough to pick bytes and values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Reads everything the reader offers; only errors may come back.
fn read_all(bytes: Vec<u8>) {
    if let Ok(r) = Reader::from_bytes(bytes) {
        let _ = r.name();
        let _ = r.pid();
        let _ = r.alive();
        let _ = r.snapshot();
        let _ = r.latest_sample();
    }
}

#[test]
fn reliability_every_truncation_is_an_error_or_a_read() {
    let vector = std::fs::read(Path::new(VECTOR)).unwrap();
    for len in 0..vector.len().min(16 << 10) {
        read_all(vector[..len].to_vec());
        // The same cut with the header's size field agreeing, so the reads past the header
        // check are reached too.
        let mut cut = vector[..len].to_vec();
        if len >= 24 {
            cut[16..24].copy_from_slice(&(len as u64).to_le_bytes());
        }
        read_all(cut);
    }
    assert!(
        Reader::from_bytes(vector[..100].to_vec()).is_err(),
        "a cut header is refused"
    );
}

#[test]
fn reliability_random_corruption_is_an_error_or_a_read() {
    let vector = std::fs::read(Path::new(VECTOR)).unwrap();
    let mut rng = Rng(0x5eed_f00d_dead_beef);
    // The header and directory (the first 4 KiB) steer every read: corrupt them hardest.
    for _ in 0..5000 {
        let mut copy = vector.clone();
        for _ in 0..=(rng.next() % 8) {
            let at = (rng.next() % 4096) as usize;
            copy[at] = rng.next() as u8;
        }
        read_all(copy);
    }
}
