//! How rules and packets meet `rte_acl`: the key each packet is read into (IPv4 and IPv6
//! layouts, the usual IPv4 frame read at fixed offsets), the rule each config rule becomes,
//! and the classifiers a rule set builds, classifying a burst in one call per family.

use dpdk::{AclField, AclKey, AclRule, FieldKind, ACL_MAX_PRIORITY};

use super::{AclPrefix, RuleSpec};
use crate::net::{self, Headers, Ip};
use crate::stages::Batch;

/// Bytes of an IPv4 key: protocol (0), source (4), destination (8), ports (12, 14), VLAN
/// (16), has-ports (18).
pub const V4_KEY: usize = 20;
/// Bytes of an IPv6 key: protocol (0), source (4-19), destination (20-35), ports (36, 38),
/// VLAN (40), has-ports (42).
pub const V6_KEY: usize = 44;

/// The VLAN field of an untagged packet: above every VLAN id, so no `vlan` rule matches it.
const UNTAGGED: u16 = u16::MAX;

const fn field(kind: FieldKind, size: u8, offset: u32, input: u8) -> AclField {
    AclField {
        kind,
        size,
        offset,
        input,
    }
}

/// The IPv4 key's fields, in rule order.
pub const V4_FIELDS: [AclField; 7] = [
    field(FieldKind::Bitmask, 1, 0, 0),
    field(FieldKind::Mask, 4, 4, 1),
    field(FieldKind::Mask, 4, 8, 2),
    field(FieldKind::Range, 2, 12, 3),
    field(FieldKind::Range, 2, 14, 3),
    field(FieldKind::Range, 2, 16, 4),
    field(FieldKind::Range, 2, 18, 4),
];

/// The IPv6 key's fields: each address as four 32-bit words.
pub const V6_FIELDS: [AclField; 13] = [
    field(FieldKind::Bitmask, 1, 0, 0),
    field(FieldKind::Mask, 4, 4, 1),
    field(FieldKind::Mask, 4, 8, 2),
    field(FieldKind::Mask, 4, 12, 3),
    field(FieldKind::Mask, 4, 16, 4),
    field(FieldKind::Mask, 4, 20, 5),
    field(FieldKind::Mask, 4, 24, 6),
    field(FieldKind::Mask, 4, 28, 7),
    field(FieldKind::Mask, 4, 32, 8),
    field(FieldKind::Range, 2, 36, 9),
    field(FieldKind::Range, 2, 38, 9),
    field(FieldKind::Range, 2, 40, 10),
    field(FieldKind::Range, 2, 42, 10),
];

/// `(value, prefix length)` of the 32-bit word `word` (0 first) of a prefix `width` bits
/// wide.
pub(super) fn prefix_word(prefix: Option<AclPrefix>, width: u32, word: u32) -> (u64, u64) {
    let Some(p) = prefix else {
        return (0, 0);
    };
    let shift = width - 32 * (word + 1);
    let value = (p.addr >> shift) as u32;
    let len = u32::from(p.len).saturating_sub(32 * word).min(32);
    (u64::from(value), u64::from(len))
}

/// The fields after the addresses: ports, VLAN, has-ports.
fn tail_fields(spec: &RuleSpec) -> [(u64, u64); 4] {
    let range = |r: Option<(u16, u16)>| r.map_or((0, 65535), |(lo, hi)| (lo.into(), hi.into()));
    let vlan = spec.vlan.map_or((0, 65535), |v| (v.into(), v.into()));
    let has_ports = if spec.src_ports.is_some() || spec.dst_ports.is_some() {
        (1, 1)
    } else {
        (0, 65535)
    };
    [
        range(spec.src_ports),
        range(spec.dst_ports),
        vlan,
        has_ports,
    ]
}

fn proto_field(spec: &RuleSpec) -> (u64, u64) {
    spec.proto
        .map_or((0, 0), |(v, m)| (u64::from(v & m), u64::from(m)))
}

