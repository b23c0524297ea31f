//! What a router does to a packet's IP header (RFC 1812): check it, find its destination,
//! and take one off its TTL / hop limit, patching the IPv4 checksum incrementally (RFC 1624).

use crate::net::{ETH_IPV4, ETH_IPV6, ETH_QINQ, ETH_VLAN};

/// What [`classify_any`] found in a frame. Eight bytes, returned in a register: an IPv6
/// destination is read from the frame by the caller, at `l3 + 24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A valid IPv4 header at this offset with a TTL above 1, to this destination.
    V4 { l3: u8, dst: u32 },
    /// An IPv6 header (40 bytes in the frame) at this offset with a hop limit above 1.
    V6 { l3: u8 },
    /// TTL or hop limit 0 or 1: the packet may not be forwarded (RFC 1812 5.3.1).
    Expired,
    /// An IP header that is truncated, of the wrong version, or (IPv4) with a bad length,
    /// header length or checksum (RFC 1812 5.2.2).
    BadHeader,
    /// Neither IPv4 nor IPv6.
    NotIp,
}

#[inline]
fn be16(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]))
}

/// Reads the Ethernet header (up to two VLAN tags) and checks the IP header after it: the
/// stage's own order of [`plain_v4`], [`plain_v6`], [`classify_any`], as the tests see it.
#[cfg(test)]
pub fn classify(p: &[u8]) -> Class {
    if let Some(dst) = plain_v4(p) {
        return Class::V4 { l3: 14, dst };
    }
    if plain_v6(p).is_some() {
        return Class::V6 { l3: 14 };
    }
    classify_any(p)
}

/// The destination of the usual frame: untagged IPv4 without options, valid, with a TTL
/// above 1; `None` for every other frame (which [`classify_any`] then reads in full). Checked
/// on a fixed-size array, so that it compiles to a few loads and compares.
#[inline]
pub fn plain_v4(p: &[u8]) -> Option<u32> {
    let f = p.first_chunk::<34>()?;
    let ip: &[u8; 20] = f.last_chunk().expect("34 - 14");
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let forwardable = f[12..15] == [0x08, 0x00, 0x45]
        && total >= 20
        && total <= p.len() - 14
        && ip[8] > 1
        && header_sum_ok(ip);
    forwardable.then(|| u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]))
}

/// The destination of an untagged IPv6 frame with a hop limit above 1; `None` for every
/// other frame. (IPv6 has no header checksum and its payload length is not checked, as
/// RFC 8200 routers do not.)
#[inline]
pub fn plain_v6(p: &[u8]) -> Option<&[u8; 16]> {
    let f = p.first_chunk::<54>()?;
    let forwardable = f[12..14] == [0x86, 0xdd] && f[14] >> 4 == 6 && f[21] > 1;
    forwardable.then(|| f.last_chunk::<16>().expect("54 - 38"))
}

/// Every frame [`plain_v4`] and [`plain_v6`] say no to: VLAN tags, IPv4 options, IPv4 that
/// may not be forwarded, IPv6 likewise, the rest.
pub fn classify_any(p: &[u8]) -> Class {
    let Some(mut ethertype) = be16(p, 12) else {
        return Class::NotIp;
    };
    let mut l3 = 14;
    for _ in 0..2 {
        if ethertype != ETH_VLAN && ethertype != ETH_QINQ {
            break;
        }
        let Some(next) = be16(p, l3 + 2) else {
            return Class::NotIp;
        };
        ethertype = next;
        l3 += 4;
    }
    match ethertype {
        ETH_IPV4 => classify_v4(p, l3),
        ETH_IPV6 => classify_v6(p, l3),
        _ => Class::NotIp,
    }
}

fn classify_v4(p: &[u8], l3: usize) -> Class {
    let Some(ip) = p.get(l3..) else {
        return Class::BadHeader;
    };
    if ip.len() < 20 || ip[0] >> 4 != 4 {
        return Class::BadHeader;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    // The frame may carry padding past the datagram, never less than it.
    if ihl < 20 || total < ihl || total > ip.len() || !header_sum_ok(&ip[..ihl]) {
        return Class::BadHeader;
    }
    if ip[8] <= 1 {
        return Class::Expired;
    }
    Class::V4 {
        l3: l3 as u8,
        dst: u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]),
    }
}

fn classify_v6(p: &[u8], l3: usize) -> Class {
    let Some(ip) = p.get(l3..l3 + 40) else {
        return Class::BadHeader;
    };
    if ip[0] >> 4 != 6 {
        return Class::BadHeader;
    }
    if ip[7] <= 1 {
        return Class::Expired;
    }
    Class::V6 { l3: l3 as u8 }
}

