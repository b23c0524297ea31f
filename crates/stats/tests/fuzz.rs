//! Reliability: the Rust reader on corrupted and truncated segments. Every truncation of the
//! committed test vector and thousands of random byte changes to it must give an error or a
//! read, never a panic or an out-of-bounds access (a fixed-seed generator: reproducible).

use std::path::Path;

use stats::Reader;
use testkit::Rng;

const VECTOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../test/fixtures/stats-v2.bin"
);

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

#[test]
fn reliability_an_entry_laid_out_otherwise_than_the_writer_lays_entries_is_corrupt() {
    use stats::{entry, header, Kind, ELEMENT_SIZE, ENTRY_SIZE};
    let vector = std::fs::read(Path::new(VECTOR)).unwrap();
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let directory = u32_at(&vector, header::DIRECTORY_OFFSET) as usize;
    let (mut names, mut copies) = (0, 0);
    for i in 0..u32_at(&vector, header::DIRECTORY_COUNT) as usize {
        let at = directory + i * ENTRY_SIZE;
        let mut broken = Vec::new();
        if vector[at + entry::KIND] == Kind::Names as u8 && u32_at(&vector, at + entry::COUNT) > 1 {
            // Names 8 bytes short of an element: each one's parent index would be the next's name.
            let mut b = vector.clone();
            b[at + entry::STRIDE..at + entry::STRIDE + 4]
                .copy_from_slice(&(ELEMENT_SIZE as u32 - 8).to_le_bytes());
            broken.push(b);
            names += 1;
        }
        if u32_at(&vector, at + entry::COPIES) > 1 {
            // Copies 8 bytes further apart than their elements take.
            let mut b = vector.clone();
            let field = at + entry::COPY_STRIDE..at + entry::COPY_STRIDE + 8;
            let stride = u64::from_le_bytes(b[field.clone()].try_into().unwrap());
            b[field].copy_from_slice(&(stride + 8).to_le_bytes());
            broken.push(b);
            copies += 1;
        }
        for b in broken {
            let r = Reader::from_bytes(b).unwrap();
            let e = r.entries().unwrap_err().to_string();
            assert!(
                e.contains("is not laid out as the engine lays entries"),
                "{e}"
            );
        }
    }
    assert!(names > 0 && copies > 0);
}