/// Rule `i` (in check order) as an IPv4 classifier rule.
fn v4_rule(i: usize, spec: &RuleSpec) -> AclRule<7> {
    let [sp, dp, vlan, l4] = tail_fields(spec);
    AclRule {
        priority: ACL_MAX_PRIORITY - i as u32,
        id: i as u32 + 1,
        fields: [
            proto_field(spec),
            prefix_word(spec.src, 32, 0),
            prefix_word(spec.dst, 32, 0),
            sp,
            dp,
            vlan,
            l4,
        ],
    }
}

/// Rule `i` as an IPv6 classifier rule.
fn v6_rule(i: usize, spec: &RuleSpec) -> AclRule<13> {
    let [sp, dp, vlan, l4] = tail_fields(spec);
    let s = |w| prefix_word(spec.src, 128, w);
    let d = |w| prefix_word(spec.dst, 128, w);
    AclRule {
        priority: ACL_MAX_PRIORITY - i as u32,
        id: i as u32 + 1,
        fields: [
            proto_field(spec),
            s(0),
            s(1),
            s(2),
            s(3),
            d(0),
            d(1),
            d(2),
            d(3),
            sp,
            dp,
            vlan,
            l4,
        ],
    }
}

/// The fields every key ends with: ports, VLAN, has-ports, from byte `at`.
fn put_tail(k: &mut [u8], at: usize, h: &Headers) {
    let (sp, dp) = h.ports.unwrap_or((0, 0));
    k[at..at + 2].copy_from_slice(&sp.to_be_bytes());
    k[at + 2..at + 4].copy_from_slice(&dp.to_be_bytes());
    k[at + 4..at + 6].copy_from_slice(&h.vlan.unwrap_or(UNTAGGED).to_be_bytes());
    k[at + 6..at + 8].copy_from_slice(&u16::from(h.ports.is_some()).to_be_bytes());
}

/// The key of an IPv4 packet.
pub fn v4_key(h: &Headers, src: u32, dst: u32) -> AclKey<V4_KEY> {
    let mut k = [0u8; V4_KEY];
    k[0] = h.proto.unwrap_or(0);
    k[4..8].copy_from_slice(&src.to_be_bytes());
    k[8..12].copy_from_slice(&dst.to_be_bytes());
    put_tail(&mut k, 12, h);
    AclKey(k)
}

/// The key of the usual frame, untagged IPv4 without options of at least 38 bytes, read at
/// fixed offsets without [`net::parse`] (the key [`v4_key`] makes of its headers: the tests
/// hold the two to each other); `None` for any other frame.
#[inline]
pub fn plain_v4_key(p: &[u8]) -> Option<AclKey<V4_KEY>> {
    let f = p.first_chunk::<38>()?;
    if f[12..15] != [0x08, 0x00, 0x45] {
        return None;
    }
    let proto = f[23];
    // Ports: TCP, UDP or SCTP, and not a later fragment.
    let fragment_offset = u16::from_be_bytes([f[20], f[21]]) & 0x1fff;
    let has_ports = matches!(proto, 6 | 17 | 132) && fragment_offset == 0;
    let mut k = [0u8; V4_KEY];
    k[0] = proto;
    // Source and destination, then the ports, as the frame has them (network order).
    k[4..12].copy_from_slice(&f[26..34]);
    if has_ports {
        k[12..16].copy_from_slice(&f[34..38]);
    }
    k[16..18].copy_from_slice(&UNTAGGED.to_be_bytes());
    k[18..20].copy_from_slice(&u16::from(has_ports).to_be_bytes());
    Some(AclKey(k))
}

/// The key of an IPv6 packet.
pub fn v6_key(h: &Headers, src: u128, dst: u128) -> AclKey<V6_KEY> {
    let mut k = [0u8; V6_KEY];
    k[0] = h.proto.unwrap_or(0);
    k[4..20].copy_from_slice(&src.to_be_bytes());
    k[20..36].copy_from_slice(&dst.to_be_bytes());
    put_tail(&mut k, 36, h);
    AclKey(k)
}