/// Whether an IPv4 header's one's-complement sum, checksum included, is all ones.
///
/// Adds the header in native order as 64-bit words with end-around carry, then folds to 16
/// bits: a one's-complement sum of 16-bit words is the same in either byte order up to a
/// swap, and all ones swaps to all ones. The usual 20-byte header is three loads (8 + 8 + 4
/// bytes) and two adds with carry; a fold is an add of the word to itself rotated by half,
/// whose upper half is then the two halves' sum with the carry wrapped around.
#[inline]
fn header_sum_ok(header: &[u8]) -> bool {
    let add = |sum: u64, word: u64| {
        let (s, carry) = sum.overflowing_add(word);
        s + u64::from(carry)
    };
    let word8 = |w: &[u8]| u64::from_ne_bytes(w[..8].try_into().expect("8 bytes"));
    let word4 = |w: &[u8]| u64::from(u32::from_ne_bytes(w[..4].try_into().expect("4 bytes")));
    let sum = match <&[u8; 20]>::try_from(header) {
        Ok(h) => add(add(word8(&h[..8]), word8(&h[8..16])), word4(&h[16..])),
        // Options: IHL counts 32-bit words, so the length is a multiple of 4.
        Err(_) => header.chunks_exact(4).map(word4).fold(0, add),
    };
    let sum = (sum.wrapping_add(sum.rotate_left(32)) >> 32) as u32;
    let sum = sum.wrapping_add(sum.rotate_left(16)) >> 16;
    sum == 0xffff
}

