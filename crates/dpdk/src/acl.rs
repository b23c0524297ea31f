//! Packet classification: `rte_acl`, DPDK's multi-field rule matcher.
//!
//! A classifier is built once from a rule set ([`Acl::build`], off the data path: it builds
//! tries, which takes milliseconds to seconds for thousands of rules) and then only read: it
//! answers a whole burst of keys per call ([`Acl::classify`]), each with the id of the
//! highest-priority rule the key matches (0: none). A changed rule set is a new classifier.
//!
//! A key is a fixed-size byte string the caller fills from a packet (`K` bytes, network byte
//! order as on the wire); its layout is the caller's list of [`AclField`]s: DPDK wants the
//! first field one byte long and the others in groups of four bytes (`input`), and reads each
//! group as one 32-bit word. Rule values are in host order (DPDK's convention).
//!
//! The memory comes from EAL's heap, as for [`crate::Fib4`]: `rte_acl_create` takes room for
//! the rules, and `rte_acl_build` allocates the tries, at most `max_size` bytes of them (DPDK
//! splits the rules over more tries until they fit, and fails with `ERANGE` when they never
//! do), so [`Acl::footprint`] bounds what a classifier takes.

use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{DpdkError, ToResult};

/// DPDK's `SOCKET_ID_ANY`.
const SOCKET_ID_ANY: i32 = -1;

/// Highest rule priority DPDK takes (`RTE_ACL_MAX_PRIORITY`, 2^29 − 1); the lowest is 1.
pub const ACL_MAX_PRIORITY: u32 = (1 << 29) - 1;

/// Most fields a key may have (`RTE_ACL_MAX_FIELDS`).
pub const ACL_MAX_FIELDS: usize = 64;

/// DPDK names every context; names must be unique per process (and shorter than 32 bytes).
static NEXT_CONTEXT: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> CString {
    let n = NEXT_CONTEXT.fetch_add(1, Ordering::Relaxed);
    CString::new(format!("fp-acl-{n}")).expect("no NUL in a generated name")
}

fn invalid(context: String) -> DpdkError {
    DpdkError {
        context,
        errno: libc::EINVAL,
    }
}

/// How a field of a rule matches the key's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A prefix: the rule's value and a length in bits (an address/len).
    Mask,
    /// An inclusive range: the rule's low and high value (ports).
    Range,
    /// A value and a bit mask: the key matches when `key & mask == value & mask` (a
    /// protocol/mask).
    Bitmask,
}

impl FieldKind {
    fn raw(self) -> u8 {
        (match self {
            Self::Mask => dpdk_sys::RTE_ACL_FIELD_TYPE_MASK,
            Self::Range => dpdk_sys::RTE_ACL_FIELD_TYPE_RANGE,
            Self::Bitmask => dpdk_sys::RTE_ACL_FIELD_TYPE_BITMASK,
        }) as u8
    }
}

/// One field of a key: its kind, its width (1, 2, 4 or 8 bytes), where it starts in the key,
/// and its input group (0 for the first field; consecutive fields sharing a group fill four
/// bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AclField {
    /// How rules match it.
    pub kind: FieldKind,
    /// Bytes: 1, 2, 4 or 8.
    pub size: u8,
    /// Byte offset in the key.
    pub offset: u32,
    /// Input group.
    pub input: u8,
}

/// One rule over `N` fields: `fields[i]` is `(value, prefix length)` for a [`FieldKind::Mask`]
/// field, `(low, high)` for a range, `(value, mask)` for a bit mask, in host order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AclRule<const N: usize> {
    /// 1..=[`ACL_MAX_PRIORITY`]: among the rules a key matches, the highest wins. Give each
    /// rule its own: DPDK leaves ties undefined.
    pub priority: u32,
    /// What [`Acl::classify`] answers for keys this rule wins (not 0, which means no match).
    pub id: u32,
    /// The fields, in the layout's order.
    pub fields: [(u64, u64); N],
}

/// `struct rte_acl_rule` with its `N` fields (DPDK's `RTE_ACL_RULE_DEF`).
#[repr(C)]
struct RawRule<const N: usize> {
    data: dpdk_sys::rte_acl_rule_data,
    field: [dpdk_sys::rte_acl_field; N],
}

/// Keys of `K` bytes, aligned so that DPDK's 32-bit reads of them are aligned too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct AclKey<const K: usize>(pub [u8; K]);

impl<const K: usize> Default for AclKey<K> {
    fn default() -> Self {
        Self([0; K])
    }
}

/// A built classifier over keys of `K` bytes.
pub struct Acl<const K: usize> {
    raw: NonNull<dpdk_sys::rte_acl_ctx>,
    rules: usize,
}

// SAFETY: the context lives in EAL's shared heap and is never changed after build; DPDK's
// classify only reads it, from any number of threads at once.
unsafe impl<const K: usize> Send for Acl<K> {}
// SAFETY: as above: `&self` only classifies.
unsafe impl<const K: usize> Sync for Acl<K> {}