/// The classifiers of a rule set: IPv4 and IPv6, each if some rule applies to the family.
#[derive(Debug)]
pub struct Classifiers {
    /// IPv4 rules.
    pub v4: Option<dpdk::Acl<V4_KEY>>,
    /// IPv6 rules.
    pub v6: Option<dpdk::Acl<V6_KEY>>,
}

impl Classifiers {
    /// Builds the classifiers of `specs` (in check order: a rule's id is its index + 1), each
    /// taking at most `trie_bytes(rules)` of tries.
    pub fn build(
        specs: &[RuleSpec],
        trie_bytes: impl Fn(usize) -> usize,
    ) -> Result<Self, dpdk::DpdkError> {
        let v4: Vec<_> = specs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.family != Some(true))
            .map(|(i, s)| v4_rule(i, s))
            .collect();
        let v6: Vec<_> = specs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.family != Some(false))
            .map(|(i, s)| v6_rule(i, s))
            .collect();
        Ok(Self {
            v4: (!v4.is_empty())
                .then(|| dpdk::Acl::build(&V4_FIELDS, &v4, trie_bytes(v4.len())))
                .transpose()?,
            v6: (!v6.is_empty())
                .then(|| dpdk::Acl::build(&V6_FIELDS, &v6, trie_bytes(v6.len())))
                .transpose()?,
        })
    }

    /// The id of the first rule each frame matches (0: none) into `ids[..pkts.len()]`: one
    /// classify call per family per burst, as the stage makes them.
    #[inline]
    pub fn classify(&self, pkts: &[&[u8]], ids: &mut [u32]) {
        for (p, id) in pkts
            .chunks(dpdk::BURST_SIZE)
            .zip(ids.chunks_mut(dpdk::BURST_SIZE))
        {
            self.classify_burst(p.len(), |i| Some(p[i]), id);
        }
    }

    /// One burst of at most [`dpdk::BURST_SIZE`] packets, whose frames `frame(i)` gives
    /// (`None` for a packet to skip: its id stays 0).
    #[inline]
    pub(super) fn classify_burst<'p>(
        &self,
        count: usize,
        mut frame: impl FnMut(usize) -> Option<&'p [u8]>,
        ids: &mut [u32],
    ) {
        // Left uninitialised past what is pushed: a burst of IPv4 clears no IPv6 keys.
        let mut v4 = Batch::<AclKey<V4_KEY>, u8>::new();
        let mut v6 = Batch::<AclKey<V6_KEY>, u8>::new();
        for (i, id) in ids.iter_mut().enumerate().take(count.min(dpdk::BURST_SIZE)) {
            *id = 0;
            let Some(bytes) = frame(i) else { continue };
            if self.v4.is_some() {
                if let Some(key) = plain_v4_key(bytes) {
                    v4.push(key, i as u8);
                    continue;
                }
            }
            let h = net::parse(bytes);
            match (h.src, h.dst) {
                (Some(Ip::V4(src)), Some(Ip::V4(dst))) if self.v4.is_some() => {
                    v4.push(v4_key(&h, src, dst), i as u8);
                }
                (Some(Ip::V6(src)), Some(Ip::V6(dst))) if self.v6.is_some() => {
                    v6.push(v6_key(&h, src, dst), i as u8);
                }
                _ => {}
            }
        }
        let mut found = [0u32; dpdk::BURST_SIZE];
        if let Some(acl) = &self.v4 {
            let found = &mut found[..v4.len()];
            acl.classify(v4.firsts(), found);
            for (&at, &id) in v4.seconds().iter().zip(found.iter()) {
                ids[usize::from(at)] = id;
            }
        }
        if let Some(acl) = &self.v6 {
            let found = &mut found[..v6.len()];
            acl.classify(v6.firsts(), found);
            for (&at, &id) in v6.seconds().iter().zip(found.iter()) {
                ids[usize::from(at)] = id;
            }
        }
    }
}