/// The four bytes at offset 8 of an IPv4 header (TTL, protocol, checksum) after one is
/// taken off the TTL (above 1: the classification dropped the rest).
///
/// RFC 1624's eqn. 3, `HC' = ~(~HC + ~m + m')`: the TTL is the upper byte of its 16-bit word
/// m, so m' = m − 0x0100 and `~m + m'` is the constant −0x0100 (0xFEFF in one's complement),
/// leaving one add with the carry wrapped around. (Adding 0x0100 to HC instead is eqn. 2's
/// mistake: it gives 0xFFFF where a recompute gives 0x0000.) The word is read in the CPU's
/// order as the frame has it, the checksum byte-swapped: one's-complement sums do not care,
/// given the constant swapped too (0xFFFE).
#[inline]
pub fn ttl_decremented(word: [u8; 4]) -> [u8; 4] {
    debug_assert!(word[0] > 1, "a TTL of {} is not forwarded", word[0]);
    let w = u32::from_le_bytes(word);
    let sum = (!w >> 16) + 0xFFFE;
    let sum = !((sum & 0xffff) + (sum >> 16)) & 0xffff;
    // The TTL is the low byte, above 1: taking one off borrows nothing from the protocol.
    ((sum << 16) | ((w & 0xffff) - 1)).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{checksum, udp4_frame};
    use testkit::Rng;

    /// One's-complement 16-bit addition (end-around carry).
    fn ones_add(a: u16, b: u16) -> u16 {
        let (sum, carry) = a.overflowing_add(b);
        sum + u16::from(carry)
    }

    /// RFC 1624 eqn. 3, `HC' = ~(~HC + ~m + m')`, as written.
    fn checksum_update(checksum: u16, old: u16, new: u16) -> u16 {
        !ones_add(ones_add(!checksum, !old), new)
    }

    /// Takes one off the TTL of the IPv4 header at `l3` and patches its checksum.
    fn decrement_ttl_v4(p: &mut [u8], l3: usize) {
        if let Some(word) = p
            .get_mut(l3 + 8..l3 + 12)
            .and_then(|w| w.first_chunk_mut::<4>())
        {
            *word = ttl_decremented(*word);
        }
    }

    /// Takes one off the hop limit of the IPv6 header at `l3` (IPv6 has no header checksum).
    fn decrement_hop_limit_v6(p: &mut [u8], l3: usize) {
        p[l3 + 7] -= 1;
    }

    /// A 20-byte IPv4 header with a correct checksum.
    fn header(rng: &mut Rng, ttl: u8, id: Option<u16>) -> [u8; 20] {
        let mut h = [0u8; 20];
        for b in &mut h {
            *b = rng.next() as u8;
        }
        h[0] = 0x45;
        h[2..4].copy_from_slice(&20u16.to_be_bytes());
        if let Some(id) = id {
            h[4..6].copy_from_slice(&id.to_be_bytes());
        }
        h[8] = ttl;
        h[10..12].fill(0);
        let sum = checksum(&h);
        h[10..12].copy_from_slice(&sum.to_be_bytes());
        h
    }

    /// Decrements incrementally and compares with a full recompute and with eqn. 3.
    fn agrees(mut h: [u8; 20]) -> u16 {
        let before = h;
        decrement_ttl_v4(&mut h, 0);
        let patched = u16::from_be_bytes([h[10], h[11]]);
        let word = |h: &[u8; 20]| u16::from_be_bytes([h[8], h[9]]);
        let eqn3 = checksum_update(
            u16::from_be_bytes([before[10], before[11]]),
            word(&before),
            word(&h),
        );
        h[10..12].fill(0);
        assert_eq!(patched, checksum(&h), "header {h:02x?}");
        assert_eq!(patched, eqn3, "header {h:02x?}");
        patched
    }

    #[test]
    fn ttl_decrement_matches_a_recompute_for_every_ttl_and_many_headers() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for ttl in 2..=255u8 {
            for _ in 0..2000 {
                agrees(header(&mut rng, ttl, None));
            }
        }
    }

    #[test]
    fn ttl_decrement_is_right_when_either_checksum_is_zero() {
        // Every id over a few headers runs the checksum through all of its values, before and
        // after, 0x0000 included (0xFFFF never comes out of a correct header).
        let mut rng = Rng(7);
        let (mut zero_before, mut zero_after) = (0, 0);
        for ttl in [2u8, 64, 255] {
            let base = header(&mut rng, ttl, None);
            for id in 0..=u16::MAX {
                let mut h = base;
                h[4..6].copy_from_slice(&id.to_be_bytes());
                h[10..12].fill(0);
                let sum = checksum(&h);
                h[10..12].copy_from_slice(&sum.to_be_bytes());
                zero_before += usize::from(sum == 0);
                zero_after += usize::from(agrees(h) == 0);
            }
        }
        assert!(
            zero_before > 0 && zero_after > 0,
            "{zero_before} {zero_after}"
        );
    }

    #[test]
    fn eqn_3_handles_the_negative_zero_cases() {
        // RFC 1624 section 4's example: eqn. 2 would give 0xFFFF here, eqn. 3 gives 0x0000.
        assert_eq!(checksum_update(0xdd2f, 0x5555, 0x3285), 0x0000);
        assert_eq!(ones_add(0xffff, 0x0001), 0x0001);
        assert_eq!(ones_add(0xffff, 0xffff), 0xffff);
    }

    fn v4(ttl: u8) -> Vec<u8> {
        let mut f = udp4_frame(
            64,
            [2, 0, 0, 0, 0, 1],
            [2, 0, 0, 0, 0, 2],
            [10, 0, 0, 1].into(),
            [198, 18, 0, 7].into(),
            1,
            2,
        );
        f[22] = ttl;
        f[24..26].fill(0);
        let sum = checksum(&f[14..34]);
        f[24..26].copy_from_slice(&sum.to_be_bytes());
        f
    }

    #[test]
    fn classify_checks_the_header_as_rfc_1812_asks() {
        assert_eq!(
            classify(&v4(64)),
            Class::V4 {
                l3: 14,
                dst: 0xC612_0007
            }
        );
        assert_eq!(classify(&v4(1)), Class::Expired);
        assert_eq!(classify(&v4(0)), Class::Expired);
        let mut bad_sum = v4(64);
        bad_sum[25] ^= 1;
        assert_eq!(classify(&bad_sum), Class::BadHeader);
        let mut ihl = v4(64);
        ihl[14] = 0x44;
        assert_eq!(classify(&ihl), Class::BadHeader);
        let mut version = v4(64);
        version[14] = 0x65;
        assert_eq!(classify(&version), Class::BadHeader);
        let mut long = v4(64);
        long[16..18].copy_from_slice(&51u16.to_be_bytes());
        long[24..26].fill(0);
        let sum = checksum(&long[14..34]);
        long[24..26].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(
            classify(&long),
            Class::BadHeader,
            "total length past the frame"
        );
        assert_eq!(classify(&v4(64)[..30]), Class::BadHeader);
        let mut arp = v4(64);
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert_eq!(classify(&arp), Class::NotIp);

        let mut v6 = vec![0u8; 14 + 40];
        v6[12..14].copy_from_slice(&ETH_IPV6.to_be_bytes());
        v6[14] = 0x60;
        v6[21] = 2;
        v6[38..54].copy_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(classify(&v6), Class::V6 { l3: 14 });
        decrement_hop_limit_v6(&mut v6, 14);
        assert_eq!(classify(&v6), Class::Expired);
        assert_eq!(classify(&v6[..50]), Class::BadHeader);

        // Tag 0x8100, TCI (VLAN 5), the inner ethertype.
        let mut tagged = vec![0u8; 6];
        tagged[..2].copy_from_slice(&ETH_VLAN.to_be_bytes());
        tagged[2..4].copy_from_slice(&5u16.to_be_bytes());
        tagged[4..6].copy_from_slice(&ETH_IPV4.to_be_bytes());
        let mut f = v4(64);
        f.splice(12..14, tagged);
        assert!(matches!(classify(&f), Class::V4 { l3: 18, .. }));
    }

    #[test]
    fn the_header_sum_agrees_with_a_word_by_word_sum_for_every_length() {
        let reference = |h: &[u8]| {
            let mut sum: u32 = h
                .chunks_exact(2)
                .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
                .sum();
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            sum == 0xffff
        };
        let mut rng = Rng(0x51_7CC1_B727_220A);
        let mut valid = 0;
        for round in 0..200_000 {
            let len = 20 + 4 * (round % 11);
            let mut h: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if round % 2 == 0 {
                // Make it valid: the checksum field set from the rest.
                h[10..12].fill(0);
                let sum = checksum(&h);
                h[10..12].copy_from_slice(&sum.to_be_bytes());
            }
            assert_eq!(header_sum_ok(&h), reference(&h), "{h:02x?}");
            valid += usize::from(reference(&h));
        }
        assert!(valid >= 100_000, "{valid}");
    }
}