impl<const K: usize> std::fmt::Debug for Acl<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acl")
            .field("key_bytes", &K)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// The context header `rte_acl_create` allocates besides the rules (`struct rte_acl_ctx`,
/// 22.11: under 1 KiB; counted generously), and the heap's own overhead per allocation.
const CONTEXT_BYTES: u64 = 4096;

impl<const K: usize> Acl<K> {
    /// Checks a field layout: DPDK's rules (first field one byte, widths, groups of four
    /// bytes) and that every field lies inside a `K`-byte key, so that a bad layout is an
    /// error here rather than a read past a key.
    fn check_layout(fields: &[AclField]) -> Result<(), DpdkError> {
        let bad = |why: String| Err(invalid(format!("rte_acl field layout: {why}")));
        if fields.is_empty() || fields.len() > ACL_MAX_FIELDS {
            return bad(format!("{} fields (1 to {ACL_MAX_FIELDS})", fields.len()));
        }
        if fields[0].size != 1 || fields[0].input != 0 {
            return bad("the first field must be one byte, in input group 0".into());
        }
        // Per input group: its bytes and where it starts. DPDK reads each group as one
        // 32-bit word from its first field's offset (the one-byte first field too).
        let mut groups = [(0u32, u32::MAX); ACL_MAX_FIELDS];
        for (i, f) in fields.iter().enumerate() {
            if ![1, 2, 4, 8].contains(&f.size) {
                return bad(format!("field {i} is {} bytes (1, 2, 4 or 8)", f.size));
            }
            let Some(group) = groups.get_mut(usize::from(f.input)) else {
                return bad(format!("field {i} has input group {}", f.input));
            };
            group.0 += u32::from(f.size);
            group.1 = group.1.min(f.offset);
        }
        for (input, &(bytes, start)) in groups.iter().enumerate() {
            if bytes == 0 {
                continue;
            }
            if input > 0 && bytes % 4 != 0 {
                return bad(format!(
                    "input group {input} holds {bytes} bytes (groups are 4 bytes)"
                ));
            }
            let end = start as usize + bytes.max(4) as usize;
            if end > K {
                return bad(format!(
                    "input group {input} ends at byte {end}, past the {K}-byte key"
                ));
            }
        }
        Ok(())
    }

    /// Builds a classifier of `rules` over keys laid out as `fields`, its tries taking at
    /// most `max_size` bytes of EAL's heap. `EINVAL` for a bad layout or rule (a priority or
    /// id out of range, no rules), `ENOMEM`/`ERANGE` when the memory is short.
    pub fn build<const N: usize>(
        fields: &[AclField; N],
        rules: &[AclRule<N>],
        max_size: usize,
    ) -> Result<Self, DpdkError> {
        Self::check_layout(fields)?;
        if rules.is_empty() {
            return Err(invalid("rte_acl_build(no rules)".into()));
        }
        if let Some((i, r)) = rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.id == 0 || r.priority == 0 || r.priority > ACL_MAX_PRIORITY)
        {
            return Err(invalid(format!(
                "rte_acl rule {i}: id {} (not 0), priority {} (1 to {ACL_MAX_PRIORITY})",
                r.id, r.priority
            )));
        }
        let count = u32::try_from(rules.len())
            .map_err(|_| invalid(format!("rte_acl_create({} rules)", rules.len())))?;
        let name = unique_name();
        let param = dpdk_sys::rte_acl_param {
            name: name.as_ptr(),
            socket_id: SOCKET_ID_ANY,
            rule_size: std::mem::size_of::<RawRule<N>>() as u32,
            max_rule_num: count,
        };
        // SAFETY: param and the name it points to outlive the call; DPDK copies the name.
        let raw = unsafe { dpdk_sys::rte_acl_create(&param) }
            .to_result(|| format!("rte_acl_create({count} rules)"))?;
        // From here on, dropping `acl` frees the context on every error path.
        let acl = Self {
            raw,
            rules: rules.len(),
        };
        let raw_rules: Vec<RawRule<N>> = rules
            .iter()
            .map(|r| RawRule {
                data: dpdk_sys::rte_acl_rule_data {
                    category_mask: 1,
                    priority: r.priority.cast_signed(), // checked: at most 2^29 - 1
                    userdata: r.id,
                },
                field: r.fields.map(|(value, mask_range)| dpdk_sys::rte_acl_field {
                    value: dpdk_sys::rte_acl_field_types { u64_: value },
                    mask_range: dpdk_sys::rte_acl_field_types { u64_: mask_range },
                }),
            })
            .collect();
        // SAFETY: the context is live and has room for `count` rules of `rule_size` bytes;
        // `raw_rules` holds `count` rules laid out as DPDK's RTE_ACL_RULE_DEF(N) (a
        // rte_acl_rule_data, then N rte_acl_fields), which DPDK copies.
        let ret = unsafe {
            dpdk_sys::rte_acl_add_rules(acl.raw.as_ptr(), raw_rules.as_ptr().cast(), count)
        };
        ret.to_result(|| format!("rte_acl_add_rules({count} rules)"))?;
        let mut config = dpdk_sys::rte_acl_config {
            num_categories: 1,
            num_fields: N as u32,
            max_size,
            ..Default::default()
        };
        for (i, f) in fields.iter().enumerate() {
            config.defs[i] = dpdk_sys::rte_acl_field_def {
                type_: f.kind.raw(),
                size: f.size,
                field_index: i as u8,
                input_index: f.input,
                offset: f.offset,
            };
        }
        // SAFETY: the context is live and ours alone; config outlives the call.
        let ret = unsafe { dpdk_sys::rte_acl_build(acl.raw.as_ptr(), &config) };
        ret.to_result(|| {
            format!("rte_acl_build({count} rules, at most {max_size} bytes of tries)")
        })?;
        Ok(acl)
    }

    /// Heap bytes [`Acl::build`] takes for `rules` rules of `fields` fields with `max_size`
    /// bytes of tries (pure arithmetic, callable before EAL starts).
    pub fn footprint(fields: usize, rules: usize, max_size: usize) -> u64 {
        let rule = 16 + 16 * fields as u64;
        CONTEXT_BYTES + rule * rules as u64 + max_size as u64
    }

    /// Rules in the classifier.
    pub fn len(&self) -> usize {
        self.rules
    }

    /// Whether it has no rules (never: [`Acl::build`] refuses none).
    pub fn is_empty(&self) -> bool {
        self.rules == 0
    }

    /// The id of the winning rule for each key (0: no rule matches), into
    /// `results[..keys.len()]`.
    #[inline]
    pub fn classify(&self, keys: &[AclKey<K>], results: &mut [u32]) {
        const CHUNK: usize = 64;
        let mut data = [std::ptr::null::<u8>(); CHUNK];
        let n = keys.len().min(results.len());
        for (keys, results) in keys[..n].chunks(CHUNK).zip(results[..n].chunks_mut(CHUNK)) {
            for (slot, key) in data.iter_mut().zip(keys) {
                *slot = key.0.as_ptr();
            }
            // SAFETY: the context is built and only read; `data[..len]` points to `len`
            // keys of K bytes, each covering every field the layout reads (checked at
            // build); `results` has room for `len` answers of one category. With valid
            // arguments DPDK cannot fail.
            unsafe {
                dpdk_sys::rte_acl_classify(
                    self.raw.as_ptr(),
                    data.as_mut_ptr(),
                    results.as_mut_ptr(),
                    keys.len() as u32,
                    1,
                );
            }
        }
    }
}

