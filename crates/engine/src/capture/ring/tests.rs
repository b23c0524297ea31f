//! The capture ring: records in order across wraps, two threads, full lanes.

use super::*;

fn layout(lanes: usize, lane_bytes: usize) -> Layout {
    Layout {
        lanes,
        lane_bytes,
        tsc_hz: 2_000_000_000,
        tsc_base: 1_000,
        ns_base: 5_000_000_000,
        pcapng: b"SHB+IDB".to_vec(),
        snaplen: 1500,
        interfaces: vec![0, 1, 2],
    }
}

fn temp(name: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("fastpath-ring-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn frame(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|k| (i * 7 + k) as u8).collect()
}

#[test]
fn a_reader_sees_the_header_and_every_record_in_order_across_wraps() {
    let path = temp("wrap");
    let ring = Ring::create(&path, &layout(2, 64 << 10)).unwrap();
    let reader = Ring::open(&path).unwrap();
    assert_eq!(reader.pcapng_header(), b"SHB+IDB");
    assert_eq!(reader.interface(2), 2);
    assert_eq!(reader.snaplen(), 1500);
    assert_eq!(reader.nanoseconds(1_000 + 2_000_000_000), 6_000_000_000);
    assert_eq!(
        reader.nanoseconds(0),
        4_999_999_500,
        "a TSC before the base"
    );
    let mut sent = 0usize;
    let mut seen = 0usize;
    // Many times round the lane, with sizes that leave every kind of tail.
    for round in 0..400 {
        let mut w = ring.writer(1);
        for k in 0..10 {
            let len = 60 + (round * 13 + k * 101) % 1400;
            assert!(w.push(1, INBOUND, sent as u64, len as u32 + 4, &frame(sent, len)));
            sent += 1;
        }
        drop(w);
        reader.read(1, usize::MAX, |r| {
            let len = 60 + ((seen / 10) * 13 + (seen % 10) * 101) % 1400;
            assert_eq!(r.bytes, &frame(seen, len)[..]);
            assert_eq!(
                (r.port, r.flags, r.tsc, r.orig_len),
                (1, INBOUND, seen as u64, len as u32 + 4)
            );
            seen += 1;
        });
    }
    assert_eq!(seen, sent);
    assert!(reader.drained());
    assert_eq!(reader.counts(), (sent as u64, 0));
    assert_eq!(reader.read(0, usize::MAX, |_| panic!("lane 0 is empty")), 0);
    drop((ring, reader));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_full_lane_drops_and_counts_and_never_overwrites_unread_records() {
    let path = temp("full");
    let ring = Ring::create(&path, &layout(1, 64 << 10)).unwrap();
    let mut w = ring.writer(0);
    let mut pushed = 0u64;
    let mut refused = 0u64;
    for i in 0..200 {
        if w.push(0, OUTBOUND, i, 1000, &frame(i as usize, 1000)) {
            pushed += 1;
        } else {
            refused += 1;
        }
    }
    drop(w);
    // 1024 bytes a record: 64 fit in 64 KiB.
    assert_eq!((pushed, refused), (64, 136));
    assert_eq!(ring.counts(), (64, 136));
    let mut i = 0;
    assert_eq!(
        ring.read(0, 10, |r| {
            assert_eq!(r.bytes, &frame(i, 1000)[..]);
            i += 1;
        }),
        10
    );
    // Room for ten more now, and only ten.
    let mut w = ring.writer(0);
    let more = (0..20)
        .filter(|_| w.push(0, OUTBOUND, 0, 1000, &[9; 1000]))
        .count();
    drop(w);
    assert_eq!(more, 10);
    assert_eq!(
        ring.read(0, usize::MAX, |r| {
            if i < 64 {
                assert_eq!(r.bytes, &frame(i, 1000)[..], "record {i} was overwritten");
            } else {
                assert_eq!(r.bytes, &[9; 1000][..]);
            }
            i += 1;
        }),
        64
    );
    drop(ring);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_writer_and_a_reader_on_two_threads_agree_on_every_byte() {
    let path = temp("threads");
    let ring = std::sync::Arc::new(Ring::create(&path, &layout(1, 64 << 10)).unwrap());
    let reader = Ring::open(&path).unwrap();
    let total = 20_000usize;
    let writer = {
        let ring = std::sync::Arc::clone(&ring);
        std::thread::spawn(move || {
            let mut i = 0;
            let mut dropped = 0;
            while i < total {
                let mut w = ring.writer(0);
                for _ in 0..32.min(total - i) {
                    let len = 64 + i % 700;
                    if w.push(0, INBOUND, i as u64, len as u32, &frame(i, len)) {
                        i += 1;
                    } else {
                        dropped += 1;
                        break;
                    }
                }
            }
            dropped
        })
    };
    let mut seen = 0;
    while seen < total {
        reader.read(0, 100, |r| {
            assert_eq!(r.tsc, seen as u64);
            assert_eq!(r.bytes, &frame(seen, 64 + seen % 700)[..]);
            seen += 1;
        });
    }
    let dropped = writer.join().unwrap();
    assert_eq!(reader.counts(), (total as u64, dropped));
    drop((ring, reader));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_file_that_is_not_a_ring_is_refused() {
    let path = temp("bad");
    std::fs::write(&path, vec![0u8; 8192]).unwrap();
    let e = Ring::open(&path).unwrap_err();
    assert!(e.to_string().contains("is not a capture ring"), "{e}");
    std::fs::remove_file(&path).unwrap();
    let ring = Ring::create(&path, &layout(1, 1)).unwrap();
    assert!(
        Ring::create(&path, &layout(1, 1)).is_err(),
        "an existing file is never replaced"
    );
    drop(ring);
    std::fs::remove_file(&path).unwrap();
}