impl<const K: usize> Drop for Acl<K> {
    fn drop(&mut self) {
        if crate::eal::running() {
            // SAFETY: the context is live and owned by self; nothing classifies with it any
            // more (`&mut self`).
            unsafe { dpdk_sys::rte_acl_free(self.raw.as_ptr()) };
        }
    }
}

/// Bytes EAL's heaps have handed out, over every socket: what a test compares before and
/// after a build to see what it took.
pub fn heap_allocated_bytes() -> u64 {
    let mut total = 0;
    for socket in 0..8 {
        let mut stats = dpdk_sys::rte_malloc_socket_stats::default();
        // SAFETY: stats is a valid out-parameter; an unknown socket returns an error.
        if unsafe { dpdk_sys::rte_malloc_get_socket_stats(socket, &mut stats) } == 0 {
            total += stats.heap_allocsz_bytes as u64;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: FieldKind, size: u8, offset: u32, input: u8) -> AclField {
        AclField {
            kind,
            size,
            offset,
            input,
        }
    }

    #[test]
    fn layouts_follow_dpdks_rules() {
        let good = [
            field(FieldKind::Bitmask, 1, 0, 0),
            field(FieldKind::Mask, 4, 4, 1),
            field(FieldKind::Range, 2, 8, 2),
            field(FieldKind::Range, 2, 10, 2),
        ];
        assert_eq!(Acl::<12>::check_layout(&good), Ok(()));
        let past = Acl::<10>::check_layout(&good).unwrap_err();
        assert!(past.context.contains("past the 10-byte key"), "{past}");
        let first = [field(FieldKind::Mask, 4, 0, 0)];
        assert!(Acl::<8>::check_layout(&first).is_err());
        let half = [
            field(FieldKind::Bitmask, 1, 0, 0),
            field(FieldKind::Range, 2, 4, 1),
        ];
        let err = Acl::<8>::check_layout(&half).unwrap_err();
        assert!(err.context.contains("groups are 4 bytes"), "{err}");
    }

    #[test]
    fn rules_of_dpdks_shape() {
        // RTE_ACL_RULE_SZ(N): a 16-byte rule header, 16 bytes per field.
        assert_eq!(std::mem::size_of::<RawRule<5>>(), 16 + 16 * 5);
        assert_eq!(
            Acl::<12>::footprint(5, 1000, 1 << 20),
            4096 + 96_000 + (1 << 20)
        );
    }
}
